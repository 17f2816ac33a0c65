/* tests/unit/test_outq.c - the bounded, latest-wins send queue (lib/outq.c). */
#include "unit.h"

#include <stdio.h>

#include "outq.h"
#include "revenge/error.h"
#include "revenge/proto.h"

static struct rv_frame *frame(const char *text, enum rv_frame_kind kind)
{
	struct rv_frame *f = rv_frame_from(text, strlen(text), kind);

	assert_non_null(f);
	return f;
}

static void expect_pop(struct rv__outq *q, const char *text)
{
	struct rv_frame *f = rv__outq_pop(q);

	assert_non_null(f);
	assert_int_equal(f->len, strlen(text));
	assert_memory_equal(rv_frame_data(f), text, f->len);
	rv_frame_unref(f);
}

static void peek_shows_the_oldest_and_keeps_it(void **state)
{
	struct rv__outq q;
	struct rv_frame *a = frame("a", RV_FRAME_EVENT), *b = frame("b", RV_FRAME_STATE);

	rv__outq_init(&q);
	assert_null(rv__outq_peek(&q));
	assert_int_equal(rv__outq_push(&q, a, 8), 0);
	assert_int_equal(rv__outq_push(&q, b, 8), 0);
	assert_ptr_equal(rv__outq_peek(&q), a);
	assert_ptr_equal(rv__outq_peek(&q), a);
	assert_int_equal(rv__outq_len(&q), 2);
	expect_pop(&q, "a");
	assert_ptr_equal(rv__outq_peek(&q), b);
	rv_frame_unref(a);
	rv_frame_unref(b);
	rv__outq_free(&q);
}

/* A compressed copy hangs off its frame and goes with the last reference. */
static void frame_frees_its_compressed_copy(void **state)
{
	struct rv_frame *f = frame("plain", RV_FRAME_EVENT);

	assert_int_equal(f->alt_state, RV_FRAME_ALT_UNTRIED);
	assert_null(f->alt);
	assert_int_equal(f->wire_head, 0);
	f->alt = frame("z", RV_FRAME_EVENT);
	f->alt_state = RV_FRAME_ALT_READY;
	rv_frame_ref(f);
	rv_frame_unref(f);
	rv_frame_unref(f);   /* frees both: valgrind and LSan would say otherwise */
}

/* Not latest-wins: every STATE frame is kept, and the newest is the one a
 * later latest-wins push replaces. */
static void state_frames_appended_when_not_latest_wins(void **state)
{
	struct rv__outq q;
	struct rv_frame *s1 = frame("s1", RV_FRAME_STATE), *s2 = frame("s2", RV_FRAME_STATE);
	struct rv_frame *s3 = frame("s3", RV_FRAME_STATE);

	rv__outq_init(&q);
	assert_int_equal(rv__outq_push_mode(&q, s1, 8, false), 0);
	assert_int_equal(rv__outq_push_mode(&q, s2, 8, false), 0);
	assert_int_equal(rv__outq_len(&q), 2);
	assert_int_equal(rv__outq_push_mode(&q, s3, 8, true), 1);   /* replaces s2 */
	expect_pop(&q, "s1");
	expect_pop(&q, "s3");
	assert_null(rv__outq_pop(&q));
	rv_frame_unref(s1);
	rv_frame_unref(s2);
	rv_frame_unref(s3);
	rv__outq_free(&q);
}

static void fifo_order_across_growth_and_wrap(void **state)
{
	struct rv__outq q;
	char buf[16];

	rv__outq_init(&q);
	/* advance head so the ring wraps before it grows */
	for (int i = 0; i < 5; i++) {
		struct rv_frame *f = frame("x", RV_FRAME_EVENT);

		assert_int_equal(rv__outq_push(&q, f, 64), 0);
		rv_frame_unref(f);
		expect_pop(&q, "x");
	}
	for (int i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "e%d", i);
		struct rv_frame *f = frame(buf, RV_FRAME_EVENT);

		assert_int_equal(rv__outq_push(&q, f, 64), 0);
		rv_frame_unref(f);
	}
	assert_int_equal(rv__outq_len(&q), 40);
	assert_int_equal(q.cap, 64);
	for (int i = 0; i < 40; i++) {
		snprintf(buf, sizeof(buf), "e%d", i);
		expect_pop(&q, buf);
	}
	assert_null(rv__outq_pop(&q));
	rv__outq_free(&q);
}

static void state_frames_are_latest_wins(void **state)
{
	struct rv__outq q;
	struct rv_frame *s1 = frame("s1", RV_FRAME_STATE), *s2 = frame("s2", RV_FRAME_STATE),
			*s3 = frame("s3", RV_FRAME_STATE), *c1 = frame("c1", RV_FRAME_EVENT);

	rv__outq_init(&q);
	assert_int_equal(rv__outq_push(&q, s1, 64), 0);
	assert_int_equal(rv__outq_push(&q, c1, 64), 0);
	assert_int_equal(s1->refs, 2);
	assert_int_equal(rv__outq_push(&q, s2, 64), 1);   /* replaces s1 in place */
	assert_int_equal(s1->refs, 1);
	assert_int_equal(rv__outq_len(&q), 2);
	expect_pop(&q, "s2");
	/* s2 left the queue: the next state frame is appended again */
	assert_int_equal(rv__outq_push(&q, s3, 64), 0);
	expect_pop(&q, "c1");
	expect_pop(&q, "s3");
	assert_null(rv__outq_pop(&q));
	rv_frame_unref(s1);
	rv_frame_unref(s2);
	rv_frame_unref(s3);
	rv_frame_unref(c1);
	rv__outq_free(&q);
}

static void events_overflow_at_the_ceiling(void **state)
{
	struct rv__outq q;
	struct rv_frame *e = frame("e", RV_FRAME_EVENT), *s = frame("s", RV_FRAME_STATE);

	rv__outq_init(&q);
	for (int i = 0; i < 16; i++)
		assert_int_equal(rv__outq_push(&q, e, 16), 0);
	assert_int_equal(rv__outq_push(&q, e, 16), RV_EFULL);
	assert_int_equal(rv__outq_len(&q), 16);
	assert_int_equal(e->refs, 17);
	/* a full queue holding no state frame cannot take one either */
	assert_int_equal(rv__outq_push(&q, s, 16), RV_EFULL);
	rv__outq_clear(&q);
	assert_int_equal(e->refs, 1);
	assert_int_equal(rv__outq_len(&q), 0);
	assert_int_equal(rv__outq_push(&q, e, 16), 0);
	rv__outq_free(&q);
	assert_int_equal(e->refs, 1);
	rv_frame_unref(e);
	rv_frame_unref(s);
}

static void state_replacement_works_in_a_full_queue(void **state)
{
	struct rv__outq q;
	struct rv_frame *e = frame("e", RV_FRAME_EVENT), *s1 = frame("s1", RV_FRAME_STATE),
			*s2 = frame("s2", RV_FRAME_STATE);

	rv__outq_init(&q);
	assert_int_equal(rv__outq_push(&q, s1, 8), 0);
	for (int i = 0; i < 7; i++)
		assert_int_equal(rv__outq_push(&q, e, 8), 0);
	assert_int_equal(rv__outq_push(&q, s2, 8), 1);
	expect_pop(&q, "s2");
	rv__outq_free(&q);
	rv_frame_unref(e);
	rv_frame_unref(s1);
	rv_frame_unref(s2);
}

/* A sync goes ahead of the presence diffs queued at the tail, never ahead
 * of anything else, and is still the one a later sync replaces. */
static void state_goes_ahead_of_presence(void **state)
{
	struct rv__outq q;
	struct rv_frame *e = frame("e", RV_FRAME_EVENT), *p1 = frame("p1", RV_FRAME_EVENT),
		*p2 = frame("p2", RV_FRAME_EVENT), *s1 = frame("s1", RV_FRAME_STATE),
		*s2 = frame("s2", RV_FRAME_STATE);

	(void)state;
	p1->msg_type = p2->msg_type = RV_MSG_PRESENCE;
	rv__outq_init(&q);
	for (int round = 0; round < 6; round++) {   /* across growth and wrap */
		assert_int_equal(rv__outq_push(&q, e, 64), 0);
		assert_int_equal(rv__outq_push(&q, p1, 64), 0);
		assert_int_equal(rv__outq_push(&q, p2, 64), 0);
		assert_int_equal(rv__outq_push(&q, s1, 64), 0);
		assert_int_equal(rv__outq_push(&q, s2, 64), 1);
		expect_pop(&q, "e");
		expect_pop(&q, "s2");
		expect_pop(&q, "p1");
		expect_pop(&q, "p2");
		assert_int_equal(rv__outq_len(&q), 0);
	}
	rv__outq_free(&q);
	rv_frame_unref(e);
	rv_frame_unref(p1);
	rv_frame_unref(p2);
	rv_frame_unref(s1);
	rv_frame_unref(s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(peek_shows_the_oldest_and_keeps_it),
		cmocka_unit_test(frame_frees_its_compressed_copy),
		cmocka_unit_test(state_frames_appended_when_not_latest_wins),
		cmocka_unit_test(fifo_order_across_growth_and_wrap),
		cmocka_unit_test(state_frames_are_latest_wins),
		cmocka_unit_test(events_overflow_at_the_ceiling),
		cmocka_unit_test(state_replacement_works_in_a_full_queue),
		cmocka_unit_test(state_goes_ahead_of_presence),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
