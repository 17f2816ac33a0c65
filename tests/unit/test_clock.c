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

/* Scheduled commands: a pause stamped in the future keeps playing until
 * its instant; a resume holds until its instant; a newer pending state
 * replaces the older; a state already due applies at once. */
static void test_schedule(void **state)
{
	struct rv_playback init = { .position = 10, .playing = true, .speed = 1,
				    .server_time = 1000 };
	struct rv_playback pause = { .position = 12.2, .playing = false, .speed = 1,
				     .server_time = 3200 };
	struct rv_playback resume = { .position = 12.2, .playing = true, .speed = 2,
				      .server_time = 5000 };
	struct rv_playback seek = { .position = 60, .playing = true, .speed = 1,
				    .server_time = 4000 };
	struct rv_schedule s;

	rv_schedule_init(&s, &init);
	assert_near(rv_schedule_position(&s, 2000), 11, 1e-12);
	rv_schedule_push(&s, &pause, 3000);
	assert_true(s.has_pending);
	/* Still playing until 3200, then held at 12.2: never backwards. */
	assert_near(rv_schedule_position(&s, 3100), 12.1, 1e-12);
	assert_near(rv_schedule_position(&s, 3200), 12.2, 1e-12);
	assert_false(s.has_pending);
	assert_near(rv_schedule_position(&s, 4500), 12.2, 1e-12);
	rv_schedule_push(&s, &resume, 4800);
	assert_near(rv_schedule_position(&s, 4999), 12.2, 1e-12);
	assert_near(rv_schedule_position(&s, 5500), 13.2, 1e-12);

	/* A newer pending state replaces one not yet due. */
	rv_schedule_init(&s, &init);
	rv_schedule_push(&s, &pause, 3000);
	rv_schedule_push(&s, &seek, 3100);
	assert_true(s.pending.position == 60);
	assert_near(rv_schedule_position(&s, 3500), 12.5, 1e-12);
	assert_near(rv_schedule_position(&s, 4500), 60.5, 1e-12);

	/* A pending state that fell due is promoted before the next push:
	 * the due pause applies, then the late (already due) resume. */
	rv_schedule_init(&s, &init);
	rv_schedule_push(&s, &pause, 3000);
	rv_schedule_push(&s, &resume, 5100);
	assert_false(s.has_pending);
	assert_true(rv_schedule_at(&s, 5100)->playing);
	assert_near(rv_schedule_position(&s, 6000), 14.2, 1e-12);

	/* A NaN time never promotes a pending state nor moves backwards. */
	rv_schedule_init(&s, &init);
	rv_schedule_push(&s, &pause, 3000);
	assert_true(rv_schedule_at(&s, NAN)->playing);
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
	double d;

	rv_offset_reset(&e);
	for (int i = 0; i < RV_OFFSET_QUICK; i++) {
		assert_near(rv_offset_next_delay_ms(&e, 0.9), 200, 1e-12);
		exchange(&e, 1000.0 * i, 0, 5, 0, 5);
	}
	/* No skew fitted yet (2 s of samples): the estimate may drift at the
	 * assumed 100 ppm, by RV_OFFSET_GROW_MS in 1 s. */
	assert_false(rv_offset_skew(&e, NULL, NULL));
	d = rv_offset_next_delay_ms(&e, 0);
	assert_near(d, RV_OFFSET_GROW_MS / (RV_OFFSET_DRIFT_PPM * 1e-6), 1e-6);
	assert_near(rv_offset_next_delay_ms(&e, 0.5), 1.5 * d, 1e-9);
	assert_true(rv_offset_next_delay_ms(&e, 0.999999) < 2 * d);
	/* Out of range r still gives d to 2d. */
	assert_near(rv_offset_next_delay_ms(&e, -3), d, 1e-9);
	assert_near(rv_offset_next_delay_ms(&e, NAN), d, 1e-9);
	assert_true(rv_offset_next_delay_ms(&e, 7) < 2 * d);
	assert_true(rv_offset_next_delay_ms(&e, 7) >= d);
	/* Exact samples over ten minutes: the skew is known to a fraction of
	 * a ppm, so the bound hardly grows: the slowest cadence, 30-60 s. */
	for (int i = 0; i < 60; i++)
		exchange(&e, 5000.0 + 10000.0 * i, 0, 0.1, 0, 0.1);
	assert_near(rv_offset_next_delay_ms(&e, 0), RV_OFFSET_MAX_DELAY_MS, 1e-9);
	assert_near(rv_offset_next_delay_ms(&e, 0.25), 1.25 * RV_OFFSET_MAX_DELAY_MS, 1e-9);
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

/* A made-up path and clocks: the server's clock reads off ms more than the
 * client's at client time 0 and runs skew faster; one-way delays have a
 * fixed asymmetric base and random queueing; the server holds 0-1 ms. */
struct path {
	double off, skew, up, down, jitter;
	uint64_t seed;
	bool uniform;      /* jitter uniform in +-jitter, not r^4 * jitter */
};

static double unit_rand(struct path *p)
{
	p->seed = p->seed * 6364136223846793005ull + 1442695040888963407ull;
	return (double)(p->seed >> 11) / 9007199254740992.0;
}

static double true_offset(const struct path *p, double c)
{
	return p->off + p->skew * c;
}

static void path_exchange(struct rv_offset_est *e, struct path *p, double t0)
{
	/* Queueing is mostly small, sometimes large: r^4 * jitter. */
	double q1 = unit_rand(p), q2 = unit_rand(p);
	double up = p->uniform ? p->up + p->jitter * (2 * q1 - 1)
			       : p->up + p->jitter * q1 * q1 * q1 * q1;
	double down = p->uniform ? p->down + p->jitter * (2 * q2 - 1)
				 : p->down + p->jitter * q2 * q2 * q2 * q2;
	double hold = unit_rand(p);
	double t1 = t0 + up + true_offset(p, t0 + up);
	double t2 = t1 + hold;
	double t3 = t0 + up + hold + down;

	rv_offset_add(e, t0, t1, t2, t3);
}

/* An hour of a client that follows rv_offset_next_delay_ms on path p,
 * checking the estimate at ten points between every two exchanges. */
static void skew_and_bound(uint64_t seed)
{
	struct path p = { .off = -1234.5, .skew = 50e-6, .up = 9, .down = 3,
			  .jitter = 60, .seed = seed };
	struct rv_offset_est e;
	double now = WALL, offset, rtt, err, skew, skew_err, worst = 0;
	int checks = 0;

	rv_offset_reset(&e);
	while (now < WALL + 3600e3) {
		double next;

		path_exchange(&e, &p, now);
		next = rv_offset_next_delay_ms(&e, unit_rand(&p));
		assert_true(next >= 200 && next < 60000);
		for (int k = 1; k <= 10; k++) {
			double c = now + next * k / 10;

			assert_true(rv_offset_get_ex(&e, c, &offset, &rtt, &err));
			/* The estimate is within its bound, always. */
			assert_true(fabs(offset - true_offset(&p, c)) <= err);
			assert_true(rtt >= 0 && err >= 0);
			assert_near(rv_offset_server_now(&e, c), c + offset, 1e-6);
			if (now > WALL + 600e3 && fabs(offset - true_offset(&p, c)) > worst)
				worst = fabs(offset - true_offset(&p, c));
			checks++;
		}
		now += next;
	}
	assert_true(checks > 500);
	assert_true(e.n == RV_OFFSET_SAMPLES);
	/* After the first minutes the estimate stays within 20 ms (the path's
	 * own asymmetry is (9 - 3) / 2 = 3 ms, queueing adds up to 30), and the
	 * bound is of the same order: it is a worst case, not a guess. */
	assert_true(worst < 20);
	assert_true(rv_offset_get_ex(&e, now, &offset, &rtt, &err));
	assert_true(err < 30);
	/* The skew is recovered, and within its bound. */
	assert_true(rv_offset_skew(&e, &skew, &skew_err));
	assert_true(fabs(skew - 50e-6) <= skew_err);
	assert_true(fabs(skew - 50e-6) < 5e-6);
	assert_true(skew_err < 50e-6);
	/* Without the skew, an hour-old window would be off by tens of ms:
	 * the extrapolation is what keeps it close. */
	assert_true(fabs(true_offset(&p, now) - true_offset(&p, now - 1800e3)) > 80);
}

static void test_offset_skew_and_bound(void **state)
{
	for (uint64_t seed = 1; seed <= 16; seed++)
		skew_and_bound(seed);
}

static void test_offset_exact_skew(void **state)
{
	/* Symmetric delays: every sample is exact, so the fit is too and the
	 * estimate far from any sample is still exact. */
	struct path p = { .off = 5000, .skew = -80e-6, .up = 10, .down = 10,
			  .jitter = 0, .seed = 1 };
	struct rv_offset_est e;
	double offset, skew, skew_err, err;

	rv_offset_reset(&e);
	for (int i = 0; i < 3; i++)
		path_exchange(&e, &p, 1000.0 * i);
	/* 2 s of span: too little to fit a skew; the bound grows at the
	 * assumed drift instead. */
	assert_false(rv_offset_skew(&e, &skew, &skew_err));
	assert_true(rv_offset_get_ex(&e, 102000, &offset, NULL, &err));
	assert_true(err >= RV_OFFSET_DRIFT_PPM * 1e-6 * 100000);
	assert_true(fabs(offset - true_offset(&p, 102000)) <= err);
	for (int i = 1; i <= 10; i++)
		path_exchange(&e, &p, 2000.0 + 5000.0 * i);
	assert_true(rv_offset_skew(&e, &skew, &skew_err));
	/* The hold (up to 1 ms) is taken at the server, so t1/t2 differ by
	 * it: the samples are exact to well under 1 ms. */
	assert_near(skew, -80e-6, 2e-6);
	assert_true(rv_offset_get_ex(&e, 600000, &offset, NULL, &err));
	assert_near(offset, true_offset(&p, 600000), 1.5);
	assert_true(fabs(offset - true_offset(&p, 600000)) <= err);
}

/* 50 +- 20 ms each way (uniform), a 50 ppm clock, the client following
 * the cadence: after a minute the estimate (the middle of the samples'
 * intervals, i.e. of the lowest delays each way) is within a few ms, where
 * the single lowest-RTT sample is off by up to half its asymmetry. */
static void averaged_at_jitter(uint64_t seed, double *mean_est, double *mean_single)
{
	struct path p = { .off = 777.7, .skew = 50e-6, .up = 50, .down = 50,
			  .jitter = 20, .seed = seed, .uniform = true };
	struct rv_offset_est e;
	double now = WALL, offset, err, single, sum = 0, sum1 = 0;
	int checks = 0;

	rv_offset_reset(&e);
	while (now < WALL + 360e3) {
		double next;

		path_exchange(&e, &p, now);
		next = rv_offset_next_delay_ms(&e, unit_rand(&p));
		for (int k = 1; k <= 10; k++) {
			double c = now + next * k / 10;

			assert_true(rv_offset_get_ex(&e, c, &offset, NULL, &err));
			assert_true(fabs(offset - true_offset(&p, c)) <= err);
			if (now < WALL + 60e3)
				continue;
			assert_true(rv_offset_get(&e, &single, NULL));
			sum += fabs(offset - true_offset(&p, c));
			sum1 += fabs(single - true_offset(&p, c));
			checks++;
		}
		now += next;
	}
	assert_true(checks > 100);
	*mean_est = sum / checks;
	*mean_single = sum1 / checks;
}

static void test_offset_averaged_at_jitter(void **state)
{
	double est = 0, single = 0;

	for (uint64_t seed = 1; seed <= 8; seed++) {
		double a, b;

		averaged_at_jitter(seed, &a, &b);
		/* Every seed well within the 10 ms target, */
		assert_true(a < 3);
		est += a / 8;
		single += b / 8;
	}
	/* and on average over twice as close as the lowest-RTT sample (1.1-1.6
	 * ms against 1.5-5 ms). */
	assert_true(est < 2);
	assert_true(est * 2 < single);
}

/* A fast path (0.3 +- 0.2 ms each way) and a 50 ppm clock: the
 * cadence keeps the drift between samples small while the skew is
 * unknown, fits the skew within seconds, then slows down as it tightens;
 * the estimate stays within 0.5 ms all along (30-60 s samples with an
 * unknown 50 ppm skew would drift 3 ms). */
static void test_offset_cadence_follows_skew(void **state)
{
	for (uint64_t seed = 1; seed <= 8; seed++) {
		struct path p = { .off = -42, .skew = seed % 2 ? 50e-6 : -50e-6, .up = 0.3,
				  .down = 0.3, .jitter = 0.2, .seed = seed, .uniform = true };
		struct rv_offset_est e;
		double now = WALL, fitted_at = -1, offset, err, skew, skew_err, worst = 0;
		double late_min = INFINITY;
		unsigned first_20s = 0;

		rv_offset_reset(&e);
		while (now < WALL + 1800e3) {
			double next;

			path_exchange(&e, &p, now);
			if (fitted_at < 0 && rv_offset_skew(&e, &skew, &skew_err))
				fitted_at = now - WALL;
			next = rv_offset_next_delay_ms(&e, unit_rand(&p));
			if (now < WALL + 20e3)
				first_20s++;
			if (now > WALL + 1200e3)
				late_min = fmin(late_min, next);
			for (int k = 1; k <= 10; k++) {
				double c = now + next * k / 10;

				assert_true(rv_offset_get_ex(&e, c, &offset, NULL, &err));
				assert_true(fabs(offset - true_offset(&p, c)) <= err);
				worst = fmax(worst, fabs(offset - true_offset(&p, c)));
			}
			now += next;
		}
		/* Every few seconds at first, a skew within 10 s, */
		assert_true(first_20s >= 6);
		assert_true(fitted_at >= 0 && fitted_at < 10e3);
		/* the skew right to a ppm after half an hour, and 30-60 s by then, */
		assert_true(rv_offset_skew(&e, &skew, &skew_err));
		assert_true(fabs(skew - p.skew) < 1e-6 && fabs(skew - p.skew) <= skew_err);
		assert_true(late_min >= RV_OFFSET_MAX_DELAY_MS);
		/* and never more than 0.5 ms off. */
		assert_true(worst < 0.5);
	}
}

/* A queueing spike (a sample 300 ms one way, and no faster than the
 * others the other way) among fast ones moves nothing: its interval is wide
 * and holds the others'. */
static void test_offset_spike_ignored(void **state)
{
	struct rv_offset_est e;
	double offset, err, before;

	rv_offset_reset(&e);
	for (int i = 0; i < 6; i++)
		exchange(&e, 1000.0 * i, 250, 5 + (i % 3), 0, 5 + ((i + 1) % 3));
	assert_true(rv_offset_get_ex(&e, 6000, &before, NULL, &err));
	exchange(&e, 6000, 250, 300, 0, 8);
	assert_true(rv_offset_get_ex(&e, 6000, &offset, NULL, &err));
	assert_near(offset, before, 1e-3);
	assert_true(fabs(offset - 250) <= err && err < 6);
}

/* Samples that contradict each other (the server's clock stepped 100 ms,
 * or a reply matched to the wrong request): the intervals do not meet,
 * and the estimate falls back to the single sample with the smallest
 * bound, the newest on a tie. */
static void test_offset_contradiction_falls_back(void **state)
{
	struct rv_offset_est e;
	double offset, rtt, err;

	rv_offset_reset(&e);
	for (int i = 0; i < 5; i++)
		exchange(&e, 1000.0 * i, 100, 2, 0, 2);
	for (int i = 5; i < 8; i++)
		exchange(&e, 1000.0 * i, 200, 2, 0, 2);
	assert_true(rv_offset_get_ex(&e, 7000, &offset, &rtt, &err));
	assert_near(offset, 200, 0.01);
	assert_near(rtt, 4, 1e-9);
	assert_true(err >= 2 && err < 3);
	assert_near(rv_offset_server_now(&e, 7000), 7200, 0.01);
}

static void test_offset_bound_shrinks(void **state)
{
	struct rv_offset_est e;
	double offset, rtt, err, err2;

	rv_offset_reset(&e);
	exchange(&e, 1000, 300, 150, 0, 50);          /* rtt 200: +-100 ms */
	assert_true(rv_offset_get_ex(&e, 1000, &offset, &rtt, &err));
	assert_near(rtt, 200, 1e-9);
	assert_near(err, 100, 0.2);     /* + slack for the skew over the trip */
	assert_near(offset, 350, 1e-9);
	exchange(&e, 1200, 300, 3, 0, 1);             /* rtt 4: +-2 ms */
	assert_true(rv_offset_get_ex(&e, 1200, &offset, &rtt, &err2));
	assert_near(rtt, 4, 1e-9);
	assert_true(err2 < err && err2 < 2.1);
	assert_true(fabs(offset - 300) <= err2);
	/* The bound grows with time since the sample (the drift is unknown),
	 * and a fresher, slightly slower sample then wins. */
	assert_true(rv_offset_get_ex(&e, 1200 + 600e3, NULL, NULL, &err));
	assert_true(err > err2 + 50);
	exchange(&e, 1200 + 590e3, 300, 4, 0, 4);     /* rtt 8 */
	assert_true(rv_offset_get_ex(&e, 1200 + 600e3, NULL, &rtt, &err));
	assert_near(rtt, 8, 1e-9);
	assert_true(err < 6);
	/* rv_offset_get still gives the lowest round trip. */
	assert_true(rv_offset_get(&e, NULL, &rtt));
	assert_near(rtt, 4, 1e-9);
}

static void test_offset_ex_garbage(void **state)
{
	struct rv_offset_est e;
	double offset = 7, rtt = 7, err = 7;

	rv_offset_reset(&e);
	assert_false(rv_offset_get_ex(&e, 1000, &offset, &rtt, &err));
	assert_true(offset == 7 && rtt == 7 && err == 7);
	assert_true(rv_offset_server_now(&e, 1234.5) == 1234.5);
	assert_false(rv_offset_skew(&e, NULL, NULL));
	/* Huge round trips and time stamps are ignored. */
	rv_offset_add(&e, 0, 10, 20, RV_OFFSET_MAX_RTT_MS + 11);
	rv_offset_add(&e, 1e300, 1e300, 1e300, 1e300 + 5);
	rv_offset_add(&e, 0, -1e200, -1e200, 30);
	rv_offset_add(&e, 0, 1e15, 1e15, 30);
	rv_offset_add(&e, -1e15, 10, 10, -1e15 + 30);
	rv_offset_add(&e, 0, 10, 20, -5);
	assert_true(e.n == 0 && e.total == 0);
	exchange(&e, 1000, 100, 10, 1, 10);
	assert_true(rv_offset_get_ex(&e, 1000, NULL, NULL, NULL));
	assert_false(rv_offset_get_ex(&e, NAN, &offset, &rtt, &err));
	assert_false(rv_offset_get_ex(&e, INFINITY, &offset, &rtt, &err));
	assert_true(offset == 7 && rtt == 7 && err == 7);
	assert_true(isnan(rv_offset_server_now(&e, NAN)));
	/* A wild sample set (skew beyond RV_OFFSET_MAX_SKEW_PPM) is not fitted. */
	rv_offset_reset(&e);
	for (int i = 0; i < 10; i++)
		exchange(&e, 5000.0 * i, 100.0 * i, 5, 0, 5);    /* 20000 ppm */
	assert_false(rv_offset_skew(&e, NULL, NULL));
	assert_true(rv_offset_get_ex(&e, 50000, &offset, NULL, &err));
	assert_true(isfinite(offset) && isfinite(err));
}

static void test_offset_next_delay_settling(void **state)
{
	struct rv_offset_est e;
	double t = 0, d, err;

	rv_offset_reset(&e);
	/* A lossy start: every exchange has a 60 ms round trip. */
	for (int i = 0; i < RV_OFFSET_QUICK; i++) {
		assert_near(rv_offset_next_delay_ms(&e, 0.5), 200, 1e-12);
		exchange(&e, t, 0, 30, 0, 30);
		t += 200;
	}
	/* The bound (30 ms) is large: every 0.25-0.5 s, for a while. */
	assert_near(rv_offset_next_delay_ms(&e, 0), RV_OFFSET_SETTLE_DELAY_MS, 1e-9);
	assert_near(rv_offset_next_delay_ms(&e, 0.5), 1.5 * RV_OFFSET_SETTLE_DELAY_MS, 1e-9);
	assert_true(rv_offset_next_delay_ms(&e, 0.999999) < 2 * RV_OFFSET_SETTLE_DELAY_MS);
	assert_near(rv_offset_next_delay_ms(&e, NAN), RV_OFFSET_SETTLE_DELAY_MS, 1e-9);
	/* One good exchange: the bound is small at once, and the cadence is
	 * the unknown skew's (1-2 s). */
	exchange(&e, t, 0, 3, 0, 3);
	assert_true(rv_offset_get_ex(&e, t, NULL, NULL, &err) && err < RV_OFFSET_GOOD_MS);
	assert_near(rv_offset_next_delay_ms(&e, 0), RV_OFFSET_MIN_DELAY_MS, 1e-9);
	/* A path that stays slow (80 ms, exact samples) slows down as its
	 * skew is fitted, though its bound stays at 40 ms: more samples
	 * cannot beat its minimum round trip. */
	rv_offset_reset(&e);
	for (unsigned i = 0; t < 1800e3; i++) {
		d = rv_offset_next_delay_ms(&e, 0.5);
		assert_true(i < RV_OFFSET_QUICK ? d == 200 : d >= 1.5 * RV_OFFSET_SETTLE_DELAY_MS);
		/* after RV_OFFSET_SETTLE samples, no faster than the skew needs */
		assert_true(i < RV_OFFSET_SETTLE || d >= 1.5 * RV_OFFSET_MIN_DELAY_MS);
		exchange(&e, t, 0, 40, 0, 40);
		t += d;
	}
	assert_true(rv_offset_get_ex(&e, t, NULL, NULL, &err) && err > 39);
	assert_true(rv_offset_next_delay_ms(&e, 0) >= 4 * RV_OFFSET_MIN_DELAY_MS);
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
		cmocka_unit_test(test_schedule),
		cmocka_unit_test(test_ntp_symmetric),
		cmocka_unit_test(test_ntp_asymmetric_and_fractional),
		cmocka_unit_test(test_ntp_rtt_never_negative),
		cmocka_unit_test(test_offset_empty_and_reset),
		cmocka_unit_test(test_offset_min_rtt),
		cmocka_unit_test(test_offset_ring_overwrite),
		cmocka_unit_test(test_offset_bad_samples),
		cmocka_unit_test(test_offset_next_delay),
		cmocka_unit_test(test_offset_client_5s_behind),
		cmocka_unit_test(test_offset_skew_and_bound),
		cmocka_unit_test(test_offset_exact_skew),
		cmocka_unit_test(test_offset_averaged_at_jitter),
		cmocka_unit_test(test_offset_cadence_follows_skew),
		cmocka_unit_test(test_offset_spike_ignored),
		cmocka_unit_test(test_offset_contradiction_falls_back),
		cmocka_unit_test(test_offset_bound_shrinks),
		cmocka_unit_test(test_offset_ex_garbage),
		cmocka_unit_test(test_offset_next_delay_settling),
	};

	return cmocka_run_group_tests_name("clock", tests, NULL, NULL);
}
