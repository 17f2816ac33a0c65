/* cmd/revenge-bench/sync.h - the sync scenario: how closely the members of
 * one party show the same playback position, each member behind its own
 * simulated network path (delay.h) and its own skewed clock.
 */
#ifndef REVENGE_BENCH_SYNC_H
#define REVENGE_BENCH_SYNC_H

#include <stdbool.h>
#include <stdint.h>

#include "common.h"
#include "delay.h"

#define SYNC_CMD_FIRST_S 0.5      /* the first host command, into the window */
#define SYNC_CMD_EVERY_S 2.0      /* then one every this long, at the soonest */
#define SYNC_SETTLE_S 0.5         /* after the last member switched: still the
				   * command's transient, not steady */
#define SYNC_QUIET_S 1.0          /* and no new command before this long after */
#define SYNC_SAMPLE_MS 10.0       /* every member is read this often */
#define SYNC_SEEK_S 10.0          /* a seek jumps this far ahead */
#define SYNC_NODES_MAX 16         /* --url given this often at most */
#define SYNC_BACK_MS 10.0         /* --rejoin: a member is back in sync within this
				   * of the host's position */
#define SYNC_AFTER_S 2.0          /* --rejoin: the spread this long after a welcome
				   * back is reported apart */

struct sync_opts {
	struct common_opts c;
	unsigned members;             /* the host included */
	double up_ms, down_ms;        /* base delay member -> server, server -> member */
	double jitter_ms;             /* each direction: +- (uniform) or sd (normal) */
	enum delay_dist dist;
	double skew_ppm;              /* member clocks run off by up to +- this */
	uint64_t seed;
	bool rejoin;                  /* a member that loses its connection joins again */
};

/* Run it; prints the result (table or JSON). Returns the exit status: 0,
 * or 1 when members failed or were closed by the server, or nothing was
 * measured. */
int sync_run(const struct sync_opts *o);

#endif
