/* lib/store_writer.c - the store seam's loop side (store_writer.h): the
 * open batch and the one in flight, group commit, the answers, expiry,
 * reads that must see what is not committed yet, and the choice of
 * backend; the backends do the I/O.
 *
 * The loop owns the open batch and everything that answers clients. At
 * most one batch is in flight, so acks keep their order and a store that
 * is slow gets bigger transactions, not a queue of small ones.
 */
#include "store_writer.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/systime.h"

#include "conn.h"
#include "store_watch.h"

struct rv__store_writer {
	struct rv__hub *hub;
	struct rv__store_backend *be;
	unsigned ttl_s, max_per_owner;
	struct rv__store_batch open, flight;
	bool in_flight;
	ev_prepare submit_w;          /* hands the turn's writes over */
	ev_timer sweep_w;             /* expiry */
	uint64_t expired, trimmed;    /* pruned since the last store_pruned line */
	double pruned_logged_ms;      /* when that line was written; < 0: never */
	rv__store_item_done *done_fn[RV__STORE_N_ITEM_KINDS];
	void *done_arg[RV__STORE_N_ITEM_KINDS];
};

bool rv__store_is_postgres(const char *db)
{
	return db && (!strncmp(db, "postgres://", 11) || !strncmp(db, "postgresql://", 13));
}

static void finish(struct rv__store_writer *w);

static void submit(struct rv__store_writer *w)
{
	struct rv__store_batch t;

	if (w->in_flight || (!w->open.n && !w->open.expire_before_ms))
		return;
	/* flight is empty: swap the arrays, keep both allocations */
	t = w->flight;
	w->flight = w->open;
	w->open = t;
	w->open.n = 0;
	w->open.expire_before_ms = 0;
	w->flight.err = 0;
	w->flight.why[0] = 0;
	w->flight.took_s = 0;
	w->flight.expired = w->flight.trimmed = 0;
	w->in_flight = true;
	if (w->be->ops->write(w->be, &w->flight, w->max_per_owner))
		finish(w);            /* refused at once: answered now */
}

/* Log what expiry and the cap removed: a client inventing session ids
 * makes the cap trim in every batch, so at most one line every
 * RV__STORE_LOG_EVERY_S, counting everything since the line before. */
static void note_pruned(struct rv__store_writer *w, const struct rv__store_batch *b)
{
	double now = rv__hub_now(w->hub);

	w->expired += b->expired;
	w->trimmed += b->trimmed;
	if (!w->expired && !w->trimmed)
		return;
	if (w->pruned_logged_ms >= 0 && now - w->pruned_logged_ms < RV__STORE_LOG_EVERY_S * 1000.0)
		return;
	rv_log(w->hub->log, RV_LOG_INFO, "store_pruned", "%llu row(s) of sessions not seen for"
	       " %u s, %llu over the per-owner cap of %u", (unsigned long long)w->expired,
	       w->ttl_s, (unsigned long long)w->trimmed, w->max_per_owner);
	w->expired = w->trimmed = 0;
	w->pruned_logged_ms = now;
}

/* Answer the flight batch: counts, the store's state, each item. */
static void finish(struct rv__store_writer *w)
{
	struct rv__hub *hub = w->hub;
	struct rv__store_batch *b = &w->flight;
	size_t n_progress = 0;

	size_t n_party = 0;

	for (size_t i = 0; i < b->n; i++) {
		n_progress += b->items[i].kind == RV__STORE_ITEM_PROGRESS;
		n_party += b->items[i].kind == RV__STORE_ITEM_PARTY;
	}
	if (b->n)
		rv_metrics_commit(&hub->metrics, b->took_s);
	if (b->err) {
		char what[64];

		snprintf(what, sizeof(what), "%zu report(s), %zu profile(s), %zu party state(s)",
			 n_progress, b->n - n_progress - n_party, n_party);
		rv__store_watch_failed(hub, n_progress ? RV_STORE_OP_WRITE_PROGRESS :
				       RV_STORE_OP_WRITE_QUALITY, what, b->why);
		hub->metrics.progress_refused += n_progress;
	} else {
		hub->metrics.progress_stored += n_progress;
		rv__store_watch_ok(hub);
		note_pruned(w, b);
	}
	for (size_t i = 0; i < b->n; i++) {
		struct rv__store_item *it = &b->items[i];

		if (w->done_fn[it->kind])
			w->done_fn[it->kind](w->done_arg[it->kind], it, b->err);
		free(it->doc);
		it->doc = NULL;
	}
	b->n = 0;
	b->expire_before_ms = 0;
	w->in_flight = false;
}

static void written(struct rv__store_writer *w)
{
	if (!w->in_flight)
		return;
	finish(w);
	submit(w);                    /* what piled up meanwhile, at once */
}

static void submit_cb(struct ev_loop *loop, ev_prepare *p, int revents)
{
	struct rv__store_writer *w = p->data;

	ev_prepare_stop(loop, p);
	submit(w);
}

static void sweep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__store_writer *w = t->data;

	w->open.expire_before_ms = rv__hub_now(w->hub) - w->ttl_s * 1000.0;
	if (!ev_is_active(&w->submit_w))
		ev_prepare_start(loop, &w->submit_w);
}

int rv__store_writer_start(struct rv__hub *hub, const char *db,
			   const struct rv_store_options *opts, unsigned ttl_s,
			   unsigned max_per_owner, struct rv__store_writer **out,
			   char *why, size_t why_len)
{
	struct rv__store_writer *w = calloc(1, sizeof(*w));
	double every;
	int err;

	if (!w) {
		snprintf(why, why_len, "store: out of memory");
		return RV_ENOMEM;
	}
	w->hub = hub;
	w->ttl_s = ttl_s;
	w->max_per_owner = max_per_owner;
	w->pruned_logged_ms = -1;
	if (rv__store_is_postgres(db))
		err = rv__store_pg_backend_new(hub, db, &w->be, why, why_len);
	else
		err = rv__store_sqlite_backend_new(hub, db, opts, &w->be, why, why_len);
	if (err) {
		free(w);
		return err;
	}
	w->be->w = w;
	w->be->written = written;
	ev_prepare_init(&w->submit_w, submit_cb);
	w->submit_w.data = w;
	/* A sweep every quarter of the TTL, between 1 s and 1 min: an expired
	 * session stays at most that much longer. */
	every = ttl_s / 4.0;
	every = every < 1 ? 1 : every > 60 ? 60 : every;
	ev_timer_init(&w->sweep_w, sweep_cb, every, every);
	w->sweep_w.data = w;
	if (ttl_s) {
		ev_timer_start(hub->loop, &w->sweep_w);
		/* The loop ends when its clients are gone (the drain): the
		 * sweep keeps it running no longer than that. */
		ev_unref(hub->loop);
	}
	*out = w;
	return 0;
}

void rv__store_writer_free(struct rv__store_writer *w)
{
	if (!w)
		return;
	/* what is in flight, then what is left: stored before we go (each
	 * answer submits what waits; nothing new comes in now) */
	submit(w);
	while (w->in_flight)
		w->be->ops->drain(w->be);
	ev_prepare_stop(w->hub->loop, &w->submit_w);
	if (ev_is_active(&w->sweep_w)) {
		ev_ref(w->hub->loop);
		ev_timer_stop(w->hub->loop, &w->sweep_w);
	}
	w->be->ops->free(w->be);
	for (size_t i = 0; i < w->open.n; i++)
		free(w->open.items[i].doc);
	free(w->open.items);
	free(w->flight.items);
	free(w);
}

const char *rv__store_writer_backend(const struct rv__store_writer *w)
{
	return w->be->ops->name;
}

void rv__store_writer_on_done(struct rv__store_writer *w, enum rv__store_item_kind kind,
			      rv__store_item_done *fn, void *arg)
{
	if ((unsigned)kind < RV__STORE_N_ITEM_KINDS) {
		w->done_fn[kind] = fn;
		w->done_arg[kind] = arg;
	}
}

int rv__store_writer_add(struct rv__store_writer *w, const struct rv__store_item *it)
{
	struct rv__store_batch *b = &w->open;

	if (b->n >= RV__STORE_BACKLOG_MAX) {
		free(it->doc);
		return RV_EFULL;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct rv__store_item *ni = realloc(b->items, cap * sizeof(*ni));

		if (!ni)
			goto fail;
		b->items = ni;
		b->cap = cap;
	}
	b->items[b->n++] = *it;
	if (!ev_is_active(&w->submit_w))
		ev_prepare_start(w->hub->loop, &w->submit_w);
	return 0;
fail:
	free(it->doc);
	return RV_ENOMEM;
}

int rv__store_writer_load_parties(struct rv__store_writer *w, rv_store_party_cb *cb,
				  void *arg)
{
	return w->be->ops->load_parties(w->be, cb, arg);
}

/* The thread never reads c, so the loop may clear it in flight too. */
void rv__store_writer_forget(struct rv__store_writer *w, const struct rv__conn *c)
{
	for (size_t i = 0; i < w->open.n; i++)
		if (w->open.items[i].c == c)
			w->open.items[i].c = NULL;
	for (size_t i = 0; w->in_flight && i < w->flight.n; i++)
		if (w->flight.items[i].c == c)
			w->flight.items[i].c = NULL;
}

static const struct rv__store_item *latest_in(const struct rv__store_batch *b,
					      enum rv__store_item_kind kind,
					      const char *owner, const char *session_id)
{
	for (size_t i = b->n; i-- > 0;) {
		const struct rv__store_item *it = &b->items[i];

		if (it->kind == kind && strcmp(it->rec.session_id, session_id) == 0 &&
		    strcmp(it->rec.owner, owner) == 0)
			return it;
	}
	return NULL;
}

/* The latest write of kind for (owner, session_id) not yet committed. */
static const struct rv__store_item *pending(const struct rv__store_writer *w,
					    enum rv__store_item_kind kind, const char *owner,
					    const char *session_id)
{
	const struct rv__store_item *it = latest_in(&w->open, kind, owner, session_id);

	if (!it && w->in_flight)
		it = latest_in(&w->flight, kind, owner, session_id);
	return it;
}

void rv__store_writer_read(struct rv__store_writer *w, enum rv__store_item_kind kind,
			   const char *owner, const char *session_id, rv__store_read_cb *cb,
			   void *arg)
{
	const struct rv__store_item *it = pending(w, kind, owner, session_id);

	if (it)
		cb(arg, 0, it);
	else
		w->be->ops->read(w->be, kind, owner, session_id, cb, arg);
}
