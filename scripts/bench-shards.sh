#!/usr/bin/env bash
# scripts/bench-shards.sh - `make bench-shards`: the same cross-node fan-out
# over one Redis and over two Redis shards (--redis URL,URL), in one run.
# Starts its own redis-servers and two revenge-server nodes per run on free
# loopback ports; revenge-bench fanout keeps each party's host on node 1
# and spreads its members over both nodes. Reads each Redis's CPU from
# /proc over the run, and the party messages the nodes sent each shard
# (revenge_redis_shard_published_total): each shard's CPU per party
# message, and how the parties split. Prints one table.
#
#   BENCH_SHARDS_SHAPE=40x10    parties x members
#   BENCH_SHARDS_RATE=25        syncs/s per host
#   BENCH_SHARDS_DURATION=12s   the bench's window per run (two runs a round)
#   BENCH_SHARDS_WINDOW=8       seconds of it Redis's CPU is read over
#   BENCH_SHARDS_ROUNDS=1       rounds (rows repeat)
#   BENCH_SHARDS_COUNTS="1 2"   shard counts, in this order, each round
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SERVER=$BUILD/bin/revenge-server
BENCH=$BUILD/bin/revenge-bench
SHAPE=${BENCH_SHARDS_SHAPE:-40x10}
RATE=${BENCH_SHARDS_RATE:-25}
DURATION=${BENCH_SHARDS_DURATION:-12s}
WINDOW=${BENCH_SHARDS_WINDOW:-8}
ROUNDS=${BENCH_SHARDS_ROUNDS:-1}
parties=${SHAPE%x*}
members=${SHAPE#*x}
work=$(mktemp -d)
pids=()
cleanup() {
	[ ${#pids[@]} = 0 ] || kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "bench-shards: redis-server and redis-cli are needed (scripts/deps.sh installs them)" >&2
	exit 1
fi
free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
cpu_ticks() { # PID: user + system clock ticks so far
	awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"
}
# published K URL...: party messages the nodes sent shard K so far (their
# revenge_redis_shard_published_total: one per message, a PUBLISH or a
# script that keeps and publishes)
published() {
	local k=$1 u n=0 v
	shift
	for u in "$@"; do
		v=$(curl -s "http://${u#ws://}/metrics" |
			sed -n "s/^revenge_redis_shard_published_total{shard=\"$k\"} //p")
		n=$((n + ${v:-0}))
	done
	echo "$n"
}
OPEN=(--rate-limit 0 --frame-rate 0 --party-chat-rate 0 --queue-max 65536 --max-conns-per-ip 0
	--handshake-rate-per-ip 0 --party-join-rate 0 --log-level warn)

# run SHARDS ROUND: fresh redis-servers and nodes, one fanout; prints a row
run() {
	local s=$1 rports=() rpids=() list="" urls=() hosts=() npids=() i j t0=() t1=() c0=() c1=() f
	for ((i = 0; i < s; i++)); do
		rports+=("$(free_port)")
		redis-server --port "${rports[$i]}" --bind 127.0.0.1 --save '' --appendonly no \
			--dir "$work" --logfile "$work/redis$i.log" &
		rpids+=("$!")
		pids+=("$!")
		list+="${list:+,}redis://127.0.0.1:${rports[$i]}"
	done
	for ((i = 0; i < s; i++)); do
		for _ in $(seq 1 100); do
			redis-cli -p "${rports[$i]}" ping 2>/dev/null | grep -q PONG && break
			sleep 0.05
		done
	done
	for i in 1 2; do
		"$SERVER" --listen 127.0.0.1:0 --db "$work/n$s-$2-$i.db" --redis "$list" "${OPEN[@]}" \
			>"$work/node$i.out" 2>"$work/node$i.log" &
		npids+=("$!")
		pids+=("$!")
	done
	for i in 1 2; do
		for _ in $(seq 1 100); do
			grep -q 'listening on' "$work/node$i.out" 2>/dev/null && break
			sleep 0.05
		done
		urls+=(--url "$(sed -n 's/^revenge-server: listening on //p' "$work/node$i.out")")
		hosts+=("$(sed -n 's/^revenge-server: listening on //p' "$work/node$i.out")")
	done
	f=$work/r$s.json
	"$BENCH" "${urls[@]}" --server-pid "${npids[0]}" --server-pid "${npids[1]}" \
		--duration "$DURATION" --json \
		fanout --parties "$parties" --members "$members" --rate "$RATE" >"$f" &
	local bpid=$! p0 p1
	# the window: from a second after the syncs start (the joins done)
	# for WINDOW seconds, inside the bench's own (no joins, no leaves)
	p0=$(published 0 "${hosts[@]}")
	for _ in $(seq 1 300); do
		sleep 0.1
		p1=$(published 0 "${hosts[@]}")
		[ $((p1 - p0)) -gt $((parties * RATE / 40)) ] && break
		p0=$p1
	done
	sleep 1
	for ((i = 0; i < s; i++)); do
		t0+=("$(cpu_ticks "${rpids[$i]}")")
		c0+=("$(published "$i" "${hosts[@]}")")
	done
	sleep "$WINDOW"
	for ((i = 0; i < s; i++)); do
		t1+=("$(cpu_ticks "${rpids[$i]}")")
		c1+=("$(published "$i" "${hosts[@]}")")
	done
	wait "$bpid" || true
	[ -z "${BENCH_SHARDS_KEEP:-}" ] || cp "$f" "$BENCH_SHARDS_KEEP-$s-$2.json"
	{
		echo "$s"
		for ((i = 0; i < s; i++)); do
			echo "${t0[$i]} ${t1[$i]} ${c0[$i]} ${c1[$i]}"
		done
	} >"$work/r$s.redis"
	/usr/bin/python3 - "$f" "$work/r$s.redis" "$(getconf CLK_TCK)" "$WINDOW" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except Exception:
    d = {}
lines = open(sys.argv[2]).read().split("\n")
s, tck = int(lines[0]), int(sys.argv[3])
shards, tot_cpu, tot_calls = [], 0.0, 0
for l in lines[1:1 + s]:
    t0, t1, c0, c1 = map(int, l.split())
    cpu, calls = (t1 - t0) / tck, c1 - c0
    tot_cpu += cpu
    tot_calls += calls
    shards.append(f"{calls:,} msgs, {cpu:.2f} s, "
                  f"{cpu * 1e6 / calls if calls else 0:.1f} us/msg")
lat = d.get("latency_ms", {})
secs = float(sys.argv[4])
print(f"| {s} | {d.get('delivered_per_s', 0):,.0f} | {d.get('loss_pct', 0):.3f} | "
      f"{lat.get('p50', 0):.2f} | {lat.get('p99', 0):.2f} | "
      f"{tot_calls / secs:,.0f} | {' / '.join(shards)} | "
      f"{tot_cpu * 1e6 / tot_calls if tot_calls else 0:.1f} |")
PY
	kill "${npids[@]}" "${rpids[@]}" 2>/dev/null || true
	wait "${npids[@]}" "${rpids[@]}" 2>/dev/null || true
	pids=()
}

echo "Redis shards: fanout $SHAPE (parties x members), $RATE syncs/s per host, $DURATION (Redis read over $WINDOW s of it); hosts on node 1, members over nodes 1 and 2; Redis, both nodes and revenge-bench share this machine"
echo "| shards | delivered/s | loss % | p50 ms | p99 ms | Redis msgs/s | per shard: messages, CPU, CPU per message | us of Redis CPU per message, all shards |"
echo "|---:|---:|---:|---:|---:|---:|---|---:|"
for r in $(seq 1 "$ROUNDS"); do
	for s in ${BENCH_SHARDS_COUNTS:-1 2}; do run "$s" "$r"; done
done
