/* cmd/revenge-probe/scenario.h - scenario files for `revenge-probe run`:
 * parsing, validation with precise error locations, field matchers and
 * variable substitution. Pure (no I/O beyond the text handed in), so unit
 * tests drive it directly; the probe's runtime executes the steps.
 * scenario_parse.c reads files (scn_parse, scn_free, scn_duration_ms),
 * scenario_match.c evaluates matchers (scn_match), scenario_vars.c follows
 * paths and substitutes variables (scn_path, scn_substitute); what they
 * share is in scenario_int.h and scenario_text.c.
 *
 * A scenario is a JSON object:
 *   {
 *     "name": "chat reaches everyone",          optional
 *     "timeout": "5s",                          default for expect steps (5s)
 *     "clients": {                              opened in this order at start
 *       "alice": {"path": "/ws/party/demo?name=alice"},
 *       "bob":   {"path": "/ws/party/demo?name=bob", "origin": "http://localhost",
 *                 "lazy": true}                 opened by an "open" step
 *     },
 *     "steps": [
 *       {"expect": "welcome", "client": "alice",
 *        "match": {"payload.role": "host"}, "save": {"host": "payload.host_id"}},
 *       {"open": "bob"},
 *       {"send": {"type": "chat", "payload": {"text": "hi ${host}"}}, "client": "bob"},
 *       {"expect": "chat", "client": "alice", "within": "2s",
 *        "match": {"payload.text": {"regex": "^hi "}, "ts": {"min": 0}}},
 *       {"expect_none": "sync", "client": "bob", "for": "500ms"},
 *       {"sleep": "200ms"},
 *       {"close": "bob"}
 *     ]
 *   }
 *
 * Matchers, keyed by a dotted path into the message ("payload.members.0.name";
 * a number selects an array element):
 *   a JSON value (string, number, bool, null, array, object): equal to it
 *   {"min": N, "max": N}     a number within the range (either bound optional)
 *   {"approx": N, "tol": T}  a number within T of N
 *   {"exists": true|false}   the path is present / absent
 *   {"regex": "..."}         a string matching the POSIX extended regex
 *   {"one_of": [v, ...]}     equal to one of the values
 *   {"type": "string"|"number"|"boolean"|"null"|"object"|"array"}
 *   {"equals": v}            equal to v, whatever it looks like
 * A matcher object is recognised by having only these keys; to compare with
 * a literal object that has them, wrap it: {"equals": {...}}. Keys combine
 * (every condition must hold); "approx" and "tol" come together. Numbers
 * compare by value (12 equals 12.0), at any depth.
 * "${name}" in any string of a send, a client path, a match path or a
 * matcher value is replaced by a variable (saved by an expect, or given to
 * the run). A whole-string "${name}" takes the variable's JSON type; inside
 * a longer string a non-string value is written as compact JSON, numbers in
 * their shortest form. Names are 1-64 of [A-Za-z0-9_]; a "$" not followed by
 * "{" is literal, a malformed "${" is an error. Object keys of a send and
 * save paths are not substituted. Where a number, bool or array is expected
 * in a matcher, a whole "${name}" is accepted and checked when the step runs.
 * Durations are strings ("500ms", "2s", "1m", "1.5s", "2" = seconds) or JSON
 * numbers of seconds, in (0, 1 hour].
 */
#ifndef REVENGE_PROBE_SCENARIO_H
#define REVENGE_PROBE_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define SCN_NAME_MAX 64

enum scn_step_kind { SCN_SEND, SCN_EXPECT, SCN_EXPECT_NONE, SCN_SLEEP, SCN_CLOSE, SCN_OPEN };

struct scn_client {
	char name[SCN_NAME_MAX + 1];
	char *path;                    /* "/ws/..." with query; no spaces or controls */
	char *origin;                  /* NULL: none; no control characters */
	bool lazy;
};

struct scn_step {
	enum scn_step_kind kind;
	int line;                      /* line of the step in the file, 0 unknown */
	int client;                    /* index into clients, -1 for sleep; a lone
					  declared client is the default */
	char *type;                    /* expect / expect_none: message type */
	json_t *match;                 /* expect / expect_none: object or NULL (owned) */
	json_t *save;                  /* expect: {"var": "path"} or NULL (owned) */
	json_t *send;                  /* send: the message (owned) */
	double ms;                     /* expect: within (default: timeout_ms);
					  expect_none: for; sleep; else 0 */
};

struct scenario {
	char *name;                    /* NULL when absent */
	double timeout_ms;             /* default "within" */
	struct scn_client *clients;
	size_t n_clients;
	struct scn_step *steps;
	size_t n_steps;
};

/* Parse a scenario from text (len bytes, no NUL needed). Returns 0 and
 * fills *sc (release with scn_free), or -1 with *sc zeroed and a one-line
 * message in err (may be NULL): malformed JSON as `line 3, column 7: <jansson's
 * text>`, anything else naming the line and/or field, e.g. `line 12:
 * steps[3].within: expected a duration like 500ms, 2s or 1m, got "fast"`
 * (steps[i] counts from 0). Unknown keys are errors. Limits: 1 MiB of text,
 * 64 clients, 10000 steps, nesting 32. */
int scn_parse(const char *text, size_t len, struct scenario *sc, char *err, size_t errlen);

/* Release what scn_parse filled and zero *sc; NULL-safe, idempotent. */
void scn_free(struct scenario *sc);

/* "500ms", "2s", "1m", "1.5s" or a number of seconds -> ms; -1 if invalid or
 * not in (0, 1 hour]. */
double scn_duration_ms(const char *s);

/* Evaluate every matcher of match (an object of path -> matcher; NULL: none)
 * against msg, with vars for ${name} substitution in paths and values (may be
 * NULL). Returns true when all hold (why ""); else false with why (may be
 * NULL) saying about the first that fails, values as compact JSON cut at 80
 * bytes: "payload.position is 11.2, expected 12.5". An invalid matcher or an
 * unknown variable also fails, saying so. */
bool scn_match(const json_t *msg, const json_t *match, const json_t *vars,
	       char *why, size_t whylen);

/* The value at a dotted path, borrowed; NULL when absent or when the path
 * is malformed (empty, an empty component, over 1024 bytes). A component
 * is a key in an object (even "0") and a decimal index in an array. */
json_t *scn_path(const json_t *msg, const char *path);

/* A deep copy of v with every "${name}" in strings replaced from vars (may
 * be NULL). Unknown variables ("unknown variable ${x}"), malformed references
 * and strings growing past 1 MiB are errors: returns NULL and fills why (may
 * be NULL). New reference; v is not modified. */
json_t *scn_substitute(const json_t *v, const json_t *vars, char *why, size_t whylen);

#endif
