/* cmd/revenge-probe/main.c - scriptable checks of a live revenge-server.
 *
 * Global options, then one check and its options. Prints one line per
 * check (a JSON object with --json), and exits with the check's status:
 * 0 passed, 1 failed, 2 usage, 3 cannot connect, 4 timed out, 5 the server
 * broke the protocol.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "probe.h"

#define PROG "revenge-probe"

static const char usage_text[] =
"Usage: " PROG " [OPTIONS] CHECK [CHECK OPTIONS]\n"
"\n"
"Check a live revenge-server, for CI: each check prints one line (or one\n"
"JSON object with --json) and exits with a status saying what happened.\n"
"The options below may also come after the check.\n"
"\n"
"Options:\n"
"  --url URL           server (default $REVENGE_URL or ws://127.0.0.1:8080;\n"
"                      wss:// for TLS)\n"
"  --timeout TIME      longest wait for any answer: 500ms, 10s, 1m (default 10s)\n"
"  --wait TIME         keep retrying the first connection this long, with\n"
"                      backoff and jitter, for a server still starting (default 0)\n"
"  --json              print one JSON object per check (JSON Lines)\n"
"  --quiet             print nothing when the check passes\n"
"  --insecure          wss:// without certificate checks\n"
"  --ca FILE           trust this PEM CA bundle for wss://\n"
"  --origin ORIGIN     send this Origin header (as a browser would)\n"
"  --token TOKEN       send \"Authorization: Bearer TOKEN\" in every handshake\n"
"                      (default $REVENGE_TOKEN); A-Z a-z 0-9 - _ . only\n"
"  --token-file FILE   read the token from FILE (keeps it out of ps)\n"
"  -h, --help          show this help and exit\n"
"  -V, --version       show the version and exit\n"
"\n"
"Checks:\n"
"  health              /healthz answers ok and /metrics is Prometheus text\n"
"  sync                a host and members join a party; the host's sync reaches\n"
"                      every member exactly, not the host; a member's sync is\n"
"                      forbidden; members' extrapolated positions agree\n"
"      --members N       members besides the host (default 3; 1 to 100)\n"
"      --tolerance-ms MS largest disagreement allowed (default 50; 20 with\n"
"                        --accuracy)\n"
"      --party ID        party to use (default a fresh random one)\n"
"      --accuracy        instead: how well the members agree over time; each\n"
"                        estimates server time as a player does, the probe\n"
"                        resumes the party as its host (or, in a --party\n"
"                        someone else hosts, only watches) and reads every\n"
"                        member's position every 10 ms for 3 s; fails (1)\n"
"                        unless the spread's p99 is below --tolerance-ms\n"
"  chat                a chat reaches everyone with text, name and from; a late\n"
"                      joiner finds it in welcome.history\n"
"      --party ID\n"
"  progress            a report is acked; ticks arrive at the interval,\n"
"                      extrapolate while playing and hold while paused\n"
"      --session ID  --media ID  --position S  --duration S\n"
"      --interval-ms MS  (default 200; 100 to 60000)\n"
"  quality             the session's quality_state; optionally a request and\n"
"                      the suggester's answer to bandwidth reports\n"
"      --session ID\n"
"      --request PROFILE       expect quality_changed to PROFILE\n"
"      --bandwidth K,K,...     send these bandwidth reports (kbps)\n"
"      --spacing-ms MS         between reports (default 1000)\n"
"      --expect up|down|none|PROFILE   the last suggestion after the reports\n"
"  run FILE            run a scenario file (JSON; - for stdin): named clients,\n"
"                      then send / expect / expect_none / sleep / open / close\n"
"                      steps (see docs/probe.md)\n"
"      --var NAME=VALUE  set ${NAME} in the file (repeatable)\n"
"  tail PATH           join PATH (e.g. /ws/party/ID) and print every message as\n"
"                      a JSON line until interrupted\n"
"      --count N         stop after N messages\n"
"\n"
"Exit status:\n"
"  0  the check passed\n"
"  1  the check failed (the output says which expectation, what arrived)\n"
"  2  usage error (a bad option, a malformed scenario file)\n"
"  3  could not connect, the handshake was refused, or the connection was lost\n"
"  4  timed out waiting for an answer\n"
"  5  the server broke the protocol\n";

unsigned long opt_uint(const char *flag, const char *s, unsigned long lo, unsigned long hi)
{
	return cli_uint(PROG, flag, s, lo, hi);
}

double opt_double(const char *flag, const char *s, double lo, double hi)
{
	return cli_double(PROG, flag, s, lo, hi);
}

double opt_duration_ms(const char *flag, const char *s)
{
	return cli_duration_ms(PROG, flag, s);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct probe *p = w->data;

	p->interrupted = true;
}

/* s as a JSON string. A sentence may quote bytes that are not UTF-8 (a
 * file name from the shell); they become '?' rather than losing the
 * sentence, as jansson refuses such a string. */
static json_t *json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;
	size_t len;

	if (j || !(copy = strdup(s)))
		return j;
	len = strlen(copy);
	for (size_t i = 0; i < len;) {
		size_t n = 1;

		while (n <= 4 && i + n <= len && !rv_utf8_valid(copy + i, n))
			n++;
		if (n > 4 || i + n > len)
			copy[i++] = '?';
		else
			i += n;
	}
	j = json_string(copy);
	free(copy);
	return j;
}

/* One line per check: a mark and the sentence, or a JSON object. */
static void report(struct probe *p, const char *check, double elapsed_ms)
{
	bool ok = p->status == 0;

	if (p->json) {
		json_t *o = json_pack("{s:s,s:b,s:i,s:f,s:s}", "check", check, "ok", ok, "exit",
				      p->status, "elapsed_ms", elapsed_ms, "url", p->url);

		json_object_set_new(o, ok ? "summary" : "error", json_text(p->why));
		json_object_set(o, "details", p->details);
		char *text = json_dumps(o, JSON_COMPACT);

		puts(text);
		free(text);
		json_decref(o);
		fflush(stdout);
		return;
	}
	if (ok && p->quiet)
		return;
	/* tail's stdout is the messages themselves: its summary goes aside */
	FILE *f = ok && strcmp(check, "tail") ? stdout : stderr;

	/* "sync: member bob got ..." already names its check */
	size_t cl = strlen(check);
	const char *why = p->why;

	if (!strncmp(why, check, cl) && why[cl] == ':' && why[cl + 1] == ' ')
		why += cl + 2;
	if (p->color)
		fprintf(f, ok ? "\033[32m✓\033[0m %s: %s\n" : "\033[31m✗\033[0m %s: %s\n", check,
			why);
	else
		fprintf(f, "%s %s: %s\n", ok ? "ok" : "FAIL", check, why);
}

/* What the global options set, wherever they are given. */
struct globals {
	struct probe *p;
	struct rv_client_config *cc;
	const char *token, *token_file;
};

static void global_opt(struct globals *g, int opt, const char *arg)
{
	switch (opt) {
	case 'u': g->p->url = arg; break;
	case 't':
		g->p->timeout_ms = opt_duration_ms("--timeout", arg);
		if (g->p->timeout_ms <= 0)
			usage_error("--timeout: must be more than 0");
		break;
	case 'w': g->p->wait_ms = opt_duration_ms("--wait", arg); break;
	case 'j': g->p->json = true; break;
	case 'q': g->p->quiet = true; break;
	case 'k': g->cc->insecure = true; break;
	case 'c':
		if (access(arg, R_OK))
			usage_error("--ca: cannot read '%s': %s", arg, strerror(errno));
		g->cc->ca_file = arg;
		break;
	case 'o': g->p->origin = arg; break;
	case 'T': g->token = arg; break;
	case 'F': g->token_file = arg; break;
	}
}

/* Global options after the check's name (`sync --json`), as a user
 * writes them (--help and --version too): applied, and taken out of argv from first on (up to a
 * "--"), so that the check sees only its own. No check option shares a
 * global's name. Returns the new argc. */
static int hoist_globals(struct globals *g, const struct option *opts, int argc, char **argv,
			 int first)
{
	int out = first;

	for (int i = first; i < argc; i++) {
		const char *a = argv[i], *eq;
		const struct option *o = NULL;
		size_t n;

		if (!strcmp(a, "--")) {
			while (i < argc)
				argv[out++] = argv[i++];
			break;
		}
		if (strncmp(a, "--", 2)) {
			argv[out++] = argv[i];
			continue;
		}
		eq = strchr(a, '=');
		n = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		for (const struct option *x = opts; x->name; x++)
			if (strlen(x->name) == n && !strncmp(x->name, a + 2, n))
				o = x;
		if (!o) {
			argv[out++] = argv[i];
			continue;
		}
		if (o->val == 'h' || o->val == 'V') {
			cli_common_opt(PROG, usage_text, o->val, argv);
		} else if (o->has_arg == no_argument) {
			if (eq)
				usage_error("--%s takes no value", o->name);
			global_opt(g, o->val, NULL);
		} else if (eq) {
			global_opt(g, o->val, eq + 1);
		} else if (i + 1 < argc) {
			global_opt(g, o->val, argv[++i]);
		} else {
			usage_error("--%s: missing value", o->name);
		}
	}
	argv[out] = NULL;
	return out;
}

int main(int argc, char **argv)
{
	static char token_buf[CLI_TOKEN_BUF];   /* --token-file's, for the whole run */
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 't' },
		{ "wait", required_argument, NULL, 'w' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "insecure", no_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'c' },
		{ "origin", required_argument, NULL, 'o' },
		{ "token", required_argument, NULL, 'T' },
		{ "token-file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct {
		const char *name;
		int (*fn)(struct probe *, int, char **);
	} checks[] = {
		{ "health", check_health }, { "sync", check_sync }, { "chat", check_chat },
		{ "progress", check_progress }, { "quality", check_quality },
		{ "run", check_run }, { "tail", check_tail },
	};
	struct probe p = { 0 };
	struct rv_client_config cc = { 0 };
	ev_signal sigint, sigterm;
	struct globals g = { .p = &p, .cc = &cc };
	const char *check;
	int opt, err, (*fn)(struct probe *, int, char **) = NULL;
	double t0;
	size_t ulen;

	p.url = getenv("REVENGE_URL") && *getenv("REVENGE_URL") ? getenv("REVENGE_URL") :
		"ws://127.0.0.1:8080";
	p.timeout_ms = 10000;
	opterr = 0;
	/* Global options stop at the check's name ("+"): the rest is its own,
	 * apart from global options given after it, taken out below. */
	while ((opt = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		if (opt == 'h' || opt == 'V' || opt == '?' || opt == ':')
			cli_common_opt(PROG, usage_text, opt, argv);
		else
			global_opt(&g, opt, optarg);
	}
	if (optind < argc)
		argc = hoist_globals(&g, opts, argc, argv, optind + 1);
	p.token = cli_token(PROG, g.token, g.token_file, token_buf);
	if (strncmp(p.url, "ws://", 5) && strncmp(p.url, "wss://", 6))
		usage_error("--url: expected ws://HOST:PORT or wss://HOST:PORT, got '%s'", p.url);
	ulen = strlen(p.url);
	if (ulen && p.url[ulen - 1] == '/') {
		/* "ws://host:8080/" and "ws://host:8080" mean the same */
		char *u = strdup(p.url);

		u[ulen - 1] = 0;
		p.url = u;
	}
	if (optind >= argc)
		usage_error("missing CHECK (health, sync, chat, progress, quality, run, tail)");
	check = argv[optind];
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!strcmp(check, checks[i].name))
			fn = checks[i].fn;
	if (!fn)
		usage_error("unknown check '%s' (health, sync, chat, progress, quality, run, tail)",
			    check);
	/* Colour and marks only for a person at a terminal who wants them. */
	p.color = isatty(fileno(stdout)) && isatty(fileno(stderr)) && !getenv("NO_COLOR");

	p.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = p.loop;
	cc.ping_interval = 30;   /* tail runs for long: notice a dead server */
	p.cl = rv_client_new(&cc, &err);
	if (!p.cl) {
		fprintf(stderr, PROG ": cannot start the client: %s\n", rv_strerror(err));
		return 1;
	}
	ev_signal_init(&sigint, on_signal, SIGINT);
	ev_signal_init(&sigterm, on_signal, SIGTERM);
	sigint.data = sigterm.data = &p;
	ev_signal_start(p.loop, &sigint);
	ev_signal_start(p.loop, &sigterm);
	p.details = json_object();

	t0 = probe_now_ms();
	fn(&p, argc - optind, argv + optind);
	report(&p, check, probe_now_ms() - t0);

	probe_close_all(&p);
	rv_client_free(p.cl);
	probe_free_clients(&p);
	ev_signal_stop(p.loop, &sigint);
	ev_signal_stop(p.loop, &sigterm);
	json_decref(p.details);
	return p.status;
}
