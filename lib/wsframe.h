/* lib/wsframe.h - internal: the RFC 6455 frame parser for what clients
 * send to the server.
 *
 * Sans-I/O, picohttpparser style: the caller hands in whatever bytes the
 * socket gave, the parser unmasks payload in place and answers one event
 * at a time. It enforces the framing rules (masking, RSV bits per the
 * negotiated extension, opcodes, control frames at most 125 bytes and
 * unfragmented, continuation order, the 64-bit length's top bit, close
 * codes and the close reason's UTF-8) and the message ceiling, which it
 * checks on the header, before any payload is waited for. Message payload
 * is passed on in chunks as it arrives; assembling, inflating and the
 * UTF-8 check of text are the caller's (rx.c). It allocates nothing, reads
 * no clock and knows no libwebsockets: unit-tested and fuzzed directly.
 */
#ifndef REVENGE_WSFRAME_H
#define REVENGE_WSFRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RV__WSFRAME_CONTROL_MAX 125

enum rv__wsframe_kind {
	RV__WSF_NONE = 0,       /* every byte handed in was used; need more */
	RV__WSF_DATA,           /* a chunk of a text or binary message */
	RV__WSF_PING,
	RV__WSF_PONG,
	RV__WSF_CLOSE,          /* the peer's close frame, valid */
	RV__WSF_ERROR,          /* fail the connection with code */
};

struct rv__wsframe_event {
	enum rv__wsframe_kind kind;
	/* DATA: the chunk (unmasked, inside the caller's buffer); PING, PONG:
	 * the payload; CLOSE: the reason (UTF-8 checked). Valid until the
	 * next call or until the caller's buffer changes. */
	const unsigned char *data;
	size_t len;
	uint8_t opcode;         /* DATA: the message's, 1 text or 2 binary */
	bool first;             /* DATA: the message's first chunk */
	bool final;             /* DATA: its last chunk (may be empty) */
	bool compressed;        /* DATA: RSV1 on the message's first frame */
	uint16_t code;          /* CLOSE: the peer's code, 1005 for none;
				 * ERROR: the code to close with (1002, 1007, 1009) */
	const char *why;        /* ERROR: a static reason for the close frame */
};

/* The state of one connection's inbound stream; plain data, no
 * resources: nothing to free. */
struct rv__wsframe {
	uint64_t max_message;   /* payload bytes a message may announce in all */
	uint64_t msg_len;       /* announced so far by the current message */
	uint64_t remaining;     /* payload bytes of the current frame to come */
	uint8_t state;          /* header, payload, or dead */
	uint8_t hdr_len;
	uint8_t hdr[14];
	uint8_t mask[4];
	uint8_t mask_idx;
	uint8_t opcode;         /* the current frame's */
	bool fin;               /* the current frame's */
	uint8_t msg_opcode;     /* 1 or 2 while a data message is open, else 0 */
	bool msg_compressed;
	bool msg_first;         /* no chunk of the open message passed on yet */
	bool deflate;           /* permessage-deflate negotiated: RSV1 allowed */
	uint8_t ctl_len;
	uint8_t ctl[RV__WSFRAME_CONTROL_MAX];
	uint64_t frames;        /* frame headers read, every opcode and length:
				 * what the caller's frame budget counts */
};

/* Start a connection's parser. max_message: the largest message payload
 * (bytes on the wire, summed over its frames) a client may announce;
 * deflate: whether RSV1 marks compressed messages on this connection. */
void rv__wsframe_init(struct rv__wsframe *p, uint64_t max_message, bool deflate);

/* Parse from in (len bytes; payload is unmasked in place, so in must be
 * writable). Returns the bytes used and fills *ev: RV__WSF_NONE when all
 * len bytes were used without completing an event, else the event, after
 * which the caller calls again with the rest. After an ERROR or a CLOSE
 * the parser is dead: it uses every byte and answers NONE. */
size_t rv__wsframe_parse(struct rv__wsframe *p, unsigned char *in, size_t len,
			 struct rv__wsframe_event *ev);

/* Whether p sits between whole messages: no frame header or payload
 * half read, no fragmented message open. A connection that stays
 * otherwise is holding the server's memory (or time) hostage; rx.c
 * gives it --message-timeout to finish. A dead parser counts as idle. */
bool rv__wsframe_idle(const struct rv__wsframe *p);

/* RFC 6455 7.4: whether a peer may put code in a close frame. */
bool rv__wsframe_close_code_valid(unsigned code);

#endif
