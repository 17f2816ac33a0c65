#!/usr/bin/env bats
# Scheduled commands (the lead): a host's sync takes effect for everyone
# lead ms after the server stamps it, lead = clamp(2 x the highest member
# RTT, --lead-min, --lead-max), RTTs from the server's own pings.
load helpers

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then stop_server; fi
}

@test "a resume reaches every member stamped ahead by the lead; a pause never behind; welcome lead_ms; /metrics" {
	start_server
	run py "$PYHELP/lead_check.py" "$URL" scheduled
	assert_success
}

@test "a member that answers pings 300 ms late raises the lead (within --lead-max)" {
	start_server
	run py "$PYHELP/lead_check.py" "$URL" slow
	assert_success
}

@test "--lead-min 0: the lead is 2 x the RTT python-websockets' automatic pongs give" {
	start_server --lead-min 0
	run py "$PYHELP/lead_check.py" "$URL" answered
	assert_success
}

@test "pongs that do not echo the server's ping (wrong payload, unsolicited, 'ka') leave the lead alone" {
	start_server
	run py "$PYHELP/lead_check.py" "$URL" garbage_pongs
	assert_success
}

@test "--lead-max 0: syncs take effect when stamped (v1), lead_ms 0" {
	start_server --lead-max 0 --lead-min 500
	run py "$PYHELP/lead_check.py" "$URL" unscheduled
	assert_success
}

@test "--lead-min and --lead-max: whole ms 0 to 60000, min at most max; exit 2 naming the flag" {
	for bad in abc -1 1.5 60001 "" " 5" 99999999999999999999; do
		run -2 "$SERVER" --listen 127.0.0.1:0 --lead-min "$bad"
		assert_output --partial -- "--lead-min: expected a whole number from 0 to 60000"
		run -2 "$SERVER" --listen 127.0.0.1:0 --lead-max "$bad"
		assert_output --partial -- "--lead-max: expected a whole number from 0 to 60000"
	done
	run -2 "$SERVER" --listen 127.0.0.1:0 --lead-min 500 --lead-max 200
	assert_output --partial -- "--lead-min: 500 is above --lead-max 200"
	run -2 "$SERVER" --listen 127.0.0.1:0 --lead-max
	assert_output --partial -- "--lead-max"
	run "$SERVER" --help
	assert_output --partial -- "--lead-min MS"
	assert_output --partial -- "--lead-max MS"
}
