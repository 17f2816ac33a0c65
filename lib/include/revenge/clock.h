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

/* Offset estimate from one NTP-style exchange (all ms): t0 client send,
 * t1 server receive, t2 server send, t3 client receive. *offset is what to
 * add to the client clock to get server time; *rtt the round trip without
 * the server's own queueing. */
void rv_clock_ntp_sample(double t0, double t1, double t2, double t3,
			 double *offset, double *rtt);

/* A client's estimate of its clock offset from server time, the NTP way:
 * keep the last RV_OFFSET_SAMPLES exchanges and trust the one with the
 * lowest round trip (the least queueing, so the least asymmetry). */
#define RV_OFFSET_SAMPLES 8
#define RV_OFFSET_QUICK 3            /* quick exchanges after (re)connecting */

struct rv_offset_est {
	struct { double offset, rtt; } s[RV_OFFSET_SAMPLES];
	unsigned n;                  /* samples held, <= RV_OFFSET_SAMPLES */
	unsigned next;               /* ring position of the next sample */
	unsigned total;              /* samples ever added */
};

/* Forget every sample (after a reconnect the path may differ). */
void rv_offset_reset(struct rv_offset_est *e);

/* Add one exchange: t0 client send, t1 server receive, t2 server send, t3
 * client receive (ms; t0/t3 on the client's clock). Samples with a negative
 * or non-finite round trip are ignored. */
void rv_offset_add(struct rv_offset_est *e, double t0, double t1, double t2, double t3);

/* The best estimate: false when there is no sample yet. offset is what to
 * add to the client clock to get server time. */
bool rv_offset_get(const struct rv_offset_est *e, double *offset, double *rtt);

/* When to send the next time request, in ms: RV_OFFSET_QUICK quick ones
 * (200 ms apart) while the estimator is new, then every 30-60 s; r is a
 * random number in [0, 1) chosen by the caller. */
double rv_offset_next_delay_ms(const struct rv_offset_est *e, double r);

#ifdef __cplusplus
}
#endif

#endif
