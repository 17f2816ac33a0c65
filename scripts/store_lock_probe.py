#!/usr/bin/python3
"""scripts/store_lock_probe.py - does a slow or locked store stall parties?

Connects one party client (sends "time" every 25 ms, open loop, and times
each round trip) and PROGRESS progress clients (a report every 40 ms each, counting
acks and store_unavailable errors) to a running revenge-server, and after
1 s makes another process hold the SQLite write lock (BEGIN EXCLUSIVE) on
the server's --db for HOLD seconds (0: no lock). Prints party round trip
p50/p99/max for the whole run and the progress outcomes. Bounded: DURATION
seconds of traffic, then at most 3 s for the last answers. Half a second
into the lock it also times a new connection to a stored session (its
report is sent on open). Both rates stay
under the server's default --rate-limit (50 messages/s per connection):
above it the server answers rate_limited instead, which is not what this
measures.

  scripts/store_lock_probe.py ws://127.0.0.1:PORT DB [HOLD=3] [DURATION=6] [PROGRESS=4]
"""
import asyncio
import json
import os
import sqlite3
import sys
import threading
import time

import websockets


def hold_lock(db, hold, started):
    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    started.set()
    time.sleep(hold)
    con.execute("ROLLBACK")
    con.close()


async def party(url, until, rtts, out):
    """Open loop: a "time" every 25 ms whatever the answers do, so a stall
    shows in every round trip it delays, not in one."""
    async with websockets.connect(url + "/ws/party/lp%d" % os.getpid(), max_queue=None) as ws:
        sent = {}

        async def reader():
            async for raw in ws:
                m = json.loads(raw)
                t0 = sent.pop(m.get("id"), None)
                if t0 is None:
                    continue
                if m.get("type") == "time":
                    rtts.append((time.monotonic() - t0) * 1000)
                else:
                    out["party_errors"] += 1
        r = asyncio.ensure_future(reader())
        n = 0
        while time.monotonic() < until:
            n += 1
            sent["t%d" % n] = time.monotonic()
            await ws.send(json.dumps({"type": "time", "id": "t%d" % n,
                                      "payload": {"client_time": time.time() * 1000}}))
            await asyncio.sleep(0.025)
        t_end = time.monotonic() + 5
        while sent and time.monotonic() < t_end:
            await asyncio.sleep(0.02)
        out["party_unanswered"] = len(sent)
        r.cancel()


async def progress(url, until, out, k):
    async with websockets.connect(url + "/ws/progress/lp%d-%d" % (os.getpid(), k),
                                  max_queue=None) as ws:
        async def reader():
            async for raw in ws:
                m = json.loads(raw)
                if m.get("type") == "ack":
                    out["acked"] += 1
                elif m.get("type") == "error":
                    code = m.get("payload", {}).get("code", "?")
                    out["errors"][code] = out["errors"].get(code, 0) + 1
        r = asyncio.ensure_future(reader())
        n = 0
        while time.monotonic() < until:
            n += 1
            await ws.send(json.dumps({"type": "progress", "id": "p%d" % n, "payload": {
                "media_id": "m", "position": n * 0.04, "playing": True}}))
            out["sent"] += 1
            await asyncio.sleep(0.04)
        # the last answers: bounded, and no longer than they take
        t_end = time.monotonic() + 3
        while time.monotonic() < t_end and \
                out["acked"] + sum(out["errors"].values()) < out["sent"]:
            await asyncio.sleep(0.05)
        r.cancel()


async def reopen(url, out, started):
    """While the lock is held, a new connection to a session with a stored
    report: how long until the report comes (it is sent at once on open)."""
    while not started.is_set():
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.5)
    t0 = time.monotonic()
    async with websockets.connect(url + "/ws/progress/lp%d-0" % os.getpid(),
                                  max_queue=None) as ws:
        while True:
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m.get("type") == "progress":
                break
    out["reopen_ms"] = (time.monotonic() - t0) * 1000


async def main():
    url, db = sys.argv[1], sys.argv[2]
    hold = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    duration = float(sys.argv[4]) if len(sys.argv) > 4 else 6.0
    nprog = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    until = time.monotonic() + duration
    rtts, out = [], {"sent": 0, "acked": 0, "errors": {}, "party_errors": 0}
    started = threading.Event()
    loop = asyncio.get_running_loop()
    tasks = [party(url, until, rtts, out)] + [progress(url, until, out, k) for k in range(nprog)]
    if hold > 0:
        tasks.append(loop.run_in_executor(None, lambda: (time.sleep(1),
                                                         hold_lock(db, hold, started))))
        if nprog > 0 and hold > 0.6:
            tasks.append(reopen(url, out, started))
    await asyncio.wait_for(asyncio.gather(*tasks), duration + 10)
    rtts.sort()
    pick = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))]
    print("party time round trips: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms errors=%d"
          " unanswered=%d over_100ms=%d" %
          (len(rtts), pick(0.5), pick(0.99), rtts[-1], out["party_errors"],
           out.get("party_unanswered", 0), sum(1 for x in rtts if x > 100)))
    print("progress: sent=%d acked=%d errors=%s lock_held=%s" %
          (out["sent"], out["acked"], json.dumps(out["errors"], sort_keys=True),
           "yes" if started.is_set() else "no"))
    if "reopen_ms" in out:
        print("stored report on connect while the lock is held: %.2f ms" % out["reopen_ms"])


asyncio.run(main())
