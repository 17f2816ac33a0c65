"""tests/helpers/media_cluster_check.py URL_A URL_B PARTY - the party's media
across two cluster nodes: ann (host, node A) chooses a media, bob (node B)
gets the relayed `media`, and carol, joining node B afterwards, finds it in
her welcome; a member's media is refused (forbidden). Prints "ok media"."""
import asyncio
import json
import sys

import websockets

A, B, PARTY = sys.argv[1], sys.argv[2], sys.argv[3]
URL = "https://media.example/film.webm"


async def recv_type(ws, t, timeout=10):
    async def loop():
        while True:
            m = json.loads(await ws.recv())
            if m.get("type") == t:
                return m
    return await asyncio.wait_for(loop(), timeout)


async def main():
    ann = await websockets.connect("%s/ws/party/%s?name=ann" % (A, PARTY),
                                   subprotocols=["revenge.v1"])
    w = await recv_type(ann, "welcome")
    assert w["payload"]["role"] == "host", w
    assert w["payload"]["media"] is None, w
    bob = await websockets.connect("%s/ws/party/%s?name=bob" % (B, PARTY),
                                   subprotocols=["revenge.v1"])
    await recv_type(bob, "welcome")
    await recv_type(ann, "member_joined")
    await ann.send(json.dumps({"type": "media", "id": "m1",
                               "payload": {"url": URL, "title": "Film \u00e9"}}))
    mine = await recv_type(ann, "media")
    assert mine.get("id") == "m1", mine
    got = await recv_type(bob, "media")
    assert got["payload"] == {"url": URL, "title": "Film \u00e9"}, got
    assert "id" not in got, got
    carol = await websockets.connect("%s/ws/party/%s?name=carol" % (B, PARTY),
                                     subprotocols=["revenge.v1"])
    w = await recv_type(carol, "welcome")
    assert w["payload"]["media"] == {"url": URL, "title": "Film \u00e9"}, w
    await bob.send(json.dumps({"type": "media", "id": "m2", "payload": {"url": "/x"}}))
    e = await recv_type(bob, "error")
    assert e["payload"]["code"] == "forbidden" and e["id"] == "m2", e
    for ws in (ann, bob, carol):
        await ws.close()
    print("ok media")


asyncio.run(main())
