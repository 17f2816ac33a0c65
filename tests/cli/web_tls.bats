#!/usr/bin/env bats
# The web client over TLS in a real browser: revenge-server with a
# self-signed certificate made here, headless Chromium trusting only that
# certificate's key, two pages of one party on https:// that must connect
# by wss://, chat and follow the host's play and seek
# (tests/helpers/web_tls_check.py over the DevTools protocol).
load helpers

setup_file() {
	d="$BATS_FILE_TMPDIR"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-keyout "$d/key.pem" -out "$d/cert.pem" -subj /CN=127.0.0.1 \
		-addext "subjectAltName=IP:127.0.0.1,DNS:localhost" 2>/dev/null
	# what --ignore-certificate-errors-spki-list takes: the base64 SHA-256
	# of the certificate's public key (SubjectPublicKeyInfo, DER)
	openssl x509 -in "$d/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der |
		openssl dgst -sha256 -binary | base64 >"$d/spki"
	# 30 s of test pattern from one --web-root beside the page (it answers
	# Range requests, which a video needs to seek); a key frame every 10
	# frames, so a seek is quick
	mkdir -p "$d/root"
	cp "$BATS_TEST_DIRNAME"/../../web/*.{html,css,js} "$d/root/"
	ffmpeg -hide_banner -loglevel error -nostdin -f lavfi \
		-i testsrc=size=160x90:rate=25:duration=30 -c:v libvpx -b:v 100k \
		-deadline realtime -cpu-used 8 -g 10 -an "$d/root/test.webm"
}

teardown() {
	# Chromium, if the check was killed before it closed it (a session
	# leader: its group is its pid)
	if [ -f "$BATS_TEST_TMPDIR/chromium.pid" ]; then
		kill -KILL -- "-$(cat "$BATS_TEST_TMPDIR/chromium.pid")" 2>/dev/null || true
	fi
	stop_server
}

@test "a Chromium page on https:// joins by wss://, chats and follows the host" {
	command -v chromium >/dev/null || fail "chromium is not installed: run scripts/deps.sh"
	d="$BATS_FILE_TMPDIR"
	start_server --tls-cert "$d/cert.pem" --tls-key "$d/key.pem" --web-root "$d/root"
	assert_equal "$URL" "wss://127.0.0.1:$PORT"
	# -B: web_tls_check.py imports web_check.py; no __pycache__ in the tree
	run timeout 150 "$PY" -B "$PYHELP/web_tls_check.py" "https://127.0.0.1:$PORT" \
		/web/test.webm "$BATS_TEST_TMPDIR" --spki "$(cat "$d/spki")" --bound-ms 250
	echo "$output"
	assert_success
	echo "${lines[-1]}" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["chat"] == "ok" and set(r["steps"]) == {"play", "seek"}, r
for p in r["pages"]:
    assert p["protocol"] == "https:" and p["ws_url"].startswith("wss://"), p
    assert p["tls"] in ("TLS 1.2", "TLS 1.3") and 101 in p["ws_status"], p'
}

@test "the TLS port agrees HTTP/1.1 by ALPN and serves the whole page to an h2 client" {
	d="$BATS_FILE_TMPDIR"
	start_server --tls-cert "$d/cert.pem" --tls-key "$d/key.pem"
	# a browser offers h2 first; lws with HTTP/2 built in took it, and then
	# the page's policy had no wss: origin (no Host) and app.js came empty
	run "$PY" - "$PORT" "$d/cert.pem" <<'PYEOF'
import socket, ssl, sys
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2", "http/1.1"])
for path in ("/party/p1", "/web/app.js"):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                        server_hostname="127.0.0.1")
    print("alpn", s.selected_alpn_protocol())
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n"
               % (path, port)).encode())
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    print(lines[0])
    for l in lines[1:]:
        if l.lower().startswith("content-security-policy:"):
            print(l)
    print("body", len(body))
PYEOF
	echo "$output"
	assert_line --index 0 "alpn http/1.1"
	assert_line --index 1 "HTTP/1.1 200 OK"
	assert_line --index 2 --regexp "^content-security-policy: default-src 'none';.* connect-src 'self' ws://127\.0\.0\.1:$PORT wss://127\.0\.0\.1:$PORT;"
	assert_line --index 3 "body $(stat -c %s "$BATS_TEST_DIRNAME/../../web/index.html")"
	assert_line --index 4 "alpn http/1.1"
	assert_line --index 7 "body $(stat -c %s "$BATS_TEST_DIRNAME/../../web/app.js")"
}
