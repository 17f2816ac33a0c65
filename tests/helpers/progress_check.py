"""tests/helpers/progress_check.py - progress and quality scenarios driven by
an independent client (python3-websockets).

    python3 progress_check.py URL SCENARIO [ARGS...]

Exits 0, or prints what was expected and what was seen and exits 1.
"""
import asyncio
import json
import sys
import time

import websockets

from wscheck import check, fail, recv_type

URL = sys.argv[1]


async def connect(path):
    return await websockets.connect(URL + path, subprotocols=["revenge.v1"])


async def recv(ws, timeout=3.0):
    try:
        return json.loads(await asyncio.wait_for(ws.recv(), timeout))
    except asyncio.TimeoutError:
        fail(f"nothing within {timeout}s")


async def expect_silence(ws, seconds):
    try:
        raw = await asyncio.wait_for(ws.recv(), seconds)
        fail(f"expected nothing, got {raw}")
    except asyncio.TimeoutError:
        pass


async def send(ws, mtype, payload, id=None):
    msg = {"type": mtype, "payload": payload}
    if id is not None:
        msg["id"] = id
    await ws.send(json.dumps(msg))


async def report(ws, position, playing, duration=600.0, media="film-1", id="r"):
    await send(ws, "progress", {"media_id": media, "position": position,
                                "duration": duration, "playing": playing}, id)
    ack = await recv_type(ws, "ack")
    check(ack.get("id") == id, f"ack {ack}")


# ---- progress --------------------------------------------------------

async def s_ticks():
    ws = await connect("/ws/progress/tick-1?interval_ms=200")
    await expect_silence(ws, 0.5)          # nothing before the first report
    await report(ws, 10.0, True)
    t0 = time.monotonic()
    ticks = []
    while time.monotonic() - t0 < 1.25:
        m = await recv_type(ws, "progress")
        ticks.append((time.monotonic() - t0, m))
    check(4 <= len(ticks) <= 8, f"{len(ticks)} ticks in 1.25 s at 200 ms")
    for elapsed, m in ticks:
        p = m["payload"]
        check(p["session_id"] == "tick-1" and p["media_id"] == "film-1"
              and p["duration"] == 600.0 and p["playing"] is True, f"tick {p}")
        check(abs(p["position"] - (10.0 + elapsed)) < 0.25,
              f"position {p['position']} at +{elapsed:.2f}s, expected ~{10 + elapsed:.2f}")
    gaps = [b[0] - a[0] for a, b in zip(ticks, ticks[1:])]
    check(all(0.1 < g < 0.35 for g in gaps), f"tick gaps {gaps}")
    # pause: the position holds
    await report(ws, 42.0, False, id="p")
    held = [(await recv_type(ws, "progress"))["payload"] for _ in range(3)]
    check(all(p["position"] == 42.0 and p["playing"] is False for p in held), f"paused {held}")
    await ws.close()


async def s_capped():
    ws = await connect("/ws/progress/cap-1?interval_ms=100")
    await report(ws, 599.9, True)
    for _ in range(4):
        p = (await recv_type(ws, "progress"))["payload"]
    check(p["position"] == 600.0, f"position {p['position']} ran past the duration 600")
    await ws.close()


async def s_fanout():
    a = await connect("/ws/progress/multi?interval_ms=100")
    b = await connect("/ws/progress/multi?interval_ms=300")
    await report(a, 5.0, False)
    na = nb = 0
    t0 = time.monotonic()

    async def count(ws):
        n = 0
        while time.monotonic() - t0 < 1.0:
            try:
                m = json.loads(await asyncio.wait_for(ws.recv(), 1.0 - (time.monotonic() - t0)))
            except (asyncio.TimeoutError, ValueError):
                break
            if m["type"] == "progress":
                n += 1
        return n
    na, nb = await asyncio.gather(count(a), count(b))
    check(na >= 7 and 2 <= nb <= 5, f"ticks: {na} at 100 ms, {nb} at 300 ms")
    c = await connect("/ws/progress/multi?interval_ms=1000")
    m = await recv(c, 0.5)           # a stored report is sent at once
    check(m["type"] == "progress" and m["payload"]["position"] == 5.0, f"on connect: {m}")
    for ws in (a, b, c):
        await ws.close()


async def s_invalid():
    ws = await connect("/ws/progress/bad-1")
    cases = [
        ({"media_id": "m", "position": 700, "duration": 600, "playing": True}, "bad_payload"),
        ({"media_id": "m", "position": -1, "duration": 600, "playing": True}, "bad_payload"),
        ({"media_id": "m", "position": 1, "duration": 600}, "bad_payload"),
        ({"media_id": "m", "position": "NaN", "duration": 600, "playing": True}, "bad_payload"),
        ({"media_id": "bad id!", "position": 1, "duration": 600, "playing": True}, "bad_payload"),
        ({"media_id": "m", "position": 1, "duration": 600, "playing": "yes"}, "bad_payload"),
    ]
    for payload, code in cases:
        await send(ws, "progress", payload, id="x")
        e = await recv_type(ws, "error")
        check(e["payload"]["code"] == code and e.get("id") == "x", f"{payload}: {e}")
    await send(ws, "chat", {"text": "hi"}, id="c")
    e = await recv_type(ws, "error")
    check(e["payload"]["code"] == "unknown_type", f"chat on progress: {e}")
    # unknown duration is fine and extrapolates without a cap
    await send(ws, "progress", {"media_id": "m", "position": 1, "duration": None,
                                "playing": False}, id="ok")
    check((await recv_type(ws, "ack"))["id"] == "ok", "null duration refused")
    await expect_silence(ws, 0.3)     # the default interval is 5 s
    await ws.close()


async def s_refused():
    for q in ("interval_ms=99", "interval_ms=60001", "interval_ms=abc", "interval_ms=",
              "interval_ms=100&interval_ms=200", "interval_ms=1e3"):
        try:
            ws = await connect("/ws/progress/q?" + q)
            await ws.close()
            fail(f"?{q} accepted")
        except websockets.InvalidStatusCode as e:
            check(e.status_code == 400, f"?{q}: HTTP {e.status_code}")
    ws = await connect("/ws/progress/q?interval_ms=100")
    await ws.close()


async def s_store_report(session, position):
    """Report a paused position with an id and wait for the ack."""
    ws = await connect(f"/ws/progress/{session}?interval_ms=60000")
    await report(ws, float(position), False, id="persist")
    print("acked", flush=True)
    await ws.close()


async def s_expect_stored(session, position):
    ws = await connect(f"/ws/progress/{session}")
    m = await recv(ws, 1.0)
    check(m["type"] == "progress", f"on connect: {m}")
    p = m["payload"]
    check(p["position"] == float(position) and p["playing"] is False
          and p["media_id"] == "film-1", f"stored report {p}, expected {position}")
    await ws.close()


async def s_report_then_die(session, count):
    """Report positions 1..count with ids as fast as acks come; print each
    acked position (the test kills the server meanwhile)."""
    ws = await connect(f"/ws/progress/{session}?interval_ms=60000")
    try:
        for i in range(1, int(count) + 1):
            await report(ws, float(i), False, id=f"r{i}")
            print(i, flush=True)
    except (websockets.ConnectionClosed, SystemExit, OSError):
        pass


# ---- quality ---------------------------------------------------------

async def s_quality_state():
    ws = await connect("/ws/stream/q-1")
    m = await recv(ws)
    check(m["type"] == "quality_state", f"first message {m}")
    p = m["payload"]
    check(p["profile"] == "1080p" and p["bitrate"] == 8000, f"initial {p}")
    check([(x["profile"], x["bitrate"]) for x in p["ladder"]] ==
          [("2160p", 16000), ("1080p", 8000), ("720p", 4000), ("480p", 1500), ("360p", 800)],
          f"ladder {p['ladder']}")
    await send(ws, "quality_request", {"profile": "720p"}, id="q")
    c = await recv_type(ws, "quality_changed")
    check(c["payload"] == {"profile": "720p", "bitrate": 4000, "from_server": False}
          and c.get("id") == "q", f"quality_changed {c}")
    await send(ws, "quality_request", {"profile": "8k"}, id="u")
    e = await recv_type(ws, "error")
    check(e["payload"]["code"] == "unknown_profile" and e.get("id") == "u", f"unknown: {e}")
    await ws.close()
    ws = await connect("/ws/stream/q-1")
    m = await recv(ws)
    check(m["payload"]["profile"] == "720p", f"reconnect did not resume 720p: {m}")
    await ws.close()


async def s_quality_resumes(session, profile):
    ws = await connect(f"/ws/stream/{session}")
    m = await recv(ws)
    check(m["payload"]["profile"] == profile, f"resumed {m['payload']}, expected {profile}")
    await ws.close()


async def s_quality_request(session, profile):
    ws = await connect(f"/ws/stream/{session}")
    await recv(ws)
    await send(ws, "quality_request", {"profile": profile}, id="q")
    await recv_type(ws, "quality_changed")
    await ws.close()


async def s_suggest():
    ws = await connect("/ws/stream/s-1")
    await recv(ws)
    # collapse at 1080p: a lower profile is suggested promptly
    sugg = None
    for i in range(3):
        await send(ws, "bandwidth_report", {"kbps": 1000}, id=f"b{i}")
        m = await recv(ws)
        if m["type"] == "quality_suggestion":
            sugg = m
            break
        check(m["type"] == "ack", f"report answered with {m}")
        await asyncio.sleep(0.3)
    check(sugg is not None, "no suggestion after a collapse to 1000 kbps")
    check(sugg["payload"] == {"profile": "360p", "bitrate": 800, "from_server": True},
          f"suggestion {sugg['payload']}")
    # a suggestion only advises: the profile is unchanged until requested
    await send(ws, "bandwidth_report", {"kbps": 1000}, id="again")
    m = await recv(ws)
    check(m["type"] == "ack", f"same suggestion repeated: {m}")
    for bad in ({"kbps": -5}, {"kbps": "fast"}, {}, {"kbps": None}):
        await send(ws, "bandwidth_report", bad, id="bad")
        e = await recv_type(ws, "error")
        check(e["payload"]["code"] == "bad_payload", f"{bad}: {e}")
    await send(ws, "progress", {"media_id": "m", "position": 1, "playing": True}, id="p")
    e = await recv_type(ws, "error")
    check(e["payload"]["code"] == "unknown_type", f"progress on stream: {e}")
    await ws.close()


async def s_custom_ladder():
    ws = await connect("/ws/stream/c-1")
    p = (await recv(ws))["payload"]
    check([(x["profile"], x["bitrate"]) for x in p["ladder"]] == [("hi", 5000), ("lo", 500)],
          f"ladder {p['ladder']}")
    check(p["profile"] == "hi", f"initial {p['profile']}")
    await ws.close()


SCENARIOS = {
    "ticks": s_ticks, "capped": s_capped, "fanout": s_fanout, "invalid": s_invalid,
    "refused": s_refused, "store_report": s_store_report, "expect_stored": s_expect_stored,
    "report_then_die": s_report_then_die, "quality_state": s_quality_state,
    "quality_resumes": s_quality_resumes, "quality_request": s_quality_request,
    "suggest": s_suggest, "custom_ladder": s_custom_ladder,
}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[2]](*sys.argv[3:]))
