"""tests/helpers/web_http.py PORT PATH [HEADER=VALUE...] - one GET of PATH
sent as written (no normalising of .. or %2e), printing the status, then
each response header as "name: value" (lower-case names), then "body:"
and the body's length and sha256."""
import hashlib
import socket
import sys

port, path = int(sys.argv[1]), sys.argv[2]
extra = "".join("%s: %s\r\n" % tuple(h.split("=", 1)) for h in sys.argv[3:])
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%sConnection: close\r\n\r\n"
           % (path, port, extra)).encode())
data = b""
while True:
    try:
        chunk = s.recv(65536)
    except socket.timeout:
        break
    if not chunk:
        break
    data += chunk
head, _, body = data.partition(b"\r\n\r\n")
lines = head.decode("latin-1").split("\r\n")
print(lines[0].split(" ")[1] if lines and " " in lines[0] else "dropped")
for ln in lines[1:]:
    k, _, v = ln.partition(":")
    print("%s: %s" % (k.strip().lower(), v.strip()))
print("body: %d %s" % (len(body), hashlib.sha256(body).hexdigest()))
