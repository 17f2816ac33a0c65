/* lib/barrier.c - the waiting room of a watch party (see barrier.h).
 *
 * Owns who the party waits for and the resume it holds meanwhile. A member
 * is "in the barrier" when it joined a paused party or has said `ready`
 * since it joined (a member that joined mid-play is not waited for: its
 * first load must never pause the others); a member dropped by a timeout or
 * a forced start is out until it says `ready` again. While a member in the
 * barrier buffers, the party is waiting: a host's resume is held (the state
 * stays paused) and a stall mid-play pauses everyone. The last member to be
 * ready releases the held resume as a state scheduled lead_ms ahead, so
 * every player starts at the same instant. A held resume never waits longer
 * than its timeout (--ready-timeout for a wait begun while paused,
 * --rebuffer-timeout for a stall mid-play): the deadline is fixed when the
 * resume is first held, so members who start buffering later in the same
 * wait cannot stretch it; whoever still buffers then is dropped.
 *
 * In cluster mode other nodes' members are waited for too: their node
 * sends which of its members are waited for (a `wait` envelope, at most
 * one per event and, while only its count changes, at most every
 * RV__BARRIER_ANNOUNCE_MS), and rv__barrier_remote sets their flags, so
 * the count, party_state's waiting_for and the release cover the whole
 * party. Only the host's node decides (holds, stalls, times out, drops);
 * a node whose host is remote ("follows") counts and tells, and takes the
 * host's node's deadline and drops.
 *
 * Pure like party.c: time comes in as an argument, messages go out as
 * outbox actions, counters go out in the outbox for the adapter.
 */
#include "barrier.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jw.h"
#include "lead.h"
#include "outbox.h"

void rv__barrier_init(struct rv__barrier *b)
{
	memset(b, 0, sizeof(*b));
	b->deadline = INFINITY;
	b->told_deadline = INFINITY;
	b->told_at = -INFINITY;
	b->remote_deadline = INFINITY;
	b->pub_deadline = INFINITY;
	b->pub_at = -INFINITY;
}

/* Queue f (the caller's reference) for target; NULL (an encode out of
 * memory) or a full outbox drops it, as party.c's emit does. */
static void push(const struct rv__barrier_env *e, enum rv_target target, struct rv_member *m,
		 struct rv_frame *f)
{
	rv__outbox_emit(e->ob, target, m, f);
}

static double timeout_ms(const struct rv__barrier_env *e, bool rebuffer)
{
	double t = rebuffer ? e->cfg->rebuffer_timeout_ms : e->cfg->ready_timeout_ms;

	/* 0 (a config that does not say) is the default */
	if (!(t > 0))
		t = rebuffer ? RV__REBUFFER_TIMEOUT_MS : RV__READY_TIMEOUT_MS;
	return t;
}

/* Is m waited for? */
static bool waited(const struct rv_member *m)
{
	return m->in_barrier && m->buffering;
}

/* Set m's two flags, keeping the count of waited members. */
static void set_member(struct rv__barrier *b, struct rv_member *m, bool in, bool buffering)
{
	bool was = waited(m);

	m->in_barrier = in;
	m->buffering = buffering;
	if (was != waited(m)) {
		if (was)
			b->waiting--;
		else
			b->waiting++;
		b->dirty = true;
		if (!m->remote) {
			if (was)
				b->local_waiting--;
			else
				b->local_waiting++;
			b->pub_dirty = true;
		}
	}
}

/* The deadline members are told: this node's held resume's, or when the
 * host is elsewhere the one its node holds (none once nobody is waited
 * for: its node's word that it released may come after). */
static double shown_deadline(const struct rv__barrier_env *e)
{
	if (!e->b->waiting)
		return INFINITY;
	if (e->b->held)
		return e->b->deadline;
	return e->follows ? e->b->remote_deadline : INFINITY;
}

static struct rv_frame *party_state_frame(const struct rv__barrier_env *e)
{
	const struct rv__barrier *b = e->b;
	struct rv__jw w;
	unsigned listed = 0;

	rv__jw_init(&w, 160 + RV__BARRIER_LIST_MAX * (RV_MEMBER_ID_MAX + 3));
	rv__jw_open(&w, "{\"type\":\"party_state\",\"payload\":{");
	rv__jw_fbool(&w, "waiting", b->waiting > 0);
	rv__jw_field(&w, "waiting_for");
	rv__jw_open(&w, "[");
	for (const struct rv_member *m = e->first;
	     m && listed < RV__BARRIER_LIST_MAX && listed < b->waiting; m = m->next)
		if (waited(m)) {
			rv__jw_elem(&w);
			rv__jw_cstr(&w, m->id);
			listed++;
		}
	rv__jw_close(&w, "]");
	rv__jw_fnum(&w, "waiting_count", (double)b->waiting);
	rv__jw_field(&w, "deadline");
	if (isfinite(shown_deadline(e)))
		rv__jw_time(&w, shown_deadline(e));
	else
		rv__jw_lit(&w, "null");
	rv__jw_close(&w, "}");
	rv__jw_ftime(&w, "ts", e->now_ms);
	rv__jw_lit(&w, "}");
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_PARTY_STATE);
}

static struct rv_frame *dropped_frame(enum rv__drop_reason why, double now_ms)
{
	static const char *const names[] = {
		[RV__DROP_READY_TIMEOUT] = "ready_timeout",
		[RV__DROP_REBUFFER_TIMEOUT] = "rebuffer_timeout",
		[RV__DROP_FORCED_START] = "forced_start",
	};
	struct rv__jw w;

	rv__jw_init(&w, 96);
	rv__jw_open(&w, "{\"type\":\"dropped\",\"payload\":{");
	rv__jw_fcstr(&w, "reason", names[why]);
	rv__jw_close(&w, "}");
	rv__jw_ftime(&w, "ts", now_ms);
	rv__jw_lit(&w, "}");
	return rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_DROPPED);
}

/* Announce the wait when it changed: at once when it began or ended or its
 * deadline moved, else at most every RV__BARRIER_ANNOUNCE_MS (the tick
 * sends what waits). One party_state per call at most. */
static void announce(const struct rv__barrier_env *e)
{
	struct rv__barrier *b = e->b;
	bool waiting = b->waiting > 0;
	double deadline = shown_deadline(e);

	if (!b->dirty || e->ob->n >= RV_OUTBOX_MAX)
		return;
	if (waiting == b->told_waiting && deadline == b->told_deadline &&
	    e->now_ms < b->told_at + RV__BARRIER_ANNOUNCE_MS)
		return;
	b->dirty = false;
	if (!waiting && !b->told_waiting)
		return; /* nothing anyone was told has changed */
	b->told_waiting = waiting;
	b->told_deadline = deadline;
	b->told_at = e->now_ms;
	push(e, RV_TO_ALL, NULL, party_state_frame(e));
}

/* Send the dropped messages owed, as many as the outbox has room for. */
static void send_drops(const struct rv__barrier_env *e)
{
	struct rv__barrier *b = e->b;
	struct rv_frame *f[RV__DROP_FORCED_START + 1] = { NULL };

	for (struct rv_member *m = e->first;
	     m && b->drops_pending && e->ob->n < RV_OUTBOX_MAX; m = m->next) {
		enum rv__drop_reason why = m->drop_pending;

		if (why == RV__DROP_NONE)
			continue;
		if (!f[why])
			f[why] = dropped_frame(why, e->now_ms);
		/* out of memory: the member still learns from party_state */
		if (f[why])
			push(e, RV_TO_ONE, m, rv_frame_ref(f[why]));
		m->drop_pending = RV__DROP_NONE;
		b->drops_pending--;
	}
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		rv_frame_unref(f[i]);
	/* Every member seen with room left: none owes anything more. Kept
	 * true by construction; reset anyway, since a count that stayed
	 * above zero would keep the party's timer due for ever. */
	if (e->ob->n < RV_OUTBOX_MAX)
		b->drops_pending = 0;
}

/* Cluster mode: tell the other nodes which of this node's members are
 * waited for, the deadline held here and a drop decided here: at once
 * when some of ours begin or stop being waited for, the deadline moved or
 * a drop is to tell, else at most every RV__BARRIER_ANNOUNCE_MS (the tick
 * sends what waits). */
static void publish(const struct rv__barrier_env *e)
{
	struct rv__barrier *b = e->b;
	bool waiting = b->local_waiting > 0;
	double deadline = b->held ? b->deadline : INFINITY;
	struct rv_frame *ids = NULL;
	struct rv__jw w;
	size_t listed = 0;

	if (!e->cfg->cluster) {
		b->pub_dirty = false;
		b->pub_drop = 0;
		return;
	}
	if (!b->pub_drop && waiting == b->pub_waiting && deadline == b->pub_deadline &&
	    (!b->pub_dirty || e->now_ms < b->pub_at + RV__BARRIER_ANNOUNCE_MS))
		return;
	if (waiting) {
		rv__jw_init(&w, b->local_waiting * (RV_MEMBER_ID_MAX + 1));
		for (const struct rv_member *m = e->first;
		     m && listed < b->local_waiting && listed < RV__BARRIER_PUB_MAX; m = m->next)
			if (!m->remote && waited(m)) {
				if (listed++)
					rv__jw_lit(&w, " ");
				rv__jw_lit(&w, m->id);
			}
		/* out of memory: told at the next flush or tick (still due) */
		if (!(ids = rv__jw_finish(&w, RV_FRAME_EVENT, RV_MSG_PARTY_STATE))) {
			b->pub_dirty = true;
			return;
		}
	}
	rv_frame_unref(e->ob->wait);
	e->ob->wait = ids;
	e->ob->has_wait = true;
	e->ob->wait_deadline = deadline;
	e->ob->wait_dropped = b->pub_drop;
	b->pub_waiting = waiting;
	b->pub_deadline = deadline;
	b->pub_at = e->now_ms;
	b->pub_dirty = false;
	b->pub_drop = 0;
}

void rv__barrier_flush(struct rv__barrier_env e)
{
	announce(&e);
	send_drops(&e);
	publish(&e);
}

/* The state every member applies at now + lead: a state that is already
 * scheduled further ahead is not overtaken. */
static double scheduled_at(const struct rv__barrier_env *e)
{
	double at = e->now_ms + (e->lead_ms > 0 ? e->lead_ms : 0);

	return e->state->server_time > at ? e->state->server_time : at;
}

/* Where playback goes on from at `at` (not before the state's instant):
 * while the state is still pending, members that got it in time dropped
 * it for ours and follow the state before it, so take the position
 * nobody moves back from (lead.c), as a host's sync does. */
static double position_at(const struct rv__barrier_env *e, double at)
{
	const struct rv_playback *st = e->state;

	if (e->before && st->server_time > e->now_ms)
		return rv__lead_position(e->before, st, at);
	return rv_playback_position_at(st, at);
}

/* Everyone is ready (or no longer waited for): play the held resume,
 * scheduled, relayed like a host's sync. */
static void release(const struct rv__barrier_env *e)
{
	struct rv__barrier *b = e->b;
	struct rv_playback *st = e->state;
	double at = scheduled_at(e);

	if (!b->held)
		return;
	b->held = false;
	b->rebuffer = false;
	b->deadline = INFINITY;
	b->dirty = true;
	/* held: the state is paused at the resume position, so this is it,
	 * or further when released within the lead of a stall's pause (the
	 * members that dropped the pause played on meanwhile) */
	st->position = position_at(e, at);
	st->speed = b->resume_speed;
	st->playing = true;
	st->server_time = at;
	push(e, RV_TO_ALL, NULL,
	     rv_proto_sync_frame(st, b->resume_from[0] ? b->resume_from : NULL, e->now_ms, NULL));
}

/* Drop every waited member from the barrier, each owed `dropped {why}`.
 * Returns how many. */
static unsigned drop_all(const struct rv__barrier_env *e, enum rv__drop_reason why)
{
	struct rv__barrier *b = e->b;
	unsigned n = 0;

	for (struct rv_member *m = e->first; m && b->waiting; m = m->next)
		if (waited(m)) {
			set_member(b, m, false, true);
			n++;
			/* its own node drops it (the drop told with our wait),
			 * and says so with its next */
			if (m->remote) {
				if (!e->follows)
					b->pub_drop = (unsigned char)why;
				continue;
			}
			if (m->drop_pending == RV__DROP_NONE)
				b->drops_pending++;
			m->drop_pending = why;
		}
	if (n)
		b->drops_at = e->now_ms;
	return n;
}

/* Hold want's position and speed as the resume; the first hold of a wait
 * sets its deadline. */
static void hold(const struct rv__barrier_env *e, const struct rv_playback *want,
		 const char *from, bool rebuffer)
{
	struct rv__barrier *b = e->b;

	if (!b->held) {
		b->held = true;
		b->rebuffer = rebuffer;
		b->deadline = e->now_ms + timeout_ms(e, rebuffer);
		b->dirty = true;
	}
	b->resume_position = want->position;
	b->resume_speed = want->speed;
	snprintf(b->resume_from, sizeof(b->resume_from), "%s", from ? from : "");
}

void rv__barrier_join(struct rv__barrier_env e, struct rv_member *m)
{
	m->in_barrier = !e.state->playing;
	m->buffering = false;
	m->drop_pending = RV__DROP_NONE;
	/* the welcome says "waiting"; who and until when is here */
	if (e.b->waiting)
		push(&e, RV_TO_ONE, m, party_state_frame(&e));
}

void rv__barrier_leave(struct rv__barrier_env e, struct rv_member *m)
{
	struct rv__barrier *b = e.b;

	if (m->drop_pending != RV__DROP_NONE)
		b->drops_pending--;
	m->drop_pending = RV__DROP_NONE;
	set_member(b, m, false, false);
	if (!b->waiting)
		release(&e);
	rv__barrier_flush(e);
}

void rv__barrier_sync(struct rv__barrier_env e, const char *from)
{
	struct rv__barrier *b = e.b;

	if (!b->waiting)
		return;
	if (!e.state->playing) {
		/* the host paused: nothing to resume any more */
		if (b->held) {
			b->held = false;
			b->rebuffer = false;
			b->deadline = INFINITY;
			b->dirty = true;
		}
		return;
	}
	/* accepted, but held: everyone stays paused at the asked position
	 * until the wait ends */
	hold(&e, e.state, from, false);
	e.state->playing = false;
}

/* A member in the barrier stalled mid-play: pause everyone where the
 * playback will be lead ms from now, and resume from there. */
static void stall(const struct rv__barrier_env *e, struct rv_member *m)
{
	struct rv_playback *st = e->state;
	double at = scheduled_at(e);

	st->position = position_at(e, at);
	st->playing = false;
	st->server_time = at;
	hold(e, st, m->id, true);
	push(e, RV_TO_ALL, NULL, rv_proto_sync_frame(st, m->id, e->now_ms, NULL));
}

/* Play now, whoever still buffers: the held resume, or the paused state
 * from where it is. */
static void force_start(const struct rv__barrier_env *e, struct rv_member *host)
{
	drop_all(e, RV__DROP_FORCED_START);
	if (!e->b->held && !e->state->playing)
		hold(e, e->state, host->id, false);
	release(e);
}

int rv__barrier_handle(struct rv__barrier_env e, struct rv_member *m, const struct rv_msg *msg)
{
	struct rv__barrier *b = e.b;
	size_t before = b->waiting;

	switch (msg->type) {
	case RV_MSG_BUFFERING:
		/* a second buffering changes nothing; a member out of the
		 * barrier is remembered as buffering but not waited for */
		set_member(b, m, m->in_barrier, true);
		if (b->waiting > before) {
			if (!before)
				e.ob->waits_started++;
			/* the host's node stalls (it hears our wait) */
			if (e.state->playing && !e.follows)
				stall(&e, m);
		}
		break;
	case RV_MSG_READY:
		/* also how a late joiner or a dropped member (re)enters */
		if (m->drop_pending != RV__DROP_NONE) {
			m->drop_pending = RV__DROP_NONE;
			b->drops_pending--;
		}
		set_member(b, m, true, false);
		if (!b->waiting)
			release(&e);
		break;
	case RV_MSG_START:
		force_start(&e, m);
		break;
	default:
		break;
	}
	/* the release (a sync to everyone) is the only other answer */
	if (msg->id)
		push(&e, RV_TO_ONE, m, rv_proto_ack_frame(msg->id, e.now_ms));
	rv__barrier_flush(e);
	return 0;
}

void rv__barrier_remote(struct rv__barrier_env e, uint64_t node, bool host_node,
			double deadline, unsigned dropped)
{
	struct rv__barrier *b = e.b;
	size_t before = b->waiting;
	struct rv_member *first_new = NULL;

	for (struct rv_member *m = e.first; m; m = m->next) {
		bool was = waited(m), mark = m->wait_mark;

		m->wait_mark = false;
		if (!m->remote || (node && m->node != node))
			continue;
		set_member(b, m, mark, mark);
		if (!was && mark && !first_new)
			first_new = m;
	}
	if (host_node) {
		if (deadline != b->remote_deadline) {
			b->remote_deadline = deadline;
			b->dirty = true;
		}
		/* the host's node dropped everyone it waited for: ours too */
		if (dropped > RV__DROP_NONE && dropped <= RV__DROP_FORCED_START && e.follows)
			drop_all(&e, (enum rv__drop_reason)dropped);
	}
	if (b->waiting > before) {
		if (!before)
			e.ob->waits_started++;
		if (e.state->playing && !e.follows && first_new)
			stall(&e, first_new);
	}
	if (!b->waiting)
		release(&e);
	rv__barrier_flush(e);
}

void rv__barrier_again(struct rv__barrier *b)
{
	if (b->pub_waiting || isfinite(b->pub_deadline))
		b->pub_dirty = true;
}

double rv__barrier_deadline(const struct rv__barrier *b)
{
	double next = b->held ? b->deadline : INFINITY;
	/* never told anything yet: due at once (0 is long past, and unlike
	 * -INFINITY it is a time the adapter can arm a timer for) */
	double announce_at = isfinite(b->told_at) ? b->told_at + RV__BARRIER_ANNOUNCE_MS : 0;

	if (b->dirty && announce_at < next)
		next = announce_at;
	if (b->drops_pending && b->drops_at < next)
		next = b->drops_at;
	/* cluster mode: a change of ours the others were not told yet */
	if (b->pub_dirty) {
		double pub_at = isfinite(b->pub_at) ? b->pub_at + RV__BARRIER_ANNOUNCE_MS : 0;

		if (pub_at < next)
			next = pub_at;
	}
	return next;
}

void rv__barrier_tick(struct rv__barrier_env e)
{
	struct rv__barrier *b = e.b;

	if (b->held && e.now_ms >= b->deadline) {
		e.ob->barrier_timeouts += drop_all(&e, b->rebuffer ? RV__DROP_REBUFFER_TIMEOUT
								   : RV__DROP_READY_TIMEOUT);
		release(&e);
	}
	/* An announcement due but the outbox full keeps its deadline (<= now):
	 * the adapter ticks again. */
	rv__barrier_flush(e);
}
