/* cmd/revenge-server/config.c - the configuration file's syntax (INI, read
 * with libinih) and the masking of secrets for --check-config; see config.h.
 *
 * libinih reads a line at a time through a reader we give it, so the reader
 * counts lines and the key handler knows which line it is on: that is how
 * every error names FILE:LINE, with the library built as Debian ships it
 * (no line numbers passed to handlers).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <ini.h>

struct reader {
	FILE *f;
	char *buf;                /* getline's */
	size_t bufcap;
	int line;                 /* lines handed to inih so far */
	struct srv_config *cfg;
	srv_config_check check;
	void *user;
	int err_line;             /* first problem found here, 0: none */
	char err[300];
};

__attribute__((format(printf, 3, 4)))
static void note(struct reader *r, int line, const char *fmt, ...)
{
	va_list ap;

	if (r->err_line && r->err_line <= line)
		return;
	r->err_line = line;
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

/* inih's reader: one line of the file into str (num bytes). A line too long
 * for inih's buffer is noted and handed over empty, so it is neither cut
 * into pieces nor read as something else. */
static char *next_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	ssize_t n = getline(&r->buf, &r->bufcap, r->f);
	const char *start;
	size_t len;

	if (n < 0)
		return NULL;
	r->line++;
	/* Indentation is dropped: inih would read an indented line as more of
	 * the previous value (Python's multi-line values), which no key here
	 * takes; each value is one line. */
	start = r->buf + strspn(r->buf, " \t");
	len = (size_t)n - (size_t)(start - r->buf);
	while (len && (start[len - 1] == '\n' || start[len - 1] == '\r'))
		len--;
	/* inih keeps room for "\r\n" and the terminator */
	if (num < 4 || len > (size_t)num - 3) {
		note(r, r->line, "line too long (%zu characters; at most %d)", len, num - 3);
		len = 0;
	}
	memcpy(str, start, len);
	str[len] = '\0';
	return str;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
	struct reader *r = user;
	struct srv_config *c = r->cfg;
	struct srv_config_entry *e;
	char why[256];

	(void)section;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		struct srv_config_entry *grown = realloc(c->e, cap * sizeof(*grown));

		if (!grown) {
			note(r, r->line, "out of memory");
			return 0;
		}
		c->e = grown;
		c->cap = cap;
	}
	e = &c->e[c->n];
	e->line = r->line;
	e->key = strdup(name);
	e->value = strdup(value ? value : "");
	if (!e->key || !e->value) {
		free(e->key);
		free(e->value);
		note(r, r->line, "out of memory");
		return 0;
	}
	c->n++;
	if (r->check && r->check(r->user, r->line, name, value ? value : "", why, sizeof(why))) {
		note(r, r->line, "%s", why);
		return 0;
	}
	return 1;
}

/* Parse the open stream f of the file named path; closes f. */
static int read_stream(FILE *f, const char *path, struct srv_config *cfg, srv_config_check check,
		       void *user, char *err, size_t errlen)
{
	struct reader r = { .f = f, .cfg = cfg, .check = check, .user = user };
	int rc, ret = -1;

	rc = ini_parse_stream(next_line, &r, on_pair, &r);
	if (ferror(r.f)) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		goto out;
	}
	/* inih reports the first line it could not parse; ours may come first */
	if (r.err_line && (rc <= 0 || r.err_line <= rc))
		snprintf(err, errlen, "%s:%d: %s", path, r.err_line, r.err);
	else if (rc > 0)
		snprintf(err, errlen, "%s:%d: expected 'key = value', '[section]' or a comment",
			 path, rc);
	else if (rc < 0)
		snprintf(err, errlen, "%s: out of memory", path);
	else
		ret = 0;
out:
	free(r.buf);
	fclose(r.f);
	return ret;
}

int srv_config_read(const char *path, struct srv_config *cfg, srv_config_check check,
		    void *user, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	return read_stream(f, path, cfg, check, user, err, errlen);
}

int srv_config_read_text(const char *path, const char *text, size_t len, struct srv_config *cfg,
			 srv_config_check check, void *user, char *err, size_t errlen)
{
	FILE *f;

	if (!len)
		return 0;             /* an empty file: no keys */
	f = fmemopen((void *)text, len, "r");
	if (!f) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return read_stream(f, path, cfg, check, user, err, errlen);
}

int srv_config_slurp(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t n = 0;

	*text = NULL;
	*len = 0;
	if (!f || !(buf = malloc(SRV_CONFIG_TEXT_MAX + 1))) {
		snprintf(err, errlen, "cannot read '%s': %s", path, f ? "out of memory" :
			 strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	n = fread(buf, 1, SRV_CONFIG_TEXT_MAX + 1, f);
	if (ferror(f) || n > SRV_CONFIG_TEXT_MAX) {
		snprintf(err, errlen, "cannot read '%s': %s", path,
			 ferror(f) ? strerror(errno) : "over 1 MiB");
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	*text = buf;
	*len = n;
	return 0;
}

void srv_config_free(struct srv_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->e[i].key);
		free(cfg->e[i].value);
	}
	free(cfg->e);
	memset(cfg, 0, sizeof(*cfg));
}

/* Append n bytes of s to out (used of outlen so far in *used), cutting at
 * the end of out. */
static void put(char *out, size_t outlen, size_t *used, const char *s, size_t n)
{
	if (*used + 1 >= outlen)
		return;
	if (n > outlen - 1 - *used)
		n = outlen - 1 - *used;
	memcpy(out + *used, s, n);
	*used += n;
	out[*used] = '\0';
}

void srv_mask_url(const char *url, char *out, size_t outlen)
{
	const char *scheme = strstr(url, "://"), *p, *auth_end, *at = NULL, *colon;
	size_t used = 0;

	if (!outlen)
		return;
	out[0] = '\0';
	if (!scheme) {
		put(out, outlen, &used, url, strlen(url));
		return;
	}
	/* the authority: up to the path, query or fragment; its last '@' ends
	 * the user information ("unix://:pw@/run/redis.sock" has a path) */
	auth_end = scheme + 3 + strcspn(scheme + 3, "/?#");
	for (p = scheme + 3; p < auth_end; p++)
		if (*p == '@')
			at = p;
	colon = at ? memchr(scheme + 3, ':', (size_t)(at - (scheme + 3))) : NULL;
	if (colon) {
		put(out, outlen, &used, url, (size_t)(colon + 1 - url));
		put(out, outlen, &used, "****", 4);
		p = at;
	} else {
		p = url;
	}
	/* the rest, with libpq's password=... query parameter masked */
	while (*p) {
		size_t n = strcspn(p, "?&");

		put(out, outlen, &used, p, n);
		p += n;
		if (!*p)
			break;
		put(out, outlen, &used, p, 1);
		p++;
		if (!strncmp(p, "password=", 9)) {
			put(out, outlen, &used, "password=****", 13);
			p += 9 + strcspn(p + 9, "&#");
		}
	}
}

void srv_default_db(char *out, size_t outlen)
{
	const char *dir = getenv("STATE_DIRECTORY");
	size_t n = dir ? strcspn(dir, ":") : 0;

	if (n && n + sizeof("/revenge.db") <= outlen)
		snprintf(out, outlen, "%.*s/revenge.db", (int)n, dir);
	else
		snprintf(out, outlen, "%s", SRV_DEFAULT_DB);
}
