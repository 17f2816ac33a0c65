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

void rv__jw_num(struct rv__jw *w, double v)
{
	char tmp[32];
	int n;

	if (!isfinite(v))
		v = 0;
	/* Shortest of %.15g/%.17g that reads back exactly, so a relayed
	 * position is bit-for-bit the one the host sent. */
	n = snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof(tmp), "%.17g", v);
	rv__jw_raw(w, tmp, (size_t)n);
}

void rv__jw_time(struct rv__jw *w, double ms)
{
	char tmp[40];
	int n;

	if (!isfinite(ms))
		ms = 0;
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
