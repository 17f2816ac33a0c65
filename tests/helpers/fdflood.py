"""tests/helpers/fdflood.py - many raw TCP clients against revenge-server,
to see what it does at its descriptor limits (tests/cli/fdlimit.bats,
scripts/measure-fdlimit.py).

    python3 fdflood.py flood --port P [--clients N] [--seconds S] [--pid PID]
                             [--log FILE] [--retry] [--settle S]
    python3 fdflood.py slow --port P [--clients N] [--seconds S]
                            [--sources FIRST-LAST] [--silent]

flood: N clients each send a WebSocket upgrade for /ws/party/flood and
hold what they get; with --retry, a refused one connects again 0.2 s
later. After --settle seconds, for --seconds seconds, it samples the
server's CPU (from /proc/PID/stat) and its log's growth (bytes of FILE),
and asks /healthz and /metrics on fresh connections. Prints one JSON
object: ok (101 answers), refused (other 503 answers), per_ip (503s whose body
names the per-address cap), reset, closed (closed with no answer),
waiting (no answer yet), healthz and metrics (HTTP status; 0: none within
3 s), cpu_pct and log_bps.

slow: N clients from source addresses 127.0.0.FIRST..LAST (round robin,
so a per-address cap is not what stops them) send half an upgrade request
and then one byte a second, never ending their headers (slowloris); with
--silent they send nothing (a TLS client that never says hello). Once
they are all connected, a new client must get its 101 and /healthz its
200; then it waits up to --seconds for the server to drop them. Prints
one JSON object: connected, new_client (HTTP status), healthz, dropped
(slow clients the server closed), dropped_after (seconds from the last
connect to the last drop seen).

Every loop is bounded by its clients and its seconds; all traffic stays
on 127.0.0.0/8.
"""
import argparse
import errno
import http.client
import json
import os
import selectors
import socket
import threading
import time

REQUEST = (b"GET /ws/party/flood HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: revenge.v1\r\n\r\n")
HALF = b"GET /ws/party/slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]) + int(rest[12])      # utime + stime


def file_size(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def http_status(port, path, out, key):
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
        c.request("GET", path)
        r = c.getresponse()
        r.read()
        out[key] = r.status
        c.close()
    except (OSError, http.client.HTTPException):
        out[key] = 0


class Client:
    def __init__(self, port, src=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        if src:
            self.sock.bind((src, 0))
        err = self.sock.connect_ex(("127.0.0.1", port))
        if err not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(err, os.strerror(err))
        self.buf = b""
        self.sent = False
        self.status = None


def flood(a):
    sel = selectors.DefaultSelector()
    counts = dict(ok=0, refused=0, per_ip=0, reset=0, closed=0)
    retry_at = []
    live = set()

    def open_one():
        try:
            c = Client(a.port)
        except OSError:
            counts["reset"] += 1
            return
        live.add(c)
        sel.register(c.sock, selectors.EVENT_WRITE, c)

    def finish(c, outcome):
        sel.unregister(c.sock)
        c.sock.close()
        live.discard(c)
        if outcome:
            counts[outcome] += 1
        if a.retry and outcome:
            retry_at.append(time.monotonic() + 0.2)

    for _ in range(a.clients):
        open_one()
    start = time.monotonic()
    t0 = start + a.settle
    end = t0 + a.seconds
    measured = {}
    probes = None
    while time.monotonic() < end:
        now = time.monotonic()
        if not measured and now >= t0:
            if a.pid:
                measured["ticks"] = cpu_ticks(a.pid)
            measured["log"] = file_size(a.log) if a.log else 0
            measured["t"] = now
            probes = {}
            for key, path in (("healthz", "/healthz"), ("metrics", "/metrics")):
                threading.Thread(target=http_status, args=(a.port, path, probes, key),
                                 daemon=True).start()
        while retry_at and retry_at[0] <= now:
            retry_at.pop(0)
            open_one()
        for key, ev in sel.select(timeout=0.05):
            c = key.data
            if ev & selectors.EVENT_WRITE and not c.sent:
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    finish(c, "reset")
                    continue
                try:
                    c.sock.send(REQUEST)
                except OSError:
                    finish(c, "reset")
                    continue
                c.sent = True
                sel.modify(c.sock, selectors.EVENT_READ, c)
                continue
            try:
                data = c.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                finish(c, "reset" if c.status is None else None)
                continue
            if not data:
                if c.status is None:
                    finish(c, "closed")
                else:
                    finish(c, None)           # a 101 already counted
                continue
            if c.status is not None:
                continue                      # pings and the like
            c.buf += data
            if b"\r\n\r\n" not in c.buf and len(c.buf) < 8192:
                continue
            try:
                c.status = int(c.buf.split(b" ", 2)[1])
            except (IndexError, ValueError):
                c.status = 0
            if c.status == 101:
                counts["ok"] += 1
            elif c.status == 503:
                finish(c, "per_ip" if b"one address" in c.buf else "refused")
            else:
                finish(c, "closed")
    now = time.monotonic()
    result = dict(counts)
    result["waiting"] = sum(1 for c in live if c.status is None)
    if measured:
        dt = now - measured["t"]
        if a.pid:
            result["cpu_pct"] = round(
                (cpu_ticks(a.pid) - measured["ticks"]) / os.sysconf("SC_CLK_TCK") / dt * 100, 1)
        result["log_bps"] = round((file_size(a.log) - measured["log"]) / dt) if a.log else 0
        deadline = time.monotonic() + 3.5
        while len(probes) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        result["healthz"] = probes.get("healthz", 0)
        result["metrics"] = probes.get("metrics", 0)
    for c in list(live):
        c.sock.close()
    print(json.dumps(result))


def slow(a):
    first, last = (int(x) for x in a.sources.split("-"))
    srcs = [f"127.0.0.{i}" for i in range(first, last + 1)]
    clients = []
    for i in range(a.clients):
        try:
            c = Client(a.port, srcs[i % len(srcs)])
        except OSError:
            continue
        clients.append(c)
    # let the connects finish, then send half a request on each
    sel = selectors.DefaultSelector()
    for c in clients:
        sel.register(c.sock, selectors.EVENT_WRITE, c)
    deadline = time.monotonic() + 5
    pending = len(clients)
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            sel.unregister(c.sock)
            pending -= 1
            if c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                c.status = -1
                continue
            if a.silent:
                continue
            try:
                c.sock.send(HALF)
            except OSError:
                c.status = -1
    connected_at = time.monotonic()
    up = [c for c in clients if c.status is None]
    result = {"connected": len(up)}

    # a newcomer is served while they hang
    probes = {}
    t = time.monotonic()
    try:
        s = socket.create_connection(("127.0.0.1", a.port), timeout=3)
        s.sendall(REQUEST.replace(b"/flood", b"/newcomer"))
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 8192:
            d = s.recv(4096)
            if not d:
                break
            head += d
        result["new_client"] = int(head.split(b" ", 2)[1]) if head else 0
        s.close()
    except (OSError, IndexError, ValueError):
        result["new_client"] = 0
    result["new_client_s"] = round(time.monotonic() - t, 3)
    http_status(a.port, "/healthz", probes, "healthz")
    result["healthz"] = probes["healthz"]

    # trickle a byte a second on each until the server drops them
    for c in up:
        sel.register(c.sock, selectors.EVENT_READ, c)
    open_ = set(up)
    last_drop = None
    next_tick = time.monotonic() + 1
    end = connected_at + a.seconds
    while open_ and time.monotonic() < end:
        for key, _ in sel.select(timeout=0.1):
            c = key.data
            try:
                d = c.sock.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            if not d:
                sel.unregister(c.sock)
                c.sock.close()
                open_.discard(c)
                last_drop = time.monotonic()
        if time.monotonic() >= next_tick:
            next_tick += 1
            for c in [] if a.silent else list(open_):
                try:
                    c.sock.send(b"X")
                except OSError:
                    pass
    result["dropped"] = len(up) - len(open_)
    result["dropped_after"] = round(last_drop - connected_at, 2) if last_drop else None
    for c in clients:
        c.sock.close()
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="mode", required=True)
    f = sub.add_parser("flood")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--clients", type=int, default=400)
    f.add_argument("--seconds", type=float, default=2.0)
    f.add_argument("--settle", type=float, default=1.0)
    f.add_argument("--pid", type=int)
    f.add_argument("--log")
    f.add_argument("--retry", action="store_true")
    s = sub.add_parser("slow")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--clients", type=int, default=1000)
    s.add_argument("--seconds", type=float, default=8.0)
    s.add_argument("--sources", default="2-50")
    s.add_argument("--silent", action="store_true")
    a = p.parse_args()
    if a.clients > 5000 or a.seconds > 60:
        p.error("bounded: at most 5000 clients and 60 seconds")
    flood(a) if a.mode == "flood" else slow(a)


if __name__ == "__main__":
    main()
