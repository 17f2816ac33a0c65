/* lib/party_relay.c - a party's messages between nodes (see
 * party_relay.h): the envelope goes out once per message, whatever the
 * number of members, and comes in as one frame shared by every local
 * member (encode once, frame once, on each node). */
#include "party_relay.h"

#include <stdlib.h>

#include "revenge/log.h"

#include "broker.h"
#include "conn.h"
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
	rv__broker_publish(hub->broker, rv_party_id(p), buf, len);
	free(buf);
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
