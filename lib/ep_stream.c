/* lib/ep_stream.c - the /ws/stream/{session_id} endpoint: quality
 * switching for one playback session.
 *
 * Each session has a current profile (restored from the store on first
 * connect, else the ladder's initial one; the read is asynchronous, and
 * quality_state goes out when it is answered, at once with SQLite) and a suggester (quality.c) fed by
 * bandwidth reports. A suggestion only advises; the profile changes when a
 * client sends quality_request, and that change is stored so a reconnect
 * resumes it.
 *
 * In cluster mode (broker.h) a session with connections here is subscribed
 * to its quality channel: a profile change made here is published there
 * (one message a change), and another node's change to a profile of this
 * node's ladder becomes the session's here, its connections told with
 * quality_changed as the session's other connections on the node where it
 * was made are.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"

#include "broker.h"
#include "conn.h"
#include "endpoint.h"
#include "idmap.h"
#include "list.h"
#include "sessions.h"
#include "store_watch.h"
#include "store_writer.h"

struct stream_conn;

struct streams;

struct ssession {
	struct streams *st;
	bool reading;                 /* the store's read is not answered yet */
	bool chosen;                  /* a quality_request set the profile */
	char key[RV__SESSION_KEY_MAX];    /* in the table: owner and id */
	char owner_key[RV__OWNER_KEY_MAX]; /* counted under it (sessions.h) */
	char owner[RV_STORE_OWNER_MAX + 1];
	char id[RV_ID_MAX + 1];
	int profile;                  /* index into the ladder */
	struct rv_quality q;
	RV__LIST(struct stream_conn) conns;
};

/* Per connection. */
struct stream_conn {
	struct ssession *ss;
	struct stream_conn *prev, *next; /* the session's connections */
};

struct streams {
	struct rv__hub *hub;
	struct rv__idmap sessions;
};

static void remote_quality(void *user, const char *owner, const char *session,
			   const char *profile);

static int streams_start(struct rv__hub *hub, void **state)
{
	struct streams *st = calloc(1, sizeof(*st));

	if (!st || rv__idmap_init(&st->sessions)) {
		free(st);
		return RV_ENOMEM;
	}
	st->hub = hub;
	if (hub->broker) {
		hub->broker->on_quality = remote_quality;
		hub->broker->quality_user = st;
	}
	*state = st;
	return 0;
}

static void streams_stop(void *state)
{
	struct streams *st = state;

	if (!st)
		return;
	if (st->hub->broker)
		st->hub->broker->on_quality = NULL;
	rv__idmap_free(&st->sessions, free);
	free(st);
}

/* A new session past --max-sessions or --max-sessions-per-owner is
 * refused at the handshake; joining a live one always fits. */
static int stream_admit(void *state, const struct rv__request *r, char *why, size_t why_len,
			  unsigned *retry_s)
{
	struct streams *st = state;
	char key[RV__SESSION_KEY_MAX];

	rv__request_session_key(r, key);
	if (rv__idmap_get(&st->sessions, key))
		return 0;
	return rv__sessions_admit(st->hub, r, why, why_len);
}

/* r's session, made if need be, into *out (*made: it is new): 0, RV_EFULL
 * at a session cap, RV_ENOMEM. */
static int session_get(struct streams *st, const struct rv__request *r, struct ssession **out,
		       bool *made)
{
	char key[RV__SESSION_KEY_MAX];
	struct ssession *ss;
	int err;

	rv__request_session_key(r, key);
	*made = false;
	if ((*out = rv__idmap_get(&st->sessions, key)))
		return 0;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return RV_ENOMEM;
	if ((err = rv__sessions_take(st->hub, r, ss->owner_key))) {
		free(ss);
		return err;
	}
	ss->st = st;
	snprintf(ss->key, sizeof(ss->key), "%s", key);
	snprintf(ss->owner, sizeof(ss->owner), "%s", rv__request_owner(r));
	snprintf(ss->id, sizeof(ss->id), "%s", r->id);
	rv_quality_init(&ss->q);
	ss->profile = rv_ladder_initial(&st->hub->cfg->ladder);
	if (rv__idmap_put(&st->sessions, ss->key, ss)) {
		rv__sessions_give(st->hub, ss->owner_key);
		free(ss);
		return RV_ENOMEM;
	}
	/* other nodes' changes, while it lives here (a no-op alone) */
	if (rv__broker_quality_subscribe(st->hub->broker, ss->owner, ss->id)) {
		rv__idmap_del(&st->sessions, ss->key);
		rv__sessions_give(st->hub, ss->owner_key);
		free(ss);
		return RV_ENOMEM;
	}
	st->hub->metrics.stream_sessions++;
	*out = ss;
	*made = true;
	return 0;
}

static void session_free(struct streams *st, struct ssession *ss)
{
	rv__broker_quality_unsubscribe(st->hub->broker, ss->owner, ss->id);
	rv__idmap_del(&st->sessions, ss->key);
	rv__sessions_give(st->hub, ss->owner_key);
	st->hub->metrics.stream_sessions--;
	free(ss);
}

static void send_state(struct streams *st, struct rv__conn *c, const struct ssession *ss)
{
	rv__conn_send_own(c, rv_proto_quality_state_frame(&st->hub->cfg->ladder, ss->profile,
							  rv__hub_now(st->hub)));
}

/* The store's answer for a new session: its connections, which joined
 * while it was read, get quality_state. A stored profile that the current
 * ladder no longer has falls back to the initial one; one chosen meanwhile
 * (quality_request) wins. */
static void session_read(void *arg, int err, const struct rv__store_item *it)
{
	struct ssession *ss = arg;
	struct streams *st = ss->st;
	struct stream_conn *sc;

	ss->reading = false;
	if (RV__LIST_EMPTY(&ss->conns)) {
		session_free(st, ss);
		return;
	}
	if (!err && !ss->chosen && rv_ladder_find(&st->hub->cfg->ladder, it->profile) >= 0)
		ss->profile = rv_ladder_find(&st->hub->cfg->ladder, it->profile);
	RV__LIST_FOREACH(sc, &ss->conns, )
		send_state(st, rv__conn_of_ep(sc), ss);
}

static int stream_open(void *state, struct rv__conn *c, const struct rv__request *r)
{
	struct streams *st = state;
	struct stream_conn *sc = rv__conn_ep(c);
	struct ssession *ss;
	bool made;
	int err = session_get(st, r, &ss, &made);

	if (err)
		return err;
	sc->ss = ss;
	RV__LIST_PREPEND(&ss->conns, sc, );
	if (made && st->hub->writer) {
		/* the answer may come before this returns (SQLite) */
		ss->reading = true;
		rv__store_writer_read(st->hub->writer, RV__STORE_ITEM_QUALITY, ss->owner, ss->id,
				      session_read, ss);
	} else if (!ss->reading) {
		send_state(st, c, ss);
	}
	return 0;
}

static void stream_close(void *state, struct rv__conn *c)
{
	struct streams *st = state;
	struct stream_conn *sc = rv__conn_ep(c);
	struct ssession *ss = sc->ss;

	if (!ss)
		return;
	RV__LIST_REMOVE(&ss->conns, sc, );
	sc->ss = NULL;
	/* A read in flight still points at the session: its answer frees it. */
	if (RV__LIST_EMPTY(&ss->conns) && !ss->reading)
		session_free(st, ss);
}

/* The session's profile becomes idx (a quality_request here, or another
 * node's): the suggester starts over, and its connections but skip get
 * quality_changed without an id (while the store's first read is in
 * flight too: its answer's quality_state then says the same, chosen
 * wins). */
static void profile_set(struct streams *st, struct ssession *ss, int idx,
			const struct stream_conn *skip, double now)
{
	const struct rv_ladder *l = &st->hub->cfg->ladder;
	struct stream_conn *o;
	struct rv_frame *f;

	ss->profile = idx;
	ss->chosen = true;
	rv_quality_changed(&ss->q);
	f = rv_proto_quality_frame(RV_MSG_QUALITY_CHANGED, &l->p[idx], now, NULL);
	if (f)
		RV__LIST_FOREACH(o, &ss->conns, )
			if (o != skip)
				rv__conn_send(rv__conn_of_ep(o), f);
	rv_frame_unref(f);
}

/* The ssession of (owner, session), NULL when none lives here. */
static struct ssession *session_find(struct streams *st, const char *owner,
				     const char *session)
{
	char key[RV__SESSION_KEY_MAX];

	rv__session_key(owner, session, key);
	return rv__idmap_get(&st->sessions, key);
}

/* Another node changed (owner, session)'s profile (broker.h's
 * on_quality): its connections here follow. A profile this node's ladder
 * does not have (nodes configured apart) is logged and left. */
static void remote_quality(void *user, const char *owner, const char *session,
			   const char *profile)
{
	struct streams *st = user;
	struct ssession *ss = session_find(st, owner, session);
	int idx;

	if (!ss)
		return;
	if ((idx = rv_ladder_find(&st->hub->cfg->ladder, profile)) < 0) {
		rv_log_kv(st->hub->log, RV_LOG_WARN, "relay_refused",
			  RV_LOG_FIELDS(RV_LOG_STR("session", session), RV_LOG_STR("owner", owner),
					RV_LOG_STR("profile", profile)),
			  "another node's quality change names no profile of this ladder");
		return;
	}
	profile_set(st, ss, idx, NULL, rv__hub_now(st->hub));
}

static void quality_request(struct streams *st, struct rv__conn *c, const struct rv_msg *m,
			    double now)
{
	const struct rv_ladder *l = &st->hub->cfg->ladder;
	struct stream_conn *sc = rv__conn_ep(c);
	struct ssession *ss = sc->ss;
	int idx = rv_ladder_find(l, m->u.quality_request.profile);
	struct rv_proto_error err;

	if (idx < 0) {
		rv_proto_error_set(&err, RV_ERR_UNKNOWN_PROFILE, "quality_request", m->id,
				   "no profile named \"%s\" in the ladder",
				   m->u.quality_request.profile);
		rv__conn_send_error(c, &err);
		return;
	}
	/* A profile the store cannot take still applies (see docs/protocol.md):
	 * the failure is counted and logged (store_writer.c), and lost at the
	 * next restart. The write goes to the writer's thread, like reports. */
	if (st->hub->writer) {
		struct rv__store_item it;

		memset(&it, 0, sizeof(it));
		it.kind = RV__STORE_ITEM_QUALITY;
		snprintf(it.rec.owner, sizeof(it.rec.owner), "%s", ss->owner);
		snprintf(it.rec.session_id, sizeof(it.rec.session_id), "%s", ss->id);
		snprintf(it.profile, sizeof(it.profile), "%s", l->p[idx].name);
		if (rv__store_writer_add(st->hub->writer, &it))
			rv__store_watch_failed(st->hub, RV_STORE_OP_WRITE_QUALITY, ss->id,
					       "the store writer's backlog is full");
	}
	/* The sender's copy is its direct reply and carries its id; the
	 * session's other connections learn of the change too, here and
	 * (cluster mode) on the other nodes; Redis away, here only. */
	rv__conn_send_own(c, rv_proto_quality_frame(RV_MSG_QUALITY_CHANGED, &l->p[idx], now, m->id));
	profile_set(st, ss, idx, sc, now);
	rv__broker_quality_publish(st->hub->broker, ss->owner, ss->id, l->p[idx].name);
}

static void bandwidth_report(struct streams *st, struct rv__conn *c, const struct rv_msg *m,
			     double now)
{
	const struct rv_ladder *l = &st->hub->cfg->ladder;
	struct stream_conn *sc = rv__conn_ep(c);
	struct ssession *ss = sc->ss;
	int sugg = rv_quality_report(&ss->q, l, ss->profile, m->u.bandwidth_report.kbps, now);

	if (sugg < 0) {
		if (m->id)
			rv__conn_ack(c, m->id);
		return;
	}
	/* Ladders are highest first: a smaller index is a step up. */
	st->hub->metrics.quality_suggestions[sugg < ss->profile ? 0 : 1]++;
	rv__conn_send_own(c, rv_proto_quality_frame(RV_MSG_QUALITY_SUGGESTION, &l->p[sugg], now,
						    m->id));
}

static void stream_message(void *state, struct rv__conn *c, const struct rv_msg *m, double now)
{
	switch (m->type) {
	case RV_MSG_QUALITY_REQUEST:
		quality_request(state, c, m, now);
		break;
	case RV_MSG_BANDWIDTH_REPORT:
		bandwidth_report(state, c, m, now);
		break;
	default:
		rv__conn_send_unused(c, m);
	}
}

const struct rv__endpoint rv__ep_stream = {
	.name = "stream",
	.path = "/ws/stream",
	.conn_size = sizeof(struct stream_conn),
	.scope = RV_TOKEN_SCOPE_SESSION,
	.start = streams_start,
	.stop = streams_stop,
	.query = NULL,
	.admit = stream_admit,
	.open = stream_open,
	.message = stream_message,
	.close = stream_close,
};
