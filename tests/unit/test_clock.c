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

/* One exchange with a client whose clock reads skew ms less than the
 * server's: up and down are the one-way delays, hold the server's. */
static void exchange(struct rv_offset_est *e, double t0, double skew,
		     double up, double hold, double down)
{
	double t1 = t0 + skew + up;
	double t2 = t1 + hold;
	double t3 = t2 - skew + down;

	rv_offset_add(e, t0, t1, t2, t3);
}

static void test_offset_empty_and_reset(void **state)
{
	struct rv_offset_est e;
	double offset = 7, rtt = 7;

	rv_offset_reset(&e);
	assert_false(rv_offset_get(&e, &offset, &rtt));
	assert_true(offset == 7 && rtt == 7);   /* untouched without a sample */

	exchange(&e, 1000, 100, 10, 1, 10);
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(offset, 100, 1e-9);
	assert_near(rtt, 20, 1e-9);
	assert_true(e.n == 1 && e.total == 1);

	rv_offset_reset(&e);
	assert_false(rv_offset_get(&e, NULL, NULL));
	assert_true(e.n == 0 && e.next == 0 && e.total == 0);
	/* Either output may be NULL. */
	exchange(&e, 1000, 100, 10, 1, 10);
	assert_true(rv_offset_get(&e, NULL, NULL));
	assert_true(rv_offset_get(&e, &offset, NULL));
	assert_near(offset, 100, 1e-9);
}

static void test_offset_min_rtt(void **state)
{
	struct rv_offset_est e;
	double offset, rtt;

	rv_offset_reset(&e);
	/* Symmetric but slow, then fast and slightly asymmetric, then slow
	 * and very asymmetric: the fast one wins wherever it sits. */
	exchange(&e, 0, 300, 50, 2, 50);
	exchange(&e, 1000, 300, 6, 2, 4);
	exchange(&e, 2000, 300, 200, 2, 20);
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(rtt, 10, 1e-9);
	assert_near(offset, 301, 1e-9);         /* 300 + (6 - 4)/2 */

	/* A tie goes to the newer sample. */
	exchange(&e, 3000, 300, 4, 2, 6);
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(rtt, 10, 1e-9);
	assert_near(offset, 299, 1e-9);
}

static void test_offset_ring_overwrite(void **state)
{
	struct rv_offset_est e;
	double offset, rtt;

	rv_offset_reset(&e);
	/* The best sample first, then worse ones push it out of the ring. */
	exchange(&e, 0, 1000, 1, 0, 1);
	for (int i = 0; i < RV_OFFSET_SAMPLES - 1; i++)
		exchange(&e, 1000.0 * (i + 1), 1000, 20 + i, 0, 20 + i);
	assert_true(e.n == RV_OFFSET_SAMPLES && e.next == 0);
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(rtt, 2, 1e-9);

	exchange(&e, 9000, 2000, 30, 0, 30);    /* overwrites the best one */
	assert_true(e.n == RV_OFFSET_SAMPLES && e.next == 1 &&
		    e.total == RV_OFFSET_SAMPLES + 1);
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(rtt, 40, 1e-9);             /* 20 + 20 from the 2nd sample */
	assert_near(offset, 1000, 1e-9);

	/* A ring more: only these are held; the best of them is chosen. */
	for (int i = 0; i < RV_OFFSET_SAMPLES; i++)
		exchange(&e, 20000.0 + 1000 * i, -50, 100 - i, 0, 100 - i);
	assert_true(e.n == RV_OFFSET_SAMPLES && e.total == 2 * RV_OFFSET_SAMPLES + 1);
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(rtt, 2 * (100 - (RV_OFFSET_SAMPLES - 1)), 1e-9);
	assert_near(offset, -50, 1e-9);
}

static void test_offset_bad_samples(void **state)
{
	struct rv_offset_est e;
	double offset, rtt;

	rv_offset_reset(&e);
	rv_offset_add(&e, 100, 50, 50, 90);     /* reply before request */
	rv_offset_add(&e, 0, 10, 30, 5);        /* server held longer than the trip */
	rv_offset_add(&e, NAN, 10, 20, 30);
	rv_offset_add(&e, 0, NAN, 20, 30);
	rv_offset_add(&e, 0, 10, NAN, 30);
	rv_offset_add(&e, 0, 10, 20, NAN);
	rv_offset_add(&e, 0, 10, 20, INFINITY);
	rv_offset_add(&e, -INFINITY, 10, 20, 30);
	rv_offset_add(&e, 0, INFINITY, INFINITY, 30);
	assert_false(rv_offset_get(&e, &offset, &rtt));
	assert_true(e.n == 0 && e.total == 0);
	/* Ignored samples do not count towards the quick start either. */
	assert_near(rv_offset_next_delay_ms(&e, 0.5), 200, 1e-12);

	/* A zero round trip is fine (clocks of coarse resolution). */
	rv_offset_add(&e, 0, 10, 10, 0);
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(offset, 10, 1e-12);
	assert_true(rtt == 0);
	/* And a bad one after it changes nothing. */
	rv_offset_add(&e, 0, 10, 20, -1);
	assert_true(e.n == 1 && e.total == 1);
}

static void test_offset_next_delay(void **state)
{
	struct rv_offset_est e;

	rv_offset_reset(&e);
	for (int i = 0; i < RV_OFFSET_QUICK; i++) {
		assert_near(rv_offset_next_delay_ms(&e, 0.9), 200, 1e-12);
		exchange(&e, 1000.0 * i, 0, 5, 0, 5);
	}
	assert_near(rv_offset_next_delay_ms(&e, 0), 30000, 1e-9);
	assert_near(rv_offset_next_delay_ms(&e, 0.5), 45000, 1e-9);
	assert_true(rv_offset_next_delay_ms(&e, 0.999999) < 60000);
	/* Out of range r still gives 30-60 s. */
	assert_near(rv_offset_next_delay_ms(&e, -3), 30000, 1e-9);
	assert_near(rv_offset_next_delay_ms(&e, NAN), 30000, 1e-9);
	assert_true(rv_offset_next_delay_ms(&e, 7) < 60000);
	assert_true(rv_offset_next_delay_ms(&e, 7) >= 30000);
	/* Still slow once the ring is full and wrapping. */
	for (int i = 0; i < 20; i++)
		exchange(&e, 5000.0 + i, 0, 5, 0, 5);
	assert_near(rv_offset_next_delay_ms(&e, 0.25), 37500, 1e-9);
	/* A reset (reconnect) starts the quick exchanges again. */
	rv_offset_reset(&e);
	assert_near(rv_offset_next_delay_ms(&e, 0.25), 200, 1e-12);
}

static void test_offset_client_5s_behind(void **state)
{
	/* The client's clock reads 5000 ms less than the server's. Uplink and
	 * downlink delays differ per exchange; the server holds each request
	 * a little. Each sample is off by half its asymmetry; the estimator
	 * must pick the fastest exchange, whose asymmetry is smallest. */
	static const struct { double up, hold, down; } path[] = {
		{ 80, 3, 20 }, { 45, 1, 15 }, { 12, 0.5, 9 }, { 150, 2, 30 },
		{ 25, 4, 40 }, { 60, 1, 10 },
	};
	struct rv_offset_est e;
	double offset, rtt, client = WALL - 5000.0;

	rv_offset_reset(&e);
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		exchange(&e, client, 5000.0, path[i].up, path[i].hold, path[i].down);
		client += 200;
	}
	assert_true(rv_offset_get(&e, &offset, &rtt));
	assert_near(rtt, 21, 1e-6);                 /* 12 up + 9 down */
	assert_near(offset, 5000 + (12 - 9) / 2.0, 1e-6);
	assert_near(offset, 5000, rtt / 2);         /* the NTP error bound */

	/* Server time as the client would now estimate it. */
	{
		double local = client + 12345.678;
		double server = local + 5000.0;

		assert_near(local + offset, server, 1.5 + 1e-6);
	}
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
		cmocka_unit_test(test_offset_empty_and_reset),
		cmocka_unit_test(test_offset_min_rtt),
		cmocka_unit_test(test_offset_ring_overwrite),
		cmocka_unit_test(test_offset_bad_samples),
		cmocka_unit_test(test_offset_next_delay),
		cmocka_unit_test(test_offset_client_5s_behind),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
