#!/usr/bin/env bats
# revenge-bench: short smoke runs against a real server (timing targets live
# in `make bench`, never here).
load helpers

BENCH="$REVENGE_BUILD/bin/revenge-bench"

setup() {
	# the tests of the command line alone, or with servers of their own, start none
	case "$BATS_TEST_DESCRIPTION" in
	*"usage errors"* | "a dead server"* | *"nothing listening"* | *"reads the answer itself"*) return 0 ;;
	esac
	start_server --rate-limit 0 --frame-rate 0 --party-chat-rate 0 --max-conns-per-ip 0 \
		--handshake-rate-per-ip 0 --party-join-rate 0
}

teardown() {
	[ -z "${HS_PID:-}" ] || kill "$HS_PID" 2>/dev/null || true
	stop_server
}

@test "progress, closed loop: every report acked, --json parses" {
	run "$BENCH" --url "$URL" progress --sessions 50 --duration 1s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "progress", r
assert r["connected"] == 50 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert r["acked"] > 100 and r["errors"] == 0 and r["first_error"] is None, r
l = r["ack_latency_ms"]
assert 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99.9"] <= l["max"], l
'
}

@test "progress refused by the server (its default rate limit): exit 1, the first error's text, no latency" {
	stop_server
	start_server
	# 64 reports in flight per session: past 50 a second even when a loaded
	# machine takes 1 s to answer (one at a time, 20 ms was enough not to)
	run -1 "$BENCH" --url "$URL" progress --sessions 5 --inflight 64 --duration 1s
	assert_line --regexp '^errors +[1-9][0-9]*$'
	assert_line "first error   rate_limited: more than 50 messages per second"
	run -1 "$BENCH" --url "$URL" progress --sessions 5 --inflight 64 --duration 1s --json
	# a session stalls at its first refusal: on a quiet machine before the
	# window opens (nothing acked, no latency), on a loaded one within it
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["errors"] > 0 and r["first_error"].startswith("rate_limited: "), r
assert (r["acked"] == 0) == (r["ack_latency_ms"] is None), r
'
}

# bats test_tags=timed
@test "progress, open loop at a fixed rate: the offered load is acked" {
	run "$BENCH" --url "$URL" progress --sessions 20 --rate 400 --inflight 4 --duration 2s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["late"] == 0 and r["errors"] == 0, r
assert 700 <= r["acked"] <= 900, r      # 400/s for 2 s
'
}

@test "fill: every member joins and gets the sync, announcements counted, --json parses" {
	# 3 parties of 100 > the default --presence-batch-above 64: batched presence
	run "$BENCH" --url "$URL" fill --parties 3 --members 100 --duration 1s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "fill" and r["connected"] == 300 and r["welcomed"] == 300, r
assert r["fill_s"] > 0 and r["joins_per_s"] > 0, r
assert r["sync_sent"] == 3 and r["sync_received"] == r["sync_expected"] == 297, r
assert r["errors"] == 0 and r["first_error"] is None and r["interrupted"] is False, r
assert 0 < r["announcements"] < 3 * 100 * 99 / 2, r
l = r["latency_ms"]
assert 0 < l["p50"] <= l["p99"] <= l["max"], l
# the storm sync, sent as the last member got in, reached everyone too
s = r["storm_sync"]
assert s["expected"] == s["received"] == 297 and s["latency_ms"]["p50"] > 0, s
# every roster became whole (welcome count, then presence counts)
assert r["rosters_whole"] == 300 and r["roster_s"] >= r["fill_s"], r
assert len(r["nodes"]) == 1 and r["nodes"][0]["welcomed"] == 300, r["nodes"]
'
	run -2 "$BENCH" fill --rate 1
	assert_output --partial -- "--rate: fill sends one sync per party"
}

@test "fanout: every delivery arrives, latency and server CPU reported, --json parses" {
	run "$BENCH" --url "$URL" fanout --parties 5 --members 10 --rate 5 --duration 1s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "fanout" and r["connected"] == 50 and r["failed"] == 0, r
assert r["sent"] >= 20 and r["expected"] == r["sent"] * 9, r
assert r["received"] == r["expected"] and r["loss_pct"] == 0, r
assert r["server_cpu_s"] is not None and r["errors"] == 0, r
assert r["first_error"] is None and r["interrupted"] is False, r
assert 0 <= r["server_cpu_pct"] <= 200 and 0 < r["bench_cpu_pct"] <= 200, r
l = r["latency_ms"]
assert 0 < l["p50"] <= l["p99"] <= l["max"], l
'
	run -2 "$BENCH" fanout --members 1
	assert_output --partial -- "--members"
	run -2 "$BENCH" fanout --rate 0
	assert_output --partial -- "--rate"
}

@test "connect: every connection held, handshake latency and memory per connection" {
	run "$BENCH" --url "$URL" connect --conns 200 --duration 500ms --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "connect" and r["connected"] == 200 and r["failed"] == 0, r
assert r["driver"] == "lws", r
assert r["handshakes_per_s"] > 0 and r["server_bytes_per_conn"] is not None, r
assert r["server_cpu_pct_connecting"] is not None and r["bench_cpu_pct_connecting"] > 0, r
assert 0 <= r["server_cpu_pct_held"] < 50, r    # idle connections cost no work
h = r["handshake_ms"]
assert 0 < h["p50"] <= h["p99"] <= h["max"], h
'
	run -2 "$BENCH" connect --conns 0
	assert_output --partial -- "--conns"
	run -2 "$BENCH" connect --deflate
	assert_output --partial "libwebsockets"
	# not offered where it cannot be used
	run "$BENCH" --help
	refute_line --regexp "^  --deflate"
}

@test "connect --raw: every connection held, across the server's keep-alive pings" {
	stop_server
	# pinged after 1 s, dropped after 2 s unless the pongs come back
	start_server --rate-limit 0 --frame-rate 0 --party-chat-rate 0 --ping-interval 1 --max-conns-per-ip 0 \
		--handshake-rate-per-ip 0 --party-join-rate 0
	run "$BENCH" --url "$URL" connect --raw --conns 300 --duration 3s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "connect" and r["driver"] == "raw", r
assert r["connected"] == 300 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert r["handshakes_per_s"] > 0 and r["server_bytes_per_conn"] is not None, r
assert 0 <= r["server_cpu_pct_held"] < 50, r
assert r["server_cpu_pct_connecting"] is not None and r["bench_cpu_pct_connecting"] > 0, r
h = r["handshake_ms"]
assert 0 < h["p50"] <= h["p99"] <= h["max"], h
'
	run "$BENCH" --url "$URL" --src 127.0.0.1-2 connect --raw --conns 20 --duration 200ms
	assert_success
	assert_line "driver        raw (plain sockets)"
	assert_line --partial "connected     20 (failed 0, closed by server 0)"
	refute_output --partial "first failure"
	run -2 "$BENCH" --url "$URL" progress --raw
	assert_output --partial -- "--raw: only the connect scenario"
	run -2 "$BENCH" --url wss://127.0.0.1:1 connect --raw
	assert_output --partial "plain ws:// only"
}

@test "connect --raw: nothing listening: exit 1, every connection failed, the reason" {
	run -1 "$BENCH" --url ws://127.0.0.1:1 connect --raw --conns 50 --duration 200ms --json
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["driver"] == "raw" and r["connected"] == 0 and r["failed"] == 50, r
assert r["handshakes_per_s"] == 0, r
# nothing was timed: null, never a latency of 0
assert r["handshake_ms"] is None, r
'
	run -1 "$BENCH" --url ws://127.0.0.1:1 connect --raw --conns 5 --duration 200ms
	assert_line "first failure cannot connect: Connection refused"
	assert_line "handshakes    0/s  not measured (none arrived)"
	assert_line "server memory not measured (/metrics did not answer; use --server-pid)"
}

# A bare-socket server (tests/helpers/raw_handshake_server.py MODE); sets
# HS_PID and HS_URL.
start_raw_server() {
	"$PY" "$PYHELP/raw_handshake_server.py" "$1" >"$BATS_TEST_TMPDIR/hs-$1.out" 3>&- &
	HS_PID=$!
	wait_for "$BATS_TEST_TMPDIR/hs-$1.out" '^listening '
	HS_URL="ws://127.0.0.1:$(awk '{ print $2; exit }' "$BATS_TEST_TMPDIR/hs-$1.out")"
}

@test "connect --raw reads the answer itself: split heads and frames, pings, bad answers" {
	start_raw_server split
	# --server-pid: this server has no /metrics to wait for
	run -1 "$BENCH" --url "$HS_URL" connect --raw --conns 3 --duration 2s --server-pid "$HS_PID"
	kill "$HS_PID"
	assert_line --partial "connected     3 (failed 0, closed by server 3)"
	assert_line "first failure closed by server: close frame, 1001"
	# every ping answered, with its own payload, a split one too
	[ "$(grep -c '^pong ka$' "$BATS_TEST_TMPDIR/hs-split.out")" = 3 ]
	[ "$(grep -c '^pong k2$' "$BATS_TEST_TMPDIR/hs-split.out")" = 3 ]
	refute grep -q 'bad pong' "$BATS_TEST_TMPDIR/hs-split.out"

	start_raw_server badaccept
	run -1 "$BENCH" --url "$HS_URL" connect --raw --conns 3 --duration 200ms --server-pid "$HS_PID"
	kill "$HS_PID"
	assert_line --partial "connected     0 (failed 3, closed by server 0)"
	assert_line "first failure refused: wrong Sec-WebSocket-Accept"

	start_raw_server busy
	run -1 "$BENCH" --url "$HS_URL" connect --raw --conns 3 --duration 200ms --server-pid "$HS_PID"
	kill "$HS_PID"
	assert_line "first failure refused: HTTP 503"
}

@test "chat: every chat reaches every member, the sender too, --json parses" {
	run "$BENCH" --url "$URL" chat --parties 4 --members 10 --rate 5 --duration 1s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "chat" and r["parties"] == 4 and r["members"] == 10, r
assert r["connected"] == 40 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert 150 <= r["sent"] <= 200, r              # 5/s for 40 members for 1 s
assert r["expected"] == r["sent"] * 10, r      # the sender gets its own chat
assert r["received"] == r["expected"] and r["loss_pct"] == 0, r
assert r["errors"] == 0 and r["first_error"] is None, r
assert r["delivered_per_s"] > 0 and r["server_cpu_s"] is not None, r
assert r["server_us_per_delivery"] is not None, r
assert r["limited_by"] is None and r["src_addrs"] == 0, r
l = r["latency_ms"]
assert 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99.9"] <= l["max"], l
'
}

@test "chat: the server's rate limit shows as errors, with the first one's code, and fails the run" {
	stop_server
	start_server --rate-limit 1
	run -1 "$BENCH" --url "$URL" chat --parties 2 --members 3 --rate 10 --duration 1s --json
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["errors"] > 0 and r["first_error"].startswith("rate_limited: "), r
assert r["received"] < r["expected"] and r["loss_pct"] > 0, r
'
}

# bats test_tags=timed
@test "churn: members join and leave, the stable members lose nothing" {
	run "$BENCH" --url "$URL" churn --parties 3 --members 8 --rate 5 --churn 40 --duration 2s \
		--json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "churn" and r["churn_per_s"] == 40, r
assert r["connected"] == 24 and r["failed"] == 0 and r["closed_by_server"] == 0, r
# the stable members: every sync of the window, as fanout
assert r["sent"] >= 20 and r["expected"] == r["sent"] * 7, r
assert r["received"] == r["expected"] and r["loss_pct"] == 0, r
assert r["delivered_per_s"] > 0 and r["errors"] == 0, r
# the churn: on schedule (40/s for 2 s), joining and leaving alike; a
# 2 s window holds 81 ticks of a 25 ms schedule when it meets one at each end
assert 70 <= r["joins_started"] <= 81 and r["joins"] == r["joins_started"], r
assert r["joins_missed"] == 0 and r["joins_failed"] == 0, r
assert r["churn_closed_by_server"] == 0 and r["first_error"] is None, r
assert 30 <= r["joins_per_s"] <= 41 and 20 <= r["leaves_per_s"] <= 60, r
for k in ("latency_ms", "join_ms"):
    l = r[k]
    assert 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99.9"] <= l["max"], (k, l)
'
	run "$BENCH" --url "$URL" churn --parties 2 --members 3 --churn 20 --duration 500ms
	assert_success
	assert_line --partial "join latency"
	assert_line --partial "stable "
	refute_output --partial $'\r'
}

@test "--src spreads the connections over the source addresses" {
	"$BENCH" --url "$URL" --src 127.0.0.1-127.0.0.4 connect --conns 40 --duration 3s \
		--json >"$BATS_TEST_TMPDIR/src.json" 3>&- &
	bench=$!
	# while they are held: the server's peers, by local address
	for _ in $(seq 1 50); do
		ss -tnH state established "( dport = :$PORT )" >"$BATS_TEST_TMPDIR/ss" || true
		[ "$(wc -l <"$BATS_TEST_TMPDIR/ss")" -ge 40 ] && break
		sleep 0.1
	done
	wait "$bench"
	run "$PY" -c '
import collections, json, sys
r = json.load(open(sys.argv[1]))
assert r["connected"] == 40 and r["failed"] == 0 and r["src_addrs"] == 4, r
seen = collections.Counter(l.split()[2].rsplit(":", 1)[0] for l in open(sys.argv[2]))
assert sorted(seen) == ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"], seen
assert set(seen.values()) == {10}, seen         # round-robin
' "$BATS_TEST_TMPDIR/src.json" "$BATS_TEST_TMPDIR/ss"
	assert_success
	# every scenario takes it: progress (progress.c), chat (mesh.c)
	run "$BENCH" --url "$URL" --src 127.0.0.2-3 progress --sessions 6 --duration 500ms --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["connected"] == 6 and r["acked"] > 0 and r["src_addrs"] == 2, r
'
	run "$BENCH" --url "$URL" --src 127.0.0.5-6 chat --parties 1 --members 4 --rate 5 \
		--duration 500ms --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["connected"] == 4 and r["loss_pct"] == 0 and r["src_addrs"] == 2, r
'
}

@test "an open-file limit that caps the run is said, and is in --json" {
	run -1 --separate-stderr bash -c 'ulimit -n 128 && exec "$@"' _ \
		"$BENCH" --url "$URL" connect --conns 200 --duration 200ms --json
	[[ $stderr == *"open files are limited to 128"* ]] || { echo "$stderr"; false; }
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["limited_by"] == "nofile" and r["nofile_limit"] == 128, r
assert 0 < r["max_conns"] < 128 and r["connected"] < 200 and r["failed"] > 0, r
'
	run -1 bash -c 'ulimit -n 128 && exec "$@" 2>/dev/null' _ \
		"$BENCH" --url "$URL" connect --conns 200 --duration 200ms
	assert_line --partial "limited by    open files (128)"
	assert_line --partial "first failure cannot connect: Too many open files"
	# within the limit: nothing said
	run --separate-stderr "$BENCH" --url "$URL" connect --conns 5 --duration 200ms --json
	assert_success
	[ -z "$stderr" ]
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["limited_by"] is None and r["max_conns"] is None and r["nofile_limit"] > 0, r
'
}

@test "the table is printed when not --json, with no live line off a terminal" {
	run "$BENCH" --url "$URL" progress --sessions 5 --duration 500ms
	assert_success
	assert_line --partial "acked"
	assert_line --partial "ack latency"
	refute_output --partial $'\r'
}

@test "--url twice against one server: members alternate between the two URLs, nothing lost" {
	# 127.0.0.1 and localhost: two URLs, one server
	run "$BENCH" --url "$URL" --url "ws://localhost:$PORT" chat --parties 2 --members 5 \
		--rate 5 --duration 1s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert len(r["urls"]) == 2 and r["url"] == r["urls"][0], r
assert r["connected"] == 10 and r["failed"] == 0 and r["loss_pct"] == 0, r
'
	run "$BENCH" --url "$URL" --url "ws://localhost:$PORT" churn --parties 2 --members 3 \
		--churn 20 --duration 1s --json
	assert_success
}

@test "a dead server: exit 1 and the reason" {
	run -1 "$BENCH" --url ws://127.0.0.1:1 progress --sessions 3 --duration 1s
	assert_output --partial "cannot connect"
}

@test "usage errors exit 2 naming the problem" {
	run -2 "$BENCH" nosuch
	assert_output --partial "unknown scenario 'nosuch'"
	run -2 "$BENCH"
	assert_output --partial "missing SCENARIO"
	run -2 "$BENCH" progress --duration 0s
	assert_output --partial -- "--duration"
	run -2 "$BENCH" progress --duration 2h
	assert_output --partial -- "--duration"
	run -2 "$BENCH" progress --sessions 0
	assert_output --partial -- "--sessions"
	run -2 "$BENCH" progress --inflight 65
	assert_output --partial -- "--inflight"
	run -2 "$BENCH" --url http://x progress
	assert_output --partial -- "--url"
	run -2 "$BENCH" --url ws://a:1 --url ws://b:1 --url ws://a:1 fanout
	assert_output --partial -- "--url: 'ws://a:1' given twice"
	run -2 "$BENCH" --url ws://a:1 --url b:1 fanout
	assert_output --partial -- "--url: expected ws://HOST:PORT"
	run -2 "$BENCH" $(for i in $(seq 1 17); do echo --url ws://h$i:1; done) fanout
	assert_output --partial -- "--url: at most 16 servers"
	run -2 "$BENCH" --url ws://a:1 --url ws://b:1 connect
	assert_output --partial -- "--url given 2 times: only fanout, fill, chat, churn and sync"
	run -2 "$BENCH" --url ws://a:1 --url ws://b:1 progress
	assert_output --partial -- "--url given 2 times"
	run -2 "$BENCH" --url ws://a:1 --server-pid 1 --server-pid 2 fanout
	assert_output --partial -- "--server-pid given 2 times for 1 --url: one for each --url, in order"
	run -2 "$BENCH" --server-pid 0 fanout
	assert_output --partial -- "--server-pid"
	run -2 "$BENCH" --redis-pid 12x fanout
	assert_output --partial -- "--redis-pid"
	run -2 "$BENCH" --redis-pid 1 progress
	assert_output --partial -- "--redis-pid: only fanout, chat and churn read it"
	for bad in ws:// ws://:8080 wss:///x; do
		run -2 "$BENCH" --url ws://a:1 --url "$bad" sync
		assert_output --partial -- "--url: no host in '$bad'"
	done
	run -2 "$BENCH" --url ws://a:1 --url ws://a:1 sync
	assert_output --partial -- "--url: 'ws://a:1' given twice"
	run -2 "$BENCH" --url ws://a:1 --url '' sync
	assert_output --partial -- "--url: expected ws://HOST:PORT"
	run -2 "$BENCH" fanout --rejoin
	assert_output --partial -- "only the sync scenario"
	run -2 "$BENCH" --src 127.0.0.1 --url ws://a:1 --url 'ws://[::1]:1' chat
	assert_output --partial -- "--src: IPv4 source addresses cannot reach an IPv6 server (ws://[::1]:1)"
	run -2 "$BENCH" progress extra
	assert_output --partial "unexpected argument 'extra'"
	run "$BENCH" --help
	assert_success
	assert_output --partial "Scenarios:"
}

@test "usage errors: --src, --churn and chat's --rate" {
	for bad in 1.2.3 127.0.0.1- 127.0.0.9-127.0.0.1 127.0.0.1-300 127.0.0.0-127.0.2.0 \
		::1 224.0.0.1 0.0.0.0 192.0.2.1 '127.0.0.1 -8' 127.0.0.1-+8 ''; do
		run -2 "$BENCH" --src "$bad" connect --conns 1
		assert_output --partial -- "--src"
		assert_output --partial "(see --help)"
	done
	run -2 "$BENCH" --src 127.0.0.9-127.0.0.1 connect
	assert_output --partial "goes backwards"
	run -2 "$BENCH" --src 127.0.0.0-127.0.2.0 connect
	assert_output --partial "at most 256 addresses"
	run -2 "$BENCH" --src 192.0.2.1 connect
	assert_output --partial "cannot bind to 192.0.2.1"
	run -2 "$BENCH" --src ::1 connect
	assert_output --partial "IPv4"
	run -2 "$BENCH" --src 127.0.0.1 --url 'ws://[::1]:8080' connect
	assert_output --partial -- "--src"
	run -2 "$BENCH" connect --src
	assert_output --partial -- "--src: missing value"
	for bad in 0 -1 abc 20000 1e9 ''; do
		run -2 "$BENCH" churn --churn "$bad"
		assert_output --partial -- "--churn"
	done
	for bad in 0 -0.5 1001 x ''; do
		run -2 "$BENCH" chat --rate "$bad"
		assert_output --partial -- "--rate"
	done
	run -2 "$BENCH" churn --rate 0
	assert_output --partial -- "--rate"
	run -2 "$BENCH" chat --members 1
	assert_output --partial -- "--members"
}

@test "amplify: bystanders timed quiet and under attack, the party budget's refusals counted, --json parses" {
	stop_server
	start_server --party-chat-rate 5
	run "$BENCH" --url "$URL" --duration 1s amplify --attackers 3 --rate 10 --passive 2 \
		--bystanders 2 --bystander-cpu 0 --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["scenario"] == "amplify" and r["parties"] == 1 and r["members"] == 5, r
assert r["connected"] == 5 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert r["attackers"] == 3 and r["passive"] == 2 and r["rate_per_attacker"] == 10, r
assert r["phase_s"] == 1 and r["duration_s"] == 2 and r["bystander_cpu"] == 0, r
# 3 x 10/s for the 1 s attack against a budget of 5/s, bursts of 10
assert 20 <= r["sent"] <= 31 and 0 < r["refused"] < r["sent"], r
assert 0 < r["delivered"] <= (r["sent"] - r["refused"]) * 5, r
assert r["errors"] == 0 and r["first_error"] is None, r
b = r["bystander"]
assert b["connected"] == 2 and b["failed"] == 0 and b["errors"] == 0, b
assert b["quiet_samples"] >= 20 and b["attack_samples"] >= 20, b     # 2 x 20/s
for k in ("quiet_rtt_ms", "attack_rtt_ms"):
    l = r[k]
    assert 0 < l["p50"] <= l["p99"] <= l["max"], l
assert r["p99_ratio"] > 0 and isinstance(r["p99_delta_ms"], float), r
assert r["bystander_failure"] is None and r["first_failure"] is None, r
'
	# the table says the same
	run "$BENCH" --url "$URL" --duration 300ms amplify --attackers 1 --rate 5 --passive 1 \
		--bystanders 1
	assert_success
	assert_line --partial "quiet rtt"
	assert_line --partial "attack rtt"
	assert_line --partial "p99 ratio"
}

@test "amplify usage errors" {
	for bad in 0 -1 x 10001 ''; do
		run -2 "$BENCH" amplify --attackers "$bad"
		assert_output --partial -- "--attackers"
	done
	for bad in -1 x 10001 ''; do
		run -2 "$BENCH" amplify --passive "$bad"
		assert_output --partial -- "--passive"
	done
	for bad in 0 -1 1001 1e2 ''; do
		run -2 "$BENCH" amplify --bystanders "$bad"
		assert_output --partial -- "--bystanders"
	done
	for bad in -1 x 4096 99999999999999999999 ''; do
		run -2 "$BENCH" amplify --bystander-cpu "$bad"
		assert_output --partial -- "--bystander-cpu"
	done
	for bad in 0 -2 1001 fast; do
		run -2 "$BENCH" amplify --rate "$bad"
		assert_output --partial -- "--rate"
	done
	run -2 "$BENCH" amplify --attackers 1 --passive 0
	assert_output --partial "2 members or more"
	run -2 "$BENCH" amplify --members 5
	assert_output --partial "one attack party"
	run -2 "$BENCH" chat --attackers 5
	assert_output --partial "only the amplify scenario"
	run -2 "$BENCH" fanout --bystander-cpu 0
	assert_output --partial "only the amplify scenario"
}

@test "make bench's script without the yardsticks: revenge's own figures, and it says the comparison was skipped" {
	cd "$BATS_TEST_DIRNAME/../.."
	BUILD=$REVENGE_BUILD BENCH_ANCHORS="$BATS_TEST_TMPDIR/none" BENCH_ONLY=fill BENCH_FILL=2x10 \
		BENCH_ROUNDS=1 BENCH_OUT="$BATS_TEST_TMPDIR/results" run timeout 60 scripts/bench.sh
	assert_success
	assert_output --partial "bench: no yardsticks at $BATS_TEST_TMPDIR/none (BENCH_ANCHORS): revenge's own figures only, the side-by-side comparison is skipped"
	assert_line --regexp '^ +fill s +[0-9.]+ +- +- +- +-$'
	assert_line --regexp '^ +sync loss % +0\.00 +- +- +- +-$'
	run ls "$BATS_TEST_TMPDIR/results"
	assert_output --regexp 'revenge-fill-2x10-1\.json'
	refute_output --partial seed
}

@test "Ctrl-C (SIGINT) during a run: the results so far, marked interrupted, exit 130" {
	"$BENCH" --url "$URL" progress --sessions 10 --duration 60s --json \
		>"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
	local pid=$! i n=0 base=
	# well into the window (the live line is off when piped): the window
	# opens once all 10 are in, and they report from the start, so wait for
	# the server to count 300 reports, then 300 more (a loaded machine once
	# took over 2 s to connect them; a fixed wait lied)
	for i in $(seq 1 300); do
		n=$(http_get /metrics | sed -n 's/^revenge_messages_in_total{type="progress"} //p')
		if [ -n "$n" ] && [ "$n" -ge 300 ]; then
			base=${base:-$n}
			[ "$n" -ge $((base + 300)) ] && break
		fi
		sleep 0.1
	done
	kill -INT "$pid"
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
	run wait "$pid"
	[ "$status" -eq 130 ]
	"$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["interrupted"] is True, r
assert 0 < r["duration_s"] < 30 and r["acked"] > 0 and r["ack_latency_ms"]["p99"] > 0, r
' "$BATS_TEST_TMPDIR/out"
}
