/* cmd/revenge-bench/connect.c - `revenge-bench connect`: open N
 * connections at a bounded rate (parties of 10, as people watch), hold them
 * for --duration, and report handshakes per second, handshake latency
 * percentiles and the server's memory per held connection (resident memory,
 * servstat.c).
 */
#include "connect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include <revenge/revenge.h>

#include "histo.h"
#include "limits.h"
#include "servstat.h"
#include "srcaddr.h"

#define MAX_CONNECTING 256
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
	struct rv_client *cl;
	struct cconn *c;
	unsigned opened, connected, failed, closed;
	double t_first, t_last;
	struct histo lat;
	char run[16], reason[200];
	bool holding, stopping;
	bool reading;                 /* inside servstat_cpu at the hold start */
	double cpu_hold0, t_hold0;    /* the server's CPU seconds when the hold began */
	ev_timer connect_timer, status, stop, deadline;
};

static double now_s(void)
{
	return (double)rv_time_mono_ns() / 1e9;
}

static void on_open(struct rv_conn *c, void *user)
{
	struct cconn *cc = user;
	struct conn_bench *b = cc->b;
	double t = now_s();

	cc->open = true;
	b->connected++;
	b->t_last = t;
	histo_add(&b->lat, (t - cc->started) * 1e6);
}

static void on_message(struct rv_conn *c, const char *text, size_t len, void *user)
{
}

static void on_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	struct cconn *cc = user;
	struct conn_bench *b = cc->b;

	cc->conn = NULL;
	cc->open = false;
	if (b->stopping)
		return;
	if (status || !code)
		b->failed++;
	else
		b->closed++;
	if (!b->reason[0])
		snprintf(b->reason, sizeof(b->reason), "%s %d %s", status ? "refused: HTTP" :
			 code ? "closed by server:" : "cannot connect:", status ? status : code, reason);
}

static const struct rv_conn_callbacks callbacks = { on_open, on_message, on_close };

static void open_some(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;
	unsigned batch = b->o->c.connect_rate / 100 ? b->o->c.connect_rate / 100 : 1;
	char url[2400];
	int err;

	if (!b->t_first)
		b->t_first = now_s();
	for (unsigned k = 0; k < batch && b->opened < b->o->conns; k++) {
		struct cconn *cc;

		if (b->opened - b->connected - b->failed - b->closed >= MAX_CONNECTING)
			return;
		struct rv_conn_options co = { .source_addr = srcaddr_pick(b->o->c.src, b->opened) };

		cc = &b->c[b->opened];
		cc->b = b;
		cc->started = now_s();
		snprintf(url, sizeof(url), "%s/ws/party/c-%s-%u", b->o->c.url, b->run,
			 b->opened / PARTY_SIZE);
		b->opened++;
		errno = 0;
		cc->conn = rv_client_connect(b->cl, url, &co, &callbacks, cc, &err);
		if (!cc->conn) {
			b->failed++;
			/* errno: lws leaves socket()'s, EMFILE at the open-file limit */
			if (!b->reason[0])
				snprintf(b->reason, sizeof(b->reason), "cannot connect: %s",
					 errno ? strerror(errno) : rv_strerror(err));
		}
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

static void status_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;

	if (b->reading)
		return;   /* called again from inside servstat_cpu's loop */
	if (!b->holding && b->connected + b->failed + b->closed >= b->o->conns) {
		b->holding = true;
		/* the server's CPU while it holds idle connections */
		b->reading = true;
		b->cpu_hold0 = servstat_cpu(loop, b->cl, b->o->c.url, b->o->c.server_pid);
		b->reading = false;
		b->t_hold0 = now_s();
		ev_timer_set(&b->stop, b->o->c.duration_s, 0);
		ev_timer_start(loop, &b->stop);
	}
	if (b->o->c.tty && !b->o->c.json)
		fprintf(stderr, "\r\033[K%s  %u/%u connected  p99 handshake %.2f ms",
			b->holding ? "holding" : "connecting", b->connected, b->o->conns,
			histo_quantile(&b->lat, 0.99) / 1000);
}

static void deadline_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn_bench *b = t->data;

	if (b->holding)
		return;
	if (!b->reason[0])
		snprintf(b->reason, sizeof(b->reason), "only %u of %u connected in time",
			 b->connected, b->o->conns);
	ev_break(loop, EVBREAK_ALL);
}

int connect_run(const struct connect_opts *o)
{
	struct rv_client_config cc = { 0 };
	struct conn_bench b;
	const struct common_opts *c = &o->c;
	double rss0, rss1, secs, rate, per, held_pct = NAN;
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
	rss0 = servstat_rss(b.loop, b.cl, c->url, c->server_pid);
	ev_timer_init(&b.connect_timer, open_some, 0, 0.01);
	ev_timer_init(&b.status, status_cb, 0.25, 0.25);
	ev_timer_init(&b.stop, stop_cb, 0, 0);
	ev_timer_init(&b.deadline, deadline_cb, 30.0 + 4.0 * o->conns / c->connect_rate, 0);
	b.connect_timer.data = b.status.data = b.stop.data = b.deadline.data = &b;
	ev_timer_start(b.loop, &b.connect_timer);
	ev_timer_start(b.loop, &b.status);
	ev_timer_start(b.loop, &b.deadline);
	ev_run(b.loop, 0);
	ev_timer_stop(b.loop, &b.connect_timer);
	ev_timer_stop(b.loop, &b.status);
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
	if (c->json) {
		printf("{\"scenario\":\"connect\",\"url\":\"%s\",\"conns\":%u,\"connected\":%u,"
		       "\"failed\":%u,\"closed_by_server\":%u,\"handshakes_per_s\":%.1f,",
		       c->url, o->conns, b.connected, b.failed, b.closed, rate);
		if (isfinite(per))
			printf("\"server_rss_bytes\":%.0f,\"server_bytes_per_conn\":%.1f,", rss1, per);
		else
			printf("\"server_rss_bytes\":null,\"server_bytes_per_conn\":null,");
		if (isfinite(held_pct))
			printf("\"server_cpu_pct_held\":%.2f,", held_pct);
		else
			printf("\"server_cpu_pct_held\":null,");
		printf("\"handshake_ms\":");
		histo_json(&b.lat, stdout);
		limits_json(c->lim, stdout);
		printf("}\n");
	} else {
		printf("scenario      connect (%u connections, parties of %d%s)\n", o->conns,
		       PARTY_SIZE, c->deflate ? ", permessage-deflate" : "");
		printf("server        %s\n", c->url);
		printf("connected     %u (failed %u, closed by server %u), held %.1f s\n",
		       b.connected, b.failed, b.closed, c->duration_s);
		printf("handshakes    %.0f/s  ", rate);
		histo_text(&b.lat, stdout);
		if (isfinite(per))
			printf("server memory %.1f MiB resident, %.2f KiB per connection\n",
			       rss1 / 1048576, per / 1024);
		else
			printf("server memory unknown (no /metrics; use --server-pid)\n");
		if (isfinite(held_pct))
			printf("server CPU    %.2f%% of a core while the connections were held\n",
			       held_pct);
		limits_text(c->lim, stdout);
		if (b.reason[0])
			printf("first failure %s\n", b.reason);
	}
	rv_client_free(b.cl);
	rc = !b.holding || !b.connected || b.failed || b.closed ? 1 : 0;
	free(b.c);
	return rc;
}
