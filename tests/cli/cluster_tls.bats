#!/usr/bin/env bats
# Cluster mode over TLS (rediss://, --redis-ca, --redis-cert, --redis-key):
# a redis-server of the test's own speaking TLS only, certificates made per
# test (tests/cli/cluster_helpers.bash). Nothing here is timed: the file runs
# in the side-by-side batch.
load helpers
load cluster_helpers

@test "rediss:// with --redis-ca and a password: a member on B follows the host on A over TLS" {
	make_certs
	start_tls_redis srv --requirepass s3cret
	local ca="$BATS_TEST_TMPDIR/tls/ca.crt"
	# the same database on both (a cluster's keys live in one; only its
	# channels would cross databases), named with and without the user
	start_node A --redis "rediss://:s3cret@127.0.0.1:$REDIS_PORT/2" --redis-ca "$ca"
	start_node B --redis "rediss://default:s3cret@127.0.0.1:$REDIS_PORT/2" --redis-ca "$ca"
	until_healthz A '"status":"ok".*"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster follow "$A_URL" "$B_URL" t1
	assert_success
	assert_output --partial "ok follow"
	[ "$(metric B revenge_redis_received_total)" -ge 2 ]
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	[ -n "$(metric A revenge_redis_clock_offset_ms)" ]
	# Redis saw two TLS clients per node (it has no plain port at all)
	run redis-cli --tls --cacert "$ca" -p "$REDIS_PORT" -a s3cret --no-auth-warning \
		CLIENT LIST
	assert_success
	[ "$(grep -c 'cmd=' <<<"$output")" -ge 5 ]
	run cat "$A_LOG" "$B_LOG"
	refute_output --partial s3cret
	refute_output --partial redis_connect_failed
	stop_node A
	stop_node B
}

@test "rediss:// Redis killed and back: the nodes reconnect over TLS and relay again" {
	make_certs
	start_tls_redis srv
	local ca="$BATS_TEST_TMPDIR/tls/ca.crt"
	start_node A --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca"
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	stop_redis
	until_healthz A '"status":"degraded".*"redis":"down"' 10
	run cluster local "$A_URL" x t2
	assert_success
	start_tls_redis srv
	until_healthz A '"status":"ok".*"redis":"up"' 20
	until_healthz B '"redis":"up"' 20
	[ "$(metric A revenge_redis_reconnects_total)" -ge 1 ]
	run cluster relay "$A_URL" "$B_URL" t3
	assert_success
	stop_node A
	stop_node B
}

@test "rediss://: a burst of full-size chats crosses whole and in order; a large history is recalled over TLS" {
	make_certs
	# the pubsub output limit raised, so that the test is about our
	# buffering, not Redis's
	start_tls_redis srv --client-output-buffer-limit "pubsub 256mb 128mb 60"
	local ca="$BATS_TEST_TMPDIR/tls/ca.crt" open=(--rate-limit 0 --party-chat-rate 0 --frame-rate 0)
	start_node A --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca" "${open[@]}"
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca" "${open[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster bulk "$A_URL" "$B_URL" t5
	assert_success
	assert_output --partial "ok bulk"
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	stop_node A
	stop_node B
}

@test "rediss:// Redis paused under a burst: megabytes wait in the node's buffer, then cross whole and in order; no subscriber is dropped" {
	make_certs
	# the pubsub output limit raised, so that only a node that lets its
	# subscriber's socket fill can lose it: Redis 7.0's TLS writer,
	# retrying on a full socket, may fail with "bad length" and drop the
	# client (said at verbose only; deployment.md, "Redis sizing")
	start_tls_redis srv --client-output-buffer-limit "pubsub 256mb 128mb 60" --loglevel verbose
	local ca="$BATS_TEST_TMPDIR/tls/ca.crt" open=(--rate-limit 0 --party-chat-rate 0 --frame-rate 0)
	start_node A --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca" "${open[@]}"
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca" "${open[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	local mark="$BATS_TEST_TMPDIR/pause" i
	# 4,000 chats of 2 KB: more than loopback buffers hold, so A's TLS
	# writes stop short (WANT_WRITE) and resume; released at once, 8 MB
	# reach each subscriber faster than a node parses them. Before the
	# nodes emptied their sockets on each readiness, about half the runs
	# under ASan lost a subscriber here
	MARK="$mark" BULK_N=4000 py "$PYHELP/cluster_check.py" bulk "$A_URL" "$B_URL" t6 \
		>"$BATS_TEST_TMPDIR/bulk.out" 2>&1 3>&- &
	local check=$!
	for i in $(seq 1 300); do
		[ -e "$mark" ] && break
		kill -0 "$check" 2>/dev/null || break
		sleep 0.1
	done
	kill -STOP "$REDIS_PID"
	touch "$mark.go"
	for i in $(seq 1 300); do
		[ -e "$mark.sent" ] && break
		kill -0 "$check" 2>/dev/null || break
		sleep 0.05
	done
	# let go at once, while A may still be publishing what it reads from
	# ann: its loop turns are long then, and its subscriber must not wait
	# for them
	kill -CONT "$REDIS_PID"
	local rc=0
	wait "$check" || rc=$?
	cat "$BATS_TEST_TMPDIR/bulk.out"
	grep -h 'redis_lost' "$A_LOG" "$B_LOG" || true
	grep 'Error writing\|Error reading\|output buffer' "$BATS_TEST_TMPDIR/redis.log" || true
	[ "$rc" = 0 ]
	grep -q "ok bulk" "$BATS_TEST_TMPDIR/bulk.out"
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	[ "$(metric B revenge_redis_received_total)" -ge 4000 ]
	# neither node lost a connection to Redis and made it again
	[ "$(metric A revenge_redis_reconnects_total)" = 0 ]
	[ "$(metric B revenge_redis_reconnects_total)" = 0 ]
	stop_node A
	stop_node B
}

@test "rediss:// refused: an untrusted certificate (the system's CAs, a wrong --redis-ca) or one for another host; degraded, parties go on locally" {
	make_certs
	# a certificate the test CA signed, but for redis.invalid, not 127.0.0.1
	start_tls_redis other
	start_node A --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$BATS_TEST_TMPDIR/tls/ca.crt"
	wait_for "$A_LOG" 'redis_connect_failed.*certificate of Redis is refused: IP address mismatch' 10
	run healthz A
	assert_output --regexp '"status":"degraded".*"redis":"down"'
	[ "$(metric A revenge_redis_up)" = 0 ]
	run cluster local "$A_URL" x t4
	assert_success
	# the system's CAs (no --redis-ca) do not know the test CA (which
	# Redis sends along with its certificate)
	local untrusted='redis_connect_failed.*certificate of Redis is refused: \(unable to get local issuer certificate\|self-signed certificate in certificate chain\)'
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT"
	wait_for "$B_LOG" "$untrusted" 10
	stop_node B
	# nor does another CA
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$BATS_TEST_TMPDIR/tls/stranger.crt"
	wait_for "$B_LOG" "$untrusted" 10
	run healthz B
	assert_output --regexp '"status":"degraded".*"redis":"down"'
	# retried with backoff, said once at warn per reason
	sleep 1
	[ "$(grep -c 'redis_connect_failed.*(publisher)' "$A_LOG")" = 1 ]
	# plain redis:// to the TLS port is no Redis either
	stop_node B
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT"
	wait_for "$B_LOG" 'redis_connect_failed' 10
	# never ready, so never "lost": retried quietly (a reset or a close)
	sleep 1
	[ "$(grep -c 'redis_connect_failed.*(subscriber)' "$B_LOG")" -le 2 ]
	! grep -q redis_lost "$B_LOG"
	run healthz B
	assert_output --regexp '"redis":"down"'
	kill -0 "$A_PID"
	stop_node A
	stop_node B
}

@test "rediss:// to a Redis that asks for a client certificate: --redis-cert and --redis-key get in, a node without is refused" {
	make_certs
	local d="$BATS_TEST_TMPDIR/tls"
	start_tls_redis srv --tls-auth-clients yes
	start_node A --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$d/ca.crt" \
		--redis-cert "$d/client.crt" --redis-key "$d/client.key"
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$d/ca.crt"
	until_healthz A '"status":"ok".*"redis":"up"' 10
	wait_for "$B_LOG" 'redis_connect_failed.*TLS.*certificate required' 10
	run healthz B
	assert_output --regexp '"status":"degraded".*"redis":"down"'
	stop_node B
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$d/ca.crt" \
		--redis-cert "$d/client.crt" --redis-key "$d/client.key"
	until_healthz B '"redis":"up"' 10
	run cluster relay "$A_URL" "$B_URL" t7
	assert_success
	stop_node A
	stop_node B
}

@test "--redis-ca, --redis-cert, --redis-key: bad uses exit 2, files that are not PEM or do not match exit 1" {
	local d="$BATS_TEST_TMPDIR/tls"
	make_certs
	run -2 "$SERVER" --redis 'rediss://127.0.0.1' --redis-cert "$d/client.crt"
	assert_output --partial "--redis-cert: a client certificate needs both --redis-cert and --redis-key"
	run -2 "$SERVER" --redis 'rediss://127.0.0.1' --redis-key "$d/client.key"
	assert_output --partial "--redis-key: a client certificate needs both"
	run -2 "$SERVER" --redis 'redis://127.0.0.1' --redis-cert "$d/client.crt" --redis-key "$d/client.key"
	assert_output --partial "--redis-cert: only a rediss:// --redis URL speaks TLS"
	run -1 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/x.db" --redis 'rediss://127.0.0.1' \
		--redis-cert "$d/client.crt" --redis-key "$d/srv.key"
	assert_output --partial "cannot use the client key in $d/srv.key"
	run -1 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/x.db" --redis 'rediss://127.0.0.1' \
		--redis-cert "$d/client.key" --redis-key "$d/client.key"
	assert_output --partial "cannot load the client certificate in $d/client.key"
}

@test "--redis-ca: bad uses exit 2, a file with no certificate exits 1" {
	make_certs
	run -2 "$SERVER" --redis 'redis://127.0.0.1' --redis-ca "$BATS_TEST_TMPDIR/tls/ca.crt"
	assert_output --partial "--redis-ca: only a rediss:// --redis URL"
	run -2 "$SERVER" --redis-ca "$BATS_TEST_TMPDIR/tls/ca.crt"
	assert_output --partial "--redis-ca: only a rediss:// --redis URL"
	run -2 "$SERVER" --redis 'rediss://127.0.0.1' --redis-ca "$BATS_TEST_TMPDIR/nope.pem"
	assert_output --partial "--redis-ca: cannot read"
	echo 'not a certificate' >"$BATS_TEST_TMPDIR/junk.pem"
	run -1 "$SERVER" --listen 127.0.0.1:0 --db "$BATS_TEST_TMPDIR/x.db" \
		--redis 'rediss://127.0.0.1' --redis-ca "$BATS_TEST_TMPDIR/junk.pem"
	assert_output --partial "cannot load the CA certificates in $BATS_TEST_TMPDIR/junk.pem"
}
