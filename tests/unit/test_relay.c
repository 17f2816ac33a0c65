/* tests/unit/test_relay.c - the cross-node envelope (lib/relay.c). Each
 * decode reads a heap copy of exactly the input's length, so ASan catches
 * any read past it. */
#include "unit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "relay.h"
#include "revenge/error.h"

static int decode(const char *buf, size_t len, struct rv__relay_msg *m, char **copy)
{
	*copy = malloc(len ? len : 1);
	memcpy(*copy, buf, len);
	return rv__relay_decode(*copy, len, m);
}

static int decode_str(const char *s)
{
	struct rv__relay_msg m;
	char *copy;
	int rc = decode(s, strlen(s), &m, &copy);

	free(copy);
	return rc;
}

static void sync_round_trip(void **state)
{
	const char *frame = "{\"type\":\"sync\",\"payload\":{\"position\":1.5}}";
	struct rv__relay_msg in = { .node = 0x0123456789abcdefULL, .kind = RV__RELAY_SYNC,
				    .state = { .position = 754.2, .playing = true, .speed = 1.25,
					       .server_time = 1764158400101.5 },
				    .frame = frame, .frame_len = strlen(frame) };
	struct rv__relay_msg out;
	char *buf, *copy;
	size_t len;

	assert_int_equal(rv__relay_encode(&in, &buf, &len), 0);
	assert_int_equal(decode(buf, len, &out, &copy), 0);
	assert_true(out.node == in.node);
	assert_int_equal(out.kind, RV__RELAY_SYNC);
	/* %.17g: the state comes back bit for bit */
	assert_true(out.state.position == 754.2);
	assert_true(out.state.playing);
	assert_true(out.state.speed == 1.25);
	assert_true(out.state.server_time == 1764158400101.5);
	assert_int_equal(out.frame_len, strlen(frame));
	assert_memory_equal(out.frame, frame, out.frame_len);
	free(buf);
	free(copy);
}

/* chat, reaction, media and drift (a report another node made for our
 * host) carry a client frame as is */
static void chat_and_reaction_round_trip(void **state)
{
	/* a frame may hold newlines and any UTF-8: only the first line is the head */
	const char *frame = "{\"type\":\"chat\",\"payload\":{\"text\":\"a\\nb é 🎉\"}}\n";
	enum rv__relay_kind kinds[] = { RV__RELAY_CHAT, RV__RELAY_REACTION, RV__RELAY_MEDIA,
					RV__RELAY_DRIFT };

	for (int i = 0; i < 4; i++) {
		struct rv__relay_msg in = { .node = 1, .kind = kinds[i], .frame = frame,
					    .frame_len = strlen(frame) }, out;
		char *buf, *copy;
		size_t len;

		assert_int_equal(rv__relay_encode(&in, &buf, &len), 0);
		assert_int_equal(decode(buf, len, &out, &copy), 0);
		assert_int_equal(out.kind, kinds[i]);
		assert_true(out.node == 1);
		assert_int_equal(out.frame_len, strlen(frame));
		assert_memory_equal(out.frame, frame, out.frame_len);
		free(buf);
		free(copy);
	}
}

static void encode_refuses_what_it_cannot_carry(void **state)
{
	struct rv__relay_msg m = { .kind = RV__RELAY_CHAT, .frame = "{}", .frame_len = 0 };
	char *buf;
	size_t len;
	char *big = malloc(RV__RELAY_FRAME_MAX + 1);

	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
	m.frame = NULL;
	m.frame_len = 2;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
	memset(big, '{', RV__RELAY_FRAME_MAX + 1);
	m.frame = big;
	m.frame_len = RV__RELAY_FRAME_MAX + 1;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
	m.frame_len = RV__RELAY_FRAME_MAX;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), 0);
	free(buf);
	m.kind = (enum rv__relay_kind)7;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
	free(big);
}

static void hostile_envelopes_are_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n{}",
		"RV1 0123456789abcdef chat",                       /* no newline */
		"RV1 0123456789abcdef chat\n",                     /* no frame */
		"RV2 0123456789abcdef chat\n{}",
		"rv1 0123456789abcdef chat\n{}",
		"RV1 0123456789abcde chat\n{}",                    /* 15 hex */
		"RV1 0123456789abcdef0 chat\n{}",                  /* 17 hex */
		"RV1 0123456789ABCDEF chat\n{}",                   /* upper case */
		"RV1 -123456789abcdef chat\n{}",
		"RV1 0123456789abcdef\n{}",
		"RV1 0123456789abcdef talk\n{}",
		"RV1 0123456789abcdef chat extra\n{}",
		"RV1 0123456789abcdef drift extra\n{}",
		"RV1 0123456789abcdef drift\n",
		"RV1 0123456789abcdef drift\n[]",
		"RV1 0123456789abcdef chat \n{}",
		"RV1  0123456789abcdef chat\n{}",
		"RV1 0123456789abcdef chat\nnot json",
		"RV1 0123456789abcdef chat\n[1]",
		"RV1 0123456789abcdef chat\n{\xff}",               /* not UTF-8 */
		"RV1 0123456789abcdef chat\n{\xed\xa0\x80}",       /* a surrogate */
		"RV1 0123456789abcdef sync\n{}",
		"RV1 0123456789abcdef sync 1 1 1\n{}",
		"RV1 0123456789abcdef sync 1 1 1 1 1\n{}",
		"RV1 0123456789abcdef sync -1 1 1 1\n{}",
		"RV1 0123456789abcdef sync nan 1 1 1\n{}",
		"RV1 0123456789abcdef sync inf 1 1 1\n{}",
		"RV1 0123456789abcdef sync 1e999 1 1 1\n{}",
		"RV1 0123456789abcdef sync 1 2 1 1\n{}",
		"RV1 0123456789abcdef sync 1 0.5 1 1\n{}",
		"RV1 0123456789abcdef sync 1 1 0.1 1\n{}",
		"RV1 0123456789abcdef sync 1 1 5 1\n{}",
		"RV1 0123456789abcdef sync 1 1 1 nan\n{}",
		"RV1 0123456789abcdef sync 1 1 1 1x\n{}",
		"RV1 0123456789abcdef sync 0x10 1 1 1x\n{}",
		"RV1 0123456789abcdef sync  1 1 1\n{}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (decode_str(bad[i]) != RV_EINVAL)
			fail_msg("accepted: \"%s\"", bad[i]);
	/* the good neighbours of those, so the refusals are for the reason meant */
	assert_int_equal(decode_str("RV1 0123456789abcdef chat\n{}"), 0);
	assert_int_equal(decode_str("RV1 0123456789abcdef sync 1 1 1 1\n{}"), 0);
	assert_int_equal(decode_str("RV1 0123456789abcdef sync 0 0 0.25 -5\n{}"), 0);
	assert_int_equal(decode_str("RV1 0123456789abcdef sync 1 1 4 1\n{}"), 0);
}

static void a_nul_in_the_head_or_a_long_head(void **state)
{
	char buf[400];
	struct rv__relay_msg m;
	char *copy;

	memcpy(buf, "RV1 0123456789abcdef ch\0t\n{}", 28);
	assert_int_equal(decode(buf, 28, &m, &copy), RV_EINVAL);
	free(copy);
	/* a head longer than any encode makes: no newline within the bound */
	memset(buf, ' ', sizeof(buf));
	memcpy(buf, "RV1 0123456789abcdef chat", 25);
	buf[398] = '\n';
	buf[399] = '{';
	assert_int_equal(decode(buf, sizeof(buf), &m, &copy), RV_EINVAL);
	free(copy);
	/* a frame just over the bound */
	{
		size_t n = 26 + RV__RELAY_FRAME_MAX + 1;
		char *big = malloc(n);

		memcpy(big, "RV1 0123456789abcdef chat\n", 26);
		memset(big + 26, '{', RV__RELAY_FRAME_MAX + 1);
		assert_int_equal(decode(big, n, &m, &copy), RV_EINVAL);
		free(copy);
		assert_int_equal(decode(big, n - 1, &m, &copy), 0);
		free(copy);
		free(big);
	}
}

/* Every prefix and every single-byte change of a valid envelope decodes
 * or is refused, never read past, and what decodes is sane. */
static void mutations(void **state)
{
	const char *frame = "{\"type\":\"sync\"}";
	struct rv__relay_msg in = { .node = 42, .kind = RV__RELAY_SYNC,
				    .state = { .position = 12.5, .playing = false, .speed = 2,
					       .server_time = 1e12 },
				    .frame = frame, .frame_len = strlen(frame) }, out;
	char *buf, *copy;
	size_t len;
	uint64_t rng = 7;

	assert_int_equal(rv__relay_encode(&in, &buf, &len), 0);
	for (size_t n = 0; n <= len; n++) {
		decode(buf, n, &out, &copy);
		free(copy);
	}
	for (int round = 0; round < 20000; round++) {
		char *mut = malloc(len);
		size_t at;

		memcpy(mut, buf, len);
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		at = rng % len;
		mut[at] = (char)(rng >> 32);
		if (decode(mut, len, &out, &copy) == 0 && out.kind == RV__RELAY_SYNC) {
			assert_true(isfinite(out.state.position) && out.state.position >= 0);
			assert_true(out.state.speed >= 0.25 && out.state.speed <= 4);
			assert_true(isfinite(out.state.server_time));
		}
		free(copy);
		free(mut);
	}
	free(buf);
}

static int member(const char *v, struct rv__relay_member *m)
{
	size_t len = strlen(v);
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, v, len);
	rc = rv__relay_member_decode(copy, len, m);
	free(copy);
	return rc;
}

static void member_entries(void **state)
{
	struct rv__relay_member m;

	(void)state;
	assert_int_equal(member("00000000deadbeef 7 1 ann", &m), 0);
	assert_true(m.node == 0xdeadbeefULL && m.seq == 7 && m.may_host);
	assert_string_equal(m.name, "ann");
	assert_int_equal(member("ffffffffffffffff 18446744073709551 0 guest 3 é", &m), 0);
	assert_false(m.may_host);
	assert_string_equal(m.name, "guest 3 é");
	assert_true(rv__relay_member_id_ok("m1-3fa2b9c1", 11));
	assert_false(rv__relay_member_id_ok("", 0));
	assert_false(rv__relay_member_id_ok("m1 x", 4));
	assert_false(rv__relay_member_id_ok("m\"", 2));
	assert_false(rv__relay_member_id_ok("abcdefghijabcdefghijabcdefghijabc", 33));
}

static void member_entries_hostile(void **state)
{
	struct rv__relay_member m;
	static const char *const bad[] = {
		"", "00000000deadbeef", "00000000deadbeef 7 1", "00000000deadbeef 7 1 ",
		"00000000DEADBEEF 7 1 ann", "0000000deadbeef 7 1 ann", "00000000deadbeef  7 1 ann",
		"00000000deadbeef 07 1 ann", "00000000deadbeef x 1 ann", "00000000deadbeef 7 2 ann",
		"00000000deadbeef 7 11 ann", "00000000deadbeef 12345678901234567890 1 ann",
		"00000000deadbeef 7 1 \x01", "00000000deadbeef 7 1    ",
		"00000000deadbeef 7 1 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(member(bad[i], &m), RV_EINVAL);
	/* a NUL inside */
	assert_int_equal(rv__relay_member_decode("00000000deadbeef 7 1 a\0b", 24, &m), RV_EINVAL);
}

/* decode of a heap copy of exactly s's bytes (ASan sees any over-read) */
static int progress_line(const char *s, size_t len, uint64_t *node, struct rv_progress_rec *r)
{
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, s, len);
	rc = rv__relay_progress_decode(copy, len, node, r);
	free(copy);
	return rc;
}

static void progress_round_trip(void **state)
{
	struct rv_progress_rec in = { .owner = "u1", .session_id = "s", .media_id = "film-1",
				      .position = 754.123456789, .has_duration = true,
				      .duration = 5400.5, .playing = true,
				      .server_time = 1764158400101.25 }, out;
	char buf[RV__RELAY_PROGRESS_MAX];
	uint64_t node = 0;
	int n;

	(void)state;
	n = rv__relay_progress_encode(0x0123456789abcdefULL, &in, buf);
	assert_true(n > 0 && n < RV__RELAY_PROGRESS_MAX);
	memset(&out, 0, sizeof(out));
	assert_int_equal(progress_line(buf, (size_t)n, &node, &out), 0);
	assert_true(node == 0x0123456789abcdefULL);
	assert_string_equal(out.media_id, "film-1");
	assert_true(out.position == in.position && out.duration == in.duration);
	assert_true(out.server_time == in.server_time && out.playing && out.has_duration);
	assert_string_equal(out.owner, "");     /* the channel's, not the line's */
	/* no duration, paused */
	in.has_duration = false;
	in.playing = false;
	n = rv__relay_progress_encode(1, &in, buf);
	assert_true(n > 0);
	assert_int_equal(progress_line(buf, (size_t)n, &node, &out), 0);
	assert_false(out.has_duration);
	assert_false(out.playing);
	/* what no client could have sent is not encoded */
	in.position = NAN;
	assert_int_equal(rv__relay_progress_encode(1, &in, buf), RV_EINVAL);
	in.position = 1;
	snprintf(in.media_id, sizeof(in.media_id), "a b");
	assert_int_equal(rv__relay_progress_encode(1, &in, buf), RV_EINVAL);
}

static void progress_lines_hostile(void **state)
{
	struct rv_progress_rec r;
	uint64_t node;
	static const char *const bad[] = {
		"", "RP1", "RP2 00000000deadbeef 1 0 1 - m", "RP1 00000000DEADBEEF 1 0 1 - m",
		"RP1 00000000deadbeef 1 0 1 - m ", "RP1 00000000deadbeef 1 0 1 -",
		"RP1 00000000deadbeef 1 0 1 - m x", "RP1 00000000deadbeef  1 0 1 - m",
		"RP1 00000000deadbeef 1 2 1 - m", "RP1 00000000deadbeef 1 0 -1 - m",
		"RP1 00000000deadbeef 1 0 1 -5 m", "RP1 00000000deadbeef 0 0 1 - m",
		"RP1 00000000deadbeef nan 0 1 - m", "RP1 00000000deadbeef 1 0 inf - m",
		"RP1 00000000deadbeef 1 0 1 - m\"x", "RP1 00000000deadbeef 1 0 1 - m/x",
		"RP1 00000000deadbeef 1 0 1x - m",
		"RP1 00000000deadbeef 1 0 1 - aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(progress_line(bad[i], strlen(bad[i]), &node, &r), RV_EINVAL);
	assert_int_equal(progress_line("RP1 00000000deadbeef 1 0 1 - m\0", 31, &node, &r),
			 RV_EINVAL);
	/* a line too long for the buffer */
	{
		char big[400];

		memset(big, '1', sizeof(big));
		memcpy(big, "RP1 ", 4);
		assert_int_equal(progress_line(big, sizeof(big), &node, &r), RV_EINVAL);
	}
	assert_int_equal(progress_line("RP1 00000000deadbeef 1.5 1 2 3 m-1_X", 36, &node, &r), 0);
	assert_true(node == 0xdeadbeef && r.server_time == 1.5 && r.position == 2 &&
		    r.duration == 3 && r.playing);
}

/* decode of a heap copy of exactly s's bytes (ASan sees any over-read) */
static int quality_line(const char *s, size_t len, uint64_t *node,
			char profile[RV_PROFILE_NAME_MAX + 1])
{
	char *copy = malloc(len ? len : 1);
	int rc;

	memcpy(copy, s, len);
	rc = rv__relay_quality_decode(copy, len, node, profile);
	free(copy);
	return rc;
}

static void quality_round_trip(void **state)
{
	char buf[RV__RELAY_QUALITY_MAX], p[RV_PROFILE_NAME_MAX + 1], longest[RV_PROFILE_NAME_MAX + 2];
	uint64_t node = 0;
	int n;

	(void)state;
	n = rv__relay_quality_encode(0x0123456789abcdefULL, "720p", buf);
	assert_int_equal(n, 25);
	assert_memory_equal(buf, "RQ1 0123456789abcdef 720p", 25);
	assert_int_equal(quality_line(buf, (size_t)n, &node, p), 0);
	assert_true(node == 0x0123456789abcdefULL);
	assert_string_equal(p, "720p");
	/* the longest name a ladder takes fits */
	memset(longest, 'x', RV_PROFILE_NAME_MAX);
	longest[RV_PROFILE_NAME_MAX] = 0;
	longest[0] = 'A';
	longest[1] = '.';
	longest[2] = '_';
	longest[3] = '-';
	n = rv__relay_quality_encode(UINT64_MAX, longest, buf);
	assert_true(n > 0 && n < RV__RELAY_QUALITY_MAX);
	assert_int_equal(quality_line(buf, (size_t)n, &node, p), 0);
	assert_true(node == UINT64_MAX);
	assert_string_equal(p, longest);
	/* one longer, empty, a space or a byte no ladder name has: not encoded */
	longest[RV_PROFILE_NAME_MAX] = 'x';
	longest[RV_PROFILE_NAME_MAX + 1] = 0;
	assert_int_equal(rv__relay_quality_encode(1, longest, buf), RV_EINVAL);
	assert_int_equal(rv__relay_quality_encode(1, "", buf), RV_EINVAL);
	assert_int_equal(rv__relay_quality_encode(1, "7 20p", buf), RV_EINVAL);
	assert_int_equal(rv__relay_quality_encode(1, "720p\n", buf), RV_EINVAL);
	assert_int_equal(rv__relay_quality_encode(1, "\xc3\xa9", buf), RV_EINVAL);
}

static void quality_lines_hostile(void **state)
{
	char p[RV_PROFILE_NAME_MAX + 1];
	uint64_t node;
	static const char *const bad[] = {
		"", "R", "RQ1", "RQ1 ", "RQ1 00000000deadbeef", "RQ1 00000000deadbeef ",
		"RQ2 00000000deadbeef 720p", "RP1 00000000deadbeef 720p",
		"rq1 00000000deadbeef 720p", "RQ1 00000000DEADBEEF 720p",
		"RQ1 0000000deadbeef 720p", "RQ1 000000000deadbeef 720p",
		"RQ1 00000000deadbeeg 720p", "RQ1  00000000deadbeef 720p",
		"RQ1 00000000deadbeef  720p", "RQ1 00000000deadbeef 720p ",
		"RQ1 00000000deadbeef 720p 1080p", "RQ1 00000000deadbeef 720p\n",
		"RQ1 00000000deadbeef 72\"0p", "RQ1 00000000deadbeef 720/p",
		"RQ1 00000000deadbeef \xc3\xa9", "RQ1\t00000000deadbeef 720p",
		"RQ1 00000000deadbeef aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"{\"type\":\"quality_changed\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(quality_line(bad[i], strlen(bad[i]), &node, p), RV_EINVAL);
	/* a NUL inside or at the end */
	assert_int_equal(quality_line("RQ1 00000000deadbeef 72\0p", 25, &node, p), RV_EINVAL);
	assert_int_equal(quality_line("RQ1 00000000deadbeef 720p\0", 26, &node, p), RV_EINVAL);
	/* every truncation of a good line is refused, down to nothing */
	{
		const char *good = "RQ1 00000000deadbeef 720p";

		for (size_t len = 0; len < 21; len++)
			assert_int_equal(quality_line(good, len, &node, p), RV_EINVAL);
		assert_int_equal(quality_line(good, 22, &node, p), 0);
		assert_string_equal(p, "7");
	}
	/* a line far too long */
	{
		char big[400];

		memset(big, 'a', sizeof(big));
		memcpy(big, "RQ1 00000000deadbeef ", 21);
		assert_int_equal(quality_line(big, sizeof(big), &node, p), RV_EINVAL);
	}
	assert_int_equal(quality_line("RQ1 00000000deadbeef 4K-hdr_1.5", 31, &node, p), 0);
	assert_true(node == 0xdeadbeef);
	assert_string_equal(p, "4K-hdr_1.5");
}

/* The worst media a host may choose (every byte of its url and title
 * escaped, the longest member id, a large stamp) fits the cap a node
 * keeps and takes media by. */
static void the_largest_media_fits_the_cap(void **state)
{
	char url[RV_MEDIA_URL_MAX + 1], title[RV_MEDIA_TITLE_MAX + 1];
	char from[RV_MEMBER_ID_MAX + 1];
	struct rv_frame *f;

	memcpy(url, "https://", 8);
	memset(url + 8, '"', RV_MEDIA_URL_MAX - 8);
	url[RV_MEDIA_URL_MAX] = 0;
	memset(title, '"', RV_MEDIA_TITLE_MAX);
	title[RV_MEDIA_TITLE_MAX] = 0;
	memset(from, 'm', RV_MEMBER_ID_MAX);
	from[RV_MEMBER_ID_MAX] = 0;
	assert_true(rv_proto_valid_media_url(url, strlen(url)));
	f = rv_proto_media_frame(url, title, from, 9007199254740.991, NULL);
	assert_non_null(f);
	assert_true(f->len > 2 * RV_MEDIA_URL_MAX);
	assert_true(f->len <= RV__RELAY_MEDIA_FRAME_MAX);
	rv_frame_unref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(member_entries),
		cmocka_unit_test(member_entries_hostile),
		cmocka_unit_test(sync_round_trip),
		cmocka_unit_test(chat_and_reaction_round_trip),
		cmocka_unit_test(encode_refuses_what_it_cannot_carry),
		cmocka_unit_test(hostile_envelopes_are_refused),
		cmocka_unit_test(a_nul_in_the_head_or_a_long_head),
		cmocka_unit_test(mutations),
		cmocka_unit_test(progress_round_trip),
		cmocka_unit_test(progress_lines_hostile),
		cmocka_unit_test(quality_round_trip),
		cmocka_unit_test(quality_lines_hostile),
		cmocka_unit_test(the_largest_media_fits_the_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
