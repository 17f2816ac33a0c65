#!/usr/bin/python3
"""scripts/measure-cluster-idle.py - what idle parties cost Redis: P parties
with one member on node A and one on node B, nobody speaking; prints the
Redis commands per second (INFO commandstats, before and after a window)
by command, once every member is in.

    measure-cluster-idle.py URL_A URL_B REDIS_PORT [PARTIES] [SECONDS]

Start both nodes with --party-join-rate 0 --handshake-rate-per-ip 0
--max-conns-per-ip 0 (all members come from one address at once).
"""
import asyncio
import socket
import sys

import websockets

URL_A, URL_B, REDIS_PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
P = int(sys.argv[4]) if len(sys.argv) > 4 else 200
SECONDS = float(sys.argv[5]) if len(sys.argv) > 5 else 10.0


def commandstats():
    """{command: calls} from INFO commandstats (one RESP round trip)."""
    with socket.create_connection(("127.0.0.1", REDIS_PORT), timeout=5) as s:
        s.sendall(b"*2\r\n$4\r\nINFO\r\n$12\r\ncommandstats\r\n")
        buf = b""
        while True:
            buf += s.recv(65536)
            head, _, rest = buf.partition(b"\r\n")
            if head.startswith(b"$") and len(rest) >= int(head[1:]):
                break
    out = {}
    for line in rest.decode().splitlines():
        if line.startswith("cmdstat_"):
            name, fields = line[8:].split(":", 1)
            out[name] = int(fields.split(",")[0].split("=")[1])
    return out


async def member(url, party, name):
    ws = await websockets.connect(f"{url}/ws/party/{party}?name={name}",
                                  subprotocols=["revenge.v1"], max_queue=None)
    await ws.recv()
    return ws


async def main():
    conns = []
    for i in range(P):
        conns.append(await member(URL_A, f"idle{i}", "a"))
        conns.append(await member(URL_B, f"idle{i}", "b"))
    await asyncio.sleep(2)
    before = commandstats()
    await asyncio.sleep(SECONDS)
    after = commandstats()
    total = 0
    for name in sorted(after):
        d = after[name] - before.get(name, 0)
        if name == "info":
            d -= 1          # this script's own
        if d > 0:
            print(f"{name:14} {d / SECONDS:10.1f}/s")
            total += d
    print(f"{'all':14} {total / SECONDS:10.1f}/s  ({P} parties x 2 nodes, idle, "
          f"{SECONDS:.0f} s)")
    for ws in conns:
        await ws.close()


asyncio.run(main())
