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

/* An Origin header's value as RFC 6454 serializes it: scheme "://" host
 * [":" port]. scheme and host are lowercased; an IPv6 host is kept without
 * its brackets (ipv6 set); port is the one given, else the scheme's
 * default (80 for http/ws, 443 for https/wss, else 0). */
struct rv__origin {
	char scheme[32];
	char host[256];
	unsigned port;
	bool port_given;
	bool ipv6;
};

/* Parse s (NUL-terminated) into o: 0, or -1 when s is no serialized origin
 * ("null", userinfo, a path, query or fragment, an empty or out-of-range
 * port, a bad IPv6 literal, a host character outside letters, digits, '-'
 * and '.', an overlong scheme or host). */
int rv__request_origin_parse(const char *s, struct rv__origin *o);

/* True when origin (the Origin header's value) parses (see above) and
 * matches one of the n patterns, or one of the loopback defaults
 * (localhost:*, 127.0.0.1:*, [::1]:*) when n is 0. A pattern is
 * [scheme://]host[:port]: scheme and host are shell wildcards (fnmatch,
 * case-insensitive), except a bracketed IPv6 host, compared as an address;
 * port is "*" (any, or none), a wildcard over the digits, or absent (the
 * scheme's default port only). A pattern that does not parse matches
 * nothing. */
bool rv__request_origin_allowed(const char *const *patterns, unsigned n, const char *origin);

/* The Host header of a plain HTTP request (/healthz, /metrics), against
 * DNS rebinding: a page on a name the attacker's DNS points at this server
 * would otherwise be same-origin with it. 0 when host is absent or empty,
 * an IP address (no DNS involved), localhost or a *.localhost name,
 * listen_host (the --listen host; NULL: none), or a name matching one of
 * the n patterns (shell wildcards, case-insensitive; the port is not
 * compared); 400 with why when it is no host[:port]; else 421 with why. */
int rv__request_host_check(const char *const *patterns, unsigned n, const char *listen_host,
			   const char *host, char *why, size_t why_len);

/* The first n bytes a client sent (the listener peeks them, not read):
 * 431 with why when the request head (up to the blank line, or all n bytes
 * when there is none yet) is over max bytes or holds more than max_fields
 * header lines, 400 with why when the request line's target holds "%00",
 * else 0 (nothing to say yet; lws reads it). */
int rv__request_head_check(const char *buf, size_t n, size_t max, unsigned max_fields,
			   char *why, size_t why_len);

#endif
