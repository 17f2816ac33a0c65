"""tests/helpers/backlog_check.py - a stuck store does not make the server
hoard reports: past the writer's backlog (16384 waiting reports) new ones
are refused at once (python3-websockets, python3's sqlite3 for the lock).

    python3 backlog_check.py URL DB N
        holds BEGIN EXCLUSIVE on DB for 3 s; meanwhile sends N reports with
        ids on one connection as fast as it can, and reads the answers.
        Prints "sent N acked A refused R early E", E being the refusals that
        came within 1.5 s of the lock (before the writer's 2 s busy timeout
        could refuse anything), and checks every report got one answer.

Exits 0, or prints what was expected and what was seen and exits 1.
"""
import asyncio
import json
import sqlite3
import sys
import threading
import time

import websockets

from wscheck import check


def hold(db, locked, secs):
    con = sqlite3.connect(db, timeout=5, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")
    locked.set()
    time.sleep(secs)
    con.execute("ROLLBACK")
    con.close()


async def main(url, db, n):
    locked = threading.Event()
    counts = {"ack": 0, "refused": 0, "early": 0}
    async with websockets.connect(url + "/ws/progress/backlog", max_queue=None,
                                  subprotocols=["revenge.v1"]) as ws:
        # a first report makes the session's row, so the lock is all that differs
        await ws.send(json.dumps({"type": "progress", "id": "first", "payload": {
            "media_id": "m", "position": 0.0, "playing": False}}))
        while json.loads(await asyncio.wait_for(ws.recv(), 5)).get("type") != "ack":
            pass
        t = threading.Thread(target=hold, args=(db, locked, 3.0))
        t.start()
        while not locked.is_set():
            await asyncio.sleep(0.01)
        t0 = time.monotonic()
        seen = set()

        async def reader():
            async for raw in ws:
                m = json.loads(raw)
                mid = m.get("id")
                if m.get("type") == "ack":
                    counts["ack"] += 1
                elif m.get("type") == "error":
                    check(m["payload"]["code"] == "store_unavailable", f"error {m}")
                    counts["refused"] += 1
                    if time.monotonic() - t0 < 1.5:
                        counts["early"] += 1
                else:
                    continue
                check(mid not in seen, f"two answers for {mid}")
                seen.add(mid)
                if len(seen) == n:
                    return
        r = asyncio.ensure_future(reader())
        for i in range(n):
            await ws.send(json.dumps({"type": "progress", "id": "r%d" % i, "payload": {
                "media_id": "m", "position": float(i), "playing": True}}))
        await asyncio.wait_for(r, 20)
        t.join()
    print("sent %d acked %d refused %d early %d" % (n, counts["ack"], counts["refused"],
                                                   counts["early"]))
    check(counts["ack"] + counts["refused"] == n, "every report answered once")


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
