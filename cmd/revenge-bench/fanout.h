/* cmd/revenge-bench/fanout.h - the fanout scenario: parties of members,
 * each host sending syncs at a rate, every member timing each delivery.
 */
#ifndef REVENGE_BENCH_FANOUT_H
#define REVENGE_BENCH_FANOUT_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "histo.h"
#include "mesh.h"

struct fanout_opts {
	struct common_opts c;
	unsigned parties, members;    /* members per party, the host included */
	double rate;                  /* syncs per second per host */
};

/* Run it; prints the result (table or JSON). Returns the exit status
 * (mesh_main's): 0; 1 when connections failed or were closed by the
 * server, a sync got an error reply or a delivery was lost; 130 after
 * Ctrl-C. */
int fanout_run(const struct fanout_opts *o);

/* The fan-out itself, for the scenarios that add to it (churn): the hosts
 * of a mesh sending syncs, the other members timing them. Zero it, set
 * rate, and call these from the mesh's hooks. */
struct syncload {
	double rate;                  /* syncs per second per host */
	uint64_t due, sent;           /* syncs due, sent in the window */
	uint64_t received, errors;    /* deliveries of window syncs, error replies */
	unsigned rr;                  /* the next host */
	struct histo lat;
};

/* pace hook: the syncs due by now, round-robin over the hosts. */
void syncload_pace(struct syncload *s, struct mesh *ms, double now);
/* message hook: time a delivery to a member (the hosts' syncs are
 * ignored); count an error reply, to anyone, and record it (mesh_error). */
void syncload_message(struct syncload *s, struct mesh *ms, struct mesh_member *m,
		      const char *text, size_t len);
/* Deliveries expected for the syncs sent: every member but the host. */
uint64_t syncload_expected(const struct syncload *s, const struct mesh *ms);

#endif
