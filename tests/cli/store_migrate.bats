#!/usr/bin/env bats
# revenge-server migrate: a SQLite store written through a real server is
# copied into a private PostgreSQL (tests/helpers/pg.sh, as nobody under
# root), and a server on that database gives every session back through the
# protocol. Also: the source file is never changed, the copy is all or
# nothing, a database holding rows is refused unless --merge (newer row
# wins), and bad input is one clear line with exit 1 or 2.
load helpers

setup_file() {
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
		skip "PostgreSQL is not installed (scripts/deps.sh installs it)"
	PGDIR=$(mktemp -d /tmp/revenge-pgmig.XXXXXX)
	chmod 755 "$PGDIR"
	"$PGSH" start "$PGDIR" >/dev/null
	export PGDIR
}

teardown_file() {
	[ -n "${PGDIR:-}" ] || return 0
	"$PGSH" stop "$PGDIR"
	rm -rf "$PGDIR"
}

setup() {
	# this file chooses each server's store itself
	export REVENGE_TEST_STORE=sqlite
	DB=t_$(basename "$BATS_TEST_TMPDIR" | tr -c 'a-zA-Z0-9\n' _)
	"$PGSH" createdb "$PGDIR" "$DB"
	DBURL=$("$PGSH" url "$PGDIR" "$DB")
	LITE="$BATS_TEST_TMPDIR/revenge.db"        # start_server's SQLite file
}

teardown() {
	stop_server || true
}

q() { # SQL: one value per line
	psql "$DBURL" -qAt -c "$1"
}

migrate() {
	"$SERVER" migrate "$@"
}

# pg_server NAME: a server on the test's database. Each start has a name of
# its own: start_server reads NAME.out for the listening line, and a
# previous server's line must not be found there.
pg_server() {
	SERVER_NAME=$1 start_server --db "$DBURL"
}

# sqlite SQL...: run SQL on a file of the test's own (python's sqlite3).
sqlite() { # FILE SQL
	"$PY" -c 'import sqlite3, sys; d = sqlite3.connect(sys.argv[1]); d.executescript(sys.argv[2]); d.commit()' "$1" "$2"
}

# A store written the way revenge writes one: three reports and a profile,
# through a server on SQLite, which is then killed (-9: the acked reports
# are in the write-ahead log, not yet in the file).
write_store() {
	start_server
	run py "$PYHELP/progress_check.py" "$URL" store_report mig-a 77.5
	assert_output acked
	run py "$PYHELP/progress_check.py" "$URL" store_report mig-b 12.25
	assert_output acked
	run py "$PYHELP/progress_check.py" "$URL" store_report mig-c 3
	assert_output acked
	run py "$PYHELP/progress_check.py" "$URL" quality_request mig-q 720p
	assert_success
	kill -KILL "$SERVER_PID"
	{ wait "$SERVER_PID"; } 2>/dev/null || true
	SERVER_PID=
}

@test "reports and profiles written through a SQLite server are read back through a PostgreSQL server" {
	write_store
	[ -s "$LITE-wal" ] || fail "expected the reports in the write-ahead log"
	local before
	before=$(cat "$LITE" "$LITE-wal" | sha256sum)
	run -0 migrate --from "$LITE" --to "$DBURL"
	assert_line "progress -> revenge_progress: 3 rows copied"
	assert_line "quality -> revenge_quality: 1 row copied"
	assert_equal "${#lines[@]}" 2
	# read-only: neither the file nor its log changed
	assert_equal "$(cat "$LITE" "$LITE-wal" | sha256sum)" "$before"
	run q "SELECT owner || '|' || session_id || '|' || position FROM revenge_progress ORDER BY session_id"
	assert_output "$(printf '|mig-a|77.5\n|mig-b|12.25\n|mig-c|3')"
	pg_server pg2
	run py "$PYHELP/progress_check.py" "$URL" expect_stored mig-a 77.5
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" expect_stored mig-b 12.25
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" expect_stored mig-c 3
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" quality_resumes mig-q 720p
	assert_success
}

@test "the copy keeps every column, owners and awkward text included; --json sums it up" {
	sqlite "$LITE" "
		CREATE TABLE progress(owner TEXT NOT NULL, session_id TEXT NOT NULL,
			media_id TEXT NOT NULL, position REAL NOT NULL, duration REAL,
			playing INTEGER NOT NULL, server_time REAL NOT NULL,
			PRIMARY KEY (owner, session_id)) WITHOUT ROWID;
		CREATE TABLE quality(owner TEXT NOT NULL, session_id TEXT NOT NULL,
			profile TEXT NOT NULL, updated_at REAL,
			PRIMARY KEY (owner, session_id)) WITHOUT ROWID;
		INSERT INTO progress VALUES ('ann', 's1', 'film-1', 0.1, NULL, 1, 1733500000123.5),
			('bob', 's1', 'tab	and\\back', 5, 600, 0, 2),
			('', 'é-ü', 'm', 1e-300, 1e300, 0, 3);
		INSERT INTO quality VALUES ('ann', 's1', '480p', NULL), ('', 'x', '1080p', 7);
		PRAGMA user_version = 2;"
	run -0 migrate --from "$LITE" --to "$DBURL" --json
	assert_equal "${#lines[@]}" 1
	run "$PY" -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["sqlite_schema_version"] == 2 and o["postgres_schema_version"] == 2 and o["merge"] is False, o
t = {x["table"]: x for x in o["tables"]}
assert t["progress"] == {"table": "progress", "target": "revenge_progress", "read": 3, "inserted": 3, "updated": 0, "kept": 0}, t
assert t["quality"] == {"table": "quality", "target": "revenge_quality", "read": 2, "inserted": 2, "updated": 0, "kept": 0}, t
print("ok")' "$output"
	assert_output ok
	run q "SELECT owner || '|' || session_id || '|' || media_id || '|' || position || '|' ||
		coalesce(duration::text, 'null') || '|' || playing || '|' || server_time
		FROM revenge_progress ORDER BY owner, session_id"
	assert_output "$(printf '|é-ü|m|1e-300|1e+300|false|3\nann|s1|film-1|0.1|null|true|1733500000123.5\nbob|s1|tab\tand\\back|5|600|false|2')"
	run q "SELECT owner || '|' || session_id || '|' || profile || '|' || coalesce(updated_at::text, 'null')
		FROM revenge_quality ORDER BY owner"
	assert_output "$(printf '|x|1080p|7\nann|s1|480p|null')"
}

@test "a schema version 1 store is copied read-only, its sessions under the owner \"\"" {
	sqlite "$LITE" "
		CREATE TABLE progress(session_id TEXT PRIMARY KEY, media_id TEXT NOT NULL,
			position REAL NOT NULL, duration REAL, playing INTEGER NOT NULL,
			server_time REAL NOT NULL) WITHOUT ROWID;
		CREATE TABLE quality(session_id TEXT PRIMARY KEY, profile TEXT NOT NULL,
			updated_at REAL) WITHOUT ROWID;
		INSERT INTO progress VALUES ('old-1', 'film-1', 42, 600, 0, 1);
		INSERT INTO quality VALUES ('old-q', '360p', NULL);
		PRAGMA user_version = 1;"
	run -0 migrate --from "$LITE" --to "$DBURL"
	assert_line "progress -> revenge_progress: 1 row copied"
	assert_line "quality -> revenge_quality: 1 row copied"
	# the file stays at version 1: migrate never migrates it
	run "$PY" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$LITE"
	assert_output 1
	pg_server pg3
	run py "$PYHELP/progress_check.py" "$URL" expect_stored old-1 42
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" quality_resumes old-q 360p
	assert_success
}

@test "a database that holds rows is refused, unchanged; --merge keeps the newer row of each session" {
	write_store
	run -0 migrate --from "$LITE" --to "$DBURL"
	# again: refused, and says how to merge
	run -1 migrate --from "$LITE" --to "$DBURL"
	assert_output --partial "the database already holds revenge rows (3 progress, 1 quality); nothing was copied"
	assert_output --partial "--merge"
	assert_equal "${#lines[@]}" 1
	# the cluster moves on: mig-a reported anew (newer than the file's),
	# mig-b's row made older than the file's, mig-c forgotten
	pg_server pg4
	run py "$PYHELP/progress_check.py" "$URL" store_report mig-a 99
	assert_output acked
	stop_server
	q "UPDATE revenge_progress SET position = 1, server_time = 0 WHERE session_id = 'mig-b';
	   DELETE FROM revenge_progress WHERE session_id = 'mig-c';
	   UPDATE revenge_quality SET profile = '360p', updated_at = NULL"
	run -0 migrate --from "$LITE" --to "$DBURL" --merge
	assert_line "progress -> revenge_progress: 3 rows read: 1 new, 1 replaced an older row, 1 kept (the database's was as new or newer)"
	assert_line "quality -> revenge_quality: 1 row read: 0 new, 1 replaced an older row, 0 kept (the database's was as new or newer)"
	pg_server pg5
	run py "$PYHELP/progress_check.py" "$URL" expect_stored mig-a 99
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" expect_stored mig-b 12.25
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" expect_stored mig-c 3
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" quality_resumes mig-q 720p
	assert_success
	# merging the same file again changes nothing
	run -0 migrate --from "$LITE" --to "$DBURL" --merge
	assert_line "progress -> revenge_progress: 3 rows read: 0 new, 0 replaced an older row, 3 kept (the database's was as new or newer)"
}

@test "all or nothing: a row revenge would not write stops the copy, the database keeps no row" {
	sqlite "$LITE" "
		CREATE TABLE progress(owner TEXT NOT NULL, session_id TEXT NOT NULL,
			media_id TEXT NOT NULL, position REAL NOT NULL, duration REAL,
			playing INTEGER NOT NULL, server_time REAL NOT NULL,
			PRIMARY KEY (owner, session_id)) WITHOUT ROWID;
		CREATE TABLE quality(owner TEXT NOT NULL, session_id TEXT NOT NULL,
			profile TEXT NOT NULL, updated_at REAL,
			PRIMARY KEY (owner, session_id)) WITHOUT ROWID;
		INSERT INTO progress VALUES ('', 'fine', 'film-1', 1, NULL, 0, 1);
		INSERT INTO quality VALUES ('', 'bad', 'a-profile-name-far-longer-than-32-bytes', 1);
		PRAGMA user_version = 2;"
	run -1 migrate --from "$LITE" --to "$DBURL"
	assert_output "revenge-server migrate: '$LITE': the quality row of owner '', session 'bad' has a profile that is not 1-32 bytes of UTF-8: not a row revenge writes; nothing was copied"
	run q "SELECT count(*) FROM revenge_progress"
	assert_output 0
	# a media id over 64 bytes, and a position that is text
	sqlite "$LITE" "DELETE FROM quality; INSERT INTO progress VALUES ('', 'long', '$(printf 'm%.0s' $(seq 65))', 1, NULL, 0, 2)"
	run -1 migrate --from "$LITE" --to "$DBURL"
	assert_output --partial "session 'long' has a media id that is not 1-64 bytes of UTF-8"
	sqlite "$LITE" "DELETE FROM progress WHERE session_id = 'long'; INSERT INTO progress VALUES ('', 'txt', 'm', 'soon', NULL, 0, 2)"
	run -1 migrate --from "$LITE" --to "$DBURL"
	assert_output --partial "session 'txt' has a position, duration or time that is not a finite number"
	run q "SELECT count(*) FROM revenge_progress"
	assert_output 0
}

@test "a missing, foreign or non-SQLite file is one clear line and exit 1, PostgreSQL untouched" {
	run -1 migrate --from "$BATS_TEST_TMPDIR/nope.db" --to "$DBURL"
	assert_output "revenge-server migrate: '$BATS_TEST_TMPDIR/nope.db': no such file"
	run -1 migrate --from "$BATS_TEST_TMPDIR" --to "$DBURL"
	assert_output "revenge-server migrate: '$BATS_TEST_TMPDIR': is a directory"
	echo "not a database at all, just some text to fill a page" >"$BATS_TEST_TMPDIR/text.db"
	run -1 migrate --from "$BATS_TEST_TMPDIR/text.db" --to "$DBURL"
	assert_output "revenge-server migrate: '$BATS_TEST_TMPDIR/text.db' is not a revenge store: file is not a database"
	sqlite "$BATS_TEST_TMPDIR/other.db" "CREATE TABLE notes(x TEXT)"
	run -1 migrate --from "$BATS_TEST_TMPDIR/other.db" --to "$DBURL"
	assert_output "revenge-server migrate: '$BATS_TEST_TMPDIR/other.db' is not a revenge store: its schema version (SQLite user_version) is 0, a revenge store's is 1 to 3"
	sqlite "$BATS_TEST_TMPDIR/other.db" "PRAGMA user_version = 2"
	run -1 migrate --from "$BATS_TEST_TMPDIR/other.db" --to "$DBURL"
	assert_output "revenge-server migrate: '$BATS_TEST_TMPDIR/other.db' is not a revenge store: table 'progress' is missing"
	sqlite "$BATS_TEST_TMPDIR/other.db" "PRAGMA user_version = 9"
	run -1 migrate --from "$BATS_TEST_TMPDIR/other.db" --to "$DBURL"
	assert_output --partial "schema version 9 is newer than this build supports (3); upgrade revenge"
	# none of it reached the database: not even the schema
	run q "SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'revenge_%'"
	assert_output 0
}

@test "an unreachable PostgreSQL, a missing database, a newer schema: exit 1; a bad URL: exit 2; the password never shown" {
	write_store
	local port
	port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	run -1 timeout 20 "$SERVER" migrate --from "$LITE" --to "postgresql://revenge:s3cr3tpw@127.0.0.1:$port/x"
	assert_output --partial "revenge-server migrate: cannot reach PostgreSQL: "
	assert_output --partial "refused"
	refute_output --partial s3cr3tpw
	run -1 migrate --from "$LITE" --to "$("$PGSH" url "$PGDIR" no_such_db)"
	assert_output --partial 'database "no_such_db" does not exist'
	run -0 migrate --from "$LITE" --to "$DBURL"
	q "UPDATE revenge_schema_version SET version = 99"
	run -1 migrate --from "$LITE" --to "$DBURL" --merge
	assert_output --partial "the database's revenge schema is version 99, newer than this build's 2"
	run -2 migrate --from "$LITE" --to "mysql://revenge@127.0.0.1/x"
	assert_output "revenge-server migrate: --to: expected a postgres:// or postgresql:// URL (see --help)"
	run -2 migrate --from "$LITE" --to "postgresql://revenge:s3cr3tpw@[::1"
	assert_output --partial "--to: not a valid PostgreSQL URI: "
	refute_output --partial s3cr3tpw
	run -2 migrate --from "$LITE" --to "postgresql://revenge:s3%zzcr3tpw@h/x"
	assert_output --partial "invalid percent-encoded token"
	refute_output --partial s3
}

@test "usage: both flags required, no operands, --help and --version" {
	run -2 migrate --to "$DBURL"
	assert_output "revenge-server migrate: --from is required (the SQLite store to copy) (see --help)"
	run -2 migrate --from "$LITE"
	assert_output "revenge-server migrate: --to is required (the PostgreSQL database to copy into) (see --help)"
	run -2 migrate --from "$LITE" --to "$DBURL" extra
	assert_output "revenge-server migrate: unexpected argument 'extra' (see --help)"
	run -2 migrate --from
	assert_output --partial "--from: missing value"
	run -2 migrate --from ''
	assert_output --partial "--from: empty path"
	run -2 migrate --bogus
	assert_output --partial "unknown option '--bogus'"
	run -0 migrate --help
	assert_line --index 0 "Usage: revenge-server migrate --from PATH --to URL [--merge] [--json]"
	run -0 migrate --version
	assert_output --regexp '^revenge-server migrate [0-9]'
	run -0 "$SERVER" --help
	assert_line --partial "revenge-server migrate [OPTIONS]"
}
