/* lib/clock.c - server time arithmetic and playback extrapolation (see clock.h).
 *
 * Owns the maths that turns clock readings into wire server time, a playback
 * state into a position, one NTP-style exchange into an offset, and a ring
 * of exchanges into the client's best offset estimate. It reads
 * no clock (systime.c does), so every result here is a function of its
 * arguments and the tests can drive it with made-up readings.
 */
#include "revenge/clock.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

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

/* The offset estimator below keeps a small ring of exchanges and trusts the
 * one with the shortest round trip: queueing only ever adds delay, and the
 * error of an NTP sample is at most half its round trip, so the fastest
 * exchange bounds the error best. */

void rv_offset_reset(struct rv_offset_est *e)
{
	memset(e, 0, sizeof(*e));
}

void rv_offset_add(struct rv_offset_est *e, double t0, double t1, double t2, double t3)
{
	double offset, rtt = (t3 - t0) - (t2 - t1);

	/* Written so NaN fails too; a negative round trip means a clock went
	 * backwards or a reply was matched to the wrong request. */
	if (!(rtt >= 0) || !isfinite(rtt))
		return;
	rv_clock_ntp_sample(t0, t1, t2, t3, &offset, &rtt);
	if (!isfinite(offset))
		return;
	e->s[e->next].offset = offset;
	e->s[e->next].rtt = rtt;
	e->next = (e->next + 1) % RV_OFFSET_SAMPLES;
	if (e->n < RV_OFFSET_SAMPLES)
		e->n++;
	e->total++;
}

bool rv_offset_get(const struct rv_offset_est *e, double *offset, double *rtt)
{
	unsigned n = e->n <= RV_OFFSET_SAMPLES ? e->n : RV_OFFSET_SAMPLES;
	unsigned oldest = (e->next % RV_OFFSET_SAMPLES + RV_OFFSET_SAMPLES - n) %
			  RV_OFFSET_SAMPLES;
	unsigned best = oldest;

	if (n == 0)
		return false;
	/* Oldest to newest with <=, so a tie goes to the newest sample: the
	 * same quality, and less drift since it was taken. */
	for (unsigned k = 1; k < n; k++) {
		unsigned i = (oldest + k) % RV_OFFSET_SAMPLES;

		if (e->s[i].rtt <= e->s[best].rtt)
			best = i;
	}
	if (offset)
		*offset = e->s[best].offset;
	if (rtt)
		*rtt = e->s[best].rtt;
	return true;
}

double rv_offset_next_delay_ms(const struct rv_offset_est *e, double r)
{
	if (e->total < RV_OFFSET_QUICK)
		return 200.0;
	/* Out-of-range r (or NaN) still yields a delay in [30 s, 60 s). */
	if (!(r >= 0))
		r = 0;
	if (r >= 1)
		r = 0.999999;
	return 30000.0 + 30000.0 * r;
}
