/* lib/shard.c - a party's Redis shard (see shard.h). Pure. */
#include "shard.h"

#include <string.h>

uint64_t rv__shard_hash(const char *id, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)id[i];
		h *= 0x100000001b3ull;
	}
	/* MurmurHash3's finalizer: ids that differ in their last byte
	 * differ in every bit */
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Lamping and Veach's jump consistent hash, as published: a linear
 * congruential step per jump, about ln(n) jumps. */
unsigned rv__shard_jump(uint64_t key, unsigned n)
{
	int64_t b = -1, j = 0;

	if (n <= 1)
		return 0;
	while (j < (int64_t)n) {
		b = j;
		key = key * 2862933555777941757ull + 1;
		j = (int64_t)((double)(b + 1) * ((double)(1ll << 31) / (double)((key >> 33) + 1)));
	}
	return (unsigned)b;
}

unsigned rv__shard_of(const char *id, unsigned n)
{
	return rv__shard_jump(rv__shard_hash(id, strlen(id)), n);
}
