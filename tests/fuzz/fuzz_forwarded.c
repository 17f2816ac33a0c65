/* tests/fuzz/fuzz_forwarded.c - libFuzzer harness for lib/forwarded.c:
 * --trusted-proxy's CIDR parser and the client address a trusted proxy's
 * X-Forwarded-For and X-Real-IP name.
 *
 * The input is "XFF\nX-REAL-IP\nCIDR" (parts may be missing). A parsed
 * range must have a prefix within its family and no host bits; the client
 * address must fit, be the peer or an address that parses back as one, and
 * come from a header only when the peer is trusted. Any broken promise
 * aborts, which libFuzzer reports as a crash.
 */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/forwarded.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const ranges_text[] = { "127.0.0.1/32", "10.0.0.0/8", "fd00::/8" };

static void check_cidr(const char *s)
{
	struct rv_cidr c;
	char why[200];
	unsigned max;

	if (rv_forwarded_cidr_parse(s, &c, why, sizeof(why))) {
		if (!why[0] || strchr(why, '\n'))
			abort();
		return;
	}
	max = c.family == AF_INET ? 32 : 128;
	if ((c.family != AF_INET && c.family != AF_INET6) || c.bits > max)
		abort();
	for (unsigned i = c.bits; i < max; i++)
		if (c.addr[i / 8] & (0x80u >> (i % 8)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_cidr ranges[3];
	char *buf = malloc(size + 1), *xff, *real_ip = NULL, *cidr = NULL, *nl;
	char out[RV_FORWARDED_ADDR_MAX];
	unsigned char a[16];
	bool from_header;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = 0;
	xff = buf;
	if ((nl = strchr(xff, '\n'))) {
		*nl = 0;
		real_ip = nl + 1;
		if ((nl = strchr(real_ip, '\n'))) {
			*nl = 0;
			cidr = nl + 1;
		}
	}
	for (size_t i = 0; i < 3; i++)
		if (rv_forwarded_cidr_parse(ranges_text[i], &ranges[i], NULL, 0))
			abort();
	if (cidr)
		check_cidr(cidr);
	check_cidr(xff);
	from_header = rv_forwarded_client(ranges, 3, "127.0.0.1", xff, real_ip, out, sizeof(out));
	if (strnlen(out, sizeof(out)) >= sizeof(out))
		abort();
	if (from_header ? inet_pton(AF_INET, out, a) != 1 && inet_pton(AF_INET6, out, a) != 1 :
			  strcmp(out, "127.0.0.1"))
		abort();
	/* an untrusted peer's headers are never taken */
	if (rv_forwarded_client(ranges, 3, "192.0.2.1", xff, real_ip, out, sizeof(out)) ||
	    strcmp(out, "192.0.2.1"))
		abort();
	if (rv_forwarded_trusted(ranges, 3, xff) && !from_header && xff[0] &&
	    strcspn(xff, ", \t") == strlen(xff) && rv_forwarded_client(ranges, 3, xff, NULL, NULL,
								 out, sizeof(out)))
		abort();
	free(buf);
	return 0;
}
