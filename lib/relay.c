/* lib/relay.c - the cross-node envelope (see relay.h). Pure: no I/O. */
#include "relay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/proto.h"

#include "barrier.h"

static const char *const kinds[] = {
	[RV__RELAY_SYNC] = "sync", [RV__RELAY_CHAT] = "chat", [RV__RELAY_REACTION] = "reaction",
	[RV__RELAY_MEDIA] = "media", [RV__RELAY_WAIT] = "wait", [RV__RELAY_DRIFT] = "drift",
};

/* A wait's drop, as `dropped`'s reason says it (barrier.h's enum
 * rv__drop_reason: 0 is none). */
static const char *const drops[] = {
	[RV__DROP_READY_TIMEOUT] = "ready_timeout",
	[RV__DROP_REBUFFER_TIMEOUT] = "rebuffer_timeout",
	[RV__DROP_FORCED_START] = "forced_start",
};
#define DROP_LAST RV__DROP_FORCED_START

/* The head of a wait envelope into head (RV__RELAY_HEAD_MAX bytes): its
 * length, or -1 for a deadline or drop no origin sends. */
static int wait_head(const struct rv__relay_msg *m, char *head)
{
	char dl[32] = "-";

	if (m->dropped > DROP_LAST || (!isinf(m->deadline) && !(m->deadline > 0)) ||
	    (isinf(m->deadline) && m->deadline < 0))
		return -1;
	if (isfinite(m->deadline))
		snprintf(dl, sizeof(dl), "%.17g", m->deadline);
	return snprintf(head, RV__RELAY_HEAD_MAX, "RV1 %016llx wait %s %s\n",
			(unsigned long long)m->node, dl, m->dropped ? drops[m->dropped] : "-");
}

/* A wait's frame: ids (rv__relay_member_id_ok) separated by one space, at
 * most RV__RELAY_WAIT_MAX, or nothing. Their count, or -1. */
static long wait_ids(const char *s, size_t len)
{
	long n = 0;
	size_t i = 0;

	if (len > (size_t)RV__RELAY_WAIT_MAX * (RV_MEMBER_ID_MAX + 1))
		return -1;
	while (i < len) {
		size_t start = i;

		while (i < len && s[i] != ' ')
			i++;
		if (!rv__relay_member_id_ok(s + start, i - start) || ++n > RV__RELAY_WAIT_MAX)
			return -1;
		/* a space only between two ids */
		if (i < len && ++i == len)
			return -1;
	}
	return n;
}

bool rv__relay_wait_next(const char **s, const char *end, char id[RV_MEMBER_ID_MAX + 1])
{
	const char *p = *s, *sp;
	size_t n;

	if (p >= end)
		return false;
	sp = memchr(p, ' ', (size_t)(end - p));
	n = (size_t)((sp ? sp : end) - p);
	if (n > RV_MEMBER_ID_MAX)
		n = RV_MEMBER_ID_MAX;
	memcpy(id, p, n);
	id[n] = 0;
	*s = sp ? sp + 1 : end;
	return true;
}

int rv__relay_encode(const struct rv__relay_msg *m, char **out, size_t *len)
{
	char head[RV__RELAY_HEAD_MAX];
	int n;

	if ((unsigned)m->kind > RV__RELAY_DRIFT)
		return RV_EINVAL;
	if (m->kind == RV__RELAY_WAIT) {
		if ((m->frame_len && !m->frame) || wait_ids(m->frame, m->frame_len) < 0)
			return RV_EINVAL;
	} else if (!m->frame || m->frame_len == 0 || m->frame_len > RV__RELAY_FRAME_MAX) {
		return RV_EINVAL;
	}
	if (m->kind == RV__RELAY_WAIT)
		n = wait_head(m, head);
	else if (m->kind == RV__RELAY_SYNC)
		n = snprintf(head, sizeof(head), "RV1 %016llx sync %.17g %d %.17g %.17g\n",
			     (unsigned long long)m->node, m->state.position, m->state.playing ? 1 : 0,
			     m->state.speed, m->state.server_time);
	else
		n = snprintf(head, sizeof(head), "RV1 %016llx %s\n", (unsigned long long)m->node,
			     kinds[m->kind]);
	if (n < 0 || (size_t)n >= sizeof(head))
		return RV_EINVAL;
	*out = malloc((size_t)n + m->frame_len);
	if (!*out)
		return RV_ENOMEM;
	memcpy(*out, head, (size_t)n);
	if (m->frame_len)
		memcpy(*out + n, m->frame, m->frame_len);
	*len = (size_t)n + m->frame_len;
	return 0;
}

/* The next space-separated word of the NUL-terminated *s, NUL-terminated
 * in place, or NULL when none is left. */
static char *word(char **s)
{
	char *w = *s, *sp;

	if (!*w)
		return NULL;
	sp = strchr(w, ' ');
	if (sp) {
		*sp = 0;
		*s = sp + 1;
	} else {
		*s = w + strlen(w);
	}
	return *w ? w : NULL;
}

static int real(const char *w, double *v)
{
	char *end;

	if (!w)
		return -1;
	*v = strtod(w, &end);
	return *end || end == w || !isfinite(*v) ? -1 : 0;
}

int rv__relay_decode(const char *buf, size_t len, struct rv__relay_msg *m)
{
	const char *nl = memchr(buf, '\n', len < RV__RELAY_HEAD_MAX ? len : RV__RELAY_HEAD_MAX);
	char head[RV__RELAY_HEAD_MAX], *s = head, *w, *end;
	double playing;

	memset(m, 0, sizeof(*m));
	if (!nl)
		return RV_EINVAL;
	memcpy(head, buf, (size_t)(nl - buf));
	head[nl - buf] = 0;
	/* one space between words, none at the end: one way to write a head */
	if (memchr(head, 0, (size_t)(nl - buf)) || nl == buf || nl[-1] == ' ')
		return RV_EINVAL;
	if (!(w = word(&s)) || strcmp(w, "RV1"))
		return RV_EINVAL;
	if (!(w = word(&s)) || strlen(w) != 16 || strspn(w, "0123456789abcdef") != 16)
		return RV_EINVAL;
	m->node = strtoull(w, &end, 16);
	if (!(w = word(&s)))
		return RV_EINVAL;
	if (!strcmp(w, "sync")) {
		m->kind = RV__RELAY_SYNC;
		if (real(word(&s), &m->state.position) || real(word(&s), &playing) ||
		    real(word(&s), &m->state.speed) || real(word(&s), &m->state.server_time))
			return RV_EINVAL;
		if (m->state.position < 0 || (playing != 0 && playing != 1) ||
		    !(m->state.speed >= RV_SPEED_MIN && m->state.speed <= RV_SPEED_MAX))
			return RV_EINVAL;
		m->state.playing = playing == 1;
	} else if (!strcmp(w, "chat")) {
		m->kind = RV__RELAY_CHAT;
	} else if (!strcmp(w, "reaction")) {
		m->kind = RV__RELAY_REACTION;
	} else if (!strcmp(w, "media")) {
		m->kind = RV__RELAY_MEDIA;
	} else if (!strcmp(w, "drift")) {
		m->kind = RV__RELAY_DRIFT;
	} else if (!strcmp(w, "wait")) {
		m->kind = RV__RELAY_WAIT;
		m->deadline = INFINITY;
		if (!(w = word(&s)) || (strcmp(w, "-") && (real(w, &m->deadline) || !(m->deadline > 0))))
			return RV_EINVAL;
		if (!(w = word(&s)))
			return RV_EINVAL;
		if (strcmp(w, "-")) {
			for (m->dropped = 1; m->dropped <= DROP_LAST && strcmp(w, drops[m->dropped]);
			     m->dropped++)
				;
			if (m->dropped > DROP_LAST)
				return RV_EINVAL;
		}
	} else {
		return RV_EINVAL;
	}
	if (*s)
		return RV_EINVAL;       /* more words than the kind takes */
	m->frame = nl + 1;
	m->frame_len = len - (size_t)(nl + 1 - buf);
	if (m->kind == RV__RELAY_WAIT) {
		long n = wait_ids(m->frame, m->frame_len);

		if (n < 0)
			return RV_EINVAL;
		m->n_ids = (size_t)n;
		return 0;
	}
	if (m->frame_len == 0 || m->frame_len > RV__RELAY_FRAME_MAX || m->frame[0] != '{' ||
	    !rv_utf8_valid(m->frame, m->frame_len))
		return RV_EINVAL;
	return 0;
}

int rv__relay_progress_encode(uint64_t node, const struct rv_progress_rec *r, char *buf)
{
	char dur[32] = "-";
	int n;

	if (!rv_proto_valid_id(r->media_id, strlen(r->media_id)) || !isfinite(r->position) ||
	    !isfinite(r->server_time) || (r->has_duration && !isfinite(r->duration)))
		return RV_EINVAL;
	if (r->has_duration)
		snprintf(dur, sizeof(dur), "%.17g", r->duration);
	n = snprintf(buf, RV__RELAY_PROGRESS_MAX, "RP1 %016llx %.17g %d %.17g %s %s",
		     (unsigned long long)node, r->server_time, r->playing ? 1 : 0, r->position,
		     dur, r->media_id);
	if (n < 0 || n >= RV__RELAY_PROGRESS_MAX)
		return RV_EINVAL;
	return n;
}

int rv__relay_progress_decode(const char *buf, size_t len, uint64_t *node,
			      struct rv_progress_rec *r)
{
	char line[RV__RELAY_PROGRESS_MAX], *s = line, *w;
	double playing, st, pos, dur = 0;
	bool has_dur;

	if (len == 0 || len >= sizeof(line) || memchr(buf, 0, len) || buf[len - 1] == ' ')
		return RV_EINVAL;
	memcpy(line, buf, len);
	line[len] = 0;
	if (!(w = word(&s)) || strcmp(w, "RP1"))
		return RV_EINVAL;
	if (!(w = word(&s)) || strlen(w) != 16 || strspn(w, "0123456789abcdef") != 16)
		return RV_EINVAL;
	*node = strtoull(w, NULL, 16);
	if (real(word(&s), &st) || real(word(&s), &playing) || real(word(&s), &pos) ||
	    !(w = word(&s)))
		return RV_EINVAL;
	has_dur = strcmp(w, "-") != 0;
	if (has_dur && real(w, &dur))
		return RV_EINVAL;
	if (!(w = word(&s)) || *s || !rv_proto_valid_id(w, strlen(w)) || st <= 0 || pos < 0 ||
	    dur < 0 || (playing != 0 && playing != 1))
		return RV_EINVAL;
	snprintf(r->media_id, sizeof(r->media_id), "%s", w);
	r->server_time = st;
	r->playing = playing == 1;
	r->position = pos;
	r->has_duration = has_dur;
	r->duration = has_dur ? dur : 0;
	return 0;
}

/* A ladder name: 1 to RV_PROFILE_NAME_MAX bytes of [A-Za-z0-9_.-]
 * (quality.c's parse_item). */
static bool profile_ok(const char *s, size_t len)
{
	if (!len || len > RV_PROFILE_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

int rv__relay_quality_encode(uint64_t node, const char *profile, char *buf)
{
	int n;

	if (!profile || !profile_ok(profile, strlen(profile)))
		return RV_EINVAL;
	n = snprintf(buf, RV__RELAY_QUALITY_MAX, "RQ1 %016llx %s", (unsigned long long)node,
		     profile);
	if (n < 0 || n >= RV__RELAY_QUALITY_MAX)
		return RV_EINVAL;
	return n;
}

int rv__relay_quality_decode(const char *buf, size_t len, uint64_t *node,
			     char profile[RV_PROFILE_NAME_MAX + 1])
{
	char hex[17];

	/* "RQ1 " 16 hex " " and the name: exactly one way to write it */
	if (len < 4 + 16 + 1 + 1 || memcmp(buf, "RQ1 ", 4) || buf[20] != ' ')
		return RV_EINVAL;
	memcpy(hex, buf + 4, 16);
	hex[16] = 0;
	if (strspn(hex, "0123456789abcdef") != 16 || !profile_ok(buf + 21, len - 21))
		return RV_EINVAL;
	*node = strtoull(hex, NULL, 16);
	memcpy(profile, buf + 21, len - 21);
	profile[len - 21] = 0;
	return 0;
}

int rv__relay_member_decode(const char *v, size_t len, struct rv__relay_member *out)
{
	const char *p = v, *end = v + len;
	char num[21];
	size_t n;

	memset(out, 0, sizeof(*out));
	/* the node */
	if (len < 16 + 1 + 1 + 1 + 1 + 1 + 1 || strspn(v, "0123456789abcdef") < 16 || v[16] != ' ')
		return RV_EINVAL;
	memcpy(num, v, 16);
	num[16] = 0;
	out->node = strtoull(num, NULL, 16);
	p += 17;
	/* the seq: 1 to 20 digits, no leading zero */
	for (n = 0; p + n < end && p[n] >= '0' && p[n] <= '9'; n++)
		;
	if (!n || n > 19 || (n > 1 && *p == '0') || p + n >= end || p[n] != ' ')
		return RV_EINVAL;
	memcpy(num, p, n);
	num[n] = 0;
	out->seq = strtoull(num, NULL, 10);
	p += n + 1;
	/* may host, the name */
	if (end - p < 3 || (*p != '0' && *p != '1') || p[1] != ' ')
		return RV_EINVAL;
	out->may_host = *p == '1';
	p += 2;
	n = (size_t)(end - p);
	if (n > RV_NAME_MAX_BYTES || memchr(p, 0, n) || !rv_proto_valid_name(p, n))
		return RV_EINVAL;
	memcpy(out->name, p, n);
	out->name[n] = 0;
	return 0;
}

bool rv__relay_member_id_ok(const char *id, size_t len)
{
	if (!len || len > RV_MEMBER_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
		      (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
			return false;
	return true;
}
