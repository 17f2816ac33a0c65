#!/usr/bin/env bash
# scripts/bench.sh - `make bench`: measure revenge-server against the two
# yardsticks in ../shared/anchors (the seed's reference design in Go and a
# bare epoll relay, the machine's floor), in the same run, alternating, each
# server pinned to core 0 and revenge-bench to core 1. Prints a side-by-side
# table with ratios and keeps every result as JSON under bench/results/.
#
#   BENCH_DURATION=10s  measurement window per run
#   BENCH_ROUNDS=2      alternating rounds (the table shows the median)
#   BENCH_CLIMB="3 6 9 10 11 12 13 14 16"  syncs/s per host, 100x100 climb
#   BENCH_HOLD=19000    connections held at once (revenge), from 8 source
#                       addresses
#   BENCH_FILL="10x1000"  the fill shape: parties x members joining at once,
#                       then one sync per party a second after the last join
#   BENCH_ONLY=fill     run only the fill comparison (it prints its table)
#   BENCH_ANCHORS=DIR   the anchors (default ../shared/anchors); without
#                       them, revenge's own figures only (said on stderr)
#   BENCH_OUT=DIR       where the JSON results go (default bench/results)
#   BENCH_SYNC_DURATION=30s   each `revenge-bench sync` run (3 of them)
#   BENCH_ONLY=sync     only the sync runs (no yardsticks, about two minutes)
#   BENCH_ONLY=cluster  only the cluster runs (below; about eight minutes),
#                       ending with scripts/bench-cluster.sh (fanout, one
#                       node against two and three; its BENCH_XFAN_* settings)
#   BENCH_ONLY=store    only durable progress on SQLite against PostgreSQL
#                       (scripts/bench-store.sh, also the end of a full run;
#                       its BENCH_STORE_* settings; about a minute)
#   BENCH_CLUSTER_DURATION=20s  each cluster sync run
#   BENCH_CLUSTER_FILL="5x400"  the cluster fill shape
#
# The cluster runs (issue 14) start a redis-server and two revenge-server
# nodes (--redis) on free loopback ports, unpinned (Redis, both nodes and
# the bench share the cores), and measure, alternating one node (every
# member on A, a cluster node all the same) and two (members round-robin on
# A and B, hosts on A): sync's spread at no delay and at 50 +- 20 ms, and
# fill; then sync --rejoin while node B is killed (-9) and started again
# on its port: how long B's members take to be back in sync.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
SERVER=$BUILD/bin/revenge-server
BENCH=$BUILD/bin/revenge-bench
ANCHORS=${BENCH_ANCHORS:-../shared/anchors}
DURATION=${BENCH_DURATION:-10s}
ROUNDS=${BENCH_ROUNDS:-2}
CLIMB=${BENCH_CLIMB:-3 6 9 10 11 12 13 14 16}
HOLD=${BENCH_HOLD:-19000}
FILL=${BENCH_FILL:-10x1000}
SYNC_DURATION=${BENCH_SYNC_DURATION:-30s}
ONLY=${BENCH_ONLY:-}
out=${BENCH_OUT:-bench/results}
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

pin() { # CORE CMD...: exec pinned, so that `pin ... &` leaves $! naming CMD
	local core=$1
	shift
	if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
		exec taskset -c "$core" "$@"
	else
		exec "$@"
	fi
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # PORT
	for _ in $(seq 1 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench: nothing listens on $1" >&2
	return 1
}

# start NAME: start that server, set url and pid
start() {
	local port
	case $1 in
	revenge)
		# the last server's "listening on" must not be read for this one's
		rm -f "$work/bench.db"* "$work/server.out"
		(pin 0 "$SERVER" --listen 127.0.0.1:0 --db "$work/bench.db" --rate-limit 0 --frame-rate 0 --party-chat-rate 0 \
			--queue-max 65536 --max-conns-per-ip 0 --handshake-rate-per-ip 0 --party-join-rate 0 \
			--log-level warn >"$work/server.out" 2>"$work/server.log") &
		pid=$!
		for _ in $(seq 1 100); do
			grep -q 'listening on' "$work/server.out" 2>/dev/null && break
			sleep 0.05
		done
		url=$(sed -n 's/^revenge-server: listening on //p' "$work/server.out")
		;;
	seed)
		port=$(free_port)
		(pin 0 "$BUILD/anchors/seed-go" --addr 127.0.0.1 --port "$port" >/dev/null 2>&1) &
		pid=$!
		wait_port "$port"
		url=ws://127.0.0.1:$port
		;;
	floor)
		port=$(free_port)
		(pin 0 "$BUILD/anchors/floor" "$port" >/dev/null 2>&1) &
		pid=$!
		wait_port "$port"
		url=ws://127.0.0.1:$port
		;;
	esac
	pids+=("$pid")
}

stop() {
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# failed NAME RC JSON: revenge-bench exits 1 when a run lost deliveries or
# got errors; the figures are still kept and compared (a server that
# loses messages is part of the comparison), the reason said on stderr.
failed() {
	local first
	first=$(sed -n 's/.*"first_error":"\([^"]*\)".*/\1/p' "$3" 2>/dev/null | head -1) || true
	echo "bench: $1: revenge-bench exited $2${first:+: $first}" >&2
}

run() { # SERVER NAME ARGS...: one measurement, JSON kept
	local server=$1 name=$2
	shift 2
	start "$server"
	(pin 1 "$BENCH" --url "$url" --duration "$DURATION" --json --server-pid "$pid" "$@") \
		>"$work/$server-$name.json" || failed "$server $name" $? "$work/$server-$name.json"
	stop
	cat "$work/$server-$name.json" >>"$work/$server-$name.all"
	cp "$work/$server-$name.json" "$out/$stamp-$server-$name-$(wc -l <"$work/$server-$name.all").json"
}

# Sync accuracy (revenge-bench sync): 8 members behind simulated paths,
# three ways, judged against the targets of issue 13 (and once more with
# no delay and unskewed clocks, which tells the skew's part).
sync_runs() {
	local name args
	for name in nodelay noskew jitter asym; do
		case $name in
		nodelay) args=() ;;
		noskew) args=(--skew-ppm 0) ;;   # to tell the clocks' skew from the rest
		jitter) args=(--delay 50 --jitter 20) ;;
		asym) args=(--delay-up 80 --delay-down 20) ;;
		esac
		echo "bench: revenge sync $name ${args[*]}" >&2
		run revenge "sync-$name" --duration "$SYNC_DURATION" sync --members 8 "${args[@]}"
	done
	/usr/bin/python3 - "$work" <<'PYEOF'
import json, os, sys
work = sys.argv[1]

def last(name):
    path = os.path.join(work, f"revenge-{name}.all")
    try:
        return json.loads(open(path).read().splitlines()[-1])
    except (OSError, ValueError, IndexError):
        return None

def ms(v):
    return "-" if v is None else f"{v:.2f} ms"

def check(label, value, limit):
    if value is None:
        return f"{label} -"
    return f"{label} {value:.2f} ms ({'ok' if value <= limit else 'OVER'} <= {limit:g})"

print("\nsync, 8 members (revenge-bench sync): steady spread and transients")
for name, title in (("nodelay", "no delay"), ("noskew", "(no skew)"), ("jitter", "50 +- 20 ms"),
                    ("asym", "80/20 ms")):
    r = last(f"sync-{name}")
    if not r or not r.get("connected"):
        print(f"  {title:<12} did not run")
        continue
    sp, tr = r["spread_ms"], r["transients"]
    limit = 1 if name in ("nodelay", "noskew") else 10
    shift = r.get("shift_ms")
    print(f"  {title:<12} " + "; ".join([
        check("spread p99", sp["p99"], limit), f"p50 {sp['p50']:.2f} max {sp['max']:.2f}",
        f"shift {shift:+.2f} ms" if shift is not None else "shift -"])
        + (" (half the asymmetry: +30 expected)" if name == "asym" else ""))
    # a resume or a pause: how far apart the positions got; a seek: how far
    # apart in time members jumped (the positions are the whole jump apart
    # meanwhile, however briefly)
    resume, pause = tr["resume"]["position_max_ms"], tr["pause"]["position_max_ms"]
    seek = tr["seek"]["max_ms"]
    if name == "jitter":
        parts = [check("resume", resume, 10), check("pause", pause, 10), check("seek", seek, 10)]
    else:
        parts = [f"resume {ms(resume)}", f"pause {ms(pause)}", f"seek {ms(seek)}"]
    print(f"  {'':<12} transients: " + "; ".join(parts)
          + f"; members switched within {max((tr[k]['max_ms'] or 0) for k in tr):.2f} ms")
    # the lead the server stamped commands with (2 x the worst member RTT,
    # the pings crossing the simulated paths), and states that came too late
    ld, late = r.get("lead_ms") or {}, r.get("late_states") or {}
    if ld.get("count"):
        print(f"  {'':<12} lead {ld['min']:.0f}-{ld['max']:.0f} ms; "
              f"{late.get('count', 0)} states late (max {late.get('max_ms', 0):.1f} ms)")
PYEOF
}

# The cluster (issue 14): redis-server and nodes A and B of our own.
CLUSTER_DURATION=${BENCH_CLUSTER_DURATION:-20s}
CLUSTER_FILL=${BENCH_CLUSTER_FILL:-5x400}
OPEN_LIMITS=(--rate-limit 0 --frame-rate 0 --party-chat-rate 0 --queue-max 65536
	--max-conns-per-ip 0 --handshake-rate-per-ip 0 --party-join-rate 0 --log-level warn)
cluster_node() { # NAME PORT: start node NAME on PORT, its pid in node_pid
	"$SERVER" --listen "127.0.0.1:$2" --db "$work/$1.db" --redis "redis://127.0.0.1:$redis_port" \
		"${OPEN_LIMITS[@]}" >"$work/$1.out" 2>>"$work/$1.log" &
	node_pid=$!
	pids+=("$node_pid")
	wait_port "$2"
	for _ in $(seq 1 100); do   # Redis up: it relays
		[[ "$(curl -sf "http://127.0.0.1:$2/healthz")" == *'"redis":"up"'* ]] && return 0
		sleep 0.05
	done
	echo "bench: node $1 never reached Redis" >&2
	return 1
}
cluster_run() { # NAME URLS... -- ARGS...: one measurement on the cluster, JSON kept
	local name=$1 urls=()
	shift
	while [ "$1" != -- ]; do urls+=(--url "$1"); shift; done
	shift
	echo "bench: cluster $name" >&2
	"$BENCH" "${urls[@]}" --json "$@" >"$work/cluster-$name.json" ||
		failed "cluster $name" $? "$work/cluster-$name.json"
	cat "$work/cluster-$name.json" >>"$work/cluster-$name.all"
	cp "$work/cluster-$name.json" "$out/$stamp-cluster-$name-$(wc -l <"$work/cluster-$name.all").json"
}
cluster_runs() {
	local redis_port a_port b_port a b node_pid a_pid b_pid name args p m bench_pid
	command -v redis-server >/dev/null || { echo "bench: no redis-server (scripts/deps.sh)" >&2; return 0; }
	redis_port=$(free_port); a_port=$(free_port); b_port=$(free_port)
	redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$work" >"$work/redis.log" 2>&1 &
	pids+=("$!")
	wait_port "$redis_port"
	cluster_node A "$a_port"; a_pid=$node_pid
	cluster_node B "$b_port"; b_pid=$node_pid
	a=ws://127.0.0.1:$a_port b=ws://127.0.0.1:$b_port
	p=${CLUSTER_FILL%%x*} m=${CLUSTER_FILL#*x}
	for round in $(seq 1 "$ROUNDS"); do
		for name in nodelay jitter; do
			case $name in
			nodelay) args=() ;;
			jitter) args=(--delay 50 --jitter 20) ;;
			esac
			cluster_run "sync-$name-1" "$a" -- --duration "$CLUSTER_DURATION" \
				sync --members 8 "${args[@]}"
			cluster_run "sync-$name-2" "$a" "$b" -- --duration "$CLUSTER_DURATION" \
				sync --members 8 "${args[@]}"
		done
	done
	# The restart: B killed (-9) 3 s into the window, started again on its
	# port a second later; its members (1, 3, 5, 7) join again.
	for name in nodelay jitter; do
		case $name in
		nodelay) args=() ;;
		jitter) args=(--delay 50 --jitter 20) ;;
		esac
		echo "bench: cluster rejoin-$name (node B killed and restarted)" >&2
		"$BENCH" --url "$a" --url "$b" --json --duration 15s sync --members 8 --rejoin \
			"${args[@]}" >"$work/cluster-rejoin-$name.json" &
		bench_pid=$!
		for _ in $(seq 1 200); do   # B's four members in
			[[ "$(curl -sf "http://127.0.0.1:$b_port/metrics")" == \
				*'revenge_connections{endpoint="party"} 4'$'\n'* ]] && break
			sleep 0.05
		done
		sleep 5   # 2 s warming up, then 3 s into the window
		kill -KILL "$b_pid" 2>/dev/null || true
		wait "$b_pid" 2>/dev/null || true
		sleep 1
		cluster_node B "$b_port"; b_pid=$node_pid
		wait "$bench_pid" || failed "cluster rejoin-$name" $? "$work/cluster-rejoin-$name.json"
		cat "$work/cluster-rejoin-$name.json" >>"$work/cluster-rejoin-$name.all"
		cp "$work/cluster-rejoin-$name.json" "$out/$stamp-cluster-rejoin-$name.json"
	done
	# The join storms last: a storm leaves Redis and the nodes busy for
	# seconds after it (the members' writes, the membership notices), and a
	# party made meanwhile can find Redis too slow to answer (recall_failed).
	for round in $(seq 1 "$ROUNDS"); do
		cluster_run "fill-1" "$a" -- --duration 10s fill --parties "$p" --members "$m" \
			--connect-rate 100000
		cluster_run "fill-2" "$a" "$b" -- --duration 10s fill --parties "$p" --members "$m" \
			--connect-rate 100000
	done
	kill "$a_pid" "$b_pid" 2>/dev/null || true
	/usr/bin/python3 - "$work" "$CLUSTER_FILL" <<'PYEOF'
import os, sys
sys.path.insert(0, "scripts")
from benchres import fmt, load, med
work, shape = sys.argv[1], sys.argv[2]

def pct(r, key):
    v = r.get(key) or {}
    return f"{fmt(v.get('p50'))} / {fmt(v.get('p99'))} / {fmt(v.get('max'))}"

print("\ncluster: sync, 8 members, hosts on A (median of the rounds; p50 / p99 / max ms)")
for name, title in (("nodelay", "no delay"), ("jitter", "50 +- 20 ms")):
    for nodes in (1, 2):
        rs = load(work, "cluster", f"sync-{name}-{nodes}")
        if not rs:
            continue
        row = {k: med(rs, lambda r, k=k: (r.get("spread_ms") or {}).get(k)) for k in ("p50", "p99", "max")}
        line = f"  {title:<12} {nodes} node{'s' if nodes > 1 else ' '}  spread {pct({'s': row}, 's')}"
        if nodes > 1:
            cross = {k: med(rs, lambda r, k=k: (r.get("cross_node_spread_ms") or {}).get(k))
                     for k in ("p50", "p99", "max")}
            per = []
            for i in range(2):
                per.append(pct({"s": {k: med(rs, lambda r, k=k: r["nodes"][i]["spread_ms"][k])
                                      for k in ("p50", "p99", "max")}}, "s"))
            off = med(rs, lambda r: r["nodes"][1].get("mean_vs_first_ms"))
            line += (f"; across nodes {pct({'s': cross}, 's')}; within A {per[0]}, B {per[1]};"
                     f" B - A {fmt(off)} ms")
        late = med(rs, lambda r: (r.get("late_states") or {}).get("count"))
        tr = med(rs, lambda r: max((t.get("max_ms") or 0) for t in r["transients"].values()))
        print(line + f"; switched within {fmt(tr)} ms; late {fmt(late)}")
def p99(x):   # a sync's p99, None when nothing arrived
    got = x.get("received", x.get("sync_received"))
    return x["latency_ms"]["p99"] if got else None
print(f"\ncluster: fill {shape} (median; the storm sync as the last member joins, the quiet one 1 s after)")
for nodes in (1, 2):
    rs = load(work, "cluster", f"fill-{nodes}")
    if not rs:
        continue
    def node(i, f):
        return med(rs, lambda r: f(r["nodes"][i]) if i < len(r.get("nodes", [])) else None)
    parts = [f"fill {fmt(med(rs, lambda r: r.get('fill_s')))} s",
             f"rosters {fmt(med(rs, lambda r: r.get('roster_s')))} s",
             f"storm sync p99 {fmt(med(rs, lambda r: p99(r['storm_sync'])))} ms"
             f" (loss {fmt(med(rs, lambda r: r['storm_sync']['loss_pct']))}%)",
             f"quiet p99 {fmt(med(rs, lambda r: p99(r)))} ms",
             f"loss {fmt(med(rs, lambda r: r.get('loss_pct')))}%",
             "runs with errors / host_changed seen by hosts: "
             + ", ".join(f"{r.get('errors', 0)}/{r.get('host_changes', 0)}" for r in rs)]
    if nodes > 1:
        for i, n in enumerate("AB"):
            parts.append(f"{n}: storm p99 {fmt(node(i, lambda x: p99(x['storm_sync'])))}"
                         f" quiet p99 {fmt(node(i, lambda x: p99(x['sync'])))} ms"
                         f" rosters {fmt(node(i, lambda x: x['roster_s']))} s")
    print(f"  {nodes} node{'s' if nodes > 1 else ' '}  " + "; ".join(parts))
print("\ncluster: node B killed (-9) and restarted a second later, sync --rejoin, 8 members")
for name, title in (("nodelay", "no delay"), ("jitter", "50 +- 20 ms")):
    rs = load(work, "cluster", f"rejoin-{name}")
    if not rs or not rs[-1].get("rejoin"):
        print(f"  {title:<12} did not run")
        continue
    r = rs[-1]
    j = r["rejoin"]
    print(f"  {title:<12} {j['drops']} lost, {j['back']} back ({j['not_back']} not); "
          f"welcomed again {pct(j, 'welcome_ms')} ms, back in sync {pct(j, 'back_ms')} ms "
          f"after the loss; spread in the {j['after_s']:g} s after {pct(j, 'spread_after_ms')} ms; "
          f"steady spread over the run {pct(r, 'spread_ms')} ms"
          + (f"; the host's commands refused: {r.get('errors')} ({r.get('error_code')}), "
             f"{r.get('host_changes')} host_changed" if r.get("errors") else ""))
PYEOF
}

if [ "$ONLY" = store ]; then
	BENCH_OUT=$out scripts/bench-store.sh
	exit 0
fi

if [ "$ONLY" = cluster ]; then
	cluster_runs
	echo
	BENCH_OUT=$out scripts/bench-cluster.sh
	echo "results: $out/$stamp-*.json" >&2
	exit 0
fi

if [ "$ONLY" = sync ]; then
	sync_runs
	echo "results: $out/$stamp-*.json" >&2
	exit 0
fi

# The yardsticks run beside revenge when they can be built; without them
# (a clone outside the workspace) revenge's own figures still come.
servers=(revenge seed floor)
if [ -x "$ANCHORS/build.sh" ]; then
	echo "bench: building the yardsticks ($ANCHORS/build.sh)" >&2
	if ! "$ANCHORS/build.sh" "$BUILD/anchors" >&2; then
		echo "bench: the yardsticks did not build: revenge's own figures only," \
			"the side-by-side comparison is skipped" >&2
		servers=(revenge)
	fi
else
	echo "bench: no yardsticks at $ANCHORS (BENCH_ANCHORS): revenge's own figures only," \
		"the side-by-side comparison is skipped" >&2
	servers=(revenge)
fi

# Filling large parties (issue 13): P x M members join as fast as each
# server admits them, then one sync per party a second after the last join.
# Ratios against the seed (fill time) and the floor (the sync's p99).
fill_runs() {
	local p=${FILL%%x*} m=${FILL#*x}
	for round in $(seq 1 "$ROUNDS"); do
		for server in "${servers[@]}"; do
			echo "bench: round $round, $server fill $FILL" >&2
			run "$server" "fill-$FILL" fill --parties "$p" --members "$m" --connect-rate 100000
		done
	done
}
fill_table() {
	PYTHONPATH=scripts /usr/bin/python3 - "$work" "$FILL" <<'PYEOF'
import sys
from benchres import fmt, load, med
work, shape = sys.argv[1], sys.argv[2]
rows = [("fill s", lambda r: r["fill_s"] if r.get("welcomed") == r["parties"] * r["members"] else None),
        ("announcements", lambda r: r.get("announcements")),
        ("sync p50 ms", lambda r: r["latency_ms"]["p50"] if r.get("sync_received") else None),
        ("sync p99 ms", lambda r: r["latency_ms"]["p99"] if r.get("sync_received") else None),
        ("sync max ms", lambda r: r["latency_ms"]["max"] if r.get("sync_received") else None),
        ("sync loss %", lambda r: r.get("loss_pct"))]
print(f"\n{'fill ' + shape:<16}{'metric':<16}{'revenge':>10}{'seed':>10}{'floor':>10}{'rev/seed':>10}{'rev/floor':>11}")
for label, f in rows:
    v = {s: med(load(work, s, f"fill-{shape}"), f) for s in ("revenge", "seed", "floor")}
    rs = v["revenge"] / v["seed"] if v["revenge"] is not None and v["seed"] else None
    rf = v["revenge"] / v["floor"] if v["revenge"] is not None and v["floor"] else None
    print(f"{'':<16}{label:<16}{fmt(v['revenge']):>10}{fmt(v['seed']):>10}{fmt(v['floor']):>10}"
          f"{fmt(rs, 'x'):>10}{fmt(rf, 'x'):>11}")
PYEOF
}
if [ "${BENCH_ONLY:-}" = fill ]; then
	fill_runs
	fill_table
	echo "results: $out/$stamp-*.json" >&2
	exit 0
fi

# fan-out shapes: parties x members @ syncs per second per host
shapes=("100x100@2" "100x100@1" "10x1000@1" "1000x10@10")
for round in $(seq 1 "$ROUNDS"); do
	for shape in "${shapes[@]}"; do
		p=${shape%%x*}
		rest=${shape#*x}
		m=${rest%%@*}
		r=${shape#*@}
		for server in "${servers[@]}"; do
			echo "bench: round $round, $server fanout $shape" >&2
			run "$server" "fanout-$shape" fanout --parties "$p" --members "$m" --rate "$r" \
				--connect-rate 5000
		done
	done
done

# The climb: 100x100 at a rising sync rate until a server loses messages or
# its p99 reaches 50 ms (it is then not run at the higher rates).
passing() { # FILE: the run had no loss and p99 < 50 ms
	/usr/bin/python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))
p99 = (r.get("latency_ms") or {}).get("p99")
sys.exit(0 if r.get("connected") and r.get("loss_pct") == 0 and p99 is not None and p99 < 50 else 1)' "$1"
}
declare -A climbing=([revenge]=1 [floor]=1 [seed]=1)
for r in $CLIMB; do
	for server in "${servers[@]}"; do
		[ "${climbing[$server]}" = 1 ] || continue
		echo "bench: climb, $server fanout 100x100@$r" >&2
		run "$server" "climb-$r" fanout --parties 100 --members 100 --rate "$r"
		passing "$work/$server-climb-$r.json" || climbing[$server]=0
	done
done

for round in $(seq 1 "$ROUNDS"); do
	for server in "${servers[@]}"; do
		echo "bench: round $round, $server connect 10000" >&2
		run "$server" connect connect --conns 10000 --connect-rate 20000
		echo "bench: round $round, $server connect 10000 --raw" >&2
		run "$server" connect-raw connect --conns 10000 --connect-rate 100000 --raw
	done
done
echo "bench: revenge holds $HOLD connections from 8 source addresses" >&2
run revenge hold connect --conns "$HOLD" --connect-rate 10000 --src 127.0.0.1-127.0.0.8

# Memory of connections that negotiated permessage-deflate, as browsers do
# (Python websockets: revenge-bench's lws client cannot take compressed
# messages), against plain ones doing the same, each on a fresh server.
for mode in deflate plain; do
	echo "bench: revenge memory, 2000 $mode connections sending chat" >&2
	start revenge
	/usr/bin/python3 scripts/bench-deflate-mem.py "$url" "$pid" 2000 \
		$([ "$mode" = plain ] && echo --plain) >"$work/revenge-mem-$mode.all" || true
	stop
	cp "$work/revenge-mem-$mode.all" "$out/$stamp-revenge-mem-$mode.json"
done

fill_runs

echo "bench: revenge progress (durable acked reports)" >&2
run revenge progress-open-50k progress --sessions 1000 --inflight 8 --rate 50000
echo "bench: revenge chat and churn" >&2
run revenge chat-100x10 chat --parties 100 --members 10 --rate 2
run revenge churn-100x20 churn --parties 100 --members 20 --rate 2 --churn 200

PYTHONPATH=scripts /usr/bin/python3 - "$work" "${shapes[@]}" <<'PYEOF'
import json, os, sys
from benchres import fmt, med
import benchres
work, shapes = sys.argv[1], sys.argv[2:]

def load(server, name):
    return benchres.load(work, server, name)

print(f"{'fan-out':<14}{'metric':<22}{'revenge':>10}{'floor':>10}{'seed':>10}{'rev/floor':>11}{'seed/rev':>10}")
for shape in shapes:
    rows = [("us/delivery", lambda r: r.get("server_us_per_delivery")),
            ("p99 ms", lambda r: r["latency_ms"]["p99"]),
            ("loss %", lambda r: r["loss_pct"]),
            ("delivered/s", lambda r: r["delivered_per_s"])]
    for label, f in rows:
        v = {s: med(load(s, f"fanout-{shape}"), f) for s in ("revenge", "floor", "seed")}
        rf = v["revenge"] / v["floor"] if v["revenge"] and v["floor"] else None
        sr = v["seed"] / v["revenge"] if v["seed"] and v["revenge"] else None
        print(f"{shape:<14}{label:<22}{fmt(v['revenge']):>10}{fmt(v['floor']):>10}"
              f"{fmt(v['seed']):>10}{fmt(rf, 'x'):>11}{fmt(sr, 'x'):>10}")
rows = [("handshakes/s", lambda r: r["handshakes_per_s"]),
        ("KiB per connection", lambda r: r["server_bytes_per_conn"] / 1024
         if r.get("server_bytes_per_conn") is not None else None),
        ("p99 handshake ms", lambda r: r["handshake_ms"]["p99"])]
rows.append(("gen CPU% connecting", lambda r: r.get("bench_cpu_pct_connecting")))
rows.append(("srv CPU% connecting", lambda r: r.get("server_cpu_pct_connecting")))
for name, title in (("connect", "connect 10k"), ("connect-raw", "connect --raw")):
    for label, f in rows:
        v = {s: med(load(s, name), f) for s in ("revenge", "floor", "seed")}
        rf = v["revenge"] / v["floor"] if v["revenge"] and v["floor"] else None
        sr = v["seed"] / v["revenge"] if v["seed"] and v["revenge"] else None
        print(f"{title:<14}{label:<22}{fmt(v['revenge']):>10}{fmt(v['floor']):>10}"
              f"{fmt(v['seed']):>10}{fmt(rf, 'x'):>11}{fmt(sr, 'x'):>10}")
p = load("revenge", "progress-open-50k")
if p:
    r = p[-1]
    print(f"\nprogress: {r['acked_per_s']:.0f} acked/s at {r['offered_per_s']:.0f} offered, "
          f"p99 {fmt((r.get('ack_latency_ms') or {}).get('p99'))} ms, errors {r['errors']}")

print("\nclimb, 100x100: highest delivered/s with no loss and p99 < 50 ms")
best = {}
for s in ("revenge", "floor", "seed"):
    steps = []
    for name in sorted((f[len(s) + 7:-4] for f in os.listdir(work)
                        if f.startswith(f"{s}-climb-") and f.endswith(".all")), key=float):
        rs = load(s, f"climb-{name}")
        if not rs:
            continue
        r = rs[-1]
        p99 = (r.get("latency_ms") or {}).get("p99")
        ok = r.get("connected") and r["loss_pct"] == 0 and p99 is not None and p99 < 50
        steps.append(f"@{name}: {r['delivered_per_s']:.0f}/s p99 "
                     + (f"{p99:.1f} ms" if p99 is not None else "not measured")
                     f" loss {r['loss_pct']:.2f}%{'' if ok else ' FAIL'}"
                     + (f" bench cpu {r['bench_cpu_pct']:.0f}%" if r.get("bench_cpu_pct") is not None else "")
                     + (f" server cpu {r['server_cpu_pct']:.0f}%" if r.get("server_cpu_pct") is not None else ""))
        if ok:
            best[s] = max(best.get(s, 0), r["delivered_per_s"])
    print(f"  {s:<8} best {best.get(s, 0):>8.0f}/s   " + "; ".join(steps))
if best.get("revenge") and best.get("seed"):
    print(f"  revenge/seed {best['revenge'] / best['seed']:.2f}x, "
          f"revenge/floor {best['revenge'] / best.get('floor', 1):.2f}x")

h = load("revenge", "hold")
if h:
    r = h[-1]
    print(f"\nheld: {r['connected']} of {r['conns']} connections from {r.get('src_addrs')} source "
          f"addresses, server {r.get('server_rss_bytes', 0) / 2**20:.1f} MiB, "
          f"{(r.get('server_bytes_per_conn') or 0) / 1024:.2f} KiB per connection, "
          f"server CPU while held {r.get('server_cpu_pct_held', '-')}%, "
          f"limited by {r.get('limited_by')}")
for mode in ("deflate", "plain"):
    path = os.path.join(work, f"revenge-mem-{mode}.all")
    if os.path.exists(path) and os.path.getsize(path):
        r = json.loads(open(path).read().splitlines()[-1])
        print(f"memory, {r['conns']} {mode} connections that sent chat: "
              f"{r['kib_per_conn']:.2f} KiB per connection ({r['negotiated']})")
for name in ("chat-100x10", "churn-100x20"):
    rs = load("revenge", name)
    if rs:
        r = rs[-1]
        lat = r.get("latency_ms") or {}
        print(f"{name}: delivered {r.get('delivered_per_s', 0):.0f}/s, loss {r.get('loss_pct')}%, "
              f"p99 {lat.get('p99')} ms" + (f", joins {r.get('joins_per_s'):.0f}/s"
                                           if r.get("joins_per_s") is not None else ""))
PYEOF
fill_table
sync_runs
cluster_runs
echo
BENCH_OUT=$out scripts/bench-cluster.sh
echo
BENCH_OUT=$out scripts/bench-store.sh
echo "results: $out/$stamp-*.json" >&2
