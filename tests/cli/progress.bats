#!/usr/bin/env bats
# /ws/progress/{session_id}: reports in, ticks out, durable across restarts.
load helpers

teardown() {
	stop_server || true
}

pc() {
	run py "$PYHELP/progress_check.py" "$URL" "$@"
	assert_success
}

# bats test_tags=timed
@test "ticks at 200 ms extrapolate while playing and hold while paused" {
	start_server
	pc ticks
}

# bats test_tags=timed
@test "extrapolation stops at a known duration" {
	start_server
	pc capped
}

# bats test_tags=timed
@test "every connection to a session gets ticks at its own interval; a stored report comes at once" {
	start_server
	pc fanout
}

@test "bad reports get bad_payload, other types unknown_type" {
	start_server
	pc invalid
}

@test "out-of-range or malformed interval_ms is refused with 400" {
	start_server
	pc refused
}

@test "an acked report survives SIGTERM and a restart" {
	start_server
	pc store_report restart-1 123.25
	assert_output acked
	stop_server
	start_server
	pc expect_stored restart-1 123.25
}

@test "every acked report survives kill -9" {
	start_server
	py "$PYHELP/progress_check.py" "$URL" report_then_die crash-1 100000 \
		>"$BATS_TEST_TMPDIR/acked" 2>/dev/null 3>&- &
	local client=$!
	wait_for "$BATS_TEST_TMPDIR/acked" '^50$'
	{ kill -KILL "$SERVER_PID" && wait "$SERVER_PID"; } 2>/dev/null || true
	SERVER_PID=
	wait "$client" || true
	local last
	last=$(tail -n 1 "$BATS_TEST_TMPDIR/acked")
	[ "$last" -ge 50 ] || fail "only $last acked"
	start_server
	# the store holds the last acked report, or one that was stored but
	# whose ack was lost with the process: never less than the last acked
	run py "$PYHELP/progress_check.py" "$URL" expect_stored crash-1 "$last"
	if [ "$status" -ne 0 ]; then
		run py "$PYHELP/progress_check.py" "$URL" expect_stored crash-1 "$((last + 1))"
	fi
	assert_success
}

@test "progress reports are counted and commit latency is a histogram in /metrics" {
	start_server
	pc store_report m-1 7
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_progress_stored_total=1' 'revenge_store_commit_seconds_count=1' \
		'revenge_store_commit_seconds_bucket{le="+Inf"}=1' 'revenge_store_errors_total{op="write_progress"}=0' 'revenge_store_up=1' 'revenge_progress_refused_total=0' \
		'revenge_connections_total{endpoint="progress"}=1'
	assert_success
}

@test "a missing database directory is a clear error at start-up" {
	sqlite_only
	run -1 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/nope/x.db"
	assert_output --partial "nope"
	assert_output --partial "directory does not exist"
	refute_output --partial "listening"
}

@test "a file that is not a database is a clear error at start-up" {
	sqlite_only
	head -c 8192 /dev/urandom >"$BATS_TEST_TMPDIR/junk.db"
	run -1 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/junk.db"
	assert_output --partial "junk.db"
	assert_output --partial "not a database"
}

@test "a corrupt database is a clear error at start-up" {
	sqlite_only
	start_server --db "$BATS_TEST_TMPDIR/c.db"
	pc store_report corrupt-1 1
	stop_server
	# keep the SQLite header, scramble the pages after it
	"$PY" - "$BATS_TEST_TMPDIR/c.db" <<'PYEOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(100)
    f.write(b"\xff" * 8000)
PYEOF
	run -1 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/c.db"
	assert_output --partial "c.db"
	assert_output --regexp "malformed|not a database|corrupt"
}

@test "--fsync is accepted and the store still works" {
	sqlite_only
	start_server --fsync
	pc store_report f-1 3
	assert_output acked
}
