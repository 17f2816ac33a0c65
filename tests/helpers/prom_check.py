"""tests/helpers/prom_check.py - parse a Prometheus text exposition strictly
and check samples:  prom_check.py FILE 'name{labels}=V' 'name>V' ...
Exits 1 naming the first line or expectation that fails."""
import re
import sys

LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')
samples, typed = {}, set()
for n, line in enumerate(open(sys.argv[1]), 1):
    line = line.rstrip("\n")
    if not line:
        continue
    if line.startswith("# HELP ") or line.startswith("# TYPE "):
        parts = line.split(" ", 3)
        if len(parts) < 4:
            sys.exit(f"line {n}: malformed comment {line!r}")
        if parts[1] == "TYPE":
            if parts[3] not in ("counter", "gauge", "histogram", "summary", "untyped"):
                sys.exit(f"line {n}: bad type {parts[3]}")
            typed.add(parts[2])
        continue
    m = LINE.match(line)
    if not m:
        sys.exit(f"line {n}: not a sample: {line!r}")
    base = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
    if m.group(1) not in typed and base not in typed:
        sys.exit(f"line {n}: {m.group(1)} has no # TYPE")
    samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
for exp in sys.argv[2:]:
    m = re.match(r"^(.*?)(>=|>|=)(-?[0-9.]+)$", exp)
    key, op, want = m.group(1), m.group(2), float(m.group(3))
    if key not in samples:
        sys.exit(f"missing sample {key}")
    got = samples[key]
    ok = {"=": got == want, ">": got > want, ">=": got >= want}[op]
    if not ok:
        sys.exit(f"{key} is {got}, expected {op}{want}")
print("ok")
