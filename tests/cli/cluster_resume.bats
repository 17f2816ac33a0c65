#!/usr/bin/env bats
# Cluster mode (--redis with --party-retention): a member whose connection
# dropped comes back through another node with its resume token and is
# who it was (id, name, host role), from the party's resume records in
# Redis (revenge:party:{id}:resume, keyed by the tokens' SHA-256). A
# redis-server and nodes A and B of the test's own
# (tests/cli/cluster_helpers.bash); the clients are
# tests/helpers/resume_cluster_check.py.
load helpers
load cluster_helpers

resume_nodes() {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" --party-retention 1h "${OPEN_LIMITS[@]}"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" --party-retention 1h "${OPEN_LIMITS[@]}"
	until_healthz A '"redis":"up"' 20
	until_healthz B '"redis":"up"' 20
}

@test "a host whose connection dropped on A resumes on B: same id, name, host role on both nodes and join number in Redis, no member churn; back on A after a kill; no token in Redis in clear" {
	resume_nodes
	run py "$PYHELP/resume_cluster_check.py" move "$A_URL" "$B_URL" "$REDIS_PORT" rmove
	assert_success
	assert_output --partial "ok move"
	grep -q member_resumed "$B_LOG"
	# the logs name no token either
	run grep -E '[0-9a-f]{32}' "$A_LOG" "$B_LOG"
	refute_output --regexp 'resume=[0-9a-f]{32}'
	stop_node A
	stop_node B
}

@test "unknown, present, garbage, expired, malformed and oversized tokens on B join fresh (or get HTTP 400); the node keeps serving; the records go with the party" {
	resume_nodes
	run py "$PYHELP/resume_cluster_check.py" bad "$A_URL" "$B_URL" "$REDIS_PORT" rbad
	assert_success
	assert_output --partial "ok bad"
	run healthz B
	assert_output --partial '"redis":"up"'
	# everyone left: the records go with the party's other keys
	local i
	for i in $(seq 1 100); do
		[ "$(redis-cli -p "$REDIS_PORT" EXISTS revenge:party:rbad:resume)" = 0 ] && break
		sleep 0.1
	done
	run redis-cli -p "$REDIS_PORT" EXISTS revenge:party:rbad:resume revenge:party:rbad:members
	assert_output 0
	stop_node A
	stop_node B
}

@test "Redis paused while a member resumes on B: the join is welcomed all the same (the wait for the record is bounded)" {
	resume_nodes
	run py "$PYHELP/resume_cluster_check.py" slow "$A_URL" "$B_URL" "$REDIS_PORT" rslow
	assert_success
	assert_output --partial "ok slow"
	grep -q resume_take_failed "$B_LOG"
	until_healthz B '"redis":"up"' 20
	stop_node A
	stop_node B
}
