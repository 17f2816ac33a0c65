/* tests/unit/test_ratemap.c - a token bucket per key (lib/ratemap.c):
 * keys apart, forgetting full buckets, the key ceiling. Time is handed in. */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ratemap.h"

static int drain(struct rv__ratemap *m, const char *key, double now_ms, int max)
{
	int n = 0;

	while (n < max && rv__ratemap_take(m, key, now_ms, NULL))
		n++;
	return n;
}

static void keys_apart_and_wait(void **state)
{
	struct rv__ratemap m;
	double wait = -1;

	assert_int_equal(rv__ratemap_init(&m, 2, 5, 100), 0);
	assert_int_equal(drain(&m, "10.0.0.1", 0, 100), 5);
	/* another address has its own burst */
	assert_int_equal(drain(&m, "10.0.0.2", 0, 100), 5);
	assert_false(rv__ratemap_take(&m, "10.0.0.1", 0, &wait));
	assert_near(wait, 500, 1e-9);
	/* half a second at 2/s: one more */
	assert_int_equal(drain(&m, "10.0.0.1", 500, 100), 1);
	assert_int_equal(rv__ratemap_keys(&m), 2);
	rv__ratemap_free(&m);
	rv__ratemap_free(&m);                   /* twice is harmless */
}

static void zero_rate_is_no_limit(void **state)
{
	struct rv__ratemap m;

	assert_int_equal(rv__ratemap_init(&m, 0, 0, 100), 0);
	assert_int_equal(drain(&m, "a", 0, 10000), 10000);
	assert_int_equal(rv__ratemap_keys(&m), 0);
	rv__ratemap_free(&m);
	assert_int_equal(rv__ratemap_init(&m, -1, NAN, 100), 0);
	assert_int_equal(drain(&m, "a", 0, 100), 100);
	rv__ratemap_free(&m);
}

/* 5000 addresses each connect once; once their buckets are full again
 * the table forgets them: it stays near twice the live keys, not every
 * address ever seen. */
static void full_buckets_forgotten(void **state)
{
	struct rv__ratemap m;
	char key[32];

	assert_int_equal(rv__ratemap_init(&m, 10, 10, 1000000), 0);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "10.1.%d.%d", i / 256, i % 256);
		/* each a second apart from the last: every earlier one is full */
		assert_true(rv__ratemap_take(&m, key, i * 1000.0, NULL));
		assert_true(rv__ratemap_keys(&m) <= 1025);
	}
	/* a key still draining survives a sweep */
	rv__ratemap_free(&m);
	assert_int_equal(rv__ratemap_init(&m, 1, 3, 1000000), 0);
	assert_int_equal(drain(&m, "busy", 0, 100), 3);
	for (int i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_true(rv__ratemap_take(&m, key, 100, NULL));
	}
	assert_false(rv__ratemap_take(&m, "busy", 100, NULL));
	rv__ratemap_free(&m);
}

/* Past max_keys of addresses all still draining, a new one is let
 * through untracked; the tracked ones are still limited. */
static void ceiling_fails_open(void **state)
{
	struct rv__ratemap m;
	char key[32];

	assert_int_equal(rv__ratemap_init(&m, 1, 2, 4), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(drain(&m, key, 0, 10), 2);
	}
	assert_int_equal(rv__ratemap_keys(&m), 4);
	assert_int_equal(drain(&m, "stranger", 0, 10), 10);
	assert_int_equal(rv__ratemap_keys(&m), 4);
	assert_false(rv__ratemap_take(&m, "k0", 0, NULL));
	/* once they have refilled, the stranger is tracked again */
	assert_int_equal(drain(&m, "stranger", 10000, 10), 2);
	assert_int_equal(rv__ratemap_keys(&m), 1);
	rv__ratemap_free(&m);
}

/* Hostile keys and times: empty and long keys, time going backwards. */
static void hostile_input(void **state)
{
	struct rv__ratemap m;
	char big[4096];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	assert_int_equal(rv__ratemap_init(&m, 1, 1, 100), 0);
	assert_true(rv__ratemap_take(&m, "", 0, NULL));
	assert_false(rv__ratemap_take(&m, "", 0, NULL));
	assert_true(rv__ratemap_take(&m, big, 0, NULL));
	assert_false(rv__ratemap_take(&m, big, -1e9, NULL));
	assert_false(rv__ratemap_take(&m, big, NAN, NULL));
	assert_true(rv__ratemap_take(&m, big, 1000, NULL));
	rv__ratemap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_apart_and_wait),
		cmocka_unit_test(zero_rate_is_no_limit),
		cmocka_unit_test(full_buckets_forgotten),
		cmocka_unit_test(ceiling_fails_open),
		cmocka_unit_test(hostile_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
