/* cmd/revenge-probe/scenario_parse.c - reading a scenario file: scn_parse
 * turns the JSON text into struct scenario, validating every field, and
 * scn_free releases it; durations ("500ms", "2s") are read here too.
 *
 * Scenario files are written by hand, so every mistake is reported once,
 * precisely, with the field path and the line it is on. jansson keeps no
 * line per value, so a small scanner over the (already accepted) text finds
 * where a field starts. Hostile input is bounded before jansson sees it:
 * size, NUL bytes and nesting depth. Matchers and references are checked
 * here, with scenario_match.c and scenario_vars.c, so that a scenario that
 * loads can only fail on what arrives.
 */
#include "scenario.h"
#include "scenario_int.h"

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
#define DEFAULT_TIMEOUT_MS 5000.0
#define HOUR_MS 3600000.0
#define WHERE_MAX 8

#define DURATION_HINT "expected a duration like 500ms, 2s or 1m"

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
		if (!scn__var_char(*k) && *k != '-')
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
	scn__vsay(msg, sizeof(msg), fmt, ap);
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
					      scn__quote(key, strlen(key), q));
	}
	if (w->n && sk_find(p->text, p->len, w, &at) != SIZE_MAX && at != SIZE_MAX)
		scn__say(p->err, p->errlen, "line %d: %s: %s", line_of(p->text, at), path, msg);
	else if (w->n)
		scn__say(p->err, p->errlen, "%s: %s", path, msg);
	else
		scn__say(p->err, p->errlen, "%s", msg);
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
		if (!scn__in_list(key, allowed)) {
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
		return fail(p, w, "expected a string, got %s", scn__show(v, g));
	s = json_string_value(v);
	if (json_string_length(v) > max)
		return fail(p, w, "longer than %zu bytes", max);
	for (size_t i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || (!ws_ok && s[i] == ' '))
			return fail(p, w, "must not contain %scontrol characters, got %s",
				    ws_ok ? "" : "spaces or ", scn__show(v, g));
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
			    scn__show(v, g));
	if (r < 0)
		return fail(p, w, DURATION_HINT ", got %s", scn__show(v, g));
	return 0;
}

static int check_refs(struct pctx *p, const struct where *w, const json_t *v)
{
	char why[256];

	return scn__refs_check(v, why, sizeof(why)) < 0 ? fail(p, w, "%s", why) : 0;
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
			    scn__show(c, g));
	if (known_keys(p, &w, c, keys, "path, origin or lazy") < 0)
		return -1;
	if (!(v = json_object_get(c, "path")))
		return fail(p, &w, "missing \"path\" (like \"/ws/party/demo?name=%s\")", name);
	wf = at_key(w, "path");
	if (string_field(p, &wf, v, WS_PATH_MAX, false, &out->path) < 0)
		return -1;
	if (strncmp(out->path, "/ws/", 4) != 0)
		return fail(p, &wf, "must start with \"/ws/\", got %s", scn__show(v, g));
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
			return fail(p, &wf, "expected true or false, got %s", scn__show(v, g));
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
			    scn__show(v, g));
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
		return fail(p, w, "expected a client name, got %s", scn__show(v, g));
	names[0] = '\0';
	for (size_t i = 0; i < p->sc->n_clients && o < sizeof(names); i++)
		o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "",
				      p->sc->clients[i].name);
	return fail(p, w, "unknown client %s (declared: %s)", scn__show(v, g), names);
}

static int check_match(struct pctx *p, const struct where *w, const json_t *m)
{
	const char *path, *bad;
	json_t *x;
	char g[SHOW_BUF], why[256];

	if (!json_is_object(m))
		return fail(p, w, "expected an object of path -> matcher, got %s", scn__show(m, g));
	json_object_foreach((json_t *)m, path, x) {
		struct where wp = at_key(*w, path), wb;

		if (!scn__path_ok(path))
			return fail(p, &wp, "invalid path: " PATH_HINT);
		if (scn__refs_check_str(path, strlen(path), why, sizeof(why)) < 0)
			return fail(p, &wp, "%s", why);
		if (!scn__is_matcher(x)) {
			if (check_refs(p, &wp, x) < 0)
				return -1;
			continue;
		}
		if (scn__matcher_check(x, true, &bad, why, sizeof(why)) < 0) {
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
		return fail(p, w, "expected an object of variable -> path, got %s",
			    scn__show(s, g));
	json_object_foreach((json_t *)s, var, x) {
		struct where wv = at_key(*w, var);

		if (!scn__var_name_ok(var))
			return fail(p, &wv, "a variable name must be 1-%d characters of "
				    "A-Z a-z 0-9 _", VAR_MAX);
		if (!json_is_string(x) || !scn__path_ok(json_string_value(x)))
			return fail(p, &wv, PATH_HINT ", got %s", scn__show(x, g));
		if (scn__has_ref(x))
			return fail(p, &wv, "a save path takes no ${...}, got %s", scn__show(x, g));
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
			    "expect_none, sleep, close or open), got %s", scn__show(s, g));
	json_object_foreach((json_t *)s, key, jx) {
		wf = at_key(w, key);
		if (scn__in_list(key, modifiers))
			continue;
		if (!scn__in_list(key, actions))
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
		if (scn__in_list(key, modifiers) && !word_in(key, allowed[kind]))
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
				    "got %s", scn__show(v, g));
		if (check_refs(p, &wf, v) < 0)
			return -1;
		st->send = json_incref((json_t *)v);
		break;
	case SCN_EXPECT:
	case SCN_EXPECT_NONE:
		if (!json_is_string(v) || json_string_length(v) == 0)
			return fail(p, &wf, "expected a message type like \"chat\", got %s",
				    scn__show(v, g));
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
		return fail(p, &w, "expected an array of steps, got %s", scn__show(v, g));
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
			return fail(p, &w, "expected a string, got %s", scn__show(v, g));
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

	scn__say(err, errlen, "%s", "");
	if (!sc)
		return scn__say(err, errlen, "no scenario to fill"), -1;
	memset(sc, 0, sizeof(*sc));
	if (!text || len == 0)
		return scn__say(err, errlen, "empty scenario"), -1;
	if (len > INPUT_MAX)
		return scn__say(err, errlen, "scenario is %zu bytes, larger than 1 MiB", len), -1;
	if ((nul = memchr(text, '\0', len)))
		return scn__say(err, errlen, "line %d, column %d: NUL byte in the text",
				line_of(text, (size_t)(nul - text)),
				column_of(text, (size_t)(nul - text))), -1;
	if ((deep = rv_json_depth_exceeded(text, len, DEPTH_MAX)) != SIZE_MAX)
		return scn__say(err, errlen, "line %d, column %d: nested deeper than %d "
				"levels", line_of(text, deep), column_of(text, deep),
				DEPTH_MAX), -1;
	if (!(root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr))) {
		for (char *c = jerr.text; *c; c++)
			if (*c < 0x20 || *c >= 0x7f)
				*c = '?';
		return scn__say(err, errlen, "line %d, column %d: %s", jerr.line, jerr.column,
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
