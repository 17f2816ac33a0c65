/* lib/outq.h - internal: a connection's bounded queue of outgoing frames.
 *
 * A ring of frame references that starts small and doubles up to a ceiling.
 * STATE frames are latest-wins: pushing one while an older STATE frame is
 * still queued replaces it in place, so a slow reader only ever gets the
 * newest state. EVENT frames are never dropped here: a push that does not
 * fit fails and the caller decides (the server closes the client with 1013).
 * A STATE frame is queued ahead of the `presence` frames at the tail, so a
 * sync never waits behind a large party's batched joins.
 * Pure, so unit-tested directly.
 */
#ifndef REVENGE_OUTQ_H
#define REVENGE_OUTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "revenge/frame.h"

#define RV_OUTQ_INITIAL 8

struct rv__outq {
	struct rv_frame **slots;
	uint32_t cap, head, len;      /* head: absolute sequence of the oldest */
	int64_t state_seq;            /* sequence of the queued STATE frame, -1 none */
};

void rv__outq_init(struct rv__outq *q);

/* Queue f (taking a new reference). Returns 0 when appended, 1 when it
 * replaced a queued STATE frame (whose reference is dropped), RV_EFULL when
 * max frames are queued, RV_ENOMEM. On failure nothing changes. */
int rv__outq_push(struct rv__outq *q, struct rv_frame *f, size_t max);

/* The same, but with latest_wins false a STATE frame is appended like an
 * EVENT frame (it becomes the one a later latest-wins push replaces): for
 * a connection that is only waiting for the end of the loop turn, not
 * falling behind. */
int rv__outq_push_mode(struct rv__outq *q, struct rv_frame *f, size_t max, bool latest_wins);

/* Remove the oldest frame and hand its reference to the caller; NULL when
 * empty. */
struct rv_frame *rv__outq_pop(struct rv__outq *q);

/* The oldest frame, still queued (the queue keeps its reference); NULL
 * when empty. */
static inline struct rv_frame *rv__outq_peek(const struct rv__outq *q)
{
	return q->len ? q->slots[q->head & (q->cap - 1)] : NULL;
}

static inline uint32_t rv__outq_len(const struct rv__outq *q)
{
	return q->len;
}

/* Drop every queued frame; keeps the storage. */
void rv__outq_clear(struct rv__outq *q);

/* Drop every queued frame and free the storage; q may be reused after
 * rv__outq_init. */
void rv__outq_free(struct rv__outq *q);

#endif
