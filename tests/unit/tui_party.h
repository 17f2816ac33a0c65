/* tests/unit/tui_party.h - the party both revenge-party tests start from
 * (test_tui_model.c, test_tui_command.c): a model for bob before any
 * message, and the welcome and time reply that put it in the party. Every
 * time is made up, so nothing here waits or reads a clock.
 */
#ifndef REVENGE_TEST_TUI_PARTY_H
#define REVENGE_TEST_TUI_PARTY_H

#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "model.h"

#define S0 1700000000000.0          /* server time of the party's state */
#define LOCAL (S0 - 5000.0)         /* the client's clock is 5 s behind */

static inline int setup(void **state)
{
	struct tm_model *m = calloc(1, sizeof(*m));

	if (!m)
		return -1;
	tm_init(m, "movie-night", "bob", 0);
	*state = m;
	return 0;
}

static inline int teardown(void **state)
{
	free(*state);
	return 0;
}

static inline int apply(struct tm_model *m, const char *json, double now)
{
	return tm_apply(m, json, strlen(json), now);
}

/* A welcome for participant self with history entries hist (JSON array
 * body, may be empty). alice (p1) hosts, bob (p2) and carol (p3) watch. */
static inline int welcome(struct tm_model *m, const char *self, const char *hist, double now)
{
	char buf[4096];

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"%s\","
		 "\"party_id\":\"movie-night\",\"role\":\"member\",\"host_id\":\"p1\","
		 "\"members\":[{\"id\":\"p1\",\"name\":\"alice\",\"role\":\"host\"},"
		 "{\"id\":\"p2\",\"name\":\"bob\",\"role\":\"member\"},"
		 "{\"id\":\"p3\",\"name\":\"carol\",\"role\":\"member\"}],"
		 "\"state\":{\"position\":10,\"playing\":true,\"speed\":2,"
		 "\"server_time\":%.3f},\"history\":[%s]},\"ts\":%.3f}",
		 self, S0, hist, S0 + 5);
	return apply(m, buf, now);
}

/* One time exchange that leaves the estimator at offset +5000, rtt 20. */
static inline void feed_offset(struct tm_model *m)
{
	char buf[256];

	snprintf(buf, sizeof(buf),
		 "{\"type\":\"time\",\"payload\":{\"client_time\":%.3f,"
		 "\"server_receive_time\":%.3f,\"server_time\":%.3f},\"ts\":%.3f}",
		 LOCAL - 100, LOCAL - 100 + 5010, LOCAL - 100 + 5011, LOCAL - 100 + 5011);
	assert_int_equal(apply(m, buf, LOCAL - 100 + 21), 0);
}

#endif
