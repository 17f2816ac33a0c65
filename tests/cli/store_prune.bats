#!/usr/bin/env bats
# The store forgets sessions not seen for --session-ttl and keeps at most
# --max-stored-per-owner sessions per token subject (issue 12, item 5): a
# client inventing session ids cannot grow the file without bound. A real
# server, a real SQLite file, read back with python3's sqlite3 (or, with
# REVENGE_TEST_STORE=postgres, a real PostgreSQL database read with psql).
load helpers

teardown() {
	stop_server || true
}

rows() {
	if [ "${REVENGE_TEST_STORE:-sqlite}" = postgres ]; then
		psql "$(pg_test_db "$BATS_TEST_TMPDIR/revenge.db")" -qAt -F ' ' -c \
			"SELECT 'progress', CASE owner WHEN '' THEN '-' ELSE owner END, session_id
			 FROM revenge_progress UNION ALL
			 SELECT 'quality', CASE owner WHEN '' THEN '-' ELSE owner END, session_id
			 FROM revenge_quality" | LC_ALL=C sort
		return
	fi
	py "$PYHELP/prune_check.py" rows "$BATS_TEST_TMPDIR/revenge.db"
}

# (timed: read back within the 4 s TTL; beside the batch on PostgreSQL, at
# load 15, the first two had already gone)
# bats test_tags=timed
@test "--session-ttl: sessions not seen for the TTL leave the store (progress and quality), new ones stay" {
	# 4 s: the last step reads a row reported a moment before, which a
	# loaded machine must not stretch past the TTL
	start_server --session-ttl 4
	run py "$PYHELP/prune_check.py" report "$URL" - old-1 old-2
	assert_success
	run py "$PYHELP/progress_check.py" "$URL" quality_request old-3 720p
	assert_success
	run rows
	assert_output "$(printf 'progress - old-1\nprogress - old-2\nquality - old-3')"
	# TTL 4 s, a sweep every second: gone within about 5 s; bounded wait
	local i
	for i in $(seq 1 120); do
		[ -z "$(rows)" ] && break
		sleep 0.1
	done
	run rows
	assert_output ""
	grep -q 'store_pruned' "$SERVER_LOG" || fail "no store_pruned line: $(cat "$SERVER_LOG")"
	run py "$PYHELP/prune_check.py" report "$URL" - new-1
	assert_success
	run rows
	assert_output "progress - new-1"
}

@test "--max-stored-per-owner: a subject past the cap loses its sessions seen longest ago, others keep theirs" {
	local alice bob SECRET="$BATS_TEST_TMPDIR/secret"
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$SECRET"
	start_server --auth-secret-file "$SECRET" --max-stored-per-owner 3
	alice=$("$SERVER" token --auth-secret-file "$SECRET" --sub alice --session '*')
	bob=$("$SERVER" token --auth-secret-file "$SECRET" --sub bob --session '*')
	run py "$PYHELP/prune_check.py" report "$URL" "$bob" b-1
	assert_success
	run py "$PYHELP/prune_check.py" report "$URL" "$alice" a-1 a-2 a-3 a-4 a-5
	assert_success
	run rows
	assert_output "$(printf 'progress alice a-3\nprogress alice a-4\nprogress alice a-5\nprogress bob b-1')"
	# a known session reporting again is no new session: nothing goes
	run py "$PYHELP/prune_check.py" report "$URL" "$alice" a-3
	assert_success
	run rows
	assert_output "$(printf 'progress alice a-3\nprogress alice a-4\nprogress alice a-5\nprogress bob b-1')"
	# and it is now the one seen last: the next new one pushes out a-4
	run py "$PYHELP/prune_check.py" report "$URL" "$alice" a-6
	assert_success
	run rows
	assert_output "$(printf 'progress alice a-3\nprogress alice a-5\nprogress alice a-6\nprogress bob b-1')"
}

@test "--session-ttl 0 and --max-stored-per-owner 0 keep everything" {
	start_server --session-ttl 0 --max-stored-per-owner 0
	run py "$PYHELP/prune_check.py" report "$URL" - k-1 k-2 k-3
	assert_success
	sleep 1.2
	run rows
	assert_output "$(printf 'progress - k-1\nprogress - k-2\nprogress - k-3')"
}

@test "bad --session-ttl and --max-stored-per-owner values are usage errors (exit 2)" {
	local v
	for v in -1 abc '' 1.5 315360001 99999999999999999999 ' 5' 5x; do
		run "$SERVER" --db "$BATS_TEST_TMPDIR/x.db" --session-ttl "$v"
		[ "$status" -eq 2 ] || fail "--session-ttl '$v' gave $status: $output"
		assert_output --partial -- "--session-ttl"
	done
	for v in -1 abc '' 10000001 1e3; do
		run "$SERVER" --db "$BATS_TEST_TMPDIR/x.db" --max-stored-per-owner "$v"
		[ "$status" -eq 2 ] || fail "--max-stored-per-owner '$v' gave $status: $output"
		assert_output --partial -- "--max-stored-per-owner"
	done
	run "$SERVER" --session-ttl
	[ "$status" -eq 2 ]
}
