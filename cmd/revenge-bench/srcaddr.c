/* cmd/revenge-bench/srcaddr.c - parsing, checking and picking --src
 * addresses (srcaddr.h). */
#include "srcaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A dotted quad, strictly (inet_pton takes no shorthand like "127.1"). */
static int parse_quad(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return 0;
}

/* Why addr cannot be a source address; NULL when it can. */
static const char *unusable(uint32_t addr)
{
	if (addr >> 24 == 0)
		return "0.0.0.0/8 is not a source address";
	if (addr >> 28 == 14)
		return "multicast is not a source address";
	if (addr >> 28 == 15)
		return "240.0.0.0/4 and broadcast are not source addresses";
	return NULL;
}

int srcaddr_parse(struct srcaddr *s, const char *spec, char *err, size_t errlen)
{
	char first[64];
	const char *dash = strchr(spec, '-'), *last = dash ? dash + 1 : NULL;
	uint32_t lo, hi, a;
	const char *why;

	s->n = 0;
	if (strchr(spec, ':')) {
		snprintf(err, errlen, "IPv4 addresses only, got '%s'", spec);
		return -1;
	}
	if (!dash && strlen(spec) < sizeof(first))
		strcpy(first, spec);
	else if (dash && (size_t)(dash - spec) < sizeof(first))
		snprintf(first, sizeof(first), "%.*s", (int)(dash - spec), spec);
	else
		goto bad;
	if (parse_quad(first, &lo))
		goto bad;
	if (!last) {
		hi = lo;
	} else if (strchr(last, '.')) {
		if (parse_quad(last, &hi))
			goto bad;
	} else {
		char *end;
		unsigned long oct;

		/* digits only: strtoul would take "+8", " 8" and "-8" */
		if (*last < '0' || *last > '9')
			goto bad;
		errno = 0;
		oct = strtoul(last, &end, 10);
		if (errno || *end)
			goto bad;
		if (oct > 255) {
			snprintf(err, errlen, "the last octet is 0 to 255, got '%s'", spec);
			return -1;
		}
		hi = (lo & 0xffffff00u) | (uint32_t)oct;
	}
	if (hi < lo) {
		snprintf(err, errlen, "the range '%s' goes backwards", spec);
		return -1;
	}
	if (hi - lo >= SRCADDR_MAX) {
		snprintf(err, errlen, "at most %d addresses, '%s' has %llu", SRCADDR_MAX, spec,
			 (unsigned long long)(hi - lo) + 1);
		return -1;
	}
	for (a = lo;; a++) {
		struct in_addr ia = { .s_addr = htonl(a) };

		why = unusable(a);
		if (why) {
			inet_ntop(AF_INET, &ia, first, sizeof(first));
			snprintf(err, errlen, "%s: %s", first, why);
			s->n = 0;
			return -1;
		}
		inet_ntop(AF_INET, &ia, s->a[s->n++], sizeof(s->a[0]));
		if (a == hi)
			break;
	}
	return 0;
bad:
	snprintf(err, errlen, "expected an IPv4 address or a range like 127.0.0.1-127.0.0.8 "
		 "or 127.0.0.1-8, got '%s'", spec);
	return -1;
}

int srcaddr_check(const struct srcaddr *s, char *err, size_t errlen)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct sockaddr_in sa = { .sin_family = AF_INET };
		int fd = socket(AF_INET, SOCK_STREAM, 0), rc, e;

		if (fd < 0) {
			snprintf(err, errlen, "cannot make a socket: %s", strerror(errno));
			return -1;
		}
		inet_pton(AF_INET, s->a[i], &sa.sin_addr);
		/* port 0: the kernel lends an ephemeral port until close */
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
		e = errno;
		close(fd);
		if (rc) {
			snprintf(err, errlen, "cannot bind to %s: %s%s", s->a[i], strerror(e),
				 e == EADDRNOTAVAIL ? " (not an address of this machine)" : "");
			return -1;
		}
	}
	return 0;
}

const char *srcaddr_pick(const struct srcaddr *s, unsigned long i)
{
	return s && s->n ? s->a[i % s->n] : NULL;
}
