#!/usr/bin/env bats
# --db pointing at a SQLite file that is not a revenge store: another
# application's database (tables of its own at user_version 0, a
# user_version that is not ours, another application_id) is refused at
# start with one line naming the file and why, exit 1, and the file is left
# byte for byte as it was. An empty file or a new path becomes a store
# (application_id "RVNG", user_version 3); a store of an older schema, made
# here with the sqlite3 shell as that version wrote it, migrates and serves
# its rows. Real server, real files made by sqlite3.
load helpers

setup() {
	sqlite_only
	command -v sqlite3 >/dev/null || skip "the sqlite3 shell is not installed"
	DB="$BATS_TEST_TMPDIR/app.db"
}

teardown() {
	stop_server || true
}

# refused REASON: the server, started on $DB, exits 1 with the one
# start_failed line "cannot open store '$DB': REASON", without listening,
# and $DB is unchanged (same bytes, no -wal or -shm left beside it).
refused() {
	local before
	before=$(sha256sum <"$DB")
	run -1 timeout 10 "$SERVER" --listen 127.0.0.1:0 --db "$DB"
	refute_output --partial "listening"
	assert_line --partial "start_failed cannot open store '$DB': $1"
	[ "$(grep -c "cannot open store" <<<"$output")" -eq 1 ] || fail "not one line: $output"
	[ "$(sha256sum <"$DB")" = "$before" ] || fail "the file was changed"
	[ ! -e "$DB-wal" ] && [ ! -e "$DB-shm" ] || fail "left $DB-wal or -shm"
}

@test "another application's database (its own tables, user_version 0) is refused and left untouched" {
	sqlite3 "$DB" "CREATE TABLE users(id INTEGER PRIMARY KEY, name TEXT);
		CREATE TABLE posts(id INTEGER PRIMARY KEY, body TEXT);
		INSERT INTO users(name) VALUES ('ann');"
	refused "not a revenge store: it holds another application's tables ('posts', 'users') and no revenge schema version (user_version 0); refusing to add revenge tables to it"
	run sqlite3 "$DB" "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master ORDER BY name); SELECT name FROM users; PRAGMA journal_mode;"
	assert_output $'posts,users\nann\ndelete'
}

@test "another application's database with a table named like ours is refused too" {
	sqlite3 "$DB" "CREATE TABLE progress(id INTEGER PRIMARY KEY, pct REAL);
		CREATE TABLE settings(k TEXT, v TEXT);"
	refused "not a revenge store: it holds another application's table ('settings') and no revenge schema version (user_version 0); refusing to add revenge tables to it"
}

@test "a user_version that is not ours, without revenge's tables, is refused" {
	sqlite3 "$DB" "CREATE TABLE users(id INTEGER PRIMARY KEY); PRAGMA user_version = 1;"
	refused "not a revenge store: user_version 1 but none of revenge's tables (another application's database); refusing to write to it"
	sqlite3 "$DB" "PRAGMA user_version = 37;"
	refused "not a revenge store: user_version 37 (not a revenge schema version) but none of revenge's tables (another application's database); refusing to write to it"
}

@test "another application_id is refused, even on an empty database" {
	# python3's sqlite3 this time: an empty database that says whose it is
	"$PY" - "$DB" <<'EOF'
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA application_id = 1196437808")    # GeoPackage, "GP10"
c.commit()
c.close()
EOF
	refused "not a revenge store: its application_id is 0x47503130, another application's (revenge's is 0x52564e47); refusing to write to it"
}

@test "a new path and an empty file become revenge stores (application_id, schema version 3)" {
	local f
	: >"$DB"
	for f in "$DB" "$BATS_TEST_TMPDIR/new.db"; do
		start_server --db "$f"
		stop_server
		run sqlite3 "$f" "PRAGMA application_id; PRAGMA user_version;
			SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_master ORDER BY name);"
		assert_output $'1381387847\n3\nparty,progress,quality'
	done
}

@test "a version 1 store (made by the sqlite3 shell as that version wrote it) migrates and serves its rows" {
	sqlite3 "$DB" "PRAGMA journal_mode = WAL;
		CREATE TABLE progress(session_id TEXT PRIMARY KEY, media_id TEXT NOT NULL,
			position REAL NOT NULL, duration REAL, playing INTEGER NOT NULL,
			server_time REAL NOT NULL) WITHOUT ROWID;
		CREATE TABLE quality(session_id TEXT PRIMARY KEY, profile TEXT NOT NULL,
			updated_at REAL) WITHOUT ROWID;
		INSERT INTO progress VALUES ('old-1', 'film-1', 42.5, 600.0, 0, 1712345678901.0);
		PRAGMA user_version = 1;" >/dev/null
	start_server --db "$DB"
	run py "$PYHELP/progress_check.py" "$URL" expect_stored old-1 42.5
	assert_success
	stop_server
	run sqlite3 "$DB" "PRAGMA application_id; PRAGMA user_version;
		SELECT quote(owner) || ' ' || session_id FROM progress;"
	assert_output $'1381387847\n3\n\'\' old-1'
}

@test "a store made before the application_id existed opens, and gets it" {
	start_server --db "$DB"
	run py "$PYHELP/progress_check.py" "$URL" store_report keep-1 7.5
	assert_output acked
	stop_server
	sqlite3 "$DB" "PRAGMA application_id = 0;"
	start_server --db "$DB"
	run py "$PYHELP/progress_check.py" "$URL" expect_stored keep-1 7.5
	assert_success
	stop_server
	run sqlite3 "$DB" "PRAGMA application_id;"
	assert_output 1381387847
}
