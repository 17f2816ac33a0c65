/* lib/server_int.h - internal: what the server adapter (server.c) shares
 * with its endpoints (ep_party.c, ep_progress.c, ep_stream.c).
 *
 * server.c owns the event loop, the lws context, handshakes, HTTP, the
 * per-connection queues and the drain. An endpoint owns the state behind
 * its path (parties, progress sessions, stream sessions) and turns decoded
 * messages into frames through rv__conn_send.
 */
#ifndef REVENGE_SERVER_INT_H
#define REVENGE_SERVER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <libwebsockets.h>
#include <zlib.h>

#include "revenge/clock.h"
#include "revenge/metrics.h"
#include "revenge/party.h"
#include "revenge/proto.h"
#include "revenge/quality.h"
#include "revenge/server.h"
#include "revenge/store.h"

#include "msgbuf.h"
#include "outq.h"

struct rv__server;
struct rv__parties;
struct rv__progress;
struct rv__streams;
struct rv__psession;
struct rv__ssession;

/* What the handshake read from the request line. */
struct rv__request {
	enum rv_endpoint ep;
	char id[RV_ID_MAX + 1];                 /* party or session id */
	char name[RV_NAME_MAX_BYTES + 1];       /* party: ?name= */
	bool has_name;
	unsigned interval_ms;                   /* progress: ?interval_ms= */
	bool has_interval;
};

/* One per lws connection (HTTP or WebSocket), zeroed by lws. */
struct rv__conn {
	struct rv__server *srv;
	struct lws *wsi;
	struct rv__conn *prev, *next;           /* the server's open ws connections,
						 * by ka_due */
	uint64_t ka_due;                        /* keep-alive: next look, monotonic ns */
	bool ka_active;                         /* heard from since the last look */
	bool ka_pinged;                         /* pinged, not heard from since */
	bool dirty;                             /* frames queued this loop turn */
	struct rv__conn *dirty_prev, *dirty_next; /* the server's dirty list */
	bool is_ws;
	enum rv_endpoint ep;
	struct rv__outq q;                      /* outbound frames, bounded, latest-wins */
	int close_code;                         /* nonzero: close once the queue is written */
	bool close_sent;                        /* the close reason went to lws */
	const char *close_reason;
	bool deflate;                           /* permessage-deflate, client context reset per message */
	struct rv__msgbuf rx;                   /* inbound message assembly */
	double tokens, tokens_at;               /* rate limit: token bucket */
	unsigned strikes;
	unsigned char *http_body;               /* HTTP reply, with LWS_PRE head-room */
	size_t http_len;
	union {
		struct {
			struct rv_party *party;
			struct rv_member *member;
		} party;
		struct {
			struct rv__psession *ps;
			struct rv__conn *prev, *next;   /* the session's subscribers */
			ev_timer tick;
			unsigned interval_ms;
		} progress;
		struct {
			struct rv__ssession *ss;
			struct rv__conn *prev, *next;   /* the session's connections */
		} stream;
	} u;
};

struct rv__server {
	const struct rv_server_config *cfg;
	const struct rv_log *log;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct ev_loop *loop;
	ev_signal sigterm, sigint;
	ev_timer drain_timer, lws_tick, keepalive;
	ev_prepare flush;                       /* writes what the turn queued */
	struct rv_clock clock;
	struct rv_metrics metrics;
	struct rv__conn *conns, *conns_tail;    /* open ws connections, by ka_due */
	struct rv__conn *dirty;                 /* connections with frames to write */
	size_t n_conns;
	bool draining;
	uint64_t drain_deadline_ns;
	struct rv_store *store;                 /* NULL when running without --db */
	struct rv__parties *parties;
	struct rv__progress *progress;
	struct rv__streams *streams;
	z_stream z;                             /* compresses each message once */
	bool zinit;
	unsigned char scratch[64 * 1024];       /* a connection's queued frames, coalesced */
};

/* Server time now, ms. */
double rv__server_now(const struct rv__server *s);

/* Queue f for c (a reference is taken). A full queue closes c with 1013. */
void rv__conn_send(struct rv__conn *c, struct rv_frame *f);
/* Send f and drop the caller's reference (NULL-safe: an encode that ran
 * out of memory is skipped). */
void rv__conn_send_own(struct rv__conn *c, struct rv_frame *f);
/* Answer an error to c alone, counted in the metrics. */
void rv__conn_send_error(struct rv__conn *c, const struct rv_proto_error *err);
/* Answer "ack" with id to c. */
void rv__conn_ack(struct rv__conn *c, const char *id);
/* Close c with code after its queue is written (see server.c). */
void rv__conn_request_close(struct rv__conn *c, int code, const char *reason);

/* An endpoint: a path prefix and what happens on it. */
struct rv__endpoint {
	const char *prefix;                     /* "/ws/party/" */
	enum rv_endpoint ep;
	/* Check one query argument "key=value" of len bytes: 0, or fill why
	 * and return 400. Unknown keys are ignored. NULL: none taken. */
	int (*query)(const char *arg, size_t len, struct rv__request *r,
		     char *why, size_t why_len);
	/* The handshake completed: 0, or -1 to close. */
	int (*open)(struct rv__server *s, struct rv__conn *c, const struct rv__request *r);
	/* A decoded message other than "time". */
	void (*message)(struct rv__server *s, struct rv__conn *c, const struct rv_msg *m,
			double now);
	/* The connection is gone: forget it. */
	void (*close)(struct rv__server *s, struct rv__conn *c);
};

extern const struct rv__endpoint rv__ep_party;
extern const struct rv__endpoint rv__ep_progress;
extern const struct rv__endpoint rv__ep_stream;

/* Each endpoint's server-wide state: 0 or RV_ENOMEM; free is NULL-safe. */
int rv__parties_new(struct rv__server *s);
void rv__parties_free(struct rv__server *s);
int rv__progress_new(struct rv__server *s);
void rv__progress_free(struct rv__server *s);
int rv__streams_new(struct rv__server *s);
void rv__streams_free(struct rv__server *s);

#endif
