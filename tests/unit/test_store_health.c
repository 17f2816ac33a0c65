/* tests/unit/test_store_health.c - when a failing store is logged
 * (lib/store_health.c): once as it starts failing, at most every N ms
 * while it goes on, once as it recovers. Times are given, not measured. */
#include "unit.h"

#include "store_health.h"

static void healthy_store_says_nothing(void **state)
{
	struct rv__store_health h;

	rv__store_health_init(&h, 10000);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rv__store_health_ok(&h, 1000.0 * i).event, RV__STORE_QUIET);
	assert_false(h.failing);
}

static void first_failure_is_logged_once(void **state)
{
	struct rv__store_health h;
	struct rv__store_note n;

	rv__store_health_init(&h, 10000);
	n = rv__store_health_fail(&h, 5000);
	assert_int_equal(n.event, RV__STORE_FAILING);
	assert_int_equal(n.count, 1);
	assert_true(h.failing);
	/* a burst right after is quiet */
	for (int i = 1; i <= 100; i++)
		assert_int_equal(rv__store_health_fail(&h, 5000 + i).event, RV__STORE_QUIET);
}

static void still_failing_at_most_every_n_with_a_count(void **state)
{
	struct rv__store_health h;
	struct rv__store_note n;
	int lines = 0;

	rv__store_health_init(&h, 10000);
	rv__store_health_fail(&h, 0);
	/* one failure every 100 ms for 35 s: lines at 10, 20 and 30 s */
	for (int t = 100; t <= 35000; t += 100) {
		n = rv__store_health_fail(&h, t);
		if (n.event == RV__STORE_QUIET)
			continue;
		assert_int_equal(n.event, RV__STORE_STILL_FAILING);
		lines++;
		assert_int_equal(t, 10000 * lines);
		/* the failures since the last line, this one included */
		assert_int_equal(n.count, 100);
		assert_near(n.for_ms, t, 1e-9);
	}
	assert_int_equal(lines, 3);
	assert_int_equal(h.failures, 351);
}

static void a_slow_trickle_logs_each_failure(void **state)
{
	struct rv__store_health h;
	struct rv__store_note n;

	rv__store_health_init(&h, 10000);
	rv__store_health_fail(&h, 0);
	n = rv__store_health_fail(&h, 60000);
	assert_int_equal(n.event, RV__STORE_STILL_FAILING);
	assert_int_equal(n.count, 1);
	assert_near(n.for_ms, 60000, 1e-9);
}

static void recovery_is_logged_once_with_the_totals(void **state)
{
	struct rv__store_health h;
	struct rv__store_note n;

	rv__store_health_init(&h, 10000);
	rv__store_health_fail(&h, 1000);
	rv__store_health_fail(&h, 1500);
	rv__store_health_fail(&h, 2000);
	n = rv__store_health_ok(&h, 4000);
	assert_int_equal(n.event, RV__STORE_RECOVERED);
	assert_int_equal(n.count, 3);
	assert_near(n.for_ms, 3000, 1e-9);
	assert_false(h.failing);
	assert_int_equal(rv__store_health_ok(&h, 4001).event, RV__STORE_QUIET);
	/* the next failure starts a new run, logged at once */
	n = rv__store_health_fail(&h, 4002);
	assert_int_equal(n.event, RV__STORE_FAILING);
	assert_int_equal(n.count, 1);
	n = rv__store_health_fail(&h, 4003);
	assert_int_equal(n.event, RV__STORE_QUIET);
}

static void clock_going_back_does_not_silence_the_log(void **state)
{
	struct rv__store_health h;

	rv__store_health_init(&h, 10000);
	rv__store_health_fail(&h, 50000);
	assert_int_equal(rv__store_health_fail(&h, 100).event, RV__STORE_STILL_FAILING);
	assert_int_equal(rv__store_health_fail(&h, 200).event, RV__STORE_QUIET);
}

static void every_zero_or_negative_logs_every_failure(void **state)
{
	struct rv__store_health h;

	rv__store_health_init(&h, -5);
	assert_near(h.every_ms, 0, 0);
	assert_int_equal(rv__store_health_fail(&h, 0).event, RV__STORE_FAILING);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rv__store_health_fail(&h, 0).event, RV__STORE_STILL_FAILING);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(healthy_store_says_nothing),
		cmocka_unit_test(first_failure_is_logged_once),
		cmocka_unit_test(still_failing_at_most_every_n_with_a_count),
		cmocka_unit_test(a_slow_trickle_logs_each_failure),
		cmocka_unit_test(recovery_is_logged_once_with_the_totals),
		cmocka_unit_test(clock_going_back_does_not_silence_the_log),
		cmocka_unit_test(every_zero_or_negative_logs_every_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
