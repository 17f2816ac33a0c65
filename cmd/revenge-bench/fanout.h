/* cmd/revenge-bench/fanout.h - the fanout scenario: parties of members,
 * each host sending syncs at a rate, every member timing each delivery.
 */
#ifndef REVENGE_BENCH_FANOUT_H
#define REVENGE_BENCH_FANOUT_H

#include <stdbool.h>

struct fanout_opts {
	const char *url;
	double duration_s;
	unsigned connect_rate;
	bool json, tty, deflate;
	unsigned parties, members;    /* members per party, the host included */
	double rate;                  /* syncs per second per host */
	int server_pid;               /* > 0: read its CPU from /proc */
};

/* Run it; prints the result (table or JSON). Returns the exit status:
 * 0, or 1 when connections failed or were closed by the server. */
int fanout_run(const struct fanout_opts *o);

#endif
