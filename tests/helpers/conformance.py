"""tests/helpers/conformance.py PORT CASE - RFC 6455 frame-level checks of
revenge-server over a raw socket (see wsraw.py). Prints what the server did
and exits 1 when it is not what the RFC asks for."""
import socket
import struct
import sys
import time
import zlib

from wsraw import Closed, RawWS

PORT = int(sys.argv[1])


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def joined(**kw):
    w = RawWS(PORT, "/ws/party/conf", **kw)
    if w.status != 101:
        fail(f"handshake {w.status_line}")
    op, payload, _ = w.recv_frame()
    if op != 1 or b'"welcome"' not in payload:
        fail(f"expected welcome, got {op} {payload[:60]!r}")
    return w


def expect_close(w, want, what):
    try:
        code, reason, _ = w.recv_until_close()
    except (Closed, OSError) as e:
        fail(f"{what}: connection dropped without a close frame ({e})")
    if code != want:
        fail(f"{what}: close code {code} ({reason!r}), expected {want}")
    print(f"{what}: closed {code} {reason}")


def expect_close_or_drop(w, want, what):
    """RFC 6455 7.1.7: failing the connection may skip the close frame."""
    try:
        code, reason, _ = w.recv_until_close()
    except (Closed, ConnectionResetError):
        print(f"{what}: dropped")
        return
    if code != want:
        fail(f"{what}: close code {code} ({reason!r}), expected {want}")
    print(f"{what}: closed {code} {reason}")


def chat(text):
    return ('{"type":"chat","payload":{"text":"%s"}}' % text).encode()


def case_invalid_utf8_text():
    w = joined()
    w.send_frame(1, b'{"type":"chat","payload":{"text":"\xc3\x28"}}')
    expect_close(w, 1007, "invalid UTF-8 in a text frame")


def case_invalid_utf8_fragmented():
    w = joined()
    w.send_frame(1, b'{"type":"chat","payload":{"text":"\xf0\x9f', fin=False)
    w.send_frame(0, b'\x28\x28"}}', fin=True)
    expect_close(w, 1007, "invalid UTF-8 split over fragments")


def case_fragmented_text():
    w = joined()
    msg = chat("fragmented \xc3\xa9 text".encode("latin-1").decode("latin-1"))
    msg = '{"type":"chat","payload":{"text":"fragmented é"}}'.encode()
    w.send_frame(1, msg[:5], fin=False)
    w.send_frame(0, msg[5:20], fin=False)
    w.send_frame(9, b"mid-ping")         # control frames may interleave
    w.send_frame(0, msg[20:], fin=True)
    got = []
    while len(got) < 2:
        op, payload, _ = w.recv_frame()
        got.append((op, payload))
    ops = sorted(op for op, _ in got)
    if ops != [1, 10]:
        fail(f"expected a pong and a chat, got {got}")
    text = [p for op, p in got if op == 1][0]
    if "fragmented é".encode() not in text:
        fail(f"reassembled chat wrong: {text!r}")
    print("fragmented text reassembled; ping answered mid-message")


def case_ping_pong():
    w = joined()
    w.send_frame(9, b"hello-ping")
    op, payload, _ = w.recv_frame()
    if op != 10 or payload != b"hello-ping":
        fail(f"ping answered with {op} {payload!r}")
    print("pong echoes the ping payload")


def case_close_echo():
    w = joined()
    w.send_frame(8, struct.pack("!H", 1000) + b"bye")
    op, payload, _ = w.recv_frame()
    if op != 8 or struct.unpack("!H", payload[:2])[0] != 1000:
        fail(f"close answered with {op} {payload!r}")
    print("normal close echoed with 1000")


def case_close_one_byte():
    w = joined()
    w.send_frame(8, b"\x03")
    expect_close_or_drop(w, 1002, "close with a 1-byte payload")


def case_close_bad_code():
    for bad in (0, 999, 1004, 1005, 1006, 1016, 2000, 2999, 5000):
        w = joined()
        w.send_frame(8, struct.pack("!H", bad))
        expect_close_or_drop(w, 1002, f"close code {bad}")


def case_close_bad_reason():
    w = joined()
    w.send_frame(8, struct.pack("!H", 1000) + b"\xff\xfe")
    expect_close_or_drop(w, 1007, "close reason with invalid UTF-8")


def case_reserved_bits():
    for rsv in (1, 2, 4):
        w = joined(headers={"Sec-WebSocket-Extensions": ""} if False else None)
        w.send_frame(1, chat("x"), rsv=rsv)
        expect_close_or_drop(w, 1002, f"reserved bits {rsv}")


def case_reserved_opcodes():
    for op in (3, 4, 5, 6, 7, 11, 12, 13, 14, 15):
        w = joined()
        w.send_frame(op, b"x")
        expect_close_or_drop(w, 1002, f"opcode {op}")


def case_bad_control_frames():
    w = joined()
    w.send_frame(9, b"x", fin=False)
    expect_close_or_drop(w, 1002, "fragmented ping")
    w = joined()
    w.send_frame(9, b"x" * 126)
    expect_close_or_drop(w, 1002, "ping payload of 126 bytes")


def case_bad_continuation():
    w = joined()
    w.send_frame(0, b"orphan", fin=True)
    expect_close_or_drop(w, 1002, "continuation with no message")
    w = joined()
    w.send_frame(1, b'{"type":', fin=False)
    w.send_frame(1, b'"chat"}', fin=True)
    expect_close_or_drop(w, 1002, "new text frame inside a fragmented message")


def case_binary():
    w = joined()
    w.send_frame(2, b"\x00\x01\x02")
    expect_close(w, 1003, "binary frame")


def case_oversize_announced():
    # a header announcing more than --max-message is refused on sight
    w = joined()
    w.send_frame(1, b'{"type":"chat","payload":{"text":"' + b"a" * 80000 + b'"}}')
    expect_close(w, 1009, "oversized message")


def case_idle_peer_pinged_and_kept():
    # server runs with --ping-interval 1: an idle peer that answers pings
    # is pinged about once a second and outlives two intervals
    w = joined()
    w.sock.settimeout(4)
    pings, t0 = 0, time.monotonic()
    while time.monotonic() - t0 < 3.5:
        op, payload, _ = w.recv_frame()
        if op == 9:
            pings += 1
            w.send_frame(10, payload)
        elif op == 8:
            fail("closed although it answered every ping")
    if not 2 <= pings <= 5:
        fail(f"{pings} pings in 3.5 s with a 1 s interval")
    w.send_text('{"type":"time","payload":{"client_time":1}}')
    op, payload, _ = w.recv_frame()
    while op == 9:
        op, payload, _ = w.recv_frame()
    if b'"time"' not in payload:
        fail(f"no answer after the pings: {payload[:60]!r}")
    print(f"{pings} pings answered, connection kept")


def case_silent_peer_reaped():
    # a frame header announcing 100 MB and then nothing: the peer answers no
    # pings, so it is closed after two ping intervals (server runs with 1 s)
    w = joined()
    w.sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, 100 * 1024 * 1024) + b"abcd")
    t0 = time.monotonic()
    w.sock.settimeout(10)
    try:
        while w.sock.recv(65536):
            pass
    except OSError:
        pass
    took = time.monotonic() - t0
    if took > 6:
        fail(f"silent peer held the connection {took:.1f}s")
    print(f"silent peer closed after {took:.1f}s")


def case_deflate_threshold():
    import zlib
    w = RawWS(PORT, "/ws/party/defl", headers={
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"})
    ext = [ln for ln in w.headers.split("\r\n")
           if ln.lower().startswith("sec-websocket-extensions:")]
    ext = ext[0] if ext else ""
    if "permessage-deflate" not in ext:
        fail(f"permessage-deflate not negotiated: {w.headers}")
    # The server asks for client_no_context_takeover (RFC 7692 7.1.1.2) so
    # it can drop its inflater between messages.
    if "client_no_context_takeover" not in ext:
        fail(f"no client_no_context_takeover in {ext!r}")

    def text(payload, rsv1):
        # every server message must inflate on its own
        return zlib.decompressobj(-15).decompress(payload + b"\x00\x00\xff\xff") \
            if rsv1 else payload

    op, p, rsv1 = w.recv_frame()
    if b'"welcome"' not in text(p, rsv1):
        fail("no welcome")
    for n, want_compressed in ((10, False), (150, False), (300, True), (1900, True)):
        w.send_text('{"type":"chat","payload":{"text":"%s"}}' % ("y" * n))
        op, p, rsv1 = w.recv_frame()
        body = text(p, rsv1)
        if rsv1 != want_compressed:
            fail(f"{len(body)}-byte message compressed={rsv1}, threshold is 256")
        if ("y" * n).encode() not in body:
            fail(f"garbled message: {body[:60]!r}")
        print(f"{len(body)} bytes -> {len(p)} on the wire, compressed={rsv1}")
    # Compressed client messages, each from a fresh compressor as the
    # negotiated client_no_context_takeover says, in a row: every one is
    # inflated and answered.
    for i, n in enumerate((40, 700, 1800, 3)):
        msg = ('{"type":"chat","payload":{"text":"%s%d"}}' % ("z" * n, i)).encode()
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        body = c.compress(msg) + c.flush(zlib.Z_SYNC_FLUSH)
        w.send_frame(1, body[:-4], rsv=4)
        op, p, rsv1 = w.recv_frame()
        got = text(p, rsv1)
        if op != 1 or ("z" * n + str(i)).encode() not in got:
            fail(f"compressed message {i} not relayed: {got[:60]!r}")
    print("compressed client messages relayed")


def case_deflate_not_offered():
    # A client offering other extensions only gets plain frames
    w = RawWS(PORT, "/ws/party/nodefl", headers={
        "Sec-WebSocket-Extensions": "x-webkit-deflate-frame"})
    if "sec-websocket-extensions" in w.headers.lower():
        fail(f"unexpected extension answer: {w.headers}")
    w.recv_frame()
    w.send_text('{"type":"chat","payload":{"text":"%s"}}' % ("q" * 900))
    op, p, rsv1 = w.recv_frame()
    if rsv1 or b"q" * 900 not in p:
        fail("a connection without permessage-deflate got a compressed frame")


def case_unmasked_frame():
    # RFC 6455 5.1: a server MUST close on an unmasked client frame
    w = joined()
    w.send_frame(1, chat("bare"), mask=False)
    expect_close(w, 1002, "unmasked client frame")


def fin_after_error(w, what, limit):
    """Reads the close frame and then, without answering it, how long the
    server takes to end its side of TCP (its FIN: our recv sees EOF)."""
    w.sock.settimeout(5)
    t0 = time.monotonic()
    try:
        while True:
            op, payload, _ = w.recv_frame()
            if op == 8:
                break
        code = struct.unpack("!H", payload[:2])[0]
        while w.sock.recv(4096):
            pass
    except (Closed, ConnectionResetError):
        fail(f"{what}: no close frame before the connection ended")
    except OSError as e:
        fail(f"{what}: no FIN within 5 s ({e})")
    took = time.monotonic() - t0
    print(f"{what}: close {code}, FIN {took * 1000:.1f} ms after the error")
    if took > limit:
        fail(f"{what}: FIN took {took * 1000:.0f} ms, expected under {limit * 1000:.0f}")
    return code


def case_error_closes_promptly():
    # a protocol error: close frame, then the server's FIN at once (no
    # waiting for our close answer)
    for name, send in (("reserved opcode", lambda w: w.send_frame(5, b"x")),
                       ("unmasked frame", lambda w: w.send_frame(1, b"x", mask=False)),
                       ("bad close code", lambda w: w.send_frame(8, struct.pack("!H", 1005)))):
        w = joined()
        send(w)
        if fin_after_error(w, name, 0.25) != 1002:
            fail(f"{name}: expected 1002")


def case_huge_header_refused_at_once():
    # 100 MB announced, no payload: 1009 before any payload, FIN at once
    w = joined()
    w.sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, 100 * 1024 * 1024) + b"abcd")
    if fin_after_error(w, "100 MB header", 0.25) != 1009:
        fail("expected 1009")


def case_pings_while_pong_pending():
    # RFC 6455 5.5.3: several pings in one go are each answered (at the
    # least the latest must be)
    w = joined()
    frames = b""
    for i in range(5):
        mk = bytes([i + 1] * 4)
        payload = b"ping-%d" % i
        frames += bytes([0x89, 0x80 | len(payload)]) + mk + bytes(
            c ^ mk[j % 4] for j, c in enumerate(payload))
    w.sock.sendall(frames)
    got = []
    w.sock.settimeout(2)
    try:
        while len(got) < 5:
            op, payload, _ = w.recv_frame()
            if op == 10:
                got.append(payload)
    except OSError:
        pass
    if not got or got[-1] != b"ping-4":
        fail(f"pongs {got}: the latest ping was not answered")
    if got != [b"ping-%d" % i for i in range(5)]:
        fail(f"pongs {got}: not every ping answered in order")
    print(f"{len(got)} pings, {len(got)} pongs in order")


def deflated(msg):
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (c.compress(msg) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


def deflate_joined(path="/ws/party/defl"):
    w = RawWS(PORT, path, headers={
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits"})
    if "permessage-deflate" not in w.headers:
        fail(f"permessage-deflate not negotiated: {w.headers}")
    op, p, rsv1 = w.recv_frame()
    return w


def inflate(p, rsv1):
    return zlib.decompressobj(-15).decompress(p + b"\x00\x00\xff\xff") if rsv1 else p


def server_up():
    w = joined()
    w.send_text('{"type":"time","payload":{"client_time":1}}')
    op, p, _ = w.recv_frame()
    if b'"time"' not in p:
        fail(f"server answers oddly after the attack: {p[:80]!r}")
    w.close()


def case_deflate_crash_frame():
    # the 8 bytes that made lws 4.1.6 abort (extension-permessage-deflate.c
    # :351): now invalid compressed data, closed with 1007
    w = deflate_joined()
    w.send_frame(1, bytes.fromhex("4a1c05a360148ce6"), rsv=4)
    expect_close(w, 1007, "hostile compressed frame")
    server_up()
    print("server still up")


def case_deflate_boundary():
    # valid, highly compressible messages ({} and N spaces) of every size
    # from 2000 to 5000 bytes: each gets its answer (an error: {} has no
    # type), the server stays up
    w = deflate_joined()
    for n in range(2000, 5001):
        w.send_frame(1, deflated(b"{}" + b" " * n), rsv=4)
        op, p, rsv1 = w.recv_frame()
        body = inflate(p, rsv1)
        if op != 1 or b'"error"' not in body:
            fail(f"{{}} + {n} spaces: answered {op} {body[:80]!r}")
    # and a real message padded to the same sizes is relayed
    for n in (2000, 3080, 4095, 5000):
        msg = ('{"type":"chat","payload":{"text":"%s"}}%s' % ("s" * 1500, " " * (n - 1500))).encode()
        w.send_frame(1, deflated(msg), rsv=4)
        op, p, rsv1 = w.recv_frame()
        if b"s" * 1500 not in inflate(p, rsv1):
            fail(f"chat of {n} not relayed")
    server_up()
    print("3001 compressed sizes answered, server up")


def case_deflate_random_frames():
    # compressed garbage: closed with 1007 (or 1002/1009, or answered when
    # it happens to inflate to text), never a crash
    import random
    rng = random.Random(6455)
    codes = {}
    for i in range(40):
        w = deflate_joined()
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        w.send_frame(1, junk, rsv=4)
        w.send_text('{"type":"time","payload":{"client_time":1}}')
        try:
            code, _, _ = w.recv_until_close(timeout=3)
        except (Closed, OSError):
            fail(f"frame {i}: no close frame")
        if code not in (1002, 1007, 1009):
            fail(f"frame {i}: close {code}")
        codes[code] = codes.get(code, 0) + 1
        w.close()
    server_up()
    print(f"40 garbage frames closed {codes}, server up")


def case_deflate_bomb():
    # 1 MB of zeros is about 1 KB compressed: inflating stops at
    # --max-message and closes with 1009
    w = deflate_joined()
    bomb = deflated(b"\x00" * (1 << 20))
    w.send_frame(1, bomb, rsv=4)
    expect_close(w, 1009, f"deflate bomb ({len(bomb)} bytes)")
    server_up()


def case_deflate_fragmented():
    # a compressed message in three frames, RSV1 on the first only
    w = deflate_joined()
    msg = ('{"type":"chat","payload":{"text":"%s"}}' % ("f" * 900)).encode()
    z = deflated(msg)
    w.send_frame(1, z[:5], fin=False, rsv=4)
    w.send_frame(0, z[5:9], fin=False)
    w.send_frame(0, z[9:], fin=True)
    op, p, rsv1 = w.recv_frame()
    if b"f" * 900 not in inflate(p, rsv1):
        fail("fragmented compressed message not relayed")
    print("fragmented compressed message relayed")


def case_deflate_compressed_ping():
    # RFC 7692 6.1: RSV1 is for the first frame of a data message; a
    # control frame is never compressed, so a "compressed" ping is a
    # protocol error even on a deflate connection (issue 12: lws ignored it)
    w = deflate_joined()
    w.send_frame(9, deflated(b"hello"), rsv=4)
    expect_close(w, 1002, "compressed ping on a deflate connection")
    w = deflate_joined()
    w.send_frame(8, b"\x03\xe8", rsv=4)
    expect_close(w, 1002, "compressed close on a deflate connection")
    server_up()


def case_deflate_rsv1_continuation():
    # RSV1 on a continuation frame is a frame-level error (1002), not a
    # bad payload (1007), with or without deflate
    w = deflate_joined()
    z = deflated(('{"type":"chat","payload":{"text":"%s"}}' % ("c" * 300)).encode())
    w.send_frame(1, z[:4], fin=False, rsv=4)
    w.send_frame(0, z[4:], fin=True, rsv=4)
    expect_close(w, 1002, "RSV1 on a continuation (deflate)")
    w = joined()
    w.send_frame(1, b'{"type":', fin=False)
    w.send_frame(0, b'"time"}', fin=True, rsv=4)
    expect_close(w, 1002, "RSV1 on a continuation (no deflate)")


def case_long_ping_close_frame():
    # a 126-byte ping gets a 1002 close frame, not a dropped connection
    for kw, what in (({}, "plain"), ({"deflate": True}, "deflate")):
        w = deflate_joined() if kw else joined()
        w.send_frame(9, b"x" * 126)
        expect_close(w, 1002, f"126-byte ping ({what})")
    w = joined()
    w.send_frame(9, b"y" * 125)
    op, p, _ = w.recv_frame()
    if op != 10 or p != b"y" * 125:
        fail(f"125-byte ping: got opcode {op}, {len(p)} bytes")
    print("125-byte ping answered")


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}
if __name__ == "__main__":
    CASES[sys.argv[2]]()
