"""tests/helpers/proxy_client.py - a client of tests/cli/proxy.bats that
connects from a source address of its choice (127.0.0.2: not the proxy's
127.0.0.1), so the server can tell the client's address from the proxy's.

  proxy_client.py PORT SOURCE visit PATH [HEADER=VALUE...]
      join, read the welcome, send one undecodable message (the server
      answers an error), read that error, close with 1000; prints
      "welcome", the error's code and "closed CODE"
  proxy_client.py PORT SOURCE status PATH [HEADER=VALUE...]
      only the handshake: prints the HTTP status
  proxy_client.py PORT SOURCE,SOURCE,... hold PATH [HEADER=VALUE...]
      open one connection from each source in turn, holding them all,
      print each one's HTTP status, then close them
"""
import json
import sys

from wsraw import RawWS


def headers(args):
    out = {}
    for a in args:
        k, v = a.split("=", 1)
        out[k] = v
    return out


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
