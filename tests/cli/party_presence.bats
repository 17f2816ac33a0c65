#!/usr/bin/env bats
# Presence that scales (issue 13, part 3): --presence-batch-above and
# --presence-interval, a 500-member party with batched presence, bounded
# welcomes and `members` paging, against a real server.
load helpers

teardown() {
	stop_server
}

bad_presence_flag() { # expected-substring args...
	local want=$1
	shift
	run "$SERVER" "$@"
	assert_failure 2
	assert_output --partial "$want"
	[ "${#lines[@]}" -eq 1 ]
}

@test "--presence-batch-above and --presence-interval are validated" {
	bad_presence_flag "--presence-batch-above: expected a whole number from 0 to 10000000" \
		--presence-batch-above many
	bad_presence_flag "--presence-batch-above" --presence-batch-above -1
	bad_presence_flag "--presence-batch-above" --presence-batch-above 10000001
	bad_presence_flag "--presence-interval: expected a whole number from 0 to 60000" \
		--presence-interval 60001
	bad_presence_flag "--presence-interval" --presence-interval 1.5
	bad_presence_flag "--presence-interval: missing value" --presence-interval
}

@test "--help describes the presence flags" {
	run "$SERVER" --help
	assert_success
	assert_output --partial "--presence-batch-above N"
	assert_output --partial "--presence-interval MS"
}

# bats test_tags=timed
@test "a 500-member party gets batched presence, a partial welcome and members pages" {
	[ "$(ulimit -n)" -ge 1100 ] || skip "needs 1100 open files (ulimit -n is $(ulimit -n))"
	start_server --presence-batch-above 20 --presence-interval 20 --party-join-rate 0 \
		--handshake-rate-per-ip 0 --max-conns-per-ip 0 --rate-limit 0
	run timeout 150 env PYTHONPATH="$PYHELP" "$PY" "$PYHELP/presence_check.py" "$URL" 500 20
	assert_success
	assert_output --partial "ok 500 members, 18 member_joined then"
}

@test "--presence-batch-above 0 keeps per-event messages in any party" {
	start_server --presence-batch-above 0 --party-join-rate 0 --rate-limit 0
	run timeout 60 env PYTHONPATH="$PYHELP" "$PY" - "$URL" <<'PYEOF'
import asyncio, json, sys
import websockets

async def main(url):
    conns = []
    for i in range(80):
        ws = await websockets.connect(f"{url}/ws/party/flat", open_timeout=10, max_queue=None)
        w = json.loads(await asyncio.wait_for(ws.recv(), 10))
        conns.append(ws)
    p = w["payload"]
    assert len(p["members"]) == 80 and p["member_count"] == 80 and p["members_partial"] is False, p
    got = 0
    while got < 79:
        m = json.loads(await asyncio.wait_for(conns[0].recv(), 10))
        assert m["type"] == "member_joined", m
        got += 1
    print("ok flat")
    for ws in conns:
        await ws.close()

asyncio.run(asyncio.wait_for(main(sys.argv[1]), 50))
PYEOF
	assert_success
	assert_output "ok flat"
}
