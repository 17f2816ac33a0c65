/* lib/server.c - the libwebsockets adapter behind revenge-server.
 *
 * Owns the event loop (libev, with lws as a guest on it), the store's
 * lifetime, the endpoints' start and stop, the handshake (routing, query
 * and origin by request.c; subprotocol and deflate here), plain HTTP
 * (/healthz, /metrics; the web client's files are web.c's), message dispatch (frames are read by rx.c), rate
 * limits, keep-alive, the
 * "time" answer every endpoint shares, the SIGTERM/SIGINT drain and the
 * SIGHUP certificate reload, and the --metrics-listen address (a second
 * vhost on the same loop: /metrics, /healthz, the admin API of admin.c). A
 * connection's send path is conn.c's; what happens on each WebSocket path
 * is its endpoint's (endpoints.c lists them); the rules themselves live in
 * the pure core.
 */
#include "revenge/server.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <ev.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "revenge/error.h"
#include "revenge/metrics.h"
#include "revenge/party.h"
#include "revenge/proto.h"
#include "revenge/systime.h"

#include "admin.h"
#include "auth.h"
#include "broker.h"
#include "conn.h"
#include "endpoint.h"
#include "list.h"
#include "listener.h"
#include "request.h"
#include "redis_conn.h"
#include "store_watch.h"
#include "store_writer.h"
#include "rx.h"
#include "notify.h"
#include "reload.h"
#include "web.h"

#define URI_MAX 512
#define QUERY_MAX (RV_TOKEN_MAX + 512)  /* room for ?token= */
#define RATE_STRIKES_MAX 50     /* rate-limited messages before 1008 */
#define RATE_QUIET_MS 1000.0    /* a strike this long after the last starts anew */

struct rv__server {
	struct rv__hub hub;                     /* what connections and endpoints share */
	const struct rv_server_config *cfg;     /* &live */
	struct rv_server_config live;           /* the caller's, as SIGHUPs changed it */
	const struct rv_log *log;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct rv__listener listener;           /* accepts and adopts into vhost */
	SSL_CTX *ssl_ctx;                       /* the vhost's, borrowed from lws; NULL: plain */
	ev_signal sigterm, sigint, sighup;
	ev_timer drain_timer, lws_tick, keepalive, rx_sweep;
	ev_prepare flush;                       /* writes what the turn queued */
	RV__LIST(struct rv__conn) conns;        /* open ws connections, by ka_due */
	size_t n_conns;
	bool draining;
	uint64_t drain_deadline_ns;
	void *ep_state[RV_METRIC_ENDPOINTS_MAX]; /* each endpoint's, from its start */
	struct rv_cidr trusted[RV_SERVER_MAX_ORIGINS]; /* cfg->trusted_proxies, parsed */
	/* --metrics-listen: its vhost (NULL: none) and listener; the
	 * listener's gauges (open sockets, ceiling, refusals) go to a
	 * metrics struct of its own, so that /metrics keeps describing the
	 * clients' address rather than whichever listener changed last */
	struct lws_vhost *ops_vhost;
	struct rv__listener ops_listener;
	struct rv_metrics ops_listener_metrics;
	bool ops_inited;
	struct lws_protocols ops_protocols[2];
};

/* What a connection of the metrics address keeps beside its rv__conn, in
 * the conn's endpoint tail (rv__conn_ep): an admin POST whose small body
 * lws still reads is answered once it is read (ops_http). */
struct ops_conn {
	char uri[URI_MAX];                      /* the POST waiting for its body */
	bool pending;
	bool close_after;                       /* a refused body: close once answered */
};

/* ---- handshake -------------------------------------------------------- */

/* Check the upgrade request: the path, id and query (request.c), the
 * Origin, and the token (auth.c, its claims into claims). Returns 0, or the
 * HTTP status to refuse with and a reason in why. */
static int parse_request(struct rv__server *s, struct lws *wsi, struct rv__request *r,
			 struct rv_token_claims *claims, char *why, size_t why_len)
{
	char uri[URI_MAX], arg[QUERY_MAX];
	int n, status;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) >= URI_MAX) {
		snprintf(why, why_len, "request path too long");
		memset(r, 0, sizeof(*r));
		return 400;
	}
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0) {
		snprintf(why, why_len, "not a GET request");
		memset(r, 0, sizeof(*r));
		return 400;
	}
	if ((status = rv__request_route(uri, r, why, why_len)))
		return status;
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) >= QUERY_MAX) {
		snprintf(why, why_len, "query too long");
		return 400;
	}
	for (int i = 0; (n = lws_hdr_copy_fragment(wsi, arg, sizeof(arg),
						  WSI_TOKEN_HTTP_URI_ARGS, i)) >= 0; i++)
		if ((status = rv__request_arg(r, arg, (size_t)n, why, why_len)))
			return status;
	n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
	if (n > 0) {
		if (n >= URI_MAX || lws_hdr_copy(wsi, arg, sizeof(arg), WSI_TOKEN_ORIGIN) < 0 ||
		    !rv__request_origin_allowed(s->cfg->origins, s->cfg->n_origins, arg)) {
			snprintf(why, why_len, "origin not allowed");
			return 403;
		}
	}
	/* the owner of a session on an open server (sessions.h): the
	 * client's address, as a trusted proxy named it (client_address) */
	if (lws_get_opaque_user_data(wsi))
		snprintf(r->peer, sizeof(r->peer), "%s",
			 rv__listener_addr(lws_get_opaque_user_data(wsi)));
	else
		lws_get_peer_simple(wsi, r->peer, sizeof(r->peer));
	return rv__auth_check(&s->hub, wsi, r, claims, why, why_len);
}

/* The client's address of wsi for the logs (rv__listener_addr), "" when
 * the listener did not accept it. Borrowed. */
static const char *remote_of(struct lws *wsi)
{
	return rv__listener_addr(lws_get_opaque_user_data(wsi));
}

/* A connection from a trusted proxy (--trusted-proxy) is its client's from
 * now on: the address its X-Forwarded-For or X-Real-IP names
 * (forwarded.h) takes the proxy's place under the per-address limits and
 * in the logs. Headers from anyone else are never read. 0, or RV_EFULL
 * when that client has its --max-conns-per-ip already. */
static int client_address(struct rv__server *s, struct lws *wsi)
{
	void *peer = lws_get_opaque_user_data(wsi);
	const char *addr = rv__listener_addr(peer);
	char client[RV_FORWARDED_ADDR_MAX], real_ip[RV_FORWARDED_ADDR_MAX + 16] = "";
	char *xff = NULL;
	int n;

	if (!peer || !s->cfg->n_trusted_proxies ||
	    !rv_forwarded_trusted(s->trusted, s->cfg->n_trusted_proxies, addr))
		return 0;
	/* the listener bounds the whole head (RV__HTTP_HEAD_MAX), so the
	 * header, all its lines joined with ',', is read whole */
	n = lws_hdr_total_length(wsi, WSI_TOKEN_X_FORWARDED_FOR);
	if (n > 0 && n <= RV__LWS_HEADER_SPACE && (xff = malloc((size_t)n + 1)) &&
	    lws_hdr_copy(wsi, xff, n + 1, WSI_TOKEN_X_FORWARDED_FOR) < 0)
		xff[0] = 0;
	/* a longer X-Real-IP is not an address: left out */
	if (lws_hdr_copy(wsi, real_ip, sizeof(real_ip), WSI_TOKEN_HTTP_X_REAL_IP) < 0)
		real_ip[0] = 0;
	rv_forwarded_client(s->trusted, s->cfg->n_trusted_proxies, addr, xff, real_ip, client,
			    sizeof(client));
	free(xff);
	return rv__listener_forwarded(&s->listener, peer, client);
}

/* Answer status with why and close; retry_s, when not 0, is sent as
 * Retry-After. A refusal that can come by the thousand in a flood (the
 * connection cap, the handshake and join rates) is not logged here: the
 * listener's connections_refused line counts it once a second. */
static int refuse_as(struct rv__server *s, struct lws *wsi, int status, const char *why,
		     bool log, unsigned retry_s)
{
	rv_metrics_refused(&s->hub.metrics, status);
	if (log && s->log && s->log->level >= RV_LOG_INFO) {
		char origin[URI_MAX] = "", path[URI_MAX] = "";

		/* what was asked, as far as it fits: the Origin refused, the
		 * path whose token was not good */
		if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
			snprintf(origin, sizeof(origin), "(too long)");
		if (lws_hdr_copy(wsi, path, sizeof(path), WSI_TOKEN_GET_URI) < 0)
			path[0] = 0;
		rv_log_kv(s->log, RV_LOG_INFO, "handshake_refused",
			  RV_LOG_FIELDS(RV_LOG_INT("status", status), RV_LOG_STR("reason", why),
					RV_LOG_STR("remote", remote_of(wsi)),
					RV_LOG_STR("path", path[0] ? path : NULL),
					RV_LOG_STR("origin", origin[0] ? origin : NULL)),
			  "%d %s", status, why);
	}
	/* Written by hand: lws_return_http_status answers an upgrade request
	 * with an HTTP/1.0 status line, which strict clients reject. */
	const char *text = status == 400 ? "Bad Request" : status == 401 ? "Unauthorized" :
			   status == 403 ? "Forbidden" : status == 404 ? "Not Found" :
			   status == 429 ? "Too Many Requests" : "Service Unavailable";
	/* RFC 6750 3: a 401 names the scheme the resource takes */
	const char *challenge = status == 401 ? "www-authenticate: Bearer realm=\"revenge\"\r\n" : "";
	char retry[40] = "";
	unsigned char buf[LWS_PRE + 1024];
	int n;

	char reason[200];
	size_t i;

	if (retry_s)
		snprintf(retry, sizeof(retry), "retry-after: %u\r\n", retry_s);
	/* the reason again as a header, which a WebSocket client can read
	 * where it cannot read a refused upgrade's body; printable ASCII only,
	 * so that nothing in it can end the header */
	for (i = 0; why[i] && i < sizeof(reason) - 1; i++)
		reason[i] = why[i] >= 0x20 && why[i] < 0x7f ? why[i] : '?';
	reason[i] = 0;
	n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
		     "HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n%s%s"
		     "x-revenge-reason: %s\r\n"
		     "content-length: %zu\r\nconnection: close\r\n\r\n%s\n",
		     status, text, challenge, retry, reason, strlen(why) + 1, why);
	if (n > 0 && (size_t)n < sizeof(buf) - LWS_PRE)
		lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP);
	return 1;
}

static int refuse(struct rv__server *s, struct lws *wsi, int status, const char *why)
{
	return refuse_as(s, wsi, status, why, true, 0);
}

/* True when the Sec-WebSocket-Protocol list names revenge.v1. */
static bool offers_subprotocol(struct lws *wsi)
{
	char list[URI_MAX];
	char *tok, *save;

	if (lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_PROTOCOL) < 0)
		return false;
	for (tok = strtok_r(list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		if (!strcmp(tok, RV_SUBPROTOCOL))
			return true;
	return false;
}

static int confirm_upgrade(struct rv__server *s, struct lws *wsi)
{
	struct rv__request r;
	struct rv_token_claims claims;
	char why[256];
	unsigned retry_s = 0;
	int status;

	if (s->draining)
		return refuse(s, wsi, 503, "server shutting down");
	/* the rest of the descriptor ceiling stays for /healthz and /metrics */
	if (s->n_conns >= s->listener.ws_max) {
		rv__listener_refused(&s->listener, RV_REFUSAL_WEBSOCKETS);
		return refuse_as(s, wsi, 503, "server at its connection limit", false, 0);
	}
	if (client_address(s, wsi)) {
		rv__listener_refused(&s->listener, RV_REFUSAL_PER_IP);
		return refuse_as(s, wsi, 503, "too many connections from one address", false, 0);
	}
	/* before anything costlier: a churning client is refused for the
	 * price of reading its request */
	if (!rv__listener_handshake(&s->listener, lws_get_opaque_user_data(wsi),
				    rv__hub_now(&s->hub), &retry_s)) {
		rv__listener_refused(&s->listener, RV_REFUSAL_HANDSHAKE_RATE);
		snprintf(why, sizeof(why), "handshake rate per address reached (%u/s)",
			 s->cfg->handshake_rate_per_ip);
		return refuse_as(s, wsi, 429, why, false, retry_s);
	}
	/* A client that offers subprotocols must offer ours: lws would
	 * otherwise fall back to its default protocol. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0 && !offers_subprotocol(wsi))
		return refuse(s, wsi, 400, "unsupported subprotocol");
	status = parse_request(s, wsi, &r, &claims, why, sizeof(why));
	if (!status && r.endpoint->admit)
		status = r.endpoint->admit(s->ep_state[r.index], &r, why, sizeof(why), &retry_s);
	if (status == 429) {
		rv__listener_refused(&s->listener, RV_REFUSAL_PARTY_JOIN_RATE);
		return refuse_as(s, wsi, 429, why, false, retry_s);
	}
	if (status)
		return refuse(s, wsi, status, why);
	return 0;
}

/* ---- keep-alive ------------------------------------------------------- */

/* The server's open WebSocket connections form one list ordered by when
 * each is next looked at (ka_due): every update sets now + the ping
 * interval and moves the connection to the tail, so the list stays sorted
 * and a sweep only visits connections that are due. Receiving anything
 * just sets ka_active, a store per message. lws's own keep-alive (its
 * retry policy) is not used: it keeps every connection's timer in one
 * sorted list and inserts by walking it, O(connections) per handshake and
 * per pong, which was a fifth of the server's time while 10,000 clients
 * connected. */

static uint64_t keepalive_ns(const struct rv__server *s)
{
	return (uint64_t)s->cfg->ping_interval * 1000000000u;
}

/* Due connections: one that was heard from is fine until the next
 * interval; a silent one is pinged; one silent for a whole interval after
 * its ping is dropped at once (no close handshake with a dead peer). */
static void keepalive_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	/* lws 4.1 passes a pong up only when it carries a payload */
	static const unsigned char ping[4] = { 0x89, 0x02, 'k', 'a' };
	struct rv__server *s = t->data;
	uint64_t now = rv_time_mono_ns();
	struct rv__conn *c;

	while ((c = s->conns.first) && c->ka_due <= now) {
		RV__LIST_REMOVE(&s->conns, c, );
		c->ka_due = now + keepalive_ns(s);
		RV__LIST_APPEND(&s->conns, c, );
		if (c->ka_active) {
			c->ka_active = false;
			c->ka_pinged = false;
		} else if (!c->ka_pinged) {
			c->ka_pinged = true;
			if (!c->close_code && lws_write(c->wsi, (unsigned char *)ping, sizeof(ping),
							LWS_WRITE_RAW) < 0)
				rv__conn_request_close(c, 1011, "write failed");
		} else {
			lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
			rv__conn_doom(c, 0);
		}
	}
}

/* ---- WebSocket life --------------------------------------------------- */

/* Called while lws writes the 101 response, after its own extension
 * header. When permessage-deflate was accepted, lws 4.1 answers with the
 * bare extension (echoing only the client's arg-less parameters) and keeps
 * its inflater's context from one message to the next for as long as the
 * connection lives: about 40 KiB per connection once the client has sent
 * anything compressed. Adding client_no_context_takeover to the answer
 * (RFC 7692 7.1.1.2 lets a server do so whether or not the client asked)
 * makes every client message stand alone, so the inflater is released
 * after each one; lws does that when its server_no_context_takeover
 * option is set (lws tests the server name for both directions).
 *
 * The extension line is the last header lws wrote: args->p sits after its
 * CRLF. If it is not found where lws 4.1.6 puts it, nothing is changed
 * and the connection gets uncompressed messages from us (always valid). */
static void negotiate_deflate(struct rv__conn *c, struct lws *wsi,
			      struct lws_process_html_args *args)
{
	static const char line[] = "\r\nSec-WebSocket-Extensions: permessage-deflate";
	static const char nct[] = "; client_no_context_takeover";
	const size_t line_len = sizeof(line) - 1, nct_len = sizeof(nct) - 1;
	/* the longest answer lws 4.1 gives: both context parameters */
	const size_t window = line_len + 2 * nct_len + 4;
	char *end = args->p - 2, *start = NULL;

	if (!c || lws_hdr_total_length(wsi, WSI_TOKEN_EXTENSIONS) <= 0 ||
	    memcmp(end, "\r\n", 2))
		return;
	for (char *q = end - line_len; q >= end - window; q--) {
		if (!memcmp(q, line, line_len)) {
			start = q;
			break;
		}
		if (q[0] == '\r' && q[1] == '\n')
			return;       /* another header ends the search */
	}
	if (!start)
		return;
	if (!memmem(start, (size_t)(end - start), nct, nct_len)) {
		if (args->max_len < (int)nct_len + 2)
			return;
		memcpy(end, nct, nct_len);
		memcpy(end + nct_len, "\r\n", 2);
		args->p += nct_len;
		args->max_len -= (int)nct_len;
	}
	if (lws_set_extension_option(wsi, "permessage-deflate", "server_no_context_takeover",
				     "1"))
		return;
	c->deflate = true;
}

static int ws_established(struct rv__server *s, struct rv__conn *c, struct lws *wsi)
{
	struct rv__request r;
	struct rv_token_claims claims;
	char why[256];
	int err;

	rv__conn_init(c, &s->hub, wsi);
	c->is_ws = true;
	c->remote = remote_of(wsi);
	/* a new connection starts with the full burst, twice the rate */
	rv__bucket_init(&c->rate, s->cfg->rate_limit, s->cfg->rate_limit * 2.0,
			rv__hub_now(&s->hub));
	c->ka_due = rv_time_mono_ns() + keepalive_ns(s);
	RV__LIST_APPEND(&s->conns, c, );
	s->n_conns++;

	/* confirm_upgrade has checked the same request (lws keeps no state of
	 * ours between the two callbacks, so it is read again) */
	if (parse_request(s, wsi, &r, &claims, why, sizeof(why)) || rv__auth_attach(c, &r))
		return -1;
	if (rv__rx_start(c))
		return -1;
	c->endpoint = r.endpoint;
	c->endpoint_index = r.index;
	c->endpoint_state = s->ep_state[r.index];
	s->hub.metrics.connections_total[r.index]++;
	s->hub.metrics.connections_open[r.index]++;
	if ((err = c->endpoint->open(c->endpoint_state, c, &r))) {
		/* a cap reached between the handshake's admit and now */
		int code = err == RV_EFULL ? 1013 : 1011;
		const char *reason = err == RV_EFULL ? "try again later" : "cannot join";

		rv_metrics_close(&s->hub.metrics, code);
		lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)reason,
				 strlen(reason));
		return -1;
	}
	return 0;
}

/* The "closed" line of a WebSocket connection: who closed it with which
 * code (1006: it was lost, no close frame either way). */
static void log_closed(struct rv__server *s, struct rv__conn *c)
{
	if (!c || !c->is_ws)
		return;
	rv_log_kv(s->log, RV_LOG_DEBUG, "closed",
		  RV_LOG_FIELDS(RV_LOG_STR("endpoint", c->endpoint ? c->endpoint->name : NULL),
				RV_LOG_STR("remote", c->remote),
				RV_LOG_INT("code", c->close_code ? c->close_code : 1006),
				RV_LOG_STR("by", !c->close_code ? "lost" :
					   c->close_echo ? "client" : "server"),
				RV_LOG_STR("reason", c->close_echo ? NULL : c->close_reason)),
		  NULL);
}

static void ws_closed(struct rv__server *s, struct rv__conn *c)
{
	if (!c->is_ws)
		return;
	if (c->endpoint) {
		c->endpoint->close(c->endpoint_state, c);
		s->hub.metrics.connections_open[c->endpoint_index]--;
	}
	rv__rx_stop(c);
	rv__auth_detach(c);
	if (c->close_code && !c->close_echo)
		rv_metrics_close(&s->hub.metrics, c->close_code);
	rv__conn_fini(c);
	RV__LIST_REMOVE(&s->conns, c, );
	s->n_conns--;
	c->is_ws = false;
}

/* Count a rate-limited message of c at now: true when c has now abused
 * the limit (RATE_STRIKES_MAX strikes with no quiet second between two).
 * Strikes decay so that a client that brushes the limit now and then, a
 * burst here and there over hours, is not closed as if it flooded. */
static bool rate_strike(struct rv__conn *c, double now)
{
	if (c->strikes && !(now - c->strike_at < RATE_QUIET_MS))
		c->strikes = 0;
	c->strike_at = now;
	return ++c->strikes >= RATE_STRIKES_MAX;
}

/* A client's message, whole, inflated and valid UTF-8 (rx.c). */
static void handle_message(struct rv__conn *c, const char *text, size_t len)
{
	struct rv__server *s = (struct rv__server *)(void *)c->hub;  /* hub comes first */
	double now = rv__hub_now(&s->hub);
	struct rv_proto_error err;
	struct rv_msg msg;
	bool limited, bad;

	s->hub.metrics.bytes_in += len;
	/* Every message takes a token, one that cannot be decoded too: its
	 * error answer costs as much as any reply, and a flood of garbage
	 * must reach the strikes (it kept a core busy and was never closed). */
	limited = s->cfg->rate_limit && !rv__bucket_take(&c->rate, now);
	bad = rv_proto_decode(text, len, &msg, &err) != 0;
	s->hub.metrics.messages_in[bad ? 0 : msg.type]++;
	if (limited) {
		rv_proto_error_set(&err, RV_ERR_RATE_LIMITED,
				   bad ? NULL : rv_msg_type_name(msg.type), bad ? NULL : msg.id,
				   "more than %u messages per second", s->cfg->rate_limit);
		if (!bad)
			rv_msg_clear(&msg);
		rv__conn_send_error(c, &err);
		if (rate_strike(c, now))
			rv__conn_request_close(c, 1008, "rate limit abused");
		return;
	}
	if (bad) {
		rv__conn_send_error(c, &err);
		return;
	}
	if (msg.type == RV_MSG_TIME)
		rv__conn_answer_time(c, &msg, now);
	else if (msg.type == RV_MSG_REFRESH)
		rv__auth_refresh(c, &msg);
	else
		c->endpoint->message(c->endpoint_state, c, &msg, now);
	rv_msg_clear(&msg);
}

static int ws_writeable(struct rv__server *s, struct rv__conn *c)
{
	if (!c->is_ws)
		return 0;
	return rv__conn_writable(c);
}

/* ---- plain HTTP: /healthz and /metrics -------------------------------- */

/* What lws's "security best practices" added, and a policy: csp for the
 * web client's page, NULL for everything else (nothing may load). */
static int security_headers(struct lws *wsi, const char *csp, unsigned char **p,
			    unsigned char *end)
{
	static const char *const fixed[][2] = {
		{ "x-content-type-options:", "nosniff" },
		{ "x-frame-options:", "deny" },
		{ "referrer-policy:", "no-referrer" },
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (lws_add_http_header_by_name(wsi, (const unsigned char *)fixed[i][0],
						(const unsigned char *)fixed[i][1],
						(int)strlen(fixed[i][1]), p, end))
			return -1;
	if (!csp)
		csp = "default-src 'none'; frame-ancestors 'none'";
	return lws_add_http_header_by_name(wsi, (const unsigned char *)"content-security-policy:",
					   (const unsigned char *)csp, (int)strlen(csp), p, end);
}

/* Answer status with body (copied); allow, when not NULL, is sent as the
 * Allow header of a 405. */
static int http_reply_allow(struct rv__conn *c, struct lws *wsi, unsigned status,
			    const char *ctype, const char *body, size_t len, const char *allow)
{
	unsigned char hbuf[LWS_PRE + 512], *start = hbuf + LWS_PRE, *p = start,
		      *end = hbuf + sizeof(hbuf) - 1;

	c->http_body = malloc(LWS_PRE + len);
	if (!c->http_body)
		return -1;
	memcpy(c->http_body + LWS_PRE, body, len);
	c->http_len = len;
	if (lws_add_http_common_headers(wsi, status, ctype, (lws_filepos_t)len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
					 (unsigned char *)"no-store", 8, &p, end) ||
	    (allow && lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_ALLOW,
						   (const unsigned char *)allow,
						   (int)strlen(allow), &p, end)) ||
	    security_headers(wsi, NULL, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_reply(struct rv__conn *c, struct lws *wsi, unsigned status,
		      const char *ctype, const char *body, size_t len)
{
	return http_reply_allow(c, wsi, status, ctype, body, len, NULL);
}

/* The Host check against DNS rebinding (rv__request_host_check): 0, or the
 * status (400, 421) with its one-line body in body. */
static int host_refused(struct rv__server *s, struct lws *wsi, char *body, size_t len)
{
	char host[256], why[128];
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HOST), status;

	if (n <= 0)
		return 0;
	if (n >= (int)sizeof(host) || lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST) < 0) {
		snprintf(body, len, "malformed Host header\n");
		return 400;
	}
	status = rv__request_host_check(s->cfg->allowed_hosts, s->cfg->n_allowed_hosts,
					s->cfg->host, host, why, sizeof(why));
	if (status) {
		snprintf(body, len, "%s\n", why);
		rv_log(s->log, RV_LOG_INFO, "http_refused", "%d %s: %.100s", status, why, host);
	}
	return status;
}

/* /healthz's shards, with several: ',"redis_shards":N,"redis_down":[i,...]'
 * into buf ("" with one Redis or none). */
static void healthz_shards(const struct rv_metrics *m, char *buf, size_t len)
{
	size_t at;
	bool first = true;

	buf[0] = 0;
	if (m->redis_shards < 2)
		return;
	at = (size_t)snprintf(buf, len, ",\"redis_shards\":%u,\"redis_down\":[", m->redis_shards);
	for (unsigned i = 0; i < m->redis_shards && at < len; i++)
		if (m->redis_shard[i].state != RV_REDIS_STATE_UP) {
			at += (size_t)snprintf(buf + at, len - at, "%s%u", first ? "" : ",", i);
			first = false;
		}
	if (at < len)
		snprintf(buf + at, len - at, "]");
}

/* The web client (web.c): 0 or -1 when answered, 1 when uri is not its.
 * A header that does not fit, like a failed allocation, drops the
 * connection. */
static int web_request(struct rv__server *s, struct rv__conn *c, struct lws *wsi,
		       const char *uri)
{
	unsigned char hbuf[LWS_PRE + 2048], *start = hbuf + LWS_PRE, *p = start,
		      *end = hbuf + sizeof(hbuf) - 1;
	char inm[128] = "", host[256] = "", range[64] = "", csp[1024];
	struct rv__web_reply r;
	int rc = -1;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH) < (int)sizeof(inm))
		lws_hdr_copy(wsi, inm, sizeof(inm), WSI_TOKEN_HTTP_IF_NONE_MATCH);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HOST) < (int)sizeof(host))
		lws_hdr_copy(wsi, host, sizeof(host), WSI_TOKEN_HOST);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_RANGE) < (int)sizeof(range))
		lws_hdr_copy(wsi, range, sizeof(range), WSI_TOKEN_HTTP_RANGE);
	if (!rv__web_route(s->cfg->web_root, uri, inm[0] ? inm : NULL, range[0] ? range : NULL,
			   &r))
		return 1;
	rv__web_csp(host, csp, sizeof(csp));
	if (r.status != 304) {
		c->http_body = malloc(LWS_PRE + r.len + 1);
		if (!c->http_body)
			goto out;
		if (r.len)
			memcpy(c->http_body + LWS_PRE, r.body, r.len);
		c->http_len = r.len;
	}
#define HDR(name, val) lws_add_http_header_by_name(wsi, (const unsigned char *)name, \
		(const unsigned char *)(val), (int)strlen(val), &p, end)
	if (lws_add_http_header_status(wsi, r.status, &p, end) ||
	    HDR("content-type:", r.ctype) ||
	    (r.status != 304 &&
	     lws_add_http_header_content_length(wsi, (lws_filepos_t)r.len, &p, end)) ||
	    HDR("cache-control:", "no-cache") ||
	    (r.etag[0] && HDR("etag:", r.etag)) ||
	    HDR("accept-ranges:", "bytes") ||
	    (r.content_range[0] && HDR("content-range:", r.content_range)) ||
	    security_headers(wsi, csp, &p, end) ||
	    lws_finalize_write_http_header(wsi, start, &p, end))
		goto out;
#undef HDR
	if (r.status == 304) {
		rc = lws_http_transaction_completed(wsi) ? -1 : 0;
		goto out;
	}
	lws_callback_on_writable(wsi);
	rc = 0;
out:
	free(r.owned);
	return rc;
}

static int http_request(struct rv__server *s, struct rv__conn *c, struct lws *wsi, const char *uri)
{
	static const char *const store_states[] = {
		[RV_STORE_STATE_NONE] = "none", [RV_STORE_STATE_OK] = "ok",
		[RV_STORE_STATE_FAILING] = "failing",
	};
	static const char *const redis_states[] = {
		[RV_REDIS_STATE_NONE] = "none", [RV_REDIS_STATE_UP] = "up",
		[RV_REDIS_STATE_DOWN] = "down",
	};
	enum rv_metric_redis_state rs = s->hub.metrics.redis_state;
	char body[320], shards[160] = "";
	int n;

	s->hub.metrics.http_requests++;
	if ((n = host_refused(s, wsi, body, sizeof(body))))
		return http_reply(c, wsi, (unsigned)n, "text/plain; charset=utf-8", body,
				  strlen(body));
	if (!strcmp(uri, "/healthz")) {
		/* A failing store leaves the status ok (and the answer 200):
		 * parties and streams still work, only progress is refused.
		 * Redis down (cluster mode) is "degraded", still 200: every
		 * party goes on with this node's members, so a balancer must
		 * not take the node out. With shards, the ones down are named
		 * by their place in the --redis list (only their parties run
		 * locally). */
		healthz_shards(&s->hub.metrics, shards, sizeof(shards));
		n = snprintf(body, sizeof(body),
			     "{\"status\":\"%s\",\"version\":\"%s\",\"connections\":%zu,"
			     "\"parties\":%zu,\"store\":\"%s\"%s%s%s%s}\n",
			     s->draining ? "draining" : rs == RV_REDIS_STATE_DOWN ? "degraded" : "ok",
			     RV_VERSION, s->n_conns, (size_t)s->hub.metrics.parties,
			     store_states[s->hub.metrics.store_state],
			     rs ? ",\"redis\":\"" : "", rs ? redis_states[rs] : "", rs ? "\"" : "",
			     shards);
		return http_reply(c, wsi, s->draining ? 503 : 200, "application/json",
				  body, (size_t)n);
	}
	/* with --metrics-listen, /metrics is that address's alone */
	if (!strcmp(uri, "/metrics") && (!s->ops_vhost || lws_get_vhost(wsi) == s->ops_vhost)) {
		char *text;
		size_t len;
		int r;

		if (rv_metrics_render(&s->hub.metrics, &text, &len))
			return -1;
		r = http_reply(c, wsi, 200, "text/plain; version=0.0.4; charset=utf-8",
			       text, len);
		free(text);
		return r;
	}
	/* the web client is the public address's: the metrics one serves
	 * only /metrics, /healthz and the admin API */
	if (!s->cfg->no_web && (!s->ops_vhost || lws_get_vhost(wsi) != s->ops_vhost) &&
	    (n = web_request(s, c, wsi, uri)) <= 0)
		return n;
	n = snprintf(body, sizeof(body), "{\"error\":\"not found\"}\n");
	return http_reply(c, wsi, 404, "application/json", body, (size_t)n);
}

static int http_writeable(struct rv__conn *c, struct lws *wsi)
{
	int n;

	if (!c->http_body)
		return 0;
	n = lws_write(wsi, c->http_body + LWS_PRE, c->http_len, LWS_WRITE_HTTP_FINAL);
	free(c->http_body);
	c->http_body = NULL;
	if (n < 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* ---- the metrics address: /metrics, /healthz, /admin ------------------ */

/* "GET", "POST" or "OTHER", from the header lws filled for the method. */
static const char *http_method(struct lws *wsi)
{
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) > 0)
		return "GET";
	if (lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0)
		return "POST";
	return "OTHER";
}

/* Answer on the metrics address, written at once rather than from a
 * writable callback: lws 4.1 gives a POST's connection none. A refused
 * body closes the connection once answered. oc is lws's per-transaction
 * data, freed when the answer completes the transaction: not read after. */
static int ops_reply(struct rv__conn *c, struct lws *wsi, unsigned status, const char *ctype,
		     const char *body, size_t len, const char *allow)
{
	bool close_after = ((struct ops_conn *)rv__conn_ep(c))->close_after;

	if (http_reply_allow(c, wsi, status, ctype, body, len, allow) ||
	    http_writeable(c, wsi) || close_after)
		return -1;
	return 0;
}

static int ops_admin(struct rv__server *s, struct rv__conn *c, struct lws *wsi,
		     const char *method, const char *uri)
{
	char *body = NULL;
	size_t len = 0;
	const char *allow = NULL;
	int status, r;

	status = rv__admin_handle(&s->hub, s->ep_state[0], wsi, method, uri, &body, &len, &allow);
	if (!body)
		return ops_reply(c, wsi, 500, "application/json", "{\"error\":\"internal\"}", 20,
				 NULL);
	r = ops_reply(c, wsi, (unsigned)status, "application/json", body, len, allow);
	free(body);
	return r;
}

/* A request on the metrics address: /admin/... to admin.c (a POST's body,
 * if it announces a small one, read first and ignored; a larger or
 * chunked one refused with 413), the rest as on the main address. */
static int ops_http(struct rv__server *s, struct rv__conn *c, struct lws *wsi, const char *uri)
{
	struct ops_conn *oc = rv__conn_ep(c);
	const char *method = http_method(wsi);
	char cl[32] = "";
	char body[160];
	int n;

	if (strncmp(uri, "/admin/", 7) && strcmp(uri, "/admin"))
		return http_request(s, c, wsi, uri);
	s->hub.metrics.http_requests++;
	if ((n = host_refused(s, wsi, body, sizeof(body))))
		return ops_reply(c, wsi, (unsigned)n, "text/plain; charset=utf-8", body,
				 strlen(body), NULL);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_CONTENT_LENGTH) > 0)
		lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH);
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_TRANSFER_ENCODING) > 0 ||
	    strlen(cl) > 9 || strtoul(cl, NULL, 10) > RV__ADMIN_BODY_MAX) {
		oc->close_after = true;
		n = snprintf(body, sizeof(body), "{\"error\":\"too_large\",\"message\":"
			     "\"the admin API reads no request body over %d bytes\"}",
			     RV__ADMIN_BODY_MAX);
		return ops_reply(c, wsi, 413, "application/json", body, (size_t)n, NULL);
	}
	if (!strcmp(method, "POST") && strtoul(cl, NULL, 10) > 0) {
		snprintf(oc->uri, sizeof(oc->uri), "%s", uri);
		oc->pending = true;
		return 0;
	}
	return ops_admin(s, c, wsi, method, uri);
}

/* Open the --metrics-listen address: its listener and a vhost of its own
 * on the context (plain HTTP, no WebSocket), accepting once started. 0,
 * or RV_EADDR / RV_ENOMEM / RV_EIO, logged. */
static int ops_start(struct rv__server *s, const struct lws_context_creation_info *main_info)
{
	const struct rv_server_config *cfg = s->cfg;
	struct lws_context_creation_info info = *main_info;
	char why[300], url[300];

	if (rv__listener_init(&s->ops_listener, cfg->log, &s->ops_listener_metrics,
			      cfg->max_conns_per_ip, 0, false)) {
		rv_log(s->log, RV_LOG_ERROR, "start_failed", "out of memory");
		return RV_ENOMEM;
	}
	s->ops_inited = true;
	if (rv__listener_open(&s->ops_listener, cfg->metrics_host, cfg->metrics_port, why,
			      sizeof(why))) {
		rv_log(s->log, RV_LOG_ERROR, "start_failed", "cannot listen on %s:%d (--metrics-listen): %s",
		       cfg->metrics_host, cfg->metrics_port, why);
		return RV_EADDR;
	}
	memset(s->ops_protocols, 0, sizeof(s->ops_protocols));
	s->ops_protocols[0].name = "revenge-ops";
	s->ops_protocols[0].callback = main_info->protocols[0].callback;
	s->ops_protocols[0].per_session_data_size = sizeof(struct rv__conn) +
						     sizeof(struct ops_conn);
	info.protocols = s->ops_protocols;
	info.extensions = NULL;
	info.vhost_name = "ops";
	/* lws moves an HTTP request to the vhost its Host header names, else
	 * to the first vhost of the same listen port, so this one must not
	 * share the main vhost's (CONTEXT_PORT_NO_LISTEN_SERVER): with
	 * NO_LISTEN it listens on nothing either, and keeps its own. */
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options &= ~(uint64_t)LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.ssl_cert_filepath = info.ssl_private_key_filepath = NULL;
	info.ssl_cipher_list = NULL;
	info.ssl_options_set = 0;
	s->ops_vhost = lws_create_vhost(s->ctx, &info);
	if (!s->ops_vhost || rv__listener_start(&s->ops_listener, s->hub.loop, s->ops_vhost)) {
		rv_log(s->log, RV_LOG_ERROR, "start_failed", "cannot accept on %s:%d (--metrics-listen)",
		       cfg->metrics_host, cfg->metrics_port);
		return RV_EIO;
	}
	snprintf(url, sizeof(url), "http://%s%s%s:%d", strchr(cfg->metrics_host, ':') ? "[" : "",
		 cfg->metrics_host, strchr(cfg->metrics_host, ':') ? "]" : "",
		 s->ops_listener.port);
	rv_log(s->log, RV_LOG_INFO, "metrics_listening", "%s (/metrics, /healthz, /admin%s)", url,
	       cfg->auth_key ? "" : " off: no token key");
	if (cfg->on_metrics_listening)
		cfg->on_metrics_listening(url, cfg->user);
	return 0;
}

/* ---- TLS: versions, ciphers, reload ----------------------------------- */

/* TLS 1.2 and 1.3 only; for 1.2, forward-secret AEAD suites (Mozilla's
 * "intermediate" list); 1.3 keeps OpenSSL's suites, all of them AEAD. */
#define TLS12_CIPHERS "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
		      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
		      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_OPTIONS (SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 | \
		     SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION)

/* lws 4.1 calls this once, while it sets up the vhost's server SSL_CTX
 * (certificate and key loaded, options and ciphers applied): the one
 * place its public API hands that SSL_CTX out. We keep it to reload the
 * certificate into, and set the version floor the modern way too (the
 * SSL_OP_NO_* options lws applies are deprecated in OpenSSL 3). */
static int tls_ctx_ready(struct rv__server *s, SSL_CTX *ctx)
{
	if (!s || !ctx || !SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION))
		return 1;
	s->ssl_ctx = ctx;
	return 0;
}

/* The first error OpenSSL queued, as text; clears the queue. */
static const char *tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_peek_error();

	if (e)
		ERR_error_string_n(e, buf, len);
	else
		snprintf(buf, len, "unknown error");
	ERR_clear_error();
	return buf;
}

/* Load the certificate chain and key from cfg's paths into the live
 * SSL_CTX. Both are read and checked against each other in a scratch
 * SSL_CTX first, then installed in one call (SSL_CTX_use_cert_and_key,
 * which replaces the pair): on any failure the live SSL_CTX is untouched.
 * Connections already open keep the certificate they were set up with
 * (each SSL holds its own reference); handshakes from now on get the new
 * one. A key of another type (RSA to EC) would sit beside the old pair
 * rather than replace it, so that is refused: it takes a restart. Returns
 * 0, or RV_ETLS with the reason in why. */
static int tls_reload(struct rv__server *s, char *why, size_t why_len)
{
	const char *cert = s->cfg->tls_cert, *key = s->cfg->tls_key;
	SSL_CTX *fresh = SSL_CTX_new(TLS_server_method());
	STACK_OF(X509) *chain = NULL;
	EVP_PKEY *old_key = SSL_CTX_get0_privatekey(s->ssl_ctx), *new_key;
	char e[256];
	int err = RV_ETLS;

	if (!fresh) {
		snprintf(why, why_len, "%s", tls_error(e, sizeof(e)));
		goto out;
	}
	if (SSL_CTX_use_certificate_chain_file(fresh, cert) != 1) {
		snprintf(why, why_len, "certificate %s: %s", cert, tls_error(e, sizeof(e)));
		goto out;
	}
	if (SSL_CTX_use_PrivateKey_file(fresh, key, SSL_FILETYPE_PEM) != 1) {
		snprintf(why, why_len, "key %s: %s", key, tls_error(e, sizeof(e)));
		goto out;
	}
	if (SSL_CTX_check_private_key(fresh) != 1) {
		snprintf(why, why_len, "key %s does not match certificate %s", key, cert);
		ERR_clear_error();
		goto out;
	}
	new_key = SSL_CTX_get0_privatekey(fresh);
	if (old_key && EVP_PKEY_get_base_id(old_key) != EVP_PKEY_get_base_id(new_key)) {
		snprintf(why, why_len, "key type changed (%s to %s): restart the server to switch",
			 EVP_PKEY_get0_type_name(old_key), EVP_PKEY_get0_type_name(new_key));
		goto out;
	}
	SSL_CTX_get0_chain_certs(fresh, &chain);
	if (SSL_CTX_use_cert_and_key(s->ssl_ctx, SSL_CTX_get0_certificate(fresh), new_key,
				     chain, 1) != 1) {
		snprintf(why, why_len, "%s", tls_error(e, sizeof(e)));
		goto out;
	}
	err = 0;
out:
	SSL_CTX_free(fresh);
	return err;
}

/* SIGHUP: read the configuration again through on_reload (when the
 * embedder gave one) and take what can change live (reload.c), then reload
 * the certificate and key; a failure keeps the old pair. systemd hears
 * RELOADING=1 first and READY=1 when done. */
static void on_sighup(struct ev_loop *loop, ev_signal *h, int revents)
{
	struct rv__server *s = h->data;
	char why[600], subject[256];
	X509 *x;

	if (s->draining)
		return;
	rv__notify_reloading();
	if (s->live.on_reload) {
		const struct rv_server_config *next = s->live.on_reload(s->live.user);

		if (next) {
			unsigned n = rv__reload_apply(&s->live, next, s->log);

			s->listener.max_per_ip = s->live.max_conns_per_ip;
			rv_log(s->log, RV_LOG_INFO, "config_reloaded", "%u setting(s) changed", n);
		}
	}
	if (!s->ssl_ctx) {
		rv_log(s->log, RV_LOG_INFO, "tls_reload", "SIGHUP: not serving TLS, nothing to reload");
	} else if (tls_reload(s, why, sizeof(why))) {
		rv_log(s->log, RV_LOG_ERROR, "tls_reload_failed",
		       "%s; still serving the previous certificate", why);
	} else {
		x = SSL_CTX_get0_certificate(s->ssl_ctx);
		X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
		rv_log(s->log, RV_LOG_INFO, "tls_reloaded", "%s: subject %s", s->cfg->tls_cert,
		       subject);
	}
	rv__notify("READY=1");
}

/* ---- the lws callback ------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	struct rv__server *s = lws_context_user(lws_get_context(wsi));
	struct rv__conn *c = user;
	bool ops = s && s->ops_vhost && lws_get_vhost(wsi) == s->ops_vhost;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		if (ops)
			return refuse(s, wsi, 404, "no WebSocket on the metrics address");
		return confirm_upgrade(s, wsi);
	case LWS_CALLBACK_ADD_HEADERS:
		negotiate_deflate(c, wsi, in);
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(s, c, wsi);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(s, c);
	case LWS_CALLBACK_CLOSED:
		log_closed(s, c);
		ws_closed(s, c);
		return 0;
	case LWS_CALLBACK_HTTP:
		if (ops)
			return ops_http(s, c, wsi, in);
		return http_request(s, c, wsi, in);
	case LWS_CALLBACK_HTTP_BODY:
		return 0;               /* an admin POST's small body: ignored */
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		if (ops && c && ((struct ops_conn *)rv__conn_ep(c))->pending) {
			struct ops_conn *oc = rv__conn_ep(c);

			oc->pending = false;
			return ops_admin(s, c, wsi, "POST", oc->uri);
		}
		break;
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(c, wsi);
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_SERVER_VERIFY_CERTS:
		return tls_ctx_ready(s, user);
	case LWS_CALLBACK_WSI_DESTROY:
		/* every socket the listener adopted ends here, whatever it was */
		if (s)
			rv__listener_released(ops ? &s->ops_listener : &s->listener,
					      lws_get_opaque_user_data(wsi));
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
		if (c) {
			free(c->http_body);
			c->http_body = NULL;
		}
		return 0;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

/* ---- loop, signals, drain --------------------------------------------- */

static void drain_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__server *s = t->data;

	if (s->n_conns && rv_time_mono_ns() < s->drain_deadline_ns)
		return;
	rv_log(s->log, RV_LOG_INFO, "drained", "%zu connection(s) left", s->n_conns);
	ev_timer_stop(loop, &s->drain_timer);
	ev_timer_stop(loop, &s->lws_tick);
	ev_timer_stop(loop, &s->keepalive);
	ev_timer_stop(loop, &s->rx_sweep);
	ev_prepare_stop(loop, &s->flush);
	ev_signal_stop(loop, &s->sigterm);
	ev_signal_stop(loop, &s->sigint);
	ev_signal_stop(loop, &s->sighup);
	rv__listener_stop(&s->listener);
	if (s->ops_inited)
		rv__listener_stop(&s->ops_listener);
	rv__broker_stop(s->hub.broker);
	/* With a foreign loop, lws stops its watchers and the loop then runs
	 * out of work, so ev_run returns. */
	lws_context_destroy(s->ctx);
	s->ctx = NULL;
	/* its watchers would keep the loop running */
	rv__rx_hub_fini(&s->hub);
}

/* An ev_prepare at the lowest priority: it runs after every other
 * callback of the loop turn, the progress group commit included, just
 * before the loop waits for I/O again. */
static void flush_turn(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct rv__server *s = w->data;

	rv__conn_flush_turn(&s->hub);
}

/* lws 4.1's libev glue only looks at its timers (handshake and close
 * timeouts, keep-alive pings) after socket activity, so on a quiet server
 * they never fire. Waking lws through its event pipe twice a second runs
 * them; the cost is per process, not per connection. */
static void lws_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__server *s = t->data;

	if (s->ctx)
		lws_cancel_service(s->ctx);
}

static void rx_sweep(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__server *s = t->data;

	rv__rx_sweep(&s->hub);
	rv__conn_reap(&s->hub);
}

static void on_signal(struct ev_loop *loop, ev_signal *h, int revents)
{
	struct rv__server *s = h->data;
	struct rv__conn *c;
	int signum = h->signum;

	if (s->draining)
		return;
	s->draining = true;
	rv__notify("STOPPING=1");
	s->drain_deadline_ns = rv_time_mono_ns() +
			       (uint64_t)(s->cfg->drain_timeout_ms > 500 ?
					  s->cfg->drain_timeout_ms - 500 : 100) * 1000000u;
	rv_log(s->log, RV_LOG_INFO, "draining", "signal %d: closing %zu connection(s)",
	       signum, s->n_conns);
	RV__LIST_FOREACH(c, &s->conns, )
		rv__conn_request_close(c, 1001, "server shutting down");
	ev_timer_start(loop, &s->drain_timer);
}

static void lws_log_emit(int level, const char *line)
{
	/* lws logs through a process-wide hook with no user pointer; its
	 * errors are rare and go to stderr as they are. */
	if (level & LLL_ERR)
		fprintf(stderr, "lws: %s", line);
}

void rv_server_config_defaults(struct rv_server_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->host = "127.0.0.1";
	cfg->port = 8080;
	cfg->max_message = 64 * 1024;
	cfg->history = RV_PARTY_HISTORY_DEFAULT;
	cfg->ping_interval = 30;
	cfg->rate_limit = 50;
	cfg->party_chat_rate = 50;
	cfg->queue_max = 1024;
	cfg->drain_timeout_ms = 5000;
	cfg->auth_leeway_s = 30;
	cfg->max_parties = 10000;
	cfg->max_members = 5000;
	cfg->max_sessions = 50000;
	cfg->max_sessions_per_owner = 100;
	cfg->session_ttl_s = 30 * 24 * 3600;
	cfg->party_retention_s = 3600;
	cfg->max_stored_per_owner = 10000;
	cfg->max_conns_per_ip = 256;
	cfg->handshake_rate_per_ip = 50;
	cfg->party_join_rate = 20;
	cfg->handshake_timeout = 5;
	cfg->message_timeout = 10;
	cfg->partial_budget = 64u * 1024 * 1024;
	cfg->frame_rate = 1000;
	cfg->presence_batch_above = 64;
	cfg->presence_interval_ms = 250;
	cfg->drift_interval_ms = 1000;
	rv_ladder_default(&cfg->ladder);
	cfg->lead_min_ms = 100;
	cfg->lead_max_ms = 1000;
	cfg->ready_timeout_ms = 8000;
	cfg->rebuffer_timeout_ms = 3000;
}

/* permessage-deflate: lws only negotiates it; rx.c inflates what clients
 * send (lws's receive path aborts on some messages); the server's own
 * messages are compressed by frame_deflated(), never by lws. */
static const struct lws_extension extensions[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL }
};

/* Each endpoint's server-wide state, in table order; on a failure,
 * endpoints_stop frees those already started. */
static int endpoints_start(struct rv__server *s)
{
	if (rv__n_endpoints > RV_METRIC_ENDPOINTS_MAX)
		return RV_EINVAL;       /* the metrics keep a slot per endpoint */
	for (unsigned i = 0; i < rv__n_endpoints; i++) {
		const struct rv__endpoint *e = rv__endpoints[i];
		int err;

		s->hub.metrics.endpoint_names[i] = e->name;
		s->hub.metrics.n_endpoints = i + 1;
		if (e->start && (err = e->start(&s->hub, &s->ep_state[i])))
			return err;
	}
	return 0;
}

/* In reverse order of start. */
static void endpoints_stop(struct rv__server *s)
{
	for (unsigned i = rv__n_endpoints; i-- > 0;) {
		if (rv__endpoints[i]->stop)
			rv__endpoints[i]->stop(s->ep_state[i]);
		s->ep_state[i] = NULL;
	}
}

/* lws's per-connection allocation: the connection and the largest of the
 * endpoints' per-connection states. */
static size_t conn_size(void)
{
	size_t most = 0;

	for (unsigned i = 0; i < rv__n_endpoints; i++)
		if (rv__endpoints[i]->conn_size > most)
			most = rv__endpoints[i]->conn_size;
	return sizeof(struct rv__conn) + most;
}

/* True for "localhost", 127.0.0.0/8 and ::1: only this machine reaches
 * them. */
static bool is_loopback(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (!strcmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

/* Say how the door is kept; refuse an open server where others can reach
 * it, unless told to. */
static int check_access(const struct rv_server_config *cfg)
{
	if (cfg->auth_key) {
		rv_log(cfg->log, RV_LOG_INFO, "auth", "tokens required (%s)",
		       rv_token_key_alg(cfg->auth_key));
		return 0;
	}
	if (!is_loopback(cfg->host) && !cfg->insecure_open) {
		rv_log(cfg->log, RV_LOG_ERROR, "start_failed",
		       "refusing to listen on %s with no token key: anyone who reaches it could "
		       "join any party and read or overwrite any session; give "
		       "--auth-secret-file or --auth-public-key, or --insecure-open", cfg->host);
		return RV_EINVAL;
	}
	rv_log(cfg->log, RV_LOG_WARN, "auth",
	       "OPEN: no token key, so every client may join any party and use any session%s",
	       is_loopback(cfg->host) ? " (loopback only)" : " (--insecure-open)");
	return 0;
}

/* cfg->trusted_proxies into out; RV_EINVAL (logged) for a bad one. */
static int parse_trusted(const struct rv_server_config *cfg, struct rv_cidr *out)
{
	char why[200];

	if (cfg->n_trusted_proxies > RV_SERVER_MAX_ORIGINS)
		return RV_EINVAL;
	for (unsigned i = 0; i < cfg->n_trusted_proxies; i++)
		if (rv_forwarded_cidr_parse(cfg->trusted_proxies[i], &out[i], why, sizeof(why))) {
			rv_log(cfg->log, RV_LOG_ERROR, "start_failed", "trusted proxy: %s", why);
			return RV_EINVAL;
		}
	if (cfg->n_trusted_proxies)
		rv_log(cfg->log, RV_LOG_INFO, "trusted_proxies",
		       "%u range(s): their X-Forwarded-For and X-Real-IP name the client",
		       cfg->n_trusted_proxies);
	return 0;
}

int rv_server_run(const struct rv_server_config *cfg)
{
	struct lws_protocols protocols[3];
	struct lws_context_creation_info info;
	static const lws_retry_bo_t no_keepalive = { 0 };
	struct rv__server *s;
	void *foreign[1];
	char url[300];
	int err = 0;
	bool tls = cfg->tls_cert && cfg->tls_key;
	struct rv_cidr trusted[RV_SERVER_MAX_ORIGINS];

	if ((err = check_access(cfg)) || (err = parse_trusted(cfg, trusted)))
		return err;
	s = calloc(1, sizeof(*s));
	if (!s) {
		rv_log(cfg->log, RV_LOG_ERROR, "start_failed", "out of memory");
		return RV_ENOMEM;
	}
	s->live = *cfg;
	s->cfg = s->hub.cfg = &s->live;
	s->hub.message = handle_message;
	s->log = s->hub.log = cfg->log;
	/* RV_TEST_CLOCK_SKEW_MS: a test's stand-in for a machine whose clock
	 * is off (cluster.bats: a node's time aligned on Redis's) */
	rv_clock_anchor(&s->hub.clock,
			rv_time_wall_ms() + (getenv("RV_TEST_CLOCK_SKEW_MS") ?
					     strtod(getenv("RV_TEST_CLOCK_SKEW_MS"), NULL) : 0),
			rv_time_mono_ns());
	s->hub.metrics.start_wall_ms = rv_time_wall_ms();
	if (rv__tally_init(&s->hub.session_owners) ||
	    rv__listener_init(&s->listener, cfg->log, &s->hub.metrics, cfg->max_conns_per_ip,
			      cfg->handshake_rate_per_ip, tls)) {
		rv__tally_free(&s->hub.session_owners);
		rv__listener_close(&s->listener);
		free(s);
		rv_log(cfg->log, RV_LOG_ERROR, "start_failed", "out of memory");
		return RV_ENOMEM;
	}
	memcpy(s->trusted, trusted, sizeof(trusted));
	s->listener.trusted = s->trusted;
	s->listener.n_trusted = cfg->n_trusted_proxies;
	/* Signal watchers need libev's default loop. */
	s->hub.loop = ev_default_loop(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!s->hub.loop) {
		rv__tally_free(&s->hub.session_owners);
		rv__listener_close(&s->listener);
		free(s);
		rv_log(cfg->log, RV_LOG_ERROR, "start_failed", "cannot create the event loop (epoll)");
		return RV_EIO;
	}
	if (cfg->db_path) {
		struct rv_store_options so = { .fsync = cfg->fsync, .create = true };
		char why[600];          /* a long path and why the file is refused */

		/* A file-size limit (ulimit -f) reached by the store must fail
		 * the write with EFBIG, which the store reports like a full
		 * disk, not kill the process with SIGXFSZ and every party with
		 * it. */
		signal(SIGXFSZ, SIG_IGN);
		err = rv__store_writer_start(&s->hub, cfg->db_path, &so, cfg->session_ttl_s,
					     cfg->max_stored_per_owner, &s->hub.writer, why,
					     sizeof(why));
		if (err) {
			rv_log(s->log, RV_LOG_ERROR, "start_failed", "%s", why);
			goto out;
		}
		rv__store_watch_start(&s->hub);
	}
	if (cfg->redis_url) {
		char why[300];
		struct rv__redis_tls_files files = { cfg->redis_ca, cfg->redis_cert, cfg->redis_key };

		if ((err = rv__broker_shards_new(&s->hub, cfg->redis_url, &files, &s->hub.broker,
						 why, sizeof(why)))) {
			if (err == RV_EINVAL)
				rv_log(s->log, RV_LOG_ERROR, "start_failed", "--redis: %s", why);
			else if (err == RV_ETLS)
				rv_log(s->log, RV_LOG_ERROR, "start_failed", "Redis TLS: %s", why);
			goto out;
		}
	} else if ((err = rv__broker_local_new(&s->hub.broker))) {
		goto out;
	}
	if ((err = endpoints_start(s)))
		goto out;

	memset(protocols, 0, sizeof(protocols));
	/* [0] serves plain HTTP and WebSocket clients that offer no
	 * subprotocol; [1] is selected when revenge.v1 is offered. */
	protocols[0].name = "revenge-default";
	protocols[0].callback = callback;
	protocols[0].per_session_data_size = conn_size();
	/* lws allocates this receive buffer for every WebSocket connection
	 * but never fills it: rx.c reads the frames (into one buffer for the
	 * whole server). So it is as small as lws lets it be useful; 1024
	 * measured about 0.9 KiB more per idle connection. Sends are not
	 * capped by it (tx_packet_size), so a frame goes out whole. */
	protocols[0].rx_buffer_size = 128;
	protocols[0].tx_packet_size = 1 << 20;
	protocols[1] = protocols[0];
	protocols[1].name = RV_SUBPROTOCOL;


	/* The socket is ours (listener.h says why); lws serves what it is
	 * handed. */
	{
		char why[300];

		if ((err = rv__listener_open(&s->listener, cfg->host, cfg->port, why, sizeof(why)))) {
			rv_log(s->log, RV_LOG_ERROR, "start_failed", "cannot listen on %s:%d: %s",
			       cfg->host, cfg->port, why);
			goto out;
		}
	}

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN_SERVER;
	info.protocols = protocols;
	info.extensions = extensions;
	info.user = s;
	foreign[0] = s->hub.loop;
	info.foreign_loops = foreign;
	/* no LWS_SERVER_OPTION_VALIDATE_UTF8: lws reads no WebSocket frame
	 * (rx.c does, and checks each text message whole) */
	/* no LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE:
	 * its fixed Content-Security-Policy would forbid the web client's
	 * video; every reply writes its own (http_reply, web_request) */
	info.options = LWS_SERVER_OPTION_LIBEV;
	/* no lws keep-alive: keepalive_sweep() does it (see there) */
	info.retry_and_idle_policy = &no_keepalive;
	/* the TLS handshake, the HTTP request and upgrade, and the close
	 * handshake each get this long; a client that sends its headers a
	 * byte at a time (slowloris) is dropped when it runs out */
	info.timeout_secs = cfg->handshake_timeout;
	info.timeout_secs_ah_idle = cfg->handshake_timeout;
	/* a token may travel in a header or the query: room for one, and the
	 * other headers (lws's default is 4096 for all of them); a longer
	 * head is answered 431 by the listener before lws reads it */
	info.max_http_header_data = RV__LWS_HEADER_SPACE;
	if (tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
		info.ssl_cipher_list = TLS12_CIPHERS;
		info.ssl_options_set = (long)TLS_OPTIONS;
		/* HTTP/1.1 only: lws built with HTTP/2 would otherwise offer
		 * "h2" by ALPN, and a browser takes it; the web client's
		 * replies and the upgrade assume HTTP/1.1 (over h2 a page had
		 * no Host for its policy and a large file came back empty),
		 * and rx.c reads WebSocket frames off the TLS stream itself */
		info.alpn = "http/1.1";
	}
	lws_set_log_level(getenv("RV_LWS_DEBUG") ? 0xff : LLL_ERR, getenv("RV_LWS_DEBUG") ? NULL : lws_log_emit);

	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		rv_log(s->log, RV_LOG_ERROR, "start_failed", "cannot start libwebsockets%s",
		       tls ? " (the TLS certificate/key cannot be loaded)" : "");
		err = tls ? RV_ETLS : RV_EIO;
		goto out;
	}
	s->vhost = lws_get_vhost_by_name(s->ctx, "default");
	if (!s->vhost || rv__listener_start(&s->listener, s->hub.loop, s->vhost)) {
		rv_log(s->log, RV_LOG_ERROR, "start_failed", "cannot accept on %s:%d",
		       cfg->host, cfg->port);
		err = RV_EIO;
		lws_context_destroy(s->ctx);
		s->ctx = NULL;
		goto out;
	}
	if (cfg->metrics_host && (err = ops_start(s, &info))) {
		lws_context_destroy(s->ctx);
		s->ctx = NULL;
		goto out;
	}
	if (tls && !s->ssl_ctx) {
		/* without it a SIGHUP could not reload */
		rv_log(s->log, RV_LOG_ERROR, "start_failed", "lws did not hand out its SSL_CTX");
		err = RV_ETLS;
		lws_context_destroy(s->ctx);
		s->ctx = NULL;
		goto out;
	}

	ev_signal_init(&s->sigterm, on_signal, SIGTERM);
	ev_signal_init(&s->sigint, on_signal, SIGINT);
	ev_signal_init(&s->sighup, on_sighup, SIGHUP);
	ev_timer_init(&s->drain_timer, drain_tick, 0, 0.02);
	ev_timer_init(&s->lws_tick, lws_tick, 0.5, 0.5);
	ev_timer_init(&s->keepalive, keepalive_sweep, 0.25, 0.25);
	ev_timer_init(&s->rx_sweep, rx_sweep, 0.25, 0.25);
	s->rx_sweep.data = s;
	ev_timer_start(s->hub.loop, &s->rx_sweep);
	rv__rx_hub_init(&s->hub);
	ev_prepare_init(&s->flush, flush_turn);
	ev_set_priority(&s->flush, EV_MINPRI);
	s->flush.data = s;
	ev_prepare_start(s->hub.loop, &s->flush);
	s->sigterm.data = s->sigint.data = s->sighup.data = s->drain_timer.data = s->lws_tick.data = s;
	s->keepalive.data = s;
	if (cfg->ping_interval)
		ev_timer_start(s->hub.loop, &s->keepalive);
	ev_signal_start(s->hub.loop, &s->sigterm);
	ev_signal_start(s->hub.loop, &s->sigint);
	ev_signal_start(s->hub.loop, &s->sighup);
	ev_timer_start(s->hub.loop, &s->lws_tick);

	snprintf(url, sizeof(url), "%s://%s%s%s:%d", tls ? "wss" : "ws",
		 strchr(cfg->host, ':') ? "[" : "", cfg->host,
		 strchr(cfg->host, ':') ? "]" : "", s->listener.port);
	rv_log(s->log, RV_LOG_INFO, "listening", "%s", url);
	if (cfg->on_listening)
		cfg->on_listening(url, cfg->user);
	{
		char ready[400];

		snprintf(ready, sizeof(ready), "READY=1\nSTATUS=listening on %s", url);
		if (rv__notify(ready))
			rv_log(s->log, RV_LOG_WARN, "notify_failed",
			       "cannot tell the service manager we are ready ($NOTIFY_SOCKET)");
	}

	ev_run(s->hub.loop, 0);
out:
	if (s->ctx)
		lws_context_destroy(s->ctx);
	/* lws is gone: no callback can reach the endpoints any more. The
	 * writer stores what it still holds (answering nobody) before the
	 * endpoints and the store go. */
	rv__store_writer_free(s->hub.writer);
	s->hub.writer = NULL;
	endpoints_stop(s);
	rv__broker_free(s->hub.broker);
	rv__listener_close(&s->listener);
	if (s->ops_inited)
		rv__listener_close(&s->ops_listener);
	rv__conn_hub_fini(&s->hub);
	rv__rx_hub_fini(&s->hub);
	rv__tally_free(&s->hub.session_owners);
	if (s->hub.loop)
		ev_loop_destroy(s->hub.loop);
	free(s);
	return err;
}
