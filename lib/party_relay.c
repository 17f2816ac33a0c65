/* lib/party_relay.c - a party's messages between nodes (see
 * party_relay.h): the envelope goes out once per message, whatever the
 * number of members, and comes in as one frame shared by every local
 * member (encode once, frame once, on each node). */
#include "party_relay.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"

#include "broker.h"
#include "conn.h"
#include "idmap.h"
#include "relay.h"

/* A drift report lists at most this many members (drift.h's
 * RV__DRIFT_REPORT_MAX, with room). */
#define RV__DRIFT_ENTRIES_MAX 256

void rv__party_relay_out(struct rv__hub *hub, const struct rv_party *p,
			 const struct rv_action *a)
{
	struct rv__relay_msg m = { 0 };
	struct rv_frame *f = a->frame;
	char *buf;
	size_t len;

	if (!hub->broker || !hub->broker->cluster || !f)
		return;
	/* the drift report of our members for a host on another node: its
	 * node takes the entries into its own report */
	if (a->target == RV_TO_ONE && a->member && a->member->remote &&
	    f->msg_type == RV_MSG_DRIFT) {
		m.kind = RV__RELAY_DRIFT;
		goto send;
	}
	if (a->target != RV_TO_ALL && a->target != RV_TO_ALL_BUT)
		return;
	switch (f->msg_type) {
	case RV_MSG_SYNC:
		m.kind = RV__RELAY_SYNC;
		m.state = *rv_party_state(p);
		break;
	case RV_MSG_CHAT:
		m.kind = RV__RELAY_CHAT;
		break;
	case RV_MSG_REACTION:
		m.kind = RV__RELAY_REACTION;
		break;
	case RV_MSG_MEDIA:
		/* what no node takes back is not sent (party.c's media is
		 * capped well below: this only bounds what Redis keeps) */
		if (f->len > RV__RELAY_MEDIA_FRAME_MAX)
			return;
		m.kind = RV__RELAY_MEDIA;
		break;
	default:
		return;
	}
send:
	m.node = hub->broker->node;
	m.frame = (const char *)rv_frame_data(f);
	m.frame_len = f->len;
	if (rv__relay_encode(&m, &buf, &len)) {
		hub->metrics.redis_dropped++;
		return;
	}
	/* a sync's state, a media and a chat are kept in Redis with the
	 * publish, for nodes that get their first member of the party later;
	 * a media that cleared the party's deletes the kept one */
	if (m.kind == RV__RELAY_REACTION || m.kind == RV__RELAY_DRIFT)
		rv__broker_publish(hub->broker, rv_party_id(p), buf, len);
	else
		rv__broker_publish_kept(hub->broker, rv_party_id(p),
					m.kind == RV__RELAY_SYNC ? RV__KEPT_STATE :
					m.kind == RV__RELAY_CHAT ? RV__KEPT_CHAT :
					rv_party_media_url(p) ? RV__KEPT_MEDIA : RV__KEPT_MEDIA_NONE,
					buf, len, hub->cfg->history);
	free(buf);
}

void rv__party_relay_waits(struct rv__hub *hub, const struct rv_party *p,
			   const struct rv_outbox *ob)
{
	struct rv__relay_msg m = { 0 };
	char *buf;
	size_t len;

	if (!ob->has_wait || !hub->broker || !hub->broker->cluster)
		return;
	m.node = hub->broker->node;
	m.kind = RV__RELAY_WAIT;
	m.deadline = ob->wait_deadline;
	m.dropped = ob->wait_dropped;
	if (ob->wait) {
		m.frame = (const char *)rv_frame_data(ob->wait);
		m.frame_len = ob->wait->len;
	}
	if (rv__relay_encode(&m, &buf, &len)) {
		hub->metrics.redis_dropped++;
		return;
	}
	rv__broker_publish(hub->broker, rv_party_id(p), buf, len);
	free(buf);
}

struct rv__wait_seen {
	struct rv__wait_seen *next;
	uint64_t node;
	size_t len;
	char data[];            /* the envelope, as received (it decoded) */
};

void rv__party_relay_seen_free(struct rv__waits_seen *seen)
{
	struct rv__wait_seen *w, *next;

	for (w = seen->first; w; w = next) {
		next = w->next;
		free(w);
	}
	seen->first = NULL;
	seen->n = 0;
}

/* Keep data as node's last wait (none when it says nothing to apply
 * again: no ids, no deadline); past RV__WAITS_SEEN_MAX nodes the oldest
 * kept is forgotten. Out of memory: the old one is forgotten too. */
static void seen_put(struct rv__waits_seen *seen, uint64_t node, const char *data, size_t len,
		     bool keep)
{
	struct rv__wait_seen **pw, *w = NULL, *last = NULL;

	for (pw = &seen->first; *pw; pw = &(*pw)->next)
		if ((*pw)->node == node) {
			w = *pw;
			*pw = w->next;
			free(w);
			seen->n--;
			break;
		}
	if (!keep || !(w = malloc(sizeof(*w) + len)))
		return;
	w->node = node;
	w->len = len;
	memcpy(w->data, data, len);
	w->next = seen->first;
	seen->first = w;
	if (++seen->n > RV__WAITS_SEEN_MAX) {
		for (pw = &seen->first; (*pw)->next; pw = &(*pw)->next)
			;
		last = *pw;
		*pw = NULL;
		free(last);
		seen->n--;
	}
}

static struct rv_frame *wait_in(struct rv__hub *hub, struct rv_party *p,
				struct rv__waits_seen *seen, const struct rv__relay_msg *m,
				const char *data, size_t len, struct rv_outbox *ob)
{
	struct rv_party_waits w = { .node = m->node, .ids = m->frame, .len = m->frame_len,
				    .deadline = m->deadline, .dropped = m->dropped };

	seen_put(seen, m->node, data, len, m->n_ids || isfinite(m->deadline));
	rv_party_remote_waits(p, &w, rv__hub_now(hub), ob);
	hub->metrics.redis_received++;
	return NULL;
}

/* The waits seen applied again, after members joined or left: a drop is
 * not decided twice; the waits of a node with no member here any more
 * are forgotten. */
static void seen_again(struct rv__hub *hub, struct rv_party *p, struct rv__waits_seen *seen,
		       struct rv_outbox *ob)
{
	struct rv__wait_seen **pw = &seen->first, *w;
	struct rv__relay_msg m;

	while ((w = *pw)) {
		const struct rv_member *mb = rv_party_first(p);

		while (mb && !(mb->remote && mb->node == w->node))
			mb = mb->next;
		if (!mb || rv__relay_decode(w->data, w->len, &m)) {
			*pw = w->next;
			free(w);
			seen->n--;
			continue;
		}
		struct rv_party_waits again = { .node = m.node, .ids = m.frame, .len = m.frame_len,
					      .deadline = m.deadline };

		rv_party_remote_waits(p, &again, rv__hub_now(hub), ob);
		pw = &w->next;
	}
}

/* One entry of another node's drift report, {id, drift_ms, buffering,
 * clock_error_ms}: 0 with the member (a remote one of node) and its
 * numbers, 1 for a member not known here (skipped), -1 malformed. */
static int drift_entry(struct rv_party *p, uint64_t node, json_t *e, struct rv_member **m,
		       bool *buffering, double *drift, double *err)
{
	json_t *id = json_object_get(e, "id"), *d = json_object_get(e, "drift_ms");
	json_t *b = json_object_get(e, "buffering"), *c = json_object_get(e, "clock_error_ms");

	if (!json_is_string(id) || !rv__relay_member_id_ok(json_string_value(id),
							    json_string_length(id)) ||
	    json_string_length(id) != strlen(json_string_value(id)) || !json_is_boolean(b) ||
	    !(json_is_null(d) || json_is_number(d)) || !(json_is_null(c) || json_is_number(c)))
		return -1;
	*buffering = json_is_true(b);
	*drift = json_is_number(d) ? json_number_value(d) : NAN;
	*err = json_is_number(c) ? json_number_value(c) : NAN;
	if ((!*buffering && !isfinite(*drift)) || (!isnan(*err) && !(*err >= 0 && isfinite(*err))))
		return -1;
	*m = rv_party_find(p, json_string_value(id));
	return *m && (*m)->remote && (*m)->node == node ? 0 : 1;
}

/* Another node's drift report of its members (for our host): each entry
 * of a remote member of that node taken as its drift. Malformed: logged,
 * nothing taken. */
static struct rv_frame *drift_in(struct rv__hub *hub, struct rv_party *p,
				 const struct rv__relay_msg *m)
{
	json_t *root = json_loadb(m->frame, m->frame_len, JSON_REJECT_DUPLICATES, NULL);
	json_t *list = json_object_get(json_object_get(root, "payload"), "members");
	double now = rv__hub_now(hub);
	size_t i, n = json_array_size(list);
	int bad = !json_is_array(list) || n > RV__DRIFT_ENTRIES_MAX;

	/* all checked first (pass 0), then taken (pass 1) */
	for (int pass = 0; pass < 2 && !bad; pass++)
		for (i = 0; !bad && i < n; i++) {
			struct rv_member *mb;
			bool buffering;
			double drift, err;
			int rc = drift_entry(p, m->node, json_array_get(list, i), &mb, &buffering,
					     &drift, &err);

			if (rc < 0)
				bad = 1;
			else if (pass && !rc)
				rv_party_remote_drift(p, mb, buffering, drift, err, now);
		}
	json_decref(root);
	if (bad)
		rv_log(hub->log, RV_LOG_WARN, "relay_refused",
		       "party=%s: a malformed drift report (%zu bytes) from Redis", rv_party_id(p),
		       m->frame_len);
	else
		hub->metrics.redis_received++;
	return NULL;
}

/* A media frame's payload (another node's host's) made p's media, checked
 * as a client's would be: 0, or RV_EINVAL (p unchanged) for a frame no
 * host could have sent (over RV__RELAY_MEDIA_FRAME_MAX included). */
static int media_take(struct rv_party *p, const char *frame, size_t len)
{
	json_t *root, *pl, *url, *title;
	int rc = RV_EINVAL;

	if (len > RV__RELAY_MEDIA_FRAME_MAX)
		return RV_EINVAL;
	root = json_loadb(frame, len, JSON_REJECT_DUPLICATES, NULL);
	pl = json_object_get(root, "payload");
	url = json_object_get(pl, "url");
	title = json_object_get(pl, "title");
	if (json_is_null(url))
		rc = rv_party_set_media(p, NULL, NULL);
	else if (json_is_string(url) && (!title || json_is_string(title)) &&
		 strlen(json_string_value(url)) == json_string_length(url) &&
		 (!title || strlen(json_string_value(title)) == json_string_length(title)))
		rc = rv_party_set_media(p, json_string_value(url),
					title ? json_string_value(title) : NULL);
	json_decref(root);
	return rc;
}

/* Another node's host chose the media: it becomes this party's
 * (media_take), and the frame goes to the members here. NULL, logged, for
 * a payload no host could have sent. */
static struct rv_frame *media_in(struct rv__hub *hub, struct rv_party *p,
				 const struct rv__relay_msg *m)
{
	struct rv_frame *f = NULL;

	if (media_take(p, m->frame, m->frame_len)) {
		rv_log(hub->log, RV_LOG_WARN, "relay_refused",
		       "party=%s: a media no host could have chosen (%zu bytes) from Redis",
		       rv_party_id(p), m->frame_len);
		return NULL;
	}
	if ((f = rv_frame_from(m->frame, m->frame_len, RV_FRAME_EVENT)))
		f->msg_type = RV_MSG_MEDIA;
	hub->metrics.redis_received++;
	return f;
}

struct rv_frame *rv__party_relay_in(struct rv__hub *hub, struct rv_party *p,
				    struct rv__waits_seen *seen, const char *data, size_t len,
				    struct rv_outbox *ob)
{
	struct rv__relay_msg m;
	struct rv_frame *f;

	if (rv__relay_decode(data, len, &m)) {
		rv_log(hub->log, RV_LOG_WARN, "relay_refused",
		       "party=%s: a malformed envelope (%zu bytes) from Redis", rv_party_id(p), len);
		return NULL;
	}
	if (m.node == hub->broker->node)
		return NULL;
	if (m.kind == RV__RELAY_MEDIA)
		return media_in(hub, p, &m);
	if (m.kind == RV__RELAY_WAIT)
		return wait_in(hub, p, seen, &m, data, len, ob);
	if (m.kind == RV__RELAY_DRIFT)
		return drift_in(hub, p, &m);
	f = rv_frame_from(m.frame, m.frame_len,
			  m.kind == RV__RELAY_SYNC ? RV_FRAME_STATE : RV_FRAME_EVENT);
	if (!f)
		return NULL;
	f->msg_type = m.kind == RV__RELAY_SYNC ? RV_MSG_SYNC :
		      m.kind == RV__RELAY_CHAT ? RV_MSG_CHAT : RV_MSG_REACTION;
	rv_party_apply_remote(p, m.kind == RV__RELAY_SYNC ? &m.state : NULL,
			      m.kind == RV__RELAY_CHAT ? f : NULL, rv__hub_now(hub));
	hub->metrics.redis_received++;
	return f;
}

/* A kept envelope of kind want (any node's, this one's too) decoded into
 * *m: 0, or -1 logged when malformed. */
static int kept(struct rv__hub *hub, const struct rv_party *p, const char *data, size_t len,
		enum rv__relay_kind want, struct rv__relay_msg *m)
{
	if (!rv__relay_decode(data, len, m) && m->kind == want)
		return 0;
	rv_log(hub->log, RV_LOG_WARN, "relay_refused",
	       "party=%s: a malformed kept %s (%zu bytes) in Redis", rv_party_id(p),
	       want == RV__RELAY_SYNC ? "state" : want == RV__RELAY_MEDIA ? "media" : "chat",
	       len);
	return -1;
}

void rv__party_relay_recalled(struct rv__hub *hub, struct rv_party *p,
			      const struct rv__broker_recalled *r)
{
	struct rv__relay_msg m;
	struct rv_frame *f;
	double now = rv__hub_now(hub);

	/* relayed syncs are not taken while the party recalls (ep_party.c) */
	if (r->state && !kept(hub, p, r->state, r->state_len, RV__RELAY_SYNC, &m))
		rv_party_apply_remote(p, &m.state, NULL, now);
	if (r->media && !kept(hub, p, r->media, r->media_len, RV__RELAY_MEDIA, &m) &&
	    media_take(p, m.frame, m.frame_len))
		rv_log(hub->log, RV_LOG_WARN, "relay_refused",
		       "party=%s: a kept media no host could have chosen (%zu bytes) in Redis",
		       rv_party_id(p), r->media_len);
	for (size_t i = 0; i < r->n; i++) {
		if (kept(hub, p, r->chat[i], r->chat_len[i], RV__RELAY_CHAT, &m) ||
		    !(f = rv_frame_from(m.frame, m.frame_len, RV_FRAME_EVENT)))
			continue;
		f->msg_type = RV_MSG_CHAT;
		rv_party_apply_remote(p, NULL, f, now);
		rv_frame_unref(f);
	}
}

struct entry {
	char id[RV_MEMBER_ID_MAX + 1];
	struct rv__relay_member m;
};

static int by_seq(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	return x->m.seq < y->m.seq ? -1 : x->m.seq > y->m.seq;
}

void rv__party_relay_members(struct rv__hub *hub, struct rv_party *p,
			     const struct rv__broker_members *r, bool take_host,
			     struct rv__waits_seen *seen, struct rv_outbox *ob)
{
	double now = rv__hub_now(hub);
	struct entry *e = r->n ? calloc(r->n, sizeof(*e)) : NULL;
	struct rv__idmap ids;
	struct rv_member *m, *next;
	char host[RV_MEMBER_ID_MAX + 1] = "";
	size_t n = 0;

	if ((r->n && !e) || rv__idmap_init(&ids)) {
		free(e);
		return;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (!rv__relay_member_id_ok(r->id[i], r->id_len[i]) ||
		    rv__relay_member_decode(r->entry[i], r->entry_len[i], &e[n].m))
			continue;
		memcpy(e[n].id, r->id[i], r->id_len[i]);
		if (!rv__idmap_put(&ids, e[n].id, &e[n]))
			n++;
	}
	/* joins in the cluster's order, so the list is too as far as it can */
	if (n)
		qsort(e, n, sizeof(*e), by_seq);
	for (size_t i = 0; i < n; i++)
		if (e[i].m.node != hub->broker->node && !rv_party_find(p, e[i].id) &&
		    !rv_party_join_remote(p, e[i].id, e[i].m.name, e[i].m.may_host, now, &m, ob))
			m->node = e[i].m.node;
	/* qsort moved the entries: the map's values are stale, its keys not */
	if (r->host && rv__relay_member_id_ok(r->host, r->host_len)) {
		memcpy(host, r->host, r->host_len);
		host[r->host_len] = 0;
	}
	if (take_host && (m = host[0] ? rv_party_find(p, host) : NULL) && m->may_host)
		rv_party_set_host(p, m, now, ob);
	for (m = rv_party_first(p); m; m = next) {
		next = m->next;
		if (m->remote && !rv__idmap_get(&ids, m->id))
			rv_party_leave(p, m, now, ob);
	}
	rv__idmap_free(&ids, NULL);
	free(e);
	seen_again(hub, p, seen, ob);
}
