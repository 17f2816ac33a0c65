/* cmd/revenge-server/main.c - flags and configuration for revenge-server.
 *
 * Parses the command line into an rv_server_config, prints the listening
 * line on stdout once the server accepts connections, and hands over to
 * rv_server_run. Every bad flag is one line on stderr naming it, exit 2.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <revenge/revenge.h>

#include "admin_cmd.h"
#include "cli.h"
#include "config.h"
#include "backup_cmd.h"
#include "migrate_cmd.h"
#include "token_cmd.h"

#define PROG "revenge-server"

static const char usage_text[] =
"Usage: " PROG " [OPTIONS]\n"
"       " PROG " token [OPTIONS]    (mint a connection token)\n"
"       " PROG " migrate [OPTIONS]  (copy a SQLite store into PostgreSQL)\n"
"       " PROG " backup [OPTIONS] FILE  (copy the SQLite store, online)\n"
"       " PROG " admin [OPTIONS] URL list|show|close|remove ...  (the admin API)\n"
"\n"
"Serve watch parties, playback progress and quality switching over WebSocket\n"
"(protocol revenge.v1): /ws/party/{id}, /ws/progress/{id}, /ws/stream/{id},\n"
"with /healthz and /metrics beside them over HTTP (HTTPS with --tls-cert).\n"
"\n"
"Options:\n"
"  --listen HOST:PORT     address to listen on (default 127.0.0.1:8080;\n"
"                         port 0 picks a free port; [::1]:PORT for IPv6)\n"
"  --metrics-listen HOST:PORT  serve /metrics, /healthz and the admin API\n"
"                         (docs/admin.md) on this second, plain-HTTP address,\n"
"                         meant to stay private (loopback, an internal\n"
"                         network); the main address then keeps /healthz but\n"
"                         no longer serves /metrics. Without it there is no\n"
"                         admin API. Port 0 picks a free port\n"
"  --port-file FILE       once listening, write the URL clients use (with the\n"
"                         port picked for port 0) and a newline to FILE,\n"
"                         atomically; removed again at a clean exit\n"
"  --db PATH|URL          the store: progress reports and each session's\n"
"                         quality profile. A PATH is a SQLite file (WAL;\n"
"                         default $STATE_DIRECTORY/revenge.db under systemd's\n"
"                         StateDirectory=, else ./var/revenge.db, ./var is\n"
"                         created when that default is used); a postgres:// or\n"
"                         postgresql:// URL\n"
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
"  --party-retention DURATION  keep watch parties across restarts: each party's\n"
"                         host, playback state and chat history go to the\n"
"                         store as they change (at most 1 s behind) and come\n"
"                         back on its first join; a party with no members is\n"
"                         kept this long (90s, 30m, 12h, 7d; at most 30d),\n"
"                         and a member who left may resume its name and host\n"
"                         role with its welcome's resume_token within it\n"
"                         (default 1h; 0 = off; with --redis only\n"
"                         when given: see docs/deployment.md)\n"
"  --redis URL[,URL...]  cluster mode: share parties with the other nodes\n"
"                         on this Redis (redis://[[USER]:PASSWORD@]HOST[:PORT]\n"
"                         [/DB], rediss://... the same over TLS, or\n"
"                         unix://[[USER]:PASSWORD@]/PATH[?db=N]). While Redis\n"
"                         is away parties go on with this node's members and\n"
"                         /healthz says \"degraded\". A comma-separated list\n"
"                         (at most 16 distinct servers, the same list in the\n"
"                         same order on every node; a comma in a password is\n"
"                         %2C) shards parties by a hash of their id: each\n"
"                         party lives on one Redis. Not Redis Cluster\n"
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
"  --trusted-proxy CIDR   a reverse proxy's address or range (127.0.0.1/32,\n"
"                         10.0.0.0/8, ::1): a connection from it is the\n"
"                         client its X-Forwarded-For (the rightmost address\n"
"                         not itself trusted) or X-Real-IP names, for the\n"
"                         per-address limits and the logs; repeatable\n"
"                         (default none: those headers are ignored)\n"
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
"  --web-root DIR         serve the web client (GET /, /party/ID, /web/FILE)\n"
"                         from DIR (index.html and its files) instead of\n"
"                         the copy built in; files up to 32 MiB\n"
"  --no-web               do not serve the web client (those paths: 404)\n"
"  --log-level LEVEL      error, warn, info or debug (default info)\n"
"  --log-format FORMAT    text or json (default text)\n"
"  --config FILE          read settings from FILE (INI: every flag above is a\n"
"                         key, e.g. 'history = 100'; flags given here override\n"
"                         it). Without it, " SRV_CONFIG_DEFAULT "\n"
"                         is read if it exists\n"
"  --check-config         check the configuration file and flags, print the\n"
"                         settings in effect (passwords masked) and exit: 0\n"
"                         valid, 1 not\n"
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
"SIGHUP reads the configuration file and flags again: limits, origins,\n"
"allowed hosts, the log level and format, and the settings of parties made\n"
"from then on change at once (config_changed); the rest is logged as needing\n"
"a restart (config_restart_needed); a file that is not valid is logged\n"
"(config_reload_failed) and the running settings kept. Then it reloads\n"
"--tls-cert and --tls-key (open connections keep theirs; a pair that fails\n"
"to load keeps the old one and logs tls_reload_failed). Under systemd\n"
"($NOTIFY_SOCKET) it reports READY=1 once listening, RELOADING=1 and\n"
"READY=1 around a reload, STOPPING=1 when it drains (Type=notify).\n"
"\n"
"Exit status: 0 after a drain, 1 when it cannot start (address in use, TLS\n"
"files, a missing, unwritable or corrupt store, another application's SQLite\n"
"database as --db (refused, never written), a --redis host that does not\n"
"resolve, a --redis-ca, --redis-cert or --redis-key that is not PEM or a key\n"
"that is not the certificate's), 2 on a usage error (a flag, or a key of the\n"
"configuration file, which the message names as FILE:LINE).\n";

/* Every option of the server, by id. The flag --NAME and the configuration
 * file's key NAME are the same entry of long_opts below: the command line
 * and the file are read through that one table and one function (apply),
 * so no flag can lack a key or mean something else in the file. show()
 * switches over this enum without a default, so the compiler (-Wswitch,
 * -Werror) refuses an option that --check-config cannot print. */
enum opt_id {
	OPT_LISTEN = 256, OPT_METRICS_LISTEN, OPT_PORT_FILE, OPT_DB, OPT_ORIGIN, OPT_MAX_MESSAGE, OPT_HISTORY,
	OPT_PING, OPT_RATE, OPT_QUEUE, OPT_CERT, OPT_KEY, OPT_LOG_LEVEL, OPT_LOG_FORMAT,
	OPT_FSYNC, OPT_LADDER, OPT_AUTH_SECRET, OPT_AUTH_PUBLIC, OPT_AUTH_LEEWAY,
	OPT_INSECURE_OPEN, OPT_MAX_PARTIES, OPT_MAX_MEMBERS, OPT_MAX_SESSIONS,
	OPT_MAX_PER_OWNER, OPT_MAX_PER_IP, OPT_HANDSHAKE_TIMEOUT, OPT_PARTY_CHAT_RATE,
	OPT_SESSION_TTL, OPT_MAX_STORED, OPT_HANDSHAKE_RATE, OPT_PARTY_JOIN_RATE,
	OPT_ALLOWED_HOST, OPT_TRUSTED_PROXY, OPT_PARTY_RETENTION,
	OPT_MESSAGE_TIMEOUT, OPT_PARTIAL_BUDGET, OPT_FRAME_RATE,
	OPT_LEAD_MIN, OPT_LEAD_MAX,
	OPT_READY_TIMEOUT, OPT_REBUFFER_TIMEOUT,      /* H2 barrier */
	/* H4 presence */
	OPT_PRESENCE_BATCH_ABOVE, OPT_PRESENCE_INTERVAL,
	/* H3 drift */
	OPT_DRIFT_INTERVAL,
	OPT_REDIS, OPT_REDIS_CA, OPT_REDIS_CERT, OPT_REDIS_KEY, /* i14 cluster */
	OPT_WEB_ROOT, OPT_NO_WEB,                       /* the web client */
	/* about the configuration itself: flags only, never keys */
	OPT_CONFIG, OPT_CHECK_CONFIG,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "metrics-listen", required_argument, NULL, OPT_METRICS_LISTEN },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "db", required_argument, NULL, OPT_DB },
	{ "fsync", no_argument, NULL, OPT_FSYNC },
	{ "session-ttl", required_argument, NULL, OPT_SESSION_TTL },
	{ "max-stored-per-owner", required_argument, NULL, OPT_MAX_STORED },
	{ "party-retention", required_argument, NULL, OPT_PARTY_RETENTION },
	{ "ladder", required_argument, NULL, OPT_LADDER },
	{ "origin", required_argument, NULL, OPT_ORIGIN },
	{ "allowed-host", required_argument, NULL, OPT_ALLOWED_HOST },
	{ "trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY },
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
	{ "web-root", required_argument, NULL, OPT_WEB_ROOT },
	{ "no-web", no_argument, NULL, OPT_NO_WEB },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

#define N_OPTS (sizeof(long_opts) / sizeof(long_opts[0]) - 1)

/* A configuration key: an option of the server, not one about the
 * configuration (--config, --check-config) or the program (--help). */
static bool is_key(const struct option *o)
{
	return o->val >= OPT_LISTEN && o->val < OPT_CONFIG;
}

/* Options that may be given more than once, each adding a value. */
static bool repeatable(int id)
{
	return id == OPT_ORIGIN || id == OPT_ALLOWED_HOST || id == OPT_TRUSTED_PROXY;
}

/* The index in long_opts of the option with id; N_OPTS when none. */
static size_t opt_index(int id)
{
	size_t i = 0;

	while (i < N_OPTS && long_opts[i].val != id)
		i++;
	return i;
}

/* Where the value of one option comes from, for its error messages: a flag
 * (name "--db", prog PROG) or a key of the file (name "db", prog
 * "revenge-server: FILE:LINE"); either way the message is one line,
 * "PROG: NAME: what is wrong (see --help)", and exit 2. */
struct src {
	const char *prog;
	const char *name;
};

/* Everything the options set, the server's configuration and the rest. */
struct settings {
	struct rv_server_config cfg;
	struct rv_log log;
	char host[256];
	char default_db[4200];        /* the store's default (srv_default_db) */
	char metrics_host[256];
	const char *port_file;        /* NULL: none */
	const char *secret_file, *public_file;
	bool db_given;
	/* where each option (by index in long_opts) was last set: 0 not at
	 * all (its default), -1 on the command line, else the file's line;
	 * the same for each value of the repeatable ones */
	int from[N_OPTS];
	int origin_from[RV_SERVER_MAX_ORIGINS], allowed_host_from[RV_SERVER_MAX_ORIGINS];
	int trusted_from[RV_SERVER_MAX_ORIGINS];
};

#define usage_error(...) cli_usage_error(PROG, __VA_ARGS__)
#define fail(w, ...) cli_usage_error((w)->prog, __VA_ARGS__)

/* HOST:PORT, [V6]:PORT into host (256 bytes) and *port; the host part may
 * not be empty. */
static void parse_listen(const struct src *w, const char *arg, char *host, int *port)
{
	const char *colon, *h = arg;
	size_t hl;

	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':')
			fail(w, "%s: expected [IPV6]:PORT, got '%s'", w->name, arg);
		h = arg + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(arg, ':');
		if (!colon || strchr(arg, ':') != colon)
			fail(w, "%s: expected HOST:PORT, got '%s'", w->name, arg);
		hl = (size_t)(colon - arg);
	}
	if (hl == 0 || hl >= 256)
		fail(w, "%s: missing or overlong host in '%s'", w->name, arg);
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (int)cli_uint(w->prog, w->name, colon + 1, 0, 65535);
}

static void check_readable(const struct src *w, const char *path)
{
	if (access(path, R_OK))
		fail(w, "%s: cannot read '%s': %s", w->name, path, strerror(errno));
}

/* --party-retention: 0, bare seconds, or a number with s, m, h or d, at
 * most 30 days, into *secs (whole seconds): 0, or -1 when it is not one. */
static int parse_retention(const char *s, unsigned *secs)
{
	double v;

	if (cli_duration_days(s, &v) || v > 30 * 86400.0 || (v > 0 && v < 1))
		return -1;
	*secs = (unsigned)v;
	return 0;
}

/* Apply option id with its value arg (NULL for one without a value) to s;
 * a bad value is a usage error that names w. arg must outlive s. */
static void apply(struct settings *s, const struct src *w, int id, const char *arg)
{
	struct rv_server_config *cfg = &s->cfg;
	const char *prog = w->prog, *flag = w->name;
	char why[300];

	switch (id) {
	case OPT_LISTEN:
		parse_listen(w, arg, s->host, &cfg->port);
		cfg->host = s->host;
		break;
	case OPT_METRICS_LISTEN:
		parse_listen(w, arg, s->metrics_host, &cfg->metrics_port);
		cfg->metrics_host = s->metrics_host;
		break;
	case OPT_PORT_FILE:
		if (!*arg)
			fail(w, "%s: empty path", flag);
		s->port_file = arg;
		break;
	case OPT_DB:
		if (!*arg)
			fail(w, "%s: empty path", flag);
		cfg->db_path = arg;
		s->db_given = true;
		break;
	case OPT_FSYNC:
		cfg->fsync = true;
		break;
	case OPT_SESSION_TTL:
		cfg->session_ttl_s = (unsigned)cli_uint(prog, flag, arg, 0, 315360000);
		break;
	case OPT_MAX_STORED:
		cfg->max_stored_per_owner = (unsigned)cli_uint(prog, flag, arg, 0, 10000000);
		break;
	case OPT_PARTY_RETENTION:
		if (parse_retention(arg, &cfg->party_retention_s))
			fail(w, "%s: expected a duration like 0, 90s, 30m, 12h or 7d (at most"
			     " 30d), got '%s'", flag, arg);
		break;
	case OPT_LADDER:
		if (rv_ladder_parse(arg, &cfg->ladder, why, sizeof(why)))
			fail(w, "%s: %s", flag, why);
		break;
	case OPT_ORIGIN:
		if (!*arg || strlen(arg) > 255)
			fail(w, "%s: expected a pattern of 1-255 characters", flag);
		if (cfg->n_origins == RV_SERVER_MAX_ORIGINS)
			fail(w, "%s: at most %d patterns", flag, RV_SERVER_MAX_ORIGINS);
		cfg->origins[cfg->n_origins++] = arg;
		break;
	case OPT_ALLOWED_HOST:
		/* a host name or a wildcard over one: no port, no brackets */
		if (!*arg || strlen(arg) > 255 ||
		    arg[strspn(arg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			       "0123456789-.*?")])
			fail(w, "%s: expected 1-255 characters of letters, digits, '-', '.', '*'"
			     " and '?'", flag);
		if (cfg->n_allowed_hosts == RV_SERVER_MAX_ORIGINS)
			fail(w, "%s: at most %d patterns", flag, RV_SERVER_MAX_ORIGINS);
		cfg->allowed_hosts[cfg->n_allowed_hosts++] = arg;
		break;
	case OPT_TRUSTED_PROXY: {
		struct rv_cidr cidr;

		if (rv_forwarded_cidr_parse(arg, &cidr, why, sizeof(why)))
			fail(w, "%s: %s", flag, why);
		if (cfg->n_trusted_proxies == RV_SERVER_MAX_ORIGINS)
			fail(w, "%s: at most %d ranges", flag, RV_SERVER_MAX_ORIGINS);
		cfg->trusted_proxies[cfg->n_trusted_proxies++] = arg;
		break;
	}
	case OPT_MAX_MESSAGE:
		cfg->max_message = cli_uint(prog, flag, arg, 256, 16777216);
		break;
	case OPT_HISTORY:
		cfg->history = (unsigned)cli_uint(prog, flag, arg, 0, 10000);
		break;
	case OPT_PING:
		cfg->ping_interval = (unsigned)cli_uint(prog, flag, arg, 0, 3600);
		break;
	case OPT_RATE:
		cfg->rate_limit = (unsigned)cli_uint(prog, flag, arg, 0, 1000000);
		break;
	case OPT_PARTY_CHAT_RATE:
		cfg->party_chat_rate = (unsigned)cli_uint(prog, flag, arg, 0, 1000000);
		break;
	case OPT_QUEUE:
		cfg->queue_max = cli_uint(prog, flag, arg, 8, 1048576);
		break;
	case OPT_MAX_PARTIES:
		cfg->max_parties = (unsigned)cli_uint(prog, flag, arg, 0, 10000000);
		break;
	case OPT_MAX_MEMBERS:
		cfg->max_members = (unsigned)cli_uint(prog, flag, arg, 0, 10000000);
		break;
	case OPT_MAX_SESSIONS:
		cfg->max_sessions = (unsigned)cli_uint(prog, flag, arg, 0, 10000000);
		break;
	case OPT_MAX_PER_OWNER:
		cfg->max_sessions_per_owner = (unsigned)cli_uint(prog, flag, arg, 0, 10000000);
		break;
	case OPT_MAX_PER_IP:
		cfg->max_conns_per_ip = (unsigned)cli_uint(prog, flag, arg, 0, 1000000);
		break;
	case OPT_HANDSHAKE_RATE:
		cfg->handshake_rate_per_ip = (unsigned)cli_uint(prog, flag, arg, 0, 1000000);
		break;
	case OPT_PARTY_JOIN_RATE:
		cfg->party_join_rate = (unsigned)cli_uint(prog, flag, arg, 0, 1000000);
		break;
	case OPT_READY_TIMEOUT:
		cfg->ready_timeout_ms = (double)cli_uint(prog, flag, arg, 100, 600000);
		break;
	case OPT_REBUFFER_TIMEOUT:
		cfg->rebuffer_timeout_ms = (double)cli_uint(prog, flag, arg, 100, 600000);
		break;
	case OPT_HANDSHAKE_TIMEOUT:
		cfg->handshake_timeout = (unsigned)cli_uint(prog, flag, arg, 1, 300);
		break;
	case OPT_MESSAGE_TIMEOUT:
		cfg->message_timeout = (unsigned)cli_uint(prog, flag, arg, 0, 3600);
		break;
	case OPT_PARTIAL_BUDGET:
		cfg->partial_budget = cli_uint(prog, flag, arg, 0, 17179869184UL);
		break;
	case OPT_FRAME_RATE:
		cfg->frame_rate = (unsigned)cli_uint(prog, flag, arg, 0, 1000000);
		break;
	case OPT_LEAD_MIN:
		cfg->lead_min_ms = (double)cli_uint(prog, flag, arg, 0, 60000);
		break;
	case OPT_LEAD_MAX:
		cfg->lead_max_ms = (double)cli_uint(prog, flag, arg, 0, 60000);
		break;
	case OPT_PRESENCE_BATCH_ABOVE:
		cfg->presence_batch_above = (unsigned)cli_uint(prog, flag, arg, 0, 10000000);
		break;
	case OPT_PRESENCE_INTERVAL:
		cfg->presence_interval_ms = (double)cli_uint(prog, flag, arg, 0, 60000);
		break;
	case OPT_REDIS:
		if (rv_server_check_redis_url(arg, why, sizeof(why)))
			fail(w, "%s: %s", flag, why);
		cfg->redis_url = arg;
		break;
	case OPT_REDIS_CA:
		check_readable(w, arg);
		cfg->redis_ca = arg;
		break;
	case OPT_REDIS_CERT:
		check_readable(w, arg);
		cfg->redis_cert = arg;
		break;
	case OPT_REDIS_KEY:
		check_readable(w, arg);
		cfg->redis_key = arg;
		break;
	case OPT_DRIFT_INTERVAL:
		cfg->drift_interval_ms = (unsigned)cli_uint(prog, flag, arg, 0, 3600000);
		/* a host flooded with reports is what the interval prevents */
		if (cfg->drift_interval_ms && cfg->drift_interval_ms < 100)
			fail(w, "%s: expected 0 (no reports) or 100 to 3600000 ms, got '%s'", flag,
			     arg);
		break;
	case OPT_AUTH_SECRET:
		s->secret_file = arg;
		break;
	case OPT_AUTH_PUBLIC:
		s->public_file = arg;
		break;
	case OPT_AUTH_LEEWAY:
		cfg->auth_leeway_s = (double)cli_uint(prog, flag, arg, 0, 300);
		break;
	case OPT_INSECURE_OPEN:
		cfg->insecure_open = true;
		break;
	case OPT_CERT:
		check_readable(w, arg);
		cfg->tls_cert = arg;
		break;
	case OPT_KEY:
		check_readable(w, arg);
		cfg->tls_key = arg;
		break;
	case OPT_WEB_ROOT: {
		struct stat st;

		if (stat(arg, &st) || !S_ISDIR(st.st_mode) || access(arg, R_OK | X_OK))
			fail(w, "%s: '%s' is not a readable directory", flag, arg);
		cfg->web_root = arg;
		break;
	}
	case OPT_NO_WEB:
		cfg->no_web = true;
		break;
	case OPT_LOG_LEVEL:
		if (rv_log_level_parse(arg, &s->log.level))
			fail(w, "%s: expected error, warn, info or debug, got '%s'", flag, arg);
		break;
	case OPT_LOG_FORMAT:
		if (!strcmp(arg, "json"))
			s->log.json = true;
		else if (!strcmp(arg, "text"))
			s->log.json = false;
		else
			fail(w, "%s: expected text or json, got '%s'", flag, arg);
		break;
	}
}

/* A repeatable option set in the file and now given as a flag: the flags'
 * list replaces the file's rather than adding to it. */
static void forget(struct settings *s, int id)
{
	if (id == OPT_ORIGIN)
		s->cfg.n_origins = 0;
	else if (id == OPT_ALLOWED_HOST)
		s->cfg.n_allowed_hosts = 0;
	else if (id == OPT_TRUSTED_PROXY)
		s->cfg.n_trusted_proxies = 0;
}

/* Apply option id (at index i of long_opts) from "from" (as s->from). */
static void set(struct settings *s, const struct src *w, size_t i, const char *arg, int from)
{
	int id = long_opts[i].val;

	s->from[i] = from;
	apply(s, w, id, arg);
	if (id == OPT_ORIGIN)
		s->origin_from[s->cfg.n_origins - 1] = from;
	else if (id == OPT_ALLOWED_HOST)
		s->allowed_host_from[s->cfg.n_allowed_hosts - 1] = from;
	else if (id == OPT_TRUSTED_PROXY)
		s->trusted_from[s->cfg.n_trusted_proxies - 1] = from;
}

/* ---- the configuration file ---- */

struct file_check {
	struct settings *s;
	int first[N_OPTS];            /* the line each key was first given at */
};

/* "true", "yes", "on", "1": 1; "false", "no", "off", "0": 0; else -1. */
static int parse_bool(const char *v)
{
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = {
		"false", "no", "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, yes[i]))
			return 1;
		if (!strcasecmp(v, no[i]))
			return 0;
	}
	return -1;
}

/* The file's own rules, checked as each key is read: a known key, given
 * once unless it is repeatable, a flag's key true or false. The value
 * itself is checked by apply(), with the same words as for the flag. */
static int check_key(void *user, int line, const char *key, const char *value, char *why,
		     size_t whylen)
{
	struct file_check *fc = user;
	size_t i = 0;

	while (i < N_OPTS && (strcmp(long_opts[i].name, key) || !is_key(&long_opts[i])))
		i++;
	if (i == N_OPTS) {
		if (!strncmp(key, "--", 2))
			snprintf(why, whylen, "unknown key '%s' (a key is the flag without its"
				 " '--')", key);
		else if (!strcmp(key, "config") || !strcmp(key, "check-config"))
			snprintf(why, whylen, "'%s' is a flag only, not a key of the file", key);
		else
			snprintf(why, whylen, "unknown key '%s'", key);
		return -1;
	}
	if (fc->first[i] && !repeatable(long_opts[i].val)) {
		snprintf(why, whylen, "%s: given twice (first at line %d)", key, fc->first[i]);
		return -1;
	}
	if (!fc->first[i])
		fc->first[i] = line;
	if (long_opts[i].has_arg == no_argument && parse_bool(value) < 0) {
		snprintf(why, whylen, "%s: expected true or false (or yes/no, on/off, 1/0), got"
			 " '%s'", key, value);
		return -1;
	}
	return 0;
}

/* A configuration file read once (a reload's snapshot): path NULL when
 * there was none to read. */
struct config_text {
	const char *path;
	char *text;
	size_t len;
};

/* Read the configuration file into s: path, or the default one when path
 * is NULL (which may be absent: then nothing is read); or, when snap is
 * not NULL, the text already read there instead. Any problem is a usage
 * error naming FILE:LINE. The values stay in file, which must outlive s.
 * Returns whether a file was read. */
static bool read_config(struct settings *s, const char *path, const struct config_text *snap,
			struct srv_config *file)
{
	struct file_check fc = { .s = s };
	char err[600], prog[700];
	int rc;

	if (snap) {
		if (!snap->path)
			return false;
		path = snap->path;
	} else if (!path) {
		if (access(SRV_CONFIG_DEFAULT, F_OK) && errno == ENOENT)
			return false;
		path = SRV_CONFIG_DEFAULT;
	}
	rc = snap ? srv_config_read_text(path, snap->text, snap->len, file, check_key, &fc, err,
					 sizeof(err)) :
		    srv_config_read(path, file, check_key, &fc, err, sizeof(err));
	if (rc)
		cli_usage_error(PROG, "--config: %s", err);
	for (size_t k = 0; k < file->n; k++) {
		const struct srv_config_entry *e = &file->e[k];
		size_t i = 0;
		struct src w;

		while (strcmp(long_opts[i].name, e->key))
			i++;
		snprintf(prog, sizeof(prog), PROG ": %s:%d", path, e->line);
		w.prog = prog;
		w.name = e->key;
		if (long_opts[i].has_arg == required_argument) {
			set(s, &w, i, e->value, e->line);
		} else if (parse_bool(e->value)) {
			set(s, &w, i, NULL, e->line);
		} else {
			s->from[i] = e->line;
			if (long_opts[i].val == OPT_FSYNC)
				s->cfg.fsync = false;
			else if (long_opts[i].val == OPT_INSECURE_OPEN)
				s->cfg.insecure_open = false;
			else if (long_opts[i].val == OPT_NO_WEB)
				s->cfg.no_web = false;
		}
	}
	return true;
}

/* ---- --check-config ---- */

/* Print one setting: "key = value" and where it came from (as s->from);
 * "#key =" for one without a value. */
static void put_line(const char *file, int id, const char *value, int from)
{
	size_t i = opt_index(id);
	char kv[600];

	snprintf(kv, sizeof(kv), "%s%s = %s", value ? "" : "#", long_opts[i].name,
		 value ? value : "");
	if (from > 0)
		printf("%-40s ; %s:%d\n", kv, file, from);
	else
		printf("%-40s ; %s\n", kv, from ? "command line" : value ? "default" : "not set");
}

static void line_out(const struct settings *s, const char *file, int id, const char *value)
{
	put_line(file, id, value, s->from[opt_index(id)]);
}

/* Print the effective value of option id, secrets masked: a URL's password
 * (--db, --redis); of the key files only their names, never their contents. */
static void show(const struct settings *s, const char *file, enum opt_id id)
{
	const struct rv_server_config *c = &s->cfg;
	static const char *const levels[] = { "error", "warn", "info", "debug" };
	char v[2048];
	size_t n = 0;

	switch (id) {
	case OPT_LISTEN:
		snprintf(v, sizeof(v), strchr(c->host, ':') ? "[%s]:%d" : "%s:%d", c->host, c->port);
		break;
	case OPT_METRICS_LISTEN:
		if (!c->metrics_host) {
			line_out(s, file, id, NULL);
			return;
		}
		snprintf(v, sizeof(v), strchr(c->metrics_host, ':') ? "[%s]:%d" : "%s:%d",
			 c->metrics_host, c->metrics_port);
		break;
	case OPT_PORT_FILE:
		line_out(s, file, id, s->port_file);
		return;
	case OPT_DB:
		srv_mask_url(c->db_path, v, sizeof(v));
		break;
	case OPT_FSYNC:
		snprintf(v, sizeof(v), "%s", c->fsync ? "true" : "false");
		break;
	case OPT_SESSION_TTL:
		snprintf(v, sizeof(v), "%u", c->session_ttl_s);
		break;
	case OPT_MAX_STORED:
		snprintf(v, sizeof(v), "%u", c->max_stored_per_owner);
		break;
	case OPT_PARTY_RETENTION:
		snprintf(v, sizeof(v), "%us", c->party_retention_s);
		break;
	case OPT_LADDER:
		v[0] = '\0';
		for (unsigned k = 0; k < c->ladder.n && n < sizeof(v); k++)
			n += (size_t)snprintf(v + n, sizeof(v) - n, "%s%s:%u", k ? "," : "",
					      c->ladder.p[k].name, c->ladder.p[k].kbps);
		break;
	case OPT_ORIGIN:
	case OPT_ALLOWED_HOST:
	case OPT_TRUSTED_PROXY: {
		const char *const *list = id == OPT_ORIGIN ? c->origins :
					  id == OPT_ALLOWED_HOST ? c->allowed_hosts :
					  c->trusted_proxies;
		const int *from = id == OPT_ORIGIN ? s->origin_from :
				  id == OPT_ALLOWED_HOST ? s->allowed_host_from : s->trusted_from;
		unsigned count = id == OPT_ORIGIN ? c->n_origins :
				 id == OPT_ALLOWED_HOST ? c->n_allowed_hosts : c->n_trusted_proxies;

		for (unsigned k = 0; k < count; k++)
			put_line(file, id, list[k], from[k]);
		if (!count)
			line_out(s, file, id, NULL);
		return;
	}
	case OPT_MAX_MESSAGE:
		snprintf(v, sizeof(v), "%zu", c->max_message);
		break;
	case OPT_HISTORY:
		snprintf(v, sizeof(v), "%u", c->history);
		break;
	case OPT_PING:
		snprintf(v, sizeof(v), "%u", c->ping_interval);
		break;
	case OPT_RATE:
		snprintf(v, sizeof(v), "%u", c->rate_limit);
		break;
	case OPT_PARTY_CHAT_RATE:
		snprintf(v, sizeof(v), "%u", c->party_chat_rate);
		break;
	case OPT_QUEUE:
		snprintf(v, sizeof(v), "%zu", c->queue_max);
		break;
	case OPT_MAX_PARTIES:
		snprintf(v, sizeof(v), "%u", c->max_parties);
		break;
	case OPT_MAX_MEMBERS:
		snprintf(v, sizeof(v), "%u", c->max_members);
		break;
	case OPT_MAX_SESSIONS:
		snprintf(v, sizeof(v), "%u", c->max_sessions);
		break;
	case OPT_MAX_PER_OWNER:
		snprintf(v, sizeof(v), "%u", c->max_sessions_per_owner);
		break;
	case OPT_MAX_PER_IP:
		snprintf(v, sizeof(v), "%u", c->max_conns_per_ip);
		break;
	case OPT_HANDSHAKE_RATE:
		snprintf(v, sizeof(v), "%u", c->handshake_rate_per_ip);
		break;
	case OPT_PARTY_JOIN_RATE:
		snprintf(v, sizeof(v), "%u", c->party_join_rate);
		break;
	case OPT_HANDSHAKE_TIMEOUT:
		snprintf(v, sizeof(v), "%u", c->handshake_timeout);
		break;
	case OPT_MESSAGE_TIMEOUT:
		snprintf(v, sizeof(v), "%u", c->message_timeout);
		break;
	case OPT_PARTIAL_BUDGET:
		snprintf(v, sizeof(v), "%zu", c->partial_budget);
		break;
	case OPT_FRAME_RATE:
		snprintf(v, sizeof(v), "%u", c->frame_rate);
		break;
	case OPT_LEAD_MIN:
		snprintf(v, sizeof(v), "%.0f", c->lead_min_ms);
		break;
	case OPT_LEAD_MAX:
		snprintf(v, sizeof(v), "%.0f", c->lead_max_ms);
		break;
	case OPT_READY_TIMEOUT:
		snprintf(v, sizeof(v), "%.0f", c->ready_timeout_ms);
		break;
	case OPT_REBUFFER_TIMEOUT:
		snprintf(v, sizeof(v), "%.0f", c->rebuffer_timeout_ms);
		break;
	case OPT_PRESENCE_BATCH_ABOVE:
		snprintf(v, sizeof(v), "%u", c->presence_batch_above);
		break;
	case OPT_PRESENCE_INTERVAL:
		snprintf(v, sizeof(v), "%.0f", c->presence_interval_ms);
		break;
	case OPT_DRIFT_INTERVAL:
		snprintf(v, sizeof(v), "%u", c->drift_interval_ms);
		break;
	case OPT_REDIS:
		if (!c->redis_url) {
			line_out(s, file, id, NULL);
			return;
		}
		/* each URL of a list masked alone */
		v[0] = '\0';
		for (const char *u = c->redis_url; *u && n + 1 < sizeof(v);) {
			size_t len = strcspn(u, ","), k;
			char one[1100], masked[1100];

			k = len < sizeof(one) - 1 ? len : sizeof(one) - 1;
			memcpy(one, u, k);
			one[k] = '\0';
			srv_mask_url(one, masked, sizeof(masked));
			n += (size_t)snprintf(v + n, sizeof(v) - n, "%s%s", n ? "," : "", masked);
			u += len;
			if (*u)
				u++;
		}
		break;
	case OPT_REDIS_CA:
		line_out(s, file, id, c->redis_ca);
		return;
	case OPT_REDIS_CERT:
		line_out(s, file, id, c->redis_cert);
		return;
	case OPT_REDIS_KEY:
		line_out(s, file, id, c->redis_key);
		return;
	case OPT_AUTH_SECRET:
		line_out(s, file, id, s->secret_file);
		return;
	case OPT_AUTH_PUBLIC:
		line_out(s, file, id, s->public_file);
		return;
	case OPT_AUTH_LEEWAY:
		snprintf(v, sizeof(v), "%.0f", c->auth_leeway_s);
		break;
	case OPT_INSECURE_OPEN:
		snprintf(v, sizeof(v), "%s", c->insecure_open ? "true" : "false");
		break;
	case OPT_CERT:
		line_out(s, file, id, c->tls_cert);
		return;
	case OPT_KEY:
		line_out(s, file, id, c->tls_key);
		return;
	case OPT_WEB_ROOT:
		line_out(s, file, id, c->web_root);
		return;
	case OPT_NO_WEB:
		snprintf(v, sizeof(v), "%s", c->no_web ? "true" : "false");
		break;
	case OPT_LOG_LEVEL:
		snprintf(v, sizeof(v), "%s", levels[s->log.level]);
		break;
	case OPT_LOG_FORMAT:
		snprintf(v, sizeof(v), "%s", s->log.json ? "json" : "text");
		break;
	case OPT_CONFIG:
	case OPT_CHECK_CONFIG:
		return;
	}
	line_out(s, file, id, v);
}

/* --check-config, once everything parsed: the effective settings as a
 * configuration file would give them, each with where it came from. */
static void print_settings(const struct settings *s, const char *file)
{
	printf("; revenge-server %s: the configuration is valid\n", rv_version());
	if (file)
		printf("; configuration file: %s\n", file);
	else
		printf("; configuration file: none (%s does not exist)\n", SRV_CONFIG_DEFAULT);
	for (size_t i = 0; i < N_OPTS; i++)
		if (is_key(&long_opts[i]))
			show(s, file, (enum opt_id)long_opts[i].val);
}

/* --check-config runs the whole parse of a start in a child, where every
 * problem is the usage error (exit 2) it would be at a start; the check
 * itself answers 0 (valid) or 1 (not). Returns the exit status. */
static int check_in_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 1;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	fprintf(stderr, PROG ": --check-config: the configuration is not valid\n");
	return 1;
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

/* The server's user pointer, for both hooks: on_listening's port file and
 * on_reload's readings (reload()). */
struct reloader {
	struct port_file port_file;
	int argc;
	char **argv;
	const char *config_path;      /* --config, NULL: the default file */
	struct settings *first;       /* the start's; its log is the live one */
	struct reading *last;         /* the newest reading; NULL: none yet */
};

static void print_metrics_listening(const char *url, void *user)
{
	printf(PROG ": metrics on %s\n", url);
	fflush(stdout);
}

static void print_listening(const char *url, void *user)
{
	struct port_file *pf = &((struct reloader *)user)->port_file;

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

/* Everything a start reads, into s (zeroed): the defaults, then the
 * configuration file (config_path, or the default file when NULL; snap's
 * text instead when not NULL, see read_config), then
 * the flags of argv over it, then the checks between options. Any problem
 * is a usage error (exit 2). Returns whether a file was read; its values
 * stay in file, which must outlive s. */
static bool parse_settings(struct settings *s, int argc, char **argv, const char *config_path,
			   const struct config_text *snap, struct srv_config *file)
{
	struct rv_server_config *cfg = &s->cfg;
	char flag[64];
	bool file_read;
	int opt;

	s->log.level = RV_LOG_INFO;
	s->log.prog = PROG;
	rv_server_config_defaults(cfg);
	srv_default_db(s->default_db, sizeof(s->default_db));
	cfg->db_path = s->default_db;
	file_read = read_config(s, config_path, snap, file);

	opterr = 0;
	optind = 0;                   /* glibc: start over, permuting again */
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		size_t i = opt_index(opt);
		struct src w = { PROG, flag };

		if (i == N_OPTS || !is_key(&long_opts[i])) {
			if (opt == OPT_CONFIG || opt == OPT_CHECK_CONFIG)
				continue;
			cli_common_opt(PROG, usage_text, opt, argv);
		}
		snprintf(flag, sizeof(flag), "--%s", long_opts[i].name);
		if (s->from[i] > 0 && repeatable(opt))
			forget(s, opt);
		set(s, &w, i, optarg, -1);
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg->lead_max_ms > 0 && cfg->lead_min_ms > cfg->lead_max_ms)
		usage_error("--lead-min: %g is above --lead-max %g", cfg->lead_min_ms,
			    cfg->lead_max_ms);
	if ((cfg->redis_ca || cfg->redis_cert || cfg->redis_key) &&
	    (!cfg->redis_url || !strstr(cfg->redis_url, "rediss://")))
		usage_error("%s: only a rediss:// --redis URL speaks TLS",
			    cfg->redis_ca ? "--redis-ca" : cfg->redis_cert ? "--redis-cert" : "--redis-key");
	if (!cfg->redis_cert != !cfg->redis_key)
		usage_error("%s: a client certificate needs both --redis-cert and --redis-key",
			    cfg->redis_cert ? "--redis-cert" : "--redis-key");
	/* one socket cannot be both; port 0 picks two different ones */
	if (cfg->metrics_host && cfg->metrics_port && cfg->metrics_port == cfg->port &&
	    !strcasecmp(cfg->metrics_host, cfg->host))
		usage_error("--metrics-listen: %s:%d is the --listen address; give another port",
			    cfg->metrics_host, cfg->metrics_port);
	if (!cfg->tls_cert != !cfg->tls_key)
		usage_error("%s: TLS needs both --tls-cert and --tls-key",
			    cfg->tls_cert ? "--tls-cert" : "--tls-key");
	if (s->secret_file && s->public_file)
		usage_error("--auth-secret-file and --auth-public-key: give one key, not both");
	/* in cluster mode Redis keeps the parties: the default retention is
	 * off there; one asked for writes them to the store as well, restored
	 * when Redis has forgotten them (ep_party.c) */
	if (cfg->redis_url && !s->from[opt_index(OPT_PARTY_RETENTION)])
		cfg->party_retention_s = 0;
	return file_read;
}

/* ---- SIGHUP ---- */

/* One reading of the configuration, kept until exit: the server borrows
 * its strings. */
struct reading {
	struct settings s;
	struct srv_config file;
	struct reading *older;
};


static bool path_differs(const char *a, const char *b)
{
	return !a != !b || (a && strcmp(a, b));
}

/* on_reload (revenge/server.h): read the file and flags again. A bad file
 * must not stop a running server, so the reading is tried in a child
 * first, where a problem is the usage error it would be at a start (on
 * stderr, the journal); only a valid one is read here, from the same
 * snapshot of the file. (A key file named by a flag that vanishes between
 * the two readings would still stop the server: a window of one parse.) */
static const struct rv_server_config *reload(void *user)
{
	struct reloader *r = user;
	struct settings *now = r->last ? &r->last->s : r->first;
	struct rv_log *log = &r->first->log;
	struct reading *rd;
	struct srv_config scratch = { 0 };
	struct config_text snap = { .path = r->config_path };
	char err[600];
	pid_t pid;
	int st;

	/* one reading of the file for both parses: an editor saving it in
	 * between cannot make the second fail */
	if (!snap.path && access(SRV_CONFIG_DEFAULT, F_OK) == 0)
		snap.path = SRV_CONFIG_DEFAULT;
	if (snap.path && srv_config_slurp(snap.path, &snap.text, &snap.len, err, sizeof(err))) {
		rv_log(log, RV_LOG_ERROR, "config_reload_failed", "--config: %s; still running with"
		       " the previous configuration", err);
		return NULL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rv_log(log, RV_LOG_ERROR, "config_reload_failed", "fork: %s", strerror(errno));
		free(snap.text);
		return NULL;
	}
	if (pid == 0) {
		/* the child's alone, gone at _exit */
		struct settings *probe = calloc(1, sizeof(*probe));
		struct rv_token_key *key = NULL;
		char why[300];

		if (!probe)
			_exit(1);
		parse_settings(probe, r->argc, r->argv, r->config_path, &snap, &scratch);
		if (probe->secret_file &&
		    rv_token_key_load_secret_file(probe->secret_file, &key, why, sizeof(why)))
			usage_error("--auth-secret-file: %s", why);
		if (probe->public_file &&
		    rv_token_key_load_public_file(probe->public_file, &key, why, sizeof(why)))
			usage_error("--auth-public-key: %s", why);
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR) {
			st = -1;
			break;
		}
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		rv_log(log, RV_LOG_ERROR, "config_reload_failed",
		       "the configuration is not valid (the line above says why); still running"
		       " with the previous one");
		free(snap.text);
		return NULL;
	}
	if (!(rd = calloc(1, sizeof(*rd)))) {
		rv_log(log, RV_LOG_ERROR, "config_reload_failed", "out of memory");
		free(snap.text);
		return NULL;
	}
	parse_settings(&rd->s, r->argc, r->argv, r->config_path, &snap, &rd->file);
	free(snap.text);
	rd->older = r->last;
	r->last = rd;
	/* what the server does not compare: the process's own */
	rd->s.cfg.log = log;
	rd->s.cfg.on_listening = r->first->cfg.on_listening;
	rd->s.cfg.user = r->first->cfg.user;
	rd->s.cfg.on_reload = r->first->cfg.on_reload;
	rd->s.cfg.auth_key = r->first->cfg.auth_key;
	if (rd->s.log.level != log->level) {
		static const char *const levels[] = { "error", "warn", "info", "debug" };

		rv_log(log, RV_LOG_INFO, "config_changed", "log-level: %s -> %s (now)",
		       levels[log->level], levels[rd->s.log.level]);
		log->level = rd->s.log.level;
	}
	if (rd->s.log.json != log->json) {
		rv_log(log, RV_LOG_INFO, "config_changed", "log-format: %s -> %s (now)",
		       log->json ? "json" : "text", rd->s.log.json ? "json" : "text");
		log->json = rd->s.log.json;
	}
	if (path_differs(now->secret_file, rd->s.secret_file) ||
	    path_differs(now->public_file, rd->s.public_file))
		rv_log(log, RV_LOG_WARN, "config_restart_needed",
		       "auth-secret-file, auth-public-key: changed in the configuration; the"
		       " token key is read at start only");
	if (path_differs(now->port_file, rd->s.port_file))
		rv_log(log, RV_LOG_WARN, "config_restart_needed",
		       "port-file: changed in the configuration; it takes effect at the next"
		       " restart");
	return &rd->s.cfg;
}

int main(int argc, char **argv)
{
	struct settings s = { 0 };
	struct rv_server_config *cfg = &s.cfg;
	struct srv_config file = { 0 };
	struct reloader reloader = { .argc = argc, .argv = argv, .first = &s };
	const char *config_path = NULL;
	bool check = false, bad = false, file_read;
	struct rv_token_key *key = NULL;
	char why[300];
	rlim_t open_files;
	int opt, err;

	if (argc > 1 && !strcmp(argv[1], "admin"))
		return admin_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "token"))
		return token_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "migrate"))
		return migrate_main(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "backup"))
		return backup_main(argc - 1, argv + 1);
	opterr = 0;
	/* First pass: only where the configuration comes from, since the
	 * file is read before the flags that override it. The second pass
	 * reports whatever this one skips. */
	while ((opt = getopt_long(argc, argv, ":hV", long_opts, NULL)) != -1) {
		if (opt == OPT_CONFIG) {
			if (!*optarg)
				usage_error("--config: empty path");
			config_path = optarg;
		} else if (opt == OPT_CHECK_CONFIG) {
			check = true;
		} else if ((opt == 'h' || opt == 'V') && !bad) {
			cli_common_opt(PROG, usage_text, opt, argv);    /* whatever the file says */
		} else if (opt == ':' || opt == '?') {
			bad = true;           /* reported by the second pass, in order */
		}
	}
	if (check) {
		pid_t pid;

		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			fprintf(stderr, PROG ": --check-config: fork: %s\n", strerror(errno));
			return 1;
		}
		if (pid > 0)
			return check_in_child(pid);
	}
	reloader.config_path = config_path;
	file_read = parse_settings(&s, argc, argv, config_path, NULL, &file);
	if (file_read && !config_path)
		config_path = SRV_CONFIG_DEFAULT;

	if (s.secret_file && rv_token_key_load_secret_file(s.secret_file, &key, why, sizeof(why)))
		usage_error("--auth-secret-file: %s", why);
	if (s.public_file && rv_token_key_load_public_file(s.public_file, &key, why, sizeof(why)))
		usage_error("--auth-public-key: %s", why);
	cfg->auth_key = key;

	if (check) {
		print_settings(&s, file_read ? config_path : NULL);
		rv_token_key_free(key);
		srv_config_free(&file);
		return 0;
	}
	/* The default store lives in ./var, made on first use; a --db path
	 * is taken as given, so a typo in its directory is an error (and so
	 * is a missing state directory: systemd makes it). */
	if (!s.db_given && !strcmp(cfg->db_path, SRV_DEFAULT_DB) && mkdir("var", 0755) &&
	    errno != EEXIST) {
		fprintf(stderr, PROG ": cannot create ./var for the store: %s\n", strerror(errno));
		rv_token_key_free(key);
		srv_config_free(&file);
		return 1;
	}
	reloader.port_file.path = s.port_file;
	cfg->log = &s.log;
	cfg->on_listening = print_listening;
	cfg->on_reload = reload;
	cfg->user = &reloader;
	cfg->on_metrics_listening = print_metrics_listening;
	open_files = raise_open_files();
	if (open_files != RLIM_INFINITY && open_files < 4096)
		rv_log(&s.log, RV_LOG_WARN, "open_files_limit",
		       "open files are limited to %llu (ulimit -n): connections past "
		       "the ceiling it sets are refused with 503",
		       (unsigned long long)open_files);
	else
		rv_log(&s.log, RV_LOG_DEBUG, "open_files_limit", "%llu",
		       (unsigned long long)open_files);
	if (file_read)
		rv_log(&s.log, RV_LOG_INFO, "config", "read %s", config_path);
	err = rv_server_run(cfg);
	rv_token_key_free(key);
	if (reloader.port_file.written)
		unlink(reloader.port_file.path);
	srv_config_free(&file);
	while (reloader.last) {
		struct reading *rd = reloader.last;

		reloader.last = rd->older;
		srv_config_free(&rd->file);
		free(rd);
	}
	/* why it could not start is logged already (start_failed), once */
	return err ? 1 : 0;
}
