#!/usr/bin/env bats
# Caps on what clients can make the server keep (--max-parties,
# --max-members, --max-sessions, --max-sessions-per-owner): a handshake
# that would pass one is refused with 503 and a reason naming it, counted
# in /metrics. Independent clients: python3-websockets and http.client.
load helpers

teardown() {
	stop_server || true
}

lc() {
	run py "$PYHELP/limits_check.py" "$URL" "$@"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

# metrics_are SAMPLE=VALUE...: /metrics is valid and holds each sample.
# A counter that a retry after a close may raise is checked as at least
# one with metric_counted.
metrics_are() {
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" "$@"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

metric_counted() {
	grep -qE "^$(printf '%s' "$1" | sed 's/[{}]/\\&/g') [1-9][0-9]*\$" "$BATS_TEST_TMPDIR/metrics.txt" ||
		{ echo "$1 not counted:"; grep -F "${1%%\{*}" "$BATS_TEST_TMPDIR/metrics.txt"; false; }
}

@test "--max-parties 2: a third party is refused with 503, joining a live one is not; an emptied party frees its place" {
	start_server --max-parties 2
	lc parties
	metrics_are 'revenge_limit_refusals_total{limit="members"}=0'
	metric_counted 'revenge_limit_refusals_total{limit="parties"}'
	metric_counted 'revenge_handshakes_refused_total{status="503"}'
}

@test "--max-members 2: a third member is refused with 503; a leaver frees the place" {
	start_server --max-members 2
	lc members
	metrics_are 'revenge_limit_refusals_total{limit="parties"}=0'
	metric_counted 'revenge_limit_refusals_total{limit="members"}'
}

@test "--max-sessions 3: progress and stream sessions count together; a fourth is refused, a live one is joined" {
	start_server --max-sessions 3
	lc sessions
	metrics_are 'revenge_limit_refusals_total{limit="sessions_per_owner"}=0'
	metric_counted 'revenge_limit_refusals_total{limit="sessions"}'
}

@test "revenge_sessions counts live sessions by endpoint" {
	start_server
	py - "$URL" <<'PYEOF'
import asyncio, sys, urllib.request, websockets
url = sys.argv[1]
async def main():
    held = [await websockets.connect(url + p, subprotocols=["revenge.v1"])
            for p in ("/ws/progress/a", "/ws/progress/a", "/ws/progress/b", "/ws/stream/a")]
    http = url.replace("ws://", "http://")
    text = urllib.request.urlopen(http + "/metrics").read().decode()
    for want in ('revenge_sessions{endpoint="progress"} 2', 'revenge_sessions{endpoint="stream"} 1'):
        assert want in text, want
    for ws in held:
        await ws.close()
asyncio.run(main())
PYEOF
	sleep 0.3
	metrics_are 'revenge_sessions{endpoint="progress"}=0' 'revenge_sessions{endpoint="stream"}=0'
}

@test "--max-sessions-per-owner 2 with tokens: subject A at its cap is refused, B still gets in" {
	local secret="$BATS_TEST_TMPDIR/secret" a b
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$secret"
	a=$("$SERVER" token --auth-secret-file "$secret" --sub A --session '*')
	b=$("$SERVER" token --auth-secret-file "$secret" --sub B --session '*')
	start_server --auth-secret-file "$secret" --max-sessions-per-owner 2
	lc per_owner_tokens "$a" "$b"
	metrics_are 'revenge_limit_refusals_total{limit="sessions"}=0'
	metric_counted 'revenge_limit_refusals_total{limit="sessions_per_owner"}'
}

@test "--max-sessions-per-owner 2 on an open server counts per client address" {
	start_server --max-sessions-per-owner 2
	lc per_owner_open
	metrics_are 'revenge_limit_refusals_total{limit="sessions_per_owner"}=1'
}

@test "0 disables every cap" {
	start_server --max-parties 0 --max-members 0 --max-sessions 0 --max-sessions-per-owner 0
	lc unlimited
	metrics_are 'revenge_limit_refusals_total{limit="parties"}=0' \
		'revenge_limit_refusals_total{limit="sessions"}=0'
}

@test "the caps' defaults are in --help" {
	run "$SERVER" --help
	assert_output --partial '--max-parties N'
	assert_output --partial '(default 10000; 0 = unlimited;'
	assert_output --partial '(default 5000; 0 = unlimited;'
	assert_output --partial '(default 50000; 0 = unlimited;'
	assert_output --partial '(default 100; 0 = unlimited;'
}

@test "bad cap values are usage errors" {
	local flag
	for flag in --max-parties --max-members --max-sessions --max-sessions-per-owner; do
		for v in -1 x '' 10000001 1.5; do
			run -2 "$SERVER" "$flag" "$v"
			assert_output "revenge-server: $flag: expected a whole number from 0 to 10000000, got '$v' (see --help)"
		done
	done
}
