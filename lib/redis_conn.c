/* lib/redis_conn.c - one connection to Redis on the loop (see redis_conn.h).
 *
 * Why our own transport and not hiredis's async context: rediss:// needs
 * TLS, and the hiredis of Debian 12 (0.14.1) has none (hiredis_ssl came in
 * 1.0) and no way to put a TLS session under its async I/O, which reads
 * and writes the socket itself. So this file owns the socket (a
 * non-blocking connect, TCP or unix), the OpenSSL client session (a
 * non-blocking SSL_connect, SSL_read and SSL_write retried on WANT_READ /
 * WANT_WRITE), the output buffer and the FIFO of reply callbacks; hiredis
 * still does the RESP work it is good at, through its public API:
 * redisvFormatCommand to format, redisReader to parse. One transport for
 * redis://, rediss:// and unix://, so the three cannot behave apart.
 *
 * RESP2 answers every command once, in order, except pub/sub messages,
 * which arrive whenever: on a connection with on_push, an array starting
 * with "message" or "pmessage" is one; everything else answers the oldest
 * pending command (SUBSCRIBE and UNSUBSCRIBE of one channel answer once).
 *
 * Reading is apart from parsing: each readiness empties the socket into
 * our input buffer (in), and the replies are parsed and handed out from
 * there a bounded amount per loop turn (a zero timer, "more", brings the
 * next turn's share), the socket emptied again every few chunks parsed;
 * the broker also pulls the subscriber's socket each time it publishes
 * (rv__redis_conn_pull: reading only, no callback), as a node publishing
 * a member's burst comes back to the loop late. Redis must never find the socket full: Redis 7.0's
 * TLS writer, retrying an SSL_write that found it full, may pass fewer
 * bytes than before, which OpenSSL refuses ("bad length", logged by Redis
 * at verbose only), and Redis then drops the connection: a subscriber
 * that fell behind a burst by a few MiB was lost with what it had not
 * read. What we cannot parse yet waits in our memory instead (up to
 * IN_MAX; past it reading stops, and Redis holds the rest up to its
 * client-output-buffer-limit).
 *
 * Closing from inside a callback is allowed: c is marked dead and freed
 * when the outermost callback returns (depth).
 */
#include "redis_conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>
#include <hiredis/hiredis.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "revenge/error.h"

#define CONNECT_TIMEOUT_S 5.0
/* Unwritten commands beyond this refuse more (the broker then drops a
 * message rather than buffer without bound while Redis is slow). */
#define OUT_MAX (64u << 20)
/* Read into the input buffer at a time: a whole TLS record's plaintext. */
#define READ_BUF 16384
/* Read per readiness at most (what the socket holds, and more: the kernel
 * buffers a few MiB), so that reading alone cannot hold the loop; the
 * socket stays readable and libev comes back. */
#define READ_MAX_PER_EVENT (8u << 20)
/* Read and not yet parsed beyond this, reading stops until parsing has
 * caught up (a node far slower than the traffic: Redis's limits apply). */
#define IN_MAX (64u << 20)
/* Parsed per loop turn, at most (whole chunks): one busy subscriber
 * cannot hold the loop, and the next turn comes soon to read again. */
#define PARSE_PER_TURN (512u << 10)
/* Fed to hiredis's reader at a time: it moves what follows the reply it
 * hands out to the front of its buffer, so feeding it megabytes at once
 * would cost time quadratic in them. */
#define FEED_CHUNK (64u << 10)
/* An emptied input buffer larger than this is let go (a burst's). */
#define IN_KEEP (1u << 20)

enum state { CONNECTING, HANDSHAKE, OPEN };

struct pending {
	rv__redis_reply_cb cb;
	void *priv;
};

struct rv__redis_conn {
	struct ev_loop *loop;
	ev_io io;
	ev_timer timeout;
	ev_timer more;                  /* 0 s: parse the next share next turn */
	int fd;
	enum state state;
	SSL *ssl;                       /* NULL: plain */
	redisReader *reader;
	struct rv__redis_conn_events ev;
	void *user;
	char *out;                      /* bytes [out_off, out_len) to write */
	size_t out_off, out_len, out_cap;
	char *in;                       /* bytes [in_off, in_len) read, not parsed */
	size_t in_off, in_len, in_cap;
	bool eof;                       /* the read side ended: why in eof_why, */
	char eof_why[256];              /* told after what came before it */
	struct pending *q;              /* ring: q_n pending from q_head */
	size_t q_head, q_n, q_cap;
	int hs_want;                    /* EV_READ or EV_WRITE: the handshake waits */
	bool read_wants_write;          /* SSL_read asked for writability */
	bool write_wants_read;          /* SSL_write asked for readability */
	bool dead;                      /* closed; freed when depth is 0 */
	unsigned depth;                 /* our callbacks on the stack */
};

static void destroy(struct rv__redis_conn *c)
{
	if (c->reader)
		redisReaderFree(c->reader);
	free(c->out);
	free(c->in);
	free(c->q);
	free(c);
}

/* Stop the watchers, drop the session and the socket, and call every
 * pending callback with NULL: the part of a close both ends share. */
static void shut(struct rv__redis_conn *c)
{
	c->dead = true;
	ev_io_stop(c->loop, &c->io);
	ev_timer_stop(c->loop, &c->timeout);
	ev_timer_stop(c->loop, &c->more);
	if (c->ssl) {
		/* no close_notify: it could block on nothing, and Redis does
		 * not need one to let go of a client */
		SSL_free(c->ssl);
		c->ssl = NULL;
		ERR_clear_error();
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	c->depth++;
	while (c->q_n) {
		struct pending p = c->q[c->q_head];

		c->q_head = (c->q_head + 1) % c->q_cap;
		c->q_n--;
		if (p.cb)
			p.cb(c, NULL, p.priv);
	}
	c->depth--;
}

/* Failed or lost: shut, then tell the owner once. Only called with depth
 * held (from a watcher's callback), which frees c on the way out. */
static void fail(struct rv__redis_conn *c, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	if (c->dead)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	shut(c);
	if (c->ev.on_close)
		c->ev.on_close(c, why, c->user);
}

/* One line on why a TLS call failed, in why: the certificate check's
 * verdict when there is one (hostname mismatch, unknown issuer...), else
 * OpenSSL's. Clears OpenSSL's error queue. */
static void tls_why(struct rv__redis_conn *c, const char *what, int ret, int err, char *why,
		    size_t why_len)
{
	long v = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;
	unsigned long e = ERR_peek_last_error();
	char buf[200];

	if (v != X509_V_OK) {
		snprintf(why, why_len, "TLS: the certificate of Redis is refused: %s",
			 X509_verify_cert_error_string(v));
	} else if (e) {
		ERR_error_string_n(e, buf, sizeof(buf));
		snprintf(why, why_len, "TLS %s: %s", what, buf);
	} else if (err == SSL_ERROR_SYSCALL && ret < 0 && errno) {
		snprintf(why, why_len, "TLS %s: %s", what, strerror(errno));
	} else {
		snprintf(why, why_len, "TLS %s: the connection was closed", what);
	}
	ERR_clear_error();
}

static void tls_fail(struct rv__redis_conn *c, const char *what, int ret, int err)
{
	char why[256];

	tls_why(c, what, ret, err, why, sizeof(why));
	fail(c, "%s", why);
}

static void arm(struct rv__redis_conn *c)
{
	int want;

	if (c->dead)
		return;
	if (c->state == CONNECTING)
		want = EV_WRITE;
	else if (c->state == HANDSHAKE)
		want = c->hs_want;
	else    /* a write that waits for readability must not spin on EV_WRITE;
		 * a full input buffer waits for parsing (more), not the socket */
		want = (c->in_len - c->in_off < IN_MAX || c->write_wants_read ? EV_READ : 0) |
		       ((c->out_off < c->out_len && !c->write_wants_read) ||
			c->read_wants_write ? EV_WRITE : 0);
	if (ev_is_active(&c->io) && (c->io.events & (EV_READ | EV_WRITE)) == want)
		return;
	ev_io_stop(c->loop, &c->io);
	if (!want)
		return;
	ev_io_set(&c->io, c->fd, want);
	ev_io_start(c->loop, &c->io);
}

static bool is_push(const redisReply *r)
{
	const redisReply *k;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 3)
		return false;
	k = r->element[0];
	return k->type == REDIS_REPLY_STRING &&
	       (!strcmp(k->str, "message") || !strcmp(k->str, "pmessage"));
}

/* Hand every whole reply the reader holds to its callback. */
static void dispatch(struct rv__redis_conn *c)
{
	while (!c->dead) {
		void *v = NULL;
		redisReply *r;

		if (redisReaderGetReply(c->reader, &v) != REDIS_OK) {
			fail(c, "protocol error from Redis: %s", c->reader->errstr);
			return;
		}
		if (!(r = v))
			return;
		if (c->ev.on_push && is_push(r)) {
			c->ev.on_push(c, r, c->user);
		} else if (!c->q_n) {
			freeReplyObject(r);
			fail(c, "protocol error from Redis: a reply to no command");
			return;
		} else {
			struct pending p = c->q[c->q_head];

			c->q_head = (c->q_head + 1) % c->q_cap;
			c->q_n--;
			if (p.cb)
				p.cb(c, r, p.priv);
		}
		freeReplyObject(r);
	}
}

/* Grow *b (*cap bytes, first when none yet, doubling) to hold need:
 * false when out of memory, and then *b is as it was. */
static bool reserve(char **b, size_t *cap, size_t need, size_t first)
{
	size_t n = *cap ? *cap : first;
	char *nb;

	if (need <= *cap)
		return true;
	while (n < need)
		n *= 2;
	if (!(nb = realloc(*b, n)))
		return false;
	*b = nb;
	*cap = n;
	return true;
}

/* Bytes [*off, *len) of b (cap): emptied, or moved to the front once
 * more than half of b is spent. */
static void compact(char *b, size_t *off, size_t *len, size_t cap)
{
	if (*off == *len) {
		*off = *len = 0;
	} else if (*off > cap / 2) {
		memmove(b, b + *off, *len - *off);
		*len -= *off;
		*off = 0;
	}
}

static void pull(struct rv__redis_conn *c);

/* Parse up to budget bytes of the input buffer (about: whole chunks)
 * and hand out their replies. */
static void parse(struct rv__redis_conn *c, size_t budget)
{
	size_t fed = 0;
	unsigned chunks = 0;

	for (;;) {
		size_t n = c->in_len - c->in_off;

		dispatch(c);
		if (c->dead || !n || fed >= budget)
			break;
		/* what came meanwhile: the socket is emptied while we parse */
		if (++chunks % 4 == 0)
			pull(c);
		if (n > FEED_CHUNK)
			n = FEED_CHUNK;
		if (redisReaderFeed(c->reader, c->in + c->in_off, n) != REDIS_OK) {
			fail(c, "out of memory reading from Redis");
			return;
		}
		c->in_off += n;
		fed += n;
	}
	if (c->dead)
		return;
	compact(c->in, &c->in_off, &c->in_len, c->in_cap);
	if (!c->in_len && c->in_cap > IN_KEEP) {
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

/* What one read said. */
enum got { GOT_DATA, GOT_NONE, GOT_CLOSED };

static enum got read_plain(struct rv__redis_conn *c, char *why, size_t why_len)
{
	ssize_t n;

	do
		n = recv(c->fd, c->in + c->in_len, READ_BUF, 0);
	while (n < 0 && errno == EINTR);
	if (n > 0) {
		c->in_len += (size_t)n;
		return GOT_DATA;
	}
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return GOT_NONE;
	if (n)
		snprintf(why, why_len, "read: %s", strerror(errno));
	else
		snprintf(why, why_len, "closed by Redis");
	return GOT_CLOSED;
}

/* A failed SSL_read's verdict goes to why (tls_why's words), to be
 * told once what was read before it has been handed out. */
static enum got read_tls(struct rv__redis_conn *c, char *why, size_t why_len)
{
	int n, err;

	ERR_clear_error();
	n = SSL_read(c->ssl, c->in + c->in_len, READ_BUF);
	if (n > 0) {
		c->in_len += (size_t)n;
		return GOT_DATA;
	}
	err = SSL_get_error(c->ssl, n);
	if (err == SSL_ERROR_WANT_READ)
		return GOT_NONE;
	if (err == SSL_ERROR_WANT_WRITE) {
		c->read_wants_write = true;
		return GOT_NONE;
	}
	if (err == SSL_ERROR_ZERO_RETURN ||
	    (err == SSL_ERROR_SYSCALL && n == 0 && !ERR_peek_error())) {
		snprintf(why, why_len, "closed by Redis");
		ERR_clear_error();
	} else {
		tls_why(c, "read", n, err, why, why_len);
	}
	return GOT_CLOSED;
}

/* Empty the socket into the input buffer (READ_MAX_PER_EVENT at most,
 * and not past IN_MAX), parsing nothing, so no callback runs: an end is
 * kept (eof) to be told after what came before it. Once anything is read
 * the fd may no longer wake us for it: more parses it on the next turn. */
static void pull(struct rv__redis_conn *c)
{
	enum got g = GOT_NONE;
	size_t got = 0;

	if (c->dead || c->eof || c->state != OPEN)
		return;
	/* past the bounds, carry on while OpenSSL holds decrypted bytes: the
	 * socket may not wake us for those */
	while ((got < READ_MAX_PER_EVENT && c->in_len - c->in_off < IN_MAX) ||
	       (c->ssl && SSL_pending(c->ssl) > 0)) {
		size_t before = c->in_len;

		if (!reserve(&c->in, &c->in_cap, c->in_len + READ_BUF, 4 * READ_BUF)) {
			snprintf(c->eof_why, sizeof(c->eof_why), "out of memory reading from Redis");
			g = GOT_CLOSED;
			break;
		}
		if (c->ssl)
			c->read_wants_write = false;
		g = c->ssl ? read_tls(c, c->eof_why, sizeof(c->eof_why))
			   : read_plain(c, c->eof_why, sizeof(c->eof_why));
		if (g != GOT_DATA)
			break;
		got += c->in_len - before;
	}
	c->eof = g == GOT_CLOSED;
	if (got || c->eof)
		ev_timer_start(c->loop, &c->more);
}

/* Read what came (pull), parse this turn's share, and leave the rest to
 * the next turns (more); at the end, everything, then the close. */
static void take(struct rv__redis_conn *c)
{
	pull(c);
	parse(c, c->eof ? SIZE_MAX : PARSE_PER_TURN);
	if (!c->dead && c->eof)         /* perhaps found while parsing */
		parse(c, SIZE_MAX);
	if (c->dead)
		return;
	if (c->eof) {
		fail(c, "%s", c->eof_why);
		return;
	}
	if (c->in_off < c->in_len || (c->ssl && SSL_pending(c->ssl) > 0))
		ev_timer_start(c->loop, &c->more);
	else
		ev_timer_stop(c->loop, &c->more);
}

/* Write what is buffered, as far as the socket takes it. */
static void flush(struct rv__redis_conn *c)
{
	c->write_wants_read = false;
	while (!c->dead && c->out_off < c->out_len) {
		size_t left = c->out_len - c->out_off;

		if (c->ssl) {
			int n, err;

			ERR_clear_error();
			/* partial writes and a moving buffer are on (tls_new):
			 * a retry may pass more bytes from a moved start. The
			 * socket BIO writes with write(): a peer gone would
			 * raise SIGPIPE, which libwebsockets ignores for the
			 * whole process */
			n = SSL_write(c->ssl, c->out + c->out_off, left > INT32_MAX ? INT32_MAX : (int)left);
			if (n > 0) {
				c->out_off += (size_t)n;
				continue;
			}
			err = SSL_get_error(c->ssl, n);
			if (err == SSL_ERROR_WANT_WRITE)
				break;
			if (err == SSL_ERROR_WANT_READ) {
				c->write_wants_read = true;
				break;
			}
			tls_fail(c, "write", n, err);
			return;
		} else {
			/* MSG_NOSIGNAL: Redis gone is an error here, not a SIGPIPE */
			ssize_t n = send(c->fd, c->out + c->out_off, left, MSG_NOSIGNAL);

			if (n > 0) {
				c->out_off += (size_t)n;
			} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				break;
			} else if (n < 0 && errno != EINTR) {
				fail(c, "write: %s", strerror(errno));
				return;
			}
		}
	}
	compact(c->out, &c->out_off, &c->out_len, c->out_cap);
}

static void handshake(struct rv__redis_conn *c)
{
	int n, err;

	ERR_clear_error();
	n = SSL_connect(c->ssl);
	if (n == 1) {
		c->state = OPEN;
		ev_timer_stop(c->loop, &c->timeout);
		return;
	}
	err = SSL_get_error(c->ssl, n);
	if (err == SSL_ERROR_WANT_READ)
		c->hs_want = EV_READ;
	else if (err == SSL_ERROR_WANT_WRITE)
		c->hs_want = EV_WRITE;
	else
		tls_fail(c, "handshake", n, err);
}

static void connected(struct rv__redis_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err) {
		fail(c, "connect: %s", strerror(err));
		return;
	}
	if (c->ssl) {
		c->state = HANDSHAKE;
		c->hs_want = EV_WRITE;
		handshake(c);
	} else {
		c->state = OPEN;
		ev_timer_stop(c->loop, &c->timeout);
	}
}

/* The end of a watcher's callback, which took depth: read (when asked)
 * and write what is queued, watch for what is wanted next, and free c if
 * it died and no callback of ours is left on the stack. */
static void serve(struct rv__redis_conn *c, bool read)
{
	if (!c->dead && c->state == OPEN) {
		if (read)
			take(c);
		/* not only when writable was reported: what the replies'
		 * callbacks just queued (a member's join after the recall
		 * that welcomed it) goes now, not a loop turn later, while
		 * the welcome it must precede waits for libwebsockets */
		if (!c->dead && c->out_off < c->out_len)
			flush(c);
	}
	arm(c);
	if (!--c->depth && c->dead)
		destroy(c);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rv__redis_conn *c = w->data;

	c->depth++;
	if (c->state == CONNECTING)
		connected(c);
	else if (c->state == HANDSHAKE)
		handshake(c);
	/* a TLS session may want either direction for either call */
	serve(c, (revents & EV_READ) || (c->ssl && c->read_wants_write));
}

static void on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__redis_conn *c = t->data;

	c->depth++;
	fail(c, c->state == HANDSHAKE ? "TLS handshake: no answer in %.0f s"
				      : "connect: no answer in %.0f s", CONNECT_TIMEOUT_S);
	if (!--c->depth && c->dead)
		destroy(c);
}

/* The next share of a backlog: read what came meanwhile too, so that
 * the socket is emptied every turn, parsing or not. */
static void on_more(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__redis_conn *c = t->data;

	c->depth++;
	serve(c, true);
}

/* An IP literal is checked against the certificate's IP addresses, a
 * name against its DNS names (and sent as SNI). */
static int tls_setup(struct rv__redis_conn *c, struct ssl_ctx_st *ctx, const char *name,
		     char *why, size_t why_len)
{
	unsigned char ip[sizeof(struct in6_addr)];
	bool literal = inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1;

	ERR_clear_error();
	if (!(c->ssl = SSL_new(ctx)) || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    (literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name) != 1
		     : SSL_set_tlsext_host_name(c->ssl, name) != 1 ||
		       SSL_set1_host(c->ssl, name) != 1)) {
		snprintf(why, why_len, "TLS set-up for %s failed", name);
		ERR_clear_error();
		return RV_ETLS;
	}
	return 0;
}

int rv__redis_conn_open(struct ev_loop *loop, const struct rv__redis_target *t,
			const struct rv__redis_conn_events *ev, void *user,
			struct rv__redis_conn **out, char *why, size_t why_len)
{
	struct rv__redis_conn *c = calloc(1, sizeof(*c));
	struct sockaddr_un sa_un = { .sun_family = AF_UNIX };
	const struct sockaddr *sa = t->addr;
	socklen_t sa_len = t->addr_len;
	int err = RV_EIO, one = 1;

	if (!c)
		return RV_ENOMEM;
	c->fd = -1;
	c->loop = loop;
	c->ev = *ev;
	c->user = user;
	if (!(c->reader = redisReaderCreate())) {
		err = RV_ENOMEM;
		goto fail;
	}
	if (t->path) {
		if (strlen(t->path) >= sizeof(sa_un.sun_path)) {
			snprintf(why, why_len, "socket path too long");
			goto fail;
		}
		strcpy(sa_un.sun_path, t->path);
		sa = (const struct sockaddr *)&sa_un;
		sa_len = sizeof(sa_un);
	}
	c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		snprintf(why, why_len, "socket: %s", strerror(errno));
		goto fail;
	}
	if (!t->path)
		setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (t->tls && (err = tls_setup(c, t->tls, t->tls_name, why, why_len)))
		goto fail;
	if (connect(c->fd, sa, sa_len) < 0 && errno != EINPROGRESS) {
		snprintf(why, why_len, "connect: %s", strerror(errno));
		err = RV_EIO;
		goto fail;
	}
	/* connected or not, the first writability says (SO_ERROR) */
	c->state = CONNECTING;
	ev_io_init(&c->io, on_io, c->fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_init(&c->timeout, on_timeout, CONNECT_TIMEOUT_S, 0);
	c->timeout.data = c;
	ev_timer_start(loop, &c->timeout);
	ev_timer_init(&c->more, on_more, 0, 0);
	c->more.data = c;
	*out = c;
	return 0;
fail:
	if (c->ssl)
		SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	destroy(c);
	return err;
}

static int queue_grow(struct rv__redis_conn *c)
{
	size_t cap = c->q_cap ? c->q_cap * 2 : 64;
	struct pending *q = malloc(cap * sizeof(*q));

	if (!q)
		return RV_ENOMEM;
	for (size_t i = 0; i < c->q_n; i++)
		q[i] = c->q[(c->q_head + i) % c->q_cap];
	free(c->q);
	c->q = q;
	c->q_head = 0;
	c->q_cap = cap;
	return 0;
}

/* Queue one formatted command (len bytes of cmd, copied) and its
 * callback; the caller frees cmd. */
static int queue_command(struct rv__redis_conn *c, rv__redis_reply_cb cb, void *priv,
			 const char *cmd, size_t len)
{
	if (!reserve(&c->out, &c->out_cap, c->out_len + len, 4096))
		return RV_ENOMEM;
	memcpy(c->out + c->out_len, cmd, len);
	c->out_len += len;
	c->q[(c->q_head + c->q_n++) % c->q_cap] = (struct pending){ cb, priv };
	/* written on the next writability, with whatever else this loop
	 * turn queues: one write for a burst of publishes */
	if (c->state == OPEN)
		arm(c);
	return 0;
}

int rv__redis_conn_command(struct rv__redis_conn *c, rv__redis_reply_cb cb, void *priv,
			   const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	int len, rc;

	if (!c || c->dead || c->out_len - c->out_off > OUT_MAX)
		return RV_EIO;
	if (c->q_n == c->q_cap && queue_grow(c))
		return RV_ENOMEM;
	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0)
		return RV_ENOMEM;
	rc = queue_command(c, cb, priv, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rc;
}

int rv__redis_conn_command_argv(struct rv__redis_conn *c, rv__redis_reply_cb cb, void *priv,
				int argc, const char **argv, const size_t *argvlen)
{
	char *cmd = NULL;
	int len, rc;

	if (!c || c->dead || c->out_len - c->out_off > OUT_MAX)
		return RV_EIO;
	if (c->q_n == c->q_cap && queue_grow(c))
		return RV_ENOMEM;
	len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
	if (len < 0)
		return RV_ENOMEM;
	rc = queue_command(c, cb, priv, cmd, (size_t)len);
	redisFreeCommand(cmd);
	return rc;
}

void rv__redis_conn_pull(struct rv__redis_conn *c)
{
	if (c)
		pull(c);
}

void rv__redis_conn_flush(struct rv__redis_conn *c)
{
	if (!c || c->dead || c->state != OPEN)
		return;
	c->depth++;
	serve(c, false);
}

void rv__redis_conn_close(struct rv__redis_conn *c)
{
	if (!c || c->dead)
		return;
	c->depth++;
	shut(c);
	if (!--c->depth)
		destroy(c);
}

struct ssl_ctx_st *rv__redis_tls_new(const struct rv__redis_tls_files *f, char *why,
				     size_t why_len)
{
	const char *ca = f ? f->ca : NULL, *cert = f ? f->cert : NULL, *key = f ? f->key : NULL;
	SSL_CTX *ctx;
	char buf[200];

	ERR_clear_error();
	if (!(ctx = SSL_CTX_new(TLS_client_method()))) {
		snprintf(why, why_len, "cannot make a TLS context");
		goto fail;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (ca ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1
	       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		if (ca)
			snprintf(why, why_len, "cannot load the CA certificates in %s", ca);
		else
			snprintf(why, why_len, "cannot load the system's CA certificates");
		goto fail;
	}
	if (cert && SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(why, why_len, "cannot load the client certificate in %s", cert);
		goto fail;
	}
	if (key && (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(ctx) != 1)) {
		snprintf(why, why_len, "cannot use the client key in %s (not PEM, encrypted, or "
			 "not the certificate's)", key);
		goto fail;
	}
	return ctx;
fail:
	if (ERR_peek_last_error()) {
		size_t n = strlen(why);

		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof(buf));
		snprintf(why + n, why_len > n ? why_len - n : 0, ": %s", buf);
	}
	ERR_clear_error();
	SSL_CTX_free(ctx);
	return NULL;
}

void rv__redis_tls_free(struct ssl_ctx_st *ctx)
{
	SSL_CTX_free(ctx);
}
