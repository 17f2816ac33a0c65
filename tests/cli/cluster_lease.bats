#!/usr/bin/env bats
# Cluster mode (--redis): a node keeps its lease (revenge:node:{node})
# while it publishes a member's burst. The renewal used to queue behind
# thousands of EVALSHA on the publisher connection: the lease ran out
# mid-burst (A logged lease_lost) and the other node dropped A's members
# (B logged node_lost). Counted, not timed: a slower machine makes the
# burst wait longer, which is what the tests are about.
load helpers
load cluster_helpers

# burst_lease N URL [FLAGS...]: N chats of 2 KB from ann on A to bob on B
# (cluster_check.py bulk: whole and in order, each within 10 s); no lease
# lost on A, no node lost on B, nothing dropped, every chat received.
burst_lease() {
	local n=$1 url=$2
	local open=(--rate-limit 0 --party-chat-rate 0 --frame-rate 0)
	start_node A --redis "$url" "${@:3}" "${open[@]}"
	start_node B --redis "$url" "${@:3}" "${open[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	BULK_N=$n run timeout 120 "$PY" "$PYHELP/cluster_check.py" bulk "$A_URL" "$B_URL" lease1
	echo "$output"
	grep -h 'lease_lost\|node_lost\|redis_lost' "$A_LOG" "$B_LOG" || true
	assert_success
	assert_output --partial "ok bulk"
	! grep -q lease_lost "$A_LOG"
	! grep -q node_lost "$B_LOG"
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	[ "$(metric A revenge_redis_lease_lost_total)" = 0 ]
	[ "$(metric B revenge_redis_received_total)" -ge "$n" ]
	stop_node A
	stop_node B
}

@test "a burst of 1,500 full-size chats through a narrow link to Redis: A keeps its lease, B never loses A's members" {
	# the pubsub output limit raised, so that the test is about the
	# nodes, not Redis's buffers
	start_redis --client-output-buffer-limit "pubsub 256mb 128mb 60"
	# 3 MB of scripts at 512 KB/s a connection: A reads them from ann
	# several times faster than the link takes them, so they wait in its
	# buffer for seconds, past the lease's 3 s. A renewal queued behind
	# them reached Redis too late (every run, plain and ASan)
	start_listener delay_proxy.py 0 "$REDIS_PORT" 512
	burst_lease 1500 "redis://127.0.0.1:$LISTENER_PORT"
	stop_listener
}

@test "rediss://: the same burst through the narrow link: the renewal goes on its own TLS connection, written at once" {
	make_certs
	start_tls_redis srv --client-output-buffer-limit "pubsub 256mb 128mb 60"
	start_listener delay_proxy.py 0 "$REDIS_PORT" 512
	burst_lease 1500 "rediss://127.0.0.1:$LISTENER_PORT" \
		--redis-ca "$BATS_TEST_TMPDIR/tls/ca.crt"
	stop_listener
}
