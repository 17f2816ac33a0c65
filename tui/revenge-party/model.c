/* tui/revenge-party/model.c - what revenge-party knows (see model.h).
 *
 * Owns the party as this client sees it: members, host, playback state, the
 * chat scrollback and the clock offset estimate. Decoded server messages
 * (jansson) change it and mark what they touched dirty; what a typed line
 * means is command.c's. It never draws, reads a clock or touches a socket,
 * so the tests drive it with text and made-up times, and the view and the
 * event loop stay thin.
 */
#include "model.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include <jansson.h>


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

/* A bidi control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069)
 * at s, a valid UTF-8 character of n bytes: it would reorder what follows
 * it on the line, another member's name or text included. */
static bool is_bidi(const unsigned char *s, size_t n)
{
	if (n == 2)
		return s[0] == 0xd8 && s[1] == 0x9c;
	if (n != 3 || s[0] != 0xe2)
		return false;
	return (s[1] == 0x80 && (s[2] == 0x8e || s[2] == 0x8f ||
				 (s[2] >= 0xaa && s[2] <= 0xae))) ||
	       (s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9);
}

/* The view prints names and lines as they are, so this is where the
 * terminal is kept safe. A control character would move its cursor or
 * worse: C0 and DEL (ESC starts every escape sequence), and C1 too (U+009B
 * is CSI to many terminals; as UTF-8, 0xc2 0x80-0x9f), so each becomes a
 * space, as do the line and paragraph separators U+2028 and U+2029. A bidi
 * control is dropped. A byte that starts no UTF-8 character becomes '?': a
 * notice may quote what nobody checked (a typed line, a close reason). In
 * place; the text can only get shorter. */
static void scrub(char *str)
{
	unsigned char *s = (unsigned char *)str, *out = s;

	while (*s) {
		size_t n = *s < 0x80 ? 1 : *s < 0xe0 ? 2 : *s < 0xf0 ? 3 : 4;

		if (n > 1 && (strnlen((const char *)s, n) < n ||
			      !rv_utf8_valid((const char *)s, n))) {
			*out++ = '?';
			s++;
			continue;
		}
		if (is_bidi(s, n)) {
			/* dropped */
		} else if (*s < 0x20 || *s == 0x7f || (*s == 0xc2 && s[1] < 0xa0) ||
			   (n == 3 && s[0] == 0xe2 && s[1] == 0x80 &&
			    (s[2] == 0xa8 || s[2] == 0xa9))) {
			*out++ = ' ';
		} else {
			memmove(out, s, n);
			out += n;
		}
		s += n;
	}
	*out = '\0';
}

int tm_fit(const char *s, int width, size_t *bytes)
{
	mbstate_t st;
	size_t i = 0, n = strlen(s);
	int cols = 0;

	memset(&st, 0, sizeof(st));
	while (i < n) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, n - i, &st);
		int w;

		if (k == (size_t)-1 || k == (size_t)-2) {
			memset(&st, 0, sizeof(st));
			k = 1;
			w = 1;
		} else {
			if (!k)
				break;
			w = wcwidth(wc);
			if (w < 0)
				w = 1;
		}
		if (cols + w > width)
			break;
		cols += w;
		i += k;
	}
	*bytes = i;
	return cols;
}

size_t tm_wrap(const char *body, int width, size_t *starts, size_t max)
{
	int room = width - TM_WRAP_INDENT > 0 ? width - TM_WRAP_INDENT : 1;
	size_t off = 0, n = strlen(body), rows = 0, b;

	do {
		if (starts && rows < max)
			starts[rows] = off;
		tm_fit(body + off, room, &b);
		/* at a word's end when one fits: a row ends after the last
		 * space that a word follows, so no word is cut and no row
		 * but the first starts with a space */
		if (b && off + b < n) {
			size_t k = b;

			while (k > 0 && !(body[off + k - 1] == ' ' && body[off + k] != ' '))
				k--;
			if (k > 0)
				b = k;
		}
		if (!b) {
			/* a character wider than the room takes a row of its own */
			mbstate_t st;

			memset(&st, 0, sizeof(st));
			b = mbrlen(body + off, n - off, &st);
			if (b == 0 || b > n - off)      /* also (size_t)-1 and -2 */
				b = 1;
		}
		off += b;
		rows++;
	} while (off < n);
	return rows;
}

void tm__vformat(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, size, fmt, ap);

	if (n < 0)
		buf[0] = '\0';
	else if ((size_t)n >= size)
		buf[rv_utf8_cut(buf, size - 1, size - 1)] = '\0';
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

/* The "host_id" of a welcome or host_changed: a member id, or JSON null
 * when the party has no host (none of those present may host). Returns 0
 * with *id set, NULL for no host; -1 when it is neither (absent included). */
static int jhost(const json_t *obj, const char **id)
{
	if (json_is_null(json_object_get(obj, "host_id"))) {
		*id = NULL;
		return 0;
	}
	*id = jid(obj, "host_id");
	return *id ? 0 : -1;
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

/* A colour for mb: its name's (name_color), unless another present member
 * has that one and some colour is free, then the next free one. Six
 * colours over names collide often (ann, bob and carol hash alike): two
 * people on screen should not look like one. Members join in the same
 * order on every screen, so screens mostly agree. */
static unsigned member_color(const struct tm_model *m, const struct tm_member *mb)
{
	unsigned want = name_color(mb->name), used = 0;

	for (size_t i = 0; i < m->n_members; i++)
		if (&m->members[i] != mb)
			used |= 1u << m->members[i].color;
	for (unsigned k = 0; k < 6; k++) {
		unsigned c = (want - 1 + k) % 6 + 1;

		if (!(used & 1u << c))
			return c;
	}
	return want;
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
		memset(mb, 0, sizeof(*mb));
		copy_text(mb->id, sizeof(mb->id), id, strlen(id));
	}
	copy_text(mb->name, sizeof(mb->name), name, len);
	scrub(mb->name);
	mb->color = member_color(m, mb);
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

/* from: the member id the line is about, NULL for none. */
static void __attribute__((format(printf, 6, 0)))
vline_add(struct tm_model *m, enum tm_line_kind kind, double at_ms,
	  const char *from, const char *name, const char *fmt, va_list ap)
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
	copy_text(l->name, RV_NAME_MAX_BYTES + 1, name ? name : "", name ? strlen(name) : 0);
	scrub(l->name);
	/* a present member's own colour, as in the member list */
	l->color = !l->name[0] ? 0 : from && member_by_id(m, from) ?
		   member_by_id(m, from)->color : name_color(l->name);
	copy_text(l->from, sizeof(l->from), from ? from : "", from ? strlen(from) : 0);
	tm__vformat(l->text, sizeof(l->text), fmt, ap);
	scrub(l->text);
	l->count = 1;
	l->fold_ms = at_ms;
	/* Someone reading back keeps their place while lines arrive, and is
	 * told that there is more below. */
	if (m->scroll > 0 && m->scroll + 1 < m->n_lines)
		m->scroll++;
	if (m->scroll > 0)
		m->unseen++;
	m->dirty |= TM_DIRTY_CHAT;
}

static void __attribute__((format(printf, 6, 7)))
line_add(struct tm_model *m, enum tm_line_kind kind, double at_ms,
	 const char *from, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline_add(m, kind, at_ms, from, name, fmt, ap);
	va_end(ap);
}

void tm_notice(struct tm_model *m, double local_now_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline_add(m, TM_NOTICE, local_now_ms, NULL, NULL, fmt, ap);
	va_end(ap);
}

void tm_error(struct tm_model *m, double local_now_ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vline_add(m, TM_ERROR, local_now_ms, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* A join or leave line (kind TM_JOIN or TM_LEAVE) about n people, the one
 * named when n is 1. It folds into the last line when that is of the same
 * kind and its last event came within TM_FOLD_MS: a crowd arriving reads as
 * one line ("12 people joined"), not a screenful, however slowly a loaded
 * machine lets it trickle in. */
static void presence_line(struct tm_model *m, enum tm_line_kind kind, double at_ms,
			  const char *id, const char *name, size_t n)
{
	const char *verb = kind == TM_JOIN ? "joined" : "left";
	struct tm_line *l = m->n_lines ?
			    &m->lines[(m->first_line + m->n_lines - 1) % TM_LINES_MAX] : NULL;

	if (!n)
		return;
	if (l && l->kind == kind && fabs(at_ms - l->fold_ms) <= TM_FOLD_MS && l->count < 1u << 30) {
		l->count += (unsigned)(n < 1u << 30 ? n : 1u << 30);
		l->fold_ms = at_ms;
		l->name[0] = l->from[0] = '\0';
		l->color = 0;
		snprintf(l->text, sizeof(l->text), "%u people %s", l->count, verb);
		m->dirty |= TM_DIRTY_CHAT;
		return;
	}
	if (n == 1 && name)
		line_add(m, kind, at_ms, id, name, "%s", verb);
	else
		line_add(m, kind, at_ms, NULL, NULL, "%zu people %s", n, verb);
	l = &m->lines[(m->first_line + m->n_lines - 1) % TM_LINES_MAX];
	l->count = n < 1u << 30 ? (unsigned)n : 1u << 30;
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
	line_add(m, TM_CHAT, msg_ts(msg, local_now_ms), jid(msg, "from"),
		 sender_name(m, msg, p), "%s", text);
	return 0;
}

/* Member ids belong to one join: after a rejoin (the server may have
 * restarted and handed the same ids to others) an old line's id would tell
 * it apart from the wrong member. So each line keeps the name it was shown
 * with under the members of its own join, and forgets the id. */
static void freeze_line_names(struct tm_model *m)
{
	char shown[TM_SHOWN_MAX];

	for (size_t i = 0; i < m->n_lines; i++) {
		struct tm_line *l = &m->lines[(m->first_line + i) % TM_LINES_MAX];
		const char *name;

		if (!l->from[0])
			continue;
		name = tm_shown_name(m, l->from, l->name, shown, sizeof(shown));
		if (name != l->name)
			copy_text(l->name, sizeof(l->name), name, strlen(name));
		l->from[0] = '\0';
	}
}

static int apply_welcome(struct tm_model *m, const json_t *p, double local_now_ms)
{
	const char *self = jid(p, "participant_id"), *host;
	const char *party;
	json_t *members = json_object_get(p, "members");
	json_t *history = json_object_get(p, "history");
	json_t *v;
	struct rv_playback st;
	double since, count;
	size_t i, len = 0;

	/* Check everything before changing anything: a bad welcome leaves the
	 * model as it was. */
	if (!self || jhost(p, &host) < 0 || !json_is_array(members) ||
	    read_state(json_object_get(p, "state"), &st) < 0 ||
	    (history && !json_is_array(history)))
		return -1;
	json_array_foreach(members, i, v)
		if (!jid(v, "id") || !jstr(v, "name", NULL))
			return -1;

	if (m->joined)
		freeze_line_names(m);
	copy_text(m->self_id, sizeof(m->self_id), self, strlen(self));
	/* No host leaves host_id empty, which matches no member. */
	copy_text(m->host_id, sizeof(m->host_id), host ? host : "",
		  host ? strlen(host) : 0);
	party = jstr(p, "party_id", &len);
	if (party && rv_proto_valid_id(party, len))
		copy_text(m->party, sizeof(m->party), party, len);
	m->n_members = 0;
	json_array_foreach(members, i, v) {
		const char *name = jstr(v, "name", &len);

		member_put(m, jid(v, "id"), name, len);
	}
	/* a large party's welcome lists only some (members_partial) */
	m->member_count = jnum(p, "member_count", &count) && count >= (double)m->n_members &&
			  count < 1e9 ? (size_t)count : m->n_members;
	m->members_partial = json_is_true(json_object_get(p, "members_partial"));
	if (member_by_id(m, m->self_id))
		copy_text(m->self_name, sizeof(m->self_name),
			  name_of(m, m->self_id), strlen(name_of(m, m->self_id)));
	m->state = m->told = st;
	rv_schedule_init(&m->sched, &st);
	/* who is waited for comes with the next party_state */
	m->waiting = json_is_true(json_object_get(p, "waiting"));
	m->n_waiting_for = m->waiting_count = 0;
	m->wait_deadline = INFINITY;
	m->dirty |= TM_DIRTY_STATUS;

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
	if (joined) {
		if (!member_by_id(m, id))
			m->member_count++;
		member_put(m, id, name, len);
	} else {
		if (member_by_id(m, id) && m->member_count)
			m->member_count--;
		member_drop(m, id);
	}
	presence_line(m, joined ? TM_JOIN : TM_LEAVE, msg_ts(msg, local_now_ms), id, shown, 1);
	m->dirty |= TM_DIRTY_MEMBERS;
	return 0;
}

/* A large party's batched joins and leaves. One listed join or leave reads
 * as member_joined / member_left would; more fold into one line. */
static int apply_presence(struct tm_model *m, const json_t *msg, const json_t *p,
			  double local_now_ms)
{
	json_t *joined = json_object_get(p, "joined"), *left = json_object_get(p, "left"), *v;
	double count, jmore = 0, lmore = 0;
	size_t i, len = 0, nj, nl;

	if (!json_is_array(joined) || !json_is_array(left) || !jnum(p, "count", &count) ||
	    !(count >= 0 && count < 1e9))
		return -1;
	json_array_foreach(joined, i, v)
		if (!jid(v, "id") || !jstr(v, "name", NULL))
			return -1;
	json_array_foreach(left, i, v)
		if (!jid(v, "id"))
			return -1;
	jnum(p, "joined_more", &jmore);
	jnum(p, "left_more", &lmore);
	nj = json_array_size(joined) + (jmore > 0 && jmore < 1e9 ? (size_t)jmore : 0);
	nl = json_array_size(left) + (lmore > 0 && lmore < 1e9 ? (size_t)lmore : 0);
	if (nj == 1 && json_array_size(joined) == 1)
		apply_member(m, msg, json_array_get(joined, 0), true, local_now_ms);
	else
		json_array_foreach(joined, i, v) {
			const char *name = jstr(v, "name", &len);

			member_put(m, jid(v, "id"), name, len);
		}
	if (nl == 1 && json_array_size(left) == 1)
		apply_member(m, msg, json_array_get(left, 0), false, local_now_ms);
	else
		json_array_foreach(left, i, v)
			member_drop(m, jid(v, "id"));
	if (nj > 1)
		presence_line(m, TM_JOIN, msg_ts(msg, local_now_ms), NULL, NULL, nj);
	if (nl > 1)
		presence_line(m, TM_LEAVE, msg_ts(msg, local_now_ms), NULL, NULL, nl);
	m->member_count = (size_t)count;
	m->dirty |= TM_DIRTY_MEMBERS;
	return 0;
}

/* A page of the roster asked for after a partial welcome: its members are
 * added (up to TM_MEMBERS_MAX), no lines. */
static int apply_members(struct tm_model *m, const json_t *p)
{
	json_t *members = json_object_get(p, "members"), *v;
	double count;
	size_t i, len = 0;

	if (!json_is_array(members) || !jnum(p, "count", &count) || !(count >= 0 && count < 1e9))
		return -1;
	json_array_foreach(members, i, v)
		if (!jid(v, "id") || !jstr(v, "name", NULL))
			return -1;
	json_array_foreach(members, i, v) {
		const char *name = jstr(v, "name", &len);

		member_put(m, jid(v, "id"), name, len);
	}
	m->member_count = (size_t)count;
	m->dirty |= TM_DIRTY_MEMBERS;
	return 0;
}

static int apply_host_changed(struct tm_model *m, const json_t *msg, const json_t *p,
			      double local_now_ms)
{
	const char *host;

	if (jhost(p, &host) < 0)
		return -1;
	if (host) {
		copy_text(m->host_id, sizeof(m->host_id), host, strlen(host));
		line_add(m, TM_HOST, msg_ts(msg, local_now_ms), m->host_id,
			 name_of(m, m->host_id), "is now the host");
	} else {
		m->host_id[0] = '\0';
		line_add(m, TM_HOST, msg_ts(msg, local_now_ms), NULL, NULL,
			 "the party has no host now; playback waits for one");
	}
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
		tm_error(m, local_now_ms, "%s: %s", code, text);
	else if (code || text)
		tm_error(m, local_now_ms, "%s", code ? code : text);
	else
		tm_error(m, local_now_ms, "the server reported an error");
	return 0;
}

/* party_state {waiting, waiting_for, waiting_count, deadline}: what the
 * status line shows. */
static int apply_party_state(struct tm_model *m, const json_t *p)
{
	const json_t *w = json_object_get(p, "waiting");
	const json_t *ids = json_object_get(p, "waiting_for");
	const json_t *v;
	double count = 0, deadline = INFINITY;
	size_t i;

	if (!json_is_boolean(w) || (ids && !json_is_array(ids)) ||
	    (json_object_get(p, "waiting_count") && !jnum(p, "waiting_count", &count)) ||
	    (!json_is_null(json_object_get(p, "deadline")) &&
	     json_object_get(p, "deadline") && !jnum(p, "deadline", &deadline)))
		return -1;
	m->waiting = json_is_true(w);
	m->n_waiting_for = 0;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);

		if (m->n_waiting_for < sizeof(m->waiting_for) / sizeof(m->waiting_for[0]) && id &&
		    strlen(id) <= RV_MEMBER_ID_MAX)
			copy_text(m->waiting_for[m->n_waiting_for++], RV_MEMBER_ID_MAX + 1, id,
				  strlen(id));
	}
	m->waiting_count = count >= 0 && count < 1e9 ? (size_t)count : m->n_waiting_for;
	m->wait_deadline = deadline;
	m->dirty |= TM_DIRTY_STATUS;
	return 0;
}

static int apply_dropped(struct tm_model *m, const json_t *p, double local_now_ms)
{
	const char *why = jstr(p, "reason", NULL);

	if (why && strcmp(why, "forced_start") == 0)
		tm_notice(m, local_now_ms, "the host started without waiting for you: "
			  "you catch up when your player is ready");
	else
		tm_notice(m, local_now_ms, "the party stopped waiting for you (%s): "
			  "you catch up when your player is ready", why ? why : "dropped");
	return 0;
}

void tm_waiting_text(const struct tm_model *m, double local_now_ms, char *buf, size_t size)
{
	size_t n = 0;

	if (!size)
		return;
	buf[0] = '\0';
	if (!m->waiting)
		return;
	n = (size_t)snprintf(buf, size, "waiting for ");
	for (size_t i = 0; i < m->n_waiting_for && i < 3 && n < size; i++) {
		char shown[TM_SHOWN_MAX];
		const char *name = name_of(m, m->waiting_for[i]);

		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "",
				      tm_shown_name(m, m->waiting_for[i], name, shown,
						    sizeof(shown)));
	}
	if (n < size && !m->n_waiting_for)
		n += (size_t)snprintf(buf + n, size - n, "members");
	if (n < size && m->waiting_count > (m->n_waiting_for < 3 ? m->n_waiting_for : 3))
		n += (size_t)snprintf(buf + n, size - n, "\xe2\x80\xa6 (%zu)", m->waiting_count);
	if (n < size && isfinite(m->wait_deadline)) {
		double left = (m->wait_deadline - tm_server_now(m, local_now_ms)) / 1000;

		snprintf(buf + n, size - n, ", %.0f s at most", left > 0 ? ceil(left) : 0);
	}
	/* cut cleanly if a name did not fit; an id the server sent that no
	 * member has is shown as it came, so it is made safe to show */
	buf[rv_utf8_cut(buf, strlen(buf), strlen(buf))] = '\0';
	scrub(buf);
}

/* The host's drift report: each listed member's drift, the others none. */
static int apply_drift(struct tm_model *m, const json_t *p)
{
	json_t *list = json_object_get(p, "members"), *v;
	double count;
	size_t i;

	if (!json_is_array(list) || !jnum(p, "count", &count) || count < 0)
		return -1;
	for (i = 0; i < m->n_members; i++)
		m->members[i].has_drift = false;
	json_array_foreach(list, i, v) {
		struct tm_member *mb;
		const char *id = jid(v, "id");
		json_t *buffering = json_object_get(v, "buffering");

		if (!id || !json_is_boolean(buffering))
			return -1;
		mb = (struct tm_member *)member_by_id(m, id);
		if (!mb)
			continue;
		mb->has_drift = true;
		mb->drift_buffering = json_is_true(buffering);
		if (mb->drift_buffering || !jnum(v, "drift_ms", &mb->drift_ms))
			mb->drift_ms = NAN;
	}
	m->drift_count = (size_t)count;
	m->dirty |= TM_DIRTY_MEMBERS;
	return 0;
}

const char *tm_member_sync_word(const struct tm_member *mb)
{
	if (!mb->has_drift)
		return NULL;
	if (mb->drift_buffering || isnan(mb->drift_ms))
		return "buffering";
	return fabs(mb->drift_ms) <= TM_IN_SYNC_MS ? "in sync" : "drifting";
}

bool tm_connect_cause(int close_code, int http_status, const char *reason, const char *lib_log,
		      bool token, bool tls, char *buf, size_t size)
{
	const char *why = reason ? reason : "";
	const char *lib = lib_log ? lib_log : "";

	if (http_status) {
		if (http_status == 401 && token)
			snprintf(buf, size, "the server refused the token (HTTP 401)");
		else if (http_status == 401)
			snprintf(buf, size, "the server wants a token (HTTP 401): give --token, "
				 "--token-file or REVENGE_TOKEN");
		else if (http_status == 403)
			snprintf(buf, size, "the server refused this client or its origin (HTTP 403)");
		else if (http_status == 404)
			snprintf(buf, size, "the server has no watch parties at this URL (HTTP 404)");
		else if (http_status == 400)
			snprintf(buf, size, "the server refused the party id or the name (HTTP 400): "
				 "names are 1-32 characters, not only blank ones, without control "
				 "or bidi control characters; party ids 1-64 of A-Z a-z 0-9 _ -");
		else if (http_status == 429 || http_status == 503)
			snprintf(buf, size, "the server is busy (HTTP %d)", http_status);
		else
			snprintf(buf, size, "the server refused (HTTP %d)", http_status);
		/* the server's own words (its x-revenge-reason), when it gave them */
		if (why[0] && strncmp(why, "HTTP ", 5)) {
			size_t n = strlen(buf);

			snprintf(buf + n, size > n ? size - n : 0, ": %s", why);
		}
		scrub(buf);
		return http_status >= 400 && http_status < 500 && http_status != 429;
	}
	/* an operator's doing (docs/admin.md): coming back would undo it */
	if (close_code == 4403 || close_code == 4410) {
		snprintf(buf, size, "%s", close_code == 4403 ?
			 "an operator removed you from the party (4403)" :
			 "an operator closed the party (4410)");
		return true;
	}
	/* the library names an untrusted certificate and OpenSSL's verdict
	 * ("the server's certificate is not trusted: self-signed certificate");
	 * with RV_LWS_DEBUG, lws says "SSL" or "tls" and why in its log line */
	if (tls && (strstr(why, "certificate is not trusted: ") || strstr(why, "SSL") ||
		    strstr(why, "ssl") || strstr(why, "tls") || strstr(why, "TLS") ||
		    strstr(lib, "SSL error"))) {
		const char *detail = strstr(why, "certificate is not trusted: ");
		size_t dl = 0;

		if (detail) {
			detail += strlen("certificate is not trusted: ");
			dl = strcspn(detail, "(\n");
		} else if ((detail = strstr(lib, "SSL error: "))) {
			detail += strlen("SSL error: ");
			dl = strcspn(detail, "(\n");
			while (dl && detail[dl - 1] == ' ')
				dl--;
		}
		snprintf(buf, size, "certificate not trusted%s%.*s%s: try --ca FILE or --insecure",
			 dl ? " (" : "", (int)dl, dl ? detail : "", dl ? ")" : "");
		scrub(buf);
		return true;
	}
	if (strstr(why, "no such host") || strstr(why, "cannot resolve the host"))
		snprintf(buf, size, "no such host");
	else if (close_code == 1001)
		snprintf(buf, size, "the server is restarting");
	else if (close_code == 1013)
		snprintf(buf, size, "the server dropped us as too slow or busy");
	else if (close_code)
		snprintf(buf, size, "connection lost (%d%s%s)", close_code, why[0] ? " " : "", why);
	else if (strstr(why, "Unable to connect") || strstr(why, "connection failed") ||
		 strstr(why, "connect failed") || strstr(why, "connection refused or host unreachable") ||
		 strstr(why, "Connection refused"))
		snprintf(buf, size, "connection refused: nothing answers there");
	else
		snprintf(buf, size, "cannot connect%s%s%s", why[0] ? " (" : "", why, why[0] ? ")" : "");
	scrub(buf);
	return false;
}

void tm_member_drift_text(const struct tm_member *mb, char *buf, size_t size)
{
	if (!mb->has_drift)
		snprintf(buf, size, "%s", "");
	else if (mb->drift_buffering || isnan(mb->drift_ms))
		snprintf(buf, size, "buffering");
	else
		snprintf(buf, size, "%+.0f ms", mb->drift_ms);
}

/* A relayed sync as what its sender changed from the state told before:
 * "ann paused at 12:30", "ann jumped from 0:05 to 12:30 and set speed
 * 1.25×". A jump is a position more than a second from where the state
 * before would be by then (a pause lands a lead's worth later, never a
 * second). No line when nothing changed, or before the welcome. */
static void tell_sync(struct tm_model *m, const json_t *msg, const struct rv_playback *st,
		      double local_now_ms)
{
	const struct rv_playback *old = &m->told;
	double was = rv_playback_position_at(old, st->server_time);
	const char *from = jid(msg, "from");
	char clauses[3][96], at[32], before[32], text[320];
	size_t n = 0, len = 0;

	if (!m->joined) {
		m->told = *st;
		return;
	}
	tm_format_clock(st->position, at, sizeof(at));
	tm_format_clock(was, before, sizeof(before));
	if (fabs(st->position - was) > 1.0)
		snprintf(clauses[n++], sizeof(clauses[0]), "jumped from %s to %s", before, at);
	if (st->playing != old->playing) {
		const char *verb = st->playing ? "resumed" : "paused";

		if (n)
			snprintf(clauses[n], sizeof(clauses[0]), "%s", verb);
		else
			snprintf(clauses[n], sizeof(clauses[0]), "%s at %s", verb, at);
		n++;
	}
	if (st->speed != old->speed)
		/* U+00D7 MULTIPLICATION SIGN, as players write a rate */
		snprintf(clauses[n++], sizeof(clauses[0]), "set speed %g\xc3\x97", st->speed);
	m->told = *st;
	text[0] = '\0';
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%s",
					!i ? "" : i + 1 == n ? " and " : ", ", clauses[i]);
	if (!n)
		return;
	if (from)
		line_add(m, TM_ACTION, msg_ts(msg, local_now_ms), from, name_of(m, from), "%s",
			 text);
	else
		line_add(m, TM_ACTION, msg_ts(msg, local_now_ms), NULL, NULL, "playback %s", text);
}

static int dispatch(struct tm_model *m, const json_t *msg, const char *type,
		    const json_t *p, double local_now_ms, bool own)
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
	if (strcmp(type, "presence") == 0)
		return apply_presence(m, msg, p, local_now_ms);
	if (strcmp(type, "members") == 0)
		return apply_members(m, p);
	if (strcmp(type, "sync") == 0) {
		if (read_state(p, &st) < 0)
			return -1;
		m->state = st;
		if (!own) {
			rv_schedule_push(&m->sched, &st, tm_server_now(m, local_now_ms));
			tell_sync(m, msg, &st, local_now_ms);
		}
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
		line_add(m, TM_REACTION, msg_ts(msg, local_now_ms), jid(msg, "from"),
			 name, "reacted %s", emoji);
		return 0;
	}
	if (strcmp(type, "time") == 0)
		return apply_time(m, p, local_now_ms);
	if (strcmp(type, "error") == 0)
		return apply_error(m, p, local_now_ms);
	if (strcmp(type, "party_state") == 0)
		return apply_party_state(m, p);
	if (strcmp(type, "dropped") == 0)
		return apply_dropped(m, p, local_now_ms);
	if (strcmp(type, "drift") == 0)
		return apply_drift(m, p);
	/* ack, and types of a newer server: nothing to show. */
	return 0;
}

static int apply(struct tm_model *m, const char *text, size_t len, double local_now_ms,
		 bool own)
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
	rc = dispatch(m, msg, type, payload, local_now_ms, own);
out:
	json_decref(msg);
	return rc;
}

int tm_apply(struct tm_model *m, const char *text, size_t len, double local_now_ms)
{
	return apply(m, text, len, local_now_ms, false);
}

int tm_apply_own(struct tm_model *m, const char *text, size_t len, double local_now_ms)
{
	return apply(m, text, len, local_now_ms, true);
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
	rv_schedule_init(&m->sched, &m->state);
	m->wait_deadline = INFINITY;
	rv_offset_reset(&m->clock);
	tm_player_init(&m->player);
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

/* Whether a present member other than id is called name. */
static bool name_taken(const struct tm_model *m, const char *id, const char *name)
{
	for (size_t i = 0; i < m->n_members; i++)
		if (strcmp(m->members[i].id, id) != 0 && strcmp(m->members[i].name, name) == 0)
			return true;
	return false;
}

const char *tm_shown_name(const struct tm_model *m, const char *id, const char *name,
			  char *buf, size_t size)
{
	if (!id || !id[0] || !name[0] || !name_taken(m, id, name))
		return name;
	/* the id too is the server's: made as safe as a name */
	snprintf(buf, size, "%s (%s)", name, id);
	scrub(buf);
	return buf;
}

const struct tm_member *tm_member_named(const struct tm_model *m, const char *name)
{
	const struct tm_member *found = NULL;
	char shown[TM_SHOWN_MAX];

	if (!name)
		return NULL;
	for (size_t i = 0; i < m->n_members; i++) {
		const struct tm_member *mb = &m->members[i];

		if (strcmp(tm_shown_name(m, mb->id, mb->name, shown, sizeof(shown)), name) == 0)
			return mb;
		if (strcmp(mb->name, name) == 0)
			found = found ? NULL : mb;
	}
	return found;
}

double tm_server_now(const struct tm_model *m, double local_now_ms)
{
	return rv_offset_server_now(&m->clock, local_now_ms);
}

const struct rv_playback *tm_playback(const struct tm_model *m, double local_now_ms)
{
	const struct rv_schedule *s = &m->sched;

	/* rv_schedule_at without promoting: queries keep m const */
	if (s->has_pending && tm_server_now(m, local_now_ms) >= s->pending.server_time)
		return &s->pending;
	return &s->current;
}

double tm_position(const struct tm_model *m, double local_now_ms)
{
	return rv_playback_position_at(tm_playback(m, local_now_ms),
				       tm_server_now(m, local_now_ms));
}

double tm_latest_position(const struct tm_model *m, double local_now_ms)
{
	return rv_playback_position_at(&m->state, tm_server_now(m, local_now_ms));
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
