/* tests/fuzz/fuzz_wsframe.c - libFuzzer harness for the client frame
 * parser (lib/wsframe.c).
 *
 * The first byte picks the options (bit 0: permessage-deflate; the rest:
 * the message ceiling) and the split of the stream into reads; the rest
 * is what a client sends. Promises checked: the parser never uses more
 * than it was given, passes on only bytes inside the buffer, never more
 * message than the ceiling, says nothing after an error or a close, and
 * every error carries a code a server may send with a reason.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wsframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv__wsframe p;
	struct rv__wsframe_event ev;
	uint64_t max, msg = 0;
	size_t step, off = 0;
	bool dead = false, in_msg = false;
	uint8_t *buf;

	if (size < 1)
		return 0;
	max = (uint64_t)(data[0] >> 1) * 37;
	step = (size_t)(data[0] % 7) + 1;
	rv__wsframe_init(&p, max, data[0] & 1);
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	size--;
	while (off < size) {
		size_t n = size - off < step ? size - off : step, used = 0;

		while (used < n) {
			size_t u = rv__wsframe_parse(&p, buf + off + used, n - used, &ev);

			if (u > n - used || (dead && ev.kind != RV__WSF_NONE))
				abort();
			used += u;
			if (ev.kind == RV__WSF_NONE) {
				if (used != n)
					abort();
				break;
			}
			switch (ev.kind) {
			case RV__WSF_DATA:
				if (ev.len && (ev.data < buf || ev.data + ev.len > buf + size))
					abort();
				if (ev.first != !in_msg || (ev.opcode != 1 && ev.opcode != 2))
					abort();
				msg = ev.first ? ev.len : msg + ev.len;
				in_msg = !ev.final;
				if (msg > max)
					abort();
				break;
			case RV__WSF_PING:
			case RV__WSF_PONG:
				if (ev.len > RV__WSFRAME_CONTROL_MAX)
					abort();
				break;
			case RV__WSF_CLOSE:
				if (ev.code != 1005 && !rv__wsframe_close_code_valid(ev.code))
					abort();
				dead = true;
				break;
			case RV__WSF_ERROR:
				if ((ev.code != 1002 && ev.code != 1007 && ev.code != 1009) ||
				    !ev.why || !ev.why[0])
					abort();
				dead = true;
				break;
			default:
				abort();
			}
		}
		off += n;
	}
	free(buf);
	return 0;
}
