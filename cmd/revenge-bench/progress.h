/* cmd/revenge-bench/progress.h - the progress scenario: sessions sending
 * durable progress reports with ids, timing each report to its ack.
 */
#ifndef REVENGE_BENCH_PROGRESS_H
#define REVENGE_BENCH_PROGRESS_H

#include "common.h"

#define PROGRESS_INFLIGHT_MAX 64  /* --inflight at most */

struct progress_opts {
	struct common_opts c;
	unsigned sessions;
	unsigned inflight;            /* unacked reports per session */
	double rate;                  /* open loop: reports per second in all;
				       * 0: closed loop, the next report on ack */
};

/* Run it; prints the result (table or JSON). Returns the exit status:
 * 0, or 1 when nothing was measured or sessions failed or were closed by
 * the server. */
int progress_run(const struct progress_opts *o);

#endif
