"""tests/helpers/restart_check.py - watch parties across a server restart
(--party-retention) and resume tokens, driven by an independent client
(Debian's python3-websockets).

    python3 restart_check.py URL SCENARIO ARGS...

before PARTY STATE [playing]   alice (host) and bob join; alice syncs 42.5 at
                               x1.5 (paused, or playing), bob chats; their
                               ids and tokens go to STATE, then "ready" on
                               stdout; holds the connections until the server
                               closes them (at most 60 s)
after PARTY STATE [playing]    bob then alice resume with their tokens: their
                               ids, names and alice's host role come back, the
                               state (paused: exact; playing: extrapolated)
                               and the chat history too
bad PARTY STATE                a well-formed unknown token, alice's token on
                               another party: new members; a malformed token:
                               HTTP 400; then alice's token still works
expired PARTY SECONDS          alice syncs, leaves; past the retention her
                               token is unknown and the party starts afresh
old PARTY                      a client that ignores resume_token (never
                               sends resume=) joins and leaves twice: new ids

Each scenario exits 0, or prints what it expected and saw and exits 1.
"""
import asyncio
import json
import secrets
import sys
import time

import websockets

from wscheck import check, fail, recv, recv_type, send

URL = sys.argv[1]


async def join(party, name=None, resume=None):
    q = []
    if name:
        q.append(f"name={name}")
    if resume:
        q.append(f"resume={resume}")
    url = f"{URL}/ws/party/{party}" + ("?" + "&".join(q) if q else "")
    ws = await websockets.connect(url, subprotocols=["revenge.v1"])
    welcome = await recv(ws)
    check(welcome["type"] == "welcome", f"first message is {welcome['type']}, expected welcome")
    return ws, welcome["payload"]


def token_of(w):
    t = w.get("resume_token")
    check(isinstance(t, str) and len(t) == 32 and all(c in "0123456789abcdef" for c in t),
          f"welcome has no resume_token of 32 hex digits: {w}")
    return t


def member(w, mid):
    for m in w["members"]:
        if m["id"] == mid:
            return m
    fail(f"{mid} is not among the members of {w}")


async def s_before(party, state_path, playing=None):
    playing = playing == "playing"
    a, wa = await join(party, "alice")
    check(wa["role"] == "host", f"alice is not host: {wa}")
    b, wb = await join(party, "bob")
    await send(a, "media", {"url": "/media/film.webm", "title": "Film \u00e9"}, id="m1")
    await recv_type(a, "media")
    await send(a, "sync", {"position": 42.5, "playing": playing, "speed": 1.5}, id="s1")
    reply = await recv_type(a, "sync")
    check(reply.get("id") == "s1", f"sync reply without its id: {reply}")
    await send(b, "chat", {"text": "hello from bob"}, id="c1")
    await recv_type(b, "chat")
    with open(state_path, "w") as f:
        json.dump({"alice": {"id": wa["participant_id"], "token": token_of(wa)},
                   "bob": {"id": wb["participant_id"], "token": token_of(wb)},
                   "sync": reply["payload"]}, f)
    print("ready", flush=True)

    async def hold(ws):
        try:
            while True:
                await ws.recv()
        except websockets.ConnectionClosed:
            pass

    try:
        await asyncio.wait_for(asyncio.gather(hold(a), hold(b)), 60)
    except asyncio.TimeoutError:
        fail("the server did not close the connections within 60 s")


async def s_after(party, state_path, playing=None):
    playing = playing == "playing"
    with open(state_path) as f:
        st = json.load(f)
    alice, bob = st["alice"], st["bob"]
    # bob first: the restored party has no host present, so he becomes host
    # for a moment, and alice takes the role back when she resumes
    b, wb = await join(party, resume=bob["token"])
    check(wb["participant_id"] == bob["id"], f"bob's id is not back: {wb['participant_id']} != {bob['id']}")
    check(wb["resume_token"] == bob["token"], "bob's token changed on resume")
    check(member(wb, bob["id"])["name"] == "bob", f"bob's name is not back: {wb}")
    check(wb.get("media") == {"url": "/media/film.webm", "title": "Film \u00e9"},
          f"media not restored: {wb.get('media')}")
    s = wb["state"]
    check(s["speed"] == 1.5 and s["playing"] == playing, f"state not restored: {s}")
    if playing:
        sync = st["sync"]
        want = sync["position"] + (s["server_time"] - sync["server_time"]) / 1000 * 1.5
        check(s["server_time"] > sync["server_time"], f"the restored state is not stamped anew: {s}")
        check(abs(s["position"] - want) < 0.01,
              f"position {s['position']} is not the sync's extrapolated ({want})")
    else:
        check(s["position"] == 42.5, f"paused position not exact: {s}")
    hist = wb["history"]
    check(len(hist) == 1 and hist[0]["payload"]["text"] == "hello from bob" and
          hist[0]["from"] == bob["id"] and hist[0]["payload"]["name"] == "bob",
          f"history not restored: {hist}")
    a, wa = await join(party, resume=alice["token"])
    check(wa["participant_id"] == alice["id"], f"alice's id is not back: {wa}")
    check(wa["role"] == "host" and wa["host_id"] == alice["id"], f"alice is not host again: {wa}")
    check(member(wa, alice["id"])["name"] == "alice", f"alice's name is not back: {wa}")
    hc = await recv_type(b, "host_changed")
    check(hc["payload"]["host_id"] == alice["id"], f"bob saw {hc}, expected alice as host")
    # and she hosts: her sync reaches bob
    await send(a, "sync", {"position": 50, "playing": False, "speed": 1}, id="s2")
    got = await recv_type(b, "sync")
    check(got["from"] == alice["id"], f"bob got {got}")
    await a.close()
    await b.close()
    print("resumed")


async def s_bad(party, state_path):
    with open(state_path) as f:
        st = json.load(f)
    alice = st["alice"]
    old = {st["alice"]["id"], st["bob"]["id"]}
    unknown = secrets.token_hex(16)
    m, wm = await join(party, "mallory", resume=unknown)
    check(wm["participant_id"] not in old, f"an unknown token took an old id: {wm}")
    check(wm["resume_token"] != unknown, "an unknown token was kept as the member's token")
    check(member(wm, wm["participant_id"])["name"] == "mallory", f"{wm}")
    o, wo = await join(party + "-other", "eve", resume=alice["token"])
    check(wo["participant_id"] != alice["id"] and wo["resume_token"] != alice["token"],
          f"alice's token worked on another party: {wo}")
    check(member(wo, wo["participant_id"])["name"] == "eve", f"{wo}")
    for bad in ["xyz", "A" * 32, "0" * 31, "0" * 33, "%00" + "0" * 29]:
        try:
            ws = await websockets.connect(f"{URL}/ws/party/{party}?resume={bad}")
            await ws.close()
            fail(f"resume={bad} was accepted")
        except websockets.InvalidStatusCode as e:
            check(e.status_code == 400, f"resume={bad}: HTTP {e.status_code}, expected 400")
    try:
        ws = await websockets.connect(f"{URL}/ws/party/{party}?resume={unknown}&resume={unknown}")
        await ws.close()
        fail("resume given twice was accepted")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == 400, f"resume twice: HTTP {e.status_code}")
    # none of that used alice's record up
    a, wa = await join(party, resume=alice["token"])
    check(wa["participant_id"] == alice["id"] and wa["role"] == "host", f"{wa}")
    for ws in (m, o, a):
        await ws.close()
    print("ignored")


async def s_expired(party, seconds):
    seconds = float(seconds)
    a, wa = await join(party, "alice")
    token, old_id = token_of(wa), wa["participant_id"]
    await send(a, "sync", {"position": 7, "playing": False, "speed": 1}, id="s1")
    await recv_type(a, "sync")
    await a.close()
    # within the retention she comes back...
    a, wa = await join(party, resume=token)
    check(wa["participant_id"] == old_id == wa["host_id"] and wa["state"]["position"] == 7,
          f"{wa}")
    await a.close()
    left = time.monotonic()
    # ... and past it (the sweep runs every second) she is someone new
    await asyncio.sleep(seconds + 1.5 - (time.monotonic() - left))
    a, wa = await join(party, resume=token)
    check(wa["participant_id"] != old_id and wa["resume_token"] != token,
          f"an expired token resumed: {wa}")
    check(wa["state"]["position"] == 0 and wa["history"] == [],
          f"a party past its retention was restored: {wa}")
    await a.close()
    print("expired")


async def s_old(party):
    ids = set()
    for _ in range(2):
        a, wa = await join(party, "plain")
        check(wa["participant_id"] not in ids, f"{wa}")
        check(len(wa.get("resume_token", "")) >= 22, f"no resume_token: {wa}")
        ids.add(wa["participant_id"])
        await a.close()
    print("old client ok")


SCENARIOS = {"before": s_before, "after": s_after, "bad": s_bad, "expired": s_expired,
             "old": s_old}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[2]](*sys.argv[3:]))
