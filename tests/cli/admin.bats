#!/usr/bin/env bats
# The admin API on the --metrics-listen address (docs/admin.md): parties
# listed and shown, closed and thinned by an operator with an admin token,
# as real WebSocket members (python3-websockets) see it; who is refused,
# and how malformed requests are answered; `revenge-server admin`. One
# server for the file.
load helpers

setup_file() {
	SECRET="$BATS_FILE_TMPDIR/secret"
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$SECRET"
	start_server --metrics-listen 127.0.0.1:0 --auth-secret-file "$SECRET"
	ADMIN=$(sed -n 's/^revenge-server: metrics on //p' "$BATS_FILE_TMPDIR/server.out")
	ADMIN_TOKEN=$("$SERVER" token --auth-secret-file "$SECRET" --sub ops --admin)
	PLAIN_TOKEN=$("$SERVER" token --auth-secret-file "$SECRET" --sub ann --party '*')
	export SECRET ADMIN ADMIN_TOKEN PLAIN_TOKEN
}

teardown_file() {
	stop_server
}

ac() {
	run py "$PYHELP/admin_check.py" "$URL" "$ADMIN" "$SECRET" "$@"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

# req METHOD PATH [CURL ARGS...]: "STATUS BODY" of one request to ADMIN
req() {
	local m=$1 p=$2
	shift 2
	curl -s -o "$BATS_TEST_TMPDIR/body" -w '%{http_code}' -X "$m" "$@" "$ADMIN$p" || true
	printf ' %s\n' "$(cat "$BATS_TEST_TMPDIR/body" 2>/dev/null)"
}

@test "list and show: members, names, roles, addresses, host and playback state" {
	ac inspect
}

@test "remove: the member is closed with 4403, the others see it leave; by name or id; unknown 404, ambiguous 409" {
	ac remove
}

@test "close: every member gets 4410, the party is gone, other parties go on" {
	ac close
}

@test "no token 401, a bad token 401, a token without the admin claim 403, all JSON" {
	run req GET /admin/parties
	assert_output --regexp '^401 \{"error":"unauthorized","message":"an admin token is required'
	run req GET /admin/parties -H "Authorization: Bearer not.a.token"
	assert_output --regexp '^401 \{"error":"unauthorized","message":"token refused'
	run req GET /admin/parties -H "Authorization: Basic b3BzOm9wcw=="
	assert_output --regexp '^401 \{"error":"unauthorized"'
	run req POST /admin/parties/movie/close -H "Authorization: Bearer $PLAIN_TOKEN"
	assert_output --regexp '^403 \{"error":"forbidden","message":"the token has no admin claim'
	# a stranger learns nothing of the paths either
	run req GET /admin/nosuch -H "Authorization: Bearer $PLAIN_TOKEN"
	assert_output --regexp '^403 '
	# an expired admin token (PyJWT: not the server's own minting)
	tok=$(/usr/bin/python3 -c 'import jwt,sys,time; k=open(sys.argv[1],"rb").read().rstrip(b"\n"); print(jwt.encode({"sub":"ops","admin":True,"exp":int(time.time())-3600},k,algorithm="HS256"))' "$SECRET")
	run req GET /admin/parties -H "Authorization: Bearer $tok"
	assert_output --regexp '^401 .*expired'
	# the admin claim must be a boolean
	tok=$(/usr/bin/python3 -c 'import jwt,sys; k=open(sys.argv[1],"rb").read().rstrip(b"\n"); print(jwt.encode({"sub":"ops","admin":"yes"},k,algorithm="HS256"))' "$SECRET")
	run req GET /admin/parties -H "Authorization: Bearer $tok"
	assert_output --regexp '^401 .*claim admin must be true or false'
}

@test "an admin token opens no party by itself" {
	run curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" \
		-H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13' \
		-H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' "$HTTP/ws/party/movie"
	assert_output 403
}

@test "malformed paths, ids, members and methods: 400, 404, 405 with Allow; the main port has no /admin" {
	local A=(-H "Authorization: Bearer $ADMIN_TOKEN")
	run req GET /admin/parties/bad%21id "${A[@]}"
	assert_output --regexp '^400 \{"error":"bad_request","message":"a party id is'
	run req GET "/admin/parties/$(printf 'x%.0s' $(seq 65))" "${A[@]}"
	assert_output --regexp '^400 '
	run req POST "/admin/parties/movie/members/$(printf 'n%.0s' $(seq 200))/remove" "${A[@]}"
	assert_output --regexp '^400 \{"error":"bad_request","message":"a member is'
	run req POST /admin/parties/movie/members/%01x/remove "${A[@]}"
	assert_output --regexp '^400 '
	run req GET /admin/parties/movie/close "${A[@]}"
	assert_output --regexp '^405 \{"error":"method_not_allowed"'
	run curl -s -D - -o /dev/null "${A[@]}" "$ADMIN/admin/parties/movie/close"
	assert_output --regexp '[Aa]llow: POST'
	run req POST /admin/parties "${A[@]}"
	assert_output --regexp '^405 '
	run req GET /admin/parties/movie/frobnicate "${A[@]}"
	assert_output --regexp '^404 \{"error":"not_found","message":"no such admin path'
	run req GET /admin/partiesx "${A[@]}"
	assert_output --regexp '^404 '
	run req GET /admin "${A[@]}"
	assert_output --regexp '^404 '
	# the public port: no admin API, whatever the token
	run curl -s -o /dev/null -w '%{http_code}' "${A[@]}" "$HTTP/admin/parties"
	assert_output 404
}

@test "a request body over 1 KiB or chunked is refused with 413; a small one is read and ignored" {
	local A=(-H "Authorization: Bearer $ADMIN_TOKEN")
	head -c 5000 /dev/zero >"$BATS_TEST_TMPDIR/big"
	run req POST /admin/parties/movie/close "${A[@]}" --data-binary "@$BATS_TEST_TMPDIR/big"
	assert_output --regexp '^413 \{"error":"too_large"'
	run req POST /admin/parties/movie/close "${A[@]}" -H 'Content-Length: 99999999999999999999'
	assert_output --regexp '^413 '
	run req POST /admin/parties/movie/close "${A[@]}" -H 'Transfer-Encoding: chunked' -d x
	assert_output --regexp '^413 '
	run req POST /admin/parties/movie/close "${A[@]}" -d '{}'
	assert_output --regexp '^404 \{"error":"not_found","message":"no party movie'
	# the listener still serves
	run req GET /admin/parties "${A[@]}"
	assert_output '200 {"parties":[]}'
}

@test "revenge-server admin: list, show, close, remove against the API; errors and usage" {
	run -0 "$SERVER" admin --token "$ADMIN_TOKEN" "$ADMIN" list
	assert_output --partial '"parties": []'
	run -1 "$SERVER" admin --token "$ADMIN_TOKEN" "$ADMIN" show movie
	assert_output --partial 'revenge-server admin: 404 not_found: no party movie on this server'
	run -1 "$SERVER" admin --token "$PLAIN_TOKEN" "$ADMIN" list
	assert_output --partial '403 forbidden'
	printf '%s\n' "$ADMIN_TOKEN" >"$BATS_TEST_TMPDIR/tok"
	run -1 "$SERVER" admin --token-file "$BATS_TEST_TMPDIR/tok" "${ADMIN#http://}" close movie
	assert_output --partial '404 not_found'
	run -1 env REVENGE_TOKEN="$ADMIN_TOKEN" "$SERVER" admin "$ADMIN" remove movie 'Ève ✓'
	assert_output --partial 'no party movie'
	# a live party, seen, thinned and closed through the command
	SERVER="$SERVER" ac cli
	# usage errors: exit 2, one line naming what is wrong
	run -2 "$SERVER" admin "$ADMIN" list
	assert_output --partial 'an admin token is required'
	run -2 "$SERVER" admin --token "$ADMIN_TOKEN" "$ADMIN"
	assert_output --partial 'expected URL and a command'
	run -2 "$SERVER" admin --token "$ADMIN_TOKEN" "$ADMIN" frob
	assert_output --partial "unknown command 'frob'"
	run -2 "$SERVER" admin --token "$ADMIN_TOKEN" "$ADMIN" show 'bad id'
	assert_output --partial 'a party id is'
	run -2 "$SERVER" admin --token "$ADMIN_TOKEN" "$ADMIN" remove movie
	assert_output --partial 'expected PARTY and MEMBER'
	run -2 "$SERVER" admin --token "$ADMIN_TOKEN" "https://127.0.0.1:1" list
	assert_output --partial 'plain HTTP'
	run -2 "$SERVER" admin --token "$ADMIN_TOKEN" "http://127.0.0.1:1/admin" list
	assert_output --partial 'no path'
	run -2 "$SERVER" admin --token "$ADMIN_TOKEN" "127.0.0.1" list
	assert_output --partial 'expected http://HOST:PORT'
	run -2 "$SERVER" admin --token "bad token!" "$ADMIN" list
	# nothing listens there: exit 1, said so
	run -1 "$SERVER" admin --token "$ADMIN_TOKEN" --timeout 2 "http://127.0.0.1:1" list
	assert_output --partial 'cannot connect'
	# the main port is not the admin API: a hint
	run -1 "$SERVER" admin --token "$ADMIN_TOKEN" "$HTTP" list
	assert_output --partial '404'
	run -0 "$SERVER" admin --help
	assert_output --partial 'Usage: revenge-server admin'
}

@test "behind a --trusted-proxy a member's address is the one its proxy forwarded" {
	local pid=$SERVER_PID url=$URL http=$HTTP port=$PORT log=$SERVER_LOG
	SERVER_NAME=fwd start_server --metrics-listen 127.0.0.1:0 --auth-secret-file "$SECRET" \
		--trusted-proxy 127.0.0.1/32
	local admin
	admin=$(sed -n 's/^revenge-server: metrics on //p' "$BATS_TEST_TMPDIR/fwd.out")
	run py - "$URL" "$PLAIN_TOKEN" "$admin" "$ADMIN_TOKEN" <<'PYEOF'
import asyncio, json, sys, urllib.request, websockets
url, tok, admin, atok = sys.argv[1:5]
async def main():
    async with websockets.connect(f"{url}/ws/party/fwd?name=ann&token={tok}",
                                  extra_headers={"X-Forwarded-For": "203.0.113.7"}) as ws:
        await ws.recv()
        req = urllib.request.Request(admin + "/admin/parties/fwd",
                                     headers={"Authorization": "Bearer " + atok})
        body = json.loads(await asyncio.to_thread(lambda: urllib.request.urlopen(req, timeout=10).read()))
        print(body["member_list"][0]["address"])
asyncio.run(main())
PYEOF
	stop_server
	SERVER_PID=$pid URL=$url HTTP=$http PORT=$port SERVER_LOG=$log
	assert_success
	assert_output 203.0.113.7
}
