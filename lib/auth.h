/* lib/auth.h - internal: connection tokens at the server's door and for
 * the life of a connection.
 *
 * auth.c finds a request's token (Authorization: Bearer, or ?token=),
 * verifies it with the
 * server's key (token.c), checks that it opens the endpoint's id, keeps
 * what the connection needs of it (the subject, the id, the expiry), closes
 * the connection with 4401 when it expires, and applies `refresh`. With no
 * key configured the server is open and none of this applies.
 */
#ifndef REVENGE_AUTH_H
#define REVENGE_AUTH_H

#include <stddef.h>

#include <libwebsockets.h>

#include "revenge/proto.h"
#include "revenge/token.h"

#include "endpoint.h"

struct rv__conn;
struct rv__hub;

/* The close code of a connection whose token expired (documented in
 * docs/protocol.md; 4000-4999 are the application's). */
#define RV__CLOSE_TOKEN_EXPIRED 4401

/* What a connection keeps of its token; owned by the connection. */
struct rv__auth;

/* Check the request's token against the server's key: 0 with r->claims
 * pointing at claims (filled) or NULL when the server is open; else the
 * HTTP status to refuse with (401: missing, bad, expired; 403: it does not
 * open r's id) and a reason in why. Counted in the metrics. */
int rv__auth_check(struct rv__hub *hub, struct lws *wsi, struct rv__request *r,
		   struct rv_token_claims *claims, char *why, size_t why_len);

/* Keep what c needs of r's verified token and arm its expiry: 0, or
 * RV_ENOMEM. Nothing to do for an open server (r->claims NULL). */
int rv__auth_attach(struct rv__conn *c, const struct rv__request *r);

/* Forget c's token: stop its timer, free what attach made. NULL-safe. */
void rv__auth_detach(struct rv__conn *c);

/* Apply a `refresh` message: a valid token for the same subject that still
 * opens the connection's id replaces the old one (ack); anything else is
 * answered with `unauthorized` and the old token stands. */
void rv__auth_refresh(struct rv__conn *c, const struct rv_msg *m);

#endif
