/* cmd/revenge-bench/common.c - what the scenarios share beyond their
 * options (common.h): the words for why a connection ended.
 */
#include "common.h"

#include <stdio.h>

void bench_close_reason(char *buf, size_t size, int code, int status, const char *reason)
{
	if (status)
		snprintf(buf, size, "refused: HTTP %d %s", status, reason);
	else if (code)
		snprintf(buf, size, "closed by server: %d %s", code, reason);
	else
		snprintf(buf, size, "cannot connect: %s", reason);
}
