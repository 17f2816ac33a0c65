/* tests/unit/test_barrier.c - the waiting room of lib/barrier.c, driven
 * through the party (party.h) with a given clock.
 *
 * Messages go in through the real decoder; what comes out is parsed back
 * with jansson and sorted by recipient the way the adapter delivers it.
 * The lead is fixed at 100 ms (lead_min = lead_max): a released or stalled state is stamped
 * now + 100.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/clock.h"
#include "revenge/party.h"

#define T0 1700000000000.0
#define LEAD 100.0
#define READY_MS 8000.0
#define REBUF_MS 3000.0
#define MAX_KEEP 1024

struct fx {
	struct rv_party *p;
	struct rv_outbox ob;
	json_t *keep[MAX_KEEP];
	unsigned nkeep;
	struct rv_member *a, *b, *c;  /* a is host */
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct rv_party_config cfg = { .history_max = 10,
				       .ready_timeout_ms = READY_MS,
				       .rebuffer_timeout_ms = REBUF_MS,
				       .lead_min_ms = LEAD, .lead_max_ms = LEAD };

	if (!x)
		return -1;
	x->p = rv_party_new("movie-night", &cfg);
	if (!x->p) {
		free(x);
		return -1;
	}
	rv_outbox_init(&x->ob);
	assert_int_equal(rv_party_join(x->p, "alice", "Alice", NULL, T0, &x->a, &x->ob), 0);
	assert_int_equal(rv_party_join(x->p, "bob", "Bob", NULL, T0, &x->b, &x->ob), 0);
	assert_int_equal(rv_party_join(x->p, "carol", "Carol", NULL, T0, &x->c, &x->ob), 0);
	rv_outbox_clear(&x->ob);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	for (unsigned i = 0; i < x->nkeep; i++)
		json_decref(x->keep[i]);
	free(x);
	return 0;
}

static json_t *parse(struct fx *x, struct rv_frame *f)
{
	json_error_t e;
	json_t *j = json_loadb((const char *)rv_frame_data(f), f->len,
			       JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("frame is not JSON (%s)", e.text);
	assert_true(x->nkeep < MAX_KEEP);
	x->keep[x->nkeep++] = j;
	return j;
}

static bool delivered_to(const struct rv_action *a, const struct rv_member *m)
{
	return a->target == RV_TO_ALL || (a->target == RV_TO_ONE && a->member == m) ||
	       (a->target == RV_TO_ALL_BUT && a->member != m);
}

/* The n-th (0-based) message of type that m receives from the outbox, NULL
 * when there is none. */
static json_t *got_nth(struct fx *x, const struct rv_member *m, const char *type, unsigned n)
{
	for (unsigned i = 0; i < x->ob.n; i++) {
		json_t *j;

		if (!delivered_to(&x->ob.items[i], m))
			continue;
		j = parse(x, x->ob.items[i].frame);
		if (strcmp(json_string_value(json_object_get(j, "type")), type) == 0 && n-- == 0)
			return j;
	}
	return NULL;
}

static json_t *got(struct fx *x, const struct rv_member *m, const char *type)
{
	return got_nth(x, m, type, 0);
}

/* How many messages of type m receives. */
static unsigned count(struct fx *x, const struct rv_member *m, const char *type)
{
	unsigned n = 0;

	while (got_nth(x, m, type, n))
		n++;
	return n;
}

static json_t *pl(json_t *j)
{
	assert_non_null(j);
	return json_object_get(j, "payload");
}

static double num(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_number(v))
		fail_msg("\"%s\" is not a number", k);
	return json_number_value(v);
}

static bool flag(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_boolean(v))
		fail_msg("\"%s\" is not a boolean", k);
	return json_is_true(v);
}

static void send_at(struct fx *x, struct rv_member *m, const char *json, double now)
{
	struct rv_msg msg;
	struct rv_proto_error err;

	rv_outbox_clear(&x->ob);
	if (rv_proto_decode(json, strlen(json), &msg, &err) != 0)
		fail_msg("decode %s: %s", json, err.message);
	rv_party_handle(x->p, m, &msg, now, &x->ob);
	rv_msg_clear(&msg);
}

static void tick(struct fx *x, double now)
{
	rv_outbox_clear(&x->ob);
	rv_party_tick(x->p, now, &x->ob);
}

#define PLAY(pos) "{\"type\":\"sync\",\"payload\":{\"position\":" #pos \
	",\"playing\":true,\"speed\":1}}"
#define PAUSE(pos) "{\"type\":\"sync\",\"payload\":{\"position\":" #pos \
	",\"playing\":false,\"speed\":1}}"
#define BUFFERING "{\"type\":\"buffering\"}"
#define READY "{\"type\":\"ready\"}"
#define START "{\"type\":\"start\"}"

/* A party_state as everyone gets it. */
static void assert_state(json_t *j, bool waiting, double n, double deadline)
{
	json_t *p = pl(j);
	json_t *d = json_object_get(p, "deadline");

	assert_true(flag(p, "waiting") == waiting);
	assert_near(num(p, "waiting_count"), n, 0);
	assert_true(json_is_array(json_object_get(p, "waiting_for")));
	assert_int_equal(json_array_size(json_object_get(p, "waiting_for")),
			 n < 16 ? (size_t)n : 16);
	if (isinf(deadline))
		assert_true(json_is_null(d));
	else
		assert_near(json_number_value(d), deadline, 0.001);
}

static void assert_sync(json_t *j, double pos, bool playing, double at)
{
	json_t *p = pl(j);

	assert_near(num(p, "position"), pos, 1e-6);
	assert_true(flag(p, "playing") == playing);
	assert_near(num(p, "server_time"), at, 0.001);
}

/* ---- the waiting room */

static void test_buffering_holds_resume_ready_releases(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000;
	json_t *j;

	send_at(x, x->b, BUFFERING, t);
	j = got(x, x->c, "party_state");
	assert_state(j, true, 1, INFINITY);
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(pl(j), "waiting_for"), 0)), "bob");
	assert_int_equal(count(x, x->a, "party_state"), 1);
	assert_int_equal(x->ob.waits_started, 1);
	/* nothing is held while paused: no deadline, no timer */
	assert_true(isinf(rv_party_next_deadline(x->p)) ||
		    rv_party_next_deadline(x->p) > t + 1e9);

	/* the host's resume is accepted but held: paused at its position,
	 * stamped lead ms ahead like any host's sync (lead.c) */
	send_at(x, x->a, "{\"type\":\"sync\",\"id\":\"s1\",\"payload\":{\"position\":10,"
		"\"playing\":true,\"speed\":1}}", t + 100);
	assert_sync(got(x, x->c, "sync"), 10, false, t + 100 + LEAD);
	assert_sync(got(x, x->a, "sync"), 10, false, t + 100 + LEAD);
	assert_string_equal(json_string_value(json_object_get(got(x, x->a, "sync"), "id")), "s1");
	assert_state(got(x, x->b, "party_state"), true, 1, t + 100 + READY_MS);
	assert_false(rv_party_state(x->p)->playing);
	assert_near(rv_party_next_deadline(x->p), t + 100 + READY_MS, 0.001);

	/* ready: the held resume, scheduled lead ms ahead, to everyone */
	send_at(x, x->b, "{\"type\":\"ready\",\"id\":\"r1\"}", t + 2000);
	assert_sync(got(x, x->a, "sync"), 10, true, t + 2000 + LEAD);
	assert_sync(got(x, x->b, "sync"), 10, true, t + 2000 + LEAD);
	assert_string_equal(json_string_value(json_object_get(got(x, x->c, "sync"), "from")),
			    "alice");
	assert_state(got(x, x->c, "party_state"), false, 0, INFINITY);
	assert_non_null(got(x, x->b, "ack"));
	assert_null(got(x, x->c, "ack"));
	assert_true(rv_party_state(x->p)->playing);
	assert_true(isinf(rv_party_next_deadline(x->p)));
}

static void test_two_buffering_release_on_last(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000;

	send_at(x, x->b, BUFFERING, t);
	send_at(x, x->c, BUFFERING, t + 300);
	assert_int_equal(x->ob.waits_started, 0);       /* the same wait */
	send_at(x, x->a, PLAY(5), t + 400);
	send_at(x, x->b, READY, t + 500);
	assert_null(got(x, x->a, "sync"));               /* carol still buffers */
	send_at(x, x->c, READY, t + 900);
	assert_sync(got(x, x->a, "sync"), 5, true, t + 900 + LEAD);
	assert_state(got(x, x->a, "party_state"), false, 0, INFINITY);
}

static void test_ready_timeout_drops_and_plays(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000, dl = t + 10 + READY_MS;

	send_at(x, x->b, BUFFERING, t);
	send_at(x, x->a, PLAY(3), t + 10);
	tick(x, dl - 1);
	assert_int_equal(count(x, x->a, "sync") + count(x, x->b, "dropped"), 0);
	tick(x, dl);
	assert_string_equal(json_string_value(json_object_get(pl(got(x, x->b, "dropped")),
							      "reason")), "ready_timeout");
	assert_null(got(x, x->a, "dropped"));
	assert_null(got(x, x->c, "dropped"));
	assert_sync(got(x, x->c, "sync"), 3, true, dl + LEAD);
	assert_state(got(x, x->a, "party_state"), false, 0, INFINITY);
	assert_int_equal(x->ob.barrier_timeouts, 1);
	assert_true(rv_party_state(x->p)->playing);
	assert_true(isinf(rv_party_next_deadline(x->p)));

	/* dropped: its buffering pauses nobody until it says ready */
	send_at(x, x->b, BUFFERING, dl + 500);
	assert_int_equal(x->ob.n, 0);
	assert_true(rv_party_state(x->p)->playing);
	send_at(x, x->b, READY, dl + 600);
	assert_int_equal(x->ob.n, 0);
	/* back in: now a stall pauses everyone */
	send_at(x, x->b, BUFFERING, dl + 700);
	assert_false(got(x, x->a, "sync") == NULL);
	assert_false(rv_party_state(x->p)->playing);
}

static void test_forced_start(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000;

	send_at(x, x->b, BUFFERING, t);
	send_at(x, x->c, BUFFERING, t);
	send_at(x, x->a, PLAY(7), t + 10);
	send_at(x, x->a, "{\"type\":\"start\",\"id\":\"go\"}", t + 20);
	assert_string_equal(json_string_value(json_object_get(pl(got(x, x->b, "dropped")),
							      "reason")), "forced_start");
	assert_non_null(got(x, x->c, "dropped"));
	assert_null(got(x, x->a, "dropped"));
	assert_sync(got(x, x->b, "sync"), 7, true, t + 20 + LEAD);
	assert_state(got(x, x->b, "party_state"), false, 0, INFINITY);
	assert_string_equal(json_string_value(json_object_get(got(x, x->a, "ack"), "id")), "go");
	assert_int_equal(x->ob.barrier_timeouts, 0);

	/* a forced start without a held resume plays from where it is */
	send_at(x, x->a, PAUSE(9), t + 1000);
	send_at(x, x->b, READY, t + 1100);
	send_at(x, x->b, BUFFERING, t + 1200);
	send_at(x, x->a, START, t + 1300);
	assert_sync(got(x, x->c, "sync"), 9, true, t + 1300 + LEAD);
	assert_non_null(got(x, x->b, "dropped"));
}

static void test_start_forbidden_for_non_host(void **state)
{
	struct fx *x = *state;
	json_t *e;

	send_at(x, x->b, BUFFERING, T0 + 10);
	send_at(x, x->c, "{\"type\":\"start\",\"id\":\"s\"}", T0 + 20);
	assert_int_equal(x->ob.n, 1);
	e = got(x, x->c, "error");
	assert_string_equal(json_string_value(json_object_get(pl(e), "code")), "forbidden");
	assert_string_equal(json_string_value(json_object_get(pl(e), "ref")), "start");
	assert_int_equal(x->ob.error, RV_ERR_FORBIDDEN);
	/* the wait goes on */
	send_at(x, x->b, READY, T0 + 30);
	assert_state(got(x, x->a, "party_state"), false, 0, INFINITY);
}

static void test_late_joiner_never_pauses(void **state)
{
	struct fx *x = *state;
	struct rv_member *d = NULL;
	double t = T0 + 1000;

	send_at(x, x->a, PLAY(0), t);
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_join(x->p, "dave", "Dave", NULL, t + 5000, &d, &x->ob), 0);
	assert_false(flag(pl(got(x, d, "welcome")), "waiting"));
	assert_null(got(x, d, "party_state"));
	send_at(x, d, BUFFERING, t + 5100);
	assert_int_equal(x->ob.n, 0);
	assert_int_equal(x->ob.waits_started, 0);
	assert_true(rv_party_state(x->p)->playing);
	send_at(x, d, "{\"type\":\"buffering\",\"id\":\"b2\"}", t + 5200);
	assert_int_equal(x->ob.n, 1);                    /* the ack only */
	assert_non_null(got(x, d, "ack"));
	/* ready once: from now on it is waited for */
	send_at(x, d, READY, t + 6000);
	assert_int_equal(x->ob.n, 0);
	send_at(x, d, BUFFERING, t + 7000);
	/* the host's play took effect at t + LEAD, so at the pause's instant
	 * t + 7000 + LEAD the playback is at 7 s */
	assert_sync(got(x, x->a, "sync"), 7, false, t + 7000 + LEAD);
}

static void test_joiner_of_waiting_party(void **state)
{
	struct fx *x = *state;
	struct rv_member *d = NULL;

	send_at(x, x->b, BUFFERING, T0 + 10);
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_join(x->p, "dave", "Dave", NULL, T0 + 20, &d, &x->ob), 0);
	assert_true(flag(pl(got(x, d, "welcome")), "waiting"));
	assert_state(got(x, d, "party_state"), true, 1, INFINITY);
	assert_null(got(x, x->a, "party_state"));
	/* joined while paused: in the barrier */
	send_at(x, d, BUFFERING, T0 + 30);
	send_at(x, x->b, READY, T0 + 40);
	send_at(x, x->a, PLAY(1), T0 + 50);
	assert_false(rv_party_state(x->p)->playing);
}

static void test_rebuffer_mid_play(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000;
	json_t *j;

	send_at(x, x->a, PLAY(0), t);
	send_at(x, x->c, BUFFERING, t + 10000);
	/* paused for everyone, the host included, where the playback is
	 * lead ms from now: the host's play took effect at t + LEAD, so 10 s */
	j = got(x, x->a, "sync");
	assert_sync(j, 10, false, t + 10000 + LEAD);
	assert_string_equal(json_string_value(json_object_get(j, "from")), "carol");
	assert_non_null(got(x, x->c, "sync"));
	assert_state(got(x, x->b, "party_state"), true, 1, t + 10000 + REBUF_MS);
	assert_int_equal(x->ob.waits_started, 1);
	send_at(x, x->c, READY, t + 11000);
	assert_sync(got(x, x->b, "sync"), 10, true, t + 11000 + LEAD);
	assert_state(got(x, x->b, "party_state"), false, 0, INFINITY);

	/* a rebuffer that lasts: dropped with its own reason, the party goes on */
	send_at(x, x->c, BUFFERING, t + 20000);
	tick(x, t + 20000 + REBUF_MS);
	assert_string_equal(json_string_value(json_object_get(pl(got(x, x->c, "dropped")),
							      "reason")), "rebuffer_timeout");
	assert_true(flag(pl(got(x, x->a, "sync")), "playing"));
	assert_int_equal(x->ob.barrier_timeouts, 1);
}

static void test_stall_within_lead_keeps_order(void **state)
{
	struct fx *x = *state;

	/* a stall right after a scheduled release: the pause is not stamped
	 * before the state it follows */
	send_at(x, x->b, BUFFERING, T0 + 10);
	send_at(x, x->a, PLAY(2), T0 + 20);
	send_at(x, x->b, READY, T0 + 30);        /* plays at T0 + 130 */
	send_at(x, x->b, BUFFERING, T0 + 31);
	assert_sync(got(x, x->a, "sync"), 2.001, false, T0 + 131);
	send_at(x, x->b, READY, T0 + 32);
	assert_sync(got(x, x->a, "sync"), 2.001, true, T0 + 132);
}

static void test_leave_during_wait(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000;

	send_at(x, x->b, BUFFERING, t);
	send_at(x, x->a, PLAY(4), t + 10);
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, x->b, t + 50, &x->ob);
	x->b = NULL;
	assert_non_null(got(x, x->a, "member_left"));
	assert_sync(got(x, x->c, "sync"), 4, true, t + 50 + LEAD);
	assert_state(got(x, x->c, "party_state"), false, 0, INFINITY);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	/* a stall mid-play by a member who then leaves: the others play on */
	send_at(x, x->c, BUFFERING, t + 1000);
	assert_false(rv_party_state(x->p)->playing);
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, x->c, t + 1200, &x->ob);
	x->c = NULL;
	assert_true(flag(pl(got(x, x->a, "sync")), "playing"));
	assert_true(rv_party_state(x->p)->playing);
}

static void test_host_pause_cancels_held(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000;

	send_at(x, x->b, BUFFERING, t);
	send_at(x, x->a, PLAY(4), t + 10);
	send_at(x, x->a, PAUSE(6), t + 20);
	/* a seek from the held 4: stamped lead ms ahead, after the held
	 * state's t + 10 + LEAD */
	assert_sync(got(x, x->c, "sync"), 6, false, t + 20 + LEAD);
	assert_state(got(x, x->c, "party_state"), true, 1, INFINITY);
	tick(x, t + 10 + READY_MS);
	assert_int_equal(x->ob.n, 0);
	send_at(x, x->b, READY, t + 9000);
	assert_null(got(x, x->a, "sync"));
	assert_state(got(x, x->a, "party_state"), false, 0, INFINITY);
	assert_false(rv_party_state(x->p)->playing);
}

static void test_hostile_order(void **state)
{
	struct fx *x = *state;

	/* ready without buffering: acked, nothing else */
	send_at(x, x->b, "{\"type\":\"ready\",\"id\":\"r\"}", T0 + 10);
	assert_int_equal(x->ob.n, 1);
	assert_non_null(got(x, x->b, "ack"));
	/* buffering twice: one wait, one announcement */
	send_at(x, x->b, BUFFERING, T0 + 20);
	assert_int_equal(count(x, x->a, "party_state"), 1);
	send_at(x, x->b, BUFFERING, T0 + 30);
	assert_int_equal(x->ob.n, 0);
	tick(x, T0 + 1000);
	assert_int_equal(x->ob.n, 0);
	send_at(x, x->b, READY, T0 + 40);
	send_at(x, x->b, READY, T0 + 50);
	assert_int_equal(x->ob.n, 0);
	/* start while playing and nobody waited for: acked, nothing changes */
	send_at(x, x->a, PLAY(1), T0 + 60);
	send_at(x, x->a, "{\"type\":\"start\",\"id\":\"s\"}", T0 + 70);
	assert_int_equal(x->ob.n, 1);
	assert_non_null(got(x, x->a, "ack"));
	assert_true(rv_party_state(x->p)->playing);
	/* the host's play, as scheduled: untouched by the start */
	assert_near(rv_party_state(x->p)->server_time, T0 + 60 + LEAD, 0.001);
	/* start while paused and nobody waited for: plays */
	send_at(x, x->a, PAUSE(2), T0 + 80);
	send_at(x, x->a, START, T0 + 90);
	assert_sync(got(x, x->b, "sync"), 2, true, T0 + 90 + LEAD);
	assert_null(got(x, x->b, "party_state"));
}

/* Many members buffering at once: announcements are coalesced, drops that
 * do not fit one outbox go out in later ticks. */
static void test_big_party_coalesced(void **state)
{
	struct fx *x = *state;
	struct rv_member *m[40];
	unsigned states = 0, dropped = 0;
	double t = T0 + 1000;
	json_t *j;

	for (unsigned i = 0; i < 40; i++) {
		char id[16];

		snprintf(id, sizeof(id), "m%u", i);
		assert_int_equal(rv_party_join(x->p, id, NULL, NULL, t, &m[i], &x->ob), 0);
		rv_outbox_clear(&x->ob);
	}
	for (unsigned i = 0; i < 40; i++) {
		send_at(x, m[i], BUFFERING, t + i);
		states += count(x, x->a, "party_state");
	}
	assert_int_equal(states, 1);                     /* the wait began */
	assert_true(rv_party_next_deadline(x->p) <= t + 250 + 0.001);
	tick(x, t + 250);
	j = got(x, x->a, "party_state");
	assert_state(j, true, 40, INFINITY);
	assert_string_equal(json_string_value(json_array_get(
		json_object_get(pl(j), "waiting_for"), 0)), "m0");
	/* the host's resume (a deadline: at once) and a forced start */
	send_at(x, x->a, PLAY(1), t + 300);
	assert_int_equal(count(x, x->a, "party_state"), 1);
	send_at(x, x->a, START, t + 400);
	assert_non_null(got(x, x->a, "sync"));
	assert_non_null(got(x, x->a, "party_state"));
	for (unsigned i = 0; i < 40; i++)
		dropped += count(x, m[i], "dropped");
	assert_true(dropped < 40);
	for (unsigned k = 0; k < 10 && rv_party_next_deadline(x->p) <= t + 400; k++) {
		tick(x, t + 400);
		assert_true(x->ob.n <= RV_OUTBOX_MAX);
		for (unsigned i = 0; i < 40; i++)
			dropped += count(x, m[i], "dropped");
	}
	assert_int_equal(dropped, 40);
	assert_true(isinf(rv_party_next_deadline(x->p)));
}

/* 1000 members report buffering, one a millisecond, then ready, one a
 * millisecond; the party's timer is served whenever it falls due. Every
 * member hears only a handful of party_state messages, not a thousand. */
static void test_thousand_members_bounded(void **state)
{
	struct fx *x = *state;
	enum { N = 1000 };
	struct rv_member **m = calloc(N, sizeof(*m));
	unsigned states = 0;
	double t = T0 + 1000;

	assert_non_null(m);
	for (unsigned i = 0; i < N; i++) {
		char id[16];

		snprintf(id, sizeof(id), "m%u", i);
		assert_int_equal(rv_party_join(x->p, id, NULL, NULL, t, &m[i], &x->ob), 0);
		rv_outbox_clear(&x->ob);
	}
	for (unsigned k = 0; k < 2 * N; k++, t += 1) {
		send_at(x, m[k % N], k < N ? BUFFERING : READY, t);
		states += count(x, x->a, "party_state");
		while (rv_party_next_deadline(x->p) <= t) {
			tick(x, t);
			states += count(x, x->a, "party_state");
		}
	}
	tick(x, t + 1000);
	states += count(x, x->a, "party_state");
	print_message("party_state messages per member: %u\n", states);
	/* 2 s of changes at most every 250 ms, plus the start and the end */
	assert_true(states >= 2 && states <= 12);
	assert_false(rv_party_state(x->p)->playing);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	free(m);
}

/* A party made without a config, or with zero timeouts, uses 8 s and 3 s. */
static void test_default_timeouts(void **state)
{
	struct fx *x = *state;
	struct rv_member *a = NULL, *b = NULL;
	struct rv_party_config cfg = { .history_max = 1 };

	for (int k = 0; k < 2; k++) {
		rv_outbox_clear(&x->ob);
		rv_party_free(x->p);
		x->p = rv_party_new("movie-night", k ? &cfg : NULL);
		assert_non_null(x->p);
		assert_int_equal(rv_party_join(x->p, "a", NULL, NULL, T0, &a, &x->ob), 0);
		assert_int_equal(rv_party_join(x->p, "b", NULL, NULL, T0, &b, &x->ob), 0);
		send_at(x, b, BUFFERING, T0 + 10);
		send_at(x, a, PLAY(1), T0 + 20);
		assert_near(rv_party_next_deadline(x->p), T0 + 20 + 8000, 0.001);
		send_at(x, b, READY, T0 + 30);
		send_at(x, b, BUFFERING, T0 + 1000);
		assert_near(rv_party_next_deadline(x->p), T0 + 1000 + 3000, 0.001);
	}
}

/* ---- the barrier's states as a member plays them (rv_schedule, clock.h) */

#define SIM_Q 16

/* A member that gets every state the party relays `delay` ms after it was
 * sent and plays it with rv_schedule; sampled every ms, its position must
 * never go back. */
struct sim {
	struct rv_schedule s;
	double delay, t, pos;
	struct rv_playback q[SIM_Q];
	double q_at[SIM_Q];
	unsigned head, n;
};

static void sim_init(struct sim *m, const struct rv_playback *st, double delay, double t)
{
	memset(m, 0, sizeof(*m));
	rv_schedule_init(&m->s, st);
	m->delay = delay;
	m->t = t;
	m->pos = rv_schedule_position(&m->s, t);
}

/* Play until `until`, taking the queued states as they arrive. */
static void sim_run(struct sim *m, double until)
{
	for (; m->t <= until; m->t += 1) {
		double pos;

		while (m->head < m->n && m->q_at[m->head] <= m->t) {
			rv_schedule_push(&m->s, &m->q[m->head], m->q_at[m->head]);
			m->head++;
		}
		pos = rv_schedule_position(&m->s, m->t);
		if (pos < m->pos - 1e-9)
			fail_msg("delay %g: position %.4f at %.0f after %.4f", m->delay, pos,
				 m->t - T0, m->pos);
		m->pos = pos;
	}
}

/* Queue the syncs of the outbox that `to` gets, sent at now, on sims. */
static unsigned sim_feed(struct fx *x, const struct rv_member *to, struct sim *sims,
			 unsigned nsims, double now)
{
	unsigned k = 0;
	json_t *j;

	while ((j = got_nth(x, to, "sync", k++)) != NULL) {
		json_t *p = pl(j);
		struct rv_playback st = { .position = num(p, "position"),
					  .playing = flag(p, "playing"),
					  .speed = num(p, "speed"),
					  .server_time = num(p, "server_time") };

		for (unsigned i = 0; i < nsims; i++) {
			struct sim *m = &sims[i];

			sim_run(m, now + m->delay - 1);
			assert_true(m->n < SIM_Q);
			m->q[m->n] = st;
			m->q_at[m->n++] = now + m->delay;
		}
	}
	return k - 1;
}

/* Playing party, a member stalls (a pause scheduled at now + lead), then
 * is ready (the release at now + lead): once within the lead of the pause,
 * once after it landed. Bob plays each relayed state in order, getting it
 * at once (a pending pause dropped for the release) or later but within
 * the lead (the pause applied, then the release); his position never goes
 * back, and after a pause that landed he resumes where he paused. */
static void test_stall_release_as_played(void **state)
{
	struct fx *x = *state;
	double t = T0 + 1000, pause_pos, pause_at;
	struct sim sims[3];
	/* within the lead, as the lead (2 x RTT) is meant to be; 70 ms gets
	 * the pause after its instant but the release before its own */
	const double delays[3] = { 0, LEAD / 2, LEAD * 0.7 };
	const struct rv_playback *st;

	for (unsigned i = 0; i < 3; i++)
		sim_init(&sims[i], rv_party_state(x->p), delays[i], t - 1);
	send_at(x, x->a, PLAY(0), t);
	assert_int_equal(sim_feed(x, x->b, sims, 3, t), 1);

	/* ready within the lead of the stall's pause */
	send_at(x, x->c, BUFFERING, t + 5000);
	assert_int_equal(sim_feed(x, x->b, sims, 3, t + 5000), 1);
	assert_false(rv_party_state(x->p)->playing);
	send_at(x, x->c, READY, t + 5050);
	assert_int_equal(sim_feed(x, x->b, sims, 3, t + 5050), 1);
	st = rv_party_state(x->p);
	assert_true(st->playing);
	assert_near(st->server_time, t + 5050 + LEAD, 0.001);
	/* those who dropped the pause played on until the release: it goes
	 * on from where they are, the others skip the 50 ms they paused */
	assert_near(st->position, 5.05, 1e-6);

	/* ready after the pause landed: everyone resumes where it paused */
	send_at(x, x->c, BUFFERING, t + 8000);
	assert_int_equal(sim_feed(x, x->b, sims, 3, t + 8000), 1);
	pause_pos = rv_party_state(x->p)->position;
	pause_at = rv_party_state(x->p)->server_time;
	assert_near(pause_at, t + 8000 + LEAD, 0.001);
	assert_near(pause_pos, 5.05 + (8000 + LEAD - 5050 - LEAD) / 1000.0, 1e-6);
	send_at(x, x->c, READY, t + 9000);
	assert_int_equal(sim_feed(x, x->b, sims, 3, t + 9000), 1);
	st = rv_party_state(x->p);
	assert_near(st->position, pause_pos, 1e-9);
	assert_near(st->server_time, t + 9000 + LEAD, 0.001);
	for (unsigned i = 0; i < 3; i++) {
		struct sim *m = &sims[i];

		/* paused where the party paused, from when it had the pause */
		sim_run(m, t + 9000 + LEAD - 1);
		assert_near(m->pos, pause_pos, 1e-9);
		/* and plays on from there */
		sim_run(m, t + 12000);
		assert_near(m->pos, pause_pos + (12000 - 9000 - LEAD) / 1000.0, 1e-6);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_buffering_holds_resume_ready_releases),
		T(test_two_buffering_release_on_last),
		T(test_ready_timeout_drops_and_plays),
		T(test_forced_start),
		T(test_start_forbidden_for_non_host),
		T(test_late_joiner_never_pauses),
		T(test_joiner_of_waiting_party),
		T(test_rebuffer_mid_play),
		T(test_stall_within_lead_keeps_order),
		T(test_leave_during_wait),
		T(test_host_pause_cancels_held),
		T(test_hostile_order),
		T(test_big_party_coalesced),
		T(test_default_timeouts),
		T(test_thousand_members_bounded),
		T(test_stall_release_as_played),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
