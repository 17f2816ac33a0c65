/* lib/proto_media.c - what a party's media url may be (see proto.h's
 * rv_proto_valid_media_url).
 *
 * Every member's browser loads the url the host chose into its <video>:
 * the check keeps it to what a page may fetch as video without harm (an
 * http(s) URL, or a path on the server that serves the page), never a
 * scheme that runs or reads something else (javascript:, data:, file:),
 * and never bytes that browsers repair in ways a reader of the url would
 * not expect (a backslash is a '/', white space and controls are dropped).
 */
#include "revenge/proto.h"

#include <string.h>
#include <strings.h>

/* The offset just past an http:// or https:// prefix (any case), 0 when
 * s[0..len) has neither. */
static size_t http_prefix(const char *s, size_t len)
{
	if (len >= 7 && strncasecmp(s, "http://", 7) == 0)
		return 7;
	if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
		return 8;
	return 0;
}

bool rv_proto_valid_media_url(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t host;

	if (!s || len < 1 || len > RV_MEDIA_URL_MAX || !rv_utf8_valid(s, len))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (u[i] <= 0x20 || u[i] == 0x7f || u[i] == '\\')
			return false;
		/* C1 controls are U+0080-U+009F: 0xC2 0x80-0x9F */
		if (u[i] == 0xc2 && i + 1 < len && u[i + 1] <= 0x9f)
			return false;
	}
	if ((host = http_prefix(s, len)))
		/* a host: something before the path, query or fragment */
		return host < len && !strchr("/?#", s[host]);
	if (len >= 2 && s[0] == '/' && s[1] == '/')
		return false;           /* //host: another server, not a path */
	/* a relative reference has no scheme: no ':' in its first segment */
	for (size_t i = 0; i < len && !strchr("/?#", s[i]); i++)
		if (s[i] == ':')
			return false;
	return true;
}
