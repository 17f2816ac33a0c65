/* tests/unit/test_drift.c - members' drift (lib/drift.c) through the party:
 * statuses in, the host's drift report out, with a given clock.
 *
 * The party is driven by its public API (rv_party_handle, rv_party_tick,
 * rv_party_next_deadline); messages go through the real decoder, and the
 * report is parsed back with jansson.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "revenge/party.h"

#define T0 1700000000000.0
#define IVL 1000.0

struct dx {
	struct rv_party *p;
	struct rv_outbox ob;
	struct rv_member *host, *m[128];
	json_t *last;               /* the last report parsed, freed by the next */
};

static struct dx *new_dx(double interval_ms, unsigned members)
{
	struct rv_party_config cfg = { .history_max = 0, .drift_interval_ms = interval_ms };
	struct dx *x = calloc(1, sizeof(*x));
	char id[16];

	assert_non_null(x);
	x->p = rv_party_new("drift", &cfg);
	assert_non_null(x->p);
	rv_outbox_init(&x->ob);
	assert_int_equal(rv_party_join(x->p, "host", "Host", NULL, T0, &x->host, &x->ob), 0);
	for (unsigned i = 0; i < members; i++) {
		snprintf(id, sizeof(id), "m%u", i);
		assert_int_equal(rv_party_join(x->p, id, NULL, NULL, T0 + 1 + i, &x->m[i],
					       &x->ob), 0);
		rv_outbox_clear(&x->ob);
	}
	rv_outbox_clear(&x->ob);
	return x;
}

static void free_dx(struct dx *x)
{
	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	json_decref(x->last);
	free(x);
}

/* Decode json and apply it from m at now; the outbox is left as it is. */
static void send(struct dx *x, struct rv_member *m, double now, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void send(struct dx *x, struct rv_member *m, double now, const char *fmt, ...)
{
	char json[512];
	struct rv_msg msg;
	struct rv_proto_error err;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(json, sizeof(json), fmt, ap);
	va_end(ap);
	if (rv_proto_decode(json, strlen(json), &msg, &err))
		fail_msg("decode %s: %s", json, err.message);
	assert_int_equal(rv_party_handle(x->p, m, &msg, now, &x->ob), 0);
	rv_msg_clear(&msg);
}

/* The host's sync, sent at now, about server time t: position, speed sp. */
static void play_at(struct dx *x, double pos, double sp, bool playing, double t, double now)
{
	send(x, x->host, now, "{\"type\":\"sync\",\"payload\":{\"position\":%.17g,"
	     "\"playing\":%s,\"speed\":%g,\"at\":%.17g}}", pos, playing ? "true" : "false",
	     sp, t);
	rv_outbox_clear(&x->ob);
}

static void play(struct dx *x, double pos, double sp, bool playing, double t)
{
	play_at(x, pos, sp, playing, t, t);
}

/* A status from m received at now, about server time at (NAN: no at). */
static bool status(struct dx *x, struct rv_member *m, double now, double pos, bool playing,
		   bool buffering, double at)
{
	char at_s[64] = "";
	bool counted;

	if (!isnan(at))
		snprintf(at_s, sizeof(at_s), ",\"at\":%.17g", at);
	send(x, m, now, "{\"type\":\"status\",\"payload\":{\"position\":%.17g,\"playing\":%s,"
	     "\"buffering\":%s%s,\"clock_error_ms\":3}}", pos, playing ? "true" : "false",
	     buffering ? "true" : "false", at_s);
	/* no reply without an id, no broadcast */
	assert_int_equal(x->ob.n, 0);
	counted = x->ob.has_drift;
	rv_outbox_clear(&x->ob);
	return counted;
}

/* Tick at now: the report to the host, parsed (its payload), or NULL when
 * nothing went out. */
static json_t *tick(struct dx *x, double now)
{
	json_error_t e;
	json_t *j;
	struct rv_frame *f;

	rv_party_tick(x->p, now, &x->ob);
	if (!x->ob.n)
		return NULL;
	assert_int_equal(x->ob.n, 1);
	/* to the host alone */
	assert_int_equal(x->ob.items[0].target, RV_TO_ONE);
	assert_ptr_equal(x->ob.items[0].member, rv_party_host(x->p));
	f = x->ob.items[0].frame;
	j = json_loadb((const char *)rv_frame_data(f), f->len, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("not JSON: %s", e.text);
	rv_outbox_clear(&x->ob);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "drift");
	json_decref(x->last);
	x->last = j;
	return json_object_get(j, "payload");
}

static json_t *entry(json_t *payload, size_t i)
{
	json_t *e = json_array_get(json_object_get(payload, "members"), i);

	assert_non_null(e);
	return e;
}

static double drift_of(json_t *payload, size_t i)
{
	json_t *v = json_object_get(entry(payload, i), "drift_ms");

	return json_is_null(v) ? NAN : json_number_value(v);
}

static const char *id_of(json_t *payload, size_t i)
{
	return json_string_value(json_object_get(entry(payload, i), "id"));
}

static size_t count_of(json_t *payload)
{
	return (size_t)json_number_value(json_object_get(payload, "count"));
}

static size_t listed(json_t *payload)
{
	return json_array_size(json_object_get(payload, "members"));
}

static void test_speed_one(void **state)
{
	struct dx *x = new_dx(IVL, 2);
	json_t *r;

	(void)state;
	play(x, 100, 1, true, T0 + 1000);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	/* 2 s later the party is at 102: +40 ms and -25 ms */
	assert_true(status(x, x->m[0], T0 + 3010, 102.040, true, false, T0 + 3000));
	assert_near(x->m[0]->drift_ms, 40, 1e-6);
	assert_true(status(x, x->m[1], T0 + 3020, 101.975, true, false, T0 + 3000));
	/* the first report falls due at once */
	assert_true(rv_party_next_deadline(x->p) <= T0 + 3010);
	r = tick(x, T0 + 3020);
	assert_non_null(r);
	assert_int_equal(listed(r), 2);
	assert_int_equal(count_of(r), 2);
	assert_string_equal(id_of(r, 0), "m0");
	assert_near(drift_of(r, 0), 40, 0.05);
	assert_string_equal(id_of(r, 1), "m1");
	assert_near(drift_of(r, 1), -25, 0.05);
	assert_false(json_is_true(json_object_get(entry(r, 0), "buffering")));
	assert_near(json_number_value(json_object_get(entry(r, 0), "clock_error_ms")), 3, 1e-9);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	free_dx(x);
}

static void test_speed_two_and_paused(void **state)
{
	struct dx *x = new_dx(IVL, 1);

	(void)state;
	play(x, 10, 2, true, T0 + 1000);
	/* 1.5 s at speed 2: the party is at 13 */
	assert_true(status(x, x->m[0], T0 + 2500, 13.1, true, false, T0 + 2500));
	assert_near(x->m[0]->drift_ms, 100, 1e-6);
	play(x, 50, 1, false, T0 + 3000);
	/* paused: the position holds, however late */
	assert_true(status(x, x->m[0], T0 + 9000, 49.99, false, false, NAN));
	assert_near(x->m[0]->drift_ms, -10, 1e-6);
	free_dx(x);
}

static void test_at_handling(void **state)
{
	struct dx *x = new_dx(IVL, 1);

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	/* at within 5 s of now is used */
	assert_true(status(x, x->m[0], T0 + 5000, 3.5, true, false, T0 + 4500));
	assert_near(x->m[0]->drift_ms, 0, 1e-6);
	/* without at: the receive time */
	assert_true(status(x, x->m[0], T0 + 5000, 4.02, true, false, NAN));
	assert_near(x->m[0]->drift_ms, 20, 1e-6);
	/* at 10 s off (a wrong clock): the receive time */
	assert_true(status(x, x->m[0], T0 + 5000, 4.0, true, false, T0 + 15000));
	assert_near(x->m[0]->drift_ms, 0, 1e-6);
	assert_true(status(x, x->m[0], T0 + 16000, 15.0, true, false, T0 + 1000));
	assert_near(x->m[0]->drift_ms, 0, 1e-6);
	free_dx(x);
}

static void test_buffering(void **state)
{
	struct dx *x = new_dx(IVL, 3);
	json_t *r;

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	assert_true(status(x, x->m[0], T0 + 3000, 2.5, true, false, NAN));
	/* buffering, and paused while the party plays: not counted,
	 * reported as buffering, first */
	assert_false(status(x, x->m[1], T0 + 3000, 1, true, true, NAN));
	assert_false(status(x, x->m[2], T0 + 3000, 2, false, false, NAN));
	assert_true(x->m[2]->drift_buffering && isnan(x->m[2]->drift_ms));
	r = tick(x, T0 + 3000);
	assert_int_equal(listed(r), 3);
	assert_int_equal(count_of(r), 3);
	assert_string_equal(id_of(r, 0), "m1");
	assert_true(json_is_true(json_object_get(entry(r, 0), "buffering")));
	assert_true(json_is_null(json_object_get(entry(r, 0), "drift_ms")));
	assert_string_equal(id_of(r, 1), "m2");
	assert_string_equal(id_of(r, 2), "m0");
	assert_near(drift_of(r, 2), 500, 0.05);
	/* back in play: a change, reported at the next interval */
	assert_true(status(x, x->m[1], T0 + 3100, 2.1, true, false, NAN));
	assert_near(rv_party_next_deadline(x->p), T0 + 4000, 1e-6);
	free_dx(x);
}

/* 100 members: 64 listed, the largest |drift| first, count 100. */
static void test_bounded_order(void **state)
{
	struct dx *x = new_dx(IVL, 100);
	json_t *r;

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	for (unsigned i = 0; i < 100; i++) {
		/* drifts -0, +1, -2, +3 ... ms, mixed order */
		double d = (i % 2 ? 1.0 : -1.0) * (double)((i * 37) % 100);

		status(x, x->m[i], T0 + 5000, 4 + d / 1000, true, false, NAN);
	}
	r = tick(x, T0 + 5000);
	assert_int_equal(listed(r), 64);
	assert_int_equal(count_of(r), 100);
	for (size_t i = 0; i < 64; i++)
		assert_near(fabs(drift_of(r, i)), 99 - (double)i, 0.05);
	free_dx(x);
}

static void test_interval_and_quiet(void **state)
{
	struct dx *x = new_dx(IVL, 1);

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	status(x, x->m[0], T0 + 2000, 1.010, true, false, NAN);
	assert_non_null(tick(x, T0 + 2000));
	/* the same drift again (within 1 ms): nothing new, nothing due */
	status(x, x->m[0], T0 + 2500, 1.5104, true, false, NAN);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	assert_null(tick(x, T0 + 5000));
	/* a change: due an interval after the last report, not before */
	status(x, x->m[0], T0 + 2600, 1.650, true, false, NAN);
	assert_near(rv_party_next_deadline(x->p), T0 + 3000, 1e-6);
	assert_null(tick(x, T0 + 2999));
	assert_near(drift_of(tick(x, T0 + 3000), 0), 50, 0.05);
	/* a change long after: due at once */
	status(x, x->m[0], T0 + 9000, 8.0, true, false, NAN);
	assert_near(rv_party_next_deadline(x->p), T0 + 9000, 1e-6);
	free_dx(x);
}

static void test_leave_and_no_host(void **state)
{
	struct dx *x = new_dx(IVL, 2);
	json_t *r;

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	status(x, x->m[0], T0 + 2000, 1.01, true, false, NAN);
	status(x, x->m[1], T0 + 2000, 1.02, true, false, NAN);
	assert_int_equal(count_of(tick(x, T0 + 2000)), 2);
	rv_party_leave(x->p, x->m[1], T0 + 2500, &x->ob);
	rv_outbox_clear(&x->ob);
	r = tick(x, T0 + 3000);
	assert_int_equal(count_of(r), 1);
	assert_int_equal(listed(r), 1);
	assert_string_equal(id_of(r, 0), "m0");
	/* a member who never sent a status leaving is no change */
	assert_true(isinf(rv_party_next_deadline(x->p)));
	free_dx(x);
}

/* A new host is owed a report even when nothing changed. */
static void test_new_host_gets_a_report(void **state)
{
	struct dx *x = new_dx(IVL, 1);

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	status(x, x->m[0], T0 + 2000, 1.01, true, false, NAN);
	assert_non_null(tick(x, T0 + 2000));
	status(x, x->m[0], T0 + 3000, 2.01, true, false, NAN);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	send(x, x->host, T0 + 3100, "{\"type\":\"transfer_host\",\"payload\":{\"to\":\"m0\"}}");
	rv_outbox_clear(&x->ob);
	/* the next status (the same drift) notices the hand-over */
	status(x, x->m[0], T0 + 4000, 3.01, true, false, NAN);
	assert_near(rv_party_next_deadline(x->p), T0 + 4000, 1e-6);
	assert_int_equal(count_of(tick(x, T0 + 4000)), 1);
	status(x, x->m[0], T0 + 5000, 4.01, true, false, NAN);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	free_dx(x);
}

/* Only the host gets the report; a member's status gets no answer but
 * an ack with an id; with the interval 0 nothing is ever due, but the
 * drift is still measured (the histogram). */
static void test_host_only_ack_and_off(void **state)
{
	struct dx *x = new_dx(0, 1);

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	send(x, x->m[0], T0 + 2000, "{\"type\":\"status\",\"id\":\"s1\",\"payload\":"
	     "{\"position\":1.005,\"playing\":true}}");
	assert_int_equal(x->ob.n, 1);
	assert_ptr_equal(x->ob.items[0].member, x->m[0]);
	assert_true(x->ob.has_drift);
	assert_near(x->ob.drift_ms, 5, 1e-6);
	assert_true(isnan(x->m[0]->drift_clock_error_ms));
	rv_outbox_clear(&x->ob);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	assert_null(tick(x, T0 + 100000));
	free_dx(x);
}

/* A state stamped in the future (a scheduled command) is pending: a
 * status about an instant before it is measured against the state before;
 * one just after a change is skipped. */
static void test_pending_state(void **state)
{
	struct dx *x = new_dx(IVL, 1);

	(void)state;
	play(x, 0, 1, true, T0 + 1000);
	status(x, x->m[0], T0 + 5000, 4.0, true, false, NAN);
	/* at T0 + 6000 the host schedules a pause at 30 s for T0 + 8000 */
	play_at(x, 30, 1, false, T0 + 8000, T0 + 6000);
	/* still playing the old state at T0 + 7000: in sync */
	assert_true(status(x, x->m[0], T0 + 7000, 6.01, true, false, T0 + 7000));
	assert_near(x->m[0]->drift_ms, 10, 1e-6);
	/* just after the pause took effect: skipped, the entry stays */
	assert_false(status(x, x->m[0], T0 + 8100, 29, false, false, T0 + 8100));
	assert_near(x->m[0]->drift_ms, 10, 1e-6);
	assert_false(x->m[0]->drift_buffering);
	/* settled: measured against the pause */
	assert_true(status(x, x->m[0], T0 + 9000, 30.002, false, false, T0 + 9000));
	assert_near(x->m[0]->drift_ms, 2, 1e-6);
	free_dx(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_speed_one),
		cmocka_unit_test(test_speed_two_and_paused),
		cmocka_unit_test(test_at_handling),
		cmocka_unit_test(test_buffering),
		cmocka_unit_test(test_bounded_order),
		cmocka_unit_test(test_interval_and_quiet),
		cmocka_unit_test(test_leave_and_no_host),
		cmocka_unit_test(test_host_only_ack_and_off),
		cmocka_unit_test(test_new_host_gets_a_report),
		cmocka_unit_test(test_pending_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
