#!/usr/bin/env bats
# Members' drift: status messages in, the host's drift report out
# (--drift-interval), the revenge_member_drift_ms histogram on /metrics.
load helpers

teardown() {
	stop_server
}

metric() {
	http_get /metrics | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}

@test "the host gets the members' drift (+40 ms, -25 ms), largest first; members get none; /metrics has the histogram" {
	start_server
	run -0 timeout 40 "$PY" "$PYHELP/drift_check.py" "$URL" report
	echo "$output"
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_member_drift_ms_count=2' 'revenge_member_drift_ms_bucket{le="20"}=0' \
		'revenge_member_drift_ms_bucket{le="50"}=2' 'revenge_member_drift_ms_bucket{le="+Inf"}=2' \
		'revenge_member_drift_ms_sum>=64' 'revenge_messages_out_total{type="drift"}>=3'
	assert_success
	grep -q '^# TYPE revenge_member_drift_ms histogram$' "$BATS_TEST_TMPDIR/metrics.txt"
}

@test "--drift-interval 0: no drift messages, the histogram still counts" {
	start_server --drift-interval 0
	run -0 timeout 40 "$PY" "$PYHELP/drift_check.py" "$URL" off
	echo "$output"
	(( $(metric revenge_member_drift_ms_count) == 2 ))
}

@test "--drift-interval usage errors: malformed, negative, under 100, huge, missing" {
	for v in x -1 1.5 '' 50 99 3600001 99999999999999999999; do
		run "$SERVER" --drift-interval "$v"
		[ "$status" -eq 2 ] || fail "--drift-interval '$v' gave $status: $output"
		assert_output --partial -- "--drift-interval"
	done
	run "$SERVER" --drift-interval
	[ "$status" -eq 2 ]
	assert_output --partial -- "drift-interval"
	run "$SERVER" --help
	assert_output --partial -- "--drift-interval MS"
}
