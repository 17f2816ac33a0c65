/* revenge/store_copy.h - copy a SQLite store into PostgreSQL: how one
 * server's store (--db PATH) becomes the store a cluster shares (--db
 * postgres://...). `revenge-server migrate` is this call.
 *
 * The SQLite file is opened read-only (never written, never migrated) and
 * read in one snapshot; it must be a revenge store (schema version 1 to
 * RV_STORE_SCHEMA_VERSION, its tables of that version's shape). The
 * database is brought to this build's schema first, as a server's start
 * does (same migrations, same advisory lock). Then every table (progress,
 * quality) is copied in one transaction: the database gets every row or,
 * on any failure, none. Blocking: for commands, never a server's loop.
 */
#ifndef REVENGE_STORE_COPY_H
#define REVENGE_STORE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rv_store_copy_options {
	/* false: the database must hold no revenge rows yet (else
	 * RV_ESTATE, nothing written); true: merge into what it holds,
	 * keeping per session (owner, session id) the newer row: the later
	 * progress report by server_time, the later quality profile by
	 * updated_at (a row with none is the older); a tie keeps the
	 * database's. */
	bool merge;
};

/* What happened to one table. */
struct rv_store_copy_table {
	const char *name;             /* "progress", "quality" (static) */
	const char *target;           /* "revenge_progress", ... (static) */
	uint64_t read;                /* rows in the SQLite file */
	uint64_t inserted;            /* sessions the database did not have */
	uint64_t updated;             /* merge: replaced an older row */
	uint64_t kept;                /* merge: the database's row was newer */
};

#define RV_STORE_COPY_TABLES 2

struct rv_store_copy_result {
	int sqlite_version;           /* the file's schema version */
	int pg_version;               /* the database's, after migrating */
	struct rv_store_copy_table tables[RV_STORE_COPY_TABLES];
};

/* Copy the store at sqlite_path into the database at pg_uri (a libpq
 * postgres:// or postgresql:// URI); opts may be NULL (no merge). res is
 * filled as far as the copy went (its counts mean something only on 0).
 * Returns 0, or a negative RV_E* with a one-line reason in why (which
 * never quotes the URI: it may hold a password):
 *   RV_EINVAL  a NULL or empty argument, a URI that is not postgres:// or
 *              postgresql://, or that libpq cannot parse;
 *   RV_EIO     the file is missing or unreadable, not SQLite, not a revenge
 *              store, newer than this build, corrupt, or holds a row revenge
 *              would not have written; the database cannot be reached,
 *              refuses, or its schema is newer than this build's;
 *   RV_ESTATE  without merge: the database already holds revenge rows;
 *   RV_ENOMEM  out of memory.
 * On any failure the database holds what it held before (its schema
 * migrated, perhaps: that is what any server's start would do). */
int rv_store_copy(const char *sqlite_path, const char *pg_uri,
		  const struct rv_store_copy_options *opts, struct rv_store_copy_result *res,
		  char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
