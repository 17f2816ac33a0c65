/* cmd/revenge-server/main.c - flags and configuration for revenge-server.
 *
 * Parses the command line into an rv_server_config, prints the listening
 * line on stdout once the server accepts connections, and hands over to
 * rv_server_run. Every bad flag is one line on stderr naming it, exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <revenge/revenge.h>

#include "cli.h"
#include "token_cmd.h"

#define PROG "revenge-server"
#define DEFAULT_DB "var/revenge.db"

static const char usage_text[] =
"Usage: " PROG " [OPTIONS]\n"
"       " PROG " token [OPTIONS]    (mint a connection token)\n"
"\n"
"Serve watch parties, playback progress and quality switching over WebSocket\n"
"(protocol revenge.v1): /ws/party/{id}, /ws/progress/{id}, /ws/stream/{id},\n"
"with /healthz and /metrics over plain HTTP.\n"
"\n"
"Options:\n"
"  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080;\n"
"                         port 0 picks a free port; [::1]:PORT for IPv6)\n"
"  --port-file FILE       once listening, write the URL clients use (with the\n"
"                         port picked for port 0) and a newline to FILE,\n"
"                         atomically; removed again at a clean exit\n"
"  --db PATH|URL          the store: progress reports and each session's\n"
"                         quality profile. A PATH is a SQLite file (WAL;\n"
"                         default ./var/revenge.db, ./var is created when the\n"
"                         default is used); a postgres:// or postgresql:// URL\n"
"                         (libpq's) is a PostgreSQL database that several\n"
"                         servers share. While PostgreSQL is away, reports are\n"
"                         refused (store_unavailable) and it reconnects\n"
"  --fsync                SQLite: sync every commit to disk (synchronous=FULL):\n"
"                         acked reports survive power loss, not only a crash\n"
"                         (PostgreSQL commits are as durable as its own\n"
"                         settings: synchronous_commit, fsync)\n"
"  --session-ttl SECS     the store forgets a session with no report and no\n"
"                         profile change for SECS seconds (default 2592000,\n"
"                         30 days; 0 = never; at most 315360000)\n"
"  --max-stored-per-owner N  sessions kept in the store per token subject (on\n"
"                         an open server: in all); beyond, those seen longest\n"
"                         ago are forgotten (default 10000; 0 = unlimited; at\n"
"                         most 10000000)\n"
"  --redis URL            cluster mode: share parties with the other nodes\n"
"                         on this Redis (redis://[[USER]:PASSWORD@]HOST[:PORT]\n"
"                         [/DB], rediss://... the same over TLS, or\n"
"                         unix://[[USER]:PASSWORD@]/PATH[?db=N]). While Redis\n"
"                         is away parties go on with this node's members and\n"
"                         /healthz says \"degraded\"\n"
"  --redis-ca FILE        PEM CA certificates that a rediss:// Redis's\n"
"                         certificate must chain to (default: the system's);\n"
"                         its name must match the URL's host either way\n"
"  --redis-cert FILE      PEM client certificate for a rediss:// Redis that\n"
"                         asks for one (tls-auth-clients; needs --redis-key)\n"
"  --redis-key FILE       PEM private key for --redis-cert\n"
"  --ladder SPEC          quality profiles as NAME:KBPS,... (default\n"
"                         2160p:16000,1080p:8000,720p:4000,480p:1500,360p:800)\n"
"  --origin PATTERN       allow browser Origins matching PATTERN, e.g.\n"
"                         'example.com', '*.example.com:*', 'https://app.test';\n"
"                         repeatable (default localhost:*, 127.0.0.1:* and\n"
"                         [::1]:*); requests without an Origin are allowed\n"
"  --allowed-host PATTERN /healthz and /metrics also answer a Host header\n"
"                         naming PATTERN, e.g. 'media.example', '*.lan';\n"
"                         repeatable; IP addresses, localhost, *.localhost\n"
"                         and the --listen host always pass, other names\n"
"                         get 421 (DNS rebinding); '*' allows any\n"
"  --max-message BYTES    largest message accepted, after decompression\n"
"                         (default 65536; 256 to 16777216)\n"
"  --history N            chat messages kept per party and replayed to\n"
"                         joiners (default 50; 0 to 10000)\n"
"  --ping-interval SECS   ping idle peers every SECS seconds and close those\n"
"                         silent for two intervals (default 30; 0 disables;\n"
"                         at most 3600)\n"
"  --rate-limit N         messages per second per connection, bursts of 2N;\n"
"                         beyond: error rate_limited, 50 of those: close 1008\n"
"                         (default 50; 0 disables; at most 1000000)\n"
"  --party-chat-rate N    chat messages and reactions per second per party,\n"
"                         all its members together, bursts of 2N; beyond:\n"
"                         error rate_limited to the sender, who is not closed\n"
"                         for it (default 50; 0 disables; at most 1000000)\n"
"  --queue-max N          frames queued for a slow client before it is\n"
"                         closed with 1013 (default 1024; 8 to 1048576)\n"
"  --max-parties N        live parties; a handshake that would make one more\n"
"                         is refused with 503 (default 10000; 0 = unlimited;\n"
"                         at most 10000000)\n"
"  --max-members N        members of one party; a joiner of a full party is\n"
"                         refused with 503 (default 5000; 0 = unlimited; at\n"
"                         most 10000000)\n"
"  --max-sessions N       live progress and stream sessions together; a\n"
"                         handshake that would make one more is refused with\n"
"                         503 (default 50000; 0 = unlimited; at most 10000000)\n"
"  --max-sessions-per-owner N  live sessions made by one token subject, or on\n"
"                         an open server by one client address; beyond: 503\n"
"                         (default 100; 0 = unlimited; at most 10000000)\n"
"  --max-conns-per-ip N   open connections from one client address, counted\n"
"                         as they are accepted; beyond: 503 and closed\n"
"                         (default 256; 0 = unlimited; at most 1000000)\n"
"  --handshake-rate-per-ip N  WebSocket handshakes per second from one client\n"
"                         address, bursts of 10N; beyond: 429 with\n"
"                         Retry-After (default 50; 0 disables; at most\n"
"                         1000000)\n"
"  --party-join-rate N    joins per second into one party, all joiners\n"
"                         together, bursts of 10N; beyond: 429 with\n"
"                         Retry-After (default 20; 0 disables; at most\n"
"                         1000000)\n"
"  --handshake-timeout SECS  time a client has for its TLS handshake and its\n"
"                         HTTP request or upgrade (a slowloris is dropped\n"
"                         after it), and for the close handshake (default 5;\n"
"                         1 to 300)\n"
"  --message-timeout SECS  time a client has to finish a frame or a message\n"
"                         it has begun; beyond: close 1008 (default 10;\n"
"                         0 disables; at most 3600)\n"
"  --partial-budget BYTES  memory all unfinished messages may hold together;\n"
"                         beyond: the clients that began theirs first are\n"
"                         closed with 1013 (default 67108864; 0 = unlimited;\n"
"                         at most 17179869184)\n"
"  --frame-rate N         frames per second per connection, every kind\n"
"                         counted (pings, pongs, empty continuations),\n"
"                         bursts of 2N; beyond: close 1008 (default 1000;\n"
"                         0 disables, as load generators with --rate-limit 0\n"
"                         need; at most 1000000)\n"
"  --lead-min MS          the least lead of a host's command: a sync takes\n"
"                         effect for every member, the host included, lead\n"
"                         ms after the server stamps it, lead = 2 x the\n"
"                         highest member round trip of the last 30-40 s\n"
"                         within [--lead-min, --lead-max] (default 100; 0 to\n"
"                         60000; at most --lead-max)\n"
"  --lead-max MS          the most lead (default 1000; 0 to 60000; 0 = none:\n"
"                         a sync takes effect when stamped, as in v1)\n"
"  --ready-timeout MS     longest a watch party holds a resume for members\n"
"                         still loading (buffering) while paused; then they\n"
"                         are dropped from the wait and the party plays\n"
"                         (default 8000; 100 to 600000)\n"
"  --rebuffer-timeout MS  the same for a member that stalls mid-play, which\n"
"                         pauses the party (default 3000; 100 to 600000)\n"
"  --presence-batch-above N  above N members a party sends joins and leaves\n"
"                         as batched presence diffs and a welcome lists at\n"
"                         most 64 members (the host first) with the count;\n"
"                         at or below N: member_joined/member_left as each\n"
"                         happens (default 64; 0 = never batch; at most\n"
"                         10000000)\n"
"  --presence-interval MS  a large party's presence diff goes out at most\n"
"                         every MS milliseconds (default 250; 0 = at the\n"
"                         next loop turn; at most 60000)\n"
"  --drift-interval MS    send each party's host a drift report (members'\n"
"                         drift from the party clock, from their status\n"
"                         messages) at most every MS ms, when it changed\n"
"                         (default 1000; 0 = none; else 100 to 3600000)\n"
"  --auth-secret-file FILE  require connection tokens (JWT) signed HS256 with\n"
"                         this secret (the file's raw bytes, one trailing\n"
"                         newline ignored; 32 bytes or more)\n"
"  --auth-public-key FILE require tokens signed RS256 or ES256 (P-256) by the\n"
"                         holder of this PEM public key's private key\n"
"  --auth-leeway SECS     clock slack on a token's exp and nbf (default 30;\n"
"                         0 to 300)\n"
"  --insecure-open        with no token key, listen on a host other than\n"
"                         loopback anyway (otherwise refused: anyone who can\n"
"                         reach it could join any party and use any session)\n"
"  --tls-cert FILE        PEM certificate: serve wss:// (needs --tls-key)\n"
"  --tls-key FILE         PEM private key for --tls-cert\n"
"  --log-level LEVEL      error, warn, info or debug (default info)\n"
"  --log-format FORMAT    text or json (default text)\n"
"  -h, --help             show this help and exit\n"
"  -V, --version          show the version and exit\n"
"\n"
"Without --auth-secret-file or --auth-public-key the server is open (it says\n"
"so at start): fine on loopback, refused elsewhere unless --insecure-open.\n"
"'" PROG " token --help' mints tokens for a shared secret.\n"
"\n"
"Open files (ulimit -n) set a ceiling on connections: 16 descriptors stay\n"
"free for the store, logs and TLS, and a sixteenth of the rest (2 to 64) is\n"
"kept from WebSocket clients so /healthz and /metrics always answer. Past\n"
"the ceiling a client gets 503 with Retry-After and accepting pauses for\n"
"0.1 s; refusals are logged once a second (connections_refused).\n"
"\n"
"Once it accepts connections it prints 'revenge-server: listening on URL' on\n"
"stdout. SIGTERM or SIGINT drains: new connections are refused, /healthz\n"
"answers 503, every client is closed with 1001, and it exits 0 within 5 s.\n"
"SIGHUP reloads --tls-cert and --tls-key (open connections keep theirs; a\n"
"file that fails to load keeps the old pair and logs tls_reload_failed).\n"
"\n"
"Exit status: 0 after a drain, 1 when it cannot start (address in use, TLS\n"
"files, a missing, unwritable or corrupt store, another application's SQLite\n"
"database as --db (refused, never written), a --redis host that does not\n"
"resolve, a --redis-ca, --redis-cert or --redis-key that is not PEM or a key\n"
"that is not the certificate's), 2 on a usage error.\n";

enum {
	OPT_LISTEN = 256, OPT_PORT_FILE, OPT_DB, OPT_ORIGIN, OPT_MAX_MESSAGE, OPT_HISTORY,
	OPT_PING, OPT_RATE, OPT_QUEUE, OPT_CERT, OPT_KEY, OPT_LOG_LEVEL, OPT_LOG_FORMAT,
	OPT_FSYNC, OPT_LADDER, OPT_AUTH_SECRET, OPT_AUTH_PUBLIC, OPT_AUTH_LEEWAY,
	OPT_INSECURE_OPEN, OPT_MAX_PARTIES, OPT_MAX_MEMBERS, OPT_MAX_SESSIONS,
	OPT_MAX_PER_OWNER, OPT_MAX_PER_IP, OPT_HANDSHAKE_TIMEOUT, OPT_PARTY_CHAT_RATE,
	OPT_SESSION_TTL, OPT_MAX_STORED, OPT_HANDSHAKE_RATE, OPT_PARTY_JOIN_RATE,
	OPT_ALLOWED_HOST,
	OPT_MESSAGE_TIMEOUT, OPT_PARTIAL_BUDGET, OPT_FRAME_RATE,
	OPT_LEAD_MIN, OPT_LEAD_MAX,
	OPT_READY_TIMEOUT, OPT_REBUFFER_TIMEOUT,      /* H2 barrier */
	/* H4 presence */
	OPT_PRESENCE_BATCH_ABOVE, OPT_PRESENCE_INTERVAL,
	/* H3 drift */
	OPT_DRIFT_INTERVAL,
	OPT_REDIS, OPT_REDIS_CA, OPT_REDIS_CERT, OPT_REDIS_KEY, /* i14 cluster */
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "db", required_argument, NULL, OPT_DB },
	{ "fsync", no_argument, NULL, OPT_FSYNC },
	{ "session-ttl", required_argument, NULL, OPT_SESSION_TTL },
	{ "max-stored-per-owner", required_argument, NULL, OPT_MAX_STORED },
	{ "ladder", required_argument, NULL, OPT_LADDER },
	{ "origin", required_argument, NULL, OPT_ORIGIN },
	{ "allowed-host", required_argument, NULL, OPT_ALLOWED_HOST },
	{ "max-message", required_argument, NULL, OPT_MAX_MESSAGE },
	{ "history", required_argument, NULL, OPT_HISTORY },
	{ "ping-interval", required_argument, NULL, OPT_PING },
	{ "rate-limit", required_argument, NULL, OPT_RATE },
	{ "party-chat-rate", required_argument, NULL, OPT_PARTY_CHAT_RATE },
	{ "queue-max", required_argument, NULL, OPT_QUEUE },
	{ "max-parties", required_argument, NULL, OPT_MAX_PARTIES },
	{ "max-members", required_argument, NULL, OPT_MAX_MEMBERS },
	{ "max-sessions", required_argument, NULL, OPT_MAX_SESSIONS },
	{ "max-sessions-per-owner", required_argument, NULL, OPT_MAX_PER_OWNER },
	{ "max-conns-per-ip", required_argument, NULL, OPT_MAX_PER_IP },
	{ "handshake-rate-per-ip", required_argument, NULL, OPT_HANDSHAKE_RATE },
	{ "party-join-rate", required_argument, NULL, OPT_PARTY_JOIN_RATE },
	{ "handshake-timeout", required_argument, NULL, OPT_HANDSHAKE_TIMEOUT },
	{ "message-timeout", required_argument, NULL, OPT_MESSAGE_TIMEOUT },
	{ "partial-budget", required_argument, NULL, OPT_PARTIAL_BUDGET },
	{ "frame-rate", required_argument, NULL, OPT_FRAME_RATE },
	{ "lead-min", required_argument, NULL, OPT_LEAD_MIN },
	{ "lead-max", required_argument, NULL, OPT_LEAD_MAX },
	{ "ready-timeout", required_argument, NULL, OPT_READY_TIMEOUT },
	{ "rebuffer-timeout", required_argument, NULL, OPT_REBUFFER_TIMEOUT },
	{ "presence-batch-above", required_argument, NULL, OPT_PRESENCE_BATCH_ABOVE },
	{ "presence-interval", required_argument, NULL, OPT_PRESENCE_INTERVAL },
	{ "drift-interval", required_argument, NULL, OPT_DRIFT_INTERVAL },
	{ "redis", required_argument, NULL, OPT_REDIS },
	{ "redis-ca", required_argument, NULL, OPT_REDIS_CA },
	{ "redis-cert", required_argument, NULL, OPT_REDIS_CERT },
	{ "redis-key", required_argument, NULL, OPT_REDIS_KEY },
	{ "auth-secret-file", required_argument, NULL, OPT_AUTH_SECRET },
	{ "auth-public-key", required_argument, NULL, OPT_AUTH_PUBLIC },
	{ "auth-leeway", required_argument, NULL, OPT_AUTH_LEEWAY },
	{ "insecure-open", no_argument, NULL, OPT_INSECURE_OPEN },
	{ "tls-cert", required_argument, NULL, OPT_CERT },
	{ "tls-key", required_argument, NULL, OPT_KEY },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)
#define parse_uint(flag, s, lo, hi) cli_uint(PROG, flag, s, lo, hi)

/* HOST:PORT, [V6]:PORT; the host part may not be empty. */
static void parse_listen(const char *arg, struct rv_server_config *cfg, char *host, size_t hostlen)
{
	const char *colon, *h = arg;
	size_t hl;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			usage_error("--listen: expected [IPV6]:PORT, got '%s'", arg);
		h = arg + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon || strchr(arg, ':') != colon)
			usage_error("--listen: expected HOST:PORT, got '%s'", arg);
		hl = (size_t)(colon - arg);
	}
	if (hl == 0 || hl >= hostlen)
		usage_error("--listen: missing or overlong host in '%s'", arg);
	memcpy(host, h, hl);
	host[hl] = 0;
	cfg->host = host;
	cfg->port = (int)parse_uint("--listen", colon + 1, 0, 65535);
}

/* The URL, written whole or not at all (a temporary file renamed over
 * FILE): a script that waits for FILE never reads half of it. */
static int write_port_file(const char *path, const char *url)
{
	char tmp[4200];
	FILE *f;
	int ok;

	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof(tmp))
		return -1;
	if (!(f = fopen(tmp, "w")))
		return -1;
	ok = fprintf(f, "%s\n", url) > 0;
	ok = !fclose(f) && ok;
	if (!ok || rename(tmp, path)) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

struct port_file {
	const char *path;             /* --port-file, NULL: none */
	bool written;                 /* ours to remove at exit */
};

static void print_listening(const char *url, void *user)
{
	struct port_file *pf = user;

	printf(PROG ": listening on %s\n", url);
	fflush(stdout);
	if (!pf->path)
		return;
	if (write_port_file(pf->path, url))
		/* the server runs; only the script's way to find it failed */
		fprintf(stderr, PROG ": --port-file: cannot write '%s': %s\n", pf->path,
			strerror(errno));
	else
		pf->written = true;
}

static void check_readable(const char *flag, const char *path)
{
	if (access(path, R_OK))
		usage_error("%s: cannot read '%s': %s", flag, path, strerror(errno));
}

/* Every connection is a file descriptor: take the hard limit. libwebsockets
 * sizes its table from the limit when the server starts, so this comes
 * first; the limit in force is logged with the listening line. */
static rlim_t raise_open_files(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl))
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur;
}

int main(int argc, char **argv)
{
	static char host[256];
	struct rv_server_config cfg;
	struct port_file port_file = { 0 };
	struct rv_log log = { .level = RV_LOG_INFO, .prog = PROG };
	bool db_given = false;
	const char *secret_file = NULL, *public_file = NULL;
	struct rv_token_key *key = NULL;
	char why[300];
	rlim_t open_files;
	int opt, err;

	if (argc > 1 && !strcmp(argv[1], "token"))
		return token_main(argc - 1, argv + 1);
	rv_server_config_defaults(&cfg);
	cfg.db_path = DEFAULT_DB;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		switch (opt) {
		case OPT_LISTEN:
			parse_listen(optarg, &cfg, host, sizeof(host));
			break;
		case OPT_PORT_FILE:
			if (!*optarg)
				usage_error("--port-file: empty path");
			port_file.path = optarg;
			break;
		case OPT_DB:
			if (!*optarg)
				usage_error("--db: empty path");
			cfg.db_path = optarg;
			db_given = true;
			break;
		case OPT_FSYNC:
			cfg.fsync = true;
			break;
		case OPT_SESSION_TTL:
			cfg.session_ttl_s = (unsigned)parse_uint("--session-ttl", optarg, 0, 315360000);
			break;
		case OPT_MAX_STORED:
			cfg.max_stored_per_owner =
				(unsigned)parse_uint("--max-stored-per-owner", optarg, 0, 10000000);
			break;
		case OPT_LADDER:
			if (rv_ladder_parse(optarg, &cfg.ladder, why, sizeof(why)))
				usage_error("--ladder: %s", why);
			break;
		case OPT_ORIGIN:
			if (!*optarg || strlen(optarg) > 255)
				usage_error("--origin: expected a pattern of 1-255 characters");
			if (cfg.n_origins == RV_SERVER_MAX_ORIGINS)
				usage_error("--origin: at most %d patterns", RV_SERVER_MAX_ORIGINS);
			cfg.origins[cfg.n_origins++] = optarg;
			break;
		case OPT_ALLOWED_HOST:
			/* a host name or a wildcard over one: no port, no brackets */
			if (!*optarg || strlen(optarg) > 255 ||
			    optarg[strspn(optarg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
					  "0123456789-.*?")])
				usage_error("--allowed-host: expected 1-255 characters of letters, "
					    "digits, '-', '.', '*' and '?'");
			if (cfg.n_allowed_hosts == RV_SERVER_MAX_ORIGINS)
				usage_error("--allowed-host: at most %d patterns", RV_SERVER_MAX_ORIGINS);
			cfg.allowed_hosts[cfg.n_allowed_hosts++] = optarg;
			break;
		case OPT_MAX_MESSAGE:
			cfg.max_message = parse_uint("--max-message", optarg, 256, 16777216);
			break;
		case OPT_HISTORY:
			cfg.history = (unsigned)parse_uint("--history", optarg, 0, 10000);
			break;
		case OPT_PING:
			cfg.ping_interval = (unsigned)parse_uint("--ping-interval", optarg, 0, 3600);
			break;
		case OPT_RATE:
			cfg.rate_limit = (unsigned)parse_uint("--rate-limit", optarg, 0, 1000000);
			break;
		case OPT_PARTY_CHAT_RATE:
			cfg.party_chat_rate =
				(unsigned)parse_uint("--party-chat-rate", optarg, 0, 1000000);
			break;
		case OPT_QUEUE:
			cfg.queue_max = parse_uint("--queue-max", optarg, 8, 1048576);
			break;
		case OPT_MAX_PARTIES:
			cfg.max_parties = (unsigned)parse_uint("--max-parties", optarg, 0, 10000000);
			break;
		case OPT_MAX_MEMBERS:
			cfg.max_members = (unsigned)parse_uint("--max-members", optarg, 0, 10000000);
			break;
		case OPT_MAX_SESSIONS:
			cfg.max_sessions = (unsigned)parse_uint("--max-sessions", optarg, 0, 10000000);
			break;
		case OPT_MAX_PER_OWNER:
			cfg.max_sessions_per_owner =
				(unsigned)parse_uint("--max-sessions-per-owner", optarg, 0, 10000000);
			break;
		case OPT_MAX_PER_IP:
			cfg.max_conns_per_ip =
				(unsigned)parse_uint("--max-conns-per-ip", optarg, 0, 1000000);
			break;
		case OPT_HANDSHAKE_RATE:
			cfg.handshake_rate_per_ip =
				(unsigned)parse_uint("--handshake-rate-per-ip", optarg, 0, 1000000);
			break;
		case OPT_PARTY_JOIN_RATE:
			cfg.party_join_rate =
				(unsigned)parse_uint("--party-join-rate", optarg, 0, 1000000);
			break;
		case OPT_READY_TIMEOUT:
			cfg.ready_timeout_ms = (double)parse_uint("--ready-timeout", optarg,
								  100, 600000);
			break;
		case OPT_REBUFFER_TIMEOUT:
			cfg.rebuffer_timeout_ms = (double)parse_uint("--rebuffer-timeout", optarg,
								     100, 600000);
			break;
		case OPT_HANDSHAKE_TIMEOUT:
			cfg.handshake_timeout =
				(unsigned)parse_uint("--handshake-timeout", optarg, 1, 300);
			break;
		case OPT_MESSAGE_TIMEOUT:
			cfg.message_timeout =
				(unsigned)parse_uint("--message-timeout", optarg, 0, 3600);
			break;
		case OPT_PARTIAL_BUDGET:
			cfg.partial_budget =
				parse_uint("--partial-budget", optarg, 0, 17179869184UL);
			break;
		case OPT_FRAME_RATE:
			cfg.frame_rate = (unsigned)parse_uint("--frame-rate", optarg, 0, 1000000);
			break;
		case OPT_LEAD_MIN:
			cfg.lead_min_ms = (double)parse_uint("--lead-min", optarg, 0, 60000);
			break;
		case OPT_LEAD_MAX:
			cfg.lead_max_ms = (double)parse_uint("--lead-max", optarg, 0, 60000);
			break;
		case OPT_PRESENCE_BATCH_ABOVE:
			cfg.presence_batch_above =
				(unsigned)parse_uint("--presence-batch-above", optarg, 0, 10000000);
			break;
		case OPT_PRESENCE_INTERVAL:
			cfg.presence_interval_ms =
				(double)parse_uint("--presence-interval", optarg, 0, 60000);
			break;
		case OPT_REDIS:
			if (rv_server_check_redis_url(optarg, why, sizeof(why)))
				usage_error("--redis: %s", why);
			cfg.redis_url = optarg;
			break;
		case OPT_REDIS_CA:
			check_readable("--redis-ca", optarg);
			cfg.redis_ca = optarg;
			break;
		case OPT_REDIS_CERT:
			check_readable("--redis-cert", optarg);
			cfg.redis_cert = optarg;
			break;
		case OPT_REDIS_KEY:
			check_readable("--redis-key", optarg);
			cfg.redis_key = optarg;
			break;
		case OPT_DRIFT_INTERVAL:
			cfg.drift_interval_ms =
				(unsigned)parse_uint("--drift-interval", optarg, 0, 3600000);
			/* a host flooded with reports is what the interval prevents */
			if (cfg.drift_interval_ms && cfg.drift_interval_ms < 100)
				usage_error("--drift-interval: expected 0 (no reports) or 100 to "
					    "3600000 ms, got '%s'", optarg);
			break;
		case OPT_AUTH_SECRET:
			secret_file = optarg;
			break;
		case OPT_AUTH_PUBLIC:
			public_file = optarg;
			break;
		case OPT_AUTH_LEEWAY:
			cfg.auth_leeway_s = (double)parse_uint("--auth-leeway", optarg, 0, 300);
			break;
		case OPT_INSECURE_OPEN:
			cfg.insecure_open = true;
			break;
		case OPT_CERT:
			check_readable("--tls-cert", optarg);
			cfg.tls_cert = optarg;
			break;
		case OPT_KEY:
			check_readable("--tls-key", optarg);
			cfg.tls_key = optarg;
			break;
		case OPT_LOG_LEVEL:
			if (rv_log_level_parse(optarg, &log.level))
				usage_error("--log-level: expected error, warn, info or debug, got '%s'", optarg);
			break;
		case OPT_LOG_FORMAT:
			if (!strcmp(optarg, "json"))
				log.json = true;
			else if (strcmp(optarg, "text"))
				usage_error("--log-format: expected text or json, got '%s'", optarg);
			break;
		default:
			cli_common_opt(PROG, usage_text, opt, argv);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg.lead_max_ms > 0 && cfg.lead_min_ms > cfg.lead_max_ms)
		usage_error("--lead-min: %g is above --lead-max %g", cfg.lead_min_ms,
			    cfg.lead_max_ms);
	if ((cfg.redis_ca || cfg.redis_cert || cfg.redis_key) &&
	    (!cfg.redis_url || strncmp(cfg.redis_url, "rediss://", 9)))
		usage_error("%s: only a rediss:// --redis URL speaks TLS",
			    cfg.redis_ca ? "--redis-ca" : cfg.redis_cert ? "--redis-cert" : "--redis-key");
	if (!cfg.redis_cert != !cfg.redis_key)
		usage_error("%s: a client certificate needs both --redis-cert and --redis-key",
			    cfg.redis_cert ? "--redis-cert" : "--redis-key");
	if (!cfg.tls_cert != !cfg.tls_key)
		usage_error("%s: TLS needs both --tls-cert and --tls-key",
			    cfg.tls_cert ? "--tls-cert" : "--tls-key");

	if (secret_file && public_file)
		usage_error("--auth-secret-file and --auth-public-key: give one key, not both");
	if (secret_file && rv_token_key_load_secret_file(secret_file, &key, why, sizeof(why)))
		usage_error("--auth-secret-file: %s", why);
	if (public_file && rv_token_key_load_public_file(public_file, &key, why, sizeof(why)))
		usage_error("--auth-public-key: %s", why);
	cfg.auth_key = key;

	/* The default store lives in ./var, made on first use; a --db path
	 * is taken as given, so a typo in its directory is an error. */
	if (!db_given && mkdir("var", 0755) && errno != EEXIST) {
		fprintf(stderr, PROG ": cannot create ./var for the store: %s\n", strerror(errno));
		rv_token_key_free(key);
		return 1;
	}
	cfg.log = &log;
	cfg.on_listening = print_listening;
	cfg.user = &port_file;
	open_files = raise_open_files();
	if (open_files != RLIM_INFINITY && open_files < 4096)
		rv_log(&log, RV_LOG_WARN, "open_files_limit",
		       "open files are limited to %llu (ulimit -n): connections past "
		       "the ceiling it sets are refused with 503",
		       (unsigned long long)open_files);
	else
		rv_log(&log, RV_LOG_DEBUG, "open_files_limit", "%llu",
		       (unsigned long long)open_files);
	err = rv_server_run(&cfg);
	rv_token_key_free(key);
	if (port_file.written)
		unlink(port_file.path);
	/* why it could not start is logged already (start_failed), once */
	return err ? 1 : 0;
}
