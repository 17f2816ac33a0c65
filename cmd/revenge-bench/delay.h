/* cmd/revenge-bench/delay.h - an in-process network path for `revenge-bench
 * sync`: each message is held until its release time, base + jitter after
 * it was queued, and released in order.
 *
 * Why in-process: a real delay (netem, a proxy) needs privileges or another
 * process, and a per-member model lets one bench give every member its own
 * path (asymmetric, jittered) on one loopback server. Why FIFO: a TCP
 * stream never reorders, so a message queued after another is never
 * released before it (a short delay drawn after a long one waits for it),
 * as head-of-line blocking does on a real path. Deterministic: the delays
 * come from a PRNG seeded by the caller, and the model never reads a clock
 * (times are passed in), so the same seed and the same pushes give the
 * same releases. Pure apart from the queue's allocations.
 */
#ifndef REVENGE_BENCH_DELAY_H
#define REVENGE_BENCH_DELAY_H

#include <stddef.h>
#include <stdint.h>

#define DELAY_MAX_MS 2000.0          /* the largest base delay accepted */

/* How a delay varies around its base. */
enum delay_dist {
	DELAY_UNIFORM,               /* uniform in [base - jitter, base + jitter] */
	DELAY_NORMAL,                /* normal, standard deviation jitter, clipped at 0 */
};

/* One direction's delay (jitter <= base, so a uniform one is never
 * negative). */
struct delay_path {
	double base_ms, jitter_ms;
	enum delay_dist dist;
	uint64_t rng;                /* splitmix64 state */
	double last_release_ms;      /* of the previous message: FIFO */
};

/* A held message: the caller's tag and a copy of its text (NUL after). */
struct delay_msg {
	struct delay_msg *next;
	double release_ms;
	int tag;
	size_t len;
	char text[];
};

struct delay_queue {
	struct delay_path path;
	struct delay_msg *head, **tail;
	size_t n;
};

void delay_path_init(struct delay_path *p, double base_ms, double jitter_ms,
		     enum delay_dist dist, uint64_t seed);

/* A uniform double in [0, 1) from the path's generator (also for the
 * caller's own draws that must follow the seed). */
double delay_rand(uint64_t *state);

/* The release time of a message sent at now_ms: now + a drawn delay, but
 * never before the previous message's release. */
double delay_path_next(struct delay_path *p, double now_ms);

void delay_queue_init(struct delay_queue *q, double base_ms, double jitter_ms,
		      enum delay_dist dist, uint64_t seed);

/* Hold a copy of text (len bytes) sent at now_ms; 0, or -1 out of memory. */
int delay_queue_push(struct delay_queue *q, double now_ms, int tag, const char *text,
		     size_t len);

/* The oldest message due by now_ms, removed from q (the caller frees it
 * with free()), or NULL when none is due. */
struct delay_msg *delay_queue_pop(struct delay_queue *q, double now_ms);

/* Free every held message. */
void delay_queue_clear(struct delay_queue *q);

#endif
