"""tests/helpers/delay_proxy.py DELAY_MS PORT [KB_PER_S] - a TCP proxy on
127.0.0.1 that forwards to 127.0.0.1:PORT, each chunk DELAY_MS late in both
directions and in order: a slow link between one node and Redis. With
KB_PER_S, each connection's bytes toward PORT also go at that many
kilobytes a second at most (each connection its own rate, as each has its
own socket on a real link): a narrow link, on which a burst of publishes
waits in the node's buffer for seconds. Prints "listening PORT" once it
accepts connections; runs until killed.
"""
import asyncio
import sys

DELAY = int(sys.argv[1]) / 1000.0
TARGET = int(sys.argv[2])
RATE = int(sys.argv[3]) * 1024 if len(sys.argv) > 3 else 0


async def pipe(reader, writer, rate=0):
    """reader to writer, DELAY late; paced to rate bytes a second (0: not)."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def later():
        paced = loop.time()
        while True:
            due, data = await queue.get()
            if data is None:
                break
            if rate:
                paced = max(paced, loop.time()) + len(data) / rate
                due = max(due, paced)
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        writer.close()

    sender = asyncio.ensure_future(later())
    try:
        while True:
            data = await reader.read(4096 if rate else 65536)
            if not data:
                break
            queue.put_nowait((loop.time() + DELAY, data))
            # paced: read no further ahead than the link, so that what it
            # has not taken waits in the sender's buffer
            while rate and queue.qsize() > 4:
                await asyncio.sleep(0.01)
    except ConnectionError:
        pass
    queue.put_nowait((0, None))
    try:
        await sender
    except ConnectionError:
        pass


async def handler(creader, cwriter):
    try:
        sreader, swriter = await asyncio.open_connection("127.0.0.1", TARGET)
    except OSError:
        cwriter.close()
        return
    await asyncio.gather(pipe(creader, swriter, RATE), pipe(sreader, cwriter))


async def main():
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    print(f"listening {server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
