/* lib/request.c - the pure half of a WebSocket handshake (see request.h):
 * routing a path to its endpoint and id, the query arguments, the Origin
 * (parsed as scheme, host and port before any pattern sees it), the Host
 * of a plain HTTP request (DNS rebinding), and the request head as the
 * listener peeks it before lws reads it (431 and %00).
 */
#include "request.h"

#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* Lowercase ASCII in place: schemes and host names compare without case
 * (RFC 3986 3.1, 3.2.2); browsers send them lowercase, other clients may not. */
static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The port a scheme implies when the origin names none; 0: none known. */
static unsigned default_port(const char *scheme)
{
	if (!strcmp(scheme, "http") || !strcmp(scheme, "ws"))
		return 80;
	if (!strcmp(scheme, "https") || !strcmp(scheme, "wss"))
		return 443;
	return 0;
}

/* Read the host of s (a bracketed IPv6 literal, or a name of letters,
 * digits, '-', '.', and for patterns the fnmatch characters '*' and '?')
 * into o->host; returns where it ended, or NULL. */
static const char *parse_host(const char *s, struct rv__origin *o, bool pattern)
{
	size_t n = 0;

	if (*s == '[') {
		const char *end = strchr(s, ']');
		unsigned char a6[16];

		if (!end || (size_t)(end - s - 1) >= sizeof(o->host))
			return NULL;
		memcpy(o->host, s + 1, (size_t)(end - s - 1));
		o->host[end - s - 1] = '\0';
		/* inet_pton also refuses zone ids (%eth0), which have no place in an origin */
		if (inet_pton(AF_INET6, o->host, a6) != 1)
			return NULL;
		o->ipv6 = true;
		return end + 1;
	}
	for (; is_alpha(s[n]) || is_digit(s[n]) || s[n] == '-' || s[n] == '.' ||
	       (pattern && (s[n] == '*' || s[n] == '?')); n++)
		if (n + 1 >= sizeof(o->host))
			return NULL;
	if (n == 0)
		return NULL;
	memcpy(o->host, s, n);
	o->host[n] = '\0';
	lower(o->host);
	return s + n;
}

int rv__request_origin_parse(const char *s, struct rv__origin *o)
{
	size_t n = 0;
	unsigned long port = 0;

	memset(o, 0, sizeof(*o));
	if (!is_alpha(s[0]))
		return -1;
	while (is_alpha(s[n]) || is_digit(s[n]) || s[n] == '+' || s[n] == '-' || s[n] == '.')
		if (++n >= sizeof(o->scheme))
			return -1;
	if (strncmp(s + n, "://", 3))
		return -1;
	memcpy(o->scheme, s, n);
	o->scheme[n] = '\0';
	lower(o->scheme);
	if (!(s = parse_host(s + n + 3, o, false)))
		return -1;
	if (*s == ':') {
		/* 1-5 digits, 1-65535: "http://x:" and "http://x:0" are no origins */
		for (n = 1; is_digit(s[n]); n++)
			if (n > 5)
				return -1;
			else
				port = port * 10 + (unsigned long)(s[n] - '0');
		if (n == 1 || port == 0 || port > 65535)
			return -1;
		s += n;
		o->port = (unsigned)port;
		o->port_given = true;
	} else {
		o->port = default_port(o->scheme);
	}
	/* userinfo ('@'), a path, a query, a fragment, spaces: not an origin */
	return *s ? -1 : 0;
}

/* Does o match pattern "[scheme://]host[:port]"? The host part is a shell
 * wildcard over the name, or a bracketed IPv6 address compared as an
 * address (never as a wildcard: "[::1]" would be a character class); the
 * port part is "*" (any, or none), a wildcard over the digits, or absent
 * (the scheme's default port only). */
static bool origin_match(const char *pat, const struct rv__origin *o)
{
	struct rv__origin p;
	const char *sep = strstr(pat, "://"), *rest;
	char portbuf[12];

	memset(&p, 0, sizeof(p));
	if (sep) {
		if ((size_t)(sep - pat) >= sizeof(p.scheme))
			return false;
		memcpy(p.scheme, pat, (size_t)(sep - pat));
		p.scheme[sep - pat] = '\0';
		lower(p.scheme);
		if (fnmatch(p.scheme, o->scheme, 0))
			return false;
		pat = sep + 3;
	}
	if (!(rest = parse_host(pat, &p, true)))
		return false;
	if (p.ipv6 != o->ipv6)
		return false;
	if (p.ipv6) {
		unsigned char a[16], b[16];

		if (inet_pton(AF_INET6, p.host, a) != 1 || inet_pton(AF_INET6, o->host, b) != 1 ||
		    memcmp(a, b, sizeof(a)))
			return false;
	} else if (fnmatch(p.host, o->host, 0)) {
		return false;
	}
	if (*rest == '\0')
		return !o->port_given || o->port == default_port(o->scheme);
	if (*rest != ':')
		return false;
	rest++;
	if (!strcmp(rest, "*"))
		return true;
	if (!o->port)
		return false;
	snprintf(portbuf, sizeof(portbuf), "%u", o->port);
	return !fnmatch(rest, portbuf, 0);
}

bool rv__request_origin_allowed(const char *const *patterns, unsigned n, const char *origin)
{
	static const char *const defaults[] = { "localhost:*", "127.0.0.1:*", "[::1]:*" };
	const char *const *pats = n ? patterns : defaults;
	unsigned count = n ? n : sizeof(defaults) / sizeof(defaults[0]);
	struct rv__origin o;

	/* "null" (sandboxed frames, file: pages) and anything that is not a
	 * serialized origin match nothing */
	if (strlen(origin) >= ORIGIN_MAX || rv__request_origin_parse(origin, &o))
		return false;
	for (unsigned i = 0; i < count; i++)
		if (origin_match(pats[i], &o))
			return true;
	return false;
}

/* ---- the Host header (DNS rebinding) ----------------------------------- */

static bool is_ipv4(const char *host)
{
	unsigned char a4[4];

	return inet_pton(AF_INET, host, a4) == 1;
}

int rv__request_host_check(const char *const *patterns, unsigned n, const char *listen_host,
			   const char *host, char *why, size_t why_len)
{
	struct rv__origin h;
	const char *rest;
	size_t digits = 0;

	/* no Host (HTTP/1.0, a hand-written probe): no browser sends that,
	 * so it is no rebinding; the same rule as a missing Origin */
	if (!host || !*host)
		return 0;
	memset(&h, 0, sizeof(h));
	if (strlen(host) >= ORIGIN_MAX || !(rest = parse_host(host, &h, false))) {
		snprintf(why, why_len, "malformed Host header");
		return 400;
	}
	if (*rest == ':') {
		/* RFC 3986 allows an empty port ("host:"); no port has 6 digits */
		for (rest++; is_digit(rest[digits]); digits++)
			;
		rest += digits;
	}
	if (*rest || digits > 5) {
		snprintf(why, why_len, "malformed Host header");
		return 400;
	}
	/* An address cannot be rebound: only a name the attacker's DNS
	 * answers for can point a browser's page at this server. */
	if (h.ipv6 || is_ipv4(h.host))
		return 0;
	if (!strcmp(h.host, "localhost") || !fnmatch("*.localhost", h.host, 0))
		return 0;
	if (listen_host && !strcasecmp(listen_host, h.host))
		return 0;
	for (unsigned i = 0; i < n; i++) {
		char pat[256];

		snprintf(pat, sizeof(pat), "%s", patterns[i]);
		lower(pat);
		if (!fnmatch(pat, h.host, 0))
			return 0;
	}
	snprintf(why, why_len, "host not allowed (see --allowed-host)");
	return 421;
}

/* ---- the request head, looked at before lws reads it -------------------- */

int rv__request_head_check(const char *buf, size_t n, size_t max, unsigned max_fields,
			   char *why, size_t why_len)
{
	const char *end = memmem(buf, n, "\r\n\r\n", 4);
	const char *eol = memmem(buf, n, "\r\n", 2), *p;
	size_t head = end ? (size_t)(end - buf) + 4 : n;
	unsigned lines = 0;

	/* lws (4.1.6) drops the connection without a word when the head
	 * outgrows its header space: answer it before lws sees it */
	if (head > max) {
		snprintf(why, why_len, "request head over %zu bytes", max);
		return 431;
	}
	/* lws keeps an unknown header with some bytes of its own: many
	 * short ones outgrow its space sooner than their size says */
	for (p = eol; p && p < buf + head; p = memmem(p + 2, (size_t)(buf + head - p - 2), "\r\n", 2))
		/* each line ends in one, the request line and the blank one too */
		if (++lines > max_fields + (end ? 2u : 1u)) {
			snprintf(why, why_len, "more than %u header fields", max_fields);
			return 431;
		}
	/* lws fails a request whose target decodes to a NUL byte the same
	 * way; a NUL can be in no id and no query value we take */
	if (eol && memmem(buf, (size_t)(eol - buf), "%00", 3)) {
		snprintf(why, why_len, "request target contains %%00 (a NUL byte)");
		return 400;
	}
	return 0;
}
