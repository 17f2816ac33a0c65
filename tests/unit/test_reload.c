/* tests/unit/test_reload.c - what a SIGHUP's reload takes into a running
 * server's configuration and what it leaves for a restart (lib/reload.c). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/server.h"
#include "reload.h"

struct logbuf {
	char *text;
	size_t len;
	FILE *f;
	struct rv_log log;
};

static void log_open(struct logbuf *b)
{
	memset(b, 0, sizeof(*b));
	b->f = open_memstream(&b->text, &b->len);
	assert_non_null(b->f);
	b->log = (struct rv_log){ .level = RV_LOG_DEBUG, .out = b->f, .prog = "t" };
}

static const char *log_text(struct logbuf *b)
{
	fflush(b->f);
	return b->text;
}

static void log_close(struct logbuf *b)
{
	fclose(b->f);
	free(b->text);
}

static void nothing_changed_logs_nothing(void **state)
{
	struct rv_server_config live, next;
	struct logbuf b;

	rv_server_config_defaults(&live);
	next = live;
	log_open(&b);
	assert_int_equal(rv__reload_apply(&live, &next, &b.log), 0);
	assert_int_equal(strlen(log_text(&b)), 0);
	log_close(&b);
}

static void limits_and_party_settings_change_live(void **state)
{
	struct rv_server_config live, next;
	struct logbuf b;

	rv_server_config_defaults(&live);
	next = live;
	next.max_parties = 3;
	next.queue_max = 64;
	next.history = 7;
	next.lead_max_ms = 500;
	next.origins[0] = "a.example";
	next.n_origins = 1;
	log_open(&b);
	assert_int_equal(rv__reload_apply(&live, &next, &b.log), 5);
	assert_int_equal(live.max_parties, 3);
	assert_int_equal(live.queue_max, 64);
	assert_int_equal(live.history, 7);
	assert_near(live.lead_max_ms, 500, 1e-9);
	assert_int_equal(live.n_origins, 1);
	assert_string_equal(live.origins[0], "a.example");
	assert_non_null(strstr(log_text(&b), "config_changed max-parties: 10000 -> 3 (now)"));
	assert_non_null(strstr(log_text(&b),
				"config_changed history: 50 -> 7 (parties made from now on)"));
	assert_null(strstr(log_text(&b), "restart"));
	log_close(&b);
}

static void the_rest_waits_for_a_restart_and_stays(void **state)
{
	struct rv_server_config live, next;
	struct logbuf b;

	rv_server_config_defaults(&live);
	live.db_path = "a.db";
	next = live;
	next.db_path = "b.db";
	next.port = 9;
	next.rate_limit = 0;
	next.redis_url = "redis://x";
	next.ladder.p[0].kbps = 1;
	log_open(&b);
	assert_int_equal(rv__reload_apply(&live, &next, &b.log), 0);
	assert_string_equal(live.db_path, "a.db");
	assert_int_equal(live.port, 8080);
	assert_int_equal(live.rate_limit, 50);
	assert_null(live.redis_url);
	for (const char *const *k = (const char *const[]){ "db", "port", "rate-limit", "redis",
							 "ladder", NULL }; *k; k++) {
		char want[80];

		snprintf(want, sizeof(want), "config_restart_needed %s: changed", *k);
		assert_non_null(strstr(log_text(&b), want));
	}
	log_close(&b);
}

static void tls_paths_reload_but_tls_on_or_off_needs_a_restart(void **state)
{
	struct rv_server_config live, next;
	struct logbuf b;

	rv_server_config_defaults(&live);
	live.tls_cert = "a.crt";
	live.tls_key = "a.key";
	next = live;
	next.tls_cert = "b.crt";
	next.tls_key = "b.key";
	log_open(&b);
	assert_int_equal(rv__reload_apply(&live, &next, &b.log), 1);
	assert_string_equal(live.tls_cert, "b.crt");
	assert_string_equal(live.tls_key, "b.key");
	next.tls_cert = next.tls_key = NULL;
	assert_int_equal(rv__reload_apply(&live, &next, &b.log), 0);
	assert_string_equal(live.tls_cert, "b.crt");
	assert_non_null(strstr(log_text(&b), "config_restart_needed tls-cert"));
	log_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nothing_changed_logs_nothing),
		cmocka_unit_test(limits_and_party_settings_change_live),
		cmocka_unit_test(the_rest_waits_for_a_restart_and_stays),
		cmocka_unit_test(tls_paths_reload_but_tls_on_or_off_needs_a_restart),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
