/* lib/store_writer.h - internal: the store's writes, off the event loop.
 *
 * Every write (progress reports, quality profiles, the expiry of old
 * sessions and the per-owner cap) runs on one writer thread with its own
 * SQLite connection, so a slow disk, an fsync or another process holding
 * the write lock never stalls the loop. The loop collects a turn's writes
 * in the open batch; when the thread is idle the batch goes to it whole
 * (one transaction: group commit), and while it is busy the next batch
 * grows, so a slow store gets fewer, bigger transactions. When the commit
 * is done (durable, or failed and rolled back) the thread wakes the loop
 * (ev_async), which answers each write: acks go out only after the commit.
 */
#ifndef REVENGE_STORE_WRITER_H
#define REVENGE_STORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "revenge/quality.h"
#include "revenge/store.h"

struct rv__hub;
struct rv__conn;
struct rv__store_writer;

/* Writes waiting for the thread (the open batch) past which new ones are
 * refused at once: memory stays bounded while the store is stuck. */
#define RV__STORE_BACKLOG_MAX 16384

enum rv__store_item_kind {
	RV__STORE_ITEM_PROGRESS,
	RV__STORE_ITEM_QUALITY,
	RV__STORE_N_ITEM_KINDS
};

/* One write. The thread reads kind, rec and profile; c, has_id and id are
 * the loop's (who hears the outcome) and the thread never touches them. */
struct rv__store_item {
	enum rv__store_item_kind kind;
	struct rv_progress_rec rec;   /* progress: the report; quality: owner, session_id */
	char profile[RV_PROFILE_NAME_MAX + 1];  /* quality */
	bool new_session;             /* progress: the store may not have the
				       * session yet (checked against the cap) */
	struct rv__conn *c;           /* NULL once the connection is gone */
	bool has_id;
	char id[RV_REQ_ID_MAX + 1];
};

/* Called on the loop for each item once its batch is done: err 0 when it
 * is committed, else nonzero (the whole batch was rolled back). */
typedef void rv__store_item_done(void *arg, const struct rv__store_item *it, int err);

/* Open the writer's own connection to path and start its thread.
 * ttl_s 0: sessions never expire; max_per_owner 0: no cap. 0, or a
 * negative RV_E* with a reason in why. Free with rv__store_writer_free. */
int rv__store_writer_start(struct rv__hub *hub, const char *path,
			   const struct rv_store_options *opts, unsigned ttl_s,
			   unsigned max_per_owner, struct rv__store_writer **out,
			   char *why, size_t why_len);

/* Drain (every write already handed in is committed and answered: at
 * shutdown this blocks the loop, which has nothing else left to do), stop
 * and join the thread, close its connection. NULL-safe. */
void rv__store_writer_free(struct rv__store_writer *w);

/* Who hears the outcome of items of kind. */
void rv__store_writer_on_done(struct rv__store_writer *w, enum rv__store_item_kind kind,
			      rv__store_item_done *fn, void *arg);

/* Queue a copy of it for the next batch: 0, RV_EFULL past
 * RV__STORE_BACKLOG_MAX, RV_ENOMEM. */
int rv__store_writer_add(struct rv__store_writer *w, const struct rv__store_item *it);

/* c is closing: its items are still written but nobody is answered. */
void rv__store_writer_forget(struct rv__store_writer *w, const struct rv__conn *c);

/* The latest write of kind for (owner, session_id) that is not yet
 * committed, or NULL: a session read back from the store must not miss
 * it. Valid until the loop returns. */
const struct rv__store_item *rv__store_writer_latest(const struct rv__store_writer *w,
						     enum rv__store_item_kind kind,
						     const char *owner, const char *session_id);

#endif
