"""tests/helpers/drift_check.py - members' drift (status -> the host's drift
report) against a real revenge-server, from an independent client.

    python3 drift_check.py URL SCENARIO

report: a host and two members; the host plays, the members report their
  players 40 ms ahead and 25 ms behind; the host's drift report lists both
  (largest first, count 2), a member gets none; a member leaving makes the
  next report count 1.
off:    the same statuses under --drift-interval 0: no drift message.
Exits 0, or prints what was expected and what was seen and exits 1.
"""
import asyncio
import json
import sys
import time

import websockets

from wscheck import check, expect_none, fail, recv, recv_type

URL = sys.argv[1]


async def join(party, name):
    ws = await websockets.connect(f"{URL}/ws/party/{party}?name={name}",
                                  subprotocols=["revenge.v1"])
    welcome = await recv(ws)
    check(welcome["type"] == "welcome", f"first message {welcome['type']}")
    return ws, welcome["payload"]["participant_id"]


async def send(ws, mtype, payload, id=None):
    msg = {"type": mtype, "payload": payload}
    if id is not None:
        msg["id"] = id
    await ws.send(json.dumps(msg))


async def setup(party):
    """Host plays from 100 s; returns (host, [(ws, id) x2], state)."""
    host, _ = await join(party, "host")
    members = [await join(party, n) for n in ("ann", "bob")]
    now = time.time() * 1000
    await send(host, "sync", {"position": 100, "playing": True, "speed": 1, "at": now},
               id="s1")
    state = (await recv_type(host, "sync"))["payload"]
    for ws, _ in members:
        await recv_type(ws, "sync")
    # past the settle window after the change
    await asyncio.sleep(0.7)
    return host, members, state


async def report_statuses(members, state, offsets_ms):
    for (ws, _), off in zip(members, offsets_ms):
        # at: the instant the position is about; the server measures
        # against the party's position then, so the offset is exact
        at = time.time() * 1000
        pos = state["position"] + (at - state["server_time"]) / 1000 + off / 1000
        await send(ws, "status", {"position": pos, "playing": True, "buffering": False,
                                  "at": at, "clock_error_ms": 2.5}, id="st")
        ack = await recv_type(ws, "ack")
        check(ack.get("id") == "st", f"status ack {ack}")


async def close_all(*socks):
    """Close each one: left open, asyncio.run's shutdown waits for them."""
    for ws in socks:
        await asyncio.wait_for(ws.close(), 5)


async def drift_until(host, what, pred, timeout=5.0):
    """The first drift report meeting pred (a report lists what was new
    by its time: the first status is reported at once, later ones at the
    next interval)."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        d = (await recv_type(host, "drift", max(0.1, deadline - time.monotonic())))["payload"]
        if pred(d):
            return d
        seen.append(d)
    fail(f"no drift report with {what} within {timeout} s; got {seen}")


async def s_report():
    host, members, state = await setup("drift-report")
    await report_statuses(members, state, (40, -25))
    d = await drift_until(host, "count 2", lambda d: d["count"] == 2)
    got = [(e["id"], e["drift_ms"], e["buffering"], e["clock_error_ms"]) for e in d["members"]]
    want_ids = [members[0][1], members[1][1]]
    check([g[0] for g in got] == want_ids, f"order {got}, expected {want_ids}")
    check(abs(got[0][1] - 40) <= 1 and abs(got[1][1] + 25) <= 1, f"drifts {got}")
    check(not got[0][2] and got[0][3] == 2.5, f"entry {got[0]}")
    # members get no drift report
    for ws, _ in members:
        await expect_none(ws, 0.3, allow=("member_joined", "member_left"))
    # a buffering member is listed first, as buffering
    ws, mid = members[1]
    await send(ws, "status", {"position": 0, "playing": True, "buffering": True})
    d = await drift_until(host, "a buffering member", lambda d: d["members"][0]["buffering"])
    check(d["members"][0] == {"id": mid, "drift_ms": None, "buffering": True,
                              "clock_error_ms": None}, f"buffering entry {d}")
    # leaving removes the entry
    await members[1][0].close()
    d = await drift_until(host, "count 1", lambda d: d["count"] == 1)
    check(d["count"] == 1 and [e["id"] for e in d["members"]] == [members[0][1]],
          f"after a leave {d}")
    await close_all(host, members[0][0])
    print("drift report ok")


async def s_off():
    host, members, state = await setup("drift-off")
    await report_statuses(members, state, (40, -25))
    await expect_none(host, 2.0, allow=("member_joined", "member_left", "sync"))
    await close_all(host, *(ws for ws, _ in members))
    print("no drift report")


SCENARIOS = {"report": s_report, "off": s_off}

if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[2] not in SCENARIOS:
        fail(f"usage: drift_check.py URL {'|'.join(SCENARIOS)}")
    asyncio.run(SCENARIOS[sys.argv[2]]())
