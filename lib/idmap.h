/* lib/idmap.h - internal: a hash map from a string id (party, session) to a
 * pointer, shared by the server's endpoint tables. Keys are copied; values
 * are the caller's. Pure, so unit-tested directly.
 */
#ifndef REVENGE_IDMAP_H
#define REVENGE_IDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rv__idmap_entry;

struct rv__idmap {
	struct rv__idmap_entry **buckets;
	size_t n_buckets, n;
};

/* Start empty; 0 or RV_ENOMEM. */
int rv__idmap_init(struct rv__idmap *m);
/* The value for key, NULL when absent. */
void *rv__idmap_get(const struct rv__idmap *m, const char *key);
/* Add key -> value (key must be absent). 0, RV_ENOMEM. */
int rv__idmap_put(struct rv__idmap *m, const char *key, void *value);
/* Remove key; returns its value, NULL when absent. */
void *rv__idmap_del(struct rv__idmap *m, const char *key);
/* Call fn on every value (the map must not change meanwhile). */
void rv__idmap_each(const struct rv__idmap *m, void (*fn)(void *value, void *arg), void *arg);
/* Remove every entry whose value drop(value, arg) says to drop (drop may
 * free the value: its entry is gone once drop returns true); returns how
 * many were removed. */
size_t rv__idmap_sweep(struct rv__idmap *m, bool (*drop)(void *value, void *arg), void *arg);
/* Free the map; free_value (may be NULL) is called on every value. */
void rv__idmap_free(struct rv__idmap *m, void (*free_value)(void *value));

#endif
