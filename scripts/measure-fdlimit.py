#!/usr/bin/python3
"""scripts/measure-fdlimit.py - revenge-server at its open-file limit, one
build against another (docs/performance.md, "At the open-file limit").

    scripts/measure-fdlimit.py [--nofile 256] [--clients 400] [--seconds 2]
                               [--rounds 1] [--no-retry] NAME=BINARY...

Each BINARY is started on 127.0.0.1:0 under `prlimit --nofile=N:N` with a
fresh store; tests/helpers/fdflood.py opens --clients raw upgrade clients
(with --retry unless --no-retry: a refused client comes back 0.2 s later)
and, after a second, measures for --seconds: the server's CPU (utime +
stime from /proc/PID/stat), how fast its log (stderr) grows, and whether
/healthz and /metrics answer within 3 s. One row per build and round.
Everything stays on loopback and ends by itself (the server gets SIGTERM,
then SIGKILL after 10 s).
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FLOOD = os.path.join(HERE, "..", "tests", "helpers", "fdflood.py")


def run_one(binary, a):
    with tempfile.TemporaryDirectory() as d:
        out = open(os.path.join(d, "out"), "w+")
        log = os.path.join(d, "log")
        with open(log, "w") as err:
            srv = subprocess.Popen(
                ["prlimit", f"--nofile={a.nofile}:{a.nofile}", binary,
                 "--listen", "127.0.0.1:0", "--db", os.path.join(d, "db")],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        try:
            port = None
            for _ in range(100):
                out.seek(0)
                for line in out.read().splitlines():
                    if "listening on" in line:
                        port = int(line.rsplit(":", 1)[1])
                if port or srv.poll() is not None:
                    break
                time.sleep(0.05)
            if not port:
                sys.exit(f"{binary} did not start: {open(log).read()}")
            cmd = [sys.executable, FLOOD, "flood", "--port", str(port), "--pid", str(srv.pid),
                   "--log", log, "--clients", str(a.clients), "--seconds", str(a.seconds)]
            if not a.no_retry:
                cmd.append("--retry")
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
            if r.returncode:
                sys.exit(f"fdflood failed: {r.stderr}")
            return json.loads(r.stdout)
        finally:
            srv.send_signal(signal.SIGTERM)
            try:
                srv.wait(10)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nofile", type=int, default=256)
    p.add_argument("--clients", type=int, default=400)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--no-retry", action="store_true")
    p.add_argument("builds", nargs="+", metavar="NAME=BINARY")
    a = p.parse_args()
    if a.clients > 5000 or a.seconds > 30 or a.rounds > 10:
        p.error("bounded: at most 5000 clients, 30 seconds, 10 rounds")
    print(f"# prlimit --nofile={a.nofile}, {a.clients} clients"
          f"{'' if a.no_retry else ' (refused ones retry after 0.2 s)'}, {a.seconds:g} s window")
    print(f"{'build':<10} {'round':>5} {'CPU %':>7} {'log KiB/s':>10} {'healthz':>8} "
          f"{'metrics':>8} {'101':>5} {'503':>6} {'waiting':>8}")
    for rnd in range(1, a.rounds + 1):
        for spec in a.builds:
            name, _, binary = spec.partition("=")
            r = run_one(binary, a)
            print(f"{name:<10} {rnd:>5} {r['cpu_pct']:>7.1f} {r['log_bps'] / 1024:>10.1f} "
                  f"{r['healthz'] or 'none':>8} {r['metrics'] or 'none':>8} {r['ok']:>5} "
                  f"{r['refused'] + r['per_ip']:>6} {r['waiting']:>8}", flush=True)


if __name__ == "__main__":
    main()
