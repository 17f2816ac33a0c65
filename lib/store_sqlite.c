/* lib/store_sqlite.c - the durable store (revenge/store.h) on SQLite.
 *
 * Owns one SQLite connection per struct rv_store and everything that hangs
 * off it: the schema migrations, the prepared statements, and the checks that
 * decide whether a file may be trusted at all. The file holds each session's
 * latest progress report and quality profile, keyed by (owner, session
 * id) so one owner's session never meets another's of the same id; the
 * server writes them in batches (begin, puts, commit) so one commit covers
 * many reports.
 *
 * Why these settings: WAL makes a commit one append to the log and lets a
 * reader (a backup, sqlite3 by hand) look while we write. In WAL mode
 * synchronous=NORMAL keeps every commit across a crash of the process and
 * risks only the last commits on power loss; opts->fsync (synchronous=FULL)
 * syncs the log at each commit to close that gap too. The file is checked at
 * open (SQLite header, quick_check, that it is ours and not another
 * application's database, schema version, table shapes) because a store
 * that is silently wrong is worse than a server that refuses to start and
 * says why; revenge never adds its tables to someone else's file.
 *
 * No global state: everything lives in struct rv_store, one per thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "revenge/error.h"
#include "revenge/proto.h"
#include "revenge/store.h"

#include "store_sqlite.h"

#define BUSY_TIMEOUT_MS 2000

/* RV_STORE_APPLICATION_ID as SQL text (a PRAGMA takes no parameters). */
#define APP_ID_SQL "1381387847"
_Static_assert(RV_STORE_APPLICATION_ID == 1381387847, "APP_ID_SQL is the application_id");

/* migrations[v] takes a database from user_version v to v + 1. Append only:
 * a step that has shipped never changes, because files in the field ran it.
 * IF NOT EXISTS lets a version 0 file that holds nothing but tables of
 * exactly the version 1 shape (a version 1 store that lost its user_version;
 * both checked before migrating) adopt them instead of failing; the later
 * steps then carry them forward like any other. */
static const char *const migrations[] = {
	/* 0 -> 1 */
	"CREATE TABLE IF NOT EXISTS progress("
	" session_id TEXT PRIMARY KEY,"
	" media_id TEXT NOT NULL,"
	" position REAL NOT NULL,"
	" duration REAL,"
	" playing INTEGER NOT NULL,"
	" server_time REAL NOT NULL"
	") WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS quality("
	" session_id TEXT PRIMARY KEY,"
	" profile TEXT NOT NULL,"
	" updated_at REAL"
	") WITHOUT ROWID;",
	/* 1 -> 2: a session belongs to an owner (a token's sub) and the key
	 * becomes (owner, session_id). Every existing row goes to the owner
	 * "", the open server's, which is whose it was. SQLite cannot change
	 * a primary key in place: build the new table, copy, drop, rename.
	 * legacy_alter_table stops the rename from checking and rewriting
	 * views someone made on our tables: with the old table dropped that
	 * check fails ("no such table"), and a view names the table, so it
	 * finds the new one as it is. */
	"PRAGMA legacy_alter_table = ON;"
	"CREATE TABLE progress_v2("
	" owner TEXT NOT NULL,"
	" session_id TEXT NOT NULL,"
	" media_id TEXT NOT NULL,"
	" position REAL NOT NULL,"
	" duration REAL,"
	" playing INTEGER NOT NULL,"
	" server_time REAL NOT NULL,"
	" PRIMARY KEY (owner, session_id)"
	") WITHOUT ROWID;"
	"INSERT INTO progress_v2(owner, session_id, media_id, position, duration, playing,"
	" server_time)"
	" SELECT '', session_id, media_id, position, duration, playing, server_time"
	" FROM progress;"
	"DROP TABLE progress;"
	"ALTER TABLE progress_v2 RENAME TO progress;"
	"CREATE TABLE quality_v2("
	" owner TEXT NOT NULL,"
	" session_id TEXT NOT NULL,"
	" profile TEXT NOT NULL,"
	" updated_at REAL,"
	" PRIMARY KEY (owner, session_id)"
	") WITHOUT ROWID;"
	"INSERT INTO quality_v2(owner, session_id, profile, updated_at)"
	" SELECT '', session_id, profile, updated_at FROM quality;"
	"DROP TABLE quality;"
	"ALTER TABLE quality_v2 RENAME TO quality;"
	"PRAGMA legacy_alter_table = OFF;",
	/* 2 -> 3: each watch party's state (--party-retention), one JSON
	 * document per party (party_save.h says what is in it), and when the
	 * party was last seen with members (server ms). */
	"CREATE TABLE party("
	" party_id TEXT PRIMARY KEY,"
	" doc TEXT NOT NULL,"
	" seen REAL NOT NULL"
	") WITHOUT ROWID;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == RV_STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

/* The shape of our tables at each schema version, as PRAGMA table_info
 * reports it (a WITHOUT ROWID primary key is implicitly NOT NULL; pk is the
 * column's place in the key). Append only, like the migrations: a file is
 * checked against the shape of its own version before a step rewrites it. */
struct col_shape {
	const char *name, *type;
	int notnull, pk;
};

struct table_shape {
	const char *name;
	const struct col_shape *cols;
	int ncols;
};

struct schema_shape {
	const struct table_shape *tables;
	int ntables;
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const struct col_shape progress_v1[] = {
	{ "session_id", "TEXT", 1, 1 },
	{ "media_id", "TEXT", 1, 0 },
	{ "position", "REAL", 1, 0 },
	{ "duration", "REAL", 0, 0 },
	{ "playing", "INTEGER", 1, 0 },
	{ "server_time", "REAL", 1, 0 },
};

static const struct col_shape quality_v1[] = {
	{ "session_id", "TEXT", 1, 1 },
	{ "profile", "TEXT", 1, 0 },
	{ "updated_at", "REAL", 0, 0 },
};

static const struct table_shape tables_v1[] = {
	{ "progress", progress_v1, COUNT(progress_v1) },
	{ "quality", quality_v1, COUNT(quality_v1) },
};

static const struct col_shape progress_v2[] = {
	{ "owner", "TEXT", 1, 1 },
	{ "session_id", "TEXT", 1, 2 },
	{ "media_id", "TEXT", 1, 0 },
	{ "position", "REAL", 1, 0 },
	{ "duration", "REAL", 0, 0 },
	{ "playing", "INTEGER", 1, 0 },
	{ "server_time", "REAL", 1, 0 },
};

static const struct col_shape quality_v2[] = {
	{ "owner", "TEXT", 1, 1 },
	{ "session_id", "TEXT", 1, 2 },
	{ "profile", "TEXT", 1, 0 },
	{ "updated_at", "REAL", 0, 0 },
};

static const struct table_shape tables_v2[] = {
	{ "progress", progress_v2, COUNT(progress_v2) },
	{ "quality", quality_v2, COUNT(quality_v2) },
};

static const struct col_shape party_v3[] = {
	{ "party_id", "TEXT", 1, 1 },
	{ "doc", "TEXT", 1, 0 },
	{ "seen", "REAL", 1, 0 },
};

static const struct table_shape tables_v3[] = {
	{ "progress", progress_v2, COUNT(progress_v2) },
	{ "quality", quality_v2, COUNT(quality_v2) },
	{ "party", party_v3, COUNT(party_v3) },
};

/* shapes[v]: the tables of a file at user_version v (none at 0). */
static const struct schema_shape shapes[] = {
	[1] = { tables_v1, COUNT(tables_v1) },
	[2] = { tables_v2, COUNT(tables_v2) },
	[3] = { tables_v3, COUNT(tables_v3) },
};

_Static_assert(sizeof(shapes) / sizeof(shapes[0]) == RV_STORE_SCHEMA_VERSION + 1,
	       "one table shape per schema version");

enum stmt_id {
	S_PUT_PROGRESS,
	S_GET_PROGRESS,
	S_PUT_QUALITY,
	S_GET_QUALITY,
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_HAS_PROGRESS,
	S_EXPIRE_PROGRESS,
	S_EXPIRE_QUALITY,
	S_COUNT_PROGRESS,
	S_COUNT_QUALITY,
	S_TRIM_PROGRESS,
	S_TRIM_QUALITY,
	S_PUT_PARTY,
	S_DEL_PARTY,
	S_LOAD_PARTIES,
	S__COUNT
};

static const char *const stmt_sql[S__COUNT] = {
	[S_PUT_PROGRESS] =
		"INSERT INTO progress(owner, session_id, media_id, position, duration, playing,"
		" server_time)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
		" ON CONFLICT(owner, session_id) DO UPDATE SET media_id = excluded.media_id,"
		" position = excluded.position, duration = excluded.duration,"
		" playing = excluded.playing, server_time = excluded.server_time"
		" WHERE progress.server_time <= excluded.server_time",
	[S_GET_PROGRESS] =
		"SELECT media_id, position, duration, playing, server_time"
		" FROM progress WHERE owner = ?1 AND session_id = ?2",
	/* updated_at is informational (unix ms, wall clock at the write), so
	 * SQLite stamps it rather than the API growing a clock argument. */
	[S_PUT_QUALITY] =
		"INSERT INTO quality(owner, session_id, profile, updated_at)"
		" VALUES (?1, ?2, ?3, (julianday('now') - 2440587.5) * 86400000.0)"
		" ON CONFLICT(owner, session_id) DO UPDATE SET profile = excluded.profile,"
		" updated_at = excluded.updated_at",
	[S_GET_QUALITY] = "SELECT profile FROM quality WHERE owner = ?1 AND session_id = ?2",
	/* IMMEDIATE takes the write lock up front: a deferred transaction that
	 * upgrades from reader to writer can get SQLITE_BUSY in WAL mode without
	 * the busy handler being allowed to wait it out. */
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_HAS_PROGRESS] = "SELECT 1 FROM progress WHERE owner = ?1 AND session_id = ?2",
	/* A session is seen when it reports (server_time) or changes its
	 * profile (updated_at); a quality row of a v1 file may have no
	 * updated_at and then never expires, but is the first to go at the
	 * owner's cap (NULL sorts first). */
	[S_EXPIRE_PROGRESS] = "DELETE FROM progress WHERE server_time < ?1",
	[S_EXPIRE_QUALITY] = "DELETE FROM quality WHERE updated_at < ?1",
	[S_COUNT_PROGRESS] = "SELECT count(*) FROM progress WHERE owner = ?1",
	[S_COUNT_QUALITY] = "SELECT count(*) FROM quality WHERE owner = ?1",
	[S_TRIM_PROGRESS] =
		"DELETE FROM progress WHERE owner = ?1 AND session_id IN"
		" (SELECT session_id FROM progress WHERE owner = ?1"
		" ORDER BY server_time, session_id LIMIT ?2)",
	[S_TRIM_QUALITY] =
		"DELETE FROM quality WHERE owner = ?1 AND session_id IN"
		" (SELECT session_id FROM quality WHERE owner = ?1"
		" ORDER BY updated_at, session_id LIMIT ?2)",
	[S_PUT_PARTY] =
		"INSERT INTO party(party_id, doc, seen) VALUES (?1, ?2, ?3)"
		" ON CONFLICT(party_id) DO UPDATE SET doc = excluded.doc, seen = excluded.seen",
	[S_DEL_PARTY] = "DELETE FROM party WHERE party_id = ?1",
	[S_LOAD_PARTIES] = "SELECT party_id, doc, seen FROM party ORDER BY seen, party_id",
};

struct rv_store {
	sqlite3 *db;
	int version;
	sqlite3_stmt *stmt[S__COUNT];
	char err[256];                  /* last failure, for rv_store_last_error */
};

/* Make s one line: SQLite messages (quick_check's especially) may hold
 * newlines, and the text ends up in one log line. */
static void one_line(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r' || *s == '\t')
			*s = ' ';
}

/* Write "cannot open store 'path': <reason>" into err (when there is room). */
__attribute__((format(printf, 4, 5)))
static void open_fail(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || errlen == 0)
		return;
	n = snprintf(err, errlen, "cannot open store '%s': ", path);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	one_line(err);
}

/* Record why the last call failed: "<what>: <sqlite's message>". */
static void note_sqlite(struct rv_store *st, const char *what)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what, sqlite3_errmsg(st->db));
	one_line(st->err);
}

static int note_invalid(struct rv_store *st, const char *why)
{
	snprintf(st->err, sizeof(st->err), "%s", why);
	return RV_EINVAL;
}

static int rv_code(int sqlite_rc)
{
	return (sqlite_rc & 0xff) == SQLITE_NOMEM ? RV_ENOMEM : RV_EIO;
}

/* The directory part of path ("." for a bare name), in a new string. */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	size_t len;
	char *d;

	if (!slash)
		return strdup(".");
	/* "a//b" -> "a", "/b" -> "/" */
	while (slash > path && slash[-1] == '/')
		slash--;
	len = slash == path ? 1 : (size_t)(slash - path);
	d = malloc(len + 1);
	if (!d)
		return NULL;
	memcpy(d, path, len);
	d[len] = '\0';
	return d;
}

/* Look at the file and its directory before SQLite does, so the message names
 * the real problem: SQLite only ever says "unable to open database file".
 * This is for the message alone; SQLite's own result is checked afterwards,
 * so a race between the two cannot let a bad file through. */
static int check_path(const char *path, bool create, char *err, size_t errlen)
{
	struct stat sb;
	char *dir;
	bool exists = stat(path, &sb) == 0;
	int ret = 0;

	if (exists) {
		if (S_ISDIR(sb.st_mode)) {
			open_fail(err, errlen, path, "is a directory");
			return RV_EIO;
		}
		if (!S_ISREG(sb.st_mode)) {
			open_fail(err, errlen, path, "not a regular file");
			return RV_EIO;
		}
		/* AT_EACCESS: the effective ids decide, as for SQLite's open(2) */
		if (faccessat(AT_FDCWD, path, R_OK | W_OK, AT_EACCESS) != 0) {
			if (errno == EROFS)
				open_fail(err, errlen, path, "read-only file system");
			else if (faccessat(AT_FDCWD, path, R_OK, AT_EACCESS) == 0)
				open_fail(err, errlen, path, "permission denied (read-only file)");
			else
				open_fail(err, errlen, path, "permission denied");
			return RV_EIO;
		}
	} else if (errno != ENOENT) {
		if (errno == ENOTDIR)
			open_fail(err, errlen, path, "a component of the path is not a directory");
		else if (errno == EACCES)
			open_fail(err, errlen, path, "permission denied (cannot reach the file)");
		else
			open_fail(err, errlen, path, "%s", strerror(errno));
		return RV_EIO;
	}
	/* The file exists, or is missing and may be created: either way WAL
	 * (and creation) need to make files beside it. */
	dir = dir_of(path);
	if (!dir) {
		open_fail(err, errlen, path, "out of memory");
		return RV_ENOMEM;
	}
	if (stat(dir, &sb) != 0) {
		if (errno == ENOENT)
			open_fail(err, errlen, path, "directory does not exist");
		else
			open_fail(err, errlen, path, "directory '%s': %s", dir, strerror(errno));
		ret = RV_EIO;
	} else if (!S_ISDIR(sb.st_mode)) {
		open_fail(err, errlen, path, "'%s' is not a directory", dir);
		ret = RV_EIO;
	} else if (!exists && !create) {
		open_fail(err, errlen, path, "no such file (and create is off)");
		ret = RV_EIO;
	} else if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) != 0) {
		open_fail(err, errlen, path, "permission denied (directory '%s' is not writable,"
			  " and the store needs to create files there)", dir);
		ret = RV_EIO;
	}
	free(dir);
	return ret;
}

/* Run sql and copy column 0 of its first row into val ("" when there is no
 * row). Returns the SQLite result; on failure val holds SQLite's message. */
static int query1(sqlite3 *db, const char *sql, char *val, size_t vlen)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);

	val[0] = '\0';
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const unsigned char *t = sqlite3_column_text(s, 0);

			snprintf(val, vlen, "%s", t ? (const char *)t : "");
			rc = SQLITE_OK;
		} else if (rc == SQLITE_DONE) {
			rc = SQLITE_OK;
		}
	}
	if (rc != SQLITE_OK)
		snprintf(val, vlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(s);
	return rc;
}

/* The first problem quick_check lists, without its "*** in database main
 * ***" heading: one line is enough to say the file is damaged. */
static const char *first_problem(char *report)
{
	char *p = report, *nl;

	if (strncmp(p, "*** ", 4) == 0 && (nl = strchr(p, '\n')))
		p = nl + 1;
	if ((nl = strchr(p, '\n')))
		*nl = '\0';
	return p;
}

/* sqlite3_exec with the message copied into why on failure. */
static int exec(sqlite3 *db, const char *sql, char *why, size_t whylen)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		snprintf(why, whylen, "%s", msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return rc;
}

/* 0 when table t has exactly our columns (or is absent and absent_ok);
 * otherwise -1 with why. Names compare case-insensitively, as SQL does. */
static int check_table(sqlite3 *db, const struct table_shape *t, bool absent_ok, char *why,
		       size_t whylen)
{
	sqlite3_stmt *s = NULL;
	const char *v;
	int rc, i = 0, ret = -1;

	rc = sqlite3_prepare_v2(db, "SELECT type FROM sqlite_master WHERE name = ?1 COLLATE NOCASE",
				-1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		if (!absent_ok)
			snprintf(why, whylen, "table '%s' is missing", t->name);
		ret = absent_ok ? 0 : -1;
		goto out;
	}
	if (rc != SQLITE_ROW)
		goto sqlerr;
	v = (const char *)sqlite3_column_text(s, 0);
	if (!v || strcmp(v, "table") != 0) {
		snprintf(why, whylen, "'%s' is a %s, not a revenge table", t->name, v ? v : "?");
		goto out;
	}
	sqlite3_finalize(s);
	s = NULL;

	rc = sqlite3_prepare_v2(db, "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?1)"
				" ORDER BY cid", -1, &s, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
	while (rc == SQLITE_OK || rc == SQLITE_ROW) {
		const struct col_shape *c;
		const char *name, *type;

		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW)
			break;
		name = (const char *)sqlite3_column_text(s, 0);
		type = (const char *)sqlite3_column_text(s, 1);
		name = name ? name : "";
		type = type ? type : "";
		if (i == t->ncols) {
			snprintf(why, whylen, "table '%s' has an unexpected column '%s'"
				 " (not a revenge store?)", t->name, name);
			goto out;
		}
		c = &t->cols[i];
		if (strcasecmp(name, c->name) != 0 || strcasecmp(type, c->type) != 0 ||
		    sqlite3_column_int(s, 2) != c->notnull || sqlite3_column_int(s, 3) != c->pk) {
			snprintf(why, whylen, "table '%s' has a different shape: column %d is"
				 " '%s %s%s%s', expected '%s %s%s%s' (not a revenge store?)",
				 t->name, i + 1, name, type,
				 sqlite3_column_int(s, 3) ? " PRIMARY KEY" : "",
				 sqlite3_column_int(s, 2) ? " NOT NULL" : "",
				 c->name, c->type, c->pk ? " PRIMARY KEY" : "",
				 c->notnull ? " NOT NULL" : "");
			goto out;
		}
		i++;
	}
	if (rc != SQLITE_DONE)
		goto sqlerr;
	if (i < t->ncols) {
		snprintf(why, whylen, "table '%s' has a different shape: column '%s' is missing"
			 " (not a revenge store?)", t->name, t->cols[i].name);
		goto out;
	}
	ret = 0;
	goto out;
sqlerr:
	snprintf(why, whylen, "reading the schema: %s", sqlite3_errmsg(db));
out:
	sqlite3_finalize(s);
	return ret;
}

/* 0 when our tables have the shape of schema version v, -1 with why. */
static int check_tables(sqlite3 *db, int v, bool absent_ok, char *why, size_t whylen)
{
	for (int i = 0; i < shapes[v].ntables; i++)
		if (check_table(db, &shapes[v].tables[i], absent_ok, why, whylen))
			return -1;
	return 0;
}

/* Tables and views that are not ours (nor SQLite's own): 0 when there are
 * none, else how many, with up to three names listed in names as "'a',
 * 'b', ..."; -1 with SQLite's message in names when the schema cannot be
 * read. Names compare case-insensitively, as SQL does. */
static int others(sqlite3 *db, char *names, size_t len)
{
	sqlite3_stmt *s = NULL;
	size_t used = 0;
	int rc, n = 0;

	names[0] = '\0';
	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
				" AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
				" AND lower(name) NOT IN ('progress', 'quality', 'party') ORDER BY name",
				-1, &s, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(s, 0);

		if (n < 3)
			snprintf(names + used, len - used, "%s'%s'", n ? ", " : "", t ? t : "");
		else if (n == 3)
			snprintf(names + used, len - used, ", ...");
		used = strlen(names);
		n++;
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE) {
		snprintf(names, len, "reading the schema: %s", sqlite3_errmsg(db));
		n = -1;
	}
	sqlite3_finalize(s);
	return n;
}

/* Whether the file is a revenge store at all, before anything else is
 * checked or written: 0, or -1 with why. Refused as another application's:
 * an application_id that is not ours; tables of its own at user_version 0
 * (an empty file, or one holding only our version 1 tables, is ours to
 * initialise or adopt); a user_version above 0 with none of our tables
 * (unless the id says the file is ours: then the shape checks say what is
 * wrong). A store made before the id existed has id 0 and passes on its
 * version and tables. */
static int check_identity(sqlite3 *db, int version, long app_id, char *why, size_t whylen)
{
	char names[128], val[32];
	int n;

	if (app_id != 0 && app_id != RV_STORE_APPLICATION_ID) {
		snprintf(why, whylen, "not a revenge store: its application_id is 0x%08lx, another"
			 " application's (revenge's is 0x%08x); refusing to write to it",
			 (unsigned long)app_id & 0xffffffffUL, RV_STORE_APPLICATION_ID);
		return -1;
	}
	if (version == 0) {
		n = others(db, names, sizeof(names));
		if (n < 0) {
			snprintf(why, whylen, "%s", names);
			return -1;
		}
		if (n > 0) {
			snprintf(why, whylen, "not a revenge store: it holds another application's"
				 " %s (%s) and no revenge schema version (user_version 0);"
				 " refusing to add revenge tables to it", n == 1 ? "table" : "tables",
				 names);
			return -1;
		}
		return 0;
	}
	if (app_id == RV_STORE_APPLICATION_ID)
		return 0;
	if (query1(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
		   " AND lower(name) IN ('progress', 'quality', 'party')", val, sizeof(val))) {
		snprintf(why, whylen, "reading the schema: %s", val);
		return -1;
	}
	if (atoi(val) == 0) {
		snprintf(why, whylen, "not a revenge store: user_version %d%s but none of revenge's"
			 " tables (another application's database); refusing to write to it",
			 version, version > RV_STORE_SCHEMA_VERSION ? " (not a revenge schema version)"
			 : "");
		return -1;
	}
	return 0;
}

/* Before a migration writes: a file at version v must hold the tables of
 * version v, since that is what the steps from v expect; at version 0 the
 * tables may be missing (step 0 creates them) or have the version 1 shape
 * (step 0 adopts them). 0, or -1 with why.
 *
 * A version 0 file whose tables have a later shape is most likely a copy
 * that lost its user_version (sqlite3's .dump does not keep it): the steps
 * from 0 would take its owners away, so it is refused, saying how to fix
 * it, rather than adopted. */
static int check_before_migrating(sqlite3 *db, int version, char *why, size_t whylen)
{
	char scratch[256];

	if (version > 0)
		return check_tables(db, version, false, why, whylen);
	if (check_tables(db, 1, true, why, whylen) == 0)
		return 0;
	for (int v = RV_STORE_SCHEMA_VERSION; v > 1; v--)
		if (check_tables(db, v, false, scratch, sizeof(scratch)) == 0) {
			snprintf(why, whylen, "the tables have the shape of schema version %d but"
				 " the file says version 0 (a copy that lost its user_version?);"
				 " if it is a revenge store, set PRAGMA user_version = %d", v, v);
			break;
		}
	return -1;
}

/* Bring the database from *version to RV_STORE_SCHEMA_VERSION, one step per
 * transaction so a crash leaves it at some whole version, never between.
 * Returns 0, or -1 with why (and the failed step rolled back). */
static int migrate(sqlite3 *db, int *version, char *why, size_t whylen)
{
	while (*version < RV_STORE_SCHEMA_VERSION) {
		char val[32], sql[96];
		int v;

		/* IMMEDIATE, then read the version again: two processes opening
		 * a fresh file at once serialize here, and the second one finds
		 * the step done instead of running it twice. */
		if (exec(db, "BEGIN IMMEDIATE", why, whylen))
			return -1;
		if (query1(db, "PRAGMA user_version", val, sizeof(val))) {
			snprintf(why, whylen, "%s", val);
			goto fail;
		}
		v = atoi(val);
		if (v != *version) {
			*version = v;
			if (exec(db, "COMMIT", why, whylen))
				goto fail;
			if (v < 0 || v > RV_STORE_SCHEMA_VERSION)
				return 0;       /* the caller refuses it */
			continue;
		}
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d;"
			 " PRAGMA application_id = " APP_ID_SQL, v + 1);
		if (exec(db, migrations[v], why, whylen) || exec(db, sql, why, whylen) ||
		    exec(db, "COMMIT", why, whylen))
			goto fail;
		*version = v + 1;
	}
	return 0;
fail:
	/* A failed COMMIT may leave the transaction open; end it either way. */
	if (!sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -1;
}

/* The contract of store_sqlite.h. Every reason names the file: the caller
 * adds only what it was doing. */
int rv__store_sqlite_open_source(const char *path, sqlite3 **db, int *version, char *why,
				 size_t why_len)
{
	struct stat sb;
	char val[256], *fixed = NULL;
	const char *name = path;
	sqlite3 *d = NULL;
	int rc, v, ret = RV_EIO;

	if (!path || !*path || !db || !version) {
		snprintf(why, why_len, "no store path given");
		return RV_EINVAL;
	}
	*db = NULL;
	if (stat(path, &sb) != 0) {
		snprintf(why, why_len, "'%s': %s", path,
			 errno == ENOENT ? "no such file" : strerror(errno));
		return RV_EIO;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(why, why_len, "'%s': %s", path,
			 S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
		return RV_EIO;
	}
	/* as in rv_store_open: a relative "file:..." is a file, not a URI */
	if (strncmp(path, "file:", 5) == 0) {
		if (asprintf(&fixed, "./%s", path) < 0) {
			snprintf(why, why_len, "out of memory");
			return RV_ENOMEM;
		}
		name = fixed;
	}
	rc = sqlite3_open_v2(name, &d, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
	free(fixed);
	if (rc != SQLITE_OK) {
		snprintf(why, why_len, "'%s': %s", path, d ? sqlite3_errmsg(d) : sqlite3_errstr(rc));
		ret = rv_code(rc);
		goto out;
	}
	sqlite3_busy_timeout(d, BUSY_TIMEOUT_MS);
	sqlite3_db_config(d, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	/* the first read: a file that is not SQLite fails here */
	rc = query1(d, "PRAGMA user_version", val, sizeof(val));
	if (rc != SQLITE_OK) {
		snprintf(why, why_len, "'%s' is not a revenge store: %s", path, val);
		ret = rv_code(rc);
		goto out;
	}
	v = atoi(val);
	if (v > RV_STORE_SCHEMA_VERSION) {
		snprintf(why, why_len, "'%s': schema version %d is newer than this build supports"
			 " (%d); upgrade revenge", path, v, RV_STORE_SCHEMA_VERSION);
		goto out;
	}
	if (v <= 0) {
		snprintf(why, why_len, "'%s' is not a revenge store: its schema version (SQLite"
			 " user_version) is %d, a revenge store's is 1 to %d", path, v,
			 RV_STORE_SCHEMA_VERSION);
		goto out;
	}
	rc = query1(d, "PRAGMA quick_check", val, sizeof(val));
	if (rc != SQLITE_OK) {
		snprintf(why, why_len, "'%s': %s", path, val);
		ret = rv_code(rc);
		goto out;
	}
	if (strcmp(val, "ok") != 0) {
		snprintf(why, why_len, "'%s': database disk image is malformed (quick_check: %s)",
			 path, first_problem(val));
		goto out;
	}
	if (check_tables(d, v, false, val, sizeof(val))) {
		snprintf(why, why_len, "'%s' is not a revenge store: %s", path, val);
		goto out;
	}
	*db = d;
	*version = v;
	d = NULL;
	ret = 0;
out:
	sqlite3_close(d);
	if (ret)
		one_line(why);
	return ret;
}

/* The contract of store.h, plus: opts may be NULL (no fsync, no create);
 * a NULL or empty path or a NULL out is RV_EINVAL; out of memory RV_ENOMEM;
 * every other failure RV_EIO. The file is checked (header, quick_check,
 * schema version, our tables' shape) before anything is written to it, so a
 * foreign or newer file is left as it was. */
int rv_store_open(const char *path, const struct rv_store_options *opts,
		  struct rv_store **out, char *err, size_t errlen)
{
	static const struct rv_store_options defaults;
	struct rv_store *st = NULL;
	char val[256], why[512], *fixed = NULL;
	const char *name = path;
	int rc, flags, version, ret = RV_EIO;
	long app_id;

	if (out)
		*out = NULL;
	if (!path || !*path) {
		if (err && errlen)
			snprintf(err, errlen, "cannot open store: no path given");
		return RV_EINVAL;
	}
	if (!out) {
		open_fail(err, errlen, path, "no place for the result (out is NULL)");
		return RV_EINVAL;
	}
	if (!opts)
		opts = &defaults;
	ret = check_path(path, opts->create, err, errlen);
	if (ret)
		return ret;
	ret = RV_EIO;
	/* This SQLite takes "file:..." names as URIs even without
	 * SQLITE_OPEN_URI (SQLITE_USE_URI); a relative path that merely looks
	 * like one must name the file we checked above. */
	if (strncmp(path, "file:", 5) == 0) {
		if (asprintf(&fixed, "./%s", path) < 0) {
			fixed = NULL;
			open_fail(err, errlen, path, "out of memory");
			return RV_ENOMEM;
		}
		name = fixed;
	}
	st = calloc(1, sizeof(*st));
	if (!st) {
		open_fail(err, errlen, path, "out of memory");
		ret = RV_ENOMEM;
		goto out;
	}
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (opts->create ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(name, &st->db, flags, NULL);
	if (rc != SQLITE_OK) {
		open_fail(err, errlen, path, "%s", st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
		ret = rv_code(rc);
		goto out;
	}
	/* SQLite falls back to read-only when it cannot write the file; the
	 * store would then fail at the first commit, far from the cause. */
	if (sqlite3_db_readonly(st->db, "main") == 1) {
		open_fail(err, errlen, path, "permission denied (read-only file)");
		goto out;
	}
	sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
	/* The file may come from anywhere: its schema (triggers, views) must
	 * not call functions with side effects on our behalf. */
	sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);

	/* The first read: a file that is not SQLite fails here, with "file is
	 * not a database". */
	rc = query1(st->db, "PRAGMA user_version", val, sizeof(val));
	if (rc != SQLITE_OK) {
		open_fail(err, errlen, path, "%s", val);
		ret = rv_code(rc);
		goto out;
	}
	version = atoi(val);
	if (version < 0) {
		open_fail(err, errlen, path, "schema version %d was not written by revenge", version);
		goto out;
	}
	rc = query1(st->db, "PRAGMA application_id", val, sizeof(val));
	if (rc != SQLITE_OK) {
		open_fail(err, errlen, path, "%s", val);
		ret = rv_code(rc);
		goto out;
	}
	app_id = strtol(val, NULL, 10);
	/* quick_check reads every page (not the index/table cross-checks of
	 * integrity_check), so it costs a scan of the file: at open only. Its
	 * first row is "ok" when, and only when, nothing is wrong. */
	rc = query1(st->db, "PRAGMA quick_check", val, sizeof(val));
	if (rc != SQLITE_OK) {
		open_fail(err, errlen, path, "%s", val);
		ret = rv_code(rc);
		goto out;
	}
	if (strcmp(val, "ok") != 0) {
		open_fail(err, errlen, path, "database disk image is malformed (quick_check: %s)",
			  first_problem(val));
		goto out;
	}
	/* Another application's database is left as it is: revenge never adds
	 * its tables to a file that holds someone else's. Then a version newer
	 * than ours (now known to be revenge's) is refused, so an old binary
	 * never writes into a newer layout. */
	if (check_identity(st->db, version, app_id, why, sizeof(why))) {
		open_fail(err, errlen, path, "%s", why);
		goto out;
	}
	if (version > RV_STORE_SCHEMA_VERSION) {
		open_fail(err, errlen, path, "schema version %d is newer than this build supports"
			  " (%d); upgrade revenge", version, RV_STORE_SCHEMA_VERSION);
		goto out;
	}
	/* At version 0 a same-named table of another shape means this is not
	 * our file: refuse before changing anything. An older store is checked
	 * against its own version's shape for the same reason: a migration
	 * step copies the columns it knows and drops the rest. */
	if (version < RV_STORE_SCHEMA_VERSION &&
	    check_before_migrating(st->db, version, why, sizeof(why))) {
		open_fail(err, errlen, path, "%s", why);
		goto out;
	}
	rc = query1(st->db, "PRAGMA journal_mode = WAL", val, sizeof(val));
	if (rc != SQLITE_OK) {
		open_fail(err, errlen, path, "cannot set WAL journal mode: %s", val);
		ret = rv_code(rc);
		goto out;
	}
	if (strcasecmp(val, "wal") != 0) {
		open_fail(err, errlen, path, "cannot set WAL journal mode (the file stays in '%s' mode)",
			  val);
		goto out;
	}
	/* Always set explicitly: SQLite's compiled-in default varies by
	 * distribution (Debian's is FULL in WAL mode). */
	if (exec(st->db, opts->fsync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
		 why, sizeof(why))) {
		open_fail(err, errlen, path, "cannot set synchronous mode: %s", why);
		goto out;
	}
	if (migrate(st->db, &version, why, sizeof(why))) {
		open_fail(err, errlen, path, "migrating to schema version %d: %s",
			  RV_STORE_SCHEMA_VERSION, why);
		goto out;
	}
	if (version != RV_STORE_SCHEMA_VERSION) {
		/* another process changed it while we waited for the lock */
		if (version > RV_STORE_SCHEMA_VERSION)
			open_fail(err, errlen, path, "schema version %d is newer than this build"
				  " supports (%d); upgrade revenge", version, RV_STORE_SCHEMA_VERSION);
		else
			open_fail(err, errlen, path, "schema version %d was not written by revenge",
				  version);
		goto out;
	}
	if (check_tables(st->db, RV_STORE_SCHEMA_VERSION, false, why, sizeof(why))) {
		open_fail(err, errlen, path, "%s", why);
		goto out;
	}
	/* Ours beyond doubt now: a new store gets the id in its first
	 * migration step; one made before the id existed gets it here, so the
	 * next open (and file(1)) knows it by its header alone. */
	if (app_id != RV_STORE_APPLICATION_ID &&
	    exec(st->db, "PRAGMA application_id = " APP_ID_SQL, why, sizeof(why))) {
		open_fail(err, errlen, path, "cannot set the application_id: %s", why);
		goto out;
	}
	st->version = version;
	for (int i = 0; i < S__COUNT; i++) {
		rc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&st->stmt[i], NULL);
		if (rc != SQLITE_OK) {
			open_fail(err, errlen, path, "preparing statements: %s",
				  sqlite3_errmsg(st->db));
			ret = rv_code(rc);
			goto out;
		}
	}
	ret = 0;
out:
	free(fixed);
	if (ret) {
		rv_store_close(st);
		return ret;
	}
	*out = st;
	return 0;
}

/* NULL-safe. An open transaction is rolled back (SQLite does it at close).
 * As the last connection to the file, the close checkpoints the WAL into the
 * database and removes the -wal file. */
void rv_store_close(struct rv_store *st)
{
	if (!st)
		return;
	for (int i = 0; i < S__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	/* Every statement is finalized, so sqlite3_close cannot be BUSY. */
	sqlite3_close(st->db);
	free(st);
}

int rv_store_schema_version(struct rv_store *st)
{
	return st ? st->version : RV_EINVAL;
}

/* Step s, a lookup by owner and session id (bound as its first and second
 * parameters): 0 with s on the session's row, RV_ENOENT, or a failure noted
 * as what. The caller reads the row, then resets s and clears its bindings. */
static int find_row(struct rv_store *st, sqlite3_stmt *s, const char *owner,
		    const char *session_id, const char *what)
{
	int rc = sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, session_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return RV_ENOENT;
	note_sqlite(st, what);
	return rv_code(rc);
}

/* Step s to its end, then reset it and clear its bindings so no read lock,
 * no pending error and no pointer into the caller's memory outlive the call.
 * The failure text is taken before the reset. */
static int run(struct rv_store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s), ret = 0;

	if (rc != SQLITE_DONE) {
		note_sqlite(st, what);
		ret = rv_code(rc);
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* 0 or RV_EIO (a transaction already open, the lock held by another
 * connection past the busy timeout, ...). */
int rv_store_begin(struct rv_store *st)
{
	if (!st)
		return RV_EINVAL;
	return run(st, st->stmt[S_BEGIN], "begin");
}

/* 0 or RV_EIO. After a failed commit call rv_store_rollback: depending on
 * the error SQLite may or may not have rolled back already. */
int rv_store_commit(struct rv_store *st)
{
	if (!st)
		return RV_EINVAL;
	return run(st, st->stmt[S_COMMIT], "commit");
}

/* Discard the open transaction; a no-op when none is open. It keeps the
 * error that led to it in rv_store_last_error, since that is what the caller
 * logs next; a failing rollback adds its own text after it. */
void rv_store_rollback(struct rv_store *st)
{
	char prev[sizeof(st->err)], mine[sizeof(st->err)];

	if (!st || sqlite3_get_autocommit(st->db))
		return;
	memcpy(prev, st->err, sizeof(prev));
	if (run(st, st->stmt[S_ROLLBACK], "rollback") == 0) {
		memcpy(st->err, prev, sizeof(prev));
	} else if (prev[0]) {
		memcpy(mine, st->err, sizeof(mine));
		snprintf(st->err, sizeof(st->err), "%.120s; %.120s", prev, mine);
	}
}

/* 1..RV_ID_MAX bytes, terminated within the array: what the protocol allows. */
static bool id_ok(const char *id, size_t size)
{
	size_t n = strnlen(id, size);

	return n > 0 && n < size && n <= RV_ID_MAX;
}

/* 0..RV_STORE_OWNER_MAX bytes of valid UTF-8, terminated within the array.
 * The owner is a token's sub: UTF-8 is what JSON carries, and a byte that
 * is not would make one owner print like another in logs and tools. */
static bool owner_ok(const char *owner, size_t size)
{
	size_t n = strnlen(owner, size);

	return n < size && n <= RV_STORE_OWNER_MAX && rv_utf8_valid(owner, n);
}

#define OWNER_RULE "owner must be at most 128 bytes of UTF-8"
_Static_assert(RV_STORE_OWNER_MAX == 128, "OWNER_RULE states the limit");

/* The key of a call by owner (NULL: "") and session id: 0 with *owner
 * set, or RV_EINVAL with "<what>: <the rule broken>" noted. */
static int check_key(struct rv_store *st, const char **owner, const char *session_id,
		     const char *what)
{
	if (!*owner)
		*owner = "";
	if (!owner_ok(*owner, RV_STORE_OWNER_MAX + 1))
		snprintf(st->err, sizeof(st->err), "%s: " OWNER_RULE, what);
	else if (!session_id || !id_ok(session_id, RV_ID_MAX + 1))
		snprintf(st->err, sizeof(st->err), "%s: session id must be 1-64 bytes", what);
	else
		return 0;
	return RV_EINVAL;
}

/* The contract of store.h; RV_EINVAL (with rv_store_last_error saying why)
 * for a bad owner, an empty or unterminated id or a non-finite number, which
 * SQLite would otherwise store as NULL or reject with a less helpful
 * message. Outside a transaction the put commits on its own. */
int rv_store_put_progress(struct rv_store *st, const struct rv_progress_rec *r)
{
	sqlite3_stmt *s;
	int rc;

	if (!st)
		return RV_EINVAL;
	if (!r)
		return note_invalid(st, "put progress: no record");
	if (!owner_ok(r->owner, sizeof(r->owner)))
		return note_invalid(st, "put progress: " OWNER_RULE);
	if (!id_ok(r->session_id, sizeof(r->session_id)) || !id_ok(r->media_id, sizeof(r->media_id)))
		return note_invalid(st, "put progress: session and media ids must be 1-64 bytes");
	if (!isfinite(r->position) || !isfinite(r->server_time) ||
	    (r->has_duration && !isfinite(r->duration)))
		return note_invalid(st, "put progress: position, duration and server_time must be finite");
	s = st->stmt[S_PUT_PROGRESS];
	rc = sqlite3_bind_text(s, 1, r->owner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, r->session_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 3, r->media_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_double(s, 4, r->position);
	if (rc == SQLITE_OK)
		rc = r->has_duration ? sqlite3_bind_double(s, 5, r->duration) : sqlite3_bind_null(s, 5);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int(s, 6, r->playing ? 1 : 0);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_double(s, 7, r->server_time);
	if (rc != SQLITE_OK) {
		note_sqlite(st, "put progress");
		sqlite3_clear_bindings(s);
		return rv_code(rc);
	}
	return run(st, s, "put progress");
}

/* The contract of store.h. out->owner and out->session_id are set to the
 * arguments. RV_EINVAL for a bad owner or a NULL, empty or over-long id (none
 * can have been stored); RV_EIO also when the row does not fit the record (a
 * media_id longer than RV_ID_MAX, written by something other than revenge). */
int rv_store_get_progress(struct rv_store *st, const char *owner, const char *session_id,
			  struct rv_progress_rec *out)
{
	sqlite3_stmt *s;
	const unsigned char *media;
	int ret;

	if (!st)
		return RV_EINVAL;
	if (!out)
		return note_invalid(st, "get progress: no record to fill");
	if ((ret = check_key(st, &owner, session_id, "get progress")))
		return ret;
	s = st->stmt[S_GET_PROGRESS];
	if ((ret = find_row(st, s, owner, session_id, "get progress")) == 0) {
		ret = RV_EIO;
		media = sqlite3_column_text(s, 0);
		if (!media || (size_t)sqlite3_column_bytes(s, 0) > RV_ID_MAX) {
			snprintf(st->err, sizeof(st->err), "get progress: session '%s' has %s",
				 session_id, media ? "a media id over 64 bytes" : "no media id");
			goto out;
		}
		memset(out, 0, sizeof(*out));
		snprintf(out->owner, sizeof(out->owner), "%s", owner);
		snprintf(out->session_id, sizeof(out->session_id), "%s", session_id);
		snprintf(out->media_id, sizeof(out->media_id), "%s", (const char *)media);
		out->position = sqlite3_column_double(s, 1);
		out->has_duration = sqlite3_column_type(s, 2) != SQLITE_NULL;
		out->duration = out->has_duration ? sqlite3_column_double(s, 2) : 0.0;
		out->playing = sqlite3_column_int(s, 3) != 0;
		out->server_time = sqlite3_column_double(s, 4);
		ret = 0;
	}
out:
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* The contract of store.h; RV_EINVAL for a bad owner or session id or a
 * NULL profile. Outside a transaction the put commits on its own. */
int rv_store_put_quality(struct rv_store *st, const char *owner, const char *session_id,
			 const char *profile)
{
	sqlite3_stmt *s;
	int rc;

	if (!st)
		return RV_EINVAL;
	if ((rc = check_key(st, &owner, session_id, "put quality")))
		return rc;
	if (!profile)
		return note_invalid(st, "put quality: no profile");
	s = st->stmt[S_PUT_QUALITY];
	rc = sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, session_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 3, profile, -1, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		note_sqlite(st, "put quality");
		sqlite3_clear_bindings(s);
		return rv_code(rc);
	}
	return run(st, s, "put quality");
}

/* The contract of store.h, plus: RV_EINVAL for a bad owner or session id,
 * a NULL profile or len 0; RV_ERANGE when the profile does not fit in len
 * bytes (profile is then set to ""), since a cut profile would read as
 * another. */
int rv_store_get_quality(struct rv_store *st, const char *owner, const char *session_id,
			 char *profile, size_t len)
{
	sqlite3_stmt *s;
	const unsigned char *t;
	size_t n;
	int ret;

	if (!st)
		return RV_EINVAL;
	if (!profile || len == 0)
		return note_invalid(st, "get quality: no room for the profile");
	profile[0] = '\0';
	if ((ret = check_key(st, &owner, session_id, "get quality")))
		return ret;
	s = st->stmt[S_GET_QUALITY];
	if ((ret = find_row(st, s, owner, session_id, "get quality")) == 0) {
		ret = RV_EIO;
		t = sqlite3_column_text(s, 0);
		n = (size_t)sqlite3_column_bytes(s, 0);
		if (!t) {
			snprintf(st->err, sizeof(st->err), "get quality: session '%s' has no profile",
				 session_id);
		} else if (n >= len) {
			snprintf(st->err, sizeof(st->err), "get quality: profile of %zu bytes does not"
				 " fit in %zu", n, len);
			ret = RV_ERANGE;
		} else {
			memcpy(profile, t, n + 1);
			ret = 0;
		}
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

void rv_store_set_busy_timeout(struct rv_store *st, int ms)
{
	if (st)
		sqlite3_busy_timeout(st->db, ms > 0 ? ms : 0);
}

/* The contract of store.h: 1, 0, or RV_EINVAL/RV_EIO. */
int rv_store_has_progress(struct rv_store *st, const char *owner, const char *session_id)
{
	sqlite3_stmt *s;
	int ret;

	if (!st)
		return RV_EINVAL;
	if ((ret = check_key(st, &owner, session_id, "has progress")))
		return ret;
	s = st->stmt[S_HAS_PROGRESS];
	ret = find_row(st, s, owner, session_id, "has progress");
	ret = ret == 0 ? 1 : ret == RV_ENOENT ? 0 : ret;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return ret;
}

/* Run a DELETE (already bound) and add the rows it removed to *removed. */
static int run_delete(struct rv_store *st, sqlite3_stmt *s, const char *what, uint64_t *removed)
{
	int ret = run(st, s, what);

	if (ret == 0)
		*removed += (uint64_t)sqlite3_changes(st->db);
	return ret;
}

/* The contract of store.h. */
int rv_store_expire(struct rv_store *st, double before_ms, uint64_t *removed)
{
	uint64_t n = 0;
	int ret;

	if (!st)
		return RV_EINVAL;
	if (!isfinite(before_ms))
		return note_invalid(st, "expire: the cut-off must be finite");
	sqlite3_bind_double(st->stmt[S_EXPIRE_PROGRESS], 1, before_ms);
	ret = run_delete(st, st->stmt[S_EXPIRE_PROGRESS], "expire progress", &n);
	if (ret == 0) {
		sqlite3_bind_double(st->stmt[S_EXPIRE_QUALITY], 1, before_ms);
		ret = run_delete(st, st->stmt[S_EXPIRE_QUALITY], "expire quality", &n);
	}
	if (removed)
		*removed = n;
	return ret;
}

/* Keep at most max rows of owner in the table that count and trim work
 * on: count, then delete the oldest over the cap. */
static int trim_table(struct rv_store *st, sqlite3_stmt *count, sqlite3_stmt *trim,
		      const char *owner, unsigned max, uint64_t *removed)
{
	sqlite3_int64 n;
	int rc = sqlite3_bind_text(count, 1, owner, -1, SQLITE_STATIC);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(count);
	if (rc != SQLITE_ROW) {
		note_sqlite(st, "trim: count");
		sqlite3_reset(count);
		sqlite3_clear_bindings(count);
		return rv_code(rc);
	}
	n = sqlite3_column_int64(count, 0);
	sqlite3_reset(count);
	sqlite3_clear_bindings(count);
	if (n <= (sqlite3_int64)max)
		return 0;
	rc = sqlite3_bind_text(trim, 1, owner, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_int64(trim, 2, n - (sqlite3_int64)max);
	if (rc != SQLITE_OK) {
		note_sqlite(st, "trim");
		sqlite3_clear_bindings(trim);
		return rv_code(rc);
	}
	return run_delete(st, trim, "trim", removed);
}

/* The contract of store.h. */
int rv_store_trim_owner(struct rv_store *st, const char *owner, unsigned max, uint64_t *removed)
{
	uint64_t n = 0;
	int ret;

	if (!st)
		return RV_EINVAL;
	if (!owner)
		owner = "";
	if (!owner_ok(owner, RV_STORE_OWNER_MAX + 1))
		return note_invalid(st, "trim: " OWNER_RULE);
	ret = trim_table(st, st->stmt[S_COUNT_PROGRESS], st->stmt[S_TRIM_PROGRESS], owner, max, &n);
	if (ret == 0)
		ret = trim_table(st, st->stmt[S_COUNT_QUALITY], st->stmt[S_TRIM_QUALITY], owner, max,
				 &n);
	if (removed)
		*removed = n;
	return ret;
}

/* Never NULL: the last failure of a call on st ("no error" before any), or
 * a fixed text for a NULL st. Valid until the next call on st. */
const char *rv_store_last_error(struct rv_store *st)
{
	if (!st)
		return "no store";
	return st->err[0] ? st->err : "no error";
}

/* Parties (--party-retention): one JSON document per party id. */
int rv_store_put_party(struct rv_store *st, const char *party_id, const char *doc,
		       double seen_ms)
{
	sqlite3_stmt *s;
	int rc;

	if (!st)
		return RV_EINVAL;
	if (!party_id || !*party_id || strlen(party_id) > RV_ID_MAX || !doc ||
	    !isfinite(seen_ms))
		return note_invalid(st, "put party: bad id, document or time");
	s = st->stmt[S_PUT_PARTY];
	rc = sqlite3_bind_text(s, 1, party_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(s, 2, doc, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_double(s, 3, seen_ms);
	if (rc != SQLITE_OK) {
		note_sqlite(st, "put party");
		sqlite3_clear_bindings(s);
		return rv_code(rc);
	}
	return run(st, s, "put party");
}

int rv_store_delete_party(struct rv_store *st, const char *party_id)
{
	sqlite3_stmt *s;

	if (!st)
		return RV_EINVAL;
	if (!party_id)
		return note_invalid(st, "delete party: no id");
	s = st->stmt[S_DEL_PARTY];
	if (sqlite3_bind_text(s, 1, party_id, -1, SQLITE_STATIC) != SQLITE_OK) {
		note_sqlite(st, "delete party");
		sqlite3_clear_bindings(s);
		return RV_EIO;
	}
	return run(st, s, "delete party");
}

int rv_store_load_parties(struct rv_store *st, rv_store_party_cb *cb, void *arg)
{
	sqlite3_stmt *s;
	int rc;

	if (!st || !cb)
		return RV_EINVAL;
	s = st->stmt[S_LOAD_PARTIES];
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(s, 0);
		const char *doc = (const char *)sqlite3_column_text(s, 1);

		if (id && doc)
			cb(arg, id, doc, sqlite3_column_double(s, 2));
	}
	if (rc != SQLITE_DONE)
		note_sqlite(st, "load parties");
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : rv_code(rc);
}
