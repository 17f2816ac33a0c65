#!/usr/bin/env bats
# Watch parties across a restart (--party-retention): a real server is
# stopped (SIGTERM, or kill -9) and started again on the same store, and
# members come back with their welcome's resume_token
# (tests/helpers/restart_check.py). Runs on SQLite, and on PostgreSQL in
# the postgres suite (REVENGE_TEST_STORE=postgres, scripts/run-tests.sh).
# Cluster mode (a real redis-server, nodes A and B): a party Redis forgot
# (every node stopped or killed, or Redis emptied) comes back from the
# store; on PostgreSQL the nodes share one database.
load helpers
load cluster_helpers

teardown() {
	stop_server || true
	local n
	for n in a_PID b_PID; do
		if [ -n "${!n:-}" ]; then kill -TERM "${!n}" 2>/dev/null || true; fi
	done
	stop_redis
	if [ -n "${CLIENT:-}" ]; then kill "$CLIENT" 2>/dev/null || true; wait "$CLIENT" 2>/dev/null || true; fi
}

rc() {
	run py "$PYHELP/restart_check.py" "$URL" "$@"
	assert_success
}

# store_doc PARTY [DB]: the party's document as the store has it
# (committed); DB as start_server names it (default: the test's).
store_doc() {
	local db=${2:-$BATS_TEST_TMPDIR/revenge.db}
	if [ "${REVENGE_TEST_STORE:-sqlite}" = postgres ]; then
		psql "$(pg_test_db "$db")" -qAt \
			-c "SELECT doc FROM revenge_party WHERE party_id = '$1'"
	else
		"$PY" -c 'import sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
for (d,) in c.execute("SELECT doc FROM party WHERE party_id = ?", (sys.argv[2],)):
    print(d)' "$db" "$1" 2>/dev/null
	fi
}

# wait_doc PARTY DB WORD...: wait (bounded, 10 s) until the store's
# committed document of PARTY (store_doc) holds every WORD.
wait_doc() {
	local party=$1 db=$2 i w doc= ok
	shift 2
	for i in $(seq 1 100); do
		doc=$(store_doc "$party" "$db")
		ok=1
		for w in "$@"; do [[ "$doc" == *"$w"* ]] || ok=; done
		[ -n "$ok" ] && return 0
		sleep 0.1
	done
	echo "never committed ($*): $doc"
	return 1
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

@test "SIGTERM and a restart keep host, paused position, speed, media and chat history; tokens give id, name and role back; unknown, other-party and malformed tokens are ignored or refused (400)" {
	sigterm_restart movie
	rc after movie "$BATS_TEST_TMPDIR/state"
	assert_output resumed
	grep -q 'party_restored' "$SERVER_LOG"
	# they left again: their tokens are good for the retention, others not
	rc bad movie "$BATS_TEST_TMPDIR/state"
	assert_output ignored
}

# bats test_tags=timed
@test "a playing party's position is extrapolated across the downtime" {
	sigterm_restart playing-party playing
	rc after playing-party "$BATS_TEST_TMPDIR/state" playing
	assert_output resumed
}

@test "kill -9: what was committed before the kill comes back (at most the last second is lost)" {
	start_server --party-retention 1h
	before crash
	# the save tick writes the party within 1 s (RV__KEEP_SAVE_EVERY_S)
	# of the chat; bounded wait for the commit, then the kill
	wait_doc crash "$BATS_TEST_TMPDIR/revenge.db" 'hello from bob' '"position":42.5'
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

# bats test_tags=timed
@test "past the retention a token is unknown and the party starts afresh" {
	start_server --party-retention 2s
	rc expired gone 2
	assert_output expired
}

@test "--party-retention 0: no resume_token, nothing kept; on by default, a client that ignores it works" {
	start_server --party-retention 0
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
	stop_server
	# the default keeps parties (1 h)
	start_server
	rc old plainer
	assert_output "old client ok"
}

@test "--party-retention: bad values are usage errors; --check-config shows it" {
	for bad in -1 31d 0.5s ' 5'; do
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

@test "cluster mode: a node restarted while another holds members gets the party from Redis, not from its store" {
	[ -n "$REDIS_SERVER" ] || skip "redis-server is not installed"
	start_redis
	start_node b --redis "redis://127.0.0.1:$REDIS_PORT" --party-retention 1h
	start_node a --redis "redis://127.0.0.1:$REDIS_PORT" --party-retention 1h
	# bob on node B hosts, syncs 10 (paused) and stays; told to (go),
	# syncs 33
	py - "$b_URL" "$BATS_TEST_TMPDIR/go" <<'PYEOF' >"$BATS_TEST_TMPDIR/hold.out" 2>&1 3>&- &
import asyncio, json, os, sys, websockets
async def sync(ws, pos, sid):
    await ws.send(json.dumps({"type": "sync", "id": sid, "payload": {"position": pos, "playing": False, "speed": 1}}))
    while json.loads(await asyncio.wait_for(ws.recv(), 10)).get("id") != sid:
        pass
async def main():
    async with websockets.connect(sys.argv[1] + "/ws/party/clustered?name=bob") as ws:
        w = json.loads(await ws.recv())["payload"]
        assert len(w["resume_token"]) == 32, w
        await sync(ws, 10, "s1")
        print("ready", flush=True)
        for _ in range(600):
            if os.path.exists(sys.argv[2]):
                break
            await asyncio.sleep(0.05)
        await sync(ws, 33, "s2")
        print("synced", flush=True)
        await asyncio.sleep(60)
asyncio.run(main())
PYEOF
	CLIENT=$!
	wait_for "$BATS_TEST_TMPDIR/hold.out" '^ready$' 10
	# ann visits node A: A writes the party (at 10) to its store as she
	# leaves, while bob still holds it on B
	run py - "$a_URL" <<'PYEOF'
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1] + "/ws/party/clustered?name=ann") as ws:
        w = json.loads(await ws.recv())["payload"]
        assert w["state"]["position"] == 10, w
    print("ok")
asyncio.run(main())
PYEOF
	assert_output ok
	wait_doc clustered "$BATS_TEST_TMPDIR/a.revenge.db" '"position":10'
	touch "$BATS_TEST_TMPDIR/go"
	wait_for "$BATS_TEST_TMPDIR/hold.out" '^synced$' 10
	stop_node a
	start_node a --redis "redis://127.0.0.1:$REDIS_PORT" --party-retention 1h
	grep -q 'parties_restored' "$a_LOG"
	# A read the party (at 10) from its store; Redis has it (at 33): the
	# recall's answer wins, the store's copy is dropped
	run py - "$a_URL" <<'PYEOF'
import asyncio, json, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1] + "/ws/party/clustered?name=ann") as ws:
        w = json.loads(await ws.recv())["payload"]
        assert w["state"]["position"] == 33 and w["role"] == "member", w
        assert len(w["resume_token"]) == 32, w
    print("ok")
asyncio.run(main())
PYEOF
	assert_success
	assert_output ok
	! grep -q 'party_restored' "$a_LOG"
	stop_node a
	stop_node b
	a_PID= b_PID=
	# the last node to hold it wrote it as it left
	run store_doc clustered "$BATS_TEST_TMPDIR/b.revenge.db"
	assert_output --partial '"position":33'
}

# Every node of a cluster stopped at once: parties come back from the
# store when Redis has forgotten them. In the postgres suite
# (scripts/run-tests.sh) the nodes share one database and the members
# come back on the other node (AFTER b); on SQLite each node has its own
# file and they come back on the node that held the party (AFTER a).
cluster_store() {
	[ -n "$REDIS_SERVER" ] || skip "redis-server is not installed"
	SHARED= AFTER=a
	if [ "${REVENGE_TEST_STORE:-sqlite}" = postgres ]; then
		SHARED="$BATS_TEST_TMPDIR/shared.db" AFTER=b
	fi
}

start_cnode() {
	SERVER_DB=$SHARED start_node "$1" --redis "redis://127.0.0.1:$REDIS_PORT" --party-retention 1h
}

# cluster_before PARTY: both nodes up; alice and bob set PARTY up on
# node A, playing, held open (CLIENT) until the node goes.
cluster_before() {
	start_redis
	start_cnode a
	start_cnode b
	py "$PYHELP/restart_check.py" "$a_URL" before "$1" "$BATS_TEST_TMPDIR/state" playing \
		>"$BATS_TEST_TMPDIR/before.out" 2>&1 3>&- &
	CLIENT=$!
	wait_for "$BATS_TEST_TMPDIR/before.out" '^ready$' 10
}

# rcli ARGS: redis-cli on the test's Redis.
rcli() {
	redis-cli -p "$REDIS_PORT" "$@"
}

# leases_gone: wait (bounded) until no node's lease is left: the members
# Redis still has of the stopped nodes (a drain's leaves may not reach
# Redis before the process ends; a kill -9 sends none) are dead, and the
# first read of a node started again drops them and with the last one
# the party's keys, so its recall finds nothing.
leases_gone() {
	local i
	for i in $(seq 1 150); do
		[ -z "$(rcli --scan --pattern 'revenge:node:*')" ] && return 0
		sleep 0.2
	done
	echo "Redis still has leases: $(rcli --scan --pattern 'revenge:node:*')"
	return 1
}

# cluster_after PARTY: both nodes again; alice and bob resume on node
# AFTER (they were on A): ids, names, alice's host role, media, the
# position extrapolated and the chat history are back.
cluster_after() {
	start_cnode a
	start_cnode b
	local url="${AFTER}_URL" log="${AFTER}_LOG"
	run py "$PYHELP/restart_check.py" "${!url}" after "$1" "$BATS_TEST_TMPDIR/state" playing
	assert_success
	assert_output resumed
	grep -q "party_restored party=$1" "${!log}"
	if [ -z "$SHARED" ]; then grep -q party_retention_local "$a_LOG"; fi
}

# bats test_tags=timed
@test "cluster, every node stopped (SIGTERM), Redis forgets: the party comes back from the store (shared: on another node)" {
	cluster_store
	cluster_before whole
	stop_node a
	stop_node b
	a_PID= b_PID=
	client_done
	run store_doc whole "${SHARED:-$BATS_TEST_TMPDIR/a.revenge.db}"
	assert_output --partial 'hello from bob'
	leases_gone
	cluster_after whole
}

# bats test_tags=timed
@test "cluster, every node killed (-9): once the leases are gone the party comes back from the store" {
	cluster_store
	cluster_before crashed
	wait_doc crashed "${SHARED:-$BATS_TEST_TMPDIR/a.revenge.db}" 'hello from bob'
	kill -KILL "$a_PID" "$b_PID"
	wait "$a_PID" "$b_PID" 2>/dev/null || true
	a_PID= b_PID=
	kill "$CLIENT" 2>/dev/null || true
	wait "$CLIENT" 2>/dev/null || true
	CLIENT=
	# Redis still has the party (state, chat and the dead nodes'
	# members) until the leases expire and a node's read drops them
	[ "$(rcli EXISTS revenge:party:crashed:state)" = 1 ]
	leases_gone
	cluster_after crashed
}

@test "cluster, Redis restarted empty while the nodes were down: the party comes back; two nodes restoring it at once agree" {
	cluster_store
	[ -n "$SHARED" ] || skip "needs a PostgreSQL store the nodes share (REVENGE_TEST_STORE=postgres)"
	cluster_before emptied
	stop_node a
	stop_node b
	a_PID= b_PID=
	client_done
	stop_redis
	start_redis
	[ -z "$(rcli --scan --pattern 'revenge:*')" ]
	start_cnode a
	start_cnode b
	# one joiner on each node at once: one node writes the party to Redis,
	# both welcome with the same state and a single copy of the history
	run py - "$a_URL" "$b_URL" <<'PYEOF'
import asyncio, json, sys, websockets
async def one(url, name):
    async with websockets.connect(url + "/ws/party/emptied?name=" + name) as ws:
        return json.loads(await ws.recv())["payload"]
async def main():
    wa, wb = await asyncio.gather(one(sys.argv[1], "ann"), one(sys.argv[2], "ben"))
    for w in (wa, wb):
        s = w["state"]
        assert s["playing"] and s["speed"] == 1.5 and s["position"] > 42.5, w
        assert [h["payload"]["text"] for h in w["history"]] == ["hello from bob"], w
    # the same trajectory on both nodes (their clocks agree within ms)
    pa = wa["state"]["position"] - wa["state"]["server_time"] / 1000 * 1.5
    pb = wb["state"]["position"] - wb["state"]["server_time"] / 1000 * 1.5
    assert abs(pa - pb) < 0.05, (wa["state"], wb["state"])
    print("agreed")
asyncio.run(main())
PYEOF
	assert_success
	assert_output agreed
	[ "$(cat "$a_LOG" "$b_LOG" | grep -c 'party_restored party=emptied')" -ge 1 ]
}
