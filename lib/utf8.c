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

bool rv_proto_valid_name(const char *s, size_t len)
{
	bool visible = false;
	size_t chars;

	if (len < 1 || len > RV_NAME_MAX_BYTES || !rv_utf8_valid(s, len))
		return false;
	chars = rv_utf8_chars(s, len);
	if (chars < 1 || chars > RV_NAME_MAX_CHARS)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		/* C0 controls, DEL and the C1 controls (U+0080-U+009F). */
		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == 0xc2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f)
			return false;
		if (c != ' ')
			visible = true;
	}
	return visible;
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
