/* lib/jw.c - the in-place JSON writer behind every encoder (see jw.h). */
#include "jw.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool jw_reserve(struct rv__jw *w, size_t more)
{
	struct rv_frame *f = w->f, *g;
	size_t need, cap;

	if (w->failed)
		return false;
	need = f->len + more;
	if (need <= f->cap)
		return true;
	cap = f->cap * 2;
	if (cap < need)
		cap = need;
	g = realloc(f, sizeof(*f) + RV_FRAME_HEADROOM + cap);
	if (!g) {
		w->failed = true;
		return false;
	}
	g->cap = cap;
	w->f = g;
	return true;
}

void rv__jw_init(struct rv__jw *w, size_t size_hint)
{
	w->f = rv_frame_new(size_hint ? size_hint : 128);
	w->failed = w->f == NULL;
	w->more = false;
}

void rv__jw_raw(struct rv__jw *w, const char *s, size_t len)
{
	if (!jw_reserve(w, len))
		return;
	memcpy(rv_frame_data(w->f) + w->f->len, s, len);
	w->f->len += len;
}

void rv__jw_lit(struct rv__jw *w, const char *s)
{
	rv__jw_raw(w, s, strlen(s));
}

void rv__jw_str(struct rv__jw *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char *o;
	size_t i;

	/* Worst case every byte becomes \u00XX. */
	if (!jw_reserve(w, len * 6 + 2))
		return;
	o = rv_frame_data(w->f) + w->f->len;
	*o++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = c;
		} else if (c >= 0x20 && c != 0x7f) {
			*o++ = c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c == '\t') {
			*o++ = '\\';
			*o++ = 't';
		} else if (c == '\r') {
			*o++ = '\\';
			*o++ = 'r';
		} else {
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	w->f->len = (size_t)(o - rv_frame_data(w->f));
}

void rv__jw_cstr(struct rv__jw *w, const char *s)
{
	rv__jw_str(w, s, strlen(s));
}

/* Writes u in decimal, right-aligned to end; returns the first digit. */
static char *digits_before(char *end, uint64_t u)
{
	do {
		*--end = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	return end;
}

/* "[-]int.frac" for |scaled| = |v| x 10^places, into out (at least 48
 * bytes): places fraction digits, trailing zeros (and the point) dropped
 * when trim. Returns the length. */
static int fixed_point(char *out, int64_t scaled, int places, bool trim)
{
	char tmp[48], *end = tmp + sizeof(tmp), *p;
	uint64_t u = scaled < 0 ? (uint64_t)0 - (uint64_t)scaled : (uint64_t)scaled;
	uint64_t pow10 = 1, frac;
	int n = 0, fd = places;

	for (int i = 0; i < places; i++)
		pow10 *= 10;
	frac = u % pow10;
	if (trim)
		for (; fd > 0 && frac % 10 == 0; fd--)
			frac /= 10;
	p = end;
	if (fd > 0) {
		for (int i = 0; i < fd; i++, frac /= 10)
			*--p = (char)('0' + frac % 10);
		*--p = '.';
	}
	p = digits_before(p, u / pow10);
	if (scaled < 0)
		*--p = '-';
	n = (int)(end - p);
	memcpy(out, p, (size_t)n);
	return n;
}

void rv__jw_num(struct rv__jw *w, double v)
{
	char tmp[48];
	int n;

	if (!isfinite(v))
		v = 0;
	/* Positions and speeds mostly have a few decimals: when v is exactly
	 * the double nearest to a decimal with at most 6 of them, that
	 * decimal reads back as v (snprintf costs ten times more). */
	if (fabs(v) < 1e9 && !(v == 0 && signbit(v))) {
		double r = nearbyint(v * 1e6);

		if (r / 1e6 == v) {
			rv__jw_raw(w, tmp, (size_t)fixed_point(tmp, (int64_t)r, 6, true));
			return;
		}
	}
	/* Shortest of %.15g/%.17g that reads back exactly, so a relayed
	 * position is bit-for-bit the one the host sent. */
	n = snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	rv__jw_raw(w, tmp, (size_t)n);
}

void rv__jw_time(struct rv__jw *w, double ms)
{
	char tmp[48];
	int n;

	if (!isfinite(ms))
		ms = 0;
	/* Server times are epoch milliseconds with microseconds: x1000 stays
	 * an exact integer below 2^53, so no snprintf is needed. */
	if (fabs(ms) < 9e12) {
		rv__jw_raw(w, tmp, (size_t)fixed_point(tmp, llround(ms * 1000), 3, false));
		return;
	}
	n = snprintf(tmp, sizeof(tmp), "%.3f", ms);
	rv__jw_raw(w, tmp, (size_t)n);
}

void rv__jw_bool(struct rv__jw *w, bool v)
{
	rv__jw_lit(w, v ? "true" : "false");
}

void rv__jw_key(struct rv__jw *w, const char *key)
{
	size_t n = strlen(key);

	if (!jw_reserve(w, n + 3))
		return;
	rv__jw_raw(w, "\"", 1);
	rv__jw_raw(w, key, n);
	rv__jw_raw(w, "\":", 2);
}

void rv__jw_id(struct rv__jw *w, const char *id)
{
	if (!id)
		return;
	rv__jw_lit(w, ",\"id\":");
	rv__jw_cstr(w, id);
}

void rv__jw_open(struct rv__jw *w, const char *lit)
{
	rv__jw_lit(w, lit);
	w->more = false;
}

void rv__jw_close(struct rv__jw *w, const char *lit)
{
	rv__jw_lit(w, lit);
	w->more = true;
}

void rv__jw_elem(struct rv__jw *w)
{
	if (w->more)
		rv__jw_raw(w, ",", 1);
	w->more = true;
}

void rv__jw_field(struct rv__jw *w, const char *key)
{
	rv__jw_elem(w);
	rv__jw_key(w, key);
}

void rv__jw_fstr(struct rv__jw *w, const char *key, const char *s, size_t len)
{
	rv__jw_field(w, key);
	rv__jw_str(w, s, len);
}

void rv__jw_fcstr(struct rv__jw *w, const char *key, const char *s)
{
	rv__jw_field(w, key);
	rv__jw_cstr(w, s);
}

void rv__jw_fnum(struct rv__jw *w, const char *key, double v)
{
	rv__jw_field(w, key);
	rv__jw_num(w, v);
}

void rv__jw_ftime(struct rv__jw *w, const char *key, double ms)
{
	rv__jw_field(w, key);
	rv__jw_time(w, ms);
}

void rv__jw_fbool(struct rv__jw *w, const char *key, bool v)
{
	rv__jw_field(w, key);
	rv__jw_bool(w, v);
}

void rv__jw_playback(struct rv__jw *w, const struct rv_playback *st)
{
	rv__jw_fnum(w, "position", st->position);
	rv__jw_fbool(w, "playing", st->playing);
	rv__jw_fnum(w, "speed", st->speed);
	rv__jw_ftime(w, "server_time", st->server_time);
}

struct rv_frame *rv__jw_finish(struct rv__jw *w, enum rv_frame_kind kind,
			       int msg_type)
{
	struct rv_frame *f = w->f;

	w->f = NULL;
	if (w->failed) {
		free(f);
		return NULL;
	}
	f->kind = (uint8_t)kind;
	f->msg_type = (uint8_t)msg_type;
	return f;
}

void rv__jw_abort(struct rv__jw *w)
{
	free(w->f);
	w->f = NULL;
	w->failed = true;
}
