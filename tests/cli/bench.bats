#!/usr/bin/env bats
# revenge-bench: short smoke runs against a real server (timing targets live
# in `make bench`, never here).
load helpers

BENCH="$REVENGE_BUILD/bin/revenge-bench"

setup() {
	start_server --rate-limit 0
}

teardown() {
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
assert r["acked"] > 100 and r["errors"] == 0, r
l = r["ack_latency_ms"]
assert 0 < l["p50"] <= l["p90"] <= l["p99"] <= l["p99.9"] <= l["max"], l
'
}

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
assert r["handshakes_per_s"] > 0 and r["server_bytes_per_conn"] is not None, r
h = r["handshake_ms"]
assert 0 < h["p50"] <= h["p99"] <= h["max"], h
'
	run -2 "$BENCH" connect --conns 0
	assert_output --partial -- "--conns"
	run -2 "$BENCH" connect --deflate
	assert_output --partial "libwebsockets"
}

@test "the table is printed when not --json, with no live line off a terminal" {
	run "$BENCH" --url "$URL" progress --sessions 5 --duration 500ms
	assert_success
	assert_line --partial "acked"
	assert_line --partial "ack latency"
	refute_output --partial $'\r'
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
	run -2 "$BENCH" progress extra
	assert_output --partial "unexpected argument 'extra'"
	run "$BENCH" --help
	assert_success
	assert_output --partial "Scenarios:"
}
