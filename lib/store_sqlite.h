/* lib/store_sqlite.h - internal: the SQLite store's file checks
 * (store_sqlite.c), for the copy into PostgreSQL (store_copy.c).
 */
#ifndef REVENGE_STORE_SQLITE_H
#define REVENGE_STORE_SQLITE_H

#include <stddef.h>

#include <sqlite3.h>

/* Open the revenge store at path read-only (SQLITE_OPEN_READONLY: the file
 * is never written, nor migrated), for reading its rows. It must be a
 * revenge store: a SQLite file whose user_version is 1 to
 * RV_STORE_SCHEMA_VERSION, that passes quick_check, and whose tables have
 * the shape of that version. 0 with *db (close with sqlite3_close) and
 * *version set, or RV_EINVAL (NULL argument) / RV_EIO / RV_ENOMEM with a
 * one-line reason in why ("'PATH': no such file", "... is not a revenge
 * store: ..."). */
int rv__store_sqlite_open_source(const char *path, sqlite3 **db, int *version, char *why,
				 size_t why_len);

#endif
