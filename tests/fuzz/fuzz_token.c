/* tests/fuzz/fuzz_token.c - libFuzzer harness for connection tokens: the
 * claims parser and rv_token_verify with a fixed HS256 key.
 *
 * The first byte picks what the rest is ('0'-'3', or any byte mod 4):
 *   0  claims JSON, for rv_token_claims_parse;
 *   1  a whole token, for rv_token_verify (a forged one is never accepted);
 *   2  a payload, signed here with the fixed key under a fixed header, so
 *      the claims are read after a good signature: verify must then say
 *      exactly what rv_token_claims_parse says of the same bytes;
 *   3  a header, signed here over a fixed payload: accepted only when it
 *      is a JSON object whose alg is exactly "HS256", and never taken for
 *      a bad signature (libjwt must not refuse what our checks let by).
 * Accepted claims must keep the header's promises, and mint again into a
 * token that verifies to the same claims. Any broken promise aborts, which
 * libFuzzer reports as a crash.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "revenge/error.h"
#include "revenge/proto.h"
#include "revenge/token.h"

#define NOW 1700000000.0
#define LEEWAY 30.0
#define SECRET "fuzz-secret-fuzz-secret-fuzz-secret!"
#define HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define PAYLOAD "{\"sub\":\"u\"}"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct rv_token_key *key;

/* Unpadded base64url of n bytes into out (4 * n / 3 + 4 bytes); returns
 * its length. */
static size_t b64u(const void *p, size_t n, char *out)
{
	int len = EVP_EncodeBlock((unsigned char *)out, p, (int)n), t = 0;

	for (int i = 0; i < len; i++) {
		if (out[i] == '=')
			continue;
		out[t++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
	}
	out[t] = '\0';
	return (size_t)t;
}

/* hdr.payload signed with the fixed secret; malloc'd. */
static char *sign(const void *hdr, size_t hdr_len, const void *payload, size_t payload_len)
{
	char *t = malloc(2 * (hdr_len + payload_len) + 128);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	size_t n;

	if (!t)
		abort();
	n = b64u(hdr, hdr_len, t);
	t[n++] = '.';
	n += b64u(payload, payload_len, t + n);
	if (!HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), (unsigned char *)t, n, mac,
		  &mac_len))
		abort();
	t[n++] = '.';
	b64u(mac, mac_len, t + n);
	return t;
}

static bool zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

static void check_why(const char *why, size_t why_len, bool ok)
{
	size_t n = strnlen(why, why_len);

	if (n == why_len || strchr(why, '\n') || (ok ? n != 0 : n == 0))
		abort();
}

static bool scope_ok(const char *s)
{
	size_t len = strnlen(s, RV_TOKEN_SCOPE_MAX + 1);

	if (len == 0 || len > RV_TOKEN_SCOPE_MAX)
		return false;
	if (s[len - 1] == '*')
		len--;
	for (size_t i = 0; i < len; i++)
		if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", s[i]))
			return false;
	return len <= RV_ID_MAX && (len > 0 || s[0] == '*') && !memchr(s, '*', len);
}

static void check_claims(const struct rv_token_claims *c)
{
	size_t len = strnlen(c->sub, sizeof(c->sub));

	if (len == 0 || len > RV_TOKEN_SUB_MAX || !rv_utf8_valid(c->sub, len))
		abort();
	for (size_t i = 0; i < len; i++) {
		unsigned char b = (unsigned char)c->sub[i];

		if (b < 0x20 || b == 0x7f ||
		    (b == 0xc2 && (unsigned char)c->sub[i + 1] < 0xa0))
			abort();
	}
	len = strnlen(c->name, sizeof(c->name));
	if (c->has_name ? !rv_proto_valid_name(c->name, len) : len != 0)
		abort();
	if (c->role != RV_TOKEN_ROLE_MEMBER && c->role != RV_TOKEN_ROLE_HOST)
		abort();
	if (c->n_parties > RV_TOKEN_SCOPES_MAX || c->n_sessions > RV_TOKEN_SCOPES_MAX)
		abort();
	for (unsigned i = 0; i < c->n_sessions; i++)
		if (!scope_ok(c->sessions[i]))
			abort();
	for (unsigned i = 0; i < c->n_parties; i++) {
		char id[RV_TOKEN_SCOPE_MAX + 2];
		size_t n = strlen(c->parties[i]);

		if (!scope_ok(c->parties[i]))
			abort();
		/* Every scope opens an id made from it: itself, or its prefix
		 * and one more character when that is still an id. */
		memcpy(id, c->parties[i], n + 1);
		if (id[n - 1] == '*') {
			if (n - 1 == RV_ID_MAX)
				continue;
			id[n - 1] = 'z';
		}
		if (!rv_token_allows(c, RV_TOKEN_SCOPE_PARTY, id))
			abort();
	}
}

/* Accepted claims mint into a token that verifies to the same claims. */
static void remint(const struct rv_token_claims *c)
{
	struct rv_token_claims again, copy = *c;
	char why[256], *tok = NULL;
	int rc;

	copy.has_nbf = false;
	rc = rv_token_mint(key, &copy, NOW, 60, &tok, why, sizeof(why));
	if (rc == RV_ERANGE && !tok)
		return;     /* too many long scopes for one token */
	if (rc || !tok)
		abort();
	rc = rv_token_verify(key, tok, strlen(tok), NOW, 0, &again, why, sizeof(why));
	if (rc != RV_TOKEN_OK || strcmp(again.sub, c->sub) || again.has_name != c->has_name ||
	    strcmp(again.name, c->name) || again.role != c->role ||
	    again.n_parties != c->n_parties || again.n_sessions != c->n_sessions ||
	    memcmp(again.parties, c->parties, sizeof(c->parties)) ||
	    memcmp(again.sessions, c->sessions, sizeof(c->sessions)))
		abort();
	free(tok);
}

/* The promises every verdict keeps; true when the claims were read. */
static bool check_verdict(int rc, const struct rv_token_claims *c, const char *why,
			  size_t why_len)
{
	bool read = rc == RV_TOKEN_OK || rc == RV_TOKEN_EXPIRED || rc == RV_TOKEN_NOT_YET;

	if (rc < 0 || rc >= RV_TOKEN__COUNT)
		abort();
	check_why(why, why_len, rc == RV_TOKEN_OK);
	if (!read) {
		if (!zero(c, sizeof(*c)))
			abort();
		return false;
	}
	check_claims(c);
	if (rc == RV_TOKEN_EXPIRED && !(c->has_exp && c->exp + LEEWAY <= NOW))
		abort();
	if (rc == RV_TOKEN_NOT_YET && !(c->has_nbf && c->nbf - LEEWAY > NOW))
		abort();
	if (rc == RV_TOKEN_OK && ((c->has_exp && c->exp + LEEWAY <= NOW) ||
				  (c->has_nbf && c->nbf - LEEWAY > NOW)))
		abort();
	return true;
}

static bool header_is_hs256(const uint8_t *h, size_t n)
{
	json_t *root = json_loadb((const char *)h, n, JSON_REJECT_DUPLICATES, NULL);
	const char *alg = json_string_value(json_object_get(root, "alg"));
	bool ok = json_is_object(root) && alg && !strcmp(alg, "HS256") &&
		  json_string_length(json_object_get(root, "alg")) == 5;

	json_decref(root);
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rv_token_claims c, parsed;
	char why[200], pwhy[200], *tok;
	int rc, prc;

	if (!key && rv_token_key_from_secret((const unsigned char *)SECRET, strlen(SECRET), &key,
					     NULL, 0))
		abort();
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		rc = rv_token_claims_parse((const char *)data + 1, size - 1, NOW, LEEWAY, &c, why,
					   sizeof(why));
		if (check_verdict(rc, &c, why, sizeof(why)))
			remint(&c);
		if (rc == RV_TOKEN_MISSING || rc == RV_TOKEN_BAD_SIGNATURE)
			abort();
		break;
	case 1:
		rc = rv_token_verify(key, (const char *)data + 1, size - 1, NOW, LEEWAY, &c, why,
				     sizeof(why));
		if (check_verdict(rc, &c, why, sizeof(why)))
			remint(&c);
		if (rc == RV_TOKEN_MISSING && size != 1)
			abort();
		break;
	case 2:
		tok = sign(HEADER, strlen(HEADER), data + 1, size - 1);
		rc = rv_token_verify(key, tok, strlen(tok), NOW, LEEWAY, &c, why, sizeof(why));
		check_verdict(rc, &c, why, sizeof(why));
		if (strlen(tok) > RV_TOKEN_MAX_BYTES) {
			if (rc != RV_TOKEN_BAD)
				abort();
		} else {
			prc = rv_token_claims_parse((const char *)data + 1, size - 1, NOW, LEEWAY,
						    &parsed, pwhy, sizeof(pwhy));
			/* The same reason too, but for an empty payload, which
			 * verify reports as a missing part of the token. */
			if (rc != prc || memcmp(&c, &parsed, sizeof(c)) ||
			    (size > 1 && strcmp(why, pwhy)))
				abort();
		}
		free(tok);
		break;
	case 3:
		tok = sign(data + 1, size - 1, PAYLOAD, strlen(PAYLOAD));
		rc = rv_token_verify(key, tok, strlen(tok), NOW, LEEWAY, &c, why, sizeof(why));
		check_verdict(rc, &c, why, sizeof(why));
		if (rc == RV_TOKEN_BAD_SIGNATURE)
			abort();
		if (rc == RV_TOKEN_OK && !header_is_hs256(data + 1, size - 1))
			abort();
		free(tok);
		break;
	}
	return 0;
}
