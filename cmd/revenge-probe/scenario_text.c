/* cmd/revenge-probe/scenario_text.c - how the scenario module writes
 * values into its messages: formatted, as compact JSON or a string literal
 * clipped to SHOW_MAX bytes without cutting a UTF-8 character, numbers in
 * their shortest form whatever the locale; and in_list, for the key lists
 * of the parser and the matchers. Shared through scenario_int.h.
 */
#include "scenario_int.h"

#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <revenge/proto.h>

void scn__vsay(char *buf, size_t size, const char *fmt, va_list ap)
{
	int n;

	if (!buf || size == 0)
		return;
	n = vsnprintf(buf, size, fmt, ap);
	/* cut short: end on a whole character, as the values inside do */
	if (n > 0 && (size_t)n >= size)
		buf[rv_utf8_cut(buf, size - 1, size - 1)] = '\0';
}

void scn__say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	scn__vsay(buf, size, fmt, ap);
	va_end(ap);
}

struct sink {
	char *buf;
	size_t cap, len;
	bool cut;
};

static int sink_put(const char *s, size_t n, void *data)
{
	struct sink *k = data;

	if (n > k->cap - k->len) {
		memcpy(k->buf + k->len, s, k->cap - k->len);
		k->len = k->cap;
		k->cut = true;
		return -1;
	}
	memcpy(k->buf + k->len, s, n);
	k->len += n;
	return 0;
}

const char *scn__real_text(double d, char *num, size_t size)
{
	char point = localeconv()->decimal_point[0], *c;

	for (int prec = 15; prec <= 17; prec++) {
		snprintf(num, size, "%.*g", prec, d);
		if (strtod(num, NULL) == d)
			break;
	}
	if (point != '.' && (c = strchr(num, point)))
		*c = '.';
	return num;
}

const char *scn__show(const json_t *v, char *buf)
{
	struct sink k = { buf, SHOW_MAX, 0, false };
	size_t flags = JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15);

	if (!v)
		return strcpy(buf, "missing");
	if (json_is_real(v))
		return scn__real_text(json_real_value(v), buf, SHOW_BUF);
	if (json_dump_callback(v, sink_put, &k, flags) != 0 && !k.cut)
		return strcpy(buf, "(unprintable)");
	if (k.cut) {
		k.len = rv_utf8_cut(buf, k.len, k.len);
		memcpy(buf + k.len, "...", 4);
	} else {
		buf[k.len] = '\0';
	}
	return buf;
}

const char *scn__quote(const char *s, size_t len, char *buf)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < len && o < SHOW_MAX; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(buf + o, 7, "\\u%04x", c);
		} else {
			buf[o++] = (char)c;
		}
	}
	if (i < len) {
		o = 1 + rv_utf8_cut(buf + 1, o - 1, o - 1);
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

const char *scn__clip(const char *s, char *buf)
{
	size_t n = strlen(s);

	if (n > SHOW_MAX)
		n = rv_utf8_cut(s, n, SHOW_MAX);
	memcpy(buf, s, n);
	strcpy(buf + n, s[n] ? "..." : "");
	return buf;
}

bool scn__in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

