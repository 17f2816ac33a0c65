#!/usr/bin/env bats
# revenge-server backup FILE: an online copy of the SQLite store while the
# server acks reports, that a server then opens as its store; what it
# refuses (an existing FILE, a store that is not revenge's or is newer than
# the build, PostgreSQL); and the upgrade rule it shares with the server: a
# store newer than the build is refused with a clear message.
load helpers

setup() {
	sqlite_only
	DB="$BATS_TEST_TMPDIR/revenge.db"
}

teardown() {
	[ -n "${WRITER_PID:-}" ] && kill "$WRITER_PID" 2>/dev/null
	[ -n "${WRITER_PID:-}" ] && wait "$WRITER_PID" 2>/dev/null
	stop_server || true
}

@test "a backup taken while reports are acked holds every report acked before it, and serves as a store" {
	# no rate limit: the writer sends as fast as acks come
	start_server --rate-limit 0
	py "$PYHELP/progress_check.py" "$URL" store_report kept-1 42.5 >/dev/null
	# a writer acking report after report until killed
	py "$PYHELP/progress_check.py" "$URL" report_then_die hot 100000 >"$BATS_TEST_TMPDIR/acked" &
	WRITER_PID=$!
	local i
	for i in $(seq 1 200); do
		[ "$(wc -l <"$BATS_TEST_TMPDIR/acked")" -ge 20 ] && break
		sleep 0.05
	done
	local before
	before=$(tail -n 1 "$BATS_TEST_TMPDIR/acked")
	[ "$before" -ge 20 ]
	local v
	v=$(sqlite3 "$DB" "PRAGMA user_version")
	run "$SERVER" backup --db "$DB" "$BATS_TEST_TMPDIR/b.db"
	assert_success
	assert_output --regexp "^$DB -> $BATS_TEST_TMPDIR/b.db: schema version $v, 2 progress rows, 0 quality rows, [0-9]+ bytes\$"
	# the server went on acking meanwhile
	local after
	after=$(tail -n 1 "$BATS_TEST_TMPDIR/acked")
	for i in $(seq 1 100); do
		after=$(tail -n 1 "$BATS_TEST_TMPDIR/acked")
		[ "$after" -gt "$before" ] && break
		sleep 0.05
	done
	[ "$after" -gt "$before" ]
	kill "$WRITER_PID"
	wait "$WRITER_PID" || true
	WRITER_PID=
	stop_server
	# one plain file: no write-ahead log beside it, whole, a revenge store
	[ ! -e "$BATS_TEST_TMPDIR/b.db-wal" ] && [ ! -e "$BATS_TEST_TMPDIR/b.db.tmp" ]
	run sqlite3 "$BATS_TEST_TMPDIR/b.db" "PRAGMA integrity_check; PRAGMA journal_mode;
		PRAGMA user_version; SELECT position >= $before FROM progress WHERE session_id = 'hot'"
	assert_output "ok
delete
$v
1"
	SERVER_NAME=restored start_server --db "$BATS_TEST_TMPDIR/b.db"
	run py "$PYHELP/progress_check.py" "$URL" expect_stored kept-1 42.5
	assert_success
}

@test "backup finds the store as the server does: --db, the configuration's db key, \$STATE_DIRECTORY; --json" {
	start_server --db "$DB"
	py "$PYHELP/progress_check.py" "$URL" store_report one 7 >/dev/null
	stop_server
	local v
	v=$(sqlite3 "$DB" "PRAGMA user_version")
	printf '[store]\ndb = %s\n' "$DB" >"$BATS_TEST_TMPDIR/rv.conf"
	run "$SERVER" backup --config "$BATS_TEST_TMPDIR/rv.conf" --json "$BATS_TEST_TMPDIR/c.db"
	assert_success
	run "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["from"] == sys.argv[2], o["schema_version"], o["progress_rows"], o["quality_rows"], o["bytes"] > 0)' "$output" "$DB"
	assert_output "True $v 1 0 True"
	mkdir "$BATS_TEST_TMPDIR/state"
	cp "$DB" "$BATS_TEST_TMPDIR/state/revenge.db"
	STATE_DIRECTORY="$BATS_TEST_TMPDIR/state" run "$SERVER" backup --config /dev/null "$BATS_TEST_TMPDIR/d.db"
	assert_success
	assert_output --partial "$BATS_TEST_TMPDIR/state/revenge.db -> $BATS_TEST_TMPDIR/d.db: schema version $v, 1 progress row,"
}

@test "backup refuses an existing FILE, a missing or foreign store, PostgreSQL (pg_dump), and bad usage" {
	sqlite3 "$DB" "CREATE TABLE users(id INTEGER PRIMARY KEY);"
	run "$SERVER" backup --db "$DB" "$BATS_TEST_TMPDIR/x.db"
	assert_failure 1
	assert_output --partial "revenge-server backup: '$DB' is not a revenge store"
	[ ! -e "$BATS_TEST_TMPDIR/x.db" ] && [ ! -e "$BATS_TEST_TMPDIR/x.db.tmp" ]
	run "$SERVER" backup --db "$BATS_TEST_TMPDIR/none.db" "$BATS_TEST_TMPDIR/x.db"
	assert_failure 1
	assert_output "revenge-server backup: '$BATS_TEST_TMPDIR/none.db': no such file"
	echo keep >"$BATS_TEST_TMPDIR/exists.db"
	run "$SERVER" backup --db "$DB" "$BATS_TEST_TMPDIR/exists.db"
	assert_failure 1
	assert_output "revenge-server backup: '$BATS_TEST_TMPDIR/exists.db' exists: give a new file (a backup never overwrites)"
	run cat "$BATS_TEST_TMPDIR/exists.db"
	assert_output keep
	run "$SERVER" backup --db 'postgresql://rv:s3cret@db.example/media' "$BATS_TEST_TMPDIR/x.db"
	assert_failure 1
	assert_output --partial "the store is PostgreSQL: back it up with pg_dump"
	refute_output --partial s3cret
	run "$SERVER" backup --db "$DB"
	assert_failure 2
	assert_output "revenge-server backup: FILE is required (the new file to copy the store into) (see --help)"
	run "$SERVER" backup a.db b.db
	assert_failure 2
	assert_output --partial "unexpected argument 'b.db'"
	run "$SERVER" backup --bogus x.db
	assert_failure 2
	run "$SERVER" backup --help
	assert_success
	assert_output --partial "Usage: revenge-server backup"
}

@test "upgrades: a store of a newer schema than the build is refused by the server and by backup, untouched" {
	start_server --db "$DB"
	stop_server
	sqlite3 "$DB" "PRAGMA user_version = 99" >/dev/null
	local sum
	sum=$(md5sum <"$DB")
	run "$SERVER" --listen 127.0.0.1:0 --db "$DB"
	assert_failure 1
	assert_output --regexp "schema version 99 is newer than this build supports \([0-9]+\); upgrade revenge"
	run "$SERVER" backup --db "$DB" "$BATS_TEST_TMPDIR/n.db"
	assert_failure 1
	assert_output --regexp "schema version 99 is newer than this build supports \([0-9]+\); upgrade revenge"
	[ "$(md5sum <"$DB")" = "$sum" ]
}
