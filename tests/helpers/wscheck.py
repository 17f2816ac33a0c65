"""tests/helpers/wscheck.py - what the independent-client scenario scripts
share: failing with a message, and reading JSON messages from a
python3-websockets connection with a deadline.
"""
import asyncio
import json
import sys
import time

TIMEOUT = 3.0


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


async def send(ws, mtype, payload=None, id=None):
    msg = {"type": mtype}
    if payload is not None:
        msg["payload"] = payload
    if id is not None:
        msg["id"] = id
    await ws.send(json.dumps(msg))


async def recv(ws, timeout=TIMEOUT):
    try:
        raw = await asyncio.wait_for(ws.recv(), timeout)
    except asyncio.TimeoutError:
        fail("timed out waiting for a message")
    check(isinstance(raw, str), "server sent a binary frame")
    return json.loads(raw)


async def recv_type(ws, mtype, timeout=TIMEOUT):
    """Next message of mtype, skipping others (membership noise)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            fail(f"no {mtype} within {timeout}s")
        m = await recv(ws, left)
        if m["type"] == mtype:
            return m


async def expect_none(ws, seconds=0.3, allow=()):
    try:
        raw = await asyncio.wait_for(ws.recv(), seconds)
    except asyncio.TimeoutError:
        return
    m = json.loads(raw)
    if m["type"] in allow:
        return await expect_none(ws, seconds, allow)
    fail(f"unexpected message {raw}")


# party_state payloads (the waiting room): waiting for exactly ids, or not
# waiting at all.
def waiting_for(ids):
    return lambda p: p["waiting"] and sorted(p["waiting_for"]) == sorted(ids) \
        and p["waiting_count"] == len(ids)


def not_waiting(p):
    return not p["waiting"] and p["waiting_count"] == 0 and p["waiting_for"] == [] \
        and p["deadline"] is None
