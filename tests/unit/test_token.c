/* tests/unit/test_token.c - connection tokens (lib/token.c): keys and key
 * files, the claims contract, the algorithm rules (alg none, alg confusion),
 * times at the edges of the leeway, tampering, RS256 and ES256 tokens
 * signed by libjwt with the TEST-ONLY keys in tests/data/token, scopes.
 *
 * Tokens with hand-made headers are built here (base64url and HMAC-SHA256
 * from OpenSSL), so every rule is tested on the exact bytes that break it.
 * The key files are found under $RV_TEST_DATA, tests/data (from the
 * repository's root, as make runs the tests) or next to the test program.
 */
#include "unit.h"

#include <dirent.h>
#include <jwt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "revenge/error.h"
#include "revenge/token.h"

#define NOW 1700000000.0
#define SECRET "0123456789abcdef0123456789abcdef"   /* 32 bytes */
#define OTHER_SECRET "fedcba9876543210fedcba9876543210"
#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

static char data_dir[4096];
static struct rv_token_key *hs, *rs, *es;

/* ---- helpers ------------------------------------------------------------ */

static char *b64u(const void *p, size_t n)
{
	char *s = malloc(4 * (n / 3 + 1) + 1);
	int len, t = 0;

	assert_non_null(s);
	len = EVP_EncodeBlock((unsigned char *)s, p, (int)n);
	for (int i = 0; i < len; i++) {
		if (s[i] == '=')
			continue;
		s[t++] = s[i] == '+' ? '-' : s[i] == '/' ? '_' : s[i];
	}
	s[t] = '\0';
	return s;
}

/* hdr.payload.sig where sig is sig_text as given (may be ""). */
static char *raw_token(const char *hdr, const char *payload, const char *sig_text)
{
	char *h = b64u(hdr, strlen(hdr)), *p = b64u(payload, strlen(payload)), *t;

	t = malloc(strlen(h) + strlen(p) + strlen(sig_text) + 3);
	assert_non_null(t);
	sprintf(t, "%s.%s.%s", h, p, sig_text);
	free(h);
	free(p);
	return t;
}

/* hdr.payload signed with HMAC-SHA256 under key, whatever hdr says. */
static char *hs_token_key(const char *hdr, const char *payload, const void *key, size_t key_len)
{
	char *h = b64u(hdr, strlen(hdr)), *p = b64u(payload, strlen(payload)), *t, *s;
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;

	t = malloc(strlen(h) + strlen(p) + 2 + 64);
	assert_non_null(t);
	sprintf(t, "%s.%s", h, p);
	assert_non_null(HMAC(EVP_sha256(), key, (int)key_len, (unsigned char *)t, strlen(t),
			     mac, &mac_len));
	s = b64u(mac, mac_len);
	strcat(t, ".");
	strcat(t, s);
	free(s);
	free(h);
	free(p);
	return t;
}

static char *hs_token(const char *hdr, const char *payload)
{
	return hs_token_key(hdr, payload, SECRET, strlen(SECRET));
}

static char *path_of(const char *name)
{
	static char p[8192];

	snprintf(p, sizeof(p), "%s/%s", data_dir, name);
	return p;
}

static char *slurp(const char *name, size_t *len)
{
	FILE *f = fopen(path_of(name), "rb");
	char *buf = malloc(65536);
	size_t n;

	if (!f)
		fail_msg("cannot open %s", path_of(name));
	assert_non_null(buf);
	n = fread(buf, 1, 65535, f);
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* A token signed by libjwt with the private key file name. */
static char *jwt_signed(jwt_alg_t alg, const char *key_file, const char *claims)
{
	size_t len;
	char *key = slurp(key_file, &len), *tok;
	jwt_t *j = NULL;

	assert_int_equal(jwt_new(&j), 0);
	assert_int_equal(jwt_add_grants_json(j, claims), 0);
	assert_int_equal(jwt_set_alg(j, alg, (unsigned char *)key, (int)len), 0);
	tok = jwt_encode_str(j);
	assert_non_null(tok);
	jwt_free(j);
	free(key);
	return tok;
}

static void assert_why(const char *why, const char *part)
{
	if (!strstr(why, part))
		fail_msg("reason '%s' does not say '%s'", why, part);
	assert_null(strchr(why, '\n'));
}

static int verify_at(const struct rv_token_key *k, const char *tok, double now, double leeway,
		     struct rv_token_claims *c, char *why, size_t why_len)
{
	int rc = rv_token_verify(k, tok, tok ? strlen(tok) : 0, now, leeway, c, why, why_len);

	/* Nothing may be left on OpenSSL's queue for the TLS code to trip on. */
	assert_int_equal(ERR_peek_error(), 0);
	if (rc == RV_TOKEN_OK)
		assert_string_equal(why, "");
	else
		assert_true(why[0] != '\0');
	return rc;
}

static int verify(const struct rv_token_key *k, const char *tok, struct rv_token_claims *c,
		  char *why, size_t why_len)
{
	return verify_at(k, tok, NOW, 0, c, why, why_len);
}

static int parse(const char *json, struct rv_token_claims *c, char *why, size_t why_len)
{
	return rv_token_claims_parse(json, strlen(json), NOW, 0, c, why, why_len);
}

static void claims_init(struct rv_token_claims *c, const char *sub)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->sub, sizeof(c->sub), "%s", sub);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* ---- names and keys ----------------------------------------------------- */

static void test_result_names(void **state)
{
	assert_string_equal(rv_token_result_name(RV_TOKEN_OK), "ok");
	assert_string_equal(rv_token_result_name(RV_TOKEN_MISSING), "missing");
	assert_string_equal(rv_token_result_name(RV_TOKEN_BAD), "bad");
	assert_string_equal(rv_token_result_name(RV_TOKEN_BAD_SIGNATURE), "bad_signature");
	assert_string_equal(rv_token_result_name(RV_TOKEN_EXPIRED), "expired");
	assert_string_equal(rv_token_result_name(RV_TOKEN_NOT_YET), "not_yet_valid");
	assert_string_equal(rv_token_result_name(RV_TOKEN__COUNT), "error");
	assert_string_equal(rv_token_result_name(RV_ENOMEM), "error");
}

static void test_key_secret(void **state)
{
	unsigned char big[RV_TOKEN_SECRET_MAX + 1];
	struct rv_token_key *k = (void *)1;
	char why[256];

	assert_int_equal(rv_token_key_from_secret((const unsigned char *)"", 0, &k, why,
						  sizeof(why)), RV_EINVAL);
	assert_null(k);
	assert_why(why, "empty");
	assert_int_equal(rv_token_key_from_secret(NULL, 32, &k, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_key_from_secret((const unsigned char *)SECRET, 31, &k, why,
						  sizeof(why)), RV_EINVAL);
	assert_why(why, "31 bytes; at least 32");
	assert_null(k);
	memset(big, 'x', sizeof(big));
	assert_int_equal(rv_token_key_from_secret(big, sizeof(big), &k, why, sizeof(why)),
			 RV_ERANGE);
	assert_int_equal(rv_token_key_from_secret(big, sizeof(big) - 1, &k, NULL, 0), 0);
	rv_token_key_free(k);
	assert_int_equal(rv_token_key_from_secret((const unsigned char *)SECRET, 32, NULL, why,
						  sizeof(why)), RV_EINVAL);

	/* Any bytes, NUL included. */
	memset(big, 0, 40);
	assert_int_equal(rv_token_key_from_secret(big, 40, &k, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_string_equal(rv_token_key_alg(k), "HS256");
	assert_true(rv_token_key_can_sign(k));
	rv_token_key_free(k);

	rv_token_key_free(NULL);
	assert_null(rv_token_key_alg(NULL));
	assert_false(rv_token_key_can_sign(NULL));
}

static void test_key_public(void **state)
{
	static const struct { const char *file, *why; } refused[] = {
		{ "rs256.key", "private key" },
		{ "es256.key", "private key" },
		{ "es256.crt", "certificate" },
		{ "rsa1024.pub", "1024 bits; RS256 needs at least 2048" },
		{ "p384.pub", "ES256 needs P-256" },
		{ "ed25519.pub", "EdDSA" },
	};
	struct rv_token_key *k = NULL;
	char why[256], *pem, *two;
	size_t len, len2;

	assert_string_equal(rv_token_key_alg(rs), "RS256");
	assert_false(rv_token_key_can_sign(rs));
	assert_string_equal(rv_token_key_alg(es), "ES256");
	assert_false(rv_token_key_can_sign(es));

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		pem = slurp(refused[i].file, &len);
		k = (void *)1;
		assert_int_equal(rv_token_key_from_public_pem(pem, len, &k, why, sizeof(why)),
				 RV_EINVAL);
		assert_null(k);
		assert_why(why, refused[i].why);
		assert_int_equal(ERR_peek_error(), 0);
		free(pem);
	}

	/* A private key next to the public one is refused too. */
	pem = slurp("es256.pub", &len);
	two = slurp("es256.key", &len2);
	memmove(two + len2, pem, len + 1);
	assert_int_equal(rv_token_key_from_public_pem(two, len + len2, &k, why, sizeof(why)),
			 RV_EINVAL);
	assert_why(why, "private key");
	/* Two public keys: which one? */
	memcpy(two, pem, len);
	memcpy(two + len, pem, len + 1);
	assert_int_equal(rv_token_key_from_public_pem(two, 2 * len, &k, why, sizeof(why)),
			 RV_EINVAL);
	assert_why(why, "more than one");
	free(two);

	/* Text around the block is fine; the key is the same. */
	two = malloc(len + 64);
	len2 = (size_t)sprintf(two, "# the party key\n%s\n", pem);
	assert_int_equal(rv_token_key_from_public_pem(two, len2, &k, why, sizeof(why)), 0);
	assert_string_equal(rv_token_key_alg(k), "ES256");
	rv_token_key_free(k);
	free(two);

	/* A cut block, PKCS#1, nothing at all. */
	assert_int_equal(rv_token_key_from_public_pem(pem, len / 2, &k, why, sizeof(why)),
			 RV_EINVAL);
	assert_why(why, "does not parse");
	free(pem);
	pem = "-----BEGIN RSA PUBLIC KEY-----\nMAA=\n-----END RSA PUBLIC KEY-----\n";
	assert_int_equal(rv_token_key_from_public_pem(pem, strlen(pem), &k, why, sizeof(why)),
			 RV_EINVAL);
	assert_why(why, "PKCS#1");
	assert_int_equal(rv_token_key_from_public_pem("hello", 5, &k, why, sizeof(why)),
			 RV_EINVAL);
	assert_why(why, "no PEM public key");
	assert_int_equal(rv_token_key_from_public_pem("", 0, &k, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_key_from_public_pem(NULL, 10, &k, NULL, 0), RV_EINVAL);
	assert_int_equal(ERR_peek_error(), 0);
}

/* ---- key files ---------------------------------------------------------- */

static char tmp_dir[64];

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp_dir, name);
	f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static void rm_tmp(void)
{
	struct dirent *e;
	char p[sizeof(tmp_dir) + 260];
	DIR *d = opendir(tmp_dir);

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmp_dir, e->d_name);
		assert_int_equal(unlink(p), 0);
	}
	closedir(d);
	assert_int_equal(rmdir(tmp_dir), 0);
}

/* The key k and a key from the raw secret s verify each other's tokens. */
static void same_secret(const struct rv_token_key *k, const char *s, size_t len, bool same)
{
	struct rv_token_key *raw = NULL;
	struct rv_token_claims c;
	char why[256], *tok = NULL;

	assert_int_equal(rv_token_key_from_secret((const unsigned char *)s, len, &raw, why,
						  sizeof(why)), 0);
	claims_init(&c, "u");
	assert_int_equal(rv_token_mint(k, &c, NOW, 60, &tok, why, sizeof(why)), 0);
	assert_int_equal(verify(raw, tok, &c, why, sizeof(why)),
			 same ? RV_TOKEN_OK : RV_TOKEN_BAD_SIGNATURE);
	free(tok);
	rv_token_key_free(raw);
}

static void test_secret_file(void **state)
{
	struct rv_token_key *k = NULL;
	char why[512], big[RV_TOKEN_SECRET_MAX + 8];
	const char *p;

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/rv-token-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));

	p = write_file("plain", SECRET, 32);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	same_secret(k, SECRET, 32, true);
	rv_token_key_free(k);

	p = write_file("lf", SECRET "\n", 33);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), 0);
	same_secret(k, SECRET, 32, true);
	rv_token_key_free(k);

	p = write_file("crlf", SECRET "\r\n", 34);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), 0);
	same_secret(k, SECRET, 32, true);
	rv_token_key_free(k);

	/* One line end only: the second newline is part of the secret. */
	p = write_file("lflf", SECRET "\n\n", 34);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), 0);
	same_secret(k, SECRET, 32, false);
	same_secret(k, SECRET "\n", 33, true);
	rv_token_key_free(k);

	/* A lone \r is not a line end. */
	p = write_file("cr", SECRET "\r", 33);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), 0);
	same_secret(k, SECRET "\r", 33, true);
	rv_token_key_free(k);

	p = write_file("empty", "", 0);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "is empty");
	assert_why(why, p);
	assert_null(k);
	p = write_file("newline", "\n", 1);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "is empty");
	p = write_file("short", "hunter2\n", 8);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), RV_EINVAL);
	assert_why(why, p);
	assert_why(why, "7 bytes; at least 32");

	memset(big, 'x', sizeof(big));
	p = write_file("max", big, RV_TOKEN_SECRET_MAX);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), 0);
	rv_token_key_free(k);
	big[RV_TOKEN_SECRET_MAX] = '\r';
	big[RV_TOKEN_SECRET_MAX + 1] = '\n';
	p = write_file("max-crlf", big, RV_TOKEN_SECRET_MAX + 2);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), 0);
	rv_token_key_free(k);
	memset(big, 'x', sizeof(big));
	p = write_file("large", big, RV_TOKEN_SECRET_MAX + 1);
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), RV_ERANGE);
	assert_why(why, "larger than 4096 bytes");
	p = write_file("huge", big, sizeof(big));
	assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), RV_ERANGE);
	assert_why(why, "larger than 4096 bytes");

	snprintf(big, sizeof(big), "%s/missing", tmp_dir);
	assert_int_equal(rv_token_key_load_secret_file(big, &k, why, sizeof(why)), RV_ENOENT);
	assert_why(why, "cannot open secret file");
	assert_why(why, "No such file");
	assert_int_equal(rv_token_key_load_secret_file(tmp_dir, &k, why, sizeof(why)), RV_EIO);
	assert_why(why, "cannot read");
	assert_int_equal(rv_token_key_load_secret_file("", &k, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_key_load_secret_file(NULL, &k, NULL, 0), RV_EINVAL);
	if (geteuid() != 0) {   /* root reads anything */
		p = write_file("locked", SECRET, 32);
		assert_int_equal(chmod(p, 0), 0);
		assert_int_equal(rv_token_key_load_secret_file(p, &k, why, sizeof(why)), RV_EIO);
		assert_why(why, "Permission denied");
	}
	assert_null(k);
	rm_tmp();
}

static void test_public_file(void **state)
{
	struct rv_token_key *k = NULL;
	char why[512], *big;
	const char *p;
	size_t len;
	char *pem;

	snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/rv-token-XXXXXX");
	assert_non_null(mkdtemp(tmp_dir));
	pem = slurp("rs256.pub", &len);
	p = write_file("rs.pub", pem, len);
	assert_int_equal(rv_token_key_load_public_file(p, &k, why, sizeof(why)), 0);
	assert_string_equal(rv_token_key_alg(k), "RS256");
	rv_token_key_free(k);
	free(pem);

	assert_int_equal(rv_token_key_load_public_file(path_of("rs256.key"), &k, why,
						       sizeof(why)), RV_EINVAL);
	assert_why(why, "rs256.key: this is a private key");
	assert_int_equal(rv_token_key_load_public_file(path_of("nope.pub"), &k, why,
						       sizeof(why)), RV_ENOENT);
	p = write_file("empty.pub", "", 0);
	assert_int_equal(rv_token_key_load_public_file(p, &k, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "is empty");
	big = malloc(RV_TOKEN_PEM_MAX + 1);
	memset(big, '\n', RV_TOKEN_PEM_MAX + 1);
	p = write_file("big.pub", big, RV_TOKEN_PEM_MAX + 1);
	assert_int_equal(rv_token_key_load_public_file(p, &k, why, sizeof(why)), RV_ERANGE);
	assert_why(why, "larger than 16384 bytes");
	free(big);
	assert_null(k);
	rm_tmp();
}

/* ---- claims ------------------------------------------------------------- */

static void test_claims_minimal(void **state)
{
	struct rv_token_claims c;
	char why[256];

	assert_int_equal(parse("{\"sub\":\"u\"}", &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_string_equal(why, "");
	assert_string_equal(c.sub, "u");
	assert_false(c.has_name);
	assert_int_equal(c.role, RV_TOKEN_ROLE_MEMBER);
	assert_int_equal(c.n_parties, 0);
	assert_int_equal(c.n_sessions, 0);
	assert_false(c.has_exp);
	assert_false(c.has_nbf);
	assert_true(c.iat == 0);
	/* Absent lists open nothing, not even with "*" ids. */
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "p1"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION, "s1"));
}

static void test_claims_full(void **state)
{
	const char *json =
		"{\"iss\":\"https://auth.example\",\"aud\":[\"x\"],\"sub\":\"user:42 \xc3\xa9t\xc3\xa9\","
		"\"name\":\"Zo\xc3\xa9\",\"role\":\"host\",\"parties\":[\"p-1\",\"team-*\",\"*\"],"
		"\"sessions\":[],\"exp\":1700000100,\"nbf\":1699999000.5,\"iat\":1699999999,"
		"\"extra\":{\"deep\":[1,{\"x\":null}]}}";
	struct rv_token_claims c;
	char why[256];

	assert_int_equal(parse(json, &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_string_equal(c.sub, "user:42 \xc3\xa9t\xc3\xa9");
	assert_true(c.has_name);
	assert_string_equal(c.name, "Zo\xc3\xa9");
	assert_int_equal(c.role, RV_TOKEN_ROLE_HOST);
	assert_int_equal(c.n_parties, 3);
	assert_string_equal(c.parties[0], "p-1");
	assert_string_equal(c.parties[1], "team-*");
	assert_string_equal(c.parties[2], "*");
	assert_int_equal(c.n_sessions, 0);
	assert_true(c.has_exp && c.exp == 1700000100);
	assert_true(c.has_nbf && c.nbf == 1699999000.5);
	assert_true(c.iat == 1699999999);

	assert_int_equal(parse("{\"sub\":\"u\",\"role\":\"member\"}", &c, why, sizeof(why)),
			 RV_TOKEN_OK);
	assert_int_equal(c.role, RV_TOKEN_ROLE_MEMBER);

	/* The longest of everything. */
	{
		char buf[4096], sub[RV_TOKEN_SUB_MAX + 1], id[RV_ID_MAX + 1];
		size_t n = 0;

		memset(sub, 's', RV_TOKEN_SUB_MAX);
		sub[RV_TOKEN_SUB_MAX] = '\0';
		memset(id, 'i', RV_ID_MAX);
		id[RV_ID_MAX] = '\0';
		n += (size_t)snprintf(buf + n, sizeof(buf) - n,
				      "{\"sub\":\"%s\",\"name\":\"%s\",\"parties\":[\"%s\",\"%s*\"",
				      sub, "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac"
				      "\xf0\x9f\x8e\xac\xf0\x9f\x8e\xac", id, id);
		for (int i = 2; i < RV_TOKEN_SCOPES_MAX; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"p%d\"", i);
		snprintf(buf + n, sizeof(buf) - n, "]}");
		assert_int_equal(parse(buf, &c, why, sizeof(why)), RV_TOKEN_OK);
		assert_string_equal(c.sub, sub);
		assert_int_equal(strlen(c.name), RV_NAME_MAX_BYTES);
		assert_int_equal(c.n_parties, RV_TOKEN_SCOPES_MAX);
		assert_int_equal(strlen(c.parties[1]), RV_ID_MAX + 1);
		assert_string_equal(c.parties[63], "p63");
	}
}

static void test_claims_bad(void **state)
{
	static const struct { const char *json, *why; } bad[] = {
		{ "", "empty" },
		{ "null", "not a JSON object" },
		{ "[{\"sub\":\"u\"}]", "not a JSON object" },
		{ "\"sub\"", "not a JSON object" },
		{ "{\"sub\":\"u\"", "not JSON" },
		{ "{\"sub\":\"u\"} x", "not JSON" },
		{ "{\"sub\":\"u\",\"sub\":\"v\"}", "not JSON" },
		{ "{\"sub\":\"\xff\"}", "not JSON" },
		{ "{\"sub\":\"a\\u0000b\"}", "not JSON" },
		{ "{}", "sub is missing" },
		{ "{\"sub\":null}", "sub is not a string" },
		{ "{\"sub\":42}", "sub is not a string" },
		{ "{\"sub\":[\"u\"]}", "sub is not a string" },
		{ "{\"sub\":\"\"}", "claim sub must be 1-128 bytes" },
		{ "{\"sub\":\"a\\nb\"}", "claim sub must be" },
		{ "{\"sub\":\"a\\u007fb\"}", "claim sub must be" },
		{ "{\"sub\":\"a\\u0085b\"}", "claim sub must be" },
		{ "{\"sub\":\"u\",\"name\":null}", "name is not a string" },
		{ "{\"sub\":\"u\",\"name\":7}", "name is not a string" },
		{ "{\"sub\":\"u\",\"name\":\"\"}", "name is not a valid display name" },
		{ "{\"sub\":\"u\",\"name\":\"   \"}", "name is not a valid display name" },
		{ "{\"sub\":\"u\",\"name\":\"a\\tb\"}", "name is not a valid display name" },
		{ "{\"sub\":\"u\",\"name\":\"123456789012345678901234567890123\"}",
		  "name is not a valid display name" },
		{ "{\"sub\":\"u\",\"role\":\"admin\"}", "role must be \"host\" or \"member\"" },
		{ "{\"sub\":\"u\",\"role\":\"Host\"}", "role must be" },
		{ "{\"sub\":\"u\",\"role\":\"\"}", "role must be" },
		{ "{\"sub\":\"u\",\"role\":1}", "role must be" },
		{ "{\"sub\":\"u\",\"role\":null}", "role must be" },
		{ "{\"sub\":\"u\",\"role\":[\"host\"]}", "role must be" },
		{ "{\"sub\":\"u\",\"parties\":\"p1\"}", "parties is not an array" },
		{ "{\"sub\":\"u\",\"parties\":null}", "parties is not an array" },
		{ "{\"sub\":\"u\",\"parties\":{\"p\":1}}", "parties is not an array" },
		{ "{\"sub\":\"u\",\"sessions\":[\"s\",1]}", "sessions entry 2 is not a string" },
		{ "{\"sub\":\"u\",\"sessions\":[null]}", "sessions entry 1 is not a string" },
		{ "{\"sub\":\"u\",\"parties\":[\"\"]}", "parties entry 1 is neither an id" },
		{ "{\"sub\":\"u\",\"parties\":[\"a b\"]}", "parties entry 1 is neither" },
		{ "{\"sub\":\"u\",\"parties\":[\"ok\",\"a.b\"]}", "parties entry 2 is neither" },
		{ "{\"sub\":\"u\",\"parties\":[\"a*b\"]}", "parties entry 1 is neither" },
		{ "{\"sub\":\"u\",\"parties\":[\"**\"]}", "parties entry 1 is neither" },
		{ "{\"sub\":\"u\",\"parties\":[\"*a\"]}", "parties entry 1 is neither" },
		{ "{\"sub\":\"u\",\"parties\":[\"t\xc3\xa9\"]}", "parties entry 1 is neither" },
		{ "{\"sub\":\"u\",\"parties\":["
		  "\"12345678901234567890123456789012345678901234567890123456789012345\"]}",
		  "parties entry 1 is neither" },
		{ "{\"sub\":\"u\",\"parties\":["
		  "\"12345678901234567890123456789012345678901234567890123456789012345*\"]}",
		  "parties entry 1 is neither" },
		{ "{\"sub\":\"u\",\"exp\":\"1700000100\"}", "exp is not a number" },
		{ "{\"sub\":\"u\",\"exp\":null}", "exp is not a number" },
		{ "{\"sub\":\"u\",\"nbf\":true}", "nbf is not a number" },
		{ "{\"sub\":\"u\",\"iat\":\"now\"}", "iat is not a number" },
		{ "{\"sub\":\"u\",\"x\":[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]}", "deeper than 16" },
	};
	struct rv_token_claims c;
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0xa5, sizeof(c));
		if (parse(bad[i].json, &c, why, sizeof(why)) != RV_TOKEN_BAD)
			fail_msg("accepted %s", bad[i].json);
		assert_why(why, bad[i].why);
		assert_true(all_zero(&c, sizeof(c)));
	}

	/* 64 scopes are fine, 65 are not, in either list. */
	for (int kind = 0; kind < 2; kind++) {
		char buf[2048];
		size_t n = (size_t)snprintf(buf, sizeof(buf), "{\"sub\":\"u\",\"%s\":[\"x0\"",
					    kind ? "sessions" : "parties");

		for (int i = 1; i < RV_TOKEN_SCOPES_MAX; i++)
			n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"x%d\"", i);
		snprintf(buf + n, sizeof(buf) - n, "]}");
		assert_int_equal(parse(buf, &c, why, sizeof(why)), RV_TOKEN_OK);
		snprintf(buf + n, sizeof(buf) - n, ",\"x64\"]}");
		assert_int_equal(parse(buf, &c, why, sizeof(why)), RV_TOKEN_BAD);
		assert_why(why, kind ? "sessions has 65 entries; at most 64"
				     : "parties has 65 entries; at most 64");
	}

	/* A raw NUL, which jansson alone would skip after a number. */
	{
		static const char nul[] = "{\"sub\":\"u\",\"exp\":2000000000\0}";

		assert_int_equal(rv_token_claims_parse(nul, sizeof(nul) - 1, NOW, 0, &c, why,
						       sizeof(why)), RV_TOKEN_BAD);
		assert_why(why, "a NUL byte at byte 27");
		assert_int_equal(rv_token_claims_parse("{\"sub\":\"u\"}", 12, NOW, 0, &c, why,
						       sizeof(why)), RV_TOKEN_BAD);
	}

	/* The claims are read from len bytes, not to a NUL. */
	assert_int_equal(rv_token_claims_parse("{\"sub\":\"u\"}xyz", 11, NOW, 0, &c, why,
					       sizeof(why)), RV_TOKEN_OK);
	assert_int_equal(rv_token_claims_parse("{\"sub\":\"u\"}", 10, NOW, 0, &c, why,
					       sizeof(why)), RV_TOKEN_BAD);
	assert_int_equal(rv_token_claims_parse(NULL, 0, NOW, 0, &c, why, sizeof(why)),
			 RV_TOKEN_BAD);

	/* A reason cut to the caller's buffer, or no buffer at all. */
	assert_int_equal(parse("{}", &c, why, 4), RV_TOKEN_BAD);
	assert_string_equal(why, "cla");
	assert_int_equal(parse("{}", &c, NULL, 0), RV_TOKEN_BAD);
}

static void test_claims_times(void **state)
{
	struct rv_token_claims c;
	char why[256];

#define AT(json, now, leeway) \
	rv_token_claims_parse(json, strlen(json), now, leeway, &c, why, sizeof(why))
	/* exp + leeway <= now: expired. */
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1000}", 999.999, 0), RV_TOKEN_OK);
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1000}", 1000, 0), RV_TOKEN_EXPIRED);
	assert_why(why, "expired at 1000");
	/* Expired claims are still read, for the log. */
	assert_string_equal(c.sub, "u");
	assert_true(c.has_exp && c.exp == 1000);
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1000}", 1059.5, 60), RV_TOKEN_OK);
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1000}", 1060, 60), RV_TOKEN_EXPIRED);
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1000.25}", 1000.2, 0), RV_TOKEN_OK);
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1000.25}", 1000.25, 0), RV_TOKEN_EXPIRED);
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":-1}", 0, 0), RV_TOKEN_EXPIRED);
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1e300}", NOW, 0), RV_TOKEN_OK);

	/* nbf - leeway > now: not yet. */
	assert_int_equal(AT("{\"sub\":\"u\",\"nbf\":1000}", 1000, 0), RV_TOKEN_OK);
	assert_int_equal(AT("{\"sub\":\"u\",\"nbf\":1000}", 999.5, 0), RV_TOKEN_NOT_YET);
	assert_why(why, "not valid before 1000");
	assert_string_equal(c.sub, "u");
	assert_int_equal(AT("{\"sub\":\"u\",\"nbf\":1000}", 940, 60), RV_TOKEN_OK);
	assert_int_equal(AT("{\"sub\":\"u\",\"nbf\":1000}", 939.9, 60), RV_TOKEN_NOT_YET);

	/* Both: a window. */
	assert_int_equal(AT("{\"sub\":\"u\",\"nbf\":1000,\"exp\":2000}", 1500, 0), RV_TOKEN_OK);
	assert_int_equal(AT("{\"sub\":\"u\",\"nbf\":1000,\"exp\":2000}", 500, 0),
			 RV_TOKEN_NOT_YET);
	assert_int_equal(AT("{\"sub\":\"u\",\"nbf\":1000,\"exp\":2000}", 2500, 0),
			 RV_TOKEN_EXPIRED);
	/* A bad claim outranks the clock. */
	assert_int_equal(AT("{\"sub\":\"u\",\"exp\":1000,\"role\":\"x\"}", 5000, 0),
			 RV_TOKEN_BAD);
	/* iat is informational, even in the future. */
	assert_int_equal(AT("{\"sub\":\"u\",\"iat\":9999999999}", 1000, 0), RV_TOKEN_OK);

	/* The caller's clock must be a number. */
	assert_int_equal(AT("{\"sub\":\"u\"}", NAN, 0), RV_EINVAL);
	assert_int_equal(AT("{\"sub\":\"u\"}", INFINITY, 0), RV_EINVAL);
	assert_int_equal(AT("{\"sub\":\"u\"}", NOW, -1), RV_EINVAL);
	assert_int_equal(AT("{\"sub\":\"u\"}", NOW, NAN), RV_EINVAL);
	assert_int_equal(rv_token_claims_parse("{\"sub\":\"u\"}", 11, NOW, 0, NULL, why,
					       sizeof(why)), RV_EINVAL);
#undef AT
}

/* ---- scopes ------------------------------------------------------------- */

static void test_allows(void **state)
{
	struct rv_token_claims c;
	char why[256];

	assert_int_equal(parse("{\"sub\":\"u\",\"parties\":[\"movie-night\",\"team-*\"],"
			       "\"sessions\":[\"*\"]}", &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_true(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "movie-night"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "movie-nigh"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "movie-night2"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "Movie-night"));
	assert_true(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "team-a"));
	assert_true(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "team-"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "team"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "xteam-a"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "other"));
	assert_true(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION, "anything_at-all"));
	assert_true(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION, "x"));
	/* Not ids: never allowed, whatever the scopes. */
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION, ""));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION, "a b"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION, "*"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "team-*"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION,
				     "12345678901234567890123456789012345678901234567890123456789012345"));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_SESSION, NULL));
	assert_false(rv_token_allows(NULL, RV_TOKEN_SCOPE_SESSION, "x"));
	assert_false(rv_token_allows(&c, (enum rv_token_scope)7, "x"));

	/* An empty list opens nothing. */
	assert_int_equal(parse("{\"sub\":\"u\",\"parties\":[]}", &c, why, sizeof(why)),
			 RV_TOKEN_OK);
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "p"));

	/* A struct filled by hand that breaks the rules opens nothing wrong. */
	memset(&c, 0, sizeof(c));
	c.n_parties = 1000;
	memset(c.parties[0], 'a', sizeof(c.parties[0]));
	assert_false(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "a"));
}

/* ---- mint and verify ---------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct rv_token_claims c, got;
	char why[256], *tok = NULL;

	claims_init(&c, "user-7");
	snprintf(c.name, sizeof(c.name), "Ann \"the host\"");
	c.has_name = true;
	c.role = RV_TOKEN_ROLE_HOST;
	snprintf(c.parties[0], sizeof(c.parties[0]), "p1");
	snprintf(c.parties[1], sizeof(c.parties[1]), "team-*");
	c.n_parties = 2;
	snprintf(c.sessions[0], sizeof(c.sessions[0]), "*");
	c.n_sessions = 1;
	c.exp = 1;      /* not read */
	c.has_exp = false;

	assert_int_equal(rv_token_mint(hs, &c, NOW + 0.75, 3600, &tok, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_non_null(tok);
	assert_int_equal(verify(hs, tok, &got, why, sizeof(why)), RV_TOKEN_OK);
	assert_string_equal(got.sub, "user-7");
	assert_true(got.has_name);
	assert_string_equal(got.name, "Ann \"the host\"");
	assert_int_equal(got.role, RV_TOKEN_ROLE_HOST);
	assert_int_equal(got.n_parties, 2);
	assert_string_equal(got.parties[1], "team-*");
	assert_int_equal(got.n_sessions, 1);
	assert_string_equal(got.sessions[0], "*");
	/* Whole seconds, rounded down. */
	assert_true(got.has_exp && got.exp == NOW + 3600);
	assert_true(got.iat == NOW);
	assert_false(got.has_nbf);
	assert_true(rv_token_allows(&got, RV_TOKEN_SCOPE_PARTY, "team-x"));
	/* Expiry through verify, at the edge. */
	assert_int_equal(verify_at(hs, tok, NOW + 3599.9, 0, &got, why, sizeof(why)),
			 RV_TOKEN_OK);
	assert_int_equal(verify_at(hs, tok, NOW + 3600, 0, &got, why, sizeof(why)),
			 RV_TOKEN_EXPIRED);
	assert_string_equal(got.sub, "user-7");
	assert_int_equal(verify_at(hs, tok, NOW + 3600, 0.5, &got, why, sizeof(why)),
			 RV_TOKEN_OK);
	free(tok);

	/* Member, no name, no scopes, a start time. */
	claims_init(&c, "m");
	c.has_nbf = true;
	c.nbf = NOW + 100;
	assert_int_equal(rv_token_mint(hs, &c, NOW, 600, &tok, why, sizeof(why)), 0);
	assert_int_equal(verify(hs, tok, &got, why, sizeof(why)), RV_TOKEN_NOT_YET);
	assert_why(why, "not valid before");
	assert_int_equal(verify_at(hs, tok, NOW + 40, 60, &got, why, sizeof(why)), RV_TOKEN_OK);
	assert_false(got.has_name);
	assert_int_equal(got.role, RV_TOKEN_ROLE_MEMBER);
	assert_int_equal(got.n_parties + got.n_sessions, 0);
	assert_true(got.has_nbf && got.nbf == NOW + 100);
	free(tok);
}

static void test_mint_refuses(void **state)
{
	struct rv_token_claims c;
	char why[256], *tok = (char *)1;

	claims_init(&c, "u");
	assert_int_equal(rv_token_mint(rs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_null(tok);
	assert_why(why, "RS256 public key cannot sign");
	assert_int_equal(rv_token_mint(es, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(NULL, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(hs, NULL, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, NULL, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(hs, &c, NOW, 0, &tok, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(hs, &c, NOW, -5, &tok, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(hs, &c, NAN, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(hs, &c, NOW, INFINITY, &tok, why, sizeof(why)), RV_EINVAL);
	assert_int_equal(rv_token_mint(hs, &c, 1e16, 60, &tok, why, sizeof(why)), RV_ERANGE);
	c.has_nbf = true;
	c.nbf = NAN;
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_ERANGE);

	claims_init(&c, "");
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "sub");
	claims_init(&c, "a\x01");
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	memset(c.sub, 'a', sizeof(c.sub));     /* no NUL */
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	claims_init(&c, "u");
	c.has_name = true;
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "name");
	claims_init(&c, "u");
	c.role = (enum rv_token_role)2;
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "role");
	claims_init(&c, "u");
	c.n_sessions = 1;
	snprintf(c.sessions[0], sizeof(c.sessions[0]), "a*b");
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "sessions entry 1");
	claims_init(&c, "u");
	c.n_parties = RV_TOKEN_SCOPES_MAX + 1;
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_EINVAL);
	assert_why(why, "parties has 65 entries");
	assert_null(tok);

	/* Every scope at full length does not fit in a token. */
	claims_init(&c, "u");
	for (int i = 0; i < RV_TOKEN_SCOPES_MAX; i++) {
		snprintf(c.parties[i], sizeof(c.parties[i]), "%02d", i);
		memset(c.parties[i] + 2, 'x', RV_ID_MAX - 2);
		c.parties[i][RV_ID_MAX] = '*';
		c.parties[i][RV_ID_MAX + 1] = '\0';
		memcpy(c.sessions[i], c.parties[i], sizeof(c.sessions[i]));
	}
	c.n_parties = c.n_sessions = RV_TOKEN_SCOPES_MAX;
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), RV_ERANGE);
	assert_why(why, "a verifier takes at most 8192");
	assert_null(tok);
	/* ... but the 64 parties alone do, and verify. */
	c.n_sessions = 0;
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), 0);
	assert_int_equal(verify(hs, tok, &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_int_equal(c.n_parties, RV_TOKEN_SCOPES_MAX);
	free(tok);
}

static void test_tampered(void **state)
{
	struct rv_token_claims c;
	char why[256], *tok = NULL, *evil, *dot;

	claims_init(&c, "member");
	assert_int_equal(rv_token_mint(hs, &c, NOW, 60, &tok, why, sizeof(why)), 0);

	/* Another payload under the original signature. */
	evil = hs_token(HS_HEADER, "{\"sub\":\"member\",\"role\":\"host\"}");
	dot = strrchr(evil, '.');
	strcpy(dot, strrchr(tok, '.'));
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	assert_why(why, "signature does not verify with the server's HS256 key");
	assert_true(all_zero(&c, sizeof(c)));
	free(evil);

	/* One signature character changed (a whole sextet: still canonical). */
	evil = strdup(tok);
	dot = strrchr(evil, '.');
	dot[1] = dot[1] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	/* The last character's spare bits set: not canonical base64url (a
	 * 32-byte MAC ends on a character whose low two bits are spare). */
	strcpy(evil, tok);
	evil[strlen(evil) - 1] ^= 1;
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "signature is not base64url");
	/* Signature cut to 30 bytes (40 characters), or 3 bytes longer. */
	strcpy(evil, tok);
	evil[strlen(evil) - 3] = '\0';
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	free(evil);
	evil = malloc(strlen(tok) + 8);
	sprintf(evil, "%sAAAA", tok);
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	free(evil);

	/* Another secret. */
	evil = hs_token_key(HS_HEADER, "{\"sub\":\"member\"}", OTHER_SECRET, strlen(OTHER_SECRET));
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	free(evil);
	/* The same secret, a byte short. */
	evil = hs_token_key(HS_HEADER, "{\"sub\":\"member\"}", SECRET, 31);
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	free(evil);
	/* Signed right, by hand: the helper agrees with libjwt. */
	evil = hs_token(HS_HEADER, "{\"sub\":\"member\"}");
	assert_int_equal(verify(hs, evil, &c, why, sizeof(why)), RV_TOKEN_OK);
	free(evil);
	free(tok);
}

static void test_alg_none(void **state)
{
	static const char *const headers[] = {
		"{\"alg\":\"none\"}", "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"NONE\"}",
		"{\"alg\":\"None\",\"typ\":\"JWT\"}",
	};
	struct rv_token_claims c;
	char why[256], *tok;

	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		const struct rv_token_key *keys[] = { hs, rs, es };

		for (int j = 0; j < 3; j++) {
			tok = raw_token(headers[i], "{\"sub\":\"u\"}", "");
			assert_int_equal(verify(keys[j], tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
			free(tok);
			/* With a signature, or an HMAC one, it is still none. */
			tok = raw_token(headers[i], "{\"sub\":\"u\"}", "c2ln");
			assert_int_equal(verify(keys[j], tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
			assert_why(why, "alg none is never accepted");
			free(tok);
			tok = hs_token(headers[i], "{\"sub\":\"u\"}");
			assert_int_equal(verify(keys[j], tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
			free(tok);
		}
	}
}

static void test_alg_confusion(void **state)
{
	struct rv_token_claims c;
	char why[256], *pem, *tok;
	size_t len;
	jwt_t *j = NULL;

	/* HS256 with the server's RSA public key (the PEM text) as secret:
	 * libjwt alone would take it. */
	pem = slurp("rs256.pub", &len);
	tok = hs_token_key(HS_HEADER, "{\"sub\":\"admin\",\"role\":\"host\"}", pem, len);
	assert_int_equal(jwt_decode(&j, tok, (unsigned char *)pem, (int)len), 0);
	jwt_free(j);
	assert_int_equal(verify(rs, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "alg HS256 does not match the server's RS256 key");
	assert_true(all_zero(&c, sizeof(c)));
	free(tok);
	free(pem);

	pem = slurp("es256.pub", &len);
	tok = hs_token_key(HS_HEADER, "{\"sub\":\"admin\"}", pem, len);
	assert_int_equal(verify(es, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "alg HS256 does not match the server's ES256 key");
	free(tok);
	free(pem);

	/* Any other algorithm than the key's, in any case. */
	{
		static const struct { const char *alg; int key; } wrong[] = {
			{ "RS256", 0 }, { "ES256", 0 }, { "HS384", 0 }, { "HS512", 0 },
			{ "hs256", 0 }, { "HS256 ", 0 }, { "", 0 },
			{ "ES256", 1 }, { "RS384", 1 }, { "PS256", 1 }, { "rs256", 1 },
			{ "RS256", 2 }, { "ES384", 2 }, { "es256", 2 },
		};
		const struct rv_token_key *keys[] = { hs, rs, es };
		char hdr[128];

		for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++) {
			snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", wrong[i].alg);
			tok = hs_token(hdr, "{\"sub\":\"u\"}");
			assert_int_equal(verify(keys[wrong[i].key], tok, &c, why, sizeof(why)),
					 RV_TOKEN_BAD);
			assert_why(why, "does not match the server's");
			free(tok);
		}
	}

	/* An RS256 token against an ES256 key and the other way round. */
	tok = jwt_signed(JWT_ALG_RS256, "rs256.key", "{\"sub\":\"u\"}");
	assert_int_equal(verify(es, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_int_equal(verify(hs, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	free(tok);
	tok = jwt_signed(JWT_ALG_ES256, "es256.key", "{\"sub\":\"u\"}");
	assert_int_equal(verify(rs, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	free(tok);
}

static void test_public_algs(void **state)
{
	struct rv_token_claims c;
	struct rv_token_key *other = NULL;
	char why[256], *tok, *evil, *dot, *pem;
	size_t len;

	tok = jwt_signed(JWT_ALG_RS256, "rs256.key",
			 "{\"sub\":\"rs-user\",\"parties\":[\"p\"],\"exp\":1700000060}");
	assert_int_equal(verify(rs, tok, &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_string_equal(c.sub, "rs-user");
	assert_true(rv_token_allows(&c, RV_TOKEN_SCOPE_PARTY, "p"));
	assert_int_equal(verify_at(rs, tok, NOW + 60, 0, &c, why, sizeof(why)),
			 RV_TOKEN_EXPIRED);
	pem = slurp("rs256-other.pub", &len);
	assert_int_equal(rv_token_key_from_public_pem(pem, len, &other, why, sizeof(why)), 0);
	assert_int_equal(verify(other, tok, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	assert_why(why, "RS256 key");
	rv_token_key_free(other);
	free(pem);
	evil = strdup(tok);
	dot = strrchr(evil, '.');
	dot[5] = dot[5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(rs, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	free(evil);
	free(tok);

	tok = jwt_signed(JWT_ALG_ES256, "es256.key", "{\"sub\":\"es-user\",\"role\":\"host\"}");
	assert_int_equal(verify(es, tok, &c, why, sizeof(why)), RV_TOKEN_OK);
	assert_string_equal(c.sub, "es-user");
	assert_int_equal(c.role, RV_TOKEN_ROLE_HOST);
	pem = slurp("es256-other.pub", &len);
	assert_int_equal(rv_token_key_from_public_pem(pem, len, &other, why, sizeof(why)), 0);
	assert_int_equal(verify(other, tok, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	rv_token_key_free(other);
	free(pem);
	/* An ES256 signature is 64 bytes: shorter or longer never verifies. */
	evil = malloc(strlen(tok) + 8);
	strcpy(evil, tok);
	evil[strlen(evil) - 2] = '\0';      /* 63 bytes */
	assert_int_equal(verify(es, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	sprintf(evil, "%sAAAA", tok);
	assert_int_equal(verify(es, evil, &c, why, sizeof(why)), RV_TOKEN_BAD_SIGNATURE);
	free(evil);
	free(tok);

	/* Bad claims under a good signature are bad, not bad_signature. */
	tok = jwt_signed(JWT_ALG_ES256, "es256.key", "{\"sub\":\"u\",\"role\":\"root\"}");
	assert_int_equal(verify(es, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "role");
	free(tok);
}

static void test_header_rules(void **state)
{
	static const struct { const char *hdr; int rc; const char *why; } cases[] = {
		{ "{\"alg\":\"HS256\"}", RV_TOKEN_OK, NULL },
		{ "{\"typ\":\"JWT\",\"alg\":\"HS256\"}", RV_TOKEN_OK, NULL },
		{ "{\"alg\":\"HS256\",\"typ\":\"jwt\"}", RV_TOKEN_OK, NULL },
		/* Hints about keys never choose one. */
		{ "{\"alg\":\"HS256\",\"kid\":\"k1\",\"jku\":\"https://evil.example/k\","
		  "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}", RV_TOKEN_OK, NULL },
		{ "{\"alg\":\"HS256\",\"typ\":\"at+jwt\"}", RV_TOKEN_BAD, "typ must be JWT" },
		{ "{\"alg\":\"HS256\",\"typ\":1}", RV_TOKEN_BAD, "typ must be JWT" },
		{ "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", RV_TOKEN_BAD, "crit" },
		{ "{\"alg\":\"HS256\",\"b64\":false,\"crit\":[\"b64\"]}", RV_TOKEN_BAD, "crit" },
		{ "{\"alg\":\"none\",\"alg\":\"HS256\"}", RV_TOKEN_BAD, "header is not JSON" },
		{ "{\"alg\":\"HS256\",\"alg\":\"HS256\"}", RV_TOKEN_BAD, "header is not JSON" },
		{ "{\"typ\":\"JWT\"}", RV_TOKEN_BAD, "no alg" },
		{ "{\"alg\":null}", RV_TOKEN_BAD, "no alg" },
		{ "{\"alg\":[\"HS256\"]}", RV_TOKEN_BAD, "no alg" },
		{ "[\"HS256\"]", RV_TOKEN_BAD, "header is not a JSON object" },
		{ "HS256", RV_TOKEN_BAD, "header is not JSON" },
		{ "{\"alg\":\"HS256\"", RV_TOKEN_BAD, "header is not JSON" },
		{ "{\"alg\":\"HS\\u0000256\"}", RV_TOKEN_BAD, "header is not JSON" },
		{ "{\"alg\":\"\xe2\x80\x8bHS256\"}", RV_TOKEN_BAD, "alg ???HS256 does not match" },
		{ "{\"a\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]],\"alg\":\"HS256\"}", RV_TOKEN_BAD,
		  "deeper than 16" },
	};
	struct rv_token_claims c;
	char why[256], *tok;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tok = hs_token(cases[i].hdr, "{\"sub\":\"u\"}");
		if (verify(hs, tok, &c, why, sizeof(why)) != cases[i].rc)
			fail_msg("header %s: %s", cases[i].hdr, why);
		if (cases[i].why)
			assert_why(why, cases[i].why);
		free(tok);
	}
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"a", "..", "a.b", "a..c", ".b.c", "a.b.", "a.b.c.d", "....",
		"eyJhbGciOiJIUzI1NiJ9.e30.AAAA.", "eyJhbGciOiJIUzI1NiJ9 .e30.AAAA",
		"eyJhbGciOiJIUzI1NiJ9.e30=.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30.AA+A",
		"eyJhbGciOiJIUzI1NiJ9.e30.AA/A", "eyJhbGciOiJIUzI1NiJ9.e30.AAAAA",
		"eyJhbGciOiJIUzI1NiJ9.e31.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30.AAB",
		"Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA\n",
		"eyJhbGciOiJIUzI1NiJ9.W10.AAAA", "eyJhbGciOiJIUzI1NiJ9.bnVsbA.AAAA",
		"\xff\xfe.\x01.\x7f",
	};
	struct rv_token_claims c;
	char why[256], *tok, *big;
	unsigned seed = 1;

	assert_int_equal(verify(hs, NULL, &c, why, sizeof(why)), RV_TOKEN_MISSING);
	assert_int_equal(verify(hs, "", &c, why, sizeof(why)), RV_TOKEN_MISSING);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (verify(hs, bad[i], &c, why, sizeof(why)) != RV_TOKEN_BAD)
			fail_msg("'%s' is not bad", bad[i]);

	/* Payloads that are not a JSON object, signed right. */
	tok = hs_token(HS_HEADER, "[1,2]");
	assert_int_equal(verify(hs, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "payload is not a JSON object");
	free(tok);
	tok = hs_token(HS_HEADER, "{\"sub\":\"u\",\"sub\":\"admin\"}");
	assert_int_equal(verify(hs, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "payload is not JSON");
	free(tok);

	/* A NUL in a signed payload: bad (libjwt would read the payload only
	 * to the NUL and call it a bad signature), and so in a header. */
	{
		static const char nul_payload[] = "{\"sub\":\"u\",\"exp\":2000000000\0,\"x\":1}";
		char *h = b64u(HS_HEADER, strlen(HS_HEADER));
		char *p = b64u(nul_payload, sizeof(nul_payload) - 1);
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned mac_len;
		char *sig;

		tok = malloc(strlen(h) + strlen(p) + 64);
		sprintf(tok, "%s.%s", h, p);
		HMAC(EVP_sha256(), SECRET, 32, (unsigned char *)tok, strlen(tok), mac, &mac_len);
		sig = b64u(mac, mac_len);
		strcat(tok, ".");
		strcat(tok, sig);
		assert_int_equal(verify(hs, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
		assert_why(why, "payload is not JSON (a NUL byte");
		free(sig);
		free(tok);
		free(p);
		free(h);
	}

	/* A NUL inside the token's length. */
	tok = hs_token(HS_HEADER, "{\"sub\":\"u\"}");
	{
		size_t len = strlen(tok);

		assert_int_equal(rv_token_verify(hs, tok, len, NOW, 0, &c, why, sizeof(why)),
				 RV_TOKEN_OK);
		assert_int_equal(rv_token_verify(hs, tok, len - 3, NOW, 0, &c, why, sizeof(why)),
				 RV_TOKEN_BAD_SIGNATURE);
		tok[5] = '\0';
		assert_int_equal(rv_token_verify(hs, tok, len, NOW, 0, &c, why, sizeof(why)),
				 RV_TOKEN_BAD);
	}
	free(tok);

	/* Too long, whatever it holds; at the cap it is read. */
	big = malloc(RV_TOKEN_MAX_BYTES + 2);
	memset(big, 'A', RV_TOKEN_MAX_BYTES + 1);
	big[RV_TOKEN_MAX_BYTES + 1] = '\0';
	assert_int_equal(verify(hs, big, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "longer than 8192 bytes");
	big[RV_TOKEN_MAX_BYTES] = '\0';
	assert_int_equal(verify(hs, big, &c, why, sizeof(why)), RV_TOKEN_BAD);
	assert_why(why, "three base64url parts");
	free(big);
	{
		/* A signed token of exactly the cap, its payload padded. */
		char payload[RV_TOKEN_MAX_BYTES];
		size_t fixed;

		tok = hs_token(HS_HEADER, "{\"sub\":\"u\",\"pad\":\"\"}");
		fixed = strlen(tok);
		free(tok);
		/* Each 3 payload bytes add 4 characters. */
		memset(payload, 0, sizeof(payload));
		strcpy(payload, "{\"sub\":\"u\",\"pad\":\"");
		memset(payload + strlen(payload), 'x', (RV_TOKEN_MAX_BYTES - fixed) / 4 * 3);
		strcat(payload, "\"}");
		tok = hs_token(HS_HEADER, payload);
		assert_true(strlen(tok) <= RV_TOKEN_MAX_BYTES && strlen(tok) > RV_TOKEN_MAX_BYTES - 4);
		assert_int_equal(verify(hs, tok, &c, why, sizeof(why)), RV_TOKEN_OK);
		free(tok);
		strcat(payload, "    ");
		tok = hs_token(HS_HEADER, payload);
		assert_true(strlen(tok) > RV_TOKEN_MAX_BYTES);
		assert_int_equal(verify(hs, tok, &c, why, sizeof(why)), RV_TOKEN_BAD);
		free(tok);
	}

	/* Random bytes and random dots: never OK, never a crash. */
	for (int round = 0; round < 2000; round++) {
		char buf[200];
		size_t n = (size_t)(rand_r(&seed) % (int)sizeof(buf));
		int rc;

		for (size_t i = 0; i < n; i++) {
			int r = rand_r(&seed);

			buf[i] = r % 7 == 0 ? '.' : r % 3 ? "AZaz09-_e30J"[r % 12] : (char)(r >> 8);
		}
		rc = rv_token_verify(hs, buf, n, NOW, 0, &c, why, sizeof(why));
		assert_true(rc == RV_TOKEN_MISSING || rc == RV_TOKEN_BAD ||
			    rc == RV_TOKEN_BAD_SIGNATURE);
		assert_int_equal(ERR_peek_error(), 0);
	}

	/* The caller's own mistakes. */
	assert_int_equal(rv_token_verify(NULL, "a.b.c", 5, NOW, 0, &c, why, sizeof(why)),
			 RV_EINVAL);
	assert_int_equal(rv_token_verify(hs, "a.b.c", 5, NOW, 0, NULL, why, sizeof(why)),
			 RV_EINVAL);
	assert_int_equal(rv_token_verify(hs, "a.b.c", 5, NAN, 0, &c, why, sizeof(why)),
			 RV_EINVAL);
	assert_int_equal(rv_token_verify(hs, "a.b.c", 5, NOW, -1, &c, NULL, 0), RV_EINVAL);
}

/* ---- set-up ------------------------------------------------------------- */

static bool try_data_dir(const char *dir)
{
	char p[sizeof(data_dir) + 16];

	snprintf(p, sizeof(p), "%s/rs256.pub", dir);
	if (access(p, R_OK))
		return false;
	snprintf(data_dir, sizeof(data_dir), "%s", dir);
	return true;
}

static struct rv_token_key *load_public(const char *name)
{
	struct rv_token_key *k = NULL;
	char why[256];

	if (rv_token_key_load_public_file(path_of(name), &k, why, sizeof(why)))
		fail_msg("%s", why);
	return k;
}

static int setup(void **state)
{
	char why[256];

	if (rv_token_key_from_secret((const unsigned char *)SECRET, strlen(SECRET), &hs, why,
				     sizeof(why)))
		return -1;
	rs = load_public("rs256.pub");
	es = load_public("es256.pub");
	return rs && es ? 0 : -1;
}

static int teardown(void **state)
{
	rv_token_key_free(hs);
	rv_token_key_free(rs);
	rv_token_key_free(es);
	return 0;
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_result_names),
		cmocka_unit_test(test_key_secret),
		cmocka_unit_test(test_key_public),
		cmocka_unit_test(test_secret_file),
		cmocka_unit_test(test_public_file),
		cmocka_unit_test(test_claims_minimal),
		cmocka_unit_test(test_claims_full),
		cmocka_unit_test(test_claims_bad),
		cmocka_unit_test(test_claims_times),
		cmocka_unit_test(test_allows),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_mint_refuses),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_alg_confusion),
		cmocka_unit_test(test_public_algs),
		cmocka_unit_test(test_header_rules),
		cmocka_unit_test(test_malformed),
	};
	const char *env = getenv("RV_TEST_DATA");
	char near[4096];

	/* build/tests/test_token -> tests/data/token */
	snprintf(near, sizeof(near), "%s", argc > 0 ? argv[0] : ".");
	if (strrchr(near, '/'))
		*strrchr(near, '/') = '\0';
	else
		snprintf(near, sizeof(near), ".");
	strncat(near, "/../../tests/data/token", sizeof(near) - strlen(near) - 1);
	if (!(env && try_data_dir(env)) && !try_data_dir("tests/data/token") &&
	    !try_data_dir(near)) {
		fprintf(stderr, "test_token: no tests/data/token (set RV_TEST_DATA)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
