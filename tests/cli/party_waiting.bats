#!/usr/bin/env bats
# The watch party's waiting room (issue 13): buffering members hold a
# resume, a member that never gets ready is dropped after --ready-timeout,
# a stall mid-play after --rebuffer-timeout, the host forces a start, a late
# joiner never pauses the others. Real servers, an independent client
# (python3-websockets, tests/helpers/waiting_check.py), bounded waits.
load helpers

setup_file() {
	# short timeouts, for the scenarios that wait for them (about a second)
	start_server --ready-timeout 600 --rebuffer-timeout 400
	echo "$SERVER_PID" >"$BATS_FILE_TMPDIR/pid"
	echo "$URL" >"$BATS_FILE_TMPDIR/url"
	echo "$PORT" >"$BATS_FILE_TMPDIR/port"
	# the defaults (8 s, 3 s), for those that must not run into them on a
	# loaded machine; its own directory (store, log)
	mkdir -p "$BATS_FILE_TMPDIR/s2"
	BATS_TEST_TMPDIR="$BATS_FILE_TMPDIR/s2" start_server
	echo "$SERVER_PID" >"$BATS_FILE_TMPDIR/pid2"
	echo "$URL" >"$BATS_FILE_TMPDIR/url2"
}

teardown_file() {
	local rc=0
	SERVER_PID=$(cat "$BATS_FILE_TMPDIR/pid")
	stop_server || rc=$?
	SERVER_PID=$(cat "$BATS_FILE_TMPDIR/pid2")
	stop_server || rc=$?
	return $rc
}

setup() {
	URL=$(cat "$BATS_FILE_TMPDIR/url")
	URL2=$(cat "$BATS_FILE_TMPDIR/url2")
	PORT=$(cat "$BATS_FILE_TMPDIR/port")
}

scenario() {
	run py "$PYHELP/waiting_check.py" "$URL" "$1"
	assert_success
}

# on the server with the default timeouts
scenario2() {
	run py "$PYHELP/waiting_check.py" "$URL2" "$1"
	assert_success
}

# metric LINE: the value of the /metrics line starting with LINE.
metric() {
	http_get /metrics | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}

@test "a member that never gets ready is dropped (ready_timeout) and the party plays; back in once ready" {
	scenario never_ready
	(( $(metric revenge_party_barrier_timeouts_total) >= 1 ))
	(( $(metric revenge_party_waits_total) >= 2 ))
	grep -q 'party_wait_timeout.*party=wr-never.*dropped=1' "$BATS_FILE_TMPDIR/server.log"
}
@test "a stall mid-play pauses everyone, then is dropped (rebuffer_timeout) and the party resumes" { scenario rebuffer; }
@test "a stall mid-play resumes from the same position when the member is ready" { scenario2 rebuffer_ready; }
@test "the host forces a start; a member may not" { scenario2 forced_start; }
@test "a late joiner mid-play never pauses the others" { scenario late_joiner; }
@test "hostile order: ready without buffering, buffering twice, payloads" { scenario hostile; }

@test "a buffering member holds the host's resume until ready, then a scheduled start" { scenario2 hold_release; }

@test "--ready-timeout and --rebuffer-timeout usage errors: malformed, out of range, missing" {
	for flag in --ready-timeout --rebuffer-timeout; do
		for v in -1 abc 1.5 "" 99 0 600001 99999999999999999999 " 5" 0x10; do
			run -2 "$SERVER" "$flag" "$v"
			assert_output "revenge-server: $flag: expected a whole number from 100 to 600000, got '$v' (see --help)"
		done
		run -2 "$SERVER" "$flag"
		[[ "$output" == *"$flag"* ]]
		run -0 "$SERVER" "$flag" 100 --help
		run -0 "$SERVER" "$flag" 600000 --help
		[[ "$output" == *"$flag MS"* ]]
	done
}
