/* tests/unit/test_lease.c - when a lease renewal is overdue (lib/broker.h
 * rv__lease_overdue): the publish path renews only past the timer's slack. */
#include "unit.h"

#include "broker.h"

static void on_time_is_the_timers(void **state)
{
	assert_false(rv__lease_overdue(10000, 10000, 1000));
	assert_false(rv__lease_overdue(10000, 11000, 1000));    /* the timer's own */
	assert_false(rv__lease_overdue(10000, 11249, 1000));
}

static void a_quarter_late_is_overdue(void **state)
{
	assert_true(rv__lease_overdue(10000, 11250, 1000));
	assert_true(rv__lease_overdue(10000, 14000, 1000));    /* past the lease itself */
}

static void a_clock_stepped_back_is_overdue(void **state)
{
	assert_true(rv__lease_overdue(10000, 9999, 1000));
	assert_true(rv__lease_overdue(1e12, 5, 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(on_time_is_the_timers),
		cmocka_unit_test(a_quarter_late_is_overdue),
		cmocka_unit_test(a_clock_stepped_back_is_overdue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
