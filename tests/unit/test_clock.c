/* tests/unit/test_clock.c - server time, playback extrapolation and the NTP
 * sample maths of lib/clock.c, driven with made-up clock readings. */
#include "unit.h"

#include <math.h>

#include "revenge/clock.h"

#define WALL 1700000000000.0    /* a realistic epoch-ms anchor */

static void test_anchor(void **state)
{
	struct rv_clock c;

	rv_clock_anchor(&c, WALL, 5000000000u);
	assert_true(c.wall_anchor_ms == WALL);
	assert_true(c.mono_anchor_ns == 5000000000u);
	assert_true(rv_clock_server_time(&c, 5000000000u) == WALL);
	/* One second of monotonic time is one second of server time. */
	assert_true(rv_clock_server_time(&c, 6000000000u) == WALL + 1000.0);
}

static void test_sub_ms_precision(void **state)
{
	struct rv_clock c;

	rv_clock_anchor(&c, 0, 1000);
	assert_near(rv_clock_server_time(&c, 1000 + 1500), 0.0015, 1e-12);
	assert_near(rv_clock_server_time(&c, 1000 + 1), 0.000001, 1e-15);

	/* At epoch magnitudes a double still resolves well under 1 us. */
	rv_clock_anchor(&c, WALL, 42);
	assert_near(rv_clock_server_time(&c, 42 + 1234567) - WALL, 1.234567, 3e-4);
	assert_true(rv_clock_server_time(&c, 42 + 1000) > WALL);

	/* After 200 days of uptime (past 2^53 ns) the fraction survives. */
	rv_clock_anchor(&c, 0, 0);
	{
		uint64_t ns = 200ull * 86400ull * 1000000000ull + 123456u;
		double t = rv_clock_server_time(&c, ns);

		assert_near(t - 200.0 * 86400.0 * 1000.0, 0.123456, 1e-5);
	}
}

static void test_clamp_before_anchor(void **state)
{
	struct rv_clock c;

	rv_clock_anchor(&c, WALL, 10000000000u);
	assert_true(rv_clock_server_time(&c, 9999999999u) == WALL);
	assert_true(rv_clock_server_time(&c, 0) == WALL);
	assert_true(rv_clock_server_time(&c, 10000000000u) == WALL);
}

static void test_monotonic(void **state)
{
	struct rv_clock c;
	double prev;

	rv_clock_anchor(&c, WALL, 777);
	prev = rv_clock_server_time(&c, 0);
	for (uint64_t ns = 777; ns < 777 + 50000000u; ns += 999983) {
		double t = rv_clock_server_time(&c, ns);

		assert_true(t >= prev);
		prev = t;
	}
}

static void test_position_playing(void **state)
{
	struct rv_playback st = { .position = 10, .playing = true, .speed = 1,
				  .server_time = 1000 };

	assert_near(rv_playback_position_at(&st, 1000), 10, 1e-12);
	assert_near(rv_playback_position_at(&st, 3500), 12.5, 1e-12);
	assert_near(rv_playback_position_at(&st, 1000.5), 10.0005, 1e-12);
}

static void test_position_paused(void **state)
{
	struct rv_playback st = { .position = 42.25, .playing = false, .speed = 2,
				  .server_time = 1000 };

	assert_true(rv_playback_position_at(&st, 1000) == 42.25);
	assert_true(rv_playback_position_at(&st, 1e9) == 42.25);
	assert_true(rv_playback_position_at(&st, 0) == 42.25);
}

static void test_position_speed(void **state)
{
	struct rv_playback st = { .position = 5, .playing = true, .speed = 2,
				  .server_time = 0 };

	assert_near(rv_playback_position_at(&st, 1500), 8, 1e-12);
	st.speed = 0.25;
	assert_near(rv_playback_position_at(&st, 4000), 6, 1e-12);
}

static void test_position_future_server_time(void **state)
{
	/* A scheduled start: until server_time the position holds. */
	struct rv_playback st = { .position = 30, .playing = true, .speed = 1,
				  .server_time = WALL + 2000 };

	assert_true(rv_playback_position_at(&st, WALL) == 30);
	assert_true(rv_playback_position_at(&st, WALL + 1999.999) == 30);
	assert_true(rv_playback_position_at(&st, WALL + 2000) == 30);
	assert_near(rv_playback_position_at(&st, WALL + 3000), 31, 1e-9);
}

static void test_position_negative_elapsed(void **state)
{
	struct rv_playback st = { .position = 0, .playing = true, .speed = 4,
				  .server_time = 1000 };

	/* Never negative elapsed: never before the state's position. */
	assert_true(rv_playback_position_at(&st, 999) == 0);
	assert_true(rv_playback_position_at(&st, -1e12) == 0);
	assert_true(rv_playback_position_at(&st, NAN) == 0);
}

static void test_ntp_symmetric(void **state)
{
	double offset, rtt;

	/* Server 500 ms ahead, 20 ms each way, 5 ms held by the server. */
	rv_clock_ntp_sample(1000, 1520, 1525, 1045, &offset, &rtt);
	assert_near(offset, 500, 1e-12);
	assert_near(rtt, 40, 1e-12);

	/* Server behind the client. */
	rv_clock_ntp_sample(5000, 2010, 2010, 5020, &offset, &rtt);
	assert_near(offset, -3000, 1e-12);
	assert_near(rtt, 20, 1e-12);
}

static void test_ntp_asymmetric_and_fractional(void **state)
{
	double offset, rtt;

	/* 30 ms up, 10 ms down: the estimate is off by half the asymmetry. */
	rv_clock_ntp_sample(0.25, 130.25, 130.75, 40.75, &offset, &rtt);
	assert_near(offset, 110, 1e-9);
	assert_near(rtt, 40, 1e-9);
}

static void test_ntp_rtt_never_negative(void **state)
{
	double offset = -1, rtt = -1;

	rv_clock_ntp_sample(0, 10, 20, 5, &offset, &rtt);
	assert_true(rtt == 0);
	assert_near(offset, 12.5, 1e-12);
	/* Either output may be NULL. */
	rv_clock_ntp_sample(0, 10, 20, 5, NULL, &rtt);
	rv_clock_ntp_sample(0, 10, 20, 5, &offset, NULL);
	assert_near(offset, 12.5, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_anchor),
		cmocka_unit_test(test_sub_ms_precision),
		cmocka_unit_test(test_clamp_before_anchor),
		cmocka_unit_test(test_monotonic),
		cmocka_unit_test(test_position_playing),
		cmocka_unit_test(test_position_paused),
		cmocka_unit_test(test_position_speed),
		cmocka_unit_test(test_position_future_server_time),
		cmocka_unit_test(test_position_negative_elapsed),
		cmocka_unit_test(test_ntp_symmetric),
		cmocka_unit_test(test_ntp_asymmetric_and_fractional),
		cmocka_unit_test(test_ntp_rtt_never_negative),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
