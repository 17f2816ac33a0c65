/* tests/unit/test_tui_model.c - revenge-party's model (tui/revenge-party/
 * model.c): server messages in, members, scrollback, playback state and
 * clock out (typed lines are test_tui_command.c's). Every time is made up,
 * so nothing here waits or reads a clock. */
#include "tui_party.h"

#include <jansson.h>
#include <locale.h>
#include <math.h>

static const struct tm_line *line(const struct tm_model *m, size_t i)
{
	assert_true(i < m->n_lines);
	return &m->lines[(m->first_line + i) % TM_LINES_MAX];
}

static const struct tm_line *last(const struct tm_model *m)
{
	assert_true(m->n_lines > 0);
	return line(m, m->n_lines - 1);
}

static const char *member_id(const struct tm_model *m, size_t i)
{
	assert_true(i < m->n_members);
	return m->members[i].id;
}

static const char *hist_entry(char *buf, size_t len, const char *from,
			      const char *name, const char *text, double ts)
{
	snprintf(buf, len,
		 "{\"type\":\"chat\",\"payload\":{\"text\":\"%s\",\"name\":\"%s\"},"
		 "\"from\":\"%s\",\"ts\":%.3f}", text, name, from, ts);
	return buf;
}

#define TWO_LINES \
	"{\"type\":\"chat\",\"payload\":{\"text\":\"hi\",\"name\":\"alice\"}," \
	"\"from\":\"p1\",\"ts\":1699999999000.25}," \
	"{\"type\":\"chat\",\"payload\":{\"text\":\"hello\",\"name\":\"carol\"}," \
	"\"from\":\"p3\",\"ts\":1699999999500.5}"

/* ---- server messages ---------------------------------------------------- */

static void test_init(void **state)
{
	struct tm_model *m = *state;

	assert_string_equal(m->party, "movie-night");
	assert_string_equal(m->self_name, "bob");
	assert_false(m->joined);
	assert_false(tm_is_host(m));
	assert_string_equal(tm_host_name(m), "");
	assert_true(m->n_members == 0 && m->n_lines == 0);
	assert_true(m->state.speed == 1 && !m->state.playing);
	assert_true(m->duration_s == 0);
	assert_true(m->conn == TM_CONNECTING);
	assert_true(m->dirty == TM_DIRTY_ALL);
	/* No offset sample yet: server time is the local clock. */
	assert_true(tm_server_now(m, 1234.5) == 1234.5);
	assert_true(tm_position(m, 1e12) == 0);

	tm_init(m, "p", "n", -5);
	assert_true(m->duration_s == 0);
	tm_init(m, "p", "n", NAN);
	assert_true(m->duration_s == 0);
	tm_init(m, "p", "n", 5400);
	assert_true(m->duration_s == 5400);
}

static void test_welcome(void **state)
{
	struct tm_model *m = *state;

	m->dirty = 0;
	assert_int_equal(welcome(m, "p2", TWO_LINES, LOCAL), 0);
	assert_true(m->joined);
	assert_true(m->dirty == TM_DIRTY_ALL);
	assert_string_equal(m->self_id, "p2");
	assert_string_equal(m->host_id, "p1");
	assert_string_equal(tm_host_name(m), "alice");
	assert_false(tm_is_host(m));
	assert_int_equal(m->n_members, 3);
	assert_string_equal(member_id(m, 0), "p1");
	assert_string_equal(m->members[1].name, "bob");
	assert_string_equal(m->members[2].name, "carol");
	for (size_t i = 0; i < m->n_members; i++)
		assert_true(m->members[i].color >= 1 && m->members[i].color <= 6);
	assert_true(tm_member_named(m, "carol") == &m->members[2]);
	assert_null(tm_member_named(m, "Carol"));
	assert_null(tm_member_named(m, "dave"));
	assert_null(tm_member_named(m, NULL));

	assert_near(m->state.position, 10, 1e-12);
	assert_true(m->state.playing);
	assert_near(m->state.speed, 2, 1e-12);
	assert_near(m->state.server_time, S0, 1e-3);

	assert_int_equal(m->n_lines, 2);
	assert_int_equal(line(m, 0)->kind, TM_CHAT);
	assert_string_equal(line(m, 0)->name, "alice");
	assert_string_equal(line(m, 0)->text, "hi");
	assert_near(line(m, 0)->at_ms, 1699999999000.25, 1e-3);
	assert_int_equal(line(m, 0)->color, m->members[0].color);
	assert_string_equal(line(m, 1)->name, "carol");
	assert_string_equal(line(m, 1)->text, "hello");
	assert_int_equal(line(m, 1)->color, m->members[2].color);

	/* The host's own welcome. */
	assert_int_equal(welcome(m, "p1", "", LOCAL), 0);
	assert_true(tm_is_host(m));
	assert_string_equal(m->self_name, "alice");     /* the server's name wins */
}

static void test_welcome_server_name(void **state)
{
	struct tm_model *m = *state;

	/* The server named us guest-7 (no name was asked for). */
	assert_int_equal(apply(m,
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"g7\","
		"\"host_id\":\"g7\",\"members\":[{\"id\":\"g7\",\"name\":\"guest-7\"}],"
		"\"state\":{\"position\":0,\"playing\":false,\"speed\":1,\"server_time\":5}}}",
		LOCAL), 0);
	assert_string_equal(m->self_name, "guest-7");
	assert_true(tm_is_host(m));
	assert_string_equal(tm_host_name(m), "guest-7");
	assert_int_equal(m->n_lines, 0);                /* history is optional */
}

static void test_first_welcome_replaces_scrollback(void **state)
{
	struct tm_model *m = *state;

	tm_notice(m, LOCAL, "connecting to %s", "ws://localhost:8080");
	tm_notice(m, LOCAL, "connected");
	m->scroll = 1;
	assert_int_equal(welcome(m, "p2", TWO_LINES, LOCAL), 0);
	assert_int_equal(m->n_lines, 2);
	assert_string_equal(line(m, 0)->text, "hi");
	assert_true(m->scroll == 0);
}

static void test_welcome_rejected_leaves_model(void **state)
{
	struct tm_model *m = *state;
	static const char *const bad[] = {
		/* no participant_id */
		"{\"type\":\"welcome\",\"payload\":{\"host_id\":\"p1\",\"members\":[],"
		"\"state\":{\"position\":0,\"playing\":false,\"speed\":1,\"server_time\":1}}}",
		/* members not an array */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p1\",\"host_id\":\"p1\","
		"\"members\":{},\"state\":{\"position\":0,\"playing\":false,\"speed\":1,"
		"\"server_time\":1}}}",
		/* a member without a name */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p1\",\"host_id\":\"p1\","
		"\"members\":[{\"id\":\"p1\"}],\"state\":{\"position\":0,\"playing\":false,"
		"\"speed\":1,\"server_time\":1}}}",
		/* a member that is not an object */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p1\",\"host_id\":\"p1\","
		"\"members\":[\"p1\"],\"state\":{\"position\":0,\"playing\":false,"
		"\"speed\":1,\"server_time\":1}}}",
		/* playing as a string */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p1\",\"host_id\":\"p1\","
		"\"members\":[],\"state\":{\"position\":0,\"playing\":\"yes\",\"speed\":1,"
		"\"server_time\":1}}}",
		/* no state */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p1\",\"host_id\":\"p1\","
		"\"members\":[]}}",
		/* history not an array */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p1\",\"host_id\":\"p1\","
		"\"members\":[],\"state\":{\"position\":0,\"playing\":false,\"speed\":1,"
		"\"server_time\":1},\"history\":\"none\"}}",
		/* an id longer than any member id */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":"
		"\"0123456789012345678901234567890123456789\",\"host_id\":\"p1\","
		"\"members\":[],\"state\":{\"position\":0,\"playing\":false,\"speed\":1,"
		"\"server_time\":1}}}",
		/* empty host id */
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p1\",\"host_id\":\"\","
		"\"members\":[],\"state\":{\"position\":0,\"playing\":false,\"speed\":1,"
		"\"server_time\":1}}}",
	};

	tm_notice(m, LOCAL, "before");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(apply(m, bad[i], LOCAL), -1);
		assert_false(m->joined);
		assert_int_equal(m->n_members, 0);
		assert_int_equal(m->n_lines, 1);
		assert_string_equal(m->self_id, "");
	}
	/* Bad history entries cost only themselves. */
	assert_int_equal(welcome(m, "p2",
		"5,{\"type\":\"chat\"},{\"type\":\"chat\",\"payload\":{\"text\":7},\"ts\":1},"
		"{\"type\":\"chat\",\"payload\":{\"text\":\"no ts\",\"name\":\"x\"}},"
		"{\"type\":\"reaction\",\"payload\":{\"text\":\"odd\",\"name\":\"x\"},\"ts\":2},"
		"{\"type\":\"chat\",\"payload\":{\"text\":\"ok\",\"name\":\"x\"},\"ts\":3}",
		LOCAL), 0);
	assert_int_equal(m->n_lines, 1);
	assert_string_equal(line(m, 0)->text, "ok");
}

static void test_membership_lines(void **state)
{
	struct tm_model *m = *state;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":"
			       "{\"id\":\"p4\",\"name\":\"dave\"},\"ts\":1700000001000}", LOCAL), 0);
	assert_int_equal(m->n_members, 4);
	assert_string_equal(member_id(m, 3), "p4");
	assert_true(m->dirty & TM_DIRTY_MEMBERS);
	assert_true(m->dirty & TM_DIRTY_CHAT);
	assert_int_equal(last(m)->kind, TM_JOIN);
	assert_string_equal(last(m)->text, "joined");
	assert_string_equal(last(m)->name, "dave");
	assert_int_equal(last(m)->color, m->members[3].color);
	assert_near(last(m)->at_ms, 1700000001000.0, 1e-6);

	/* The host leaves; the server then names the new host. */
	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":"
			       "{\"id\":\"p1\",\"name\":\"alice\"},\"ts\":1700000002000}", LOCAL), 0);
	assert_int_equal(m->n_members, 3);
	assert_string_equal(member_id(m, 0), "p2");   /* join order kept */
	assert_string_equal(member_id(m, 1), "p3");
	assert_string_equal(member_id(m, 2), "p4");
	assert_int_equal(last(m)->kind, TM_LEAVE);
	assert_string_equal(last(m)->name, "alice");
	assert_string_equal(last(m)->text, "left");
	assert_true(m->dirty & TM_DIRTY_MEMBERS);

	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":"
			       "{\"host_id\":\"p2\"},\"ts\":1700000002000}", LOCAL), 0);
	assert_string_equal(m->host_id, "p2");
	assert_true(tm_is_host(m));
	assert_string_equal(tm_host_name(m), "bob");
	assert_int_equal(last(m)->kind, TM_HOST);
	assert_string_equal(last(m)->name, "bob");
	assert_string_equal(last(m)->text, "is now the host");
	assert_true(m->dirty & TM_DIRTY_MEMBERS);

	/* A leave without a name uses the one held. */
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"p3\"}}",
			       LOCAL + 7), 0);
	assert_string_equal(last(m)->name, "carol");
	assert_string_equal(last(m)->text, "left");
	assert_near(last(m)->at_ms, LOCAL + 7, 1e-9);   /* no ts: local time */
	assert_int_equal(m->n_members, 2);

	/* A leave of someone unknown still shows; nobody else goes. (A
	 * minute later: within TM_FOLD_MS it would fold with carol's.) */
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":"
			       "{\"id\":\"zz\",\"name\":\"ghost\"}}", LOCAL + 60000), 0);
	assert_string_equal(last(m)->name, "ghost");
	assert_int_equal(m->n_members, 2);

	/* A join of an id already present renames rather than duplicates. */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":"
			       "{\"id\":\"p4\",\"name\":\"david\"}}", LOCAL), 0);
	assert_int_equal(m->n_members, 2);
	assert_non_null(tm_member_named(m, "david"));

	/* A host the model does not know yet shows by id. */
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":"
			       "{\"host_id\":\"p9\"}}", LOCAL), 0);
	assert_string_equal(last(m)->name, "p9");
	assert_string_equal(last(m)->text, "is now the host");
	assert_false(tm_is_host(m));
	assert_string_equal(tm_host_name(m), "");

	/* Required fields. */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":\"p5\"}}",
			       LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"name\":\"x\"}}",
			       LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":5}}",
			       LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":{}}", LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"host_changed\"}", LOCAL), -1);
	assert_string_equal(m->host_id, "p9");
}

/* A party of member-only members has no host: host_id null, in a welcome
 * or a host_changed, is a party waiting for one, not a protocol error. */
#define NO_HOST_WELCOME(host) \
	"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p2\"," \
	"\"party_id\":\"movie-night\",\"role\":\"member\"," host \
	"\"members\":[{\"id\":\"p1\",\"name\":\"alice\",\"role\":\"member\"}," \
	"{\"id\":\"p2\",\"name\":\"bob\",\"role\":\"member\"}]," \
	"\"state\":{\"position\":3,\"playing\":false,\"speed\":1," \
	"\"server_time\":1700000000000},\"history\":[]},\"ts\":1700000000005}"

/* A large party: a partial welcome's member_count, then presence diffs,
 * one join read as member_joined would, more folded into one line. */
static void test_presence(void **state)
{
	struct tm_model *m = *state;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	assert_int_equal(m->member_count, 3);    /* no member_count: the list */
	assert_int_equal(apply(m, "{\"type\":\"presence\",\"payload\":{\"joined\":"
			       "[{\"id\":\"p4\",\"name\":\"dave\",\"role\":\"member\"}],"
			       "\"left\":[],\"count\":500,\"joined_more\":0,\"left_more\":0},"
			       "\"ts\":1700000001000}", LOCAL), 0);
	assert_int_equal(m->n_members, 4);
	assert_int_equal(m->member_count, 500);
	assert_int_equal(last(m)->kind, TM_JOIN);
	assert_string_equal(last(m)->name, "dave");
	assert_string_equal(last(m)->text, "joined");
	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"presence\",\"payload\":{\"joined\":"
			       "[{\"id\":\"p5\",\"name\":\"eve\",\"role\":\"member\"}],"
			       "\"left\":[{\"id\":\"p3\",\"name\":\"carol\"},"
			       "{\"id\":\"p4\",\"name\":\"dave\"}],"
			       "\"count\":510,\"joined_more\":11,\"left_more\":0},"
			       "\"ts\":1700000060000}", LOCAL), 0);
	assert_true(m->dirty & TM_DIRTY_MEMBERS);
	assert_int_equal(m->n_members, 3);
	assert_string_equal(member_id(m, 2), "p5");
	assert_int_equal(m->member_count, 510);
	assert_string_equal(line(m, m->n_lines - 2)->text, "12 people joined");
	assert_string_equal(last(m)->text, "2 people left");
	assert_string_equal(last(m)->name, "");
	/* malformed: the model is unchanged */
	assert_int_equal(apply(m, "{\"type\":\"presence\",\"payload\":{\"joined\":[],"
			       "\"left\":[]}}", LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"presence\",\"payload\":{\"joined\":"
			       "[{\"name\":\"x\"}],\"left\":[],\"count\":3}}", LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"presence\",\"payload\":{\"joined\":[],"
			       "\"left\":5,\"count\":3}}", LOCAL), -1);
	assert_int_equal(m->member_count, 510);
	/* a partial welcome keeps the server's count */
	assert_int_equal(apply(m, "{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p2\","
			       "\"party_id\":\"movie-night\",\"role\":\"member\",\"host_id\":\"p1\","
			       "\"members\":[{\"id\":\"p1\",\"name\":\"alice\",\"role\":\"host\"},"
			       "{\"id\":\"p2\",\"name\":\"bob\",\"role\":\"member\"}],"
			       "\"member_count\":1000,\"members_partial\":true,"
			       "\"state\":{\"position\":0,\"playing\":false,\"speed\":1,"
			       "\"server_time\":1700000000000},\"history\":[]}}", LOCAL), 0);
	assert_int_equal(m->n_members, 2);
	assert_int_equal(m->member_count, 1000);
	assert_true(m->members_partial);
	/* a page of the roster adds who it names */
	assert_int_equal(apply(m, "{\"type\":\"members\",\"payload\":{\"members\":["
			       "{\"id\":\"p1\",\"name\":\"alice\",\"role\":\"host\"},"
			       "{\"id\":\"p9\",\"name\":\"ivy\",\"role\":\"member\"}],"
			       "\"next\":\"p9\",\"count\":999},\"id\":\"x\"}", LOCAL), 0);
	assert_int_equal(m->n_members, 3);
	assert_string_equal(member_id(m, 2), "p9");
	assert_int_equal(m->member_count, 999);
	assert_int_equal(apply(m, "{\"type\":\"members\",\"payload\":{\"members\":[{}],"
			       "\"count\":1}}", LOCAL), -1);
}

static void test_no_host(void **state)
{
	struct tm_model *m = *state;

	/* host_id must be there, as an id or as null. */
	assert_int_equal(apply(m, NO_HOST_WELCOME(""), LOCAL), -1);
	assert_int_equal(apply(m, NO_HOST_WELCOME("\"host_id\":5,"), LOCAL), -1);
	assert_false(m->joined);

	m->dirty = 0;
	assert_int_equal(apply(m, NO_HOST_WELCOME("\"host_id\":null,"), LOCAL), 0);
	assert_true(m->joined);
	assert_true(m->dirty == TM_DIRTY_ALL);
	assert_string_equal(m->self_id, "p2");
	assert_string_equal(m->host_id, "");
	assert_false(tm_is_host(m));
	assert_string_equal(tm_host_name(m), "");
	assert_int_equal(m->n_members, 2);
	assert_near(m->state.position, 3, 1e-12);

	/* One who may host arrives and takes the role. */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":"
			       "{\"id\":\"p3\",\"name\":\"carol\"}}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":"
			       "{\"host_id\":\"p3\"},\"ts\":1700000001000}", LOCAL), 0);
	assert_string_equal(tm_host_name(m), "carol");
	assert_string_equal(last(m)->name, "carol");
	assert_string_equal(last(m)->text, "is now the host");

	/* It leaves, and nobody left may host. */
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":"
			       "{\"id\":\"p3\",\"name\":\"carol\"}}", LOCAL), 0);
	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":"
			       "{\"host_id\":null},\"ts\":1700000002000}", LOCAL), 0);
	assert_string_equal(m->host_id, "");
	assert_false(tm_is_host(m));
	assert_string_equal(tm_host_name(m), "");
	assert_int_equal(last(m)->kind, TM_HOST);
	assert_string_equal(last(m)->name, "");
	assert_int_equal(last(m)->color, 0);
	assert_non_null(strstr(last(m)->text, "no host"));
	assert_near(last(m)->at_ms, 1700000002000.0, 1e-6);
	assert_true(m->dirty & TM_DIRTY_MEMBERS);
	assert_true(m->dirty & TM_DIRTY_STATUS);

	/* Still strict about anything else. */
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":"
			       "{\"host_id\":false}}", LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"host_changed\",\"payload\":"
			       "{\"host_id\":\"\"}}", LOCAL), -1);
	assert_string_equal(m->host_id, "");

	/* A later welcome (a rejoin) with a host replaces "no host". */
	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	assert_string_equal(tm_host_name(m), "alice");
}

static void test_chat_and_reactions(void **state)
{
	struct tm_model *m = *state;
	unsigned alice, dave;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"popcorn?\","
			       "\"name\":\"alice\"},\"from\":\"p1\",\"ts\":1700000000100.5}",
			       LOCAL), 0);
	assert_true(m->dirty == TM_DIRTY_CHAT);
	assert_int_equal(last(m)->kind, TM_CHAT);
	assert_string_equal(last(m)->name, "alice");
	assert_string_equal(last(m)->text, "popcorn?");
	assert_near(last(m)->at_ms, 1700000000100.5, 1e-6);
	alice = last(m)->color;
	assert_true(alice >= 1 && alice <= 6);
	assert_int_equal(alice, m->members[0].color);

	/* Someone not in the member list (yet) still gets a stable colour. */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"a\","
			       "\"name\":\"dave\"},\"from\":\"p4\",\"ts\":1}", LOCAL), 0);
	dave = last(m)->color;
	assert_true(dave >= 1 && dave <= 6);
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"b\","
			       "\"name\":\"alice\"},\"from\":\"p1\",\"ts\":2}", LOCAL), 0);
	assert_int_equal(last(m)->color, alice);
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"c\","
			       "\"name\":\"dave\"},\"from\":\"p4\",\"ts\":3}", LOCAL), 0);
	assert_int_equal(last(m)->color, dave);
	/* ... and the same colour in another model (another screen). */
	{
		struct tm_model *other = calloc(1, sizeof(*other));

		assert_non_null(other);
		tm_init(other, "movie-night", "zed", 0);
		assert_int_equal(apply(other, "{\"type\":\"chat\",\"payload\":{\"text\":\"x\","
				       "\"name\":\"dave\"},\"ts\":3}", LOCAL), 0);
		assert_int_equal(last(other)->color, dave);
		free(other);
	}
	/* ann, bob and carol hash to one colour; present together they
	 * get three, and each line is in its sender's */
	{
		struct tm_model *o = calloc(1, sizeof(*o));

		assert_non_null(o);
		tm_init(o, "p", "ann", 0);
		assert_int_equal(apply(o, "{\"type\":\"welcome\",\"payload\":{"
				       "\"participant_id\":\"a\",\"host_id\":\"a\",\"members\":["
				       "{\"id\":\"a\",\"name\":\"ann\"},{\"id\":\"b\",\"name\":\"bob\"},"
				       "{\"id\":\"c\",\"name\":\"carol\"}],\"state\":{\"position\":0,"
				       "\"playing\":false,\"speed\":1,\"server_time\":1}}}", LOCAL), 0);
		assert_int_equal(o->n_members, 3);
		assert_int_not_equal(o->members[0].color, o->members[1].color);
		assert_int_not_equal(o->members[1].color, o->members[2].color);
		assert_int_not_equal(o->members[0].color, o->members[2].color);
		assert_int_equal(apply(o, "{\"type\":\"chat\",\"payload\":{\"text\":\"x\","
				       "\"name\":\"bob\"},\"from\":\"b\",\"ts\":3}", LOCAL), 0);
		assert_int_equal(last(o)->color, o->members[1].color);
		free(o);
	}
	/* The six colours are all used over a handful of names. */
	{
		unsigned seen = 0;
		char buf[160];

		for (int i = 0; i < 64; i++) {
			snprintf(buf, sizeof(buf), "{\"type\":\"chat\",\"payload\":{\"text\":\"x\","
				 "\"name\":\"user%d\"},\"ts\":4}", i);
			assert_int_equal(apply(m, buf, LOCAL), 0);
			seen |= 1u << last(m)->color;
		}
		assert_int_equal(seen, 0x7e);
	}

	/* No name in the payload: the sender's member name. */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"x\"},"
			       "\"from\":\"p3\",\"ts\":5}", LOCAL), 0);
	assert_string_equal(last(m)->name, "carol");

	/* Text is escaped on the wire and arrives as the person wrote it. */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":"
			       "\"say \\\"hi\\\" \\\\o/ caf\\u00e9 \\ud83c\\udf89\",\"name\":\"bob\"},"
			       "\"ts\":6}", LOCAL), 0);
	assert_string_equal(last(m)->text, "say \"hi\" \\o/ caf\xc3\xa9 \xf0\x9f\x8e\x89");

	/* Control characters never reach the terminal. */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":"
			       "\"a\\u001b[2Jb\\nc\\td\",\"name\":\"e\\u0007vil\"},\"ts\":7}",
			       LOCAL), 0);
	assert_string_equal(last(m)->text, "a [2Jb c d");
	assert_string_equal(last(m)->name, "e vil");

	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"reaction\",\"payload\":{\"emoji\":"
			       "\"\xf0\x9f\x8e\x89\",\"name\":\"carol\"},\"from\":\"p3\","
			       "\"ts\":1700000000200}", LOCAL), 0);
	assert_int_equal(last(m)->kind, TM_REACTION);
	assert_string_equal(last(m)->name, "carol");
	assert_string_equal(last(m)->text, "reacted \xf0\x9f\x8e\x89");
	assert_int_equal(last(m)->color, m->members[2].color);
	assert_true(m->dirty == TM_DIRTY_CHAT);

	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"name\":\"x\"}}", LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"reaction\",\"payload\":{\"emoji\":1}}", LOCAL), -1);
}

static void test_rejoin_keeps_scrollback(void **state)
{
	struct tm_model *m = *state;
	char hist[2048], e[4][256];

	assert_int_equal(welcome(m, "p2", TWO_LINES, LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"third\","
			       "\"name\":\"alice\"},\"from\":\"p1\",\"ts\":1700000000000}",
			       LOCAL), 0);
	tm_notice(m, LOCAL + 10, "connection lost, reconnecting");
	tm_notice(m, LOCAL + 20, "reconnected");
	assert_int_equal(m->n_lines, 5);

	/* The server's history overlaps what is held; only later lines are
	 * new. Members and state are replaced. */
	snprintf(hist, sizeof(hist), "%s,%s,%s,%s",
		 hist_entry(e[0], sizeof(e[0]), "p3", "carol", "hello", 1699999999500.5),
		 hist_entry(e[1], sizeof(e[1]), "p1", "alice", "third", 1700000000000.0),
		 hist_entry(e[2], sizeof(e[2]), "p3", "carol", "while away", 1700000000500.0),
		 hist_entry(e[3], sizeof(e[3]), "p1", "alice", "and again", 1700000000600.0));
	m->dirty = 0;
	m->scroll = 2;
	assert_int_equal(apply(m,
		"{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p7\","
		"\"host_id\":\"p3\",\"members\":[{\"id\":\"p3\",\"name\":\"carol\"},"
		"{\"id\":\"p7\",\"name\":\"bob\"}],\"state\":{\"position\":99,"
		"\"playing\":false,\"speed\":1,\"server_time\":1700000000700},"
		"\"history\":[", LOCAL + 30), -1);   /* cut short: not JSON */
	{
		char buf[4096];

		snprintf(buf, sizeof(buf),
			 "{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p7\","
			 "\"host_id\":\"p3\",\"members\":[{\"id\":\"p3\",\"name\":\"carol\"},"
			 "{\"id\":\"p7\",\"name\":\"bob\"}],\"state\":{\"position\":99,"
			 "\"playing\":false,\"speed\":1,\"server_time\":1700000000700},"
			 "\"history\":[%s]}}", hist);
		assert_int_equal(apply(m, buf, LOCAL + 30), 0);
	}
	assert_true(m->dirty == TM_DIRTY_ALL);
	assert_int_equal(m->n_lines, 7);
	assert_string_equal(line(m, 0)->text, "hi");
	assert_string_equal(line(m, 2)->text, "third");
	assert_string_equal(line(m, 3)->text, "connection lost, reconnecting");
	assert_string_equal(line(m, 4)->text, "reconnected");
	assert_string_equal(line(m, 5)->text, "while away");
	assert_string_equal(line(m, 6)->text, "and again");
	assert_int_equal(m->n_members, 2);
	assert_string_equal(m->self_id, "p7");
	assert_string_equal(tm_host_name(m), "carol");
	assert_near(m->state.position, 99, 1e-12);
	assert_false(m->state.playing);
	/* The reader's place is kept while the missed lines come in. */
	assert_true(m->scroll == 4);

	/* The same welcome again adds nothing. */
	{
		char buf[4096];

		snprintf(buf, sizeof(buf),
			 "{\"type\":\"welcome\",\"payload\":{\"participant_id\":\"p7\","
			 "\"host_id\":\"p3\",\"members\":[],\"state\":{\"position\":0,"
			 "\"playing\":false,\"speed\":1,\"server_time\":1},\"history\":[%s]}}",
			 hist);
		assert_int_equal(apply(m, buf, LOCAL + 40), 0);
	}
	assert_int_equal(m->n_lines, 7);
}

/* A restarted server hands ids out again: after the rejoin "ann", who
 * spoke as m1, is m2 and m1 is bob. Her old line still reads "ann", and
 * the line of one of two carols told apart before the rejoin keeps its
 * "(p3)" although no carol is p3 any more. */
static void test_rejoin_keeps_names_as_shown(void **state)
{
	struct tm_model *m = *state;
	char buf[TM_SHOWN_MAX];
	const struct tm_line *l;

	assert_int_equal(apply(m, "{\"type\":\"welcome\",\"payload\":{\"participant_id\":"
			       "\"m2\",\"host_id\":\"m1\",\"members\":[{\"id\":\"m1\","
			       "\"name\":\"ann\"},{\"id\":\"m2\",\"name\":\"bob\"},"
			       "{\"id\":\"p3\",\"name\":\"carol\"},{\"id\":\"p4\","
			       "\"name\":\"carol\"}],\"state\":{\"position\":0,\"playing\":false,"
			       "\"speed\":1,\"server_time\":1}}}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"before\","
			       "\"name\":\"ann\"},\"from\":\"m1\",\"ts\":2}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"me too\","
			       "\"name\":\"carol\"},\"from\":\"p3\",\"ts\":3}", LOCAL), 0);

	assert_int_equal(apply(m, "{\"type\":\"welcome\",\"payload\":{\"participant_id\":"
			       "\"m1\",\"host_id\":\"m1\",\"members\":[{\"id\":\"m1\","
			       "\"name\":\"bob\"},{\"id\":\"m2\",\"name\":\"ann\"},"
			       "{\"id\":\"m3\",\"name\":\"carol\"}],\"state\":{\"position\":0,"
			       "\"playing\":false,\"speed\":1,\"server_time\":4}}}", LOCAL), 0);
	l = line(m, 0);
	assert_string_equal(l->text, "before");
	assert_string_equal(tm_shown_name(m, l->from, l->name, buf, sizeof(buf)), "ann");
	l = line(m, 1);
	assert_string_equal(tm_shown_name(m, l->from, l->name, buf, sizeof(buf)), "carol (p3)");
	/* New lines are told apart by the ids of the new join. */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"after\","
			       "\"name\":\"ann\"},\"from\":\"m2\",\"ts\":5}", LOCAL), 0);
	assert_string_equal(line(m, 2)->from, "m2");
	assert_string_equal(tm_shown_name(m, line(m, 2)->from, line(m, 2)->name, buf,
					  sizeof(buf)), "ann");
}

static void test_rejoin_without_chat_held(void **state)
{
	struct tm_model *m = *state;

	/* Joined an empty party, then got cut off: all history is new. */
	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	tm_notice(m, LOCAL, "reconnected");
	assert_int_equal(welcome(m, "p2", TWO_LINES, LOCAL), 0);
	assert_int_equal(m->n_lines, 3);
	assert_string_equal(line(m, 0)->text, "reconnected");
	assert_string_equal(line(m, 2)->text, "hello");
}

static void test_sync_and_extrapolation(void **state)
{
	struct tm_model *m = *state;
	char buf[256];

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	/* Without a clock sample the local clock is taken as server time. */
	assert_near(tm_position(m, S0 + 1000), 12, 1e-9);

	feed_offset(m);
	assert_near(tm_server_now(m, LOCAL), S0, 1e-6);
	/* playing at 2x from 10 s at S0 */
	assert_near(tm_position(m, LOCAL), 10, 1e-9);
	assert_near(tm_position(m, LOCAL + 3000), 16, 1e-9);
	assert_near(tm_position(m, LOCAL - 3000), 10, 1e-9);   /* never back */

	m->dirty = 0;
	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":42.5,"
		 "\"playing\":false,\"speed\":1.5,\"server_time\":%.3f},\"from\":\"p1\","
		 "\"ts\":%.3f}", S0 + 4000, S0 + 4000);
	assert_int_equal(apply(m, buf, LOCAL + 4000), 0);
	assert_true(m->dirty == (TM_DIRTY_PLAYER | TM_DIRTY_CHAT));
	assert_false(m->state.playing);
	/* alice's sync is told: from 10 s at 2x, 4 s later she would be at
	 * 18 s; she is at 42.5, paused, at 1.5x */
	assert_int_equal(last(m)->kind, TM_ACTION);
	assert_string_equal(last(m)->name, "alice");
	assert_string_equal(last(m)->text,
			    "jumped from 0:18 to 0:42, paused and set speed 1.5\xc3\x97");
	assert_near(tm_position(m, LOCAL + 9000), 42.5, 1e-9);

	/* A scheduled start: the state before (paused at 42.5) holds until
	 * its server time, then it runs from 60. */
	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":60,"
		 "\"playing\":true,\"speed\":1.5,\"server_time\":%.3f},\"id\":\"play\"}",
		 S0 + 10000);
	assert_int_equal(apply(m, buf, LOCAL + 8000), 0);
	assert_true(m->state.playing);                   /* the latest state */
	assert_false(tm_playback(m, LOCAL + 9000)->playing);   /* what plays */
	assert_near(tm_position(m, LOCAL + 9000), 42.5, 1e-9);
	assert_near(tm_latest_position(m, LOCAL + 9000), 60, 1e-9);
	assert_true(tm_playback(m, LOCAL + 10000)->playing);
	assert_near(tm_position(m, LOCAL + 12000), 63, 1e-9);
	/* a sync without from (not as relayed) is still told */
	assert_int_equal(m->n_lines, 2);
	assert_string_equal(last(m)->name, "");
	assert_string_equal(last(m)->text, "playback jumped from 0:42 to 1:00 and resumed");

	/* Bad states change nothing. */
	static const char *const bad[] = {
		"{\"type\":\"sync\",\"payload\":{\"position\":-1,\"playing\":true,"
		"\"speed\":1,\"server_time\":1}}",
		"{\"type\":\"sync\",\"payload\":{\"position\":\"1\",\"playing\":true,"
		"\"speed\":1,\"server_time\":1}}",
		"{\"type\":\"sync\",\"payload\":{\"position\":1,\"playing\":1,"
		"\"speed\":1,\"server_time\":1}}",
		"{\"type\":\"sync\",\"payload\":{\"position\":1,\"playing\":true,"
		"\"speed\":0,\"server_time\":1}}",
		"{\"type\":\"sync\",\"payload\":{\"position\":1,\"playing\":true,"
		"\"speed\":-2,\"server_time\":1}}",
		"{\"type\":\"sync\",\"payload\":{\"position\":1,\"playing\":true,\"speed\":1}}",
		"{\"type\":\"sync\",\"payload\":{\"position\":1e999,\"playing\":true,"
		"\"speed\":1,\"server_time\":1}}",
		"{\"type\":\"sync\",\"payload\":{\"position\":1,\"playing\":true,"
		"\"speed\":1,\"server_time\":null}}",
		"{\"type\":\"sync\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(apply(m, bad[i], LOCAL), -1);
		assert_near(m->state.position, 60, 1e-12);
	}
	/* Huge but finite values are taken (and never crash). */
	assert_int_equal(apply(m, "{\"type\":\"sync\",\"payload\":{\"position\":"
			       "123456789012345678901234567890,\"playing\":true,\"speed\":1e300,"
			       "\"server_time\":-1e300}}", LOCAL), 0);
	(void)tm_position(m, LOCAL);
}

/* H1 lead: a scheduled pause keeps playing until its instant, then holds
 * exactly there; the host's own copy changes the latest state only. */
static void test_scheduled_pause(void **state)
{
	struct tm_model *m = *state;
	char buf[256];
	double last = -1;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	feed_offset(m);
	/* playing at 2x from 10 s at S0; at S0 + 1000 the server schedules a
	 * pause for S0 + 1500, where playback will be: 13 s */
	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":13,"
		 "\"playing\":false,\"speed\":2,\"server_time\":%.3f},\"from\":\"p1\","
		 "\"ts\":%.3f}", S0 + 1500, S0 + 1000);
	assert_int_equal(apply(m, buf, LOCAL + 1000), 0);
	assert_false(m->state.playing);
	assert_true(tm_playback(m, LOCAL + 1200)->playing);
	assert_near(tm_position(m, LOCAL + 1250), 12.5, 1e-9);   /* still playing */
	for (double t = LOCAL + 1000; t < LOCAL + 4000; t += 10) {
		double p = tm_position(m, t);

		assert_true(p >= last - 1e-9);                   /* never back */
		assert_true(p <= 13 + 1e-9);
		last = p;
	}
	assert_near(tm_position(m, LOCAL + 1500), 13, 1e-9);
	assert_near(tm_position(m, LOCAL + 9000), 13, 1e-9);
	assert_false(tm_playback(m, LOCAL + 1500)->playing);

	/* the host's own copy (its `at` as server_time) is the latest state
	 * at once, but plays only when the server's stamped copy says */
	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":13,"
		 "\"playing\":true,\"speed\":2,\"server_time\":%.3f}}", S0 + 5000);
	assert_int_equal(tm_apply_own(m, buf, strlen(buf), LOCAL + 5000), 0);
	assert_true(m->state.playing);
	assert_false(tm_playback(m, LOCAL + 5500)->playing);
	assert_near(tm_position(m, LOCAL + 5500), 13, 1e-9);
	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":13,"
		 "\"playing\":true,\"speed\":2,\"server_time\":%.3f},\"from\":\"p1\","
		 "\"id\":\"play\",\"ts\":%.3f}", S0 + 5400, S0 + 5000);
	assert_int_equal(apply(m, buf, LOCAL + 5100), 0);
	assert_near(tm_position(m, LOCAL + 5300), 13, 1e-9);
	assert_near(tm_position(m, LOCAL + 6400), 15, 1e-9);
	/* a second welcome (a rejoin) replaces what plays */
	assert_int_equal(welcome(m, "p2", "", LOCAL + 7000), 0);
	assert_near(tm_position(m, LOCAL), 10, 1e-9);
}

static void test_time_feeds_estimator(void **state)
{
	struct tm_model *m = *state;
	double offset, rtt;

	assert_false(rv_offset_get(&m->clock, NULL, NULL));
	m->dirty = 0;
	feed_offset(m);
	assert_true(m->dirty == TM_DIRTY_PLAYER);
	assert_true(rv_offset_get(&m->clock, &offset, &rtt));
	assert_near(offset, 5000, 1e-6);
	assert_near(rtt, 20, 1e-6);
	assert_near(tm_server_now(m, 1000), 6000, 1e-6);
	assert_int_equal(m->n_lines, 0);

	/* A slower, lopsided exchange does not displace it. */
	assert_int_equal(apply(m, "{\"type\":\"time\",\"payload\":{\"client_time\":0,"
			       "\"server_receive_time\":5090,\"server_time\":5091}}", 101), 0);
	assert_true(rv_offset_get(&m->clock, &offset, &rtt));
	assert_near(offset, 5000, 1e-6);
	assert_int_equal(m->clock.total, 2);

	/* A negative round trip is ignored, not an error. */
	assert_int_equal(apply(m, "{\"type\":\"time\",\"payload\":{\"client_time\":100,"
			       "\"server_receive_time\":5090,\"server_time\":5091}}", 50), 0);
	assert_int_equal(m->clock.total, 2);

	assert_int_equal(apply(m, "{\"type\":\"time\",\"payload\":{\"client_time\":\"0\","
			       "\"server_receive_time\":1,\"server_time\":2}}", 3), -1);
	assert_int_equal(apply(m, "{\"type\":\"time\",\"payload\":{\"client_time\":0,"
			       "\"server_time\":2}}", 3), -1);
	assert_int_equal(m->clock.total, 2);
}

static void test_error_notice(void **state)
{
	struct tm_model *m = *state;

	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"error\",\"payload\":{\"code\":\"forbidden\","
			       "\"message\":\"only the host can sync\",\"ref\":\"sync\"},"
			       "\"id\":\"play\",\"ts\":1700000000000}", LOCAL + 1), 0);
	/* an error, told apart from a notice (the view marks it) */
	assert_int_equal(last(m)->kind, TM_ERROR);
	assert_string_equal(last(m)->text, "forbidden: only the host can sync");
	assert_string_equal(last(m)->name, "");
	assert_int_equal(last(m)->color, 0);
	assert_near(last(m)->at_ms, LOCAL + 1, 1e-9);   /* notices: local time */
	assert_true(m->dirty == TM_DIRTY_CHAT);

	assert_int_equal(apply(m, "{\"type\":\"error\",\"payload\":{\"code\":\"rate_limited\"}}",
			       LOCAL), 0);
	assert_string_equal(last(m)->text, "rate_limited");
	assert_int_equal(apply(m, "{\"type\":\"error\",\"payload\":{\"message\":\"slow down\"}}",
			       LOCAL), 0);
	assert_string_equal(last(m)->text, "slow down");
	assert_int_equal(apply(m, "{\"type\":\"error\"}", LOCAL), 0);
	assert_string_equal(last(m)->text, "the server reported an error");
	assert_int_equal(m->n_lines, 4);

	tm_notice(m, LOCAL, "%d members", 3);
	assert_string_equal(last(m)->text, "3 members");
	assert_int_equal(last(m)->kind, TM_NOTICE);
	tm_error(m, LOCAL, "cannot connect: %s", "no such host");
	assert_int_equal(last(m)->kind, TM_ERROR);
	assert_string_equal(last(m)->text, "cannot connect: no such host");
}

static void test_malformed_inputs(void **state)
{
	struct tm_model *m = *state;
	static const char *const rejected[] = {
		"", "not json", "{", "[]", "[{\"type\":\"chat\"}]", "42", "\"welcome\"", "null",
		"{}", "{\"type\":5}", "{\"type\":null}", "{\"type\":[\"chat\"]}",
		"{\"payload\":{}}", "{\"type\":\"chat\",\"payload\":[]}",
		"{\"type\":\"chat\",\"payload\":\"hi\"}", "{\"type\":\"chat\"}",
		"{\"type\":\"chat\",\"payload\":{\"text\":5}}",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"a\\u0000b\"}}",
		"{\"type\":\"unknown_future\",\"payload\":7}",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"x\"}} trailing",
		"{\"type\":\"chat\",\"payload\":{\"text\":\"\xff\"}}",
		("{\"type\":\"member_joined\",\"payload\":{\"id\":"
		 "\"0123456789012345678901234567890123\",\"name\":\"x\"}}"),
	};
	char *big;
	size_t n;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	for (size_t i = 0; i < sizeof(rejected) / sizeof(rejected[0]); i++) {
		if (apply(m, rejected[i], LOCAL) != -1)
			fail_msg("accepted: %s", rejected[i]);
	}
	assert_int_equal(tm_apply(m, NULL, 0, LOCAL), -1);
	/* Only the first len bytes count. */
	assert_int_equal(tm_apply(m, "{\"type\":\"ack\"}xyz", 14, LOCAL), 0);
	assert_int_equal(tm_apply(m, "{\"type\":\"ack\"}", 5, LOCAL), -1);
	assert_int_equal(m->n_lines, 0);
	assert_int_equal(m->n_members, 3);

	/* Ignored, for forward compatibility: acks, new types, new fields. */
	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"ack\",\"id\":\"x\",\"ts\":1}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"fireworks\",\"payload\":{\"n\":3}}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"quality_state\"}", LOCAL), 0);
	assert_true(m->dirty == 0);
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"x\",\"name\":\"y\","
			       "\"mood\":\"happy\"},\"ts\":\"yesterday\",\"extra\":[1,2]}", LOCAL), 0);
	assert_near(last(m)->at_ms, LOCAL, 1e-9);       /* bad ts: local time */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"x\",\"name\":5},"
			       "\"from\":7}", LOCAL), 0);
	assert_string_equal(last(m)->name, "?");

	/* Deep nesting and a long chat text. */
	n = 200000;
	big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n / 2; i++) {
		big[i] = '[';
		big[n - 1 - i] = ']';
	}
	big[n] = '\0';
	assert_int_equal(apply(m, big, LOCAL), -1);
	n = snprintf(big, 100, "{\"type\":\"chat\",\"payload\":{\"name\":\"x\",\"text\":\"");
	memset(big + n, 'a', 100000);
	strcpy(big + n + 100000, "\"}}");
	assert_int_equal(apply(m, big, LOCAL), 0);
	assert_int_equal(strlen(last(m)->text), TM_TEXT_MAX);
	free(big);
}

static void test_utf8_never_cut(void **state)
{
	struct tm_model *m = *state;
	char buf[1024], name[400];
	size_t n = 0, len;

	/* 'a' then 40 four-byte emoji: 161 bytes, past RV_NAME_MAX_BYTES. */
	name[n++] = 'a';
	for (int i = 0; i < 40; i++) {
		memcpy(name + n, "\xf0\x9f\x8e\x89", 4);
		n += 4;
	}
	name[n] = '\0';
	snprintf(buf, sizeof(buf), "{\"type\":\"member_joined\",\"payload\":{\"id\":\"p9\","
		 "\"name\":\"%s\"}}", name);
	assert_int_equal(apply(m, buf, LOCAL), 0);
	len = strlen(m->members[0].name);
	assert_int_equal(len, 1 + 31 * 4);
	assert_true(rv_utf8_valid(m->members[0].name, len));
	assert_true(rv_utf8_valid(last(m)->name, strlen(last(m)->name)));
	assert_true(rv_utf8_valid(last(m)->text, strlen(last(m)->text)));

	/* Two-byte characters over a full line of text. */
	{
		char *big = malloc(8000);
		size_t k;

		assert_non_null(big);
		k = (size_t)snprintf(big, 100, "{\"type\":\"error\",\"payload\":{\"code\":\"x\","
				     "\"message\":\"");
		for (int i = 0; i < 1500; i++) {
			memcpy(big + k, "\xc3\xa9", 2);
			k += 2;
		}
		strcpy(big + k, "\"}}");
		assert_int_equal(apply(m, big, LOCAL), 0);
		len = strlen(last(m)->text);
		assert_true(len <= TM_TEXT_MAX && len >= TM_TEXT_MAX - 1);
		assert_true(rv_utf8_valid(last(m)->text, len));
		free(big);
	}

	/* A notice formatted past the line: cut whole. */
	{
		char *big = malloc(3000);

		assert_non_null(big);
		big[0] = 'x';
		for (int i = 0; i < 999; i++)
			memcpy(big + 1 + 3 * i, "\xe2\x82\xac", 3);   /* euro sign */
		big[1 + 3 * 999] = '\0';
		tm_notice(m, LOCAL, "%s", big);
		len = strlen(last(m)->text);
		assert_int_equal(len, 1 + 3 * 666);
		assert_true(rv_utf8_valid(last(m)->text, len));
		free(big);
	}
}

/* C1 controls are valid UTF-8 (0xc2 0x80-0x9f), so jansson lets them
 * through; U+009B is CSI to many terminals. Found by fuzz_tui. */
static void test_c1_controls_never_shown(void **state)
{
	struct tm_model *m = *state;

	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":"
			       "\"\\u009b2J\\u009d0;x\\u0007\\u009c|\\u00a0ok\","
			       "\"name\":\"\\u0085ev\\u009fil\"},\"ts\":7}", LOCAL), 0);
	assert_string_equal(last(m)->text, " 2J 0;x  |\xc2\xa0ok");  /* NBSP stays */
	assert_string_equal(last(m)->name, " ev il");
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":\"p9\","
			       "\"name\":\"\\u009b31mred\"}}", LOCAL), 0);
	assert_string_equal(m->members[0].name, " 31mred");
	assert_string_equal(last(m)->name, " 31mred");
}

/* A notice may quote bytes nobody checked (a typed line, a close reason):
 * what is not UTF-8 shows as '?', so every line is UTF-8. Found by
 * fuzz_tui. */
static void test_invalid_utf8_never_shown(void **state)
{
	struct tm_model *m = *state;
	char big[TM_TEXT_MAX + 100];
	size_t len;

	tm_notice(m, LOCAL, "%s", "caf\xc3 \xff\xfe ok \xc0\xaf \xed\xa0\x80 \xe2\x82");
	assert_string_equal(last(m)->text, "caf? ?? ok ?? ??? ??");
	tm_notice(m, LOCAL, "connection lost (1006 %s)", "\x1b]0;x\x07\xc2\x9b");
	assert_string_equal(last(m)->text, "connection lost (1006  ]0;x  )");

	/* Cut to the line first, then made safe: still UTF-8. */
	memset(big, 0xff, sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	tm_notice(m, LOCAL, "%s", big);
	len = strlen(last(m)->text);
	assert_true(len > 0 && len <= TM_TEXT_MAX);
	assert_true(rv_utf8_valid(last(m)->text, len));
}

/* A chat carrying ESC and bidi controls reaches the model without them:
 * no escape sequence for the terminal, nothing to reorder the line or the
 * next one. ESC, like every control, becomes a space; a bidi control is
 * dropped; a line or paragraph separator becomes a space. */
static void test_bidi_and_escapes_never_shown(void **state)
{
	struct tm_model *m = *state;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":"
			       "\"a\\u001b[2Jb\\u202ec\\u202ad\\u2066e\\u2069f\\u200eg\\u200fh"
			       "\\u061ci\\u2028j\\u2029k\",\"name\":\"\\u202eecila\\u001b]0;x\"},"
			       "\"from\":\"p1\",\"ts\":7}", LOCAL), 0);
	assert_string_equal(last(m)->text, "a [2Jbcdefghi j k");
	assert_string_equal(last(m)->name, "ecila ]0;x");
	assert_null(strchr(last(m)->text, 0x1b));
	assert_null(strstr(last(m)->text, "\xe2\x80\xae"));
	/* Near neighbours are text, and stay. */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":"
			       "\"\\u2027\\u2030\\u2065\\u206a\\u061b\\u200d\\u00a0\","
			       "\"name\":\"alice\"},\"from\":\"p1\",\"ts\":8}", LOCAL), 0);
	assert_string_equal(last(m)->text, "\xe2\x80\xa7\xe2\x80\xb0\xe2\x81\xa5\xe2\x81\xaa"
			    "\xd8\x9b\xe2\x80\x8d\xc2\xa0");
	/* A member's name too (an older or foreign server may not refuse). */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":\"p9\","
			       "\"name\":\"\\u2067mallory\\u001b[0m\"}}", LOCAL), 0);
	assert_string_equal(m->members[3].name, "mallory [0m");
	assert_string_equal(last(m)->name, "mallory [0m");
}

/* Two present members of one name are shown with their ids, in the
 * member list (tm_shown_name of a member) and on their lines; a unique
 * name is shown as it is. */
static void test_same_names_told_apart(void **state)
{
	struct tm_model *m = *state;
	char buf[TM_SHOWN_MAX];
	const struct tm_line *from_p3, *from_p1;

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	assert_string_equal(tm_shown_name(m, "p1", "alice", buf, sizeof(buf)), "alice");
	assert_string_equal(tm_shown_name(m, "p3", "carol", buf, sizeof(buf)), "carol");

	/* A second carol joins: both carols get their id, nobody else does. */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":\"p4\","
			       "\"name\":\"carol\"}}", LOCAL), 0);
	assert_string_equal(last(m)->from, "p4");
	assert_string_equal(tm_shown_name(m, "p3", "carol", buf, sizeof(buf)), "carol (p3)");
	assert_string_equal(tm_shown_name(m, "p4", "carol", buf, sizeof(buf)), "carol (p4)");
	assert_string_equal(tm_shown_name(m, "p1", "alice", buf, sizeof(buf)), "alice");
	assert_string_equal(tm_shown_name(m, "p2", "bob", buf, sizeof(buf)), "bob");
	/* The join line itself reads "carol (p4) joined". */
	assert_string_equal(tm_shown_name(m, last(m)->from, last(m)->name, buf, sizeof(buf)),
			    "carol (p4)");

	/* Their chat lines name the sender apart. */
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"hi\","
			       "\"name\":\"carol\"},\"from\":\"p3\",\"ts\":1}", LOCAL), 0);
	from_p3 = last(m);
	assert_string_equal(from_p3->from, "p3");
	assert_string_equal(tm_shown_name(m, from_p3->from, from_p3->name, buf, sizeof(buf)),
			    "carol (p3)");
	assert_int_equal(apply(m, "{\"type\":\"reaction\",\"payload\":{\"emoji\":\"x\","
			       "\"name\":\"carol\"},\"from\":\"p4\",\"ts\":2}", LOCAL), 0);
	assert_string_equal(tm_shown_name(m, last(m)->from, last(m)->name, buf, sizeof(buf)),
			    "carol (p4)");
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"yo\","
			       "\"name\":\"alice\"},\"from\":\"p1\",\"ts\":3}", LOCAL), 0);
	from_p1 = last(m);
	assert_string_equal(tm_shown_name(m, from_p1->from, from_p1->name, buf, sizeof(buf)),
			    "alice");

	/* /host: the shown name finds one; the bare name, shared, finds none. */
	assert_true(tm_member_named(m, "carol (p4)") == &m->members[3]);
	assert_true(tm_member_named(m, "carol (p3)") == &m->members[2]);
	assert_null(tm_member_named(m, "carol"));
	assert_true(tm_member_named(m, "alice") == &m->members[0]);

	/* The first carol leaves: the one here is plain carol again, and the
	 * line of the one gone still says which carol it was. */
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"p3\"}}",
			       LOCAL), 0);
	assert_string_equal(tm_shown_name(m, "p4", "carol", buf, sizeof(buf)), "carol");
	assert_string_equal(tm_shown_name(m, from_p3->from, from_p3->name, buf, sizeof(buf)),
			    "carol (p3)");
	assert_true(tm_member_named(m, "carol") == &m->members[2]);
	assert_null(tm_member_named(m, "carol (p3)"));

	/* An id from the server is made safe to show as well. */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":"
			       "\"\\u001b[2J\\u202e\",\"name\":\"carol\"}}", LOCAL), 0);
	assert_string_equal(tm_shown_name(m, "p4", "carol", buf, sizeof(buf)), "carol (p4)");
	assert_string_equal(tm_shown_name(m, "\x1b[2J\xe2\x80\xae", "carol", buf, sizeof(buf)),
			    "carol ( [2J)");
	/* A line with no member (a notice) is never given an id. */
	assert_string_equal(tm_shown_name(m, "", "carol", buf, sizeof(buf)), "carol");
}

static void test_scrollback_bound(void **state)
{
	struct tm_model *m = *state;
	char buf[160];

	for (int i = 0; i < TM_LINES_MAX + 500; i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"chat\",\"payload\":{\"text\":\"n%d\","
			 "\"name\":\"x\"},\"ts\":%d}", i, i);
		assert_int_equal(apply(m, buf, LOCAL), 0);
		assert_true(m->n_lines <= TM_LINES_MAX);
	}
	assert_int_equal(m->n_lines, TM_LINES_MAX);
	assert_string_equal(line(m, 0)->text, "n500");
	assert_string_equal(last(m)->text, "n1499");
	assert_true(m->first_line < TM_LINES_MAX);

	/* Scrolled back, the view stays put as lines arrive, up to the top. */
	m->scroll = 10;
	tm_notice(m, LOCAL, "one");
	assert_true(m->scroll == 11);
	m->scroll = TM_LINES_MAX - 1;
	tm_notice(m, LOCAL, "two");
	assert_true(m->scroll == TM_LINES_MAX - 1);
	m->scroll = 0;
	tm_notice(m, LOCAL, "three");
	assert_true(m->scroll == 0);
}

static void test_members_bound(void **state)
{
	struct tm_model *m = *state;
	char buf[160];

	for (int i = 0; i < TM_MEMBERS_MAX + 20; i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"member_joined\",\"payload\":"
			 "{\"id\":\"m%d\",\"name\":\"n%d\"}}", i, i);
		assert_int_equal(apply(m, buf, LOCAL), 0);
	}
	assert_int_equal(m->n_members, TM_MEMBERS_MAX);
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"m0\"}}",
			       LOCAL), 0);
	assert_int_equal(m->n_members, TM_MEMBERS_MAX - 1);
	assert_string_equal(member_id(m, 0), "m1");
}

/* The waiting room: party_state shows on the status line, dropped is a
 * notice, a bad party_state changes nothing. */
static void test_waiting_room(void **state)
{
	struct tm_model *m = *state;
	char buf[256];

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	feed_offset(m);
	assert_false(m->waiting);
	tm_waiting_text(m, LOCAL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	assert_int_equal(apply(m, "{\"type\":\"party_state\",\"payload\":{\"waiting\":true,"
			       "\"waiting_for\":[\"p1\",\"p3\"],\"waiting_count\":2,"
			       "\"deadline\":null}}", LOCAL), 0);
	assert_true(m->waiting);
	tm_waiting_text(m, LOCAL, buf, sizeof(buf));
	assert_string_equal(buf, "waiting for alice, carol");
	snprintf(buf, sizeof(buf), "{\"type\":\"party_state\",\"payload\":{\"waiting\":true,"
		 "\"waiting_for\":[\"p1\",\"p3\",\"zz\",\"p2\"],\"waiting_count\":40,"
		 "\"deadline\":%.3f}}", S0 + 7200);
	assert_int_equal(apply(m, buf, LOCAL), 0);
	tm_waiting_text(m, LOCAL, buf, sizeof(buf));
	assert_string_equal(buf, "waiting for alice, carol, zz\xe2\x80\xa6 (40), 8 s at most");
	/* malformed: rejected, the model as it was */
	assert_int_equal(apply(m, "{\"type\":\"party_state\",\"payload\":{\"waiting\":1}}",
			       LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"party_state\",\"payload\":{\"waiting\":false,"
			       "\"deadline\":\"soon\"}}", LOCAL), -1);
	assert_true(m->waiting);
	assert_int_equal(apply(m, "{\"type\":\"party_state\",\"payload\":{\"waiting\":false,"
			       "\"waiting_for\":[],\"waiting_count\":0,\"deadline\":null}}",
			       LOCAL), 0);
	tm_waiting_text(m, LOCAL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	/* dropped: a notice */
	assert_int_equal(apply(m, "{\"type\":\"dropped\",\"payload\":{\"reason\":"
			       "\"ready_timeout\"}}", LOCAL), 0);
	assert_int_equal(last(m)->kind, TM_NOTICE);
	assert_non_null(strstr(last(m)->text, "ready_timeout"));
	assert_int_equal(apply(m, "{\"type\":\"dropped\",\"payload\":{\"reason\":"
			       "\"forced_start\"}}", LOCAL), 0);
	assert_non_null(strstr(last(m)->text, "started without waiting"));
	/* a welcome says whether the party waits */
	m->waiting = false;
	snprintf(buf, sizeof(buf), "{\"type\":\"welcome\",\"payload\":{\"participant_id\":"
		 "\"p2\",\"host_id\":\"p1\",\"members\":[],\"state\":{\"position\":1,"
		 "\"playing\":false,\"speed\":1,\"server_time\":%.3f},\"waiting\":true}}", S0);
	assert_int_equal(apply(m, buf, LOCAL), 0);
	tm_waiting_text(m, LOCAL, buf, sizeof(buf));
	assert_string_equal(buf, "waiting for members");
	/* an unknown id with an escape sequence is never shown raw */
	assert_int_equal(apply(m, "{\"type\":\"party_state\",\"payload\":{\"waiting\":true,"
			       "\"waiting_for\":[\"\\u001b[2Jx\\u202e\"],\"waiting_count\":1,"
			       "\"deadline\":null}}", LOCAL), 0);
	tm_waiting_text(m, LOCAL, buf, sizeof(buf));
	assert_string_equal(buf, "waiting for  [2Jx");
	/* tiny buffers are cut, never overrun */
	tm_waiting_text(m, LOCAL, buf, 5);
	assert_string_equal(buf, "wait");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

/* Rows of body at width as the view draws them: the first behind a
 * 6-column stamp ("12:34 "), the others behind TM_WRAP_MARK. */
static size_t rows_as_drawn(const char *body, int width, char rows[][256], size_t max)
{
	size_t starts[64], n = tm_wrap(body, width, starts, 64);

	assert_true(n <= max && n <= 64);
	for (size_t r = 0; r < n; r++) {
		size_t end = r + 1 < n ? starts[r + 1] : strlen(body);

		snprintf(rows[r], 256, "%s%.*s", r ? TM_WRAP_MARK : "12:34 ",
			 (int)(end - starts[r]), body + starts[r]);
	}
	return n;
}

/* A chat padded with spaces to the pane's width puts "12:34 bob: ..." at
 * the start of a wrapped row, where it would read as bob's own line: every
 * wrapped row starts with the continuation mark, so only a message's first
 * row can look like a line, and that row names the real sender. */
static void test_wrap_marks_continuation_rows(void **state)
{
	char body[512], rows[16][256];
	size_t n, b;
	int width = 40, room = width - TM_WRAP_INDENT;

	(void)state;
	assert_non_null(setlocale(LC_CTYPE, "C.UTF-8"));
	snprintf(body, sizeof(body), "mallory: hi%*s12:34 bob: send me your token", room - 11, "");
	n = rows_as_drawn(body, width, rows, 16);
	assert_int_equal(n, 2);
	assert_int_equal(strlen(rows[0]), (size_t)width);     /* the pane's width exactly */
	assert_memory_equal(rows[0], "12:34 mallory: hi   ", 20);
	assert_string_equal(rows[1], TM_WRAP_MARK "12:34 bob: send me your token");
	for (size_t r = 1; r < n; r++)
		assert_memory_equal(rows[r], TM_WRAP_MARK, strlen(TM_WRAP_MARK));
	/* the mark takes the stamp's columns */
	assert_int_equal(tm_fit(TM_WRAP_MARK, 100, &b), TM_WRAP_INDENT);
	/* every row's text fits the room left, wide characters whole */
	snprintf(body, sizeof(body), "ann: %s", "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab"
		 "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab");
	n = rows_as_drawn(body, 16, rows, 16);    /* room 10: "ann: ", then 5 cats a row */
	assert_int_equal(n, 3);
	assert_string_equal(rows[1], TM_WRAP_MARK "\xe7\x8c\xab\xe7\x8c\xab\xe7\x8c\xab"
			    "\xe7\x8c\xab\xe7\x8c\xab");
	for (size_t r = 0; r < n; r++) {
		assert_true(tm_fit(rows[r], 1000, &b) <= 16);
		assert_true(rv_utf8_valid(rows[r], strlen(rows[r])));
	}
	/* rows end at word boundaries: no word is cut that fits a row */
	n = rows_as_drawn("ann: the quick brown fox jumps", 20, rows, 16);   /* room 14 */
	assert_int_equal(n, 3);
	assert_memory_equal(rows[0] + TM_WRAP_INDENT, "ann: the ", 9);
	assert_string_equal(rows[1], TM_WRAP_MARK "quick brown ");
	assert_string_equal(rows[2], TM_WRAP_MARK "fox jumps");
	/* a word longer than the room starts a row and is cut where it ends */
	n = rows_as_drawn("ann: abcdefghijklmnopqrstuvwxyz", 20, rows, 16);
	assert_int_equal(n, 3);
	assert_string_equal(rows[1], TM_WRAP_MARK "abcdefghijklmn");
	assert_string_equal(rows[2], TM_WRAP_MARK "opqrstuvwxyz");
	/* a pane too narrow for any text still moves on, a character a row */
	assert_int_equal(tm_wrap("\xe7\x8c\xab\xe7\x8c\xab", 6, NULL, 0), 2);
	assert_int_equal(tm_wrap("abc", 3, NULL, 0), 3);
	assert_int_equal(tm_wrap("", 40, NULL, 0), 1);
	/* invalid UTF-8: a byte a column, never stuck */
	assert_int_equal(tm_wrap("\xff\xfe\xfd", 7, NULL, 0), 3);
	setlocale(LC_CTYPE, "C");
}

/* ---- the simulated player and the host's drift view ------------------- */

static void step(struct tm_player *pl, const struct rv_playback *st, double server, double local)
{
	tm_player_step(pl, st, server, local);
}

static void test_player_follows_party(void **state)
{
	struct tm_player pl;
	struct rv_playback st = { .position = 10, .playing = true, .speed = 1,
				  .server_time = S0 };
	char text[64];
	double local = LOCAL, skew = 0;

	(void)state;
	tm_player_init(&pl);
	assert_int_equal(tm_player_sync(&pl, local), TM_SYNC_NONE);
	tm_player_sync_text(&pl, local, text, sizeof(text));
	assert_string_equal(text, "");
	/* it opens at the party's position: in sync, no seek */
	step(&pl, &st, S0 + 1000, local);
	assert_near(tm_player_position(&pl, local), 11, 1e-9);
	assert_int_equal(tm_player_sync(&pl, local), TM_SYNC_IN);
	tm_player_sync_text(&pl, local, text, sizeof(text));
	assert_string_equal(text, "in sync");
	assert_near(tm_player_position(&pl, local + 500), 11.5, 1e-9);
	/* the clock estimate moves 40 ms: behind, corrected by rate */
	skew = 40;
	step(&pl, &st, S0 + 1250 + skew, local + 250);
	assert_int_equal(tm_player_sync(&pl, local + 250), TM_SYNC_CORRECTING);
	assert_near(pl.drift_ms, -40, 1e-6);
	assert_true(pl.rate > 1 && pl.rate <= 1.05);
	tm_player_sync_text(&pl, local + 250, text, sizeof(text));
	assert_string_equal(text, "drifting -40 ms");
	/* a few seconds of 250 ms steps: back within the settle band */
	for (int i = 2; i <= 60; i++)
		step(&pl, &st, S0 + 1000 + 250 * i + skew, local + 250 * i);
	assert_int_equal(tm_player_sync(&pl, local + 15000), TM_SYNC_IN);
	assert_true(fabs(pl.drift_ms) <= 5);
	assert_near(pl.rate, 1, 1e-12);
	local += 15000;
	/* the host seeks far: a seek, shown for a second */
	st = (struct rv_playback){ .position = 600, .playing = true, .speed = 2,
				   .server_time = S0 + 16000 + skew };
	step(&pl, &st, S0 + 16000 + skew, local);
	assert_int_equal(tm_player_sync(&pl, local), TM_SYNC_SEEKING);
	assert_near(tm_player_position(&pl, local), 600, 1e-9);
	assert_near(pl.rate, 2, 1e-12);
	step(&pl, &st, S0 + 17500 + skew, local + 1500);
	assert_int_equal(tm_player_sync(&pl, local + 1500), TM_SYNC_IN);
	assert_near(tm_player_position(&pl, local + 1500), 603, 1e-9);
	/* the host seeks again 2 s later: obeyed at once, not spaced like
	 * the policy's own seeks */
	st = (struct rv_playback){ .position = 900, .playing = true, .speed = 2,
				   .server_time = S0 + 18000 + skew };
	step(&pl, &st, S0 + 18000 + skew, local + 2000);
	assert_near(tm_player_position(&pl, local + 2000), 900, 1e-9);
	assert_int_equal(tm_player_sync(&pl, local + 2000), TM_SYNC_SEEKING);
	/* paused: put where the party paused, and held there */
	st = (struct rv_playback){ .position = 700, .playing = false, .speed = 1,
				   .server_time = S0 + 18000 };
	step(&pl, &st, S0 + 19000, local + 2000);
	assert_false(pl.playing);
	assert_near(tm_player_position(&pl, local + 9000), 700, 1e-9);
	/* garbage changes nothing */
	step(&pl, &st, NAN, local + 3000);
	assert_near(tm_player_position(&pl, local + 3000), 700, 1e-9);
}

/* A state stamped in the future (a scheduled command) waits for its
 * instant: the player keeps following the one before until then. */
static void test_player_scheduled_state(void **state)
{
	struct tm_player pl;
	struct rv_playback st = { .position = 10, .playing = true, .speed = 1,
				  .server_time = S0 };

	(void)state;
	tm_player_init(&pl);
	step(&pl, &st, S0, LOCAL);
	/* at S0 + 1000 the host pauses at 12 for S0 + 2000 */
	st = (struct rv_playback){ .position = 12, .playing = false, .speed = 1,
				   .server_time = S0 + 2000 };
	step(&pl, &st, S0 + 1000, LOCAL + 1000);
	assert_true(pl.playing);
	assert_near(tm_player_position(&pl, LOCAL + 1000), 11, 1e-9);
	assert_int_equal(tm_player_sync(&pl, LOCAL + 1000), TM_SYNC_IN);
	step(&pl, &st, S0 + 1500, LOCAL + 1500);
	assert_true(pl.playing);
	/* due: paused where the host said, with no seek to speak of */
	step(&pl, &st, S0 + 2000, LOCAL + 2000);
	assert_false(pl.playing);
	assert_near(tm_player_position(&pl, LOCAL + 5000), 12, 1e-9);
	assert_int_equal(tm_player_sync(&pl, LOCAL + 2000), TM_SYNC_IN);
}

static void test_player_status(void **state)
{
	struct tm_model *m = *state;
	struct tm_player *pl = &m->player;
	char buf[256];
	json_t *j, *p;

	/* nothing before the player has a position */
	assert_int_equal(tm_player_status(pl, &m->clock, LOCAL, buf, sizeof(buf)), 0);
	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	tm_player_step(pl, &m->state, S0 + 1000, LOCAL);
	/* no clock estimate yet: no at, no error bound */
	assert_int_equal(tm_player_status(pl, &m->clock, LOCAL, buf, sizeof(buf)), 1);
	j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "status");
	p = json_object_get(j, "payload");
	assert_near(json_number_value(json_object_get(p, "position")), 12, 1e-6);
	assert_true(json_is_true(json_object_get(p, "playing")));
	assert_true(json_is_false(json_object_get(p, "buffering")));
	assert_null(json_object_get(p, "at"));
	assert_null(json_object_get(p, "clock_error_ms"));
	json_decref(j);
	/* one a second */
	assert_int_equal(tm_player_status(pl, &m->clock, LOCAL + 999, buf, sizeof(buf)), 0);
	feed_offset(m);
	assert_int_equal(tm_player_status(pl, &m->clock, LOCAL + 1000, buf, sizeof(buf)), 1);
	j = json_loads(buf, 0, NULL);
	p = json_object_get(j, "payload");
	assert_near(json_number_value(json_object_get(p, "position")), 14, 1e-6);
	assert_near(json_number_value(json_object_get(p, "at")), S0 + 1000, 1);
	assert_true(json_number_value(json_object_get(p, "clock_error_ms")) >= 10);
	json_decref(j);
	/* too small a buffer: nothing */
	assert_int_equal(tm_player_status(pl, &m->clock, LOCAL + 2000, buf, 20), 0);
}

static void test_drift_report(void **state)
{
	struct tm_model *m = *state;
	char text[32];

	assert_int_equal(welcome(m, "p1", "", LOCAL), 0);
	assert_true(tm_is_host(m));
	m->dirty = 0;
	assert_int_equal(apply(m, "{\"type\":\"drift\",\"payload\":{\"members\":["
			       "{\"id\":\"p2\",\"drift_ms\":null,\"buffering\":true,"
			       "\"clock_error_ms\":null},"
			       "{\"id\":\"p3\",\"drift_ms\":-25.4,\"buffering\":false,"
			       "\"clock_error_ms\":2},"
			       "{\"id\":\"gone\",\"drift_ms\":9,\"buffering\":false,"
			       "\"clock_error_ms\":2}],\"count\":7},\"ts\":1}", LOCAL), 0);
	assert_true(m->dirty & TM_DIRTY_MEMBERS);
	assert_int_equal(m->drift_count, 7);
	tm_member_drift_text(&m->members[0], text, sizeof(text));
	assert_string_equal(text, "");
	tm_member_drift_text(&m->members[1], text, sizeof(text));
	assert_string_equal(text, "buffering");
	tm_member_drift_text(&m->members[2], text, sizeof(text));
	assert_string_equal(text, "-25 ms");
	/* the next report: those it does not list have none */
	assert_int_equal(apply(m, "{\"type\":\"drift\",\"payload\":{\"members\":["
			       "{\"id\":\"p1\",\"drift_ms\":12,\"buffering\":false,"
			       "\"clock_error_ms\":null}],\"count\":1}}", LOCAL), 0);
	tm_member_drift_text(&m->members[0], text, sizeof(text));
	assert_string_equal(text, "+12 ms");
	tm_member_drift_text(&m->members[2], text, sizeof(text));
	assert_string_equal(text, "");
	/* malformed: refused */
	assert_int_equal(apply(m, "{\"type\":\"drift\",\"payload\":{\"members\":{},"
			       "\"count\":1}}", LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"drift\",\"payload\":{\"members\":[],"
			       "\"count\":-1}}", LOCAL), -1);
	assert_int_equal(apply(m, "{\"type\":\"drift\",\"payload\":{\"members\":["
			       "{\"id\":\"p1\",\"drift_ms\":12}],\"count\":1}}", LOCAL), -1);
	/* a new member never inherits a gone one's drift */
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"p3\","
			       "\"name\":\"carol\"}}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":\"p4\","
			       "\"name\":\"dan\"}}", LOCAL), 0);
	assert_false(m->members[2].has_drift);
}

/* A relayed sync, as the server sends it, from id at server time t. */
static int sync_from(struct tm_model *m, const char *from, double pos, bool playing,
		     double speed, double t)
{
	char buf[320];

	snprintf(buf, sizeof(buf), "{\"type\":\"sync\",\"payload\":{\"position\":%.3f,"
		 "\"playing\":%s,\"speed\":%g,\"server_time\":%.3f},\"from\":\"%s\","
		 "\"ts\":%.3f}", pos, playing ? "true" : "false", speed, t, from, t);
	return apply(m, buf, LOCAL);
}

/* Issue 16: who did what to playback, as Syncplay prints it. */
static void test_host_actions_told(void **state)
{
	struct tm_model *m = *state;
	size_t n;

	/* welcome: 10 s, playing at 2x at S0; alice (p1) hosts */
	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	assert_int_equal(m->n_lines, 0);
	/* a pause where playback is by then: 10 + 2 * 370 = 750 s */
	assert_int_equal(sync_from(m, "p1", 750, false, 2, S0 + 370000), 0);
	assert_int_equal(last(m)->kind, TM_ACTION);
	assert_string_equal(last(m)->name, "alice");
	assert_string_equal(last(m)->from, "p1");
	assert_string_equal(last(m)->text, "paused at 12:30");
	assert_near(last(m)->at_ms, S0 + 370000, 1e-6);
	assert_int_equal(sync_from(m, "p1", 750, true, 2, S0 + 380000), 0);
	assert_string_equal(last(m)->text, "resumed at 12:30");
	/* a jump while playing: from where it would be (750 + 2 * 5) */
	assert_int_equal(sync_from(m, "p1", 5, true, 2, S0 + 385000), 0);
	assert_string_equal(last(m)->text, "jumped from 12:40 to 0:05");
	assert_int_equal(sync_from(m, "p1", 5, true, 1.25, S0 + 385000), 0);
	assert_string_equal(last(m)->text, "set speed 1.25\xc3\x97");
	/* the same state again (a resync) tells nothing */
	n = m->n_lines;
	assert_int_equal(sync_from(m, "p1", 5, true, 1.25, S0 + 385000), 0);
	assert_int_equal(m->n_lines, n);
	/* half a second off is playback, not a jump */
	assert_int_equal(sync_from(m, "p1", 5.5 + 1.25 * 1, true, 1.25, S0 + 386000), 0);
	assert_int_equal(m->n_lines, n);
	/* a sender who is not the host (the waiting room's stalled member) */
	assert_int_equal(sync_from(m, "p3", 12, false, 1.25, S0 + 390000), 0);
	assert_string_equal(last(m)->name, "carol");
	assert_string_equal(last(m)->text, "paused at 0:12");

	/* the host's own command changes the state at once but is told when
	 * the server's copy comes back, once */
	tm_init(m, "movie-night", "alice", 0);
	assert_int_equal(welcome(m, "p1", "", LOCAL), 0);
	assert_true(tm_is_host(m));
	{
		char own[256];

		snprintf(own, sizeof(own), "{\"type\":\"sync\",\"payload\":{\"position\":10,"
			 "\"playing\":false,\"speed\":2,\"server_time\":%.3f}}", S0);
		assert_int_equal(tm_apply_own(m, own, strlen(own), LOCAL), 0);
	}
	assert_int_equal(m->n_lines, 0);
	assert_int_equal(sync_from(m, "p1", 10, false, 2, S0), 0);
	assert_int_equal(m->n_lines, 1);
	assert_string_equal(last(m)->name, "alice");
	assert_string_equal(last(m)->text, "paused at 0:10");
}

/* Issue 16: a crowd joining folds into one line; a pause in the crowd or a
 * chat line starts a new one. */
static void test_crowd_folds(void **state)
{
	struct tm_model *m = *state;
	char buf[256];

	assert_int_equal(welcome(m, "p2", "", LOCAL), 0);
	for (int i = 0; i < 12; i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"member_joined\",\"payload\":{\"id\":"
			 "\"c%d\",\"name\":\"guest%d\"},\"ts\":%.3f}", i, i, S0 + 500.0 * i);
		assert_int_equal(apply(m, buf, LOCAL), 0);
		if (!i) {
			assert_string_equal(last(m)->name, "guest0");
			assert_string_equal(last(m)->text, "joined");
		}
	}
	assert_int_equal(m->n_lines, 1);
	assert_int_equal(last(m)->kind, TM_JOIN);
	assert_string_equal(last(m)->name, "");
	assert_string_equal(last(m)->from, "");
	assert_int_equal(last(m)->count, 12);
	assert_string_equal(last(m)->text, "12 people joined");
	assert_int_equal(m->n_members, 15);
	/* the twelve came 500 ms apart over 5.5 s; one past the window from
	 * the last of them: a line of its own */
	assert_int_equal(apply(m, "{\"type\":\"member_joined\",\"payload\":{\"id\":\"z1\","
			       "\"name\":\"zed\"},\"ts\":1700000015501}", LOCAL), 0);
	assert_int_equal(m->n_lines, 2);
	assert_string_equal(last(m)->text, "joined");
	/* leaves fold too, and a chat line in between keeps them apart */
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"c1\"},"
			       "\"ts\":1700000015502}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"c2\"},"
			       "\"ts\":1700000015503}", LOCAL), 0);
	assert_string_equal(last(m)->text, "2 people left");
	assert_int_equal(apply(m, "{\"type\":\"chat\",\"payload\":{\"text\":\"bye\","
			       "\"name\":\"zed\"},\"from\":\"z1\",\"ts\":1700000015504}", LOCAL), 0);
	assert_int_equal(apply(m, "{\"type\":\"member_left\",\"payload\":{\"id\":\"c3\"},"
			       "\"ts\":1700000015505}", LOCAL), 0);
	assert_string_equal(last(m)->name, "guest3");
	assert_string_equal(last(m)->text, "left");
	/* a presence batch folds into the crowd it follows */
	assert_int_equal(apply(m, "{\"type\":\"presence\",\"payload\":{\"joined\":[],"
			       "\"left\":[{\"id\":\"c4\"},{\"id\":\"c5\"}],\"count\":9,"
			       "\"joined_more\":0,\"left_more\":0},\"ts\":1700000015506}", LOCAL), 0);
	assert_string_equal(last(m)->text, "3 people left");
	/* the window slides: joins 8 s apart keep folding, 24 s after the
	 * first of them */
	for (int i = 0; i < 4; i++) {
		snprintf(buf, sizeof(buf), "{\"type\":\"member_joined\",\"payload\":{\"id\":"
			 "\"s%d\",\"name\":\"slow%d\"},\"ts\":%.3f}", i, i, S0 + 60000 + 8000.0 * i);
		assert_int_equal(apply(m, buf, LOCAL), 0);
	}
	assert_string_equal(last(m)->text, "4 people joined");
	assert_near(last(m)->at_ms, S0 + 60000, 1e-6);      /* shown at the first */
}

/* Issue 16: sync in words. */
static void test_sync_words(void **state)
{
	struct tm_model *m = *state;
	char cause[300];

	assert_int_equal(welcome(m, "p1", "", LOCAL), 0);
	assert_null(tm_member_sync_word(&m->members[1]));
	assert_int_equal(apply(m, "{\"type\":\"drift\",\"payload\":{\"members\":["
			       "{\"id\":\"p2\",\"drift_ms\":null,\"buffering\":true},"
			       "{\"id\":\"p3\",\"drift_ms\":-350,\"buffering\":false},"
			       "{\"id\":\"p1\",\"drift_ms\":40,\"buffering\":false}],"
			       "\"count\":3}}", LOCAL), 0);
	assert_string_equal(tm_member_sync_word(&m->members[0]), "in sync");
	assert_string_equal(tm_member_sync_word(&m->members[1]), "buffering");
	assert_string_equal(tm_member_sync_word(&m->members[2]), "drifting");

	/* why a connection failed, and whether a retry can help */
	assert_true(tm_connect_cause(0, 0, "connect SSL err 1: error:00000001:lib(0)::reason(1)",
				     "[2026/12/06 08:54:39:4281] E: SSL error: self-signed "
				     "certificate (preverify_ok=0;err=18;depth=0)", false, true,
				     cause, sizeof(cause)));
	assert_string_equal(cause, "certificate not trusted (self-signed certificate): "
			    "try --ca FILE or --insecure");
	assert_false(tm_connect_cause(0, 0, "Unable to connect", "", false, false, cause,
				      sizeof(cause)));
	assert_string_equal(cause, "connection refused: nothing answers there");
	assert_false(tm_connect_cause(0, 0, "no such host", NULL, false, false, cause,
				      sizeof(cause)));
	assert_string_equal(cause, "no such host");
	assert_true(tm_connect_cause(0, 403, "", NULL, false, false, cause, sizeof(cause)));
	assert_string_equal(cause, "the server refused this client or its origin (HTTP 403)");
	assert_true(tm_connect_cause(0, 418, "", NULL, false, false, cause, sizeof(cause)));
	assert_string_equal(cause, "the server refused (HTTP 418)");
	assert_true(tm_connect_cause(0, 401, "", NULL, true, false, cause, sizeof(cause)));
	assert_string_equal(cause, "the server refused the token (HTTP 401)");
	assert_false(tm_connect_cause(0, 429, "", NULL, false, false, cause, sizeof(cause)));
	assert_false(tm_connect_cause(0, 503, "", NULL, false, false, cause, sizeof(cause)));
	assert_false(tm_connect_cause(0, 500, "", NULL, false, false, cause, sizeof(cause)));
	assert_false(tm_connect_cause(1001, 0, "", NULL, false, false, cause, sizeof(cause)));
	assert_string_equal(cause, "the server is restarting");
	/* the admin API's closes end the client rather than rejoin */
	assert_true(tm_connect_cause(4403, 0, "removed by the operator", NULL, true, false, cause,
				     sizeof(cause)));
	assert_string_equal(cause, "an operator removed you from the party (4403)");
	assert_true(tm_connect_cause(4410, 0, "party closed by the operator", NULL, true, false,
				     cause, sizeof(cause)));
	assert_string_equal(cause, "an operator closed the party (4410)");
	/* over ws:// an SSL word is not a certificate problem; control
	 * characters in what the library said never reach the screen */
	assert_false(tm_connect_cause(0, 0, "bad\x1b[2Jssl", NULL, false, false, cause,
				      sizeof(cause)));
	assert_null(strchr(cause, '\x1b'));
	tm_connect_cause(0, 0, "x", "E: SSL error: \x1b[31mevil (", false, true, cause,
			 sizeof(cause));
	assert_null(strchr(cause, '\x1b'));
}

/* Issue 16: lines arriving while scrolled back are counted for the "new
 * messages below" mark. */
static void test_unseen_while_scrolled(void **state)
{
	struct tm_model *m = *state;

	assert_int_equal(welcome(m, "p2", TWO_LINES, LOCAL), 0);
	tm_notice(m, LOCAL, "one");
	assert_int_equal(m->unseen, 0);
	m->scroll = 1;
	tm_notice(m, LOCAL, "two");
	tm_notice(m, LOCAL, "three");
	assert_int_equal(m->unseen, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_init),
		T(test_welcome),
		T(test_welcome_server_name),
		T(test_first_welcome_replaces_scrollback),
		T(test_welcome_rejected_leaves_model),
		T(test_membership_lines),
		T(test_no_host),
		T(test_chat_and_reactions),
		T(test_rejoin_keeps_scrollback),
		T(test_rejoin_without_chat_held),
		T(test_rejoin_keeps_names_as_shown),
		T(test_sync_and_extrapolation),
		T(test_scheduled_pause),
		T(test_time_feeds_estimator),
		T(test_error_notice),
		T(test_waiting_room),
		T(test_malformed_inputs),
		T(test_utf8_never_cut),
		T(test_c1_controls_never_shown),
		T(test_invalid_utf8_never_shown),
		T(test_bidi_and_escapes_never_shown),
		T(test_wrap_marks_continuation_rows),
		T(test_same_names_told_apart),
		T(test_scrollback_bound),
		T(test_members_bound),
		T(test_presence),
		T(test_player_follows_party),
		T(test_player_scheduled_state),
		T(test_player_status),
		T(test_drift_report),
		T(test_host_actions_told),
		T(test_crowd_folds),
		T(test_sync_words),
		T(test_unseen_while_scrolled),
	};

	return cmocka_run_group_tests_name("tui_model", tests, NULL, NULL);
}
