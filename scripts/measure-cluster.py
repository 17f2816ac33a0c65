#!/usr/bin/python3
"""scripts/measure-cluster.py - cross-node fan-out against one node: a host
on node A syncs, N members on A (the single-node shape) or on B (every
delivery crosses Redis); prints delivery latency percentiles, CPU per
delivery on each node, and Redis publishes per message.

    measure-cluster.py URL_A URL_B PID_A PID_B [MEMBERS] [MESSAGES]

Start both nodes with --party-join-rate 0 --handshake-rate-per-ip 0
--max-conns-per-ip 0 (all members come from one address at once).

A rough measure: the members are one Python process on the same machine, so
latencies include its scheduling; both shapes pay that alike. CPU is read
from /proc in clock ticks (10 ms): keep MEMBERS x MESSAGES large.
"""
import asyncio
import json
import os
import sys
import time
import urllib.request

import websockets

URL_A, URL_B, PID_A, PID_B = sys.argv[1:5]
N = int(sys.argv[5]) if len(sys.argv) > 5 else 200
K = int(sys.argv[6]) if len(sys.argv) > 6 else 100
TICK = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / TICK


def metric(url, name):
    http = url.replace("ws://", "http://")
    with urllib.request.urlopen(f"{http}/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return 0.0


async def run(shape, party):
    host = await websockets.connect(f"{URL_A}/ws/party/{party}?name=host",
                                    subprotocols=["revenge.v1"], max_queue=None)
    await host.recv()
    url = URL_A if shape == "one node" else URL_B
    members = []
    for i in range(N):
        ws = await websockets.connect(f"{url}/ws/party/{party}?name=m{i}",
                                      subprotocols=["revenge.v1"], max_queue=None)
        await ws.recv()
        members.append(ws)
    sent = {}
    lat = []

    async def reader(ws):
        got = 0
        while got < K:
            try:
                raw = await asyncio.wait_for(ws.recv(), 10)
            except asyncio.TimeoutError:
                return
            m = json.loads(raw)
            if m["type"] == "sync" and m["payload"]["position"] in sent:
                lat.append(time.monotonic() - sent[m["payload"]["position"]])
                got += 1

    # let the other node subscribe: one sync first, until it arrives
    for _ in range(100):
        await host.send(json.dumps({"type": "sync", "payload": {"position": 0.5,
                                    "playing": True, "speed": 1}}))
        try:
            await asyncio.wait_for(members[-1].recv(), 0.2)
            break
        except asyncio.TimeoutError:
            pass
    await asyncio.sleep(0.5)
    readers = [asyncio.create_task(reader(ws)) for ws in members]
    pub0 = metric(URL_A, "revenge_redis_published_total")
    c0 = (cpu(PID_A), cpu(PID_B))
    for k in range(K):
        pos = float(k + 1)
        sent[pos] = time.monotonic()
        await host.send(json.dumps({"type": "sync", "payload": {"position": pos,
                                    "playing": True, "speed": 1}}))
        await asyncio.sleep(0.03)
    await asyncio.gather(*readers)
    c1 = (cpu(PID_A), cpu(PID_B))
    pub = metric(URL_A, "revenge_redis_published_total") - pub0
    for ws in members + [host]:
        await ws.close()
    lat.sort()
    d = len(lat)

    def pct(p):
        return lat[min(d - 1, int(p * d))] * 1000 if d else float("nan")

    print(f"{shape:9s}: {d} deliveries of {N * K}; latency p50 {pct(0.5):.2f} ms, "
          f"p99 {pct(0.99):.2f} ms; CPU per delivery A {(c1[0] - c0[0]) / max(d, 1) * 1e6:.2f} us, "
          f"B {(c1[1] - c0[1]) / max(d, 1) * 1e6:.2f} us; Redis publishes per message "
          f"{pub / K:.2f}")


async def main():
    await run("one node", "bench-local")
    await run("cross", "bench-cross")


asyncio.run(main())
