#!/usr/bin/env bats
# wss:// with a self-signed certificate made here.
load helpers

setup_file() {
	local d="$BATS_FILE_TMPDIR"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
		-days 1 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
}

setup() {
	CERT="$BATS_FILE_TMPDIR/cert.pem"
	KEY="$BATS_FILE_TMPDIR/key.pem"
	start_server --tls-cert "$CERT" --tls-key "$KEY"
}

teardown() {
	stop_server
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

@test "an independent client runs a party over wss" {
	REVENGE_CA="$CERT" run py "$PYHELP/party_check.py" "$URL" sync
	assert_success
	REVENGE_CA="$CERT" run py "$PYHELP/party_check.py" "$URL" chat_history
	assert_success
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
