/* cmd/revenge-probe/run.c - `revenge-probe run FILE`: execute a scenario
 * file (parsed and validated by scenario_parse.c) step by step over the runtime.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"
#include "scenario.h"

#define FILE_MAX (1 << 20)

struct match_ctx {
	const json_t *match;
	const json_t *vars;
};

static bool match_pred(const json_t *msg, void *arg, char *why, size_t len)
{
	const struct match_ctx *m = arg;

	return !m->match || scn_match(msg, m->match, m->vars, why, len);
}

/* The whole file (or stdin for "-"), NUL-terminated; exits 2 on error. */
static char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf;
	size_t n;
	int err;

	if (!f)
		usage_error("run: cannot read '%s': %s", path, strerror(errno));
	buf = malloc(FILE_MAX + 1);
	if (!buf)
		usage_error("run: out of memory");
	n = fread(buf, 1, FILE_MAX + 1, f);
	err = ferror(f) ? errno : 0;
	if (f != stdin)
		fclose(f);
	if (err || n > FILE_MAX) {
		free(buf);
		if (err)
			usage_error("run: cannot read '%s': %s", path, strerror(err));
		usage_error("run: '%s' is larger than 1 MiB", path);
	}
	buf[n] = 0;
	*len = n;
	return buf;
}

/* The id an expect step matches exactly, when it names one ("id": "x",
 * variables substituted): a reply to a request the scenario sent, which
 * an error with the same id answers finally. NULL: none (or a matcher). */
static json_t *reply_id(const struct scn_step *st, json_t *vars)
{
	json_t *want = st->match ? json_object_get(st->match, "id") : NULL, *id;
	char why[300];

	if (!json_is_string(want) || !strcmp(st->type, "error"))
		return NULL;
	id = scn_substitute(want, vars, why, sizeof(why));
	if (id && !json_is_string(id)) {
		json_decref(id);
		id = NULL;
	}
	return id;
}

static int run_step(struct probe *p, const struct scenario *sc, const struct scn_step *st,
		    struct pclient **clients, json_t *vars)
{
	struct pclient *c = st->client >= 0 ? clients[st->client] : NULL;
	struct match_ctx mc = { st->match, vars };
	char why[300];
	json_t *msg;

	switch (st->kind) {
	case SCN_OPEN:
		return pc_open(c, sc->clients[st->client].origin);
	case SCN_CLOSE:
		pc_close(c);
		return 0;
	case SCN_SLEEP:
		probe_sleep(p, st->ms);
		return 0;
	case SCN_SEND:
		msg = scn_substitute(st->send, vars, why, sizeof(why));
		if (!msg) {
			probe_fail(p, PX_FAILED, "%s", why);
			return p->status;
		}
		pc_send(c, msg);
		json_decref(msg);
		return p->status;
	case SCN_EXPECT_NONE:
		return pc_expect_none(c, st->type, match_pred, &mc, st->ms);
	case SCN_EXPECT: {
		const char *var;
		json_t *path;

		json_t *id = reply_id(st, vars);
		char what[RV_ID_MAX + 64];

		snprintf(what, sizeof(what), "expect %s (id %s)", st->type,
			 id ? json_string_value(id) : "");
		msg = pc_expect_answer(c, st->type, match_pred, &mc,
				       id ? json_string_value(id) : NULL, what,
				       st->ms > 0 ? st->ms : sc->timeout_ms, NULL);
		json_decref(id);
		if (!msg)
			return p->status;
		json_object_foreach(st->save, var, path) {
			json_t *v = scn_path(msg, json_string_value(path));

			if (!v) {
				probe_fail(p, PX_FAILED, "save %s: %s is not in the %s message", var,
					   json_string_value(path), st->type);
				break;
			}
			json_object_set(vars, var, v);
		}
		json_decref(msg);
		return p->status;
	}
	}
	return 0;
}

int check_run(struct probe *p, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "var", required_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct scenario sc;
	struct pclient **clients;
	const char *file = NULL;
	json_t *vars = json_object();
	char err[400], *text;
	size_t len, i;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (opt) {
		case 'v': {
			const char *eq = strchr(optarg, '=');
			char name[65];

			if (!eq || eq == optarg || eq - optarg > 64)
				usage_error("--var: expected NAME=VALUE, got '%s'", optarg);
			snprintf(name, sizeof(name), "%.*s", (int)(eq - optarg), optarg);
			json_object_set_new(vars, name, json_string(eq + 1));
			break;
		}
		case ':': usage_error("%s: missing value", argv[optind - 1]);
		default: usage_error("unknown option '%s' for run", argv[optind - 1]);
		}
	}
	if (optind < argc)
		file = argv[optind++];
	if (!file)
		usage_error("run: expected a scenario FILE (or - for stdin)");
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	text = read_all(file, &len);
	if (scn_parse(text, len, &sc, err, sizeof(err))) {
		free(text);
		json_decref(vars);
		usage_error("%s: %s", file, err);
	}
	free(text);

	/* ${run}: a fresh id per run, so reruns never share a party */
	if (!json_object_get(vars, "run")) {
		char run[32];

		snprintf(run, sizeof(run), "%llx", (unsigned long long)rv_time_mono_ns());
		json_object_set_new(vars, "run", json_string(run));
	}
	clients = calloc(sc.n_clients, sizeof(*clients));
	for (i = 0; i < sc.n_clients; i++) {
		json_t *path = json_string(sc.clients[i].path), *sub;

		sub = scn_substitute(path, vars, err, sizeof(err));
		json_decref(path);
		if (!sub) {
			p->status = PX_USAGE;
			snprintf(p->why, sizeof(p->why), "%s: client %s: %s", file, sc.clients[i].name,
				 err);
			break;
		}
		clients[i] = probe_client(p, sc.clients[i].name, json_string_value(sub));
		json_decref(sub);
	}
	for (i = 0; i < sc.n_clients && !p->status; i++)
		if (clients[i] && !sc.clients[i].lazy)
			pc_open(clients[i], sc.clients[i].origin);
	for (i = 0; i < sc.n_steps && !p->status; i++) {
		if (run_step(p, &sc, &sc.steps[i], clients, vars)) {
			char where[64];
			size_t n, have = strlen(p->why);

			if (sc.steps[i].line)
				n = (size_t)snprintf(where, sizeof(where), "step %zu (line %d): ", i + 1,
						     sc.steps[i].line);
			else
				n = (size_t)snprintf(where, sizeof(where), "step %zu: ", i + 1);
			if (have + n >= sizeof(p->why))
				have = sizeof(p->why) - n - 1;
			memmove(p->why + n, p->why, have);
			memcpy(p->why, where, n);
			/* the prefix may have pushed a character over the end */
			p->why[rv_utf8_cut(p->why, n + have, n + have)] = 0;
		}
	}
	json_object_set_new(p->details, "scenario", json_string(sc.name ? sc.name : file));
	json_object_set_new(p->details, "steps", json_integer((json_int_t)sc.n_steps));
	json_object_set_new(p->details, "steps_passed", json_integer((json_int_t)(p->status && i ? i - 1 : i)));
	if (!p->status)
		snprintf(p->why, sizeof(p->why), "%s: %zu steps passed", sc.name ? sc.name : file,
			 sc.n_steps);
	free(clients);
	json_decref(vars);
	scn_free(&sc);
	return p->status;
}
