/* lib/clock.c - server time arithmetic and playback extrapolation (see clock.h).
 *
 * Owns the maths that turns clock readings into wire server time, a playback
 * state into a position, and one NTP-style exchange into an offset. It reads
 * no clock (systime.c does), so every result here is a function of its
 * arguments and the tests can drive it with made-up readings.
 */
#include "revenge/clock.h"

#include <stddef.h>

void rv_clock_anchor(struct rv_clock *c, double wall_ms, uint64_t mono_ns)
{
	c->wall_anchor_ms = wall_ms;
	c->mono_anchor_ns = mono_ns;
}

double rv_clock_server_time(const struct rv_clock *c, uint64_t mono_ns)
{
	uint64_t d;

	/* Unsigned subtraction would wrap to ~584 years ahead. */
	if (mono_ns <= c->mono_anchor_ns)
		return c->wall_anchor_ms;
	d = mono_ns - c->mono_anchor_ns;
	/* Whole milliseconds and the nanosecond rest converted apart: a double
	 * holds nanoseconds exactly only up to 2^53 (about 104 days of uptime),
	 * and the sub-millisecond part is what the wire promises. */
	return c->wall_anchor_ms + (double)(d / 1000000u) +
	       (double)(d % 1000000u) / 1e6;
}

double rv_playback_position_at(const struct rv_playback *st, double now_ms)
{
	double elapsed;

	if (!st->playing)
		return st->position;
	elapsed = now_ms - st->server_time;
	/* Written so a NaN elapsed also holds the position: a scheduled start
	 * in the future, or garbage, never moves playback backwards. */
	if (!(elapsed > 0))
		return st->position;
	return st->position + elapsed / 1000.0 * st->speed;
}

void rv_clock_ntp_sample(double t0, double t1, double t2, double t3,
			 double *offset, double *rtt)
{
	double r = (t3 - t0) - (t2 - t1);

	if (offset)
		*offset = ((t1 - t0) + (t2 - t3)) / 2.0;
	if (rtt)
		/* Clocks of different resolution can make the server's hold
		 * time exceed the client's round trip; a delay is never < 0. */
		*rtt = r > 0 ? r : 0;
}
