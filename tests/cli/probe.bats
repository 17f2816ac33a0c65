#!/usr/bin/env bats
# revenge-probe against a real revenge-server: every check passing, every
# exit status provoked for real, --json parsed.
load helpers

PROBE="$REVENGE_BUILD/bin/revenge-probe"
EXAMPLES="$BATS_TEST_DIRNAME/../../docs/examples"

setup() {
	start_server
}

teardown() {
	[ -n "${SERVER_PID:-}" ] && kill -CONT "$SERVER_PID" 2>/dev/null || true
	stop_server || true
	jobs -p | xargs -r kill 2>/dev/null || true
}

probe() {
	run "$PROBE" --url "$URL" --timeout 5s "$@"
}

json_field() { # JSON FIELD-EXPR
	"$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

@test "health passes" {
	probe health
	assert_success
	assert_output --partial "health: /healthz ok, /metrics has"
}

@test "sync passes and reports relay latency and disagreement" {
	probe sync --members 4
	assert_success
	assert_output --partial "4 members got the host's sync"
	assert_output --regexp "relay min [0-9.]+ / median [0-9.]+ / max [0-9.]+ ms"
	# the server schedules the sync: its lead (100 ms on loopback) is said
	assert_output --regexp "lead [0-9]+ ms"
}

@test "chat passes" {
	probe chat
	assert_success
}

@test "progress passes" {
	probe progress --interval-ms 150 --position 100 --duration 7200
	assert_success
	assert_output --partial "ticks every ~150 ms"
}

@test "quality: a request and the suggester's answer" {
	probe quality --request 720p
	assert_success
	probe quality --bandwidth 900,900 --spacing-ms 100 --expect down
	assert_success
	probe quality --bandwidth 900 --spacing-ms 0 --expect 360p
	assert_success
	probe quality --bandwidth 8500,8500 --spacing-ms 100 --expect none
	assert_success
}

@test "--json: one object per check with stable fields" {
	probe --json sync --members 2
	assert_success
	assert_equal "$(json_field "$output" 'd["check"], d["ok"], d["exit"]')" "('sync', True, 0)"
	assert_equal "$(json_field "$output" 'sorted(d["details"]["relay_latency_ms"])')" "['max', 'median', 'min']"
	assert_equal "$(json_field "$output" 'type(d["details"]["disagreement_ms"]).__name__')" float
	assert_equal "$(json_field "$output" 'type(d["elapsed_ms"]).__name__, d["url"] == sys.argv[3]' "$URL" 2>/dev/null || json_field "$output" 'type(d["elapsed_ms"]).__name__')" float
	probe --json quality --bandwidth 900 --spacing-ms 0 --expect up
	assert_failure 1
	assert_equal "$(json_field "$output" 'd["ok"], d["exit"], "expected up" in d["error"]')" "(False, 1, True)"
}

@test "no colour or marks off a terminal, nor with NO_COLOR" {
	probe health
	refute_output --partial $'\033'
	refute_output --partial '✓'
	NO_COLOR=1 run "$PROBE" --url "$URL" health
	refute_output --partial $'\033'
}

@test "--quiet prints nothing on success, still explains a failure" {
	probe --quiet chat
	assert_success
	assert_output ''
	probe --quiet quality --request nosuch
	assert_failure 1
	assert_output --partial "unknown_profile"
}

@test "a final error reply fails at once, not after --timeout" {
	local t0=$SECONDS
	probe --timeout 60s quality --request 4320p
	assert_failure 1
	assert_output --partial "quality_request 4320p: error unknown_profile"
	# the answer came in milliseconds; 60 s would be the timeout waited out
	[ $((SECONDS - t0)) -lt 20 ]
	# a scenario's expect of the reply to its own request (matched by id):
	# the error with that id ends the step at once, whatever "within" says
	t0=$SECONDS
	run "$PROBE" --url "$URL" run - <<'EOF2'
{"clients": {"h": {"path": "/ws/party/final-${run}?name=hal"},
             "m": {"path": "/ws/party/final-${run}?name=meg"}},
 "steps": [{"open": "h"}, {"expect": "welcome", "client": "h"},
           {"open": "m"}, {"expect": "welcome", "client": "m"},
           {"send": {"type": "sync", "id": "s-${run}", "payload": {"position": 1, "playing": true, "speed": 1}}, "client": "m"},
           {"expect": "sync", "client": "m", "match": {"id": "s-${run}"}, "within": "60s"}]}
EOF2
	assert_failure 1
	assert_output --partial 'step 6'
	assert_output --regexp 'expect sync \(id s-[^)]+\): error forbidden'
	[ $((SECONDS - t0)) -lt 20 ]
}

@test "exit 1: a wrong expectation says what was expected and what came" {
	probe quality --request 8k
	assert_failure 1
	assert_output --partial "quality_request 8k: error unknown_profile"
	run "$PROBE" --url "$URL" run - <<'EOF2'
{"clients": {"a": {"path": "/ws/party/wrong-${run}?name=ann"}},
 "steps": [{"send": {"type": "chat", "payload": {"text": "hello"}}},
           {"expect": "chat", "match": {"payload.text": "goodbye"}, "within": "1s"}]}
EOF2
	assert_failure 1
	assert_output --partial 'step 2'
	assert_output --partial 'payload.text is "hello", expected "goodbye"'
}

@test "global options after the check are taken as before it; --help there too" {
	run "$PROBE" --url "$URL" chat --json
	assert_success
	echo "$output" | "$PY" -c 'import json,sys; r=json.load(sys.stdin); assert r["check"]=="chat" and r["ok"], r'
	run "$PROBE" sync --members 2 --url="$URL" --timeout 5s --quiet
	assert_success
	assert_output ''
	run "$PROBE" health --help
	assert_success
	assert_line --index 0 --partial "Usage: revenge-probe"
	run -2 "$PROBE" --url "$URL" sync --json=yes
	assert_output --partial -- "--json takes no value"
	run -2 "$PROBE" --url "$URL" sync --timeout
	assert_output --partial -- "--timeout: missing value"
	run -2 "$PROBE" --url "$URL" sync --timeout 0s
	assert_output --partial -- "--timeout: must be more than 0"
	run -2 "$PROBE" --url "$URL" sync --bogus
	assert_output --partial -- "unknown option '--bogus' for this check"
	# after "--", words are the check's: --json is then not an option of sync
	run -2 "$PROBE" --url "$URL" sync -- --json
	assert_output --partial "unexpected argument '--json'"
}

@test "exit 3: a dead port" {
	run "$PROBE" --url ws://127.0.0.1:1 --timeout 2s health
	assert_failure 3
	assert_output --partial "GET http://127.0.0.1:1/healthz"
	run "$PROBE" --url ws://127.0.0.1:1 --timeout 2s sync
	assert_failure 3
	assert_output --partial "cannot connect (connection refused or host unreachable)"
	run "$PROBE" --url ws://no-such-host.invalid:1 --timeout 2s sync
	assert_failure 3
	assert_output --partial "cannot connect (cannot resolve the host 'no-such-host.invalid')"
}

@test "exit 3: a handshake refused by origin" {
	probe --origin https://evil.example sync
	assert_failure 3
	# the server's reason, not just its status
	assert_output --partial "the handshake was refused with HTTP 403: origin not allowed"
}

@test "exit 3: the server killed mid-check" {
	"$PROBE" --url "$URL" tail /ws/party/killed >"$BATS_TEST_TMPDIR/tail" 2>&1 3>&- &
	local t=$!
	wait_for "$BATS_TEST_TMPDIR/tail" '"welcome"'
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
	local rc=0
	wait "$t" || rc=$?
	assert_equal "$rc" 3
	run cat "$BATS_TEST_TMPDIR/tail"
	assert_output --partial "closed the connection"
}

@test "exit 4: the server stopped (SIGSTOP) mid-check" {
	kill -STOP "$SERVER_PID"
	probe --timeout 1s chat
	kill -CONT "$SERVER_PID"
	assert_failure 4
	assert_output --partial "within 1000 ms"
}

@test "exit 5: a server that breaks the protocol" {
	PYTHONPATH="$PYHELP" "$PY" "$PYHELP/bad_server.py" garbage >"$BATS_TEST_TMPDIR/bad" 3>&- &
	wait_for "$BATS_TEST_TMPDIR/bad" listening
	local port
	port=$(awk '{print $2}' "$BATS_TEST_TMPDIR/bad")
	run "$PROBE" --url "ws://127.0.0.1:$port" --timeout 2s sync
	assert_failure 5
	assert_output --partial "broke the protocol"
	assert_output --partial "invalid JSON"
}

@test "exit 2: usage errors and a malformed scenario file naming line and field" {
	run "$PROBE" nosuch
	assert_failure 2
	assert_output --partial "unknown check 'nosuch'"
	run "$PROBE" --timeout fast health
	assert_failure 2
	assert_output --partial -- "--timeout"
	run "$PROBE" sync --members 0
	assert_failure 2
	assert_output --partial -- "--members"
	run "$PROBE" --url http://x health
	assert_failure 2
	printf '{"clients": {"a": {"path": "/ws/party/x"}},\n "steps": [\n  {"sleep": "1s"},\n  {"expect": "chat", "within": "soon"}\n ]}\n' >"$BATS_TEST_TMPDIR/bad.json"
	run "$PROBE" --url "$URL" run "$BATS_TEST_TMPDIR/bad.json"
	assert_failure 2
	assert_output --partial "line 4"
	assert_output --partial "steps[1].within"
	printf '{"clients": {\n' >"$BATS_TEST_TMPDIR/trunc.json"
	run "$PROBE" --url "$URL" run "$BATS_TEST_TMPDIR/trunc.json"
	assert_failure 2
	assert_output --partial "line"
	run "$PROBE" run /nonexistent.json
	assert_failure 2
}

@test "the shipped scenario examples pass" {
	for f in "$EXAMPLES"/*.json; do
		run "$PROBE" --url "$URL" --timeout 5s run "$f"
		[ "$status" -eq 0 ] || fail "$(basename "$f"): $output"
	done
}

@test "tail prints every message as JSON lines until --count" {
	"$PROBE" --url "$URL" tail --count 2 /ws/party/tailed >"$BATS_TEST_TMPDIR/tail" 2>"$BATS_TEST_TMPDIR/tail.err" 3>&- &
	local t=$!
	wait_for "$BATS_TEST_TMPDIR/tail" '"welcome"'
	run rvcat "$URL/ws/party/tailed?name=guest" <<<'#wait welcome'
	wait "$t"
	run cat "$BATS_TEST_TMPDIR/tail"
	assert_line --index 0 --partial '"type":"welcome"'
	assert_line --index 1 --partial '"type":"member_joined"'
	assert_equal "${#lines[@]}" 2
}

@test "--wait retries until a starting server answers" {
	local port
	port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	# health's plain HTTP GETs wait too (as docs/probe.md says)
	"$PROBE" --url "ws://127.0.0.1:$port" --wait 10s --timeout 5s health + chat \
		>"$BATS_TEST_TMPDIR/w" 2>&1 3>&- &
	local w=$!
	sleep 1
	"$SERVER" --listen "127.0.0.1:$port" --db "$BATS_TEST_TMPDIR/w.db" >/dev/null 2>&1 3>&- &
	local s2=$!
	local rc=0
	wait "$w" || rc=$?
	kill -TERM "$s2"
	wait "$s2" || true
	assert_equal "$rc" 0
	grep -q "^ok health: " "$BATS_TEST_TMPDIR/w"
}

@test "--json keeps the error of a scenario whose file name is not UTF-8, and counts no step passed" {
	local f="$BATS_TEST_TMPDIR/"$'v\xfe.json'
	printf '{"clients":{"a":{"path":"/ws/party/${nope}"}},"steps":[{"sleep":"1ms"}]}' >"$f"
	run "$PROBE" --json --url "$URL" run "$f"
	assert_failure 2
	printf '%s\n' "$output" >"$BATS_TEST_TMPDIR/out.json"
	run "$PY" -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
assert "v?.json: client a: unknown variable ${nope}" in o["error"], o
assert o["details"]["steps_passed"] == 0, o
print("ok")' "$BATS_TEST_TMPDIR/out.json"
	assert_success
	assert_output ok
}


@test "several checks joined by +: each line, one summary, the first failure's status" {
	probe health + sync --members 2 + quality --request 4320p + chat
	assert_failure 1
	assert_line --partial "ok health: "
	assert_line --partial "ok sync: "
	assert_line --partial "FAIL quality: quality_request 4320p: error unknown_profile"
	assert_line --partial "ok chat: "
	assert_line "4 checks: 3 passed, 1 failed (quality)"
	probe health + chat --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
assert [r.get("check") for r in rows[:2]] == ["health", "chat"], rows
assert rows[2] == {"checks": 2, "ran": 2, "passed": 2, "failed": [], "exit": 0}, rows[2]
'
	# a refused handshake after a pass (health's GET sends no Origin): 3
	probe --origin https://evil.example health + chat
	assert_failure 3
	assert_line "2 checks: 1 passed, 1 failed (chat)"
}

@test "--junit FILE: a JUnit report CI systems read, failures and errors apart" {
	local j="$BATS_TEST_TMPDIR/report.xml"
	probe --junit "$j" health + quality --request 4320p + sync --members 2
	assert_failure 1
	"$PY" - "$j" "$URL" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suite = root.find("testsuite")
assert suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("errors") == "0", suite.attrib
cases = suite.findall("testcase")
assert [c.get("name") for c in cases] == ["health", "quality --request 4320p", "sync --members 2"], cases
f = cases[1].find("failure")
assert f is not None and f.get("type") == "exit 1" and "unknown_profile" in f.get("message"), f
assert cases[0].find("failure") is None and cases[2].find("failure") is None
assert suite.find("properties/property").get("value") == sys.argv[2]
PYEOF
	# a dead server: an <error> (exit 3), and the report is still written
	run "$PROBE" --url ws://127.0.0.1:1 --timeout 2s --junit "$j" health
	assert_failure 3
	"$PY" -c '
import sys, xml.etree.ElementTree as ET
s = ET.parse(sys.argv[1]).getroot().find("testsuite")
assert s.get("errors") == "1" and s.find("testcase/error").get("type") == "exit 3", s.attrib
' "$j"
}

@test "bad + and --junit usage: exit 2 before any check runs" {
	run -2 "$PROBE" --url "$URL" health +
	assert_output --partial "a '+' with no check after it"
	run -2 "$PROBE" --url "$URL" + health
	assert_output --partial "a '+' with no check before it"
	run -2 "$PROBE" --url "$URL" health + + chat
	assert_output --partial "two '+' with no check between them"
	run -2 "$PROBE" --url "$URL" health + tail /ws/party/x
	assert_output --partial "tail runs until interrupted: it cannot be one of several checks"
	run -2 "$PROBE" --url "$URL" health + nosuch
	assert_output --partial "unknown check 'nosuch'"
	run -2 "$PROBE" --url "$URL" --junit "$BATS_TEST_TMPDIR/no/such/dir/r.xml" health
	assert_output --partial "--junit: cannot write"
	run -2 "$PROBE" --url "$URL" --junit '' health
	assert_output --partial -- "--junit: empty path"
	# nothing ran: no report left behind
	[ ! -e "$BATS_TEST_TMPDIR/no" ]
}

@test "docs drift: the sample count the docs show for health is a fresh server's" {
	run "$PROBE" --url "$URL" --json health
	assert_success
	local n
	n=$(echo "$output" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["details"]["metrics_samples"])')
	local root="$BATS_TEST_DIRNAME/../.."
	run grep -rhoE "metrics has [0-9]+ samples" "$root/README.md" "$root/docs/probe.md" \
		"$root/docs/man/revenge-probe.1"
	assert_success
	echo "$output" | while read -r line; do
		[ "$line" = "metrics has $n samples" ] || fail "docs say '$line', a fresh server has $n"
	done
}
