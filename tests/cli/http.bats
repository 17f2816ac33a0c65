#!/usr/bin/env bats
# /healthz and /metrics over plain HTTP on the same port.
load helpers

setup() {
	start_server
}

teardown() {
	stop_server
}

@test "/healthz answers 200 with status ok" {
	run http_get /healthz
	assert_line --index 0 200
	echo "${lines[1]}" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="ok", d; assert "version" in d; assert d["store"]=="ok", d'
}

@test "an unknown path is 404" {
	run http_get /nope
	assert_line --index 0 404
}

@test "/metrics is valid Prometheus text and counts traffic" {
	rvcat --linger 300 "$URL/ws/party/m1" <<'EOF2'
{"type":"chat","payload":{"text":"hi"}}
{"type":"chat","payload":{"text":""}}
not json
EOF2
	rvcat --origin https://evil.example "$URL/ws/party/m1" </dev/null || true
	run http_get /metrics
	assert_line --index 0 200
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_messages_in_total{type="chat"}=1' \
		'revenge_messages_in_total{type="invalid"}=2' \
		'revenge_errors_total{code="bad_payload"}=1' \
		'revenge_errors_total{code="bad_json"}=1' \
		'revenge_handshakes_refused_total{status="403"}=1' \
		'revenge_connections_total{endpoint="party"}=1' \
		'revenge_connections{endpoint="party"}=0' \
		'revenge_messages_out_total{type="welcome"}=1' \
		'revenge_messages_out_total{type="chat"}=1' \
		'revenge_messages_out_total{type="error"}=2' \
		'revenge_parties=0' \
		'revenge_slow_clients_dropped_total=0' \
		'process_resident_memory_bytes>0' \
		'process_cpu_seconds_total>=0' \
		'revenge_bytes_out_total>0'
	assert_success
}
