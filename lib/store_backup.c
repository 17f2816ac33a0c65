/* lib/store_backup.c - rv_store_backup (revenge/store_backup.h): a SQLite
 * store copied page by page with SQLite's online backup API into a new
 * file, checked before it takes its final name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include <revenge/error.h>
#include <revenge/store.h>
#include <revenge/store_backup.h>

#include "store_sqlite.h"

#define BUSY_RETRIES 200              /* x 50 ms: 10 s of a locked store */

/* The first column of the first row of sql as a count, or -1. */
static int64_t count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	int64_t n = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int text1(sqlite3 *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	out[0] = '\0';
	if (rc != SQLITE_OK)
		return rc;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(out, len, "%s", (const char *)sqlite3_column_text(st, 0) ?
			 (const char *)sqlite3_column_text(st, 0) : "");
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* fsync path (a file, or the directory that holds a rename). */
static int sync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* Copy src's main database into dst, one read transaction. */
static int copy_pages(sqlite3 *src, sqlite3 *dst, char *why, size_t why_len)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc, tries = 0;

	if (!b) {
		snprintf(why, why_len, "cannot start the backup: %s", sqlite3_errmsg(dst));
		return RV_EIO;
	}
	/* -1: every page in one step, so one snapshot; a writer holding the
	 * lock at that moment (not in WAL mode) makes it busy: retry */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		if (++tries > BUSY_RETRIES)
			break;
		sqlite3_sleep(50);
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		snprintf(why, why_len, "copying: %s", sqlite3_errstr(rc));
		return RV_EIO;
	}
	return 0;
}

int rv_store_backup(const char *src, const char *dst, struct rv_store_backup_result *res,
		    char *why, size_t why_len)
{
	sqlite3 *in = NULL, *out = NULL;
	char *tmp = NULL, val[256], *slash, *dir = NULL;
	struct stat sb;
	int err = RV_EIO, version;
	int64_t n;

	memset(res, 0, sizeof(*res));
	if (!src || !*src || !dst || !*dst) {
		snprintf(why, why_len, "no %s path given", !src || !*src ? "store" : "backup");
		return RV_EINVAL;
	}
	if (!lstat(dst, &sb)) {
		snprintf(why, why_len, "'%s' exists: give a new file (a backup never overwrites)", dst);
		return RV_ESTATE;
	}
	if ((err = rv__store_sqlite_open_source(src, &in, &version, why, why_len)))
		return err;
	err = RV_EIO;
	if (asprintf(&tmp, "%s.tmp", dst) < 0) {
		tmp = NULL;
		snprintf(why, why_len, "out of memory");
		err = RV_ENOMEM;
		goto out;
	}
	unlink(tmp);                  /* a failed backup's leftover */
	if (sqlite3_open_v2(tmp, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(why, why_len, "'%s': %s", dst, out ? sqlite3_errmsg(out) : "out of memory");
		goto out;
	}
	if ((err = copy_pages(in, out, why, why_len)))
		goto out;
	err = RV_EIO;
	/* one self-contained file: no -wal or -shm beside it until a server
	 * opens it (and sets WAL again) */
	if (text1(out, "PRAGMA journal_mode = DELETE", val, sizeof(val)) != SQLITE_OK ||
	    text1(out, "PRAGMA quick_check", val, sizeof(val)) != SQLITE_OK || strcmp(val, "ok")) {
		snprintf(why, why_len, "the copy '%s' does not check: %s", tmp,
			 val[0] ? val : sqlite3_errmsg(out));
		goto out;
	}
	res->version = version;
	n = count(out, "SELECT count(*) FROM progress");
	res->progress_rows = n > 0 ? (uint64_t)n : 0;
	n = count(out, "SELECT count(*) FROM quality");
	res->quality_rows = n > 0 ? (uint64_t)n : 0;
	if (sqlite3_close(out) != SQLITE_OK) {
		snprintf(why, why_len, "'%s': %s", tmp, sqlite3_errmsg(out));
		goto out;
	}
	out = NULL;
	if (sync_path(tmp, O_RDONLY) || stat(tmp, &sb)) {
		snprintf(why, why_len, "'%s': %s", tmp, strerror(errno));
		goto out;
	}
	res->bytes = (uint64_t)sb.st_size;
	if (link(tmp, dst)) {         /* never over a file made meanwhile */
		snprintf(why, why_len, "'%s': %s", dst, strerror(errno));
		if (errno == EEXIST)
			err = RV_ESTATE;
		goto out;
	}
	unlink(tmp);
	if ((dir = strdup(dst)) && (slash = strrchr(dir, '/'))) {
		slash[slash == dir] = '\0';
		sync_path(dir, O_RDONLY | O_DIRECTORY);
	} else {
		sync_path(".", O_RDONLY | O_DIRECTORY);
	}
	err = 0;
out:
	if (out)
		sqlite3_close(out);
	if (err && tmp)
		unlink(tmp);
	free(tmp);
	free(dir);
	sqlite3_close(in);
	return err;
}
