/* cmd/revenge-bench/connect.h - the connect scenario: handshakes per
 * second, handshake latency, the server's memory per held connection and
 * the load on both sides while connecting.
 */
#ifndef REVENGE_BENCH_CONNECT_H
#define REVENGE_BENCH_CONNECT_H

#include "common.h"

struct connect_opts {
	struct common_opts c;         /* c.duration_s: how long to hold them */
	unsigned conns;
	bool raw;                     /* plain sockets (rawconn.h), not libwebsockets */
};

/* Run it; prints the result. Returns 0, or 1 when connections failed. */
int connect_run(const struct connect_opts *o);

#endif
