/* tests/unit/test_request.c - the handshake's pure half (lib/request.c):
 * the origin parser and the pattern matcher, fed the hostile origins that
 * used to pass or fail for the wrong reason; the Host check of /healthz and
 * /metrics (DNS rebinding); the request head the listener peeks (431, %00).
 */
#include "unit.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "request.h"

static bool allowed_default(const char *origin)
{
	return rv__request_origin_allowed(NULL, 0, origin);
}

static void parse_accepts_serialized_origins(void **state)
{
	struct rv__origin o;

	assert_int_equal(rv__request_origin_parse("http://localhost:8080", &o), 0);
	assert_string_equal(o.scheme, "http");
	assert_string_equal(o.host, "localhost");
	assert_int_equal(o.port, 8080);
	assert_true(o.port_given);
	assert_false(o.ipv6);

	assert_int_equal(rv__request_origin_parse("HTTPS://App.Example", &o), 0);
	assert_string_equal(o.scheme, "https");
	assert_string_equal(o.host, "app.example");
	assert_int_equal(o.port, 443);          /* the scheme's default */
	assert_false(o.port_given);

	assert_int_equal(rv__request_origin_parse("http://[::1]:5173", &o), 0);
	assert_true(o.ipv6);
	assert_string_equal(o.host, "::1");
	assert_int_equal(o.port, 5173);

	assert_int_equal(rv__request_origin_parse("http://[0:0:0:0:0:0:0:1]", &o), 0);
	assert_int_equal(o.port, 80);
	assert_int_equal(rv__request_origin_parse("chrome-extension://abc:65535", &o), 0);
	assert_int_equal(o.port, 65535);
	assert_int_equal(rv__request_origin_parse("foo://abc", &o), 0);
	assert_int_equal(o.port, 0);            /* no default known */
}

static void parse_refuses_what_is_no_origin(void **state)
{
	static const char *const bad[] = {
		"", "null", "localhost:8080", "://localhost", "1http://x", "http:/x", "http//x",
		"http://", "http://:80", "http://localhost:", "http://localhost:0",
		"http://localhost:65536", "http://localhost:123456", "http://localhost:80x",
		"http://localhost:80@evil.example", "http://user@localhost",
		"http://user:pass@localhost:80", "http://localhost/", "http://localhost:80/x",
		"http://localhost?x", "http://localhost#x", "http://localhost ",
		" http://localhost", "http://local host", "http://localhost\r\n",
		"http://%6cocalhost", "http://[::1", "http://::1", "http://[::1]x",
		"http://[::1%eth0]", "http://[zz::1]", "http://[]", "http://[127.0.0.1]",
		"http://*.example", "http://loc[a]lhost", "http://localhost:-1",
		"http://localhost:+80", "http://l\xc3\xb6" "calhost",
		"a-scheme-of-thirty-two-characters://x",
	};
	struct rv__origin o;
	char host[300];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (rv__request_origin_parse(bad[i], &o) != -1)
			fail_msg("parsed \"%s\"", bad[i]);
	memset(host, 'a', sizeof(host));
	memcpy(host, "http://", 7);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(rv__request_origin_parse(host, &o), -1);   /* host over 255 */
}

static void defaults_allow_loopback_only(void **state)
{
	/* each loopback name, with and without a port, any case */
	assert_true(allowed_default("http://localhost:8080"));
	assert_true(allowed_default("http://localhost"));
	assert_true(allowed_default("https://127.0.0.1:8443"));
	assert_true(allowed_default("HTTP://LOCALHOST:8080"));
	/* was 403: "[::1]" was an fnmatch character class */
	assert_true(allowed_default("http://[::1]:8080"));
	assert_true(allowed_default("http://[::1]"));
	assert_true(allowed_default("http://[0:0::1]:3000"));
	/* used to pass: "1:80" matched the class [::1] followed by ":*" */
	assert_false(allowed_default("http://1:80"));
	assert_false(allowed_default("http://::80"));
	assert_false(allowed_default("http://[::2]:80"));
	/* used to pass: localhost:* matched "localhost:80@evil.example" */
	assert_false(allowed_default("http://localhost:80@evil.example"));
	assert_false(allowed_default("http://localhost@evil.example"));
	assert_false(allowed_default("http://localhost:80/x"));
	assert_false(allowed_default("http://localhost.evil.example"));
	assert_false(allowed_default("http://evil.localhost"));
	assert_false(allowed_default("http://127.0.0.1.evil.example"));
	assert_false(allowed_default("null"));
	assert_false(allowed_default("localhost"));
	assert_false(allowed_default(""));
}

static void custom_patterns(void **state)
{
	static const char *const p[] = {
		"https://*.example.org", "app.test:8*", "plain.test", "[::1]:8080", "*:9000",
		"HTTP://Upper.Test:*",
	};
	const unsigned n = sizeof(p) / sizeof(p[0]);

	assert_true(rv__request_origin_allowed(p, n, "https://a.example.org"));
	assert_true(rv__request_origin_allowed(p, n, "https://a.example.org:443"));
	assert_false(rv__request_origin_allowed(p, n, "https://a.example.org:8443"));
	assert_false(rv__request_origin_allowed(p, n, "http://a.example.org"));
	assert_false(rv__request_origin_allowed(p, n, "https://example.org.evil"));
	assert_true(rv__request_origin_allowed(p, n, "http://app.test:8080"));
	assert_true(rv__request_origin_allowed(p, n, "https://app.test:81"));
	assert_false(rv__request_origin_allowed(p, n, "http://app.test:9080"));
	assert_true(rv__request_origin_allowed(p, n, "http://app.test"));     /* 80 */
	assert_false(rv__request_origin_allowed(p, n, "https://app.test"));   /* 443 */
	/* no port in the pattern: the scheme's default, given or not */
	assert_true(rv__request_origin_allowed(p, n, "http://plain.test"));
	assert_true(rv__request_origin_allowed(p, n, "http://plain.test:80"));
	assert_true(rv__request_origin_allowed(p, n, "https://plain.test:443"));
	assert_false(rv__request_origin_allowed(p, n, "http://plain.test:8080"));
	assert_true(rv__request_origin_allowed(p, n, "http://[::1]:8080"));
	assert_false(rv__request_origin_allowed(p, n, "http://[::1]:8081"));
	assert_true(rv__request_origin_allowed(p, n, "http://anything.test:9000"));
	assert_true(rv__request_origin_allowed(p, n, "http://upper.test:1"));
	/* the defaults are replaced, not added to */
	assert_false(rv__request_origin_allowed(p, n, "http://localhost:8080"));
}

static void malformed_patterns_match_nothing(void **state)
{
	static const char *const p[] = {
		"", "[::1", "[zz]:*", "localhost:", "host/path", "://x", "a@b:*",
		"[::1]x", "localhost:*:*",
	};

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (rv__request_origin_allowed(&p[i], 1, "http://localhost:80") ||
		    rv__request_origin_allowed(&p[i], 1, "http://[::1]:80"))
			fail_msg("pattern \"%s\" matched", p[i]);
}

static int host(const char *const *pats, unsigned n, const char *listen, const char *h)
{
	char why[128];

	return rv__request_host_check(pats, n, listen, h, why, sizeof(why));
}

static void host_defaults_admit_addresses_and_loopback_names(void **state)
{
	static const char *const ok[] = {
		"127.0.0.1", "127.0.0.1:8080", "[::1]", "[::1]:8080", "10.1.2.3:9",
		"[2001:db8::1]:443", "localhost", "LOCALHOST:8080", "app.localhost:1",
		"localhost:", NULL, "",
	};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (host(NULL, 0, "127.0.0.1", ok[i]))
			fail_msg("Host \"%s\" refused", ok[i] ? ok[i] : "(none)");
	/* the names a rebinding attack would send */
	assert_int_equal(host(NULL, 0, "127.0.0.1", "evil.example"), 421);
	assert_int_equal(host(NULL, 0, "127.0.0.1", "evil.example:8080"), 421);
	assert_int_equal(host(NULL, 0, "127.0.0.1", "localhost.evil.example"), 421);
	assert_int_equal(host(NULL, 0, "127.0.0.1", "127.0.0.1.nip.io"), 421);
	assert_int_equal(host(NULL, 0, "127.0.0.1", "localhost."), 421);
	assert_int_equal(host(NULL, 0, "127.0.0.1", "1"), 421);   /* not an address */
}

static void host_listen_name_and_patterns(void **state)
{
	const char *pats[] = { "media.example", "*.LAN" };

	assert_int_equal(host(NULL, 0, "box.home", "box.home:8080"), 0);
	assert_int_equal(host(NULL, 0, "box.home", "BOX.HOME"), 0);
	assert_int_equal(host(NULL, 0, "box.home", "other.home"), 421);
	assert_int_equal(host(pats, 2, NULL, "media.example:80"), 0);
	assert_int_equal(host(pats, 2, NULL, "tv.lan"), 0);
	assert_int_equal(host(pats, 2, NULL, "media.example.evil"), 421);
	assert_int_equal(host(pats, 2, NULL, "lan"), 421);
	{
		const char *any[] = { "*" };

		assert_int_equal(host(any, 1, NULL, "whatever.example"), 0);
	}
}

static void host_malformed_is_400(void **state)
{
	static const char *const bad[] = {
		"evil.example/x", "a b", "user@localhost", "[::1", "[::1]x", "[zz]:80",
		"localhost:80:80", "localhost:123456", "localhost:-1", ":80", "*.lan",
		"localhost:8a", "a\tb",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (host(NULL, 0, NULL, bad[i]) != 400)
			fail_msg("Host \"%s\" not 400", bad[i]);
	{
		char big[1024];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(host(NULL, 0, NULL, big), 400);
	}
}

static int head(const char *buf, size_t n, size_t max)
{
	char why[128];

	return rv__request_head_check(buf, n, max, 5, why, sizeof(why));
}

static void head_size_fields_and_nul(void **state)
{
	char buf[256];
	const char *req = "GET /ws/party/x?name=a HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t len = strlen(req);

	assert_int_equal(head(req, len, len), 0);         /* exactly the limit */
	assert_int_equal(head(req, len, len - 1), 431);   /* one over */
	/* a head not complete yet: only what has come counts */
	assert_int_equal(head(req, 10, 20), 0);
	assert_int_equal(head(req, 21, 20), 431);
	/* what follows the blank line (a body, a frame) is not the head */
	snprintf(buf, sizeof(buf), "%sXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", req);
	assert_int_equal(head(buf, strlen(buf), len), 0);
	{
		/* 5 header fields pass, 6 do not, complete or not; %00 in the
		 * request target, not elsewhere */
		static const struct { const char *req; int want; } cases[] = {
			{ "GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\n\r\n", 0 },
			{ "GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\nf:6\r\n\r\n", 431 },
			{ "GET / HTTP/1.1\r\na:1\r\nb:2\r\nc:3\r\nd:4\r\ne:5\r\nf:6\r\ng", 431 },
			{ "GET /ws/party/x?name=a%00b HTTP/1.1\r\n\r\n", 400 },
			{ "GET /ws/party/%00 HTTP/1.1\r\n\r\n", 400 },
			{ "GET /ws/party/x HTTP/1.1\r\nX-A: %00\r\n\r\n", 0 },
			/* "%00" once decoded: a name lws passes */
			{ "GET /ws/party/x?name=a%2500 HTTP/1.1\r\n\r\n", 0 },
			/* the request line not complete yet */
			{ "GET /ws/party/x?name=a%0", 0 },
		};

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
			if (head(cases[i].req, strlen(cases[i].req), 200) != cases[i].want)
				fail_msg("case %zu: not %d", i, cases[i].want);
	}
	/* binary junk, empty */
	assert_int_equal(head("\0\0\0\0", 4, 200), 0);
	assert_int_equal(head("", 0, 200), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_accepts_serialized_origins),
		cmocka_unit_test(parse_refuses_what_is_no_origin),
		cmocka_unit_test(defaults_allow_loopback_only),
		cmocka_unit_test(custom_patterns),
		cmocka_unit_test(malformed_patterns_match_nothing),
		cmocka_unit_test(host_defaults_admit_addresses_and_loopback_names),
		cmocka_unit_test(host_listen_name_and_patterns),
		cmocka_unit_test(host_malformed_is_400),
		cmocka_unit_test(head_size_fields_and_nul),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
