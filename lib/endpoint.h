/* lib/endpoint.h - internal: the endpoint interface, the unit that the
 * server is extended by.
 *
 * An endpoint is one WebSocket path ("/ws/party/{id}") and everything that
 * happens on it: its server-wide state (start/stop), the query arguments
 * its handshake takes, and what it does with a connection that opens,
 * sends a message, or closes. It reaches the rest of the server only
 * through the hub and the connection's send path (conn.h); the server
 * reaches it only through the table in endpoints.c. Adding an endpoint is
 * one new file lib/ep_NAME.c and one line in that table.
 */
#ifndef REVENGE_ENDPOINT_H
#define REVENGE_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "revenge/proto.h"
#include "revenge/token.h"

struct rv__conn;
struct rv__hub;
struct rv__endpoint;

/* Bytes an endpoint may keep from its query arguments (RV__REQUEST_ARGS). */
#define RV__REQUEST_ARGS_MAX 192

/* What the handshake read from the request line. */
struct rv__request {
	const struct rv__endpoint *endpoint;
	unsigned index;                         /* the endpoint's row in the table */
	char id[RV_ID_MAX + 1];                 /* party or session id */
	char token[RV_TOKEN_MAX + 1];           /* the connection token, if sent */
	size_t token_len;
	char peer[48];                          /* the client's address, "" if unknown */
	/* The verified token's claims (auth.c); NULL on an open server. */
	const struct rv_token_claims *claims;
	/* The endpoint's parsed query arguments, zeroed before the first:
	 * each endpoint reads it as a struct of its own, which it asserts
	 * is at most RV__REQUEST_ARGS_MAX bytes. */
	union {
		max_align_t align;
		unsigned char bytes[RV__REQUEST_ARGS_MAX];
	} args;
};


/* Who asks: the verified token's subject, "" on an open server. Borrowed
 * from r. Sessions belong to it. */
static inline const char *rv__request_owner(const struct rv__request *r)
{
	return r->claims ? r->claims->sub : "";
}

/* The key a session of r's id is kept under in a table, into buf (at
 * least RV__SESSION_KEY_MAX bytes): the id itself for the owner "", else
 * owner "\n" id (an id has no newline), so owners never share a session. */
#define RV__SESSION_KEY_MAX (RV_TOKEN_SUB_MAX + 1 + RV_ID_MAX + 1)
static inline void rv__session_key(const char *owner, const char *id, char *buf)
{
	if (*owner)
		snprintf(buf, RV__SESSION_KEY_MAX, "%s\n%s", owner, id);
	else
		snprintf(buf, RV__SESSION_KEY_MAX, "%s", id);
}

static inline void rv__request_session_key(const struct rv__request *r, char *buf)
{
	rv__session_key(rv__request_owner(r), r->id, buf);
}

struct rv__endpoint {
	const char *name;       /* metrics label and log word: "party" */
	const char *path;       /* "/ws/party": the id follows a '/' */
	size_t conn_size;       /* per-connection state at rv__conn_ep(c), zeroed */
	enum rv_token_scope scope; /* the token claim that opens its ids */
	/* The endpoint's server-wide state: 0 with *state set, or RV_E*.
	 * NULL: it keeps none. */
	int (*start)(struct rv__hub *hub, void **state);
	/* Free what start made, after the last connection is gone. NULL-safe
	 * on state; NULL: nothing to free. */
	void (*stop)(void *state);
	/* Check one query argument "key=value" of len bytes: 0, or fill why
	 * and return an HTTP status (400). Unknown keys are ignored. NULL:
	 * the endpoint takes none. */
	int (*query)(const char *arg, size_t len, struct rv__request *r,
		     char *why, size_t why_len);
	/* Would open accept r now? Asked at the handshake, after the path,
	 * query and token are checked, so that a cap refuses with an HTTP
	 * status rather than an accepted-then-closed WebSocket: 0, or fill
	 * why (one line naming the cap) and return the status: 503 for a
	 * cap, 429 for a rate, with *retry_s set to the seconds for its
	 * Retry-After. NULL: always. */
	int (*admit)(void *state, const struct rv__request *r, char *why, size_t why_len,
		     unsigned *retry_s);
	/* The handshake completed: 0; RV_EFULL when a cap was reached since
	 * admit said yes (closed 1013 "try again later"); any other
	 * negative to close with 1011. */
	int (*open)(void *state, struct rv__conn *c, const struct rv__request *r);
	/* A decoded message other than "time" (answered for every endpoint
	 * by the server), with its server time of receipt. */
	void (*message)(void *state, struct rv__conn *c, const struct rv_msg *m, double now);
	/* The connection is gone: forget it. */
	void (*close)(void *state, struct rv__conn *c);
	/* A pong came with payload (len <= 125 bytes), read at server time
	 * now: the answer to a ping the endpoint sent (rv__conn_ping), or
	 * anything else (keep-alive pongs, unsolicited ones) to ignore. NULL:
	 * pongs are not looked at. */
	void (*pong)(void *state, struct rv__conn *c, const unsigned char *data, size_t len,
		     double now);
};

/* The table (endpoints.c), in the order paths are matched. */
extern const struct rv__endpoint *const rv__endpoints[];
extern const unsigned rv__n_endpoints;

#endif
