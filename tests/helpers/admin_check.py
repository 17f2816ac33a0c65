"""tests/helpers/admin_check.py - the admin API (docs/admin.md) seen by
independent clients: python3-websockets members in a party, http.client
asking the --metrics-listen address, PyJWT minting the members' tokens.

    python3 admin_check.py WS_URL ADMIN_URL SECRET_FILE SCENARIO

The admin token (minted by `revenge-server token --admin`, the command
under test) comes in $ADMIN_TOKEN. Each scenario exits 0, or prints what
was expected and what was seen and exits 1.
"""
import asyncio
import http.client
import json
import os
import sys
import time
import urllib.parse

import jwt
import websockets

from wscheck import check, fail, recv_type

WS, ADMIN, SECRET, SCENARIO = sys.argv[1:5]
ADMIN_TOKEN = os.environ["ADMIN_TOKEN"]


def mint(sub, name, role="member"):
    data = open(SECRET, "rb").read()
    if data.endswith(b"\n"):
        data = data[:-1]
    now = int(time.time())
    return jwt.encode({"sub": sub, "name": name, "role": role, "parties": ["*"],
                       "iat": now, "exp": now + 600}, data, algorithm="HS256")


def api(method, path, token=ADMIN_TOKEN, admin=None):
    u = urllib.parse.urlparse(admin or ADMIN)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    headers = {"Authorization": "Bearer " + token} if token else {}
    c.request(method, path, headers=headers)
    r = c.getresponse()
    body = r.read().decode()
    c.close()
    return r.status, json.loads(body) if body.startswith("{") else body


async def join(party, sub, name, role="member", ws_url=None):
    ws = await websockets.connect(f"{ws_url or WS}/ws/party/{party}", subprotocols=["revenge.v1"],
                                  extra_headers={"Authorization": "Bearer " + mint(sub, name, role)})
    await recv_type(ws, "welcome")
    return ws


async def closed_with(ws, code, reason):
    """ws ends with the close code and reason the server chose."""
    try:
        while True:
            await asyncio.wait_for(ws.recv(), 3)
    except websockets.ConnectionClosed:
        pass
    except asyncio.TimeoutError:
        fail(f"still open; expected close {code}")
    check(ws.close_code == code and ws.close_reason == reason,
          f"closed {ws.close_code} {ws.close_reason!r}, expected {code} {reason!r}")


async def until(what, cond, seconds=5.0):
    deadline = time.monotonic() + seconds
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def inspect():
    ann = await join("movie", "ann", "Ann", "host")
    bob = await join("movie", "bob", "Bob")
    await ann.send(json.dumps({"type": "sync", "id": "s1",
                               "payload": {"position": 42, "playing": True, "speed": 1}}))
    await recv_type(ann, "sync")
    st, body = api("GET", "/admin/parties")
    check(st == 200, f"list: {st} {body}")
    parties = body["parties"]
    check(len(parties) == 1 and parties[0]["id"] == "movie", f"list: {body}")
    p = parties[0]
    check(p["members"] == 2 and p["local_members"] == 2, f"members: {p}")
    check(p["host"]["name"] == "Ann", f"host: {p}")
    check(p["state"]["playing"] is True and p["state"]["position"] == 42
          and p["state"]["speed"] == 1, f"state: {p}")
    st, body = api("GET", "/admin/parties/movie")
    check(st == 200, f"show: {st} {body}")
    members = {m["name"]: m for m in body["member_list"]}
    check(set(members) == {"Ann", "Bob"}, f"show: {body}")
    check(members["Ann"]["role"] == "host" and members["Bob"]["role"] == "member",
          f"roles: {body}")
    check(all(m["address"] == "127.0.0.1" and m["remote"] is False for m in members.values()),
          f"addresses: {body}")
    check(body["host"]["id"] == members["Ann"]["id"], f"host id: {body}")
    st, body = api("GET", "/admin/parties/nosuch")
    check(st == 404 and body["error"] == "not_found", f"unknown party: {st} {body}")
    await ann.close()
    await bob.close()


async def remove():
    ann = await join("movie", "ann", "Ann", "host")
    bob = await join("movie", "bob", "Bob")
    cy = await join("movie", "cy", "Cy")
    st, body = api("POST", "/admin/parties/movie/members/Bob/remove")
    check(st == 200 and body["code"] == 4403, f"remove Bob: {st} {body}")
    bob_id = body["member"]
    await closed_with(bob, 4403, "removed by the operator")
    left = await recv_type(ann, "member_left")
    check(left["payload"]["id"] == bob_id and left["payload"]["name"] == "Bob",
          f"member_left: {left}")
    # by member id, and the others' view of it
    st, body = api("GET", "/admin/parties/movie")
    cy_id = [m["id"] for m in body["member_list"] if m["name"] == "Cy"][0]
    st, body = api("POST", f"/admin/parties/movie/members/{cy_id}/remove")
    check(st == 200 and body["member"] == cy_id, f"remove by id: {st} {body}")
    await closed_with(cy, 4403, "removed by the operator")
    await until("Ann alone", lambda: [m["name"] for m in
                                      api("GET", "/admin/parties/movie")[1]["member_list"]]
                == ["Ann"])
    st, body = api("POST", "/admin/parties/movie/members/Zed/remove")
    check(st == 404 and body["error"] == "not_found", f"unknown member: {st} {body}")
    st, body = api("POST", "/admin/parties/other/members/Ann/remove")
    check(st == 404, f"unknown party: {st} {body}")
    # two members with one name: ambiguous, say so rather than pick one
    d1 = await join("movie", "d1", "Dup")
    d2 = await join("movie", "d2", "Dup")
    st, body = api("POST", "/admin/parties/movie/members/Dup/remove")
    check(st == 409 and body["error"] == "ambiguous", f"ambiguous: {st} {body}")
    # a UTF-8 name, percent-encoded in the path
    eve = await join("movie", "eve", "Ève ✓")
    st, body = api("POST", "/admin/parties/movie/members/"
                   + urllib.parse.quote("Ève ✓", safe="") + "/remove")
    check(st == 200, f"UTF-8 name: {st} {body}")
    await closed_with(eve, 4403, "removed by the operator")
    for ws in (ann, d1, d2):
        await ws.close()


async def close():
    ann = await join("movie", "ann", "Ann", "host")
    bob = await join("movie", "bob", "Bob")
    other = await join("other", "cy", "Cy", "host")
    st, body = api("POST", "/admin/parties/movie/close")
    check(st == 200 and body["closed"] == 2 and body["code"] == 4410, f"close: {st} {body}")
    await closed_with(ann, 4410, "party closed by the operator")
    await closed_with(bob, 4410, "party closed by the operator")
    await until("movie gone", lambda: [p["id"] for p in api("GET", "/admin/parties")[1]["parties"]]
                == ["other"])
    # the other party is untouched
    await other.send(json.dumps({"type": "chat", "payload": {"text": "still here"}}))
    await recv_type(other, "chat")
    st, body = api("POST", "/admin/parties/movie/close")
    check(st == 404, f"close again: {st} {body}")
    await other.close()


def open_fds():
    u = urllib.parse.urlparse(ADMIN)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    for line in text.splitlines():
        if line.startswith("revenge_open_fds "):
            return int(float(line.split()[1]))
    fail("no revenge_open_fds in /metrics")


async def fds():
    before = open_fds()
    check(5 <= before < 1000, f"revenge_open_fds {before} is implausible")
    conns = [await websockets.connect(f"{WS}/ws/party/fds", subprotocols=["revenge.v1"],
                                      extra_headers={"Authorization": "Bearer " +
                                                     mint(f"u{i}", f"u{i}")})
             for i in range(20)]
    for ws in conns:
        await recv_type(ws, "welcome")
    during = open_fds()
    check(during >= before + 20, f"open fds {before} -> {during} with 20 more clients")
    for ws in conns:
        await ws.close()
    await until("fds back down", lambda: open_fds() <= before + 2)
    print(f"revenge_open_fds: {before} idle, {during} with 20 clients")


def admin_cmd(*args):
    """revenge-server admin ARGS: exit status, stdout, stderr."""
    import subprocess
    r = subprocess.run([os.environ["SERVER"], "admin", "--token", ADMIN_TOKEN, ADMIN, *args],
                       capture_output=True, text=True, timeout=20)
    return r.returncode, r.stdout, r.stderr


async def cli():
    ann = await join("cli", "ann", "Ann", "host")
    bob = await join("cli", "bob", "Bob Z")
    rc, out, err = admin_cmd("list")
    check(rc == 0 and json.loads(out)["parties"][0]["id"] == "cli", f"list: {rc} {out} {err}")
    rc, out, err = admin_cmd("show", "cli")
    names = sorted(m["name"] for m in json.loads(out)["member_list"]) if rc == 0 else []
    check(names == ["Ann", "Bob Z"], f"show: {rc} {out} {err}")
    rc, out, err = admin_cmd("remove", "cli", "Bob Z")
    check(rc == 0 and json.loads(out)["code"] == 4403, f"remove: {rc} {out} {err}")
    await closed_with(bob, 4403, "removed by the operator")
    rc, out, err = admin_cmd("close", "cli")
    check(rc == 0 and json.loads(out)["closed"] == 1, f"close: {rc} {out} {err}")
    await closed_with(ann, 4410, "party closed by the operator")


async def cluster():
    """Two nodes (WS, ADMIN) and (argv[5], argv[6]) sharing a party: each
    node's API shows every member, acts on its own connections only."""
    ws_b, admin_b = sys.argv[5], sys.argv[6]
    ann = await join("c", "ann", "Ann", "host")
    bob = await join("c", "bob", "Bob", ws_url=ws_b)
    await until("both members on A", lambda: [p["members"] for p in
                                              api("GET", "/admin/parties")[1]["parties"]] == [2])
    st, body = api("GET", "/admin/parties/c")
    check(st == 200 and body["local_members"] == 1, f"show on A: {st} {body}")
    members = {m["name"]: m for m in body["member_list"]}
    check(members["Bob"]["remote"] is True and members["Bob"]["address"] is None
          and members["Ann"]["remote"] is False, f"remote members: {body}")
    st, body = api("POST", "/admin/parties/c/members/Bob/remove")
    check(st == 409 and body["error"] == "remote_member", f"remote remove on A: {st} {body}")
    st, body = api("POST", "/admin/parties/c/members/Bob/remove", admin=admin_b)
    check(st == 200, f"remove on B: {st} {body}")
    await closed_with(bob, 4403, "removed by the operator")
    st, body = api("POST", "/admin/parties/c/close")
    check(st == 200 and body["closed"] == 1, f"close on A: {st} {body}")
    await closed_with(ann, 4410, "party closed by the operator")


asyncio.run({"inspect": inspect, "remove": remove, "close": close, "fds": fds,
             "cli": cli, "cluster": cluster}[SCENARIO]())
