#!/usr/bin/env bash
# scripts/fuzz.sh - run each libFuzzer target for a while over its seeds.
#
#   scripts/fuzz.sh SECONDS NAME...      (make fuzz, make fuzz-smoke)
#
# build/fuzz/NAME runs for SECONDS with build/fuzz/corpus-NAME (what it
# finds, kept between runs) and tests/fuzz/seeds/NAME (committed seeds,
# never written). A crash leaves its input in build/fuzz/ and fails the run.
# Prints one line per target and a closing "fuzz: N passed, M failed".
set -u
cd "$(dirname "$0")/.."

secs="$1"
shift
passed=0
failed=0
for name in "$@"; do
	corpus="build/fuzz/corpus-$name"
	seeds="tests/fuzz/seeds/$name"
	log="build/fuzz/$name.log"
	mkdir -p "$corpus"
	dirs=("$corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		"build/fuzz/$name" -max_len=4096 -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/$name-" \
		"${dirs[@]}" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		echo "ok fuzz $name: ${runs:-?} inputs in ${secs}s"
		passed=$((passed + 1))
	else
		tail -40 "$log"
		echo "not ok fuzz $name (log: $log)"
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
