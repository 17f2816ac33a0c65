"""tests/helpers/bad_server.py MODE - a WebSocket server that breaks the
revenge.v1 protocol on purpose, for the probe's exit status 5. Prints
"listening PORT" once it accepts connections. Modes:
  garbage     answer every connection with a text frame that is not JSON
  notype      answer with a JSON object that has no "type"
  errtext     answer every message with an error reply whose code and
              message hold quotes, backslashes, escaped control characters
              and a unicode escape (revenge-bench must carry them into its JSON)
  closetext   close every connection with code 4000 and a reason holding
              quotes, a backslash and a tab
"""
import asyncio
import sys

import websockets

MODE = sys.argv[1]


ERRTEXT = ('{"type":"error","payload":{"code":"bad\\"code",'
           '"message":"say \\"hi\\" \\\\ back\\nline\\ttab\\u0007bell \\u00e9"}}')


async def handler(ws, path=None):
    if MODE == "errtext":
        async for _ in ws:
            await ws.send(ERRTEXT)
        return
    if MODE == "closetext":
        await ws.close(4000, 'no "way" \\ out\tnow')
        return
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
