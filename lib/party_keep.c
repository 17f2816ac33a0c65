/* lib/party_keep.c - watch parties kept across restarts and members who
 * come back (party_keep.h): dormant parties, resume records and host
 * claims, and the party documents written through the store writer.
 *
 * A document is made (party_save.c) only from the party endpoint's save
 * tick or when a party empties: a sync or a chat costs the message path a
 * flag. The writer commits it with the next batch (its thread for SQLite,
 * the pipeline for PostgreSQL).
 */
#include "party_keep.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "revenge/error.h"
#include "revenge/log.h"

#include "conn.h"
#include "idmap.h"
#include "list.h"
#include "store_writer.h"

/* A party with no members here: its document, until a join takes it back
 * or the retention runs out. */
struct dormant {
	char id[RV_ID_MAX + 1];
	char *doc;
	double seen;                  /* server ms it last had members */
	struct dormant *prev, *next;  /* least recently seen first */
};

/* Writes of a party handed to the writer and not yet answered: a party
 * with one waiting is not written again by the tick (it stays dirty), so a
 * stuck store holds at most one document per party, not one a second. */
struct pending {
	char id[RV_ID_MAX + 1];
	unsigned n;
};

/* Dormant documents kept in memory at most, in bytes (beyond, the least
 * recently seen party is forgotten): a party's document can reach a few
 * hundred KiB (a full history of long messages, a thousand gone members). */
#define DORMANT_BYTES_MAX (64u << 20)

struct rv__keep {
	struct rv__hub *hub;
	double retention_ms;
	bool persist;
	size_t max_dormant;
	rv__keep_hash_of *hash_of;
	struct rv__idmap by_id;       /* party id -> struct dormant */
	RV__LIST(struct dormant) order;
	size_t n_dormant, dormant_bytes;
	struct rv__idmap pending;     /* party id -> struct pending */
	unsigned long long max_member;
	size_t bad_docs;              /* at start: documents that were not ones */
};

static void dormant_free(struct rv__keep *k, struct dormant *d)
{
	rv__idmap_del(&k->by_id, d->id);
	RV__LIST_REMOVE(&k->order, d, );
	k->n_dormant--;
	k->dormant_bytes -= strlen(d->doc);
	free(d->doc);
	free(d);
}

/* Count a write of party id handed over (+1) or answered (-1). Out of
 * memory the count is not kept: the party is then written every tick. */
static void pend(struct rv__keep *k, const char *id, int d)
{
	struct pending *p = rv__idmap_get(&k->pending, id);

	if (!p && d > 0 && (p = calloc(1, sizeof(*p)))) {
		snprintf(p->id, sizeof(p->id), "%s", id);
		if (rv__idmap_put(&k->pending, p->id, p)) {
			free(p);
			p = NULL;
		}
	}
	if (!p)
		return;
	p->n += d;
	if (!p->n) {
		rv__idmap_del(&k->pending, p->id);
		free(p);
	}
}

static bool is_pending(const struct rv__keep *k, const char *id)
{
	return rv__idmap_get(&k->pending, id) != NULL;
}

/* Write doc (taken; NULL deletes) as party id's row. */
static void store_put(struct rv__keep *k, const char *id, char *doc, double seen)
{
	struct rv__store_item it;

	if (!k->persist || !k->hub->writer) {
		free(doc);
		return;
	}
	memset(&it, 0, sizeof(it));
	it.kind = RV__STORE_ITEM_PARTY;
	snprintf(it.rec.session_id, sizeof(it.rec.session_id), "%s", id);
	it.rec.server_time = seen;
	it.doc = doc;
	if (rv__store_writer_add(k->hub->writer, &it)) {
		rv_log(k->hub->log, RV_LOG_WARN, "party_not_saved",
		       "party=%s: the store writer's backlog is full", id);
		return;
	}
	pend(k, id, 1);
}

/* Make id dormant with doc (taken), seen at seen: the oldest goes when
 * there are max_dormant already. */
static void dormant_add(struct rv__keep *k, const char *id, char *doc, double seen)
{
	struct dormant *d = rv__idmap_get(&k->by_id, id);

	if (d)
		dormant_free(k, d);
	while ((k->n_dormant >= k->max_dormant ||
		k->dormant_bytes + strlen(doc) > DORMANT_BYTES_MAX) && k->order.first) {
		store_put(k, k->order.first->id, NULL, 0);
		dormant_free(k, k->order.first);
	}
	if (!(d = calloc(1, sizeof(*d)))) {
		free(doc);
		return;
	}
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->doc = doc;
	d->seen = seen;
	if (rv__idmap_put(&k->by_id, d->id, d)) {
		free(doc);
		free(d);
		return;
	}
	RV__LIST_APPEND(&k->order, d, );
	k->n_dormant++;
	k->dormant_bytes += strlen(doc);
}

/* A party's write is committed (or failed: store_watch logs that). */
static void saved(void *arg, const struct rv__store_item *it, int err)
{
	struct rv__keep *k = arg;

	pend(k, it->rec.session_id, -1);
	if (!err)
		rv_log(k->hub->log, RV_LOG_DEBUG, it->doc ? "party_saved" : "party_forgotten",
		       "party=%s", it->rec.session_id);
}

static void note_member_ids(struct rv__keep *k, const struct rv__party_save *s)
{
	for (size_t i = 0; i < s->n_members; i++) {
		unsigned long long n;
		char tail;

		if (sscanf(s->members[i].id, "m%llx%c", &n, &tail) == 1 && n > k->max_member)
			k->max_member = n;
	}
}

static void loaded(void *arg, const char *id, const char *doc, double seen)
{
	struct rv__keep *k = arg;
	struct rv__party_save s;
	char *copy;

	if (!rv_proto_valid_id(id, strlen(id)) || rv__party_save_decode(doc, &s)) {
		k->bad_docs++;
		store_put(k, id, NULL, 0);
		return;
	}
	note_member_ids(k, &s);
	rv__party_save_clear(&s);
	if ((copy = strdup(doc)))
		dormant_add(k, id, copy, seen);
}

int rv__keep_new(struct rv__hub *hub, double retention_ms, bool persist, size_t max_dormant,
		 rv__keep_hash_of *hash_of, struct rv__keep **out)
{
	struct rv__keep *k;

	*out = NULL;
	if (!(retention_ms > 0))
		return 0;
	if (!(k = calloc(1, sizeof(*k))) || rv__idmap_init(&k->by_id)) {
		free(k);
		return RV_ENOMEM;
	}
	if (rv__idmap_init(&k->pending)) {
		rv__idmap_free(&k->by_id, NULL);
		free(k);
		return RV_ENOMEM;
	}
	k->hub = hub;
	k->retention_ms = retention_ms;
	k->persist = persist && hub->writer;
	k->max_dormant = max_dormant ? max_dormant : 10000;
	k->hash_of = hash_of;
	if (k->persist) {
		rv__store_writer_on_done(hub->writer, RV__STORE_ITEM_PARTY, saved, k);
		if (rv__store_writer_load_parties(hub->writer, loaded, k))
			rv_log(hub->log, RV_LOG_WARN, "parties_not_restored",
			       "the store could not be read: parties start afresh");
		if (k->bad_docs)
			rv_log(hub->log, RV_LOG_WARN, "parties_dropped",
			       "%zu stored part%s that could not be read", k->bad_docs,
			       k->bad_docs == 1 ? "y" : "ies");
		rv__keep_sweep(k, rv__hub_now(hub));
		if (k->n_dormant)
			rv_log(hub->log, RV_LOG_INFO, "parties_restored",
			       "%zu part%s kept from before, restored on their first join",
			       k->n_dormant, k->n_dormant == 1 ? "y" : "ies");
	}
	*out = k;
	return 0;
}

static void free_dormant_value(void *v)
{
	struct dormant *d = v;

	free(d->doc);
	free(d);
}

void rv__keep_free(struct rv__keep *k)
{
	if (!k)
		return;
	if (k->persist && k->hub->writer)
		rv__store_writer_on_done(k->hub->writer, RV__STORE_ITEM_PARTY, NULL, NULL);
	rv__idmap_free(&k->by_id, free_dormant_value);
	rv__idmap_free(&k->pending, free);
	free(k);
}

double rv__keep_retention_ms(const struct rv__keep *k)
{
	return k ? k->retention_ms : 0;
}

unsigned long long rv__keep_max_member(const struct rv__keep *k)
{
	return k ? k->max_member : 0;
}

int rv__keep_new_token(char *token, char *hash)
{
	unsigned char b[16];

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b))
		return RV_EIO;
	rv__resume_token(b, token);
	rv__resume_hash(token, hash);
	return 0;
}

static int gone_push(struct rv__keep_party *kp, const struct rv__party_save_member *m)
{
	if (kp->n_gone == RV__KEEP_GONE_MAX) {
		memmove(kp->gone, kp->gone + 1, (kp->n_gone - 1) * sizeof(*kp->gone));
		kp->n_gone--;
	}
	if (kp->n_gone == kp->cap_gone) {
		size_t cap = kp->cap_gone ? kp->cap_gone * 2 : 8;
		struct rv__party_save_member *g = realloc(kp->gone, cap * sizeof(*g));

		if (!g)
			return RV_ENOMEM;
		kp->gone = g;
		kp->cap_gone = cap;
	}
	kp->gone[kp->n_gone++] = *m;
	return 0;
}

bool rv__keep_peek(struct rv__keep *k, const char *id, double now_ms, struct rv__party_save *s)
{
	struct dormant *d;

	if (!k || !(d = rv__idmap_get(&k->by_id, id)) || rv__party_save_decode(d->doc, s))
		return false;
	s->state = rv__party_save_resume_state(&s->state, now_ms);
	return true;
}

void rv__keep_drop(struct rv__keep *k, const char *id)
{
	struct dormant *d;

	if (k && (d = rv__idmap_get(&k->by_id, id)))
		dormant_free(k, d);
}

bool rv__keep_restore(struct rv__keep *k, struct rv_party *p, struct rv__keep_party *kp,
		      double now_ms, bool with_state)
{
	struct dormant *d;
	struct rv__party_save s;
	struct rv_playback st;
	struct rv_frame **hist = NULL;
	size_t n = 0;

	if (!k || !(d = rv__idmap_get(&k->by_id, rv_party_id(p))))
		return false;
	if (rv__party_save_decode(d->doc, &s)) {
		dormant_free(k, d);
		return false;
	}
	st = rv__party_save_resume_state(&s.state, now_ms);
	if (with_state && s.n_history && (hist = calloc(s.n_history, sizeof(*hist))))
		for (size_t i = 0; i < s.n_history; i++)
			if ((hist[n] = rv_frame_from(s.history[i], s.history_len[i],
						     RV_FRAME_EVENT)))
				hist[n++]->msg_type = RV_MSG_CHAT;
	if (with_state)
		rv_party_restore(p, &st, hist, n);
	else
		st = *rv_party_state(p);
	if (s.media_url[0])
		rv_party_set_media(p, s.media_url, s.media_title);
	for (size_t i = 0; i < n; i++)
		rv_frame_unref(hist[i]);
	free(hist);
	/* members present when it was written (a crash, or a store written
	 * before a drain's leaves) may come back for as long as gone ones */
	for (size_t i = 0; i < s.n_members; i++) {
		struct rv__party_save_member m = s.members[i];

		if (!m.until)
			m.until = d->seen + k->retention_ms;
		if (m.until >= now_ms)
			gone_push(kp, &m);
	}
	if (s.claim[0] && s.claim_until >= now_ms) {
		memcpy(kp->claim, s.claim, sizeof(kp->claim));
		kp->claim_until = s.claim_until;
	} else if (s.host[0] && d->seen + k->retention_ms >= now_ms) {
		memcpy(kp->claim, s.host, sizeof(kp->claim));
		kp->claim_until = d->seen + k->retention_ms;
	}
	rv_log(k->hub->log, RV_LOG_INFO, "party_restored",
	       "party=%s position=%.3f playing=%d speed=%g history=%zu members=%zu",
	       rv_party_id(p), st.position, st.playing, st.speed, rv_party_history_len(p),
	       kp->n_gone);
	rv__party_save_clear(&s);
	dormant_free(k, d);
	kp->dirty = true;
	return true;
}

bool rv__keep_resume(struct rv__keep_party *kp, const char *hash, double now_ms,
		     struct rv__party_save_member *out, bool *reclaim)
{
	*reclaim = false;
	for (size_t i = kp->n_gone; i-- > 0;) {
		if (strcmp(kp->gone[i].token_hash, hash))
			continue;
		if (kp->gone[i].until < now_ms)
			return false;
		*out = kp->gone[i];
		memmove(kp->gone + i, kp->gone + i + 1, (kp->n_gone - i - 1) * sizeof(*kp->gone));
		kp->n_gone--;
		if (kp->claim[0] && !strcmp(kp->claim, out->id) && kp->claim_until >= now_ms) {
			*reclaim = true;
			kp->claim[0] = 0;
		}
		kp->dirty = true;
		return true;
	}
	return false;
}

void rv__keep_add(struct rv__keep *k, struct rv__keep_party *kp,
		  const struct rv__party_save_member *m, bool host, double now_ms)
{
	struct rv__party_save_member g = *m;

	if (!k)
		return;
	if (!g.until)
		g.until = now_ms + k->retention_ms;
	if (gone_push(kp, &g))
		return;
	if (host && (!kp->claim[0] || kp->claim_until < now_ms)) {
		memcpy(kp->claim, g.id, sizeof(kp->claim));
		kp->claim_until = g.until;
	}
}

void rv__keep_left(struct rv__keep *k, struct rv__keep_party *kp, const struct rv_member *m,
		   const char *hash, bool was_host, double now_ms)
{
	struct rv__party_save_member g;

	if (!k || !hash)
		return;
	memset(&g, 0, sizeof(g));
	memcpy(g.id, m->id, sizeof(g.id));
	memcpy(g.name, m->name, sizeof(g.name));
	snprintf(g.token_hash, sizeof(g.token_hash), "%s", hash);
	g.until = now_ms + k->retention_ms;
	gone_push(kp, &g);
	/* The first host to go keeps the claim: when a drain closes
	 * everyone, the heirs who host for a moment do not take it. */
	if (was_host && (!kp->claim[0] || kp->claim_until < now_ms)) {
		memcpy(kp->claim, m->id, sizeof(kp->claim));
		kp->claim_until = g.until;
	}
	kp->dirty = true;
}

void rv__keep_handed_over(struct rv__keep_party *kp)
{
	kp->claim[0] = 0;
	kp->dirty = true;
}

/* p's document (NULL out of memory): present members first, then the
 * gone ones still within the retention. */
static char *encode(struct rv__keep *k, struct rv_party *p, struct rv__keep_party *kp,
		    double now_ms)
{
	struct rv__party_save s;
	size_t nh = rv_party_history_len(p), n = 0, cap = rv_party_size(p) + kp->n_gone;
	char *doc = NULL;

	memset(&s, 0, sizeof(s));
	s.state = *rv_party_state(p);
	if (rv_party_host(p))
		snprintf(s.host, sizeof(s.host), "%s", rv_party_host(p)->id);
	if (kp->claim[0] && kp->claim_until >= now_ms) {
		memcpy(s.claim, kp->claim, sizeof(s.claim));
		s.claim_until = kp->claim_until;
	}
	if (cap > RV__PARTY_SAVE_MEMBERS_MAX)
		cap = RV__PARTY_SAVE_MEMBERS_MAX;
	if ((nh && (!(s.history = calloc(nh, sizeof(*s.history))) ||
		    !(s.history_len = calloc(nh, sizeof(*s.history_len))))) ||
	    (cap && !(s.members = calloc(cap, sizeof(*s.members)))))
		goto out;
	for (size_t i = 0; i < nh; i++) {
		struct rv_frame *f = rv_party_history_at(p, i);

		s.history[i] = (char *)rv_frame_data(f);
		s.history_len[i] = f->len;
	}
	s.n_history = nh;
	for (struct rv_member *m = rv_party_first(p); m && n < cap; m = m->next) {
		const char *h = m->remote ? NULL : k->hash_of(m);

		if (!h)
			continue;
		memcpy(s.members[n].id, m->id, sizeof(s.members[n].id));
		memcpy(s.members[n].name, m->name, sizeof(s.members[n].name));
		snprintf(s.members[n].token_hash, sizeof(s.members[n].token_hash), "%s", h);
		s.members[n++].until = 0;
	}
	for (size_t i = 0; i < kp->n_gone && n < cap; i++)
		if (kp->gone[i].until >= now_ms)
			s.members[n++] = kp->gone[i];
	s.n_members = n;
	if (rv_party_media_url(p)) {
		snprintf(s.media_url, sizeof(s.media_url), "%s", rv_party_media_url(p));
		snprintf(s.media_title, sizeof(s.media_title), "%s", rv_party_media_title(p));
	}
	doc = rv__party_save_encode(&s);
out:
	free(s.history);
	free(s.history_len);
	free(s.members);
	return doc;
}

/* Drop gone records past their time (oldest first: they are in order). */
static void prune_gone(struct rv__keep_party *kp, double now_ms)
{
	size_t i = 0;

	while (i < kp->n_gone && kp->gone[i].until < now_ms)
		i++;
	if (i) {
		memmove(kp->gone, kp->gone + i, (kp->n_gone - i) * sizeof(*kp->gone));
		kp->n_gone -= i;
	}
}

void rv__keep_tick_party(struct rv__keep *k, struct rv_party *p, struct rv__keep_party *kp,
			 double now_ms)
{
	if (!k || !k->persist)
		return;
	if (!kp->dirty && now_ms - kp->saved_at < k->retention_ms / 4)
		return;
	if (is_pending(k, rv_party_id(p)))
		return;               /* the next tick after its answer */
	prune_gone(kp, now_ms);
	kp->dirty = false;
	kp->saved_at = now_ms;
	store_put(k, rv_party_id(p), encode(k, p, kp, now_ms), now_ms);
}

void rv__keep_emptied(struct rv__keep *k, struct rv_party *p, struct rv__keep_party *kp,
		      double now_ms, bool dormant)
{
	char *doc, *copy;

	if (!k)
		return;
	prune_gone(kp, now_ms);
	if (!(doc = encode(k, p, kp, now_ms)))
		return;
	if (!dormant) {
		rv__keep_drop(k, rv_party_id(p));
		store_put(k, rv_party_id(p), doc, now_ms);
		return;
	}
	copy = k->persist ? strdup(doc) : NULL;
	dormant_add(k, rv_party_id(p), doc, now_ms);
	if (copy)
		store_put(k, rv_party_id(p), copy, now_ms);
}

void rv__keep_sweep(struct rv__keep *k, double now_ms)
{
	if (!k)
		return;
	while (k->order.first && k->order.first->seen + k->retention_ms < now_ms) {
		store_put(k, k->order.first->id, NULL, 0);
		dormant_free(k, k->order.first);
	}
}

void rv__keep_party_clear(struct rv__keep_party *kp)
{
	free(kp->gone);
	memset(kp, 0, sizeof(*kp));
}
