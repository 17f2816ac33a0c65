#!/usr/bin/env bats
# Cluster mode (--redis): a party's media kept in Redis with its state
# (revenge:party:{id}:media), so any node's first member of the party is
# welcomed with it, and hostile media (from a host, or written into Redis)
# never get in. A redis-server and nodes A and B of the test's own
# (tests/cli/cluster_helpers.bash); the clients are
# tests/helpers/media_keep_check.py.
load helpers
load cluster_helpers

@test "the media is kept in Redis: a node's first joiner, also after that node restarted, is welcomed with it; null clears it; an emptied party leaves none" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	MARK="$BATS_TEST_TMPDIR/mark-keep"
	MARK="$MARK" py "$PYHELP/media_keep_check.py" keep "$A_URL" "$B_URL" "$REDIS_PORT" mk \
		>"$BATS_TEST_TMPDIR/keep.out" 2>&1 3>&- &
	CHECK_PID=$!
	local i
	for i in $(seq 1 600); do
		[ -e "$MARK" ] && break
		kill -0 "$CHECK_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -e "$MARK" ] || { wait "$CHECK_PID"; cat "$BATS_TEST_TMPDIR/keep.out"; false; }
	stop_node B
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz B '"redis":"up"' 10
	echo "$B_URL" >"$MARK.done"
	local rc=0
	wait "$CHECK_PID" || rc=$?
	CHECK_PID=
	cat "$BATS_TEST_TMPDIR/keep.out"
	[ "$rc" = 0 ]
	grep -q "ok keep" "$BATS_TEST_TMPDIR/keep.out"
	# everyone left: the party's keys go with its last member
	for i in $(seq 1 200); do
		[ -z "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'revenge:party:mk:*')" ] && break
		sleep 0.1
	done
	[ -z "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'revenge:party:mk:*')" ]
	stop_node A
	stop_node B
}

@test "hostile media: refused by the host's node and never in Redis; a corrupted kept media is ignored with a log line, not a crash" {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run py "$PYHELP/media_keep_check.py" hostile "$A_URL" "$B_URL" "$REDIS_PORT" mh
	assert_success
	assert_output --partial "ok hostile"
	kill -0 "$A_PID"
	kill -0 "$B_PID"
	# seven corrupted values, each logged by the node that recalled it
	[ "$(grep -c 'relay_refused.*kept media' "$B_LOG")" -ge 7 ]
	stop_node A
	stop_node B
}

teardown() {
	[ -z "${CHECK_PID:-}" ] || kill "$CHECK_PID" 2>/dev/null || true
	stop_node A 2>/dev/null || true
	stop_node B 2>/dev/null || true
	stop_redis
}
