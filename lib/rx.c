/* lib/rx.c - the server's WebSocket read side (see rx.h).
 *
 * Why not lws's: lws 4.1.6 processes unmasked client frames, lingers 5 s
 * after a protocol error (it reads for a close ack), answers a 100 MB
 * frame header only once the payload is in, answers one ping of several,
 * and its permessage-deflate receive path aborts the process on hostile
 * and on some valid compressed messages (extension-permessage-deflate.c:351
 * "RX trailer apply 2"). lws still accepts, does TLS and the upgrade, and
 * negotiates the extension; from ESTABLISHED on it only writes.
 */
#include "rx.h"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "revenge/error.h"
#include "revenge/proto.h"
#include "revenge/systime.h"

#include "conn.h"
#include "endpoint.h"

#define READS_PER_TURN 8          /* then other connections and the timers get a turn */
#define RX_PRIORITY (-1)          /* see rv__rx_start */
#define TRIM_AFTER (1024 * 1024)  /* assembly memory freed before malloc_trim is worth it */
#define TRIM_EVERY_NS 1000000000u /* and at most this often */
#define INFLATED_KEEP (256 * 1024) /* a larger inflate buffer is given back */

enum { RX_AGAIN = -2 };

static struct rv__conn *conn_of_watcher(ev_io *w)
{
	return (struct rv__conn *)(void *)((char *)w - offsetof(struct rv__conn, rx_w));
}

/* ---- unfinished messages: deadline, budget, memory given back -------- */

/* Bring hub->partial_bytes up to date with what c's assembly buffer holds
 * now; what it gave back counts towards the next trim. */
static void partial_account(struct rv__conn *c)
{
	struct rv__hub *h = c->hub;

	if (c->rx.cap < c->rx_held)
		h->rx_freed += c->rx_held - c->rx.cap;
	h->partial_bytes -= c->rx_held;
	c->rx_held = c->rx.cap;
	h->partial_bytes += c->rx_held;
	h->metrics.rx_partial_bytes = h->partial_bytes;
}

static void partial_leave(struct rv__conn *c)
{
	if (!c->on_partial)
		return;
	RV__LIST_REMOVE(&c->hub->partial, c, partial_);
	c->on_partial = false;
}

/* c will take no more messages (its close is on its way, or it is gone):
 * what it was assembling is given back now, not when lws ends it. */
static void partial_drop(struct rv__conn *c)
{
	partial_leave(c);
	rv__msgbuf_free(&c->rx);
	partial_account(c);
}

/* c's stream after a read: between whole messages it leaves the list of
 * unfinished ones; otherwise it joins it at the tail (the list stays in
 * order of partial_since, as every connection gets the same time). */
static void partial_update(struct rv__conn *c)
{
	struct rv__hub *h = c->hub;

	if (c->close_code) {
		partial_drop(c);
		return;
	}
	partial_account(c);
	if (rv__wsframe_idle(&c->wsf)) {
		partial_leave(c);
		return;
	}
	if (!c->on_partial) {
		c->partial_since = rv_time_mono_ns();
		c->on_partial = true;
		RV__LIST_APPEND(&h->partial, c, partial_);
	}
}

/* Over --partial-budget: close the connections that have held unfinished
 * data longest, until the rest fit. */
static void partial_enforce(struct rv__hub *h)
{
	size_t budget = h->cfg->partial_budget;
	struct rv__conn *c;

	while (budget && h->partial_bytes > budget && (c = h->partial.first)) {
		h->metrics.rx_over_budget++;
		rv__conn_request_close(c, 1013, "server busy: too much unfinished data");
		partial_drop(c);
	}
}

void rv__rx_sweep(struct rv__hub *h)
{
	uint64_t now = rv_time_mono_ns();
	uint64_t limit = (uint64_t)h->cfg->message_timeout * 1000000000u;
	struct rv__conn *c;

	while (limit && (c = h->partial.first) && now - c->partial_since >= limit) {
		h->metrics.rx_timed_out++;
		rv__conn_request_close(c, 1008, "message not finished in time");
		partial_drop(c);
	}
	/* glibc keeps freed chunks in its heap, so RSS stayed at its peak
	 * after thousands of half-sent messages were freed; malloc_trim
	 * hands the free pages back (all arenas, holes included) */
	if (h->rx_freed >= TRIM_AFTER && now - h->trimmed_at >= TRIM_EVERY_NS) {
		malloc_trim(0);
		h->rx_freed = 0;
		h->trimmed_at = now;
	}
}

/* Stop reading and have lws end the connection: from the writable
 * callback, which comes on the next loop turn (lws's timers, the fallback,
 * only run when lws_tick wakes it). */
static void rx_kill(struct rv__conn *c)
{
	ev_io_stop(c->hub->loop, &c->rx_w);
	c->rx_done = true;
	lws_callback_on_writable(c->wsi);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
	rv__conn_doom(c, 0);    /* the async kill is an lws timer too */
}

/* One read: bytes, 0 at EOF, RX_AGAIN, or -1 on an error. */
static ssize_t rx_read(struct rv__conn *c, unsigned char *buf, size_t len)
{
	SSL *ssl = lws_get_ssl(c->wsi);
	ssize_t n;

	if (ssl) {
		int r, e;

		ERR_clear_error();
		r = SSL_read(ssl, buf, (int)len);
		if (r > 0)
			return r;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return RX_AGAIN;
		ERR_clear_error();
		return e == SSL_ERROR_ZERO_RETURN ? 0 : -1;
	}
	n = recv(c->rx_w.fd, buf, len, 0);
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return RX_AGAIN;
	return n;
}

/* Inflate a whole client message (RFC 7692 7.2.2: the 00 00 ff ff the
 * sender dropped goes back on) into hub->inflated, at most max bytes.
 * Every message stands alone (client_no_context_takeover is negotiated),
 * so one stream serves the whole server, reset per message. 0, RV_ERANGE
 * past max, RV_EPROTO for bad data, RV_ENOMEM. */
static int inflate_message(struct rv__hub *h, const char *in, size_t len, size_t max,
			   const char **out, size_t *out_len)
{
	static const unsigned char tail[4] = { 0x00, 0x00, 0xff, 0xff };
	z_stream *z = &h->inflater;
	size_t got = 0;
	int r = Z_OK;

	if (!h->iinit) {
		memset(z, 0, sizeof(*z));
		if (inflateInit2(z, -15) != Z_OK)
			return RV_ENOMEM;
		h->iinit = true;
	} else if (inflateReset(z) != Z_OK) {
		return RV_ENOMEM;
	}
	for (int part = 0; part < 2 && r != Z_STREAM_END; part++) {
		z->next_in = part ? (Bytef *)tail : (Bytef *)in;
		z->avail_in = part ? sizeof(tail) : (uInt)len;
		while (z->avail_in) {
			if (got == h->inflated_cap) {
				/* one byte past max tells a bomb from a message
				 * of exactly max */
				size_t cap = h->inflated_cap ? h->inflated_cap * 2 : 4096;
				char *p;

				if (got > max)
					return RV_ERANGE;
				if (cap > max + 1)
					cap = max + 1;
				if (!(p = realloc(h->inflated, cap)))
					return RV_ENOMEM;
				h->inflated = p;
				h->inflated_cap = cap;
			}
			z->next_out = (Bytef *)h->inflated + got;
			z->avail_out = (uInt)(h->inflated_cap - got);
			r = inflate(z, Z_SYNC_FLUSH);
			got = h->inflated_cap - z->avail_out;
			if (got > max)
				return RV_ERANGE;
			if (r == Z_STREAM_END)
				break;  /* a final block: what follows is ignored */
			if (r == Z_BUF_ERROR && z->avail_out)
				break;  /* no progress with room left: input used */
			if (r != Z_OK && r != Z_BUF_ERROR)
				return r == Z_MEM_ERROR ? RV_ENOMEM : RV_EPROTO;
		}
	}
	*out = h->inflated;
	*out_len = got;
	return 0;
}

/* A whole message: inflate, check, hand on. */
static void rx_message(struct rv__conn *c, const char *msg, size_t len, bool compressed)
{
	struct rv__hub *h = c->hub;
	size_t max = h->cfg->max_message;

	if (compressed) {
		int err = inflate_message(h, msg, len, max, &msg, &len);

		if (err == RV_ERANGE) {
			rv__conn_request_close(c, 1009, "message too large");
			return;
		}
		if (err == RV_EPROTO) {
			rv__conn_request_close(c, 1007, "invalid compressed data");
			return;
		}
		if (err) {
			rv__conn_request_close(c, 1011, "out of memory");
			return;
		}
	}
	if (!rv_utf8_valid(msg, len)) {
		rv__conn_request_close(c, 1007, "text is not UTF-8");
		return;
	}
	h->message(c, msg, len);
	if (compressed && h->inflated_cap > INFLATED_KEEP) {
		free(h->inflated);
		h->inflated = NULL;
		h->inflated_cap = 0;
	}
}

static void rx_data(struct rv__conn *c, const struct rv__wsframe_event *ev)
{
	const char *msg;
	size_t msg_len;
	int err;

	if (ev->opcode == 2) {
		rv__conn_request_close(c, 1003, "binary frames are not accepted");
		return;
	}
	/* the parser has checked the ceiling on the wire; msgbuf checks it
	 * again as it joins */
	err = rv__msgbuf_add(&c->rx, ev->data ? (const char *)ev->data : "", ev->len,
			     ev->first, ev->final,
			     c->hub->cfg->max_message, &msg, &msg_len);
	if (err == RV_ERANGE) {
		rv__conn_request_close(c, 1009, "message too large");
		return;
	}
	if (err) {
		rv__conn_request_close(c, 1011, "out of memory");
		return;
	}
	if (!msg)
		return;
	rx_message(c, msg, msg_len, ev->compressed);
	rv__msgbuf_done(&c->rx);
}

/* --frame-rate: take the frames read since the last look from c's
 * bucket. Every frame counts, whatever it is: pings, pongs and empty
 * continuations cost the server as much to read as a message, and none
 * of them reaches --rate-limit. false: c has just been closed for it. */
static bool frames_take(struct rv__conn *c)
{
	uint64_t n = c->wsf.frames - c->frames_taken;

	if (!n || !c->hub->cfg->frame_rate || c->close_code)
		return true;
	c->frames_taken = c->wsf.frames;
	if (rv__bucket_take_n(&c->frame_rate, (double)n, rv__hub_now(c->hub)))
		return true;
	c->hub->metrics.rx_frame_flood++;
	rv__conn_request_close(c, 1008, "too many frames");
	return false;
}

/* Parse one read. Returns -1 once c is being ended (stop reading). */
static int rx_feed(struct rv__conn *c, unsigned char *buf, size_t len)
{
	struct rv__wsframe_event ev;
	size_t used = 0;

	c->ka_active = true;
	while (used < len) {
		used += rv__wsframe_parse(&c->wsf, buf + used, len - used, &ev);
		/* checked per event, so a flood of pings is cut off before
		 * each is answered */
		if (!frames_take(c))
			break;
		switch (ev.kind) {
		case RV__WSF_NONE:
			break;
		case RV__WSF_DATA:
			/* once a close is on its way, messages are not taken */
			if (!c->close_code)
				rx_data(c, &ev);
			break;
		case RV__WSF_PING:
			rv__conn_pong(c, ev.data, ev.len);
			break;
		case RV__WSF_PONG:
			if (!c->close_code && c->endpoint && c->endpoint->pong)
				c->endpoint->pong(c->endpoint_state, c, ev.data, ev.len,
						  rv__hub_now(c->hub));
			break;
		case RV__WSF_CLOSE:
			c->peer_closed = true;
			if (c->half_closed) {
				rx_kill(c);
				return -1;
			}
			if (!c->close_code) {
				c->close_echo = true;
				rv__conn_request_close(c, ev.code, NULL);
			}
			break;
		case RV__WSF_ERROR:
			rv__conn_request_close(c, ev.code, ev.why);
			break;
		}
	}
	partial_update(c);
	partial_enforce(c->hub);
	return 0;
}

static void on_readable(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rv__conn *c = conn_of_watcher(w);
	struct rv__hub *h = c->hub;

	for (int i = 0; i < READS_PER_TURN; i++) {
		ssize_t n = rx_read(c, h->rxbuf, sizeof(h->rxbuf));

		if (n == RX_AGAIN)
			return;
		if (n <= 0) {
			/* EOF or reset: nothing more to say to this peer */
			c->peer_closed = true;
			rx_kill(c);
			return;
		}
		if (rx_feed(c, h->rxbuf, (size_t)n) < 0)
			return;
		/* a short read emptied the socket (epoll says when more
		 * comes): no second recv() to hear EAGAIN, unless the SSL
		 * holds decrypted bytes epoll cannot see */
		if (!ev_is_active(w))
			return;
		if ((size_t)n < sizeof(h->rxbuf) &&
		    !(lws_get_ssl(c->wsi) && SSL_pending(lws_get_ssl(c->wsi))))
			return;
	}
	/* READS_PER_TURN reads and no more: feeding the watcher again here
	 * would run it again in the same pass of libev's pending queue,
	 * before any timer, for as long as the peer keeps the socket full
	 * (a flood held the close timers off for 9-30 s). What waits in the
	 * socket, epoll (level-triggered) reports on the next turn; what
	 * waits decrypted inside the SSL, which epoll cannot see, is fed
	 * from rx_check after the next poll. */
	if (lws_get_ssl(c->wsi) && SSL_pending(lws_get_ssl(c->wsi)) && !c->on_rx_more) {
		c->on_rx_more = true;
		RV__LIST_APPEND(&h->rx_more, c, rx_more_);
		ev_idle_start(loop, &h->rx_spin);
		ev_check_start(loop, &h->rx_check);
	}
}

static void rx_more_leave(struct rv__conn *c)
{
	if (!c->on_rx_more)
		return;
	RV__LIST_REMOVE(&c->hub->rx_more, c, rx_more_);
	c->on_rx_more = false;
}

static struct rv__hub *hub_of_check(ev_check *w)
{
	return (struct rv__hub *)(void *)((char *)w - offsetof(struct rv__hub, rx_check));
}

/* After the poll, before the turn's callbacks run: the connections whose
 * SSL held more get one more turn each, in this turn's pass. */
static void rx_check(struct ev_loop *loop, ev_check *w, int revents)
{
	struct rv__hub *h = hub_of_check(w);
	struct rv__conn *c;

	if (RV__LIST_EMPTY(&h->rx_more)) {
		ev_idle_stop(loop, &h->rx_spin);
		ev_check_stop(loop, w);
		return;
	}
	while ((c = h->rx_more.first)) {
		rx_more_leave(c);
		if (ev_is_active(&c->rx_w))
			ev_feed_event(loop, &c->rx_w, EV_READ);
	}
}

static void rx_spin(struct ev_loop *loop, ev_idle *w, int revents)
{
}

void rv__rx_hub_init(struct rv__hub *h)
{
	ev_check_init(&h->rx_check, rx_check);
	ev_set_priority(&h->rx_check, EV_MAXPRI);
	ev_idle_init(&h->rx_spin, rx_spin);
}

int rv__rx_start(struct rv__conn *c)
{
	struct rv__hub *h = c->hub;
	int fd = lws_get_socket_fd(c->wsi);

	if (fd < 0)
		return RV_EIO;
	rv__wsframe_init(&c->wsf, h->cfg->max_message, c->deflate);
	c->frames_taken = 0;
	/* bursts of twice the rate, as --rate-limit */
	rv__bucket_init(&c->frame_rate, h->cfg->frame_rate, h->cfg->frame_rate * 2.0,
			rv__hub_now(h));
	/* lws drops its read interest in the fd and, flow-controlled, never
	 * reads it again (nor its buffered bytes: a client must not send
	 * before the 101, RFC 6455 4.1) */
	if (lws_rx_flow_control(c->wsi, 0) < 0)
		return RV_EIO;
	ev_io_init(&c->rx_w, on_readable, fd, EV_READ);
	/* Below lws's watchers: lws 4.1's libev glue re-arms its timer (the
	 * handshake, close and linger timeouts) only from an ev_idle, which
	 * libev runs when nothing of its priority or higher is pending. At
	 * the same priority, a connection that kept its socket full kept
	 * every lws timeout from firing (slowloris sockets held 22.9 s
	 * instead of 5.5 s). */
	ev_set_priority(&c->rx_w, RX_PRIORITY);
	ev_io_start(h->loop, &c->rx_w);
	c->rx_on = true;
	/* TLS records read with the handshake may already be decrypted */
	if (lws_get_ssl(c->wsi))
		ev_feed_event(h->loop, &c->rx_w, EV_READ);
	return 0;
}

void rv__rx_stop(struct rv__conn *c)
{
	if (!c->hub)
		return;
	partial_drop(c);
	rx_more_leave(c);
	if (!c->rx_on)
		return;
	ev_io_stop(c->hub->loop, &c->rx_w);
	c->rx_on = false;
}

void rv__rx_hub_fini(struct rv__hub *h)
{
	if (h->loop) {
		ev_idle_stop(h->loop, &h->rx_spin);
		ev_check_stop(h->loop, &h->rx_check);
	}
	if (h->iinit)
		inflateEnd(&h->inflater);
	h->iinit = false;
	free(h->inflated);
	h->inflated = NULL;
	h->inflated_cap = 0;
}
