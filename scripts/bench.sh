#!/usr/bin/env bash
# scripts/bench.sh - `make bench`: measure revenge-server with revenge-bench,
# server pinned to core 0 and the load generator to core 1, and keep the
# results as JSON under bench/results/ (ignored by git).
#
# Scenarios so far: progress (durable acked reports from 1000 sessions, open
# loop at 50,000/s, then a closed loop for the ceiling).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SERVER=$BUILD/bin/revenge-server
BENCH=$BUILD/bin/revenge-bench
DURATION=${BENCH_DURATION:-10s}
out=bench/results
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
trap 'kill "$srv" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

pin() { # CORE CMD...: run CMD pinned when taskset and two cores exist; exec,
	# so that `pin ... &` leaves $! naming the command itself
	local core=$1
	shift
	if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
		exec taskset -c "$core" "$@"
	else
		exec "$@"
	fi
}

start_server() {
	pin 0 "$SERVER" --listen 127.0.0.1:0 --db "$work/bench.db" --rate-limit 0 \
		--log-level warn "$@" >"$work/server.out" 2>"$work/server.log" &
	srv=$!
	for _ in $(seq 1 100); do
		grep -q 'listening on' "$work/server.out" 2>/dev/null && break
		sleep 0.05
	done
	url=$(sed -n 's/^revenge-server: listening on //p' "$work/server.out")
	[ -n "$url" ] || { cat "$work/server.log" >&2; exit 1; }
}

run() { # NAME ARGS...
	local name=$1
	shift
	echo "== $name: revenge-bench $*" >&2
	(pin 1 "$BENCH" --url "$url" --duration "$DURATION" --json "$@") >"$work/$name.json"
	cp "$work/$name.json" "$out/$stamp-$name.json"
	/usr/bin/python3 - "$work/$name.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["ack_latency_ms"]
print(f"  {r['acked_per_s']:>9.0f} acked/s   p50 {l['p50']:.2f}  p90 {l['p90']:.2f}  "
      f"p99 {l['p99']:.2f}  p99.9 {l['p99.9']:.2f}  max {l['max']:.2f} ms   "
      f"errors {r['errors']}  late {r['late']}")
PYEOF
}

start_server
run progress-open-50k progress --sessions 1000 --inflight 8 --rate 50000
run progress-closed progress --sessions 1000 --inflight 4
echo "results: $out/$stamp-*.json" >&2
