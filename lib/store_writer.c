/* lib/store_writer.c - the store's writes on a thread of their own
 * (store_writer.h).
 *
 * Two threads, one rule each. The loop owns the open batch and everything
 * that answers clients; the thread owns its rv_store connection (SQLite:
 * one connection per thread). They meet in one slot under a mutex: `job`,
 * the batch handed over, and `job_done`, set by the thread when it is
 * committed. The thread writes only the batch's result fields and reads
 * only its items' records; the error text is copied into the batch, never
 * shared. At most one batch is in flight, so acks keep their order and a
 * store that is slow gets bigger transactions, not a queue of small ones.
 */
#include "store_writer.h"

#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/systime.h"

#include "conn.h"
#include "store_watch.h"

struct batch {
	struct rv__store_item *items;
	size_t n, cap;
	double expire_before_ms;      /* > 0: also forget sessions not seen since */
	/* the thread's answer */
	int err;
	char why[256];
	double took_s;
	uint64_t expired, trimmed;
};

struct rv__store_writer {
	struct rv__hub *hub;
	struct rv_store *st;          /* the thread's own connection */
	unsigned ttl_s, max_per_owner;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch *job;            /* mu: handed to the thread, NULL when idle */
	bool job_done;                /* mu: the thread finished job */
	bool stopping;                /* mu: the thread is to end */
	/* the loop's */
	struct batch open, flight;
	bool in_flight;
	ev_prepare submit_w;          /* hands the turn's writes over */
	ev_async done_w;              /* the thread finished */
	ev_timer sweep_w;             /* expiry */
	uint64_t expired, trimmed;    /* pruned since the last store_pruned line */
	double pruned_logged_ms;      /* when that line was written; < 0: never */
	rv__store_item_done *done_fn[RV__STORE_N_ITEM_KINDS];
	void *done_arg[RV__STORE_N_ITEM_KINDS];
};

/* ---- the thread ---- */

/* Owners that got a new session in this batch, for the cap. */
struct owners {
	const char **v;
	size_t n, cap;
};

static int owners_add(struct owners *o, const char *owner)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i], owner) == 0)
			return 0;
	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 8;
		const char **nv = realloc(o->v, cap * sizeof(*nv));

		if (!nv)
			return RV_ENOMEM;
		o->v = nv;
		o->cap = cap;
	}
	o->v[o->n++] = owner;
	return 0;
}

/* The batch in one transaction; on failure rolled back whole. */
static void write_batch(struct rv__store_writer *w, struct batch *b)
{
	struct owners own = { 0 };
	uint64_t t0 = rv_time_mono_ns(), n;
	int err;

	b->expired = b->trimmed = 0;
	err = rv_store_begin(w->st);
	for (size_t i = 0; !err && i < b->n; i++) {
		const struct rv__store_item *it = &b->items[i];

		if (it->kind == RV__STORE_ITEM_PROGRESS)
			err = rv_store_put_progress(w->st, &it->rec);
		else
			err = rv_store_put_quality(w->st, it->rec.owner, it->rec.session_id,
						   it->profile);
		/* Only a session the store may not have yet can take its owner
		 * past the cap: the first report of a session with none
		 * stored (the loop knows, from its read at open), and any
		 * profile (rare). The rest cost nothing here. */
		if (!err && w->max_per_owner &&
		    (it->new_session || it->kind == RV__STORE_ITEM_QUALITY))
			err = owners_add(&own, it->rec.owner);
	}
	for (size_t i = 0; !err && i < own.n; i++) {
		err = rv_store_trim_owner(w->st, own.v[i], w->max_per_owner, &n);
		b->trimmed += n;
	}
	if (!err && b->expire_before_ms > 0) {
		err = rv_store_expire(w->st, b->expire_before_ms, &n);
		b->expired = n;
	}
	if (!err)
		err = rv_store_commit(w->st);
	if (err) {
		snprintf(b->why, sizeof(b->why), "%s", rv_store_last_error(w->st));
		rv_store_rollback(w->st);
		b->expired = b->trimmed = 0;
	}
	free(own.v);
	b->err = err;
	b->took_s = (double)(rv_time_mono_ns() - t0) / 1e9;
}

static void *writer_main(void *arg)
{
	struct rv__store_writer *w = arg;
	struct batch *b;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stopping && (!w->job || w->job_done))
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->job || w->job_done)
			break;                /* stopping, nothing left */
		b = w->job;
		pthread_mutex_unlock(&w->mu);
		write_batch(w, b);
		pthread_mutex_lock(&w->mu);
		w->job_done = true;
		pthread_cond_broadcast(&w->cv);
		ev_async_send(w->hub->loop, &w->done_w);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* ---- the loop ---- */

static void submit(struct rv__store_writer *w)
{
	struct batch t;

	if (w->in_flight || (!w->open.n && !w->open.expire_before_ms))
		return;
	/* flight is empty: swap the arrays, keep both allocations */
	t = w->flight;
	w->flight = w->open;
	w->open = t;
	w->open.n = 0;
	w->open.expire_before_ms = 0;
	w->in_flight = true;
	pthread_mutex_lock(&w->mu);
	w->job = &w->flight;
	w->job_done = false;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Log what expiry and the cap removed: a client inventing session ids
 * makes the cap trim in every batch, so at most one line every
 * RV__STORE_LOG_EVERY_S, counting everything since the line before. */
static void note_pruned(struct rv__store_writer *w, const struct batch *b)
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
	struct batch *b = &w->flight;
	size_t n_progress = 0;

	for (size_t i = 0; i < b->n; i++)
		n_progress += b->items[i].kind == RV__STORE_ITEM_PROGRESS;
	if (b->n)
		rv_metrics_commit(&hub->metrics, b->took_s);
	if (b->err) {
		char what[64];

		snprintf(what, sizeof(what), "%zu report(s), %zu profile(s)", n_progress,
			 b->n - n_progress);
		rv__store_watch_failed(hub, n_progress ? RV_STORE_OP_WRITE_PROGRESS :
				       RV_STORE_OP_WRITE_QUALITY, what, b->why);
		hub->metrics.progress_refused += n_progress;
	} else {
		hub->metrics.progress_stored += n_progress;
		rv__store_watch_ok(hub);
		note_pruned(w, b);
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct rv__store_item *it = &b->items[i];

		if (w->done_fn[it->kind])
			w->done_fn[it->kind](w->done_arg[it->kind], it, b->err);
	}
	b->n = 0;
	b->expire_before_ms = 0;
	w->in_flight = false;
}

/* Take the thread's answer if there is one; wait for it when wait. */
static bool collect(struct rv__store_writer *w, bool wait)
{
	bool done;

	if (!w->in_flight)
		return false;
	pthread_mutex_lock(&w->mu);
	while (wait && !w->job_done)
		pthread_cond_wait(&w->cv, &w->mu);
	done = w->job_done;
	if (done) {
		w->job = NULL;
		w->job_done = false;
	}
	pthread_mutex_unlock(&w->mu);
	if (done)
		finish(w);
	return done;
}

static void done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	struct rv__store_writer *w = a->data;

	if (collect(w, false))
		submit(w);            /* what piled up meanwhile, at once */
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

int rv__store_writer_start(struct rv__hub *hub, const char *path,
			   const struct rv_store_options *opts, unsigned ttl_s,
			   unsigned max_per_owner, struct rv__store_writer **out,
			   char *why, size_t why_len)
{
	struct rv__store_writer *w = calloc(1, sizeof(*w));
	struct rv_store_options o = *opts;
	double every;
	int err;

	if (!w) {
		snprintf(why, why_len, "store writer: out of memory");
		return RV_ENOMEM;
	}
	w->hub = hub;
	w->ttl_s = ttl_s;
	w->max_per_owner = max_per_owner;
	w->pruned_logged_ms = -1;
	o.create = false;             /* the loop's connection made it */
	if ((err = rv_store_open(path, &o, &w->st, why, why_len))) {
		free(w);
		return err;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	ev_prepare_init(&w->submit_w, submit_cb);
	w->submit_w.data = w;
	ev_async_init(&w->done_w, done_cb);
	w->done_w.data = w;
	ev_async_start(hub->loop, &w->done_w);
	/* The loop ends when its clients are gone (the drain): the writer's
	 * watchers keep it running no longer than that. */
	ev_unref(hub->loop);
	/* A sweep every quarter of the TTL, between 1 s and 1 min: an expired
	 * session stays at most that much longer. */
	every = ttl_s / 4.0;
	every = every < 1 ? 1 : every > 60 ? 60 : every;
	ev_timer_init(&w->sweep_w, sweep_cb, every, every);
	w->sweep_w.data = w;
	if (ttl_s) {
		ev_timer_start(hub->loop, &w->sweep_w);
		ev_unref(hub->loop);
	}
	if ((err = pthread_create(&w->thread, NULL, writer_main, w))) {
		snprintf(why, why_len, "store writer: cannot start its thread: %s", strerror(err));
		w->started = false;
		rv__store_writer_free(w);
		return RV_EIO;
	}
	w->started = true;
	*out = w;
	return 0;
}

void rv__store_writer_free(struct rv__store_writer *w)
{
	if (!w)
		return;
	if (w->started) {
		/* what is in flight, then what is left: stored before we go */
		collect(w, true);
		submit(w);
		collect(w, true);
		pthread_mutex_lock(&w->mu);
		w->stopping = true;
		pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->thread, NULL);
	}
	ev_prepare_stop(w->hub->loop, &w->submit_w);
	if (ev_is_active(&w->done_w)) {
		ev_ref(w->hub->loop);
		ev_async_stop(w->hub->loop, &w->done_w);
	}
	if (ev_is_active(&w->sweep_w)) {
		ev_ref(w->hub->loop);
		ev_timer_stop(w->hub->loop, &w->sweep_w);
	}
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	rv_store_close(w->st);
	free(w->open.items);
	free(w->flight.items);
	free(w);
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
	struct batch *b = &w->open;

	if (b->n >= RV__STORE_BACKLOG_MAX)
		return RV_EFULL;
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;
		struct rv__store_item *ni = realloc(b->items, cap * sizeof(*ni));

		if (!ni)
			return RV_ENOMEM;
		b->items = ni;
		b->cap = cap;
	}
	b->items[b->n++] = *it;
	if (!ev_is_active(&w->submit_w))
		ev_prepare_start(w->hub->loop, &w->submit_w);
	return 0;
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

static const struct rv__store_item *latest_in(const struct batch *b,
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

const struct rv__store_item *rv__store_writer_latest(const struct rv__store_writer *w,
						     enum rv__store_item_kind kind,
						     const char *owner, const char *session_id)
{
	const struct rv__store_item *it = latest_in(&w->open, kind, owner, session_id);

	if (!it && w->in_flight)
		it = latest_in(&w->flight, kind, owner, session_id);
	return it;
}
