"""tests/helpers/heir_check.py SCENARIO URL_A URL_B REDIS_PORT MEMBER_TOKEN HOST_TOKEN PARTY -
who hosts a cluster party whose members may not all host (token roles:
MEMBER_TOKEN's role is member, HOST_TOKEN's host), and what its joins cost
Redis. Every wait is bounded; prints "ok SCENARIO".

elect: members join both nodes with member tokens: no host anywhere; carol
  (host token, node B) takes the seat; dave (A) and erin (B), host tokens,
  join, then frank (A, member); carol leaves: dave (the longest present
  who may host) hosts on both nodes. Then the heirs index is deleted in
  Redis (keys written before it): a member's join indexes it again; a
  stale heir (not a member) is put first in it; when dave leaves erin
  hosts, on both nodes, and the stale heir is gone.

storm: 40 member-token joins on node A alone into a party with no host:
  the join steps never read the whole member hash (redis MONITOR counts
  HGETALL of it: the subscription's read and the index's first making,
  2, however many join; 5 allowed, where each join read it before).
"""
import asyncio
import subprocess
import sys
import time

import websockets

import wscheck

SCEN, A, B, PORT, MTOK, HTOK, PARTY = sys.argv[1:8]
WAIT = 20


def redis(*args):
    out = subprocess.run(["redis-cli", "-p", PORT] + [str(a) for a in args],
                         check=True, capture_output=True, timeout=WAIT)
    return out.stdout.decode().rstrip("\n")


async def join(url, name, token, party=PARTY):
    ws = await websockets.connect("%s/ws/party/%s?name=%s&token=%s"
                                  % (url, party, name, token),
                                  subprotocols=["revenge.v1"], max_queue=None)
    w = await wscheck.recv(ws, WAIT)
    assert w["type"] == "welcome", w
    return ws, w["payload"]


async def until(ws, pred):
    """The first message on ws that pred accepts (within WAIT s)."""
    deadline = time.monotonic() + WAIT
    while True:
        left = deadline - time.monotonic()
        assert left > 0, "no awaited message within %d s" % WAIT
        m = await wscheck.recv(ws, left)
        if pred(m):
            return m


async def host_is(ws, who):
    await until(ws, lambda m: m["type"] == "host_changed" and m["payload"]["host_id"] == who)


async def joined(ws, who):
    await until(ws, lambda m: m["type"] == "member_joined" and m["payload"]["id"] == who)


async def monitor(lines):
    """Redis's MONITOR into lines until cancelled; returns once it watches."""
    r, w = await asyncio.open_connection("127.0.0.1", int(PORT))
    w.write(b"MONITOR\r\n")
    await w.drain()
    first = await asyncio.wait_for(r.readline(), WAIT)
    assert first.startswith(b"+OK"), first

    async def read():
        try:
            while True:
                line = await r.readline()
                if not line:
                    return
                lines.append(line.decode(errors="replace"))
        finally:
            w.close()
    return asyncio.ensure_future(read())


async def elect():
    members = []
    for i in range(6):
        ws, w = await join(A if i % 2 == 0 else B, "m%d" % i, MTOK)
        assert w["role"] == "member" and w["host_id"] is None, w
        members.append(ws)
    watch_a, watch_b = members[0], members[1]
    carol, w = await join(B, "carol", HTOK)
    assert w["role"] == "host", w
    await host_is(watch_a, w["participant_id"])
    dave, w = await join(A, "dave", HTOK)
    assert w["role"] == "member", w
    dave_id = w["participant_id"]
    # erin joins B once dave's join is in Redis (A's member, seen on B)
    await joined(watch_b, dave_id)
    erin, w = await join(B, "erin", HTOK)
    erin_id = w["participant_id"]
    await joined(watch_a, erin_id)
    await carol.close()
    await host_is(watch_a, dave_id)
    await host_is(watch_b, dave_id)
    # keys written before the index: it is made again from the hash
    redis("DEL", "revenge:party:%s:heirs" % PARTY)
    frank, w = await join(A, "frank", MTOK)
    assert w["host_id"] == dave_id, w
    # frank's welcome does not wait for his join step: until it ran
    deadline = time.monotonic() + WAIT
    while True:
        heirs = redis("ZRANGE", "revenge:party:%s:heirs" % PARTY, 0, -1).split("\n")
        if heirs == ["", dave_id, erin_id]:
            break
        assert time.monotonic() < deadline, "heirs: %r" % heirs
        await asyncio.sleep(0.05)
    # an heir left in the index by someone else (an older node's leave):
    # first in line, but not a member: never elected
    redis("ZADD", "revenge:party:%s:heirs" % PARTY, "0.5", "m0-ghost")
    lines = []
    task = await monitor(lines)
    await dave.close()
    await host_is(watch_a, erin_id)
    await host_is(watch_b, erin_id)
    task.cancel()
    ghost = '"SET" "revenge:party:%s:host" "m0-ghost"' % PARTY
    assert not any(ghost in x for x in lines), "the stale heir was made host"
    heirs = redis("ZRANGE", "revenge:party:%s:heirs" % PARTY, 0, -1).split("\n")
    assert heirs == ["", erin_id], heirs
    for ws in members + [erin, frank]:
        await ws.close()


async def storm():
    party = PARTY + "-storm"
    lines = []
    task = await monitor(lines)
    wss = []
    for i in range(40):
        ws, w = await join(A, "s%d" % i, MTOK, party)
        assert w["host_id"] is None and len(w["members"]) == i + 1, w
        wss.append(ws)
    # the last join's step is in Redis once its entry is, and MONITOR
    # shows it before it shows this PING (one server, in order)
    deadline = time.monotonic() + WAIT
    while redis("HLEN", "revenge:party:%s:members" % party) != "40":
        assert time.monotonic() < deadline, "the joins never reached Redis"
        await asyncio.sleep(0.05)
    redis("ECHO", "storm-end")
    while not any("storm-end" in x for x in lines):
        assert time.monotonic() < deadline, "MONITOR never showed the end"
        await asyncio.sleep(0.05)
    task.cancel()
    key = '"HGETALL" "revenge:party:%s:members"' % party
    joins = sum(1 for x in lines if '"join"' in x and "EVAL" in x and party in x)
    scans = sum(1 for x in lines if key in x)
    assert joins >= 40, "join steps seen: %d" % joins
    assert scans <= 5, "the member hash was read %d times for 40 joins" % scans
    print("# %d join steps, %d HGETALL of the member hash" % (joins, scans))
    for ws in wss:
        await ws.close()


async def main():
    await {"elect": elect, "storm": storm}[SCEN]()
    print("ok " + SCEN)


asyncio.run(main())
