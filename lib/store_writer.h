/* lib/store_writer.h - internal: the store as the endpoints see it (the
 * store seam): batched writes answered after the commit, and reads, both
 * asynchronous, over one of two backends the endpoints never name.
 *
 *   sqlite (store_sqlite_backend.c, --db PATH): writes on a thread of their
 *     own with its own SQLite connection, reads on the loop's connection (in
 *     WAL mode a reader never waits for a writer), answered at once.
 *   postgres (store_pg.c, --db postgres://...): one libpq connection in
 *     pipeline mode, non-blocking, watched by the server's own loop; no
 *     thread, no blocking call once the server runs.
 *
 * The loop collects a turn's writes in the open batch; when the backend is
 * idle the batch goes to it whole (one transaction: group commit), and
 * while it is busy the next batch grows, so a slow store gets fewer, bigger
 * transactions. When the commit is done (durable, or failed and rolled
 * back) the backend tells the writer on the loop, which answers each write:
 * acks go out only after the commit.
 */
#ifndef REVENGE_STORE_WRITER_H
#define REVENGE_STORE_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "revenge/quality.h"
#include "revenge/store.h"

struct rv__hub;
struct rv__conn;
struct rv__store_writer;

/* Writes waiting for the backend (the open batch) past which new ones are
 * refused at once: memory stays bounded while the store is stuck. */
#define RV__STORE_BACKLOG_MAX 16384

enum rv__store_item_kind {
	RV__STORE_ITEM_PROGRESS,
	RV__STORE_ITEM_QUALITY,
	RV__STORE_ITEM_PARTY,         /* rec.session_id the party id, rec.server_time
				       * when it was seen with members, doc */
	RV__STORE_N_ITEM_KINDS
};

/* One write. The backend reads kind, rec and profile; c, has_id and id
 * are the loop's (who hears the outcome) and a backend never touches them. */
struct rv__store_item {
	enum rv__store_item_kind kind;
	struct rv_progress_rec rec;   /* progress: the report; quality: owner, session_id */
	char profile[RV_PROFILE_NAME_MAX + 1];  /* quality */
	bool new_session;             /* progress: the store may not have the
				       * session yet (checked against the cap) */
	/* party: its JSON document (party_save.h), NULL to delete the
	 * party; owned by the writer from rv__store_writer_add on (freed
	 * once its batch is answered) */
	char *doc;
	struct rv__conn *c;           /* NULL once the connection is gone */
	bool has_id;
	char id[RV_REQ_ID_MAX + 1];
};

/* A batch: what one transaction writes, and the backend's answer. */
struct rv__store_batch {
	struct rv__store_item *items;
	size_t n, cap;
	double expire_before_ms;      /* > 0: also forget sessions not seen since */
	/* the backend's answer */
	int err;                      /* 0: committed; else rolled back whole */
	char why[256];
	double took_s;
	uint64_t expired, trimmed;
};

/* Who hears a read: err 0 with it (rec, or rec.owner/session_id and
 * profile) borrowed for the call, RV_ENOENT (nothing stored), RV_EIO (the
 * store failed: counted and logged already). */
typedef void rv__store_read_cb(void *arg, int err, const struct rv__store_item *it);

struct rv__store_backend;

struct rv__store_backend_ops {
	const char *name;             /* "sqlite", "postgres" */
	/* Write b in one transaction: its items, then the per-owner cap for
	 * the owners that got a session, then the expiry. 0: in flight, and
	 * b's answer is set and be->written called later on the
	 * loop; or nonzero: refused at once (the database is away), b's
	 * answer is set and the caller answers it. At most one batch is in
	 * flight. */
	int (*write)(struct rv__store_backend *be, struct rv__store_batch *b,
		      unsigned max_per_owner);
	/* Read (owner, session_id) of kind: cb once, possibly before read
	 * returns; never after free. */
	void (*read)(struct rv__store_backend *be, enum rv__store_item_kind kind,
		     const char *owner, const char *session_id, rv__store_read_cb *cb, void *arg);
	/* Block until the batch in flight is answered (shutdown: the loop has
	 * nothing else left to do); its be->written comes from
	 * here. */
	void (*drain)(struct rv__store_backend *be);
	/* Close; pending reads are dropped unanswered. */
	void (*free)(struct rv__store_backend *be);
	/* Every stored party (least recently seen first) to cb, at start
	 * before anything is served; PostgreSQL's were read when it opened
	 * and are handed over once. 0, or RV_EIO. */
	int (*load_parties)(struct rv__store_backend *be, rv_store_party_cb *cb, void *arg);
};

struct rv__store_backend {
	const struct rv__store_backend_ops *ops;
	struct rv__store_writer *w;   /* told when a batch is done: */
	/* the batch handed to write is answered (on the loop); set by the
	 * writer, a pointer so that the backends need none of its symbols */
	void (*written)(struct rv__store_writer *w);
};

/* Called on the loop for each item once its batch is done: err 0 when it
 * is committed, else nonzero (the whole batch was rolled back). */
typedef void rv__store_item_done(void *arg, const struct rv__store_item *it, int err);

/* Whether db names a PostgreSQL database (postgres:// or postgresql://)
 * rather than a SQLite file. */
bool rv__store_is_postgres(const char *db);

/* Open the store db (a SQLite path or a PostgreSQL URI) with its backend.
 * ttl_s 0: sessions never expire; max_per_owner 0: no cap. 0, or a
 * negative RV_E* with a reason in why. Free with rv__store_writer_free. */
int rv__store_writer_start(struct rv__hub *hub, const char *db,
			   const struct rv_store_options *opts, unsigned ttl_s,
			   unsigned max_per_owner, struct rv__store_writer **out,
			   char *why, size_t why_len);

/* Drain (every write already handed in is committed and answered: at
 * shutdown this blocks the loop, which has nothing else left to do), stop
 * the backend. NULL-safe. */
void rv__store_writer_free(struct rv__store_writer *w);

/* The backend's name ("sqlite", "postgres"). */
const char *rv__store_writer_backend(const struct rv__store_writer *w);

/* Who hears the outcome of items of kind. */
void rv__store_writer_on_done(struct rv__store_writer *w, enum rv__store_item_kind kind,
			      rv__store_item_done *fn, void *arg);

/* Queue a copy of it for the next batch (it->doc is taken, also on an
 * error): 0, RV_EFULL past
 * RV__STORE_BACKLOG_MAX, RV_ENOMEM. */
int rv__store_writer_add(struct rv__store_writer *w, const struct rv__store_item *it);

/* The stored parties (rv__store_backend_ops.load_parties): at start. */
int rv__store_writer_load_parties(struct rv__store_writer *w, rv_store_party_cb *cb,
				  void *arg);

/* c is closing: its items are still written but nobody is answered. */
void rv__store_writer_forget(struct rv__store_writer *w, const struct rv__conn *c);

/* Read a session's latest of kind: a write not yet committed first (it is
 * newer than the store's), else the backend's. cb is called once,
 * possibly before this returns; never after rv__store_writer_free. */
void rv__store_writer_read(struct rv__store_writer *w, enum rv__store_item_kind kind,
			   const char *owner, const char *session_id, rv__store_read_cb *cb,
			   void *arg);


/* The backends' constructors (into *out, reason in why). */
int rv__store_sqlite_backend_new(struct rv__hub *hub, const char *path,
				 const struct rv_store_options *opts,
				 struct rv__store_backend **out, char *why, size_t why_len);
int rv__store_pg_backend_new(struct rv__hub *hub, const char *uri,
			     struct rv__store_backend **out, char *why, size_t why_len);

#endif
