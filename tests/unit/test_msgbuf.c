/* tests/unit/test_msgbuf.c - message assembly from fragments (lib/msgbuf.c). */
#include "unit.h"

#include <stdlib.h>

#include "msgbuf.h"
#include "revenge/error.h"

static void whole_message_is_not_copied(void **state)
{
	struct rv__msgbuf b = { 0 };
	const char *in = "{\"type\":\"chat\"}", *msg;
	size_t n;

	assert_int_equal(rv__msgbuf_add(&b, in, strlen(in), true, true, 64, &msg, &n), 0);
	assert_ptr_equal(msg, in);
	assert_int_equal(n, strlen(in));
	assert_null(b.p);
	rv__msgbuf_done(&b);
	rv__msgbuf_free(&b);
}

static void fragments_are_joined(void **state)
{
	struct rv__msgbuf b = { 0 };
	const char *msg;
	size_t n;

	assert_int_equal(rv__msgbuf_add(&b, "abc", 3, true, false, 64, &msg, &n), 0);
	assert_null(msg);
	assert_int_equal(rv__msgbuf_add(&b, "def", 3, false, false, 64, &msg, &n), 0);
	assert_null(msg);
	assert_int_equal(rv__msgbuf_add(&b, "g", 1, false, true, 64, &msg, &n), 0);
	assert_int_equal(n, 7);
	assert_memory_equal(msg, "abcdefg", 7);
	rv__msgbuf_done(&b);
	/* the next message starts clean */
	assert_int_equal(rv__msgbuf_add(&b, "xy", 2, true, false, 64, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, "z", 1, false, true, 64, &msg, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(msg, "xyz", 3);
	rv__msgbuf_free(&b);
}

/* An empty piece may come as (NULL, 0), first, in the middle or last. */
static void empty_null_pieces(void **state)
{
	struct rv__msgbuf b = { 0 };
	const char *msg;
	size_t n;

	assert_int_equal(rv__msgbuf_add(&b, NULL, 0, true, false, 64, &msg, &n), 0);
	assert_null(msg);
	assert_int_equal(rv__msgbuf_add(&b, "ab", 2, false, false, 64, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, NULL, 0, false, false, 64, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, "c", 1, false, false, 64, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, NULL, 0, false, true, 64, &msg, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(msg, "abc", 3);
	rv__msgbuf_free(&b);
}

static void ceiling_counts_every_fragment(void **state)
{
	struct rv__msgbuf b = { 0 };
	char big[100];
	const char *msg;
	size_t n;

	memset(big, 'a', sizeof(big));
	assert_int_equal(rv__msgbuf_add(&b, big, 60, true, false, 100, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, big, 40, false, false, 100, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, big, 1, false, true, 100, &msg, &n), RV_ERANGE);
	assert_null(msg);
	assert_int_equal(b.len, 0);
	/* exactly at the ceiling is fine, in one piece or several */
	assert_int_equal(rv__msgbuf_add(&b, big, 100, true, true, 100, &msg, &n), 0);
	assert_int_equal(n, 100);
	assert_int_equal(rv__msgbuf_add(&b, big, 101, true, true, 100, &msg, &n), RV_ERANGE);
	/* a huge length cannot wrap the check */
	assert_int_equal(rv__msgbuf_add(&b, big, 50, true, false, 100, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, big, SIZE_MAX - 10, false, true, 100, &msg, &n),
			 RV_ERANGE);
	rv__msgbuf_free(&b);
}

static void large_buffers_are_given_back(void **state)
{
	struct rv__msgbuf b = { 0 };
	char *big = malloc(10000);
	const char *msg;
	size_t n;

	memset(big, 'q', 10000);
	assert_int_equal(rv__msgbuf_add(&b, big, 6000, true, false, 1 << 20, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, big, 4000, false, true, 1 << 20, &msg, &n), 0);
	assert_int_equal(n, 10000);
	assert_true(b.cap >= 10000);
	rv__msgbuf_done(&b);
	assert_null(b.p);
	assert_int_equal(b.cap, 0);
	/* a small one is kept for the next message */
	assert_int_equal(rv__msgbuf_add(&b, big, 10, true, false, 1 << 20, &msg, &n), 0);
	assert_int_equal(rv__msgbuf_add(&b, big, 10, false, true, 1 << 20, &msg, &n), 0);
	rv__msgbuf_done(&b);
	assert_non_null(b.p);
	rv__msgbuf_free(&b);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_message_is_not_copied),
		cmocka_unit_test(fragments_are_joined),
		cmocka_unit_test(empty_null_pieces),
		cmocka_unit_test(ceiling_counts_every_fragment),
		cmocka_unit_test(large_buffers_are_given_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
