/* cmd/revenge-bench/amplify.h - the amplify scenario: one party under a
 * chat flood, and bystanders in other parties timing `time` requests
 * before and during it.
 */
#ifndef REVENGE_BENCH_AMPLIFY_H
#define REVENGE_BENCH_AMPLIFY_H

#include "common.h"

struct amplify_opts {
	struct common_opts c;         /* duration_s: each phase, quiet and attack */
	unsigned attackers;           /* members of the attack party who chat */
	unsigned passive;             /* members of it who only receive */
	double rate;                  /* chat messages per second per attacker */
	unsigned bystanders;          /* clients in parties of their own */
	int bystander_cpu;            /* pin the bystanders' process here; -1: no */
};

/* Run it; prints the result (table or JSON). Returns the exit status: 0,
 * or 1 when connections failed or were closed by the server, or the
 * bystanders could not run. */
int amplify_run(const struct amplify_opts *o);

#endif
