/* lib/tally.c - a count per string key (tally.h): each key's count is a
 * small allocation of its own in an idmap, freed when it drops to zero. */
#include "tally.h"

#include <stdlib.h>

#include "revenge/error.h"

int rv__tally_init(struct rv__tally *t)
{
	return rv__idmap_init(&t->counts);
}

unsigned rv__tally_get(const struct rv__tally *t, const char *key)
{
	const unsigned *n = rv__idmap_get(&t->counts, key);

	return n ? *n : 0;
}

int rv__tally_add(struct rv__tally *t, const char *key)
{
	unsigned *n = rv__idmap_get(&t->counts, key);

	if (n) {
		(*n)++;
		return 0;
	}
	if (!(n = malloc(sizeof(*n))))
		return RV_ENOMEM;
	*n = 1;
	if (rv__idmap_put(&t->counts, key, n)) {
		free(n);
		return RV_ENOMEM;
	}
	return 0;
}

void rv__tally_sub(struct rv__tally *t, const char *key)
{
	unsigned *n = rv__idmap_get(&t->counts, key);

	if (n && !--*n)
		free(rv__idmap_del(&t->counts, key));
}

size_t rv__tally_keys(const struct rv__tally *t)
{
	return t->counts.n;
}

void rv__tally_free(struct rv__tally *t)
{
	if (t->counts.buckets)
		rv__idmap_free(&t->counts, free);
	t->counts.buckets = NULL;
}
