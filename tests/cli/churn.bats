#!/usr/bin/env bats
# Join/leave churn (issue 12, item 3): one client joining and leaving a
# party in a loop made every member receive thousands of member_joined and
# member_left a second. --handshake-rate-per-ip and --party-join-rate bound
# it at the handshake with 429 and Retry-After, while a party's burst of
# joiners still gets in. Raw-socket clients from tests/helpers/churn_storm.py;
# the storm's bound depends on how long it ran, so this file times what it
# sees (scripts/run-tests.sh runs it alone).
load helpers

teardown() {
	stop_server || true
}

# val KEY: the value of churn_storm.py's `KEY value` line in $output.
val() {
	awk -v k="$1" '$1 == k { print $2 }' <<<"$output"
}

# metric LINE: the value of the /metrics line starting with LINE.
metric() {
	http_get /metrics | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}

# bats test_tags=timed
@test "a join/leave storm on the defaults: at most the party's burst plus 20/s get in; the rest 429 with Retry-After; the member sees only those" {
	start_server
	run -0 timeout 30 "$PY" "$PYHELP/churn_storm.py" storm "$PORT" 2.5 30000
	echo "$output"
	local secs admitted
	secs=$(val seconds)
	admitted=$(val admitted)
	# today's server admitted every cycle (thousands a second); the
	# party's bucket holds 200 and refills at 20/s (+1 for rounding)
	(( admitted <= 200 + $(awk -v s="$secs" 'BEGIN { printf "%d", s * 20 + 1 }') ))
	(( admitted >= 200 ))
	(( $(val refused_429) > 0 ))
	[ "$(val other)" = 0 ]
	[ "$(val bad_retry_after)" = 0 ]
	(( $(val observed_joined) <= admitted ))
	(( $(val observed_left) <= admitted ))
	[ "$(val observer_closed)" = 0 ]
	# counted by reason, logged once a second rather than per refusal
	(( $(metric 'revenge_handshakes_refused_total{status="429"}') == $(val refused_429) ))
	(( $(metric 'revenge_conn_refusals_total{reason="handshake_rate"}') > 0 ))
	(( $(metric 'revenge_conn_refusals_total{reason="party_join_rate"}') > 0 ))
	wait_for "$SERVER_LOG" "connections_refused .*handshake_rate"
	run grep -c handshake_refused "$SERVER_LOG"
	[ "$output" = 0 ]
}

# bats test_tags=timed
@test "a party of 200 joining at once on the defaults all get in; so does another party's 200 right after, from the same address" {
	start_server
	run -0 timeout 30 "$PY" "$PYHELP/churn_storm.py" burst "$PORT" 200 big
	[ "$(val admitted)" = 200 ]
	[ "$(val refused)" = 0 ]
	# within the address's burst of 500 handshakes
	run -0 timeout 30 "$PY" "$PYHELP/churn_storm.py" burst "$PORT" 200 big2
	[ "$(val admitted)" = 200 ]
}

# bats test_tags=timed
@test "--party-join-rate 1: bursts of 10 after the first, then 429 with Retry-After 1; another party is not affected" {
	start_server --party-join-rate 1
	run -0 timeout 30 "$PY" "$PYHELP/churn_storm.py" refusal "$PORT" 14 p
	echo "$output"
	[ "$(val anchor)" = 101 ]
	local ok refused
	ok=$(grep -c '^status 101 ' <<<"$output")
	refused=$(grep -c '^status 429 retry_after 1 body party_join_rate_reached_(1/s)$' <<<"$output")
	(( ok >= 10 && ok <= 11 ))
	(( ok + refused == 14 ))
	# the first ten are in, whatever the timing
	[ "$(sed -n 2,11p <<<"$output" | grep -c '^status 101 ')" = 10 ]
	run -0 timeout 30 "$PY" "$PYHELP/churn_storm.py" refusal "$PORT" 3 q
	[ "$(grep -c '^status 101 ' <<<"$output")" = 3 ]
	(( $(metric 'revenge_conn_refusals_total{reason="party_join_rate"}') == refused ))
	(( $(metric 'revenge_conn_refusals_total{reason="handshake_rate"}') == 0 ))
}

# bats test_tags=timed
@test "--handshake-rate-per-ip 1: ten handshakes from one address, then 429 on every endpoint; /healthz and /metrics are not counted" {
	start_server --handshake-rate-per-ip 1
	for i in 1 2 3; do run -0 http_get /healthz; done
	run -0 timeout 30 "$PY" "$PYHELP/churn_storm.py" refusal "$PORT" 13 -
	echo "$output"
	local ok refused
	ok=$(grep -c '^status 101 ' <<<"$output")
	refused=$(grep -c '^status 429 retry_after 1 body handshake_rate_per_address_reached_(1/s)$' <<<"$output")
	(( ok >= 10 && ok <= 11 ))
	(( ok + refused == 13 ))
	# progress and stream handshakes draw on the same bucket
	run -0 "$PY" -c '
import sys; sys.path.insert(0, sys.argv[2])
from wsraw import RawWS
for path in ("/ws/progress/s1", "/ws/stream/s1"):
    w = RawWS(int(sys.argv[1]), path)
    print(w.status, "retry-after: 1" in w.headers.lower())
' "$PORT" "$PYHELP"
	[ "$output" = $'429 True\n429 True' ]
	run -0 http_get /healthz
	[ "${lines[0]}" = 200 ]
	(( $(metric 'revenge_conn_refusals_total{reason="handshake_rate"}') == refused + 2 ))
}

# bats test_tags=timed
@test "0 disables both: a storm gets every join in" {
	start_server --handshake-rate-per-ip 0 --party-join-rate 0
	run -0 timeout 30 "$PY" "$PYHELP/churn_storm.py" storm "$PORT" 1 600
	echo "$output"
	[ "$(val cycles)" = 600 ]
	[ "$(val admitted)" = 600 ]
	[ "$(val refused_429)" = 0 ]
	grep -q "WebSocket handshakes/s per client address (no limit)" "$SERVER_LOG"
}

@test "--handshake-rate-per-ip and --party-join-rate usage errors: malformed, negative, huge, missing" {
	for flag in --handshake-rate-per-ip --party-join-rate; do
		for v in -1 abc 1.5 "" 1000001 99999999999999999999 " 5" 0x10; do
			run -2 "$SERVER" "$flag" "$v"
			assert_output "revenge-server: $flag: expected a whole number from 0 to 1000000, got '$v' (see --help)"
		done
		run -2 "$SERVER" "$flag"
		[[ "$output" == *"$flag"* ]]
		run -0 "$SERVER" "$flag" 1000000 --help
	done
}
