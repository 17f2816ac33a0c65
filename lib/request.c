/* lib/request.c - the pure half of a WebSocket handshake (see request.h):
 * routing a path to its endpoint and id, the query arguments, the Origin.
 */
#include "request.h"

#include <fnmatch.h>
#include <stdio.h>
#include <string.h>

#define ORIGIN_MAX 512

int rv__request_route(const char *uri, struct rv__request *r, char *why, size_t why_len)
{
	const char *id = NULL;
	size_t idlen;

	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < rv__n_endpoints; i++) {
		const struct rv__endpoint *e = rv__endpoints[i];
		size_t pl = strlen(e->path);

		if (!strncmp(uri, e->path, pl) && uri[pl] == '/') {
			r->endpoint = e;
			r->index = i;
			id = uri + pl + 1;
			break;
		}
	}
	if (!r->endpoint) {
		snprintf(why, why_len, "no such endpoint");
		return 404;
	}
	idlen = strlen(id);
	if (!rv_proto_valid_id(id, idlen)) {
		snprintf(why, why_len, "id must be 1-64 characters of A-Z a-z 0-9 _ -");
		return 400;
	}
	memcpy(r->id, id, idlen + 1);
	return 0;
}

int rv__request_arg(struct rv__request *r, const char *arg, size_t len,
		    char *why, size_t why_len)
{
	/* ?token= is every endpoint's (auth.c verifies it) */
	if (len >= 6 && !strncmp(arg, "token=", 6)) {
		if (r->token_len) {
			snprintf(why, why_len, "token given twice");
			return 400;
		}
		if (len - 6 < 1 || len - 6 > RV_TOKEN_MAX) {
			snprintf(why, why_len, "token must be 1-%d bytes", RV_TOKEN_MAX);
			return 400;
		}
		memcpy(r->token, arg + 6, len - 6);
		r->token[len - 6] = '\0';
		r->token_len = len - 6;
		return 0;
	}
	if (!r->endpoint->query)
		return 0;
	return r->endpoint->query(arg, len, r, why, why_len);
}

bool rv__request_origin_allowed(const char *const *patterns, unsigned n, const char *origin)
{
	static const char *const defaults[] = { "localhost:*", "127.0.0.1:*", "[::1]:*" };
	const char *const *pats = n ? patterns : defaults;
	unsigned count = n ? n : sizeof(defaults) / sizeof(defaults[0]);
	const char *hostport = strstr(origin, "://");
	char bare[ORIGIN_MAX];

	hostport = hostport ? hostport + 3 : origin;
	for (unsigned i = 0; i < count; i++) {
		const char *pat = pats[i];
		size_t pl = strlen(pat);

		if (strstr(pat, "://")) {
			if (!fnmatch(pat, origin, 0))
				return true;
			continue;
		}
		if (!fnmatch(pat, hostport, 0))
			return true;
		if (pl > 2 && !strcmp(pat + pl - 2, ":*") && pl - 2 < sizeof(bare)) {
			memcpy(bare, pat, pl - 2);
			bare[pl - 2] = 0;
			if (!fnmatch(bare, hostport, 0))
				return true;
		}
	}
	return false;
}
