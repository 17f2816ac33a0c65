/* tests/unit/test_forwarded.c - trusted proxy ranges and the client address
 * behind them (lib/forwarded.c): CIDR parsing, the right-to-left walk of
 * X-Forwarded-For, spoofing, hostile and malformed headers. */
#include "unit.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "revenge/error.h"
#include "revenge/forwarded.h"

static void cidr_parse(void **state)
{
	struct rv_cidr c;
	char why[200];
	static const char *const bad[] = {
		"", "/", "10.0.0.0/", "10.0.0.0/33", "10.0.0.1/24", "::1/129", "10.0.0.0/-1",
		"10.0.0.0/8x", "10.0.0.0/ 8", "10.0.0", "300.0.0.0/8", "[::1]/128", "::1/0128",
		"fe80::1%eth0", "example.com/8", "10.0.0.0/8/8", " 10.0.0.0/8",
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd/128",
	};

	assert_int_equal(rv_forwarded_cidr_parse("10.0.0.0/8", &c, why, sizeof(why)), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.bits, 8);
	assert_int_equal(rv_forwarded_cidr_parse("127.0.0.1", &c, why, sizeof(why)), 0);
	assert_int_equal(c.bits, 32);
	assert_int_equal(rv_forwarded_cidr_parse("::1", &c, why, sizeof(why)), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.bits, 128);
	assert_int_equal(rv_forwarded_cidr_parse("fd00::/8", &c, NULL, 0), 0);
	assert_int_equal(rv_forwarded_cidr_parse("0.0.0.0/0", &c, NULL, 0), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		if (rv_forwarded_cidr_parse(bad[i], &c, why, sizeof(why)) != RV_EINVAL)
			fail_msg("'%s' was taken", bad[i]);
		assert_true(why[0] != 0);
	}
}

static void trusted_ranges(void **state)
{
	struct rv_cidr r[3];

	assert_int_equal(rv_forwarded_cidr_parse("10.1.0.0/16", &r[0], NULL, 0), 0);
	assert_int_equal(rv_forwarded_cidr_parse("192.168.1.128/25", &r[1], NULL, 0), 0);
	assert_int_equal(rv_forwarded_cidr_parse("fd00:1::/32", &r[2], NULL, 0), 0);
	assert_true(rv_forwarded_trusted(r, 3, "10.1.255.3"));
	assert_false(rv_forwarded_trusted(r, 3, "10.2.0.1"));
	assert_true(rv_forwarded_trusted(r, 3, "192.168.1.200"));
	assert_false(rv_forwarded_trusted(r, 3, "192.168.1.127"));
	assert_true(rv_forwarded_trusted(r, 3, "fd00:1:ffff::9"));
	assert_false(rv_forwarded_trusted(r, 3, "fd00:2::9"));
	/* a dual-stack socket's view of an IPv4 peer */
	assert_true(rv_forwarded_trusted(r, 3, "::ffff:10.1.2.3"));
	assert_false(rv_forwarded_trusted(r, 3, "::ffff:10.2.2.3"));
	assert_false(rv_forwarded_trusted(r, 3, "garbage"));
	assert_false(rv_forwarded_trusted(r, 3, ""));
	assert_false(rv_forwarded_trusted(r, 0, "10.1.0.1"));
}

/* The client for peer with xff and real_ip under "127.0.0.1/32" and
 * "10.0.0.0/8", as a string. */
static const char *client(const char *peer, const char *xff, const char *real_ip)
{
	static char out[RV_FORWARDED_ADDR_MAX];
	struct rv_cidr r[2];

	assert_int_equal(rv_forwarded_cidr_parse("127.0.0.1/32", &r[0], NULL, 0), 0);
	assert_int_equal(rv_forwarded_cidr_parse("10.0.0.0/8", &r[1], NULL, 0), 0);
	rv_forwarded_client(r, 2, peer, xff, real_ip, out, sizeof(out));
	return out;
}

struct walk_case {
	const char *peer, *xff, *real_ip, *want;
};

static void run_cases(const struct walk_case *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(client(t[i].peer, t[i].xff, t[i].real_ip), t[i].want))
			fail_msg("peer %s, X-Forwarded-For '%.60s', X-Real-IP '%s': got %s, want %s",
				 t[i].peer, t[i].xff ? t[i].xff : "(none)",
				 t[i].real_ip ? t[i].real_ip : "(none)",
				 client(t[i].peer, t[i].xff, t[i].real_ip), t[i].want);
}

static void walk(void **state)
{
	static const struct walk_case t[] = {
		/* the proxy appended the address it saw */
		{ "127.0.0.1", "203.0.113.7", NULL, "203.0.113.7" },
		/* a client's own header, left of what the proxy appended, is not taken */
		{ "127.0.0.1", "6.6.6.6, 203.0.113.7", NULL, "203.0.113.7" },
		/* two trusted hops are walked past */
		{ "127.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.5", NULL, "203.0.113.7" },
		/* all trusted: the leftmost */
		{ "127.0.0.1", "10.0.0.9,10.0.0.5", NULL, "10.0.0.9" },
		/* spaces and tabs, IPv6, brackets, IPv4-mapped */
		{ "127.0.0.1", " \t2001:DB8::1 \t", NULL, "2001:db8::1" },
		{ "127.0.0.1", "[2001:db8::2]", NULL, "2001:db8::2" },
		{ "127.0.0.1", "::ffff:198.51.100.4", NULL, "198.51.100.4" },
		{ "::ffff:127.0.0.1", "198.51.100.4", NULL, "198.51.100.4" },
		/* X-Real-IP when there is no X-Forwarded-For */
		{ "127.0.0.1", NULL, "198.51.100.9", "198.51.100.9" },
		{ "127.0.0.1", "", " 198.51.100.9 ", "198.51.100.9" },
		/* X-Forwarded-For wins over X-Real-IP */
		{ "127.0.0.1", "198.51.100.1", "198.51.100.9", "198.51.100.1" },
		/* neither: the peer */
		{ "127.0.0.1", NULL, NULL, "127.0.0.1" },
		/* an untrusted peer's headers are ignored (spoofing) */
		{ "198.51.100.50", "1.2.3.4", "5.6.7.8", "198.51.100.50" },
		{ "2001:db8::50", "127.0.0.1", NULL, "2001:db8::50" },
		{ "not-an-address", "1.2.3.4", NULL, "not-an-address" },
	};

	run_cases(t, sizeof(t) / sizeof(t[0]));
}

static void hostile(void **state)
{
	static const struct walk_case t[] = {
		/* malformed entries stop the walk at the last good address */
		{ "127.0.0.1", "1.2.3.4, evil", NULL, "127.0.0.1" },
		{ "127.0.0.1", "evil, 203.0.113.7", NULL, "203.0.113.7" },
		{ "127.0.0.1", "1.2.3.4, 10.0.0.1, evil, 10.0.0.2", NULL, "10.0.0.2" },
		{ "127.0.0.1", "203.0.113.7:4711", NULL, "127.0.0.1" },
		{ "127.0.0.1", "1.2.3", NULL, "127.0.0.1" },
		{ "127.0.0.1", "[1.2.3.4]", NULL, "127.0.0.1" },
		{ "127.0.0.1", "[::1", NULL, "127.0.0.1" },
		{ "127.0.0.1", ",,,", NULL, "127.0.0.1" },
		{ "127.0.0.1", " , ", "also bad", "127.0.0.1" },
		{ "127.0.0.1", "\"1.2.3.4\"", NULL, "127.0.0.1" },
		{ "127.0.0.1", "1.2.3.4\r\nX: y", NULL, "127.0.0.1" },
		{ "127.0.0.1", "unknown", "203.0.113.3", "203.0.113.3" },
	};
	static char big[70000];

	run_cases(t, sizeof(t) / sizeof(t[0]));
	/* oversized: thousands of entries cost a bounded walk */
	for (size_t i = 0; i + 9 < sizeof(big); i += 9)
		memcpy(big + i, "10.0.0.1,", 9);
	big[sizeof(big) - 1] = 0;
	big[sizeof(big) - 2] = '9';
	assert_string_equal(client("127.0.0.1", big, NULL), "10.0.0.1");
	memset(big, 'a', sizeof(big) - 1);
	assert_string_equal(client("127.0.0.1", big, NULL), "127.0.0.1");
	memset(big, ',', sizeof(big) - 1);
	assert_string_equal(client("127.0.0.1", big, "198.51.100.2"), "198.51.100.2");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cidr_parse),
		cmocka_unit_test(trusted_ranges),
		cmocka_unit_test(walk),
		cmocka_unit_test(hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
