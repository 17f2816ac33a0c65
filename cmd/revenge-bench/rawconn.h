/* cmd/revenge-bench/rawconn.h - WebSocket handshakes without
 * libwebsockets, for `connect --raw`.
 *
 * The libwebsockets 4.1.6 client, as Debian builds it, tops out near
 * 13,000 handshakes a second on one core whatever the server: it, not the
 * server, would be measured. A pool drives its connections on the caller's
 * libev loop with one ev_io each: a non-blocking socket, bind() to a --src
 * address, connect(), a prebuilt HTTP/1.1 upgrade request (with the
 * token's Authorization header when there is one), the response
 * head read up to its blank line (at most RAWCONN_HEAD_MAX bytes) and
 * checked (status 101, Sec-WebSocket-Accept), and then, while held,
 * whatever the server sends read and dropped, frame headers followed only
 * far enough to notice a close frame and to answer pings (so a server's
 * keep-alive does not drop a long hold). Plain ws:// only; nothing else is
 * sent.
 */
#ifndef REVENGE_BENCH_RAWCONN_H
#define REVENGE_BENCH_RAWCONN_H

#include <stddef.h>

#include <ev.h>

#include "srcaddr.h"

#define RAWCONN_HEAD_MAX 4096     /* a longer response head fails the handshake */
#define RAWCONN_PATH_MAX 1024     /* the URL's own path and rawconn_open's, together */

enum rawconn_end {
	RAWCONN_FAILED,               /* the handshake did not complete */
	RAWCONN_CLOSED,               /* opened, then closed by the server */
};

/* Called from the loop. They may call rawconn_open, never rawconn_free. */
struct rawconn_callbacks {
	/* Connection i got its 101 with the right Sec-WebSocket-Accept. */
	void (*open)(unsigned i, void *user);
	/* Connection i is over (its socket is closed, the slot free for
	 * rawconn_open again); reason says why, borrowed for the call:
	 * "cannot connect: ...", "refused: HTTP 503", "closed by server: ...". */
	void (*end)(unsigned i, enum rawconn_end how, const char *reason, void *user);
};

struct rawconn_pool;

/* A pool of n connections to url (ws://HOST[:PORT][/PREFIX]; HOST resolved
 * here, once, blocking), bound round-robin to src's addresses (NULL or
 * empty: the kernel picks), each sending "Authorization: Bearer token"
 * (token NULL: none; one rv_client_token_valid refuses fails the pool;
 * copied, never in err). cb and user are kept for every callback; loop,
 * cb and src must outlive the pool. Returns the pool, or NULL with a
 * message in err. */
struct rawconn_pool *rawconn_new(struct ev_loop *loop, const char *url, const struct srcaddr *src,
				 const char *token, unsigned n, const struct rawconn_callbacks *cb,
				 void *user, char *err, size_t errlen);

/* Start connection i (i < n, not in use) to the URL's path followed by
 * path ("/ws/party/x"): its callbacks come later, from the loop. Returns 0,
 * or a negative errno (EMFILE at the open-file limit, EADDRNOTAVAIL out of
 * ports, ECONNREFUSED...) and then no callback is ever called for this
 * attempt. */
int rawconn_open(struct rawconn_pool *p, unsigned i, const char *path);

/* Close every connection, with no callback, and free the pool. NULL-safe. */
void rawconn_free(struct rawconn_pool *p);

#endif
