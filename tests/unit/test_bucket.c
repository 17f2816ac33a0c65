/* tests/unit/test_bucket.c - the token bucket (lib/bucket.c). Time is
 * handed in, so nothing here waits. */
#include "unit.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>

#include "bucket.h"

/* How many tokens can be taken at now_ms, up to max. */
static int drain(struct rv__bucket *b, double now_ms, int max)
{
	int n = 0;

	while (n < max && rv__bucket_take(b, now_ms))
		n++;
	return n;
}

static void starts_full_then_refills_at_rate(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, 50, 100, 1000);
	assert_int_equal(drain(&b, 1000, 1000), 100);
	assert_false(rv__bucket_take(&b, 1000));
	/* 10 ms at 50/s is half a token: not enough */
	assert_false(rv__bucket_take(&b, 1010));
	/* 20 ms is one */
	assert_true(rv__bucket_take(&b, 1020));
	assert_false(rv__bucket_take(&b, 1020));
	/* one second: 50 more, not 100 */
	assert_int_equal(drain(&b, 2020, 1000), 50);
}

static void never_above_burst(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, 50, 100, 0);
	assert_int_equal(drain(&b, 0, 10), 10);
	/* an hour idle refills to the burst, no more */
	assert_int_equal(drain(&b, 3600e3, 1000), 100);
}

static void huge_elapsed_and_rate(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, 1e6, 2e6, 0);
	assert_int_equal(drain(&b, 0, 5), 5);
	/* elapsed * rate overflows to infinity: the bucket is just full */
	assert_true(rv__bucket_take(&b, DBL_MAX));
	assert_near(b.tokens, 2e6 - 1, 1);
	assert_true(isfinite(b.tokens));

	rv__bucket_init(&b, DBL_MAX, DBL_MAX, 0);
	assert_true(rv__bucket_take(&b, 1e300));
	assert_true(isfinite(b.tokens));
}

static void zero_rate_never_refills(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, 0, 3, 0);
	assert_int_equal(drain(&b, 0, 10), 3);
	assert_int_equal(drain(&b, 1e12, 10), 0);
	/* infinity times a zero rate is NaN: it must add nothing */
	assert_int_equal(drain(&b, INFINITY, 10), 0);
	assert_false(isnan(b.tokens));

	/* zero burst: nothing ever */
	rv__bucket_init(&b, 50, 0, 0);
	assert_int_equal(drain(&b, 1e6, 10), 0);
	/* a burst under one token never lets a message through */
	rv__bucket_init(&b, 50, 0.5, 0);
	assert_int_equal(drain(&b, 1e6, 10), 0);
}

static void hostile_parameters(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, -5, -10, 0);
	assert_near(b.rate, 0, 0);
	assert_near(b.burst, 0, 0);
	assert_false(rv__bucket_take(&b, 1e9));

	rv__bucket_init(&b, NAN, NAN, 0);
	assert_false(rv__bucket_take(&b, 1e9));
	assert_false(isnan(b.tokens));
}

static void time_backwards_or_nan(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, 10, 2, 1000);
	assert_int_equal(drain(&b, 1000, 10), 2);
	/* going back refills nothing and keeps the mark */
	assert_int_equal(drain(&b, 500, 10), 0);
	assert_near(b.at, 1000, 0);
	/* a NaN now refills nothing and keeps the mark */
	assert_int_equal(drain(&b, NAN, 10), 0);
	assert_near(b.at, 1000, 0);
	/* 100 ms after the mark at 10/s: one token */
	assert_int_equal(drain(&b, 1100, 10), 1);

	/* started at a NaN time: anchored by the first real one */
	rv__bucket_init(&b, 10, 2, NAN);
	assert_int_equal(drain(&b, 5000, 10), 2);
	assert_near(b.at, 5000, 0);
	assert_int_equal(drain(&b, 5100, 10), 1);
}

static void fractional_refill_accumulates(void **state)
{
	struct rv__bucket b;
	int got = 0;

	/* a message every 1 ms at 50/s for one second: 50 get through after
	 * the burst, however small each step's refill */
	rv__bucket_init(&b, 50, 100, 0);
	assert_int_equal(drain(&b, 0, 1000), 100);
	for (int ms = 1; ms <= 1000; ms++)
		got += rv__bucket_take(&b, ms);
	assert_in_range(got, 49, 50);
}

static void wait_until_a_token(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, 4, 2, 0);
	assert_true(rv__bucket_wait_ms(&b) == 0);
	assert_int_equal(drain(&b, 0, 10), 2);
	/* empty at 4/s: a quarter of a second */
	assert_near(rv__bucket_wait_ms(&b), 250, 1e-9);
	assert_false(rv__bucket_take(&b, 100));
	assert_near(rv__bucket_wait_ms(&b), 150, 1e-9);
	assert_true(rv__bucket_take(&b, 250));

	/* never refills, or cannot hold a whole token: forever */
	rv__bucket_init(&b, 0, 1, 0);
	assert_true(rv__bucket_take(&b, 0));
	assert_true(isinf(rv__bucket_wait_ms(&b)));
	rv__bucket_init(&b, 10, 0.5, 0);
	assert_true(isinf(rv__bucket_wait_ms(&b)));
	rv__bucket_init(&b, NAN, NAN, 0);
	assert_true(isinf(rv__bucket_wait_ms(&b)));
}

/* Retry-After: whole seconds rounded up, at least 1, at most 60. */
static void retry_after_seconds(void **state)
{
	assert_int_equal(rv__bucket_retry_s(0), 1);
	assert_int_equal(rv__bucket_retry_s(-5), 1);
	assert_int_equal(rv__bucket_retry_s(1), 1);
	assert_int_equal(rv__bucket_retry_s(1000), 1);
	assert_int_equal(rv__bucket_retry_s(1000.5), 2);
	assert_int_equal(rv__bucket_retry_s(59999), 60);
	assert_int_equal(rv__bucket_retry_s(1e12), 60);
	assert_int_equal(rv__bucket_retry_s(INFINITY), 60);
	assert_int_equal(rv__bucket_retry_s(NAN), 60);
	assert_int_equal(rv__bucket_retry_s(-INFINITY), 1);
}

static void take_n_is_all_or_nothing(void **state)
{
	struct rv__bucket b;

	rv__bucket_init(&b, 100, 200, 0);
	assert_true(rv__bucket_take_n(&b, 150, 0));
	/* 50 left: 60 is refused and takes nothing */
	assert_false(rv__bucket_take_n(&b, 60, 0));
	assert_true(rv__bucket_take_n(&b, 50, 0));
	assert_false(rv__bucket_take(&b, 0));
	/* 100 ms at 100/s is 10 */
	assert_true(rv__bucket_take_n(&b, 10, 100));
	assert_false(rv__bucket_take_n(&b, 1, 100));
	assert_true(rv__bucket_take_n(&b, 0, 100));
	assert_false(rv__bucket_take_n(&b, -1, 1000));
	assert_false(rv__bucket_take_n(&b, NAN, 1000));
	/* the refused calls still refilled: 900 ms is 90 */
	assert_false(rv__bucket_take_n(&b, 91, 1000));
	assert_true(rv__bucket_take_n(&b, 90, 1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(starts_full_then_refills_at_rate),
		cmocka_unit_test(take_n_is_all_or_nothing),
		cmocka_unit_test(never_above_burst),
		cmocka_unit_test(huge_elapsed_and_rate),
		cmocka_unit_test(zero_rate_never_refills),
		cmocka_unit_test(hostile_parameters),
		cmocka_unit_test(time_backwards_or_nan),
		cmocka_unit_test(fractional_refill_accumulates),
		cmocka_unit_test(wait_until_a_token),
		cmocka_unit_test(retry_after_seconds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
