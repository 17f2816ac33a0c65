/* lib/shard.h - internal: which of N Redis shards a party (or a progress
 * session) lives on (pure, no I/O).
 *
 * The id's bytes are hashed with 64-bit FNV-1a (and MurmurHash3's
 * finalizer), then placed with Lamping
 * and Veach's jump consistent hash ("A Fast, Minimal Memory, Consistent
 * Hash Algorithm", 2014): the same id and N give the same shard on every
 * node and every version; going from N to N + 1 shards moves about
 * 1/(N + 1) of the ids, all onto the new shard, and no other. Shards are
 * numbered by their place in the --redis list: a shard added at the end
 * moves few parties, one removed or moved in the list re-homes most.
 */
#ifndef REVENGE_SHARD_H
#define REVENGE_SHARD_H

#include <stddef.h>
#include <stdint.h>

/* The 64-bit FNV-1a hash of len bytes at id, finalized. */
uint64_t rv__shard_hash(const char *id, size_t len);

/* The shard, in [0, n), of hash key among n (n 0 or 1: 0). */
unsigned rv__shard_jump(uint64_t key, unsigned n);

/* rv__shard_jump(rv__shard_hash(id, strlen(id)), n). */
unsigned rv__shard_of(const char *id, unsigned n);

#endif
