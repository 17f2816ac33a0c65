/* revenge/frame.h - reference-counted, immutable outgoing message buffers.
 *
 * A frame is encoded once and shared by every recipient's queue: a broadcast
 * to N members is one encode and N rv_frame_ref() calls. The bytes start
 * RV_FRAME_HEADROOM bytes into buf so a transport can prepend its framing
 * header in place (libwebsockets needs LWS_PRE; server.c checks the fit).
 */
#ifndef REVENGE_FRAME_H
#define REVENGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RV_FRAME_HEADROOM 16

enum rv_frame_kind {
	RV_FRAME_EVENT = 0,  /* must be delivered: chat, membership, replies */
	RV_FRAME_STATE = 1,  /* latest-wins: a newer one replaces a queued older one */
};

struct rv_frame {
	uint32_t refs;
	uint8_t kind;            /* enum rv_frame_kind */
	uint8_t msg_type;        /* enum rv_msg_type of the encoded message */
	/* The transport's cache, filled on the first send and shared by
	 * every later recipient: */
	uint8_t wire_head;       /* bytes of framing header written into the
				  * head-room just before the data; 0: none yet */
	uint8_t alt_state;       /* enum rv_frame_alt */
	struct rv_frame *alt;    /* a compressed copy, owned by this frame */
	size_t len;              /* bytes of payload at rv_frame_data() */
	size_t cap;              /* bytes available after the headroom */
	unsigned char buf[];     /* RV_FRAME_HEADROOM + cap */
};

/* Whether a frame has a compressed copy in ->alt. */
enum rv_frame_alt {
	RV_FRAME_ALT_UNTRIED = 0,
	RV_FRAME_ALT_READY = 1,  /* ->alt holds it */
	RV_FRAME_ALT_NONE = 2,   /* not worth it (or out of memory): send as is */
};

static inline unsigned char *rv_frame_data(struct rv_frame *f)
{
	return f->buf + RV_FRAME_HEADROOM;
}

/* Allocate a frame able to hold cap bytes of payload, refs = 1.
 * Returns NULL on out-of-memory. Release with rv_frame_unref(). */
struct rv_frame *rv_frame_new(size_t cap);

/* Allocate a frame holding a copy of len bytes of text, refs = 1 (the
 * caller's; release with rv_frame_unref). NULL on out-of-memory. */
struct rv_frame *rv_frame_from(const char *text, size_t len, enum rv_frame_kind kind);

/* Take another reference; returns f. NULL-safe. */
struct rv_frame *rv_frame_ref(struct rv_frame *f);

/* Drop a reference; frees on the last (with its compressed copy). NULL-safe. */
void rv_frame_unref(struct rv_frame *f);

#ifdef __cplusplus
}
#endif

#endif
