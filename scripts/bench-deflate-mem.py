#!/usr/bin/python3
"""scripts/bench-deflate-mem.py - server memory per connection that
negotiated permessage-deflate, as browsers always do.

revenge-bench's own client cannot take compressed messages (libwebsockets
4.1.6's client loops on a plain message after a compressed one), so this
uses Python's websockets, which compresses like a browser. Opens CONNS
connections in parties of 10 to a running server, each sends one chat
large enough to be compressed both ways, waits for the echoes to settle,
then reads the server's resident memory from /proc/PID/status.

  bench-deflate-mem.py URL PID CONNS [--plain] [--duration SECONDS]

Prints one JSON object: conns, deflate, negotiated (the extension answer
of the first connection), rss_before_kib, rss_after_kib, kib_per_conn.
Every wait is bounded; exits 1 when connections fail.
"""
import asyncio
import json
import sys

import websockets

CHAT = '{"type":"chat","payload":{"text":"%s"}}' % ("hello party " * 40)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def main():
    url, pid, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    deflate = "--plain" not in sys.argv
    hold = 2.0
    if "--duration" in sys.argv:
        hold = float(sys.argv[sys.argv.index("--duration") + 1])
    before = rss_kib(pid)
    opened, failed = [], 0

    async def one(i):
        nonlocal failed
        try:
            ws = await asyncio.wait_for(websockets.connect(
                f"{url}/ws/party/mem{i // 10}?name=m{i}", subprotocols=["revenge.v1"],
                compression="deflate" if deflate else None, max_queue=None,
                ping_interval=None), 10)
            opened.append(ws)
            await ws.send(CHAT)
        except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
            failed += 1

    for i in range(0, conns, 100):
        await asyncio.gather(*(one(j) for j in range(i, min(conns, i + 100))))
    await asyncio.sleep(hold)
    after = rss_kib(pid)
    negotiated = [str(e) for e in opened[0].extensions] if opened else []
    await asyncio.gather(*(ws.close() for ws in opened), return_exceptions=True)
    print(json.dumps({
        "conns": len(opened), "failed": failed, "deflate": deflate,
        "negotiated": negotiated, "rss_before_kib": before, "rss_after_kib": after,
        "kib_per_conn": (after - before) / len(opened) if opened else None,
    }))
    return 1 if failed or not opened else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
