#!/usr/bin/env bats
# Hostile senders against the read side (lib/rx.c): messages begun and
# never finished (--message-timeout, --partial-budget, memory given back),
# floods that no message count sees (--frame-rate: pings, empty
# continuations; --rate-limit now counts undecodable messages too), and
# one connection's flood must not hold the server's timers off. Raw
# sockets from tests/helpers/rx_attack.py; each test a few seconds.
load helpers

teardown() {
	stop_server || true
}

attack() {
	run py "$PYHELP/rx_attack.py" "$@"
	echo "$output"
	[ "$status" -eq 0 ]
}

# bats test_tags=timed
@test "--message-timeout: 200 clients holding 60 KB fragments are closed with 1008 and RSS falls back" {
	start_server --message-timeout 2 --max-conns-per-ip 0
	local rss=()
	# ASan's allocator keeps its own pools: RSS is only checked in the plain tree
	case "$REVENGE_BUILD" in *asan*) rss=(--no-rss-check) ;; esac
	attack partial "$PORT" "$SERVER_PID" 200 60000 2 "${rss[@]}"
	http_get /metrics | grep -q '^revenge_rx_closes_total{reason="message_timeout"} 200$'
	http_get /metrics | grep -q '^revenge_rx_partial_bytes 0$'
}

# bats test_tags=timed
@test "--partial-budget: past it the oldest unfinished message is closed with 1013, the newest finishes" {
	start_server --partial-budget 1048576
	attack budget "$PORT" 40 60000
	http_get /metrics | grep -qE '^revenge_rx_closes_total\{reason="partial_budget"\} [1-9]'
}

# bats test_tags=timed
@test "--frame-rate: a ping flood is closed with 1008 within 2 s; another client's round trips stay fast" {
	start_server
	attack flood "$PORT" ping 4
	http_get /metrics | grep -q '^revenge_rx_closes_total{reason="frame_rate"} 1$'
}

# bats test_tags=timed
@test "--frame-rate: a flood of empty continuation frames is closed with 1008" {
	start_server
	attack flood "$PORT" cont 4
}

# bats test_tags=timed
@test "--rate-limit counts undecodable messages: a garbage flood is closed with 1008" {
	start_server
	attack flood "$PORT" garbage 4
}

# bats test_tags=timed
@test "a flood that is never closed (--frame-rate 0) does not hold timeouts off" {
	start_server --frame-rate 0 --handshake-timeout 2 --message-timeout 2
	attack starve "$PORT" ping 5 2 2
}

# bats test_tags=timed
@test "during a flood that is never closed, a member marked for 1013 is gone after the 3 s close grace" {
	start_server --queue-max 64 --rate-limit 0 --party-chat-rate 0 --frame-rate 0
	attack mark1013 "$PORT" 8
}

@test "usage errors for --message-timeout, --partial-budget and --frame-rate" {
	run -2 "$SERVER" --message-timeout 3601
	[[ "$output" == *"--message-timeout: expected a whole number from 0 to 3600"* ]]
	run -2 "$SERVER" --partial-budget 1k
	[[ "$output" == *"--partial-budget: expected a whole number"* ]]
	run -2 "$SERVER" --frame-rate -1
	[[ "$output" == *"--frame-rate: expected a whole number from 0 to 1000000"* ]]
}
