/* lib/utf8.c - text checks shared by the codec, the handshake and the
 * commands: UTF-8 validation (strict: no overlong forms, no surrogates,
 * nothing past U+10FFFF) and cutting, ids, display names, and the JSON
 * nesting guard that runs before jansson.
 */
#include "revenge/proto.h"

bool rv_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

size_t rv_utf8_chars(const char *str, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)str[i] & 0xc0) != 0x80)
			n++;
	return n;
}

size_t rv_utf8_cut(const char *str, size_t len, size_t max)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = len < max ? len : max, lead = n, need;
	unsigned char c;

	/* back over at most three continuation bytes to the sequence's lead */
	while (lead > 0 && n - lead < 3 && (s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return 0;
	c = s[--lead];
	need = c < 0xc0 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	return n - lead < need ? lead : n;
}

bool rv_proto_valid_id(const char *s, size_t len)
{
	if (len < 1 || len > RV_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* The code point at s[*i] of a valid UTF-8 string; *i moves past it. */
static unsigned utf8_next(const unsigned char *s, size_t *i)
{
	unsigned c = s[*i];
	size_t n = c < 0x80 ? 0 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : 3;
	unsigned cp = n == 0 ? c : c & (0x3f >> n);

	for (size_t k = 1; k <= n; k++)
		cp = (cp << 6) | (s[*i + k] & 0x3f);
	*i += n + 1;
	return cp;
}

/* Refused anywhere in a name: controls (C0, DEL, C1), the bidi controls
 * that reorder the text around a name, and the line and paragraph
 * separators. */
static bool name_refused(unsigned cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0x2028 || cp == 0x2029;
}

/* Characters that draw nothing or look like a space: fine inside a name,
 * not a name on their own (it would look empty, or like someone else's). */
static bool name_blank(unsigned cp)
{
	switch (cp) {
	case 0x20: case 0xa0: case 0xad: case 0x115f: case 0x1160: case 0x1680:
	case 0x180e: case 0x202f: case 0x205f: case 0x2060: case 0x2800:
	case 0x3000: case 0x3164: case 0xfeff: case 0xffa0:
		return true;
	}
	return (cp >= 0x2000 && cp <= 0x200d) ||        /* spaces, zero widths */
	       (cp >= 0x2061 && cp <= 0x2064) ||        /* invisible operators */
	       (cp >= 0xfe00 && cp <= 0xfe0f) ||        /* variation selectors */
	       (cp >= 0xe0000 && cp <= 0xe007f);        /* tags */
}

bool rv_proto_valid_name(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	bool visible = false;
	size_t chars;

	if (len < 1 || len > RV_NAME_MAX_BYTES || !rv_utf8_valid(s, len))
		return false;
	chars = rv_utf8_chars(s, len);
	if (chars < 1 || chars > RV_NAME_MAX_CHARS)
		return false;
	for (size_t i = 0; i < len;) {
		unsigned cp = utf8_next(u, &i);

		if (name_refused(cp))
			return false;
		if (!name_blank(cp))
			visible = true;
	}
	return visible;
}

bool rv_proto_valid_title(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	if (len > RV_MEDIA_TITLE_MAX || (len && !s) || !rv_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len;)
		if (name_refused(utf8_next(u, &i)))
			return false;
	return true;
}

size_t rv_json_depth_exceeded(const char *s, size_t len, size_t max_depth)
{
	size_t depth = 0;
	bool in_str = false;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return i;
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return SIZE_MAX;
}
