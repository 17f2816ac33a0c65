#!/usr/bin/env bats
# Start-up, idling and the SIGTERM/SIGINT drain of a real server.
load helpers

teardown() {
	[ -n "${SERVER_PID:-}" ] && kill -KILL "$SERVER_PID" 2>/dev/null || true
	jobs -p | xargs -r kill 2>/dev/null || true
}

# drain_with SIGNAL: clients are closed with 1001 and the server exits 0 fast.
drain_with() {
	start_server
	rvcat --timeout 20000 --count 99 "$URL/ws/party/dr?name=a" </dev/null >"$BATS_TEST_TMPDIR/a.out" 3>&- &
	local a=$!
	"$PY" "$PYHELP/party_check.py" "$URL" welcome >/dev/null 2>&1 3>&- &
	wait_for "$BATS_TEST_TMPDIR/a.out" '"welcome"'
	local t0=$(date +%s%N)
	kill "-$1" "$SERVER_PID"
	local rc=0
	wait "$SERVER_PID" || rc=$?
	local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	SERVER_PID=
	assert_equal "$rc" 0
	[ "$ms" -lt 2000 ] || fail "drain took $ms ms with well-behaved clients"
	wait "$a" || true
	run cat "$BATS_TEST_TMPDIR/a.out"
	assert_line '#closed 1001 server shutting down'
	run grep -c 'draining' "$SERVER_LOG"
	assert_output 1
}

# bats test_tags=timed
@test "SIGTERM closes every client with 1001 and exits 0 promptly" {
	drain_with TERM
}

# bats test_tags=timed
@test "SIGINT drains the same way" {
	drain_with INT
}

# bats test_tags=timed
@test "while draining, /healthz is 503, new joins are refused, and exit is within 5 s" {
	# a client that stops reading keeps the drain waiting for its deadline
	start_server --rate-limit 0 --frame-rate 0 --party-chat-rate 0 --queue-max 100000
	PYTHONPATH="$PYHELP" "$PY" "$PYHELP/stall_client.py" "$PORT" 10 >"$BATS_TEST_TMPDIR/stall" 3>&- &
	wait_for "$BATS_TEST_TMPDIR/stall" joined
	run py "$PYHELP/flood.py" "$URL" stall 4000 2000
	assert_output flooded
	local t0=$(date +%s%N)
	kill -TERM "$SERVER_PID"
	sleep 0.3
	run http_get /healthz
	assert_line --index 0 503
	assert_output --partial '"status":"draining"'
	run rvcat "$URL/ws/party/late" </dev/null
	assert_output --partial '#refused 503'
	local rc=0
	wait "$SERVER_PID" || rc=$?
	local ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	SERVER_PID=
	assert_equal "$rc" 0
	[ "$ms" -lt 5000 ] || fail "drain took $ms ms, limit is 5000"
}

# bats test_tags=timed
@test "an idle server with open connections uses ~0% CPU" {
	start_server
	for i in $(seq 1 20); do
		rvcat --timeout 20000 --count 999 "$URL/ws/party/idle$((i % 4))" </dev/null >/dev/null 3>&- &
	done
	# all 20 in (bounded), then a moment for their joins to settle
	for i in $(seq 1 200); do
		http_get /metrics | grep -qx 'revenge_connections{endpoint="party"} 20' && break
		sleep 0.05
	done
	http_get /metrics | grep -qx 'revenge_connections{endpoint="party"} 20' ||
		fail "the 20 clients never all connected"
	sleep 0.5
	local before after
	before=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
	sleep 3
	after=$(awk '{print $14 + $15}' "/proc/$SERVER_PID/stat")
	# clock ticks are 10 ms: 3 s at 1% would be 3 ticks
	[ $((after - before)) -le 3 ] || fail "server used $((after - before)) ticks in 3 s while idle"
	stop_server
}

@test "no leaks in valgrind on a clean shutdown" {
	local server="$SERVER"
	# valgrind does not run ASan binaries: the plain tree's server, once
	case "$REVENGE_BUILD" in
	*asan*)
		[ -z "${REVENGE_PLAIN_PASS:-}" ] || skip "run in the plain pass"
		server="${REVENGE_PLAIN_BUILD:-}/bin/revenge-server"
		[ -x "$server" ] || skip "valgrind does not run ASan binaries, and no plain build"
		;;
	esac
	command -v valgrind >/dev/null || skip "valgrind not installed"
	local out="$BATS_TEST_TMPDIR/out" vg="$BATS_TEST_TMPDIR/vg.log"
	valgrind --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
		--log-file="$vg" "$server" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/db" \
		>"$out" 2>/dev/null 3>&- &
	SERVER_PID=$!
	wait_for "$out" 'listening on' 30
	URL=$(sed -n 's/^revenge-server: listening on //p' "$out")
	PORT=${URL##*:}
	run py "$PYHELP/party_check.py" "$URL" chat_history
	assert_success
	rvcat --timeout 20000 --count 99 "$URL/ws/party/vg" </dev/null >"$BATS_TEST_TMPDIR/vg-member" 3>&- &
	wait_for "$BATS_TEST_TMPDIR/vg-member" '"welcome"' 30
	http_get /metrics >/dev/null
	local rc=0
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	[ "$rc" -eq 0 ] || { cat "$vg"; fail "valgrind exit $rc"; }
	run grep -E 'definitely lost: [1-9]|indirectly lost: [1-9]|ERROR SUMMARY: [1-9]' "$vg"
	[ "$status" -ne 0 ] || { cat "$vg"; fail "valgrind found errors or leaks"; }
}
