/* cmd/revenge-bench/rawconn.c - WebSocket handshakes on plain sockets
 * (rawconn.h): the pool owns its sockets, their ev_io watchers, the
 * request template and one read buffer shared by every connection.
 *
 * A connection costs socket(), connect(), one send() of the whole request
 * (on loopback the handshake is usually done by the time connect()
 * returns; otherwise the request waits for EV_WRITE), and a recv() per
 * readable event; nothing is allocated unless a request or a response head
 * is split, which is rare. Keys are not stored: each is a function of the
 * pool's seed and the connection's number, made again to check the
 * answer.
 */
#include "rawconn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "revenge/client.h"
#include "revenge/proto.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define KEY_LEN 24                /* base64 of 16 bytes */
#define ACCEPT_LEN 28             /* base64 of a SHA-1 */
#define HOST_MAX 300
#define READ_MAX 16384            /* one recv() per readable event */
#define REQ_TAIL "\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " RV_SUBPROTOCOL "\r\n"
#define AUTH_HEAD "Authorization: Bearer "
#define TAIL_MAX (sizeof(REQ_TAIL) + sizeof(AUTH_HEAD) + RV_CLIENT_TOKEN_MAX + 4)
#define REQ_MAX (4 + RAWCONN_PATH_MAX + HOST_MAX + 128 + KEY_LEN + TAIL_MAX)

enum state {
	ST_FREE,
	ST_SENDING,                   /* the request is not all sent: buf holds the rest */
	ST_HANDSHAKE,                 /* waiting for the response head */
	ST_OPEN,                      /* held: what arrives is dropped */
};

struct rconn {
	ev_io io;                     /* first: the watcher is the connection; io.fd
				       * is the socket, io.data the pool */
	char *buf;                    /* ST_SENDING: the rest of the request;
				       * ST_HANDSHAKE: a split response head;
				       * ST_OPEN: a split ping's payload; else NULL
				       * (owned, RAWCONN_HEAD_MAX bytes) */
	uint16_t len;                 /* bytes in buf */
	uint8_t state;
	uint8_t hlen;                 /* bytes of a split frame header in hdr */
	uint8_t hdr[14];              /* 2, 2 or 8 length, 4 mask */
	uint64_t skip;                /* payload bytes still to drop */
};

struct rawconn_pool {
	struct ev_loop *loop;
	struct rawconn_callbacks cb;
	void *user;
	unsigned n;
	struct rconn *c;              /* n of them */
	struct sockaddr_storage dst;
	socklen_t dstlen;
	struct sockaddr_in *src;      /* nsrc of them, round-robin by number */
	unsigned nsrc;
	char prefix[RAWCONN_PATH_MAX]; /* the URL's own path, mostly "" */
	size_t prefix_len;
	char mid[HOST_MAX + 128];     /* " HTTP/1.1\r\nHost: ...Sec-WebSocket-Key: " */
	size_t mid_len;
	char tail[TAIL_MAX];          /* REQ_TAIL, the token's header, the blank line */
	size_t tail_len;
	uint64_t seed;
	/* SHA-1 fetched once, one context reused: OpenSSL 3's one-shot SHA1()
	 * fetches the digest under a lock and allocates a context per call */
	EVP_MD *sha1_owned;           /* OpenSSL 3: ours to free */
	const EVP_MD *sha1;
	EVP_MD_CTX *md;
	unsigned char rbuf[READ_MAX];
};

/* splitmix64: 16 random-looking key bytes from a counter, no state. */
static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* Connection i's Sec-WebSocket-Key, KEY_LEN characters and a NUL. */
static void make_key(const struct rawconn_pool *p, unsigned i, char out[KEY_LEN + 1])
{
	uint64_t a = mix(p->seed ^ i), b = mix(a);
	unsigned char raw[16];

	memcpy(raw, &a, 8);
	memcpy(raw + 8, &b, 8);
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof(raw));
}

/* The Sec-WebSocket-Accept the server owes connection i, ACCEPT_LEN
 * characters and a NUL (RFC 6455 section 4.2.2); an empty string when
 * libcrypto fails, which no answer matches. */
static void make_accept(const struct rawconn_pool *p, unsigned i, char out[ACCEPT_LEN + 1])
{
	char in[KEY_LEN + 1 + sizeof(WS_GUID)];
	unsigned char md[SHA_DIGEST_LENGTH];

	make_key(p, i, in);
	memcpy(in + KEY_LEN, WS_GUID, sizeof(WS_GUID));
	out[0] = 0;
	if (EVP_DigestInit_ex(p->md, p->sha1, NULL) &&
	    EVP_DigestUpdate(p->md, in, KEY_LEN + sizeof(WS_GUID) - 1) &&
	    EVP_DigestFinal_ex(p->md, md, NULL))
		EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
}

/* Close connection i's socket and free what it holds, with no callback. */
static void release(struct rawconn_pool *p, struct rconn *c)
{
	ev_io_stop(p->loop, &c->io);
	close(c->io.fd);
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	c->hlen = 0;
	c->skip = 0;
	c->state = ST_FREE;
}

/* End connection c, then tell the caller, who may reuse the slot. */
static void conn_end(struct rawconn_pool *p, struct rconn *c, enum rawconn_end how,
		     const char *fmt, const char *arg)
{
	char reason[200];
	unsigned i = (unsigned)(c - p->c);

	snprintf(reason, sizeof(reason), fmt, arg);
	release(p, c);
	p->cb.end(i, how, reason, p->user);
}

/* Wait for what state needs next: EV_WRITE to send, else EV_READ. */
static void watch(struct rawconn_pool *p, struct rconn *c, int events)
{
	ev_io_stop(p->loop, &c->io);
	ev_io_set(&c->io, c->io.fd, events);
	ev_io_start(p->loop, &c->io);
}

/* Why a response head (len bytes, the blank line included) does not
 * complete connection i's handshake, in reason; NULL when it does. */
static const char *check_head(const struct rawconn_pool *p, unsigned i, const char *h, size_t len,
			      char *reason, size_t rlen)
{
	char want[ACCEPT_LEN + 1];
	const char *line, *end = h + len, *eol;
	int status;

	if (len < 13 || memcmp(h, "HTTP/1.", 7) || h[8] != ' ' || h[9] < '1' || h[9] > '5' ||
	    h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9') {
		snprintf(reason, rlen, "refused: not an HTTP response");
		return reason;
	}
	status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
	if (status != 101) {
		snprintf(reason, rlen, "refused: HTTP %d", status);
		return reason;
	}
	make_accept(p, i, want);
	/* one header a line; the head ends in a blank line, so every line has
	 * its CRLF and the walk ends there */
	for (line = memmem(h, len, "\r\n", 2) + 2; line < end; line = eol + 2) {
		const char *v;

		eol = memmem(line, (size_t)(end - line), "\r\n", 2);
		if (!eol || eol == line)
			break;
		if (eol - line < 21 || strncasecmp(line, "Sec-WebSocket-Accept:", 21))
			continue;
		for (v = line + 21; v < eol && (*v == ' ' || *v == '\t'); v++)
			;
		while (eol > v && (eol[-1] == ' ' || eol[-1] == '\t'))
			eol--;
		if (eol - v == ACCEPT_LEN && !memcmp(v, want, ACCEPT_LEN))
			return NULL;
		snprintf(reason, rlen, "refused: wrong Sec-WebSocket-Accept");
		return reason;
	}
	snprintf(reason, rlen, "refused: no Sec-WebSocket-Accept");
	return reason;
}

/* Answer a ping: a pong with its payload (at most 125 bytes), masked as
 * a client must. Best effort: a pong that does not fit the socket's buffer
 * is dropped, and an error shows at the next read. */
static void pong(struct rawconn_pool *p, struct rconn *c, const unsigned char *d, size_t n)
{
	unsigned char f[6 + 125];
	uint32_t mask = (uint32_t)mix(p->seed + (uint64_t)c->io.fd);

	f[0] = 0x8a;
	f[1] = (unsigned char)(0x80 | n);
	memcpy(f + 2, &mask, 4);
	for (size_t k = 0; k < n; k++)
		f[6 + k] = d[k] ^ f[2 + k % 4];
	(void)send(c->io.fd, f, 6 + n, MSG_NOSIGNAL | MSG_DONTWAIT);
}

/* Drop the server's frames in d, answering pings; true when one is a
 * close frame, its code in *code (0 when it has none or it is not in d). A
 * header split across reads waits in c->hdr, a split ping's payload in
 * c->buf. Each turn consumes at least one byte. */
static bool drop_frames(struct rawconn_pool *p, struct rconn *c, const unsigned char *d,
			size_t n, int *code)
{
	size_t off = 0;

	while (off < n) {
		uint64_t plen;
		size_t need;
		int op;

		if (c->skip) {
			size_t k = c->skip < n - off ? (size_t)c->skip : n - off;

			if (c->buf) {
				memcpy(c->buf + c->len, d + off, k);
				c->len = (uint16_t)(c->len + k);
			}
			c->skip -= k;
			off += k;
			if (!c->skip && c->buf) {
				pong(p, c, (unsigned char *)c->buf, c->len);
				free(c->buf);
				c->buf = NULL;
				c->len = 0;
			}
			continue;
		}
		c->hdr[c->hlen++] = d[off++];
		if (c->hlen < 2)
			continue;
		plen = c->hdr[1] & 0x7f;
		need = 2 + (plen == 126 ? 2 : plen == 127 ? 8 : 0) + (c->hdr[1] & 0x80 ? 4 : 0);
		if (c->hlen < need)
			continue;
		if (plen == 126) {
			plen = (uint64_t)c->hdr[2] << 8 | c->hdr[3];
		} else if (plen == 127) {
			plen = 0;
			for (int k = 2; k < 10; k++)
				plen = plen << 8 | c->hdr[k];
		}
		c->hlen = 0;
		op = c->hdr[0] & 0x0f;
		if (op == 0x8) {
			*code = plen >= 2 && n - off >= 2 ? d[off] << 8 | d[off + 1] : 0;
			return true;
		}
		if (op == 0x9 && plen <= 125) {
			if (n - off >= plen)
				pong(p, c, d + off, (size_t)plen);
			else
				c->buf = malloc(RAWCONN_HEAD_MAX);   /* NULL: no answer */
		}
		c->skip = plen;
	}
	return false;
}

/* Held: what arrived is dropped; a close frame ends the connection. */
static void on_frames(struct rawconn_pool *p, struct rconn *c, const unsigned char *d, size_t n)
{
	char code[16];
	int cc = 0;

	if (!drop_frames(p, c, d, n, &cc))
		return;
	if (cc)
		snprintf(code, sizeof(code), "%d", cc);
	else
		snprintf(code, sizeof(code), "no code");
	conn_end(p, c, RAWCONN_CLOSED, "closed by server: close frame, %s", code);
}

/* Waiting for the response head: n more bytes in p->rbuf. On the usual
 * path the whole head is in this one read and nothing is copied. */
static void on_head(struct rawconn_pool *p, struct rconn *c, size_t n)
{
	char reason[200];
	const char *head = (const char *)p->rbuf, *e, *why;
	size_t hlen, past;   /* the head's length; where this read's rest starts */
	unsigned i = (unsigned)(c - p->c);

	if (!c->buf) {
		e = memmem(head, n, "\r\n\r\n", 4);
		if (e && e - head + 4 > RAWCONN_HEAD_MAX) {
			conn_end(p, c, RAWCONN_FAILED, "refused: %s", "response head over 4 KiB");
			return;
		} else if (e) {
			hlen = past = (size_t)(e - head) + 4;
		} else if (n >= RAWCONN_HEAD_MAX) {
			conn_end(p, c, RAWCONN_FAILED, "refused: %s", "response head over 4 KiB");
			return;
		} else if (!(c->buf = malloc(RAWCONN_HEAD_MAX))) {
			conn_end(p, c, RAWCONN_FAILED, "cannot connect: %s", "out of memory");
			return;
		} else {
			memcpy(c->buf, head, n);
			c->len = (uint16_t)n;
			return;
		}
	} else {
		size_t old = c->len, k = n < RAWCONN_HEAD_MAX - old ? n : RAWCONN_HEAD_MAX - old;
		size_t from = old > 3 ? old - 3 : 0;

		memcpy(c->buf + old, head, k);
		c->len = (uint16_t)(old + k);
		e = memmem(c->buf + from, c->len - from, "\r\n\r\n", 4);
		if (!e) {
			if (c->len >= RAWCONN_HEAD_MAX)
				conn_end(p, c, RAWCONN_FAILED, "refused: %s", "response head over 4 KiB");
			return;
		}
		head = c->buf;
		hlen = (size_t)(e - c->buf) + 4;
		past = hlen - old;
	}
	why = check_head(p, i, head, hlen, reason, sizeof(reason));
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	if (why) {
		conn_end(p, c, RAWCONN_FAILED, "%s", why);
		return;
	}
	c->state = ST_OPEN;
	p->cb.open(i, p->user);
	/* the callback may not free the pool, but the frames may end c */
	if (c->state == ST_OPEN && past < n)
		on_frames(p, c, p->rbuf + past, n - past);
}

/* Send what is left of the request; then wait for the answer. */
static void send_rest(struct rawconn_pool *p, struct rconn *c)
{
	ssize_t k = send(c->io.fd, c->buf, c->len, MSG_NOSIGNAL);

	if (k < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_end(p, c, RAWCONN_FAILED, "cannot connect: %s", strerror(errno));
		return;
	}
	if ((size_t)k < c->len) {
		memmove(c->buf, c->buf + k, c->len - (size_t)k);
		c->len = (uint16_t)(c->len - (size_t)k);
		return;
	}
	free(c->buf);
	c->buf = NULL;
	c->len = 0;
	c->state = ST_HANDSHAKE;
	watch(p, c, EV_READ);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rconn *c = (struct rconn *)w;
	struct rawconn_pool *p = w->data;
	ssize_t n;

	if (c->state == ST_SENDING) {
		send_rest(p, c);
		return;
	}
	n = recv(w->fd, p->rbuf, sizeof(p->rbuf), 0);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (c->state == ST_OPEN)
			conn_end(p, c, RAWCONN_CLOSED, "closed by server: %s",
			    n ? strerror(errno) : "end of stream without a close frame");
		else
			conn_end(p, c, RAWCONN_FAILED, n ? "cannot connect: %s" : "refused: %s",
			    n ? strerror(errno) : "closed before the response head");
		return;
	}
	if (c->state == ST_HANDSHAKE)
		on_head(p, c, (size_t)n);
	else
		on_frames(p, c, p->rbuf, (size_t)n);
}

int rawconn_open(struct rawconn_pool *p, unsigned i, const char *path)
{
	char req[REQ_MAX], *q = req;
	size_t plen = strlen(path), len;
	struct rconn *c;
	ssize_t k;
	int fd, e;

	if (i >= p->n || p->c[i].state != ST_FREE)
		return -EINVAL;
	if (p->prefix_len + plen >= RAWCONN_PATH_MAX)
		return -ENAMETOOLONG;
	c = &p->c[i];
	memcpy(q, "GET ", 4);
	q += 4;
	memcpy(q, p->prefix, p->prefix_len);
	q += p->prefix_len;
	memcpy(q, path, plen);
	q += plen;
	memcpy(q, p->mid, p->mid_len);
	q += p->mid_len;
	make_key(p, i, q);
	q += KEY_LEN;
	memcpy(q, p->tail, p->tail_len);
	len = (size_t)(q - req) + p->tail_len;

	fd = socket(p->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (p->nsrc) {
		int one = 1;

		/* the port is chosen at connect(), per destination, not here */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)&p->src[i % p->nsrc], sizeof(p->src[0])))
			goto fail;
	}
	if (connect(fd, (const struct sockaddr *)&p->dst, p->dstlen) && errno != EINPROGRESS)
		goto fail;
	/* Still connecting, send() says EAGAIN; refused, it says so. */
	k = send(fd, req, len, MSG_NOSIGNAL);
	if (k < 0 && errno != EAGAIN)
		goto fail;
	ev_io_init(&c->io, on_io, fd, EV_READ);
	c->io.data = p;
	if (k < 0 || (size_t)k < len) {
		size_t sent = k < 0 ? 0 : (size_t)k;

		c->buf = malloc(len - sent);
		if (!c->buf) {
			errno = ENOMEM;
			goto fail;
		}
		memcpy(c->buf, req + sent, len - sent);
		c->len = (uint16_t)(len - sent);
		ev_io_set(&c->io, fd, EV_WRITE);
	}
	c->state = c->buf ? ST_SENDING : ST_HANDSHAKE;
	ev_io_start(p->loop, &c->io);
	return 0;
fail:
	e = errno;
	close(fd);
	return -e;
}

/* Split url into the destination, the Host header and the path prefix. */
static int parse_url(struct rawconn_pool *p, const char *url, char *host, char *port,
		     char *err, size_t errlen)
{
	const char *h, *slash, *colon = NULL, *name = NULL;
	size_t hl, nl;

	if (strncmp(url, "ws://", 5)) {
		snprintf(err, errlen, "plain ws:// only, got '%s'", url);
		return -1;
	}
	h = url + 5;
	slash = strchr(h, '/');
	hl = slash ? (size_t)(slash - h) : strlen(h);
	if (!hl || hl >= HOST_MAX) {
		snprintf(err, errlen, "no host, or too long a one, in '%s'", url);
		return -1;
	}
	if (*h == '[') {
		const char *rb = memchr(h, ']', hl);

		if (!rb || (rb + 1 < h + hl && rb[1] != ':'))
			goto bad;
		name = h + 1;
		nl = (size_t)(rb - name);
		colon = rb + 1 < h + hl ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', hl);
		name = h;
		nl = colon ? (size_t)(colon - h) : hl;
	}
	if (!nl)
		goto bad;
	memcpy(host, name, nl);
	host[nl] = 0;
	if (colon) {
		size_t pl = (size_t)(h + hl - colon - 1);
		char *end;
		unsigned long v;

		if (!pl || pl > 5 || strspn(colon + 1, "0123456789") < pl)
			goto bad;
		memcpy(port, colon + 1, pl);
		port[pl] = 0;
		v = strtoul(port, &end, 10);
		if (!v || v > 65535)
			goto bad;
	} else {
		strcpy(port, "80");
	}
	p->mid_len = (size_t)snprintf(p->mid, sizeof(p->mid), " HTTP/1.1\r\nHost: %.*s\r\n"
				      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
				      "Sec-WebSocket-Key: ", (int)hl, h);
	p->prefix_len = slash ? strlen(slash) : 0;
	if (p->prefix_len >= sizeof(p->prefix) / 2) {
		snprintf(err, errlen, "too long a path in '%s'", url);
		return -1;
	}
	memcpy(p->prefix, slash ? slash : "", p->prefix_len);
	return 0;
bad:
	snprintf(err, errlen, "expected ws://HOST:PORT, got '%s'", url);
	return -1;
}

struct rawconn_pool *rawconn_new(struct ev_loop *loop, const char *url, const struct srcaddr *src,
				 const char *token, unsigned n, const struct rawconn_callbacks *cb,
				 void *user, char *err, size_t errlen)
{
	struct rawconn_pool *p = calloc(1, sizeof(*p));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV }, *ai = NULL;
	char host[HOST_MAX], port[8];
	struct timespec ts;
	int rc;

	if (!p || !(p->c = calloc(n ? n : 1, sizeof(*p->c)))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	p->loop = loop;
	p->cb = *cb;
	p->user = user;
	p->n = n;
	if (parse_url(p, url, host, port, err, errlen))
		goto fail;
	if (token && !rv_client_token_valid(token)) {
		snprintf(err, errlen, "not a token");
		goto fail;
	}
	p->tail_len = (size_t)snprintf(p->tail, sizeof(p->tail), REQ_TAIL "%s%s%s\r\n",
				       token ? AUTH_HEAD : "", token ? token : "",
				       token ? "\r\n" : "");
	p->nsrc = src ? src->n : 0;
	/* --src addresses are IPv4: so must the server's be */
	hints.ai_family = p->nsrc ? AF_INET : AF_UNSPEC;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		goto fail;
	}
	memcpy(&p->dst, ai->ai_addr, ai->ai_addrlen);
	p->dstlen = ai->ai_addrlen;
	freeaddrinfo(ai);
	if (p->nsrc) {
		p->src = calloc(p->nsrc, sizeof(*p->src));
		if (!p->src) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (unsigned k = 0; k < p->nsrc; k++) {
			p->src[k].sin_family = AF_INET;
			if (inet_pton(AF_INET, srcaddr_pick(src, k), &p->src[k].sin_addr) != 1) {
				snprintf(err, errlen, "bad source address '%s'", srcaddr_pick(src, k));
				goto fail;
			}
		}
	}
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	p->sha1 = p->sha1_owned = EVP_MD_fetch(NULL, "SHA1", NULL);
#else
	p->sha1 = EVP_sha1();
#endif
	p->md = EVP_MD_CTX_new();
	if (!p->sha1 || !p->md) {
		snprintf(err, errlen, "libcrypto has no SHA-1");
		goto fail;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	p->seed = mix((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ (uint64_t)getpid();
	return p;
fail:
	rawconn_free(p);
	return NULL;
}

void rawconn_free(struct rawconn_pool *p)
{
	if (!p)
		return;
	for (unsigned i = 0; p->c && i < p->n; i++)
		if (p->c[i].state != ST_FREE)
			release(p, &p->c[i]);
	free(p->c);
	free(p->src);
	explicit_bzero(p->tail, sizeof(p->tail));
	EVP_MD_CTX_free(p->md);
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MD_free(p->sha1_owned);
#endif
	free(p);
}
