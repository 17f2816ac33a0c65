"""tests/helpers/stall_client.py PORT SECONDS - join party "stall" with a tiny
receive buffer, then stop reading. Prints "joined" after the handshake. Used
to make a client the server cannot flush (drain deadline, 1013 overflow)."""
import sys
import time

import wsraw

w = wsraw.RawWS(int(sys.argv[1]), "/ws/party/stall?name=staller", rcvbuf=4096)
assert w.status == 101, w.status_line
print("joined", flush=True)
time.sleep(float(sys.argv[2]))
