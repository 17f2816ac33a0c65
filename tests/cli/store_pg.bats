#!/usr/bin/env bats
# The PostgreSQL store (--db postgres://...): a private PostgreSQL started
# for this file (tests/helpers/pg.sh, as nobody under root), killed and
# restarted under the server: a clear error at start when it cannot be
# reached, reports refused (never acked) while it is away, parties
# unaffected, no acked report lost to its crash, reconnection.
load helpers

setup_file() {
	private_pg_start
}

teardown_file() {
	private_pg_stop
}

setup() {
	# a database per test; the cluster may have been killed by the last one
	"$PGSH" restart "$PGDIR"
	private_pg_db
}

teardown() {
	stop_server || true
}

q() { # SQL: one value per line
	psql "$DBURL" -qAt -c "$1"
}

expect_health() {
	run http_get /healthz
	assert_line --partial "\"store\":\"$1\""
}

@test "a PostgreSQL that cannot be reached at start is a clear error and exit 1" {
	local port
	port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	run -1 timeout 20 "$SERVER" --listen 127.0.0.1:0 --db "postgresql://revenge@127.0.0.1:$port/x"
	assert_output --partial "--db: cannot reach PostgreSQL"
	assert_output --partial "127.0.0.1"
	assert_output --partial "refused"
	refute_output --partial "listening"
	# a database that does not exist, on a server that answers
	run -1 timeout 20 "$SERVER" --listen 127.0.0.1:0 --db "$("$PGSH" url "$PGDIR" no_such_db)"
	assert_output --partial "--db: cannot reach PostgreSQL"
	assert_output --partial 'database "no_such_db" does not exist'
	# a URI libpq cannot parse
	run -1 timeout 20 "$SERVER" --listen 127.0.0.1:0 --db "postgresql://[::1"
	assert_output --partial "--db: cannot reach PostgreSQL"
	# libpq quotes the URI in its message: the password never gets out
	run -1 timeout 20 "$SERVER" --listen 127.0.0.1:0 --db "postgresql://u:s3cr3t@[::1"
	assert_output --partial "--db: cannot reach PostgreSQL"
	refute_output --partial "s3cr3t"
	run -1 timeout 20 "$SERVER" --listen 127.0.0.1:0 --db "postgresql://u:ab@[::1"
	assert_output --partial "--db: cannot reach PostgreSQL"
	refute_output --regexp ':ab@|u:ab'
}

@test "migrations: the schema is versioned, and a newer one than this build is refused" {
	start_server --db "$DBURL"
	stop_server
	run q "SELECT version FROM revenge_schema_version"
	assert_output 2
	run q "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('revenge_progress', 'revenge_quality', 'revenge_party')"
	assert_output 3
	# a second start leaves it as it is
	start_server --db "$DBURL"
	stop_server
	run q "SELECT count(*) || ' ' || max(version) FROM revenge_schema_version"
	assert_output "1 2"
	# a schema 1 database (before the parties' table) migrates to 2
	q "DROP TABLE revenge_party; UPDATE revenge_schema_version SET version = 1"
	start_server --db "$DBURL"
	stop_server
	run q "SELECT max(version) || ' ' || (SELECT count(*) FROM information_schema.tables WHERE table_name = 'revenge_party') FROM revenge_schema_version"
	assert_output "2 1"
	q "UPDATE revenge_schema_version SET version = 99"
	run -1 timeout 20 "$SERVER" --listen 127.0.0.1:0 --db "$DBURL"
	assert_output --partial "schema is version 99, newer than this build's 2"
}

@test "reports and profiles are stored in PostgreSQL, in the same rows another node reads" {
	start_server --db "$DBURL"
	run py "$PYHELP/progress_check.py" "$URL" store_report pg-1 77.5
	assert_success
	assert_output acked
	run q "SELECT owner || '|' || session_id || '|' || position || '|' || playing FROM revenge_progress"
	assert_output "|pg-1|77.5|false"
	# a second server on the same database reads it (a node of a cluster)
	local first=$SERVER_PID first_port=$PORT
	SERVER_NAME=b start_server --db "$DBURL"
	run py "$PYHELP/progress_check.py" "$URL" expect_stored pg-1 77.5
	assert_success
	stop_server
	SERVER_PID=$first PORT=$first_port
	expect_health ok
}

@test "PostgreSQL killed: reports refused (never acked), parties work, /healthz says so; restarted: reconnects and acks" {
	start_server --db "$DBURL"
	run py "$PYHELP/progress_check.py" "$URL" store_report before 1
	assert_success
	"$PGSH" kill "$PGDIR"
	local go="$BATS_TEST_TMPDIR/go" out="$BATS_TEST_TMPDIR/client.out" client
	timeout 60 env PYTHONPATH="$PYHELP" "$PY" "$PYHELP/store_check.py" "$URL" \
		refuse_then_ack s-down 3 "$go" >"$out" 2>&1 &
	client=$!
	wait_for "$out" "refused 3" 10
	wait_for "$SERVER_LOG" "store_lost" 5
	grep -q "the database connection was lost" "$SERVER_LOG"
	run py "$PYHELP/store_check.py" "$URL" party p-down
	assert_success
	assert_output "party ok"
	expect_health failing
	"$PGSH" restart "$PGDIR"
	wait_for "$SERVER_LOG" "store_connected" 15
	touch "$go"
	wait "$client" || { cat "$out" >&2; return 1; }
	run cat "$out"
	assert_line acked
	expect_health ok
	run q "SELECT position FROM revenge_progress WHERE session_id = 's-down'"
	assert_output 42.5
	kill -0 "$SERVER_PID"
}

@test "PostgreSQL kill -9 under load: no crash, every acked report is in the database after its restart" {
	start_server --db "$DBURL"
	local out="$BATS_TEST_TMPDIR/load.out" client
	timeout 60 env PYTHONPATH="$PYHELP" "$PY" "$PYHELP/store_check.py" "$URL" \
		until_refused 20 40 >"$out" 2>&1 &
	client=$!
	wait_for "$out" "^ready" 15
	sleep 0.5
	"$PGSH" kill "$PGDIR"
	wait "$client" || { cat "$out" >&2; return 1; }
	kill -0 "$SERVER_PID"
	"$PGSH" restart "$PGDIR"
	local session acked stored n=0
	while read -r session acked; do
		[ "$session" = ready ] && continue
		stored=$(q "SELECT position FROM revenge_progress WHERE session_id = '$session'")
		# stored may be ahead (committed, its answer lost with the
		# connection): never behind an ack
		[ "${stored%.*}" -ge "$acked" ] || fail "$session: acked $acked, stored '$stored'"
		n=$((n + acked))
	done <"$out"
	[ "$n" -ge 200 ] || fail "only $n reports acked before the kill"
	echo "# $n acked reports, all in the database" >&3
	wait_for "$SERVER_LOG" "store_connected" 15
	run py "$PYHELP/progress_check.py" "$URL" store_report after 3
	assert_success
	assert_output acked
}
