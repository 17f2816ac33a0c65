/* tests/unit/test_listener.c - the descriptor budget (rv__listener_budget
 * in lib/listener.c); the accept loop itself is tests/cli/fdlimit.bats'. */
#include "unit.h"

#include <stdint.h>

#include "listener.h"

static void budget(uint64_t limit, uint64_t in_use, size_t want_tcp, size_t want_ws)
{
	size_t tcp, ws;

	rv__listener_budget(limit, in_use, RV__LISTENER_RESERVE, &tcp, &ws);
	assert_int_equal(tcp, want_tcp);
	assert_int_equal(ws, want_ws);
}

static void ceilings(void **state)
{
	budget(256, 14, 226, 212);          /* prlimit --nofile=256: 226 - 226/16 */
	budget(1024, 14, 994, 994 - 62);
	budget(20000, 14, 19970, 19970 - 64); /* room for HTTP stops at 64 */
	budget(64, 14, 34, 32);             /* and starts at 2 */
}

static void starved(void **state)
{
	budget(30, 14, 1, 0);               /* nothing left: one HTTP place */
	budget(16, 40, 1, 0);               /* more in use than the limit */
	budget(0, 0, 1, 0);
	budget(33, 14, 3, 1);
}

static void unlimited(void **state)
{
	size_t tcp, ws;

	rv__listener_budget(UINT64_MAX, 0, RV__LISTENER_RESERVE, &tcp, &ws);
	assert_true(tcp > 1000000);
	assert_int_equal(ws, tcp - 64);
	rv__listener_budget(UINT64_MAX, UINT64_MAX, UINT32_MAX, &tcp, &ws); /* no wrap */
	assert_int_equal(tcp, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ceilings),
		cmocka_unit_test(starved),
		cmocka_unit_test(unlimited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
