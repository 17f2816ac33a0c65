/* lib/token.c - connection tokens (see token.h): keys, the claims parser,
 * verification and minting.
 *
 * Owns the one place where a JWT is judged. libjwt 1.10 checks signatures
 * and signs, and nothing else is trusted to it: it verifies with whatever
 * algorithm the token's header names (an HS256 token checked against an
 * RSA key's PEM text as the HMAC secret passes), matches "alg" without
 * regard to case, takes the last of duplicate keys, accepts a payload that
 * is a JSON array, and without a key accepts any token as "none". So
 * before libjwt sees a token we check its shape, decode its header and
 * payload ourselves (strict base64url, duplicate keys refused, nesting
 * bounded before jansson recurses) and require the header's alg to be
 * exactly the key's. The claims are then read from our own parse of the
 * payload: the bytes libjwt has just verified.
 *
 * OpenSSL keeps failures on a per-thread error queue that libwebsockets
 * reads after its own TLS calls; everything here that can leave an entry
 * there (PEM parsing, libjwt's verification) clears it afterwards.
 */
#include "revenge/token.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <jwt.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "revenge/error.h"
#include "revenge/proto.h"

#define MAX_DEPTH 16            /* [ and { levels in a header or payload */
#define QUOTE_MAX 24            /* token text quoted in a reason */
#define JSON_WHY_MAX 80         /* jansson's own reason, quoted */
#define NUMERIC_DATE_MAX 9007199254740992.0   /* 2^53: exact in a double */

struct rv_token_key {
	jwt_alg_t jalg;
	const char *alg;
	unsigned char *bytes;   /* the secret, or the key as one SPKI PEM block */
	size_t len;
};

static const char *const result_names[RV_TOKEN__COUNT] = {
	[RV_TOKEN_OK] = "ok",
	[RV_TOKEN_MISSING] = "missing",
	[RV_TOKEN_BAD] = "bad",
	[RV_TOKEN_BAD_SIGNATURE] = "bad_signature",
	[RV_TOKEN_EXPIRED] = "expired",
	[RV_TOKEN_NOT_YET] = "not_yet_valid",
};

const char *rv_token_result_name(int result)
{
	if (result < 0 || result >= RV_TOKEN__COUNT)
		return "error";
	return result_names[result];
}

/* Put a one-line reason in why (when there is room) and return rc. */
static int __attribute__((format(printf, 4, 5)))
say(char *why, size_t why_len, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!why || !why_len)
		return rc;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
	return rc;
}

/* Copy at most max bytes of text from a token or a library message into
 * q (max + 4 bytes) as printable ASCII, so a reason stays one clean line. */
static void quote(char *q, size_t max, const char *s, size_t len)
{
	size_t i, n = len > max ? max : len;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		q[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	if (n < len) {
		memcpy(q + n, "...", 3);
		n += 3;
	}
	q[n] = '\0';
}

/* ---- Keys ------------------------------------------------------------ */

void rv_token_key_free(struct rv_token_key *k)
{
	if (!k)
		return;
	if (k->bytes) {
		OPENSSL_cleanse(k->bytes, k->len);
		free(k->bytes);
	}
	free(k);
}

const char *rv_token_key_alg(const struct rv_token_key *k)
{
	return k ? k->alg : NULL;
}

bool rv_token_key_can_sign(const struct rv_token_key *k)
{
	return k && k->jalg == JWT_ALG_HS256;
}

static int key_new(jwt_alg_t jalg, const void *bytes, size_t len, struct rv_token_key **out,
		   char *why, size_t why_len)
{
	struct rv_token_key *k = calloc(1, sizeof(*k));

	if (!k || !(k->bytes = malloc(len))) {
		free(k);
		return say(why, why_len, RV_ENOMEM, "out of memory");
	}
	memcpy(k->bytes, bytes, len);
	k->len = len;
	k->jalg = jalg;
	k->alg = jwt_alg_str(jalg);
	*out = k;
	return 0;
}

int rv_token_key_from_secret(const unsigned char *secret, size_t len,
			     struct rv_token_key **out, char *why, size_t why_len)
{
	if (why && why_len)
		why[0] = '\0';
	if (!out)
		return say(why, why_len, RV_EINVAL, "no place for the key");
	*out = NULL;
	if (!secret || len == 0)
		return say(why, why_len, RV_EINVAL, "the HS256 secret is empty");
	if (len < RV_TOKEN_SECRET_MIN)
		return say(why, why_len, RV_EINVAL,
			   "the HS256 secret is %zu bytes; at least %d are needed "
			   "(make one with: openssl rand -base64 32)", len, RV_TOKEN_SECRET_MIN);
	if (len > RV_TOKEN_SECRET_MAX)
		return say(why, why_len, RV_ERANGE, "the HS256 secret is %zu bytes; at most %d",
			   len, RV_TOKEN_SECRET_MAX);
	return key_new(JWT_ALG_HS256, secret, len, out, why, why_len);
}

/* Public keys are never encrypted: never let OpenSSL prompt on a terminal. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static bool has_text(const char *s, size_t len, const char *what)
{
	return memmem(s, len, what, strlen(what)) != NULL;
}

/* Why a PEM text gave no public key, in words that say what to do. */
static int pem_refused(const char *pem, size_t len, char *why, size_t why_len)
{
	if (has_text(pem, len, "PRIVATE KEY-----"))
		return say(why, why_len, RV_EINVAL,
			   "this is a private key; the server needs only the public key "
			   "(openssl pkey -in KEY -pubout)");
	if (has_text(pem, len, "-----BEGIN CERTIFICATE"))
		return say(why, why_len, RV_EINVAL,
			   "this is a certificate; give its public key "
			   "(openssl x509 -in CERT -pubkey -noout)");
	if (has_text(pem, len, "-----BEGIN RSA PUBLIC KEY"))
		return say(why, why_len, RV_EINVAL,
			   "this is a PKCS#1 RSA key; convert it "
			   "(openssl rsa -RSAPublicKey_in -in KEY -pubout)");
	if (has_text(pem, len, "-----BEGIN PUBLIC KEY"))
		return say(why, why_len, RV_EINVAL, "the PUBLIC KEY block does not parse");
	return say(why, why_len, RV_EINVAL,
		   "no PEM public key (-----BEGIN PUBLIC KEY-----) found");
}

/* Which JWT algorithm pkey can verify, or JWT_ALG_INVAL and why not. */
static jwt_alg_t pkey_alg(EVP_PKEY *pkey, char *why, size_t why_len)
{
	char group[64];
	size_t glen = 0;
	int type = EVP_PKEY_get_base_id(pkey), nid;

	switch (type) {
	case EVP_PKEY_RSA:
		if (EVP_PKEY_get_bits(pkey) < RV_TOKEN_RSA_BITS_MIN) {
			say(why, why_len, 0, "an RSA key of %d bits; RS256 needs at least %d",
			    EVP_PKEY_get_bits(pkey), RV_TOKEN_RSA_BITS_MIN);
			return JWT_ALG_INVAL;
		}
		return JWT_ALG_RS256;
	case EVP_PKEY_EC:
		if (!EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen)) {
			say(why, why_len, 0, "an EC key without a named curve; ES256 needs P-256");
			return JWT_ALG_INVAL;
		}
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid != NID_X9_62_prime256v1) {
			say(why, why_len, 0, "an EC key on curve %s; ES256 needs P-256 (prime256v1)",
			    group);
			return JWT_ALG_INVAL;
		}
		return JWT_ALG_ES256;
	case EVP_PKEY_RSA_PSS:
		say(why, why_len, 0, "an RSA-PSS key; RS256 needs a plain RSA key");
		return JWT_ALG_INVAL;
	case EVP_PKEY_ED25519:
	case EVP_PKEY_ED448:
		say(why, why_len, 0, "an EdDSA key, which libjwt 1.10 cannot verify; "
		    "use RSA (RS256) or EC P-256 (ES256)");
		return JWT_ALG_INVAL;
	default:
		say(why, why_len, 0, "a %s key; only RSA (RS256) and EC P-256 (ES256) are supported",
		    type != NID_undef && OBJ_nid2sn(type) ? OBJ_nid2sn(type) : "unknown");
		return JWT_ALG_INVAL;
	}
}

int rv_token_key_from_public_pem(const char *pem, size_t len,
				 struct rv_token_key **out, char *why, size_t why_len)
{
	EVP_PKEY *pkey = NULL, *more = NULL;
	BIO *in = NULL, *norm = NULL;
	jwt_alg_t jalg;
	char *data;
	long dlen;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!out)
		return say(why, why_len, RV_EINVAL, "no place for the key");
	*out = NULL;
	if (!pem || len == 0)
		return say(why, why_len, RV_EINVAL, "the public key is empty");
	if (len > RV_TOKEN_PEM_MAX)
		return say(why, why_len, RV_ERANGE, "the public key is %zu bytes; at most %d",
			   len, RV_TOKEN_PEM_MAX);
	/* The signing key has no business on the verifying side, even next
	 * to the public one. */
	if (has_text(pem, len, "PRIVATE KEY-----"))
		return pem_refused(pem, len, why, why_len);

	in = BIO_new_mem_buf(pem, (int)len);
	if (!in) {
		rc = say(why, why_len, RV_ENOMEM, "out of memory");
		goto out;
	}
	pkey = PEM_read_bio_PUBKEY(in, NULL, no_password, NULL);
	if (!pkey) {
		rc = pem_refused(pem, len, why, why_len);
		goto out;
	}
	more = PEM_read_bio_PUBKEY(in, NULL, no_password, NULL);
	if (more) {
		rc = say(why, why_len, RV_EINVAL, "more than one public key; give exactly one");
		goto out;
	}
	jalg = pkey_alg(pkey, why, why_len);
	if (jalg == JWT_ALG_INVAL) {
		rc = RV_EINVAL;
		goto out;
	}
	/* libjwt parses the PEM again on every verification: hand it one
	 * clean block of OpenSSL's own writing, nothing around it. */
	norm = BIO_new(BIO_s_mem());
	if (!norm || !PEM_write_bio_PUBKEY(norm, pkey) ||
	    (dlen = BIO_get_mem_data(norm, &data)) <= 0) {
		rc = say(why, why_len, RV_ENOMEM, "out of memory");
		goto out;
	}
	rc = key_new(jalg, data, (size_t)dlen, out, why, why_len);
out:
	EVP_PKEY_free(more);
	EVP_PKEY_free(pkey);
	BIO_free(norm);
	BIO_free(in);
	ERR_clear_error();
	return rc;
}

/* Read the file at path into buf, up to cap bytes; RV_ERANGE when it holds
 * more, said as "larger than limit bytes". what names the file in reasons
 * ("secret file"). */
static int read_capped(const char *path, const char *what, unsigned char *buf, size_t cap,
		       size_t limit, size_t *len, char *why, size_t why_len)
{
	size_t got = 0;
	int fd, err;
	ssize_t n;

	*len = 0;
	if (!path || !*path)
		return say(why, why_len, RV_EINVAL, "no %s given", what);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		err = errno;
		return say(why, why_len, err == ENOENT ? RV_ENOENT : RV_EIO,
			   "cannot open %s %s: %s", what, path, strerror(err));
	}
	/* One byte past the cap tells "too large" without trusting fstat
	 * (a pipe has no size). */
	for (;;) {
		unsigned char one;

		n = got < cap ? read(fd, buf + got, cap - got) : read(fd, &one, 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			return say(why, why_len, RV_EIO, "cannot read %s %s: %s", what, path,
				   strerror(err));
		}
		if (n == 0)
			break;
		if (got == cap) {
			close(fd);
			return say(why, why_len, RV_ERANGE, "%s %s is larger than %zu bytes",
				   what, path, limit);
		}
		got += (size_t)n;
	}
	close(fd);
	if (got == 0)
		return say(why, why_len, RV_EINVAL, "%s %s is empty", what, path);
	*len = got;
	return 0;
}

int rv_token_key_load_secret_file(const char *path, struct rv_token_key **out,
				  char *why, size_t why_len)
{
	/* Room for the largest secret and its line end. */
	unsigned char buf[RV_TOKEN_SECRET_MAX + 2];
	size_t len;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!out)
		return say(why, why_len, RV_EINVAL, "no place for the key");
	*out = NULL;
	rc = read_capped(path, "secret file", buf, sizeof(buf), RV_TOKEN_SECRET_MAX, &len,
			 why, why_len);
	if (rc)
		goto out;
	if (len && buf[len - 1] == '\n') {
		len--;
		if (len && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		rc = say(why, why_len, RV_EINVAL, "secret file %s is empty", path);
		goto out;
	}
	if (len > RV_TOKEN_SECRET_MAX) {
		rc = say(why, why_len, RV_ERANGE, "secret file %s is larger than %d bytes",
			 path, RV_TOKEN_SECRET_MAX);
		goto out;
	}
	rc = rv_token_key_from_secret(buf, len, out, why, why_len);
	if (rc == RV_EINVAL && why && why_len) {
		char inner[160];

		snprintf(inner, sizeof(inner), "%s", why);
		say(why, why_len, rc, "secret file %s: %s", path, inner);
	}
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

int rv_token_key_load_public_file(const char *path, struct rv_token_key **out,
				  char *why, size_t why_len)
{
	unsigned char *buf;
	size_t len;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!out)
		return say(why, why_len, RV_EINVAL, "no place for the key");
	*out = NULL;
	buf = malloc(RV_TOKEN_PEM_MAX);
	if (!buf)
		return say(why, why_len, RV_ENOMEM, "out of memory");
	rc = read_capped(path, "public key file", buf, RV_TOKEN_PEM_MAX, RV_TOKEN_PEM_MAX, &len,
			 why, why_len);
	if (!rc) {
		rc = rv_token_key_from_public_pem((const char *)buf, len, out, why, why_len);
		if (rc && why && why_len) {
			char inner[200];

			snprintf(inner, sizeof(inner), "%s", why);
			say(why, why_len, rc, "public key file %s: %s", path, inner);
		}
	}
	free(buf);
	return rc;
}

/* ---- Claims ---------------------------------------------------------- */

/* No C0 control, DEL or C1 control (U+0080-U+009F) in valid UTF-8. */
static bool no_controls(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c == 0x7f)
			return false;
		if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f)
			return false;
	}
	return true;
}

static bool valid_sub(const char *s, size_t len)
{
	return len >= 1 && len <= RV_TOKEN_SUB_MAX && rv_utf8_valid(s, len) &&
	       no_controls(s, len);
}

/* An id, or 0-64 id characters and a final '*'. */
static bool valid_scope(const char *s, size_t len)
{
	if (len >= 1 && s[len - 1] == '*')
		return len == 1 || rv_proto_valid_id(s, len - 1);
	return rv_proto_valid_id(s, len);
}

static const char *scope_claim(enum rv_token_scope kind)
{
	return kind == RV_TOKEN_SCOPE_PARTY ? "parties" : "sessions";
}

static bool times_ok(double now_s, double leeway_s)
{
	return isfinite(now_s) && isfinite(leeway_s) && leeway_s >= 0;
}

/* Parse text[0..len) as one JSON object, bounded in depth; what names it
 * in reasons ("header", "payload": the claims are a token's payload even
 * when parsed alone). NULL with *rc set on failure. */
static json_t *load_object(const char *what, const char *text, size_t len, int *rc,
			   char *why, size_t why_len)
{
	char q[JSON_WHY_MAX + 4];
	json_error_t jerr;
	const char *nul;
	json_t *root;

	if (!text || len == 0) {
		*rc = say(why, why_len, RV_TOKEN_BAD, "the %s is empty", what);
		return NULL;
	}
	if (len > RV_TOKEN_MAX_BYTES) {
		*rc = say(why, why_len, RV_TOKEN_BAD, "the %s is longer than %d bytes", what,
			  RV_TOKEN_MAX_BYTES);
		return NULL;
	}
	/* JSON has no raw NUL, but jansson skips one after a number or a
	 * literal ({"exp":1\0} loads), and libjwt reads the payload only up
	 * to its first NUL: refuse it, so both read the same text. */
	nul = memchr(text, '\0', len);
	if (nul) {
		*rc = say(why, why_len, RV_TOKEN_BAD, "the %s is not JSON (a NUL byte at byte %zu)",
			  what, (size_t)(nul - text));
		return NULL;
	}
	if (rv_json_depth_exceeded(text, len, MAX_DEPTH) != SIZE_MAX) {
		*rc = say(why, why_len, RV_TOKEN_BAD, "the %s nests deeper than %d levels", what,
			  MAX_DEPTH);
		return NULL;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
	if (!root) {
		if (json_error_code(&jerr) == json_error_out_of_memory) {
			*rc = say(why, why_len, RV_ENOMEM, "out of memory");
			return NULL;
		}
		quote(q, JSON_WHY_MAX, jerr.text, strlen(jerr.text));
		*rc = say(why, why_len, RV_TOKEN_BAD, "the %s is not JSON (byte %d: %s)", what,
			  jerr.position, q);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		*rc = say(why, why_len, RV_TOKEN_BAD, "the %s is not a JSON object", what);
		return NULL;
	}
	return root;
}

static int read_scopes(const json_t *root, enum rv_token_scope kind,
		       char dst[][RV_TOKEN_SCOPE_MAX + 1], unsigned *n, char *why, size_t why_len)
{
	const char *claim = scope_claim(kind);
	const json_t *arr = json_object_get(root, claim), *v;
	size_t i;

	*n = 0;
	if (!arr)
		return 0;
	if (!json_is_array(arr))
		return say(why, why_len, RV_TOKEN_BAD, "claim %s is not an array", claim);
	if (json_array_size(arr) > RV_TOKEN_SCOPES_MAX)
		return say(why, why_len, RV_TOKEN_BAD, "claim %s has %zu entries; at most %d",
			   claim, json_array_size(arr), RV_TOKEN_SCOPES_MAX);
	json_array_foreach(arr, i, v) {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);

		if (!s)
			return say(why, why_len, RV_TOKEN_BAD, "claim %s entry %zu is not a string",
				   claim, i + 1);
		if (!valid_scope(s, len))
			return say(why, why_len, RV_TOKEN_BAD,
				   "claim %s entry %zu is neither an id nor a prefix ending in '*'",
				   claim, i + 1);
		memcpy(dst[i], s, len + 1);
	}
	*n = (unsigned)json_array_size(arr);
	return 0;
}

static int read_time(const json_t *root, const char *claim, double *v, bool *has,
		     char *why, size_t why_len)
{
	const json_t *t = json_object_get(root, claim);

	*v = 0;
	if (has)
		*has = false;
	if (!t)
		return 0;
	if (!json_is_number(t))
		return say(why, why_len, RV_TOKEN_BAD, "claim %s is not a number", claim);
	*v = json_number_value(t);
	if (has)
		*has = true;
	return 0;
}

/* The claims in root, checked, and the verdict at now_s. */
static int claims_from(const json_t *root, double now_s, double leeway_s,
		       struct rv_token_claims *out, char *why, size_t why_len)
{
	const json_t *v;
	const char *s;
	size_t len;
	int rc;

	v = json_object_get(root, "sub");
	if (!v)
		return say(why, why_len, RV_TOKEN_BAD, "claim sub is missing");
	s = json_string_value(v);
	len = json_string_length(v);
	if (!s)
		return say(why, why_len, RV_TOKEN_BAD, "claim sub is not a string");
	if (!valid_sub(s, len))
		return say(why, why_len, RV_TOKEN_BAD,
			   "claim sub must be 1-%d bytes with no control characters",
			   RV_TOKEN_SUB_MAX);
	memcpy(out->sub, s, len + 1);

	v = json_object_get(root, "name");
	if (v) {
		s = json_string_value(v);
		len = json_string_length(v);
		if (!s)
			return say(why, why_len, RV_TOKEN_BAD, "claim name is not a string");
		if (!rv_proto_valid_name(s, len))
			return say(why, why_len, RV_TOKEN_BAD,
				   "claim name is not a valid display name (1-%d characters, "
				   "no control, bidi control or line separator, not only "
				   "blank or invisible characters)", RV_NAME_MAX_CHARS);
		memcpy(out->name, s, len + 1);
		out->has_name = true;
	}

	v = json_object_get(root, "role");
	if (v) {
		s = json_string_value(v);
		if (s && !strcmp(s, "host") && json_string_length(v) == 4)
			out->role = RV_TOKEN_ROLE_HOST;
		else if (s && !strcmp(s, "member") && json_string_length(v) == 6)
			out->role = RV_TOKEN_ROLE_MEMBER;
		else
			return say(why, why_len, RV_TOKEN_BAD,
				   "claim role must be \"host\" or \"member\"");
	}

	v = json_object_get(root, "admin");
	if (v) {
		if (!json_is_boolean(v))
			return say(why, why_len, RV_TOKEN_BAD, "claim admin must be true or false");
		out->admin = json_is_true(v);
	}

	if ((rc = read_scopes(root, RV_TOKEN_SCOPE_PARTY, out->parties, &out->n_parties,
			      why, why_len)) ||
	    (rc = read_scopes(root, RV_TOKEN_SCOPE_SESSION, out->sessions, &out->n_sessions,
			      why, why_len)) ||
	    (rc = read_time(root, "exp", &out->exp, &out->has_exp, why, why_len)) ||
	    (rc = read_time(root, "nbf", &out->nbf, &out->has_nbf, why, why_len)) ||
	    (rc = read_time(root, "iat", &out->iat, NULL, why, why_len)))
		return rc;

	if (out->has_exp && out->exp + leeway_s <= now_s)
		return say(why, why_len, RV_TOKEN_EXPIRED,
			   "the token expired at %.0f, %.0f s ago (leeway %g s)", out->exp,
			   now_s - out->exp, leeway_s);
	if (out->has_nbf && out->nbf - leeway_s > now_s)
		return say(why, why_len, RV_TOKEN_NOT_YET,
			   "the token is not valid before %.0f, %.0f s from now (leeway %g s)",
			   out->nbf, out->nbf - now_s, leeway_s);
	return RV_TOKEN_OK;
}

/* Claims filled for OK, EXPIRED and NOT_YET; zeroed for anything else. */
static int claims_verdict(const json_t *root, double now_s, double leeway_s,
			  struct rv_token_claims *out, char *why, size_t why_len)
{
	int rc = claims_from(root, now_s, leeway_s, out, why, why_len);

	if (rc != RV_TOKEN_OK && rc != RV_TOKEN_EXPIRED && rc != RV_TOKEN_NOT_YET)
		memset(out, 0, sizeof(*out));
	return rc;
}

int rv_token_claims_parse(const char *json, size_t len, double now_s, double leeway_s,
			  struct rv_token_claims *out, char *why, size_t why_len)
{
	json_t *root;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!out)
		return say(why, why_len, RV_EINVAL, "no place for the claims");
	memset(out, 0, sizeof(*out));
	if (!times_ok(now_s, leeway_s))
		return say(why, why_len, RV_EINVAL, "now or leeway is not a finite time");
	root = load_object("payload", json, len, &rc, why, why_len);
	if (!root)
		return rc;
	rc = claims_verdict(root, now_s, leeway_s, out, why, why_len);
	json_decref(root);
	return rc;
}

bool rv_token_allows(const struct rv_token_claims *c, enum rv_token_scope kind,
		     const char *id)
{
	const char (*list)[RV_TOKEN_SCOPE_MAX + 1];
	unsigned n;
	size_t id_len;

	if (!c || !id)
		return false;
	id_len = strlen(id);
	if (!rv_proto_valid_id(id, id_len))
		return false;
	if (kind == RV_TOKEN_SCOPE_PARTY) {
		list = c->parties;
		n = c->n_parties;
	} else if (kind == RV_TOKEN_SCOPE_SESSION) {
		list = c->sessions;
		n = c->n_sessions;
	} else {
		return false;
	}
	if (n > RV_TOKEN_SCOPES_MAX)
		n = RV_TOKEN_SCOPES_MAX;
	for (unsigned i = 0; i < n; i++) {
		const char *s = list[i];
		size_t len = strnlen(s, RV_TOKEN_SCOPE_MAX + 1);

		if (len == 0 || len > RV_TOKEN_SCOPE_MAX)
			continue;
		if (s[len - 1] == '*') {
			if (id_len >= len - 1 && !memcmp(id, s, len - 1))
				return true;
		} else if (len == id_len && !memcmp(id, s, len)) {
			return true;
		}
	}
	return false;
}

/* ---- Verification ---------------------------------------------------- */

static int b64u_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Decode the unpadded base64url text s[0..n) into out (room for n / 4 * 3
 * + 2 bytes); returns the decoded length, or -1 unless s is canonical:
 * only the 64 characters, no length of 4k + 1, no stray bits at the end. */
static long b64u_decode(const char *s, size_t n, unsigned char *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t i, o = 0;

	if (n % 4 == 1)
		return -1;
	for (i = 0; i < n; i++) {
		int v = b64u_value((unsigned char)s[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc != 0)
		return -1;
	return (long)o;
}

/* The header must name exactly the key's algorithm. */
static int check_header(const struct rv_token_key *k, const char *text, size_t len,
			char *why, size_t why_len)
{
	char q[QUOTE_MAX + 4];
	const json_t *alg, *typ;
	json_t *h;
	const char *a;
	int rc;

	h = load_object("header", text, len, &rc, why, why_len);
	if (!h)
		return rc;
	rc = RV_TOKEN_BAD;
	alg = json_object_get(h, "alg");
	a = json_string_value(alg);
	if (!a) {
		say(why, why_len, rc, "the header has no alg string");
		goto out;
	}
	if (!strcasecmp(a, "none")) {
		say(why, why_len, rc, "alg none is never accepted");
		goto out;
	}
	if (json_string_length(alg) != strlen(k->alg) || strcmp(a, k->alg)) {
		quote(q, QUOTE_MAX, a, json_string_length(alg));
		say(why, why_len, rc, "alg %s does not match the server's %s key", q, k->alg);
		goto out;
	}
	/* libjwt refuses any typ but JWT; say so here rather than have it
	 * look like a bad signature. */
	typ = json_object_get(h, "typ");
	if (typ && (!json_is_string(typ) || strcasecmp(json_string_value(typ), "JWT"))) {
		say(why, why_len, rc, "header typ must be JWT");
		goto out;
	}
	if (json_object_get(h, "crit")) {
		say(why, why_len, rc, "header crit names extensions this server does not know");
		goto out;
	}
	rc = RV_TOKEN_OK;
out:
	json_decref(h);
	return rc;
}

int rv_token_verify(const struct rv_token_key *k, const char *token, size_t len,
		    double now_s, double leeway_s, struct rv_token_claims *out,
		    char *why, size_t why_len)
{
	const char *part[3];
	size_t part_len[3], i, p;
	unsigned char *dec = NULL;
	char *copy = NULL;
	json_t *claims = NULL;
	jwt_t *jwt = NULL;
	long dlen;
	int rc, jrc;

	if (why && why_len)
		why[0] = '\0';
	if (out)
		memset(out, 0, sizeof(*out));
	if (!k || !out)
		return say(why, why_len, RV_EINVAL, "no key or no place for the claims");
	if (!times_ok(now_s, leeway_s))
		return say(why, why_len, RV_EINVAL, "now or leeway is not a finite time");
	if (!token || len == 0)
		return say(why, why_len, RV_TOKEN_MISSING, "no token");
	if (len > RV_TOKEN_MAX_BYTES)
		return say(why, why_len, RV_TOKEN_BAD, "the token is longer than %d bytes",
			   RV_TOKEN_MAX_BYTES);

	part[0] = token;
	for (i = 0, p = 0; i < len; i++) {
		if (token[i] != '.')
			continue;
		if (p == 2)
			return say(why, why_len, RV_TOKEN_BAD, "the token has more than three parts");
		part_len[p] = (size_t)(token + i - part[p]);
		part[++p] = token + i + 1;
	}
	if (p != 2)
		return say(why, why_len, RV_TOKEN_BAD,
			   "the token is not three base64url parts joined by '.'");
	part_len[2] = (size_t)(token + len - part[2]);
	for (p = 0; p < 3; p++) {
		static const char *const names[3] = { "header", "payload", "signature" };

		if (part_len[p] == 0)
			return say(why, why_len, RV_TOKEN_BAD, "the token's %s is empty", names[p]);
	}

	/* One buffer for a decoded part (at most 3/4 of the token) and a
	 * NUL-terminated copy of the token for libjwt. */
	dec = malloc(len + 3);
	copy = malloc(len + 1);
	if (!dec || !copy) {
		rc = say(why, why_len, RV_ENOMEM, "out of memory");
		goto out;
	}
	if (b64u_decode(part[2], part_len[2], dec) < 0) {
		rc = say(why, why_len, RV_TOKEN_BAD, "the token's signature is not base64url");
		goto out;
	}
	dlen = b64u_decode(part[0], part_len[0], dec);
	if (dlen < 0) {
		rc = say(why, why_len, RV_TOKEN_BAD, "the token's header is not base64url");
		goto out;
	}
	rc = check_header(k, (const char *)dec, (size_t)dlen, why, why_len);
	if (rc)
		goto out;
	dlen = b64u_decode(part[1], part_len[1], dec);
	if (dlen < 0) {
		rc = say(why, why_len, RV_TOKEN_BAD, "the token's payload is not base64url");
		goto out;
	}
	claims = load_object("payload", (const char *)dec, (size_t)dlen, &rc, why, why_len);
	if (!claims)
		goto out;

	memcpy(copy, token, len);
	copy[len] = '\0';
	jrc = jwt_decode(&jwt, copy, k->bytes, (int)k->len);
	if (jrc) {
		jwt = NULL;
		rc = jrc == ENOMEM ? say(why, why_len, RV_ENOMEM, "out of memory")
				   : say(why, why_len, RV_TOKEN_BAD_SIGNATURE,
					 "the signature does not verify with the server's %s key",
					 k->alg);
		goto out;
	}
	/* Checked above; should libjwt ever disagree, do not trust it. */
	if (jwt_get_alg(jwt) != k->jalg) {
		rc = say(why, why_len, RV_TOKEN_BAD, "libjwt read another alg than %s", k->alg);
		goto out;
	}
	rc = claims_verdict(claims, now_s, leeway_s, out, why, why_len);
out:
	if (rc != RV_TOKEN_OK && rc != RV_TOKEN_EXPIRED && rc != RV_TOKEN_NOT_YET)
		memset(out, 0, sizeof(*out));
	jwt_free(jwt);
	json_decref(claims);
	free(copy);
	free(dec);
	ERR_clear_error();
	return rc;
}

/* ---- Minting --------------------------------------------------------- */

/* The checks the parser makes, on a struct: what mint signs must verify. */
static int check_claims(const struct rv_token_claims *c, char *why, size_t why_len)
{
	size_t len = strnlen(c->sub, sizeof(c->sub));

	if (len == sizeof(c->sub) || !valid_sub(c->sub, len))
		return say(why, why_len, RV_EINVAL,
			   "sub must be 1-%d bytes of UTF-8 with no control characters",
			   RV_TOKEN_SUB_MAX);
	len = strnlen(c->name, sizeof(c->name));
	if (c->has_name && (len == sizeof(c->name) || !rv_proto_valid_name(c->name, len)))
		return say(why, why_len, RV_EINVAL, "name is not a valid display name");
	if (c->role != RV_TOKEN_ROLE_MEMBER && c->role != RV_TOKEN_ROLE_HOST)
		return say(why, why_len, RV_EINVAL, "role is neither host nor member");
	for (int kind = RV_TOKEN_SCOPE_PARTY; kind <= RV_TOKEN_SCOPE_SESSION; kind++) {
		const char (*list)[RV_TOKEN_SCOPE_MAX + 1] =
			kind == RV_TOKEN_SCOPE_PARTY ? c->parties : c->sessions;
		unsigned n = kind == RV_TOKEN_SCOPE_PARTY ? c->n_parties : c->n_sessions;

		if (n > RV_TOKEN_SCOPES_MAX)
			return say(why, why_len, RV_EINVAL, "%s has %u entries; at most %d",
				   scope_claim(kind), n, RV_TOKEN_SCOPES_MAX);
		for (unsigned i = 0; i < n; i++) {
			len = strnlen(list[i], RV_TOKEN_SCOPE_MAX + 1);
			if (len > RV_TOKEN_SCOPE_MAX || !valid_scope(list[i], len))
				return say(why, why_len, RV_EINVAL,
					   "%s entry %u is neither an id nor a prefix ending in '*'",
					   scope_claim(kind), i + 1);
		}
	}
	return 0;
}

/* Set key to a new value in o; false (and nothing leaked) on failure. */
static bool put(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0;
}

static bool put_scopes(json_t *o, const char *key,
		       const char (*list)[RV_TOKEN_SCOPE_MAX + 1], unsigned n)
{
	json_t *arr;

	if (n == 0)
		return true;
	arr = json_array();
	if (!put(o, key, arr))
		return false;
	for (unsigned i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(list[i])))
			return false;
	return true;
}

/* A NumericDate as whole seconds (rounded down), as most JWT libraries
 * expect; false on out-of-memory. */
static bool put_time(json_t *o, const char *key, double t)
{
	return put(o, key, json_integer((json_int_t)floor(t)));
}

int rv_token_mint(const struct rv_token_key *k, const struct rv_token_claims *c,
		  double now_s, double ttl_s, char **out, char *why, size_t why_len)
{
	json_t *o = NULL;
	char *body = NULL, *tok = NULL;
	jwt_t *jwt = NULL;
	int rc;

	if (why && why_len)
		why[0] = '\0';
	if (!out)
		return say(why, why_len, RV_EINVAL, "no place for the token");
	*out = NULL;
	if (!k || !c)
		return say(why, why_len, RV_EINVAL, "no key or no claims");
	if (!rv_token_key_can_sign(k))
		return say(why, why_len, RV_EINVAL, "a %s public key cannot sign; only a secret can",
			   k->alg);
	if (!isfinite(now_s) || !isfinite(ttl_s) || ttl_s <= 0)
		return say(why, why_len, RV_EINVAL, "now must be finite and the ttl > 0 s");
	if (fabs(now_s) >= NUMERIC_DATE_MAX || now_s + ttl_s >= NUMERIC_DATE_MAX ||
	    (c->has_nbf && (!isfinite(c->nbf) || fabs(c->nbf) >= NUMERIC_DATE_MAX)))
		return say(why, why_len, RV_ERANGE, "a time is out of range");
	rc = check_claims(c, why, why_len);
	if (rc)
		return rc;

	rc = say(why, why_len, RV_ENOMEM, "out of memory");
	o = json_object();
	if (!o || !put(o, "sub", json_string(c->sub)) ||
	    (c->has_name && !put(o, "name", json_string(c->name))) ||
	    !put(o, "role", json_string(c->role == RV_TOKEN_ROLE_HOST ? "host" : "member")) ||
	    !put_scopes(o, "parties", c->parties, c->n_parties) ||
	    !put_scopes(o, "sessions", c->sessions, c->n_sessions) ||
	    (c->admin && !put(o, "admin", json_true())) ||
	    !put_time(o, "iat", now_s) || !put_time(o, "exp", now_s + ttl_s) ||
	    (c->has_nbf && !put_time(o, "nbf", c->nbf)))
		goto out;
	body = json_dumps(o, JSON_COMPACT);
	if (!body || jwt_new(&jwt) || jwt_add_grants_json(jwt, body) ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, k->bytes, (int)k->len))
		goto out;
	tok = jwt_encode_str(jwt);
	if (!tok)
		goto out;
	if (strlen(tok) > RV_TOKEN_MAX_BYTES) {
		rc = say(why, why_len, RV_ERANGE,
			 "the token would be %zu bytes; a verifier takes at most %d",
			 strlen(tok), RV_TOKEN_MAX_BYTES);
		goto out;
	}
	*out = tok;
	tok = NULL;
	rc = 0;
	if (why && why_len)
		why[0] = '\0';
out:
	free(tok);
	jwt_free(jwt);
	free(body);
	json_decref(o);
	ERR_clear_error();
	return rc;
}
