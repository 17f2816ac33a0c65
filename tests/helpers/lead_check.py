"""tests/helpers/lead_check.py - scheduled commands (the lead) against a
real revenge-server: relayed syncs stamped ahead by the lead, welcome's
lead_ms, the server's RTT pings and a lead that follows a slow member.

    python3 lead_check.py URL SCENARIO

Scenarios: scheduled (defaults), slow (a member that answers pings 300 ms
late raises the lead), garbage_pongs (pongs that do not echo the ping are
ignored), answered (--lead-min 0: python-websockets answers the server's
pings), unscheduled (--lead-max 0: v1 stamps).
"""
import asyncio
import json
import sys
import threading
import time
import urllib.request

import websockets

from wscheck import check, fail, recv, recv_type
from wsraw import RawWS

URL = sys.argv[1]
PORT = int(URL.rsplit(":", 1)[1])
LEAD_MIN, LEAD_MAX = 100, 1000


async def join(party, name):
    ws = await websockets.connect(f"{URL}/ws/party/{party}?name={name}",
                                  subprotocols=["revenge.v1"])
    w = await recv(ws)
    check(w["type"] == "welcome", f"first message is {w['type']}")
    return ws, w


async def send(ws, mtype, payload, id=None):
    msg = {"type": mtype, "payload": payload}
    if id:
        msg["id"] = id
    await ws.send(json.dumps(msg))


def metric(name):
    body = urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=5).read().decode()
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    fail(f"/metrics has no {name}")


def lead_of(m):
    return m["payload"]["server_time"] - m["ts"]


async def s_scheduled():
    host, wh = await join("lead1", "host")
    members = [await join("lead1", f"m{i}") for i in range(3)]
    for _, w in [(host, wh)] + members:
        lead = w["payload"].get("lead_ms")
        check(isinstance(lead, (int, float)) and LEAD_MIN <= lead <= LEAD_MAX,
              f"welcome lead_ms {lead}")
    # The host resumes: every member gets the state stamped ahead by the
    # lead, the host the same stamped state as its reply.
    await send(host, "sync", {"position": 0, "playing": True, "speed": 1}, id="go")
    mine = await recv_type(host, "sync")
    check(mine.get("id") == "go", f"host reply {mine}")
    relayed = []
    for ws, _ in members:
        m = await recv_type(ws, "sync")
        lead = lead_of(m)
        check(m["payload"]["server_time"] > m["ts"], f"not scheduled: {m}")
        check(LEAD_MIN - 0.5 <= lead <= LEAD_MAX + 0.5, f"lead {lead} ms out of range: {m}")
        check(m["payload"]["position"] == 0 and m["payload"]["playing"] is True, f"resume {m}")
        check(m["payload"] == mine["payload"], f"host and member differ: {mine} {m}")
        relayed.append(m)
    check(LEAD_MIN <= metric("revenge_party_lead_ms") <= LEAD_MAX, "revenge_party_lead_ms")
    # A pause half a second later, where the host's player is: it stops
    # where everyone will be at its instant, never behind where they are.
    await asyncio.sleep(0.5)
    st = mine["payload"]
    now = time.time() * 1000
    at_now = max(0.0, (now - st["server_time"]) / 1000)
    await send(host, "sync", {"position": at_now, "playing": False, "speed": 1,
                              "at": now})
    for ws, _ in members:
        m = await recv_type(ws, "sync")
        p = m["payload"]
        before = max(0.0, (m["ts"] - st["server_time"]) / 1000)
        check(p["playing"] is False and p["server_time"] > m["ts"], f"pause {m}")
        check(p["position"] >= before - 1e-6,
              f"the pause at {p['position']} is behind where playback was ({before}): {m}")
    for ws in [host] + [ws for ws, _ in members]:
        await ws.close()


def slow_member(party, pings, stop, delay=0.3, wrong=False):
    """A raw member that answers the server's pings delay seconds late
    (wrong: with another payload, after an unsolicited pong of its own)."""
    ws = RawWS(PORT, path=f"/ws/party/{party}?name=slow", timeout=1.0,
               answer_rtt_pings=False)
    check(ws.status == 101, f"slow member handshake {ws.status_line}")
    if wrong:
        ws.send_frame(10, b"\0" * 8)
    t0 = time.monotonic()
    while not stop.is_set():
        try:
            op, payload, _ = ws.recv_frame()
        except OSError:
            continue
        if op == 9:
            pings.append((time.monotonic() - t0, len(payload)))
            time.sleep(delay)
            ws.send_frame(10, bytes(b ^ 0xFF for b in payload) if wrong else payload)
            if wrong:
                ws.send_frame(10, b"ka")
        elif op == 8:
            break
    ws.close()


async def s_slow():
    host, wh = await join("lead2", "host")
    check(wh["payload"]["lead_ms"] == LEAD_MIN, f"lead with nobody slow {wh['payload']}")
    pings, stop = [], threading.Event()
    t = threading.Thread(target=slow_member, args=("lead2", pings, stop), daemon=True)
    t.start()
    try:
        # The lead follows the slow member's RTT (300 ms + the path):
        # 2 x RTT >= 600 ms, at most --lead-max. Bounded wait.
        deadline = time.monotonic() + 15
        lead = 0
        while time.monotonic() < deadline:
            ws, w = await join("lead2", "probe")
            lead = w["payload"]["lead_ms"]
            await ws.close()
            if lead >= 600:
                break
            await asyncio.sleep(0.3)
        check(lead >= 600 and lead <= LEAD_MAX, f"lead {lead} ms did not follow a 300 ms member")
        check(pings and all(n == 8 for _, n in pings), f"RTT pings {pings}")
        check(pings[0][0] < 3, f"first ping {pings[0][0]:.2f} s after the join")
        m_ws, _ = await join("lead2", "m")
        await send(host, "sync", {"position": 42, "playing": True, "speed": 1})
        m = await recv_type(m_ws, "sync")
        check(600 - 0.5 <= lead_of(m) <= LEAD_MAX + 0.5, f"sync lead {lead_of(m)}: {m}")
        check(m["payload"]["position"] == 42, f"a seek lands on its target: {m}")
        await m_ws.close()
    finally:
        stop.set()
        t.join(5)
        await host.close()


async def s_garbage_pongs():
    # pongs that do not echo the server's ping (late, wrong payload,
    # unsolicited, keep-alive-like) are not round trips: the lead stays
    host, _ = await join("lead4", "host")
    pings, stop = [], threading.Event()
    t = threading.Thread(target=slow_member, args=("lead4", pings, stop, 0.3, True),
                         daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 10
        while not pings and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        check(pings, "no RTT ping within 10 s")
        await asyncio.sleep(0.6)     # the wrong pong is in
        ws, w = await join("lead4", "probe")
        # a wrong pong taken as an answer would make it >= 600 (2 x 300 ms);
        # the host's own fast pongs keep it at the minimum on a quiet machine
        check(LEAD_MIN <= w["payload"]["lead_ms"] < 600, f"garbage pongs moved the lead: {w}")
        await ws.close()
    finally:
        stop.set()
        t.join(5)
        await host.close()


async def s_answered():
    # with --lead-min 0 the lead is 0 until an RTT is known: a lead above 0
    # shows that python-websockets answered the server's ping by itself
    host, wh = await join("lead5", "host")
    check(wh["payload"]["lead_ms"] == 0, f"lead before any pong {wh['payload']}")
    deadline, lead = time.monotonic() + 10, 0
    while time.monotonic() < deadline and not lead > 0:
        await asyncio.sleep(0.2)
        ws, w = await join("lead5", "probe")
        lead = w["payload"]["lead_ms"]
        await ws.close()
    check(0 < lead <= LEAD_MAX, f"lead {lead} ms: the ping was not answered, or not timed")
    await host.close()


async def s_unscheduled():
    host, wh = await join("lead3", "host")
    m_ws, wm = await join("lead3", "m")
    check(wh["payload"]["lead_ms"] == 0 and wm["payload"]["lead_ms"] == 0,
          f"lead_ms with --lead-max 0: {wh['payload']['lead_ms']}")
    await send(host, "sync", {"position": 7, "playing": True, "speed": 1})
    m = await recv_type(m_ws, "sync")
    check(m["payload"]["server_time"] <= m["ts"] and m["payload"]["position"] == 7,
          f"--lead-max 0 scheduled a sync: {m}")
    check(metric("revenge_party_lead_ms") == 0, "revenge_party_lead_ms with --lead-max 0")
    await host.close()
    await m_ws.close()


SCENARIOS = {"scheduled": s_scheduled, "slow": s_slow, "garbage_pongs": s_garbage_pongs,
             "answered": s_answered, "unscheduled": s_unscheduled}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[2]]())
