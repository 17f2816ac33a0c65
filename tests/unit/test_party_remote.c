/* tests/unit/test_party_remote.c - what another node's party decided, made
 * this party's own (rv_party_apply_remote, cluster mode): a relayed sync is
 * the state a later joiner is welcomed with, a relayed chat joins the
 * history, and the frames' references are kept right (ASan, valgrind). */
#include "unit.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "revenge/error.h"
#include "revenge/party.h"
#include "revenge/proto.h"

#define T0 1700000000000.0

/* The payload of the welcome in ob (the only RV_TO_ONE action to m);
 * the caller decrefs the returned root. */
static json_t *welcome(struct rv_outbox *ob, const struct rv_member *m, json_t **root)
{
	for (unsigned i = 0; i < ob->n; i++) {
		struct rv_frame *f = ob->items[i].frame;

		if (ob->items[i].member == m && f->msg_type == RV_MSG_WELCOME) {
			*root = json_loadb((const char *)rv_frame_data(f), f->len, 0, NULL);
			assert_non_null(*root);
			return json_object_get(*root, "payload");
		}
	}
	fail_msg("no welcome for %s", m->id);
	return NULL;
}

static void a_relayed_sync_is_what_joiners_get(void **state)
{
	struct rv_party *p = rv_party_new("night", NULL);
	struct rv_outbox ob;
	struct rv_member *alice, *bob;
	struct rv_playback st = { .position = 754.25, .playing = true, .speed = 1.5,
				  .server_time = T0 + 50 };
	json_t *root, *w, *s;

	rv_outbox_init(&ob);
	assert_int_equal(rv_party_join(p, "alice", "Alice", NULL, T0, &alice, &ob), 0);
	rv_outbox_clear(&ob);
	rv_party_apply_remote(p, &st, NULL, T0 + 10);
	assert_true(rv_party_state(p)->position == 754.25);
	assert_true(rv_party_state(p)->server_time == T0 + 50);
	assert_int_equal(rv_party_join(p, "bob", "Bob", NULL, T0 + 20, &bob, &ob), 0);
	w = welcome(&ob, bob, &root);
	s = json_object_get(w, "state");
	assert_true(json_real_value(json_object_get(s, "position")) == 754.25);
	assert_true(json_is_true(json_object_get(s, "playing")));
	assert_true(json_number_value(json_object_get(s, "speed")) == 1.5);
	assert_true(json_number_value(json_object_get(s, "server_time")) == T0 + 50);
	/* nothing was sent to anyone by the apply itself */
	json_decref(root);
	rv_outbox_clear(&ob);
	rv_party_free(p);
}

static void a_relayed_chat_joins_the_history(void **state)
{
	struct rv_party *p = rv_party_new("night", NULL);
	struct rv_outbox ob;
	struct rv_member *alice, *bob;
	struct rv_frame *f = rv_proto_chat_frame("from afar", 9, "Zed", "m1-0000abcd", T0, NULL);
	json_t *root, *h;

	assert_non_null(f);
	rv_outbox_init(&ob);
	assert_int_equal(rv_party_join(p, "alice", "Alice", NULL, T0, &alice, &ob), 0);
	rv_outbox_clear(&ob);
	rv_party_apply_remote(p, NULL, f, T0 + 1);
	rv_party_apply_remote(p, NULL, NULL, T0 + 2);        /* nothing */
	/* the party holds its own reference: the caller's may go at once */
	rv_frame_unref(f);
	assert_int_equal(rv_party_history_len(p), 1);
	assert_int_equal(rv_party_join(p, "bob", "Bob", NULL, T0 + 3, &bob, &ob), 0);
	h = json_object_get(welcome(&ob, bob, &root), "history");
	assert_int_equal(json_array_size(h), 1);
	assert_string_equal(json_string_value(json_object_get(
		json_object_get(json_array_get(h, 0), "payload"), "text")), "from afar");
	assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "from")),
			    "m1-0000abcd");
	json_decref(root);
	rv_outbox_clear(&ob);
	rv_party_free(p);
}

static void the_history_stays_capped(void **state)
{
	struct rv_party_config cfg = { .history_max = 3 };
	struct rv_party *p = rv_party_new("night", &cfg);

	for (int i = 0; i < 10; i++) {
		struct rv_frame *f = rv_proto_chat_frame("x", 1, "Zed", "m1-0000abcd", T0 + i, NULL);

		rv_party_apply_remote(p, NULL, f, T0 + i);
		rv_frame_unref(f);
	}
	assert_int_equal(rv_party_history_len(p), 3);
	rv_party_free(p);
}

/* The number of actions of type t in ob, and whether any targets m alone. */
static unsigned count(const struct rv_outbox *ob, enum rv_msg_type t)
{
	unsigned n = 0;

	for (unsigned i = 0; i < ob->n; i++)
		n += ob->items[i].frame && ob->items[i].frame->msg_type == t;
	return n;
}

static bool to_one(const struct rv_outbox *ob, const struct rv_member *m)
{
	for (unsigned i = 0; i < ob->n; i++)
		if (ob->items[i].target == RV_TO_ONE && ob->items[i].member == m)
			return true;
	return false;
}

static void remote_members_are_listed_never_served(void **state)
{
	struct rv_party *p = rv_party_new("night", NULL);
	struct rv_outbox ob;
	struct rv_member *ann, *bob, *x;
	json_t *root, *w;
	int dummy;

	(void)state;
	rv_outbox_init(&ob);
	/* a remote member first: the party starts, nobody to tell */
	assert_int_equal(rv_party_join_remote(p, "m1-aa", "Ann", true, T0, &ann, &ob), 0);
	assert_true(ann->remote && !ann->user);
	assert_int_equal(ob.n, 0);
	assert_null(rv_party_host(p));
	/* bad input is refused, the party unchanged */
	assert_int_equal(rv_party_join_remote(p, "m1-aa", "Again", true, T0, &x, &ob), RV_EINVAL);
	assert_int_equal(rv_party_join_remote(p, "", "Nobody", true, T0, &x, &ob), RV_EINVAL);
	assert_int_equal(rv_party_join_remote(p, "m2-aa", "", true, T0, &x, &ob), RV_EINVAL);
	assert_int_equal(rv_party_size(p), 1);
	assert_int_equal(rv_party_set_host(p, ann, T0, &ob), 0);
	/* a local joiner: Ann is host already, so Bob is not; he sees her */
	assert_int_equal(rv_party_join(p, "m1-bb", "Bob", &dummy, T0 + 1, &bob, &ob), 0);
	assert_true(rv_party_host(p) == ann);
	w = welcome(&ob, bob, &root);
	assert_string_equal(json_string_value(json_object_get(w, "host_id")), "m1-aa");
	assert_string_equal(json_string_value(json_object_get(w, "role")), "member");
	assert_int_equal(json_array_size(json_object_get(w, "members")), 2);
	json_decref(root);
	rv_outbox_clear(&ob);
	/* another remote joiner: member_joined for Bob, no welcome anywhere */
	assert_int_equal(rv_party_join_remote(p, "m2-aa", "Cy", false, T0 + 2, &x, &ob), 0);
	assert_int_equal(count(&ob, RV_MSG_MEMBER_JOINED), 1);
	assert_int_equal(count(&ob, RV_MSG_WELCOME), 0);
	assert_false(to_one(&ob, x));
	rv_outbox_clear(&ob);
	rv_party_free(p);
}

static void the_clusters_host_rules(void **state)
{
	struct rv_party *p = rv_party_new("night", NULL);
	struct rv_outbox ob;
	struct rv_member *ann, *bob, *cy;
	struct rv_msg sync = { .type = RV_MSG_SYNC,
			       .u.sync = { .position = 5, .playing = true, .speed = 1 } };
	int dummy;

	(void)state;
	rv_outbox_init(&ob);
	assert_int_equal(rv_party_join(p, "m1-bb", "Bob", &dummy, T0, &bob, &ob), 0);
	assert_true(rv_party_host(p) == bob);   /* alone: the local election */
	assert_int_equal(rv_party_join_remote(p, "m1-aa", "Ann", true, T0 + 1, &ann, &ob), 0);
	assert_int_equal(rv_party_join_remote(p, "m2-aa", "Cy", false, T0 + 1, &cy, &ob), 0);
	rv_outbox_clear(&ob);
	/* the cluster elected Ann (she joined first elsewhere) */
	assert_int_equal(rv_party_set_host(p, ann, T0 + 2, &ob), 0);
	assert_int_equal(count(&ob, RV_MSG_HOST_CHANGED), 1);
	rv_outbox_clear(&ob);
	/* the same again: nothing */
	assert_int_equal(rv_party_set_host(p, ann, T0 + 2, &ob), 0);
	assert_int_equal(ob.n, 0);
	/* a member-only member cannot be made host */
	assert_int_equal(rv_party_set_host(p, cy, T0 + 2, &ob), RV_EINVAL);
	assert_true(rv_party_host(p) == ann);
	/* Bob, here, is no longer host: his sync is refused */
	rv_party_handle(p, bob, &sync, T0 + 3, &ob);
	assert_int_equal(ob.error, RV_ERR_FORBIDDEN);
	rv_outbox_clear(&ob);
	/* no host at all (none left who may) */
	assert_int_equal(rv_party_set_host(p, NULL, T0 + 4, &ob), 0);
	assert_null(rv_party_host(p));
	assert_int_equal(count(&ob, RV_MSG_HOST_CHANGED), 1);
	rv_outbox_clear(&ob);
	rv_party_free(p);
}

static void a_remote_host_leaving(void **state)
{
	struct rv_party *p = rv_party_new("night", NULL);
	struct rv_outbox ob;
	struct rv_member *ann, *bob;
	int dummy;

	(void)state;
	rv_outbox_init(&ob);
	assert_int_equal(rv_party_join_remote(p, "m1-aa", "Ann", true, T0, &ann, &ob), 0);
	assert_int_equal(rv_party_set_host(p, ann, T0, &ob), 0);
	assert_int_equal(rv_party_join(p, "m1-bb", "Bob", &dummy, T0 + 1, &bob, &ob), 0);
	rv_outbox_clear(&ob);
	/* her node died: she leaves like anyone, Bob (longest present) is host */
	rv_party_leave(p, ann, T0 + 2, &ob);
	assert_true(rv_party_host(p) == bob);
	assert_int_equal(count(&ob, RV_MSG_MEMBER_LEFT), 1);
	assert_int_equal(count(&ob, RV_MSG_HOST_CHANGED), 1);
	assert_int_equal(rv_party_size(p), 1);
	rv_outbox_clear(&ob);
	rv_party_free(p);
}

/* Cluster mode: a remote member's drift, as its own node measured it,
 * joins the host's report here; what no node sends is refused. */
static void a_remote_members_drift_reaches_the_host(void **state)
{
	struct rv_party_config cfg = { .history_max = 5, .drift_interval_ms = 1000,
				       .cluster = true };
	struct rv_party *p = rv_party_new("night", &cfg);
	struct rv_outbox ob;
	struct rv_member *ann, *bob;
	json_t *root = NULL, *pl, *e;

	rv_outbox_init(&ob);
	assert_int_equal(rv_party_join(p, "ann", "Ann", NULL, T0, &ann, &ob), 0);
	assert_int_equal(rv_party_join_remote(p, "bob", "Bob", true, T0, &bob, &ob), 0);
	rv_outbox_clear(&ob);
	assert_int_equal(rv_party_remote_drift(p, ann, false, 5, NAN, T0), RV_EINVAL);
	assert_int_equal(rv_party_remote_drift(p, bob, false, NAN, NAN, T0), RV_EINVAL);
	assert_int_equal(rv_party_remote_drift(p, bob, false, 5, -1, T0), RV_EINVAL);
	assert_int_equal(rv_party_remote_drift(p, bob, false, INFINITY, NAN, T0), RV_EINVAL);
	assert_true(isinf(rv_party_next_deadline(p)));
	assert_int_equal(rv_party_remote_drift(p, bob, false, 40.5, 2.5, T0 + 10), 0);
	assert_true(rv_party_next_deadline(p) <= T0 + 10);
	rv_party_tick(p, T0 + 10, &ob);
	assert_int_equal(ob.n, 1);
	assert_ptr_equal(ob.items[0].member, ann);
	assert_int_equal(ob.items[0].frame->msg_type, RV_MSG_DRIFT);
	root = json_loadb((const char *)rv_frame_data(ob.items[0].frame), ob.items[0].frame->len,
			  0, NULL);
	pl = json_object_get(root, "payload");
	assert_int_equal(json_integer_value(json_object_get(pl, "count")), 1);
	e = json_array_get(json_object_get(pl, "members"), 0);
	assert_string_equal(json_string_value(json_object_get(e, "id")), "bob");
	assert_true(json_number_value(json_object_get(e, "drift_ms")) == 40.5);
	assert_true(json_number_value(json_object_get(e, "clock_error_ms")) == 2.5);
	json_decref(root);
	rv_outbox_clear(&ob);
	/* buffering: drift_ms null; the leave takes the entry away */
	assert_int_equal(rv_party_remote_drift(p, bob, true, NAN, NAN, T0 + 20), 0);
	rv_party_leave(p, bob, T0 + 30, &ob);
	rv_outbox_clear(&ob);
	rv_party_tick(p, T0 + 1010, &ob);
	assert_int_equal(ob.n, 1);
	root = json_loadb((const char *)rv_frame_data(ob.items[0].frame), ob.items[0].frame->len,
			  0, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(root, "payload"),
							    "count")), 0);
	json_decref(root);
	rv_outbox_clear(&ob);
	rv_party_free(p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(remote_members_are_listed_never_served),
		cmocka_unit_test(a_remote_members_drift_reaches_the_host),
		cmocka_unit_test(the_clusters_host_rules),
		cmocka_unit_test(a_remote_host_leaving),
		cmocka_unit_test(a_relayed_sync_is_what_joiners_get),
		cmocka_unit_test(a_relayed_chat_joins_the_history),
		cmocka_unit_test(the_history_stays_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
