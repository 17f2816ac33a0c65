"""tests/helpers/budget_check.py - a party's chat budget (--party-chat-rate)
and the per-connection rate limit's strikes, driven by independent
python3-websockets clients.

    python3 budget_check.py URL SCENARIO [ARGS...]

Each scenario asserts on what it sees and exits 0, or prints what was
expected and what was seen and exits 1. Counts printed on success are for
the bats file to check against /metrics.
"""
import asyncio
import json
import sys
import time

import websockets

from wscheck import check, fail, recv

URL = sys.argv[1]
SCENARIO = sys.argv[2]
ARGS = sys.argv[3:]


async def join(party, name):
    ws = await websockets.connect(f"{URL}/ws/party/{party}?name={name}",
                                  subprotocols=["revenge.v1"], max_size=None)
    m = await recv(ws)
    check(m["type"] == "welcome", f"{name}: first message {m['type']}")
    return ws


async def replies(ws, ids, timeout=5.0):
    """Read until every id in ids has its direct reply; returns
    {id: message}. Relayed copies (no id) are skipped."""
    got = {}
    deadline = time.monotonic() + timeout
    while len(got) < len(ids):
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"{len(ids) - len(got)} replies missing after {timeout}s")
        m = await recv(ws, left)
        if m.get("id") in ids:
            got[m["id"]] = m
    return got


async def alive(ws, tag):
    """The connection is open and answers: a time request comes back."""
    await ws.send(json.dumps({"type": "time", "id": f"alive-{tag}",
                              "payload": {"client_time": 1}}))
    r = await replies(ws, {f"alive-{tag}"})
    check(r[f"alive-{tag}"]["type"] == "time", f"{tag}: {r}")


async def s_budget(rate, members, each, kind):
    """members members of one party each send `each` messages of kind as
    fast as they can; about burst (2 * rate) + rate * elapsed are relayed,
    the rest answered rate_limited to their sender only; nobody is closed;
    a member of another party meanwhile loses nothing."""
    rate, members, each = int(rate), int(members), int(each)
    ws = [await join("busy", f"m{i}") for i in range(members)]
    other = await join("quiet", "bystander")
    other_peer = await join("quiet", "peer")
    body = {"chat": {"text": "hi"}, "reaction": {"emoji": "+1"}}[kind]
    t0 = time.monotonic()
    for n in range(each):
        for i, w in enumerate(ws):
            await w.send(json.dumps({"type": kind, "id": f"{i}-{n}", "payload": body}))
    for n in range(5):
        await other.send(json.dumps({"type": "chat", "id": f"q{n}",
                                     "payload": {"text": f"q{n}"}}))
    passed = limited = 0
    for i, w in enumerate(ws):
        got = await replies(w, {f"{i}-{n}" for n in range(each)})
        for m in got.values():
            if m["type"] == kind:
                passed += 1
            elif m["type"] == "error":
                p = m["payload"]
                check(p["code"] == "rate_limited" and p["ref"] == kind, f"error {m}")
                check("party" in p["message"], f"message {p['message']!r}")
                limited += 1
            else:
                fail(f"unexpected reply {m}")
    elapsed = time.monotonic() - t0
    burst = 2 * rate
    check(passed + limited == members * each, f"{passed} + {limited}")
    check(burst <= passed <= burst + rate * elapsed + 1,
          f"{passed} relayed in {elapsed:.2f}s, budget {rate}/s, burst {burst}")
    check(limited > 0, "nothing was refused")
    for i, w in enumerate(ws):
        await alive(w, f"m{i}")
    q = await replies(other, {f"q{n}" for n in range(5)})
    check(all(m["type"] == "chat" for m in q.values()), f"other party: {q}")
    # its peer got the five too, and nothing of the busy party
    seen = 0
    while seen < 5:
        m = await recv(other_peer)
        leak = m["type"] == "reaction" or m["type"] == "chat" and \
            not m["payload"]["text"].startswith("q")
        check(not leak, f"leak from the busy party: {m}")
        if m["type"] == "chat":
            seen += 1
    for w in ws + [other, other_peer]:
        await w.close()
    print(f"passed {passed} limited {limited}")


async def s_unlimited(members, each):
    """--party-chat-rate 0: everything is relayed to everyone."""
    members, each = int(members), int(each)
    ws = [await join("free", f"m{i}") for i in range(members)]
    for n in range(each):
        for i, w in enumerate(ws):
            await w.send(json.dumps({"type": "chat", "id": f"{i}-{n}",
                                     "payload": {"text": "x"}}))
    for i, w in enumerate(ws):
        got = await replies(w, {f"{i}-{n}" for n in range(each)})
        bad = [m for m in got.values() if m["type"] != "chat"]
        check(not bad, f"refused with no budget: {bad[:3]}")
    for w in ws:
        await w.close()


async def s_not_a_strike(count):
    """More party refusals than the 1008 strike limit: still open."""
    count = int(count)
    w = await join("tiny", "talker")
    for n in range(count):
        await w.send(json.dumps({"type": "chat", "id": f"c{n}", "payload": {"text": "x"}}))
    got = await replies(w, {f"c{n}" for n in range(count)})
    limited = sum(1 for m in got.values() if m["type"] == "error")
    check(limited >= 50, f"only {limited} refused: not enough to test")
    check(all(m["type"] != "error" or m["payload"]["code"] == "rate_limited"
              for m in got.values()), "other error")
    await alive(w, "talker")
    await w.close()
    print(f"limited {limited}")


async def burst_limited(w, tag, n):
    """Send n time requests at once; the number answered rate_limited."""
    for k in range(n):
        await w.send(json.dumps({"type": "time", "id": f"{tag}{k}",
                                 "payload": {"client_time": 1}}))
    got = await replies(w, {f"{tag}{k}" for k in range(n)})
    return sum(1 for m in got.values() if m["type"] == "error"
               and m["payload"]["code"] == "rate_limited")


async def s_strikes_decay():
    """--rate-limit 1 (bursts of 2): 30-odd strikes, a quiet second, 30-odd
    more: over 50 in all but never 50 without a quiet second, so open."""
    w = await join("strikes", "bursty")
    first = await burst_limited(w, "a", 34)
    check(30 <= first < 50, f"{first} strikes in the first burst")
    await asyncio.sleep(1.3)
    second = await burst_limited(w, "b", 34)
    check(first + second >= 50 and second < 50, f"{first} + {second} strikes")
    await asyncio.sleep(1.3)
    await alive(w, "bursty")
    await w.close()
    print(f"strikes {first} + {second}")


async def s_strikes_close():
    """--rate-limit 1 (bursts of 2): 52 messages at once are 2 applied and
    50 strikes in a row: 1008. No more are sent, so that the server closes
    a socket with nothing unread (which would be a reset, 1006 here)."""
    w = await join("abuse", "flood")
    limited = 0
    try:
        for k in range(52):
            await w.send(json.dumps({"type": "time", "id": f"t{k}",
                                     "payload": {"client_time": 1}}))
        while True:
            m = await recv(w, 5)
            if m["type"] == "error":
                limited += 1
    except websockets.ConnectionClosed:
        pass
    # the close may come while we still send: its code is kept either way
    await asyncio.wait_for(w.wait_closed(), 5)
    check(w.close_code == 1008, f"closed {w.close_code}, expected 1008")
    check(limited <= 50, f"{limited} errors before the close")


SCENARIOS = {
    "budget": lambda: s_budget(*ARGS),
    "unlimited": lambda: s_unlimited(*ARGS),
    "not_a_strike": lambda: s_not_a_strike(*ARGS),
    "strikes_decay": s_strikes_decay,
    "strikes_close": s_strikes_close,
}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[SCENARIO]())
