/* cmd/revenge-probe/scenario_vars.c - dotted paths into a message
 * (scn_path) and "${name}" references: finding and checking them, and
 * replacing them with saved variables (scn_substitute). The parser checks
 * every reference at load, so a malformed one fails before the run starts;
 * substitution happens as each step runs, when the variables are known.
 * Names, paths, nesting and substituted strings are all bounded.
 */
#include "scenario.h"
#include "scenario_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_PATH_MAX 1024     /* match and save paths, bytes */
#define SUBST_MAX (1024 * 1024) /* a string after substitution, bytes */
#define SUBST_DEPTH_MAX 64

#define REF_HINT "expected ${name}, the name 1-64 characters of A-Z a-z 0-9 _"

/* ---- paths ---------------------------------------------------------- */

bool scn__path_ok(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n > FIELD_PATH_MAX || path[0] == '.' || path[n - 1] == '.')
		return false;
	return strstr(path, "..") == NULL;
}

json_t *scn_path(const json_t *msg, const char *path)
{
	const char *p = path;
	json_t *v = (json_t *)msg;

	if (!msg || !path || !scn__path_ok(path))
		return NULL;
	while (v) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (json_is_object(v)) {
			v = json_object_getn(v, p, n);
		} else if (json_is_array(v)) {
			size_t idx = 0;

			if (n > 18)
				return NULL;
			for (size_t i = 0; i < n; i++) {
				if (p[i] < '0' || p[i] > '9')
					return NULL;
				idx = idx * 10 + (size_t)(p[i] - '0');
			}
			v = json_array_get(v, idx);
		} else {
			return NULL;
		}
		if (!dot)
			return v;
		p = dot + 1;
	}
	return NULL;
}

/* ---- variables ------------------------------------------------------ */

bool scn__var_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

bool scn__var_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VAR_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!scn__var_char(s[i]))
			return false;
	return true;
}

/* The next "${name}" in s[from..len): 1 with [*b, *e) spanning it, 0 when
 * there is none, -1 with why when a "${" is not a well-formed reference. */
static int find_ref(const char *s, size_t len, size_t from, size_t *b, size_t *e,
		    char *why, size_t whylen)
{
	char q[SHOW_BUF];

	for (size_t i = from; i + 1 < len; i++) {
		size_t j = i + 2;

		if (s[i] != '$' || s[i + 1] != '{')
			continue;
		while (j < len && scn__var_char(s[j]))
			j++;
		if (j >= len || s[j] != '}' || j == i + 2 || j - (i + 2) > VAR_MAX) {
			if (!memchr(s + i, '}', len - i))
				scn__say(why, whylen, "unterminated ${ in %s",
					 scn__quote(s, len, q));
			else
				scn__say(why, whylen, "bad reference in %s: " REF_HINT,
					 scn__quote(s, len, q));
			return -1;
		}
		*b = i;
		*e = j + 1;
		return 1;
	}
	return 0;
}

bool scn__has_ref(const json_t *v)
{
	return json_is_string(v) && strstr(json_string_value(v), "${") != NULL;
}

bool scn__whole_ref(const json_t *v)
{
	size_t b, e, n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	return find_ref(json_string_value(v), n, 0, &b, &e, NULL, 0) == 1 && b == 0 && e == n;
}

int scn__refs_check_str(const char *s, size_t len, char *why, size_t whylen)
{
	size_t b, e = 0;
	int r;

	while ((r = find_ref(s, len, e, &b, &e, why, whylen)) == 1)
		;
	return r;
}

int scn__refs_check(const json_t *v, char *why, size_t whylen)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_string(v))
		return scn__refs_check_str(json_string_value(v), json_string_length(v), why,
					   whylen);
	if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, x)
			if (scn__refs_check(x, why, whylen) < 0)
				return -1;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x)
			if (scn__refs_check(x, why, whylen) < 0)
				return -1;
	}
	return 0;
}

static const json_t *lookup(const json_t *vars, const char *name, size_t n)
{
	return json_is_object(vars) ? json_object_getn(vars, name, n) : NULL;
}

struct buf {
	char *p;
	size_t len, cap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
	if (n == 0)
		return 0;
	if (n > SUBST_MAX - b->len)
		return -1;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		if (cap > SUBST_MAX)
			cap = SUBST_MAX;
		if (!(p = realloc(b->p, cap)))
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

/* A value's text inside a string: strings as they are, numbers shortest
 * round-trip, anything else as compact JSON. */
static int buf_put_value(struct buf *b, const json_t *v)
{
	char num[40];
	char *dump;
	int r;

	if (json_is_string(v))
		return buf_put(b, json_string_value(v), json_string_length(v));
	if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf_put(b, num, strlen(num));
	}
	if (json_is_real(v)) {
		scn__real_text(json_real_value(v), num, sizeof(num));
		return buf_put(b, num, strlen(num));
	}
	if (!(dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
		return -1;
	r = buf_put(b, dump, strlen(dump));
	free(dump);
	return r;
}

json_t *scn__subst_string(const char *s, size_t len, const json_t *vars, bool typed,
			  char *why, size_t whylen)
{
	struct buf out = { NULL, 0, 0 };
	size_t from = 0, b, e;
	json_t *res = NULL;
	int r;

	while ((r = find_ref(s, len, from, &b, &e, why, whylen)) == 1) {
		const json_t *val = lookup(vars, s + b + 2, e - b - 3);

		if (!val) {
			scn__say(why, whylen, "unknown variable %.*s", (int)(e - b), s + b);
			goto out;
		}
		if (typed && b == 0 && e == len) {
			if (!(res = json_deep_copy(val)))
				scn__say(why, whylen, "out of memory");
			goto out;
		}
		if (buf_put(&out, s + from, b - from) < 0 || buf_put_value(&out, val) < 0) {
			scn__say(why, whylen, "a substituted string exceeds %d bytes", SUBST_MAX);
			goto out;
		}
		from = e;
	}
	if (r < 0)
		goto out;
	if (from == 0) {
		res = json_stringn(s, len);
	} else if (buf_put(&out, s + from, len - from) < 0) {
		scn__say(why, whylen, "a substituted string exceeds %d bytes", SUBST_MAX);
		goto out;
	} else {
		res = json_stringn(out.p, out.len);
	}
	if (!res)
		scn__say(why, whylen, "out of memory");
out:
	free(out.p);
	return res;
}

static json_t *subst(const json_t *v, const json_t *vars, int depth, char *why, size_t whylen)
{
	const char *key;
	json_t *x, *res = NULL, *c;
	size_t i;

	if (!v) {
		scn__say(why, whylen, "no value");
		return NULL;
	}
	if (depth > SUBST_DEPTH_MAX) {
		scn__say(why, whylen, "nested deeper than %d levels", SUBST_DEPTH_MAX);
		return NULL;
	}
	if (json_is_string(v))
		return scn__subst_string(json_string_value(v), json_string_length(v), vars, true,
					 why, whylen);
	if (json_is_array(v) && (res = json_array())) {
		json_array_foreach((json_t *)v, i, x) {
			if (!(c = subst(x, vars, depth + 1, why, whylen)))
				goto fail;
			if (json_array_append_new(res, c) < 0)
				goto oom;
		}
		return res;
	}
	if (json_is_object(v) && (res = json_object())) {
		json_object_foreach((json_t *)v, key, x) {
			if (!(c = subst(x, vars, depth + 1, why, whylen)))
				goto fail;
			if (json_object_set_new(res, key, c) < 0)
				goto oom;
		}
		return res;
	}
	if (!json_is_array(v) && !json_is_object(v) && (res = json_deep_copy(v)))
		return res;
oom:
	scn__say(why, whylen, "out of memory");
fail:
	json_decref(res);
	return NULL;
}

json_t *scn_substitute(const json_t *v, const json_t *vars, char *why, size_t whylen)
{
	return subst(v, vars, 0, why, whylen);
}
