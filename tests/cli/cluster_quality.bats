#!/usr/bin/env bats
# Quality sessions (/ws/stream) across the nodes of a cluster: two nodes on
# one redis-server of the test's own (loopback, a free port). A profile
# chosen on one node reaches the session's connections on the other (one
# PUBLISH on revenge:quality:{id}[:{owner}]), never another session's or
# another owner's; malformed lines on the channel are logged and dropped;
# Redis away, each node goes on alone. Every wait is bounded (seconds).
load helpers
load cluster_helpers

# teardown: cluster_helpers' (nodes, the background client, Redis)
setup() {
	[ -n "$REDIS_SERVER" ] || skip "redis-server is not installed (scripts/deps.sh installs it)"
	REDIS_PORT=
	REDIS_PID=
	CLIENT_PID=
	start_redis
}

start_nodes() {
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" "$@"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" "$@"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
}

qc() {
	py "$PYHELP/quality_cluster.py" "$@"
}

@test "a profile chosen on node A reaches the session's connection on node B, and B's on A; another session is not touched" {
	start_nodes
	run qc cross "$A_URL" "$B_URL" "$REDIS_PORT" s-cross
	assert_success
	assert_output --partial "ok cross"
	echo "# $output" >&3
	# one PUBLISH a change (2 made on A, 3 on B), each taken by the other
	[ "$(metric A revenge_redis_quality_published_total)" = 2 ]
	[ "$(metric B revenge_redis_quality_published_total)" = 3 ]
	[ "$(metric A revenge_redis_quality_received_total)" = 3 ]
	[ "$(metric B revenge_redis_quality_received_total)" = 2 ]
	[ "$(metric A revenge_redis_quality_dropped_total)" = 0 ]
	# the session's channel is left with its last connection
	until_subscribed revenge:quality:s-cross 0
	until_subscribed revenge:quality:s-cross-other 0
	run grep relay_refused "$A_LOG" "$B_LOG"
	assert_failure
	stop_node A
	stop_node B
}

@test "two token owners' quality sessions of one id: each owner's change reaches its own connections on the other node only" {
	local secret="$BATS_TEST_TMPDIR/secret" t1 t2
	head -c 32 /dev/urandom | base64 >"$secret"
	start_nodes --auth-secret-file "$secret"
	# a subject with a space and a colon: the channel's owner part is its bytes
	t1=$("$SERVER" token --auth-secret-file "$secret" --sub "team:ann x" --session s-own)
	t2=$("$SERVER" token --auth-secret-file "$secret" --sub bob --session s-own)
	run qc owners "$A_URL" "$B_URL" "$REDIS_PORT" s-own "$t1" "$t2"
	assert_success
	assert_output "ok owners"
	stop_node A
	stop_node B
}

@test "malformed lines on a quality channel are logged and dropped; a well-formed one still applies" {
	start_nodes
	local out="$BATS_TEST_TMPDIR/watch.out" bad n=0
	py "$PYHELP/quality_cluster.py" watch "$B_URL" "$REDIS_PORT" s-bad 1 360p 15 >"$out" 2>&1 3>&- &
	CLIENT_PID=$!
	wait_for "$out" watching 15
	for bad in "" RQ1 "RQ1 00000000deadbeef" "RQ1 00000000deadbeef " "RQ2 00000000deadbeef 720p" \
		"RQ1 00000000DEADBEEF 720p" "RQ1 00000000deadbeef 720p x" "RQ1 00000000deadbeef 72/0p" \
		'{"type":"quality_changed","payload":{"profile":"720p"}}' \
		"RQ1 00000000deadbeef $(printf 'p%.0s' $(seq 1 300))"; do
		redis-cli -p "$REDIS_PORT" publish revenge:quality:s-bad "$bad" >/dev/null
		n=$((n + 1))
	done
	# well-formed, but no profile of the node's ladder: logged, left
	redis-cli -p "$REDIS_PORT" publish revenge:quality:s-bad "RQ1 00000000deadbeef 8k" >/dev/null
	# what a node would send: the client's next message is this change
	redis-cli -p "$REDIS_PORT" publish revenge:quality:s-bad "RQ1 00000000deadbeef 360p" >/dev/null
	wait_for "$out" "seen 360p" 15
	wait "$CLIENT_PID"
	CLIENT_PID=
	[ "$(grep -c 'relay_refused.*malformed quality change' "$B_LOG")" = "$n" ]
	grep -q 'relay_refused.*no profile of this ladder.*profile=8k' "$B_LOG"
	# the two well-formed lines (of a node not B) were taken, 8k then left
	[ "$(metric B revenge_redis_quality_received_total)" = 2 ]
	kill -0 "$B_PID"
	stop_node A
	stop_node B
}

@test "Redis away: a profile change still reaches the session's connections on its own node" {
	start_nodes
	stop_redis
	until_healthz A '"redis":"down"' 10
	run qc local "$A_URL" s-away 480p
	assert_success
	assert_output "ok local"
	[ "$(metric A revenge_redis_quality_dropped_total)" = 1 ]
	kill -0 "$A_PID"
	kill -0 "$B_PID"
	stop_node A
	stop_node B
}
