/* cmd/revenge-bench/relay.c - the pong-holding loopback relays of
 * `revenge-bench sync` (relay.h): each owns its listening socket, the two
 * sockets of its connection, their watchers and their output buffers.
 *
 * A relay is in the member's path for every byte, so it adds one loopback
 * hop each way (tens of microseconds): nothing next to the simulated
 * delays, and the same for every member.
 */
#include "relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_MAX 16384
#define PREFIX_MAX 1024

struct obuf {
	unsigned char *d;
	size_t len, cap;
};

/* One direction's frames, after its handshake head (the request or the
 * 101 answer: neither side sends more before the head is through). */
struct follower {
	bool head_done;               /* its blank line has passed */
	bool raw;                     /* no frames follow (a refusal's body): pass it all */
	uint32_t last4;               /* the head's last 4 bytes so far */
	char status[13];              /* the head's first 12 bytes: "HTTP/1.1 101 " */
	uint8_t nstatus;
	unsigned char hdr[14];        /* a header, until it is whole */
	uint8_t hlen, ctl_hdr;        /* bytes in hdr; the taken frame's header length */
	uint64_t skip;                /* payload bytes of the current frame to come */
	bool taking;                  /* the current frame is a ping: taken, not passed */
	unsigned char ctl[2 + 8 + 4 + 125];   /* the taken frame */
	size_t clen;
};

/* One member's relay. */
struct rlink {
	struct relay *r;
	unsigned i;
	ev_io lsn;                    /* the listener, until the member connects */
	ev_io cr, cw, sr, sw;         /* member (client) and server: read, write */
	int cfd, sfd;                 /* -1: not yet, or gone */
	bool connecting;              /* to the server: hold what is to send */
	struct obuf to_c, to_s;       /* what the socket did not take yet */
	struct obuf held;             /* pongs due while a frame of the member's is half sent */
	struct follower fc, fs;       /* the member's frames, the server's */
	uint32_t mask;                /* the next pong's masking key */
	unsigned node;                /* its server: urls[i % nurls] */
	char url[48 + PREFIX_MAX];
};

/* One server's address, resolved once, and its URL's path prefix. */
struct rdst {
	struct sockaddr_storage a;
	socklen_t len;
	const char *prefix;           /* in the caller's URL */
};

struct relay {
	struct ev_loop *loop;
	relay_ping_fn on_ping;
	void *user;
	const struct srcaddr *src;    /* the server sees these (--src) */
	unsigned n, ndst;
	struct rlink *l;
	struct rdst *dst;             /* ndst servers */
	unsigned char rbuf[READ_MAX];
};

static int obuf_add(struct obuf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		unsigned char *nd;

		while (cap < b->len + n)
			cap *= 2;
		if (!(nd = realloc(b->d, cap)))
			return -1;
		b->d = nd;
		b->cap = cap;
	}
	memcpy(b->d + b->len, d, n);
	b->len += n;
	return 0;
}

/* Close both sockets: the member sees the end as a lost connection. */
static void link_close(struct rlink *l)
{

	struct ev_loop *loop = l->r->loop;

	ev_io_stop(loop, &l->lsn);
	ev_io_stop(loop, &l->cr);
	ev_io_stop(loop, &l->cw);
	ev_io_stop(loop, &l->sr);
	ev_io_stop(loop, &l->sw);
	if (l->lsn.fd >= 0)
		close(l->lsn.fd);
	if (l->cfd >= 0)
		close(l->cfd);
	if (l->sfd >= 0)
		close(l->sfd);
	l->lsn.fd = l->cfd = l->sfd = -1;
	free(l->to_c.d);
	free(l->to_s.d);
	free(l->held.d);
	l->to_c = l->to_s = l->held = (struct obuf){ 0 };
}

/* Send d to the server (to_s) or the member, buffering what the socket
 * does not take now. */
static void put(struct rlink *l, bool to_s, const unsigned char *d, size_t n)
{
	struct obuf *b = to_s ? &l->to_s : &l->to_c;
	int fd = to_s ? l->sfd : l->cfd;
	ssize_t k = 0;

	if (fd < 0 || !n)
		return;
	if (!b->len && !(to_s && l->connecting)) {
		k = send(fd, d, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			link_close(l);
			return;
		}
		if (k < 0)
			k = 0;
	}
	if ((size_t)k == n)
		return;
	if (obuf_add(b, d + k, n - (size_t)k)) {
		link_close(l);
		return;
	}
	ev_io_start(l->r->loop, to_s ? &l->sw : &l->cw);
}

/* A frame ended: hand over a taken ping; after a frame of the member's,
 * write the pongs that came due meanwhile. */
static void frame_done(struct rlink *l, struct follower *f)
{
	if (f->taking) {
		f->taking = false;
		l->r->on_ping(l->r->user, l->i, f->ctl + f->ctl_hdr, f->clen - f->ctl_hdr);
	}
	if (f == &l->fc && l->held.len && l->sfd >= 0) {
		struct obuf h = l->held;

		l->held = (struct obuf){ 0 };
		put(l, true, h.d, h.len);
		free(h.d);
	}
}

/* Pass on n bytes that came from the member (f == &l->fc) or the server:
 * the handshake head as it is, then frame by frame, taking the server's
 * pings out. A header is passed on only once whole, when its opcode is
 * known. */
static void follow(struct rlink *l, struct follower *f, const unsigned char *d, size_t n)
{
	bool to_s = f == &l->fc;
	size_t off = 0;

	while (!f->head_done && off < n) {
		if (f->nstatus < 12)
			f->status[f->nstatus++] = (char)d[off];
		f->last4 = f->last4 << 8 | d[off++];
		f->head_done = f->last4 == 0x0d0a0d0a;   /* "\r\n\r\n" */
		/* a server that refused the upgrade sends a body, not frames */
		f->raw = f->head_done && !to_s && strncmp(f->status + 8, " 101", 4);
	}
	if (f->raw)
		off = n;
	put(l, to_s, d, off);
	while (off < n && l->cfd >= 0) {
		uint64_t plen;
		size_t need;

		if (f->skip) {
			size_t k = f->skip < n - off ? (size_t)f->skip : n - off;

			if (f->taking) {
				memcpy(f->ctl + f->clen, d + off, k);
				f->clen += k;
			} else {
				put(l, to_s, d + off, k);
			}
			f->skip -= k;
			off += k;
			if (!f->skip)
				frame_done(l, f);
			continue;
		}
		f->hdr[f->hlen++] = d[off++];
		if (f->hlen < 2)
			continue;
		plen = f->hdr[1] & 0x7f;
		need = 2 + (plen == 126 ? 2 : plen == 127 ? 8 : 0) + (f->hdr[1] & 0x80 ? 4 : 0);
		if (f->hlen < need)
			continue;
		if (plen == 126) {
			plen = (uint64_t)f->hdr[2] << 8 | f->hdr[3];
		} else if (plen == 127) {
			plen = 0;
			for (int k = 2; k < 10; k++)
				plen = plen << 8 | f->hdr[k];
		}
		/* a ping is a control frame: 125 bytes at most, so it fits;
		 * the server's frames are not masked */
		f->taking = !to_s && f->hdr[0] == 0x89 && f->hlen == 2 && plen <= 125;
		if (f->taking) {
			memcpy(f->ctl, f->hdr, f->hlen);
			f->clen = f->ctl_hdr = f->hlen;
		} else {
			put(l, to_s, f->hdr, f->hlen);
		}
		f->hlen = 0;
		f->skip = plen;
		if (!f->skip)
			frame_done(l, f);
	}
}

static void on_read(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rlink *l = w->data;
	bool from_c = w == &l->cr;
	ssize_t n = recv(w->fd, l->r->rbuf, sizeof(l->r->rbuf), 0);

	(void)loop;
	(void)revents;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		link_close(l);
		return;
	}
	follow(l, from_c ? &l->fc : &l->fs, l->r->rbuf, (size_t)n);
}

static void on_write(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rlink *l = w->data;
	bool to_s = w == &l->sw;
	struct obuf *b = to_s ? &l->to_s : &l->to_c;
	ssize_t k;

	(void)revents;
	if (to_s && l->connecting) {
		int e = 0;
		socklen_t el = sizeof(e);

		if (getsockopt(w->fd, SOL_SOCKET, SO_ERROR, &e, &el) || e) {
			link_close(l);
			return;
		}
		l->connecting = false;
	}
	if (b->len) {
		k = send(w->fd, b->d, b->len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0 && errno != EAGAIN && errno != EINTR) {
			link_close(l);
			return;
		}
		if (k > 0) {
			memmove(b->d, b->d + k, b->len - (size_t)k);
			b->len -= (size_t)k;
		}
	}
	if (!b->len)
		ev_io_stop(loop, w);
}

/* The member connected: connect to the server and start copying. */
static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rlink *l = w->data;
	int one = 1, fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

	(void)revents;
	if (fd < 0)
		return;
	/* one member, one connection: the listener is done */
	ev_io_stop(loop, w);
	close(w->fd);
	w->fd = -1;
	l->cfd = fd;
	const struct rdst *dst = &l->r->dst[l->node];

	l->sfd = socket(dst->a.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->sfd < 0) {
		link_close(l);
		return;
	}
	/* small frames that must not wait for each other, as on the way
	 * without the relay */
	setsockopt(l->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(l->sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (l->r->src && l->r->src->n && dst->a.ss_family == AF_INET) {
		struct sockaddr_in a = { .sin_family = AF_INET };

		/* the port is chosen at connect(), per destination, not here */
		setsockopt(l->sfd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (inet_pton(AF_INET, srcaddr_pick(l->r->src, l->i), &a.sin_addr) != 1 ||
		    bind(l->sfd, (struct sockaddr *)&a, sizeof(a))) {
			link_close(l);
			return;
		}
	}
	if (connect(l->sfd, (const struct sockaddr *)&dst->a, dst->len)) {
		if (errno != EINPROGRESS) {
			link_close(l);
			return;
		}
		l->connecting = true;
	}
	ev_io_init(&l->cr, on_read, l->cfd, EV_READ);
	ev_io_init(&l->cw, on_write, l->cfd, EV_WRITE);
	ev_io_init(&l->sr, on_read, l->sfd, EV_READ);
	ev_io_init(&l->sw, on_write, l->sfd, EV_WRITE);
	l->cr.data = l->cw.data = l->sr.data = l->sw.data = l;
	ev_io_start(loop, &l->cr);
	ev_io_start(loop, &l->sr);
	if (l->connecting)
		ev_io_start(loop, &l->sw);
}

/* The server's address and the URL's path prefix from url. */
static int parse_url(struct rdst *d, const char *url, char *err, size_t errlen)
{
	char host[300], port[8] = "80";
	const char *h, *end, *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai;
	size_t hl;
	int rc;

	if (strncmp(url, "ws://", 5)) {
		snprintf(err, errlen, "plain ws:// only (the server's pings are answered "
			 "through a relay, which cannot follow TLS), got '%s'", url);
		return -1;
	}
	h = url + 5;
	end = h + strcspn(h, "/");
	d->prefix = end;
	if (strlen(end) >= PREFIX_MAX)
		goto bad;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (!rb)
			goto bad;
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		hl = (size_t)(rb - h - 1);
		h++;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		hl = (size_t)((colon ? colon : end) - h);
	}
	if (!hl || hl >= sizeof(host))
		goto bad;
	memcpy(host, h, hl);
	host[hl] = 0;
	if (colon) {
		size_t pl = (size_t)(end - colon - 1);

		if (!pl || pl >= sizeof(port))
			goto bad;
		memcpy(port, colon + 1, pl);
		port[pl] = 0;
	}
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	memcpy(&d->a, ai->ai_addr, ai->ai_addrlen);
	d->len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
bad:
	snprintf(err, errlen, "expected ws://HOST:PORT, got '%s'", url);
	return -1;
}

/* Member l's listener on 127.0.0.1, an ephemeral port, and its URL. */
static int listen_one(struct relay *r, struct rlink *l)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1) ||
	    getsockname(fd, (struct sockaddr *)&a, &al)) {
		close(fd);
		return -1;
	}
	snprintf(l->url, sizeof(l->url), "ws://127.0.0.1:%u%s", ntohs(a.sin_port),
		 r->dst[l->node].prefix);
	ev_io_init(&l->lsn, on_accept, fd, EV_READ);
	l->lsn.data = l;
	ev_io_start(r->loop, &l->lsn);
	return 0;
}

struct relay *relay_new(struct ev_loop *loop, const char *const *urls, unsigned nurls,
			const struct srcaddr *src, unsigned n, relay_ping_fn on_ping, void *user,
			char *err, size_t errlen)
{
	struct relay *r = calloc(1, sizeof(*r));

	if (!r || !(r->l = calloc(n ? n : 1, sizeof(*r->l))) ||
	    !(r->dst = calloc(nurls ? nurls : 1, sizeof(*r->dst)))) {
		relay_free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = loop;
	r->on_ping = on_ping;
	r->src = src;
	r->user = user;
	for (unsigned k = 0; k < nurls; k++)
		if (parse_url(&r->dst[k], urls[k], err, errlen)) {
			relay_free(r);
			return NULL;
		}
	r->ndst = nurls;
	for (unsigned i = 0; i < n; i++) {
		struct rlink *l = &r->l[i];

		l->r = r;
		l->i = i;
		l->node = nurls ? i % nurls : 0;
		l->mask = 0x9e3779b9u * (i + 1);
		l->lsn.fd = l->cfd = l->sfd = -1;
		r->n = i + 1;
		if (listen_one(r, l)) {
			snprintf(err, errlen, "cannot listen on 127.0.0.1: %s", strerror(errno));
			relay_free(r);
			return NULL;
		}
	}
	return r;
}

int relay_reopen(struct relay *r, unsigned i)
{
	struct rlink *l = &r->l[i];

	link_close(l);
	/* a new connection: both heads to come, no frame half read */
	l->fc = l->fs = (struct follower){ 0 };
	l->connecting = false;
	return listen_one(r, l);
}

const char *relay_url(const struct relay *r, unsigned i)
{
	return r->l[i].url;
}

void relay_pong(struct relay *r, unsigned i, const unsigned char *payload, size_t len)
{
	struct rlink *l = &r->l[i];
	unsigned char f[RELAY_PONG_MAX];

	if (l->sfd < 0 || len > 125)
		return;
	/* masked, as a client must; the key need not be secret here */
	f[0] = 0x8a;
	f[1] = (unsigned char)(0x80 | len);
	memcpy(f + 2, &l->mask, 4);
	l->mask = l->mask * 1664525u + 1013904223u;
	for (size_t k = 0; k < len; k++)
		f[6 + k] = payload[k] ^ f[2 + k % 4];
	/* a frame of the member's is half written: after it */
	if (l->fc.skip) {
		if (obuf_add(&l->held, f, 6 + len))
			link_close(l);
		return;
	}
	put(l, true, f, 6 + len);
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n; i++)
		link_close(&r->l[i]);
	free(r->l);
	free(r->dst);
	free(r);
}
