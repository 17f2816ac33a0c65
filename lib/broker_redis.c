/* lib/broker_redis.c - the Redis broker (see broker.h): cluster mode.
 *
 * Three connections to Redis (redis_conn.h: our transport on the server's
 * own libev loop, plain or TLS, hiredis's RESP reader and formatter), so
 * no thread and no blocking call: a publisher (PUBLISH, one per party
 * message), a subscriber (SUBSCRIBE revenge:party:{id} for each party
 * with local members) and a small control connection for the lease's
 * renewal and the lease check, which must never wait behind a burst of
 * publishes. For rediss:// they share one TLS context, which verifies
 * Redis's certificate (the system's CAs or --redis-ca) and that it names
 * the URL's host.
 *
 * Each connection runs AUTH (when the URL has a password) and SELECT, and
 * is ready on SELECT's answer; lost or refused, it is made again after a
 * backoff with jitter (backoff.h). Redis is up (metrics, /healthz) while
 * both are ready. While it is not, publishes are dropped and counted:
 * the parties of this node go on alone.
 *
 * Every TIME_EVERY_S the publisher asks Redis its TIME: the offset of this
 * node's server time to Redis's, from the sample of least round trip of
 * the last TIME_WINDOW, is a gauge (revenge_redis_clock_offset_ms); the
 * spread of the nodes' offsets is how far apart their stamps are.
 *
 * Each node holds a lease (revenge:node:{node}, LEASE_MS, renewed every
 * LEASE_EVERY_S with XX so that a lapse shows); the party endpoint asks
 * which of the other nodes still hold theirs (one MGET, leases) instead
 * of reading every party's members on a timer. Both go on the control
 * connection (the publisher's queue may hold seconds of a member's burst
 * on a slow link), and the renewal is also sent from the publish path
 * once due, written at once: a loop turn spent publishing a burst does
 * not hold it back either. The control connection is not part of "up":
 * while it is not ready, both go on the publisher as before.
 *
 * Progress sessions have channels too (revenge:progress:{id}, and
 * ":{owner}" after it for a token's owner), subscribed while this node
 * holds connections of the session: the reports the store committed in a
 * loop turn are published together, as one script call (PUBLISH each)
 * per PROGRESS_CHUNK of them, when the turn ends (ev_prepare). Quality
 * sessions likewise (revenge:quality:{id}[:{owner}]): a profile change is
 * one PUBLISH there, as it happens; a line that is not one (relay.h's
 * RQ1) is logged and dropped.
 *
 * A channel is subscribed while wanted; a party (or session) that empties and refills
 * before its UNSUBSCRIBE is answered is subscribed again on the answer
 * (a SUBSCRIBE sent while the UNSUBSCRIBE is under way would be undone by
 * it on a connection that lost track; this keeps one in flight a channel).
 */
#include "broker.h"

#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <ev.h>
#include <openssl/sha.h>
#include <hiredis/hiredis.h>

#include "revenge/backoff.h"
#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/party.h"
#include "revenge/proto.h"

#include "conn.h"
#include "idmap.h"
#include "redis_conn.h"
#include "redis_url.h"
#include "relay.h"

#define CHANNEL_PREFIX "revenge:party:"
#define NODE_PREFIX "revenge:node:"
#define CHANNEL_MAX (sizeof(CHANNEL_PREFIX) + RV_ID_MAX + 1)
#define PROGRESS_PREFIX "revenge:progress:"
#define QUALITY_PREFIX "revenge:quality:"
/* any channel's name: the longest is a progress session's with an owner */
#define CHAN_NAME_MAX (sizeof(PROGRESS_PREFIX) + RV_ID_MAX + 1 + RV_STORE_OWNER_MAX + 1)
/* Reports published by one script call, and reports waiting for the end
 * of the loop turn past which more are dropped (Redis too slow). */
#define PROGRESS_CHUNK 256
#define PROGRESS_PENDING_MAX 16384
#define PROGRESS_LUA "for i = 1, #ARGV, 2 do redis.call('PUBLISH', ARGV[i], ARGV[i + 1]) end " \
	"return 0"
/* PUBLISHes sent and not yet answered; beyond, a message is dropped
 * rather than buffered without bound while Redis is slow. */
#define PUBLISH_INFLIGHT_MAX 10000
#define RETRY_BASE_MS 100.0
#define RETRY_MAX_MS 5000.0
/* A party's kept state, media and chat outlive their last write by this much:
 * no node knows yet when a party is empty everywhere (membership is not
 * in Redis yet), so what a party left behind expires instead. */
#define KEEP_MS 21600000u
/* Recalled chat envelopes beyond this are ignored (history is capped
 * when written; this bounds what a stranger's list could cost). */
#define RECALL_MAX 10000
/* Lua, so that the write and the PUBLISH are one step: a node's recall
 * sees every message published before it, and no half. Each kept message
 * takes the party's next kept sequence number (KEYS[3]), published before
 * it ("RVK <seq> <envelope>"): a receiver tells by it what a recall
 * already holds, whatever order the answer and the message reach it in.
 * KEYS[1] the kept key, [2] the channel, [3] the sequence; ARGV[1] the
 * envelope, [2] the TTL, [3] keep (a chat: the history's length; a media:
 * 1 kept, 0 the kept one deleted, a media that cleared it). */
#define KEPT_PREFIX "RVK "
#define KEEP_SEQ_LUA "local n = redis.call('INCR',KEYS[3]) " \
	"redis.call('PEXPIRE',KEYS[3],ARGV[2]) "
#define KEEP_PUBLISH_LUA \
	"return redis.call('PUBLISH',KEYS[2],'" KEPT_PREFIX "' .. n .. ' ' .. ARGV[1])"
#define KEEP_STATE_LUA KEEP_SEQ_LUA "redis.call('SET',KEYS[1],ARGV[1],'PX',ARGV[2]) " \
	KEEP_PUBLISH_LUA
#define KEEP_CHAT_LUA KEEP_SEQ_LUA "redis.call('RPUSH',KEYS[1],ARGV[1]) " \
	"redis.call('LTRIM',KEYS[1],-tonumber(ARGV[3]),-1) " \
	"redis.call('PEXPIRE',KEYS[1],ARGV[2]) " KEEP_PUBLISH_LUA
#define KEEP_MEDIA_LUA KEEP_SEQ_LUA "if ARGV[3] == '1' then " \
	"redis.call('SET',KEYS[1],ARGV[1],'PX',ARGV[2]) else redis.call('DEL',KEYS[1]) end " \
	KEEP_PUBLISH_LUA
/* GET of a missing key is false in Lua, a nil in the array: no hole.
 * KEYS: state, chat, kept sequence, media. A media key of another type
 * (written by someone else) answers its error in its place, not the
 * whole recall's: the state and history still come. */
#define RECALL_LUA "return {redis.call('GET',KEYS[1]),redis.call('LRANGE',KEYS[2],0,-1)," \
	"redis.call('GET',KEYS[3]),redis.pcall('GET',KEYS[4])}"
/* A party restored from the store (broker.h's restore): written only when
 * Redis keeps nothing of it, then answered as a recall, with 1 when this
 * call wrote. KEYS as RECALL_LUA's; ARGV[1] the TTL, [2] the state
 * envelope ('' none), [3] the media envelope ('' none), [4..] the chat
 * envelopes, oldest first. */
#define RESTORE_LUA "local w = 0 " \
	"if redis.call('EXISTS',KEYS[1],KEYS[2],KEYS[3],KEYS[4]) == 0 then " \
	"  redis.call('SET',KEYS[3],1,'PX',ARGV[1]) " \
	"  if ARGV[2] ~= '' then redis.call('SET',KEYS[1],ARGV[2],'PX',ARGV[1]) end " \
	"  if ARGV[3] ~= '' then redis.call('SET',KEYS[4],ARGV[3],'PX',ARGV[1]) end " \
	"  for i = 4, #ARGV do redis.call('RPUSH',KEYS[2],ARGV[i]) end " \
	"  if #ARGV > 3 then redis.call('PEXPIRE',KEYS[2],ARGV[1]) end " \
	"  w = 1 " \
	"end " \
	"return {redis.call('GET',KEYS[1]),redis.call('LRANGE',KEYS[2],0,-1)," \
	"redis.call('GET',KEYS[3]),redis.pcall('GET',KEYS[4]),w}"
/* A node's lease: revenge:node:{node} lives LEASE_MS and is renewed every
 * LEASE_EVERY_S; a node killed -9 is dead for the others LEASE_MS later at
 * most, and its members are dropped by the next members step. */
#define LEASE_MS 3000u
#define LEASE_EVERY_S 1.0
/* KEYS: members hash, host, join counter, channel, kept state, kept chat,
 * kept sequence, kept media, heirs, resume records (broker.h's resume_keep:
 * kept and deleted with the rest);
 * ARGV: op, node (16 hex), member, entry, the lease keys' prefix, TTL, the
 * member's join number when it had one before ('' when new).
 * A join, leave or host step costs O(1) while the party keeps its host,
 * and O(log n) when it has none: the heirs, a sorted set of the members
 * who may host by join number, name the longest present at once (with a
 * marker '' at score 0 saying the set is kept: keys written without it are
 * indexed from the hash once). Before, a party with no host (its members
 * all without the host role, waiting for one) scanned every member at
 * every join, a join storm quadratic in Redis. Such a step answers
 * {host or nil, false, the member's join number or nil}: under a join
 * storm every step returning the whole list made the storm quadratic too.
 * A read answers {host or nil, {id, entry, ...}} of the members still
 * alive, dropping those of nodes whose lease is gone, and indexes the
 * heirs again when their count is not the hash's. An heir no longer in
 * the hash (a node of the version before left it there) is dropped when
 * it comes up, never elected. */
#define MEMBERS_LUA \
	"local op, changed, place = ARGV[1], false, false " \
	"local function index(all) " \
	"  redis.call('DEL', KEYS[9]) " \
	"  redis.call('ZADD', KEYS[9], 0, '') " \
	"  for i = 1, #all, 2 do " \
	"    local s = string.match(all[i + 1], '^%x+ (%d+) 1 ') " \
	"    if s then redis.call('ZADD', KEYS[9], tonumber(s), all[i]) end " \
	"  end " \
	"end " \
	"if op ~= 'read' and redis.call('EXISTS', KEYS[9]) == 0 then " \
	"  index(redis.call('HGETALL', KEYS[1])) " \
	"end " \
	"if op == 'join' then " \
	"  local e = redis.call('HGET', KEYS[1], ARGV[3]) " \
	"  if e then " \
	"    place = tonumber(string.match(e, '^%x+ (%d+) ')) " \
	"  else " \
	"    local s = tonumber(ARGV[7]) " \
	"    if s then " \
	"      if (tonumber(redis.call('GET', KEYS[3])) or 0) < s then redis.call('SET', KEYS[3], s) end " \
	"    else " \
	"      s = redis.call('INCR', KEYS[3]) " \
	"    end " \
	"    redis.call('HSET', KEYS[1], ARGV[3], ARGV[2] .. ' ' .. s .. ' ' .. ARGV[4]) " \
	"    if string.sub(ARGV[4], 1, 2) == '1 ' then redis.call('ZADD', KEYS[9], s, ARGV[3]) end " \
	"    place, changed = s, true " \
	"  end " \
	"elseif op == 'leave' then " \
	"  changed = redis.call('HDEL', KEYS[1], ARGV[3]) == 1 " \
	"  redis.call('ZREM', KEYS[9], ARGV[3]) " \
	"elseif op == 'host' then " \
	"  local e = redis.call('HGET', KEYS[1], ARGV[3]) " \
	"  if e and string.match(e, '^%x+ %d+ 1 ') and redis.call('GET', KEYS[2]) ~= ARGV[3] then " \
	"    redis.call('SET', KEYS[2], ARGV[3]) " \
	"    changed = true " \
	"  end " \
	"end " \
	"local cur = redis.call('GET', KEYS[2]) " \
	"local host = cur " \
	"if host and redis.call('HEXISTS', KEYS[1], host) == 0 then host = false end " \
	"local live, n = false, 1 " \
	"if op == 'read' then " \
	"  local all = redis.call('HGETALL', KEYS[1]) " \
	"  local alive, best, bestseq, heirs = {}, false, nil, 0 " \
	"  live, n = {}, 0 " \
	"  for i = 1, #all, 2 do " \
	"    local node, seq, mh = string.match(all[i + 1], '^(%x+) (%d+) ([01]) ') " \
	"    if node and alive[node] == nil then " \
	"      alive[node] = redis.call('EXISTS', ARGV[5] .. node) == 1 " \
	"    end " \
	"    if node and alive[node] then " \
	"      live[#live + 1] = all[i] " \
	"      live[#live + 1] = all[i + 1] " \
	"      seq = tonumber(seq) " \
	"      if mh == '1' then " \
	"        heirs = heirs + 1 " \
	"        if not bestseq or seq < bestseq then best, bestseq = all[i], seq end " \
	"      end " \
	"    else " \
	"      redis.call('HDEL', KEYS[1], all[i]) " \
	"      redis.call('ZREM', KEYS[9], all[i]) " \
	"      changed = true " \
	"      if host == all[i] then host = false end " \
	"    end " \
	"  end " \
	"  n = #live " \
	"  if not host then host = best end " \
	"  if redis.call('ZCARD', KEYS[9]) ~= heirs + 1 then index(live) end " \
	"elseif not host then " \
	"  while true do " \
	"    local h = redis.call('ZRANGEBYSCORE', KEYS[9], '(0', '+inf', 'LIMIT', 0, 1)[1] " \
	"    if not h or redis.call('HEXISTS', KEYS[1], h) == 1 then host = h or false break end " \
	"    redis.call('ZREM', KEYS[9], h) " \
	"  end " \
	"  n = redis.call('HLEN', KEYS[1]) " \
	"end " \
	"if host ~= cur then " \
	"  if host then redis.call('SET', KEYS[2], host) else redis.call('DEL', KEYS[2]) end " \
	"  changed = true " \
	"end " \
	"if n == 0 then " \
	"  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9], " \
	"             KEYS[10]) " \
	"else " \
	"  for _, k in ipairs({1, 2, 3, 7, 9, 10}) do redis.call('PEXPIRE', KEYS[k], ARGV[6]) end " \
	"end " \
	"if changed then redis.call('PUBLISH', KEYS[4], 'RVM ' .. ARGV[2]) end " \
	"if op == 'read' then return {host, live} end " \
	"return {host, false, place}"
/* A party's resume records (broker.h's resume_keep and resume_take).
 * KEYS: resume records, members hash; ARGV: op ('keep' or 'take'), token
 * hash, record, TTL. A take answers the record (taken off) or nil, and
 * nil too while its member (the id after the record's three numbers) is
 * in the members hash. */
#define RESUME_LUA \
	"if ARGV[1] == 'keep' then " \
	"  redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) " \
	"  redis.call('PEXPIRE', KEYS[1], ARGV[4]) " \
	"  return false " \
	"end " \
	"local v = redis.call('HGET', KEYS[1], ARGV[2]) " \
	"if not v then return false end " \
	"local id = string.match(v, '^%d+ %d+ %d+ (%S+) ') " \
	"if id and redis.call('HEXISTS', KEYS[2], id) == 1 then return false end " \
	"redis.call('HDEL', KEYS[1], ARGV[2]) " \
	"return v"
/* Members beyond this in an answer are ignored (a party's are capped by
 * --max-members far below). */
#define MEMBERS_MAX 100000
#define TIME_EVERY_S 5.0
#define TIME_WINDOW 6
/* A node whose server time is off Redis's TIME by more than this steps
 * its server time onto Redis's (once the first TIME_ALIGN_SAMPLES, taken
 * back to back, agree on it): every node's stamps are then Redis time to
 * within this, so two nodes differ by at most twice it. Only while no
 * WebSocket is open: the protocol promises clients a server time that
 * never jumps; a node that drifts off later says so (clock_off) instead. */
#define TIME_ALIGN_MS 5.0
#define TIME_ALIGN_SAMPLES 3

struct redis_broker;

/* A report waiting for the end of the loop turn: its channel and line. */
struct ppub {
	char chan[CHAN_NAME_MAX];
	char line[RV__RELAY_PROGRESS_MAX];
	size_t chan_len, line_len;
};

/* A Lua script, sent as EVALSHA of its SHA1 (hex) after the first time. */
struct script {
	const char *text;
	char sha[2 * SHA_DIGEST_LENGTH + 1];
};

enum { SCRIPT_KEEP_STATE, SCRIPT_KEEP_CHAT, SCRIPT_RECALL, SCRIPT_MEMBERS, SCRIPT_PROGRESS,
       SCRIPT_KEEP_MEDIA, SCRIPT_RESTORE, SCRIPT_RESUME, SCRIPT_COUNT };

static const char *const script_text[SCRIPT_COUNT] = {
	KEEP_STATE_LUA, KEEP_CHAT_LUA, RECALL_LUA, MEMBERS_LUA, PROGRESS_LUA, KEEP_MEDIA_LUA,
	RESTORE_LUA, RESUME_LUA,
};

struct rconn {
	struct redis_broker *rb;
	const char *name;               /* "publisher", "subscriber", "control" */
	bool sub;
	bool control;                   /* the lease's: no scripts, not in "up" */
	struct rv__redis_conn *c;       /* NULL: not connected (retry pending) */
	bool ready;                     /* AUTH and SELECT answered */
	bool ever;                      /* was ready once: the next is a reconnect */
	unsigned attempt;               /* failed attempts since the last ready */
	/* the last two reasons of failure (a refused client certificate
	 * shows as the alert or as a reset, by turns): either again is
	 * logged at debug */
	char last_why[256], prev_why[256];
	ev_timer retry;
};

struct chan {
	char name[CHAN_NAME_MAX];       /* the channel, its key in chans */
	bool want;                      /* a party here has members */
	bool active;                    /* SUBSCRIBE sent on this connection */
	bool leaving;                   /* UNSUBSCRIBE sent, not yet answered */
};

struct redis_broker {
	struct rv__broker base;         /* first: the interface's view */
	struct rv__hub *hub;
	struct rv__redis_url url;
	struct sockaddr_storage addr;   /* the host, resolved once at start */
	socklen_t addr_len;
	struct ssl_ctx_st *tls;         /* rediss://: shared by the three connections */
	char shown[RV__REDIS_URL_MAX + 8]; /* the URL for logs, no password */
	struct rconn pub, sub, ctl;
	struct rv__idmap chans;         /* channel name -> struct chan */
	struct ppub *pending;           /* reports to publish when the turn ends */
	size_t n_pending, cap_pending;
	ev_prepare flush_w;
	struct script scripts[SCRIPT_COUNT];
	uint64_t script_seq;            /* script calls made */
	size_t script_inflight;         /* sent, not yet answered */
	bool reloading;                 /* a NOSCRIPT came: calls are held */
	struct script_call *held;       /* meanwhile, in the order made */
	struct rv_backoff bo;
	size_t inflight;
	ev_timer time_w;                /* the next TIME */
	ev_timer lease_w;               /* the next renewal of this node's lease */
	double lease_at;                /* server ms the last renewal went, 0: none */
	double time_sent;               /* server ms TIME went, 0: none pending */
	double rtt[TIME_WINDOW], offset[TIME_WINDOW]; /* the last samples, ms */
	unsigned n_time;                /* samples taken */
	bool clock_warned;              /* clock_off logged */
	bool stopped;
	bool was_up;
	unsigned shard;                 /* its place in the --redis list */
	bool clock;                     /* TIME and the clock's alignment are this one's */
	struct rv_metric_redis_shard *m; /* the shard's metrics */
};

static void conn_start(struct rconn *rc);
static void time_tick(struct ev_loop *loop, ev_timer *t, int revents);
static void lease_tick(struct ev_loop *loop, ev_timer *t, int revents);
static void lease_set(struct redis_broker *rb);
static void lease_keep(struct redis_broker *rb);

static void update_state(struct redis_broker *rb)
{
	struct rv_metrics *m = &rb->hub->metrics;
	bool up = rb->pub.ready && rb->sub.ready, all = true;

	rb->m->state = up ? RV_REDIS_STATE_UP : RV_REDIS_STATE_DOWN;
	for (unsigned i = 0; i < m->redis_shards; i++)
		all = all && m->redis_shard[i].state == RV_REDIS_STATE_UP;
	m->redis_state = all ? RV_REDIS_STATE_UP : RV_REDIS_STATE_DOWN;
	if (up == rb->was_up)
		return;
	rb->was_up = up;
	if (up)
		rv_log(rb->hub->log, RV_LOG_INFO, "redis_up", "shard %u %s", rb->shard, rb->shown);
	/* Redis may have lost this node's members (restarted), or swept
	 * them (the lease ran out meanwhile): they are written again */
	if (up && rb->base.on_up)
		rb->base.on_up(rb->base.user, rb->shard);
	else if (!rb->stopped) {
		rv_log(rb->hub->log, RV_LOG_WARN, "redis_down",
		       "shard %u %s: its parties go on with this node's members only",
		       rb->shard, rb->shown);
		if (rb->base.on_down)
			rb->base.on_down(rb->base.user, rb->shard);
	}
}

static void retry_later(struct rconn *rc)
{
	double ms;

	if (rc->rb->stopped)
		return;
	ms = rv_backoff_delay(&rc->rb->bo, rc->attempt < 30 ? rc->attempt : 30);
	rc->attempt++;
	ev_timer_set(&rc->retry, ms / 1000, 0);
	ev_timer_start(rc->rb->hub->loop, &rc->retry);
}

static void on_retry(struct ev_loop *loop, ev_timer *t, int revents)
{
	conn_start(t->data);
}

static void channel_of(const char *prefix, const char *id, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", prefix, id);
}

/* A party's channel name[0..len) into id: true, or false when it is not one. */
static bool party_of(const char *name, size_t len, char id[RV_ID_MAX + 1])
{
	size_t plen = sizeof(CHANNEL_PREFIX) - 1;

	if (len <= plen || len - plen > RV_ID_MAX || memcmp(name, CHANNEL_PREFIX, plen))
		return false;
	memcpy(id, name + plen, len - plen);
	id[len - plen] = 0;
	return true;
}

/* A session's channel (prefix PROGRESS_PREFIX or QUALITY_PREFIX): the
 * prefix, the session id, and ":owner" unless the owner is "". */
static void session_channel(const char *prefix, const char *owner, const char *session,
			    char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s", prefix, session, *owner ? ":" : "", owner);
}

static void progress_channel(const char *owner, const char *session, char *buf, size_t len)
{
	session_channel(PROGRESS_PREFIX, owner, session, buf, len);
}

/* A session's channel name[0..len) of prefix into session and owner:
 * true, or false when it is not one. */
static bool session_of(const char *prefix, const char *name, size_t len,
		       char session[RV_ID_MAX + 1], char owner[RV_STORE_OWNER_MAX + 1])
{
	size_t plen = strlen(prefix), n = 0;

	if (len <= plen || memcmp(name, prefix, plen))
		return false;
	name += plen;
	len -= plen;
	while (n < len && name[n] != ':')
		n++;
	if (!n || n > RV_ID_MAX || !rv_proto_valid_id(name, n))
		return false;
	memcpy(session, name, n);
	session[n] = 0;
	owner[0] = 0;
	if (n == len)
		return true;
	name += n + 1;
	len -= n + 1;
	if (!len || len > RV_STORE_OWNER_MAX || memchr(name, 0, len))
		return false;
	memcpy(owner, name, len);
	owner[len] = 0;
	return true;
}

static bool progress_of(const char *name, size_t len, char session[RV_ID_MAX + 1],
			char owner[RV_STORE_OWNER_MAX + 1])
{
	return session_of(PROGRESS_PREFIX, name, len, session, owner);
}

/* The answer to a SUBSCRIBE: ["subscribe", channel, count]. From then on
 * every message published on the channel comes (on_push): a party's
 * recall (a progress session's read) waits for it so that nothing falls
 * in between. NULL: the connection is gone. */
static void on_sub(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct redis_broker *rb = priv;
	char id[RV_ID_MAX + 1], owner[RV_STORE_OWNER_MAX + 1];
	redisReply *chan;

	if (!reply || rb->stopped || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(reply->element[0]->str, "subscribe") ||
	    reply->element[1]->type != REDIS_REPLY_STRING)
		return;
	chan = reply->element[1];
	if (party_of(chan->str, chan->len, id)) {
		if (rb->base.on_subscribed)
			rb->base.on_subscribed(rb->base.user, id);
	} else if (progress_of(chan->str, chan->len, id, owner)) {
		if (rb->base.on_progress_subscribed)
			rb->base.on_progress_subscribed(rb->base.progress_user, owner, id);
	}
}

static void send_subscribe(struct redis_broker *rb, struct chan *ch)
{
	if (!rv__redis_conn_command(rb->sub.c, on_sub, rb, "SUBSCRIBE %s", ch->name))
		ch->active = true;
}

static void subscribe_wanted(void *value, void *arg)
{
	struct chan *ch = value;

	if (ch->want && !ch->active)
		send_subscribe(arg, ch);
}

static bool drop_unwanted(void *value, void *arg)
{
	struct chan *ch = value;

	ch->active = ch->leaving = false;
	if (ch->want)
		return false;
	free(ch);
	return true;
}

/* The answer to an UNSUBSCRIBE of a party's channel: ["unsubscribe",
 * channel, count]. NULL: the connection is gone (its sweep did it). */
static void on_unsub(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct redis_broker *rb = priv;
	char name[CHAN_NAME_MAX];
	struct chan *ch;
	size_t len;

	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
	    reply->element[1]->type != REDIS_REPLY_STRING)
		return;
	len = reply->element[1]->len;
	if (len >= sizeof(name) || memchr(reply->element[1]->str, 0, len))
		return;
	memcpy(name, reply->element[1]->str, len);
	name[len] = 0;
	if (!(ch = rv__idmap_get(&rb->chans, name)))
		return;
	ch->active = ch->leaving = false;
	if (ch->want) {
		send_subscribe(rb, ch);
	} else {
		rv__idmap_del(&rb->chans, name);
		free(ch);
	}
}

/* A report on a progress session's channel: handed on unless it is
 * this node's own or malformed (whoever can publish to Redis is trusted,
 * but a line is still checked before it becomes a client's progress). */
static void progress_push(struct redis_broker *rb, const redisReply *chan,
			  const redisReply *data)
{
	struct rv_progress_rec rec;
	uint64_t node;

	memset(&rec, 0, sizeof(rec));
	if (!rb->base.on_progress ||
	    !progress_of(chan->str, chan->len, rec.session_id, rec.owner) ||
	    rv__relay_progress_decode(data->str, data->len, &node, &rec) ||
	    node == rb->base.node)
		return;
	rb->hub->metrics.progress_relay_received++;
	rb->base.on_progress(rb->base.progress_user, &rec);
}

/* A profile change on a quality session's channel: handed on unless it
 * is this node's own; a line that is not one is logged and dropped. */
static void quality_push(struct redis_broker *rb, const char *session, const char *owner,
			 const redisReply *data)
{
	char profile[RV_PROFILE_NAME_MAX + 1];
	uint64_t node;

	if (rv__relay_quality_decode(data->str, data->len, &node, profile)) {
		rv_log_kv(rb->hub->log, RV_LOG_WARN, "relay_refused",
			  RV_LOG_FIELDS(RV_LOG_STR("session", session), RV_LOG_STR("owner", owner)),
			  "a malformed quality change (%zu bytes) on Redis: dropped", data->len);
		return;
	}
	if (node == rb->base.node || !rb->base.on_quality)
		return;
	rb->hub->metrics.quality_relay_received++;
	rb->base.on_quality(rb->base.quality_user, owner, session, profile);
}

/* A message on the subscriber: ["message", channel, payload]. */
static void on_push(struct rv__redis_conn *c, redisReply *reply, void *user)
{
	struct rconn *rc = user;
	struct redis_broker *rb = rc->rb;
	char id[RV_ID_MAX + 1];
	redisReply *kind, *chan, *data;

	if (reply->elements != 3)
		return;         /* a pmessage: never subscribed */
	kind = reply->element[0];
	chan = reply->element[1];
	data = reply->element[2];
	if (strcmp(kind->str, "message") || chan->type != REDIS_REPLY_STRING ||
	    data->type != REDIS_REPLY_STRING)
		return;
	rb->m->received++;
	if (!party_of(chan->str, chan->len, id)) {
		char owner[RV_STORE_OWNER_MAX + 1];

		if (session_of(QUALITY_PREFIX, chan->str, chan->len, id, owner))
			quality_push(rb, id, owner, data);
		else
			progress_push(rb, chan, data);
		return;
	}
	if (rb->base.on_message) {
		const char *p = data->str;
		size_t len = data->len, plen2 = sizeof(KEPT_PREFIX) - 1;
		uint64_t seq = 0;

		if (len > plen2 && !memcmp(p, KEPT_PREFIX, plen2)) {
			size_t i = plen2;

			/* 19 digits at most: no overflow */
			while (i < len && i < plen2 + 19 && p[i] >= '0' && p[i] <= '9')
				seq = seq * 10 + (uint64_t)(p[i++] - '0');
			if (i == plen2 || i >= len || p[i] != ' ' || !seq)
				return;         /* malformed: not ours */
			p += i + 1;
			len -= i + 1;
		}
		rb->base.on_message(rb->base.user, id, p, len, seq);
	}
}

/* rc's connection is gone (closed by us or lost): forget it, and make
 * another after a backoff. */
static void conn_gone(struct rconn *rc)
{
	struct redis_broker *rb = rc->rb;

	rc->c = NULL;
	rc->ready = false;
	if (rc->sub)
		rv__idmap_sweep(&rb->chans, drop_unwanted, NULL);
	update_state(rb);
	retry_later(rc);
}

/* AUTH or SELECT refused: said by the caller; close, and try again later
 * (a password may be set on Redis meanwhile). */
static void refused(struct rconn *rc)
{
	struct rv__redis_conn *c = rc->c;

	/* first, so that what the pending callbacks' NULL answers set off
	 * (a recall failed releases joins, which write members) finds no
	 * connection to use */
	rc->c = NULL;
	rc->ready = false;
	rv__redis_conn_close(c);
	conn_gone(rc);
}

/* SELECT's answer: the connection is ready. */
static void on_select(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct rconn *rc = priv;
	struct redis_broker *rb = rc->rb;

	if (!reply || rc->c != c)
		return;
	if (reply->type == REDIS_REPLY_ERROR) {
		rv_log(rb->hub->log, RV_LOG_ERROR, "redis_refused", "%s: SELECT %u: %s",
		       rb->shown, rb->url.db, reply->str);
		refused(rc);
		return;
	}
	rc->ready = true;
	rc->attempt = 0;
	rc->last_why[0] = rc->prev_why[0] = 0;
	if (rc->ever) {
		rb->hub->metrics.redis_reconnects++;
		rb->m->reconnects++;
	}
	rc->ever = true;
	if (rc->control) {
		/* the lease is the publisher's to set first (its members are
		 * written after it there); this one renews it */
	} else if (!rc->sub) {
		/* the scripts loaded before any call, so that EVALSHA finds them:
		 * NOSCRIPT (and its holding of calls) is then for a Redis that
		 * lost them since (restarted, SCRIPT FLUSH), not every start */
		for (int i = 0; i < SCRIPT_COUNT; i++)
			rv__redis_conn_command(rb->pub.c, NULL, NULL, "SCRIPT LOAD %s",
					       script_text[i]);
		/* the lease first: a join sent after it finds this node alive */
		lease_set(rb);
		if (rb->clock)
			time_tick(rb->hub->loop, &rb->time_w, 0);
	} else {
		rv__idmap_each(&rb->chans, subscribe_wanted, rb);
	}
	update_state(rb);
}

static void on_auth(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct rconn *rc = priv;

	if (!reply || rc->c != c || reply->type != REDIS_REPLY_ERROR)
		return;
	rv_log(rc->rb->hub->log, RV_LOG_ERROR, "redis_refused", "%s: AUTH: %s", rc->rb->shown,
	       reply->str);
	refused(rc);
}

/* A failure to connect is logged at warn when it is news (the first, or
 * another reason than the last two: a certificate refused after a refused
 * connection), at debug while it repeats through the backoff. */
static void connect_failed(struct rconn *rc, const char *why)
{
	bool news = strcmp(why, rc->last_why) && strcmp(why, rc->prev_why);

	rv_log(rc->rb->hub->log, news ? RV_LOG_WARN : RV_LOG_DEBUG, "redis_connect_failed",
	       "%s (%s): %s", rc->rb->shown, rc->name, why);
	if (strcmp(why, rc->last_why)) {
		memcpy(rc->prev_why, rc->last_why, sizeof(rc->prev_why));
		snprintf(rc->last_why, sizeof(rc->last_why), "%s", why);
	}
}

/* Lost once ready is news each time; before (a socket that took the
 * connection and dropped it: a TLS port given redis://), a failure to
 * connect like another. */
static void on_close(struct rv__redis_conn *c, const char *why, void *user)
{
	struct rconn *rc = user;
	struct redis_broker *rb = rc->rb;

	if (rc->ready)
		rv_log(rb->hub->log, RV_LOG_WARN, "redis_lost", "%s (%s): %s", rb->shown, rc->name,
		       why);
	else
		connect_failed(rc, why);
	conn_gone(rc);
}

static void conn_start(struct rconn *rc)
{
	static const struct rv__redis_conn_events pub_ev = { .on_close = on_close };
	static const struct rv__redis_conn_events sub_ev = { .on_push = on_push,
							     .on_close = on_close };
	struct redis_broker *rb = rc->rb;
	struct rv__redis_target t = {
		.path = rb->url.unix_socket ? rb->url.path : NULL,
		.addr = (const struct sockaddr *)&rb->addr,
		.addr_len = rb->addr_len,
		.tls = rb->tls,
		.tls_name = rb->url.host,
	};
	char why[256];
	int err;

	if (rb->stopped)
		return;
	err = rv__redis_conn_open(rb->hub->loop, &t, rc->sub ? &sub_ev : &pub_ev, rc, &rc->c,
				  why, sizeof(why));
	if (err) {
		rc->c = NULL;
		connect_failed(rc, err == RV_ENOMEM ? "out of memory" : why);
		retry_later(rc);
		return;
	}
	/* queued now, written once connected (and through TLS); answered in
	 * order. A refusal closes the connection, so SELECT's answer to a
	 * refused AUTH never arrives. */
	if (rb->url.has_password) {
		if (rb->url.user[0])
			rv__redis_conn_command(rc->c, on_auth, rc, "AUTH %s %s", rb->url.user,
					       rb->url.password);
		else
			rv__redis_conn_command(rc->c, on_auth, rc, "AUTH %s", rb->url.password);
	}
	rv__redis_conn_command(rc->c, on_select, rc, "SELECT %u", rb->url.db);
}

/* ---- Redis's clock ----------------------------------------------------- */

static bool open_sockets(const struct rv__hub *hub)
{
	for (unsigned i = 0; i < RV_METRIC_ENDPOINTS_MAX; i++)
		if (hub->metrics.connections_open[i])
			return true;
	return false;
}

/* TIME's answer: [seconds, microseconds] as strings. */
static void on_time(struct rv__redis_conn *c, redisReply *r, void *priv)
{
	struct redis_broker *rb = priv;
	redisReply *reply = r;
	double now, rtt, redis_ms, best = INFINITY;
	unsigned slot, n;

	if (!reply || !rb->time_sent || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
	    reply->element[0]->type != REDIS_REPLY_STRING ||
	    reply->element[1]->type != REDIS_REPLY_STRING) {
		rb->time_sent = 0;
		return;
	}
	now = rv__hub_now(rb->hub);
	rtt = now - rb->time_sent;
	redis_ms = strtod(reply->element[0]->str, NULL) * 1000 +
		   strtod(reply->element[1]->str, NULL) / 1000;
	slot = rb->n_time++ % TIME_WINDOW;
	rb->rtt[slot] = rtt;
	/* Redis read its clock somewhere in the round trip: the middle is
	 * the best guess, off by at most half of it */
	rb->offset[slot] = redis_ms - (rb->time_sent + rtt / 2);
	rb->time_sent = 0;
	n = rb->n_time < TIME_WINDOW ? rb->n_time : TIME_WINDOW;
	for (unsigned i = 0; i < n; i++)
		if (rb->rtt[i] < best) {
			best = rb->rtt[i];
			rb->hub->metrics.redis_clock_offset_ms = rb->offset[i];
			rb->hub->metrics.redis_clock_rtt_ms = rb->rtt[i];
		}
	rb->hub->metrics.redis_clock_known = true;
	if (n < TIME_ALIGN_SAMPLES) {
		/* the first samples back to back: aligned within a few ms */
		time_tick(rb->hub->loop, &rb->time_w, 0);
		return;
	}
	best = rb->hub->metrics.redis_clock_offset_ms;
	if (fabs(best) > TIME_ALIGN_MS && open_sockets(rb->hub)) {
		if (!rb->clock_warned)
			rv_log(rb->hub->log, RV_LOG_WARN, "clock_off",
			       "server time is %.1f ms off Redis's TIME, and clients are "
			       "connected: not stepped (check NTP)", -best);
		rb->clock_warned = true;
	} else if (fabs(best) > TIME_ALIGN_MS) {
		rb->hub->clock.wall_anchor_ms += best;
		rv_log(rb->hub->log, RV_LOG_WARN, "clock_aligned",
		       "server time was %.1f ms off Redis's TIME: stepped onto it", -best);
		/* the samples measured the old clock: start over */
		rb->n_time = 0;
		rb->hub->metrics.redis_clock_known = false;
		rb->hub->metrics.redis_clock_aligned++;
		time_tick(rb->hub->loop, &rb->time_w, 0);
	}
}

static void time_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct redis_broker *rb = t->data;

	if (!rb->pub.ready || rb->time_sent)
		return;
	if (rv__redis_conn_command(rb->pub.c, on_time, rb, "TIME") == 0)
		rb->time_sent = rv__hub_now(rb->hub);
}

/* ---- scripts: EVALSHA, EVAL when Redis does not have them ------------- */

/* A script call: what it needs to be sent again as EVAL (its arguments
 * copied into args) and whose answer it is. */
struct script_call {
	struct redis_broker *rb;
	const struct script *sc;
	rv__redis_reply_cb fn;          /* the answer's handler, with priv */
	void *priv;
	uint64_t seq;                   /* the order calls were made in */
	struct script_call *next;       /* held, in seq order */
	int argc;
	const char **argv;              /* EVALSHA sha numkeys args... */
	size_t *argvlen;
	char args[];
};

static void on_script(struct rv__redis_conn *c, redisReply *reply, void *priv);

/* What Redis has sent the subscriber, read now, before this publish
 * adds to it: a node busy publishing a member's burst comes back to the
 * loop late, and Redis must not find the subscriber's socket full
 * meanwhile (redis_conn.c). Handed out on the next loop turn. */
static void sub_pull(struct redis_broker *rb)
{
	if (rb->sub.ready)
		rv__redis_conn_pull(rb->sub.c);
}

static int script_send(struct script_call *sc)
{
	struct redis_broker *rb = sc->rb;

	sub_pull(rb);
	lease_keep(rb);
	if (!rb->pub.ready || rv__redis_conn_command_argv(rb->pub.c, on_script, sc, sc->argc,
							  sc->argv, sc->argvlen))
		return RV_EIO;
	rb->script_inflight++;
	return 0;
}

static void script_fail(struct script_call *sc)
{
	sc->fn(sc->rb->pub.c, NULL, sc->priv);
	free(sc);
}

/* Held until the calls in flight are answered, in the order made. */
static void script_hold(struct script_call *sc)
{
	struct script_call **pp = &sc->rb->held;

	while (*pp && (*pp)->seq < sc->seq)
		pp = &(*pp)->next;
	sc->next = *pp;
	*pp = sc;
}

/* The reload is over once no call sent before it can still fail: the
 * held calls go, as EVAL (never NOSCRIPT), in the order they were made. */
static void script_release(struct redis_broker *rb)
{
	struct script_call *sc, *next;

	if (!rb->reloading || rb->script_inflight)
		return;
	sc = rb->held;
	rb->held = NULL;
	rb->reloading = false;
	for (; sc; sc = next) {
		next = sc->next;
		sc->argv[0] = "EVAL";
		sc->argvlen[0] = 4;
		sc->argv[1] = sc->sc->text;
		sc->argvlen[1] = strlen(sc->sc->text);
		if (script_send(sc))
			script_fail(sc);
	}
}

/* A script's answer. Redis without the script (restarted, SCRIPT FLUSH)
 * answers NOSCRIPT: the call is sent again with the script's text. Not at
 * once: the calls sent after it fail too, and calls made meanwhile would
 * overtake them (a chat history out of order); so every call is held
 * until the last one in flight is answered, then all go in their order. */
static void on_script(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct script_call *sc = priv;
	struct redis_broker *rb = sc->rb;

	rb->script_inflight--;
	if (reply && reply->type == REDIS_REPLY_ERROR && !rb->stopped &&
	    !strncmp(reply->str, "NOSCRIPT", 8) && rb->pub.c == c) {
		if (!rb->reloading)
			rv_log(rb->hub->log, RV_LOG_INFO, "redis_scripts",
			       "Redis lost the scripts (restarted or SCRIPT FLUSH): sent again");
		rb->reloading = true;
		rb->hub->metrics.redis_script_reloads++;
		script_hold(sc);
	} else {
		sc->fn(c, reply, sc->priv);
		free(sc);
	}
	script_release(rb);
}

/* Fail every held call (the broker stops). */
static void script_drop_held(struct redis_broker *rb)
{
	struct script_call *sc = rb->held, *next;

	rb->held = NULL;
	rb->reloading = false;
	for (; sc; sc = next) {
		next = sc->next;
		script_fail(sc);
	}
}

/* Run script which with nkeys keys then the other arguments (n in all,
 * each args[i] of lens[i] bytes, copied): EVALSHA, and EVAL if Redis says
 * NOSCRIPT; fn(priv) gets the answer (NULL: failed). 0, RV_EIO, RV_ENOMEM
 * (then fn is not called). */
static int script_run(struct redis_broker *rb, int which, unsigned nkeys, size_t n,
		      const char *const *args, const size_t *lens, rv__redis_reply_cb fn, void *priv)
{
	char num[12];
	size_t bytes = 0, at;
	int argc = (int)n + 3;
	struct script_call *sc;

	for (size_t i = 0; i < n; i++)
		bytes += lens[i];
	snprintf(num, sizeof(num), "%u", nkeys);
	bytes += strlen(num);
	if (!(sc = malloc(sizeof(*sc) + argc * (sizeof(char *) + sizeof(size_t)) + bytes)))
		return RV_ENOMEM;
	*sc = (struct script_call){ .rb = rb, .sc = &rb->scripts[which], .fn = fn,
				    .priv = priv, .seq = ++rb->script_seq, .argc = argc };
	/* the arrays first (aligned), the bytes after them */
	sc->argv = (const char **)(void *)sc->args;
	sc->argvlen = (size_t *)(void *)(sc->argv + argc);
	at = (size_t)argc * (sizeof(char *) + sizeof(size_t));
	sc->argv[0] = "EVALSHA";
	sc->argvlen[0] = 7;
	sc->argv[1] = sc->sc->sha;
	sc->argvlen[1] = 2 * SHA_DIGEST_LENGTH;
	memcpy(sc->args + at, num, strlen(num));
	sc->argv[2] = sc->args + at;
	sc->argvlen[2] = strlen(num);
	at += strlen(num);
	for (size_t i = 0; i < n; i++) {
		memcpy(sc->args + at, args[i], lens[i]);
		sc->argv[3 + i] = sc->args + at;
		sc->argvlen[3 + i] = lens[i];
		at += lens[i];
	}
	if (rb->reloading) {
		script_hold(sc);
		return 0;
	}
	if (script_send(sc)) {
		free(sc);
		return RV_EIO;
	}
	return 0;
}

/* Run script which with n NUL-terminated arguments (keys first). */
static int script_run_str(struct redis_broker *rb, int which, unsigned nkeys, size_t n,
			  const char *const *args, rv__redis_reply_cb fn, void *priv)
{
	size_t lens[20];

	if (n > sizeof(lens) / sizeof(lens[0]))
		return RV_EINVAL;
	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(args[i]);
	return script_run(rb, which, nkeys, n, args, lens, fn, priv);
}

/* ---- the lease and the members ---------------------------------------- */

static void lease_set(struct redis_broker *rb)
{
	if (rb->pub.ready)
		rv__redis_conn_command(rb->pub.c, NULL, NULL, "SET " NODE_PREFIX "%016llx 1 PX %u",
				       (unsigned long long)rb->base.node, LEASE_MS);
}

/* Where the lease's renewal and check go: the control connection while
 * it is ready, else the publisher (behind its queue, as before there was
 * a control connection); NULL: neither is ready. */
static struct rv__redis_conn *lease_conn(struct redis_broker *rb)
{
	if (rb->ctl.ready)
		return rb->ctl.c;
	return rb->pub.ready ? rb->pub.c : NULL;
}

/* The renewal's answer: nil when the lease was gone (this node stalled
 * past LEASE_MS, or Redis lost it): the others have dropped this node's
 * members by now, so the lease is set again at once on the connection
 * that answered (the next renewal finds it) and they are written again
 * (on_up, on the publisher, after it). */
static void on_lease(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct redis_broker *rb = priv;

	if (!reply || rb->stopped || reply->type != REDIS_REPLY_NIL)
		return;
	rv_log(rb->hub->log, RV_LOG_WARN, "lease_lost",
	       "node %016llx: its lease ran out; its members are written again",
	       (unsigned long long)rb->base.node);
	rb->hub->metrics.redis_lease_lost++;
	if (c != rb->pub.c)
		rv__redis_conn_command(c, NULL, NULL, "SET " NODE_PREFIX "%016llx 1 PX %u",
				       (unsigned long long)rb->base.node, LEASE_MS);
	lease_set(rb);
	if (rb->was_up && rb->base.on_up)
		rb->base.on_up(rb->base.user, rb->shard);
}

/* Renew the lease only while it exists (XX), so that its loss shows. On
 * the control connection it is written at once, not when this loop turn
 * ends: a turn spent publishing a burst may last long. */
static void lease_renew(struct redis_broker *rb)
{
	struct rv__redis_conn *c = lease_conn(rb);

	if (!c || rv__redis_conn_command(c, on_lease, rb, "SET " NODE_PREFIX "%016llx 1 PX %u XX",
					 (unsigned long long)rb->base.node, LEASE_MS))
		return;
	rb->lease_at = rv__hub_now(rb->hub);
	if (c == rb->ctl.c)
		rv__redis_conn_flush(c);
}

static void lease_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	lease_renew(t->data);
}

/* Called on each publish: the timer is late while a burst keeps the
 * loop turn long, so the renewal goes from here once overdue (by a
 * quarter of LEASE_EVERY_S: the timer stays in charge while on time). */
static void lease_keep(struct redis_broker *rb)
{
	if (rb->lease_at && rv__lease_overdue(rb->lease_at, rv__hub_now(rb->hub),
					      LEASE_EVERY_S * 1000))
		lease_renew(rb);
}

struct leases_req {
	struct redis_broker *rb;
	size_t n;
	uint64_t nodes[];
};

/* MGET's answer: a value per lease key, nil where it is gone. */
static void on_leases(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct leases_req *rq = priv;
	struct redis_broker *rb = rq->rb;
	bool *alive = NULL;

	if (!reply || rb->stopped || !rb->base.on_leases || reply->type != REDIS_REPLY_ARRAY ||
	    reply->elements != rq->n || !(alive = calloc(rq->n, sizeof(*alive))))
		goto done;
	for (size_t i = 0; i < rq->n; i++)
		alive[i] = reply->element[i]->type != REDIS_REPLY_NIL;
	rb->base.on_leases(rb->base.user, rb->shard, rq->nodes, alive, rq->n);
done:
	free(alive);
	free(rq);
}

static int redis_leases(struct rv__broker *b, const uint64_t *nodes, size_t n)
{
	struct redis_broker *rb = (struct redis_broker *)b;
	struct leases_req *rq;
	char (*keys)[sizeof(NODE_PREFIX) + 17] = NULL;
	const char **argv = NULL;
	int rc = RV_ENOMEM;

	if (!lease_conn(rb))
		return RV_EIO;
	if (!n)
		return 0;
	if (!(rq = malloc(sizeof(*rq) + n * sizeof(*nodes))) ||
	    !(keys = malloc(n * sizeof(*keys))) || !(argv = malloc((n + 1) * sizeof(*argv))))
		goto out;
	rq->rb = rb;
	rq->n = n;
	memcpy(rq->nodes, nodes, n * sizeof(*nodes));
	argv[0] = "MGET";
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), NODE_PREFIX "%016llx",
			 (unsigned long long)nodes[i]);
		argv[i + 1] = keys[i];
	}
	/* NULL lengths: hiredis takes strlen of each */
	if (rv__redis_conn_command_argv(lease_conn(rb), on_leases, rq, (int)n + 1, argv, NULL)) {
		rc = RV_EIO;
		goto out;
	}
	rq = NULL;
	rc = 0;
out:
	free(rq);
	free(keys);
	free(argv);
	return rc;
}

struct members_req {
	struct redis_broker *rb;
	uint64_t seq;
	char party[RV_ID_MAX + 1];
	char member[RV_MEMBER_ID_MAX + 1];
};

/* MEMBERS_LUA's answer: a read's [host or nil, [id, entry, ...]], another
 * step's [host or nil, nil, join number or nil]. */
static void on_members(struct rv__redis_conn *c, redisReply *r, void *priv)
{
	struct members_req *rq = priv;
	struct redis_broker *rb = rq->rb;
	redisReply *reply = r, *host, *list;
	struct rv__broker_members out = { 0 };
	const char **strs = NULL;
	size_t *lens = NULL, n = 0;

	out.seq = rq->seq;
	out.member = rq->member;
	out.failed = true;
	if (rb->stopped || !rb->base.on_members)
		goto done;
	if (!reply)
		goto answer;
	if (reply->type == REDIS_REPLY_ERROR) {
		rv_log(rb->hub->log, RV_LOG_WARN, "redis_refused", "members of party=%s: %s",
		       rq->party, reply->str);
		goto answer;
	}
	if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 2)
		goto answer;
	host = reply->element[0];
	list = reply->element[1];
	if (host->type == REDIS_REPLY_STRING) {
		out.host = host->str;
		out.host_len = host->len;
	}
	if (list->type != REDIS_REPLY_ARRAY) {
		out.failed = false;
		if (reply->elements == 3 && reply->element[2]->type == REDIS_REPLY_INTEGER &&
		    reply->element[2]->integer > 0)
			out.join = (uint64_t)reply->element[2]->integer;
		goto answer;
	}
	out.has_list = true;
	n = list->elements / 2 < MEMBERS_MAX ? list->elements / 2 : MEMBERS_MAX;
	if (n && (!(strs = calloc(2 * n, sizeof(*strs))) ||
		  !(lens = calloc(2 * n, sizeof(*lens))))) {
		out.has_list = false;
		goto answer;
	}
	for (size_t i = 0; i < n; i++) {
		redisReply *id = list->element[2 * i], *e = list->element[2 * i + 1];

		if (id->type != REDIS_REPLY_STRING || e->type != REDIS_REPLY_STRING)
			continue;
		strs[out.n] = id->str;
		lens[out.n] = id->len;
		strs[n + out.n] = e->str;
		lens[n + out.n++] = e->len;
	}
	out.id = strs;
	out.id_len = lens;
	out.entry = strs + n;
	out.entry_len = lens + n;
	out.failed = false;
answer:
	rb->base.on_members(rb->base.user, rq->party, &out);
done:
	free(strs);
	free(lens);
	free(rq);
}

static int redis_members(struct rv__broker *b, const char *party, enum rv__members_op op,
			 const char *member, const char *entry, uint64_t join, uint64_t seq)
{
	static const char *const ops[] = { "read", "join", "leave", "host" };
	struct redis_broker *rb = (struct redis_broker *)b;
	char name[CHANNEL_MAX], node[17], k_mem[CHANNEL_MAX + 8], k_host[CHANNEL_MAX + 8],
	     k_seq[CHANNEL_MAX + 8], k_state[CHANNEL_MAX + 8], k_chat[CHANNEL_MAX + 8],
	     k_kept[CHANNEL_MAX + 8], k_media[CHANNEL_MAX + 8], k_heirs[CHANNEL_MAX + 8],
	     k_resume[CHANNEL_MAX + 8], ttl[12], place[24] = "";
	struct members_req *rq;

	if (!rb->pub.ready)
		return RV_EIO;
	if (!(rq = malloc(sizeof(*rq))))
		return RV_ENOMEM;
	rq->rb = rb;
	rq->seq = seq;
	snprintf(rq->party, sizeof(rq->party), "%s", party);
	snprintf(rq->member, sizeof(rq->member), "%s", member ? member : "");
	channel_of(CHANNEL_PREFIX, party, name, sizeof(name));
	snprintf(k_mem, sizeof(k_mem), "%s:members", name);
	snprintf(k_host, sizeof(k_host), "%s:host", name);
	snprintf(k_seq, sizeof(k_seq), "%s:seq", name);
	snprintf(k_state, sizeof(k_state), "%s:state", name);
	snprintf(k_chat, sizeof(k_chat), "%s:chat", name);
	snprintf(k_kept, sizeof(k_kept), "%s:kept", name);
	snprintf(k_media, sizeof(k_media), "%s:media", name);
	snprintf(k_heirs, sizeof(k_heirs), "%s:heirs", name);
	snprintf(k_resume, sizeof(k_resume), "%s:resume", name);
	snprintf(node, sizeof(node), "%016llx", (unsigned long long)rb->base.node);
	snprintf(ttl, sizeof(ttl), "%u", KEEP_MS);
	if (join)
		snprintf(place, sizeof(place), "%llu", (unsigned long long)join);
	{
		const char *args[] = { k_mem, k_host, k_seq, name, k_state, k_chat, k_kept,
				       k_media, k_heirs, k_resume, ops[op], node,
				       member ? member : "", entry ? entry : "", NODE_PREFIX, ttl,
				       place };
		int rc = script_run_str(rb, SCRIPT_MEMBERS, 10, sizeof(args) / sizeof(args[0]),
					args, on_members, rq);

		if (rc)
			free(rq);
		return rc;
	}
}

/* ---- resume records (cluster mode, --party-retention) ------------------ */

struct resume_req {
	rv__broker_resume_cb cb;
	void *arg;
};

static void on_resume_take(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct resume_req rq = *(struct resume_req *)priv;

	free(priv);
	if (reply && reply->type == REDIS_REPLY_STRING)
		rq.cb(rq.arg, reply->str, reply->len);
	else
		rq.cb(rq.arg, NULL, 0);
}

/* RESUME_LUA for party: op, hash, rec (len bytes). */
static int resume_run(struct redis_broker *rb, const char *party, const char *op,
		      const char *hash, const char *rec, size_t len, rv__redis_reply_cb fn,
		      void *priv)
{
	char name[CHANNEL_MAX], k_resume[CHANNEL_MAX + 8], k_mem[CHANNEL_MAX + 8], ttl[12];
	const char *args[6] = { k_resume, k_mem, op, hash, rec, ttl };
	size_t lens[6];

	if (!rb->pub.ready)
		return RV_EIO;
	channel_of(CHANNEL_PREFIX, party, name, sizeof(name));
	snprintf(k_resume, sizeof(k_resume), "%s:resume", name);
	snprintf(k_mem, sizeof(k_mem), "%s:members", name);
	snprintf(ttl, sizeof(ttl), "%u", KEEP_MS);
	for (size_t i = 0; i < 6; i++)
		lens[i] = i == 4 ? len : strlen(args[i]);
	return script_run(rb, SCRIPT_RESUME, 2, 6, args, lens, fn, priv);
}

static void on_resume_kept(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
}

static int redis_resume_keep(struct rv__broker *b, const char *party, const char *hash,
			     const char *rec, size_t len)
{
	return resume_run((struct redis_broker *)b, party, "keep", hash, rec, len, on_resume_kept,
			  NULL);
}

static int redis_resume_take(struct rv__broker *b, const char *party, const char *hash,
			     rv__broker_resume_cb cb, void *arg)
{
	struct resume_req *rq = malloc(sizeof(*rq));
	int rc;

	if (!rq)
		return RV_ENOMEM;
	*rq = (struct resume_req){ .cb = cb, .arg = arg };
	if ((rc = resume_run((struct redis_broker *)b, party, "take", hash, "", 0,
			     on_resume_take, rq)))
		free(rq);
	return rc;
}

/* ---- the interface ----------------------------------------------------- */

static void on_published(struct rv__redis_conn *c, redisReply *r, void *priv)
{
	struct redis_broker *rb = priv;

	rb->inflight--;
}

/* PUBLISH data on channel name, counted in *published or *dropped (and
 * the shard's): 0, or RV_EIO (not connected, too many unanswered). */
static int publish_on(struct redis_broker *rb, const char *name, const void *data, size_t len,
		      uint64_t *published, uint64_t *dropped)
{
	if (!rb->pub.ready || rb->inflight >= PUBLISH_INFLIGHT_MAX) {
		(*dropped)++;
		rb->m->dropped++;
		return RV_EIO;
	}
	sub_pull(rb);
	lease_keep(rb);
	if (rv__redis_conn_command(rb->pub.c, on_published, rb, "PUBLISH %s %b", name,
			      data, len)) {
		(*dropped)++;
		rb->m->dropped++;
		return RV_EIO;
	}
	rb->inflight++;
	(*published)++;
	rb->m->published++;
	return 0;
}

static int redis_publish(struct rv__broker *b, const char *party, const void *data, size_t len)
{
	struct redis_broker *rb = (struct redis_broker *)b;
	char name[CHANNEL_MAX];

	channel_of(CHANNEL_PREFIX, party, name, sizeof(name));
	return publish_on(rb, name, data, len, &rb->hub->metrics.redis_published,
			  &rb->hub->metrics.redis_dropped);
}

static int redis_publish_kept(struct rv__broker *b, const char *party, enum rv__kept what,
			      const void *data, size_t len, unsigned keep)
{
	static const char *const suffix[] = { "state", "chat", "media", "media" };
	static const int script[] = { SCRIPT_KEEP_STATE, SCRIPT_KEEP_CHAT, SCRIPT_KEEP_MEDIA,
				      SCRIPT_KEEP_MEDIA };
	struct redis_broker *rb = (struct redis_broker *)b;
	char name[CHANNEL_MAX], key[CHANNEL_MAX + 8], kseq[CHANNEL_MAX + 8], ttl[12], kept[12];
	const char *args[6] = { key, name, kseq, data, ttl, kept };
	size_t lens[6];
	int rc;

	if (what == RV__KEPT_CHAT && !keep)
		return redis_publish(b, party, data, len);
	if (!rb->pub.ready || rb->inflight >= PUBLISH_INFLIGHT_MAX) {
		rb->hub->metrics.redis_dropped++;
		rb->m->dropped++;
		return RV_EIO;
	}
	channel_of(CHANNEL_PREFIX, party, name, sizeof(name));
	snprintf(key, sizeof(key), "%s:%s", name, suffix[what]);
	snprintf(kseq, sizeof(kseq), "%s:kept", name);
	snprintf(ttl, sizeof(ttl), "%u", KEEP_MS);
	snprintf(kept, sizeof(kept), "%u", what == RV__KEPT_MEDIA ? 1 : keep);
	lens[0] = strlen(key);
	lens[1] = strlen(name);
	lens[2] = strlen(kseq);
	lens[3] = len;
	lens[4] = strlen(ttl);
	lens[5] = strlen(kept);
	rc = script_run(rb, script[what], 3, what == RV__KEPT_STATE ? 5 : 6, args, lens,
			on_published, rb);
	if (rc) {
		rb->hub->metrics.redis_dropped++;
		rb->m->dropped++;
		return RV_EIO;
	}
	rb->inflight++;
	rb->hub->metrics.redis_published++;
	rb->m->published++;
	return 0;
}

struct recall {
	rv__broker_recall_cb cb;
	void *arg;
};

/* RECALL_LUA's answer: [state envelope or nil, [chat envelopes], kept seq
 * or nil, media envelope or nil]; RESTORE_LUA's has one more: 1 when it
 * wrote. */
static void on_recall(struct rv__redis_conn *c, redisReply *reply, void *priv)
{
	struct recall rq = *(struct recall *)priv;
	redisReply *st, *list;
	struct rv__broker_recalled out = { 0 };
	const char **chat = NULL;
	size_t *chat_len = NULL;

	free(priv);
	if (!reply || reply->type != REDIS_REPLY_ARRAY ||
	    (reply->elements != 4 && reply->elements != 5)) {
		rq.cb(rq.arg, NULL);
		return;
	}
	out.restored = reply->elements == 5 && reply->element[4]->type == REDIS_REPLY_INTEGER &&
		       reply->element[4]->integer == 1;
	st = reply->element[0];
	list = reply->element[1];
	if (reply->element[2]->type == REDIS_REPLY_STRING)
		out.seq = strtoull(reply->element[2]->str, NULL, 10);
	if (st->type == REDIS_REPLY_STRING) {
		out.state = st->str;
		out.state_len = st->len;
	}
	/* an error in its place (a key of another type) is its text: no
	 * envelope, which the receiver logs as malformed */
	if (reply->element[3]->type == REDIS_REPLY_STRING ||
	    reply->element[3]->type == REDIS_REPLY_ERROR) {
		out.media = reply->element[3]->str;
		out.media_len = reply->element[3]->len;
	}
	if (list->type == REDIS_REPLY_ARRAY && list->elements) {
		size_t n = list->elements < RECALL_MAX ? list->elements : RECALL_MAX;
		/* the newest, when a list is longer than we take */
		size_t from = list->elements - n;

		chat = calloc(n, sizeof(*chat));
		chat_len = calloc(n, sizeof(*chat_len));
		if (!chat || !chat_len) {
			free(chat);
			free(chat_len);
			rq.cb(rq.arg, NULL);
			return;
		}
		for (size_t i = 0; i < n; i++) {
			redisReply *e = list->element[from + i];

			if (e->type != REDIS_REPLY_STRING)
				continue;
			chat[out.n] = e->str;
			chat_len[out.n++] = e->len;
		}
	}
	out.chat = chat;
	out.chat_len = chat_len;
	rq.cb(rq.arg, &out);
	free(chat);
	free(chat_len);
}

/* The keys Redis keeps a party's state, chat history, kept sequence and
 * media under (RECALL_LUA's and RESTORE_LUA's KEYS, in that order). */
struct kept_keys {
	char state[CHANNEL_MAX + 8], chat[CHANNEL_MAX + 8], kept[CHANNEL_MAX + 8],
	     media[CHANNEL_MAX + 8];
};

static void kept_keys_of(const char *party, struct kept_keys *k)
{
	char name[CHANNEL_MAX];

	channel_of(CHANNEL_PREFIX, party, name, sizeof(name));
	snprintf(k->state, sizeof(k->state), "%s:state", name);
	snprintf(k->chat, sizeof(k->chat), "%s:chat", name);
	snprintf(k->kept, sizeof(k->kept), "%s:kept", name);
	snprintf(k->media, sizeof(k->media), "%s:media", name);
}

static int redis_recall(struct rv__broker *b, const char *party, rv__broker_recall_cb cb,
			void *arg)
{
	struct redis_broker *rb = (struct redis_broker *)b;
	struct kept_keys k;
	struct recall *rq;

	if (!rb->pub.ready)
		return RV_EIO;
	if (!(rq = malloc(sizeof(*rq))))
		return RV_ENOMEM;
	*rq = (struct recall){ .cb = cb, .arg = arg };
	kept_keys_of(party, &k);
	{
		const char *args[] = { k.state, k.chat, k.kept, k.media };
		int rc = script_run_str(rb, SCRIPT_RECALL, 4, 4, args, on_recall, rq);

		if (rc)
			free(rq);
		return rc;
	}
}

static int redis_restore(struct rv__broker *b, const char *party, const char *state,
			 size_t state_len, const char *media, size_t media_len,
			 const char *const *chat, const size_t *chat_len, size_t n,
			 rv__broker_recall_cb cb, void *arg)
{
	struct redis_broker *rb = (struct redis_broker *)b;
	struct kept_keys k;
	char ttl[12];
	const char **args;
	size_t *lens;
	struct recall *rq;
	int rc = RV_ENOMEM;

	if (!rb->pub.ready)
		return RV_EIO;
	kept_keys_of(party, &k);
	snprintf(ttl, sizeof(ttl), "%u", KEEP_MS);
	args = calloc(n + 7, sizeof(*args));
	lens = calloc(n + 7, sizeof(*lens));
	rq = malloc(sizeof(*rq));
	if (!args || !lens || !rq)
		goto out;
	*rq = (struct recall){ .cb = cb, .arg = arg };
	args[0] = k.state;
	args[1] = k.chat;
	args[2] = k.kept;
	args[3] = k.media;
	args[4] = ttl;
	for (size_t i = 0; i < 5; i++)
		lens[i] = strlen(args[i]);
	args[5] = state ? state : "";
	lens[5] = state ? state_len : 0;
	args[6] = media ? media : "";
	lens[6] = media ? media_len : 0;
	for (size_t i = 0; i < n; i++) {
		args[7 + i] = chat[i];
		lens[7 + i] = chat_len[i];
	}
	if (!(rc = script_run(rb, SCRIPT_RESTORE, 4, n + 7, args, lens, on_recall, rq)))
		rq = NULL;
out:
	free(rq);
	free(args);
	free(lens);
	return rc;
}

/* Subscribe channel name while wanted (broker.h's subscribe). */
static int chan_want(struct redis_broker *rb, const char *name)
{
	struct chan *ch = rv__idmap_get(&rb->chans, name);

	if (!ch) {
		if (!(ch = calloc(1, sizeof(*ch))))
			return RV_ENOMEM;
		snprintf(ch->name, sizeof(ch->name), "%s", name);
		if (rv__idmap_put(&rb->chans, ch->name, ch)) {
			free(ch);
			return RV_ENOMEM;
		}
	}
	ch->want = true;
	/* while leaving, the unsubscribe's answer subscribes again */
	if (rb->sub.ready && !ch->active)
		send_subscribe(rb, ch);
	return 0;
}

/* Channel name is no longer wanted (broker.h's unsubscribe). */
static void chan_unwant(struct redis_broker *rb, const char *name)
{
	struct chan *ch = rv__idmap_get(&rb->chans, name);

	if (!ch)
		return;
	ch->want = false;
	if (ch->leaving)
		return;
	if (ch->active && rb->sub.ready &&
	    !rv__redis_conn_command(rb->sub.c, on_unsub, rb, "UNSUBSCRIBE %s", ch->name)) {
		ch->leaving = true;
		return;
	}
	rv__idmap_del(&rb->chans, name);
	free(ch);
}

static int redis_subscribe(struct rv__broker *b, const char *party)
{
	char name[CHANNEL_MAX];

	channel_of(CHANNEL_PREFIX, party, name, sizeof(name));
	return chan_want((struct redis_broker *)b, name);
}

static void redis_unsubscribe(struct rv__broker *b, const char *party)
{
	char name[CHANNEL_MAX];

	channel_of(CHANNEL_PREFIX, party, name, sizeof(name));
	chan_unwant((struct redis_broker *)b, name);
}

static int redis_progress_subscribe(struct rv__broker *b, const char *owner, const char *session)
{
	char name[CHAN_NAME_MAX];

	progress_channel(owner, session, name, sizeof(name));
	return chan_want((struct redis_broker *)b, name);
}

static void redis_progress_unsubscribe(struct rv__broker *b, const char *owner,
				       const char *session)
{
	char name[CHAN_NAME_MAX];

	progress_channel(owner, session, name, sizeof(name));
	chan_unwant((struct redis_broker *)b, name);
}

static int redis_quality_subscribe(struct rv__broker *b, const char *owner, const char *session)
{
	char name[CHAN_NAME_MAX];

	session_channel(QUALITY_PREFIX, owner, session, name, sizeof(name));
	return chan_want((struct redis_broker *)b, name);
}

static void redis_quality_unsubscribe(struct rv__broker *b, const char *owner,
				      const char *session)
{
	char name[CHAN_NAME_MAX];

	session_channel(QUALITY_PREFIX, owner, session, name, sizeof(name));
	chan_unwant((struct redis_broker *)b, name);
}

/* One PUBLISH of the change, as redis_publish sends a party's message. */
static int redis_quality_publish(struct rv__broker *b, const char *owner, const char *session,
				 const char *profile)
{
	struct redis_broker *rb = (struct redis_broker *)b;
	char name[CHAN_NAME_MAX], line[RV__RELAY_QUALITY_MAX];
	int n = rv__relay_quality_encode(rb->base.node, profile, line);

	if (n < 0)
		return n;
	session_channel(QUALITY_PREFIX, owner, session, name, sizeof(name));
	return publish_on(rb, name, line, (size_t)n, &rb->hub->metrics.quality_relayed,
			  &rb->hub->metrics.quality_relay_dropped);
}

/* The end of the loop turn: the turn's reports go, PROGRESS_CHUNK to a
 * script call (pipelined on the publisher like every command). */
static void progress_flush(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct redis_broker *rb = w->data;
	const char *args[2 * PROGRESS_CHUNK];
	size_t lens[2 * PROGRESS_CHUNK];

	ev_prepare_stop(loop, w);
	for (size_t at = 0; at < rb->n_pending; at += PROGRESS_CHUNK) {
		size_t k = rb->n_pending - at < PROGRESS_CHUNK ? rb->n_pending - at : PROGRESS_CHUNK;

		for (size_t i = 0; i < k; i++) {
			const struct ppub *p = &rb->pending[at + i];

			args[2 * i] = p->chan;
			lens[2 * i] = p->chan_len;
			args[2 * i + 1] = p->line;
			lens[2 * i + 1] = p->line_len;
		}
		if (!rb->pub.ready || rb->inflight >= PUBLISH_INFLIGHT_MAX ||
		    script_run(rb, SCRIPT_PROGRESS, 0, 2 * k, args, lens, on_published, rb)) {
			rb->hub->metrics.progress_relay_dropped += k;
			rb->m->dropped += k;
			continue;
		}
		rb->inflight++;
		rb->hub->metrics.progress_relayed += k;
		rb->m->published++;
	}
	rb->n_pending = 0;
}

static int redis_progress_publish(struct rv__broker *b, const struct rv_progress_rec *rec)
{
	struct redis_broker *rb = (struct redis_broker *)b;
	struct ppub *p;
	int n;

	if (rb->stopped || !rb->pub.ready || rb->n_pending >= PROGRESS_PENDING_MAX) {
		rb->hub->metrics.progress_relay_dropped++;
		return RV_EIO;
	}
	if (rb->n_pending == rb->cap_pending) {
		size_t cap = rb->cap_pending ? 2 * rb->cap_pending : 64;
		struct ppub *np = realloc(rb->pending, cap * sizeof(*np));

		if (!np)
			return RV_ENOMEM;
		rb->pending = np;
		rb->cap_pending = cap;
	}
	p = &rb->pending[rb->n_pending];
	if ((n = rv__relay_progress_encode(rb->base.node, rec, p->line)) < 0)
		return n;
	p->line_len = (size_t)n;
	progress_channel(rec->owner, rec->session_id, p->chan, sizeof(p->chan));
	p->chan_len = strlen(p->chan);
	rb->n_pending++;
	if (!ev_is_active(&rb->flush_w))
		ev_prepare_start(rb->hub->loop, &rb->flush_w);
	return 0;
}

static void stop_conn(struct rconn *rc)
{
	struct rv__redis_conn *c = rc->c;

	ev_timer_stop(rc->rb->hub->loop, &rc->retry);
	/* as in refused: nothing the NULL answers set off may use it */
	rc->c = NULL;
	rc->ready = false;
	rv__redis_conn_close(c);
	conn_gone(rc);          /* stopped: no retry */
}

static void redis_stop(struct rv__broker *b)
{
	struct redis_broker *rb = (struct redis_broker *)b;

	if (rb->stopped)
		return;
	rb->stopped = true;
	ev_timer_stop(rb->hub->loop, &rb->time_w);
	ev_timer_stop(rb->hub->loop, &rb->lease_w);
	ev_prepare_stop(rb->hub->loop, &rb->flush_w);
	rb->n_pending = 0;
	stop_conn(&rb->pub);
	stop_conn(&rb->sub);
	stop_conn(&rb->ctl);
	script_drop_held(rb);
}

static void free_chan(void *ch)
{
	free(ch);
}

static void redis_free(struct rv__broker *b)
{
	struct redis_broker *rb = (struct redis_broker *)b;

	redis_stop(b);
	rv__idmap_free(&rb->chans, free_chan);
	free(rb->pending);
	rv__redis_tls_free(rb->tls);
	free(rb);
}

static const struct rv__broker_ops redis_ops = {
	.name = "redis",
	.publish = redis_publish,
	.publish_kept = redis_publish_kept,
	.recall = redis_recall,
	.restore = redis_restore,
	.members = redis_members,
	.resume_keep = redis_resume_keep,
	.resume_take = redis_resume_take,
	.leases = redis_leases,
	.subscribe = redis_subscribe,
	.unsubscribe = redis_unsubscribe,
	.progress_publish = redis_progress_publish,
	.progress_subscribe = redis_progress_subscribe,
	.progress_unsubscribe = redis_progress_unsubscribe,
	.quality_publish = redis_quality_publish,
	.quality_subscribe = redis_quality_subscribe,
	.quality_unsubscribe = redis_quality_unsubscribe,
	.stop = redis_stop,
	.free = redis_free,
};

/* host into an address, once, before the loop runs: a name is not
 * looked up again on every reconnect (getaddrinfo blocks). The first
 * answer is taken, as the system orders them. */
static int resolve(const char *host, struct sockaddr_storage *out, socklen_t *out_len,
		   char *why, size_t why_len)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	int rc = getaddrinfo(host, NULL, &hints, &res);

	if (rc || !res || res->ai_addrlen > sizeof(*out)) {
		snprintf(why, why_len, "cannot resolve the Redis host %s: %s", host,
			 rc ? gai_strerror(rc) : "no address");
		if (res)
			freeaddrinfo(res);
		return RV_EINVAL;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*out_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int rv__broker_redis_new(struct rv__hub *hub, const char *url,
			 const struct rv__redis_tls_files *tls,
			 const struct rv__broker_redis_opts *o, struct rv__broker **out,
			 char *why, size_t why_len)
{
	struct redis_broker *rb = calloc(1, sizeof(*rb));
	uint64_t seed[2] = { 0, 0 };

	if (!rb)
		return RV_ENOMEM;
	if (rv__redis_url_parse(url, &rb->url, why, why_len) ||
	    (!rb->url.unix_socket &&
	     resolve(rb->url.host, &rb->addr, &rb->addr_len, why, why_len))) {
		free(rb);
		return RV_EINVAL;
	}
	if (rb->addr.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&rb->addr)->sin6_port = htons((uint16_t)rb->url.port);
	else
		((struct sockaddr_in *)&rb->addr)->sin_port = htons((uint16_t)rb->url.port);
	if (rb->url.tls && !(rb->tls = rv__redis_tls_new(tls, why, why_len))) {
		free(rb);
		return RV_ETLS;
	}
	if (rv__idmap_init(&rb->chans)) {
		rv__redis_tls_free(rb->tls);
		free(rb);
		return RV_ENOMEM;
	}
	rv__redis_url_redact(url, rb->shown, sizeof(rb->shown));
	for (int i = 0; i < SCRIPT_COUNT; i++) {
		unsigned char md[SHA_DIGEST_LENGTH];

		rb->scripts[i].text = script_text[i];
		SHA1((const unsigned char *)script_text[i], strlen(script_text[i]), md);
		for (int j = 0; j < SHA_DIGEST_LENGTH; j++)
			snprintf(rb->scripts[i].sha + 2 * j, 3, "%02x", md[j]);
	}
	/* node ids only have to differ between the nodes of one cluster */
	if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed)) {
		seed[0] = (uint64_t)getpid() << 32 ^ (uint64_t)rv_time_mono_ns();
		seed[1] = (uint64_t)(uintptr_t)rb;
	}
	rb->base.ops = &redis_ops;
	rb->base.cluster = true;
	rb->base.node = o->node ? o->node : seed[0] ? seed[0] : 1;
	rb->base.n_shards = 1;
	rb->hub = hub;
	rb->shard = o->shard;
	rb->clock = o->clock;
	rb->m = &hub->metrics.redis_shard[o->shard];
	if (hub->metrics.redis_shards <= o->shard)
		hub->metrics.redis_shards = o->shard + 1;
	rb->m->state = RV_REDIS_STATE_DOWN;
	rb->bo = (struct rv_backoff){ .base_ms = RETRY_BASE_MS, .max_ms = RETRY_MAX_MS,
				      .jitter = 0.5, .rng = seed[1] | 1 };
	rb->pub = (struct rconn){ .rb = rb, .name = "publisher" };
	rb->sub = (struct rconn){ .rb = rb, .name = "subscriber", .sub = true };
	ev_timer_init(&rb->pub.retry, on_retry, 0, 0);
	rb->pub.retry.data = &rb->pub;
	ev_timer_init(&rb->sub.retry, on_retry, 0, 0);
	rb->sub.retry.data = &rb->sub;
	rb->ctl = (struct rconn){ .rb = rb, .name = "control", .control = true };
	ev_timer_init(&rb->ctl.retry, on_retry, 0, 0);
	rb->ctl.retry.data = &rb->ctl;
	ev_timer_init(&rb->time_w, time_tick, TIME_EVERY_S, TIME_EVERY_S);
	rb->time_w.data = rb;
	if (rb->clock)
		ev_timer_start(hub->loop, &rb->time_w);
	ev_prepare_init(&rb->flush_w, progress_flush);
	rb->flush_w.data = rb;
	ev_timer_init(&rb->lease_w, lease_tick, LEASE_EVERY_S, LEASE_EVERY_S);
	rb->lease_w.data = rb;
	ev_timer_start(hub->loop, &rb->lease_w);
	hub->metrics.redis_state = RV_REDIS_STATE_DOWN;
	rv_log(hub->log, RV_LOG_INFO, "cluster", "Redis shard %u %s, node %016llx", rb->shard,
	       rb->shown, (unsigned long long)rb->base.node);
	conn_start(&rb->pub);
	conn_start(&rb->sub);
	conn_start(&rb->ctl);
	*out = &rb->base;
	return 0;
}
