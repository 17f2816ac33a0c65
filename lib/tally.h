/* lib/tally.h - internal: a count per string key (live sessions per owner),
 * for the server's per-owner caps. A key is kept only while its count is
 * above zero, so the table is as large as the set of owners with live
 * sessions. Built on idmap; pure, so unit-tested directly.
 */
#ifndef REVENGE_TALLY_H
#define REVENGE_TALLY_H

#include "idmap.h"

struct rv__tally {
	struct rv__idmap counts;        /* key -> its count (unsigned *, owned) */
};

/* Start empty; 0 or RV_ENOMEM. */
int rv__tally_init(struct rv__tally *t);
/* key's count; 0 when absent. */
unsigned rv__tally_get(const struct rv__tally *t, const char *key);
/* Count one more for key: 0, or RV_ENOMEM with the count unchanged. */
int rv__tally_add(struct rv__tally *t, const char *key);
/* Count one less for key; at zero the key is forgotten. A key at zero
 * stays at zero. */
void rv__tally_sub(struct rv__tally *t, const char *key);
/* How many keys have a count above zero. */
size_t rv__tally_keys(const struct rv__tally *t);
/* Free the table (NULL-safe on an initialised or zeroed tally). */
void rv__tally_free(struct rv__tally *t);

#endif
