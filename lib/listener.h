/* lib/listener.h - internal: the server's listening socket, owned by us
 * rather than by libwebsockets, and what may be accepted from it.
 *
 * lws 4.1 accepts in its own listen role: at the open-file limit accept()
 * fails with EMFILE, lws logs it and returns, the socket stays readable,
 * and the loop spins writing that log line until a descriptor is freed
 * (measured: 77-99% CPU, MB/s of log, /healthz unanswered). Here the
 * listener accepts itself and hands each socket to lws
 * (lws_adopt_descriptor_vhost_via_info), so that it can keep a ceiling
 * under the limit, answer 503 past it, shed on EMFILE/ENFILE with a spare
 * descriptor (as nginx and libuv do), pause accepting for a moment instead
 * of spinning, and cap connections per client address. It also keeps
 * each address's rate of WebSocket handshakes (ratemap.h), which the
 * server asks about at the upgrade.
 */
#ifndef REVENGE_LISTENER_H
#define REVENGE_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <libwebsockets.h>

#include "revenge/forwarded.h"
#include "revenge/log.h"
#include "revenge/metrics.h"
#include "revenge/proto.h"

#include "ratemap.h"
#include "tally.h"

/* Addresses whose handshake rate is tracked at once; past it a new one is
 * let through untracked (ratemap.h). 65536 buckets are a few MB. */
#define RV__LISTENER_RATE_KEYS 65536

/* Descriptors kept free under RLIMIT_NOFILE for the store, the log, TLS,
 * lws's own pipes and whatever the process opens later. */
#define RV__LISTENER_RESERVE 16

/* The longest request head (request line and headers) served: room for a
 * token in a header or the query (RV_TOKEN_MAX) and 4 KB of the rest. lws
 * gets it as its header space; the listener answers a longer one with 431
 * before lws, which would drop it without a word, reads it. */
#define RV__HTTP_HEAD_MAX (RV_TOKEN_MAX + 4096)
/* and at most this many header lines (Apache's LimitRequestFields) */
#define RV__HTTP_FIELDS_MAX 100
/* lws's header space: it stores an unknown header with a few bytes of its
 * own, so it gets room over RV__HTTP_HEAD_MAX that RV__HTTP_FIELDS_MAX
 * such headers cannot fill, and the listener's limits are the ones met */
#define RV__LWS_HEADER_SPACE (RV__HTTP_HEAD_MAX + 4096)

struct rv__listener_peer;

struct rv__listener {
	struct ev_loop *loop;
	const struct rv_log *log;               /* borrowed */
	struct rv_metrics *metrics;             /* borrowed: the server's */
	struct lws_vhost *vhost;                /* adopts what is accepted */
	int fd;                                 /* the listening socket; -1: none */
	int spare;                              /* /dev/null, shed on EMFILE; -1: not held */
	int port;                               /* the bound port (port 0 resolved) */
	bool tls;                               /* no plain-text 503 on a TLS port */
	unsigned max_per_ip;                    /* open sockets per address; 0: no cap */
	const struct rv_cidr *trusted;          /* borrowed: trusted proxies */
	size_t n_trusted;                       /* (set after init; 0: none) */
	size_t tcp;                             /* adopted sockets open */
	size_t tcp_max, ws_max;                 /* the ceiling and the WebSocket cap */
	struct rv__tally peers;                 /* open sockets per client address */
	struct rv__ratemap handshakes;          /* WebSocket handshakes per address */
	struct rv__listener_peer *adopting;     /* while lws adopts it */
	ev_io io;
	ev_timer resume;                        /* accept again after a pause */
	ev_timer report;                        /* the connections_refused line */
	uint64_t pending[RV_METRIC_N_REFUSALS]; /* refused since the last line */
};

/* The descriptor budget, pure: of limit descriptors, in_use are taken and
 * reserve kept free; the rest (at least 1) is *tcp_max; *ws_max leaves a
 * sixteenth of it (2 to 64) for plain HTTP, so /healthz and /metrics
 * always find room. */
void rv__listener_budget(uint64_t limit, uint64_t in_use, unsigned reserve,
			 size_t *tcp_max, size_t *ws_max);

/* Zero l and set what it borrows; handshake_rate is WebSocket handshakes
 * a second per client address (bursts of RV__BUCKET_ADMIT_BURST_S
 * seconds' worth; 0: no limit). 0 or RV_ENOMEM. Pair with
 * rv__listener_close. */
int rv__listener_init(struct rv__listener *l, const struct rv_log *log,
		      struct rv_metrics *metrics, unsigned max_per_ip,
		      unsigned handshake_rate, bool tls);

/* Make the socket: bind host:port (port 0: a free one; l->port is then the
 * real one) and listen, accepting nothing yet. 0, or RV_EADDR with the
 * reason in why. */
int rv__listener_open(struct rv__listener *l, const char *host, int port,
		      char *why, size_t why_len);

/* Work out the ceiling from RLIMIT_NOFILE and the descriptors open now
 * (call it once everything the server keeps is open), take the spare
 * descriptor and accept on loop into vh. 0 or RV_EIO. */
int rv__listener_start(struct rv__listener *l, struct ev_loop *loop, struct lws_vhost *vh);

/* Stop accepting (the drain's end): no watcher of l stays on the loop;
 * refusals not yet reported are logged now. */
void rv__listener_stop(struct rv__listener *l);

/* Close the sockets and free the per-address table; NULL-safe, and safe on
 * a listener that was only initialised. Call after lws is destroyed. */
void rv__listener_close(struct rv__listener *l);

/* lws destroys an adopted connection (LWS_CALLBACK_WSI_DESTROY): peer is
 * its lws_get_opaque_user_data(), freed here; NULL is ignored. */
void rv__listener_released(struct rv__listener *l, void *peer);

/* A WebSocket handshake on the connection whose lws opaque user data is
 * peer (NULL: not one the listener accepted, let through), at server time
 * now_ms: true when its address is within its handshake rate. When not,
 * *retry_s is the whole seconds (at least 1) until it would be; the caller
 * answers 429 and counts it (rv__listener_refused). */
bool rv__listener_handshake(struct rv__listener *l, void *peer, double now_ms,
			    unsigned *retry_s);

/* The client address of the connection whose lws opaque user data is peer
 * ("" for NULL): the TCP peer's, or since rv__listener_forwarded the one
 * its trusted proxy named. Borrowed from peer. */
const char *rv__listener_addr(const void *peer);

/* A connection from a trusted proxy (l->trusted) is, from its upgrade on,
 * the client's at addr: counted under addr for the per-address cap and
 * handshake rate instead of the proxy's address (which the cap at accept
 * leaves alone). 0, or RV_EFULL when addr already has max_per_ip
 * connections (the caller refuses with 503, RV_REFUSAL_PER_IP). */
int rv__listener_forwarded(struct rv__listener *l, void *peer, const char *addr);

/* Count a connection refused for reason: the metric now, the
 * connections_refused line at most once a second. */
void rv__listener_refused(struct rv__listener *l, enum rv_metric_refusal reason);

#endif
