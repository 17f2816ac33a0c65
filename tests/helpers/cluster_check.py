"""tests/helpers/cluster_check.py - cluster mode (--redis): members of one
party on two nodes, driven by an independent client (python3-websockets).

    python3 cluster_check.py SCENARIO URL_A [URL_B] [PARTY]

Every wait is bounded; a scenario exits 0, or prints what it expected and
what it saw and exits 1.
"""
import asyncio
import json
import os
import sys
import time

import websockets

from wscheck import check, fail, recv

SCENARIO = sys.argv[1]
URL_A = sys.argv[2]
URL_B = sys.argv[3] if len(sys.argv) > 3 else URL_A
PARTY = sys.argv[4] if len(sys.argv) > 4 else "cl"


async def join(url, party, name):
    # max_queue None: a member that reads nothing for a while (the load
    # scenario) keeps reading its socket, so its close is not stuck behind
    # a full one
    ws = await websockets.connect(f"{url}/ws/party/{party}?name={name}",
                                  subprotocols=["revenge.v1"], max_queue=None)
    welcome = await recv(ws)
    check(welcome["type"] == "welcome", f"first message is {welcome['type']}")
    return ws, welcome["payload"]


async def send(ws, mtype, payload):
    await ws.send(json.dumps({"type": mtype, "payload": payload}))


async def until(ws, pred, seconds):
    """The first message pred accepts within seconds, or None."""
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            return None
        m = json.loads(raw)
        if pred(m):
            return m


async def relayed_sync(host, host_id, member, position, seconds):
    """Sync from host until member gets it from host_id (the other node
    subscribes a moment after its member joined): the message, or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await send(host, "sync", {"position": position, "playing": True, "speed": 1})
        m = await until(member, lambda m: m["type"] == "sync" and m.get("from") == host_id
                        and abs(m["payload"]["position"] - position) < 5, 0.5)
        if m:
            return m
    fail(f"no sync from {host_id} reached the other node's member within {seconds}s")


async def s_follow():
    """ann on A, bob on B: bob follows ann's syncs, sees her chat and
    reactions, she sees his; a late joiner on B is welcomed with A's state
    and chat history."""
    ann, wa = await join(URL_A, PARTY, "ann")
    bob, wb = await join(URL_B, PARTY, "bob")
    ann_id, bob_id = wa["participant_id"], wb["participant_id"]
    check(ann_id != bob_id, f"member ids collide across nodes: {ann_id}")
    m = await relayed_sync(ann, ann_id, bob, 42.0, 10)
    check(m["payload"]["playing"] is True and m["payload"]["speed"] == 1,
          f"relayed sync state: {m}")
    check(abs(m["payload"]["server_time"] - time.time() * 1000) < 10000,
          f"relayed sync server_time far from now: {m}")
    await send(ann, "chat", {"text": "hello from A"})
    m = await until(bob, lambda m: m["type"] == "chat", 5)
    check(m is not None, "bob (node B) got no chat from ann (node A)")
    check(m["payload"]["text"] == "hello from A" and m.get("from") == ann_id,
          f"relayed chat: {m}")
    await send(bob, "reaction", {"emoji": "🎉"})
    m = await until(ann, lambda m: m["type"] == "reaction", 5)
    check(m is not None and m.get("from") == bob_id, f"ann got no reaction from bob: {m}")
    await send(bob, "chat", {"text": "hello from B"})
    m = await until(ann, lambda m: m["type"] == "chat", 5)
    check(m is not None and m["payload"]["text"] == "hello from B",
          f"ann (node A) got no chat from bob (node B): {m}")
    carol, wc = await join(URL_B, PARTY, "carol")
    texts = [h["payload"]["text"] for h in wc["history"]]
    check(texts == ["hello from A", "hello from B"], f"carol's history on B: {texts}")
    check(abs(wc["state"]["position"] - 42.0) < 5 and wc["state"]["playing"],
          f"carol's welcome state on B is not A's: {wc['state']}")
    for ws in (ann, bob, carol):
        await ws.close()
    print("ok follow")


async def s_relay():
    """The relay works (again): a sync from A reaches B within 30 s."""
    ann, wa = await join(URL_A, PARTY, "ann")
    bob, _ = await join(URL_B, PARTY, "bob")
    await relayed_sync(ann, wa["participant_id"], bob, 7.0, 30)
    await ann.close()
    await bob.close()
    print("ok relay")


async def s_local():
    """Two members on one node: sync and chat reach each other (ann, the
    first, is host, within 10 s if a killed node's host lingered)."""
    ann, wa = await join(URL_A, PARTY, "ann")
    if wa["role"] != "host":
        # a node just killed still holds the party's host in Redis until
        # its lease ends (3 s) and a read drops its members
        m = await until(ann, lambda m: m["type"] == "host_changed" and
                        m["payload"].get("host_id") == wa["participant_id"], 10)
        check(m is not None, f"ann never became host: welcome {wa}")
    bob, _ = await join(URL_A, PARTY, "bob")
    await send(ann, "sync", {"position": 3.0, "playing": False, "speed": 1})
    m = await until(bob, lambda m: m["type"] == "sync", 5)
    check(m is not None and m["payload"]["position"] == 3.0, f"local sync: {m}")
    await send(bob, "chat", {"text": "still here"})
    m = await until(ann, lambda m: m["type"] == "chat", 5)
    check(m is not None and m["payload"]["text"] == "still here", f"local chat: {m}")
    await ann.close()
    await bob.close()
    print("ok local")


async def s_churn():
    """Members join and leave one party on B in a loop (subscribe,
    unsubscribe, subscribe again before the answer) while A syncs; the
    relay still works afterwards."""
    for i in range(30):
        ws, _ = await join(URL_B, PARTY, f"c{i}")
        await ws.close()
    await s_relay()


async def s_load():
    """For LOAD_SECONDS (env, default 4) a host on A syncs about 40 times a
    second and chats 5 times a second to members on A and B, whatever Redis
    does meanwhile (the test kills and restarts it); the members on A get
    every chat throughout (local delivery never waits for Redis); then the
    relay works again within 30 s."""
    seconds = float(os.environ.get("LOAD_SECONDS", "4"))
    ann, wa = await join(URL_A, PARTY, "ann")
    local, _ = await join(URL_A, PARTY, "loc")
    remote = [(await join(URL_B, PARTY, f"r{i}"))[0] for i in range(5)]
    chats = 0
    end = time.monotonic() + seconds
    i = 0
    while time.monotonic() < end:
        i += 1
        await send(ann, "sync", {"position": float(i), "playing": True, "speed": 1})
        if i % 8 == 0:
            chats += 1
            await send(ann, "chat", {"text": f"c{chats}"})
        await asyncio.sleep(0.025)
    got = 0
    while got < chats:
        m = await until(local, lambda m: m["type"] == "chat", 5)
        check(m is not None, f"the member on A got {got} of {chats} chats")
        got += 1
    await asyncio.gather(*(ws.close() for ws in remote + [local, ann]))
    await s_relay()


async def welcome_with(url, name, want_texts, seconds):
    """Join url until the welcome's history is want_texts (the origin's
    writes to Redis are asynchronous: a joiner a moment too early is
    welcomed with less, and leaves): the welcome, or fail."""
    deadline = time.monotonic() + seconds
    texts = None
    while time.monotonic() < deadline:
        ws, w = await join(url, PARTY, name)
        texts = [h["payload"]["text"] for h in w["history"]]
        if texts == want_texts:
            return ws, w
        await ws.close()
        await asyncio.sleep(0.2)
    fail(f"{name}'s welcome history: {texts}, not {want_texts}")


async def s_recall():
    """ann on A syncs and chats, with no one elsewhere; bob, the party's
    first member on B, is welcomed with A's state and chat history; after
    ann left A, a new first member there gets them too (from Redis); once
    the party is empty everywhere it is gone, as on a single node.
    The history is capped as --history says (HISTORY env, default 50)."""
    cap = int(os.environ.get("HISTORY", "50"))
    ann, wa = await join(URL_A, PARTY, "ann")
    await send(ann, "sync", {"position": 42.0, "playing": True, "speed": 1})
    said = [f"line {i}" for i in range(cap + 2)]
    for t in said:
        await send(ann, "chat", {"text": t})
    for _ in said:
        check(await until(ann, lambda m: m["type"] == "chat", 5) is not None,
              "ann's chat is not echoed")
    want = said[-cap:]
    bob, wb = await welcome_with(URL_B, "bob", want, 10)
    st = wb["state"]
    check(st["playing"] and 42.0 <= st["position"] < 42.0 + 30 and st["speed"] == 1,
          f"bob's welcome state on B is not A's: {st}")
    check(wb["history"][0].get("from") == wa["participant_id"],
          f"a recalled chat's sender: {wb['history'][0]}")
    await ann.close()
    await asyncio.sleep(0.3)
    dave, wd = await welcome_with(URL_A, "dave", want, 10)
    check(wd["state"]["playing"], f"dave's welcome state on A: {wd['state']}")
    await dave.close()
    await bob.close()
    # empty everywhere: the party is gone, as on a single node
    await asyncio.sleep(0.5)
    eve, we = await join(URL_A, PARTY, "eve")
    check(we["history"] == [] and not we["state"]["playing"],
          f"a party empty everywhere kept its past: {we}")
    await eve.close()
    print("ok recall")


async def s_join_fast():
    """A first join of a party welcomed within RECALL_WAIT (seconds, env)
    even when Redis does not answer."""
    limit = float(os.environ.get("RECALL_WAIT", "5"))
    t0 = time.monotonic()
    ws, w = await join(URL_A, PARTY, "ann")
    took = time.monotonic() - t0
    check(took < limit, f"the welcome took {took:.1f}s")
    check(w["history"] == [], f"history from nowhere: {w['history']}")
    await send(ws, "chat", {"text": "alone"})
    m = await until(ws, lambda m: m["type"] == "chat", 5)
    check(m is not None, "no echo of a chat while Redis is stuck")
    await ws.close()
    print(f"ok join_fast {took:.2f}")


async def s_host_first():
    """ann, the first joiner on A, is welcomed as host; bob, who joins B
    right after that welcome, is welcomed with her as host, and she keeps
    the role: her syncs reach him, she sees no host_changed and no error."""
    ann, wa = await join(URL_A, PARTY, "ann")
    ann_id = wa["participant_id"]
    check(wa["host_id"] == ann_id and wa["role"] == "host",
          f"ann's welcome names host {wa['host_id']}, role {wa['role']}")
    bob, wb = await join(URL_B, PARTY, "bob")
    check(wb["host_id"] == ann_id, f"bob's welcome names host {wb['host_id']}, not ann {ann_id}")
    await relayed_sync(ann, ann_id, bob, 10.0, 10)
    bad = await until(ann, lambda m: m["type"] in ("host_changed", "error"), 2)
    check(bad is None, f"ann lost the host role: {bad}")
    bad = await until(bob, lambda m: m["type"] == "host_changed", 0.5)
    check(bad is None, f"bob saw the host change: {bad}")
    await ann.close()
    await bob.close()
    print("ok host_first")


async def s_succession():
    """ann (host) and cid on A, bob then dan on B: everyone sees all four
    members and ann as host; bob cannot sync while ann is host. Then the
    test kills A (-9) once MARK (env) exists: within 15 s bob, the longest
    present elsewhere, gets host_changed naming him and member_left for
    ann and cid; dan sees the same; bob's sync then reaches dan."""
    mark = os.environ["MARK"]
    ann, wa = await join(URL_A, PARTY, "ann")
    cid, wc = await join(URL_A, PARTY, "cid")
    ann_id, cid_id = wa["participant_id"], wc["participant_id"]
    check(wa["role"] == "host", f"ann is not host: {wa}")
    await asyncio.sleep(0.5)
    bob, wb = await join(URL_B, PARTY, "bob")
    bob_id = wb["participant_id"]
    check(wb["host_id"] == ann_id and wb["role"] == "member",
          f"bob's welcome on B: host {wb['host_id']}, role {wb['role']}, not ann ({ann_id})")
    names = sorted(m["name"] for m in wb["members"])
    check(names == ["ann", "bob", "cid"], f"bob's welcome members: {wb['members']}")
    m = await until(ann, lambda m: m["type"] == "member_joined" and
                    m["payload"]["id"] == bob_id, 5)
    check(m is not None,
          f"ann (A) got no member_joined for bob (B): {m}")
    await asyncio.sleep(0.5)
    dan, wd = await join(URL_B, PARTY, "dan")
    dan_id = wd["participant_id"]
    check(wd["host_id"] == ann_id, f"dan's welcome host: {wd['host_id']}")
    await send(bob, "sync", {"position": 5.0, "playing": True, "speed": 1})
    m = await until(bob, lambda m: m["type"] == "error", 5)
    check(m is not None and m["payload"]["code"] == "forbidden",
          f"bob (not the cluster's host) could sync: {m}")
    # the kill
    open(mark, "w").close()
    killed = time.monotonic()
    got_host = None
    left = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (not got_host or left != {ann_id, cid_id}):
        m = await until(bob, lambda m: m["type"] in ("host_changed", "member_left",
                                                       "presence"), 1)
        if not m:
            continue
        if m["type"] == "host_changed" and m["payload"].get("host_id") == bob_id:
            got_host = time.monotonic()
        if m["type"] == "member_left":
            left.add(m["payload"]["id"])
    check(got_host, f"bob never became host (left seen: {left})")
    check(left == {ann_id, cid_id}, f"member_left on B for {left}, not ann and cid")
    m = await until(dan, lambda m: m["type"] == "host_changed" and
                    m["payload"].get("host_id") == bob_id, 5)
    check(m is not None, "dan got no host_changed naming bob")
    await send(bob, "sync", {"position": 9.0, "playing": True, "speed": 1})
    m = await until(dan, lambda m: m["type"] == "sync", 5)
    check(m is not None and m["payload"]["position"] == 9.0, f"bob's sync as host: {m}")
    await bob.close()
    await dan.close()
    print(f"ok succession: bob host {got_host - killed:.1f}s after the kill")


async def s_rewrite():
    """ann joins A and stays; the test restarts Redis (empty: no
    persistence) once MARK exists and creates MARK.up when the nodes are
    back; then bob, joining on B, sees ann as a member and as host (A wrote
    its members again), within 15 s."""
    mark = os.environ["MARK"]
    ann, wa = await join(URL_A, PARTY, "ann")
    open(mark, "w").close()
    deadline = time.monotonic() + 30
    while not os.path.exists(mark + ".up"):
        check(time.monotonic() < deadline, "Redis was not restarted")
        await asyncio.sleep(0.1)
    deadline = time.monotonic() + 15
    while True:
        bob, wb = await join(URL_B, PARTY, "bob")
        if wb["host_id"] == wa["participant_id"]:
            break
        await bob.close()
        check(time.monotonic() < deadline,
              f"bob's welcome after Redis restarted: {wb['members']}, host {wb['host_id']}")
        await asyncio.sleep(0.3)
    check(sorted(m["name"] for m in wb["members"]) == ["ann", "bob"],
          f"bob's welcome members: {wb['members']}")
    await ann.close()
    await bob.close()
    print("ok rewrite")


async def s_handover():
    """ann (host, A) hands the host over to bob (B): both get host_changed
    naming bob, and it stays so (no node puts ann back: 3 s of reads);
    bob's sync reaches ann, ann's is forbidden."""
    ann, wa = await join(URL_A, PARTY, "ann")
    await asyncio.sleep(0.3)
    bob, wb = await join(URL_B, PARTY, "bob")
    bob_id = wb["participant_id"]
    check(wb["host_id"] == wa["participant_id"], f"bob's welcome host: {wb['host_id']}")
    # A learns of bob through Redis, a moment after his welcome
    m = await until(ann, lambda m: m["type"] == "member_joined" and
                    m["payload"]["id"] == bob_id, 5)
    check(m is not None, "ann (A) got no member_joined for bob (B)")
    await send(ann, "transfer_host", {"to": bob_id})
    for ws, who in ((ann, "ann"), (bob, "bob")):
        m = await until(ws, lambda m: m["type"] == "host_changed", 5)
        check(m is not None and m["payload"]["host_id"] == bob_id,
              f"{who}'s host_changed: {m}")
    m = await until(bob, lambda m: m["type"] == "host_changed", 3)
    check(m is None, f"the host moved again: {m}")
    await send(bob, "sync", {"position": 11.0, "playing": True, "speed": 1})
    m = await until(ann, lambda m: m["type"] == "sync", 5)
    check(m is not None and m["payload"]["position"] == 11.0, f"bob's sync on A: {m}")
    await send(ann, "sync", {"position": 1.0, "playing": True, "speed": 1})
    m = await until(ann, lambda m: m["type"] == "error", 5)
    check(m is not None and m["payload"]["code"] == "forbidden", f"ann's sync: {m}")
    await ann.close()
    await bob.close()
    print("ok handover")


async def s_bulk():
    """Full-size chats in a burst cross nodes whole and in order (many TLS
    records); a later first member on B is welcomed with the last HISTORY
    of them (a large reply). The server needs --party-chat-rate 0 and
    --rate-limit 0. With MARK (env): BULK_N chats, sent once MARK.go exists
    (the test has paused Redis, so that they pile up unwritten past what
    the socket takes), then MARK.sent; no recall then (a long pause may
    outlast the nodes' leases)."""
    mark = os.environ.get("MARK")
    n, cap = int(os.environ.get("BULK_N", "300")), int(os.environ.get("HISTORY", "50"))
    ann, wa = await join(URL_A, PARTY, "ann")
    bob, _ = await join(URL_B, PARTY, "bob")
    await relayed_sync(ann, wa["participant_id"], bob, 5.0, 30)
    texts = [f"{i:04d} " + chr(ord("a") + i % 26) * 1995 for i in range(n)]
    if mark:
        open(mark, "w").close()
        deadline = time.monotonic() + 20
        while not os.path.exists(mark + ".go"):
            check(time.monotonic() < deadline, "Redis was not paused")
            await asyncio.sleep(0.05)
    for t in texts:
        await send(ann, "chat", {"text": t})
    if mark:
        open(mark + ".sent", "w").close()
    for i, t in enumerate(texts):
        m = await until(bob, lambda m: m["type"] == "chat", 10)
        check(m is not None, f"bob (B) got {i} of {n} chats")
        check(m["payload"]["text"] == t,
              f"chat {i} on B: {m['payload']['text'][:12]!r}..., not {t[:12]!r}...")
    await bob.close()
    if not mark:
        await asyncio.sleep(0.3)
        dave, _ = await welcome_with(URL_B, "dave", texts[-cap:], 10)
        await dave.close()
    await ann.close()
    print("ok bulk")


async def s_stall():
    """ann (host) on A, bob on B. The test stops A (SIGSTOP) past its lease
    once MARK exists and continues it, creating MARK.up: meanwhile B drops
    ann (member_left) and bob becomes host; back, A finds its lease gone
    and writes ann again: bob sees her join again and ann learns bob is
    host, within 15 s."""
    mark = os.environ["MARK"]
    ann, wa = await join(URL_A, PARTY, "ann")
    ann_id = wa["participant_id"]
    await asyncio.sleep(0.3)
    bob, wb = await join(URL_B, PARTY, "bob")
    bob_id = wb["participant_id"]
    check(wb["host_id"] == ann_id, f"bob's welcome host: {wb['host_id']}")
    open(mark, "w").close()
    left = hosted = False
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not (left and hosted):
        m = await until(bob, lambda m: m["type"] in ("member_left", "host_changed"), 1)
        if m and m["type"] == "member_left" and m["payload"]["id"] == ann_id:
            left = True
        if m and m["type"] == "host_changed" and m["payload"]["host_id"] == bob_id:
            hosted = True
    check(left, "B never dropped ann while A was stopped")
    check(hosted, "bob never became host while A was stopped")
    deadline = time.monotonic() + 30
    while not os.path.exists(mark + ".up"):
        check(time.monotonic() < deadline, "A was not continued")
        await asyncio.sleep(0.1)
    m = await until(bob, lambda m: m["type"] == "member_joined" and
                    m["payload"]["id"] == ann_id, 15)
    check(m is not None, "ann was not written again once A was back")
    m = await until(ann, lambda m: m["type"] == "host_changed" and
                    m["payload"]["host_id"] == bob_id, 15)
    check(m is not None, "A never learnt that bob is host")
    await ann.close()
    await bob.close()
    print("ok stall")


async def s_recall_gap():
    """ann on A chats without pause (c0, c1, ...); bob joins B again and
    again as the party's only member there, so each join recalls. What bob
    gets, his welcome's history then the chats live, must be ann's chats
    in order with nothing missing or twice, however the recall and the
    relayed chats interleave (ROUNDS env, default 15)."""
    rounds = int(os.environ.get("ROUNDS", "15"))
    ann, _ = await join(URL_A, PARTY, "ann")
    stop = asyncio.Event()

    async def talk():
        i = 0
        while not stop.is_set():
            await send(ann, "chat", {"text": f"c{i}"})
            i += 1
            await asyncio.sleep(0.002)

    async def drain():
        while not stop.is_set():
            try:
                await asyncio.wait_for(ann.recv(), 0.2)
            except asyncio.TimeoutError:
                pass

    tasks = [asyncio.create_task(talk()), asyncio.create_task(drain())]
    await asyncio.sleep(0.3)
    try:
        for r in range(rounds):
            bob, wb = await join(URL_B, PARTY, "bob")
            got = [int(h["payload"]["text"][1:]) for h in wb["history"]]
            while len(got) < len(wb["history"]) + 30:
                m = await until(bob, lambda m: m["type"] == "chat", 5)
                check(m is not None, f"round {r}: the chats stopped reaching bob")
                got.append(int(m["payload"]["text"][1:]))
            gaps = [(a, b) for a, b in zip(got, got[1:]) if b != a + 1]
            check(not gaps, f"round {r}: bob's chats jump (history {len(wb['history'])}): "
                  f"{gaps[:5]} in {got}")
            await bob.close()
            await asyncio.sleep(0.15)
    finally:
        stop.set()
        for t in tasks:
            await t
    await ann.close()
    print(f"ok recall_gap {rounds} rounds")


async def s_handover_race():
    """ann (host) on A, bob on B. Redis is stopped (REDIS_PID env, SIGSTOP)
    while dan joins A (a members step in flight: its answer names ann as
    host) and ann hands the host over to bob; Redis continues. ann must see
    the host go to bob once, never back to ann and again to bob (ROUNDS
    env: rounds, the host handed back and forth)."""
    import signal
    pid = int(os.environ["REDIS_PID"])
    rounds = int(os.environ.get("ROUNDS", "3"))
    ann, wa = await join(URL_A, PARTY, "ann")
    await asyncio.sleep(0.3)
    bob, wb = await join(URL_B, PARTY, "bob")
    ids = {"ann": wa["participant_id"], "bob": wb["participant_id"]}
    m = await until(ann, lambda m: m["type"] == "member_joined" and
                    m["payload"]["id"] == ids["bob"], 5)
    check(m is not None, "ann (A) got no member_joined for bob (B)")
    host, other = (ann, "ann"), (bob, "bob")
    for r in range(rounds):
        ws, who = host
        to = other[1]
        os.kill(pid, signal.SIGSTOP)
        try:
            dan, _ = await join(URL_A if who == "ann" else URL_B, PARTY, f"dan{r}")
            await send(ws, "transfer_host", {"to": ids[to]})
            await asyncio.sleep(0.3)
        finally:
            os.kill(pid, signal.SIGCONT)
        seen = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            m = await until(ws, lambda m: m["type"] == "host_changed", 0.3)
            if m:
                seen.append(m["payload"]["host_id"])
        check(seen == [ids[to]], f"round {r}: {who}'s host_changed: {seen}, "
              f"not once {to} ({ids[to]})")
        # the new host hears of it too (and its stream is read up to there)
        m = await until(other[0], lambda m: m["type"] == "host_changed" and
                        m["payload"]["host_id"] == ids[to], 5)
        check(m is not None, f"round {r}: {to} never heard it is host")
        await dan.close()
        host, other = other, host
    await ann.close()
    await bob.close()
    print(f"ok handover_race {rounds} rounds")


async def marked_wait(mark):
    """Create mark, then wait (60 s at most) until the test creates
    mark.done."""
    open(mark, "w").close()
    deadline = time.monotonic() + 60
    while not os.path.exists(mark + ".done"):
        check(time.monotonic() < deadline, "the test never said done")
        await asyncio.sleep(0.1)


async def s_hold():
    """bob joins B, then ann joins A (half a second later); then MARK is
    created and they stay until MARK.done exists (the test restarts Redis
    meanwhile and looks at what the nodes wrote again)."""
    mark = os.environ["MARK"]
    bob, _ = await join(URL_B, PARTY, "bob")
    await asyncio.sleep(0.5)
    ann, _ = await join(URL_A, PARTY, "ann")
    await asyncio.sleep(0.5)
    await marked_wait(mark)
    await ann.close()
    await bob.close()
    print("ok hold")


async def s_spread():
    """PARTIES (env, default 12) parties PARTY-0, PARTY-1, ...: ann (host)
    on A and bob on B in each; ann's sync reaches bob and her chat is kept
    in every one (whichever Redis shard it lives on). Then MARK is created
    and they stay until MARK.done exists (the test reads each shard's keys
    meanwhile)."""
    mark = os.environ["MARK"]
    n = int(os.environ.get("PARTIES", "12"))

    async def one(i):
        party = f"{PARTY}-{i}"
        ann, wa = await join(URL_A, party, "ann")
        check(wa["role"] == "host", f"{party}: ann is not host: {wa}")
        bob, _ = await join(URL_B, party, "bob")
        await relayed_sync(ann, wa["participant_id"], bob, 10.0 + i, 20)
        await send(ann, "chat", {"text": f"hello {party}"})
        m = await until(bob, lambda m: m["type"] == "chat", 5)
        check(m is not None and m["payload"]["text"] == f"hello {party}",
              f"{party}: chat across nodes: {m}")
        return [ann, bob]

    held = [ws for pair in await asyncio.gather(*(one(i) for i in range(n))) for ws in pair]
    await marked_wait(mark)
    for ws in held:
        await ws.close()
    print(f"ok spread {n} parties")


async def s_shard_lease():
    """ann (host) on A and bob on B in two parties: P_KEEP (env) on a shard
    A keeps and P_LOST on the one A loses (the test cuts A's link to it
    once MARK exists). Within 12 s bob sees ann leave P_LOST (her lease
    there ran out) and becomes its host; in P_KEEP she stays, host."""
    mark = os.environ["MARK"]
    keep, lost = os.environ["P_KEEP"], os.environ["P_LOST"]
    a_keep, wa = await join(URL_A, keep, "ann")
    b_keep, _ = await join(URL_B, keep, "bob")
    a_lost, wl = await join(URL_A, lost, "ann")
    b_lost, wb = await join(URL_B, lost, "bob")
    await relayed_sync(a_keep, wa["participant_id"], b_keep, 1.0, 20)
    await relayed_sync(a_lost, wl["participant_id"], b_lost, 2.0, 20)
    open(mark, "w").close()
    m = await until(b_lost, lambda m: m["type"] == "member_left" and
                    m["payload"]["id"] == wl["participant_id"], 12)
    check(m is not None, f"ann never left {lost} (on the shard A lost) for bob")
    m = await until(b_keep, lambda m: m["type"] in ("member_left", "host_changed"), 2)
    check(m is None, f"{keep} (on the shard A keeps) changed: {m}")
    await relayed_sync(a_keep, wa["participant_id"], b_keep, 3.0, 10)
    for ws in (a_keep, b_keep, a_lost, b_lost):
        await ws.close()
    print("ok shard_lease")


async def s_clock():
    """The server time of a node on A and of one on B (each welcome's ts)
    agree with this machine's clock to within 50 ms: a node whose clock
    was off stepped onto Redis's TIME before anyone joined."""
    for url, who in ((URL_A, "A"), (URL_B, "B")):
        ws = await websockets.connect(f"{url}/ws/party/{PARTY}?name=x{who}",
                                      subprotocols=["revenge.v1"])
        raw = await asyncio.wait_for(ws.recv(), 5)
        now = time.time() * 1000
        ts = json.loads(raw)["ts"]
        check(abs(ts - now) < 50, f"node {who}'s server time is {ts - now:.1f} ms off")
        await ws.close()
    print("ok clock")


SCENARIOS = {"bulk": s_bulk, "host_first": s_host_first, "clock": s_clock, "hold": s_hold, "handover_race": s_handover_race, "recall_gap": s_recall_gap, "stall": s_stall, "handover": s_handover, "rewrite": s_rewrite, "succession": s_succession, "recall": s_recall, "join_fast": s_join_fast, "follow": s_follow, "relay": s_relay, "local": s_local, "churn": s_churn, "spread": s_spread, "shard_lease": s_shard_lease,
             "load": s_load}

if SCENARIO not in SCENARIOS:
    fail(f"unknown scenario {SCENARIO}")
asyncio.run(asyncio.wait_for(SCENARIOS[SCENARIO](), 90))
