/* lib/ratemap.c - a token bucket per key (ratemap.h).
 *
 * Owns the table and its forgetting; the arithmetic is bucket.c's. Full
 * buckets are swept when the table has doubled since the last sweep, so a
 * take costs O(1) amortised and the table stays within twice the keys
 * seen in the last burst/rate seconds (at least a small floor).
 */
#include "ratemap.h"

#include <stdlib.h>

#include "bucket.h"
#include "revenge/error.h"

#define SWEEP_FLOOR 1024

int rv__ratemap_init(struct rv__ratemap *m, double rate, double burst, size_t max_keys)
{
	m->rate = rate > 0 ? rate : 0;
	m->burst = burst > 0 ? burst : 0;
	m->max_keys = max_keys;
	m->sweep_at = SWEEP_FLOOR;
	m->now_ms = 0;
	return rv__idmap_init(&m->buckets);
}

/* A bucket that would be full at m->now_ms: its key tells nothing. */
static bool full_then(void *value, void *arg)
{
	struct rv__ratemap *m = arg;
	struct rv__bucket *b = value;
	double elapsed = m->now_ms - b->at;

	if (!(b->tokens + (elapsed > 0 ? elapsed / 1000.0 * b->rate : 0) >= b->burst))
		return false;
	free(b);
	return true;
}

static void sweep(struct rv__ratemap *m, double now_ms)
{
	m->now_ms = now_ms;
	rv__idmap_sweep(&m->buckets, full_then, m);
	m->sweep_at = m->buckets.n * 2 > SWEEP_FLOOR ? m->buckets.n * 2 : SWEEP_FLOOR;
}

bool rv__ratemap_take(struct rv__ratemap *m, const char *key, double now_ms, double *wait_ms)
{
	struct rv__bucket *b;

	if (!(m->rate > 0))
		return true;
	b = rv__idmap_get(&m->buckets, key);
	if (!b) {
		if (m->buckets.n >= m->sweep_at || m->buckets.n >= m->max_keys)
			sweep(m, now_ms);
		if (m->buckets.n >= m->max_keys || !(b = malloc(sizeof(*b))))
			return true;
		rv__bucket_init(b, m->rate, m->burst, now_ms);
		if (rv__idmap_put(&m->buckets, key, b)) {
			free(b);
			return true;
		}
	}
	if (rv__bucket_take(b, now_ms))
		return true;
	if (wait_ms)
		*wait_ms = rv__bucket_wait_ms(b);
	return false;
}

size_t rv__ratemap_keys(const struct rv__ratemap *m)
{
	return m->buckets.n;
}

void rv__ratemap_free(struct rv__ratemap *m)
{
	if (m)
		rv__idmap_free(&m->buckets, free);
}
