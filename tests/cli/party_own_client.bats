#!/usr/bin/env bats
# The watch party driven by the project's own client (lib/client.c through
# tests/helpers/rvcat): two or three members scripted side by side.
load helpers

setup() {
	start_server
}

teardown() {
	stop_server
	jobs -p | xargs -r kill 2>/dev/null || true
}

# json FILE TYPE EXPR: evaluate a Python expression on the last message of
# TYPE in FILE (bound to m), print the result.
json() {
	"$PY" - "$@" <<'PYEOF'
import json, sys
path, mtype, expr = sys.argv[1:4]
msgs = [json.loads(l) for l in open(path) if l.startswith("{")]
m = [x for x in msgs if x["type"] == mtype][-1]
print(eval(expr))
PYEOF
}

@test "host and member: welcome, member_joined, sync relayed with from/ts, host gets no copy" {
	rvcat --timeout 8000 "$URL/ws/party/own?name=host" >"$BATS_TEST_TMPDIR/host" 3>&- <<'EOF2' &
#wait member_joined
{"type":"sync","payload":{"position":42.5,"playing":true,"speed":1.5}}
#sleep 300
EOF2
	local h=$!
	wait_for "$BATS_TEST_TMPDIR/host" '"welcome"'
	run rvcat --timeout 8000 "$URL/ws/party/own?name=member" <<<'#wait sync'
	assert_success
	echo "$output" >"$BATS_TEST_TMPDIR/member"
	wait "$h"
	assert_equal "$(json "$BATS_TEST_TMPDIR/member" welcome 'm["payload"]["role"]')" member
	assert_equal "$(json "$BATS_TEST_TMPDIR/member" welcome '[x["name"] for x in m["payload"]["members"]]')" "['host', 'member']"
	assert_equal "$(json "$BATS_TEST_TMPDIR/member" sync '(m["payload"]["position"], m["payload"]["playing"], m["payload"]["speed"])')" "(42.5, True, 1.5)"
	assert_equal "$(json "$BATS_TEST_TMPDIR/member" sync 'm["from"] == m["from"] and type(m["ts"]).__name__')" float
	run grep -c '"type":"sync"' "$BATS_TEST_TMPDIR/host"
	assert_output 0
	assert_equal "$(json "$BATS_TEST_TMPDIR/host" member_joined 'm["payload"]["name"]')" member
}

@test "a member's sync is forbidden; errors echo the id" {
	rvcat --timeout 8000 --count 3 "$URL/ws/party/own2?name=host" </dev/null >"$BATS_TEST_TMPDIR/host" 3>&- &
	wait_for "$BATS_TEST_TMPDIR/host" '"welcome"'
	run rvcat "$URL/ws/party/own2?name=m" <<'EOF2'
{"type":"sync","payload":{"position":1,"playing":true,"speed":1},"id":"q1"}
#wait error
{"type":"nope","id":"q2"}
#wait error 2
EOF2
	assert_output --regexp '"code":"forbidden".*"id":"q1"'
	assert_output --regexp '"code":"unknown_type".*"ref":"nope".*"id":"q2"'
}

@test "chat reaches both; a late joiner gets it in history; reaction and time" {
	# a third member keeps the party alive for the late joiner, however
	# slow the machine (it is stopped at the end)
	rvcat --timeout 60000 --count 99 "$URL/ws/party/own3?name=keeper" </dev/null >"$BATS_TEST_TMPDIR/keeper" 3>&- &
	local keeper=$!
	wait_for "$BATS_TEST_TMPDIR/keeper" '"welcome"'
	rvcat --timeout 8000 "$URL/ws/party/own3?name=ann" >"$BATS_TEST_TMPDIR/ann" 3>&- <<'EOF2' &
#wait member_joined
{"type":"chat","payload":{"text":"hello 🍿"},"id":"c1"}
{"type":"reaction","payload":{"emoji":"🎉"}}
{"type":"time","payload":{"client_time":123.5},"id":"t1"}
#wait time
#sleep 200
EOF2
	local a=$!
	wait_for "$BATS_TEST_TMPDIR/ann" '"welcome"'
	run rvcat --timeout 8000 "$URL/ws/party/own3?name=bob" <<<$'#wait chat\n#wait reaction'
	assert_output --partial '"text":"hello 🍿","name":"ann"'
	assert_output --partial '"emoji":"🎉"'
	refute_output --partial '"id":"c1"'
	wait "$a"
	assert_equal "$(json "$BATS_TEST_TMPDIR/ann" chat 'm["id"]')" c1
	assert_equal "$(json "$BATS_TEST_TMPDIR/ann" time 'm["payload"]["client_time"] == 123.5 and m["payload"]["server_receive_time"] <= m["payload"]["server_time"]')" True
	run rvcat "$URL/ws/party/own3?name=cat" <<<'#wait welcome'
	assert_output --partial '"history":[{"type":"chat","payload":{"text":"hello 🍿","name":"ann"}'
	assert_output --partial '"role":"member"'
	kill "$keeper" 2>/dev/null || true
}

@test "transfer_host hands over; host leaving elects the longest present" {
	rvcat --timeout 8000 "$URL/ws/party/own4?name=ann" >"$BATS_TEST_TMPDIR/ann" 3>&- <<'EOF2' &
#wait member_joined 2
#sleep 100
EOF2
	local a=$!
	wait_for "$BATS_TEST_TMPDIR/ann" '"welcome"'
	rvcat --timeout 8000 "$URL/ws/party/own4?name=bob" >"$BATS_TEST_TMPDIR/bob" 3>&- <<'EOF2' &
#wait host_changed
EOF2
	local b=$!
	wait_for "$BATS_TEST_TMPDIR/bob" '"welcome"'
	run rvcat --timeout 8000 "$URL/ws/party/own4?name=cat" <<<'#wait host_changed'
	wait "$a" "$b"
	bob_id=$(json "$BATS_TEST_TMPDIR/bob" welcome 'm["payload"]["participant_id"]')
	assert_output --partial "{\"type\":\"host_changed\",\"payload\":{\"host_id\":\"$bob_id\"}"
}

@test "our client sees handshake refusals with their HTTP status" {
	run -3 rvcat --origin https://evil.example "$URL/ws/party/x" </dev/null
	assert_output --partial '#refused 403'
	run -3 rvcat "$URL/ws/party/bad!id" </dev/null
	assert_output --partial '#refused 400'
	run -3 rvcat --subprotocol other.v9 "$URL/ws/party/x" </dev/null
	assert_output --partial '#refused 400'
	run rvcat --no-subprotocol "$URL/ws/party/x" <<<'#wait welcome'
	assert_line --index 0 '#open -'
	run rvcat --deflate "$URL/ws/party/x" <<<'#wait welcome'
	assert_output --partial '"type":"welcome"'
}
