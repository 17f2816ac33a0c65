/* revenge/metrics.h - the server's counters and their Prometheus rendering.
 *
 * Plain counters updated on the event-loop thread (no atomics needed: one
 * service thread per process). Rendering reads /proc/self for the standard
 * process_* metrics.
 */
#ifndef REVENGE_METRICS_H
#define REVENGE_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* WebSocket endpoints counted apart, each under its own label. */
#define RV_METRIC_ENDPOINTS_MAX 8

/* Close codes worth counting, in the order rendered. */
#define RV_METRIC_CLOSE_CODES 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1011, 1013, 4401
#define RV_METRIC_N_CLOSE_CODES 10

/* HTTP statuses a handshake is refused with, in the order rendered. */
#define RV_METRIC_REFUSED_STATUSES 400, 401, 403, 404, 429, 431, 503
#define RV_METRIC_N_REFUSED 7

/* Why a connection token was refused, in the order rendered. */
#define RV_METRIC_AUTH_REASONS "missing", "bad", "bad_signature", "expired", \
	"not_yet_valid", "out_of_scope"
#define RV_METRIC_N_AUTH_REASONS 6

/* The caps a handshake or join may be refused by, in the order rendered
 * (enum rv_metric_limit). */
#define RV_METRIC_LIMITS "parties", "members", "sessions", "sessions_per_owner"
#define RV_METRIC_N_LIMITS 4
enum rv_metric_limit {
	RV_LIMIT_PARTIES, RV_LIMIT_MEMBERS, RV_LIMIT_SESSIONS, RV_LIMIT_SESSIONS_PER_OWNER
};

/* Store operations whose failures are counted apart, in the order rendered
 * (enum rv_metric_store_op). */
#define RV_METRIC_STORE_OPS "write_progress", "write_quality", "read"
#define RV_METRIC_N_STORE_OPS 3
enum rv_metric_store_op {
	RV_STORE_OP_WRITE_PROGRESS, RV_STORE_OP_WRITE_QUALITY, RV_STORE_OP_READ
};

/* The store as /healthz and revenge_store_up show it. */
enum rv_metric_store_state {
	RV_STORE_STATE_NONE = 0,     /* running without --db */
	RV_STORE_STATE_OK,
	RV_STORE_STATE_FAILING,      /* the last write failed */
};

/* The cluster broker as /healthz and revenge_redis_up show it. */
enum rv_metric_redis_state {
	RV_REDIS_STATE_NONE = 0,     /* running without --redis */
	RV_REDIS_STATE_UP,           /* publisher and subscriber ready */
	RV_REDIS_STATE_DOWN,         /* either not (yet) connected: parties run locally */
};

/* Redis shards (--redis with several URLs) at most; one is shard 0. */
#define RV_METRIC_REDIS_SHARDS_MAX 16

/* One Redis shard as /healthz and revenge_redis_shard_* show it. */
struct rv_metric_redis_shard {
	enum rv_metric_redis_state state;
	uint64_t reconnects, published, received, dropped;
};

/* Why the listener or the handshake refused a connection, in the order
 * rendered (enum rv_metric_refusal): the descriptor ceiling, the spare
 * descriptor shed on EMFILE/ENFILE, the per-address cap, the WebSocket
 * cap that keeps room for /healthz and /metrics, the per-address handshake
 * rate and the per-party join rate (both 429). */
#define RV_METRIC_REFUSALS "fd_limit", "emfile", "per_ip", "websockets", \
	"handshake_rate", "party_join_rate"
#define RV_METRIC_N_REFUSALS 6
enum rv_metric_refusal {
	RV_REFUSAL_FD_LIMIT, RV_REFUSAL_EMFILE, RV_REFUSAL_PER_IP, RV_REFUSAL_WEBSOCKETS,
	RV_REFUSAL_HANDSHAKE_RATE, RV_REFUSAL_PARTY_JOIN_RATE
};

/* accept() errors counted by errno, in the order rendered (enum
 * rv_metric_accept_error); "other" is any errno not listed. */
#define RV_METRIC_ACCEPT_ERRORS "EMFILE", "ENFILE", "ENOBUFS", "ENOMEM", "other"
#define RV_METRIC_N_ACCEPT_ERRORS 5
enum rv_metric_accept_error {
	RV_ACCEPT_EMFILE, RV_ACCEPT_ENFILE, RV_ACCEPT_ENOBUFS, RV_ACCEPT_ENOMEM, RV_ACCEPT_OTHER
};

/* Upper bounds (seconds) of the store commit latency histogram. */
#define RV_METRIC_COMMIT_BUCKETS 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0
#define RV_METRIC_N_COMMIT_BUCKETS 11

/* Upper bounds (ms) of the members' |drift| histogram (H3 drift). */
#define RV_METRIC_DRIFT_BUCKETS 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000
#define RV_METRIC_N_DRIFT_BUCKETS 10

struct rv_metrics {
	const char *endpoint_names[RV_METRIC_ENDPOINTS_MAX]; /* labels, borrowed */
	unsigned n_endpoints;
	uint64_t connections_total[RV_METRIC_ENDPOINTS_MAX];
	int64_t connections_open[RV_METRIC_ENDPOINTS_MAX];
	int64_t parties;
	int64_t progress_sessions;           /* live, in memory */
	int64_t stream_sessions;
	uint64_t limit_refusals[RV_METRIC_N_LIMITS]; /* handshakes and joins, by cap */
	int64_t tcp_connections;             /* accepted sockets open (HTTP and WebSocket) */
	int64_t tcp_connections_max;         /* the descriptor ceiling for them */
	int64_t websockets_max;              /* WebSocket cap under it */
	int64_t conn_peers;                  /* client addresses with an open socket */
	uint64_t conn_refusals[RV_METRIC_N_REFUSALS];
	uint64_t accept_errors[RV_METRIC_N_ACCEPT_ERRORS];
	uint64_t messages_in[RV_MSG__COUNT];
	uint64_t messages_out[RV_MSG__COUNT];
	uint64_t errors[RV_ERR__COUNT];
	uint64_t handshakes_refused[RV_METRIC_N_REFUSED];
	uint64_t auth_failures[RV_METRIC_N_AUTH_REASONS]; /* handshakes and refreshes */
	uint64_t auth_refreshed;             /* refresh messages accepted */
	uint64_t closes[RV_METRIC_N_CLOSE_CODES];
	uint64_t slow_dropped;               /* closed 1013: queue overflow */
	uint64_t state_replaced;             /* unsent STATE frames superseded */
	uint64_t rx_timed_out;               /* closed 1008: message not finished in --message-timeout */
	uint64_t rx_over_budget;             /* closed 1013: over --partial-budget, oldest first */
	uint64_t rx_frame_flood;             /* closed 1008: over --frame-rate */
	uint64_t rx_partial_bytes;           /* unfinished messages held now (gauge) */
	uint64_t bytes_in;
	uint64_t bytes_out;
	uint64_t messages_deflated;     /* compressed once, shared by recipients */
	uint64_t http_requests;
	uint64_t progress_stored;            /* reports committed to the store */
	uint64_t store_errors[RV_METRIC_N_STORE_OPS]; /* failed operations, by op */
	uint64_t progress_refused;           /* reports answered store_unavailable */
	enum rv_metric_store_state store_state;
	uint64_t quality_suggestions[2];     /* [0] up, [1] down */
	uint64_t party_budget_refusals[2];   /* over a party's budget: [0] chat, [1] reaction */
	uint64_t party_waits;                /* waits begun (a member in the barrier buffers) */
	uint64_t party_barrier_timeouts;     /* members dropped from a wait by a timeout */
	uint64_t commit_le[RV_METRIC_N_COMMIT_BUCKETS + 1]; /* per bucket, last: +Inf */
	uint64_t commit_count;
	double commit_seconds;
	double start_wall_ms;
	double party_lead_ms;                /* H1: the lead of the latest host sync (gauge) */
	/* H3 drift: |drift| of each status counted (rv_metrics_drift) */
	uint64_t drift_le[RV_METRIC_N_DRIFT_BUCKETS + 1]; /* per bucket, last: +Inf */
	uint64_t drift_count;
	double drift_sum_ms;
	/* cluster mode (--redis, broker_redis.c) */
	enum rv_metric_redis_state redis_state;     /* UP while every shard is */
	unsigned redis_shards;               /* --redis URLs, 0 without */
	struct rv_metric_redis_shard redis_shard[RV_METRIC_REDIS_SHARDS_MAX];
	uint64_t redis_reconnects;           /* connections (re)made after the first */
	uint64_t redis_published;            /* envelopes handed to Redis */
	uint64_t redis_received;             /* envelopes of other nodes delivered here */
	uint64_t redis_dropped;              /* not published: Redis down or too slow */
	uint64_t redis_script_reloads;       /* NOSCRIPT answered: sent again as EVAL */
	uint64_t redis_lease_lost;           /* this node's lease found gone at a renewal */
	uint64_t progress_relayed;           /* committed reports published to other nodes */
	uint64_t progress_relay_received;    /* other nodes' reports taken here */
	uint64_t progress_relay_dropped;     /* committed, not published: Redis down or slow */
	uint64_t quality_relayed;            /* profile changes published to other nodes */
	uint64_t quality_relay_received;     /* other nodes' changes taken here */
	uint64_t quality_relay_dropped;      /* not published: Redis down or slow */
	bool redis_clock_known;              /* a TIME answered */
	double redis_clock_offset_ms;        /* Redis TIME - server time (gauge) */
	double redis_clock_rtt_ms;           /* the round trip of that sample */
	uint64_t redis_clock_aligned;        /* server time stepped onto Redis's */
};

/* Record one store commit that took seconds. */
void rv_metrics_commit(struct rv_metrics *m, double seconds);

/* Record one member status counted with |drift| abs_ms (H3 drift). */
void rv_metrics_drift(struct rv_metrics *m, double abs_ms);

/* Count a close we initiated with code (unknown codes are ignored). */
void rv_metrics_close(struct rv_metrics *m, int code);
/* Count a handshake refused with HTTP status (400/401/403/404/429/503). */
void rv_metrics_refused(struct rv_metrics *m, int status);
/* Count a token refused for reason, one of RV_METRIC_AUTH_REASONS (others
 * are ignored). */
void rv_metrics_auth_failure(struct rv_metrics *m, const char *reason);

/* Render the Prometheus text exposition into a new NUL-terminated buffer
 * (*out, caller frees with free()). Returns 0 or RV_ENOMEM. */
int rv_metrics_render(const struct rv_metrics *m, char **out, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
