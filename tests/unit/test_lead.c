/* tests/unit/test_lead.c - lib/lead.c: the lead of scheduled commands
 * (the RTT window, the clamp) and the state a host's sync results in
 * (continuous or a seek, a pending state replaced), with a given clock.
 */
#include "unit.h"

#include <math.h>
#include <stdbool.h>

#include "lead.h"

#define T0 1700000000000.0

static void test_no_samples_is_min(void **state)
{
	struct rv__lead l;

	(void)state;
	rv__lead_init(&l, 100, 1000);
	assert_true(isnan(rv__lead_rtt_max(&l, T0)));
	assert_true(rv__lead_ms(&l, T0) == 100);
	rv__lead_init(&l, 0, 1000);
	assert_true(rv__lead_ms(&l, T0) == 0);
}

static void test_max_zero_is_unscheduled(void **state)
{
	struct rv__lead l;

	(void)state;
	rv__lead_init(&l, 100, 0);
	assert_true(rv__lead_ms(&l, T0) == 0);
	rv__lead_rtt(&l, 300, T0);
	assert_true(rv__lead_ms(&l, T0) == 0);
	/* the window still knows the RTT */
	assert_true(rv__lead_rtt_max(&l, T0) == 300);
}

static void test_clamp(void **state)
{
	struct rv__lead l;

	(void)state;
	rv__lead_init(&l, 100, 1000);
	rv__lead_rtt(&l, 20, T0);
	assert_true(rv__lead_ms(&l, T0) == 100);       /* 40 -> min */
	rv__lead_rtt(&l, 200, T0 + 1);
	assert_true(rv__lead_ms(&l, T0 + 2) == 400);   /* 2 x the highest */
	rv__lead_rtt(&l, 50, T0 + 3);
	assert_true(rv__lead_ms(&l, T0 + 4) == 400);   /* a lower one does not lower it */
	rv__lead_rtt(&l, 800, T0 + 5);
	assert_true(rv__lead_ms(&l, T0 + 6) == 1000);  /* 1600 -> max */
	/* lead_min above lead_max: lead_max wins */
	rv__lead_init(&l, 500, 200);
	assert_true(rv__lead_ms(&l, T0) == 200);
}

static void test_window_expiry(void **state)
{
	struct rv__lead l;
	double t = T0 - fmod(T0, RV__LEAD_BUCKET_MS);  /* a slice's start */

	(void)state;
	rv__lead_init(&l, 100, 1000);
	rv__lead_rtt(&l, 300, t + 1);
	rv__lead_rtt(&l, 100, t + 15000);
	assert_true(rv__lead_rtt_max(&l, t + 20000) == 300);
	assert_true(rv__lead_ms(&l, t + 20000) == 600);
	/* the 300 sample's slice stays for RV__LEAD_BUCKETS slices: 30 s at
	 * least, 40 s at most */
	assert_true(rv__lead_rtt_max(&l, t + 39999) == 300);
	assert_true(rv__lead_rtt_max(&l, t + 40000) == 100);
	assert_true(rv__lead_ms(&l, t + 40000) == 200);
	/* everything aged out: back to lead_min */
	assert_true(isnan(rv__lead_rtt_max(&l, t + 50000)));
	assert_true(rv__lead_ms(&l, t + 50000) == 100);
	/* a new sample reuses an old bucket, not maxed with its stale value */
	rv__lead_rtt(&l, 60, t + 60000);
	assert_true(rv__lead_rtt_max(&l, t + 60001) == 60);
	/* a query from before a sample's slice (a clock that stepped back)
	 * does not see it */
	assert_true(isnan(rv__lead_rtt_max(&l, t - 1)));
}

static void test_garbage_ignored(void **state)
{
	struct rv__lead l;

	(void)state;
	rv__lead_init(&l, 100, 1000);
	rv__lead_rtt(&l, NAN, T0);
	rv__lead_rtt(&l, INFINITY, T0);
	rv__lead_rtt(&l, -1, T0);
	rv__lead_rtt(&l, RV__LEAD_RTT_MAX_MS + 1, T0);
	rv__lead_rtt(&l, 200, NAN);
	assert_true(isnan(rv__lead_rtt_max(&l, T0)));
	rv__lead_rtt(&l, 0, T0);
	assert_true(rv__lead_rtt_max(&l, T0) == 0);
	assert_true(rv__lead_ms(&l, T0) == 100);
}

static void test_many_members_cheap(void **state)
{
	struct rv__lead l;

	(void)state;
	/* 1000 members pinging every 5 s for 2 minutes: the state is a few
	 * buckets, the answer the window's maximum */
	rv__lead_init(&l, 100, 1000);
	for (int s = 0; s < 120; s += 5)
		for (int m = 0; m < 1000; m++)
			rv__lead_rtt(&l, 10 + (m % 97) + (s < 60 && m == 7 ? 400 : 0),
				     T0 + s * 1000.0 + m);
	assert_true(sizeof(l) < 128);
	assert_true(rv__lead_rtt_max(&l, T0 + 120000) == 10 + 96);
	assert_true(rv__lead_ms(&l, T0 + 120000) == 2 * 106);
}

/* ---- rv__lead_schedule */

static const double NOW = T0 + 5000, LEAD = 400;

static struct rv_playback pb(double pos, bool playing, double speed, double at)
{
	struct rv_playback s = { pos, playing, speed, at };

	return s;
}

static void test_resume_from_pause(void **state)
{
	struct rv_playback old = pb(42, false, 1, T0);
	struct rv_playback host = pb(42, true, 1, NOW);
	struct rv_playback out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);

	(void)state;
	assert_true(out.position == 42 && out.playing && out.speed == 1);
	assert_true(out.server_time == NOW + LEAD);
	/* held at 42 until then, playing after */
	assert_true(rv_playback_position_at(&out, NOW + 100) == 42);
	assert_near(rv_playback_position_at(&out, NOW + LEAD + 1000), 43, 1e-9);
}

static void test_pause_stops_where_everyone_is_at_t(void **state)
{
	/* playing from 10 at T0: at NOW (T0 + 5 s) everyone is at 15 */
	struct rv_playback old = pb(10, true, 1, T0);
	/* the host paused a little behind (its upload delay) */
	struct rv_playback host = pb(14.9, false, 1, NOW);
	struct rv_playback out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);

	(void)state;
	assert_false(out.playing);
	assert_near(out.position, 15.4, 1e-9);    /* where everyone will be at T */
	/* nobody moves back: the position under old up to T, then held */
	for (double t = NOW; t < NOW + 3000; t += 50) {
		double p = t < out.server_time ? rv_playback_position_at(&old, t)
					       : rv_playback_position_at(&out, t);

		assert_true(p <= out.position + 1e-9);
		if (t >= out.server_time)
			assert_true(p == out.position);
	}
}

static void test_speed_change_continues(void **state)
{
	struct rv_playback old = pb(10, true, 1, T0);
	struct rv_playback host = pb(15, true, 2, NOW);
	struct rv_playback out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);

	(void)state;
	assert_true(out.playing && out.speed == 2);
	assert_near(out.position, 15.4, 1e-9);
	assert_near(rv_playback_position_at(&out, NOW + LEAD + 1000), 17.4, 1e-9);
}

static void test_seek_lands_on_target_at_t(void **state)
{
	struct rv_playback old = pb(10, true, 1, T0);
	struct rv_playback host = pb(100, true, 1, NOW);
	struct rv_playback out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);

	(void)state;
	assert_true(out.position == 100 && out.playing);
	assert_true(out.server_time == NOW + LEAD);
	assert_true(rv_playback_position_at(&out, NOW + LEAD) == 100);
	/* a seek back is a seek too */
	host = pb(14, false, 1, NOW);
	out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);
	assert_true(out.position == 14 && !out.playing);
}

static void test_tolerance_edges(void **state)
{
	struct rv_playback old = pb(10, true, 1, T0);   /* 15 at NOW */
	struct rv_playback host = pb(15.25, true, 1, NOW);
	struct rv_playback out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);

	(void)state;
	assert_near(out.position, 15.4, 1e-9);       /* within 250 ms: continuous */
	host.position = 15.26;
	out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);
	assert_true(out.position == 15.26);          /* beyond: a seek */
	/* at speed 2 the allowance in position doubles */
	old = pb(10, true, 2, T0);                    /* 20 at NOW */
	host = pb(20.45, true, 2, NOW);
	out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);
	assert_near(out.position, 20.8, 1e-9);
	/* the host's `at`: its position extrapolated to now is what counts */
	old = pb(10, true, 1, T0);
	host = pb(14, true, 1, NOW - 1000);           /* 15 at NOW */
	out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);
	assert_near(out.position, 15.4, 1e-9);
	/* a pause the host made 500 ms ago (its `at`), in step with the
	 * party then: continuous, though its position now is 0.5 s behind */
	host = pb(14.5, false, 1, NOW - 500);
	out = rv__lead_schedule(&old, NULL, &host, 250, NOW + LEAD);
	assert_false(out.playing);
	assert_near(out.position, 15.4, 1e-9);
}

static void test_pending_replaced(void **state)
{
	/* in force: playing from 10 at T0 (15 at NOW); pending: a pause at
	 * T1 = NOW + 300 at 15.3 */
	struct rv_playback in_force = pb(10, true, 1, T0);
	struct rv_playback pending = pb(15.3, false, 1, NOW + 300);
	/* the host resumes at once (its player, following the schedule, is
	 * still playing): continuous with what plays, the pause is undone */
	struct rv_playback host = pb(15.1, true, 1, NOW + 100);
	struct rv_playback out = rv__lead_schedule(&in_force, &pending, &host, 250, NOW + 100 + LEAD);

	(void)state;
	assert_true(out.playing);
	assert_near(out.position, 15.5, 1e-9);
	/* the pending one was a seek to 500 and the host already shows it:
	 * continuous with the pending state, which goes on at T2 */
	pending = pb(500, true, 1, NOW + 300);
	host = pb(500, false, 1, NOW + 100);
	out = rv__lead_schedule(&in_force, &pending, &host, 250, NOW + 100 + LEAD);
	assert_false(out.playing);
	assert_near(out.position, 500.2, 1e-9);
	/* a later deadline than the pending one's is not needed: T2 before
	 * T1 holds the pending position */
	out = rv__lead_schedule(&in_force, &pending, &host, 250, NOW + 200);
	assert_true(out.position == 500);
}

static void test_pending_paths_never_back(void **state)
{
	/* paused at 42; a resume pending for NOW + 300; the host pauses again
	 * at NOW + 100, for T = NOW + 500. Members that dropped the resume
	 * held 42, those that got the pause late played 0.2 s from NOW + 300:
	 * the pause lands on the further, 42.2 */
	struct rv_playback in_force = pb(42, false, 1, T0);
	struct rv_playback pending = pb(42, true, 1, NOW + 300);
	struct rv_playback host = pb(42, false, 1, NOW + 100);
	struct rv_playback out = rv__lead_schedule(&in_force, &pending, &host, 250, NOW + 500);

	(void)state;
	assert_false(out.playing);
	assert_near(out.position, 42.2, 1e-9);
	/* a pending seek back is kept: a pause right after it, sent from
	 * where the host's player still is, lands after the seek's target */
	in_force = pb(10, true, 1, T0);                 /* 15 at NOW */
	pending = pb(3, true, 1, NOW + 300);
	host = pb(15.1, false, 1, NOW + 100);
	out = rv__lead_schedule(&in_force, &pending, &host, 250, NOW + 500);
	assert_near(out.position, 3.2, 1e-9);
	/* and a real seek still wins over both */
	host = pb(77, true, 1, NOW + 100);
	out = rv__lead_schedule(&in_force, &pending, &host, 250, NOW + 500);
	assert_true(out.position == 77);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_samples_is_min),
		cmocka_unit_test(test_max_zero_is_unscheduled),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_window_expiry),
		cmocka_unit_test(test_garbage_ignored),
		cmocka_unit_test(test_many_members_cheap),
		cmocka_unit_test(test_resume_from_pause),
		cmocka_unit_test(test_pause_stops_where_everyone_is_at_t),
		cmocka_unit_test(test_speed_change_continues),
		cmocka_unit_test(test_seek_lands_on_target_at_t),
		cmocka_unit_test(test_tolerance_edges),
		cmocka_unit_test(test_pending_replaced),
		cmocka_unit_test(test_pending_paths_never_back),
	};

	return cmocka_run_group_tests_name("lead", tests, NULL, NULL);
}
