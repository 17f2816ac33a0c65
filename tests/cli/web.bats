#!/usr/bin/env bats
# The web client: served on the server's own port (compiled in, or
# --web-root, or off with --no-web) with its headers, path traversal
# refused, and four real headless Chromium pages of one party playing a
# video made by ffmpeg in step (tests/helpers/web_check.py over the
# DevTools protocol).
load helpers

setup() {
	WEB="$BATS_TEST_DIRNAME/../../web"
}

teardown() {
	stop_server
	if [ -n "${MEDIA_PID:-}" ]; then
		kill "$MEDIA_PID" 2>/dev/null || true
		wait "$MEDIA_PID" 2>/dev/null || true
	fi
}

# hget PATH [HEADER=VALUE...]: status, headers, "body: LEN SHA256".
hget() {
	"$PY" "$PYHELP/web_http.py" "$PORT" "$@"
}

@test "web/sync.js: offset, schedule and correction under node" {
	run node "$PYHELP/web_sync_test.js" "$WEB/sync.js"
	assert_success
	assert_output "web_sync_test: ok"
}

@test "GET / and /party/{id} serve the page with its headers" {
	start_server
	run hget /
	assert_line --index 0 200
	assert_line "content-type: text/html; charset=utf-8"
	assert_line "cache-control: no-cache"
	assert_line "x-content-type-options: nosniff"
	assert_line --regexp '^etag: "[0-9a-f]{16}"$'
	assert_line --regexp "^content-security-policy: default-src 'none'; script-src 'self'; style-src 'self';.* connect-src 'self' ws://127\.0\.0\.1:$PORT wss://127\.0\.0\.1:$PORT; media-src 'self' https: http:;.*frame-ancestors 'none'$"
	# the page is web/index.html, byte for byte
	want=$(sha256sum "$WEB/index.html" | cut -d' ' -f1)
	assert_line "body: $(stat -c %s "$WEB/index.html") $want"
	run hget /party/movie-night_2
	assert_line --index 0 200
	assert_line "body: $(stat -c %s "$WEB/index.html") $want"
	for f in app.js sync.js app.css; do
		run hget "/web/$f"
		assert_line --index 0 200
		assert_line "body: $(stat -c %s "$WEB/$f") $(sha256sum "$WEB/$f" | cut -d' ' -f1)"
	done
	run hget /web/app.js
	assert_line "content-type: text/javascript; charset=utf-8"
	run hget /web/app.css
	assert_line "content-type: text/css; charset=utf-8"
	# /healthz keeps a policy that loads nothing
	run hget /healthz
	assert_line --index 0 200
	assert_line "content-security-policy: default-src 'none'; frame-ancestors 'none'"
}

@test "over TLS the page is served by https:// and its policy allows wss://" {
	d="$BATS_TEST_TMPDIR"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
		-days 1 -subj "/CN=localhost" 2>/dev/null
	start_server --tls-cert "$d/cert.pem" --tls-key "$d/key.pem"
	run "$PY" - "$PORT" <<'PYEOF'
import http.client, ssl, sys
c = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[1]), timeout=5,
                                context=ssl._create_unverified_context())
c.request("GET", "/party/p1")
r = c.getresponse()
print(r.status, r.getheader("content-type"))
print(r.getheader("content-security-policy"))
PYEOF
	assert_line --index 0 "200 text/html; charset=utf-8"
	assert_line --index 1 --partial "connect-src 'self' ws://127.0.0.1:$PORT wss://127.0.0.1:$PORT;"
}

@test "an ETag that matches is answered 304 with no body" {
	start_server
	etag=$(hget /web/app.js | sed -n 's/^etag: //p')
	[ -n "$etag" ]
	run hget /web/app.js "If-None-Match=$etag"
	assert_line --index 0 304
	assert_line "etag: $etag"
	assert_line --regexp '^body: 0 '
	run hget /web/app.js 'If-None-Match="0000000000000000"'
	assert_line --index 0 200
}

@test "bad party ids, unknown files and traversal are 404" {
	start_server
	for p in /party/ /party/a.b /party/a/b "/party/$(printf 'x%.0s' $(seq 65))" \
		/web/ /web/nope.js /web/.hidden /web/../lib/web.c "/web/%2e%2e/lib/web.c" \
		/web/a//b /index.html /web; do
		run hget "$p"
		assert_line --index 0 404
	done
	# a .. that stays inside is resolved before routing, %00 refused first
	run hget /web/a/../app.js
	assert_line --index 0 200
	run hget "/web/app.js%00"
	assert_line --index 0 400
}

@test "--web-root serves a directory's copy and nothing outside it" {
	root="$BATS_TEST_TMPDIR/root"
	mkdir -p "$root/sub" "$BATS_TEST_TMPDIR/outside"
	echo '<!doctype html><title>custom</title>' >"$root/index.html"
	echo 'body{}' >"$root/sub/x.css"
	echo 'secret' >"$BATS_TEST_TMPDIR/outside/secret.txt"
	echo 'hidden' >"$root/.env"
	ln -s "$BATS_TEST_TMPDIR/outside/secret.txt" "$root/link.txt"
	ln -s "$BATS_TEST_TMPDIR/outside" "$root/dirlink"
	mkfifo "$root/fifo"
	start_server --web-root "$root"
	run hget /party/p1
	assert_line --index 0 200
	assert_line "body: $(stat -c %s "$root/index.html") $(sha256sum "$root/index.html" | cut -d' ' -f1)"
	run hget /web/sub/x.css
	assert_line --index 0 200
	assert_line "content-type: text/css; charset=utf-8"
	# the compiled-in files are not there: this root has none
	run hget /web/app.js
	assert_line --index 0 404
	for p in /web/link.txt /web/dirlink/secret.txt /web/.env /web/fifo /web/sub \
		/web/../outside/secret.txt "/web/%2e%2e/outside/secret.txt" \
		"/web/sub/%2e%2e/%2e%2e/outside/secret.txt"; do
		run hget "$p"
		assert_line --index 0 404
		refute_output --partial secret
	done
	stop_server
	# a root that is not a readable directory is a usage error
	run -2 "$SERVER" --listen 127.0.0.1:0 --web-root "$root/index.html"
	assert_output --partial "--web-root: '$root/index.html' is not a readable directory"
	run -2 "$SERVER" --listen 127.0.0.1:0 --web-root "$BATS_TEST_TMPDIR/none"
	assert_output --partial "is not a readable directory"
}

@test "--no-web turns the web client off; the config file has both keys" {
	start_server --no-web
	for p in / /party/p1 /web/app.js; do
		run hget "$p"
		assert_line --index 0 404
	done
	run hget /healthz
	assert_line --index 0 200
	stop_server
	cfg="$BATS_TEST_TMPDIR/revenge.conf"
	printf 'no-web = true\nweb-root = %s\n' "$BATS_TEST_TMPDIR" >"$cfg"
	run -0 "$SERVER" --config "$cfg" --check-config
	assert_line --regexp '^no-web += true +; '
	assert_line --regexp "^web-root += $BATS_TEST_TMPDIR +; "
}

@test "four Chromium pages play one party's video in step" {
	command -v chromium >/dev/null || fail "chromium is not installed: run scripts/deps.sh"
	command -v ffmpeg >/dev/null || fail "ffmpeg is not installed: run scripts/deps.sh"
	# the page and a video from one --web-root (it answers Range requests,
	# which a video needs to seek)
	root="$BATS_TEST_TMPDIR/root"
	mkdir -p "$root"
	cp "$WEB"/*.html "$WEB"/*.css "$WEB"/*.js "$root/"
	# 40 s of test pattern, small and quick to make and to seek (a key
	# frame every 10 frames)
	ffmpeg -hide_banner -loglevel error -nostdin -f lavfi \
		-i testsrc=size=160x90:rate=25:duration=40 -c:v libvpx -b:v 100k \
		-deadline realtime -cpu-used 8 -g 10 -an "$root/test.webm"
	start_server --web-root "$root"
	run "$PY" "$PYHELP/web_check.py" "$HTTP" /web/test.webm "$BATS_TEST_TMPDIR" \
		--pages 4 --bound-ms 150 --screenshot "$BATS_TEST_TMPDIR/web-client.png"
	echo "$output"
	assert_success
	echo "${lines[-1]}" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert set(r["steps"]) == {"play", "seek", "speed", "pause"}, r
assert r["reload"] == "ok" and r["transfer"] == "ok", r'
	# a PNG of the host page (WEB_SCREENSHOT=PATH keeps a copy)
	[ "$(head -c 4 "$BATS_TEST_TMPDIR/web-client.png" | tail -c 3)" = PNG ]
	if [ -n "${WEB_SCREENSHOT:-}" ]; then
		cp "$BATS_TEST_TMPDIR/web-client.png" "$WEB_SCREENSHOT"
	fi
}

@test "a Range request gets its slice, one past the end 416" {
	root="$BATS_TEST_TMPDIR/root"
	mkdir -p "$root"
	head -c 1000 /dev/urandom >"$root/v.webm"
	start_server --web-root "$root"
	run hget /web/v.webm Range=bytes=100-199
	assert_line --index 0 206
	assert_line "content-range: bytes 100-199/1000"
	assert_line "content-type: video/webm"
	assert_line "accept-ranges: bytes"
	assert_line "body: 100 $(tail -c +101 "$root/v.webm" | head -c 100 | sha256sum | cut -d' ' -f1)"
	run hget /web/v.webm Range=bytes=-10
	assert_line "content-range: bytes 990-999/1000"
	run hget /web/v.webm Range=bytes=990-5000
	assert_line "content-range: bytes 990-999/1000"
	run hget /web/v.webm Range=bytes=1000-
	assert_line --index 0 416
	assert_line "content-range: bytes */1000"
	# several ranges, or garbage: the whole file
	for r in bytes=1-2,5-6 bytes=9-3 items=1-2 bytes=x- bytes=-; do
		run hget /web/v.webm "Range=$r"
		assert_line --index 0 200
		assert_line --regexp '^body: 1000 '
	done
}
