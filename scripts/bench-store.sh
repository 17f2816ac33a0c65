#!/usr/bin/env bash
# scripts/bench-store.sh - `make bench-store` (also part of `make bench`):
# durable progress reports on SQLite against PostgreSQL, in the same run.
# A private PostgreSQL (tests/helpers/pg.sh: fsync and synchronous_commit
# on) and one revenge-server per store on a free loopback port, unpinned
# (the server, PostgreSQL and the bench share the cores); 1000 sessions, 4
# reports in flight each, open loop at each rate, SQLite then PostgreSQL.
# Prints acked/s and the ack percentiles per store and rate; keeps each
# run's JSON under BENCH_OUT.
#
#   BENCH_STORE_RATES="20000 30000"  offered reports/s
#   BENCH_STORE_DURATION=10s         each run
#   BENCH_OUT=DIR                    JSON results (default bench/results)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SERVER=$BUILD/bin/revenge-server
BENCH=$BUILD/bin/revenge-bench
RATES=${BENCH_STORE_RATES:-20000 30000}
DURATION=${BENCH_STORE_DURATION:-10s}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
chmod 755 "$work"     # pg.sh runs PostgreSQL as nobody under root
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	tests/helpers/pg.sh stop "$work/pg" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

tests/helpers/pg.sh start "$work/pg" >/dev/null
pg_url=$(tests/helpers/pg.sh url "$work/pg")
limits=(--rate-limit 0 --frame-rate 0 --max-conns-per-ip 0 --handshake-rate-per-ip 0
	--max-sessions 0 --max-sessions-per-owner 0)

for store in sqlite postgres; do
	db="$work/progress.db"
	[ "$store" = sqlite ] || db=$pg_url
	for rate in $RATES; do
		rm -f "$work/port" "$work"/progress.db*
		"$SERVER" --listen 127.0.0.1:0 --port-file "$work/port" --db "$db" "${limits[@]}" \
			>"$work/server-$store-$rate.log" 2>&1 &
		pid=$!
		for _ in $(seq 1 150); do
			[ -s "$work/port" ] && break
			sleep 0.1
		done
		[ -s "$work/port" ] || { echo "bench-store: the $store server did not start" >&2; exit 1; }
		echo "bench-store: $store, $rate reports/s offered" >&2
		"$BENCH" --url "$(head -1 "$work/port")" --duration "$DURATION" --json \
			progress --sessions 1000 --inflight 4 --rate "$rate" \
			>"$out/$stamp-store-$store-$rate.json" ||
			echo "bench-store: the $store run at $rate/s exited non-zero (kept)" >&2
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		pid=
	done
done

/usr/bin/python3 - "$out" "$stamp" $RATES <<'PYEOF'
import json, sys
out, stamp, rates = sys.argv[1], sys.argv[2], sys.argv[3:]
print(f"{'store':<12}{'offered/s':>10}{'acked/s':>10}{'errors':>8}   ack p50 / p90 / p99 / p99.9 / max (ms)")
for store in ("sqlite", "postgres"):
    for rate in rates:
        try:
            r = json.load(open(f"{out}/{stamp}-store-{store}-{rate}.json"))
        except (OSError, ValueError):
            print(f"{store:<12}{rate:>10}   (no result)")
            continue
        lat = r.get("ack_latency_ms") or r.get("latency_ms") or {}
        ps = " / ".join(f"{lat[k]:.2f}" if isinstance(lat.get(k), (int, float)) else "-"
                        for k in ("p50", "p90", "p99", "p99.9", "max"))
        acked = r.get("acked_per_s")
        print(f"{store:<12}{rate:>10}{(f'{acked:.0f}' if acked is not None else '-'):>10}"
              f"{r.get('errors', '-'):>8}   {ps}")
PYEOF
echo "results: $out/$stamp-store-*.json" >&2
