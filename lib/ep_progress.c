/* lib/ep_progress.c - the /ws/progress/{session_id} endpoint: playback
 * progress reported by players, stored durably, pushed back periodically.
 *
 * A session's latest report lives in memory while anyone is connected to it
 * and in the store always. Reports go to the store (store_writer.h), which
 * commits them in batches (group commit) and hands each outcome back here
 * on the loop: an ack once the batch is committed, store_unavailable when
 * it failed. A new session's stored report is read asynchronously too: its
 * connections get their first progress when the read is answered (at once
 * with SQLite). The loop never waits for the store.
 * Each connection gets its own tick at its ?interval_ms=, extrapolating the
 * position while playing.
 *
 * In cluster mode (broker.h) a session with connections here is subscribed
 * to its progress channel: each report the store committed is published
 * there (after the commit, whichever connection made it, still open or
 * not), and another node's report becomes the session's latest here when
 * it is newer (server_time) than the one held, so the next tick of every
 * connection reflects it. Once Redis confirms the subscription (at open,
 * and again after Redis was away) the store is read again: a report
 * committed elsewhere before the subscription took is not missed.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/systime.h"

#include "broker.h"
#include "conn.h"
#include "endpoint.h"
#include "idmap.h"
#include "list.h"
#include "sessions.h"
#include "store_watch.h"
#include "store_writer.h"

#define INTERVAL_DEFAULT_MS 5000
#define INTERVAL_MIN_MS 100
#define INTERVAL_MAX_MS 60000

struct progress_conn;

struct progress;

struct psession {
	struct progress *pg;
	char key[RV__SESSION_KEY_MAX];    /* in the table: owner and id */
	char owner_key[RV__OWNER_KEY_MAX]; /* counted under it (sessions.h) */
	char owner[RV_STORE_OWNER_MAX + 1];
	char id[RV_ID_MAX + 1];
	bool has_report;
	unsigned reads;               /* the store's reads not answered yet */
	struct rv_progress_rec rec;   /* latest report; rec.server_time: when it held */
	RV__LIST(struct progress_conn) subs; /* its connections */
};

/* Per connection. */
struct progress_conn {
	struct psession *ps;
	struct progress_conn *prev, *next; /* the session's subscribers */
	ev_timer tick;
	unsigned interval_ms;
};

/* What the handshake's query says. */
struct progress_args {
	unsigned interval_ms;         /* ?interval_ms= */
	bool has_interval;
};
_Static_assert(sizeof(struct progress_args) <= RV__REQUEST_ARGS_MAX, "progress_args fits");

struct progress {
	struct rv__hub *hub;
	struct rv__idmap sessions;
};

static void report_done(void *arg, const struct rv__store_item *it, int err);
static void remote_report(void *user, const struct rv_progress_rec *rec);
static void remote_subscribed(void *user, const char *owner, const char *session);

static int progress_start(struct rv__hub *hub, void **state)
{
	struct progress *pg = calloc(1, sizeof(*pg));

	if (!pg || rv__idmap_init(&pg->sessions)) {
		free(pg);
		return RV_ENOMEM;
	}
	pg->hub = hub;
	if (hub->writer)
		rv__store_writer_on_done(hub->writer, RV__STORE_ITEM_PROGRESS, report_done, pg);
	if (hub->broker) {
		hub->broker->on_progress = remote_report;
		hub->broker->on_progress_subscribed = remote_subscribed;
		hub->broker->progress_user = pg;
	}
	*state = pg;
	return 0;
}

static void progress_stop(void *state)
{
	struct progress *pg = state;

	if (!pg)
		return;
	if (pg->hub->broker) {
		pg->hub->broker->on_progress = NULL;
		pg->hub->broker->on_progress_subscribed = NULL;
	}
	/* The writer, freed before the endpoints (server.c), has stored what
	 * it was handed. */
	rv__idmap_free(&pg->sessions, free);
	free(pg);
}

/* The position to report now: extrapolated while playing, never past a
 * known duration. */
static double position_now(const struct rv_progress_rec *r, double now)
{
	struct rv_playback pb = { r->position, r->playing, 1.0, r->server_time };
	double pos = rv_playback_position_at(&pb, now);

	if (r->has_duration && r->duration > 0 && pos > r->duration)
		pos = r->duration;
	return pos;
}

static void send_progress(struct rv__conn *c, const struct psession *ps)
{
	double now = rv__hub_now(c->hub);

	rv__conn_send_own(c, rv_proto_progress_frame(ps->id, ps->rec.media_id,
						     position_now(&ps->rec, now),
						     ps->rec.has_duration, ps->rec.duration,
						     ps->rec.playing, now));
}

static void tick_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct progress_conn *pc = t->data;

	send_progress(rv__conn_of_ep(pc), pc->ps);
}

static void start_ticks(struct progress *pg, struct progress_conn *pc)
{
	double every = pc->interval_ms / 1000.0;

	if (ev_is_active(&pc->tick))
		return;

	ev_timer_init(&pc->tick, tick_cb, every, every);
	pc->tick.data = pc;
	ev_timer_start(pg->hub->loop, &pc->tick);
}

static int progress_query(const char *arg, size_t len, struct rv__request *r,
			  char *why, size_t why_len)
{
	struct progress_args *a = (void *)r->args.bytes;
	unsigned long v = 0;
	size_t i;

	if (len < 12 || strncmp(arg, "interval_ms=", 12))
		return 0;
	if (a->has_interval) {
		snprintf(why, why_len, "interval_ms given twice");
		return 400;
	}
	/* Digits only, range-checked, never clamped: the contract says an
	 * out-of-range value is refused. */
	for (i = 12; i < len && i < 20; i++) {
		if (arg[i] < '0' || arg[i] > '9')
			break;
		v = v * 10 + (unsigned long)(arg[i] - '0');
	}
	if (i == 12 || i != len || v < INTERVAL_MIN_MS || v > INTERVAL_MAX_MS) {
		snprintf(why, why_len, "interval_ms must be a whole number from %d to %d",
			 INTERVAL_MIN_MS, INTERVAL_MAX_MS);
		return 400;
	}
	a->interval_ms = (unsigned)v;
	a->has_interval = true;
	return 0;
}

/* A new session past --max-sessions or --max-sessions-per-owner is
 * refused at the handshake; joining a live one always fits. */
static int progress_admit(void *state, const struct rv__request *r, char *why, size_t why_len,
			  unsigned *retry_s)
{
	struct progress *pg = state;
	char key[RV__SESSION_KEY_MAX];

	rv__request_session_key(r, key);
	if (rv__idmap_get(&pg->sessions, key))
		return 0;
	return rv__sessions_admit(pg->hub, r, why, why_len);
}

/* r's session, made if need be, into *out (*made: it is new): 0, RV_EFULL
 * at a session cap, RV_ENOMEM. */
static int session_get(struct progress *pg, const struct rv__request *r, struct psession **out,
		       bool *made)
{
	char key[RV__SESSION_KEY_MAX];
	struct psession *ps;
	int err;

	rv__request_session_key(r, key);
	*made = false;
	if ((*out = rv__idmap_get(&pg->sessions, key)))
		return 0;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return RV_ENOMEM;
	if ((err = rv__sessions_take(pg->hub, r, ps->owner_key))) {
		free(ps);
		return err;
	}
	ps->pg = pg;
	snprintf(ps->key, sizeof(ps->key), "%s", key);
	snprintf(ps->owner, sizeof(ps->owner), "%s", rv__request_owner(r));
	snprintf(ps->id, sizeof(ps->id), "%s", r->id);
	if (rv__idmap_put(&pg->sessions, ps->key, ps)) {
		rv__sessions_give(pg->hub, ps->owner_key);
		free(ps);
		return RV_ENOMEM;
	}
	/* other nodes' reports, while it lives here (a no-op alone) */
	if (rv__broker_progress_subscribe(pg->hub->broker, ps->owner, ps->id)) {
		rv__idmap_del(&pg->sessions, ps->key);
		rv__sessions_give(pg->hub, ps->owner_key);
		free(ps);
		return RV_ENOMEM;
	}
	pg->hub->metrics.progress_sessions++;
	*out = ps;
	*made = true;
	return 0;
}

static void session_free(struct progress *pg, struct psession *ps)
{
	rv__broker_progress_unsubscribe(pg->hub->broker, ps->owner, ps->id);
	rv__idmap_del(&pg->sessions, ps->key);
	rv__sessions_give(pg->hub, ps->owner_key);
	pg->hub->metrics.progress_sessions--;
	free(ps);
}

/* rec (read from the store, or another node's) becomes ps's latest
 * unless ps holds a newer one (server_time: the nodes' clocks agree to
 * a few ms, docs/architecture.md). A session's first report is sent to
 * its connections at once and starts their ticks; a later one shows in
 * their next tick. */
static void adopt(struct psession *ps, const struct rv_progress_rec *rec)
{
	struct progress_conn *pc;
	bool first = !ps->has_report;

	if (!first && rec->server_time < ps->rec.server_time)
		return;
	ps->rec = *rec;
	ps->has_report = true;
	if (first)
		RV__LIST_FOREACH(pc, &ps->subs, ) {
			send_progress(rv__conn_of_ep(pc), ps);
			start_ticks(ps->pg, pc);
		}
}

/* The store's answer for a session: at its start, its connections get
 * their first progress; read again (cluster mode), what another node
 * committed meanwhile. A report that came in meanwhile and is newer wins.
 * A session whose connections all left while it was read goes now. */
static void session_read(void *arg, int err, const struct rv__store_item *it)
{
	struct psession *ps = arg;

	ps->reads--;
	if (RV__LIST_EMPTY(&ps->subs)) {
		if (!ps->reads)
			session_free(ps->pg, ps);
		return;
	}
	if (!err)
		adopt(ps, &it->rec);
}

/* The psession of (owner, session), NULL when none lives here. */
static struct psession *session_find(struct progress *pg, const char *owner,
				     const char *session)
{
	char key[RV__SESSION_KEY_MAX];

	rv__session_key(owner, session, key);
	return rv__idmap_get(&pg->sessions, key);
}

/* Another node committed rec (broker.h's on_progress). */
static void remote_report(void *user, const struct rv_progress_rec *rec)
{
	struct psession *ps = session_find(user, rec->owner, rec->session_id);

	if (ps)
		adopt(ps, rec);
}

/* Redis confirmed the session's channel: every report committed from now
 * on reaches us; one committed before (since the session's first read,
 * or while Redis was away) is in the store. */
static void remote_subscribed(void *user, const char *owner, const char *session)
{
	struct progress *pg = user;
	struct psession *ps = session_find(pg, owner, session);

	if (!ps || !pg->hub->writer)
		return;
	ps->reads++;
	rv__store_writer_read(pg->hub->writer, RV__STORE_ITEM_PROGRESS, ps->owner, ps->id,
			      session_read, ps);
}

static int progress_open(void *state, struct rv__conn *c, const struct rv__request *r)
{
	struct progress *pg = state;
	const struct progress_args *a = (const void *)r->args.bytes;
	struct progress_conn *pc = rv__conn_ep(c);
	struct psession *ps;
	bool made;
	int err = session_get(pg, r, &ps, &made);

	if (err)
		return err;
	pc->ps = ps;
	pc->interval_ms = a->has_interval ? a->interval_ms : INTERVAL_DEFAULT_MS;
	RV__LIST_PREPEND(&ps->subs, pc, );
	if (made && pg->hub->writer) {
		/* the answer may come before this returns (SQLite) */
		ps->reads++;
		rv__store_writer_read(pg->hub->writer, RV__STORE_ITEM_PROGRESS, ps->owner,
				      ps->id, session_read, ps);
	} else if (ps->has_report) {
		send_progress(c, ps);
		start_ticks(pg, pc);
	}
	return 0;
}

static void progress_close(void *state, struct rv__conn *c)
{
	struct progress *pg = state;
	struct progress_conn *pc = rv__conn_ep(c);
	struct psession *ps = pc->ps;

	if (!ps)
		return;
	ev_timer_stop(pg->hub->loop, &pc->tick);
	if (pg->hub->writer)
		rv__store_writer_forget(pg->hub->writer, c);
	RV__LIST_REMOVE(&ps->subs, pc, );
	pc->ps = NULL;
	/* Pending writes carry their own copy of the report, so the session
	 * can go as soon as nobody listens; the store keeps the rest. A read
	 * in flight still points at it: its answer frees it. */
	if (RV__LIST_EMPTY(&ps->subs) && !ps->reads)
		session_free(pg, ps);
}

/* Answer a report the store could not take: not stored, so never acked;
 * the connection stays open and the client sends it again later. */
static void refuse(struct rv__conn *c, bool has_id, const char *id)
{
	struct rv_proto_error e;

	rv_proto_error_set(&e, RV_ERR_STORE_UNAVAILABLE, "progress", has_id ? id : NULL,
			   "the store cannot take reports now; this one was not stored:"
			   " send it again later");
	rv__conn_send_error(c, &e);
}

/* The writer's answer for one report, on the loop: acked only once its
 * batch is committed; refused when the batch was rolled back. */
static void report_done(void *arg, const struct rv__store_item *it, int err)
{
	struct progress *pg = arg;

	/* committed: the other nodes' connections of the session follow */
	if (!err)
		rv__broker_progress_publish(pg->hub->broker, &it->rec);
	if (!it->c)
		return;
	if (err)
		refuse(it->c, it->has_id, it->id);
	else if (it->has_id)
		rv__conn_ack(it->c, it->id);
}

/* Hand the report to the writer. Without a store it is acked at once
 * (nothing to wait for); with more waiting than the writer takes
 * (RV__STORE_BACKLOG_MAX, a stuck store) it is refused at once. */
static int store_report(struct progress *pg, struct rv__conn *c, const char *id,
			const struct rv_progress_rec *rec, bool first)
{
	struct rv__store_item it;
	int err;

	if (!pg->hub->writer) {
		rv__broker_progress_publish(pg->hub->broker, rec);
		if (id)
			rv__conn_ack(c, id);
		return 0;
	}
	memset(&it, 0, sizeof(it));
	it.kind = RV__STORE_ITEM_PROGRESS;
	it.rec = *rec;
	it.new_session = first;
	it.c = c;
	it.has_id = id != NULL;
	if (id)
		snprintf(it.id, sizeof(it.id), "%s", id);
	err = rv__store_writer_add(pg->hub->writer, &it);
	if (err == RV_EFULL) {
		rv__store_watch_failed(pg->hub, RV_STORE_OP_WRITE_PROGRESS, "1 report",
				       "the store writer's backlog is full");
		pg->hub->metrics.progress_refused++;
		refuse(c, it.has_id, it.id);
		return 0;
	}
	return err;
}

static void progress_message(void *state, struct rv__conn *c, const struct rv_msg *m,
			     double now)
{
	struct progress *pg = state;
	struct progress_conn *pc = rv__conn_ep(c), *o;
	struct psession *ps = pc->ps;
	struct rv_progress_rec rec;
	bool first;

	if (m->type != RV_MSG_PROGRESS) {
		rv__conn_send_unused(c, m);
		return;
	}
	memset(&rec, 0, sizeof(rec));
	snprintf(rec.owner, sizeof(rec.owner), "%s", ps->owner);
	snprintf(rec.session_id, sizeof(rec.session_id), "%s", ps->id);
	snprintf(rec.media_id, sizeof(rec.media_id), "%s", m->u.progress.media_id);
	rec.position = m->u.progress.position;
	rec.has_duration = m->u.progress.has_duration;
	rec.duration = m->u.progress.duration;
	rec.playing = m->u.progress.playing;
	rec.server_time = now;
	/* The session's first report, when the store had none for it at
	 * open, is the only one that can add a session to the store. */
	first = !ps->has_report;
	if (store_report(pg, c, m->id, &rec, first)) {
		rv__conn_request_close(c, 1011, "out of memory");
		return;
	}
	/* Every later tick reflects this report, acked or about to be. */
	ps->rec = rec;
	ps->has_report = true;
	if (first)
		RV__LIST_FOREACH(o, &ps->subs, )
			start_ticks(pg, o);
}

const struct rv__endpoint rv__ep_progress = {
	.name = "progress",
	.path = "/ws/progress",
	.conn_size = sizeof(struct progress_conn),
	.scope = RV_TOKEN_SCOPE_SESSION,
	.start = progress_start,
	.stop = progress_stop,
	.query = progress_query,
	.admit = progress_admit,
	.open = progress_open,
	.message = progress_message,
	.close = progress_close,
};
