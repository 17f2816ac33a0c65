/* cmd/revenge-bench/mesh.h - parties of members on one client context,
 * the frame of the party scenarios (fanout, chat, churn).
 *
 * The mesh joins P parties of M members, each party's host first, with a
 * bounded number of handshakes in flight; lets the server settle (the
 * scenario may warm up meanwhile); measures
 * for --duration while the scenario's pace hook sends what is due; then
 * waits up to a grace period for deliveries in flight. It reads the
 * server's CPU at both ends of the window. The scenario owns what is sent
 * and how arrivals are read, through hooks, and keeps its state in
 * mesh.user.
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

#define MESH_GRACE_S 2.0          /* after the window, for deliveries in flight */

struct mesh;

struct mesh_member {
	struct mesh *ms;
	struct rv_conn *conn;         /* NULL once closed */
	unsigned party, idx;          /* idx 0 is the party's host */
	bool open;
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
};

struct mesh {
	/* set by the caller before mesh_run */
	const struct common_opts *o;
	unsigned parties, members;    /* members per party, the host included */
	const struct mesh_hooks *hooks;
	void *user;                   /* the scenario's state */
	/* the mesh's own; the hooks may read them */
	struct ev_loop *loop;
	struct rv_client *cl;
	struct mesh_member *m;        /* parties x members; index p * members + idx */
	unsigned n, opened, connected, failed, closed;
	unsigned long conns;          /* connections started, for --src round-robin */
	bool hosts_ready, measuring, stopping;
	bool starting;                /* reading the server's CPU to start */
	double t0;                    /* monotonic seconds at the start */
	double t_settle, t_measure, t_end;
	double t_last_rx;             /* the last message before the window */
	double cpu_start, cpu_end;    /* server CPU seconds; NAN when unknown */
	double self_cpu_start, self_cpu_end;    /* this process's CPU seconds */
	char run[16];                 /* this run's id, in party ids and texts */
	char reason[200];             /* the first failure */
	ev_timer connect_timer, pace, status, stop, deadline;
};

/* Monotonic seconds. */
double mesh_now(void);

/* Set up ms (o, parties, members, hooks, user already set): the members
 * and the client context. Returns 0, or -1 after saying why on stderr. */
int mesh_init(struct mesh *ms);

/* Join, settle, measure and wait out the grace period; returns when the
 * run is over, with ms->stopping set and cpu_end read. */
void mesh_run(struct mesh *ms);

/* Start a connection on the mesh's context, bound to the next --src
 * address; as rv_client_connect. */
struct rv_conn *mesh_connect(struct mesh *ms, const char *url, const struct rv_conn_callbacks *cb,
			     void *user, int *err);

/* Why mesh_connect just returned NULL with *err set: read at once. */
const char *mesh_connect_error(int err);

/* Close every connection and free what mesh_init made. */
void mesh_free(struct mesh *ms);

/* True when the message's "type" (scanned, not parsed) is type. */
bool mesh_type_is(const char *text, size_t len, const char *type);

/* Percent of expected deliveries that did not arrive (0 when none were
 * expected). */
double mesh_loss_pct(uint64_t expected, uint64_t received);

/* The measured window in seconds (shorter when the run stopped early). */
double mesh_window(const struct mesh *ms);

/* The JSON members every party scenario reports, each followed by a comma:
 * "url", "parties", "members", "connected", "failed", "closed_by_server",
 * "duration_s". */
void mesh_json_head(const struct mesh *ms, FILE *out);

/* "server_cpu_pct" and "bench_cpu_pct" over the window (percent of one
 * core, null when unknown), each followed by a comma. */
void mesh_load_json(const struct mesh *ms, FILE *out);

/* The same as a table line, saying when the generator is the limit. */
void mesh_load_text(const struct mesh *ms, FILE *out);

/* Exit status: 1 when nothing was measured or members failed or were
 * closed by the server, else 0. */
int mesh_exit_status(const struct mesh *ms);

#endif
