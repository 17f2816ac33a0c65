/* tests/unit/test_quality.c - the profile ladder and the bandwidth suggester
 * (lib/quality.c), driven by scripted report sequences with made-up arrival
 * times. Expected report numbers below are worked out by hand from the
 * half-lives: per second the fast average keeps 2^(-1/3) = 0.7937 of its old
 * value and the slow one 2^(-1/9) = 0.9259. */
#include "unit.h"

#include <float.h>
#include <math.h>
#include <stdio.h>

#include "revenge/error.h"
#include "revenge/quality.h"

/* Default ladder indexes. */
enum { P2160 = 0, P1080 = 1, P720 = 2, P480 = 3, P360 = 4 };

#define FAST_ALPHA 0.79370052598409979   /* 2^(-1/3) */
#define SLOW_ALPHA 0.92587471228729150   /* 2^(-1/9) */

/* ---- ladder ------------------------------------------------------------ */

static void ladder_equal(const struct rv_ladder *a, const struct rv_ladder *b)
{
	assert_int_equal(a->n, b->n);
	for (unsigned i = 0; i < a->n; i++) {
		assert_string_equal(a->p[i].name, b->p[i].name);
		assert_int_equal(a->p[i].kbps, b->p[i].kbps);
	}
}

static void test_ladder_default(void **state)
{
	static const char *names[] = { "2160p", "1080p", "720p", "480p", "360p" };
	static const unsigned kbps[] = { 16000, 8000, 4000, 1500, 800 };
	struct rv_ladder l;

	memset(&l, 0xa5, sizeof(l));
	rv_ladder_default(&l);
	assert_int_equal(l.n, 5);
	for (unsigned i = 0; i < 5; i++) {
		assert_string_equal(l.p[i].name, names[i]);
		assert_int_equal(l.p[i].kbps, kbps[i]);
		assert_int_equal(rv_ladder_find(&l, names[i]), (int)i);
	}
}

static void test_ladder_find(void **state)
{
	struct rv_ladder l;

	rv_ladder_default(&l);
	assert_int_equal(rv_ladder_find(&l, "720p"), P720);
	assert_int_equal(rv_ladder_find(&l, "720P"), -1);   /* exact, case and all */
	assert_int_equal(rv_ladder_find(&l, "720"), -1);
	assert_int_equal(rv_ladder_find(&l, "720p "), -1);
	assert_int_equal(rv_ladder_find(&l, ""), -1);
	assert_int_equal(rv_ladder_find(&l, NULL), -1);
	assert_int_equal(rv_ladder_find(NULL, "720p"), -1);
}

static void test_ladder_parse_valid(void **state)
{
	struct rv_ladder l;
	char err[128];

	/* Any order in, highest first out; blanks around items and the ':'. */
	rv_ladder_default(&l);
	assert_int_equal(rv_ladder_parse(" 360p:800 ,\t2160p : 16000,720p:\t4000\t", &l, err,
					 sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(l.n, 3);   /* replaced, not merged */
	assert_string_equal(l.p[0].name, "2160p");
	assert_int_equal(l.p[0].kbps, 16000);
	assert_string_equal(l.p[1].name, "720p");
	assert_int_equal(l.p[1].kbps, 4000);
	assert_string_equal(l.p[2].name, "360p");
	assert_int_equal(l.p[2].kbps, 800);

	/* The whole name alphabet, the bitrate limits, leading zeros. */
	assert_int_equal(rv_ladder_parse("A.b_c-9:1,top:10000000,mid:0042", &l, NULL, 0), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.p[0].name, "top");
	assert_int_equal(l.p[0].kbps, 10000000);
	assert_string_equal(l.p[1].name, "mid");
	assert_int_equal(l.p[1].kbps, 42);
	assert_string_equal(l.p[2].name, "A.b_c-9");
	assert_int_equal(l.p[2].kbps, 1);

	/* A 32-character name; a single profile. */
	assert_int_equal(rv_ladder_parse("abcdefghijklmnopqrstuvwxyz012345:500", &l, err,
					 sizeof(err)), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.p[0].name, "abcdefghijklmnopqrstuvwxyz012345");

	/* Exactly 16 profiles, given lowest first. */
	assert_int_equal(rv_ladder_parse("p1:1,p2:2,p3:3,p4:4,p5:5,p6:6,p7:7,p8:8,p9:9,"
					 "p10:10,p11:11,p12:12,p13:13,p14:14,p15:15,p16:16",
					 &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 16);
	for (unsigned i = 0; i < 16; i++)
		assert_int_equal(l.p[i].kbps, 16 - i);
	assert_string_equal(l.p[0].name, "p16");
	assert_string_equal(l.p[15].name, "p1");

	/* The default ladder written out parses to the default ladder. */
	{
		struct rv_ladder d;

		rv_ladder_default(&d);
		assert_int_equal(rv_ladder_parse("1080p:8000,360p:800,2160p:16000,480p:1500,"
						 "720p:4000", &l, err, sizeof(err)), 0);
		ladder_equal(&l, &d);
	}
}

struct bad_case {
	const char *spec;
	const char *reason;   /* the whole line, exactly */
};

static void test_ladder_parse_invalid(void **state)
{
	static const struct bad_case cases[] = {
		{ "", "ladder spec is empty" },
		{ " \t ", "ladder spec is empty" },
		{ "1080p:8000,,720p:4000", "ladder item 2 is empty" },
		{ ",1080p:8000", "ladder item 1 is empty" },
		{ "1080p:8000,", "ladder item 2 is empty" },
		{ "1080p:8000, \t,720p:4000", "ladder item 2 is empty" },
		{ "1080p8000", "ladder item 1 '1080p8000': missing ':' between name and bitrate" },
		{ "720p:4000, 1080p ", "ladder item 2 '1080p': missing ':' between name and bitrate" },
		{ ":8000", "ladder item 1 ':8000': empty name" },
		{ "720p:4000,  : 8000", "ladder item 2 ': 8000': empty name" },
		{ "10 80p:8000", "ladder item 1 '10 80p:8000': name has ' ', outside [A-Za-z0-9_.-]" },
		{ "hd!:8000", "ladder item 1 'hd!:8000': name has '!', outside [A-Za-z0-9_.-]" },
		{ "hd/2:8000", "ladder item 1 'hd/2:8000': name has '/', outside [A-Za-z0-9_.-]" },
		{ "h\xc3\xa9:8000",
		  "ladder item 1 'h??:8000': name has byte 0xc3, outside [A-Za-z0-9_.-]" },
		{ "a\tb:1", "ladder item 1 'a?b:1': name has byte 0x09, outside [A-Za-z0-9_.-]" },
		{ "abcdefghijklmnopqrstuvwxyz0123456:500",
		  "ladder item 1 'abcdefghijklmnopqrstuvwxyz0123456:500': "
		  "name longer than 32 characters" },
		{ "1080p:", "ladder item 1 '1080p:': missing bitrate" },
		{ "720p:4000,1080p:  ", "ladder item 2 '1080p:': missing bitrate" },
		{ "1080p:0", "ladder item 1 '1080p:0': bitrate must be 1-10000000 kbps" },
		{ "1080p:000", "ladder item 1 '1080p:000': bitrate must be 1-10000000 kbps" },
		{ "1080p:-8000", "ladder item 1 '1080p:-8000': bitrate is negative" },
		{ "1080p:-0", "ladder item 1 '1080p:-0': bitrate is negative" },
		{ "1080p:fast", "ladder item 1 '1080p:fast': bitrate is not a number" },
		{ "1080p:+8000", "ladder item 1 '1080p:+8000': bitrate is not a number" },
		{ "1080p:0x1f40", "ladder item 1 '1080p:0x1f40': trailing characters after the bitrate" },
		{ "1080p:8000k", "ladder item 1 '1080p:8000k': trailing characters after the bitrate" },
		{ "1080p:8000 5", "ladder item 1 '1080p:8000 5': trailing characters after the bitrate" },
		{ "1080p:8000.5", "ladder item 1 '1080p:8000.5': trailing characters after the bitrate" },
		{ "1080p:1e4", "ladder item 1 '1080p:1e4': trailing characters after the bitrate" },
		{ "a:1:2", "ladder item 1 'a:1:2': trailing characters after the bitrate" },
		{ "a:1\n", "ladder item 1 'a:1?': trailing characters after the bitrate" },
		{ "1080p:10000001", "ladder item 1 '1080p:10000001': bitrate must be 1-10000000 kbps" },
		{ "1080p:99999999999999999999999999",
		  "ladder item 1 '1080p:99999999999999999999999999': "
		  "bitrate must be 1-10000000 kbps" },
		{ "720p:4000,1080p:8000,720p:3000",
		  "ladder item 3 '720p:3000': duplicate name '720p'" },
		{ "720p:4000,hd:4000", "ladder item 2 'hd:4000': bitrate 4000 already used by '720p'" },
		{ "p1:1,p2:2,p3:3,p4:4,p5:5,p6:6,p7:7,p8:8,p9:9,p10:10,p11:11,p12:12,"
		  "p13:13,p14:14,p15:15,p16:16,p17:17",
		  "ladder item 17 'p17:17': more than 16 profiles" },
		/* Long items are quoted cut at 40 bytes. */
		{ "1080p:8000,an_extremely_long_profile_name_for_testing:1",
		  "ladder item 2 'an_extremely_long_profile_name_for_testi...': "
		  "name longer than 32 characters" },
		/* The first bad item is the one reported. */
		{ "x:1,y,z:", "ladder item 2 'y': missing ':' between name and bitrate" },
	};
	struct rv_ladder l, before;
	char err[160];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rv_ladder_default(&l);
		memcpy(&before, &l, sizeof(l));
		memset(err, 'X', sizeof(err));
		if (rv_ladder_parse(cases[i].spec, &l, err, sizeof(err)) != RV_EINVAL)
			fail_msg("spec %zu \"%s\" was accepted", i, cases[i].spec);
		if (strcmp(err, cases[i].reason))
			fail_msg("spec %zu: got \"%s\", expected \"%s\"", i, err, cases[i].reason);
		assert_null(strchr(err, '\n'));
		/* A failed parse leaves the ladder as it was. */
		ladder_equal(&l, &before);
		/* err is optional. */
		assert_int_equal(rv_ladder_parse(cases[i].spec, &l, NULL, 0), RV_EINVAL);
		assert_int_equal(rv_ladder_parse(cases[i].spec, &l, NULL, 64), RV_EINVAL);
	}

	/* NULL spec; a short err buffer is cut and terminated. */
	assert_int_equal(rv_ladder_parse(NULL, &l, err, sizeof(err)), RV_EINVAL);
	assert_string_equal(err, "ladder spec is empty");
	memset(err, 'X', sizeof(err));
	assert_int_equal(rv_ladder_parse("1080p:zero", &l, err, 12), RV_EINVAL);
	assert_string_equal(err, "ladder item");
	memset(err, 'X', sizeof(err));
	assert_int_equal(rv_ladder_parse("1080p:zero", &l, err, 1), RV_EINVAL);
	assert_string_equal(err, "");
	assert_true(err[1] == 'X');
	assert_int_equal(rv_ladder_parse("1080p:zero", &l, err, 0), RV_EINVAL);
	assert_true(err[0] == '\0' && err[1] == 'X');
}

static struct rv_ladder ladder(const char *spec)
{
	struct rv_ladder l;
	char err[128];

	if (rv_ladder_parse(spec, &l, err, sizeof(err)))
		fail_msg("\"%s\": %s", spec, err);
	return l;
}

static void test_ladder_initial(void **state)
{
	struct rv_ladder l;

	rv_ladder_default(&l);
	assert_int_equal(rv_ladder_initial(&l), P1080);

	/* No 1080p: the highest at or below 8000. */
	l = ladder("2160p:16000,720p:4000,480p:1500");
	assert_int_equal(rv_ladder_initial(&l), 1);
	assert_string_equal(l.p[1].name, "720p");
	l = ladder("uhd:16000,hd:8000,sd:1500");
	assert_string_equal(l.p[rv_ladder_initial(&l)].name, "hd");
	l = ladder("a:8001,b:7999");
	assert_string_equal(l.p[rv_ladder_initial(&l)].name, "b");

	/* 1080p is chosen by name, whatever its bitrate. */
	l = ladder("1080p:20000,720p:4000");
	assert_int_equal(rv_ladder_initial(&l), 0);

	/* Everything above 8000: the lowest. */
	l = ladder("8k:40000,4k:16000,5k:20000");
	assert_string_equal(l.p[rv_ladder_initial(&l)].name, "4k");
	l = ladder("big:9000");
	assert_int_equal(rv_ladder_initial(&l), 0);

	/* A single low profile. */
	l = ladder("low:300");
	assert_int_equal(rv_ladder_initial(&l), 0);

	/* Empty or missing ladder. */
	memset(&l, 0, sizeof(l));
	assert_int_equal(rv_ladder_initial(&l), -1);
	assert_int_equal(rv_ladder_initial(NULL), -1);
}

/* ---- suggester ---------------------------------------------------------- */

/* A session: suggester, ladder, current profile, clock. With obey set, the
 * client takes every suggestion at once (quality_request, then the server
 * calls rv_quality_changed), as a real player would. */
struct sim {
	struct rv_quality q;
	struct rv_ladder l;
	int cur;
	double t;
	bool obey;
	int reports;
	int last;          /* report number of the last suggestion, 0 none */
	int ups, downs;
	int reversals;     /* a suggestion in the opposite direction to the last */
	int dir;           /* direction of the last suggestion: -1 down, +1 up */
};

static void sim_init(struct sim *s, int cur, bool obey)
{
	memset(s, 0, sizeof(*s));
	rv_quality_init(&s->q);
	rv_ladder_default(&s->l);
	s->cur = cur;
	s->obey = obey;
}

/* One report of kbps, dt_ms after the previous one. */
static int feed(struct sim *s, double kbps, double dt_ms)
{
	int r;

	s->t += dt_ms;
	r = rv_quality_report(&s->q, &s->l, s->cur, kbps, s->t);
	s->reports++;
	if (r < 0)
		return r;
	assert_true(r < (int)s->l.n);
	assert_int_not_equal(r, s->cur);
	if (r < s->cur) {
		/* Up is one step at a time. */
		assert_int_equal(r, s->cur - 1);
		s->ups++;
		s->reversals += s->dir == -1;
		s->dir = 1;
	} else {
		s->downs++;
		s->reversals += s->dir == 1;
		s->dir = -1;
	}
	s->last = s->reports;
	if (s->obey) {
		s->cur = r;
		rv_quality_changed(&s->q);
	}
	return r;
}

/* n reports of kbps, one every dt_ms; all must be silent. */
static void feed_quiet(struct sim *s, double kbps, double dt_ms, int n)
{
	for (int i = 0; i < n; i++) {
		int was = s->cur, r = feed(s, kbps, dt_ms);

		if (r >= 0)
			fail_msg("report %d (%g kbps at %s) suggested %s", s->reports, kbps,
				 s->l.p[was].name, s->l.p[r].name);
	}
}

static void test_steady_never_suggests(void **state)
{
	static const double cadence_ms[] = { 250, 1000, 2000, 5000, 15000 };
	struct sim s;

	for (size_t k = 0; k < sizeof(cadence_ms) / sizeof(cadence_ms[0]); k++) {
		for (int c = 0; c < 5; c++) {
			sim_init(&s, c, false);
			/* Comfortably inside the dead band: carries the current
			 * profile, not the next one up. */
			feed_quiet(&s, s.l.p[c].kbps / RV_QUALITY_DOWN_FACTOR * 1.1,
				   cadence_ms[k], 300);
			/* At the top nothing is ever higher. */
			if (c == P2160) {
				sim_init(&s, c, false);
				feed_quiet(&s, 1e6, cadence_ms[k], 100);
			}
			/* At the bottom nothing is ever lower. */
			if (c == P360) {
				sim_init(&s, c, false);
				feed_quiet(&s, 100, cadence_ms[k], 100);
			}
		}
	}
	/* The steady estimate is the steady bandwidth. */
	sim_init(&s, P1080, false);
	feed_quiet(&s, 10000, 1000, 50);
	assert_near(rv_quality_estimate(&s.q), 10000, 1e-6);
}

/* 1080p on a steady 10000 kbps for a minute, then 1000 kbps. */
static void collapse(struct sim *s, double cadence_ms, bool obey)
{
	sim_init(s, P1080, obey);
	feed_quiet(s, 10000, cadence_ms, (int)(60000 / cadence_ms));
	s->reports = 0;
}

static void test_collapse(void **state)
{
	struct sim s;

	/* Down decisions use the smaller of the report and the estimate, so
	 * a collapse is followed on the very first report, whatever the
	 * cadence: 0.95 x 1000 = 950 carries only 360p (800). */
	static const double cadence_ms[] = { 10000, 5000, 1000, 250 };

	for (size_t k = 0; k < sizeof(cadence_ms) / sizeof(cadence_ms[0]); k++) {
		collapse(&s, cadence_ms[k], true);
		assert_int_equal(feed(&s, 1000, cadence_ms[k]), P360);
		feed_quiet(&s, 1000, cadence_ms[k], 60);
		assert_int_equal(s.ups, 0);
		assert_int_equal(s.downs, 1);
	}

	/* From 2160p at 20000: a drop to 4500 lands on 720p (0.95 x 4500 =
	 * 4275 >= 4000), skipping 1080p. */
	sim_init(&s, P2160, true);
	feed_quiet(&s, 20000, 5000, 12);
	assert_int_equal(feed(&s, 4500, 5000), P720);

	/* A client that ignores the advice hears it once, not every report. */
	collapse(&s, 1000, false);
	assert_int_equal(feed(&s, 1000, 1000), P360);
	feed_quiet(&s, 1000, 1000, 60);
	assert_int_equal(s.downs, 1);

	/* A dip that still carries the current profile changes nothing:
	 * 0.95 x 8500 = 8075 >= 8000 at 1080p. */
	collapse(&s, 1000, true);
	feed_quiet(&s, 8500, 1000, 20);
	assert_int_equal(s.downs, 0);
}

/* 360p on a steady 1000 kbps for a minute, then 20000 kbps every second.
 * min(fast, slow) is the slow average, 20000 - 19000 x 0.9259^k after k
 * reports: it carries 480p (>= 1500 / 0.7 = 2143) from k = 1, 720p (>= 5714)
 * from k = 4, 1080p (>= 11429) from k = 11, and never 2160p (22857). */
static void test_slow_recovery(void **state)
{
	struct sim s;

	sim_init(&s, P360, true);
	feed_quiet(&s, 1000, 1000, 60);
	s.reports = 0;
	feed_quiet(&s, 20000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 20000, 1000), P480);                /* k = 3 */
	feed_quiet(&s, 20000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 20000, 1000), P720);                /* k = 6 */
	feed_quiet(&s, 20000, 1000, 6);
	assert_int_equal(feed(&s, 20000, 1000), P1080);               /* k = 13 */
	feed_quiet(&s, 20000, 1000, 100);
	assert_int_equal(s.cur, P1080);
	assert_int_equal(s.ups, 3);
	assert_int_equal(s.downs, 0);

	/* A client slow to act: the suggestion is not repeated, and after the
	 * switch the streak starts over, so the next step takes another
	 * RV_QUALITY_UP_REPORTS reports even though the bandwidth carried it
	 * all along. */
	sim_init(&s, P360, false);
	feed_quiet(&s, 1000, 1000, 60);
	feed_quiet(&s, 20000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 20000, 1000), P480);
	feed_quiet(&s, 20000, 1000, 10);             /* 720p is carried by now */
	s.cur = P480;
	rv_quality_changed(&s.q);
	feed_quiet(&s, 20000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 20000, 1000), P720);
	/* Not taking it: 720p is suggested once. */
	feed_quiet(&s, 20000, 1000, 20);
	s.cur = P720;
	rv_quality_changed(&s.q);
	feed_quiet(&s, 20000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 20000, 1000), P1080);
	feed_quiet(&s, 20000, 1000, 20);
	assert_int_equal(s.ups, 3);
}

static void test_spike_never_suggests_up(void **state)
{
	static const double spikes[] = { 3000, 20000, 100000, 1e9 };
	struct sim s;

	for (size_t i = 0; i < sizeof(spikes) / sizeof(spikes[0]); i++) {
		sim_init(&s, P360, false);
		feed_quiet(&s, 1000, 1000, 30);
		feed_quiet(&s, spikes[i], 1000, 1);
		feed_quiet(&s, 1000, 1000, 60);
		assert_int_equal(s.ups, 0);

		/* Two spikes in a row are still not three. */
		sim_init(&s, P720, false);
		feed_quiet(&s, 5000, 5000, 30);
		feed_quiet(&s, spikes[i] * 4, 5000, RV_QUALITY_UP_REPORTS - 1);
		feed_quiet(&s, 5000, 5000, 60);
	}

	/* Why the up rule looks at the report as well as the estimate: after a
	 * 20000 spike at 1000 the slow average alone stays above 1500 / 0.7 =
	 * 2143 for three reports (1000 + 19000 x 0.0741 x 0.9259^k). */
	sim_init(&s, P360, false);
	feed_quiet(&s, 1000, 1000, 30);
	feed_quiet(&s, 20000, 1000, 1);
	for (int k = 0; k < RV_QUALITY_UP_REPORTS; k++) {
		assert_true(rv_quality_estimate(&s.q) * RV_QUALITY_UP_FACTOR >= 1500);
		feed_quiet(&s, 1000, 1000, 1);
	}
	assert_int_equal(s.q.up_streak, 0);
}

/* Drive the default ladder at profile c with a bandwidth wobbling around
 * centre, with an obedient client, and count direction reversals. */
static void wobble(int c, double centre, double amp, double cadence_ms, bool noisy)
{
	struct sim s;
	unsigned seed = 12345u + (unsigned)c;

	sim_init(&s, c, true);
	for (int i = 0; i < 100; i++) {
		double f;

		if (noisy) {
			seed = seed * 1103515245u + 12345u;
			f = 1 + amp * ((double)(seed >> 8 & 0xffff) / 32767.5 - 1);
		} else {
			f = i % 2 ? 1 - amp : 1 + amp;
		}
		feed(&s, centre * f, cadence_ms);
	}
	if (s.reversals || s.ups + s.downs > 1)
		fail_msg("at %s around %g (+/- %g%%, every %g ms%s): %d up, %d down, "
			 "%d reversals", s.l.p[c].name, centre, amp * 100, cadence_ms,
			 noisy ? ", noisy" : "", s.ups, s.downs, s.reversals);
}

static void test_wobble_never_flaps(void **state)
{
	static const double amps[] = { 0.005, 0.02, 0.05, 0.15 };
	static const double cadences[] = { 500, 1000, 3000, 10000 };
	struct rv_ladder l;

	rv_ladder_default(&l);
	for (int c = 0; c < (int)l.n; c++) {
		for (size_t a = 0; a < sizeof(amps) / sizeof(amps[0]); a++) {
			for (size_t k = 0; k < sizeof(cadences) / sizeof(cadences[0]); k++) {
				for (int noisy = 0; noisy < 2; noisy++) {
					/* Around where the current one stops being
					 * carried, e.g. 4000 / 0.95 = 4211 at 720p. */
					wobble(c, l.p[c].kbps / RV_QUALITY_DOWN_FACTOR, amps[a],
					       cadences[k], noisy);
					/* Around where the next one up becomes
					 * carried, e.g. 8000 / 0.7 = 11429 at 720p. */
					if (c > 0)
						wobble(c, l.p[c - 1].kbps / RV_QUALITY_UP_FACTOR,
						       amps[a], cadences[k], noisy);
				}
			}
		}
	}

	/* The example by hand: 720p, alternately 4300 and 4120 (either side
	 * of 4211) every second. The estimate settles within 4200 +/- 12,
	 * 0.95 x that < 4000: one step down, and at 480p the next one up needs
	 * 5714, so it stays. */
	{
		struct sim s;

		sim_init(&s, P720, true);
		for (int i = 0; i < 100; i++)
			feed(&s, i % 2 ? 4120 : 4300, 1000);
		assert_int_equal(s.downs, 1);
		assert_int_equal(s.ups, 0);
		assert_int_equal(s.cur, P480);
	}
}

static void test_single_profile_ladder(void **state)
{
	struct sim s;

	sim_init(&s, 0, true);
	s.l = ladder("only:4000");
	feed_quiet(&s, 4000, 1000, 10);
	feed_quiet(&s, 0, 1000, 10);        /* cannot carry it: nowhere to go */
	feed_quiet(&s, 1e9, 1000, 10);
	feed_quiet(&s, 100, 10000, 10);
	feed_quiet(&s, 1e6, 250, 50);
	feed_quiet(&s, 1e6, 1000, 100);
	assert_int_equal(s.cur, 0);
	/* The estimate still follows the reports. */
	assert_near(rv_quality_estimate(&s.q), 1e6, 1e3);
}

static void test_custom_ladder(void **state)
{
	struct sim s;

	/* Sorted highest first by the parser; the rules work on the indexes. */
	sim_init(&s, 0, true);
	s.l = ladder("low:500,high:5000,mid:2000");
	s.cur = rv_ladder_find(&s.l, "high");
	assert_int_equal(s.cur, 0);
	feed_quiet(&s, 6000, 1000, 20);
	/* Every 10 s, to 100: fast = 0.0992 x 6000 + 0.9008 x 100 = 685,
	 * 0.95 x 685 = 651 carries low only: past mid in one step. */
	assert_int_equal(feed(&s, 100, 10000), rv_ladder_find(&s.l, "low"));
	feed_quiet(&s, 100, 10000, 20);
	assert_int_equal(s.downs, 1);

	/* Nothing fits at all: the lowest. */
	sim_init(&s, 0, true);
	s.l = ladder("low:500,high:5000,mid:2000");
	assert_int_equal(feed(&s, 100, 1000), 2);
	assert_string_equal(s.l.p[s.cur].name, "low");

	/* Up through a custom ladder, one step at a time. */
	for (int i = 0; i < 30; i++)
		feed(&s, 4000, 1000);
	assert_string_equal(s.l.p[s.cur].name, "mid");
	assert_int_equal(s.ups, 1);
	feed_quiet(&s, 4000, 1000, 30);   /* 0.7 x 4000 < 5000 */
	assert_int_equal(s.ups, 1);
}

/* Two reports: 2000 kbps first (weight 1 s), then 1000 kbps after gap_ms. By
 * hand, with a = alpha^w for the gap w in s (clamped to [0.1, 10]):
 *   numerator   = 1000 (1 - a) + a x 2000 (1 - alpha)
 *   total       = 1 + w
 *   estimate    = numerator / (1 - alpha^(1 + w)). */
static void two_reports(struct rv_quality *q, double gap_ms)
{
	rv_quality_init(q);
	assert_int_equal(rv_quality_report(q, NULL, 0, 2000, 50000), -1);
	assert_int_equal(rv_quality_report(q, NULL, 0, 1000, 50000 + gap_ms), -1);
}

static double fast_estimate(const struct rv_quality *q)
{
	return q->fast / (1 - pow(FAST_ALPHA, q->fast_w));
}

static double slow_estimate(const struct rv_quality *q)
{
	return q->slow / (1 - pow(SLOW_ALPHA, q->slow_w));
}

static void test_time_weighting(void **state)
{
	struct rv_quality q;
	double short_est, long_est;

	/* The first report weighs 1 s and the bias correction makes the
	 * estimate the report itself. */
	rv_quality_init(&q);
	assert_true(rv_quality_estimate(&q) == 0);
	rv_quality_report(&q, NULL, 0, 2000, 50000);
	assert_near(q.fast, 2000 * (1 - FAST_ALPHA), 1e-9);   /* 412.5989 */
	assert_near(q.slow, 2000 * (1 - SLOW_ALPHA), 1e-9);   /* 148.2506 */
	assert_true(q.fast_w == 1 && q.slow_w == 1);
	assert_near(rv_quality_estimate(&q), 2000, 1e-9);

	/* 0.5 s later: fast a = 2^(-1/6) = 0.890899,
	 * numerator 1000 x 0.109101 + 0.890899 x 412.5989 = 476.6852,
	 * estimate 476.6852 / (1 - 2^(-1/2)) = 1627.505; slow 1653.751. */
	two_reports(&q, 500);
	assert_near(q.fast, 476.685156, 1e-5);
	assert_near(q.slow, 180.426401, 1e-5);
	assert_near(q.fast_w, 1.5, 1e-12);
	assert_near(fast_estimate(&q), 1627.50492, 1e-4);
	assert_near(slow_estimate(&q), 1653.75143, 1e-4);
	short_est = rv_quality_estimate(&q);
	assert_near(short_est, 1627.50492, 1e-4);

	/* 6 s later: fast a = 2^-2 = 0.25,
	 * numerator 750 + 0.25 x 412.5989 = 853.1497,
	 * estimate 853.1497 / (1 - 2^(-7/3)) = 1064.342; slow 1112.052. */
	two_reports(&q, 6000);
	assert_near(q.fast, 853.149737, 1e-5);
	assert_near(q.slow, 463.431485, 1e-5);
	assert_near(q.fast_w, 7, 1e-12);
	long_est = rv_quality_estimate(&q);
	assert_near(long_est, 1064.34192, 1e-4);
	assert_near(slow_estimate(&q), 1112.05191, 1e-4);

	/* The new sample counted for more after the long gap. */
	assert_true(long_est < short_est);
	assert_true(2000 - long_est > 2 * (2000 - short_est));

	/* Gaps over 10 s weigh 10 s; under 0.1 s, 0.1 s. */
	{
		struct rv_quality a, b;

		two_reports(&a, 20000);
		two_reports(&b, 10000);
		assert_true(a.fast == b.fast && a.slow == b.slow && a.fast_w == 11);
		assert_near(rv_quality_estimate(&a), 1022.21698, 1e-4);
		two_reports(&a, 1);
		two_reports(&b, 100);
		assert_true(a.fast == b.fast && a.slow == b.slow);
		assert_near(a.fast_w, 1.1, 1e-12);
	}

	/* min(fast, slow): on a rise the slow one is the estimate. */
	rv_quality_init(&q);
	rv_quality_report(&q, NULL, 0, 1000, 0);
	rv_quality_report(&q, NULL, 0, 2000, 1000);
	/* fast (1000 x 0.2063 x 0.7937 + 2000 x 0.2063) / (1 - 0.63) = 1557.5,
	 * slow (1000 x 0.0741 x 0.9259 + 2000 x 0.0741) / (1 - 0.8572) = 1519.2 */
	assert_near(fast_estimate(&q), 1557.50667, 1e-4);
	assert_near(rv_quality_estimate(&q), slow_estimate(&q), 1e-9);
	assert_near(rv_quality_estimate(&q), 1519.24458, 1e-4);
}

static void test_zero_kbps(void **state)
{
	struct sim s;
	double prev;

	/* A first report of nothing: the estimate is 0, nothing fits, the
	 * lowest is suggested at once. */
	sim_init(&s, P1080, true);
	assert_int_equal(feed(&s, 0, 1000), P360);
	assert_true(rv_quality_estimate(&s.q) == 0);
	feed_quiet(&s, 0, 1000, 50);
	assert_true(rv_quality_estimate(&s.q) == 0);

	/* Zeros after a steady 10000: the estimate falls, never below 0. */
	sim_init(&s, P1080, false);
	feed_quiet(&s, 10000, 1000, 30);
	prev = rv_quality_estimate(&s.q);
	for (int i = 0; i < 200; i++) {
		double e;

		feed(&s, 0, 1000);
		e = rv_quality_estimate(&s.q);
		assert_true(e >= 0 && e < prev);
		prev = e;
	}
	assert_true(prev < 1);
	assert_int_equal(s.q.suggested, P360);
	assert_int_equal(s.ups, 0);
}

static void test_huge_kbps(void **state)
{
	static const double huge[] = { 1e9, 1e12, 1e300, DBL_MAX };
	struct sim s;

	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		/* Counted as the protocol's ceiling, 1e9: finite averages. */
		sim_init(&s, P1080, true);
		feed_quiet(&s, huge[i], 1000, RV_QUALITY_UP_REPORTS - 1);
		assert_int_equal(feed(&s, huge[i], 1000), P2160);
		feed_quiet(&s, huge[i], 1000, 50);
		assert_true(isfinite(s.q.fast) && isfinite(s.q.slow));
		assert_near(rv_quality_estimate(&s.q), 1e9, 1e-3);
		/* And the way back down works. */
		for (int k = 0; k < 200 && s.cur != P360; k++)
			feed(&s, 500, 1000);
		assert_int_equal(s.cur, P360);
	}

	/* NaN, infinities and negatives are not reports: ignored. */
	{
		static const double bad[] = { NAN, -NAN, INFINITY, -INFINITY, -1, -1e-300 };
		struct rv_quality before;

		sim_init(&s, P1080, false);
		feed_quiet(&s, 10000, 1000, 5);
		memcpy(&before, &s.q, sizeof(before));
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			assert_int_equal(rv_quality_report(&s.q, &s.l, P1080, bad[i], 99000), -1);
			assert_memory_equal(&s.q, &before, sizeof(before));
		}
		/* -0 is zero, a report: nothing carries it, the lowest profile. */
		assert_int_equal(rv_quality_report(&s.q, &s.l, P1080, -0.0, 6000), P360);
		assert_true(s.q.fast_w == 6);
	}
}

static void test_out_of_order_times(void **state)
{
	struct sim s;
	double w;

	sim_init(&s, P720, false);
	feed_quiet(&s, 5000, 1000, 10);            /* t = 10000 */
	/* Earlier than the previous report: the minimum weight. */
	w = s.q.fast_w;
	feed_quiet(&s, 5000, -5000, 1);            /* t = 5000 */
	assert_near(s.q.fast_w - w, 0.1, 1e-12);
	/* The next gap counts from that report. */
	w = s.q.fast_w;
	feed_quiet(&s, 5000, 1000, 1);             /* t = 6000 */
	assert_near(s.q.fast_w - w, 1.0, 1e-12);
	/* The same time twice. */
	w = s.q.fast_w;
	feed_quiet(&s, 5000, 0, 1);
	assert_near(s.q.fast_w - w, 0.1, 1e-12);
	/* A non-finite time: the minimum weight, and the last good time is
	 * kept for the next gap. */
	w = s.q.fast_w;
	assert_int_equal(rv_quality_report(&s.q, &s.l, s.cur, 5000, NAN), -1);
	assert_near(s.q.fast_w - w, 0.1, 1e-12);
	assert_true(s.q.last_ms == 6000);
	assert_int_equal(rv_quality_report(&s.q, &s.l, s.cur, 5000, INFINITY), -1);
	assert_true(s.q.last_ms == 6000);
	w = s.q.fast_w;
	assert_int_equal(rv_quality_report(&s.q, &s.l, s.cur, 5000, 8000), -1);
	assert_near(s.q.fast_w - w, 2.0, 1e-12);
	assert_near(rv_quality_estimate(&s.q), 5000, 1e-6);

	/* A shuffled clock does not break the decisions: a collapse is still
	 * followed and a steady rate still stays. */
	sim_init(&s, P1080, true);
	s.t = 1e6;
	for (int i = 0; i < 100; i++)
		feed(&s, 10000, i % 3 ? 1000 : -2500);
	assert_int_equal(s.ups + s.downs, 0);
	for (int i = 0; i < 100 && s.cur != P360; i++)
		feed(&s, 1000, i % 2 ? 3000 : -1000);
	assert_int_equal(s.cur, P360);
	assert_int_equal(s.ups, 0);
	assert_true(isfinite(rv_quality_estimate(&s.q)));
}

static void test_changed_and_repeats(void **state)
{
	struct sim s;

	/* Zero-initialised is as good as rv_quality_init: a first suggestion
	 * of profile 0 is not taken for a repeat. */
	memset(&s, 0, sizeof(s));
	rv_ladder_default(&s.l);
	s.cur = P1080;
	feed_quiet(&s, 30000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 30000, 1000), P2160);
	feed_quiet(&s, 30000, 1000, 10);

	/* rv_quality_changed without a switch: the same advice may come again,
	 * after a new streak. */
	rv_quality_changed(&s.q);
	assert_int_equal(s.q.suggested, -1);
	assert_int_equal(s.q.up_streak, 0);
	feed_quiet(&s, 30000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 30000, 1000), P2160);

	/* A down suggestion resets the up streak, and a suggestion in another
	 * direction is not a repeat. */
	sim_init(&s, P720, false);
	feed_quiet(&s, 20000, 1000, RV_QUALITY_UP_REPORTS - 1);
	assert_int_equal(feed(&s, 20000, 1000), P1080);
	for (int i = 0; i < 60 && s.downs == 0; i++)
		feed(&s, 2000, 1000);
	assert_int_equal(s.q.suggested, P480);
	assert_int_equal(s.q.up_streak, 0);

	/* Out-of-range current profile or no ladder: no advice, but the
	 * report still counts. */
	sim_init(&s, P720, false);
	assert_int_equal(rv_quality_report(&s.q, &s.l, -1, 100, 0), -1);
	assert_int_equal(rv_quality_report(&s.q, &s.l, 5, 100, 1000), -1);
	assert_int_equal(rv_quality_report(&s.q, NULL, 0, 100, 2000), -1);
	assert_near(rv_quality_estimate(&s.q), 100, 1e-9);
	assert_int_equal(rv_quality_report(&s.q, &s.l, P720, 100, 3000), P360);
	assert_int_equal(rv_quality_report(NULL, &s.l, P720, 100, 3000), -1);
	assert_true(rv_quality_estimate(NULL) == 0);
	rv_quality_changed(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ladder_default),
		cmocka_unit_test(test_ladder_find),
		cmocka_unit_test(test_ladder_parse_valid),
		cmocka_unit_test(test_ladder_parse_invalid),
		cmocka_unit_test(test_ladder_initial),
		cmocka_unit_test(test_steady_never_suggests),
		cmocka_unit_test(test_collapse),
		cmocka_unit_test(test_slow_recovery),
		cmocka_unit_test(test_spike_never_suggests_up),
		cmocka_unit_test(test_wobble_never_flaps),
		cmocka_unit_test(test_single_profile_ladder),
		cmocka_unit_test(test_custom_ladder),
		cmocka_unit_test(test_time_weighting),
		cmocka_unit_test(test_zero_kbps),
		cmocka_unit_test(test_huge_kbps),
		cmocka_unit_test(test_out_of_order_times),
		cmocka_unit_test(test_changed_and_repeats),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
