/* tests/unit/test_log.c - log lines (lib/log.c): fields as JSON keys or as
 * key=value in text, and values from a client (quotes, control bytes,
 * broken UTF-8) that can neither break a line nor pass for a field. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "revenge/log.h"

/* The line that logging with fields f (n of them) and msg writes, without
 * its time stamp (JSON: from "level"; text: from the program name). */
static char *line(bool json, const struct rv_log_field *f, size_t n, const char *msg)
{
	static char out[2048];
	char *buf = NULL, *from;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct rv_log log = { .level = RV_LOG_DEBUG, .json = json, .out = mem, .prog = "t" };

	assert_non_null(mem);
	rv_log_kv(&log, RV_LOG_INFO, "ev", f, n, msg ? "%s" : NULL, msg);
	fclose(mem);
	from = strstr(buf, json ? "\"level\"" : " t ");
	assert_non_null(from);
	snprintf(out, sizeof(out), "%s", from);
	free(buf);
	return out;
}

static void json_fields(void **state)
{
	const struct rv_log_field f[] = {
		RV_LOG_STR("party", "p1"), RV_LOG_INT("code", 1008), RV_LOG_STR("skipped", NULL),
		RV_LOG_STR("reason", "a \"quoted\"\n\\ line\x01"), RV_LOG_STR("bad", "\xff\xfeok"),
		RV_LOG_STR("utf8", "Zoë ✓"),
	};

	assert_string_equal(line(true, f, sizeof(f) / sizeof(f[0]), "m"),
			    "\"level\":\"info\",\"event\":\"ev\",\"party\":\"p1\",\"code\":1008,"
			    "\"reason\":\"a \\\"quoted\\\"\\u000a\\\\ line\\u0001\",\"bad\":\"??ok\","
			    "\"utf8\":\"Zoë ✓\",\"msg\":\"m\"}\n");
	assert_string_equal(line(true, NULL, 0, NULL),
			    "\"level\":\"info\",\"event\":\"ev\",\"msg\":\"\"}\n");
}

static void text_fields(void **state)
{
	const struct rv_log_field f[] = {
		RV_LOG_STR("party", "p1"), RV_LOG_INT("code", -3), RV_LOG_STR("empty", ""),
		RV_LOG_STR("name", "Bo B"), RV_LOG_STR("fake", "x remote=1.2.3.4"),
		RV_LOG_STR("eq", "a=b"), RV_LOG_STR("nl", "a\r\nb"), RV_LOG_STR("bad", "\xc3("),
	};

	assert_string_equal(line(false, f, sizeof(f) / sizeof(f[0]), "said\nhi"),
			    " t info: ev said\\x0ahi party=p1 code=-3 empty=\"\" name=\"Bo B\""
			    " fake=\"x remote=1.2.3.4\" eq=\"a=b\" nl=\"a\\x0d\\x0ab\" bad=?(\n");
	assert_string_equal(line(false, NULL, 0, NULL), " t info: ev\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_fields),
		cmocka_unit_test(text_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
