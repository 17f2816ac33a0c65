/* cmd/revenge-probe/probe.h - the probe's runtime: named clients on
 * librevenge's client adapter, and waits written in sequence.
 *
 * A check reads like a script: open a client, expect a message, send one.
 * Each wait runs the event loop until its condition holds or its deadline
 * passes, so the checks need no callbacks of their own. Every failure sets
 * the check's exit status and one human sentence saying what was expected
 * and what was seen.
 */
#ifndef REVENGE_PROBE_H
#define REVENGE_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>
#include <jansson.h>

#include <revenge/revenge.h>

#include "cli.h"

/* Exit statuses, documented in --help and the man page. */
enum {
	PX_OK = 0,
	PX_FAILED = 1,      /* a check's expectation did not hold */
	PX_USAGE = 2,
	PX_CONNECT = 3,     /* could not connect, handshake refused, connection lost */
	PX_TIMEOUT = 4,     /* nothing arrived in time */
	PX_PROTOCOL = 5,    /* the server broke the protocol */
};

struct pmsg {
	json_t *msg;                  /* parsed object with a string "type" */
	double at_ms;                 /* local receive time (monotonic ms) */
	struct pmsg *next;
};

struct pclient;

struct probe {
	struct ev_loop *loop;
	struct rv_client *cl;
	const char *url;              /* base, "ws://host:port" */
	const char *origin;           /* --origin, NULL: none */
	const char *token;            /* --token and friends, NULL: none; a
				       * secret: never printed */
	double timeout_ms;            /* --timeout: default for every wait */
	double wait_ms;               /* --wait: keep retrying the first connection */
	bool json, quiet, color;
	/* the running check's result */
	int status;
	char why[600];
	json_t *details;              /* check-specific figures for --json */
	struct pclient *clients;      /* every client, for cleanup */
	bool interrupted;             /* SIGINT/SIGTERM (tail) */
};

struct pclient {
	struct probe *p;
	struct rv_conn *conn;
	char name[65];
	char path[2048];
	bool open, ended;
	int close_code, http_status;
	char end_reason[160];
	struct pmsg *head, **tail;    /* received, not yet consumed */
	size_t n_queued;
	bool broken;                  /* sent something that is not protocol */
	char broken_why[200];
	void (*on_raw)(struct pclient *c, const char *text, size_t len); /* tail */
	void *user;                   /* the check's own state */
	struct pclient *next;
};

/* Monotonic milliseconds. */
double probe_now_ms(void);

/* Record a failure for the running check (the first one wins). */
void probe_fail(struct probe *p, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* A new client named name on path (with query); not yet connected.
 * Owned by p; freed by probe_close_all. */
struct pclient *probe_client(struct probe *p, const char *name, const char *path);

/* Connect c and wait for the handshake: 0, or a failure recorded (3, 4).
 * With --wait, refused or failed connections are retried with exponential
 * backoff and jitter until the wait runs out. origin overrides --origin. */
int pc_open(struct pclient *c, const char *origin);

/* Send a message (a new reference is not taken; msg stays the caller's). */
int pc_send(struct pclient *c, const json_t *msg);
/* Send {"type": type, "payload": payload (stolen), "id": id}. */
int pc_sendf(struct pclient *c, const char *type, json_t *payload, const char *id);

/* A test applied to candidate messages; returns true to accept. When it
 * rejects, it may explain in why. */
typedef bool (*pc_pred)(const json_t *msg, void *arg, char *why, size_t whylen);

/* Wait up to within_ms (<= 0: --timeout) for a message of type that pred
 * accepts (pred NULL: any), remove it from the queue and return it (new
 * reference, caller decrefs). Messages of other types stay queued. On
 * failure returns NULL with the status recorded: 4 when no message of the
 * type came, 1 when some came and pred rejected them (why says what came),
 * 3 when the connection ended, 5 when the server sent non-protocol data. */
json_t *pc_expect(struct pclient *c, const char *type, pc_pred pred, void *arg,
		  double within_ms, double *at_ms);

/* pc_expect for the reply of type to the request sent with id, which
 * an error reply with that id also ends: the wait fails at once (1) with
 * "what: error CODE: MESSAGE" rather than waiting out the timeout. */
json_t *pc_expect_reply(struct pclient *c, const char *type, const char *id, const char *what,
			double within_ms, double *at_ms);

/* pc_expect (type, pred, arg) that an error reply carrying id also ends,
 * failing at once as pc_expect_reply does; id NULL: plain pc_expect. */
json_t *pc_expect_answer(struct pclient *c, const char *type, pc_pred pred, void *arg,
			 const char *id, const char *what, double within_ms, double *at_ms);

/* The oldest queued message of type, removed from the queue (new
 * reference, caller decrefs), without waiting or recording anything; NULL
 * when none is queued. at_ms (may be NULL): its receive time. */
json_t *pc_take(struct pclient *c, const char *type, double *at_ms);

/* Wait for_ms and fail (1) if a message of type that pred accepts arrives
 * or is queued. */
int pc_expect_none(struct pclient *c, const char *type, pc_pred pred, void *arg,
		   double for_ms);

/* Run the loop until done(arg) or deadline_ms (monotonic; INFINITY: no
 * deadline) or an interrupt; returns done(arg). */
bool probe_run_until(struct probe *p, bool (*done)(void *), void *arg, double deadline_ms);

/* Run the loop for ms. */
void probe_sleep(struct probe *p, double ms);

/* Close c (1000) and wait briefly for it to end. */
void pc_close(struct pclient *c);

/* Close every client and wait a moment for the closes to complete. */
void probe_close_all(struct probe *p);
/* Free every client; only once the client context is gone, since lws may
 * still call back into a client whose close did not complete. */
void probe_free_clients(struct probe *p);

/* HTTP GET on the server's base URL + path; returns the status (0 on
 * failure, with the failure recorded as 3 or 4) and the body in *body
 * (malloc'd, NUL-terminated; caller frees). */
int probe_http_get(struct probe *p, const char *path, char **body, size_t *len);

/* Checks: each returns its exit status and leaves p->why / p->details. */
int check_health(struct probe *p, int argc, char **argv);
int check_sync(struct probe *p, int argc, char **argv);
/* sync --accuracy (accuracy.c): the members' agreement on the position. */
int sync_accuracy(struct probe *p, unsigned members, double tolerance_ms, const char *party,
		  bool fresh);
int check_chat(struct probe *p, int argc, char **argv);
int check_progress(struct probe *p, int argc, char **argv);
int check_quality(struct probe *p, int argc, char **argv);
int check_run(struct probe *p, int argc, char **argv);
int check_tail(struct probe *p, int argc, char **argv);

/* Shared option parsing for checks: numbers and durations, exit 2 on
 * error with one line naming the flag (cmd/common/cli.h). */
#define usage_error(...) cli_usage_error("revenge-probe", __VA_ARGS__)
unsigned long opt_uint(const char *flag, const char *s, unsigned long lo, unsigned long hi);
double opt_double(const char *flag, const char *s, double lo, double hi);
double opt_duration_ms(const char *flag, const char *s);

#endif
