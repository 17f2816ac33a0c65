/* tests/unit/test_proto.c - the revenge.v1 codec: decoder (lib/proto.c),
 * encoders (lib/proto_encode.c) and UTF-8/id/name validation (lib/utf8.c).
 *
 * Hostile input is decoded from buffers that end right before a PROT_NONE
 * page, so any read past the end crashes the test instead of passing.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "revenge/proto.h"

/* ------------------------------------------------------------------ helpers */

/* A buffer whose last byte sits right before an inaccessible page. */
struct guard {
	unsigned char *base;
	size_t span;            /* readable bytes, a whole number of pages */
	size_t page;
};

static void guard_init(struct guard *g, size_t max_len)
{
	long pg = sysconf(_SC_PAGESIZE);

	assert_true(pg > 0);
	g->page = (size_t)pg;
	g->span = (max_len + g->page - 1) / g->page * g->page;
	if (g->span == 0)
		g->span = g->page;
	g->base = mmap(NULL, g->span + g->page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->base != MAP_FAILED);
	assert_int_equal(mprotect(g->base + g->span, g->page, PROT_NONE), 0);
}

static void guard_free(struct guard *g)
{
	munmap(g->base, g->span + g->page);
	g->base = NULL;
}

/* Copy s[0..len) so that it ends exactly at the guard page. */
static const char *guard_put(struct guard *g, const void *s, size_t len)
{
	unsigned char *p;

	assert_true(len <= g->span);
	p = g->base + g->span - len;
	if (len)
		memcpy(p, s, len);
	return (const char *)p;
}

/* Decode len bytes placed against a guard page (fresh mapping per call). */
static int decode_guarded(const void *s, size_t len, struct rv_msg *m,
			  struct rv_proto_error *e)
{
	struct guard g;
	int rc;

	guard_init(&g, len);
	rc = rv_proto_decode(guard_put(&g, s, len), len, m, e);
	guard_free(&g);
	return rc;
}

/* printf into a new heap string. */
__attribute__((format(printf, 1, 2)))
static char *xfmt(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* unit repeated n times, as a new heap string. */
static char *rep(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = malloc(u * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* What every failed decode must look like, whatever the input. */
static void check_failure_shape(const struct rv_msg *m, const struct rv_proto_error *e)
{
	size_t ml = strnlen(e->message, sizeof(e->message));
	size_t rl = strnlen(e->ref, sizeof(e->ref));
	size_t il = strnlen(e->id, sizeof(e->id));

	assert_true(all_zero(m, sizeof(*m)));
	assert_true(e->code > RV_ERR_NONE && e->code < RV_ERR__COUNT);
	assert_true(ml > 0 && ml < sizeof(e->message));
	assert_true(rv_utf8_valid(e->message, ml));
	assert_true(rl < sizeof(e->ref));
	assert_true(rv_utf8_valid(e->ref, rl));
	if (e->has_id) {
		assert_true(il >= 1 && il <= RV_REQ_ID_MAX);
		assert_true(rv_utf8_valid(e->id, il));
	}
}

/* Decode json (len bytes, guarded) expecting success. */
static void ok_n(const char *json, size_t len, struct rv_msg *m)
{
	struct rv_proto_error e;

	memset(m, 0xa5, sizeof(*m));
	if (decode_guarded(json, len, m, &e) != 0)
		fail_msg("decode(%.*s) failed: %s: %s", (int)len, json,
			 rv_err_code_name(e.code), e.message);
	assert_non_null(m->tree);
}

static void ok(const char *json, struct rv_msg *m)
{
	ok_n(json, strlen(json), m);
}

/* Decode json (len bytes, guarded) expecting failure with code; when ref
 * is non-NULL the ref must equal it, when needle is non-NULL the message
 * must contain it. Returns the error for further checks. */
static struct rv_proto_error err_n(const char *json, size_t len,
				   enum rv_err_code code, const char *ref,
				   const char *needle)
{
	struct rv_proto_error e;
	struct rv_msg m;

	memset(&m, 0xa5, sizeof(m));
	memset(&e, 0xa5, sizeof(e));
	if (decode_guarded(json, len, &m, &e) != -1) {
		rv_msg_clear(&m);
		fail_msg("decode(%.*s) succeeded, expected %s", (int)len, json,
			 rv_err_code_name(code));
	}
	check_failure_shape(&m, &e);
	if (e.code != code)
		fail_msg("decode(%.*s): got %s (%s), expected %s", (int)len, json,
			 rv_err_code_name(e.code), e.message, rv_err_code_name(code));
	if (ref && strcmp(e.ref, ref) != 0)
		fail_msg("decode(%.*s): ref \"%s\", expected \"%s\"", (int)len, json,
			 e.ref, ref);
	if (needle && !strstr(e.message, needle))
		fail_msg("decode(%.*s): message \"%s\" lacks \"%s\"", (int)len, json,
			 e.message, needle);
	return e;
}

static struct rv_proto_error err(const char *json, enum rv_err_code code,
				 const char *ref, const char *needle)
{
	return err_n(json, strlen(json), code, ref, needle);
}

/* Parse a frame's JSON text with jansson (strictly), caller decrefs. */
static json_t *frame_json(struct rv_frame *f)
{
	json_error_t je;
	json_t *j;

	assert_non_null(f);
	assert_int_equal(f->refs, 1);
	j = json_loadb((const char *)rv_frame_data(f), f->len,
		       JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!j)
		fail_msg("frame %.*s does not parse: %s", (int)f->len,
			 (const char *)rv_frame_data(f), je.text);
	assert_true(json_is_object(j));
	return j;
}

static const char *jstr(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

static double jnum(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		fail_msg("\"%s\" is not a number", key);
	return json_number_value(v);
}

static const json_t *jpayload(const json_t *o)
{
	const json_t *p = json_object_get(o, "payload");

	assert_true(json_is_object(p));
	return p;
}

/* The frame text contains "key":<digits>.<exactly three digits> - server
 * time with microsecond precision. */
static void assert_us_time(struct rv_frame *f, const char *key)
{
	char *text = strndup((const char *)rv_frame_data(f), f->len);
	char *needle = xfmt("\"%s\":", key);
	const char *p = strstr(text, needle);
	size_t digits = 0;

	assert_non_null(p);
	p += strlen(needle);
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	assert_true(digits > 0);
	assert_int_equal(*p, '.');
	p++;
	digits = 0;
	while (*p >= '0' && *p <= '9')
		p++, digits++;
	assert_int_equal(digits, 3);
	assert_true(*p == ',' || *p == '}');
	free(needle);
	free(text);
}

/* ------------------------------------------------------------- names */

static void test_type_names(void **state)
{
	static const char *const wire[] = {
		"sync", "chat", "reaction", "time", "transfer_host", "progress",
		"quality_request", "bandwidth_report", "refresh", "buffering", "ready",
		"start", "status", "members", "media", "welcome", "member_joined",
		"member_left", "host_changed", "error", "ack", "quality_state",
		"quality_changed", "quality_suggestion", "party_state", "dropped",
		"drift", "presence",
	};

	assert_int_equal(sizeof(wire) / sizeof(wire[0]), RV_MSG__COUNT - 1);
	for (int t = RV_MSG_SYNC; t < RV_MSG__COUNT; t++) {
		const char *n = rv_msg_type_name((enum rv_msg_type)t);

		assert_string_equal(n, wire[t - 1]);
		assert_int_equal(rv_msg_type_from_name(n, strlen(n)), t);
	}
	assert_string_equal(rv_msg_type_name(RV_MSG_INVALID), "invalid");
	assert_string_equal(rv_msg_type_name(RV_MSG__COUNT), "invalid");
	assert_string_equal(rv_msg_type_name((enum rv_msg_type)-1), "invalid");
	assert_int_equal(rv_msg_type_from_name("invalid", 7), RV_MSG_INVALID);
	assert_int_equal(rv_msg_type_from_name("", 0), RV_MSG_INVALID);
	assert_int_equal(rv_msg_type_from_name(NULL, 0), RV_MSG_INVALID);
	assert_int_equal(rv_msg_type_from_name("SYNC", 4), RV_MSG_INVALID);
	assert_int_equal(rv_msg_type_from_name("syn", 3), RV_MSG_INVALID);
	/* len, not the NUL, bounds the name. */
	assert_int_equal(rv_msg_type_from_name("syncx", 4), RV_MSG_SYNC);
	assert_int_equal(rv_msg_type_from_name("sync", 3), RV_MSG_INVALID);
	assert_int_equal(rv_msg_type_from_name("sync\0", 5), RV_MSG_INVALID);
}

static void test_err_code_names(void **state)
{
	static const char *const wire[] = {
		"bad_json", "unknown_type", "bad_payload", "forbidden",
		"rate_limited", "too_large", "not_found", "unauthorized",
		"unknown_profile", "store_unavailable",
	};

	assert_int_equal(sizeof(wire) / sizeof(wire[0]), RV_ERR__COUNT - 1);
	for (int c = RV_ERR_BAD_JSON; c < RV_ERR__COUNT; c++)
		assert_string_equal(rv_err_code_name((enum rv_err_code)c), wire[c - 1]);
	assert_non_null(rv_err_code_name(RV_ERR_NONE));
	assert_non_null(rv_err_code_name(RV_ERR__COUNT));
	assert_non_null(rv_err_code_name((enum rv_err_code)-1));
}

/* ------------------------------------------------------- decode: success */

static void test_decode_sync(void **state)
{
	struct rv_msg m;

	ok("{\"type\":\"sync\",\"payload\":{\"position\":12.5,\"playing\":true,"
	   "\"speed\":1.5,\"at\":1700000000123.456},\"id\":\"r1\"}", &m);
	assert_int_equal(m.type, RV_MSG_SYNC);
	assert_string_equal(m.id, "r1");
	assert_true(m.u.sync.position == 12.5);
	assert_true(m.u.sync.playing);
	assert_true(m.u.sync.speed == 1.5);
	assert_true(m.u.sync.has_at);
	assert_true(m.u.sync.at == 1700000000123.456);
	rv_msg_clear(&m);

	/* No at, no id, integers, key order and extra fields do not matter. */
	ok("{\"payload\":{\"speed\":1,\"extra\":{\"x\":[1,2]},\"playing\":false,"
	   "\"position\":0},\"ts\":5,\"type\":\"sync\",\"from\":\"x\"}", &m);
	assert_int_equal(m.type, RV_MSG_SYNC);
	assert_null(m.id);
	assert_true(m.u.sync.position == 0);
	assert_false(m.u.sync.playing);
	assert_true(m.u.sync.speed == 1);
	assert_false(m.u.sync.has_at);
	rv_msg_clear(&m);

	/* Inclusive bounds. */
	ok("{\"type\":\"sync\",\"payload\":{\"position\":1e9,\"playing\":true,"
	   "\"speed\":0.25,\"at\":0}}", &m);
	assert_true(m.u.sync.position == 1e9);
	assert_true(m.u.sync.speed == 0.25);
	assert_true(m.u.sync.has_at && m.u.sync.at == 0);
	rv_msg_clear(&m);
	ok("{\"type\":\"sync\",\"payload\":{\"position\":-0.0,\"playing\":true,"
	   "\"speed\":4}}", &m);
	assert_true(m.u.sync.position == 0);
	assert_true(m.u.sync.speed == 4);
	rv_msg_clear(&m);
	ok("{\"type\":\"sync\",\"payload\":{\"position\":1000000000,\"playing\":true,"
	   "\"speed\":4.0E0}}", &m);
	assert_true(m.u.sync.position == 1e9);
	rv_msg_clear(&m);
}

static void test_decode_chat(void **state)
{
	struct rv_msg m;
	char *big, *json;

	ok("{\"type\":\"chat\",\"payload\":{\"text\":\"hi \\\"you\\\" \\\\ \\n "
	   "\\u00e9\xe2\x82\xac\\ud83d\\ude00\"},\"id\":\"c-7\"}", &m);
	assert_int_equal(m.type, RV_MSG_CHAT);
	assert_string_equal(m.id, "c-7");
	assert_string_equal(m.u.chat.text,
			    "hi \"you\" \\ \n \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_int_equal(m.u.chat.len, strlen(m.u.chat.text));
	assert_int_equal(m.u.chat.len, 22);
	rv_msg_clear(&m);

	ok("{\"type\":\"chat\",\"payload\":{\"text\":\"x\"}}", &m);
	assert_string_equal(m.u.chat.text, "x");
	assert_int_equal(m.u.chat.len, 1);
	rv_msg_clear(&m);

	/* Exactly the limit, in bytes: 1000 two-byte characters. */
	big = rep("\xc3\xa9", RV_CHAT_MAX / 2);
	json = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"%s\"}}", big);
	ok(json, &m);
	assert_int_equal(m.u.chat.len, RV_CHAT_MAX);
	assert_memory_equal(m.u.chat.text, big, RV_CHAT_MAX);
	rv_msg_clear(&m);
	free(json);
	free(big);

	/* Escapes count as the bytes they decode to: 2000 "\n" escapes. */
	big = rep("\\n", RV_CHAT_MAX);
	json = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"%s\"}}", big);
	ok(json, &m);
	assert_int_equal(m.u.chat.len, RV_CHAT_MAX);
	assert_int_equal(m.u.chat.text[RV_CHAT_MAX - 1], '\n');
	rv_msg_clear(&m);
	free(json);
	free(big);
}

static void test_decode_reaction(void **state)
{
	struct rv_msg m;

	ok("{\"type\":\"reaction\",\"payload\":{\"emoji\":\"\xf0\x9f\x8e\x89\"}}", &m);
	assert_int_equal(m.type, RV_MSG_REACTION);
	assert_string_equal(m.u.reaction.emoji, "\xf0\x9f\x8e\x89");
	assert_int_equal(m.u.reaction.len, 4);
	rv_msg_clear(&m);

	/* 16 bytes (four emoji) is the limit. */
	ok("{\"type\":\"reaction\",\"payload\":{\"emoji\":\"\xf0\x9f\x98\x80"
	   "\xf0\x9f\x98\x81\xf0\x9f\x98\x82\xf0\x9f\x98\x83\"}}", &m);
	assert_int_equal(m.u.reaction.len, RV_EMOJI_MAX);
	rv_msg_clear(&m);
	ok("{\"type\":\"reaction\",\"payload\":{\"emoji\":\"0123456789abcdef\"}}", &m);
	assert_int_equal(m.u.reaction.len, 16);
	rv_msg_clear(&m);
}

static void test_decode_time(void **state)
{
	struct rv_msg m;

	ok("{\"type\":\"time\",\"payload\":{\"client_time\":1700000000000.25},"
	   "\"id\":\"t\"}", &m);
	assert_int_equal(m.type, RV_MSG_TIME);
	assert_true(m.u.time.client_time == 1700000000000.25);
	assert_string_equal(m.id, "t");
	rv_msg_clear(&m);
	/* Any finite number: a client's clock may be anywhere. */
	ok("{\"type\":\"time\",\"payload\":{\"client_time\":-5}}", &m);
	assert_true(m.u.time.client_time == -5);
	rv_msg_clear(&m);
	ok("{\"type\":\"time\",\"payload\":{\"client_time\":1.7976931348623157e308}}", &m);
	assert_true(m.u.time.client_time == 1.7976931348623157e308);
	rv_msg_clear(&m);
	ok("{\"type\":\"time\",\"payload\":{\"client_time\":9223372036854775807}}", &m);
	assert_true(m.u.time.client_time == 9223372036854775807.0);
	rv_msg_clear(&m);
}

static void test_decode_transfer_host(void **state)
{
	struct rv_msg m;

	ok("{\"type\":\"transfer_host\",\"payload\":{\"to\":\"p2\"}}", &m);
	assert_int_equal(m.type, RV_MSG_TRANSFER_HOST);
	assert_string_equal(m.u.transfer_host.to, "p2");
	rv_msg_clear(&m);
	ok("{\"type\":\"transfer_host\",\"payload\":"
	   "{\"to\":\"0123456789abcdef0123456789abcdef\"}}", &m);
	assert_string_equal(m.u.transfer_host.to, "0123456789abcdef0123456789abcdef");
	rv_msg_clear(&m);
}

static void test_decode_progress(void **state)
{
	struct rv_msg m;

	ok("{\"type\":\"progress\",\"payload\":{\"media_id\":\"movie-42_A\","
	   "\"position\":61.5,\"duration\":5400,\"playing\":true},\"id\":\"p\"}", &m);
	assert_int_equal(m.type, RV_MSG_PROGRESS);
	assert_string_equal(m.u.progress.media_id, "movie-42_A");
	assert_true(m.u.progress.position == 61.5);
	assert_true(m.u.progress.has_duration);
	assert_true(m.u.progress.duration == 5400);
	assert_true(m.u.progress.playing);
	assert_string_equal(m.id, "p");
	rv_msg_clear(&m);

	/* duration null or absent: unknown (a live stream). */
	ok("{\"type\":\"progress\",\"payload\":{\"media_id\":\"m\",\"position\":7,"
	   "\"duration\":null,\"playing\":false}}", &m);
	assert_false(m.u.progress.has_duration);
	assert_false(m.u.progress.playing);
	assert_true(m.u.progress.position == 7);
	rv_msg_clear(&m);
	ok("{\"type\":\"progress\",\"payload\":{\"media_id\":\"m\",\"position\":7,"
	   "\"playing\":false}}", &m);
	assert_false(m.u.progress.has_duration);
	rv_msg_clear(&m);

	/* duration 0 is "unknown length": any position passes. */
	ok("{\"type\":\"progress\",\"payload\":{\"media_id\":\"m\",\"position\":99,"
	   "\"duration\":0,\"playing\":true}}", &m);
	assert_true(m.u.progress.has_duration);
	assert_true(m.u.progress.duration == 0);
	assert_true(m.u.progress.position == 99);
	rv_msg_clear(&m);

	/* position == duration: at the end. A 64-character id (a UUID fits). */
	ok("{\"type\":\"progress\",\"payload\":{\"media_id\":"
	   "\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\","
	   "\"position\":5400,\"duration\":5400,\"playing\":false}}", &m);
	assert_int_equal(strlen(m.u.progress.media_id), RV_ID_MAX);
	assert_true(m.u.progress.position == m.u.progress.duration);
	rv_msg_clear(&m);
	ok("{\"type\":\"progress\",\"payload\":{\"media_id\":"
	   "\"123e4567-e89b-12d3-a456-426614174000\",\"position\":0,"
	   "\"duration\":1,\"playing\":true}}", &m);
	assert_string_equal(m.u.progress.media_id, "123e4567-e89b-12d3-a456-426614174000");
	rv_msg_clear(&m);
}

static void test_decode_quality_request(void **state)
{
	struct rv_msg m;

	ok("{\"type\":\"quality_request\",\"payload\":{\"profile\":\"720p\"},"
	   "\"id\":\"q\"}", &m);
	assert_int_equal(m.type, RV_MSG_QUALITY_REQUEST);
	assert_string_equal(m.u.quality_request.profile, "720p");
	rv_msg_clear(&m);
	/* Unknown profiles decode: the server answers unknown_profile. */
	ok("{\"type\":\"quality_request\",\"payload\":"
	   "{\"profile\":\"abcdefghijklmnopqrstuvwxyz012345\"}}", &m);
	assert_int_equal(strlen(m.u.quality_request.profile), RV_PROFILE_MAX);
	rv_msg_clear(&m);
}

static void test_decode_bandwidth_report(void **state)
{
	struct rv_msg m;

	ok("{\"type\":\"bandwidth_report\",\"payload\":{\"kbps\":2500.5}}", &m);
	assert_int_equal(m.type, RV_MSG_BANDWIDTH_REPORT);
	assert_true(m.u.bandwidth_report.kbps == 2500.5);
	rv_msg_clear(&m);
	ok("{\"type\":\"bandwidth_report\",\"payload\":{\"kbps\":0}}", &m);
	assert_true(m.u.bandwidth_report.kbps == 0);
	rv_msg_clear(&m);
	ok("{\"type\":\"bandwidth_report\",\"payload\":{\"kbps\":1e9}}", &m);
	assert_true(m.u.bandwidth_report.kbps == 1e9);
	rv_msg_clear(&m);
}

static void test_decode_refresh(void **state)
{
	struct rv_msg m;
	struct rv_proto_error e;
	char *big, *long_token;

	ok("{\"type\":\"refresh\",\"payload\":{\"token\":\"a.b.c\"},\"id\":\"r1\"}", &m);
	assert_int_equal(m.type, RV_MSG_REFRESH);
	assert_string_equal(m.u.refresh.token, "a.b.c");
	assert_int_equal(m.u.refresh.len, 5);
	assert_string_equal(m.id, "r1");
	rv_msg_clear(&m);
	err("{\"type\":\"refresh\",\"payload\":{}}", RV_ERR_BAD_PAYLOAD, "refresh", "required");
	err("{\"type\":\"refresh\",\"payload\":{\"token\":\"\"}}", RV_ERR_BAD_PAYLOAD, "refresh", "empty");
	err("{\"type\":\"refresh\",\"payload\":{\"token\":7}}", RV_ERR_BAD_PAYLOAD, "refresh", "string");
	long_token = rep("x", RV_TOKEN_MAX + 1);
	big = xfmt("{\"type\":\"refresh\",\"payload\":{\"token\":\"%s\"}}", long_token);
	e = err(big, RV_ERR_TOO_LARGE, "refresh", "8192");
	assert_string_equal(e.ref, "refresh");
	free(big);
	free(long_token);
}

/* Sync v2 messages: buffering, ready, start take no fields; status and
 * members are checked like every other payload. */
static void test_decode_sync_v2(void **state)
{
	struct rv_msg m;
	char *big;

	ok("{\"type\":\"buffering\"}", &m);
	assert_int_equal(m.type, RV_MSG_BUFFERING);
	rv_msg_clear(&m);
	ok("{\"type\":\"ready\",\"payload\":{\"extra\":1},\"id\":\"r\"}", &m);
	assert_int_equal(m.type, RV_MSG_READY);
	assert_string_equal(m.id, "r");
	rv_msg_clear(&m);
	ok("{\"type\":\"start\",\"payload\":{}}", &m);
	assert_int_equal(m.type, RV_MSG_START);
	rv_msg_clear(&m);
	err("{\"type\":\"start\",\"payload\":[]}", RV_ERR_BAD_PAYLOAD, "start", "object");

	ok("{\"type\":\"status\",\"payload\":{\"position\":12.5,\"playing\":true}}", &m);
	assert_int_equal(m.type, RV_MSG_STATUS);
	assert_true(m.u.status.position == 12.5);
	assert_true(m.u.status.playing);
	assert_false(m.u.status.buffering);
	assert_false(m.u.status.has_at);
	assert_false(m.u.status.has_clock_error);
	rv_msg_clear(&m);
	ok("{\"type\":\"status\",\"payload\":{\"position\":0,\"playing\":false,"
	   "\"buffering\":true,\"at\":1000.25,\"clock_error_ms\":3.5}}", &m);
	assert_true(m.u.status.buffering);
	assert_true(m.u.status.has_at && m.u.status.at == 1000.25);
	assert_true(m.u.status.has_clock_error && m.u.status.clock_error_ms == 3.5);
	rv_msg_clear(&m);
	ok("{\"type\":\"status\",\"payload\":{\"position\":1,\"playing\":true,"
	   "\"clock_error_ms\":null}}", &m);
	assert_false(m.u.status.has_clock_error);
	rv_msg_clear(&m);
	err("{\"type\":\"status\",\"payload\":{\"playing\":true}}", RV_ERR_BAD_PAYLOAD,
	    "status", "\"position\" is required");
	err("{\"type\":\"status\",\"payload\":{\"position\":-1,\"playing\":true}}",
	    RV_ERR_BAD_PAYLOAD, "status", "position");
	err("{\"type\":\"status\",\"payload\":{\"position\":1}}", RV_ERR_BAD_PAYLOAD,
	    "status", "\"playing\" is required");
	err("{\"type\":\"status\",\"payload\":{\"position\":1,\"playing\":1}}",
	    RV_ERR_BAD_PAYLOAD, "status", "true or false");
	err("{\"type\":\"status\",\"payload\":{\"position\":1,\"playing\":true,"
	    "\"buffering\":\"yes\"}}", RV_ERR_BAD_PAYLOAD, "status", "buffering");
	err("{\"type\":\"status\",\"payload\":{\"position\":1,\"playing\":true,"
	    "\"at\":-5}}", RV_ERR_BAD_PAYLOAD, "status", "at");
	err("{\"type\":\"status\",\"payload\":{\"position\":1,\"playing\":true,"
	    "\"clock_error_ms\":-1}}", RV_ERR_BAD_PAYLOAD, "status", "clock_error_ms");
	err("{\"type\":\"status\",\"payload\":{\"position\":1e400,\"playing\":true}}",
	    RV_ERR_BAD_JSON, NULL, NULL);

	ok("{\"type\":\"members\"}", &m);
	assert_int_equal(m.type, RV_MSG_MEMBERS);
	assert_null(m.u.members.after);
	assert_int_equal(m.u.members.limit, RV_MEMBERS_PAGE_DEFAULT);
	rv_msg_clear(&m);
	ok("{\"type\":\"members\",\"payload\":{\"after\":\"m42\",\"limit\":1000}}", &m);
	assert_string_equal(m.u.members.after, "m42");
	assert_int_equal(m.u.members.limit, 1000);
	rv_msg_clear(&m);
	ok("{\"type\":\"members\",\"payload\":{\"after\":null,\"limit\":1}}", &m);
	assert_null(m.u.members.after);
	assert_int_equal(m.u.members.limit, 1);
	rv_msg_clear(&m);
	err("{\"type\":\"members\",\"payload\":{\"limit\":0}}", RV_ERR_BAD_PAYLOAD,
	    "members", "limit");
	err("{\"type\":\"members\",\"payload\":{\"limit\":1001}}", RV_ERR_BAD_PAYLOAD,
	    "members", "limit");
	err("{\"type\":\"members\",\"payload\":{\"limit\":2.5}}", RV_ERR_BAD_PAYLOAD,
	    "members", "whole number");
	err("{\"type\":\"members\",\"payload\":{\"after\":\"\"}}", RV_ERR_BAD_PAYLOAD,
	    "members", "empty");
	err("{\"type\":\"members\",\"payload\":{\"after\":5}}", RV_ERR_BAD_PAYLOAD,
	    "members", "string");
	big = xfmt("{\"type\":\"members\",\"payload\":{\"after\":\"%s\"}}",
		   "0123456789012345678901234567890123");
	err(big, RV_ERR_BAD_PAYLOAD, "members", "at most 32");
	free(big);
	/* Server -> client names are not requests. */
	err("{\"type\":\"party_state\"}", RV_ERR_UNKNOWN_TYPE, "party_state", "unknown");
	err("{\"type\":\"presence\"}", RV_ERR_UNKNOWN_TYPE, "presence", "unknown");
}

/* Whitespace anywhere JSON allows it, and strings that outlive the input. */
/* media {url, title?}: what the party watches (issue 18). */
static void test_decode_media(void **state)
{
	struct rv_msg m;
	char *url, *json;

	ok("{\"type\":\"media\",\"payload\":{\"url\":\"https://cdn.example/a.webm\","
	   "\"title\":\"Night of the \\u00e9t\\u00e9 \\ud83c\\udf89\"},\"id\":\"md\"}", &m);
	assert_int_equal(m.type, RV_MSG_MEDIA);
	assert_string_equal(m.u.media.url, "https://cdn.example/a.webm");
	assert_int_equal(m.u.media.url_len, strlen("https://cdn.example/a.webm"));
	assert_string_equal(m.u.media.title, "Night of the \xc3\xa9t\xc3\xa9 \xf0\x9f\x8e\x89");
	assert_string_equal(m.id, "md");
	rv_msg_clear(&m);
	/* no title: "" */
	ok("{\"type\":\"media\",\"payload\":{\"url\":\"/media/film.webm\"}}", &m);
	assert_string_equal(m.u.media.title, "");
	assert_int_equal(m.u.media.title_len, 0);
	rv_msg_clear(&m);
	ok("{\"type\":\"media\",\"payload\":{\"url\":\"film.webm?t=1#x\",\"title\":null}}", &m);
	assert_string_equal(m.u.media.url, "film.webm?t=1#x");
	rv_msg_clear(&m);
	/* null: the party watches nothing */
	ok("{\"type\":\"media\",\"payload\":{\"url\":null,\"title\":\"ignored\"}}", &m);
	assert_null(m.u.media.url);
	rv_msg_clear(&m);

	err("{\"type\":\"media\"}", RV_ERR_BAD_PAYLOAD, "media", "\"url\" is required");
	err("{\"type\":\"media\",\"payload\":{\"url\":\"\"}}", RV_ERR_BAD_PAYLOAD, "media",
	    "empty");
	err("{\"type\":\"media\",\"payload\":{\"url\":42}}", RV_ERR_BAD_PAYLOAD, "media",
	    "string");
	err("{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"title\":7}}",
	    RV_ERR_BAD_PAYLOAD, "media", "title");
	/* hostile schemes and spellings */
	static const char *const bad[] = {
		"javascript:alert(1)", "JavaScript:alert(1)", "data:video/webm;base64,AAAA",
		"blob:https://x/1", "file:///etc/passwd", "ftp://x/a.webm",
		"//evil.example/a.webm", "/\\\\evil.example/a.webm", "http://", "https:///path",
		"https://?q", "http:/x", "a b.webm", "/a\\tb", "/a\\nb", "/a\\u0000b",
		"/a\\u007fb", "/a\\u0085b", "java\\tscript:alert(1)", " /a.webm",
		"vbscript:x", "c:/x.webm",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json = xfmt("{\"type\":\"media\",\"payload\":{\"url\":\"%s\"}}", bad[i]);
		err(json, strchr(bad[i], '\\') && strstr(bad[i], "u0000") ? RV_ERR_BAD_JSON
			: RV_ERR_BAD_PAYLOAD, NULL, NULL);
		free(json);
	}
	/* the url cap: 2048 bytes fit, 2049 are too_large */
	url = rep("a", RV_MEDIA_URL_MAX - 8);
	json = xfmt("{\"type\":\"media\",\"payload\":{\"url\":\"https://%s\"}}", url);
	ok(json, &m);
	assert_int_equal(m.u.media.url_len, RV_MEDIA_URL_MAX);
	rv_msg_clear(&m);
	free(json);
	json = xfmt("{\"type\":\"media\",\"payload\":{\"url\":\"https://%sa\"}}", url);
	err(json, RV_ERR_TOO_LARGE, "media", "2048");
	free(json);
	free(url);
	/* the title: 256 bytes fit, 257 are too_large; controls, bidi
	 * controls and separators are refused */
	url = rep("\xc3\xa9", RV_MEDIA_TITLE_MAX / 2);
	json = xfmt("{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"title\":\"%s\"}}", url);
	ok(json, &m);
	assert_int_equal(m.u.media.title_len, RV_MEDIA_TITLE_MAX);
	rv_msg_clear(&m);
	free(json);
	json = xfmt("{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"title\":\"%sx\"}}", url);
	err(json, RV_ERR_TOO_LARGE, "media", "256");
	free(json);
	free(url);
	err("{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"title\":\"a\\nb\"}}",
	    RV_ERR_BAD_PAYLOAD, "media", "title");
	err("{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"title\":\"a\\u202eb\"}}",
	    RV_ERR_BAD_PAYLOAD, "media", "title");
	err("{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"title\":\"a\\u2028b\"}}",
	    RV_ERR_BAD_PAYLOAD, "media", "title");
	err("{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"title\":\"\\ud800\"}}",
	    RV_ERR_BAD_JSON, NULL, NULL);
	/* invalid UTF-8 in the url never gets past the parser */
	err("{\"type\":\"media\",\"payload\":{\"url\":\"/\xff\"}}", RV_ERR_BAD_JSON, NULL, NULL);
}

static void test_valid_media_url(void **state)
{
	static const char *const good[] = {
		"http://a", "HTTPS://cdn.example:8443/v/a.webm?sig=x%20y#t=3",
		"https://[::1]:8080/a", "/a.webm", "./a.webm", "../m/a.webm", "a.webm",
		"?x=1", "#t", "dir/file:with-colon.webm", "/caf\xc3\xa9.webm",
	};
	static const char *const bad[] = {
		"", "javascript:x", "data:,x", "http:x", "https:/x", "http://", "//x",
		"/\\x", "\\\\x", "a b", "a\tb", "\x7f", "/\xc2\x80", "/\xc2\x9f", "/\xff",
		"mailto:a@b", "HTTP:", "ws://x/a",
	};
	char *big;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!rv_proto_valid_media_url(good[i], strlen(good[i])))
			fail_msg("\"%s\" refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rv_proto_valid_media_url(bad[i], strlen(bad[i])))
			fail_msg("\"%s\" accepted", bad[i]);
	assert_false(rv_proto_valid_media_url(NULL, 0));
	/* len bounds the check, not a NUL */
	assert_true(rv_proto_valid_media_url("/a b", 2));
	assert_true(rv_proto_valid_media_url("/\xc2\xa0", 3));
	assert_false(rv_proto_valid_media_url("/\xc2", 2));
	big = rep("a", RV_MEDIA_URL_MAX + 1);
	assert_true(rv_proto_valid_media_url(big, RV_MEDIA_URL_MAX));
	assert_false(rv_proto_valid_media_url(big, RV_MEDIA_URL_MAX + 1));
	free(big);

	assert_true(rv_proto_valid_title("", 0));
	assert_true(rv_proto_valid_title("Ana's film \xf0\x9f\x8e\x89", 15));
	assert_false(rv_proto_valid_title("a\x01", 2));
	assert_false(rv_proto_valid_title("\xe2\x80\xae", 3));   /* U+202E */
	assert_false(rv_proto_valid_title("\xc2\x85", 2));       /* NEL, C1 */
	assert_false(rv_proto_valid_title("\xed\xa0\x80", 3));   /* a surrogate */
	big = rep("x", RV_MEDIA_TITLE_MAX + 1);
	assert_true(rv_proto_valid_title(big, RV_MEDIA_TITLE_MAX));
	assert_false(rv_proto_valid_title(big, RV_MEDIA_TITLE_MAX + 1));
	free(big);
}

static void test_encode_media_frame(void **state)
{
	struct rv_frame *f;
	json_t *j;

	f = rv_proto_media_frame("/a\"b.webm", "T\xc3\xa9", "m1", 1000.5, "x");
	j = frame_json(f);
	assert_string_equal(jstr(j, "type"), "media");
	assert_string_equal(jstr(jpayload(j), "url"), "/a\"b.webm");
	assert_string_equal(jstr(jpayload(j), "title"), "T\xc3\xa9");
	assert_string_equal(jstr(j, "from"), "m1");
	assert_string_equal(jstr(j, "id"), "x");
	assert_true(f->kind == RV_FRAME_EVENT);
	json_decref(j);
	rv_frame_unref(f);
	f = rv_proto_media_frame(NULL, "ignored", "m1", 1000.5, NULL);
	j = frame_json(f);
	assert_true(json_is_null(json_object_get(jpayload(j), "url")));
	assert_string_equal(jstr(jpayload(j), "title"), "");
	assert_null(json_object_get(j, "id"));
	json_decref(j);
	rv_frame_unref(f);
}

static void test_decode_whitespace_and_lifetime(void **state)
{
	const char *json = " \t\r\n{ \"type\" : \"chat\" ,\n\"payload\" : { \"text\" :"
			   " \"kept\" } , \"id\" : \"i\" } \n\t ";
	struct rv_msg m;
	char *copy = strdup(json);

	assert_int_equal(rv_proto_decode(copy, strlen(copy), &m, &(struct rv_proto_error){0}), 0);
	memset(copy, 'x', strlen(copy));
	free(copy);
	/* Borrowed from the tree, not from the input. */
	assert_string_equal(m.u.chat.text, "kept");
	assert_string_equal(m.id, "i");
	rv_msg_clear(&m);
}

static void test_msg_clear(void **state)
{
	struct rv_msg m, zero;

	memset(&zero, 0, sizeof(zero));
	ok("{\"type\":\"chat\",\"payload\":{\"text\":\"a\"}}", &m);
	rv_msg_clear(&m);
	assert_memory_equal(&m, &zero, sizeof(m));
	rv_msg_clear(&m);          /* idempotent */
	assert_memory_equal(&m, &zero, sizeof(m));
	rv_msg_clear(NULL);        /* NULL-safe */

	/* A message reused for a second decode after clear. */
	ok("{\"type\":\"time\",\"payload\":{\"client_time\":1}}", &m);
	rv_msg_clear(&m);
	ok("{\"type\":\"time\",\"payload\":{\"client_time\":2}}", &m);
	assert_true(m.u.time.client_time == 2);
	rv_msg_clear(&m);
}

/* ------------------------------------------------- decode: payload errors */

struct ecase {
	const char *json;
	enum rv_err_code code;
	const char *ref;
	const char *needle;        /* part of the human message */
};

static void run_cases(const struct ecase *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		err(c[i].json, c[i].code, c[i].ref, c[i].needle);
}

#define SYNC(p) "{\"type\":\"sync\",\"payload\":{" p "}}"
#define SYNC_OK "\"position\":1,\"playing\":true,\"speed\":1"

static void test_sync_errors(void **state)
{
	static const struct ecase c[] = {
		{ SYNC("\"playing\":true,\"speed\":1"), RV_ERR_BAD_PAYLOAD, "sync",
		  "sync: \"position\" is required" },
		{ SYNC("\"position\":\"1\",\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "sync: \"position\" must be a number" },
		{ SYNC("\"position\":null,\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":true,\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":[1],\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":-1,\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":-1e-300,\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":1000000000.001,\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":\"NaN\",\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":\"Infinity\",\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":9223372036854775807,\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":1,\"speed\":1"), RV_ERR_BAD_PAYLOAD, "sync",
		  "sync: \"playing\" is required" },
		{ SYNC("\"position\":1,\"playing\":1,\"speed\":1"), RV_ERR_BAD_PAYLOAD,
		  "sync", "sync: \"playing\" must be true or false" },
		{ SYNC("\"position\":1,\"playing\":\"true\",\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"playing\"" },
		{ SYNC("\"position\":1,\"playing\":null,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"playing\"" },
		{ SYNC("\"position\":1,\"playing\":true"), RV_ERR_BAD_PAYLOAD, "sync",
		  "sync: \"speed\" is required" },
		{ SYNC("\"position\":1,\"playing\":true,\"speed\":0.24"),
		  RV_ERR_BAD_PAYLOAD, "sync",
		  "sync: \"speed\" must be a number between 0.25 and 4" },
		{ SYNC("\"position\":1,\"playing\":true,\"speed\":4.000001"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"speed\"" },
		{ SYNC("\"position\":1,\"playing\":true,\"speed\":0"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"speed\"" },
		{ SYNC("\"position\":1,\"playing\":true,\"speed\":-1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"speed\"" },
		{ SYNC("\"position\":1,\"playing\":true,\"speed\":\"1\""),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"speed\"" },
		{ SYNC(SYNC_OK ",\"at\":\"1\""), RV_ERR_BAD_PAYLOAD, "sync",
		  "sync: \"at\" must be" },
		{ SYNC(SYNC_OK ",\"at\":-1"), RV_ERR_BAD_PAYLOAD, "sync", "\"at\"" },
		{ SYNC(SYNC_OK ",\"at\":null"), RV_ERR_BAD_PAYLOAD, "sync", "\"at\"" },
		{ SYNC(SYNC_OK ",\"at\":false"), RV_ERR_BAD_PAYLOAD, "sync", "\"at\"" },
		{ SYNC(SYNC_OK ",\"at\":{}"), RV_ERR_BAD_PAYLOAD, "sync", "\"at\"" },
		/* payload present but not an object; absent reads as {}. */
		{ "{\"type\":\"sync\",\"payload\":[]}", RV_ERR_BAD_PAYLOAD, "sync",
		  "\"payload\" must be an object" },
		{ "{\"type\":\"sync\",\"payload\":null}", RV_ERR_BAD_PAYLOAD, "sync",
		  "\"payload\"" },
		{ "{\"type\":\"sync\",\"payload\":\"x\"}", RV_ERR_BAD_PAYLOAD, "sync",
		  "\"payload\"" },
		{ "{\"type\":\"sync\",\"payload\":7}", RV_ERR_BAD_PAYLOAD, "sync",
		  "\"payload\"" },
		{ "{\"type\":\"sync\"}", RV_ERR_BAD_PAYLOAD, "sync",
		  "sync: \"position\" is required" },
		/* Fields outside the payload do not count. */
		{ "{\"type\":\"sync\"," SYNC_OK "}", RV_ERR_BAD_PAYLOAD, "sync",
		  "\"position\" is required" },
	};

	run_cases(c, sizeof(c) / sizeof(c[0]));
}

#define P(t, p) "{\"type\":\"" t "\",\"payload\":{" p "}}"

static void test_text_errors(void **state)
{
	static const struct ecase c[] = {
		{ P("chat", ""), RV_ERR_BAD_PAYLOAD, "chat", "chat: \"text\" is required" },
		{ P("chat", "\"text\":\"\""), RV_ERR_BAD_PAYLOAD, "chat",
		  "chat: \"text\" must not be empty" },
		{ P("chat", "\"text\":5"), RV_ERR_BAD_PAYLOAD, "chat",
		  "chat: \"text\" must be a string" },
		{ P("chat", "\"text\":null"), RV_ERR_BAD_PAYLOAD, "chat", "\"text\"" },
		{ P("chat", "\"text\":[\"a\"]"), RV_ERR_BAD_PAYLOAD, "chat", "\"text\"" },
		{ P("chat", "\"text\":{\"a\":1}"), RV_ERR_BAD_PAYLOAD, "chat", "\"text\"" },
		{ "{\"type\":\"chat\"}", RV_ERR_BAD_PAYLOAD, "chat", "\"text\"" },
		{ P("reaction", ""), RV_ERR_BAD_PAYLOAD, "reaction",
		  "reaction: \"emoji\" is required" },
		{ P("reaction", "\"emoji\":\"\""), RV_ERR_BAD_PAYLOAD, "reaction",
		  "reaction: \"emoji\" must not be empty" },
		{ P("reaction", "\"emoji\":1"), RV_ERR_BAD_PAYLOAD, "reaction",
		  "\"emoji\" must be a string" },
		{ P("reaction", "\"emoji\":\"0123456789abcdefg\""), RV_ERR_TOO_LARGE,
		  "reaction", "reaction: \"emoji\" must be at most 16 bytes" },
		/* 5 four-byte emoji = 20 bytes, 5 characters: the limit is bytes. */
		{ P("reaction", "\"emoji\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		    "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\""),
		  RV_ERR_TOO_LARGE, "reaction", "\"emoji\"" },
		{ P("transfer_host", ""), RV_ERR_BAD_PAYLOAD, "transfer_host",
		  "transfer_host: \"to\" is required" },
		{ P("transfer_host", "\"to\":\"\""), RV_ERR_BAD_PAYLOAD,
		  "transfer_host", "\"to\" must not be empty" },
		{ P("transfer_host", "\"to\":7"), RV_ERR_BAD_PAYLOAD, "transfer_host",
		  "\"to\" must be a string" },
		{ P("transfer_host", "\"to\":\"0123456789abcdef0123456789abcdefX\""),
		  RV_ERR_BAD_PAYLOAD, "transfer_host", "\"to\" must be at most 32 bytes" },
		{ P("quality_request", ""), RV_ERR_BAD_PAYLOAD, "quality_request",
		  "quality_request: \"profile\" is required" },
		{ P("quality_request", "\"profile\":\"\""), RV_ERR_BAD_PAYLOAD,
		  "quality_request", "\"profile\" must not be empty" },
		{ P("quality_request", "\"profile\":720"), RV_ERR_BAD_PAYLOAD,
		  "quality_request", "\"profile\" must be a string" },
		{ P("quality_request", "\"profile\":\"abcdefghijklmnopqrstuvwxyz0123456\""),
		  RV_ERR_BAD_PAYLOAD, "quality_request", "\"profile\" must be at most 32" },
	};

	run_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_chat_too_large(void **state)
{
	char *big = rep("a", RV_CHAT_MAX + 1);
	char *json = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"%s\"},\"id\":\"big\"}",
			  big);
	struct rv_proto_error e;

	e = err(json, RV_ERR_TOO_LARGE, "chat", "chat: \"text\" must be at most 2000 bytes");
	assert_true(e.has_id);
	assert_string_equal(e.id, "big");
	free(json);
	free(big);

	/* 1001 two-byte characters: 2002 bytes. */
	big = rep("\xc3\xa9", RV_CHAT_MAX / 2 + 1);
	json = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"%s\"}}", big);
	err(json, RV_ERR_TOO_LARGE, "chat", "\"text\"");
	free(json);
	free(big);
}

#define PROG(p) P("progress", p)

static void test_time_bandwidth_progress_errors(void **state)
{
	static const struct ecase c[] = {
		{ P("time", ""), RV_ERR_BAD_PAYLOAD, "time",
		  "time: \"client_time\" is required" },
		{ P("time", "\"client_time\":\"5\""), RV_ERR_BAD_PAYLOAD, "time",
		  "time: \"client_time\" must be a finite number" },
		{ P("time", "\"client_time\":null"), RV_ERR_BAD_PAYLOAD, "time",
		  "\"client_time\"" },
		{ P("time", "\"client_time\":true"), RV_ERR_BAD_PAYLOAD, "time",
		  "\"client_time\"" },
		{ P("time", "\"client_time\":\"Infinity\""), RV_ERR_BAD_PAYLOAD, "time",
		  "\"client_time\"" },
		{ "{\"type\":\"time\"}", RV_ERR_BAD_PAYLOAD, "time", "\"client_time\"" },
		{ P("bandwidth_report", ""), RV_ERR_BAD_PAYLOAD, "bandwidth_report",
		  "bandwidth_report: \"kbps\" is required" },
		{ P("bandwidth_report", "\"kbps\":-1"), RV_ERR_BAD_PAYLOAD,
		  "bandwidth_report",
		  "bandwidth_report: \"kbps\" must be a number between 0 and 1e9" },
		{ P("bandwidth_report", "\"kbps\":1000000001"), RV_ERR_BAD_PAYLOAD,
		  "bandwidth_report", "\"kbps\"" },
		{ P("bandwidth_report", "\"kbps\":\"100\""), RV_ERR_BAD_PAYLOAD,
		  "bandwidth_report", "\"kbps\"" },
		{ P("bandwidth_report", "\"kbps\":null"), RV_ERR_BAD_PAYLOAD,
		  "bandwidth_report", "\"kbps\"" },
		/* progress: media_id */
		{ PROG("\"position\":1,\"playing\":true"), RV_ERR_BAD_PAYLOAD,
		  "progress", "progress: \"media_id\" is required" },
		{ PROG("\"media_id\":\"\",\"position\":1,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"media_id\"" },
		{ PROG("\"media_id\":5,\"position\":1,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"media_id\" must be a string" },
		{ PROG("\"media_id\":\"a b\",\"position\":1,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"media_id\"" },
		{ PROG("\"media_id\":\"../etc\",\"position\":1,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"media_id\"" },
		{ PROG("\"media_id\":\"caf\xc3\xa9\",\"position\":1,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"media_id\"" },
		{ PROG("\"media_id\":\"0123456789abcdef0123456789abcdef"
		       "0123456789abcdef0123456789abcdefX\",\"position\":1,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"media_id\"" },
		/* progress: position */
		{ PROG("\"media_id\":\"m\",\"playing\":true"), RV_ERR_BAD_PAYLOAD,
		  "progress", "progress: \"position\" is required" },
		{ PROG("\"media_id\":\"m\",\"position\":-0.5,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"position\" must be a finite number >= 0" },
		{ PROG("\"media_id\":\"m\",\"position\":\"1\",\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"position\"" },
		{ PROG("\"media_id\":\"m\",\"position\":null,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"position\"" },
		/* progress: duration */
		{ PROG("\"media_id\":\"m\",\"position\":1,\"duration\":-1,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"duration\"" },
		{ PROG("\"media_id\":\"m\",\"position\":1,\"duration\":\"9\",\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"duration\"" },
		{ PROG("\"media_id\":\"m\",\"position\":1,\"duration\":true,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"duration\"" },
		{ PROG("\"media_id\":\"m\",\"position\":10,\"duration\":5,\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress",
		  "progress: \"position\" must not exceed \"duration\"" },
		{ PROG("\"media_id\":\"m\",\"position\":5.000001,\"duration\":5,"
		       "\"playing\":true"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"duration\"" },
		/* progress: playing */
		{ PROG("\"media_id\":\"m\",\"position\":1"), RV_ERR_BAD_PAYLOAD,
		  "progress", "progress: \"playing\" is required" },
		{ PROG("\"media_id\":\"m\",\"position\":1,\"playing\":\"yes\""),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"playing\" must be true or false" },
		{ PROG("\"media_id\":\"m\",\"position\":1,\"playing\":0"),
		  RV_ERR_BAD_PAYLOAD, "progress", "\"playing\"" },
	};

	run_cases(c, sizeof(c) / sizeof(c[0]));
}

/* ------------------------------------------------- decode: envelope errors */

static void test_type_errors(void **state)
{
	static const struct ecase c[] = {
		{ "{}", RV_ERR_BAD_PAYLOAD, "", "\"type\" is required" },
		{ "{\"payload\":{\"text\":\"a\"}}", RV_ERR_BAD_PAYLOAD, "", "\"type\"" },
		{ "{\"type\":1}", RV_ERR_BAD_PAYLOAD, "", "\"type\" must be a string" },
		{ "{\"type\":null}", RV_ERR_BAD_PAYLOAD, "", "\"type\"" },
		{ "{\"type\":true}", RV_ERR_BAD_PAYLOAD, "", "\"type\"" },
		{ "{\"type\":[\"chat\"]}", RV_ERR_BAD_PAYLOAD, "", "\"type\"" },
		{ "{\"type\":{\"chat\":1}}", RV_ERR_BAD_PAYLOAD, "", "\"type\"" },
		{ "{\"Type\":\"chat\"}", RV_ERR_BAD_PAYLOAD, "", "\"type\"" },
		{ "{\"type\":\"\"}", RV_ERR_UNKNOWN_TYPE, "", "unknown message type" },
		{ "{\"type\":\"hello\"}", RV_ERR_UNKNOWN_TYPE, "hello",
		  "unknown message type \"hello\"" },
		{ "{\"type\":\"SYNC\",\"payload\":{}}", RV_ERR_UNKNOWN_TYPE, "SYNC", NULL },
		{ "{\"type\":\"sync \"}", RV_ERR_UNKNOWN_TYPE, "sync ", NULL },
		{ "{\"type\":\"invalid\"}", RV_ERR_UNKNOWN_TYPE, "invalid", NULL },
		{ "{\"type\":\"a\\\"b\\\\c\\n\"}", RV_ERR_UNKNOWN_TYPE, "a\"b\\c\n", NULL },
		{ "{\"type\":\"\xf0\x9f\x98\x80\"}", RV_ERR_UNKNOWN_TYPE,
		  "\xf0\x9f\x98\x80", NULL },
	};
	/* Server->client types are unknown when a client sends them. */
	static const char *const server_only[] = {
		"welcome", "member_joined", "member_left", "host_changed", "error",
		"ack", "quality_state", "quality_changed", "quality_suggestion",
	};

	run_cases(c, sizeof(c) / sizeof(c[0]));
	for (size_t i = 0; i < sizeof(server_only) / sizeof(server_only[0]); i++) {
		char *json = xfmt("{\"type\":\"%s\",\"payload\":{},\"id\":\"s%zu\"}",
				  server_only[i], i);
		char *id = xfmt("s%zu", i);
		struct rv_proto_error e = err(json, RV_ERR_UNKNOWN_TYPE, server_only[i],
					      server_only[i]);

		assert_true(e.has_id);
		assert_string_equal(e.id, id);
		free(id);
		free(json);
	}
}

/* ref is the type as sent, cut to 32 bytes at a character boundary. */
static void test_unknown_type_ref_truncation(void **state)
{
	struct {
		const char *type;
		const char *ref;
	} c[] = {
		{ "0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef" },
		{ "0123456789abcdef0123456789abcdefXYZ", "0123456789abcdef0123456789abcdef" },
		/* 31 bytes + a 2-byte character: the character does not fit. */
		{ "0123456789abcdef0123456789abcde\xc3\xa9", "0123456789abcdef0123456789abcde" },
		/* 30 + 2: fits exactly. */
		{ "0123456789abcdef0123456789abcd\xc3\xa9", "0123456789abcdef0123456789abcd\xc3\xa9" },
		/* 30 + a 4-byte emoji + more. */
		{ "0123456789abcdef0123456789abcd\xf0\x9f\x98\x80zz",
		  "0123456789abcdef0123456789abcd" },
		/* 29 + 3-byte euro = 32. */
		{ "0123456789abcdef0123456789abc\xe2\x82\xac\xe2\x82\xac",
		  "0123456789abcdef0123456789abc\xe2\x82\xac" },
		/* Nine emoji: 36 bytes -> eight (32 bytes). */
		{ "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		  "\xf0\x9f\x98\x80",
		  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
		  "\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80\xf0\x9f\x98\x80" },
	};
	char *huge = rep("x", 5000);
	char *json;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rv_proto_error e;

		json = xfmt("{\"type\":\"%s\"}", c[i].type);
		e = err(json, RV_ERR_UNKNOWN_TYPE, c[i].ref, NULL);
		assert_true(strlen(e.ref) <= 32);
		free(json);
	}
	json = xfmt("{\"type\":\"%s\"}", huge);
	err(json, RV_ERR_UNKNOWN_TYPE, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", NULL);
	free(json);
	free(huge);
}

static void test_request_id(void **state)
{
	struct rv_proto_error e;
	struct rv_msg m;
	char *id128 = rep("i", RV_REQ_ID_MAX), *id129 = rep("i", RV_REQ_ID_MAX + 1);
	char *id_utf8 = rep("\xe2\x82\xac", RV_REQ_ID_MAX / 3);   /* 126 bytes */
	char *json;

	/* Echoed on payload errors, unknown types, and every later check. */
	e = err("{\"id\":\"abc\",\"type\":\"sync\",\"payload\":{}}",
		RV_ERR_BAD_PAYLOAD, "sync", NULL);
	assert_true(e.has_id);
	assert_string_equal(e.id, "abc");
	e = err("{\"type\":\"nope\",\"id\":\"x-1\"}", RV_ERR_UNKNOWN_TYPE, "nope", NULL);
	assert_true(e.has_id);
	assert_string_equal(e.id, "x-1");
	e = err("{\"id\":\"q\",\"payload\":{}}", RV_ERR_BAD_PAYLOAD, "", "\"type\"");
	assert_true(e.has_id);
	assert_string_equal(e.id, "q");
	e = err("{\"id\":\"q\",\"type\":\"chat\",\"payload\":3}", RV_ERR_BAD_PAYLOAD,
		"chat", "\"payload\"");
	assert_true(e.has_id);
	e = err("{\"id\":\"q\",\"type\":\"chat\",\"payload\":{\"text\":\"\"}}",
		RV_ERR_BAD_PAYLOAD, "chat", NULL);
	assert_true(e.has_id);
	assert_string_equal(e.id, "q");

	/* No id sent: none echoed. */
	e = err("{\"type\":\"sync\",\"payload\":{}}", RV_ERR_BAD_PAYLOAD, "sync", NULL);
	assert_false(e.has_id);

	/* An id that cannot be read is not echoed: bad_json never has one. */
	e = err("{\"id\":\"abc\",\"type\":", RV_ERR_BAD_JSON, "", NULL);
	assert_false(e.has_id);
	e = err("[{\"id\":\"abc\"}]", RV_ERR_BAD_JSON, "", NULL);
	assert_false(e.has_id);

	/* Limits: 1-128 bytes, a string. */
	json = xfmt("{\"type\":\"time\",\"payload\":{\"client_time\":0},\"id\":\"%s\"}", id128);
	ok(json, &m);
	assert_string_equal(m.id, id128);
	rv_msg_clear(&m);
	free(json);
	json = xfmt("{\"type\":\"time\",\"payload\":{\"client_time\":0},\"id\":\"%s\"}",
		    id_utf8);
	ok(json, &m);
	assert_string_equal(m.id, id_utf8);
	rv_msg_clear(&m);
	free(json);
	json = xfmt("{\"type\":\"zzz\",\"id\":\"%s\"}", id128);
	e = err(json, RV_ERR_UNKNOWN_TYPE, "zzz", NULL);
	assert_true(e.has_id);
	assert_string_equal(e.id, id128);
	free(json);

	static const char *const bad[] = {
		"\"\"", "5", "null", "true", "{}", "[\"a\"]", "1.5",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json = xfmt("{\"type\":\"time\",\"payload\":{\"client_time\":0},\"id\":%s}",
			    bad[i]);
		e = err(json, RV_ERR_BAD_PAYLOAD, "time", "\"id\"");
		assert_false(e.has_id);
		free(json);
	}
	json = xfmt("{\"type\":\"time\",\"payload\":{\"client_time\":0},\"id\":\"%s\"}",
		    id129);
	e = err(json, RV_ERR_BAD_PAYLOAD, "time", "\"id\" must be a string of 1-128 bytes");
	assert_false(e.has_id);
	free(json);
	/* A bad id is reported even when the type is unknown or missing. */
	e = err("{\"id\":7}", RV_ERR_BAD_PAYLOAD, "", "\"id\"");
	assert_false(e.has_id);
	e = err("{\"type\":\"nope\",\"id\":\"\"}", RV_ERR_BAD_PAYLOAD, "nope", "\"id\"");
	assert_false(e.has_id);

	free(id128);
	free(id129);
	free(id_utf8);
}

static void test_bad_json(void **state)
{
	static const char *const c[] = {
		"[]", "[{\"type\":\"chat\"}]", "\"chat\"", "1", "null", "true",
		"{", "}", "{\"type\"", "{\"type\":}", "{\"type\":\"chat\",}",
		"{\"type\":\"chat\" \"id\":\"x\"}", "{'type':'chat'}",
		"{type:\"chat\"}", "{\"type\":\"chat\"} x", "{}{}", "{} []",
		"{\"type\":\"time\",\"payload\":{\"client_time\":01}}",
		"{\"type\":\"time\",\"payload\":{\"client_time\":1.}}",
		"{\"type\":\"time\",\"payload\":{\"client_time\":.5}}",
		"{\"type\":\"time\",\"payload\":{\"client_time\":+1}}",
		"{\"type\":\"time\",\"payload\":{\"client_time\":0x10}}",
		"/* c */ {\"type\":\"chat\"}", "{\"type\":\"chat\"} // c",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"a\tb\"}}",    /* raw tab */
		"{\"type\":\"chat\",\"payload\":{\"text\":\"a\nb\"}}",    /* raw LF */
		"{\"type\":\"chat\",\"payload\":{\"text\":\"\\x41\"}}",   /* bad escape */
		"{\"type\":\"chat\",\"payload\":{\"text\":\"\\u12\"}}",
		"\xef\xbb\xbf{\"type\":\"chat\"}",                         /* BOM */
		" ", "\n\t ", "nul", "tru",
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rv_proto_error e = err(c[i], RV_ERR_BAD_JSON, "", NULL);

		assert_false(e.has_id);
	}
	err("{\"type\":\"chat\"} x", RV_ERR_BAD_JSON, "", "invalid JSON");
	err("[]", RV_ERR_BAD_JSON, "", NULL);
}

static void test_empty_input(void **state)
{
	struct rv_proto_error e;
	struct rv_msg m;

	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(rv_proto_decode("", 0, &m, &e), -1);
	check_failure_shape(&m, &e);
	assert_int_equal(e.code, RV_ERR_BAD_JSON);
	assert_false(e.has_id);
	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(rv_proto_decode(NULL, 0, &m, &e), -1);
	check_failure_shape(&m, &e);
	assert_int_equal(e.code, RV_ERR_BAD_JSON);
	/* Zero length wins over the bytes present. */
	assert_int_equal(rv_proto_decode("{\"type\":\"ack\"}", 0, &m, &e), -1);
	assert_int_equal(e.code, RV_ERR_BAD_JSON);
	/* A guarded zero-length buffer sits right on the guard page. */
	err_n("", 0, RV_ERR_BAD_JSON, "", NULL);
}

static void test_duplicate_keys(void **state)
{
	static const char *const c[] = {
		"{\"type\":\"chat\",\"type\":\"chat\",\"payload\":{\"text\":\"a\"}}",
		"{\"type\":\"chat\",\"type\":\"sync\",\"payload\":{\"text\":\"a\"}}",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"a\",\"text\":\"b\"}}",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"a\"},\"payload\":{\"text\":\"b\"}}",
		"{\"id\":\"1\",\"type\":\"chat\",\"payload\":{\"text\":\"a\"},\"id\":\"2\"}",
		/* Equal after unescaping. */
		"{\"type\":\"chat\",\"payload\":{\"text\":\"a\",\"t\\u0065xt\":\"b\"}}",
		/* Deep in an ignored field too. */
		"{\"type\":\"chat\",\"payload\":{\"text\":\"a\",\"x\":[{\"k\":1,\"k\":2}]}}",
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct rv_proto_error e = err(c[i], RV_ERR_BAD_JSON, "", NULL);

		assert_false(e.has_id);
	}
}

static void test_huge_and_special_numbers(void **state)
{
	static const char *const json_err[] = {
		SYNC("\"position\":1e400,\"playing\":true,\"speed\":1"),
		SYNC("\"position\":-1e400,\"playing\":true,\"speed\":1"),
		SYNC("\"position\":123456789012345678901234567890,\"playing\":true,\"speed\":1"),
		SYNC("\"position\":-123456789012345678901234567890,\"playing\":true,\"speed\":1"),
		P("time", "\"client_time\":9223372036854775808"),
		P("time", "\"client_time\":1e309"),
		P("bandwidth_report", "\"kbps\":1" "000000000000000000000000000000000000000"),
		/* Bare non-finite tokens are not JSON. */
		SYNC("\"position\":NaN,\"playing\":true,\"speed\":1"),
		SYNC("\"position\":nan,\"playing\":true,\"speed\":1"),
		SYNC("\"position\":Infinity,\"playing\":true,\"speed\":1"),
		SYNC("\"position\":-Infinity,\"playing\":true,\"speed\":1"),
		SYNC("\"position\":inf,\"playing\":true,\"speed\":1"),
		P("time", "\"client_time\":NaN"),
		P("time", "\"client_time\":-Infinity"),
		P("time", "\"client_time\":1e"),
		P("time", "\"client_time\":-"),
	};
	static const struct ecase strings[] = {
		{ SYNC("\"position\":\"NaN\",\"playing\":true,\"speed\":1"),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"position\"" },
		{ SYNC("\"position\":1,\"playing\":true,\"speed\":\"Infinity\""),
		  RV_ERR_BAD_PAYLOAD, "sync", "\"speed\"" },
		{ P("time", "\"client_time\":\"NaN\""), RV_ERR_BAD_PAYLOAD, "time",
		  "\"client_time\"" },
		{ P("time", "\"client_time\":\"-Infinity\""), RV_ERR_BAD_PAYLOAD,
		  "time", "\"client_time\"" },
		{ P("bandwidth_report", "\"kbps\":\"Infinity\""), RV_ERR_BAD_PAYLOAD,
		  "bandwidth_report", "\"kbps\"" },
		{ PROG("\"media_id\":\"m\",\"position\":1,\"duration\":\"Infinity\","
		       "\"playing\":true"), RV_ERR_BAD_PAYLOAD, "progress", "\"duration\"" },
	};
	struct rv_msg m;

	for (size_t i = 0; i < sizeof(json_err) / sizeof(json_err[0]); i++)
		err(json_err[i], RV_ERR_BAD_JSON, "", NULL);
	run_cases(strings, sizeof(strings) / sizeof(strings[0]));

	/* Underflow reads as zero, and a tiny positive is fine. */
	ok(P("time", "\"client_time\":1e-400"), &m);
	assert_true(m.u.time.client_time == 0);
	rv_msg_clear(&m);
	ok(SYNC("\"position\":5e-324,\"playing\":true,\"speed\":1"), &m);
	assert_true(m.u.sync.position == 5e-324);
	rv_msg_clear(&m);
}

static void test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
		"\xc0\xaf",             /* overlong '/' */
		"\xc1\xbf",             /* overlong */
		"\xe0\x80\xaf",         /* overlong 3-byte */
		"\xf0\x80\x80\xaf",     /* overlong 4-byte */
		"\xed\xa0\x80",         /* surrogate U+D800 */
		"\xed\xbf\xbf",         /* surrogate U+DFFF */
		"\xf4\x90\x80\x80",     /* past U+10FFFF */
		"\xf5\x80\x80\x80",
		"\xe2\x82",             /* truncated sequence */
		"\xf0\x9f\x98",
		"\xc3",
		"\x80",                 /* lone continuation */
		"\xbf\xbf",
		"\xfe", "\xff",
		"\xc3\x28",             /* bad continuation */
		"\xe2\x28\xa1",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *b = bad[i];
		char *in_value = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"a%sz\"}}", b);
		char *at_end = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"a%s\"}}", b);
		char *in_key = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"a\",\"%s\":1}}", b);
		char *in_root_key = xfmt("{\"%s\":1,\"type\":\"chat\"}", b);
		char *in_type = xfmt("{\"type\":\"chat%s\",\"id\":\"x\"}", b);
		char *in_id = xfmt("{\"type\":\"chat\",\"id\":\"%s\"}", b);
		char *outside = xfmt("{\"type\":\"chat\"}%s", b);
		char *bare = xfmt("%s", b);

		err(in_value, RV_ERR_BAD_JSON, "", NULL);
		err(at_end, RV_ERR_BAD_JSON, "", NULL);
		err(in_key, RV_ERR_BAD_JSON, "", NULL);
		err(in_root_key, RV_ERR_BAD_JSON, "", NULL);
		err(in_type, RV_ERR_BAD_JSON, "", NULL);
		err(in_id, RV_ERR_BAD_JSON, "", NULL);
		err(outside, RV_ERR_BAD_JSON, "", NULL);
		err(bare, RV_ERR_BAD_JSON, "", NULL);
		free(in_value);
		free(at_end);
		free(in_key);
		free(in_root_key);
		free(in_type);
		free(in_id);
		free(outside);
		free(bare);
	}

	/* Escaped lone surrogates are rejected too; a proper pair decodes. */
	err("{\"type\":\"chat\",\"payload\":{\"text\":\"\\ud800\"}}", RV_ERR_BAD_JSON, "", NULL);
	err("{\"type\":\"chat\",\"payload\":{\"text\":\"\\udc00x\"}}", RV_ERR_BAD_JSON, "", NULL);
	err("{\"type\":\"chat\",\"payload\":{\"text\":\"\\ud83d\\u0041\"}}", RV_ERR_BAD_JSON,
	    "", NULL);
	err("{\"type\":\"chat\",\"payload\":{\"\\udfff\":1,\"text\":\"a\"}}", RV_ERR_BAD_JSON,
	    "", NULL);

	struct rv_msg m;

	ok("{\"type\":\"chat\",\"payload\":{\"text\":\"\\ud83d\\ude00\"}}", &m);
	assert_string_equal(m.u.chat.text, "\xf0\x9f\x98\x80");
	assert_true(rv_utf8_valid(m.u.chat.text, m.u.chat.len));
	rv_msg_clear(&m);
	ok("{\"type\":\"chat\",\"payload\":{\"text\":\"\xf4\x8f\xbf\xbf\"}}", &m);
	assert_int_equal(m.u.chat.len, 4);
	rv_msg_clear(&m);
}

static void test_nul_bytes(void **state)
{
	struct rv_proto_error e;
	struct rv_msg m;
	static const char raw_in_string[] = "{\"type\":\"chat\",\"payload\":{\"text\":\"a\0b\"}}";
	static const char after_object[] = "{\"type\":\"time\",\"payload\":{\"client_time\":1}}\0";
	static const char before_object[] = "\0{\"type\":\"time\",\"payload\":{\"client_time\":1}}";
	static const char in_key[] = "{\"type\":\"time\",\"payload\":{\"client_time\":1,\"a\0\":2}}";
	static const char in_type[] = "{\"type\":\"time\0\",\"payload\":{\"client_time\":1}}";
	static const char between[] = "{\"type\":\"time\",\0\"payload\":{\"client_time\":1}}";

	err_n(raw_in_string, sizeof(raw_in_string) - 1, RV_ERR_BAD_JSON, "", NULL);
	err_n(after_object, sizeof(after_object) - 1, RV_ERR_BAD_JSON, "", NULL);
	err_n(before_object, sizeof(before_object) - 1, RV_ERR_BAD_JSON, "", NULL);
	err_n(in_key, sizeof(in_key) - 1, RV_ERR_BAD_JSON, "", NULL);
	err_n(in_type, sizeof(in_type) - 1, RV_ERR_BAD_JSON, "", NULL);
	err_n(between, sizeof(between) - 1, RV_ERR_BAD_JSON, "", NULL);
	err_n("\0", 1, RV_ERR_BAD_JSON, "", NULL);
	err_n("\0\0\0\0", 4, RV_ERR_BAD_JSON, "", NULL);

	/* Escaped NUL would make the C string shorter than the text: refused. */
	err("{\"type\":\"chat\",\"payload\":{\"text\":\"a\\u0000b\"}}", RV_ERR_BAD_JSON, "", NULL);
	err("{\"type\":\"chat\",\"payload\":{\"text\":\"\\u0000\"}}", RV_ERR_BAD_JSON, "", NULL);
	err("{\"type\":\"chat\\u0000\"}", RV_ERR_BAD_JSON, "", NULL);
	err("{\"type\":\"chat\",\"id\":\"\\u0000\"}", RV_ERR_BAD_JSON, "", NULL);

	/* The length, not a NUL, ends the input: a valid prefix decodes. */
	static const char prefix[] = "{\"type\":\"time\",\"payload\":{\"client_time\":3}}garbage";
	assert_int_equal(rv_proto_decode(prefix, sizeof(prefix) - 1 - 7, &m, &e), 0);
	assert_true(m.u.time.client_time == 3);
	rv_msg_clear(&m);
}

/* Nesting is bounded before jansson sees the text. */
static void test_nesting(void **state)
{
	struct rv_msg m;
	char *open, *close, *json;

	/* Root object (1) + 31 arrays = 32 levels: accepted. */
	open = rep("[", 31);
	close = rep("]", 31);
	json = xfmt("{\"type\":\"time\",\"payload\":{\"client_time\":1},\"x\":%s%s}", open, close);
	ok(json, &m);
	assert_true(m.u.time.client_time == 1);
	rv_msg_clear(&m);
	free(json);
	free(open);
	free(close);

	/* 33 levels: refused whatever the rest of the text is. */
	open = rep("[", 32);
	close = rep("]", 32);
	json = xfmt("{\"type\":\"time\",\"payload\":{\"client_time\":1},\"x\":%s%s}", open, close);
	err(json, RV_ERR_BAD_JSON, "", "nested deeper than 32");
	free(json);
	free(open);
	free(close);
	open = rep("{\"a\":", 32);
	close = rep("}", 32);
	json = xfmt("{\"type\":\"chat\",\"payload\":%s{\"text\":\"x\"}%s}", open, close);
	err(json, RV_ERR_BAD_JSON, "", "nested");
	free(json);
	free(open);
	free(close);

	/* 10000 deep: balanced, unbalanced, objects, at the root. */
	open = rep("[", 10000);
	close = rep("]", 10000);
	json = xfmt("%s%s", open, close);
	err(json, RV_ERR_BAD_JSON, "", "nested");
	free(json);
	err(open, RV_ERR_BAD_JSON, "", "nested");
	json = xfmt("{\"type\":\"time\",\"payload\":{\"client_time\":1},\"x\":%s", open);
	err(json, RV_ERR_BAD_JSON, "", "nested");
	free(json);
	free(open);
	free(close);
	open = rep("{\"a\":", 10000);
	close = rep("}", 10000);
	json = xfmt("%s1%s", open, close);
	err(json, RV_ERR_BAD_JSON, "", "nested");
	free(json);
	free(open);
	free(close);

	/* Closing brackets do not buy depth back: "]]]]" then 33 opens. */
	open = rep("[", 33);
	json = xfmt("]]]]]]]]%s", open);
	err(json, RV_ERR_BAD_JSON, "", "nested");
	free(json);
	free(open);

	/* Brackets inside strings (with escaped quotes) do not count. */
	open = rep("[{", 100);
	json = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"\\\"%s\\\\\"}}", open);
	ok(json, &m);
	assert_int_equal(m.u.chat.len, 1 + 200 + 1);
	rv_msg_clear(&m);
	free(json);
	free(open);

	/* An escaped backslash ends before the quote: the string closes, and
	 * the 33 brackets after it do count. */
	open = rep("[", 33);
	json = xfmt("{\"type\":\"chat\",\"payload\":{\"text\":\"\\\\\"},\"x\":%s}", open);
	err(json, RV_ERR_BAD_JSON, "", "nested");
	free(json);
	free(open);
}

/* Every strict prefix of a valid message is bad JSON, and decoding it reads
 * nothing past its end. */
static void test_truncated_prefixes(void **state)
{
	static const char *const msgs[] = {
		"{\"type\":\"sync\",\"payload\":{\"position\":12.5,\"playing\":true,"
		"\"speed\":1.25,\"at\":1700000000000.125},\"id\":\"abc\"}",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"h\\u00e9 \\\"q\\\" \\\\ "
		"\xf0\x9f\x98\x80 \\ud83d\\ude00\"},\"id\":\"\xe2\x82\xac\"}",
		"{\"type\":\"progress\",\"payload\":{\"media_id\":\"m-1\",\"position\":1e2,"
		"\"duration\":null,\"playing\":false}}",
		"{\"type\":\"bandwidth_report\",\"payload\":{\"kbps\":-0.0e+0}}",
		"{\"type\":\"reaction\",\"payload\":{\"emoji\":\"\xe2\x9d\xa4\"},\"x\":[true,false,null,{}]}",
	};
	struct guard g;

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		size_t len = strlen(msgs[i]);
		struct rv_proto_error e;
		struct rv_msg m;
		int rc;

		guard_init(&g, len);
		/* The whole message, for reference (may still be a payload error). */
		rc = rv_proto_decode(guard_put(&g, msgs[i], len), len, &m, &e);
		if (rc == 0)
			rv_msg_clear(&m);
		else
			assert_int_not_equal(e.code, RV_ERR_BAD_JSON);
		for (size_t n = 0; n < len; n++) {
			memset(&m, 0xa5, sizeof(m));
			rc = rv_proto_decode(guard_put(&g, msgs[i], n), n, &m, &e);
			if (rc != -1 || e.code != RV_ERR_BAD_JSON)
				fail_msg("prefix %zu of message %zu: rc %d code %s", n, i, rc,
					 rv_err_code_name(e.code));
			check_failure_shape(&m, &e);
			assert_false(e.has_id);
		}
		guard_free(&g);
	}
}

/* Deterministic mutations of valid messages: whatever comes out, decode
 * returns a well-formed result and never reads past the input. */
static void test_mutation_smoke(void **state)
{
	static const char *const seeds[] = {
		"{\"type\":\"sync\",\"payload\":{\"position\":12.5,\"playing\":true,"
		"\"speed\":1,\"at\":17e11},\"id\":\"a\"}",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"h\\u00e9\\\"\xc3\xa9\"},\"id\":\"b\"}",
		"{\"type\":\"progress\",\"payload\":{\"media_id\":\"m\",\"position\":5,"
		"\"duration\":9,\"playing\":false}}",
		"{\"type\":\"quality_request\",\"payload\":{\"profile\":\"720p\"}}",
		"{\"type\":\"transfer_host\",\"payload\":{\"to\":\"p1\"},\"id\":\"z\"}",
	};
	static const unsigned char alphabet[] = "{}[]\",:\\/0123456789eE.-+tfnu ";
	static const unsigned char spice[] = { 0x00, 0x80, 0xbf, 0xc0, 0xc3, 0xe2,
					       0xed, 0xf0, 0xf4, 0xf5, 0xff, 0x1f };
	unsigned char buf[256];
	uint64_t x = 0x9e3779b97f4a7c15ull;
	struct guard g;
	unsigned ok_count = 0;

	guard_init(&g, sizeof(buf));
	for (int iter = 0; iter < 20000; iter++) {
		const char *s = seeds[iter % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(s);
		struct rv_proto_error e;
		struct rv_msg m;

		memcpy(buf, s, len);
		for (int k = 0; k < 1 + iter % 4; k++) {
			size_t pos;
			unsigned char c;

			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			pos = len ? (size_t)(x >> 8) % len : 0;
			c = (x & 1) ? alphabet[(x >> 40) % (sizeof(alphabet) - 1)]
				    : spice[(x >> 40) % sizeof(spice)];
			switch ((x >> 4) % 4) {
			case 0:
				buf[pos] = c;
				break;
			case 1:
				if (len < sizeof(buf)) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = c;
					len++;
				}
				break;
			case 2:
				if (len) {
					memmove(buf + pos, buf + pos + 1, len - pos - 1);
					len--;
				}
				break;
			default:
				len = pos;
				break;
			}
		}
		memset(&m, 0xa5, sizeof(m));
		if (rv_proto_decode(guard_put(&g, buf, len), len, &m, &e) == 0) {
			assert_non_null(m.tree);
			assert_true(m.type >= RV_MSG_SYNC && m.type <= RV_MSG_MEDIA);
			ok_count++;
			rv_msg_clear(&m);
		} else {
			check_failure_shape(&m, &e);
		}
	}
	guard_free(&g);
	/* The mutator keeps some inputs valid: both paths were exercised. */
	assert_true(ok_count > 0);
}

/* Valid messages decoded from right against the guard page, at every
 * message type. */
static void test_guard_page_valid(void **state)
{
	static const char *const msgs[] = {
		SYNC(SYNC_OK),
		P("chat", "\"text\":\"x\""),
		P("reaction", "\"emoji\":\"x\""),
		P("time", "\"client_time\":1"),
		P("transfer_host", "\"to\":\"p\""),
		PROG("\"media_id\":\"m\",\"position\":1,\"playing\":true"),
		P("quality_request", "\"profile\":\"720p\""),
		P("bandwidth_report", "\"kbps\":1"),
	};

	for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		struct rv_msg m;

		ok(msgs[i], &m);
		assert_int_equal(m.type, (int)(RV_MSG_SYNC + i));
		/* The guard mapping is gone: strings must live in the tree. */
		if (m.type == RV_MSG_CHAT)
			assert_string_equal(m.u.chat.text, "x");
		rv_msg_clear(&m);
	}
}

/* ------------------------------------------------------- error_set */

static void test_error_set(void **state)
{
	struct rv_proto_error e;
	char *long_ref = rep("\xe2\x82\xac", 20);        /* 60 bytes */
	char *long_id = rep("\xc3\xa9", 100);             /* 200 bytes */
	char *long_arg = rep("\xf0\x9f\x98\x80", 60);     /* 240 bytes */

	memset(&e, 0xa5, sizeof(e));
	rv_proto_error_set(&e, RV_ERR_FORBIDDEN, NULL, NULL, "only the host may %s", "sync");
	assert_int_equal(e.code, RV_ERR_FORBIDDEN);
	assert_string_equal(e.message, "only the host may sync");
	assert_string_equal(e.ref, "");
	assert_false(e.has_id);

	rv_proto_error_set(&e, RV_ERR_NOT_FOUND, "transfer_host", "r9", "no member %d", 7);
	assert_int_equal(e.code, RV_ERR_NOT_FOUND);
	assert_string_equal(e.message, "no member 7");
	assert_string_equal(e.ref, "transfer_host");
	assert_true(e.has_id);
	assert_string_equal(e.id, "r9");

	/* Over-long pieces are cut at character boundaries. */
	rv_proto_error_set(&e, RV_ERR_RATE_LIMITED, long_ref, long_id, "x%s", long_arg);
	assert_int_equal(strlen(e.ref), 30);
	assert_memory_equal(e.ref, long_ref, 30);
	assert_true(strlen(e.id) <= RV_REQ_ID_MAX);
	assert_int_equal(strlen(e.id), 128);
	assert_true(rv_utf8_valid(e.id, strlen(e.id)));
	assert_true(e.has_id);
	/* "x" + 39 emoji = 157 bytes; the 40th would pass 159. */
	assert_int_equal(strlen(e.message), 157);
	assert_true(rv_utf8_valid(e.message, strlen(e.message)));

	rv_proto_error_set(NULL, RV_ERR_BAD_JSON, NULL, NULL, "ignored");
	free(long_ref);
	free(long_id);
	free(long_arg);
}

/* ----------------------------------------------------------- encoders */

static void test_encode_error_frame(void **state)
{
	struct rv_proto_error e;
	struct rv_frame *f;
	json_t *j;
	const json_t *p;

	/* A decode error becomes the reply, with the id echoed. */
	e = err("{\"type\":\"sync\",\"id\":\"r\\\"1\",\"payload\":{\"position\":1,"
		"\"playing\":true,\"speed\":9}}", RV_ERR_BAD_PAYLOAD, "sync", NULL);
	f = rv_proto_error_frame(&e, 1700000000123.456);
	assert_int_equal(f->kind, RV_FRAME_EVENT);
	assert_int_equal(f->msg_type, RV_MSG_ERROR);
	j = frame_json(f);
	assert_string_equal(jstr(j, "type"), "error");
	p = jpayload(j);
	assert_string_equal(jstr(p, "code"), "bad_payload");
	assert_string_equal(jstr(p, "message"),
			    "sync: \"speed\" must be a number between 0.25 and 4");
	assert_string_equal(jstr(p, "ref"), "sync");
	assert_string_equal(jstr(j, "id"), "r\"1");
	assert_near(jnum(j, "ts"), 1700000000123.456, 0.0005);
	assert_us_time(f, "ts");
	assert_null(json_object_get(j, "from"));
	json_decref(j);
	rv_frame_unref(f);

	/* No id, and a ref full of characters that need escaping. */
	rv_proto_error_set(&e, RV_ERR_UNKNOWN_TYPE, "a\"b\\c\n\x01\xe2\x82\xac", NULL,
			   "unknown message type");
	f = rv_proto_error_frame(&e, 0);
	j = frame_json(f);
	p = jpayload(j);
	assert_string_equal(jstr(p, "code"), "unknown_type");
	assert_string_equal(jstr(p, "ref"), "a\"b\\c\n\x01\xe2\x82\xac");
	assert_null(json_object_get(j, "id"));
	assert_true(jnum(j, "ts") == 0);
	json_decref(j);
	rv_frame_unref(f);

	/* Every error of the decoder encodes to a parseable frame. */
	static const char *const inputs[] = {
		"", "{", "[]", "{}", "{\"type\":\"\xf0\x9f\x98\x80\xf0\x9f\x98\x80\"}",
		"{\"type\":\"x\\u0001\\\"\",\"id\":\"\\\\\"}", "\xff\xfe",
	};
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct rv_msg m;

		assert_int_equal(rv_proto_decode(inputs[i], strlen(inputs[i]), &m, &e), -1);
		f = rv_proto_error_frame(&e, 5.5);
		j = frame_json(f);
		p = jpayload(j);
		assert_string_equal(jstr(p, "code"), rv_err_code_name(e.code));
		assert_string_equal(jstr(p, "message"), e.message);
		assert_string_equal(jstr(p, "ref"), e.ref);
		if (e.has_id)
			assert_string_equal(jstr(j, "id"), e.id);
		json_decref(j);
		rv_frame_unref(f);
	}
}

static void test_encode_ack_frame(void **state)
{
	struct rv_frame *f = rv_proto_ack_frame("req-1", 1700000000000.001);
	json_t *j = frame_json(f);

	assert_int_equal(f->kind, RV_FRAME_EVENT);
	assert_int_equal(f->msg_type, RV_MSG_ACK);
	assert_string_equal(jstr(j, "type"), "ack");
	assert_string_equal(jstr(j, "id"), "req-1");
	assert_near(jnum(j, "ts"), 1700000000000.001, 0.0005);
	assert_us_time(f, "ts");
	json_decref(j);
	rv_frame_unref(f);

	f = rv_proto_ack_frame(NULL, 1);
	j = frame_json(f);
	assert_null(json_object_get(j, "id"));
	json_decref(j);
	rv_frame_unref(f);
}

static void test_encode_sync_frame(void **state)
{
	static const double positions[] = {
		0.1, 12.5, 1e-7, 123456.789, 0, 1e9, 1.0 / 3.0, 0.30000000000000004,
		5e-324, 2.2250738585072014e-308, 86399.99999999999, 4503599627370497.0,
	};
	struct rv_frame *f;
	json_t *j;
	const json_t *p;

	for (size_t i = 0; i < sizeof(positions) / sizeof(positions[0]); i++) {
		struct rv_playback st = { positions[i], i % 2 == 0, 1.25, 1700000000000.5 };

		f = rv_proto_sync_frame(&st, "p1", 1700000000001.25, NULL);
		assert_int_equal(f->kind, RV_FRAME_STATE);
		assert_int_equal(f->msg_type, RV_MSG_SYNC);
		j = frame_json(f);
		assert_string_equal(jstr(j, "type"), "sync");
		p = jpayload(j);
		/* Bit for bit: the relayed position is the one the host sent. */
		if (jnum(p, "position") != positions[i])
			fail_msg("position %.17g came back as %.17g", positions[i],
				 jnum(p, "position"));
		assert_int_equal(json_is_true(json_object_get(p, "playing")), i % 2 == 0);
		assert_true(json_is_boolean(json_object_get(p, "playing")));
		assert_true(jnum(p, "speed") == 1.25);
		assert_near(jnum(p, "server_time"), 1700000000000.5, 0.0005);
		assert_string_equal(jstr(j, "from"), "p1");
		assert_near(jnum(j, "ts"), 1700000000001.25, 0.0005);
		assert_null(json_object_get(j, "id"));
		assert_us_time(f, "ts");
		assert_us_time(f, "server_time");
		json_decref(j);
		rv_frame_unref(f);
	}

	/* A direct reply (with id) must be delivered: an event. */
	struct rv_playback st = { 42, false, 0.25, 1000 };

	f = rv_proto_sync_frame(&st, "host", 1000, "s-1");
	assert_int_equal(f->kind, RV_FRAME_EVENT);
	j = frame_json(f);
	assert_string_equal(jstr(j, "id"), "s-1");
	p = jpayload(j);
	assert_true(jnum(p, "position") == 42);
	assert_true(json_is_false(json_object_get(p, "playing")));
	assert_true(jnum(p, "speed") == 0.25);
	json_decref(j);
	rv_frame_unref(f);

	/* The relayed frame decodes as a client sync with the same values. */
	st = (struct rv_playback){ 123456.789, true, 1.5, 1700000000000.125 };
	f = rv_proto_sync_frame(&st, "p", 1, NULL);
	{
		struct rv_proto_error e;
		struct rv_msg m;

		assert_int_equal(rv_proto_decode((const char *)rv_frame_data(f), f->len,
						 &m, &e), 0);
		assert_true(m.u.sync.position == 123456.789);
		assert_true(m.u.sync.playing);
		assert_true(m.u.sync.speed == 1.5);
		rv_msg_clear(&m);
	}
	rv_frame_unref(f);
}

static void test_encode_ts_precision(void **state)
{
	static const double ts[] = {
		1700000000123.456, 1700000000000.0, 1700000000000.001, 0.5, 999.999,
		1.5e12 + 0.25,
	};

	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		struct rv_frame *f = rv_proto_ack_frame("a", ts[i]);
		json_t *j = frame_json(f);
		const json_t *v = json_object_get(j, "ts");

		/* A real with a fractional part, even when it is .000. */
		assert_true(json_is_real(v));
		assert_near(json_real_value(v), ts[i], 0.0005);
		assert_us_time(f, "ts");
		json_decref(j);
		rv_frame_unref(f);
	}
	/* Microseconds survive, sub-microseconds are rounded away. */
	{
		struct rv_frame *f = rv_proto_ack_frame(NULL, 1700000000123.4567);
		char *text = strndup((const char *)rv_frame_data(f), f->len);

		assert_non_null(strstr(text, "\"ts\":1700000000123.457"));
		free(text);
		rv_frame_unref(f);
	}
}

/* Strings that need escaping, and bytes JSON must escape. */
static const char nasty[] = "q\"uote \\back\\slash \x01\x02\x1f\x7f \n\r\t "
			    "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 </script> \\u0000";

static void test_encode_chat_reaction(void **state)
{
	struct rv_frame *f;
	json_t *j;
	const json_t *p;

	f = rv_proto_chat_frame(nasty, strlen(nasty), "N\"a\\m\te \xf0\x9f\x8e\x89",
				"p-7", 1700000000000.5, "c1");
	assert_int_equal(f->kind, RV_FRAME_EVENT);
	assert_int_equal(f->msg_type, RV_MSG_CHAT);
	j = frame_json(f);
	assert_string_equal(jstr(j, "type"), "chat");
	p = jpayload(j);
	assert_string_equal(jstr(p, "text"), nasty);
	assert_int_equal(json_string_length(json_object_get(p, "text")), strlen(nasty));
	assert_string_equal(jstr(p, "name"), "N\"a\\m\te \xf0\x9f\x8e\x89");
	assert_string_equal(jstr(j, "from"), "p-7");
	assert_string_equal(jstr(j, "id"), "c1");
	assert_near(jnum(j, "ts"), 1700000000000.5, 0.0005);
	assert_us_time(f, "ts");
	json_decref(j);

	/* What a client would send back decodes to the same text. */
	{
		struct rv_proto_error e;
		struct rv_msg m;

		assert_int_equal(rv_proto_decode((const char *)rv_frame_data(f), f->len,
						 &m, &e), 0);
		assert_int_equal(m.type, RV_MSG_CHAT);
		assert_int_equal(m.u.chat.len, strlen(nasty));
		assert_memory_equal(m.u.chat.text, nasty, strlen(nasty));
		assert_string_equal(m.id, "c1");
		rv_msg_clear(&m);
	}
	rv_frame_unref(f);

	/* len bounds the text: a NUL in the middle survives as \u0000, and
	 * bytes past len are not sent. No id, no name: no such keys. */
	f = rv_proto_chat_frame("a\0b-not-sent", 3, NULL, "p", 1, NULL);
	j = frame_json(f);
	p = jpayload(j);
	assert_int_equal(json_string_length(json_object_get(p, "text")), 3);
	assert_memory_equal(jstr(p, "text"), "a\0b", 3);
	assert_null(json_object_get(p, "name"));
	assert_null(json_object_get(j, "id"));
	json_decref(j);
	rv_frame_unref(f);

	f = rv_proto_reaction_frame("\xf0\x9f\x91\x8d", 4, "bob", "p2", 2.5, NULL);
	assert_int_equal(f->kind, RV_FRAME_EVENT);
	assert_int_equal(f->msg_type, RV_MSG_REACTION);
	j = frame_json(f);
	assert_string_equal(jstr(j, "type"), "reaction");
	p = jpayload(j);
	assert_string_equal(jstr(p, "emoji"), "\xf0\x9f\x91\x8d");
	assert_string_equal(jstr(p, "name"), "bob");
	assert_string_equal(jstr(j, "from"), "p2");
	assert_null(json_object_get(j, "id"));
	assert_near(jnum(j, "ts"), 2.5, 0.0005);
	json_decref(j);
	rv_frame_unref(f);

	f = rv_proto_reaction_frame("\"\\", 2, nasty, "p\"3", 3, "r\\1");
	j = frame_json(f);
	p = jpayload(j);
	assert_string_equal(jstr(p, "emoji"), "\"\\");
	assert_string_equal(jstr(p, "name"), nasty);
	assert_string_equal(jstr(j, "from"), "p\"3");
	assert_string_equal(jstr(j, "id"), "r\\1");
	json_decref(j);
	rv_frame_unref(f);

	/* A 2000-byte chat of characters that all need escaping. */
	char *big = rep("\x01", RV_CHAT_MAX);

	f = rv_proto_chat_frame(big, RV_CHAT_MAX, "n", "p", 1, NULL);
	j = frame_json(f);
	p = jpayload(j);
	assert_int_equal(json_string_length(json_object_get(p, "text")), RV_CHAT_MAX);
	assert_string_equal(jstr(p, "text"), big);
	json_decref(j);
	rv_frame_unref(f);
	free(big);
}

static void test_encode_time_frame(void **state)
{
	struct rv_frame *f = rv_proto_time_frame(1699999999000.5, 1700000000000.25,
						 1700000000001.125, "t1");
	json_t *j = frame_json(f);
	const json_t *p;

	assert_int_equal(f->kind, RV_FRAME_EVENT);
	assert_int_equal(f->msg_type, RV_MSG_TIME);
	assert_string_equal(jstr(j, "type"), "time");
	p = jpayload(j);
	/* The client's own time comes back exactly. */
	assert_true(jnum(p, "client_time") == 1699999999000.5);
	assert_near(jnum(p, "server_receive_time"), 1700000000000.25, 0.0005);
	assert_near(jnum(p, "server_time"), 1700000000001.125, 0.0005);
	assert_near(jnum(j, "ts"), 1700000000001.125, 0.0005);
	assert_string_equal(jstr(j, "id"), "t1");
	assert_null(json_object_get(j, "from"));
	assert_us_time(f, "server_receive_time");
	assert_us_time(f, "server_time");
	json_decref(j);
	rv_frame_unref(f);

	f = rv_proto_time_frame(-12.000000001, 1, 2, NULL);
	j = frame_json(f);
	p = jpayload(j);
	assert_true(jnum(p, "client_time") == -12.000000001);
	assert_null(json_object_get(j, "id"));
	json_decref(j);
	rv_frame_unref(f);
}

/* Moved from test_party.c: a decoded time request and its reply. */
static void test_time_reply(void **state)
{
	struct rv_msg m;
	struct rv_frame *f;
	json_t *j;
	const json_t *p;

	ok("{\"type\":\"time\",\"payload\":{\"client_time\":123.5},\"id\":\"t7\"}", &m);
	f = rv_proto_time_reply(&m, 1700000009999.25, 1700000009999.5);
	rv_msg_clear(&m);
	assert_int_equal(f->msg_type, RV_MSG_TIME);
	j = frame_json(f);
	assert_string_equal(jstr(j, "type"), "time");
	assert_string_equal(jstr(j, "id"), "t7");
	p = jpayload(j);
	assert_true(jnum(p, "client_time") == 123.5);
	assert_true(jnum(p, "server_receive_time") == 1700000009999.25);
	assert_true(jnum(p, "server_time") == 1700000009999.5);
	json_decref(j);
	rv_frame_unref(f);

	ok("{\"type\":\"time\",\"payload\":{\"client_time\":-1}}", &m);
	f = rv_proto_time_reply(&m, 1, 2);
	rv_msg_clear(&m);
	j = frame_json(f);
	assert_null(json_object_get(j, "id"));
	assert_true(jnum(jpayload(j), "client_time") == -1);
	json_decref(j);
	rv_frame_unref(f);
}

static void test_encode_member_host_frames(void **state)
{
	static const enum rv_msg_type types[] = { RV_MSG_MEMBER_JOINED, RV_MSG_MEMBER_LEFT };
	struct rv_frame *f;
	json_t *j;
	const json_t *p;

	for (size_t i = 0; i < 2; i++) {
		f = rv_proto_member_frame(types[i], "p9", nasty, 1700000000000.75);
		assert_int_equal(f->kind, RV_FRAME_EVENT);
		assert_int_equal(f->msg_type, types[i]);
		j = frame_json(f);
		assert_string_equal(jstr(j, "type"), rv_msg_type_name(types[i]));
		p = jpayload(j);
		assert_string_equal(jstr(p, "id"), "p9");
		assert_string_equal(jstr(p, "name"), nasty);
		assert_near(jnum(j, "ts"), 1700000000000.75, 0.0005);
		assert_us_time(f, "ts");
		assert_null(json_object_get(j, "id"));
		assert_null(json_object_get(j, "from"));
		json_decref(j);
		rv_frame_unref(f);
	}
	f = rv_proto_member_frame(RV_MSG_MEMBER_JOINED, "p1",
				  "\xe5\xb0\x8f\xe6\x98\x8e \xf0\x9f\x98\x80", 1);
	j = frame_json(f);
	assert_string_equal(jstr(jpayload(j), "name"), "\xe5\xb0\x8f\xe6\x98\x8e \xf0\x9f\x98\x80");
	json_decref(j);
	rv_frame_unref(f);

	f = rv_proto_host_changed_frame("p3", 1700000000002.5);
	assert_int_equal(f->kind, RV_FRAME_EVENT);
	assert_int_equal(f->msg_type, RV_MSG_HOST_CHANGED);
	j = frame_json(f);
	assert_string_equal(jstr(j, "type"), "host_changed");
	assert_string_equal(jstr(jpayload(j), "host_id"), "p3");
	assert_near(jnum(j, "ts"), 1700000000002.5, 0.0005);
	assert_us_time(f, "ts");
	json_decref(j);
	rv_frame_unref(f);
}

/* No host: the key is still there, as JSON null (not "null", not absent). */
static void test_encode_host_changed_null(void **state)
{
	struct rv_frame *f = rv_proto_host_changed_frame(NULL, 1700000000003.25);
	json_t *j;
	const json_t *p;

	assert_non_null(f);
	assert_int_equal(f->kind, RV_FRAME_EVENT);
	assert_int_equal(f->msg_type, RV_MSG_HOST_CHANGED);
	j = frame_json(f);
	assert_string_equal(jstr(j, "type"), "host_changed");
	p = jpayload(j);
	assert_int_equal(json_object_size(p), 1);
	assert_true(json_is_null(json_object_get(p, "host_id")));
	assert_near(jnum(j, "ts"), 1700000000003.25, 0.0005);
	assert_us_time(f, "ts");
	assert_null(json_object_get(j, "id"));
	json_decref(j);
	rv_frame_unref(f);
}

/* ------------------------------------------------------------- utf8.c */

static void test_utf8_valid(void **state)
{
	static const struct { const char *s; size_t len; } good[] = {
		{ "", 0 }, { "plain ascii ~\x7f", 14 }, { "\x00", 1 },
		{ "\xc2\x80", 2 },                 /* U+0080 */
		{ "\xdf\xbf", 2 },                 /* U+07FF */
		{ "\xe0\xa0\x80", 3 },             /* U+0800 */
		{ "\xed\x9f\xbf", 3 },             /* U+D7FF */
		{ "\xee\x80\x80", 3 },             /* U+E000 */
		{ "\xef\xbf\xbf", 3 },             /* U+FFFF */
		{ "\xf0\x90\x80\x80", 4 },         /* U+10000 */
		{ "\xf4\x8f\xbf\xbf", 4 },         /* U+10FFFF */
		{ "a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d", 13 },
	};
	static const struct { const char *s; size_t len; } bad[] = {
		{ "\xc0\x80", 2 }, { "\xc0\xaf", 2 }, { "\xc1\xbf", 2 },
		{ "\xe0\x80\x80", 3 }, { "\xe0\x9f\xbf", 3 },
		{ "\xf0\x80\x80\x80", 4 }, { "\xf0\x8f\xbf\xbf", 4 },
		{ "\xed\xa0\x80", 3 }, { "\xed\xbf\xbf", 3 }, { "\xed\xb0\x80", 3 },
		{ "\xf4\x90\x80\x80", 4 }, { "\xf5\x80\x80\x80", 4 },
		{ "\xf8\x88\x80\x80\x80", 5 }, { "\xfc\x84\x80\x80\x80\x80", 6 },
		{ "\xfe", 1 }, { "\xff", 1 },
		{ "\x80", 1 }, { "\xbf", 1 }, { "a\x80" "b", 3 },
		{ "\xc3", 1 }, { "\xe2\x82", 2 }, { "\xf0\x9f\x98", 3 },
		{ "\xc3\x28", 2 }, { "\xe2\x28\xa1", 3 }, { "\xe2\x82\x28", 3 },
		{ "\xf0\x28\x8c\xbc", 4 }, { "ok\xc3\xa9\xc3", 5 },
	};
	struct guard g;

	guard_init(&g, 16);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!rv_utf8_valid(guard_put(&g, good[i].s, good[i].len), good[i].len))
			fail_msg("good[%zu] rejected", i);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rv_utf8_valid(guard_put(&g, bad[i].s, bad[i].len), bad[i].len))
			fail_msg("bad[%zu] accepted", i);
	/* len bounds the scan: a sequence cut by len is invalid. */
	assert_false(rv_utf8_valid("\xc3\xa9", 1));
	assert_false(rv_utf8_valid("\xf0\x9f\x98\x80", 3));
	assert_true(rv_utf8_valid("\xc3\xa9\xff", 2));
	guard_free(&g);

	assert_int_equal(rv_utf8_chars("", 0), 0);
	assert_int_equal(rv_utf8_chars("abc", 3), 3);
	assert_int_equal(rv_utf8_chars("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9), 3);
	assert_int_equal(rv_utf8_chars("a\xc3\xa9" "b\xe2\x82\xac" "c\xf0\x9f\x98\x80" "d", 13), 7);
}

static void test_valid_id(void **state)
{
	char *id64 = rep("a", RV_ID_MAX), *id65 = rep("a", RV_ID_MAX + 1);

	assert_true(rv_proto_valid_id("a", 1));
	assert_true(rv_proto_valid_id("Az09_-", 6));
	assert_true(rv_proto_valid_id("-", 1));
	assert_true(rv_proto_valid_id("123e4567-e89b-12d3-a456-426614174000", 36));
	assert_true(rv_proto_valid_id(id64, RV_ID_MAX));
	assert_false(rv_proto_valid_id(id65, RV_ID_MAX + 1));
	assert_false(rv_proto_valid_id("", 0));
	assert_false(rv_proto_valid_id("a b", 3));
	assert_false(rv_proto_valid_id("a/b", 3));
	assert_false(rv_proto_valid_id("..", 2));
	assert_false(rv_proto_valid_id("a.b", 3));
	assert_false(rv_proto_valid_id("a%20", 4));
	assert_false(rv_proto_valid_id("caf\xc3\xa9", 5));
	assert_false(rv_proto_valid_id("a\0b", 3));
	assert_false(rv_proto_valid_id("a\n", 2));
	/* Only len bytes are looked at. */
	assert_true(rv_proto_valid_id("ab/", 2));
	free(id64);
	free(id65);
}

/* Names that would let one member pass for another, look empty, or
 * reorder the text around them. */
static void test_valid_name_hostile(void **state)
{
	static const char *const ok[] = {
		"Ana Mar\xc3\xad" "a", "Jos\xc3\xa9", "Zo\xc3\xab",    /* accents */
		"\xe5\xb0\x8f\xe6\x98\x8e",                    /* CJK */
		"\xf0\x9f\x8e\x89", "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9", /* emoji, ZWJ */
		"ann lee", "ann\xc2\xa0lee", "ann\xe3\x80\x80lee",   /* one blank inside */
		"\xe2\x80\x8b" "ann",                          /* zero width beside a letter */
		"\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d",            /* Hebrew: RTL letters, no control */
		"\xd8\xb9\xd9\x84\xd9\x8a",                    /* Arabic */
		"e\xcc\x81", "\xcc\x81",                       /* combining marks are left alone */
		"a\xe2\x80\xa7", "a\xe2\x80\xb0", "a\xe2\x81\xb0", "a\xd8\x9b", /* U+2027, U+2030, U+2070, U+061B */
	};
	static const char *const refused[] = {
		/* bidi controls, anywhere */
		"ann\xe2\x80\xae", "\xe2\x80\xae" "ann", "a\xd8\x9c" "b", "a\xe2\x80\x8e",
		"a\xe2\x80\x8f", "a\xe2\x80\xaa", "a\xe2\x80\xab", "a\xe2\x80\xac", "a\xe2\x80\xad",
		"a\xe2\x81\xa6", "a\xe2\x81\xa7", "a\xe2\x81\xa8", "a\xe2\x81\xa9",
		/* line and paragraph separators, anywhere */
		"ann\xe2\x80\xa8lee", "ann\xe2\x80\xa9", "\xe2\x80\xa8",
		/* only white space */
		"\xc2\xa0", "\xe1\x9a\x80", "\xe2\x80\x80", "\xe2\x80\x8a", "\xe2\x80\xaf",
		"\xe2\x81\x9f", "\xe3\x80\x80", " \xe3\x80\x80 ",
		/* only zero-width or invisible */
		"\xe2\x80\x8b", "\xe2\x80\x8c", "\xe2\x80\x8d", "\xe2\x81\xa0", "\xef\xbb\xbf",
		"\xe2\x80\x8b\xe2\x80\x8b\xe2\x80\x8b", "\xc2\xad", "\xef\xb8\x8f",
		"\xf3\xa0\x81\x81",
		/* only fillers */
		"\xe1\x85\x9f", "\xe1\x85\xa0", "\xe3\x85\xa4", "\xef\xbe\xa0", "\xe2\xa0\x80",
		"\xe3\x85\xa4\xe3\x85\xa4",
		/* a mix of them all, still nothing to see */
		" \xc2\xa0\xe2\x80\x8b\xe3\x85\xa4\xe2\xa0\x80\xef\xbb\xbf",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!rv_proto_valid_name(ok[i], strlen(ok[i])))
			fail_msg("refused ok[%zu]", i);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (rv_proto_valid_name(refused[i], strlen(refused[i])))
			fail_msg("accepted refused[%zu]", i);
	/* Only len bytes are looked at: a refused character past len is not. */
	assert_true(rv_proto_valid_name("ann\xe2\x80\xae", 3));
}

static void test_valid_name(void **state)
{
	char *a32 = rep("a", 32), *a33 = rep("a", 33);
	char *e32 = rep("\xf0\x9f\x98\x80", 32), *e33 = rep("\xf0\x9f\x98\x80", 33);
	char *c32 = rep("\xc3\xa9", 32), *c33 = rep("\xc3\xa9", 33);
	char *sp = rep(" ", 5);

	assert_true(rv_proto_valid_name("bob", 3));
	assert_true(rv_proto_valid_name("a", 1));
	assert_true(rv_proto_valid_name(" a ", 3));
	assert_true(rv_proto_valid_name("Ana Mar\xc3\xad" "a", 10));
	assert_true(rv_proto_valid_name("\xe5\xb0\x8f\xe6\x98\x8e", 6));
	assert_true(rv_proto_valid_name(a32, 32));
	assert_false(rv_proto_valid_name(a33, 33));
	assert_true(rv_proto_valid_name(e32, 128));     /* 32 chars, 128 bytes */
	assert_false(rv_proto_valid_name(e33, 132));
	assert_true(rv_proto_valid_name(c32, 64));
	assert_false(rv_proto_valid_name(c33, 66));
	assert_false(rv_proto_valid_name("", 0));
	assert_false(rv_proto_valid_name(" ", 1));
	assert_false(rv_proto_valid_name(sp, 5));
	/* Control characters: C0, DEL, C1 (U+0080-U+009F). */
	assert_false(rv_proto_valid_name("\t", 1));
	assert_false(rv_proto_valid_name("a\tb", 3));
	assert_false(rv_proto_valid_name("a\nb", 3));
	assert_false(rv_proto_valid_name("a\rb", 3));
	assert_false(rv_proto_valid_name("a\x1b[31m", 7));
	assert_false(rv_proto_valid_name("a\x7f", 2));
	assert_false(rv_proto_valid_name("a\0b", 3));
	assert_false(rv_proto_valid_name("a\xc2\x85", 3));
	assert_false(rv_proto_valid_name("a\xc2\x9f", 3));
	assert_true(rv_proto_valid_name("a\xc2\xa9", 3));  /* U+00A9 is printable */
	/* Invalid UTF-8. */
	assert_false(rv_proto_valid_name("a\xc0\xaf", 3));
	assert_false(rv_proto_valid_name("a\xed\xa0\x80", 4));
	assert_false(rv_proto_valid_name("a\xe2\x82", 3));
	assert_false(rv_proto_valid_name("\xff", 1));
	free(a32);
	free(a33);
	free(e32);
	free(e33);
	free(c32);
	free(c33);
	free(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_type_names),
		cmocka_unit_test(test_err_code_names),
		cmocka_unit_test(test_decode_sync),
		cmocka_unit_test(test_decode_chat),
		cmocka_unit_test(test_decode_reaction),
		cmocka_unit_test(test_decode_time),
		cmocka_unit_test(test_decode_transfer_host),
		cmocka_unit_test(test_decode_progress),
		cmocka_unit_test(test_decode_quality_request),
		cmocka_unit_test(test_decode_bandwidth_report),
		cmocka_unit_test(test_decode_refresh),
		cmocka_unit_test(test_decode_sync_v2),
		cmocka_unit_test(test_decode_whitespace_and_lifetime),
		cmocka_unit_test(test_msg_clear),
		cmocka_unit_test(test_sync_errors),
		cmocka_unit_test(test_text_errors),
		cmocka_unit_test(test_chat_too_large),
		cmocka_unit_test(test_time_bandwidth_progress_errors),
		cmocka_unit_test(test_type_errors),
		cmocka_unit_test(test_unknown_type_ref_truncation),
		cmocka_unit_test(test_request_id),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_empty_input),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_huge_and_special_numbers),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_nul_bytes),
		cmocka_unit_test(test_nesting),
		cmocka_unit_test(test_truncated_prefixes),
		cmocka_unit_test(test_mutation_smoke),
		cmocka_unit_test(test_guard_page_valid),
		cmocka_unit_test(test_error_set),
		cmocka_unit_test(test_encode_error_frame),
		cmocka_unit_test(test_encode_ack_frame),
		cmocka_unit_test(test_encode_sync_frame),
		cmocka_unit_test(test_encode_ts_precision),
		cmocka_unit_test(test_encode_chat_reaction),
		cmocka_unit_test(test_encode_time_frame),
		cmocka_unit_test(test_time_reply),
		cmocka_unit_test(test_encode_member_host_frames),
		cmocka_unit_test(test_encode_host_changed_null),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_valid_id),
		cmocka_unit_test(test_valid_name),
		cmocka_unit_test(test_valid_name_hostile),
		cmocka_unit_test(test_decode_media),
		cmocka_unit_test(test_valid_media_url),
		cmocka_unit_test(test_encode_media_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
