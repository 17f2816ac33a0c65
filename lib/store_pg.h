/* lib/store_pg.h - internal: the PostgreSQL store's schema (store_pg.c),
 * for the backend and its tests.
 */
#ifndef REVENGE_STORE_PG_H
#define REVENGE_STORE_PG_H

#include <libpq-fe.h>

/* Versions of the revenge_* tables, in revenge_schema_version. */
#define RV__STORE_PG_SCHEMA_VERSION 1

/* Bring the database conn (blocking, not in pipeline mode) to this
 * build's schema, in one transaction under an advisory lock. 0 with
 * *version (may be NULL) set, or RV_EIO with a one-line reason in why: the
 * database refused, or its schema is newer than this build's. */
int rv__store_pg_migrate(PGconn *conn, int *version, char *why, size_t why_len);

#endif
