/* tests/unit/test_correct.c - the player correction policy of lib/correct.c,
 * driven by a simulated player loop with a made-up clock. */
#include "unit.h"

#include <math.h>

#include "revenge/correct.h"

/* A player at rate rate whose target moves at base speed, stepped every
 * dt ms for ms ms, obeying every decision. Returns the final drift (ms);
 * counts sign changes of (rate - base), seeks and the first time (ms) the
 * player ended up settled (rate back to base within the settle band). */
struct sim {
	double now, pos, target, base, rate;
	int sign_changes, seeks, rate_sets;
	double settled_at;
};

static double run(const struct rv_correct_policy *p, struct rv_correct_state *s,
		  struct sim *m, double dt, double ms)
{
	int last_sign = 0;

	for (double end = m->now + ms; m->now < end; m->now += dt) {
		double rate = NAN, seek = NAN;
		enum rv_correct_action a = rv_correct_step(p, s, m->now, m->pos, m->target,
							   m->base, &rate, &seek);

		if (a == RV_CORRECT_SEEK) {
			assert_true(isfinite(seek));
			m->pos = seek;
			m->rate = rate;
			m->seeks++;
		} else if (a == RV_CORRECT_RATE) {
			assert_true(rate >= m->base * (1 - p->max_rate_delta) - 1e-12);
			assert_true(rate <= m->base * (1 + p->max_rate_delta) + 1e-12);
			m->rate = rate;
			m->rate_sets++;
		}
		if (m->rate != m->base) {
			int sign = m->rate > m->base ? 1 : -1;

			if (last_sign && sign != last_sign)
				m->sign_changes++;
			last_sign = sign;
		}
		if (isnan(m->settled_at) && m->rate == m->base &&
		    fabs(m->pos - m->target) * 1000 <= p->settle_band_ms)
			m->settled_at = m->now;
		m->pos += m->rate * dt / 1000;
		m->target += m->base * dt / 1000;
	}
	return (m->pos - m->target) * 1000;
}

static struct sim sim_at(double drift_ms, double base)
{
	struct sim m = { .now = 1000, .pos = 60 + drift_ms / 1000, .target = 60,
			 .base = base, .rate = base, .settled_at = NAN };
	return m;
}

static void test_defaults(void **state)
{
	struct rv_correct_policy p;

	rv_correct_policy_default(&p);
	assert_true(p.dead_band_ms == 20 && p.settle_band_ms == 5);
	assert_true(p.max_rate_delta == 0.05 && p.seek_threshold_ms == 1000);
	assert_true(p.min_seek_interval_ms == 5000);
	assert_true(p.settle_band_ms < p.dead_band_ms);
}

static void converges(double drift_ms, double base, int want_seeks)
{
	struct rv_correct_policy p;
	struct rv_correct_state s;
	struct sim m = sim_at(drift_ms, base);
	double left;

	rv_correct_policy_default(&p);
	rv_correct_reset(&s);
	left = run(&p, &s, &m, 100, 60000);
	assert_true(fabs(left) <= p.settle_band_ms);
	assert_true(m.rate == base);
	assert_int_equal(m.seeks, want_seeks);
	assert_true(m.sign_changes == 0);        /* no overshoot, no oscillation */
	assert_false(isnan(m.settled_at));
	assert_false(s.correcting);
	/* And it stays put: no more decisions once settled. */
	{
		int sets = m.rate_sets;

		run(&p, &s, &m, 100, 10000);
		assert_int_equal(m.rate_sets, sets);
	}
}

static void test_converge_30ms(void **state)
{
	converges(30, 1, 0);
	converges(-30, 1, 0);
	converges(30, 1.5, 0);
}

static void test_converge_300ms(void **state)
{
	converges(300, 1, 0);
	converges(-300, 1, 0);
	converges(-300, 0.5, 0);
}

static void test_converge_3s(void **state)
{
	converges(3000, 1, 1);
	converges(-3000, 1, 1);
}

static void test_converge_time(void **state)
{
	struct rv_correct_policy p;
	struct rv_correct_state s;
	struct sim m = sim_at(300, 1);

	rv_correct_policy_default(&p);
	rv_correct_reset(&s);
	run(&p, &s, &m, 100, 60000);
	/* 300 ms: 4 s at the 5 % bound, then ~2 s * ln(20) proportional. */
	assert_true(m.settled_at - 1000 < 15000);
	m = sim_at(30, 1);
	rv_correct_reset(&s);
	run(&p, &s, &m, 100, 60000);
	assert_true(m.settled_at - 1000 < 6000);
}

static void test_dead_band(void **state)
{
	struct rv_correct_policy p;
	struct rv_correct_state s;
	struct sim m = sim_at(15, 1);
	double rate = 7, seek = 7;

	rv_correct_policy_default(&p);
	rv_correct_reset(&s);
	assert_near(run(&p, &s, &m, 100, 10000), 15, 1e-6);
	assert_int_equal(m.rate_sets, 0);
	assert_int_equal(rv_correct_step(&p, &s, 0, 10.0199, 10, 1, &rate, &seek),
			 RV_CORRECT_NONE);
	assert_true(rate == 7 && seek == 7);
	/* Above it: correcting, and then correcting down to the settle band
	 * (hysteresis): 10 ms is inside the dead band but still corrected. */
	assert_int_equal(rv_correct_step(&p, &s, 0, 10.021, 10, 1, &rate, NULL),
			 RV_CORRECT_RATE);
	assert_true(rate < 1);
	assert_int_equal(rv_correct_step(&p, &s, 100, 10.010, 10, 1, &rate, NULL),
			 RV_CORRECT_RATE);
	assert_near(rate, 1 - 10.0 / 2000, 1e-9);
	assert_int_equal(rv_correct_step(&p, &s, 200, 9.996, 10, 1, &rate, NULL),
			 RV_CORRECT_RATE);
	assert_true(rate == 1);
	assert_false(s.correcting);
	assert_int_equal(rv_correct_step(&p, &s, 300, 10.010, 10, 1, &rate, NULL),
			 RV_CORRECT_NONE);
}

static void test_seek_interval(void **state)
{
	struct rv_correct_policy p;
	struct rv_correct_state s;
	double rate, seek;

	rv_correct_policy_default(&p);
	rv_correct_reset(&s);
	assert_int_equal(rv_correct_step(&p, &s, 1000, 50, 40, 1, &rate, &seek),
			 RV_CORRECT_SEEK);
	assert_true(seek == 40 && rate == 1);
	/* The seek landed 2 s late: the rate works at its bound until the
	 * interval has passed, then one more seek. */
	assert_int_equal(rv_correct_step(&p, &s, 1500, 38, 40.5, 1, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_near(rate, 1.05, 1e-12);
	assert_int_equal(rv_correct_step(&p, &s, 5999, 38, 45, 1, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_int_equal(rv_correct_step(&p, &s, 6000, 38, 45, 1, &rate, &seek),
			 RV_CORRECT_SEEK);
	assert_true(seek == 45);
	/* Ahead by exactly the threshold also seeks (when allowed). */
	assert_int_equal(rv_correct_step(&p, &s, 6100, 46.1, 45.1, 1, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_near(rate, 0.95, 1e-12);
	assert_int_equal(rv_correct_step(&p, &s, 11100, 51.1, 50.1, 1, &rate, &seek),
			 RV_CORRECT_SEEK);

	/* A player that keeps landing 1.5 s off seeks at most every 5 s. */
	{
		struct sim m = sim_at(0, 1);
		int seeks = 0;

		rv_correct_reset(&s);
		for (double now = 0; now < 60000; now += 100) {
			enum rv_correct_action a =
				rv_correct_step(&p, &s, now, m.pos, m.target, 1, &rate, &seek);

			if (a == RV_CORRECT_SEEK)
				seeks++;
			m.pos = m.target - 1.5;       /* whatever it was told */
			m.target += 0.1;
			m.pos += 0.1;
		}
		assert_true(seeks <= 12 && seeks >= 10);
	}
}

static void test_rate_too_slow_seeks(void **state)
{
	struct rv_correct_policy p;
	struct rv_correct_state s;
	double rate, seek;

	rv_correct_policy_default(&p);
	p.max_rate_delta = 0.01;                 /* 500 ms would take 50 s */
	rv_correct_reset(&s);
	assert_int_equal(rv_correct_step(&p, &s, 0, 10.5, 10, 1, &rate, &seek),
			 RV_CORRECT_SEEK);
	assert_true(seek == 10);
	/* 100 ms takes 10 s at 1 %: a rate. */
	rv_correct_reset(&s);
	assert_int_equal(rv_correct_step(&p, &s, 0, 10.1, 10, 1, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_near(rate, 0.99, 1e-12);
}

static void test_nan_inputs(void **state)
{
	struct rv_correct_policy p;
	struct rv_correct_state s;
	double rate = 7, seek = 7;
	const double bad[] = { NAN, INFINITY, -INFINITY };

	rv_correct_policy_default(&p);
	rv_correct_reset(&s);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rv_correct_step(&p, &s, bad[i], 10, 10.5, 1, &rate, &seek),
				 RV_CORRECT_NONE);
		assert_int_equal(rv_correct_step(&p, &s, 0, bad[i], 10.5, 1, &rate, &seek),
				 RV_CORRECT_NONE);
		assert_int_equal(rv_correct_step(&p, &s, 0, 10, bad[i], 1, &rate, &seek),
				 RV_CORRECT_NONE);
		assert_int_equal(rv_correct_step(&p, &s, 0, 10, 10.5, bad[i], &rate, &seek),
				 RV_CORRECT_NONE);
	}
	assert_int_equal(rv_correct_step(&p, &s, 0, 10, 10.5, 0, &rate, &seek),
			 RV_CORRECT_NONE);
	assert_int_equal(rv_correct_step(&p, &s, 0, 10, 10.5, -1, &rate, &seek),
			 RV_CORRECT_NONE);
	assert_true(rate == 7 && seek == 7 && !s.seeked && !s.correcting);

	/* Garbage mid-correction puts the rate back to base, once. */
	assert_int_equal(rv_correct_step(&p, &s, 0, 10.1, 10, 1.25, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_true(s.correcting);
	assert_int_equal(rv_correct_step(&p, &s, 100, NAN, 10, 1.25, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_true(rate == 1.25 && !s.correcting);
	assert_int_equal(rv_correct_step(&p, &s, 200, NAN, 10, 1.25, &rate, &seek),
			 RV_CORRECT_NONE);
	assert_int_equal(rv_correct_step(&p, &s, 300, 10.1, 10, 1, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_int_equal(rv_correct_step(&p, &s, 400, 10.1, 10, NAN, &rate, &seek),
			 RV_CORRECT_RATE);
	assert_true(rate == 1);
	/* Outputs may be NULL. */
	assert_int_equal(rv_correct_step(&p, &s, 500, 20, 10, 1, NULL, NULL),
			 RV_CORRECT_SEEK);
	assert_int_equal(rv_correct_step(&p, &s, 600, 10.1, 10, 1, NULL, NULL),
			 RV_CORRECT_RATE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_converge_30ms),
		cmocka_unit_test(test_converge_300ms),
		cmocka_unit_test(test_converge_3s),
		cmocka_unit_test(test_converge_time),
		cmocka_unit_test(test_dead_band),
		cmocka_unit_test(test_seek_interval),
		cmocka_unit_test(test_rate_too_slow_seeks),
		cmocka_unit_test(test_nan_inputs),
	};

	return cmocka_run_group_tests_name("correct", tests, NULL, NULL);
}
