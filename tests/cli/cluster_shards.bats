#!/usr/bin/env bats
# Cluster mode over Redis shards (--redis URL,URL): two redis-servers of the
# test's own and nodes A and B; each party lives on the shard its id hashes
# to (lib/shard.c; tests/helpers/shard_of.py computes the same), one shard
# down touches only its parties. The hash itself: tests/unit/test_shard.c.
load helpers
load cluster_helpers

# start_shards: redis-servers r0 and r1 (R0_PORT, R0_PID, R1_PORT, R1_PID)
# and SHARDS, the --redis list of both.
start_shards() {
	REDIS_NAME=r0
	REDIS_PORT=
	start_redis
	R0_PORT=$REDIS_PORT
	R0_PID=$REDIS_PID
	REDIS_NAME=r1
	REDIS_PORT=
	start_redis
	R1_PORT=$REDIS_PORT
	R1_PID=$REDIS_PID
	REDIS_PID=
	SHARDS="redis://127.0.0.1:$R0_PORT,redis://127.0.0.1:$R1_PORT"
}

# restart_r1: shard 1's redis-server again, empty, on its port.
restart_r1() {
	REDIS_NAME=r1
	REDIS_PORT=$R1_PORT
	start_redis
	R1_PID=$REDIS_PID
	REDIS_PID=
}

teardown() {
	stop_node A 2>/dev/null || true
	stop_node B 2>/dev/null || true
	[ -z "${LISTENER_PID:-}" ] || stop_listener
	local p
	for p in "${R0_PID:-}" "${R1_PID:-}"; do
		[ -n "$p" ] || continue
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# party_on SHARD PREFIX: the first id PREFIX0, PREFIX1, ... on SHARD (of two).
party_on() {
	"$PY" "$PYHELP/shard_of.py" 2 $(seq -f "$2%g" 0 63) |
		awk -v k="$1" '$2 == k { print $1; exit }'
}

rcli() {
	redis-cli -p "$1" "${@:2}"
}

@test "parties spread over both shards, each party's keys and channel on its shard only; a member on B follows the host on A in every one" {
	start_shards
	start_node A --redis "$SHARDS"
	start_node B --redis "$SHARDS"
	until_healthz A '"redis":"up","redis_shards":2,"redis_down":\[\]' 10
	until_healthz B '"redis":"up"' 10
	PARTIES=12 marked_start spread s
	[ -e "$MARK" ] || { marked_end spread; false; }
	local id k on0=0 on1=0 chans=() keys0 keys1 subs0 subs1 mine other
	for id in $(seq -f "s-%g" 0 11); do chans+=("revenge:party:$id"); done
	keys0=$(rcli "$R0_PORT" KEYS 'revenge:party:s-*')
	keys1=$(rcli "$R1_PORT" KEYS 'revenge:party:s-*')
	# "channel subscribers" a line, each shard
	subs0=$(rcli "$R0_PORT" PUBSUB NUMSUB "${chans[@]}" | paste - -)
	subs1=$(rcli "$R1_PORT" PUBSUB NUMSUB "${chans[@]}" | paste - -)
	while read -r id k; do
		if [ "$k" = 0 ]; then
			mine=$keys0 other=$keys1 on0=$((on0 + 1))
		else
			mine=$keys1 other=$keys0 on1=$((on1 + 1))
		fi
		# members, host and the kept state and chat, on its shard only
		[ "$(grep -cxE "revenge:party:$id:(members|host|state|chat)" <<<"$mine")" = 4 ] ||
			{ echo "party $id: not all its keys on shard $k: $mine"; false; }
		! grep -q "^revenge:party:$id:" <<<"$other" ||
			{ echo "party $id (shard $k) has keys on the other: $other"; false; }
		# both nodes subscribed its channel there, none on the other shard
		[ "$k" = 0 ] && mine=$subs0 other=$subs1 || mine=$subs1 other=$subs0
		grep -qxP "revenge:party:$id\t2" <<<"$mine"
		grep -qxP "revenge:party:$id\t0" <<<"$other"
	done < <("$PY" "$PYHELP/shard_of.py" 2 $(seq -f "s-%g" 0 11))
	echo "# shard 0: $on0 parties, shard 1: $on1 (DBSIZE $(rcli "$R0_PORT" DBSIZE), $(rcli "$R1_PORT" DBSIZE))" >&3
	[ "$on0" -ge 2 ] && [ "$on1" -ge 2 ]
	[ "$(rcli "$R0_PORT" DBSIZE)" -gt 0 ] && [ "$(rcli "$R1_PORT" DBSIZE)" -gt 0 ]
	# each node's lease on every shard
	[ "$(rcli "$R0_PORT" KEYS 'revenge:node:*' | wc -l)" = 2 ]
	[ "$(rcli "$R1_PORT" KEYS 'revenge:node:*' | wc -l)" = 2 ]
	touch "$MARK.done"
	marked_end spread
	# one publish per message, counted on the shard that carried it (a
	# late joiner welcomed with the state and history on each shard: the
	# next test's follow runs)
	[ "$(metric A 'revenge_redis_shard_published_total{shard="0"}')" -ge 2 ]
	[ "$(metric A 'revenge_redis_shard_published_total{shard="1"}')" -ge 2 ]
	[ "$(metric B 'revenge_redis_shard_received_total{shard="1"}')" -ge 2 ]
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	stop_node A
	stop_node B
}

@test "one shard's Redis killed: the other shard's parties still cross nodes, the dead shard's go on locally and /healthz names it; back: they resume" {
	start_shards
	start_node A --redis "$SHARDS"
	start_node B --redis "$SHARDS"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	run cluster relay "$A_URL" "$B_URL" "$(party_on 1 k)"
	assert_success
	kill -KILL "$R1_PID"
	wait "$R1_PID" 2>/dev/null || true
	R1_PID=
	until_healthz A '"status":"degraded".*"redis":"down","redis_shards":2,"redis_down":\[1\]' 10
	until_healthz B '"redis_down":\[1\]' 10
	[ "$(metric A 'revenge_redis_shard_up{shard="0"}')" = 1 ]
	[ "$(metric A 'revenge_redis_shard_up{shard="1"}')" = 0 ]
	[ "$(metric A revenge_redis_up)" = 0 ]
	# shard 0's parties: across nodes as before
	run cluster follow "$A_URL" "$B_URL" "$(party_on 0 e)"
	assert_success
	# shard 1's: on each node alone
	run cluster local "$A_URL" x "$(party_on 1 d)"
	assert_success
	[ "$(metric A 'revenge_redis_shard_dropped_total{shard="1"}')" -ge 1 ]
	[ "$(metric A 'revenge_redis_shard_dropped_total{shard="0"}')" = 0 ]
	grep -q 'redis_down.*shard 1 ' "$A_LOG"
	kill -0 "$A_PID"
	kill -0 "$B_PID"
	restart_r1
	until_healthz A '"status":"ok".*"redis_down":\[\]' 20
	until_healthz B '"status":"ok".*"redis_down":\[\]' 20
	[ "$(metric A 'revenge_redis_shard_reconnects_total{shard="1"}')" -ge 1 ]
	[ "$(metric A 'revenge_redis_shard_reconnects_total{shard="0"}')" = 0 ]
	run cluster follow "$A_URL" "$B_URL" "$(party_on 1 q)"
	assert_success
	stop_node A
	stop_node B
}

@test "a shard's Redis restarted empty while members stay: the nodes write that shard's members again, the other shard's are untouched" {
	start_shards
	start_node A --redis "$SHARDS"
	start_node B --redis "$SHARDS"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	local p1
	p1=$(party_on 1 w)
	marked_start hold "$p1"
	[ -e "$MARK" ] || { marked_end hold; false; }
	kill -KILL "$R1_PID"
	wait "$R1_PID" 2>/dev/null || true
	until_healthz A '"redis_down":\[1\]' 10
	restart_r1
	until_healthz A '"redis_down":\[\]' 20
	until_healthz B '"redis_down":\[\]' 20
	local i entries=
	for i in $(seq 1 50); do
		entries=$(rcli "$R1_PORT" HGETALL "revenge:party:$p1:members")
		[ "$(echo "$entries" | grep -c ' [01] ')" = 2 ] && break
		sleep 0.1
	done
	echo "$entries"
	[ "$(echo "$entries" | grep -c ' [01] ')" = 2 ]
	[ -z "$(rcli "$R0_PORT" KEYS "revenge:party:$p1*")" ]
	touch "$MARK.done"
	marked_end hold
	stop_node A
	stop_node B
}

@test "bad --redis lists are usage errors; a list in the configuration file is shown with every password masked" {
	run timeout 10 "$SERVER" --redis "redis://127.0.0.1:1,"
	assert_failure 2
	assert_output --partial "Redis URL 2 of 2 is empty"
	run timeout 10 "$SERVER" --redis "redis://127.0.0.1:1,,redis://127.0.0.1:2"
	assert_failure 2
	assert_output --partial "Redis URL 2 of 3 is empty"
	run timeout 10 "$SERVER" --redis "redis://:pw-one@127.0.0.1:1,redis://:pw-two@127.0.0.1:1/4"
	assert_failure 2
	assert_output --partial "name the same server"
	refute_output --partial "pw-"
	run timeout 10 "$SERVER" --redis "redis://127.0.0.1:1,redis://:pw-two@127.0.0.1:99999"
	assert_failure 2
	assert_output --partial "Redis URL 2 of 2: "
	refute_output --partial "pw-"
	run timeout 10 "$SERVER" --redis "redis://127.0.0.1:1,ftp://x"
	assert_failure 2
	local list="" i
	for i in $(seq 1 17); do list+="${list:+,}redis://127.0.0.1:$i"; done
	run timeout 10 "$SERVER" --redis "$list"
	assert_failure 2
	assert_output --partial "17 Redis URLs: at most 16 shards"
	run timeout 10 "$SERVER" --redis "$(head -c 70000 /dev/zero | tr '\0' ',')"
	assert_failure 2
	# TLS flags need a rediss:// URL somewhere in the list
	run timeout 10 "$SERVER" --redis "redis://127.0.0.1:1,redis://127.0.0.1:2" \
		--redis-ca /dev/null
	assert_failure 2
	assert_output --partial "only a rediss://"
	local conf="$BATS_TEST_TMPDIR/shards.conf"
	printf '[cluster]\nredis = redis://:pw-one@127.0.0.1:1/2,unix://:pw%%2Ctwo@/tmp/r.sock?db=3\n' \
		>"$conf"
	run timeout 10 "$SERVER" --check-config --config "$conf"
	assert_success
	refute_output --partial "pw-one"
	refute_output --partial "two@"
	assert_line --regexp '^redis = redis://:\*\*\*\*@127\.0\.0\.1:1/2,unix://:\*\*\*\*@/tmp/r\.sock\?db=3 +; '
}

@test "progress sessions go by their id's shard: a report on A shows in a tick on B for sessions on each shard" {
	start_shards
	start_node A --redis "$SHARDS"
	start_node B --redis "$SHARDS"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	local k sess port oport out i
	for k in 0 1; do
		sess=$(party_on "$k" prog)
		port=$([ "$k" = 0 ] && echo "$R0_PORT" || echo "$R1_PORT")
		oport=$([ "$k" = 0 ] && echo "$R1_PORT" || echo "$R0_PORT")
		out="$BATS_TEST_TMPDIR/watch-$k.out"
		py "$PYHELP/progress_cluster.py" watch "$B_URL" "$sess" 42 20 >"$out" 2>&1 3>&- &
		local wpid=$!
		for i in $(seq 1 100); do
			grep -q watching "$out" && break
			sleep 0.1
		done
		# B subscribed the session's channel on its shard only
		for i in $(seq 1 50); do
			[ "$(rcli "$port" PUBSUB NUMSUB "revenge:progress:$sess" | sed -n 2p)" = 1 ] && break
			sleep 0.1
		done
		[ "$(rcli "$port" PUBSUB NUMSUB "revenge:progress:$sess" | sed -n 2p)" = 1 ]
		[ "$(rcli "$oport" PUBSUB NUMSUB "revenge:progress:$sess" | sed -n 2p)" = 0 ]
		run py "$PYHELP/progress_cluster.py" local "$A_URL" "$sess" 42
		assert_success
		wait "$wpid" || { cat "$out"; false; }
		grep -q "seen 42" "$out"
	done
	[ "$(metric A 'revenge_redis_shard_published_total{shard="0"}')" -ge 1 ]
	[ "$(metric A 'revenge_redis_shard_published_total{shard="1"}')" -ge 1 ]
	stop_node A
	stop_node B
}

# bats test_tags=timed
@test "a node that loses one shard loses its members of that shard's parties on the other nodes (its lease there ran out), and only those" {
	start_shards
	# A reaches shard 1 through a proxy the test then stops
	start_listener delay_proxy.py 0 "$R1_PORT"
	start_node A --redis "redis://127.0.0.1:$R0_PORT,redis://127.0.0.1:$LISTENER_PORT"
	start_node B --redis "$SHARDS"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	P_KEEP=$(party_on 0 lk) P_LOST=$(party_on 1 ll) marked_start shard_lease x
	[ -e "$MARK" ] || { marked_end shard_lease; false; }
	stop_listener
	until_healthz A '"redis_down":\[1\]' 10
	marked_end shard_lease
	grep -q 'node_lost.*shard 1' "$B_LOG"
	! grep -q 'node_lost.*shard 0' "$B_LOG"
	stop_node A
	stop_node B
}
