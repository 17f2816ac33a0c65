/* cmd/revenge-probe/scenario_int.h - what the files of the scenario module
 * share with each other and with nobody else: writing values into messages
 * (scenario_text.c), paths and ${name} references (scenario_vars.c), and
 * the matcher check the parser runs at load (scenario_match.c). These are
 * scn__*; the module's interface is scenario.h.
 */
#ifndef REVENGE_PROBE_SCENARIO_INT_H
#define REVENGE_PROBE_SCENARIO_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define SHOW_MAX 80             /* values quoted in messages, bytes */
#define SHOW_BUF (SHOW_MAX + 16)
#define VAR_MAX 64              /* a variable name, bytes */

#define PATH_HINT "expected a dotted path like \"payload.members.0.name\""

/* ---- scenario_text.c */

/* vsnprintf into buf; nothing when buf is NULL or size 0. A text cut
 * short ends on a whole UTF-8 character. */
__attribute__((format(printf, 3, 4)))
void scn__say(char *buf, size_t size, const char *fmt, ...);
__attribute__((format(printf, 3, 0)))
void scn__vsay(char *buf, size_t size, const char *fmt, va_list ap);

/* The shortest text that reads back as d, with a '.' whatever the locale.
 * Returns num. */
const char *scn__real_text(double d, char *num, size_t size);

/* v as compact JSON, at most SHOW_MAX bytes then "..."; "missing" for NULL.
 * buf has SHOW_BUF bytes. Returns buf. */
const char *scn__show(const json_t *v, char *buf);

/* s[0..len) as a JSON string literal, clipped like scn__show(). Returns buf. */
const char *scn__quote(const char *s, size_t len, char *buf);

/* s (a path, a pattern) clipped like scn__show(), unquoted. Returns buf. */
const char *scn__clip(const char *s, char *buf);

/* True when s is one of list, a NULL-terminated array. */
bool scn__in_list(const char *s, const char *const *list);

/* ---- scenario_vars.c */

/* True when path is non-empty dotted components, none empty, at most
 * 1024 bytes. */
bool scn__path_ok(const char *path);

/* A character of a variable name: [A-Za-z0-9_]. */
bool scn__var_char(char c);

/* True when s is a variable name, 1-VAR_MAX scn__var_char()s. */
bool scn__var_name_ok(const char *s);

/* True when v is a string with a "${" in it. */
bool scn__has_ref(const json_t *v);

/* True when v is a string that is exactly one well-formed "${name}". */
bool scn__whole_ref(const json_t *v);

/* 0 when every "${" in s[0..len) opens a well-formed reference, else -1
 * with why (may be NULL). */
int scn__refs_check_str(const char *s, size_t len, char *why, size_t whylen);

/* scn__refs_check_str() over every string of v. */
int scn__refs_check(const json_t *v, char *why, size_t whylen);

/* s[0..len) with references replaced from vars, as a new JSON string; NULL
 * with why on an unknown variable, a malformed reference or a string over
 * 1 MiB. typed: a string that is exactly one reference becomes a copy of
 * the variable, whatever its JSON type. */
json_t *scn__subst_string(const char *s, size_t len, const json_t *vars, bool typed,
			  char *why, size_t whylen);

/* ---- scenario_match.c */

/* True when m is a matcher object: non-empty, only matcher keys. Any other
 * value is a literal to compare with. */
bool scn__is_matcher(const json_t *m);

/* Check a matcher object. refs: the matcher is not substituted yet, so a
 * field may hold a reference (a whole "${name}" where a number, a bool or
 * an array is expected). Returns 0, or -1 with the offending key in *bad
 * (borrowed from m, or a literal) and why. */
int scn__matcher_check(const json_t *m, bool refs, const char **bad, char *why, size_t whylen);

#endif
