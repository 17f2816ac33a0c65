/* cmd/revenge-bench/churn.h - the churn scenario: a fan-out to stable
 * members while extra members join and leave the parties.
 */
#ifndef REVENGE_BENCH_CHURN_H
#define REVENGE_BENCH_CHURN_H

#include "common.h"

#define CHURN_STAY_MIN_S 0.5      /* a churning member stays this long... */
#define CHURN_STAY_MAX_S 2.0      /* ...to this long */
#define CHURN_JOIN_SLACK_S 2.0    /* time allowed for a join and a leave */

struct churn_opts {
	struct common_opts c;
	unsigned parties, members;    /* stable members per party, the host included */
	double rate;                  /* syncs per second per host */
	double churn;                 /* joins per second in all */
};

/* Churning members held at once, at most: the pool their connections come
 * from (each stays at most CHURN_STAY_MAX_S, plus the join and the leave). */
unsigned long churn_pool_size(double churn);

/* Run it; prints the result (table or JSON). Returns the exit status
 * (mesh_main's): 0; 1 when stable members failed or were closed by the
 * server, churning members could not join, were closed by the server, or
 * a join was missed or never answered, a stable member lost a sync, or an
 * error reply came; 130 after Ctrl-C. */
int churn_run(const struct churn_opts *o);

#endif
