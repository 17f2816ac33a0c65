/* tests/unit/unit.h - common includes for the cmocka unit tests.
 *
 * Each tests/unit/test_<module>.c is one program: a list of cmocka tests over
 * one library module, built against librevenge.a (and under ASan+UBSan by
 * `make check-asan`, and under valgrind by `make valgrind`).
 */
#ifndef REVENGE_TEST_UNIT_H
#define REVENGE_TEST_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

/* Assert two doubles agree within eps, with a readable failure. */
#define assert_near(a, b, eps) do { \
	double a_ = (a), b_ = (b); \
	if (!(a_ - b_ <= (eps) && b_ - a_ <= (eps))) \
		fail_msg("%s = %.9g, expected %.9g (+/- %g)", #a, a_, b_, (double)(eps)); \
} while (0)

#endif
