/* tests/unit/test_store_seam.c - the store seam (lib/store_writer.h) the
 * endpoints use, driven on a real libev loop against both backends: a
 * SQLite file in a temp dir, and a private PostgreSQL started for the test
 * by tests/helpers/pg.sh (skipped when PostgreSQL is not installed).
 * Writes are answered after the commit, reads through a callback, a write
 * not yet committed is what a read sees, a missing row is RV_ENOENT. */
#include "unit.h"

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "revenge/error.h"
#include "revenge/systime.h"

#include "conn.h"
#include "store_pg.h"
#include "store_watch.h"
#include "store_writer.h"

struct fixture {
	struct rv__hub *hub;
	struct rv__store_writer *w;
	ev_timer keep;                /* makes ev_run block between events */
	int done[2];                  /* answers: ok, failed */
	int reads;
	int read_err;
	struct rv__store_item got;
};

static char pg_dir[64];
static char pg_base[128];         /* postgresql://revenge@127.0.0.1:PORT */

static void keep_cb(struct ev_loop *loop, ev_timer *t, int revents)
{
}

static void on_done(void *arg, const struct rv__store_item *it, int err)
{
	struct fixture *f = arg;

	f->done[err ? 1 : 0]++;
}

static void on_read(void *arg, int err, const struct rv__store_item *it)
{
	struct fixture *f = arg;

	f->reads++;
	f->read_err = err;
	if (!err)
		f->got = *it;
}

static int open_fixture(struct fixture *f, const char *db, char *why, size_t why_len)
{
	struct rv_store_options so = { .fsync = false, .create = true };
	int err;

	memset(f, 0, sizeof(*f));
	f->hub = calloc(1, sizeof(*f->hub));
	f->hub->loop = ev_loop_new(EVFLAG_AUTO);
	rv_clock_anchor(&f->hub->clock, rv_time_wall_ms(), rv_time_mono_ns());
	ev_timer_init(&f->keep, keep_cb, 0.01, 0.01);
	ev_timer_start(f->hub->loop, &f->keep);
	err = rv__store_writer_start(f->hub, db, &so, 0, 0, &f->w, why, why_len);
	if (err)
		return err;
	rv__store_watch_start(f->hub);
	rv__store_writer_on_done(f->w, RV__STORE_ITEM_PROGRESS, on_done, f);
	rv__store_writer_on_done(f->w, RV__STORE_ITEM_QUALITY, on_done, f);
	return 0;
}

static void close_fixture(struct fixture *f)
{
	rv__store_writer_free(f->w);
	ev_timer_stop(f->hub->loop, &f->keep);
	ev_loop_destroy(f->hub->loop);
	free(f->hub);
}

/* Run the loop until *n reaches want, at most 5 s. */
static void run_until(struct fixture *f, const int *n, int want)
{
	uint64_t until = rv_time_mono_ns() + 5000000000ull;

	while (*n < want && rv_time_mono_ns() < until)
		ev_run(f->hub->loop, EVRUN_ONCE);
	assert_int_equal(*n, want);
}

static struct rv__store_item report(const char *session, double pos)
{
	struct rv__store_item it;

	memset(&it, 0, sizeof(it));
	it.kind = RV__STORE_ITEM_PROGRESS;
	snprintf(it.rec.owner, sizeof(it.rec.owner), "alice");
	snprintf(it.rec.session_id, sizeof(it.rec.session_id), "%s", session);
	snprintf(it.rec.media_id, sizeof(it.rec.media_id), "film-1");
	it.rec.position = pos;
	it.rec.has_duration = true;
	it.rec.duration = 600;
	it.rec.playing = true;
	it.rec.server_time = 1.5e12;
	it.new_session = true;
	return it;
}

/* The seam's contract, the same for both backends. */
static void seam_contract(const char *db)
{
	struct fixture f;
	struct rv__store_item it, q;
	char why[300] = "";

	assert_int_equal(open_fixture(&f, db, why, sizeof(why)), 0);
	/* one batch: two reports of one session and a profile */
	it = report("s-1", 10.25);
	assert_int_equal(rv__store_writer_add(f.w, &it), 0);
	it = report("s-1", 11.5);
	it.rec.has_duration = false;
	assert_int_equal(rv__store_writer_add(f.w, &it), 0);
	memset(&q, 0, sizeof(q));
	q.kind = RV__STORE_ITEM_QUALITY;
	snprintf(q.rec.owner, sizeof(q.rec.owner), "alice");
	snprintf(q.rec.session_id, sizeof(q.rec.session_id), "s-1");
	snprintf(q.profile, sizeof(q.profile), "720p");
	assert_int_equal(rv__store_writer_add(f.w, &q), 0);
	/* not committed yet: a read sees the latest write, at once */
	rv__store_writer_read(f.w, RV__STORE_ITEM_PROGRESS, "alice", "s-1", on_read, &f);
	assert_int_equal(f.reads, 1);
	assert_int_equal(f.read_err, 0);
	assert_true(f.got.rec.position == 11.5);
	assert_int_equal(f.done[0] + f.done[1], 0);   /* never answered before the commit */
	run_until(&f, &f.done[0], 3);
	assert_int_equal(f.done[1], 0);
	/* committed: the backend's read */
	rv__store_writer_read(f.w, RV__STORE_ITEM_PROGRESS, "alice", "s-1", on_read, &f);
	run_until(&f, &f.reads, 2);
	assert_int_equal(f.read_err, 0);
	assert_true(f.got.rec.position == 11.5);
	assert_false(f.got.rec.has_duration);
	assert_true(f.got.rec.playing);
	assert_true(f.got.rec.server_time == 1.5e12);
	assert_string_equal(f.got.rec.media_id, "film-1");
	rv__store_writer_read(f.w, RV__STORE_ITEM_QUALITY, "alice", "s-1", on_read, &f);
	run_until(&f, &f.reads, 3);
	assert_int_equal(f.read_err, 0);
	assert_string_equal(f.got.profile, "720p");
	/* another owner's session of the same id is another session */
	rv__store_writer_read(f.w, RV__STORE_ITEM_PROGRESS, "bob", "s-1", on_read, &f);
	run_until(&f, &f.reads, 4);
	assert_int_equal(f.read_err, RV_ENOENT);
	rv__store_writer_read(f.w, RV__STORE_ITEM_QUALITY, "alice", "nope", on_read, &f);
	run_until(&f, &f.reads, 5);
	assert_int_equal(f.read_err, RV_ENOENT);
	/* an owner (a token's sub) with what array and SQL literals quote */
	it = report("s-q", 5);
	snprintf(it.rec.owner, sizeof(it.rec.owner), "a\"b\\c,{d} 'e' NULL");
	assert_int_equal(rv__store_writer_add(f.w, &it), 0);
	run_until(&f, &f.done[0], 4);
	rv__store_writer_read(f.w, RV__STORE_ITEM_PROGRESS, "a\"b\\c,{d} 'e' NULL", "s-q",
			      on_read, &f);
	run_until(&f, &f.reads, 6);
	assert_int_equal(f.read_err, 0);
	assert_true(f.got.rec.position == 5);
	/* a write handed in just before the free is stored by it */
	it = report("s-2", 99);
	assert_int_equal(rv__store_writer_add(f.w, &it), 0);
	close_fixture(&f);
	assert_int_equal(f.done[0], 5);
	assert_int_equal(open_fixture(&f, db, why, sizeof(why)), 0);
	rv__store_writer_read(f.w, RV__STORE_ITEM_PROGRESS, "alice", "s-2", on_read, &f);
	run_until(&f, &f.reads, 1);
	assert_int_equal(f.read_err, 0);
	assert_true(f.got.rec.position == 99);
	/* an older report (another node's, committed late) is acked and
	 * leaves the newer one in place */
	it = report("s-2", 7);
	it.rec.server_time = 1.4e12;
	assert_int_equal(rv__store_writer_add(f.w, &it), 0);
	run_until(&f, &f.done[0], 1);
	rv__store_writer_read(f.w, RV__STORE_ITEM_PROGRESS, "alice", "s-2", on_read, &f);
	run_until(&f, &f.reads, 2);
	assert_int_equal(f.read_err, 0);
	assert_true(f.got.rec.position == 99);
	assert_true(f.got.rec.server_time == 1.5e12);
	close_fixture(&f);
}

static void sqlite_backend_keeps_the_contract(void **state)
{
	char dir[] = "/tmp/rv-seam.XXXXXX", db[64];

	assert_non_null(mkdtemp(dir));
	snprintf(db, sizeof(db), "%s/s.db", dir);
	assert_false(rv__store_is_postgres(db));
	seam_contract(db);
	unlink(db);
	snprintf(db, sizeof(db), "%s/s.db-wal", dir);
	unlink(db);
	snprintf(db, sizeof(db), "%s/s.db-shm", dir);
	unlink(db);
	rmdir(dir);
}

static void postgres_urls_are_told_apart(void **state)
{
	assert_true(rv__store_is_postgres("postgres://h/db"));
	assert_true(rv__store_is_postgres("postgresql://u@h:5/db?sslmode=require"));
	assert_false(rv__store_is_postgres("var/postgres://x"));
	assert_false(rv__store_is_postgres("postgresql:/x"));
	assert_false(rv__store_is_postgres(NULL));
}

static void postgres_backend_keeps_the_contract(void **state)
{
	char db[160];

	if (!pg_base[0])
		skip();
	snprintf(db, sizeof(db), "%s/seam", pg_base);
	seam_contract(db);
}

static void postgres_unreachable_is_a_clear_error(void **state)
{
	struct fixture f;
	char why[300] = "";

	if (!pg_base[0])
		skip();
	/* port 1 on loopback: nothing listens there */
	assert_int_equal(open_fixture(&f, "postgresql://revenge@127.0.0.1:1/x?connect_timeout=2",
				      why, sizeof(why)), RV_EIO);
	assert_non_null(strstr(why, "--db: cannot reach PostgreSQL"));
	assert_null(strchr(why, '\n'));
	ev_timer_stop(f.hub->loop, &f.keep);
	ev_loop_destroy(f.hub->loop);
	free(f.hub);
}

static void postgres_migrations_are_versioned(void **state)
{
	char url[160], why[300] = "";
	PGconn *conn;
	int v = -1;

	if (!pg_base[0])
		skip();
	snprintf(url, sizeof(url), "%s/migr", pg_base);
	conn = PQconnectdb(url);
	assert_int_equal(PQstatus(conn), CONNECTION_OK);
	assert_int_equal(rv__store_pg_migrate(conn, &v, why, sizeof(why)), 0);
	assert_int_equal(v, RV__STORE_PG_SCHEMA_VERSION);
	/* again: nothing to do, same version */
	assert_int_equal(rv__store_pg_migrate(conn, &v, why, sizeof(why)), 0);
	assert_int_equal(v, RV__STORE_PG_SCHEMA_VERSION);
	PQclear(PQexec(conn, "UPDATE revenge_schema_version SET version = 7"));
	assert_int_equal(rv__store_pg_migrate(conn, &v, why, sizeof(why)), RV_EIO);
	assert_non_null(strstr(why, "newer than this build"));
	PQfinish(conn);
}

static int pg_up(void **state)
{
	char cmd[512];
	FILE *p;

	/* libpq would probe GSSAPI encryption first, and krb5 keeps what
	 * that allocates for the whole process (valgrind's "still
	 * reachable"); loopback needs none of it */
	setenv("PGGSSENCMODE", "disable", 1);
	if (access("tests/helpers/pg.sh", X_OK) || system("ls /usr/lib/postgresql/*/bin/initdb"
							  " >/dev/null 2>&1"))
		return 0;             /* the PostgreSQL tests skip */
	snprintf(pg_dir, sizeof(pg_dir), "/tmp/rv-seam-pg.XXXXXX");
	if (!mkdtemp(pg_dir) || chmod(pg_dir, 0755))
		return -1;
	snprintf(cmd, sizeof(cmd), "tests/helpers/pg.sh start %s && "
		 "tests/helpers/pg.sh createdb %s seam && tests/helpers/pg.sh createdb %s migr",
		 pg_dir, pg_dir, pg_dir);
	p = popen(cmd, "r");
	if (!p || !fgets(pg_base, sizeof(pg_base), p)) {
		if (p)
			pclose(p);
		return -1;
	}
	pg_base[strcspn(pg_base, "\n")] = 0;
	return pclose(p) ? -1 : 0;
}

static int pg_down(void **state)
{
	char cmd[512];

	if (!pg_dir[0])
		return 0;
	snprintf(cmd, sizeof(cmd), "tests/helpers/pg.sh stop %s; rm -rf %s", pg_dir, pg_dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(postgres_urls_are_told_apart),
		cmocka_unit_test(sqlite_backend_keeps_the_contract),
		cmocka_unit_test(postgres_backend_keeps_the_contract),
		cmocka_unit_test(postgres_unreachable_is_a_clear_error),
		cmocka_unit_test(postgres_migrations_are_versioned),
	};

	return cmocka_run_group_tests(tests, pg_up, pg_down);
}
