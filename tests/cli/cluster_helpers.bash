# tests/cli/cluster_helpers.bash - what the cluster files (cluster.bats,
# cluster_tls.bats, cluster_bench.bats, cluster_progress.bats,
# cluster_quality.bats) share: a redis-server of the
# test's own (loopback, a free port, no persistence), started per test,
# nodes A and B, their /healthz and /metrics, the cluster_check.py
# scenarios, setup and teardown. Load after helpers.

REDIS_SERVER=$(command -v redis-server || true)

# start_redis [FLAGS...]: redis-server on a free loopback port (and a unix
# socket in the test's directory); sets REDIS_PID, REDIS_PORT, REDIS_SOCK.
# REDIS_NAME (default redis) names its socket and log, for a second one.
start_redis() {
	local i name=${REDIS_NAME:-redis}
	REDIS_SOCK="$BATS_TEST_TMPDIR/$name.sock"
	: "${REDIS_PORT:=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')}"
	"$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --unixsocket "$REDIS_SOCK" \
		--save '' --appendonly no --dir "$BATS_TEST_TMPDIR" "$@" \
		>>"$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
	REDIS_PID=$!
	for i in $(seq 1 100); do
		[ -S "$REDIS_SOCK" ] && return 0
		kill -0 "$REDIS_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$BATS_TEST_TMPDIR/$name.log" >&2
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

# until_subscribed CHANNEL N: until N nodes subscribe to CHANNEL (up to
# 10 s).
until_subscribed() {
	local i
	for i in $(seq 1 200); do
		[ "$(redis-cli -p "$REDIS_PORT" pubsub numsub "$1" | sed -n 2p)" = "$2" ] && return 0
		sleep 0.05
	done
	echo "$1: never $2 subscriber(s)" >&2
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
	[ -z "${LISTENER_PID:-}" ] || stop_listener
	[ -z "${CLIENT_PID:-}" ] || kill "$CLIENT_PID" 2>/dev/null || true
	stop_redis
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

# start_listener SCRIPT ARGS...: a helper of tests/helpers that prints
# "listening PORT" once it accepts (bad_redis.py, delay_proxy.py), in the
# background: its pid and port in LISTENER_PID and LISTENER_PORT.
start_listener() {
	local out="$BATS_TEST_TMPDIR/listener.out" i
	"$PY" "$PYHELP/$1" "${@:2}" >"$out" 2>&1 3>&- &
	LISTENER_PID=$!
	for i in $(seq 1 100); do
		grep -q listening "$out" && break
		sleep 0.05
	done
	LISTENER_PORT=$(sed -n 's/^listening //p' "$out")
	[ -n "$LISTENER_PORT" ]
}

stop_listener() {
	kill "$LISTENER_PID" 2>/dev/null || true
	wait "$LISTENER_PID" 2>/dev/null || true
	LISTENER_PID=
}
