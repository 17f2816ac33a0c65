#!/usr/bin/env bats
# The README's walkthrough as a new user follows it (issue 16): every
# block marked `<!-- walkthrough: NAME -->` in README.md is read from the
# README itself (tests/helpers/readme_block.py) and run as written against
# a real revenge-server on a free loopback port (127.0.0.1:8080 in the text
# becomes the test server's address), and what it prints is held against
# what the README shows. Change a command or an output in the README and
# this file runs the new one.
load helpers
load cluster_helpers   # start_redis, start_node (its setup and teardown replaced below)

ROOT="$BATS_TEST_DIRNAME/../.."
README="$ROOT/README.md"
BIN="$REVENGE_BUILD/bin"

setup() {
	cd "$BATS_TEST_TMPDIR"
}

teardown() {
	[ -z "${BG_PID:-}" ] || kill "$BG_PID" 2>/dev/null || true
	[ -z "${TMUX_SOCK:-}" ] || tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	[ -z "${OTHER_PID:-}" ] || kill "$OTHER_PID" 2>/dev/null || true
	stop_node A 2>/dev/null || true
	stop_node B 2>/dev/null || true
	stop_redis
	stop_server || true
}

# block NAME [--commands]: the README's block NAME, with 127.0.0.1:8080
# replaced by the test server's address (when one runs).
block() {
	local text
	text=$("$PY" "$PYHELP/readme_block.py" "$README" "$@") || return 1
	if [ -n "${PORT:-}" ]; then
		text=${text//127.0.0.1:8080/127.0.0.1:$PORT}
	fi
	printf '%s\n' "$text"
}

# readme_js FILE MS: a browser-console snippet in Node (readme_js.js).
readme_js() {
	NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs exec node "$PYHELP/readme_js.js" "$@"
}

# run_readme COMMAND: a README command line in bash, the build's
# binaries first on PATH, in the test's directory.
run_readme() {
	PATH="$BIN:$PATH" bash -c "$1"
}

@test "every marked block exists and this file knows each one" {
	run "$PY" "$PYHELP/readme_block.py" "$README" --names
	assert_success
	local known="party-js party-python progress-js stream-python server token probe probe-output probe-json party-tui party-screen bench"
	local n
	for n in $known; do assert_line "$n"; done
	for n in $output; do
		[[ " $known " == *" $n "* ]] || fail "README marks a block '$n' that readme.bats does not run"
	done
}

@test "Join a party: the browser snippet hosts, the Python one joins and names the host" {
	start_server
	block party-js >ann.js
	block party-python >bob.py
	# ann, from the console: the first member, so the host; sync and chat
	# once the welcome came
	readme_js ann.js 30000 >ann.out 2>&1 &
	BG_PID=$!
	wait_for ann.out '"type":"chat"' 15
	local ann_id
	ann_id=$("$PY" -c 'import json,sys
for l in open(sys.argv[1]):
    m = json.loads(l)
    if m["type"] == "welcome": print(m["payload"]["participant_id"]); break' ann.out)
	[ -n "$ann_id" ]
	# the host's sync was taken (no error) and the chat came back with her name
	run grep -c '"type":"error"' ann.out
	assert_output 0
	grep -q '"text":"popcorn ready?"' ann.out
	grep '"type":"chat"' ann.out | grep -q '"name":"ann"'
	# bob, in Python, as written: "host is <ann's id>", then what comes
	PYTHONUNBUFFERED=1 timeout 30 "$PY" bob.py >bob.out 2>&1 &
	OTHER_PID=$!
	wait_for bob.out "^host is " 15
	assert_equal "$(head -1 bob.out)" "host is $ann_id"
	kill "$OTHER_PID" 2>/dev/null || true
}

@test "Report playback progress: ack, ticks every second, and the stored progress first on reconnect" {
	start_server
	block progress-js >p.js
	# "ack", then "progress" every second (interval_ms=1000): the ack and
	# two ticks, at most 15 s
	run -0 readme_js p.js 15000 3
	assert_equal "$(echo "$output" | head -1 | "$PY" -c 'import json,sys; m=json.load(sys.stdin); print(m["type"], m["id"])')" "ack p-1"
	[ "${#lines[@]}" -eq 3 ] || fail "not 3 lines: $output"
	echo "$output" | tail -2 | "$PY" -c 'import json,sys
a, b = (json.loads(l) for l in sys.stdin)
assert a["type"] == b["type"] == "progress", (a, b)
# about a second apart, by the server clock (ts), the position moved on
# while playing (progress.bats checks the exact interval, in the timed lane:
# here a loaded machine may fire a tick late)
gap = b["ts"] - a["ts"]
assert 500 <= gap <= 2500, gap
assert b["payload"]["position"] > a["payload"]["position"], (a, b)'
	# connect again: the first message is the stored progress
	block progress-js | sed -n '1,2p' >again.js
	run -0 readme_js again.js 15000 1
	echo "$output" | head -1 | "$PY" -c 'import json,sys
m = json.load(sys.stdin)
assert m["type"] == "progress" and m["payload"]["media_id"] == "ep-104", m
assert m["payload"]["position"] >= 1312.5 and m["payload"]["duration"] == 2640, m'
}

@test "Switch quality: 1080p for a new session, 2400 kbps suggests 480p, the request changes it" {
	start_server
	block stream-python >q.py
	run -0 timeout 10 "$PY" q.py
	assert_line --index 0 "playing 1080p"
	assert_line --index 1 --regexp "^\{'type': 'quality_changed'.*'profile': '480p'"
	# the prose says so
	grep -q "at 1080p, 2400 kbps suggests 480p" "$README"
	grep -q "(1080p for a new one)" "$README"
}

@test "Running the server: every command line's flags are accepted (--check-config)" {
	block server --commands >cmds
	grep -q '^revenge-server --listen 127.0.0.1:8080$' cmds
	# the files the lines name, made here
	head -c 48 /dev/urandom | base64 >secret
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=localhost -keyout key.pem -out cert.pem 2>/dev/null
	cp cert.pem ca.pem
	cp "$ROOT/docs/examples/revenge-server.conf" site.conf
	cp site.conf etc.conf
	mkdir srv
	local line n=0 i rc
	local -a pids=() shown=()
	while IFS= read -r line; do
		case $line in
		"revenge-server migrate "*)
			# its own flags, checked against its --help
			run -0 "$BIN/revenge-server" migrate --help
			assert_output --partial -- "--from"
			assert_output --partial -- "--to"
			continue ;;
		"revenge-server backup "* | "revenge-server admin "* | "revenge-server token "*)
			# a subcommand: its own flags (backup.bats, admin.bats, token.bats)
			continue ;;
		revenge-server*) ;;
		*) continue ;;
		esac
		line=${line//\/etc\/revenge\/revenge-server.conf/etc.conf}
		line=${line//\/srv\/revenge\//srv\/}
		line=${line% --check-config}
		# all at once: each is a process start, little else
		PATH="$BIN:$PATH" timeout 60 bash -c "$line --check-config" >"check-$n.out" 2>&1 3>&- &
		pids+=("$!")
		shown+=("$line")
		n=$((n + 1))
	done <cmds
	[ "$n" -ge 10 ] || fail "only $n server lines"
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		[ "$rc" -eq 0 ] || fail "README's '${shown[$i]}' is refused ($rc): $(cat "check-$i.out")"
	done
}

@test "Running the server: curl /healthz and /metrics, the listening line, --port-file, one line when the port is taken" {
	start_server
	grep -q "revenge-server: listening on $URL" "$BATS_TEST_TMPDIR/server.out"
	block server --commands | grep '^curl ' >curls
	[ "$(wc -l <curls)" -eq 2 ]
	run run_readme "$(sed -n 1p curls)"
	assert_success
	echo "$output" | "$PY" -c 'import json,sys; assert json.load(sys.stdin)["status"] == "ok"'
	run run_readme "$(sed -n 2p curls)"
	assert_success
	assert_line --regexp '^revenge_[a-z_]+(\{.*\})? [0-9.e+-]+$'
	# the failure the README quotes, on the test server's port
	local quoted
	quoted=$(tr '\n' ' ' <"$README" | grep -o 'cannot listen on[^`]*')
	quoted=${quoted//127.0.0.1:8080/127.0.0.1:$PORT}
	run -1 "$BIN/revenge-server" --listen "127.0.0.1:$PORT" --db "$BATS_TEST_TMPDIR/2.db"
	assert_line --regexp "^[-0-9T:.Z]+ revenge-server error: start_failed ${quoted//./\\.}\$"
	# one line says why, nothing after it
	[ "$(echo "$output" | grep -c error)" -eq 1 ]
	# the --port-file example, as the README writes it
	local example
	example=$(grep -o 'revenge-server --listen 127.0.0.1:0 --port-file run/url' "$README")
	mkdir run
	"$BIN/${example%% *}" ${example#* } --db "$BATS_TEST_TMPDIR/3.db" >/dev/null 2>&1 &
	OTHER_PID=$!
	local i
	for i in $(seq 1 100); do [ -s run/url ] && break; sleep 0.1; done
	run cat run/url
	assert_output --regexp '^ws://127\.0\.0\.1:[0-9]+$'
	run -0 curl -s "${output/ws:/http:}/healthz"
	kill -TERM "$OTHER_PID"
	wait "$OTHER_PID"
	OTHER_PID=
	# removed at a clean exit
	[ ! -e run/url ]
}

@test "connection tokens: the secret, the server, the minted token, revenge-party joins as Ann the host" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	block token --commands >cmds
	run_readme "$(sed -n 1p cmds)"
	[ "$(wc -c <secret)" -ge 32 ]
	local srv
	srv=$(sed -n 2p cmds)
	[ "${srv%% *}" = revenge-server ]
	start_server ${srv#revenge-server }
	block token --commands >cmds
	local mint party
	mint=$(sed -n 3p cmds)
	party=$(sed -n 4p cmds)
	T=$(PATH="$BIN:$PATH" bash -c "${mint}; echo \"\$T\"")
	[[ $T =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || fail "not a JWT: $T"
	# the token opens the party and the session prefix, and nothing else
	"$PY" - "$PORT" "$T" <<'EOF'
import asyncio, sys, websockets
port, tok = sys.argv[1], sys.argv[2]
async def status(path, token=tok):
    h = {"Authorization": "Bearer " + token} if token else {}
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}{path}", subprotocols=["revenge.v1"],
                                      extra_headers=h, open_timeout=5):
            return 101
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code
async def main():
    got = [await status("/ws/party/movie-night"), await status("/ws/progress/ann-1"),
           await status("/ws/party/other"), await status("/ws/progress/bob-1"),
           await status("/ws/party/movie-night", None)]
    assert got == [101, 101, 403, 403, 401], got
asyncio.run(main())
EOF
	# revenge-party with it, as written: Ann (the token's name) is the host
	TMUX_SOCK="rv-readme-$$"
	export TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	tmux -L "$TMUX_SOCK" new-session -d -s ann -x 100 -y 24 \
		"T='$T' PATH='$BIN:$PATH' bash -c '$party'"
	local i
	for i in $(seq 1 100); do
		tmux -L "$TMUX_SOCK" capture-pane -p -t ann | grep -q "host: Ann" && break
		sleep 0.1
	done
	run tmux -L "$TMUX_SOCK" capture-pane -p -t ann
	assert_output --partial "movie-night"
	assert_output --partial "host: Ann"
	# and the public-key line takes a PEM public key
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out priv.pem 2>/dev/null
	openssl pkey -in priv.pem -pubout -out media-server.pub.pem 2>/dev/null
	run -0 run_readme "$(sed -n 5p cmds) --check-config"
}

@test "Checks in CI: the probe command as written passes and prints what the README shows" {
	block probe --commands >cmds
	# the server line: the test's own (the same flags, a free port)
	local srv
	srv=$(grep '^revenge-server ' cmds)
	[[ $srv == *'--listen 127.0.0.1:8080 --db "$(mktemp -d)/revenge.db" &' ]] || fail "server line: $srv"
	start_server
	block probe --commands >cmds
	local probe
	probe=$(grep '^revenge-probe ' cmds)
	[ -n "$probe" ]
	grep -qx "URL=ws://127.0.0.1:$PORT" cmds
	# the probe runs in the clone (docs/examples/chat.json), its report here
	run bash -c "cd '$ROOT' && URL='$URL' PATH='$BIN:$PATH' ${probe//probe.xml/$BATS_TEST_TMPDIR/probe.xml}"
	[ "$status" -eq 0 ] || fail "the probe exited $status: $output"
	# line for line the README's output, its figures any number
	block probe-output >expected
	[ "${#lines[@]}" -eq "$(wc -l <expected)" ] || fail "$(printf 'README shows:\n%s\ngot:\n%s' "$(cat expected)" "$output")"
	local i=0 re
	while IFS= read -r line; do
		re=$("$PY" -c 'import re,sys; print("^" + re.sub(r"\d+(\\\.\d+)?", r"[0-9]+(\\.[0-9]+)?", re.escape(sys.argv[1])) + "$")' "$line")
		[[ ${lines[$i]} =~ $re ]] || fail "line $((i + 1)): README shows '$line', the probe printed '${lines[$i]}'"
		i=$((i + 1))
	done <expected
	# the JUnit report: one testcase a check
	"$PY" - "$BATS_TEST_TMPDIR/probe.xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
names = [c.get("name") for c in cases]
assert len(names) == 4 and names[:3] == ["health", "sync", "progress"], names
PYEOF
}

@test "Checks in CI: --json appends one object a check, with the fields the README names" {
	start_server
	block probe-json --commands >cmds
	[ "$(wc -l <cmds)" -eq 1 ]
	URL=$URL run_readme "$(cat cmds)"
	run cat probe.jsonl
	[ "${#lines[@]}" -eq 1 ]
	local fields
	fields=$(grep -o 'with `check`, `ok`[^(]*' "$README" | grep -o '`[a-z_]*`' | tr -d '`' | tr '\n' ' ')
	[ -n "$fields" ]
	"$PY" - "$fields" <<PYEOF
import json, sys
r = json.loads(open("probe.jsonl").read())
for f in sys.argv[1].split():
    if f in ("summary", "error"):
        continue
    assert f in r, (f, r)
assert "summary" in r or "error" in r, r
assert r["check"] == "sync" and r["ok"] is True and r["exit"] == 0, r
assert "details" in r, r
PYEOF
}

@test "Watch in the terminal: the two clients as written, bob's screen as the README shows it" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	start_server
	block party-tui --commands >cmds
	grep -q '^revenge-server --listen 127.0.0.1:'"$PORT"' &$' cmds
	TMUX_SOCK="rv-readme-$$"
	export TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	local ann bob
	ann=$(grep -- '--name ann' cmds)
	bob=$(grep -- '--name bob' cmds)
	# 100x24, as the README's screen
	tmux -L "$TMUX_SOCK" new-session -d -s ann -x 100 -y 24 "PATH='$BIN:$PATH' $ann"
	local i
	for i in $(seq 1 100); do
		tmux -L "$TMUX_SOCK" capture-pane -p -t ann | grep -q "host: ann" && break
		sleep 0.1
	done
	tmux -L "$TMUX_SOCK" new-session -d -s bob -x 100 -y 24 "PATH='$BIN:$PATH' $bob"
	for i in $(seq 1 100); do
		tmux -L "$TMUX_SOCK" capture-pane -p -t bob | grep -q "bob (you)" && break
		sleep 0.1
	done
	# what the README's story does: a chat, the host's seek
	tmux -L "$TMUX_SOCK" send-keys -t ann "popcorn ready?" Enter
	tmux -L "$TMUX_SOCK" send-keys -t ann "/seek 12:30" Enter
	for i in $(seq 1 100); do
		tmux -L "$TMUX_SOCK" capture-pane -p -t bob | grep -q "ann jumped from" && break
		sleep 0.1
	done
	tmux -L "$TMUX_SOCK" capture-pane -p -t bob >bob.screen
	block party-screen >readme.screen
	# the rows the README shows that do not depend on the moment: the top
	# bar's shape, the member list, the chat lines, the key hints
	local want
	for want in "2 members" "* ann" "bob (you)" "ann: popcorn ready?" \
		"F1 help  PgUp/PgDn scroll  Tab complete  /quit"; do
		grep -qF -- "$want" readme.screen || fail "the README's screen lost '$want'"
		grep -qF -- "$want" bob.screen || fail "bob's screen has no '$want':$(printf '\n')$(cat bob.screen)"
	done
	grep -qE '^ ▶ movie-night  12:33 / 1:52:00  x1  host: ann$' readme.screen
	grep -qE '^ [▶⏸] movie-night  [0-9]+:[0-9]{2} / 1:52:00  x1  host: ann$' bob.screen ||
		fail "top bar: $(head -1 bob.screen)"
	grep -qE '^[0-9]{2}:[0-9]{2} ann jumped from 0:0[0-9] to 12:30$' bob.screen ||
		fail "no 'ann jumped' line: $(cat bob.screen)"
	grep -qE '^ \[=*>-*\] you: in sync  \(clock [+-][0-9.]+ ms ±[0-9.]+, rtt [0-9.]+ ms\)$' readme.screen
	grep -qE '^ \[=*>-*\] you: [a-z]' bob.screen || fail "second row: $(sed -n 2p bob.screen)"
	grep -qE '^ connected to ws://127\.0\.0\.1:[0-9]+$' bob.screen
}

# bench_small LINE: a README bench line shrunk to a short small run on the
# test servers: the same scenario and flags, a few members, 300 ms; the
# cluster's ws://10.0.0.1:8080 and ws://10.0.0.2:8080 are nodes A and B.
bench_small() {
	local l=$1 scen
	l=${l//ws:\/\/10.0.0.1:8080/${A_URL:-}}
	l=${l//ws:\/\/10.0.0.2:8080/${B_URL:-}}
	l=$(sed -E -e 's/--parties [0-9]+/--parties 2/; s/--members [0-9]+/--members 3/' \
		-e 's/--sessions [0-9]+/--sessions 5/; s/--conns [0-9]+/--conns 20/' \
		-e 's/--attackers [0-9]+/--attackers 3/; s/--passive [0-9]+/--passive 2/' \
		-e 's/--churn [0-9]+/--churn 5/; s/--rate 50000/--rate 100/' \
		-e 's/ --duration [0-9a-z]+//' <<<"$l")
	# the sizes a line leaves at their defaults, small too
	scen=$(grep -oE ' (fanout|chat|churn|fill|progress|connect|amplify|sync)( |$)' <<<"$l" | head -1)
	case $scen in
	*fanout* | *chat* | *churn* | *fill*)
		[[ $l == *--parties* ]] || l+=" --parties 2"
		[[ $l == *--members* ]] || l+=" --members 3" ;;
	*sync*) [[ $l == *--members* ]] || l+=" --members 3" ;;
	*progress*) [[ $l == *--sessions* ]] || l+=" --sessions 5" ;;
	*connect*) [[ $l == *--conns* ]] || l+=" --conns 20" ;;
	*amplify*) [[ $l == *--bystanders* ]] || l+=" --bystanders 2" ;;
	esac
	echo "$l --duration 300ms"
}

# bench_lines FILTER: every README bench line that matches (grep -E)
# FILTER, shrunk, all at once (small runs spend their time waiting out
# their phases, not on the CPU); each must exit 0. The count in
# bench-lines.
bench_lines() {
	local line small n=0 i rc
	local -a pids=() shown=()
	while IFS= read -r line; do
		[[ $line == revenge-bench* ]] || continue
		grep -qE -- "$1" <<<"$line" || continue
		small=$(bench_small "$line")
		PATH="$BIN:$PATH" timeout 60 bash -c "$small" >"bench-$n.out" 2>&1 3>&- &
		pids+=("$!")
		shown+=("README's '$line' (run as '$small')")
		n=$((n + 1))
	done < <(block bench --commands)
	for i in "${!pids[@]}"; do
		rc=0
		wait "${pids[$i]}" || rc=$?
		[ "$rc" -eq 0 ] || fail "${shown[$i]} exited $rc: $(cat "bench-$i.out")"
	done
	echo "$n" >bench-lines
}

# the README's server line for a bench: its flags after --listen
bench_server_flags() {
	local srv
	srv=$(block bench --commands | grep '^revenge-server ')
	srv=${srv% &}
	[[ $srv == "revenge-server --listen 127.0.0.1:8080 "* ]] || fail "server line: $srv"
	echo "${srv#revenge-server --listen 127.0.0.1:8080 }"
}

@test "Measure it: each bench line runs as written (smaller, shorter) on the servers the README starts" {
	[ -n "$REDIS_SERVER" ] || skip "redis-server is not installed (scripts/deps.sh installs it)"
	local flags
	flags=$(bench_server_flags)
	# the cluster lines: nodes A and B sharing a Redis, the README's
	# flags each
	REDIS_PORT=
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" $flags
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" $flags
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	# the one-server lines: a server with them (started last: start_node
	# goes through start_server, which sets SERVER_PID, URL and PORT)
	start_server $flags
	export REVENGE_URL=$URL
	bench_lines .
	[ "$(cat bench-lines)" -ge 10 ]
	# the first line's --url is the test server's
	block bench --commands | grep -q "^revenge-bench --url ws://127.0.0.1:$PORT fanout"
}

@test "Measure it: why the README's server runs with the limits off: a default one refuses the load, exit 1, said once" {
	grep -q "refuse a load generator, so a server to measure runs with them off" \
		<(tr '\n' ' ' <"$README" | tr -s ' ')
	start_server
	# 300 connections from one address: past --max-conns-per-ip (256)
	run -1 "$BIN/revenge-bench" --url "$URL" chat --parties 30 --members 10 --rate 1 \
		--duration 300ms
	assert_line --regexp '^first failure refused: HTTP (503|429)( [a-z].*)?$'
	refute_line --regexp 'HTTP [0-9]+ HTTP'
}

@test "--help as read: the server's /healthz is HTTPS with --tls-cert, as its first lines say" {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
		-subj /CN=localhost -keyout key.pem -out cert.pem 2>/dev/null
	run -0 "$BIN/revenge-server" --help
	assert_line "with /healthz and /metrics beside them over HTTP (HTTPS with --tls-cert)."
	start_server --tls-cert cert.pem --tls-key key.pem
	[[ $URL == wss://* ]]
	run -0 curl -sk "https://127.0.0.1:$PORT/healthz"
	assert_output --partial '"status":"ok"'
	run curl -s "http://127.0.0.1:$PORT/healthz"
	assert_failure
}

@test "Watch in the terminal: library log lines only with RV_LWS_DEBUG=1, and then in --log FILE, never on the screen" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	grep -qF 'it logs nothing unless `RV_LWS_DEBUG=1`, and then' "$README"
	start_server
	TMUX_SOCK="rv-readme-$$"
	export TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	local s i
	for s in quiet debug; do
		local env=
		[ "$s" = quiet ] || env="RV_LWS_DEBUG=1"
		tmux -L "$TMUX_SOCK" new-session -d -s "$s" -x 100 -y 24 \
			"$env $BIN/revenge-party --log $BATS_TEST_TMPDIR/$s.log --name $s $URL logs; sleep 30"
		for i in $(seq 1 100); do
			tmux -L "$TMUX_SOCK" capture-pane -p -t "$s" | grep -q "connected to" && break
			sleep 0.1
		done
		run tmux -L "$TMUX_SOCK" capture-pane -p -t "$s"
		assert_output --partial "connected to $URL"
		# lws's lines look like "[2026/12/06 21:50:00:1234] N: ..."
		refute_output --regexp '\[[0-9]{4}/[0-9]{2}/[0-9]{2} [0-9:]+\] [A-Z]: '
	done
	[ ! -s quiet.log ]
	grep -qE '\] [A-Z]: ' debug.log
}

@test "--help as read: revenge-bench names the server limits to turn off, each a real flag, the README's server line the same" {
	run -0 "$BIN/revenge-bench" --help
	local para flags f
	para=$(echo "$output" | sed -n '/^All the load comes from one address/,/^$/p' | tr '\n' ' ')
	[ -n "$para" ] || fail "revenge-bench --help says nothing about the server's limits"
	flags=$(grep -oE -- '--[a-z-]+ 0' <<<"$para" | sort)
	[ "$(wc -l <<<"$flags")" -ge 7 ]
	run -0 "$BIN/revenge-server" --help
	while read -r f _; do
		assert_output --partial -- "  $f N"
	done <<<"$flags"
	# the README starts its bench server with exactly these
	assert_equal "$(bench_server_flags | grep -oE -- '--[a-z-]+ 0' | sort)" "$flags"
	# and so does the man page
	grep -q 'All the load comes from one client address' "$ROOT/docs/man/revenge-bench.1"
}
