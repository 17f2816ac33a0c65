/* cmd/revenge-bench/common.c - what the scenarios share beyond their
 * options (common.h): the words for why a connection ended, and reading
 * a string out of a message without parsing it.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

void bench_close_reason(char *buf, size_t size, int code, int status, const char *reason)
{
	if (status)
		snprintf(buf, size, "refused: HTTP %d %s", status, reason);
	else if (code)
		snprintf(buf, size, "closed by server: %d %s", code, reason);
	else
		snprintf(buf, size, "cannot connect: %s", reason);
}

void bench_scan_str(const char *text, size_t len, const char *key, char *out, size_t outlen)
{
	char k[32];
	int kl = snprintf(k, sizeof(k), "\"%s\":\"", key);
	const char *p = memmem(text, len, k, (size_t)kl), *end = text + len;
	size_t j = 0;

	if (p)
		for (p += kl; p < end && *p != '"' && j < outlen - 1; p++)
			if (*p != '\\' && (unsigned char)*p >= 0x20)
				out[j++] = *p;
	out[j] = 0;
}
