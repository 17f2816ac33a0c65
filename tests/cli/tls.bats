#!/usr/bin/env bats
# wss:// with self-signed certificates made here: versions and ciphers as
# the openssl CLI sees them, and the SIGHUP certificate reload.
load helpers

# make_cert DIR CN: a self-signed RSA pair in DIR/cert.pem and DIR/key.pem.
make_cert() {
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1/key.pem" -out "$1/cert.pem" \
		-days 1 -subj "/CN=$2" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
}

setup_file() {
	mkdir -p "$BATS_FILE_TMPDIR/a" "$BATS_FILE_TMPDIR/b"
	make_cert "$BATS_FILE_TMPDIR/a" localhost
	make_cert "$BATS_FILE_TMPDIR/b" reloaded
}

# Each test's server reads its own copy of the pair, which a test may
# replace.
setup() {
	CERT="$BATS_TEST_TMPDIR/cert.pem"
	KEY="$BATS_TEST_TMPDIR/key.pem"
	cp "$BATS_FILE_TMPDIR/a/cert.pem" "$CERT"
	cp "$BATS_FILE_TMPDIR/a/key.pem" "$KEY"
	start_server --tls-cert "$CERT" --tls-key "$KEY"
}

teardown() {
	stop_server
}

# handshake ARGS...: openssl s_client against the server; the refusal we
# see must be the server's, so the client's own security level is 0.
handshake() {
	timeout 5 openssl s_client -connect "127.0.0.1:$PORT" -servername localhost "$@" \
		</dev/null 2>&1
}

# served_cn: the subject CN a new handshake gets.
served_cn() {
	handshake | sed -n 's/^subject=.*CN *= *\([^,/]*\).*/\1/p'
}

@test "the server announces wss://" {
	assert_equal "${URL%%://*}" wss
}

@test "our client joins over wss with --ca" {
	run rvcat --ca "$CERT" "wss://localhost:$PORT/ws/party/tls?name=ann" <<<"#wait welcome"
	assert_line --index 0 '#open revenge.v1'
	assert_line --index 1 --partial '"type":"welcome"'
}

@test "our client joins over wss with --insecure" {
	run rvcat --insecure "$URL/ws/party/tls" <<<"#wait welcome"
	assert_line --index 1 --partial '"type":"welcome"'
}

@test "our client refuses an untrusted certificate" {
	run -3 rvcat "$URL/ws/party/tls" </dev/null
	assert_output --partial '#failed'
	refute_output --partial welcome
}

@test "an untrusted certificate is named as the cause, without lws's log on stderr" {
	run "$REVENGE_BUILD/bin/revenge-probe" --url "$URL" --timeout 3s chat
	[ "$status" -eq 3 ]
	assert_output --partial "cannot connect (the server's certificate is not trusted: self-signed certificate; give --ca FILE, or --insecure)"
	# that one line only: libwebsockets' own "E: SSL error" log line stays
	# out of the way (a curses screen would show it over itself)
	[ "${#lines[@]}" -eq 1 ] || fail "more than the one line: $output"
	# trusted (--ca) but for other names: OpenSSL's own words for it
	run "$REVENGE_BUILD/bin/revenge-probe" --url "wss://127.0.0.1:$PORT" \
		--ca "$BATS_FILE_TMPDIR/b/cert.pem" --timeout 3s chat
	assert_failure 3
	assert_output --partial "cannot connect (the server's certificate is not trusted: "
}

@test "an independent client runs a party over wss" {
	REVENGE_CA="$CERT" run py "$PYHELP/party_check.py" "$URL" sync
	assert_success
	REVENGE_CA="$CERT" run py "$PYHELP/party_check.py" "$URL" chat_history
	assert_success
}

@test "the server's own read path over wss: deflate, bursts, pings, a 1003 close" {
	run "$PY" - "$CERT" "$PORT" <<'PYEOF'
import asyncio, json, ssl, sys
import websockets

async def main():
    ctx = ssl.create_default_context(cafile=sys.argv[1])
    url = "wss://localhost:%s/ws/party/tlsrx" % sys.argv[2]
    async with websockets.connect(url, ssl=ctx, subprotocols=["revenge.v1"]) as ws:
        assert ws.extensions, "permessage-deflate not negotiated"
        json.loads(await ws.recv())
        # larger than a TLS record, compressed by the client
        await ws.send('{"type":"chat","payload":{"text":"%s"}}%s' % ("b" * 1900, " " * 30000))
        while True:
            m = json.loads(await ws.recv())
            if m["type"] == "chat":
                break
        # a burst in one TLS flight, each answered
        for i in range(20):
            await ws.send('{"type":"time","id":"t%d","payload":{"client_time":%d}}' % (i, i))
        got = 0
        while got < 20:
            if json.loads(await ws.recv())["type"] == "time":
                got += 1
        await asyncio.wait_for(await ws.ping(b"over-tls"), 3)
        await ws.send(b"\x00binary")
        try:
            await asyncio.wait_for(ws.recv(), 3)
        except websockets.ConnectionClosed as e:
            print("closed", e.rcvd.code if e.rcvd else None)
            return
        print("not closed")

asyncio.run(main())
PYEOF
	assert_success
	assert_output "closed 1003"
}

@test "/healthz over https" {
	run "$PY" -c '
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[1])
r = urllib.request.urlopen("https://127.0.0.1:%s/healthz" % sys.argv[2], context=ctx)
print(r.status, r.read().decode())' "$CERT" "$PORT"
	assert_output --partial '200 {"status":"ok"'
}

@test "plain ws:// to a TLS port fails cleanly" {
	run -3 rvcat "ws://127.0.0.1:$PORT/ws/party/tls" </dev/null
	assert_output --partial '#'
}

@test "TLS 1.0 and 1.1 are refused by the server" {
	run handshake -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
	assert_failure
	assert_output --partial 'alert protocol version'
	run handshake -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
	assert_failure
	assert_output --partial 'alert protocol version'
}

@test "TLS 1.2 gets an ECDHE AEAD suite, TLS 1.3 its own" {
	run handshake -tls1_2
	assert_success
	assert_output --regexp 'New, TLSv1\.2, Cipher is ECDHE-RSA-(AES(128|256)-GCM-SHA(256|384)|CHACHA20-POLY1305)'
	run handshake -tls1_3
	assert_success
	assert_output --partial 'New, TLSv1.3, Cipher is TLS_'
}

@test "weak TLS 1.2 suites are refused" {
	local c
	for c in AES128-SHA AES256-GCM-SHA384 ECDHE-RSA-AES128-SHA DHE-RSA-AES128-GCM-SHA256; do
		run handshake -tls1_2 -cipher "$c:@SECLEVEL=0"
		assert_failure
		assert_output --partial 'alert handshake failure'
	done
}

@test "SIGHUP: new handshakes get the new certificate, an open connection lives on" {
	local go="$BATS_TEST_TMPDIR/go" out="$BATS_TEST_TMPDIR/hold.out"
	assert_equal "$(served_cn)" localhost
	PYTHONPATH="$PYHELP" "$PY" "$PYHELP/tls_hold.py" "$URL" "$CERT" "$go" \
		>"$out" 2>&1 3>&- &
	local hold=$!
	wait_for "$out" '^open localhost$'

	cp "$BATS_FILE_TMPDIR/b/cert.pem" "$CERT"
	cp "$BATS_FILE_TMPDIR/b/key.pem" "$KEY"
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" 'tls_reloaded.*CN=reloaded'
	assert_equal "$(served_cn)" reloaded

	touch "$go"
	wait "$hold"
	run cat "$out"
	assert_line --index 1 'time ok localhost'
	kill -0 "$SERVER_PID"
	# and a new wss client that trusts the new certificate joins
	run rvcat --ca "$CERT" "wss://localhost:$PORT/ws/party/tls?name=bob" <<<"#wait welcome"
	assert_line --index 1 --partial '"type":"welcome"'
}

@test "SIGHUP with a broken key keeps the old certificate" {
	cp "$BATS_FILE_TMPDIR/b/cert.pem" "$CERT"
	echo "not a key" >"$KEY"
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" 'tls_reload_failed'
	assert_equal "$(served_cn)" localhost
	run rvcat --insecure "$URL/ws/party/tls" <<<"#wait welcome"
	assert_line --index 1 --partial '"type":"welcome"'

	# a key that does not match the certificate: the same
	cp "$BATS_FILE_TMPDIR/a/key.pem" "$KEY"
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" 'tls_reload_failed key .*mismatch'
	assert_equal "$(served_cn)" localhost
	# a missing file too
	rm "$CERT"
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" "tls_reload_failed certificate $CERT"
	assert_equal "$(served_cn)" localhost
	kill -0 "$SERVER_PID"
}

@test "SIGHUP on a plain server: nothing to reload, it keeps serving" {
	stop_server
	start_server
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" 'tls_reload.*nothing to reload'
	run rvcat "$URL/ws/party/plain" <<<"#wait welcome"
	assert_line --index 1 --partial '"type":"welcome"'
	kill -0 "$SERVER_PID"
}
