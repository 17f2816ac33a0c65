#!/usr/bin/env bats
# Running as a systemd service: readiness over $NOTIFY_SOCKET (a python
# stand-in for systemd listens), SIGHUP re-reading the configuration file
# (what changes live, what needs a restart, a bad file keeps the running
# settings), the state directory as the default store, and the unit itself.
load helpers

ROOT="$BATS_TEST_DIRNAME/../.."

setup() {
	NOTIFY_OUT="$BATS_TEST_TMPDIR/notify.log"
	: >"$NOTIFY_OUT"
	# a unix socket path is at most 107 bytes: not under a deep temp dir
	NOTIFY_SOCK=$(mktemp -u /tmp/rv-notify.XXXXXX)
	"$PY" "$PYHELP/notify_listen.py" "$NOTIFY_SOCK" "$NOTIFY_OUT" >"$BATS_TEST_TMPDIR/nl.out" &
	NOTIFY_PID=$!
	wait_for "$BATS_TEST_TMPDIR/nl.out" ready
}

teardown() {
	stop_server || true
	kill "$NOTIFY_PID" 2>/dev/null || true
	wait "$NOTIFY_PID" 2>/dev/null || true
	rm -f "$NOTIFY_SOCK"
}

@test "READY=1 once listening; SIGHUP: RELOADING=1, the file's new origin, limit and log level live, READY=1; SIGTERM: STOPPING=1" {
	local conf="$BATS_TEST_TMPDIR/rv.conf"
	printf 'origin = a.example\nmax-parties = 10\nlog-level = info\n' >"$conf"
	NOTIFY_SOCKET="$NOTIFY_SOCK" start_server --config "$conf"
	wait_for "$NOTIFY_OUT" "^READY=1 STATUS=listening on $URL\$"
	run upgrade http://a.example
	assert_output 101
	run upgrade http://b.example
	assert_output 403

	printf 'origin = b.example\nmax-parties = 20\nlog-level = debug\nping-interval = 10\n' >"$conf"
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" "config_reloaded"
	wait_for "$NOTIFY_OUT" "^READY=1\$"
	run grep -c '^RELOADING=1 MONOTONIC_USEC=[0-9]*$' "$NOTIFY_OUT"
	assert_output 1
	run cat "$SERVER_LOG"
	assert_output --partial "config_changed max-parties: 10 -> 20 (now)"
	assert_output --partial "config_changed origin: 1 pattern(s) (now)"
	assert_output --partial "config_changed log-level: info -> debug (now)"
	assert_output --partial "config_restart_needed ping-interval: changed in the configuration; it takes effect at the next restart"
	run upgrade http://b.example
	assert_output 101
	run upgrade http://a.example
	assert_output 403
	# the --check-config of the same file says what the server now runs
	run "$SERVER" --config "$conf" --check-config
	assert_output --partial "max-parties = 20"

	stop_server
	run grep -c '^STOPPING=1$' "$NOTIFY_OUT"
	assert_output 1
}

@test "a SIGHUP with a broken or missing file keeps the running settings, names FILE:LINE, and the server goes on" {
	local conf="$BATS_TEST_TMPDIR/rv.conf"
	printf 'origin = a.example\n' >"$conf"
	NOTIFY_SOCKET="$NOTIFY_SOCK" start_server --config "$conf"
	printf 'origin = b.example\nmax-parties = lots\n' >"$conf"
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" "config_reload_failed"
	run cat "$SERVER_LOG"
	assert_output --partial "$conf:2: max-parties: "
	assert_output --partial "still running with the previous one"
	wait_for "$NOTIFY_OUT" "^READY=1\$"
	run upgrade http://a.example
	assert_output 101
	run upgrade http://b.example
	assert_output 403
	# a --config file gone: the same
	rm "$conf"
	kill -HUP "$SERVER_PID"
	wait_for "$SERVER_LOG" "config_reload_failed --config: cannot read '$conf': No such file or directory; still running with the previous configuration"
	run upgrade http://a.example
	assert_output 101
	stop_server
}

@test "without --db the store is \$STATE_DIRECTORY/revenge.db (systemd's StateDirectory), not ./var" {
	local state="$BATS_TEST_TMPDIR/state" work="$BATS_TEST_TMPDIR/work"
	mkdir -p "$state" "$work"
	cd "$work"
	STATE_DIRECTORY="$state" "$SERVER" --config /dev/null --check-config >"$BATS_TEST_TMPDIR/cc"
	run grep "^db = " "$BATS_TEST_TMPDIR/cc"
	assert_output --regexp "^db = $state/revenge.db +; default$"
	STATE_DIRECTORY="$state" start_raw "$SERVER" --config /dev/null --listen 127.0.0.1:0
	stop_server
	[ -s "$state/revenge.db" ]
	[ ! -e "$work/var" ]
}

@test "make install puts a unit that systemd-analyze verifies and the example configuration under DESTDIR" {
	local dest="$BATS_TEST_TMPDIR/dest" unit
	run make -s -C "$ROOT" install PREFIX=/usr DESTDIR="$dest"
	assert_success
	unit="$dest/usr/lib/systemd/system/revenge-server.service"
	run grep -E '^(ExecStart|Type|StateDirectory|DynamicUser|ProtectSystem|NoNewPrivileges|ExecReload)=' "$unit"
	assert_output "Type=notify
ExecStart=/usr/bin/revenge-server --log-format json
ExecReload=/bin/kill -HUP \$MAINPID
DynamicUser=yes
StateDirectory=revenge
NoNewPrivileges=yes
ProtectSystem=strict"
	cmp "$dest/etc/revenge/revenge-server.conf" "$ROOT/docs/examples/revenge-server.conf"
	# the example is a valid configuration as it is
	run "$SERVER" --config "$dest/etc/revenge/revenge-server.conf" --check-config
	assert_success
	# an operator's file is never overwritten, nor removed
	echo 'history = 7' >"$dest/etc/revenge/revenge-server.conf"
	run make -s -C "$ROOT" install PREFIX=/usr DESTDIR="$dest"
	assert_success
	run cat "$dest/etc/revenge/revenge-server.conf"
	assert_output 'history = 7'
	run make -s -C "$ROOT" uninstall PREFIX=/usr DESTDIR="$dest"
	[ ! -e "$unit" ]
	[ -e "$dest/etc/revenge/revenge-server.conf" ]
	if ! command -v systemd-analyze >/dev/null; then
		skip "systemd-analyze is not installed"
	fi
	# verify needs the ExecStart binary: this build's
	sed "s|@BINDIR@|$(cd "$REVENGE_BUILD" && pwd)/bin|" "$ROOT/dist/systemd/revenge-server.service.in" \
		>"$BATS_TEST_TMPDIR/revenge-server.service"
	run systemd-analyze verify --man=no "$BATS_TEST_TMPDIR/revenge-server.service"
	assert_success
	assert_output ''
}
