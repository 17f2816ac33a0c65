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

#endif
