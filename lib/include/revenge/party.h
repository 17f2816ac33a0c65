/* revenge/party.h - the watch-party state machine (pure).
 *
 * A party owns its members (in join order, so the head is the longest
 * present), the host, the authoritative playback state and the chat history.
 * Each member either may host or is member-only (its connection token's
 * role). The host is one who may: the longest present of them unless the
 * host handed over. With no such member present the party has no host,
 * nobody can sync, and the playback state stays as it is until one joins.
 * Each event (join, leave, a decoded message) is applied with the current
 * server time passed in, and what must be sent is returned as actions in an
 * outbox: "frame F to member X", "to everyone", "to everyone but X". The
 * caller (the server adapter) delivers them and then clears the outbox.
 */
#ifndef REVENGE_PARTY_H
#define REVENGE_PARTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "frame.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RV_PARTY_HISTORY_DEFAULT 50
#define RV_MEMBER_ID_MAX 32

struct rv_party;

struct rv_member {
	char id[RV_MEMBER_ID_MAX + 1];
	char name[RV_NAME_MAX_BYTES + 1];
	double joined_at;             /* server time of the join */
	bool may_host;                /* false: member-only, never host */
	void *user;                   /* the adapter's connection, opaque here */
	struct rv_member *prev, *next; /* join order; owned by the party */
	/* H1 lead: the latest round trip measured to it (ms), NAN unknown */
	double rtt_ms;
	/* H2 barrier (lib/barrier.c): waited for when it buffers; its last
	 * word (buffering or ready); a `dropped` it is owed. */
	bool in_barrier;
	bool buffering;
	unsigned char drop_pending;
	/* H4 presence (presence.c): the join's place in the order of joins
	 * and leaves, and whether it is still in the unannounced batch. */
	uint64_t presence_seq;
	bool presence_new;
	/* H3 drift: the member's last `status` (lib/drift.c). drift_ms is its
	 * position minus the party's at the instant reported (ms, positive
	 * ahead), NAN while buffering (buffering, or its playing flag not the
	 * party's); drift_clock_error_ms its own clock error bound, NAN when
	 * not given. drift_has: a status was taken (the report's count). */
	bool drift_has;
	bool drift_buffering;
	double drift_ms;
	double drift_clock_error_ms;
	/* Cluster mode: a member on another node (rv_party_join_remote). It
	 * has no connection here (user NULL): the adapter delivers nothing
	 * to it; it is in the member list, the roster and host succession.
	 * node: its node's id (the adapter's, from Redis); wait_mark: the
	 * barrier's scratch (rv_party_remote_waits). */
	bool remote;
	bool wait_mark;
	uint64_t node;
};

struct rv_party_config {
	unsigned history_max;         /* chat messages kept; 0 keeps none */
	unsigned max_members;         /* 0 = unlimited */
	/* The party's budget: chat and reaction messages per second over all
	 * its members together, in bursts of up to chat_burst (a new party
	 * starts with the full burst); beyond it they are answered `error
	 * rate_limited` and not relayed. 0 = unlimited. */
	unsigned chat_rate;
	unsigned chat_burst;
	/* Joins per second, all joiners together, in bursts of up to
	 * join_burst (a new party starts with the full burst; its first join
	 * takes nothing), taken by rv_party_take_join. 0 = unlimited. */
	unsigned join_rate;
	unsigned join_burst;
	/* H1 lead: a host's sync takes effect lead ms after it is stamped,
	 * lead = clamp(2 x the highest recent member RTT, lead_min_ms,
	 * lead_max_ms) (lead_min_ms with no RTT known). lead_max_ms 0: not
	 * scheduled, the v1 behaviour (a zeroed config). */
	double lead_min_ms, lead_max_ms;
	/* H2 barrier: how long a held resume waits for members still
	 * buffering, begun while paused (first load) or by a stall mid-play;
	 * 0 = the defaults, 8000 and 3000. */
	double ready_timeout_ms, rebuffer_timeout_ms;
	/* H4 presence: above presence_batch_above members (0 = never) joins
	 * and leaves go out as batched `presence` diffs at most every
	 * presence_interval_ms, and a welcome lists a bounded roster. */
	unsigned presence_batch_above;
	double presence_interval_ms;
	/* H3 drift: the host gets a `drift` report at most this often (ms),
	 * when something changed; 0 = never (drift is still measured). */
	double drift_interval_ms;
	/* Cluster mode: this node tells the others its members' waits
	 * (rv_outbox.wait) and takes theirs (rv_party_remote_waits). */
	bool cluster;
};

enum rv_target {
	RV_TO_ONE,        /* member only */
	RV_TO_ALL,        /* every member */
	RV_TO_ALL_BUT,    /* every member except member */
	RV_TO_ALL_BEFORE, /* every member who joined before member */
};

struct rv_action {
	enum rv_target target;
	struct rv_member *member;
	struct rv_frame *frame;       /* owned by the outbox until cleared */
};

#define RV_OUTBOX_MAX 16

struct rv_outbox {
	struct rv_action items[RV_OUTBOX_MAX];
	unsigned n;
	int close_code;               /* nonzero: close the sender with this */
	enum rv_err_code error;       /* the error answered, RV_ERR_NONE if none */
	/* H2 barrier, for the adapter's counters: waits begun, members
	 * dropped by a ready or rebuffer timeout */
	unsigned waits_started, barrier_timeouts;
	/* H3 drift: a `status` counted, with its drift (ms), for the
	 * adapter's histogram. */
	bool has_drift;
	double drift_ms;
	/* Cluster mode: what the other nodes must learn of the waiting room
	 * (has_wait): this node's members waited for (wait: their ids
	 * separated by one space, NULL for none; owned until cleared), the
	 * held resume's deadline (INFINITY: none) and a drop of everyone
	 * waited for (a `dropped` reason code, 0: none). */
	bool has_wait;
	struct rv_frame *wait;
	double wait_deadline;
	unsigned wait_dropped;
};

/* Start empty. An outbox holds the actions of one event: deliver them and
 * clear it before applying the next event. */
void rv_outbox_init(struct rv_outbox *ob);
/* Drop every frame reference held and empty the outbox. */
void rv_outbox_clear(struct rv_outbox *ob);

/* New empty party (copies party_id, which must pass rv_proto_valid_id).
 * cfg may be NULL for defaults. Returns NULL on out-of-memory or a bad id.
 * Free with rv_party_free, which also frees its members. */
struct rv_party *rv_party_new(const char *party_id, const struct rv_party_config *cfg);
void rv_party_free(struct rv_party *p);

/* Accessors. What they return is borrowed from p: a member stays valid
 * until it leaves, the id and state as long as p. */
const char *rv_party_id(const struct rv_party *p);
size_t rv_party_size(const struct rv_party *p);
/* The name the next join that names nobody gets ("guest-N"), into buf of
 * len bytes (RV_NAME_MAX_BYTES + 1 fits it). */
void rv_party_next_guest_name(const struct rv_party *p, char *buf, size_t len);
struct rv_member *rv_party_first(const struct rv_party *p);   /* longest present */
/* Cluster mode: what another node's party decided, made this party's own
 * (the caller delivers the frame to the members itself): state, when not
 * NULL, becomes the playback state (the sync of a host elsewhere), chat,
 * when not NULL, joins the history (a reference is taken). */
void rv_party_apply_remote(struct rv_party *p, const struct rv_playback *state,
			   struct rv_frame *chat, double now_ms);

/* Cluster mode (the adapter's, from Redis): a member of another node,
 * added to the member list (remote, user NULL) without a welcome or a
 * barrier place; the members here get member_joined (or it waits for the
 * presence batch). It never takes the host by joining: the cluster's
 * election does (rv_party_set_host). 0, RV_EINVAL (a bad or present id, a
 * bad name), RV_ENOMEM. A remote member leaves with rv_party_leave. */
int rv_party_join_remote(struct rv_party *p, const char *member_id, const char *name,
			 bool may_host, double now_ms, struct rv_member **out,
			 struct rv_outbox *ob);
/* Cluster mode: another node's waiting room, as its `wait` envelope
 * says (relay.h, decoded and checked): node, its members waited for (ids,
 * len bytes of ids separated by one space; ids not of a remote member of
 * node are ignored), its held deadline (INFINITY: none) and its drop
 * (`dropped` reason code, 0: none; taken from the host's node only).
 * Party_state, a stall or the release of a held resume go to ob. */
struct rv_party_waits {
	uint64_t node;
	const char *ids;
	size_t len;
	double deadline;
	unsigned dropped;
};
void rv_party_remote_waits(struct rv_party *p, const struct rv_party_waits *w, double now_ms,
			   struct rv_outbox *ob);

/* Cluster mode: remote member m's drift as its own node measured it (a
 * `drift` report that node made for this host): buffering, or drift_ms
 * (finite); clock_error_ms NAN when none, else finite and >= 0. It joins
 * the host's next report here (rv_party_tick). 0, or RV_EINVAL (nothing
 * changed) for a member that is not remote or numbers no node sends. */
int rv_party_remote_drift(struct rv_party *p, struct rv_member *m, bool buffering,
			  double drift_ms, double clock_error_ms, double now_ms);

/* Cluster mode: the other nodes can (up) or cannot be heard (Redis away).
 * Down, the party waits for its own members only (the other nodes'
 * members' waits are forgotten: a resume held for them alone goes) and
 * decides for them as a party of one node would, whoever hosts; back up,
 * the host's node decides again and this node tells its waits again. */
void rv_party_cluster_up(struct rv_party *p, bool up, double now_ms, struct rv_outbox *ob);

/* Cluster mode: a node new to the party appeared; it has not heard this
 * node's waits: they are told again within the next party_state
 * interval (the party's timer, rv_party_next_deadline), when there are
 * any. */
void rv_party_waits_again(struct rv_party *p);

/* Cluster mode: the host the cluster elected (a present member who may
 * host, or NULL for none): host_changed to everyone when it changes.
 * RV_EINVAL, nothing changed, for a member who may not host. */
int rv_party_set_host(struct rv_party *p, struct rv_member *m, double now_ms,
		      struct rv_outbox *ob);

/* NULL when empty, or when no present member may host. */
struct rv_member *rv_party_host(const struct rv_party *p);
const struct rv_playback *rv_party_state(const struct rv_party *p);
size_t rv_party_history_len(const struct rv_party *p);
/* What the party watches (the host's `media`): the url, NULL when none,
 * and its title ("" when none given; NULL when no url). Borrowed from p
 * until the next rv_party_set_media or media message. */
const char *rv_party_media_url(const struct rv_party *p);
const char *rv_party_media_title(const struct rv_party *p);
/* Set the party's media without telling anyone (a party restored, or what
 * another node's host chose): url NULL clears it, title NULL is "".
 * 0, or RV_EINVAL (nothing changed) for a url that fails
 * rv_proto_valid_media_url or a title that fails rv_proto_valid_title.
 * Copies both. */
int rv_party_set_media(struct rv_party *p, const char *url, const char *title);

/* Add a member. member_id (unique, 1-32 bytes) is chosen by the caller; name
 * NULL or empty means "guest-<n>". may_host false makes the member
 * member-only: it is never host and cannot be handed the role. A joiner who
 * may host becomes host when the party has none (an empty party, or one of
 * member-only members); it then learns so from its welcome, and the members
 * already present get host_changed naming it.
 * Emits welcome to the joiner, member_joined to everyone else, then any
 * host_changed, and to a joiner of a waiting party its party_state. Returns 0 with *out set (owned by the party until
 * rv_party_leave), or RV_EFULL when max_members is reached, RV_EINVAL for a
 * bad id or name, RV_ENOMEM; on error nothing is emitted and p is as it was. */
int rv_party_join_as(struct rv_party *p, const char *member_id, const char *name,
		     bool may_host, void *user, double now_ms,
		     struct rv_member **out, struct rv_outbox *ob);
/* rv_party_join_as with more to say (--party-retention): */
struct rv_party_join {
	const char *member_id, *name;  /* as rv_party_join_as */
	bool may_host;
	void *user;
	/* NULL, or the joiner's resume token (borrowed), sent in its welcome
	 * as resume_token */
	const char *resume_token;
	/* a host coming back for the role within its grace: it becomes host
	 * even when the party has one (the others get host_changed) */
	bool reclaim_host;
};
int rv_party_join_ex(struct rv_party *p, const struct rv_party_join *j, double now_ms,
		     struct rv_member **out, struct rv_outbox *ob);

/* A party kept across a restart: before its first join, its playback
 * state (kept as given, server_time included: the caller extrapolates)
 * and its chat history, oldest first (a reference is taken of each; past
 * history_max the oldest are left out). 0, or RV_EINVAL once it started. */
int rv_party_restore(struct rv_party *p, const struct rv_playback *state,
		     struct rv_frame *const *hist, size_t n);
/* The i-th frame of the chat history, oldest first (borrowed), NULL past
 * the end (rv_party_history_len). */
struct rv_frame *rv_party_history_at(const struct rv_party *p, size_t i);

/* rv_party_join_as with may_host true, as every member joined before roles:
 * the first member of an empty party is host. */
int rv_party_join(struct rv_party *p, const char *member_id, const char *name,
		  void *user, double now_ms, struct rv_member **out,
		  struct rv_outbox *ob);

/* Admit one more join at now_ms under cfg.join_rate: true when it may
 * join (always with no join_rate, and before the party's first join),
 * taking one token; false when over the rate, with *wait_ms (may be NULL)
 * the time until a join would be admitted (INFINITY: never, a join_burst
 * of 0). Call it before rv_party_join_as, e.g. at the handshake. */
bool rv_party_take_join(struct rv_party *p, double now_ms, double *wait_ms);

/* Remove and free m (a member of p). Emits member_left to the others and, when m was host
 * and others remain, host_changed naming the longest-present member who may
 * host, or with a null host_id when none of them may (the party then has no
 * host). When the party waited for m alone, the wait ends: the held resume
 * goes out as a sync, and a party_state follows. */
void rv_party_leave(struct rv_party *p, struct rv_member *m, double now_ms,
		    struct rv_outbox *ob);

/* Apply a decoded message from m (a member of p): sync, chat, reaction
 * (over the party's budget: `error rate_limited`, after the payload checks),
 * transfer_host (to a member-only member: `error forbidden`), buffering,
 * ready and start (the waiting room, lib/barrier.c; start from a non-host:
 * `error forbidden`), media (host only, `error forbidden` otherwise: the
 * party's media, relayed to everyone), status (kept as the member's drift, answered only
 * with an ack when it has an id; a counted one sets ob->has_drift and
 * ob->drift_ms), members (a page of the roster, lib/presence.c). Any other
 * type
 * answers `error unknown_type` (`time` is answered by the server for every
 * endpoint, with its real read and write instants, before a message reaches
 * the party). Errors go to m only, with the request id echoed. Returns 0 when
 * applied, 1 when answered with an error. */
int rv_party_handle(struct rv_party *p, struct rv_member *m,
		    const struct rv_msg *msg, double now_ms, struct rv_outbox *ob);

/* The party's own timers. Some of what a party sends is not the answer to
 * an event but falls due later (batched presence, a member's ready
 * timeout, a periodic report): rv_party_next_deadline says when (server
 * ms; INFINITY when nothing is pending) and rv_party_tick does what is due
 * at now_ms. The caller re-reads the deadline after every event and every
 * tick, and arms its timer for it. A tick emits at most what fits in the
 * outbox; when more is due, the deadline stays <= now_ms: deliver, clear
 * and tick again. */
double rv_party_next_deadline(const struct rv_party *p);
void rv_party_tick(struct rv_party *p, double now_ms, struct rv_outbox *ob);

/* The lead (ms) a sync stamped at now_ms gets: 0 when unscheduled. */
double rv_party_lead_ms(const struct rv_party *p, double now_ms);
/* A round trip to m (a member of p) of rtt_ms, measured by the adapter at
 * now_ms: sets m->rtt_ms and feeds the party's lead. Garbage (negative,
 * non-finite, over a minute) is ignored. */
void rv_party_member_rtt(struct rv_party *p, struct rv_member *m, double rtt_ms,
			 double now_ms);

/* Find a present member by id, NULL when absent; borrowed from p. */
struct rv_member *rv_party_find(const struct rv_party *p, const char *member_id);

#ifdef __cplusplus
}
#endif

#endif
