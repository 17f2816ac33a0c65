"""tests/helpers/raw_handshake_server.py MODE [ARGS] - a bare-socket
WebSocket server for revenge-bench connect --raw, which reads the handshake
itself (cmd/revenge-bench/rawconn.c), and for looking at what any client
sends. Prints "listening PORT" once it accepts connections. Modes:
  split      a right answer, cut into pieces with pauses in between (the
             head, then frames of 7-, 16- and 64-bit lengths and two pings,
             headers and payloads cut too); prints "pong PAYLOAD" for each
             pong that answers a ping, then sends a close frame, code 1001
  badaccept  101 with a wrong Sec-WebSocket-Accept
  busy       503 Service Unavailable
  record FILE [ANSWER]
             append every request head, as received, to FILE (one write
             each, the blank line included), then answer: 101 (the
             default) a right answer selecting revenge.v1, the connection
             held until the client closes it; 401 Unauthorized, then
             close; drop: 101, then close at once (the client sees the
             connection lost and may reconnect); bearer: 101 selecting
             the last subprotocol offered (a "bearer.TOKEN" entry);
             forward:PORT: hand the connection, the head included, to
             127.0.0.1:PORT (a real server) and relay both ways
"""
import base64
import hashlib
import socket
import struct
import sys
import threading
import time

MODE = sys.argv[1]
ANSWER = sys.argv[3] if MODE == "record" and len(sys.argv) > 3 else "101"
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
LOCK = threading.Lock()


def say(line):
    with LOCK:
        print(line, flush=True)


def frame(op, payload):
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | op, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | op, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | op, 127, n)
    return head + payload


def read_head(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        got = s.recv(4096)
        if not got:
            return None
        buf += got
    return buf


def hold(s):
    """Read until the client closes: EOF or a close frame."""
    while True:
        got = s.recv(4096)
        if not got or (got[0] & 0x0F) == 8:
            return


def pump(src, dst):
    """Copy src to dst until src ends, then end dst's side too."""
    try:
        while True:
            got = src.recv(65536)
            if not got:
                break
            dst.sendall(got)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def forward(s, data, port):
    up = socket.create_connection(("127.0.0.1", port))
    up.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    up.sendall(data)
    back = threading.Thread(target=pump, args=(up, s), daemon=True)
    back.start()
    pump(s, up)
    back.join()
    up.close()


def serve(s):
    try:
        head = read_head(s)
        if head is None:
            return
        if MODE == "record":
            with LOCK, open(sys.argv[2], "ab") as f:
                f.write(head[:head.index(b"\r\n\r\n") + 4])
            if ANSWER.startswith("forward:"):
                forward(s, head, int(ANSWER.split(":", 1)[1]))
                return
        key = b""
        proto = b"revenge.v1"
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-key:"):
                key = line.split(b":", 1)[1].strip()
            if line.lower().startswith(b"sec-websocket-protocol:") and ANSWER == "bearer":
                proto = line.split(b":", 1)[1].split(b",")[-1].strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        if MODE == "record" and ANSWER == "401":
            s.sendall(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
                      b"Connection: close\r\n\r\n")
            return
        if MODE == "busy":
            s.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            time.sleep(1)
            return
        if MODE == "badaccept":
            accept = base64.b64encode(hashlib.sha1(b"not the key" + GUID).digest())
        answer = (b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Protocol: " + proto + b"\r\n"
                  b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        if MODE == "badaccept":
            s.sendall(answer)
            time.sleep(1)
            return
        if MODE == "record":
            s.sendall(answer)
            if ANSWER != "drop":
                hold(s)
            return
        # split: every piece is its own write, after a pause; the cuts
        # fall inside the head, frame headers and a ping's payload
        frames = [frame(1, b'{"type":"welcome"}'), frame(2, b"x" * 300),
                  frame(2, b"y" * 70000), frame(9, b"ka"), frame(9, b"k2")]
        data, cuts = answer, [10, len(answer) - 3]
        for f in frames:
            cuts += [len(data) + 1, len(data) + 3]
            data += f
        cuts.append(len(data) - 1)
        last = 0
        for cut in cuts + [len(data)]:
            s.sendall(data[last:cut])
            last = cut
            time.sleep(0.02)
        # the two pongs, masked, each with its ping's payload
        s.settimeout(2)
        for _ in range(2):
            got = b""
            while len(got) < 8:
                more = s.recv(8 - len(got))
                if not more:
                    break
                got += more
            if len(got) == 8 and got[0] == 0x8A and got[1] == 0x82:
                payload = bytes(b ^ got[2 + i % 4] for i, b in enumerate(got[6:8]))
                say("pong " + payload.decode(errors="replace"))
            else:
                say(f"bad pong {got!r}")
        time.sleep(0.2)
        s.sendall(frame(8, struct.pack("!H", 1001) + b"going away"))
        time.sleep(1)
    except OSError:
        pass
    finally:
        s.close()


def main():
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(128)
    print(f"listening {ls.getsockname()[1]}", flush=True)
    while True:
        s, _ = ls.accept()
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=serve, args=(s,), daemon=True).start()


main()
