/* cmd/revenge-bench/srcaddr.h - --src: the local IPv4 addresses outgoing
 * connections are bound to, round-robin.
 *
 * One address has about 28,000 ephemeral ports to reach one server with;
 * every further local address (127.0.0.2, 127.0.0.3, ... on loopback) has
 * as many again, so tens of thousands of connections fit.
 */
#ifndef REVENGE_BENCH_SRCADDR_H
#define REVENGE_BENCH_SRCADDR_H

#include <stddef.h>

#define SRCADDR_MAX 256

struct srcaddr {
	unsigned n;                   /* 0: the kernel picks */
	char a[SRCADDR_MAX][16];      /* dotted quads */
};

/* Parse spec: "A" (one address), "A-B" (A to B, both dotted quads) or
 * "A-N" (A to the same address with last octet N), IPv4 only, at most
 * SRCADDR_MAX addresses, none of them 0.0.0.0/8, multicast or reserved.
 * Returns 0 and fills s, or -1 with a message (no flag name) in err. */
int srcaddr_parse(struct srcaddr *s, const char *spec, char *err, size_t errlen);

/* Check that every address is one of this machine's (a socket binds to
 * it). Returns 0, or -1 with a message in err naming the address. */
int srcaddr_check(const struct srcaddr *s, char *err, size_t errlen);

/* The address for the i-th connection (round-robin); NULL when s is NULL
 * or empty. Borrowed from s. */
const char *srcaddr_pick(const struct srcaddr *s, unsigned long i);

#endif
