/* revenge/store_backup.h - an online backup of a SQLite store: what
 * `revenge-server backup` calls, safe while a server writes the store.
 *
 * The store is opened read-only (rv_store_copy's checks: a revenge store,
 * schema version 1 to RV_STORE_SCHEMA_VERSION, quick_check) and copied
 * with SQLite's online backup API in one read transaction: one consistent
 * snapshot, every report committed before it began and none after. In WAL
 * mode (the server's) a reader holds up no writer, so the server acks on
 * as it copies. Blocking: for commands, never a server's loop.
 */
#ifndef REVENGE_STORE_BACKUP_H
#define REVENGE_STORE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rv_store_backup_result {
	int version;                  /* the schema version copied */
	uint64_t progress_rows;       /* rows in the copy */
	uint64_t quality_rows;
	uint64_t bytes;               /* the copy's size */
};

/* Copy the store at src into a new file dst (which must not exist: it is
 * written beside as "DST.tmp", checked, synced and renamed, so dst is a
 * whole copy or absent). The copy is a plain SQLite file (rollback
 * journal, no -wal beside it) that a server opens as its store. Returns
 * 0 with res filled, or a negative RV_E* with a one-line reason in why:
 * RV_EINVAL an empty path, RV_ESTATE dst exists, RV_EIO src missing, not a
 * revenge store, newer than this build or corrupt, or dst not writable. */
int rv_store_backup(const char *src, const char *dst, struct rv_store_backup_result *res,
		    char *why, size_t why_len);

#ifdef __cplusplus
}
#endif

#endif
