"""tests/helpers/store_check.py - a store that cannot write, seen by
independent clients (python3-websockets).

    python3 store_check.py URL refuse_then_ack SESSION N GOFILE
        N progress reports on one connection (the last one without an id)
        are each answered with error store_unavailable, never with ack; the
        connection stays open (time is answered). Prints "refused N", then
        waits (up to 20 s) for GOFILE to exist, sends one more report on the
        same connection and expects its ack; a new connection reads it back.
    python3 store_check.py URL party PARTY
        a host and a member: sync is relayed, chat reaches both.
    python3 store_check.py URL until_refused NSESS SECONDS
        NSESS sessions report at once, each its positions 1, 2, 3, ... with
        ids, the next when the last is answered, until the first
        store_unavailable (or SECONDS pass: a failure); prints "ready" after
        the first acks, then one "SESSION LAST_ACKED" line per session.

Exits 0, or prints what was expected and what was seen and exits 1.
"""
import asyncio
import json
import os
import sys
import time

import websockets

from wscheck import check, expect_none, fail, recv, recv_type

URL = sys.argv[1]


async def connect(path):
    return await websockets.connect(URL + path, subprotocols=["revenge.v1"])


def progress(position, id=None):
    msg = {"type": "progress", "payload": {"media_id": "film-1", "position": position,
                                           "duration": 600.0, "playing": False}}
    if id is not None:
        msg["id"] = id
    return json.dumps(msg)


async def s_refuse_then_ack(session, n, gofile):
    n = int(n)
    ws = await connect(f"/ws/progress/{session}?interval_ms=60000")
    for i in range(1, n + 1):
        await ws.send(progress(float(i), f"r{i}" if i < n else None))
    ids = []
    for _ in range(n):
        m = await recv_type(ws, "error")
        p = m["payload"]
        check(p["code"] == "store_unavailable" and p["ref"] == "progress",
              f"expected store_unavailable for progress, got {m}")
        check("ts" in m, f"error without ts: {m}")
        ids.append(m.get("id"))
    check(sorted(ids, key=str) == sorted([f"r{i}" for i in range(1, n)] + [None], key=str),
          f"error ids {ids}")
    # never acked, and the connection is still open and answering
    await expect_none(ws, 0.5, allow=("progress",))
    await ws.send(json.dumps({"type": "time", "payload": {"client_time": 1}, "id": "t"}))
    t = await recv_type(ws, "time")
    check(t.get("id") == "t", f"time reply {t}")
    print(f"refused {n}", flush=True)
    deadline = time.monotonic() + 20
    while not os.path.exists(gofile):
        if time.monotonic() > deadline:
            fail(f"{gofile} did not appear")
        await asyncio.sleep(0.05)
    await ws.send(progress(42.5, "again"))
    while True:
        m = await recv(ws)
        if m["type"] == "progress":
            continue
        check(m["type"] == "ack" and m.get("id") == "again", f"expected the ack, got {m}")
        break
    other = await connect(f"/ws/progress/{session}")
    m = await recv(other, 1.0)
    check(m["type"] == "progress" and m["payload"]["position"] == 42.5,
          f"read back {m}")
    print("acked", flush=True)
    await other.close()
    await ws.close()


async def s_party(party):
    host = await connect(f"/ws/party/{party}?name=host")
    w = await recv_type(host, "welcome")
    check(w["payload"]["role"] == "host", f"host welcome {w}")
    member = await connect(f"/ws/party/{party}?name=guest")
    await recv_type(member, "welcome")
    await host.send(json.dumps({"type": "sync", "id": "s1",
                                "payload": {"position": 12.0, "playing": True, "speed": 1}}))
    s = await recv_type(member, "sync")
    check(s["payload"]["position"] == 12.0 and s["payload"]["playing"] is True, f"sync {s}")
    await member.send(json.dumps({"type": "chat", "payload": {"text": "still here"}}))
    for ws in (host, member):
        c = await recv_type(ws, "chat")
        check(c["payload"]["text"] == "still here", f"chat {c}")
    print("party ok", flush=True)
    await member.close()
    await host.close()


async def s_until_refused(nsess, seconds):
    nsess, deadline = int(nsess), time.monotonic() + float(seconds)
    last = {}
    acks = 0

    async def one(session):
        nonlocal acks
        ws = await connect(f"/ws/progress/{session}?interval_ms=60000")
        pos = 0
        while True:
            pos += 1
            await ws.send(progress(float(pos), f"p{pos}"))
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    fail(f"{session}: no refusal within {seconds} s")
                m = await recv(ws, left)
                if m["type"] in ("ack", "error"):
                    break
            if m["type"] == "error":
                check(m["payload"]["code"] == "store_unavailable" and m.get("id") == f"p{pos}",
                      f"{session}: expected store_unavailable for p{pos}, got {m}")
                break
            check(m.get("id") == f"p{pos}", f"{session}: ack out of order {m}")
            last[session] = pos
            acks += 1
            if acks == 10 * nsess:
                print("ready", flush=True)
        await ws.close()

    await asyncio.gather(*(one(f"load-{i}") for i in range(nsess)))
    for i in range(nsess):
        print(f"load-{i} {last.get(f'load-{i}', 0)}", flush=True)


SCENARIOS = {"refuse_then_ack": s_refuse_then_ack, "party": s_party,
             "until_refused": s_until_refused}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[2]](*sys.argv[3:]))
