/* lib/outbox.h - internal: filling a party's outbox (party.h's struct
 * rv_outbox), shared by the party and the modules it calls (barrier,
 * drift, presence), so that none of them calls back into party.c. */
#ifndef REVENGE_OUTBOX_H
#define REVENGE_OUTBOX_H

#include "revenge/party.h"

/* Queue f (taking over the caller's reference) for target. A NULL frame is
 * an encode that ran out of memory: skipped, so the other actions of the
 * event still go out. An event emits a few actions (a tick may fill the
 * outbox and tick again), so a full outbox means the caller did not clear
 * it between events; the frame is dropped rather than written past the
 * array. */
void rv__outbox_emit(struct rv_outbox *ob, enum rv_target target,
		     struct rv_member *m, struct rv_frame *f);

/* Answer msg with an error to m alone, echoing its id, and note the code
 * in ob->error. Returns 1, a handler's "answered with an error". */
int rv__outbox_error(struct rv_outbox *ob, struct rv_member *m, const struct rv_msg *msg,
		     enum rv_err_code code, double now_ms, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

#endif
