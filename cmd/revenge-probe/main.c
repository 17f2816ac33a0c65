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
"Usage: " PROG " [OPTIONS] CHECK [CHECK OPTIONS] [+ CHECK [CHECK OPTIONS]]...\n"
"\n"
"Check a live revenge-server, for CI: each check prints one line (or one\n"
"JSON object with --json) and exits with a status saying what happened.\n"
"Several checks joined by + run one after the other; a summary line\n"
"follows and the status is the first failed check's.\n"
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
"  --junit FILE        also write a JUnit XML report of the checks to FILE\n"
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
	const char *junit;            /* --junit FILE, NULL: none */
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
	case 'J':
		if (!*arg)
			usage_error("--junit: empty path");
		g->junit = arg;
		break;
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

/* One check of the run: its words, its result. */
struct check_run {
	int (*fn)(struct probe *, int, char **);
	int argc;
	char **argv;                  /* the check's own (argv[0] its name), NULL-ended */
	bool ran;
	int status;
	double ms;
	char why[600];
};

static int (*check_fn(const char *name))(struct probe *, int, char **)
{
	static const struct {
		const char *name;
		int (*fn)(struct probe *, int, char **);
	} checks[] = {
		{ "health", check_health }, { "sync", check_sync }, { "chat", check_chat },
		{ "progress", check_progress }, { "quality", check_quality },
		{ "run", check_run }, { "tail", check_tail },
	};

	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++)
		if (!strcmp(name, checks[i].name))
			return checks[i].fn;
	return NULL;
}

/* The words after the global options: CHECK [OPTS] [+ CHECK [OPTS]]...
 * Each check's words are copied into a NULL-ended array of their own, the
 * global options among them applied and taken out. Usage errors exit. */
static size_t split_checks(struct globals *g, const struct option *opts, int argc, char **argv,
			   struct check_run **out)
{
	size_t n = 1, k = 0;
	struct check_run *runs;
	int start = 0;

	if (argc < 1)
		usage_error("missing CHECK (health, sync, chat, progress, quality, run, tail)");
	for (int i = 0; i < argc; i++)
		n += !strcmp(argv[i], "+");
	if (!(runs = calloc(n, sizeof(*runs))))
		usage_error("out of memory");
	for (int i = 0; i <= argc; i++) {
		struct check_run *r;

		if (i < argc && strcmp(argv[i], "+"))
			continue;
		r = &runs[k++];
		r->argc = i - start;
		if (!r->argc)
			usage_error("%s", k == 1 ? "a '+' with no check before it" :
				    i == argc ? "a '+' with no check after it" :
				    "two '+' with no check between them");
		if (!(r->argv = calloc((size_t)r->argc + 1, sizeof(char *))))
			usage_error("out of memory");
		memcpy(r->argv, argv + start, (size_t)r->argc * sizeof(char *));
		r->argc = hoist_globals(g, opts, r->argc, r->argv, 1);
		if (!(r->fn = check_fn(r->argv[0])))
			usage_error("unknown check '%s' (health, sync, chat, progress, quality, run, "
				    "tail)", r->argv[0]);
		if (n > 1 && r->fn == check_tail)
			usage_error("tail runs until interrupted: it cannot be one of several checks");
		start = i + 1;
	}
	*out = runs;
	return n;
}

/* After several checks: one line, or one JSON object, for all of them. */
static void summary(const struct probe *p, const struct check_run *runs, size_t n, int status)
{
	size_t passed = 0, ran = 0;
	json_t *failed = json_array();
	char names[400] = "";

	for (size_t i = 0; i < n; i++) {
		if (!runs[i].ran)
			continue;
		ran++;
		if (!runs[i].status) {
			passed++;
			continue;
		}
		json_array_append_new(failed, json_string(runs[i].argv[0]));
		snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
			 names[0] ? ", " : "", runs[i].argv[0]);
	}
	if (p->json) {
		json_t *o = json_pack("{s:I,s:I,s:I,s:O,s:i}", "checks", (json_int_t)n, "ran",
				      (json_int_t)ran, "passed", (json_int_t)passed, "failed",
				      failed, "exit", status);
		char *text = json_dumps(o, JSON_COMPACT);

		puts(text);
		free(text);
		json_decref(o);
	} else if (!(p->quiet && !status)) {
		printf("%zu checks: %zu passed, %zu failed%s%s%s", n, passed, ran - passed,
		       names[0] ? " (" : "", names, names[0] ? ")" : "");
		if (ran < n)
			printf(", %zu not run (interrupted)", n - ran);
		putchar('\n');
	}
	fflush(stdout);
	json_decref(failed);
}

/* Whether path can be created or replaced, asked before any check runs
 * so that a typo fails at once rather than after the run. */
static bool junit_writable(const char *path)
{
	char dir[4200];
	const char *slash = strrchr(path, '/');

	if (!access(path, F_OK))
		return !access(path, W_OK);
	if (!slash)
		return !access(".", W_OK | X_OK);
	snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	return !access(dir, W_OK | X_OK);
}

/* s escaped for XML text and attributes; characters XML 1.0 cannot hold
 * (most controls) become '?'. */
static void xml_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		switch (ch) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			fputc(ch < 0x20 && ch != '\t' && ch != '\n' ? '?' : ch, f);
		}
	}
}

/* JUnit XML, as CI systems read it: one testcase per check; a failed
 * expectation (1) is a <failure>, anything else (3, 4, 5) an <error>, a
 * check an interrupt kept from running <skipped>. Written to a temporary
 * file renamed over path: never half a report. */
static int write_junit(const char *path, const struct probe *p, const struct check_run *runs,
		       size_t n)
{
	char tmp[4200];
	size_t failures = 0, errors = 0, skipped = 0;
	double total = 0;
	FILE *f;
	int ok;

	for (size_t i = 0; i < n; i++) {
		total += runs[i].ms;
		skipped += !runs[i].ran;
		failures += runs[i].ran && runs[i].status == PX_FAILED;
		errors += runs[i].ran && runs[i].status && runs[i].status != PX_FAILED;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid());
	if (!(f = fopen(tmp, "w")))
		return -1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<testsuites>\n<testsuite name=\"revenge-probe\" tests=\"%zu\" failures=\"%zu\" "
		"errors=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n", n, failures, errors, skipped,
		total / 1000);
	fprintf(f, "<properties><property name=\"url\" value=\"");
	xml_text(f, p->url);
	fprintf(f, "\"/></properties>\n");
	for (size_t i = 0; i < n; i++) {
		const struct check_run *r = &runs[i];

		fprintf(f, "<testcase classname=\"revenge-probe\" name=\"");
		for (int a = 0; a < r->argc; a++) {
			if (a)
				fputc(' ', f);
			xml_text(f, r->argv[a]);
		}
		fprintf(f, "\" time=\"%.3f\">", r->ms / 1000);
		if (!r->ran) {
			fprintf(f, "<skipped message=\"interrupted\"/>");
		} else if (r->status) {
			const char *tag = r->status == PX_FAILED ? "failure" : "error";

			fprintf(f, "<%s type=\"exit %d\" message=\"", tag, r->status);
			xml_text(f, r->why);
			fprintf(f, "\">");
			xml_text(f, r->why);
			fprintf(f, "</%s>", tag);
		} else {
			fprintf(f, "<system-out>");
			xml_text(f, r->why);
			fprintf(f, "</system-out>");
		}
		fprintf(f, "</testcase>\n");
	}
	fprintf(f, "</testsuite>\n</testsuites>\n");
	ok = !ferror(f);
	ok = !fclose(f) && ok;
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
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
		{ "junit", required_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct probe p = { 0 };
	struct rv_client_config cc = { 0 };
	ev_signal sigint, sigterm;
	struct globals g = { .p = &p, .cc = &cc };
	struct check_run *runs;
	int opt, err, status = 0;
	size_t ulen, n_runs;

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
	n_runs = split_checks(&g, opts, argc - optind, argv + optind, &runs);
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
	if (g.junit && !junit_writable(g.junit))
		usage_error("--junit: cannot write '%s': %s", g.junit, strerror(errno));
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
	for (size_t i = 0; i < n_runs && !p.interrupted; i++) {
		struct check_run *r = &runs[i];
		double t0 = probe_now_ms();

		p.status = 0;
		p.why[0] = 0;
		p.details = json_object();
		r->fn(&p, r->argc, r->argv);
		r->ms = probe_now_ms() - t0;
		r->status = p.status;
		r->ran = true;
		snprintf(r->why, sizeof(r->why), "%s", p.why);
		report(&p, r->argv[0], r->ms);
		json_decref(p.details);
		probe_close_all(&p);
		if (r->status && !status)
			status = r->status;
	}
	if (n_runs > 1)
		summary(&p, runs, n_runs, status);
	if (g.junit && write_junit(g.junit, &p, runs, n_runs))
		fprintf(stderr, PROG ": --junit: cannot write '%s': %s\n", g.junit, strerror(errno));

	probe_close_all(&p);
	rv_client_free(p.cl);
	probe_free_clients(&p);
	ev_signal_stop(p.loop, &sigint);
	ev_signal_stop(p.loop, &sigterm);
	for (size_t i = 0; i < n_runs; i++)
		free(runs[i].argv);
	free(runs);
	return status;
}
