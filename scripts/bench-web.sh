#!/bin/sh
# scripts/bench-web.sh [SECONDS] - how closely real browser players follow
# the party clock: a private revenge-server (build/, or $REVENGE_BUILD)
# serving the web client and a test video (made here by ffmpeg) from a
# --web-root, N headless Chromium pages of one party (WEB_PAGES, default
# 4), the host plays, seeks, changes speed and pauses; after each command
# SECONDS (default 4) of samples of every page's video.currentTime at
# common instants. Prints the spread (max - min over the pages, ms) as
# p50/p99/max per phase; "play" is the steady state at 1x.
set -eu
secs=${1:-4}
pages=${WEB_PAGES:-4}
here=$(cd "$(dirname "$0")/.." && pwd)
build=${REVENGE_BUILD:-$here/build}
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
mkdir -p "$tmp/root"
cp "$here"/web/*.html "$here"/web/*.css "$here"/web/*.js "$tmp/root/"
ffmpeg -hide_banner -loglevel error -nostdin -f lavfi \
	-i testsrc=size=320x180:rate=25:duration=60 -c:v libvpx -b:v 200k \
	-deadline realtime -cpu-used 8 -g 10 -an "$tmp/root/test.webm"
"$build/bin/revenge-server" --listen 127.0.0.1:0 --web-root "$tmp/root" \
	>"$tmp/out" 2>"$tmp/log" &
pid=$!
i=0
while ! grep -q 'listening on' "$tmp/out" 2>/dev/null; do
	i=$((i + 1))
	[ $i -lt 200 ] || { cat "$tmp/log" >&2; exit 1; }
	sleep 0.05
done
port=$(sed -n 's/.*127\.0\.0\.1://p' "$tmp/out")
/usr/bin/python3 "$here/tests/helpers/web_check.py" "http://127.0.0.1:$port" /web/test.webm \
	"$tmp" --pages "$pages" --bound-ms 150 --bench "$secs" >"$tmp/res.json"
/usr/bin/python3 - "$tmp/res.json" "$pages" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("web players in step: %s Chromium pages, spread of video.currentTime (ms)" % sys.argv[2])
print("%-8s %6s %8s %8s %8s %10s" % ("after", "n", "p50", "p99", "max", "settle_ms"))
for k in ("play", "seek", "speed", "pause"):
    b, s = r["bench"][k], r["steps"][k]
    print("%-8s %6d %8.1f %8.1f %8.1f %10d" % (k, b["n"], b["p50_ms"], b["p99_ms"], b["max_ms"],
                                              s["settle_ms"]))
PY
