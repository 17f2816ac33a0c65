/* lib/server.c - the libwebsockets adapter behind revenge-server.
 *
 * Owns the event loop (libev, with lws as a guest on it), the routes
 * (/ws/party/{id}, /healthz, /metrics), the handshake checks (path, id, query,
 * origin, subprotocol), per-connection receive assembly and bounded send
 * queues, the party table, and the SIGTERM/SIGINT drain. Everything about a
 * party's rules lives in party.c; this file only turns lws callbacks into
 * calls on the core and delivers the actions the core returns.
 */
#include "revenge/server.h"

#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libwebsockets.h>
#include <ev.h>

#include "revenge/clock.h"
#include "revenge/error.h"
#include "revenge/frame.h"
#include "revenge/metrics.h"
#include "revenge/party.h"
#include "revenge/proto.h"
#include "revenge/systime.h"

#include "msgbuf.h"
#include "outq.h"

_Static_assert(RV_FRAME_HEADROOM >= LWS_PRE, "frame head-room must fit LWS_PRE");

#define SUBPROTOCOL "revenge.v1"
#define RV_DEFLATE_THRESHOLD 256
#define URI_MAX 512
#define CLOSE_GRACE_S 3           /* to write what is queued and the close frame */
#define RATE_STRIKES_MAX 50     /* rate-limited messages before 1008 */

struct server;

/* One per lws connection (HTTP or WebSocket), zeroed by lws. */
struct conn {
	struct server *srv;
	struct lws *wsi;
	struct conn *prev, *next;      /* server's list of open ws conns */
	bool is_ws;
	enum rv_endpoint ep;
	/* party endpoint */
	struct rv_party *party;
	struct rv_member *member;
	struct rv__outq q;             /* outbound frames, bounded, latest-wins */
	int close_code;                /* nonzero: close once the queue is written */
	bool close_sent;               /* the close reason has been handed to lws */
	const char *close_reason;
	bool deflate;                  /* negotiated permessage-deflate */
	struct rv__msgbuf rx;          /* inbound message assembly */
	/* rate limit: token bucket */
	double tokens, tokens_at;
	unsigned strikes;
	/* HTTP reply body, with LWS_PRE head-room */
	unsigned char *http_body;
	size_t http_len;
};

struct party_slot {
	struct rv_party *party;
	struct party_slot *next;
};

struct server {
	const struct rv_server_config *cfg;
	const struct rv_log *log;
	struct lws_context *ctx;
	struct lws_vhost *vhost;
	struct ev_loop *loop;
	ev_signal sigterm, sigint;
	ev_timer drain_timer;
	ev_timer lws_tick;
	struct rv_clock clock;
	struct rv_metrics metrics;
	struct conn *conns;            /* open ws connections */
	size_t n_conns;
	struct party_slot **parties;   /* hash table by party id */
	size_t n_buckets, n_parties;
	uint64_t next_member;
	bool draining;
	uint64_t drain_deadline_ns;
	bool url_printed;
	int exit_code;
};

static double now_ms(const struct server *s)
{
	return rv_clock_server_time(&s->clock, rv_time_mono_ns());
}

/* ---- party table ---------------------------------------------------- */

static uint64_t hash_str(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return h;
}

static struct party_slot **party_lookup(struct server *s, const char *id)
{
	struct party_slot **pp = &s->parties[hash_str(id) & (s->n_buckets - 1)];

	while (*pp && strcmp(rv_party_id((*pp)->party), id))
		pp = &(*pp)->next;
	return pp;
}

static int party_table_grow(struct server *s)
{
	size_t n = s->n_buckets ? s->n_buckets * 2 : 64;
	struct party_slot **t = calloc(n, sizeof(*t));

	if (!t)
		return RV_ENOMEM;
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct party_slot *e = s->parties[i], *next;

		for (; e; e = next) {
			next = e->next;
			size_t b = hash_str(rv_party_id(e->party)) & (n - 1);
			e->next = t[b];
			t[b] = e;
		}
	}
	free(s->parties);
	s->parties = t;
	s->n_buckets = n;
	return 0;
}

static struct rv_party *party_get_or_create(struct server *s, const char *id)
{
	struct party_slot **pp, *e;
	struct rv_party_config pc = { .history_max = s->cfg->history };

	if (s->n_parties >= s->n_buckets && party_table_grow(s))
		return NULL;
	pp = party_lookup(s, id);
	if (*pp)
		return (*pp)->party;
	e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	e->party = rv_party_new(id, &pc);
	if (!e->party) {
		free(e);
		return NULL;
	}
	e->next = NULL;
	*pp = e;
	s->n_parties++;
	s->metrics.parties++;
	return e->party;
}

static void party_remove_if_empty(struct server *s, struct rv_party *p)
{
	struct party_slot **pp, *e;

	if (rv_party_size(p))
		return;
	pp = party_lookup(s, rv_party_id(p));
	e = *pp;
	if (!e)
		return;
	*pp = e->next;
	rv_party_free(e->party);
	free(e);
	s->n_parties--;
	s->metrics.parties--;
}

/* ---- send queue ------------------------------------------------------- */

/* Close c with code once what is already queued has been written (a 1013
 * empties the queue first). Nothing more is queued after this; the first
 * code asked for wins, except that a drain's 1001 yields to any other. */
static void conn_request_close(struct conn *c, int code, const char *reason)
{
	if (c->close_code && c->close_code != 1001)
		return;
	c->close_code = code;
	c->close_reason = reason;
	lws_callback_on_writable(c->wsi);
	/* A peer that stopped reading never makes its socket writable, so
	 * the close frame may never go out: then drop the connection. */
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_SEND, CLOSE_GRACE_S);
}

/* Queue f for c. A STATE frame replaces a queued, unsent STATE frame
 * (latest-wins); an EVENT frame that does not fit closes c with 1013. */
static void conn_send(struct conn *c, struct rv_frame *f)
{
	struct server *s = c->srv;
	int r;

	if (!c->wsi || c->close_code)
		return;
	r = rv__outq_push(&c->q, f, s->cfg->queue_max);
	if (r < 0) {
		s->metrics.slow_dropped++;
		rv_log(s->log, RV_LOG_WARN, "client_dropped",
		       "send queue full (%u frames); closing with 1013", rv__outq_len(&c->q));
		rv__outq_clear(&c->q);
		conn_request_close(c, 1013, "too far behind");
		return;
	}
	if (r == 0 && rv__outq_len(&c->q) == 1)
		lws_callback_on_writable(c->wsi);
}

/* Write queued frames while the socket takes them. A compressed connection
 * writes one frame per writable callback: lws may still be draining the
 * deflate output of the previous one. */
static int conn_flush(struct conn *c)
{
	struct server *s = c->srv;

	while (rv__outq_len(&c->q) && !lws_send_pipe_choked(c->wsi)) {
		struct rv_frame *f = rv__outq_pop(&c->q);
		int n = lws_write(c->wsi, rv_frame_data(f), f->len, LWS_WRITE_TEXT);
		s->metrics.messages_out[f->msg_type < RV_MSG__COUNT ? f->msg_type : 0]++;
		s->metrics.bytes_out += f->len;
		rv_frame_unref(f);
		if (n < 0)
			return -1;
		if (c->deflate)
			break;
	}
	if (rv__outq_len(&c->q)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->close_code) {
		/* lws may call back again while the close frame waits for
		 * room in the socket: set the reason once. */
		if (!c->close_sent) {
			c->close_sent = true;
			lws_close_reason(c->wsi, (enum lws_close_status)c->close_code,
					 (unsigned char *)c->close_reason,
					 c->close_reason ? strlen(c->close_reason) : 0);
		}
		return -1;
	}
	return 0;
}

/* ---- delivering the core's actions ------------------------------------ */

static void deliver(struct conn *from, struct rv_outbox *ob)
{
	struct rv_party *p = from->party;

	for (unsigned i = 0; i < ob->n; i++) {
		struct rv_action *a = &ob->items[i];

		switch (a->target) {
		case RV_TO_ONE:
			conn_send(a->member->user, a->frame);
			break;
		case RV_TO_ALL:
		case RV_TO_ALL_BUT:
			for (struct rv_member *m = rv_party_first(p); m; m = m->next)
				if (a->target == RV_TO_ALL || m != a->member)
					conn_send(m->user, a->frame);
			break;
		}
	}
	rv_outbox_clear(ob);
}

static void send_error(struct conn *c, const struct rv_proto_error *err)
{
	struct rv_frame *f = rv_proto_error_frame(err, now_ms(c->srv));

	c->srv->metrics.errors[err->code]++;
	if (f) {
		conn_send(c, f);
		rv_frame_unref(f);
	}
}

/* ---- handshake -------------------------------------------------------- */

struct request {
	enum rv_endpoint ep;
	char id[RV_ID_MAX + 1];
	char name[RV_NAME_MAX_BYTES + 1];
	bool has_name;
};

/* "localhost:*" matches the origin's host[:port]; a pattern with "://"
 * matches the whole origin. A ":*" pattern also matches no port at all. */
static bool origin_allowed(const struct rv_server_config *cfg, const char *origin)
{
	static const char *const defaults[] = { "localhost:*", "127.0.0.1:*", "[::1]:*" };
	const char *const *pats = cfg->n_origins ? cfg->origins : defaults;
	unsigned n = cfg->n_origins ? cfg->n_origins : 3;
	const char *hostport = strstr(origin, "://");
	char bare[URI_MAX];

	hostport = hostport ? hostport + 3 : origin;
	for (unsigned i = 0; i < n; i++) {
		const char *pat = pats[i];
		size_t pl = strlen(pat);

		if (strstr(pat, "://")) {
			if (!fnmatch(pat, origin, 0))
				return true;
			continue;
		}
		if (!fnmatch(pat, hostport, 0))
			return true;
		if (pl > 2 && !strcmp(pat + pl - 2, ":*") && pl - 2 < sizeof(bare)) {
			memcpy(bare, pat, pl - 2);
			bare[pl - 2] = 0;
			if (!fnmatch(bare, hostport, 0))
				return true;
		}
	}
	return false;
}

/* Check the upgrade request. Returns 0, or the HTTP status to refuse with
 * and a reason in why. */
static int parse_request(struct server *s, struct lws *wsi, struct request *r,
			 char *why, size_t why_len)
{
	static const struct { const char *prefix; enum rv_endpoint ep; } routes[] = {
		{ "/ws/party/", RV_EP_PARTY },
	};
	char uri[URI_MAX], arg[URI_MAX];
	const char *id = NULL;
	size_t idlen;
	int n;

	memset(r, 0, sizeof(*r));
	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) >= URI_MAX) {
		snprintf(why, why_len, "request path too long");
		return 400;
	}
	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0) {
		snprintf(why, why_len, "not a GET request");
		return 400;
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		size_t pl = strlen(routes[i].prefix);

		if (!strncmp(uri, routes[i].prefix, pl)) {
			r->ep = routes[i].ep;
			id = uri + pl;
			break;
		}
	}
	if (!id) {
		snprintf(why, why_len, "no such endpoint");
		return 404;
	}
	idlen = strlen(id);
	if (!rv_proto_valid_id(id, idlen)) {
		snprintf(why, why_len, "id must be 1-64 characters of A-Z a-z 0-9 _ -");
		return 400;
	}
	memcpy(r->id, id, idlen + 1);

	for (int i = 0; (n = lws_hdr_copy_fragment(wsi, arg, sizeof(arg),
						   WSI_TOKEN_HTTP_URI_ARGS, i)) >= 0; i++) {
		if (!strncmp(arg, "name=", 5) && r->ep == RV_EP_PARTY) {
			size_t len = (size_t)n - 5;

			if (r->has_name) {
				snprintf(why, why_len, "name given twice");
				return 400;
			}
			if (!rv_proto_valid_name(arg + 5, len)) {
				snprintf(why, why_len, "name must be 1-32 printable UTF-8 characters");
				return 400;
			}
			memcpy(r->name, arg + 5, len + 1);
			r->has_name = true;
		}
	}
	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) >= URI_MAX) {
		snprintf(why, why_len, "query too long");
		return 400;
	}
	n = lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN);
	if (n > 0) {
		if (n >= URI_MAX || lws_hdr_copy(wsi, arg, sizeof(arg), WSI_TOKEN_ORIGIN) < 0 ||
		    !origin_allowed(s->cfg, arg)) {
			snprintf(why, why_len, "origin not allowed");
			return 403;
		}
	}
	return 0;
}

static int refuse(struct server *s, struct lws *wsi, int status, const char *why)
{
	rv_metrics_refused(&s->metrics, status);
	rv_log(s->log, RV_LOG_INFO, "handshake_refused", "%d %s", status, why);
	/* Written by hand: lws_return_http_status answers an upgrade request
	 * with an HTTP/1.0 status line, which strict clients reject. */
	static const char *const texts[] = { "Bad Request", "Forbidden", "Not Found",
					     "Service Unavailable" };
	const char *text = texts[status == 400 ? 0 : status == 403 ? 1 : status == 404 ? 2 : 3];
	unsigned char buf[LWS_PRE + 512];
	int n = snprintf((char *)buf + LWS_PRE, sizeof(buf) - LWS_PRE,
			 "HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
			 "content-length: %zu\r\nconnection: close\r\n\r\n%s\n",
			 status, text, strlen(why) + 1, why);

	if (n > 0 && (size_t)n < sizeof(buf) - LWS_PRE)
		lws_write(wsi, buf + LWS_PRE, (size_t)n, LWS_WRITE_HTTP);
	return 1;
}

/* True when the Sec-WebSocket-Protocol list names revenge.v1. */
static bool offers_subprotocol(struct lws *wsi)
{
	char list[URI_MAX];
	char *tok, *save;

	if (lws_hdr_copy(wsi, list, sizeof(list), WSI_TOKEN_PROTOCOL) < 0)
		return false;
	for (tok = strtok_r(list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save))
		if (!strcmp(tok, SUBPROTOCOL))
			return true;
	return false;
}

static int confirm_upgrade(struct server *s, struct lws *wsi)
{
	struct request r;
	char why[128];
	int status;

	if (s->draining)
		return refuse(s, wsi, 503, "server shutting down");
	/* A client that offers subprotocols must offer ours: lws would
	 * otherwise fall back to its default protocol. */
	if (lws_hdr_total_length(wsi, WSI_TOKEN_PROTOCOL) > 0 && !offers_subprotocol(wsi))
		return refuse(s, wsi, 400, "unsupported subprotocol");
	status = parse_request(s, wsi, &r, why, sizeof(why));
	if (status)
		return refuse(s, wsi, status, why);
	return 0;
}

/* ---- WebSocket life --------------------------------------------------- */

static int ws_established(struct server *s, struct conn *c, struct lws *wsi)
{
	struct request r;
	struct rv_outbox ob;
	char why[128], mid[RV_MEMBER_ID_MAX + 1];
	int err;

	c->srv = s;
	c->wsi = wsi;
	c->is_ws = true;
	rv__outq_init(&c->q);
	c->tokens = s->cfg->rate_limit * 2.0;
	c->tokens_at = now_ms(s);
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->n_conns++;
	c->deflate = lws_hdr_total_length(wsi, WSI_TOKEN_EXTENSIONS) > 0;

	if (parse_request(s, wsi, &r, why, sizeof(why))) {
		/* confirm_upgrade already checked; headers vanished? */
		return -1;
	}
	c->ep = r.ep;
	s->metrics.connections_total[c->ep]++;
	s->metrics.connections_open[c->ep]++;

	c->party = party_get_or_create(s, r.id);
	if (!c->party)
		return -1;
	snprintf(mid, sizeof(mid), "m%llx", (unsigned long long)++s->next_member);
	rv_outbox_init(&ob);
	err = rv_party_join(c->party, mid, r.has_name ? r.name : NULL, c, now_ms(s),
			    &c->member, &ob);
	if (err) {
		rv_outbox_clear(&ob);
		party_remove_if_empty(s, c->party);
		c->party = NULL;
		lws_close_reason(wsi, (enum lws_close_status)1013,
				 (unsigned char *)"party full", 10);
		return -1;
	}
	rv_log(s->log, RV_LOG_DEBUG, "joined", "party=%s member=%s name=%s",
	       r.id, c->member->id, c->member->name);
	deliver(c, &ob);
	return 0;
}

static void ws_closed(struct server *s, struct conn *c)
{
	if (!c->is_ws)
		return;
	if (c->party && c->member) {
		struct rv_outbox ob;

		rv_outbox_init(&ob);
		rv_party_leave(c->party, c->member, now_ms(s), &ob);
		c->member = NULL;
		deliver(c, &ob);
		party_remove_if_empty(s, c->party);
		c->party = NULL;
	}
	if (c->close_code)
		rv_metrics_close(&s->metrics, c->close_code);
	rv__outq_free(&c->q);
	rv__msgbuf_free(&c->rx);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->n_conns--;
	s->metrics.connections_open[c->ep]--;
	c->is_ws = false;
	c->wsi = NULL;
}

static bool rate_ok(struct server *s, struct conn *c, double now)
{
	double rate = s->cfg->rate_limit, burst = rate * 2;

	if (!rate)
		return true;
	c->tokens += (now - c->tokens_at) / 1000.0 * rate;
	c->tokens_at = now;
	if (c->tokens > burst)
		c->tokens = burst;
	if (c->tokens < 1)
		return false;
	c->tokens -= 1;
	return true;
}

static void handle_message(struct server *s, struct conn *c, const char *text, size_t len)
{
	double now = now_ms(s);
	struct rv_proto_error err;
	struct rv_msg msg;
	struct rv_outbox ob;

	s->metrics.bytes_in += len;
	if (rv_proto_decode(text, len, &msg, &err)) {
		s->metrics.messages_in[0]++;
		send_error(c, &err);
		return;
	}
	s->metrics.messages_in[msg.type]++;
	if (!rate_ok(s, c, now)) {
		rv_proto_error_set(&err, RV_ERR_RATE_LIMITED, rv_msg_type_name(msg.type),
				   msg.id, "more than %u messages per second",
				   s->cfg->rate_limit);
		send_error(c, &err);
		rv_msg_clear(&msg);
		if (++c->strikes >= RATE_STRIKES_MAX) {
			conn_request_close(c, 1008, "rate limit abused");
		}
		return;
	}
	if (msg.type == RV_MSG_TIME) {
		/* Stamped here rather than in the core: the reply carries the
		 * moment the request was read and the moment it was answered. */
		struct rv_frame *f = rv_proto_time_frame(msg.u.time.client_time, now,
							 now_ms(s), msg.id);

		if (f) {
			conn_send(c, f);
			rv_frame_unref(f);
		}
		rv_msg_clear(&msg);
		return;
	}
	rv_outbox_init(&ob);
	rv_party_handle(c->party, c->member, &msg, now, &ob);
	if (ob.error)
		s->metrics.errors[ob.error]++;
	deliver(c, &ob);
	rv_msg_clear(&msg);
}

static int ws_receive(struct server *s, struct conn *c, struct lws *wsi,
		      const char *in, size_t len)
{
	bool first = lws_is_first_fragment(wsi);
	bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	const char *msg;
	size_t msg_len;
	int err;

	if (!c->is_ws || c->close_code)
		return 0;
	if (lws_frame_is_binary(wsi)) {
		/* Closed from the writable callback, like 1009: lws then ends
		 * the TCP connection at once instead of lingering 5 s. */
		conn_request_close(c, 1003, "binary frames are not accepted");
		return 0;
	}
	err = rv__msgbuf_add(&c->rx, in, len, first, final, s->cfg->max_message, &msg, &msg_len);
	if (err == RV_ERANGE) {
		/* Closed from the writable callback: a -1 returned here while
		 * lws drains its inflater leaves the connection hanging. */
		conn_request_close(c, 1009, "message too large");
		return 0;
	}
	if (err) {
		conn_request_close(c, 1011, "out of memory");
		return 0;
	}
	if (msg) {
		handle_message(s, c, msg, msg_len);
		rv__msgbuf_done(&c->rx);
	}
	return 0;
}

static int ws_writeable(struct server *s, struct conn *c)
{
	if (!c->is_ws)
		return 0;
	return conn_flush(c);
}

/* RFC 6455 7.4: codes a peer may send in a close frame. */
static bool close_code_valid(unsigned code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	return code >= 1000 && code <= 1014 && code != 1004 && code != 1005 &&
	       code != 1006;
}

/* The peer sent a close frame. lws 4.1 echoes any payload, even one it
 * should fail; we check what it does not: the length, the code and the
 * reason's UTF-8. Returning nonzero closes without the echo. */
static int peer_close(struct server *s, struct lws *wsi, const unsigned char *in, size_t len)
{
	int code = 0;
	const char *why = NULL;

	if (len == 1) {
		code = 1002;
		why = "close payload of 1 byte";
	} else if (len >= 2 && !close_code_valid((unsigned)(in[0] << 8 | in[1]))) {
		code = 1002;
		why = "invalid close code";
	} else if (len > 2 && !rv_utf8_valid((const char *)in + 2, len - 2)) {
		code = 1007;
		why = "close reason is not UTF-8";
	}
	if (!code)
		return 0;
	rv_metrics_close(&s->metrics, code);
	lws_close_reason(wsi, (enum lws_close_status)code, (unsigned char *)why, strlen(why));
	return 1;
}

/* ---- plain HTTP: /healthz and /metrics -------------------------------- */

static int http_reply(struct conn *c, struct lws *wsi, unsigned status,
		      const char *ctype, const char *body, size_t len)
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
	    lws_finalize_write_http_header(wsi, start, &p, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int http_request(struct server *s, struct conn *c, struct lws *wsi, const char *uri)
{
	char body[256];
	int n;

	s->metrics.http_requests++;
	if (!strcmp(uri, "/healthz")) {
		n = snprintf(body, sizeof(body),
			     "{\"status\":\"%s\",\"version\":\"%s\",\"connections\":%zu,"
			     "\"parties\":%zu}\n", s->draining ? "draining" : "ok",
			     RV_VERSION, s->n_conns, s->n_parties);
		return http_reply(c, wsi, s->draining ? 503 : 200, "application/json",
				  body, (size_t)n);
	}
	if (!strcmp(uri, "/metrics")) {
		char *text;
		size_t len;
		int r;

		if (rv_metrics_render(&s->metrics, &text, &len))
			return -1;
		r = http_reply(c, wsi, 200, "text/plain; version=0.0.4; charset=utf-8",
			       text, len);
		free(text);
		return r;
	}
	n = snprintf(body, sizeof(body), "{\"error\":\"not found\"}\n");
	return http_reply(c, wsi, 404, "application/json", body, (size_t)n);
}

static int http_writeable(struct conn *c, struct lws *wsi)
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

/* ---- the lws callback ------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	struct server *s = lws_context_user(lws_get_context(wsi));
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(s, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(s, c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(s, c, wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(s, c);
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		return peer_close(s, wsi, in, len);
	case LWS_CALLBACK_CLOSED:
		ws_closed(s, c);
		return 0;
	case LWS_CALLBACK_HTTP:
		return http_request(s, c, wsi, in);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		return http_writeable(c, wsi);
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
	struct server *s = t->data;

	if (s->n_conns && rv_time_mono_ns() < s->drain_deadline_ns)
		return;
	rv_log(s->log, RV_LOG_INFO, "drained", "%zu connection(s) left", s->n_conns);
	ev_timer_stop(loop, &s->drain_timer);
	ev_timer_stop(loop, &s->lws_tick);
	ev_signal_stop(loop, &s->sigterm);
	ev_signal_stop(loop, &s->sigint);
	/* With a foreign loop, lws stops its watchers and the loop then runs
	 * out of work, so ev_run returns. */
	lws_context_destroy(s->ctx);
	s->ctx = NULL;
}

/* lws 4.1's libev glue only looks at its timers (handshake and close
 * timeouts, keep-alive pings) after socket activity, so on a quiet server
 * they never fire. Waking lws through its event pipe twice a second runs
 * them; the cost is per process, not per connection. */
static void lws_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct server *s = t->data;

	if (s->ctx)
		lws_cancel_service(s->ctx);
}

static void on_signal(struct ev_loop *loop, ev_signal *h, int revents)
{
	struct server *s = h->data;
	int signum = h->signum;

	if (s->draining)
		return;
	s->draining = true;
	s->drain_deadline_ns = rv_time_mono_ns() +
			       (uint64_t)(s->cfg->drain_timeout_ms > 500 ?
					  s->cfg->drain_timeout_ms - 500 : 100) * 1000000u;
	rv_log(s->log, RV_LOG_INFO, "draining", "signal %d: closing %zu connection(s)",
	       signum, s->n_conns);
	for (struct conn *c = s->conns; c; c = c->next)
		conn_request_close(c, 1001, "server shutting down");
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
	cfg->queue_max = 1024;
	cfg->drain_timeout_ms = 5000;
}

/* The layout lws 4.1 hands a deflate extension for LWS_EXT_CB_PAYLOAD_TX
 * (private to lws, two public lws_tokens) and its "did nothing" answer. */
struct pmd_ebufs {
	struct lws_tokens eb_in, eb_out;
};
#define PMD_DID_NOTHING 1

/* permessage-deflate that sends messages under RV_DEFLATE_THRESHOLD bytes
 * uncompressed (RFC 7692 lets each message choose): below that, deflate
 * costs more CPU than the bytes it saves. */
static int pmd_with_threshold(struct lws_context *ctx, const struct lws_extension *ext,
			      struct lws *wsi, enum lws_extension_callback_reasons reason,
			      void *user, void *in, size_t len)
{
	if (reason == LWS_EXT_CB_PAYLOAD_TX) {
		const struct pmd_ebufs *eb = in;
		/* for PAYLOAD_TX, len carries the lws_write flags */
		bool whole_text = (len & 0xf) == LWS_WRITE_TEXT && !(len & LWS_WRITE_NO_FIN);

		if (whole_text && eb->eb_in.len >= 0 && eb->eb_in.len < RV_DEFLATE_THRESHOLD)
			return PMD_DID_NOTHING;
	}
	return lws_extension_callback_pm_deflate(ctx, ext, wsi, reason, user, in, len);
}

static const struct lws_extension extensions[] = {
	{ "permessage-deflate", pmd_with_threshold,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL }
};

int rv_server_run(const struct rv_server_config *cfg)
{
	struct lws_protocols protocols[3];
	struct lws_context_creation_info info;
	lws_retry_bo_t retry = { 0 };
	struct server *s;
	void *foreign[1];
	char url[300];
	int err = 0;
	bool tls = cfg->tls_cert && cfg->tls_key;

	s = calloc(1, sizeof(*s));
	if (!s)
		return RV_ENOMEM;
	s->cfg = cfg;
	s->log = cfg->log;
	rv_clock_anchor(&s->clock, rv_time_wall_ms(), rv_time_mono_ns());
	s->metrics.start_wall_ms = rv_time_wall_ms();
	if (party_table_grow(s)) {
		free(s);
		return RV_ENOMEM;
	}
	/* Signal watchers need libev's default loop. */
	s->loop = ev_default_loop(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!s->loop) {
		free(s->parties);
		free(s);
		return RV_EIO;
	}

	memset(protocols, 0, sizeof(protocols));
	/* [0] serves plain HTTP and WebSocket clients that offer no
	 * subprotocol; [1] is selected when revenge.v1 is offered. */
	protocols[0].name = "revenge-default";
	protocols[0].callback = callback;
	protocols[0].per_session_data_size = sizeof(struct conn);
	protocols[0].rx_buffer_size = 4096;
	protocols[1] = protocols[0];
	protocols[1].name = SUBPROTOCOL;

	retry.secs_since_valid_ping = (uint16_t)cfg->ping_interval;
	retry.secs_since_valid_hangup = (uint16_t)(cfg->ping_interval * 2);

	memset(&info, 0, sizeof(info));
	info.port = cfg->port;
	info.iface = cfg->host;
	info.protocols = protocols;
	info.extensions = extensions;
	info.user = s;
	foreign[0] = s->loop;
	info.foreign_loops = foreign;
	info.options = LWS_SERVER_OPTION_LIBEV | LWS_SERVER_OPTION_VALIDATE_UTF8 |
		       LWS_SERVER_OPTION_HTTP_HEADERS_SECURITY_BEST_PRACTICES_ENFORCE;
	if (strchr(cfg->host, ':') == NULL)
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	if (cfg->ping_interval)
		info.retry_and_idle_policy = &retry;
	info.timeout_secs = 5;         /* handshake and close-ack limit */
	info.timeout_secs_ah_idle = 5; /* a request whose headers never end */
	if (tls) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
	}
	lws_set_log_level(getenv("RV_LWS_DEBUG") ? 0xff : LLL_ERR, getenv("RV_LWS_DEBUG") ? NULL : lws_log_emit);

	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		rv_log(s->log, RV_LOG_ERROR, "start_failed",
		       "cannot listen on %s:%d%s", cfg->host, cfg->port,
		       tls ? " (or the TLS certificate/key cannot be loaded)" : "");
		err = tls ? RV_ETLS : RV_EADDR;
		goto out;
	}
	s->vhost = lws_get_vhost_by_name(s->ctx, "default");
	if (!s->vhost || lws_get_vhost_listen_port(s->vhost) <= 0) {
		rv_log(s->log, RV_LOG_ERROR, "start_failed", "cannot listen on %s:%d",
		       cfg->host, cfg->port);
		err = RV_EADDR;
		lws_context_destroy(s->ctx);
		s->ctx = NULL;
		goto out;
	}

	ev_signal_init(&s->sigterm, on_signal, SIGTERM);
	ev_signal_init(&s->sigint, on_signal, SIGINT);
	ev_timer_init(&s->drain_timer, drain_tick, 0, 0.02);
	ev_timer_init(&s->lws_tick, lws_tick, 0.5, 0.5);
	s->sigterm.data = s->sigint.data = s->drain_timer.data = s->lws_tick.data = s;
	ev_signal_start(s->loop, &s->sigterm);
	ev_signal_start(s->loop, &s->sigint);
	ev_timer_start(s->loop, &s->lws_tick);

	snprintf(url, sizeof(url), "%s://%s%s%s:%d", tls ? "wss" : "ws",
		 strchr(cfg->host, ':') ? "[" : "", cfg->host,
		 strchr(cfg->host, ':') ? "]" : "", lws_get_vhost_listen_port(s->vhost));
	rv_log(s->log, RV_LOG_INFO, "listening", "%s", url);
	if (cfg->on_listening)
		cfg->on_listening(url, cfg->user);

	ev_run(s->loop, 0);
out:
	if (s->ctx)
		lws_context_destroy(s->ctx);
	ev_loop_destroy(s->loop);
	for (size_t i = 0; i < s->n_buckets; i++) {
		struct party_slot *e = s->parties[i], *next;

		for (; e; e = next) {
			next = e->next;
			rv_party_free(e->party);
			free(e);
		}
	}
	free(s->parties);
	free(s);
	return err;
}
