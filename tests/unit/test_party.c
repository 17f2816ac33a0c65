/* tests/unit/test_party.c - the watch-party state machine of lib/party.c.
 *
 * Messages go in through the real decoder (rv_proto_decode) where they can,
 * or hand-filled when a test needs what the decoder would refuse; every
 * frame that comes out is parsed back with jansson and checked field by
 * field. "Who receives what" is worked out from the outbox the way the
 * server adapter delivers it (inbox() below).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE     /* memmem */
#endif
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "revenge/error.h"
#include "revenge/party.h"

#define T0 1700000000000.0      /* server time of the first join */
#define MAX_KEEP 256

struct fx {
	struct rv_party *p;
	struct rv_outbox ob;
	json_t *keep[MAX_KEEP];     /* parsed frames, released at teardown */
	unsigned nkeep;
};

static int setup(void **state)
{
	struct fx *x = calloc(1, sizeof(*x));

	if (!x)
		return -1;
	x->p = rv_party_new("movie-night", NULL);
	if (!x->p) {
		free(x);
		return -1;
	}
	rv_outbox_init(&x->ob);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	struct fx *x = *state;

	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	for (unsigned i = 0; i < x->nkeep; i++)
		json_decref(x->keep[i]);
	free(x);
	return 0;
}

/* Replace the fixture's party with one made with cfg. */
static void reparty(struct fx *x, unsigned history_max, unsigned max_members)
{
	struct rv_party_config cfg = { .history_max = history_max,
				       .max_members = max_members };

	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	x->p = rv_party_new("movie-night", &cfg);
	assert_non_null(x->p);
}

static json_t *keep(struct fx *x, json_t *j)
{
	assert_true(x->nkeep < MAX_KEEP);
	x->keep[x->nkeep++] = j;
	return j;
}

static json_t *parse(struct fx *x, struct rv_frame *f)
{
	json_error_t e;
	json_t *j;

	assert_non_null(f);
	j = json_loadb((const char *)rv_frame_data(f), f->len,
		       JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("frame is not JSON (%s): %.*s", e.text, (int)f->len,
			 (const char *)rv_frame_data(f));
	assert_true(json_is_object(j));
	return keep(x, j);
}

/* The i-th action's frame, parsed. */
static json_t *item(struct fx *x, unsigned i)
{
	assert_true(i < x->ob.n);
	return parse(x, x->ob.items[i].frame);
}

static bool delivered_to(const struct rv_action *a, const struct rv_member *m)
{
	switch (a->target) {
	case RV_TO_ONE:
		return a->member == m;
	case RV_TO_ALL:
		return true;
	case RV_TO_ALL_BUT:
		return a->member != m;
	case RV_TO_ALL_BEFORE:
		for (const struct rv_member *o = m->next; o; o = o->next)
			if (o == a->member)
				return true;
		return false;
	}
	return false;
}

/* What present member m receives from the outbox, in order; returns the
 * count and the parsed frames in out[]. */
static unsigned inbox(struct fx *x, const struct rv_member *m, json_t **out,
		      unsigned max)
{
	unsigned n = 0;

	for (unsigned i = 0; i < x->ob.n; i++) {
		if (!delivered_to(&x->ob.items[i], m))
			continue;
		assert_true(n < max);
		out[n++] = item(x, i);
	}
	return n;
}

static const char *str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v))
		fail_msg("\"%s\" is not a string", key);
	return json_string_value(v);
}

static double num(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_number(v))
		fail_msg("\"%s\" is not a number", key);
	return json_number_value(v);
}

static bool boolean(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v))
		fail_msg("\"%s\" is not a boolean", key);
	return json_is_true(v);
}

static json_t *pl(const json_t *j)
{
	json_t *p = json_object_get(j, "payload");

	assert_true(json_is_object(p));
	return p;
}

static bool has(const json_t *o, const char *key)
{
	return json_object_get(o, key) != NULL;
}

static struct rv_member *join(struct fx *x, const char *id, const char *name,
			      double now)
{
	struct rv_member *m = NULL;

	assert_int_equal(rv_party_join(x->p, id, name, NULL, now, &m, &x->ob), 0);
	assert_non_null(m);
	assert_string_equal(m->id, id);
	return m;
}

/* Join with a role: may_host false is a member-only token. */
static struct rv_member *join_as(struct fx *x, const char *id, const char *name,
				 bool may_host, double now)
{
	struct rv_member *m = NULL;

	assert_int_equal(rv_party_join_as(x->p, id, name, may_host, NULL, now, &m,
					  &x->ob), 0);
	assert_non_null(m);
	assert_string_equal(m->id, id);
	assert_true(m->may_host == may_host);
	return m;
}

/* Three members, alice (host), bob, carol, and an empty outbox. */
static void trio(struct fx *x, struct rv_member **a, struct rv_member **b,
		 struct rv_member **c)
{
	*a = join(x, "alice", "Alice", T0);
	*b = join(x, "bob", "Bob", T0 + 100);
	if (c)
		*c = join(x, "carol", "Carol", T0 + 200);
	rv_outbox_clear(&x->ob);
}

/* Decode json with the real decoder and hand it to the party. */
static int send_msg(struct fx *x, struct rv_member *m, const char *json, double now)
{
	struct rv_msg msg;
	struct rv_proto_error err;
	int rc;

	if (rv_proto_decode(json, strlen(json), &msg, &err) != 0)
		fail_msg("decode %s: %s", json, err.message);
	rc = rv_party_handle(x->p, m, &msg, now, &x->ob);
	rv_msg_clear(&msg);
	return rc;
}

/* One action, an error of code to m only, echoing id (NULL: no "id"). */
static void assert_error(struct fx *x, struct rv_member *m, const char *code,
			 const char *ref, const char *id)
{
	json_t *j, *p;

	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ONE);
	assert_ptr_equal(x->ob.items[0].member, m);
	j = item(x, 0);
	assert_string_equal(str(j, "type"), "error");
	p = pl(j);
	assert_string_equal(str(p, "code"), code);
	assert_string_equal(str(p, "ref"), ref);
	assert_true(strlen(str(p, "message")) > 0);
	if (id)
		assert_string_equal(str(j, "id"), id);
	else
		assert_false(has(j, "id"));
}

/* ---- construction */

static void test_new_and_defaults(void **state)
{
	struct fx *x = *state;
	const struct rv_playback *st = rv_party_state(x->p);

	assert_string_equal(rv_party_id(x->p), "movie-night");
	assert_int_equal(rv_party_size(x->p), 0);
	assert_null(rv_party_first(x->p));
	assert_null(rv_party_host(x->p));
	assert_int_equal(rv_party_history_len(x->p), 0);
	assert_true(st->position == 0 && !st->playing && st->speed == 1);

	assert_null(rv_party_new("bad id", NULL));
	assert_null(rv_party_new("", NULL));
	assert_null(rv_party_new(NULL, NULL));
	rv_party_free(NULL);
}

/* A party of plain revenge.v1 members has no timer of its own: events
 * answer themselves, so nothing is ever due and a tick emits nothing. */
static void test_no_deadline_without_pending_work(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;

	assert_true(isinf(rv_party_next_deadline(x->p)));
	trio(x, &a, &b, &c);
	rv_outbox_clear(&x->ob);
	assert_true(isinf(rv_party_next_deadline(x->p)));
	rv_party_tick(x->p, T0 + 60000, &x->ob);
	assert_int_equal(x->ob.n, 0);
}

/* ---- joining */

static void test_join_order_and_roles(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;

	trio(x, &a, &b, &c);
	assert_int_equal(rv_party_size(x->p), 3);
	assert_ptr_equal(rv_party_first(x->p), a);
	assert_ptr_equal(rv_party_host(x->p), a);
	assert_ptr_equal(a->next, b);
	assert_ptr_equal(b->next, c);
	assert_null(c->next);
	assert_null(a->prev);
	assert_ptr_equal(b->prev, a);
	assert_ptr_equal(c->prev, b);
	assert_ptr_equal(rv_party_find(x->p, "bob"), b);
	assert_null(rv_party_find(x->p, "dave"));
	assert_null(rv_party_find(x->p, NULL));
	assert_string_equal(b->name, "Bob");
	assert_true(b->joined_at == T0 + 100);
}

static void test_join_user_pointer(void **state)
{
	struct fx *x = *state;
	struct rv_member *m = NULL;
	int conn;

	assert_int_equal(rv_party_join(x->p, "alice", "Alice", &conn, T0, &m, &x->ob), 0);
	assert_ptr_equal(m->user, &conn);
}

static void test_welcome_first_member(void **state)
{
	struct fx *x = *state;
	struct rv_member *a = join(x, "alice", "Alice", T0 + 0.125);
	json_t *j, *p, *members, *st;

	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ONE);
	assert_ptr_equal(x->ob.items[0].member, a);
	assert_int_equal(x->ob.items[0].frame->msg_type, RV_MSG_WELCOME);
	assert_int_equal(x->ob.items[0].frame->kind, RV_FRAME_EVENT);
	j = item(x, 0);
	assert_string_equal(str(j, "type"), "welcome");
	assert_true(num(j, "ts") == T0 + 0.125);
	assert_false(has(j, "id"));
	p = pl(j);
	assert_string_equal(str(p, "participant_id"), "alice");
	assert_string_equal(str(p, "party_id"), "movie-night");
	assert_string_equal(str(p, "role"), "host");
	assert_string_equal(str(p, "host_id"), "alice");
	members = json_object_get(p, "members");
	assert_int_equal(json_array_size(members), 1);
	assert_string_equal(str(json_array_get(members, 0), "id"), "alice");
	assert_string_equal(str(json_array_get(members, 0), "name"), "Alice");
	assert_string_equal(str(json_array_get(members, 0), "role"), "host");
	/* The party starts paused at 0, anchored at its creation. */
	st = json_object_get(p, "state");
	assert_true(num(st, "position") == 0);
	assert_false(boolean(st, "playing"));
	assert_true(num(st, "speed") == 1);
	assert_true(num(st, "server_time") == T0 + 0.125);
	assert_true(json_is_array(json_object_get(p, "history")));
	assert_int_equal(json_array_size(json_object_get(p, "history")), 0);
	assert_true(rv_party_state(x->p)->server_time == T0 + 0.125);
}

static void test_welcome_later_member(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c, *d;
	json_t *j, *p, *members, *st, *hist;
	const char *ids[] = { "alice", "bob", "carol", "dave" };
	const char *roles[] = { "member", "member", "host", "member" };

	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, a, "{\"type\":\"sync\",\"payload\":{\"position\":"
				  "61.5,\"playing\":true,\"speed\":1.25}}", T0 + 1000), 0);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"hi\"}}",
				  T0 + 1100), 0);
	assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":{\"text\":\"yo\"}}",
				  T0 + 1200), 0);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"carol\"}}", T0 + 1300), 0);
	rv_outbox_clear(&x->ob);

	d = join(x, "dave", NULL, T0 + 5000);
	assert_int_equal(x->ob.n, 2);
	j = item(x, 0);
	assert_ptr_equal(x->ob.items[0].member, d);
	assert_string_equal(str(j, "type"), "welcome");
	assert_true(num(j, "ts") == T0 + 5000);
	p = pl(j);
	assert_string_equal(str(p, "participant_id"), "dave");
	assert_string_equal(str(p, "role"), "member");
	assert_string_equal(str(p, "host_id"), "carol");
	members = json_object_get(p, "members");
	assert_int_equal(json_array_size(members), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *e = json_array_get(members, i);

		assert_string_equal(str(e, "id"), ids[i]);
		assert_string_equal(str(e, "role"), roles[i]);
	}
	assert_string_equal(str(json_array_get(members, 3), "name"), "guest-4");
	/* The stored state as stamped, not extrapolated: clients do that. */
	st = json_object_get(p, "state");
	assert_true(num(st, "position") == 61.5);
	assert_true(boolean(st, "playing"));
	assert_true(num(st, "speed") == 1.25);
	assert_true(num(st, "server_time") == T0 + 1000);
	hist = json_object_get(p, "history");
	assert_int_equal(json_array_size(hist), 2);
	assert_string_equal(str(pl(json_array_get(hist, 0)), "text"), "hi");
	assert_string_equal(str(pl(json_array_get(hist, 0)), "name"), "Alice");
	assert_string_equal(str(json_array_get(hist, 0), "from"), "alice");
	assert_true(num(json_array_get(hist, 0), "ts") == T0 + 1100);
	assert_string_equal(str(pl(json_array_get(hist, 1)), "text"), "yo");
	assert_string_equal(str(json_array_get(hist, 1), "from"), "bob");
	(void)b;
}

static void test_member_joined_to_others_only(void **state)
{
	struct fx *x = *state;
	struct rv_member *a = join(x, "alice", "Alice", T0), *b;
	json_t *got[4], *p;

	rv_outbox_clear(&x->ob);
	b = join(x, "bob", "Bob", T0 + 50);
	assert_int_equal(x->ob.n, 2);
	assert_int_equal(x->ob.items[1].target, RV_TO_ALL_BUT);
	assert_ptr_equal(x->ob.items[1].member, b);

	assert_int_equal(inbox(x, a, got, 4), 1);
	assert_string_equal(str(got[0], "type"), "member_joined");
	assert_true(num(got[0], "ts") == T0 + 50);
	p = pl(got[0]);
	assert_string_equal(str(p, "id"), "bob");
	assert_string_equal(str(p, "name"), "Bob");

	assert_int_equal(inbox(x, b, got, 4), 1);
	assert_string_equal(str(got[0], "type"), "welcome");
	assert_string_equal(str(pl(got[0]), "role"), "member");
}

static void test_guest_naming(void **state)
{
	struct fx *x = *state;
	struct rv_member *m = NULL, *g2;

	join(x, "alice", "Alice", T0);
	g2 = join(x, "m2", NULL, T0);
	assert_string_equal(g2->name, "guest-2");
	assert_string_equal(join(x, "m3", "", T0)->name, "guest-3");
	/* A refused join is not counted. */
	assert_int_equal(rv_party_join(x->p, "m4", "\x01", NULL, T0, &m, &x->ob),
			 RV_EINVAL);
	assert_string_equal(join(x, "m4", NULL, T0)->name, "guest-4");
	/* Leaving frees no number: names stay unique while present. */
	rv_party_leave(x->p, g2, T0, &x->ob);
	assert_string_equal(join(x, "m5", NULL, T0)->name, "guest-5");
}

static void test_bad_names(void **state)
{
	struct fx *x = *state;
	const char *bad[] = {
		"a\tb", "\x7f", "   ", "\xff\xfe", "\xc2\x85nel", "caf\xc3",
		"123456789012345678901234567890123",    /* 33 characters */
	};
	char e32[32 * 2 + 1] = "";
	struct rv_member *m;

	join(x, "alice", "Alice", T0);
	rv_outbox_clear(&x->ob);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		m = (struct rv_member *)&m;
		assert_int_equal(rv_party_join(x->p, "bob", bad[i], NULL, T0, &m, &x->ob),
				 RV_EINVAL);
		assert_null(m);
		assert_int_equal(x->ob.n, 0);
		assert_int_equal(rv_party_size(x->p), 1);
	}
	/* 32 characters are fine even at 2 bytes each. */
	for (int i = 0; i < 32; i++)
		strcat(e32, "\xc3\xa9");
	assert_string_equal(join(x, "bob", e32, T0)->name, e32);
	assert_string_equal(join(x, "carol", "Zoë the 🎬 fan", T0)->name,
			    "Zoë the 🎬 fan");
}

static void test_bad_member_ids(void **state)
{
	struct fx *x = *state;
	struct rv_member *m;
	const char *bad[] = { "", "123456789012345678901234567890123", "\xff", "alice" };

	join(x, "alice", "Alice", T0);
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_join(x->p, NULL, "X", NULL, T0, &m, &x->ob), RV_EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(rv_party_join(x->p, bad[i], "X", NULL, T0, &m, &x->ob),
				 RV_EINVAL);
		assert_null(m);
	}
	assert_int_equal(x->ob.n, 0);
	assert_int_equal(rv_party_size(x->p), 1);
	join(x, "12345678901234567890123456789012", "X", T0);
}

static void test_max_members(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *m;

	reparty(x, 10, 2);
	a = join(x, "alice", "Alice", T0);
	b = join(x, "bob", "Bob", T0);
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_join(x->p, "carol", "Carol", NULL, T0, &m, &x->ob),
			 RV_EFULL);
	assert_null(m);
	assert_int_equal(x->ob.n, 0);
	assert_int_equal(rv_party_size(x->p), 2);
	rv_party_leave(x->p, b, T0, &x->ob);
	join(x, "carol", "Carol", T0);
	assert_int_equal(rv_party_size(x->p), 2);
	(void)a;
}

/* ---- leaving and host election */

static void test_host_leaves_longest_present_elected(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;
	json_t *got[4];

	trio(x, &a, &b, &c);
	rv_party_leave(x->p, a, T0 + 500, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), b);
	assert_ptr_equal(rv_party_first(x->p), b);
	assert_int_equal(rv_party_size(x->p), 2);
	assert_null(b->prev);

	/* member_left first, then host_changed, both to everyone left. */
	assert_int_equal(x->ob.n, 2);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(x->ob.items[i].target, RV_TO_ALL);
	for (struct rv_member *m = b; m; m = m->next) {
		assert_int_equal(inbox(x, m, got, 4), 2);
		assert_string_equal(str(got[0], "type"), "member_left");
		assert_string_equal(str(pl(got[0]), "id"), "alice");
		assert_string_equal(str(pl(got[0]), "name"), "Alice");
		assert_true(num(got[0], "ts") == T0 + 500);
		assert_string_equal(str(got[1], "type"), "host_changed");
		assert_string_equal(str(pl(got[1]), "host_id"), "bob");
	}
}

static void test_heir_is_longest_present_not_latest_host(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;

	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"carol\"}}", T0 + 300), 0);
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, c, T0 + 400, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), a);
	assert_int_equal(x->ob.n, 2);
	assert_string_equal(str(pl(item(x, 1)), "host_id"), "alice");
	(void)b;
}

static void test_member_leaves(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;
	json_t *j;

	trio(x, &a, &b, &c);
	rv_party_leave(x->p, b, T0 + 500, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), a);
	assert_ptr_equal(a->next, c);
	assert_ptr_equal(c->prev, a);
	assert_null(rv_party_find(x->p, "bob"));
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL);
	j = item(x, 0);
	assert_string_equal(str(j, "type"), "member_left");
	assert_string_equal(str(pl(j), "id"), "bob");
	assert_string_equal(str(pl(j), "name"), "Bob");
	rv_party_leave(x->p, c, T0 + 600, &x->ob);
	assert_null(a->next);
	rv_party_leave(x->p, NULL, T0, &x->ob);
}

static void test_host_leaves_last(void **state)
{
	struct fx *x = *state;
	struct rv_member *a = join(x, "alice", "Alice", T0), *b;

	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, a, T0 + 10, &x->ob);
	assert_int_equal(x->ob.n, 0);
	assert_int_equal(rv_party_size(x->p), 0);
	assert_null(rv_party_host(x->p));
	assert_null(rv_party_first(x->p));

	/* The next to join an empty party is host again. */
	b = join(x, "bob", "Bob", T0 + 20);
	assert_ptr_equal(rv_party_host(x->p), b);
	assert_string_equal(str(pl(item(x, 0)), "role"), "host");
}

/* ---- sync */

static void test_sync_forbidden_from_member(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, b, "{\"type\":\"sync\",\"payload\":{\"position\":5,"
				  "\"playing\":true,\"speed\":1},\"id\":\"s1\"}", T0 + 1000), 1);
	assert_error(x, b, "forbidden", "sync", "s1");
	assert_true(rv_party_state(x->p)->position == 0);
	assert_false(rv_party_state(x->p)->playing);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, b, "{\"type\":\"sync\",\"payload\":{\"position\":5,"
				  "\"playing\":true,\"speed\":1}}", T0 + 1000), 1);
	assert_error(x, b, "forbidden", "sync", NULL);
}

static void test_sync_relayed_exact(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;
	json_t *got[4], *p;
	const struct rv_playback *st;

	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, a, "{\"type\":\"sync\",\"payload\":{\"position\":"
				  "12.345678901234567,\"playing\":true,\"speed\":1.5}}",
				  T0 + 2000.25), 0);
	st = rv_party_state(x->p);
	assert_true(st->position == 12.345678901234567);
	assert_true(st->playing);
	assert_true(st->speed == 1.5);
	assert_true(st->server_time == T0 + 2000.25);

	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL_BUT);
	assert_ptr_equal(x->ob.items[0].member, a);
	assert_int_equal(x->ob.items[0].frame->kind, RV_FRAME_STATE);
	assert_int_equal(inbox(x, a, got, 4), 0);
	assert_int_equal(inbox(x, c, got, 4), 1);
	assert_int_equal(inbox(x, b, got, 4), 1);
	assert_string_equal(str(got[0], "type"), "sync");
	assert_string_equal(str(got[0], "from"), "alice");
	assert_true(num(got[0], "ts") == T0 + 2000.25);
	assert_false(has(got[0], "id"));
	p = pl(got[0]);
	assert_true(num(p, "position") == 12.345678901234567);
	assert_true(boolean(p, "playing"));
	assert_true(num(p, "speed") == 1.5);
	assert_true(num(p, "server_time") == T0 + 2000.25);

	/* Pause: the state says so and the position holds. */
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"sync\",\"payload\":{\"position\":"
				  "20,\"playing\":false,\"speed\":1}}", T0 + 3000), 0);
	assert_false(boolean(pl(item(x, 0)), "playing"));
	assert_true(rv_playback_position_at(rv_party_state(x->p), T0 + 9000) == 20);
}

static double synced_at(struct fx *x, struct rv_member *host, double at, double now)
{
	char buf[256];
	double relayed;

	rv_outbox_clear(&x->ob);
	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":1,"
		 "\"playing\":true,\"speed\":1,\"at\":%.3f}}", at);
	assert_int_equal(send_msg(x, host, buf, now), 0);
	relayed = num(pl(item(x, 0)), "server_time");
	assert_true(relayed == rv_party_state(x->p)->server_time);
	return relayed;
}

static void test_sync_at_window(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	double now = T0 + 60000;

	trio(x, &a, &b, NULL);
	assert_true(synced_at(x, a, now - 250.5, now) == now - 250.5);
	assert_true(synced_at(x, a, now - 4999, now) == now - 4999);
	assert_true(synced_at(x, a, now + 4999, now) == now + 4999);
	assert_true(synced_at(x, a, now - RV_AT_WINDOW_MS, now) == now - RV_AT_WINDOW_MS);
	assert_true(synced_at(x, a, now - 5001, now) == now);
	assert_true(synced_at(x, a, now + 5001, now) == now);
	assert_true(synced_at(x, a, 0, now) == now);
	/* The relay's ts is the receipt time whatever the at. */
	synced_at(x, a, now - 1000, now);
	assert_true(num(item(x, 0), "ts") == now);
}

static void test_sync_reply_only_with_id(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *got[4], *mine, *theirs;

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, a, "{\"type\":\"sync\",\"payload\":{\"position\":7,"
				  "\"playing\":true,\"speed\":2,\"at\":1700000009999.5},"
				  "\"id\":\"r-1\"}", T0 + 10000), 0);
	assert_int_equal(x->ob.n, 2);
	assert_int_equal(inbox(x, a, got, 4), 1);
	mine = got[0];
	assert_int_equal(inbox(x, b, got, 4), 1);
	theirs = got[0];
	assert_string_equal(str(mine, "id"), "r-1");
	assert_false(has(theirs, "id"));
	/* Same stamped state both ways. */
	assert_true(json_equal(pl(mine), pl(theirs)));
	assert_true(num(pl(mine), "server_time") == 1700000009999.5);
	assert_true(num(pl(mine), "speed") == 2);
	assert_string_equal(str(mine, "from"), "alice");
	for (unsigned i = 0; i < x->ob.n; i++)
		if (x->ob.items[i].target == RV_TO_ONE)
			assert_int_equal(x->ob.items[i].frame->kind, RV_FRAME_EVENT);
}

static void test_sync_bad_values_by_hand(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_msg msg = { .type = RV_MSG_SYNC };

	trio(x, &a, &b, NULL);
	msg.u.sync.position = NAN;
	msg.u.sync.speed = 1;
	assert_int_equal(rv_party_handle(x->p, a, &msg, T0, &x->ob), 1);
	assert_error(x, a, "bad_payload", "sync", NULL);
	rv_outbox_clear(&x->ob);
	msg.u.sync.position = 1;
	msg.u.sync.speed = 8;
	assert_int_equal(rv_party_handle(x->p, a, &msg, T0, &x->ob), 1);
	assert_error(x, a, "bad_payload", "sync", NULL);
	assert_true(rv_party_state(x->p)->position == 0);
	assert_true(rv_party_state(x->p)->speed == 1);
	/* A non-finite at is never in the window. */
	rv_outbox_clear(&x->ob);
	msg.u.sync.speed = 1;
	msg.u.sync.has_at = true;
	msg.u.sync.at = NAN;
	assert_int_equal(rv_party_handle(x->p, a, &msg, T0 + 5, &x->ob), 0);
	assert_true(rv_party_state(x->p)->server_time == T0 + 5);
}

/* ---- chat, history, reactions */

static void test_chat_without_id(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;
	json_t *got[4], *p;

	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":"
				  "{\"text\":\"popcorn \\\"time\\\" \\u00e9\"}}", T0 + 700), 0);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL);
	assert_int_equal(x->ob.items[0].frame->msg_type, RV_MSG_CHAT);
	for (struct rv_member *m = a; m; m = m->next) {
		assert_int_equal(inbox(x, m, got, 4), 1);
		assert_string_equal(str(got[0], "type"), "chat");
		assert_string_equal(str(got[0], "from"), "bob");
		assert_true(num(got[0], "ts") == T0 + 700);
		assert_false(has(got[0], "id"));
		p = pl(got[0]);
		assert_string_equal(str(p, "text"), "popcorn \"time\" \xc3\xa9");
		assert_string_equal(str(p, "name"), "Bob");
	}
	assert_int_equal(rv_party_history_len(x->p), 1);
}

static void test_chat_with_id(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;
	json_t *got[4], *mine;
	struct rv_frame *shared = NULL;

	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":{\"text\":\"hi\"},"
				  "\"id\":\"c-9\"}", T0 + 700), 0);
	assert_int_equal(x->ob.n, 2);
	for (unsigned i = 0; i < 2; i++) {
		assert_ptr_equal(x->ob.items[i].member, b);
		if (x->ob.items[i].target == RV_TO_ALL_BUT)
			shared = x->ob.items[i].frame;
		else
			assert_int_equal(x->ob.items[i].target, RV_TO_ONE);
	}
	assert_non_null(shared);

	assert_int_equal(inbox(x, b, got, 4), 1);
	mine = got[0];
	assert_string_equal(str(mine, "id"), "c-9");
	assert_string_equal(str(pl(mine), "text"), "hi");
	assert_string_equal(str(pl(mine), "name"), "Bob");
	assert_string_equal(str(mine, "from"), "bob");
	assert_int_equal(inbox(x, a, got, 4), 1);
	assert_false(has(got[0], "id"));
	assert_int_equal(inbox(x, c, got, 4), 1);
	assert_false(has(got[0], "id"));
	/* Apart from the id, the sender's copy is the others' message. */
	json_object_del(mine, "id");
	assert_true(json_equal(mine, got[0]));

	/* History holds the very frame the others got (outbox + history). */
	assert_int_equal(rv_party_history_len(x->p), 1);
	assert_int_equal(shared->refs, 2);
}

static void test_history_splices_relayed_bytes(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_frame *relayed, *welcome;
	char copy[512];
	size_t len;

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":"
				  "\"<b>\\u2603\\n</b>\"}}", T0 + 1), 0);
	relayed = x->ob.items[0].frame;
	len = relayed->len;
	assert_true(len < sizeof(copy));
	memcpy(copy, rv_frame_data(relayed), len);
	rv_outbox_clear(&x->ob);

	join(x, "carol", "Carol", T0 + 2);
	welcome = x->ob.items[0].frame;
	assert_int_equal(welcome->msg_type, RV_MSG_WELCOME);
	assert_non_null(memmem(rv_frame_data(welcome), welcome->len, copy, len));
}

static void history_texts(struct fx *x, const char *id, const char **want, size_t n)
{
	json_t *hist;

	rv_outbox_clear(&x->ob);
	join(x, id, NULL, T0 + 99999);
	hist = json_object_get(pl(item(x, 0)), "history");
	assert_true(json_is_array(hist));
	assert_int_equal(json_array_size(hist), n);
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(hist, i);

		assert_string_equal(str(e, "type"), "chat");
		assert_string_equal(str(pl(e), "text"), want[i]);
		assert_false(has(e, "id"));
		assert_true(has(e, "from") && has(e, "ts"));
	}
}

static void test_history_bounds(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	const char *last3[] = { "m3", "m4", "m5" };
	const char *last3b[] = { "m5", "m6", "m7" };

	reparty(x, 3, 0);
	trio(x, &a, &b, NULL);
	for (int i = 1; i <= 5; i++) {
		char buf[128];

		snprintf(buf, sizeof(buf), "{\"type\":\"chat\",\"payload\":{\"text\":\"m%d\"}%s}",
			 i, i % 2 ? ",\"id\":\"x\"" : "");
		assert_int_equal(send_msg(x, i % 2 ? a : b, buf, T0 + i), 0);
		assert_int_equal(rv_party_history_len(x->p), i < 3 ? i : 3);
		rv_outbox_clear(&x->ob);
	}
	history_texts(x, "carol", last3, 3);
	/* Keeps wrapping the ring correctly. */
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"m6\"}}",
				  T0 + 6), 0);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"m7\"}}",
				  T0 + 7), 0);
	history_texts(x, "dave", last3b, 3);
	assert_int_equal(rv_party_history_len(x->p), 3);
}

static void test_history_default_is_50(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	trio(x, &a, &b, NULL);
	for (int i = 0; i < 60; i++) {
		assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":"
					  "{\"text\":\"x\"}}", T0 + i), 0);
		rv_outbox_clear(&x->ob);
	}
	assert_int_equal(rv_party_history_len(x->p), RV_PARTY_HISTORY_DEFAULT);
}

static void test_history_zero(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	reparty(x, 0, 0);
	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"hi\"}}",
				  T0 + 1), 0);
	/* Still relayed, just not kept. */
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].frame->refs, 1);
	assert_int_equal(rv_party_history_len(x->p), 0);
	history_texts(x, "carol", NULL, 0);
}

static void test_reaction_relay(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;
	json_t *got[4];

	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, c, "{\"type\":\"reaction\",\"payload\":"
				  "{\"emoji\":\"\xf0\x9f\x8e\x89\"}}", T0 + 5), 0);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL);
	for (struct rv_member *m = a; m; m = m->next) {
		assert_int_equal(inbox(x, m, got, 4), 1);
		assert_string_equal(str(got[0], "type"), "reaction");
		assert_string_equal(str(pl(got[0]), "emoji"), "\xf0\x9f\x8e\x89");
		assert_string_equal(str(pl(got[0]), "name"), "Carol");
		assert_string_equal(str(got[0], "from"), "carol");
		assert_true(num(got[0], "ts") == T0 + 5);
	}
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, c, "{\"type\":\"reaction\",\"payload\":"
				  "{\"emoji\":\"+1\"},\"id\":\"e1\"}", T0 + 6), 0);
	assert_int_equal(x->ob.n, 2);
	assert_int_equal(inbox(x, c, got, 4), 1);
	assert_string_equal(str(got[0], "id"), "e1");
	assert_int_equal(inbox(x, a, got, 4), 1);
	assert_false(has(got[0], "id"));
	assert_string_equal(str(pl(got[0]), "emoji"), "+1");
	/* Reactions are not chat history. */
	assert_int_equal(rv_party_history_len(x->p), 0);
}

static void test_text_bad_values_by_hand(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_msg msg = { .type = RV_MSG_CHAT, .id = "q" };
	static char big[RV_CHAT_MAX + 2];

	trio(x, &a, &b, NULL);
	assert_int_equal(rv_party_handle(x->p, b, &msg, T0, &x->ob), 1);
	assert_error(x, b, "bad_payload", "chat", "q");
	rv_outbox_clear(&x->ob);
	memset(big, 'a', RV_CHAT_MAX + 1);
	msg.u.chat.text = big;
	msg.u.chat.len = RV_CHAT_MAX + 1;
	assert_int_equal(rv_party_handle(x->p, b, &msg, T0, &x->ob), 1);
	assert_error(x, b, "too_large", "chat", "q");
	rv_outbox_clear(&x->ob);
	msg.type = RV_MSG_REACTION;
	msg.u.reaction.emoji = big;
	msg.u.reaction.len = RV_EMOJI_MAX + 1;
	assert_int_equal(rv_party_handle(x->p, b, &msg, T0, &x->ob), 1);
	assert_error(x, b, "too_large", "reaction", "q");
	assert_int_equal(rv_party_history_len(x->p), 0);
}

/* ---- the party's budget */

/* Replace the fixture's party with one with a chat budget. */
static void budget_party(struct fx *x, unsigned rate, unsigned burst)
{
	struct rv_party_config cfg = { .history_max = 50, .chat_rate = rate,
				       .chat_burst = burst };

	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	x->p = rv_party_new("movie-night", &cfg);
	assert_non_null(x->p);
}

/* Shared by every member: chat and reactions of anyone draw on one
 * bucket; a refusal goes to the sender alone, nothing is relayed or
 * kept, and the budget refills with the time handed in. */
static void test_budget_shared_by_members(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;

	budget_party(x, 2, 4);
	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"1\"}}", T0 + 300), 0);
	assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":{\"text\":\"2\"}}", T0 + 300), 0);
	assert_int_equal(send_msg(x, c, "{\"type\":\"reaction\",\"payload\":{\"emoji\":\"+1\"}}", T0 + 300), 0);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"3\"}}", T0 + 300), 0);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":{\"text\":\"4\"},"
				  "\"id\":\"c-5\"}", T0 + 300), 1);
	assert_error(x, b, "rate_limited", "chat", "c-5");
	assert_int_equal(x->ob.error, RV_ERR_RATE_LIMITED);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, c, "{\"type\":\"reaction\",\"payload\":{\"emoji\":\"+1\"}}",
				  T0 + 300), 1);
	assert_error(x, c, "rate_limited", "reaction", NULL);
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_history_len(x->p), 3);
	/* half a second at 2/s is one more */
	assert_int_equal(send_msg(x, c, "{\"type\":\"chat\",\"payload\":{\"text\":\"5\"}}", T0 + 800), 0);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"6\"}}", T0 + 800), 1);
	rv_outbox_clear(&x->ob);
	/* sync and transfer_host are not chat: never refused by it */
	assert_int_equal(send_msg(x, a, "{\"type\":\"sync\",\"payload\":{\"position\":1,"
				  "\"playing\":true,\"speed\":1}}", T0 + 800), 0);
	rv_outbox_clear(&x->ob);
}

/* The payload is checked before the budget, and a refused one uses none. */
/* The join budget: the first join of a new party takes nothing, the rest
 * draw on join_burst refilled at join_rate; a refusal says how long to
 * wait, and 0 is no limit. */
static void test_join_budget(void **state)
{
	struct fx *x = *state;
	struct rv_party_config cfg = { .history_max = 50, .join_rate = 2, .join_burst = 3 };
	double wait = -1;

	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	x->p = rv_party_new("movie-night", &cfg);
	assert_non_null(x->p);
	/* nothing to protect before the first join */
	assert_true(rv_party_take_join(x->p, T0, NULL));
	join(x, "alice", "Alice", T0);
	for (int i = 0; i < 3; i++)
		assert_true(rv_party_take_join(x->p, T0 + 10, NULL));
	assert_false(rv_party_take_join(x->p, T0 + 10, &wait));
	assert_near(wait, 500, 1e-6);
	assert_false(rv_party_take_join(x->p, T0 + 260, &wait));
	assert_near(wait, 250, 1e-6);
	assert_true(rv_party_take_join(x->p, T0 + 510, NULL));
	assert_false(rv_party_take_join(x->p, T0 + 510, NULL));
	/* a refusal changes nothing in the party */
	assert_int_equal(rv_party_size(x->p), 1);
	rv_outbox_clear(&x->ob);

	cfg.join_rate = 0;
	rv_party_free(x->p);
	x->p = rv_party_new("movie-night", &cfg);
	join(x, "alice", "Alice", T0);
	for (int i = 0; i < 1000; i++)
		assert_true(rv_party_take_join(x->p, T0, NULL));
	rv_outbox_clear(&x->ob);
}

static void test_budget_after_payload_checks(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_msg msg = { .type = RV_MSG_CHAT, .id = "q" };

	budget_party(x, 1, 1);
	trio(x, &a, &b, NULL);
	assert_int_equal(rv_party_handle(x->p, b, &msg, T0 + 200, &x->ob), 1);
	assert_error(x, b, "bad_payload", "chat", "q");
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":{\"text\":\"ok\"}}", T0 + 200), 0);
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_handle(x->p, b, &msg, T0 + 200, &x->ob), 1);
	assert_error(x, b, "bad_payload", "chat", "q");
	rv_outbox_clear(&x->ob);
}

/* chat_rate 0 is no budget (the default config has none). */
static void test_budget_zero_is_unlimited(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	budget_party(x, 0, 0);
	trio(x, &a, &b, NULL);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(send_msg(x, a, "{\"type\":\"reaction\",\"payload\":{\"emoji\":\"x\"}}",
					  T0 + 200), 0);
		rv_outbox_clear(&x->ob);
	}
}

/* ---- time */

/* time is answered by the server for every endpoint (the reply itself is
 * tested as test_time_reply in test_proto.c): not a party message. */
static void test_time_not_a_party_message(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, b, "{\"type\":\"time\",\"payload\":"
				  "{\"client_time\":123.5},\"id\":\"t7\"}", T0 + 9999.25), 1);
	assert_error(x, b, "unknown_type", "time", "t7");
}

/* ---- transfer_host */

/* ---- media (issue 18) */

static void test_media_relayed_and_welcomed(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *d;
	json_t *got[4], *j, *md;

	trio(x, &a, &b, NULL);
	assert_null(rv_party_media_url(x->p));
	assert_null(rv_party_media_title(x->p));
	/* with an id: the host's copy carries it, the others' does not */
	assert_int_equal(send_msg(x, a, "{\"type\":\"media\",\"payload\":{\"url\":"
				  "\"https://cdn.example/film.webm\",\"title\":\"Film\"},"
				  "\"id\":\"md1\"}", T0 + 300), 0);
	assert_int_equal(inbox(x, a, got, 4), 1);
	assert_string_equal(str(got[0], "type"), "media");
	assert_string_equal(str(got[0], "id"), "md1");
	assert_string_equal(str(got[0], "from"), "alice");
	assert_string_equal(str(pl(got[0]), "url"), "https://cdn.example/film.webm");
	assert_string_equal(str(pl(got[0]), "title"), "Film");
	assert_int_equal(inbox(x, b, got, 4), 1);
	assert_false(has(got[0], "id"));
	assert_string_equal(str(pl(got[0]), "title"), "Film");
	assert_true(num(got[0], "ts") == T0 + 300);
	assert_string_equal(rv_party_media_url(x->p), "https://cdn.example/film.webm");
	/* the state is the host's to set: a media leaves it alone */
	assert_false(rv_party_state(x->p)->playing);
	rv_outbox_clear(&x->ob);

	/* a late joiner's welcome carries it */
	d = join(x, "dave", "Dave", T0 + 400);
	assert_int_equal(inbox(x, d, got, 4), 1);
	md = json_object_get(pl(got[0]), "media");
	assert_true(json_is_object(md));
	assert_string_equal(str(md, "url"), "https://cdn.example/film.webm");
	assert_string_equal(str(md, "title"), "Film");
	rv_outbox_clear(&x->ob);

	/* without an id, one broadcast; no title is "" */
	assert_int_equal(send_msg(x, a, "{\"type\":\"media\",\"payload\":{\"url\":"
				  "\"/media/b.webm\"}}", T0 + 500), 0);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL);
	j = item(x, 0);
	assert_string_equal(str(pl(j), "title"), "");
	assert_string_equal(rv_party_media_title(x->p), "");
	rv_outbox_clear(&x->ob);

	/* null clears it; a welcome then says null */
	assert_int_equal(send_msg(x, a, "{\"type\":\"media\",\"payload\":{\"url\":null}}",
				  T0 + 600), 0);
	j = item(x, 0);
	assert_true(json_is_null(json_object_get(pl(j), "url")));
	assert_null(rv_party_media_url(x->p));
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, d, T0 + 700, &x->ob);
	rv_outbox_clear(&x->ob);
	d = join(x, "dave2", "Dave", T0 + 800);
	assert_int_equal(inbox(x, d, got, 4), 1);
	assert_true(json_is_null(json_object_get(pl(got[0]), "media")));
}

static void test_media_forbidden_and_hostile(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_msg msg = { .type = RV_MSG_MEDIA, .id = "h" };
	char big[RV_MEDIA_URL_MAX + 2];

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, b, "{\"type\":\"media\",\"payload\":{\"url\":\"/a\"},"
				  "\"id\":\"m9\"}", T0), 1);
	assert_error(x, b, "forbidden", "media", "m9");
	assert_null(rv_party_media_url(x->p));
	rv_outbox_clear(&x->ob);
	/* what an adapter other than the decoder might hand in is checked
	 * again: nothing changes, the host gets bad_payload */
	assert_int_equal(rv_party_set_media(x->p, "/ok.webm", "ok"), 0);
	msg.u.media.url = "javascript:alert(1)";
	msg.u.media.title = "";
	assert_int_equal(rv_party_handle(x->p, a, &msg, T0, &x->ob), 1);
	assert_error(x, a, "bad_payload", "media", "h");
	assert_string_equal(rv_party_media_url(x->p), "/ok.webm");
	rv_outbox_clear(&x->ob);
	msg.u.media.url = "/fine";
	msg.u.media.title = "bad\ntitle";
	assert_int_equal(rv_party_handle(x->p, a, &msg, T0, &x->ob), 1);
	assert_error(x, a, "bad_payload", "media", "h");
	rv_outbox_clear(&x->ob);
	memset(big, 'a', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = 0;
	assert_int_equal(rv_party_set_media(x->p, big, NULL), RV_EINVAL);
	big[RV_MEDIA_URL_MAX] = 0;
	assert_int_equal(rv_party_set_media(x->p, big, NULL), 0);
	assert_int_equal(strlen(rv_party_media_url(x->p)), RV_MEDIA_URL_MAX);
	assert_string_equal(rv_party_media_title(x->p), "");
	assert_int_equal(rv_party_set_media(x->p, NULL, "x"), 0);
	assert_null(rv_party_media_url(x->p));
}

static void test_transfer_forbidden(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, b, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"bob\"},\"id\":\"h1\"}", T0), 1);
	assert_error(x, b, "forbidden", "transfer_host", "h1");
	assert_ptr_equal(rv_party_host(x->p), a);
}

static void test_transfer_not_found(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"zed\"},\"id\":\"h2\"}", T0), 1);
	assert_error(x, a, "not_found", "transfer_host", "h2");
	assert_non_null(strstr(str(pl(item(x, 0)), "message"), "zed"));
	assert_ptr_equal(rv_party_host(x->p), a);
	rv_outbox_clear(&x->ob);
	/* A member who left is no longer a target. */
	rv_party_leave(x->p, b, T0, &x->ob);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"bob\"}}", T0), 1);
	assert_error(x, a, "not_found", "transfer_host", NULL);
}

static void test_transfer_to_self(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *j;

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"alice\"},\"id\":\"h3\"}", T0 + 3), 0);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ONE);
	assert_ptr_equal(x->ob.items[0].member, a);
	j = item(x, 0);
	assert_string_equal(str(j, "type"), "ack");
	assert_string_equal(str(j, "id"), "h3");
	assert_ptr_equal(rv_party_host(x->p), a);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"alice\"}}", T0 + 3), 0);
	assert_int_equal(x->ob.n, 0);
}

static void test_transfer_success(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;
	json_t *got[4];

	trio(x, &a, &b, &c);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"carol\"},\"id\":\"h4\"}", T0 + 4), 0);
	assert_ptr_equal(rv_party_host(x->p), c);
	assert_int_equal(x->ob.n, 2);
	/* Everyone, the old host included, learns of the change. */
	for (struct rv_member *m = a; m; m = m->next) {
		unsigned n = inbox(x, m, got, 4);

		assert_int_equal(n, m == a ? 2 : 1);
		assert_string_equal(str(got[0], "type"), "host_changed");
		assert_string_equal(str(pl(got[0]), "host_id"), "carol");
		assert_true(num(got[0], "ts") == T0 + 4);
		assert_false(has(got[0], "id"));
	}
	inbox(x, a, got, 4);
	assert_string_equal(str(got[1], "type"), "ack");
	assert_string_equal(str(got[1], "id"), "h4");

	/* Without an id there is no ack. */
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, c, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"bob\"}}", T0 + 5), 0);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL);
	assert_ptr_equal(rv_party_host(x->p), b);

	/* Powers move with the role. */
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"sync\",\"payload\":{\"position\":1,"
				  "\"playing\":true,\"speed\":1}}", T0 + 6), 1);
	assert_error(x, a, "forbidden", "sync", NULL);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, b, "{\"type\":\"sync\",\"payload\":{\"position\":1,"
				  "\"playing\":true,\"speed\":1}}", T0 + 6), 0);
	assert_string_equal(str(item(x, 0), "from"), "bob");
}

/* ---- roles: host-capable and member-only joiners */

#define SYNC_JSON "{\"type\":\"sync\",\"payload\":{\"position\":5,\"playing\":true," \
	"\"speed\":1},\"id\":\"s9\"}"

/* The welcome x's outbox holds for m (its only action to m alone). */
static json_t *welcome_of(struct fx *x, const struct rv_member *m)
{
	for (unsigned i = 0; i < x->ob.n; i++)
		if (x->ob.items[i].target == RV_TO_ONE && x->ob.items[i].member == m) {
			json_t *j = item(x, i);

			assert_string_equal(str(j, "type"), "welcome");
			return pl(j);
		}
	fail_msg("no welcome for %s", m->id);
	return NULL;
}

/* host_id present and JSON null. */
static void assert_null_host_id(const json_t *payload)
{
	json_t *v = json_object_get(payload, "host_id");

	assert_non_null(v);
	assert_true(json_is_null(v));
}

/* A sync from m is refused and the state stays as it was. */
static void assert_sync_refused(struct fx *x, struct rv_member *m)
{
	struct rv_playback before = *rv_party_state(x->p);
	const struct rv_playback *after = rv_party_state(x->p);

	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, m, SYNC_JSON, T0 + 9000), 1);
	assert_error(x, m, "forbidden", "sync", "s9");
	assert_true(after->position == before.position);
	assert_true(after->playing == before.playing);
	assert_true(after->speed == before.speed);
	assert_true(after->server_time == before.server_time);
	rv_outbox_clear(&x->ob);
}

static void test_member_only_first_joiner_no_host(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *p, *members, *got[4];

	a = join_as(x, "alice", "Alice", false, T0);
	assert_null(rv_party_host(x->p));
	assert_int_equal(rv_party_size(x->p), 1);
	assert_int_equal(x->ob.n, 1);
	p = welcome_of(x, a);
	assert_string_equal(str(p, "role"), "member");
	assert_null_host_id(p);
	members = json_object_get(p, "members");
	assert_int_equal(json_array_size(members), 1);
	assert_string_equal(str(json_array_get(members, 0), "role"), "member");
	/* The party is still anchored by its first join. */
	assert_true(rv_party_state(x->p)->server_time == T0);
	rv_outbox_clear(&x->ob);

	/* A second member-only joiner: still no host, so no host_changed. */
	b = join_as(x, "bob", "Bob", false, T0 + 100);
	assert_null(rv_party_host(x->p));
	assert_int_equal(x->ob.n, 2);
	p = welcome_of(x, b);
	assert_string_equal(str(p, "role"), "member");
	assert_null_host_id(p);
	assert_int_equal(inbox(x, a, got, 4), 1);
	assert_string_equal(str(got[0], "type"), "member_joined");

	/* Nobody is host: every sync is refused, the state waits. */
	assert_sync_refused(x, a);
	assert_sync_refused(x, b);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"bob\"},\"id\":\"h1\"}", T0 + 200), 1);
	assert_error(x, a, "forbidden", "transfer_host", "h1");
	assert_null(rv_party_host(x->p));
	rv_outbox_clear(&x->ob);

	/* Everything else works as for anyone. */
	assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":{\"text\":\"hi\"}}",
				  T0 + 300), 0);
	assert_int_equal(x->ob.n, 1);
	assert_int_equal(x->ob.items[0].target, RV_TO_ALL);
}

static void test_host_capable_joiner_takes_host(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c, *d;
	json_t *p, *members, *got[4];
	const char *roles[] = { "member", "member", "host" };

	a = join_as(x, "alice", "Alice", false, T0);
	b = join_as(x, "bob", "Bob", false, T0 + 100);
	rv_outbox_clear(&x->ob);

	c = join_as(x, "carol", "Carol", true, T0 + 200);
	assert_ptr_equal(rv_party_host(x->p), c);
	/* welcome, member_joined, host_changed. */
	assert_int_equal(x->ob.n, 3);
	assert_int_equal(x->ob.items[2].target, RV_TO_ALL_BUT);
	assert_ptr_equal(x->ob.items[2].member, c);
	assert_int_equal(x->ob.items[2].frame->msg_type, RV_MSG_HOST_CHANGED);

	/* The joiner learns it from its welcome alone. */
	assert_int_equal(inbox(x, c, got, 4), 1);
	p = pl(got[0]);
	assert_string_equal(str(got[0], "type"), "welcome");
	assert_string_equal(str(p, "role"), "host");
	assert_string_equal(str(p, "host_id"), "carol");
	members = json_object_get(p, "members");
	assert_int_equal(json_array_size(members), 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(str(json_array_get(members, i), "role"), roles[i]);

	/* The others: member_joined, then host_changed naming the joiner. */
	for (struct rv_member *m = a; m != c; m = m->next) {
		assert_int_equal(inbox(x, m, got, 4), 2);
		assert_string_equal(str(got[0], "type"), "member_joined");
		assert_string_equal(str(pl(got[0]), "id"), "carol");
		assert_string_equal(str(got[1], "type"), "host_changed");
		assert_string_equal(str(pl(got[1]), "host_id"), "carol");
		assert_true(num(got[1], "ts") == T0 + 200);
		assert_false(has(got[1], "id"));
	}

	/* Playback resumes with the new host; the others still cannot sync. */
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, c, "{\"type\":\"sync\",\"payload\":{\"position\":7,"
				  "\"playing\":true,\"speed\":1}}", T0 + 300), 0);
	assert_true(rv_party_state(x->p)->position == 7);
	assert_sync_refused(x, a);

	/* A party with a host keeps it: a later host-capable joiner is a
	 * member, and nobody hears host_changed. */
	d = join_as(x, "dave", "Dave", true, T0 + 400);
	assert_ptr_equal(rv_party_host(x->p), c);
	assert_int_equal(x->ob.n, 2);
	p = welcome_of(x, d);
	assert_string_equal(str(p, "role"), "member");
	assert_string_equal(str(p, "host_id"), "carol");
	(void)b;
}

static void test_host_leaves_only_member_only_left(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c, *d;
	json_t *got[4], *p;

	a = join_as(x, "alice", "Alice", true, T0);
	b = join_as(x, "bob", "Bob", false, T0 + 100);
	c = join_as(x, "carol", "Carol", false, T0 + 200);
	assert_ptr_equal(rv_party_host(x->p), a);
	rv_outbox_clear(&x->ob);

	rv_party_leave(x->p, a, T0 + 500, &x->ob);
	assert_null(rv_party_host(x->p));
	assert_int_equal(rv_party_size(x->p), 2);
	assert_int_equal(x->ob.n, 2);
	for (unsigned i = 0; i < 2; i++)
		assert_int_equal(x->ob.items[i].target, RV_TO_ALL);
	for (struct rv_member *m = b; m; m = m->next) {
		assert_int_equal(inbox(x, m, got, 4), 2);
		assert_string_equal(str(got[0], "type"), "member_left");
		assert_string_equal(str(pl(got[0]), "id"), "alice");
		assert_string_equal(str(got[1], "type"), "host_changed");
		assert_null_host_id(pl(got[1]));
		assert_true(num(got[1], "ts") == T0 + 500);
	}
	assert_sync_refused(x, b);
	assert_sync_refused(x, c);

	/* A member-only joiner now sees no host in its welcome; a leave
	 * without a host to lose says nothing of hosts. */
	d = join_as(x, "dave", "Dave", false, T0 + 600);
	p = welcome_of(x, d);
	assert_null_host_id(p);
	assert_string_equal(str(p, "role"), "member");
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, d, T0 + 700, &x->ob);
	assert_int_equal(x->ob.n, 1);
	assert_string_equal(str(item(x, 0), "type"), "member_left");
	assert_null(rv_party_host(x->p));
}

static void test_heir_skips_member_only(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c, *d, *e;
	json_t *got[4];

	a = join_as(x, "alice", "Alice", true, T0);
	b = join_as(x, "bob", "Bob", false, T0 + 100);
	c = join_as(x, "carol", "Carol", false, T0 + 200);
	d = join_as(x, "dave", "Dave", true, T0 + 300);
	e = join_as(x, "erin", "Erin", true, T0 + 400);
	rv_outbox_clear(&x->ob);

	/* bob and carol have been present longer, but may not host. */
	rv_party_leave(x->p, a, T0 + 500, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), d);
	assert_ptr_equal(rv_party_first(x->p), b);
	assert_int_equal(x->ob.n, 2);
	for (struct rv_member *m = b; m; m = m->next) {
		assert_int_equal(inbox(x, m, got, 4), 2);
		assert_string_equal(str(got[1], "type"), "host_changed");
		assert_string_equal(str(pl(got[1]), "host_id"), "dave");
	}
	assert_sync_refused(x, b);
	assert_int_equal(send_msg(x, d, "{\"type\":\"sync\",\"payload\":{\"position\":3,"
				  "\"playing\":false,\"speed\":1}}", T0 + 600), 0);
	rv_outbox_clear(&x->ob);

	/* And again past the member-only ones to the next who may. */
	rv_party_leave(x->p, d, T0 + 700, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), e);
	assert_string_equal(str(pl(item(x, 1)), "host_id"), "erin");
	rv_outbox_clear(&x->ob);

	/* None left who may: no host. */
	rv_party_leave(x->p, e, T0 + 800, &x->ob);
	assert_null(rv_party_host(x->p));
	assert_null_host_id(pl(item(x, 1)));
	(void)c;
}

static void test_transfer_to_member_only_forbidden(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;

	a = join_as(x, "alice", "Alice", true, T0);
	b = join_as(x, "bob", "Bob", false, T0 + 100);
	c = join_as(x, "carol", "Carol", true, T0 + 200);
	rv_outbox_clear(&x->ob);

	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"bob\"},\"id\":\"h5\"}", T0 + 300), 1);
	assert_error(x, a, "forbidden", "transfer_host", "h5");
	assert_non_null(strstr(str(pl(item(x, 0)), "message"), "bob"));
	assert_non_null(strstr(str(pl(item(x, 0)), "message"), "cannot be host"));
	assert_int_equal(x->ob.error, RV_ERR_FORBIDDEN);
	assert_ptr_equal(rv_party_host(x->p), a);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"bob\"}}", T0 + 300), 1);
	assert_error(x, a, "forbidden", "transfer_host", NULL);
	assert_ptr_equal(rv_party_host(x->p), a);
	rv_outbox_clear(&x->ob);

	/* To one who may, as ever. */
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"carol\"}}", T0 + 400), 0);
	assert_ptr_equal(rv_party_host(x->p), c);
	assert_int_equal(x->ob.n, 1);
	assert_string_equal(str(pl(item(x, 0)), "host_id"), "carol");
	(void)b;
}

/* rv_party_join is rv_party_join_as(..., true, ...): the same party, driven
 * both ways, sends the same bytes; and in a mixed party its members are the
 * host-capable ones. */
static void test_join_is_host_capable(void **state)
{
	struct fx *x = *state;
	struct rv_party *q = rv_party_new("movie-night", NULL);
	struct rv_outbox qb;
	const char *ids[] = { "alice", "bob", "carol" };
	struct rv_member *m = NULL, *n = NULL, *a, *b, *c, *d;

	assert_non_null(q);
	rv_outbox_init(&qb);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(rv_party_join(x->p, ids[i], NULL, NULL, T0 + i, &m,
					       &x->ob), 0);
		assert_int_equal(rv_party_join_as(q, ids[i], NULL, true, NULL, T0 + i,
						  &n, &qb), 0);
		assert_true(m->may_host && n->may_host);
		assert_int_equal(x->ob.n, qb.n);
		for (unsigned k = 0; k < qb.n; k++) {
			struct rv_frame *f = x->ob.items[k].frame, *g = qb.items[k].frame;

			assert_int_equal(x->ob.items[k].target, qb.items[k].target);
			assert_int_equal(f->len, g->len);
			assert_memory_equal(rv_frame_data(f), rv_frame_data(g), f->len);
		}
		rv_outbox_clear(&x->ob);
		rv_outbox_clear(&qb);
	}
	rv_party_free(q);

	/* Everyone-host-capable behaviour: the head is heir, anyone a target. */
	a = rv_party_find(x->p, "alice");
	b = rv_party_find(x->p, "bob");
	c = rv_party_find(x->p, "carol");
	assert_ptr_equal(rv_party_host(x->p), a);
	assert_int_equal(send_msg(x, a, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"carol\"}}", T0 + 10), 0);
	assert_ptr_equal(rv_party_host(x->p), c);
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, c, T0 + 20, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), a);
	rv_outbox_clear(&x->ob);

	/* Mixed: a member-only joiner between them changes none of it. */
	d = join_as(x, "dave", "Dave", false, T0 + 30);
	assert_int_equal(x->ob.n, 2);
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, a, T0 + 40, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), b);
	assert_string_equal(str(pl(item(x, 1)), "host_id"), "bob");
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_join(x->p, "erin", NULL, NULL, T0 + 50, &m, &x->ob), 0);
	assert_true(m->may_host);
	rv_outbox_clear(&x->ob);
	rv_party_leave(x->p, b, T0 + 60, &x->ob);
	assert_ptr_equal(rv_party_host(x->p), m);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, m, "{\"type\":\"transfer_host\",\"payload\":"
				  "{\"to\":\"dave\"},\"id\":\"h6\"}", T0 + 70), 1);
	assert_error(x, m, "forbidden", "transfer_host", "h6");
	(void)d;
}

/* ---- other types */

static void test_unknown_types(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_msg msg = { .type = RV_MSG_WELCOME };

	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, b, "{\"type\":\"progress\",\"payload\":{\"media_id\":"
				  "\"m1\",\"position\":1,\"duration\":10,\"playing\":true},"
				  "\"id\":\"p1\"}", T0), 1);
	assert_error(x, b, "unknown_type", "progress", "p1");
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"quality_request\",\"payload\":"
				  "{\"profile\":\"720p\"}}", T0), 1);
	assert_error(x, a, "unknown_type", "quality_request", NULL);
	rv_outbox_clear(&x->ob);
	assert_int_equal(send_msg(x, a, "{\"type\":\"bandwidth_report\",\"payload\":"
				  "{\"kbps\":5000}}", T0), 1);
	assert_error(x, a, "unknown_type", "bandwidth_report", NULL);
	rv_outbox_clear(&x->ob);
	assert_int_equal(rv_party_handle(x->p, a, &msg, T0, &x->ob), 1);
	assert_error(x, a, "unknown_type", "welcome", NULL);
}

/* ---- ownership */

static void test_frame_refcounts(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_frame *first, *reply, *shared;

	reparty(x, 1, 0);
	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"1\"}}",
				  T0), 0);
	first = rv_frame_ref(x->ob.items[0].frame);
	assert_int_equal(first->refs, 3);          /* outbox, history, us */
	rv_outbox_clear(&x->ob);
	assert_int_equal(x->ob.n, 0);
	assert_int_equal(first->refs, 2);

	/* Pushed out of a 1-entry history: only our reference is left. */
	assert_int_equal(send_msg(x, a, "{\"type\":\"chat\",\"payload\":{\"text\":\"2\"},"
				  "\"id\":\"i\"}", T0), 0);
	assert_int_equal(first->refs, 1);
	reply = shared = NULL;
	for (unsigned i = 0; i < x->ob.n; i++) {
		if (x->ob.items[i].target == RV_TO_ONE)
			reply = rv_frame_ref(x->ob.items[i].frame);
		else
			shared = rv_frame_ref(x->ob.items[i].frame);
	}
	assert_int_equal(reply->refs, 2);
	assert_int_equal(shared->refs, 3);
	rv_outbox_clear(&x->ob);
	assert_int_equal(reply->refs, 1);
	assert_int_equal(shared->refs, 2);
	rv_party_free(x->p);
	x->p = NULL;
	assert_int_equal(shared->refs, 1);
	/* The last references are ours; valgrind and ASan check the rest. */
	rv_frame_unref(first);
	rv_frame_unref(reply);
	rv_frame_unref(shared);
	x->p = rv_party_new("movie-night", NULL);
	assert_non_null(x->p);
}

static void test_free_with_members_and_history(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b, *c;

	trio(x, &a, &b, &c);
	for (int i = 0; i < 10; i++)
		assert_int_equal(send_msg(x, b, "{\"type\":\"chat\",\"payload\":"
					  "{\"text\":\"z\"},\"id\":\"k\"}", T0 + i), 0);
	/* Outbox left full on purpose: the party must not write past it. */
	assert_int_equal(x->ob.n, RV_OUTBOX_MAX);
	rv_outbox_clear(&x->ob);
	assert_int_equal(x->ob.n, 0);
	assert_int_equal(x->ob.close_code, 0);
	/* teardown frees the party with three members and ten chats. */
}

static void test_outbox_clear_resets(void **state)
{
	struct rv_outbox ob;

	rv_outbox_init(&ob);
	assert_int_equal(ob.n, 0);
	assert_int_equal(ob.close_code, 0);
	ob.items[0].frame = rv_frame_from("{}", 2, RV_FRAME_EVENT);
	ob.n = 1;
	ob.close_code = 1008;
	rv_outbox_clear(&ob);
	assert_int_equal(ob.n, 0);
	assert_int_equal(ob.close_code, 0);
	rv_outbox_clear(&ob);
}

/* ---- scheduled commands (H1 lead) */

/* Replace the fixture's party with one that schedules syncs. */
static void reparty_lead(struct fx *x, double lead_min, double lead_max)
{
	struct rv_party_config cfg = { .history_max = 50, .lead_min_ms = lead_min,
				       .lead_max_ms = lead_max };

	rv_outbox_clear(&x->ob);
	rv_party_free(x->p);
	x->p = rv_party_new("movie-night", &cfg);
	assert_non_null(x->p);
}

/* The host syncs; returns the state relayed to the others (parsed), after
 * checking the party stored the same. */
static json_t *lead_sync(struct fx *x, struct rv_member *host, double pos, bool playing,
			 double speed, double now)
{
	char buf[256];
	json_t *p;

	rv_outbox_clear(&x->ob);
	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":%.17g,"
		 "\"playing\":%s,\"speed\":%g}}", pos, playing ? "true" : "false", speed);
	assert_int_equal(send_msg(x, host, buf, now), 0);
	assert_int_equal(x->ob.n, 1);
	p = pl(item(x, 0));
	assert_true(num(item(x, 0), "ts") == now);
	assert_true(num(p, "server_time") == rv_party_state(x->p)->server_time);
	assert_true(num(p, "position") == rv_party_state(x->p)->position);
	return p;
}

static void test_lead_member_rtt(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	reparty_lead(x, 100, 1000);
	trio(x, &a, &b, NULL);
	assert_true(isnan(a->rtt_ms));
	assert_true(rv_party_lead_ms(x->p, T0 + 1000) == 100);
	rv_party_member_rtt(x->p, b, 150, T0 + 1000);
	assert_true(b->rtt_ms == 150);
	assert_true(rv_party_lead_ms(x->p, T0 + 1000) == 300);
	/* garbage is ignored and changes nothing */
	rv_party_member_rtt(x->p, b, -5, T0 + 1000);
	rv_party_member_rtt(x->p, b, NAN, T0 + 1000);
	rv_party_member_rtt(x->p, b, 1e9, T0 + 1000);
	assert_true(b->rtt_ms == 150);
	assert_true(rv_party_lead_ms(x->p, T0 + 1000) == 300);
	rv_party_member_rtt(x->p, a, 900, T0 + 2000);
	assert_true(rv_party_lead_ms(x->p, T0 + 2000) == 1000);
	/* a minute later the window is empty again */
	assert_true(rv_party_lead_ms(x->p, T0 + 62000) == 100);
}

static void test_lead_welcome_lead_ms(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;

	/* unscheduled (a zeroed config, as before): 0 */
	join(x, "alice", "Alice", T0);
	assert_true(num(pl(item(x, 0)), "lead_ms") == 0);
	reparty_lead(x, 100, 1000);
	a = join(x, "alice", "Alice", T0);
	assert_true(num(pl(item(x, 0)), "lead_ms") == 100);
	rv_outbox_clear(&x->ob);
	rv_party_member_rtt(x->p, a, 210, T0 + 10);
	b = join(x, "bob", "Bob", T0 + 20);
	assert_ptr_equal(x->ob.items[0].member, b);
	assert_true(num(pl(item(x, 0)), "lead_ms") == 420);
}

static void test_lead_resume_pause_seek_speed(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *p;
	double now;

	reparty_lead(x, 100, 1000);
	trio(x, &a, &b, NULL);
	rv_party_member_rtt(x->p, b, 200, T0 + 500);        /* lead 400 */

	/* resume from the start: at T, from the paused position */
	now = T0 + 1000;
	p = lead_sync(x, a, 0, true, 1, now);
	assert_true(num(p, "server_time") == now + 400);
	assert_true(num(p, "position") == 0 && boolean(p, "playing"));

	/* 10 s later the host pauses where its player is (10 s, a little
	 * behind): it stops where everyone will be at T */
	now = T0 + 11400;
	p = lead_sync(x, a, 9.95, false, 1, now);
	assert_true(num(p, "server_time") == now + 400);
	assert_near(num(p, "position"), 10.4, 1e-9);
	assert_false(boolean(p, "playing"));

	/* a resume starts from the paused position at T */
	now = T0 + 20000;
	p = lead_sync(x, a, 10.4, true, 1, now);
	assert_near(num(p, "position"), 10.4, 1e-9);
	assert_true(num(p, "server_time") == now + 400);

	/* speed: from where everyone is at T (now: 10.4 + 2 s of playing) */
	now = T0 + 22400;
	p = lead_sync(x, a, 12.4, true, 2, now);
	assert_near(num(p, "position"), 12.8, 1e-9);
	assert_true(num(p, "speed") == 2);

	/* seek: the target, which everyone reaches at T */
	now = T0 + 30000;
	p = lead_sync(x, a, 600, true, 2, now);
	assert_true(num(p, "position") == 600);
	assert_true(num(p, "server_time") == now + 400);
	assert_true(rv_playback_position_at(rv_party_state(x->p), now + 400) == 600);
}

static void test_lead_reply_to_host(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *got[4], *mine, *theirs;

	reparty_lead(x, 100, 1000);
	trio(x, &a, &b, NULL);
	assert_int_equal(send_msg(x, a, "{\"type\":\"sync\",\"payload\":{\"position\":7,"
				  "\"playing\":true,\"speed\":1},\"id\":\"r\"}", T0 + 1000), 0);
	assert_int_equal(inbox(x, a, got, 4), 1);
	mine = got[0];
	assert_int_equal(inbox(x, b, got, 4), 1);
	theirs = got[0];
	/* the host's player gets the same instant: everyone applies it then */
	assert_true(json_equal(pl(mine), pl(theirs)));
	assert_true(num(pl(mine), "server_time") == T0 + 1100);
}

/* A member's player (rv_schedule) over a pause: playing until T, then
 * held at exactly where it was: never a step back. */
static void test_lead_pause_never_jumps_back(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_schedule player;
	struct rv_playback st;
	double last = -1, now;
	json_t *p;

	reparty_lead(x, 100, 1000);
	trio(x, &a, &b, NULL);
	rv_schedule_init(&player, rv_party_state(x->p));
	rv_party_member_rtt(x->p, b, 350, T0 + 500);        /* lead 700 */
	for (now = T0 + 1000; now < T0 + 30000; now += 10) {
		double at = now - T0, pos;

		/* the host: play at 1 s, pause at 5.5 s (its position a bit
		 * behind), speed 1.5 paused at 8 s, resume at 12 s, pause
		 * again at 20 s, resume at 20.3 s (within the lead) */
		p = NULL;
		if (at == 1000)
			p = lead_sync(x, a, 0, true, 1, now);
		else if (at == 5500) {
			p = lead_sync(x, a, 3.75, false, 1, now);
			/* held where playback is at T = 6.2 s: 4.5 */
			assert_near(num(p, "position"), 4.5, 1e-9);
		}
		else if (at == 8000)
			p = lead_sync(x, a, rv_party_state(x->p)->position, false, 1.5, now);
		else if (at == 12000)
			p = lead_sync(x, a, rv_party_state(x->p)->position, true, 1.5, now);
		else if (at == 20000)
			p = lead_sync(x, a, rv_schedule_position(&player, now), false, 1.5, now);
		else if (at == 20300)
			p = lead_sync(x, a, rv_schedule_position(&player, now), true, 1.5, now);
		if (p) {
			st.position = num(p, "position");
			st.playing = boolean(p, "playing");
			st.speed = num(p, "speed");
			st.server_time = num(p, "server_time");
			assert_true(st.server_time == now + 700);
			/* it reaches the member 20 ms later */
			rv_schedule_push(&player, &st, now + 20);
		}
		pos = rv_schedule_position(&player, now + 20);
		if (!(pos >= last - 1e-9))
			fail_msg("at %.0f: %.6f after %.6f", at, pos, last);
		last = pos;
	}
	assert_true(last > 10);
}

static void test_lead_pending_replaced(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *p;

	reparty_lead(x, 1000, 1000);
	trio(x, &a, &b, NULL);
	lead_sync(x, a, 0, true, 1, T0 + 1000);             /* plays from T0 + 2000 */
	/* pause at 10 s (position 8 at T0 + 10000, 9 at T) */
	p = lead_sync(x, a, 8, false, 1, T0 + 10000);
	assert_near(num(p, "position"), 9, 1e-9);
	/* 300 ms later, still pending, a resume: what plays goes on */
	p = lead_sync(x, a, 8.3, true, 1, T0 + 10300);
	assert_true(boolean(p, "playing"));
	assert_near(num(p, "position"), 9.3, 1e-9);
	assert_true(num(p, "server_time") == T0 + 11300);
	/* the state in force before it is still the first one */
	assert_near(rv_playback_position_at(rv_party_state(x->p), T0 + 12300), 10.3, 1e-9);
}

/* A command within the lead of the one before: a member that got the
 * second after the first's instant has applied the first, one that got it
 * before has dropped the first (rv_schedule). Neither moves back. */
static void test_lead_quick_commands_either_path(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	struct rv_schedule early, late;
	struct rv_playback st[2];
	double last_e = -1, last_l = -1;
	json_t *p;

	reparty_lead(x, 100, 1000);
	trio(x, &a, &b, NULL);
	rv_party_member_rtt(x->p, b, 200, T0 + 500);        /* lead 400 */
	rv_schedule_init(&early, rv_party_state(x->p));
	rv_schedule_init(&late, rv_party_state(x->p));
	/* resume at T0 + 1000 (for T0 + 1400), pause at T0 + 1390 */
	p = lead_sync(x, a, 0, true, 1, T0 + 1000);
	st[0] = (struct rv_playback){ num(p, "position"), boolean(p, "playing"),
				      num(p, "speed"), num(p, "server_time") };
	p = lead_sync(x, a, 0, false, 1, T0 + 1390);
	st[1] = (struct rv_playback){ num(p, "position"), boolean(p, "playing"),
				      num(p, "speed"), num(p, "server_time") };
	assert_true(st[1].server_time == T0 + 1790);
	assert_near(st[1].position, 0.39, 1e-9);
	rv_schedule_push(&early, &st[0], T0 + 1010);
	rv_schedule_push(&late, &st[0], T0 + 1010);
	for (double t = T0 + 1010; t < T0 + 4000; t += 5) {
		double pe, pl_;

		if (t == T0 + 1395)
			rv_schedule_push(&early, &st[1], t);  /* before the resume's instant */
		if (t == T0 + 1600)
			rv_schedule_push(&late, &st[1], t);   /* after it */
		pe = rv_schedule_position(&early, t);
		pl_ = rv_schedule_position(&late, t);
		assert_true(pe >= last_e - 1e-9 && pl_ >= last_l - 1e-9);
		last_e = pe;
		last_l = pl_;
	}
	/* both end where the pause said */
	assert_near(last_e, 0.39, 1e-9);
	assert_near(last_l, 0.39, 1e-9);
	/* the lead shrinks while a command is pending (its RTT sample ages
	 * out of the window at T0 + 100000): the next one still comes after */
	rv_party_member_rtt(x->p, b, 400, T0 + 60000);
	p = lead_sync(x, a, 0.39, true, 1, T0 + 99990);       /* lead 800 */
	assert_true(num(p, "server_time") == T0 + 100790);
	assert_true(rv_party_lead_ms(x->p, T0 + 100010) == 100);
	p = lead_sync(x, a, 0.39, false, 1, T0 + 100010);
	assert_true(num(p, "server_time") == T0 + 100790);
	assert_near(num(p, "position"), 0.39, 1e-9);
}

static void test_lead_host_upload_allowance(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *p;

	reparty_lead(x, 100, 1000);
	trio(x, &a, &b, NULL);
	lead_sync(x, a, 0, true, 1, T0 + 1000);             /* plays from T0 + 1100 */
	/* a host 600 ms away without `at`: its pause, 500 ms behind, is
	 * within 250 ms + its RTT, so not a seek back */
	rv_party_member_rtt(x->p, a, 600, T0 + 5000);       /* lead 1000 */
	p = lead_sync(x, a, 8.4, false, 1, T0 + 10000);
	assert_near(num(p, "position"), 9.9, 1e-9);
	/* with no RTT known the same would be a seek */
	reparty_lead(x, 100, 1000);
	trio(x, &a, &b, NULL);
	lead_sync(x, a, 0, true, 1, T0 + 1000);
	p = lead_sync(x, a, 8.4, false, 1, T0 + 10000);
	assert_true(num(p, "position") == 8.4);
}

static void test_lead_max_zero_is_v1(void **state)
{
	struct fx *x = *state;
	struct rv_member *a, *b;
	json_t *p;

	reparty_lead(x, 100, 0);
	trio(x, &a, &b, NULL);
	rv_party_member_rtt(x->p, b, 300, T0 + 500);
	assert_true(rv_party_lead_ms(x->p, T0 + 500) == 0);
	p = lead_sync(x, a, 12.5, true, 1, T0 + 1000);
	assert_true(num(p, "position") == 12.5 && num(p, "server_time") == T0 + 1000);
	/* continuous or not, the host's state as sent */
	p = lead_sync(x, a, 21.4, false, 1, T0 + 10000);
	assert_true(num(p, "position") == 21.4 && num(p, "server_time") == T0 + 10000);
	assert_true(synced_at(x, a, T0 + 9000, T0 + 10000) == T0 + 9000);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_new_and_defaults),
		T(test_no_deadline_without_pending_work),
		T(test_join_order_and_roles),
		T(test_join_user_pointer),
		T(test_welcome_first_member),
		T(test_welcome_later_member),
		T(test_member_joined_to_others_only),
		T(test_guest_naming),
		T(test_bad_names),
		T(test_bad_member_ids),
		T(test_max_members),
		T(test_host_leaves_longest_present_elected),
		T(test_heir_is_longest_present_not_latest_host),
		T(test_member_leaves),
		T(test_host_leaves_last),
		T(test_sync_forbidden_from_member),
		T(test_sync_relayed_exact),
		T(test_sync_at_window),
		T(test_sync_reply_only_with_id),
		T(test_sync_bad_values_by_hand),
		T(test_chat_without_id),
		T(test_chat_with_id),
		T(test_history_splices_relayed_bytes),
		T(test_history_bounds),
		T(test_history_default_is_50),
		T(test_history_zero),
		T(test_reaction_relay),
		T(test_text_bad_values_by_hand),
		T(test_budget_shared_by_members),
		T(test_budget_after_payload_checks),
		T(test_join_budget),
		T(test_budget_zero_is_unlimited),
		T(test_time_not_a_party_message),
		T(test_media_relayed_and_welcomed),
		T(test_media_forbidden_and_hostile),
		T(test_transfer_forbidden),
		T(test_transfer_not_found),
		T(test_transfer_to_self),
		T(test_transfer_success),
		T(test_member_only_first_joiner_no_host),
		T(test_host_capable_joiner_takes_host),
		T(test_host_leaves_only_member_only_left),
		T(test_heir_skips_member_only),
		T(test_transfer_to_member_only_forbidden),
		T(test_join_is_host_capable),
		T(test_unknown_types),
		T(test_frame_refcounts),
		T(test_free_with_members_and_history),
		T(test_lead_member_rtt),
		T(test_lead_welcome_lead_ms),
		T(test_lead_resume_pause_seek_speed),
		T(test_lead_reply_to_host),
		T(test_lead_pause_never_jumps_back),
		T(test_lead_pending_replaced),
		T(test_lead_quick_commands_either_path),
		T(test_lead_host_upload_allowance),
		T(test_lead_max_zero_is_v1),
		cmocka_unit_test(test_outbox_clear_resets),
	};

	return cmocka_run_group_tests_name("party", tests, NULL, NULL);
}
