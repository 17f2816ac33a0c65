"""tests/helpers/auth_check.py - connection tokens, driven by independent
clients: Debian's python3-websockets connects, PyJWT (python3-jwt) mints
the tokens the server did not, so neither side can share a mistake with
the server's own token code.

    python3 auth_check.py URL KEYSPEC SCENARIO

KEYSPEC is hs256:SECRET_FILE, or rs256:PRIVATE_PEM / es256:PRIVATE_PEM
(the server holds the matching public key). Each scenario asserts on what
arrives and exits 0, or prints what was expected and what was seen and
exits 1.
"""
import asyncio
import http.client
import json
import sys
import time
import urllib.parse

import jwt
import websockets

from wscheck import check, expect_none, fail, recv, recv_type

URL = sys.argv[1]
KIND, KEYFILE = sys.argv[2].split(":", 1)


def key_bytes():
    data = open(KEYFILE, "rb").read()
    if KIND == "hs256" and data.endswith(b"\n"):
        data = data[:-1]
    return data


def mint(sub="ann", ttl=3600, alg=None, key=None, **claims):
    now = int(time.time())
    body = {"sub": sub, "iat": now, "exp": now + ttl}
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode(body, key if key is not None else key_bytes(),
                      algorithm=alg or KIND.upper())


def status(path, bearer=None, subproto=None, query=None, scheme="Bearer"):
    """The handshake's HTTP status (101 when accepted) and headers."""
    u = urllib.parse.urlparse(URL)
    if query is not None:
        path += ("&" if "?" in path else "?") + "token=" + urllib.parse.quote(query)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    headers = {"Upgrade": "websocket", "Connection": "Upgrade",
               "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
               "Sec-WebSocket-Version": "13"}
    protos = ["revenge.v1"] + ([f"bearer.{subproto}"] if subproto else [])
    headers["Sec-WebSocket-Protocol"] = ", ".join(protos)
    if bearer is not None:
        headers["Authorization"] = f"{scheme} {bearer}"
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    st, hdrs = r.status, {k.lower(): v for k, v in r.getheaders()}
    body = r.read(300).decode(errors="replace") if st != 101 else ""
    c.close()
    return st, hdrs, body


async def connect(path, token, **kw):
    return await websockets.connect(f"{URL}{path}", subprotocols=["revenge.v1"],
                                    extra_headers={"Authorization": f"Bearer {token}"}, **kw)


# ---- scenarios

async def refusals():
    good = mint(parties=["movie"], sessions=["s1"])
    for how in ("bearer", "query"):
        st, _, body = status("/ws/party/movie", **{how: good})
        check(st == 101, f"a good token by {how}: {st} {body}")
    st, h, body = status("/ws/party/movie")
    check(st == 401, f"no token: {st}")
    check(h.get("www-authenticate", "").startswith("Bearer"), f"401 names Bearer: {h}")
    check("token is required" in body, f"says what is missing: {body!r}")
    st, _, _ = status("/ws/party/movie", bearer=good, query="x.y.z")
    check(st == 101, f"the header wins over the query: {st}")
    st, _, body = status("/ws/party/movie", bearer="not.a.token")
    check(st == 401, f"garbage: {st} {body}")
    st, _, body = status("/ws/party/movie", bearer=good, scheme="Basic")
    check(st == 401 and "Bearer" in body, f"Basic scheme: {st} {body}")
    st, _, body = status("/ws/party/movie", bearer=good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"))
    check(st == 401, f"bad signature: {st} {body}")
    if KIND == "hs256":
        st, _, body = status("/ws/party/movie",
                             bearer=mint(parties=["movie"], key=b"another secret of 32 bytes......"))
        check(st == 401, f"another secret: {st} {body}")
    st, _, body = status("/ws/party/movie", bearer=mint(parties=["movie"], ttl=-120))
    check(st == 401 and "expired" in body, f"expired: {st} {body}")
    st, _, body = status("/ws/party/movie",
                         bearer=mint(parties=["movie"], nbf=int(time.time()) + 600))
    check(st == 401, f"not yet valid: {st} {body}")
    st, _, body = status("/ws/party/other", bearer=good)
    check(st == 403 and "party other" in body, f"another party: {st} {body}")
    st, _, body = status("/ws/progress/s2", bearer=good)
    check(st == 403, f"another session: {st} {body}")
    st, _, _ = status("/ws/progress/s1", bearer=good)
    check(st == 101, f"its session: {st}")
    st, _, _ = status("/ws/stream/s1", bearer=good)
    check(st == 101, f"its session on /ws/stream: {st}")
    st, _, _ = status("/ws/party/team-7", bearer=mint(parties=["team-*"]))
    check(st == 101, f"a prefix scope: {st}")
    st, _, _ = status("/ws/party/movie", bearer=mint(sessions=["*"]))
    check(st == 403, f"a token without parties opens none: {st}")
    st, _, body = status("/ws/party/movie", bearer=mint(parties=["movie"], role="king"))
    check(st == 401 and "role" in body, f"a bad role claim: {st} {body}")
    st, _, body = status("/ws/party/movie", bearer=mint(parties="movie"))
    check(st == 401 and "parties" in body, f"parties not a list: {st} {body}")
    none = jwt.encode({"sub": "ann", "parties": ["movie"], "exp": int(time.time()) + 60},
                      None, algorithm="none")
    st, _, body = status("/ws/party/movie", bearer=none)
    check(st == 401, f"alg none: {st} {body}")


async def roles():
    m1 = await connect("/ws/party/room?name=ignored", mint("m1", parties=["room"], name="Mia"))
    w = await recv(m1)
    check(w["type"] == "welcome", f"welcome first: {w}")
    p = w["payload"]
    check(p["host_id"] is None, f"a member-only first joiner is not host: {p}")
    check(p["role"] == "member", f"its role: {p}")
    check(p["members"][0]["name"] == "Mia", f"the name claim wins over ?name=: {p}")
    await m1.send(json.dumps({"type": "sync", "id": "s",
                              "payload": {"position": 3, "playing": True, "speed": 1}}))
    e = await recv_type(m1, "error")
    check(e["payload"]["code"] == "forbidden", f"a member cannot sync: {e}")
    h = await connect("/ws/party/room", mint("h1", parties=["room"], role="host"))
    w = await recv(h)
    check(w["payload"]["role"] == "host", f"a host token takes the empty seat: {w}")
    hc = await recv_type(m1, "host_changed")
    check(hc["payload"]["host_id"] == w["payload"]["participant_id"], f"host_changed: {hc}")
    m2 = await connect("/ws/party/room", mint("m2", parties=["room"]))
    w2 = await recv(m2)
    check(w2["payload"]["role"] == "member", f"a later member: {w2}")
    await h.close()
    hc = await recv_type(m1, "host_changed")
    check(hc["payload"]["host_id"] is None, f"no host-capable member left: {hc}")
    await m1.close()
    await m2.close()


async def sessions():
    rep = {"type": "progress", "id": "r1",
           "payload": {"media_id": "film", "position": 42.5, "playing": False}}
    a = await connect("/ws/progress/shared?interval_ms=100", mint("alice", sessions=["shared"]))
    await a.send(json.dumps(rep))
    ack = await recv_type(a, "ack")
    check(ack["id"] == "r1", f"ack: {ack}")
    b = await connect("/ws/progress/shared?interval_ms=100", mint("bob", sessions=["shared"]))
    await expect_none(b, 0.5)
    rep["payload"]["position"] = 7
    await b.send(json.dumps(rep))
    await recv_type(b, "ack")
    pa = await recv_type(a, "progress")
    check(pa["payload"]["position"] >= 42.5, f"alice's session is hers: {pa}")
    await a.close()
    await b.close()
    a2 = await connect("/ws/progress/shared", mint("alice", sessions=["shared"]))
    p = await recv_type(a2, "progress")
    check(p["payload"]["position"] == 42.5, f"alice resumes her own position: {p}")
    await a2.close()
    qa = await connect("/ws/stream/q", mint("alice", sessions=["q"]))
    await recv_type(qa, "quality_state")
    await qa.send(json.dumps({"type": "quality_request", "payload": {"profile": "360p"}}))
    await recv_type(qa, "quality_changed")
    qb = await connect("/ws/stream/q", mint("bob", sessions=["q"]))
    s = await recv_type(qb, "quality_state")
    check(s["payload"]["profile"] != "360p", f"bob's stream session is his own: {s}")
    await qa.close()
    await qb.close()


async def refresh():
    ws = await connect("/ws/party/r", mint("ann", parties=["r"], ttl=2))
    await recv(ws)
    await ws.send(json.dumps({"type": "refresh", "id": "x1",
                              "payload": {"token": mint("bob", parties=["r"])}}))
    e = await recv_type(ws, "error")
    check(e["payload"]["code"] == "unauthorized" and e["id"] == "x1", f"another subject: {e}")
    await ws.send(json.dumps({"type": "refresh", "id": "x2",
                              "payload": {"token": mint("ann", parties=["elsewhere"])}}))
    e = await recv_type(ws, "error")
    check(e["payload"]["code"] == "unauthorized", f"a token that does not open the party: {e}")
    await ws.send(json.dumps({"type": "refresh", "id": "x3",
                              "payload": {"token": "garbage"}}))
    e = await recv_type(ws, "error")
    check(e["payload"]["code"] == "unauthorized", f"garbage: {e}")
    await ws.send(json.dumps({"type": "refresh", "id": "x4",
                              "payload": {"token": mint("ann", parties=["r*"], ttl=3600)}}))
    a = await recv_type(ws, "ack")
    check(a["id"] == "x4", f"a good refresh is acked: {a}")
    # past the first token's expiry: still open
    await asyncio.sleep(2.6)
    await ws.send(json.dumps({"type": "time", "id": "t", "payload": {"client_time": 1}}))
    t = await recv_type(ws, "time")
    check(t["id"] == "t", f"refreshed connection lives on: {t}")
    await ws.close()


async def expiry():
    # exp is whole seconds: mint just after one starts, so the token lives
    # ~1.99 s whatever the fraction of now (ttl=1 at x.95 left 50 ms, and a
    # loaded machine's handshake came after it: 401)
    await asyncio.sleep(1.01 - time.time() % 1)
    ws = await connect("/ws/party/e", mint("ann", parties=["e"], ttl=2))
    await recv(ws)
    t0 = time.monotonic()
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    except websockets.ConnectionClosed as e:
        code = e.rcvd.code if e.rcvd else None
        check(code == 4401, f"closed with 4401, got {code}")
    except asyncio.TimeoutError:
        fail("an expired token's connection stayed open")
    took = time.monotonic() - t0
    check(took < 3, f"closed {took:.1f}s after joining")


async def confusion():
    """An HS256 token whose HMAC secret is the server's public key."""
    pub = open(KEYFILE.replace("private", "public"), "rb").read()
    import hmac
    import hashlib
    import base64

    def b64(b):
        return base64.urlsafe_b64encode(b).rstrip(b"=")
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps({"sub": "eve", "parties": ["movie"],
                           "exp": int(time.time()) + 600}).encode())
    sig = b64(hmac.new(pub, head + b"." + body, hashlib.sha256).digest())
    st, _, body_text = status("/ws/party/movie", bearer=(head + b"." + body + b"." + sig).decode())
    check(st == 401, f"alg confusion refused: {st} {body_text}")
    st, _, _ = status("/ws/party/movie", bearer=mint(parties=["movie"]))
    check(st == 101, f"a {KIND} token from PyJWT: {st}")


SCENARIOS = {f.__name__: f for f in (refusals, roles, sessions, refresh, expiry, confusion)}

if __name__ == "__main__":
    asyncio.run(SCENARIOS[sys.argv[3]]())
