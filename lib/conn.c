/* lib/conn.c - a connection's send path (see conn.h): bounded queues,
 * RFC 6455 framing done once per shared frame, one compressed copy per
 * message, a coalesced write per connection at the end of each loop turn,
 * and closing once what is queued has gone.
 */
#include "conn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "endpoint.h"

_Static_assert(RV_FRAME_HEADROOM >= LWS_PRE, "frame head-room must fit LWS_PRE");

#define RV_DEFLATE_THRESHOLD 256 /* smaller messages go uncompressed */
#define RV_DEFLATE_LEVEL 6
#define RV_DEFLATE_MEMLEVEL 6     /* a 16 KiB hash table cleared per message */
#define CLOSE_GRACE_S 3           /* to write what is queued and the close frame */
#define LINGER_S 1                /* after our FIN, for the peer's close or EOF */

void rv__conn_hub_fini(struct rv__hub *hub)
{
	if (hub->zinit)
		deflateEnd(&hub->z);
	hub->zinit = false;
}

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
static struct rv_frame *frame_deflated(struct rv__hub *s, struct rv_frame *f)
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
	struct rv_frame *z = c->deflate ? frame_deflated(c->hub, f) : NULL;

	return z ? frame_wire(z, true, len) : frame_wire(f, false, len);
}

static void count_sent(struct rv__hub *s, const struct rv_frame *f)
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
	rv__conn_doom(c, CLOSE_GRACE_S);
}

static void doom_leave(struct rv__conn *c)
{
	if (!c->on_doomed)
		return;
	RV__LIST_REMOVE(&c->hub->doomed, c, doomed_);
	c->on_doomed = false;
}

void rv__conn_doom(struct rv__conn *c, unsigned secs)
{
	uint64_t at = rv_time_mono_ns() + (uint64_t)secs * 1000000000u;

	if (!c->wsi || (c->on_doomed && c->doom_at <= at))
		return;
	c->doom_at = at;
	if (!c->on_doomed) {
		c->on_doomed = true;
		RV__LIST_APPEND(&c->hub->doomed, c, doomed_);
	}
}

/* The list is short (connections being closed) and unsorted: deadlines
 * of 0, 1 and 3 s mix, so it is walked whole, four times a second. */
void rv__conn_reap(struct rv__hub *hub)
{
	uint64_t now = rv_time_mono_ns();
	struct rv__conn *c, *next;
	int fd;

	for (c = hub->doomed.first; c; c = next) {
		next = c->doomed_next;
		if (c->doom_at > now)
			continue;
		doom_leave(c);
		/* lws will not close a connection holding unwritten output:
		 * it waits to flush it (5 s, on the same starved timer). A
		 * socket shut both ways makes that write fail at once (the
		 * peer is past caring), so lws closes c on its next look */
		fd = lws_get_socket_fd(c->wsi);
		if (fd >= 0)
			shutdown(fd, SHUT_RDWR);
		/* closes c now, unless it has output to flush (above):
		 * LWS_CALLBACK_CLOSED (rv__conn_fini) runs inside; no other
		 * connection is touched */
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_SYNC);
	}
}

static void dirty_unlink(struct rv__hub *s, struct rv__conn *c);
static int conn_write_queued(struct rv__conn *c);

/* Send f to c. Frames are queued and written once the loop turn's
 * callbacks are done (flush_turn): every frame a connection gets in one
 * turn (acks after a group commit, a burst of chat, a join's replies)
 * leaves in one write, and there is no writable round trip (two epoll_ctl
 * calls and a loop turn per message) unless the socket is full. A STATE
 * frame replaces a queued, unsent STATE frame (latest-wins); a frame that
 * does not fit closes c with 1013. */
void rv__conn_send(struct rv__conn *c, struct rv_frame *f)
{
	struct rv__hub *s = c->hub;
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
		rv_log_kv(s->log, RV_LOG_WARN, "client_dropped",
			  RV_LOG_FIELDS(RV_LOG_STR("remote", c->remote), RV_LOG_INT("code", 1013),
					RV_LOG_STR("reason", "too far behind")),
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
	if (rv__outq_len(&c->q) >= s->cfg->queue_max / 2) {
		/* One loop turn can queue more than the queue holds (rx.c
		 * reads a burst of a host's syncs at once): write now rather
		 * than close a client that reads. Once its socket is full,
		 * latest-wins takes over above. */
		dirty_unlink(s, c);
		if (conn_write_queued(c) < 0)
			rv__conn_request_close(c, 1011, "write failed");
		else if (rv__outq_len(&c->q))
			lws_callback_on_writable(c->wsi);
		return;
	}
	if (!c->dirty) {
		c->dirty = true;
		RV__LIST_PREPEND(&s->dirty, c, dirty_);
	}
}

static void dirty_unlink(struct rv__hub *s, struct rv__conn *c)
{
	if (!c->dirty)
		return;
	RV__LIST_REMOVE(&s->dirty, c, dirty_);
	c->dirty = false;
}


/* Called by the server from an ev_prepare at the lowest priority: after
 * every other callback of the loop turn, the progress group commit
 * included, just before the loop waits for I/O again. */
void rv__conn_flush_turn(struct rv__hub *s)
{
	struct rv__conn *c;

	while ((c = s->dirty.first)) {
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
	struct rv__hub *s = c->hub;

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

/* A control frame (opcode, payload of at most 125 bytes) written at once:
 * it goes between whole frames, which is all RFC 6455 5.4 asks. */
static int write_control(struct rv__conn *c, unsigned char opcode, const unsigned char *payload,
			 size_t len)
{
	unsigned char b[2 + RV__WSFRAME_CONTROL_MAX];

	b[0] = 0x80 | opcode;
	b[1] = (unsigned char)len;
	if (len)
		memcpy(b + 2, payload, len);
	return write_raw(c, b, 2 + len);
}

void rv__conn_pong(struct rv__conn *c, const unsigned char *payload, size_t len)
{
	if (!c->wsi || c->close_code || len > RV__WSFRAME_CONTROL_MAX)
		return;
	if (lws_partial_buffered(c->wsi)) {
		/* lws would append it to what the kernel did not take: a
		 * peer that pings without reading would grow that without
		 * bound, so only the latest ping waits for an answer */
		if (!c->pong && !(c->pong = malloc(1 + RV__WSFRAME_CONTROL_MAX)))
			return;
		c->pong[0] = (unsigned char)len;
		memcpy(c->pong + 1, payload, len);
		lws_callback_on_writable(c->wsi);
		return;
	}
	if (write_control(c, 0x0a, payload, len) < 0)
		rv__conn_request_close(c, 1011, "write failed");
}

int rv__conn_ping(struct rv__conn *c, const unsigned char *payload, size_t len)
{
	/* a choked connection would hold the ping behind what the kernel
	 * did not take: skipped, as rv__conn_pong keeps only one */
	if (!c->wsi || c->close_code || len > RV__WSFRAME_CONTROL_MAX ||
	    lws_partial_buffered(c->wsi))
		return -1;
	if (write_control(c, 0x09, payload, len) < 0) {
		rv__conn_request_close(c, 1011, "write failed");
		return -1;
	}
	return 0;
}

/* c's close frame: the code (none for 1005) and the reason, cut to fit
 * a control frame. */
static int write_close(struct rv__conn *c)
{
	unsigned char p[RV__WSFRAME_CONTROL_MAX];
	size_t n = 0, r = c->close_reason ? strlen(c->close_reason) : 0;

	if (c->close_code != 1005) {
		p[n++] = (unsigned char)(c->close_code >> 8);
		p[n++] = (unsigned char)c->close_code;
		if (r > sizeof(p) - n)
			r = rv_utf8_cut(c->close_reason, r, sizeof(p) - n);
		if (r)
			memcpy(p + n, c->close_reason, r);
		n += r;
	}
	return write_control(c, 0x08, p, n);
}

/* c's close frame is out and the kernel has all of it. Returns -1 when
 * the connection may end now (the peer closed or vanished). Else the FIN
 * goes now (RFC 6455 7.1.1: the server ends TCP first) and rx.c reads on,
 * discarding, until the peer's close or EOF, at most about LINGER_S: what
 * the peer still sends meanwhile does not turn into a reset that could
 * destroy our close frame before the peer has read it. */
static int close_sent(struct rv__conn *c)
{
	SSL *ssl = lws_get_ssl(c->wsi);

	if (c->peer_closed || c->rx_done || !ev_is_active(&c->rx_w))
		return -1;
	c->half_closed = true;
	if (ssl)
		SSL_shutdown(ssl);
	shutdown(c->rx_w.fd, SHUT_WR);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_CLOSE_ACK, LINGER_S);
	rv__conn_doom(c, LINGER_S);
	return 0;
}

int rv__conn_writable(struct rv__conn *c)
{
	dirty_unlink(c->hub, c);
	if (c->rx_done)
		return -1;
	if (c->pong && !lws_partial_buffered(c->wsi)) {
		int n = write_control(c, 0x0a, c->pong + 1, c->pong[0]);

		free(c->pong);
		c->pong = NULL;
		if (n < 0)
			return -1;
	}
	if (conn_write_queued(c) < 0)
		return -1;
	if (rv__outq_len(&c->q)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (!c->close_code)
		return 0;
	/* lws may call back again while the close frame waits for room in
	 * the socket: it is written once. lws's own close (a close frame,
	 * then reading for the ack) is never used: lws no longer reads. */
	if (!c->close_sent) {
		c->close_sent = true;
		if (write_close(c) < 0)
			return -1;
	}
	if (lws_partial_buffered(c->wsi)) {
		lws_callback_on_writable(c->wsi);
		return 0;
	}
	if (c->half_closed)
		return 0;
	return close_sent(c);
}

/* ---- replies shared by every endpoint --------------------------------- */

void rv__conn_init(struct rv__conn *c, struct rv__hub *hub, struct lws *wsi)
{
	c->hub = hub;
	c->wsi = wsi;
	rv__outq_init(&c->q);
}

void rv__conn_fini(struct rv__conn *c)
{
	rv__outq_free(&c->q);
	rv__msgbuf_free(&c->rx);
	free(c->pong);
	c->pong = NULL;
	dirty_unlink(c->hub, c);
	doom_leave(c);
	c->wsi = NULL;
}

void rv__conn_send_own(struct rv__conn *c, struct rv_frame *f)
{
	if (!f)
		return;
	rv__conn_send(c, f);
	rv_frame_unref(f);
}

void rv__conn_send_error(struct rv__conn *c, const struct rv_proto_error *err)
{
	c->hub->metrics.errors[err->code]++;
	rv_log_kv(c->hub->log, RV_LOG_DEBUG, "error_sent",
		  RV_LOG_FIELDS(RV_LOG_STR("code", rv_err_code_name(err->code)),
				RV_LOG_STR("ref", err->ref[0] ? err->ref : NULL),
				RV_LOG_STR("endpoint", c->endpoint ? c->endpoint->name : NULL),
				RV_LOG_STR("remote", c->remote), RV_LOG_STR("reason", err->message)),
		  NULL);
	rv__conn_send_own(c, rv_proto_error_frame(err, rv__hub_now(c->hub)));
}

void rv__conn_send_unused(struct rv__conn *c, const struct rv_msg *m)
{
	struct rv_proto_error err;

	rv_proto_error_set(&err, RV_ERR_UNKNOWN_TYPE, rv_msg_type_name(m->type), m->id,
			   "%s is not used on %s", rv_msg_type_name(m->type), c->endpoint->path);
	rv__conn_send_error(c, &err);
}

void rv__conn_ack(struct rv__conn *c, const char *id)
{
	rv__conn_send_own(c, rv_proto_ack_frame(id, rv__hub_now(c->hub)));
}

/* The reply carries the moment the request was read and the moment it
 * was answered, for every endpoint alike. */
void rv__conn_answer_time(struct rv__conn *c, const struct rv_msg *m, double received)
{
	rv__conn_send_own(c, rv_proto_time_reply(m, received, rv__hub_now(c->hub)));
}

