"""tests/helpers/bad_server.py MODE - a WebSocket server that breaks the
revenge.v1 protocol on purpose, for the probe's exit status 5. Prints
"listening PORT" once it accepts connections. Modes:
  garbage     answer every connection with a text frame that is not JSON
  notype      answer with a JSON object that has no "type"
"""
import asyncio
import sys

import websockets

MODE = sys.argv[1]


async def handler(ws, path=None):
    if MODE == "garbage":
        await ws.send("this is not json")
    else:
        await ws.send('{"payload": {}}')
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        pass


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0,
                                subprotocols=["revenge.v1"]) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.sleep(60)

asyncio.run(main())
