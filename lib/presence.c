/* lib/presence.c - batched presence for large parties (see presence.h).
 *
 * Owns the pending batch (who joined and left since the last flush), the
 * flush, the bounded welcome roster and the `members` pages. The batch's
 * joiners need no list of their own: joins append to the party's member
 * list, so they are the members from first_new to the tail, and a joiner
 * who leaves before the flush is unlinked and simply never announced.
 *
 * A flush sends one `presence` to every member present before the batch
 * (the members before first_new in join order: one shared frame), and to
 * each member who joined during it only what came after its own join (its
 * welcome told it the rest), so nobody gets its own join or one its
 * welcome already counted. The second part is one small frame per such
 * member, bounded, and may run over several ticks.
 */
#include "presence.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "jw.h"
#include "outbox.h"
#include "revenge/error.h"

void rv__presence_init(struct rv__presence *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->due = INFINITY;
	ps->last_flush = -INFINITY;
}

void rv__presence_free(struct rv__presence *ps)
{
	free(ps->left.v);
	free(ps->fl_left.v);
	rv__presence_init(ps);
}

static const char *role_of(struct rv__roster r, const struct rv_member *m)
{
	return m == r.host ? "host" : "member";
}

static void arm(struct rv__presence *ps, const struct rv_party_config *cfg, double now_ms)
{
	double at = ps->last_flush + cfg->presence_interval_ms;

	if (isinf(ps->due))
		ps->due = at > now_ms ? at : now_ms;
}

bool rv__presence_join(struct rv__presence *ps, struct rv__roster r,
		       const struct rv_party_config *cfg, struct rv_member *m,
		       double now_ms)
{
	m->presence_seq = ++ps->seq;
	m->presence_new = false;
	if (!ps->batching && !(cfg->presence_batch_above &&
			       r.size > cfg->presence_batch_above))
		return false;
	ps->batching = true;
	m->presence_new = true;
	if (!ps->first_new)
		ps->first_new = m;
	ps->n_new++;
	arm(ps, cfg, now_ms);
	return true;
}

static int gones_push(struct rv__presence_gones *g, const struct rv_member *m, uint64_t seq)
{
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct rv__presence_gone *v = realloc(g->v, cap * sizeof(*v));

		if (!v)
			return RV_ENOMEM;
		g->v = v;
		g->cap = cap;
	}
	memcpy(g->v[g->n].id, m->id, sizeof(m->id));
	memcpy(g->v[g->n].name, m->name, sizeof(m->name));
	g->v[g->n].seq = seq;
	g->n++;
	return 0;
}

bool rv__presence_leave(struct rv__presence *ps, const struct rv_party_config *cfg,
			struct rv_member *m, double now_ms)
{
	/* Cursors must not point at a member about to be freed, and the
	 * joiners still to be told of count one less. */
	if (ps->nc == m) {
		ps->nc = m->next;
		if (ps->nc_after)
			ps->nc_after--;
	} else if (ps->nc && m->presence_seq > ps->nc->presence_seq &&
		   m->presence_seq <= ps->nc_end && ps->nc_after) {
		ps->nc_after--;
	}
	if (m->presence_new) {
		/* never announced: the join and the leave cancel out */
		if (ps->first_new == m)
			ps->first_new = m->next;
		ps->n_new--;
		return true;
	}
	if (!ps->batching)
		return false;
	if (gones_push(&ps->left, m, ++ps->seq))
		return false;
	arm(ps, cfg, now_ms);
	return true;
}

double rv__presence_deadline(const struct rv__presence *ps)
{
	/* a flush under way goes on at once */
	return ps->nc ? ps->last_flush : ps->due;
}

/* One `presence`: joined lists up to jmax members from j (those with seq
 * <= jend), of which there are jn in all; left lists up to lmax of gones
 * g[0..ln). */
static struct rv_frame *presence_frame(struct rv__roster r,
				       const struct rv_member *j, uint64_t jend,
				       size_t jn, size_t jmax,
				       const struct rv__presence_gone *g, size_t ln,
				       size_t lmax, double now_ms)
{
	struct rv__jw w;
	size_t js = 0, ls = 0;

	rv__jw_init(&w, 96 + (jn < jmax ? jn : jmax) * 64 + (ln < lmax ? ln : lmax) * 56);
	rv__jw_open(&w, "{\"type\":\"presence\",\"payload\":{");
	rv__jw_field(&w, "joined");
	rv__jw_open(&w, "[");
	for (; j && j->presence_seq <= jend && js < jmax; j = j->next, js++) {
		rv__jw_elem(&w);
		rv__jw_open(&w, "{");
		rv__jw_fcstr(&w, "id", j->id);
		rv__jw_fcstr(&w, "name", j->name);
		rv__jw_fcstr(&w, "role", role_of(r, j));
		rv__jw_close(&w, "}");
	}
	rv__jw_close(&w, "]");
	rv__jw_field(&w, "left");
	rv__jw_open(&w, "[");
	for (; ls < ln && ls < lmax; ls++) {
		rv__jw_elem(&w);
		rv__jw_open(&w, "{");
		rv__jw_fcstr(&w, "id", g[ls].id);
		rv__jw_fcstr(&w, "name", g[ls].name);
		rv__jw_close(&w, "}");
	}
	rv__jw_close(&w, "]");
	rv__jw_fnum(&w, "count", (double)r.size);
	rv__jw_fnum(&w, "joined_more", (double)(jn > js ? jn - js : 0));
	rv__jw_fnum(&w, "left_more", (double)(ln - ls));
	rv__jw_close(&w, "}");
	rv__jw_ftime(&w, "ts", now_ms);
	rv__jw_lit(&w, "}");
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_PRESENCE);
}

/* The first half of a flush: the batch goes to those present before it,
 * and the batch becomes the flushed one whose joiners are told next. */
static void flush_start(struct rv__presence *ps, struct rv__roster r,
			double now_ms, struct rv_outbox *ob)
{
	struct rv_member *first = ps->first_new, *head = r.first;
	struct rv__presence_gones swap;

	for (struct rv_member *m = first; m; m = m->next)
		m->presence_new = false;
	if (ps->n_new || ps->left.n) {
		/* with no joiner, everyone was present before the batch */
		enum rv_target to = first ? RV_TO_ALL_BEFORE : RV_TO_ALL;

		if (first != head)
			rv__outbox_emit(ob, to, first,
				       presence_frame(r, first, ps->seq, ps->n_new,
						      RV__PRESENCE_LIST_MAX, ps->left.v,
						      ps->left.n, RV__PRESENCE_LIST_MAX,
						      now_ms));
	}
	swap = ps->fl_left;
	ps->fl_left = ps->left;
	ps->left = swap;
	ps->left.n = 0;
	ps->nc = first;
	ps->nc_end = ps->seq;
	ps->nc_after = ps->n_new ? ps->n_new - 1 : 0;
	ps->nc_left_at = 0;
	ps->first_new = NULL;
	ps->n_new = 0;
	ps->due = INFINITY;
	ps->last_flush = now_ms;
}

/* The second half: each joiner of the flushed batch gets the joins and
 * leaves after its own, when there are any. */
static void flush_newcomers(struct rv__presence *ps, struct rv__roster r,
			    double now_ms, struct rv_outbox *ob, unsigned budget)
{
	const struct rv__presence_gones *g = &ps->fl_left;

	while (ps->nc && ps->nc->presence_seq <= ps->nc_end && budget) {
		struct rv_member *m = ps->nc;

		while (ps->nc_left_at < g->n && g->v[ps->nc_left_at].seq < m->presence_seq)
			ps->nc_left_at++;
		if (ps->nc_after || ps->nc_left_at < g->n) {
			rv__outbox_emit(ob, RV_TO_ONE, m,
				       presence_frame(r, m->next, ps->nc_end, ps->nc_after,
						      RV__PRESENCE_LIST_MAX,
						      g->v + ps->nc_left_at,
						      g->n - ps->nc_left_at,
						      RV__PRESENCE_LIST_MAX, now_ms));
			budget--;
		}
		ps->nc = m->next;
		if (ps->nc_after)
			ps->nc_after--;
	}
	if (ps->nc && ps->nc->presence_seq > ps->nc_end)
		ps->nc = NULL;
}

void rv__presence_tick(struct rv__presence *ps, struct rv__roster r,
		       const struct rv_party_config *cfg, double now_ms,
		       struct rv_outbox *ob)
{
	unsigned budget = RV__PRESENCE_ACTIONS_MAX;

	if (ps->nc) {
		flush_newcomers(ps, r, now_ms, ob, budget);
		if (ps->nc)
			return;
	}
	if (ps->due <= now_ms) {
		flush_start(ps, r, now_ms, ob);
		flush_newcomers(ps, r, now_ms, ob, budget - 1);
	}
	if (!ps->nc && isinf(ps->due) && ps->batching &&
	    r.size <= cfg->presence_batch_above)
		ps->batching = false;
}

static void member_obj(struct rv__jw *w, struct rv__roster r, const struct rv_member *m)
{
	rv__jw_elem(w);
	rv__jw_open(w, "{");
	rv__jw_fcstr(w, "id", m->id);
	rv__jw_fcstr(w, "name", m->name);
	rv__jw_fcstr(w, "role", role_of(r, m));
	rv__jw_close(w, "}");
}

void rv__presence_roster(const struct rv__presence *ps, struct rv__jw *w,
			 struct rv__roster r, const struct rv_member *joiner)
{
	const struct rv_member *host = r.host;
	size_t n = 0, size = r.size;

	rv__jw_field(w, "members");
	rv__jw_open(w, "[");
	if (!ps->batching) {
		for (const struct rv_member *m = r.first; m; m = m->next, n++)
			member_obj(w, r, m);
	} else {
		if (host) {
			member_obj(w, r, host);
			n++;
		}
		if (joiner != host) {
			member_obj(w, r, joiner);
			n++;
		}
		for (const struct rv_member *m = r.first;
		     m && n < RV__PRESENCE_ROSTER_MAX; m = m->next) {
			if (m != host && m != joiner) {
				member_obj(w, r, m);
				n++;
			}
		}
	}
	rv__jw_close(w, "]");
	rv__jw_fnum(w, "member_count", (double)size);
	rv__jw_fbool(w, "members_partial", n < size);
}

int rv__presence_members(struct rv__roster r, const struct rv_member *after,
			 struct rv_member *m,
			 const struct rv_msg *msg, double now_ms, struct rv_outbox *ob)
{
	unsigned limit = msg->u.members.limit ? msg->u.members.limit : RV_MEMBERS_PAGE_DEFAULT;
	const struct rv_member *from = r.first, *last = NULL;
	struct rv__jw w;
	unsigned n = 0;

	if (limit > RV_MEMBERS_PAGE_MAX)
		limit = RV_MEMBERS_PAGE_MAX;
	if (after)
		from = after->next;
	rv__jw_init(&w, 96 + (size_t)limit * 64);
	rv__jw_open(&w, "{\"type\":\"members\",\"payload\":{");
	rv__jw_field(&w, "members");
	rv__jw_open(&w, "[");
	for (const struct rv_member *x = from; x && n < limit; x = x->next, n++) {
		member_obj(&w, r, x);
		last = x;
	}
	rv__jw_close(&w, "]");
	rv__jw_field(&w, "next");
	if (last && last->next)
		rv__jw_cstr(&w, last->id);
	else
		rv__jw_lit(&w, "null");
	rv__jw_fnum(&w, "count", (double)r.size);
	rv__jw_close(&w, "}");
	rv__jw_ftime(&w, "ts", now_ms);
	rv__jw_id(&w, msg->id);
	rv__jw_lit(&w, "}");
	rv__outbox_emit(ob, RV_TO_ONE, m, rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_MEMBERS));
	return 0;
}
