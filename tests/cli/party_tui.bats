#!/usr/bin/env bats
# revenge-party driven as a person uses it: tmux sessions, keys sent with
# send-keys, the screen read back with capture-pane, against a real server.
load helpers

TUI="$REVENGE_BUILD/bin/revenge-party"

setup() {
	command -v tmux >/dev/null || skip "tmux is not installed"
	start_server
	TMUX_SOCK="rv-$$-$BATS_TEST_NUMBER"
	export TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
}

teardown() {
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	stop_server || true
}

tm() {
	tmux -L "$TMUX_SOCK" "$@"
}

# open NAME: a shell in a 100x30 tmux session running revenge-party as NAME
# in party "tui", then "EXITED:<status>" when it ends.
open_client() {
	tm new-session -d -s "$1" -x 100 -y 30 "bash --norc --noprofile"
	tm send-keys -t "$1" "PS1='$ '; $TUI --name $1 --duration 2:00:00 $URL tui; echo EXITED:\$?" Enter
}

screen() {
	tm capture-pane -p -t "$1"
}

# until SESSION shows TEXT (a grep -E pattern) within SECONDS (default 10:
# the file runs beside others, and only a failure waits that long)
wait_screen() {
	local i n=$(( ${3:-10} * 10 ))
	for i in $(seq 1 "$n"); do
		screen "$1" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	echo "--- $1 never showed '$2':" >&2
	screen "$1" >&2
	return 1
}

two_clients() {
	open_client ann
	wait_screen ann "host: ann"
	open_client bob
	wait_screen bob "host: ann"
	wait_screen ann "bob joined"
}

@test "chat typed in one client appears in both, with names and the member list" {
	two_clients
	tm send-keys -t ann "hello there 🍿" Enter
	wait_screen ann "ann: hello there 🍿"
	wait_screen bob "ann: hello there 🍿"
	run screen bob
	assert_output --partial "* ann"
	assert_output --partial "bob (you)"
}

@test "space on the host flips both to playing; /seek moves both" {
	two_clients
	wait_screen ann "⏸ tui"
	tm send-keys -t ann " "
	wait_screen ann "▶ tui"
	wait_screen bob "▶ tui"
	tm send-keys -t ann "/seek 1:00:00" Enter
	wait_screen ann "1:00:0[0-9] / 2:00:00"
	wait_screen bob "1:00:0[0-9] / 2:00:00"
	tm send-keys -t ann "/pause" Enter
	wait_screen bob "⏸ tui"
}

@test "a member's space shows a notice and changes nothing" {
	two_clients
	tm send-keys -t bob " "
	wait_screen bob "only the host"
	sleep 0.5
	run screen ann
	assert_output --partial "⏸ tui"
	refute_output --partial "▶ tui"
}

@test "resize to 40x12 and back keeps working" {
	two_clients
	tm resize-window -t ann -x 40 -y 12
	sleep 0.5
	run screen ann
	assert_success
	tm send-keys -t ann "still here" Enter
	wait_screen bob "ann: still here"
	tm resize-window -t ann -x 20 -y 4
	sleep 0.3
	tm resize-window -t ann -x 100 -y 30
	wait_screen ann "ann: still here"
	run screen ann
	refute_output --partial "EXITED"
}

@test "a server restart: the client reconnects, keeps the chat and rejoins" {
	two_clients
	tm send-keys -t ann "before the restart" Enter
	wait_screen bob "ann: before the restart"
	local port=$PORT
	stop_server
	wait_screen bob "reconnecting"
	"$SERVER" --listen "127.0.0.1:$port" --db "$BATS_TEST_TMPDIR/revenge.db" \
		>"$BATS_TEST_TMPDIR/s2.out" 2>&1 3>&- &
	SERVER_PID=$!
	wait_screen bob "connected to" 15
	run screen bob
	assert_output --partial "ann: before the restart"
	tm send-keys -t bob "after the restart" Enter
	wait_screen ann "bob: after the restart" 15
}

@test "/quit, Ctrl-D and Ctrl-C leave with the terminal restored" {
	open_client ann
	wait_screen ann "host: ann"
	tm send-keys -t ann "/quit" Enter
	wait_screen ann "EXITED:0"
	tm send-keys -t ann "echo restored-\$((40+2))" Enter
	wait_screen ann "restored-42"
	tm send-keys -t ann "clear; $TUI --name ann $URL tui; echo EXITED2:\$?" Enter
	wait_screen ann "host: ann"
	tm send-keys -t ann C-d
	wait_screen ann "EXITED2:0"
	tm send-keys -t ann "clear; $TUI --name ann $URL tui; echo EXITED3:\$?" Enter
	wait_screen ann "host: ann"
	tm send-keys -t ann C-c
	wait_screen ann "EXITED3:0"
}

@test "a refused handshake says why, never a raw errno" {
	tm new-session -d -s bad -x 100 -y 30 "bash --norc --noprofile"
	tm send-keys -t bad "$TUI $URL 'bad!party'; echo EXITED:\$?" Enter
	wait_screen bad "PARTY: expected 1-64 characters"
	wait_screen bad "EXITED:2"
	tm send-keys -t bad "clear; $TUI ws://127.0.0.1:1 tui" Enter
	wait_screen bad "reconnecting in"
}

@test "/help, /members and tab completion of commands" {
	two_clients
	tm send-keys -t bob "/mem" Tab Enter
	wait_screen bob "2 here: ann \\(host\\), bob"
	tm send-keys -t bob "/help" Enter
	wait_screen bob "chat by typing"
	tm send-keys -t bob "/dance" Enter
	wait_screen bob "unknown command"
}

@test "the waiting room: the status line names who is waited for; the host's /start drops them" {
	two_clients
	py "$PYHELP/waiting_check.py" "$URL" buffer_in_tui >"$BATS_TEST_TMPDIR/cat.out" 2>&1 &
	local cat=$!
	wait_screen ann "waiting for cat"
	wait_screen bob "waiting for cat"
	tm send-keys -t bob "/start" Enter
	wait_screen bob "only the host \\(ann\\) can start"
	tm send-keys -t ann "/sta" Tab Enter
	wait_for "$BATS_TEST_TMPDIR/cat.out" "DROPPED forced_start" 10
	wait "$cat"
	wait_screen bob "▶"
	local i
	for i in $(seq 1 50); do
		screen ann | grep -q "waiting for" || break
		sleep 0.1
	done
	! screen ann | grep -q "waiting for"
}

@test "host keys on an empty line: ] and [ change speed, right and left seek" {
	two_clients
	tm send-keys -t ann "]"
	wait_screen bob "x1.25"
	tm send-keys -t ann "[" "["
	wait_screen bob "x0.75"
	tm send-keys -t ann Right Right Right
	wait_screen bob "0:(29|30|31) / 2:00:00"
	tm send-keys -t ann Left
	wait_screen bob "0:(19|20|21) / 2:00:00"
}

@test "typed lines are kept in the history file; Up recalls them; Tab completes names" {
	two_clients
	tm send-keys -t ann "first line" Enter
	wait_screen bob "ann: first line"
	tm send-keys -t ann Up Enter
	wait_screen bob "ann: first line" 5
	tm send-keys -t ann "/host b" Tab Enter
	wait_screen bob "bob is now the host"
	tm send-keys -t ann "/quit" Enter
	wait_screen ann "EXITED:0"
	run grep -c "first line" "$XDG_STATE_HOME/revenge/history"
	assert_output 1
}

@test "NO_COLOR and a tiny terminal: no colours, no crash" {
	tm new-session -d -s tiny -x 30 -y 5 "bash --norc --noprofile"
	tm send-keys -t tiny "NO_COLOR=1 $TUI --name ann $URL tiny; echo EXITED:\$?" Enter
	wait_screen tiny "terminal too small"
	tm resize-window -t tiny -x 100 -y 30
	wait_screen tiny "host: ann"
	tm send-keys -t tiny "/quit" Enter
	wait_screen tiny "EXITED:0"
}

@test "wss:// with --ca, and with --insecure" {
	stop_server
	local d="$BATS_TEST_TMPDIR"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
		-days 1 -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		2>/dev/null
	start_server --tls-cert "$d/cert.pem" --tls-key "$d/key.pem"
	tm new-session -d -s sec -x 100 -y 30 "bash --norc --noprofile"
	tm send-keys -t sec "$TUI --ca $d/cert.pem --name ann wss://localhost:$PORT tls; echo EXITED:\$?" Enter
	wait_screen sec "host: ann"
	wait_screen sec "connected to wss://"
	tm send-keys -t sec "/quit" Enter
	wait_screen sec "EXITED:0"
	tm send-keys -t sec "clear; $TUI --insecure --name bob $URL tls2" Enter
	wait_screen sec "host: bob"
}

@test "PgUp and PgDn scroll the chat back and forth" {
	two_clients
	for i in $(seq 1 40); do
		tm send-keys -t ann "line number $i" Enter
	done
	wait_screen bob "ann: line number 40"
	run screen bob
	refute_output --partial "line number 1 "
	tm send-keys -t bob PPage PPage
	wait_screen bob "scrolled back"
	wait_screen bob "ann: line number 1 "
	tm send-keys -t bob NPage NPage NPage
	wait_screen bob "ann: line number 40"
	run screen bob
	refute_output --partial "scrolled back"
}

@test "chat padded to the pane's width cannot forge another member's line: wrapped rows carry the mark" {
	two_clients
	# bob's chat pane is 79 columns (100 less the 20-column member list
	# and its border); a row has 73 for text behind the "HH:MM " stamp.
	# mallory pads her message so that a fake "12:34 ann: ..." would start
	# the next row at column 0, where it would read as ann's own line.
	local pad
	pad=$(printf '%*s' $((73 - 11)) '')
	printf '{"type":"chat","payload":{"text":"hi%s12:34 ann: send me your token"}}\n' "$pad" |
		rvcat --linger 300 "$URL/ws/party/tui?name=mallory"
	wait_screen bob "12:34 ann: send me your token"
	run screen bob
	# the forged text is behind the continuation mark, never at a row's start
	assert_output --regexp $'\n +↳ 12:34 ann: send me your token'
	refute_output --regexp $'(^|\n)12:34 ann: send me your token'
	assert_output --regexp "[0-9][0-9]:[0-9][0-9] mallory: hi"
}

@test "bidi controls in a name or chat never reach the terminal" {
	two_clients
	# U+202E would show "evil" reversed and reorder the rest of the row
	printf '{"type":"chat","payload":{"text":"abc\\u202edef\\u2066ghi\\u200fjkl"}}\n' |
		rvcat --linger 300 "$URL/ws/party/tui?name=mallory"
	wait_screen bob "mallory: abcdefghijkl"
	run screen bob
	refute_output --partial $'\u202e'
	refute_output --partial $'\u2066'
}

# bats test_tags=timed
@test "the simulated player: 'in sync' on both; the host's /members shows each member's drift, a member's does not" {
	two_clients
	tm send-keys -t ann " "
	wait_screen ann "▶ tui"
	wait_screen bob "in sync" 10
	wait_screen ann "in sync" 10
	local i
	# statuses go out once a second and the report follows
	for i in $(seq 1 20); do
		tm send-keys -t ann "/members" Enter
		screen ann | grep -qE "bob [+-][0-9]+ ms" && break
		sleep 0.5
	done
	wait_screen ann "2 here: ann \\(host\\) [+-][0-9]+ ms, bob [+-][0-9]+ ms" 1
	tm send-keys -t bob "/members" Enter
	wait_screen bob "2 here: ann \\(host\\), bob"
	run screen bob
	refute_output --regexp "here: .*[0-9] ms"
}

# ---- issue 16: what a person sees ------------------------------------------

# count of lines of SESSION's screen matching a grep -E pattern
screen_count() {
	screen "$1" | grep -cE -- "$2" || true
}

@test "host actions are told as Syncplay does: resumed, jumped, paused, set speed, new host" {
	two_clients
	tm send-keys -t ann " "
	wait_screen bob "ann resumed at 0:0[0-9]"
	tm send-keys -t ann "/seek 12:30" Enter
	wait_screen bob "ann jumped from 0:[0-9][0-9] to 12:30"
	tm send-keys -t ann "/pause" Enter
	wait_screen bob "ann paused at 12:3[0-9]"
	tm send-keys -t ann "/speed 1.25" Enter
	wait_screen bob "ann set speed 1.25×"
	# the host sees its own actions once, as the others do
	wait_screen ann "ann set speed 1.25×"
	[ "$(screen_count ann 'ann paused at')" -eq 1 ]
	tm send-keys -t ann "/host bob" Enter
	wait_screen ann "bob is now the host"
	tm send-keys -t bob " "
	wait_screen ann "bob resumed at 12:3[0-9]"
}

# bats test_tags=timed
@test "sync in words: 'you: in sync' on both, and the host's member list says each member's state" {
	two_clients
	tm send-keys -t ann " "
	wait_screen bob "you: in sync" 10
	wait_screen ann "you: in sync" 10
	# the clock numbers are details after the words (a loaded machine may
	# show a drift being corrected by now)
	run screen bob
	assert_output --regexp "you: (in sync|drifting [+-][0-9]+ ms)  \\(clock [+-][0-9.]+ ms"
	# the host's drift report, in the member list's right column
	# (in sync when the machine keeps up; the word is what is checked)
	wait_screen ann "^.{80}  bob +(in sync|drifting|buffering) *$" 15
	# a member gets no report: no states in its list
	run screen bob
	refute_output --regexp "^.{80}.*(in sync|drifting|buffering) *$"
}

@test "a crowd folds: '12 people joined' and '12 people left'; the list shows '+N more' and a count" {
	two_clients
	local i pids=()
	for i in $(seq 1 12); do
		"$RVCAT" --timeout 90000 --linger 60000 "$URL/ws/party/tui?name=guest$i" </dev/null \
			>/dev/null 2>&1 3>&- &
		pids+=($!)
	done
	wait_screen ann "[0-9]+ people joined" 15
	wait_screen ann "14 members" 15
	# all twelve in one line, with bob's just before when within the fold
	# window (each within 10 s of the one before, however a loaded machine
	# spreads them)
	wait_screen ann "1[23] people joined" 15
	[ "$(screen_count ann 'guest[0-9]+ joined')" -eq 0 ]
	# a short terminal: the list ends with how many more there are
	tm resize-window -t ann -x 100 -y 12
	wait_screen ann "\\+[0-9]+ more"
	run screen ann
	assert_output --regexp "\\+9 more"
	tm resize-window -t ann -x 100 -y 30
	for i in "${pids[@]}"; do kill "$i" 2>/dev/null || true; wait "$i" || true; done
	wait_screen ann "12 people left" 15
}

@test "offline: the bar says OFFLINE and the member list '(offline)'; live again after a reconnect" {
	two_clients
	run screen bob
	refute_output --partial "OFFLINE"
	local port=$PORT
	stop_server
	wait_screen bob "OFFLINE"
	wait_screen bob "members \\(offline\\)"
	wait_screen bob "you: offline"
	"$SERVER" --listen "127.0.0.1:$port" --db "$BATS_TEST_TMPDIR/revenge.db" \
		>"$BATS_TEST_TMPDIR/s2.out" 2>&1 3>&- &
	SERVER_PID=$!
	wait_screen bob "connected to" 15
	local i
	for i in $(seq 1 50); do
		screen bob | grep -q "OFFLINE" || break
		sleep 0.1
	done
	run screen bob
	refute_output --partial "OFFLINE"
	refute_output --partial "(offline)"
}

@test "small terminals: host kept at 40 columns, the minimum size said, key hints, F1 help" {
	two_clients
	run screen ann
	assert_output --regexp "F1 help +Space play/pause"
	run screen bob
	assert_output --regexp "F1 help +PgUp/PgDn scroll +Tab complete +/quit"
	tm send-keys -t bob F1
	wait_screen bob "chat by typing"
	# a long party name: at 40 columns the host still shows
	tm new-session -d -s eve -x 40 -y 12 "bash --norc --noprofile"
	tm send-keys -t eve "$TUI --name eve $URL friday-movie-night-club" Enter
	wait_screen eve "^ ⏸ 0:00 +host: eve \\(you\\)"
	tm resize-window -t bob -x 20 -y 4
	wait_screen bob "terminal too small:"
	wait_screen bob "need at least 24x6,"
	wait_screen bob "have 20x4"
	tm resize-window -t bob -x 100 -y 30
	wait_screen bob "host: ann"
}

@test "/help wraps at word boundaries; errors are marked apart from joins; names cut with an ellipsis" {
	two_clients
	tm resize-window -t bob -x 40 -y 20
	tm send-keys -t bob "/help" Enter
	wait_screen bob "chat by typing"
	# every word of the help is whole on some row
	local w words
	words=$(screen bob | sed 's/↳//g' | tr -s ' ' '\n')
	for w in chat by typing\; /play /pause /seek '1:23:45|+30|-10' /speed 1.25 /react \
		EMOJI /host NAME /start '(play' without 'waiting)' /members /quit\; host keys \
		on an empty line: space, left/right, '[' ']'\; PgUp/PgDn scroll\; F1 this help; do
		grep -qxF -- "$w" <<<"$words" || { echo "'$w' is cut" >&2; screen bob >&2; false; }
	done
	tm resize-window -t bob -x 100 -y 30
	tm send-keys -t bob " "
	wait_screen bob "[0-9][0-9]:[0-9][0-9] ! only the host \\(ann\\) can play"
	tm send-keys -t bob "/dance" Enter
	wait_screen bob "[0-9][0-9]:[0-9][0-9] ! unknown command"
	run screen ann
	assert_output --regexp "[0-9][0-9]:[0-9][0-9] bob joined"
	"$RVCAT" --timeout 30000 --linger 20000 "$URL/ws/party/tui?name=averyveryverylongname" </dev/null \
		>/dev/null 2>&1 3>&- &
	local cat=$!
	wait_screen bob "  averyveryverylong…" 15
	kill "$cat" 2>/dev/null || true
	wait "$cat" || true
}

@test "scrolled back, new lines show a 'new messages below' mark" {
	two_clients
	for i in $(seq 1 40); do
		tm send-keys -t ann "line number $i" Enter
	done
	wait_screen bob "ann: line number 40"
	tm send-keys -t bob PPage
	wait_screen bob "scrolled back"
	tm send-keys -t ann "fresh news" Enter
	wait_screen bob "1 new message below \\(PgDn\\)"
	tm send-keys -t ann "more news" Enter
	wait_screen bob "2 new messages below"
	tm send-keys -t bob NPage NPage
	wait_screen bob "ann: more news"
	run screen bob
	refute_output --partial "new message"
}

@test "connection failures say why with the URL; an untrusted certificate stops, exit 1; REVENGE_URL" {
	tm new-session -d -s c -x 100 -y 30 "bash --norc --noprofile"
	# refused: retried, and said
	tm send-keys -t c "$TUI --name ann ws://127.0.0.1:1 tui; echo EXITED:\$?" Enter
	wait_screen c "! ws://127.0.0.1:1: connection refused"
	wait_screen c "reconnecting in"
	tm send-keys -t c C-c
	wait_screen c "EXITED:0"
	# no such host (.invalid never resolves, RFC 6761), from REVENGE_URL
	tm send-keys -t c "clear; REVENGE_URL=ws://nohost.invalid:80 $TUI --name ann tui; echo EXITED:\$?" Enter
	wait_screen c "! ws://nohost.invalid:80: no such host" 15
	tm send-keys -t c C-c
	wait_screen c "EXITED:0"
	# REVENGE_URL reaches a live server
	tm send-keys -t c "clear; REVENGE_URL=$URL $TUI --name ann tui; echo EXITED:\$?" Enter
	wait_screen c "host: ann"
	wait_screen c "connected to $URL"
	tm send-keys -t c "/quit" Enter
	wait_screen c "EXITED:0"
	# an untrusted certificate: why, what to do, no library line over the
	# screen, no retrying; --log keeps the library's lines
	stop_server
	local d="$BATS_TEST_TMPDIR"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" \
		-days 1 -subj "/CN=localhost" 2>/dev/null
	start_server --tls-cert "$d/cert.pem" --tls-key "$d/key.pem"
	tm send-keys -t c "clear; $TUI --log $d/lws.log --name ann wss://localhost:$PORT tui; echo EXITED:\$?" Enter
	wait_screen c "certificate not trusted \\(self-signed"
	wait_screen c "try --ca FILE or --insecure"
	wait_screen c "! wss://localhost:$PORT: certificate"
	run screen c
	refute_output --partial "SSL error"
	refute_output --partial "reconnecting"
	tm send-keys -t c Enter
	wait_screen c "EXITED:1"
	# and the shell is told why once the screen is gone
	wait_screen c "^revenge-party: wss://localhost:$PORT: certificate not trusted"
}

@test "ann and bob, whose names hash to one colour, are coloured apart" {
	two_clients
	tm send-keys -t ann "hi" Enter
	wait_screen bob "ann: hi"
	local ca cb
	# the member list's names with their SGR colour (init_pair i: 30+i)
	ca=$(tm capture-pane -e -p -t bob | grep -oE $'\e\\[3[1-6]m(\e\\[[0-9;]*m)*ann' | head -1 |
		grep -oE '3[1-6]m' | head -1)
	cb=$(tm capture-pane -e -p -t bob | grep -oE $'\e\\[3[1-6]m(\e\\[[0-9;]*m)*bob' | head -1 |
		grep -oE '3[1-6]m' | head -1)
	[ -n "$ca" ] && [ -n "$cb" ] || { tm capture-pane -e -p -t bob | cat -v >&2; false; }
	[ "$ca" != "$cb" ]
}
