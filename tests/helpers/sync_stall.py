"""tests/helpers/sync_stall.py URL PORT N - the host of party "sst" sends N
syncs while another member (tiny receive buffer) never reads. The syncs the
stalled member cannot take replace each other in its queue (latest-wins),
so it is not closed. Prints "sent" once the server has handled them all
(a chat sent after them came back), then holds the stalled socket open
for 3 s so the test can read /metrics."""
import asyncio
import json
import sys
import time

import websockets

import wsraw


async def main(url, port, n):
    async with websockets.connect(f"{url}/ws/party/sst?name=host", compression=None) as host:
        await host.recv()   # welcome: first in, so the host
        staller = wsraw.RawWS(port, "/ws/party/sst?name=staller", rcvbuf=4096)
        assert staller.status == 101, staller.status_line
        await host.recv()   # member_joined
        for i in range(n):
            await host.send(json.dumps({"type": "sync", "payload": {
                "position": i + 0.5, "playing": True, "speed": 1}}))
        await host.send(json.dumps({"type": "chat", "payload": {"text": "done"}}))
        while True:
            m = json.loads(await asyncio.wait_for(host.recv(), 20))
            if m["type"] == "chat":
                break
        print("sent", flush=True)
        time.sleep(3)


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
