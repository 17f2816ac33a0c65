/* cmd/revenge-bench/common.h - the options every scenario shares: the
 * server, the window, how connections are opened and how results are
 * printed. main.c fills them in; the scenarios only read them.
 */
#ifndef REVENGE_BENCH_COMMON_H
#define REVENGE_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <ev.h>

/* --url given more than once: the nodes of one cluster, a handful */
#define BENCH_MAX_URLS 16

struct limits;
struct srcaddr;

struct common_opts {
	const char *url;              /* the first --url: hosts, /metrics */
	const char *const *urls;      /* every --url (urls[0] == url); members of
				       * party scenarios go round-robin over them */
	unsigned nurls;               /* >= 1 */
	double duration_s;            /* the measured window (connect: the hold) */
	unsigned connect_rate;        /* new connections per second */
	bool json;                    /* one JSON object instead of the table */
	bool tty;                     /* live line on stderr (never with json) */
	bool deflate;
	int server_pid;               /* > 0: read its CPU and memory from /proc */
	int node_pids[BENCH_MAX_URLS]; /* --server-pid for each --url, in order
				       * (node_pids[0] == server_pid); 0: /metrics */
	int redis_pid;                /* > 0: read the Redis server's CPU too */
	const struct srcaddr *src;    /* --src; NULL or empty: the kernel picks */
	const struct limits *lim;     /* what caps the connections; never NULL */
	const char *token;            /* sent by every connection, NULL: none; a
				       * secret: never printed */
};

/* The exit status of a run stopped by Ctrl-C (the shell's code for
 * SIGINT): not a full run, but its results so far were printed. */
#define BENCH_EXIT_INTERRUPTED 130

/* Ctrl-C during a run: rather than lose it, the scenario stops and
 * reports what it measured so far, as k6 does. */
struct bench_interrupt {
	ev_signal w;
	bool hit;                     /* SIGINT came */
	double t;                     /* when (monotonic seconds) */
	void (*stop)(void *arg);
	void *arg;
};

/* Watch for SIGINT on loop: the first one sets bi->hit and bi->t, stops
 * watching (a second Ctrl-C then ends the process as usual) and calls
 * stop(arg), which ends the run. bi lives as long as the watch. */
void bench_interrupt_start(struct bench_interrupt *bi, struct ev_loop *loop,
			   void (*stop)(void *arg), void *arg);

/* Stop watching (SIGINT's default comes back); a no-op when not started
 * or already hit. */
void bench_interrupt_stop(struct bench_interrupt *bi, struct ev_loop *loop);

/* The live line's clock of a window of duration seconds, elapsed seconds
 * into it: "  3.5s elapsed,   6.5s left". */
void bench_clock_text(char *buf, size_t size, double elapsed, double duration);

/* Why a client connection ended, for "first failure": a refused
 * handshake (HTTP status), a close by the server (its code), or no
 * connection at all (code and status 0); the reason (the peer's words, or
 * NULL) with its control characters as spaces. */
void bench_close_reason(char *buf, size_t size, int code, int status, const char *reason);

/* The string value of "key" in text (len bytes, scanned, not parsed: the
 * generator must stay cheaper than the server it measures), copied to out
 * (at most outlen - 1 bytes): escapes decoded (\" \\ \/ \uXXXX), line
 * breaks and other control characters as spaces, so that it prints on one
 * line of the table; "" when absent. Quotes and backslashes stay: write it
 * into JSON with bench_json_str. */
void bench_scan_str(const char *text, size_t len, const char *key, char *out, size_t outlen);

/* s as a JSON string on out (quotes, backslashes and control characters
 * escaped, bytes that are not UTF-8 as U+FFFD); null when s is NULL. */
void bench_json_str(FILE *out, const char *s);

#endif
