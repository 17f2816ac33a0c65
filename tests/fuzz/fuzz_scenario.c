/* tests/fuzz/fuzz_scenario.c - libFuzzer harness for the probe's scenario
 * files (cmd/revenge-probe/scenario*.c).
 *
 * Each input is a scenario file. A rejected one must leave the scenario
 * zeroed and one line of valid UTF-8 in err. An accepted one has its
 * contract checked field by field (scenario.h), then goes through what
 * `revenge-probe run` does with it, without a server: client paths and
 * sends are substituted with a few variables, each expect step's matchers
 * run against a sample message and against the last message sent, and its
 * save paths are followed into the variables for the steps after it. Every
 * `why` must be valid UTF-8 within its buffer. Any broken promise aborts,
 * which libFuzzer reports as a crash.
 *
 *   make build/fuzz/fuzz_scenario && scripts/fuzz.sh 20 fuzz_scenario
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "revenge/proto.h"
#include "scenario.h"

#define HOUR_MS 3600000.0

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What run.c hands in; and a short buffer, which cuts most messages. */
#define ERR_LEN 400
#define WHY_LEN 300
#define SHORT_LEN 61

static json_t *vars0, *sample;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	vars0 = json_loads("{\"run\": \"1a2b3c\", \"host\": \"h1\", \"alice_id\": \"p1\", "
			   "\"n\": 12, \"f\": 11.2, \"t\": true, \"z\": null, \"a\": [1, \"two\"], "
			   "\"o\": {\"k\": \"v\"}, \"e\": \"\", \"u\": \"\xc3\xa9t\xc3\xa9 "
			   "\xf0\x9f\x8e\x89\", \"dollar\": \"${host}\"}", 0, NULL);
	sample = json_loads("{\"type\": \"chat\", \"id\": \"m1\", \"ts\": 1700000000000.5, "
			    "\"from\": \"p1\", \"payload\": {\"text\": \"hi h1\", \"role\": \"host\", "
			    "\"position\": 12.5, \"n\": 12, \"flag\": true, \"none\": null, "
			    "\"emoji\": \"\xf0\x9f\x8e\x89\", \"history\": [], "
			    "\"members\": [{\"name\": \"alice\", \"role\": \"host\"}, "
			    "{\"name\": \"b\xc3\xa9\"}], \"obj\": {\"min\": 1}}}", 0, NULL);
	if (!vars0 || !sample)
		abort();
	return 0;
}

/* A message the module wrote into buf[0..size): NUL-terminated inside it,
 * valid UTF-8, on one line when one_line. */
static void check_text(const char *buf, size_t size, bool one_line)
{
	size_t n = strnlen(buf, size);

	if (n == size || !rv_utf8_valid(buf, n))
		abort();
	if (one_line && memchr(buf, '\n', n))
		abort();
}

static bool plain(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f || strchr(extra, c))
			return false;
	}
	return true;
}

static bool duration_ok(double ms)
{
	return ms > 0 && ms <= HOUR_MS;
}

static void check_scenario(const struct scenario *sc, const char *text, size_t len)
{
	int lines = 1, prev = 0;

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	if (sc->n_clients < 1 || sc->n_clients > 64 || !sc->clients)
		abort();
	if (sc->n_steps < 1 || sc->n_steps > 10000 || !sc->steps)
		abort();
	if (!duration_ok(sc->timeout_ms))
		abort();
	for (size_t i = 0; i < sc->n_clients; i++) {
		const struct scn_client *c = &sc->clients[i];

		if (strspn(c->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			   "0123456789_-") != strlen(c->name) || !plain(c->name, 64, ""))
			abort();
		if (!c->path || strncmp(c->path, "/ws/", 4) != 0 || !plain(c->path, 2000, " "))
			abort();
		if (c->origin && c->origin[0] && !plain(c->origin, 2000, ""))
			abort();
	}
	for (size_t i = 0; i < sc->n_steps; i++) {
		const struct scn_step *st = &sc->steps[i];
		bool expect = st->kind == SCN_EXPECT || st->kind == SCN_EXPECT_NONE;

		/* every step is found in the text, in order */
		if (st->line < 1 || st->line > lines || st->line < prev)
			abort();
		prev = st->line;
		if (st->client < (st->kind == SCN_SLEEP ? -1 : 0) ||
		    st->client >= (int)sc->n_clients || (st->kind == SCN_SLEEP && st->client != -1))
			abort();
		if (expect != (st->type != NULL) || (st->type && !plain(st->type, 256, " ")))
			abort();
		if ((st->match && (!expect || !json_is_object(st->match))) ||
		    (st->save && (st->kind != SCN_EXPECT || !json_is_object(st->save))))
			abort();
		if ((st->kind == SCN_SEND) != (st->send != NULL) ||
		    (st->send && !json_is_string(json_object_get(st->send, "type"))))
			abort();
		if ((expect || st->kind == SCN_SLEEP) ? !duration_ok(st->ms) : st->ms != 0)
			abort();
	}
}

/* scn_match of match on msg: a result as promised, with its why; the same
 * result and a prefix of the same why in a shorter buffer. */
static void match(const json_t *msg, const json_t *m, const json_t *vars)
{
	char why[WHY_LEN], cut[SHORT_LEN];
	bool ok;

	memset(why, 'x', sizeof(why));
	memset(cut, 'x', sizeof(cut));
	ok = scn_match(msg, m, vars, why, sizeof(why));
	if (scn_match(msg, m, vars, cut, sizeof(cut)) != ok)
		abort();
	check_text(why, sizeof(why), false);
	check_text(cut, sizeof(cut), false);
	if (ok != !why[0] || strncmp(cut, why, strlen(cut)) != 0)
		abort();
}

/* A substituted copy of v, or NULL with a reason. New reference. */
static json_t *substitute(const json_t *v, const json_t *vars)
{
	char why[WHY_LEN];
	json_t *res;

	memset(why, 'x', sizeof(why));
	res = scn_substitute(v, vars, why, sizeof(why));
	if (!res) {
		check_text(why, sizeof(why), false);
		if (!why[0])
			abort();
	}
	return res;
}

/* The steps, as run.c takes them, with sample (or the last message sent)
 * standing in for every message that would arrive. */
static void run(const struct scenario *sc)
{
	json_t *vars = json_deep_copy(vars0), *sent = NULL, *v;
	const char *var;

	if (!vars)
		abort();
	for (size_t i = 0; i < sc->n_clients; i++) {
		json_t *path = json_string(sc->clients[i].path);

		json_decref(substitute(path, vars));
		json_decref(path);
	}
	for (size_t i = 0; i < sc->n_steps; i++) {
		const struct scn_step *st = &sc->steps[i];
		json_t *msg, *path;

		switch (st->kind) {
		case SCN_SEND:
			if (!(msg = substitute(st->send, vars)))
				break;
			if (!json_is_object(msg))
				abort();
			json_decref(sent);
			sent = msg;
			break;
		case SCN_EXPECT:
		case SCN_EXPECT_NONE:
			match(sample, st->match, vars);
			if (sent)
				match(sent, st->match, vars);
			json_object_foreach(st->save, var, path)
				if ((v = scn_path(sample, json_string_value(path))))
					json_object_set(vars, var, v);
			break;
		default:
			break;
		}
	}
	json_decref(sent);
	json_decref(vars);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct scenario zero;
	struct scenario sc;
	char err[ERR_LEN], cut[SHORT_LEN];
	double ms;

	memset(err, 'x', sizeof(err));
	if (scn_parse((const char *)data, size, &sc, err, sizeof(err)) != 0) {
		if (memcmp(&sc, &zero, sizeof(sc)) != 0 || !err[0])
			abort();
		check_text(err, sizeof(err), true);
		/* a shorter buffer gets a prefix of the same message */
		memset(cut, 'x', sizeof(cut));
		if (scn_parse((const char *)data, size, &sc, cut, sizeof(cut)) == 0)
			abort();
		check_text(cut, sizeof(cut), true);
		if (strncmp(cut, err, strlen(cut)) != 0)
			abort();
		return 0;
	}
	if (err[0])
		abort();
	check_scenario(&sc, (const char *)data, size);
	run(&sc);
	/* any string the file gave, as a duration */
	if (sc.name && (ms = scn_duration_ms(sc.name)) != -1 && !duration_ok(ms))
		abort();
	scn_free(&sc);
	scn_free(&sc);
	if (memcmp(&sc, &zero, sizeof(sc)) != 0)
		abort();
	return 0;
}
