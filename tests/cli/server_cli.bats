#!/usr/bin/env bats
# revenge-server's command line: help, version, and every bad flag is one
# clear line naming the flag, exit 2.
load helpers

teardown() {
	stop_server
}

@test "--help lists every flag and exits 0" {
	run "$SERVER" --help
	assert_success
	for f in --listen --db --origin --allowed-host --trusted-proxy --max-message --history --ping-interval \
		--rate-limit --queue-max --tls-cert --tls-key --log-level --log-format \
		--help --version; do
		assert_output --partial -- "$f"
	done
}

@test "--version prints the version" {
	run "$SERVER" --version
	assert_success
	assert_output --regexp '^revenge-server [0-9]+\.[0-9]+\.[0-9]+$'
}

bad_flag() { # expected-substring args...
	local want="$1"
	shift
	run -2 "$SERVER" "$@"
	assert_equal "${#lines[@]}" 1
	assert_output --partial "$want"
	assert_output --regexp '^revenge-server: '
}

@test "unknown option" { bad_flag "unknown option '--bogus'" --bogus; }
@test "missing value" { bad_flag "--history: missing value" --history; }
@test "non-numeric --history" { bad_flag "--history: expected a whole number" --history abc; }
@test "negative --history" { bad_flag "--history" --history -1; }
@test "--history out of range" { bad_flag "--history" --history 10001; }
@test "--max-message too small" { bad_flag "--max-message" --max-message 10; }
@test "--max-message trailing garbage" { bad_flag "--max-message" --max-message 100kb; }
@test "--ping-interval huge" { bad_flag "--ping-interval" --ping-interval 99999999999999999999; }
@test "--rate-limit not a number" { bad_flag "--rate-limit" --rate-limit fast; }
@test "--queue-max too small" { bad_flag "--queue-max" --queue-max 1; }
@test "--listen without port" { bad_flag "--listen: expected HOST:PORT" --listen 127.0.0.1; }
@test "--listen with a bad port" { bad_flag "--listen" --listen 127.0.0.1:99999; }
@test "--listen with an empty host" { bad_flag "--listen" --listen :8080; }
@test "--listen with broken IPv6" { bad_flag "--listen" --listen '[::1:8080'; }
@test "--log-level unknown" { bad_flag "--log-level: expected error, warn, info or debug" --log-level loud; }
@test "--log-format unknown" { bad_flag "--log-format: expected text or json" --log-format xml; }
@test "--tls-cert without --tls-key" { bad_flag "TLS needs both" --tls-cert /dev/null; }
@test "--tls-key unreadable" { bad_flag "--tls-key: cannot read '/nonexistent/key.pem'" --tls-key /nonexistent/key.pem; }
@test "--origin empty" { bad_flag "--origin" --origin ''; }
@test "--allowed-host empty" { bad_flag "--allowed-host: expected" --allowed-host ''; }
@test "--allowed-host with a port" { bad_flag "--allowed-host: expected" --allowed-host 'media.example:8080'; }
@test "--allowed-host with a slash" { bad_flag "--allowed-host: expected" --allowed-host 'a/b'; }
@test "--db empty" { bad_flag "--db: empty path" --db ''; }
@test "stray argument" { bad_flag "unexpected argument 'extra'" extra; }

@test "a port already in use: clear error and exit 1" {
	start_server
	LSAN_OPTIONS="suppressions=$BATS_TEST_DIRNAME/lsan-lws-failed-start.supp" \
		run -1 "$SERVER" --listen "127.0.0.1:$PORT"
	assert_output --partial "cannot listen on 127.0.0.1:$PORT: Address already in use"
	# one line says it: no second, vaguer one after it
	[ "$(grep -c -i 'cannot' <<<"$output")" -eq 1 ] || fail "expected one failure line, got: $output"
	refute_output --partial "cannot start"
}

@test "--port-file: the URL of a port-0 server, written once listening, removed at a clean exit" {
	local pf="$BATS_TEST_TMPDIR/port"
	"$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/pf.db" --port-file "$pf" \
		>"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$! i
	for i in $(seq 1 100); do [ -s "$pf" ] && break; sleep 0.05; done
	run cat "$pf"
	assert_output --regexp '^ws://127\.0\.0\.1:[0-9]+$'
	[ "$output" != "ws://127.0.0.1:0" ]
	# the same URL as the listening line, and a client reaches it there
	grep -qF "listening on $output" "$BATS_TEST_TMPDIR/out"
	run "$REVENGE_BUILD/bin/revenge-probe" --url "$(cat "$pf")" health
	assert_success
	kill -TERM "$pid"
	wait "$pid"
	[ ! -e "$pf" ] || fail "port file left behind"
	# a server that cannot start leaves someone else's file alone
	echo keep >"$pf"
	start_server
	run -1 "$SERVER" --listen "127.0.0.1:$PORT" --port-file "$pf"
	run cat "$pf"
	assert_output keep
}

@test "--port-file that cannot be written: the server still runs and says why" {
	start_server --port-file "$BATS_TEST_TMPDIR/no/such/dir/port"
	run "$REVENGE_BUILD/bin/revenge-probe" --url "$URL" health
	assert_success
	run cat "$SERVER_LOG"
	assert_output --partial "--port-file: cannot write '$BATS_TEST_TMPDIR/no/such/dir/port': No such file or directory"
}

@test "--port-file empty" { bad_flag "--port-file: empty path" --port-file ''; }

@test "port 0 picks a free port and prints it" {
	start_server
	[ "$PORT" -gt 0 ]
	run http_get /healthz
	assert_line --index 0 200
}

@test "an IPv6 listen address works" {
	if ! "$PY" -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0))' 2>/dev/null; then
		skip "no IPv6 loopback here"
	fi
	SERVER_LOG="$BATS_TEST_TMPDIR/log"
	"$SERVER" --listen '[::1]:0' >"$BATS_TEST_TMPDIR/out" 2>"$SERVER_LOG" 3>&- &
	SERVER_PID=$!
	wait_for "$BATS_TEST_TMPDIR/out" 'listening on ws://\[::1\]:'
	url=$(sed -n 's/^revenge-server: listening on //p' "$BATS_TEST_TMPDIR/out")
	run rvcat "$url/ws/party/v6" <<<"#wait welcome"
	assert_line --index 0 '#open revenge.v1'
}

@test "--log-format json writes JSON Lines" {
	start_server --log-format json
	stop_server
	run "$PY" -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]; print("ok")' "$SERVER_LOG"
	assert_output ok
	run grep -c '"event":"listening"' "$SERVER_LOG"
	assert_output 1
}

@test "--log-level warn silences info lines" {
	start_server --log-level warn
	stop_server
	run grep -c ' info: ' "$SERVER_LOG"
	assert_output 0
}

# The test helpers themselves (helpers.bash): a server started again under
# the same name gets files of its own. Truncating the old ones is not
# enough: a server still running writes on at its old offset into them,
# and the truncation happens in the child, after the parent may already
# have read the old "listening on" line.
@test "start_server again under the same name: the earlier server's lines never reach the new files" {
	SERVER_NAME=same start_server
	local old_pid=$SERVER_PID old_url=$URL
	SERVER_NAME=same start_server
	[ "$URL" != "$old_url" ]
	run grep -c 'listening on' "$BATS_TEST_TMPDIR/same.out"
	assert_output 1
	# the earlier one drains now: its log lines stay out of the new log
	kill -TERM "$old_pid"
	wait "$old_pid"
	run grep -a -c 'draining' "$SERVER_LOG"
	assert_output 0
	run curl -s "$HTTP/healthz"
	assert_output --partial '"status":"ok"'
}
