/* lib/auth.c - connection tokens at the server's door and for the life of
 * a connection (see auth.h). Verification itself is token.c's.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "revenge/error.h"
#include "revenge/systime.h"

#include "conn.h"


struct rv__auth {
	struct rv__conn *c;
	char sub[RV_TOKEN_SUB_MAX + 1];
	char id[RV_ID_MAX + 1];
	bool has_exp;
	double exp;                     /* seconds since the epoch */
	ev_timer expiry;
};

static double now_s(void)
{
	return rv_time_wall_ms() / 1000.0;
}

/* The token from "Authorization: Bearer T": 1 found, 0 absent, -1 a header
 * that is not a bearer token (why says so). */
static int from_authorization(struct lws *wsi, struct rv__request *r, char *why, size_t why_len)
{
	static const char scheme[] = "Bearer ";
	char buf[RV_TOKEN_MAX + sizeof(scheme)];
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION);
	size_t len;

	if (n <= 0)
		return 0;
	if ((size_t)n >= sizeof(buf) || lws_hdr_copy(wsi, buf, sizeof(buf),
						     WSI_TOKEN_HTTP_AUTHORIZATION) < 0) {
		snprintf(why, why_len, "Authorization header over %d bytes", RV_TOKEN_MAX);
		return -1;
	}
	/* RFC 7235 2.1: the scheme is case-insensitive */
	if (strncasecmp(buf, scheme, sizeof(scheme) - 1)) {
		snprintf(why, why_len, "Authorization must be a Bearer token");
		return -1;
	}
	len = strlen(buf + sizeof(scheme) - 1);
	memcpy(r->token, buf + sizeof(scheme) - 1, len + 1);
	r->token_len = len;
	return 1;
}

static const char *scope_word(enum rv_token_scope scope)
{
	return scope == RV_TOKEN_SCOPE_PARTY ? "party" : "session";
}

int rv__auth_check(struct rv__hub *hub, struct lws *wsi, struct rv__request *r,
		   struct rv_token_claims *claims, char *why, size_t why_len)
{
	const struct rv_server_config *cfg = hub->cfg;
	char reason[160];
	int found, res;

	r->claims = NULL;
	if (!cfg->auth_key)
		return 0;
	/* The header first, then the query (already read by request.c).
	 * Not Sec-WebSocket-Protocol, as some servers take from browsers:
	 * lws 4.1.6 drops a request whose protocol list exceeds 128 bytes
	 * before we see it, and a JWT is longer; browsers use ?token=. */
	found = from_authorization(wsi, r, why, why_len);
	if (found < 0) {
		rv_metrics_auth_failure(&hub->metrics, "bad");
		return 401;
	}
	if (!found && !r->token_len) {
		rv_metrics_auth_failure(&hub->metrics, "missing");
		snprintf(why, why_len, "a token is required (Authorization: Bearer TOKEN "
			 "or ?token=TOKEN)");
		return 401;
	}
	res = rv_token_verify(cfg->auth_key, r->token, r->token_len, now_s(), cfg->auth_leeway_s,
			      claims, reason, sizeof(reason));
	if (res) {
		rv_metrics_auth_failure(&hub->metrics, rv_token_result_name(res));
		snprintf(why, why_len, "token refused: %s", reason);
		return 401;
	}
	if (!rv_token_allows(claims, r->endpoint->scope, r->id)) {
		rv_metrics_auth_failure(&hub->metrics, "out_of_scope");
		snprintf(why, why_len, "the token does not open %s %s", scope_word(r->endpoint->scope),
			 r->id);
		return 403;
	}
	r->claims = claims;
	return 0;
}

static void expired(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct rv__auth *a = t->data;

	rv_log_kv(a->c->hub->log, RV_LOG_INFO, "token_expired",
		  RV_LOG_FIELDS(RV_LOG_STR("sub", a->sub), RV_LOG_STR("id", a->id),
				RV_LOG_STR("remote", a->c->remote)),
		  NULL);
	rv__conn_request_close(a->c, RV__CLOSE_TOKEN_EXPIRED, "token expired");
}

/* (Re)arm the close at exp, plus the leeway the verification allowed. */
static void arm(struct rv__auth *a)
{
	struct rv__hub *hub = a->c->hub;
	double in;

	ev_timer_stop(hub->loop, &a->expiry);
	if (!a->has_exp)
		return;
	in = a->exp + hub->cfg->auth_leeway_s - now_s();
	ev_timer_set(&a->expiry, in > 0 ? in : 0, 0);
	ev_timer_start(hub->loop, &a->expiry);
}

int rv__auth_attach(struct rv__conn *c, const struct rv__request *r)
{
	struct rv__auth *a;

	if (!r->claims)
		return 0;
	a = calloc(1, sizeof(*a));
	if (!a)
		return RV_ENOMEM;
	a->c = c;
	snprintf(a->sub, sizeof(a->sub), "%s", r->claims->sub);
	snprintf(a->id, sizeof(a->id), "%s", r->id);
	a->has_exp = r->claims->has_exp;
	a->exp = r->claims->exp;
	ev_timer_init(&a->expiry, expired, 0, 0);
	a->expiry.data = a;
	c->auth = a;
	arm(a);
	return 0;
}

void rv__auth_detach(struct rv__conn *c)
{
	struct rv__auth *a = c->auth;

	if (!a)
		return;
	ev_timer_stop(c->hub->loop, &a->expiry);
	free(a);
	c->auth = NULL;
}

static void refuse_refresh(struct rv__conn *c, const struct rv_msg *m, const char *reason,
			   const char *why)
{
	struct rv_proto_error err;

	rv_metrics_auth_failure(&c->hub->metrics, reason);
	rv_proto_error_set(&err, RV_ERR_UNAUTHORIZED, "refresh", m->id, "%s", why);
	rv__conn_send_error(c, &err);
}

void rv__auth_refresh(struct rv__conn *c, const struct rv_msg *m)
{
	const struct rv_server_config *cfg = c->hub->cfg;
	struct rv__auth *a = c->auth;
	struct rv_token_claims *claims;
	char reason[160], why[200];
	int res;

	/* An open server takes no tokens: nothing to replace. */
	if (!cfg->auth_key || !a) {
		if (m->id)
			rv__conn_ack(c, m->id);
		return;
	}
	claims = malloc(sizeof(*claims));
	if (!claims) {
		rv__conn_request_close(c, 1011, "out of memory");
		return;
	}
	res = rv_token_verify(cfg->auth_key, m->u.refresh.token, m->u.refresh.len, now_s(),
			      cfg->auth_leeway_s, claims, reason, sizeof(reason));
	if (res) {
		snprintf(why, sizeof(why), "token refused: %s", reason);
		refuse_refresh(c, m, rv_token_result_name(res), why);
	} else if (strcmp(claims->sub, a->sub)) {
		refuse_refresh(c, m, "out_of_scope", "the new token is for another subject");
	} else if (!rv_token_allows(claims, c->endpoint->scope, a->id)) {
		snprintf(why, sizeof(why), "the new token does not open %s %s",
			 scope_word(c->endpoint->scope), a->id);
		refuse_refresh(c, m, "out_of_scope", why);
	} else {
		a->has_exp = claims->has_exp;
		a->exp = claims->exp;
		arm(a);
		c->hub->metrics.auth_refreshed++;
		if (m->id)
			rv__conn_ack(c, m->id);
	}
	free(claims);
}
