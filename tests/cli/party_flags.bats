#!/usr/bin/env bats
# Server flags that change party behaviour, each against its own server.
load helpers

teardown() {
	stop_server
}

@test "--history N keeps the last N chats" {
	start_server --history 3
	run py "$PYHELP/party_check.py" "$URL" history_limit
	assert_success
}

@test "--rate-limit answers rate_limited beyond the rate" {
	start_server --rate-limit 5
	run py "$PYHELP/party_check.py" "$URL" rate_limited
	assert_success
}

@test "--origin replaces the default allowlist" {
	start_server --origin '*.example.com' --origin 'https://app.test'
	run py "$PYHELP/party_check.py" "$URL" origin_custom
	assert_success
}

@test "--max-message sets the 1009 threshold" {
	start_server --max-message 1024
	run rvcat --linger 2000 "$URL/ws/party/mm" <<<"{\"type\":\"chat\",\"payload\":{\"text\":\"$(printf 'x%.0s' $(seq 1 1100))\"}}"
	assert_output --partial '#closed 1009'
}

@test "a member that stops reading is closed with 1013 and counted; the others are unaffected" {
	start_server --queue-max 64 --rate-limit 0 --frame-rate 0 --party-chat-rate 0
	PYTHONPATH="$PYHELP" "$PY" "$PYHELP/stall_client.py" "$PORT" 20 >"$BATS_TEST_TMPDIR/stall" 3>&- &
	local stall=$!
	wait_for "$BATS_TEST_TMPDIR/stall" joined
	run py "$PYHELP/flood.py" "$URL" stall 4000 2000
	assert_output flooded
	# the close frame cannot reach a peer that does not read: the
	# connection is dropped after the 3 s close grace
	for i in $(seq 1 50); do
		http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
		grep -q 'revenge_closes_total{code="1013"} 1' "$BATS_TEST_TMPDIR/metrics.txt" && break
		sleep 0.2
	done
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_slow_clients_dropped_total=1' 'revenge_closes_total{code="1013"}=1' \
		'revenge_messages_in_total{type="chat"}=4000' 'revenge_connections{endpoint="party"}=0'
	assert_success
	run grep -c 'client_dropped' "$SERVER_LOG"
	assert_output 1
	kill "$stall" 2>/dev/null || true
}

@test "a burst of syncs read in one turn, beyond --queue-max, all reach a member that reads" {
	start_server --queue-max 16 --rate-limit 0 --frame-rate 0 --party-chat-rate 0
	run env PYTHONPATH="$PYHELP" "$PY" "$PYHELP/sync_burst.py" "$URL" "$PORT" 500
	assert_success
	assert_output "ok 500 syncs"
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_slow_clients_dropped_total=0' 'revenge_state_superseded_total=0' \
		'revenge_messages_in_total{type="sync"}=500'
	assert_success
}

@test "a member that stops reading gets only the newest syncs: stale ones are superseded, not fatal" {
	start_server --queue-max 64 --rate-limit 0 --frame-rate 0 --party-chat-rate 0
	PYTHONPATH="$PYHELP" "$PY" "$PYHELP/sync_stall.py" "$URL" "$PORT" 40000 >"$BATS_TEST_TMPDIR/out" 3>&- &
	local pid=$!
	wait_for "$BATS_TEST_TMPDIR/out" sent 30
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_state_superseded_total>0' 'revenge_slow_clients_dropped_total=0' \
		'revenge_messages_in_total{type="sync"}=40000' 'revenge_connections{endpoint="party"}=2'
	assert_success
	wait "$pid"
}
