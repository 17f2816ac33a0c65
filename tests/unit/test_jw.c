/* tests/unit/test_jw.c - the JSON writer's numbers (lib/jw.c): the fast
 * fixed-point paths must give what snprintf would, or at least a decimal
 * that reads back as exactly the same double. */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"

static char *written(void (*put)(struct rv__jw *, double), double v)
{
	struct rv__jw w;
	struct rv_frame *f;
	char *s;

	rv__jw_init(&w, 16);
	put(&w, v);
	f = rv__jw_finish(&w, RV_FRAME_EVENT, 0);
	assert_non_null(f);
	s = strndup((const char *)rv_frame_data(f), f->len);
	rv_frame_unref(f);
	return s;
}

/* A small deterministic generator: the same values on every run. */
static uint64_t next(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void num_reads_back_exactly(void **state)
{
	static const double fixed[] = { 0, 1, -1, 42.5, 0.1, 0.000001, 1e-7, 123456789.123456,
					999999999.999999, 1e9, 1e300, -2.5e-300, 5400.25,
					0.30000000000000004, 12.345678 };
	uint64_t x = 88172645463325252ull;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		char *s = written(rv__jw_num, fixed[i]);

		assert_true(strtod(s, NULL) == fixed[i]);
		free(s);
	}
	for (int i = 0; i < 20000; i++) {
		double v;
		char *s;

		if (i % 2) /* a few decimals, as positions have */
			v = (double)(next(&x) % 10000000000000ull) / 1e6;
		else      /* anything at all */
			v = ((double)(next(&x) >> 11) / (double)(1ull << 53)) *
			    pow(10, (double)(next(&x) % 40) - 20);
		s = written(rv__jw_num, v);
		if (strtod(s, NULL) != v)
			fail_msg("%.17g written as %s", v, s);
		free(s);
	}
}

static void num_formats(void **state)
{
	struct { double v; const char *want; } cases[] = {
		{ 0, "0" }, { 42, "42" }, { 42.5, "42.5" }, { -3.25, "-3.25" },
		{ 0.000001, "0.000001" }, { 12.345678, "12.345678" }, { 1e9, "1000000000" },
		{ 1e-7, "1e-07" }, { NAN, "0" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *s = written(rv__jw_num, cases[i].v);

		assert_string_equal(s, cases[i].want);
		free(s);
	}
}

static void time_matches_printf(void **state)
{
	uint64_t x = 0x9e3779b97f4a7c15ull;
	const double fixed[] = { 0, 1764170000000.125, 1764170000000.5, 1764170000123.999,
				 -5.25, 0.0005, 1e13, 12.3456 };

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		char want[64], *s = written(rv__jw_time, fixed[i]);

		snprintf(want, sizeof(want), "%.3f", fixed[i]);
		/* the last digit may round the other way on an exact half */
		assert_true(fabs(strtod(s, NULL) - strtod(want, NULL)) <= 0.0011);
		assert_non_null(strchr(s, '.'));
		assert_int_equal(strlen(strchr(s, '.')), 4);
		free(s);
	}
	for (int i = 0; i < 20000; i++) {
		/* server times: epoch ms with microseconds */
		double ms = 1.7e12 + (double)(next(&x) % 100000000000000ull) / 1000;
		char want[64], *s = written(rv__jw_time, ms);

		snprintf(want, sizeof(want), "%.3f", ms);
		if (strcmp(s, want) && fabs(strtod(s, NULL) - ms) > 0.0006)
			fail_msg("%.6f written as %s, printf says %s", ms, s, want);
		free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(num_reads_back_exactly),
		cmocka_unit_test(num_formats),
		cmocka_unit_test(time_matches_printf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
