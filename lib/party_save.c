/* lib/party_save.c - a watch party's stored document and resume tokens
 * (party_save.h): encode, decode with every field checked (the document
 * comes from a database someone else may have written to), the state a
 * restored party starts from, and the tokens' form and hash. Pure: no
 * clock, no I/O; jansson and OpenSSL's SHA-256 only.
 */
#include "party_save.h"

#include <jansson.h>
#include <math.h>
#include <openssl/sha.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"

static json_t *state_json(const struct rv_playback *st)
{
	return json_pack("{s:f,s:b,s:f,s:f}", "position", st->position, "playing",
			 (int)st->playing, "speed", st->speed, "server_time", st->server_time);
}

static json_t *id_or_null(const char *id)
{
	return *id ? json_string(id) : json_null();
}

char *rv__party_save_encode(const struct rv__party_save *s)
{
	json_t *doc = json_object(), *hist = json_array(), *mem = json_array();
	char *out = NULL;
	bool ok = doc && hist && mem;

	for (size_t i = 0; ok && i < s->n_history; i++)
		ok = !json_array_append_new(hist, json_stringn(s->history[i], s->history_len[i]));
	for (size_t i = 0; ok && i < s->n_members; i++) {
		const struct rv__party_save_member *m = &s->members[i];

		ok = !json_array_append_new(mem, json_pack("{s:s,s:s,s:s,s:f}", "id", m->id, "name",
							   m->name, "token", m->token_hash,
							   "until", m->until));
	}
	ok = ok && !json_object_set_new(doc, "v", json_integer(RV__PARTY_SAVE_VERSION)) &&
	     !json_object_set_new(doc, "state", state_json(&s->state)) &&
	     !json_object_set_new(doc, "host", id_or_null(s->host)) &&
	     !json_object_set_new(doc, "claim", *s->claim ?
				  json_pack("{s:s,s:f}", "id", s->claim, "until", s->claim_until) :
				  json_null()) &&
	     !json_object_set(doc, "history", hist) && !json_object_set(doc, "members", mem);
	if (ok && s->media_url[0])
		ok = !json_object_set_new(doc, "media", json_pack("{s:s,s:s}", "url", s->media_url,
								  "title", s->media_title));
	if (ok)
		out = json_dumps(doc, JSON_COMPACT);
	json_decref(hist);
	json_decref(mem);
	json_decref(doc);
	return out;
}

static bool member_id_ok(const char *id)
{
	size_t len = strlen(id);

	return len >= 1 && len <= RV_MEMBER_ID_MAX && rv_utf8_valid(id, len);
}

static bool hash_ok(const char *h)
{
	size_t len = strlen(h);

	if (len != RV__RESUME_HASH_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return true;
}

/* A string member of o that fits in len bytes (with its NUL) into out. */
static bool get_str(const json_t *o, const char *key, char *out, size_t len)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= len ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return true;
}

static bool get_num(const json_t *o, const char *key, double *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return false;
	*out = json_number_value(v);
	return true;
}

static int decode_state(const json_t *o, struct rv_playback *st)
{
	const json_t *playing = json_object_get(o, "playing");

	if (!json_is_object(o) || !get_num(o, "position", &st->position) ||
	    !get_num(o, "speed", &st->speed) || !get_num(o, "server_time", &st->server_time) ||
	    !json_is_boolean(playing) || st->position < 0 || st->speed < 0.25 || st->speed > 4)
		return RV_EINVAL;
	st->playing = json_is_true(playing);
	return 0;
}

static int decode_history(const json_t *a, struct rv__party_save *s)
{
	size_t n = json_array_size(a);

	if (!n)
		return 0;
	if (!(s->history = calloc(n, sizeof(*s->history))) ||
	    !(s->history_len = calloc(n, sizeof(*s->history_len))))
		return RV_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);
		size_t len = json_string_length(v);

		if (!json_is_string(v) || !len || len > RV__PARTY_SAVE_CHAT_MAX)
			continue;
		if (!(s->history[s->n_history] = malloc(len + 1)))
			return RV_ENOMEM;
		memcpy(s->history[s->n_history], json_string_value(v), len + 1);
		s->history_len[s->n_history++] = len;
	}
	return 0;
}

static int decode_members(const json_t *a, struct rv__party_save *s)
{
	size_t n = json_array_size(a);

	if (n > RV__PARTY_SAVE_MEMBERS_MAX)
		n = RV__PARTY_SAVE_MEMBERS_MAX;
	if (!n)
		return 0;
	if (!(s->members = calloc(n, sizeof(*s->members))))
		return RV_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);
		struct rv__party_save_member *m = &s->members[s->n_members];

		if (!json_is_object(v) || !get_str(v, "id", m->id, sizeof(m->id)) ||
		    !member_id_ok(m->id) || !get_str(v, "name", m->name, sizeof(m->name)) ||
		    !rv_proto_valid_name(m->name, strlen(m->name)) ||
		    !get_str(v, "token", m->token_hash, sizeof(m->token_hash)) ||
		    !hash_ok(m->token_hash) || !get_num(v, "until", &m->until) || m->until < 0)
			continue;
		s->n_members++;
	}
	return 0;
}

int rv__party_save_decode(const char *doc, struct rv__party_save *out)
{
	json_t *root, *v;
	int err = RV_EINVAL;

	memset(out, 0, sizeof(*out));
	/* our own documents are 4 deep; a deeper one is not ours, and
	 * jansson recurses */
	if (!doc || rv_json_depth_exceeded(doc, strlen(doc), 8) != SIZE_MAX)
		return RV_EINVAL;
	if (!(root = json_loads(doc, JSON_REJECT_DUPLICATES, NULL)))
		return RV_EINVAL;
	v = json_object_get(root, "v");
	if (!json_is_object(root) || !json_is_integer(v) ||
	    json_integer_value(v) != RV__PARTY_SAVE_VERSION ||
	    decode_state(json_object_get(root, "state"), &out->state))
		goto out;
	v = json_object_get(root, "host");
	if (json_is_string(v) && !(get_str(root, "host", out->host, sizeof(out->host)) &&
				   member_id_ok(out->host)))
		out->host[0] = 0;
	v = json_object_get(root, "claim");
	if (json_is_object(v) && !(get_str(v, "id", out->claim, sizeof(out->claim)) &&
				   member_id_ok(out->claim) &&
				   get_num(v, "until", &out->claim_until)))
		out->claim[0] = 0;
	v = json_object_get(root, "media");
	if (json_is_object(v) &&
	    !(get_str(v, "url", out->media_url, sizeof(out->media_url)) &&
	      rv_proto_valid_media_url(out->media_url, strlen(out->media_url)) &&
	      get_str(v, "title", out->media_title, sizeof(out->media_title)) &&
	      rv_proto_valid_title(out->media_title, strlen(out->media_title))))
		out->media_url[0] = out->media_title[0] = 0;
	if ((err = decode_history(json_object_get(root, "history"), out)) ||
	    (err = decode_members(json_object_get(root, "members"), out)))
		rv__party_save_clear(out);
out:
	json_decref(root);
	return err;
}

void rv__party_save_clear(struct rv__party_save *s)
{
	if (!s)
		return;
	for (size_t i = 0; s->history && i < s->n_history; i++)
		free(s->history[i]);
	free(s->history);
	free(s->history_len);
	free(s->members);
	memset(s, 0, sizeof(*s));
}

struct rv_playback rv__party_save_resume_state(const struct rv_playback *st, double now_ms)
{
	struct rv_playback r = *st;

	if (st->server_time > now_ms)
		return r;
	r.position = rv_playback_position_at(st, now_ms);
	r.server_time = now_ms;
	return r;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = 0;
}

void rv__resume_hash(const char *token, char *out)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)token, strlen(token), md);
	hex(md, sizeof(md), out);
}

void rv__resume_token(const unsigned char bytes[16], char *out)
{
	hex(bytes, 16, out);
}

bool rv__resume_token_ok(const char *s, size_t len)
{
	if (len != RV__RESUME_TOKEN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

size_t rv__resume_rec_encode(const struct rv__party_save_member *m, uint64_t join, bool host,
			     char *out, size_t cap)
{
	int n;

	if (!(m->until >= 0 && m->until < 1e18))
		return 0;
	n = snprintf(out, cap, "%.0f %llu %d %s %s", floor(m->until), (unsigned long long)join,
		     host ? 1 : 0, m->id, m->name);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A whole number of 1 to 18 digits at *p (moved past it and one space). */
static bool rec_number(const char **p, const char *end, uint64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;

	while (*p < end && **p >= '0' && **p <= '9' && n < 18) {
		v = v * 10 + (uint64_t)(**p - '0');
		(*p)++;
		n++;
	}
	if (!n || *p >= end || **p != ' ')
		return false;
	(*p)++;
	*out = v;
	return true;
}

bool rv__resume_rec_decode(const char *s, size_t len, const char *hash,
			   struct rv__party_save_member *m, uint64_t *join, bool *host)
{
	const char *p = s, *end = s + len, *id;
	uint64_t until, j, h;
	struct rv__party_save_member r;
	size_t id_len;

	if (!s || !hash || len >= RV__RESUME_REC_MAX || !rec_number(&p, end, &until) ||
	    !rec_number(&p, end, &j) || !rec_number(&p, end, &h) || h > 1)
		return false;
	for (id = p; p < end && *p != ' '; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= 'A' && *p <= 'Z') || *p == '-'))
			return false;
	id_len = (size_t)(p - id);
	if (!id_len || id_len > RV_MEMBER_ID_MAX || p >= end || (size_t)(end - p - 1) >
	    RV_NAME_MAX_BYTES || !rv_proto_valid_name(p + 1, (size_t)(end - p - 1)))
		return false;
	memset(&r, 0, sizeof(r));
	memcpy(r.id, id, id_len);
	memcpy(r.name, p + 1, (size_t)(end - p - 1));
	snprintf(r.token_hash, sizeof(r.token_hash), "%s", hash);
	if (!hash_ok(r.token_hash))
		return false;
	r.until = (double)until;
	*m = r;
	*join = j;
	*host = h == 1;
	return true;
}
