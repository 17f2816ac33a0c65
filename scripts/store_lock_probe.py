#!/usr/bin/python3
"""scripts/store_lock_probe.py - does a slow or locked store stall parties?

Connects one party client (sends "time" every 10 ms and times the round
trip) and one progress client (a report every 20 ms, counts acks and
store_unavailable errors) to a running revenge-server, and after 1 s makes
another process hold the SQLite write lock (BEGIN EXCLUSIVE) on the
server's --db for HOLD seconds. Prints party round trip p50/p99/max for the
whole run and the progress outcomes. Bounded: DURATION seconds in all.

  scripts/store_lock_probe.py ws://127.0.0.1:PORT DB [HOLD=3] [DURATION=6]
"""
import asyncio
import json
import os
import sqlite3
import sys
import threading
import time

import websockets


def hold_lock(db, hold):
    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    time.sleep(hold)
    con.execute("ROLLBACK")
    con.close()


async def party(url, until, rtts):
    async with websockets.connect(url + "/ws/party/lp%d" % os.getpid(), max_queue=None) as ws:
        n = 0
        while time.monotonic() < until:
            n += 1
            t0 = time.monotonic()
            await ws.send(json.dumps({"type": "time", "id": "t%d" % n,
                                      "payload": {"client_time": time.time() * 1000}}))
            while True:
                m = json.loads(await asyncio.wait_for(ws.recv(), 5))
                if m.get("type") == "time" and m.get("id") == "t%d" % n:
                    break
            rtts.append((time.monotonic() - t0) * 1000)
            await asyncio.sleep(0.01)


async def progress(url, until, out):
    async with websockets.connect(url + "/ws/progress/lp%d" % os.getpid(), max_queue=None) as ws:
        async def reader():
            async for raw in ws:
                m = json.loads(raw)
                if m.get("type") == "ack":
                    out["acked"] += 1
                elif m.get("type") == "error":
                    out["refused"] += 1
        r = asyncio.ensure_future(reader())
        n = 0
        while time.monotonic() < until:
            n += 1
            await ws.send(json.dumps({"type": "progress", "id": "p%d" % n, "payload": {
                "media_id": "m", "position": n * 0.02, "playing": True}}))
            out["sent"] += 1
            await asyncio.sleep(0.02)
        await asyncio.sleep(min(3.0, max(0.0, until + 3 - time.monotonic())))
        r.cancel()


async def main():
    url, db = sys.argv[1], sys.argv[2]
    hold = float(sys.argv[3]) if len(sys.argv) > 3 else 3.0
    duration = float(sys.argv[4]) if len(sys.argv) > 4 else 6.0
    until = time.monotonic() + duration
    rtts, out = [], {"sent": 0, "acked": 0, "refused": 0}
    loop = asyncio.get_running_loop()
    locker = loop.run_in_executor(None, lambda: (time.sleep(1), hold_lock(db, hold)))
    await asyncio.wait_for(asyncio.gather(party(url, until, rtts), progress(url, until, out),
                                          locker), duration + 10)
    rtts.sort()
    pick = lambda q: rtts[min(len(rtts) - 1, int(q * len(rtts)))]
    print("party time round trips: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms" %
          (len(rtts), pick(0.5), pick(0.99), rtts[-1]))
    print("progress: sent=%(sent)d acked=%(acked)d refused=%(refused)d" % out)


asyncio.run(main())
