#!/usr/bin/env bats
# Watch parties across a restart (--party-retention): a real server is
# stopped (SIGTERM, or kill -9) and started again on the same store, and
# members come back with their welcome's resume_token
# (tests/helpers/restart_check.py). Runs on SQLite, and on PostgreSQL in
# the postgres suite (REVENGE_TEST_STORE=postgres, scripts/run-tests.sh).
load helpers

teardown() {
	stop_server || true
	if [ -n "${CLIENT:-}" ]; then kill "$CLIENT" 2>/dev/null || true; wait "$CLIENT" 2>/dev/null || true; fi
}

rc() {
	run py "$PYHELP/restart_check.py" "$URL" "$@"
	assert_success
}

# store_doc PARTY: the party's document as the store has it (committed).
store_doc() {
	if [ "${REVENGE_TEST_STORE:-sqlite}" = postgres ]; then
		psql "$(pg_test_db "$BATS_TEST_TMPDIR/revenge.db")" -qAt \
			-c "SELECT doc FROM revenge_party WHERE party_id = '$1'"
	else
		"$PY" -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for (d,) in c.execute("SELECT doc FROM party WHERE party_id = ?", (sys.argv[2],)):
    print(d)' "$BATS_TEST_TMPDIR/revenge.db" "$1" 2>/dev/null
	fi
}

# before PARTY [playing]: alice and bob set the party up, held open
# (CLIENT) until the server goes; waits for "ready".
before() {
	py "$PYHELP/restart_check.py" "$URL" before "$1" "$BATS_TEST_TMPDIR/state" ${2:-} \
		>"$BATS_TEST_TMPDIR/before.out" 2>&1 3>&- &
	CLIENT=$!
	wait_for "$BATS_TEST_TMPDIR/before.out" '^ready$' 10
}

client_done() {
	wait "$CLIENT"
	CLIENT=
}

# sigterm_restart PARTY [playing]: set up, SIGTERM, start again.
sigterm_restart() {
	start_server --party-retention 1h
	before "$@"
	stop_server
	client_done
	start_server --party-retention 1h
}

@test "SIGTERM and a restart keep host, paused position, speed and chat history; tokens give id, name and role back" {
	sigterm_restart movie
	rc after movie "$BATS_TEST_TMPDIR/state"
	assert_output resumed
	grep -q 'party_restored' "$SERVER_LOG"
}

# bats test_tags=timed
@test "a playing party's position is extrapolated across the downtime" {
	start_server --party-retention 1h
	before playing-party playing
	stop_server
	client_done
	sleep 1
	start_server --party-retention 1h
	rc after playing-party "$BATS_TEST_TMPDIR/state" playing
	assert_output resumed
}

@test "kill -9: what was committed before the kill comes back (at most the last second is lost)" {
	start_server --party-retention 1h
	before crash
	# the save tick writes the party within 1 s (RV__KEEP_SAVE_EVERY_S)
	# of the chat; bounded wait for the commit, then the kill
	local i doc=
	for i in $(seq 1 100); do
		doc=$(store_doc crash)
		if [[ "$doc" == *'hello from bob'* && "$doc" == *'"position":42.5'* ]]; then break; fi
		sleep 0.1
	done
	[[ "$doc" == *'hello from bob'* ]] || { echo "never committed: $doc"; false; }
	kill -KILL "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
	kill "$CLIENT" 2>/dev/null || true
	wait "$CLIENT" 2>/dev/null || true
	CLIENT=
	start_server --party-retention 1h
	rc after crash "$BATS_TEST_TMPDIR/state"
	assert_output resumed
}

@test "unknown, other-party and malformed resume tokens are ignored or refused (400); the right one still works" {
	sigterm_restart tok
	rc bad tok "$BATS_TEST_TMPDIR/state"
	assert_output ignored
}

# bats test_tags=timed
@test "past the retention a token is unknown and the party starts afresh" {
	start_server --party-retention 2s
	rc expired gone 2
	assert_output expired
}

@test "without --party-retention: no resume_token, nothing kept, and a client that ignores it works" {
	start_server
	run py - "$URL" <<'PYEOF'
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1] + "/ws/party/plain?name=ann") as ws:
        w = json.loads(await ws.recv())["payload"]
        assert "resume_token" not in w, w
        await ws.send(json.dumps({"type": "sync", "payload": {"position": 9, "playing": False, "speed": 1}}))
    async with websockets.connect(sys.argv[1] + "/ws/party/plain") as ws:
        w = json.loads(await ws.recv())["payload"]
        assert w["state"]["position"] == 0, w
    print("off")
asyncio.run(main())
PYEOF
	assert_success
	assert_output off
	start_server --party-retention 1h
	rc old plainer
	assert_output "old client ok"
}

@test "--party-retention: bad values are usage errors; --check-config shows it" {
	for bad in x -1 1x 31d 0.5s '' ' 5'; do
		run -2 "$SERVER" --party-retention "$bad"
		assert_output --partial "--party-retention: expected a duration"
	done
	run -0 "$SERVER" --party-retention 12h --check-config
	assert_output --partial "party-retention = 43200s"
	printf 'party-retention = 7d\n' >"$BATS_TEST_TMPDIR/c.conf"
	run -0 "$SERVER" --config "$BATS_TEST_TMPDIR/c.conf" --check-config
	assert_output --partial "party-retention = 604800s"
	printf 'party-retention = forever\n' >"$BATS_TEST_TMPDIR/c.conf"
	run "$SERVER" --config "$BATS_TEST_TMPDIR/c.conf" --check-config
	assert_failure
	assert_output --partial "c.conf:1: party-retention: expected a duration"
}
