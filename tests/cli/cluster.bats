#!/usr/bin/env bats
# Cluster mode (--redis): nodes share parties through a redis-server of the
# test's own (loopback, a free port, no persistence), started per test.
load helpers

REDIS_SERVER=$(command -v redis-server || true)

# start_redis [FLAGS...]: redis-server on a free loopback port (and a unix
# socket in the test's directory); sets REDIS_PID, REDIS_PORT, REDIS_SOCK.
start_redis() {
	local i
	REDIS_SOCK="$BATS_TEST_TMPDIR/redis.sock"
	: "${REDIS_PORT:=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
	"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$REDIS_SOCK" \
		--save '' --appendonly no --dir "$BATS_TEST_TMPDIR" "$@" \
		>>"$BATS_TEST_TMPDIR/redis.log" 2>&1 3>&- &
	REDIS_PID=$!
	for i in $(seq 1 100); do
		[ -S "$REDIS_SOCK" ] && return 0
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$BATS_TEST_TMPDIR/redis.log" >&2
	return 1
}

stop_redis() {
	[ -n "${REDIS_PID:-}" ] || return 0
	kill -KILL "$REDIS_PID" 2>/dev/null || true
	wait "$REDIS_PID" 2>/dev/null || true
	REDIS_PID=
}

# make_certs: in $BATS_TEST_TMPDIR/tls, a CA (ca.crt) and three certificates
# it signs: srv.crt for 127.0.0.1, other.crt for redis.invalid only,
# client.crt for a node; and stranger.crt, a CA that signed none. P-256
# keys: quick to make.
make_certs() {
	local d="$BATS_TEST_TMPDIR/tls" n san
	local ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
	mkdir -p "$d"
	openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.crt" -days 2 \
		-subj /CN=revenge-test-ca 2>/dev/null
	openssl req -x509 "${ec[@]}" -keyout "$d/stranger.key" -out "$d/stranger.crt" \
		-days 2 -subj /CN=revenge-test-stranger 2>/dev/null
	for n in srv:IP:127.0.0.1 other:DNS:redis.invalid client:DNS:revenge-node; do
		san=${n#*:}
		n=${n%%:*}
		printf 'subjectAltName=%s\n' "$san" >"$d/$n.ext"
		openssl req "${ec[@]}" -keyout "$d/$n.key" -out "$d/$n.csr" -subj /CN=redis 2>/dev/null
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" \
			-CAcreateserial -out "$d/$n.crt" -days 2 -extfile "$d/$n.ext" 2>/dev/null
	done
	[ -s "$d/srv.crt" ] && [ -s "$d/other.crt" ] && [ -s "$d/client.crt" ] &&
		[ -s "$d/stranger.crt" ]
}

# start_tls_redis NAME [FLAGS...]: start_redis speaking TLS only on
# REDIS_PORT, with certificate NAME (make_certs); no client certificates.
start_tls_redis() {
	local d="$BATS_TEST_TMPDIR/tls" n=$1
	shift
	: "${REDIS_PORT:=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
	start_redis --port 0 --tls-port "$REDIS_PORT" --tls-cert-file "$d/$n.crt" \
		--tls-key-file "$d/$n.key" --tls-ca-cert-file "$d/ca.crt" --tls-auth-clients no "$@"
}

# start_node NAME FLAGS...: a revenge-server whose URL, HTTP port and pid
# land in NAME_URL, NAME_PORT and NAME_PID.
start_node() {
	local name=$1
	shift
	SERVER_NAME=$name start_server "$@"
	printf -v "${name}_URL" %s "$URL"
	printf -v "${name}_PORT" %s "$PORT"
	printf -v "${name}_PID" %s "$SERVER_PID"
	printf -v "${name}_LOG" %s "$SERVER_LOG"
}

stop_node() {
	local pid="${1}_PID"
	SERVER_PID=${!pid} stop_server
}

# healthz NAME: /healthz of node NAME, body only.
healthz() {
	local port="${1}_PORT"
	PORT=${!port} http_get /healthz | sed -n 2p
}

# metric NAME SERIES: the value of SERIES on node NAME's /metrics.
metric() {
	local port="${1}_PORT"
	PORT=${!port} http_get /metrics | sed -n "s/^$2 //p"
}

# until_healthz NAME PATTERN SECONDS: until /healthz of NAME matches.
until_healthz() {
	local i
	for i in $(seq 1 $(( $3 * 10 ))); do
		healthz "$1" | grep -q -- "$2" && return 0
		sleep 0.1
	done
	echo "node $1: /healthz never matched $2: $(healthz "$1")" >&2
	return 1
}

cluster() {
	py "$PYHELP/cluster_check.py" "$@"
}

# marked_start SCENARIO PARTY: cluster_check.py SCENARIO on A and B in the
# background, with MARK set; returns once it created MARK (or ended).
marked_start() {
	local i
	MARK="$BATS_TEST_TMPDIR/mark-$1"
	MARK="$MARK" py "$PYHELP/cluster_check.py" "$1" "$A_URL" "$B_URL" "$2" \
		>"$BATS_TEST_TMPDIR/$1.out" 2>&1 3>&- &
	CHECK_PID=$!
	for i in $(seq 1 300); do
		[ -e "$MARK" ] && return 0
		kill -0 "$CHECK_PID" 2>/dev/null || return 0
		sleep 0.1
	done
}

# marked_end SCENARIO: waits for it and shows its output; it must have
# succeeded and said "ok SCENARIO".
marked_end() {
	local rc=0
	wait "$CHECK_PID" || rc=$?
	cat "$BATS_TEST_TMPDIR/$1.out"
	[ "$rc" = 0 ]
	grep "ok $1" "$BATS_TEST_TMPDIR/$1.out" | sed "s/^/# /" >&3
}

setup() {
	[ -n "$REDIS_SERVER" ] || skip "redis-server is not installed (scripts/deps.sh installs it)"
	REDIS_PORT=
}

teardown() {
	stop_node A 2>/dev/null || true
	stop_node B 2>/dev/null || true
	stop_redis
}

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
	# buffering, not Redis's (deployment.md: a larger burst over TLS can
	# still make Redis close the subscribers)
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

@test "rediss:// Redis paused under a burst: megabytes wait in the node's buffer, then cross whole and in order" {
	make_certs
	# the pubsub output limit raised, so that the test is about our
	# buffering, not Redis's (deployment.md: a larger burst over TLS can
	# still make Redis close the subscribers)
	start_tls_redis srv --client-output-buffer-limit "pubsub 256mb 128mb 60"
	local ca="$BATS_TEST_TMPDIR/tls/ca.crt" open=(--rate-limit 0 --party-chat-rate 0 --frame-rate 0)
	start_node A --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca" "${open[@]}"
	start_node B --redis "rediss://127.0.0.1:$REDIS_PORT" --redis-ca "$ca" "${open[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	local mark="$BATS_TEST_TMPDIR/pause" i
	# 2000 chats of 2 KB: more than loopback buffers hold, so A's TLS
	# writes stop short (WANT_WRITE) and resume
	MARK="$mark" BULK_N=2000 py "$PYHELP/cluster_check.py" bulk "$A_URL" "$B_URL" t6 \
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
	sleep 0.5
	kill -CONT "$REDIS_PID"
	local rc=0
	wait "$check" || rc=$?
	cat "$BATS_TEST_TMPDIR/bulk.out"
	[ "$rc" = 0 ]
	grep -q "ok bulk" "$BATS_TEST_TMPDIR/bulk.out"
	[ "$(metric A revenge_redis_dropped_total)" = 0 ]
	[ "$(metric B revenge_redis_received_total)" -ge 2000 ]
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
	local mode want down out pid port i
	while IFS='|' read -r mode down want; do
		out="$BATS_TEST_TMPDIR/bad-$mode.out"
		"$PY" "$PYHELP/bad_redis.py" "$mode" >"$out" 2>&1 3>&- &
		pid=$!
		for i in $(seq 1 100); do
			grep -q listening "$out" && break
			sleep 0.05
		done
		port=$(sed -n 's/^listening //p' "$out")
		[ -n "$port" ]
		start_node A --redis "redis://127.0.0.1:$port"
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
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done <<-EOF
		junk|flaps|redis_lost.*protocol error from Redis: Protocol error, got "!"
		extra|down|redis_lost.*protocol error from Redis: a reply to no command
		truncated|down|redis_connect_failed.*closed by Redis
		deep|down|redis_connect_failed.*protocol error from Redis: No support for nested
		silent|down|
	EOF
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

# open_nodes: redis and nodes A and B with the per-client limits off (the
# bench's members all come from one address at once), Redis up on both.
OPEN_LIMITS=(--rate-limit 0 --frame-rate 0 --party-chat-rate 0 --max-conns-per-ip 0
	--handshake-rate-per-ip 0 --party-join-rate 0)
open_nodes() {
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" "${OPEN_LIMITS[@]}"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" "${OPEN_LIMITS[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
}

@test "revenge-bench fanout spread over two nodes: members on B get every sync of the hosts on A" {
	open_nodes
	# members 1, 3, 5, ... of each party on B, the hosts and the rest on A
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		--server-pid "$A_PID" --redis-pid "$REDIS_PID" \
		fanout --parties 2 --members 20 --rate 5 --duration 3s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["urls"] == sys.argv[1:], r
assert r["connected"] == 40 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert r["sent"] >= 10 and r["expected"] == r["sent"] * 19, r
assert r["received"] == r["expected"] and r["loss_pct"] == 0 and r["errors"] == 0, r
# each node: its CPU (A from /proc, B from its /metrics) and its deliveries,
# 10 members on A (the hosts do not count theirs) and 10 on B
n = r["nodes"]
assert [x["url"] for x in n] == sys.argv[1:], n
assert n[0]["received"] + n[1]["received"] == r["received"], n
assert n[0]["received"] == r["sent"] * 9 and n[1]["received"] == r["sent"] * 10, n
assert all(x["cpu_s"] is not None and x["cpu_s"] >= 0 for x in n), n
assert abs(r["server_cpu_s"] - n[0]["cpu_s"] - n[1]["cpu_s"]) < 0.002, r
# one PUBLISH per party message, whatever the members; Redis CPU measured
assert r["redis_publish_per_message"] == 1, r
assert r["redis_cpu_s"] is not None and r["redis_us_per_message"] is not None, r
' "$A_URL" "$B_URL"
	# the syncs crossed through Redis: B holds 20 members and received them
	[ "$(metric B revenge_redis_received_total)" -ge 10 ]
	run "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" fanout \
		--parties 1 --members 4 --rate 5 --duration 500ms
	assert_success
	assert_output --partial "server        $A_URL, $B_URL (hosts on the first, members round-robin)"
	assert_output --regexp "  node 1 +[0-9.]+ s, [0-9]+ delivered here"
	assert_output --regexp "  node 2 +[0-9.]+ s, [0-9]+ delivered here"
	stop_node A
	stop_node B
}

@test "revenge-bench sync over two nodes: members on both, spread per node and across within bounds" {
	open_nodes
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		sync --members 6 --duration 3s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["urls"] == sys.argv[1:] and r["connected"] == 6 and r["failed"] == 0, r
n = r["nodes"]
assert [x["url"] for x in n] == sys.argv[1:] and [x["members"] for x in n] == [3, 3], n
assert r["commands"] >= 1 and r["steady_samples"] > 50, r
# loopback, no simulated delay: a few ms is already a lot
assert r["spread_ms"]["p99"] < 20 and r["cross_node_spread_ms"]["p99"] < 20, r
assert r["cross_node_spread_ms"]["max"] <= r["spread_ms"]["max"] + 1e-9, r
for x in n:
    assert x["spread_ms"]["p99"] is not None and x["spread_ms"]["p99"] < 20, x
# the two nodes stamp with clocks of one machine
assert abs(n[1]["server_clock_vs_first_ms"]) < 5 and n[0]["server_clock_vs_first_ms"] == 0, n
assert r["rejoin"] is None, r
# the host on A stayed the host: every command relayed
assert r["errors"] == 0 and r["host_changes"] == 0 and r["error_code"] is None, r
assert r["lead_ms"]["count"] == r["commands"], r
' "$A_URL" "$B_URL"
	# the host is on A: its commands reached B through Redis
	[ "$(metric B revenge_redis_received_total)" -ge 1 ]
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		sync --members 4 --duration 2500ms --delay 20 --jitter 5
	assert_success
	assert_line --partial "server        $A_URL, $B_URL (hosts on the first, members round-robin)"
	assert_line --regexp '^across nodes +p50 '
	assert_line --partial "node 2        $B_URL: 2 members"
	stop_node A
	stop_node B
}

@test "revenge-bench sync --rejoin: node B killed and started again, its members come back in sync" {
	open_nodes
	local out="$BATS_TEST_TMPDIR/rejoin.json" i
	timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		sync --members 6 --duration 7s --rejoin --json >"$out" 3>&- &
	local bench=$!
	# B's three members in, then into the window (2 s of warming up)
	for i in $(seq 1 100); do
		[ "$(metric B 'revenge_connections{endpoint="party"}')" = 3 ] && break
		sleep 0.1
	done
	sleep 2.5
	kill -KILL "$B_PID"
	wait "$B_PID" 2>/dev/null || true
	sleep 0.5
	# on its port again (the last --listen counts)
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" --listen "127.0.0.1:$B_PORT" \
		"${OPEN_LIMITS[@]}"
	local rc=0
	wait "$bench" || rc=$?
	cat "$out"
	[ "$rc" = 0 ]
	"$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
j = r["rejoin"]
assert r["connected"] == 6 and r["failed"] == 0 and r["closed_by_server"] == 0, r
assert j["drops"] == 3 and j["rejoined"] == 3 and j["back"] == 3 and j["not_back"] == 0, j
# B was away for half a second at least, and came back within seconds
assert 400 <= j["welcome_ms"]["p50"] <= j["back_ms"]["p50"], j
assert j["back_ms"]["max"] < 5000, j
assert j["spread_after_ms"]["max"] is not None and j["spread_after_ms"]["max"] < 100, j
' "$out"
	sed -n 's/.*"rejoin":\({[^}]*}[^}]*}[^}]*}[^}]*}\).*/# rejoin \1/p' "$out" >&3
	stop_node A
	stop_node B
}

@test "the first joiner on a node with a slow Redis link stays host: a member joining another node after her welcome does not take the role" {
	local out="$BATS_TEST_TMPDIR/proxy.out" pid port i
	start_redis
	# node A reaches Redis through a link 250 ms slow each way: its join
	# step lands in Redis long after a join on B made later
	"$PY" "$PYHELP/delay_proxy.py" 250 "$REDIS_PORT" >"$out" 2>&1 3>&- &
	pid=$!
	for i in $(seq 1 100); do
		grep -q listening "$out" && break
		sleep 0.05
	done
	port=$(sed -n 's/^listening //p' "$out")
	[ -n "$port" ]
	start_node A --redis "redis://127.0.0.1:$port"
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
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

@test "revenge-bench fill over two nodes: every member of both welcomed, the storm sync and the quiet one reach both" {
	open_nodes
	run timeout 60 "$REVENGE_BUILD/bin/revenge-bench" --url "$A_URL" --url "$B_URL" \
		fill --parties 2 --members 80 --connect-rate 100000 --duration 1s --json
	assert_success
	echo "$output" | "$PY" -c '
import json, sys
r = json.load(sys.stdin)
assert r["welcomed"] == 160 and r["rosters_whole"] == 160, r
n = r["nodes"]
assert [x["members"] for x in n] == [80, 80] and [x["welcomed"] for x in n] == [80, 80], n
for x in n:
    assert x["rosters_whole"] == 80 and x["roster_s"] >= x["fill_s"] > 0, x
    for k in ("storm_sync", "sync"):
        s = x[k]
        # A holds the hosts: 39 others each; B 40 each
        assert s["expected"] == s["received"] == (78 if x is n[0] else 80), (k, x)
        assert 0 < s["latency_ms"]["p50"] <= s["latency_ms"]["max"], (k, x)
assert r["storm_sync"]["received"] == 158 and r["sync_received"] == 158, r
# the hosts stayed hosts through the storm
assert r["errors"] == 0 and r["host_changes"] == 0, r
' "$A_URL" "$B_URL"
	stop_node A
	stop_node B
}
