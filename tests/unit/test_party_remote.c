/* tests/unit/test_party_remote.c - what another node's party decided, made
 * this party's own (rv_party_apply_remote, cluster mode): a relayed sync is
 * the state a later joiner is welcomed with, a relayed chat joins the
 * history, and the frames' references are kept right (ASan, valgrind). */
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_relayed_sync_is_what_joiners_get),
		cmocka_unit_test(a_relayed_chat_joins_the_history),
		cmocka_unit_test(the_history_stays_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
