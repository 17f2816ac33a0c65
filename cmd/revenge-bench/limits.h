/* cmd/revenge-bench/limits.h - what caps how many connections a run can
 * open on this machine: the open-file limit (raised as far as allowed) and
 * the ephemeral ports of the source addresses. Said on stderr at the start
 * and in every result, table and JSON, so a capped run is never read as
 * the server's limit.
 */
#ifndef REVENGE_BENCH_LIMITS_H
#define REVENGE_BENCH_LIMITS_H

#include <stdio.h>

struct limits {
	unsigned long want;           /* connections the run opens at most */
	unsigned nsrc;                /* --src addresses (0: the kernel picks) */
	unsigned long nofile;         /* open-file limit; 0 when unlimited */
	unsigned long ports;          /* ephemeral ports for all sources; 0 unknown */
	unsigned long max_conns;      /* with limited_by: about this many fit */
	const char *limited_by;       /* "nofile", "ports" or NULL */
};

/* Raise RLIMIT_NOFILE to its hard limit, read the ephemeral port range,
 * fill l for a run of want connections from nsrc source addresses, and
 * when either caps the run say so on stderr (prog: ...). */
void limits_probe(struct limits *l, const char *prog, unsigned long want, unsigned nsrc);

/* The JSON members, each preceded by a comma:
 * ,"src_addrs":N,"nofile_limit":N|null,"port_limit":N|null,
 * "limited_by":"nofile"|"ports"|null,"max_conns":N|null */
void limits_json(const struct limits *l, FILE *out);

/* A "limited by" table line when the run was capped; nothing otherwise. */
void limits_text(const struct limits *l, FILE *out);

#endif
