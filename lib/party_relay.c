/* lib/party_relay.c - a party's messages between nodes (see
 * party_relay.h): the envelope goes out once per message, whatever the
 * number of members, and comes in as one frame shared by every local
 * member (encode once, frame once, on each node). */
#include "party_relay.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"

#include "broker.h"
#include "conn.h"
#include "idmap.h"
#include "relay.h"

void rv__party_relay_out(struct rv__hub *hub, const struct rv_party *p,
			 const struct rv_action *a)
{
	struct rv__relay_msg m = { 0 };
	struct rv_frame *f = a->frame;
	char *buf;
	size_t len;

	if (!hub->broker || !hub->broker->cluster || !f ||
	    (a->target != RV_TO_ALL && a->target != RV_TO_ALL_BUT))
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
	if (m.kind == RV__RELAY_REACTION)
		rv__broker_publish(hub->broker, rv_party_id(p), buf, len);
	else
		rv__broker_publish_kept(hub->broker, rv_party_id(p),
					m.kind == RV__RELAY_SYNC ? RV__KEPT_STATE :
					m.kind == RV__RELAY_CHAT ? RV__KEPT_CHAT :
					rv_party_media_url(p) ? RV__KEPT_MEDIA : RV__KEPT_MEDIA_NONE,
					buf, len, hub->cfg->history);
	free(buf);
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
				    const char *data, size_t len)
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
			     struct rv_outbox *ob)
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
		if (e[i].m.node != hub->broker->node && !rv_party_find(p, e[i].id))
			rv_party_join_remote(p, e[i].id, e[i].m.name, e[i].m.may_host, now, NULL, ob);
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
}
