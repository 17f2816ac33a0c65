/* cmd/revenge-bench/fanout.c - `revenge-bench fanout`: P parties of M
 * members; each host sends --rate syncs per second and every other member
 * times each delivery. The send time rides in the sync's position (seconds
 * since the run started, microsecond precision), so the measurement works
 * unchanged against any server that relays the host's sync: revenge-server,
 * the seed's reference design and the bare floor relay.
 *
 * Reported: delivered messages per second, expected against received
 * (loss), latency percentiles, and the server's CPU per delivered message
 * (from /metrics process_cpu_seconds_total, or /proc/PID/stat with
 * --server-pid for servers without /metrics).
 */
#include "fanout.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include <revenge/revenge.h>

#include "histo.h"

#define GRACE_S 2.0              /* after the window, for deliveries in flight */
#define MAX_CONNECTING 64
#define SETTLE_S 2.0             /* after the last join, before measuring */

struct fmember {
	struct fan *f;
	struct rv_conn *conn;
	unsigned party;
	bool host, open;
};

struct fan {
	const struct fanout_opts *o;
	struct ev_loop *loop;
	struct rv_client *cl;
	struct fmember *m;            /* parties x members; index p*M + i, i = 0 host */
	unsigned n, opened, connected, failed, closed;
	bool hosts_ready, measuring, stopping;
	double t0, t_measure, t_end, t_pace;
	uint64_t due_sent, sent_window, received, late_received, errors;
	unsigned rr;
	struct histo lat;
	double cpu_start, cpu_end;
	bool cpu_ok;
	char run[16], reason[200];
	ev_timer connect_timer, pace, status, stop, deadline;
	/* /metrics reads */
	bool http_done;
	double http_cpu;
};

static double now_s(void)
{
	return (double)rv_time_mono_ns() / 1e9;
}

/* ---- server CPU ------------------------------------------------------- */

static void metrics_done(int status, const char *body, size_t len, const char *reason, void *user)
{
	struct fan *f = user;
	const char *k = status == 200 ? memmem(body, len, "\nprocess_cpu_seconds_total ", 27) : NULL;

	f->http_cpu = k ? strtod(k + 27, NULL) : NAN;
	f->http_done = true;
}

/* CPU seconds the server has used so far; NAN when unknown. */
static double server_cpu(struct fan *f)
{
	if (f->o->server_pid > 0) {
		char path[64], buf[1024];
		unsigned long ut, st;
		FILE *fp;
		size_t n;
		char *p;

		snprintf(path, sizeof(path), "/proc/%d/stat", f->o->server_pid);
		fp = fopen(path, "r");
		if (!fp)
			return NAN;
		n = fread(buf, 1, sizeof(buf) - 1, fp);
		fclose(fp);
		buf[n] = 0;
		p = strrchr(buf, ')');
		if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
				 &ut, &st) != 2)
			return NAN;
		return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	}
	char url[2200];

	snprintf(url, sizeof(url), "%s/metrics", f->o->url);
	f->http_done = false;
	if (rv_client_http_get(f->cl, url, 1 << 20, metrics_done, f))
		return NAN;
	double deadline = now_s() + 3;

	while (!f->http_done && now_s() < deadline)
		ev_run(f->loop, EVRUN_ONCE);
	return f->http_done ? f->http_cpu : NAN;
}

/* ---- members ----------------------------------------------------------- */

static void on_open(struct rv_conn *c, void *user)
{
	struct fmember *m = user;

	m->open = true;
	m->f->connected++;
}

static void on_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
	struct fmember *m = user;
	struct fan *f = m->f;
	const char *p;
	double sent, t;

	if (m->host)
		return;
	/* Scanned, not parsed: the generator must stay cheaper than the
	 * servers it measures. */
	if (len < 16 || memcmp(text, "{\"type\":\"sync\"", 14)) {
		if (len > 16 && !memcmp(text, "{\"type\":\"error\"", 15))
			f->errors++;
		return;
	}
	p = memmem(text, len, "\"position\":", 11);
	if (!p)
		return;
	sent = strtod(p + 11, NULL);
	t = now_s() - f->t0;
	if (!f->measuring || sent < f->t_measure - f->t0 || sent > f->t_end - f->t0)
		return;   /* sent outside the window */
	f->received++;
	if (t > f->t_end - f->t0)
		f->late_received++;
	histo_add(&f->lat, (t - sent) * 1e6);
}

static void on_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	struct fmember *m = user;
	struct fan *f = m->f;

	m->conn = NULL;
	m->open = false;
	if (f->stopping)
		return;
	if (status || !code)
		f->failed++;
	else
		f->closed++;
	if (!f->reason[0])
		snprintf(f->reason, sizeof(f->reason), "%s %d %s", status ? "refused: HTTP" :
			 code ? "closed by server:" : "cannot connect:", status ? status : code, reason);
}

static const struct rv_conn_callbacks callbacks = { on_open, on_message, on_close };

/* Hosts first, so that each is the first joiner of its party. */
static void open_some(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fan *f = t->data;
	const struct fanout_opts *o = f->o;
	unsigned batch = o->connect_rate / 100 ? o->connect_rate / 100 : 1;
	char url[2400];
	int err;

	for (unsigned k = 0; k < batch && f->opened < f->n; k++) {
		unsigned i = f->opened, p, idx;
		struct fmember *m;

		/* At most MAX_CONNECTING handshakes in flight: every join is
		 * announced to the whole party, so filling a party of 1,000
		 * costs the server O(members^2) messages, and a flood of
		 * handshakes would only time out behind them. */
		if (f->opened - f->connected - f->failed - f->closed >= MAX_CONNECTING)
			return;
		/* order: all hosts, then member 1 of every party, ... */
		p = i % o->parties;
		idx = i / o->parties;
		if (idx > 0 && !f->hosts_ready) {
			if (f->connected + f->failed < o->parties)
				return;   /* hosts still joining */
			f->hosts_ready = true;
		}
		m = &f->m[p * o->members + idx];
		m->f = f;
		m->party = p;
		m->host = idx == 0;
		f->opened++;
		snprintf(url, sizeof(url), "%s/ws/party/bench-%s-%u?name=%s%u", o->url, f->run, p,
			 m->host ? "h" : "m", idx);
		m->conn = rv_client_connect(f->cl, url, NULL, &callbacks, m, &err);
		if (!m->conn)
			f->failed++;
	}
	if (f->opened == f->n)
		ev_timer_stop(loop, t);
}

/* Every millisecond, the syncs that are due, round-robin over the hosts. */
static void pace(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fan *f = t->data;
	const struct fanout_opts *o = f->o;
	double now = now_s();
	uint64_t due;
	char buf[200];

	if (f->stopping || !f->measuring || now > f->t_end)
		return;
	due = (uint64_t)((now - f->t_measure) * o->rate * o->parties);
	while (f->due_sent < due) {
		struct fmember *h = &f->m[(f->rr++ % o->parties) * o->members];
		int n;

		f->due_sent++;
		if (!h->open)
			continue;
		n = snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":%.6f,"
			     "\"playing\":true,\"speed\":1}}", now_s() - f->t0);
		if (!rv_conn_send(h->conn, buf, (size_t)n))
			f->sent_window++;
	}
}

static void stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fan *f = t->data;

	f->stopping = true;
	ev_break(loop, EVBREAK_ALL);
}

static void start_measuring(struct fan *f)
{
	f->cpu_start = server_cpu(f);
	f->measuring = true;
	f->t_measure = now_s();
	f->t_end = f->t_measure + f->o->duration_s;
	ev_timer_set(&f->stop, f->o->duration_s + GRACE_S, 0);
	ev_timer_start(f->loop, &f->stop);
	ev_timer_start(f->loop, &f->pace);
}

static void status_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fan *f = t->data;

	if (!f->measuring && f->connected + f->failed + f->closed >= f->n) {
		if (!f->connected) {
			stop_cb(loop, t, 0);
			return;
		}
		/* let the server finish announcing the joins, so the window
		 * measures the fan-out alone */
		if (!f->t_pace)
			f->t_pace = now_s();
		else if (now_s() - f->t_pace >= SETTLE_S)
			start_measuring(f);
	}
	if (f->o->tty && !f->o->json)
		fprintf(stderr, "\r\033[K%s  %u/%u connected  %llu sent  %llu delivered  p99 %.2f ms",
			f->measuring ? "measuring" : "connecting", f->connected, f->n,
			(unsigned long long)f->sent_window, (unsigned long long)f->received,
			histo_quantile(&f->lat, 0.99) / 1000);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct fan *f = t->data;

	if (f->measuring)
		return;
	if (!f->reason[0])
		snprintf(f->reason, sizeof(f->reason), "only %u of %u connected in time",
			 f->connected, f->n);
	stop_cb(loop, t, 0);
}

static void report(struct fan *f)
{
	const struct fanout_opts *o = f->o;
	uint64_t expected = f->sent_window * (o->members - 1);
	double secs = o->duration_s, cpu = f->cpu_end - f->cpu_start;
	double delivered_s = secs > 0 ? (double)f->received / secs : 0;
	double loss = expected ? 100.0 * (double)(expected - (f->received < expected ?
					   f->received : expected)) / (double)expected : 0;
	double us_per = f->received && isfinite(cpu) ? cpu * 1e6 / (double)f->received : NAN;
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	const char *names[] = { "p50", "p90", "p99", "p99.9" };

	if (o->tty && !o->json)
		fprintf(stderr, "\r\033[K");
	if (o->json) {
		printf("{\"scenario\":\"fanout\",\"url\":\"%s\",\"parties\":%u,\"members\":%u,"
		       "\"rate_per_host\":%g,\"connected\":%u,\"failed\":%u,\"closed_by_server\":%u,"
		       "\"duration_s\":%.3f,\"sent\":%llu,\"expected\":%llu,\"received\":%llu,"
		       "\"loss_pct\":%.4f,\"delivered_per_s\":%.1f,\"errors\":%llu,",
		       o->url, o->parties, o->members, o->rate, f->connected, f->failed, f->closed,
		       secs, (unsigned long long)f->sent_window, (unsigned long long)expected,
		       (unsigned long long)f->received, loss, delivered_s,
		       (unsigned long long)f->errors);
		if (isfinite(cpu))
			printf("\"server_cpu_s\":%.3f,\"server_us_per_delivery\":%.3f,", cpu, us_per);
		else
			printf("\"server_cpu_s\":null,\"server_us_per_delivery\":null,");
		printf("\"latency_ms\":{");
		for (int i = 0; i < 4; i++)
			printf("\"%s\":%.3f,", names[i], histo_quantile(&f->lat, qs[i]) / 1000);
		printf("\"max\":%.3f}}\n", f->lat.max / 1000);
		return;
	}
	printf("scenario      fanout (%u parties x %u members, %g syncs/s per host)\n", o->parties,
	       o->members, o->rate);
	printf("server        %s\n", o->url);
	printf("connected     %u of %u (failed %u, closed by server %u)\n", f->connected, f->n,
	       f->failed, f->closed);
	printf("measured      %.1f s (+%.0f s for deliveries in flight)\n", secs, GRACE_S);
	printf("delivered     %llu of %llu expected (loss %.3f%%), %.0f/s\n",
	       (unsigned long long)f->received, (unsigned long long)expected, loss, delivered_s);
	printf("latency       ");
	for (int i = 0; i < 4; i++)
		printf("%s %.2f ms  ", names[i], histo_quantile(&f->lat, qs[i]) / 1000);
	printf("max %.2f ms\n", f->lat.max / 1000);
	if (isfinite(cpu))
		printf("server CPU    %.2f s, %.2f us per delivered message\n", cpu, us_per);
	else
		printf("server CPU    unknown (no /metrics; use --server-pid)\n");
	if (f->reason[0])
		printf("first failure %s\n", f->reason);
}

int fanout_run(const struct fanout_opts *o)
{
	struct rv_client_config cc = { 0 };
	struct fan f;
	int err, rc;

	memset(&f, 0, sizeof(f));
	f.o = o;
	f.n = o->parties * o->members;
	f.m = calloc(f.n, sizeof(*f.m));
	if (!f.m) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		return 1;
	}
	snprintf(f.run, sizeof(f.run), "%llx", (unsigned long long)(rv_time_mono_ns() & 0xffffffffff));
	f.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = f.loop;
	cc.deflate = o->deflate;
	cc.insecure = true;
	f.cl = rv_client_new(&cc, &err);
	if (!f.cl) {
		fprintf(stderr, "revenge-bench: %s\n", rv_strerror(err));
		free(f.m);
		return 1;
	}
	f.t0 = now_s();
	ev_timer_init(&f.connect_timer, open_some, 0, 0.01);
	ev_timer_init(&f.pace, pace, 0.001, 0.001);
	ev_timer_init(&f.status, status_cb, 0.5, 0.5);
	ev_timer_init(&f.stop, stop_cb, 0, 0);
	ev_timer_init(&f.deadline, deadline_cb, 30.0 + 4.0 * f.n / o->connect_rate, 0);
	f.connect_timer.data = f.pace.data = f.status.data = f.stop.data = f.deadline.data = &f;
	ev_timer_start(f.loop, &f.connect_timer);
	ev_timer_start(f.loop, &f.status);
	ev_timer_start(f.loop, &f.deadline);
	ev_run(f.loop, 0);
	ev_timer_stop(f.loop, &f.connect_timer);
	ev_timer_stop(f.loop, &f.pace);
	ev_timer_stop(f.loop, &f.status);
	ev_timer_stop(f.loop, &f.deadline);
	ev_timer_stop(f.loop, &f.stop);
	f.stopping = true;
	if (f.measuring)
		f.cpu_end = server_cpu(&f);
	report(&f);
	rv_client_free(f.cl);
	rc = !f.measuring || !f.connected || f.failed || f.closed ? 1 : 0;
	free(f.m);
	return rc;
}
