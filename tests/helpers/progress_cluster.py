"""tests/helpers/progress_cluster.py - progress sessions across the nodes of
a cluster (--redis, one shared store), seen by independent clients
(python3-websockets).

    python3 progress_cluster.py follow URL_A URL_B SESSION INTERVAL_MS
        a client on node B watches SESSION (ticks every INTERVAL_MS); reports
        made on node A (acked) show in B's ticks, each within one interval
        (plus SLACK_S for a loaded machine), and B's reports in A's; a
        report whose connection closes right after its ack reaches B too.
        Prints "ok follow max_ms=<the slowest ack-to-tick on the other node>".
    python3 progress_cluster.py watch URL SESSION POSITION SECONDS
        connects (prints "watching"), then waits up to SECONDS for a tick
        at POSITION; prints "seen POSITION".
    python3 progress_cluster.py local URL SESSION POSITION
        two clients of SESSION on one node: a report is acked and shows in
        the other's next tick (Redis may be away). Prints "ok local".
    python3 progress_cluster.py load URL NSESS N RATE
        NSESS sessions ("load-<i>") stream N reports in all at RATE a second,
        positions 1, 2, 3, ... per session, each with an id, without waiting
        for acks; the node may die meanwhile (the connections drop: no
        failure). Prints "ready" after 100 acks, "half" after N/2, then "<session> <last
        acked position>" per session.
    python3 progress_cluster.py owners URL_A URL_B SESSION TOKEN_1 TOKEN_2
        two owners' sessions of the same id (a token each, ?token=), a client
        of each on B: a report of owner 1's on A reaches owner 1's client
        only, owner 2's then reaches owner 2's only. Prints "ok owners".
    python3 progress_cluster.py readback URL FILE
        for each "<session> <acked>" line of FILE (load's output), a new
        connection reads the session's stored progress: never behind the
        last ack. Prints "ok readback <sum of acked positions>".

Exits 0, or prints what was expected and what was seen and exits 1.
"""
import asyncio
import json
import sys
import time

import websockets

from wscheck import check, fail, recv

SLACK_S = 1.0


async def connect(url, path):
    return await websockets.connect(url + path, subprotocols=["revenge.v1"])


def report(position, id=None, playing=False):
    msg = {"type": "progress", "payload": {"media_id": "film-1", "position": position,
                                           "duration": 6000.0, "playing": playing}}
    if id is not None:
        msg["id"] = id
    return json.dumps(msg)


async def ack(ws, id, timeout=5.0):
    """Reads until the ack of id (ticks pass by); fails on an error."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"no ack for {id}")
        m = await recv(ws, left)
        if m["type"] == "ack" and m.get("id") == id:
            return
        check(m["type"] == "progress", f"waiting for the ack of {id}: {m}")


async def until_position(ws, want, seconds, playing=False):
    """Reads ticks until one reflects the report at want: the time it took."""
    t0 = time.monotonic()
    deadline = t0 + seconds
    last = None
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"no progress at {want} within {seconds:.1f} s (last {last})")
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            continue
        m = json.loads(raw)
        if m["type"] != "progress":
            continue
        p = m["payload"]
        last = p
        if playing and p["playing"] and want <= p["position"] < want + 60:
            return time.monotonic() - t0
        if not playing and not p["playing"] and p["position"] == want:
            return time.monotonic() - t0


async def s_follow(url_a, url_b, session, interval_ms):
    every = int(interval_ms) / 1000.0
    q = f"/ws/progress/{session}?interval_ms={interval_ms}"
    b = await connect(url_b, q)
    a = await connect(url_a, q)
    worst = 0.0
    # the session's first report: B's client gets it as soon as it comes
    await a.send(report(1.0, "first"))
    await ack(a, "first")
    worst = max(worst, await until_position(b, 1.0, every + SLACK_S + 2.0))
    for i in range(2, 7):
        pos = 10.0 * i
        if i % 2:
            src, dst = b, a       # B's reports reach A's clients too
        else:
            src, dst = a, b
        await src.send(report(pos, f"r{i}"))
        await ack(src, f"r{i}")
        took = await until_position(dst, pos, every + SLACK_S)
        worst = max(worst, took)
    # playing: the other node extrapolates from the report's own time
    await a.send(report(500.0, "play", playing=True))
    await ack(a, "play")
    worst = max(worst, await until_position(b, 500.0, every + SLACK_S, playing=True))
    # a last report whose connection goes at once (the TV switched off)
    last = await connect(url_a, f"/ws/progress/{session}?interval_ms=60000")
    await last.send(report(777.0, "last"))
    await ack(last, "last")
    await last.close()
    worst = max(worst, await until_position(b, 777.0, every + SLACK_S))
    # a newcomer on B gets it at once, from B's session
    c = await connect(url_b, f"/ws/progress/{session}?interval_ms=60000")
    m = await recv(c, 2.0)
    check(m["type"] == "progress" and m["payload"]["position"] == 777.0,
          f"a newcomer on B got {m}")
    for ws in (a, b, c):
        await ws.close()
    print(f"ok follow max_ms={worst * 1000:.0f}", flush=True)


async def s_watch(url, session, position, seconds):
    ws = await connect(url, f"/ws/progress/{session}?interval_ms=200")
    print("watching", flush=True)
    await until_position(ws, float(position), float(seconds))
    print(f"seen {position}", flush=True)
    await ws.close()


async def s_local(url, session, position):
    pos = float(position)
    watcher = await connect(url, f"/ws/progress/{session}?interval_ms=200")
    reporter = await connect(url, f"/ws/progress/{session}?interval_ms=60000")
    await reporter.send(report(pos, "local"))
    await ack(reporter, "local")
    await until_position(watcher, pos, 0.2 + SLACK_S + 2.0)
    await reporter.close()
    await watcher.close()
    print("ok local", flush=True)


async def silent(ws, seconds):
    """No progress for seconds (other messages fail too)."""
    try:
        raw = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return
    fail(f"expected nothing, got {raw}")


async def s_owners(url_a, url_b, session, tok1, tok2):
    def q(tok):
        return f"/ws/progress/{session}?interval_ms=200&token={tok}"
    b1 = await connect(url_b, q(tok1))
    b2 = await connect(url_b, q(tok2))
    a1 = await connect(url_a, q(tok1))
    await a1.send(report(11.0, "o1"))
    await ack(a1, "o1")
    await until_position(b1, 11.0, 0.2 + SLACK_S + 2.0)
    await silent(b2, 1.0)
    a2 = await connect(url_a, q(tok2))
    await a2.send(report(22.0, "o2"))
    await ack(a2, "o2")
    await until_position(b2, 22.0, 0.2 + SLACK_S + 2.0)
    # owner 1's ticks go on at 11
    for _ in range(3):
        m = await recv(b1, 2.0)
        check(m["type"] == "progress" and m["payload"]["position"] == 11.0,
              f"owner 1 got {m}")
    for ws in (a1, a2, b1, b2):
        await ws.close()
    print("ok owners", flush=True)


async def s_load(url, nsess, n, rate):
    nsess, n, rate = int(nsess), int(n), float(rate)
    last = {f"load-{i}": 0 for i in range(nsess)}
    acks = 0
    ready = False
    per = n // nsess
    gap = nsess / rate            # each session's time between reports

    async def one(session):
        nonlocal acks, ready
        try:
            ws = await connect(url, f"/ws/progress/{session}?interval_ms=60000")
        except (OSError, websockets.exceptions.WebSocketException):
            return

        async def reader():
            nonlocal acks, ready
            async for raw in ws:
                m = json.loads(raw)
                if m["type"] == "ack":
                    p = int(m["id"][1:])
                    check(p > last[session], f"{session}: ack {p} after {last[session]}")
                    last[session] = p
                    acks += 1
                    if acks >= 100 and not ready:
                        ready = True
                        print("ready", flush=True)
                    if acks == n // 2:
                        print("half", flush=True)
                    if p == per:
                        return
                elif m["type"] == "error":
                    fail(f"{session}: {m}")

        rd = asyncio.ensure_future(reader())
        start = time.monotonic()
        try:
            for p in range(1, per + 1):
                delay = start + p * gap - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await ws.send(report(float(p), f"p{p}"))
            # the last acks, or the node's death
            await asyncio.wait_for(rd, 10)
        except (websockets.exceptions.ConnectionClosed, asyncio.TimeoutError, OSError):
            pass
        if not rd.done():
            await ws.close()
        try:
            await rd
        except websockets.exceptions.ConnectionClosed:
            pass

    await asyncio.gather(*(one(s) for s in last))
    for s, p in last.items():
        print(f"{s} {p}", flush=True)


async def s_readback(url, path):
    total = 0
    for line in open(path):
        parts = line.split()
        if len(parts) != 2 or not parts[0].startswith("load-"):
            continue
        session, acked = parts[0], int(parts[1])
        ws = await connect(url, f"/ws/progress/{session}?interval_ms=60000")
        if acked:
            m = await recv(ws, 5.0)
            check(m["type"] == "progress", f"{session}: expected its progress, got {m}")
            stored = m["payload"]["position"]
            # stored may be ahead (committed, its ack lost with the node):
            # never behind an ack
            check(stored >= acked, f"{session}: acked {acked}, read back {stored}")
        total += acked
        await ws.close()
    print(f"ok readback {total}", flush=True)


SCENARIOS = {"follow": s_follow, "owners": s_owners, "watch": s_watch, "local": s_local, "load": s_load,
             "readback": s_readback}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]](*sys.argv[2:]))
