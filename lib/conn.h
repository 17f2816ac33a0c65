/* lib/conn.h - internal: one WebSocket connection, its send path, and the
 * hub of server-wide services that connections and endpoints share.
 *
 * conn.c owns how a frame reaches a client: the bounded per-connection
 * queue, RFC 6455 framing written once into a shared frame's head-room,
 * one compressed copy per message for permessage-deflate, the turn-end
 * flush that coalesces a connection's frames into one write, and closing
 * after what is queued has gone. Endpoints (ep_*.c) send through it; the
 * server (server.c) feeds it the lws events. It knows no endpoint.
 */
#ifndef REVENGE_CONN_H
#define REVENGE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <libwebsockets.h>
#include <zlib.h>

#include "revenge/clock.h"
#include "revenge/frame.h"
#include "revenge/log.h"
#include "revenge/metrics.h"
#include "revenge/proto.h"
#include "revenge/server.h"
#include "revenge/store.h"
#include "revenge/systime.h"

#include "bucket.h"
#include "list.h"
#include "msgbuf.h"
#include "outq.h"
#include "store_health.h"
#include "tally.h"
#include "wsframe.h"

struct rv__auth;
struct rv__broker;
struct rv__store_writer;
struct rv__endpoint;

/* What the server shares with its connections and endpoints; one per
 * server, owned by server.c (rv_server_run). */
struct rv__hub {
	const struct rv_server_config *cfg;
	const struct rv_log *log;
	struct ev_loop *loop;
	struct rv__broker *broker;              /* local, or Redis with --redis (broker.h) */
	struct rv_clock clock;
	struct rv_metrics metrics;
	struct rv__store_writer *writer;        /* the store (store_writer.h): every
						 * read and write; NULL without --db */
	struct rv__store_health store_health;   /* when to log its failures (store_watch.c) */
	size_t n_sessions;                      /* live progress and stream sessions */
	struct rv__tally session_owners;        /* live sessions per owner key (sessions.h) */
	RV__LIST(struct rv__conn) dirty;        /* frames queued this loop turn */
	z_stream z;                             /* compresses each message once */
	bool zinit;
	unsigned char scratch[64 * 1024];       /* a connection's queued frames, coalesced */
	/* the read side (rx.c): */
	void (*message)(struct rv__conn *c, const char *text, size_t len); /* a client message */
	z_stream inflater;                      /* inflates each client message, reset between */
	bool iinit;
	char *inflated;                         /* the message inflated last (owned, grows) */
	size_t inflated_cap;
	unsigned char rxbuf[16 * 1024];         /* each read, parsed (unmasked) in place */
	/* unfinished messages (rx.c): connections between a frame's or a
	 * message's start and its end, oldest first, and the assembly
	 * memory they hold together (--partial-budget) */
	RV__LIST(struct rv__conn) partial;
	size_t partial_bytes;
	size_t rx_freed;                        /* assembly memory freed since the last trim */
	uint64_t trimmed_at;                    /* last malloc_trim, monotonic ns */
	/* connections with bytes decrypted inside their SSL that epoll
	 * cannot see, read again on the next loop turn (rx.c) */
	RV__LIST(struct rv__conn) rx_more;
	RV__LIST(struct rv__conn) doomed;       /* to be ended at doom_at (conn.c) */
	ev_check rx_check;                      /* feeds them after the poll */
	ev_idle rx_spin;                        /* keeps the poll from blocking meanwhile */
};

/* One per lws connection (HTTP or WebSocket), zeroed by lws; the
 * endpoint's own per-connection state follows it (rv__conn_ep). */
struct rv__conn {
	struct rv__hub *hub;
	struct lws *wsi;
	const struct rv__endpoint *endpoint;
	void *endpoint_state;                   /* the endpoint's server-wide state */
	unsigned endpoint_index;                /* its row in the table, for metrics */
	struct rv__auth *auth;                  /* its token (auth.c); NULL when open */
	struct rv__conn *prev, *next;           /* the server's open connections, by ka_due */
	uint64_t ka_due;                        /* keep-alive: next look, monotonic ns */
	bool ka_active;                         /* heard from since the last look */
	bool ka_pinged;                         /* pinged, not heard from since */
	bool dirty;                             /* on hub->dirty */
	struct rv__conn *dirty_prev, *dirty_next;
	bool is_ws;
	const char *remote;                     /* the client's address for the logs,
						 * borrowed from the listener (lives
						 * until WSI_DESTROY); "" unknown */
	struct rv__outq q;                      /* outbound frames, bounded, latest-wins */
	int close_code;                         /* nonzero: close once the queue is written */
	bool close_sent;                        /* the close reason went to lws */
	const char *close_reason;
	bool deflate;                           /* permessage-deflate, client context reset per message */
	struct rv__msgbuf rx;                   /* inbound message assembly */
	ev_io rx_w;                             /* rx.c's watcher on the socket */
	struct rv__wsframe wsf;                 /* rx.c's frame parser */
	bool rx_on;                             /* rx_w set up (stopped again in rv__rx_stop) */
	bool peer_closed;                       /* the peer's close frame or EOF came */
	bool close_echo;                        /* close_code echoes the peer's, not ours */
	bool half_closed;                       /* our FIN went; waiting for the peer's */
	bool rx_done;                           /* nothing more to read or say: end c */
	bool on_partial;                        /* on hub->partial */
	struct rv__conn *partial_prev, *partial_next;
	uint64_t partial_since;                 /* monotonic ns the unfinished frame or message began */
	size_t rx_held;                         /* rx's capacity counted in hub->partial_bytes */
	bool on_rx_more;                        /* on hub->rx_more */
	bool on_doomed;                         /* on hub->doomed */
	struct rv__conn *doomed_prev, *doomed_next;
	uint64_t doom_at;                       /* monotonic ns: end c then, whatever it sends */
	struct rv__conn *rx_more_prev, *rx_more_next;
	struct rv__bucket frame_rate;           /* --frame-rate: every frame, of any kind */
	uint64_t frames_taken;                  /* wsf.frames already taken from frame_rate */
	unsigned char *pong;                    /* the latest ping unanswered while choked:
						 * length byte, payload (owned) */
	struct rv__bucket rate;                 /* --rate-limit */
	unsigned strikes;                       /* rate-limited messages, none a quiet second apart */
	double strike_at;                       /* server time of the last, ms */
	unsigned char *http_body;               /* HTTP reply, with LWS_PRE head-room */
	size_t http_len;
	max_align_t ep[];                       /* the endpoint's conn_size bytes */
};

/* The endpoint's per-connection state of c, and back. */
static inline void *rv__conn_ep(struct rv__conn *c)
{
	return c->ep;
}

static inline struct rv__conn *rv__conn_of_ep(void *ep_state)
{
	return (struct rv__conn *)(void *)((char *)ep_state - offsetof(struct rv__conn, ep));
}

/* Server time now, ms. */
static inline double rv__hub_now(const struct rv__hub *hub)
{
	return rv_clock_server_time(&hub->clock, rv_time_mono_ns());
}

/* Write every connection's frames queued this loop turn (see conn.c). */
void rv__conn_flush_turn(struct rv__hub *hub);

/* Free what the send path made in hub (the deflate stream). */
void rv__conn_hub_fini(struct rv__hub *hub);

/* Start c's send path, once the WebSocket is established. */
void rv__conn_init(struct rv__conn *c, struct rv__hub *hub, struct lws *wsi);

/* Free what c holds for sending and receiving; nothing is sent after. */
void rv__conn_fini(struct rv__conn *c);

/* lws says c may write: write what is queued, then the close frame if one
 * was asked for. Returns -1 when lws must close c. */
int rv__conn_writable(struct rv__conn *c);

/* Queue f for c (a reference is taken). A full queue closes c with 1013. */
void rv__conn_send(struct rv__conn *c, struct rv_frame *f);
/* Send f and drop the caller's reference (NULL-safe: an encode that ran
 * out of memory is skipped). */
void rv__conn_send_own(struct rv__conn *c, struct rv_frame *f);
/* Answer an error to c alone, counted in the metrics. */
void rv__conn_send_error(struct rv__conn *c, const struct rv_proto_error *err);
/* Answer `error unknown_type` for a message type c's endpoint does not use. */
void rv__conn_send_unused(struct rv__conn *c, const struct rv_msg *m);
/* Answer "ack" with id to c. */
void rv__conn_ack(struct rv__conn *c, const char *id);
/* Answer "time" to a request read at received (server time, ms). */
void rv__conn_answer_time(struct rv__conn *c, const struct rv_msg *m, double received);
/* Close c with code after its queue is written; the first code asked for
 * wins, except that a drain's 1001 yields to any other. 1005 sends a
 * close frame with no code (the echo of one that had none). */
void rv__conn_request_close(struct rv__conn *c, int code, const char *reason);
/* End c after secs seconds (0: on the next sweep) unless it has ended by
 * then, from the server's own timer rather than lws's alone: lws 4.1's
 * libev glue re-arms its timer only from an ev_idle, which a busy loop
 * (a flood, a full socket's writable events every turn) may never run.
 * A later call only brings the end closer. */
void rv__conn_doom(struct rv__conn *c, unsigned secs);
/* End the connections whose time has come; from a timer (never from an
 * lws callback: they are closed synchronously). */
void rv__conn_reap(struct rv__hub *hub);

/* Answer a ping with a pong carrying payload (len <= 125). Written at
 * once between whole frames; while c's socket is full only the latest
 * ping is kept for later (RFC 6455 5.5.3). */
void rv__conn_pong(struct rv__conn *c, const unsigned char *payload, size_t len);

/* Send a ping carrying payload (len <= 125) at once, between whole
 * frames. Returns 0 when written, -1 when not (c closing, or its socket
 * full: a ping would wait behind the backlog and time that, not the
 * path). */
int rv__conn_ping(struct rv__conn *c, const unsigned char *payload, size_t len);

#endif
