# tests/cli/cluster_helpers.bash - what the cluster test files share
# (cluster.bats, cluster_progress.bats): nodes by name, their /healthz and
# /metrics; the test's redis-server. Loaded after helpers.bash.

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
