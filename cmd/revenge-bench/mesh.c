/* cmd/revenge-bench/mesh.c - parties of members on one client context
 * (mesh.h): joining them, settling, the measured window and the grace
 * period after it, and the server's CPU across the window.
 */
#include "mesh.h"
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "limits.h"
#include "servstat.h"
#include "srcaddr.h"

/* At most this many handshakes in flight: every join is announced to the
 * whole party, so filling a party of 1,000 costs the server O(members^2)
 * messages, and a flood of handshakes would only time out behind them. */
#define MAX_CONNECTING 64
#define SETTLE_S 0.5             /* after the last join, before measuring */
#define WARM_S 2.0               /* the same for a scenario that warms up */
#define QUIET_S 0.5              /* ...and no message for this long */
#define SETTLE_MAX_S 30.0        /* ...but measure after this in any case */

double mesh_now(void)
{
	return (double)rv_time_mono_ns() / 1e9;
}

/* How busy the server and this generator were over the window, in percent
 * of one core: a generator near 100% is what limits the run. The CPU is
 * read before the window and after the grace period, which carries only
 * the last deliveries, so it is put over the window alone (a run that
 * ended early, over the time it lasted). */
static void load_pct(const struct mesh *ms, double *server, double *self)
{
	double span = mesh_window(ms);

	*server = *self = NAN;
	/* a window too short for /proc's clock ticks measures nothing */
	if (!ms->measuring || span < 0.1)
		return;
	*server = 100 * (ms->cpu_end - ms->cpu_start) / span;
	*self = 100 * (ms->self_cpu_end - ms->self_cpu_start) / span;
}

void mesh_load_json(const struct mesh *ms, FILE *out)
{
	double server, self;

	load_pct(ms, &server, &self);
	if (isfinite(server))
		fprintf(out, "\"server_cpu_pct\":%.1f,", server);
	else
		fprintf(out, "\"server_cpu_pct\":null,");
	if (isfinite(self))
		fprintf(out, "\"bench_cpu_pct\":%.1f,", self);
	else
		fprintf(out, "\"bench_cpu_pct\":null,");
}

void mesh_load_text(const struct mesh *ms, FILE *out)
{
	double server, self;

	load_pct(ms, &server, &self);
	if (!isfinite(self))
		return;
	if (isfinite(server))
		fprintf(out, "load          server %.0f%% of a core, revenge-bench %.0f%%%s\n", server,
			self, self >= 90 ? " (the generator is the limit)" : "");
	else
		fprintf(out, "load          revenge-bench %.0f%% of a core%s\n", self,
			self >= 90 ? " (the generator is the limit)" : "");
}

static double delivered_per_s(const struct mesh *ms, const struct mesh_deliveries *d)
{
	double secs = mesh_window(ms);

	return secs > 0 ? (double)d->received / secs : 0;
}

void mesh_deliveries_json(const struct mesh *ms, const struct mesh_deliveries *d, FILE *out)
{
	fprintf(out, "\"sent\":%llu,\"expected\":%llu,\"received\":%llu,\"loss_pct\":%.4f,"
		"\"delivered_per_s\":%.1f,\"errors\":%llu,", (unsigned long long)d->sent,
		(unsigned long long)d->expected, (unsigned long long)d->received,
		mesh_loss_pct(d->expected, d->received), delivered_per_s(ms, d),
		(unsigned long long)d->errors);
}

/* NAN when unknown or nothing to divide by. */
static double us_each(double cpu_s, uint64_t n)
{
	return n ? cpu_s * 1e6 / (double)n : NAN;
}

static void json_num(FILE *out, const char *key, double v, const char *fmt)
{
	fprintf(out, "\"%s\":", key);
	if (isfinite(v))
		fprintf(out, fmt, v);
	else
		fprintf(out, "null");
	fputc(',', out);
}

void mesh_deliveries_json_end(const struct mesh *ms, const struct mesh_deliveries *d,
			      FILE *out)
{
	double redis = ms->redis_cpu_end - ms->redis_cpu_start;

	servstat_cpu_json(out, ms->cpu_end - ms->cpu_start, d->received);
	if (ms->o->nurls > 1) {
		fprintf(out, "\"nodes\":[");
		for (unsigned i = 0; i < ms->o->nurls; i++) {
			double cpu = ms->node_cpu_end[i] - ms->node_cpu_start[i];

			fprintf(out, "%s{\"url\":\"%s\",", i ? "," : "", ms->o->urls[i]);
			json_num(out, "cpu_s", cpu, "%.3f");
			fprintf(out, "\"received\":%llu,", (unsigned long long)ms->node_rx[i]);
			json_num(out, "us_per_delivery", us_each(cpu, ms->node_rx[i]), "%.3f");
			fprintf(out, "\"cpu_pct\":");
			if (isfinite(cpu) && mesh_window(ms) > 0)
				fprintf(out, "%.1f}", 100 * cpu / mesh_window(ms));
			else
				fprintf(out, "null}");
		}
		fprintf(out, "],");
	}
	if (ms->o->redis_pid > 0) {
		json_num(out, "redis_cpu_s", redis, "%.3f");
		json_num(out, "redis_us_per_message", us_each(redis, d->sent), "%.3f");
		json_num(out, "redis_publish_per_message",
			 d->sent ? (ms->published_end - ms->published_start) / (double)d->sent : NAN,
			 "%.3f");
	}
	mesh_load_json(ms, out);
	fprintf(out, "\"latency_ms\":");
	histo_json(d->lat, out);
	limits_json(ms->o->lim, out);
	fprintf(out, "}\n");
}

void mesh_deliveries_text(const struct mesh *ms, const struct mesh_deliveries *d, FILE *out)
{
	fprintf(out, "delivered     %llu of %llu expected (loss %.3f%%), %.0f/s\n",
		(unsigned long long)d->received, (unsigned long long)d->expected,
		mesh_loss_pct(d->expected, d->received), delivered_per_s(ms, d));
	fprintf(out, "latency       ");
	histo_text(d->lat, out);
	servstat_cpu_text(out, ms->cpu_end - ms->cpu_start, d->received);
	for (unsigned i = 0; ms->o->nurls > 1 && i < ms->o->nurls; i++) {
		double cpu = ms->node_cpu_end[i] - ms->node_cpu_start[i];

		if (isfinite(cpu))
			fprintf(out, "  node %-7u %.2f s, %llu delivered here, %.2f us each (%s)\n",
				i + 1, cpu, (unsigned long long)ms->node_rx[i],
				us_each(cpu, ms->node_rx[i]), ms->o->urls[i]);
		else
			fprintf(out, "  node %-7u CPU not measured (%s)\n", i + 1, ms->o->urls[i]);
	}
	if (ms->o->redis_pid > 0) {
		double redis = ms->redis_cpu_end - ms->redis_cpu_start;

		if (isfinite(redis))
			fprintf(out, "redis CPU     %.2f s, %.2f us per party message sent, "
				"%.2f publishes each\n", redis, us_each(redis, d->sent),
				d->sent ? (ms->published_end - ms->published_start) /
					  (double)d->sent : NAN);
		else
			fprintf(out, "redis CPU     not measured (no /proc/%d/stat)\n",
				ms->o->redis_pid);
	}
	mesh_load_text(ms, out);
}

static void on_open(struct rv_conn *c, void *user)
{
	struct mesh_member *m = user;

	m->open = true;
	if (m->was_open)
		m->ms->rejoined++;
	else
		m->ms->connected++;
	m->was_open = true;
}

static void on_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
	struct mesh_member *m = user;

	if (!m->ms->measuring)
		m->ms->t_last_rx = mesh_now();
	m->ms->hooks->message(m->ms, m, text, len);
}

static void on_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	struct mesh_member *m = user;
	struct mesh *ms = m->ms;

	m->conn = NULL;
	m->open = false;
	if (ms->stopping)
		return;   /* our own closing at the end of the run */
	if (ms->hooks->dropped && ms->hooks->dropped(ms, m)) {
		ms->dropped++;
		return;
	}
	if (status || !code)
		ms->failed++;
	else
		ms->closed++;
	if (!ms->reason[0]) {
		bench_close_reason(ms->reason, sizeof(ms->reason), code, status, reason);
		mesh_error(ms, "%s", ms->reason);
	}
}

static const struct rv_conn_callbacks callbacks = { on_open, on_message, on_close };

struct rv_conn *mesh_connect(struct mesh *ms, const char *url, const struct rv_conn_callbacks *cb,
			     void *user, int *err)
{
	struct rv_conn_options co = { .source_addr = srcaddr_pick(ms->o->src, ms->conns++),
				      .token = ms->o->token };

	errno = 0;
	return rv_client_connect(ms->cl, url, &co, cb, user, err);
}

const char *mesh_connect_error(int err)
{
	/* lws leaves socket()'s errno: EMFILE at the open-file limit */
	return errno ? strerror(errno) : rv_strerror(err);
}

const char *mesh_url(const struct mesh *ms, unsigned idx)
{
	return ms->o->nurls > 1 ? ms->o->urls[idx % ms->o->nurls] : ms->o->url;
}

void mesh_count_rx(struct mesh *ms, const struct mesh_member *m)
{
	ms->node_rx[m->idx % ms->o->nurls]++;
}

/* Every node's CPU seconds into cpu[] and their sum (NAN when one is
 * unknown); Redis's into *redis (NAN without --redis-pid). */
static double read_cpus(struct mesh *ms, double *cpu, double *redis)
{
	double sum = 0, published;

	for (unsigned i = 0; i < ms->o->nurls; i++) {
		cpu[i] = servstat_cpu(ms->loop, ms->cl, ms->o->urls[i], ms->o->node_pids[i]);
		sum += cpu[i];
	}
	*redis = NAN;
	if (ms->o->redis_pid <= 0)
		return sum;
	*redis = servstat_cpu(ms->loop, ms->cl, NULL, ms->o->redis_pid);
	/* the publishes of the window alone: the joins' and leaves' notices
	 * come before and after it */
	published = 0;
	for (unsigned i = 0; i < ms->o->nurls; i++)
		published += servstat_metric(ms->loop, ms->cl, ms->o->urls[i],
					     "revenge_redis_published_total");
	if (ms->measuring)
		ms->published_end = published;
	else
		ms->published_start = published;
	return sum;
}

/* Member m's connection to its party, started; NULL with *err set. */
static struct rv_conn *member_connect(struct mesh *ms, struct mesh_member *m, int *err)
{
	char url[2400];
	const char *base = ms->hooks->member_url ? ms->hooks->member_url(ms, m->party, m->idx) :
			   NULL;

	snprintf(url, sizeof(url), "%s/ws/party/bench-%s-%u?name=%s%u",
		 base ? base : mesh_url(ms, m->idx), ms->run, m->party, m->idx ? "m" : "h", m->idx);
	return mesh_connect(ms, url, &callbacks, m, err);
}

int mesh_rejoin(struct mesh *ms, struct mesh_member *m)
{
	int err;

	if (m->conn || ms->stopping)
		return -1;
	m->conn = member_connect(ms, m, &err);
	return m->conn ? 0 : -1;
}

/* Hosts first, so that each is the first joiner of its party. */
static void open_some(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mesh *ms = t->data;
	/* the timer runs every 10 ms */
	unsigned batch = ms->o->connect_rate / 100 ? ms->o->connect_rate / 100 : 1;
	int err;

	for (unsigned k = 0; k < batch && ms->opened < ms->n; k++) {
		unsigned i = ms->opened, p, idx;
		struct mesh_member *m;

		if (ms->opened - ms->connected - ms->failed - ms->closed >= MAX_CONNECTING)
			return;
		/* order: all hosts, then member 1 of every party, ... */
		p = i % ms->parties;
		idx = i / ms->parties;
		if (idx > 0 && !ms->hosts_ready) {
			if (ms->connected + ms->failed < ms->parties)
				return;   /* hosts still joining */
			ms->hosts_ready = true;
		}
		m = &ms->m[p * ms->members + idx];
		m->ms = ms;
		m->party = p;
		m->idx = idx;
		ms->opened++;
		m->conn = member_connect(ms, m, &err);
		if (!m->conn) {
			ms->failed++;
			if (!ms->reason[0]) {
				snprintf(ms->reason, sizeof(ms->reason), "cannot connect: %s",
					 mesh_connect_error(err));
				mesh_error(ms, "%s", ms->reason);
			}
		}
	}
	if (ms->opened == ms->n)
		ev_timer_stop(loop, t);
}

static void stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mesh *ms = t->data;

	ms->stopping = true;
}

/* Ctrl-C: the run ends here, the grace period skipped. */
static void interrupted(void *arg)
{
	struct mesh *ms = arg;

	ms->stopping = true;
}

/* Every millisecond: the scenario sends what is due; after the window,
 * stop as soon as nothing more is awaited. */
static void pace_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mesh *ms = t->data;
	double now = mesh_now();

	if (ms->stopping)
		return;
	if (!ms->measuring) {
		if (ms->t_settle && ms->hooks->warm)
			ms->hooks->warm(ms, now);
		return;
	}
	if (now <= ms->t_end)
		ms->hooks->pace(ms, now);
	else if (ms->hooks->complete && ms->hooks->complete(ms))
		stop_cb(loop, t, 0);
}

static void start_measuring(struct mesh *ms)
{
	/* servstat_cpu runs the loop until /metrics answers, and this
	 * timer with it: once is enough */
	ms->starting = true;
	ms->cpu_start = read_cpus(ms, ms->node_cpu_start, &ms->redis_cpu_start);
	ms->self_cpu_start = servstat_self_cpu();
	ms->starting = false;
	if (ms->stopping)
		return;   /* the deadline hit meanwhile */
	ms->measuring = true;
	ms->t_measure = mesh_now();
	ms->t_end = ms->t_measure + ms->o->duration_s;
	ev_timer_set(&ms->stop, ms->o->duration_s + MESH_GRACE_S, 0);
	ev_timer_start(ms->loop, &ms->stop);
	if (!ev_is_active(&ms->pace))
		ev_timer_start(ms->loop, &ms->pace);
}

/* The live line's phase and clock: connecting and settling count up;
 * the window counts down, then the grace period. */
static void clock_text(const struct mesh *ms, char *buf, size_t len)
{
	double now = mesh_now();
	char clock[64];

	if (ms->measuring && now <= ms->t_end) {
		bench_clock_text(clock, sizeof(clock), now - ms->t_measure, ms->o->duration_s);
		snprintf(buf, len, "measuring %s", clock);
	} else if (ms->measuring) {
		snprintf(buf, len, "finishing %5.1fs elapsed, up to %.1fs left for deliveries "
			 "in flight", now - ms->t_measure, fmax(0, ms->t_end + MESH_GRACE_S - now));
	} else {
		snprintf(buf, len, "%s %5.1fs", ms->t_settle ? "settling" : "connecting",
			 now - ms->t0);
	}
}

static void status_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mesh *ms = t->data;
	char part[200] = "", phase[160];

	if (ms->starting)
		return;
	if (!ms->measuring && ms->connected + ms->failed + ms->closed >= ms->n) {
		if (!ms->connected) {
			stop_cb(loop, t, 0);   /* nobody got in: nothing to measure */
			return;
		}
		/* let the server finish announcing the joins, so the window
		 * measures the scenario alone: parties of 1,000 take
		 * O(members²) announcements, many seconds of them. A
		 * scenario that warms up keeps messages flowing, so it only
		 * gets the fixed settle time. */
		double now = mesh_now();

		if (!ms->t_settle) {
			ms->t_settle = now;
			if (ms->hooks->warm)
				ev_timer_start(loop, &ms->pace);
		} else if (ms->hooks->warm ? now - ms->t_settle >= WARM_S :
			   now - ms->t_settle >= SETTLE_S &&
			   (now - ms->t_last_rx >= QUIET_S || now - ms->t_settle >= SETTLE_MAX_S)) {
			start_measuring(ms);
		}
	}
	if (ms->o->tty && !ms->o->json) {
		if (ms->hooks->status)
			ms->hooks->status(ms, part, sizeof(part));
		clock_text(ms, phase, sizeof(phase));
		fprintf(stderr, "\r\033[K%s  %u/%u connected  %s", phase, ms->connected, ms->n,
			part);
	}
}

/* The connect phase has a limit too: a server that never answers must not
 * keep the run alive. */
static void deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct mesh *ms = t->data;

	if (ms->measuring)
		return;
	if (!ms->reason[0]) {
		snprintf(ms->reason, sizeof(ms->reason), "only %u of %u connected in time",
			 ms->connected, ms->n);
		mesh_error(ms, "%s", ms->reason);
	}
	stop_cb(loop, t, 0);
}

/* The members and the client context; 0, or -1 after saying why on
 * stderr. */
static int mesh_init(struct mesh *ms)
{
	struct rv_client_config cc = { 0 };
	int err;

	ms->n = ms->parties * ms->members;
	ms->cpu_start = ms->cpu_end = ms->redis_cpu_start = ms->redis_cpu_end = NAN;
	ms->published_start = ms->published_end = NAN;
	ms->m = calloc(ms->n, sizeof(*ms->m));
	if (!ms->m) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		return -1;
	}
	snprintf(ms->run, sizeof(ms->run), "%llx",
		 (unsigned long long)(rv_time_mono_ns() & 0xffffffffff));
	ms->loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = ms->loop;
	cc.deflate = ms->o->deflate;
	cc.insecure = true;
	ms->cl = rv_client_new(&cc, &err);
	if (!ms->cl) {
		fprintf(stderr, "revenge-bench: %s\n", rv_strerror(err));
		free(ms->m);
		ms->m = NULL;
		return -1;
	}
	ms->t0 = mesh_now();
	ev_timer_init(&ms->connect_timer, open_some, 0, 0.01);
	ev_timer_init(&ms->pace, pace_cb, 0.001, 0.001);
	ev_timer_init(&ms->status, status_cb, 0.5, 0.5);
	ev_timer_init(&ms->stop, stop_cb, 0, 0);
	ev_timer_init(&ms->deadline, deadline_cb,
		      30.0 + SETTLE_MAX_S + 4.0 * ms->n / ms->o->connect_rate, 0);
	ms->connect_timer.data = ms->pace.data = ms->status.data = ms->stop.data =
		ms->deadline.data = ms;
	return 0;
}

/* Join, settle, measure and wait out the grace period; returns when the
 * run is over, with ms->stopping set and cpu_end read. */
static void mesh_run(struct mesh *ms)
{
	ev_timer_start(ms->loop, &ms->connect_timer);
	ev_timer_start(ms->loop, &ms->status);
	ev_timer_start(ms->loop, &ms->deadline);
	bench_interrupt_start(&ms->intr, ms->loop, interrupted, ms);
	/* Not ev_run(loop, 0) and ev_break: the loop also runs nested, in
	 * servstat_cpu, and a nested ev_run forgets an ev_break. */
	while (!ms->stopping)
		ev_run(ms->loop, EVRUN_ONCE);
	ms->t_stopped = mesh_now();
	ev_timer_stop(ms->loop, &ms->connect_timer);
	ev_timer_stop(ms->loop, &ms->pace);
	ev_timer_stop(ms->loop, &ms->status);
	ev_timer_stop(ms->loop, &ms->deadline);
	ev_timer_stop(ms->loop, &ms->stop);
	bench_interrupt_stop(&ms->intr, ms->loop);
	ms->stopping = true;
	if (ms->measuring) {
		ms->self_cpu_end = servstat_self_cpu();
		ms->cpu_end = read_cpus(ms, ms->node_cpu_end, &ms->redis_cpu_end);
	}
	if (ms->o->tty && !ms->o->json)
		fprintf(stderr, "\r\033[K");
}

/* Close every connection and free what mesh_init made. */
static void mesh_free(struct mesh *ms)
{
	ms->stopping = true;
	rv_client_free(ms->cl);
	ms->cl = NULL;
	free(ms->m);
	ms->m = NULL;
}

bool mesh_type_is(const char *text, size_t len, const char *type)
{
	const char *p = memmem(text, len, "\"type\"", 6), *end = text + len;
	size_t tl = strlen(type);

	if (!p)
		return false;
	for (p += 6; p < end && (*p == ' ' || *p == ':' || *p == '\t' || *p == '\n'); p++)
		;
	return p < end && *p == '"' && (size_t)(end - p) > tl + 1 &&
	       !memcmp(p + 1, type, tl) && p[tl + 1] == '"';
}

double mesh_loss_pct(uint64_t expected, uint64_t received)
{
	if (!expected || received >= expected)
		return 0;
	return 100.0 * (double)(expected - received) / (double)expected;
}

double mesh_window(const struct mesh *ms)
{
	double end;

	if (!ms->measuring)
		return 0;
	end = ms->t_end;
	if (ms->intr.hit && ms->intr.t < end)
		end = ms->intr.t;
	if (ms->t_stopped && ms->t_stopped < end)
		end = ms->t_stopped;
	return fmax(0, end - ms->t_measure);
}

void mesh_error(struct mesh *ms, const char *fmt, ...)
{
	va_list ap;

	if (ms->first_error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(ms->first_error, sizeof(ms->first_error), fmt, ap);
	va_end(ap);
}

void mesh_error_reply(struct mesh *ms, const char *text, size_t len)
{
	char code[32], msg[150];

	if (ms->first_error[0])
		return;
	bench_scan_str(text, len, "code", code, sizeof(code));
	bench_scan_str(text, len, "message", msg, sizeof(msg));
	mesh_error(ms, "%s: %s", code[0] ? code : "error", msg);
}

void mesh_loss(struct mesh *ms, const char *what, uint64_t expected, uint64_t received)
{
	if (received < expected)
		mesh_error(ms, "lost %llu of %llu %s (%.3f%%)",
			   (unsigned long long)(expected - received), (unsigned long long)expected,
			   what, mesh_loss_pct(expected, received));
}

void mesh_errors_json(const struct mesh *ms, FILE *out)
{
	fprintf(out, "\"first_error\":");
	bench_json_str(out, ms->first_error[0] ? ms->first_error : NULL);
	fputc(',', out);
}

void mesh_interrupted_text(const struct mesh *ms, FILE *out)
{
	if (!ms->intr.hit)
		return;
	if (ms->measuring)
		fprintf(out, "interrupted   by Ctrl-C %.1f s into the window: the results so far\n",
			mesh_window(ms));
	else
		fprintf(out, "interrupted   by Ctrl-C before the window: nothing measured\n");
}

void mesh_errors_text(const struct mesh *ms, FILE *out)
{
	mesh_interrupted_text(ms, out);
	if (ms->first_error[0] && strcmp(ms->first_error, ms->reason))
		fprintf(out, "first error   %s\n", ms->first_error);
	if (ms->reason[0])
		fprintf(out, "first failure %s\n", ms->reason);
}

void mesh_server_text(const struct mesh *ms, FILE *out)
{
	fprintf(out, "server        %s", ms->o->url);
	for (unsigned i = 1; i < ms->o->nurls; i++)
		fprintf(out, ", %s", ms->o->urls[i]);
	fprintf(out, ms->o->nurls > 1 ? " (hosts on the first, members round-robin)\n" : "\n");
}

void mesh_json_head(const struct mesh *ms, FILE *out)
{
	if (ms->o->nurls > 1) {
		fprintf(out, "\"urls\":[");
		for (unsigned i = 0; i < ms->o->nurls; i++)
			fprintf(out, "%s\"%s\"", i ? "," : "", ms->o->urls[i]);
		fprintf(out, "],");
	}
	fprintf(out, "\"url\":\"%s\",\"parties\":%u,\"members\":%u,\"connected\":%u,\"failed\":%u,"
		"\"closed_by_server\":%u,\"duration_s\":%.3f,\"interrupted\":%s,", ms->o->url,
		ms->parties, ms->members, ms->connected, ms->failed, ms->closed, mesh_window(ms),
		ms->intr.hit ? "true" : "false");
}

int mesh_main(struct mesh *ms, const struct common_opts *o, unsigned parties, unsigned members,
	      const struct mesh_hooks *hooks, void *user)
{
	ms->o = o;
	ms->parties = parties;
	ms->members = members;
	ms->hooks = hooks;
	ms->user = user;
	if (mesh_init(ms))
		return 1;
	if (hooks->begin)
		hooks->begin(ms);
	mesh_run(ms);
	if (hooks->check && !ms->intr.hit)
		hooks->check(ms);
	hooks->report(ms);
	mesh_free(ms);
	if (ms->intr.hit)
		return BENCH_EXIT_INTERRUPTED;
	return !ms->measuring || !ms->connected || ms->failed || ms->closed || ms->first_error[0] ?
	       1 : 0;
}
