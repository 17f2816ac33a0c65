"""tests/helpers/presence_check.py - batched presence in a large party
(issue 13, part 3), with one asyncio process holding every member.

  presence_check.py URL N THRESHOLD

N members join party "big" in order (the first is host) against a server
run with --presence-batch-above THRESHOLD; then members 100..109 leave. It
checks what members saw and prints `ok ...`, or `FAIL: why` and exits 1:
- member 1 (joined early) learns of every later joiner exactly once, by
  member_joined while the party is small and by presence diffs above it
  (listed, or counted in joined_more when a batch has over 16), and of the
  ten leaves; the last count it sees is N, then N - 10;
- nobody gets its own join, and a member who joined during a batch never
  hears of one that its welcome already counted (the members before it);
- the last joiner's welcome has member_count N, members_partial true, at
  most 64 members, the host first and itself second;
- paging with `members` (limit 100) returns every member exactly once, in
  join order, `next` null at the end; an unknown `after` is not_found.
Every wait is bounded."""
import asyncio
import json
import sys

import websockets

LEAVERS = range(100, 110)


class Member:
    def __init__(self, i):
        self.i = i
        self.ws = None
        self.id = None
        self.welcome = None
        self.msgs = []
        self.task = None

    async def join(self, url):
        self.ws = await websockets.connect(f"{url}/ws/party/big?name=u{self.i}",
                                           subprotocols=["revenge.v1"], max_size=None,
                                           open_timeout=20)
        self.welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 20))
        assert self.welcome["type"] == "welcome", self.welcome
        self.id = self.welcome["payload"]["participant_id"]
        self.task = asyncio.ensure_future(self.read())

    async def read(self):
        try:
            async for raw in self.ws:
                self.msgs.append(json.loads(raw))
        except websockets.ConnectionClosed:
            pass


def fail(why):
    print(f"FAIL: {why}")
    sys.exit(1)


async def until(cond, seconds, why):
    for _ in range(int(seconds * 20)):
        if cond():
            return
        await asyncio.sleep(0.05)
    fail(f"timed out: {why}")


def presence_of(m):
    return [x["payload"] for x in m.msgs if x["type"] == "presence"]


def last_count(m):
    p = presence_of(m)
    return p[-1]["count"] if p else None


async def ask(m, after, limit):
    msg = {"type": "members", "id": f"page-{after}", "payload": {"limit": limit}}
    if after is not None:
        msg["payload"]["after"] = after
    seen = len(m.msgs)
    await m.ws.send(json.dumps(msg))
    await until(lambda: any(x.get("id") == msg["id"] for x in m.msgs[seen:]), 10,
                f"an answer to {msg}")
    return next(x for x in m.msgs[seen:] if x.get("id") == msg["id"])


async def main(url, n, threshold):
    members = [Member(i) for i in range(n)]
    for m in members:   # one by one: join order is the list's order
        await m.join(url)
    ids = [m.id for m in members]
    early, last = members[1], members[-1]

    await until(lambda: last_count(early) == n, 20, f"member 1 to see count {n}")
    # member 1 learns of 2..n-1 exactly once
    heard = [x["payload"]["id"] for x in early.msgs if x["type"] == "member_joined"]
    per_event = len(heard)
    more = 0
    for p in presence_of(early):
        heard += [j["id"] for j in p["joined"]]
        more += p["joined_more"]
    # a batch lists at most 16 joins and counts the rest in joined_more
    if len(heard) != len(set(heard)) or not set(heard) <= set(ids[2:]) \
            or len(heard) + more != n - 2 or (not more and sorted(heard) != sorted(ids[2:])):
        fail(f"member 1 heard {len(heard)} joins ({len(set(heard))} distinct) "
             f"and {more} more, expected {n - 2}")
    if per_event != threshold - 2:
        fail(f"member 1 got {per_event} member_joined, expected {threshold - 2} "
             f"(sizes 3..{threshold})")

    # nobody hears of itself or of a member who joined before it
    pos = {mid: i for i, mid in enumerate(ids)}
    for m in members:
        for p in presence_of(m):
            for j in p["joined"]:
                if pos[j["id"]] <= m.i:
                    fail(f"member {m.i} heard of the join of member {pos[j['id']]}")

    w = last.welcome["payload"]
    roster = [x["id"] for x in w["members"]]
    if w.get("member_count") != n or w.get("members_partial") is not True:
        fail(f"last welcome: member_count {w.get('member_count')}, "
             f"members_partial {w.get('members_partial')}")
    if len(roster) > 64 or roster[0] != ids[0] or w["members"][0]["role"] != "host" \
            or roster[1] != last.id:
        fail(f"last welcome roster: {len(roster)} members starting {roster[:3]}")
    w1 = members[5].welcome["payload"]
    if w1.get("members_partial") is not False or len(w1["members"]) != 6:
        fail(f"a small party's welcome: {w1}")

    # paging through everyone
    got, after, pages = [], None, 0
    while True:
        r = await ask(last, after, 100)
        if r["type"] != "members":
            fail(f"members answered {r}")
        pages += 1
        got += [x["id"] for x in r["payload"]["members"]]
        if r["payload"]["count"] != n:
            fail(f"members count {r['payload']['count']}")
        after = r["payload"]["next"]
        if after is None:
            break
        if pages > n:
            fail("paging does not end")
    if got != ids:
        fail(f"paging returned {len(got)} members ({len(set(got))} distinct), expected {n}")
    r = await ask(last, "nobody-here", 10)
    if r["type"] != "error" or r["payload"]["code"] != "not_found":
        fail(f"unknown after answered {r}")

    # ten leave: batched too
    for i in LEAVERS:
        await members[i].ws.close()
    await until(lambda: last_count(early) == n - len(LEAVERS), 20,
                f"member 1 to see count {n - len(LEAVERS)}")
    left = [x["id"] for p in presence_of(early) for x in p["left"]]
    if sorted(left) != sorted(ids[i] for i in LEAVERS):
        fail(f"member 1 saw leaves {left}")
    if any(x["type"] == "member_left" for x in early.msgs):
        fail("member_left in a large party")

    print(f"ok {n} members, {per_event} member_joined then "
          f"{len(presence_of(early))} presence ({more} joins counted, not listed), "
          f"{pages} pages")
    for m in members:
        await m.ws.close()


if __name__ == "__main__":
    asyncio.run(asyncio.wait_for(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])), 120))
