/* lib/drift.c - members' drift from the party clock (see drift.h).
 *
 * Owns the drift measurement and the host's drift report. A member's drift
 * is its reported position minus the party position at the server instant
 * the report is about (its `at`, its own estimate of server time, or the
 * receive time): positive is ahead. Each status costs O(1); the report is
 * one pass over the members per interval at most, keeping the
 * RV__DRIFT_REPORT_MAX furthest in a small heap, so neither a thousand
 * statuses a second nor a thousand members make the host's message or the
 * tick grow.
 */
#include "drift.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"

void rv__drift_init(struct rv__drift *d, double interval_ms)
{
	memset(d, 0, sizeof(*d));
	d->interval_ms = isfinite(interval_ms) && interval_ms > 0 ? interval_ms : 0;
	d->due = INFINITY;
	d->last_report = -INFINITY;
}

static bool same_state(const struct rv_playback *a, const struct rv_playback *b)
{
	return a->position == b->position && a->playing == b->playing &&
	       a->speed == b->speed && a->server_time == b->server_time;
}

/* Note a change to report at the next interval. */
static void touch(struct rv__drift *d, double now_ms)
{
	d->changed = true;
	if (d->interval_ms && isinf(d->due))
		d->due = fmax(now_ms, d->last_report + d->interval_ms);
}

/* NAN stands for "none" in both; a moved value is one off by the change
 * threshold, or gained or lost. */
static bool moved(double a, double b)
{
	if (isnan(a) || isnan(b))
		return isnan(a) != isnan(b);
	return fabs(a - b) >= RV__DRIFT_CHANGE_MS;
}

/* m's entry is now (buffering, drift, err): a change to report when it
 * is new or moved. */
static void take(struct rv__drift *d, struct rv_member *m, bool buffering, double drift,
		 double err, double now_ms)
{
	if (!m->drift_has) {
		d->reported++;
		touch(d, now_ms);
	} else if (m->drift_buffering != buffering || moved(m->drift_ms, drift) ||
		   moved(m->drift_clock_error_ms, err)) {
		touch(d, now_ms);
	}
	m->drift_has = true;
	m->drift_buffering = buffering;
	m->drift_ms = drift;
	m->drift_clock_error_ms = err;
}

void rv__drift_remote(struct rv__drift *d, struct rv_member *m, bool buffering, double drift_ms,
		      double clock_error_ms, double now_ms)
{
	take(d, m, buffering, buffering ? NAN : drift_ms, clock_error_ms, now_ms);
}

bool rv__drift_status(struct rv__drift *d, struct rv_member *m,
		      const struct rv_member *host, const struct rv_playback *st,
		      const struct rv_msg *msg, double now_ms, double *drift_ms)
{
	const struct rv_playback *in_force = st;
	double at = msg->u.status.at, drift = NAN, err = NAN;
	bool buffering = msg->u.status.buffering;

	/* Changes of the state are noticed here, lazily: a status is the only
	 * thing that needs the state before. Two changes between statuses
	 * lose the first (such a status is then skipped, see below). */
	if (!d->has_seen || !same_state(&d->seen, st)) {
		d->prev = d->seen;
		d->has_prev = d->has_seen;
		d->seen = *st;
		d->has_seen = true;
	}
	if (host && d->reported && strcmp(host->id, d->host_id) != 0)
		touch(d, now_ms);
	/* Like a sync's `at`: a skewed or hostile clock is not believed. */
	if (!msg->u.status.has_at || !(fabs(at - now_ms) <= RV_AT_WINDOW_MS))
		at = now_ms;
	if (at < st->server_time) {
		/* The state was pending then: players still followed the one
		 * before. */
		if (!d->has_prev || at < d->prev.server_time + RV__DRIFT_SETTLE_MS)
			return false;
		in_force = &d->prev;
	} else if (at < st->server_time + RV__DRIFT_SETTLE_MS &&
		   d->has_prev && st->server_time > d->prev.server_time) {
		/* just after a change (not the party's first state, which
		 * nobody had to apply) */
		return false;
	}
	if (msg->u.status.has_clock_error)
		err = msg->u.status.clock_error_ms;
	buffering = buffering || msg->u.status.playing != in_force->playing;
	if (!buffering)
		drift = (msg->u.status.position - rv_playback_position_at(in_force, at)) * 1000;

	take(d, m, buffering, drift, err, now_ms);
	if (!buffering && drift_ms)
		*drift_ms = drift;
	return !buffering;
}

void rv__drift_leave(struct rv__drift *d, const struct rv_member *m, double now_ms)
{
	if (!m->drift_has)
		return;
	d->reported--;
	touch(d, now_ms);
}

double rv__drift_deadline(const struct rv__drift *d)
{
	return d->due;
}

/* How far out of sync: buffering first, then the largest |drift|. */
static double rank(const struct rv_member *m)
{
	return m->drift_buffering ? INFINITY : fabs(m->drift_ms);
}

/* Before in the report: higher rank, then join order (the earlier
 * joined_at; the id, made in join order by the adapter, breaks ties). */
static bool before(const struct rv_member *a, const struct rv_member *b)
{
	double ra = rank(a), rb = rank(b);

	if (ra != rb)
		return ra > rb;
	if (a->joined_at != b->joined_at)
		return a->joined_at < b->joined_at;
	return strcmp(a->id, b->id) < 0;
}

/* A min-heap of n members (the root is the one to drop first). */
static void sift_down(const struct rv_member **h, unsigned n, unsigned i)
{
	for (;;) {
		unsigned l = 2 * i + 1, r = l + 1, last = i;
		const struct rv_member *t;

		if (l < n && before(h[last], h[l]))
			last = l;
		if (r < n && before(h[last], h[r]))
			last = r;
		if (last == i)
			return;
		t = h[i];
		h[i] = h[last];
		h[last] = t;
		i = last;
	}
}

static void sift_up(const struct rv_member **h, unsigned i)
{
	while (i) {
		unsigned parent = (i - 1) / 2;
		const struct rv_member *t;

		if (!before(h[parent], h[i]))
			return;
		t = h[i];
		h[i] = h[parent];
		h[parent] = t;
		i = parent;
	}
}

/* The report's members, best first, into top[]; returns how many. */
static unsigned pick(const struct rv_member *first, const struct rv_member **top)
{
	unsigned n = 0;

	for (const struct rv_member *m = first; m; m = m->next) {
		if (!m->drift_has)
			continue;
		if (n < RV__DRIFT_REPORT_MAX) {
			top[n] = m;
			sift_up(top, n++);
		} else if (before(m, top[0])) {
			top[0] = m;
			sift_down(top, n, 0);
		}
	}
	/* heap sort: the root (the last in order) goes to the end */
	for (unsigned k = n; k > 1; k--) {
		const struct rv_member *t = top[0];

		top[0] = top[k - 1];
		top[k - 1] = t;
		sift_down(top, k - 1, 0);
	}
	return n;
}

static void number_or_null(struct rv__jw *w, const char *key, double v)
{
	rv__jw_field(w, key);
	if (isnan(v))
		rv__jw_lit(w, "null");
	else
		rv__jw_num(w, round(v * 10) / 10);
}

struct rv_frame *rv__drift_tick(struct rv__drift *d, const struct rv_member *first,
				const struct rv_member *host, double now_ms)
{
	const struct rv_member *top[RV__DRIFT_REPORT_MAX];
	struct rv__jw w;
	unsigned n;

	if (now_ms < d->due)
		return NULL;
	d->due = INFINITY;
	d->changed = false;
	d->last_report = now_ms;
	if (!host)
		return NULL;
	memcpy(d->host_id, host->id, strlen(host->id) + 1);
	n = pick(first, top);
	rv__jw_init(&w, 96 + 96 * (size_t)n);
	rv__jw_open(&w, "{\"type\":\"drift\",\"payload\":{");
	rv__jw_field(&w, "members");
	rv__jw_open(&w, "[");
	for (unsigned i = 0; i < n; i++) {
		rv__jw_elem(&w);
		rv__jw_open(&w, "{");
		rv__jw_fcstr(&w, "id", top[i]->id);
		number_or_null(&w, "drift_ms", top[i]->drift_ms);
		rv__jw_fbool(&w, "buffering", top[i]->drift_buffering);
		number_or_null(&w, "clock_error_ms", top[i]->drift_clock_error_ms);
		rv__jw_close(&w, "}");
	}
	rv__jw_close(&w, "]");
	rv__jw_fnum(&w, "count", d->reported);
	rv__jw_close(&w, "}");
	rv__jw_ftime(&w, "ts", now_ms);
	rv__jw_lit(&w, "}");
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_DRIFT);
}
