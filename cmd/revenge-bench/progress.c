/* cmd/revenge-bench/progress.c - `revenge-bench progress`: S sessions on
 * /ws/progress/{id}, each sending durable progress reports with ids. In a
 * closed loop a session sends its next report when one is acked, keeping
 * --inflight unacked; with --rate the reports go out on schedule whether
 * or not acks came back (open loop), so queueing in the server shows as
 * latency instead of slowing the load down.
 *
 * Reported: acks per second, ack latency percentiles (from the report's
 * send to its ack), error replies and, open loop, the reports that could
 * not go out because the session already had --inflight unacked (late).
 */
#include "progress.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include <revenge/revenge.h>

#include "histo.h"
#include "limits.h"
#include "srcaddr.h"

struct progress;

struct session {
	struct progress *b;
	struct rv_conn *conn;
	unsigned idx;
	bool open;
	uint64_t seq;                 /* reports sent */
	uint64_t acked;               /* acks received */
	double sent_at[PROGRESS_INFLIGHT_MAX]; /* by seq % inflight */
};

struct progress {
	const struct progress_opts *o;
	struct ev_loop *loop;
	struct rv_client *cl;
	/* open loop */
	uint64_t sent_open;           /* reports sent */
	uint64_t late;                /* not sent, session had K unacked */
	unsigned rr;                  /* next session to send */
	double t_open_start;
	ev_timer pace;
	struct session *ss;
	unsigned opened, connected, failed, closed;
	/* measurement */
	bool measuring, stopping;
	double t_measure, t_end;
	uint64_t acked, acked_at_tick, errors;
	struct histo lat, lat_window;
	ev_timer connect_timer, stop_timer, status_timer, deadline;
	struct bench_interrupt intr;  /* Ctrl-C: what was measured so far */
	char close_reason[160];
	char first_error[200];        /* "code: message" of the first error reply */
};

static double now_s(void)
{
	return (double)rv_time_mono_ns() / 1e9;
}

/* ---- the sessions ------------------------------------------------------- */

static void send_report(struct session *s)
{
	char buf[256];
	uint64_t seq = s->seq++;
	int n = snprintf(buf, sizeof(buf),
			 "{\"type\":\"progress\",\"id\":\"%llu\",\"payload\":{\"media_id\":\"bench\","
			 "\"position\":%llu,\"duration\":null,\"playing\":false}}",
			 (unsigned long long)seq, (unsigned long long)seq);

	s->sent_at[seq % s->b->o->inflight] = now_s();
	rv_conn_send(s->conn, buf, (size_t)n);
}

static void progress_open(struct rv_conn *c, void *user)
{
	struct session *s = user;

	s->b->connected++;
	s->open = true;
	if (s->b->o->rate > 0)
		return;   /* the pacer sends */
	for (unsigned i = 0; i < s->b->o->inflight; i++)
		send_report(s);
}

/* Open loop: every millisecond, send the reports that are due, round-robin
 * over the open sessions, so the offered load does not depend on how fast
 * the server answers (a closed loop would hide queueing delay). */
static void pace(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct progress *b = t->data;
	const struct progress_opts *o = b->o;
	double now = now_s();
	uint64_t due;

	if (b->stopping || !b->connected)
		return;
	if (!b->t_open_start)
		b->t_open_start = now;
	due = (uint64_t)((now - b->t_open_start) * o->rate);
	for (unsigned tries = 0; b->sent_open < due && tries < 2 * o->sessions; tries++) {
		struct session *s = &b->ss[b->rr];

		b->rr = (b->rr + 1) % b->opened;
		if (!s->open || !s->conn)
			continue;
		if (s->seq - s->acked >= o->inflight) {
			b->late++;
			b->sent_open++;
			continue;
		}
		send_report(s);
		b->sent_open++;
	}
}

static void progress_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
	struct session *s = user;
	struct progress *b = s->b;
	const char *id;
	uint64_t seq;
	double t = now_s();

	/* Scanned, not parsed: at tens of thousands of acks a second the
	 * generator must stay cheaper than the server it measures. */
	if (len > 16 && !memcmp(text, "{\"type\":\"error\"", 15)) {
		if (!b->errors++) {
			char code[32], msg[150];

			bench_scan_str(text, len, "code", code, sizeof(code));
			bench_scan_str(text, len, "message", msg, sizeof(msg));
			snprintf(b->first_error, sizeof(b->first_error), "%s: %s",
				 code[0] ? code : "error", msg);
		}
		return;
	}
	if (len < 14 || memcmp(text, "{\"type\":\"ack\"", 13))
		return;   /* progress ticks and the like */
	id = memmem(text, len, "\"id\":\"", 6);
	if (!id)
		return;
	seq = strtoull(id + 6, NULL, 10);
	s->acked++;
	if (b->measuring && t <= b->t_end) {
		double us = (t - s->sent_at[seq % b->o->inflight]) * 1e6;

		b->acked++;
		histo_add(&b->lat, us);
		histo_add(&b->lat_window, us);
	}
	if (!b->stopping && b->o->rate <= 0)
		send_report(s);
}

static void progress_close(struct rv_conn *c, int code, int status, const char *reason,
			   void *user)
{
	struct session *s = user;
	struct progress *b = s->b;

	s->conn = NULL;
	s->open = false;
	if (b->stopping)
		return;   /* our own closing at the end of the run */
	if (status || !code)
		b->failed++;
	else
		b->closed++;
	if (!b->close_reason[0])
		bench_close_reason(b->close_reason, sizeof(b->close_reason), code, status, reason);
}

static const struct rv_conn_callbacks progress_cb = {
	progress_open, progress_message, progress_close,
};

/* ---- driving the run ---------------------------------------------------- */

static void open_some(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct progress *b = t->data;
	const struct progress_opts *o = b->o;
	/* the timer runs every 10 ms */
	unsigned batch = o->c.connect_rate / 100 ? o->c.connect_rate / 100 : 1;
	char url[2048];
	int err;

	for (unsigned i = 0; i < batch && b->opened < o->sessions; i++) {
		struct session *s = &b->ss[b->opened];
		struct rv_conn_options co = { .source_addr = srcaddr_pick(o->c.src, b->opened),
					      .token = o->c.token };

		s->b = b;
		s->idx = b->opened++;
		snprintf(url, sizeof(url), "%s/ws/progress/bench-%u?interval_ms=60000", o->c.url,
			 s->idx);
		errno = 0;
		s->conn = rv_client_connect(b->cl, url, &co, &progress_cb, s, &err);
		if (!s->conn) {
			b->failed++;
			/* errno: lws leaves socket()'s, EMFILE at the open-file limit */
			if (!b->close_reason[0])
				snprintf(b->close_reason, sizeof(b->close_reason), "cannot connect: %s",
					 errno ? strerror(errno) : rv_strerror(err));
		}
	}
	if (b->opened == o->sessions)
		ev_timer_stop(loop, t);
}

static void stop_run(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct progress *b = t->data;

	b->stopping = true;
	ev_timer_stop(loop, &b->status_timer);
	ev_timer_stop(loop, &b->connect_timer);
	ev_timer_stop(loop, &b->deadline);
	ev_timer_stop(loop, &b->pace);
	ev_break(loop, EVBREAK_ALL);
}

/* Ctrl-C: stop now and report what the window measured so far. */
static void interrupted(void *arg)
{
	struct progress *b = arg;

	stop_run(b->loop, &b->stop_timer, 0);
}

/* The connect phase has a limit too: a server that never answers must
 * not keep the run alive. */
static void deadline_hit(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct progress *b = t->data;

	if (b->measuring)
		return;
	if (!b->close_reason[0])
		snprintf(b->close_reason, sizeof(b->close_reason),
			 "only %u of %u connected in time", b->connected, b->o->sessions);
	stop_run(loop, &b->stop_timer, 0);
}

static void status_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct progress *b = t->data;
	const struct progress_opts *o = b->o;
	double now = now_s();
	char clock[64];

	if (!b->measuring && !b->connected && b->failed + b->closed >= o->sessions) {
		stop_run(loop, t, 0);   /* nobody got in: nothing to measure */
		return;
	}
	if (!b->measuring && b->connected + b->failed + b->closed >= o->sessions) {
		/* everyone is connected (or gave up): the clock starts now */
		b->measuring = true;
		b->t_measure = now;
		b->t_end = now + o->c.duration_s;
		memset(&b->lat, 0, sizeof(b->lat));
		b->acked = b->acked_at_tick = 0;
		ev_timer_init(&b->stop_timer, stop_run, o->c.duration_s, 0);
		b->stop_timer.data = b;
		ev_timer_start(loop, &b->stop_timer);
	}
	bench_clock_text(clock, sizeof(clock), b->measuring ? now - b->t_measure : 0.0,
			 o->c.duration_s);
	if (o->c.tty && !o->c.json)
		fprintf(stderr, "\r\033[K%s %s  %u/%u connected  %8.0f acks/s  "
			"p99 %6.2f ms", b->measuring ? "measuring" : "connecting", clock,
			b->connected, o->sessions,
			(double)(b->acked - b->acked_at_tick) / 0.5,
			histo_quantile(&b->lat_window, 0.99) / 1000);
	b->acked_at_tick = b->acked;
	memset(&b->lat_window, 0, sizeof(b->lat_window));
}

static void report(struct progress *b)
{
	const struct progress_opts *o = b->o;
	double secs = b->measuring ? o->c.duration_s : 0;

	/* a run stopped early measured less */
	if (b->measuring && b->intr.hit && b->t_end > b->intr.t)
		secs = b->intr.t - b->t_measure;
	double rate = secs > 0 ? (double)b->acked / secs : 0;
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	const char *names[] = { "p50", "p90", "p99", "p99.9" };
	/* what failed the run, as the party scenarios name it: an error
	 * reply, else a connection's failure, else no ack at all */
	const char *first = b->first_error[0] ? b->first_error :
			    b->close_reason[0] ? b->close_reason :
			    b->measuring && !b->acked && !b->intr.hit ?
			    "no report was acked in the window" : NULL;

	if (o->c.tty && !o->c.json)
		fprintf(stderr, "\r\033[K");
	if (o->c.json) {
		printf("{\"scenario\":\"progress\",\"url\":\"%s\",\"offered_per_s\":%.0f,"
		       "\"late\":%llu,\"sessions\":%u,\"inflight\":%u,"
		       "\"connected\":%u,\"failed\":%u,\"closed_by_server\":%u,\"duration_s\":%.3f,"
		       "\"acked\":%llu,\"acked_per_s\":%.1f,\"errors\":%llu,\"ack_latency_ms\":",
		       o->c.url, o->rate, (unsigned long long)b->late, o->sessions, o->inflight,
		       b->connected, b->failed, b->closed, secs,
		       (unsigned long long)b->acked, rate, (unsigned long long)b->errors);
		/* no ack, no latency: null, never a 0 that reads as fast */
		if (!b->lat.count) {
			printf("null");
		} else {
			printf("{");
			for (int i = 0; i < 4; i++)
				printf("\"%s\":%.3f,", names[i],
				       histo_quantile(&b->lat, qs[i]) / 1000);
			printf("\"max\":%.3f,\"mean\":%.3f}", b->lat.max / 1000,
			       b->lat.sum / (double)b->lat.count / 1000);
		}
		printf(",\"interrupted\":%s,\"first_error\":", b->intr.hit ? "true" : "false");
		bench_json_str(stdout, first);
		limits_json(o->c.lim, stdout);
		printf("}\n");
		return;
	}
	printf("scenario      progress (%u sessions, %u in flight each, %s)\n", o->sessions,
	       o->inflight, o->rate > 0 ? "open loop" : "closed loop: next report on ack");
	if (o->rate > 0)
		printf("offered       %.0f reports/s (%llu late: the session had %u unacked)\n",
		       o->rate, (unsigned long long)b->late, o->inflight);
	printf("server        %s\n", o->c.url);
	printf("connected     %u (failed %u, closed by server %u)\n", b->connected, b->failed,
	       b->closed);
	printf("measured      %.1f s%s\n", secs, b->intr.hit ? " (interrupted: the results so far)" : "");
	printf("acked         %llu reports, %.0f/s\n", (unsigned long long)b->acked, rate);
	printf("errors        %llu\n", (unsigned long long)b->errors);
	if (first && strcmp(first, b->close_reason))
		printf("first error   %s\n", first);
	printf("ack latency   ");
	if (!b->lat.count) {
		printf("not measured (no report was acked in the window)\n");
	} else {
		for (int i = 0; i < 4; i++)
			printf("%s %.2f ms  ", names[i], histo_quantile(&b->lat, qs[i]) / 1000);
		printf("max %.2f ms\n", b->lat.max / 1000);
	}
	limits_text(o->c.lim, stdout);
	if (b->close_reason[0])
		printf("first failure %s\n", b->close_reason);
}

int progress_run(const struct progress_opts *o)
{
	struct progress b = { .o = o };
	struct rv_client_config cc = { 0 };
	int err;

	b.ss = calloc(o->sessions, sizeof(*b.ss));
	if (!b.ss) {
		fprintf(stderr, "revenge-bench: out of memory\n");
		return 1;
	}
	b.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = b.loop;
	cc.deflate = o->c.deflate;
	cc.insecure = true;
	b.cl = rv_client_new(&cc, &err);
	if (!b.cl) {
		fprintf(stderr, "revenge-bench: %s\n", rv_strerror(err));
		free(b.ss);
		return 1;
	}
	ev_timer_init(&b.connect_timer, open_some, 0, 0.01);
	ev_timer_init(&b.status_timer, status_tick, 0.5, 0.5);
	ev_timer_init(&b.deadline, deadline_hit,
		      10.0 + 2.0 * o->sessions / o->c.connect_rate, 0);
	b.connect_timer.data = b.status_timer.data = b.deadline.data = b.stop_timer.data = &b;
	ev_timer_start(b.loop, &b.deadline);
	if (o->rate > 0) {
		ev_timer_init(&b.pace, pace, 0.001, 0.001);
		b.pace.data = &b;
		ev_timer_start(b.loop, &b.pace);
	}
	ev_timer_start(b.loop, &b.connect_timer);
	ev_timer_start(b.loop, &b.status_timer);
	bench_interrupt_start(&b.intr, b.loop, interrupted, &b);
	ev_run(b.loop, 0);
	bench_interrupt_stop(&b.intr, b.loop);

	report(&b);
	rv_client_free(b.cl);
	free(b.ss);
	if (b.intr.hit)
		return BENCH_EXIT_INTERRUPTED;
	if (!b.measuring || !b.connected)
		return 1;
	/* refused reports (the server's rate limit, a full store) or none
	 * acked: the run did not measure what it was asked to */
	return b.failed || b.closed || b.errors || !b.acked ? 1 : 0;
}
