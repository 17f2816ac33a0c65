/* lib/sessions.c - the session caps (sessions.h). */
#include "sessions.h"

#include <stdio.h>

#include "revenge/error.h"

#include "conn.h"
#include "endpoint.h"

void rv__sessions_owner_key(const struct rv__request *r, char *buf)
{
	if (r->claims)
		snprintf(buf, RV__OWNER_KEY_MAX, "sub %s", r->claims->sub);
	else
		snprintf(buf, RV__OWNER_KEY_MAX, "ip %s", r->peer);
}

/* The cap a new session under key would pass, with why; -1: none. */
static int over_cap(const struct rv__hub *hub, const char *key, char *why, size_t why_len)
{
	const struct rv_server_config *cfg = hub->cfg;

	if (cfg->max_sessions && hub->n_sessions >= cfg->max_sessions) {
		snprintf(why, why_len, "session limit reached (%u)", cfg->max_sessions);
		return RV_LIMIT_SESSIONS;
	}
	if (cfg->max_sessions_per_owner &&
	    rv__tally_get(&hub->session_owners, key) >= cfg->max_sessions_per_owner) {
		snprintf(why, why_len, "session limit per owner reached (%u)",
			 cfg->max_sessions_per_owner);
		return RV_LIMIT_SESSIONS_PER_OWNER;
	}
	return -1;
}

int rv__sessions_admit(struct rv__hub *hub, const struct rv__request *r,
		       char *why, size_t why_len)
{
	char key[RV__OWNER_KEY_MAX];
	int limit;

	rv__sessions_owner_key(r, key);
	if ((limit = over_cap(hub, key, why, why_len)) < 0)
		return 0;
	hub->metrics.limit_refusals[limit]++;
	return 503;
}

int rv__sessions_take(struct rv__hub *hub, const struct rv__request *r, char *owner_key)
{
	char why[128];
	int limit;

	rv__sessions_owner_key(r, owner_key);
	if ((limit = over_cap(hub, owner_key, why, sizeof(why))) >= 0) {
		hub->metrics.limit_refusals[limit]++;
		rv_log_kv(hub->log, RV_LOG_INFO, "limit_reached",
			  RV_LOG_FIELDS(RV_LOG_STR("remote", r->peer[0] ? r->peer : NULL),
					RV_LOG_STR("sub", r->claims ? r->claims->sub : NULL),
					RV_LOG_STR("reason", why)), "%s", why);
		return RV_EFULL;
	}
	if (rv__tally_add(&hub->session_owners, owner_key))
		return RV_ENOMEM;
	hub->n_sessions++;
	return 0;
}

void rv__sessions_give(struct rv__hub *hub, const char *owner_key)
{
	rv__tally_sub(&hub->session_owners, owner_key);
	hub->n_sessions--;
}
