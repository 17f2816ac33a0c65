/* lib/quality.c - the profile ladder and the bandwidth suggester (see quality.h).
 *
 * Owns two things: the ladder of quality profiles (the built-in default, a
 * strict parser for "--ladder"-style specs, look-ups) and the per-session
 * suggester that turns a stream of bandwidth reports into "switch to profile
 * i" advice. Both are pure: no I/O, no allocation, no globals, no clock. A
 * report's arrival time is an argument, so the tests replay scripted
 * sequences and check the arithmetic by hand.
 *
 * The suggester is modelled on what shipping players do:
 *
 *  - hls.js (src/utils/ewma.ts, ewma-bandwidth-estimator.ts) keeps a fast and
 *    a slow exponentially weighted moving average of measured bandwidth, each
 *    sample weighted by how long it covers, with a bias correction so an
 *    average seeded from zero is not dragged towards zero, and trusts the
 *    smaller of the two. The fast one follows a collapse within seconds; the
 *    slow one holds a brief burst of speed back. We do the same, with the
 *    time since the previous report as the weight.
 *
 *  - dash.js's throughput rule multiplies its estimate by a 0.9 safety factor
 *    and picks the highest bitrate under it, for both directions. A single
 *    factor means a bandwidth sitting near one bitrate / 0.9 flaps between
 *    two profiles. We split it around dash.js's 0.9: keeping (or stepping
 *    down to) a profile needs only 0.95 x estimate, stepping up needs
 *    0.7 x estimate, for RV_QUALITY_UP_REPORTS reports in a row. So a
 *    profile of bitrate b is kept from 1.05 b of bandwidth and only reached
 *    from below at 1.43 b: a bandwidth moving inside that band, about a
 *    third wide, changes nothing.
 */
#include "revenge/quality.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "revenge/error.h"

#define LADDER_KBPS_MAX 10000000u   /* 10 Gbit/s: no real encode is above it */
#define SAMPLE_KBPS_MAX 1e9          /* the protocol's own ceiling on kbps */
#define WEIGHT_FIRST_S 1.0
#define WEIGHT_MIN_S 0.1
#define WEIGHT_MAX_S 10.0
#define INITIAL_NAME "1080p"
#define INITIAL_KBPS_MAX 8000u
#define QUOTE_MAX 40                 /* item text quoted in a parse error */

static const struct rv_profile default_profiles[] = {
	{ "2160p", 16000 },
	{ "1080p", 8000 },
	{ "720p", 4000 },
	{ "480p", 1500 },
	{ "360p", 800 },
};

void rv_ladder_default(struct rv_ladder *l)
{
	size_t i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < sizeof(default_profiles) / sizeof(default_profiles[0]); i++)
		l->p[i] = default_profiles[i];
	l->n = (unsigned)i;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_name_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* The error line names the item by position and by its text, quoted with
 * anything unprintable replaced so the reason stays one printable line
 * whatever the spec held. */
static int __attribute__((format(printf, 6, 7)))
bad_item(char *err, size_t errlen, unsigned no, const char *s, size_t len,
	 const char *fmt, ...)
{
	char quoted[QUOTE_MAX + 4], why[128];
	size_t i, n = len > QUOTE_MAX ? QUOTE_MAX : len;
	va_list ap;

	if (!err || !errlen)
		return RV_EINVAL;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		quoted[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n < len) {
		memcpy(quoted + n, "...", 3);
		n += 3;
	}
	quoted[n] = '\0';
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "ladder item %u '%s': %s", no, quoted, why);
	return RV_EINVAL;
}

static int bad_spec(char *err, size_t errlen, const char *why)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", why);
	return RV_EINVAL;
}

/* Parse one trimmed, non-empty item "name:kbps" into *p. */
static int parse_item(const char *s, size_t len, unsigned no, struct rv_profile *p,
		      char *err, size_t errlen)
{
	const char *colon = memchr(s, ':', len), *end = s + len, *name_end, *d;
	unsigned long v = 0;
	size_t name_len, i;

	if (!colon)
		return bad_item(err, errlen, no, s, len, "missing ':' between name and bitrate");
	for (name_end = colon; name_end > s && is_blank(name_end[-1]); name_end--)
		;
	name_len = (size_t)(name_end - s);
	if (name_len == 0)
		return bad_item(err, errlen, no, s, len, "empty name");
	if (name_len > RV_PROFILE_NAME_MAX)
		return bad_item(err, errlen, no, s, len, "name longer than %d characters",
				RV_PROFILE_NAME_MAX);
	for (i = 0; i < name_len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (is_name_char(c))
			continue;
		if (c >= 0x20 && c < 0x7f)
			return bad_item(err, errlen, no, s, len,
					"name has '%c', outside [A-Za-z0-9_.-]", c);
		return bad_item(err, errlen, no, s, len,
				"name has byte 0x%02x, outside [A-Za-z0-9_.-]", c);
	}

	for (d = colon + 1; d < end && is_blank(*d); d++)
		;
	if (d == end)
		return bad_item(err, errlen, no, s, len, "missing bitrate");
	if (*d == '-')
		return bad_item(err, errlen, no, s, len, "bitrate is negative");
	if (*d < '0' || *d > '9')
		return bad_item(err, errlen, no, s, len, "bitrate is not a number");
	/* Saturate rather than overflow: anything past the ceiling is out of
	 * range however many digits follow. */
	for (; d < end && *d >= '0' && *d <= '9'; d++) {
		if (v <= LADDER_KBPS_MAX)
			v = v * 10 + (unsigned long)(*d - '0');
	}
	if (d != end)
		return bad_item(err, errlen, no, s, len, "trailing characters after the bitrate");
	if (v == 0 || v > LADDER_KBPS_MAX)
		return bad_item(err, errlen, no, s, len, "bitrate must be 1-%u kbps",
				LADDER_KBPS_MAX);

	memcpy(p->name, s, name_len);
	p->name[name_len] = '\0';
	p->kbps = (unsigned)v;
	return 0;
}

int rv_ladder_parse(const char *spec, struct rv_ladder *l, char *err, size_t errlen)
{
	struct rv_ladder t;
	const char *p, *end, *a, *b;
	unsigned no, i, j;
	int rc;

	memset(&t, 0, sizeof(t));
	if (err && errlen)
		err[0] = '\0';
	if (!spec)
		return bad_spec(err, errlen, "ladder spec is empty");
	for (p = spec; is_blank(*p); p++)
		;
	if (!*p)
		return bad_spec(err, errlen, "ladder spec is empty");

	for (p = spec, no = 1;; p = end + 1, no++) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		for (a = p; a < end && is_blank(*a); a++)
			;
		for (b = end; b > a && is_blank(b[-1]); b--)
			;
		if (a == b) {
			if (err && errlen)
				snprintf(err, errlen, "ladder item %u is empty", no);
			return RV_EINVAL;
		}
		if (t.n == RV_LADDER_MAX)
			return bad_item(err, errlen, no, a, (size_t)(b - a),
					"more than %d profiles", RV_LADDER_MAX);
		rc = parse_item(a, (size_t)(b - a), no, &t.p[t.n], err, errlen);
		if (rc)
			return rc;
		for (i = 0; i < t.n; i++) {
			if (!strcmp(t.p[i].name, t.p[t.n].name))
				return bad_item(err, errlen, no, a, (size_t)(b - a),
						"duplicate name '%s'", t.p[t.n].name);
			if (t.p[i].kbps == t.p[t.n].kbps)
				return bad_item(err, errlen, no, a, (size_t)(b - a),
						"bitrate %u already used by '%s'",
						t.p[t.n].kbps, t.p[i].name);
		}
		t.n++;
		if (!*end)
			break;
	}

	/* Insertion sort, highest first; bitrates are distinct so the order is
	 * total. */
	for (i = 1; i < t.n; i++) {
		struct rv_profile x = t.p[i];

		for (j = i; j > 0 && t.p[j - 1].kbps < x.kbps; j--)
			t.p[j] = t.p[j - 1];
		t.p[j] = x;
	}
	*l = t;
	return 0;
}

int rv_ladder_find(const struct rv_ladder *l, const char *name)
{
	unsigned i;

	if (!l || !name || l->n > RV_LADDER_MAX)
		return -1;
	for (i = 0; i < l->n; i++) {
		if (!strcmp(l->p[i].name, name))
			return (int)i;
	}
	return -1;
}

int rv_ladder_initial(const struct rv_ladder *l)
{
	int i, best = -1, lowest = -1;

	i = rv_ladder_find(l, INITIAL_NAME);
	if (i >= 0)
		return i;
	if (!l || l->n == 0 || l->n > RV_LADDER_MAX)
		return -1;
	/* Scan rather than trust the order, so a hand-built ladder works too. */
	for (i = 0; i < (int)l->n; i++) {
		unsigned k = l->p[i].kbps;

		if (k <= INITIAL_KBPS_MAX && (best < 0 || k > l->p[best].kbps))
			best = i;
		if (lowest < 0 || k < l->p[lowest].kbps)
			lowest = i;
	}
	return best >= 0 ? best : lowest;
}

void rv_quality_init(struct rv_quality *q)
{
	memset(q, 0, sizeof(*q));
	q->suggested = -1;
}

/* Per-second decay of an average with this half-life: after half_life_s
 * seconds' worth of weight, an old value counts for half. */
static double alpha_of(double half_life_s)
{
	return exp(log(0.5) / half_life_s);
}

static void ewma_sample(double *num, double *total_w, double alpha, double weight,
			double kbps)
{
	double a = pow(alpha, weight);

	*num = kbps * (1 - a) + a * *num;
	*total_w += weight;
}

/* hls.js's zero-factor: the average started at 0, so after total weight W
 * only 1 - alpha^W of it is real samples; dividing by that removes the pull
 * towards zero (the first sample's estimate is the sample itself). */
static double ewma_estimate(double num, double total_w, double alpha)
{
	double real = 1 - pow(alpha, total_w);

	return real > 0 ? num / real : 0;
}

double rv_quality_estimate(const struct rv_quality *q)
{
	double fast, slow;

	if (!q || !q->has_sample)
		return 0;
	fast = ewma_estimate(q->fast, q->fast_w, alpha_of(RV_QUALITY_FAST_HALF_LIFE_S));
	slow = ewma_estimate(q->slow, q->slow_w, alpha_of(RV_QUALITY_SLOW_HALF_LIFE_S));
	/* The pessimistic one: the fast average drops first on a collapse, the
	 * slow one rises last on a burst. */
	return fast < slow ? fast : slow;
}

static int suggest(struct rv_quality *q, int target)
{
	/* The client heard it the first time; repeating it every report until
	 * it acts would only be noise. */
	if (target == q->suggested)
		return -1;
	q->suggested = target;
	return target;
}

int rv_quality_report(struct rv_quality *q, const struct rv_ladder *l, int current,
		      double kbps, double now_ms)
{
	double w, est, down_bw;
	int n, i, target;

	/* Never trust a report to be what the contract says: a NaN would
	 * poison both averages for good. */
	if (!q || !(kbps >= 0) || isinf(kbps))
		return -1;
	if (kbps > SAMPLE_KBPS_MAX)
		kbps = SAMPLE_KBPS_MAX;

	if (!q->has_sample) {
		/* A zero-initialised struct has suggested == 0, which would
		 * mute a first suggestion of the top profile: start clean. */
		rv_quality_init(q);
		w = WEIGHT_FIRST_S;
	} else {
		/* A report covers the time since the previous one. Too small a
		 * weight (a burst of reports, or a clock that went backwards:
		 * the negated test catches NaN too) would make a report count
		 * for nothing; too large a one (a long silence) would let one
		 * report wipe out all history. */
		w = isfinite(now_ms) ? (now_ms - q->last_ms) / 1000.0 : 0;
		if (!(w >= WEIGHT_MIN_S))
			w = WEIGHT_MIN_S;
		else if (w > WEIGHT_MAX_S)
			w = WEIGHT_MAX_S;
	}
	/* Always the latest arrival time, even an earlier one: a single odd
	 * timestamp then skews at most two weights, both clamped, where
	 * keeping the maximum would pin every later weight to the minimum
	 * after one far-future reading. */
	if (isfinite(now_ms))
		q->last_ms = now_ms;
	ewma_sample(&q->fast, &q->fast_w, alpha_of(RV_QUALITY_FAST_HALF_LIFE_S), w, kbps);
	ewma_sample(&q->slow, &q->slow_w, alpha_of(RV_QUALITY_SLOW_HALF_LIFE_S), w, kbps);
	q->has_sample = true;
	est = rv_quality_estimate(q);

	if (!l || l->n < 2 || l->n > RV_LADDER_MAX || current < 0 || current >= (int)l->n) {
		q->up_streak = 0;
		return -1;
	}
	n = (int)l->n;

	/* Down, at once and as far as needed: the highest profile at or below
	 * the current one that 0.95 x bandwidth carries, or the lowest. A
	 * collapse costs a stall per segment, so one suggestion may skip
	 * several steps, and it uses the smaller of this report and the
	 * estimate: the averages alone would take several reports to fall
	 * far enough, stalling all the while. Being quick down is safe
	 * because going back up takes RV_QUALITY_UP_REPORTS good reports. */
	down_bw = kbps < est ? kbps : est;
	target = n - 1;
	for (i = current; i < n; i++) {
		if (l->p[i].kbps <= RV_QUALITY_DOWN_FACTOR * down_bw) {
			target = i;
			break;
		}
	}
	if (target != current) {
		q->up_streak = 0;
		return suggest(q, target);
	}

	/* Up, slowly and one step: 0.7 x the bandwidth must carry the next
	 * profile for RV_QUALITY_UP_REPORTS reports in a row. Both this report
	 * and the estimate must, as the slow average holds a single large
	 * spike above the threshold for several reports on its own; a spike
	 * followed by low reports would otherwise step up and then, once the
	 * client follows, straight back down. */
	if (current > 0 &&
	    RV_QUALITY_UP_FACTOR * (kbps < est ? kbps : est) >= l->p[current - 1].kbps) {
		if (q->up_streak < UINT_MAX)
			q->up_streak++;
	} else {
		q->up_streak = 0;
	}
	if (q->up_streak >= RV_QUALITY_UP_REPORTS)
		return suggest(q, current - 1);
	return -1;
}

void rv_quality_changed(struct rv_quality *q)
{
	if (!q)
		return;
	q->suggested = -1;
	q->up_streak = 0;
}
