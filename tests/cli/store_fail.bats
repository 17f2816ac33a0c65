#!/usr/bin/env bats
# The store failing under a running server, with a real SQLite file: a full
# disk (a small tmpfs in a private mount namespace, or a file-size limit
# where namespaces are not allowed) and a file made read-only. Reports are
# refused with store_unavailable and never acked, the connection stays open,
# parties keep working, /healthz and /metrics say so, and the next report
# after the cause is gone is acked. Also: a read-only store at start is a
# clear error and exit 1.
load helpers

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill -TERM "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	[ -n "${CHATTRED:-}" ] && chattr -i "$CHATTRED" 2>/dev/null || true
}

# start_wrapped WRAPPER... -- SERVER_FLAGS...: start_server, but the server
# runs under WRAPPER (which must exec it, keeping the pid).
start_wrapped() {
	local wrap=()
	while [ "$1" != -- ]; do wrap+=("$1"); shift; done
	shift
	start_raw "${wrap[@]}" "$SERVER" --listen 127.0.0.1:0 "$@"
}

# Can this machine give the server a small private tmpfs?
tmpfs_ok() {
	local m="$BATS_TEST_TMPDIR/probe"
	mkdir -p "$m"
	timeout 5 unshare -m --propagation private sh -c \
		'mount -t tmpfs -o size=64k tmpfs "$1"' _ "$m" 2>/dev/null
}

# expect_health STORE: /healthz is 200, status ok, store STORE.
expect_health() {
	run http_get /healthz
	assert_line --index 0 200
	echo "${lines[1]}" | "$PY" -c 'import json,sys; d=json.load(sys.stdin)
assert d["status"]=="ok" and d["store"]==sys.argv[1], d' "$1"
}

metrics() {
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" "$@"
	assert_success
}

# The whole story once the store fails; DBQ is the sqlite3 command that
# reads the server's file, FREE... the command that ends the failure. Reports refused on
# a connection that stays open, nothing of them in the file, the party
# still works, health and metrics say failing; then FREE, and the same
# connection's next report is acked and reads back.
refused_then_recovered() {
	local go="$BATS_TEST_TMPDIR/go" out="$BATS_TEST_TMPDIR/client.out" client
	timeout 40 env PYTHONPATH="$PYHELP" "$PY" "$PYHELP/store_check.py" "$URL" \
		refuse_then_ack s-full 3 "$go" >"$out" 2>&1 &
	client=$!
	wait_for "$out" "refused 3" 10
	wait_for "$SERVER_LOG" "store_failing" 5
	run "${DBQ[@]}" "SELECT count(*) FROM progress WHERE session_id='s-full'"
	assert_output 0
	run py "$PYHELP/store_check.py" "$URL" party p-full
	assert_success
	assert_output "party ok"
	expect_health failing
	metrics 'revenge_progress_refused_total=3' 'revenge_store_up=0' \
		'revenge_store_errors_total{op="write_progress"}>=1' \
		'revenge_errors_total{code="store_unavailable"}=3' \
		'revenge_progress_stored_total=0' 'revenge_closes_total{code="1011"}=0'
	"$@"
	touch "$go"
	wait "$client" || { cat "$out" >&2; return 1; }
	run cat "$out"
	assert_line acked
	wait_for "$SERVER_LOG" "store_recovered" 5
	expect_health ok
	metrics 'revenge_progress_refused_total=3' 'revenge_store_up=1' \
		'revenge_progress_stored_total=1'
	run "${DBQ[@]}" "SELECT position FROM progress WHERE session_id='s-full'"
	assert_output "42.5"
	# one line as it started failing, one as it recovered
	run grep -c "store_failing" "$SERVER_LOG"
	assert_output 1
}

@test "full disk (private tmpfs): refused, never acked, parties work, recovers when space returns" {
	tmpfs_ok || skip "unshare -m or mount -t tmpfs is not permitted here (the prlimit test covers a full store)"
	local mnt="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$mnt"
	start_wrapped unshare -m --propagation private sh -c \
		'mount -t tmpfs -o size=1m tmpfs "$0" && exec "$@"' "$mnt" -- --db "$mnt/r.db"
	# the tmpfs is only in the server's namespace: reach it through its root
	FS="/proc/$SERVER_PID/root$mnt"
	[ -f "$FS/r.db" ]
	# sqlite3 resolves /proc/PID/root to /: read from inside the namespace
	DBQ=(nsenter -t "$SERVER_PID" -m sqlite3 "$mnt/r.db")
	dd if=/dev/zero of="$FS/fill" bs=4k 2>/dev/null || true
	refused_then_recovered rm -f "$FS/fill"
	stop_server
}

@test "file-size limit (prlimit --fsize): refused, never acked, recovers when the limit is raised" {
	DB="$BATS_TEST_TMPDIR/r.db"
	DBQ=(sqlite3 "$DB")
	start_wrapped -- --db "$DB"
	# SIGXFSZ is ignored by the server, so reaching the limit is EFBIG
	local size
	size=$(stat -c %s "$DB-wal")
	# the soft limit only: raising it back needs no privilege
	prlimit --pid "$SERVER_PID" --fsize=$(( size > 4096 ? size : 4096 )):
	refused_then_recovered prlimit --pid "$SERVER_PID" --fsize=unlimited:
	kill -0 "$SERVER_PID"
	stop_server
}

@test "-wal made immutable while running (chattr +i): refused, then recovered" {
	[ "$(id -u)" = 0 ] || skip "needs root for chattr +i"
	DB="$BATS_TEST_TMPDIR/r.db"
	DBQ=(sqlite3 "$DB")
	start_wrapped -- --db "$DB"
	chattr +i "$DB-wal" 2>/dev/null || skip "chattr +i not supported on this file system (overlayfs?)"
	CHATTRED="$DB-wal"
	refused_then_recovered chattr -i "$DB-wal"
	CHATTRED=
	stop_server
}

@test "a read-only store at start is a clear error and exit 1" {
	local db="$BATS_TEST_TMPDIR/ro.db"
	start_server --db "$db"
	stop_server
	if [ "$(id -u)" = 0 ]; then
		# file modes do not stop root; the immutable flag does
		chattr +i "$db" 2>/dev/null || skip "chattr +i not supported on this file system (overlayfs?)"
		CHATTRED="$db"
	else
		chmod 0444 "$db"
	fi
	run -1 timeout 10 "$SERVER" --listen 127.0.0.1:0 --db "$db"
	assert_output --partial "cannot open store '$db': permission denied (read-only file)"
	refute_output --partial "listening"
}

@test "a store on a read-only file system at start is a clear error and exit 1" {
	tmpfs_ok || skip "unshare -m or mount -t tmpfs is not permitted here"
	local mnt="$BATS_TEST_TMPDIR/mnt"
	mkdir -p "$mnt"
	run -1 timeout 20 unshare -m --propagation private sh -c '
		mount -t tmpfs -o size=1m tmpfs "$1" || exit 3
		"$2" --listen 127.0.0.1:0 --db "$1/r.db" >/dev/null 2>&1 &
		pid=$!
		i=0; while [ ! -f "$1/r.db-wal" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
		kill -TERM $pid; wait $pid
		mount -o remount,ro "$1" || exit 3
		exec "$2" --listen 127.0.0.1:0 --db "$1/r.db"' _ "$mnt" "$SERVER"
	assert_output --partial "r.db': read-only file system"
	refute_output --partial "listening"
}
