/* tests/unit/test_tui_command.c - what a line typed into revenge-party
 * means (tui/revenge-party/command.c): typed lines in, commands out;
 * commands and the model in, the JSON to send out; and the clock text.
 * Every time is made up, so nothing here waits or reads a clock. */
#include "tui_party.h"

#include <math.h>

#include <jansson.h>

#include "command.h"

/* ---- typed commands ----------------------------------------------------- */

static void parse_ok(const char *line, struct tm_cmd *cmd)
{
	char err[200];

	if (tm_parse_command(line, cmd, err, sizeof(err)) != 0)
		fail_msg("\"%s\" rejected: %s", line, err);
	assert_string_equal(err, "");
}

static void parse_bad(const char *line, const char *want)
{
	struct tm_cmd cmd;
	char err[200];

	if (tm_parse_command(line, &cmd, err, sizeof(err)) != -1)
		fail_msg("\"%s\" accepted", line);
	assert_int_equal(cmd.kind, TM_CMD_NONE);
	if (!strstr(err, want))
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", line, err, want);
}

static void test_parse_commands(void **state)
{
	struct tm_cmd cmd;

	parse_ok("hello there", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_CHAT);
	assert_string_equal(cmd.text, "hello there");
	parse_ok("//seek is a command\n", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_CHAT);
	assert_string_equal(cmd.text, "/seek is a command");
	parse_ok("  indented  ", &cmd);
	assert_string_equal(cmd.text, "  indented  ");
	parse_ok("", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_NONE);
	parse_ok("\n", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_NONE);

	parse_ok("/play", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_PLAY);
	parse_ok("/pause  ", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_PAUSE);
	parse_ok("/members", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_MEMBERS);
	parse_ok("/help", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_HELP);
	parse_ok("/quit\r\n", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_QUIT);

	parse_ok("/seek 1:23:45", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_SEEK);
	assert_false(cmd.relative);
	assert_near(cmd.value, 5025, 1e-9);
	parse_ok("/seek 23:45", &cmd);
	assert_near(cmd.value, 1425, 1e-9);
	parse_ok("/seek 45", &cmd);
	assert_near(cmd.value, 45, 1e-9);
	parse_ok("/seek   +30 ", &cmd);
	assert_true(cmd.relative);
	assert_near(cmd.value, 30, 1e-9);
	parse_ok("/seek -10", &cmd);
	assert_true(cmd.relative);
	assert_near(cmd.value, -10, 1e-9);
	parse_ok("/seek -1:30", &cmd);
	assert_near(cmd.value, -90, 1e-9);
	parse_ok("/seek 0", &cmd);
	assert_false(cmd.relative);
	assert_true(cmd.value == 0);
	parse_ok("/seek 12.5", &cmd);
	assert_near(cmd.value, 12.5, 1e-9);

	parse_ok("/speed 1.25", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_SPEED);
	assert_near(cmd.value, 1.25, 1e-12);
	parse_ok("/speed 4", &cmd);
	assert_near(cmd.value, 4, 1e-12);
	parse_ok("/speed .25", &cmd);
	assert_near(cmd.value, 0.25, 1e-12);
	parse_ok("/speed 2x", &cmd);
	assert_near(cmd.value, 2, 1e-12);

	parse_ok("/react \xf0\x9f\x8e\x89", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_REACT);
	assert_string_equal(cmd.text, "\xf0\x9f\x8e\x89");
	parse_ok("/react 0123456789abcdef", &cmd);     /* 16 bytes */
	assert_string_equal(cmd.text, "0123456789abcdef");

	parse_ok("/host carol", &cmd);
	assert_int_equal(cmd.kind, TM_CMD_HOST);
	assert_string_equal(cmd.text, "carol");
	parse_ok("/host  Mary Ann ", &cmd);
	assert_string_equal(cmd.text, "Mary Ann");

	parse_bad("/seek", "usage: /seek");
	parse_bad("/seek   ", "usage: /seek");
	parse_bad("/seek x", "bad time");
	parse_bad("/seek 1:99", "bad time");
	parse_bad("/seek 1:2", "bad time");
	parse_bad("/seek 1:2:3:4", "bad time");
	parse_bad("/seek +", "bad time");
	parse_bad("/seek --5", "bad time");
	parse_bad("/seek 1e3", "bad time");
	parse_bad("/speed 5", "between 0.25 and 4");
	parse_bad("/speed 0.1", "between 0.25 and 4");
	parse_bad("/speed abc", "bad speed");
	parse_bad("/speed -1", "bad speed");
	parse_bad("/speed 1,5", "bad speed");
	parse_bad("/speed nan", "bad speed");
	parse_bad("/speed 5.", "bad speed");
	parse_bad("/speed x", "bad speed");
	parse_bad("/speed 12345678901234567890123456789012345x", "bad speed");
	parse_bad("/speed", "usage: /speed");
	parse_bad("/react", "usage: /react");
	parse_bad("/react 0123456789abcdefg", "too long (17 bytes, max 16)");
	parse_bad("/react \xf0\x9f\x8e\x89\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89\xf0\x9f\x8e\x89!",
		  "too long");
	parse_bad("/react \xff", "UTF-8");
	parse_bad("/host", "usage: /host");
	parse_bad("/dance", "unknown command /dance");
	parse_bad("/", "unknown command");
	parse_bad("/PLAY", "unknown command");
	parse_bad("/play now", "takes no argument");
	parse_bad("/quit please", "takes no argument");
	parse_bad("   ", "empty");
	parse_bad("\t", "empty");
	parse_bad("caf\xc3", "UTF-8");
	{
		char *big = malloc(RV_CHAT_MAX + 2);
		struct tm_cmd c;
		char err[200];

		assert_non_null(big);
		memset(big, 'a', RV_CHAT_MAX);
		big[RV_CHAT_MAX] = '\0';
		assert_int_equal(tm_parse_command(big, &c, err, sizeof(err)), 0);
		assert_int_equal(strlen(c.text), RV_CHAT_MAX);
		big[RV_CHAT_MAX] = 'a';
		big[RV_CHAT_MAX + 1] = '\0';
		parse_bad(big, "too long (2001 bytes, max 2000)");
		big[0] = '/';
		parse_bad(big, "unknown command");
		memcpy(big, "/seek ", 6);
		parse_bad(big, "bad time");
		memcpy(big, "/host ", 6);
		parse_bad(big, "no member named");
		big = realloc(big, RV_CHAT_MAX + 20);
		assert_non_null(big);
		memset(big + 6, 'a', RV_CHAT_MAX + 10);
		big[RV_CHAT_MAX + 16] = '\0';
		parse_bad(big, "argument too long");
		free(big);
	}
	/* A tiny or absent error buffer is fine. */
	{
		char err[4];

		assert_int_equal(tm_parse_command("/dance", &cmd, err, sizeof(err)), -1);
		assert_string_equal(err, "unk");
		assert_int_equal(tm_parse_command("/dance", &cmd, NULL, 0), -1);
		assert_int_equal(tm_parse_command(NULL, &cmd, NULL, 0), -1);
	}
}

static void test_command_names(void **state)
{
	size_t n = 0;

	for (; tm_command_names[n]; n++) {
		struct tm_cmd cmd;
		char err[200];
		int rc = tm_parse_command(tm_command_names[n], &cmd, err, sizeof(err));

		/* Every name is a command: it parses, or asks for its argument. */
		assert_true(rc == 0 || strstr(err, "usage:"));
	}
	assert_int_equal(n, 10);
	assert_string_equal(tm_command_names[0], "/play");
	assert_string_equal(tm_command_names[9], "/quit");
}

static void test_clock_text(void **state)
{
	char buf[32];

	assert_near(tm_parse_clock("1:23:45"), 5025, 1e-9);
	assert_near(tm_parse_clock("23:45"), 1425, 1e-9);
	assert_near(tm_parse_clock("45"), 45, 1e-9);
	assert_near(tm_parse_clock("0:05"), 5, 1e-9);
	assert_near(tm_parse_clock("90:00"), 5400, 1e-9);
	assert_near(tm_parse_clock("125"), 125, 1e-9);
	assert_near(tm_parse_clock("1:00:00.5"), 3600.5, 1e-9);
	assert_near(tm_parse_clock("0"), 0, 1e-9);
	assert_true(tm_parse_clock("") == -1);
	assert_true(tm_parse_clock(NULL) == -1);
	assert_true(tm_parse_clock("x") == -1);
	assert_true(tm_parse_clock("1:99") == -1);
	assert_true(tm_parse_clock("1:60") == -1);
	assert_true(tm_parse_clock("1:5") == -1);
	assert_true(tm_parse_clock("1:005") == -1);
	assert_true(tm_parse_clock("1:2:3:4") == -1);
	assert_true(tm_parse_clock(":30") == -1);
	assert_true(tm_parse_clock("30:") == -1);
	assert_true(tm_parse_clock("-5") == -1);
	assert_true(tm_parse_clock(" 5") == -1);
	assert_true(tm_parse_clock("5 ") == -1);
	assert_true(tm_parse_clock("1.5:00") == -1);
	assert_true(tm_parse_clock("1.") == -1);
	assert_true(tm_parse_clock("1.x") == -1);
	assert_true(tm_parse_clock("1.1234567890") == -1);
	assert_true(tm_parse_clock("12345678901234567890") == -1);

	tm_format_clock(5025, buf, sizeof(buf));
	assert_string_equal(buf, "1:23:45");
	tm_format_clock(1425, buf, sizeof(buf));
	assert_string_equal(buf, "23:45");
	tm_format_clock(5, buf, sizeof(buf));
	assert_string_equal(buf, "0:05");
	tm_format_clock(5.999, buf, sizeof(buf));
	assert_string_equal(buf, "0:05");
	tm_format_clock(3599.9, buf, sizeof(buf));
	assert_string_equal(buf, "59:59");
	tm_format_clock(3600, buf, sizeof(buf));
	assert_string_equal(buf, "1:00:00");
	tm_format_clock(36000 + 61, buf, sizeof(buf));
	assert_string_equal(buf, "10:01:01");
	tm_format_clock(0, buf, sizeof(buf));
	assert_string_equal(buf, "0:00");
	tm_format_clock(-3, buf, sizeof(buf));
	assert_string_equal(buf, "0:00");
	tm_format_clock(NAN, buf, sizeof(buf));
	assert_string_equal(buf, "0:00");
	tm_format_clock(INFINITY, buf, sizeof(buf));
	assert_string_equal(buf, "99999:59:59");
	tm_format_clock(5025, buf, 4);
	assert_string_equal(buf, "1:2");
	tm_format_clock(5025, NULL, 0);
	/* Round trip. */
	for (double s = 0; s < 40000; s += 997) {
		tm_format_clock(s, buf, sizeof(buf));
		assert_near(tm_parse_clock(buf), s, 1e-9);
	}
}

/* A refused line's reason quotes what was typed, and main.c shows it as
 * a notice: bytes that are not UTF-8 must not reach the scrollback as
 * they are. Found by fuzz_tui. */
static void test_refusal_quoting_bad_bytes(void **state)
{
	struct tm_model *m = *state;
	static const struct { const char *line, *shown; } cases[] = {
		{ "/da\xffnce", "unknown command /da?nce (try /help)" },
		{ "/seek \xc3", "bad time \"?\" (try 1:23:45, 23:45, 45, +30 or -10)" },
		{ "/speed \x9b" "1", "bad speed \"?1\" (try 1.25)" },
		{ "/\xe2\x82\xac\xe2\x82", "unknown command /\xe2\x82\xac (try /help)" },
	};
	struct tm_cmd cmd;
	char err[300];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tm_line *l;

		assert_int_equal(tm_parse_command(cases[i].line, &cmd, err, sizeof(err)), -1);
		tm_notice(m, LOCAL, "%s", err);
		l = &m->lines[(m->first_line + m->n_lines - 1) % TM_LINES_MAX];
		assert_string_equal(l->text, cases[i].shown);
		assert_true(rv_utf8_valid(l->text, strlen(l->text)));
	}
}

/* The JSON a command produces, parsed back; NULL (and err) if none. */
static json_t *message(const struct tm_model *m, const char *line, double now,
		       char *err, size_t errlen)
{
	struct tm_cmd cmd;
	char *text;
	json_t *j;

	if (tm_parse_command(line, &cmd, err, errlen) != 0)
		fail_msg("\"%s\" rejected: %s", line, err);
	text = tm_command_message(m, &cmd, now, err, errlen);
	if (!text)
		return NULL;
	assert_string_equal(err, "");
	j = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(j);
	return j;
}

/* The sync a host line produces: its payload fields. */
static void sync_of(const struct tm_model *m, const char *line, double now,
		    double *pos, bool *playing, double *speed, double *at)
{
	char err[200];
	json_t *j = message(m, line, now, err, sizeof(err));
	const char *type, *id;
	int b;

	if (!j)
		fail_msg("\"%s\": no message: %s", line, err);
	if (json_unpack(j, "{s:s, s:{s:F, s:b, s:F, s:F !}, s:s !}", "type", &type,
			"payload", "position", pos, "playing", &b, "speed", speed,
			"at", at, "id", &id) != 0)
		fail_msg("\"%s\": unexpected shape", line);
	assert_string_equal(type, "sync");
	assert_true(id[0] != '\0');
	*playing = b;
	json_decref(j);
}

static void host_model(struct tm_model *m, double duration)
{
	tm_init(m, "movie-night", "alice", duration);
	assert_int_equal(welcome(m, "p1", "", LOCAL), 0);
	assert_true(tm_is_host(m));
	feed_offset(m);
}

static void test_host_commands(void **state)
{
	struct tm_model *m = *state;
	double pos, speed, at, now = LOCAL + 3000;   /* 16 s into playback at 2x */
	bool playing;
	char err[200];

	host_model(m, 0);

	sync_of(m, "/pause", now, &pos, &playing, &speed, &at);
	assert_near(pos, 16, 1e-6);
	assert_false(playing);
	assert_near(speed, 2, 1e-12);
	assert_near(at, S0 + 3000, 1e-6);             /* local + offset */

	sync_of(m, "/play", now, &pos, &playing, &speed, &at);
	assert_near(pos, 16, 1e-6);
	assert_true(playing);

	sync_of(m, "/seek 1:00", now, &pos, &playing, &speed, &at);
	assert_near(pos, 60, 1e-9);
	assert_true(playing);                          /* seeking keeps playing */
	sync_of(m, "/seek +30", now, &pos, &playing, &speed, &at);
	assert_near(pos, 46, 1e-6);
	sync_of(m, "/seek -10", now, &pos, &playing, &speed, &at);
	assert_near(pos, 6, 1e-6);
	sync_of(m, "/seek -1:00", now, &pos, &playing, &speed, &at);
	assert_true(pos == 0);                         /* clamped at 0 */
	sync_of(m, "/seek 99:00:00", now, &pos, &playing, &speed, &at);
	assert_near(pos, 356400, 1e-9);                /* no duration: no ceiling */

	sync_of(m, "/speed 1.5", now, &pos, &playing, &speed, &at);
	assert_near(pos, 16, 1e-6);                    /* speed keeps the position */
	assert_near(speed, 1.5, 1e-12);
	assert_true(playing);

	/* Toggle flips what the state says now. */
	{
		struct tm_cmd cmd = { .kind = TM_CMD_TOGGLE };
		char *text = tm_command_message(m, &cmd, now, err, sizeof(err));
		json_t *j;
		int b;
		const char *id;

		assert_non_null(text);
		j = json_loads(text, 0, NULL);
		free(text);
		assert_int_equal(json_unpack(j, "{s:{s:b}, s:s}", "payload", "playing", &b,
					     "id", &id), 0);
		assert_false(b);
		assert_string_equal(id, "pause");
		json_decref(j);
	}
	assert_int_equal(apply(m, "{\"type\":\"sync\",\"payload\":{\"position\":20,"
			       "\"playing\":false,\"speed\":1,\"server_time\":1}}", now), 0);
	{
		struct tm_cmd cmd = { .kind = TM_CMD_TOGGLE };
		char *text = tm_command_message(m, &cmd, now, err, sizeof(err));

		assert_non_null(text);
		assert_non_null(strstr(text, "\"playing\":true"));
		assert_non_null(strstr(text, "\"position\":20"));
		free(text);
	}

	/* Values a caller could build by hand are checked again. */
	{
		struct tm_cmd cmd = { .kind = TM_CMD_SPEED, .value = 9 };

		assert_null(tm_command_message(m, &cmd, now, err, sizeof(err)));
		assert_non_null(strstr(err, "between 0.25 and 4"));
		cmd.kind = TM_CMD_SEEK;
		cmd.value = INFINITY;
		assert_null(tm_command_message(m, &cmd, now, err, sizeof(err)));
		assert_string_not_equal(err, "");
	}
}

static void test_seek_clamped_to_duration(void **state)
{
	struct tm_model *m = *state;
	double pos, speed, at;
	bool playing;

	host_model(m, 100);
	sync_of(m, "/seek 2:00", LOCAL, &pos, &playing, &speed, &at);
	assert_near(pos, 100, 1e-9);
	sync_of(m, "/seek +500", LOCAL, &pos, &playing, &speed, &at);
	assert_near(pos, 100, 1e-9);
	sync_of(m, "/seek 1:39", LOCAL, &pos, &playing, &speed, &at);
	assert_near(pos, 99, 1e-9);
	/* Played past the end: a pause holds at the end. */
	sync_of(m, "/pause", LOCAL + 60000, &pos, &playing, &speed, &at);
	assert_near(pos, 100, 1e-9);
	assert_near(at, S0 + 60000, 1e-6);
}

/* A server state with a speed the contract forbids is held as it came,
 * but what the host sends back is within 0.25-4 (found by fuzz_tui). */
static void test_sync_speed_within_contract(void **state)
{
	struct tm_model *m = *state;
	double pos, speed, at;
	bool playing;

	host_model(m, 100);
	m->state.speed = 6;
	sync_of(m, "/seek 0:10", LOCAL, &pos, &playing, &speed, &at);
	assert_true(speed == RV_SPEED_MAX);
	m->state.speed = 0.01;
	sync_of(m, "/pause", LOCAL, &pos, &playing, &speed, &at);
	assert_true(speed == RV_SPEED_MIN);
}

static void test_host_transfer(void **state)
{
	struct tm_model *m = *state;
	char err[200];
	json_t *j;
	const char *type, *to;

	host_model(m, 0);
	j = message(m, "/host carol", LOCAL, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_unpack(j, "{s:s, s:{s:s !} !}", "type", &type,
				     "payload", "to", &to), 0);
	assert_string_equal(type, "transfer_host");
	assert_string_equal(to, "p3");
	json_decref(j);

	assert_null(message(m, "/host dave", LOCAL, err, sizeof(err)));
	assert_string_equal(err, "no member named dave");

	/* /start: the waiting room's forced start, with an id for its ack */
	j = message(m, "/start", LOCAL, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_unpack(j, "{s:s, s:s !}", "type", &type, "id", &to), 0);
	assert_string_equal(type, "start");
	json_decref(j);
	assert_null(message(m, "/host alice", LOCAL, err, sizeof(err)));
	assert_non_null(strstr(err, "already"));

	/* Two carols: the bare name is ambiguous, the shown one is not. */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":\"p4\","
			       "\"name\":\"carol\"}}", LOCAL), 0);
	assert_null(message(m, "/host carol", LOCAL, err, sizeof(err)));
	assert_string_equal(err, "more than one member is named carol: give the name the "
			    "member list shows, as carol (id)");
	j = message(m, "/host carol (p4)", LOCAL, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_unpack(j, "{s:s, s:{s:s !} !}", "type", &type,
				     "payload", "to", &to), 0);
	assert_string_equal(to, "p4");
	json_decref(j);
}

static void test_member_commands(void **state)
{
	struct tm_model *m = *state;
	static const struct { const char *line, *err; } denied[] = {
		{ "/play", "only the host (alice) can play" },
		{ "/pause", "only the host (alice) can pause" },
		{ "/seek 10", "only the host (alice) can seek" },
		{ "/seek +10", "only the host (alice) can seek" },
		{ "/speed 2", "only the host (alice) can change the speed" },
		{ "/host carol", "only the host (alice) can hand over" },
		{ "/host nobody", "only the host (alice) can hand over" },
		{ "/start", "only the host (alice) can start" },
	};
	char err[200];
	json_t *j;
	const char *type, *text;

	/* Before the welcome nobody is host. */
	assert_null(message(m, "/play", LOCAL, err, sizeof(err)));
	assert_string_equal(err, "not in the party yet");

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]); i++) {
		assert_null(message(m, denied[i].line, LOCAL, err, sizeof(err)));
		assert_string_equal(err, denied[i].err);
	}
	{
		struct tm_cmd cmd = { .kind = TM_CMD_TOGGLE };

		assert_null(tm_command_message(m, &cmd, LOCAL, err, sizeof(err)));
		assert_string_equal(err, "only the host (alice) can pause");
	}
	/* The host unknown (left, no host_changed yet). */
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"p1\","
			       "\"name\":\"alice\"}}", LOCAL), 0);
	assert_null(message(m, "/seek 1", LOCAL, err, sizeof(err)));
	assert_string_equal(err, "only the host can seek");

	/* Chat and reactions are for everyone; text is escaped properly. */
	j = message(m, "say \"hi\" \\o/ caf\xc3\xa9", LOCAL, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_unpack(j, "{s:s, s:{s:s !} !}", "type", &type,
				     "payload", "text", &text), 0);
	assert_string_equal(type, "chat");
	assert_string_equal(text, "say \"hi\" \\o/ caf\xc3\xa9");
	json_decref(j);
	j = message(m, "/react \xf0\x9f\x8e\x89", LOCAL, err, sizeof(err));
	assert_non_null(j);
	assert_int_equal(json_unpack(j, "{s:s, s:{s:s !} !}", "type", &type,
				     "payload", "emoji", &text), 0);
	assert_string_equal(type, "reaction");
	assert_string_equal(text, "\xf0\x9f\x8e\x89");
	json_decref(j);

	/* Local commands send nothing and report nothing. */
	static const char *const local[] = { "/members", "/help", "/quit", "" };
	for (size_t i = 0; i < sizeof(local) / sizeof(local[0]); i++) {
		strcpy(err, "junk");
		assert_null(message(m, local[i], LOCAL, err, sizeof(err)));
		assert_string_equal(err, "");
	}

	/* Hand-built commands with bad text are refused, not sent. */
	{
		struct tm_cmd cmd = { .kind = TM_CMD_CHAT };

		assert_null(tm_command_message(m, &cmd, LOCAL, err, sizeof(err)));
		assert_string_not_equal(err, "");
		memset(cmd.text, 'a', sizeof(cmd.text));      /* no NUL */
		assert_null(tm_command_message(m, &cmd, LOCAL, err, sizeof(err)));
		cmd.kind = TM_CMD_REACT;
		strcpy(cmd.text, "0123456789abcdefg");
		assert_null(tm_command_message(m, &cmd, LOCAL, err, sizeof(err)));
		strcpy(cmd.text, "\xff");
		assert_null(tm_command_message(m, &cmd, LOCAL, err, sizeof(err)));
		assert_null(tm_command_message(m, &cmd, LOCAL, NULL, 0));
	}
}

/* A party where nobody present may host: host-only commands say so. */
static void test_no_host_commands(void **state)
{
	struct tm_model *m = *state;
	char err[200];
	json_t *j;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"p1\","
			       "\"name\":\"alice\"}}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":"
			       "{\"host_id\":null}}", LOCAL), 0);
	assert_null(message(m, "/play", LOCAL, err, sizeof(err)));
	assert_string_equal(err, "the party has no host, so nobody can play");
	assert_null(message(m, "/speed 2", LOCAL, err, sizeof(err)));
	assert_string_equal(err, "the party has no host, so nobody can change the speed");
	assert_null(message(m, "/host carol", LOCAL, err, sizeof(err)));
	assert_string_equal(err, "the party has no host, so nobody can hand over");
	/* Chat goes on. */
	j = message(m, "still here", LOCAL, err, sizeof(err));
	assert_non_null(j);
	json_decref(j);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_parse_commands),
		T(test_command_names),
		T(test_clock_text),
		T(test_refusal_quoting_bad_bytes),
		T(test_host_commands),
		T(test_seek_clamped_to_duration),
		T(test_sync_speed_within_contract),
		T(test_host_transfer),
		T(test_member_commands),
		T(test_no_host_commands),
	};

	return cmocka_run_group_tests_name("tui_command", tests, NULL, NULL);
}
