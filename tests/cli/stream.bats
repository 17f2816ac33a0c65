#!/usr/bin/env bats
# /ws/stream/{session_id}: quality state, requests, suggestions.
load helpers

teardown() {
	stop_server
	# a failed restart test shows what both servers said of the store
	if [ -z "${BATS_TEST_COMPLETED:-}" ]; then
		for f in "$BATS_TEST_TMPDIR"/*.log; do
			[ -f "$f" ] && { echo "--- $f"; cat "$f"; }
		done
	fi
}

pc() {
	run py "$PYHELP/progress_check.py" "$URL" "$@"
	assert_success
}

@test "quality_state on connect, quality_request, unknown_profile, resume on reconnect" {
	start_server
	pc quality_state
}

@test "a bandwidth collapse is answered with a lower suggestion; bad reports get bad_payload" {
	start_server
	pc suggest
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_quality_suggestions_total{direction="down"}=1' \
		'revenge_quality_suggestions_total{direction="up"}=0'
	assert_success
}

@test "a session's profile survives a restart" {
	start_server
	pc quality_request keep-1 480p
	stop_server
	cp "$SERVER_LOG" "$BATS_TEST_TMPDIR/first-run.log"
	start_server
	pc quality_resumes keep-1 480p
}

@test "--ladder sets the profiles" {
	start_server --ladder 'lo:500,hi:5000'
	pc custom_ladder
}

@test "a bad --ladder is a usage error naming the problem" {
	run -2 "$SERVER" --ladder '1080p:8000,1080p:4000'
	assert_output --partial -- "--ladder"
	run -2 "$SERVER" --ladder '720p'
	assert_output --partial -- "--ladder"
	run -2 "$SERVER" --ladder ''
	assert_output --partial -- "--ladder"
}
