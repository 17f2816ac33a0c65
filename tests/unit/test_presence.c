/* tests/unit/test_presence.c - batched presence of lib/presence.c, driven
 * through the party API (party.h) with a given clock: the threshold and
 * its crossing both ways, the flush interval, a join and leave that cancel
 * out, bounded messages, the bounded welcome with the host first, and the
 * `members` pages.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "revenge/error.h"
#include "revenge/party.h"

#include "presence.h"

#define T0 1700000000000.0
#define IV 250.0

struct px {
	struct rv_party *p;
	struct rv_outbox ob;
	struct rv_member *m[1200];    /* by join number, NULL once left */
	unsigned n;
};

static int px_setup(void **state)
{
	struct px *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	rv_outbox_init(&x->ob);
	*state = x;
	return 0;
}

static int px_teardown(void **state)
{
	struct px *x = *state;

	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	free(x);
	return 0;
}

static void make(struct px *x, unsigned above)
{
	struct rv_party_config c = { .history_max = 10,
				     .presence_batch_above = above,
				     .presence_interval_ms = IV };

	x->p = rv_party_new("big", &c);
	assert_non_null(x->p);
}

/* Member number i joins (ids m0, m1, ...); its actions stay in the outbox. */
static struct rv_member *add(struct px *x, double now)
{
	char id[16];
	unsigned i = x->n++;

	snprintf(id, sizeof(id), "m%u", i);
	assert_int_equal(rv_party_join(x->p, id, NULL, NULL, now, &x->m[i], &x->ob), 0);
	return x->m[i];
}

static void drop(struct px *x, unsigned i, double now)
{
	rv_party_leave(x->p, x->m[i], now, &x->ob);
	x->m[i] = NULL;
}

/* Several members joining, the outbox cleared after each. */
static void fill(struct px *x, unsigned n, double now)
{
	for (unsigned i = 0; i < n; i++) {
		add(x, now);
		rv_outbox_clear(&x->ob);
	}
}

/* A party batching above 4, of n members (m0 host), its first batch
 * flushed at T0 and the outbox empty. */
static void batched(struct px *x, unsigned n)
{
	make(x, 4);
	fill(x, n, T0);
	for (int i = 0; i < 100 && rv_party_next_deadline(x->p) <= T0; i++) {
		rv_party_tick(x->p, T0, &x->ob);
		rv_outbox_clear(&x->ob);
	}
}

/* Action k's frame as JSON (the caller decrefs). */
static json_t *frame_json(const struct px *x, unsigned k)
{
	const struct rv_frame *f = x->ob.items[k].frame;
	json_t *j = json_loadb((const char *)f->buf + RV_FRAME_HEADROOM, f->len, 0, NULL);

	assert_non_null(j);
	return j;
}

static const char *type_of(const struct px *x, unsigned k)
{
	static char t[32];
	json_t *j = frame_json(x, k);

	snprintf(t, sizeof(t), "%s", json_string_value(json_object_get(j, "type")));
	json_decref(j);
	return t;
}

static long field_int(json_t *j, const char *key)
{
	json_t *v = json_object_get(json_object_get(j, "payload"), key);

	if (!json_is_integer(v))
		fail_msg("payload.%s is not an integer", key);
	return (long)json_integer_value(v);
}

static json_t *field(json_t *j, const char *key)
{
	return json_object_get(json_object_get(j, "payload"), key);
}

/* Tick the party as the adapter does until nothing more is due at now. */
static void tick_all(struct px *x, double now)
{
	for (int i = 0; i < 1000 && rv_party_next_deadline(x->p) <= now; i++)
		rv_party_tick(x->p, now, &x->ob);
}

static void test_small_party_per_event(void **state)
{
	struct px *x = *state;
	json_t *w;

	make(x, 4);
	fill(x, 3, T0);
	add(x, T0 + 1);
	assert_int_equal(x->ob.n, 2);
	assert_string_equal(type_of(x, 0), "welcome");
	assert_string_equal(type_of(x, 1), "member_joined");
	w = frame_json(x, 0);
	assert_int_equal(json_array_size(field(w, "members")), 4);
	assert_int_equal(field_int(w, "member_count"), 4);
	assert_true(json_is_false(field(w, "members_partial")));
	json_decref(w);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	rv_outbox_clear(&x->ob);
	drop(x, 1, T0 + 2);
	assert_int_equal(x->ob.n, 1);
	assert_string_equal(type_of(x, 0), "member_left");
}

static void test_never_batch_with_zero(void **state)
{
	struct px *x = *state;

	make(x, 0);
	fill(x, 100, T0);
	add(x, T0);
	assert_int_equal(x->ob.n, 2);
	assert_string_equal(type_of(x, 1), "member_joined");
	assert_true(isinf(rv_party_next_deadline(x->p)));
}

static void test_crossing_up_batches(void **state)
{
	struct px *x = *state;
	json_t *j;

	make(x, 4);
	fill(x, 4, T0);
	add(x, T0 + 10);
	/* the fifth: welcome only; its join waits for the flush */
	assert_int_equal(x->ob.n, 1);
	assert_string_equal(type_of(x, 0), "welcome");
	rv_outbox_clear(&x->ob);
	/* the first flush after a quiet spell is not held back */
	assert_near(rv_party_next_deadline(x->p), T0 + 10, 1e-6);
	rv_party_tick(x->p, T0 + 10, &x->ob);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL_BEFORE);
	assert_ptr_equal(x->ob.items[0].member, x->m[4]);
	j = frame_json(x, 0);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "presence");
	assert_int_equal(json_array_size(field(j, "joined")), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(field(j, "joined"), 0), "id")), "m4");
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(field(j, "joined"), 0), "role")), "member");
	assert_int_equal(json_array_size(field(j, "left")), 0);
	assert_int_equal(field_int(j, "count"), 5);
	assert_int_equal(field_int(j, "joined_more"), 0);
	assert_int_equal(field_int(j, "left_more"), 0);
	json_decref(j);
	assert_true(isinf(rv_party_next_deadline(x->p)));
}

static void test_interval_and_newcomers(void **state)
{
	struct px *x = *state;
	json_t *j;

	batched(x, 5);
	add(x, T0 + 10);   /* m5 */
	add(x, T0 + 20);   /* m6 */
	rv_outbox_clear(&x->ob);
	assert_near(rv_party_next_deadline(x->p), T0 + IV, 1e-6);
	rv_party_tick(x->p, T0 + 100, &x->ob);
	assert_int_equal(x->ob.n, 0);
	tick_all(x, T0 + IV);
	/* m0-m4 get both joins; m5 only m6's (not its own); m6 nothing */
	assert_int_equal(x->ob.n, 2);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL_BEFORE);
	assert_ptr_equal(x->ob.items[0].member, x->m[5]);
	j = frame_json(x, 0);
	assert_int_equal(json_array_size(field(j, "joined")), 2);
	assert_int_equal(field_int(j, "count"), 7);
	json_decref(j);
	assert_int_equal(x->ob.items[1].target, RV_TO_ONE);
	assert_ptr_equal(x->ob.items[1].member, x->m[5]);
	j = frame_json(x, 1);
	assert_int_equal(json_array_size(field(j, "joined")), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(field(j, "joined"), 0), "id")), "m6");
	json_decref(j);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	rv_outbox_clear(&x->ob);
	/* the next batch is held until an interval after this flush */
	add(x, T0 + IV + 1);
	rv_outbox_clear(&x->ob);
	assert_near(rv_party_next_deadline(x->p), T0 + 2 * IV, 1e-6);
}

static void test_join_leave_cancel(void **state)
{
	struct px *x = *state;
	json_t *j;

	batched(x, 5);
	add(x, T0 + 10);   /* m5, gone before the flush */
	rv_outbox_clear(&x->ob);
	drop(x, 5, T0 + 20);
	assert_int_equal(x->ob.n, 0);
	tick_all(x, T0 + IV);
	assert_int_equal(x->ob.n, 0);
	/* a member announced earlier leaves: batched too */
	drop(x, 2, T0 + IV + 5);
	assert_int_equal(x->ob.n, 0);
	tick_all(x, T0 + 2 * IV);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL);
	j = frame_json(x, 0);
	assert_int_equal(json_array_size(field(j, "left")), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_array_get(field(j, "left"), 0), "id")), "m2");
	assert_int_equal(field_int(j, "count"), 4);
	json_decref(j);
}

static void test_host_change_immediate(void **state)
{
	struct px *x = *state;

	batched(x, 6);
	drop(x, 0, T0 + 1);
	assert_int_equal(x->ob.n, 1);
	assert_string_equal(type_of(x, 0), "host_changed");
}

static void test_bounded_messages(void **state)
{
	struct px *x = *state;
	unsigned shared = 0, own = 0;

	batched(x, 5);
	fill(x, 300, T0 + 1);      /* m5..m304 in one batch */
	for (int i = 0; i < 1000 && rv_party_next_deadline(x->p) <= T0 + IV; i++) {
		rv_party_tick(x->p, T0 + IV, &x->ob);
		assert_true(x->ob.n <= 8);
		for (unsigned k = 0; k < x->ob.n; k++) {
			json_t *j = frame_json(x, k);
			size_t nj = json_array_size(field(j, "joined"));

			assert_int_equal(field_int(j, "count"), 305);
			if (x->ob.items[k].target == RV_TO_ALL_BEFORE) {
				shared++;
				assert_int_equal(nj, RV__PRESENCE_LIST_MAX);
				assert_int_equal(field_int(j, "joined_more"),
						 300 - RV__PRESENCE_LIST_MAX);
			} else {
				/* m(5+i) hears of the 299-i after it */
				const struct rv_member *to = x->ob.items[k].member;
				long after = 304 - atol(to->id + 1);

				own++;
				assert_int_equal(nj, after < RV__PRESENCE_LIST_MAX ?
							 after : RV__PRESENCE_LIST_MAX);
				assert_int_equal(field_int(j, "joined_more"),
						 after - (long)nj);
			}
			json_decref(j);
		}
		rv_outbox_clear(&x->ob);
	}
	assert_int_equal(shared, 1);
	assert_int_equal(own, 299);   /* the last joiner has nothing to hear */
	assert_true(isinf(rv_party_next_deadline(x->p)));
}

/* A flush's second half spans ticks; members leaving in between (the next
 * to be told among them) are skipped, and their leaves go in the next batch. */
static void test_newcomer_phase_survives_leaves(void **state)
{
	struct px *x = *state;
	unsigned own = 0;
	json_t *j;

	batched(x, 5);
	fill(x, 40, T0 + 1);                 /* m5..m44 */
	rv_party_tick(x->p, T0 + IV, &x->ob);
	assert_int_equal(x->ob.n, 8);        /* the shared diff and m5..m11 */
	assert_ptr_equal(x->ob.items[7].member, x->m[11]);
	rv_outbox_clear(&x->ob);
	assert_true(rv_party_next_deadline(x->p) <= T0 + IV);
	drop(x, 12, T0 + IV + 1);            /* the next to be told */
	drop(x, 30, T0 + IV + 1);
	assert_int_equal(x->ob.n, 0);
	for (int t = 0; t < 100 && rv_party_next_deadline(x->p) <= T0 + IV + 1; t++) {
		rv_party_tick(x->p, T0 + IV + 1, &x->ob);
		for (unsigned k = 0; k < x->ob.n; k++) {
			const struct rv_member *to = x->ob.items[k].member;
			long i = atol(to->id + 1), after = 44 - i - (i < 30 ? 1 : 0);

			assert_int_equal(x->ob.items[k].target, RV_TO_ONE);
			assert_true(i > 12 && i != 30);
			j = frame_json(x, k);
			assert_int_equal(json_array_size(field(j, "joined")) +
					 (size_t)field_int(j, "joined_more"), after);
			json_decref(j);
			own++;
		}
		rv_outbox_clear(&x->ob);
	}
	assert_int_equal(own, 44 - 13 - 1);  /* m13..m43 but m30; m44 hears nothing */
	rv_outbox_clear(&x->ob);
	/* the two leaves, announced at the next flush */
	tick_all(x, T0 + 2 * IV);
	assert_int_equal(x->ob.n, 1);
	j = frame_json(x, 0);
	assert_int_equal(json_array_size(field(j, "left")), 2);
	assert_int_equal(field_int(j, "count"), 43);
	json_decref(j);
}

static void test_welcome_bounded_host_first(void **state)
{
	struct px *x = *state;
	json_t *w, *ms;

	make(x, 4);
	fill(x, 100, T0);
	add(x, T0 + 1);
	w = frame_json(x, 0);
	ms = field(w, "members");
	assert_int_equal(json_array_size(ms), 64);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ms, 0), "id")), "m0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ms, 0), "role")), "host");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ms, 1), "id")), "m100");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ms, 2), "id")), "m1");
	assert_int_equal(field_int(w, "member_count"), 101);
	assert_true(json_is_true(field(w, "members_partial")));
	json_decref(w);
}

static void test_crossing_down(void **state)
{
	struct px *x = *state;

	batched(x, 6);
	drop(x, 5, T0 + 1);
	drop(x, 4, T0 + 2);   /* now 4: still batched until the flush */
	assert_int_equal(x->ob.n, 0);
	tick_all(x, T0 + IV);
	assert_int_equal(x->ob.n, 1);
	assert_string_equal(type_of(x, 0), "presence");
	rv_outbox_clear(&x->ob);
	/* back to per-event messages and a full welcome */
	drop(x, 3, T0 + IV + 1);
	assert_int_equal(x->ob.n, 1);
	assert_string_equal(type_of(x, 0), "member_left");
	rv_outbox_clear(&x->ob);
	add(x, T0 + IV + 2);
	assert_int_equal(x->ob.n, 2);
	assert_string_equal(type_of(x, 1), "member_joined");
}

/* Ask for a page as m0; returns the reply (caller decrefs). */
static json_t *page(struct px *x, const char *after, unsigned limit)
{
	struct rv_msg msg = { .type = RV_MSG_MEMBERS, .id = "p" };
	json_t *j;

	msg.u.members.after = after;
	msg.u.members.limit = limit;
	rv_outbox_clear(&x->ob);
	rv_party_handle(x->p, x->m[0], &msg, T0 + 5, &x->ob);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ONE);
	j = frame_json(x, 0);
	assert_string_equal(json_string_value(json_object_get(j, "id")), "p");
	return j;
}

static void test_members_paging(void **state)
{
	struct px *x = *state;
	char after[16] = "";
	unsigned seen = 0, pages = 0;
	json_t *j;

	make(x, 4);
	fill(x, 100, T0);
	drop(x, 50, T0 + 1);
	for (;;) {
		json_t *ms, *next;

		j = page(x, seen ? after : NULL, 30);
		ms = field(j, "members");
		assert_int_equal(field_int(j, "count"), 99);
		for (size_t i = 0; i < json_array_size(ms); i++, seen++) {
			unsigned want = seen < 50 ? seen : seen + 1;   /* m50 left */
			char id[16];

			snprintf(id, sizeof(id), "m%u", want);
			assert_string_equal(json_string_value(json_object_get(
				json_array_get(ms, i), "id")), id);
		}
		pages++;
		next = field(j, "next");
		if (json_is_null(next)) {
			json_decref(j);
			break;
		}
		snprintf(after, sizeof(after), "%s", json_string_value(next));
		json_decref(j);
	}
	assert_int_equal(seen, 99);
	assert_int_equal(pages, 4);
	/* after the last: an empty page */
	j = page(x, "m99", 30);
	assert_int_equal(json_array_size(field(j, "members")), 0);
	assert_true(json_is_null(field(j, "next")));
	json_decref(j);
	/* unknown (or departed) after */
	j = page(x, "m50", 30);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "error");
	assert_string_equal(json_string_value(field(j, "code")), "not_found");
	json_decref(j);
}

static void test_find_is_indexed(void **state)
{
	struct px *x = *state;

	make(x, 4);
	fill(x, 1000, T0);
	assert_ptr_equal(rv_party_find(x->p, "m999"), x->m[999]);
	drop(x, 999, T0 + 1);
	assert_null(rv_party_find(x->p, "m999"));
	/* a duplicate id is refused */
	{
		struct rv_member *m;

		assert_int_equal(rv_party_join(x->p, "m3", NULL, NULL, T0, &m, &x->ob),
				 RV_EINVAL);
	}
}

#define P(f) cmocka_unit_test_setup_teardown(f, px_setup, px_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		P(test_small_party_per_event),
		P(test_never_batch_with_zero),
		P(test_crossing_up_batches),
		P(test_interval_and_newcomers),
		P(test_join_leave_cancel),
		P(test_host_change_immediate),
		P(test_bounded_messages),
		P(test_newcomer_phase_survives_leaves),
		P(test_welcome_bounded_host_first),
		P(test_crossing_down),
		P(test_members_paging),
		P(test_find_is_indexed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
