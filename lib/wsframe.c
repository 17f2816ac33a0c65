/* lib/wsframe.c - the RFC 6455 frame parser for client frames (see
 * wsframe.h). */
#include "wsframe.h"

#include <string.h>

#include "revenge/proto.h"

enum { ST_HEADER, ST_PAYLOAD, ST_DEAD };

enum {
	OP_CONT = 0, OP_TEXT = 1, OP_BINARY = 2,
	OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10,
};

void rv__wsframe_init(struct rv__wsframe *p, uint64_t max_message, bool deflate)
{
	memset(p, 0, sizeof(*p));
	p->max_message = max_message;
	p->deflate = deflate;
	p->state = ST_HEADER;
}

bool rv__wsframe_close_code_valid(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
	       code != 1006;
}

bool rv__wsframe_idle(const struct rv__wsframe *p)
{
	if (p->state == ST_DEAD)
		return true;
	return p->state == ST_HEADER && p->hdr_len == 0 && p->msg_opcode == 0;
}

static size_t fail(struct rv__wsframe *p, struct rv__wsframe_event *ev, uint16_t code,
		   const char *why, size_t used)
{
	p->state = ST_DEAD;
	ev->kind = RV__WSF_ERROR;
	ev->code = code;
	ev->why = why;
	return used;
}

/* The first two bytes alone decide most of what is wrong with a frame;
 * checking them before the length and mask arrive refuses a bad frame
 * without waiting for more. NULL: fine so far. */
static const char *check_start(const struct rv__wsframe *p, uint8_t b0, uint8_t b1)
{
	uint8_t op = b0 & 0x0f, rsv = b0 & 0x70;

	if (rsv & 0x30)
		return "reserved bits set";
	if (rsv && (!p->deflate || op == OP_CONT || op >= OP_CLOSE))
		return "RSV1 where no extension allows it";
	if ((op > OP_BINARY && op < OP_CLOSE) || op > OP_PONG)
		return "reserved opcode";
	if (op >= OP_CLOSE && !(b0 & 0x80))
		return "fragmented control frame";
	if (op >= OP_CLOSE && (b1 & 0x7f) > RV__WSFRAME_CONTROL_MAX)
		return "control frame over 125 bytes";
	if (op == OP_CONT && !p->msg_opcode)
		return "continuation with no message";
	if ((op == OP_TEXT || op == OP_BINARY) && p->msg_opcode)
		return "new message inside a fragmented one";
	if (!(b1 & 0x80))
		return "unmasked client frame";
	return NULL;
}

/* Bytes of header a frame starting with b1 has: 2, the extended length,
 * the mask. */
static uint8_t header_size(uint8_t b1)
{
	uint8_t n = b1 & 0x7f;

	return 2 + (n == 126 ? 2 : n == 127 ? 8 : 0) + 4;
}

static void unmask(struct rv__wsframe *p, unsigned char *d, size_t n)
{
	uint8_t k = p->mask_idx;

	for (size_t i = 0; i < n; i++, k = (k + 1) & 3)
		d[i] ^= p->mask[k];
	p->mask_idx = k;
}

static void data_event(struct rv__wsframe *p, struct rv__wsframe_event *ev,
		       const unsigned char *d, size_t n)
{
	ev->kind = RV__WSF_DATA;
	ev->data = d;
	ev->len = n;
	ev->opcode = p->msg_opcode;
	ev->compressed = p->msg_compressed;
	ev->first = p->msg_first;
	ev->final = p->fin && p->remaining == 0;
	p->msg_first = false;
	if (ev->final)
		p->msg_opcode = 0;
	if (p->remaining == 0)
		p->state = ST_HEADER;
}

/* A whole control frame is in p->ctl: answer it. */
static size_t control_event(struct rv__wsframe *p, struct rv__wsframe_event *ev, size_t used)
{
	p->state = ST_HEADER;
	ev->data = p->ctl;
	ev->len = p->ctl_len;
	if (p->opcode == OP_PING) {
		ev->kind = RV__WSF_PING;
		return used;
	}
	if (p->opcode == OP_PONG) {
		ev->kind = RV__WSF_PONG;
		return used;
	}
	if (p->ctl_len == 1)
		return fail(p, ev, 1002, "close payload of 1 byte", used);
	ev->code = 1005;
	if (p->ctl_len >= 2) {
		ev->code = (uint16_t)(p->ctl[0] << 8 | p->ctl[1]);
		if (!rv__wsframe_close_code_valid(ev->code))
			return fail(p, ev, 1002, "invalid close code", used);
		if (!rv_utf8_valid((const char *)p->ctl + 2, p->ctl_len - 2u))
			return fail(p, ev, 1007, "close reason is not UTF-8", used);
		ev->data = p->ctl + 2;
		ev->len = p->ctl_len - 2u;
	}
	ev->kind = RV__WSF_CLOSE;
	p->state = ST_DEAD;
	return used;
}

/* The header in p->hdr is complete: take the frame on. */
static size_t header_done(struct rv__wsframe *p, struct rv__wsframe_event *ev, size_t used)
{
	uint8_t b0 = p->hdr[0], b1 = p->hdr[1] & 0x7f, *m;
	uint64_t len = b1;

	if (b1 == 126) {
		len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
		m = p->hdr + 4;
	} else if (b1 == 127) {
		if (p->hdr[2] & 0x80)
			return fail(p, ev, 1002, "frame length has its top bit set", used);
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | p->hdr[i];
		m = p->hdr + 10;
	} else {
		m = p->hdr + 2;
	}
	memcpy(p->mask, m, 4);
	p->frames++;
	p->mask_idx = 0;
	p->opcode = b0 & 0x0f;
	p->fin = b0 & 0x80;
	p->remaining = len;
	p->hdr_len = 0;
	p->state = ST_PAYLOAD;
	if (p->opcode >= OP_CLOSE) {
		p->ctl_len = 0;
		return len ? used : control_event(p, ev, used);
	}
	if (p->opcode != OP_CONT) {
		p->msg_opcode = p->opcode;
		p->msg_compressed = b0 & 0x40;
		p->msg_first = true;
		p->msg_len = 0;
	}
	/* refused on the header: a peer need not send (nor we wait for)
	 * the payload of a message we would not take */
	if (len > p->max_message - p->msg_len)
		return fail(p, ev, 1009, "message too large", used);
	p->msg_len += len;
	if (len == 0 && p->fin) {
		data_event(p, ev, NULL, 0);
		return used;
	}
	if (len == 0)
		p->state = ST_HEADER;   /* an empty fragment: nothing to pass on */
	return used;
}

size_t rv__wsframe_parse(struct rv__wsframe *p, unsigned char *in, size_t len,
			 struct rv__wsframe_event *ev)
{
	size_t used = 0;

	memset(ev, 0, sizeof(*ev));
	if (p->state == ST_DEAD)
		return len;
	while (used < len) {
		if (p->state == ST_HEADER) {
			p->hdr[p->hdr_len++] = in[used++];
			if (p->hdr_len == 2) {
				const char *why = check_start(p, p->hdr[0], p->hdr[1]);

				if (why)
					return fail(p, ev, 1002, why, used);
			}
			if (p->hdr_len >= 2 && p->hdr_len == header_size(p->hdr[1])) {
				used = header_done(p, ev, used);
				if (ev->kind)
					return used;
			}
			continue;
		}
		/* ST_PAYLOAD */
		size_t n = len - used;

		if (n > p->remaining)
			n = (size_t)p->remaining;
		if (p->opcode >= OP_CLOSE) {
			memcpy(p->ctl + p->ctl_len, in + used, n);
			unmask(p, p->ctl + p->ctl_len, n);
			p->ctl_len += (uint8_t)n;
			p->remaining -= n;
			used += n;
			if (!p->remaining)
				return control_event(p, ev, used);
			continue;
		}
		unmask(p, in + used, n);
		p->remaining -= n;
		data_event(p, ev, in + used, n);
		return used + n;
	}
	return used;
}
