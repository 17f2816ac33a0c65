/* tests/unit/test_idmap.c - the id -> pointer map (lib/idmap.c). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "idmap.h"

static void count_value(void *value, void *arg)
{
	(*(int *)arg)++;
	(void)value;
}

static void put_get_del_many(void **state)
{
	struct rv__idmap m;
	static int values[5000];
	char key[32];
	int n = 0;

	assert_int_equal(rv__idmap_init(&m), 0);
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "party-%d", i);
		assert_int_equal(rv__idmap_put(&m, key, &values[i]), 0);
	}
	assert_int_equal(m.n, 5000);
	assert_true(m.n_buckets >= 4096);   /* grew */
	for (int i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "party-%d", i);
		assert_ptr_equal(rv__idmap_get(&m, key), &values[i]);
	}
	assert_null(rv__idmap_get(&m, "party-5000"));
	assert_null(rv__idmap_get(&m, ""));
	rv__idmap_each(&m, count_value, &n);
	assert_int_equal(n, 5000);
	for (int i = 0; i < 5000; i += 2) {
		snprintf(key, sizeof(key), "party-%d", i);
		assert_ptr_equal(rv__idmap_del(&m, key), &values[i]);
		assert_null(rv__idmap_del(&m, key));
	}
	assert_int_equal(m.n, 2500);
	assert_null(rv__idmap_get(&m, "party-0"));
	assert_ptr_equal(rv__idmap_get(&m, "party-1"), &values[1]);
	rv__idmap_free(&m, NULL);
}

static void free_calls_free_value(void **state)
{
	struct rv__idmap m;

	assert_int_equal(rv__idmap_init(&m), 0);
	assert_int_equal(rv__idmap_put(&m, "a", strdup("x")), 0);
	assert_int_equal(rv__idmap_put(&m, "b", strdup("y")), 0);
	rv__idmap_free(&m, free);   /* valgrind checks nothing leaks */
	assert_null(m.buckets);
}

static bool drop_odd(void *value, void *arg)
{
	int v = *(int *)value;

	(*(int *)arg)++;
	if (v % 2) {
		free(value);
		return true;
	}
	return false;
}

/* Sweeping removes exactly the entries drop chooses, across chains. */
static void sweep_some(void **state)
{
	struct rv__idmap m;
	char key[32];
	int calls = 0;

	assert_int_equal(rv__idmap_init(&m), 0);
	for (int i = 0; i < 1000; i++) {
		int *v = malloc(sizeof(*v));

		assert_non_null(v);
		*v = i;
		snprintf(key, sizeof(key), "k%d", i);
		assert_int_equal(rv__idmap_put(&m, key, v), 0);
	}
	assert_int_equal(rv__idmap_sweep(&m, drop_odd, &calls), 500);
	assert_int_equal(calls, 1000);
	assert_int_equal(m.n, 500);
	for (int i = 0; i < 1000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		if (i % 2)
			assert_null(rv__idmap_get(&m, key));
		else
			assert_int_equal(*(int *)rv__idmap_get(&m, key), i);
	}
	assert_int_equal(rv__idmap_sweep(&m, drop_odd, &calls), 0);
	rv__idmap_free(&m, free);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(put_get_del_many),
		cmocka_unit_test(free_calls_free_value),
		cmocka_unit_test(sweep_some),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
