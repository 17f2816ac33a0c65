/* lib/idmap.c - string id -> pointer hash map (see idmap.h). Chained
 * buckets, FNV-1a, doubling at a load factor of 1. */
#include "idmap.h"

#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"

struct rv__idmap_entry {
	struct rv__idmap_entry *next;
	void *value;
	char key[];
};

static size_t hash(const char *p)
{
	uint64_t h = 1469598103934665603ull;

	while (*p)
		h = (h ^ (unsigned char)*p++) * 1099511628211ull;
	return (size_t)h;
}

int rv__idmap_init(struct rv__idmap *m)
{
	m->n_buckets = 64;
	m->n = 0;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	return m->buckets ? 0 : RV_ENOMEM;
}

static struct rv__idmap_entry **slot(const struct rv__idmap *m, const char *key)
{
	struct rv__idmap_entry **pp = &m->buckets[hash(key) & (m->n_buckets - 1)];

	while (*pp && strcmp((*pp)->key, key))
		pp = &(*pp)->next;
	return pp;
}

void *rv__idmap_get(const struct rv__idmap *m, const char *key)
{
	struct rv__idmap_entry *e = *slot(m, key);

	return e ? e->value : NULL;
}

static void grow(struct rv__idmap *m)
{
	size_t n = m->n_buckets * 2;
	struct rv__idmap_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return;   /* keep the longer chains; still correct */
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct rv__idmap_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[hash(e->key) & (n - 1)];
			b[hash(e->key) & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

int rv__idmap_put(struct rv__idmap *m, const char *key, void *value)
{
	size_t len = strlen(key);
	struct rv__idmap_entry *e = malloc(sizeof(*e) + len + 1);

	if (!e)
		return RV_ENOMEM;
	memcpy(e->key, key, len + 1);
	e->value = value;
	if (m->n >= m->n_buckets)
		grow(m);
	e->next = NULL;
	*slot(m, key) = e;
	m->n++;
	return 0;
}

void *rv__idmap_del(struct rv__idmap *m, const char *key)
{
	struct rv__idmap_entry **pp = slot(m, key), *e = *pp;
	void *v;

	if (!e)
		return NULL;
	*pp = e->next;
	v = e->value;
	free(e);
	m->n--;
	return v;
}

void rv__idmap_each(const struct rv__idmap *m, void (*fn)(void *value, void *arg), void *arg)
{
	for (size_t i = 0; i < m->n_buckets; i++)
		for (struct rv__idmap_entry *e = m->buckets[i]; e; e = e->next)
			fn(e->value, arg);
}

size_t rv__idmap_sweep(struct rv__idmap *m, bool (*drop)(void *value, void *arg), void *arg)
{
	size_t gone = 0;

	for (size_t i = 0; i < m->n_buckets; i++) {
		struct rv__idmap_entry **pp = &m->buckets[i];

		while (*pp) {
			struct rv__idmap_entry *e = *pp;

			if (drop(e->value, arg)) {
				*pp = e->next;
				free(e);
				gone++;
			} else {
				pp = &e->next;
			}
		}
	}
	m->n -= gone;
	return gone;
}

void rv__idmap_free(struct rv__idmap *m, void (*free_value)(void *value))
{
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct rv__idmap_entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			if (free_value)
				free_value(e->value);
			free(e);
		}
	}
	free(m->buckets);
	m->buckets = NULL;
	m->n_buckets = m->n = 0;
}
