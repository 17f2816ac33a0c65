/* cmd/revenge-probe/scenario.c - scenario files for `revenge-probe run`:
 * parse and validate the JSON text into struct scenario, evaluate field
 * matchers against received messages, substitute saved variables.
 *
 * Pure: text and values in, values and messages out; no I/O, no clock.
 * Scenario files are written by hand, so every mistake is reported once,
 * precisely, with the field path and the line it is on. jansson keeps no
 * line per value, so a small scanner over the (already accepted) text finds
 * where a field starts. Hostile input is bounded before jansson sees it:
 * size, NUL bytes and nesting depth.
 */
#include "scenario.h"

#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <revenge/proto.h>

#define INPUT_MAX (1024 * 1024)
#define CLIENTS_MAX 64
#define STEPS_MAX 10000
#define DEPTH_MAX 32            /* [ and { levels, the root included */
#define WS_PATH_MAX 2000        /* client path and origin, bytes */
#define TYPE_MAX 256            /* expect: message type, bytes */
#define FIELD_PATH_MAX 1024     /* match and save paths, bytes */
#define REGEX_MAX 1024
#define REGEX_COST_MAX 1000     /* nodes after expanding {m,n} and +, about */
#define REGEX_EMPTY_MAX 150     /* of those, nodes that can match empty */
#define REGEX_GROUPS_MAX 64     /* nested ( */
#define VAR_MAX 64
#define SUBST_MAX (1024 * 1024) /* a string after substitution, bytes */
#define SUBST_DEPTH_MAX 64
#define SHOW_MAX 80             /* values quoted in messages, bytes */
#define SHOW_BUF (SHOW_MAX + 16)
#define DEFAULT_TIMEOUT_MS 5000.0
#define HOUR_MS 3600000.0
#define WHERE_MAX 8

#define DURATION_HINT "expected a duration like 500ms, 2s or 1m"
#define PATH_HINT "expected a dotted path like \"payload.members.0.name\""
#define REF_HINT "expected ${name}, the name 1-64 characters of A-Z a-z 0-9 _"

/* ---- messages ------------------------------------------------------- */

__attribute__((format(printf, 3, 4)))
static void say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (!buf || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* say() and return false, for the matchers. */
#define NO(...) (say(why, whylen, __VA_ARGS__), false)

struct sink {
	char *buf;
	size_t cap, len;
	bool cut;
};

static int sink_put(const char *s, size_t n, void *data)
{
	struct sink *k = data;

	if (n > k->cap - k->len) {
		memcpy(k->buf + k->len, s, k->cap - k->len);
		k->len = k->cap;
		k->cut = true;
		return -1;
	}
	memcpy(k->buf + k->len, s, n);
	k->len += n;
	return 0;
}

/* The shortest text that reads back as d, with a '.' whatever the locale. */
static const char *real_text(double d, char *num, size_t size)
{
	char point = localeconv()->decimal_point[0], *c;

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(num, size, "%.*g", prec, d);
		if (strtod(num, NULL) == d)
			break;
	}
	if (point != '.' && (c = strchr(num, point)))
		*c = '.';
	return num;
}

/* v as compact JSON, at most SHOW_MAX bytes then "...". buf has SHOW_BUF
 * bytes. Returns buf. */
static const char *show(const json_t *v, char *buf)
{
	struct sink k = { buf, SHOW_MAX, 0, false };
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);

	if (!v)
		return strcpy(buf, "missing");
	if (json_is_real(v))
		return real_text(json_real_value(v), buf, SHOW_BUF);
	if (json_dump_callback(v, sink_put, &k, flags) != 0 && !k.cut)
		return strcpy(buf, "(unprintable)");
	if (k.cut) {
		k.len = rv_utf8_cut(buf, k.len, k.len);
		memcpy(buf + k.len, "...", 4);
	} else {
		buf[k.len] = '\0';
	}
	return buf;
}

/* s[0..len) as a JSON string literal, clipped like show(). */
static const char *quote(const char *s, size_t len, char *buf)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < len && o < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, 7, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (i < len) {
		o = 1 + rv_utf8_cut(buf + 1, o - 1, o - 1);
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

/* A path for messages, clipped. */
static const char *clip(const char *s, char *buf)
{
	size_t n = strlen(s);

	if (n > SHOW_MAX)
		n = rv_utf8_cut(s, n, SHOW_MAX);
	memcpy(buf, s, n);
	strcpy(buf + n, s[n] ? "..." : "");
	return buf;
}

/* ---- durations ------------------------------------------------------ */

/* 0 with *ms, -1 when not a duration, -2 when outside (0, 1 hour]. */
static int duration(const char *s, double *ms)
{
	double mant = 0, div = 1, unit;
	size_t i = 0, digits = 0;

	if (!s || strlen(s) > 32)
		return -1;
	for (; s[i] >= '0' && s[i] <= '9'; i++, digits++)
		mant = mant * 10 + (s[i] - '0');
	if (digits == 0)
		return -1;
	if (s[i] == '.') {
		size_t frac = 0;

		for (i++; s[i] >= '0' && s[i] <= '9'; i++, frac++) {
			mant = mant * 10 + (s[i] - '0');
			div *= 10;
		}
		if (frac == 0)
			return -1;
	}
	if (strcmp(s + i, "ms") == 0)
		unit = 1;
	else if (strcmp(s + i, "s") == 0 || s[i] == '\0')
		unit = 1000;
	else if (strcmp(s + i, "m") == 0)
		unit = 60000;
	else
		return -1;
	*ms = mant / div * unit;
	return *ms > 0 && *ms <= HOUR_MS ? 0 : -2;
}

double scn_duration_ms(const char *s)
{
	double ms;

	return duration(s, &ms) == 0 ? ms : -1;
}

/* A duration field: a string as above or a JSON number of seconds. */
static int json_duration(const json_t *v, double *ms)
{
	if (json_is_string(v))
		return duration(json_string_value(v), ms);
	if (!json_is_number(v))
		return -1;
	*ms = json_number_value(v) * 1000;
	return *ms > 0 && *ms <= HOUR_MS ? 0 : -2;
}

/* ---- paths ---------------------------------------------------------- */

/* True when path is non-empty dotted components, none empty. */
static bool path_ok(const char *path)
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

	if (!msg || !path || !path_ok(path))
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

static bool var_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool var_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > VAR_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!var_char(s[i]))
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
		while (j < len && var_char(s[j]))
			j++;
		if (j >= len || s[j] != '}' || j == i + 2 || j - (i + 2) > VAR_MAX) {
			if (!memchr(s + i, '}', len - i))
				say(why, whylen, "unterminated ${ in %s", quote(s, len, q));
			else
				say(why, whylen, "bad reference in %s: " REF_HINT, quote(s, len, q));
			return -1;
		}
		*b = i;
		*e = j + 1;
		return 1;
	}
	return 0;
}

static bool has_ref(const json_t *v)
{
	return json_is_string(v) && strstr(json_string_value(v), "${") != NULL;
}

/* True when v is a string that is exactly one well-formed "${name}". */
static bool whole_ref(const json_t *v)
{
	size_t b, e, n;

	if (!json_is_string(v))
		return false;
	n = json_string_length(v);
	return find_ref(json_string_value(v), n, 0, &b, &e, NULL, 0) == 1 && b == 0 && e == n;
}

/* 0 when every "${" in s[0..len) opens a well-formed reference, else -1
 * with why. */
static int refs_check_str(const char *s, size_t len, char *why, size_t whylen)
{
	size_t b, e = 0;
	int r;

	while ((r = find_ref(s, len, e, &b, &e, why, whylen)) == 1)
		;
	return r;
}

/* refs_check_str() over every string of v. */
static int refs_check(const json_t *v, char *why, size_t whylen)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_string(v))
		return refs_check_str(json_string_value(v), json_string_length(v), why, whylen);
	if (json_is_array(v)) {
		json_array_foreach((json_t *)v, i, x)
			if (refs_check(x, why, whylen) < 0)
				return -1;
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, x)
			if (refs_check(x, why, whylen) < 0)
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
		real_text(json_real_value(v), num, sizeof(num));
		return buf_put(b, num, strlen(num));
	}
	if (!(dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)))
		return -1;
	r = buf_put(b, dump, strlen(dump));
	free(dump);
	return r;
}

/* s[0..len) with references replaced. typed: a string that is exactly one
 * reference becomes a copy of the variable, whatever its JSON type. */
static json_t *subst_string(const char *s, size_t len, const json_t *vars, bool typed,
			    char *why, size_t whylen)
{
	struct buf out = { NULL, 0, 0 };
	size_t from = 0, b, e;
	json_t *res = NULL;
	int r;

	while ((r = find_ref(s, len, from, &b, &e, why, whylen)) == 1) {
		const json_t *val = lookup(vars, s + b + 2, e - b - 3);

		if (!val) {
			say(why, whylen, "unknown variable %.*s", (int)(e - b), s + b);
			goto out;
		}
		if (typed && b == 0 && e == len) {
			if (!(res = json_deep_copy(val)))
				say(why, whylen, "out of memory");
			goto out;
		}
		if (buf_put(&out, s + from, b - from) < 0 || buf_put_value(&out, val) < 0) {
			say(why, whylen, "a substituted string exceeds %d bytes", SUBST_MAX);
			goto out;
		}
		from = e;
	}
	if (r < 0)
		goto out;
	if (from == 0) {
		res = json_stringn(s, len);
	} else if (buf_put(&out, s + from, len - from) < 0) {
		say(why, whylen, "a substituted string exceeds %d bytes", SUBST_MAX);
		goto out;
	} else {
		res = json_stringn(out.p, out.len);
	}
	if (!res)
		say(why, whylen, "out of memory");
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
		say(why, whylen, "no value");
		return NULL;
	}
	if (depth > SUBST_DEPTH_MAX) {
		say(why, whylen, "nested deeper than %d levels", SUBST_DEPTH_MAX);
		return NULL;
	}
	if (json_is_string(v))
		return subst_string(json_string_value(v), json_string_length(v), vars, true,
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
	say(why, whylen, "out of memory");
fail:
	json_decref(res);
	return NULL;
}

json_t *scn_substitute(const json_t *v, const json_t *vars, char *why, size_t whylen)
{
	return subst(v, vars, 0, why, whylen);
}

/* ---- matchers ------------------------------------------------------- */

static const char *const matcher_keys[] = {
	"equals", "min", "max", "approx", "tol", "exists", "regex", "one_of", "type", NULL
};

static const char *const type_names[] = {
	"string", "number", "boolean", "null", "object", "array", NULL
};

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* A matcher object has only matcher keys; any other value is a literal. */
static bool is_matcher(const json_t *m)
{
	const char *key;
	json_t *x;

	if (!json_is_object(m) || json_object_size(m) == 0)
		return false;
	json_object_foreach((json_t *)m, key, x)
		if (!in_list(key, matcher_keys))
			return false;
	return true;
}

/* p at '[': the ']' that closes the bracket expression, or the last byte. */
static const char *bracket_end(const char *p)
{
	p++;
	if (*p == '^')
		p++;
	if (*p == ']')
		p++;
	for (; *p && *p != ']'; p++) {
		if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
			const char *e = strchr(p + 2, p[1]);

			while (e && e[1] != ']')
				e = strchr(e + 1, p[1]);
			if (!e)
				break;
			p = e + 1;
		}
	}
	return *p ? p : p - 1;
}

/* p just after '{': parses "m}", "m,}", "m,n}" or ",n}" (glibc reads it
 * as "0,n") into the largest count (m + 1 for "m,"), saturated; returns the
 * '}' or NULL. */
static const char *regex_bound(const char *p, double *count)
{
	double lo = 0, hi = 0;
	const char *q = p;

	for (; *q >= '0' && *q <= '9'; q++)
		lo = lo < 1e9 ? lo * 10 + (*q - '0') : lo;
	if (q == p && *q != ',')
		return NULL;
	hi = lo;
	if (*q == ',') {
		const char *n = ++q;

		for (hi = 0; *q >= '0' && *q <= '9'; q++)
			hi = hi < 1e9 ? hi * 10 + (*q - '0') : hi;
		hi = q == n ? lo + 1 : hi > lo ? hi : lo;
	}
	*count = hi;
	return *q == '}' ? q : NULL;
}

/* A piece of a regex, for regex_cost(): how many nodes it makes, how many
 * of those can match empty (glibc's work grows about with the cube of
 * those under a repetition), and whether it can match empty itself. */
struct re_piece {
	double size, nsize;
	bool nullable;
};

struct re_group {
	struct re_piece alt;        /* finished branches */
	struct re_piece seq;        /* the current branch */
	struct re_piece last;       /* what a repetition applies to */
	size_t hard;                /* items of seq that cannot match empty */
	bool has_last;
};

static void re_add(struct re_group *g, struct re_piece x)
{
	g->seq.size += x.size;
	g->seq.nsize += x.nsize;
	g->hard += !x.nullable;
	g->last = x;
	g->has_last = true;
}

/* Replace the last piece of g with y, the last piece repeated. */
static void re_repeat(struct re_group *g, struct re_piece y)
{
	g->seq.size += y.size - g->last.size;
	g->seq.nsize += y.nsize - g->last.nsize;
	g->hard += (size_t)!y.nullable - (size_t)!g->last.nullable;
	g->last = y;
}

static void re_branch(struct re_group *g)
{
	g->alt.size += g->seq.size;
	g->alt.nsize += g->seq.nsize;
	g->alt.nullable |= g->hard == 0;
	g->seq.size = g->seq.nsize = 0;
	g->hard = 0;
	g->has_last = false;
}

/* The cost of regcomp() on an extended regex, roughly: bounded repetition
 * and + copy their operand, so "((a{1,100}){1,100}){1,100}" makes a million
 * nodes, and pieces that match empty under repetition ("^(){2,400}x") cost
 * far more (seconds and gigabytes in glibc). Returns false with *why_cost
 * saying which limit the pattern passes. */
static bool regex_cheap(const char *p, const char **why_cost)
{
	static const struct re_piece atom = { 1, 0, false }, anchor = { 1, 1, true };
	struct re_group st[REGEX_GROUPS_MAX + 1];
	struct re_piece x;
	bool repeated = false;      /* the last thing read was a repetition */
	const char *end;
	double n;
	int d = 0;

	memset(st, 0, sizeof(st));
	*why_cost = "repeats too much";
	for (; *p; p++) {
		bool rep = *p == '*' || *p == '?' || *p == '+' ||
			   (*p == '{' && regex_bound(p + 1, &n));

		if (rep && repeated) {
			*why_cost = "has two repetitions in a row (like a+? or a**), which POSIX "
				    "leaves undefined";
			return false;
		}
		repeated = rep;
		if (rep && !st[d].has_last) {
			re_add(&st[d], atom);       /* a literal, or an error for regcomp */
			continue;
		}
		x = st[d].last;
		switch (*p) {
		case '\\':
			p += p[1] != '\0';
			re_add(&st[d], strchr("bB<>`'", *p) ? anchor : atom);
			break;
		case '[':
			p = bracket_end(p);
			re_add(&st[d], atom);
			break;
		case '^':
		case '$':
			re_add(&st[d], anchor);
			break;
		case '(':
			if (++d > REGEX_GROUPS_MAX)
				return false;
			memset(&st[d], 0, sizeof(st[d]));
			break;
		case ')':
			if (d == 0) {
				re_add(&st[d], atom);
				break;
			}
			re_branch(&st[d]);
			x = st[d].alt;
			x.size += 1;
			x.nsize += x.nullable;
			re_add(&st[--d], x);
			break;
		case '|':
			re_branch(&st[d]);
			break;
		case '*':
		case '?':
			re_repeat(&st[d], (struct re_piece){ x.size + 1, x.nsize + 1, true });
			break;
		case '+':               /* a+ is aa* */
			re_repeat(&st[d], (struct re_piece){ 2 * x.size + 1,
							     2 * x.nsize + x.nullable, x.nullable });
			break;
		case '{':               /* a{m,n} is n copies of a */
			if (!rep) {
				re_add(&st[d], atom);
				break;
			}
			end = regex_bound(p + 1, &n);
			re_repeat(&st[d], (struct re_piece){ x.size * n + 1, x.nsize * n,
							     x.nullable || p[1] == '0' ||
							     p[1] == ',' });
			p = end;
			break;
		default:
			re_add(&st[d], atom);
		}
		if (st[d].alt.size + st[d].seq.size > REGEX_COST_MAX ||
		    st[d].alt.nsize + st[d].seq.nsize > REGEX_EMPTY_MAX)
			return false;
	}
	for (x.size = x.nsize = 0; d >= 0; d--) {
		x.size += st[d].alt.size + st[d].seq.size;
		x.nsize += st[d].alt.nsize + st[d].seq.nsize;
	}
	return x.size <= REGEX_COST_MAX && x.nsize <= REGEX_EMPTY_MAX;
}

static int regex_compile(regex_t *re, const char *pattern, char *why, size_t whylen)
{
	char msg[128], q[SHOW_BUF];
	const char *cost;
	int rc;

	if (strlen(pattern) > REGEX_MAX) {
		say(why, whylen, "longer than %d bytes", REGEX_MAX);
		return -1;
	}
	if (!regex_cheap(pattern, &cost)) {
		say(why, whylen, "%s %s", quote(pattern, strlen(pattern), q), cost);
		return -1;
	}
	if ((rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, NULL, msg, sizeof(msg));
		say(why, whylen, "%s is not a POSIX extended regex: %s",
		    quote(pattern, strlen(pattern), q), msg);
		return -1;
	}
	return 0;
}

/* Check a matcher object. refs: the matcher is not substituted yet, so a
 * field may hold a reference (a whole "${name}" where a number, a bool or
 * an array is expected). Returns 0, or -1 with the offending key in *bad and
 * why. */
static int matcher_check(const json_t *m, bool refs, const char **bad, char *why, size_t whylen)
{
	const json_t *lo = json_object_get(m, "min"), *hi = json_object_get(m, "max");
	const char *key;
	json_t *x;
	char g[SHOW_BUF], g2[SHOW_BUF];
	regex_t re;

	json_object_foreach((json_t *)m, key, x) {
		*bad = key;
		show(x, g);
		if (refs && refs_check(x, why, whylen) < 0)
			return -1;
		if (strcmp(key, "equals") == 0 || (refs && whole_ref(x)))
			continue;
		if (!strcmp(key, "min") || !strcmp(key, "max") || !strcmp(key, "approx")) {
			if (!json_is_number(x))
				goto bad_value;
		} else if (strcmp(key, "tol") == 0) {
			if (!json_is_number(x) || json_number_value(x) < 0)
				goto bad_value;
		} else if (strcmp(key, "exists") == 0) {
			if (!json_is_boolean(x))
				goto bad_value;
		} else if (strcmp(key, "regex") == 0) {
			if (!json_is_string(x))
				goto bad_value;
			if (refs && has_ref(x))
				continue;
			if (regex_compile(&re, json_string_value(x), why, whylen) < 0)
				return -1;
			regfree(&re);
		} else if (strcmp(key, "one_of") == 0) {
			if (!json_is_array(x) || json_array_size(x) == 0)
				goto bad_value;
		} else if (strcmp(key, "type") == 0) {
			if (!json_is_string(x) || (!(refs && has_ref(x)) &&
						    !in_list(json_string_value(x), type_names)))
				goto bad_value;
		}
	}
	if (json_object_get(m, "approx") && !json_object_get(m, "tol")) {
		*bad = "approx";
		say(why, whylen, "needs \"tol\", the allowed difference");
		return -1;
	}
	if (json_object_get(m, "tol") && !json_object_get(m, "approx")) {
		*bad = "tol";
		say(why, whylen, "needs \"approx\", the expected number");
		return -1;
	}
	if (json_is_number(lo) && json_is_number(hi) &&
	    json_number_value(lo) > json_number_value(hi)) {
		*bad = "max";
		say(why, whylen, "%s is less than min %s", show(hi, g), show(lo, g2));
		return -1;
	}
	return 0;
bad_value:
	say(why, whylen, "expected %s, got %s",
	    !strcmp(*bad, "tol") ? "a number >= 0" :
	    !strcmp(*bad, "exists") ? "true or false" :
	    !strcmp(*bad, "regex") ? "a string" :
	    !strcmp(*bad, "one_of") ? "a non-empty array of values" :
	    !strcmp(*bad, "type") ? "one of \"string\", \"number\", \"boolean\", \"null\", "
				    "\"object\", \"array\"" : "a number", g);
	return -1;
}

/* JSON equality with numbers compared by value (12 equals 12.0). */
static bool values_equal(const json_t *a, const json_t *b)
{
	const char *key;
	json_t *x;
	size_t i;

	if (json_is_number(a) && json_is_number(b)) {
		if (json_is_integer(a) && json_is_integer(b))
			return json_integer_value(a) == json_integer_value(b);
		return json_number_value(a) == json_number_value(b);
	}
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			return false;
		json_array_foreach((json_t *)a, i, x)
			if (!values_equal(x, json_array_get(b, i)))
				return false;
		return true;
	}
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			return false;
		json_object_foreach((json_t *)a, key, x) {
			const json_t *y = json_object_get(b, key);

			if (!y || !values_equal(x, y))
				return false;
		}
		return true;
	}
	return json_equal((json_t *)a, (json_t *)b);
}

static bool has_type(const json_t *v, const char *type)
{
	if (!v)
		return false;
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(type, "null") == 0)
		return json_is_null(v);
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	return strcmp(type, "array") == 0 && json_is_array(v);
}

static const char *type_phrase(const char *type)
{
	return strcmp(type, "null") == 0 ? "null" :
	       strcmp(type, "object") == 0 ? "an object" :
	       strcmp(type, "array") == 0 ? "an array" :
	       strcmp(type, "string") == 0 ? "a string" :
	       strcmp(type, "number") == 0 ? "a number" : "a boolean";
}

static bool regex_holds(const json_t *v, const char *pattern)
{
	regex_t re;
	int rc;

	if (!json_is_string(v) || regex_compile(&re, pattern, NULL, 0) < 0)
		return false;
#ifdef REG_STARTEND
	{
		regmatch_t span = { .rm_so = 0, .rm_eo = (regoff_t)json_string_length(v) };

		rc = regexec(&re, json_string_value(v), 1, &span, REG_STARTEND);
	}
#else
	rc = regexec(&re, json_string_value(v), 0, NULL, 0);
#endif
	regfree(&re);
	return rc == 0;
}

/* Every condition of the (substituted, checked) matcher m on v, the value
 * at path or NULL when absent. */
static bool matcher_holds(const json_t *v, const json_t *m, const char *path,
			  char *why, size_t whylen)
{
	const json_t *x, *lo, *hi;
	char got[SHOW_BUF], a[SHOW_BUF], b[SHOW_BUF];
	double n = json_number_value(v);
	size_t i;

	show(v, got);
	if ((x = json_object_get(m, "exists"))) {
		if (json_is_true(x) && !v)
			return NO("%s is missing, expected it to exist", path);
		if (json_is_false(x) && v)
			return NO("%s is %s, expected it to be absent", path, got);
	}
	if ((x = json_object_get(m, "equals")) && (!v || !values_equal(v, x)))
		return NO("%s is %s, expected %s", path, got, show(x, a));
	if ((x = json_object_get(m, "type")) && !has_type(v, json_string_value(x)))
		return NO("%s is %s, expected %s", path, got, type_phrase(json_string_value(x)));
	lo = json_object_get(m, "min");
	hi = json_object_get(m, "max");
	if ((lo || hi) && (!json_is_number(v) || (lo && n < json_number_value(lo)) ||
			   (hi && n > json_number_value(hi)))) {
		if (lo && hi)
			return NO("%s is %s, expected a number between %s and %s", path, got,
				  show(lo, a), show(hi, b));
		return NO("%s is %s, expected a number %s %s", path, got, lo ? ">=" : "<=",
			  show(lo ? lo : hi, a));
	}
	if ((x = json_object_get(m, "approx"))) {
		const json_t *tol = json_object_get(m, "tol");

		if (!json_is_number(v) || !(fabs(n - json_number_value(x)) <= json_number_value(tol)))
			return NO("%s is %s, expected %s +/- %s", path, got, show(x, a),
				  show(tol, b));
	}
	if ((x = json_object_get(m, "regex")) && !regex_holds(v, json_string_value(x)))
		return NO("%s is %s, expected a string matching /%s/", path, got,
			  clip(json_string_value(x), a));
	if ((x = json_object_get(m, "one_of"))) {
		const json_t *y;

		json_array_foreach((json_t *)x, i, y)
			if (v && values_equal(v, y))
				break;
		if (i == json_array_size(x))
			return NO("%s is %s, expected one of %s", path, got, show(x, a));
	}
	return true;
}

/* One matcher of a match object: substitute, check, evaluate. */
static bool match_one(const json_t *msg, const char *key, const json_t *m, const json_t *vars,
		      char *why, size_t whylen)
{
	char c[SHOW_BUF], got[SHOW_BUF], want[SHOW_BUF], sub[256];
	json_t *pv, *want_v = NULL;
	const char *path, *bad;
	const json_t *v;
	bool ok = false;

	if (!(pv = subst_string(key, strlen(key), vars, false, sub, sizeof(sub))))
		return NO("%s: %s", clip(key, c), sub);
	path = json_string_value(pv);
	clip(path, c);
	if (!path_ok(path)) {
		say(why, whylen, "invalid path %s: " PATH_HINT, quote(path, strlen(path), got));
		goto out;
	}
	v = scn_path(msg, path);
	if (!(want_v = scn_substitute(m, vars, sub, sizeof(sub)))) {
		say(why, whylen, "%s: %s", c, sub);
		goto out;
	}
	if (is_matcher(m)) {
		if (matcher_check(want_v, false, &bad, sub, sizeof(sub)) < 0) {
			say(why, whylen, "invalid matcher for %s: %s: %s", c, bad, sub);
			goto out;
		}
		ok = matcher_holds(v, want_v, c, why, whylen);
	} else if (!v || !values_equal(v, want_v)) {
		say(why, whylen, "%s is %s, expected %s", c, show(v, got), show(want_v, want));
	} else {
		ok = true;
	}
out:
	json_decref(pv);
	json_decref(want_v);
	return ok;
}

bool scn_match(const json_t *msg, const json_t *match, const json_t *vars,
	       char *why, size_t whylen)
{
	const char *key;
	json_t *m;

	say(why, whylen, "%s", "");
	if (!match)
		return true;
	if (!json_is_object(match))
		return NO("invalid match: expected an object of path -> matcher");
	json_object_foreach((json_t *)match, key, m)
		if (!match_one(msg, key, m, vars, why, whylen))
			return false;
	say(why, whylen, "%s", "");
	return true;
}

/* ---- locating values in the text ------------------------------------ */

/* A field path being validated: keys and array indices from the root. */
struct where {
	int n;
	struct {
		const char *key;    /* NULL: index */
		size_t index;
	} seg[WHERE_MAX];
};

static struct where at_key(struct where w, const char *key)
{
	if (w.n < WHERE_MAX)
		w.seg[w.n++].key = key;
	return w;
}

static struct where at_index(struct where w, size_t index)
{
	if (w.n < WHERE_MAX) {
		w.seg[w.n].key = NULL;
		w.seg[w.n++].index = index;
	}
	return w;
}

/* The scanner below runs over text jansson has accepted, so it only has to
 * find boundaries: whitespace, strings with escapes, nested values. */
static size_t sk_ws(const char *s, size_t n, size_t i)
{
	while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	return i;
}

static size_t sk_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

static size_t sk_value(const char *s, size_t n, size_t i)
{
	size_t depth = 0;

	if (i >= n)
		return n;
	if (s[i] == '"')
		return sk_string(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		while (i < n && s[i] != ',' && s[i] != ']' && s[i] != '}' && sk_ws(s, n, i) == i)
			i++;
		return i;
	}
	while (i < n) {
		if (s[i] == '"') {
			i = sk_string(s, n, i);
			continue;
		}
		if (s[i] == '{' || s[i] == '[')
			depth++;
		else if ((s[i] == '}' || s[i] == ']') && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

/* True when the string literal raw[0..len) (quotes included) decodes to key. */
static bool key_is(const char *raw, size_t len, const char *key)
{
	json_t *k;
	bool eq;

	if (len < 2)
		return false;
	if (!memchr(raw, '\\', len))
		return len - 2 == strlen(key) && memcmp(raw + 1, key, len - 2) == 0;
	k = json_loadb(raw, len, JSON_DECODE_ANY, NULL);
	eq = json_is_string(k) && strcmp(json_string_value(k), key) == 0;
	json_decref(k);
	return eq;
}

/* Offset of the value at w, with *at the offset of its last segment (the
 * key, or the array element); SIZE_MAX when not found. */
static size_t sk_find(const char *s, size_t n, const struct where *w, size_t *at)
{
	size_t i = sk_ws(s, n, 0);

	*at = SIZE_MAX;
	for (int k = 0; k < w->n; k++) {
		if (i >= n)
			return SIZE_MAX;
		if (w->seg[k].key) {
			if (s[i] != '{')
				return SIZE_MAX;
			for (i++;; i++) {
				size_t kb = sk_ws(s, n, i), ke;

				if (kb >= n || s[kb] != '"')
					return SIZE_MAX;
				ke = sk_string(s, n, kb);
				i = sk_ws(s, n, ke);
				if (i >= n || s[i] != ':')
					return SIZE_MAX;
				i = sk_ws(s, n, i + 1);
				if (key_is(s + kb, ke - kb, w->seg[k].key)) {
					*at = kb;
					break;
				}
				i = sk_ws(s, n, sk_value(s, n, i));
				if (i >= n || s[i] != ',')
					return SIZE_MAX;
			}
		} else {
			if (s[i] != '[')
				return SIZE_MAX;
			for (size_t e = 0;; e++) {
				i = sk_ws(s, n, i + 1);
				if (i >= n || s[i] == ']')
					return SIZE_MAX;
				if (e == w->seg[k].index) {
					*at = i;
					break;
				}
				i = sk_ws(s, n, sk_value(s, n, i));
				if (i >= n || s[i] != ',')
					return SIZE_MAX;
			}
		}
	}
	return i;
}

static int line_of(const char *s, size_t off)
{
	int line = 1;

	for (size_t i = 0; i < off; i++)
		line += s[i] == '\n';
	return line;
}

/* Column (in characters, as jansson counts) of s[off] on its line. */
static int column_of(const char *s, size_t off)
{
	size_t b = off;
	int col = 1;

	while (b > 0 && s[b - 1] != '\n')
		b--;
	for (; b < off; b++)
		col += ((unsigned char)s[b] & 0xC0) != 0x80;
	return col;
}

/* ---- parsing -------------------------------------------------------- */

struct pctx {
	const char *text;
	size_t len;
	char *err;
	size_t errlen;
	struct scenario *sc;
};

static bool plain_key(const char *k)
{
	if (!*k)
		return false;
	for (; *k; k++)
		if (!var_char(*k) && *k != '-')
			return false;
	return true;
}

/* Report "line N: path: message" (line when the field is found in the
 * text, path when there is one); returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct pctx *p, const struct where *w, const char *fmt, ...)
{
	char msg[512], path[512], q[SHOW_BUF];
	size_t o = 0, at;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	path[0] = '\0';
	for (int k = 0; k < w->n && o < sizeof(path); k++) {
		const char *key = w->seg[k].key;

		if (!key)
			o += (size_t)snprintf(path + o, sizeof(path) - o, "[%zu]", w->seg[k].index);
		else if (plain_key(key))
			o += (size_t)snprintf(path + o, sizeof(path) - o, "%s%s", k ? "." : "", key);
		else
			o += (size_t)snprintf(path + o, sizeof(path) - o, "[%s]",
					      quote(key, strlen(key), q));
	}
	if (w->n && sk_find(p->text, p->len, w, &at) != SIZE_MAX && at != SIZE_MAX)
		say(p->err, p->errlen, "line %d: %s: %s", line_of(p->text, at), path, msg);
	else if (w->n)
		say(p->err, p->errlen, "%s: %s", path, msg);
	else
		say(p->err, p->errlen, "%s", msg);
	return -1;
}

static const struct where ROOT = { 0 };

/* Every key of obj must be in allowed; names the first that is not. */
static int known_keys(struct pctx *p, const struct where *w, const json_t *obj,
		      const char *const *allowed, const char *expected)
{
	const char *key;
	json_t *x;

	json_object_foreach((json_t *)obj, key, x) {
		if (!in_list(key, allowed)) {
			struct where wk = at_key(*w, key);

			return fail(p, &wk, "unknown key (expected %s)", expected);
		}
	}
	return 0;
}

static int string_field(struct pctx *p, const struct where *w, const json_t *v,
			size_t max, bool ws_ok, char **out)
{
	char g[SHOW_BUF];
	const char *s;

	if (!json_is_string(v))
		return fail(p, w, "expected a string, got %s", show(v, g));
	s = json_string_value(v);
	if (json_string_length(v) > max)
		return fail(p, w, "longer than %zu bytes", max);
	for (size_t i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || (!ws_ok && s[i] == ' '))
			return fail(p, w, "must not contain %scontrol characters, got %s",
				    ws_ok ? "" : "spaces or ", show(v, g));
	if (!(*out = strdup(s)))
		return fail(p, w, "out of memory");
	return 0;
}

static int duration_field(struct pctx *p, const struct where *w, const json_t *v, double *ms)
{
	char g[SHOW_BUF];
	int r = json_duration(v, ms);

	if (r == -2)
		return fail(p, w, "%s, more than 0 and at most 1 hour, got %s", DURATION_HINT,
			    show(v, g));
	if (r < 0)
		return fail(p, w, DURATION_HINT ", got %s", show(v, g));
	return 0;
}

static int check_refs(struct pctx *p, const struct where *w, const json_t *v)
{
	char why[256];

	return refs_check(v, why, sizeof(why)) < 0 ? fail(p, w, "%s", why) : 0;
}

static int parse_client(struct pctx *p, const char *name, const json_t *c, struct scn_client *out)
{
	static const char *const keys[] = { "path", "origin", "lazy", NULL };
	struct where w = at_key(at_key(ROOT, "clients"), name), wf;
	size_t n = strlen(name);
	const json_t *v;
	char g[SHOW_BUF];

	if (n == 0 || n > SCN_NAME_MAX || !plain_key(name))
		return fail(p, &w, "a client name must be 1-%d characters of A-Z a-z 0-9 _ -",
			    SCN_NAME_MAX);
	memcpy(out->name, name, n + 1);
	if (!json_is_object(c))
		return fail(p, &w, "expected an object like {\"path\": \"/ws/party/demo\"}, got %s",
			    show(c, g));
	if (known_keys(p, &w, c, keys, "path, origin or lazy") < 0)
		return -1;
	if (!(v = json_object_get(c, "path")))
		return fail(p, &w, "missing \"path\" (like \"/ws/party/demo?name=%s\")", name);
	wf = at_key(w, "path");
	if (string_field(p, &wf, v, WS_PATH_MAX, false, &out->path) < 0)
		return -1;
	if (strncmp(out->path, "/ws/", 4) != 0)
		return fail(p, &wf, "must start with \"/ws/\", got %s", show(v, g));
	if (check_refs(p, &wf, v) < 0)
		return -1;
	if ((v = json_object_get(c, "origin"))) {
		wf = at_key(w, "origin");
		if (string_field(p, &wf, v, WS_PATH_MAX, true, &out->origin) < 0)
			return -1;
	}
	if ((v = json_object_get(c, "lazy"))) {
		wf = at_key(w, "lazy");
		if (!json_is_boolean(v))
			return fail(p, &wf, "expected true or false, got %s", show(v, g));
		out->lazy = json_is_true(v);
	}
	return 0;
}

static int parse_clients(struct pctx *p, const json_t *v)
{
	struct where w = at_key(ROOT, "clients");
	struct scenario *sc = p->sc;
	const char *name;
	json_t *c;
	char g[SHOW_BUF];
	size_t i = 0;

	if (!v)
		return fail(p, &ROOT, "missing \"clients\", an object of name -> "
			    "{\"path\": \"/ws/...\"}");
	if (!json_is_object(v))
		return fail(p, &w, "expected an object of name -> {\"path\": \"/ws/...\"}, got %s",
			    show(v, g));
	if (json_object_size(v) == 0)
		return fail(p, &w, "at least one client is required");
	if (json_object_size(v) > CLIENTS_MAX)
		return fail(p, &w, "%zu clients, at most %d are allowed", json_object_size(v),
			    CLIENTS_MAX);
	if (!(sc->clients = calloc(json_object_size(v), sizeof(*sc->clients))))
		return fail(p, &w, "out of memory");
	sc->n_clients = json_object_size(v);
	json_object_foreach((json_t *)v, name, c)
		if (parse_client(p, name, c, &sc->clients[i++]) < 0)
			return -1;
	return 0;
}

/* Index of the client named by v, or -1 after reporting at w. */
static int client_ref(struct pctx *p, const struct where *w, const json_t *v)
{
	char g[SHOW_BUF], names[256];
	size_t o = 0;

	if (json_is_string(v))
		for (size_t i = 0; i < p->sc->n_clients; i++)
			if (strcmp(p->sc->clients[i].name, json_string_value(v)) == 0)
				return (int)i;
	if (!json_is_string(v))
		return fail(p, w, "expected a client name, got %s", show(v, g));
	names[0] = '\0';
	for (size_t i = 0; i < p->sc->n_clients && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
				      p->sc->clients[i].name);
	return fail(p, w, "unknown client %s (declared: %s)", show(v, g), names);
}

static int check_match(struct pctx *p, const struct where *w, const json_t *m)
{
	const char *path, *bad;
	json_t *x;
	char g[SHOW_BUF], why[256];

	if (!json_is_object(m))
		return fail(p, w, "expected an object of path -> matcher, got %s", show(m, g));
	json_object_foreach((json_t *)m, path, x) {
		struct where wp = at_key(*w, path), wb;

		if (!path_ok(path))
			return fail(p, &wp, "invalid path: " PATH_HINT);
		if (refs_check_str(path, strlen(path), why, sizeof(why)) < 0)
			return fail(p, &wp, "%s", why);
		if (!is_matcher(x)) {
			if (check_refs(p, &wp, x) < 0)
				return -1;
			continue;
		}
		if (matcher_check(x, true, &bad, why, sizeof(why)) < 0) {
			wb = at_key(wp, bad);
			return fail(p, &wb, "%s", why);
		}
	}
	return 0;
}

static int check_save(struct pctx *p, const struct where *w, const json_t *s)
{
	const char *var;
	json_t *x;
	char g[SHOW_BUF];

	if (!json_is_object(s))
		return fail(p, w, "expected an object of variable -> path, got %s", show(s, g));
	json_object_foreach((json_t *)s, var, x) {
		struct where wv = at_key(*w, var);

		if (!var_name_ok(var))
			return fail(p, &wv, "a variable name must be 1-%d characters of "
				    "A-Z a-z 0-9 _", VAR_MAX);
		if (!json_is_string(x) || !path_ok(json_string_value(x)))
			return fail(p, &wv, PATH_HINT ", got %s", show(x, g));
		if (has_ref(x))
			return fail(p, &wv, "a save path takes no ${...}, got %s", show(x, g));
	}
	return 0;
}

static const char *const actions[] = {
	[SCN_SEND] = "send", [SCN_EXPECT] = "expect", [SCN_EXPECT_NONE] = "expect_none",
	[SCN_SLEEP] = "sleep", [SCN_CLOSE] = "close", [SCN_OPEN] = "open", NULL
};

static const char *const modifiers[] = { "client", "match", "save", "within", "for", NULL };

/* The modifiers each action takes, as in modifiers[]. */
static const char *const allowed[] = {
	[SCN_SEND] = "client",
	[SCN_EXPECT] = "client match save within",
	[SCN_EXPECT_NONE] = "client match for",
	[SCN_SLEEP] = "",
	[SCN_CLOSE] = "",
	[SCN_OPEN] = "",
};

static bool word_in(const char *word, const char *list)
{
	size_t n = strlen(word);

	for (const char *s = list; (s = strstr(s, word)); s += n)
		if ((s == list || s[-1] == ' ') && (s[n] == ' ' || s[n] == '\0'))
			return true;
	return false;
}

static int parse_step(struct pctx *p, size_t idx, const json_t *s, struct scn_step *st)
{
	struct where w = at_index(at_key(ROOT, "steps"), idx), wf;
	const char *key, *first = NULL;
	const json_t *v, *x;
	json_t *jx;
	char g[SHOW_BUF];
	int kind = -1;

	if (!json_is_object(s))
		return fail(p, &w, "expected an object with one action (send, expect, "
			    "expect_none, sleep, close or open), got %s", show(s, g));
	json_object_foreach((json_t *)s, key, jx) {
		wf = at_key(w, key);
		if (in_list(key, modifiers))
			continue;
		if (!in_list(key, actions))
			return fail(p, &wf, "unknown key (expected an action: send, expect, "
				    "expect_none, sleep, close or open; or client, match, save, "
				    "within, for)");
		if (first)
			return fail(p, &w, "two actions, \"%s\" and \"%s\": one action per step",
				    first, key);
		first = key;
		for (kind = 0; strcmp(actions[kind], key) != 0; kind++)
			;
	}
	if (kind < 0)
		return fail(p, &w, "no action: expected one of send, expect, expect_none, "
			    "sleep, close or open");
	st->kind = (enum scn_step_kind)kind;
	st->client = -1;
	json_object_foreach((json_t *)s, key, jx) {
		wf = at_key(w, key);
		if (in_list(key, modifiers) && !word_in(key, allowed[kind]))
			return fail(p, &wf, "not allowed in a %s step%s%s%s", actions[kind],
				    *allowed[kind] ? " (allowed: " : "", allowed[kind],
				    *allowed[kind] ? ")" : "");
	}

	v = json_object_get(s, actions[kind]);
	wf = at_key(w, actions[kind]);
	switch (st->kind) {
	case SCN_SEND:
		x = json_object_get(v, "type");
		if (!json_is_object(v) || !json_is_string(x) || json_string_length(x) == 0)
			return fail(p, &wf, "expected a message object with a string \"type\", "
				    "got %s", show(v, g));
		if (check_refs(p, &wf, v) < 0)
			return -1;
		st->send = json_incref((json_t *)v);
		break;
	case SCN_EXPECT:
	case SCN_EXPECT_NONE:
		if (!json_is_string(v) || json_string_length(v) == 0)
			return fail(p, &wf, "expected a message type like \"chat\", got %s",
				    show(v, g));
		if (string_field(p, &wf, v, TYPE_MAX, false, &st->type) < 0)
			return -1;
		if ((x = json_object_get(s, "match"))) {
			wf = at_key(w, "match");
			if (check_match(p, &wf, x) < 0)
				return -1;
			st->match = json_incref((json_t *)x);
		}
		if ((x = json_object_get(s, "save"))) {
			wf = at_key(w, "save");
			if (check_save(p, &wf, x) < 0)
				return -1;
			st->save = json_incref((json_t *)x);
		}
		st->ms = p->sc->timeout_ms;
		if ((x = json_object_get(s, "within"))) {
			wf = at_key(w, "within");
			if (duration_field(p, &wf, x, &st->ms) < 0)
				return -1;
		}
		if (st->kind == SCN_EXPECT_NONE) {
			if (!(x = json_object_get(s, "for")))
				return fail(p, &w, "missing \"for\", how long nothing may arrive "
					    "(like \"500ms\")");
			wf = at_key(w, "for");
			if (duration_field(p, &wf, x, &st->ms) < 0)
				return -1;
		}
		break;
	case SCN_SLEEP:
		return duration_field(p, &wf, v, &st->ms);
	case SCN_CLOSE:
	case SCN_OPEN:
		return (st->client = client_ref(p, &wf, v)) < 0 ? -1 : 0;
	}

	if ((x = json_object_get(s, "client"))) {
		wf = at_key(w, "client");
		st->client = client_ref(p, &wf, x);
		return st->client < 0 ? -1 : 0;
	}
	if (p->sc->n_clients != 1)
		return fail(p, &w, "missing \"client\" (required when more than one client "
			    "is declared)");
	st->client = 0;
	return 0;
}

/* Fill steps[i].line: one pass over the "steps" array in the text. */
static void step_lines(struct pctx *p)
{
	struct where w = at_key(ROOT, "steps");
	const char *s = p->text;
	size_t n = p->len, at, last = 0;
	size_t i = sk_find(s, n, &w, &at);
	int line = 1;

	if (i == SIZE_MAX || i >= n || s[i] != '[')
		return;
	for (size_t e = 0; e < p->sc->n_steps; e++) {
		i = sk_ws(s, n, i + 1);
		if (i >= n || s[i] == ']')
			return;
		for (; last < i; last++)
			line += s[last] == '\n';
		p->sc->steps[e].line = line;
		i = sk_ws(s, n, sk_value(s, n, i));
		if (i >= n || s[i] != ',')
			return;
	}
}

static int parse_steps(struct pctx *p, const json_t *v)
{
	struct where w = at_key(ROOT, "steps");
	struct scenario *sc = p->sc;
	char g[SHOW_BUF];

	if (!v)
		return fail(p, &ROOT, "missing \"steps\", an array of steps");
	if (!json_is_array(v))
		return fail(p, &w, "expected an array of steps, got %s", show(v, g));
	if (json_array_size(v) == 0)
		return fail(p, &w, "at least one step is required");
	if (json_array_size(v) > STEPS_MAX)
		return fail(p, &w, "%zu steps, at most %d are allowed", json_array_size(v),
			    STEPS_MAX);
	if (!(sc->steps = calloc(json_array_size(v), sizeof(*sc->steps))))
		return fail(p, &w, "out of memory");
	sc->n_steps = json_array_size(v);
	step_lines(p);
	for (size_t i = 0; i < sc->n_steps; i++)
		if (parse_step(p, i, json_array_get(v, i), &sc->steps[i]) < 0)
			return -1;
	return 0;
}

static int parse_root(struct pctx *p, const json_t *root)
{
	static const char *const keys[] = { "name", "timeout", "clients", "steps", NULL };
	struct scenario *sc = p->sc;
	struct where w;
	const json_t *v;
	char g[SHOW_BUF];

	if (!json_is_object(root))
		return fail(p, &ROOT, "a scenario must be a JSON object");
	if (known_keys(p, &ROOT, root, keys, "name, timeout, clients or steps") < 0)
		return -1;
	if ((v = json_object_get(root, "name"))) {
		w = at_key(ROOT, "name");
		if (!json_is_string(v))
			return fail(p, &w, "expected a string, got %s", show(v, g));
		if (!(sc->name = strdup(json_string_value(v))))
			return fail(p, &w, "out of memory");
	}
	sc->timeout_ms = DEFAULT_TIMEOUT_MS;
	if ((v = json_object_get(root, "timeout"))) {
		w = at_key(ROOT, "timeout");
		if (duration_field(p, &w, v, &sc->timeout_ms) < 0)
			return -1;
	}
	if (parse_clients(p, json_object_get(root, "clients")) < 0)
		return -1;
	return parse_steps(p, json_object_get(root, "steps"));
}

int scn_parse(const char *text, size_t len, struct scenario *sc, char *err, size_t errlen)
{
	struct pctx p = { text, len, err, errlen, sc };
	json_error_t jerr;
	json_t *root;
	const char *nul;
	size_t deep;
	int rc;

	say(err, errlen, "%s", "");
	if (!sc)
		return say(err, errlen, "no scenario to fill"), -1;
	memset(sc, 0, sizeof(*sc));
	if (!text || len == 0)
		return say(err, errlen, "empty scenario"), -1;
	if (len > INPUT_MAX)
		return say(err, errlen, "scenario is %zu bytes, larger than 1 MiB", len), -1;
	if ((nul = memchr(text, '\0', len)))
		return say(err, errlen, "line %d, column %d: NUL byte in the text",
			   line_of(text, (size_t)(nul - text)),
			   column_of(text, (size_t)(nul - text))), -1;
	if ((deep = rv_json_depth_exceeded(text, len, DEPTH_MAX)) != SIZE_MAX)
		return say(err, errlen, "line %d, column %d: nested deeper than %d levels",
			   line_of(text, deep), column_of(text, deep), DEPTH_MAX), -1;
	if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		for (char *c = jerr.text; *c; c++)
			if (*c < 0x20 || *c >= 0x7f)
				*c = '?';
		return say(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column,
			   jerr.text), -1;
	}
	rc = parse_root(&p, root);
	json_decref(root);
	if (rc < 0)
		scn_free(sc);
	return rc;
}

void scn_free(struct scenario *sc)
{
	if (!sc)
		return;
	free(sc->name);
	for (size_t i = 0; i < sc->n_clients; i++) {
		free(sc->clients[i].path);
		free(sc->clients[i].origin);
	}
	free(sc->clients);
	for (size_t i = 0; i < sc->n_steps; i++) {
		free(sc->steps[i].type);
		json_decref(sc->steps[i].match);
		json_decref(sc->steps[i].save);
		json_decref(sc->steps[i].send);
	}
	free(sc->steps);
	memset(sc, 0, sizeof(*sc));
}
