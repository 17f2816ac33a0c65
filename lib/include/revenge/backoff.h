/* revenge/backoff.h - reconnect delays: exponential backoff with jitter
 * (pure; the random state is the caller's).
 *
 * Attempt n (from 0) waits min(max, base * 2^n), then a random share of up
 * to jitter of it is taken off ("equal jitter" when jitter is 0.5), so a
 * crowd of clients that lost the same server does not come back in step.
 */
#ifndef REVENGE_BACKOFF_H
#define REVENGE_BACKOFF_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rv_backoff {
	double base_ms;      /* first delay, before jitter */
	double max_ms;       /* ceiling, before jitter */
	double jitter;       /* 0..1: share of the delay that is random */
	uint64_t rng;        /* xorshift state; any nonzero seed */
};

/* The delay before attempt n (0-based), in ms, and advance the random
 * state. Always within [(1 - jitter) x d, d] where d = min(max, base x 2^n). */
double rv_backoff_delay(struct rv_backoff *b, unsigned attempt);

#ifdef __cplusplus
}
#endif

#endif
