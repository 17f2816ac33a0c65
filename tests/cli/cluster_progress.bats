#!/usr/bin/env bats
# Progress sessions across the nodes of a cluster: two nodes on one
# redis-server and one PostgreSQL of the test's own (loopback, free ports).
# A report acked on one node shows in the ticks of the session's
# connections on the other; Redis away, each node goes on alone and catches
# up from the store when it is back; a node killed (-9) under a stream of
# reports loses none that it acked. The first test times a tick within
# its interval (plus a second): tagged "timed", run after the batch
# (scripts/run-tests.sh); the others wait with bounds of seconds, and run
# in the batch.
load helpers
load cluster_helpers

setup_file() {
	[ -n "$REDIS_SERVER" ] || skip "redis-server is not installed (scripts/deps.sh installs it)"
	private_pg_start
}

teardown_file() {
	private_pg_stop
}

setup() {
	private_pg_db
	REDIS_PORT=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	REDIS_PID=
	start_redis
}

teardown() {
	stop_node A 2>/dev/null || true
	stop_node B 2>/dev/null || true
	[ -z "${CLIENT_PID:-}" ] || kill "$CLIENT_PID" 2>/dev/null || true
	stop_redis
}

# Both nodes on the test's database (start_server's --db comes first; the
# last --db given wins).
start_nodes() {
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" --db "$DBURL" "$@"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" --db "$DBURL" "$@"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
}

pc() {
	py "$PYHELP/progress_cluster.py" "$@"
}

# bats test_tags=timed
@test "a report acked on node A shows in node B's ticks of the session within one interval, and B's on A" {
	start_nodes
	run pc follow "$A_URL" "$B_URL" s-follow 300
	assert_success
	assert_output --partial "ok follow"
	echo "# $output (ticks every 300 ms)" >&3
	[ "$(metric A revenge_redis_progress_published_total)" -ge 1 ]
	[ "$(metric B revenge_redis_progress_published_total)" -ge 1 ]
	[ "$(metric A revenge_redis_progress_received_total)" -ge 1 ]
	[ "$(metric B revenge_redis_progress_received_total)" -ge 1 ]
	[ "$(metric A revenge_redis_progress_dropped_total)" = 0 ]
	# the session's channel is left with its last connection
	until_subscribed revenge:progress:s-follow 0
	stop_node A
	stop_node B
}

@test "two token owners' sessions of one id: each owner's reports reach its own connections on the other node only" {
	local secret="$BATS_TEST_TMPDIR/secret" t1 t2
	head -c 32 /dev/urandom | base64 >"$secret"
	start_nodes --auth-secret-file "$secret"
	# a subject with a space and a colon: the channel's owner part is its bytes
	t1=$("$SERVER" token --auth-secret-file "$secret" --sub "team:ann x" --session s-own)
	t2=$("$SERVER" token --auth-secret-file "$secret" --sub bob --session s-own)
	run pc owners "$A_URL" "$B_URL" s-own "$t1" "$t2"
	assert_success
	assert_output "ok owners"
	stop_node A
	stop_node B
}

@test "Redis away: reports are acked and local ticks go on; back, the other node's connections catch up from the store" {
	start_nodes
	local out="$BATS_TEST_TMPDIR/watch.out"
	py "$PYHELP/progress_cluster.py" watch "$B_URL" s-away 55 40 >"$out" 2>&1 3>&- &
	CLIENT_PID=$!
	wait_for "$out" watching 10
	until_subscribed revenge:progress:s-away 1
	stop_redis
	until_healthz A '"redis":"down"' 10
	until_healthz B '"redis":"down"' 10
	run pc local "$A_URL" s-away 55
	assert_success
	assert_output "ok local"
	[ "$(metric A revenge_redis_progress_dropped_total)" -ge 1 ]
	# not seen on B meanwhile: nothing carries it there
	run grep seen "$out"
	assert_failure
	start_redis
	until_healthz B '"redis":"up"' 15
	wait_for "$out" "seen 55" 15
	wait "$CLIENT_PID"
	CLIENT_PID=
	stop_node A
	stop_node B
}

@test "malformed lines on a progress channel are dropped; the session's real reports still cross" {
	start_nodes
	local out="$BATS_TEST_TMPDIR/watch.out" bad
	py "$PYHELP/progress_cluster.py" watch "$B_URL" s-bad 66 20 >"$out" 2>&1 3>&- &
	CLIENT_PID=$!
	wait_for "$out" watching 10
	until_subscribed revenge:progress:s-bad 1
	for bad in "" RP1 "RP1 00000000deadbeef 1 0 nan - m" "RP1 00000000deadbeef 1 0 -5 - m" \
		"RP1 00000000deadbeef 1 0 1 - m x" "RP2 00000000deadbeef 1 0 1 - m" \
		"RP1 00000000deadbeef 1 0 1 - $(printf 'm%.0s' $(seq 1 300))"; do
		redis-cli -p "$REDIS_PORT" publish revenge:progress:s-bad "$bad" >/dev/null
	done
	run pc local "$A_URL" s-bad 66
	assert_success
	wait_for "$out" "seen 66" 10
	wait "$CLIENT_PID"
	CLIENT_PID=
	[ "$(metric B revenge_redis_progress_received_total)" = 1 ]
	stop_node A
	stop_node B
}

@test "node A killed (-9) while a client streams 2,000 reports to it: every acked report is read back through node B" {
	start_nodes
	local out="$BATS_TEST_TMPDIR/load.out"
	timeout 60 env PYTHONPATH="$PYHELP" "$PY" "$PYHELP/progress_cluster.py" load "$A_URL" 10 2000 400 \
		>"$out" 2>&1 3>&- &
	CLIENT_PID=$!
	wait_for "$out" "^half" 20
	kill -KILL "$A_PID"
	wait "$A_PID" 2>/dev/null || true
	A_PID=
	wait "$CLIENT_PID" || { cat "$out" >&2; return 1; }
	CLIENT_PID=
	run pc readback "$B_URL" "$out"
	assert_success
	assert_output --partial "ok readback"
	local n=${output##* }
	[ "$n" -ge 1000 ] || fail "only $n reports acked before the kill"
	echo "# node A killed after $n acked reports; all read back through node B" >&3
	kill -0 "$B_PID"
	stop_node B
}
