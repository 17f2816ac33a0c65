/* lib/admin.h - internal: the admin API, served on the --metrics-listen
 * address only (docs/admin.md).
 *
 *   GET  /admin/parties                             the live parties
 *   GET  /admin/parties/{id}                        one, with its members
 *   POST /admin/parties/{id}/close                  close every member
 *   POST /admin/parties/{id}/members/{member}/remove  close one member
 *
 * Each request carries "Authorization: Bearer TOKEN" with a token whose
 * admin claim is true (revenge-server token --admin). A server without a
 * token key has no admin API (404 on every /admin path). Answers are JSON;
 * errors are {"error": "<code>", "message": "<text>"}.
 *
 * admin.c owns the routing (pure: rv__admin_route), the authorization and
 * the answers; the parties it reads and closes are ep_party.c's, through
 * the rv__party_admin_* calls below.
 */
#ifndef REVENGE_ADMIN_H
#define REVENGE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "revenge/proto.h"

struct rv__hub;

/* The close codes members get (4000-4999 are the application's, as 4401;
 * documented in docs/protocol.md "Close codes"). */
#define RV__CLOSE_PARTY_CLOSED 4410     /* the operator closed the party */
#define RV__CLOSE_REMOVED 4403          /* the operator removed the member */

/* A request body is never read: a POST that announces one over this many
 * bytes (or any chunked one) is answered 413 and the connection closed. */
#define RV__ADMIN_BODY_MAX 1024

enum rv__admin_op {
	RV__ADMIN_LIST = 0,
	RV__ADMIN_SHOW,
	RV__ADMIN_CLOSE,
	RV__ADMIN_REMOVE,
};

struct rv__admin_route {
	enum rv__admin_op op;
	char id[RV_ID_MAX + 1];                 /* the party, SHOW and after */
	char member[RV_NAME_MAX_BYTES + 1];     /* a member id or name, REMOVE */
};

/* Route method ("GET", "POST", anything else) and path (decoded, without
 * the query): 0 with r filled; else the HTTP status (404 no such path, 405
 * a known path with another method, *allow then naming the one it takes;
 * 400 a bad party id or member) with a reason in why. Pure. */
int rv__admin_route(const char *method, const char *path, struct rv__admin_route *r,
		    const char **allow, char *why, size_t why_len);

/* Answer one admin request of wsi: method and path as above. Returns the
 * HTTP status and sets *body (a new NUL-terminated JSON text of *len bytes
 * the caller frees with free(); NULL on out-of-memory, then the status is
 * 500) and *allow (static, for a 405; else NULL). party_state is the party
 * endpoint's (ep_party.c). */
int rv__admin_handle(struct rv__hub *hub, void *party_state, struct lws *wsi,
		     const char *method, const char *path, char **body, size_t *len,
		     const char **allow);

/* ---- ep_party.c's side ----------------------------------------------- */

/* The live parties of this node, as a new JSON array (NULL: out of
 * memory) of {id, members, local_members, host: {id, name}|null, state:
 * {position, playing, speed, server_time}}. */
json_t *rv__party_admin_list(void *party_state);

/* One party with its members ({id, name, role, remote, address}): a new
 * JSON object in *out, or RV_ENOENT (no such party here), RV_ENOMEM. */
int rv__party_admin_show(void *party_state, const char *id, json_t **out);

/* Close every local member of party id (and the joins it holds) with code
 * and reason: 0 with *closed the connections told, or RV_ENOENT. */
int rv__party_admin_close(void *party_state, const char *id, int code, const char *reason,
			  unsigned *closed);

/* Close one local member of party id, named by its member id or its
 * display name, with code and reason: 0 with its id in mid (at least
 * RV_MEMBER_ID_MAX + 1 bytes); RV_ENOENT no such party or member (why
 * says which), RV_ESTATE a name that two members share, RV_EINVAL a
 * member of another node (cluster mode). */
int rv__party_admin_remove(void *party_state, const char *id, const char *member, int code,
			   const char *reason, char *mid, char *why, size_t why_len);

#endif
