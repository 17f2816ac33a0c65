/* cmd/revenge-bench/connect.c - `revenge-bench connect`: open N
 * connections at a bounded rate (parties of 10, as people watch), hold them
 * for --duration, and report handshakes per second, handshake latency
 * percentiles and the server's memory per held connection (resident memory
 * from /metrics process_resident_memory_bytes, or /proc with --server-pid).
 */
#include "connect.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include <revenge/revenge.h>

#include "histo.h"

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
	bool holding, stopping, http_done;
	double http_rss;
	ev_timer connect_timer, status, stop, deadline;
};

static double now_s(void)
{
	return (double)rv_time_mono_ns() / 1e9;
}

static void metrics_done(int status, const char *body, size_t len, const char *reason, void *user)
{
	struct conn_bench *b = user;
	const char *k = status == 200 ?
			memmem(body, len, "\nprocess_resident_memory_bytes ", 31) : NULL;

	b->http_rss = k ? strtod(k + 31, NULL) : NAN;
	b->http_done = true;
}

/* The server's resident memory in bytes; NAN when unknown. */
static double server_rss(struct conn_bench *b)
{
	if (b->o->server_pid > 0) {
		char path[64], line[256];
		double kb = NAN;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/status", b->o->server_pid);
		f = fopen(path, "r");
		if (!f)
			return NAN;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "VmRSS:", 6))
				kb = strtod(line + 6, NULL);
		fclose(f);
		return kb * 1024;
	}
	char url[2200];

	snprintf(url, sizeof(url), "%s/metrics", b->o->url);
	b->http_done = false;
	if (rv_client_http_get(b->cl, url, 1 << 20, metrics_done, b))
		return NAN;
	double deadline = now_s() + 3;

	while (!b->http_done && now_s() < deadline)
		ev_run(b->loop, EVRUN_ONCE);
	return b->http_done ? b->http_rss : NAN;
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
	unsigned batch = b->o->connect_rate / 100 ? b->o->connect_rate / 100 : 1;
	char url[2400];
	int err;

	if (!b->t_first)
		b->t_first = now_s();
	for (unsigned k = 0; k < batch && b->opened < b->o->conns; k++) {
		struct cconn *cc;

		if (b->opened - b->connected - b->failed - b->closed >= MAX_CONNECTING)
			return;
		cc = &b->c[b->opened];
		cc->b = b;
		cc->started = now_s();
		snprintf(url, sizeof(url), "%s/ws/party/c-%s-%u", b->o->url, b->run,
			 b->opened / PARTY_SIZE);
		b->opened++;
		cc->conn = rv_client_connect(b->cl, url, NULL, &callbacks, cc, &err);
		if (!cc->conn)
			b->failed++;
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

	if (!b->holding && b->connected + b->failed + b->closed >= b->o->conns) {
		b->holding = true;
		ev_timer_set(&b->stop, b->o->duration_s, 0);
		ev_timer_start(loop, &b->stop);
	}
	if (b->o->tty && !b->o->json)
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
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	const char *names[] = { "p50", "p90", "p99", "p99.9" };
	double rss0, rss1, secs, rate, per;
	int err, rc;

	memset(&b, 0, sizeof(b));
	b.o = o;
	b.c = calloc(o->conns, sizeof(*b.c));
	if (!b.c)
		return 1;
	snprintf(b.run, sizeof(b.run), "%llx", (unsigned long long)(rv_time_mono_ns() & 0xffffffffff));
	b.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = b.loop;
	cc.deflate = o->deflate;
	cc.insecure = true;
	b.cl = rv_client_new(&cc, &err);
	if (!b.cl) {
		fprintf(stderr, "revenge-bench: %s\n", rv_strerror(err));
		free(b.c);
		return 1;
	}
	rss0 = server_rss(&b);
	ev_timer_init(&b.connect_timer, open_some, 0, 0.01);
	ev_timer_init(&b.status, status_cb, 0.25, 0.25);
	ev_timer_init(&b.stop, stop_cb, 0, 0);
	ev_timer_init(&b.deadline, deadline_cb, 30.0 + 4.0 * o->conns / o->connect_rate, 0);
	b.connect_timer.data = b.status.data = b.stop.data = b.deadline.data = &b;
	ev_timer_start(b.loop, &b.connect_timer);
	ev_timer_start(b.loop, &b.status);
	ev_timer_start(b.loop, &b.deadline);
	ev_run(b.loop, 0);
	ev_timer_stop(b.loop, &b.connect_timer);
	ev_timer_stop(b.loop, &b.status);
	ev_timer_stop(b.loop, &b.stop);
	ev_timer_stop(b.loop, &b.deadline);
	rss1 = server_rss(&b);
	b.stopping = true;

	secs = b.t_last > b.t_first ? b.t_last - b.t_first : 0;
	rate = secs > 0 ? b.connected / secs : 0;
	per = b.connected && isfinite(rss0) && isfinite(rss1) ? (rss1 - rss0) / b.connected : NAN;
	if (o->tty && !o->json)
		fprintf(stderr, "\r\033[K");
	if (o->json) {
		printf("{\"scenario\":\"connect\",\"url\":\"%s\",\"conns\":%u,\"connected\":%u,"
		       "\"failed\":%u,\"closed_by_server\":%u,\"handshakes_per_s\":%.1f,",
		       o->url, o->conns, b.connected, b.failed, b.closed, rate);
		if (isfinite(per))
			printf("\"server_rss_bytes\":%.0f,\"server_bytes_per_conn\":%.1f,", rss1, per);
		else
			printf("\"server_rss_bytes\":null,\"server_bytes_per_conn\":null,");
		printf("\"handshake_ms\":{");
		for (int i = 0; i < 4; i++)
			printf("\"%s\":%.3f,", names[i], histo_quantile(&b.lat, qs[i]) / 1000);
		printf("\"max\":%.3f}}\n", b.lat.max / 1000);
	} else {
		printf("scenario      connect (%u connections, parties of %d%s)\n", o->conns,
		       PARTY_SIZE, o->deflate ? ", permessage-deflate" : "");
		printf("server        %s\n", o->url);
		printf("connected     %u (failed %u, closed by server %u), held %.1f s\n",
		       b.connected, b.failed, b.closed, o->duration_s);
		printf("handshakes    %.0f/s  ", rate);
		for (int i = 0; i < 4; i++)
			printf("%s %.2f ms  ", names[i], histo_quantile(&b.lat, qs[i]) / 1000);
		printf("max %.2f ms\n", b.lat.max / 1000);
		if (isfinite(per))
			printf("server memory %.1f MiB resident, %.2f KiB per connection\n",
			       rss1 / 1048576, per / 1024);
		else
			printf("server memory unknown (no /metrics; use --server-pid)\n");
		if (b.reason[0])
			printf("first failure %s\n", b.reason);
	}
	rv_client_free(b.cl);
	rc = !b.holding || !b.connected || b.failed || b.closed ? 1 : 0;
	free(b.c);
	return rc;
}
