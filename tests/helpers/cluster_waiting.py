"""tests/helpers/cluster_waiting.py - the waiting room across two nodes of
a cluster (--redis), driven by an independent client (Debian's
python3-websockets): the host on node A, members on node B.

    python3 cluster_waiting.py A_URL B_URL PARTY SCENARIO

Scenarios:
  hold     bob (B) buffers: ann's (A) resume is held, party_state names
           bob on both nodes with one deadline; cat (A) buffers too: both
           named on both nodes; both ready: the held resume plays on both.
  drift    bob (B) reports his drift (status): ann's (A) drift report
           lists it, then bob buffering.
  killed   bob (B) buffers and holds ann's resume; prints HELD (and creates
           $MARK) and waits up to 40 s for the resume to play on A: the
           test kills node B meanwhile.
  cutoff   as killed, but the test kills Redis: A waits for its own
           members only, and the resume plays.
Each exits 0 and prints "ok SCENARIO", or prints what it expected and saw
and exits 1. Every wait is bounded, generously (a loaded 2-core machine).
"""
import asyncio
import os
import sys
import time

import websockets

from wscheck import check, not_waiting, recv, recv_type, send, waiting_for

A_URL, B_URL, PARTY = sys.argv[1], sys.argv[2], sys.argv[3]
T = 15.0


async def join(url, name):
    ws = await websockets.connect(f"{url}/ws/party/{PARTY}?name={name}",
                                  subprotocols=["revenge.v1"])
    welcome = await recv(ws, T)
    check(welcome["type"] == "welcome", f"first message is {welcome['type']}")
    return ws, welcome["payload"]


async def until(ws, mtype, cond, what, timeout=T):
    """The next message of mtype for which cond holds (others skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, f"no {mtype} {what} within {timeout}s")
        m = await recv_type(ws, mtype, left)
        if cond(m["payload"]):
            return m


def play(pos):
    return {"position": pos, "playing": True, "speed": 1}


async def host_and_bob():
    a, wa = await join(A_URL, "ann")
    check(wa["role"] == "host", f"ann hosts: {wa}")
    b, wb = await join(B_URL, "bob")
    bid = wb["participant_id"]
    # ann's node knows bob (not needed for the wait: a wait naming a
    # member not known yet is applied once he is; but the test is clearer)
    await until(a, "member_joined", lambda p: p["id"] == bid, "for bob")
    return a, b, bid


async def s_hold():
    a, b, bid = await host_and_bob()
    await send(b, "buffering", id="b1")
    check((await recv_type(b, "ack", T))["id"] == "b1", "bob's buffering acked")
    await until(a, "party_state", waiting_for([bid]), "naming bob on A")
    await until(b, "party_state", waiting_for([bid]), "naming bob on B")
    # the host's resume is held on A; B follows the held (paused) state
    await send(a, "sync", play(12.5), id="s1")
    r = await recv_type(a, "sync", T)
    check(r.get("id") == "s1" and r["payload"]["playing"] is False
          and r["payload"]["position"] == 12.5, f"host's reply held: {r}")
    m = await recv_type(b, "sync", T)
    check(m["payload"]["playing"] is False and m["payload"]["position"] == 12.5,
          f"held on B: {m}")
    pa = await until(a, "party_state", lambda p: p["waiting"] and p["deadline"] is not None,
                     "with a deadline on A")
    pb = await until(b, "party_state", lambda p: p["waiting"] and p["deadline"] is not None,
                     "with a deadline on B")
    check(pa["payload"]["deadline"] == pb["payload"]["deadline"],
          f"one deadline: A {pa['payload']} B {pb['payload']}")
    # a member of A buffering too: both named on both nodes
    c, wc = await join(A_URL, "cat")
    cid = wc["participant_id"]
    check(wc["waiting"] is True, f"cat's welcome says the party waits: {wc}")
    await send(c, "ready")
    await send(c, "buffering")
    await until(a, "party_state", waiting_for([bid, cid]), "naming bob and cat on A")
    await until(b, "party_state", waiting_for([bid, cid]), "naming bob and cat on B")
    # bob ready: still held for cat
    await send(b, "ready")
    await until(b, "party_state", waiting_for([cid]), "naming cat on B")
    await until(a, "party_state", waiting_for([cid]), "naming cat on A")
    await send(c, "ready")
    for ws in (a, b, c):
        s = await until(ws, "sync", lambda p: p["playing"], "playing")
        check(s["payload"]["position"] == 12.5, f"resumed where asked: {s}")
        await until(ws, "party_state", not_waiting, "not waiting")
    for ws in (a, b, c):
        await ws.close()


async def held_by_bob():
    """bob (B) buffering holds ann's (A) resume; HELD said (and $MARK made)."""
    a, b, bid = await host_and_bob()
    await send(b, "buffering")
    await until(a, "party_state", waiting_for([bid]), "naming bob on A")
    await send(a, "sync", play(7), id="s1")
    r = await recv_type(a, "sync", T)
    check(r["payload"]["playing"] is False, f"held: {r}")
    print("HELD", flush=True)
    if os.environ.get("MARK"):
        open(os.environ["MARK"], "w").close()
    return a, b, bid


async def s_killed():
    a, b, bid = await held_by_bob()
    t0 = time.monotonic()
    # node B is killed now: bob leaves A with B's lease, and the wait ends
    await until(a, "member_left", lambda p: p["id"] == bid, "for bob", 40)
    s = await until(a, "sync", lambda p: p["playing"], "playing", 40)
    check(s["payload"]["position"] == 7, f"resumed where asked: {s}")
    await until(a, "party_state", not_waiting, "not waiting")
    print(f"resumed {time.monotonic() - t0:.1f}s after the kill", flush=True)
    await a.close()


async def s_drift():
    a, b, bid = await host_and_bob()
    now = time.time() * 1000
    await send(a, "sync", {"position": 100, "playing": True, "speed": 1, "at": now}, id="s1")
    st = (await recv_type(a, "sync", T))["payload"]
    await until(b, "sync", lambda p: p["playing"], "playing on B")
    # past the settle window after the change (drift.h RV__DRIFT_SETTLE_MS)
    await asyncio.sleep(0.7)
    at = time.time() * 1000
    pos = st["position"] + (at - st["server_time"]) / 1000 + 0.040
    await send(b, "status", {"position": pos, "playing": True, "buffering": False,
                             "at": at, "clock_error_ms": 2.5}, id="st")
    check((await recv_type(b, "ack", T))["id"] == "st", "bob's status acked")
    d = await until(a, "drift", lambda p: p["count"] == 1, "with bob")
    e = d["payload"]["members"]
    check(len(e) == 1 and e[0]["id"] == bid and abs(e[0]["drift_ms"] - 40) <= 5
          and e[0]["buffering"] is False and e[0]["clock_error_ms"] == 2.5, f"bob's entry: {d}")
    # a buffering status: listed as buffering on the host's node
    await send(b, "status", {"position": 0, "playing": True, "buffering": True})
    d = await until(a, "drift", lambda p: p["members"] and p["members"][0]["buffering"],
                    "with bob buffering")
    check(d["payload"]["members"][0] == {"id": bid, "drift_ms": None, "buffering": True,
                                         "clock_error_ms": None}, f"buffering entry: {d}")
    await a.close()
    await b.close()


async def s_cutoff():
    a, b, bid = await held_by_bob()
    t0 = time.monotonic()
    # Redis is killed now: node A no longer hears B, so it waits for its
    # own members only and the held resume plays (bob stays a member)
    s = await until(a, "sync", lambda p: p["playing"], "playing", 40)
    check(s["payload"]["position"] == 7, f"resumed where asked: {s}")
    await until(a, "party_state", not_waiting, "not waiting")
    print(f"resumed {time.monotonic() - t0:.1f}s after Redis went", flush=True)
    await a.close()
    await b.close()


SCENARIOS = {"hold": s_hold, "killed": s_killed, "drift": s_drift, "cutoff": s_cutoff}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[4]]())
    print(f"ok {sys.argv[4]}", flush=True)
