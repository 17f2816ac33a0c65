#!/usr/bin/env bash
# scripts/run-tests.sh - run revenge's test suites and sum them up.
#
#   scripts/run-tests.sh                     everything (what `make test` runs)
#   scripts/run-tests.sh --only unit,cli     some suites
#   scripts/run-tests.sh --build build/asan  against another build tree
#
# Suites: unit (cmocka programs), cli (bats against real servers), asan (unit
# and cli again, built with ASan+UBSan), valgrind (unit programs under
# valgrind, zero leaks), postgres (the store's bats files again, on a
# PostgreSQL store: tests/helpers/pg.sh starts a private one, and
# REVENGE_TEST_STORE=postgres points start_server at it), fuzz (each libFuzzer target for a few seconds over
# its seeds: make fuzz-smoke), soak (30 s of hostile input against the ASan
# server beside well-behaved clients: scripts/soak.sh). The last line reads
# "tests: N passed, M failed (S s in all)"; each suite says its own seconds.
#
# By default (make test) the bats files run once, against the ASan+UBSan
# build: the plain pass would repeat the same tests without the sanitizers,
# and CI has 10 minutes on 2 cores. The two tests that need the plain build
# (the valgrind run of the server, the fresh-machine Makefile test) take it
# from REVENGE_PLAIN_BUILD. `--only cli` runs the plain pass alone.
#
# Lanes of a full run, one after another: the builds; the unit tests plain
# and with ASan; the ASan bats batch, side by side, with the soak, the
# fuzzers, the valgrind run and the untimed PostgreSQL tests beside it; the
# bats tests tagged "timed", alone; the PostgreSQL store's timed tests.
set -u
cd "$(dirname "$0")/.."

only="unit,asan,valgrind,postgres,fuzz,soak"
build="build"
while [ $# -gt 0 ]; do
	case "$1" in
	--only) only="$2"; shift 2 ;;
	--build) build="$2"; shift 2 ;;
	*) echo "run-tests: unknown argument $1" >&2; exit 2 ;;
	esac
done
want() { case ",$only," in *",$1,"*) return 0 ;; esac; return 1; }

passed=0
failed=0
failures=()
jobs=$(nproc 2>/dev/null || echo 2)
bats_jobs=()
# Two lanes for the bats tests. A test that times what it sees (tick
# intervals, idle CPU, a latency or drift bound, a count that depends on
# how fast clients send, a sync spread in ms, a flood that would disturb
# the others) carries the bats tag "timed" (`# bats test_tags=timed` on the
# line above it, or `# bats file_tags=timed` near the top of a file): the
# timed tests run one file at a time after the side-by-side batch, on a
# machine left to them, and that lane is what makes `make test` long. A
# test that only waits for something, with a bound of seconds, or counts
# what a schedule sent (a benchmark's smoke run that checks deliveries) is
# not timed. Every other test, and so every new file unless it says
# otherwise, runs in the batch. The longest side-by-side files start first, so that none of them
# is left running alone at the end of the batch (the rest follow in name
# order); a name here that no longer exists is skipped.
long_side_files="package.bats bench.bats cluster_shards.bats cluster.bats readme.bats party_tui.bats web.bats web_tls.bats cluster_tls.bats probe.bats token.bats auth.bats cluster_progress.bats proxy.bats soak.bats probe_accuracy.bats cluster_bench.bats completion.bats store_pg.bats store_migrate.bats"
# bats >= 1.8 filters by tag; an older one runs a file with any timed test
# whole in the timed lane. Asked by version: Debian's 1.8.2 takes
# --filter-tags but its --help does not list it, and asking the help alone
# sent every file with a timed test whole into the timed lane.
bats_tags=
bats_version=$(bats --version 2>/dev/null | sed -n 's/^Bats \([0-9][0-9.]*\).*/\1/p')
if [ -n "$bats_version" ] &&
	[ "$(printf '1.8.0\n%s\n' "$bats_version" | sort -V | head -n 1)" = 1.8.0 ]; then
	bats_tags=1
elif bats --help 2>&1 | grep -q -- --filter-tags; then
	bats_tags=1
fi
if command -v parallel >/dev/null 2>&1; then
	bats_jobs=(--jobs "${BATS_JOBS:-4}" --no-parallelize-within-files)
fi

count_cmocka() { # $1 label, $2 log
	local p f
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$2" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
	if [ -n "${f:-}" ] && [ "$f" -gt 0 ]; then failures+=("$1"); fi
}

build_tree() { # $1 build dir
	if ! make --no-print-directory -s -j"$jobs" BUILD="$1" tests-build >/dev/null; then
		# show the compiler's words, then give up: nothing can run
		make --no-print-directory -j1 BUILD="$1" tests-build
		echo "tests: 0 passed, 1 failed (build failed in $1)"
		exit 1
	fi
}

run_unit() { # $1 build dir, $2 label, [$3 wrapper...]
	local dir="$1" label="$2" t rc t0=$SECONDS tmp
	local -a progs=()
	shift 2
	for t in "$dir"/tests/test_*; do
		[ -x "$t" ] || continue
		progs+=("$t")
	done
	# The programs are independent and single-threaded: run them $jobs at
	# a time (valgrind's slowest ones dominate otherwise), then read their
	# logs in order so the output stays the same as a serial run.
	tmp=$(mktemp -d)
	for t in "${progs[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n 2>/dev/null || true; done
		( "$@" "$t" >"$tmp/$(basename "$t").log" 2>&1; echo $? >"$tmp/$(basename "$t").rc" ) &
	done
	wait
	for t in "${progs[@]}"; do
		rc=$(cat "$tmp/$(basename "$t").rc" 2>/dev/null || echo 255)
		count_cmocka "$label $(basename "$t")" "$tmp/$(basename "$t").log"
		if [ "$rc" -ne 0 ]; then
			grep -q '^\[  FAILED  \]' "$tmp/$(basename "$t").log" || { failed=$((failed + 1)); failures+=("$label $(basename "$t") (exit $rc)"); }
			cat "$tmp/$(basename "$t").log"
		fi
	done
	rm -rf "$tmp"
	echo "$label: done ($((SECONDS - t0)) s)"
}

# The side-by-side batch mostly waits (about one core busy of two), so
# work that only needs to finish, not to be timed, goes beside it, niced
# (BESIDE_NICE, default 5) so that the batch's tests come first: the soak
# (30 s, itself mostly waiting; tests/cli/soak.bats runs a short one beside
# the others the same way), the fuzz targets' build and smoke run (each
# target runs for its seconds whatever its share of the CPU), the unit
# programs under valgrind (counted, not timed) and the untimed PostgreSQL
# tests (start_pg_side). All are over before the timed tests start: they
# would make those lie.
beside_nice=(nice -n "${BESIDE_NICE:-5}")
soak_pid=
soak_log=
start_soak() {
	soak_log=$(mktemp)
	( "${beside_nice[@]}" scripts/soak.sh "${SOAK_TEST_SECONDS:-30}" build/asan >"$soak_log" 2>&1
	  echo $? >"$soak_log.rc" ) &
	soak_pid=$!
}
# start_fuzz_side: build the fuzz targets, then run make fuzz-smoke; its
# output in $fuzz_log (read by the fuzz section below)
fuzz_pid=
fuzz_log=
start_fuzz_side() {
	fuzz_log=$(mktemp)
	( "${beside_nice[@]}" make --no-print-directory -s -j"$jobs" fuzz-build >/dev/null 2>&1
	  "${beside_nice[@]}" make --no-print-directory -s -j"$jobs" fuzz-smoke >"$fuzz_log" 2>&1 ) &
	fuzz_pid=$!
}
# start_valgrind_side BUILD: this script's valgrind suite alone, in the
# background; its output in $valgrind_log (read by the valgrind section)
valgrind_pid=
valgrind_log=
start_valgrind_side() {
	valgrind_log=$(mktemp)
	( RV_TESTS_NESTED=1 "${beside_nice[@]}" scripts/run-tests.sh --only valgrind --build "$1" \
		>"$valgrind_log" 2>&1 ) &
	valgrind_pid=$!
}

# pg_bats BUILD [BATS FLAGS...]: the store's files on a private PostgreSQL
# (tests/helpers/pg.sh), one at a time.
pg_files="progress.bats stream.bats store_prune.bats party_restart.bats"
pg_paths() {
	local f
	for f in $pg_files; do printf 'tests/cli/%s\n' "$f"; done
}
pg_bats() {
	local b=$1
	shift
	tests/helpers/pg.sh run -- env REVENGE_TEST_STORE=postgres REVENGE_BUILD="$PWD/$b" \
		bats --tap "$@" $(pg_paths)
}
# Their untimed tests go beside the ASan batch too (one more file at a
# time, mostly waiting on the store). The same PostgreSQL then waits
# (bounded) for the word to run the timed ones, once the ASan timed tests
# are over: $pg_side_dir/go holds "run" (or "skip"); the untimed tests'
# TAP is in side.log and side.rc, the timed ones' in timed.log and
# timed.rc, what pg.sh says in pg.log.
pg_side_pid=
pg_side_dir=
start_pg_side() { # $1 build dir
	pg_side_dir=$(mktemp -d)
	tests/helpers/pg.sh run -- env REVENGE_TEST_STORE=postgres REVENGE_BUILD="$PWD/$1" \
		SIDE="$pg_side_dir" OWNER=$$ bash -c '
		bats --tap --filter-tags "!timed" "$@" >"$SIDE/side.log" 2>&1
		echo $? >"$SIDE/side.rc"
		for _ in $(seq 1 36000); do   # an hour at most, and never past this script
			[ -e "$SIDE/go" ] && break
			kill -0 "$OWNER" 2>/dev/null || exit 1
			sleep 0.1
		done
		[ "$(cat "$SIDE/go" 2>/dev/null)" = run ] || exit 0
		bats --tap --filter-tags timed "$@" >"$SIDE/timed.log" 2>&1
		echo $? >"$SIDE/timed.rc"' _ $(pg_paths) >"$pg_side_dir/pg.log" 2>&1 &
	pg_side_pid=$!
}
# pg_side_wait: until the untimed PostgreSQL tests are over (bounded)
pg_side_wait() {
	local i
	[ -n "$pg_side_pid" ] || return 0
	for i in $(seq 1 6000); do
		[ -e "$pg_side_dir/side.rc" ] && return 0
		kill -0 "$pg_side_pid" 2>/dev/null || return 0
		sleep 0.1
	done
}

count_bats() { # $1 label, $2 TAP log, $3 bats's exit status; sets ok, notok
	ok=$(grep -c '^ok ' "$2")
	notok=$(grep -c '^not ok ' "$2")
	passed=$((passed + ok))
	failed=$((failed + notok))
	if [ "$notok" -gt 0 ] || [ "$3" -ne 0 ]; then
		cat "$2"
		failures+=("$1 bats ($notok failed, exit $3)")
		[ "$notok" -eq 0 ] && failed=$((failed + 1))
	fi
}

slowest() { # $1 TAP log with --timing: its 8 longest tests, to see where the time goes
	sed -n 's/^ok [0-9]* \(.*\) in \([0-9]*\)ms$/\2 \1/p' "$1" | sort -rn | head -n 8 |
		while read -r ms name; do
			printf '  slow: %5d.%d s  %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$name"
		done
}

# cpu_ticks: "busy total" jiffies of all CPUs so far (/proc/stat; "0 0"
# where there is none), to say how busy the machine was over a lane: a
# batch near 100% is bound by the CPU (fewer or cheaper tests shorten it),
# one well below waits (more jobs would).
cpu_ticks() {
	awk '/^cpu /{ t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t; exit }' \
		/proc/stat 2>/dev/null || echo "0 0"
}

busy_since() { # $1 "busy total" from cpu_ticks: the percentage busy since
	local b0=${1% *} t0=${1#* } now b1 t1
	now=$(cpu_ticks)
	b1=${now% *} t1=${now#* }
	if [ "$t1" -gt "$t0" ]; then echo "$(( (b1 - b0) * 100 / (t1 - t0) ))%"; else echo "?"; fi
}

has_timed() { # $1 bats file: does any of its tests carry the tag "timed"?
	grep -Eq '^[[:space:]]*#[[:space:]]*bats[[:space:]]+(test|file)_tags=.*\btimed\b' "$1"
}

run_cli() { # $1 build dir, $2 label, [$3 "beside": start the soak and fuzz build beside the batch]
	local log rc ok notok t0=$SECONDS
	log=$(mktemp)
	local -a side=() alone=() side_filter=() alone_filter=() f
	# Files run side by side (each starts its own servers on free ports;
	# most of a file's time is waiting), the tests of one file in order;
	# then, one at a time, the tests tagged "timed", which a busy machine
	# would make lie.
	for f in $long_side_files; do
		[ -e "tests/cli/$f" ] && side+=("tests/cli/$f")
	done
	for f in tests/cli/*.bats; do
		case " $long_side_files " in
		*" $(basename "$f") "*) ;;
		*) side+=("$f") ;;
		esac
	done
	if [ -n "$bats_tags" ]; then
		side_filter=(--filter-tags '!timed')
		alone_filter=(--filter-tags timed)
		for f in "${side[@]}"; do
			if has_timed "$f"; then alone+=("$f"); fi
		done
	else
		local -a all=("${side[@]}")
		side=()
		for f in "${all[@]}"; do
			if has_timed "$f"; then alone+=("$f"); else side+=("$f"); fi
		done
	fi
	rc=0
	if [ "${3:-}" = beside ]; then
		if want soak; then start_soak; fi
		if want fuzz; then start_fuzz_side; fi
		if want valgrind; then start_valgrind_side "$build"; fi
		if want postgres && [ -n "$bats_tags" ]; then start_pg_side "$1"; fi
	fi
	local c0
	c0=$(cpu_ticks)
	REVENGE_BUILD="$PWD/$1" bats --tap --timing "${bats_jobs[@]}" "${side_filter[@]}" "${side[@]}" >"$log" 2>&1 || rc=$?
	local tb=$SECONDS busy
	busy=$(busy_since "$c0")
	[ -z "$soak_pid" ] || wait "$soak_pid"
	[ -z "$fuzz_pid" ] || wait "$fuzz_pid" || true
	[ -z "$valgrind_pid" ] || wait "$valgrind_pid" || true
	pg_side_wait
	local t1=$SECONDS
	if [ ${#alone[@]} -gt 0 ]; then
		REVENGE_BUILD="$PWD/$1" bats --tap --timing "${alone_filter[@]}" "${alone[@]}" >>"$log" 2>&1 || rc=$?
	fi
	count_bats "$2" "$log" $rc
	slowest "$log"
	echo "$2: $ok passed, $notok failed ($((SECONDS - t0)) s: $((tb - t0)) side by side with the CPUs $busy busy, $((t1 - tb)) waiting for the work beside it, $((SECONDS - t1)) timed)"
	rm -f "$log"
}

if want unit || want cli || want valgrind || want asan; then build_tree "$build"; fi
# tests that need the plain build run in the plain pass when there is one,
# else in the ASan pass with the plain tree beside it
export REVENGE_PLAIN_BUILD="$PWD/$build"
if want cli; then export REVENGE_PLAIN_PASS=1; fi
if want unit; then run_unit "$build" unit; fi
if want cli; then run_cli "$build" cli; fi
if want asan; then
	build_tree build/asan
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
	run_unit build/asan unit-asan
	run_cli build/asan cli-asan beside
fi
if want valgrind; then
	if [ -n "$valgrind_pid" ]; then   # run beside the ASan batch: its sums
		wait "$valgrind_pid" || true
		grep -v -e '^tests: ' -e '^FAILED: ' "$valgrind_log"
		v=$(sed -n 's/^tests: \([0-9]*\) passed, \([0-9]*\) failed.*/\1 \2/p' "$valgrind_log")
		if [ -z "$v" ]; then
			failed=$((failed + 1))
			failures+=("unit-valgrind (no summary)")
		else
			passed=$((passed + ${v% *}))
			failed=$((failed + ${v#* }))
			while IFS= read -r f; do failures+=("$f"); done < <(sed -n 's/^FAILED: //p' "$valgrind_log")
		fi
		rm -f "$valgrind_log"
	else
		run_unit "$build" unit-valgrind valgrind -q --leak-check=full --show-leak-kinds=all \
			--errors-for-leak-kinds=all --error-exitcode=99
	fi
fi

# The store's files again, with PostgreSQL behind --db, against the ASan
# build when there is one. Their untimed tests ran beside the ASan batch
# (start_pg_side); here they are waited for, then the timed ones (progress
# ticks) run alone.
if want postgres; then
	t0=$SECONDS
	pgb="$build"
	if want asan; then pgb=build/asan; fi
	[ -x "$pgb/bin/revenge-server" ] || build_tree "$pgb"
	log=$(mktemp)
	rc=0
	if [ -n "$pg_side_pid" ]; then
		# its PostgreSQL is still up: the timed tests now, on a quiet machine
		echo run >"$pg_side_dir/go"
		wait "$pg_side_pid" || true
		cat "$pg_side_dir/pg.log" "$pg_side_dir/side.log" "$pg_side_dir/timed.log" >"$log" 2>/dev/null
		[ "$(cat "$pg_side_dir/side.rc" 2>/dev/null)" = 0 ] || rc=1
		[ "$(cat "$pg_side_dir/timed.rc" 2>/dev/null)" = 0 ] || rc=1
		rm -rf "$pg_side_dir"
	else
		pg_bats "$pgb" >"$log" 2>&1 || rc=$?
	fi
	count_bats postgres "$log" $rc
	echo "postgres: $ok passed, $notok failed ($((SECONDS - t0)) s${pg_side_pid:+, and its untimed tests beside the batch})"
	rm -f "$log"
fi

if want fuzz; then
	t0=$SECONDS
	if [ -n "$fuzz_pid" ]; then   # built and run beside the ASan batch
		log=$fuzz_log
	else
		log=$(mktemp)
		if make --no-print-directory -s -j"$jobs" fuzz-smoke >"$log" 2>&1; then :; fi
	fi
	ok=$(grep -c '^ok fuzz ' "$log")
	notok=$(grep -c '^not ok fuzz ' "$log")
	passed=$((passed + ok))
	failed=$((failed + notok))
	if [ "$notok" -gt 0 ] || [ "$ok" -eq 0 ]; then
		cat "$log"
		failures+=("fuzz ($notok failed)")
		[ "$notok" -eq 0 ] && failed=$((failed + 1))
	fi
	echo "fuzz: $ok passed, $notok failed ($((SECONDS - t0)) s)"
	rm -f "$log"
fi

if want soak; then
	if [ -z "$soak_pid" ]; then   # not run beside the ASan bats: now
		[ -x build/asan/bin/revenge-server ] || build_tree build/asan
		start_soak
		wait "$soak_pid"
	fi
	if [ "$(cat "$soak_log.rc" 2>/dev/null)" = 0 ]; then
		passed=$((passed + 1))
		echo "soak: 1 passed, 0 failed"
	else
		cat "$soak_log"
		failed=$((failed + 1))
		failures+=("soak")
		echo "soak: 0 passed, 1 failed"
	fi
	rm -f "$soak_log" "$soak_log.rc"
fi

# A server a test left running holds ports, memory and, often, bats's
# descriptors: named here (so the test can be found) and stopped. Only by
# the outermost run, once every lane is over: a nested one (the valgrind
# lane beside the batch) ends while other tests' servers still run.
leaked=
if [ -z "${RV_TESTS_NESTED:-}" ]; then
	leaked=$(pgrep -f "^$PWD/build(/asan)?/bin/revenge-server " 2>/dev/null || true)
fi
for pid in $leaked; do
	echo "warning: a test left revenge-server running: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)" >&2
	kill -KILL "$pid" 2>/dev/null || true
done

for f in "${failures[@]+"${failures[@]}"}"; do echo "FAILED: $f"; done
echo "tests: $passed passed, $failed failed ($SECONDS s in all)"
[ "$failed" -eq 0 ]
