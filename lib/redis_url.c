/* lib/redis_url.c - the --redis URL (see redis_url.h). Pure: no I/O. */
#include "redis_url.h"

#include "revenge/server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(char *why, size_t why_len, const char *msg)
{
	snprintf(why, why_len, "%s", msg);
	return -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode s[0..len) into out (cap bytes with the NUL): 0, or -1
 * for a bad escape, a NUL or control byte, or too long. */
static int decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -1;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

/* A decimal number in s[0..len) within [lo, hi] into *v: 0 or -1. */
static int number(const char *s, size_t len, long lo, long hi, long *v)
{
	long n = 0;

	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	if (n < lo || n > hi)
		return -1;
	*v = n;
	return 0;
}

/* "[[user]:password@]" at the start of *s, in the authority that ends
 * before end (its last '@' ends the credentials, as browsers read an
 * unescaped '@' in a password): consumed into out. */
static int userinfo(const char **s, const char *end, struct rv__redis_url *out,
		    char *why, size_t why_len)
{
	const char *at = memrchr(*s, '@', (size_t)(end - *s));
	const char *colon;

	if (!at)
		return 0;
	colon = memchr(*s, ':', (size_t)(at - *s));
	if (!colon)
		return fail(why, why_len, "credentials must be user:password@ or :password@ "
			    "(a user without a password is not an AUTH Redis takes)");
	if (decode(*s, (size_t)(colon - *s), out->user, sizeof(out->user)))
		return fail(why, why_len, "bad user name (a bad %XX escape, a control "
			    "character, or over 255 bytes)");
	if (decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof(out->password)))
		return fail(why, why_len, "bad password (a bad %XX escape, a control "
			    "character, or over 255 bytes)");
	if (!out->password[0])
		return fail(why, why_len, "empty password after ':'");
	out->has_password = true;
	*s = at + 1;
	return 0;
}

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

static int parse_tcp(const char *s, const char *end, struct rv__redis_url *out,
		     char *why, size_t why_len)
{
	const char *slash = memchr(s, '/', (size_t)(end - s));
	const char *hend = slash ? slash : end, *p = s, *port = NULL;
	long v;

	if (userinfo(&p, hend, out, why, why_len))
		return -1;
	if (p < hend && *p == '[') {
		const char *rb = memchr(p, ']', (size_t)(hend - p));

		if (!rb || rb - p - 1 < 2)
			return fail(why, why_len, "bad IPv6 address: [ without ]");
		for (const char *q = p + 1; q < rb; q++)
			if (!(hexval(*q) >= 0 || *q == ':' || *q == '.'))
				return fail(why, why_len, "bad IPv6 address");
		if ((size_t)(rb - p - 1) > RV__REDIS_HOST_MAX)
			return fail(why, why_len, "host name over 255 bytes");
		memcpy(out->host, p + 1, (size_t)(rb - p - 1));
		out->host[rb - p - 1] = 0;
		p = rb + 1;
		if (p < hend && *p != ':')
			return fail(why, why_len, "unexpected text after the IPv6 address");
		if (p < hend)
			port = p + 1;
	} else {
		const char *colon = memchr(p, ':', (size_t)(hend - p));
		const char *he = colon ? colon : hend;

		if (he == p)
			return fail(why, why_len, "no host (redis://HOST[:PORT][/DB])");
		if ((size_t)(he - p) > RV__REDIS_HOST_MAX)
			return fail(why, why_len, "host name over 255 bytes");
		for (const char *q = p; q < he; q++)
			if (!host_char(*q))
				return fail(why, why_len, "bad character in the host name");
		memcpy(out->host, p, (size_t)(he - p));
		out->host[he - p] = 0;
		if (colon)
			port = colon + 1;
	}
	out->port = 6379;
	if (port) {
		if (number(port, (size_t)(hend - port), 1, 65535, &v))
			return fail(why, why_len, "the port must be a number in 1-65535");
		out->port = (int)v;
	}
	if (slash && slash + 1 < end) {
		if (number(slash + 1, (size_t)(end - slash - 1), 0, RV__REDIS_DB_MAX, &v))
			return fail(why, why_len, "the database (after /) must be a number in 0-65535");
		out->db = (unsigned)v;
	}
	return 0;
}

static int parse_unix(const char *s, const char *end, struct rv__redis_url *out,
		      char *why, size_t why_len)
{
	const char *p = s, *q = memchr(s, '?', (size_t)(end - s));
	const char *pend = q ? q : end;
	const char *slash = memchr(s, '/', (size_t)(pend - s));
	long v;

	if (userinfo(&p, slash ? slash : pend, out, why, why_len))
		return -1;
	if (p >= pend || *p != '/')
		return fail(why, why_len, "the socket path must be absolute (unix:///path/to.sock)");
	if ((size_t)(pend - p) > RV__REDIS_PATH_MAX)
		return fail(why, why_len, "the socket path is over 107 bytes");
	for (const char *c = p; c < pend; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return fail(why, why_len, "control character in the socket path");
	memcpy(out->path, p, (size_t)(pend - p));
	out->path[pend - p] = 0;
	out->unix_socket = true;
	if (q) {
		if ((size_t)(end - q) < 4 || strncmp(q + 1, "db=", 3))
			return fail(why, why_len, "the only query a unix socket URL takes is ?db=N");
		if (number(q + 4, (size_t)(end - q - 4), 0, RV__REDIS_DB_MAX, &v))
			return fail(why, why_len, "db must be a number in 0-65535");
		out->db = (unsigned)v;
	}
	return 0;
}

int rv__redis_url_parse(const char *url, struct rv__redis_url *out, char *why, size_t why_len)
{
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!url || !*url)
		return fail(why, why_len, "empty Redis URL");
	len = strnlen(url, RV__REDIS_URL_MAX + 1);
	if (len > RV__REDIS_URL_MAX)
		return fail(why, why_len, "Redis URL over 1024 bytes");
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
			return fail(why, why_len, "space or control character in the Redis URL");
	if (!strncmp(url, "redis://", 8))
		return parse_tcp(url + 8, url + len, out, why, why_len);
	if (!strncmp(url, "unix://", 7))
		return parse_unix(url + 7, url + len, out, why, why_len);
	if (!strncmp(url, "rediss://", 9)) {
		out->tls = true;
		return parse_tcp(url + 9, url + len, out, why, why_len);
	}
	return fail(why, why_len, "the Redis URL must start with redis://, rediss:// or unix://");
}

void rv__redis_url_redact(const char *url, char *buf, size_t len)
{
	const char *scheme = strstr(url, "://");
	const char *auth = scheme ? scheme + 3 : NULL;
	const char *slash = auth ? strchr(auth, '/') : NULL;
	size_t alen = auth ? (slash ? (size_t)(slash - auth) : strlen(auth)) : 0;
	const char *at = auth ? memrchr(auth, '@', alen) : NULL;
	const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;

	if (!colon) {
		snprintf(buf, len, "%s", url);
		return;
	}
	snprintf(buf, len, "%.*s:***%s", (int)(colon - url), url, at);
}

int rv__redis_urls_at(const char *list, size_t i, char *url, size_t len)
{
	const char *p = list;
	size_t n;

	if (!list)
		return -1;
	for (; i; i--) {
		if (!(p = strchr(p, ',')))
			return -1;
		p++;
	}
	n = strcspn(p, ",");
	if (n >= len)
		return -1;
	memcpy(url, p, n);
	url[n] = 0;
	return 0;
}

/* Whether a and b are one Redis server (the db number aside). */
static bool same_server(const struct rv__redis_url *a, const struct rv__redis_url *b)
{
	if (a->unix_socket || b->unix_socket)
		return a->unix_socket && b->unix_socket && !strcmp(a->path, b->path);
	return a->port == b->port && !strcasecmp(a->host, b->host);
}

int rv__redis_urls_check(const char *list, size_t *n, char *why, size_t why_len)
{
	struct rv__redis_url *u = NULL;
	char url[RV__REDIS_URL_MAX + 2], one[200];
	size_t count = 1, len;
	int rc = -1;

	if (!list || !*list)
		return fail(why, why_len, "empty Redis URL");
	len = strnlen(list, (RV__REDIS_URL_MAX + 1) * RV__REDIS_SHARDS_MAX + 1);
	for (size_t i = 0; i < len; i++)
		count += list[i] == ',';
	if (count > RV__REDIS_SHARDS_MAX) {
		snprintf(why, why_len, "%zu Redis URLs: at most %d shards", count,
			 RV__REDIS_SHARDS_MAX);
		return -1;
	}
	if (!(u = calloc(count, sizeof(*u))))
		return fail(why, why_len, "out of memory");
	for (size_t i = 0; i < count; i++) {
		if (rv__redis_urls_at(list, i, url, sizeof(url)) ||
		    strlen(url) > RV__REDIS_URL_MAX) {
			snprintf(why, why_len, "Redis URL %zu of %zu is over 1024 bytes", i + 1,
				 count);
			goto out;
		}
		if (count > 1 && !*url) {
			snprintf(why, why_len, "Redis URL %zu of %zu is empty (a stray comma?)",
				 i + 1, count);
			goto out;
		}
		if (rv__redis_url_parse(url, &u[i], one, sizeof(one))) {
			if (count > 1)
				snprintf(why, why_len, "Redis URL %zu of %zu: %s", i + 1, count, one);
			else
				snprintf(why, why_len, "%s", one);
			goto out;
		}
		for (size_t j = 0; j < i; j++)
			if (same_server(&u[i], &u[j])) {
				snprintf(why, why_len, "Redis URLs %zu and %zu name the same server "
					 "(shards must be distinct Redis servers)", j + 1, i + 1);
				goto out;
			}
	}
	if (n)
		*n = count;
	rc = 0;
out:
	free(u);
	return rc;
}

int rv_server_check_redis_url(const char *url, char *why, size_t why_len)
{
	return rv__redis_urls_check(url, NULL, why, why_len);
}
