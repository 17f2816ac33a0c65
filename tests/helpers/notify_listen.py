#!/usr/bin/env python3
"""tests/helpers/notify_listen.py SOCKET OUT: stand in for systemd's notify
socket. Binds a unix datagram socket at SOCKET and appends each datagram
received to OUT as one line (its newlines turned into spaces), until it is
killed or 60 s pass. Prints "ready" on stdout once bound."""
import os
import socket
import sys
import time

path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.5)
print("ready", flush=True)
deadline = time.monotonic() + 60
with open(out, "a") as f:
    while time.monotonic() < deadline:
        try:
            data = s.recv(4096)
        except socket.timeout:
            continue
        f.write(data.decode("utf-8", "replace").replace("\n", " ") + "\n")
        f.flush()
os.unlink(path)
