/* cmd/revenge-bench/connect.c - `revenge-bench connect`: open N
 * connections at a bounded rate (parties of 10, as people watch), hold them
 * for --duration, and report handshakes per second, handshake latency
 * percentiles, the server's memory per held connection (resident memory,
 * servstat.c) and how busy the server and the generator were while
 * connecting. The connections are librevenge's (libwebsockets), or with
 * --raw plain sockets (rawconn.c), whose handshakes cost the generator far
 * less.
 */
#include "connect.h"
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <ev.h>

#include <revenge/revenge.h>

#include "histo.h"
#include "limits.h"
#include "rawconn.h"
#include "servstat.h"
#include "srcaddr.h"

/* Handshakes in flight at most. lws's client gets slower with more. --raw
 * tops up after every loop turn, so a few in flight keep a server busy: on
 * loopback (two cores, 10,000 connections) 64 gave 39,000/s against
 * revenge-server and 42,000/s against a bare epoll relay, 128 to 1024 no
 * more and often less, with the handshake latency growing with them (the
 * server's accept queue). */
#define MAX_CONNECTING 256
#define MAX_CONNECTING_RAW 64
#define PARTY_SIZE 10

struct cconn {
	struct conn_bench *b;
	struct rv_conn *conn;
	double started;
	bool open;
};

struct conn_bench {
	const struct connect_opts *o;
	struct ev_loop *loop;
	struct rv_client *cl;         /* /metrics reads; the connections without --raw */
	struct rawconn_pool *raw;     /* --raw: the connections */
	struct cconn *c;
	unsigned max_connecting;
	unsigned opened, connected, failed, closed;
	unsigned pending;             /* opened, neither open nor over yet */
	double t_first, t_last;
	struct histo lat;
	char run[16], reason[200];
	bool done;                    /* every connection opened or gave up */
	bool holding, stopping;
	double cpu0, self0, t0;       /* the server's and our CPU seconds as connecting began */
	double cpu_hold0, self_hold0, t_hold0;  /* ...and when the hold began */
	ev_timer connect_timer, status, hold, stop, deadline;
	ev_check refill;              /* --raw */
};

static double now_s(void)
{
	return (double)rv_time_mono_ns() / 1e9;
}

/* Once every connection is open or has given up, the hold begins, at the
 * next loop turn (not from inside a connection's callback). */
static void check_done(struct conn_bench *b)
{
	if (b->done || b->opened < b->o->conns || b->pending)
		return;
	b->done = true;
	ev_timer_start(b->loop, &b->hold);
}

static void opened(struct cconn *cc)
{
	struct conn_bench *b = cc->b;
	double t = now_s();

	cc->open = true;
	b->pending--;
	b->connected++;
	b->t_last = t;
	histo_add(&b->lat, (t - cc->started) * 1e6);
	check_done(b);
}

/* cc is over: it failed to open, or (closed) the server closed it. */
static void ended(struct cconn *cc, bool closed, const char *reason)
{
	struct conn_bench *b = cc->b;
	bool was_open = cc->open;

	cc->conn = NULL;
	cc->open = false;
	if (b->stopping)
		return;   /* our own closing at the end of the run */
	if (!was_open)
		b->pending--;
	if (closed)
		b->closed++;
	else
		b->failed++;
	if (!b->reason[0])
		snprintf(b->reason, sizeof(b->reason), "%s", reason);
	check_done(b);
}

static void on_open(struct rv_conn *c, void *user)
{
	opened(user);
}

static void on_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
}

static void on_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	char why[200];

	bench_close_reason(why, sizeof(why), code, status, reason);
	ended(user, !status && code, why);
}

static const struct rv_conn_callbacks callbacks = { on_open, on_message, on_close };

static void raw_open(unsigned i, void *user)
{
	struct conn_bench *b = user;

	opened(&b->c[i]);
}

static void raw_end(unsigned i, enum rawconn_end how, const char *reason, void *user)
{
	struct conn_bench *b = user;

	ended(&b->c[i], how == RAWCONN_CLOSED, reason);
}

static const struct rawconn_callbacks raw_callbacks = { raw_open, raw_end };

/* Start connection cc, the i-th, into party i / PARTY_SIZE; a failure to
 * start counts at once. */
static void open_one(struct conn_bench *b, struct cconn *cc, unsigned i)
{
	char url[2400];
	int err;

	cc->b = b;
	cc->started = now_s();
	b->pending++;
	if (b->raw) {
		char path[64];

		snprintf(path, sizeof(path), "/ws/party/c-%s-%u", b->run, i / PARTY_SIZE);
		err = rawconn_open(b->raw, i, path);
		if (err) {
			snprintf(url, sizeof(url), "cannot connect: %s", strerror(-err));
			ended(cc, false, url);
		}
		return;
	}
	struct rv_conn_options co = { .source_addr = srcaddr_pick(b->o->c.src, i),
				      .token = b->o->c.token };

	snprintf(url, sizeof(url), "%s/ws/party/c-%s-%u", b->o->c.url, b->run, i / PARTY_SIZE);
	errno = 0;
	cc->conn = rv_client_connect(b->cl, url, &co, &callbacks, cc, &err);
	if (!cc->conn) {
		/* errno: lws leaves socket()'s, EMFILE at the open-file limit */
		snprintf(url, sizeof(url), "cannot connect: %s",
			 errno ? strerror(errno) : rv_strerror(err));
		ended(cc, false, url);
	}
}

/* --raw: open what --connect-rate has made due by now, as long as fewer
 * than max_connecting are in flight; a connection held back by that cap
 * goes as soon as one completes. */
static void open_due(struct conn_bench *b)
{
	double due = (now_s() - b->t_first) * b->o->c.connect_rate + 1;

	if (!b->t_first)
		return;   /* the timer starts the schedule */
	while (b->opened < b->o->conns && b->opened < due && b->pending < b->max_connecting) {
		b->opened++;
		open_one(b, &b->c[b->opened - 1], b->opened - 1);
	}
	if (b->opened == b->o->conns) {
		ev_timer_stop(b->loop, &b->connect_timer);
		ev_check_stop(b->loop, &b->refill);
	}
}

/* --raw: after every loop turn, the completions of this one make room. */
static void refill_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	open_due(w->data);
}

/* Every 10 ms: without --raw, a batch of connect_rate / 100 (what does not
 * fit under max_connecting waits for the next batch); with it, what is
 * due. */
static void open_some(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;
	unsigned batch = b->o->c.connect_rate / 100 ? b->o->c.connect_rate / 100 : 1;

	if (!b->t_first)
		b->t_first = now_s();
	if (b->raw) {
		open_due(b);
		return;
	}
	for (unsigned k = 0; k < batch && b->opened < b->o->conns; k++) {
		if (b->pending >= b->max_connecting)
			return;
		b->opened++;
		open_one(b, &b->c[b->opened - 1], b->opened - 1);
	}
	if (b->opened == b->o->conns)
		ev_timer_stop(loop, t);
}

static void stop_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;

	ev_break(loop, EVBREAK_ALL);
	(void)b;
}

/* Connecting is over: read both CPU clocks (the end of connecting, the
 * start of the hold) and hold for --duration. */
static void hold_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;

	b->holding = true;
	b->self_hold0 = servstat_self_cpu();
	b->cpu_hold0 = servstat_cpu(loop, b->cl, b->o->c.url, b->o->c.server_pid);
	b->t_hold0 = now_s();
	ev_timer_set(&b->stop, b->o->c.duration_s, 0);
	ev_timer_start(loop, &b->stop);
}

static void status_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;

	if (b->o->c.tty && !b->o->c.json)
		fprintf(stderr, "\r\033[K%s  %u/%u connected  p99 handshake %.2f ms",
			b->holding ? "holding" : "connecting", b->connected, b->o->conns,
			histo_quantile(&b->lat, 0.99) / 1000);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;

	if (b->done)
		return;
	if (!b->reason[0])
		snprintf(b->reason, sizeof(b->reason), "only %u of %u connected in time",
			 b->connected, b->o->conns);
	ev_break(loop, EVBREAK_ALL);
}

/* The load while connecting, in percent of one core; NAN when unknown. */
static void load_pct(const struct conn_bench *b, double *server, double *self)
{
	double span = b->t_hold0 - b->t0;

	*server = *self = NAN;
	if (!b->holding || !b->connected || span <= 0)
		return;
	*server = 100 * (b->cpu_hold0 - b->cpu0) / span;
	*self = 100 * (b->self_hold0 - b->self0) / span;
}

static void print_json(const struct conn_bench *b, double rate, double rss1, double per,
		       double held_pct)
{
	const struct common_opts *c = &b->o->c;
	double server, self;

	load_pct(b, &server, &self);
	printf("{\"scenario\":\"connect\",\"driver\":\"%s\",\"url\":\"%s\",\"conns\":%u,"
	       "\"connected\":%u,\"failed\":%u,\"closed_by_server\":%u,\"handshakes_per_s\":%.1f,",
	       b->raw ? "raw" : "lws", c->url, b->o->conns, b->connected, b->failed, b->closed,
	       rate);
	if (isfinite(per))
		printf("\"server_rss_bytes\":%.0f,\"server_bytes_per_conn\":%.1f,", rss1, per);
	else
		printf("\"server_rss_bytes\":null,\"server_bytes_per_conn\":null,");
	if (isfinite(held_pct))
		printf("\"server_cpu_pct_held\":%.2f,", held_pct);
	else
		printf("\"server_cpu_pct_held\":null,");
	if (isfinite(server))
		printf("\"server_cpu_pct_connecting\":%.1f,", server);
	else
		printf("\"server_cpu_pct_connecting\":null,");
	if (isfinite(self))
		printf("\"bench_cpu_pct_connecting\":%.1f,", self);
	else
		printf("\"bench_cpu_pct_connecting\":null,");
	printf("\"handshake_ms\":");
	histo_json(&b->lat, stdout);
	limits_json(c->lim, stdout);
	printf("}\n");
}

static void print_text(const struct conn_bench *b, double rate, double rss1, double per,
		       double held_pct)
{
	const struct common_opts *c = &b->o->c;
	double server, self;

	load_pct(b, &server, &self);
	printf("scenario      connect (%u connections, parties of %d%s)\n", b->o->conns,
	       PARTY_SIZE, c->deflate ? ", permessage-deflate" : "");
	printf("driver        %s\n", b->raw ? "raw (plain sockets)" : "lws (libwebsockets client)");
	printf("server        %s\n", c->url);
	printf("connected     %u (failed %u, closed by server %u), held %.1f s\n",
	       b->connected, b->failed, b->closed, c->duration_s);
	printf("handshakes    %.0f/s  ", rate);
	histo_text(&b->lat, stdout);
	if (isfinite(server) && isfinite(self))
		printf("load          connecting: server %.0f%% of a core, revenge-bench %.0f%%%s\n",
		       server, self, self >= 90 && server >= 90 ? " (both near a full core)" :
		       self >= 90 ? " (the generator is the limit)" :
		       server >= 90 ? " (the server is the limit)" : "");
	else if (isfinite(self))
		printf("load          connecting: revenge-bench %.0f%% of a core%s\n", self,
		       self >= 90 ? " (the generator is the limit)" : "");
	if (isfinite(per))
		printf("server memory %.1f MiB resident, %.2f KiB per connection\n",
		       rss1 / 1048576, per / 1024);
	else
		printf("server memory not measured (/metrics did not answer; use --server-pid)\n");
	if (isfinite(held_pct))
		printf("server CPU    %.2f%% of a core while the connections were held\n", held_pct);
	limits_text(c->lim, stdout);
	if (b->reason[0])
		printf("first failure %s\n", b->reason);
}

int connect_run(const struct connect_opts *o)
{
	struct rv_client_config cc = { 0 };
	struct conn_bench b;
	const struct common_opts *c = &o->c;
	double rss0, rss1, secs, rate, per, held_pct = NAN;
	char why[200];
	int err, rc;

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.c = calloc(o->conns, sizeof(*b.c));
	if (!b.c)
		return 1;
	snprintf(b.run, sizeof(b.run), "%llx", (unsigned long long)(rv_time_mono_ns() & 0xffffffffff));
	b.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = b.loop;
	cc.deflate = c->deflate;
	cc.insecure = true;
	b.cl = rv_client_new(&cc, &err);
	if (!b.cl) {
		fprintf(stderr, "revenge-bench: %s\n", rv_strerror(err));
		free(b.c);
		return 1;
	}
	b.max_connecting = MAX_CONNECTING;
	if (o->raw) {
		b.raw = rawconn_new(b.loop, c->url, c->src, c->token, o->conns, &raw_callbacks, &b, why,
				    sizeof(why));
		if (!b.raw) {
			fprintf(stderr, "revenge-bench: --raw: %s\n", why);
			rv_client_free(b.cl);
			free(b.c);
			return 1;
		}
		b.max_connecting = MAX_CONNECTING_RAW;
	}
	rss0 = servstat_rss(b.loop, b.cl, c->url, c->server_pid);
	b.cpu0 = servstat_cpu(b.loop, b.cl, c->url, c->server_pid);
	b.self0 = servstat_self_cpu();
	b.t0 = now_s();
	ev_timer_init(&b.connect_timer, open_some, 0, 0.01);
	ev_timer_init(&b.status, status_cb, 0.25, 0.25);
	ev_timer_init(&b.hold, hold_cb, 0, 0);
	ev_timer_init(&b.stop, stop_cb, 0, 0);
	ev_timer_init(&b.deadline, deadline_cb, 30.0 + 4.0 * o->conns / c->connect_rate, 0);
	b.connect_timer.data = b.status.data = b.hold.data = b.stop.data = b.deadline.data = &b;
	ev_check_init(&b.refill, refill_cb);
	b.refill.data = &b;
	ev_timer_start(b.loop, &b.connect_timer);
	if (b.raw)
		ev_check_start(b.loop, &b.refill);
	ev_timer_start(b.loop, &b.status);
	ev_timer_start(b.loop, &b.deadline);
	ev_run(b.loop, 0);
	ev_timer_stop(b.loop, &b.connect_timer);
	ev_check_stop(b.loop, &b.refill);
	ev_timer_stop(b.loop, &b.status);
	ev_timer_stop(b.loop, &b.hold);
	ev_timer_stop(b.loop, &b.stop);
	ev_timer_stop(b.loop, &b.deadline);
	if (b.holding) {
		double t1 = now_s(), cpu1 = servstat_cpu(b.loop, b.cl, c->url, c->server_pid);

		if (t1 > b.t_hold0 && isfinite(cpu1) && isfinite(b.cpu_hold0))
			held_pct = 100 * (cpu1 - b.cpu_hold0) / (t1 - b.t_hold0);
	}
	rss1 = servstat_rss(b.loop, b.cl, c->url, c->server_pid);
	b.stopping = true;

	secs = b.t_last > b.t_first ? b.t_last - b.t_first : 0;
	rate = secs > 0 ? b.connected / secs : 0;
	per = b.connected && isfinite(rss0) && isfinite(rss1) ? (rss1 - rss0) / b.connected : NAN;
	if (c->tty && !c->json)
		fprintf(stderr, "\r\033[K");
	if (c->json)
		print_json(&b, rate, rss1, per, held_pct);
	else
		print_text(&b, rate, rss1, per, held_pct);
	rawconn_free(b.raw);
	rv_client_free(b.cl);
	rc = !b.holding || !b.connected || b.failed || b.closed ? 1 : 0;
	free(b.c);
	return rc;
}
