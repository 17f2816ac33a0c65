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

void rv_schedule_init(struct rv_schedule *s, const struct rv_playback *initial)
{
	s->current = *initial;
	s->has_pending = false;
}

void rv_schedule_push(struct rv_schedule *s, const struct rv_playback *st,
		      double now_ms)
{
	/* A pending state that is already due is promoted first, so a state
	 * scheduled after it extrapolates from the right one. */
	rv_schedule_at(s, now_ms);
	if (st->server_time > now_ms) {
		s->pending = *st;
		s->has_pending = true;
	} else {
		s->current = *st;
		s->has_pending = false;
	}
}

const struct rv_playback *rv_schedule_at(struct rv_schedule *s, double now_ms)
{
	if (s->has_pending && now_ms >= s->pending.server_time) {
		s->current = s->pending;
		s->has_pending = false;
	}
	return &s->current;
}

double rv_schedule_position(struct rv_schedule *s, double now_ms)
{
	return rv_playback_position_at(rv_schedule_at(s, now_ms), now_ms);
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

/* The offset estimator below keeps a ring of exchanges. Queueing only ever
 * adds delay and the error of an NTP sample is at most half its round trip,
 * so the fastest exchanges bound the error best; the low-RTT ones also feed
 * a least-squares skew fit so the estimate follows the drift between
 * samples (see clock.h for the constants and why). */

void rv_offset_reset(struct rv_offset_est *e)
{
	memset(e, 0, sizeof(*e));
}

void rv_offset_add(struct rv_offset_est *e, double t0, double t1, double t2, double t3)
{
	double offset, rtt = (t3 - t0) - (t2 - t1);

	/* Written so NaN fails too; a negative round trip means a clock went
	 * backwards or a reply was matched to the wrong request. */
	if (!(rtt >= 0) || !isfinite(rtt) || rtt > RV_OFFSET_MAX_RTT_MS)
		return;
	/* Huge time stamps would make the fit's sums lose every digit. */
	if (!(fabs(t0) <= RV_OFFSET_MAX_TIME_MS && fabs(t1) <= RV_OFFSET_MAX_TIME_MS &&
	      fabs(t2) <= RV_OFFSET_MAX_TIME_MS && fabs(t3) <= RV_OFFSET_MAX_TIME_MS))
		return;
	rv_clock_ntp_sample(t0, t1, t2, t3, &offset, &rtt);
	if (!isfinite(offset))
		return;
	e->s[e->next].offset = offset;
	e->s[e->next].rtt = rtt;
	e->s[e->next].t = (t0 + t3) / 2.0;
	e->next = (e->next + 1) % RV_OFFSET_SAMPLES;
	if (e->n < RV_OFFSET_SAMPLES)
		e->n++;
	e->total++;
}

/* Samples held, and the ring index of the k-th oldest of them. */
static unsigned held(const struct rv_offset_est *e)
{
	return e->n <= RV_OFFSET_SAMPLES ? e->n : RV_OFFSET_SAMPLES;
}

static unsigned nth(const struct rv_offset_est *e, unsigned k)
{
	unsigned n = held(e);

	return (e->next % RV_OFFSET_SAMPLES + RV_OFFSET_SAMPLES - n + k) %
	       RV_OFFSET_SAMPLES;
}

/* Ring index of the lowest-RTT sample, the newest on a tie; n must be > 0. */
static unsigned min_rtt_index(const struct rv_offset_est *e)
{
	unsigned n = held(e), best = nth(e, 0);

	/* Oldest to newest with <=, so a tie goes to the newest sample: the
	 * same quality, and less drift since it was taken. */
	for (unsigned k = 1; k < n; k++) {
		unsigned i = nth(e, k);

		if (e->s[i].rtt <= e->s[best].rtt)
			best = i;
	}
	return best;
}

bool rv_offset_get(const struct rv_offset_est *e, double *offset, double *rtt)
{
	unsigned best;

	if (held(e) == 0)
		return false;
	best = min_rtt_index(e);
	if (offset)
		*offset = e->s[best].offset;
	if (rtt)
		*rtt = e->s[best].rtt;
	return true;
}

bool rv_offset_skew(const struct rv_offset_est *e, double *skew, double *skew_err)
{
	unsigned n = held(e), m = 0;
	double limit, tmin = INFINITY, tmax = -INFINITY, tm = 0, om = 0;
	double sxx = 0, sxy = 0, sax = 0, emax = 0, b, berr;

	if (n == 0)
		return false;
	limit = e->s[min_rtt_index(e)].rtt;
	limit += RV_OFFSET_RTT_MARGIN_MS + limit / 2;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = nth(e, k);

		if (e->s[i].rtt > limit)
			continue;
		m++;
		tm += e->s[i].t;
		om += e->s[i].offset;
		tmin = fmin(tmin, e->s[i].t);
		tmax = fmax(tmax, e->s[i].t);
	}
	if (m < RV_OFFSET_FIT_MIN || !(tmax - tmin >= RV_OFFSET_FIT_SPAN_MS))
		return false;
	tm /= m;
	om /= m;
	/* Centred sums: epoch-ms times squared would swamp the differences. */
	for (unsigned k = 0; k < n; k++) {
		unsigned i = nth(e, k);
		double dx;

		if (e->s[i].rtt > limit)
			continue;
		dx = e->s[i].t - tm;
		sxx += dx * dx;
		sxy += dx * (e->s[i].offset - om);
		sax += fabs(dx);
		emax = fmax(emax, e->s[i].rtt / 2);
	}
	if (!(sxx > 0))
		return false;
	b = sxy / sxx;
	/* Each offset is off by at most its rtt/2, so the slope is off by at
	 * most emax * sum|dx| / sum dx^2 (the worst case of the LS formula). */
	berr = emax * sax / sxx;
	if (!isfinite(b) || fabs(b) > RV_OFFSET_MAX_SKEW_PPM * 1e-6)
		return false;
	if (skew)
		*skew = b;
	if (skew_err)
		*skew_err = berr;
	return true;
}

bool rv_offset_get_ex(const struct rv_offset_est *e, double client_now_ms,
		      double *offset, double *rtt, double *error_ms)
{
	unsigned n = held(e), best = 0;
	double skew = 0, skew_err = RV_OFFSET_DRIFT_PPM * 1e-6, best_err = INFINITY;

	if (n == 0 || !isfinite(client_now_ms))
		return false;
	rv_offset_skew(e, &skew, &skew_err);
	/* Newest first with <, so a tie goes to the newest sample. */
	for (unsigned k = n; k-- > 0;) {
		unsigned i = nth(e, k);
		double err = e->s[i].rtt / 2 + skew_err * fabs(client_now_ms - e->s[i].t);

		if (err < best_err) {
			best_err = err;
			best = i;
		}
	}
	if (!isfinite(best_err))
		return false;
	if (offset)
		*offset = e->s[best].offset + skew * (client_now_ms - e->s[best].t);
	if (rtt)
		*rtt = e->s[best].rtt;
	if (error_ms)
		*error_ms = best_err;
	return true;
}

double rv_offset_server_now(const struct rv_offset_est *e, double client_now_ms)
{
	double offset;

	if (!rv_offset_get_ex(e, client_now_ms, &offset, NULL, NULL))
		return client_now_ms;
	return client_now_ms + offset;
}

/* Uniform in [lo, lo + span) for r in [0, 1); out-of-range r or NaN clamp. */
static double jitter(double lo, double span, double r)
{
	if (!(r >= 0))
		r = 0;
	if (r >= 1)
		r = 0.999999;
	return lo + span * r;
}

double rv_offset_next_delay_ms(const struct rv_offset_est *e, double r)
{
	double err;

	if (e->total < RV_OFFSET_QUICK)
		return 200.0;
	/* The bound just after the newest sample: how good the window is,
	 * apart from the time that passes until the caller asks. */
	if (e->total < RV_OFFSET_SETTLE && held(e) > 0 &&
	    rv_offset_get_ex(e, e->s[nth(e, held(e) - 1)].t, NULL, NULL, &err) &&
	    err > RV_OFFSET_GOOD_MS)
		return jitter(2000.0, 2000.0, r);
	return jitter(30000.0, 30000.0, r);
}
