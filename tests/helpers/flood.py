"""tests/helpers/flood.py URL PARTY N BYTES - join PARTY and send N chats of
BYTES bytes each, in batches of 32 whose echoes it waits for, so that it
never falls behind itself while a member that stops reading does."""
import asyncio
import json
import sys

import websockets

BATCH = 32


async def main(url, party, n, size):
    async with websockets.connect(f"{url}/ws/party/{party}?name=flood", compression=None,
                                  max_size=None) as ws:
        await ws.recv()
        text = json.dumps({"type": "chat", "payload": {"text": "x" * size}})
        sent = 0
        while sent < n:
            batch = min(BATCH, n - sent)
            for _ in range(batch):
                await ws.send(text)
            sent += batch
            seen = 0
            while seen < batch:
                m = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if m["type"] == "chat":
                    seen += 1
    print("flooded", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])))
