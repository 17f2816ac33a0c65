/* lib/store_sqlite_backend.c - the SQLite backend of the store seam
 * (store_writer.h): writes on a thread of their own, reads on the loop.
 *
 * Two threads, one rule each. The loop owns its read connection and
 * everything that answers clients; the thread owns its write connection
 * (SQLite: one connection per thread). They meet in one slot under a
 * mutex: `job`, the batch handed over, and `job_done`, set by the thread
 * when it is committed. The thread writes only the batch's result fields
 * and reads only its items' records; the error text is copied into the
 * batch, never shared. A slow disk, an fsync or another process holding
 * the write lock never stalls the loop; a read does not wait for a writer
 * in WAL mode (and gives up on a lock after 100 ms).
 */
#include <ev.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/systime.h"

#include "conn.h"
#include "store_watch.h"
#include "store_writer.h"

struct sqlite_be {
	struct rv__store_backend be;
	struct rv__hub *hub;
	struct rv_store *rd;          /* the loop's connection: reads */
	struct rv_store *st;          /* the thread's connection: writes */
	unsigned max_per_owner;       /* of the batch in flight */
	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct rv__store_batch *job;  /* mu: handed to the thread, NULL when idle */
	bool job_done;                /* mu: the thread finished job */
	bool stopping;                /* mu: the thread is to end */
	ev_async done_w;              /* the thread finished */
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
static void write_batch(struct sqlite_be *s, struct rv__store_batch *b)
{
	struct owners own = { 0 };
	uint64_t t0 = rv_time_mono_ns(), n;
	unsigned max = s->max_per_owner;
	int err;

	b->expired = b->trimmed = 0;
	err = rv_store_begin(s->st);
	for (size_t i = 0; !err && i < b->n; i++) {
		const struct rv__store_item *it = &b->items[i];

		if (it->kind == RV__STORE_ITEM_PROGRESS)
			err = rv_store_put_progress(s->st, &it->rec);
		else if (it->kind == RV__STORE_ITEM_PARTY)
			err = it->doc ? rv_store_put_party(s->st, it->rec.session_id, it->doc,
							   it->rec.server_time)
				      : rv_store_delete_party(s->st, it->rec.session_id);
		else
			err = rv_store_put_quality(s->st, it->rec.owner, it->rec.session_id,
						   it->profile);
		/* Only a session the store may not have yet can take its owner
		 * past the cap: the first report of a session with none
		 * stored (the loop knows, from its read at open), and any
		 * profile (rare). The rest cost nothing here. */
		if (!err && max && (it->new_session || it->kind == RV__STORE_ITEM_QUALITY))
			err = owners_add(&own, it->rec.owner);
	}
	for (size_t i = 0; !err && i < own.n; i++) {
		err = rv_store_trim_owner(s->st, own.v[i], max, &n);
		b->trimmed += n;
	}
	if (!err && b->expire_before_ms > 0) {
		err = rv_store_expire(s->st, b->expire_before_ms, &n);
		b->expired = n;
	}
	if (!err)
		err = rv_store_commit(s->st);
	if (err) {
		snprintf(b->why, sizeof(b->why), "%s", rv_store_last_error(s->st));
		rv_store_rollback(s->st);
		b->expired = b->trimmed = 0;
	}
	free(own.v);
	b->err = err;
	b->took_s = (double)(rv_time_mono_ns() - t0) / 1e9;
}

static void *writer_main(void *arg)
{
	struct sqlite_be *s = arg;
	struct rv__store_batch *b;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->stopping && (!s->job || s->job_done))
			pthread_cond_wait(&s->cv, &s->mu);
		if (!s->job || s->job_done)
			break;                /* stopping, nothing left */
		b = s->job;
		pthread_mutex_unlock(&s->mu);
		write_batch(s, b);
		pthread_mutex_lock(&s->mu);
		s->job_done = true;
		pthread_cond_broadcast(&s->cv);
		ev_async_send(s->hub->loop, &s->done_w);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ---- the loop ---- */

static int sq_write(struct rv__store_backend *be, struct rv__store_batch *b, unsigned max)
{
	struct sqlite_be *s = (struct sqlite_be *)be;

	pthread_mutex_lock(&s->mu);
	s->max_per_owner = max;
	s->job = b;
	s->job_done = false;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return 0;
}

/* Take the thread's answer if there is one; wait for it when wait. */
static void collect(struct sqlite_be *s, bool wait)
{
	bool done;

	pthread_mutex_lock(&s->mu);
	if (!s->job) {
		pthread_mutex_unlock(&s->mu);
		return;
	}
	while (wait && !s->job_done)
		pthread_cond_wait(&s->cv, &s->mu);
	done = s->job_done;
	if (done) {
		s->job = NULL;
		s->job_done = false;
	}
	pthread_mutex_unlock(&s->mu);
	if (done)
		s->be.written(s->be.w);
}

static void done_cb(struct ev_loop *loop, ev_async *a, int revents)
{
	collect(a->data, false);
}

static void sq_drain(struct rv__store_backend *be)
{
	collect((struct sqlite_be *)be, true);
}

static void sq_read(struct rv__store_backend *be, enum rv__store_item_kind kind,
		    const char *owner, const char *session_id, rv__store_read_cb *cb, void *arg)
{
	struct sqlite_be *s = (struct sqlite_be *)be;
	struct rv__store_item it;
	int err;

	memset(&it, 0, sizeof(it));
	it.kind = kind;
	if (kind == RV__STORE_ITEM_PROGRESS) {
		err = rv_store_get_progress(s->rd, owner, session_id, &it.rec);
	} else {
		snprintf(it.rec.owner, sizeof(it.rec.owner), "%s", owner);
		snprintf(it.rec.session_id, sizeof(it.rec.session_id), "%s", session_id);
		err = rv_store_get_quality(s->rd, owner, session_id, it.profile,
					   sizeof(it.profile));
		/* a stored name longer than any profile is no profile of ours */
		if (err == RV_ERANGE)
			err = RV_ENOENT;
	}
	if (err && err != RV_ENOENT) {
		rv__store_watch_failed(s->hub, RV_STORE_OP_READ, session_id,
				       rv_store_last_error(s->rd));
		err = RV_EIO;
	}
	cb(arg, err, err ? NULL : &it);
}

/* On the loop's connection, at start (before anything is served). */
static int sq_load_parties(struct rv__store_backend *be, rv_store_party_cb *cb, void *arg)
{
	struct sqlite_be *s = (struct sqlite_be *)be;

	return rv_store_load_parties(s->rd, cb, arg);
}

static void sq_free(struct rv__store_backend *be)
{
	struct sqlite_be *s = (struct sqlite_be *)be;

	if (s->started) {
		collect(s, true);
		pthread_mutex_lock(&s->mu);
		s->stopping = true;
		pthread_cond_broadcast(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->thread, NULL);
	}
	if (ev_is_active(&s->done_w)) {
		ev_ref(s->hub->loop);
		ev_async_stop(s->hub->loop, &s->done_w);
	}
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	rv_store_close(s->st);
	rv_store_close(s->rd);
	free(s);
}

static const struct rv__store_backend_ops sqlite_ops = {
	.name = "sqlite",
	.write = sq_write,
	.read = sq_read,
	.drain = sq_drain,
	.free = sq_free,
	.load_parties = sq_load_parties,
};

int rv__store_sqlite_backend_new(struct rv__hub *hub, const char *path,
				 const struct rv_store_options *opts,
				 struct rv__store_backend **out, char *why, size_t why_len)
{
	struct sqlite_be *s = calloc(1, sizeof(*s));
	struct rv_store_options o = *opts;
	int err;

	if (!s) {
		snprintf(why, why_len, "store: out of memory");
		return RV_ENOMEM;
	}
	s->be.ops = &sqlite_ops;
	s->hub = hub;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	ev_async_init(&s->done_w, done_cb);
	s->done_w.data = s;
	if ((err = rv_store_open(path, &o, &s->rd, why, why_len)))
		goto fail;
	/* The loop's connection only reads (a session's stored state when it
	 * opens); in WAL mode a reader does not wait for a writer, so a lock
	 * held elsewhere cannot stall it for long. */
	rv_store_set_busy_timeout(s->rd, 100);
	o.create = false;             /* the loop's connection made it */
	if ((err = rv_store_open(path, &o, &s->st, why, why_len)))
		goto fail;
	ev_async_start(hub->loop, &s->done_w);
	/* The loop ends when its clients are gone (the drain): the backend's
	 * watchers keep it running no longer than that. */
	ev_unref(hub->loop);
	if ((err = pthread_create(&s->thread, NULL, writer_main, s))) {
		snprintf(why, why_len, "store writer: cannot start its thread: %s", strerror(err));
		err = RV_EIO;
		goto fail;
	}
	s->started = true;
	*out = &s->be;
	return 0;
fail:
	sq_free(&s->be);
	return err;
}
