"""scripts/benchres.py - reading scripts/bench.sh's results: each run's JSON
line is appended to WORK/SERVER-NAME.all; the tables show the median over
the rounds."""
import json
import os
import statistics


def load(work, server, name):
    """Every result of SERVER's run NAME, oldest first ([] when none)."""
    path = os.path.join(work, f"{server}-{name}.all")
    if not os.path.exists(path):
        return []
    out = []
    for line in open(path):
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def med(rs, f):
    """The median of f over the results, skipping None (and a histogram
    revenge-bench wrote as null: it measured nothing); None when none."""
    vals = []
    for r in rs:
        try:
            v = f(r)
        except (KeyError, TypeError):
            v = None
        if v is not None:
            vals.append(v)
    return statistics.median(vals) if vals else None


def fmt(v, unit=""):
    return "-" if v is None else f"{v:.2f}{unit}"
