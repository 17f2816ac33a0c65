/* tests/unit/test_store.c - the SQLite store (lib/store_sqlite.c) on real files.
 *
 * Each test gets a fresh directory under /tmp (removed afterwards) and works
 * on real SQLite files there. What the store wrote is checked through a second,
 * plain sqlite3 connection wherever the API cannot show it (schema version,
 * journal mode, NULL columns). Crashes are real: a forked child commits and
 * is killed with SIGKILL, so nothing of it runs after the commit.
 * Tests that need an unprivileged user run in a child too, which drops to
 * nobody when the tests run as root. Older schema versions are real files
 * too, written with the SQL those versions shipped.
 */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "revenge/error.h"
#include "revenge/store.h"

/* How many times anything in this process asked the kernel to sync a file.
 * SQLite calls fdatasync (or fsync) through the dynamic linker, so these
 * definitions take its calls: that is how the fsync option is checked by
 * what it does rather than by what it sets. */
static unsigned long n_syncs;

int fdatasync(int fd)
{
	n_syncs++;
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	n_syncs++;
	return (int)syscall(SYS_fsync, fd);
}

struct fx {
	char dir[64];
	char path[128];               /* dir/revenge.db, not created */
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/rv-store-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/revenge.db", f->dir);
	*state = f;
	return 0;
}

static int remove_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static int teardown(void **state)
{
	struct fx *f = *state;
	int rc;

	chmod(f->dir, 0700);      /* a test may have made it unwritable */
	rc = nftw(f->dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);

	free(f);
	return rc;
}

/* ---- helpers ---- */

static struct rv_store *open_ok(const char *path, bool create, bool fsync_on)
{
	struct rv_store_options o = { .fsync = fsync_on, .create = create };
	struct rv_store *st = NULL;
	char err[512] = "";
	int rc = rv_store_open(path, &o, &st, err, sizeof(err));

	if (rc != 0)
		fail_msg("rv_store_open(%s) = %d: %s", path, rc, err);
	assert_non_null(st);
	return st;
}

/* Open expecting failure; returns the code, err holds the message. */
static int open_fails(const char *path, bool create, char *err, size_t len)
{
	struct rv_store_options o = { .create = create };
	struct rv_store *st = (struct rv_store *)&o;    /* must be reset to NULL */
	int rc;

	err[0] = '\0';
	rc = rv_store_open(path, &o, &st, err, len);
	assert_null(st);
	assert_int_not_equal(rc, 0);
	return rc;
}

/* err must read exactly "cannot open store '<path>': <reason>". */
static void assert_open_err(const char *err, const char *path, const char *reason)
{
	char want[512];

	snprintf(want, sizeof(want), "cannot open store '%s': %s", path, reason);
	assert_string_equal(err, want);
}

/* err must start "cannot open store '<path>': <reason>". */
static void assert_open_err_starts(const char *err, const char *path, const char *reason)
{
	char want[512];

	snprintf(want, sizeof(want), "cannot open store '%s': %s", path, reason);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
	assert_null(strchr(err, '\n'));
}

static struct rv_progress_rec rec(const char *sid, const char *mid, double pos, bool has_dur,
				  double dur, bool playing, double t)
{
	struct rv_progress_rec r;

	memset(&r, 0, sizeof(r));
	snprintf(r.session_id, sizeof(r.session_id), "%s", sid);
	snprintf(r.media_id, sizeof(r.media_id), "%s", mid);
	r.position = pos;
	r.has_duration = has_dur;
	r.duration = dur;
	r.playing = playing;
	r.server_time = t;
	return r;
}

/* r, owned by owner. */
static struct rv_progress_rec owned(const char *owner, struct rv_progress_rec r)
{
	snprintf(r.owner, sizeof(r.owner), "%s", owner);
	return r;
}

static void assert_rec_equal(const struct rv_progress_rec *a, const struct rv_progress_rec *b)
{
	assert_string_equal(a->owner, b->owner);
	assert_string_equal(a->session_id, b->session_id);
	assert_string_equal(a->media_id, b->media_id);
	assert_true(a->position == b->position);
	assert_int_equal(a->has_duration, b->has_duration);
	if (a->has_duration)
		assert_true(a->duration == b->duration);
	assert_int_equal(a->playing, b->playing);
	assert_true(a->server_time == b->server_time);
}

static void put_ok(struct rv_store *st, const struct rv_progress_rec *r)
{
	int rc = rv_store_put_progress(st, r);

	if (rc != 0)
		fail_msg("put %s = %d: %s", r->session_id, rc, rv_store_last_error(st));
}

static void expect_get(struct rv_store *st, const struct rv_progress_rec *want)
{
	struct rv_progress_rec got;
	int rc = rv_store_get_progress(st, want->owner, want->session_id, &got);

	if (rc != 0)
		fail_msg("get %s = %d: %s", want->session_id, rc, rv_store_last_error(st));
	assert_rec_equal(&got, want);
}

/* A plain second connection, as a person with the sqlite3 shell would use. */
static sqlite3 *raw_open(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);

	if (rc != SQLITE_OK)
		fail_msg("sqlite3_open_v2(%s): %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	sqlite3_busy_timeout(db, 2000);
	return db;
}

static void raw_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		char copy[256];

		snprintf(copy, sizeof(copy), "%s", msg ? msg : "?");
		sqlite3_free(msg);
		fail_msg("%s: %s", sql, copy);
	}
}

/* The first column of the first row of sql, as text ("" for no row). */
static void raw_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *s = NULL;

	buf[0] = '\0';
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
}

static long raw_long(sqlite3 *db, const char *sql)
{
	char buf[64];

	raw_text(db, sql, buf, sizeof(buf));
	return strtol(buf, NULL, 10);
}

/* Schema version and journal mode of path, read by a fresh connection. */
static void assert_file_state(const char *path, long version, const char *mode)
{
	sqlite3 *db = raw_open(path);
	char buf[32];

	assert_int_equal(raw_long(db, "PRAGMA user_version"), version);
	raw_text(db, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, mode);
	sqlite3_close(db);
}

static bool exists(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* A store of n sessions s-00000.. with made-up values, closed again. */
static void fill(const char *path, int n)
{
	struct rv_store *st = open_ok(path, true, false);
	char id[32];

	assert_int_equal(rv_store_begin(st), 0);
	for (int i = 0; i < n; i++) {
		struct rv_progress_rec r;

		snprintf(id, sizeof(id), "s-%05d", i);
		r = rec(id, "media-with-a-longish-name", i * 1.5, i % 3 != 0, 3600.0 + i, i % 2,
			1.7e12 + i);
		put_ok(st, &r);
	}
	assert_int_equal(rv_store_commit(st), 0);
	rv_store_close(st);
}

/* What a child process reports back before it is killed. */
struct child_report {
	int rc[4];
	char text[256];
};

/* Run fn in a forked child that sends a report down a pipe and waits; then
 * kill it with SIGKILL from here, as kill -9 would: no atexit, no close, no
 * flush, and nothing valgrind or ASan could hook (their leak reports would
 * only be about the heap the child inherited). */
static void in_child(void (*fn)(void *arg, struct child_report *rep), void *arg,
		     struct child_report *rep)
{
	int fds[2], status;
	pid_t pid;
	ssize_t got = 0, n;

	memset(rep, 0, sizeof(*rep));
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct child_report r;

		close(fds[0]);
		memset(&r, 0, sizeof(r));
		fn(arg, &r);
		if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(3);
		for (;;)
			pause();
	}
	close(fds[1]);
	while (got < (ssize_t)sizeof(*rep) &&
	       (n = read(fds[0], (char *)rep + got, sizeof(*rep) - (size_t)got)) > 0)
		got += n;
	close(fds[0]);
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(got, (ssize_t)sizeof(*rep));
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

/* ---- opening a good file ---- */

static void open_creates_and_migrates(void **state)
{
	struct fx *f = *state;
	struct rv_store *st;
	char wal[160], buf[256];
	sqlite3 *db;

	assert_false(exists(f->path));
	st = open_ok(f->path, true, false);
	assert_int_equal(rv_store_schema_version(st), RV_STORE_SCHEMA_VERSION);
	assert_int_equal(RV_STORE_SCHEMA_VERSION, 3);
	assert_string_equal(rv_store_last_error(st), "no error");

	/* seen from another connection while the store is open */
	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "PRAGMA user_version"), 3);
	assert_int_equal(raw_long(db, "PRAGMA application_id"), RV_STORE_APPLICATION_ID);
	raw_text(db, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	raw_text(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
		 " WHERE type = 'table' ORDER BY name)", buf, sizeof(buf));
	assert_string_equal(buf, "party,progress,quality");
	raw_text(db, "SELECT sql FROM sqlite_master WHERE name = 'progress'", buf, sizeof(buf));
	assert_non_null(strstr(buf, "WITHOUT ROWID"));
	raw_text(db, "SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, ',')"
		 " FROM pragma_table_info('progress')", buf, sizeof(buf));
	assert_string_equal(buf, "owner TEXT 1 1,session_id TEXT 1 2,media_id TEXT 1 0,"
			    "position REAL 1 0,duration REAL 0 0,playing INTEGER 1 0,"
			    "server_time REAL 1 0");
	raw_text(db, "SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, ',')"
		 " FROM pragma_table_info('quality')", buf, sizeof(buf));
	assert_string_equal(buf, "owner TEXT 1 1,session_id TEXT 1 2,profile TEXT 1 0,"
			    "updated_at REAL 0 0");
	sqlite3_close(db);

	/* a clean close (as the last connection) checkpoints and drops the log */
	rv_store_close(st);
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_false(exists(wal));
	assert_file_state(f->path, 3, "wal");

	/* and opening again migrates nothing */
	st = open_ok(f->path, false, false);
	assert_int_equal(rv_store_schema_version(st), 3);
	rv_store_close(st);
}

static void put_then_get(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = rec("sess-a", "big-buck-bunny", 12.345678901, true, 596.5, true,
				       1712345678901.25);
	struct rv_progress_rec b = rec("sess_B-2", "sintel", 0.0, true, 888.0, false, 1.0);
	struct rv_progress_rec got;

	put_ok(st, &a);
	put_ok(st, &b);
	expect_get(st, &a);
	expect_get(st, &b);
	/* out carries the session id it was asked for */
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(rv_store_get_progress(st, "", "sess-a", &got), 0);
	assert_string_equal(got.session_id, "sess-a");
	rv_store_close(st);
}

struct loaded { char ids[256]; int n; };

static void on_party(void *arg, const char *id, const char *doc, double seen)
{
	struct loaded *l = arg;
	size_t used = strlen(l->ids);

	snprintf(l->ids + used, sizeof(l->ids) - used, "%s%s=%s@%.0f", l->n++ ? "," : "", id, doc,
		 seen);
}

/* --party-retention's rows: put replaces, delete forgets, load gives
 * every party least recently seen first. */
static void parties_put_delete_load(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct loaded l = { "", 0 };

	assert_int_equal(rv_store_put_party(st, "movie", "{\"v\":1}", 2000), 0);
	assert_int_equal(rv_store_put_party(st, "old", "{}", 1000), 0);
	assert_int_equal(rv_store_put_party(st, "movie", "{\"v\":2}", 3000), 0);
	assert_int_equal(rv_store_put_party(st, "gone", "{}", 500), 0);
	assert_int_equal(rv_store_delete_party(st, "gone"), 0);
	assert_int_equal(rv_store_delete_party(st, "never-there"), 0);
	assert_int_equal(rv_store_load_parties(st, on_party, &l), 0);
	assert_string_equal(l.ids, "old={}@1000,movie={\"v\":2}@3000");
	/* bad arguments are refused, nothing written */
	assert_int_equal(rv_store_put_party(st, "", "{}", 1), RV_EINVAL);
	assert_int_equal(rv_store_put_party(st, "x", NULL, 1), RV_EINVAL);
	assert_int_equal(rv_store_put_party(st, "x", "{}", NAN), RV_EINVAL);
	rv_store_close(st);
}

static void put_overwrites(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = rec("s1", "m1", 10.0, true, 100.0, true, 1000.0);
	struct rv_progress_rec a2 = rec("s1", "m2", 20.5, false, 0.0, false, 2000.0);
	sqlite3 *db;

	put_ok(st, &a);
	put_ok(st, &a2);
	expect_get(st, &a2);
	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "SELECT count(*) FROM progress"), 1);
	sqlite3_close(db);
	rv_store_close(st);
}

static void duration_null_round_trip(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	/* a duration that is not there, even a nonsense one, is not stored */
	struct rv_progress_rec live = rec("live", "stream", 42.0, false, NAN, true, 5.0);
	struct rv_progress_rec vod = rec("vod", "film", 42.0, true, 0.0, true, 5.0);
	struct rv_progress_rec got;
	char buf[32];
	sqlite3 *db;

	put_ok(st, &live);
	put_ok(st, &vod);
	memset(&got, 0, sizeof(got));
	got.has_duration = true;
	got.duration = 7.0;
	assert_int_equal(rv_store_get_progress(st, "", "live", &got), 0);
	assert_false(got.has_duration);
	assert_true(got.duration == 0.0);
	/* a duration of zero is a duration, not NULL */
	assert_int_equal(rv_store_get_progress(st, "", "vod", &got), 0);
	assert_true(got.has_duration);
	assert_true(got.duration == 0.0);

	db = raw_open(f->path);
	raw_text(db, "SELECT typeof(duration) FROM progress WHERE session_id = 'live'", buf, sizeof(buf));
	assert_string_equal(buf, "null");
	raw_text(db, "SELECT typeof(duration) FROM progress WHERE session_id = 'vod'", buf, sizeof(buf));
	assert_string_equal(buf, "real");
	raw_text(db, "SELECT typeof(playing) || ' ' || playing FROM progress WHERE session_id = 'vod'",
		 buf, sizeof(buf));
	assert_string_equal(buf, "integer 1");
	sqlite3_close(db);
	rv_store_close(st);
}

static void get_missing_is_enoent(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec got;
	struct rv_progress_rec a = rec("here", "m", 1.0, false, 0.0, false, 1.0);
	char profile[32] = "untouched";

	assert_int_equal(rv_store_get_progress(st, "", "nobody", &got), RV_ENOENT);
	assert_int_equal(rv_store_get_quality(st, "", "nobody", profile, sizeof(profile)), RV_ENOENT);
	assert_string_equal(profile, "");
	put_ok(st, &a);
	/* a progress row is not a quality row */
	assert_int_equal(rv_store_get_quality(st, "", "here", profile, sizeof(profile)), RV_ENOENT);
	assert_string_equal(rv_store_last_error(st), "no error");
	rv_store_close(st);
}

static void quality_put_get_overwrite(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	char profile[16], small[4] = "xyz";
	sqlite3 *db;
	double now_ms = (double)time(NULL) * 1000.0;
	long stamped;

	assert_int_equal(rv_store_put_quality(st, "", "s1", "720p"), 0);
	assert_int_equal(rv_store_put_quality(st, "", "s2", ""), 0);
	assert_int_equal(rv_store_get_quality(st, "", "s1", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "720p");
	assert_int_equal(rv_store_get_quality(st, "", "s2", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "");
	assert_int_equal(rv_store_put_quality(st, "", "s1", "data-saver"), 0);
	assert_int_equal(rv_store_get_quality(st, "", "s1", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "data-saver");

	/* too small a buffer: refused whole, never cut */
	assert_int_equal(rv_store_get_quality(st, "", "s1", small, sizeof(small)), RV_ERANGE);
	assert_string_equal(small, "");
	assert_string_equal(rv_store_last_error(st),
			    "get quality: profile of 10 bytes does not fit in 4");
	/* exactly fits with its NUL */
	assert_int_equal(rv_store_get_quality(st, "", "s1", profile, 11), 0);
	assert_string_equal(profile, "data-saver");

	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "SELECT count(*) FROM quality"), 2);
	/* updated_at: unix milliseconds of the write */
	stamped = raw_long(db, "SELECT CAST(updated_at AS INTEGER) FROM quality WHERE session_id = 's1'");
	assert_true(fabs((double)stamped - now_ms) < 60000.0);
	sqlite3_close(db);
	rv_store_close(st);
}

static void batch_of_1000_then_reopen(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	char id[32], profile[32], want[32];

	assert_int_equal(rv_store_begin(st), 0);
	for (int i = 0; i < 1000; i++) {
		struct rv_progress_rec r;

		snprintf(id, sizeof(id), "sess-%04d", i);
		r = rec(id, i % 2 ? "odd" : "even", i * 0.25, i % 5 != 0, i * 10.0, i % 3 == 0,
			1e12 + i);
		put_ok(st, &r);
		if (i % 10 == 0) {
			snprintf(want, sizeof(want), "q%d", i);
			assert_int_equal(rv_store_put_quality(st, "", id, want), 0);
		}
	}
	assert_int_equal(rv_store_commit(st), 0);
	rv_store_close(st);

	st = open_ok(f->path, false, false);
	for (int i = 0; i < 1000; i++) {
		struct rv_progress_rec r;

		snprintf(id, sizeof(id), "sess-%04d", i);
		r = rec(id, i % 2 ? "odd" : "even", i * 0.25, i % 5 != 0, i * 10.0, i % 3 == 0,
			1e12 + i);
		expect_get(st, &r);
		if (i % 10 == 0) {
			snprintf(want, sizeof(want), "q%d", i);
			assert_int_equal(rv_store_get_quality(st, "", id, profile, sizeof(profile)), 0);
			assert_string_equal(profile, want);
		} else {
			assert_int_equal(rv_store_get_quality(st, "", id, profile, sizeof(profile)),
					 RV_ENOENT);
		}
	}
	rv_store_close(st);
}

static void rollback_discards(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = rec("a", "m", 1.0, true, 2.0, true, 3.0);
	struct rv_progress_rec a2 = rec("a", "other", 9.0, false, 0.0, false, 9.0);
	struct rv_progress_rec b = rec("b", "m", 1.0, true, 2.0, true, 3.0);
	struct rv_progress_rec got;
	char profile[16];

	put_ok(st, &a);                      /* outside a transaction: commits alone */
	assert_int_equal(rv_store_put_quality(st, "", "a", "auto"), 0);
	assert_int_equal(rv_store_begin(st), 0);
	put_ok(st, &a2);
	put_ok(st, &b);
	assert_int_equal(rv_store_put_quality(st, "", "a", "1080p"), 0);
	expect_get(st, &b);                  /* the transaction sees its own writes */
	rv_store_rollback(st);
	expect_get(st, &a);
	assert_int_equal(rv_store_get_progress(st, "", "b", &got), RV_ENOENT);
	assert_int_equal(rv_store_get_quality(st, "", "a", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "auto");
	/* a rollback with nothing open is a no-op */
	rv_store_rollback(st);
	assert_string_equal(rv_store_last_error(st), "no error");
	/* and the store still takes transactions */
	assert_int_equal(rv_store_begin(st), 0);
	put_ok(st, &b);
	assert_int_equal(rv_store_commit(st), 0);
	rv_store_close(st);

	st = open_ok(f->path, false, false);
	expect_get(st, &a);
	expect_get(st, &b);
	rv_store_close(st);
}

/* A commit that runs out of room (here: a file-size limit, as a full disk
 * would do; SIGXFSZ ignored, as the server does, so the write fails with
 * EFBIG instead of killing us) is rolled back whole: nothing of the batch
 * is left, what was there before is, and once there is room again the
 * same store takes the next batch. The limit is restored before any
 * assertion, so a failure cannot leave it on the later tests. */
static void failed_commit_leaves_nothing(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec keep = rec("keep", "m", 1.0, true, 2.0, true, 3.0);
	struct rv_progress_rec after = rec("after", "m", 4.0, false, 0.0, false, 5.0);
	struct rv_progress_rec got;
	struct rlimit old, lim;
	struct sigaction ign = { .sa_handler = SIG_IGN }, prev;
	struct stat db, wal;
	char wal_path[160], id[32], why[256];
	int put_rc = 0, commit_rc, begin_rc, n_put = 0;
	sqlite3 *raw;

	put_ok(st, &keep);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", f->path);
	assert_int_equal(stat(f->path, &db), 0);
	assert_int_equal(stat(wal_path, &wal), 0);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &ign, &prev), 0);
	/* room for one more page in the log, not for a batch of 2000 */
	lim = old;
	lim.rlim_cur = (rlim_t)(db.st_size > wal.st_size ? db.st_size : wal.st_size) + 4096;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

	begin_rc = rv_store_begin(st);
	for (int i = 0; i < 2000 && put_rc == 0; i++, n_put++) {
		struct rv_progress_rec r;

		snprintf(id, sizeof(id), "batch-%04d", i);
		r = rec(id, "media-with-a-longish-name-to-fill-pages", i, true, 7200.0, true, i);
		put_rc = rv_store_put_progress(st, &r);
	}
	commit_rc = put_rc ? put_rc : rv_store_commit(st);
	rv_store_rollback(st);
	snprintf(why, sizeof(why), "%s", rv_store_last_error(st));

	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(sigaction(SIGXFSZ, &prev, NULL), 0);

	assert_int_equal(begin_rc, 0);
	if (commit_rc == 0)
		fail_msg("a batch of %d reports committed past the file-size limit", n_put);
	assert_int_equal(commit_rc, RV_EIO);
	/* EFBIG reads "disk I/O error"; ENOSPC would be "database or disk is full" */
	assert_string_not_equal(why, "no error");
	/* nothing of the batch, from this connection or a fresh one */
	assert_int_equal(rv_store_get_progress(st, "", "batch-0000", &got), RV_ENOENT);
	expect_get(st, &keep);
	raw = raw_open(f->path);
	assert_int_equal(raw_long(raw, "SELECT count(*) FROM progress"), 1);
	sqlite3_close(raw);
	/* room again: the same store takes the next batch */
	assert_int_equal(rv_store_begin(st), 0);
	put_ok(st, &after);
	assert_int_equal(rv_store_commit(st), 0);
	rv_store_close(st);
	st = open_ok(f->path, false, false);
	expect_get(st, &keep);
	expect_get(st, &after);
	assert_int_equal(rv_store_get_progress(st, "", "batch-0001", &got), RV_ENOENT);
	rv_store_close(st);
}

static void close_discards_an_open_transaction(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = rec("a", "m", 1.0, true, 2.0, true, 3.0);
	struct rv_progress_rec got;

	assert_int_equal(rv_store_begin(st), 0);
	put_ok(st, &a);
	rv_store_close(st);
	st = open_ok(f->path, false, false);
	assert_int_equal(rv_store_get_progress(st, "", "a", &got), RV_ENOENT);
	rv_store_close(st);
}

static void reopen_keeps_data(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, true);
	struct rv_progress_rec a = rec("keep", "m", 77.25, true, 120.0, false, 42.0);
	char profile[16];

	put_ok(st, &a);
	assert_int_equal(rv_store_put_quality(st, "", "keep", "480p"), 0);
	rv_store_close(st);
	for (int i = 0; i < 3; i++) {
		st = open_ok(f->path, false, i % 2);
		expect_get(st, &a);
		assert_int_equal(rv_store_get_quality(st, "", "keep", profile, sizeof(profile)), 0);
		assert_string_equal(profile, "480p");
		rv_store_close(st);
	}
}

struct crash_arg {
	const char *path;
	int n;
};

/* Child: one committed batch, then an uncommitted one, then SIGKILL. */
static void crash_child(void *arg, struct child_report *rep)
{
	struct crash_arg *a = arg;
	struct rv_store_options o = { .create = true };
	struct rv_store *st = NULL;
	char id[32];

	rep->rc[0] = rv_store_open(a->path, &o, &st, rep->text, sizeof(rep->text));
	if (rep->rc[0])
		return;
	rep->rc[1] = rv_store_begin(st);
	for (int i = 0; !rep->rc[1] && i < a->n; i++) {
		struct rv_progress_rec r;

		snprintf(id, sizeof(id), "c-%d", i);
		r = rec(id, "crash", i, true, a->n, true, i * 2.0);
		rep->rc[1] = rv_store_put_progress(st, &r);
	}
	if (!rep->rc[1])
		rep->rc[1] = rv_store_commit(st);
	/* acknowledged above; what follows was never committed */
	rep->rc[2] = rv_store_begin(st);
	if (!rep->rc[2]) {
		struct rv_progress_rec r = rec("c-0", "overwritten", 999.0, false, 0.0, false, 0.0);
		struct rv_progress_rec u = rec("uncommitted", "x", 1.0, false, 0.0, false, 0.0);

		rep->rc[2] = rv_store_put_progress(st, &r);
		if (!rep->rc[2])
			rep->rc[2] = rv_store_put_progress(st, &u);
	}
	if (rep->rc[1] || rep->rc[2])
		snprintf(rep->text, sizeof(rep->text), "%s", rv_store_last_error(st));
}

static void crash_after_commit_keeps_data(void **state)
{
	struct fx *f = *state;
	struct crash_arg arg = { f->path, 500 };
	struct child_report rep;
	struct rv_store *st;
	struct rv_progress_rec got;
	char wal[160], id[32];
	struct stat sb;

	in_child(crash_child, &arg, &rep);
	if (rep.rc[0] || rep.rc[1] || rep.rc[2])
		fail_msg("child: open %d, batch %d, second batch %d: %s", rep.rc[0], rep.rc[1],
			 rep.rc[2], rep.text);
	/* the commit lives only in the log: nobody checkpointed it */
	snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &sb), 0);
	assert_true(sb.st_size > 0);

	st = open_ok(f->path, false, false);
	for (int i = 0; i < arg.n; i++) {
		struct rv_progress_rec r;

		snprintf(id, sizeof(id), "c-%d", i);
		r = rec(id, "crash", i, true, arg.n, true, i * 2.0);
		expect_get(st, &r);
	}
	assert_int_equal(rv_store_get_progress(st, "", "uncommitted", &got), RV_ENOENT);
	rv_store_close(st);
	assert_false(exists(wal));
}

/* The effect of fsync, observed: in WAL mode synchronous=NORMAL writes a
 * commit to the log without syncing it (the sync waits for a checkpoint),
 * while FULL syncs the log at every commit. The counter counts the
 * fdatasync/fsync calls SQLite makes through the definitions above. */
static unsigned long syncs_per_commit(const char *path, bool fsync_on)
{
	struct rv_store *st = open_ok(path, true, fsync_on);
	unsigned long before;
	char id[32];

	before = n_syncs;
	for (int c = 0; c < 5; c++) {
		assert_int_equal(rv_store_begin(st), 0);
		for (int i = 0; i < 10; i++) {
			struct rv_progress_rec r;

			snprintf(id, sizeof(id), "f-%d-%d", c, i);
			r = rec(id, "m", i, false, 0.0, true, i);
			put_ok(st, &r);
		}
		assert_int_equal(rv_store_commit(st), 0);
	}
	before = n_syncs - before;
	rv_store_close(st);
	return before;
}

static void fsync_option_syncs_every_commit(void **state)
{
	struct fx *f = *state;
	unsigned long normal, full, before = n_syncs;
	char path[160];

	/* two files: rewriting a row with the very same bytes changes no page,
	 * so a second run over the first file would commit nothing to sync */
	snprintf(path, sizeof(path), "%s/normal.db", f->dir);
	normal = syncs_per_commit(path, false);
	snprintf(path, sizeof(path), "%s/full.db", f->dir);
	full = syncs_per_commit(path, true);
	/* the counter does see SQLite's syncs: at least the checkpoints at close */
	assert_true(n_syncs - before > full);
	assert_int_equal(normal, 0);
	assert_true(full >= 5);
}

/* ---- owners ---- */

static void owners_keep_sessions_apart(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = owned("alice", rec("s", "film-a", 1.0, true, 100.0, true, 10.0));
	struct rv_progress_rec b = owned("bob", rec("s", "film-b", 2.0, false, 0.0, false, 20.0));
	struct rv_progress_rec o = rec("s", "film-open", 3.0, true, 300.0, false, 30.0);
	struct rv_progress_rec a2 = owned("alice", rec("s", "film-a2", 4.0, true, 400.0, true, 40.0));
	struct rv_progress_rec got;
	char profile[16], buf[256];
	sqlite3 *db;

	put_ok(st, &a);
	put_ok(st, &b);
	put_ok(st, &o);
	expect_get(st, &a);
	expect_get(st, &b);
	expect_get(st, &o);
	/* an owner nobody used, and owners compare byte for byte */
	assert_int_equal(rv_store_get_progress(st, "carol", "s", &got), RV_ENOENT);
	assert_int_equal(rv_store_get_progress(st, "Alice", "s", &got), RV_ENOENT);
	/* a put replaces its owner's row only */
	put_ok(st, &a2);
	expect_get(st, &a2);
	expect_get(st, &b);
	expect_get(st, &o);

	assert_int_equal(rv_store_put_quality(st, "alice", "s", "720p"), 0);
	assert_int_equal(rv_store_put_quality(st, "bob", "s", "480p"), 0);
	assert_int_equal(rv_store_get_quality(st, "alice", "s", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "720p");
	assert_int_equal(rv_store_get_quality(st, "bob", "s", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "480p");
	assert_int_equal(rv_store_get_quality(st, "", "s", profile, sizeof(profile)), RV_ENOENT);
	assert_int_equal(rv_store_get_quality(st, "carol", "s", profile, sizeof(profile)),
			 RV_ENOENT);
	assert_int_equal(rv_store_put_quality(st, "bob", "s", "1080p"), 0);
	assert_int_equal(rv_store_get_quality(st, "alice", "s", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "720p");
	assert_int_equal(rv_store_get_quality(st, "bob", "s", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "1080p");
	rv_store_close(st);

	/* one row per owner, and it stays so across a reopen */
	db = raw_open(f->path);
	raw_text(db, "SELECT group_concat(owner || '=' || media_id, ',') FROM"
		 " (SELECT owner, media_id FROM progress ORDER BY owner)", buf, sizeof(buf));
	assert_string_equal(buf, "=film-open,alice=film-a2,bob=film-b");
	raw_text(db, "SELECT group_concat(owner || '=' || profile, ',') FROM"
		 " (SELECT owner, profile FROM quality ORDER BY owner)", buf, sizeof(buf));
	assert_string_equal(buf, "alice=720p,bob=1080p");
	sqlite3_close(db);
	st = open_ok(f->path, false, false);
	expect_get(st, &a2);
	expect_get(st, &b);
	expect_get(st, &o);
	rv_store_close(st);
}

static void empty_owner_is_the_open_server(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec r = rec("s", "m", 5.0, true, 50.0, true, 500.0);
	struct rv_progress_rec got;
	char profile[16], buf[64];
	sqlite3 *db;

	/* NULL and "" are the same owner, in either direction */
	put_ok(st, &r);
	memset(&got, 0x5a, sizeof(got));
	assert_int_equal(rv_store_get_progress(st, NULL, "s", &got), 0);
	assert_rec_equal(&got, &r);
	assert_string_equal(got.owner, "");
	assert_int_equal(rv_store_put_quality(st, NULL, "s", "auto"), 0);
	assert_int_equal(rv_store_get_quality(st, "", "s", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "auto");
	assert_int_equal(rv_store_put_quality(st, "", "s", "1080p"), 0);
	assert_int_equal(rv_store_get_quality(st, NULL, "s", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "1080p");
	/* and nobody else's */
	assert_int_equal(rv_store_get_progress(st, "anyone", "s", &got), RV_ENOENT);
	rv_store_close(st);

	/* stored as the empty text, not NULL: the column is NOT NULL */
	db = raw_open(f->path);
	raw_text(db, "SELECT group_concat(typeof(owner) || ':' || owner || ':' || session_id)"
		 " FROM progress", buf, sizeof(buf));
	assert_string_equal(buf, "text::s");
	raw_text(db, "SELECT group_concat(typeof(owner) || ':' || owner || ':' || profile)"
		 " FROM quality", buf, sizeof(buf));
	assert_string_equal(buf, "text::1080p");
	sqlite3_close(db);
}

static void owner_round_trips_into_the_record(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	char longest[RV_STORE_OWNER_MAX + 1], profile[16];
	const char *owners[] = {
		"user-42", "auth0|5f1c0ffee", "J\xc3\xbcrgen \xce\xb4 \xf0\x9f\x91\x8d",
		"o'brien\"; DROP TABLE progress; --", longest,
	};

	/* the longest owner, of two-byte characters: 64 x U+00E9 = 128 bytes */
	for (int i = 0; i < RV_STORE_OWNER_MAX; i += 2) {
		longest[i] = (char)0xc3;
		longest[i + 1] = (char)0xa9;
	}
	longest[RV_STORE_OWNER_MAX] = '\0';
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		struct rv_progress_rec r = owned(owners[i], rec("sess", "m", (double)i, false, 0.0,
								 true, 1.0));
		struct rv_progress_rec got;

		put_ok(st, &r);
		memset(&got, 0x5a, sizeof(got));
		assert_int_equal(rv_store_get_progress(st, owners[i], "sess", &got), 0);
		assert_string_equal(got.owner, owners[i]);
		assert_string_equal(got.session_id, "sess");
		assert_rec_equal(&got, &r);
		assert_int_equal(rv_store_put_quality(st, owners[i], "sess", owners[i] == longest ?
						      "max" : "q"), 0);
		assert_int_equal(rv_store_get_quality(st, owners[i], "sess", profile,
						      sizeof(profile)), 0);
		assert_string_equal(profile, owners[i] == longest ? "max" : "q");
	}
	/* every owner got its own row, and the tables are still there */
	for (size_t i = 0; i < sizeof(owners) / sizeof(owners[0]); i++) {
		struct rv_progress_rec got;

		assert_int_equal(rv_store_get_progress(st, owners[i], "sess", &got), 0);
		assert_true(got.position == (double)i);
	}
	rv_store_close(st);
}

static void bad_owners_are_refused(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec r, got;
	char too_long[RV_STORE_OWNER_MAX + 2], profile[8];
	const char *bad[] = {
		too_long,
		"\xff",                         /* never UTF-8 */
		"ab\xc3",                       /* a sequence cut short */
		"\xc0\xaf",                     /* overlong "/" */
		"\xed\xa0\x80",                 /* a surrogate */
		"ok\x80",                       /* a stray continuation byte */
	};
	sqlite3 *db;

	memset(too_long, 'o', RV_STORE_OWNER_MAX + 1);
	too_long[RV_STORE_OWNER_MAX + 1] = '\0';
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = rec("s", "m", 1.0, false, 0.0, false, 1.0);
		if (bad[i] != too_long) {       /* one byte over cannot be in the record */
			snprintf(r.owner, sizeof(r.owner), "%s", bad[i]);
			assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
			assert_string_equal(rv_store_last_error(st),
					    "put progress: owner must be at most 128 bytes of UTF-8");
		}
		assert_int_equal(rv_store_get_progress(st, bad[i], "s", &got), RV_EINVAL);
		assert_string_equal(rv_store_last_error(st),
				    "get progress: owner must be at most 128 bytes of UTF-8");
		assert_int_equal(rv_store_put_quality(st, bad[i], "s", "p"), RV_EINVAL);
		assert_string_equal(rv_store_last_error(st),
				    "put quality: owner must be at most 128 bytes of UTF-8");
		snprintf(profile, sizeof(profile), "junk");
		assert_int_equal(rv_store_get_quality(st, bad[i], "s", profile, sizeof(profile)),
				 RV_EINVAL);
		assert_string_equal(rv_store_last_error(st),
				    "get quality: owner must be at most 128 bytes of UTF-8");
		assert_string_equal(profile, "");
	}
	/* an owner that fills the record with no NUL */
	r = rec("s", "m", 1.0, false, 0.0, false, 1.0);
	memset(r.owner, 'o', sizeof(r.owner));
	assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
	rv_store_close(st);

	/* none of it reached the file */
	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "SELECT count(*) FROM progress"), 0);
	assert_int_equal(raw_long(db, "SELECT count(*) FROM quality"), 0);
	sqlite3_close(db);
}

/* ---- older and newer files ---- */

/* The schema version 1 shipped: migrations[0] of lib/store_sqlite.c, as it
 * is in every v1 file in the field. */
#define V1_SCHEMA_SQL \
	"CREATE TABLE IF NOT EXISTS progress(" \
	" session_id TEXT PRIMARY KEY," \
	" media_id TEXT NOT NULL," \
	" position REAL NOT NULL," \
	" duration REAL," \
	" playing INTEGER NOT NULL," \
	" server_time REAL NOT NULL" \
	") WITHOUT ROWID;" \
	"CREATE TABLE IF NOT EXISTS quality(" \
	" session_id TEXT PRIMARY KEY," \
	" profile TEXT NOT NULL," \
	" updated_at REAL" \
	") WITHOUT ROWID;"

/* A v1 store as a v1 build leaves it (WAL, user_version 1), with a few rows
 * and then whatever extra sets up. */
static void make_v1(const char *path, const char *extra)
{
	sqlite3 *db = raw_open(path);
	char mode[16];

	raw_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	raw_exec(db, "BEGIN;" V1_SCHEMA_SQL
		 "INSERT INTO progress VALUES"
		 " ('sess-a', 'big-buck-bunny', 12.345678901, 596.5, 1, 1712345678901.25),"
		 " ('live-1', 'stream', 42.0, NULL, 0, 5.0),"
		 " ('sess_B-2', 'sintel', 0.0, 888.0, 0, 1.0);"
		 "INSERT INTO quality VALUES"
		 " ('sess-a', '720p', 1712345678000.5),"
		 " ('other', 'data-saver', NULL);"
		 "PRAGMA user_version = 1;"
		 "COMMIT;");
	if (extra)
		raw_exec(db, extra);
	sqlite3_close(db);
	assert_file_state(path, 1, "wal");
}

/* The rows make_v1 wrote, as the store must return them under owner "". */
static void expect_v1_rows(struct rv_store *st)
{
	struct rv_progress_rec a = rec("sess-a", "big-buck-bunny", 12.345678901, true, 596.5, true,
				       1712345678901.25);
	struct rv_progress_rec live = rec("live-1", "stream", 42.0, false, 0.0, false, 5.0);
	struct rv_progress_rec b = rec("sess_B-2", "sintel", 0.0, true, 888.0, false, 1.0);
	struct rv_progress_rec got;
	char profile[16];

	expect_get(st, &a);
	expect_get(st, &live);
	expect_get(st, &b);
	assert_int_equal(rv_store_get_progress(st, NULL, "sess-a", &got), 0);
	assert_rec_equal(&got, &a);
	assert_int_equal(rv_store_get_quality(st, "", "sess-a", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "720p");
	assert_int_equal(rv_store_get_quality(st, "", "other", profile, sizeof(profile)), 0);
	assert_string_equal(profile, "data-saver");
	/* nothing of it belongs to anyone else */
	assert_int_equal(rv_store_get_progress(st, "carol", "sess-a", &got), RV_ENOENT);
	assert_int_equal(rv_store_get_quality(st, "carol", "sess-a", profile, sizeof(profile)),
			 RV_ENOENT);
}

static void v1_file_migrates_under_the_open_owner(void **state)
{
	struct fx *f = *state;
	struct rv_store *st;
	struct rv_progress_rec mine = owned("alice", rec("sess-a", "mine", 1.0, false, 0.0, true,
							 2.0));
	char buf[256];
	sqlite3 *db;

	make_v1(f->path, NULL);
	st = open_ok(f->path, false, false);
	assert_int_equal(rv_store_schema_version(st), 3);
	expect_v1_rows(st);
	/* the same session id under an owner is a new session beside it */
	put_ok(st, &mine);
	expect_get(st, &mine);
	expect_v1_rows(st);
	rv_store_close(st);

	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "PRAGMA user_version"), 3);
	/* a v1 build set no application_id; the migration sets ours */
	assert_int_equal(raw_long(db, "PRAGMA application_id"), RV_STORE_APPLICATION_ID);
	raw_text(db, "SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, ',')"
		 " FROM pragma_table_info('progress')", buf, sizeof(buf));
	assert_string_equal(buf, "owner TEXT 1 1,session_id TEXT 1 2,media_id TEXT 1 0,"
			    "position REAL 1 0,duration REAL 0 0,playing INTEGER 1 0,"
			    "server_time REAL 1 0");
	raw_text(db, "SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, ',')"
		 " FROM pragma_table_info('quality')", buf, sizeof(buf));
	assert_string_equal(buf, "owner TEXT 1 1,session_id TEXT 1 2,profile TEXT 1 0,"
			    "updated_at REAL 0 0");
	/* nothing left of the rebuild but the two tables, still WITHOUT ROWID */
	raw_text(db, "SELECT group_concat(type || ' ' || name, ',') FROM"
		 " (SELECT type, name FROM sqlite_master ORDER BY name)", buf, sizeof(buf));
	assert_string_equal(buf, "table party,table progress,table quality");
	raw_text(db, "SELECT sql FROM sqlite_master WHERE name = 'progress'", buf, sizeof(buf));
	assert_non_null(strstr(buf, "WITHOUT ROWID"));
	raw_text(db, "SELECT sql FROM sqlite_master WHERE name = 'quality'", buf, sizeof(buf));
	assert_non_null(strstr(buf, "WITHOUT ROWID"));
	/* the copied values, exactly: owner "", updated_at kept (not restamped) */
	raw_text(db, "SELECT group_concat(quote(owner) || ' ' || session_id || ' ' ||"
		 " quote(duration) || ' ' || typeof(playing), ',') FROM"
		 " (SELECT * FROM progress WHERE owner = '' ORDER BY session_id)", buf, sizeof(buf));
	assert_string_equal(buf, "'' live-1 NULL integer,'' sess-a 596.5 integer,"
			    "'' sess_B-2 888.0 integer");
	raw_text(db, "SELECT group_concat(quote(owner) || ' ' || session_id || ' ' ||"
		 " quote(updated_at), ',') FROM (SELECT * FROM quality ORDER BY session_id)",
		 buf, sizeof(buf));
	assert_string_equal(buf, "'' other NULL,'' sess-a 1712345678000.5");
	assert_int_equal(raw_long(db, "SELECT count(*) FROM progress"), 4);
	sqlite3_close(db);

	/* migrated once: a reopen finds version 2 and the same rows */
	st = open_ok(f->path, false, false);
	assert_int_equal(rv_store_schema_version(st), 3);
	expect_v1_rows(st);
	expect_get(st, &mine);
	rv_store_close(st);
	assert_file_state(f->path, 3, "wal");
}

static void v1_views_and_foreign_tables_survive(void **state)
{
	struct fx *f = *state;
	struct rv_store *st;
	struct rv_progress_rec mine = owned("alice", rec("zz", "mine", 1.0, false, 0.0, true, 2.0));
	char buf[256];
	sqlite3 *db;

	/* someone's view on our table, and a table of their own */
	make_v1(f->path, "CREATE VIEW watching AS SELECT session_id, media_id FROM progress;"
		"CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
		"INSERT INTO notes(body) VALUES ('keep me');");
	st = open_ok(f->path, false, false);
	expect_v1_rows(st);
	put_ok(st, &mine);
	rv_store_close(st);

	/* the view reads the new table by its name */
	db = raw_open(f->path);
	raw_text(db, "SELECT group_concat(session_id || '=' || media_id, ',') FROM"
		 " (SELECT * FROM watching ORDER BY session_id)", buf, sizeof(buf));
	assert_string_equal(buf, "live-1=stream,sess-a=big-buck-bunny,sess_B-2=sintel,zz=mine");
	raw_text(db, "SELECT body FROM notes", buf, sizeof(buf));
	assert_string_equal(buf, "keep me");
	sqlite3_close(db);
	assert_file_state(f->path, 3, "wal");
}

static void failed_migration_leaves_the_v1_file(void **state)
{
	struct fx *f = *state;
	struct rv_store *st;
	char err[512], buf[256];
	sqlite3 *db;

	/* a table in the way of the rebuild's second half: progress has been
	 * rebuilt by the time the step fails, and must come back as it was */
	make_v1(f->path, "CREATE TABLE quality_v2(x);");
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path,
			"migrating to schema version 3: table quality_v2 already exists");

	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "PRAGMA user_version"), 1);
	raw_text(db, "SELECT group_concat(name || ' ' || type || ' ' || \"notnull\" || ' ' || pk, ',')"
		 " FROM pragma_table_info('progress')", buf, sizeof(buf));
	assert_string_equal(buf, "session_id TEXT 1 1,media_id TEXT 1 0,position REAL 1 0,"
			    "duration REAL 0 0,playing INTEGER 1 0,server_time REAL 1 0");
	raw_text(db, "SELECT group_concat(name, ',') FROM"
		 " (SELECT name FROM sqlite_master ORDER BY name)", buf, sizeof(buf));
	assert_string_equal(buf, "progress,quality,quality_v2");
	assert_int_equal(raw_long(db, "SELECT count(*) FROM progress"), 3);
	assert_int_equal(raw_long(db, "SELECT count(*) FROM quality"), 2);
	/* out of the way, the same file migrates with all its rows */
	raw_exec(db, "DROP TABLE quality_v2;");
	sqlite3_close(db);
	st = open_ok(f->path, false, false);
	expect_v1_rows(st);
	rv_store_close(st);
}

static void v1_file_of_another_shape_is_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = raw_open(f->path);
	char err[512], buf[64];

	/* our v1 columns plus one: the rebuild would drop it, so no rebuild */
	raw_exec(db, "CREATE TABLE progress(session_id TEXT PRIMARY KEY, media_id TEXT NOT NULL,"
		 " position REAL NOT NULL, duration REAL, playing INTEGER NOT NULL,"
		 " server_time REAL NOT NULL, note TEXT) WITHOUT ROWID;"
		 "CREATE TABLE quality(session_id TEXT PRIMARY KEY, profile TEXT NOT NULL,"
		 " updated_at REAL) WITHOUT ROWID;"
		 "INSERT INTO progress VALUES ('s', 'm', 1.0, NULL, 0, 1.0, 'mine');"
		 "PRAGMA user_version = 1;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "table 'progress' has an unexpected column 'note'"
			" (not a revenge store?)");
	/* refused before anything was written: not even the journal mode */
	assert_file_state(f->path, 1, "delete");
	db = raw_open(f->path);
	raw_text(db, "SELECT note FROM progress", buf, sizeof(buf));
	assert_string_equal(buf, "mine");

	/* a v1 file without one of its tables */
	raw_exec(db, "DROP TABLE quality; DROP TABLE progress;" V1_SCHEMA_SQL "DROP TABLE quality;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "table 'quality' is missing");
	assert_file_state(f->path, 1, "delete");
}

static void v3_file_is_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = raw_open(f->path);
	char err[512], buf[64];

	/* what a later build might write: our v2 tables grown a column */
	raw_exec(db, "CREATE TABLE progress(owner TEXT NOT NULL, session_id TEXT NOT NULL,"
		 " media_id TEXT NOT NULL, position REAL NOT NULL, duration REAL,"
		 " playing INTEGER NOT NULL, server_time REAL NOT NULL, rate REAL,"
		 " PRIMARY KEY (owner, session_id)) WITHOUT ROWID;"
		 "CREATE TABLE quality(owner TEXT NOT NULL, session_id TEXT NOT NULL,"
		 " profile TEXT NOT NULL, updated_at REAL,"
		 " PRIMARY KEY (owner, session_id)) WITHOUT ROWID;"
		 "INSERT INTO progress VALUES ('alice', 's', 'm', 1.0, NULL, 1, 2.0, 1.5);"
		 "PRAGMA user_version = 4;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path,
			"schema version 4 is newer than this build supports (3); upgrade revenge");
	assert_file_state(f->path, 4, "delete");
	db = raw_open(f->path);
	raw_text(db, "SELECT owner || ' ' || rate FROM progress", buf, sizeof(buf));
	assert_string_equal(buf, "alice 1.5");
	sqlite3_close(db);
}

static void v2_tables_at_version_0_are_refused(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = owned("alice", rec("s", "m", 1.0, false, 0.0, true, 2.0));
	char err[512];
	sqlite3 *db;

	put_ok(st, &a);
	assert_int_equal(rv_store_put_quality(st, "bob", "s", "720p"), 0);
	rv_store_close(st);
	/* as a restore of sqlite3's .dump leaves it: no user_version */
	db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version = 0;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "the tables have the shape of schema version 3 but the"
			" file says version 0 (a copy that lost its user_version?); if it is a"
			" revenge store, set PRAGMA user_version = 3");
	assert_file_state(f->path, 0, "wal");
	/* a version 2 store's copy (no party table) is told its own version */
	db = raw_open(f->path);
	raw_exec(db, "DROP TABLE party;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "the tables have the shape of schema version 2 but the"
			" file says version 0 (a copy that lost its user_version?); if it is a"
			" revenge store, set PRAGMA user_version = 2");

	/* doing what it says brings the owners back (and migrates to 3) */
	db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version = 2;");
	sqlite3_close(db);
	st = open_ok(f->path, false, false);
	expect_get(st, &a);
	{
		char profile[16];

		assert_int_equal(rv_store_get_quality(st, "bob", "s", profile, sizeof(profile)), 0);
		assert_string_equal(profile, "720p");
	}
	rv_store_close(st);
}

/* ---- transactions misused, bad arguments, a busy file ---- */

static void transaction_misuse_is_reported(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);

	assert_int_equal(rv_store_commit(st), RV_EIO);
	assert_string_equal(rv_store_last_error(st), "commit: cannot commit - no transaction is active");
	assert_int_equal(rv_store_begin(st), 0);
	assert_int_equal(rv_store_begin(st), RV_EIO);
	assert_string_equal(rv_store_last_error(st),
			    "begin: cannot start a transaction within a transaction");
	/* the caller rolls back, then logs the error that made it roll back */
	rv_store_rollback(st);
	assert_string_equal(rv_store_last_error(st),
			    "begin: cannot start a transaction within a transaction");
	assert_int_equal(rv_store_begin(st), 0);
	assert_int_equal(rv_store_commit(st), 0);
	rv_store_close(st);
}

static void bad_records_are_refused(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec r, got;
	char id[80], profile[8];

	r = rec("", "m", 1.0, false, 0.0, false, 1.0);
	assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
	assert_string_equal(rv_store_last_error(st),
			    "put progress: session and media ids must be 1-64 bytes");
	r = rec("s", "", 1.0, false, 0.0, false, 1.0);
	assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
	r = rec("s", "m", 1.0, false, 0.0, false, 1.0);
	memset(r.session_id, 'a', sizeof(r.session_id));        /* unterminated */
	assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
	r = rec("s", "m", NAN, false, 0.0, false, 1.0);
	assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
	assert_string_equal(rv_store_last_error(st),
			    "put progress: position, duration and server_time must be finite");
	r = rec("s", "m", 1.0, true, INFINITY, false, 1.0);
	assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
	r = rec("s", "m", 1.0, false, 0.0, false, -INFINITY);
	assert_int_equal(rv_store_put_progress(st, &r), RV_EINVAL);
	assert_int_equal(rv_store_put_progress(st, NULL), RV_EINVAL);
	assert_int_equal(rv_store_put_progress(NULL, &r), RV_EINVAL);
	/* none of it reached the file */
	assert_int_equal(rv_store_get_progress(st, "", "s", &got), RV_ENOENT);

	/* 64 bytes is the longest id; 65 cannot have been stored */
	memset(id, 'x', 64);
	id[64] = '\0';
	r = rec(id, id, 1.0, false, 0.0, false, 1.0);
	put_ok(st, &r);
	expect_get(st, &r);
	id[64] = 'x';
	id[65] = '\0';
	assert_int_equal(rv_store_get_progress(st, "", id, &got), RV_EINVAL);
	assert_int_equal(rv_store_get_progress(st, "", "", &got), RV_EINVAL);
	assert_int_equal(rv_store_get_progress(st, "", NULL, &got), RV_EINVAL);
	assert_int_equal(rv_store_get_progress(st, "", "s", NULL), RV_EINVAL);
	assert_int_equal(rv_store_put_quality(st, "", id, "p"), RV_EINVAL);
	assert_int_equal(rv_store_put_quality(st, "", "s", NULL), RV_EINVAL);
	assert_string_equal(rv_store_last_error(st), "put quality: no profile");
	assert_int_equal(rv_store_get_quality(st, "", "s", profile, 0), RV_EINVAL);
	assert_int_equal(rv_store_get_quality(st, "", "s", NULL, 8), RV_EINVAL);
	assert_int_equal(rv_store_get_quality(st, "", "", profile, sizeof(profile)), RV_EINVAL);
	rv_store_close(st);

	/* NULL-safe entry points */
	rv_store_close(NULL);
	rv_store_rollback(NULL);
	assert_int_equal(rv_store_begin(NULL), RV_EINVAL);
	assert_int_equal(rv_store_commit(NULL), RV_EINVAL);
	assert_int_equal(rv_store_schema_version(NULL), RV_EINVAL);
	assert_int_equal(rv_store_get_progress(NULL, "", "s", &got), RV_EINVAL);
	assert_int_equal(rv_store_put_quality(NULL, "", "s", "p"), RV_EINVAL);
	assert_int_equal(rv_store_get_quality(NULL, "", "s", profile, sizeof(profile)), RV_EINVAL);
	assert_non_null(rv_store_last_error(NULL));
}

static void busy_file_times_out(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = rec("a", "m", 1.0, false, 0.0, false, 1.0);
	struct timespec t0, t1;
	sqlite3 *db = raw_open(f->path);
	double waited;

	sqlite3_busy_timeout(db, 0);
	raw_exec(db, "BEGIN IMMEDIATE");            /* another writer holds the lock */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(rv_store_begin(st), RV_EIO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_string_equal(rv_store_last_error(st), "begin: database is locked");
	assert_true(waited >= 1.8);                 /* the busy timeout, 2 s */
	/* readers are not blocked by a writer in WAL mode */
	assert_int_equal(rv_store_get_progress(st, "", "a", &a), RV_ENOENT);
	raw_exec(db, "ROLLBACK");
	sqlite3_close(db);
	assert_int_equal(rv_store_begin(st), 0);
	put_ok(st, &a);
	assert_int_equal(rv_store_commit(st), 0);
	rv_store_close(st);
}

/* ---- pruning: expiry, the per-owner cap ---- */

static void expire_forgets_sessions_not_seen(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = rec("a", "m", 1.0, false, 0.0, false, 100.0);
	struct rv_progress_rec b = owned("ann", rec("b", "m", 2.0, false, 0.0, false, 200.0));
	struct rv_progress_rec c = rec("c", "m", 3.0, false, 0.0, false, 300.0);
	struct rv_progress_rec got;
	uint64_t n = 99;
	sqlite3 *db;

	put_ok(st, &a);
	put_ok(st, &b);
	put_ok(st, &c);
	assert_int_equal(rv_store_put_quality(st, "", "old", "720p"), 0);
	assert_int_equal(rv_store_put_quality(st, "", "new", "720p"), 0);
	assert_int_equal(rv_store_put_quality(st, "", "legacy", "720p"), 0);
	db = raw_open(f->path);
	raw_exec(db, "UPDATE quality SET updated_at = 150 WHERE session_id = 'old';"
		 "UPDATE quality SET updated_at = 400 WHERE session_id = 'new';"
		 "UPDATE quality SET updated_at = NULL WHERE session_id = 'legacy'");
	sqlite3_close(db);
	/* every owner's: a, b and the old profile; a NULL updated_at stays */
	assert_int_equal(rv_store_expire(st, 250.0, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(rv_store_get_progress(st, "", "a", &got), RV_ENOENT);
	assert_int_equal(rv_store_get_progress(st, "ann", "b", &got), RV_ENOENT);
	expect_get(st, &c);
	assert_int_equal(rv_store_get_quality(st, "", "old", (char[16]){ 0 }, 16), RV_ENOENT);
	assert_int_equal(rv_store_get_quality(st, "", "new", (char[16]){ 0 }, 16), 0);
	assert_int_equal(rv_store_get_quality(st, "", "legacy", (char[16]){ 0 }, 16), 0);
	/* nothing more to do; removed may be NULL */
	assert_int_equal(rv_store_expire(st, 250.0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rv_store_expire(st, 250.0, NULL), 0);
	/* inside a transaction it rolls back with it */
	assert_int_equal(rv_store_begin(st), 0);
	assert_int_equal(rv_store_expire(st, 1e300, &n), 0);
	assert_int_equal(n, 2);         /* c and new; legacy has no time */
	rv_store_rollback(st);
	expect_get(st, &c);
	/* hostile cut-offs */
	assert_int_equal(rv_store_expire(st, NAN, &n), RV_EINVAL);
	assert_string_equal(rv_store_last_error(st), "expire: the cut-off must be finite");
	assert_int_equal(rv_store_expire(st, INFINITY, &n), RV_EINVAL);
	assert_int_equal(rv_store_expire(st, -INFINITY, NULL), RV_EINVAL);
	assert_int_equal(rv_store_expire(NULL, 1.0, &n), RV_EINVAL);
	assert_int_equal(rv_store_expire(st, -1e300, &n), 0);
	assert_int_equal(n, 0);
	rv_store_close(st);
}

static void trim_keeps_an_owners_newest(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec got;
	char sid[16], big[RV_STORE_OWNER_MAX + 2];
	uint64_t n = 99;
	sqlite3 *db;

	for (int i = 1; i <= 5; i++) {
		struct rv_progress_rec r;

		snprintf(sid, sizeof(sid), "a%d", i);
		/* seen in the order a2 a1 a3 a4 a5: the cap follows the time */
		r = owned("alice", rec(sid, "m", 1.0, false, 0.0, false, i == 1 ? 15.0 : i * 10.0));
		put_ok(st, &r);
		assert_int_equal(rv_store_put_quality(st, "alice", sid, "720p"), 0);
	}
	for (int i = 1; i <= 2; i++) {
		struct rv_progress_rec r;

		snprintf(sid, sizeof(sid), "b%d", i);
		r = owned("bob", rec(sid, "m", 1.0, false, 0.0, false, 1.0));
		put_ok(st, &r);
	}
	db = raw_open(f->path);
	raw_exec(db, "UPDATE quality SET updated_at = CAST(substr(session_id, 2) AS REAL)");
	sqlite3_close(db);
	assert_int_equal(rv_store_has_progress(st, "alice", "a2"), 1);
	assert_int_equal(rv_store_trim_owner(st, "alice", 3, &n), 0);
	assert_int_equal(n, 4);         /* 2 progress, 2 quality */
	assert_int_equal(rv_store_has_progress(st, "alice", "a2"), 0);
	assert_int_equal(rv_store_has_progress(st, "alice", "a1"), 0);
	assert_int_equal(rv_store_has_progress(st, "alice", "a3"), 1);
	assert_int_equal(rv_store_get_quality(st, "alice", "a2", (char[16]){ 0 }, 16), RV_ENOENT);
	assert_int_equal(rv_store_get_quality(st, "alice", "a3", (char[16]){ 0 }, 16), 0);
	assert_int_equal(rv_store_get_progress(st, "bob", "b1", &got), 0);
	assert_int_equal(rv_store_get_progress(st, "bob", "b2", &got), 0);
	/* at the cap: nothing to do; an owner without rows; NULL is "" */
	assert_int_equal(rv_store_trim_owner(st, "alice", 3, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rv_store_trim_owner(st, "nobody", 0, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(rv_store_trim_owner(st, NULL, 1, NULL), 0);
	/* 0 keeps none */
	assert_int_equal(rv_store_trim_owner(st, "bob", 0, &n), 0);
	assert_int_equal(n, 2);
	/* hostile owners */
	assert_int_equal(rv_store_trim_owner(st, "\xff\xfe", 1, &n), RV_EINVAL);
	assert_string_equal(rv_store_last_error(st),
			    "trim: owner must be at most 128 bytes of UTF-8");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(rv_store_trim_owner(st, big, 1, &n), RV_EINVAL);
	assert_int_equal(rv_store_trim_owner(NULL, "alice", 1, &n), RV_EINVAL);
	rv_store_close(st);
}

static void has_progress_checks_its_key(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec r = rec("s", "m", 1.0, false, 0.0, false, 1.0);
	char longid[RV_ID_MAX + 2];

	assert_int_equal(rv_store_has_progress(st, NULL, "s"), 0);
	put_ok(st, &r);
	assert_int_equal(rv_store_has_progress(st, NULL, "s"), 1);
	assert_int_equal(rv_store_has_progress(st, "", "s"), 1);
	assert_int_equal(rv_store_has_progress(st, "other", "s"), 0);
	assert_int_equal(rv_store_has_progress(st, "", ""), RV_EINVAL);
	assert_string_equal(rv_store_last_error(st),
			    "has progress: session id must be 1-64 bytes");
	assert_int_equal(rv_store_has_progress(st, "", NULL), RV_EINVAL);
	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_int_equal(rv_store_has_progress(st, "", longid), RV_EINVAL);
	assert_int_equal(rv_store_has_progress(st, "\xc3", "s"), RV_EINVAL);
	assert_string_equal(rv_store_last_error(st),
			    "has progress: owner must be at most 128 bytes of UTF-8");
	assert_int_equal(rv_store_has_progress(NULL, "", "s"), RV_EINVAL);
	rv_store_close(st);
}

/* The server's loop connection waits at most briefly for a lock; 0 or a
 * negative time means not at all. */
static void busy_timeout_can_be_set(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	sqlite3 *db = raw_open(f->path);

	raw_exec(db, "BEGIN IMMEDIATE");
	rv_store_set_busy_timeout(st, -5);
	assert_int_equal(rv_store_begin(st), RV_EIO);
	assert_string_equal(rv_store_last_error(st), "begin: database is locked");
	rv_store_set_busy_timeout(st, 0);
	assert_int_equal(rv_store_begin(st), RV_EIO);
	rv_store_set_busy_timeout(NULL, 10);
	raw_exec(db, "ROLLBACK");
	sqlite3_close(db);
	assert_int_equal(rv_store_begin(st), 0);
	assert_int_equal(rv_store_commit(st), 0);
	rv_store_close(st);
}

/* ---- files that must be refused ---- */

static void null_and_empty_path(void **state)
{
	struct rv_store_options o = { .create = true };
	struct rv_store *st = (struct rv_store *)&o;
	char err[128];

	assert_int_equal(rv_store_open(NULL, &o, &st, err, sizeof(err)), RV_EINVAL);
	assert_null(st);
	assert_string_equal(err, "cannot open store: no path given");
	st = (struct rv_store *)&o;
	assert_int_equal(rv_store_open("", &o, &st, err, sizeof(err)), RV_EINVAL);
	assert_null(st);
	assert_string_equal(err, "cannot open store: no path given");
	assert_int_equal(rv_store_open("x.db", &o, NULL, err, sizeof(err)), RV_EINVAL);
	assert_string_equal(err, "cannot open store 'x.db': no place for the result (out is NULL)");
	/* no room for a message is fine too, and a short one is cut, not overrun */
	assert_int_equal(rv_store_open(NULL, &o, &st, NULL, 0), RV_EINVAL);
	memset(err, 'z', sizeof(err));
	assert_int_equal(rv_store_open("", &o, &st, err, 8), RV_EINVAL);
	assert_string_equal(err, "cannot ");
	assert_int_equal(err[8], 'z');
}

static void missing_directory(void **state)
{
	struct fx *f = *state;
	char path[192], err[512], file[160];

	snprintf(path, sizeof(path), "%s/no/such/dir/revenge.db", f->dir);
	assert_int_equal(open_fails(path, true, err, sizeof(err)), RV_EIO);
	assert_open_err(err, path, "directory does not exist");

	/* a file where a directory should be */
	snprintf(file, sizeof(file), "%s/plain", f->dir);
	write_file(file, "x", 1);
	snprintf(path, sizeof(path), "%s/revenge.db", file);
	assert_int_equal(open_fails(path, true, err, sizeof(err)), RV_EIO);
	assert_open_err(err, path, "a component of the path is not a directory");

	/* the path is the directory itself */
	assert_int_equal(open_fails(f->dir, true, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->dir, "is a directory");
}

static void create_false_on_missing_file(void **state)
{
	struct fx *f = *state;
	char err[512];

	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "no such file (and create is off)");
	assert_false(exists(f->path));
	/* NULL options mean create is off as well */
	{
		struct rv_store *st = NULL;

		assert_int_equal(rv_store_open(f->path, NULL, &st, err, sizeof(err)), RV_EIO);
		assert_null(st);
		assert_open_err(err, f->path, "no such file (and create is off)");
	}
}

struct ro_arg {
	const char *path;
	bool drop;          /* become nobody first (root ignores permissions) */
};

static void ro_child(void *arg, struct child_report *rep)
{
	struct ro_arg *a = arg;
	struct rv_store_options o = { .create = true };
	struct rv_store *st = NULL;

	if (a->drop && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)) {
		rep->rc[1] = 1;
		snprintf(rep->text, sizeof(rep->text), "cannot become nobody: %s", strerror(errno));
		return;
	}
	rep->rc[0] = rv_store_open(a->path, &o, &st, rep->text, sizeof(rep->text));
	rv_store_close(st);
}

/* Open path (create on) as an unprivileged user, in a child: as ourselves,
 * or, when we are root (whom file modes do not stop), as nobody. Returns
 * false, after saying so, when root cannot become nobody. */
static bool open_unprivileged(const char *path, struct child_report *rep)
{
	struct ro_arg arg = { path, geteuid() == 0 };

	in_child(ro_child, &arg, rep);
	if (rep->rc[1]) {
		print_message("skipped: running as root and %s\n", rep->text);
		return false;
	}
	return true;
}

static void read_only_file(void **state)
{
	struct fx *f = *state;
	struct child_report rep;
	struct rv_store *st;

	st = open_ok(f->path, true, false);
	rv_store_close(st);
	assert_int_equal(chmod(f->path, 0444), 0);
	/* as root: let nobody reach the file (the directory is still not
	 * theirs to write, but the file is what is checked first) */
	if (geteuid() == 0)
		assert_int_equal(chmod(f->dir, 0755), 0);
	if (!open_unprivileged(f->path, &rep))
		skip();
	assert_int_equal(rep.rc[0], RV_EIO);
	assert_open_err(rep.text, f->path, "permission denied (read-only file)");
}

static void read_only_directory(void **state)
{
	struct fx *f = *state;
	struct child_report rep;
	char msg[256];

	/* creating the file, and WAL's -wal and -shm beside it, need a
	 * writable directory */
	assert_int_equal(chmod(f->dir, 0555), 0);
	if (!open_unprivileged(f->path, &rep))
		skip();
	assert_int_equal(rep.rc[0], RV_EIO);
	snprintf(msg, sizeof(msg), "permission denied (directory '%s' is not writable,"
		 " and the store needs to create files there)", f->dir);
	assert_open_err(rep.text, f->path, msg);
	assert_false(exists(f->path));
}

static void random_bytes_file(void **state)
{
	struct fx *f = *state;
	unsigned char junk[8192];
	unsigned int x = 12345;
	char err[512];

	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	write_file(f->path, junk, sizeof(junk));
	assert_int_equal(open_fails(f->path, true, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "file is not a database");
	/* and the file is left as it was */
	{
		unsigned char back[sizeof(junk)];
		int fd = open(f->path, O_RDONLY);

		assert_true(fd >= 0);
		assert_int_equal(read(fd, back, sizeof(back)), (ssize_t)sizeof(back));
		close(fd);
		assert_memory_equal(back, junk, sizeof(junk));
	}
	/* text is not a database either */
	write_file(f->path, "progress,quality\n1,2\n", 21);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "file is not a database");
}

static off_t file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return sb.st_size;
}

static void corrupt_database(void **state)
{
	struct fx *f = *state;
	unsigned char junk[4096];
	unsigned int x = 99;
	char err[512];
	off_t size;
	int fd;

	fill(f->path, 2000);
	size = file_size(f->path);
	assert_true(size > 16 * 4096);
	for (size_t i = 0; i < sizeof(junk); i++) {
		x = x * 1103515245u + 12345u;
		junk[i] = (unsigned char)(x >> 16);
	}
	/* across a page boundary in the middle of the b-tree */
	fd = open(f->path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), size / 2 - 100), (ssize_t)sizeof(junk));
	close(fd);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err_starts(err, f->path, "database disk image is malformed (quick_check: ");
}

static void truncated_database(void **state)
{
	struct fx *f = *state;
	char err[512];

	fill(f->path, 2000);
	assert_int_equal(truncate(f->path, file_size(f->path) / 2), 0);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err_starts(err, f->path, "database disk image is malformed");
}

static void newer_schema_is_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = raw_open(f->path);
	char err[512];

	raw_exec(db, "CREATE TABLE progress(x); PRAGMA user_version = 7;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path,
			"schema version 7 is newer than this build supports (3); upgrade revenge");
	/* refused before anything was written: not even the journal mode */
	assert_file_state(f->path, 7, "delete");

	db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version = -3;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "schema version -3 was not written by revenge");
}

/* The names of path's tables and views, a comma-separated list. */
static void expect_tables(const char *path, const char *want)
{
	sqlite3 *db = raw_open(path);
	char buf[256];

	raw_text(db, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master"
		 " WHERE type IN ('table', 'view') ORDER BY name)", buf, sizeof(buf));
	assert_string_equal(buf, want);
	sqlite3_close(db);
}

static void foreign_tables_at_version_0_are_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = raw_open(f->path);
	char err[512], buf[64];

	/* another application's database: tables of its own, user_version 0 */
	raw_exec(db, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
		 "INSERT INTO notes(body) VALUES ('keep me');");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, true, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "not a revenge store: it holds another application's table"
			" ('notes') and no revenge schema version (user_version 0); refusing to"
			" add revenge tables to it");
	/* left exactly as it was: no tables of ours, no WAL, no id */
	expect_tables(f->path, "notes");
	assert_file_state(f->path, 0, "delete");
	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "PRAGMA application_id"), 0);
	raw_text(db, "SELECT body FROM notes", buf, sizeof(buf));
	assert_string_equal(buf, "keep me");

	/* several, a view among them, and one of our names beside them */
	raw_exec(db, "CREATE TABLE users(id); CREATE TABLE posts(id); CREATE VIEW recent AS"
		 " SELECT * FROM posts; CREATE INDEX users_id ON users(id);" V1_SCHEMA_SQL "ANALYZE;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "not a revenge store: it holds another application's tables"
			" ('notes', 'posts', 'recent', ...) and no revenge schema version"
			" (user_version 0); refusing to add revenge tables to it");
	assert_file_state(f->path, 0, "delete");
}

static void empty_file_becomes_a_store(void **state)
{
	struct fx *f = *state;
	struct rv_store *st;
	struct rv_progress_rec a = rec("a", "m", 1.0, false, 0.0, false, 1.0);

	/* a zero-byte file (touch), as an operator may prepare one */
	write_file(f->path, "", 0);
	st = open_ok(f->path, false, false);
	assert_int_equal(rv_store_schema_version(st), 3);
	put_ok(st, &a);
	rv_store_close(st);
	expect_tables(f->path, "party,progress,quality");
	assert_file_state(f->path, 3, "wal");
}

static void another_application_id_is_refused(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	sqlite3 *db;
	char err[512], other[160];

	rv_store_close(st);
	/* even with our tables and version: the header says whose it is */
	db = raw_open(f->path);
	raw_exec(db, "PRAGMA application_id = 1196437808;");      /* GeoPackage, "GP10" */
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "not a revenge store: its application_id is 0x47503130,"
			" another application's (revenge's is 0x52564e47); refusing to write to it");

	/* an empty database carrying another id is not ours to initialise */
	snprintf(other, sizeof(other), "%s/other.db", f->dir);
	db = raw_open(other);
	raw_exec(db, "PRAGMA application_id = -1;");
	sqlite3_close(db);
	assert_int_equal(open_fails(other, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, other, "not a revenge store: its application_id is 0xffffffff,"
			" another application's (revenge's is 0x52564e47); refusing to write to it");
	expect_tables(other, "");
	assert_file_state(other, 0, "delete");
}

static void foreign_user_version_without_our_tables_is_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = raw_open(f->path);
	char err[512];

	/* an application that versions its schema too, at one of our numbers */
	raw_exec(db, "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);"
		 "PRAGMA user_version = 2;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "not a revenge store: user_version 2 but none of revenge's"
			" tables (another application's database); refusing to write to it");
	assert_file_state(f->path, 2, "delete");

	/* and at a number we never used: not "upgrade revenge" */
	db = raw_open(f->path);
	raw_exec(db, "PRAGMA user_version = 14;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "not a revenge store: user_version 14 (not a revenge schema"
			" version) but none of revenge's tables (another application's database);"
			" refusing to write to it");
	expect_tables(f->path, "users");
	assert_file_state(f->path, 14, "delete");
}

static void store_without_application_id_opens_and_gets_it(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	struct rv_progress_rec a = owned("alice", rec("s", "m", 1.0, false, 0.0, true, 2.0));
	sqlite3 *db;

	put_ok(st, &a);
	rv_store_close(st);
	/* as a build before the id left it */
	db = raw_open(f->path);
	raw_exec(db, "PRAGMA application_id = 0;");
	sqlite3_close(db);
	st = open_ok(f->path, false, false);
	expect_get(st, &a);
	rv_store_close(st);
	db = raw_open(f->path);
	assert_int_equal(raw_long(db, "PRAGMA application_id"), RV_STORE_APPLICATION_ID);
	sqlite3_close(db);

	/* a newer store of ours (the id says so) keeps the newer-version message
	 * even when it has no table of ours we know */
	db = raw_open(f->path);
	raw_exec(db, "DROP TABLE progress; DROP TABLE quality; CREATE TABLE progress3(x);"
		 "PRAGMA user_version = 4;");
	sqlite3_close(db);
	{
		char err[512];

		assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
		assert_open_err(err, f->path, "schema version 4 is newer than this build supports"
				" (3); upgrade revenge");
	}
}

static void foreign_progress_table_is_refused(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = raw_open(f->path);
	char err[512];

	raw_exec(db, "CREATE TABLE Progress(id INTEGER PRIMARY KEY, pct REAL);");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "table 'progress' has a different shape: column 1 is"
			" 'id INTEGER PRIMARY KEY', expected 'session_id TEXT PRIMARY KEY NOT NULL'"
			" (not a revenge store?)");
	/* left untouched */
	assert_file_state(f->path, 0, "delete");

	/* our columns plus one more is not our table either */
	db = raw_open(f->path);
	raw_exec(db, "DROP TABLE Progress;"
		 "CREATE TABLE progress(session_id TEXT PRIMARY KEY, media_id TEXT NOT NULL,"
		 " position REAL NOT NULL, duration REAL, playing INTEGER NOT NULL,"
		 " server_time REAL NOT NULL, extra TEXT) WITHOUT ROWID;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "table 'progress' has an unexpected column 'extra'"
			" (not a revenge store?)");

	/* a view of that name */
	db = raw_open(f->path);
	raw_exec(db, "DROP TABLE progress; CREATE VIEW progress AS SELECT 1 AS session_id;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "'progress' is a view, not a revenge table");
}

static void tampered_store_is_refused(void **state)
{
	struct fx *f = *state;
	struct rv_store *st = open_ok(f->path, true, false);
	sqlite3 *db;
	char err[512];

	rv_store_close(st);
	db = raw_open(f->path);
	raw_exec(db, "DROP TABLE quality;");
	sqlite3_close(db);
	assert_int_equal(open_fails(f->path, false, err, sizeof(err)), RV_EIO);
	assert_open_err(err, f->path, "table 'quality' is missing");
}

static void uri_looking_path_is_a_plain_file(void **state)
{
	struct fx *f = *state;
	struct rv_store *st;
	char odd[192];
	int cwd = open(".", O_RDONLY | O_DIRECTORY);

	assert_true(cwd >= 0);
	assert_int_equal(chdir(f->dir), 0);
	/* as a URI this would be an in-memory database */
	st = open_ok("file:odd.db?mode=memory", true, false);
	rv_store_close(st);
	assert_int_equal(fchdir(cwd), 0);
	close(cwd);
	snprintf(odd, sizeof(odd), "%s/file:odd.db?mode=memory", f->dir);
	assert_true(exists(odd));
	assert_file_state(odd, 3, "wal");
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(open_creates_and_migrates),
		T(put_then_get),
	T(parties_put_delete_load),
		T(put_overwrites),
		T(duration_null_round_trip),
		T(get_missing_is_enoent),
		T(quality_put_get_overwrite),
		T(owners_keep_sessions_apart),
		T(empty_owner_is_the_open_server),
		T(owner_round_trips_into_the_record),
		T(bad_owners_are_refused),
		T(v1_file_migrates_under_the_open_owner),
		T(v1_views_and_foreign_tables_survive),
		T(failed_migration_leaves_the_v1_file),
		T(v1_file_of_another_shape_is_refused),
		T(v3_file_is_refused),
		T(v2_tables_at_version_0_are_refused),
		T(batch_of_1000_then_reopen),
		T(rollback_discards),
		T(failed_commit_leaves_nothing),
		T(close_discards_an_open_transaction),
		T(reopen_keeps_data),
		T(crash_after_commit_keeps_data),
		T(fsync_option_syncs_every_commit),
		T(transaction_misuse_is_reported),
		T(bad_records_are_refused),
		T(busy_file_times_out),
		T(expire_forgets_sessions_not_seen),
		T(trim_keeps_an_owners_newest),
		T(has_progress_checks_its_key),
		T(busy_timeout_can_be_set),
		T(null_and_empty_path),
		T(missing_directory),
		T(create_false_on_missing_file),
		T(read_only_file),
		T(read_only_directory),
		T(random_bytes_file),
		T(corrupt_database),
		T(truncated_database),
		T(newer_schema_is_refused),
		T(foreign_tables_at_version_0_are_refused),
		T(empty_file_becomes_a_store),
		T(another_application_id_is_refused),
		T(foreign_user_version_without_our_tables_is_refused),
		T(store_without_application_id_opens_and_gets_it),
		T(foreign_progress_table_is_refused),
		T(tampered_store_is_refused),
		T(uri_looking_path_is_a_plain_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
