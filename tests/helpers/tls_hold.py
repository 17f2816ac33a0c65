"""tests/helpers/tls_hold.py - one wss:// connection held open across a
certificate reload (python3-websockets, an independent client).

    python3 tls_hold.py URL CAFILE GOFILE

Joins a party and prints "open CN" (the subject CN the server showed
during the handshake); then waits for GOFILE to exist, asks the server for
the time on the same connection and prints "time ok CN" (the connection's
certificate, unchanged). Exits 1 on any failure.
"""
import asyncio
import json
import os
import ssl
import sys

import websockets

URL, CAFILE, GOFILE = sys.argv[1:4]


def peer_cn(ws):
    cert = ws.transport.get_extra_info("peercert")
    return dict(x[0] for x in cert["subject"])["commonName"]


async def main():
    ctx = ssl.create_default_context(cafile=CAFILE)
    async with websockets.connect(f"{URL}/ws/party/reload?name=held", ssl=ctx,
                                  subprotocols=["revenge.v1"]) as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), 3))
        if welcome["type"] != "welcome":
            sys.exit(f"first message is {welcome['type']}")
        print("open", peer_cn(ws), flush=True)
        for _ in range(200):
            if os.path.exists(GOFILE):
                break
            await asyncio.sleep(0.05)
        else:
            sys.exit("no go file")
        await ws.send(json.dumps({"type": "time", "id": "t", "payload": {"client_time": 1}}))
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), 3))
            if msg["type"] == "time":
                break
        print("time ok", peer_cn(ws), flush=True)


asyncio.run(main())
