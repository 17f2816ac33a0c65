/* cmd/revenge-bench/relay.h - a loopback relay per `revenge-bench sync`
 * member that answers the server's pings for the member when the caller
 * says, so that ping and pong can cross the member's simulated path.
 *
 * Why: the server measures each member's round trip with WebSocket pings
 * (lib/ep_party.c) and sets its lead from it. libwebsockets' client
 * answers a ping by itself, at once, with no hook to hold the answer, so
 * a bench whose members sit behind an in-process delay (delay.h) would
 * show the server loopback round trips and the lead would stay at its
 * floor, unlike behind a real path where ping and pong are delayed too.
 * (It also pongs late at times: its libev glue may wait for other socket
 * activity to write it.)
 *
 * Each relay listens on 127.0.0.1 (an ephemeral port) for the one
 * connection of its member, connects to the server and copies bytes both
 * ways, following the frames after each side's handshake head. It takes
 * the server's pings out of the stream (the member never sees them): the
 * caller gets each payload, carries it through the member's path and
 * calls relay_pong, which writes the pong between two of the member's
 * frames. Plain ws:// only: TLS cannot be followed.
 */
#ifndef REVENGE_BENCH_RELAY_H
#define REVENGE_BENCH_RELAY_H

#include <stddef.h>

#include <ev.h>

#include "srcaddr.h"

#define RELAY_PONG_MAX (2 + 4 + 125)   /* a masked control frame, whole */

/* A ping from the server to member i, its payload (len <= 125 bytes)
 * borrowed for the call; it is not passed on. */
typedef void (*relay_ping_fn)(void *user, unsigned i, const unsigned char *payload, size_t len);

struct relay;

/* n relays on loop, which must outlive them, relay i connecting to
 * urls[i % nurls] (each ws://HOST[:PORT][/PREFIX]; HOST resolved here,
 * once, blocking; the urls must outlive the relays) from src's address i
 * round-robin (NULL or empty: the kernel picks; src must outlive them
 * too). Returns them, or NULL with a message in err. */
struct relay *relay_new(struct ev_loop *loop, const char *const *urls, unsigned nurls,
			const struct srcaddr *src, unsigned n, relay_ping_fn on_ping, void *user,
			char *err, size_t errlen);

/* Close member i's relay, if open, and listen anew for the member's next
 * connection (to the same server), on a new port: relay_url changes.
 * 0, or -1 when it cannot listen. */
int relay_reopen(struct relay *r, unsigned i);

/* The URL member i connects to instead of the server's:
 * "ws://127.0.0.1:PORT" and the prefix; owned by r. */
const char *relay_url(const struct relay *r, unsigned i);

/* Answer a ping of member i's with its payload (len <= 125 bytes): a
 * pong to the server, after the frame the member is writing, if any.
 * Dropped when the connection is gone or out of memory. */
void relay_pong(struct relay *r, unsigned i, const unsigned char *payload, size_t len);

/* Close everything, with no callback, and free r. NULL-safe. */
void relay_free(struct relay *r);

#endif
