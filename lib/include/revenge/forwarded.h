/* revenge/forwarded.h - the client's address behind trusted reverse proxies
 * (--trusted-proxy CIDR, X-Forwarded-For, X-Real-IP).
 *
 * Pure: strings in, an address out; no sockets, no allocation. A proxy's
 * headers are believed only when the TCP peer is inside a trusted range,
 * and only as far as the chain of trusted hops goes: X-Forwarded-For is
 * read from the right, and the first address that is not itself trusted
 * is the client (the algorithm of nginx's real_ip_recursive and of most
 * frameworks), so whatever a client writes into the header itself, left
 * of what its proxy appended, is never taken.
 */
#ifndef REVENGE_FORWARDED_H
#define REVENGE_FORWARDED_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Longest CIDR text accepted ("ffff:...:ffff/128" and some slack). */
#define RV_FORWARDED_CIDR_MAX 64
/* Room for an address as rv_forwarded_client writes it (INET6_ADDRSTRLEN). */
#define RV_FORWARDED_ADDR_MAX 46

struct rv_cidr {
	int family;               /* AF_INET or AF_INET6 */
	unsigned char addr[16];   /* network order; 4 bytes used for AF_INET */
	unsigned bits;            /* prefix length: 0-32 or 0-128 */
};

/* Parse "ADDR/BITS" or a bare "ADDR" (a single host: /32 or /128), IPv4 or
 * IPv6, into *out. Host bits set past the prefix are an error (a typo more
 * often than meant), as is anything else not of that form. Returns 0, or
 * RV_EINVAL with a one-line reason in why (may be NULL). */
int rv_forwarded_cidr_parse(const char *s, struct rv_cidr *out, char *why, size_t why_len);

/* True when the textual address addr (IPv4, IPv6, or IPv4-mapped IPv6,
 * which matches IPv4 ranges) is inside one of the n ranges. */
bool rv_forwarded_trusted(const struct rv_cidr *ranges, size_t n, const char *addr);

/* The client's address for a connection from peer (the TCP peer's address)
 * that sent X-Forwarded-For xff and X-Real-IP real_ip (NULL or "" when
 * absent), into out (at least RV_FORWARDED_ADDR_MAX bytes), normalised
 * (inet_ntop). When peer is not trusted, the headers are ignored and out
 * is peer. Else X-Forwarded-For is walked from the right past trusted
 * addresses; a malformed entry stops the walk at the last good address; a
 * header with no usable entry falls back to X-Real-IP, then to peer.
 * Returns true when out came from a header. */
bool rv_forwarded_client(const struct rv_cidr *ranges, size_t n, const char *peer,
			 const char *xff, const char *real_ip, char *out, size_t out_len);

#ifdef __cplusplus
}
#endif

#endif
