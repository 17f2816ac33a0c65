"""tests/helpers/prune_check.py - what the store keeps of old and surplus
sessions, by independent clients (python3-websockets, python3's sqlite3).

    python3 prune_check.py report URL TOKEN SESSION...
        one report per session (TOKEN "-": an open server), each acked,
        20 ms apart so each is seen later than the one before
    python3 prune_check.py rows DB
        the store's rows as "TABLE OWNER SESSION" lines, sorted; read with
        a connection of its own while the server runs (WAL)

Exits 0, or prints what was expected and what was seen and exits 1.
"""
import asyncio
import json
import sqlite3
import sys

import websockets

from wscheck import check, recv_type


async def report(url, token, sessions):
    for i, s in enumerate(sessions):
        q = "" if token == "-" else "?token=" + token
        async with websockets.connect(url + "/ws/progress/" + s + q,
                                      subprotocols=["revenge.v1"]) as ws:
            await ws.send(json.dumps({"type": "progress", "id": "r%d" % i, "payload": {
                "media_id": "m", "position": float(i), "playing": False}}))
            ack = await recv_type(ws, "ack")
            check(ack.get("id") == "r%d" % i, f"ack {ack}")
        await asyncio.sleep(0.02)


def rows(db):
    con = sqlite3.connect(db, timeout=5)
    out = []
    for table in ("progress", "quality"):
        for owner, sid in con.execute("SELECT owner, session_id FROM " + table):
            out.append("%s %s %s" % (table, owner or "-", sid))
    con.close()
    for line in sorted(out):
        print(line)


if __name__ == "__main__":
    if sys.argv[1] == "report":
        asyncio.run(report(sys.argv[2], sys.argv[3], sys.argv[4:]))
    elif sys.argv[1] == "rows":
        rows(sys.argv[2])
    else:
        sys.exit("unknown mode " + sys.argv[1])
