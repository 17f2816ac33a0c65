#!/usr/bin/env bats
# revenge-bench's party scenarios (fanout, chat, churn, fill) as a user
# meets them (issue 16): a run with errors or losses exits 1 and names the
# first error, in the table and in --json; Ctrl-C prints the results so far
# and exits 130; on a terminal the live line shows the time elapsed and
# left. Real servers, short runs.
load helpers

BENCH="$REVENGE_BUILD/bin/revenge-bench"
OPEN=(--rate-limit 0 --frame-rate 0 --party-chat-rate 0 --max-conns-per-ip 0
	--handshake-rate-per-ip 0 --party-join-rate 0)

teardown() {
	[ -z "${TTY_PID:-}" ] || kill "$TTY_PID" 2>/dev/null || true
	[ -z "${BENCH_PID:-}" ] || kill "$BENCH_PID" 2>/dev/null || true
	stop_server
}

# on_tty OUT ARGS...: revenge-bench ARGS on a pseudo-terminal (script(1)),
# in the background, what it wrote to the terminal in OUT; sets TTY_PID
# (script's) and BENCH_PID (the bench's, script's child).
on_tty() {
	local out=$1 i
	shift
	BENCH_PID=
	script -qfec "exec $(printf '%q ' "$BENCH" "$@")" "$out" >/dev/null 2>&1 3>&- &
	TTY_PID=$!
	for i in $(seq 1 100); do
		BENCH_PID=$(pgrep -P "$TTY_PID" -f revenge-bench) && return 0
		sleep 0.05
	done
	echo "revenge-bench did not start under script" >&2
	return 1
}

# wait_exit PID SECONDS: until PID has exited (bounded); then its status
# in $status, as `run` sets it.
wait_exit() {
	local i
	for i in $(seq 1 $(($2 * 20))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	status=0
	wait "$1" || status=$?
}

# json_is FILE PYTHON: the assertions on the JSON object r in FILE.
json_is() {
	"$PY" -c "import json, sys
r = json.load(open(sys.argv[1]))
$2" "$1"
}

@test "fanout refused by the server's rate limit: exit 1, the first error in the table and in --json" {
	start_server --rate-limit 1
	run -1 "$BENCH" --url "$URL" fanout --parties 2 --members 3 --rate 20 --duration 500ms
	assert_line "first error   rate_limited: more than 1 messages per second"
	assert_line --regexp '^errors +[1-9][0-9]*$'
	run -1 --separate-stderr "$BENCH" --url "$URL" fanout --parties 2 --members 3 --rate 20 \
		--duration 500ms --json
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["first_error"] == "rate_limited: more than 1 messages per second", r
assert r["errors"] > 0 and r["received"] < r["expected"] and r["interrupted"] is False, r'
}

@test "a healthy fanout: exit 0, first_error null" {
	start_server "${OPEN[@]}"
	run -0 "$BENCH" --url "$URL" fanout --parties 2 --members 3 --rate 5 --duration 500ms --json
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["first_error"] is None and r["interrupted"] is False and r["loss_pct"] == 0, r'
	run -0 "$BENCH" --url "$URL" fanout --parties 2 --members 3 --rate 5 --duration 500ms
	refute_line --partial "first error"
}

@test "chat refused by the server's rate limit: exit 1 and the first error" {
	start_server --rate-limit 1
	run -1 "$BENCH" --url "$URL" chat --parties 2 --members 3 --rate 20 --duration 500ms
	assert_line "first error   rate_limited: more than 1 messages per second"
}

@test "churn: a stable host refused, or a party that refuses the churning members: exit 1, the first error" {
	start_server --rate-limit 1 --max-members 3 --party-join-rate 0 --handshake-rate-per-ip 0 \
		--max-conns-per-ip 0
	# the party is full with its 3 stable members: every churning member is
	# refused, and the host's 20 syncs a second are over the rate limit
	run -1 "$BENCH" --url "$URL" churn --parties 1 --members 3 --rate 20 --churn 10 --duration 500ms
	assert_line --regexp '^first error   (rate_limited: more than 1 messages per second|churning member refused: HTTP 503 member limit reached \(3\))$'
	run -1 --separate-stderr "$BENCH" --url "$URL" churn --parties 1 --members 3 --rate 20 \
		--churn 10 --duration 500ms --json
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["first_error"].startswith(("rate_limited: ", "churning member refused: HTTP 503")), r
assert r["joins_failed"] > 0 and r["errors"] > 0 and r["interrupted"] is False, r'
}

@test "fill into a party that refuses members: exit 1, the refusal in the table and in --json" {
	start_server "${OPEN[@]}" --max-members 5
	run -1 "$BENCH" --url "$URL" fill --parties 1 --members 8 --duration 500ms
	assert_line "first failure refused: HTTP 503 member limit reached (5)"
	run -1 --separate-stderr "$BENCH" --url "$URL" fill --parties 1 --members 8 --duration 500ms \
		--json
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["first_error"] == "refused: HTTP 503 member limit reached (5)", r
assert r["connected"] == 5 and r["failed"] == 3 and r["interrupted"] is False, r'
}

@test "Ctrl-C (SIGINT) in fanout, chat and churn: the results so far, marked interrupted, exit 130" {
	start_server "${OPEN[@]}"
	local sc out
	for sc in "fanout --rate 5" "chat --rate 2" "churn --rate 5 --churn 10"; do
		out="$BATS_TEST_TMPDIR/${sc%% *}.tty"
		# shellcheck disable=SC2086
		on_tty "$out" --url "$URL" $sc --parties 2 --members 3 --duration 60s
		# after the first progress line of the window
		wait_for "$out" "measuring .* elapsed" 20
		kill -INT "$BENCH_PID"
		wait_exit "$TTY_PID" 15
		TTY_PID=
		[ "$status" -eq 130 ] || { cat "$out"; echo "$sc: exit $status"; false; }
		grep -q "^interrupted   by Ctrl-C [0-9.]* s into the window: the results so far" "$out" ||
			{ cat "$out"; false; }
		grep -q "scenario      ${sc%% *} (" "$out"
	done
}

@test "Ctrl-C (SIGINT) with --json: the results so far, interrupted true, exit 130" {
	start_server "${OPEN[@]}"
	"$BENCH" --url "$URL" --json fanout --parties 2 --members 3 --rate 5 --duration 60s \
		>"$BATS_TEST_TMPDIR/r.json" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
	BENCH_PID=$!
	local i n=0
	# into the window: the hosts' syncs reach the server
	for i in $(seq 1 200); do
		n=$(http_get /metrics | sed -n 's/^revenge_messages_in_total{type="sync"} //p')
		[ "${n:-0}" -ge 5 ] && break
		sleep 0.05
	done
	[ "${n:-0}" -ge 5 ]
	kill -INT "$BENCH_PID"
	wait_exit "$BENCH_PID" 15
	BENCH_PID=
	[ "$status" -eq 130 ]
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["interrupted"] is True and 0 < r["duration_s"] < 30, r
assert r["sent"] > 0 and r["received"] > 0, r'
}

@test "Ctrl-C (SIGINT) in fill before its window: said, exit 130" {
	start_server "${OPEN[@]}"
	local out="$BATS_TEST_TMPDIR/fill.tty"
	on_tty "$out" --url "$URL" fill --parties 2 --members 5 --duration 60s
	wait_for "$out" "settling" 20
	kill -INT "$BENCH_PID"
	wait_exit "$TTY_PID" 15
	TTY_PID=
	[ "$status" -eq 130 ] || { cat "$out"; false; }
	grep -q "^interrupted   by Ctrl-C" "$out" || { cat "$out"; false; }
}

@test "on a terminal the live line shows the time elapsed and left; none with --json or piped" {
	start_server "${OPEN[@]}"
	local sc out
	for sc in "fanout --rate 5 --parties 2 --members 3" "chat --rate 2 --parties 2 --members 3" \
		"churn --rate 5 --churn 10 --parties 2 --members 3" "progress --sessions 5"; do
		out="$BATS_TEST_TMPDIR/${sc%% *}.tty"
		# shellcheck disable=SC2086
		on_tty "$out" --url "$URL" --duration 1s $sc
		wait_exit "$TTY_PID" 30
		TTY_PID=
		[ "$status" -eq 0 ] || { cat "$out"; false; }
		grep -Eq $'\r\033\\[Kmeasuring +[0-9]+\\.[0-9]s elapsed, +[0-9]+\\.[0-9]s left' "$out" ||
			{ cat -A "$out"; echo "$sc: no elapsed/left"; false; }
	done
	# --json on a terminal: no live line
	out="$BATS_TEST_TMPDIR/json.tty"
	on_tty "$out" --url "$URL" --duration 500ms --json fanout --parties 1 --members 2 --rate 5
	wait_exit "$TTY_PID" 30
	TTY_PID=
	[ "$status" -eq 0 ]
	! grep -q "elapsed" "$out"
	# piped: none either
	run -0 --separate-stderr "$BENCH" --url "$URL" --duration 500ms chat --parties 1 --members 2
	[ -z "$stderr" ]
	refute_output --partial "elapsed"
}

@test "progress names what failed it in first_error too: a connection, or no ack" {
	run -1 --separate-stderr "$BENCH" --url ws://127.0.0.1:1 --json progress --sessions 2 \
		--duration 200ms
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["first_error"].startswith("cannot connect: "), r'
	run -1 "$BENCH" --url ws://127.0.0.1:1 progress --sessions 2 --duration 200ms
	assert_line --partial "first failure cannot connect: "
	refute_line --partial "first error"
}

# bad_server MODE: tests/helpers/bad_server.py MODE in the background;
# sets BENCH_PID (teardown stops it) and BAD_URL.
bad_server() {
	"$PY" "$PYHELP/bad_server.py" "$1" >"$BATS_TEST_TMPDIR/bad-$1.out" 2>&1 3>&- &
	BENCH_PID=$!
	wait_for "$BATS_TEST_TMPDIR/bad-$1.out" '^listening '
	BAD_URL="ws://127.0.0.1:$(awk '{ print $2; exit }' "$BATS_TEST_TMPDIR/bad-$1.out")"
}

@test "progress: a peer's error text with quotes, backslashes and control characters stays valid JSON in first_error" {
	bad_server errtext
	run -1 --separate-stderr "$BENCH" --url "$BAD_URL" --json progress --sessions 2 \
		--duration 300ms
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	# escapes decoded, line breaks and control characters as spaces
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["first_error"] == "bad\"code: say \"hi\" \\ back line tab bell \u00e9", r
assert r["errors"] > 0 and r["acked"] == 0, r'
	# the table: the same, on one line
	run -1 "$BENCH" --url "$BAD_URL" progress --sessions 2 --duration 300ms
	assert_line 'first error   bad"code: say "hi" \ back line tab bell é'
}

@test "progress: a close reason with quotes, a backslash and a tab stays valid JSON in first_error" {
	bad_server closetext
	run -1 --separate-stderr "$BENCH" --url "$BAD_URL" --json progress --sessions 2 \
		--duration 300ms
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	json_is "$BATS_TEST_TMPDIR/r.json" '
assert r["first_error"] == "closed by server: 4000 no \"way\" \\ out now", r'
}

@test "fill ends once every member has its sync: duration_s is the time it measured, not --duration" {
	start_server "${OPEN[@]}"
	local t0=$SECONDS
	run -0 --separate-stderr "$BENCH" --url "$URL" --json fill --parties 1 --members 3 \
		--duration 20s
	local wall=$((SECONDS - t0))
	echo "$output" >"$BATS_TEST_TMPDIR/r.json"
	json_is "$BATS_TEST_TMPDIR/r.json" "
assert r['first_error'] is None and r['sync_received'] == r['sync_expected'] == 2, r
assert 0 <= r['duration_s'] <= $wall + 1 and r['duration_s'] < 15, r"
	# it did end early: well before the 20 s asked for
	[ "$wall" -lt 15 ]
}
