/* revenge/store.h - the durable store: progress reports and per-session
 * quality profiles in one SQLite file (the embedded default).
 *
 * WAL mode, a schema version with migrations (PRAGMA user_version), prepared
 * statements. Writes are meant to be batched: rv_store_begin, any number of
 * puts, rv_store_commit: a report acknowledged after the commit survives a
 * crash of the process (kill -9); with fsync set (synchronous=FULL) it also
 * survives power loss. Single-threaded: one store per thread.
 *
 * Every session belongs to an owner (a token's sub): the same session id
 * under two owners is two sessions, and no call reaches across. The owner ""
 * is the open server's (no tokens); a store of schema version 1 migrates
 * with all its rows under "".
 */
#ifndef REVENGE_STORE_H
#define REVENGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RV_STORE_SCHEMA_VERSION 3

/* PRAGMA application_id of a revenge SQLite store: "RVNG" in the file's
 * header. Set on every store this build creates or opens; a file with
 * another application's id is refused, one without it (made before the id
 * existed) opens when its schema is ours. */
#define RV_STORE_APPLICATION_ID 0x52564e47

/* Longest owner, in bytes (of valid UTF-8); "" is an owner too. */
#define RV_STORE_OWNER_MAX 128

struct rv_store;

struct rv_store_options {
	bool fsync;               /* synchronous=FULL: survive power loss */
	bool create;              /* create the file (and nothing else) if missing */
};

struct rv_progress_rec {
	char owner[RV_STORE_OWNER_MAX + 1];   /* "" for the open server */
	char session_id[RV_ID_MAX + 1];
	char media_id[RV_ID_MAX + 1];
	double position;          /* seconds */
	bool has_duration;
	double duration;          /* seconds, when has_duration */
	bool playing;
	double server_time;       /* ms: when position held */
};

/* Open (and migrate) the store at path; opts may be NULL (defaults).
 * Returns 0 and sets *out, or a negative RV_E* with a one-line reason in
 * err: RV_EINVAL for a NULL or empty path, RV_EIO for a missing directory,
 * an unwritable file or directory, a file that is not a revenge database
 * (another application's: its application_id, or tables of its own at
 * user_version 0, or a user_version without our tables) or is corrupt (checked with quick_check, which reads the whole file), a
 * schema newer than this build. Close with rv_store_close. */
int rv_store_open(const char *path, const struct rv_store_options *opts,
		  struct rv_store **out, char *err, size_t errlen);
void rv_store_close(struct rv_store *st);

/* Schema version of the open store. */
int rv_store_schema_version(struct rv_store *st);

/* Transactions: begin, puts, commit (or rollback). Returns 0 or RV_EIO;
 * rv_store_last_error says why. */
int rv_store_begin(struct rv_store *st);
int rv_store_commit(struct rv_store *st);
void rv_store_rollback(struct rv_store *st);

/* Sessions are keyed by (owner, session id). An owner argument may be NULL,
 * which means "". Puts and gets return RV_EINVAL for an owner over
 * RV_STORE_OWNER_MAX bytes or not valid UTF-8, for session ids that are
 * empty or over 64 bytes, and for non-finite numbers. */

/* Insert or replace a session's latest progress (owner: r->owner). */
int rv_store_put_progress(struct rv_store *st, const struct rv_progress_rec *r);
/* Read a session's latest progress into out (out->owner and
 * out->session_id are set to the arguments): 0, RV_ENOENT when none, RV_EIO. */
int rv_store_get_progress(struct rv_store *st, const char *owner, const char *session_id,
			  struct rv_progress_rec *out);

/* Insert or replace a session's quality profile. */
int rv_store_put_quality(struct rv_store *st, const char *owner, const char *session_id,
			 const char *profile);
/* Read it into profile (size len): 0, RV_ENOENT, RV_EIO, RV_ERANGE when
 * len is too small (profile is then empty). */
int rv_store_get_quality(struct rv_store *st, const char *owner, const char *session_id,
			 char *profile, size_t len);

/* How long a call waits for another connection's lock before it fails
 * with RV_EIO ("database is locked"); 2000 ms after open. */
void rv_store_set_busy_timeout(struct rv_store *st, int ms);

/* Whether the session has a stored progress report: 1, 0, RV_EINVAL,
 * RV_EIO. */
int rv_store_has_progress(struct rv_store *st, const char *owner, const char *session_id);

/* Forget every session not seen since before_ms (server time, ms): progress
 * whose server_time and profiles whose updated_at are older. *removed (may
 * be NULL) gets the number of rows removed. 0, RV_EINVAL, RV_EIO. */
int rv_store_expire(struct rv_store *st, double before_ms, uint64_t *removed);

/* Keep at most max sessions of owner in each table (progress, quality),
 * removing the ones seen longest ago; *removed (may be NULL) gets how many
 * rows went. Costs a count of the owner's rows: call it when a session was
 * added. 0, RV_EINVAL, RV_EIO. */
int rv_store_trim_owner(struct rv_store *st, const char *owner, unsigned max, uint64_t *removed);

/* Watch parties kept across restarts (--party-retention): one JSON document
 * per party id (at most 64 bytes), with the server time (ms) the party was
 * last seen with members. Put inserts or replaces; delete of an absent
 * party is 0. 0, RV_EINVAL, RV_EIO. */
int rv_store_put_party(struct rv_store *st, const char *party_id, const char *doc,
		       double seen_ms);
int rv_store_delete_party(struct rv_store *st, const char *party_id);
/* Each stored party, least recently seen first: cb gets id and doc
 * borrowed for the call. 0, RV_EINVAL, RV_EIO (cb may have been called). */
typedef void rv_store_party_cb(void *arg, const char *party_id, const char *doc,
			       double seen_ms);
int rv_store_load_parties(struct rv_store *st, rv_store_party_cb *cb, void *arg);

/* The text of the last failure, for logs; it stays until the next failure
 * and survives a rollback. Never NULL. */
const char *rv_store_last_error(struct rv_store *st);

#ifdef __cplusplus
}
#endif

#endif
