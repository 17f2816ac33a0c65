/* lib/ep_party.c - the /ws/party/{party_id} endpoint: the table of live
 * parties, joining and leaving, and delivering what party.c decides.
 *
 * A party exists while it has members: it is created by its first join and
 * freed when its last member leaves. Member ids are unique in the process.
 * Each live party has one timer, armed for what party.c says falls due
 * next (rv_party_next_deadline), re-read after every event delivered.
 *
 * In cluster mode (broker.h) a live party is subscribed to its channel;
 * its syncs, chat and reactions go out to the other nodes once each, and
 * theirs come in (party_relay.h) to this node's members. A party new to
 * this node first recalls what Redis kept of it (its state and chat
 * history), once its channel is subscribed, so that nothing published
 * later slips between the two: the joins that made it wait for the
 * answer, bounded by RECALL_WAIT_MS (then the party starts from what this
 * node knows), so that their welcome carries the party as the other nodes
 * know it. Messages relayed meanwhile are held and applied after the
 * answer, those it already holds (by their kept sequence) left out.
 *
 * Members are in Redis too (broker.h's members): each local join and leave
 * is written there, and a party with members here reads them back only
 * when they may have changed: once its channel is subscribed, on another
 * node's notice, when Redis comes back, and when a node holding some of
 * its members lost its lease. Other nodes' members are the party's remote
 * members (never delivered to), the host is the one Redis elected. Dead
 * nodes are found by one check per node, not per party: every
 * LEASES_EVERY_S one MGET of the leases of the nodes seen in this node's
 * parties; a party that had members on a node whose lease is gone reads
 * (which drops them and elects a successor, and notifies the others).
 */
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/party.h"

#include "admin.h"
#include "broker.h"
#include "bucket.h"
#include "conn.h"
#include "endpoint.h"
#include "idmap.h"
#include "party_keep.h"
#include "party_relay.h"
#include "relay.h"
#include "store_writer.h"

struct parties {
	struct rv__hub *hub;
	struct rv__idmap by_id;
	uint64_t next_member;
	uint64_t members_seq;           /* members steps made */
	ev_timer leases_w;              /* cluster: the other nodes' leases checked */
	struct rv__keep *keep;          /* --party-retention, NULL: off */
	ev_timer save_w;                /* its saves and sweep */
};

/* How often a node checks the leases of the nodes its parties have
 * members on: with a lease of 3 s, a killed node's members are gone from
 * every node within about 4 s. */
#define LEASES_EVERY_S 1.0
/* Nodes checked at most per check (beyond, the rest wait a turn). */
#define LEASES_MAX 1024
/* A party's keys in Redis expire 6 h after its last members step
 * (broker_redis.c KEEP_MS), for parties no node serves any more; a party
 * served here with no step for this long reads, which renews them. */
#define REFRESH_MS 3600000.0

/* What the handshake's query says. */
struct party_args {
	char name[RV_NAME_MAX_BYTES + 1];       /* ?name= */
	bool has_name;
	char resume[RV__RESUME_TOKEN_LEN + 1];  /* ?resume= */
	bool has_resume;
};
_Static_assert(sizeof(struct party_args) <= RV__REQUEST_ARGS_MAX, "party_args fits");

/* How long joins wait for Redis's answer to a recall before the party
 * starts from what this node knows. */
#define RECALL_WAIT_MS 1000.0

struct party_conn;
struct live_party;

/* Messages other nodes relay while a party recalls, held to be applied
 * after the recall (beyond, the next sync realigns). */
#define RELAYED_MAX 1000

struct relayed {
	struct relayed *next;
	uint64_t seq;                   /* its kept sequence, 0: none */
	size_t len;
	char data[];
};

/* A recall in flight: the broker's until answered; lp NULL once the
 * party no longer waits for it (gone, or the wait timed out). */
struct recall_req {
	struct live_party *lp;
	bool restoring;                 /* the broker's restore, not its recall */
};

/* A party in the table, with its timer. */
struct live_party {
	struct rv_party *party;
	struct parties *ps;
	ev_timer due;
	double armed_for;               /* server ms the timer is set for, or INFINITY */
	struct recall_req *recall;      /* in flight, NULL: none (joins go in at once) */
	ev_timer recall_w;              /* its deadline */
	struct party_conn *waiting, **waiting_tail; /* joins held meanwhile, in order */
	bool releasing;                 /* they are going in: lp stays */
	bool recall_sent;               /* the recall went (once subscribed) */
	struct relayed *relayed, **relayed_tail; /* held meanwhile, in order */
	size_t n_relayed;
	/* the last kept sequence this party holds (recalled or applied): a
	 * kept message at or below it is here already (broker.h) */
	uint64_t kept_seq;
	unsigned local;                 /* members here (the party's size counts others') */
	struct rv__waits_seen waits;    /* other nodes' last waiting rooms (party_relay.h) */
	uint64_t *nodes;                /* other nodes with members here, last read */
	size_t n_nodes;
	uint64_t members_sent;          /* the last members step's seq */
	/* reads coalesce: one in flight (its seq, 0: none), and a notice
	 * meanwhile asks for one more after its answer, not one per notice
	 * (a join storm sends a notice per join to every node) */
	uint64_t read_sent;
	bool read_again;
	/* the first joiner of a party without a host waits for Redis's
	 * answer to its join step (its seq here, 0: none), the joins after
	 * it behind it: a host welcomed before Redis had its join could lose
	 * the role to a member who joined another node after that welcome */
	uint64_t deciding;
	double step_at;                 /* server ms it was made */
	struct rv__keep_party kp;       /* --party-retention (party_keep.h) */
};

/* RTT pings (H1 lead): each member is pinged every RTT_PING_MS, give or
 * take a quarter, the first time RTT_FIRST_MS to twice that after its
 * join; the jitter spreads a party that joined together. The pong's round
 * trip feeds the party's lead (rv_party_member_rtt). The payload is 8
 * bytes that name the ping; a pong that does not carry the outstanding
 * one (keep-alive pongs, stale or forged ones) is ignored. */
#define RTT_PING_MS 5000.0
#define RTT_FIRST_MS 250.0
#define RTT_PAYLOAD 8

/* Per connection. */
struct party_conn {
	struct rv__conn *conn;          /* the connection this is part of */
	struct live_party *live;
	struct rv_member *member;
	ev_timer rtt_w;                 /* the next RTT ping */
	uint64_t rtt_seq;               /* pings sent; names the next */
	uint64_t rtt_salt;              /* per connection, so payloads differ */
	unsigned char rtt_out[RTT_PAYLOAD]; /* the outstanding ping's payload */
	double rtt_sent;                /* its server send time, 0: none outstanding */
	/* a join held while its party recalls (live set, member NULL) */
	struct party_conn *wait_next;
	bool may_host, has_name;
	char name[RV_NAME_MAX_BYTES + 1];
	uint64_t join_seq;              /* its join number in Redis, 0: not known yet */
	/* its id, made when first needed (mid[0] 0: not yet); written: its
	 * join step went to Redis before it joined here (deciding) */
	char mid[RV_MEMBER_ID_MAX + 1];
	bool written, decided;
	/* --party-retention: its resume token (presented: from ?resume=,
	 * to be matched at the join) and the token's hash */
	bool has_token, presented, name_from_claims;
	/* the token matched (resume): its id and name are pc's; reclaim: it
	 * takes the host role back */
	bool resumed, reclaim;
	/* cluster mode: its token's record is being taken from Redis (the
	 * join waits for it; take: the request, whose pc a close clears) */
	bool looking;
	struct take_req *take;
	ev_timer take_w;                /* its deadline: RECALL_WAIT_MS */
	char token[RV__RESUME_TOKEN_LEN + 1];
	char token_hash[RV__RESUME_HASH_LEN + 1];
};

static void party_remote(void *user, const char *id, const char *data, size_t len,
			 uint64_t seq);
static void party_members(void *user, const char *id, const struct rv__broker_members *r);
static void leases_tick(struct ev_loop *loop, ev_timer *t, int revents);
static void leases_known(void *user, unsigned shard, const uint64_t *nodes, const bool *alive,
			 size_t n);
static void party_subscribed(void *user, const char *id);
static void members_again(void *user, unsigned shard);
static void rearm(struct live_party *lp);
static void decide(struct parties *ps, struct live_party *lp, const struct rv__broker_members *r);
static void admit_waiting(struct parties *ps, struct live_party *lp);
static void read_members(struct live_party *lp);
static void redis_down(void *user, unsigned shard);

/* A present member's token hash, for its party's document. */
static const char *member_hash(const struct rv_member *m)
{
	const struct party_conn *pc = m->user ? rv__conn_ep(m->user) : NULL;

	return pc && pc->has_token ? pc->token_hash : NULL;
}

static void save_party(void *value, void *arg)
{
	struct live_party *lp = value;
	struct parties *ps = arg;

	if (lp->local)
		rv__keep_tick_party(ps->keep, lp->party, &lp->kp, rv__hub_now(ps->hub));
}

/* Every RV__KEEP_SAVE_EVERY_S: the parties changed since are written, the
 * dormant ones past the retention forgotten. */
static void save_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct parties *ps = t->data;

	(void)loop;
	(void)revents;
	rv__idmap_each(&ps->by_id, save_party, ps);
	rv__keep_sweep(ps->keep, rv__hub_now(ps->hub));
}

static void ignore_party(void *arg, const char *id, const char *doc, double seen)
{
}

static bool cluster(const struct parties *ps);

static int parties_start(struct rv__hub *hub, void **state)
{
	struct parties *ps = calloc(1, sizeof(*ps));
	int err;

	if (!ps || rv__idmap_init(&ps->by_id)) {
		free(ps);
		return RV_ENOMEM;
	}
	ps->hub = hub;
	/* In cluster mode too the parties are written to the store; one is
	 * restored from it only when Redis keeps nothing of it (recalled),
	 * never over what Redis has (docs/architecture.md). */
	if (hub->cfg->party_retention_s) {
		if ((err = rv__keep_new(hub, hub->cfg->party_retention_s * 1000.0, true,
					hub->cfg->max_parties, member_hash, &ps->keep))) {
			rv__idmap_free(&ps->by_id, NULL);
			free(ps);
			return err;
		}
		ps->next_member = rv__keep_max_member(ps->keep);
		if (cluster(ps) && hub->cfg->db_path && !rv__store_is_postgres(hub->cfg->db_path))
			rv_log(hub->log, RV_LOG_INFO, "party_retention_local",
			       "the parties are kept in this node's SQLite file: one that Redis "
			       "forgets comes back only on a node that held it (share a "
			       "PostgreSQL store to restore it on any node)");
		ev_timer_init(&ps->save_w, save_tick, RV__KEEP_SAVE_EVERY_S, RV__KEEP_SAVE_EVERY_S);
		ps->save_w.data = ps;
		ev_timer_start(hub->loop, &ps->save_w);
		ev_unref(hub->loop);
	} else {
		/* what PostgreSQL read at start is let go of (nothing is restored) */
		if (hub->writer)
			rv__store_writer_load_parties(hub->writer, ignore_party, NULL);
	}
	if (hub->broker) {
		hub->broker->on_message = party_remote;
		hub->broker->on_members = party_members;
		hub->broker->on_up = members_again;
		hub->broker->on_down = redis_down;
		hub->broker->on_subscribed = party_subscribed;
		hub->broker->on_leases = leases_known;
		hub->broker->user = ps;
	}
	ev_timer_init(&ps->leases_w, leases_tick, LEASES_EVERY_S, LEASES_EVERY_S);
	ps->leases_w.data = ps;
	if (hub->broker && hub->broker->cluster) {
		ev_timer_start(hub->loop, &ps->leases_w);
		/* it must not keep the loop alive: the drain ends when the loop
		 * runs out of work (and the broker, stopped, reads nothing) */
		ev_unref(hub->loop);
	}
	*state = ps;
	return 0;
}

/* lp no longer waits for its recall: an answer still to come finds no
 * party; one never asked for is freed here. */
static void drop_recall(struct live_party *lp)
{
	if (lp->recall && lp->recall_sent)
		lp->recall->lp = NULL;
	else
		free(lp->recall);
	lp->recall = NULL;
}

static void free_relayed(struct live_party *lp)
{
	struct relayed *m, *next;

	for (m = lp->relayed; m; m = next) {
		next = m->next;
		free(m);
	}
	lp->relayed = NULL;
	lp->relayed_tail = &lp->relayed;
	lp->n_relayed = 0;
}

static void free_live(struct live_party *lp)
{
	ev_timer_stop(lp->ps->hub->loop, &lp->due);
	ev_timer_stop(lp->ps->hub->loop, &lp->recall_w);
	drop_recall(lp);
	free_relayed(lp);
	rv_party_free(lp->party);
	rv__keep_party_clear(&lp->kp);
	rv__party_relay_seen_free(&lp->waits);
	free(lp->nodes);
	free(lp);
}

static void free_party(void *live)
{
	free_live(live);
}

static void parties_stop(void *state)
{
	struct parties *ps = state;

	if (!ps)
		return;
	if (ev_is_active(&ps->leases_w)) {
		ev_ref(ps->hub->loop);
		ev_timer_stop(ps->hub->loop, &ps->leases_w);
	}
	if (ev_is_active(&ps->save_w)) {
		ev_ref(ps->hub->loop);
		ev_timer_stop(ps->hub->loop, &ps->save_w);
	}
	if (ps->hub->broker) {
		ps->hub->broker->on_message = NULL;
		ps->hub->broker->on_members = NULL;
		ps->hub->broker->on_up = NULL;
		ps->hub->broker->on_down = NULL;
		ps->hub->broker->on_subscribed = NULL;
		ps->hub->broker->on_leases = NULL;
	}
	rv__idmap_free(&ps->by_id, free_party);
	rv__keep_free(ps->keep);
	free(ps);
}

static bool cluster(const struct parties *ps)
{
	return ps->hub->broker && ps->hub->broker->cluster;
}

static void party_due(struct ev_loop *loop, ev_timer *t, int revents);
static void recall_timeout(struct ev_loop *loop, ev_timer *t, int revents);

/* The party id, made if need be, into *out: 0, RV_EFULL at --max-parties
 * (counted), RV_ENOMEM. */
static int get_or_create(struct parties *ps, const char *id, struct live_party **out,
			 bool *made)
{
	const struct rv_server_config *cfg = ps->hub->cfg;
	struct rv_party_config pc = { .history_max = cfg->history,
				      .max_members = cfg->max_members,
				      .chat_rate = cfg->party_chat_rate,
				      .chat_burst = cfg->party_chat_rate * 2,
				      .join_rate = cfg->party_join_rate,
				      .join_burst = cfg->party_join_rate * RV__BUCKET_ADMIT_BURST_S,
				      .lead_min_ms = cfg->lead_min_ms,
				      .lead_max_ms = cfg->lead_max_ms,
				      .ready_timeout_ms = cfg->ready_timeout_ms,
				      .rebuffer_timeout_ms = cfg->rebuffer_timeout_ms,
				      /* H4 presence */
				      .presence_batch_above = cfg->presence_batch_above,
				      .presence_interval_ms = cfg->presence_interval_ms,
				      .drift_interval_ms = cfg->drift_interval_ms,
				      .cluster = ps->hub->broker && ps->hub->broker->cluster };
	struct live_party *lp = rv__idmap_get(&ps->by_id, id);

	if ((*out = lp))
		return 0;
	if (cfg->max_parties && ps->hub->metrics.parties >= cfg->max_parties) {
		ps->hub->metrics.limit_refusals[RV_LIMIT_PARTIES]++;
		return RV_EFULL;
	}
	lp = calloc(1, sizeof(*lp));
	if (!lp)
		return RV_ENOMEM;
	lp->party = rv_party_new(id, &pc);
	if (!lp->party) {
		free(lp);
		return RV_ENOMEM;
	}
	lp->ps = ps;
	lp->armed_for = INFINITY;
	ev_timer_init(&lp->due, party_due, 0, 0);
	lp->due.data = lp;
	ev_timer_init(&lp->recall_w, recall_timeout, RECALL_WAIT_MS / 1000, 0);
	lp->recall_w.data = lp;
	lp->waiting_tail = &lp->waiting;
	lp->relayed_tail = &lp->relayed;
	if (rv__idmap_put(&ps->by_id, id, lp)) {
		free_live(lp);
		return RV_ENOMEM;
	}
	if (rv__broker_subscribe(ps->hub->broker, id)) {
		rv__idmap_del(&ps->by_id, id);
		free_live(lp);
		return RV_ENOMEM;
	}
	ps->hub->metrics.parties++;
	/* in cluster mode with Redis up, only when the recall finds nothing
	 * (recalled); Redis down: from the store, as on a single server */
	if (!cluster(ps) || ps->hub->metrics.redis_state != RV_REDIS_STATE_UP)
		rv__keep_restore(ps->keep, lp->party, &lp->kp, rv__hub_now(ps->hub), true);
	*made = true;
	*out = lp;
	return 0;
}

static void remove_if_empty(struct parties *ps, struct live_party *lp)
{
	if (lp->local || lp->waiting || lp->releasing)
		return;
	/* other nodes' members still here: the last node to hold the party
	 * keeps it dormant (a copy here would be older than theirs) */
	rv__keep_emptied(ps->keep, lp->party, &lp->kp, rv__hub_now(ps->hub),
			 !(cluster(ps) && rv_party_size(lp->party)));
	rv__broker_unsubscribe(ps->hub->broker, rv_party_id(lp->party));
	rv__idmap_del(&ps->by_id, rv_party_id(lp->party));
	free_live(lp);
	ps->hub->metrics.parties--;
}

/* Hand each action to its recipients' queues; one encoded frame serves
 * every recipient. Counts what the party reported in the outbox. */
static void deliver(struct parties *ps, struct rv_party *p, struct rv_outbox *ob)
{
	ps->hub->metrics.party_waits += ob->waits_started;
	ps->hub->metrics.party_barrier_timeouts += ob->barrier_timeouts;
	/* at most one a wait: the deadline drops everyone still buffering */
	if (ob->barrier_timeouts)
		rv_log(ps->hub->log, RV_LOG_INFO, "party_wait_timeout", "party=%s dropped=%u",
		       rv_party_id(p), ob->barrier_timeouts);
	for (unsigned i = 0; i < ob->n; i++) {
		struct rv_action *a = &ob->items[i];

		rv__party_relay_out(ps->hub, p, a);
		switch (a->target) {
		/* other nodes' members (remote) are theirs to serve */
		case RV_TO_ONE:
			if (!a->member->remote)
				rv__conn_send(a->member->user, a->frame);
			break;
		case RV_TO_ALL:
		case RV_TO_ALL_BUT:
			for (struct rv_member *m = rv_party_first(p); m; m = m->next)
				if (!m->remote && (a->target == RV_TO_ALL || m != a->member))
					rv__conn_send(m->user, a->frame);
			break;
		case RV_TO_ALL_BEFORE:
			for (struct rv_member *m = rv_party_first(p); m && m != a->member;
			     m = m->next)
				if (!m->remote)
					rv__conn_send(m->user, a->frame);
			break;
		}
	}
	/* what the waiting room tells the other nodes: one envelope */
	rv__party_relay_waits(ps->hub, p, ob);
	rv_outbox_clear(ob);
}

/* A relayed message made lp's, as a frame for its members: NULL when the
 * party holds it already (a kept sequence at or below its own) or it is
 * not to be delivered. */
static struct rv_frame *take_relayed(struct live_party *lp, const char *data, size_t len,
				     uint64_t seq, struct rv_outbox *ob)
{
	if (seq && seq <= lp->kept_seq)
		return NULL;
	if (seq)
		lp->kept_seq = seq;
	return rv__party_relay_in(lp->ps->hub, lp->party, &lp->waits, data, len, ob);
}

/* What another node published for party id (broker.h): to every member
 * here, one frame for all. */
static void party_remote(void *user, const char *id, const char *data, size_t len,
			 uint64_t seq)
{
	struct parties *ps = user;
	struct live_party *lp = rv__idmap_get(&ps->by_id, id);
	struct rv_frame *f;
	struct rv_outbox ob;

	/* another node's members changed: read them */
	if (lp && len >= 4 && !memcmp(data, "RVM ", 4)) {
		char node[17];

		snprintf(node, sizeof(node), "%016llx", (unsigned long long)ps->hub->broker->node);
		if (len != 4 + 16 || memcmp(data + 4, node, 16))
			read_members(lp);
		return;
	}
	if (!lp)
		return;
	/* while recalling there is no one here to tell, and the recall's
	 * answer is still to come: held, applied after it (recall_done) */
	if (lp->recall) {
		struct relayed *m;

		if (lp->n_relayed >= RELAYED_MAX || !(m = malloc(sizeof(*m) + len))) {
			ps->hub->metrics.redis_dropped++;
			return;
		}
		m->next = NULL;
		m->seq = seq;
		m->len = len;
		memcpy(m->data, data, len);
		*lp->relayed_tail = m;
		lp->relayed_tail = &m->next;
		lp->n_relayed++;
		return;
	}
	rv_outbox_init(&ob);
	f = take_relayed(lp, data, len, seq, &ob);
	/* a wait's party_state, stall or release */
	deliver(ps, lp->party, &ob);
	rearm(lp);
	if (!f)
		return;
	for (struct rv_member *m = rv_party_first(lp->party); m; m = m->next)
		if (!m->remote)
			rv__conn_send(m->user, f);
	rv_frame_unref(f);
}

static bool has_node(const uint64_t *nodes, size_t n, uint64_t node)
{
	for (size_t i = 0; i < n; i++)
		if (nodes[i] == node)
			return true;
	return false;
}

/* This node's own members' join numbers in r, kept so that a member
 * written again (Redis lost it) keeps its place. */
static void note_own(struct live_party *lp, const char *id, size_t id_len,
		     const struct rv__relay_member *e)
{
	char mid[RV_MEMBER_ID_MAX + 1];
	struct rv_member *m;

	if (!rv__relay_member_id_ok(id, id_len))
		return;
	memcpy(mid, id, id_len);
	mid[id_len] = 0;
	if ((m = rv_party_find(lp->party, mid)) && !m->remote && m->user)
		((struct party_conn *)rv__conn_ep(m->user))->join_seq = e->seq;
}

/* The other nodes r's members are on, kept for the lease check (out of
 * memory, the old set stays: a read later corrects it); and this node's
 * own members' join numbers. */
static void note_nodes(struct live_party *lp, const struct rv__broker_members *r)
{
	uint64_t self = lp->ps->hub->broker->node, *nodes = NULL;
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++) {
		struct rv__relay_member e;

		if (rv__relay_member_decode(r->entry[i], r->entry_len[i], &e))
			continue;
		if (e.node == self)
			note_own(lp, r->id[i], r->id_len[i], &e);
		if (e.node == self || has_node(nodes, n, e.node))
			continue;
		/* grown one at a time: a party spans a handful of nodes */
		uint64_t *more = realloc(nodes, (n + 1) * sizeof(*nodes));

		if (!more) {
			free(nodes);
			return;
		}
		nodes = more;
		nodes[n++] = e.node;
	}
	/* a node new to the party has not heard our waits */
	for (size_t i = 0; i < n; i++)
		if (!has_node(lp->nodes, lp->n_nodes, nodes[i])) {
			rv_party_waits_again(lp->party);
			rearm(lp);
			break;
		}
	free(lp->nodes);
	lp->nodes = nodes;
	lp->n_nodes = n;
}

/* One members step for lp (broker.h), numbered: answers come back in
 * order, so an answer older than the last step made is not the last word. */
static uint64_t members_step(struct live_party *lp, enum rv__members_op op,
			     const char *member, const char *entry, uint64_t join)
{
	struct parties *ps = lp->ps;
	uint64_t seq = ps->members_seq + 1;

	if (rv__broker_members(ps->hub->broker, rv_party_id(lp->party), op, member, entry, join,
			       seq))
		return 0;
	ps->members_seq = seq;
	lp->members_sent = seq;
	lp->step_at = rv__hub_now(ps->hub);
	return seq;
}

/* A read now, whatever is in flight: what it answers is newer than any
 * notice received before it was sent. */
static void read_members_now(struct live_party *lp)
{
	uint64_t seq = members_step(lp, RV__MEMBERS_READ, NULL, NULL, 0);

	if (seq) {
		lp->read_sent = seq;
		lp->read_again = false;
	}
}

/* A read, or one more after the one in flight. */
static void read_members(struct live_party *lp)
{
	if (lp->read_sent)
		lp->read_again = true;
	else
		read_members_now(lp);
}

/* A step's answer without the list: the host it names (when it is the
 * last step's: see party_members), and a join's number for the member. A
 * host this node does not know yet is another node's newcomer: read. */
static void take_step(struct live_party *lp, const struct rv__broker_members *r,
		      struct rv_outbox *ob)
{
	char host[RV_MEMBER_ID_MAX + 1];
	struct rv_member *m;

	if (r->join && r->member[0] && (m = rv_party_find(lp->party, r->member)) && !m->remote &&
	    m->user)
		((struct party_conn *)rv__conn_ep(m->user))->join_seq = r->join;
	if (r->seq < lp->members_sent || !r->host || !rv__relay_member_id_ok(r->host, r->host_len))
		return;
	memcpy(host, r->host, r->host_len);
	host[r->host_len] = 0;
	if (!(m = rv_party_find(lp->party, host)))
		read_members(lp);
	else if (m->may_host && m != rv_party_host(lp->party))
		rv_party_set_host(lp->party, m, rv__hub_now(lp->ps->hub), ob);
}

/* A members step's answer (broker.h): a read's list made the party's; the
 * host only from the answer to the last step made: an older one may name
 * the host this node has just handed over from (a transfer_host is
 * applied here at once, and confirmed by its own step after). */
static void party_members(void *user, const char *id, const struct rv__broker_members *r)
{
	struct parties *ps = user;
	struct live_party *lp = rv__idmap_get(&ps->by_id, id);
	struct rv_outbox ob;
	bool reread = false;

	if (!lp)
		return;
	if (r->seq == lp->read_sent) {
		lp->read_sent = 0;
		reread = lp->read_again;
		lp->read_again = false;
	}
	if (!r->failed) {
		rv_outbox_init(&ob);
		if (r->has_list)
			rv__party_relay_members(ps->hub, lp->party, r, r->seq >= lp->members_sent,
						&lp->waits, &ob);
		else
			take_step(lp, r, &ob);
		deliver(ps, lp->party, &ob);
		rearm(lp);
		if (r->has_list)
			note_nodes(lp, r);
	}
	if (reread)
		read_members(lp);
	if (lp->deciding && r->seq >= lp->deciding)
		decide(ps, lp, r);
}

/* m, a member here, into Redis (a no-op when it is there already), in
 * its place in the join order when Redis gave it one before. */
static void write_member(struct live_party *lp, const struct rv_member *m)
{
	char entry[RV_NAME_MAX_BYTES + 3];
	const struct party_conn *pc = rv__conn_ep(m->user);

	snprintf(entry, sizeof(entry), "%d %s", m->may_host, m->name);
	members_step(lp, RV__MEMBERS_JOIN, m->id, entry, pc->join_seq);
}

/* The parties on one Redis shard that came back (again). */
struct shard_up {
	struct rv__broker *broker;
	unsigned shard;
	bool up;
};

static void forget_kept(void *value, void *arg)
{
	struct live_party *lp = value;
	const struct shard_up *up = arg;

	if (rv__broker_shard_of(up->broker, rv_party_id(lp->party)) == up->shard)
		lp->kept_seq = 0;
}

static void write_members(void *value, void *arg)
{
	struct live_party *lp = value;
	const struct shard_up *up = arg;

	if (rv__broker_shard_of(up->broker, rv_party_id(lp->party)) != up->shard)
		return;
	for (struct rv_member *m = rv_party_first(lp->party); m; m = m->next)
		if (!m->remote)
			write_member(lp, m);
}

/* The waiting room across nodes, on a shard that went down or came
 * back: down, each party waits for its own members only and decides for
 * them; back, it tells the others its waits again. */
static void cluster_up(void *value, void *arg)
{
	struct live_party *lp = value;
	const struct shard_up *up = arg;
	struct rv_outbox ob;

	if (rv__broker_shard_of(up->broker, rv_party_id(lp->party)) != up->shard)
		return;
	rv_outbox_init(&ob);
	rv_party_cluster_up(lp->party, up->up, rv__hub_now(lp->ps->hub), &ob);
	deliver(lp->ps, lp->party, &ob);
	rearm(lp);
}

static void redis_down(void *user, unsigned shard)
{
	struct parties *ps = user;
	struct shard_up up = { ps->hub->broker, shard, false };

	rv__idmap_each(&ps->by_id, cluster_up, &up);
}

static void members_again(void *user, unsigned shard)
{
	struct parties *ps = user;
	struct shard_up up = { ps->hub->broker, shard, true };

	rv__idmap_each(&ps->by_id, cluster_up, &up);

	/* a Redis that restarted counts kept sequences from 1 again */
	rv__idmap_each(&ps->by_id, forget_kept, &up);
	rv__idmap_each(&ps->by_id, write_members, &up);
}

struct node_set {
	uint64_t nodes[LEASES_MAX];
	size_t n;
	double now;
	struct rv__broker *broker;      /* read_if_dead: only the parties on shard */
	unsigned shard;
};

/* lp's nodes into set; and a read when its keys were not renewed lately. */
static void gather_nodes(void *value, void *arg)
{
	struct live_party *lp = value;
	struct node_set *set = arg;

	if (lp->local && set->now - lp->step_at > REFRESH_MS)
		read_members(lp);
	for (size_t i = 0; i < lp->n_nodes && set->n < LEASES_MAX; i++)
		if (!has_node(set->nodes, set->n, lp->nodes[i]))
			set->nodes[set->n++] = lp->nodes[i];
}

/* One MGET for every node this node's parties have members on. */
static void leases_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct parties *ps = t->data;
	struct node_set *set = malloc(sizeof(*set));

	(void)loop;
	(void)revents;
	if (!set)
		return;
	set->n = 0;
	set->now = rv__hub_now(ps->hub);
	rv__idmap_each(&ps->by_id, gather_nodes, set);
	if (set->n)
		rv__broker_leases(ps->hub->broker, set->nodes, set->n);
	free(set);
}

static void read_if_dead(void *value, void *arg)
{
	struct live_party *lp = value;
	const struct node_set *dead = arg;

	if (rv__broker_shard_of(dead->broker, rv_party_id(lp->party)) != dead->shard)
		return;
	for (size_t i = 0; i < lp->n_nodes; i++)
		if (has_node(dead->nodes, dead->n, lp->nodes[i])) {
			read_members(lp);
			return;
		}
}

/* A shard's leases' answer: that shard's parties with members on a node
 * dead there read them (the read drops them, elects a successor and tells
 * the other nodes). */
static void leases_known(void *user, unsigned shard, const uint64_t *nodes, const bool *alive,
			 size_t n)
{
	struct parties *ps = user;
	struct node_set *dead = malloc(sizeof(*dead));

	if (!dead)
		return;
	dead->n = 0;
	dead->broker = ps->hub->broker;
	dead->shard = shard;
	for (size_t i = 0; i < n && dead->n < LEASES_MAX; i++)
		if (!alive[i])
			dead->nodes[dead->n++] = nodes[i];
	if (dead->n) {
		rv_log(ps->hub->log, RV_LOG_INFO, "node_lost", "%zu node(s) without a lease on "
		       "shard %u, the first %016llx: their members of its parties leave", dead->n,
		       shard, (unsigned long long)dead->nodes[0]);
		rv__idmap_each(&ps->by_id, read_if_dead, dead);
	}
	free(dead);
}

/* Arm lp's timer for the party's next deadline; a deadline that has not
 * moved keeps the timer as it is, so the common event (nothing pending)
 * costs one comparison. */
static void rearm(struct live_party *lp)
{
	struct ev_loop *loop = lp->ps->hub->loop;
	double next = rv_party_next_deadline(lp->party);
	double in;

	if (next == lp->armed_for)
		return;
	lp->armed_for = next;
	ev_timer_stop(loop, &lp->due);
	if (isinf(next))
		return;
	in = (next - rv__hub_now(lp->ps->hub)) / 1000;
	ev_timer_set(&lp->due, in > 0 ? in : 0, 0);
	ev_timer_start(loop, &lp->due);
}

/* Bounds one timer callback's work: a tick emits at most an outbox, and a
 * party with more due than that is ticked again, but not forever. */
#define TICKS_PER_DUE 64

static void party_due(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct live_party *lp = t->data;
	struct rv_outbox ob;
	double now = rv__hub_now(lp->ps->hub);

	(void)loop;
	(void)revents;
	lp->armed_for = INFINITY;
	rv_outbox_init(&ob);
	/* a barrier's timeout may change the state */
	lp->kp.dirty = true;
	for (unsigned i = 0; i < TICKS_PER_DUE && rv_party_next_deadline(lp->party) <= now; i++) {
		rv_party_tick(lp->party, now, &ob);
		deliver(lp->ps, lp->party, &ob);
	}
	rearm(lp);
}

/* A well-mixed 64-bit value of x (splitmix64's finaliser): the ping
 * jitter and payloads, with no global random state. */
static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* A fraction in [0, 1) for the n-th ping of pc. */
static double jitter(const struct party_conn *pc, uint64_t n)
{
	return (double)(mix64(pc->rtt_salt ^ (n << 1)) >> 11) / 9007199254740992.0;
}

static void rtt_ping(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct party_conn *pc = t->data;
	struct rv__conn *c = rv__conn_of_ep(pc);
	uint64_t v = mix64(pc->rtt_salt + ++pc->rtt_seq);

	(void)revents;
	for (unsigned i = 0; i < RTT_PAYLOAD; i++)
		pc->rtt_out[i] = (unsigned char)(v >> (8 * i));
	pc->rtt_sent = 0;
	if (pc->member && !rv__conn_ping(c, pc->rtt_out, RTT_PAYLOAD))
		pc->rtt_sent = rv__hub_now(c->hub);
	ev_timer_set(t, RTT_PING_MS * (0.75 + 0.5 * jitter(pc, pc->rtt_seq)) / 1000, 0);
	ev_timer_start(loop, t);
}

static void rtt_start(struct parties *ps, struct party_conn *pc)
{
	pc->rtt_salt = mix64(ps->next_member ^ (uint64_t)(uintptr_t)pc);
	ev_timer_init(&pc->rtt_w, rtt_ping, RTT_FIRST_MS * (1 + jitter(pc, 0)) / 1000, 0);
	pc->rtt_w.data = pc;
	ev_timer_start(ps->hub->loop, &pc->rtt_w);
}

static void party_pong(void *state, struct rv__conn *c, const unsigned char *data, size_t len,
		       double now)
{
	struct party_conn *pc = rv__conn_ep(c);

	(void)state;
	if (!pc->member || !pc->rtt_sent || len != RTT_PAYLOAD ||
	    memcmp(data, pc->rtt_out, RTT_PAYLOAD))
		return;
	rv_party_member_rtt(pc->live->party, pc->member, now - pc->rtt_sent, now);
	pc->rtt_sent = 0;
}

/* One string query argument KEY=VALUE into out (its has flag set), when
 * arg is one: 0 (also when arg is another), or 400 with why when it is
 * given twice or ok() refuses it (what why says then: bad). */
static int take_arg(const char *arg, size_t len, const char *key, bool (*ok)(const char *, size_t),
		    const char *bad, char *out, bool *has, char *why, size_t why_len)
{
	size_t k = strlen(key);

	if (len <= k || strncmp(arg, key, k) || arg[k] != '=')
		return 0;
	if (*has) {
		snprintf(why, why_len, "%s given twice", key);
		return 400;
	}
	if (!ok(arg + k + 1, len - k - 1)) {
		snprintf(why, why_len, "%s", bad);
		return 400;
	}
	memcpy(out, arg + k + 1, len - k - 1);
	out[len - k - 1] = 0;
	*has = true;
	return 0;
}

static int party_query(const char *arg, size_t len, struct rv__request *r,
		       char *why, size_t why_len)
{
	struct party_args *a = (void *)r->args.bytes;
	int rc = take_arg(arg, len, "name", rv_proto_valid_name, "name must be 1-32 UTF-8"
			  " characters, no control, bidi control or line separator, not only blank"
			  " or invisible ones", a->name, &a->has_name, why, why_len);

	if (rc)
		return rc;
	return take_arg(arg, len, "resume", rv__resume_token_ok, "resume must be a welcome's"
			" resume_token (32 lowercase hex digits)", a->resume, &a->has_resume, why,
			why_len);
}

/* Refuse at the handshake what party_open would: a new party past
 * --max-parties, a member past --max-members; and a join past the party's
 * --party-join-rate (429), which takes a token from the party's bucket
 * when admitted. */
static int party_admit(void *state, const struct rv__request *r, char *why, size_t why_len,
		       unsigned *retry_s)
{
	struct parties *ps = state;
	double wait_ms = 0;
	const struct rv_server_config *cfg = ps->hub->cfg;
	struct live_party *lp = rv__idmap_get(&ps->by_id, r->id);
	struct rv_party *p = lp ? lp->party : NULL;

	if (p && cfg->max_members && rv_party_size(p) >= cfg->max_members) {
		ps->hub->metrics.limit_refusals[RV_LIMIT_MEMBERS]++;
		snprintf(why, why_len, "member limit reached (%u)", cfg->max_members);
		return 503;
	}
	if (!p && cfg->max_parties && ps->hub->metrics.parties >= cfg->max_parties) {
		ps->hub->metrics.limit_refusals[RV_LIMIT_PARTIES]++;
		snprintf(why, why_len, "party limit reached (%u)", cfg->max_parties);
		return 503;
	}
	if (p && !rv_party_take_join(p, rv__hub_now(ps->hub), &wait_ms)) {
		*retry_s = rv__bucket_retry_s(wait_ms);
		snprintf(why, why_len, "party join rate reached (%u/s)", cfg->party_join_rate);
		return 429;
	}
	return 0;
}

/* pc joins lp now, with what its handshake said: 0, or RV_EFULL (the party
 * is full), -1 (out of memory); then the party is removed if empty. */
/* pc's member id, made once: in cluster mode ids must differ between
 * nodes too (a node's tag). */
static void make_mid(struct parties *ps, struct party_conn *pc)
{
	if (pc->mid[0])
		return;
	if (ps->hub->broker && ps->hub->broker->cluster)
		snprintf(pc->mid, sizeof(pc->mid), "m%llx-%08x",
			 (unsigned long long)++ps->next_member,
			 (unsigned)(ps->hub->broker->node >> 32));
	else
		snprintf(pc->mid, sizeof(pc->mid), "m%llx", (unsigned long long)++ps->next_member);
}

static bool resume(struct parties *ps, struct live_party *lp, struct party_conn *pc,
		   bool *reclaim);

/* A resume_take in flight for pc (NULL: it closed meanwhile). */
struct take_req {
	struct party_conn *pc;
	struct parties *ps;
};

/* Cluster mode, --party-retention: pc's token's record as Redis keeps it
 * (broker.h's resume_keep), so that a member who comes back through
 * another node (or after this one died) is who it was: until 0 while it
 * is here, host: it leaves as the host. Only the token's hash goes. */
static void keep_record(struct parties *ps, struct live_party *lp, const struct party_conn *pc,
			double until, bool host)
{
	struct rv__party_save_member m;
	char rec[RV__RESUME_REC_MAX];
	size_t len;

	if (!ps->keep || !cluster(ps) || !pc->has_token || !pc->member)
		return;
	memset(&m, 0, sizeof(m));
	memcpy(m.id, pc->member->id, sizeof(m.id));
	memcpy(m.name, pc->member->name, sizeof(m.name));
	m.until = until;
	if ((len = rv__resume_rec_encode(&m, pc->join_seq, host, rec, sizeof(rec))))
		rv__broker_resume_keep(ps->hub->broker, rv_party_id(lp->party), pc->token_hash, rec,
				       len);
}

static void admit_waiting(struct parties *ps, struct live_party *lp);

/* resume_take's answer: a record of the token (within its time) goes
 * into the party's records for resume() to find, with its join number;
 * then the held joins go on. */
static void resume_taken(void *arg, const char *rec, size_t len)
{
	struct take_req *rq = arg;
	struct party_conn *pc = rq->pc;
	struct rv__party_save_member m;
	struct live_party *lp;
	uint64_t join;
	bool host;

	/* pc closed meanwhile, or gave up waiting (take_timeout) */
	if (pc) {
		ev_timer_stop(rq->ps->hub->loop, &pc->take_w);
		pc->take = NULL;
		pc->looking = false;
	}
	free(rq);
	if (!pc || !(lp = pc->live))
		return;
	if (rec && rv__resume_rec_decode(rec, len, pc->token_hash, &m, &join, &host) &&
	    (!m.until || m.until >= rv__hub_now(lp->ps->hub))) {
		rv__keep_add(lp->ps->keep, &lp->kp, &m, host, rv__hub_now(lp->ps->hub));
		pc->join_seq = join;
	} else if (rec) {
		rv_log(lp->ps->hub->log, RV_LOG_DEBUG, "resume_record_ignored", "party=%s",
		       rv_party_id(lp->party));
	}
	admit_waiting(lp->ps, lp);
}

/* Redis did not answer pc's take in time: it goes on without (the
 * answer, when it comes, is dropped). */
static void take_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct party_conn *pc = t->data;
	struct live_party *lp = pc->live;

	(void)loop;
	(void)revents;
	rv_log(lp->ps->hub->log, RV_LOG_WARN, "resume_take_failed",
	       "party=%s: Redis did not answer within %.0f ms: this node's records only",
	       rv_party_id(lp->party), RECALL_WAIT_MS);
	pc->take->pc = NULL;
	pc->take = NULL;
	pc->looking = false;
	admit_waiting(lp->ps, lp);
}

/* Cluster mode: pc presented a token; its record is asked of Redis (the
 * newest word: a record this node kept may be older), and its join waits
 * for the answer (true); Redis not there: it joins as it would have, with
 * this node's records only. */
static bool start_take(struct parties *ps, struct live_party *lp, struct party_conn *pc)
{
	struct take_req *rq;

	if (!ps->keep || !cluster(ps) || !pc->presented || !pc->has_token ||
	    ps->hub->metrics.redis_state != RV_REDIS_STATE_UP || !(rq = malloc(sizeof(*rq))))
		return false;
	rq->pc = pc;
	rq->ps = ps;
	if (rv__broker_resume_take(ps->hub->broker, rv_party_id(lp->party), pc->token_hash,
				   resume_taken, rq)) {
		free(rq);
		return false;
	}
	pc->take = rq;
	ev_timer_init(&pc->take_w, take_timeout, RECALL_WAIT_MS / 1000, 0);
	pc->take_w.data = pc;
	ev_timer_start(ps->hub->loop, &pc->take_w);
	return pc->looking = true;
}

/* Must pc's join wait for Redis to say who hosts (deciding)? When it
 * would make itself host here: a cluster party with no host known, Redis
 * up. Then its join step is sent now: true when it went. */
static bool start_deciding(struct parties *ps, struct live_party *lp, struct party_conn *pc)
{
	char entry[RV_NAME_MAX_BYTES + 3];
	uint64_t seq;

	if (pc->looking || pc->decided || !pc->may_host || !ps->hub->broker ||
	    !ps->hub->broker->cluster || ps->hub->metrics.redis_state != RV_REDIS_STATE_UP ||
	    rv_party_host(lp->party))
		return false;
	/* a member who comes back joins Redis with its old id and name */
	resume(ps, lp, pc, &pc->reclaim);
	make_mid(ps, pc);
	/* the name the party will give it (Redis's copy is what the other
	 * nodes show): nothing joins before it, it is the next guest */
	if (!pc->has_name) {
		rv_party_next_guest_name(lp->party, pc->name, sizeof(pc->name));
		pc->has_name = true;
	}
	snprintf(entry, sizeof(entry), "1 %s", pc->name);
	if (!(seq = members_step(lp, RV__MEMBERS_JOIN, pc->mid, entry, pc->join_seq)))
		return false;
	pc->written = true;
	lp->deciding = seq;
	ev_timer_set(&lp->recall_w, RECALL_WAIT_MS / 1000, 0);
	ev_timer_start(ps->hub->loop, &lp->recall_w);
	return true;
}

/* --party-retention: a presented token that matches a member who left
 * (within the retention) gives pc that member's id (when free), name
 * (unless a connection token names it) and host role back; any other
 * gets a fresh token. True when it resumed; *reclaim: it takes the host
 * role back. */
static bool resume(struct parties *ps, struct live_party *lp, struct party_conn *pc,
		   bool *reclaim)
{
	struct rv__party_save_member rec;

	*reclaim = false;
	if (!pc->has_token || !pc->presented)
		return pc->resumed;
	pc->presented = false;
	if (!rv__keep_resume(&lp->kp, pc->token_hash, rv__hub_now(ps->hub), &rec, reclaim)) {
		pc->has_token = !rv__keep_new_token(pc->token, pc->token_hash);
		return false;
	}
	if (!pc->mid[0] && !rv_party_find(lp->party, rec.id))
		memcpy(pc->mid, rec.id, sizeof(pc->mid));
	if (!pc->name_from_claims) {
		memcpy(pc->name, rec.name, sizeof(pc->name));
		pc->has_name = true;
	}
	return pc->resumed = true;
}

static int join_now(struct parties *ps, struct live_party *lp, struct party_conn *pc)
{
	struct rv__conn *c = rv__conn_of_ep(pc);
	struct rv_outbox ob;
	bool reclaim, resumed = resume(ps, lp, pc, &reclaim);

	/* matched already by start_deciding */
	reclaim = reclaim || pc->reclaim;
	struct rv_party_join j;
	int err;

	make_mid(ps, pc);
	rv_outbox_init(&ob);
	j = (struct rv_party_join){ .member_id = pc->mid,
				    .name = pc->has_name ? pc->name : NULL,
				    .may_host = pc->may_host, .user = c,
				    .resume_token = pc->has_token ? pc->token : NULL,
				    .reclaim_host = reclaim };
	err = rv_party_join_ex(lp->party, &j, rv__hub_now(ps->hub), &pc->member, &ob);
	if (err) {
		if (err == RV_EFULL)
			ps->hub->metrics.limit_refusals[RV_LIMIT_MEMBERS]++;
		rv_outbox_clear(&ob);
		pc->live = NULL;
		remove_if_empty(ps, lp);
		return err == RV_EFULL ? RV_EFULL : -1;
	}
	pc->live = lp;
	lp->local++;
	lp->kp.dirty = true;
	if (resumed)
		rv_log(ps->hub->log, RV_LOG_INFO, "member_resumed", "party=%s member=%s name=%s%s",
		       rv_party_id(lp->party), pc->member->id, pc->member->name,
		       rv_party_host(lp->party) == pc->member ? " host" : "");
	if (ps->hub->broker && ps->hub->broker->cluster && !pc->written)
		write_member(lp, pc->member);
	keep_record(ps, lp, pc, 0, false);
	/* the cluster's host is the one Redis elects: a host who came back
	 * takes the role there too (as a transfer_host would) */
	if (reclaim && cluster(ps) && rv_party_host(lp->party) == pc->member)
		members_step(lp, RV__MEMBERS_HOST, pc->member->id, NULL, 0);
	rtt_start(ps, pc);
	rv_log_kv(ps->hub->log, RV_LOG_DEBUG, "joined",
		  RV_LOG_FIELDS(RV_LOG_STR("party", rv_party_id(lp->party)),
				RV_LOG_STR("member", pc->member->id),
				RV_LOG_STR("name", pc->member->name), RV_LOG_STR("remote", c->remote)),
		  NULL);
	deliver(lp->ps, lp->party, &ob);
	rearm(lp);
	return 0;
}

/* The held joins go in, in their order, until one must wait for Redis
 * to say who hosts (start_deciding): it and those after it stay held. One
 * the party refuses now is closed as party_open would have. lp may be
 * gone after. */
static void admit_waiting(struct parties *ps, struct live_party *lp)
{
	struct party_conn *pc;

	lp->releasing = true;           /* a refused join must not free lp */
	while ((pc = lp->waiting) && !lp->recall && !lp->deciding && !pc->looking) {
		int err;

		if (start_deciding(ps, lp, pc))
			break;
		if (!(lp->waiting = pc->wait_next))
			lp->waiting_tail = &lp->waiting;
		pc->wait_next = NULL;
		if ((err = join_now(ps, lp, pc))) {
			if (pc->written)
				members_step(lp, RV__MEMBERS_LEAVE, pc->mid, NULL, 0);
			rv__conn_request_close(rv__conn_of_ep(pc), err == RV_EFULL ? 1013 : 1011,
					       err == RV_EFULL ? "try again later" : "cannot join");
		}
	}
	lp->releasing = false;
	remove_if_empty(ps, lp);
}

/* An answer to a members step made after the deciding join's (r): the
 * first held join goes in once Redis named it host, or named a host this
 * node knows (it then joins as a member), or did not answer; a host not
 * known here yet is being read (take_step), and a later answer decides.
 * lp may be gone after. */
static void decide(struct parties *ps, struct live_party *lp, const struct rv__broker_members *r)
{
	struct party_conn *pc = lp->waiting;
	bool named = pc && r->host && r->host_len == strlen(pc->mid) &&
		     !memcmp(r->host, pc->mid, r->host_len);

	if (!r->failed && r->host && !named && !rv_party_host(lp->party))
		return;
	if (pc && r->seq == lp->deciding && r->join)
		pc->join_seq = r->join;
	lp->deciding = 0;
	ev_timer_stop(ps->hub->loop, &lp->recall_w);
	if (pc)
		pc->decided = true;
	admit_waiting(ps, lp);
}

/* What Redis kept (r, NULL when the recall failed) and then what was
 * relayed meanwhile, made lp's. A relayed kept message whose sequence the
 * recall covers is in it (or superseded by its state); that holds for
 * those arriving after the answer too (take_relayed): Redis may write the
 * answer and a message published before it to this node in either order. */
static void recall_done(struct parties *ps, struct live_party *lp,
			const struct rv__broker_recalled *r)
{
	struct rv_frame *f;
	struct rv_outbox ob;

	if (r) {
		rv__party_relay_recalled(ps->hub, lp->party, r);
		if (r->seq > lp->kept_seq)
			lp->kept_seq = r->seq;
	}
	for (struct relayed *m = lp->relayed; m; m = m->next) {
		rv_outbox_init(&ob);
		if ((f = take_relayed(lp, m->data, m->len, m->seq, &ob)))
			rv_frame_unref(f);
		deliver(ps, lp->party, &ob);
	}
	free_relayed(lp);
	rearm(lp);
}

/* The recall is over (answered with r, failed or timed out: NULL): the
 * party takes what it brought and what was relayed meanwhile, then the
 * held joins go in, in their order; one the party refuses now is closed
 * as party_open would have. */
static void release_waiting(struct parties *ps, struct live_party *lp,
			    const struct rv__broker_recalled *r)
{
	/* Redis failed: the store's party, as when Redis is down (get_or_create) */
	if (!r)
		rv__keep_restore(ps->keep, lp->party, &lp->kp, rv__hub_now(ps->hub), true);
	recall_done(ps, lp, r);
	lp->recall = NULL;
	ev_timer_stop(ps->hub->loop, &lp->recall_w);
	/* Redis did not answer the recall: it would not answer a join either */
	if (!r)
		for (struct party_conn *pc = lp->waiting; pc; pc = pc->wait_next)
			pc->decided = true;
	admit_waiting(ps, lp);
}

static void recalled(void *arg, const struct rv__broker_recalled *r);

/* Redis keeps nothing of lp, which is dormant here: its state and chat
 * history go to Redis (rv__broker_restore) with rq, whose answer
 * (recalled) is what Redis then holds. False: not dormant, or not sent. */
static bool restore_to_redis(struct live_party *lp, struct recall_req *rq)
{
	struct parties *ps = lp->ps;
	struct rv__party_save s;
	struct rv__relay_msg m = { .node = ps->hub->broker->node };
	struct rv_frame *f = NULL;
	char *state = NULL, *media = NULL, **chat = NULL;
	size_t state_len = 0, media_len = 0, *chat_len = NULL, n = 0;
	double now = rv__hub_now(ps->hub);
	bool sent = false;

	if (!rv__keep_peek(ps->keep, rv_party_id(lp->party), now, &s))
		return false;
	if (s.n_history && (!(chat = calloc(s.n_history, sizeof(*chat))) ||
			    !(chat_len = calloc(s.n_history, sizeof(*chat_len)))))
		goto out;
	m.kind = RV__RELAY_SYNC;
	m.state = s.state;
	if (!(f = rv_proto_sync_frame(&s.state, NULL, now, NULL)))
		goto out;
	m.frame = (const char *)rv_frame_data(f);
	m.frame_len = f->len;
	if (rv__relay_encode(&m, &state, &state_len))
		goto out;
	if (s.media_url[0]) {
		rv_frame_unref(f);
		if (!(f = rv_proto_media_frame(s.media_url, s.media_title, NULL, now, NULL)))
			goto out;
		m.kind = RV__RELAY_MEDIA;
		m.frame = (const char *)rv_frame_data(f);
		m.frame_len = f->len;
		if (rv__relay_encode(&m, &media, &media_len))
			goto out;
	}
	m.kind = RV__RELAY_CHAT;
	for (size_t i = 0; i < s.n_history; i++) {
		m.frame = s.history[i];
		m.frame_len = s.history_len[i];
		if (!rv__relay_encode(&m, &chat[n], &chat_len[n]))
			n++;
	}
	sent = !rv__broker_restore(ps->hub->broker, rv_party_id(lp->party), state, state_len,
				   media, media_len, (const char *const *)chat, chat_len, n,
				   recalled, rq);
	/* the answer comes later, never from within the call */
	rq->restoring = sent;
out:
	rv_frame_unref(f);
	free(state);
	free(media);
	for (size_t i = 0; i < n; i++)
		free(chat[i]);
	free(chat);
	free(chat_len);
	rv__party_save_clear(&s);
	return sent;
}

/* A recall's (or a restore's) answer. A party Redis keeps nothing of
 * that is dormant here is restored: to Redis first, so that of nodes
 * restoring it at once one wins and all take what it wrote (state, media
 * and history), then its resume records and host claim from the
 * store's document. One Redis has is no longer dormant here. */
static void recalled(void *arg, const struct rv__broker_recalled *r)
{
	struct recall_req *rq = arg;
	struct live_party *lp = rq->lp;
	struct parties *ps = lp ? lp->ps : NULL;
	struct rv__broker_recalled mine;

	if (lp && r && !rq->restoring && !r->state && !r->n && !r->media && ps->keep) {
		if (restore_to_redis(lp, rq))
			return;       /* the restore's answer comes here */
		/* not sent (Redis lost meanwhile): from the store alone */
		rv__keep_restore(ps->keep, lp->party, &lp->kp, rv__hub_now(ps->hub), true);
	}
	if (!lp) {
		free(rq);
		return;
	}
	if (!r)
		rv_log(ps->hub->log, RV_LOG_WARN, "recall_failed",
		       "party=%s: starts from this node's state", rv_party_id(lp->party));
	if (rq->restoring && r) {
		rv__keep_restore(ps->keep, lp->party, &lp->kp, rv__hub_now(ps->hub), r->restored);
		if (r->restored) {
			/* what it holds is what the party has now */
			mine = (struct rv__broker_recalled){ .seq = r->seq };
			r = &mine;
		} else {
			rv_log(ps->hub->log, RV_LOG_INFO, "party_restored_elsewhere",
			       "party=%s: another node restored it first", rv_party_id(lp->party));
		}
	} else if (r && (r->state || r->n || r->media)) {
		rv__keep_drop(ps->keep, rv_party_id(lp->party));
	}
	free(rq);
	release_waiting(ps, lp, r);
}

static void recall_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct live_party *lp = t->data;

	(void)loop;
	(void)revents;
	if (!lp->recall) {
		/* a join deciding who hosts: it goes in as this node decides */
		rv_log(lp->ps->hub->log, RV_LOG_WARN, "host_undecided",
		       "party=%s: Redis did not answer within %.0f ms: the joiner hosts here",
		       rv_party_id(lp->party), RECALL_WAIT_MS);
		lp->deciding = 0;
		if (lp->waiting)
			lp->waiting->decided = true;
		admit_waiting(lp->ps, lp);
		return;
	}
	rv_log(lp->ps->hub->log, RV_LOG_WARN, "recall_failed",
	       "party=%s: Redis did not answer within %.0f ms: starts from this node's state",
	       rv_party_id(lp->party), RECALL_WAIT_MS);
	drop_recall(lp);
	release_waiting(lp->ps, lp, NULL);
}

/* Hold lp's joins for a recall of what Redis kept of it, sent once its
 * channel is subscribed (party_subscribed): true when the joins must
 * wait. Not while Redis is down: there is nothing to wait for. */
static bool start_recall(struct parties *ps, struct live_party *lp)
{
	struct recall_req *rq;

	if (ps->hub->metrics.redis_state != RV_REDIS_STATE_UP || !(rq = malloc(sizeof(*rq))))
		return false;
	rq->lp = lp;
	rq->restoring = false;
	lp->recall = rq;
	lp->recall_sent = false;
	ev_timer_set(&lp->recall_w, RECALL_WAIT_MS / 1000, 0);
	ev_timer_start(ps->hub->loop, &lp->recall_w);
	return true;
}

/* party's channel is subscribed: what changes from now on reaches this
 * node as a notice or a message, so a read (and a recall) made now
 * misses nothing. Also after every reconnect of the subscriber. */
static void party_subscribed(void *user, const char *id)
{
	struct parties *ps = user;
	struct live_party *lp = rv__idmap_get(&ps->by_id, id);

	if (!lp)
		return;
	/* answered first (one connection, in order): the members are in
	 * before the joins the recall releases */
	read_members_now(lp);
	if (!lp->recall || lp->recall_sent)
		return;
	lp->recall_sent = true;
	if (rv__broker_recall(ps->hub->broker, id, recalled, lp->recall)) {
		free(lp->recall);
		release_waiting(ps, lp, NULL);
	}
}

static int party_open(void *state, struct rv__conn *c, const struct rv__request *r)
{
	struct parties *ps = state;
	const struct party_args *a = (const void *)r->args.bytes;
	struct party_conn *pc = rv__conn_ep(c);
	const char *name = NULL;
	struct live_party *lp;
	bool made = false;
	int err = get_or_create(ps, r->id, &lp, &made);

	if (err)
		return err;
	pc->conn = c;
	/* A token's name and role decide; an open server's joiners name
	 * themselves and may all host. */
	if (r->claims && r->claims->has_name)
		name = r->claims->name;
	else if (a->has_name)
		name = a->name;
	pc->name_from_claims = r->claims && r->claims->has_name;
	if (ps->keep) {
		if ((pc->presented = a->has_resume)) {
			memcpy(pc->token, a->resume, sizeof(pc->token));
			rv__resume_hash(pc->token, pc->token_hash);
			pc->has_token = true;
		} else {
			pc->has_token = !rv__keep_new_token(pc->token, pc->token_hash);
		}
	}
	if ((pc->has_name = name != NULL)) {
		/* a valid name (checked by the query or the token) fits */
		size_t n = strnlen(name, sizeof(pc->name) - 1);

		memcpy(pc->name, name, n);
		pc->name[n] = 0;
	}
	pc->may_host = !r->claims || r->claims->role == RV_TOKEN_ROLE_HOST;
	/* before the recall starts: Redis answers in order, so the record
	 * is in before the held joins go */
	start_take(ps, lp, pc);
	if (lp->recall || lp->waiting || (made && start_recall(ps, lp)) || pc->looking ||
	    start_deciding(ps, lp, pc)) {
		pc->live = lp;
		*lp->waiting_tail = pc;
		lp->waiting_tail = &pc->wait_next;
		return 0;
	}
	return join_now(ps, lp, pc);
}

static void party_message(void *state, struct rv__conn *c, const struct rv_msg *m, double now)
{
	struct parties *ps = state;
	struct party_conn *pc = rv__conn_ep(c);
	struct rv_outbox ob;

	/* held while the party recalls: the client speaks before its
	 * welcome, which it should not; dropped */
	if (!pc->member)
		return;
	rv_outbox_init(&ob);
	rv_party_handle(pc->live->party, pc->member, m, now, &ob);
	if (ob.error)
		ps->hub->metrics.errors[ob.error]++;
	/* the only rate limit the party applies is its budget; the sender's
	 * own (server.c) counts strikes toward 1008, this one does not: a
	 * member of a busy party is not abusing anything */
	if (ob.error == RV_ERR_RATE_LIMITED)
		ps->hub->metrics.party_budget_refusals[m->type == RV_MSG_REACTION]++;
	if (m->type == RV_MSG_SYNC && !ob.error)
		ps->hub->metrics.party_lead_ms = rv_party_lead_ms(pc->live->party, now);
	if (ob.has_drift)
		rv_metrics_drift(&ps->hub->metrics, fabs(ob.drift_ms));
	/* a hand-over is the cluster's: Redis's host is what every node reads */
	if (m->type == RV_MSG_TRANSFER_HOST && !ob.error && rv_party_host(pc->live->party))
		members_step(pc->live, RV__MEMBERS_HOST, rv_party_host(pc->live->party)->id, NULL,
			     0);
	/* what a restart keeps (party_keep.h): written by the next save tick */
	if (ps->keep && !ob.error) {
		switch (m->type) {
		case RV_MSG_TRANSFER_HOST:
			rv__keep_handed_over(&pc->live->kp);
			break;
		case RV_MSG_SYNC:
		case RV_MSG_CHAT:
		case RV_MSG_START:
		case RV_MSG_BUFFERING:
		case RV_MSG_READY:
		case RV_MSG_MEDIA:
			pc->live->kp.dirty = true;
			break;
		default:
			break;
		}
	}
	deliver(ps, pc->live->party, &ob);
	rearm(pc->live);
}

static void party_close(void *state, struct rv__conn *c)
{
	struct parties *ps = state;
	struct party_conn *pc = rv__conn_ep(c);
	struct live_party *lp = pc->live;
	struct rv_outbox ob;

	if (pc->take) {
		pc->take->pc = NULL;
		ev_timer_stop(ps->hub->loop, &pc->take_w);
	}
	pc->take = NULL;
	if (lp && !pc->member) {
		/* held while the party recalls or decides: out of the queue */
		struct party_conn **pp = &lp->waiting;
		bool was_deciding = lp->deciding && pc == lp->waiting;

		while (*pp && *pp != pc)
			pp = &(*pp)->wait_next;
		if (*pp) {
			*pp = pc->wait_next;
			if (lp->waiting_tail == &pc->wait_next)
				lp->waiting_tail = pp;
		}
		pc->live = NULL;
		/* its join went to Redis: out again, and the next decides */
		if (pc->written)
			members_step(lp, RV__MEMBERS_LEAVE, pc->mid, NULL, 0);
		if (was_deciding) {
			lp->deciding = 0;
			ev_timer_stop(ps->hub->loop, &lp->recall_w);
			admit_waiting(ps, lp);
			return;
		}
		remove_if_empty(ps, lp);
		return;
	}
	if (!lp || !pc->member)
		return;
	ev_timer_stop(ps->hub->loop, &pc->rtt_w);
	rv_log_kv(ps->hub->log, RV_LOG_DEBUG, "left",
		  RV_LOG_FIELDS(RV_LOG_STR("party", rv_party_id(lp->party)),
				RV_LOG_STR("member", pc->member->id),
				RV_LOG_STR("name", pc->member->name), RV_LOG_STR("remote", c->remote),
				RV_LOG_INT("code", c->close_code ? c->close_code : 1006),
				RV_LOG_STR("reason", c->close_echo ? "closed by the client" :
					   c->close_reason)),
		  NULL);
	rv_outbox_init(&ob);
	rv__keep_left(ps->keep, &lp->kp, pc->member, pc->has_token ? pc->token_hash : NULL,
		      rv_party_host(lp->party) == pc->member, rv__hub_now(ps->hub));
	/* before its leave: the step that empties the party deletes it */
	keep_record(ps, lp, pc, rv__hub_now(ps->hub) + rv__keep_retention_ms(ps->keep),
		    rv_party_host(lp->party) == pc->member);
	members_step(lp, RV__MEMBERS_LEAVE, pc->member->id, NULL, 0);
	rv_party_leave(lp->party, pc->member, rv__hub_now(ps->hub), &ob);
	lp->local--;
	pc->member = NULL;
	pc->live = NULL;
	deliver(lp->ps, lp->party, &ob);
	if (lp->local)
		rearm(lp);
	else
		remove_if_empty(ps, lp);
}


/* ---- the admin API (admin.h) ------------------------------------------ */

static json_t *state_json(const struct rv_party *p)
{
	const struct rv_playback *st = rv_party_state(p);

	return json_pack("{s:f, s:b, s:f, s:f}", "position", st->position, "playing", st->playing,
			 "speed", st->speed, "server_time", st->server_time);
}

static json_t *party_json(const struct live_party *lp)
{
	const struct rv_member *h = rv_party_host(lp->party);

	return json_pack("{s:s, s:I, s:I, s:o, s:o}", "id", rv_party_id(lp->party),
			 "members", (json_int_t)rv_party_size(lp->party),
			 "local_members", (json_int_t)lp->local,
			 "host", h ? json_pack("{s:s, s:s}", "id", h->id, "name", h->name) : json_null(),
			 "state", state_json(lp->party));
}

static void list_one(void *value, void *arg)
{
	json_t *arr = arg;
	json_t *o = party_json(value);

	/* out of memory: the list is short of it, and marked so */
	if (!o || json_array_append_new(arr, o))
		json_array_append_new(arr, json_null());
}

json_t *rv__party_admin_list(void *party_state)
{
	struct parties *ps = party_state;
	json_t *arr = json_array();

	if (arr)
		rv__idmap_each(&ps->by_id, list_one, arr);
	return arr;
}

int rv__party_admin_show(void *party_state, const char *id, json_t **out)
{
	struct parties *ps = party_state;
	struct live_party *lp = rv__idmap_get(&ps->by_id, id);
	const struct rv_member *host;
	json_t *o, *arr;

	*out = NULL;
	if (!lp)
		return RV_ENOENT;
	host = rv_party_host(lp->party);
	o = party_json(lp);
	arr = json_array();
	if (!o || !arr || json_object_set_new(o, "member_list", arr)) {
		json_decref(o);
		return RV_ENOMEM;
	}
	for (const struct rv_member *m = rv_party_first(lp->party); m; m = m->next) {
		char addr[48] = "";
		json_t *e;

		/* the client's address: behind a --trusted-proxy the one it
		 * forwarded, as the logs and per-address limits see it */
		if (!m->remote) {
			const struct rv__conn *c = m->user;

			if (c->remote && c->remote[0])
				snprintf(addr, sizeof(addr), "%s", c->remote);
			else
				lws_get_peer_simple(c->wsi, addr, sizeof(addr));
		}
		e = json_pack("{s:s, s:s, s:s, s:b, s:o}", "id", m->id, "name", m->name, "role",
			      m == host ? "host" : "member", "remote", m->remote,
			      "address", m->remote ? json_null() : json_string(addr));
		if (!e || json_array_append_new(arr, e)) {
			json_decref(o);
			return RV_ENOMEM;
		}
	}
	*out = o;
	return 0;
}

int rv__party_admin_close(void *party_state, const char *id, int code, const char *reason,
			  unsigned *closed)
{
	struct parties *ps = party_state;
	struct live_party *lp = rv__idmap_get(&ps->by_id, id);

	*closed = 0;
	if (!lp)
		return RV_ENOENT;
	/* the members leave as their connections end, the party with the last */
	for (struct rv_member *m = rv_party_first(lp->party); m; m = m->next)
		if (!m->remote) {
			rv__conn_request_close(m->user, code, reason);
			(*closed)++;
		}
	for (struct party_conn *pc = lp->waiting; pc; pc = pc->wait_next) {
		rv__conn_request_close(pc->conn, code, reason);
		(*closed)++;
	}
	return 0;
}

int rv__party_admin_remove(void *party_state, const char *id, const char *member, int code,
			   const char *reason, char *mid, char *why, size_t why_len)
{
	struct parties *ps = party_state;
	struct live_party *lp = rv__idmap_get(&ps->by_id, id);
	struct rv_member *found = NULL;
	unsigned named = 0;

	if (!lp) {
		snprintf(why, why_len, "no party %s on this server", id);
		return RV_ENOENT;
	}
	/* a member id first (unique), else a display name held by one only */
	found = rv_party_find(lp->party, member);
	if (!found)
		for (struct rv_member *m = rv_party_first(lp->party); m; m = m->next)
			if (!strcmp(m->name, member) && named++ == 0)
				found = m;
	if (!found) {
		snprintf(why, why_len, "no member %s in party %s", member, id);
		return RV_ENOENT;
	}
	if (named > 1) {
		snprintf(why, why_len, "%u members of party %s are named %s: give the member id",
			 named, id, member);
		return RV_ESTATE;
	}
	if (found->remote) {
		snprintf(why, why_len, "member %s is on another node: ask that node", found->id);
		return RV_EINVAL;
	}
	snprintf(mid, RV_MEMBER_ID_MAX + 1, "%s", found->id);
	rv__conn_request_close(found->user, code, reason);
	return 0;
}

const struct rv__endpoint rv__ep_party = {
	.name = "party",
	.path = "/ws/party",
	.conn_size = sizeof(struct party_conn),
	.scope = RV_TOKEN_SCOPE_PARTY,
	.start = parties_start,
	.stop = parties_stop,
	.query = party_query,
	.admit = party_admit,
	.open = party_open,
	.message = party_message,
	.close = party_close,
	.pong = party_pong,
};
