/* lib/ratemap.h - internal: a token bucket (bucket.h) per string key, for
 * the handshake rate per client address (--handshake-rate-per-ip).
 *
 * A key whose bucket has refilled to full is the same as an absent key,
 * so such keys are forgotten: the table holds only the addresses that
 * connected within the last burst/rate seconds, however many come and go.
 * Past max_keys live keys a new key is let through untracked (fail open):
 * a flood from that many addresses is not the one client this limit is
 * for, and refusing strangers would let it lock everyone out. Pure (time
 * is handed in), so unit-tested directly.
 */
#ifndef REVENGE_RATEMAP_H
#define REVENGE_RATEMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "idmap.h"

struct rv__ratemap {
	struct rv__idmap buckets;       /* key -> struct rv__bucket * (owned) */
	double rate, burst;             /* each key's bucket; rate 0: no limit */
	size_t max_keys;                /* beyond: untracked, let through */
	size_t sweep_at;                /* sweep full buckets past this many keys */
	double now_ms;                  /* of the call that sweeps (its arg) */
};

/* Start empty with buckets of burst tokens refilling at rate per second
 * (rate 0: every take succeeds and nothing is kept); 0 or RV_ENOMEM. */
int rv__ratemap_init(struct rv__ratemap *m, double rate, double burst, size_t max_keys);

/* Take one token from key's bucket at now_ms (a new key starts full):
 * true when taken, or when untracked (no limit, table full, out of
 * memory). When refused, *wait_ms (may be NULL) is the time until the
 * bucket holds a token again. */
bool rv__ratemap_take(struct rv__ratemap *m, const char *key, double now_ms, double *wait_ms);

/* Keys held now. */
size_t rv__ratemap_keys(const struct rv__ratemap *m);

/* Free the table (NULL-safe on an initialised or zeroed map). */
void rv__ratemap_free(struct rv__ratemap *m);

#endif
