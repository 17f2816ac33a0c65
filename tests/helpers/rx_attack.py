"""tests/helpers/rx_attack.py - hostile senders against the server's read
side (lib/rx.c), over raw sockets (wsraw.py), each bounded in count and
time. Exit status 0 when the server defended itself as documented, 1 with
the reason on stderr otherwise. Also used by scripts/measure-rx.py.

  partial PORT PID N SIZE TIMEOUT   N clients each send a SIZE-byte fragment
      and then only answer pings: each must be closed with 1008 within
      TIMEOUT + 1.5 s, and once they have gone the server's RSS must fall
      back near where it started (--rss-check).
  budget PORT N SIZE                N clients each hold a SIZE-byte fragment
      on a server with a small --partial-budget: the first is closed with
      1013, the last can still finish its message and be answered.
  flood PORT KIND SECS              one connection floods (ping, cont: empty
      continuations, garbage: undecodable text) for at most SECS; it must
      get 1008 within 2 s while another client's round trips stay fast.
  starve PORT KIND SECS HS_TIMEOUT MSG_TIMEOUT  one connection floods with
      --frame-rate 0 (never closed) while a slowloris socket must still be
      dropped within HS_TIMEOUT + 1.5 s and a message left unfinished be
      closed within MSG_TIMEOUT + 1.5 s.
  mark1013 PORT SECS                the same flood while a party member that
      does not read overflows --queue-max: closed 1013, it must be gone
      within the 3 s close grace (+1.5 s), seen in /metrics.
"""
import json
import socket
import struct
import sys
import threading
import time

from wsraw import RawWS, Closed


def fail(why):
    print(f"rx_attack: {why}", file=sys.stderr)
    sys.exit(1)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_close(ws, deadline):
    """Read until a close frame, answering pings; (code, seconds) or
    (None, seconds) on EOF or deadline."""
    t0 = time.monotonic()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None, time.monotonic() - t0
        ws.sock.settimeout(left)
        try:
            op, payload, _ = ws.recv_frame()
        except (Closed, OSError):
            return None, time.monotonic() - t0
        if op == 9:
            ws.send_frame(10, payload)
        elif op == 8:
            code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
            return code, time.monotonic() - t0


def round_trip(ws, rid):
    t0 = time.monotonic()
    ws.send_text(json.dumps({"type": "time", "id": rid, "payload": {"client_time": 1}}))
    while True:
        op, payload, _ = ws.recv_frame()
        if op == 9:
            ws.send_frame(10, payload)
            continue
        if op == 1 and json.loads(payload).get("type") == "time":
            return time.monotonic() - t0
        if op == 8:
            raise Closed("closed")


def open_n(port, n, path="/ws/party/rx"):
    return [RawWS(port, path=path + str(i % 50)) for i in range(n)]


def cmd_partial(port, pid, n, size, timeout, rss_check):
    base = rss_kb(pid)
    socks = open_n(port, n)
    for ws in socks:
        ws.send_frame(1, b"x" * size, fin=False)
    time.sleep(0.5)
    peak = rss_kb(pid)
    deadline = time.monotonic() + timeout + 1.5
    codes = [wait_close(ws, deadline)[0] for ws in socks]
    for ws in socks:
        ws.close()
    bad = [c for c in codes if c != 1008]
    print(f"partial: {n} x {size} B: rss base {base} kB, held {peak} kB, "
          f"closed 1008: {codes.count(1008)}/{n}")
    time.sleep(1.6)   # the sweep trims at most once a second
    after = rss_kb(pid)
    print(f"partial: rss after they left {after} kB")
    if bad:
        fail(f"{len(bad)} of {n} not closed with 1008 in {timeout + 1.5:.1f} s: {bad[:5]}")
    if rss_check and peak - base > 4096 and after - base > (peak - base) / 3:
        fail(f"RSS stayed up: base {base} kB, peak {peak} kB, after {after} kB")


def cmd_budget(port, n, size):
    socks = open_n(port, n)
    for ws in socks:
        ws.send_frame(1, b" " * size, fin=False)
        time.sleep(0.01)
    first, _ = wait_close(socks[0], time.monotonic() + 3)
    if first != 1013:
        fail(f"the oldest unfinished message got {first}, not 1013")
    last = socks[-1]
    # whitespace then a time request: the message the fragment began
    last.send_frame(0, json.dumps({"type": "time", "id": "b", "payload": {"client_time": 1}}).encode(), fin=True)
    try:
        last.sock.settimeout(3)
        while True:
            op, payload, _ = last.recv_frame()
            if op != 1 or json.loads(payload).get("type") != "welcome":
                break
    except (Closed, OSError) as e:
        fail(f"the newest client was not answered: {e}")
    if op != 1 or json.loads(payload).get("type") != "time":
        fail(f"the newest client got {op} {payload[:80]!r}")
    print(f"budget: oldest closed 1013, newest answered")
    for ws in socks:
        ws.close()


FLOOD_BATCH = 256 * 1024


def flood_bytes(kind):
    if kind == "ping":
        one = RawWS.frame(9, b"p")
    elif kind == "cont":
        one = RawWS.frame(0, b"", fin=False)
    elif kind == "garbage":
        one = RawWS.frame(1, b"not json")
    else:
        fail(f"unknown flood {kind}")
    return one * (FLOOD_BATCH // len(one))


class Flooder:
    """One connection sending kind as fast as it can for at most secs, with
    a reader that records when its close frame came."""

    def __init__(self, port, kind, secs):
        self.ws = RawWS(port, path="/ws/party/flood")
        if kind == "cont":
            self.ws.send_frame(1, b"x", fin=False)
        self.data = flood_bytes(kind)
        self.secs = secs
        self.code = None
        self.closed_after = None
        self.sent = 0
        self.stop = threading.Event()
        self.t0 = time.monotonic()
        self.tx = threading.Thread(target=self.send, daemon=True)
        self.rx = threading.Thread(target=self.read, daemon=True)
        self.tx.start()
        self.rx.start()

    def send(self):
        end = self.t0 + self.secs
        self.ws.sock.settimeout(1)
        while not self.stop.is_set() and time.monotonic() < end:
            try:
                self.ws.sock.sendall(self.data)
                self.sent += len(self.data)
            except socket.timeout:
                continue
            except OSError:
                return

    def read(self):
        self.ws.sock.settimeout(self.secs + 3)
        try:
            while True:
                op, payload, _ = self.ws.recv_frame()
                if op == 8:
                    self.code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    self.closed_after = time.monotonic() - self.t0
                    self.stop.set()
                    return
        except (Closed, OSError):
            self.stop.set()

    def finish(self):
        self.stop.set()
        self.tx.join(3)
        # a flood the server never closes keeps the reader blocked until
        # its socket timeout (secs + 3): wake it now that sending stopped
        try:
            self.ws.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.rx.join(self.secs + 4)
        self.ws.close()


def cmd_flood(port, kind, secs):
    good = RawWS(port, path="/ws/party/good")
    round_trip(good, "warm")
    f = Flooder(port, kind, secs)
    worst = 0.0
    i = 0
    while not f.stop.is_set() and time.monotonic() - f.t0 < secs:
        worst = max(worst, round_trip(good, f"r{i}"))
        i += 1
        time.sleep(0.05)
    f.finish()
    after = round_trip(good, "after")
    print(f"flood {kind}: {f.sent} B sent, closed {f.code} after "
          f"{f.closed_after if f.closed_after is None else round(f.closed_after, 2)} s, "
          f"good client's worst round trip {worst * 1000:.0f} ms ({i} trips), after {after * 1000:.0f} ms")
    if f.code != 1008:
        fail(f"the {kind} flood was not closed with 1008 (got {f.code}) in {secs} s")
    if f.closed_after > 2.0:
        fail(f"the {kind} flood was closed after {f.closed_after:.2f} s, not within 2 s")
    if worst > 1.0:
        fail(f"a round trip took {worst * 1000:.0f} ms during the flood")


def slow_drop_time(slow, t0, deadline):
    """Seconds from t0 until the server dropped the socket, None if not
    by deadline."""
    slow.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        while slow.recv(4096):
            pass
    except socket.timeout:
        return None
    except OSError:           # a reset is a drop too
        pass
    return time.monotonic() - t0


def cmd_starve(port, kind, secs, hs_timeout, msg_timeout):
    f = Flooder(port, kind, secs)
    time.sleep(0.3)
    # a slowloris: a request line and never the end of the headers
    t0 = time.monotonic()
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /ws/party/slow HTTP/1.1\r\nHost: x\r\n")
    partial = RawWS(port, path="/ws/party/partial")
    partial.send_frame(1, b"y" * 1000, fin=False)
    t1 = time.monotonic()
    res = {}
    th = threading.Thread(target=lambda: res.update(
        slow=slow_drop_time(slow, t0, t0 + secs)), daemon=True)
    th.start()
    code, took = wait_close(partial, t1 + secs)
    th.join(secs + 1)
    slow_took = res.get("slow")
    flooding = not f.stop.is_set()
    f.finish()
    print(f"starve {kind}: slowloris dropped after "
          f"{slow_took if slow_took is None else round(slow_took, 2)} s "
          f"(--handshake-timeout {hs_timeout:g}), unfinished message closed {code} after "
          f"{took:.2f} s (--message-timeout {msg_timeout:g}); flood still on: {flooding}, "
          f"{f.sent} B sent")
    if not flooding:
        fail("the flood stopped early: nothing was starved")
    if slow_took is None or slow_took > hs_timeout + 1.5:
        fail(f"the slowloris socket was held {slow_took} s, not {hs_timeout} s")
    if code != 1008 or took > msg_timeout + 1.5:
        fail(f"the unfinished message got {code} after {took:.2f} s, not 1008 "
             f"after {msg_timeout} s")


def metric(port, name):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    c.request("GET", "/metrics")
    body = c.getresponse().read().decode()
    c.close()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


def cmd_mark1013(port, secs):
    f = Flooder(port, "ping", secs)
    time.sleep(0.3)
    staller = RawWS(port, path="/ws/party/stall?name=staller", rcvbuf=4096)
    host = RawWS(port, path="/ws/party/stall?name=host")
    host.sock.settimeout(None)

    def drain():
        try:
            while True:
                host.recv_frame()
        except (Closed, OSError):
            pass

    chat = json.dumps({"type": "chat", "payload": {"text": "x" * 2000}}).encode()
    threading.Thread(target=drain, daemon=True).start()
    threading.Thread(target=lambda: host.sock.sendall(RawWS.frame(1, chat) * 4000),
                     daemon=True).start()
    t0 = time.monotonic()
    marked = gone = None
    while time.monotonic() - t0 < secs and gone is None:
        now = time.monotonic() - t0
        if marked is None and metric(port, "revenge_slow_clients_dropped_total") >= 1:
            marked = now
        if metric(port, 'revenge_closes_total{code="1013"}') >= 1:
            gone = now
        time.sleep(0.1)
    flooding = not f.stop.is_set()
    f.finish()
    staller.close()
    host.close()
    held = None if marked is None or gone is None else gone - marked
    print(f"mark1013: marked after {marked} s, gone after {gone} s: held "
          f"{held if held is None else round(held, 2)} s; flood still on: {flooding}, "
          f"{f.sent} B sent")
    if not flooding:
        fail("the flood stopped early: nothing was starved")
    if marked is None:
        fail("the member that does not read was never marked for 1013")
    if held is None or held > 3 + 1.5:
        fail(f"the 1013-marked member was held {held} s, not 3 s")


def main(argv):
    if len(argv) < 2:
        fail(__doc__)
    cmd, port = argv[0], int(argv[1])
    if cmd == "partial":
        rss_check = "--no-rss-check" not in argv
        a = [x for x in argv[2:] if not x.startswith("--")]
        cmd_partial(port, int(a[0]), int(a[1]), int(a[2]), float(a[3]), rss_check)
    elif cmd == "budget":
        cmd_budget(port, int(argv[2]), int(argv[3]))
    elif cmd == "flood":
        cmd_flood(port, argv[2], float(argv[3]))
    elif cmd == "starve":
        cmd_starve(port, argv[2], float(argv[3]), float(argv[4]), float(argv[5]))
    elif cmd == "mark1013":
        cmd_mark1013(port, float(argv[2]))
    else:
        fail(f"unknown command {cmd}")


if __name__ == "__main__":
    main(sys.argv[1:])
