"""tests/helpers/quality_cluster.py - quality sessions (/ws/stream) across
the nodes of a cluster (--redis), seen by independent clients
(python3-websockets); the nodes' subscriptions are read from Redis
(redis-cli PUBSUB NUMSUB) before a change is made, so none is made before
the other node listens.

    python3 quality_cluster.py cross URL_A URL_B REDIS_PORT SESSION
        a client of SESSION on each node, and a client of SESSION-other on
        each: a profile chosen on A reaches SESSION's client on B
        (quality_changed, no id) and one chosen on B reaches A's; the other
        session's clients get nothing of it (their first message after
        quality_state is their own session's later change). Prints
        "ok cross max_ms=<the slowest request-to-change on the other node>".
    python3 quality_cluster.py owners URL_A URL_B REDIS_PORT SESSION TOKEN_1 TOKEN_2
        two owners' sessions of the same id (a token each, ?token=), a
        client of each on each node: owner 1's change on A reaches owner
        1's client on B only; owner 2's then reaches owner 2's only.
        Prints "ok owners".
    python3 quality_cluster.py watch URL REDIS_PORT SESSION SUBSCRIBERS PROFILE SECONDS
        a client of SESSION on URL waits until SUBSCRIBERS nodes listen on
        the session's channel (prints "watching"), then for its next
        message, which must be quality_changed to PROFILE (no id) within
        SECONDS; prints "seen PROFILE".
    python3 quality_cluster.py local URL SESSION PROFILE
        two clients of SESSION on one node (Redis may be away): one's
        request is answered and reaches the other. Prints "ok local".

Exits 0, or prints what was expected and what was seen and exits 1.
"""
import asyncio
import subprocess
import sys
import time

import websockets

from wscheck import check, fail, recv, send

WAIT_S = 10.0       # generous: a loaded 2-core CI machine under ASan
BITRATE = {"2160p": 16000, "1080p": 8000, "720p": 4000, "480p": 1500, "360p": 800}


async def connect(url, session, token=None):
    path = f"/ws/stream/{session}" + (f"?token={token}" if token else "")
    ws = await websockets.connect(url + path, subprotocols=["revenge.v1"])
    m = await recv(ws, WAIT_S)
    check(m["type"] == "quality_state", f"{session}: first message {m}")
    return ws


def channel(session, owner=""):
    return f"revenge:quality:{session}" + (f":{owner}" if owner else "")


async def until_subscribed(port, chan, n):
    """Until n nodes subscribe chan (bounded: WAIT_S)."""
    deadline = time.monotonic() + WAIT_S
    got = None
    while time.monotonic() < deadline:
        out = subprocess.run(["redis-cli", "-p", str(port), "pubsub", "numsub", chan],
                             capture_output=True, text=True, timeout=5).stdout.splitlines()
        got = out[1] if len(out) > 1 else None
        if got == str(n):
            return
        await asyncio.sleep(0.05)
    fail(f"{chan}: {got} subscriber(s), never {n}")


def changed(m, profile, own_id=None):
    want = {"profile": profile, "bitrate": BITRATE[profile], "from_server": False}
    return m["type"] == "quality_changed" and m["payload"] == want and m.get("id") == own_id


async def request(ws, profile, id):
    """quality_request; its answer is the sender's quality_changed with id."""
    await send(ws, "quality_request", {"profile": profile}, id=id)
    m = await recv(ws, WAIT_S)
    check(changed(m, profile, id), f"answer to {id} ({profile}): {m}")


async def next_change(ws, profile, who):
    """The next message is quality_changed to profile, without an id: the
    time it took (ms)."""
    t0 = time.monotonic()
    m = await recv(ws, WAIT_S)
    check(changed(m, profile), f"{who}: expected quality_changed {profile}, got {m}")
    return (time.monotonic() - t0) * 1000.0


async def cross(url_a, url_b, port, session):
    other = session + "-other"
    a = await connect(url_a, session)
    b = await connect(url_b, session)
    oa = await connect(url_a, other)
    ob = await connect(url_b, other)
    await until_subscribed(port, channel(session), 2)
    await until_subscribed(port, channel(other), 2)
    worst = 0.0
    # A -> B
    t0 = time.monotonic()
    await request(a, "720p", "q-a")
    await next_change(b, "720p", "B's client")
    worst = max(worst, (time.monotonic() - t0) * 1000.0)
    # B -> A
    t0 = time.monotonic()
    await request(b, "480p", "q-b")
    await next_change(a, "480p", "A's client")
    worst = max(worst, (time.monotonic() - t0) * 1000.0)
    # the other session: what it gets first is its own change, made after
    # (on A, whose publications Redis hands on in order): nothing of
    # SESSION's came before it, on either node
    await request(oa, "360p", "q-o")
    await next_change(ob, "360p", "the other session's client on B")
    await request(ob, "2160p", "q-p")
    await next_change(oa, "2160p", "the other session's client on A")
    # and SESSION's clients got nothing of the other's: A's next is B's
    await request(b, "1080p", "q-c")
    await next_change(a, "1080p", "A's client")
    for ws in (a, b, oa, ob):
        await ws.close()
    print(f"ok cross max_ms={worst:.0f}")


async def owners(url_a, url_b, port, session, tok1, tok2):
    a1 = await connect(url_a, session, tok1)
    b1 = await connect(url_b, session, tok1)
    a2 = await connect(url_a, session, tok2)
    b2 = await connect(url_b, session, tok2)
    for owner in ("team:ann x", "bob"):
        await until_subscribed(port, channel(session, owner), 2)
    await request(a1, "720p", "o1")
    await next_change(b1, "720p", "owner 1's client on B")
    # owner 2's clients got nothing of owner 1's: their first is their own
    await request(a2, "360p", "o2")
    await next_change(b2, "360p", "owner 2's client on B")
    # and owner 1's got nothing of owner 2's
    await request(b1, "480p", "o3")
    await next_change(a1, "480p", "owner 1's client on A")
    await request(b2, "2160p", "o4")
    await next_change(a2, "2160p", "owner 2's client on A")
    for ws in (a1, b1, a2, b2):
        await ws.close()
    print("ok owners")


async def watch(url, port, session, n, profile, seconds):
    ws = await connect(url, session)
    await until_subscribed(port, channel(session), int(n))
    print("watching", flush=True)
    m = await recv(ws, float(seconds))
    check(changed(m, profile), f"expected quality_changed {profile}, got {m}")
    print("seen", profile, flush=True)
    await ws.close()


async def local(url, session, profile):
    a = await connect(url, session)
    b = await connect(url, session)
    await request(a, profile, "l-1")
    await next_change(b, profile, "the other client")
    await a.close()
    await b.close()
    print("ok local")


def main():
    args = sys.argv[1:]
    scenarios = {"cross": (cross, 4), "owners": (owners, 6), "watch": (watch, 6),
                 "local": (local, 3)}
    if not args or args[0] not in scenarios or len(args) != scenarios[args[0]][1] + 1:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    asyncio.run(scenarios[args[0]][0](*args[1:]))


if __name__ == "__main__":
    main()
