"""tests/helpers/churn_storm.py - join/leave churn against one party (issue 12,
item 3), over raw sockets so that one client can churn as fast as it can.

  storm PORT SECONDS MAX_CYCLES [FILL]
                                  an observer joins party "churn" (and first
                                  chats FILL messages of 2000 bytes, so each
                                  welcome carries that history); one client
                                  then joins and leaves it (upgrade, read the
                                  status, close) until SECONDS or MAX_CYCLES;
                                  prints what the observer saw, how the
                                  handshakes were answered and the server's
                                  revenge_bytes_out_total during the storm
  burst PORT N PARTY              N members join PARTY at once and stay until
                                  all are answered; prints the statuses
  refusal PORT N PARTY            an anchor member joins PARTY and stays (so
                                  the party lives on), then N handshakes in a
                                  row, each closed at once; prints each
                                  status, Retry-After and body (PARTY "-":
                                  each to a party of its own, no anchor)

Every line printed is `key value`; the bats file asserts on them."""
import http.client
import json
import socket
import sys
import threading
import time

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from wsraw import RawWS, Closed  # noqa: E402

UPGRADE = ("GET /ws/party/{party}?name=c{n} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
           "Upgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def handshake(port, party, n, keep=False):
    """(status, headers text, body, socket or None)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(UPGRADE.format(party=party, n=n, port=port).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    try:
        status = int(head.split(b"\r\n")[0].split()[1])
    except (IndexError, ValueError):
        status = 0
    if status != 101 and b"content-length" in head.lower():
        want = int([ln.split(b":")[1] for ln in head.split(b"\r\n")
                    if ln.lower().startswith(b"content-length")][0])
        while len(body) < want:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
    if keep and status == 101:
        return status, head.decode(errors="replace"), body, s
    s.close()
    return status, head.decode(errors="replace"), body, None


def retry_after(head):
    for ln in head.split("\r\n"):
        if ln.lower().startswith("retry-after:"):
            return ln.split(":", 1)[1].strip()
    return ""


def bytes_out(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/metrics")
    for ln in c.getresponse().read().decode().splitlines():
        if ln.startswith("revenge_bytes_out_total "):
            return float(ln.split()[1])
    return 0.0


def storm(port, seconds, max_cycles, fill=0):
    obs = RawWS(port, "/ws/party/churn?name=observer", timeout=10)
    assert obs.status == 101, obs.status_line
    for i in range(fill):
        obs.send_text(json.dumps({"type": "chat", "payload": {"text": "%04d" % i + "x" * 1996}}))
    for i in range(fill + 1):           # the welcome, then each chat's echo
        obs.recv_frame()
    out0 = bytes_out(port)
    seen = {"member_joined": 0, "member_left": 0}
    stop = threading.Event()

    def watch():
        try:
            while not stop.is_set():
                op, payload, _ = obs.recv_frame()
                if op == 1:
                    t = json.loads(payload).get("type")
                    if t in seen:
                        seen[t] += 1
                elif op == 8:
                    seen["closed"] = 1
                    return
        except (Closed, OSError, ValueError):
            pass

    th = threading.Thread(target=watch, daemon=True)
    th.start()
    statuses = {}
    bad_retry = 0
    t0 = time.monotonic()
    n = 0
    while n < max_cycles and time.monotonic() - t0 < seconds:
        status, head, _, _ = handshake(port, "churn", n)
        statuses[status] = statuses.get(status, 0) + 1
        if status == 429 and not retry_after(head).isdigit():
            bad_retry += 1
        n += 1
    elapsed = time.monotonic() - t0
    out1 = bytes_out(port)
    time.sleep(0.5)                     # the last leaves reach the observer
    stop.set()
    obs.sock.settimeout(0.2)
    th.join(1)
    print("cycles", n)
    print("seconds %.2f" % elapsed)
    print("cycles_per_s %.0f" % (n / elapsed))
    print("admitted", statuses.get(101, 0))
    print("refused_429", statuses.get(429, 0))
    print("other", sum(v for k, v in statuses.items() if k not in (101, 429)))
    print("bad_retry_after", bad_retry)
    print("observed_joined", seen["member_joined"])
    print("observed_left", seen["member_left"])
    print("observed_joined_per_s %.0f" % (seen["member_joined"] / elapsed))
    print("observer_closed", seen.get("closed", 0))
    print("bytes_out_per_s %.0f" % ((out1 - out0) / elapsed))


def burst(port, n, party):
    socks, statuses = [], {}
    for i in range(n):
        status, _, _, s = handshake(port, party, i, keep=True)
        statuses[status] = statuses.get(status, 0) + 1
        if s:
            socks.append(s)
    for s in socks:
        s.close()
    print("admitted", statuses.get(101, 0))
    print("refused", n - statuses.get(101, 0))


def refusal(port, n, party):
    anchor = None
    if party != "-":
        status, _, _, anchor = handshake(port, party, "anchor", keep=True)
        print("anchor", status)
    for i in range(n):
        status, head, body, _ = handshake(port, party if party != "-" else "p%d" % i, i)
        text = "-" if status == 101 else body.decode(errors="replace").strip()
        print("status", status, "retry_after", retry_after(head) or "-",
              "body", text.replace(" ", "_"))
    if anchor:
        anchor.close()


if __name__ == "__main__":
    cmd, port = sys.argv[1], int(sys.argv[2])
    if cmd == "storm":
        storm(port, float(sys.argv[3]), int(sys.argv[4]),
              int(sys.argv[5]) if len(sys.argv) > 5 else 0)
    elif cmd == "burst":
        burst(port, int(sys.argv[3]), sys.argv[4])
    elif cmd == "refusal":
        refusal(port, int(sys.argv[3]), sys.argv[4])
    else:
        sys.exit("usage: churn_storm.py storm|burst|refusal PORT ...")
