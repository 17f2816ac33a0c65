#!/usr/bin/env bats
# tests/cli/proxy.bats - revenge-server behind a real nginx (Debian's
# package), configured with docs/deployment.md's recipe, copied from the
# document with only its ports (and certificate paths) changed: the probe's
# checks through it, plain and with TLS terminated at nginx; the client's
# address through X-Forwarded-For with --trusted-proxy, and the proxy's
# without it, in the logs and the per-address limits; spoofed and hostile
# headers; the JSON log lines' fields for join, leave, close, error
# replies and refused handshakes.
load helpers

NGINX=/usr/sbin/nginx
DOC="$BATS_TEST_DIRNAME/../../docs/deployment.md"
PROBE="$REVENGE_BUILD/bin/revenge-probe"

# One server and one nginx (plain and TLS) for the tests that need no
# flags of their own: the server trusts the proxy and logs JSON at debug.
# A test on them (use_shared) looks only at the log lines written after
# it began (MARK).
setup_file() {
	[ -x "$NGINX" ] || return 0
	start_server --trusted-proxy 127.0.0.1/32 --trusted-proxy ::1 --log-format json \
		--log-level debug
	start_nginx tls
	export S_PID=$SERVER_PID S_PORT=$PORT S_NPORT=$NPORT S_TPORT=$TPORT S_NGINX=$NGINX_PID
	export S_LOG=$SERVER_LOG S_CERT=$CERT S_NGINX_DIR="$BATS_FILE_TMPDIR/nginx"
}

# The shared server must exit 0 on SIGTERM (under ASan: no leak, no error).
teardown_file() {
	local rc=0
	if [ -n "${S_NGINX:-}" ]; then
		kill -TERM "$S_NGINX" 2>/dev/null || true
		wait "$S_NGINX" 2>/dev/null || true
	fi
	if [ -n "${S_PID:-}" ]; then
		kill -TERM "$S_PID" 2>/dev/null || true
		wait "$S_PID" || rc=$?
		[ "$rc" = 0 ] || { echo "the shared server exited $rc" >&2; tail -20 "$S_LOG" >&2; }
	fi
	return "$rc"
}

setup() {
	[ -x "$NGINX" ] || skip "nginx is not installed (scripts/deps.sh installs it)"
	NGINX_PID=
	SERVER_PID=
	MARK=0
}

use_shared() {
	PORT=$S_PORT NPORT=$S_NPORT TPORT=$S_TPORT SERVER_LOG=$S_LOG CERT=$S_CERT
	MARK=$(wc -l <"$SERVER_LOG")
}

# wait_new PATTERN [N]: until N (default 1) lines written since MARK match.
wait_new() {
	local i
	for i in $(seq 1 200); do
		[ "$(tail -n +"$((MARK + 1))" "$SERVER_LOG" | grep -c -- "$1")" -lt "${2:-1}" ] || return 0
		sleep 0.05
	done
	echo "timed out waiting for '$1' in $SERVER_LOG" >&2
	return 1
}

teardown() {
	if [ -n "${NGINX_PID:-}" ]; then
		kill -TERM "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
	fi
	stop_server
}

# free_port: a loopback port nothing listens on now (start_nginx retries
# if it is taken before nginx binds it).
free_port() {
	local p i
	for i in $(seq 1 50); do
		p=$((20000 + RANDOM % 30000))
		if ! (: >"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# recipe NAME: the nginx block after "<!-- proxy.bats: NAME -->" in the doc.
recipe() {
	awk -v m="<!-- proxy.bats: $1 -->" '
		$0 == m { f = 1; next }
		f == 1 && /^```nginx/ { f = 2; next }
		f == 2 && /^```/ { exit }
		f == 2 { print }' "$DOC"
}

# READ_TIMEOUT: when set, the recipe's proxy_read_timeout becomes it.
# start_nginx [tls]: nginx in the test's directory (its own config, pid,
# temp and log files; one process, in the foreground) in front of the
# server on $PORT, with the recipe on NPORT, and with "tls" the TLS recipe
# on TPORT too (a self-signed certificate for 127.0.0.1 in CERT). A port
# taken between free_port and nginx's bind is tried again, a few times.
start_nginx() {
	local dir="${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}/${NGINX_NAME:-nginx}" try i
	mkdir -p "$dir/tmp"
	if [ "${1:-}" = tls ]; then
		CERT="$dir/cert.pem"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
			-keyout "$dir/key.pem" -out "$CERT" 2>/dev/null
	fi
	for try in 1 2 3; do
		NPORT=$(free_port)
		TPORT=$(free_port)
		{
			recipe nginx | sed -e "s/server 127\.0\.0\.1:8080;/server 127.0.0.1:$PORT;/" \
				-e "s/listen 80;/listen 127.0.0.1:$NPORT;/" \
				-e "s/proxy_read_timeout 75s;/proxy_read_timeout ${READ_TIMEOUT:-75s};/"
			[ "${1:-}" != tls ] || recipe nginx-tls |
				sed -e "s/listen 443 ssl;/listen 127.0.0.1:$TPORT ssl;/" \
				-e "s#/etc/ssl/certs/watch.example.com.pem#$CERT#" \
				-e "s#/etc/ssl/private/watch.example.com.key#$dir/key.pem#"
		} >"$dir/site.conf"
		grep -q "127.0.0.1:$PORT" "$dir/site.conf"
		cat >"$dir/nginx.conf" <<-EOF
		daemon off;
		master_process off;
		pid $dir/nginx.pid;
		error_log $dir/error.log info;
		events { worker_connections 512; }
		http {
			access_log $dir/access.log;
			client_body_temp_path $dir/tmp/body;
			proxy_temp_path $dir/tmp/proxy;
			fastcgi_temp_path $dir/tmp/fastcgi;
			uwsgi_temp_path $dir/tmp/uwsgi;
			scgi_temp_path $dir/tmp/scgi;
			include $dir/site.conf;
		}
		EOF
		"$NGINX" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" 3>&- &
		NGINX_PID=$!
		for i in $(seq 1 200); do
			kill -0 "$NGINX_PID" 2>/dev/null || break
			if (: >"/dev/tcp/127.0.0.1/$NPORT") 2>/dev/null; then
				[ "${1:-}" != tls ] && return 0
				(: >"/dev/tcp/127.0.0.1/$TPORT") 2>/dev/null && return 0
			fi
			sleep 0.05
		done
		kill -TERM "$NGINX_PID" 2>/dev/null || true
		wait "$NGINX_PID" 2>/dev/null || true
		NGINX_PID=
	done
	cat "$dir/error.log" >&2
	return 1
}

client() {
	py "$PYHELP/proxy_client.py" "$@"
}

# events FILE EVENT: each JSON log line of EVENT written since MARK, as
# compact JSON without its time.
events() {
	"$PY" - "$1" "$2" "$MARK" <<'PYEOF'
import json, sys
for n, line in enumerate(open(sys.argv[1], encoding="utf-8")):
    if n >= int(sys.argv[3]) and line.startswith("{"):
        o = json.loads(line)
        if o["event"] == sys.argv[2]:
            o.pop("time")
            print(json.dumps(o, sort_keys=True, separators=(",", ":")))
PYEOF
}

@test "the probe's health, sync and chat checks pass through nginx" {
	use_shared
	run "$PROBE" --url "ws://127.0.0.1:$NPORT" health + sync + chat
	assert_success
	assert_output --partial "health"
	assert_output --partial "sync"
	assert_output --partial "chat"
	# nginx was really in the path
	grep -q 'GET /ws/party/' "$S_NGINX_DIR/access.log"
	grep -q 'GET /healthz' "$S_NGINX_DIR/access.log"
}

@test "TLS terminated at nginx: the probe's checks over wss:// to a plain server" {
	use_shared
	# the recipe as Debian's nginx reads it
	run "$NGINX" -t -e "$S_NGINX_DIR/error.log" -p "$S_NGINX_DIR" -c "$S_NGINX_DIR/nginx.conf"
	assert_success
	assert_output --partial "syntax is ok"
	run "$PROBE" --url "wss://127.0.0.1:$TPORT" --ca "$CERT" health + sync + chat
	assert_success
	# and a client that does not trust the certificate is stopped by it
	run "$PROBE" --url "wss://127.0.0.1:$TPORT" --timeout 3s health
	assert_failure
}

@test "timeouts: pings more often than nginx's proxy_read_timeout keep an idle viewer; without pings nginx cuts it" {
	# the recipe's 75 s over 30 s pings, shrunk to 3 s over 1 s: a client
	# that answers is pinged every other interval, so the tunnel is quiet
	# for up to 2 s at a time (2 s would cut it: it did). Both halves at
	# once: one server and nginx with pings, one without.
	local pid0 nginx0 port0
	READ_TIMEOUT=3s
	SERVER_NAME=quiet start_server --ping-interval 0
	NGINX_NAME=quiet start_nginx
	pid0=$SERVER_PID nginx0=$NGINX_PID port0=$NPORT
	start_server --ping-interval 1
	start_nginx
	client "$port0" 127.0.0.2 idle 7 /ws/party/idle >"$BATS_TEST_TMPDIR/quiet.out" 3>&- &
	local bg=$!
	run client "$NPORT" 127.0.0.2 idle 5 /ws/party/idle
	wait "$bg" || true
	kill -TERM "$nginx0" "$pid0" 2>/dev/null || true
	wait "$nginx0" "$pid0" 2>/dev/null || true
	assert_output open
	run cat "$BATS_TEST_TMPDIR/quiet.out"
	assert_output --regexp '^cut after [345] s$'
}

@test "--trusted-proxy: the logs name the client through X-Forwarded-For, not the proxy, and not what the client wrote itself" {
	use_shared
	# the client is 127.0.0.2; nginx reaches the server from 127.0.0.1; the
	# client's own X-Forwarded-For (a spoof) is left of what nginx appends
	run client "$NPORT" 127.0.0.2 visit "/ws/party/px?name=Ann" \
		"X-Forwarded-For=203.0.113.9" "X-Real-IP=203.0.113.10"
	assert_success
	assert_output $'welcome\nbad_json\nclosed 1000'
	run client "$NPORT" 127.0.0.2 status /ws/party/px Origin=https://evil.example
	assert_output 403
	wait_new '"event":"closed"'
	run events "$SERVER_LOG" joined
	assert_output --regexp '^\{"event":"joined","level":"debug","member":"m[0-9a-f]+","msg":"","name":"Ann","party":"px","remote":"127\.0\.0\.2"\}$'
	run events "$SERVER_LOG" error_sent
	assert_output --regexp '^\{"code":"bad_json","endpoint":"party","event":"error_sent","level":"debug","msg":"","reason":"[^"]+","remote":"127.0.0.2"\}$'
	run events "$SERVER_LOG" left
	assert_output --regexp '^\{"code":1000,"event":"left","level":"debug","member":"m[0-9a-f]+","msg":"","name":"Ann","party":"px","reason":"closed by the client","remote":"127\.0\.0\.2"\}$'
	run events "$SERVER_LOG" closed
	assert_output '{"by":"client","code":1000,"endpoint":"party","event":"closed","level":"debug","msg":"","remote":"127.0.0.2"}'
	run events "$SERVER_LOG" handshake_refused
	assert_output '{"event":"handshake_refused","level":"info","msg":"403 origin not allowed","origin":"https://evil.example","path":"/ws/party/px","reason":"origin not allowed","remote":"127.0.0.2","status":403}'
	run grep -c '203\.0\.113' "$SERVER_LOG"
	assert_output 0
	# and every line is one JSON object
	"$PY" -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$SERVER_LOG"
}

@test "without --trusted-proxy the proxy's address is the client's (text logs: fields as key=value)" {
	start_server --log-level debug
	start_nginx
	run client "$NPORT" 127.0.0.2 visit "/ws/party/pt?name=Bo%20B" X-Forwarded-For=198.51.100.1
	assert_success
	wait_for "$SERVER_LOG" 'closed'
	run grep -E ' debug: joined party=pt member=m1 name="Bo B" remote=127\.0\.0\.1$' "$SERVER_LOG"
	assert_success
	run grep -E ' debug: left party=pt member=m1 name="Bo B" remote=127\.0\.0\.1 code=1000 reason="closed by the client"$' "$SERVER_LOG"
	assert_success
	run grep -E ' debug: closed endpoint=party remote=127\.0\.0\.1 code=1000 by=client$' "$SERVER_LOG"
	assert_success
	run grep -c '198\.51\.100\.1' "$SERVER_LOG"
	assert_output 0
}

@test "--max-conns-per-ip counts each client behind a trusted proxy, and the proxy as one without trust" {
	start_server --trusted-proxy 127.0.0.1/32 --max-conns-per-ip 2
	start_nginx
	run client "$NPORT" 127.0.0.2,127.0.0.2,127.0.0.3,127.0.0.3,127.0.0.2 hold /ws/party/cap
	assert_success
	assert_output $'101\n101\n101\n101\n503'
	stop_server
	kill -TERM "$NGINX_PID"
	wait "$NGINX_PID" || true
	NGINX_PID=
	start_server --max-conns-per-ip 2
	start_nginx
	run client "$NPORT" 127.0.0.2,127.0.0.2,127.0.0.3 hold /ws/party/cap
	assert_success
	assert_output $'101\n101\n503'
}

@test "--handshake-rate-per-ip counts each client behind a trusted proxy" {
	# 1/s in bursts of 10: ten from one client go in, then some of the next
	# twenty wait (as many as refill meanwhile go in: no timing assumed);
	# another client goes in at once
	start_server --trusted-proxy 127.0.0.1/32 --handshake-rate-per-ip 1 --max-conns-per-ip 0
	start_nginx
	run client "$NPORT" "$(printf '127.0.0.4,%.0s' $(seq 1 30))127.0.0.5" hold /ws/party/rate
	assert_success
	assert_equal "$(head -10 <<<"$output" | sort -u)" 101
	sed -n 11,30p <<<"$output" | grep -q '^429$'
	assert_equal "$(tail -1 <<<"$output")" 101
	run grep -vc '^101$\|^429$' <<<"$output"
	assert_output 0
}

@test "headers from a peer that is not trusted are ignored; hostile, oversized and truncated ones from a trusted peer are ignored safely" {
	use_shared
	# straight to the server from 127.0.0.2, which is no proxy: a spoof
	run client "$PORT" 127.0.0.2 visit /ws/party/sp X-Forwarded-For=203.0.113.9 X-Real-IP=203.0.113.9
	assert_success
	# from the trusted 127.0.0.1: nothing usable in them, so its own address
	run client "$PORT" 127.0.0.1 each /ws/party/sp <<-'EOF'
	"evil"
	" , ,, "
	"203.0.113."
	"203.0.113.9:80"
	"[::1"
	"1.2.3.4\u0001"
	"::ffff:999.1.1.1"
	"203.0.113.7/24"
	"\u00e9\u00e9, 203.0.113.1x"
	EOF
	assert_output $'101\n101\n101\n101\n101\n101\n101\n101\n101'
	# oversized: an entry far longer than any address, and thousands of them
	run client "$PORT" 127.0.0.1 each /ws/party/sp < <("$PY" -c '
import json
print(json.dumps("x" * 3000))
print(json.dumps("203.0.113.2," * 500 + "junk"))')
	assert_output $'101\n101'
	# the last good address stands when the walk meets a bad one
	run client "$PORT" 127.0.0.1 visit /ws/party/sp "X-Forwarded-For=198.51.100.4, junk"
	assert_success
	run client "$PORT" 127.0.0.1 visit /ws/party/sp "X-Forwarded-For=junk, 198.51.100.5"
	assert_success
	# two header lines are one list (lws joins them with ','): the right one
	run client "$PORT" 127.0.0.1 visit /ws/party/sp \
		$'X-Forwarded-For=203.0.113.50\r\nX-Forwarded-For: 198.51.100.60'
	assert_success
	wait_new '"remote":"198.51.100.60"'
	# the spoof, the eleven hostile headers and "198.51.100.4, junk", then
	# "junk, 198.51.100.5", then the two lines
	run events "$SERVER_LOG" joined
	assert_equal "$(echo "$output" | sed -n 's/.*"remote":"\([^"]*\)".*/\1/p' | uniq -c |
		awk '{ printf "%s*%s ", $2, $1 }')" "127.0.0.2*1 127.0.0.1*12 198.51.100.5*1 198.51.100.60*1 "
	run grep -c '203\.0\.113\|198\.51\.100\.4' "$SERVER_LOG"
	assert_output 0
	kill -0 "$S_PID"
}

@test "a refused token is logged with the reason and the client's address" {
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$BATS_TEST_TMPDIR/secret"
	start_server --auth-secret-file "$BATS_TEST_TMPDIR/secret" --trusted-proxy 127.0.0.1/32 \
		--log-format json
	start_nginx
	run client "$NPORT" 127.0.0.2 status /ws/party/tk "Authorization=Bearer not.a.token"
	assert_output 401
	run client "$NPORT" 127.0.0.2 status /ws/party/tk
	assert_output 401
	wait_new '"status":401' 2
	run events "$SERVER_LOG" handshake_refused
	assert_line --index 0 --regexp '"reason":"[^"]+".*"remote":"127\.0\.0\.2".*"status":401'
	assert_line --index 1 --regexp '"reason":"[^"]+".*"remote":"127\.0\.0\.2".*"status":401'
}

@test "--trusted-proxy: bad ranges are usage errors (exit 2), also as a key of the file" {
	# (the parser's cases are tests/unit/test_forwarded.c's)
	for bad in "" "10.0.0.0/33" "::1/129" "[::1]" "$(printf 'x%.0s' $(seq 1 300))" \
		$'10.0.0.0/8\nx'; do
		run -2 "$SERVER" --config /dev/null --trusted-proxy "$bad"
		assert_output --partial "revenge-server: --trusted-proxy: "
		assert_output --partial "(see --help)"
		assert_equal "${#lines[@]}" 1
	done
	run -2 "$SERVER" --config /dev/null --trusted-proxy 10.0.0.1/8
	assert_output --partial "'10.0.0.1/8' has bits set past its /8 prefix"
	printf '[server]\ntrusted-proxy = 10.0.0.0/8\ntrusted-proxy = fd00::/8x\n' >"$BATS_TEST_TMPDIR/c.conf"
	run -2 "$SERVER" --config "$BATS_TEST_TMPDIR/c.conf"
	assert_output --partial "c.conf:3"
	assert_output --partial "trusted-proxy"
	printf '[server]\ntrusted-proxy = 10.0.0.0/8\ntrusted-proxy = ::1\n' >"$BATS_TEST_TMPDIR/c.conf"
	run -0 "$SERVER" --config "$BATS_TEST_TMPDIR/c.conf" --check-config
	assert_line --regexp '^trusted-proxy = 10\.0\.0\.0/8 +; .*c\.conf:2$'
	assert_line --regexp '^trusted-proxy = ::1 +; .*c\.conf:3$'
	# flags replace the file's list
	run -0 "$SERVER" --config "$BATS_TEST_TMPDIR/c.conf" --trusted-proxy 127.0.0.1 --check-config
	assert_line --regexp '^trusted-proxy = 127\.0\.0\.1 +; command line$'
	refute_output --partial "10.0.0.0/8"
}
