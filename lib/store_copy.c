/* lib/store_copy.c - copy a SQLite store into PostgreSQL
 * (revenge/store_copy.h, `revenge-server migrate`).
 *
 * Owns the one-shot move of a store from one server's SQLite file to the
 * database a cluster shares. The file is checked and opened read-only by
 * store_sqlite.c and read inside one read transaction (one snapshot, even
 * if a server still writes it). The database gets this build's schema from
 * store_pg.c's migrations, then one transaction per copy: per table, COPY
 * into a temporary table, then one INSERT ... ON CONFLICT from it, which
 * both fills an empty database and merges into a full one (the newer row
 * of a session wins), and counts what it did. Nothing of the file is
 * trusted: each row is checked as the store's puts check theirs, so what
 * lands in PostgreSQL is what a server could have written.
 *
 * Blocking calls only: this runs in a command, never on a server's loop.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <sqlite3.h>

#include "revenge/error.h"
#include "revenge/proto.h"
#include "revenge/quality.h"
#include "revenge/store.h"
#include "revenge/store_copy.h"

#include "store_pg.h"
#include "store_sqlite.h"

/* How long the copy waits for a lock a running server holds on the
 * tables before it gives up, rather than hanging. */
#define LOCK_TIMEOUT "10s"
/* COPY data goes to libpq in chunks of about this much. */
#define CHUNK 65536

/* What a column may hold, as the store's puts check it. */
enum col_kind {
	C_OWNER,              /* 0..RV_STORE_OWNER_MAX bytes of UTF-8 */
	C_ID,                 /* 1..RV_ID_MAX bytes of UTF-8 */
	C_PROFILE,            /* 1..RV_PROFILE_NAME_MAX bytes of UTF-8 */
	C_NUM,                /* a finite number */
	C_NUM_NULL,           /* a finite number or NULL */
	C_BOOL,               /* an integer: 0 false, else true */
};

#define MAX_COLS 7

struct table {
	const char *name, *target, *tmp;
	const char *cols;                             /* in COPY's order */
	const char *select[RV_STORE_SCHEMA_VERSION + 1];  /* by the file's version */
	enum col_kind kinds[MAX_COLS];
	int ncols;
	const char *insert;                           /* tmp -> target, counting */
};

/* Version 3 added the parties' table, which is not copied: a party's state
 * is the live server's (--party-retention), not a user's history. */
_Static_assert(RV_STORE_SCHEMA_VERSION == 3, "a select per schema version below");

/* The INSERT returns (inserted, updated): xmax is 0 on a row this
 * statement inserted, the transaction's id on one it updated; a conflict
 * whose WHERE fails returns nothing (kept). */
static const struct table tables[RV_STORE_COPY_TABLES] = {
	{
		"progress", "revenge_progress", "rv_copy_progress",
		"owner, session_id, media_id, position, duration, playing, server_time",
		{
			[1] = "SELECT '', session_id, media_id, position, duration, playing,"
			      " server_time FROM progress",
			[2] = "SELECT owner, session_id, media_id, position, duration, playing,"
			      " server_time FROM progress",
			[3] = "SELECT owner, session_id, media_id, position, duration, playing,"
			      " server_time FROM progress",
		},
		{ C_OWNER, C_ID, C_ID, C_NUM, C_NUM_NULL, C_BOOL, C_NUM }, 7,
		"WITH up AS (INSERT INTO revenge_progress AS t (owner, session_id, media_id,"
		" position, duration, playing, server_time)"
		" SELECT owner, session_id, media_id, position, duration, playing, server_time"
		" FROM rv_copy_progress"
		" ON CONFLICT (owner, session_id) DO UPDATE SET media_id = excluded.media_id,"
		" position = excluded.position, duration = excluded.duration,"
		" playing = excluded.playing, server_time = excluded.server_time"
		" WHERE excluded.server_time > t.server_time"
		" RETURNING (t.xmax = 0) AS ins)"
		" SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up",
	},
	{
		"quality", "revenge_quality", "rv_copy_quality",
		"owner, session_id, profile, updated_at",
		{
			[1] = "SELECT '', session_id, profile, updated_at FROM quality",
			[2] = "SELECT owner, session_id, profile, updated_at FROM quality",
			[3] = "SELECT owner, session_id, profile, updated_at FROM quality",
		},
		{ C_OWNER, C_ID, C_PROFILE, C_NUM_NULL }, 4,
		"WITH up AS (INSERT INTO revenge_quality AS t (owner, session_id, profile,"
		" updated_at)"
		" SELECT owner, session_id, profile, updated_at FROM rv_copy_quality"
		" ON CONFLICT (owner, session_id) DO UPDATE SET profile = excluded.profile,"
		" updated_at = excluded.updated_at"
		" WHERE (t.updated_at IS NULL AND excluded.updated_at IS NOT NULL)"
		" OR excluded.updated_at > t.updated_at"
		" RETURNING (t.xmax = 0) AS ins)"
		" SELECT count(*) FILTER (WHERE ins), count(*) FILTER (WHERE NOT ins) FROM up",
	},
};

struct copy {
	const char *path;
	sqlite3 *db;
	int version;
	PGconn *pg;
	char *why;
	size_t why_len;
	char buf[CHUNK + 4096];           /* COPY data not yet handed to libpq */
	size_t n;
};

static void quiet_notices(void *arg, const char *msg)
{
}

/* The failure of a statement on the database: "PostgreSQL: <what>: <msg>". */
static int pg_fail(struct copy *c, const char *what, const char *msg)
{
	char prefix[96];

	snprintf(prefix, sizeof(prefix), "PostgreSQL: %s: ", what);
	rv__store_pg_one_line(c->why, c->why_len, prefix, msg);
	return RV_EIO;
}

/* Run sql; 0, or RV_EIO with why. A TUPLES_OK result is kept in *keep
 * when keep is not NULL (the caller PQclears it). */
static int pg_exec(struct copy *c, const char *sql, const char *what, PGresult **keep)
{
	PGresult *res = PQexec(c->pg, sql);
	ExecStatusType st = PQresultStatus(res);
	int err = 0;

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		err = pg_fail(c, what, res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
	if (!err && keep)
		*keep = res;
	else
		PQclear(res);
	return err;
}

/* At most 48 bytes of s, other than printable ASCII shown as '?': a key
 * of a row revenge did not write may hold anything. */
static void shown(const unsigned char *s, int n, char *out, size_t len)
{
	size_t j = 0;

	for (int i = 0; s && i < n && j + 4 < len && i < 48; i++)
		out[j++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	if (s && n > 48 && j + 4 < len) {
		memcpy(out + j, "...", 3);
		j += 3;
	}
	out[j] = 0;
}

/* A row that a revenge server could not have written: name it, refuse
 * the copy. */
static int bad_row(struct copy *c, const struct table *t, sqlite3_stmt *s, const char *why)
{
	char owner[64], session[64];

	shown(sqlite3_column_text(s, 0), sqlite3_column_bytes(s, 0), owner, sizeof(owner));
	shown(sqlite3_column_text(s, 1), sqlite3_column_bytes(s, 1), session, sizeof(session));
	snprintf(c->why, c->why_len, "'%s': the %s row of owner '%s', session '%s' %s: not a"
		 " row revenge writes; nothing was copied", c->path, t->name, owner, session, why);
	return RV_EIO;
}

/* Text of 1..max bytes (0..max when empty_ok) of UTF-8 without a NUL. */
static bool text_ok(sqlite3_stmt *s, int i, size_t max, bool empty_ok)
{
	const unsigned char *v;
	size_t n;

	if (sqlite3_column_type(s, i) != SQLITE_TEXT)
		return false;
	v = sqlite3_column_text(s, i);
	n = (size_t)sqlite3_column_bytes(s, i);
	return v && (n > 0 || empty_ok) && n <= max && strlen((const char *)v) == n &&
	       rv_utf8_valid((const char *)v, n);
}

static bool num_ok(sqlite3_stmt *s, int i, bool null_ok)
{
	int type = sqlite3_column_type(s, i);

	if (type == SQLITE_NULL)
		return null_ok;
	return (type == SQLITE_INTEGER || type == SQLITE_FLOAT) &&
	       isfinite(sqlite3_column_double(s, i));
}

/* Column i as COPY text: tab, newline, carriage return and backslash
 * escaped; NULL as \N. */
static void put_text(struct copy *c, const unsigned char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char e = v[i] == '\t' ? 't' : v[i] == '\n' ? 'n' : v[i] == '\r' ? 'r' :
			 v[i] == '\\' ? '\\' : 0;

		if (e) {
			c->buf[c->n++] = '\\';
			c->buf[c->n++] = e;
		} else {
			c->buf[c->n++] = (char)v[i];
		}
	}
}

/* Append row s (checked) to the COPY data. A row is at most a few hundred
 * bytes escaped: the buffer's slack beyond CHUNK holds one. */
static int put_row(struct copy *c, const struct table *t, sqlite3_stmt *s)
{
	for (int i = 0; i < t->ncols; i++) {
		char num[40];

		if (i)
			c->buf[c->n++] = '\t';
		switch (t->kinds[i]) {
		case C_OWNER:
		case C_ID:
		case C_PROFILE:
			put_text(c, sqlite3_column_text(s, i), (size_t)sqlite3_column_bytes(s, i));
			break;
		case C_NUM:
		case C_NUM_NULL:
			if (sqlite3_column_type(s, i) == SQLITE_NULL) {
				memcpy(c->buf + c->n, "\\N", 2);
				c->n += 2;
				break;
			}
			snprintf(num, sizeof(num), "%.17g", sqlite3_column_double(s, i));
			put_text(c, (const unsigned char *)num, strlen(num));
			break;
		case C_BOOL:
			c->buf[c->n++] = sqlite3_column_int64(s, i) ? 't' : 'f';
			break;
		}
	}
	c->buf[c->n++] = '\n';
	if (c->n >= CHUNK) {
		if (PQputCopyData(c->pg, c->buf, (int)c->n) != 1)
			return pg_fail(c, "COPY", PQerrorMessage(c->pg));
		c->n = 0;
	}
	return 0;
}

/* Why row s may not be copied, or NULL when it may. */
static const char *check_row(const struct table *t, sqlite3_stmt *s)
{
	for (int i = 0; i < t->ncols; i++) {
		switch (t->kinds[i]) {
		case C_OWNER:
			if (!text_ok(s, i, RV_STORE_OWNER_MAX, true))
				return "has an owner that is not 0-128 bytes of UTF-8";
			break;
		case C_ID:
			if (!text_ok(s, i, RV_ID_MAX, false))
				return i == 1 ? "has a session id that is not 1-64 bytes of UTF-8"
					      : "has a media id that is not 1-64 bytes of UTF-8";
			break;
		case C_PROFILE:
			if (!text_ok(s, i, RV_PROFILE_NAME_MAX, false))
				return "has a profile that is not 1-32 bytes of UTF-8";
			break;
		case C_NUM:
		case C_NUM_NULL:
			if (!num_ok(s, i, t->kinds[i] == C_NUM_NULL))
				return "has a position, duration or time that is not a finite number";
			break;
		case C_BOOL:
			if (sqlite3_column_type(s, i) != SQLITE_INTEGER)
				return "has a 'playing' that is not an integer";
			break;
		}
	}
	return NULL;
}

/* After a COPY ends: its result, then the NULL that closes it. */
static int copy_result(struct copy *c, int err)
{
	PGresult *res;

	while ((res = PQgetResult(c->pg))) {
		if (!err && PQresultStatus(res) != PGRES_COMMAND_OK)
			err = pg_fail(c, "COPY", PQresultErrorMessage(res));
		PQclear(res);
	}
	return err;
}

/* Copy table t: the file's rows into the temporary table, then into the
 * target; counts into out. */
static int copy_table(struct copy *c, const struct table *t, struct rv_store_copy_table *out)
{
	sqlite3_stmt *s = NULL;
	PGresult *res = NULL;
	const char *bad;
	char sql[256];
	int rc, err;

	snprintf(sql, sizeof(sql), "CREATE TEMPORARY TABLE %s (LIKE %s) ON COMMIT DROP", t->tmp,
		 t->target);
	if ((err = pg_exec(c, sql, "creating a temporary table", NULL)))
		return err;
	snprintf(sql, sizeof(sql), "COPY %s (%s) FROM STDIN", t->tmp, t->cols);
	res = PQexec(c->pg, sql);
	if (PQresultStatus(res) != PGRES_COPY_IN) {
		err = pg_fail(c, "COPY", res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg));
		PQclear(res);
		return err;
	}
	PQclear(res);
	c->n = 0;
	rc = sqlite3_prepare_v2(c->db, t->select[c->version], -1, &s, NULL);
	while (!err && rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		if ((bad = check_row(t, s))) {
			err = bad_row(c, t, s, bad);
			break;
		}
		out->read++;
		err = put_row(c, t, s);
	}
	if (!err && rc != SQLITE_DONE) {
		snprintf(c->why, c->why_len, "'%s': reading %s: %s", c->path, t->name,
			 sqlite3_errmsg(c->db));
		err = RV_EIO;
	}
	sqlite3_finalize(s);
	if (!err && c->n && PQputCopyData(c->pg, c->buf, (int)c->n) != 1)
		err = pg_fail(c, "COPY", PQerrorMessage(c->pg));
	/* a failed copy is ended with an error, so the server discards it */
	if (PQputCopyEnd(c->pg, err ? "the copy stopped" : NULL) != 1 && !err)
		err = pg_fail(c, "COPY", PQerrorMessage(c->pg));
	if ((err = copy_result(c, err)))
		return err;
	if ((err = pg_exec(c, t->insert, t->target, &res)))
		return err;
	out->inserted = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	out->updated = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
	out->kept = out->read - out->inserted - out->updated;
	PQclear(res);
	return 0;
}

/* Without merge the database must hold no rows yet: the tables are
 * locked against writers (a running server's reports wait) so none comes
 * in between the count and the copy. */
static int check_empty(struct copy *c)
{
	PGresult *res = NULL;
	int err;

	if ((err = pg_exec(c, "LOCK TABLE revenge_progress, revenge_quality IN EXCLUSIVE MODE",
			   "locking the tables", NULL)) ||
	    (err = pg_exec(c, "SELECT (SELECT count(*) FROM revenge_progress),"
			   " (SELECT count(*) FROM revenge_quality)", "counting rows", &res)))
		return err;
	if (strcmp(PQgetvalue(res, 0, 0), "0") || strcmp(PQgetvalue(res, 0, 1), "0")) {
		snprintf(c->why, c->why_len, "the database already holds revenge rows (%s progress,"
			 " %s quality); nothing was copied", PQgetvalue(res, 0, 0),
			 PQgetvalue(res, 0, 1));
		err = RV_ESTATE;
	}
	PQclear(res);
	return err;
}

static bool is_pg_uri(const char *uri)
{
	return !strncmp(uri, "postgres://", 11) || !strncmp(uri, "postgresql://", 13);
}

/* The contract of store_copy.h. */
int rv_store_copy(const char *sqlite_path, const char *pg_uri,
		  const struct rv_store_copy_options *opts, struct rv_store_copy_result *res,
		  char *why, size_t why_len)
{
	struct copy *c = NULL;
	PQconninfoOption *ci;
	char *msg = NULL, pwhy[256];
	int err;

	if (!why || !why_len)
		return RV_EINVAL;
	if (!sqlite_path || !*sqlite_path || !pg_uri || !*pg_uri || !res) {
		snprintf(why, why_len, "no SQLite path, PostgreSQL URI or result given");
		return RV_EINVAL;
	}
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < RV_STORE_COPY_TABLES; i++) {
		res->tables[i].name = tables[i].name;
		res->tables[i].target = tables[i].target;
	}
	if (!is_pg_uri(pg_uri)) {
		snprintf(why, why_len, "not a PostgreSQL URI: expected postgres:// or"
			 " postgresql://");
		return RV_EINVAL;
	}
	if (!(ci = PQconninfoParse(pg_uri, &msg))) {
		rv__store_pg_one_line(why, why_len, "not a valid PostgreSQL URI: ",
				      msg ? msg : "out of memory");
		err = msg ? RV_EINVAL : RV_ENOMEM;
		PQfreemem(msg);
		rv__store_pg_hide_uri(why, pg_uri);
		return err;
	}
	PQconninfoFree(ci);
	if (!(c = calloc(1, sizeof(*c)))) {
		snprintf(why, why_len, "out of memory");
		return RV_ENOMEM;
	}
	c->path = sqlite_path;
	c->why = why;
	c->why_len = why_len;
	/* the file first: a wrong one is refused before the database is
	 * touched at all */
	if ((err = rv__store_sqlite_open_source(sqlite_path, &c->db, &c->version, why, why_len)))
		goto out;
	res->sqlite_version = c->version;
	if (sqlite3_exec(c->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(why, why_len, "'%s': %s", sqlite_path, sqlite3_errmsg(c->db));
		err = RV_EIO;
		goto out;
	}
	c->pg = rv__store_pg_connect(pg_uri);
	if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
		rv__store_pg_one_line(why, why_len, "cannot reach PostgreSQL: ",
				      c->pg ? PQerrorMessage(c->pg) : "out of memory");
		err = c->pg ? RV_EIO : RV_ENOMEM;
		goto out;
	}
	PQsetNoticeProcessor(c->pg, quiet_notices, NULL);
	if ((err = rv__store_pg_migrate(c->pg, &res->pg_version, pwhy, sizeof(pwhy)))) {
		snprintf(why, why_len, "PostgreSQL: migrating the schema: %s", pwhy);
		goto out;
	}
	if ((err = pg_exec(c, "BEGIN", "begin", NULL)) ||
	    (err = pg_exec(c, "SET LOCAL lock_timeout = '" LOCK_TIMEOUT "'", "lock_timeout",
			   NULL)))
		goto out;
	if (!(opts && opts->merge) && (err = check_empty(c)))
		goto rollback;
	for (int i = 0; i < RV_STORE_COPY_TABLES; i++)
		if ((err = copy_table(c, &tables[i], &res->tables[i])))
			goto rollback;
	err = pg_exec(c, "COMMIT", "commit", NULL);
	goto out;
rollback:
	PQclear(PQexec(c->pg, "ROLLBACK"));
out:
	if (c->db)
		sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_close(c->db);
	PQfinish(c->pg);
	free(c);
	return err;
}
