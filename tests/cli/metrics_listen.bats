#!/usr/bin/env bats
# --metrics-listen: /metrics and /healthz on a second, private address (the
# main one keeps /healthz only), what /metrics says about the build and the
# process (revenge_build_info, revenge_open_fds rising with connections),
# and the addresses it refuses.
load helpers

setup() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$SECRET"
}

teardown() {
	stop_server || true
}

# the metrics URL the server printed
metrics_url() {
	sed -n 's/^revenge-server: metrics on //p' "$BATS_TEST_TMPDIR/server.out"
}

@test "metrics and healthz on the separate port; the main port keeps /healthz, not /metrics; no WebSocket there" {
	start_server --metrics-listen 127.0.0.1:0
	M=$(metrics_url)
	[[ "$M" =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || fail "metrics line: '$M'"
	[ "${M##*:}" != "$PORT" ]
	curl -sf "$M/metrics" >"$BATS_TEST_TMPDIR/m.txt"
	# the commit is the build's (12 hex digits), empty outside git
	grep -qE '^revenge_build_info\{version="[0-9]+\.[0-9]+\.[0-9]+",commit="([0-9a-f]{12})?"\} 1$' \
		"$BATS_TEST_TMPDIR/m.txt" || fail "$(grep build_info "$BATS_TEST_TMPDIR/m.txt")"
	# the scrape's own socket is the metrics listener's: not counted among
	# the clients' (revenge_tcp_connections is the main address's)
	run py "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/m.txt" 'revenge_tcp_connections=0' \
		'revenge_open_fds>4' 'process_open_fds>4' 'process_max_fds>16' \
		'process_resident_memory_bytes>1000000' 'process_start_time_seconds>1700000000' \
		'process_cpu_seconds_total>=0'
	assert_success
	run curl -s "$M/healthz"
	assert_output --regexp '^\{"status":"ok","version":"0\.1\.0"'
	run curl -s -o /dev/null -w '%{http_code}' "$HTTP/metrics"
	assert_output 404
	run curl -s "$HTTP/healthz"
	assert_output --regexp '^\{"status":"ok"'
	# a Host header naming no vhost, or the other one's name, changes nothing
	run curl -s -o /dev/null -w '%{http_code}' -H 'Host: 127.0.0.1' "$M/metrics"
	assert_output 200
	run curl -s -o /dev/null -w '%{http_code}' -H 'Host: localhost' "$HTTP/metrics"
	assert_output 404
	# a WebSocket upgrade on the metrics port is refused
	run curl -s -o /dev/null -w '%{http_code}' -H 'Upgrade: websocket' -H 'Connection: Upgrade' \
		-H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
		"$M/ws/party/p1"
	assert_output 404
	# the web client is the public address's alone
	run curl -s -o /dev/null -w '%{http_code}' "$M/"
	assert_output 404
	run curl -s -o /dev/null -w '%{http_code}' "$HTTP/"
	assert_output 200
	# no token key: the admin API is off, and says so
	run curl -s "$M/admin/parties"
	assert_output --partial '"message":"the admin API is off: the server has no token key'
	grep -q 'metrics_listening http://127.0.0.1:[0-9]* (/metrics, /healthz, /admin off: no token key)' "$SERVER_LOG"
	# without --metrics-listen the main port serves /metrics as before
	stop_server
	start_server
	run curl -s -o /dev/null -w '%{http_code}' "$HTTP/metrics"
	assert_output 200
	[ -z "$(metrics_url)" ]
}

@test "revenge_open_fds rises with connections and falls back when they close" {
	start_server --metrics-listen 127.0.0.1:0 --auth-secret-file "$SECRET"
	ADMIN_TOKEN=$("$SERVER" token --auth-secret-file "$SECRET" --sub ops --admin) \
		run py "$PYHELP/admin_check.py" "$URL" "$(metrics_url)" "$SECRET" fds
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	echo "# $output" >&3
}

@test "drain: SIGTERM closes the clients with 1001 and the metrics listener with the rest" {
	start_server --metrics-listen 127.0.0.1:0
	M=$(metrics_url)
	/usr/bin/python3 - "$URL" <<'EOF' >"$BATS_TEST_TMPDIR/client.out" 2>&1 3>&- &
import asyncio, sys, websockets
async def go():
    async with websockets.connect(sys.argv[1] + "/ws/party/p") as ws:
        print("joined", flush=True)
        await ws.wait_closed()
        print("closed", ws.close_code, flush=True)
asyncio.run(go())
EOF
	wait_for "$BATS_TEST_TMPDIR/client.out" joined
	kill -TERM "$SERVER_PID"
	wait_for "$BATS_TEST_TMPDIR/client.out" "closed 1001"
	local rc=0
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	[ "$rc" -eq 0 ] || { cat "$SERVER_LOG"; fail "exit status $rc after SIGTERM"; }
	run curl -s -o /dev/null -w '%{http_code}' "$M/healthz"
	assert_output 000
}

@test "bad --metrics-listen values are usage errors (exit 2); the --listen address itself is refused" {
	for bad in 127.0.0.1 :9090 127.0.0.1:65536 '[::1]9090' ''; do
		run -2 timeout 10 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/x.db" \
			--metrics-listen "$bad"
		assert_output --partial 'revenge-server: --metrics-listen: '
	done
	run -2 "$SERVER" --listen 127.0.0.1:8123 --metrics-listen 127.0.0.1:8123
	assert_output "revenge-server: --metrics-listen: 127.0.0.1:8123 is the --listen address; give another port (see --help)"
	printf 'listen = 127.0.0.1:8124\nmetrics-listen = 127.0.0.1:8124\n' >"$BATS_TEST_TMPDIR/c.conf"
	run -2 "$SERVER" --config "$BATS_TEST_TMPDIR/c.conf"
	assert_output --partial 'is the --listen address'
	printf 'metrics-listen = nowhere\n' >"$BATS_TEST_TMPDIR/c.conf"
	run -2 "$SERVER" --config "$BATS_TEST_TMPDIR/c.conf"
	assert_output --partial "c.conf:1: metrics-listen: expected HOST:PORT, got 'nowhere'"
	run -0 "$SERVER" --metrics-listen '[::1]:9123' --check-config
	assert_line --regexp '^metrics-listen = \[::1\]:9123 +; command line$'
	run -0 "$SERVER" --check-config
	assert_line --regexp '^#metrics-listen = +; not set$'
}

@test "a metrics address that cannot be bound stops the start (exit 1) with a clear line" {
	start_server
	run -1 timeout 10 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/b.db" --metrics-listen "127.0.0.1:$PORT"
	assert_output --regexp "cannot listen on 127\.0\.0\.1:$PORT \(--metrics-listen\): .*[Aa]ddress already in use"
	run -1 timeout 10 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/b.db" --metrics-listen "no-such-host.invalid:9000"
	assert_output --partial 'cannot listen on no-such-host.invalid:9000 (--metrics-listen)'
}

@test "a TLS server's metrics address stays plain HTTP; SIGHUP still reloads the main certificate" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=localhost -keyout "$BATS_TEST_TMPDIR/key.pem" -out "$BATS_TEST_TMPDIR/cert.pem" \
		2>/dev/null
	start_server --metrics-listen 127.0.0.1:0 --tls-cert "$BATS_TEST_TMPDIR/cert.pem" \
		--tls-key "$BATS_TEST_TMPDIR/key.pem"
	M=$(metrics_url)
	run curl -s "$M/healthz"
	assert_output --regexp '^\{"status":"ok"'
	run curl -sk "https://127.0.0.1:$PORT/healthz"
	assert_output --regexp '^\{"status":"ok"'
	run curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$PORT/metrics"
	assert_output 404
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" 'tls_reloaded'
	run curl -sk "https://127.0.0.1:$PORT/healthz"
	assert_output --regexp '^\{"status":"ok"'
}
