/* tests/unit/test_tally.c - counts per key (lib/tally.c). */
#include "unit.h"

#include <stdio.h>

#include "tally.h"

static void add_sub_forget(void **state)
{
	struct rv__tally t;

	assert_int_equal(rv__tally_init(&t), 0);
	assert_int_equal(rv__tally_get(&t, "alice"), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rv__tally_add(&t, "alice"), 0);
	assert_int_equal(rv__tally_add(&t, "bob"), 0);
	assert_int_equal(rv__tally_get(&t, "alice"), 3);
	assert_int_equal(rv__tally_get(&t, "bob"), 1);
	assert_int_equal(rv__tally_get(&t, ""), 0);
	rv__tally_sub(&t, "bob");
	assert_int_equal(rv__tally_get(&t, "bob"), 0);
	assert_int_equal(t.counts.n, 1);        /* bob forgotten at zero */
	assert_int_equal(rv__tally_keys(&t), 1);
	rv__tally_sub(&t, "bob");               /* stays at zero */
	rv__tally_sub(&t, "nobody");
	assert_int_equal(rv__tally_get(&t, "bob"), 0);
	rv__tally_sub(&t, "alice");
	assert_int_equal(rv__tally_get(&t, "alice"), 2);
	rv__tally_free(&t);                     /* valgrind: alice's count freed */
	rv__tally_free(&t);                     /* twice is harmless */
}

static void many_keys(void **state)
{
	struct rv__tally t;
	char key[32];

	assert_int_equal(rv__tally_init(&t), 0);
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "ip 10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(rv__tally_add(&t, key), 0);
		assert_int_equal(rv__tally_add(&t, key), 0);
	}
	for (int i = 0; i < 2000; i++) {
		snprintf(key, sizeof(key), "ip 10.0.%d.%d", i / 256, i % 256);
		assert_int_equal(rv__tally_get(&t, key), 2);
		rv__tally_sub(&t, key);
		rv__tally_sub(&t, key);
	}
	assert_int_equal(t.counts.n, 0);
	rv__tally_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(add_sub_forget),
		cmocka_unit_test(many_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
