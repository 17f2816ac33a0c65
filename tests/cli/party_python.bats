#!/usr/bin/env bats
# The watch party, driven by an independent client (python3-websockets)
# against a real revenge-server on a free port.
load helpers

setup_file() {
	start_server
	echo "$SERVER_PID" >"$BATS_FILE_TMPDIR/pid"
	echo "$URL" >"$BATS_FILE_TMPDIR/url"
}

teardown_file() {
	SERVER_PID=$(cat "$BATS_FILE_TMPDIR/pid")
	stop_server
}

setup() {
	URL=$(cat "$BATS_FILE_TMPDIR/url")
}

scenario() {
	run py "$PYHELP/party_check.py" "$URL" "$1"
	assert_success
}

@test "welcome, member_joined and member_left" { scenario welcome; }
@test "a client offering no subprotocol is accepted" { scenario no_subprotocol; }
@test "sync from the host reaches every member but the host" { scenario sync; }
@test "sync 'at' is honoured within 5 s and ignored beyond" { scenario sync_at; }
@test "sync from a member is forbidden" { scenario sync_forbidden; }
@test "invalid sync payloads get bad_payload" { scenario sync_invalid; }
@test "chat is relayed with name and from, kept in history, limits enforced" { scenario chat_history; }
@test "reaction is relayed to everyone" { scenario reaction; }
@test "time answers with receive and send times" { scenario time; }
@test "transfer_host: forbidden, not_found, host_changed and ack" { scenario transfer_host; }
@test "host leaves: the longest-present member becomes host" { scenario host_leaves; }
@test "bad messages get the right error and the connection stays open" { scenario errors; }
@test "a request id is acked exactly once" { scenario ack_once; }
@test "binary frame closes with 1003" { scenario close_binary; }
@test "message over the size limit closes with 1009" { scenario close_too_large; }
@test "handshake refusals: bad id 400, bad name 400, path 404, subprotocol 400, origin 403" { scenario handshakes; }
@test "permessage-deflate is negotiated and round-trips" { scenario deflate; }
@test "names with bidi controls, line separators or nothing visible are refused with 400; accents and CJK are not" { scenario hostile_names; }
