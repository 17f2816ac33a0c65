# tests/cli/helpers.bash - shared set-up for the bats tests: start a real
# revenge-server on a free loopback port, drive it with real clients.
bats_require_minimum_version 1.5.0
load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

: "${REVENGE_BUILD:=$BATS_TEST_DIRNAME/../../build}"
SERVER="$REVENGE_BUILD/bin/revenge-server"
RVCAT="$REVENGE_BUILD/tests/rvcat"
# Debian's python3 carries python3-websockets; a pyenv one on PATH may not.
PY=/usr/bin/python3
PYHELP="$BATS_TEST_DIRNAME/../helpers"

# REVENGE_TEST_STORE=postgres runs the servers of start_server on a
# PostgreSQL store instead of SQLite: a database of the server started by
# `tests/helpers/pg.sh run` (REVENGE_TEST_PG_DIR), one per test and server
# name, so a restarted server finds its data and no test sees another's.
PGSH="$BATS_TEST_DIRNAME/../helpers/pg.sh"

# pg_test_db KEY: create the database for KEY if need be; print its URL.
pg_test_db() {
	[ -n "${REVENGE_TEST_PG_DIR:-}" ] || {
		echo "REVENGE_TEST_STORE=postgres needs REVENGE_TEST_PG_DIR: run under tests/helpers/pg.sh run --" >&2
		return 1
	}
	local name
	name=t_$(printf '%s' "$1" | md5sum | cut -c1-20)
	"$PGSH" createdb "$REVENGE_TEST_PG_DIR" "$name" >/dev/null || return 1
	"$PGSH" url "$REVENGE_TEST_PG_DIR" "$name"
}

# private_pg_start (in setup_file): a PostgreSQL of the file's own
# (tests/helpers/pg.sh, as nobody under root), in PGDIR; skips the file
# when PostgreSQL is not installed. private_pg_stop (teardown_file) stops
# and removes it; private_pg_db (setup) makes the test's database, its URL
# in DBURL.
private_pg_start() {
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 ||
		skip "PostgreSQL is not installed (scripts/deps.sh installs it)"
	PGDIR=$(mktemp -d /tmp/revenge-pgtest.XXXXXX)
	chmod 755 "$PGDIR"
	"$PGSH" start "$PGDIR" >/dev/null
	export PGDIR
}

private_pg_stop() {
	[ -n "${PGDIR:-}" ] || return 0
	"$PGSH" stop "$PGDIR"
	rm -rf "$PGDIR"
}

private_pg_db() {
	DB=t_$(basename "$BATS_TEST_TMPDIR" | tr -c 'a-zA-Z0-9\n' _)
	"$PGSH" createdb "$PGDIR" "$DB"
	DBURL=$("$PGSH" url "$PGDIR" "$DB")
}

# sqlite_only: skip a test about the SQLite file itself in a PostgreSQL run.
sqlite_only() {
	if [ "${REVENGE_TEST_STORE:-sqlite}" = postgres ]; then
		skip "about the SQLite store"
	fi
}

# start_server [FLAGS...]: runs revenge-server on 127.0.0.1:0 with a store
# in the test's temp dir (the file's, from setup_file); sets SERVER_PID,
# PORT, URL, HTTP, SERVER_LOG. SERVER_NAME (default "server") names its
# files, so that one test can run several (cluster.bats); SERVER_DB (a
# path) gives several the same store (one database under postgres).
start_server() {
	# in setup_file there is no test's directory yet: the file's then
	local dir="${BATS_TEST_TMPDIR:-$BATS_FILE_TMPDIR}" name="${SERVER_NAME:-server}"
	local out="$dir/$name.out" i
	SERVER_LOG="$dir/$name.log"
	local db="${SERVER_DB:-$dir/${SERVER_NAME:+$SERVER_NAME.}revenge.db}"
	if [ "${REVENGE_TEST_STORE:-sqlite}" = postgres ]; then
		db=$(pg_test_db "$db") || return 1
	fi
	# new files, not the old ones truncated: an earlier server of this
	# name may still be running and would write on into them, and the
	# child truncates only after this shell may have read its old
	# "listening on"
	rm -f "$out" "$SERVER_LOG"
	"$SERVER" --listen 127.0.0.1:0 --db "$db" "$@" \
		>"$out" 2>"$SERVER_LOG" 3>&- &
	SERVER_PID=$!
	# up to 15 s: an ASan server beside three other files on two busy
	# cores has taken over 5 s to say it listens
	local deadline=$((SECONDS + 15))
	for i in $(seq 1 1000); do
		if grep -q 'listening on' "$out" 2>/dev/null; then break; fi
		[ "$SECONDS" -lt "$deadline" ] || break
		if ! kill -0 "$SERVER_PID" 2>/dev/null; then
			cat "$SERVER_LOG" >&2
			return 1
		fi
		sleep 0.05
	done
	URL=$(sed -n 's/^revenge-server: listening on //p' "$out")
	[ -n "$URL" ] || {
		# not left running: a caller such as start_node never gets its pid
		kill -KILL "$SERVER_PID" 2>/dev/null || true
		echo "server did not start" >&2
		cat "$SERVER_LOG" >&2
		return 1
	}
	PORT=${URL##*:}
	HTTP="http://127.0.0.1:$PORT"
	export URL PORT HTTP SERVER_PID
}

# start_raw COMMAND...: start a revenge-server command line as given (no
# flags added: the caller passes --listen and the rest) and wait until it
# listens; sets SERVER_PID, PORT, URL, HTTP, SERVER_LOG as start_server does.
start_raw() {
	local out="$BATS_TEST_TMPDIR/server.out" i
	SERVER_LOG="$BATS_TEST_TMPDIR/server.log"
	rm -f "$out" "$SERVER_LOG"   # as start_server: new files
	"$@" >"$out" 2>"$SERVER_LOG" 3>&- &
	SERVER_PID=$!
	for i in $(seq 1 100); do
		grep -q 'listening on' "$out" 2>/dev/null && break
		kill -0 "$SERVER_PID" 2>/dev/null || { cat "$SERVER_LOG" >&2; return 1; }
		sleep 0.05
	done
	URL=$(sed -n 's/^revenge-server: listening on //p' "$out")
	[ -n "$URL" ] || { cat "$SERVER_LOG" >&2; return 1; }
	PORT=${URL##*:}
	HTTP="http://127.0.0.1:$PORT"
	export URL PORT HTTP SERVER_PID
}

# stop_server: SIGTERM and wait; fails when the exit status is not 0.
stop_server() {
	[ -n "${SERVER_PID:-}" ] || return 0
	kill -TERM "$SERVER_PID" 2>/dev/null || true
	local rc=0
	wait "$SERVER_PID" || rc=$?
	SERVER_PID=
	return $rc
}

# rvcat ARGS...: the project's own client (lib/client.c).
rvcat() {
	"$RVCAT" "$@"
}

# py SCRIPT ARGS...: run an independent-client script from tests/helpers.
py() {
	PYTHONPATH="$PYHELP" "$PY" "$@"
}

# wait_for FILE PATTERN [SECONDS]: until a line of FILE matches PATTERN.
wait_for() {
	local i n=$(( ${3:-5} * 20 ))
	for i in $(seq 1 "$n"); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "timed out waiting for '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# http_get PATH: prints "STATUS\nBODY" using python's http.client.
http_get() {
	"$PY" - "$PORT" "$1" <<'PYEOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", sys.argv[2])
r = c.getresponse()
print(r.status)
print(r.read().decode())
PYEOF
}

# upgrade ORIGIN [PATH]: a WebSocket upgrade to the server on PORT (PATH
# default /ws/party/o1) with that Origin header over a raw socket (a
# browser's bytes, whatever the client library would allow); prints the
# status code.
upgrade() {
	timeout 10 "$PY" - "$PORT" "$1" "${2:-/ws/party/o1}" <<'PYEOF'
import base64, os, socket, sys
port, origin, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
           f"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
           f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
           f"Origin: {origin}\r\n\r\n").encode())
head = b""
while b"\r\n" not in head:
    d = s.recv(1024)
    if not d:
        break
    head += d
print(head.split(b" ")[1].decode() if head else "dropped")
PYEOF
}
