"""tests/helpers/media_keep_check.py SCENARIO URL_A URL_B REDIS_PORT PARTY -
a party's media kept in Redis across two cluster nodes (redis-cli for what
Redis holds). Every wait is bounded; prints "ok SCENARIO".

keep: ann (host, node A) chooses a media; bob, node B's first member of the
  party, is welcomed with it (B recalls it from Redis), which Redis holds at
  revenge:party:PARTY:media with an expiry. Then MARK is created and the
  script waits (up to 120 s) for MARK.done holding node B's URL after a
  restart: carol, the restarted node's first member, is welcomed with the
  media; ann clears it (url null): carol hears it, Redis no longer holds it,
  and after carol left B, dave, B's first member again, is welcomed with
  media null.

hostile: ann (host, node A) and bob (node B): media that are too large or
  malformed are refused to ann and never reach Redis (a chat she sends
  after them reaches bob, so Redis ran everything her node sent before
  it). Then for each corrupted value written into Redis for a party whose
  host is on A (not an envelope, another kind's, a url no host may choose,
  oversized, a key of another type), B's first member is welcomed with
  media null; a well-formed value written the same way is taken.
"""
import asyncio
import json
import os
import subprocess
import sys
import time

import websockets

import wscheck

SCEN, A, B, PORT, PARTY = sys.argv[1:6]
URL = "https://media.example/film.webm"
TITLE = "Film \u00e9"
WAIT = 20


def redis(*args):
    out = subprocess.run(["redis-cli", "-p", PORT] + [str(a) for a in args],
                         check=True, capture_output=True, timeout=WAIT)
    return out.stdout.decode().rstrip("\n")


def key(party):
    return "revenge:party:%s:media" % party


async def recv_type(ws, t):
    return await wscheck.recv_type(ws, t, WAIT)


async def join(url, party, name):
    ws = await websockets.connect("%s/ws/party/%s?name=%s" % (url, party, name),
                                  subprotocols=["revenge.v1"])
    w = await wscheck.recv(ws, WAIT)
    assert w["type"] == "welcome", w
    return ws, w["payload"]


async def until_gone(k):
    deadline = time.monotonic() + WAIT
    while redis("EXISTS", k) != "0":
        assert time.monotonic() < deadline, "%s still in Redis" % k
        await asyncio.sleep(0.05)


async def keep():
    ann, w = await join(A, PARTY, "ann")
    assert w["role"] == "host" and w["media"] is None, w
    await ann.send(json.dumps({"type": "media", "id": "m1",
                               "payload": {"url": URL, "title": TITLE}}))
    mine = await recv_type(ann, "media")
    assert mine.get("id") == "m1", mine
    # the echo may leave A before its script runs in Redis: wait for that
    deadline = time.monotonic() + WAIT
    while URL not in redis("GET", key(PARTY)):
        assert time.monotonic() < deadline, "the media never reached Redis"
        await asyncio.sleep(0.05)
    ttl = int(redis("PTTL", key(PARTY)))
    assert 0 < ttl <= 6 * 3600 * 1000, ttl
    bob, w = await join(B, PARTY, "bob")
    assert w["media"] == {"url": URL, "title": TITLE}, w
    await bob.close()
    # node B restarted by the test
    mark = os.environ["MARK"]
    open(mark, "w").close()
    deadline = time.monotonic() + 120
    while not (os.path.exists(mark + ".done") and open(mark + ".done").read().strip()):
        assert time.monotonic() < deadline, "no restart of node B"
        await asyncio.sleep(0.1)
    b2 = open(mark + ".done").read().strip()
    carol, w = await join(b2, PARTY, "carol")
    assert w["media"] == {"url": URL, "title": TITLE}, w
    await ann.send(json.dumps({"type": "media", "payload": {"url": None}}))
    got = await recv_type(carol, "media")
    assert got["payload"]["url"] is None, got
    await until_gone(key(PARTY))
    await carol.close()
    # carol's leave reaches Redis before dave's join (one node, in order)
    # whether or not B freed the party meanwhile: either way null
    dave, w = await join(b2, PARTY, "dave")
    assert w["media"] is None, w
    for ws in (ann, dave):
        await ws.close()


def envelope(kind, payload):
    frame = json.dumps({"type": kind, "payload": payload, "from": "m1", "ts": 1.5})
    return "RV1 00000000000000aa %s\n%s" % (kind, frame)


async def hostile():
    ann, _ = await join(A, PARTY, "ann")
    bob, _ = await join(B, PARTY, "bob")
    await recv_type(ann, "member_joined")
    bad = [
        ({"url": "https://e.example/" + "a" * 2049}, "too_large"),
        ({"url": URL, "title": "t" * 257}, "too_large"),
        ({"url": "javascript:alert(1)"}, "bad_payload"),
        ({"url": "//evil.example/x.webm"}, "bad_payload"),
        ({"url": "https://e.example/a b"}, "bad_payload"),
        ({"url": 5}, "bad_payload"),
        ({"url": URL, "title": "a\u202eb"}, "bad_payload"),
        ({}, "bad_payload"),
    ]
    for i, (pl, code) in enumerate(bad):
        await ann.send(json.dumps({"type": "media", "id": "b%d" % i, "payload": pl}))
        e = await recv_type(ann, "error")
        assert e["id"] == "b%d" % i and e["payload"]["code"] == code, (pl, e)
    await ann.send(json.dumps({"type": "chat", "payload": {"text": "after"}}))
    c = await recv_type(bob, "chat")
    assert c["payload"]["text"] == "after", c
    assert redis("EXISTS", key(PARTY)) == "0", redis("GET", key(PARTY))
    for ws in (ann, bob):
        await ws.close()

    good = {"url": "https://kept.example/a.webm", "title": "kept"}
    cases = [
        ("garbage", None),
        (envelope("chat", {"text": "hi", "name": "x"}), None),
        (envelope("media", {"url": "javascript:alert(1)", "title": "x"}), None),
        (envelope("media", {"url": 7}), None),
        (envelope("media", dict(good, pad="x" * 9000)), None),
        ("RV1 00000000000000aa media\n{\"type\":\"media\",\"payload\":{\"url\":\"/a\",\"url\":\"/b\"}}",
         None),
        ("list", None),
        (envelope("media", good), good),
    ]
    for i, (value, want) in enumerate(cases):
        party = "%s-%d" % (PARTY, i)
        host, _ = await join(A, party, "host")
        if value == "list":
            redis("RPUSH", key(party), "x")
        else:
            redis("SET", key(party), value)
        guest, w = await join(B, party, "guest")
        assert w["media"] == want, (value[:80], w)
        assert w["role"] == "member", w
        for ws in (host, guest):
            await ws.close()


async def main():
    await {"keep": keep, "hostile": hostile}[SCEN]()
    print("ok " + SCEN)


asyncio.run(main())
