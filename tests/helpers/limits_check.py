"""tests/helpers/limits_check.py - the caps on parties, members and
sessions (--max-*), driven by independent clients: python3-websockets holds
connections open, and raw http.client upgrade requests read the status and
body a refused handshake gets.

    python3 limits_check.py URL SCENARIO [TOKEN_A TOKEN_B]

Each scenario asserts on what it sees and exits 0, or prints what was
expected and what was seen and exits 1.
"""
import asyncio
import http.client
import sys
import time
import urllib.parse

import websockets

from wscheck import check, fail

URL = sys.argv[1]
SCENARIO = sys.argv[2]
TOKENS = sys.argv[3:]


def status(path, bearer=None):
    """The handshake's HTTP status (101 when accepted) and body."""
    u = urllib.parse.urlparse(URL)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    headers = {"Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Protocol": "revenge.v1"}
    if bearer:
        headers["Authorization"] = f"Bearer {bearer}"
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    st = r.status
    body = r.read(300).decode(errors="replace").strip() if st != 101 else ""
    c.close()
    return st, body


def refused(path, reason, bearer=None):
    st, body = status(path, bearer)
    check(st == 503, f"{path}: expected 503, got {st} {body}")
    check(body == reason, f"{path}: expected reason {reason!r}, got {body!r}")


def admitted(path, bearer=None):
    st, body = status(path, bearer)
    check(st == 101, f"{path}: expected 101, got {st} {body}")


async def eventually_admitted(path, bearer=None, within=3.0):
    """Admitted once the server has seen a close go through."""
    deadline = time.monotonic() + within
    while True:
        st, body = status(path, bearer)
        if st == 101:
            return
        if time.monotonic() > deadline:
            fail(f"{path}: still {st} {body} after {within}s")
        await asyncio.sleep(0.05)


async def hold(path, bearer=None):
    """A connection held open and never read: max_queue=None lets the
    library keep reading what arrives (member_joined, member_left ...)
    into memory, so that its close still sees the server's close frame
    (with the default of 32 unread messages it stops reading, and close()
    waits its 10 s timeout)."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else None
    return await websockets.connect(URL + path, subprotocols=["revenge.v1"],
                                    extra_headers=headers, max_queue=None)


async def parties():                    # --max-parties 2
    a = await hold("/ws/party/a")
    b = await hold("/ws/party/b")
    refused("/ws/party/c", "party limit reached (2)")
    admitted("/ws/party/a")             # joining a live party makes none
    await a.close()
    await eventually_admitted("/ws/party/c")
    await b.close()


async def members():                    # --max-members 2
    a = await hold("/ws/party/p")
    b = await hold("/ws/party/p")
    refused("/ws/party/p", "member limit reached (2)")
    admitted("/ws/party/other")         # another party has room
    await b.close()
    await eventually_admitted("/ws/party/p")
    await a.close()


async def sessions():                   # --max-sessions 3
    held = [await hold("/ws/progress/s1"), await hold("/ws/progress/s2"),
            await hold("/ws/stream/s3")]
    refused("/ws/progress/s4", "session limit reached (3)")
    refused("/ws/stream/s4", "session limit reached (3)")
    admitted("/ws/progress/s1")         # a live session makes none
    admitted("/ws/stream/s3")
    await held[0].close()
    await eventually_admitted("/ws/progress/s4")
    for ws in held[1:]:
        await ws.close()


async def per_owner_tokens():           # --max-sessions-per-owner 2, tokens
    a, b = TOKENS
    held = [await hold("/ws/progress/s1", a), await hold("/ws/stream/s2", a)]
    refused("/ws/progress/s3", "session limit per owner reached (2)", a)
    admitted("/ws/progress/s3", b)      # B has its own count
    admitted("/ws/progress/s1", a)      # A's live session
    await held[0].close()
    await eventually_admitted("/ws/progress/s3", a)
    await held[1].close()


async def per_owner_open():             # --max-sessions-per-owner 2, open
    held = [await hold("/ws/progress/s1"), await hold("/ws/progress/s2")]
    refused("/ws/stream/s3", "session limit per owner reached (2)")
    for ws in held:
        await ws.close()


async def unlimited():                  # every cap 0
    held = [await hold(f"/ws/party/p{i}") for i in range(20)]
    held += [await hold("/ws/party/p0") for _ in range(20)]
    held += [await hold(f"/ws/progress/s{i}") for i in range(20)]
    for ws in held:
        await ws.close()


SCENARIOS = {f.__name__: f for f in (parties, members, sessions, per_owner_tokens,
                                     per_owner_open, unlimited)}
if SCENARIO not in SCENARIOS:
    fail(f"unknown scenario {SCENARIO}")
asyncio.run(SCENARIOS[SCENARIO]())
