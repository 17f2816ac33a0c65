#!/usr/bin/env bash
# scripts/bench-cluster.sh - `make bench-cluster` (and the cluster part of
# `make bench`): cross-node fan-out against the same shape on one node, in
# the same run. Starts its own redis-server and revenge-server nodes on free
# loopback ports; for each rate, alternating, runs revenge-bench fanout with
# every member on node 1 (one node), then with members round-robin over 2
# (and 3) nodes, the hosts on node 1. Reads every node's CPU and Redis's
# (--server-pid, --redis-pid) over the measured window, and Redis's own
# command counts (INFO commandstats). Prints one table; keeps the JSON
# under bench/results/.
#
#   BENCH_XFAN_SHAPE=10x100     parties x members
#   BENCH_XFAN_RATES="10 50 100 200"   syncs/s per host, one row each
#   BENCH_XFAN_NODES="1 2 3"    node counts to compare (up to 3)
#   BENCH_XFAN_DURATION=10s     measured window per run
#   BENCH_XFAN_ROUNDS=1         rounds (rows repeat)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SERVER=$BUILD/bin/revenge-server
BENCH=$BUILD/bin/revenge-bench
SHAPE=${BENCH_XFAN_SHAPE:-10x100}
RATES=${BENCH_XFAN_RATES:-10 50 100 200}
NODES=${BENCH_XFAN_NODES:-1 2 3}
DURATION=${BENCH_XFAN_DURATION:-10s}
ROUNDS=${BENCH_XFAN_ROUNDS:-1}
parties=${SHAPE%x*}
members=${SHAPE#*x}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
	echo "bench-cluster: redis-server and redis-cli are needed (scripts/deps.sh installs them)" >&2
	exit 1
fi

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no \
	--dir "$work" --logfile "$work/redis.log" &
rpid=$!
pids+=("$rpid")
for _ in $(seq 1 100); do
	redis-cli -p "$rport" ping 2>/dev/null | grep -q PONG && break
	sleep 0.05
done
rcli() { redis-cli -p "$rport" "$@"; }

# Every limit off: the bench measures delivery, not the abuse defences.
OPEN=(--rate-limit 0 --frame-rate 0 --party-chat-rate 0 --queue-max 65536 --max-conns-per-ip 0
	--handshake-rate-per-ip 0 --party-join-rate 0 --log-level warn)
urls=() npids=()
for i in 1 2 3; do
	"$SERVER" --listen 127.0.0.1:0 --db "$work/node$i.db" --redis "redis://127.0.0.1:$rport" \
		"${OPEN[@]}" >"$work/node$i.out" 2>"$work/node$i.log" &
	npids+=("$!")
	pids+=("$!")
done
for i in 0 1 2; do
	for _ in $(seq 1 100); do
		grep -q 'listening on' "$work/node$((i + 1)).out" 2>/dev/null && break
		sleep 0.05
	done
	urls+=("$(sed -n 's/^revenge-server: listening on //p' "$work/node$((i + 1)).out")")
	[ -n "${urls[$i]}" ] || { echo "bench-cluster: node $((i + 1)) did not start" >&2; cat "$work/node$((i + 1)).log" >&2; exit 1; }
done

publishes() { # Redis's PUBLISH calls and their usec so far: "calls usec"
	rcli info commandstats | tr -d '\r' |
		sed -n 's/^cmdstat_publish:calls=\([0-9]*\),usec=\([0-9]*\),.*/\1 \2/p' | grep . || echo "0 0"
}

# run RATE NODES: one fanout run, its JSON in $work/r-RATE-NODES.json with
# Redis's PUBLISH count and time appended as "redis_publish": [calls, usec]
run() {
	local rate=$1 n=$2 args=() before after f rc first
	for ((i = 0; i < n; i++)); do args+=(--url "${urls[$i]}" --server-pid "${npids[$i]}"); done
	before=$(publishes)
	f=$work/r-$rate-$n.json
	"$BENCH" "${args[@]}" --redis-pid "$rpid" --duration "$DURATION" --json \
		fanout --parties "$parties" --members "$members" --rate "$rate" >"$f" || {
		# exit 1: deliveries lost or errors; the figures are kept all the same
		rc=$?
		first=$(sed -n 's/.*"first_error":"\([^"]*\)".*/: \1/p' "$f" 2>/dev/null | head -1) || true
		echo "bench-cluster: rate $rate, $n node(s): revenge-bench exited $rc$first" >&2
	}
	after=$(publishes)
	/usr/bin/python3 - "$f" "$before" "$after" <<'EOF'
import json, sys
f, b, a = sys.argv[1], sys.argv[2].split(), sys.argv[3].split()
try:
    d = json.load(open(f))
except Exception:
    d = {"error": "no result"}
d["redis_publish"] = [int(a[0]) - int(b[0]), int(a[1]) - int(b[1])]
json.dump(d, open(f, "w"))
EOF
	cat "$f" >>"$work/all.jsonl"
	echo >>"$work/all.jsonl"
	cp "$f" "$out/$stamp-cluster-$rate-$n.json"
	[ -t 2 ] && printf '\r\033[Kcluster: rate %s, %s node(s) done' "$rate" "$n" >&2 || true
}

for _ in $(seq 1 "$ROUNDS"); do
	for rate in $RATES; do
		for n in $NODES; do run "$rate" "$n"; done
	done
done
[ -t 2 ] && printf '\r\033[K' >&2 || true

# Where Redis alone saturates: PUBLISH of a party-sized envelope (300 bytes)
# to a channel with 1, 2 and 4 subscribed nodes (redis-cli SUBSCRIBE
# readers), pipelined by redis-benchmark: the ceiling of party messages per
# second for one Redis, whatever the nodes do.
cpu_ticks() { # PID: user + system clock ticks so far
	awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"
}
redis_alone() {
	local subs=$1 sp=() payload
	payload=$(head -c 300 /dev/zero | tr '\0' x)
	for ((i = 0; i < subs; i++)); do
		redis-cli -p "$rport" subscribe revenge:party:bench >/dev/null &
		sp+=("$!")
	done
	sleep 0.3
	local n=${BENCH_XFAN_PUBLISHES:-400000} t0 t1
	t0=$(cpu_ticks "$rpid")
	redis-benchmark -p "$rport" -c 4 -P 32 -n "$n" -q --csv \
		publish revenge:party:bench "$payload" 2>/dev/null | tail -1 |
		awk -F, -v s="$subs" '{gsub(/"/, "", $2); printf "%s %s ", s, $2}'
	t1=$(cpu_ticks "$rpid")
	# Redis's CPU per PUBLISH, microseconds
	echo "$t0 $t1 $n $(getconf CLK_TCK)" | awk '{printf "%.2f\n", ($2 - $1) / $4 * 1e6 / $3}'
	kill "${sp[@]}" 2>/dev/null || true
	wait "${sp[@]}" 2>/dev/null || true
}
if command -v redis-benchmark >/dev/null; then
	for s in 1 2 4; do redis_alone "$s"; done >"$work/alone.txt"
fi

/usr/bin/python3 - "$work/all.jsonl" "$SHAPE" "$DURATION" "$work/alone.txt" <<'EOF'
import json, os, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print(f"Cluster fan-out, {sys.argv[2]} (parties x members), {sys.argv[3]} windows; "
      "hosts on node 1, members round-robin over the nodes; Redis, the nodes and "
      "revenge-bench share this machine")
hdr = ("rate/host", "nodes", "delivered/s", "loss %", "p50 ms", "p99 ms",
       "us/delivery all", "per node us", "redis us/msg", "PUBLISH/msg", "redis us/PUBLISH")
print("| " + " | ".join(hdr) + " |")
print("|" + "|".join("---:" for _ in hdr) + "|")
def f(v, p=2):
    return "-" if v is None else f"{v:.{p}f}"
one = {}
for d in rows:
    if "latency_ms" not in d:
        print("| run failed: " + json.dumps(d)[:200] + " |")
        continue
    n = len(d.get("urls", [d.get("url")]))
    nodes = d.get("nodes", [])
    per = " / ".join(f(x.get("us_per_delivery")) for x in nodes) if nodes else "-"
    calls, usec = d["redis_publish"]
    lat = d["latency_ms"]
    us = d.get("server_us_per_delivery")
    key = d.get("rate_per_host")
    ratio = ""
    if n == 1 and us:
        one[key] = us
    elif us and one.get(key):
        ratio = f" ({us / one[key]:.2f}x)"
    print(f"| {key:g} | {n} | {d.get('delivered_per_s', 0):,.0f} | {f(d.get('loss_pct'), 3)} | "
          f"{f(lat.get('p50'))} | {f(lat.get('p99'))} | {f(us)}{ratio} | {per} | "
          f"{f(d.get('redis_us_per_message'))} | {f(d.get('redis_publish_per_message'))} | "
          f"{f(usec / calls if calls else None)} |")
alone = sys.argv[4]
if os.path.exists(alone) and os.path.getsize(alone):
    print("\nRedis alone (redis-benchmark, PUBLISH of 300 bytes, pipelined 32 deep, "
          "4 clients), publishes/s by subscribed nodes: " +
          ", ".join(f"{l.split()[0]}: {float(l.split()[1]):,.0f} ({l.split()[2]} us of Redis CPU each)"
                    for l in open(alone) if l.strip()))
EOF
