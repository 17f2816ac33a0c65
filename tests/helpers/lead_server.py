"""tests/helpers/lead_server.py LEAD_MS - a minimal watch-party server that
stamps every relayed sync LEAD_MS in the future (server_time = now + lead),
as a server with a lead does (issue 13), for `revenge-bench sync` to show it
measures scheduled states too. The position is carried to the stamp the way
the party was moving (the host's position at `at`, advanced by the old
state's speed while it was playing), so a scheduled pause or speed change
lands where playback is, and a scheduled resume starts where it paused. Only what the bench uses: welcome (the first
joiner hosts), time, sync from the host (relayed to the others, the direct
reply when it carries an id). Prints "listening PORT"; exits after 120 s.
"""
import asyncio
import itertools
import json
import sys
import time

import websockets

LEAD_MS = float(sys.argv[1])
parties = {}
ids = itertools.count(1)


def now_ms():
    return time.time() * 1000


async def handler(ws, path=None):
    path = path or ws.path
    party = path.split("?")[0].rsplit("/", 1)[-1]
    members = parties.setdefault(party, {"members": [], "state": {
        "position": 0, "playing": False, "speed": 1, "server_time": now_ms()}})
    pid = f"p{next(ids)}"
    role = "member" if members["members"] else "host"
    members["members"].append(ws)
    await ws.send(json.dumps({"type": "welcome", "payload": {
        "participant_id": pid, "party_id": party, "role": role,
        "host_id": pid if role == "host" else "p?", "members": [],
        "state": members["state"], "history": []}, "ts": now_ms()}))
    try:
        async for text in ws:
            t1 = now_ms()
            msg = json.loads(text)
            p = msg.get("payload") or {}
            if msg["type"] == "time":
                await ws.send(json.dumps({"type": "time", "id": msg.get("id"), "payload": {
                    "client_time": p["client_time"], "server_receive_time": t1,
                    "server_time": now_ms()}}))
            elif msg["type"] == "sync" and role == "host":
                old, at, stamp = members["state"], p.get("at", t1), t1 + LEAD_MS
                moving = old["speed"] if old["playing"] else 0
                st = {"position": p["position"] + (stamp - at) / 1000 * moving,
                      "playing": p["playing"], "speed": p["speed"], "server_time": stamp}
                members["state"] = st
                relay = {"type": "sync", "payload": st, "from": pid, "ts": t1}
                for other in members["members"]:
                    if other is not ws:
                        await other.send(json.dumps(relay))
                if msg.get("id"):
                    await ws.send(json.dumps(dict(relay, id=msg["id"])))
    except websockets.ConnectionClosed:
        pass
    finally:
        members["members"].remove(ws)


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0,
                                subprotocols=["revenge.v1"]) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"listening {port}", flush=True)
        await asyncio.sleep(120)

asyncio.run(main())
