/* cmd/revenge-bench/mesh.h - parties of members on one client context,
 * the frame of the party scenarios (fanout, chat, churn).
 *
 * The mesh joins P parties of M members, each party's host first, with a
 * bounded number of handshakes in flight; lets the server settle (the
 * scenario may warm up meanwhile); measures
 * for --duration while the scenario's pace hook sends what is due; then
 * waits up to a grace period for deliveries in flight. It reads the
 * server's CPU at both ends of the window; has the scenario judge and
 * print its result; and closes everything. Ctrl-C stops the run where it
 * is and has the results so far printed. The scenario owns what is sent, how
 * arrivals are read and what is reported, through hooks, and keeps its
 * state in mesh.user; mesh_main runs the whole life of it.
 */
#ifndef REVENGE_BENCH_MESH_H
#define REVENGE_BENCH_MESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ev.h>

#include <revenge/revenge.h>

#include "common.h"
#include "histo.h"

#define MESH_GRACE_S 2.0          /* after the window, for deliveries in flight */

struct mesh;

struct mesh_member {
	struct mesh *ms;
	struct rv_conn *conn;         /* NULL once closed */
	unsigned party, idx;          /* idx 0 is the party's host */
	bool open;
	bool was_open;                /* it has been open once: a new open is a rejoin */
};

struct mesh_hooks {
	/* One whole message for member m, len bytes, not NUL-terminated. */
	void (*message)(struct mesh *ms, struct mesh_member *m, const char *text, size_t len);
	/* Every millisecond of the window: send what is due by now. */
	void (*pace)(struct mesh *ms, double now);
	/* Every millisecond while the server settles, before the window, to
	 * bring a load to its steady state first. NULL: nothing. */
	void (*warm)(struct mesh *ms, double now);
	/* After the window: true once every awaited delivery has arrived, to
	 * end the grace period early. NULL: wait it out. */
	bool (*complete)(struct mesh *ms);
	/* The scenario's part of the live line, written to buf. */
	void (*status)(struct mesh *ms, char *buf, size_t len);
	/* Once the mesh is set up (ms->run named), before the first
	 * connection. NULL: nothing. */
	void (*begin)(struct mesh *ms);
	/* After the grace period (not after Ctrl-C), before report: record
	 * what the run lost (mesh_loss, mesh_error), so that it fails the
	 * run and is printed as its first error. NULL: nothing. */
	void (*check)(struct mesh *ms);
	/* After the grace period, the connections still open: print the
	 * result, table or JSON, on stdout. */
	void (*report)(const struct mesh *ms);
	/* The base URL a member connects to (the path is appended), owned
	 * by the scenario. NULL, or a NULL result: --url. */
	const char *(*member_url)(struct mesh *ms, unsigned party, unsigned idx);
	/* Member m's connection ended (or failed to open) during the run:
	 * true when the scenario takes it over (it will call mesh_rejoin),
	 * so that it is counted as dropped, not as a failure. NULL, or
	 * false: failed or closed by the server. */
	bool (*dropped)(struct mesh *ms, struct mesh_member *m);
};

struct mesh {
	/* set by mesh_main */
	const struct common_opts *o;
	unsigned parties, members;    /* members per party, the host included */
	const struct mesh_hooks *hooks;
	void *user;                   /* the scenario's state */
	/* the mesh's own; the hooks may read them */
	struct ev_loop *loop;
	struct rv_client *cl;
	struct mesh_member *m;        /* parties x members; index p * members + idx */
	unsigned n, opened, connected, failed, closed;
	unsigned dropped, rejoined;   /* ends taken over by hooks->dropped; opens after one */
	unsigned long conns;          /* connections started, for --src round-robin */
	bool hosts_ready, measuring, stopping;
	bool starting;                /* reading the server's CPU to start */
	double t0;                    /* monotonic seconds at the start */
	double t_settle, t_measure, t_end;
	double t_stopped;             /* when the run ended (a scenario may end
				       * it before t_end: fill), 0: running */
	double t_last_rx;             /* the last message before the window */
	double cpu_start, cpu_end;    /* server CPU seconds, every --url's
				       * together; NAN when one is unknown */
	double node_cpu_start[BENCH_MAX_URLS], node_cpu_end[BENCH_MAX_URLS];
	double redis_cpu_start, redis_cpu_end; /* NAN without --redis-pid */
	double published_start, published_end; /* the nodes' Redis publishes
						* (with --redis-pid) */
	uint64_t node_rx[BENCH_MAX_URLS];     /* deliveries counted to members
					       * of each --url (mesh_count_rx) */
	double self_cpu_start, self_cpu_end;    /* this process's CPU seconds */
	char run[16];                 /* this run's id, in party ids and texts */
	char reason[200];             /* the first failure of a connection */
	char first_error[200];        /* the first thing that went wrong:
				       * reason, an error reply or a loss
				       * (mesh_error) */
	struct bench_interrupt intr;  /* Ctrl-C: the results so far */
	ev_timer connect_timer, pace, status, stop, deadline;
};

/* Monotonic seconds. */
double mesh_now(void);

/* A party scenario's whole run on ms (zeroed, inside the scenario's state
 * user): set up parties x members on o, join, settle, measure, wait out
 * the grace period, judge (hooks->check), report through hooks->report,
 * close every connection and free what the mesh made (ms's counters stay
 * readable). Returns the exit status: BENCH_EXIT_INTERRUPTED after
 * Ctrl-C (reported as far as it got); 1 when it could not start (said on
 * stderr), nothing was measured, members failed or were closed by the
 * server, or an error was recorded (mesh_error: an error reply, a loss);
 * else 0. */
int mesh_main(struct mesh *ms, const struct common_opts *o, unsigned parties, unsigned members,
	      const struct mesh_hooks *hooks, void *user);

/* Connect member m (closed) again, to the URL it joined with
 * (hooks->member_url asked anew); 0, or -1 when it could not start
 * (nothing counted: the scenario tries again). */
int mesh_rejoin(struct mesh *ms, struct mesh_member *m);

/* The --url of the party member numbered idx (0: the host, always the
 * first --url; then round-robin over every --url, so that a party spans
 * the nodes of a cluster). */
const char *mesh_url(const struct mesh *ms, unsigned idx);

/* Count one delivery in the window to member m, by its --url. */
void mesh_count_rx(struct mesh *ms, const struct mesh_member *m);

/* The "server" line of the text reports: every --url. */
void mesh_server_text(const struct mesh *ms, FILE *out);

/* Start a connection on the mesh's context, bound to the next --src
 * address; as rv_client_connect. */
struct rv_conn *mesh_connect(struct mesh *ms, const char *url, const struct rv_conn_callbacks *cb,
			     void *user, int *err);

/* Why mesh_connect just returned NULL with *err set: read at once. */
const char *mesh_connect_error(int err);

/* True when the message's "type" (scanned, not parsed) is type. */
bool mesh_type_is(const char *text, size_t len, const char *type);

/* Record what went wrong, printf-style, as the run's first error unless
 * one came before: it fails the run (mesh_main). */
void mesh_error(struct mesh *ms, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The same for an error reply (len bytes, scanned): "code: message". */
void mesh_error_reply(struct mesh *ms, const char *text, size_t len);

/* For hooks->check: fewer received than expected is a loss,
 * "lost N of M WHAT (P%)". */
void mesh_loss(struct mesh *ms, const char *what, uint64_t expected, uint64_t received);

/* "first_error" (null when none), followed by a comma. */
void mesh_errors_json(const struct mesh *ms, FILE *out);

/* The table's line "interrupted" after Ctrl-C (none otherwise). */
void mesh_interrupted_text(const struct mesh *ms, FILE *out);

/* The table's lines of what went wrong: mesh_interrupted_text's, "first
 * error" (when it is not the first failure's) and "first failure". */
void mesh_errors_text(const struct mesh *ms, FILE *out);

/* Percent of expected deliveries that did not arrive (0 when none were
 * expected). */
double mesh_loss_pct(uint64_t expected, uint64_t received);

/* The measured window in seconds, as long as it lasted: shorter than
 * --duration when Ctrl-C stopped it or the scenario ended it early (fill,
 * once every member has its sync). */
double mesh_window(const struct mesh *ms);

/* The JSON members every party scenario reports, each followed by a comma:
 * "url", "parties", "members", "connected", "failed", "closed_by_server",
 * "duration_s", "interrupted" (true after Ctrl-C). */
void mesh_json_head(const struct mesh *ms, FILE *out);

/* "server_cpu_pct" and "bench_cpu_pct" over the window (percent of one
 * core, null when unknown), each followed by a comma. */
void mesh_load_json(const struct mesh *ms, FILE *out);

/* The same as a table line, saying when the generator is the limit. */
void mesh_load_text(const struct mesh *ms, FILE *out);

/* What a scenario whose messages are each delivered to many members
 * (fanout, chat) counted in the window: the part of the result they
 * share. */
struct mesh_deliveries {
	uint64_t sent, expected, received;
	uint64_t errors;              /* error replies */
	const struct histo *lat;      /* delivery latency */
};

/* "sent", "expected", "received", "loss_pct", "delivered_per_s" and
 * "errors", each followed by a comma. */
void mesh_deliveries_json(const struct mesh *ms, const struct mesh_deliveries *d, FILE *out);

/* The rest of the JSON object: the server's CPU per delivery, with several
 * --url each node's ("nodes": url, cpu_s, received, us_per_delivery), with
 * --redis-pid Redis's ("redis_cpu_s", "redis_us_per_message": over the
 * messages sent) and the nodes' publishes per message sent
 * ("redis_publish_per_message"), the load (mesh_load_json), "latency_ms", the limits,
 * then "}" and a newline. */
void mesh_deliveries_json_end(const struct mesh *ms, const struct mesh_deliveries *d,
			      FILE *out);

/* The table lines "delivered" (loss, per second) and "latency", the
 * server's CPU per delivery (each node's, Redis's, as in the JSON) and
 * the load (mesh_load_text). */
void mesh_deliveries_text(const struct mesh *ms, const struct mesh_deliveries *d, FILE *out);

#endif
