#!/usr/bin/env bats
# revenge-bench against two nodes sharing a Redis (tests/cli/cluster_helpers.bash):
# fanout, sync (spread bounds), sync --rejoin, fill. The two sync runs
# judge spreads in ms: tagged "timed", run after the side-by-side batch
# (scripts/run-tests.sh); fanout and fill only count deliveries, so they
# run in the batch.
load helpers
load cluster_helpers

@test "revenge-bench fanout spread over two nodes: members on B get every sync of the hosts on A" {
	open_nodes
	# members 1, 3, 5, ... of each party on B, the hosts and the rest on A
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		--server-pid "$A_PID" --redis-pid "$REDIS_PID" \
		fanout --parties 2 --members 20 --rate 5 --duration 3s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["urls"] == sys.argv[1:], r
assert r["connected"] == 40 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert r["sent"] >= 10 and r["expected"] == r["sent"] * 19, r
assert r["received"] == r["expected"] and r["loss_pct"] == 0 and r["errors"] == 0, r
# each node: its CPU (A from /proc, B from its /metrics) and its deliveries,
# 10 members on A (the hosts do not count theirs) and 10 on B
n = r["nodes"]
assert [x["url"] for x in n] == sys.argv[1:], n
assert n[0]["received"] + n[1]["received"] == r["received"], n
assert n[0]["received"] == r["sent"] * 9 and n[1]["received"] == r["sent"] * 10, n
assert all(x["cpu_s"] is not None and x["cpu_s"] >= 0 for x in n), n
assert abs(r["server_cpu_s"] - n[0]["cpu_s"] - n[1]["cpu_s"]) < 0.002, r
# one PUBLISH per party message, whatever the members; Redis CPU measured
assert r["redis_publish_per_message"] == 1, r
assert r["redis_cpu_s"] is not None and r["redis_us_per_message"] is not None, r
' "$A_URL" "$B_URL"
	# the syncs crossed through Redis: B holds 20 members and received them
	[ "$(metric B revenge_redis_received_total)" -ge 10 ]
	run "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" fanout \
		--parties 1 --members 4 --rate 5 --duration 500ms
	assert_success
	assert_output --partial "server        $A_URL, $B_URL (hosts on the first, members round-robin)"
	assert_output --regexp "  node 1 +[0-9.]+ s, [0-9]+ delivered here"
	assert_output --regexp "  node 2 +[0-9.]+ s, [0-9]+ delivered here"
	stop_node A
	stop_node B
}

# bats test_tags=timed
@test "revenge-bench sync over two nodes: members on both, spread per node and across within bounds" {
	open_nodes
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		sync --members 6 --duration 3s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["urls"] == sys.argv[1:] and r["connected"] == 6 and r["failed"] == 0, r
n = r["nodes"]
assert [x["url"] for x in n] == sys.argv[1:] and [x["members"] for x in n] == [3, 3], n
assert r["commands"] >= 1 and r["steady_samples"] > 50, r
# loopback, no simulated delay: a few ms is already a lot
assert r["spread_ms"]["p99"] < 20 and r["cross_node_spread_ms"]["p99"] < 20, r
assert r["cross_node_spread_ms"]["max"] <= r["spread_ms"]["max"] + 1e-9, r
for x in n:
    assert x["spread_ms"]["p99"] is not None and x["spread_ms"]["p99"] < 20, x
# the two nodes stamp with clocks of one machine
assert abs(n[1]["server_clock_vs_first_ms"]) < 5 and n[0]["server_clock_vs_first_ms"] == 0, n
assert r["rejoin"] is None, r
# the host on A stayed the host: every command relayed
assert r["errors"] == 0 and r["host_changes"] == 0 and r["error_code"] is None, r
assert r["lead_ms"]["count"] == r["commands"], r
' "$A_URL" "$B_URL"
	# the host is on A: its commands reached B through Redis
	[ "$(metric B revenge_redis_received_total)" -ge 1 ]
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		sync --members 4 --duration 2500ms --delay 20 --jitter 5
	assert_success
	assert_line --partial "server        $A_URL, $B_URL (hosts on the first, members round-robin)"
	assert_line --regexp '^across nodes +p50 '
	assert_line --partial "node 2        $B_URL: 2 members"
	stop_node A
	stop_node B
}

# bats test_tags=timed
@test "revenge-bench sync --rejoin: node B killed and started again, its members come back in sync" {
	open_nodes
	local out="$BATS_TEST_TMPDIR/rejoin.json" i
	timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		sync --members 6 --duration 7s --rejoin --json >"$out" 3>&- &
	local bench=$!
	# B's three members in, then into the window (2 s of warming up)
	for i in $(seq 1 100); do
		[ "$(metric B 'revenge_connections{endpoint="party"}')" = 3 ] && break
		sleep 0.1
	done
	sleep 2.5
	kill -KILL "$B_PID"
	wait "$B_PID" 2>/dev/null || true
	sleep 0.5
	# on its port again (the last --listen counts)
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" --listen "127.0.0.1:$B_PORT" \
		"${OPEN_LIMITS[@]}"
	local rc=0
	wait "$bench" || rc=$?
	cat "$out"
	[ "$rc" = 0 ]
	"$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
j = r["rejoin"]
assert r["connected"] == 6 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert j["drops"] == 3 and j["rejoined"] == 3 and j["back"] == 3 and j["not_back"] == 0, j
# B was away for half a second at least, and came back within seconds
assert 400 <= j["welcome_ms"]["p50"] <= j["back_ms"]["p50"], j
assert j["back_ms"]["max"] < 5000, j
assert j["spread_after_ms"]["max"] is not None and j["spread_after_ms"]["max"] < 100, j
' "$out"
	sed -n 's/.*"rejoin":\({[^}]*}[^}]*}[^}]*}[^}]*}\).*/# rejoin \1/p' "$out" >&3
	stop_node A
	stop_node B
}

@test "revenge-bench fill over two nodes: every member of both welcomed, the storm sync and the quiet one reach both" {
	open_nodes
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		fill --parties 2 --members 80 --connect-rate 100000 --duration 1s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["welcomed"] == 160 and r["rosters_whole"] == 160, r
n = r["nodes"]
assert [x["members"] for x in n] == [80, 80] and [x["welcomed"] for x in n] == [80, 80], n
for x in n:
    assert x["rosters_whole"] == 80 and x["roster_s"] >= x["fill_s"] > 0, x
    for k in ("storm_sync", "sync"):
        s = x[k]
        # A holds the hosts: 39 others each; B 40 each
        assert s["expected"] == s["received"] == (78 if x is n[0] else 80), (k, x)
        assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["max"], (k, x)
assert r["storm_sync"]["received"] == 158 and r["sync_received"] == 158, r
# the hosts stayed hosts through the storm
assert r["errors"] == 0 and r["host_changes"] == 0, r
' "$A_URL" "$B_URL"
	stop_node A
	stop_node B
}
