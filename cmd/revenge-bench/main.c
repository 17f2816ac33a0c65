/* cmd/revenge-bench/main.c - load generator and benchmark for revenge-server.
 *
 * One process, one libev loop, librevenge's client adapter for every
 * connection. A run opens its connections at a bounded rate, measures for
 * --duration once they are all open, prints a table (or --json) and exits by
 * itself. On a terminal a live line shows connections, throughput and p99.
 *
 * Scenarios: progress (durable progress reports with ids, acked per
 * second and ack latency), fanout (fanout.c), chat (chat.c) and churn
 * (churn.c), the three on parties of members (mesh.c), and connect
 * (connect.c, with --raw on plain sockets: rawconn.c). --src (srcaddr.c)
 * and the open-file and port caps (limits.c) apply to all of them.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include <revenge/revenge.h>

#include "chat.h"
#include "churn.h"
#include "cli.h"
#include "common.h"
#include "connect.h"
#include "fanout.h"
#include "histo.h"
#include "limits.h"
#include "srcaddr.h"

#define PROG "revenge-bench"
#define INFLIGHT_MAX 64

static const char usage_text[] =
"Usage: " PROG " [OPTIONS] SCENARIO [SCENARIO OPTIONS]\n"
"\n"
"Load a revenge-server and measure it. Every run is bounded by --duration\n"
"and stops by itself.\n"
"\n"
"Options:\n"
"  --url URL            server (default $REVENGE_URL or ws://127.0.0.1:8080)\n"
"  --duration TIME      how long to measure once connected: 500ms, 10s, 1m\n"
"                       (default 10s; at most 1h)\n"
"  --connect-rate N     new connections per second (default 2000)\n"
"  --src ADDR[-LAST]    bind the connections to these local IPv4 addresses,\n"
"                       round-robin: 127.0.0.2, 127.0.0.1-8 or\n"
"                       127.0.0.1-127.0.0.8 (at most 256); each address has\n"
"                       its own ~28,000 ephemeral ports to reach the server\n"
"  --deflate            offer permessage-deflate (not yet: see below)\n"
"  --json               print one JSON object instead of the table\n"
"  -h, --help           show this help and exit\n"
"  -V, --version        show the version and exit\n"
"\n"
"Scenarios:\n"
"  progress             S sessions report progress with ids on\n"
"                       /ws/progress/{id}; each sends its next report when\n"
"                       the previous ones are acked\n"
"      --sessions S     concurrent sessions (default 1000; 1 to 100000)\n"
"      --inflight K     unacked reports per session (default 1; 1 to 64)\n"
"      --rate R         open loop: R reports per second in all, spread over\n"
"                       the sessions, sent on schedule whether or not acks\n"
"                       came back (at most --inflight unacked per session;\n"
"                       a report that would exceed it counts as late)\n"
"                       (default 0: closed loop, send on ack)\n"
"\n"
"  connect              open N connections (parties of 10) at --connect-rate,\n"
"                       hold them --duration; handshakes per second, handshake\n"
"                       latency, the server's memory per connection\n"
"      --conns N        connections (default 1000; 1 to 100000)\n"
"      --raw            handshakes on plain sockets, not libwebsockets (whose\n"
"                       client tops out near 13,000/s on a core): ws:// only\n"
"      --server-pid PID read the server's memory from /proc\n"
"  fanout               P parties of M members (the host included); each host\n"
"                       sends R syncs per second, every other member times\n"
"                       each delivery (the send time rides in the position)\n"
"      --parties P      parties (default 100; 1 to 10000)\n"
"      --members M      members per party, the host included (default 100;\n"
"                       2 to 10000)\n"
"      --rate R         syncs per second per host (default 1; up to 1000)\n"
"      --server-pid PID read the server's CPU from /proc (for servers\n"
"                       without /metrics); else /metrics is used\n"
"  chat                 P parties of M members; every member sends R chat\n"
"                       messages per second, each relayed to the whole party,\n"
"                       the sender too, and timed by every member (the send\n"
"                       time rides in the text); the server's rate limit\n"
"                       per connection must allow R\n"
"      --parties P      parties (default 100; 1 to 10000)\n"
"      --members M      members per party (default 100; 2 to 10000)\n"
"      --rate R         chat messages per second per member, open loop,\n"
"                       spread evenly (default 0.2; more than 0, up to 1000)\n"
"      --server-pid PID read the server's CPU from /proc (else /metrics)\n"
"  churn                fanout's P parties of M stable members, while extra\n"
"                       members join and leave: N joins per second in all,\n"
"                       each staying 0.5 to 2 s and leaving with close 1000;\n"
"                       joins and leaves per second, join latency (connect\n"
"                       to welcome), the stable members' loss and latency\n"
"      --parties P      parties (default 100; 1 to 10000)\n"
"      --members M      stable members per party, the host included\n"
"                       (default 100; 2 to 10000)\n"
"      --rate R         syncs per second per host (default 1; up to 1000)\n"
"      --churn N        joins per second in all (default 100; more than 0,\n"
"                       up to 10000)\n"
"      --server-pid PID read the server's CPU from /proc (else /metrics)\n"
"\n"
"Output: throughput, latency percentiles (p50, p90, p99, p99.9, max) from a\n"
"log-bucketed histogram; for fanout, chat and churn the loss, and for\n"
"fanout and chat the server's CPU per delivered message. When the open-file\n"
"limit or the ephemeral ports cap a run, it is said on stderr, in a\n"
"\"limited by\" line and as \"limited_by\" in --json.\n"
"\n"
"--deflate is refused for now: the libwebsockets 4.1.6 client loops on a plain\n"
"message that follows a compressed one (browsers and Python are fine).\n"
"\n"
"Exit status: 0 the run completed, 1 it failed (no connection, the server\n"
"closed connections, or churning members could not join), 2 usage error.\n";

struct bench;

struct session {
	struct bench *b;
	struct rv_conn *conn;
	unsigned idx;
	bool open;
	uint64_t seq;                 /* reports sent */
	uint64_t acked;               /* acks received */
	double sent_at[INFLIGHT_MAX]; /* by seq % inflight */
};

struct bench {
	struct ev_loop *loop;
	struct rv_client *cl;
	const char *url;
	double duration_s;
	unsigned connect_rate;
	bool json, tty, deflate;
	const struct srcaddr *src;    /* --src, round-robin by session */
	const struct limits *lim;
	/* progress */
	unsigned sessions, inflight;
	double rate;                  /* open loop: reports/s in all; 0 closed loop */
	double sent_quota;            /* open loop: reports due so far */
	uint64_t sent_open;           /* open loop: reports sent */
	uint64_t late;                /* open loop: not sent, session had K unacked */
	unsigned rr;                  /* open loop: next session to send */
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
	char close_reason[160];
};

static double now_s(void)
{
	return (double)rv_time_mono_ns() / 1e9;
}

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)
#define parse_uint(flag, s, lo, hi) cli_uint(PROG, flag, s, lo, hi)

/* --duration: more than zero, at most an hour; in seconds. */
static double parse_duration(const char *flag, const char *s)
{
	double ms = cli_duration_ms(PROG, flag, s);

	if (ms <= 0)
		usage_error("%s: must be more than 0, got '%s'", flag, s);
	return ms / 1000;
}

/* ---- progress scenario ------------------------------------------------- */

static void send_report(struct session *s)
{
	char buf[256];
	uint64_t seq = s->seq++;
	int n = snprintf(buf, sizeof(buf),
			 "{\"type\":\"progress\",\"id\":\"%llu\",\"payload\":{\"media_id\":\"bench\","
			 "\"position\":%llu,\"duration\":null,\"playing\":false}}",
			 (unsigned long long)seq, (unsigned long long)seq);

	s->sent_at[seq % s->b->inflight] = now_s();
	rv_conn_send(s->conn, buf, (size_t)n);
}

static void progress_open(struct rv_conn *c, void *user)
{
	struct session *s = user;

	s->b->connected++;
	s->open = true;
	if (s->b->rate > 0)
		return;   /* the pacer sends */
	for (unsigned i = 0; i < s->b->inflight; i++)
		send_report(s);
}

/* Open loop: every millisecond, send the reports that are due, round-robin
 * over the open sessions, so the offered load does not depend on how fast
 * the server answers (a closed loop would hide queueing delay). */
static void pace(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct bench *b = t->data;
	double now = now_s();
	uint64_t due;

	if (b->stopping || !b->connected)
		return;
	if (!b->t_open_start)
		b->t_open_start = now;
	due = (uint64_t)((now - b->t_open_start) * b->rate);
	for (unsigned tries = 0; b->sent_open < due && tries < 2 * b->sessions; tries++) {
		struct session *s = &b->ss[b->rr];

		b->rr = (b->rr + 1) % b->opened;
		if (!s->open || !s->conn)
			continue;
		if (s->seq - s->acked >= b->inflight) {
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
	struct bench *b = s->b;
	const char *id;
	uint64_t seq;
	double t = now_s();

	/* Scanned, not parsed: at tens of thousands of acks a second the
	 * generator must stay cheaper than the server it measures. */
	if (len > 16 && !memcmp(text, "{\"type\":\"error\"", 15)) {
		b->errors++;
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
		double us = (t - s->sent_at[seq % b->inflight]) * 1e6;

		b->acked++;
		histo_add(&b->lat, us);
		histo_add(&b->lat_window, us);
	}
	if (!b->stopping && b->rate <= 0)
		send_report(s);
}

static void progress_close(struct rv_conn *c, int code, int status, const char *reason,
			   void *user)
{
	struct session *s = user;
	struct bench *b = s->b;

	s->conn = NULL;
	s->open = false;
	if (b->stopping)
		return;   /* our own closing at the end of the run */
	if (status || !code)
		b->failed++;
	else
		b->closed++;
	if (!b->close_reason[0]) {
		if (status)
			snprintf(b->close_reason, sizeof(b->close_reason), "refused: HTTP %d", status);
		else if (code)
			snprintf(b->close_reason, sizeof(b->close_reason), "closed by server: %d %s",
				 code, reason);
		else
			snprintf(b->close_reason, sizeof(b->close_reason), "cannot connect: %s",
				 reason);
	}
}

static const struct rv_conn_callbacks progress_cb = {
	progress_open, progress_message, progress_close,
};

/* ---- driving the run ---------------------------------------------------- */

static void open_some(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct bench *b = t->data;
	/* the timer runs every 10 ms */
	unsigned batch = b->connect_rate / 100 ? b->connect_rate / 100 : 1;
	char url[2048];
	int err;

	for (unsigned i = 0; i < batch && b->opened < b->sessions; i++) {
		struct session *s = &b->ss[b->opened];
		struct rv_conn_options co = { .source_addr = srcaddr_pick(b->src, b->opened) };

		s->b = b;
		s->idx = b->opened++;
		snprintf(url, sizeof(url), "%s/ws/progress/bench-%u?interval_ms=60000", b->url,
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
	if (b->opened == b->sessions)
		ev_timer_stop(loop, t);
}

static void stop_run(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct bench *b = t->data;

	b->stopping = true;
	ev_timer_stop(loop, &b->status_timer);
	ev_timer_stop(loop, &b->connect_timer);
	ev_timer_stop(loop, &b->deadline);
	ev_timer_stop(loop, &b->pace);
	ev_break(loop, EVBREAK_ALL);
}

/* The connect phase has a limit too: a server that never answers must
 * not keep the run alive. */
static void deadline_hit(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct bench *b = t->data;

	if (b->measuring)
		return;
	if (!b->close_reason[0])
		snprintf(b->close_reason, sizeof(b->close_reason),
			 "only %u of %u connected in time", b->connected, b->sessions);
	stop_run(loop, &b->stop_timer, 0);
}

static void status_tick(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct bench *b = t->data;
	double now = now_s();

	if (!b->measuring && !b->connected && b->failed + b->closed >= b->sessions) {
		stop_run(loop, t, 0);   /* nobody got in: nothing to measure */
		return;
	}
	if (!b->measuring && b->connected + b->failed + b->closed >= b->sessions) {
		/* everyone is connected (or gave up): the clock starts now */
		b->measuring = true;
		b->t_measure = now;
		b->t_end = now + b->duration_s;
		memset(&b->lat, 0, sizeof(b->lat));
		b->acked = b->acked_at_tick = 0;
		ev_timer_init(&b->stop_timer, stop_run, b->duration_s, 0);
		b->stop_timer.data = b;
		ev_timer_start(loop, &b->stop_timer);
	}
	if (b->tty && !b->json)
		fprintf(stderr, "\r\033[K%s %5.1fs  %u/%u connected  %8.0f acks/s  p99 %6.2f ms",
			b->measuring ? "measuring" : "connecting",
			b->measuring ? now - b->t_measure : 0.0, b->connected, b->sessions,
			(double)(b->acked - b->acked_at_tick) / 0.5,
			histo_quantile(&b->lat_window, 0.99) / 1000);
	b->acked_at_tick = b->acked;
	memset(&b->lat_window, 0, sizeof(b->lat_window));
}

static void report(struct bench *b)
{
	double secs = b->measuring ? b->duration_s : 0;

	/* a run stopped early measured less */
	if (b->measuring && b->t_end > now_s())
		secs = now_s() - b->t_measure;
	double rate = secs > 0 ? (double)b->acked / secs : 0;
	const double qs[] = { 0.5, 0.9, 0.99, 0.999 };
	const char *names[] = { "p50", "p90", "p99", "p99.9" };

	if (b->tty && !b->json)
		fprintf(stderr, "\r\033[K");
	if (b->json) {
		printf("{\"scenario\":\"progress\",\"url\":\"%s\",\"offered_per_s\":%.0f,"
		       "\"late\":%llu,\"sessions\":%u,\"inflight\":%u,"
		       "\"connected\":%u,\"failed\":%u,\"closed_by_server\":%u,\"duration_s\":%.3f,"
		       "\"acked\":%llu,\"acked_per_s\":%.1f,\"errors\":%llu,\"ack_latency_ms\":{",
		       b->url, b->rate, (unsigned long long)b->late, b->sessions, b->inflight,
		       b->connected, b->failed, b->closed, secs,
		       (unsigned long long)b->acked, rate, (unsigned long long)b->errors);
		for (int i = 0; i < 4; i++)
			printf("\"%s\":%.3f,", names[i], histo_quantile(&b->lat, qs[i]) / 1000);
		printf("\"max\":%.3f,\"mean\":%.3f}", b->lat.max / 1000,
		       b->lat.count ? b->lat.sum / (double)b->lat.count / 1000 : 0.0);
		limits_json(b->lim, stdout);
		printf("}\n");
		return;
	}
	printf("scenario      progress (%u sessions, %u in flight each, %s)\n", b->sessions,
	       b->inflight, b->rate > 0 ? "open loop" : "closed loop: next report on ack");
	if (b->rate > 0)
		printf("offered       %.0f reports/s (%llu late: the session had %u unacked)\n",
		       b->rate, (unsigned long long)b->late, b->inflight);
	printf("server        %s\n", b->url);
	printf("connected     %u (failed %u, closed by server %u)\n", b->connected, b->failed,
	       b->closed);
	printf("measured      %.1f s\n", secs);
	printf("acked         %llu reports, %.0f/s\n", (unsigned long long)b->acked, rate);
	printf("errors        %llu\n", (unsigned long long)b->errors);
	printf("ack latency   ");
	for (int i = 0; i < 4; i++)
		printf("%s %.2f ms  ", names[i], histo_quantile(&b->lat, qs[i]) / 1000);
	printf("max %.2f ms\n", b->lat.max / 1000);
	limits_text(b->lim, stdout);
	if (b->close_reason[0])
		printf("first failure %s\n", b->close_reason);
}

/* --src: parse, and check that this machine has the addresses. */
static void parse_src(struct srcaddr *src, const char *spec)
{
	char err[200];

	if (srcaddr_parse(src, spec, err, sizeof(err)) || srcaddr_check(src, err, sizeof(err)))
		usage_error("--src: %s", err);
}

int main(int argc, char **argv)
{
	static const struct option global[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "duration", required_argument, NULL, 'd' },
		{ "connect-rate", required_argument, NULL, 'r' },
		{ "src", required_argument, NULL, 'A' },
		{ "deflate", no_argument, NULL, 'z' },
		{ "json", no_argument, NULL, 'j' },
		{ "sessions", required_argument, NULL, 's' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'R' },
		{ "parties", required_argument, NULL, 'P' },
		{ "members", required_argument, NULL, 'M' },
		{ "churn", required_argument, NULL, 'N' },
		{ "server-pid", required_argument, NULL, 'S' },
		{ "conns", required_argument, NULL, 'C' },
		{ "raw", no_argument, NULL, 'W' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { 0 };
	struct common_opts c = { 0 };
	struct srcaddr src = { 0 };
	struct limits lim = { 0 };
	unsigned parties = 100, members = 100, conns = 1000;
	double churn = 100;
	struct rv_client_config cc = { 0 };
	bool rate_given = false, raw = false;
	const char *scenario = NULL;
	int opt, err;

	b.url = getenv("REVENGE_URL") ? getenv("REVENGE_URL") : "ws://127.0.0.1:8080";
	b.duration_s = 10;
	b.connect_rate = 2000;
	b.sessions = 1000;
	b.inflight = 1;
	opterr = 0;
	/* Options may come before or after the scenario name: GNU getopt
	 * moves the non-options to the end. */
	while ((opt = getopt_long(argc, argv, ":hV", global, NULL)) != -1) {
		switch (opt) {
		case 'u':
			if (strncmp(optarg, "ws://", 5) && strncmp(optarg, "wss://", 6))
				usage_error("--url: expected ws://HOST:PORT or wss://HOST:PORT, got '%s'",
					    optarg);
			b.url = optarg;
			break;
		case 'd': b.duration_s = parse_duration("--duration", optarg); break;
		case 'r': b.connect_rate = (unsigned)parse_uint("--connect-rate", optarg, 1, 1000000); break;
		case 'A': parse_src(&src, optarg); break;
		case 'z':
			/* libwebsockets 4.1.6's client re-delivers an uncompressed
			 * message forever once it has inflated one; the server
			 * mixes both (under 256 bytes stays plain), so the run
			 * would measure that bug, not the server. */
			usage_error("--deflate: not available with this libwebsockets (4.1.6): its "
				    "client mishandles plain messages after compressed ones");
		case 'j': b.json = true; break;
		case 's': b.sessions = (unsigned)parse_uint("--sessions", optarg, 1, 100000); break;
		case 'i': b.inflight = (unsigned)parse_uint("--inflight", optarg, 1, INFLIGHT_MAX); break;
		case 'R':
			b.rate = cli_double(PROG, "--rate", optarg, 0, 10000000);
			rate_given = true;
			break;
		case 'P': parties = (unsigned)parse_uint("--parties", optarg, 1, 10000); break;
		case 'M': members = (unsigned)parse_uint("--members", optarg, 2, 10000); break;
		case 'N':
			churn = cli_double(PROG, "--churn", optarg, 0, 10000);
			if (churn <= 0)
				usage_error("--churn: joins per second in all, more than 0 and at most "
					    "10000, got '%s'", optarg);
			break;
		case 'S': c.server_pid = (int)parse_uint("--server-pid", optarg, 1, 4194304); break;
		case 'C': conns = (unsigned)parse_uint("--conns", optarg, 1, 100000); break;
		case 'W': raw = true; break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		case 'V':
			printf(PROG " %s\n", rv_version());
			return 0;
		case ':':
			usage_error("%s: missing value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		scenario = argv[optind++];
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!scenario)
		usage_error("missing SCENARIO (chat, churn, connect, fanout, progress)");
	if (src.n && strstr(b.url, "://["))
		usage_error("--src: IPv4 source addresses cannot reach an IPv6 server (%s)", b.url);
	if (raw && strcmp(scenario, "connect"))
		usage_error("--raw: only the connect scenario has it");
	if (raw && strncmp(b.url, "ws://", 5))
		usage_error("--raw: plain ws:// only, got '%s'", b.url);

	c.url = b.url;
	c.duration_s = b.duration_s;
	c.connect_rate = b.connect_rate;
	c.json = b.json;
	c.tty = isatty(2) && !b.json;
	c.deflate = b.deflate;
	c.src = &src;
	c.lim = &lim;
	if (!strcmp(scenario, "connect")) {
		struct connect_opts co = { .c = c, .conns = conns, .raw = raw };

		limits_probe(&lim, PROG, conns, src.n);
		return connect_run(&co);
	}
	if (!strcmp(scenario, "fanout")) {
		struct fanout_opts fo = { .c = c, .parties = parties, .members = members,
					  .rate = rate_given ? b.rate : 1 };

		if (fo.rate <= 0 || fo.rate > 1000)
			usage_error("--rate: syncs per second per host, more than 0 and at most 1000");
		limits_probe(&lim, PROG, (unsigned long)parties * members, src.n);
		return fanout_run(&fo);
	}
	if (!strcmp(scenario, "chat")) {
		struct chat_opts co = { .c = c, .parties = parties, .members = members,
					.rate = rate_given ? b.rate : 0.2 };

		if (co.rate <= 0 || co.rate > 1000)
			usage_error("--rate: chat messages per second per member, more than 0 and at "
				    "most 1000");
		limits_probe(&lim, PROG, (unsigned long)parties * members, src.n);
		return chat_run(&co);
	}
	if (!strcmp(scenario, "churn")) {
		struct churn_opts co = { .c = c, .parties = parties, .members = members,
					 .rate = rate_given ? b.rate : 1, .churn = churn };

		if (co.rate <= 0 || co.rate > 1000)
			usage_error("--rate: syncs per second per host, more than 0 and at most 1000");
		limits_probe(&lim, PROG, (unsigned long)parties * members + churn_pool_size(churn),
			     src.n);
		return churn_run(&co);
	}
	if (strcmp(scenario, "progress"))
		usage_error("unknown scenario '%s' (expected chat, churn, connect, fanout or progress)",
			    scenario);

	b.tty = c.tty;
	b.src = &src;
	b.lim = &lim;
	limits_probe(&lim, PROG, b.sessions, src.n);
	b.ss = calloc(b.sessions, sizeof(*b.ss));
	if (!b.ss) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	b.loop = ev_default_loop(EVFLAG_AUTO);
	cc.ev_loop = b.loop;
	cc.deflate = b.deflate;
	cc.insecure = true;
	b.cl = rv_client_new(&cc, &err);
	if (!b.cl) {
		fprintf(stderr, PROG ": %s\n", rv_strerror(err));
		return 1;
	}
	ev_timer_init(&b.connect_timer, open_some, 0, 0.01);
	ev_timer_init(&b.status_timer, status_tick, 0.5, 0.5);
	ev_timer_init(&b.deadline, deadline_hit,
		      10.0 + 2.0 * b.sessions / b.connect_rate, 0);
	b.connect_timer.data = b.status_timer.data = b.deadline.data = b.stop_timer.data = &b;
	ev_timer_start(b.loop, &b.deadline);
	if (b.rate > 0) {
		ev_timer_init(&b.pace, pace, 0.001, 0.001);
		b.pace.data = &b;
		ev_timer_start(b.loop, &b.pace);
	}
	ev_timer_start(b.loop, &b.connect_timer);
	ev_timer_start(b.loop, &b.status_timer);
	ev_run(b.loop, 0);

	report(&b);
	rv_client_free(b.cl);
	free(b.ss);
	if (!b.measuring || !b.connected)
		return 1;
	return b.failed || b.closed ? 1 : 0;
}
