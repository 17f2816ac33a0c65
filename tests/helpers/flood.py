"""tests/helpers/flood.py URL PARTY N BYTES - join PARTY and send N chats of
BYTES bytes each as fast as the socket takes them, then wait for the last
one to come back (so the server has fanned every one out). Its own echoes
are read as they come (max_queue=None), so it never falls behind."""
import asyncio
import json
import sys

import websockets


async def main(url, party, n, size):
    async with websockets.connect(f"{url}/ws/party/{party}?name=flood", compression=None,
                                  max_size=None, max_queue=None) as ws:
        await ws.recv()
        for i in range(n):
            await ws.send(json.dumps({"type": "chat", "payload": {"text": "x" * size}}))
        seen = 0
        while seen < n:
            m = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if m["type"] == "chat":
                seen += 1
    print("flooded", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
