/* lib/store_pg.h - internal: the PostgreSQL store's schema (store_pg.c),
 * for the backend and its tests.
 */
#ifndef REVENGE_STORE_PG_H
#define REVENGE_STORE_PG_H

#include <libpq-fe.h>

/* Versions of the revenge_* tables, in revenge_schema_version. */
#define RV__STORE_PG_SCHEMA_VERSION 2

/* Bring the database conn (blocking, not in pipeline mode) to this
 * build's schema, in one transaction under an advisory lock. 0 with
 * *version (may be NULL) set, or RV_EIO with a one-line reason in why (no
 * prefix: the caller says what it was doing): the database refused, or its
 * schema is newer than this build's. */
int rv__store_pg_migrate(PGconn *conn, int *version, char *why, size_t why_len);

/* A blocking connection to uri (a libpq URI or conninfo), with a connect
 * timeout of 5 s unless the URI sets its own; check PQstatus. NULL only
 * when out of memory. Close with PQfinish. */
PGconn *rv__store_pg_connect(const char *uri);

/* prefix and msg (libpq's, which may span lines and ends in a newline) as
 * one line in dst: each run of blanks one space; "unknown error" for an
 * empty msg. */
void rv__store_pg_one_line(char *dst, size_t len, const char *prefix, const char *msg);

/* libpq quotes the URI, or a part of it, in its errors: uri in s becomes
 * "<URI>" and its password "***", so that it never goes further than the
 * command line (logs, /healthz, a client's error). */
void rv__store_pg_hide_uri(char *s, const char *uri);

#endif
