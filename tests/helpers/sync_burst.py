"""tests/helpers/sync_burst.py URL PORT N - the host of party "sbu" sends N
syncs and a chat in one write, so the server reads them in one loop turn;
a member that reads must get every sync, in order, and the chat, and must
not be closed, however small --queue-max is against N."""
import asyncio
import json
import sys

import websockets

import wsraw


async def main(url, port, n):
    host = wsraw.RawWS(port, "/ws/party/sbu?name=host")
    assert host.status == 101, host.status_line
    host.recv_frame()   # welcome: first in, so the host
    async with websockets.connect(f"{url}/ws/party/sbu?name=m", compression=None) as m:
        await m.recv()  # welcome
        host.recv_frame()   # member_joined
        burst = b"".join(wsraw.RawWS.frame(1, json.dumps({"type": "sync", "payload": {
            "position": i + 0.5, "playing": True, "speed": 1}}).encode()) for i in range(n))
        burst += wsraw.RawWS.frame(1, b'{"type":"chat","payload":{"text":"done"}}')
        host.sock.sendall(burst)
        got = []
        while True:
            msg = json.loads(await asyncio.wait_for(m.recv(), 10))
            if msg["type"] == "sync":
                got.append(msg["payload"]["position"])
            elif msg["type"] == "chat":
                break
        assert got == [i + 0.5 for i in range(n)], (len(got), got[:3], got[-3:])
        print(f"ok {len(got)} syncs", flush=True)


asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
