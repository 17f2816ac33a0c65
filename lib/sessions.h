/* lib/sessions.h - internal: the caps on live progress and stream
 * sessions (--max-sessions, --max-sessions-per-owner), shared by the two
 * session endpoints through the hub.
 *
 * A session is counted from its creation to its end, against the server
 * and against the owner of the connection that created it: the token's
 * subject, or on an open server (where every client is owner "") the
 * client's address, so one client cannot fill the table alone. Joining a
 * live session creates nothing and is never refused by these caps.
 */
#ifndef REVENGE_SESSIONS_H
#define REVENGE_SESSIONS_H

#include <stddef.h>

#include "revenge/token.h"

struct rv__hub;
struct rv__request;

/* Bytes for an owner key: "sub " SUB or "ip " ADDRESS, and a NUL. */
#define RV__OWNER_KEY_MAX (RV_TOKEN_SUB_MAX + 8)

/* The key r's new session counts under, into buf (RV__OWNER_KEY_MAX). */
void rv__sessions_owner_key(const struct rv__request *r, char *buf);

/* Would a new session for r fit the caps? 0, or 503 with why naming the
 * cap; a refusal is counted in the metrics. */
int rv__sessions_admit(struct rv__hub *hub, const struct rv__request *r,
		       char *why, size_t why_len);

/* Count a new session for r, its owner key into owner_key
 * (RV__OWNER_KEY_MAX) for rv__sessions_give: 0, RV_EFULL at a cap (counted
 * in the metrics, as admit does), or RV_ENOMEM. */
int rv__sessions_take(struct rv__hub *hub, const struct rv__request *r, char *owner_key);

/* A session counted by rv__sessions_take has ended. */
void rv__sessions_give(struct rv__hub *hub, const char *owner_key);

#endif
