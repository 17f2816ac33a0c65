/* lib/broker.h - internal: the broker, what carries party messages between
 * the nodes of a cluster: one interface, two implementations.
 *
 *   local (broker.c): today's single process; nothing leaves it, every
 *     call is a no-op, the server runs as it always has.
 *   Redis (broker_redis.c, --redis URL): one publisher and one subscriber
 *     connection to Redis (redis_conn.h, on the server's own libev loop),
 *     a channel "revenge:party:{id}" per party with local members.
 *   shards (broker_shard.c, --redis URL,URL,...): one Redis broker per
 *     Redis server of the list; each party's (and progress or quality
 *     session's) calls go to the shard its id hashes to (shard.h), each
 *     node's lease is on every shard.
 *
 * The party endpoint (ep_party.c) subscribes a party while it has local
 * members, publishes each party message other nodes' members must see
 * once (an envelope, relay.h), and is handed what other nodes publish
 * through on_message. The progress endpoint (ep_progress.c) subscribes a
 * progress session ("revenge:progress:{id}[:{owner}]") while it has local
 * connections, publishes each report once the store committed it, and is
 * handed other nodes' through on_progress. The stream endpoint
 * (ep_stream.c) likewise subscribes a quality session
 * ("revenge:quality:{id}[:{owner}]"), publishes each profile change as it
 * is made, and is handed other nodes' through on_quality. Everything runs
 * on the loop thread.
 */
#ifndef REVENGE_BROKER_H
#define REVENGE_BROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "revenge/error.h"

struct rv__hub;
struct rv__broker;
struct rv_progress_rec;

/* What Redis keeps of a party for a node that gets its first member of it
 * later (recall): the last sync's envelope, the last media's (unless it
 * cleared the media) and the chat history's, oldest first, all borrowed
 * for the callback. */
struct rv__broker_recalled {
	uint64_t seq;                   /* the party's kept sequence then (0: none) */
	const char *state;              /* NULL: no sync kept */
	size_t state_len;
	const char *media;              /* NULL: no media kept */
	size_t media_len;
	size_t n;                       /* chat envelopes */
	const char *const *chat;
	const size_t *chat_len;
	bool restored;                  /* restore: this call wrote them */
};

/* A party's members as Redis holds them (broker.h's members): the
 * cluster's host (NULL: none) and every member's id and entry (relay.h's
 * rv__relay_member_decode), all borrowed for the callback. */
struct rv__broker_members {
	uint64_t seq;                   /* the step's, as members was given it */
	bool failed;                    /* no answer (Redis lost, an error): nothing else set */
	const char *host;
	size_t host_len;
	/* a read answers the party's members (n of them, maybe none); a join,
	 * leave or host step only the host, and a join its member's join
	 * number (join, 0: none) */
	bool has_list;
	const char *member;             /* the step's member, "" for a read */
	uint64_t join;
	size_t n;
	const char *const *id;
	const size_t *id_len;
	const char *const *entry;
	const size_t *entry_len;
};

enum rv__members_op { RV__MEMBERS_READ, RV__MEMBERS_JOIN, RV__MEMBERS_LEAVE, RV__MEMBERS_HOST };

/* What publish_kept keeps: the party's state (a sync's envelope, replacing
 * the last), a chat appended to its history, its media (a media's
 * envelope, replacing the last), or no media (a media that cleared it:
 * the kept one is deleted, the envelope only published). */
enum rv__kept { RV__KEPT_STATE, RV__KEPT_CHAT, RV__KEPT_MEDIA, RV__KEPT_MEDIA_NONE };

/* A recall's answer, called once: r NULL when it failed (Redis lost,
 * an error answer, the broker stopped). */
typedef void (*rv__broker_recall_cb)(void *arg, const struct rv__broker_recalled *r);

/* A resume_take's answer, called once: the record (len bytes, borrowed
 * for the call), or NULL when there is none or it failed. */
typedef void (*rv__broker_resume_cb)(void *arg, const char *rec, size_t len);

struct rv__broker_ops {
	const char *name;       /* "local", "redis" */
	/* Publish len bytes on party's channel; the bytes are copied. 0, or
	 * RV_EIO when not connected or over the bound of unanswered
	 * publishes (the message then reaches this node's members only). */
	int (*publish)(struct rv__broker *b, const char *party, const void *data, size_t len);
	/* publish, and keep data in Redis with it, atomically, as what says
	 * (enum rv__kept; a chat's history keeps the last keep, keep 0:
	 * publish only; keep is unused otherwise). Each kept
	 * message takes the party's next kept sequence number, which its
	 * receivers get with it (on_message) and a recall reports: a message
	 * of a sequence the recall covers is in it (or superseded by it). */
	int (*publish_kept)(struct rv__broker *b, const char *party, enum rv__kept what,
			    const void *data, size_t len, unsigned keep);
	/* Read what publish_kept kept for party: 0 and cb called once later,
	 * or RV_EIO (not connected) / RV_ENOMEM and cb never called. */
	int (*recall)(struct rv__broker *b, const char *party, rv__broker_recall_cb cb,
		      void *arg);
	/* recall, but when Redis keeps nothing of party (no state, chat or
	 * sequence or media) first keep state (NULL: none), media (NULL: none)
	 * and the n chat envelopes (oldest first) as the party's, in one step (a Lua script): of
	 * nodes restoring a party at once (from the store, --party-retention)
	 * one writes, and every answer is what Redis then holds, with
	 * restored true for the one that wrote. As recall otherwise. */
	int (*restore)(struct rv__broker *b, const char *party, const char *state,
		       size_t state_len, const char *media, size_t media_len,
		       const char *const *chat, const size_t *chat_len,
		       size_t n, rv__broker_recall_cb cb, void *arg);
	/* One atomic step (a Lua script) on party's members in Redis: op
	 * (join: member with entry "<may host 0|1> <name>", its join order
	 * join when not 0 (its place before Redis lost it: the counter is
	 * raised to it), else the party's counter, unless it is there already; leave: member;
	 * host: member, present and may host, is made host (transfer_host);
	 * read), then the host elected when the party has none (or lost it):
	 * the longest-present member who may host. A read also drops the
	 * members of nodes whose lease is gone, and answers the party's
	 * members and host through on_members; the other steps answer the
	 * host (and a join the member's join number) and cost O(1) while the
	 * party keeps its host, O(log n) while it has none (an index of those
	 * who may host). When anything changed, the other nodes get a notice
	 * on the party's channel ("RVM <node>", which on_message hands on).
	 * seq comes back with the answer (answers come in the order the steps
	 * were made). 0, or RV_EIO (not connected), RV_ENOMEM. */
	int (*members)(struct rv__broker *b, const char *party, enum rv__members_op op,
		       const char *member, const char *entry, uint64_t join, uint64_t seq);
	/* --party-retention: keep rec (party_save.h's resume record, len
	 * bytes) under token hash hash in party's resume hash
	 * ("revenge:party:{id}:resume", the party's TTL, deleted with its
	 * members by the members step that empties it); or take the record of
	 * hash off it in one step, unless its member is in the party's members
	 * (still present somewhere): cb called once later. Only hashes of
	 * tokens go to Redis. 0, or RV_EIO (not connected) / RV_ENOMEM, and
	 * then cb is never called. */
	int (*resume_keep)(struct rv__broker *b, const char *party, const char *hash,
			   const char *rec, size_t len);
	int (*resume_take)(struct rv__broker *b, const char *party, const char *hash,
			   rv__broker_resume_cb cb, void *arg);
	/* Which of nodes (other nodes' ids) still hold their lease: one
	 * MGET of their lease keys, whatever the number of parties, on every
	 * shard; each shard's answer comes through on_leases. 0, or RV_EIO (not connected),
	 * RV_ENOMEM. */
	int (*leases)(struct rv__broker *b, const uint64_t *nodes, size_t n);
	/* Start or stop receiving party's channel; kept across reconnects
	 * (each time Redis confirms it, on_subscribed). 0 or RV_ENOMEM. */
	int (*subscribe)(struct rv__broker *b, const char *party);
	void (*unsubscribe)(struct rv__broker *b, const char *party);
	/* Queue rec (a report the store committed) for the other nodes
	 * holding connections of its session: the reports queued in one loop
	 * turn go to Redis together (one command per up to a few hundred),
	 * before the loop waits again. 0, or RV_EIO when not connected or
	 * over the bound of what waits (the report then reaches other nodes
	 * only through the store, when they next read it). */
	int (*progress_publish)(struct rv__broker *b, const struct rv_progress_rec *rec);
	/* Start or stop receiving (owner, session)'s reports; kept across
	 * reconnects (each time Redis confirms it, on_progress_subscribed).
	 * 0 or RV_ENOMEM. */
	int (*progress_subscribe)(struct rv__broker *b, const char *owner, const char *session);
	void (*progress_unsubscribe)(struct rv__broker *b, const char *owner,
				     const char *session);
	/* Tell the other nodes holding connections of quality session
	 * (owner, session) that its profile is now profile (a ladder name):
	 * one PUBLISH on its channel. 0, or RV_EIO when not connected (the
	 * change then stays on this node), RV_EINVAL (not a ladder name). */
	int (*quality_publish)(struct rv__broker *b, const char *owner, const char *session,
			       const char *profile);
	/* Start or stop receiving (owner, session)'s profile changes; kept
	 * across reconnects. 0 or RV_ENOMEM. */
	int (*quality_subscribe)(struct rv__broker *b, const char *owner, const char *session);
	void (*quality_unsubscribe)(struct rv__broker *b, const char *owner,
				    const char *session);
	/* Close the connections and stop every watcher (the drain: the loop
	 * must run out of work); later calls are no-ops. */
	void (*stop)(struct rv__broker *b);
	void (*free)(struct rv__broker *b);
};

struct rv__broker {
	const struct rv__broker_ops *ops;
	uint64_t node;          /* this node's id, in every envelope it sends */
	bool cluster;           /* false: local, publishing is pointless */
	unsigned n_shards;      /* Redis shards (rv__broker_shard_of), 1 for one Redis */
	/* What another node published on a subscribed party's channel (this
	 * node's own publications are the receiver's to drop: relay.h's
	 * origin), with its kept sequence (0: not kept, a notice or a
	 * reaction). Set by the party endpoint; data is borrowed for the call. */
	void (*on_message)(void *user, const char *party, const char *data, size_t len,
			   uint64_t seq);
	/* Redis shard is up (again), or this node's lease there had run
	 * out: the members steps' writes of the parties on that shard
	 * (rv__broker_shard_of) may be lost. */
	void (*on_up)(void *user, unsigned shard);
	/* Redis shard went down (it was up): other nodes' messages on its
	 * parties stop reaching this node until on_up (NULL: not set). */
	void (*on_down)(void *user, unsigned shard);
	/* Redis confirmed the subscription of party's channel: from now on
	 * every message and notice published there reaches this node, so a
	 * read made after this sees every change (NULL: not set). */
	void (*on_subscribed)(void *user, const char *party);
	/* leases' answer from one shard: alive[i] tells whether nodes[i]
	 * holds its lease there, which is what the members of that shard's
	 * parties are swept by (NULL: not set); not called when it failed. */
	void (*on_leases)(void *user, unsigned shard, const uint64_t *nodes, const bool *alive,
			  size_t n);
	/* A members step's answer (NULL: not set); r->failed when there was
	 * none (every step made is answered once, in order). */
	void (*on_members)(void *user, const char *party, const struct rv__broker_members *r);
	void *user;
	/* A report another node committed for a subscribed progress session
	 * (this node's own are not handed back), borrowed for the call; and
	 * Redis confirmed a progress session's subscription: from now on
	 * every report reaches this node, so a read of the store made after
	 * it misses none (NULL: not set). Set by the progress endpoint. */
	void (*on_progress)(void *user, const struct rv_progress_rec *rec);
	void (*on_progress_subscribed)(void *user, const char *owner, const char *session);
	void *progress_user;
	/* Another node's profile change for a subscribed quality session
	 * (this node's own are not handed back; profile is a well-formed
	 * ladder name, not necessarily of this node's ladder), borrowed for
	 * the call (NULL: not set). Set by the stream endpoint. */
	void (*on_quality)(void *user, const char *owner, const char *session,
			   const char *profile);
	void *quality_user;
};

/* The local broker: 0 with *out set, or RV_ENOMEM. Free with
 * rv__broker_free. */
int rv__broker_local_new(struct rv__broker **out);

/* The Redis broker for url (checked beforehand with rv__redis_url_parse),
 * connecting at once and reconnecting on its own; with a rediss:// URL,
 * TLS with tls's files (redis_conn.h; NULL: none, the system's CAs). 0
 * with *out set, or RV_EINVAL with why filled (a bad URL, a host that does
 * not resolve), RV_ETLS with why filled (a file that is not PEM, a key
 * that is not the certificate's), RV_ENOMEM. It updates hub's metrics
 * (redis_state and the counters). */
struct rv__redis_tls_files;
struct rv__broker_redis_opts {
	unsigned shard;         /* its place in the list: metrics' redis_shard[shard] */
	uint64_t node;          /* this node's id; 0: a new random one */
	bool clock;             /* this one aligns the server time on Redis's TIME */
};
int rv__broker_redis_new(struct rv__hub *hub, const char *url,
			 const struct rv__redis_tls_files *tls,
			 const struct rv__broker_redis_opts *o, struct rv__broker **out,
			 char *why, size_t why_len);

/* The broker for list, one URL or several separated by commas (checked
 * beforehand with rv__redis_urls_check): the Redis broker of the one URL
 * (shard 0, which aligns the clock), or for several the shard broker over
 * a Redis broker per URL, all with one node id; the first shard aligns
 * the clock. 0 with *out set, else as rv__broker_redis_new (why names the
 * shard). Free with rv__broker_free. */
int rv__broker_shards_new(struct rv__hub *hub, const char *list,
			  const struct rv__redis_tls_files *tls, struct rv__broker **out,
			  char *why, size_t why_len);

/* The shard, in [0, b->n_shards), that holds party id's (or progress
 * session id's) channel and keys; 0 for a local broker. */
unsigned rv__broker_shard_of(const struct rv__broker *b, const char *id);

/* NULL-safe wrappers. */
static inline int rv__broker_publish(struct rv__broker *b, const char *party,
				     const void *data, size_t len)
{
	return b && b->cluster ? b->ops->publish(b, party, data, len) : 0;
}

static inline int rv__broker_publish_kept(struct rv__broker *b, const char *party,
					  enum rv__kept what, const void *data, size_t len,
					  unsigned keep)
{
	return b && b->cluster ? b->ops->publish_kept(b, party, what, data, len, keep) : 0;
}

/* RV_EIO in local mode: nothing to recall. */
static inline int rv__broker_recall(struct rv__broker *b, const char *party,
				    rv__broker_recall_cb cb, void *arg)
{
	return b && b->cluster ? b->ops->recall(b, party, cb, arg) : RV_EIO;
}

/* RV_EIO in local mode. */
static inline int rv__broker_restore(struct rv__broker *b, const char *party, const char *state,
				     size_t state_len, const char *media, size_t media_len,
				     const char *const *chat,
				     const size_t *chat_len, size_t n, rv__broker_recall_cb cb,
				     void *arg)
{
	return b && b->cluster ?
		b->ops->restore(b, party, state, state_len, media, media_len, chat, chat_len, n, cb,
				arg) : RV_EIO;
}

static inline int rv__broker_members(struct rv__broker *b, const char *party,
				     enum rv__members_op op, const char *member,
				     const char *entry, uint64_t join, uint64_t seq)
{
	return b && b->cluster ? b->ops->members(b, party, op, member, entry, join, seq)
			       : RV_EIO;
}

/* Whether a lease renewed at last_ms (server ms) is overdue at now_ms for
 * a renewal every every_ms: a quarter of a period late, so that the timer
 * renews while it runs on time and a publish renews only while a long
 * loop turn holds the timer back; a clock stepped back (now before last)
 * is overdue too, so that a renewal puts last right. */
static inline bool rv__lease_overdue(double last_ms, double now_ms, double every_ms)
{
	return now_ms < last_ms || now_ms - last_ms >= every_ms * 1.25;
}

static inline int rv__broker_resume_keep(struct rv__broker *b, const char *party,
					 const char *hash, const char *rec, size_t len)
{
	return b && b->cluster ? b->ops->resume_keep(b, party, hash, rec, len) : RV_EIO;
}

/* RV_EIO in local mode: nothing to take. */
static inline int rv__broker_resume_take(struct rv__broker *b, const char *party,
					 const char *hash, rv__broker_resume_cb cb, void *arg)
{
	return b && b->cluster ? b->ops->resume_take(b, party, hash, cb, arg) : RV_EIO;
}

static inline int rv__broker_leases(struct rv__broker *b, const uint64_t *nodes, size_t n)
{
	return b && b->cluster ? b->ops->leases(b, nodes, n) : RV_EIO;
}

static inline int rv__broker_subscribe(struct rv__broker *b, const char *party)
{
	return b && b->cluster ? b->ops->subscribe(b, party) : 0;
}

static inline void rv__broker_unsubscribe(struct rv__broker *b, const char *party)
{
	if (b && b->cluster)
		b->ops->unsubscribe(b, party);
}

static inline int rv__broker_progress_publish(struct rv__broker *b,
					      const struct rv_progress_rec *rec)
{
	return b && b->cluster ? b->ops->progress_publish(b, rec) : 0;
}

static inline int rv__broker_progress_subscribe(struct rv__broker *b, const char *owner,
						const char *session)
{
	return b && b->cluster ? b->ops->progress_subscribe(b, owner, session) : 0;
}

static inline void rv__broker_progress_unsubscribe(struct rv__broker *b, const char *owner,
						   const char *session)
{
	if (b && b->cluster)
		b->ops->progress_unsubscribe(b, owner, session);
}

static inline int rv__broker_quality_publish(struct rv__broker *b, const char *owner,
					     const char *session, const char *profile)
{
	return b && b->cluster ? b->ops->quality_publish(b, owner, session, profile) : 0;
}

static inline int rv__broker_quality_subscribe(struct rv__broker *b, const char *owner,
					       const char *session)
{
	return b && b->cluster ? b->ops->quality_subscribe(b, owner, session) : 0;
}

static inline void rv__broker_quality_unsubscribe(struct rv__broker *b, const char *owner,
						  const char *session)
{
	if (b && b->cluster)
		b->ops->quality_unsubscribe(b, owner, session);
}

static inline void rv__broker_stop(struct rv__broker *b)
{
	if (b)
		b->ops->stop(b);
}

static inline void rv__broker_free(struct rv__broker *b)
{
	if (b)
		b->ops->free(b);
}

#endif
