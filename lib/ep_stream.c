/* lib/ep_stream.c - the /ws/stream/{session_id} endpoint: quality
 * switching for one playback session.
 *
 * Each session has a current profile (restored from the store on first
 * connect, else the ladder's initial one) and a suggester (quality.c) fed by
 * bandwidth reports. A suggestion only advises; the profile changes when a
 * client sends quality_request, and that change is stored so a reconnect
 * resumes it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"

#include "idmap.h"
#include "server_int.h"

struct rv__ssession {
	char id[RV_ID_MAX + 1];
	int profile;                  /* index into the ladder */
	struct rv_quality q;
	struct rv__conn *conns;
};

struct rv__streams {
	struct rv__idmap sessions;
};

int rv__streams_new(struct rv__server *s)
{
	struct rv__streams *st = calloc(1, sizeof(*st));

	if (!st || rv__idmap_init(&st->sessions)) {
		free(st);
		return RV_ENOMEM;
	}
	s->streams = st;
	return 0;
}

void rv__streams_free(struct rv__server *s)
{
	if (!s->streams)
		return;
	rv__idmap_free(&s->streams->sessions, free);
	free(s->streams);
	s->streams = NULL;
}

static struct rv__ssession *session_get(struct rv__server *s, const char *id)
{
	const struct rv_ladder *l = &s->cfg->ladder;
	struct rv__ssession *ss = rv__idmap_get(&s->streams->sessions, id);
	char name[RV_PROFILE_NAME_MAX + 1];

	if (ss)
		return ss;
	ss = calloc(1, sizeof(*ss));
	if (!ss)
		return NULL;
	snprintf(ss->id, sizeof(ss->id), "%s", id);
	rv_quality_init(&ss->q);
	ss->profile = rv_ladder_initial(l);
	/* A stored profile that the current ladder no longer has falls back
	 * to the initial one. */
	if (s->store && rv_store_get_quality(s->store, id, name, sizeof(name)) == 0 &&
	    rv_ladder_find(l, name) >= 0)
		ss->profile = rv_ladder_find(l, name);
	if (rv__idmap_put(&s->streams->sessions, id, ss)) {
		free(ss);
		return NULL;
	}
	return ss;
}

static int stream_open(struct rv__server *s, struct rv__conn *c, const struct rv__request *r)
{
	struct rv__ssession *ss = session_get(s, r->id);

	if (!ss)
		return -1;
	c->u.stream.ss = ss;
	c->u.stream.next = ss->conns;
	if (ss->conns)
		ss->conns->u.stream.prev = c;
	ss->conns = c;
	rv__conn_send_own(c, rv_proto_quality_state_frame(&s->cfg->ladder, ss->profile,
							  rv__server_now(s)));
	return 0;
}

static void stream_close(struct rv__server *s, struct rv__conn *c)
{
	struct rv__ssession *ss = c->u.stream.ss;

	if (!ss)
		return;
	if (c->u.stream.prev)
		c->u.stream.prev->u.stream.next = c->u.stream.next;
	else
		ss->conns = c->u.stream.next;
	if (c->u.stream.next)
		c->u.stream.next->u.stream.prev = c->u.stream.prev;
	c->u.stream.ss = NULL;
	if (!ss->conns) {
		rv__idmap_del(&s->streams->sessions, ss->id);
		free(ss);
	}
}

static void quality_request(struct rv__server *s, struct rv__conn *c, const struct rv_msg *m,
			    double now)
{
	const struct rv_ladder *l = &s->cfg->ladder;
	struct rv__ssession *ss = c->u.stream.ss;
	int idx = rv_ladder_find(l, m->u.quality_request.profile);
	struct rv_proto_error err;
	struct rv_frame *f;

	if (idx < 0) {
		rv_proto_error_set(&err, RV_ERR_UNKNOWN_PROFILE, "quality_request", m->id,
				   "no profile named \"%s\" in the ladder",
				   m->u.quality_request.profile);
		rv__conn_send_error(c, &err);
		return;
	}
	ss->profile = idx;
	rv_quality_changed(&ss->q);
	if (s->store && rv_store_put_quality(s->store, ss->id, l->p[idx].name))
		rv_log(s->log, RV_LOG_ERROR, "store_write_failed", "quality of %s: %s", ss->id,
		       rv_store_last_error(s->store));
	/* The sender's copy is its direct reply and carries its id; the
	 * session's other connections learn of the change too. */
	rv__conn_send_own(c, rv_proto_quality_frame(RV_MSG_QUALITY_CHANGED, &l->p[idx], now, m->id));
	f = rv_proto_quality_frame(RV_MSG_QUALITY_CHANGED, &l->p[idx], now, NULL);
	for (struct rv__conn *o = ss->conns; f && o; o = o->u.stream.next)
		if (o != c)
			rv__conn_send(o, f);
	rv_frame_unref(f);
}

static void bandwidth_report(struct rv__server *s, struct rv__conn *c, const struct rv_msg *m,
			     double now)
{
	const struct rv_ladder *l = &s->cfg->ladder;
	struct rv__ssession *ss = c->u.stream.ss;
	int sugg = rv_quality_report(&ss->q, l, ss->profile, m->u.bandwidth_report.kbps, now);

	if (sugg < 0) {
		if (m->id)
			rv__conn_ack(c, m->id);
		return;
	}
	/* Ladders are highest first: a smaller index is a step up. */
	s->metrics.quality_suggestions[sugg < ss->profile ? 0 : 1]++;
	rv__conn_send_own(c, rv_proto_quality_frame(RV_MSG_QUALITY_SUGGESTION, &l->p[sugg], now,
						    m->id));
}

static void stream_message(struct rv__server *s, struct rv__conn *c, const struct rv_msg *m,
			   double now)
{
	struct rv_proto_error err;

	switch (m->type) {
	case RV_MSG_QUALITY_REQUEST:
		quality_request(s, c, m, now);
		break;
	case RV_MSG_BANDWIDTH_REPORT:
		bandwidth_report(s, c, m, now);
		break;
	default:
		rv_proto_error_set(&err, RV_ERR_UNKNOWN_TYPE, rv_msg_type_name(m->type), m->id,
				   "%s is not used on /ws/stream", rv_msg_type_name(m->type));
		rv__conn_send_error(c, &err);
	}
}

const struct rv__endpoint rv__ep_stream = {
	.prefix = "/ws/stream/",
	.ep = RV_EP_STREAM,
	.query = NULL,
	.open = stream_open,
	.message = stream_message,
	.close = stream_close,
};
