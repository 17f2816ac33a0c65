"""tests/helpers/drift_load.py - the cost of members' statuses: N members of
one party each send a status a second (a few ms of jitter each) for SECONDS; prints the server's CPU
time over that window (from /proc/PID/stat) and the drift reports the host
got, and the same window's CPU with the members idle, for comparison.

    python3 drift_load.py URL SERVER_PID [MEMBERS=1000] [SECONDS=10]

Needs the server run with --party-join-rate 0 --handshake-rate-per-ip 0
--max-conns-per-ip 0 and an open-file limit above MEMBERS. Every wait is
bounded.
"""
import asyncio
import json
import os
import random
import sys
import time

import websockets

URL, PID = sys.argv[1], int(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
SECS = float(sys.argv[4]) if len(sys.argv) > 4 else 10.0
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s():
    with open(f"/proc/{PID}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


async def discard(ws):
    """Read and drop what a member gets (member_joined of the others): a
    member that stops reading stops answering pings too."""
    try:
        async for _ in ws:
            pass
    except websockets.ConnectionClosed:
        pass


async def member(i, start, stop, sent):
    ws = await asyncio.wait_for(websockets.connect(f"{URL}/ws/party/load",
                                                   subprotocols=["revenge.v1"]), 30)
    await asyncio.wait_for(ws.recv(), 30)
    JOINED[0] += 1
    reader = asyncio.create_task(discard(ws))
    await start.wait()
    # spread over the second
    await asyncio.sleep(random.random())
    drift = random.uniform(-0.1, 0.1)
    while not stop.is_set():
        now = time.time() * 1000
        await ws.send(json.dumps({"type": "status", "payload": {
            # a few ms of jitter: every report has something new
            "position": 100 + (now - START[0]) / 1000 + drift + random.gauss(0, 0.003),
            "playing": True,
            "at": now, "clock_error_ms": 1.5}}))
        sent[0] += 1
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except asyncio.TimeoutError:
            pass
    await ws.close()
    await reader


async def drain(ws, reports, stop):
    while not stop.is_set():
        try:
            m = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
        except asyncio.TimeoutError:
            continue
        if m["type"] == "drift":
            reports.append(m["payload"])


START = [0.0]
JOINED = [0]


async def main():
    host = await websockets.connect(f"{URL}/ws/party/load", subprotocols=["revenge.v1"])
    await host.recv()
    START[0] = time.time() * 1000
    await host.send(json.dumps({"type": "sync", "payload": {
        "position": 100, "playing": True, "speed": 1, "at": START[0]}}))
    start, stop, sent, reports = asyncio.Event(), asyncio.Event(), [0], []
    hstop = asyncio.Event()
    htask = asyncio.create_task(drain(host, reports, hstop))
    tasks = []
    for i in range(N):
        tasks.append(asyncio.create_task(member(i, start, stop, sent)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)
    deadline = time.monotonic() + 60
    while JOINED[0] < N and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    if JOINED[0] < N:
        sys.exit(f"only {JOINED[0]} of {N} joined within 60 s")
    await asyncio.sleep(2)          # joins settle (member_joined to all)
    c0 = cpu_s()
    await asyncio.sleep(SECS)
    idle = cpu_s() - c0
    start.set()
    await asyncio.sleep(1.5)        # the spread-out first statuses
    c1, s1, r1 = cpu_s(), sent[0], len(reports)
    await asyncio.sleep(SECS)
    busy = cpu_s() - c1
    n_sent, n_rep = sent[0] - s1, len(reports) - r1
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 60)
    hstop.set()
    await htask
    sizes = [len(r["members"]) for r in reports[-3:]]
    print(f"members {N}, {SECS:.0f} s: idle CPU {idle:.2f} s; with statuses CPU {busy:.2f} s "
          f"for {n_sent} statuses ({n_sent / SECS:.0f}/s), {busy / SECS * 100:.1f} % of a core, "
          f"{busy / max(n_sent, 1) * 1e6:.1f} us a status; host got {n_rep} drift reports "
          f"(last sizes {sizes}, count {reports[-1]['count'] if reports else None})")
    await host.close()


asyncio.run(main())
