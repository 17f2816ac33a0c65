/* tests/unit/test_party_save.c - a party's stored document and resume
 * tokens (lib/party_save.c), and what party.c does with them: a restored
 * state and history, a joiner's resume_token in its welcome, a host who
 * comes back for the role. No server, no clock: times are arguments.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "revenge/error.h"
#include "revenge/party.h"

#include "party_save.h"

static const char HASH[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void round_trip(void **state)
{
	char *h0 = "{\"type\":\"chat\",\"payload\":{\"text\":\"hi \\\"there\\\"\",\"name\":\"bob\"},"
		   "\"from\":\"m2\",\"ts\":1712345678901.125}";
	char *hist[] = { h0, "{\"type\":\"chat\"}" };
	size_t hlen[] = { strlen(h0), strlen(hist[1]) };
	struct rv__party_save_member mem[2] = {
		{ "m1", "alice", "", 0 },
		{ "m2", "b\xc3\xb6" "b", "", 1712345679000.5 },
	};
	struct rv__party_save s = { .state = { 42.5, false, 1.5, 1712345678000.25 },
				    .host = "m1", .claim = "m2", .claim_until = 99.5,
				    .history = hist, .history_len = hlen, .n_history = 2,
				    .members = mem, .n_members = 2 };
	struct rv__party_save d;
	char *doc;

	memcpy(mem[0].token_hash, HASH, sizeof(HASH));
	memcpy(mem[1].token_hash, HASH, sizeof(HASH));
	doc = rv__party_save_encode(&s);
	assert_non_null(doc);
	assert_int_equal(rv__party_save_decode(doc, &d), 0);
	assert_true(d.state.position == 42.5 && !d.state.playing && d.state.speed == 1.5 &&
		    d.state.server_time == 1712345678000.25);
	assert_string_equal(d.host, "m1");
	assert_string_equal(d.claim, "m2");
	assert_true(d.claim_until == 99.5);
	assert_int_equal(d.n_history, 2);
	/* the frames' bytes come back exactly as they were relayed */
	assert_int_equal(d.history_len[0], strlen(h0));
	assert_memory_equal(d.history[0], h0, strlen(h0));
	assert_int_equal(d.n_members, 2);
	assert_string_equal(d.members[1].name, "b\xc3\xb6" "b");
	assert_string_equal(d.members[1].token_hash, HASH);
	assert_true(d.members[0].until == 0 && d.members[1].until == 1712345679000.5);
	rv__party_save_clear(&d);
	free(doc);
}

/* The media comes back; a stored one the protocol would refuse does not
 * (the rest of the document still does). */
static void media(void **state)
{
	static const char *const good =
		"{\"v\":1,\"state\":{\"position\":1,\"playing\":false,\"speed\":1,"
		"\"server_time\":0},\"media\":{\"url\":\"https://example.org/a.webm\","
		"\"title\":\"A \\u00e9t\\u00e9\"}}";
	static const char *const bad[] = {
		"{\"url\":\"javascript:alert(1)\",\"title\":\"\"}",
		"{\"url\":\"//evil.example/x\",\"title\":\"\"}",
		"{\"url\":\"https://a.example/x\",\"title\":\"a\\u202eb\"}",
		"{\"url\":\"https://a.example/x\"}",
		"{\"url\":7,\"title\":\"\"}",
		"\"https://a.example/x\"",
	};
	struct rv__party_save s = { .state = { 3, true, 1, 5 } }, d;
	char *doc, buf[512];

	snprintf(s.media_url, sizeof(s.media_url), "/media/film.webm");
	snprintf(s.media_title, sizeof(s.media_title), "Film \"1\"");
	doc = rv__party_save_encode(&s);
	assert_non_null(doc);
	assert_int_equal(rv__party_save_decode(doc, &d), 0);
	assert_string_equal(d.media_url, "/media/film.webm");
	assert_string_equal(d.media_title, "Film \"1\"");
	rv__party_save_clear(&d);
	free(doc);
	/* none stored, none back */
	s.media_url[0] = s.media_title[0] = 0;
	doc = rv__party_save_encode(&s);
	assert_null(strstr(doc, "media"));
	assert_int_equal(rv__party_save_decode(doc, &d), 0);
	assert_string_equal(d.media_url, "");
	rv__party_save_clear(&d);
	free(doc);
	assert_int_equal(rv__party_save_decode(good, &d), 0);
	assert_string_equal(d.media_url, "https://example.org/a.webm");
	assert_string_equal(d.media_title, "A \xc3\xa9t\xc3\xa9");
	rv__party_save_clear(&d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(buf, sizeof(buf), "{\"v\":1,\"state\":{\"position\":1,\"playing\":false,"
			 "\"speed\":1,\"server_time\":0},\"host\":\"m1\",\"media\":%s}", bad[i]);
		assert_int_equal(rv__party_save_decode(buf, &d), 0);
		assert_string_equal(d.media_url, "");
		assert_string_equal(d.media_title, "");
		assert_string_equal(d.host, "m1");
		rv__party_save_clear(&d);
	}
}

static void hostile_documents(void **state)
{
	static const char *const bad[] = {
		"", "null", "[]", "{", "{\"v\":2,\"state\":{}}",
		"{\"v\":1}",
		"{\"v\":1,\"state\":{\"position\":-1,\"playing\":false,\"speed\":1,\"server_time\":0}}",
		"{\"v\":1,\"state\":{\"position\":1,\"playing\":false,\"speed\":9,\"server_time\":0}}",
		"{\"v\":1,\"state\":{\"position\":1,\"playing\":1,\"speed\":1,\"server_time\":0}}",
		"{\"v\":1,\"state\":{\"position\":1,\"playing\":false,\"speed\":1}}",
		"{\"v\":1,\"v\":1,\"state\":{\"position\":1,\"playing\":false,\"speed\":1,"
		"\"server_time\":0}}",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]",
	};
	struct rv__party_save d;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rv__party_save_decode(bad[i], &d), RV_EINVAL);
		assert_null(d.history);
		assert_null(d.members);
	}
	assert_int_equal(rv__party_save_decode(NULL, &d), RV_EINVAL);
	/* the state is good: bad members and entries are left out, the rest kept */
	assert_int_equal(rv__party_save_decode(
		"{\"v\":1,\"state\":{\"position\":1,\"playing\":true,\"speed\":1,\"server_time\":5},"
		"\"host\":\"0123456789012345678901234567890123456789\",\"claim\":{\"id\":\"m1\"},"
		"\"history\":[\"ok\",\"\",7,null,{}],"
		"\"members\":[{\"id\":\"m1\",\"name\":\"a\",\"token\":\"short\",\"until\":0},"
		"{\"id\":\"\",\"name\":\"a\",\"token\":\"" "0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef\",\"until\":0},"
		"{\"id\":\"m3\",\"name\":\"\\u202e\",\"token\":\"" "0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef\",\"until\":0},"
		"{\"id\":\"m4\",\"name\":\"dee\",\"token\":\"" "0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef\",\"until\":-5},"
		"{\"id\":\"m5\",\"name\":\"eve\",\"token\":\"" "0123456789abcdef0123456789abcdef"
		"0123456789abcdef0123456789abcdef\",\"until\":7}],\"media\":{\"later\":1}}", &d), 0);
	assert_string_equal(d.host, "");
	assert_string_equal(d.claim, "");
	assert_int_equal(d.n_history, 1);
	assert_memory_equal(d.history[0], "ok", 3);
	assert_int_equal(d.n_members, 1);
	assert_string_equal(d.members[0].id, "m5");
	rv__party_save_clear(&d);
	rv__party_save_clear(NULL);
}

static void resume_state_extrapolates_only_while_playing(void **state)
{
	struct rv_playback paused = { 42.5, false, 1.5, 1000 }, playing = { 10, true, 2, 1000 };
	struct rv_playback later = { 3, true, 1, 9000 }, r;

	r = rv__party_save_resume_state(&paused, 61000);
	assert_true(r.position == 42.5 && !r.playing && r.speed == 1.5 && r.server_time == 61000);
	/* a minute down at x2: two minutes further */
	r = rv__party_save_resume_state(&playing, 61000);
	assert_near(r.position, 130, 1e-9);
	assert_true(r.playing && r.speed == 2 && r.server_time == 61000);
	/* a start still scheduled is left as it is */
	r = rv__party_save_resume_state(&later, 5000);
	assert_true(r.position == 3 && r.server_time == 9000);
}

static void tokens(void **state)
{
	unsigned char b[16];
	char t[RV__RESUME_TOKEN_LEN + 1], h[RV__RESUME_HASH_LEN + 1];

	for (int i = 0; i < 16; i++)
		b[i] = (unsigned char)(i * 17);
	rv__resume_token(b, t);
	assert_string_equal(t, "00112233445566778899aabbccddeeff");
	assert_true(rv__resume_token_ok(t, strlen(t)));
	assert_false(rv__resume_token_ok(t, 31));
	assert_false(rv__resume_token_ok("00112233445566778899AABBCCDDEEFF", 32));
	assert_false(rv__resume_token_ok("00112233445566778899aabbccddeefg", 32));
	rv__resume_hash("abc", h);
	/* SHA-256("abc") */
	assert_string_equal(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* A welcome's payload of the first action of ob (to m). */
static json_t *welcome_of(struct rv_outbox *ob)
{
	struct rv_frame *f = ob->items[0].frame;
	json_t *j = json_loadb((const char *)rv_frame_data(f), f->len, 0, NULL);

	assert_non_null(j);
	return j;
}

static void party_restores_and_resumes(void **state)
{
	struct rv_party *p = rv_party_new("movie", NULL);
	struct rv_playback st = { 130, true, 2, 61000 };
	struct rv_frame *hist[2] = {
		rv_frame_from("{\"type\":\"chat\",\"n\":1}", 21, RV_FRAME_EVENT),
		rv_frame_from("{\"type\":\"chat\",\"n\":2}", 21, RV_FRAME_EVENT),
	};
	struct rv_outbox ob;
	struct rv_member *bob, *alice;
	struct rv_party_join j = { .member_id = "m2", .name = "bob", .may_host = true,
				   .resume_token = "00112233445566778899aabbccddeeff" };
	json_t *w;

	rv_outbox_init(&ob);
	assert_int_equal(rv_party_restore(p, &st, hist, 2), 0);
	rv_frame_unref(hist[0]);
	rv_frame_unref(hist[1]);
	assert_int_equal(rv_party_history_len(p), 2);
	assert_int_equal(rv_party_history_at(p, 1)->len, 21);
	assert_null(rv_party_history_at(p, 2));
	/* the first join keeps the restored stamp (it was made for now) */
	assert_int_equal(rv_party_join_ex(p, &j, 62000, &bob, &ob), 0);
	assert_true(rv_party_state(p)->server_time == 61000 && rv_party_state(p)->position == 130);
	w = welcome_of(&ob);
	assert_string_equal(json_string_value(json_object_get(json_object_get(w, "payload"),
							       "resume_token")), j.resume_token);
	assert_int_equal(json_array_size(json_object_get(json_object_get(w, "payload"), "history")),
			 2);
	json_decref(w);
	rv_outbox_clear(&ob);
	assert_ptr_equal(rv_party_host(p), bob);
	/* once started, no restore */
	assert_int_equal(rv_party_restore(p, &st, NULL, 0), RV_EINVAL);
	/* the host who comes back for the role takes it; bob hears so */
	j = (struct rv_party_join){ .member_id = "m1", .name = "alice", .may_host = true,
				    .reclaim_host = true };
	assert_int_equal(rv_party_join_ex(p, &j, 62001, &alice, &ob), 0);
	assert_ptr_equal(rv_party_host(p), alice);
	w = welcome_of(&ob);
	assert_string_equal(json_string_value(json_object_get(json_object_get(w, "payload"),
							       "role")), "host");
	/* no token given: none in the welcome (an old server's welcome) */
	assert_null(json_object_get(json_object_get(w, "payload"), "resume_token"));
	json_decref(w);
	assert_int_equal(ob.n, 3);      /* welcome, member_joined, host_changed */
	assert_int_equal(ob.items[2].frame->msg_type, RV_MSG_HOST_CHANGED);
	rv_outbox_clear(&ob);
	rv_party_free(p);
}

/* Redis's resume records (cluster mode): what a node writes reads back;
 * anything else someone put there (truncated, garbage, out of range) is
 * not a record, and nothing of it is taken. */
static void resume_records(void **state)
{
	struct rv__party_save_member m = { "m1-0a0b0c0d", "b\xc3\xb6" "b the 2nd", "", 1712345679000.75 },
				     out;
	char rec[RV__RESUME_REC_MAX], buf[RV__RESUME_REC_MAX + 64];
	uint64_t join = 7;
	bool host = false;
	size_t len = rv__resume_rec_encode(&m, 12, true, rec, sizeof(rec));
	static const char *const bad[] = {
		"", " ", "0", "0 ", "0 1", "0 1 ", "0 1 1", "0 1 1 ", "0 1 1 m1", "0 1 1 m1 ",
		"x 1 1 m1 n", "0 x 1 m1 n", "0 1 2 m1 n", "0 1 1 m@ n", "0 1 1 m\xc3\xa9 n",
		"-1 1 1 m1 n", "0 -1 1 m1 n", "1e3 1 1 m1 n", "0  1 1 m1 n", "0 1 1  m1 n",
		"0 1 1 m1 \x07", "0 1 1 m1 \xff", "0 1 1 m1    ",
		"1234567890123456789 1 1 m1 n", "0 1 1 m123456789012345678901234567890123456789 n",
	};

	assert_true(len > 0 && len < sizeof(rec));
	assert_string_equal(rec, "1712345679000 12 1 m1-0a0b0c0d b\xc3\xb6" "b the 2nd");
	memset(&out, 0, sizeof(out));
	assert_true(rv__resume_rec_decode(rec, len, HASH, &out, &join, &host));
	assert_string_equal(out.id, m.id);
	assert_string_equal(out.name, m.name);
	assert_string_equal(out.token_hash, HASH);
	assert_true(out.until == 1712345679000.0 && join == 12 && host);
	/* present (until 0), join not known, not host */
	m.until = 0;
	len = rv__resume_rec_encode(&m, 0, false, rec, sizeof(rec));
	assert_true(rv__resume_rec_decode(rec, len, HASH, &out, &join, &host));
	assert_true(out.until == 0 && join == 0 && !host);
	/* every prefix of a record is not one */
	for (size_t i = 0; i < len; i++) {
		if (i > strlen("0 0 0 m1-0a0b0c0d "))
			continue;       /* a shorter name is a name */
		join = 99;
		assert_false(rv__resume_rec_decode(rec, i, HASH, &out, &join, &host));
		assert_int_equal(join, 99);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		join = 99;
		assert_false(rv__resume_rec_decode(bad[i], strlen(bad[i]), HASH, &out, &join,
						   &host));
		assert_int_equal(join, 99);
	}
	/* a NUL inside, an oversized name, a bad hash, NULLs */
	assert_false(rv__resume_rec_decode("0 1 1 m1 a\0b", 12, HASH, &out, &join, &host));
	memset(buf, 'n', sizeof(buf));
	memcpy(buf, "0 1 1 m1 ", 9);
	assert_false(rv__resume_rec_decode(buf, sizeof(buf), HASH, &out, &join, &host));
	assert_false(rv__resume_rec_decode(buf, 9 + RV_NAME_MAX_BYTES + 1, HASH, &out, &join,
					   &host));
	assert_false(rv__resume_rec_decode("0 1 1 m1 n", 10, "abc", &out, &join, &host));
	assert_false(rv__resume_rec_decode(NULL, 0, HASH, &out, &join, &host));
	assert_false(rv__resume_rec_decode("0 1 1 m1 n", 10, NULL, &out, &join, &host));
	/* a time that is not one, or a buffer too small: nothing written */
	m.until = -1;
	assert_int_equal(rv__resume_rec_encode(&m, 1, false, rec, sizeof(rec)), 0);
	m.until = NAN;
	assert_int_equal(rv__resume_rec_encode(&m, 1, false, rec, sizeof(rec)), 0);
	m.until = 5;
	assert_int_equal(rv__resume_rec_encode(&m, 1, false, rec, 10), 0);
	assert_true(rv__resume_rec_encode(&m, UINT64_MAX, true, rec, sizeof(rec)) > 0);
	/* a join past 18 digits does not read back */
	assert_false(rv__resume_rec_decode(rec, strlen(rec), HASH, &out, &join, &host));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(media),
		cmocka_unit_test(hostile_documents),
		cmocka_unit_test(resume_state_extrapolates_only_while_playing),
		cmocka_unit_test(tokens),
		cmocka_unit_test(party_restores_and_resumes),
		cmocka_unit_test(resume_records),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
