/* tests/unit/test_backoff.c - reconnect delays (lib/backoff.c). */
#include "unit.h"

#include "revenge/backoff.h"

static void grows_doubling_up_to_the_ceiling(void **state)
{
	struct rv_backoff b = { .base_ms = 100, .max_ms = 5000, .jitter = 0, .rng = 1 };

	assert_near(rv_backoff_delay(&b, 0), 100, 1e-9);
	assert_near(rv_backoff_delay(&b, 1), 200, 1e-9);
	assert_near(rv_backoff_delay(&b, 5), 3200, 1e-9);
	assert_near(rv_backoff_delay(&b, 6), 5000, 1e-9);
	assert_near(rv_backoff_delay(&b, 4000000000u), 5000, 1e-9);
}

static void jitter_stays_in_range_and_spreads(void **state)
{
	struct rv_backoff b = { .base_ms = 1000, .max_ms = 1000, .jitter = 0.5, .rng = 42 };
	double lo = 1e9, hi = 0, sum = 0;

	for (int i = 0; i < 10000; i++) {
		double d = rv_backoff_delay(&b, 3);

		assert_true(d >= 500 && d <= 1000);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	/* spread over the whole band, centred */
	assert_true(lo < 520 && hi > 980);
	assert_near(sum / 10000, 750, 15);
}

static void two_clients_do_not_move_in_step(void **state)
{
	struct rv_backoff a = { 100, 10000, 1, 1 }, b = { 100, 10000, 1, 2 };
	int same = 0;

	for (unsigned i = 0; i < 100; i++)
		same += rv_backoff_delay(&a, i % 8) == rv_backoff_delay(&b, i % 8);
	assert_true(same < 3);
}

static void odd_inputs_are_tamed(void **state)
{
	struct rv_backoff b = { .base_ms = 100, .max_ms = 1000, .jitter = 7, .rng = 0 };

	for (int i = 0; i < 100; i++) {
		double d = rv_backoff_delay(&b, 2);

		assert_true(d >= 0 && d <= 400);   /* jitter clamps to 1 */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(grows_doubling_up_to_the_ceiling),
		cmocka_unit_test(jitter_stays_in_range_and_spreads),
		cmocka_unit_test(two_clients_do_not_move_in_step),
		cmocka_unit_test(odd_inputs_are_tamed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
