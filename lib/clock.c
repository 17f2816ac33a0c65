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

/* Every sample's offset o is the true offset at some instant within rtt/2 of
 * its midpoint t, off by at most rtt/2 (all of it path asymmetry): o =
 * theta(t + a) + a with |a| <= rtt/2. Against a line in t it is therefore
 * off by at most (1 + |skew|) rtt/2; RV_OFFSET_MAX_SKEW_PPM caps |skew|. */
static double sample_err(const struct rv_offset_est *e, unsigned i)
{
	return e->s[i].rtt / 2 * (1 + RV_OFFSET_MAX_SKEW_PPM * 1e-6);
}

/* Weight of a low-RTT sample in the fit: a sample's asymmetry can only be
 * as large as its round trip's excess over the path's floor allows, so
 * the samples nearest the minimum RTT count most (any weights keep the
 * worst case below valid). */
static double fit_weight(double rtt, double rmin)
{
	double x = rtt - rmin + RV_OFFSET_RTT_MARGIN_MS;

	return 1 / (x * x);
}

/* The weighted least-squares line through the low-RTT samples: *b its
 * slope, *berr the worst case of the slope's error given each sample's own
 * bound, *se the slope's standard error (its likely error, from the
 * residuals). */
static bool fit_skew(const struct rv_offset_est *e, double *b_out, double *berr_out,
		     double *se_out)
{
	unsigned n = held(e), m = 0;
	double rmin, limit, tmin = INFINITY, tmax = -INFINITY, tm = 0, om = 0, sw = 0;
	double sxx = 0, sxy = 0, serr = 0, sres = 0, b, berr, se;

	if (n == 0)
		return false;
	rmin = e->s[min_rtt_index(e)].rtt;
	limit = rmin + RV_OFFSET_RTT_MARGIN_MS + rmin / 2;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = nth(e, k);
		double w = fit_weight(e->s[i].rtt, rmin);

		if (e->s[i].rtt > limit)
			continue;
		m++;
		sw += w;
		tm += w * e->s[i].t;
		om += w * e->s[i].offset;
		tmin = fmin(tmin, e->s[i].t);
		tmax = fmax(tmax, e->s[i].t);
	}
	if (m < RV_OFFSET_FIT_MIN || !(tmax - tmin >= RV_OFFSET_FIT_SPAN_MS))
		return false;
	/* Centred sums: epoch-ms times squared would swamp the differences. */
	tm /= sw;
	om /= sw;
	for (unsigned k = 0; k < n; k++) {
		unsigned i = nth(e, k);
		double w = fit_weight(e->s[i].rtt, rmin), dx;

		if (e->s[i].rtt > limit)
			continue;
		dx = e->s[i].t - tm;
		sxx += w * dx * dx;
		sxy += w * dx * (e->s[i].offset - om);
		serr += w * fabs(dx) * sample_err(e, i);
	}
	if (!(sxx > 0))
		return false;
	b = sxy / sxx;
	/* The slope is sum w_i dx_i o_i / sxx, so sample errors e_i move it by
	 * sum w_i dx_i e_i / sxx: at most sum w_i |dx_i| |e_i|max / sxx. */
	berr = serr / sxx;
	if (!isfinite(b) || fabs(b) > RV_OFFSET_MAX_SKEW_PPM * 1e-6)
		return false;
	/* The same sum with the residuals for the errors: the slope's
	 * standard error whatever each sample's own variance. */
	for (unsigned k = 0; k < n; k++) {
		unsigned i = nth(e, k);
		double w = fit_weight(e->s[i].rtt, rmin), dx, r;

		if (e->s[i].rtt > limit)
			continue;
		dx = e->s[i].t - tm;
		r = e->s[i].offset - om - b * dx;
		sres += w * w * dx * dx * r * r;
	}
	se = sqrt(sres) / sxx * (m > 2 ? sqrt((double)m / (m - 2)) : 1);
	*b_out = b;
	*berr_out = berr;
	*se_out = isfinite(se) ? fmin(se, berr) : berr;
	return true;
}

bool rv_offset_skew(const struct rv_offset_est *e, double *skew, double *skew_err)
{
	double b, berr, se;

	if (!fit_skew(e, &b, &berr, &se))
		return false;
	if (skew)
		*skew = b;
	if (skew_err)
		*skew_err = berr;
	return true;
}

/* What the estimate assumes about the skew: the true skew lies in [lo, hi]
 * (the fit's worst case, within the assumed drift bound unless the fit
 * lies wholly outside it: measurements beat the assumption); b is the
 * skew to extrapolate with and w its likely error. On a jittery path a fit
 * of a minute of samples is noisy (tens of ppm) while the skew itself is
 * rarely over a few tens of ppm, so the fit is weighed against that prior
 * (mean 0, RV_OFFSET_SKEW_PRIOR_PPM), with its standard error doubled as
 * the residuals of a few samples understate it: b shrinks towards 0 until
 * the fit is sure, and a clean path's fit (tiny error) is taken as is. */
struct skew_view {
	double lo, hi, b, w;
};

static struct skew_view skew_view(const struct rv_offset_est *e)
{
	double d = RV_OFFSET_DRIFT_PPM * 1e-6, p = RV_OFFSET_SKEW_PRIOR_PPM * 1e-6;
	double b, berr, se, v2;
	struct skew_view v = { -d, d, 0, d };

	if (!fit_skew(e, &b, &berr, &se))
		return v;
	if (b - berr <= v.hi && b + berr >= v.lo) {
		v.lo = fmax(v.lo, b - berr);
		v.hi = fmin(v.hi, b + berr);
	} else {
		v.lo = b - berr;
		v.hi = b + berr;
	}
	se *= 2;
	v2 = p * p + se * se;
	v.b = v2 > 0 ? b * (p * p) / v2 : b;
	v.b = fmin(fmax(v.b, v.lo), v.hi);
	/* three posterior standard deviations, never wider than the bound */
	v.w = fmin(v2 > 0 ? 3 * p * se / sqrt(v2) : 0, fmax(v.hi - v.b, v.b - v.lo));
	return v;
}

bool rv_offset_get_ex(const struct rv_offset_est *e, double client_now_ms,
		      double *offset, double *rtt, double *error_ms)
{
	unsigned n = held(e), best = 0;
	struct skew_view v;
	double smax, spread, best_err = INFINITY;
	double lo = -INFINITY, hi = INFINITY, nlo = -INFINITY, nhi = INFINITY, x, err;

	if (n == 0 || !isfinite(client_now_ms))
		return false;
	v = skew_view(e);
	smax = fmax(fabs(v.lo), fabs(v.hi));
	spread = fmax(v.hi - v.b, v.b - v.lo);
	/* Each sample confines the offset now to an interval: its own error
	 * bound, moved along every skew still possible. The true offset lies
	 * in all of them, so in their intersection [lo, hi]. A queueing spike
	 * only widens its sample's interval, so it never pulls the estimate.
	 * The same intervals moved along the likely skew, widened by its
	 * likely error, intersect in [nlo, nhi], whose middle is the estimate:
	 * the average of the two one-way floors the fastest samples reveal
	 * (with symmetric jitter, far closer than any one sample). */
	for (unsigned k = n; k-- > 0;) {
		unsigned i = nth(e, k);
		double dt = client_now_ms - e->s[i].t, o = e->s[i].offset;
		double r = sample_err(e, i) + smax * e->s[i].rtt / 2 + 1e-6;
		double single = r + spread * fabs(dt);

		lo = fmax(lo, o - r + fmin(v.lo * dt, v.hi * dt));
		hi = fmin(hi, o + r + fmax(v.lo * dt, v.hi * dt));
		nlo = fmax(nlo, o + v.b * dt - e->s[i].rtt / 2 - v.w * fabs(dt));
		nhi = fmin(nhi, o + v.b * dt + e->s[i].rtt / 2 + v.w * fabs(dt));
		/* Newest first with <, so a tie goes to the newest sample. */
		if (single < best_err) {
			best_err = single;
			best = i;
		}
	}
	if (!isfinite(best_err))
		return false;
	if (lo <= hi && isfinite(lo) && isfinite(hi)) {
		x = nlo <= nhi ? (nlo + nhi) / 2 : (lo + hi) / 2;
		x = fmin(fmax(x, lo), hi);
		err = fmax(x - lo, hi - x);
	} else {
		/* Samples that contradict each other (a clock stepped, a path
		 * changed): the best single sample, as NTP would. */
		x = e->s[best].offset + v.b * (client_now_ms - e->s[best].t);
		err = best_err;
	}
	if (offset)
		*offset = x;
	if (rtt)
		*rtt = e->s[best].rtt;
	if (error_ms)
		*error_ms = err;
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
	struct skew_view v;
	double err, growth, d;

	if (e->total < RV_OFFSET_QUICK)
		return 200.0;
	/* As often as the skew's likely error needs: the estimate drifts by
	 * that error per ms, and the next sample is due when it would have
	 * drifted RV_OFFSET_GROW_MS. An unknown skew (the assumed 100 ppm)
	 * means a sample every 1-2 s, which also fits the skew soon; the
	 * cadence then slows as the fit tightens, to 30-60 s. A jittery path
	 * keeps a wide fit longer and so keeps sampling: its samples are
	 * what the estimate averages. */
	v = skew_view(e);
	/* The likely error, but not under a quarter of the worst case: a fit
	 * of a few samples can look far better than it is. */
	growth = fmax(v.w, (v.hi - v.lo) / 8);
	d = growth > 0 ? RV_OFFSET_GROW_MS / growth : RV_OFFSET_MAX_DELAY_MS;
	d = fmin(fmax(d, RV_OFFSET_MIN_DELAY_MS), RV_OFFSET_MAX_DELAY_MS);
	/* The bound just after the newest sample: while it is large, more
	 * samples can still find an emptier path (and the estimate is their
	 * average), so at least every 0.25-0.5 s, for a while (a path that stays
	 * slow cannot be beaten). */
	if (e->total < RV_OFFSET_SETTLE && held(e) > 0 &&
	    rv_offset_get_ex(e, e->s[nth(e, held(e) - 1)].t, NULL, NULL, &err) &&
	    err > RV_OFFSET_GOOD_MS)
		d = fmin(d, RV_OFFSET_SETTLE_DELAY_MS);
	return jitter(d, d, r);
}
