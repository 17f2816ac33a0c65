/* lib/lead.c - the lead of scheduled commands and the state they result
 * in (see lead.h for the design and why the lead is 2 x RTT). Pure: times
 * come in as arguments.
 */
#include "lead.h"

#include <math.h>

void rv__lead_init(struct rv__lead *l, double min_ms, double max_ms)
{
	l->min_ms = min_ms;
	l->max_ms = max_ms;
	for (unsigned i = 0; i < RV__LEAD_BUCKETS; i++) {
		l->top[i] = 0;
		l->slice[i] = -1;
	}
}

static long long slice_of(double now_ms)
{
	return now_ms > 0 ? (long long)(now_ms / RV__LEAD_BUCKET_MS) : 0;
}

void rv__lead_rtt(struct rv__lead *l, double rtt_ms, double now_ms)
{
	long long s;
	unsigned i;

	if (!isfinite(rtt_ms) || rtt_ms < 0 || rtt_ms > RV__LEAD_RTT_MAX_MS ||
	    !isfinite(now_ms))
		return;
	s = slice_of(now_ms);
	i = (unsigned)(s % RV__LEAD_BUCKETS);
	/* The bucket last held an older slice: that slice has left the
	 * window (a ring of RV__LEAD_BUCKETS slices). */
	if (l->slice[i] != s) {
		l->slice[i] = s;
		l->top[i] = rtt_ms;
	} else if (rtt_ms > l->top[i]) {
		l->top[i] = rtt_ms;
	}
}

double rv__lead_rtt_max(const struct rv__lead *l, double now_ms)
{
	long long s = slice_of(now_ms);
	double top = NAN;

	for (unsigned i = 0; i < RV__LEAD_BUCKETS; i++)
		if (l->slice[i] >= 0 && l->slice[i] <= s &&
		    s - l->slice[i] < RV__LEAD_BUCKETS && !(l->top[i] <= top))
			top = l->top[i];
	return top;
}

double rv__lead_ms(const struct rv__lead *l, double now_ms)
{
	double rtt, lead;

	if (!(l->max_ms > 0))
		return 0;
	rtt = rv__lead_rtt_max(l, now_ms);
	lead = isnan(rtt) ? l->min_ms : 2 * rtt;
	if (lead < l->min_ms)
		lead = l->min_ms;
	if (lead > l->max_ms)
		lead = l->max_ms;
	return lead;
}

/* Whether the host's position is within tol_ms of where st put playback
 * at the instant the host describes (its `at`, or the receipt): compared
 * there, not now, so neither the host's upload delay nor a change of
 * playing or speed since that instant counts as a jump. */
static bool continues(const struct rv_playback *st, const struct rv_playback *host,
		      double tol_ms)
{
	double scale = fmax(1, fmax(st->speed, host->speed));

	return fabs(host->position - rv_playback_position_at(st, host->server_time)) <=
	       tol_ms * scale / 1000;
}

/* Whether pending, scheduled from in_force, was a seek: a continuous
 * command's position is exactly in_force's at its instant. */
static bool was_seek(const struct rv_playback *in_force, const struct rv_playback *pending)
{
	double at = rv_playback_position_at(in_force, pending->server_time);

	return fabs(pending->position - at) > 1e-9 * fmax(1, fabs(at));
}

struct rv_playback rv__lead_schedule(const struct rv_playback *in_force,
				     const struct rv_playback *pending,
				     const struct rv_playback *host, double tol_ms, double t_ms)
{
	struct rv_playback out = *host;

	out.server_time = t_ms;
	if (!continues(in_force, host, tol_ms) && !(pending && continues(pending, host, tol_ms))) {
		out.position = host->position;          /* a seek */
		return out;
	}
	out.position = rv__lead_position(in_force, pending, t_ms);
	return out;
}

double rv__lead_position(const struct rv_playback *in_force,
			 const struct rv_playback *pending, double t_ms)
{
	double late;

	if (!pending)
		return rv_playback_position_at(in_force, t_ms);
	/* A member that got the pending state in time drops it for this one
	 * (rv_schedule) and follows in_force until T; one that got this one
	 * after the pending instant followed the pending state from then.
	 * A seek is kept either way (this command goes on from its target);
	 * otherwise the two paths part by at most the lead, and the further
	 * one is taken, so that nobody moves back at T, whichever path it
	 * was on. */
	late = rv_playback_position_at(pending, t_ms);
	return was_seek(in_force, pending)
		? late : fmax(late, rv_playback_position_at(in_force, t_ms));
}
