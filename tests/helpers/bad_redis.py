"""tests/helpers/bad_redis.py MODE - a "Redis" that breaks RESP on purpose,
for the server's Redis transport (lib/redis_conn.c). Answers each command
it reads (one per line group it receives) as MODE says; prints
"listening PORT" once it accepts connections. Modes:
  junk       +OK to the first command (SELECT: ready), then a reply of an
             unknown type
  extra      +OK twice to the first command: a reply to no command
  truncated  half a bulk string, then the connection closed
  deep       an array nested past what the reader takes
  silent     accept, read, never answer (the connection is "up" at TCP)
"""
import asyncio
import sys

MODE = sys.argv[1]
ANSWERS = {
    "junk": [b"+OK\r\n", b"!what\r\n"],
    "extra": [b"+OK\r\n+OK\r\n"],
    "truncated": [b"$10\r\nhalf"],
    "deep": [b"*1\r\n" * 20 + b":1\r\n"],
    "silent": [],
}


async def handler(reader, writer):
    answers = list(ANSWERS[MODE])
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if answers:
                writer.write(answers.pop(0))
                await writer.drain()
                if MODE == "truncated":
                    break
            if MODE == "junk" and answers:
                # the second answer unasked, a moment later: the node is
                # ready in between
                await asyncio.sleep(0.2)
                writer.write(answers.pop(0))
                await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    writer.close()


async def main():
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)
    async with server:
        await asyncio.sleep(120)


asyncio.run(main())
