#!/usr/bin/env bats
# The waiting room across nodes (cluster mode): a member buffering on node
# B holds the host's resume on node A, party_state names it on both, its
# node killed ends the wait with its lease, the host's drift report covers
# B's members, and hostile `wait` and `drift` envelopes on the party's
# channel are refused. A redis-server of the test's own and
# two nodes (tests/cli/cluster_helpers.bash); the clients are
# tests/helpers/cluster_waiting.py (python3-websockets). Bounded waits.
load helpers
load cluster_helpers

two_nodes() {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" "$@"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" "$@"
	until_healthz A '"redis":"up"' 20
	until_healthz B '"redis":"up"' 20
}

@test "a member buffering on node B holds the host's resume on node A; party_state names the waited on both nodes; ready plays on both" {
	two_nodes
	run py "$PYHELP/cluster_waiting.py" "$A_URL" "$B_URL" cw1 hold
	assert_success
	assert_output --partial "ok hold"
	# B said only bob's buffering and his ready, one envelope each (and
	# maybe once more to a node new to it: A, when its read came after)
	local n
	n=$(metric B revenge_redis_published_total)
	[ "$n" -ge 2 ] && [ "$n" -le 4 ]
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	[ "$(metric B revenge_redis_dropped_total)" = 0 ]
	# nothing refused (grep finds nothing: status 1)
	run grep relay_refused "$A_LOG" "$B_LOG"
	[ "$status" = 1 ]
	stop_node A
	stop_node B
}

@test "the host's drift report on node A lists the members of node B" {
	two_nodes
	run py "$PYHELP/cluster_waiting.py" "$A_URL" "$B_URL" cd1 drift
	assert_success
	assert_output --partial "ok drift"
	# nothing refused (grep finds nothing: status 1)
	run grep relay_refused "$A_LOG" "$B_LOG"
	[ "$status" = 1 ]
	stop_node A
	stop_node B
}

# (not timed: the lease is 3 s and the resume is waited for up to 40 s;
# --ready-timeout 60 s, so only the lease can end the wait in time)
# held SCENARIO PARTY: cluster_waiting.py SCENARIO in the background until
# bob's wait holds ann's resume (its MARK); sets CHECK_PID.
held() {
	local i
	MARK="$BATS_TEST_TMPDIR/held" py "$PYHELP/cluster_waiting.py" "$A_URL" "$B_URL" "$2" "$1" \
		>"$BATS_TEST_TMPDIR/$1.out" 2>&1 3>&- &
	CHECK_PID=$!
	for i in $(seq 1 600); do
		[ -e "$BATS_TEST_TMPDIR/held" ] && return 0
		kill -0 "$CHECK_PID" 2>/dev/null || break
		sleep 0.1
	done
	cat "$BATS_TEST_TMPDIR/$1.out"
	return 1
}

# resumed SCENARIO: it ended well, and said after how long.
resumed() {
	local rc=0
	wait "$CHECK_PID" || rc=$?
	cat "$BATS_TEST_TMPDIR/$1.out"
	[ "$rc" = 0 ]
	grep -q "ok $1" "$BATS_TEST_TMPDIR/$1.out"
	grep "resumed" "$BATS_TEST_TMPDIR/$1.out" | sed 's/^/# /' >&3
}

@test "node B killed (-9) while its member buffers: the wait on node A ends with B's lease" {
	two_nodes --ready-timeout 60000
	held killed cw2
	kill -KILL "$B_PID"
	wait "$B_PID" 2>/dev/null || true
	B_PID=
	resumed killed
	# the lease ended it, not the ready timeout
	[ "$(metric A revenge_party_barrier_timeouts_total)" = 0 ]
	stop_node A
}

# (--ready-timeout 60 s: only Redis's loss can end the wait in time)
@test "Redis killed while a member on node B buffers: node A waits for its own members only and plays" {
	two_nodes --ready-timeout 60000
	held cutoff cw5
	stop_redis
	resumed cutoff
	[ "$(metric A revenge_party_barrier_timeouts_total)" = 0 ]
	stop_node A
	stop_node B
}

@test "hostile wait and drift envelopes on the party's channel are refused with a log line; the party goes on" {
	two_nodes
	# a party with a member on A, so that A is subscribed to its channel
	rvcat --timeout 60000 --count 999 "$A_URL/ws/party/cw3?name=ann" </dev/null \
		>"$BATS_TEST_TMPDIR/ann.out" 2>&1 3>&- &
	local ann=$! i m
	wait_for "$BATS_TEST_TMPDIR/ann.out" welcome 20
	for i in $(seq 1 100); do
		[ "$(redis-cli -p "$REDIS_PORT" PUBSUB NUMSUB revenge:party:cw3 | sed -n 2p)" = 1 ] && break
		sleep 0.1
	done
	local node=0123456789abcdef
	for m in "RV1 $node wait" "RV1 $node wait -" "RV1 $node wait - -" \
		"RV1 $node wait 0 -"$'\n'"m1" "RV1 $node wait nan -"$'\n' "RV1 $node wait -1 -"$'\n' \
		"RV1 $node wait - bored"$'\n' "RV1 $node wait - - x"$'\n' \
		"RV1 $node wait - -"$'\n'" m1" "RV1 $node wait - -"$'\n'"m1 " \
		"RV1 $node wait - -"$'\n'"m1  m2" "RV1 $node wait - -"$'\n'"m_1" \
		"RV1 $node wait - -"$'\n'"$(printf 'a%.0s' $(seq 1 40))" \
		"RV1 $node wait - -"$'\n'"$(seq -s ' ' 1 600 | sed 's/\([0-9]*\)/m\1/g')" \
		"RV1 ${node:0:15} wait - -"$'\n' \
		"RV1 $node drift"$'\n''{"type":"drift","payload":{"members":[{"id":"m9-1"}],"count":1}}' \
		"RV1 $node drift"$'\n''{"type":"drift","payload":{"members":[{"id":"m9-1","drift_ms":null,"buffering":false,"clock_error_ms":null}]}}' \
		"RV1 $node drift"$'\n''{"type":"drift","payload":{"members":{}}}' \
		"RV1 $node drift"$'\n''{"type":"drift","payload":{"members":[{"id":"m 1","drift_ms":1,"buffering":false,"clock_error_ms":-1}]}}' \
		"RV1 $node drift x"$'\n''{}'; do
		redis-cli -p "$REDIS_PORT" PUBLISH revenge:party:cw3 "$m" >/dev/null
	done
	# and well-formed ones of a node nobody knows, naming nobody known:
	# taken, and nothing changes
	redis-cli -p "$REDIS_PORT" PUBLISH revenge:party:cw3 "RV1 $node wait 5 forced_start"$'\n'"m9-1 m9-2" >/dev/null
	wait_for "$A_LOG" 'relay_refused' 20
	for i in $(seq 1 100); do
		[ "$(grep -c 'relay_refused.*party=cw3' "$A_LOG")" -ge 20 ] && break
		sleep 0.1
	done
	[ "$(grep -c 'relay_refused.*party=cw3' "$A_LOG")" = 20 ]
	kill "$ann" 2>/dev/null || true
	wait "$ann" 2>/dev/null || true
	# and the nodes go on: the waiting room across them still works
	run py "$PYHELP/cluster_waiting.py" "$A_URL" "$B_URL" cw4 hold
	assert_success
	assert_output --partial "ok hold"
	stop_node A
	stop_node B
}
