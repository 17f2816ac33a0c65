/* revenge/clock.h - server time and playback extrapolation (pure).
 *
 * Server time is milliseconds since the Unix epoch with sub-millisecond
 * precision, derived from a monotonic clock anchored to the wall clock once:
 * it never goes backwards and ignores steps of the system clock. Nothing here
 * reads a clock; callers pass readings in (see systime.h for the reads).
 */
#ifndef REVENGE_CLOCK_H
#define REVENGE_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rv_clock {
	double wall_anchor_ms;      /* wall clock at the anchor instant */
	uint64_t mono_anchor_ns;    /* monotonic clock at the same instant */
};

/* The authoritative playback state: at server time server_time (ms) the
 * playback was at position (s), playing or paused, at speed. */
struct rv_playback {
	double position;
	bool playing;
	double speed;
	double server_time;
};

/* Anchor c: server time wall_ms corresponds to monotonic reading mono_ns. */
void rv_clock_anchor(struct rv_clock *c, double wall_ms, uint64_t mono_ns);

/* Server time (ms, fractional) for a monotonic reading. Readings earlier
 * than the anchor clamp to the anchor, so the result never precedes it. */
double rv_clock_server_time(const struct rv_clock *c, uint64_t mono_ns);

/* Position (s) of st at server time now_ms: position + max(0, now -
 * server_time)/1000 * speed while playing, position while paused. A
 * server_time in the future holds position until then. */
double rv_playback_position_at(const struct rv_playback *st, double now_ms);

/* A player's view of scheduled commands. The server stamps the state a
 * command results in with a server_time slightly in the future (the
 * lead), so that every member applies it at the same instant; until then
 * the state before it still holds (a scheduled pause keeps playing until
 * its instant). A schedule keeps the state in force and at most one
 * pending state: a newer pending state replaces the older one, since the
 * server only ever schedules from the latest state. Pure, no allocation. */
struct rv_schedule {
	struct rv_playback current;
	struct rv_playback pending;
	bool has_pending;
};

/* Start with initial in force (e.g. a welcome's state). */
void rv_schedule_init(struct rv_schedule *s, const struct rv_playback *initial);
/* A state received at server time now_ms: in force at once when its
 * server_time is not after now_ms, else pending until then. */
void rv_schedule_push(struct rv_schedule *s, const struct rv_playback *st,
		      double now_ms);
/* The state in force at now_ms, promoting a pending state that fell due.
 * Borrowed from s, valid until the next call on s. */
const struct rv_playback *rv_schedule_at(struct rv_schedule *s, double now_ms);
/* The position at now_ms under the state in force then: for a pending
 * state not yet due, the current state's extrapolation. */
double rv_schedule_position(struct rv_schedule *s, double now_ms);

/* Offset estimate from one NTP-style exchange (all ms): t0 client send,
 * t1 server receive, t2 server send, t3 client receive. *offset is what to
 * add to the client clock to get server time; *rtt the round trip without
 * the server's own queueing. */
void rv_clock_ntp_sample(double t0, double t1, double t2, double t3,
			 double *offset, double *rtt);

/* A client's estimate of its clock offset from server time, the NTP way.
 *
 * Why this shape: an NTP exchange's offset is wrong by at most half its
 * round trip (all the error is path asymmetry, and queueing only ever adds
 * delay), so each exchange confines the true offset to an interval. A
 * window of RV_OFFSET_SAMPLES exchanges gives the queues many chances to be
 * empty. Over such a window the two clocks drift apart (crystals are off by
 * tens of ppm: 50 ppm is 3 ms a minute), so the low-RTT samples (within
 * RV_OFFSET_RTT_MARGIN_MS + half of the window's minimum RTT) are fitted by
 * least squares, offset against client time, once there are
 * RV_OFFSET_FIT_MIN of them spanning RV_OFFSET_FIT_SPAN_MS: the slope is the
 * skew (the fit weighs the samples nearest the minimum RTT most), with a
 * worst-case error (from each sample's own bound) and a likely one (its
 * standard error). Until then, and within it, the skew is assumed to be
 * at most RV_OFFSET_DRIFT_PPM. To extrapolate, the fit is weighed against
 * a prior of 0 +- RV_OFFSET_SKEW_PRIOR_PPM: a jittery minute's fit is off
 * by tens of ppm, worse than assuming none, so it counts once it is sure.
 *
 * The estimate at a time: every sample's interval, moved to that time
 * along every skew still possible, still holds the true offset, so their
 * intersection does; its half-width (from the estimate to its farther
 * edge) is the error bound, a true worst case. The offset itself is the
 * middle of the same intervals moved along the extrapolating skew and
 * widened by its likely error (clamped into the bound's intersection): in
 * effect the average of the lowest uplink and the lowest downlink delay
 * seen, which with symmetric jitter is far closer
 * than any single sample and which queueing spikes never move (they only
 * widen their own interval). Samples that contradict each other (a clock
 * stepped) fall back to the single sample with the smallest bound.
 * A constant path asymmetry is unobservable: half of it stays in the
 * offset, within the bound. */
#define RV_OFFSET_SAMPLES 48
#define RV_OFFSET_QUICK 3            /* quick exchanges after (re)connecting */
#define RV_OFFSET_SETTLE 24          /* samples taken at most before slowing down */
#define RV_OFFSET_GOOD_MS 10.0       /* an error bound that needs no more samples */
#define RV_OFFSET_RTT_MARGIN_MS 2.0  /* low-RTT margin over the minimum (plus min/2) */
#define RV_OFFSET_FIT_SPAN_MS 5000.0 /* low-RTT span before a skew is fitted */
#define RV_OFFSET_FIT_MIN 4          /* low-RTT samples before a skew is fitted */
#define RV_OFFSET_DRIFT_PPM 100.0    /* assumed drift bound without a fit */
#define RV_OFFSET_MAX_SKEW_PPM 1000.0 /* a fitted skew beyond this is not trusted */
#define RV_OFFSET_MAX_RTT_MS 60000.0 /* slower exchanges are ignored */
#define RV_OFFSET_MAX_TIME_MS 1e14   /* |time stamps| beyond (year 5138) are garbage */
#define RV_OFFSET_GROW_MS 0.1        /* likely drift allowed between samples */
#define RV_OFFSET_SKEW_PRIOR_PPM 25.0 /* typical |skew|, the fit is weighed against */
#define RV_OFFSET_SETTLE_DELAY_MS 250.0 /* cadence (times 1-2) while the bound is large */
#define RV_OFFSET_MIN_DELAY_MS 1000.0 /* the steady cadence's limits (times 1-2) */
#define RV_OFFSET_MAX_DELAY_MS 30000.0

struct rv_offset_est {
	/* offset and rtt of one exchange; t its client-side midpoint (t0+t3)/2 */
	struct { double offset, rtt, t; } s[RV_OFFSET_SAMPLES];
	unsigned n;                  /* samples held, <= RV_OFFSET_SAMPLES */
	unsigned next;               /* ring position of the next sample */
	unsigned total;              /* samples ever added */
};

/* Forget every sample (after a reconnect the path may differ). */
void rv_offset_reset(struct rv_offset_est *e);

/* Add one exchange: t0 client send, t1 server receive, t2 server send, t3
 * client receive (ms; t0/t3 on the client's clock). Samples with a negative,
 * non-finite or over RV_OFFSET_MAX_RTT_MS round trip, or a time stamp beyond
 * RV_OFFSET_MAX_TIME_MS, are ignored. */
void rv_offset_add(struct rv_offset_est *e, double t0, double t1, double t2, double t3);

/* The lowest-RTT sample as it was measured (no skew): false when there is
 * no sample yet. offset is what to add to the client clock to get server
 * time. Prefer rv_offset_get_ex, which knows the time and the drift. */
bool rv_offset_get(const struct rv_offset_est *e, double *offset, double *rtt);

/* The estimate for client time client_now_ms: *offset to add to it (see
 * above), *rtt of the sample with the smallest bound of its own at that
 * time, *error_ms the bound on |offset error| (which may be less than that
 * sample's rtt/2: other samples narrow it). Any output may be NULL.
 * False (outputs untouched) without a sample or for a non-finite time. */
bool rv_offset_get_ex(const struct rv_offset_est *e, double client_now_ms,
		      double *offset, double *rtt, double *error_ms);

/* client_now_ms + the offset of rv_offset_get_ex; client_now_ms itself
 * when there is no estimate. */
double rv_offset_server_now(const struct rv_offset_est *e, double client_now_ms);

/* The fitted skew (ms of offset change per ms of client time; 50 ppm is
 * 5e-5) and its uncertainty: false (outputs untouched) while the low-RTT
 * samples are too few or span too little time to fit one. */
bool rv_offset_skew(const struct rv_offset_est *e, double *skew, double *skew_err);

/* When to send the next time request, in ms; r is a random number in
 * [0, 1) chosen by the caller. RV_OFFSET_QUICK quick ones 200 ms apart after
 * a (re)connect, to have an estimate at once; then d to 2d, where d is the
 * time the estimate takes to drift RV_OFFSET_GROW_MS at the skew's likely
 * error (at least a quarter of its worst case), within
 * RV_OFFSET_MIN_DELAY_MS and RV_OFFSET_MAX_DELAY_MS: every 1-2 s while the
 * skew is unknown (100 ppm), slower as the fit tightens, 30-60 s once it is
 * known to a few ppm. While the error bound (at the newest sample) exceeds
 * RV_OFFSET_GOOD_MS and fewer than RV_OFFSET_SETTLE samples were taken, at
 * most RV_OFFSET_SETTLE_DELAY_MS (times 1-2): on a jittery path the
 * estimate is the samples' average, so more of them soon pay. */
double rv_offset_next_delay_ms(const struct rv_offset_est *e, double r);

#ifdef __cplusplus
}
#endif

#endif
