/* revenge/server.h - revenge-server as a library call.
 *
 * rv_server_run owns everything for the life of the server: a libev event
 * loop (lws runs on it as a foreign loop), the signal watchers (SIGTERM and
 * SIGINT start a drain), the parties and every connection. It returns when
 * the drain has finished.
 */
#ifndef REVENGE_SERVER_H
#define REVENGE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "log.h"
#include "quality.h"
#include "token.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RV_SERVER_MAX_ORIGINS 32

struct rv_server_config {
	const char *host;             /* address to bind, e.g. "127.0.0.1", "::1" */
	int port;                     /* 0 picks a free port */
	/* --metrics-listen: a second, plain-HTTP address serving /metrics,
	 * /healthz and the admin API (docs/admin.md), so that they need not
	 * be reachable through the public proxy; NULL: none (then /metrics
	 * and /healthz are on the main address, and there is no admin API).
	 * With it, the main address still answers /healthz, not /metrics. */
	const char *metrics_host;
	int metrics_port;             /* 0 picks a free port */
	/* Called once the metrics address listens (before on_listening),
	 * with its URL ("http://127.0.0.1:9090"); NULL: not told. */
	void (*on_metrics_listening)(const char *url, void *user);
	const char *origins[RV_SERVER_MAX_ORIGINS]; /* allowlist patterns */
	unsigned n_origins;           /* 0 = the defaults localhost:*, 127.0.0.1:* */
	/* Host names /healthz and /metrics answer besides IP addresses,
	 * localhost, *.localhost and host: shell wildcards; others get 421
	 * (DNS rebinding). */
	const char *allowed_hosts[RV_SERVER_MAX_ORIGINS];
	unsigned n_allowed_hosts;
	/* Reverse proxies, as CIDR ranges ("10.0.0.0/8", "::1"): a connection
	 * from inside one is the client that its X-Forwarded-For or X-Real-IP
	 * names (forwarded.h) for the per-address limits, the sessions of an
	 * open server and the logs; none: the TCP peer is the client. */
	const char *trusted_proxies[RV_SERVER_MAX_ORIGINS];
	unsigned n_trusted_proxies;
	size_t max_message;           /* bytes, after decompression */
	unsigned history;             /* chat messages kept per party */
	unsigned ping_interval;       /* seconds between pings; 0 = none */
	unsigned rate_limit;          /* messages/s per connection; 0 = none */
	unsigned party_chat_rate;     /* chat and reactions/s per party, all its
				       * members together, bursts of twice
				       * that; 0 = none */
	size_t queue_max;             /* queued frames per connection */
	unsigned drain_timeout_ms;    /* longest a drain may take */
	const char *tls_cert;         /* PEM paths: both set -> wss:// */
	const char *tls_key;
	const char *db_path;          /* the store (SQLite); NULL: nothing kept */
	bool fsync;                   /* store with synchronous=FULL */
	/* The store forgets a session not seen (no report, no profile change)
	 * for session_ttl_s seconds, and keeps at most max_stored_per_owner
	 * sessions of one token subject (on an open server: of everyone),
	 * forgetting those seen longest ago; 0 = forever, unlimited
	 * (rv_server_config_defaults: 30 days, 10000). */
	unsigned session_ttl_s;
	unsigned max_stored_per_owner;
	/* Watch parties kept across restarts and members who come back
	 * (--party-retention): a party with no members is kept (in the
	 * store, and in memory) this long, and a member who left may resume
	 * its id, name and host role with its welcome's resume_token within
	 * it. 0 = off: no resume tokens, nothing kept (default 3600: 1 h). Not in
	 * cluster mode (Redis keeps the parties there). */
	unsigned party_retention_s;
	struct rv_ladder ladder;      /* quality profiles, highest first */
	const struct rv_log *log;     /* borrowed; NULL = silent */
	/* Connection tokens (token.h): with a key every WebSocket handshake
	 * needs a token it verifies and whose claims open the path's id;
	 * NULL: open, anyone reaching the port may join any party or use
	 * any session (refused on a non-loopback host unless insecure_open). */
	const struct rv_token_key *auth_key;  /* borrowed */
	double auth_leeway_s;         /* slack on exp and nbf, seconds */
	bool insecure_open;           /* open on a non-loopback host anyway */
	/* Caps on what clients can make the server keep; 0 = unlimited. A
	 * handshake that would pass one is refused with 503. */
	unsigned max_parties;         /* live parties */
	unsigned max_members;         /* members of one party */
	unsigned max_sessions;        /* live progress and stream sessions, together */
	unsigned max_sessions_per_owner; /* live sessions one token subject made;
				       * on an open server, one remote address */
	/* Open sockets from one client address; beyond, a new connection is
	 * answered 503 and closed at accept. 0 = unlimited. */
	unsigned max_conns_per_ip;
	/* WebSocket handshakes a second from one client address, in bursts
	 * of ten seconds' worth; beyond, the upgrade is answered 429 with
	 * Retry-After. 0 = unlimited. */
	unsigned handshake_rate_per_ip;
	/* Joins a second into one party, all joiners together, in bursts of
	 * ten seconds' worth (a party's first join is free); beyond, the
	 * upgrade is answered 429 with Retry-After. 0 = unlimited. */
	unsigned party_join_rate;
	/* Seconds a client has for its TLS handshake, its HTTP request or
	 * upgrade, and the close handshake; 1 or more. */
	unsigned handshake_timeout;
	/* Hostile senders (rx.c). Seconds a client has to finish a frame or
	 * a message it has begun, else 1008; 0 = no limit. */
	unsigned message_timeout;
	/* Bytes all unfinished messages may hold together; beyond, the
	 * connections that began theirs first are closed with 1013. 0 = no
	 * limit. */
	size_t partial_budget;
	/* Frames per second per connection, every kind counted (pings,
	 * pongs, empty continuations), bursts of twice that; beyond, 1008.
	 * 0 = no limit. */
	unsigned frame_rate;
	/* Called once the server accepts connections, with its URL
	 * ("ws://127.0.0.1:8080"); the port is the real one. */
	void (*on_listening)(const char *url, void *user);
	void *user;
	/* SIGHUP: read the configuration again. Returns the new settings or
	 * NULL to keep the current ones (having said why). The server takes
	 * what can change while it serves (limits and caps, settings of
	 * parties made from then on, origins, allowed hosts, the TLS files'
	 * paths) and logs each change (config_changed) and each other
	 * difference (config_restart_needed); the certificate is reloaded
	 * after. The returned settings, and the strings they point to, must
	 * stay valid until rv_server_run returns. NULL hook: SIGHUP reloads
	 * only the certificate. Under systemd ($NOTIFY_SOCKET), the server
	 * sends READY=1 once listening, RELOADING=1 and READY=1 around a
	 * reload and STOPPING=1 when it drains. */
	const struct rv_server_config *(*on_reload)(void *user);
	/* H1 lead: a host's sync takes effect for everyone lead ms after the
	 * server stamps it, lead = clamp(2 x the highest member RTT of the
	 * last 30-40 s, lead_min_ms, lead_max_ms). lead_max_ms 0: at once,
	 * as in v1 (lead_min_ms is then unused). */
	double lead_min_ms;
	double lead_max_ms;
	/* H2 barrier: how long a party holds a resume for members still
	 * buffering, for a wait begun while paused (first load) and for a
	 * stall mid-play (rebuffer); whoever still buffers then is dropped
	 * from the wait. 100 ms or more (defaults 8000 and 3000). */
	double ready_timeout_ms;
	double rebuffer_timeout_ms;
	/* H4 presence: above presence_batch_above members (0 = never) a
	 * party batches joins and leaves into `presence` diffs at most every
	 * presence_interval_ms and bounds its welcome roster. */
	unsigned presence_batch_above;
	double presence_interval_ms;
	/* H3 drift: ms between a party host's `drift` reports (sent only when
	 * something changed); 0 = none. */
	unsigned drift_interval_ms;
	/* Cluster mode: the Redis URL (redis://[[user]:password@]host[:port][/db],
	 * rediss://... the same over TLS, or unix://[[user]:password@]/path[?db=N])
	 * through which nodes share parties; or a comma-separated list of up
	 * to 16 such URLs naming distinct Redis servers, the shards, over which
	 * parties are split by a hash of their id (every node must be given
	 * the same list in the same order); NULL: this process alone. Borrowed. */
	const char *redis_url;
	/* rediss://: the CA certificates (a PEM file) Redis's certificate must
	 * chain to; NULL: the system's. Borrowed. */
	const char *redis_ca;
	/* rediss://: a client certificate (PEM, with its chain) and its key
	 * for a Redis that asks for one (tls-auth-clients); both or neither.
	 * Borrowed. */
	const char *redis_cert;
	const char *redis_key;
	/* The web client on plain HTTP (GET /, /party/{id}, /web/...):
	 * compiled in; web_root, when set, serves that directory's copy
	 * instead (borrowed); no_web answers those paths 404. */
	const char *web_root;
	bool no_web;
};

/* Fill cfg with the defaults: 127.0.0.1:8080, no store, 64 KiB messages,
 * history 50, pings every 30 s, 50 messages/s per connection and 50 chat
 * messages and reactions/s per party, 1024 queued frames, 5 s
 * drain, the default quality ladder, no token key (open) with a 30 s
 * leeway for when one is set, at most 10000 parties of 5000 members each,
 * 50000 sessions and 100 sessions per owner, 256 connections per client
 * address, 50 WebSocket handshakes/s per client address (bursts of 500),
 * 20 joins/s per party (bursts of 200), 5 s for a handshake, 10 s to
 * finish a message, 64 MiB of unfinished messages in all, 1000 frames/s
 * per connection, 8 s ready and 3 s rebuffer timeouts, presence batched
 * above 64 members every 250 ms, a drift report to each host every second
 * at most. */
void rv_server_config_defaults(struct rv_server_config *cfg);

/* Check a redis_url (rv_server_config, one URL or a list) without
 * connecting: 0, or -1 with one line in why saying what is wrong (which
 * URL of a list; never echoing a password). */
int rv_server_check_redis_url(const char *url, char *why, size_t why_len);

/* Run until SIGTERM or SIGINT, then drain: refuse new connections, answer
 * /healthz with 503, close every client with 1001 after flushing its queue,
 * and return 0 within drain_timeout_ms. Returns a negative RV_E* code when
 * the server cannot start (bad address, port in use, TLS files), and
 * RV_EINVAL when it would be open (no auth_key) on a host that is not a
 * loopback address and insecure_open is not set. */
int rv_server_run(const struct rv_server_config *cfg);

#ifdef __cplusplus
}
#endif

#endif
