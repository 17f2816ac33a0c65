#!/usr/bin/env bats
# Connection tokens: who may join which party, own which session, and for
# how long. Independent clients: python3-websockets connects, PyJWT mints
# (besides `revenge-server token`), openssl makes the RS256/ES256 keys.
load helpers

setup() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$SECRET"
}

teardown() {
	stop_server || true
}

ac() {
	run py "$PYHELP/auth_check.py" "$URL" "$@"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

@test "HS256: a missing, bad, expired or out-of-scope token is refused (401, 403); the Authorization header and ?token= carry one" {
	start_server --auth-secret-file "$SECRET" --auth-leeway 0
	ac "hs256:$SECRET" refusals
	run http_get /metrics
	assert_output --partial 'revenge_handshakes_refused_total{status="401"}'
	assert_output --regexp 'revenge_auth_failures_total\{reason="missing"\} [1-9]'
	assert_output --regexp 'revenge_auth_failures_total\{reason="expired"\} [1-9]'
	assert_output --regexp 'revenge_auth_failures_total\{reason="out_of_scope"\} [1-9]'
	assert_output --regexp 'revenge_handshakes_refused_total\{status="403"\} [1-9]'
}

@test "a member token never becomes host by arriving first; a host token takes the seat; the name claim wins" {
	start_server --auth-secret-file "$SECRET"
	ac "hs256:$SECRET" roles
}

@test "progress and quality sessions belong to the token's subject" {
	start_server --auth-secret-file "$SECRET"
	ac "hs256:$SECRET" sessions
}

@test "refresh replaces the token (same subject, still in scope); other tokens get unauthorized" {
	start_server --auth-secret-file "$SECRET" --auth-leeway 0
	ac "hs256:$SECRET" refresh
}

@test "a token that expires while connected closes the connection with 4401" {
	start_server --auth-secret-file "$SECRET" --auth-leeway 0
	ac "hs256:$SECRET" expiry
	run http_get /metrics
	assert_output --regexp 'revenge_closes_total\{code="4401"\} 1'
}

@test "RS256 and ES256: tokens from the private key's holder open; HS256 over the public key does not" {
	local kind
	for kind in rs256 es256; do
		if [ "$kind" = rs256 ]; then
			openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
				-out "$BATS_TEST_TMPDIR/$kind-private.pem" 2>/dev/null
		else
			openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
				-out "$BATS_TEST_TMPDIR/$kind-private.pem" 2>/dev/null
		fi
		openssl pkey -in "$BATS_TEST_TMPDIR/$kind-private.pem" -pubout \
			-out "$BATS_TEST_TMPDIR/$kind-public.pem"
		start_server --auth-public-key "$BATS_TEST_TMPDIR/$kind-public.pem" --auth-leeway 0
		ac "$kind:$BATS_TEST_TMPDIR/$kind-private.pem" confusion
		ac "$kind:$BATS_TEST_TMPDIR/$kind-private.pem" refusals
		stop_server
	done
}

@test "revenge-server token mints what the server accepts, and refuses bad flags" {
	start_server --auth-secret-file "$SECRET"
	run "$SERVER" token --auth-secret-file "$SECRET" --sub ann --role host --party movie --ttl 1h
	assert_success
	local t="$output"
	[[ "$t" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "not a JWT: $t"
	run "$PY" -c '
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", "/ws/party/movie", headers={"Upgrade": "websocket", "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13",
    "Authorization": "Bearer " + sys.argv[2]})
print(c.getresponse().status)' "$PORT" "$t"
	assert_output 101
	run "$SERVER" token --auth-secret-file "$SECRET"
	assert_failure 2
	assert_output --partial -- "--sub is required"
	run "$SERVER" token --sub ann
	assert_failure 2
	assert_output --partial -- "--auth-secret-file is required"
	run "$SERVER" token --auth-secret-file "$SECRET" --sub ann --role king
	assert_failure 2
	assert_output --partial -- "--role"
	run "$SERVER" token --auth-secret-file "$SECRET" --sub ann --party 'bad id!'
	assert_failure 2
	assert_output --partial -- "--party"
	run "$SERVER" token --auth-secret-file "$SECRET" --sub ann --ttl 400d
	assert_failure 2
	assert_output --partial -- "--ttl"
	run "$SERVER" token --auth-secret-file "$BATS_TEST_TMPDIR/nope" --sub ann
	assert_failure 1
}

@test "without a key: open on loopback (and says so), refused elsewhere unless --insecure-open" {
	start_server
	run grep -i 'open' "$SERVER_LOG"
	assert_success
	run "$SERVER" --listen 0.0.0.0:0 --db "$BATS_TEST_TMPDIR/x.db"
	assert_failure 1
	assert_output --partial "--insecure-open"
	run "$SERVER" --auth-secret-file "$SECRET" --auth-public-key "$SECRET" --listen 127.0.0.1:0
	assert_failure 2
	run "$SERVER" --auth-secret-file "$BATS_TEST_TMPDIR/missing" --listen 127.0.0.1:0
	assert_failure 2
	assert_output --partial -- "--auth-secret-file"
	: >"$BATS_TEST_TMPDIR/empty"
	run "$SERVER" --auth-secret-file "$BATS_TEST_TMPDIR/empty" --listen 127.0.0.1:0
	assert_failure 2
	run "$SERVER" --auth-public-key "$SECRET" --listen 127.0.0.1:0
	assert_failure 2
	assert_output --partial -- "--auth-public-key"
}

@test "with --insecure-open an open server listens on a non-loopback address" {
	local out="$BATS_TEST_TMPDIR/open.out"
	"$SERVER" --listen 0.0.0.0:0 --insecure-open --db "$BATS_TEST_TMPDIR/o.db" \
		>"$out" 2>"$BATS_TEST_TMPDIR/open.err" 3>&- &
	SERVER_PID=$!
	wait_for "$out" 'listening on' 5
	run grep 'OPEN' "$BATS_TEST_TMPDIR/open.err"
	assert_success
}

@test "our own clients carry a token end to end: revenge-probe, revenge-bench, revenge-party and rvcat against a server that requires one" {
	start_server --auth-secret-file "$SECRET"
	local t
	t=$("$SERVER" token --auth-secret-file "$SECRET" --sub ci --role host --party '*' --session '*')
	run "$REVENGE_BUILD/bin/revenge-probe" --url "$URL" --token "$t" --timeout 5s sync --members 2
	assert_success
	REVENGE_TOKEN="$t" run "$REVENGE_BUILD/bin/revenge-probe" --url "$URL" --timeout 5s progress
	assert_success
	run "$REVENGE_BUILD/bin/revenge-probe" --url "$URL" --timeout 5s sync --members 2
	assert_failure
	assert_output --partial 401
	printf '%s\n' "$t" >"$BATS_TEST_TMPDIR/tok"
	run "$REVENGE_BUILD/bin/revenge-bench" --url "$URL" --token-file "$BATS_TEST_TMPDIR/tok" \
		fanout --parties 2 --members 3 --rate 2 --duration 1s --json
	assert_success
	run "$PY" -c '
import json, sys
r = json.loads(sys.stdin.read())
assert r["connected"] == 6 and r["failed"] == 0 and r["loss_pct"] == 0, r
print("ok")' <<<"$output"
	assert_output ok
	# a member-only token: never host, so the host's keys are refused
	local m
	m=$("$SERVER" token --auth-secret-file "$SECRET" --sub viewer --party '*')
	run "$REVENGE_BUILD/bin/revenge-probe" --url "$URL" --token "$m" --timeout 5s sync --members 2
	assert_failure
}
