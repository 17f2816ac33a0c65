/* cmd/revenge-bench/main.c - load generator and benchmark for revenge-server.
 *
 * One process, one libev loop, librevenge's client adapter for every
 * connection. A run opens its connections at a bounded rate, measures for
 * --duration once they are all open, prints a table (or --json) and exits by
 * itself. On a terminal a live line shows connections, throughput and p99.
 *
 * This file parses the options and hands the run to its scenario, each
 * in a file of its own: progress (progress.c), fanout (fanout.c), chat
 * (chat.c), churn (churn.c), amplify (amplify.c) and fill (fill.c), the five on parties
 * of members (mesh.c),
 * and connect (connect.c, with --raw on plain sockets: rawconn.c), and
 * sync (sync.c, members behind simulated paths: delay.c). --src
 * (srcaddr.c) and the open-file and port caps (limits.c) apply to all of
 * them.
 */
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <revenge/revenge.h>

#include "amplify.h"
#include "chat.h"
#include "churn.h"
#include "cli.h"
#include "common.h"
#include "connect.h"
#include "delay.h"
#include "fanout.h"
#include "fill.h"
#include "limits.h"
#include "progress.h"
#include "srcaddr.h"
#include "sync.h"

#define PROG "revenge-bench"
#define MAX_URLS BENCH_MAX_URLS
_Static_assert(MAX_URLS <= SYNC_NODES_MAX, "sync keeps figures per --url");
#define STR_(x) #x
#define STR(x) STR_(x)

static const char usage_text[] =
"Usage: " PROG " [OPTIONS] SCENARIO [SCENARIO OPTIONS]\n"
"\n"
"Load a revenge-server and measure it. Every run is bounded by --duration\n"
"and stops by itself.\n"
"\n"
"Options:\n"
"  --url URL            server (default $REVENGE_URL or ws://127.0.0.1:8080);\n"
"                       given up to " STR(MAX_URLS) " times (the nodes of a\n"
"                       cluster): fanout, fill, chat, churn and sync keep\n"
"                       each party's host on the first and spread its\n"
"                       members round-robin over all, with figures per node\n"
"                       for fill and sync\n"
"  --duration TIME      how long to measure once connected: 500ms, 10s, 1m\n"
"                       (default 10s; at most 1h)\n"
"  --connect-rate N     new connections per second (default 2000)\n"
"  --src ADDR[-LAST]    bind the connections to these local IPv4 addresses,\n"
"                       round-robin: 127.0.0.2, 127.0.0.1-8 or\n"
"                       127.0.0.1-127.0.0.8 (at most 256); each address has\n"
"                       its own ~28,000 ephemeral ports to reach the server\n"
"  --token TOKEN        every connection sends \"Authorization: Bearer TOKEN\"\n"
"                       (default $REVENGE_TOKEN); A-Z a-z 0-9 - _ . only\n"
"  --token-file FILE    read the token from FILE (keeps it out of ps)\n"
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
"                       without /metrics); else /metrics is used; with\n"
"                       several --url, once for each, in order\n"
"      --redis-pid PID  read the Redis server's CPU (cluster mode): its CPU\n"
"                       per party message\n"
"  fill                 P parties of M members join as fast as the server\n"
"                       admits them (--connect-rate, 64 handshakes in\n"
"                       flight); each host sends a sync as the last member\n"
"                       is welcomed (the storm sync) and one a second after\n"
"                       the last join, each timed at every member: the fill\n"
"                       time (first connect to last welcome), when every\n"
"                       roster was whole, the join announcements received,\n"
"                       each sync's delivery latency; the run ends once\n"
"                       every member has the second (at the latest\n"
"                       --duration after it is measured)\n"
"      --parties P      parties (default 10; 1 to 10000)\n"
"      --members M      members per party, the host included (default\n"
"                       1000; 2 to 10000)\n"
"      --server-pid PID read the server's CPU from /proc (else /metrics)\n"
"  chat                 P parties of M members; every member sends R chat\n"
"                       messages per second, each relayed to the whole party,\n"
"                       the sender too, and timed by every member (the send\n"
"                       time rides in the text); the server's rate limit\n"
"                       per connection must allow R\n"
"      --parties P      parties (default 100; 1 to 10000)\n"
"      --members M      members per party (default 100; 2 to 10000)\n"
"      --rate R         chat messages per second per member, open loop,\n"
"                       spread evenly (default 0.2; more than 0, up to 1000)\n"
"      --server-pid PID read the server's CPU from /proc (else /metrics);\n"
"                       with several --url, once for each, in order\n"
"      --redis-pid PID  read the Redis server's CPU (cluster mode)\n"
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
"      --server-pid PID read the server's CPU from /proc (else /metrics);\n"
"                       with several --url, once for each, in order\n"
"      --redis-pid PID  read the Redis server's CPU (cluster mode)\n"
"  amplify              one party of A attackers sending R chat messages per\n"
"                       second each and P passive members, while B bystanders,\n"
"                       each alone in a party of its own, time `time` requests\n"
"                       (20 per second each): --duration quiet, then --duration\n"
"                       under attack; the bystanders' round-trip percentiles in\n"
"                       each phase and the ratio of the p99s, what the attack\n"
"                       got delivered and what was refused (rate_limited)\n"
"      --attackers A    attack party members who chat (default 150; 1 to 10000)\n"
"      --rate R         chat messages per second per attacker (default 45;\n"
"                       more than 0, up to 1000)\n"
"      --passive P      attack party members who only receive (default 50;\n"
"                       0 to 10000; A + P at least 2)\n"
"      --bystanders B   bystander clients (default 10; 1 to 1000)\n"
"      --bystander-cpu N  pin the bystanders' process (they run in a child\n"
"                       process of their own) to CPU N\n"
"      --server-pid PID read the server's CPU from /proc (else /metrics)\n"
"  sync                 one party of M members, each behind a simulated\n"
"                       network path of its own (delays each way, jitter, in\n"
"                       order like TCP) and with a clock of its own, each\n"
"                       estimating server time and showing the party's\n"
"                       position as a player would; the host resumes, seeks,\n"
"                       changes speed and pauses, every 2 s or once the last\n"
"                       command has settled. Every 10 ms all members are read\n"
"                       at one true instant: the spread of their positions\n"
"                       (p50, p99, max), the farthest member from the host\n"
"                       and from the server's true position, the members'\n"
"                       mean shift; per kind of command (transients) how far\n"
"                       apart in time the members switched to it and how far\n"
"                       apart their positions got meanwhile; the server's\n"
"                       lead (a command's stamp - its relay time). The\n"
"                       server's pings cross each member's path too (a\n"
"                       relay in the bench answers them): plain ws:// only.\n"
"                       With several --url: per node, and across nodes\n"
"      --members M      members, the host included (default 8; 2 to 1000)\n"
"      --delay MS       base delay each way (default 0; at most 2000)\n"
"      --delay-up MS    member to server only (overrides --delay)\n"
"      --delay-down MS  server to member only (overrides --delay)\n"
"      --jitter MS      each delay varies uniformly by +-MS (default 0; at\n"
"                       most the smaller base delay)\n"
"      --jitter-dist D  uniform (default) or normal: --jitter is then the\n"
"                       standard deviation, and a delay is clipped at 0\n"
"      --skew-ppm P     member clocks run fast or slow by up to P ppm, and\n"
"                       are off by up to 10 s (default 50; at most 1000)\n"
"      --seed N         the delays, skews and offsets drawn (default 1): the\n"
"                       same seed draws the same\n"
"      --rejoin         a member that loses its connection (a node killed\n"
"                       or restarted) joins again, afresh, every 200 ms:\n"
"                       how long until it is welcomed and back in sync\n"
"                       (within 10 ms of the host), the spread after\n"
"\n"
"Output: throughput, latency percentiles (p50, p90, p99, p99.9, max) from a\n"
"log-bucketed histogram; for fanout, chat and churn the loss, and for\n"
"fanout and chat the server's CPU per delivered message. When the open-file\n"
"limit or the ephemeral ports cap a run, it is said on stderr, in a\n"
"\"limited by\" line and as \"limited_by\" in --json. On a terminal (not with\n"
"--json) a live line on stderr shows the phase, the time elapsed and left\n"
"in the window, the connections and the throughput so far.\n"
"\n"
"All the load comes from one address, so a revenge-server's limits per\n"
"client address and per connection refuse it (HTTP 503 or 429, rate_limited):\n"
"start the server to measure with them off: --rate-limit 0 --frame-rate 0\n"
"--party-chat-rate 0 --max-conns-per-ip 0 --handshake-rate-per-ip 0\n"
"--party-join-rate 0 --max-sessions-per-owner 0 (for amplify,\n"
"--party-chat-rate on or off is what it compares).\n"
"\n"
"Connections do not offer permessage-deflate: the libwebsockets 4.1.6 client\n"
"loops on a plain message that follows a compressed one (browsers and Python\n"
"are fine).\n"
"\n"
"Exit status: 0 the run completed, nothing lost and no error; 1 it failed,\n"
"and the first error is printed (\"first error\" or \"first failure\" in the\n"
"table, first_error in --json): no connection, a connection refused, failed\n"
"or closed by the server, an error reply (rate_limited, forbidden, ...), or\n"
"a loss, which is for\n"
"  fanout, chat   a delivery of a message sent in the window that has not\n"
"                 arrived 2 s after it\n"
"  churn          the same for the stable members' syncs; a churning member\n"
"                 refused or closed by the server, a join missed (every\n"
"                 slot busy) or never welcomed\n"
"  fill           the second sync not sent, or not delivered to every member\n"
"  progress       a report refused, or none acked\n"
"2 usage error; 130 interrupted by Ctrl-C (SIGINT): the run stops at once\n"
"and prints what it measured so far (\"interrupted\" in --json; a second\n"
"Ctrl-C ends it as usual). sync reports its figures and leaves judging\n"
"them to the caller (make bench prints them against the targets).\n";

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)

/* sync's options: values past any letter */
enum {
	OPT_DELAY = 256, OPT_DELAY_UP, OPT_DELAY_DOWN, OPT_JITTER, OPT_DIST, OPT_SKEW, OPT_SEED,
	OPT_REJOIN, OPT_REDIS_PID,
};
#define parse_uint(flag, s, lo, hi) cli_uint(PROG, flag, s, lo, hi)

/* --duration: more than zero, at most an hour; in seconds. */
static double parse_duration(const char *flag, const char *s)
{
	double ms = cli_duration_ms(PROG, flag, s);

	if (ms <= 0)
		usage_error("%s: must be more than 0, got '%s'", flag, s);
	return ms / 1000;
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
	static char token_buf[CLI_TOKEN_BUF];   /* --token-file's, for the whole run */
	static const struct option global[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "duration", required_argument, NULL, 'd' },
		{ "connect-rate", required_argument, NULL, 'r' },
		{ "src", required_argument, NULL, 'A' },
		{ "deflate", no_argument, NULL, 'z' },
		{ "token", required_argument, NULL, 'T' },
		{ "token-file", required_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "sessions", required_argument, NULL, 's' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "rate", required_argument, NULL, 'R' },
		{ "parties", required_argument, NULL, 'P' },
		{ "members", required_argument, NULL, 'M' },
		{ "churn", required_argument, NULL, 'N' },
		{ "server-pid", required_argument, NULL, 'S' },
		{ "redis-pid", required_argument, NULL, OPT_REDIS_PID },
		{ "conns", required_argument, NULL, 'C' },
		{ "raw", no_argument, NULL, 'W' },
		{ "attackers", required_argument, NULL, 'a' },
		{ "passive", required_argument, NULL, 'p' },
		{ "bystanders", required_argument, NULL, 'b' },
		{ "bystander-cpu", required_argument, NULL, 'c' },
		{ "delay", required_argument, NULL, OPT_DELAY },
		{ "delay-up", required_argument, NULL, OPT_DELAY_UP },
		{ "delay-down", required_argument, NULL, OPT_DELAY_DOWN },
		{ "jitter", required_argument, NULL, OPT_JITTER },
		{ "jitter-dist", required_argument, NULL, OPT_DIST },
		{ "skew-ppm", required_argument, NULL, OPT_SKEW },
		{ "seed", required_argument, NULL, OPT_SEED },
		{ "rejoin", no_argument, NULL, OPT_REJOIN },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct common_opts c = { 0 };
	const char *urls[MAX_URLS];
	unsigned nurls = 0, npids = 0;
	struct srcaddr src = { 0 };
	struct limits lim = { 0 };
	unsigned parties = 100, members = 100, conns = 1000, sessions = 1000, inflight = 1;
	unsigned attackers = 150, passive = 50, bystanders = 10;
	int bystander_cpu = -1;
	double churn = 100, rate = 0;
	bool rate_given = false, raw = false, amplify_given = false, party_given = false;
	bool parties_given = false, members_given = false, sync_given = false;
	struct sync_opts so = { .skew_ppm = 50, .seed = 1 };
	double delay = 0, up = NAN, down = NAN;
	const char *scenario = NULL, *token = NULL, *token_file = NULL;
	int opt;

	c.url = getenv("REVENGE_URL") ? getenv("REVENGE_URL") : "ws://127.0.0.1:8080";
	c.duration_s = 10;
	c.connect_rate = 2000;
	opterr = 0;
	/* Options may come before or after the scenario name: GNU getopt
	 * moves the non-options to the end. */
	while ((opt = getopt_long(argc, argv, ":hV", global, NULL)) != -1) {
		switch (opt) {
		case 'u':
			if (strncmp(optarg, "ws://", 5) && strncmp(optarg, "wss://", 6))
				usage_error("--url: expected ws://HOST:PORT or wss://HOST:PORT, got '%s'",
					    optarg);
			/* "ws://", "ws://:8080" or "ws:///x": nothing to connect to */
			if (strchr(":/", optarg[optarg[2] == 's' ? 6 : 5]))
				usage_error("--url: no host in '%s' (expected ws://HOST:PORT)", optarg);
			if (nurls == MAX_URLS)
				usage_error("--url: at most %d servers", MAX_URLS);
			for (unsigned i = 0; i < nurls; i++)
				if (!strcmp(urls[i], optarg))
					usage_error("--url: '%s' given twice", optarg);
			urls[nurls++] = optarg;
			break;
		case 'd': c.duration_s = parse_duration("--duration", optarg); break;
		case 'r': c.connect_rate = (unsigned)parse_uint("--connect-rate", optarg, 1, 1000000); break;
		case 'A': parse_src(&src, optarg); break;
		case 'z':
			/* libwebsockets 4.1.6's client re-delivers an uncompressed
			 * message forever once it has inflated one; the server
			 * mixes both (under 256 bytes stays plain), so the run
			 * would measure that bug, not the server. */
			usage_error("--deflate: not available with this libwebsockets (4.1.6): its "
				    "client mishandles plain messages after compressed ones");
		case 'j': c.json = true; break;
		case 'T': token = optarg; break;
		case 'F': token_file = optarg; break;
		case 's': sessions = (unsigned)parse_uint("--sessions", optarg, 1, 100000); break;
		case 'i':
			inflight = (unsigned)parse_uint("--inflight", optarg, 1, PROGRESS_INFLIGHT_MAX);
			break;
		case 'R':
			rate = cli_double(PROG, "--rate", optarg, 0, 10000000);
			rate_given = true;
			break;
		case 'P':
			parties = (unsigned)parse_uint("--parties", optarg, 1, 10000);
			party_given = parties_given = true;
			break;
		case 'M':
			members = (unsigned)parse_uint("--members", optarg, 2, 10000);
			party_given = members_given = true;
			break;
		case 'a':
			attackers = (unsigned)parse_uint("--attackers", optarg, 1, 10000);
			amplify_given = true;
			break;
		case 'p':
			passive = (unsigned)parse_uint("--passive", optarg, 0, 10000);
			amplify_given = true;
			break;
		case 'b':
			bystanders = (unsigned)parse_uint("--bystanders", optarg, 1, 1000);
			amplify_given = true;
			break;
		case 'c': {
			long ncpu = sysconf(_SC_NPROCESSORS_CONF);
			unsigned long max = ncpu > 0 ? (unsigned long)ncpu - 1 : 0;

			bystander_cpu = (int)parse_uint("--bystander-cpu", optarg, 0,
							max < CPU_SETSIZE - 1 ? max : CPU_SETSIZE - 1);
			amplify_given = true;
			break;
		}
		case 'N':
			churn = cli_double(PROG, "--churn", optarg, 0, 10000);
			if (churn <= 0)
				usage_error("--churn: joins per second in all, more than 0 and at most "
					    "10000, got '%s'", optarg);
			break;
		case 'S':
			if (npids == MAX_URLS)
				usage_error("--server-pid: at most %d, one for each --url", MAX_URLS);
			c.node_pids[npids++] = (int)parse_uint("--server-pid", optarg, 1, 4194304);
			break;
		case OPT_REDIS_PID:
			c.redis_pid = (int)parse_uint("--redis-pid", optarg, 1, 4194304);
			break;
		case 'C': conns = (unsigned)parse_uint("--conns", optarg, 1, 100000); break;
		case 'W': raw = true; break;
		case OPT_DELAY:
			delay = cli_double(PROG, "--delay", optarg, 0, DELAY_MAX_MS);
			sync_given = true;
			break;
		case OPT_DELAY_UP:
			up = cli_double(PROG, "--delay-up", optarg, 0, DELAY_MAX_MS);
			sync_given = true;
			break;
		case OPT_DELAY_DOWN:
			down = cli_double(PROG, "--delay-down", optarg, 0, DELAY_MAX_MS);
			sync_given = true;
			break;
		case OPT_JITTER:
			so.jitter_ms = cli_double(PROG, "--jitter", optarg, 0, DELAY_MAX_MS);
			sync_given = true;
			break;
		case OPT_DIST:
			if (!strcmp(optarg, "uniform"))
				so.dist = DELAY_UNIFORM;
			else if (!strcmp(optarg, "normal"))
				so.dist = DELAY_NORMAL;
			else
				usage_error("--jitter-dist: expected uniform or normal, got '%s'", optarg);
			sync_given = true;
			break;
		case OPT_SKEW:
			so.skew_ppm = cli_double(PROG, "--skew-ppm", optarg, 0, 1000);
			sync_given = true;
			break;
		case OPT_SEED:
			so.seed = cli_uint(PROG, "--seed", optarg, 0, (unsigned long)-1);
			sync_given = true;
			break;
		case OPT_REJOIN:
			so.rejoin = true;
			sync_given = true;
			break;
		default:
			cli_common_opt(PROG, usage_text, opt, argv);
		}
	}
	c.token = cli_token(PROG, token, token_file, token_buf);
	if (optind < argc)
		scenario = argv[optind++];
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!scenario)
		usage_error("missing SCENARIO (amplify, chat, churn, connect, fanout, fill, progress, "
			    "sync)");
	if (nurls)
		c.url = urls[0];
	else
		urls[nurls++] = c.url;
	c.urls = urls;
	c.nurls = nurls;
	c.server_pid = c.node_pids[0];
	if (npids > nurls)
		usage_error("--server-pid given %u times for %u --url: one for each --url, in order",
			    npids, nurls);
	if (c.redis_pid && strcmp(scenario, "fanout") && strcmp(scenario, "chat") &&
	    strcmp(scenario, "churn"))
		usage_error("--redis-pid: only fanout, chat and churn read it");
	if (nurls > 1 && strcmp(scenario, "fanout") && strcmp(scenario, "fill") &&
	    strcmp(scenario, "chat") && strcmp(scenario, "churn") && strcmp(scenario, "sync"))
		usage_error("--url given %u times: only fanout, fill, chat, churn and sync spread a "
			    "party over several servers", nurls);
	for (unsigned i = 0; i < nurls; i++)
		if (src.n && strstr(urls[i], "://["))
			usage_error("--src: IPv4 source addresses cannot reach an IPv6 server (%s)",
				    urls[i]);
	if (raw && strcmp(scenario, "connect"))
		usage_error("--raw: only the connect scenario has it");
	if (amplify_given && strcmp(scenario, "amplify"))
		usage_error("--attackers, --passive, --bystanders, --bystander-cpu: only the amplify "
			    "scenario has them");
	if (party_given && !strcmp(scenario, "amplify"))
		usage_error("--parties, --members: amplify has one attack party of --attackers "
			    "and --passive members");
	if (sync_given && strcmp(scenario, "sync"))
		usage_error("--delay, --delay-up, --delay-down, --jitter, --jitter-dist, --skew-ppm, "
			    "--seed, --rejoin: only the sync scenario has them");
	if (raw && strncmp(c.url, "ws://", 5))
		usage_error("--raw: plain ws:// only, got '%s'", c.url);

	c.tty = isatty(2) && !c.json;
	c.src = &src;
	c.lim = &lim;
	if (!strcmp(scenario, "connect")) {
		struct connect_opts co = { .c = c, .conns = conns, .raw = raw };

		limits_probe(&lim, PROG, conns, src.n);
		return connect_run(&co);
	}
	if (!strcmp(scenario, "fanout")) {
		struct fanout_opts fo = { .c = c, .parties = parties, .members = members,
					  .rate = rate_given ? rate : 1 };

		if (fo.rate <= 0 || fo.rate > 1000)
			usage_error("--rate: syncs per second per host, more than 0 and at most 1000");
		limits_probe(&lim, PROG, (unsigned long)parties * members, src.n);
		return fanout_run(&fo);
	}
	if (!strcmp(scenario, "fill")) {
		struct fill_opts fo = { .c = c, .parties = parties_given ? parties : 10,
					.members = members_given ? members : 1000 };

		if (rate_given)
			usage_error("--rate: fill sends one sync per party, it has no rate");
		limits_probe(&lim, PROG, (unsigned long)fo.parties * fo.members, src.n);
		return fill_run(&fo);
	}
	if (!strcmp(scenario, "chat")) {
		struct chat_opts co = { .c = c, .parties = parties, .members = members,
					.rate = rate_given ? rate : 0.2 };

		if (co.rate <= 0 || co.rate > 1000)
			usage_error("--rate: chat messages per second per member, more than 0 and at "
				    "most 1000");
		limits_probe(&lim, PROG, (unsigned long)parties * members, src.n);
		return chat_run(&co);
	}
	if (!strcmp(scenario, "amplify")) {
		struct amplify_opts ao = { .c = c, .attackers = attackers, .passive = passive,
					   .rate = rate_given ? rate : 45, .bystanders = bystanders,
					   .bystander_cpu = bystander_cpu };

		if (ao.rate <= 0 || ao.rate > 1000)
			usage_error("--rate: chat messages per second per attacker, more than 0 and "
				    "at most 1000");
		if (attackers + passive < 2)
			usage_error("--attackers and --passive: the attack party needs 2 members or "
				    "more, got %u", attackers + passive);
		limits_probe(&lim, PROG, (unsigned long)attackers + passive + bystanders, src.n);
		return amplify_run(&ao);
	}
	if (!strcmp(scenario, "churn")) {
		struct churn_opts co = { .c = c, .parties = parties, .members = members,
					 .rate = rate_given ? rate : 1, .churn = churn };

		if (co.rate <= 0 || co.rate > 1000)
			usage_error("--rate: syncs per second per host, more than 0 and at most 1000");
		limits_probe(&lim, PROG, (unsigned long)parties * members + churn_pool_size(churn),
			     src.n);
		return churn_run(&co);
	}
	if (!strcmp(scenario, "sync")) {
		so.c = c;
		so.members = members_given ? members : 8;
		so.up_ms = isnan(up) ? delay : up;
		so.down_ms = isnan(down) ? delay : down;
		if (parties_given)
			usage_error("--parties: sync has one party of --members members");
		if (rate_given)
			usage_error("--rate: sync's host sends a command every %g s, not at a rate",
				    SYNC_CMD_EVERY_S);
		if (so.members > 1000)
			usage_error("--members: sync takes 2 to 1000 members, got %u", so.members);
		if (so.jitter_ms > fmin(so.up_ms, so.down_ms))
			usage_error("--jitter: %g ms is more than the smaller base delay (%g ms): a "
				    "delay cannot go below 0", so.jitter_ms, fmin(so.up_ms, so.down_ms));
		limits_probe(&lim, PROG, so.members, src.n);
		return sync_run(&so);
	}
	if (!strcmp(scenario, "progress")) {
		struct progress_opts po = { .c = c, .sessions = sessions, .inflight = inflight,
					    .rate = rate };

		limits_probe(&lim, PROG, sessions, src.n);
		return progress_run(&po);
	}
	usage_error("unknown scenario '%s' (expected amplify, chat, churn, connect, fanout, fill, "
		    "progress or sync)",
		    scenario);
}
