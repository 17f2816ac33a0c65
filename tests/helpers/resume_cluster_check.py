"""tests/helpers/resume_cluster_check.py - resume tokens across the nodes of
a cluster (--redis with --party-retention): the resume records kept in
Redis (revenge:party:{id}:resume), driven by an independent client
(Debian's python3-websockets) and redis-cli.

    python3 resume_cluster_check.py SCENARIO A_URL B_URL REDIS_PORT PARTY

move    ann (host) and bob join on A; ann's connection drops; she comes back
        on B with her token: her id, name, host role and join number in
        Redis back (bob on A
        sees exactly member_left, host_changed to him, member_joined of
        ann, host_changed to ann; no other member churn), A refuses bob's
        sync (ann hosts on both nodes) and relays ann's; then ann drops
        again (killed: no close frame) and comes back on A
bad     bob on A; on B: an unknown well-formed token, bob's token while bob
        is present, a garbage record planted in Redis under a token's
        hash: fresh members with fresh tokens; malformed or oversized
        tokens: HTTP 400; B still serves
slow    Redis paused (CLIENT PAUSE) while ann resumes on B: she is welcomed
        all the same once the bound on the record's answer passed

Both check at the end that no token given out is in Redis in clear (every
key's every value). Each scenario exits 0, or prints what it expected and
saw and exits 1.
"""
import asyncio
import hashlib
import json
import secrets
import subprocess
import sys
import time

import websockets

from wscheck import check, fail, recv, recv_type, send

A, B, PORT, PARTY = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
KEY = f"revenge:party:{PARTY}:resume"
TOKENS = []


def rcli(*args):
    out = subprocess.run(["redis-cli", "-p", PORT, "--no-raw", *args], capture_output=True,
                         text=True, timeout=10)
    check(out.returncode == 0, f"redis-cli {args}: {out.stderr}")
    return out.stdout


def rraw(*args):
    out = subprocess.run(["redis-cli", "-p", PORT, "--raw", *args], capture_output=True,
                         text=True, timeout=10)
    check(out.returncode == 0, f"redis-cli {args}: {out.stderr}")
    return out.stdout.splitlines()


async def join(url, name=None, resume=None):
    q = []
    if name:
        q.append(f"name={name}")
    if resume:
        q.append(f"resume={resume}")
    # max_queue None: a member who reads nothing for a while still sees
    # the server's close frame behind what it did not read (with the
    # default 32 its close waited the 10 s close_timeout)
    ws = await websockets.connect(f"{url}/ws/party/{PARTY}" + ("?" + "&".join(q) if q else ""),
                                  subprotocols=["revenge.v1"], max_queue=None)
    w = await recv(ws, 10)
    check(w["type"] == "welcome", f"first message is {w['type']}, expected welcome")
    t = w["payload"].get("resume_token")
    check(isinstance(t, str) and len(t) == 32, f"welcome without a resume_token: {w}")
    TOKENS.append(t)
    return ws, w["payload"]


def record(token):
    """ann's record in Redis, as the node kept it (None: none)."""
    h = hashlib.sha256(token.encode()).hexdigest()
    v = rraw("HGET", KEY, h)
    return v[0] if v and v[0] else None


def entry_now(mid):
    v = rraw("HGET", f"revenge:party:{PARTY}:members", mid)
    return v[0].split(" ", 3) if v and v[0] else None


async def entry(mid, seconds):
    """mid's entry in the party's members hash: [node, join, may host,
    name], once it is there."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (e := entry_now(mid)):
            return e
        await asyncio.sleep(0.05)
    fail(f"{mid} never in Redis's members")


async def until_left(token, seconds=10):
    """Until the node the member left wrote its leave (until > 0) and Redis
    no longer lists it among the members."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r = record(token)
        if r and not r.startswith("0 "):
            return r
        await asyncio.sleep(0.05)
    fail(f"no leave record in Redis within {seconds}s: {record(token)}")


def rbatch(cmds):
    """cmds (lists of words without spaces) through one redis-cli, --raw."""
    out = subprocess.run(["redis-cli", "-p", PORT, "--raw"], capture_output=True, text=True,
                         input="".join(" ".join(c) + "\n" for c in cmds), timeout=10)
    check(out.returncode == 0, f"redis-cli: {out.stderr}")
    return out.stdout.splitlines()


def no_token_in_redis():
    keys = rraw("--scan")
    check(any(k == KEY for k in keys), f"no {KEY} among {keys}")
    check(all(" " not in k for k in keys), f"keys: {keys}")
    types = rbatch([["TYPE", k] for k in keys])
    check(len(types) == len(keys), f"TYPE of {keys}: {types}")
    read = {"hash": ["HGETALL"], "string": ["GET"], "list": ["LRANGE", "0", "-1"],
            "zset": ["ZRANGE", "0", "-1"]}
    dump = keys + rbatch([[read[t][0], k] + read[t][1:] for k, t in zip(keys, types)
                          if t in read])
    text = "\n".join(dump)
    for t in TOKENS:
        check(t not in text, "a resume token is in Redis in clear")
    # and the records are keyed by the tokens' hashes
    fields = rraw("HKEYS", KEY)
    check(fields and all(len(f) == 64 for f in fields), f"resume fields: {fields}")
    check(int(rraw("PTTL", KEY)[0]) > 0, "the resume records have no TTL")


async def churn(ws, until, seconds=10):
    """bob's messages until one satisfies until: the member and host ones."""
    seen = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"bob saw only {seen}")
        m = await recv(ws, left)
        if m["type"] in ("member_joined", "member_left", "host_changed"):
            seen.append((m["type"], m["payload"].get("id", m["payload"].get("host_id"))))
        if until(m):
            return seen


async def quiet(ws, seconds):
    """No member_joined or member_left on ws for seconds."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        try:
            raw = await asyncio.wait_for(ws.recv(), left)
        except asyncio.TimeoutError:
            return
        m = json.loads(raw)
        check(m["type"] not in ("member_joined", "member_left"), f"member churn: {raw}")


async def s_move():
    a, wa = await join(A, "ann")
    ann, tok = wa["participant_id"], wa["resume_token"]
    check(wa["role"] == "host", f"ann is not host: {wa}")
    b, wb = await join(A, "bob")
    bob = wb["participant_id"]
    await recv_type(a, "member_joined", 10)
    before = await entry(ann, 10)
    await a.close()
    seen = await churn(b, lambda m: m["type"] == "host_changed")
    check(seen == [("member_left", ann), ("host_changed", bob)], f"bob saw {seen} at ann's drop")
    await until_left(tok)
    # the phone comes back through the load balancer: node B
    a, wa = await join(B, resume=tok)
    check(wa["participant_id"] == ann, f"ann's id is not back on B: {wa}")
    check(wa["resume_token"] == tok, "ann's token changed on resume")
    check(wa["role"] == "host" and wa["host_id"] == ann, f"ann is not host again on B: {wa}")
    # Redis has her again under her old join number (her place among the
    # heirs), now of node B
    after = await entry(ann, 10)
    check(after[1:] == before[1:] and after[0] != before[0],
          f"ann's entry in Redis: {before} before, {after} after")
    names = {m["id"]: m["name"] for m in wa["members"]}
    check(names.get(ann) == "ann" and names.get(bob) == "bob", f"members on B: {wa['members']}")
    want = sorted([("member_joined", ann), ("host_changed", ann)])
    seen = await churn(b, lambda m: m["type"] in ("member_joined", "host_changed") and
                       m["payload"].get("id", m["payload"].get("host_id")) == ann)
    if len(seen) < 2:
        seen += await churn(b, lambda m: m["type"] in ("member_joined", "host_changed"))
    check(sorted(seen) == want, f"bob saw {seen} at ann's return, expected {want}")
    # A knows she hosts: bob may not sync, her sync reaches him
    await send(b, "sync", {"position": 3, "playing": False, "speed": 1}, id="x")
    e = await recv_type(b, "error", 10)
    check(e["payload"]["code"] == "forbidden", f"bob's sync on A: {e}")
    await send(a, "sync", {"position": 9, "playing": False, "speed": 1}, id="s")
    s = await recv_type(b, "sync", 10)
    check(s["from"] == ann and s["payload"]["position"] == 9, f"bob got {s}")
    # nothing else about members comes after
    await quiet(b, 0.5)
    # she drops again without a close frame and comes back on A
    a.transport.abort()
    await churn(b, lambda m: m["type"] == "member_left" and m["payload"]["id"] == ann, 30)
    await until_left(tok, 30)
    a, wa = await join(A, resume=tok)
    check(wa["participant_id"] == ann and wa["role"] == "host", f"back on A: {wa}")
    no_token_in_redis()
    await a.close()
    await b.close()
    print("ok move")


async def s_bad():
    b, wb = await join(A, "bob")
    bob, btok = wb["participant_id"], wb["resume_token"]
    ids = {bob}
    unknown = secrets.token_hex(16)
    m, wm = await join(B, "mallory", resume=unknown)
    check(wm["participant_id"] not in ids and wm["resume_token"] != unknown, f"{wm}")
    ids.add(wm["participant_id"])
    # bob is present: his token is not free
    e, we = await join(B, "eve", resume=btok)
    check(we["participant_id"] not in ids and we["resume_token"] != btok, f"{we}")
    ids.add(we["participant_id"])
    # garbage under a token's hash (someone else wrote to Redis)
    for i, junk in enumerate(["", "x", "1 2 3 m1 n", "0 0 0 ", "0 0 0 m-1", "99999999999999999999 1 1 m1 x",
                              "0 1 1 b@d n", "0 1 1 m1 " + "n" * 300, "-1 1 1 m1 n",
                              "0 1 7 m1 n", "0 1 1 m\u00e9 n", "\x01\x02", "0 1 1 m1 \x07"]):
        tok = secrets.token_hex(16)
        rcli("HSET", KEY, hashlib.sha256(tok.encode()).hexdigest(), junk)
        g, wg = await join(B, f"g{i}", resume=tok)
        check(wg["participant_id"] not in ids and wg["resume_token"] != tok,
              f"garbage record {junk!r} resumed: {wg}")
        ids.add(wg["participant_id"])
        await g.close()
    # an expired record (its time is past)
    tok = secrets.token_hex(16)
    rcli("HSET", KEY, hashlib.sha256(tok.encode()).hexdigest(), "1000 1 1 m-old old")
    g, wg = await join(B, "late", resume=tok)
    check(wg["participant_id"] != "m-old" and wg["role"] != "host", f"expired record: {wg}")
    await g.close()
    for bad in ["xyz", "A" * 32, "0" * 31, "0" * 33, "0" * 4000, "%00" + "0" * 29]:
        try:
            ws = await websockets.connect(f"{B}/ws/party/{PARTY}?resume={bad}")
            await ws.close()
            fail(f"resume={bad[:40]} was accepted")
        except websockets.InvalidStatusCode as ex:
            check(ex.status_code in (400, 414, 431), f"resume={bad[:40]}: HTTP {ex.status_code}")
        except (websockets.InvalidHandshake, OSError):
            pass
    # B still serves, and bob still hosts
    c, wc = await join(B, "carol")
    check(wc["host_id"] == bob, f"{wc}")
    no_token_in_redis()
    for ws in (b, m, e, c):
        await ws.close()
    print("ok bad")


async def s_slow():
    a, wa = await join(A, "ann")
    tok = wa["resume_token"]
    b, wb = await join(A, "bob")
    await a.close()
    await until_left(tok)
    # Redis answers nothing for 2.5 s: the join on B does not wait for
    # the record longer than its bound, and is welcomed
    rcli("CLIENT", "PAUSE", "2500", "ALL")
    t = time.monotonic()
    a, wa = await join(B, resume=tok)
    took = time.monotonic() - t
    check(wa["resume_token"] and wa["participant_id"], f"{wa}")
    print(f"# welcomed after {took:.2f}s with Redis paused")
    # and once Redis is back, B still serves
    c, wc = await join(B, "carol")
    for ws in (a, b, c):
        await ws.close()
    print("ok slow")


SCENARIOS = {"move": s_move, "bad": s_bad, "slow": s_slow}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[1]]())
