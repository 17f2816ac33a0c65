/* tests/fuzz/fuzz_admin.c - libFuzzer harness for the admin API's routing
 * (lib/admin.c, rv__admin_route): the input's first byte picks the method
 * (GET, POST, another), the rest is the decoded request path.
 *
 * Every answer must be one the server sends: 0 with a valid party id (and
 * for a removal a member that is an id or a valid display name), or 400,
 * 404, 405 with a reason; a 405 names the one method the path takes. Any
 * broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = { "GET", "POST", "OTHER" };
	struct rv__admin_route r;
	const char *allow;
	char path[1024], why[300];
	int status;

	if (size < 1 || size > sizeof(path))
		return 0;
	memcpy(path, data + 1, size - 1);
	path[size - 1] = 0;
	memset(why, 0, sizeof(why));
	status = rv__admin_route(methods[data[0] % 3], path, &r, &allow, why, sizeof(why));
	if (status == 0) {
		if (allow || (r.op != RV__ADMIN_LIST && !rv_proto_valid_id(r.id, strlen(r.id))))
			abort();
		if (r.op == RV__ADMIN_REMOVE &&
		    !rv_proto_valid_id(r.member, strlen(r.member)) &&
		    !rv_proto_valid_name(r.member, strlen(r.member)))
			abort();
		return 0;
	}
	if ((status != 400 && status != 404 && status != 405) || !why[0] ||
	    strnlen(why, sizeof(why)) == sizeof(why))
		abort();
	if (status == 405 && (!allow || (strcmp(allow, "GET") && strcmp(allow, "POST"))))
		abort();
	return 0;
}
