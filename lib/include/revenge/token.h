/* revenge/token.h - connection tokens: JWTs signed HS256, RS256 or ES256.
 *
 * A server holds one key: a shared secret (HS256, which can also mint
 * tokens) or a public key (RS256 or ES256, verify only). A token is
 * accepted only when its header names exactly the key's algorithm: "none",
 * an HMAC token under a public key (the classic confusion attack, where the
 * public key's PEM text is used as the HMAC secret) and any other
 * algorithm are refused before any signature is checked. Signatures are
 * checked by libjwt; the claims are read by a pure parser here, which never
 * reads a clock (now is an argument) and can be fuzzed on its own.
 *
 * Claims (unknown ones are ignored; a known one of the wrong JSON type,
 * null included, makes the token bad):
 *   sub       required, 1-128 bytes of UTF-8, no control characters
 *   name      optional display name (rv_proto_valid_name)
 *   role      optional, "host" or "member" (absent = member)
 *   parties   optional array of at most 64 scopes
 *   sessions  optional array of at most 64 scopes
 *   admin     optional boolean: true lets it use the admin API on the
 *             --metrics-listen address (absent = false); it opens no party
 *             or session by itself
 *   exp, nbf  optional NumericDates (seconds, integer or not)
 *   iat       optional NumericDate, informational
 * A scope is an id ([A-Za-z0-9_-]{1,64}) matched exactly, or a prefix of
 * 0-64 id characters followed by '*' matching every id that starts with
 * it ("team-*"; "*" matches every id). An absent or empty list opens
 * nothing.
 */
#ifndef REVENGE_TOKEN_H
#define REVENGE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RV_TOKEN_MAX_BYTES RV_TOKEN_MAX  /* 8192 (proto.h): a longer token is bad, unread */
#define RV_TOKEN_SUB_MAX 128      /* sub: 1-128 bytes */
#define RV_TOKEN_SCOPES_MAX 64    /* entries in parties, in sessions */
#define RV_TOKEN_SCOPE_MAX (RV_ID_MAX + 1)  /* an id, or a prefix and '*' */
#define RV_TOKEN_SECRET_MIN 32    /* HS256 secret bytes: RFC 7518 3.2 */
#define RV_TOKEN_SECRET_MAX 4096
#define RV_TOKEN_PEM_MAX 16384    /* a public key file */
#define RV_TOKEN_RSA_BITS_MIN 2048 /* RFC 7518 3.3 */
#define RV_TOKEN_LEEWAY_S 60.0    /* suggested clock skew allowance */

/* What rv_token_verify and rv_token_claims_parse think of a token. */
enum rv_token_result {
	RV_TOKEN_OK = 0,
	RV_TOKEN_MISSING,         /* no token at all */
	RV_TOKEN_BAD,             /* malformed, wrong alg, or bad claims */
	RV_TOKEN_BAD_SIGNATURE,   /* well formed, but the signature is wrong */
	RV_TOKEN_EXPIRED,         /* exp + leeway <= now */
	RV_TOKEN_NOT_YET,         /* nbf - leeway > now */
	RV_TOKEN__COUNT
};

/* Label for a result, for metrics and logs: "ok", "missing", "bad",
 * "bad_signature", "expired", "not_yet_valid"; "error" for anything else
 * (a negative RV_E*). Static storage, never NULL. */
const char *rv_token_result_name(int result);

enum rv_token_role {
	RV_TOKEN_ROLE_MEMBER = 0,
	RV_TOKEN_ROLE_HOST,
};

enum rv_token_scope {
	RV_TOKEN_SCOPE_PARTY = 0,
	RV_TOKEN_SCOPE_SESSION,
};

/* A token's claims, every string NUL-terminated and validated. */
struct rv_token_claims {
	char sub[RV_TOKEN_SUB_MAX + 1];
	char name[RV_NAME_MAX_BYTES + 1];
	bool has_name;
	enum rv_token_role role;
	char parties[RV_TOKEN_SCOPES_MAX][RV_TOKEN_SCOPE_MAX + 1];
	unsigned n_parties;
	char sessions[RV_TOKEN_SCOPES_MAX][RV_TOKEN_SCOPE_MAX + 1];
	unsigned n_sessions;
	double exp, nbf, iat;     /* seconds; 0 when absent */
	bool has_exp, has_nbf;
	bool admin;               /* the admin claim: may use the admin API */
};

/* ---- Keys. Every constructor returns 0 and sets *out (free it with
 * rv_token_key_free), or a negative RV_E* with *out NULL and a one-line
 * reason in why (why may be NULL). The key keeps its own copy of the
 * bytes it was given. */

struct rv_token_key;

/* An HS256 secret of RV_TOKEN_SECRET_MIN-RV_TOKEN_SECRET_MAX raw bytes
 * (any bytes). Shorter secrets are refused (RV_EINVAL; longer ones
 * RV_ERANGE): RFC 7518 asks for a key as long as the hash, and a short
 * one is guessed offline from any token it signed. `openssl rand -base64
 * 32` makes a good one. */
int rv_token_key_from_secret(const unsigned char *secret, size_t len,
			     struct rv_token_key **out, char *why, size_t why_len);

/* A PEM "PUBLIC KEY" (SubjectPublicKeyInfo) of len bytes, at most
 * RV_TOKEN_PEM_MAX: an RSA key of at least 2048 bits makes an RS256 key,
 * an EC key on P-256 an ES256 key. Private keys, certificates, PKCS#1
 * "RSA PUBLIC KEY" blocks, other curves and key types are refused
 * (RV_EINVAL) with a reason that says how to get the right file. */
int rv_token_key_from_public_pem(const char *pem, size_t len,
				 struct rv_token_key **out, char *why, size_t why_len);

/* The secret in the file at path: its raw bytes, less one trailing "\n"
 * or "\r\n". RV_ENOENT when the file is missing, RV_EIO when it cannot be
 * read, RV_ERANGE when larger than the secret can be, RV_EINVAL when empty
 * or too short. */
int rv_token_key_load_secret_file(const char *path, struct rv_token_key **out,
				  char *why, size_t why_len);

/* The public key in the PEM file at path (as rv_token_key_from_public_pem);
 * RV_ENOENT, RV_EIO and RV_ERANGE as for the secret file. */
int rv_token_key_load_public_file(const char *path, struct rv_token_key **out,
				  char *why, size_t why_len);

/* Free a key, wiping a secret; NULL-safe. */
void rv_token_key_free(struct rv_token_key *k);

/* "HS256", "RS256" or "ES256"; NULL for a NULL key. Static storage. */
const char *rv_token_key_alg(const struct rv_token_key *k);

/* True only for a secret (HS256): public keys verify, never sign. */
bool rv_token_key_can_sign(const struct rv_token_key *k);

/* ---- Tokens. */

/* Read the claims JSON json[0..len) (need not be NUL-terminated; at most
 * RV_TOKEN_MAX_BYTES) as of now_s (seconds since the epoch), allowing
 * leeway_s (>= 0) of clock skew. Pure: no I/O, no clock. Returns
 * RV_TOKEN_OK, RV_TOKEN_BAD (not a JSON object, duplicate keys, nesting
 * deeper than 16, a claim that breaks the contract above),
 * RV_TOKEN_EXPIRED or RV_TOKEN_NOT_YET; or RV_EINVAL for a NULL out or a
 * non-finite now_s or leeway_s, RV_ENOMEM. *out is filled for OK, EXPIRED
 * and NOT_YET and zeroed otherwise; why (may be NULL) gets "" on success,
 * else one line naming the claim at fault. */
int rv_token_claims_parse(const char *json, size_t len, double now_s, double leeway_s,
			  struct rv_token_claims *out, char *why, size_t why_len);

/* Verify the compact JWT token[0..len) (need not be NUL-terminated) with k
 * and read its claims as rv_token_claims_parse does. Returns RV_TOKEN_OK;
 * RV_TOKEN_MISSING for a NULL or empty token; RV_TOKEN_BAD when longer
 * than RV_TOKEN_MAX_BYTES, not three non-empty unpadded base64url parts,
 * a header that is not a JSON object, whose "alg" is not exactly
 * rv_token_key_alg(k), whose "typ" (if any) is not "JWT" or that has
 * "crit", or a payload that is not a JSON object; RV_TOKEN_BAD_SIGNATURE
 * when the signature does not verify; then the claims' verdict. Header
 * fields other than alg, typ and crit (kid, jku, jwk, x5u, ...) are
 * ignored: they never choose the key. RV_EINVAL for a NULL k or out or
 * bad now_s, leeway_s; RV_ENOMEM. *out and why as for
 * rv_token_claims_parse. */
int rv_token_verify(const struct rv_token_key *k, const char *token, size_t len,
		    double now_s, double leeway_s, struct rv_token_claims *out,
		    char *why, size_t why_len);

/* True when the claims open id (a valid id) for kind: one of the kind's
 * scopes is id itself or a prefix* that id starts with. False for NULL
 * arguments, an invalid id and an absent or empty list. */
bool rv_token_allows(const struct rv_token_claims *c, enum rv_token_scope kind,
		     const char *id);

/* Sign c with the secret k into a new token: header {"alg":"HS256",
 * "typ":"JWT"}, claims sub, name (when has_name), role ("host" or
 * "member"), parties and sessions (when non-empty), admin (true, only when
 * set), iat = now_s,
 * exp = now_s + ttl_s, nbf = c->nbf only when has_nbf; the times are
 * written as whole seconds (rounded down). c->exp, c->iat and has_exp are
 * not read. Returns 0 and sets *out (a NUL-terminated string the caller
 * frees with free()), or a negative RV_E* with *out NULL and why set:
 * RV_EINVAL for a public key, claims that would not verify, a non-finite
 * now_s, a ttl_s that is not > 0; RV_ERANGE for times past 2^53 s or a
 * token longer than RV_TOKEN_MAX_BYTES (about 88 full-length scopes fit,
 * not 128); RV_ENOMEM. */
int rv_token_mint(const struct rv_token_key *k, const struct rv_token_claims *c,
		  double now_s, double ttl_s, char **out, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
