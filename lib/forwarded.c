/* lib/forwarded.c - trusted proxy ranges and the client address behind
 * them (see revenge/forwarded.h). Pure: no sockets, no allocation. */
#include "revenge/forwarded.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "revenge/error.h"

/* Entries of X-Forwarded-For looked at, right to left: no chain of proxies
 * is longer, and a header of thousands of commas costs no more than this. */
#define HOPS_MAX 32

/* An address as text (len bytes, not terminated) into family and 16 bytes;
 * "[v6]" is taken too. 0 or -1. */
static int parse_addr(const char *s, size_t len, int *family, unsigned char *a)
{
	char buf[RV_FORWARDED_ADDR_MAX];

	if (len >= 2 && s[0] == '[' && s[len - 1] == ']') {
		s++;
		len -= 2;
		if (!memchr(s, ':', len))
			return -1;
	}
	if (!len || len >= sizeof(buf) || memchr(s, '\0', len))
		return -1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, 16);
	if (inet_pton(AF_INET, buf, a) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes that IPv4 one. */
static void unmap(int *family, unsigned char *a)
{
	static const unsigned char prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (*family == AF_INET6 && !memcmp(a, prefix, sizeof(prefix))) {
		memmove(a, a + 12, 4);
		memset(a + 4, 0, 12);
		*family = AF_INET;
	}
}

/* At most 80 bytes of s for a message, control bytes as '?': the reason
 * stays one line whatever was given. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i < 80 && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

int rv_forwarded_cidr_parse(const char *s, struct rv_cidr *out, char *why, size_t why_len)
{
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned max, bits;
	char *end, show[84];
	unsigned long b;

	if (strlen(s) > RV_FORWARDED_CIDR_MAX || parse_addr(s, alen, &out->family, out->addr) ||
	    s[0] == '[') {
		if (why)
			snprintf(why, why_len, "expected ADDRESS[/BITS] (IPv4 or IPv6), got '%s'",
				 shown(s, show, sizeof(show)));
		return RV_EINVAL;
	}
	max = out->family == AF_INET ? 32 : 128;
	bits = max;
	if (slash) {
		b = strtoul(slash + 1, &end, 10);
		if (slash[1] < '0' || slash[1] > '9' || strlen(slash + 1) > 3 || *end || b > max) {
			if (why)
				snprintf(why, why_len, "expected a prefix length of 0-%u after '/',"
					 " got '%s'", max, shown(s, show, sizeof(show)));
			return RV_EINVAL;
		}
		bits = (unsigned)b;
	}
	out->bits = bits;
	for (unsigned i = bits; i < max; i++)
		if (out->addr[i / 8] & (0x80u >> (i % 8))) {
			if (why)
				snprintf(why, why_len, "'%s' has bits set past its /%u prefix",
					 shown(s, show, sizeof(show)), bits);
			return RV_EINVAL;
		}
	return 0;
}

static bool inside(const struct rv_cidr *r, int family, const unsigned char *a)
{
	unsigned full = r->bits / 8, rest = r->bits % 8;

	if (r->family != family || memcmp(r->addr, a, full))
		return false;
	return !rest || !((r->addr[full] ^ a[full]) & (0xff00u >> rest));
}

static bool trusted(const struct rv_cidr *ranges, size_t n, int family,
		    const unsigned char *a)
{
	unsigned char v4[16];
	int f4 = family;

	memcpy(v4, a, 16);
	unmap(&f4, v4);
	for (size_t i = 0; i < n; i++)
		if (inside(&ranges[i], family, a) || (f4 != family && inside(&ranges[i], f4, v4)))
			return true;
	return false;
}

bool rv_forwarded_trusted(const struct rv_cidr *ranges, size_t n, const char *addr)
{
	unsigned char a[16];
	int family;

	return addr && !parse_addr(addr, strlen(addr), &family, a) &&
	       trusted(ranges, n, family, a);
}

/* a as text into out; false when it does not fit. */
static bool put(int family, unsigned char *a, char *out, size_t out_len)
{
	unmap(&family, a);
	return inet_ntop(family, a, out, (socklen_t)out_len) != NULL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

bool rv_forwarded_client(const struct rv_cidr *ranges, size_t n, const char *peer,
			 const char *xff, const char *real_ip, char *out, size_t out_len)
{
	unsigned char a[16], got[16];
	int family, got_family = 0;
	bool have = false;

	snprintf(out, out_len, "%s", peer ? peer : "");
	if (!n || !peer || parse_addr(peer, strlen(peer), &family, a) ||
	    !trusted(ranges, n, family, a))
		return false;
	if (xff && *xff) {
		const char *end = xff + strlen(xff);

		for (int hop = 0; hop < HOPS_MAX && end > xff; hop++) {
			const char *start = end, *e = end;

			while (start > xff && start[-1] != ',')
				start--;
			end = start > xff ? start - 1 : xff;
			while (start < e && is_space(*start))
				start++;
			while (e > start && is_space(e[-1]))
				e--;
			if (e == start && end > xff)
				continue;       /* "a, , b": an empty entry is nothing */
			if (parse_addr(start, (size_t)(e - start), &family, a))
				break;          /* malformed: the last good one stands */
			memcpy(got, a, 16);
			got_family = family;
			have = true;
			if (!trusted(ranges, n, family, a))
				break;
		}
	}
	if (!have && real_ip && *real_ip) {
		size_t len = strlen(real_ip);

		while (len && is_space(real_ip[len - 1]))
			len--;
		while (len && is_space(*real_ip)) {
			real_ip++;
			len--;
		}
		if (!parse_addr(real_ip, len, &got_family, got))
			have = true;
	}
	if (!have)
		return false;
	if (!put(got_family, got, out, out_len)) {
		snprintf(out, out_len, "%s", peer);
		return false;
	}
	return true;
}
