/* cmd/revenge-probe/scenario_match.c - the field matchers of expect steps:
 * scn_match evaluates a match object against a received message, and
 * scn__matcher_check validates one matcher, at load (references allowed)
 * and again after substitution. Regexes are POSIX extended; a pattern is
 * priced before regcomp() sees it, since glibc can spend seconds and
 * gigabytes compiling a short hostile one.
 */
#include "scenario.h"
#include "scenario_int.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#define REGEX_MAX 1024
#define REGEX_COST_MAX 1000     /* nodes after expanding {m,n} and +, about */
#define REGEX_EMPTY_MAX 150     /* of those, nodes that can match empty */
#define REGEX_GROUPS_MAX 64     /* nested ( */

/* scn__say() and return false. */
#define NO(...) (scn__say(why, whylen, __VA_ARGS__), false)

static const char *const matcher_keys[] = {
	"equals", "min", "max", "approx", "tol", "exists", "regex", "one_of", "type", NULL
};

static const char *const type_names[] = {
	"string", "number", "boolean", "null", "object", "array", NULL
};

bool scn__is_matcher(const json_t *m)
{
	const char *key;
	json_t *x;

	if (!json_is_object(m) || json_object_size(m) == 0)
		return false;
	json_object_foreach((json_t *)m, key, x)
		if (!scn__in_list(key, matcher_keys))
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
		scn__say(why, whylen, "longer than %d bytes", REGEX_MAX);
		return -1;
	}
	if (!regex_cheap(pattern, &cost)) {
		scn__say(why, whylen, "%s %s", scn__quote(pattern, strlen(pattern), q), cost);
		return -1;
	}
	if ((rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, NULL, msg, sizeof(msg));
		scn__say(why, whylen, "%s is not a POSIX extended regex: %s",
			 scn__quote(pattern, strlen(pattern), q), msg);
		return -1;
	}
	return 0;
}

int scn__matcher_check(const json_t *m, bool refs, const char **bad, char *why, size_t whylen)
{
	const json_t *lo = json_object_get(m, "min"), *hi = json_object_get(m, "max");
	const char *key;
	json_t *x;
	char g[SHOW_BUF], g2[SHOW_BUF];
	regex_t re;

	json_object_foreach((json_t *)m, key, x) {
		*bad = key;
		scn__show(x, g);
		if (refs && scn__refs_check(x, why, whylen) < 0)
			return -1;
		if (strcmp(key, "equals") == 0 || (refs && scn__whole_ref(x)))
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
			if (refs && scn__has_ref(x))
				continue;
			if (regex_compile(&re, json_string_value(x), why, whylen) < 0)
				return -1;
			regfree(&re);
		} else if (strcmp(key, "one_of") == 0) {
			if (!json_is_array(x) || json_array_size(x) == 0)
				goto bad_value;
		} else if (strcmp(key, "type") == 0) {
			if (!json_is_string(x) ||
			    (!(refs && scn__has_ref(x)) &&
			     !scn__in_list(json_string_value(x), type_names)))
				goto bad_value;
		}
	}
	if (json_object_get(m, "approx") && !json_object_get(m, "tol")) {
		*bad = "approx";
		scn__say(why, whylen, "needs \"tol\", the allowed difference");
		return -1;
	}
	if (json_object_get(m, "tol") && !json_object_get(m, "approx")) {
		*bad = "tol";
		scn__say(why, whylen, "needs \"approx\", the expected number");
		return -1;
	}
	if (json_is_number(lo) && json_is_number(hi) &&
	    json_number_value(lo) > json_number_value(hi)) {
		*bad = "max";
		scn__say(why, whylen, "%s is less than min %s", scn__show(hi, g),
			 scn__show(lo, g2));
		return -1;
	}
	return 0;
bad_value:
	scn__say(why, whylen, "expected %s, got %s",
		 !strcmp(*bad, "tol") ? "a number >= 0" :
		 !strcmp(*bad, "exists") ? "true or false" :
		 !strcmp(*bad, "regex") ? "a string" :
		 !strcmp(*bad, "one_of") ? "a non-empty array of values" :
		 !strcmp(*bad, "type") ? "one of \"string\", \"number\", \"boolean\", "
					 "\"null\", \"object\", \"array\"" : "a number", g);
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

	scn__show(v, got);
	if ((x = json_object_get(m, "exists"))) {
		if (json_is_true(x) && !v)
			return NO("%s is missing, expected it to exist", path);
		if (json_is_false(x) && v)
			return NO("%s is %s, expected it to be absent", path, got);
	}
	if ((x = json_object_get(m, "equals")) && (!v || !values_equal(v, x)))
		return NO("%s is %s, expected %s", path, got, scn__show(x, a));
	if ((x = json_object_get(m, "type")) && !has_type(v, json_string_value(x)))
		return NO("%s is %s, expected %s", path, got, type_phrase(json_string_value(x)));
	lo = json_object_get(m, "min");
	hi = json_object_get(m, "max");
	if ((lo || hi) && (!json_is_number(v) || (lo && n < json_number_value(lo)) ||
			   (hi && n > json_number_value(hi)))) {
		if (lo && hi)
			return NO("%s is %s, expected a number between %s and %s", path, got,
				  scn__show(lo, a), scn__show(hi, b));
		return NO("%s is %s, expected a number %s %s", path, got, lo ? ">=" : "<=",
			  scn__show(lo ? lo : hi, a));
	}
	if ((x = json_object_get(m, "approx"))) {
		const json_t *tol = json_object_get(m, "tol");

		if (!json_is_number(v) || !(fabs(n - json_number_value(x)) <= json_number_value(tol)))
			return NO("%s is %s, expected %s +/- %s", path, got, scn__show(x, a),
				  scn__show(tol, b));
	}
	if ((x = json_object_get(m, "regex")) && !regex_holds(v, json_string_value(x)))
		return NO("%s is %s, expected a string matching /%s/", path, got,
			  scn__clip(json_string_value(x), a));
	if ((x = json_object_get(m, "one_of"))) {
		const json_t *y;

		json_array_foreach((json_t *)x, i, y)
			if (v && values_equal(v, y))
				break;
		if (i == json_array_size(x))
			return NO("%s is %s, expected one of %s", path, got, scn__show(x, a));
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

	if (!(pv = scn__subst_string(key, strlen(key), vars, false, sub, sizeof(sub))))
		return NO("%s: %s", scn__clip(key, c), sub);
	path = json_string_value(pv);
	scn__clip(path, c);
	if (!scn__path_ok(path)) {
		scn__say(why, whylen, "invalid path %s: " PATH_HINT,
			 scn__quote(path, strlen(path), got));
		goto out;
	}
	v = scn_path(msg, path);
	if (!(want_v = scn_substitute(m, vars, sub, sizeof(sub)))) {
		scn__say(why, whylen, "%s: %s", c, sub);
		goto out;
	}
	if (scn__is_matcher(m)) {
		if (scn__matcher_check(want_v, false, &bad, sub, sizeof(sub)) < 0) {
			scn__say(why, whylen, "invalid matcher for %s: %s: %s", c, bad, sub);
			goto out;
		}
		ok = matcher_holds(v, want_v, c, why, whylen);
	} else if (!v || !values_equal(v, want_v)) {
		scn__say(why, whylen, "%s is %s, expected %s", c, scn__show(v, got),
			 scn__show(want_v, want));
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

	scn__say(why, whylen, "%s", "");
	if (!match)
		return true;
	if (!json_is_object(match))
		return NO("invalid match: expected an object of path -> matcher");
	json_object_foreach((json_t *)match, key, m)
		if (!match_one(msg, key, m, vars, why, whylen))
			return false;
	scn__say(why, whylen, "%s", "");
	return true;
}
