"""tests/helpers/soak.py - the hostile-input soak: for SECONDS, workers
throw random and malformed frames, JSON, names, tokens and HTTP requests at
every endpoint of a running revenge-server, while well-behaved clients (a
party of three, a progress session, a quality session) check that they lose
nothing. It samples the server's RSS and prints one JSON summary line.

    soak.py --port P --pid PID --good-host-token T --good-member-token T
            --good-session-token T --hostile-token T --secret-file F
            [--seconds 30] [--workers 6] [--seed N] [--progress]

Exit status 0 when every well-behaved check held and the server lived, 1
otherwise (the summary says which). The caller checks the server's own exit
and its sanitizer log; this script only sees the wire and /proc."""
import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import os
import random
import socket
import struct
import sys
import threading
import time
import urllib.parse
import zlib

import websockets

from wsraw import RawWS, Closed

# ---------------------------------------------------------------- hostile


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge_token(rnd, secret):
    """A token that must be refused, or one whose claims are strange."""
    head = {"alg": rnd.choice(["HS256", "none", "RS256", "HS512", "ES256", "", 7]), "typ": "JWT"}
    claims = rnd.choice([
        {"sub": "x", "exp": 1},                                   # expired
        {"sub": "x", "nbf": 4102444800, "exp": 4102444801},       # not yet
        {"sub": "", "parties": ["*"], "exp": 4102444800},
        {"sub": "x" * 5000, "parties": "*", "exp": 4102444800},
        {"sub": 5, "parties": [1, None, {}], "exp": "soon"},
        {"sub": "x", "parties": ["h*"] * 300, "role": "king", "exp": 4102444800},
        {"sub": "x", "name": "\u202eevil", "parties": ["*"], "exp": 4102444800},
        {"sub": "x", "sessions": [["nested"]], "exp": 1e308},
        {},
    ])
    h = b64url(json.dumps(head).encode())
    c = b64url(json.dumps(claims).encode())
    key = rnd.choice([secret, b"wrong-secret-wrong-secret-wrong-secret!!"])
    sig = b64url(hmac.new(key, f"{h}.{c}".encode(), hashlib.sha256).digest())
    return rnd.choice([
        f"{h}.{c}.{sig}", f"{h}.{c}.", f"{h}.{c}", f"{h}..{sig}", "a.b.c", "...",
        "", "x" * rnd.choice([1, 100, 9000]), f"{h}.{c}.{sig}" + "A" * rnd.randint(1, 4),
        b64url(os.urandom(rnd.randint(1, 300))),
    ])


def rand_text(rnd, n):
    pools = ["abc", "\u202e\u2066\u200b\u3000\u2028\x00\x1b[2J\x7f\x9b",
             "\U0001F600\u00e9\u4e2d", "\"\\{}[],:"]
    return "".join(rnd.choice(rnd.choice(pools)) for _ in range(n))


def rand_value(rnd, depth=0):
    k = rnd.randrange(9 if depth < 3 else 5)
    if k == 0:
        return rnd.choice([0, -1, 1e308, -1e308, 2**63, -2**64, 0.1, 1e-320])
    if k == 1:
        return rand_text(rnd, rnd.choice([0, 1, 5, 40, 3000]))
    if k == 2:
        return rnd.choice([True, False, None])
    if k == 3:
        return rnd.choice(["NaN", "Infinity", "", "1080p", "9999p", "\u0000"])
    if k == 4:
        return rnd.uniform(-1e6, 1e6)
    if k < 7:
        return [rand_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    keys = ["position", "playing", "speed", "at", "text", "emoji", "client_time",
            "to", "media_id", "duration", "kbps", "profile", "token", "x"]
    return {rnd.choice(keys): rand_value(rnd, depth + 1) for _ in range(rnd.randrange(5))}


TYPES = ["sync", "chat", "reaction", "time", "transfer_host", "progress",
         "quality_request", "bandwidth_report", "refresh", "ack", "error",
         "welcome", "", "x" * 300]


def hostile_message(rnd):
    """Bytes of one text frame's payload: JSON that is wrong in some way,
    or not JSON, or not UTF-8, or huge."""
    k = rnd.randrange(10)
    if k == 0:
        return os.urandom(rnd.randint(1, 200))                  # not UTF-8 (or by luck is)
    if k == 1:
        return b"[" * rnd.choice([100, 5000, 60000])             # deep
    if k == 2:
        return b'{"type":"chat","payload":{"text":"' + b"y" * 70000 + b'"}}'  # over 64 KiB
    if k == 3:
        good = json.dumps({"type": rnd.choice(TYPES), "payload": rand_value(rnd)}).encode()
        return good[:rnd.randint(0, len(good))]                 # truncated
    if k == 4:
        return b'{"type":"sync","payload":{"position":1e999,"playing":true,"speed":NaN}}'
    if k == 5:
        return b'{"type":"chat","type":"time","payload":{"text":"dup"},"payload":[]}'
    msg = {"type": rnd.choice(TYPES), "payload": rand_value(rnd)}
    if rnd.random() < 0.3:
        msg["id"] = rand_value(rnd)
    return json.dumps(msg).encode()


def hostile_path(rnd):
    ident = rnd.choice(["h-" + str(rnd.randrange(50)), "h-x", "h" * 64, "h" * 65,
                        "h%00", "h/../x", "", "h%2F..", "h\u00e9".encode().decode()])
    return rnd.choice(["/ws/party/", "/ws/progress/", "/ws/stream/", "/ws/", "/"]) + ident


def deflated(data):
    """data as a permessage-deflate message body (RFC 7692 7.2.1)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return (c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]


# compressed once: bombs that inflate past the server's 64 KiB default limit
BOMBS = [deflated(b"\x00" * n) for n in (70000, 1 << 20, 8 << 20)] + \
        [deflated(b'{"type":"chat","payload":{"text":"' + b"a" * (4 << 20) + b'"}}')]
# the 8 bytes that aborted lws 4.1.6's permessage-deflate receive path
LWS_KILLER = bytes.fromhex("4a1c05a360148ce6")


def client_frame(opcode, payload, rsv=0, fin=True):
    """The bytes of one masked client frame."""
    n = len(payload)
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    if n < 126:
        hdr = struct.pack("!BB", b0, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack("!BBH", b0, 0x80 | 126, n)
    else:
        hdr = struct.pack("!BBQ", b0, 0x80 | 127, n)
    mk = os.urandom(4)
    return hdr + mk + bytes(c ^ mk[i % 4] for i, c in enumerate(payload))


class Hostile:
    def __init__(self, port, token, secret, deadline, seed, only=None):
        self.only = only
        self.port, self.token, self.secret = port, token, secret
        self.deadline = deadline
        self.rnd = random.Random(seed)
        self.counts = {}
        self.statuses = {}
        self.errors = []

    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1

    def raw(self, path, headers=None, timeout=2.0):
        return RawWS(self.port, path=path, headers=headers, timeout=timeout)

    def drain(self, w, seconds):
        w.sock.settimeout(0.2)
        end = time.monotonic() + seconds
        try:
            while time.monotonic() < end:
                w.recv_frame()
        except (Closed, OSError, struct.error, ValueError):
            pass

    def note_status(self, status):
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status >= 500 and status != 503:
            self.errors.append(f"HTTP {status}")

    def attack_frames(self):
        """A good handshake, then frames no client should send."""
        w = self.raw(hostile_path(self.rnd) if self.rnd.random() < 0.2 else
                     f"/ws/party/h-{self.rnd.randrange(20)}?token={self.token}")
        self.note_status(w.status)
        if w.status == 101:
            for _ in range(self.rnd.randint(1, 6)):
                k = self.rnd.randrange(6)
                if k == 0:
                    w.sock.sendall(os.urandom(self.rnd.randint(1, 64)))
                elif k == 1:
                    w.send_frame(self.rnd.randrange(16), os.urandom(self.rnd.randint(0, 130)),
                                 fin=self.rnd.random() < 0.7, mask=self.rnd.random() < 0.8,
                                 rsv=self.rnd.randrange(8) if self.rnd.random() < 0.3 else 0)
                elif k == 2:   # a length that lies, then a little of it
                    w.send_frame(1, b"{", length=self.rnd.choice([2, 126, 70000, 2**40]))
                elif k == 3:
                    w.send_frame(9, os.urandom(self.rnd.randint(0, 125)))
                elif k == 4:
                    w.send_frame(8, os.urandom(self.rnd.randint(0, 3)))
                else:
                    w.send_frame(0, b"continuation without a start")
            self.drain(w, 0.5)
        w.close()
        self.count("frames")

    def attack_json(self):
        path = self.rnd.choice([f"/ws/party/h-{self.rnd.randrange(20)}",
                                f"/ws/progress/h-{self.rnd.randrange(200)}",
                                f"/ws/stream/h-{self.rnd.randrange(200)}"])
        w = self.raw(f"{path}?token={self.token}")
        self.note_status(w.status)
        if w.status == 101:
            for _ in range(self.rnd.randint(1, 30)):
                w.send_text(hostile_message(self.rnd))
            self.drain(w, 0.3)
        w.close()
        self.count("json")

    def attack_names(self):
        name = self.rnd.choice([
            rand_text(self.rnd, self.rnd.randint(0, 40)), "%", "%zz", "%00", "%C0%80",
            "%E2%80%AE", "a" * 200, "%ED%A0%80", "%FF%FE", "+", "%20%20",
        ])
        q = urllib.parse.quote(name, safe="%") if self.rnd.random() < 0.5 else name
        q = q.replace(" ", "%20").replace("\r", "").replace("\n", "")
        w = self.raw(f"/ws/party/h-{self.rnd.randrange(20)}?name={q}&token={self.token}")
        self.note_status(w.status)
        if w.status == 101:
            self.drain(w, 0.1)
        w.close()
        self.count("names")

    def attack_tokens(self):
        tok = forge_token(self.rnd, self.secret)
        where = self.rnd.randrange(3)
        headers, path = None, f"/ws/party/h-{self.rnd.randrange(20)}"
        if where == 0:
            path += "?token=" + urllib.parse.quote(tok, safe="")
        elif where == 1:
            headers = {"Authorization": self.rnd.choice(["Bearer ", "bearer ", "Bearer  ", "Basic ", ""]) + tok}
        else:
            path += "?token=" + urllib.parse.quote(tok, safe="") + "&token=" + self.token
        w = self.raw(path, headers=headers)
        self.note_status(w.status)
        w.close()
        self.count("tokens")

    def attack_http(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=2.0)
        k = self.rnd.randrange(7)
        if k == 0:
            req = os.urandom(self.rnd.randint(1, 600))
        elif k == 1:
            req = f"GET {hostile_path(self.rnd)} HTTP/1.1\r\nHost: x\r\n" + \
                  "X-Junk: " + "j" * self.rnd.choice([10, 5000, 20000]) + "\r\n\r\n"
            req = req.encode()
        elif k == 2:
            req = self.rnd.choice([b"GET /healthz\r\n\r\n", b"BREW /metrics HTTP/1.1\r\n\r\n",
                                   b"GET /metrics?" + b"q" * 3000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                                   b"GET /healthz HTTP/9.9\r\n\r\n", b"\r\n\r\n\r\n",
                                   b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
                                   b"GET /ws/party/a HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                   b"Sec-WebSocket-Version: 99\r\nSec-WebSocket-Key: short\r\n\r\n"])
        elif k == 3:   # half a request, then gone
            req = f"GET /ws/party/h-1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr".encode()
        elif k == 4:
            req = (f"GET /ws/party/h-1?token={self.token} HTTP/1.1\r\nHost: x\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   f"Sec-WebSocket-Protocol: {rand_text(self.rnd, 300)}\r\n"
                   f"Sec-WebSocket-Extensions: permessage-deflate; {rand_text(self.rnd, 50)}\r\n"
                   f"Origin: {self.rnd.choice(['http://evil.example', 'null', '', 'x' * 3000])}\r\n\r\n").encode(errors="replace")
        elif k == 5:
            req = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * self.rnd.randint(1, 20)
        else:
            req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
        try:
            s.sendall(req)
            s.settimeout(1.0)
            head = s.recv(4096)
            if head.startswith(b"HTTP/1.1 "):
                try:
                    self.note_status(int(head[9:12]))
                except ValueError:
                    pass
        except OSError:
            pass
        s.close()
        self.count("http")

    def attack_deflate(self):
        """permessage-deflate negotiated, then bombs, compressed garbage,
        valid highly compressible messages of the sizes that aborted lws
        4.1.6, its 8-byte killer frame, and streams cut mid-frame."""
        w = self.raw(f"/ws/party/h-{self.rnd.randrange(20)}?token={self.token}",
                     headers={"Sec-WebSocket-Extensions":
                              "permessage-deflate; client_max_window_bits"})
        self.note_status(w.status)
        if w.status == 101:
            for _ in range(self.rnd.randint(1, 5)):
                k = self.rnd.randrange(6)
                if k == 0:
                    w.sock.sendall(client_frame(1, self.rnd.choice(BOMBS), rsv=4))
                elif k == 1:
                    w.sock.sendall(client_frame(1, os.urandom(self.rnd.randint(1, 300)), rsv=4))
                elif k == 2:
                    body = deflated(b"{}" + b" " * self.rnd.randint(2000, 5000))
                    w.sock.sendall(client_frame(1, body, rsv=4))
                elif k == 3:
                    w.sock.sendall(client_frame(1, LWS_KILLER, rsv=4))
                elif k == 4:   # a compressed message in fragments, RSV1 on the first
                    m = hostile_message(self.rnd)
                    body = deflated(m.encode(errors="replace") if isinstance(m, str) else m)
                    cut = self.rnd.randint(0, len(body))
                    w.sock.sendall(client_frame(1, body[:cut], rsv=4, fin=False) +
                                   client_frame(0, body[cut:]))
                else:          # cut mid-frame: part of a frame, then gone
                    f = client_frame(1, self.rnd.choice(BOMBS + [LWS_KILLER]), rsv=4)
                    w.sock.sendall(f[:self.rnd.randint(1, len(f) - 1)])
                    break
            self.drain(w, 0.3)
        w.close()
        self.count("deflate")

    def run(self):
        attacks = [self.attack_frames, self.attack_json, self.attack_names,
                   self.attack_tokens, self.attack_http, self.attack_deflate]
        if self.only:
            attacks = [getattr(self, self.only)]
        while time.monotonic() < self.deadline:
            try:
                self.rnd.choice(attacks)()
            except (Closed, OSError, struct.error, ValueError, IndexError):
                self.count("dropped")   # the server may close at any point: fine


# ---------------------------------------------------------------- good


class Good:
    def __init__(self):
        self.problems = []
        self.chats_sent = 0
        self.chats_seen = {}
        self.syncs_seen = {}
        self.acks = 0
        self.time_rtt = []

    def problem(self, msg):
        if len(self.problems) < 20:
            self.problems.append(msg)


async def recv_json(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def good_member(url, token, name, good, stop, ready):
    """Receives everything; chats and syncs from the host must come in order,
    none missing."""
    try:
        await good_member_run(url, token, name, good, stop, ready)
    finally:
        ready.set()   # a member that never got in must not hold the host back


async def good_member_run(url, token, name, good, stop, ready):
    async with websockets.connect(f"{url}/ws/party/good?name={name}&token={token}",
                                  subprotocols=["revenge.v1"], max_size=None) as ws:
        welcome = await recv_json(ws)
        if welcome.get("type") != "welcome":
            good.problem(f"{name}: first message {welcome.get('type')}")
        ready.set()
        last_chat, last_sync = 0, -1.0
        good.chats_seen[name] = 0
        good.syncs_seen[name] = 0
        while True:
            try:
                m = await recv_json(ws, 1.0)
            except asyncio.TimeoutError:
                if stop.is_set():
                    return
                continue
            if m["type"] == "chat" and m["payload"]["text"].startswith("seq "):
                n = int(m["payload"]["text"][4:])
                if n != last_chat + 1:
                    good.problem(f"{name}: chat {n} after {last_chat}")
                last_chat = n
                good.chats_seen[name] += 1
            elif m["type"] == "sync":
                pos = m["payload"]["position"]
                if pos <= last_sync:
                    good.problem(f"{name}: sync {pos} after {last_sync}")
                last_sync = pos
                good.syncs_seen[name] += 1


async def good_host(url, token, good, deadline, members_ready):
    async with websockets.connect(f"{url}/ws/party/good?name=host&token={token}",
                                  subprotocols=["revenge.v1"], max_size=None) as ws:
        welcome = await recv_json(ws)
        if welcome["payload"].get("role") != "host":
            good.problem(f"host joined as {welcome['payload'].get('role')}")
        await asyncio.wait_for(members_ready.wait(), 30)
        seq, pos = 0, 0.0
        while time.monotonic() < deadline:
            seq += 1
            await ws.send(json.dumps({"type": "chat", "payload": {"text": f"seq {seq}"}}))
            good.chats_sent = seq
            if seq % 5 == 0:
                # paused: each sync is exactly the position sent. A playing
                # host whose positions lag the clock (a loaded machine
                # slows this loop) is continuous with the extrapolated
                # state, which the server keeps (lead.c), and the next
                # one is then a step back: in order, yet not increasing.
                pos += 1.0
                await ws.send(json.dumps({"type": "sync", "payload": {"position": pos, "playing": False, "speed": 1}}))
            t0 = time.time() * 1000
            await ws.send(json.dumps({"type": "time", "id": f"t{seq}", "payload": {"client_time": t0}}))
            while True:   # read up to this time reply: it says the rest was applied
                m = await recv_json(ws)
                if m["type"] == "time" and m.get("id") == f"t{seq}":
                    good.time_rtt.append(time.time() * 1000 - t0)
                    break
                if m["type"] == "error":
                    good.problem(f"host got error {m['payload']}")
            await asyncio.sleep(0.1)
        good.syncs_sent = int(pos)


async def good_progress(url, token, good, deadline):
    """Every report with an id is acked; after the soak the session holds the last one."""
    uri = f"{url}/ws/progress/good-s1?token={token}"
    last = None
    async with websockets.connect(uri, subprotocols=["revenge.v1"]) as ws:
        n = 0
        while time.monotonic() < deadline:
            n += 1
            last = {"media_id": "m1", "position": float(n), "duration": 100000.0, "playing": False}
            await ws.send(json.dumps({"type": "progress", "id": f"p{n}", "payload": last}))
            while True:
                m = await recv_json(ws)
                if m.get("id") == f"p{n}":
                    if m["type"] != "ack":
                        good.problem(f"progress report {n}: {m}")
                    else:
                        good.acks += 1
                    break
            await asyncio.sleep(0.1)
    async with websockets.connect(uri, subprotocols=["revenge.v1"]) as ws:
        m = await recv_json(ws)
        if m["type"] != "progress" or m["payload"]["position"] != last["position"]:
            good.problem(f"progress after the soak: {m}, last acked {last}")


async def good_stream(url, token, good, deadline):
    async with websockets.connect(f"{url}/ws/stream/good-s1?token={token}",
                                  subprotocols=["revenge.v1"]) as ws:
        m = await recv_json(ws)
        if m["type"] != "quality_state":
            good.problem(f"stream first message {m['type']}")
        profiles = ["720p", "1080p", "480p"]
        i = 0
        while time.monotonic() < deadline:
            i += 1
            p = profiles[i % len(profiles)]
            await ws.send(json.dumps({"type": "quality_request", "payload": {"profile": p}}))
            while True:
                m = await recv_json(ws)
                if m["type"] == "quality_changed":
                    if m["payload"]["profile"] != p:
                        good.problem(f"asked {p}, got {m['payload']}")
                    break
                if m["type"] == "error":
                    good.problem(f"stream error {m['payload']}")
                    break
            await ws.send(json.dumps({"type": "bandwidth_report", "payload": {"kbps": 5000 + i}}))
            await asyncio.sleep(0.2)


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


async def sample_rss(pid, deadline, samples):
    while time.monotonic() < deadline:
        r = rss_kb(pid)
        if r is None:
            return
        samples.append((time.monotonic(), r))
        await asyncio.sleep(0.5)


async def show_progress(deadline, seconds, good, samples, workers):
    """On a terminal only: one line, rewritten every second."""
    while time.monotonic() < deadline:
        left = max(0, deadline - time.monotonic())
        attacks = sum(sum(w.counts.values()) for w in workers)
        rss = samples[-1][1] // 1024 if samples else 0
        sys.stderr.write(f"\rsoak: {seconds - left:5.0f}/{seconds} s, {attacks} attacks, "
                         f"{good.chats_sent} chats, {good.acks} acks, RSS {rss} MB ")
        sys.stderr.flush()
        await asyncio.sleep(1)
    sys.stderr.write("\n")


async def good_side(args, deadline, good, samples, workers):
    url = f"ws://127.0.0.1:{args.port}"
    stop = asyncio.Event()
    ready = [asyncio.Event(), asyncio.Event()]
    all_ready = asyncio.Event()

    async def gate():
        for r in ready:
            await r.wait()
        all_ready.set()
    members = [asyncio.create_task(good_member(url, args.good_member_token, f"m{i}", good, stop, ready[i]))
               for i in range(2)]
    others = [asyncio.create_task(c) for c in (
        gate(),
        good_host(url, args.good_host_token, good, deadline, all_ready),
        good_progress(url, args.good_session_token, good, deadline),
        good_stream(url, args.good_session_token, good, deadline),
        sample_rss(args.pid, deadline + 1, samples))]
    if args.progress:
        others.append(asyncio.create_task(show_progress(deadline, args.seconds, good, samples, workers)))
    for t in others:
        try:
            await t
        except Exception as e:   # a good client must never be dropped
            good.problem(f"{type(e).__name__}: {e}")
    await asyncio.sleep(1.5)   # the last relays reach the members
    stop.set()
    for t in members:
        try:
            await t
        except Exception as e:
            good.problem(f"member {type(e).__name__}: {e}")


def main():
    ap = argparse.ArgumentParser()
    for a in ("port", "pid", "seconds", "workers", "seed"):
        ap.add_argument(f"--{a}", type=int, default={"seconds": 30, "workers": 6, "seed": 1}.get(a))
    for a in ("good-host-token", "good-member-token", "good-session-token", "hostile-token", "secret-file"):
        ap.add_argument(f"--{a}", required=True)
    ap.add_argument("--progress", action="store_true", help="a progress line on stderr")
    args = ap.parse_args()
    secret = open(args.secret_file, "rb").read().rstrip(b"\n")
    deadline = time.monotonic() + args.seconds
    workers = [Hostile(args.port, args.hostile_token, secret, deadline, args.seed * 1000 + i)
               for i in range(args.workers)]
    # one thread throws nothing but permessage-deflate attacks
    workers.append(Hostile(args.port, args.hostile_token, secret, deadline,
                           args.seed * 1000 + args.workers, only="attack_deflate"))
    threads = [threading.Thread(target=w.run, daemon=True) for w in workers]
    for t in threads:
        t.start()
    good, samples = Good(), []
    # bounded whatever the server does (it may die under the soak: every
    # wait above has its own timeout, and this one covers the rest)
    try:
        asyncio.run(asyncio.wait_for(good_side(args, deadline, good, samples, workers),
                                     args.seconds + 90))
    except asyncio.TimeoutError:
        good.problem("the well-behaved clients did not finish in time")
    for t in threads:
        t.join(timeout=10)

    counts, statuses, errors = {}, {}, []
    for w in workers:
        for k, v in w.counts.items():
            counts[k] = counts.get(k, 0) + v
        for k, v in w.statuses.items():
            statuses[str(k)] = statuses.get(str(k), 0) + v
        errors += w.errors
    # RSS flat: the last quarter against the second quarter (the first is warm-up)
    q = len(samples) // 4
    early = sorted(r for _, r in samples[q:2 * q]) or [0]
    late = sorted(r for _, r in samples[3 * q:]) or [0]
    rss_early, rss_late = early[len(early) // 2], late[len(late) // 2]
    rss_ok = rss_late <= rss_early * 1.15 + 8192
    alive = rss_kb(args.pid) is not None
    members_ok = all(v == good.chats_sent for v in good.chats_seen.values()) and len(good.chats_seen) == 2
    if not members_ok:
        good.problem(f"chats sent {good.chats_sent}, seen {good.chats_seen}")
    rtt = sorted(good.time_rtt) or [0]
    summary = {
        "seconds": args.seconds, "attacks": counts, "http_statuses": statuses,
        "server_errors": errors[:10], "alive": alive,
        "rss_kb": {"early": rss_early, "late": rss_late, "max": max((r for _, r in samples), default=0)},
        "rss_flat": rss_ok, "chats_sent": good.chats_sent, "chats_seen": good.chats_seen,
        "syncs_seen": good.syncs_seen, "progress_acks": good.acks,
        "time_rtt_ms": {"p50": rtt[len(rtt) // 2], "p99": rtt[min(len(rtt) - 1, int(len(rtt) * 0.99))]},
        "problems": good.problems,
    }
    ok = alive and rss_ok and not errors and not good.problems and good.chats_sent > 0 and good.acks > 0
    summary["ok"] = ok
    print(json.dumps(summary), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
