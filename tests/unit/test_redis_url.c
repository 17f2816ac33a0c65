/* tests/unit/test_redis_url.c - the --redis URL (lib/redis_url.c). */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>

#include "redis_url.h"
#include "revenge/server.h"

static struct rv__redis_url u;
static char why[300];

static int parse(const char *url)
{
	why[0] = 0;
	return rv__redis_url_parse(url, &u, why, sizeof(why));
}

static void tcp_forms(void **state)
{
	assert_int_equal(parse("redis://127.0.0.1"), 0);
	assert_false(u.unix_socket);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_false(u.has_password);

	assert_int_equal(parse("redis://redis.internal:6380/7"), 0);
	assert_string_equal(u.host, "redis.internal");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 7);

	assert_int_equal(parse("redis://[::1]:7000/"), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);
	assert_int_equal(u.db, 0);

	assert_int_equal(parse("redis://:pa%40ss@h"), 0);
	assert_true(u.has_password);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "pa@ss");
	assert_int_equal(parse("redis://:p@ss@h"), 0);
	assert_string_equal(u.password, "p@ss");
	assert_string_equal(u.host, "h");

	assert_int_equal(parse("redis://ann:secret@h:1/65535"), 0);
	assert_string_equal(u.user, "ann");
	assert_string_equal(u.password, "secret");
	assert_int_equal(u.port, 1);
	assert_int_equal(u.db, 65535);
}

static void tls_forms(void **state)
{
	assert_int_equal(parse("rediss://127.0.0.1"), 0);
	assert_true(u.tls);
	assert_false(u.unix_socket);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6379);
	assert_int_equal(u.db, 0);
	assert_false(u.has_password);

	/* the host is what the certificate must name: kept as given */
	assert_int_equal(parse("rediss://ann:s%3Acret@Redis-1.example.com:6380/2"), 0);
	assert_true(u.tls);
	assert_string_equal(u.host, "Redis-1.example.com");
	assert_int_equal(u.port, 6380);
	assert_int_equal(u.db, 2);
	assert_string_equal(u.user, "ann");
	assert_string_equal(u.password, "s:cret");

	assert_int_equal(parse("rediss://:pw@[::1]:7000/"), 0);
	assert_true(u.tls);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 7000);

	/* and the others are not TLS */
	assert_int_equal(parse("redis://h"), 0);
	assert_false(u.tls);
	assert_int_equal(parse("unix:///tmp/r.sock"), 0);
	assert_false(u.tls);
}

static void unix_forms(void **state)
{
	assert_int_equal(parse("unix:///run/redis/redis.sock"), 0);
	assert_true(u.unix_socket);
	assert_string_equal(u.path, "/run/redis/redis.sock");
	assert_int_equal(u.db, 0);

	/* an '@' in the path is the path's */
	assert_int_equal(parse("unix:///tmp/a@b.sock"), 0);
	assert_string_equal(u.path, "/tmp/a@b.sock");
	assert_false(u.has_password);

	assert_int_equal(parse("unix://:pw@/tmp/r.sock?db=3"), 0);
	assert_string_equal(u.path, "/tmp/r.sock");
	assert_string_equal(u.password, "pw");
	assert_int_equal(u.db, 3);
}

static void refused_with_a_reason(void **state)
{
	static const struct {
		const char *url, *why;
	} bad[] = {
		{ "", "empty" },
		{ "rediss://", "no host" },
		{ "rediss://:6379", "no host" },
		{ "rediss:///tmp/r.sock", "no host" },
		{ "rediss://h:0", "port" },
		{ "rediss://h:", "port" },
		{ "rediss://h/x", "database" },
		{ "rediss://h?ca=/etc/ca.pem", "bad character" },
		{ "rediss://h/0?verify=no", "database" },
		{ "rediss://ann@h", "credentials" },
		{ "rediss://:@h", "empty password" },
		{ "rediss://[::1", "IPv6" },
		{ "rediss://h\r\n", "control" },
		{ "rediss:/h", "must start with" },
		{ "rediss:h", "must start with" },
		{ "REDISS://h", "must start with" },
		{ "redisss://h", "must start with" },
		{ "rediss", "must start with" },
		{ "unixs:///s", "must start with" },
		{ "http://h", "must start with" },
		{ "redis:/h", "must start with" },
		{ "REDIS://h", "must start with" },
		{ "redis://", "no host" },
		{ "redis://:6379", "no host" },
		{ "redis://h:0", "port" },
		{ "redis://h:65536", "port" },
		{ "redis://h:-1", "port" },
		{ "redis://h:", "port" },
		{ "redis://h:12x", "port" },
		{ "redis://h:99999999999999999999", "port" },
		{ "redis://h/x", "database" },
		{ "redis://h/65536", "database" },
		{ "redis://h/1/2", "database" },
		{ "redis://h/-1", "database" },
		{ "redis://ann@h", "credentials" },
		{ "redis://:@h", "empty password" },
		{ "redis://:%@h", "bad password" },
		{ "redis://:%4@h", "bad password" },
		{ "redis://:%zz@h", "bad password" },
		{ "redis://:%00@h", "bad password" },
		{ "redis://:%0a@h", "bad password" },
		{ "redis://a%:p@h", "bad user" },
		{ "redis://:p@ss@h!", "bad character" },
		{ "redis://h h", "space" },
		{ "redis://h\n", "control" },
		{ "redis://h\x7f", "control" },
		{ "redis://h!st", "bad character" },
		{ "redis://h/st:1", "database" },
		{ "redis://[::1", "IPv6" },
		{ "redis://[]", "IPv6" },
		{ "redis://[zz::1]", "IPv6" },
		{ "redis://[::1]x", "after the IPv6" },
		{ "redis://[::1]:0", "port" },
		{ "unix://", "absolute" },
		{ "unix://rel.sock", "absolute" },
		{ "unix:///s?db=x", "db must be" },
		{ "unix:///s?db=", "db must be" },
		{ "unix:///s?password=x", "only query" },
		{ "unix:///s?", "only query" },
		{ "unix://:pw@rel", "absolute" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i].url) != -1 || !strstr(why, bad[i].why))
			fail_msg("'%s': got \"%s\", expected a refusal naming \"%s\"", bad[i].url,
				 why, bad[i].why);
		/* the public check says the same */
		assert_int_equal(rv_server_check_redis_url(bad[i].url, why, sizeof(why)), -1);
	}
	assert_int_equal(rv__redis_url_parse(NULL, &u, why, sizeof(why)), -1);
}

static void lengths_are_bounded(void **state)
{
	char *url = malloc(4096);
	char host[300];

	/* a host of 255 bytes is fine, 256 is not */
	memset(host, 'h', 255);
	host[255] = 0;
	snprintf(url, 4096, "redis://%s", host);
	assert_int_equal(parse(url), 0);
	snprintf(url, 4096, "redis://%sh", host);
	assert_int_equal(parse(url), -1);
	assert_non_null(strstr(why, "255"));
	/* a socket path of 107 bytes is fine, 108 is not */
	memset(url, 0, 4096);
	memcpy(url, "unix://", 7);
	url[7] = '/';
	memset(url + 8, 's', 106);
	assert_int_equal(parse(url), 0);
	url[8 + 106] = 's';
	assert_int_equal(parse(url), -1);
	assert_non_null(strstr(why, "107"));
	/* a URL over 1024 bytes, and a password over 255 */
	memset(url, 'a', 4095);
	url[4095] = 0;
	memcpy(url, "redis://", 8);
	assert_int_equal(parse(url), -1);
	assert_non_null(strstr(why, "1024"));
	memcpy(url, "redis://:", 9);
	memset(url + 9, 'p', 256);
	memcpy(url + 265, "@h", 3);
	assert_int_equal(parse(url), -1);
	assert_non_null(strstr(why, "password"));
	free(url);
}

static void every_byte_after_the_scheme(void **state)
{
	/* no byte makes the parser read past its input or accept a control,
	 * with TLS or without */
	for (int tls = 0; tls < 2; tls++)
		for (int c = 1; c < 256; c++) {
			char url[32];
			int rc;

			snprintf(url, sizeof(url), "%s://h%c:1/2", tls ? "rediss" : "redis", c);
			rc = parse(url);
			if (rc == 0) {
				assert_true(c == '-' || c == '.' || c == '_' ||
					    (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
					    (c >= 'A' && c <= 'Z'));
				assert_int_equal(u.tls, tls);
			}
		}
}

static void truncated_tls_urls(void **state)
{
	/* every prefix of a full rediss:// URL parses or is refused with a
	 * reason; none reads past its end (ASan watches) */
	static const char full[] = "rediss://ann:pw@[::1]:6380/15";
	char *cut;

	for (size_t n = 0; n <= sizeof(full) - 1; n++) {
		cut = malloc(n + 1);
		memcpy(cut, full, n);
		cut[n] = 0;
		if (parse(cut))
			assert_true(why[0] != 0);
		else
			assert_true(u.tls && u.host[0]);
		free(cut);
	}
}

static void redacted_for_logs(void **state)
{
	char buf[200];

	rv__redis_url_redact("redis://ann:secret@h:1/2", buf, sizeof(buf));
	assert_string_equal(buf, "redis://ann:***@h:1/2");
	rv__redis_url_redact("unix://:pw@/tmp/s?db=1", buf, sizeof(buf));
	assert_string_equal(buf, "unix://:***@/tmp/s?db=1");
	rv__redis_url_redact("redis://:p@ss@h", buf, sizeof(buf));
	assert_string_equal(buf, "redis://:***@h");
	rv__redis_url_redact("unix:///tmp/a:b@c", buf, sizeof(buf));
	assert_string_equal(buf, "unix:///tmp/a:b@c");
	rv__redis_url_redact("rediss://:pw@h:1/2", buf, sizeof(buf));
	assert_string_equal(buf, "rediss://:***@h:1/2");
	rv__redis_url_redact("redis://h:1", buf, sizeof(buf));
	assert_string_equal(buf, "redis://h:1");
}

static void lists_of_shards(void **state)
{
	static const struct {
		const char *list, *why;
	} bad[] = {
		{ "redis://a:1,", "URL 2 of 2 is empty" },
		{ ",redis://a:1", "URL 1 of 2 is empty" },
		{ "redis://a:1,,redis://b:1", "URL 2 of 3 is empty" },
		{ "redis://a:1,redis://b:x", "URL 2 of 2: the port" },
		{ "redis://a:1,redis://A:1/2", "URLs 1 and 2 name the same server" },
		{ "unix:///s,redis://b,unix:///s?db=2", "URLs 1 and 3" },
		{ "redis://a,redis://b,redis://c,redis://d,redis://e,redis://f,redis://g,"
		  "redis://h,redis://i,redis://j,redis://k,redis://l,redis://m,redis://n,"
		  "redis://o,redis://p,redis://q", "17 Redis URLs: at most 16" },
		{ "redis://a,ftp://b", "URL 2 of 2: the Redis URL must start" },
	};
	char url[RV__REDIS_URL_MAX + 1], *big;
	size_t n = 0;

	assert_int_equal(rv__redis_urls_check("redis://a:1", &n, why, sizeof(why)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(rv__redis_urls_check("redis://a:1,rediss://:p%2Cw@b:1/3,unix:///s",
					      &n, why, sizeof(why)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(rv__redis_urls_at("redis://a:1,rediss://:p%2Cw@b:1/3,unix:///s", 1, url,
					   sizeof(url)), 0);
	assert_string_equal(url, "rediss://:p%2Cw@b:1/3");
	assert_int_equal(parse(url), 0);
	assert_string_equal(u.password, "p,w");
	assert_int_equal(rv__redis_urls_at("redis://a:1,unix:///s", 1, url, sizeof(url)), 0);
	assert_string_equal(url, "unix:///s");
	assert_int_equal(rv__redis_urls_at("redis://a:1,unix:///s", 2, url, sizeof(url)), -1);
	assert_int_equal(rv__redis_urls_at("redis://a:1", 0, url, 5), -1);
	/* one server, two ports: two shards */
	assert_int_equal(rv__redis_urls_check("redis://a:1,redis://a:2", NULL, why, sizeof(why)),
			 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		if (rv__redis_urls_check(bad[i].list, &n, why, sizeof(why)) != -1 ||
		    !strstr(why, bad[i].why))
			fail_msg("'%s': got \"%s\", expected a refusal naming \"%s\"",
				 bad[i].list, why, bad[i].why);
		assert_int_equal(rv_server_check_redis_url(bad[i].list, why, sizeof(why)), -1);
	}
	/* a password in a refused list is never echoed */
	assert_int_equal(rv__redis_urls_check("redis://:s3cret@a:1,redis://:s3cret@a:1", &n, why,
					      sizeof(why)), -1);
	assert_null(strstr(why, "s3cret"));
	/* oversized: 64 KiB of one URL, and of commas */
	big = malloc(65537);
	assert_non_null(big);
	memset(big, 'a', 65536);
	memcpy(big, "redis://", 8);
	big[65536] = 0;
	assert_int_equal(rv__redis_urls_check(big, &n, why, sizeof(why)), -1);
	memset(big, ',', 65536);
	assert_int_equal(rv__redis_urls_check(big, &n, why, sizeof(why)), -1);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tcp_forms),
		cmocka_unit_test(tls_forms),
		cmocka_unit_test(unix_forms),
		cmocka_unit_test(refused_with_a_reason),
		cmocka_unit_test(lengths_are_bounded),
		cmocka_unit_test(every_byte_after_the_scheme),
		cmocka_unit_test(truncated_tls_urls),
		cmocka_unit_test(redacted_for_logs),
		cmocka_unit_test(lists_of_shards),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
