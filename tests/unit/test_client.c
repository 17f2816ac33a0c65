/* tests/unit/test_client.c - the client adapter's checks that need no
 * server (lib/client.c): which tokens may be sent, and that a token which
 * cannot be sent whole fails rv_client_connect at once. What goes over the
 * wire is checked in tests/cli/token.bats. */
#include "unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include <ev.h>

#include "revenge/client.h"
#include "revenge/error.h"

static void token_alphabet(void **state)
{
	char max[RV_CLIENT_TOKEN_MAX + 2];

	assert_true(rv_client_token_valid("a"));
	assert_true(rv_client_token_valid("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.s-_9Zz"));
	assert_false(rv_client_token_valid(NULL));
	assert_false(rv_client_token_valid(""));
	/* whatever could end a header line or a list entry, or pad base64 */
	static const char *const bad[] = {
		"a b", "a\r\nX-Evil: 1", "a\n", "a\tb", "a,b", "a;b", "a=", "a/b", "a+b",
		"a:b", "a\"b", "\xc3\xa9", "a\x7f",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(rv_client_token_valid(bad[i]));
	memset(max, 'A', sizeof(max));
	max[RV_CLIENT_TOKEN_MAX] = 0;
	assert_true(rv_client_token_valid(max));
	max[RV_CLIENT_TOKEN_MAX] = 'A';
	max[RV_CLIENT_TOKEN_MAX + 1] = 0;
	assert_false(rv_client_token_valid(max));
}

static int called;

static void on_close(struct rv_conn *c, int code, int status, const char *reason, void *user)
{
	called++;
}

/* Nothing listens on port 1: only a synchronous refusal is looked at. */
static void connect_refuses_what_cannot_be_sent(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct rv_client_config cfg = { .ev_loop = loop };
	struct rv_conn_callbacks cb = { .on_close = on_close };
	struct rv_conn_options o = { 0 };
	char token[RV_CLIENT_TOKEN_MAX + 1], url[2000];
	struct rv_client *cl;
	int err = 0;

	cl = rv_client_new(&cfg, &err);
	assert_non_null(cl);
	o.token = "a\r\nX-Evil: 1";
	assert_null(rv_client_connect(cl, "ws://127.0.0.1:1/ws/party/p", &o, &cb, NULL, &err));
	assert_int_equal(err, RV_EINVAL);
	o.token = "";
	o.token_in_subprotocol = true;
	err = 0;
	assert_null(rv_client_connect(cl, "ws://127.0.0.1:1/ws/party/p", &o, &cb, NULL, &err));
	assert_int_equal(err, RV_EINVAL);

	/* the longest token fits a short path, in either place, but not with
	 * a path of 1900 bytes: refused, not cut short */
	memset(token, 'A', RV_CLIENT_TOKEN_MAX);
	token[RV_CLIENT_TOKEN_MAX] = 0;
	snprintf(url, sizeof(url), "ws://127.0.0.1:1/%01900d", 0);
	o.token = token;
	for (int sub = 0, opened = 0; sub < 2; sub++) {
		struct rv_conn *c;

		o.token_in_subprotocol = sub;
		err = 0;
		assert_null(rv_client_connect(cl, url, &o, &cb, NULL, &err));
		assert_int_equal(err, RV_EINVAL);
		/* accepted: it fails later, or at once with RV_EIO (nothing
		 * listens), never RV_EINVAL */
		c = rv_client_connect(cl, "ws://127.0.0.1:1/ws/party/p", &o, &cb, NULL, &err);
		if (!c) {
			assert_int_equal(err, RV_EIO);
			continue;
		}
		opened++;
		rv_conn_close(c, 1000, "");
		while (called < opened)
			ev_run(loop, EVRUN_ONCE);
	}
	rv_client_free(cl);
	ev_run(loop, EVRUN_NOWAIT);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(token_alphabet),
		cmocka_unit_test(connect_refuses_what_cannot_be_sent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
