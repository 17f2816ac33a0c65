/* lib/party_save.h - internal, pure: a watch party's state as the store
 * keeps it across restarts (--party-retention), one JSON document per
 * party, and the resume tokens' arithmetic.
 *
 * The document (version 1):
 *   {"v":1,
 *    "state":{"position":P,"playing":B,"speed":S,"server_time":T},
 *    "host":"<member id>"|null,          the host when it was written
 *    "claim":{"id":"<member id>","until":MS}|null,  a host who left (or was
 *                                        cut off by a restart) and may take
 *                                        the role back until MS
 *    "history":["<chat frame>",...],     each as relayed, oldest first
 *    "members":[{"id":..,"name":..,"token":"<sha-256 hex>","until":MS}]}
 *                                        until 0: present when written
 * Only the SHA-256 of a resume token is kept: a copy of the database does
 * not let anyone resume as someone else.
 *
 * One more field (the web client's `media`, say): a member of struct
 * rv__party_save, a line in rv__party_save_encode and one in
 * rv__party_save_decode (absent in older documents: leave it empty), and
 * the adapter (ep_party.c: save_party and restore) copies it to and from
 * the party. No schema migration: the document is a TEXT column.
 */
#ifndef REVENGE_PARTY_SAVE_H
#define REVENGE_PARTY_SAVE_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include "revenge/clock.h"
#include "revenge/party.h"
#include "revenge/proto.h"

#define RV__PARTY_SAVE_VERSION 1
/* A resume token: 16 random bytes as 32 lowercase hex digits. */
#define RV__RESUME_TOKEN_LEN 32
/* Its SHA-256, as 64 lowercase hex digits. */
#define RV__RESUME_HASH_LEN 64
/* Members (present and gone) a document holds at most; one that says more
 * is cut to the first ones. Chat entries longer than this are dropped. */
#define RV__PARTY_SAVE_MEMBERS_MAX 10000
#define RV__PARTY_SAVE_CHAT_MAX 65536

struct rv__party_save_member {
	char id[RV_MEMBER_ID_MAX + 1];
	char name[RV_NAME_MAX_BYTES + 1];
	char token_hash[RV__RESUME_HASH_LEN + 1];
	double until;                 /* server ms it may resume until; 0: present */
};

struct rv__party_save {
	struct rv_playback state;
	char host[RV_MEMBER_ID_MAX + 1];        /* "" none */
	char claim[RV_MEMBER_ID_MAX + 1];       /* "" none */
	double claim_until;
	/* chat frames as relayed (encode: borrowed; decode: owned) */
	char **history;
	size_t *history_len;
	size_t n_history;
	struct rv__party_save_member *members;  /* encode: borrowed; decode: owned */
	size_t n_members;
	/* the party's media (rv_party_media_url/title): "" none; a stored
	 * one that fails the protocol's checks is left out at decode */
	char media_url[RV_MEDIA_URL_MAX + 1];
	char media_title[RV_MEDIA_TITLE_MAX + 1];
};

/* s as a document: a NUL-terminated string the caller frees with free(),
 * or NULL out of memory. */
char *rv__party_save_encode(const struct rv__party_save *s);

/* doc into *out (zeroed first): 0, or RV_EINVAL for a document that is
 * not one (bad JSON, another version, a state out of range) with nothing
 * to free; members with a bad id, name or hash and chat entries that are
 * not strings of 1 to RV__PARTY_SAVE_CHAT_MAX bytes are left out, the
 * rest kept. Free with rv__party_save_clear. RV_ENOMEM. */
int rv__party_save_decode(const char *doc, struct rv__party_save *out);
/* What decode allocated; NULL-safe, leaves *s zeroed. */
void rv__party_save_clear(struct rv__party_save *s);

/* The state a party restored at now_ms starts from: while playing, the
 * position it reached meanwhile (at its speed), stamped now; paused, the
 * same position stamped now. A state still scheduled (server_time ahead
 * of now) stays as it is. */
struct rv_playback rv__party_save_resume_state(const struct rv_playback *st, double now_ms);

/* A token's SHA-256 as lowercase hex into out (RV__RESUME_HASH_LEN + 1). */
void rv__resume_hash(const char *token, char *out);
/* 16 bytes as a token (RV__RESUME_TOKEN_LEN + 1). */
void rv__resume_token(const unsigned char bytes[16], char *out);
/* Whether s (len bytes) has a token's form: 32 lowercase hex digits. */
bool rv__resume_token_ok(const char *s, size_t len);

/* A resume record as Redis keeps it in cluster mode, under its token's
 * hash in the party's resume hash: "<until> <join> <host> <id> <name>",
 * until in whole server ms (0: present when written), join its join
 * number in Redis (0: not known), host 1 when it left as the host. */
#define RV__RESUME_REC_MAX (20 + 1 + 20 + 1 + 1 + 1 + RV_MEMBER_ID_MAX + 1 + RV_NAME_MAX_BYTES + 1)
/* m's record (its until, id and name; join, host) into out (cap bytes,
 * RV__RESUME_REC_MAX is enough): its length, or 0 when it does not fit
 * or m's until is not a time. */
size_t rv__resume_rec_encode(const struct rv__party_save_member *m, uint64_t join, bool host,
			     char *out, size_t cap);
/* s (len bytes, from Redis: anything) as a record of token hash hash into
 * *m (its token_hash set to hash), *join and *host; false when it is not
 * one (every field checked, nothing set then). */
bool rv__resume_rec_decode(const char *s, size_t len, const char *hash,
			   struct rv__party_save_member *m, uint64_t *join, bool *host);

#endif
