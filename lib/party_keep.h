/* lib/party_keep.h - internal: watch parties kept across restarts and
 * members who come back (--party-retention), the party endpoint's side.
 *
 * Owns the dormant parties (emptied, or read from the store at start, and
 * not joined since: their documents, least recently seen first, at most
 * --max-parties of them), each live party's resume records (members who
 * left, with their token's hash, until the retention runs out) and host
 * claim, and the saving of party documents through the store writer:
 * ep_party.c marks a party dirty as it changes and the keeper writes it
 * at most once a RV__KEEP_SAVE_EVERY_S, off the message path.
 */
#ifndef REVENGE_PARTY_KEEP_H
#define REVENGE_PARTY_KEEP_H

#include <stdbool.h>
#include <stddef.h>

#include "revenge/party.h"

#include "party_save.h"

struct rv__hub;
struct rv__keep;

/* How often dirty parties are written: what a kill -9 can lose is at
 * most this much of the parties' changes (plus the commit in flight). */
#define RV__KEEP_SAVE_EVERY_S 1.0
/* Gone members a live party keeps records of (beyond, the oldest go). */
#define RV__KEEP_GONE_MAX 1000

/* A live party's part (in ep_party.c's live_party; zeroed at creation). */
struct rv__keep_party {
	bool dirty;
	double saved_at;              /* server ms of its last write, 0: never */
	struct rv__party_save_member *gone;   /* oldest first */
	size_t n_gone, cap_gone;
	char claim[RV_MEMBER_ID_MAX + 1];     /* a host who may take the role back */
	double claim_until;
};

/* A present member's token hash, for the document (NULL: none). */
typedef const char *rv__keep_hash_of(const struct rv_member *m);

/* retention_ms 0: off (NULL is returned and every call below is a no-op on
 * NULL). persist: write to and read from hub->writer. max_dormant: the
 * dormant parties kept at most. The stored parties are read now (a
 * document that is not one is logged and dropped). 0, RV_ENOMEM. Free
 * with rv__keep_free. */
int rv__keep_new(struct rv__hub *hub, double retention_ms, bool persist, size_t max_dormant,
		 rv__keep_hash_of *hash_of, struct rv__keep **out);
void rv__keep_free(struct rv__keep *k);
double rv__keep_retention_ms(const struct rv__keep *k);
/* The highest "m<hex>" member number among the stored parties' members,
 * so that fresh ids never take one of theirs. */
unsigned long long rv__keep_max_member(const struct rv__keep *k);

/* A fresh token into token (RV__RESUME_TOKEN_LEN + 1) from the system's
 * random source, and its hash into hash: 0, or RV_EIO (no randomness). */
int rv__keep_new_token(char *token, char *hash);

/* p was just made: when it is dormant, its state (extrapolated to now_ms
 * while playing) and history (unless with_state is false: in cluster mode
 * they came from Redis), media, records and claim come back into p and
 * kp. True when it did. */
bool rv__keep_restore(struct rv__keep *k, struct rv_party *p, struct rv__keep_party *kp,
		      double now_ms, bool with_state);

/* Whether party id is dormant, and then its document decoded into *s
 * (free with rv__party_save_clear) with its state as a restore at now_ms
 * would start it (rv__party_save_resume_state). */
bool rv__keep_peek(struct rv__keep *k, const char *id, double now_ms, struct rv__party_save *s);

/* Party id is no longer dormant here (another node's copy is newer), its
 * row left as it is. */
void rv__keep_drop(struct rv__keep *k, const char *id);

/* The record of a member with this token hash who may still come back
 * (copied into *out and taken off kp), and whether it may take the host
 * role back (*reclaim; the claim is then used up). False: none. */
bool rv__keep_resume(struct rv__keep_party *kp, const char *hash, double now_ms,
		     struct rv__party_save_member *out, bool *reclaim);

/* Cluster mode: m, a record another node kept in Redis (until 0: it was
 * present then: the retention from now_ms), into kp for rv__keep_resume;
 * host: it left as the host (a claim, unless one stands). */
void rv__keep_add(struct rv__keep *k, struct rv__keep_party *kp,
		  const struct rv__party_save_member *m, bool host, double now_ms);

/* m (with token hash, NULL: none) leaves p; was_host: it was host. */
void rv__keep_left(struct rv__keep *k, struct rv__keep_party *kp, const struct rv_member *m,
		   const char *hash, bool was_host, double now_ms);
/* The host role was handed over on purpose: no claim on it stands. */
void rv__keep_handed_over(struct rv__keep_party *kp);

/* Write p now if dirty, or when it was last written over a quarter of
 * the retention ago (a quiet party's row stays fresh). */
void rv__keep_tick_party(struct rv__keep *k, struct rv_party *p, struct rv__keep_party *kp,
			 double now_ms);
/* p is emptied and about to be freed: written once more, and dormant
 * unless dormant is false (in cluster mode, other nodes still hold
 * members: the last of them keeps it). */
void rv__keep_emptied(struct rv__keep *k, struct rv_party *p, struct rv__keep_party *kp,
		      double now_ms, bool dormant);
/* Dormant parties past the retention forgotten (and deleted). */
void rv__keep_sweep(struct rv__keep *k, double now_ms);
/* Free kp's records. */
void rv__keep_party_clear(struct rv__keep_party *kp);

#endif
