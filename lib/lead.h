/* lib/lead.h - internal: the lead of scheduled commands, pure.
 *
 * A host's command (a sync) is stamped with a server_time `lead` ms in the
 * future, so that every member, the host included, applies it at the same
 * instant. The lead must cover the relay to the slowest member and that
 * member's clock error: the relay takes about RTT/2 and an NTP-style clock
 * estimate is off by at most RTT/2, so one RTT covers both on a quiet path;
 * the second RTT is the margin for jitter and queueing. Hence
 *
 *     lead = clamp(2 * the highest recent member RTT, min_ms, max_ms)
 *
 * with min_ms when no RTT is known and 0 when max_ms is 0 (unscheduled:
 * commands take effect when stamped, the v1 behaviour).
 *
 * "Recent" is a window of RV__LEAD_BUCKETS buckets of RV__LEAD_BUCKET_MS:
 * each bucket keeps the highest RTT that arrived in its slice of time, and
 * the window's maximum is the maximum over the buckets of the last
 * (RV__LEAD_BUCKETS - 1) to RV__LEAD_BUCKETS slices, i.e. the samples of the
 * last 30 to 40 s. A sample costs O(1) and a query O(RV__LEAD_BUCKETS),
 * however many members the party has: no per-member scan on a sync. A
 * member that leaves takes its samples away only when they age out.
 * The caller hands in the time (server ms); nothing here reads a clock.
 */
#ifndef REVENGE_LEAD_H
#define REVENGE_LEAD_H

#include <stdbool.h>

#include "revenge/clock.h"

#define RV__LEAD_BUCKETS 4
#define RV__LEAD_BUCKET_MS 10000.0
#define RV__LEAD_RTT_MAX_MS 60000.0   /* a slower "round trip" is garbage, ignored */
/* A sync within this (times the speed, plus the host's upload allowance)
 * of where the party is continues the playback rather than seeking. */
#define RV__LEAD_CONTINUOUS_MS 250.0
/* The most a host's RTT adds to that allowance when its sync has no `at`. */
#define RV__LEAD_UPLOAD_MAX_MS 750.0

struct rv__lead {
	double min_ms, max_ms;
	double top[RV__LEAD_BUCKETS];         /* highest RTT in the slice, ms */
	long long slice[RV__LEAD_BUCKETS];    /* which slice it is (time / bucket), -1 none */
};

/* Start with no samples, min_ms and max_ms as configured (max_ms 0:
 * unscheduled). */
void rv__lead_init(struct rv__lead *l, double min_ms, double max_ms);
/* One RTT sample measured at now_ms. Negative, non-finite or over
 * RV__LEAD_RTT_MAX_MS samples are ignored. */
void rv__lead_rtt(struct rv__lead *l, double rtt_ms, double now_ms);
/* The highest RTT of the window at now_ms, NAN when it holds none. */
double rv__lead_rtt_max(const struct rv__lead *l, double now_ms);
/* The lead in force at now_ms (ms): 0 when max_ms is 0, else
 * clamp(2 * rv__lead_rtt_max, min_ms, max_ms), min_ms without samples. */
double rv__lead_ms(const struct rv__lead *l, double now_ms);

/* The state a host's sync results in when stamped for T = t_ms (now +
 * lead). in_force: the party's state in force now; pending: the state it
 * scheduled last, NULL when none is still pending (a new command replaces
 * a pending one, as rv_schedule does on clients). host: what the host's
 * sync says (its position at host->server_time, the `at` or now, with
 * its new playing and speed). tol_ms: the continuity allowance in time.
 *
 * Continuous (the host's position is within tol_ms * max(1, speed) /
 * 1000 s of where the state in force, or the pending one, put playback at
 * the instant the host describes): the position is where playback will
 * be at T, so
 * a pause stops where everyone will be and a resume or a speed change goes
 * on from there. With a pending state: from the pending seek's target if
 * it was a seek, else the further of in_force and pending at T (members
 * may be on either; nobody moves back). Otherwise a seek: the host's
 * position, which everyone jumps to at T. playing and speed are the
 * host's. t_ms should not precede pending's server_time. */
struct rv_playback rv__lead_schedule(const struct rv_playback *in_force,
				     const struct rv_playback *pending,
				     const struct rv_playback *host, double tol_ms, double t_ms);

/* Where a continuous command stamped for t_ms goes on from: in_force's
 * position at t_ms; with a pending state (NULL: none), the pending seek's
 * target if it was a seek, else the further of the two at t_ms, since a
 * member that got the pending state in time drops it for the new one and
 * one that got it late followed it: nobody moves back. The barrier's
 * stalls and releases (barrier.c) go on the same way. */
double rv__lead_position(const struct rv_playback *in_force,
			 const struct rv_playback *pending, double t_ms);

#endif
