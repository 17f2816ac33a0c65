/* lib/admin.c - the admin API on the --metrics-listen address (admin.h):
 * its routes, who may use it (a token with the admin claim) and its JSON
 * answers. What it reads and closes are the party endpoint's parties
 * (ep_party.c); server.c hands it each /admin request of that listener.
 */
#include "admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "revenge/error.h"
#include "revenge/log.h"
#include "revenge/party.h"
#include "revenge/systime.h"
#include "revenge/token.h"

#include "conn.h"

#define PARTIES "/admin/parties"

/* The next path segment of *p (after a '/'), into seg (size bytes): its
 * length, or -1 when there is none or it does not fit. *p moves past it. */
static int segment(const char **p, char *seg, size_t size)
{
	const char *s = *p, *e;
	size_t n;

	if (*s != '/')
		return -1;
	s++;
	e = strchr(s, '/');
	n = e ? (size_t)(e - s) : strlen(s);
	if (n >= size)
		return -1;
	memcpy(seg, s, n);
	seg[n] = 0;
	*p = s + n;
	return (int)n;
}

int rv__admin_route(const char *method, const char *path, struct rv__admin_route *r,
		    const char **allow, char *why, size_t why_len)
{
	const char *p = path;
	char word[16];
	bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	int n;

	memset(r, 0, sizeof(*r));
	*allow = NULL;
	if (strncmp(p, PARTIES, sizeof(PARTIES) - 1) ||
	    (p[sizeof(PARTIES) - 1] && p[sizeof(PARTIES) - 1] != '/'))
		goto not_found;
	p += sizeof(PARTIES) - 1;
	if (!*p || !strcmp(p, "/")) {
		r->op = RV__ADMIN_LIST;
		*allow = "GET";
		goto method;
	}
	/* an id is at most RV_ID_MAX characters; room for one more to say
	 * "too long" rather than "not found" */
	n = segment(&p, r->id, sizeof(r->id));
	if (n < 0 || !rv_proto_valid_id(r->id, (size_t)n)) {
		snprintf(why, why_len, "a party id is 1-%d characters of A-Z a-z 0-9 _ -",
			 RV_ID_MAX);
		return 400;
	}
	if (!*p) {
		r->op = RV__ADMIN_SHOW;
		*allow = "GET";
		goto method;
	}
	n = segment(&p, word, sizeof(word));
	if (n > 0 && !strcmp(word, "close") && !*p) {
		r->op = RV__ADMIN_CLOSE;
		*allow = "POST";
		goto method;
	}
	if (n <= 0 || strcmp(word, "members") || !*p)
		goto not_found;
	n = segment(&p, r->member, sizeof(r->member));
	if (n < 0 || (!rv_proto_valid_id(r->member, (size_t)n) &&
		      !rv_proto_valid_name(r->member, (size_t)n))) {
		snprintf(why, why_len, "a member is its id or its display name (1-%d characters)",
			 RV_NAME_MAX_CHARS);
		return 400;
	}
	if (segment(&p, word, sizeof(word)) <= 0 || strcmp(word, "remove") || *p)
		goto not_found;
	r->op = RV__ADMIN_REMOVE;
	*allow = "POST";
method:
	if ((get && !strcmp(*allow, "GET")) || (post && !strcmp(*allow, "POST"))) {
		*allow = NULL;
		return 0;
	}
	snprintf(why, why_len, "%s takes %s only", path, *allow);
	return 405;
not_found:
	snprintf(why, why_len, "no such admin path");
	return 404;
}

/* {"error": code, "message": ...} into *body. */
__attribute__((format(printf, 5, 6)))
static int fail(char **body, size_t *len, int status, const char *code, const char *fmt, ...)
{
	char msg[300];
	json_t *o;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_pack("{s:s, s:s}", "error", code, "message", msg);
	*body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	*len = *body ? strlen(*body) : 0;
	return *body ? status : 500;
}

/* The JSON text of o (stolen) into *body; status, or 500 when out of
 * memory. */
static int answer(json_t *o, char **body, size_t *len, int status)
{
	*body = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	*len = *body ? strlen(*body) : 0;
	return *body ? status : 500;
}

/* Who asks: 0 when wsi's Authorization carries a valid token with the
 * admin claim (its subject into sub); else the status (401, 403) with the
 * error's code and message set. The token is read from the header only:
 * an admin token in a query would end up in access logs. */
static int authorize(struct rv__hub *hub, struct lws *wsi, char *sub, size_t sub_len,
		     const char **code, char *why, size_t why_len)
{
	static const char scheme[] = "Bearer ";
	char buf[RV_TOKEN_MAX + sizeof(scheme)], reason[160];
	struct rv_token_claims claims;
	int n = lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_AUTHORIZATION), res;
	const char *tok;

	*code = "unauthorized";
	if (n <= 0) {
		rv_metrics_auth_failure(&hub->metrics, "missing");
		snprintf(why, why_len, "an admin token is required (Authorization: Bearer TOKEN)");
		return 401;
	}
	if ((size_t)n >= sizeof(buf) ||
	    lws_hdr_copy(wsi, buf, sizeof(buf), WSI_TOKEN_HTTP_AUTHORIZATION) < 0 ||
	    strncasecmp(buf, scheme, sizeof(scheme) - 1)) {
		rv_metrics_auth_failure(&hub->metrics, "bad");
		snprintf(why, why_len, "Authorization must be a Bearer token of at most %d bytes",
			 RV_TOKEN_MAX);
		return 401;
	}
	tok = buf + sizeof(scheme) - 1;
	res = rv_token_verify(hub->cfg->auth_key, tok, strlen(tok), rv_time_wall_ms() / 1000.0,
			      hub->cfg->auth_leeway_s, &claims, reason, sizeof(reason));
	if (res) {
		rv_metrics_auth_failure(&hub->metrics, rv_token_result_name(res));
		snprintf(why, why_len, "token refused: %s", reason);
		return 401;
	}
	if (!claims.admin) {
		rv_metrics_auth_failure(&hub->metrics, "out_of_scope");
		*code = "forbidden";
		snprintf(why, why_len, "the token has no admin claim (revenge-server token --admin)");
		return 403;
	}
	snprintf(sub, sub_len, "%s", claims.sub);
	return 0;
}

int rv__admin_handle(struct rv__hub *hub, void *party_state, struct lws *wsi,
		     const char *method, const char *path, char **body, size_t *len,
		     const char **allow)
{
	struct rv__admin_route r;
	const char *code;
	char why[300], sub[RV_TOKEN_SUB_MAX + 1], mid[RV_MEMBER_ID_MAX + 1];
	unsigned closed = 0;
	json_t *o;
	int status, err;

	*allow = NULL;
	if (!hub->cfg->auth_key)
		return fail(body, len, 404, "not_found",
			    "the admin API is off: the server has no token key "
			    "(--auth-secret-file or --auth-public-key)");
	/* who asks comes first: a stranger learns nothing of the paths */
	if ((status = authorize(hub, wsi, sub, sizeof(sub), &code, why, sizeof(why))))
		return fail(body, len, status, code, "%s", why);
	if ((status = rv__admin_route(method, path, &r, allow, why, sizeof(why))))
		return fail(body, len, status,
			    status == 404 ? "not_found" : status == 405 ? "method_not_allowed" :
			    "bad_request", "%s", why);
	switch (r.op) {
	case RV__ADMIN_LIST:
		o = rv__party_admin_list(party_state);
		return answer(o ? json_pack("{s:o}", "parties", o) : NULL, body, len, 200);
	case RV__ADMIN_SHOW:
		err = rv__party_admin_show(party_state, r.id, &o);
		if (err == RV_ENOENT)
			return fail(body, len, 404, "not_found", "no party %s on this server", r.id);
		return answer(err ? NULL : o, body, len, 200);
	case RV__ADMIN_CLOSE:
		if (rv__party_admin_close(party_state, r.id, RV__CLOSE_PARTY_CLOSED,
					  "party closed by the operator", &closed))
			return fail(body, len, 404, "not_found", "no party %s on this server", r.id);
		rv_log(hub->log, RV_LOG_INFO, "admin_close", "party=%s closed=%u by=%s", r.id, closed,
		       sub);
		return answer(json_pack("{s:s, s:I, s:i}", "party", r.id, "closed", (json_int_t)closed,
					"code", RV__CLOSE_PARTY_CLOSED), body, len, 200);
	case RV__ADMIN_REMOVE:
		err = rv__party_admin_remove(party_state, r.id, r.member, RV__CLOSE_REMOVED,
					     "removed by the operator", mid, why, sizeof(why));
		if (err == RV_ENOENT)
			return fail(body, len, 404, "not_found", "%s", why);
		if (err == RV_ESTATE)
			return fail(body, len, 409, "ambiguous", "%s", why);
		if (err)
			return fail(body, len, 409, "remote_member", "%s", why);
		rv_log(hub->log, RV_LOG_INFO, "admin_remove", "party=%s member=%s by=%s", r.id, mid,
		       sub);
		return answer(json_pack("{s:s, s:s, s:i}", "party", r.id, "member", mid, "code",
					RV__CLOSE_REMOVED), body, len, 200);
	}
	return fail(body, len, 500, "internal", "unknown operation");
}
