/* cmd/revenge-bench/amplify.c - `revenge-bench amplify`: can one party take
 * the server from the others?
 *
 * An attack party (mesh.c, one party) of --attackers members who each send
 * --rate chat messages per second, every one relayed to the whole party,
 * and --passive members who only receive; and --bystanders clients, each
 * alone in a party of its own, sending `time` requests (open loop, 20 a
 * second each) and timing the replies. The window is two phases of
 * --duration each: quiet (the attack party connected but silent), then the
 * attack. Reported: the bystanders' round-trip percentiles in each phase,
 * the ratio of the p99s and their difference, and what the attack sent,
 * got delivered and got refused (rate_limited: the party's budget or the
 * connections' rate limit).
 *
 * The bystanders run in a child process with a loop of their own, so that
 * what they time is the server, not this process busy reading the attack
 * party's deliveries; --bystander-cpu pins that process to a CPU. The two
 * share the monotonic clock: the parent hands the child the phases'
 * boundaries as instants, and the child hands back its two histograms.
 */
#include "amplify.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "histo.h"
#include "limits.h"
#include "mesh.h"
#include "srcaddr.h"

#define BYSTANDER_RATE 20.0       /* time requests per second per bystander */
#define BYSTANDER_GRACE_S 1.0     /* after the attack, for replies in flight */
#define READY_TIMEOUT_S 60        /* for the bystanders to connect */

/* What the bystanders' process hands back, as bytes over a pipe (the same
 * binary on both ends). */
struct by_result {
	unsigned connected, failed, closed;
	uint64_t sent, answered, errors;
	struct histo quiet, attack;   /* round trips by the phase they were sent in */
	char reason[200];             /* the first failure */
};

/* ---- the bystanders' process ------------------------------------------ */

struct byst;

struct by_conn {
	struct byst *b;
	struct rv_conn *conn;         /* NULL once closed */
	bool open;
};

struct byst {
	const struct amplify_opts *o;
	struct ev_loop *loop;
	struct rv_client *cl;
	struct by_conn *c;
	int in_fd, out_fd;
	bool ready;
	double t_quiet, t_attack, t_end;    /* mesh_now() instants; 0 before "go" */
	uint64_t due;
	unsigned rr;
	char line[128];
	size_t line_len;
	ev_timer tick;
	ev_io go;
	struct by_result r;
};

/* Move exactly len bytes through the pipe fd within timeout_s, reading
 * into buf or writing from it: 0, or -1 (timeout, end of file, error).
 * Everything crosses whole: the pipes are ours alone. */
static int pipe_all(int fd, void *buf, size_t len, bool out, double timeout_s)
{
	char *p = buf;
	double end = mesh_now() + timeout_s;

	while (len) {
		struct pollfd pfd = { .fd = fd, .events = out ? POLLOUT : POLLIN };
		int left = (int)((end - mesh_now()) * 1000);
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, left) <= 0)
			return -1;
		n = out ? write(fd, p, len) : read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

#define PIPE_TIMEOUT_S 10.0       /* for a write to the other process */

static void by_settled(struct byst *b)
{
	if (b->ready || b->r.connected + b->r.failed + b->r.closed < b->o->bystanders)
		return;
	b->ready = true;
	if (pipe_all(b->out_fd, "ready\n", 6, true, PIPE_TIMEOUT_S))
		_exit(1);
}

static void by_open(struct rv_conn *c, void *user)
{
	struct by_conn *bc = user;

	bc->open = true;
	bc->b->r.connected++;
	by_settled(bc->b);
}

static void by_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
	struct by_conn *bc = user;
	struct byst *b = bc->b;
	const char *p;
	double sent, rtt_us;

	if (mesh_type_is(text, len, "error")) {
		b->r.errors++;
		return;
	}
	if (!mesh_type_is(text, len, "time") ||
	    !(p = memmem(text, len, "\"client_time\":", 14)))
		return;
	sent = strtod(p + 14, NULL);
	rtt_us = (mesh_now() * 1e3 - sent) * 1e3;
	b->r.answered++;
	if (sent >= b->t_quiet * 1e3 && sent < b->t_attack * 1e3)
		histo_add(&b->r.quiet, rtt_us);
	else if (sent >= b->t_attack * 1e3 && sent < b->t_end * 1e3)
		histo_add(&b->r.attack, rtt_us);
}

static void by_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	struct by_conn *bc = user;
	struct byst *b = bc->b;

	bc->conn = NULL;
	if (bc->open)
		b->r.closed++;
	else
		b->r.failed++;
	bc->open = false;
	if (!b->r.reason[0])
		bench_close_reason(b->r.reason, sizeof(b->r.reason), code, status, reason);
	by_settled(b);
}

static const struct rv_conn_callbacks by_callbacks = { by_open, by_message, by_close };

/* Every millisecond once "go" came: the requests due, round-robin; after
 * the attack and its grace, hand the result back and end. */
static void by_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct byst *b = t->data;
	double now = mesh_now();
	char buf[96];

	if (!b->t_quiet || now < b->t_quiet)
		return;
	if (now >= b->t_end) {
		if (now >= b->t_end + BYSTANDER_GRACE_S || b->r.answered + b->r.errors >= b->r.sent)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	uint64_t due = (uint64_t)((now - b->t_quiet) * BYSTANDER_RATE * b->o->bystanders);

	while (b->due < due) {
		struct by_conn *bc = &b->c[b->rr++ % b->o->bystanders];
		int n;

		b->due++;
		if (!bc->open)
			continue;
		n = snprintf(buf, sizeof(buf),
			     "{\"type\":\"time\",\"payload\":{\"client_time\":%.3f}}",
			     mesh_now() * 1e3);
		if (!rv_conn_send(bc->conn, buf, (size_t)n))
			b->r.sent++;
	}
}

/* "go QUIET ATTACK END\n" from the parent, then "stop\n" when Ctrl-C
 * stopped it (hand back what was measured so far); end of file: it is
 * gone. */
static void by_go(struct ev_loop *loop, ev_io *w, int revents)
{
	struct byst *b = w->data;
	ssize_t n = read(w->fd, b->line + b->line_len, sizeof(b->line) - 1 - b->line_len);

	if (n < 0 && errno == EINTR)
		return;
	if (n <= 0)
		_exit(1);
	b->line_len += (size_t)n;
	b->line[b->line_len] = 0;
	if (!strchr(b->line, '\n')) {
		if (b->line_len == sizeof(b->line) - 1)
			_exit(1);
		return;
	}
	if (!strncmp(b->line, "stop\n", 5)) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (sscanf(b->line, "go %lf %lf %lf", &b->t_quiet, &b->t_attack, &b->t_end) != 3)
		_exit(1);
	b->line_len = 0;   /* and wait for a "stop" */
}

/* The child's whole life; never returns. */
static void __attribute__((noreturn)) bystanders_main(const struct amplify_opts *o,
						       const char *run, int in_fd, int out_fd)
{
	struct rv_client_config cc = { 0 };
	struct byst b = { .o = o, .in_fd = in_fd, .out_fd = out_fd };
	char url[2400];
	int err;

	if (o->bystander_cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(o->bystander_cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			snprintf(b.r.reason, sizeof(b.r.reason), "cannot pin to CPU %d: %s",
				 o->bystander_cpu, strerror(errno));
			goto out;
		}
	}
	/* Ctrl-C on the terminal reaches this process too: the parent says
	 * when to stop */
	signal(SIGINT, SIG_IGN);
	b.c = calloc(o->bystanders, sizeof(*b.c));
	b.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = b.loop;
	cc.insecure = true;
	if (!b.c || !(b.cl = rv_client_new(&cc, &err))) {
		snprintf(b.r.reason, sizeof(b.r.reason), "cannot start the bystanders' client");
		goto out;
	}
	for (unsigned i = 0; i < o->bystanders; i++) {
		struct rv_conn_options co = { .source_addr = srcaddr_pick(o->c.src, i),
					      .token = o->c.token };

		b.c[i].b = &b;
		snprintf(url, sizeof(url), "%s/ws/party/amp-%s-b%u?name=bystander%u", o->c.url, run,
			 i, i);
		b.c[i].conn = rv_client_connect(b.cl, url, &co, &by_callbacks, &b.c[i], &err);
		if (!b.c[i].conn) {
			b.r.failed++;
			if (!b.r.reason[0])
				snprintf(b.r.reason, sizeof(b.r.reason), "cannot connect: %s",
					 rv_strerror(err));
		}
	}
	by_settled(&b);
	ev_timer_init(&b.tick, by_tick, 0.001, 0.001);
	ev_io_init(&b.go, by_go, in_fd, EV_READ);
	b.tick.data = b.go.data = &b;
	ev_timer_start(b.loop, &b.tick);
	ev_io_start(b.loop, &b.go);
	ev_run(b.loop, 0);
out:
	/* the result even after a failure: its reason says what happened */
	if (!b.ready && pipe_all(out_fd, "ready\n", 6, true, PIPE_TIMEOUT_S))
		_exit(1);
	pipe_all(out_fd, &b.r, sizeof(b.r), true, PIPE_TIMEOUT_S);
	_exit(0);
}

/* ---- the attack party (this process) ---------------------------------- */

struct amp {
	const struct amplify_opts *o;
	struct common_opts c;         /* o->c with both phases as the window */
	struct mesh ms;
	pid_t child;
	int to_child, from_child;
	bool go_sent;
	char marker[32];              /* "a:RUN:" in the attack's texts */
	size_t marker_len;
	uint64_t due, sent, delivered, refused, errors;
	unsigned long rr;
	char first_error[200];
	struct by_result by;
	bool by_ok;
};

static void amp_message(struct mesh *ms, struct mesh_member *m, const char *text, size_t len)
{
	struct amp *a = ms->user;
	char code[32], msg[120];

	if (!ms->measuring)
		return;
	if (mesh_type_is(text, len, "chat")) {
		if (memmem(text, len, a->marker, a->marker_len))
			a->delivered++;
		return;
	}
	if (!mesh_type_is(text, len, "error"))
		return;
	bench_scan_str(text, len, "code", code, sizeof(code));
	if (!strcmp(code, "rate_limited")) {
		a->refused++;
		return;
	}
	if (!a->errors++) {
		bench_scan_str(text, len, "message", msg, sizeof(msg));
		snprintf(a->first_error, sizeof(a->first_error), "%s: %s", code, msg);
	}
}

/* The first call of the window tells the bystanders the phases; from the
 * second phase on, the attackers' chats due by now, round-robin. */
static void amp_pace(struct mesh *ms, double now)
{
	struct amp *a = ms->user;
	double d = a->o->c.duration_s, t_attack = ms->t_measure + d;
	char buf[160];

	if (!a->go_sent) {
		int n = snprintf(buf, sizeof(buf), "go %.6f %.6f %.6f\n", ms->t_measure, t_attack,
				 ms->t_end);

		a->go_sent = true;
		if (pipe_all(a->to_child, buf, (size_t)n, true, PIPE_TIMEOUT_S) && !ms->reason[0])
			snprintf(ms->reason, sizeof(ms->reason), "the bystanders' process is gone");
	}
	if (now < t_attack)
		return;
	uint64_t due = (uint64_t)((now - t_attack) * a->o->rate * a->o->attackers);

	while (a->due < due) {
		/* the attackers are the party's first members */
		struct mesh_member *m = &ms->m[a->rr++ % a->o->attackers];
		int n;

		a->due++;
		if (!m->open)
			continue;
		n = snprintf(buf, sizeof(buf), "{\"type\":\"chat\",\"payload\":{\"text\":\"%s%llu\"}}",
			     a->marker, (unsigned long long)a->due);
		if (!rv_conn_send(m->conn, buf, (size_t)n))
			a->sent++;
	}
}

/* Nothing is awaited after the window: the deliveries are counted, not
 * timed. */
static bool amp_complete(struct mesh *ms)
{
	return true;
}

static void amp_status(struct mesh *ms, char *buf, size_t len)
{
	struct amp *a = ms->user;
	bool attack = ms->measuring && mesh_now() >= ms->t_measure + a->o->c.duration_s;

	snprintf(buf, len, "%s  %llu sent  %llu refused  %llu delivered",
		 !ms->measuring ? "" : attack ? "attack" : "quiet", (unsigned long long)a->sent,
		 (unsigned long long)a->refused, (unsigned long long)a->delivered);
}

static void amp_begin(struct mesh *ms)
{
	struct amp *a = ms->user;

	a->marker_len = (size_t)snprintf(a->marker, sizeof(a->marker), "a:%s:", ms->run);
}

/* The bystanders' p99 under attack over the quiet one, and the
 * difference in ms; NAN when a phase has no sample. */
static void p99s(const struct amp *a, double *ratio, double *delta_ms)
{
	double q = histo_quantile(&a->by.quiet, 0.99), t = histo_quantile(&a->by.attack, 0.99);

	*ratio = *delta_ms = NAN;
	if (!a->by_ok || !a->by.quiet.count || !a->by.attack.count)
		return;
	*ratio = q > 0 ? t / q : NAN;
	*delta_ms = (t - q) / 1000;
}

static void json_num(FILE *out, const char *key, double v, const char *fmt)
{
	fprintf(out, "\"%s\":", key);
	if (isfinite(v))
		fprintf(out, fmt, v);
	else
		fputs("null", out);
	fputc(',', out);
}

static void report_json(const struct mesh *ms, const struct amp *a, double ratio, double delta)
{
	const struct amplify_opts *o = a->o;
	const struct by_result *by = &a->by;

	printf("{\"scenario\":\"amplify\",");
	mesh_json_head(ms, stdout);
	printf("\"phase_s\":%.3f,\"attackers\":%u,\"passive\":%u,\"rate_per_attacker\":%g,"
	       "\"bystanders\":%u,", o->c.duration_s, o->attackers, o->passive, o->rate,
	       o->bystanders);
	if (o->bystander_cpu >= 0)
		printf("\"bystander_cpu\":%d,", o->bystander_cpu);
	else
		printf("\"bystander_cpu\":null,");
	printf("\"sent\":%llu,\"delivered\":%llu,\"refused\":%llu,\"errors\":%llu,",
	       (unsigned long long)a->sent, (unsigned long long)a->delivered,
	       (unsigned long long)a->refused, (unsigned long long)a->errors);
	printf("\"first_error\":");
	bench_json_str(stdout, a->first_error[0] ? a->first_error : NULL);
	putchar(',');
	mesh_load_json(ms, stdout);
	printf("\"bystander\":{\"connected\":%u,\"failed\":%u,\"closed_by_server\":%u,"
	       "\"sent\":%llu,\"answered\":%llu,\"errors\":%llu,\"quiet_samples\":%llu,"
	       "\"attack_samples\":%llu},", by->connected, by->failed, by->closed,
	       (unsigned long long)by->sent, (unsigned long long)by->answered,
	       (unsigned long long)by->errors, (unsigned long long)by->quiet.count,
	       (unsigned long long)by->attack.count);
	printf("\"quiet_rtt_ms\":");
	histo_json(&by->quiet, stdout);
	printf(",\"attack_rtt_ms\":");
	histo_json(&by->attack, stdout);
	putchar(',');
	json_num(stdout, "p99_ratio", ratio, "%.2f");
	json_num(stdout, "p99_delta_ms", delta, "%.3f");
	printf("\"bystander_failure\":");
	bench_json_str(stdout, a->by_ok ? NULL : by->reason[0] ? by->reason :
		       "no result from the bystanders' process");
	printf(",\"first_failure\":");
	bench_json_str(stdout, ms->reason[0] ? ms->reason : NULL);
	limits_json(o->c.lim, stdout);
	printf("}\n");
}

static void report_text(const struct mesh *ms, const struct amp *a, double ratio, double delta)
{
	const struct amplify_opts *o = a->o;
	const struct by_result *by = &a->by;
	double secs = o->c.duration_s;

	printf("scenario      amplify (1 party: %u attackers x %g chats/s + %u passive; %u "
	       "bystanders alone in parties of their own)\n", o->attackers, o->rate, o->passive,
	       o->bystanders);
	printf("server        %s\n", o->c.url);
	printf("connected     %u of %u in the attack party (failed %u, closed by server %u); "
	       "bystanders %u of %u (failed %u, closed %u)\n", ms->connected, ms->n, ms->failed,
	       ms->closed, by->connected, o->bystanders, by->failed, by->closed);
	printf("phases        %.1f s quiet, then %.1f s attack\n", secs, secs);
	mesh_interrupted_text(ms, stdout);
	printf("attack        %llu chats sent (%.0f/s), %llu refused rate_limited, %llu "
	       "deliveries (%.0f/s)\n", (unsigned long long)a->sent,
	       secs > 0 ? (double)a->sent / secs : 0, (unsigned long long)a->refused,
	       (unsigned long long)a->delivered, secs > 0 ? (double)a->delivered / secs : 0);
	printf("errors        %llu%s%s\n", (unsigned long long)a->errors,
	       a->first_error[0] ? ", the first: " : "", a->first_error);
	mesh_load_text(ms, stdout);
	printf("bystanders    %llu time requests, %llu answered, %llu errors%s\n",
	       (unsigned long long)by->sent, (unsigned long long)by->answered,
	       (unsigned long long)by->errors,
	       o->bystander_cpu >= 0 ? "" : " (not pinned: --bystander-cpu)");
	printf("quiet rtt     ");
	histo_text(&by->quiet, stdout);
	printf("attack rtt    ");
	histo_text(&by->attack, stdout);
	if (isfinite(ratio))
		printf("p99 ratio     %.2fx (%+.3f ms under attack)\n", ratio, delta);
	if (!a->by_ok)
		printf("bystanders    failed: %s\n", by->reason[0] ? by->reason :
		       "no result from their process");
	limits_text(o->c.lim, stdout);
	if (ms->reason[0])
		printf("first failure %s\n", ms->reason);
}

static void amp_report(const struct mesh *ms)
{
	struct amp *a = ms->user;
	double ratio, delta;

	/* the child ends a grace period after the attack; it has had the
	 * mesh's own grace already. After Ctrl-C: now, with what it has. */
	if (ms->intr.hit)
		pipe_all(a->to_child, "stop\n", 5, true, PIPE_TIMEOUT_S);
	a->by_ok = !pipe_all(a->from_child, &a->by, sizeof(a->by), false, BYSTANDER_GRACE_S + 10) &&
		   !a->by.reason[0];
	p99s(a, &ratio, &delta);
	if (a->o->c.json)
		report_json(ms, a, ratio, delta);
	else
		report_text(ms, a, ratio, delta);
}

static const struct mesh_hooks hooks = {
	.message = amp_message, .pace = amp_pace, .complete = amp_complete,
	.status = amp_status, .begin = amp_begin, .report = amp_report,
};

/* Start the bystanders' process and wait until its connections are
 * settled: 0, or -1 after saying why on stderr. */
static int start_bystanders(struct amp *a, const char *run)
{
	int down[2], up[2];
	char line[8];

	if (pipe(down) || pipe(up)) {
		fprintf(stderr, "revenge-bench: pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(NULL);   /* nothing buffered may be written twice */
	a->child = fork();
	if (a->child < 0) {
		fprintf(stderr, "revenge-bench: fork: %s\n", strerror(errno));
		return -1;
	}
	if (!a->child) {
		close(down[1]);
		close(up[0]);
		bystanders_main(a->o, run, down[0], up[1]);
	}
	close(down[0]);
	close(up[1]);
	a->to_child = down[1];
	a->from_child = up[0];
	if (pipe_all(a->from_child, line, 6, false, READY_TIMEOUT_S) || memcmp(line, "ready\n", 6)) {
		fprintf(stderr, "revenge-bench: the bystanders did not connect within %d s\n",
			READY_TIMEOUT_S);
		return -1;
	}
	return 0;
}

static void stop_bystanders(struct amp *a)
{
	if (a->to_child > 0)
		close(a->to_child);
	if (a->from_child > 0)
		close(a->from_child);
	if (a->child > 0) {
		/* it ends by itself on the closed pipe; this is for a stuck one */
		kill(a->child, SIGTERM);
		waitpid(a->child, NULL, 0);
	}
}

int amplify_run(const struct amplify_opts *o)
{
	struct amp *a = calloc(1, sizeof(*a));
	char run[16];
	int rc = 1;

	if (!a) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		return 1;
	}
	/* a write to a bystanders' process that died must not kill us */
	signal(SIGPIPE, SIG_IGN);
	a->o = o;
	a->c = o->c;
	a->c.duration_s = 2 * o->c.duration_s;
	/* the bystanders' parties are named after the run too, so that
	 * runs side by side never share one */
	snprintf(run, sizeof(run), "%llx", (unsigned long long)(rv_time_mono_ns() & 0xffffffffff));
	if (!start_bystanders(a, run)) {
		rc = mesh_main(&a->ms, &a->c, 1, o->attackers + o->passive, &hooks, a);
		if (rc != BENCH_EXIT_INTERRUPTED && (!a->by_ok || a->by.failed || a->by.closed))
			rc = 1;
	}
	stop_bystanders(a);
	free(a);
	return rc;
}
