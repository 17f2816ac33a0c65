/* lib/party_relay.h - internal: a party's messages between nodes (cluster
 * mode): which of them other nodes' members must see, sent once through
 * the broker in an envelope (relay.h), and what one received does here. */
#ifndef REVENGE_PARTY_RELAY_H
#define REVENGE_PARTY_RELAY_H

#include <stddef.h>

#include "revenge/party.h"

#include "broker.h"

struct rv__hub;

/* The last `wait` envelope of each other node (cluster mode, the waiting
 * room), kept per party: one naming members this node does not know yet
 * (the read of their join still in flight) is applied again once they
 * joined (rv__party_relay_members). At most RV__WAITS_SEEN_MAX nodes;
 * zeroed is empty; rv__party_relay_seen_free frees it. */
#define RV__WAITS_SEEN_MAX 16
struct rv__waits_seen {
	struct rv__wait_seen *first;
	unsigned n;
};
void rv__party_relay_seen_free(struct rv__waits_seen *seen);

/* Publish what ob says of the waiting room (ob->has_wait) as p's `wait`
 * envelope: once per event, whatever the number of members. */
void rv__party_relay_waits(struct rv__hub *hub, const struct rv_party *p,
			   const struct rv_outbox *ob);

/* Publish a's frame when it is the party-wide copy (to all, or all but
 * the sender) of a sync, a chat, a reaction or a media (kept in Redis but
 * for the reaction: broker.h's publish_kept); anything else (replies,
 * membership, the waiting room's own messages) stays on this node. */
void rv__party_relay_out(struct rv__hub *hub, const struct rv_party *p,
			 const struct rv_action *a);

/* Another node's envelope for p: applied to p (rv_party_apply_remote) and
 * returned as a frame for every local member (the caller's reference), or
 * NULL when it is this node's own, malformed (logged) or out of memory. A
 * `wait` is applied to p's waiting room (rv_party_remote_waits, what the
 * members here must hear in ob), kept in seen, and returns NULL. */
struct rv_frame *rv__party_relay_in(struct rv__hub *hub, struct rv_party *p,
				    struct rv__waits_seen *seen, const char *data, size_t len,
				    struct rv_outbox *ob);

/* What Redis kept for p (broker.h's recall), made p's own before its first
 * local member is welcomed: the kept state, media and chat history, oldest
 * first (capped by the party's own history); what was relayed while the
 * recall was in flight is the caller's to apply after (ep_party.c).
 * Malformed entries are logged and skipped. */
void rv__party_relay_recalled(struct rv__hub *hub, struct rv_party *p,
			      const struct rv__broker_recalled *r);

/* The party's members as Redis holds them (broker.h's members), made p's
 * own: members of other nodes it does not have join (remote), remote ones
 * Redis no longer has leave (a node's leave or its lease's end), in
 * between the cluster's host is set, unless host is false (the answer is
 * older than a step still in flight: its host may be one this node has
 * just handed over from); what the members here must hear goes to ob.
 * This node's own entries are its own members: skipped. Malformed
 * entries are skipped. The waits seen are applied again (the members who
 * just joined may be in them), those of nodes with no member left
 * forgotten. */
void rv__party_relay_members(struct rv__hub *hub, struct rv_party *p,
			     const struct rv__broker_members *r, bool host,
			     struct rv__waits_seen *seen, struct rv_outbox *ob);

#endif
