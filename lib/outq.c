/* lib/outq.c - bounded, latest-wins outgoing frame queue (see outq.h). */
#include "outq.h"

#include <stdbool.h>
#include <stdlib.h>

#include "revenge/error.h"
#include "revenge/proto.h"

void rv__outq_init(struct rv__outq *q)
{
	q->slots = NULL;
	q->cap = q->head = q->len = 0;
	q->state_seq = -1;
}

static int grow(struct rv__outq *q, size_t max)
{
	uint32_t ncap = q->cap ? q->cap * 2 : RV_OUTQ_INITIAL;
	struct rv_frame **ns;

	if (q->cap >= max)
		return RV_EFULL;
	ns = malloc(ncap * sizeof(*ns));
	if (!ns)
		return RV_ENOMEM;
	/* Slots are absolute sequence numbers masked by the capacity, so each
	 * frame keeps its sequence number and only its slot moves. */
	for (uint32_t i = 0; i < q->len; i++) {
		uint32_t seq = q->head + i;

		ns[seq & (ncap - 1)] = q->slots[seq & (q->cap - 1)];
	}
	free(q->slots);
	q->slots = ns;
	q->cap = ncap;
	return 0;
}

int rv__outq_push(struct rv__outq *q, struct rv_frame *f, size_t max)
{
	return rv__outq_push_mode(q, f, max, true);
}

int rv__outq_push_mode(struct rv__outq *q, struct rv_frame *f, size_t max, bool latest_wins)
{
	uint32_t seq;
	int err;

	if (latest_wins && f->kind == RV_FRAME_STATE && q->state_seq >= 0) {
		struct rv_frame **slot = &q->slots[(uint32_t)q->state_seq & (q->cap - 1)];

		rv_frame_unref(*slot);
		*slot = rv_frame_ref(f);
		return 1;
	}
	if (q->len == q->cap && (err = grow(q, max)))
		return err;
	seq = q->head + q->len++;
	/* A state goes ahead of the presence diffs queued last: a large
	 * party's batched joins must never hold up its sync (they commute:
	 * one says who is here, the other where the video is). */
	while (f->kind == RV_FRAME_STATE && seq != q->head &&
	       q->slots[(seq - 1) & (q->cap - 1)]->msg_type == RV_MSG_PRESENCE) {
		q->slots[seq & (q->cap - 1)] = q->slots[(seq - 1) & (q->cap - 1)];
		seq--;
	}
	q->slots[seq & (q->cap - 1)] = rv_frame_ref(f);
	if (f->kind == RV_FRAME_STATE)
		q->state_seq = seq;
	return 0;
}

struct rv_frame *rv__outq_pop(struct rv__outq *q)
{
	struct rv_frame *f;

	if (!q->len)
		return NULL;
	f = q->slots[q->head & (q->cap - 1)];
	if (q->state_seq == (int64_t)q->head)
		q->state_seq = -1;
	q->head++;
	q->len--;
	return f;
}

void rv__outq_clear(struct rv__outq *q)
{
	struct rv_frame *f;

	while ((f = rv__outq_pop(q)))
		rv_frame_unref(f);
}

void rv__outq_free(struct rv__outq *q)
{
	rv__outq_clear(q);
	free(q->slots);
	rv__outq_init(q);
}
