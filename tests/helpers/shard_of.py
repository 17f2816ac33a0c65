"""tests/helpers/shard_of.py - the Redis shard of each id (lib/shard.c),
written again independently: 64-bit FNV-1a, MurmurHash3's finalizer, then
Lamping and Veach's jump consistent hash.

    python3 shard_of.py N ID...      prints "ID SHARD" per id
"""
import sys

M = (1 << 64) - 1


def shard_hash(s):
    h = 0xcbf29ce484222325
    for b in s.encode():
        h ^= b
        h = (h * 0x100000001b3) & M
    h ^= h >> 33
    h = (h * 0xff51afd7ed558ccd) & M
    h ^= h >> 33
    h = (h * 0xc4ceb9fe1a85ec53) & M
    h ^= h >> 33
    return h


def jump(key, n):
    b, j = -1, 0
    while j < n:
        b = j
        key = (key * 2862933555777941757 + 1) & M
        j = int((b + 1) * (float(1 << 31) / float((key >> 33) + 1)))
    return max(b, 0)


if __name__ == "__main__":
    n = int(sys.argv[1])
    for i in sys.argv[2:]:
        print(i, jump(shard_hash(i), n))
