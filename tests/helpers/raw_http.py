"""tests/helpers/raw_http.py PORT KIND [ARG] - one hand-made HTTP request over
a raw socket, for what http.client cannot send (a chosen Host, a request
head of a given size, %00 in the target). Prints the status line's code and
the body's first line, or "dropped" when the server closed without an
answer, or "held" when it answered nothing within 5 s.

KIND: host NAME PATH (GET PATH with Host: NAME) | head BYTES PATH (a head
of exactly BYTES bytes, padded with one header) | fields N PATH (N header
fields) | target TARGET (an upgrade request for TARGET)."""
import socket
import sys

PORT = int(sys.argv[1])
KIND = sys.argv[2]
UPGRADE = ("Upgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")


def request():
    if KIND == "host":
        return f"GET {sys.argv[4]} HTTP/1.1\r\nHost: {sys.argv[3]}\r\n\r\n"
    if KIND == "head":
        want, path = int(sys.argv[3]), sys.argv[4]
        start = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
        if path.startswith("/ws/"):
            start += UPGRADE
        pad = want - len(start) - len("X-Pad: \r\n\r\n")
        return start + "X-Pad: " + "p" * pad + "\r\n\r\n"
    if KIND == "fields":
        start = f"GET {sys.argv[4]} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n"
        have = 1
        if sys.argv[4].startswith("/ws/"):
            start += UPGRADE
            have += 4
        return start + "".join(f"X-F{i}: v\r\n" for i in range(int(sys.argv[3]) - have)) + "\r\n"
    if KIND == "target":
        return f"GET {sys.argv[3]} HTTP/1.1\r\nHost: 127.0.0.1:{PORT}\r\n" + UPGRADE + "\r\n"
    raise SystemExit(f"unknown kind {KIND}")


req = request().encode()
s = socket.create_connection(("127.0.0.1", PORT))
s.settimeout(5)
s.sendall(req)
data = b""
try:
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if head.startswith(b"HTTP/1.1 ") and b"\ncontent-length:" in head.lower():
        n = int(head.lower().split(b"\ncontent-length:")[1].split(b"\r\n")[0])
        while len(body) < n:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
except socket.timeout:
    print("held" if not data else data.split(b"\r\n")[0].decode())
    sys.exit(0)
except ConnectionResetError:
    pass
if not data:
    print("dropped")
else:
    print(head.split(b" ")[1].decode())
    print(body.split(b"\n")[0].decode(errors="replace"))
