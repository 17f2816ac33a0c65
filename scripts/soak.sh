#!/usr/bin/env bash
# scripts/soak.sh - the hostile-input soak (make soak; 30 s of it in make test).
#
#   scripts/soak.sh [SECONDS] [BUILD_DIR]     default 600 s against build/asan
#
# Starts the sanitizer build of revenge-server on a free loopback port with a
# token secret and no handshake or join rate (the workers' hostile input
# must reach the parsers, not a 429; tests/cli/churn.bats tests the rates),
# runs tests/helpers/soak.py (hostile workers beside well-behaved clients)
# for SECONDS, then stops the server with SIGTERM. It
# passes when the clients lost nothing, the server's RSS stayed flat, it
# exited 0, and ASan, UBSan and LeakSanitizer said nothing. Prints
# "ok soak ..." or "not ok soak ..." and the soak's JSON summary.
set -u
cd "$(dirname "$0")/.."
seconds=${1:-600}
build=${2:-build/asan}
server="$build/bin/revenge-server"
case "$seconds" in ''|*[!0-9]*) echo "soak: SECONDS must be a whole number, not '$seconds'" >&2; exit 2 ;; esac
[ -x "$server" ] || { echo "soak: $server is not built (make BUILD=$build SAN=... all)" >&2; exit 2; }

dir=$(mktemp -d)
trap 'kill -KILL "${pid:-}" 2>/dev/null; rm -rf "$dir"' EXIT
head -c 48 /dev/urandom | base64 >"$dir/secret"
token() { "$server" token --auth-secret-file "$dir/secret" --ttl 1d "$@"; }
host=$(token --sub good-host --role host --party good) || exit 1
member=$(token --sub good-member --party good)
session=$(token --sub good-viewer --session 'good-*')
hostile=$(token --sub hostile --role host --party 'h*' --session 'h*')

# A small quarantine, so that RSS says what the server holds, not what ASan
# keeps back to catch use-after-free; leaks are checked at exit.
ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=16:exitcode=23 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$server" --listen 127.0.0.1:0 --db "$dir/soak.db" --auth-secret-file "$dir/secret" \
	--handshake-rate-per-ip 0 --party-join-rate 0 >"$dir/out" 2>"$dir/log" &
pid=$!
for _ in $(seq 1 200); do
	grep -q 'listening on' "$dir/out" 2>/dev/null && break
	kill -0 "$pid" 2>/dev/null || break
	sleep 0.05
done
port=$(sed -n 's/^revenge-server: listening on ws:\/\/127.0.0.1://p' "$dir/out")
[ -n "$port" ] || { echo "not ok soak: the server did not start"; cat "$dir/log"; exit 1; }

progress=
[ -t 2 ] && progress=--progress
PYTHONPATH=tests/helpers /usr/bin/python3 tests/helpers/soak.py $progress --port "$port" --pid "$pid" \
	--seconds "$seconds" --secret-file "$dir/secret" --good-host-token "$host" \
	--good-member-token "$member" --good-session-token "$session" --hostile-token "$hostile" \
	>"$dir/summary" 2>"$dir/soak.err" &
soak_pid=$!
# on a terminal, the soak's one-line progress shows as it goes
if [ -t 2 ]; then tail -f "$dir/soak.err" --pid "$soak_pid" >&2 & fi
soak_rc=0
wait "$soak_pid" || soak_rc=$?
kill -TERM "$pid" 2>/dev/null
server_rc=0
wait "$pid" || server_rc=$?
pid=

why=()
[ $soak_rc -eq 0 ] || why+=("the soak's checks failed (exit $soak_rc)")
[ $server_rc -eq 0 ] || why+=("the server exited $server_rc")
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$dir/log"; then
	why+=("the sanitizers reported")
fi
if [ ${#why[@]} -eq 0 ]; then
	echo "ok soak ${seconds}s: $(cat "$dir/summary")"
	exit 0
fi
echo "not ok soak ${seconds}s: ${why[*]}"
cat "$dir/summary" "$dir/soak.err" | tr "\r" "\n"
grep -B2 -A30 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$dir/log" | head -80
# what the server said last (an lws assertion, a crash, its last events)
echo "--- the server's last log lines ($server):"
tail -n 30 "$dir/log"
tail -n 10 "$dir/out"
exit 1
