#!/usr/bin/env bats
# revenge-probe sync --accuracy against a real revenge-server: members'
# agreement on the position measured, judged against --tolerance-ms.
load helpers

PROBE="$REVENGE_BUILD/bin/revenge-probe"

setup() {
	start_server
}

teardown() {
	stop_server || true
}

probe() {
	run "$PROBE" --url "$URL" --timeout 5s "$@"
}

json_field() { # JSON FIELD-EXPR
	"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

@test "sync --accuracy passes on a local server with a generous tolerance, --json has the spread" {
	probe --json sync --accuracy --tolerance-ms 50
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["check"] == "sync" and r["ok"] and r["exit"] == 0, r
d = r["details"]
assert d["mode"] == "host" and d["members"] == 3 and d["playing"], d
assert d["samples"] >= 100 and d["window_ms"] == 3000 and d["tolerance_ms"] == 50, d
s = d["spread_ms"]
assert 0 <= s["p50"] <= s["p99"] <= s["max"] < 50, s
assert d["clock_bound_ms"] >= 0, d
'
	probe sync --accuracy --members 1
	assert_success
	assert_output --regexp "^ok sync: 2 members agree: spread p50 [0-9.]+ / p99 [0-9.]+ / max"
}

@test "sync --accuracy exits 1 when the spread is not within --tolerance-ms (0: never)" {
	probe sync --accuracy --tolerance-ms 0
	assert_failure 1
	assert_output --partial "positions spread p99"
	assert_output --partial "tolerance 0.000 ms"
}

@test "sync --accuracy in a party someone else hosts only watches" {
	# another client hosts (and resumes) the party for the whole check
	printf '%s\n' '{"type":"sync","payload":{"position":5,"playing":true,"speed":1}}' |
		rvcat --linger 15000 "$URL/ws/party/watched-1?name=other" >"$BATS_TEST_TMPDIR/host.out" 3>&- &
	local host=$!
	wait_for "$BATS_TEST_TMPDIR/host.out" '"welcome"'
	probe --json sync --accuracy --party watched-1 --members 2
	kill "$host" 2>/dev/null || true
	assert_success
	assert_equal "$(json_field "$output" 'd["details"]["mode"], d["details"]["playing"]')" "('passive', True)"
}

@test "sync --accuracy: bad values refused" {
	run -2 "$PROBE" sync --accuracy --tolerance-ms -1
	assert_output --partial -- "--tolerance-ms"
	run -2 "$PROBE" sync --accuracy --members 0
	assert_output --partial -- "--members"
	run -2 "$PROBE" sync --accuracy=yes
	assert_output --partial -- "--accuracy"
}
