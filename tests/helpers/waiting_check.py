"""tests/helpers/waiting_check.py - the watch party's waiting room
(buffering, ready, start, party_state, dropped) driven by an independent
client (Debian's python3-websockets) against a real revenge-server.

    python3 waiting_check.py URL SCENARIO

Each scenario asserts on what arrives and exits 0, or prints what was
expected and what was seen and exits 1. Every wait is bounded; the bounds
are generous (a loaded 2-core machine): nothing asserts a tight timing.
"""
import asyncio
import json
import sys
import time

import websockets

from wscheck import check, expect_none, not_waiting, recv, recv_type, send, waiting_for

URL = sys.argv[1]
T = 5.0


async def join(party, name):
    ws = await websockets.connect(f"{URL}/ws/party/{party}?name={name}",
                                  subprotocols=["revenge.v1"])
    welcome = await recv(ws)
    check(welcome["type"] == "welcome", f"first message is {welcome['type']}")
    return ws, welcome


def play(pos):
    return {"position": pos, "playing": True, "speed": 1}


async def state_where(ws, cond, what, timeout=T):
    """The next party_state for which cond holds (earlier ones, coalesced
    or not, are skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, f"no party_state {what} within {timeout}s")
        m = await recv_type(ws, "party_state", left)
        if cond(m["payload"]):
            return m["payload"]


async def sync_where(ws, playing, timeout=T):
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        check(left > 0, f"no sync playing={playing} within {timeout}s")
        m = await recv_type(ws, "sync", left)
        if m["payload"]["playing"] == playing:
            return m


async def two(party):
    a, wa = await join(party, "ann")
    b, wb = await join(party, "bob")
    check(wa["payload"]["role"] == "host", "ann is host")
    check(wb["payload"]["waiting"] is False, f"welcome waiting: {wb['payload']}")
    return a, b, wb["payload"]["participant_id"]


async def s_hold_release():
    a, b, bid = await two("wr-hold")
    await send(b, "buffering", id="b1")
    ack = await recv_type(b, "ack")
    check(ack["id"] == "b1", f"ack: {ack}")
    p = await state_where(a, waiting_for([bid]), "waiting for bob")
    check(p["deadline"] is None, f"no resume held yet, no deadline: {p}")
    # a joiner learns the party waits
    c, wc = await join("wr-hold", "cat")
    check(wc["payload"]["waiting"] is True, f"joiner's welcome: {wc['payload']}")
    await state_where(c, waiting_for([bid]), "to the joiner")
    # the host's resume is accepted but held: its reply and everyone's
    # sync stay paused at the asked position
    await send(a, "sync", play(12.5), id="s1")
    r = await recv_type(a, "sync")
    check(r.get("id") == "s1" and r["payload"]["playing"] is False
          and r["payload"]["position"] == 12.5, f"host's reply: {r}")
    m = await recv_type(b, "sync")
    check(m["payload"]["playing"] is False and m["payload"]["position"] == 12.5,
          f"held: {m}")
    p = await state_where(b, lambda p: p["waiting"] and p["deadline"] is not None,
                          "with a deadline")
    check(p["deadline"] > m["ts"] + 5000, f"8 s ready timeout by default: {p}")
    await expect_none(c, 0.5, allow=("sync", "party_state", "member_joined"))
    # ready: the held resume, scheduled ahead, to everyone
    await send(b, "ready")
    for ws in (a, b, c):
        s = await sync_where(ws, True)
        check(s["payload"]["position"] == 12.5, f"resumed where asked: {s}")
        check(s["payload"]["server_time"] > s["ts"], f"scheduled ahead: {s}")
        await state_where(ws, not_waiting, "not waiting")
    for ws in (a, b, c):
        await ws.close()


async def s_never_ready():
    # server runs with --ready-timeout 600
    a, b, bid = await two("wr-never")
    await send(b, "buffering")
    await state_where(a, waiting_for([bid]), "waiting for bob")
    t0 = time.monotonic()
    await send(a, "sync", play(3))
    d = await recv_type(b, "dropped", 10)
    check(d["payload"]["reason"] == "ready_timeout", f"dropped: {d}")
    check(time.monotonic() - t0 > 0.4, "dropped before its timeout")
    s = await sync_where(a, True, 10)
    check(s["payload"]["position"] == 3, f"plays on: {s}")
    await state_where(a, not_waiting, "not waiting")
    # dropped: bob's buffering no longer pauses anyone
    await send(b, "buffering")
    await expect_none(a, 0.5)
    # once ready it catches up from the extrapolated state and is back in
    await send(b, "ready")
    await send(b, "buffering")
    s = await sync_where(a, False)
    check(s["from"] == bid, f"a stall pauses, from the stalled member: {s}")
    await a.close()
    await b.close()


async def s_rebuffer():
    # server runs with --rebuffer-timeout 400
    a, b, bid = await two("wr-rebuf")
    await send(a, "sync", play(0))
    await sync_where(b, True)
    await asyncio.sleep(0.3)
    await send(b, "buffering")
    s = await sync_where(a, False)
    check(s["payload"]["position"] > 0.2, f"paused where the playback was: {s}")
    d = await recv_type(b, "dropped", 10)
    check(d["payload"]["reason"] == "rebuffer_timeout", f"dropped: {d}")
    s2 = await sync_where(a, True, 10)
    check(s2["payload"]["position"] == s["payload"]["position"], f"resumed: {s2}")
    await a.close()
    await b.close()


async def s_rebuffer_ready():
    a, b, bid = await two("wr-rebuf-ok")
    await send(a, "sync", play(0))
    await sync_where(b, True)
    await send(b, "buffering")
    s = await sync_where(a, False)
    await state_where(a, lambda p: p["waiting"] and p["deadline"] is not None, "held")
    await send(b, "ready")
    s2 = await sync_where(a, True)
    check(s2["payload"]["position"] == s["payload"]["position"], f"resumed: {s2}")
    await state_where(a, not_waiting, "not waiting")
    await a.close()
    await b.close()


async def s_forced_start():
    a, b, bid = await two("wr-start")
    c, _ = await join("wr-start", "cat")
    await send(b, "buffering")
    # bob's buffering and ann's play come on two connections: wait until
    # the server has the first, or the play may come first and the
    # buffering then stalls it (a pause where the playback is, past 8)
    await state_where(a, waiting_for([bid]), "waiting for bob")
    await send(a, "sync", play(8))
    await state_where(a, lambda p: p["waiting"] and p["deadline"] is not None, "held")
    # a member cannot force it
    await send(c, "start", id="x")
    e = await recv_type(c, "error")
    check(e["payload"]["code"] == "forbidden" and e["payload"]["ref"] == "start"
          and e["id"] == "x", f"member start: {e}")
    await send(a, "start", id="go")
    d = await recv_type(b, "dropped")
    check(d["payload"]["reason"] == "forced_start", f"dropped: {d}")
    for ws in (a, c):
        s = await sync_where(ws, True)
        check(s["payload"]["position"] == 8, f"started: {s}")
        if ws is a:  # the release, the ack, the announcement: in that order
            ack = await recv(a)
            check(ack["type"] == "ack" and ack["id"] == "go", f"ack: {ack}")
        await state_where(ws, not_waiting, "not waiting")
    await expect_none(c, 0.3, allow=("party_state",))
    for ws in (a, b, c):
        await ws.close()


async def s_late_joiner():
    a, b, bid = await two("wr-late")
    await send(a, "sync", play(100))
    await sync_where(b, True)
    await asyncio.sleep(0.3)
    d, wd = await join("wr-late", "dan")
    st = wd["payload"]["state"]
    check(st["playing"] is True and wd["payload"]["waiting"] is False, f"welcome: {wd}")
    await send(d, "buffering", id="lb")
    ack = await recv_type(d, "ack")
    check(ack["id"] == "lb", f"ack: {ack}")
    # nobody pauses, nobody is told of a wait
    await expect_none(a, 0.8, allow=("member_joined",))
    await expect_none(b, 0.3, allow=("member_joined",))
    await send(d, "ready")
    e, we = await join("wr-late", "eve")
    check(we["payload"]["state"]["playing"] is True and we["payload"]["waiting"] is False,
          f"still playing: {we}")
    for ws in (a, b, d, e):
        await ws.close()


async def s_hostile():
    a, b, bid = await two("wr-hostile")
    # ready without buffering, buffering twice: acked, one wait
    await send(b, "ready", id="r0")
    check((await recv(b))["type"] == "ack", "ready acked")
    await send(b, "buffering")
    await send(b, "buffering")
    await state_where(a, waiting_for([bid]), "waiting")
    await expect_none(a, 0.5)
    await send(b, "ready")
    await state_where(a, not_waiting, "not waiting")
    # payloads are ignored, types are checked
    await send(b, "buffering", {"extra": [1, 2]}, id="bx")
    check((await recv_type(b, "ack"))["id"] == "bx", "payload ignored")
    await a.close()
    await b.close()


async def s_buffer_in_tui():
    # for party_tui.bats: cat joins party "tui", buffers, and reports the
    # dropped it gets (the host forces a start in revenge-party)
    c, _ = await join("tui", "cat")
    await send(c, "buffering")
    d = await recv_type(c, "dropped", 30)
    print("DROPPED " + d["payload"]["reason"], flush=True)
    await c.close()


SCENARIOS = {
    "buffer_in_tui": s_buffer_in_tui,
    "hold_release": s_hold_release, "never_ready": s_never_ready,
    "rebuffer": s_rebuffer, "rebuffer_ready": s_rebuffer_ready,
    "forced_start": s_forced_start, "late_joiner": s_late_joiner,
    "hostile": s_hostile,
}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[2]]())
