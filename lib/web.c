/* lib/web.c - the web client over plain HTTP (see web.h): routes, the
 * compiled-in files (web/ through scripts/embed-web.sh, as
 * web_assets.h in the build tree), --web-root files, Content-Type, ETag
 * and the page's Content-Security-Policy. No sockets: server.c writes
 * what rv__web_route decides.
 */
#include "web.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "revenge/proto.h"

struct web_asset {
	const char *name;
	const unsigned char *data;
	size_t len;
};

#include "web_assets.h"

#define PARTY_PREFIX "/party/"
#define FILES_PREFIX "/web/"
#define PATH_MAX_LEN 256        /* a /web/ path, bytes */

static const struct { const char *ext, *ctype; } types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".webm", "video/webm" },
	{ ".mp4", "video/mp4" },
	{ ".ogv", "video/ogg" },
	{ ".vtt", "text/vtt; charset=utf-8" },
	{ ".txt", "text/plain; charset=utf-8" },
};

static const char *ctype_of(const char *name)
{
	size_t n = strlen(name);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t e = strlen(types[i].ext);

		if (n > e && !strcmp(name + n - e, types[i].ext))
			return types[i].ctype;
	}
	return "application/octet-stream";
}

/* FNV-1a 64 of the bytes, as a strong ETag. */
static void etag_of(const unsigned char *d, size_t len, char out[24])
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ d[i]) * 0x100000001b3ull;
	snprintf(out, 24, "\"%016llx\"", (unsigned long long)h);
}

/* True when rel is segments of [A-Za-z0-9._-], none empty or starting
 * with '.', joined by single '/': nothing that can leave the root. */
static bool safe_rel(const char *rel)
{
	size_t n = strlen(rel);
	bool seg_start = true;

	if (n == 0 || n > PATH_MAX_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = rel[i];

		if (c == '/') {
			if (seg_start)
				return false;
			seg_start = true;
			continue;
		}
		if (seg_start && c == '.')
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
		seg_start = false;
	}
	return !seg_start;
}

static void set(struct rv__web_reply *r, unsigned status, const char *ctype,
		const unsigned char *body, size_t len)
{
	r->status = status;
	r->ctype = ctype;
	r->body = body;
	r->len = len;
}

static bool not_found(struct rv__web_reply *r)
{
	static const char msg[] = "not found\n";

	set(r, 404, "text/plain; charset=utf-8", (const unsigned char *)msg, sizeof(msg) - 1);
	r->etag[0] = 0;
	return true;
}

/* rel under root: read whole into r (owned), or 404/413/500. A symlink
 * anywhere on the way out of the root is refused: the real path must
 * stay under the root's real path. */
static bool from_root(const char *root, const char *rel, struct rv__web_reply *r)
{
	char path[PATH_MAX], real[PATH_MAX], rroot[PATH_MAX];
	struct stat st;
	unsigned char *buf = NULL;
	size_t rl, got = 0;
	int fd;

	if (!realpath(root, rroot) ||
	    snprintf(path, sizeof(path), "%s/%s", rroot, rel) >= (int)sizeof(path) ||
	    !realpath(path, real))
		return not_found(r);
	rl = strlen(rroot);
	if (strncmp(real, rroot, rl) || real[rl] != '/')
		return not_found(r);
	fd = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return not_found(r);
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return not_found(r);
	}
	if ((uint64_t)st.st_size > RV__WEB_FILE_MAX) {
		static const char msg[] = "file too large for --web-root\n";

		close(fd);
		set(r, 413, "text/plain; charset=utf-8", (const unsigned char *)msg,
		    sizeof(msg) - 1);
		return true;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (!buf || got != (size_t)st.st_size) {
		static const char msg[] = "cannot read the file\n";

		free(buf);
		set(r, 500, "text/plain; charset=utf-8", (const unsigned char *)msg,
		    sizeof(msg) - 1);
		return true;
	}
	r->owned = buf;
	set(r, 200, ctype_of(rel), buf, got);
	return true;
}

static bool compiled_in(const char *rel, struct rv__web_reply *r)
{
	for (size_t i = 0; i < sizeof(web_assets) / sizeof(web_assets[0]); i++)
		if (!strcmp(web_assets[i].name, rel)) {
			set(r, 200, ctype_of(rel), web_assets[i].data, web_assets[i].len);
			return true;
		}
	return not_found(r);
}

/* Parse one "bytes=A-B" range of a body of len bytes into [*a, *b]:
 * 1 when it is one, 0 to ignore the header, -1 when it lies past the end. */
static int parse_range(const char *h, size_t len, size_t *a, size_t *b)
{
	unsigned long long x = 0, y = 0;
	bool has_x = false, has_y = false;
	const char *p;

	if (!h || strncmp(h, "bytes=", 6))
		return 0;
	p = h + 6;
	for (; *p >= '0' && *p <= '9'; p++, has_x = true)
		if ((x = x * 10 + (unsigned)(*p - '0')) > (1ull << 40))
			return 0;
	if (*p++ != '-')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++, has_y = true)
		if ((y = y * 10 + (unsigned)(*p - '0')) > (1ull << 40))
			return 0;
	if (*p || (!has_x && !has_y))
		return 0;               /* several ranges, or garbage: whole */
	if (!has_x) {                   /* the last y bytes */
		if (y == 0)
			return -1;
		*a = y >= len ? 0 : len - (size_t)y;
		*b = len - 1;
	} else {
		if (has_y && y < x)
			return 0;
		if (x >= len)
			return -1;
		*a = (size_t)x;
		*b = !has_y || y >= len ? len - 1 : (size_t)y;
	}
	return len ? 1 : -1;
}

bool rv__web_route(const char *root, const char *uri, const char *if_none_match,
		   const char *range, struct rv__web_reply *r)
{
	size_t a, b;
	int rc;

	const char *rel;

	memset(r, 0, sizeof(*r));
	if (!uri)
		return false;
	if (!strcmp(uri, "/")) {
		rel = "index.html";
	} else if (!strncmp(uri, PARTY_PREFIX, strlen(PARTY_PREFIX))) {
		const char *id = uri + strlen(PARTY_PREFIX);

		if (!rv_proto_valid_id(id, strlen(id)))
			return not_found(r);
		rel = "index.html";
	} else if (!strncmp(uri, FILES_PREFIX, strlen(FILES_PREFIX))) {
		rel = uri + strlen(FILES_PREFIX);
		if (!safe_rel(rel))
			return not_found(r);
	} else {
		return false;
	}
	if (!(root ? from_root(root, rel, r) : compiled_in(rel, r)) || r->status != 200)
		return true;
	etag_of(r->body, r->len, r->etag);
	if (if_none_match && strstr(if_none_match, r->etag)) {
		free(r->owned);
		r->owned = NULL;
		set(r, 304, r->ctype, NULL, 0);
		return true;
	}
	rc = parse_range(range, r->len, &a, &b);
	if (rc < 0) {
		static const char msg[] = "range not satisfiable\n";

		snprintf(r->content_range, sizeof(r->content_range), "bytes */%zu", r->len);
		free(r->owned);
		r->owned = NULL;
		set(r, 416, "text/plain; charset=utf-8", (const unsigned char *)msg,
		    sizeof(msg) - 1);
	} else if (rc > 0) {
		snprintf(r->content_range, sizeof(r->content_range), "bytes %zu-%zu/%zu", a, b,
			 r->len);
		r->status = 206;
		r->body += a;
		r->len = b - a + 1;
	}
	return true;
}

/* A Host header that can go into a header value as it is. */
static bool plain_host(const char *h)
{
	size_t n = h ? strlen(h) : 0;

	if (n == 0 || n > 255)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') || (h[i] >= 'A' && h[i] <= 'Z') ||
		      (h[i] >= '0' && h[i] <= '9') || strchr(".-:[]", h[i])))
			return false;
	return true;
}

void rv__web_csp(const char *host, char *buf, size_t len)
{
	char ws[600] = "";

	if (plain_host(host))
		snprintf(ws, sizeof(ws), " ws://%s wss://%s", host, host);
	snprintf(buf, len,
		 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
		 "connect-src 'self'%s; media-src 'self' https: http:; "
		 "base-uri 'none'; form-action 'none'; frame-ancestors 'none'", ws);
}
