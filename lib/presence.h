/* lib/presence.h - internal: presence that scales (issue 13, part 3).
 *
 * Up to cfg.presence_batch_above members a party announces each join and
 * leave at once (member_joined / member_left) and a welcome lists everyone.
 * Past it the party switches to batching: joins and leaves collect in a
 * pending batch that rv__presence_tick flushes at most every
 * cfg.presence_interval_ms as one `presence` diff, and a welcome lists a
 * bounded roster (the host first) with the total count. The mode is
 * latched: it goes back to per-event messages only at a flush that leaves
 * nothing pending with the party at or below the threshold, so no event is
 * announced both ways or out of order.
 *
 * Called by party.c only; pure like it (the time comes in as an argument).
 */
#ifndef REVENGE_PRESENCE_H
#define REVENGE_PRESENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "revenge/party.h"

/* Entries per list in a `presence`; what does not fit is counted in
 * joined_more / left_more (a client pages with `members`). Small on
 * purpose: each flush goes to every member, so the bound is what keeps a
 * party filling at a thousand joins a second at O(members) bytes per
 * flush rather than O(members x joins) (docs/performance.md: 256 entries
 * made a 10 x 1000 fill write 220 MB of presence, 16 makes it 50 MB). */
#define RV__PRESENCE_LIST_MAX 16
/* Members listed in a welcome while batching: the host, the joiner, then
 * the longest present. */
#define RV__PRESENCE_ROSTER_MAX 64
/* Actions one tick emits at most, so the party's other timers (in the same
 * tick, same outbox) keep room; more due leaves the deadline at now. */
#define RV__PRESENCE_ACTIONS_MAX 8
#define RV__PRESENCE_INTERVAL_DEFAULT 250.0

/* A member who left while batching: what its `left` entry needs. */
struct rv__presence_gone {
	char id[RV_MEMBER_ID_MAX + 1];
	char name[RV_NAME_MAX_BYTES + 1];
	uint64_t seq;
};

struct rv__presence_gones {
	struct rv__presence_gone *v;
	size_t n, cap;
};

/* What presence reads of the party, lent by party.c at each call (so that
 * presence.o calls nothing in party.o): the first member in join order,
 * the host (NULL: none) and the size. */
struct rv__roster {
	struct rv_member *first;
	const struct rv_member *host;
	size_t size;
};

struct rv__presence {
	bool batching;                  /* latched mode, see above */
	uint64_t seq;                   /* stamps joins and leaves, in order */
	struct rv_member *first_new;    /* the pending batch's first joiner */
	size_t n_new;                   /* joiners in the pending batch */
	struct rv__presence_gones left; /* the pending batch's leaves */
	double due;                     /* the pending batch's flush; INFINITY */
	double last_flush;              /* -INFINITY before the first */
	/* The second half of a flush under way: each member who joined during
	 * the flushed batch gets the joins and leaves after its own. */
	struct rv_member *nc;           /* next such member, NULL: none */
	uint64_t nc_end;                /* the flushed batch's last seq */
	size_t nc_after;                /* joiners of the batch after nc */
	size_t nc_left_at;              /* first entry of fl_left after nc */
	struct rv__presence_gones fl_left; /* the flushed batch's leaves */
};

void rv__presence_init(struct rv__presence *ps);
void rv__presence_free(struct rv__presence *ps);

/* Whether m's join (already linked in, p's size counts it) is batched;
 * when it is, m is added to the pending batch and nothing must be sent
 * about it but its welcome. Latches batching on past the threshold. */
bool rv__presence_join(struct rv__presence *ps, struct rv__roster r,
		       const struct rv_party_config *cfg, struct rv_member *m,
		       double now_ms);
/* Whether m's leave (m still linked in) is batched (nothing to send now:
 * a join still pending simply cancels out); returns false when the caller
 * sends member_left as before. RV_ENOMEM cannot happen here: with no room
 * for the entry the leave goes out as member_left at once. */
bool rv__presence_leave(struct rv__presence *ps, const struct rv_party_config *cfg,
			struct rv_member *m, double now_ms);

double rv__presence_deadline(const struct rv__presence *ps);
void rv__presence_tick(struct rv__presence *ps, struct rv__roster r,
		       const struct rv_party_config *cfg, double now_ms,
		       struct rv_outbox *ob);

struct rv__jw;
/* Write a welcome's members array (the field "members" included) and its
 * member_count and members_partial: everyone in join order when not
 * batching, else at most RV__PRESENCE_ROSTER_MAX: the host, the joiner,
 * then the longest present. */
void rv__presence_roster(const struct rv__presence *ps, struct rv__jw *w,
			 struct rv__roster r, const struct rv_member *joiner);

/* Answer `members {after, limit}` from m (id echoed): a page of the roster
 * in join order after the member after (NULL: from the first; party.c
 * answers an unknown one not_found). Returns 0. */
int rv__presence_members(struct rv__roster r, const struct rv_member *after,
			 struct rv_member *m,
			 const struct rv_msg *msg, double now_ms, struct rv_outbox *ob);


#endif
