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

# raw_http KIND ARGS...: tests/helpers/raw_http.py against this server.
raw_http() {
	"$PY" "$PYHELP/raw_http.py" "$PORT" "$@"
}

@test "/metrics and /healthz refuse a Host a DNS rebinding would send with 421" {
	# a page on evil.example whose name was rebound to 127.0.0.1 sends
	# Host: evil.example:PORT; it must not read the metrics
	for path in /metrics /healthz /nope; do
		run raw_http host "evil.example:$PORT" "$path"
		assert_line --index 0 421
		assert_line --index 1 --partial "host not allowed"
		run raw_http host "localhost.evil.example" "$path"
		assert_line --index 0 421
	done
	run raw_http host "bad/host" /metrics
	assert_line --index 0 400
	assert_line --index 1 "malformed Host header"
	grep -q 'http_refused 421' "$SERVER_LOG"
}

@test "/metrics and /healthz answer loopback names, addresses and no Host" {
	for h in "127.0.0.1:$PORT" "localhost:$PORT" "LOCALHOST" "app.localhost:$PORT" \
		"[::1]:$PORT" "192.0.2.7:$PORT" "[2001:db8::1]"; do
		run raw_http host "$h" /healthz
		assert_line --index 0 200
	done
	run "$PY" - "$PORT" <<'PYEOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
PYEOF
	assert_output --partial " 200 "
}

@test "--allowed-host admits the names it gives; the --listen host passes" {
	stop_server
	start_server --allowed-host 'media.example' --allowed-host '*.LAN'
	run raw_http host "media.example:$PORT" /metrics
	assert_line --index 0 200
	run raw_http host "tv.lan" /healthz
	assert_line --index 0 200
	run raw_http host "media.example.evil" /healthz
	assert_line --index 0 421
	stop_server
	start_server --allowed-host '*'
	run raw_http host "anything.example" /healthz
	assert_line --index 0 200
	stop_server
	# --listen localhost:0 is a name: it passes as itself
	local dir="$BATS_TEST_TMPDIR"
	"$SERVER" --listen localhost:0 --db "$dir/l.db" >"$dir/l.out" 2>"$dir/l.log" 3>&- &
	SERVER_PID=$!
	wait_for "$dir/l.out" 'listening on'
	PORT=$(sed -n 's/^revenge-server: listening on .*://p' "$dir/l.out")
	run raw_http host "localhost:$PORT" /healthz
	assert_line --index 0 200
}

@test "a request head over 12288 bytes gets 431, not a dropped connection" {
	for path in /healthz /ws/party/big; do
		run raw_http head 12289 "$path"
		assert_line --index 0 431
		assert_line --index 1 "request head over 12288 bytes"
		run raw_http head 20000 "$path"
		assert_line --index 0 431
	done
	# exactly the limit is served
	run raw_http head 12288 /healthz
	assert_line --index 0 200
	run raw_http head 12288 /ws/party/big
	assert_line --index 0 101
	# a long query is a long head too
	run "$PY" "$PYHELP/raw_http.py" "$PORT" target "/ws/party/q?x=$(printf 'a%.0s' $(seq 1 13000))"
	assert_line --index 0 431
	http_get /metrics | grep -q 'revenge_handshakes_refused_total{status="431"} 5'
}

@test "more than 100 header fields get 431; 100 are served" {
	for path in /healthz /ws/party/f; do
		run raw_http fields 101 "$path"
		assert_line --index 0 431
		assert_line --index 1 "more than 100 header fields"
	done
	run raw_http fields 100 /healthz
	assert_line --index 0 200
	run raw_http fields 100 /ws/party/f
	assert_line --index 0 101
}

@test "%00 in the request target gets 400, not a dropped connection" {
	run raw_http target '/ws/party/x?name=a%00b'
	assert_line --index 0 400
	assert_line --index 1 --partial "%00"
	run raw_http target '/ws/party/x%00'
	assert_line --index 0 400
	# the server still serves
	run raw_http target '/ws/party/x?name=ab'
	assert_line --index 0 101
}
