/* tests/unit/test_barrier_cluster.c - the waiting room across two nodes
 * (cluster mode): two parties, "node A" (the host, ann, and cat) and "node
 * B" (bob), each holding the other's members as remote ones, wired through
 * the real `wait` envelope (relay.c: encoded, decoded) as ep_party.c and
 * party_relay.c wire them through Redis. A given clock; no I/O.
 */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/error.h"
#include "revenge/party.h"

#include "barrier.h"
#include "relay.h"

#define T0 1700000000000.0
#define NODE_A 0xaaaaaaaaaaaaaaaaull
#define NODE_B 0xbbbbbbbbbbbbbbbbull

struct node {
	struct rv_party *p;
	struct rv_outbox ob;
	uint64_t id;
	unsigned syncs_out;        /* syncs to everyone (relayed: other nodes see them) */
	bool last_sync_playing;
	json_t *last_state;        /* the last party_state's payload (owned) */
	unsigned dropped;          /* dropped messages to its members */
};

struct fx {
	struct node a, b;
	struct rv_member *ann, *cat, *bob;             /* local on their node */
	struct rv_member *ann_b, *cat_b, *bob_a;       /* remote copies */
};

static struct rv_member *remote(struct node *n, const char *id, uint64_t node)
{
	struct rv_member *m;

	assert_int_equal(rv_party_join_remote(n->p, id, id, true, T0, &m, &n->ob), 0);
	m->node = node;
	return m;
}

static void take(struct node *n);

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct rv_party_config cfg = { .history_max = 10, .ready_timeout_ms = 8000,
				       .rebuffer_timeout_ms = 3000, .lead_min_ms = 100,
				       .lead_max_ms = 100, .cluster = true };

	assert_non_null(x);
	x->a.id = NODE_A;
	x->b.id = NODE_B;
	x->a.p = rv_party_new("night", &cfg);
	x->b.p = rv_party_new("night", &cfg);
	rv_outbox_init(&x->a.ob);
	rv_outbox_init(&x->b.ob);
	assert_int_equal(rv_party_join(x->a.p, "ann", "ann", NULL, T0, &x->ann, &x->a.ob), 0);
	assert_int_equal(rv_party_join(x->a.p, "cat", "cat", NULL, T0, &x->cat, &x->a.ob), 0);
	x->bob_a = remote(&x->a, "bob", NODE_B);
	x->ann_b = remote(&x->b, "ann", NODE_A);
	x->cat_b = remote(&x->b, "cat", NODE_A);
	assert_int_equal(rv_party_join(x->b.p, "bob", "bob", NULL, T0, &x->bob, &x->b.ob), 0);
	assert_int_equal(rv_party_set_host(x->b.p, x->ann_b, T0, &x->b.ob), 0);
	assert_ptr_equal(rv_party_host(x->a.p), x->ann);
	rv_outbox_clear(&x->a.ob);
	rv_outbox_clear(&x->b.ob);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	for (struct node *n = &x->a; n <= &x->b; n++) {
		rv_outbox_clear(&n->ob);
		rv_party_free(n->p);
		json_decref(n->last_state);
	}
	free(x);
	return 0;
}

/* What n's last event emitted, noted; the wait it tells the other nodes
 * encoded into *env (the caller frees it), NULL when none. */
static char *take_env(struct node *n, size_t *len)
{
	char *env = NULL;

	for (unsigned i = 0; i < n->ob.n; i++) {
		struct rv_frame *f = n->ob.items[i].frame;
		json_t *j = json_loadb((const char *)rv_frame_data(f), f->len, 0, NULL);

		assert_non_null(j);
		if (f->msg_type == RV_MSG_SYNC && n->ob.items[i].target != RV_TO_ONE) {
			n->syncs_out++;
			n->last_sync_playing =
				json_is_true(json_object_get(json_object_get(j, "payload"), "playing"));
		} else if (f->msg_type == RV_MSG_PARTY_STATE && n->ob.items[i].target == RV_TO_ALL) {
			json_decref(n->last_state);
			n->last_state = json_incref(json_object_get(j, "payload"));
		} else if (f->msg_type == RV_MSG_DROPPED) {
			n->dropped++;
		}
		json_decref(j);
	}
	if (n->ob.has_wait) {
		struct rv__relay_msg m = { .node = n->id, .kind = RV__RELAY_WAIT,
					   .deadline = n->ob.wait_deadline,
					   .dropped = n->ob.wait_dropped };

		if (n->ob.wait) {
			m.frame = (const char *)rv_frame_data(n->ob.wait);
			m.frame_len = n->ob.wait->len;
		}
		assert_int_equal(rv__relay_encode(&m, &env, len), 0);
	}
	rv_outbox_clear(&n->ob);
	return env;
}

/* n's envelope env (NULL: none) received by to, at now. */
static void deliver(struct node *to, char *env, size_t len, double now)
{
	struct rv__relay_msg m;
	struct rv_party_waits w;

	if (!env)
		return;
	assert_int_equal(rv__relay_decode(env, len, &m), 0);
	assert_int_equal(m.kind, RV__RELAY_WAIT);
	w = (struct rv_party_waits){ .node = m.node, .ids = m.frame, .len = m.frame_len,
				     .deadline = m.deadline, .dropped = m.dropped };
	rv_party_remote_waits(to->p, &w, now, &to->ob);
	free(env);
}

static void take(struct node *n)
{
	size_t len;

	free(take_env(n, &len));
}

/* n's last event shipped to the other node, and what that emits noted. */
static void ship(struct fx *x, struct node *n, double now)
{
	struct node *to = n == &x->a ? &x->b : &x->a;
	size_t len = 0;
	char *env = take_env(n, &len);

	deliver(to, env, len, now);
	/* its answer (a drop it applied changes its own wait) goes back */
	env = take_env(to, &len);
	deliver(n, env, len, now);
	take(n);
}

static void say(struct node *n, struct rv_member *m, enum rv_msg_type t, double now)
{
	struct rv_msg msg = { .type = t };

	rv_party_handle(n->p, m, &msg, now, &n->ob);
}

static void play(struct node *n, struct rv_member *m, bool playing, double now)
{
	struct rv_msg msg = { .type = RV_MSG_SYNC };

	msg.u.sync.position = 10;
	msg.u.sync.playing = playing;
	msg.u.sync.speed = 1;
	rv_party_handle(n->p, m, &msg, now, &n->ob);
}

static bool waiting_for(const struct node *n, const char *ids)
{
	json_t *st = n->last_state, *l;
	char got[256] = "";
	size_t i;

	if (!st)
		return false;
	l = json_object_get(st, "waiting_for");
	for (i = 0; i < json_array_size(l); i++) {
		if (i)
			strcat(got, " ");
		strcat(got, json_string_value(json_array_get(l, i)));
	}
	return json_is_true(json_object_get(st, "waiting")) == (ids[0] != 0) &&
	       !strcmp(got, ids) &&
	       json_integer_value(json_object_get(st, "waiting_count")) == (json_int_t)json_array_size(l);
}

static double shown_deadline(const struct node *n)
{
	json_t *d = json_object_get(n->last_state, "deadline");

	return json_is_number(d) ? json_number_value(d) : INFINITY;
}

/* bob (node B) buffers: node A holds ann's play; both name bob, with A's
 * deadline; bob ready: A releases, B hears the release as a sync. */
static void remote_member_holds_the_host(void **state)
{
	struct fx *x = *state;

	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 10);
	ship(x, &x->b, T0 + 10);
	assert_true(waiting_for(&x->b, "bob"));
	assert_true(waiting_for(&x->a, "bob"));
	assert_true(x->bob_a->buffering && x->bob_a->in_barrier);
	play(&x->a, x->ann, true, T0 + 20);
	ship(x, &x->a, T0 + 20);
	assert_false(rv_party_state(x->a.p)->playing);
	assert_true(isfinite(shown_deadline(&x->a)));
	assert_true(shown_deadline(&x->a) == shown_deadline(&x->b));
	assert_true(shown_deadline(&x->a) == T0 + 20 + 8000);
	/* B does not hold or stall on its own: it follows A */
	say(&x->b, x->bob, RV_MSG_READY, T0 + 30);
	ship(x, &x->b, T0 + 30);
	assert_true(rv_party_state(x->a.p)->playing);
	assert_true(x->a.last_sync_playing);
	assert_true(waiting_for(&x->a, ""));
	assert_true(waiting_for(&x->b, ""));
	assert_true(isinf(shown_deadline(&x->b)));
}

/* Mid-play, bob's stall pauses everyone from node A (B never stalls by
 * itself); B's party_state names cat when cat buffers on A too. */
static void remote_stall_mid_play(void **state)
{
	struct fx *x = *state;

	play(&x->a, x->ann, true, T0 + 10);
	ship(x, &x->a, T0 + 10);
	rv_party_apply_remote(x->b.p, rv_party_state(x->a.p), NULL, T0 + 11);
	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 1000);
	assert_int_equal(x->b.syncs_out, 0);
	ship(x, &x->b, T0 + 1000);
	assert_int_equal(x->b.syncs_out, 0);
	assert_int_equal(x->a.syncs_out, 2);   /* the play, the stall's pause */
	assert_false(x->a.last_sync_playing);
	say(&x->a, x->cat, RV_MSG_BUFFERING, T0 + 1010);
	ship(x, &x->a, T0 + 1010);
	/* one more waited is told within RV__BARRIER_ANNOUNCE_MS, not at once */
	assert_true(waiting_for(&x->a, "bob"));
	rv_party_tick(x->a.p, T0 + 1300, &x->a.ob);
	ship(x, &x->a, T0 + 1300);
	rv_party_tick(x->b.p, T0 + 1300, &x->b.ob);
	take(&x->b);
	assert_true(waiting_for(&x->a, "cat bob"));
	assert_true(waiting_for(&x->b, "cat bob"));
	/* the rebuffer timeout on A drops both: bob by B, told with A's wait */
	rv_party_tick(x->a.p, T0 + 1000 + 3000, &x->a.ob);
	ship(x, &x->a, T0 + 4000);
	assert_true(x->a.last_sync_playing);
	assert_int_equal(x->a.dropped, 1);     /* cat */
	assert_int_equal(x->b.dropped, 1);     /* bob */
	assert_false(x->bob->in_barrier);
	assert_true(waiting_for(&x->a, ""));
	assert_true(waiting_for(&x->b, ""));
	/* dropped: bob's buffering again pauses nobody until ready */
	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 4100);
	ship(x, &x->b, T0 + 4100);
	assert_true(rv_party_state(x->a.p)->playing);
}

/* bob's node is gone (its lease ends: node A's read drops him): the wait
 * for him ends and the held resume plays. */
static void remote_member_leaves_mid_wait(void **state)
{
	struct fx *x = *state;

	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 10);
	ship(x, &x->b, T0 + 10);
	play(&x->a, x->ann, true, T0 + 20);
	take(&x->a);
	assert_false(rv_party_state(x->a.p)->playing);
	rv_party_leave(x->a.p, x->bob_a, T0 + 30, &x->a.ob);
	take(&x->a);
	assert_true(rv_party_state(x->a.p)->playing);
	assert_true(waiting_for(&x->a, ""));
}

/* the host forces a start: bob (on B) is dropped by B, forced_start */
static void forced_start_drops_remote(void **state)
{
	struct fx *x = *state;

	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 10);
	ship(x, &x->b, T0 + 10);
	play(&x->a, x->ann, true, T0 + 20);
	ship(x, &x->a, T0 + 20);
	say(&x->a, x->ann, RV_MSG_START, T0 + 30);
	ship(x, &x->a, T0 + 30);
	assert_true(rv_party_state(x->a.p)->playing);
	assert_int_equal(x->b.dropped, 1);
	assert_int_equal(x->bob->drop_pending, RV__DROP_NONE);
	assert_true(waiting_for(&x->b, ""));
}

/* A wait naming members not known yet (their join still being read),
 * another node's members, garbage ids, or from a node that is not the
 * host's with a drop: nothing but what it may say is taken. */
static void waits_taken_only_for_that_nodes_members(void **state)
{
	struct fx *x = *state;
	const char ids[] = "ghost ann bob";
	struct rv_party_waits w = { .node = NODE_B, .ids = ids, .len = strlen(ids),
				    .deadline = T0 + 5, .dropped = RV__DROP_FORCED_START };

	say(&x->a, x->cat, RV_MSG_BUFFERING, T0 + 5);
	take(&x->a);
	rv_party_remote_waits(x->a.p, &w, T0 + 10, &x->a.ob);
	take(&x->a);
	/* ann is node A's own, ghost nobody: only bob */
	assert_true(x->bob_a->buffering);
	assert_false(x->ann->buffering);
	/* B is not the host's node: its drop and deadline are not taken */
	assert_true(x->cat->in_barrier && x->cat->buffering);
	rv_party_tick(x->a.p, T0 + 300, &x->a.ob);
	take(&x->a);
	assert_true(waiting_for(&x->a, "cat bob"));
	assert_true(isinf(shown_deadline(&x->a)));
	/* a node id of 0 is nobody's */
	w.node = 0;
	w.len = 0;
	rv_party_remote_waits(x->a.p, &w, T0 + 20, &x->a.ob);
	assert_true(x->bob_a->buffering);
	take(&x->a);
}

/* Many members buffering on B in one second: B tells A at most every
 * 250 ms while only the count changes, never once per member. */
static void waits_told_boundedly(void **state)
{
	struct fx *x = *state;
	struct rv_member *m[40];
	unsigned told = 0;
	char id[16];
	size_t len;
	char *env;

	for (int i = 0; i < 40; i++) {
		snprintf(id, sizeof(id), "b%d", i);
		assert_int_equal(rv_party_join(x->b.p, id, id, NULL, T0, &m[i], &x->b.ob), 0);
		take(&x->b);
		remote(&x->a, id, NODE_B);
		take(&x->a);
	}
	for (int i = 0; i < 40; i++) {
		double now = T0 + 1000 + i * 25;

		if (rv_party_next_deadline(x->b.p) <= now)
			rv_party_tick(x->b.p, now, &x->b.ob);
		if ((env = take_env(&x->b, &len))) {
			told++;
			deliver(&x->a, env, len, now);
			take(&x->a);
		}
		say(&x->b, m[i], RV_MSG_BUFFERING, now);
		if ((env = take_env(&x->b, &len))) {
			told++;
			deliver(&x->a, env, len, now);
			take(&x->a);
		}
	}
	rv_party_tick(x->b.p, T0 + 3000, &x->b.ob);
	if ((env = take_env(&x->b, &len))) {
		told++;
		deliver(&x->a, env, len, T0 + 3000);
	}
	take(&x->a);
	assert_true(told >= 2 && told <= 7);
	json_t *c = json_object_get(x->a.last_state, "waiting_count");

	assert_int_equal(json_integer_value(c), 40);
}

/* A node new to the party (its first member joined after bob buffered)
 * hears B's waits again at B's next tick; nothing is told again when
 * nothing was. */
static void waits_told_again_to_a_new_node(void **state)
{
	struct fx *x = *state;
	size_t len;
	char *env;

	rv_party_waits_again(x->b.p);
	assert_true(isinf(rv_party_next_deadline(x->b.p)));
	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 10);
	ship(x, &x->b, T0 + 10);
	rv_party_waits_again(x->b.p);
	assert_true(rv_party_next_deadline(x->b.p) <= T0 + 10 + RV__BARRIER_ANNOUNCE_MS);
	rv_party_tick(x->b.p, T0 + 10 + RV__BARRIER_ANNOUNCE_MS, &x->b.ob);
	env = take_env(&x->b, &len);
	assert_non_null(env);
	assert_non_null(strstr(env, "\nbob"));
	free(env);
	assert_true(isinf(rv_party_next_deadline(x->b.p)));
}

/* Redis away: node A forgets bob's wait (its held resume goes), node B
 * decides for bob itself (a stall pauses B's own members); back, B tells
 * its waits again. */
static void redis_away_degrades_to_one_node(void **state)
{
	struct fx *x = *state;
	size_t len;
	char *env;

	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 10);
	ship(x, &x->b, T0 + 10);
	play(&x->a, x->ann, true, T0 + 20);
	ship(x, &x->a, T0 + 20);
	assert_false(rv_party_state(x->a.p)->playing);
	rv_party_cluster_up(x->a.p, false, T0 + 30, &x->a.ob);
	take(&x->a);
	assert_true(rv_party_state(x->a.p)->playing);
	assert_true(waiting_for(&x->a, ""));
	/* B, cut off, mid-play: bob's stall is B's to decide */
	rv_party_cluster_up(x->b.p, false, T0 + 30, &x->b.ob);
	take(&x->b);
	rv_party_apply_remote(x->b.p, rv_party_state(x->a.p), NULL, T0 + 40);
	say(&x->b, x->bob, RV_MSG_READY, T0 + 1000);
	take(&x->b);
	x->b.syncs_out = 0;
	say(&x->b, x->bob, RV_MSG_BUFFERING, T0 + 1100);
	take(&x->b);
	assert_int_equal(x->b.syncs_out, 1);
	assert_false(x->b.last_sync_playing);
	/* back: B follows again and tells its waits at its next tick */
	rv_party_cluster_up(x->b.p, true, T0 + 1200, &x->b.ob);
	take(&x->b);
	assert_true(rv_party_next_deadline(x->b.p) <= T0 + 1200 + RV__BARRIER_ANNOUNCE_MS);
	rv_party_tick(x->b.p, T0 + 1400, &x->b.ob);
	env = take_env(&x->b, &len);
	assert_non_null(env);
	rv_party_cluster_up(x->a.p, true, T0 + 1400, &x->a.ob);
	take(&x->a);
	deliver(&x->a, env, len, T0 + 1400);
	take(&x->a);
	assert_true(x->bob_a->buffering && x->bob_a->in_barrier);
}

static void wait_envelopes(void **state)
{
	struct rv__relay_msg m = { .node = 0x0123456789abcdefull, .kind = RV__RELAY_WAIT,
				   .deadline = INFINITY }, d;
	char *buf;
	size_t len;

	/* none waited, no deadline */
	assert_int_equal(rv__relay_encode(&m, &buf, &len), 0);
	assert_int_equal(len, strlen("RV1 0123456789abcdef wait - -\n"));
	assert_memory_equal(buf, "RV1 0123456789abcdef wait - -\n", len);
	assert_int_equal(rv__relay_decode(buf, len, &d), 0);
	assert_true(d.kind == RV__RELAY_WAIT && isinf(d.deadline) && !d.dropped && !d.n_ids &&
		    d.node == m.node);
	free(buf);
	/* ids, a deadline, a drop: round trip */
	m.frame = "m1-ab m2-cd";
	m.frame_len = strlen(m.frame);
	m.deadline = T0 + 0.5;
	m.dropped = RV__DROP_REBUFFER_TIMEOUT;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), 0);
	assert_int_equal(rv__relay_decode(buf, len, &d), 0);
	assert_true(d.deadline == T0 + 0.5 && d.dropped == RV__DROP_REBUFFER_TIMEOUT &&
		    d.n_ids == 2);
	{
		const char *s = d.frame;
		char id[RV_MEMBER_ID_MAX + 1];

		assert_true(rv__relay_wait_next(&s, d.frame + d.frame_len, id));
		assert_string_equal(id, "m1-ab");
		assert_true(rv__relay_wait_next(&s, d.frame + d.frame_len, id));
		assert_string_equal(id, "m2-cd");
		assert_false(rv__relay_wait_next(&s, d.frame + d.frame_len, id));
	}
	/* every truncation of it is refused or a shorter list (never read
	 * past its end: ASan) */
	for (size_t n = 0; n < len; n++) {
		char *cut = malloc(n ? n : 1);

		memcpy(cut, buf, n);
		if (!rv__relay_decode(cut, n, &d))
			assert_true(d.kind == RV__RELAY_WAIT && d.n_ids <= 2);
		free(cut);
	}
	free(buf);
	/* what no origin sends is not encoded */
	m.deadline = -1;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
	m.deadline = NAN;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
	m.deadline = INFINITY;
	m.dropped = 9;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
	m.dropped = 0;
	m.frame = "m1 ";
	m.frame_len = 3;
	assert_int_equal(rv__relay_encode(&m, &buf, &len), RV_EINVAL);
}

static void hostile_wait_envelopes(void **state)
{
	static const char *const bad[] = {
		"RV1 0123456789abcdef wait\n",
		"RV1 0123456789abcdef wait -\n",
		"RV1 0123456789abcdef wait - - -\n",
		"RV1 0123456789abcdef wait - -",
		"RV1 0123456789abcdef wait 0 -\n",
		"RV1 0123456789abcdef wait -5 -\n",
		"RV1 0123456789abcdef wait nan -\n",
		"RV1 0123456789abcdef wait inf -\n",
		"RV1 0123456789abcdef wait 1e999 -\n",
		"RV1 0123456789abcdef wait 12x -\n",
		"RV1 0123456789abcdef wait - bored\n",
		"RV1 0123456789abcdef wait - READY_TIMEOUT\n",
		"RV1 0123456789abcdef wait -  -\n",
		"RV1 0123456789abcdef wait - - \n",
		"RV1 0123456789abcdef wait - -\n m1",
		"RV1 0123456789abcdef wait - -\nm1 ",
		"RV1 0123456789abcdef wait - -\nm1  m2",
		"RV1 0123456789abcdef wait - -\nm_1",
		"RV1 0123456789abcdef wait - -\nm1\nm2",
		"RV1 0123456789abcdef wait - -\n\"m1\"",
		"RV1 0123456789abcdef wait - -\n{\"type\":\"chat\"}",
		"RV1 0123456789abcdef wait - -\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"RV1 0123456789ABCDEF wait - -\nm1",
		"RV1 0123456789abcde wait - -\nm1",
		"RV1 0123456789abcdef Wait - -\nm1",
	};
	struct rv__relay_msg d;
	char big[RV__RELAY_WAIT_MAX * 4 + 64];
	int n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rv__relay_decode(bad[i], strlen(bad[i]), &d) == 0)
			fail_msg("taken: %s", bad[i]);
	/* a NUL among the ids */
	assert_int_equal(rv__relay_decode("RV1 0123456789abcdef wait - -\nm1\0m2", 35, &d),
			 RV_EINVAL);
	/* one id more than a wait lists */
	n = snprintf(big, sizeof(big), "RV1 0123456789abcdef wait - -\n");
	for (int i = 0; i <= RV__RELAY_WAIT_MAX; i++)
		n += snprintf(big + n, sizeof(big) - (size_t)n, "%s%x", i ? " " : "", i % 16);
	assert_int_equal(rv__relay_decode(big, (size_t)n, &d), RV_EINVAL);
	/* as many as it lists */
	n = (int)(strrchr(big, ' ') - big);
	assert_int_equal(rv__relay_decode(big, (size_t)n, &d), 0);
	assert_int_equal(d.n_ids, RV__RELAY_WAIT_MAX);
	/* garbage: never taken, never read past its end */
	for (unsigned seed = 1; seed < 2000; seed++) {
		char g[64];
		size_t len = seed % sizeof(g);
		unsigned s = seed;

		memcpy(g, "RV1 0123456789abcdef wait ", 26 < len ? 26 : len);
		for (size_t i = 26; i < len; i++) {
			s = s * 1103515245u + 12345u;
			g[i] = " -\nm1x0"[(s >> 16) % 7];
		}
		if (!rv__relay_decode(g, len, &d))
			assert_true(d.kind == RV__RELAY_WAIT && d.n_ids <= RV__RELAY_WAIT_MAX);
	}
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(remote_member_holds_the_host),
		T(remote_stall_mid_play),
		T(remote_member_leaves_mid_wait),
		T(forced_start_drops_remote),
		T(waits_taken_only_for_that_nodes_members),
		T(waits_told_boundedly),
		T(waits_told_again_to_a_new_node),
		T(redis_away_degrades_to_one_node),
		cmocka_unit_test(wait_envelopes),
		cmocka_unit_test(hostile_wait_envelopes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
