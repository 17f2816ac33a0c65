#!/usr/bin/env bats
# Cluster mode (--redis): nodes share parties through a redis-server of the
# test's own (loopback, a free port, no persistence), started per test
# (tests/cli/cluster_helpers.bash). Over TLS: cluster_tls.bats; revenge-bench
# over two nodes: cluster_bench.bats. Tests tagged "timed" (a succession
# within seconds, a lease, idle Redis commands a second, a join or a drain
# within a bound) run after the side-by-side batch (scripts/run-tests.sh).
load helpers
load cluster_helpers

@test "a member on node B follows the host on node A; chat and reactions both ways; history from any node" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT/0"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster follow "$A_URL" "$B_URL" p1
	assert_success
	assert_output --partial "ok follow"
	# one publish per party message, whatever the members: ann's syncs
	# (at least one), her chat, bob's reaction and chat
	[ "$(metric A revenge_redis_published_total)" -ge 2 ]
	[ "$(metric B revenge_redis_published_total)" -ge 2 ]
	[ "$(metric B revenge_redis_received_total)" -ge 2 ]
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	# each node's offset to Redis's clock (TIME when ready): one machine,
	# one clock, so they agree to well within a second (loose: a loaded
	# machine)
	local a b
	a=$(metric A revenge_redis_clock_offset_ms)
	b=$(metric B revenge_redis_clock_offset_ms)
	[ -n "$a" ] && [ -n "$b" ]
	"$PY" -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(not (abs(a) < 1000 and abs(b) < 1000 and abs(a - b) < 500))" "$a" "$b"
	stop_node A
	stop_node B
}

@test "the host's media reaches the members of another node, and that node's later joiners" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run py "$PYHELP/media_cluster_check.py" "$A_URL" "$B_URL" pm
	assert_success
	assert_output --partial "ok media"
	stop_node A
	stop_node B
}

@test "chat history and state from Redis: the first member of a party on a node is welcomed with them, capped" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" --history 5
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" --history 5
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	HISTORY=5 run cluster recall "$A_URL" "$B_URL" r1
	assert_success
	assert_output --partial "ok recall"
	stop_node A
	stop_node B
}

@test "chats relayed while a node's first joiner recalls the party are neither lost nor doubled" {
	local open=(--rate-limit 0 --frame-rate 0 --party-chat-rate 0 --party-join-rate 0)
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" "${open[@]}"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" "${open[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster recall_gap "$A_URL" "$B_URL" g1
	assert_success
	assert_output --partial "ok recall_gap"
	stop_node A
	stop_node B
}

# (not timed: a 3 s lease, and the new host is waited for up to 15 s)
@test "one host across nodes; the host's node killed (-9): its members leave everywhere and the longest present elsewhere succeeds within seconds" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	marked_start succession h1
	if [ -e "$MARK" ]; then
		kill -KILL "$A_PID"
		wait "$A_PID" 2>/dev/null || true
		A_PID=
	fi
	marked_end succession
	stop_node B
}

# bats test_tags=timed
@test "a node stopped past its lease: the others drop its members and elect; back, it writes them again" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	marked_start stall s1
	kill -STOP "$A_PID"
	sleep 4.5
	kill -CONT "$A_PID"
	touch "$MARK.up"
	marked_end stall
	grep -q lease_lost "$A_LOG"
	stop_node A
	stop_node B
}

# (not timed: Redis commands counted, not timed; the bound is 2.5 x the
# 4.4 a second a quiet machine shows, and load adds none)
@test "idle parties cost Redis nothing per party: one lease check and one renewal a second per node" {
	local open=(--max-conns-per-ip 0 --handshake-rate-per-ip 0 --party-join-rate 0)
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" "${open[@]}"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" "${open[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	# 40 parties, a member of each on A and on B, 3 s idle: about 4.4
	# commands a second in all (a per-party read a second was 360)
	run timeout 60 "$PY" "$BATS_TEST_DIRNAME/../../scripts/measure-cluster-idle.py" \
		"$A_URL" "$B_URL" "$REDIS_PORT" 40 3
	assert_success
	echo "$output" | sed "s/^/# /" >&3
	local all
	all=$(echo "$output" | awk '$1 == "all" { sub("/s", "", $2); print $2 }')
	"$PY" -c "import sys; sys.exit(not float(sys.argv[1]) < 12)" "$all"
	refute_output --partial eval
	stop_node A
	stop_node B
}

@test "scripts go as EVALSHA; SCRIPT FLUSH while nodes work: sent again as EVAL once, parties keep working" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster relay "$A_URL" "$B_URL" f1
	assert_success
	redis-cli -p "$REDIS_PORT" SCRIPT FLUSH
	# kept chat and state, the recall and the members step, all after it
	run cluster recall "$A_URL" "$B_URL" f2
	assert_success
	local a b i
	a=$(metric A revenge_redis_script_reloads_total)
	b=$(metric B revenge_redis_script_reloads_total)
	[ $((a + b)) -ge 1 ]
	# flushed again and again while a hand-over runs
	for i in $(seq 1 15); do
		redis-cli -p "$REDIS_PORT" SCRIPT FLUSH >/dev/null
		sleep 0.2
	done &
	local flusher=$!
	run cluster handover "$A_URL" "$B_URL" f3
	wait "$flusher"
	assert_success
	# the scripts loaded again (by the first call after the last flush),
	# their text is not sent each call: EVALSHA only
	run cluster recall "$A_URL" "$B_URL" f4
	assert_success
	redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT
	run cluster recall "$A_URL" "$B_URL" f5
	assert_success
	run redis-cli -p "$REDIS_PORT" INFO commandstats
	refute_output --partial 'cmdstat_eval:'
	assert_output --regexp 'cmdstat_evalsha:calls=[1-9]'
	stop_node A
	stop_node B
}

@test "transfer_host across nodes: the new host holds on every node" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster handover "$A_URL" "$B_URL" h3
	assert_success
	assert_output --partial "ok handover"
	stop_node A
	stop_node B
}

# bats test_tags=timed
@test "a hand-over while a members step is in flight: the host moves once, never back and forth" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	REDIS_PID=$REDIS_PID run cluster handover_race "$A_URL" "$B_URL" h4
	kill -CONT "$REDIS_PID"
	assert_success
	assert_output --partial "ok handover_race"
	stop_node A
	stop_node B
}

@test "Redis restarted empty: each node writes its members again" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	marked_start rewrite h2
	stop_redis
	until_healthz A '"redis":"down"' 10
	start_redis
	until_healthz A '"redis":"up"' 20
	until_healthz B '"redis":"up"' 20
	touch "$MARK.up"
	marked_end rewrite
	stop_node A
	stop_node B
}

@test "Redis restarted empty: members written again keep their join order, whichever node comes back first" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	marked_start hold o1
	[ -e "$MARK" ]
	# bob (B) joined first; B is held while Redis restarts, so A writes
	# ann again first
	kill -STOP "$B_PID"
	stop_redis
	start_redis
	until_healthz A '"redis":"up"' 20
	local i entries=
	for i in $(seq 1 50); do
		entries=$(redis-cli -p "$REDIS_PORT" HGETALL "revenge:party:o1:members")
		[ -n "$entries" ] && break
		sleep 0.1
	done
	kill -CONT "$B_PID"
	until_healthz B '"redis":"up"' 20
	for i in $(seq 1 50); do
		entries=$(redis-cli -p "$REDIS_PORT" HGETALL "revenge:party:o1:members")
		[ "$(echo "$entries" | grep -c ' [01] ')" = 2 ] && break
		sleep 0.1
	done
	touch "$MARK.done"
	marked_end hold
	echo "$entries"
	# entry: <node> <join number> <may host> <name>
	local ann bob
	ann=$(echo "$entries" | awk '$4 == "ann" { print $2 }')
	bob=$(echo "$entries" | awk '$4 == "bob" { print $2 }')
	[ -n "$ann" ] && [ -n "$bob" ]
	[ "$bob" -lt "$ann" ]
	stop_node A
	stop_node B
}

# bats test_tags=timed
@test "a node whose clock is 400 ms off steps its server time onto Redis's TIME before clients come" {
	start_redis
	RV_TEST_CLOCK_SKEW_MS=400 start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	local i
	for i in $(seq 1 50); do
		[ "$(metric A revenge_redis_clock_aligned_total)" = 1 ] &&
			[ -n "$(metric A revenge_redis_clock_offset_ms)" ] && break
		sleep 0.1
	done
	[ "$(metric A revenge_redis_clock_aligned_total)" = 1 ]
	[ "$(metric B revenge_redis_clock_aligned_total)" = 0 ]
	grep -q clock_aligned "$A_LOG"
	"$PY" -c "import sys; sys.exit(not abs(float(sys.argv[1])) < 5)" \
		"$(metric A revenge_redis_clock_offset_ms)"
	run cluster clock "$A_URL" "$B_URL" t1
	assert_success
	stop_node A
	stop_node B
}

@test "hostile publications on a party's channel: dropped, the nodes and the relay go on" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	marked_start hold x1
	[ -e "$MARK" ]
	local m
	while IFS= read -r m; do
		redis-cli -p "$REDIS_PORT" PUBLISH revenge:party:x1 "$m" >/dev/null
	done <<-'EOF'
		garbage
		RVK
		RVK 
		RVK 0 RV1 0000000000000001 chat
		RVK 12a RV1 0000000000000001 chat
		RVK 99999999999999999999999 RV1 0000000000000001 chat
		RVK 7
		RVK 5 RV1 zz sync 1 2 3
		RVM
		RVM 0000000000000001 and more
		RV1 0000000000000001 sync nan true 1 1
	EOF
	redis-cli -p "$REDIS_PORT" PUBLISH revenge:party:x1 "$(head -c 70000 /dev/zero | tr '\0' 'x')" >/dev/null
	touch "$MARK.done"
	marked_end hold
	kill -0 "$A_PID"
	kill -0 "$B_PID"
	grep -q relay_refused "$A_LOG"
	run cluster follow "$A_URL" "$B_URL" x2
	assert_success
	stop_node A
	stop_node B
}

# bats test_tags=timed
@test "a Redis that does not answer: a party's first join waits at most about a second" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	kill -STOP "$REDIS_PID"
	RECALL_WAIT=5 run cluster join_fast "$A_URL" x r2
	kill -CONT "$REDIS_PID"
	assert_success
	assert_output --partial "ok join_fast"
	grep -q recall_failed "$A_LOG"
	stop_node A
}

@test "/healthz and /metrics show Redis up; over a unix socket with a password and a database" {
	start_redis --requirepass s3cret
	start_node A --redis "unix://:s3cret@$REDIS_SOCK?db=3"
	start_node B --redis "redis://:s3cret@127.0.0.1:$REDIS_PORT/3"
	until_healthz A '"status":"ok".*"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run healthz A
	assert_output --regexp '"status":"ok".*"redis":"up"'
	PORT=$A_PORT http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_redis_up=1' 'revenge_redis_reconnects_total=0' \
		'revenge_redis_dropped_total=0'
	assert_success
	run cluster relay "$A_URL" "$B_URL" p2
	assert_success
	# the password is never logged
	run cat "$A_LOG" "$B_LOG"
	refute_output --partial s3cret
	stop_node A
	stop_node B
}

@test "a wrong Redis password: the node runs alone, degraded, and says why" {
	start_redis --requirepass right
	start_node A --redis "redis://:wrong@127.0.0.1:$REDIS_PORT"
	wait_for "$A_LOG" 'redis_refused' 10
	run healthz A
	assert_output --regexp '"status":"degraded".*"redis":"down"'
	[ "$(metric A revenge_redis_up)" = 0 ]
	run cluster local "$A_URL"
	assert_success
	stop_node A
}

@test "parties that empty and fill again on a node keep their channel" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster churn "$A_URL" "$B_URL" p3
	assert_success
	stop_node A
	stop_node B
}

@test "Redis killed: nodes stay up, degraded, parties go on locally; Redis back: they reconnect and relay again" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster relay "$A_URL" "$B_URL" p4
	assert_success
	stop_redis
	until_healthz A '"status":"degraded".*"redis":"down"' 10
	until_healthz B '"redis":"down"' 10
	run curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A_PORT/healthz"
	assert_output 200
	[ "$(metric A revenge_redis_up)" = 0 ]
	run cluster local "$A_URL" x p5
	assert_success
	# what A's members said meanwhile could not reach other nodes: counted
	[ "$(metric A revenge_redis_dropped_total)" -ge 1 ]
	kill -0 "$A_PID"
	kill -0 "$B_PID"
	# the same port again
	start_redis
	until_healthz A '"status":"ok".*"redis":"up"' 20
	until_healthz B '"redis":"up"' 20
	[ "$(metric A revenge_redis_reconnects_total)" -ge 1 ]
	run cluster relay "$A_URL" "$B_URL" p6
	assert_success
	stop_node A
	stop_node B
}

@test "Redis killed and restarted under load: no crash, local delivery goes on, the relay resumes" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	LOAD_SECONDS=5 py "$PYHELP/cluster_check.py" load "$A_URL" "$B_URL" p7 \
		>"$BATS_TEST_TMPDIR/load.out" 2>&1 3>&- &
	local load=$!
	sleep 1.5
	stop_redis
	sleep 1.5
	start_redis
	local rc=0
	wait "$load" || rc=$?
	cat "$BATS_TEST_TMPDIR/load.out"
	[ "$rc" = 0 ]
	kill -0 "$A_PID"
	kill -0 "$B_PID"
	[ "$(metric A revenge_redis_reconnects_total)" -ge 1 ]
	[ "$(metric A revenge_redis_dropped_total)" -ge 1 ]
	stop_node A
	stop_node B
}

@test "a node killed (kill -9): the other node and its parties go on" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz B '"redis":"up"' 10
	run cluster relay "$A_URL" "$B_URL" p8
	assert_success
	kill -KILL "$A_PID"
	wait "$A_PID" 2>/dev/null || true
	A_PID=
	run healthz B
	assert_output --regexp '"status":"ok".*"redis":"up"'
	run cluster local "$B_URL" x p8
	assert_success
	stop_node B
}

# bats test_tags=timed
@test "drained while a first join waits for a Redis that does not answer: the node exits 0 at once" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	kill -STOP "$REDIS_PID"
	RECALL_WAIT=5 py "$PYHELP/cluster_check.py" join_fast "$A_URL" x d1 \
		>"$BATS_TEST_TMPDIR/join.out" 2>&1 3>&- &
	local join=$!
	# the recall is pending (it waits up to 1 s): drain now; the Redis
	# connections, with commands unanswered, must not hold the loop
	sleep 0.4
	local rc=0 t0=$SECONDS
	stop_node A || rc=$?
	A_PID=
	kill -CONT "$REDIS_PID"
	wait "$join" || true
	[ "$rc" = 0 ]
	[ $((SECONDS - t0)) -le 3 ]
	grep -q 'drained' "$A_LOG"
}

@test "a Redis that breaks RESP (junk, extra or truncated replies, nesting too deep, silence): the node says why, stays degraded and serves locally" {
	local mode want down
	while IFS='|' read -r mode down want; do
		start_listener bad_redis.py "$mode"
		start_node A --redis "redis://127.0.0.1:$LISTENER_PORT"
		[ -z "$want" ] || wait_for "$A_LOG" "$want" 10
		# junk comes a moment after each ready: up and down in turn
		if [ "$down" = down ]; then
			sleep 0.5
			run healthz A
			assert_output --regexp '"status":"degraded".*"redis":"down"'
		fi
		run cluster local "$A_URL" x "bad-$mode"
		assert_success
		stop_node A
		stop_listener
	done <<-EOF
		junk|flaps|redis_lost.*protocol error from Redis: Protocol error, got "!"
		extra|down|redis_lost.*protocol error from Redis: a reply to no command
		truncated|down|redis_connect_failed.*closed by Redis
		deep|down|redis_connect_failed.*protocol error from Redis: No support for nested
		silent|down|
	EOF
}

@test "a node started without --redis is unaffected" {
	start_node A
	run healthz A
	assert_output --partial '"status":"ok"'
	refute_output --partial redis
	run metric A revenge_redis_up
	assert_output ''
	run cluster local "$A_URL"
	assert_success
	stop_node A
}

@test "a node whose Redis is not there yet starts, degraded, and connects once it is" {
	REDIS_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	run healthz A
	assert_output --partial '"status":"degraded"'
	start_redis
	until_healthz A '"redis":"up"' 20
	stop_node A
}

@test "bad --redis values exit 2 with clear errors" {
	local url why
	# URL, then a part of the error it must get
	while IFS='|' read -r url why; do
		run -2 "$SERVER" --redis "$url"
		assert_output --partial "revenge-server: --redis: "
		assert_output --partial "$why"
	done <<-EOF
		rediss://127.0.0.1:6379/x|database
		http://127.0.0.1|must start with redis://, rediss:// or unix://
		redis://127.0.0.1:0|port must be a number in 1-65535
		redis://127.0.0.1:6379/x|database
		redis://user@127.0.0.1|credentials
		unix://relative.sock|absolute
		|empty
		redis://$(printf 'h%.0s' $(seq 1 300))|over 255 bytes
	EOF
	run -2 "$SERVER" --redis 'redis://:pa%zzss@127.0.0.1'
	assert_output --partial 'bad password'
	refute_output --partial 'pa%zzss'
}

@test "a Redis host that does not resolve: cannot start, exit 1" {
	run -1 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/x.db" --redis 'redis://no-such-host.invalid'
	assert_output --partial 'cannot resolve the Redis host'
}

# bats test_tags=timed
@test "the first joiner on a node with a slow Redis link stays host: a member joining another node after her welcome does not take the role" {
	local i
	start_redis
	# node A reaches Redis through a link 150 ms slow each way: its join
	# step lands in Redis long after a join on B made later (a party's
	# subscription and recall take two round trips, 600 ms, within the
	# recall's 1 s bound; 250 ms made that 1 s and the recall timed out)
	start_listener delay_proxy.py 150 "$REDIS_PORT"
	start_node A --redis "redis://127.0.0.1:$LISTENER_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	for i in 1 2 3; do
		run cluster host_first "$A_URL" "$B_URL" "slow$i"
		assert_success
		assert_output --partial "ok host_first"
	done
	stop_node A
	stop_node B
	stop_listener
}
