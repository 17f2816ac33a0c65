/* tests/unit/test_scenario.c - scenario files for `revenge-probe run`
 * (cmd/revenge-probe/scenario*.c): parsing and validation with line numbers,
 * matchers, paths, substitution and durations.
 *
 * Hostile input is parsed from buffers that end right before a PROT_NONE
 * page, so any read past the end crashes the test instead of passing.
 */
#include "unit.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <revenge/proto.h>

#include "scenario.h"

/* ------------------------------------------------------------------ helpers */

/* A buffer whose last byte sits right before an inaccessible page. */
struct guard {
	unsigned char *base;
	size_t span;            /* readable bytes, a whole number of pages */
	size_t page;
};

static void guard_init(struct guard *g, size_t max_len)
{
	long pg = sysconf(_SC_PAGESIZE);

	assert_true(pg > 0);
	g->page = (size_t)pg;
	g->span = (max_len + g->page - 1) / g->page * g->page;
	if (g->span == 0)
		g->span = g->page;
	g->base = mmap(NULL, g->span + g->page, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(g->base != MAP_FAILED);
	assert_int_equal(mprotect(g->base + g->span, g->page, PROT_NONE), 0);
}

static void guard_free(struct guard *g)
{
	munmap(g->base, g->span + g->page);
}

/* Copy s[0..len) so that it ends exactly at the guard page. */
static const char *guard_put(struct guard *g, const void *s, size_t len)
{
	unsigned char *p;

	assert_true(len <= g->span);
	p = g->base + g->span - len;
	if (len)
		memcpy(p, s, len);
	return (const char *)p;
}

/* printf into a new heap string. */
__attribute__((format(printf, 1, 2)))
static char *fmt(const char *f, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, f);
	n = vsnprintf(NULL, 0, f, ap);
	va_end(ap);
	assert_true(n >= 0);
	s = malloc((size_t)n + 1);
	assert_non_null(s);
	va_start(ap, f);
	vsnprintf(s, (size_t)n + 1, f, ap);
	va_end(ap);
	return s;
}

/* unit repeated n times, as a new heap string. */
static char *rep(const char *unit, size_t n)
{
	size_t u = strlen(unit);
	char *s = malloc(u * n + 1);

	assert_non_null(s);
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static json_t *js(const char *text)
{
	json_error_t e;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &e);

	if (!v)
		fail_msg("bad test JSON %s: %s", text, e.text);
	return v;
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void parse_ok(const char *text, struct scenario *sc)
{
	char err[512];

	if (scn_parse(text, strlen(text), sc, err, sizeof(err)) != 0)
		fail_msg("parse failed: %s\n%s", err, text);
}

/* The parse must fail with a message starting with want. */
static void parse_fails(const char *text, const char *want)
{
	struct scenario sc;
	char err[512];
	int rc = scn_parse(text, strlen(text), &sc, err, sizeof(err));

	if (rc != -1 || strncmp(err, want, strlen(want)) != 0)
		fail_msg("rc %d, error\n  \"%s\"\nwanted it to start with\n  \"%s\"\nfor\n%s",
			 rc, err, want, text);
	assert_true(all_zero(&sc, sizeof(sc)));
}

/* Two clients, alice (line 3) and bob (line 4); the steps start on line 7. */
static char *with_steps(const char *steps)
{
	return fmt("{\n"
		   "  \"clients\": {\n"
		   "    \"alice\": {\"path\": \"/ws/party/demo?name=alice\"},\n"
		   "    \"bob\": {\"path\": \"/ws/party/demo?name=bob\"}\n"
		   "  },\n"
		   "  \"steps\": [\n"
		   "%s\n"
		   "  ]\n"
		   "}\n", steps);
}

/* The given clients, starting on line 3. */
static char *with_clients(const char *clients)
{
	return fmt("{\n"
		   "  \"clients\": {\n"
		   "%s\n"
		   "  },\n"
		   "  \"steps\": [{\"sleep\": \"1s\"}]\n"
		   "}\n", clients);
}

struct bad_case {
	const char *text;
	const char *want;
};

/* The scenario of scenario.h, steps on lines 10, 12, 13, 14, 16, 17, 18. */
static const char EXAMPLE[] =
	"{\n"
	"  \"name\": \"chat reaches everyone\",\n"
	"  \"timeout\": \"5s\",\n"
	"  \"clients\": {\n"
	"    \"alice\": {\"path\": \"/ws/party/demo?name=alice\"},\n"
	"    \"bob\":   {\"path\": \"/ws/party/demo?name=bob\", \"origin\": \"http://localhost\",\n"
	"              \"lazy\": true}\n"
	"  },\n"
	"  \"steps\": [\n"
	"    {\"expect\": \"welcome\", \"client\": \"alice\",\n"
	"     \"match\": {\"payload.role\": \"host\"}, \"save\": {\"host\": \"payload.host_id\"}},\n"
	"    {\"open\": \"bob\"},\n"
	"    {\"send\": {\"type\": \"chat\", \"payload\": {\"text\": \"hi ${host}\"}}, \"client\": \"bob\"},\n"
	"    {\"expect\": \"chat\", \"client\": \"alice\", \"within\": \"2s\",\n"
	"     \"match\": {\"payload.text\": {\"regex\": \"^hi \"}, \"ts\": {\"min\": 0}}},\n"
	"    {\"expect_none\": \"sync\", \"client\": \"bob\", \"for\": \"500ms\"},\n"
	"    {\"sleep\": \"200ms\"},\n"
	"    {\"close\": \"bob\"}\n"
	"  ]\n"
	"}\n";

static void assert_json(const json_t *got, const char *want)
{
	json_t *w = js(want);

	if (!json_equal((json_t *)got, w)) {
		char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		json_decref(w);
		fail_msg("got %s, expected %s", g ? g : "NULL", want);
	}
	json_decref(w);
}

/* ------------------------------------------------------------------ parsing */

static void example_parses_with_every_field(void **state)
{
	struct scenario sc;
	const struct scn_step *st;

	parse_ok(EXAMPLE, &sc);
	assert_string_equal(sc.name, "chat reaches everyone");
	assert_near(sc.timeout_ms, 5000, 0);

	assert_int_equal(sc.n_clients, 2);
	assert_string_equal(sc.clients[0].name, "alice");
	assert_string_equal(sc.clients[0].path, "/ws/party/demo?name=alice");
	assert_null(sc.clients[0].origin);
	assert_false(sc.clients[0].lazy);
	assert_string_equal(sc.clients[1].name, "bob");
	assert_string_equal(sc.clients[1].path, "/ws/party/demo?name=bob");
	assert_string_equal(sc.clients[1].origin, "http://localhost");
	assert_true(sc.clients[1].lazy);

	assert_int_equal(sc.n_steps, 7);
	st = sc.steps;
	assert_int_equal(st[0].kind, SCN_EXPECT);
	assert_int_equal(st[0].line, 10);
	assert_int_equal(st[0].client, 0);
	assert_string_equal(st[0].type, "welcome");
	assert_json(st[0].match, "{\"payload.role\": \"host\"}");
	assert_json(st[0].save, "{\"host\": \"payload.host_id\"}");
	assert_null(st[0].send);
	assert_near(st[0].ms, 5000, 0);          /* the scenario timeout */

	assert_int_equal(st[1].kind, SCN_OPEN);
	assert_int_equal(st[1].line, 12);
	assert_int_equal(st[1].client, 1);

	assert_int_equal(st[2].kind, SCN_SEND);
	assert_int_equal(st[2].line, 13);
	assert_int_equal(st[2].client, 1);
	assert_json(st[2].send, "{\"type\": \"chat\", \"payload\": {\"text\": \"hi ${host}\"}}");
	assert_null(st[2].type);
	assert_null(st[2].match);

	assert_int_equal(st[3].kind, SCN_EXPECT);
	assert_int_equal(st[3].line, 14);
	assert_int_equal(st[3].client, 0);
	assert_string_equal(st[3].type, "chat");
	assert_json(st[3].match, "{\"payload.text\": {\"regex\": \"^hi \"}, \"ts\": {\"min\": 0}}");
	assert_null(st[3].save);
	assert_near(st[3].ms, 2000, 0);

	assert_int_equal(st[4].kind, SCN_EXPECT_NONE);
	assert_int_equal(st[4].line, 16);
	assert_int_equal(st[4].client, 1);
	assert_string_equal(st[4].type, "sync");
	assert_null(st[4].match);
	assert_near(st[4].ms, 500, 0);

	assert_int_equal(st[5].kind, SCN_SLEEP);
	assert_int_equal(st[5].line, 17);
	assert_int_equal(st[5].client, -1);
	assert_near(st[5].ms, 200, 0);

	assert_int_equal(st[6].kind, SCN_CLOSE);
	assert_int_equal(st[6].line, 18);
	assert_int_equal(st[6].client, 1);

	scn_free(&sc);
	assert_true(all_zero(&sc, sizeof(sc)));
	scn_free(&sc);                          /* idempotent */
	scn_free(NULL);
}

static void defaults_single_client_and_numeric_durations(void **state)
{
	struct scenario sc;
	const char *text =
		"{\"clients\": {\"only-1_x\": {\"path\": \"/ws/x\"}},\n"
		" \"steps\": [{\"expect\": \"welcome\"}, {\"send\": {\"type\": \"chat\"}},\n"
		"  {\"expect\": \"chat\", \"within\": 2.5}, {\"expect_none\": \"sync\", \"for\": 1},\n"
		"  {\"sleep\": 0.25}, {\"expect\": \"x\", \"match\": {}, \"save\": {}}]}";

	parse_ok(text, &sc);
	assert_null(sc.name);
	assert_near(sc.timeout_ms, 5000, 0);
	assert_int_equal(sc.n_clients, 1);
	assert_string_equal(sc.clients[0].name, "only-1_x");
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(sc.steps[i].client, 0);
	assert_int_equal(sc.steps[0].line, 2);
	assert_int_equal(sc.steps[2].line, 3);
	assert_int_equal(sc.steps[5].line, 4);
	assert_near(sc.steps[0].ms, 5000, 0);
	assert_near(sc.steps[2].ms, 2500, 0);
	assert_near(sc.steps[3].ms, 1000, 0);
	assert_near(sc.steps[4].ms, 250, 0);
	scn_free(&sc);

	parse_ok("{\"timeout\": \"1m\", \"clients\": {\"a\": {\"path\": \"/ws/\"}},"
		 "\"steps\": [{\"expect\": \"x\"}]}", &sc);
	assert_near(sc.timeout_ms, 60000, 0);
	assert_near(sc.steps[0].ms, 60000, 0);
	assert_int_equal(sc.steps[0].line, 1);
	scn_free(&sc);
}

/* Step lines come from the text: keys written with escapes, strings holding
 * brackets and quotes, steps spread over lines, nothing fools the scanner. */
static void step_lines_survive_tricky_text(void **state)
{
	struct scenario sc;
	const char *text =
		"{\"name\": \"[{\\\"steps\\\": [\\n\",\n"                      /* 1 */
		" \"clients\": {\"a\": {\"path\": \"/ws/]}\"}},\n"             /* 2 */
		" \"st\\u0065ps\"\n"                                           /* 3 */
		"   :\n"                                                       /* 4 */
		"  [\n"                                                        /* 5 */
		"\n"                                                           /* 6 */
		"   {\"send\": {\"type\": \"x\", \"t\": \"\\\\\\\"]},{\"}},\n"  /* 7 */
		"   {\"sleep\"\n"                                              /* 8 */
		"     : \"1s\"}  ,  {\"send\": {\"type\": \"y\", \"a\": [[],{}]}}\n" /* 8-9 */
		"   ,\n"                                                       /* 10 */
		"\r\n"                                                         /* 11 */
		"   {\"close\": \"a\"}]}";                                     /* 12 */

	parse_ok(text, &sc);
	assert_string_equal(sc.name, "[{\"steps\": [\n");
	assert_int_equal(sc.n_steps, 4);
	assert_int_equal(sc.steps[0].line, 7);
	assert_int_equal(sc.steps[1].line, 8);
	assert_int_equal(sc.steps[2].line, 9);
	assert_int_equal(sc.steps[3].line, 12);
	scn_free(&sc);

	/* errors inside escaped keys are located too */
	parse_fails("{\"clients\": {\"a\": {\"path\": \"/ws/\"}},\n"
		    "\"st\\u0065ps\": [\n{\"sleep\": \"1s\"},\n{\"sl\\u0065ep\": \"1h1s\"}]}",
		    "line 4: steps[1].sleep: expected a duration");
}

static void clients_keep_their_order(void **state)
{
	struct scenario sc;
	char *clients = NULL, *text;

	for (int i = 63; i >= 0; i--) {
		char *c = fmt("%s\"c%02d\": {\"path\": \"/ws/party/p?n=%d\"}", clients ? clients : "",
			      i, i);

		free(clients);
		clients = c;
		if (i) {
			c = fmt("%s,\n", clients);
			free(clients);
			clients = c;
		}
	}
	text = fmt("{\"clients\": {%s}, \"steps\": [{\"close\": \"c07\"}]}", clients);
	parse_ok(text, &sc);
	assert_int_equal(sc.n_clients, 64);
	assert_string_equal(sc.clients[0].name, "c63");
	assert_string_equal(sc.clients[63].name, "c00");
	assert_int_equal(sc.steps[0].client, 63 - 7);
	scn_free(&sc);
	free(text);
	free(clients);
}

/* Malformed JSON reports jansson's line and column. */
static void syntax_errors_have_line_and_column(void **state)
{
	parse_fails("{\n  \"name\": \"x\",\n  \"clients\": {,\n}", "line 3, column 15: ");
	parse_fails("{\n  \"name\": \"x\",\n  \"clients\": {,\n}", "line 3, column 15: string or '}' expected");
	parse_fails("{\"steps\": [\n  {\"sleep\": \"1s\"}\n  {\"sleep\": \"2s\"}\n]}",
		    "line 3, column 3: ");
	parse_fails("{\"a\": 1e400}", "line 1, column 11: real number overflow");
	parse_fails("{\"a\": 1", "line 1, column 7: '}' expected near end of file");
	parse_fails("{} x", "line 1, column 4: end of file expected");
	parse_fails("", "empty scenario");
	parse_fails("   ", "line 1, column 3: '[' or '{' expected");
	parse_fails("\"str\"", "line 1, column 5: '[' or '{' expected near '\"str\"'");
	parse_fails("[]", "a scenario must be a JSON object");
}

static void duplicate_keys_are_rejected(void **state)
{
	char *t = with_steps("    {\"sleep\": \"1s\", \"sleep\": \"2s\"}");

	parse_fails(t, "line 7, column 27: duplicate object key near '\"sleep\"'");
	free(t);
	parse_fails("{\"clients\": {\n\"a\": {\"path\": \"/ws/1\"},\n\"a\": {\"path\": \"/ws/2\"}}}",
		    "line 3, column 3: duplicate object key");
	parse_fails("{\"name\": \"x\",\n \"name\": \"y\"}", "line 2, column 7: duplicate object key");
}

static void deep_nesting_is_rejected_before_jansson(void **state)
{
	struct scenario sc;
	char *open, *close, *t;

	/* root, steps, step, send: 4 levels, then 28 more make 32 */
	open = rep("{\"x\": ", 28);
	close = rep("}", 28);
	t = fmt("{\"clients\": {\"a\": {\"path\": \"/ws/\"}}, \"steps\": [{\"send\": "
		"{\"type\": \"t\", \"payload\": %s1%s}}]}", open, close);
	parse_ok(t, &sc);
	scn_free(&sc);
	free(t);
	free(open);
	free(close);

	open = rep("{\"x\": ", 29);
	close = rep("}", 29);
	t = fmt("{\"clients\": {\"a\": {\"path\": \"/ws/\"}}, \"steps\": [\n{\"send\": "
		"{\"type\": \"t\", \"payload\": %s1%s}}]}", open, close);
	parse_fails(t, "line 2, column 203: nested deeper than 32 levels");
	free(t);
	free(open);
	free(close);

	/* brackets inside strings do not count, escaped quotes do not end them */
	open = rep("[{", 100);
	t = fmt("{\"name\": \"\\\"%s\", \"clients\": {\"a\": {\"path\": \"/ws/\"}}, "
		"\"steps\": [{\"sleep\": 1}]}", open);
	parse_ok(t, &sc);
	assert_int_equal(strlen(sc.name), 201);
	scn_free(&sc);
	free(t);
	free(open);
	/* a huge depth never reaches jansson's recursion */
	open = rep("[", 100000);
	parse_fails(open, "line 1, column 33: nested deeper than 32 levels");
	free(open);
}

static void oversize_input_is_rejected(void **state)
{
	struct scenario sc;
	const char *base = "{\"clients\": {\"a\": {\"path\": \"/ws/\"}}, \"steps\": [{\"sleep\": \"1s\"}]}";
	size_t max = 1024 * 1024;
	char *big = malloc(max + 1);
	char err[256];

	assert_non_null(big);
	memset(big, ' ', max + 1);
	memcpy(big, base, strlen(base));
	assert_int_equal(scn_parse(big, max, &sc, err, sizeof(err)), 0);   /* exactly 1 MiB */
	scn_free(&sc);
	assert_int_equal(scn_parse(big, max + 1, &sc, err, sizeof(err)), -1);
	assert_string_equal(err, "scenario is 1048577 bytes, larger than 1 MiB");
	assert_true(all_zero(&sc, sizeof(sc)));
	free(big);
}

static void step_count_limit(void **state)
{
	struct scenario sc;
	char *steps = rep("{\"sleep\": \"1s\"},\n", 10000), *t;

	steps[strlen(steps) - 2] = '\0';                        /* drop the last ",\n" */
	t = fmt("{\"clients\": {\"a\": {\"path\": \"/ws/\"}}, \"steps\": [\n%s]}", steps);
	parse_ok(t, &sc);
	assert_int_equal(sc.n_steps, 10000);
	assert_int_equal(sc.steps[0].line, 2);
	assert_int_equal(sc.steps[9999].line, 10001);
	scn_free(&sc);
	free(t);
	t = fmt("{\"clients\": {\"a\": {\"path\": \"/ws/\"}}, \"steps\": [\n%s, {\"sleep\": 1}]}", steps);
	parse_fails(t, "line 1: steps: 10001 steps, at most 10000 are allowed");
	free(t);
	free(steps);
}

static void root_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "{\"clients\": {\"a\": {\"path\": \"/ws/\"}},\n \"nmae\": \"x\", \"steps\": []}",
		  "line 2: nmae: unknown key (expected name, timeout, clients or steps)" },
		{ "{\n\"name\": 5}", "line 2: name: expected a string, got 5" },
		{ "{\n\"timeout\": \"fast\"}",
		  "line 2: timeout: expected a duration like 500ms, 2s or 1m, got \"fast\"" },
		{ "{\n\"timeout\": \"2h\"}", "line 2: timeout: expected a duration like" },
		{ "{\n\"timeout\": \"90m\"}",
		  "line 2: timeout: expected a duration like 500ms, 2s or 1m, more than 0 and at "
		  "most 1 hour, got \"90m\"" },
		{ "{\n\"timeout\": 0}", "line 2: timeout: expected a duration" },
		{ "{\n\"timeout\": true}", "line 2: timeout: expected a duration like 500ms, 2s or "
		  "1m, got true" },
		{ "{\"steps\": []}", "missing \"clients\"" },
		{ "{\n\"clients\": []}", "line 2: clients: expected an object of name -> " },
		{ "{\n\"clients\": {}}", "line 2: clients: at least one client is required" },
		{ "{\"clients\": {\"a\": {\"path\": \"/ws/\"}}}", "missing \"steps\"" },
		{ "{\"clients\": {\"a\": {\"path\": \"/ws/\"}},\n\"steps\": {}}",
		  "line 2: steps: expected an array of steps, got {}" },
		{ "{\"clients\": {\"a\": {\"path\": \"/ws/\"}},\n\"steps\": []}",
		  "line 2: steps: at least one step is required" },
		{ "{\"clients\": {\"a\": {\"path\": \"/ws/\"}},\n\"steps\": [\n 1]}",
		  "line 3: steps[0]: expected an object with one action" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		parse_fails(cases[i].text, cases[i].want);
}

static void client_errors(void **state)
{
	char *long_name = rep("n", 65), *long_path = rep("p", 1997);
	char *c_name = fmt("    \"%s\": {\"path\": \"/ws/\"}", long_name);
	char *c_path = fmt("    \"a\": {\"path\": \"/ws/%s\"}", long_path);
	const struct bad_case cases[] = {
		{ "    \"bad name!\": {\"path\": \"/ws/\"}",
		  "line 3: clients[\"bad name!\"]: a client name must be 1-64 characters of "
		  "A-Z a-z 0-9 _ -" },
		{ "    \"\": {\"path\": \"/ws/\"}", "line 3: clients[\"\"]: a client name must be" },
		{ c_name, "line 3: clients.nnnnnnnn" },
		{ "    \"alice\": \"/ws/x\"",
		  "line 3: clients.alice: expected an object like {\"path\": \"/ws/party/demo\"}, "
		  "got \"/ws/x\"" },
		{ "    \"alice\": {\"path\": \"/ws/\"},\n    \"bob\": {\"path\": \"/ws/\", \"pth\": 1}",
		  "line 4: clients.bob.pth: unknown key (expected path, origin or lazy)" },
		{ "    \"alice\": {\"origin\": \"http://x\"}",
		  "line 3: clients.alice: missing \"path\" (like \"/ws/party/demo?name=alice\")" },
		{ "    \"alice\": {\n\"path\": 5}", "line 4: clients.alice.path: expected a string, got 5" },
		{ "    \"alice\": {\"path\": \"/party\"}",
		  "line 3: clients.alice.path: must start with \"/ws/\", got \"/party\"" },
		{ "    \"alice\": {\"path\": \"/ws\"}", "line 3: clients.alice.path: must start with" },
		{ c_path, "line 3: clients.a.path: longer than 2000 bytes" },
		{ "    \"alice\": {\"path\": \"/ws/a b\"}",
		  "line 3: clients.alice.path: must not contain spaces or control characters, got "
		  "\"/ws/a b\"" },
		{ "    \"alice\": {\"path\": \"/ws/a\\r\\nX: y\"}",
		  "line 3: clients.alice.path: must not contain spaces or control characters, got "
		  "\"/ws/a\\r\\nX: y\"" },
		{ "    \"alice\": {\"path\": \"/ws/party/p-${run\"}",
		  "line 3: clients.alice.path: unterminated ${ in \"/ws/party/p-${run\"" },
		{ "    \"alice\": {\"path\": \"/ws/\", \"origin\": [1]}",
		  "line 3: clients.alice.origin: expected a string, got [1]" },
		{ "    \"alice\": {\"path\": \"/ws/\", \"origin\": \"http://x\\r\\nEvil: 1\"}",
		  "line 3: clients.alice.origin: must not contain control characters" },
		{ "    \"alice\": {\"path\": \"/ws/\", \"lazy\": \"yes\"}",
		  "line 3: clients.alice.lazy: expected true or false, got \"yes\"" },
	};
	char *t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = with_clients(cases[i].text);
		parse_fails(t, cases[i].want);
		free(t);
	}

	/* 65 clients */
	{
		char *all = fmt("%s", "");

		for (int i = 0; i < 65; i++) {
			char *n = fmt("%s%s\"c%d\": {\"path\": \"/ws/\"}", all, i ? ", " : "", i);

			free(all);
			all = n;
		}
		t = fmt("{\n\"clients\": {%s}, \"steps\": [{\"sleep\": 1}]}", all);
		parse_fails(t, "line 2: clients: 65 clients, at most 64 are allowed");
		free(t);
		free(all);
	}
	free(long_name);
	free(long_path);
	free(c_name);
	free(c_path);
}

static void step_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "    {\"sleep\": \"1s\"},\n    \"sleep\"",
		  "line 8: steps[1]: expected an object with one action (send, expect, expect_none, "
		  "sleep, close or open), got \"sleep\"" },
		{ "    {\"expct\": \"chat\", \"client\": \"alice\"}",
		  "line 7: steps[0].expct: unknown key (expected an action" },
		{ "    {\"client\": \"alice\"}",
		  "line 7: steps[0]: no action: expected one of send, expect, expect_none, sleep, "
		  "close or open" },
		{ "    {\"sleep\": \"1s\", \"expect\": \"chat\"}",
		  "line 7: steps[0]: two actions, \"sleep\" and \"expect\": one action per step" },
		{ "    {\"sleep\": \"1s\", \"client\": \"alice\"}",
		  "line 7: steps[0].client: not allowed in a sleep step" },
		{ "    {\"send\": {\"type\": \"x\"}, \"client\": \"alice\", \"match\": {}}",
		  "line 7: steps[0].match: not allowed in a send step (allowed: client)" },
		{ "    {\"expect\": \"x\", \"client\": \"alice\", \"for\": \"1s\"}",
		  "line 7: steps[0].for: not allowed in a expect step (allowed: client match save "
		  "within)" },
		{ "    {\"expect_none\": \"x\", \"client\": \"alice\", \"for\": \"1s\", \"within\": \"1s\"}",
		  "line 7: steps[0].within: not allowed in a expect_none step" },
		{ "    {\"expect_none\": \"x\", \"client\": \"alice\", \"for\": \"1s\", \"save\": {}}",
		  "line 7: steps[0].save: not allowed in a expect_none step" },
		{ "    {\"close\": \"alice\", \"within\": \"1s\"}",
		  "line 7: steps[0].within: not allowed in a close step" },
		/* send */
		{ "    {\"send\": \"hi\", \"client\": \"alice\"}",
		  "line 7: steps[0].send: expected a message object with a string \"type\", got \"hi\"" },
		{ "    {\"send\": {\"payload\": {}}, \"client\": \"alice\"}",
		  "line 7: steps[0].send: expected a message object with a string \"type\"" },
		{ "    {\"send\": {\"type\": 3}, \"client\": \"alice\"}",
		  "line 7: steps[0].send: expected a message object with a string \"type\", got "
		  "{\"type\":3}" },
		{ "    {\"send\": {\"type\": \"\"}, \"client\": \"alice\"}",
		  "line 7: steps[0].send: expected a message object" },
		{ "    {\"send\": {\"type\": \"chat\", \"payload\": {\"text\": \"hi ${host\"}}, \"client\": \"alice\"}",
		  "line 7: steps[0].send: unterminated ${ in \"hi ${host\"" },
		{ "    {\"send\": {\"type\": \"chat\", \"p\": [\"${a b}\"]}, \"client\": \"alice\"}",
		  "line 7: steps[0].send: bad reference in \"${a b}\": expected ${name}" },
		{ "    {\"send\": {\"type\": \"chat\"}}",
		  "line 7: steps[0]: missing \"client\" (required when more than one client is declared)" },
		/* clients of steps */
		{ "    {\"send\": {\"type\": \"chat\"}, \"client\": \"carol\"}",
		  "line 7: steps[0].client: unknown client \"carol\" (declared: alice, bob)" },
		{ "    {\"expect\": \"chat\", \"client\": 1}",
		  "line 7: steps[0].client: expected a client name, got 1" },
		{ "    {\"close\": \"carol\"}", "line 7: steps[0].close: unknown client \"carol\"" },
		{ "    {\"open\": null}", "line 7: steps[0].open: expected a client name, got null" },
		/* expect */
		{ "    {\"expect\": 3, \"client\": \"alice\"}",
		  "line 7: steps[0].expect: expected a message type like \"chat\", got 3" },
		{ "    {\"expect\": \"\", \"client\": \"alice\"}",
		  "line 7: steps[0].expect: expected a message type like \"chat\", got \"\"" },
		{ "    {\"expect\": \"a b\", \"client\": \"alice\"}",
		  "line 7: steps[0].expect: must not contain spaces" },
		{ "    {\"sleep\": \"1s\"},\n    {\"sleep\": \"1s\"},\n    {\"sleep\": \"1s\"},\n"
		  "    {\"expect\": \"chat\", \"client\": \"alice\",\n"
		  "     \"match\": {\"a\": 1},\n"
		  "     \"within\": \"fast\"}",
		  "line 12: steps[3].within: expected a duration like 500ms, 2s or 1m, got \"fast\"" },
		{ "    {\"expect\": \"chat\", \"client\": \"alice\", \"within\": \"61m\"}",
		  "line 7: steps[0].within: expected a duration like 500ms, 2s or 1m, more than 0 "
		  "and at most 1 hour, got \"61m\"" },
		{ "    {\"expect_none\": \"chat\", \"client\": \"alice\"}",
		  "line 7: steps[0]: missing \"for\"" },
		{ "    {\"expect_none\": \"chat\", \"client\": \"alice\", \"for\": \"-1s\"}",
		  "line 7: steps[0].for: expected a duration like 500ms, 2s or 1m, got \"-1s\"" },
		{ "    {\"sleep\": \"0s\"}",
		  "line 7: steps[0].sleep: expected a duration like 500ms, 2s or 1m, more than 0" },
		{ "    {\"sleep\": \"1x\"}",
		  "line 7: steps[0].sleep: expected a duration like 500ms, 2s or 1m, got \"1x\"" },
		{ "    {\"sleep\": [1]}",
		  "line 7: steps[0].sleep: expected a duration like 500ms, 2s or 1m, got [1]" },
	};
	char *t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = with_steps(cases[i].text);
		parse_fails(t, cases[i].want);
		free(t);
	}
}

static void match_and_save_errors(void **state)
{
	static const struct bad_case cases[] = {
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": [1]}",
		  "line 7: steps[0].match: expected an object of path -> matcher, got [1]" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"a..b\": 1}}",
		  "line 7: steps[0].match[\"a..b\"]: invalid path: expected a dotted path like" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"\": 1}}",
		  "line 7: steps[0].match[\"\"]: invalid path" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\".a\": 1}}",
		  "line 7: steps[0].match[\".a\"]: invalid path" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"a.${i\": 1}}",
		  "line 7: steps[0].match[\"a.${i\"]: unterminated ${ in \"a.${i\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"a\": \"${}\"}}",
		  "line 7: steps[0].match.a: bad reference in \"${}\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\",\n     \"match\": {\"ts\": {\"min\": \"x\"}}}",
		  "line 8: steps[0].match.ts.min: expected a number, got \"x\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"ts\": {\"max\": null}}}",
		  "line 7: steps[0].match.ts.max: expected a number, got null" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"ts\": {\"min\": 5, \"max\": 1}}}",
		  "line 7: steps[0].match.ts.max: 1 is less than min 5" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"p\": {\"approx\": 1, \"tol\": -1}}}",
		  "line 7: steps[0].match.p.tol: expected a number >= 0, got -1" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"p\": {\"approx\": 1}}}",
		  "line 7: steps[0].match.p.approx: needs \"tol\", the allowed difference" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"p\": {\"tol\": 1}}}",
		  "line 7: steps[0].match.p.tol: needs \"approx\", the expected number" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"p\": {\"approx\": \"1\", \"tol\": 1}}}",
		  "line 7: steps[0].match.p.approx: expected a number, got \"1\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"payload.text\": {\"regex\": \"(\"}}}",
		  "line 7: steps[0].match[\"payload.text\"].regex: \"(\" is not a POSIX extended regex: " },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"((a{1,100}){1,100}){1,100}\"}}}",
		  "line 7: steps[0].match.t.regex: \"((a{1,100}){1,100}){1,100}\" repeats too much" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"^(){,300}x\"}}}",
		  "line 7: steps[0].match.t.regex: \"^(){,300}x\" repeats too much" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"x{\"}}}",
		  "line 7: steps[0].match.t.regex: \"x{\" is not a POSIX extended regex: " },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"e{x}\"}}}",
		  "line 7: steps[0].match.t.regex: \"e{x}\" is not a POSIX extended regex: " },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"^.{1,5000}$\"}}}",
		  "line 7: steps[0].match.t.regex: \"^.{1,5000}$\" repeats too much" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"[{(]{3}(x|y{1,50}|z){1,50}\"}}}",
		  "line 7: steps[0].match.t.regex: \"[{(]{3}(x|y{1,50}|z){1,50}\" repeats too much" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"A++++?++++++++++\"}}}",
		  "line 7: steps[0].match.t.regex: \"A++++?++++++++++\" has two repetitions in a "
		  "row (like a+? or a**), which POSIX leaves undefined" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"^a{2}{3}\"}}}",
		  "line 7: steps[0].match.t.regex: \"^a{2}{3}\" has two repetitions in a row" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": "
		  "\"((((((((((a?)+)+)+)+)+)+)+)+)+)+\"}}}",
		  "line 7: steps[0].match.t.regex: \"((((((((((a?)+)+)+)+)+)+)+)+)+)+\" repeats too much" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"regex\": 1}}}",
		  "line 7: steps[0].match.t.regex: expected a string, got 1" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"one_of\": \"a\"}}}",
		  "line 7: steps[0].match.t.one_of: expected a non-empty array of values, got \"a\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"one_of\": []}}}",
		  "line 7: steps[0].match.t.one_of: expected a non-empty array of values, got []" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"type\": \"str\"}}}",
		  "line 7: steps[0].match.t.type: expected one of \"string\", \"number\", \"boolean\", "
		  "\"null\", \"object\", \"array\", got \"str\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"exists\": \"yes\"}}}",
		  "line 7: steps[0].match.t.exists: expected true or false, got \"yes\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"match\": {\"t\": {\"equals\": \"${\"}}}",
		  "line 7: steps[0].match.t.equals: unterminated ${" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"save\": [\"a\"]}",
		  "line 7: steps[0].save: expected an object of variable -> path, got [\"a\"]" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"save\": {\"bad-name\": \"a\"}}",
		  "line 7: steps[0].save.bad-name: a variable name must be 1-64 characters of "
		  "A-Z a-z 0-9 _" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"save\": {\"v\": 1}}",
		  "line 7: steps[0].save.v: expected a dotted path like \"payload.members.0.name\", got 1" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"save\": {\"v\": \"a.\"}}",
		  "line 7: steps[0].save.v: expected a dotted path like \"payload.members.0.name\", "
		  "got \"a.\"" },
		{ "{\"expect\": \"x\", \"client\": \"alice\", \"save\": {\"v\": \"a.${x}\"}}",
		  "line 7: steps[0].save.v: a save path takes no ${...}, got \"a.${x}\"" },
	};
	char *t;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *step = fmt("    %s", cases[i].text);

		t = with_steps(step);
		parse_fails(t, cases[i].want);
		free(t);
		free(step);
	}
}

/* Matchers whose values are references are checked when the run has the
 * values; a matcher-looking object with another key is a literal. */
static void matchers_with_references_parse(void **state)
{
	struct scenario sc;
	char *t = with_steps(
		"    {\"expect\": \"x\", \"client\": \"alice\", \"match\": {\n"
		"      \"payload.members.${i}.name\": \"${who}\",\n"
		"      \"ts\": {\"min\": \"${lo}\", \"max\": \"${hi}\"},\n"
		"      \"p\": {\"approx\": \"${p}\", \"tol\": \"${tol}\"},\n"
		"      \"t\": {\"regex\": \"^${prefix}(\", \"type\": \"${ty}\", \"one_of\": \"${list}\"},\n"
		"      \"e\": {\"exists\": \"${e}\"},\n"
		"      \"lit\": {\"min\": 1, \"mx\": 2},\n"
		"      \"x\": {\"equals\": {\"min\": \"not a number\"}}},\n"
		"     \"save\": {\"v_1\": \"payload.$k\"}}");

	parse_ok(t, &sc);
	assert_int_equal(sc.n_steps, 1);
	scn_free(&sc);
	free(t);
}

/* ------------------------------------------------------------------ hostile input */

static void check_error_shape(const char *err)
{
	size_t n = strlen(err);

	assert_true(n > 0);
	assert_true(n < 512);
}

static void every_prefix_fails_until_complete(void **state)
{
	size_t full = strlen(EXAMPLE), body = full - 1;   /* without the final newline */
	struct guard g;
	struct scenario sc;
	char err[512];

	guard_init(&g, full);
	for (size_t n = 0; n < body; n++) {
		const char *p = guard_put(&g, EXAMPLE, n);

		if (scn_parse(p, n, &sc, err, sizeof(err)) != -1)
			fail_msg("prefix of %zu bytes parsed", n);
		check_error_shape(err);
		assert_true(all_zero(&sc, sizeof(sc)));
	}
	for (size_t n = body; n <= full; n++) {
		assert_int_equal(scn_parse(guard_put(&g, EXAMPLE, n), n, &sc, err, sizeof(err)), 0);
		scn_free(&sc);
	}
	guard_free(&g);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

static void random_bytes_fail_cleanly(void **state)
{
	unsigned char buf[600];
	struct guard g;
	struct scenario sc;
	char err[512];

	guard_init(&g, sizeof(buf));
	for (int i = 0; i < 3000; i++) {
		size_t n = rnd() % sizeof(buf);

		for (size_t k = 0; k < n; k++)
			buf[k] = (unsigned char)rnd();
		if (i % 3 == 1 && n > 0)
			buf[0] = '{';
		assert_int_equal(scn_parse(guard_put(&g, buf, n), n, &sc, err, sizeof(err)), -1);
		check_error_shape(err);
	}
	guard_free(&g);
}

/* Byte mutations of a valid file: whatever the outcome, no crash, no leak,
 * and a failure always says why. */
static void mutations_never_crash(void **state)
{
	static const char alphabet[] = "{}[]\",:\\ \n0123456789.-eEtrufalsn$a_/\x80\xff\xc3\x01";
	size_t len = strlen(EXAMPLE);
	char *buf = malloc(len + 8);
	struct guard g;
	struct scenario sc;
	char err[512];
	int parsed = 0;

	assert_non_null(buf);
	guard_init(&g, len + 8);
	for (int i = 0; i < 6000; i++) {
		size_t n = len;
		int edits = 1 + (int)(rnd() % 3);

		memcpy(buf, EXAMPLE, len);
		for (int k = 0; k < edits; k++) {
			size_t at = rnd() % n;
			char c = alphabet[rnd() % (sizeof(alphabet) - 1)];

			switch (rnd() % 3) {
			case 0:
				buf[at] = c;
				break;
			case 1:                 /* delete */
				memmove(buf + at, buf + at + 1, n - at - 1);
				n--;
				break;
			default:                /* insert, within the slack */
				if (n < len + 8) {
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
				}
			}
		}
		if (scn_parse(guard_put(&g, buf, n), n, &sc, err, sizeof(err)) == 0) {
			parsed++;
			assert_true(sc.n_steps > 0 && sc.n_clients > 0);
			scn_free(&sc);
		} else {
			check_error_shape(err);
			assert_true(all_zero(&sc, sizeof(sc)));
		}
	}
	assert_true(parsed > 0);                /* whitespace edits, at least */
	guard_free(&g);
	free(buf);
}

static void nul_bytes_and_invalid_utf8(void **state)
{
	static const char nul[] = "{\"clients\": {\n  \"a\": {\"path\": \"/ws/\0\"}}}";
	static const char trailing[] = "{}\0";
	static const char bad_utf8[] = "{\n\"name\": \"caf\xc3\x28\"}";
	static const char bad_key[] = "{\n \"\xff\xfe\": 1}";
	struct scenario sc;
	char err[512];

	assert_int_equal(scn_parse(nul, sizeof(nul) - 1, &sc, err, sizeof(err)), -1);
	assert_string_equal(err, "line 2, column 22: NUL byte in the text");
	assert_int_equal(scn_parse(trailing, sizeof(trailing) - 1, &sc, err, sizeof(err)), -1);
	assert_string_equal(err, "line 1, column 3: NUL byte in the text");

	assert_int_equal(scn_parse(bad_utf8, sizeof(bad_utf8) - 1, &sc, err, sizeof(err)), -1);
	assert_true(strncmp(err, "line 2, column ", 15) == 0);
	assert_non_null(strstr(err, "unable to decode byte"));
	assert_int_equal(scn_parse(bad_key, sizeof(bad_key) - 1, &sc, err, sizeof(err)), -1);
	assert_true(strncmp(err, "line 2, column ", 15) == 0);
	for (const char *c = err; *c; c++)
		assert_true(*c >= 0x20 && *c < 0x7f);

	/* no error buffer, a tiny one, no text */
	assert_int_equal(scn_parse(bad_key, sizeof(bad_key) - 1, &sc, NULL, 0), -1);
	assert_int_equal(scn_parse(bad_key, sizeof(bad_key) - 1, &sc, err, 5), -1);
	assert_string_equal(err, "line");
	assert_int_equal(scn_parse(NULL, 10, &sc, err, sizeof(err)), -1);
	assert_string_equal(err, "empty scenario");
	assert_int_equal(scn_parse("{}", 2, NULL, err, sizeof(err)), -1);
}

/* ------------------------------------------------------------------ matchers */

static const char MSG[] =
	"{\"type\": \"chat\", \"ts\": 1234, \"payload\": {\"text\": \"hi there\", "
	"\"position\": 11.2, \"role\": \"host\", \"n\": 12, \"flag\": true, \"none\": null, "
	"\"members\": [{\"name\": \"alice\"}, {\"name\": \"bob\"}], \"obj\": {\"min\": 1}}}";

/* scn_match of match (JSON text) on MSG with vars (JSON text or NULL): the
 * result must be want and, when failing, why must equal want_why. */
static void check_match(const char *match, const char *vars, bool want, const char *want_why)
{
	json_t *msg = js(MSG), *m = js(match), *v = vars ? js(vars) : NULL;
	char why[256];
	bool got = scn_match(msg, m, v, why, sizeof(why));

	if (got != want || (want_why && strcmp(why, want_why) != 0) || (want && why[0]))
		fail_msg("match %s: got %d \"%s\", wanted %d \"%s\"", match, got, why, want,
			 want_why ? want_why : "");
	json_decref(msg);
	json_decref(m);
	json_decref(v);
}

static void literal_matchers(void **state)
{
	check_match("{\"payload.role\": \"host\"}", NULL, true, NULL);
	check_match("{\"payload.role\": \"guest\"}", NULL, false,
		    "payload.role is \"host\", expected \"guest\"");
	check_match("{\"payload.position\": 12.5}", NULL, false,
		    "payload.position is 11.2, expected 12.5");
	check_match("{\"payload.position\": 11.200000000000001}", NULL, false,
		    "payload.position is 11.2, expected 11.200000000000001");
	check_match("{\"payload.n\": 12.5}", NULL, false, "payload.n is 12, expected 12.5");
	check_match("{\"payload.n\": 12.0, \"ts\": 1234}", NULL, true, NULL);   /* by value */
	check_match("{\"payload.n\": \"12\"}", NULL, false, "payload.n is 12, expected \"12\"");
	check_match("{\"payload.flag\": true, \"payload.none\": null}", NULL, true, NULL);
	check_match("{\"payload.none\": false}", NULL, false, "payload.none is null, expected false");
	check_match("{\"payload.members\": [{\"name\": \"alice\"}, {\"name\": \"bob\"}]}", NULL,
		    true, NULL);
	check_match("{\"payload.members\": [{\"name\": \"alice\"}]}", NULL, false,
		    "payload.members is [{\"name\":\"alice\"},{\"name\":\"bob\"}], expected "
		    "[{\"name\":\"alice\"}]");
	check_match("{\"payload.members.1\": {\"name\": \"bob\"}}", NULL, true, NULL);
	check_match("{\"payload.nope\": 1}", NULL, false, "payload.nope is missing, expected 1");
	check_match("{\"payload.none\": {}}", NULL, false, "payload.none is null, expected {}");
	/* matcher keys mixed with others: a literal */
	check_match("{\"payload.obj\": {\"min\": 1, \"x\": 2}}", NULL, false,
		    "payload.obj is {\"min\":1}, expected {\"min\":1,\"x\":2}");
	check_match("{\"payload.obj\": {\"equals\": {\"min\": 1}}}", NULL, true, NULL);
	check_match("{\"payload.obj\": {\"equals\": {\"min\": 2}}}", NULL, false,
		    "payload.obj is {\"min\":1}, expected {\"min\":2}");
	check_match("{\"payload.obj\": {\"min\": 1}}", NULL, false,
		    "payload.obj is {\"min\":1}, expected a number >= 1");
	/* every matcher must hold; the first failing is reported */
	check_match("{\"type\": \"chat\", \"ts\": 1, \"payload.role\": \"x\"}", NULL, false,
		    "ts is 1234, expected 1");
	check_match("{}", NULL, true, NULL);
}

static void range_and_approx_matchers(void **state)
{
	check_match("{\"ts\": {\"min\": 0}}", NULL, true, NULL);
	check_match("{\"ts\": {\"min\": 1234, \"max\": 1234}}", NULL, true, NULL);
	check_match("{\"ts\": {\"max\": 10}}", NULL, false, "ts is 1234, expected a number <= 10");
	check_match("{\"ts\": {\"min\": 2000}}", NULL, false, "ts is 1234, expected a number >= 2000");
	check_match("{\"ts\": {\"min\": 0, \"max\": 10.5}}", NULL, false,
		    "ts is 1234, expected a number between 0 and 10.5");
	check_match("{\"payload.text\": {\"min\": 0}}", NULL, false,
		    "payload.text is \"hi there\", expected a number >= 0");
	check_match("{\"payload.x\": {\"max\": 0}}", NULL, false,
		    "payload.x is missing, expected a number <= 0");
	check_match("{\"payload.position\": {\"approx\": 11, \"tol\": 0.5}}", NULL, true, NULL);
	check_match("{\"payload.position\": {\"approx\": 11.2, \"tol\": 0}}", NULL, true, NULL);
	check_match("{\"payload.position\": {\"approx\": 12.5, \"tol\": 0.5}}", NULL, false,
		    "payload.position is 11.2, expected 12.5 +/- 0.5");
	check_match("{\"payload.flag\": {\"approx\": 1, \"tol\": 1}}", NULL, false,
		    "payload.flag is true, expected 1 +/- 1");
}

static void exists_regex_one_of_type_matchers(void **state)
{
	check_match("{\"payload.role\": {\"exists\": true}}", NULL, true, NULL);
	check_match("{\"payload.none\": {\"exists\": true}}", NULL, true, NULL);
	check_match("{\"payload.nope\": {\"exists\": false}}", NULL, true, NULL);
	check_match("{\"payload.nope\": {\"exists\": true}}", NULL, false,
		    "payload.nope is missing, expected it to exist");
	check_match("{\"payload.role\": {\"exists\": false}}", NULL, false,
		    "payload.role is \"host\", expected it to be absent");

	check_match("{\"payload.text\": {\"regex\": \"^hi \"}}", NULL, true, NULL);
	check_match("{\"payload.text\": {\"regex\": \"^(hi|bye) [a-z]+$\"}}", NULL, true, NULL);
	check_match("{\"payload.text\": {\"regex\": \"^[[:alpha:]]{2} []a-z]{5}$\"}}", NULL, true,
		    NULL);
	check_match("{\"payload.text\": {\"regex\": \"^(h{1,20}i{1,20}){1,10} .{1,500}$\"}}",
		    NULL, true, NULL);
	check_match("{\"payload.text\": {\"regex\": \"^hi{,3} t{1,}h[e]{1}\"}}", NULL, true,
		    NULL);
	check_match("{\"payload.text\": {\"regex\": \"\\\\{5\"}}", NULL, false,
		    "payload.text is \"hi there\", expected a string matching /\\{5/");
	check_match("{\"payload.text\": {\"regex\": \"^bye\"}}", NULL, false,
		    "payload.text is \"hi there\", expected a string matching /^bye/");
	check_match("{\"ts\": {\"regex\": \"^1\"}}", NULL, false,
		    "ts is 1234, expected a string matching /^1/");
	check_match("{\"payload.nope\": {\"regex\": \"x\"}}", NULL, false,
		    "payload.nope is missing, expected a string matching /x/");

	check_match("{\"payload.role\": {\"one_of\": [\"host\", \"viewer\"]}}", NULL, true, NULL);
	check_match("{\"payload.n\": {\"one_of\": [1, 12.0]}}", NULL, true, NULL);
	check_match("{\"payload.role\": {\"one_of\": [\"guest\", 1]}}", NULL, false,
		    "payload.role is \"host\", expected one of [\"guest\",1]");
	check_match("{\"payload.nope\": {\"one_of\": [null]}}", NULL, false,
		    "payload.nope is missing, expected one of [null]");

	check_match("{\"payload.role\": {\"type\": \"string\"}, \"ts\": {\"type\": \"number\"}, "
		    "\"payload.position\": {\"type\": \"number\"}, \"payload.flag\": {\"type\": "
		    "\"boolean\"}, \"payload.none\": {\"type\": \"null\"}, \"payload\": {\"type\": "
		    "\"object\"}, \"payload.members\": {\"type\": \"array\"}}", NULL, true, NULL);
	check_match("{\"payload.role\": {\"type\": \"number\"}}", NULL, false,
		    "payload.role is \"host\", expected a number");
	check_match("{\"payload.members\": {\"type\": \"object\"}}", NULL, false,
		    "payload.members is [{\"name\":\"alice\"},{\"name\":\"bob\"}], expected an object");
	check_match("{\"payload.none\": {\"type\": \"boolean\"}}", NULL, false,
		    "payload.none is null, expected a boolean");
	check_match("{\"payload.nope\": {\"type\": \"null\"}}", NULL, false,
		    "payload.nope is missing, expected null");
	check_match("{\"payload.n\": {\"type\": \"array\"}}", NULL, false,
		    "payload.n is 12, expected an array");
	check_match("{\"payload.n\": {\"type\": \"string\"}}", NULL, false,
		    "payload.n is 12, expected a string");

	/* several conditions in one matcher */
	check_match("{\"payload.n\": {\"exists\": true, \"type\": \"number\", \"min\": 10, "
		    "\"one_of\": [12]}}", NULL, true, NULL);
	check_match("{\"payload.n\": {\"type\": \"number\", \"max\": 10}}", NULL, false,
		    "payload.n is 12, expected a number <= 10");
}

static void invalid_matchers_fail_at_match_time(void **state)
{
	json_t *msg = js(MSG), *arr = js("[1]");
	char why[256];

	check_match("{\"ts\": {\"min\": \"x\"}}", NULL, false,
		    "invalid matcher for ts: min: expected a number, got \"x\"");
	check_match("{\"t\": {\"regex\": \"(\"}}", NULL, false,
		    "invalid matcher for t: regex: \"(\" is not a POSIX extended regex: "
		    "Unmatched ( or \\(");
	check_match("{\"a..b\": 1}", NULL, false,
		    "invalid path \"a..b\": expected a dotted path like \"payload.members.0.name\"");
	check_match("{\"ts\": {\"min\": \"${v}\"}}", "{\"v\": \"str\"}", false,
		    "invalid matcher for ts: min: expected a number, got \"str\"");
	assert_true(scn_match(msg, NULL, NULL, why, sizeof(why)));
	assert_false(scn_match(msg, arr, NULL, why, sizeof(why)));
	assert_string_equal(why, "invalid match: expected an object of path -> matcher");
	assert_false(scn_match(msg, arr, NULL, NULL, 0));
	json_decref(msg);
	msg = js("{\"a\": 1}");
	assert_false(scn_match(NULL, msg, NULL, why, sizeof(why)));  /* no message */
	assert_string_equal(why, "a is missing, expected 1");
	json_decref(msg);
	json_decref(arr);
}

static void match_substitutes_values_and_paths(void **state)
{
	const char *vars = "{\"who\": \"bob\", \"i\": 1, \"role\": \"host\", \"lo\": 1000, "
			   "\"pre\": \"hi\", \"members\": [{\"name\": \"alice\"}, {\"name\": \"bob\"}]}";

	check_match("{\"payload.members.${i}.name\": \"${who}\"}", vars, true, NULL);
	check_match("{\"payload.role\": \"${role}\", \"ts\": {\"min\": \"${lo}\"}}", vars, true, NULL);
	check_match("{\"payload.text\": {\"regex\": \"^${pre} \"}}", vars, true, NULL);
	check_match("{\"payload.members\": \"${members}\"}", vars, true, NULL);
	check_match("{\"payload.text\": \"${pre} there\"}", vars, true, NULL);
	check_match("{\"payload.members.${i}.name\": \"x${who}\"}", vars, false,
		    "payload.members.1.name is \"bob\", expected \"xbob\"");
	check_match("{\"payload.role\": \"${nope}\"}", vars, false,
		    "payload.role: unknown variable ${nope}");
	check_match("{\"payload.${nope}\": 1}", vars, false,
		    "payload.${nope}: unknown variable ${nope}");
	check_match("{\"payload.role\": {\"one_of\": [\"${who}\", \"${role}\"]}}", vars, true, NULL);
	check_match("{\"payload.role\": \"${role}\"}", NULL, false,
		    "payload.role: unknown variable ${role}");
}

static void why_texts_are_truncated(void **state)
{
	char *big = rep("abcdefghij", 30), *msg_text = fmt("{\"s\": \"%s\", \"u\": \"%s\"}", big,
							     "\xc3\xa9\xc3\xa9\xc3\xa9");
	char *u = rep("\xc3\xa9", 100), *msg2 = fmt("{\"u\": \"%s\"}", u);
	json_t *msg = js(msg_text), *m = js("{\"s\": 1}"), *msg_u = js(msg2);
	char why[512];
	const char *q;

	assert_false(scn_match(msg, m, NULL, why, sizeof(why)));
	assert_true(strncmp(why, "s is \"abcdefghij", 16) == 0);
	q = strstr(why, "...");
	assert_non_null(q);
	assert_string_equal(q, "..., expected 1");
	assert_true(q - why - 5 <= 80);

	/* cut on a character boundary */
	json_decref(m);
	m = js("{\"u\": 1}");
	assert_false(scn_match(msg_u, m, NULL, why, sizeof(why)));
	q = strstr(why, "...");
	assert_non_null(q);
	assert_true((q - (why + 5)) % 2 == 1);  /* the quote, then whole 2-byte characters */
	/* a tiny buffer is never overrun */
	assert_false(scn_match(msg, m, NULL, why, 3));
	assert_int_equal(strlen(why), 2);
	json_decref(msg);
	json_decref(msg_u);
	json_decref(m);
	free(big);
	free(msg_text);
	free(u);
	free(msg2);
}

/* Each cut of full into a buffer of size n (>= 1) must be a prefix of it
 * that is valid UTF-8: what got does for every n. */
static void check_cuts(const char *full, bool (*got)(char *buf, size_t n, void *arg), void *arg)
{
	char buf[512];

	assert_true(strlen(full) < sizeof(buf));
	for (size_t n = 1; n <= strlen(full) + 1; n++) {
		memset(buf, 'x', sizeof(buf));
		assert_false(got(buf, n, arg));
		if (strnlen(buf, n) == n || strncmp(buf, full, strlen(buf)) != 0 ||
		    !rv_utf8_valid(buf, strlen(buf)))
			fail_msg("cut at %zu: \"%.*s\" from \"%s\"", n, (int)n, buf, full);
		assert_true(n == strlen(full) + 1 ? strlen(buf) == n - 1 : strlen(buf) + 4 > n - 1);
	}
}

static bool cut_match(char *buf, size_t n, void *arg)
{
	json_t **mm = arg;

	return scn_match(mm[0], mm[1], NULL, buf, n);
}

static bool cut_parse(char *buf, size_t n, void *arg)
{
	struct scenario sc;

	return scn_parse(arg, strlen(arg), &sc, buf, n) == 0;
}

/* A message cut short by the caller's buffer ends on a whole character,
 * like the values inside it (found by tests/fuzz/fuzz_scenario.c: a why
 * cut in the middle of "\xe1\x97\xa9"). */
static void cut_messages_end_on_a_character(void **state)
{
	json_t *mm[2] = {
		js("{\"type\": \"chat\", \"payload\": {\"name\": \"b\\u00e9\"}}"),
		js("{\"payload.name\": {\"one_of\": [\"bob\", \"b\\u15e9\", \"\\ud83c\\udf89\"]}}"),
	};
	const char *text = "{\"clients\": {\"a\": {\"path\": \"/ws/x\"}}, "
			   "\"steps\": [{\"sleep\": \"1s\"}], \"\xc3\xa9t\xe1\x97\xa9\xf0\x9f\x8e\x89\": 1}";
	char full[512];

	assert_false(scn_match(mm[0], mm[1], NULL, full, sizeof(full)));
	assert_string_equal(full, "payload.name is \"b\xc3\xa9\", expected one of "
			    "[\"bob\",\"b\xe1\x97\xa9\",\"\xf0\x9f\x8e\x89\"]");
	check_cuts(full, cut_match, mm);
	assert_int_equal(scn_parse(text, strlen(text), &(struct scenario){ 0 }, full,
				   sizeof(full)), -1);
	assert_string_equal(full, "line 1: [\"\xc3\xa9t\xe1\x97\xa9\xf0\x9f\x8e\x89\"]: unknown key "
			    "(expected name, timeout, clients or steps)");
	check_cuts(full, cut_parse, (void *)text);
	json_decref(mm[0]);
	json_decref(mm[1]);
}

/* ------------------------------------------------------------------ paths */

static void paths_reach_into_objects_and_arrays(void **state)
{
	json_t *msg = js("{\"a\": {\"b\": [10, {\"c\": \"x\"}, [5, 6]], \"0\": \"zero\", "
			 "\"s\": \"str\", \"n\": null}, \"e\": []}");

	assert_json(scn_path(msg, "a.b.0"), "10");
	assert_json(scn_path(msg, "a.b.1.c"), "\"x\"");
	assert_json(scn_path(msg, "a.b.2.1"), "6");
	assert_json(scn_path(msg, "a.0"), "\"zero\"");          /* a key in an object */
	assert_json(scn_path(msg, "a.n"), "null");
	assert_json(scn_path(msg, "a"), "{\"b\": [10, {\"c\": \"x\"}, [5, 6]], \"0\": \"zero\", "
		    "\"s\": \"str\", \"n\": null}");
	assert_ptr_equal(scn_path(msg, "a.b.1"), json_array_get(json_object_get(
		json_object_get(msg, "a"), "b"), 1));               /* borrowed */
	/* missing */
	assert_null(scn_path(msg, "x"));
	assert_null(scn_path(msg, "a.x"));
	assert_null(scn_path(msg, "a.b.3"));
	assert_null(scn_path(msg, "e.0"));
	assert_null(scn_path(msg, "a.b.99999999999999999999999"));
	/* through non-containers and bad indices */
	assert_null(scn_path(msg, "a.s.x"));
	assert_null(scn_path(msg, "a.s.0"));
	assert_null(scn_path(msg, "a.n.x"));
	assert_null(scn_path(msg, "a.b.0.c"));
	assert_null(scn_path(msg, "a.b.x"));
	assert_null(scn_path(msg, "a.b.-1"));
	assert_null(scn_path(msg, "a.b.+1"));
	assert_null(scn_path(msg, "a.b.1x"));
	/* malformed */
	assert_null(scn_path(msg, ""));
	assert_null(scn_path(msg, "."));
	assert_null(scn_path(msg, "a."));
	assert_null(scn_path(msg, ".a"));
	assert_null(scn_path(msg, "a..b"));
	assert_null(scn_path(msg, NULL));
	assert_null(scn_path(NULL, "a"));
	json_decref(msg);
}

/* ------------------------------------------------------------------ substitution */

static json_t *sub(const char *v, const char *vars, char *why)
{
	json_t *jv = js(v), *jvars = vars ? js(vars) : NULL, *r;

	r = scn_substitute(jv, jvars, why, 256);
	json_decref(jv);
	json_decref(jvars);
	return r;
}

static void check_sub(const char *v, const char *vars, const char *want)
{
	char why[256] = "";
	json_t *r = sub(v, vars, why);

	if (!r)
		fail_msg("substitute %s failed: %s", v, why);
	assert_json(r, want);
	json_decref(r);
}

static void check_sub_fails(const char *v, const char *vars, const char *want_why)
{
	char why[256] = "";
	json_t *r = sub(v, vars, why);

	if (r)
		fail_msg("substitute %s succeeded", v);
	assert_string_equal(why, want_why);
}

static const char VARS[] =
	"{\"who\": \"alice\", \"n\": 5, \"p\": 11.2, \"tenth\": 0.1, \"t\": true, \"z\": null, "
	"\"o\": {\"k\": [1, \"two\"]}, \"a\": [1, 2], \"big\": 12345678901234, \"e\": \"\", "
	"\"dollar\": \"${who}\"}";

static void substitution_keeps_types_and_fills_strings(void **state)
{
	/* a whole reference keeps the variable's type */
	check_sub("\"${n}\"", VARS, "5");
	check_sub("\"${p}\"", VARS, "11.2");
	check_sub("\"${t}\"", VARS, "true");
	check_sub("\"${z}\"", VARS, "null");
	check_sub("\"${o}\"", VARS, "{\"k\": [1, \"two\"]}");
	check_sub("\"${who}\"", VARS, "\"alice\"");
	check_sub("\"${dollar}\"", VARS, "\"${who}\"");             /* not substituted twice */
	/* inside a string: text */
	check_sub("\"hi ${who}!\"", VARS, "\"hi alice!\"");
	check_sub("\"n=${n} p=${p} tenth=${tenth} big=${big}\"", VARS,
		  "\"n=5 p=11.2 tenth=0.1 big=12345678901234\"");
	check_sub("\"${t}/${z}/${o}/${a}\"", VARS, "\"true/null/{\\\"k\\\":[1,\\\"two\\\"]}/[1,2]\"");
	check_sub("\"${who}${who}\"", VARS, "\"alicealice\"");
	check_sub("\"[${e}]\"", VARS, "\"[]\"");
	check_sub("\"${e}\"", VARS, "\"\"");
	/* a lone $ stays */
	check_sub("\"$5 and $x and a$ and $$${who} and {x}\"", VARS,
		  "\"$5 and $x and a$ and $$alice and {x}\"");
	check_sub("\"$\"", NULL, "\"$\"");
	check_sub("\"plain\"", NULL, "\"plain\"");
	/* everything else is copied */
	check_sub("12", NULL, "12");
	check_sub("null", NULL, "null");
	check_sub("[]", NULL, "[]");
}

static void substitution_walks_nested_structures(void **state)
{
	json_t *orig = js("{\"type\": \"chat\", \"payload\": {\"text\": \"hi ${who}\", "
			  "\"list\": [\"${n}\", 1, {\"x\": \"${o}\"}], \"${who}\": \"key kept\"}}");
	json_t *before = json_deep_copy(orig), *vars = js(VARS), *r;
	char why[256];

	r = scn_substitute(orig, vars, why, sizeof(why));
	assert_non_null(r);
	assert_json(r, "{\"type\": \"chat\", \"payload\": {\"text\": \"hi alice\", "
		    "\"list\": [5, 1, {\"x\": {\"k\": [1, \"two\"]}}], \"${who}\": \"key kept\"}}");
	assert_true(json_equal(orig, before));                      /* input untouched */
	/* a deep copy: changing the result leaves the variables alone */
	json_array_append_new(json_object_get(json_object_get(json_array_get(json_object_get(
		json_object_get(r, "payload"), "list"), 2), "x"), "k"), json_integer(3));
	assert_json(json_object_get(vars, "o"), "{\"k\": [1, \"two\"]}");
	json_decref(r);
	json_decref(orig);
	json_decref(before);
	json_decref(vars);
}

static void substitution_errors(void **state)
{
	json_t *big, *vars, *v;
	char why[256];
	char *s;

	check_sub_fails("\"${nope}\"", VARS, "unknown variable ${nope}");
	check_sub_fails("\"hi ${nope}\"", VARS, "unknown variable ${nope}");
	check_sub_fails("\"${who}\"", NULL, "unknown variable ${who}");
	check_sub_fails("\"${who}\"", "[1]", "unknown variable ${who}");
	check_sub_fails("{\"a\": [1, {\"b\": \"x ${nope}\"}]}", VARS, "unknown variable ${nope}");
	check_sub_fails("\"${\"", VARS, "unterminated ${ in \"${\"");
	check_sub_fails("\"a ${who\"", VARS, "unterminated ${ in \"a ${who\"");
	check_sub_fails("\"${}\"", VARS,
			"bad reference in \"${}\": expected ${name}, the name 1-64 characters of "
			"A-Z a-z 0-9 _");
	check_sub_fails("\"${a b}\"", VARS,
			"bad reference in \"${a b}\": expected ${name}, the name 1-64 characters of "
			"A-Z a-z 0-9 _");
	s = rep("v", 65);
	{
		char *t = fmt("\"${%s}\"", s);

		v = js(t);
		assert_null(scn_substitute(v, NULL, why, sizeof(why)));
		assert_true(strncmp(why, "bad reference in \"${vvvv", 24) == 0);
		json_decref(v);
		free(t);
	}
	free(s);
	assert_null(scn_substitute(NULL, NULL, why, sizeof(why)));

	/* a string that would grow past 1 MiB */
	s = rep("x", 600 * 1024);
	big = json_string(s);
	vars = json_object();
	json_object_set_new(vars, "x", big);
	v = json_string("${x}${x}");
	assert_null(scn_substitute(v, vars, why, sizeof(why)));
	assert_string_equal(why, "a substituted string exceeds 1048576 bytes");
	json_decref(v);
	v = json_string("${x}");                                   /* typed: a copy, fine */
	json_decref(scn_substitute(v, vars, why, sizeof(why)));
	json_decref(v);
	json_decref(vars);
	free(s);
}

/* ------------------------------------------------------------------ durations */

static void durations(void **state)
{
	static const struct {
		const char *s;
		double ms;
	} good[] = {
		{ "500ms", 500 }, { "2s", 2000 }, { "1m", 60000 }, { "1.5s", 1500 }, { "2", 2000 },
		{ "0.5ms", 0.5 }, { "60m", 3600000 }, { "3600", 3600000 }, { "3600000ms", 3600000 },
		{ "0.001", 1 }, { "007s", 7000 }, { "1.25m", 75000 },
	};
	static const char *const bad[] = {
		"0s", "-1s", "2h", "1x", "", "1e400", "61m", "3601", "3600001ms", " 2s", "2s ", "2 s",
		"2S", ".5s", "1.", "1.s", "ms", "s", "0", "0.0ms", "inf", "nan", "0x10", "+1s",
		"1,5s", "1..5s", "1e3ms", "1ms1", "100000000000000000000000000000000000000s",
	};

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (scn_duration_ms(good[i].s) != good[i].ms)
			fail_msg("\"%s\" gave %g, expected %g", good[i].s,
				 scn_duration_ms(good[i].s), good[i].ms);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (scn_duration_ms(bad[i]) != -1)
			fail_msg("\"%s\" gave %g, expected -1", bad[i], scn_duration_ms(bad[i]));
	assert_true(scn_duration_ms(NULL) == -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(example_parses_with_every_field),
		cmocka_unit_test(defaults_single_client_and_numeric_durations),
		cmocka_unit_test(step_lines_survive_tricky_text),
		cmocka_unit_test(clients_keep_their_order),
		cmocka_unit_test(syntax_errors_have_line_and_column),
		cmocka_unit_test(duplicate_keys_are_rejected),
		cmocka_unit_test(deep_nesting_is_rejected_before_jansson),
		cmocka_unit_test(oversize_input_is_rejected),
		cmocka_unit_test(step_count_limit),
		cmocka_unit_test(root_errors),
		cmocka_unit_test(client_errors),
		cmocka_unit_test(step_errors),
		cmocka_unit_test(match_and_save_errors),
		cmocka_unit_test(matchers_with_references_parse),
		cmocka_unit_test(every_prefix_fails_until_complete),
		cmocka_unit_test(random_bytes_fail_cleanly),
		cmocka_unit_test(mutations_never_crash),
		cmocka_unit_test(nul_bytes_and_invalid_utf8),
		cmocka_unit_test(literal_matchers),
		cmocka_unit_test(range_and_approx_matchers),
		cmocka_unit_test(exists_regex_one_of_type_matchers),
		cmocka_unit_test(invalid_matchers_fail_at_match_time),
		cmocka_unit_test(match_substitutes_values_and_paths),
		cmocka_unit_test(why_texts_are_truncated),
		cmocka_unit_test(cut_messages_end_on_a_character),
		cmocka_unit_test(paths_reach_into_objects_and_arrays),
		cmocka_unit_test(substitution_keeps_types_and_fills_strings),
		cmocka_unit_test(substitution_walks_nested_structures),
		cmocka_unit_test(substitution_errors),
		cmocka_unit_test(durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
