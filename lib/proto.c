/* lib/proto.c - the revenge.v1 decoder: type and error-code names, and
 * rv_proto_decode(), which turns one client->server text frame into a
 * validated struct rv_msg or a struct rv_proto_error ready to be encoded as
 * an `error` reply (see proto.h; encoders live in proto_encode.c).
 *
 * The parse tree (jansson) is kept in the message so decoded strings are
 * borrowed, never copied. Hostile input is expected: a byte scan bounds the
 * nesting depth before jansson recurses, and every field is checked for
 * presence, JSON kind and range before it is stored.
 */
#include "revenge/proto.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_DEPTH 32            /* [ and { levels, the root included */
#define PARTICIPANT_ID_MAX 32   /* transfer_host "to" */
#define NONNEG "a finite number >= 0"

static const char *const type_names[RV_MSG__COUNT] = {
	[RV_MSG_INVALID] = "invalid",
	[RV_MSG_SYNC] = "sync",
	[RV_MSG_CHAT] = "chat",
	[RV_MSG_REACTION] = "reaction",
	[RV_MSG_TIME] = "time",
	[RV_MSG_TRANSFER_HOST] = "transfer_host",
	[RV_MSG_PROGRESS] = "progress",
	[RV_MSG_QUALITY_REQUEST] = "quality_request",
	[RV_MSG_BANDWIDTH_REPORT] = "bandwidth_report",
	[RV_MSG_REFRESH] = "refresh",
	[RV_MSG_BUFFERING] = "buffering",
	[RV_MSG_READY] = "ready",
	[RV_MSG_START] = "start",
	[RV_MSG_STATUS] = "status",
	[RV_MSG_MEMBERS] = "members",
	[RV_MSG_MEDIA] = "media",
	[RV_MSG_WELCOME] = "welcome",
	[RV_MSG_MEMBER_JOINED] = "member_joined",
	[RV_MSG_MEMBER_LEFT] = "member_left",
	[RV_MSG_HOST_CHANGED] = "host_changed",
	[RV_MSG_ERROR] = "error",
	[RV_MSG_ACK] = "ack",
	[RV_MSG_QUALITY_STATE] = "quality_state",
	[RV_MSG_QUALITY_CHANGED] = "quality_changed",
	[RV_MSG_QUALITY_SUGGESTION] = "quality_suggestion",
	[RV_MSG_PARTY_STATE] = "party_state",
	[RV_MSG_DROPPED] = "dropped",
	[RV_MSG_DRIFT] = "drift",
	[RV_MSG_PRESENCE] = "presence",
};

static const char *const err_names[RV_ERR__COUNT] = {
	[RV_ERR_NONE] = "none",
	[RV_ERR_BAD_JSON] = "bad_json",
	[RV_ERR_UNKNOWN_TYPE] = "unknown_type",
	[RV_ERR_BAD_PAYLOAD] = "bad_payload",
	[RV_ERR_FORBIDDEN] = "forbidden",
	[RV_ERR_RATE_LIMITED] = "rate_limited",
	[RV_ERR_TOO_LARGE] = "too_large",
	[RV_ERR_NOT_FOUND] = "not_found",
	[RV_ERR_UNAUTHORIZED] = "unauthorized",
	[RV_ERR_UNKNOWN_PROFILE] = "unknown_profile",
	[RV_ERR_STORE_UNAVAILABLE] = "store_unavailable",
};

const char *rv_msg_type_name(enum rv_msg_type t)
{
	if ((unsigned)t >= RV_MSG__COUNT)
		return "invalid";
	return type_names[t];
}

enum rv_msg_type rv_msg_type_from_name(const char *name, size_t len)
{
	if (!name)
		return RV_MSG_INVALID;
	for (int t = RV_MSG_INVALID + 1; t < RV_MSG__COUNT; t++)
		if (strlen(type_names[t]) == len && memcmp(type_names[t], name, len) == 0)
			return (enum rv_msg_type)t;
	return RV_MSG_INVALID;
}

const char *rv_err_code_name(enum rv_err_code c)
{
	if ((unsigned)c >= RV_ERR__COUNT)
		return "unknown";
	return err_names[c];
}

/* Copy s (NUL-terminated, may be NULL) into dst[size], cut at a character
 * boundary. */
static void copy_cut(char *dst, size_t size, const char *s)
{
	size_t n = s ? rv_utf8_cut(s, strlen(s), size - 1) : 0;

	if (n)
		memcpy(dst, s, n);
	dst[n] = '\0';
}

static void error_vset(struct rv_proto_error *err, enum rv_err_code code,
		       const char *ref, const char *id, const char *fmt, va_list ap)
{
	/* A few bytes past the limit show whether the cut splits a character. */
	char tmp[sizeof(err->message) + 4];
	int n;

	err->code = code;
	if (vsnprintf(tmp, sizeof(tmp), fmt, ap) < 0)
		tmp[0] = '\0';
	n = (int)rv_utf8_cut(tmp, strnlen(tmp, sizeof(tmp)), sizeof(err->message) - 1);
	memcpy(err->message, tmp, (size_t)n);
	err->message[n] = '\0';
	copy_cut(err->ref, sizeof(err->ref), ref);
	err->has_id = id != NULL;
	copy_cut(err->id, sizeof(err->id), id);
}

void rv_proto_error_set(struct rv_proto_error *err, enum rv_err_code code,
			const char *ref, const char *id, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	error_vset(err, code, ref, id, fmt, ap);
	va_end(ap);
}

/* Decoding context: where errors go, with the type and id read so far. */
struct dec {
	struct rv_proto_error *err;
	const char *tname;          /* wire name of the type, for messages */
	const char *ref;
	const char *id;
	const json_t *payload;
};

/* Set the error, with the ref and id read so far; returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(struct dec *d, enum rv_err_code code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vset(d->err, code, d->ref, d->id, fmt, ap);
	va_end(ap);
	return -1;
}

/* Field readers: each returns 0 with the value stored, or -1 with the
 * error set. A missing payload reads as {}, so every field is missing. */

/* A finite number in [lo, hi]; what says so in words for the error. */
static int get_num(struct dec *d, const char *key, double lo, double hi,
		   const char *what, double *out)
{
	const json_t *v = json_object_get(d->payload, key);
	double x;

	if (!v)
		return fail(d, RV_ERR_BAD_PAYLOAD, "%s: \"%s\" is required",
			    d->tname, key);
	x = json_is_number(v) ? json_number_value(v) : NAN;
	if (!isfinite(x) || x < lo || x > hi)
		return fail(d, RV_ERR_BAD_PAYLOAD, "%s: \"%s\" must be %s",
			    d->tname, key, what);
	*out = x;
	return 0;
}

static int get_bool(struct dec *d, const char *key, bool *out)
{
	const json_t *v = json_object_get(d->payload, key);

	if (!v)
		return fail(d, RV_ERR_BAD_PAYLOAD, "%s: \"%s\" is required",
			    d->tname, key);
	if (!json_is_boolean(v))
		return fail(d, RV_ERR_BAD_PAYLOAD, "%s: \"%s\" must be true or false",
			    d->tname, key);
	*out = json_is_true(v);
	return 0;
}

/* A string of 1..max bytes; over max is too_large when long_is_too_large,
 * else bad_payload. */
static int get_str(struct dec *d, const char *key, size_t max,
		   bool long_is_too_large, const char **out, size_t *out_len)
{
	const json_t *v = json_object_get(d->payload, key);
	size_t n;

	if (!v)
		return fail(d, RV_ERR_BAD_PAYLOAD, "%s: \"%s\" is required",
			    d->tname, key);
	if (!json_is_string(v))
		return fail(d, RV_ERR_BAD_PAYLOAD, "%s: \"%s\" must be a string",
			    d->tname, key);
	n = json_string_length(v);
	if (n == 0)
		return fail(d, RV_ERR_BAD_PAYLOAD, "%s: \"%s\" must not be empty",
			    d->tname, key);
	if (n > max)
		return fail(d, long_is_too_large ? RV_ERR_TOO_LARGE : RV_ERR_BAD_PAYLOAD,
			    "%s: \"%s\" must be at most %zu bytes", d->tname, key, max);
	*out = json_string_value(v);
	if (out_len)
		*out_len = n;
	return 0;
}

static int dec_sync(struct dec *d, struct rv_msg *m)
{
	const json_t *at;

	if (get_num(d, "position", 0, 1e9, "a number between 0 and 1e9",
		    &m->u.sync.position) ||
	    get_bool(d, "playing", &m->u.sync.playing) ||
	    get_num(d, "speed", RV_SPEED_MIN, RV_SPEED_MAX,
		    "a number between 0.25 and 4", &m->u.sync.speed))
		return -1;
	at = json_object_get(d->payload, "at");
	if (at) {
		if (get_num(d, "at", 0, INFINITY, NONNEG, &m->u.sync.at))
			return -1;
		m->u.sync.has_at = true;
	}
	return 0;
}

static int dec_progress(struct dec *d, struct rv_msg *m)
{
	const json_t *dur;
	size_t n;

	if (get_str(d, "media_id", RV_ID_MAX, false, &m->u.progress.media_id, &n))
		return -1;
	if (!rv_proto_valid_id(m->u.progress.media_id, n))
		return fail(d, RV_ERR_BAD_PAYLOAD,
			    "progress: \"media_id\" must be 1-64 characters of A-Z a-z 0-9 _ -");
	if (get_num(d, "position", 0, INFINITY, NONNEG,
		    &m->u.progress.position))
		return -1;
	dur = json_object_get(d->payload, "duration");
	if (dur && !json_is_null(dur)) {
		if (get_num(d, "duration", 0, INFINITY,
			    "null or a finite number >= 0", &m->u.progress.duration))
			return -1;
		m->u.progress.has_duration = true;
		if (m->u.progress.duration > 0 &&
		    m->u.progress.position > m->u.progress.duration)
			return fail(d, RV_ERR_BAD_PAYLOAD,
				    "progress: \"position\" must not exceed \"duration\"");
	}
	return get_bool(d, "playing", &m->u.progress.playing);
}

static int dec_status(struct dec *d, struct rv_msg *m)
{
	const json_t *v;

	if (get_num(d, "position", 0, 1e9, "a number between 0 and 1e9",
		    &m->u.status.position) ||
	    get_bool(d, "playing", &m->u.status.playing))
		return -1;
	if (json_object_get(d->payload, "buffering") &&
	    get_bool(d, "buffering", &m->u.status.buffering))
		return -1;
	if (json_object_get(d->payload, "at")) {
		if (get_num(d, "at", 0, INFINITY, NONNEG, &m->u.status.at))
			return -1;
		m->u.status.has_at = true;
	}
	v = json_object_get(d->payload, "clock_error_ms");
	if (v && !json_is_null(v)) {
		if (get_num(d, "clock_error_ms", 0, 1e9, "null or a number between 0 and 1e9",
			    &m->u.status.clock_error_ms))
			return -1;
		m->u.status.has_clock_error = true;
	}
	return 0;
}

static int dec_members(struct dec *d, struct rv_msg *m)
{
	const json_t *v;
	double limit;

	m->u.members.limit = RV_MEMBERS_PAGE_DEFAULT;
	v = json_object_get(d->payload, "after");
	if (v && !json_is_null(v) &&
	    get_str(d, "after", PARTICIPANT_ID_MAX, false, &m->u.members.after, NULL))
		return -1;
	if (json_object_get(d->payload, "limit")) {
		if (get_num(d, "limit", 1, RV_MEMBERS_PAGE_MAX,
			    "a whole number between 1 and 1000", &limit))
			return -1;
		if (limit != floor(limit))
			return fail(d, RV_ERR_BAD_PAYLOAD,
				    "members: \"limit\" must be a whole number between 1 and 1000");
		m->u.members.limit = (unsigned)limit;
	}
	return 0;
}

/* media {url, title?}: url a string or null (nothing watched). */
static int dec_media(struct dec *d, struct rv_msg *m)
{
	const json_t *v = json_object_get(d->payload, "url");

	m->u.media.title = "";
	if (v && json_is_null(v))
		return 0;
	if (get_str(d, "url", RV_MEDIA_URL_MAX, true, &m->u.media.url, &m->u.media.url_len))
		return -1;
	if (!rv_proto_valid_media_url(m->u.media.url, m->u.media.url_len))
		return fail(d, RV_ERR_BAD_PAYLOAD,
			    "media: \"url\" must be an http(s) URL or a relative path, "
			    "without spaces, controls or backslashes");
	v = json_object_get(d->payload, "title");
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return fail(d, RV_ERR_BAD_PAYLOAD, "media: \"title\" must be a string");
	m->u.media.title = json_string_value(v);
	m->u.media.title_len = json_string_length(v);
	if (m->u.media.title_len > RV_MEDIA_TITLE_MAX)
		return fail(d, RV_ERR_TOO_LARGE, "media: \"title\" must be at most %d bytes",
			    RV_MEDIA_TITLE_MAX);
	if (!rv_proto_valid_title(m->u.media.title, m->u.media.title_len))
		return fail(d, RV_ERR_BAD_PAYLOAD,
			    "media: \"title\" must not hold controls, bidi controls or line separators");
	return 0;
}

static int dec_payload(struct dec *d, struct rv_msg *m)
{
	switch (m->type) {
	case RV_MSG_SYNC:
		return dec_sync(d, m);
	case RV_MSG_CHAT:
		return get_str(d, "text", RV_CHAT_MAX, true, &m->u.chat.text,
			       &m->u.chat.len);
	case RV_MSG_REACTION:
		return get_str(d, "emoji", RV_EMOJI_MAX, true, &m->u.reaction.emoji,
			       &m->u.reaction.len);
	case RV_MSG_TIME:
		return get_num(d, "client_time", -INFINITY, INFINITY,
			       "a finite number", &m->u.time.client_time);
	case RV_MSG_TRANSFER_HOST:
		return get_str(d, "to", PARTICIPANT_ID_MAX, false,
			       &m->u.transfer_host.to, NULL);
	case RV_MSG_PROGRESS:
		return dec_progress(d, m);
	case RV_MSG_QUALITY_REQUEST:
		return get_str(d, "profile", RV_PROFILE_MAX, false,
			       &m->u.quality_request.profile, NULL);
	case RV_MSG_BANDWIDTH_REPORT:
		return get_num(d, "kbps", 0, 1e9, "a number between 0 and 1e9",
			       &m->u.bandwidth_report.kbps);
	case RV_MSG_REFRESH:
		return get_str(d, "token", RV_TOKEN_MAX, true, &m->u.refresh.token,
			       &m->u.refresh.len);
	case RV_MSG_BUFFERING:
	case RV_MSG_READY:
	case RV_MSG_START:
		return 0;           /* no fields; unknown ones are ignored */
	case RV_MSG_STATUS:
		return dec_status(d, m);
	case RV_MSG_MEMBERS:
		return dec_members(d, m);
	case RV_MSG_MEDIA:
		return dec_media(d, m);
	default:
		return fail(d, RV_ERR_UNKNOWN_TYPE, "unknown message type");
	}
}

/* Copy printable ASCII of jansson's error text, so the message stays valid
 * UTF-8 whatever bytes the parser quoted from the input. */
static void ascii_only(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i]; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	dst[i] = '\0';
}

int rv_proto_decode(const char *text, size_t len, struct rv_msg *msg,
		    struct rv_proto_error *err)
{
	struct rv_proto_error scratch;
	struct dec d = { .err = err ? err : &scratch, .ref = NULL, .id = NULL };
	json_t *root = NULL;
	const json_t *v, *type;
	json_error_t jerr;
	char why[sizeof(jerr.text)];
	char ref[sizeof(d.err->ref)] = "";

	memset(msg, 0, sizeof(*msg));
	memset(d.err, 0, sizeof(*d.err));
	if (!text || len == 0)
		return fail(&d, RV_ERR_BAD_JSON, "empty message");
	if (rv_json_depth_exceeded(text, len, MAX_DEPTH) != SIZE_MAX)
		return fail(&d, RV_ERR_BAD_JSON,
			    "invalid JSON: nested deeper than %d levels", MAX_DEPTH);
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		ascii_only(why, sizeof(why), jerr.text);
		return fail(&d, RV_ERR_BAD_JSON, "invalid JSON at byte %d: %s",
			    jerr.position, why);
	}
	if (!json_is_object(root)) {
		fail(&d, RV_ERR_BAD_JSON, "a message must be a JSON object");
		goto out;
	}

	/* The type as sent, for ref, as soon as it is readable. */
	type = json_object_get(root, "type");
	if (json_is_string(type)) {
		copy_cut(ref, sizeof(ref), json_string_value(type));
		d.ref = ref;
	}

	v = json_object_get(root, "id");
	if (v) {
		if (!json_is_string(v) || json_string_length(v) < 1 ||
		    json_string_length(v) > RV_REQ_ID_MAX) {
			fail(&d, RV_ERR_BAD_PAYLOAD,
			     "\"id\" must be a string of 1-%d bytes", RV_REQ_ID_MAX);
			goto out;
		}
		d.id = json_string_value(v);
	}

	if (!type) {
		fail(&d, RV_ERR_BAD_PAYLOAD, "\"type\" is required");
		goto out;
	}
	if (!json_is_string(type)) {
		fail(&d, RV_ERR_BAD_PAYLOAD, "\"type\" must be a string");
		goto out;
	}
	msg->type = rv_msg_type_from_name(json_string_value(type),
					  json_string_length(type));
	if (msg->type < RV_MSG_SYNC || msg->type > RV_MSG_MEDIA) {
		fail(&d, RV_ERR_UNKNOWN_TYPE, "unknown message type \"%s\"", ref);
		goto out;
	}
	d.tname = rv_msg_type_name(msg->type);

	v = json_object_get(root, "payload");
	if (v && !json_is_object(v)) {
		fail(&d, RV_ERR_BAD_PAYLOAD, "%s: \"payload\" must be an object",
		     d.tname);
		goto out;
	}
	d.payload = v;
	if (dec_payload(&d, msg))
		goto out;

	msg->id = d.id;
	msg->tree = root;
	return 0;

out:
	json_decref(root);
	memset(msg, 0, sizeof(*msg));
	return -1;
}

void rv_msg_clear(struct rv_msg *msg)
{
	if (!msg)
		return;
	json_decref((json_t *)msg->tree);
	memset(msg, 0, sizeof(*msg));
}
