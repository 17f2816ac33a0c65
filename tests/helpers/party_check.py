"""tests/helpers/party_check.py - watch-party scenarios driven by an
independent client (Debian's python3-websockets), so that the server and the
project's own client cannot agree on a shared mistake.

    python3 party_check.py URL SCENARIO

Each scenario asserts on what arrives and exits 0, or prints what was
expected and what was seen and exits 1.
"""
import asyncio
import json
import os
import ssl
import sys
import time

import websockets

from wscheck import check, expect_none, fail, recv, recv_type, send

URL = sys.argv[1]
TIMEOUT = 3.0


def tls_context():
    """For wss:// URLs: trust the CA file in $REVENGE_CA."""
    if not URL.startswith("wss://"):
        return None
    return ssl.create_default_context(cafile=os.environ.get("REVENGE_CA"))


async def join(party, name=None, subprotocol=True, **kw):
    url = f"{URL}/ws/party/{party}" + (f"?name={name}" if name else "")
    if tls_context():
        kw.setdefault("ssl", tls_context())
    ws = await websockets.connect(url, subprotocols=["revenge.v1"] if subprotocol else None,
                                  **kw)
    welcome = await recv(ws)
    check(welcome["type"] == "welcome", f"first message is {welcome['type']}, expected welcome")
    return ws, welcome


def is_server_time(v):
    now = time.time() * 1000
    return isinstance(v, float) and abs(v - now) < 60000


# ---- scenarios ---------------------------------------------------------

async def s_welcome():
    a, wa = await join("pw", "ann")
    p = wa["payload"]
    check(wa["payload"]["role"] == "host", f"first joiner role {p['role']}, expected host")
    check(p["host_id"] == p["participant_id"], "host_id is not the first joiner")
    check(p["party_id"] == "pw", f"party_id {p['party_id']}")
    check(p["members"] == [{"id": p["participant_id"], "name": "ann", "role": "host"}],
          f"members {p['members']}")
    st = p["state"]
    check(st["position"] == 0 and st["playing"] is False and st["speed"] == 1,
          f"initial state {st}")
    check(is_server_time(st["server_time"]), f"server_time {st['server_time']}")
    check(p["history"] == [], "history not empty")
    check(is_server_time(wa["ts"]), "welcome has no server ts")
    check(a.subprotocol == "revenge.v1", f"subprotocol {a.subprotocol}")
    b, wb = await join("pw", "bob")
    pb = wb["payload"]
    check(pb["role"] == "member", "second joiner is not a member")
    check([m["name"] for m in pb["members"]] == ["ann", "bob"], f"members {pb['members']}")
    j = await recv(a)
    check(j["type"] == "member_joined" and j["payload"]["name"] == "bob"
          and j["payload"]["id"] == pb["participant_id"], f"member_joined {j}")
    await expect_none(b)
    await b.close()
    left = await recv(a)
    check(left["type"] == "member_left" and left["payload"]["id"] == pb["participant_id"],
          f"member_left {left}")
    await a.close()


async def s_no_subprotocol():
    a, wa = await join("pns", "ann", subprotocol=False)
    check(a.subprotocol is None, f"subprotocol {a.subprotocol}, expected none")
    await a.close()


async def s_sync():
    a, wa = await join("ps", "host")
    b, _ = await join("ps", "m1")
    c, _ = await join("ps", "m2")
    await recv_type(a, "member_joined")
    await send(a, "sync", {"position": 12.5, "playing": True, "speed": 1.25})
    for ws in (b, c):
        m = await recv_type(ws, "sync")
        p = m["payload"]
        check((p["position"], p["playing"], p["speed"]) == (12.5, True, 1.25),
              f"member got {p}, expected 12.5/true/1.25")
        check(m["from"] == wa["payload"]["participant_id"], f"from {m.get('from')}")
        check(is_server_time(m["ts"]) and is_server_time(p["server_time"]), "times")
        check("id" not in m, "relayed sync carries an id")
    await expect_none(a, allow=("member_joined",))
    # with an id: the host gets the stamped state back
    await send(a, "sync", {"position": 30, "playing": False, "speed": 1}, id="s-2")
    r = await recv_type(a, "sync")
    check(r.get("id") == "s-2" and r["payload"]["position"] == 30
          and r["payload"]["playing"] is False, f"reply {r}")
    m = await recv_type(b, "sync")
    check("id" not in m, "member saw the host's id")
    # a late joiner gets the state in welcome
    d, wd = await join("ps", "late")
    st = wd["payload"]["state"]
    check(st["position"] == 30 and st["playing"] is False, f"late joiner state {st}")
    for ws in (a, b, c, d):
        await ws.close()


async def s_sync_at():
    a, wa = await join("pat", "host")
    b, _ = await join("pat", "m")
    if wa["payload"].get("lead_ms", 0) > 0:
        # Scheduled (--lead-max > 0): every sync takes effect lead ms after
        # it is stamped, whatever its `at`; a seek lands where the host said.
        now = time.time() * 1000
        await send(a, "sync", {"position": 5, "playing": True, "speed": 1, "at": now - 1000})
        m = await recv_type(b, "sync")
        lead = m["payload"]["server_time"] - m["ts"]
        check(m["payload"]["position"] == 5 and 0 < lead <= 1000, f"seek not scheduled: {m}")
        await send(a, "sync", {"position": 5, "playing": True, "speed": 1, "at": now - 60000})
        m = await recv_type(b, "sync")
        lead = m["payload"]["server_time"] - m["ts"]
        check(m["payload"]["position"] >= 5 and 0 < lead <= 1000, f"not scheduled: {m}")
        await a.close()
        await b.close()
        return
    now = time.time() * 1000
    await send(a, "sync", {"position": 5, "playing": True, "speed": 1, "at": now - 1000})
    m = await recv_type(b, "sync")
    check(abs(m["payload"]["server_time"] - (now - 1000)) < 1, f"at within 5 s not honoured: {m}")
    await send(a, "sync", {"position": 5, "playing": True, "speed": 1, "at": now - 60000})
    m = await recv_type(b, "sync")
    check(abs(m["payload"]["server_time"] - m["ts"]) < 1, f"at 60 s off was used: {m}")
    await a.close()
    await b.close()


async def s_sync_forbidden():
    a, _ = await join("pf", "host")
    b, _ = await join("pf", "m")
    await send(b, "sync", {"position": 1, "playing": True, "speed": 1}, id="x1")
    e = await recv_type(b, "error")
    check(e["payload"]["code"] == "forbidden" and e["payload"]["ref"] == "sync"
          and e.get("id") == "x1", f"error {e}")
    await expect_none(a, allow=("member_joined",))
    await a.close()
    await b.close()


async def s_sync_invalid():
    a, _ = await join("pi", "host")
    for payload, what in [({"position": -1, "playing": True, "speed": 1}, "negative position"),
                          ({"position": 1, "playing": True, "speed": 5}, "speed 5"),
                          ({"position": 1, "playing": "yes", "speed": 1}, "string playing"),
                          ({"playing": True, "speed": 1}, "missing position"),
                          ({"position": "NaN", "playing": True, "speed": 1}, "NaN string")]:
        await send(a, "sync", payload, id="bad")
        e = await recv_type(a, "error")
        check(e["payload"]["code"] == "bad_payload" and e.get("id") == "bad",
              f"{what}: got {e}")
    await a.close()


async def s_chat_history():
    a, _ = await join("pc", "ann")
    b, _ = await join("pc", "bob")
    await recv_type(a, "member_joined")
    await send(b, "chat", {"text": "hello \"there\" 🎉"}, id="c1")
    mine = await recv_type(b, "chat")
    check(mine.get("id") == "c1", f"sender copy without id: {mine}")
    theirs = await recv_type(a, "chat")
    check("id" not in theirs, "other recipient saw the id")
    check(theirs["payload"] == {"text": "hello \"there\" 🎉", "name": "bob"},
          f"payload {theirs['payload']}")
    check(theirs["from"] == mine["from"], "from differs")
    for i in range(3):
        await send(a, "chat", {"text": f"m{i}"})
        await recv_type(a, "chat")
    c, wc = await join("pc", "cat")
    hist = wc["payload"]["history"]
    check([h["payload"]["text"] for h in hist] == ["hello \"there\" 🎉", "m0", "m1", "m2"],
          f"history {hist}")
    check(hist[0] == theirs, f"history entry differs from the relayed chat: {hist[0]}")
    await send(a, "chat", {"text": ""})
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "bad_payload", f"empty chat: {e}")
    await send(a, "chat", {"text": "x" * 2001})
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "too_large", f"2001-byte chat: {e}")
    await send(a, "chat", {"text": "x" * 2000})
    m = await recv_type(a, "chat")
    check(len(m["payload"]["text"]) == 2000, "2000-byte chat refused")
    for ws in (a, b, c):
        await ws.close()


async def s_history_limit():
    # the server under test runs with --history 3
    a, _ = await join("ph", "ann")
    for i in range(5):
        await send(a, "chat", {"text": f"m{i}"})
        await recv_type(a, "chat")
    b, wb = await join("ph", "bob")
    texts = [h["payload"]["text"] for h in wb["payload"]["history"]]
    check(texts == ["m2", "m3", "m4"], f"history {texts}, expected the last 3")
    await a.close()
    await b.close()


async def s_reaction():
    a, _ = await join("pr", "ann")
    b, _ = await join("pr", "bob")
    await send(b, "reaction", {"emoji": "🎉"}, id="r1")
    mine = await recv_type(b, "reaction")
    theirs = await recv_type(a, "reaction")
    check(mine.get("id") == "r1" and "id" not in theirs, "id echo on reaction")
    check(theirs["payload"]["emoji"] == "🎉", f"reaction {theirs}")
    await send(b, "reaction", {"emoji": "x" * 17})
    e = await recv_type(b, "error")
    check(e["payload"]["code"] == "too_large", f"17-byte reaction: {e}")
    await a.close()
    await b.close()


async def s_time():
    a, _ = await join("pt", "ann")
    t0 = time.time() * 1000
    await send(a, "time", {"client_time": t0}, id="t1")
    r = await recv_type(a, "time")
    t3 = time.time() * 1000
    p = r["payload"]
    check(r.get("id") == "t1", "time reply without id")
    check(p["client_time"] == t0, f"client_time {p['client_time']} != {t0}")
    check(p["server_receive_time"] <= p["server_time"], "receive after send")
    check(isinstance(p["server_time"], float), "server_time not fractional")
    offset = ((p["server_receive_time"] - t0) + (p["server_time"] - t3)) / 2
    check(abs(offset) < 50, f"clock offset {offset} ms on one machine")
    await a.close()


async def s_transfer_host():
    a, wa = await join("pth", "ann")
    b, wb = await join("pth", "bob")
    c, wc = await join("pth", "cat")
    bid = wb["payload"]["participant_id"]
    await send(b, "transfer_host", {"to": bid}, id="n")
    e = await recv_type(b, "error")
    check(e["payload"]["code"] == "forbidden", f"member transfer: {e}")
    await send(a, "transfer_host", {"to": "nobody"}, id="n2")
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "not_found" and e.get("id") == "n2", f"unknown member: {e}")
    await send(a, "transfer_host", {"to": bid}, id="t")
    for ws in (a, b, c):
        h = await recv_type(ws, "host_changed")
        check(h["payload"]["host_id"] == bid, f"host_changed {h}")
    ack = await recv_type(a, "ack")
    check(ack.get("id") == "t", f"ack {ack}")
    await send(a, "sync", {"position": 1, "playing": True, "speed": 1})
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "forbidden", "old host can still sync")
    await send(b, "sync", {"position": 2, "playing": True, "speed": 1})
    m = await recv_type(c, "sync")
    check(m["from"] == bid, "new host's sync not relayed")
    for ws in (a, b, c):
        await ws.close()


async def s_host_leaves():
    a, _ = await join("phl", "ann")
    b, wb = await join("phl", "bob")
    c, _ = await join("phl", "cat")
    await a.close()
    for ws in (b, c):
        left = await recv_type(ws, "member_left")
        h = await recv_type(ws, "host_changed")
        check(h["payload"]["host_id"] == wb["payload"]["participant_id"],
              f"host went to {h['payload']['host_id']}, expected the longest present (bob)")
    d, wd = await join("phl", "dan")
    roles = {m["name"]: m["role"] for m in wd["payload"]["members"]}
    check(roles == {"bob": "host", "cat": "member", "dan": "member"}, f"roles {roles}")
    for ws in (b, c, d):
        await ws.close()


async def s_errors():
    a, _ = await join("pe", "ann")
    await a.send("{not json")
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "bad_json", f"bad json: {e}")
    await send(a, "dance", {}, id="d1")
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "unknown_type" and e["payload"]["ref"] == "dance"
          and e.get("id") == "d1", f"unknown type: {e}")
    await send(a, "welcome", {})
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "unknown_type", f"server-only type: {e}")
    await send(a, "progress", {"media_id": "m", "position": 1, "playing": True})
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "unknown_type", f"progress on a party: {e}")
    await a.send('{"type":"chat","payload":[1]}')
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "bad_payload", f"array payload: {e}")
    await a.send('{"type":"chat","payload":{"text":"a"},"payload":{"text":"b"}}')
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "bad_json", f"duplicate keys: {e}")
    await a.send("[" * 40 + "]" * 40)
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "bad_json", f"deep nesting: {e}")
    await a.send('{"type":"chat","payload":{"text":"ok"},"id":"' + "i" * 129 + '"}')
    e = await recv_type(a, "error")
    check(e["payload"]["code"] == "bad_payload" and "id" not in e, f"long id: {e}")
    # the connection survived all of it
    await send(a, "chat", {"text": "still here"}, id="ok")
    m = await recv_type(a, "chat")
    check(m["payload"]["text"] == "still here", "connection unusable after errors")
    await a.close()


async def s_ack_once():
    a, _ = await join("pak", "ann")
    b, wb = await join("pak", "bob")
    await send(a, "transfer_host", {"to": wb["payload"]["participant_id"]}, id="t1")
    acks = 0
    try:
        while True:
            m = await recv(a, 0.4)
            if m["type"] == "ack":
                acks += 1
    except SystemExit:
        pass
    check(acks == 1, f"{acks} acks for one request")
    await a.close()
    await b.close()


async def s_rate_limited():
    # the server under test runs with --rate-limit 5 (bursts of 10)
    a, _ = await join("prl", "ann")
    for i in range(30):
        await send(a, "chat", {"text": f"{i}"})
    codes = []
    chats = 0
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and chats + len(codes) < 30:
        m = await recv(a)
        if m["type"] == "error":
            codes.append(m["payload"]["code"])
        elif m["type"] == "chat":
            chats += 1
    check(codes and set(codes) == {"rate_limited"}, f"errors {codes}")
    check(10 <= chats < 30, f"{chats} chats passed the limit")
    await a.close()


async def s_closes(kind):
    a, _ = await join("pcl", "ann")
    if kind == "binary":
        await a.send(b"\x00\x01")
        want = 1003
    else:
        await a.send("x" * (70 * 1024))
        want = 1009
    try:
        await asyncio.wait_for(a.recv(), TIMEOUT)
        fail("message after a violation")
    except websockets.ConnectionClosed as e:
        check(e.code == want, f"close code {e.code}, expected {want}")


async def s_refused(path, status, **kw):
    try:
        ws = await websockets.connect(URL + path, **kw)
        await ws.close()
        fail(f"{path} was accepted, expected HTTP {status}")
    except websockets.InvalidStatusCode as e:
        check(e.status_code == status, f"{path}: HTTP {e.status_code}, expected {status}")


async def s_handshakes():
    await s_refused("/ws/party/bad.id", 400)
    await s_refused("/ws/party/" + "a" * 65, 400)
    await s_refused("/ws/party/", 400)
    await s_refused("/ws/party/ok?name=", 400)
    await s_refused("/ws/party/ok?name=" + "n" * 33, 400)
    await s_refused("/ws/party/ok?name=%01x", 400)
    await s_refused("/ws/party/ok?name=%FF", 400)
    await s_refused("/ws/nothing/x", 404)
    await s_refused("/ws/party/ok", 400, subprotocols=["chat.v2"])
    await s_refused("/ws/party/ok", 403, origin="https://evil.example")
    ws, w = await join("ok", "%F0%9F%8E%AC%20film", origin="http://localhost:3000")
    check(w["payload"]["members"][0]["name"] == "🎬 film", f"name {w['payload']['members']}")
    await ws.close()
    ws = await websockets.connect(URL + "/ws/party/ok", subprotocols=["x", "revenge.v1"])
    check(ws.subprotocol == "revenge.v1", "revenge.v1 not selected from a list")
    await ws.close()


async def s_hostile_names():
    # A name that reorders the text around it, looks empty or breaks the
    # line is refused at the handshake (rv_proto_valid_name).
    for name in ("%E2%80%AEann",            # U+202E right-to-left override
                 "ann%E2%81%A6x",           # U+2066 left-to-right isolate
                 "%E2%80%8B",               # only U+200B zero width space
                 "%E2%80%8B%E2%80%8D",      # only zero widths
                 "%E3%80%80",               # only U+3000 ideographic space
                 "%C2%A0%20",               # only NBSP and a space
                 "%E3%85%A4",               # only U+3164 Hangul filler
                 "ann%E2%80%A8lee",         # U+2028 line separator
                 "ann%E2%80%A9"):           # U+2029 paragraph separator
        await s_refused("/ws/party/names?name=" + name, 400)
    # Accents, a blank inside, emoji: accepted, and arrive as sent.
    for name, shown in (("Jos%C3%A9%20Mar%C3%ADa", "José María"),
                        ("ann%C2%A0lee", "ann\u00a0lee"),
                        ("%E2%80%8Bann", "\u200bann"),
                        ("%E5%B0%8F%E6%98%8E%F0%9F%8E%AC", "小明🎬")):
        ws, w = await join("names", name)
        me = w["payload"]["participant_id"]
        got = [m["name"] for m in w["payload"]["members"] if m["id"] == me]
        check(got == [shown], f"name {got!r}, expected {shown!r}")
        await ws.close()


async def s_origin_custom():
    # the server under test runs with --origin '*.example.com' --origin 'https://app.test'
    ws, _ = await join("po", "a", origin="https://www.example.com")
    await ws.close()
    ws, _ = await join("po", "a", origin="https://app.test")
    await ws.close()
    await s_refused("/ws/party/po", 403, origin="http://localhost:3000")
    await s_refused("/ws/party/po", 403, origin="https://example.com.evil")


async def s_deflate():
    # websockets offers permessage-deflate by default; big messages compress
    a, _ = await join("pd", "ann")
    check(any("permessage-deflate" in str(e.name) for e in a.extensions),
          f"deflate not negotiated: {a.extensions}")
    text = "lorem ipsum " * 150
    await send(a, "chat", {"text": text})
    m = await recv_type(a, "chat")
    check(m["payload"]["text"] == text, "compressed chat garbled")
    await a.close()


SCENARIOS = {
    "welcome": s_welcome, "no_subprotocol": s_no_subprotocol, "sync": s_sync,
    "sync_at": s_sync_at, "sync_forbidden": s_sync_forbidden,
    "sync_invalid": s_sync_invalid, "chat_history": s_chat_history,
    "history_limit": s_history_limit, "reaction": s_reaction, "time": s_time,
    "transfer_host": s_transfer_host, "host_leaves": s_host_leaves,
    "errors": s_errors, "ack_once": s_ack_once, "rate_limited": s_rate_limited,
    "close_binary": lambda: s_closes("binary"),
    "close_too_large": lambda: s_closes("large"),
    "handshakes": s_handshakes, "origin_custom": s_origin_custom,
    "deflate": s_deflate, "hostile_names": s_hostile_names,
}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[2]]())
