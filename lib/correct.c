/* lib/correct.c - the player correction policy (see correct.h).
 *
 * Owns the decision between nothing, a bounded playback rate and a seek,
 * with its hysteresis and seek spacing. Reads no clock and drives no
 * player: times and positions are arguments, the decision is the result.
 */
#include "revenge/correct.h"

#include <math.h>
#include <stddef.h>

void rv_correct_policy_default(struct rv_correct_policy *p)
{
	p->dead_band_ms = 20;
	p->settle_band_ms = 5;
	p->max_rate_delta = 0.05;
	p->converge_ms = 2000;
	p->seek_threshold_ms = 1000;
	p->max_converge_ms = 20000;
	p->min_seek_interval_ms = 5000;
}

void rv_correct_reset(struct rv_correct_state *s)
{
	s->correcting = false;
	s->seeked = false;
	s->last_seek_ms = 0;
}

static enum rv_correct_action give(enum rv_correct_action a, double rate,
				   double seek, double *out_rate, double *out_seek_s)
{
	if (out_rate)
		*out_rate = rate;
	if (out_seek_s && a == RV_CORRECT_SEEK)
		*out_seek_s = seek;
	return a;
}

enum rv_correct_action rv_correct_step(const struct rv_correct_policy *p,
				       struct rv_correct_state *s, double now_ms,
				       double player_pos_s, double target_pos_s,
				       double base_speed, double *out_rate,
				       double *out_seek_s)
{
	double drift, adrift, catchup, delta, tau;
	bool seek_ok;

	/* Written so NaN fails too. */
	if (!isfinite(now_ms) || !isfinite(player_pos_s) || !isfinite(target_pos_s) ||
	    !isfinite(base_speed) || !(base_speed > 0)) {
		if (!s->correcting)
			return RV_CORRECT_NONE;
		/* Do not leave the player at a corrected rate nobody steers. */
		s->correcting = false;
		return give(RV_CORRECT_RATE,
			    isfinite(base_speed) && base_speed > 0 ? base_speed : 1.0,
			    0, out_rate, out_seek_s);
	}
	drift = (player_pos_s - target_pos_s) * 1000.0;   /* > 0: ahead */
	adrift = fabs(drift);
	/* Drift removed per ms of playback at the bounded rate. */
	catchup = base_speed * p->max_rate_delta;
	seek_ok = !s->seeked || !(now_ms - s->last_seek_ms < p->min_seek_interval_ms);
	if ((adrift >= p->seek_threshold_ms ||
	     !(adrift <= catchup * p->max_converge_ms)) && seek_ok) {
		s->seeked = true;
		s->last_seek_ms = now_ms;
		s->correcting = false;
		return give(RV_CORRECT_SEEK, base_speed, target_pos_s, out_rate, out_seek_s);
	}
	if (!s->correcting) {
		if (!(adrift > p->dead_band_ms))
			return RV_CORRECT_NONE;
		s->correcting = true;
	} else if (adrift <= p->settle_band_ms) {
		s->correcting = false;
		return give(RV_CORRECT_RATE, base_speed, 0, out_rate, out_seek_s);
	}
	/* Proportional: rate - base = -drift / tau removes the drift with
	 * time constant tau, approaching zero without crossing it. */
	tau = p->converge_ms > 0 ? p->converge_ms : 1;
	delta = -drift / tau;
	if (delta > catchup)
		delta = catchup;
	if (delta < -catchup)
		delta = -catchup;
	return give(RV_CORRECT_RATE, base_speed + delta, 0, out_rate, out_seek_s);
}
