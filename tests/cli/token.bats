#!/usr/bin/env bats
# The connection token (--token, --token-file, $REVENGE_TOKEN, and
# rv_conn_options.token through rvcat): what each command puts in the
# handshake, read back by tests/helpers/raw_handshake_server.py record,
# which keeps every request head and answers 101 or 401, or hands the
# connection on to a real revenge-server; and that the token never shows.
load helpers

PROBE="$REVENGE_BUILD/bin/revenge-probe"
BENCH="$REVENGE_BUILD/bin/revenge-bench"
TUI="$REVENGE_BUILD/bin/revenge-party"
# shaped like a JWT: header.payload.signature, base64url
TOKEN=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbm4ifQ.c2lnbmF0dXJlLW9mLWFubg-_
OTHER=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJib2IifQ.ZW52aXJvbm1lbnQ
CR=$'\r'

setup() {
	unset REVENGE_TOKEN
	TMUX_SOCK="rvtok-$$-$BATS_TEST_NUMBER"
}

teardown() {
	[ -z "${HS_PID:-}" ] || kill "$HS_PID" 2>/dev/null || true
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null || true
	stop_server || true
}

# record ANSWER: a recording server (101, 401, drop, bearer or
# forward:PORT); sets HS_PID, HS_URL and HEADS, the file of request heads.
record() {
	# a test that records twice leaves no recorder behind
	[ -z "${HS_PID:-}" ] || kill "$HS_PID" 2>/dev/null || true
	HEADS="$BATS_TEST_TMPDIR/heads-$BATS_TEST_NUMBER-$RANDOM"
	"$PY" "$PYHELP/raw_handshake_server.py" record "$HEADS" "$1" >"$HEADS.out" 3>&- &
	HS_PID=$!
	wait_for "$HEADS.out" '^listening '
	HS_URL="ws://127.0.0.1:$(awk '{ print $2; exit }' "$HEADS.out")"
}

# A real server behind the recording one.
record_real() {
	start_server --rate-limit 0 --frame-rate 0
	record "forward:$PORT"
}

# WebSocket handshakes recorded (not /healthz or /metrics).
ws_heads() {
	local n
	n=$(grep -a -c '^GET /ws/' "$HEADS" 2>/dev/null)
	echo "${n:-0}"    # 0 before the first request made the file
}

# Recorded header lines of NAME, exactly as sent (CR included), counted
# by value: "N value".
header_lines() {
	grep -a -i "^$1:" "$HEADS" 2>/dev/null | sort | uniq -c | sed 's/^ *//'
}

# Every WebSocket handshake recorded carried exactly "Authorization: Bearer
# $1", once; there was at least one.
all_sent() {
	local n live=$HEADS
	# a client that reconnects may add a handshake between two reads:
	# count heads and headers in one copy of the record
	HEADS="$BATS_TEST_TMPDIR/heads-snapshot"
	cp "$live" "$HEADS" 2>/dev/null || : >"$HEADS"
	n=$(ws_heads)
	local got
	got=$(header_lines Authorization)
	HEADS=$live
	[ "$n" -gt 0 ] || { echo "no handshake recorded" >&2; return 1; }
	assert_equal "$got" "$n Authorization: Bearer $1$CR"
}

# ---- the library, through rvcat ------------------------------------------

@test "rvcat: the header carries exactly the token; the subprotocol mode offers 'revenge.v1, bearer.TOKEN' and no header" {
	record 101
	run rvcat --token "$TOKEN" "$HS_URL/ws/party/p" </dev/null
	assert_success
	assert_line '#open revenge.v1'
	all_sent "$TOKEN"
	assert_equal "$(header_lines Sec-WebSocket-Protocol)" "1 Sec-WebSocket-Protocol: revenge.v1$CR"

	: >"$HEADS"
	run rvcat --token "$TOKEN" --token-subprotocol "$HS_URL/ws/party/p" </dev/null
	assert_success
	assert_line '#open revenge.v1'
	assert_equal "$(header_lines Sec-WebSocket-Protocol)" \
		"1 Sec-WebSocket-Protocol: revenge.v1, bearer.$TOKEN$CR"
	assert_equal "$(header_lines Authorization)" ''
	# after a subprotocol of our own too
	: >"$HEADS"
	run rvcat --subprotocol other.v2 --token "$TOKEN" --token-subprotocol "$HS_URL/ws/party/p" </dev/null
	assert_equal "$(header_lines Sec-WebSocket-Protocol)" \
		"1 Sec-WebSocket-Protocol: other.v2, bearer.$TOKEN$CR"
}

@test "rvcat: a real server selects revenge.v1 from 'revenge.v1, bearer.TOKEN'; one selecting the bearer entry is refused" {
	start_server
	run rvcat --token "$TOKEN" --token-subprotocol "$URL/ws/party/p" <<<'#wait welcome'
	assert_success
	assert_line --index 0 '#open revenge.v1'
	assert_output --partial '"type":"welcome"'
	run rvcat --token "$TOKEN" "$URL/ws/party/p" <<<'#wait welcome'
	assert_success
	assert_output --partial '"type":"welcome"'

	record bearer
	run -3 rvcat --token "$TOKEN" --token-subprotocol "$HS_URL/ws/party/p" </dev/null
	assert_output '#failed the server selected the token as the subprotocol'
}

@test "rvcat: a token with a space, CR LF or '=' is refused before connecting; one too long for the handshake too" {
	record 101
	for bad in 'abc def' "abc${CR}"$'\nX-Injected: 1' 'abc=' ''; do
		run -3 rvcat --token "$bad" "$HS_URL/ws/party/p" </dev/null
		assert_output '#failed invalid argument'
		run -3 rvcat --token "$bad" --token-subprotocol "$HS_URL/ws/party/p" </dev/null
		assert_output '#failed invalid argument'
	done
	long=$(printf 'A%.0s' $(seq 1 2048))
	run -3 rvcat --token "$long" "$HS_URL/$(printf 'p%.0s' $(seq 1 1800))" </dev/null
	assert_output '#failed invalid argument'
	[ ! -s "$HEADS" ]
	# the longest token, on a short path: sent whole
	run rvcat --token "$long" "$HS_URL/ws/party/p" </dev/null
	assert_success
	all_sent "$long"
}

# ---- revenge-probe ---------------------------------------------------------

@test "probe: --token, REVENGE_TOKEN and --token-file are sent; a flag wins over the environment" {
	record 401
	run -3 "$PROBE" --url "$HS_URL" --token "$TOKEN" chat
	all_sent "$TOKEN"

	: >"$HEADS"
	REVENGE_TOKEN="$OTHER" run -3 "$PROBE" --url "$HS_URL" chat
	all_sent "$OTHER"

	: >"$HEADS"
	REVENGE_TOKEN="$OTHER" run -3 "$PROBE" --url "$HS_URL" --token "$TOKEN" chat
	all_sent "$TOKEN"

	# the file's trailing newline (CRLF too) is not part of the token
	printf '%s\r\n' "$TOKEN" >"$BATS_TEST_TMPDIR/token"
	: >"$HEADS"
	REVENGE_TOKEN="$OTHER" run -3 "$PROBE" --url "$HS_URL" --token-file "$BATS_TEST_TMPDIR/token" chat
	all_sent "$TOKEN"

	# no token, no header
	: >"$HEADS"
	run -3 "$PROBE" --url "$HS_URL" chat
	assert_equal "$(header_lines Authorization)" ''
	assert_equal "$(ws_heads)" 1
}

@test "probe: every check's clients and every scenario client carry it; it shows nowhere, --json included" {
	record_real
	for check in "sync --members 3" chat progress "quality --session q1" \
		"run $BATS_TEST_DIRNAME/../../docs/examples/chat.json" "tail --count 1 /ws/party/t"; do
		: >"$HEADS"
		# shellcheck disable=SC2086
		run "$PROBE" --url "$HS_URL" --timeout 5s --token "$TOKEN" $check
		assert_success
		refute_output --partial "$TOKEN"
		all_sent "$TOKEN"
		# shellcheck disable=SC2086
		run "$PROBE" --url "$HS_URL" --timeout 5s --json --token "$TOKEN" $check
		refute_output --partial "$TOKEN"
	done
	: >"$HEADS"
	run "$PROBE" --url "$HS_URL" --token "$TOKEN" sync --members 3
	assert_success
	assert_equal "$(ws_heads)" 4
	all_sent "$TOKEN"

	# refused: the failure, plain and --json, says 401 and not the token
	record 401
	run -3 "$PROBE" --url "$HS_URL" --token "$TOKEN" sync
	assert_output --partial 'refused with HTTP 401'
	refute_output --partial "$TOKEN"
	run -3 "$PROBE" --url "$HS_URL" --json --token "$TOKEN" sync
	assert_output --partial 'refused with HTTP 401'
	refute_output --partial "$TOKEN"
}

@test "probe: unusable tokens are usage errors (exit 2) before any connection, never quoted" {
	record 101
	run -2 "$PROBE" --url "$HS_URL" --token '' chat
	assert_output 'revenge-probe: --token: empty (see --help)'
	run -2 "$PROBE" --url "$HS_URL" --token 'abc def' chat
	assert_output --partial '--token: not a token: only A-Z a-z 0-9 - _ . may appear'
	refute_output --partial 'abc def'
	run -2 "$PROBE" --url "$HS_URL" --token "secret${CR}"$'\nX-Injected: 1' chat
	assert_output --partial '--token: not a token'
	refute_output --partial 'secret'
	refute_output --partial 'Injected'
	REVENGE_TOKEN='' run -2 "$PROBE" --url "$HS_URL" chat
	assert_output 'revenge-probe: REVENGE_TOKEN: empty (see --help)'
	REVENGE_TOKEN='sec ret' run -2 "$PROBE" --url "$HS_URL" chat
	assert_output --partial 'REVENGE_TOKEN: not a token'
	refute_output --partial 'sec ret'
	run -2 "$PROBE" --url "$HS_URL" --token-file "$BATS_TEST_TMPDIR/none" chat
	assert_output --partial "--token-file: cannot read '$BATS_TEST_TMPDIR/none': No such file"
	: >"$BATS_TEST_TMPDIR/empty"
	run -2 "$PROBE" --url "$HS_URL" --token-file "$BATS_TEST_TMPDIR/empty" chat
	assert_output --partial "--token-file '$BATS_TEST_TMPDIR/empty': empty"
	printf 'sec ret\n' >"$BATS_TEST_TMPDIR/spaced"
	run -2 "$PROBE" --url "$HS_URL" --token-file "$BATS_TEST_TMPDIR/spaced" chat
	assert_output --partial 'not a token'
	refute_output --partial 'sec ret'
	run -2 "$PROBE" --url "$HS_URL" --token-file "$BATS_TEST_TMPDIR" chat
	assert_output --partial 'Is a directory'
	run -2 "$PROBE" --url "$HS_URL" --token a --token-file "$BATS_TEST_TMPDIR/spaced" chat
	assert_output --partial 'give one, not both'
	run -2 "$PROBE" --url "$HS_URL" --token "$(printf 'A%.0s' $(seq 1 2049))" chat
	assert_output --partial 'longer than 2048 bytes'
	run -2 "$PROBE" --url "$HS_URL" --token
	assert_output --partial -- '--token: missing value'
	[ ! -e "$HEADS" ]
}

# ---- revenge-bench -----------------------------------------------------------

@test "bench: every generated connection carries it, connect --raw's too, from each source" {
	record 401
	for sc in "connect --conns 4" "connect --raw --conns 4" "progress --sessions 4" \
		"fanout --parties 2 --members 2" "chat --parties 2 --members 2"; do
		: >"$HEADS"
		# shellcheck disable=SC2086
		run -1 "$BENCH" --url "$HS_URL" --token "$TOKEN" --duration 200ms $sc --server-pid "$HS_PID"
		assert_line --partial 'first failure refused: HTTP 401'
		all_sent "$TOKEN"
	done
	: >"$HEADS"
	REVENGE_TOKEN="$OTHER" run -1 "$BENCH" --url "$HS_URL" --duration 200ms connect --conns 3
	all_sent "$OTHER"
	: >"$HEADS"
	REVENGE_TOKEN="$OTHER" run -1 "$BENCH" --url "$HS_URL" --token "$TOKEN" --duration 200ms \
		connect --raw --conns 3
	all_sent "$TOKEN"
	printf '%s\n' "$TOKEN" >"$BATS_TEST_TMPDIR/token"
	: >"$HEADS"
	REVENGE_TOKEN="$OTHER" run -1 "$BENCH" --url "$HS_URL" --token-file "$BATS_TEST_TMPDIR/token" \
		--duration 200ms progress --sessions 3
	all_sent "$TOKEN"
}

@test "bench: against a real server every member, churning ones too, carries it; it shows nowhere" {
	record_real
	for sc in "connect --conns 20" "connect --raw --conns 20" "progress --sessions 5" \
		"fanout --parties 2 --members 3" "chat --parties 2 --members 3" \
		"churn --parties 1 --members 2 --churn 20"; do
		: >"$HEADS"
		# shellcheck disable=SC2086
		run "$BENCH" --url "$HS_URL" --token "$TOKEN" --duration 500ms $sc --server-pid "$SERVER_PID"
		assert_success
		refute_output --partial "$TOKEN"
		all_sent "$TOKEN"
	done
	# churn: more handshakes than the stable members'
	[ "$(ws_heads)" -gt 2 ]
	for sc in "connect --raw --conns 5" "churn --parties 1 --members 2 --churn 20"; do
		# shellcheck disable=SC2086
		run "$BENCH" --url "$HS_URL" --token "$TOKEN" --duration 300ms --json $sc \
			--server-pid "$SERVER_PID"
		assert_success
		refute_output --partial "$TOKEN"
	done
}

@test "bench: unusable tokens are usage errors (exit 2) before any connection, never quoted" {
	record 101
	run -2 "$BENCH" --url "$HS_URL" --token '' connect
	assert_output 'revenge-bench: --token: empty (see --help)'
	run -2 "$BENCH" --url "$HS_URL" --token 'abc def' connect --raw
	assert_output --partial '--token: not a token'
	refute_output --partial 'abc def'
	run -2 "$BENCH" --url "$HS_URL" --token "secret${CR}"$'\nX-Injected: 1' progress
	refute_output --partial 'secret'
	REVENGE_TOKEN='' run -2 "$BENCH" --url "$HS_URL" connect
	assert_output 'revenge-bench: REVENGE_TOKEN: empty (see --help)'
	run -2 "$BENCH" --url "$HS_URL" --token-file "$BATS_TEST_TMPDIR/none" connect
	assert_output --partial 'cannot read'
	[ ! -e "$HEADS" ]
}

# ---- revenge-party -----------------------------------------------------------

tm() {
	tmux -L "$TMUX_SOCK" "$@"
}

screen() {
	tm capture-pane -p -t "$1"
}

wait_screen() {
	# generous: this file runs beside others (scripts/run-tests.sh)
	local i n=$(( ${3:-10} * 10 ))
	for i in $(seq 1 "$n"); do
		screen "$1" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	echo "--- $1 never showed '$2':" >&2
	screen "$1" >&2
	return 1
}

# party NAME URL [ARGS...]: revenge-party in a tmux session, started from a
# script so the command line on the screen does not hold the token; the
# script sets REVENGE_TOKEN as the caller has it (the tmux server's own
# environment is the first session's).
party() {
	local name=$1 url=$2
	shift 2
	{
		printf 'unset REVENGE_TOKEN\n'
		[ -z "${REVENGE_TOKEN+set}" ] || printf 'export REVENGE_TOKEN=%q\n' "$REVENGE_TOKEN"
		printf 'exec %q --name %q' "$TUI" "$name"
		printf ' %q' "$@" "$url" tok
		printf '\n'
	} >"$BATS_TEST_TMPDIR/run-$name"
	tm new-session -d -s "$name" -x 100 -y 30 "bash --norc --noprofile"
	tm send-keys -t "$name" "PS1='$ '; bash $BATS_TEST_TMPDIR/run-$name; echo EXITED:\$?" Enter
}

@test "party: the join and every rejoin carry it; a refused token is said, never shown" {
	command -v tmux >/dev/null || skip "tmux is not installed"
	export TERM=xterm-256color LANG=C.UTF-8 LC_ALL=C.UTF-8
	export XDG_STATE_HOME="$BATS_TEST_TMPDIR/state"
	record_real
	party ann "$HS_URL" --token "$TOKEN"
	wait_screen ann "host: ann"
	all_sent "$TOKEN"
	run screen ann
	refute_output --partial "$TOKEN"

	# the server hangs up at once: each reconnection sends it again
	kill "$HS_PID"
	record drop
	printf '%s\n' "$TOKEN" >"$BATS_TEST_TMPDIR/token"
	REVENGE_TOKEN="$OTHER" party bob "$HS_URL" --token-file "$BATS_TEST_TMPDIR/token"
	for i in $(seq 1 150); do
		[ "$(ws_heads)" -ge 3 ] && break
		sleep 0.1
	done
	[ "$(ws_heads)" -ge 3 ]
	all_sent "$TOKEN"

	kill "$HS_PID"
	record 401
	tm send-keys -t ann "/quit" Enter
	wait_screen ann "EXITED:0"
	tm send-keys -t ann "clear" Enter
	tm send-keys -t ann "REVENGE_TOKEN=\$(cat $BATS_TEST_TMPDIR/token) $TUI $HS_URL tok; echo EXITED:\$?" Enter
	wait_screen ann "the server refused the token \(HTTP 401\)"
	all_sent "$TOKEN"
	run screen ann
	refute_output --partial "$TOKEN"
	tm send-keys -t ann Enter
	wait_screen ann "EXITED:1"

	# without one, the refusal says how to give one
	: >"$HEADS"
	party cyd "$HS_URL"
	wait_screen cyd "the server wants a token \(HTTP 401\)"
	assert_equal "$(header_lines Authorization)" ''
}

@test "party: unusable tokens are usage errors (exit 2), even off a terminal, never quoted" {
	run -2 "$TUI" --token '' ws://127.0.0.1:1 p
	assert_output 'revenge-party: --token: empty (see --help)'
	run -2 "$TUI" --token "secret${CR}"$'\nX-Injected: 1' ws://127.0.0.1:1 p
	assert_output --partial '--token: not a token'
	refute_output --partial 'secret'
	REVENGE_TOKEN='' run -2 "$TUI" ws://127.0.0.1:1 p
	assert_output 'revenge-party: REVENGE_TOKEN: empty (see --help)'
	: >"$BATS_TEST_TMPDIR/empty"
	run -2 "$TUI" --token-file "$BATS_TEST_TMPDIR/empty" ws://127.0.0.1:1 p
	assert_output --partial 'empty'
	run -2 "$TUI" --token a --token-file "$BATS_TEST_TMPDIR/empty" ws://127.0.0.1:1 p
	assert_output --partial 'give one, not both'
}
