"""tests/helpers/proxy_client.py - a client of tests/cli/proxy.bats that
connects from a source address of its choice (127.0.0.2: not the proxy's
127.0.0.1), so the server can tell the client's address from the proxy's.

  proxy_client.py PORT SOURCE visit PATH [HEADER=VALUE...]
      join, read the welcome, send one undecodable message (the server
      answers an error), read that error, close with 1000; prints
      "welcome", the error's code and "closed CODE"
  proxy_client.py PORT SOURCE status PATH [HEADER=VALUE...]
      only the handshake: prints the HTTP status
  proxy_client.py PORT SOURCE idle SECS PATH [HEADER=VALUE...]
      join, then send nothing for SECS seconds but pongs to the server's
      pings; prints "open" if the connection lasted, else "cut after N s"
  proxy_client.py PORT SOURCE each PATH < VALUES
      for each line of stdin (a JSON string), a handshake with that value
      as both X-Forwarded-For and X-Real-IP; prints each HTTP status
  proxy_client.py PORT SOURCE,SOURCE,... hold PATH [HEADER=VALUE...]
      open one connection from each source in turn, holding them all,
      print each one's HTTP status, then close them
"""
import json
import socket
import sys
import time

from wsraw import Closed, RawWS


def headers(args):
    out = {}
    for a in args:
        k, v = a.split("=", 1)
        out[k] = v
    return out


def idle(port, source, secs, path, hdrs):
    ws = RawWS(port, path=path, source=source, headers=hdrs, answer_rtt_pings=False)
    assert ws.status == 101, ws.headers
    start = time.monotonic()
    try:
        while time.monotonic() - start < secs:
            ws.sock.settimeout(max(0.05, secs - (time.monotonic() - start)))
            try:
                op, payload, _ = ws.recv_frame()
            except socket.timeout:
                break
            if op == 9:                 # a browser answers every ping
                ws.send_frame(10, payload)
            elif op == 8:
                raise Closed("close frame")
    except (Closed, OSError):
        print("cut after %.0f s" % (time.monotonic() - start))
        return
    print("open")
    ws.close()


def main():
    port, source, action = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    if action == "hold":
        path, hdrs = sys.argv[4], headers(sys.argv[5:])
        held = []
        for src in source.split(","):
            ws = RawWS(port, path=path, source=src, headers=hdrs)
            print(ws.status, flush=True)
            held.append(ws)
        for ws in held:
            ws.close()
        return
    if action == "each":
        for line in sys.stdin:
            v = json.loads(line)
            ws = RawWS(port, path=sys.argv[4], source=source,
                       headers={"X-Forwarded-For": v, "X-Real-IP": v})
            print(ws.status, flush=True)
            ws.close()
        return
    if action == "idle":
        idle(port, source, float(sys.argv[4]), sys.argv[5], headers(sys.argv[6:]))
        return
    path, hdrs = sys.argv[4], headers(sys.argv[5:])
    ws = RawWS(port, path=path, source=source, headers=hdrs)
    if action == "status":
        print(ws.status)
        ws.close()
        return
    assert ws.status == 101, ws.headers
    while True:
        op, payload, _ = ws.recv_frame()
        if op == 1 and json.loads(payload)["type"] == "welcome":
            print("welcome", flush=True)
            break
    ws.send_text("this is not json")
    while True:
        op, payload, _ = ws.recv_frame()
        if op == 1 and json.loads(payload)["type"] == "error":
            print(json.loads(payload)["payload"]["code"], flush=True)
            break
    ws.send_frame(8, b"\x03\xe8bye")
    code, _, _ = ws.recv_until_close()
    print("closed", code)
    ws.close()


if __name__ == "__main__":
    main()
