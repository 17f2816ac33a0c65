/* tests/unit/test_wsframe.c - the client frame parser (lib/wsframe.c):
 * every RFC 6455 rule it enforces, input split at every byte, and the
 * message ceiling checked on the header. */
#include "unit.h"

#include <stdlib.h>

#include "wsframe.h"

static const uint8_t MASK[4] = { 0x37, 0xfa, 0x21, 0x3d };

/* One client frame into out: b0 as given, masked unless told not to, with
 * the length in its shortest form (or as 64-bit when long64). Returns its
 * size. */
static size_t frame(uint8_t *out, uint8_t b0, const void *payload, size_t len, bool masked,
		    bool long64)
{
	size_t n = 0;

	out[n++] = b0;
	if (len < 126 && !long64) {
		out[n++] = (uint8_t)len;
	} else if (len <= 0xffff && !long64) {
		out[n++] = 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	if (masked) {
		out[1] |= 0x80;
		memcpy(out + n, MASK, 4);
		n += 4;
	}
	for (size_t i = 0; i < len; i++)
		out[n + i] = ((const uint8_t *)payload)[i] ^ (masked ? MASK[i & 3] : 0);
	return n + len;
}

static size_t mframe(uint8_t *out, uint8_t b0, const char *text)
{
	return frame(out, b0, text, strlen(text), true, false);
}

/* Run the parser over buf in pieces of at most step bytes and collect
 * what it says: DATA chunks are joined into msg (of the last message), the
 * last non-DATA event is returned and the number of events in *count. */
struct seen {
	struct rv__wsframe_event last;
	char msg[70000];
	size_t msg_len;
	unsigned messages, pings, pongs, events;
	bool compressed;
	uint8_t ctl[126];
};

static void run(struct rv__wsframe *p, uint8_t *buf, size_t len, size_t step, struct seen *s)
{
	size_t off = 0;

	memset(s, 0, sizeof(*s));
	while (off < len) {
		size_t n = len - off < step ? len - off : step, used = 0;

		while (used < n) {
			struct rv__wsframe_event ev;
			size_t u = rv__wsframe_parse(p, buf + off + used, n - used, &ev);

			assert_true(u <= n - used);
			used += u;
			if (ev.kind == RV__WSF_NONE) {
				assert_int_equal(used, n);
				break;
			}
			s->events++;
			if (ev.kind == RV__WSF_DATA) {
				if (ev.first)
					s->msg_len = 0;
				assert_true(s->msg_len + ev.len <= sizeof(s->msg));
				if (ev.len)
					memcpy(s->msg + s->msg_len, ev.data, ev.len);
				s->msg_len += ev.len;
				s->compressed = ev.compressed;
				if (ev.final)
					s->messages++;
				continue;
			}
			if (ev.kind == RV__WSF_PING)
				s->pings++;
			if (ev.kind == RV__WSF_PONG)
				s->pongs++;
			memcpy(s->ctl, ev.data ? ev.data : (const uint8_t *)"", ev.len);
			s->last = ev;
		}
		off += n;
	}
}

static void expect_error(uint8_t *buf, size_t len, bool deflate, uint16_t code)
{
	for (size_t step = 1; step <= len; step++) {
		struct rv__wsframe p;
		struct seen s;
		uint8_t *copy = malloc(len);

		memcpy(copy, buf, len);
		rv__wsframe_init(&p, 1000, deflate);
		run(&p, copy, len, step, &s);
		free(copy);
		if (s.last.kind != RV__WSF_ERROR || s.last.code != code)
			fail_msg("step %zu: event %d code %u, expected error %u", step,
				 s.last.kind, s.last.code, code);
		assert_non_null(s.last.why);
	}
}

static void text_frame_at_every_split(void **state)
{
	uint8_t buf[256], copy[256];
	size_t n = mframe(buf, 0x81, "{\"type\":\"chat\"}");

	for (size_t step = 1; step <= n; step++) {
		struct rv__wsframe p;
		struct seen s;

		memcpy(copy, buf, n);
		rv__wsframe_init(&p, 1000, false);
		run(&p, copy, n, step, &s);
		assert_int_equal(s.messages, 1);
		assert_int_equal(s.msg_len, 15);
		assert_memory_equal(s.msg, "{\"type\":\"chat\"}", 15);
	}
}

static void lengths_16_and_64_bit(void **state)
{
	static uint8_t buf[70100];
	static char text[66000];
	struct rv__wsframe p;
	static struct seen s;
	size_t n;

	memset(text, 'a', sizeof(text));
	n = frame(buf, 0x81, text, 300, true, false);
	rv__wsframe_init(&p, 100000, false);
	run(&p, buf, n, 7, &s);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.msg_len, 300);
	n = frame(buf, 0x81, text, sizeof(text), true, false);
	assert_int_equal(buf[1] & 0x7f, 127);
	run(&p, buf, n, 4096, &s);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.msg_len, sizeof(text));
	assert_memory_equal(s.msg, text, sizeof(text));
	/* a 64-bit length for a short payload is accepted */
	n = frame(buf, 0x81, text, 5, true, true);
	run(&p, buf, n, 3, &s);
	assert_int_equal(s.msg_len, 5);
}

static void fragments_with_control_frames_between(void **state)
{
	uint8_t buf[512];
	size_t n = 0;
	struct rv__wsframe p;
	struct seen s;

	n += mframe(buf + n, 0x01, "hel");
	n += mframe(buf + n, 0x89, "ping!");
	n += mframe(buf + n, 0x00, "");
	n += mframe(buf + n, 0x8a, "pong");
	n += mframe(buf + n, 0x80, "lo");
	rv__wsframe_init(&p, 1000, false);
	run(&p, buf, n, 1, &s);
	assert_int_equal(s.messages, 1);
	assert_int_equal(s.msg_len, 5);
	assert_memory_equal(s.msg, "hello", 5);
	assert_int_equal(s.pings, 1);
	assert_int_equal(s.pongs, 1);
}

static void empty_messages_are_passed_on(void **state)
{
	uint8_t buf[64];
	size_t n = 0;
	struct rv__wsframe p;
	struct seen s;

	n += mframe(buf + n, 0x81, "");
	n += mframe(buf + n, 0x01, "");
	n += mframe(buf + n, 0x80, "");
	rv__wsframe_init(&p, 1000, false);
	run(&p, buf, n, 2, &s);
	assert_int_equal(s.messages, 2);
	assert_int_equal(s.msg_len, 0);
}

static void several_pings_each_answered(void **state)
{
	uint8_t buf[256];
	size_t n = 0;
	struct rv__wsframe p;
	struct seen s;

	for (int i = 0; i < 5; i++)
		n += mframe(buf + n, 0x89, "p");
	rv__wsframe_init(&p, 1000, false);
	run(&p, buf, n, n, &s);
	assert_int_equal(s.pings, 5);
}

static void unmasked_frame_fails(void **state)
{
	uint8_t buf[64];
	size_t n = frame(buf, 0x81, "hi", 2, false, false);

	expect_error(buf, n, false, 1002);
	n = frame(buf, 0x89, "hi", 2, false, false);
	expect_error(buf, n, false, 1002);
}

static void reserved_bits_fail(void **state)
{
	uint8_t buf[64];

	for (uint8_t rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
		size_t n = mframe(buf, 0x81 | rsv, "x");

		expect_error(buf, n, false, 1002);
	}
	/* with deflate: RSV2, RSV3 still fail; RSV1 on a continuation or a
	 * control frame too */
	size_t n = mframe(buf, 0x81 | 0x20, "x");

	expect_error(buf, n, true, 1002);
	n = mframe(buf, 0x89 | 0x40, "x");
	expect_error(buf, n, true, 1002);
	n = mframe(buf, 0x01 | 0x40, "x");
	n += mframe(buf + n, 0x80 | 0x40, "y");
	expect_error(buf, n, true, 1002);
}

static void rsv1_marks_a_compressed_message(void **state)
{
	uint8_t buf[64];
	size_t n = mframe(buf, 0x01 | 0x40, "ab");
	struct rv__wsframe p;
	struct seen s;

	n += mframe(buf + n, 0x80, "cd");
	rv__wsframe_init(&p, 1000, true);
	run(&p, buf, n, 3, &s);
	assert_int_equal(s.messages, 1);
	assert_true(s.compressed);
	assert_memory_equal(s.msg, "abcd", 4);
}

static void reserved_opcodes_fail(void **state)
{
	static const uint8_t ops[] = { 3, 4, 5, 6, 7, 11, 12, 13, 14, 15 };
	uint8_t buf[64];

	for (size_t i = 0; i < sizeof(ops); i++) {
		size_t n = mframe(buf, 0x80 | ops[i], "x");

		expect_error(buf, n, false, 1002);
	}
}

static void bad_control_frames_fail(void **state)
{
	uint8_t buf[300];
	char big[126];
	size_t n;

	memset(big, 'x', sizeof(big));
	n = mframe(buf, 0x09, "x");          /* fragmented ping */
	expect_error(buf, n, false, 1002);
	n = frame(buf, 0x89, big, 126, true, false);
	expect_error(buf, n, false, 1002);
	n = frame(buf, 0x88, big, 126, true, false);
	expect_error(buf, n, false, 1002);
}

static void continuation_rules(void **state)
{
	uint8_t buf[64];
	size_t n = mframe(buf, 0x80, "orphan");

	expect_error(buf, n, false, 1002);
	n = mframe(buf, 0x01, "a");
	n += mframe(buf + n, 0x81, "b");
	expect_error(buf, n, false, 1002);
	n = mframe(buf, 0x01, "a");
	n += mframe(buf + n, 0x82, "b");
	expect_error(buf, n, false, 1002);
}

static void close_frames(void **state)
{
	static const unsigned bad[] = { 0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000,
					65535 };
	uint8_t buf[64], pl[8];
	size_t n;
	struct rv__wsframe p;
	struct seen s;

	n = mframe(buf, 0x88, "");
	rv__wsframe_init(&p, 1000, false);
	run(&p, buf, n, 1, &s);
	assert_int_equal(s.last.kind, RV__WSF_CLOSE);
	assert_int_equal(s.last.code, 1005);

	n = mframe(buf, 0x88, "\x03\xe8" "bye");
	n += mframe(buf + n, 0x81, "ignored after close");
	rv__wsframe_init(&p, 1000, false);
	run(&p, buf, n, 2, &s);
	assert_int_equal(s.last.kind, RV__WSF_CLOSE);
	assert_int_equal(s.last.code, 1000);
	assert_int_equal(s.last.len, 3);
	assert_int_equal(s.messages, 0);

	n = mframe(buf, 0x88, "\x03");
	expect_error(buf, n, false, 1002);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		pl[0] = (uint8_t)(bad[i] >> 8);
		pl[1] = (uint8_t)bad[i];
		n = frame(buf, 0x88, pl, 2, true, false);
		expect_error(buf, n, false, 1002);
	}
	for (unsigned code = 3000; code <= 4999; code += 999) {
		pl[0] = (uint8_t)(code >> 8);
		pl[1] = (uint8_t)code;
		n = frame(buf, 0x88, pl, 2, true, false);
		rv__wsframe_init(&p, 1000, false);
		run(&p, buf, n, n, &s);
		assert_int_equal(s.last.kind, RV__WSF_CLOSE);
		assert_int_equal(s.last.code, code);
	}
	n = mframe(buf, 0x88, "\x03\xe8\xc3\x28");
	expect_error(buf, n, false, 1007);
}

static void too_large_refused_on_the_header(void **state)
{
	uint8_t buf[64];
	struct rv__wsframe p;
	struct rv__wsframe_event ev;
	size_t n;

	/* 100 MB announced, no payload: refused as soon as the header is in */
	buf[0] = 0x81;
	buf[1] = 0x80 | 127;
	memset(buf + 2, 0, 8);
	buf[6] = 0x06;                          /* 100663296 bytes */
	memcpy(buf + 10, MASK, 4);
	rv__wsframe_init(&p, 65536, false);
	n = rv__wsframe_parse(&p, buf, 14, &ev);
	assert_int_equal(n, 14);
	assert_int_equal(ev.kind, RV__WSF_ERROR);
	assert_int_equal(ev.code, 1009);
	/* dead afterwards: everything is swallowed */
	assert_int_equal(rv__wsframe_parse(&p, buf, 14, &ev), 14);
	assert_int_equal(ev.kind, RV__WSF_NONE);

	/* the ceiling counts every fragment of a message */
	char part[40];

	memset(part, 'x', sizeof(part));
	n = frame(buf, 0x01, part, 30, true, false);
	rv__wsframe_init(&p, 50, false);
	assert_int_equal(rv__wsframe_parse(&p, buf, n, &ev), n);
	assert_int_equal(ev.kind, RV__WSF_DATA);
	n = frame(buf, 0x80, part, 21, true, false);
	rv__wsframe_parse(&p, buf, n, &ev);
	assert_int_equal(ev.kind, RV__WSF_ERROR);
	assert_int_equal(ev.code, 1009);

	/* exactly the ceiling is fine */
	n = frame(buf, 0x81, part, 40, true, false);
	rv__wsframe_init(&p, 40, false);
	rv__wsframe_parse(&p, buf, n, &ev);
	assert_int_equal(ev.kind, RV__WSF_DATA);
	assert_true(ev.final);
}

/* Every frame header counts, empty continuations and pings included (the
 * frame budget sees what no event shows), and idle says when the stream
 * sits between whole messages. */
static void frames_counted_and_idle(void **state)
{
	static uint8_t buf[256];
	struct rv__wsframe p;
	struct rv__wsframe_event ev;
	size_t n = 0, used;

	rv__wsframe_init(&p, 1024, false);
	assert_true(rv__wsframe_idle(&p));
	n += mframe(buf + n, 0x01, "ab");          /* text, not final */
	n += mframe(buf + n, 0x00, "");            /* empty continuation */
	n += mframe(buf + n, 0x00, "");
	n += mframe(buf + n, 0x89, "p");           /* ping between fragments */
	used = 0;
	while (used < n)
		used += rv__wsframe_parse(&p, buf + used, n - used, &ev);
	assert_int_equal(p.frames, 4);
	assert_false(rv__wsframe_idle(&p));        /* a message is open */
	n = mframe(buf, 0x80, "c");
	used = rv__wsframe_parse(&p, buf, n, &ev);
	assert_int_equal(ev.kind, RV__WSF_DATA);
	assert_true(ev.final);
	assert_true(rv__wsframe_idle(&p));
	assert_int_equal(p.frames, 5);
	/* half a header, then half a payload: not idle */
	n = mframe(buf, 0x81, "hello");
	rv__wsframe_parse(&p, buf, 1, &ev);
	assert_false(rv__wsframe_idle(&p));
	rv__wsframe_parse(&p, buf + 1, 7, &ev);
	assert_false(rv__wsframe_idle(&p));
	rv__wsframe_parse(&p, buf + 8, n - 8, &ev);
	assert_true(ev.final);
	assert_true(rv__wsframe_idle(&p));
	/* a half control frame too */
	n = mframe(buf, 0x89, "xyz");
	rv__wsframe_parse(&p, buf, n - 1, &ev);
	assert_false(rv__wsframe_idle(&p));
	rv__wsframe_parse(&p, buf + n - 1, 1, &ev);
	assert_int_equal(ev.kind, RV__WSF_PING);
	assert_true(rv__wsframe_idle(&p));
	/* a dead parser holds nothing */
	buf[0] = 0x81;
	buf[1] = 0x01;                              /* unmasked */
	rv__wsframe_parse(&p, buf, 3, &ev);
	assert_int_equal(ev.kind, RV__WSF_ERROR);
	assert_true(rv__wsframe_idle(&p));
}

static void top_bit_of_64_bit_length_fails(void **state)
{
	uint8_t buf[14] = { 0x81, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4 };

	expect_error(buf, sizeof(buf), false, 1002);
}

static void binary_is_passed_on_as_binary(void **state)
{
	uint8_t buf[64];
	size_t n = mframe(buf, 0x82, "\x01\x02");
	struct rv__wsframe p;
	struct rv__wsframe_event ev;

	rv__wsframe_init(&p, 100, false);
	rv__wsframe_parse(&p, buf, n, &ev);
	assert_int_equal(ev.kind, RV__WSF_DATA);
	assert_int_equal(ev.opcode, 2);
}

static void close_codes(void **state)
{
	assert_true(rv__wsframe_close_code_valid(1000));
	assert_true(rv__wsframe_close_code_valid(1014));
	assert_true(rv__wsframe_close_code_valid(4999));
	assert_false(rv__wsframe_close_code_valid(1005));
	assert_false(rv__wsframe_close_code_valid(1015));
	assert_false(rv__wsframe_close_code_valid(5000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_frame_at_every_split),
		cmocka_unit_test(lengths_16_and_64_bit),
		cmocka_unit_test(fragments_with_control_frames_between),
		cmocka_unit_test(empty_messages_are_passed_on),
		cmocka_unit_test(several_pings_each_answered),
		cmocka_unit_test(unmasked_frame_fails),
		cmocka_unit_test(reserved_bits_fail),
		cmocka_unit_test(rsv1_marks_a_compressed_message),
		cmocka_unit_test(reserved_opcodes_fail),
		cmocka_unit_test(bad_control_frames_fail),
		cmocka_unit_test(continuation_rules),
		cmocka_unit_test(close_frames),
		cmocka_unit_test(too_large_refused_on_the_header),
		cmocka_unit_test(top_bit_of_64_bit_length_fails),
		cmocka_unit_test(frames_counted_and_idle),
		cmocka_unit_test(binary_is_passed_on_as_binary),
		cmocka_unit_test(close_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
