/* lib/request.h - internal: the pure half of a WebSocket handshake.
 *
 * Which endpoint a request path names and with what id, what its query
 * arguments say, and whether its Origin is allowed: decided from plain
 * strings, with no I/O. server.c copies the pieces out of lws and refuses
 * with the status these return; the fuzzer feeds them arbitrary bytes.
 */
#ifndef REVENGE_REQUEST_H
#define REVENGE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "endpoint.h"

/* Route uri (the path, without the query) to its endpoint and id: 0 with r
 * filled and its arguments zeroed, or the HTTP status to refuse with (400,
 * 404) and a reason in why. */
int rv__request_route(const char *uri, struct rv__request *r, char *why, size_t why_len);

/* Apply one query argument "key=value" (len bytes, as lws split and
 * decoded it) to r, routed: "token" for every endpoint (kept in r->token
 * for auth.c), the rest by the endpoint's query. 0, or the status to
 * refuse with and why. */
int rv__request_arg(struct rv__request *r, const char *arg, size_t len,
		    char *why, size_t why_len);

/* True when origin (the Origin header's value) matches one of the n
 * patterns, or one of the loopback defaults when n is 0: "localhost:*"
 * matches the origin's host[:port] (":*" also matches no port at all); a
 * pattern with "://" matches the whole origin (fnmatch). */
bool rv__request_origin_allowed(const char *const *patterns, unsigned n, const char *origin);

#endif
