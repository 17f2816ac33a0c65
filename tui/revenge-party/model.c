/* tui/revenge-party/model.c - what revenge-party knows, and what a typed
 * line means (see model.h).
 *
 * Owns the party as this client sees it: members, host, playback state, the
 * chat scrollback and the clock offset estimate. Decoded server messages
 * (jansson) change it and mark what they touched dirty; typed lines become
 * commands and commands become the JSON to send. It never draws, reads a
 * clock or touches a socket, so the tests drive it with text and made-up
 * times, and the view and the event loop stay thin.
 */
#include "model.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

const char *const tm_command_names[] = {
	"/play", "/pause", "/seek", "/speed", "/react", "/host", "/members",
	"/help", "/quit", NULL,
};

/* ---- strings ---------------------------------------------------------- */

/* Copy src[0..len) into dst of size bytes, cut at a character boundary
 * when it does not fit; always NUL-terminated. */
static void copy_text(char *dst, size_t size, const char *src, size_t len)
{
	size_t n = len;

	if (n > size - 1)
		n = rv_utf8_cut(src, len, size - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Control characters from the wire would move the terminal's cursor or
 * worse; a space keeps the length and the UTF-8 valid. */
static void scrub(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, size, fmt, ap);

	if (n < 0)
		buf[0] = '\0';
	else if ((size_t)n >= size)
		buf[rv_utf8_cut(buf, size - 1, size - 1)] = '\0';
}

static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vformat(err, errlen, fmt, ap);
	va_end(ap);
}

/* A stable colour 1..6 for a name (FNV-1a), so a person keeps their colour
 * across lines, reconnects and other people's screens. */
static unsigned name_color(const char *name)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h % 6 + 1;
}

/* ---- JSON access ------------------------------------------------------ */

static const char *jstr(const json_t *obj, const char *key, size_t *len)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_string(v))
		return NULL;
	if (len)
		*len = json_string_length(v);
	return json_string_value(v);
}

static bool jnum(const json_t *obj, const char *key, double *out)
{
	json_t *v = json_object_get(obj, key);

	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

/* A member id as the server sends it, NULL when absent or out of range
 * (an id is matched exactly, so it is never cut to fit). */
static const char *jid(const json_t *obj, const char *key)
{
	size_t len;
	const char *s = jstr(obj, key, &len);

	return s && len >= 1 && len <= RV_MEMBER_ID_MAX ? s : NULL;
}

static int read_state(const json_t *o, struct rv_playback *st)
{
	json_t *playing = json_object_get(o, "playing");

	if (!jnum(o, "position", &st->position) || !(st->position >= 0) ||
	    !json_is_boolean(playing) || !jnum(o, "speed", &st->speed) ||
	    !(st->speed > 0) || !jnum(o, "server_time", &st->server_time))
		return -1;
	st->playing = json_is_true(playing);
	return 0;
}

/* The server time a relayed message carries, or the local time if none. */
static double msg_ts(const json_t *msg, double local_now_ms)
{
	double ts;

	return jnum(msg, "ts", &ts) ? ts : local_now_ms;
}

/* ---- members ---------------------------------------------------------- */

static const struct tm_member *member_by_id(const struct tm_model *m, const char *id)
{
	for (size_t i = 0; i < m->n_members; i++)
		if (strcmp(m->members[i].id, id) == 0)
			return &m->members[i];
	return NULL;
}

/* Add a member, or rename one already present; silently full at
 * TM_MEMBERS_MAX (the list shows the longest present). */
static void member_put(struct tm_model *m, const char *id, const char *name, size_t len)
{
	struct tm_member *mb = (struct tm_member *)member_by_id(m, id);

	if (!mb) {
		if (m->n_members == TM_MEMBERS_MAX)
			return;
		mb = &m->members[m->n_members++];
		copy_text(mb->id, sizeof(mb->id), id, strlen(id));
	}
	copy_text(mb->name, sizeof(mb->name), name, len);
	scrub(mb->name);
	mb->color = name_color(mb->name);
}

static void member_drop(struct tm_model *m, const char *id)
{
	const struct tm_member *mb = member_by_id(m, id);
	size_t i;

	if (!mb)
		return;
	i = (size_t)(mb - m->members);
	memmove(&m->members[i], &m->members[i + 1],
		(m->n_members - i - 1) * sizeof(m->members[0]));
	m->n_members--;
}

/* The name to show for a participant id: the member's, else the id. */
static const char *name_of(const struct tm_model *m, const char *id)
{
	const struct tm_member *mb = member_by_id(m, id);

	return mb ? mb->name : id;
}

/* ---- scrollback ------------------------------------------------------- */

static void __attribute__((format(printf, 5, 0)))
vline_add(struct tm_model *m, enum tm_line_kind kind, double at_ms,
	  const char *name, const char *fmt, va_list ap)
{
	struct tm_line *l;

	if (m->n_lines < TM_LINES_MAX) {
		l = &m->lines[(m->first_line + m->n_lines) % TM_LINES_MAX];
		m->n_lines++;
	} else {
		l = &m->lines[m->first_line];
		m->first_line = (m->first_line + 1) % TM_LINES_MAX;
	}
	l->kind = kind;
	l->at_ms = at_ms;
	copy_text(l->name, sizeof(l->name), name ? name : "", name ? strlen(name) : 0);
	scrub(l->name);
	l->color = l->name[0] ? name_color(l->name) : 0;
	vformat(l->text, sizeof(l->text), fmt, ap);
	scrub(l->text);
	/* Someone reading back keeps their place while lines arrive. */
	if (m->scroll > 0 && m->scroll + 1 < m->n_lines)
		m->scroll++;
	m->dirty |= TM_DIRTY_CHAT;
}

static void __attribute__((format(printf, 5, 6)))
line_add(struct tm_model *m, enum tm_line_kind kind, double at_ms,
	 const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline_add(m, kind, at_ms, name, fmt, ap);
	va_end(ap);
}

void tm_notice(struct tm_model *m, double local_now_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline_add(m, TM_NOTICE, local_now_ms, NULL, fmt, ap);
	va_end(ap);
}

/* Line i of the scrollback, oldest first; NULL past the end. */
static const struct tm_line *line_at(const struct tm_model *m, size_t i)
{
	if (i >= m->n_lines)
		return NULL;
	return &m->lines[(m->first_line + i) % TM_LINES_MAX];
}

/* The ts of the newest chat line held, -inf when there is none. */
static double last_chat_at(const struct tm_model *m)
{
	for (size_t i = m->n_lines; i > 0; i--) {
		const struct tm_line *l = line_at(m, i - 1);

		if (l->kind == TM_CHAT)
			return l->at_ms;
	}
	return -INFINITY;
}

/* ---- server messages -------------------------------------------------- */

/* The name a relayed chat or reaction shows: its payload's, else the
 * sender's member name, else its id. */
static const char *sender_name(const struct tm_model *m, const json_t *msg,
			       const json_t *p)
{
	const char *name = jstr(p, "name", NULL);
	const char *from = jstr(msg, "from", NULL);

	if (name)
		return name;
	return from ? name_of(m, from) : "?";
}

static int apply_chat(struct tm_model *m, const json_t *msg, const json_t *p,
		      double local_now_ms)
{
	const char *text = jstr(p, "text", NULL);

	if (!text)
		return -1;
	line_add(m, TM_CHAT, msg_ts(msg, local_now_ms), sender_name(m, msg, p),
		 "%s", text);
	return 0;
}

static int apply_welcome(struct tm_model *m, const json_t *p, double local_now_ms)
{
	const char *self = jid(p, "participant_id"), *host = jid(p, "host_id");
	const char *party;
	json_t *members = json_object_get(p, "members");
	json_t *history = json_object_get(p, "history");
	json_t *v;
	struct rv_playback st;
	double since;
	size_t i, len = 0;

	/* Check everything before changing anything: a bad welcome leaves the
	 * model as it was. */
	if (!self || !host || !json_is_array(members) ||
	    read_state(json_object_get(p, "state"), &st) < 0 ||
	    (history && !json_is_array(history)))
		return -1;
	json_array_foreach(members, i, v)
		if (!jid(v, "id") || !jstr(v, "name", NULL))
			return -1;

	copy_text(m->self_id, sizeof(m->self_id), self, strlen(self));
	copy_text(m->host_id, sizeof(m->host_id), host, strlen(host));
	party = jstr(p, "party_id", &len);
	if (party && rv_proto_valid_id(party, len))
		copy_text(m->party, sizeof(m->party), party, len);
	m->n_members = 0;
	json_array_foreach(members, i, v) {
		const char *name = jstr(v, "name", &len);

		member_put(m, jid(v, "id"), name, len);
	}
	if (member_by_id(m, m->self_id))
		copy_text(m->self_name, sizeof(m->self_name),
			  name_of(m, m->self_id), strlen(name_of(m, m->self_id)));
	m->state = st;

	/* The first welcome brings the history; a rejoin keeps what is on
	 * screen and adds only what was said while away. */
	if (!m->joined) {
		m->n_lines = m->first_line = 0;
		m->scroll = 0;
		since = -INFINITY;
	} else {
		since = last_chat_at(m);
	}
	json_array_foreach(history, i, v) {
		const json_t *hp = json_object_get(v, "payload");
		const char *type = jstr(v, "type", NULL);
		double ts;

		/* A bad entry costs only itself. */
		if ((type && strcmp(type, "chat") != 0) || !jstr(hp, "text", NULL) ||
		    !jnum(v, "ts", &ts) || !(ts > since))
			continue;
		apply_chat(m, v, hp, local_now_ms);
	}
	m->joined = true;
	m->dirty |= TM_DIRTY_ALL;
	return 0;
}

static int apply_member(struct tm_model *m, const json_t *msg, const json_t *p,
			bool joined, double local_now_ms)
{
	const char *id = jid(p, "id");
	size_t len;
	const char *name = jstr(p, "name", &len);
	char shown[RV_NAME_MAX_BYTES + 1];

	if (!id || (joined && !name))
		return -1;
	if (!name) {
		name = name_of(m, id);
		len = strlen(name);
	}
	copy_text(shown, sizeof(shown), name, len);
	if (joined)
		member_put(m, id, name, len);
	else
		member_drop(m, id);
	line_add(m, joined ? TM_JOIN : TM_LEAVE, msg_ts(msg, local_now_ms), shown,
		 "%s", joined ? "joined" : "left");
	m->dirty |= TM_DIRTY_MEMBERS;
	return 0;
}

static int apply_host_changed(struct tm_model *m, const json_t *msg, const json_t *p,
			      double local_now_ms)
{
	const char *host = jid(p, "host_id");
	const char *name;

	if (!host)
		return -1;
	copy_text(m->host_id, sizeof(m->host_id), host, strlen(host));
	name = name_of(m, m->host_id);
	line_add(m, TM_HOST, msg_ts(msg, local_now_ms), name, "is now the host");
	m->dirty |= TM_DIRTY_MEMBERS | TM_DIRTY_STATUS | TM_DIRTY_PLAYER;
	return 0;
}

static int apply_time(struct tm_model *m, const json_t *p, double local_now_ms)
{
	double t0, t1, t2;

	if (!jnum(p, "client_time", &t0) || !jnum(p, "server_receive_time", &t1) ||
	    !jnum(p, "server_time", &t2))
		return -1;
	rv_offset_add(&m->clock, t0, t1, t2, local_now_ms);
	m->dirty |= TM_DIRTY_PLAYER;
	return 0;
}

static int apply_error(struct tm_model *m, const json_t *p, double local_now_ms)
{
	const char *code = jstr(p, "code", NULL);
	const char *text = jstr(p, "message", NULL);

	if (code && text)
		tm_notice(m, local_now_ms, "%s: %s", code, text);
	else if (code || text)
		tm_notice(m, local_now_ms, "%s", code ? code : text);
	else
		tm_notice(m, local_now_ms, "the server reported an error");
	return 0;
}

static int dispatch(struct tm_model *m, const json_t *msg, const char *type,
		    const json_t *p, double local_now_ms)
{
	struct rv_playback st;

	if (strcmp(type, "welcome") == 0)
		return apply_welcome(m, p, local_now_ms);
	if (strcmp(type, "member_joined") == 0)
		return apply_member(m, msg, p, true, local_now_ms);
	if (strcmp(type, "member_left") == 0)
		return apply_member(m, msg, p, false, local_now_ms);
	if (strcmp(type, "host_changed") == 0)
		return apply_host_changed(m, msg, p, local_now_ms);
	if (strcmp(type, "sync") == 0) {
		if (read_state(p, &st) < 0)
			return -1;
		m->state = st;
		m->dirty |= TM_DIRTY_PLAYER;
		return 0;
	}
	if (strcmp(type, "chat") == 0)
		return apply_chat(m, msg, p, local_now_ms);
	if (strcmp(type, "reaction") == 0) {
		const char *emoji = jstr(p, "emoji", NULL);
		const char *name = sender_name(m, msg, p);

		if (!emoji)
			return -1;
		line_add(m, TM_REACTION, msg_ts(msg, local_now_ms), name,
			 "reacted %s", emoji);
		return 0;
	}
	if (strcmp(type, "time") == 0)
		return apply_time(m, p, local_now_ms);
	if (strcmp(type, "error") == 0)
		return apply_error(m, p, local_now_ms);
	/* ack, and types of a newer server: nothing to show. */
	return 0;
}

int tm_apply(struct tm_model *m, const char *text, size_t len, double local_now_ms)
{
	json_error_t jerr;
	json_t *msg, *payload;
	const char *type;
	int rc = -1;

	if (!text)
		return -1;
	/* Integers as reals: a number too big for an int64 is still a number
	 * (then judged by range) rather than a parse failure. */
	msg = json_loadb(text, len, JSON_DECODE_INT_AS_REAL, &jerr);
	if (!json_is_object(msg))
		goto out;
	type = jstr(msg, "type", NULL);
	payload = json_object_get(msg, "payload");
	if (!type || (payload && !json_is_object(payload)))
		goto out;
	rc = dispatch(m, msg, type, payload, local_now_ms);
out:
	json_decref(msg);
	return rc;
}

/* ---- queries ---------------------------------------------------------- */

void tm_init(struct tm_model *m, const char *party, const char *self_name,
	     double duration_s)
{
	memset(m, 0, sizeof(*m));
	if (party)
		copy_text(m->party, sizeof(m->party), party, strlen(party));
	if (self_name)
		copy_text(m->self_name, sizeof(m->self_name), self_name, strlen(self_name));
	m->duration_s = isfinite(duration_s) && duration_s > 0 ? duration_s : 0;
	m->state.speed = 1;
	rv_offset_reset(&m->clock);
	m->conn = TM_CONNECTING;
	m->dirty = TM_DIRTY_ALL;
}

bool tm_is_host(const struct tm_model *m)
{
	return m->joined && m->self_id[0] && strcmp(m->self_id, m->host_id) == 0;
}

const char *tm_host_name(const struct tm_model *m)
{
	const struct tm_member *mb = m->host_id[0] ? member_by_id(m, m->host_id) : NULL;

	return mb ? mb->name : "";
}

const struct tm_member *tm_member_named(const struct tm_model *m, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < m->n_members; i++)
		if (strcmp(m->members[i].name, name) == 0)
			return &m->members[i];
	return NULL;
}

double tm_server_now(const struct tm_model *m, double local_now_ms)
{
	double offset;

	return rv_offset_get(&m->clock, &offset, NULL) ? local_now_ms + offset
						       : local_now_ms;
}

double tm_position(const struct tm_model *m, double local_now_ms)
{
	return rv_playback_position_at(&m->state, tm_server_now(m, local_now_ms));
}

/* ---- clock text ------------------------------------------------------- */

/* Digits from *p (at most max of them) into *v; the count, 0 if none. */
static size_t digits(const char **p, size_t max, double *v)
{
	size_t n = 0;

	*v = 0;
	while (**p >= '0' && **p <= '9') {
		if (++n > max)
			return 0;
		*v = *v * 10 + (**p - '0');
		(*p)++;
	}
	return n;
}

/* "D[.D]" with no sign, locale-free (the terminal UI sets a locale, and
 * strtod would then want a decimal comma in some). -1 when malformed. */
static double parse_decimal(const char *s)
{
	double v, frac;
	const char *p = s, *f;
	size_t n = digits(&p, 9, &v);

	if (*p == '.') {
		f = ++p;
		if (!digits(&p, 9, &frac))
			return -1;
		v += frac / pow(10, (double)(p - f));
	} else if (!n) {
		return -1;
	}
	return *p ? -1 : v;
}

double tm_parse_clock(const char *s)
{
	double part, total = 0;
	const char *p = s;
	int n = 0;

	if (!s)
		return -1;
	for (;;) {
		/* The leading field is unbounded (90:00 is 90 minutes); the
		 * others are two digits below 60, as on a clock. */
		size_t nd = digits(&p, n ? 2 : 9, &part);

		if (!nd || (n && (nd != 2 || part >= 60)))
			return -1;
		total = total * 60 + part;
		n++;
		if (*p == '.') {
			double frac = parse_decimal(p);

			return frac < 0 ? -1 : total + frac;
		}
		if (*p == '\0')
			return total;
		if (*p != ':' || n == 3)
			return -1;
		p++;
	}
}

void tm_format_clock(double s, char *buf, size_t len)
{
	unsigned long t, h;

	if (!buf || !len)
		return;
	if (!(s > 0))
		s = 0;
	if (s > 359999999.0)            /* 99999:59:59 */
		s = 359999999.0;
	t = (unsigned long)s;           /* whole seconds, as players show */
	h = t / 3600;
	if (h)
		snprintf(buf, len, "%lu:%02lu:%02lu", h, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%lu:%02lu", t / 60, t % 60);
}

/* ---- typed commands --------------------------------------------------- */

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static int parse_chat(const char *text, size_t len, struct tm_cmd *cmd,
		      char *err, size_t errlen)
{
	size_t i = 0;

	while (i < len && blank(text[i]))
		i++;
	if (i == len) {
		seterr(err, errlen, "empty message");
		return -1;
	}
	if (len > RV_CHAT_MAX) {
		seterr(err, errlen, "message too long (%zu bytes, max %d)", len, RV_CHAT_MAX);
		return -1;
	}
	if (!rv_utf8_valid(text, len)) {
		seterr(err, errlen, "message is not valid UTF-8");
		return -1;
	}
	cmd->kind = TM_CMD_CHAT;
	memcpy(cmd->text, text, len);
	cmd->text[len] = '\0';
	return 0;
}

enum { ARG_NONE, ARG_NEEDED };

static const struct {
	const char *name;
	enum tm_cmd_kind kind;
	int arg;
	const char *usage;
} commands[] = {
	{ "play", TM_CMD_PLAY, ARG_NONE, "/play" },
	{ "pause", TM_CMD_PAUSE, ARG_NONE, "/pause" },
	{ "seek", TM_CMD_SEEK, ARG_NEEDED,
	  "/seek TIME, +SECONDS or -SECONDS (TIME as 1:23:45, 23:45 or 45)" },
	{ "speed", TM_CMD_SPEED, ARG_NEEDED, "/speed RATE (0.25 to 4)" },
	{ "react", TM_CMD_REACT, ARG_NEEDED, "/react EMOJI" },
	{ "host", TM_CMD_HOST, ARG_NEEDED, "/host NAME" },
	{ "members", TM_CMD_MEMBERS, ARG_NONE, "/members" },
	{ "help", TM_CMD_HELP, ARG_NONE, "/help" },
	{ "quit", TM_CMD_QUIT, ARG_NONE, "/quit" },
};

static int parse_arg(struct tm_cmd *cmd, const char *arg, size_t len,
		     char *err, size_t errlen)
{
	double v;

	switch (cmd->kind) {
	case TM_CMD_SEEK:
		cmd->relative = arg[0] == '+' || arg[0] == '-';
		v = tm_parse_clock(arg + cmd->relative);
		if (v < 0) {
			seterr(err, errlen, "bad time \"%s\" (try 1:23:45, 23:45, 45, +30 or -10)",
			       arg);
			return -1;
		}
		cmd->value = arg[0] == '-' ? -v : v;
		return 0;
	case TM_CMD_SPEED:
		/* "1.5x" reads as players print it. */
		if (len > 1 && (arg[len - 1] == 'x' || arg[len - 1] == 'X')) {
			char num[32];

			if (len > sizeof(num))
				goto bad_speed;
			memcpy(num, arg, len - 1);
			num[len - 1] = '\0';
			v = parse_decimal(num);
		} else {
			v = parse_decimal(arg);
		}
		if (v < 0)
			goto bad_speed;
		if (v < RV_SPEED_MIN || v > RV_SPEED_MAX) {
			seterr(err, errlen, "speed must be between 0.25 and 4");
			return -1;
		}
		cmd->value = v;
		return 0;
	case TM_CMD_REACT:
		if (len > RV_EMOJI_MAX) {
			seterr(err, errlen, "reaction too long (%zu bytes, max %d)", len,
			       RV_EMOJI_MAX);
			return -1;
		}
		break;
	case TM_CMD_HOST:
		if (len > RV_NAME_MAX_BYTES) {
			seterr(err, errlen, "no member named %s", arg);
			return -1;
		}
		break;
	default:
		return 0;
	}
	if (!rv_utf8_valid(arg, len)) {
		seterr(err, errlen, "not valid UTF-8");
		return -1;
	}
	memcpy(cmd->text, arg, len);
	cmd->text[len] = '\0';
	return 0;
bad_speed:
	seterr(err, errlen, "bad speed \"%s\" (try 1.25)", arg);
	return -1;
}

int tm_parse_command(const char *line, struct tm_cmd *cmd, char *err, size_t errlen)
{
	char arg[TM_TEXT_MAX + 1];
	const char *word, *a;
	size_t len, wlen, alen;

	memset(cmd, 0, sizeof(*cmd));
	seterr(err, errlen, "%s", "");
	if (!line) {
		seterr(err, errlen, "no input");
		return -1;
	}
	len = strlen(line);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	if (len == 0)
		return 0;               /* TM_CMD_NONE: an empty line does nothing */
	if (line[0] != '/')
		return parse_chat(line, len, cmd, err, errlen);
	if (len > 1 && line[1] == '/')
		return parse_chat(line + 1, len - 1, cmd, err, errlen);

	word = line + 1;
	for (wlen = 0; 1 + wlen < len && !blank(word[wlen]); wlen++)
		;
	a = word + wlen;
	alen = len - 1 - wlen;
	while (alen && blank(*a)) {
		a++;
		alen--;
	}
	while (alen && blank(a[alen - 1]))
		alen--;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strlen(commands[i].name) != wlen ||
		    memcmp(commands[i].name, word, wlen) != 0)
			continue;
		if (commands[i].arg == ARG_NONE && alen) {
			seterr(err, errlen, "/%s takes no argument", commands[i].name);
			return -1;
		}
		if (commands[i].arg == ARG_NEEDED && !alen) {
			seterr(err, errlen, "usage: %s", commands[i].usage);
			return -1;
		}
		cmd->kind = commands[i].kind;
		if (alen > TM_TEXT_MAX) {
			seterr(err, errlen, "argument too long");
			goto fail;
		}
		memcpy(arg, a, alen);
		arg[alen] = '\0';
		if (parse_arg(cmd, arg, alen, err, errlen) < 0)
			goto fail;
		return 0;
	}
	memcpy(arg, word, wlen < 40 ? wlen : 40);
	arg[rv_utf8_cut(word, wlen, 40)] = '\0';
	seterr(err, errlen, "unknown command /%s (try /help)", arg);
fail:
	memset(cmd, 0, sizeof(*cmd));
	return -1;
}

/* What a member is told a host-only command would have done. */
static const char *verb(const struct tm_model *m, enum tm_cmd_kind kind)
{
	switch (kind) {
	case TM_CMD_PLAY:
		return "play";
	case TM_CMD_PAUSE:
		return "pause";
	case TM_CMD_TOGGLE:
		return m->state.playing ? "pause" : "play";
	case TM_CMD_SEEK:
		return "seek";
	case TM_CMD_SPEED:
		return "change the speed";
	default:
		return "hand over";
	}
}

static bool host_only(const struct tm_model *m, enum tm_cmd_kind kind,
		      char *err, size_t errlen)
{
	const char *host = tm_host_name(m);

	if (!m->joined) {
		seterr(err, errlen, "not in the party yet");
		return false;
	}
	if (tm_is_host(m))
		return true;
	if (host[0])
		seterr(err, errlen, "only the host (%s) can %s", host, verb(m, kind));
	else
		seterr(err, errlen, "only the host can %s", verb(m, kind));
	return false;
}

/* The host's sync for a playback command: the state now, as extrapolated,
 * with the command applied and stamped with the estimated server time. It
 * carries an id so the server sends the stamped state back to the host
 * too (it relays a sync to everyone but its sender). */
static json_t *sync_message(const struct tm_model *m, const struct tm_cmd *cmd,
			    double local_now_ms, char *err, size_t errlen)
{
	double pos = tm_position(m, local_now_ms);
	double at = tm_server_now(m, local_now_ms);
	double speed = m->state.speed;
	bool playing = m->state.playing;
	const char *id = verb(m, cmd->kind);

	switch (cmd->kind) {
	case TM_CMD_PLAY:
		playing = true;
		break;
	case TM_CMD_PAUSE:
		playing = false;
		break;
	case TM_CMD_TOGGLE:
		playing = !playing;
		break;
	case TM_CMD_SEEK:
		if (!isfinite(cmd->value)) {
			seterr(err, errlen, "bad time");
			return NULL;
		}
		pos = cmd->relative ? pos + cmd->value : cmd->value;
		break;
	default:                        /* TM_CMD_SPEED */
		if (!(cmd->value >= RV_SPEED_MIN && cmd->value <= RV_SPEED_MAX)) {
			seterr(err, errlen, "speed must be between 0.25 and 4");
			return NULL;
		}
		speed = cmd->value;
		id = "speed";
		break;
	}
	if (!(pos >= 0))
		pos = 0;
	if (m->duration_s > 0 && pos > m->duration_s)
		pos = m->duration_s;
	if (!isfinite(pos) || !isfinite(at) || !isfinite(speed)) {
		seterr(err, errlen, "the playback state is out of range");
		return NULL;
	}
	return json_pack("{s:s, s:{s:f, s:b, s:f, s:f}, s:s}", "type", "sync",
			 "payload", "position", pos, "playing", (int)playing,
			 "speed", speed, "at", at, "id", id);
}

/* The bytes of a text field of a command, or -1 when it has no NUL. */
static long text_len(const struct tm_cmd *cmd)
{
	size_t n = strnlen(cmd->text, sizeof(cmd->text));

	return n == sizeof(cmd->text) ? -1 : (long)n;
}

char *tm_command_message(const struct tm_model *m, const struct tm_cmd *cmd,
			 double local_now_ms, char *err, size_t errlen)
{
	const struct tm_member *to;
	json_t *msg = NULL;
	char *out;
	long len;

	seterr(err, errlen, "%s", "");
	switch (cmd->kind) {
	case TM_CMD_CHAT:
		len = text_len(cmd);
		if (len < 1 || len > RV_CHAT_MAX || !rv_utf8_valid(cmd->text, (size_t)len)) {
			seterr(err, errlen, "a message is 1-%d bytes of UTF-8", RV_CHAT_MAX);
			return NULL;
		}
		msg = json_pack("{s:s, s:{s:s}}", "type", "chat", "payload",
				"text", cmd->text);
		break;
	case TM_CMD_REACT:
		len = text_len(cmd);
		if (len < 1 || len > RV_EMOJI_MAX || !rv_utf8_valid(cmd->text, (size_t)len)) {
			seterr(err, errlen, "a reaction is 1-%d bytes of UTF-8", RV_EMOJI_MAX);
			return NULL;
		}
		msg = json_pack("{s:s, s:{s:s}}", "type", "reaction", "payload",
				"emoji", cmd->text);
		break;
	case TM_CMD_HOST:
		if (!host_only(m, cmd->kind, err, errlen))
			return NULL;
		if (text_len(cmd) < 0 || !(to = tm_member_named(m, cmd->text))) {
			seterr(err, errlen, "no member named %s",
			       text_len(cmd) < 0 ? "?" : cmd->text);
			return NULL;
		}
		if (strcmp(to->id, m->self_id) == 0) {
			seterr(err, errlen, "you are the host already");
			return NULL;
		}
		msg = json_pack("{s:s, s:{s:s}}", "type", "transfer_host", "payload",
				"to", to->id);
		break;
	case TM_CMD_PLAY:
	case TM_CMD_PAUSE:
	case TM_CMD_TOGGLE:
	case TM_CMD_SEEK:
	case TM_CMD_SPEED:
		if (!host_only(m, cmd->kind, err, errlen))
			return NULL;
		msg = sync_message(m, cmd, local_now_ms, err, errlen);
		break;
	default:                        /* none, members, help, quit: local */
		return NULL;
	}
	out = msg ? json_dumps(msg, JSON_COMPACT) : NULL;
	json_decref(msg);
	if (!out && err && errlen && !err[0])
		seterr(err, errlen, "out of memory");
	return out;
}
