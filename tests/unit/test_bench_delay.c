/* tests/unit/test_bench_delay.c - the delay model of `revenge-bench sync`
 * (cmd/revenge-bench/delay.c): delays within base +- jitter (uniform) or
 * with jitter as standard deviation (normal, clipped at 0), FIFO release
 * like a TCP stream, the same releases for the same seed, and the queue's
 * copies and frees.
 */
#include "unit.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "delay.h"

static void no_delay_releases_at_once(void **state)
{
	struct delay_queue q;
	struct delay_msg *m;

	delay_queue_init(&q, 0, 0, DELAY_UNIFORM, 1);
	assert_int_equal(delay_queue_push(&q, 100, 7, "abc", 3), 0);
	m = delay_queue_pop(&q, 100);
	assert_non_null(m);
	assert_int_equal(m->tag, 7);
	assert_int_equal(m->len, 3);
	assert_string_equal(m->text, "abc");
	assert_near(m->release_ms, 100, 0);
	free(m);
	assert_null(delay_queue_pop(&q, 1e9));
	assert_int_equal(q.n, 0);
}

static void within_base_and_jitter(void **state)
{
	struct delay_path p;
	double lo = 1e9, hi = -1e9;

	delay_path_init(&p, 50, 20, DELAY_UNIFORM, 42);
	/* far apart, so FIFO never holds one back: the draws themselves */
	for (int i = 0; i < 10000; i++) {
		double now = i * 1000.0, d = delay_path_next(&p, now) - now;

		assert_true(d >= 30 && d <= 70);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	/* uniform: both ends are reached */
	assert_true(lo < 31 && hi > 69);
}

static void jitter_capped_by_base(void **state)
{
	struct delay_path p;

	delay_path_init(&p, 5, 20, DELAY_UNIFORM, 3);
	for (int i = 0; i < 1000; i++) {
		double now = i * 100.0, d = delay_path_next(&p, now) - now;

		assert_true(d >= 0 && d <= 10);
	}
}

static void normal_has_its_spread(void **state)
{
	struct delay_path p;
	double sum = 0, sq = 0, lo = 1e9;
	int n = 20000, within = 0;

	delay_path_init(&p, 100, 10, DELAY_NORMAL, 5);
	for (int i = 0; i < n; i++) {
		double now = i * 1000.0, d = delay_path_next(&p, now) - now;

		sum += d;
		sq += d * d;
		lo = d < lo ? d : lo;
		within += d >= 90 && d <= 110;
	}
	assert_near(sum / n, 100, 0.5);
	assert_near(sqrt(sq / n - (sum / n) * (sum / n)), 10, 0.5);
	assert_near((double)within / n, 0.683, 0.02);   /* one sd each side */
	assert_true(lo >= 0);
	/* clipped at 0: a jitter as large as the base never goes negative */
	delay_path_init(&p, 10, 10, DELAY_NORMAL, 6);
	for (int i = 0; i < n; i++)
		assert_true(delay_path_next(&p, i * 1000.0) >= i * 1000.0);
}

static void fifo_never_overtakes(void **state)
{
	struct delay_queue q;
	char text[16];
	int next = 0;

	delay_queue_init(&q, 50, 50, DELAY_NORMAL, 9);
	/* one message a millisecond, delays 0-100 ms: many would overtake */
	for (int t = 0; t < 2000; t++) {
		struct delay_msg *m;

		snprintf(text, sizeof(text), "%d", t);
		assert_int_equal(delay_queue_push(&q, t, t, text, strlen(text)), 0);
		while ((m = delay_queue_pop(&q, t))) {
			assert_int_equal(m->tag, next++);
			assert_true(m->release_ms <= t);
			free(m);
		}
	}
	/* nothing is due before its time; all is due in the end */
	struct delay_msg *m;

	while ((m = delay_queue_pop(&q, 1e9))) {
		assert_int_equal(m->tag, next++);
		free(m);
	}
	assert_int_equal(next, 2000);
	assert_int_equal(q.n, 0);
}

static void same_seed_same_releases(void **state)
{
	struct delay_path a, b, c;
	bool differ = false;

	delay_path_init(&a, 80, 20, DELAY_NORMAL, 12345);
	delay_path_init(&b, 80, 20, DELAY_NORMAL, 12345);
	delay_path_init(&c, 80, 20, DELAY_NORMAL, 12346);
	for (int i = 0; i < 1000; i++) {
		double ra = delay_path_next(&a, i * 7.0), rb = delay_path_next(&b, i * 7.0);

		assert_true(ra == rb);
		if (delay_path_next(&c, i * 7.0) != ra)
			differ = true;
	}
	assert_true(differ);
}

static void rand_in_unit_interval(void **state)
{
	uint64_t s = 0;
	double sum = 0;

	for (int i = 0; i < 100000; i++) {
		double r = delay_rand(&s);

		assert_true(r >= 0 && r < 1);
		sum += r;
	}
	assert_near(sum / 100000, 0.5, 0.01);
}

static void clear_frees_held(void **state)
{
	struct delay_queue q;

	delay_queue_init(&q, 100, 0, DELAY_UNIFORM, 1);
	for (int i = 0; i < 10; i++)
		assert_int_equal(delay_queue_push(&q, i, i, "held", 4), 0);
	assert_null(delay_queue_pop(&q, 50));
	assert_int_equal(q.n, 10);
	delay_queue_clear(&q);   /* valgrind/ASan: nothing leaks */
	assert_int_equal(q.n, 0);
	assert_null(delay_queue_pop(&q, 1e9));
	assert_int_equal(delay_queue_push(&q, 0, 1, "x", 1), 0);   /* usable again */
	delay_queue_clear(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_delay_releases_at_once),
		cmocka_unit_test(within_base_and_jitter),
		cmocka_unit_test(jitter_capped_by_base),
		cmocka_unit_test(normal_has_its_spread),
		cmocka_unit_test(fifo_never_overtakes),
		cmocka_unit_test(same_seed_same_releases),
		cmocka_unit_test(rand_in_unit_interval),
		cmocka_unit_test(clear_frees_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
