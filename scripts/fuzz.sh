#!/usr/bin/env bash
# scripts/fuzz.sh - run each libFuzzer target for a while over its seeds.
#
#   scripts/fuzz.sh SECONDS NAME...      (make fuzz, make fuzz-smoke)
#
# build/fuzz/NAME runs for SECONDS with build/fuzz/corpus-NAME (what it
# finds, kept between runs) and tests/fuzz/seeds/NAME (committed seeds,
# never written). A crash leaves its input in build/fuzz/ and fails the run.
# Prints one line per target and a closing "fuzz: N passed, M failed".
# Each target is single-threaded: FUZZ_JOBS of them (default: the number of
# CPUs) run at once, each still for its full SECONDS; the lines come out in
# the order of the names, as from a serial run.
set -u
cd "$(dirname "$0")/.."

secs="$1"
shift
jobs="${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}"
passed=0
failed=0

fuzz_one() { # NAME: exit status of the fuzzer, log in build/fuzz/NAME.log
	local name="$1" corpus="build/fuzz/corpus-$1" seeds="tests/fuzz/seeds/$1"
	local -a dirs
	mkdir -p "$corpus"
	dirs=("$corpus")
	[ -d "$seeds" ] && dirs+=("$seeds")
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		"build/fuzz/$name" -max_len=4096 -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/$name-" \
		"${dirs[@]}" >"build/fuzz/$name.log" 2>&1
}

for name in "$@"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n 2>/dev/null || true; done
	rm -f "build/fuzz/$name.rc"
	( fuzz_one "$name"; echo $? >"build/fuzz/$name.rc" ) &
done
wait
for name in "$@"; do
	log="build/fuzz/$name.log"
	if [ "$(cat "build/fuzz/$name.rc" 2>/dev/null)" = 0 ]; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
		echo "ok fuzz $name: ${runs:-?} inputs in ${secs}s"
		passed=$((passed + 1))
	else
		tail -40 "$log"
		echo "not ok fuzz $name (log: $log)"
		failed=$((failed + 1))
	fi
	rm -f "build/fuzz/$name.rc"
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
