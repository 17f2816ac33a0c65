#!/usr/bin/env bash
# scripts/measure-rx.sh [BUILD] - the read side's attack figures (issue 12,
# items 1 and 2) against BUILD's revenge-server (default build/): RSS
# before, while and after 250 clients hold a 60,000-byte fragment, how
# long they are held, and how long a slowloris socket and an unfinished
# message are held while another connection floods pings (never closed:
# --frame-rate 0), how long a party member marked for 1013 is held during
# that flood, and each flood's close. Loopback only, bounded: about
# 40 s. The attacks are tests/helpers/rx_attack.py's.
set -u
build=${1:-build}
server="$build/bin/revenge-server"
help="$(dirname "$0")/../tests/helpers"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# run FLAGS... -- ATTACK ARGS...: PORT and PID in ARGS are replaced
run() {
	local flags=() pid port a
	while [ "$1" != "--" ]; do flags+=("$1"); shift; done
	shift
	"$server" --listen 127.0.0.1:0 --log-level error "${flags[@]}" >"$out/srv" 2>&1 &
	pid=$!
	for _ in $(seq 100); do grep -q listening "$out/srv" && break; sleep 0.05; done
	port=$(sed -n 's/.*listening on ws:\/\/127.0.0.1://p' "$out/srv")
	a=("$@"); a=("${a[@]//PID/$pid}"); a=("${a[@]//PORT/$port}")
	echo "# revenge-server ${flags[*]}; rx_attack.py ${a[*]}"
	PYTHONPATH="$help" timeout 60 /usr/bin/python3 "$help/rx_attack.py" "${a[@]}" 2>&1
	kill "$pid"; wait "$pid" 2>/dev/null
}

has_new=$("$server" --help | grep -c -- --message-timeout)
if [ "$has_new" -gt 0 ]; then
	run --max-conns-per-ip 0 -- partial PORT PID 250 60000 10
	run --frame-rate 0 --handshake-timeout 2 -- starve PORT ping 14 2 10
	run --queue-max 64 --rate-limit 0 --party-chat-rate 0 --frame-rate 0 -- mark1013 PORT 14
else
	# the server before: no deadline (the attack waits 10 + 1.5 s and
	# reports what it held), the same starving flood
	run --max-conns-per-ip 0 -- partial PORT PID 250 60000 10
	run --handshake-timeout 2 -- starve PORT ping 14 2 10
	run --queue-max 64 --rate-limit 0 --party-chat-rate 0 -- mark1013 PORT 14
fi
for kind in ping cont garbage; do
	run -- flood PORT "$kind" 4
done
