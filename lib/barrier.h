/* lib/barrier.h - internal: a party's waiting room (pure, see barrier.c).
 *
 * party.c owns a struct rv__barrier inside each party and calls in at its
 * events (join, leave, a host's sync, buffering/ready/start) and from its
 * timer (rv_party_next_deadline / rv_party_tick), lending it the parts of
 * the party it works on (struct rv__barrier_env); it emits into the
 * event's outbox like party.c does.
 */
#ifndef REVENGE_BARRIER_H
#define REVENGE_BARRIER_H

#include <stdbool.h>
#include <stddef.h>

#include "revenge/party.h"

/* Defaults of --ready-timeout and --rebuffer-timeout (docs/protocol.md,
 * "Waiting room", says why these values). */
#define RV__READY_TIMEOUT_MS 8000.0
#define RV__REBUFFER_TIMEOUT_MS 3000.0
/* party_state changes that neither start nor end a wait nor move its
 * deadline (one more or one fewer member buffering) are announced at most
 * this often: a 1000-member party whose members all report buffering gets
 * a few party_state messages, not a thousand. */
#define RV__BARRIER_ANNOUNCE_MS 250.0
/* waiting_for lists at most this many ids; waiting_count has them all. */
#define RV__BARRIER_LIST_MAX 16

/* Cluster mode: a `wait` envelope lists at most this many of a node's
 * members waited for (relay.h's RV__RELAY_WAIT_MAX); beyond, the others
 * are waited for on their own node only. */
#define RV__BARRIER_PUB_MAX 512

/* Why a member was dropped from the wait (rv_member.drop_pending). */
enum rv__drop_reason {
	RV__DROP_NONE = 0,
	RV__DROP_READY_TIMEOUT,
	RV__DROP_REBUFFER_TIMEOUT,
	RV__DROP_FORCED_START,
};

struct rv__barrier {
	size_t waiting;             /* members in the barrier that buffer */
	/* A resume waits for them: the host asked to play (or the party was
	 * playing when a member stalled) while someone buffers. Only ever
	 * true while waiting > 0: the last one ready releases it. */
	bool held;
	bool rebuffer;              /* held since a stall mid-play */
	double resume_position, resume_speed;
	char resume_from[RV_MEMBER_ID_MAX + 1]; /* "from" of the released sync */
	double deadline;            /* server ms the held resume goes at the latest */
	/* What members were last told by party_state. */
	bool dirty;                 /* changed since */
	bool told_waiting;
	double told_deadline;
	double told_at;             /* server ms; -INFINITY before the first */
	/* dropped messages owed to members (rv_member.drop_pending) that did
	 * not fit the outbox of the event that dropped them */
	size_t drops_pending;
	double drops_at;
	/* Cluster mode (cfg->cluster): other nodes' members are waited for
	 * as this node's are (their node's `wait` envelope sets their flags,
	 * rv__barrier_remote), and this node tells the others its own. */
	size_t local_waiting;       /* of waiting, members of this node */
	double remote_deadline;     /* the host's node's held deadline, INFINITY: none */
	bool pub_dirty;             /* what the others were told changed since */
	bool pub_waiting;           /* told: some of ours waited for */
	double pub_deadline;        /* told: our held deadline */
	double pub_at;              /* server ms told; -INFINITY before */
	unsigned char pub_drop;     /* a drop of everyone's waited members to tell */
};

/* What a barrier call works on: the party's parts, lent by party.c for
 * the call (the barrier calls nothing in party.c, so the two never call
 * each other in a circle), the time and the event's outbox. */
struct rv__barrier_env {
	struct rv__barrier *b;
	struct rv_playback *state;      /* the party's, changed by holds and releases */
	struct rv_member *first;        /* the members in join order */
	const struct rv_party_config *cfg;
	double now_ms;
	double lead_ms;                 /* how far ahead a state it makes is stamped */
	/* the state members play while *state is pending (server_time
	 * after now_ms); NULL when the party does not schedule */
	const struct rv_playback *before;
	struct rv_outbox *ob;
	/* Cluster mode: the host is on another node, whose barrier holds,
	 * stalls, times out and drops; this one counts and reports. */
	bool follows;
};

void rv__barrier_init(struct rv__barrier *b);

/* m just joined (it is linked in): in the barrier unless the party plays.
 * A joiner of a waiting party gets the current party_state. */
void rv__barrier_join(struct rv__barrier_env e, struct rv_member *m);

/* m is leaving (unlinked, not yet freed): a wait for it ends. */
void rv__barrier_leave(struct rv__barrier_env e, struct rv_member *m);

/* The host's sync (from: its id) just set the party's state: while members
 * buffer, a resume is held (the state stays paused at the asked position)
 * and a pause cancels a held resume. Call rv__barrier_flush after relaying
 * the sync. */
void rv__barrier_sync(struct rv__barrier_env e, const char *from);

/* buffering, ready, start from m (the caller checked that start comes
 * from the host). Returns 0. */
int rv__barrier_handle(struct rv__barrier_env e, struct rv_member *m, const struct rv_msg *msg);

/* Send what is owed now: party_state when due, dropped messages that fit. */
void rv__barrier_flush(struct rv__barrier_env e);

/* Another node's `wait` envelope (cluster mode), its members' flags
 * already marked by the caller (rv_member.wait_mark on those of node it
 * lists): every remote member of node (of every node for 0) is waited for
 * when marked, not otherwise (marks cleared). host_node: node is the host's, so its
 * deadline is the one members are told and its drop (dropped, a reason
 * or 0) drops this node's waited members too. */
void rv__barrier_remote(struct rv__barrier_env e, uint64_t node, bool host_node,
			double deadline, unsigned dropped);

/* A node new to the party: what this one told is told again (at the
 * tick), when it told anything. */
void rv__barrier_again(struct rv__barrier *b);

/* When the barrier next has work (INFINITY: none), and that work. */
double rv__barrier_deadline(const struct rv__barrier *b);
void rv__barrier_tick(struct rv__barrier_env e);

#endif
