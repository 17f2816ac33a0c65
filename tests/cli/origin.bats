#!/usr/bin/env bats
# The Origin allowlist on real handshakes: the origin is parsed as scheme,
# host and port before any pattern sees it (lib/request.c), so the IPv6
# loopback matches the default [::1]:* and look-alikes do not.
load helpers

setup() {
	start_server ${ORIGIN_FLAGS:-}
}

teardown() {
	stop_server
}

@test "the IPv6 loopback matches the default [::1]:* (was 403)" {
	run upgrade 'http://[::1]:8080'
	assert_output 101
	run upgrade 'http://[::1]'
	assert_output 101
	run upgrade 'http://[0:0:0:0:0:0:0:1]:3000'
	assert_output 101
}

@test "http://1:80 is refused (passed: [::1] was a character class)" {
	run upgrade 'http://1:80'
	assert_output 403
	run upgrade 'http://::80'
	assert_output 403
}

@test "userinfo and paths are refused (localhost:80@evil.example passed)" {
	run upgrade 'http://localhost:80@evil.example'
	assert_output 403
	run upgrade 'http://localhost@evil.example'
	assert_output 403
	run upgrade 'http://localhost:8080/app'
	assert_output 403
	run upgrade 'http://localhost.evil.example'
	assert_output 403
	run upgrade 'null'
	assert_output 403
}

@test "scheme and host compare without case; default ports match" {
	run upgrade 'HTTP://LOCALHOST:8080'
	assert_output 101
	run upgrade 'https://LocalHost'
	assert_output 101
	run upgrade 'http://127.0.0.1:80'
	assert_output 101
}

@test "a pattern without a port allows the scheme's default port only" {
	stop_server
	start_server --origin 'app.test' --origin 'https://*.example.org'
	run upgrade 'http://app.test'
	assert_output 101
	run upgrade 'http://app.test:80'
	assert_output 101
	run upgrade 'https://app.test:443'
	assert_output 101
	run upgrade 'http://app.test:8080'
	assert_output 403
	run upgrade 'https://a.example.org'
	assert_output 101
	run upgrade 'http://a.example.org'
	assert_output 403
	run upgrade 'http://localhost:8080'   # the defaults are replaced
	assert_output 403
}

@test "a refusal carries its reason as x-revenge-reason too, printable ASCII only" {
	run timeout 10 "$PY" - "$PORT" <<'PYEOF'
import base64, os, socket, sys
port = int(sys.argv[1])
def head(path, origin):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
               f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
               f"Origin: {origin}\r\n\r\n").encode("latin-1"))
    data = b""
    while b"\r\n\r\n" not in data:
        d = s.recv(4096)
        if not d:
            break
        data += d
    return data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
lines = head("/ws/party/o1", "https://evil.example")
assert lines[0].startswith("HTTP/1.1 403"), lines
assert "x-revenge-reason: origin not allowed" in lines, lines
# a bad name: the reason is ours, whatever the request held
lines = head("/ws/party/o1?name=%E2%80%AE%0D%0Ax-evil:%201", "http://127.0.0.1")
assert lines[0].startswith("HTTP/1.1 400"), lines
r = [l for l in lines if l.startswith("x-revenge-reason: ")]
assert len(r) == 1 and all(0x20 <= ord(ch) < 0x7f for ch in r[0]), r
assert not any(l.lower().startswith("x-evil") for l in lines), lines
print("ok")
PYEOF
	assert_output ok
}
