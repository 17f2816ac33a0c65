/* tests/fuzz/fuzz_request.c - libFuzzer harness for the pure half of the
 * handshake (lib/request.c): routing a path, each endpoint's query
 * arguments, and the Origin allowlist.
 *
 * The input is lines: the request path, then query arguments as lws hands
 * them over (split at '&', decoded), the last line doubling as an Origin.
 * Every answer must be one the server knows how to send (200 as 0, 400,
 * 403, 404) with a reason; a routed request names a real endpoint and a
 * valid id. The Origin line also goes to the origin parser: what it
 * accepts has a lowercase scheme, a host without '@' '/' '?' '#', a port
 * in 0-65535, and is what the allowlist sees (an origin that does not
 * parse is allowed by no pattern, not even "*:*"). The same line is a Host
 * header (0, 400 or 421 with a reason; one with '@' '/' or a space never
 * 0), and the whole input a peeked request head (0, 431 or 400 with a
 * reason). Any broken promise aborts, which libFuzzer reports as a crash.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINE_MAX_ 512

static void check_why(int status, const char *why, size_t size)
{
	if (status == 0)
		return;
	if ((status != 400 && status != 404) || !why[0] || strnlen(why, size) == size)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const custom[] = { "https://*.example.org", "app.test:8*", "[::1]:*" };
	char lines[16][LINE_MAX_];
	size_t lens[16], n = 0, start = 0;
	struct rv__request r;
	char why[128];
	int status;

	for (size_t i = 0; i <= size && n < 16; i++) {
		if (i == size || data[i] == '\n') {
			size_t len = i - start < LINE_MAX_ - 1 ? i - start : LINE_MAX_ - 1;

			memcpy(lines[n], data + start, len);
			lines[n][len] = '\0';
			lens[n] = strlen(lines[n]);   /* lws's copies end at a NUL */
			n++;
			start = i + 1;
		}
	}
	why[0] = '\0';
	status = rv__request_route(lines[0], &r, why, sizeof(why));
	check_why(status, why, sizeof(why));
	if (status == 0) {
		if (!r.endpoint || r.index >= rv__n_endpoints || rv__endpoints[r.index] != r.endpoint ||
		    !rv_proto_valid_id(r.id, strlen(r.id)))
			abort();
		for (size_t i = 1; i < n && status == 0; i++) {
			why[0] = '\0';
			status = rv__request_arg(&r, lines[i], lens[i], why, sizeof(why));
			check_why(status, why, sizeof(why));
		}
	}
	{
		static const char *const any[] = { "*:*", "*://*:*", "[::1]:*" };
		struct rv__origin o;
		bool parsed = rv__request_origin_parse(lines[n - 1], &o) == 0;

		if (parsed && (o.port > 65535 || strpbrk(o.host, "@/?#%[] ") ||
			       strpbrk(o.scheme, "ABCDEFGHIJKLMNOPQRSTUVWXYZ:/")))
			abort();
		if (!parsed && (rv__request_origin_allowed(any, 3, lines[n - 1]) ||
				rv__request_origin_allowed(NULL, 0, lines[n - 1])))
			abort();
		if (parsed && !o.ipv6 && !rv__request_origin_allowed(any, 1, lines[n - 1]))
			abort();
	}
	(void)rv__request_origin_allowed(custom, 3, lines[n - 1]);
	if (!rv__request_origin_allowed(NULL, 0, "http://localhost:8080") ||
	    rv__request_origin_allowed(custom, 3, "http://evil.example") ||
	    !rv__request_origin_allowed(NULL, 0, "http://[::1]:8080") ||
	    rv__request_origin_allowed(NULL, 0, "http://1:80") ||
	    rv__request_origin_allowed(NULL, 0, "http://localhost:80@evil.example"))
		abort();
	{
		static const char *const pats[] = { "*.lan", "media.example" };

		why[0] = '\0';
		status = rv__request_host_check(pats, 2, "box.home", lines[n - 1], why, sizeof(why));
		if ((status && status != 400 && status != 421) || (status && !why[0]) ||
		    (!status && strpbrk(lines[n - 1], "@/ ")))
			abort();
		why[0] = '\0';
		status = rv__request_head_check((const char *)data, size, 256, 8, why, sizeof(why));
		if ((status && status != 400 && status != 431) || (status && !why[0]) ||
		    (size <= 256 && status == 431 && !memmem(data, size, "\r\n", 2)))
			abort();
	}
	return 0;
}
