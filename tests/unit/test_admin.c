/* tests/unit/test_admin.c - the admin API's routing (lib/admin.c,
 * rv__admin_route: pure) and the admin claim of tokens (lib/token.c):
 * every path the API takes, and the near misses, hostile segments and
 * wrong methods it must refuse with the right status.
 */
#include "unit.h"

#include <stdio.h>
#include <string.h>

#include "revenge/token.h"

#include "admin.h"

static int route(const char *method, const char *path, struct rv__admin_route *r,
		 const char **allow)
{
	char why[200];

	return rv__admin_route(method, path, r, allow, why, sizeof(why));
}

static void routes_the_four_operations(void **state)
{
	struct rv__admin_route r;
	const char *allow;

	assert_int_equal(route("GET", "/admin/parties", &r, &allow), 0);
	assert_int_equal(r.op, RV__ADMIN_LIST);
	assert_null(allow);
	assert_int_equal(route("GET", "/admin/parties/", &r, &allow), 0);
	assert_int_equal(r.op, RV__ADMIN_LIST);
	assert_int_equal(route("GET", "/admin/parties/movie-night_1", &r, &allow), 0);
	assert_int_equal(r.op, RV__ADMIN_SHOW);
	assert_string_equal(r.id, "movie-night_1");
	assert_int_equal(route("POST", "/admin/parties/p/close", &r, &allow), 0);
	assert_int_equal(r.op, RV__ADMIN_CLOSE);
	assert_string_equal(r.id, "p");
	assert_int_equal(route("POST", "/admin/parties/p/members/m12/remove", &r, &allow), 0);
	assert_int_equal(r.op, RV__ADMIN_REMOVE);
	assert_string_equal(r.member, "m12");
	/* a display name, decoded by lws: spaces and UTF-8 */
	assert_int_equal(route("POST", "/admin/parties/p/members/\xc3\x88ve \xe2\x9c\x93/remove",
			       &r, &allow), 0);
	assert_string_equal(r.member, "\xc3\x88ve \xe2\x9c\x93");
}

static void wrong_methods_are_405_with_allow(void **state)
{
	struct rv__admin_route r;
	const char *allow;

	assert_int_equal(route("POST", "/admin/parties", &r, &allow), 405);
	assert_string_equal(allow, "GET");
	assert_int_equal(route("OTHER", "/admin/parties/p", &r, &allow), 405);
	assert_string_equal(allow, "GET");
	assert_int_equal(route("GET", "/admin/parties/p/close", &r, &allow), 405);
	assert_string_equal(allow, "POST");
	assert_int_equal(route("GET", "/admin/parties/p/members/m1/remove", &r, &allow), 405);
	assert_string_equal(allow, "POST");
}

static void near_misses_are_404(void **state)
{
	static const char *const paths[] = {
		"/admin", "/admin/", "/admin/partiesx", "/admin/party", "/adminparties",
		"/admin/parties/p/", "/admin/parties/p/close/", "/admin/parties/p/closex",
		"/admin/parties/p/members", "/admin/parties/p/members/m1",
		"/admin/parties/p/members/m1/", "/admin/parties/p/members/m1/removex",
		"/admin/parties/p/members/m1/remove/x", "/admin/parties/p/x/m1/remove",
		"/admin/parties/p/membersx/m1/remove", "", "/",
	};
	struct rv__admin_route r;
	const char *allow;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int post = route("POST", paths[i], &r, &allow), get = route("GET", paths[i], &r,
									      &allow);

		if (post != 404 || get != 404)
			fail_msg("%s: POST %d, GET %d, expected 404", paths[i], post, get);
	}
}

static void bad_ids_and_members_are_400(void **state)
{
	char longid[100], longname[300];
	struct rv__admin_route r;
	const char *allow;

	memset(longid, 'x', 65);
	snprintf(longid, sizeof(longid), "/admin/parties/%065d", 0);
	assert_int_equal(route("GET", longid, &r, &allow), 400);
	assert_int_equal(route("GET", "/admin/parties/bad!id", &r, &allow), 400);
	assert_int_equal(route("GET", "/admin/parties/a b", &r, &allow), 400);
	assert_int_equal(route("GET", "/admin/parties//close", &r, &allow), 400);
	assert_int_equal(route("POST", "/admin/parties/p/members//remove", &r, &allow), 400);
	assert_int_equal(route("POST", "/admin/parties/p/members/\x01x/remove", &r, &allow), 400);
	assert_int_equal(route("POST", "/admin/parties/p/members/\xff/remove", &r, &allow), 400);
	assert_int_equal(route("POST", "/admin/parties/p/members/   /remove", &r, &allow), 400);
	snprintf(longname, sizeof(longname), "/admin/parties/p/members/%0200d/remove", 0);
	assert_int_equal(route("POST", longname, &r, &allow), 400);
	/* 64 is still an id */
	snprintf(longid, sizeof(longid), "/admin/parties/%064d", 0);
	assert_int_equal(route("GET", longid, &r, &allow), 0);
}

static int claims(const char *json, struct rv_token_claims *c, char *why, size_t why_len)
{
	return rv_token_claims_parse(json, strlen(json), 0, 0, c, why, why_len);
}

static void admin_claim(void **state)
{
	struct rv_token_claims c;
	char why[200];

	assert_int_equal(claims("{\"sub\":\"u\",\"admin\":true}", &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_true(c.admin);
	assert_int_equal(c.n_parties, 0);
	assert_int_equal(claims("{\"sub\":\"u\",\"admin\":false}", &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_false(c.admin);
	assert_int_equal(claims("{\"sub\":\"u\"}", &c, why, sizeof(why)),
			 RV_TOKEN_OK);
	assert_false(c.admin);
	assert_int_equal(claims("{\"sub\":\"u\",\"admin\":1}", &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_string_equal(why, "claim admin must be true or false");
	assert_int_equal(claims("{\"sub\":\"u\",\"admin\":null}", &c, why, sizeof(why)), RV_TOKEN_BAD);
}

static void admin_claim_minted_and_verified(void **state)
{
	static const char secret[] = "a test secret of at least 32 bytes, for HS256";
	struct rv_token_key *k;
	struct rv_token_claims c, out;
	char why[200], *tok;

	assert_int_equal(rv_token_key_from_secret((const unsigned char *)secret, strlen(secret), &k,
						  why, sizeof(why)), 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.sub, sizeof(c.sub), "ops");
	for (int admin = 1; admin >= 0; admin--) {
		c.admin = admin;
		assert_int_equal(rv_token_mint(k, &c, 1.7e9, 60, &tok, why, sizeof(why)), 0);
		assert_int_equal(rv_token_verify(k, tok, strlen(tok), 1.7e9, 0, &out, why,
						 sizeof(why)), RV_TOKEN_OK);
		assert_int_equal(out.admin, admin);
		free(tok);
	}
	rv_token_key_free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(routes_the_four_operations),
		cmocka_unit_test(wrong_methods_are_405_with_allow),
		cmocka_unit_test(near_misses_are_404),
		cmocka_unit_test(bad_ids_and_members_are_400),
		cmocka_unit_test(admin_claim),
		cmocka_unit_test(admin_claim_minted_and_verified),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
