/* tests/unit/test_shard.c - a party's Redis shard (lib/shard.c): stable,
 * balanced, and moving few ids when a shard is added. */
#include "unit.h"

#include <stdio.h>

#include "shard.h"

/* Pinned: every node of a cluster, of any version, must agree on these
 * (tests/helpers/shard_of.py computes the same independently). */
static void stable(void **state)
{
	static const struct {
		const char *id;
		unsigned n, shard;
	} known[] = {
		{ "p0", 2, 1 }, { "p1", 2, 1 }, { "p2", 2, 1 }, { "p3", 2, 0 },
		{ "party-42", 2, 0 }, { "abc", 2, 0 },
		{ "p0", 16, 1 }, { "p1", 16, 3 }, { "p2", 16, 6 }, { "p3", 16, 8 },
		{ "party-42", 16, 2 }, { "abc", 16, 15 },
	};

	assert_true(rv__shard_hash("", 0) == 0xefd01f60ba992926ull);
	assert_true(rv__shard_hash("a", 1) == 0x82a2a958a9bece5bull);
	assert_true(rv__shard_hash("party-42", 8) == 0xe10b549fc18ad57dull);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (rv__shard_of(known[i].id, known[i].n) != known[i].shard)
			fail_msg("%s of %u: shard %u, expected %u", known[i].id, known[i].n,
				 rv__shard_of(known[i].id, known[i].n), known[i].shard);
	/* one shard (or none): always 0 */
	assert_int_equal(rv__shard_of("anything", 1), 0);
	assert_int_equal(rv__shard_of("anything", 0), 0);
	assert_int_equal(rv__shard_jump(~0ull, 1), 0);
}

#define IDS 100000

/* Ids as parties get them (short, alike): each of n shards holds 1/n of
 * them within 3 %, for every n up to 16. */
static void balanced(void **state)
{
	static unsigned count[16];
	char id[32];

	for (unsigned n = 2; n <= 16; n++) {
		memset(count, 0, sizeof(count));
		for (unsigned i = 0; i < IDS; i++) {
			unsigned s;

			snprintf(id, sizeof(id), "party-%u", i);
			s = rv__shard_of(id, n);
			assert_true(s < n);
			count[s]++;
		}
		for (unsigned s = 0; s < n; s++) {
			double share = (double)count[s] * n / IDS;

			if (share < 0.97 || share > 1.03)
				fail_msg("%u shards: shard %u holds %u of %u ids (%.3f of its share)",
					 n, s, count[s], IDS, share);
		}
	}
}

/* From n to n + 1 shards: an id moves only onto the new shard, and about
 * 1/(n + 1) of them do (within 10 % of that). */
static void minimal_movement(void **state)
{
	char id[32];

	for (unsigned n = 1; n < 16; n++) {
		unsigned moved = 0;
		double want = (double)IDS / (n + 1);

		for (unsigned i = 0; i < IDS; i++) {
			unsigned a, b;

			snprintf(id, sizeof(id), "p%u", i);
			a = rv__shard_of(id, n);
			b = rv__shard_of(id, n + 1);
			if (a != b) {
				if (b != n)
					fail_msg("%s moved from %u to %u going from %u to %u shards", id,
						 a, b, n, n + 1);
				moved++;
			}
		}
		if (moved < want * 0.9 || moved > want * 1.1)
			fail_msg("%u to %u shards moved %u of %u ids, expected about %.0f", n, n + 1,
				 moved, IDS, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(stable),
		cmocka_unit_test(balanced),
		cmocka_unit_test(minimal_movement),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
