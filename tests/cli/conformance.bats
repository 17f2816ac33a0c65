#!/usr/bin/env bats
# RFC 6455 at the frame level, with a raw-socket client (tests/helpers/
# wsraw.py) that sends what correct clients never do. What lws 4.1.6 cannot
# be made to do is listed in docs/architecture.md, "RFC 6455 conformance".
load helpers

setup_file() {
	# the cases send thousands of messages and frames in a row: the rate
	# and frame limits are rx_defence.bats's subject, not this file's
	start_server --ping-interval 1 --rate-limit 0 --frame-rate 0
	echo "$SERVER_PID" >"$BATS_FILE_TMPDIR/pid"
	echo "$PORT" >"$BATS_FILE_TMPDIR/port"
}

teardown_file() {
	SERVER_PID=$(cat "$BATS_FILE_TMPDIR/pid")
	stop_server
}

conf() {
	run env PYTHONPATH="$PYHELP" "$PY" "$PYHELP/conformance.py" "$(cat "$BATS_FILE_TMPDIR/port")" "$1"
	assert_success
}

@test "invalid UTF-8 in a text frame closes with 1007" { conf invalid_utf8_text; }
@test "invalid UTF-8 split across fragments closes with 1007" { conf invalid_utf8_fragmented; }
@test "fragments are reassembled and a ping between them is answered" { conf fragmented_text; }
@test "ping is answered with a pong carrying its payload" { conf ping_pong; }
@test "a normal close is echoed" { conf close_echo; }
@test "a 1-byte close payload fails with 1002" { conf close_one_byte; }
@test "close codes the RFC forbids fail with 1002" { conf close_bad_code; }
@test "a close reason that is not UTF-8 fails the connection" { conf close_bad_reason; }
@test "reserved bits fail with 1002" { conf reserved_bits; }
@test "reserved opcodes fail with 1002" { conf reserved_opcodes; }
@test "fragmented or oversized control frames fail with 1002" { conf bad_control_frames; }
@test "continuation errors fail with 1002" { conf bad_continuation; }
@test "a binary frame closes with 1003" { conf binary; }
@test "a message over the limit closes with 1009" { conf oversize_announced; }
# bats test_tags=timed
@test "a peer that announces a huge frame and goes silent is reaped" { conf silent_peer_reaped; }
# bats test_tags=timed
@test "an idle peer that answers pings is pinged each interval and kept" { conf idle_peer_pinged_and_kept; }

@test "an unmasked client frame closes with 1002" { conf unmasked_frame; }
# bats test_tags=timed
@test "after a protocol error the server sends its FIN at once" { conf error_closes_promptly; }
# bats test_tags=timed
@test "a header announcing 100 MB is refused with 1009 before any payload" { conf huge_header_refused_at_once; }
@test "several pings sent at once are each answered" { conf pings_while_pong_pending; }
@test "permessage-deflate: the 8-byte frame that crashed lws closes with 1007" { conf deflate_crash_frame; }
@test "permessage-deflate: {} and 2000..5000 spaces, each answered" { conf deflate_boundary; }
@test "permessage-deflate: random compressed garbage closes, server up" { conf deflate_random_frames; }
@test "permessage-deflate: a bomb past --max-message closes with 1009" { conf deflate_bomb; }
@test "permessage-deflate: a fragmented compressed message is relayed" { conf deflate_fragmented; }
@test "permessage-deflate: 256 bytes or more compressed, each message on its own both ways" { conf deflate_threshold; }
@test "a client that does not offer permessage-deflate gets plain frames" { conf deflate_not_offered; }
@test "permessage-deflate: a compressed ping or close (RSV1 on a control frame) closes with 1002" { conf deflate_compressed_ping; }
@test "RSV1 on a continuation frame closes with 1002, not 1007" { conf deflate_rsv1_continuation; }
@test "a 126-byte ping gets a 1002 close frame; a 125-byte one its pong" { conf long_ping_close_frame; }

# bats test_tags=timed
@test "a stalled handshake is dropped within the handshake timeout" {
	# its own server with a 1 s timeout: fdlimit.bats checks the 5 s default
	start_server --handshake-timeout 1
	run "$PY" - "$PORT" <<'PYEOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /ws/party/x HTTP/1.1\r\n")
s.settimeout(12)
t0 = time.monotonic()
try:
    s.recv(100)
except OSError:
    pass
print(round(time.monotonic() - t0))
PYEOF
	stop_server
	[ "$output" -le 4 ] || fail "handshake held for ${output}s, --handshake-timeout 1"
}
