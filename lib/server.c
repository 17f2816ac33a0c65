/* lib/server.c - the libwebsockets adapter behind revenge-server.
 *
 * Owns the event loop (libev, with lws as a guest on it), the store's
 * lifetime, the handshake checks (path, id, query, origin, subprotocol),
 * plain HTTP (/healthz, /metrics), per-connection receive assembly, rate
 * limits and bounded send queues, and the SIGTERM/SIGINT drain. What happens
 * on each WebSocket path lives in its endpoint (ep_party.c, ep_progress.c,
 * ep_stream.c); the rules themselves live in the pure core.
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
#include <zlib.h>

#include "revenge/clock.h"
#include "revenge/error.h"
#include "revenge/frame.h"
#include "revenge/metrics.h"
#include "revenge/party.h"
#include "revenge/proto.h"
#include "revenge/systime.h"

#include "server_int.h"

_Static_assert(RV_FRAME_HEADROOM >= LWS_PRE, "frame head-room must fit LWS_PRE");

#define SUBPROTOCOL "revenge.v1"
#define RV_DEFLATE_THRESHOLD 256 /* smaller messages go uncompressed */
#define RV_DEFLATE_LEVEL 6
#define RV_DEFLATE_MEMLEVEL 6     /* a 16 KiB hash table cleared per message */
#define URI_MAX 512
#define CLOSE_GRACE_S 3           /* to write what is queued and the close frame */
#define RATE_STRIKES_MAX 50     /* rate-limited messages before 1008 */

double rv__server_now(const struct rv__server *s)
{
	return rv_clock_server_time(&s->clock, rv_time_mono_ns());
}

/* ---- send queue ------------------------------------------------------- */

/* ---- WebSocket framing and the send queue ----------------------------- */

/* Server-to-client frames are framed here, not by lws: the header of a
 * shared frame is written once into its head-room, so a broadcast to N
 * members costs N writes of ready bytes, and several queued frames leave
 * in one write. lws writes them raw (LWS_WRITE_RAW), keeping what the
 * kernel does not take and sending it before anything later, its own
 * control frames included. */

/* Write the RFC 6455 header for an unmasked, final text frame of f's
 * payload into the head-room (once); returns the first byte to send. */
static const unsigned char *frame_wire(struct rv_frame *f, bool compressed, size_t *wire_len)
{
	unsigned char *data = rv_frame_data(f);

	if (!f->wire_head) {
		unsigned char h[10];
		size_t n = 0;

		h[n++] = 0x81 | (compressed ? 0x40 : 0);   /* FIN, (RSV1), text */
		if (f->len < 126) {
			h[n++] = (unsigned char)f->len;
		} else if (f->len <= 0xffff) {
			h[n++] = 126;
			h[n++] = (unsigned char)(f->len >> 8);
			h[n++] = (unsigned char)f->len;
		} else {
			h[n++] = 127;
			for (int i = 7; i >= 0; i--)
				h[n++] = (unsigned char)((uint64_t)f->len >> (8 * i));
		}
		memcpy(data - n, h, n);
		f->wire_head = (uint8_t)n;
	}
	*wire_len = f->wire_head + f->len;
	return data - f->wire_head;
}

/* f compressed for permessage-deflate (RFC 7692), made once and shared by
 * every compressed connection: each message is compressed on its own (no
 * context kept between messages, which a sender may always do), so the
 * bytes are the same for every recipient and the server holds no
 * compressor per connection. NULL: send f as it is (small, incompressible
 * or out of memory). */
static struct rv_frame *frame_deflated(struct rv__server *s, struct rv_frame *f)
{
	struct rv_frame *z;
	size_t bound;

	if (f->alt_state == RV_FRAME_ALT_READY)
		return f->alt;
	if (f->alt_state == RV_FRAME_ALT_NONE || f->len < RV_DEFLATE_THRESHOLD)
		return NULL;
	f->alt_state = RV_FRAME_ALT_NONE;
	if (!s->zinit) {
		if (deflateInit2(&s->z, RV_DEFLATE_LEVEL, Z_DEFLATED, -15, RV_DEFLATE_MEMLEVEL,
				 Z_DEFAULT_STRATEGY) != Z_OK)
			return NULL;
		s->zinit = true;
	} else if (deflateReset(&s->z) != Z_OK) {
		return NULL;
	}
	/* a sync flush ends on 00 00 ff ff, which the wire format drops */
	bound = deflateBound(&s->z, f->len) + 8;
	z = rv_frame_new(bound);
	if (!z)
		return NULL;
	s->z.next_in = rv_frame_data(f);
	s->z.avail_in = (uInt)f->len;
	s->z.next_out = rv_frame_data(z);
	s->z.avail_out = (uInt)bound;
	if (deflate(&s->z, Z_SYNC_FLUSH) != Z_OK || s->z.avail_in || s->z.avail_out == 0) {
		rv_frame_unref(z);
		return NULL;
	}
	z->len = bound - s->z.avail_out - 4;
	if (z->len >= f->len) {
		rv_frame_unref(z);
		return NULL;
	}
	z->kind = f->kind;
	z->msg_type = f->msg_type;
	z->alt_state = RV_FRAME_ALT_NONE;
	f->alt = z;
	f->alt_state = RV_FRAME_ALT_READY;
	s->metrics.messages_deflated++;
	return z;
}

/* The bytes c gets for f. */
static const unsigned char *conn_wire(struct rv__conn *c, struct rv_frame *f, size_t *len)
{
	struct rv_frame *z = c->deflate ? frame_deflated(c->srv, f) : NULL;

	return z ? frame_wire(z, true, len) : frame_wire(f, false, len);
}

static void count_sent(struct rv__server *s, const struct rv_frame *f)
{
	s->metrics.messages_out[f->msg_type < RV_MSG__COUNT ? f->msg_type : 0]++;
	s->metrics.bytes_out += f->len;
}

static int write_raw(struct rv__conn *c, const unsigned char *p, size_t len)
{
	return lws_write(c->wsi, (unsigned char *)p, len, LWS_WRITE_RAW);
}

/* Close c with code once what is already queued has been written (a 1013
 * empties the queue first). Nothing more is queued after this; the first
 * code asked for wins, except that a drain's 1001 yields to any other. */
void rv__conn_request_close(struct rv__conn *c, int code, const char *reason)
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

/* Send f to c. Frames are queued and written once the loop turn's
 * callbacks are done (flush_turn): every frame a connection gets in one
 * turn (acks after a group commit, a burst of chat, a join's replies)
 * leaves in one write, and there is no writable round trip (two epoll_ctl
 * calls and a loop turn per message) unless the socket is full. A STATE
 * frame replaces a queued, unsent STATE frame (latest-wins); a frame that
 * does not fit closes c with 1013. */
void rv__conn_send(struct rv__conn *c, struct rv_frame *f)
{
	struct rv__server *s = c->srv;
	bool choked;
	int r;

	if (!c->wsi || c->close_code)
		return;
	/* Latest-wins is for a client that falls behind: its socket is full
	 * (lws holds part of a write). Two syncs that merely arrive in the
	 * same loop turn both go out. */
	choked = lws_partial_buffered(c->wsi);
	r = rv__outq_push_mode(&c->q, f, s->cfg->queue_max, choked);
	if (r < 0) {
		s->metrics.slow_dropped++;
		rv_log(s->log, RV_LOG_WARN, "client_dropped",
		       "send queue full (%u frames); closing with 1013", rv__outq_len(&c->q));
		rv__outq_clear(&c->q);
		rv__conn_request_close(c, 1013, "too far behind");
		return;
	}
	if (r == 1)
		s->metrics.state_replaced++;
	if (choked) {
		/* lws calls back when the socket has room */
		if (r == 0 && rv__outq_len(&c->q) == 1)
			lws_callback_on_writable(c->wsi);
		return;
	}
	if (!c->dirty) {
		c->dirty = true;
		c->dirty_prev = NULL;
		c->dirty_next = s->dirty;
		if (s->dirty)
			s->dirty->dirty_prev = c;
		s->dirty = c;
	}
}

static void dirty_unlink(struct rv__server *s, struct rv__conn *c)
{
	if (!c->dirty)
		return;
	if (c->dirty_prev)
		c->dirty_prev->dirty_next = c->dirty_next;
	else
		s->dirty = c->dirty_next;
	if (c->dirty_next)
		c->dirty_next->dirty_prev = c->dirty_prev;
	c->dirty = false;
	c->dirty_prev = c->dirty_next = NULL;
}

static int conn_write_queued(struct rv__conn *c);

/* An ev_prepare at the lowest priority: it runs after every other
 * callback of the loop turn, the progress group commit included, just
 * before the loop waits for I/O again. */
static void flush_turn(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct rv__server *s = w->data;
	struct rv__conn *c;

	while ((c = s->dirty)) {
		dirty_unlink(s, c);
		if (c->close_code) {
			lws_callback_on_writable(c->wsi);   /* the close goes from there */
			continue;
		}
		if (conn_write_queued(c) < 0)
			rv__conn_request_close(c, 1011, "write failed");
		else if (rv__outq_len(&c->q))
			lws_callback_on_writable(c->wsi);
	}
}

/* Write what is queued, coalesced: the frames are gathered into the
 * server's scratch buffer and leave in as few writes as it takes, until
 * the queue is empty or the kernel takes only part (lws then keeps the
 * rest, lws_partial_buffered, and calls back when there is room).
 * Returns -1 when a write failed. */
static int conn_write_queued(struct rv__conn *c)
{
	struct rv__server *s = c->srv;

	while (rv__outq_len(&c->q) && !lws_partial_buffered(c->wsi)) {
		size_t used = 0;
		int n = 0;

		while (rv__outq_len(&c->q)) {
			struct rv_frame *f = rv__outq_peek(&c->q);
			size_t len;
			const unsigned char *p = conn_wire(c, f, &len);

			if (used + len > sizeof(s->scratch)) {
				if (used)
					break;     /* the batch so far goes first */
				/* larger than the scratch buffer: on its own */
				count_sent(s, f);
				n = write_raw(c, p, len);
				rv_frame_unref(rv__outq_pop(&c->q));
				break;
			}
			count_sent(s, f);
			memcpy(s->scratch + used, p, len);
			used += len;
			rv_frame_unref(rv__outq_pop(&c->q));
		}
		if (used)
			n = write_raw(c, s->scratch, used);
		if (n < 0)
			return -1;
	}
	return 0;
}

/* The writable callback: write what is queued, then the close frame if
 * one was asked for. */
static int conn_flush(struct rv__conn *c)
{
	dirty_unlink(c->srv, c);
	if (conn_write_queued(c) < 0)
		return -1;
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

/* ---- replies shared by every endpoint --------------------------------- */

void rv__conn_send_own(struct rv__conn *c, struct rv_frame *f)
{
	if (!f)
		return;
	rv__conn_send(c, f);
	rv_frame_unref(f);
}

void rv__conn_send_error(struct rv__conn *c, const struct rv_proto_error *err)
{
	c->srv->metrics.errors[err->code]++;
	rv__conn_send_own(c, rv_proto_error_frame(err, rv__server_now(c->srv)));
}

void rv__conn_ack(struct rv__conn *c, const char *id)
{
	rv__conn_send_own(c, rv_proto_ack_frame(id, rv__server_now(c->srv)));
}

/* ---- handshake -------------------------------------------------------- */

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

static const struct rv__endpoint *const endpoints[] = {
	&rv__ep_party, &rv__ep_progress, &rv__ep_stream,
};

static const struct rv__endpoint *endpoint_of(enum rv_endpoint ep)
{
	return endpoints[ep];
}

/* Check the upgrade request. Returns 0, or the HTTP status to refuse with
 * and a reason in why. */
static int parse_request(struct rv__server *s, struct lws *wsi, struct rv__request *r,
			 char *why, size_t why_len)
{
	const struct rv__endpoint *e = NULL;
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
	for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		size_t pl = strlen(endpoints[i]->prefix);

		if (!strncmp(uri, endpoints[i]->prefix, pl)) {
			e = endpoints[i];
			id = uri + pl;
			break;
		}
	}
	if (!e) {
		snprintf(why, why_len, "no such endpoint");
		return 404;
	}
	r->ep = e->ep;
	idlen = strlen(id);
	if (!rv_proto_valid_id(id, idlen)) {
		snprintf(why, why_len, "id must be 1-64 characters of A-Z a-z 0-9 _ -");
		return 400;
	}
	memcpy(r->id, id, idlen + 1);

	if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_URI_ARGS) >= URI_MAX) {
		snprintf(why, why_len, "query too long");
		return 400;
	}
	for (int i = 0; e->query && (n = lws_hdr_copy_fragment(wsi, arg, sizeof(arg),
						  WSI_TOKEN_HTTP_URI_ARGS, i)) >= 0; i++) {
		int status = e->query(arg, (size_t)n, r, why, why_len);

		if (status)
			return status;
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

static int refuse(struct rv__server *s, struct lws *wsi, int status, const char *why)
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

static int confirm_upgrade(struct rv__server *s, struct lws *wsi)
{
	struct rv__request r;
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

static void conns_unlink(struct rv__server *s, struct rv__conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->conns_tail = c->prev;
	c->prev = c->next = NULL;
}

static void conns_append(struct rv__server *s, struct rv__conn *c)
{
	c->next = NULL;
	c->prev = s->conns_tail;
	if (s->conns_tail)
		s->conns_tail->next = c;
	else
		s->conns = c;
	s->conns_tail = c;
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

	while ((c = s->conns) && c->ka_due <= now) {
		conns_unlink(s, c);
		c->ka_due = now + keepalive_ns(s);
		conns_append(s, c);
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
	char why[128];

	c->srv = s;
	c->wsi = wsi;
	c->is_ws = true;
	rv__outq_init(&c->q);
	c->tokens = s->cfg->rate_limit * 2.0;
	c->tokens_at = rv__server_now(s);
	c->ka_due = rv_time_mono_ns() + keepalive_ns(s);
	conns_append(s, c);
	s->n_conns++;

	/* confirm_upgrade has checked the same request */
	if (parse_request(s, wsi, &r, why, sizeof(why)))
		return -1;
	c->ep = r.ep;
	s->metrics.connections_total[c->ep]++;
	s->metrics.connections_open[c->ep]++;
	if (endpoint_of(c->ep)->open(s, c, &r)) {
		lws_close_reason(wsi, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION,
				 (unsigned char *)"cannot join", 11);
		return -1;
	}
	return 0;
}

static void ws_closed(struct rv__server *s, struct rv__conn *c)
{
	if (!c->is_ws)
		return;
	endpoint_of(c->ep)->close(s, c);
	if (c->close_code)
		rv_metrics_close(&s->metrics, c->close_code);
	rv__outq_free(&c->q);
	rv__msgbuf_free(&c->rx);
	dirty_unlink(s, c);
	conns_unlink(s, c);
	s->n_conns--;
	s->metrics.connections_open[c->ep]--;
	c->is_ws = false;
	c->wsi = NULL;
}

static bool rate_ok(struct rv__server *s, struct rv__conn *c, double now)
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

static void handle_message(struct rv__server *s, struct rv__conn *c, const char *text, size_t len)
{
	double now = rv__server_now(s);
	struct rv_proto_error err;
	struct rv_msg msg;

	s->metrics.bytes_in += len;
	if (rv_proto_decode(text, len, &msg, &err)) {
		s->metrics.messages_in[0]++;
		rv__conn_send_error(c, &err);
		return;
	}
	s->metrics.messages_in[msg.type]++;
	if (!rate_ok(s, c, now)) {
		rv_proto_error_set(&err, RV_ERR_RATE_LIMITED, rv_msg_type_name(msg.type),
				   msg.id, "more than %u messages per second",
				   s->cfg->rate_limit);
		rv__conn_send_error(c, &err);
		rv_msg_clear(&msg);
		if (++c->strikes >= RATE_STRIKES_MAX)
			rv__conn_request_close(c, 1008, "rate limit abused");
		return;
	}
	if (msg.type == RV_MSG_TIME) {
		/* Answered here for every endpoint: the reply carries the moment
		 * the request was read and the moment it was answered. */
		rv__conn_send_own(c, rv_proto_time_frame(msg.u.time.client_time, now,
							 rv__server_now(s), msg.id));
	} else {
		endpoint_of(c->ep)->message(s, c, &msg, now);
	}
	rv_msg_clear(&msg);
}

static int ws_receive(struct rv__server *s, struct rv__conn *c, struct lws *wsi,
		      const char *in, size_t len)
{
	bool first = lws_is_first_fragment(wsi);
	bool final = lws_is_final_fragment(wsi) && !lws_remaining_packet_payload(wsi);
	const char *msg;
	size_t msg_len;
	int err;

	if (!c->is_ws || c->close_code)
		return 0;
	c->ka_active = true;
	if (lws_frame_is_binary(wsi)) {
		/* Closed from the writable callback, like 1009: lws then ends
		 * the TCP connection at once instead of lingering 5 s. */
		rv__conn_request_close(c, 1003, "binary frames are not accepted");
		return 0;
	}
	err = rv__msgbuf_add(&c->rx, in, len, first, final, s->cfg->max_message, &msg, &msg_len);
	if (err == RV_ERANGE) {
		/* Closed from the writable callback: a -1 returned here while
		 * lws drains its inflater leaves the connection hanging. */
		rv__conn_request_close(c, 1009, "message too large");
		return 0;
	}
	if (err) {
		rv__conn_request_close(c, 1011, "out of memory");
		return 0;
	}
	if (msg) {
		handle_message(s, c, msg, msg_len);
		rv__msgbuf_done(&c->rx);
	}
	return 0;
}

static int ws_writeable(struct rv__server *s, struct rv__conn *c)
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
static int peer_close(struct rv__server *s, struct lws *wsi, const unsigned char *in, size_t len)
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

static int http_reply(struct rv__conn *c, struct lws *wsi, unsigned status,
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

static int http_request(struct rv__server *s, struct rv__conn *c, struct lws *wsi, const char *uri)
{
	char body[256];
	int n;

	s->metrics.http_requests++;
	if (!strcmp(uri, "/healthz")) {
		n = snprintf(body, sizeof(body),
			     "{\"status\":\"%s\",\"version\":\"%s\",\"connections\":%zu,"
			     "\"parties\":%zu}\n", s->draining ? "draining" : "ok",
			     RV_VERSION, s->n_conns, (size_t)s->metrics.parties);
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

/* ---- the lws callback ------------------------------------------------- */

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user,
		    void *in, size_t len)
{
	struct rv__server *s = lws_context_user(lws_get_context(wsi));
	struct rv__conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return confirm_upgrade(s, wsi);
	case LWS_CALLBACK_ADD_HEADERS:
		negotiate_deflate(c, wsi, in);
		return 0;
	case LWS_CALLBACK_ESTABLISHED:
		return ws_established(s, c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return ws_receive(s, c, wsi, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return ws_writeable(s, c);
	case LWS_CALLBACK_RECEIVE_PONG:
		if (c && c->is_ws)
			c->ka_active = true;
		return 0;
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
	struct rv__server *s = t->data;

	if (s->n_conns && rv_time_mono_ns() < s->drain_deadline_ns)
		return;
	rv_log(s->log, RV_LOG_INFO, "drained", "%zu connection(s) left", s->n_conns);
	ev_timer_stop(loop, &s->drain_timer);
	ev_timer_stop(loop, &s->lws_tick);
	ev_timer_stop(loop, &s->keepalive);
	ev_prepare_stop(loop, &s->flush);
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
	struct rv__server *s = t->data;

	if (s->ctx)
		lws_cancel_service(s->ctx);
}

static void on_signal(struct ev_loop *loop, ev_signal *h, int revents)
{
	struct rv__server *s = h->data;
	int signum = h->signum;

	if (s->draining)
		return;
	s->draining = true;
	s->drain_deadline_ns = rv_time_mono_ns() +
			       (uint64_t)(s->cfg->drain_timeout_ms > 500 ?
					  s->cfg->drain_timeout_ms - 500 : 100) * 1000000u;
	rv_log(s->log, RV_LOG_INFO, "draining", "signal %d: closing %zu connection(s)",
	       signum, s->n_conns);
	for (struct rv__conn *c = s->conns; c; c = c->next)
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
	cfg->queue_max = 1024;
	cfg->drain_timeout_ms = 5000;
	rv_ladder_default(&cfg->ladder);
}

/* permessage-deflate: lws inflates what clients send; the server's own
 * messages are compressed by frame_deflated(), never by lws. */
static const struct lws_extension extensions[] = {
	{ "permessage-deflate", lws_extension_callback_pm_deflate,
	  "permessage-deflate; client_no_context_takeover; client_max_window_bits" },
	{ NULL, NULL, NULL }
};

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

	s = calloc(1, sizeof(*s));
	if (!s)
		return RV_ENOMEM;
	s->cfg = cfg;
	s->log = cfg->log;
	rv_clock_anchor(&s->clock, rv_time_wall_ms(), rv_time_mono_ns());
	s->metrics.start_wall_ms = rv_time_wall_ms();
	/* Signal watchers need libev's default loop. */
	s->loop = ev_default_loop(EVBACKEND_EPOLL | EVFLAG_NOENV);
	if (!s->loop) {
		free(s);
		return RV_EIO;
	}
	if (cfg->db_path) {
		struct rv_store_options so = { .fsync = cfg->fsync, .create = true };
		char why[300];

		err = rv_store_open(cfg->db_path, &so, &s->store, why, sizeof(why));
		if (err) {
			rv_log(s->log, RV_LOG_ERROR, "start_failed", "%s", why);
			goto out;
		}
	}
	if ((err = rv__parties_new(s)) || (err = rv__progress_new(s)) ||
	    (err = rv__streams_new(s)))
		goto out;

	memset(protocols, 0, sizeof(protocols));
	/* [0] serves plain HTTP and WebSocket clients that offer no
	 * subprotocol; [1] is selected when revenge.v1 is offered. */
	protocols[0].name = "revenge-default";
	protocols[0].callback = callback;
	protocols[0].per_session_data_size = sizeof(struct rv__conn);
	/* Small per-connection receive buffer: lws allocates it for every
	 * connection (4096 measured 5.8 KiB per idle connection, 1024 about
	 * 3); messages larger than it arrive in pieces that msgbuf joins. Sends
	 * are not capped by it (tx_packet_size), so a frame goes out whole. */
	protocols[0].rx_buffer_size = 1024;
	protocols[0].tx_packet_size = 1 << 20;
	protocols[1] = protocols[0];
	protocols[1].name = SUBPROTOCOL;


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
	/* no lws keep-alive: keepalive_sweep() does it (see there) */
	info.retry_and_idle_policy = &no_keepalive;
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
	ev_timer_init(&s->keepalive, keepalive_sweep, 0.25, 0.25);
	ev_prepare_init(&s->flush, flush_turn);
	ev_set_priority(&s->flush, EV_MINPRI);
	s->flush.data = s;
	ev_prepare_start(s->loop, &s->flush);
	s->sigterm.data = s->sigint.data = s->drain_timer.data = s->lws_tick.data = s;
	s->keepalive.data = s;
	if (cfg->ping_interval)
		ev_timer_start(s->loop, &s->keepalive);
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
	/* lws is gone: no callback can reach the endpoints any more. Progress
	 * commits what it still holds before the store closes. */
	rv__streams_free(s);
	rv__progress_free(s);
	rv__parties_free(s);
	rv_store_close(s->store);
	if (s->zinit)
		deflateEnd(&s->z);
	if (s->loop)
		ev_loop_destroy(s->loop);
	free(s);
	return err;
}
