#!/usr/bin/env bats
# tests/cli/completion.bats - shell completions and the man pages, against
# revenge-server --help, revenge-probe --help, revenge-party --help and
# revenge-bench --help.
#
# The bash completion is exercised the way bash drives it: COMP_WORDS and
# COMP_CWORD set, _revenge_server called, COMPREPLY read. The drift tests hold
# --help (usage_text in cmd/revenge-server/main.c) as the truth: every flag it
# lists must be in the man page and in each completion, and no completion may
# offer a flag it does not list. zsh and fish are optional here: their tests
# skip when the shell is not installed.

load '/usr/lib/bats/bats-support/load'
load '/usr/lib/bats/bats-assert/load'

setup() {
	ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
	# The completions and man pages are checked against the programs'
	# --help, which the plain build prints the same as the ASan one: these
	# tests run it a few hundred times, and an ASan start (with its leak
	# check at exit) costs five times a plain one.
	BUILD="${REVENGE_PLAIN_BUILD:-${REVENGE_BUILD:-$BATS_TEST_DIRNAME/../../build}}"
	SERVER="$BUILD/bin/revenge-server"
	MAN="$ROOT/docs/man/revenge-server.1"
	BASH_COMP="$ROOT/completions/revenge-server.bash"
	ZSH_COMP="$ROOT/completions/_revenge-server"
	FISH_COMP="$ROOT/completions/revenge-server.fish"
	PROBE="$BUILD/bin/revenge-probe"
	PROBE_MAN="$ROOT/docs/man/revenge-probe.1"
	PROBE_BASH="$ROOT/completions/revenge-probe.bash"
	PROBE_ZSH="$ROOT/completions/_revenge-probe"
	PROBE_FISH="$ROOT/completions/revenge-probe.fish"
	PARTY="$BUILD/bin/revenge-party"
	PARTY_MAN="$ROOT/docs/man/revenge-party.1"
	PARTY_BASH="$ROOT/completions/revenge-party.bash"
	PARTY_ZSH="$ROOT/completions/_revenge-party"
	PARTY_FISH="$ROOT/completions/revenge-party.fish"
	BENCH="$BUILD/bin/revenge-bench"
	BENCH_MAN="$ROOT/docs/man/revenge-bench.1"
	BENCH_BASH="$ROOT/completions/revenge-bench.bash"
	BENCH_ZSH="$ROOT/completions/_revenge-bench"
	BENCH_FISH="$ROOT/completions/revenge-bench.fish"
	BENCH_SCENARIOS="amplify chat churn connect fanout fill progress sync"
}

# Run the bash completion in a clean bash for the command line
# "revenge-server WORD...", completing the last WORD; print COMPREPLY one
# entry a line.
complete_bash() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=(revenge-server "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_revenge_server || exit 1
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
	' complete_bash "$BASH_COMP" "$@"
}

# Flags in --help, one a line, sorted: long ones, and -X from "-X, --long".
# $1: "token", "migrate", "backup" or "admin" for a subcommand's help; none for the
# server's.
main_help_flags() {
	[ -x "$SERVER" ] || { echo "no binary at $SERVER (build it first)" >&2; return 1; }
	"$SERVER" ${1:+"$1"} --help >"$BATS_TEST_TMPDIR/help" || return 1
	{
		grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/help"
		grep -oE -- '^ +-[A-Za-z],' "$BATS_TEST_TMPDIR/help" | tr -d ' ,'
	} | sort -u
}

# Every flag of both helps: what the man page and completions must know.
help_flags() {
	{ main_help_flags && main_help_flags token && main_help_flags migrate &&
		main_help_flags backup && main_help_flags admin; } | sort -u
}

help_long_flags() {
	main_help_flags | grep -- '^--'
}

# Every flag a file names, one a line, sorted. Long flags are found
# anywhere; short ones only where the file's syntax names an option of ours
# (a shell script is full of its own -n, -f, -W), per $2.
file_flags() { # $1 file, $2 roff|bash|zsh|fish
	{
		case "$2" in
		roff)
			sed 's/\\-/-/g' "$1" >"$BATS_TEST_TMPDIR/man.txt"
			grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/man.txt"
			grep -oE -- '(^|[^A-Za-z0-9-])-[A-Za-z]([^A-Za-z0-9-]|$)' \
				"$BATS_TEST_TMPDIR/man.txt" | grep -oE -- '-[A-Za-z]'
			;;
		bash)
			grep -oE -- '--[a-z][a-z0-9-]*' "$1" ;;
		zsh)
			grep -oE -- '--[a-z][a-z0-9-]*' "$1"
			grep -oE -- '\{-[A-Za-z],--' "$1" | grep -oE -- '-[A-Za-z]'
			;;
		fish)
			grep -oE -- ' -l [a-z][a-z0-9-]*' "$1" | sed 's/ -l /--/'
			grep -oE -- ' -s [A-Za-z]( |$)' "$1" | grep -oE -- '[A-Za-z] ?$' | sed -E 's/^([A-Za-z]).*/-\1/'
			grep -oE -- '--[a-z][a-z0-9-]*' "$1"
			;;
		esac
	} | sort -u
}

# Lines of $1 that are not lines of $2 (both sorted, unique).
missing() {
	comm -23 <(printf '%s\n' "$1") <(printf '%s\n' "$2") | sed '/^$/d'
}

@test "help lists the flags the completions are checked against" {
	run help_flags
	assert_success
	assert_line -- --listen
	assert_line -- --log-level
	assert_line -- -h
	assert_line -- -V
}

@test "bash: -- offers every long flag of --help" {
	run complete_bash --
	assert_success
	got=$(printf '%s\n' "$output" | sort -u)
	want=$(help_long_flags)
	[ -n "$want" ]
	assert_equal "$got" "$want"
}

@test "bash: - offers the short flags too" {
	run complete_bash -
	assert_success
	assert_line -- -h
	assert_line -- -V
	assert_line -- --listen
}

@test "bash: --log-l completes to --log-level" {
	run complete_bash --log-l
	assert_success
	assert_output -- --log-level
}

@test "bash: after --log-level offers exactly error warn info debug" {
	run complete_bash --log-level ''
	assert_success
	assert_equal "$(printf '%s\n' "$output" | sort)" "$(printf '%s\n' debug error info warn)"
}

@test "bash: after --log-format j offers json" {
	run complete_bash --log-format j
	assert_success
	assert_output json
}

@test "bash: after --log-format offers text and json" {
	run complete_bash --log-format ''
	assert_success
	assert_equal "$(printf '%s\n' "$output" | sort)" "$(printf '%s\n' json text)"
}

@test "bash: --log-level=de, split at = as bash does, completes the value" {
	run complete_bash --log-level = de
	assert_success
	assert_output debug
	# unsplit (COMP_WORDBREAKS without =): the whole word is replaced
	run complete_bash --log-level=de
	assert_success
	assert_output --log-level=debug
}

@test "bash: after --listen offers the usual addresses" {
	run complete_bash --listen ''
	assert_success
	assert_equal "$(printf '%s\n' "$output" | sort)" \
		"$(printf '%s\n' 0.0.0.0:8080 127.0.0.1:0 127.0.0.1:8080 '[::1]:8080')"
}

@test "bash: --listen 127.0.0.1:, split at : as bash does, offers the ports" {
	run complete_bash --listen 127.0.0.1 :
	assert_success
	assert_equal "$(printf '%s\n' "$output" | sort)" "$(printf '%s\n' 0 8080)"
}

@test "bash: after --db completes file names" {
	dir="$BATS_TEST_TMPDIR/files"
	mkdir -p "$dir/sub"
	touch "$dir/party.db" "$dir/progress.db" "$dir/cert.pem"
	run complete_bash --db "$dir/p"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | sort)" \
		"$(printf '%s\n' "$dir/party.db" "$dir/progress.db")"
	run complete_bash --db "$dir/"
	assert_success
	assert_line "$dir/cert.pem"
	assert_line "$dir/sub"
	assert_equal "${#lines[@]}" 4
}

@test "bash: after --tls-cert and --tls-key completes file names" {
	dir="$BATS_TEST_TMPDIR/tls"
	mkdir -p "$dir"
	touch "$dir/cert.pem" "$dir/key.pem"
	run complete_bash --tls-cert "$dir/c"
	assert_output "$dir/cert.pem"
	run complete_bash --tls-key "$dir/k"
	assert_output "$dir/key.pem"
}

@test "bash: numbers, patterns and operands get no suggestions" {
	run complete_bash --history ''
	assert_success
	assert_output ''
	run complete_bash --origin ''
	assert_output ''
	run complete_bash stray
	assert_output ''
}

@test "drift: every --help flag is in the man page" {
	want=$(help_flags)
	[ -n "$want" ]
	run missing "$want" "$(file_flags "$MAN" roff)"
	assert_output ''
}

@test "drift: every --help flag is offered by the bash completion, and no other" {
	want=$(help_flags)
	[ -n "$want" ]
	offered=$({ complete_bash -; complete_bash token -; complete_bash migrate -;
		complete_bash backup -; complete_bash admin -; } | sort -u)
	run missing "$want" "$offered"
	assert_output ''
	run missing "$offered" "$want"
	assert_output ''
	# nor does the script name any flag --help does not list
	run missing "$(file_flags "$BASH_COMP" bash)" "$want"
	assert_output ''
}

@test "drift: every --help flag is in the zsh completion, and no other" {
	want=$(help_flags)
	[ -n "$want" ]
	have=$(file_flags "$ZSH_COMP" zsh)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "drift: every --help flag is in the fish completion, and no other" {
	want=$(help_flags)
	[ -n "$want" ]
	have=$(file_flags "$FISH_COMP" fish)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "the bash completion parses and registers _revenge_server" {
	run bash --norc --noprofile -n "$BASH_COMP"
	assert_success
	run bash --norc --noprofile -c 'source "$1" && complete -p revenge-server' _ "$BASH_COMP"
	assert_success
	assert_output 'complete -F _revenge_server revenge-server'
}

@test "the zsh completion parses (zsh -n)" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$ZSH_COMP"
	assert_success
	run head -1 "$ZSH_COMP"
	assert_output '#compdef revenge-server'
}

@test "the fish completion parses (fish -n) and completes" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish --no-config -n "$FISH_COMP"
	assert_success
	run fish --no-config -c 'source $argv[1]; complete -C"revenge-server --log-level "' "$FISH_COMP"
	assert_success
	assert_equal "$(printf '%s\n' "$output" | cut -f1 | sort)" "$(printf '%s\n' debug error info warn)"
	run fish --no-config -c 'source $argv[1]; complete -C"revenge-server --log-f"' "$FISH_COMP"
	assert_success
	assert_output --partial -- --log-format
}

@test "the man page renders without warnings" {
	command -v groff >/dev/null || skip "groff is not installed"
	run groff -man -Tutf8 -ww -z "$MAN"
	assert_success
	assert_output ''
}

# ---- revenge-probe -----------------------------------------------------------
#
# revenge-probe takes global options, then a check, then the check's own
# options; --help lists the global ones under "Options:" and each check's
# under the check in "Checks:". The completions must offer the global flags
# before the check and only the check's own after it.

PROBE_CHECKS='chat health progress quality run sync tail'

# Like complete_bash, for "revenge-probe WORD...".
complete_probe() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=(revenge-probe "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_revenge_probe || exit 1
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
	' complete_probe "$PROBE_BASH" "$@"
}

probe_help() {
	[ -x "$PROBE" ] || { echo "no binary at $PROBE (build it first)" >&2; return 1; }
	"$PROBE" --help >"$BATS_TEST_TMPDIR/probe-help" || return 1
}

# Every flag of revenge-probe --help, one a line, sorted.
probe_help_flags() {
	probe_help || return 1
	{
		grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/probe-help"
		grep -oE -- '^ +-[A-Za-z],' "$BATS_TEST_TMPDIR/probe-help" | tr -d ' ,'
	} | sort -u
}

# The global flags: those listed under "Options:".
probe_global_flags() {
	probe_help || return 1
	sed -n '/^Options:/,/^Checks:/p' "$BATS_TEST_TMPDIR/probe-help" >"$BATS_TEST_TMPDIR/probe-opts"
	{
		grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/probe-opts"
		grep -oE -- '^ +-[A-Za-z],' "$BATS_TEST_TMPDIR/probe-opts" | tr -d ' ,'
	} | sort -u
}

# The flags --help lists under check $1 (nothing for a check without any).
probe_check_flags() {
	probe_help || return 1
	awk -v c="$1" '
		/^Checks:/ { inside = 1; next }
		/^[^ ]/ { inside = 0 }
		inside && /^  [a-z]/ { cur = $1; next }
		inside && cur == c { print }
	' "$BATS_TEST_TMPDIR/probe-help" | { grep -oE -- '--[a-z][a-z0-9-]*' || true; } | sort -u
}

sorted() {
	printf '%s\n' "$@" | sed '/^$/d' | sort -u
}

@test "probe: help lists the flags and checks the completions are checked against" {
	run probe_global_flags
	assert_success
	assert_line -- --url
	assert_line -- --wait
	assert_line -- -h
	assert_line -- -V
	refute_line -- --members
	run probe_check_flags sync
	assert_success
	assert_output "$(sorted --accuracy --members --party --tolerance-ms)"
	run probe_check_flags quality
	assert_output "$(sorted --bandwidth --expect --request --session --spacing-ms)"
	# run's --var must be listed in usage_text (cmd/revenge-probe/main.c)
	run probe_check_flags run
	assert_output -- --var
	run probe_check_flags tail
	assert_output -- --count
	run probe_check_flags health
	assert_output ''
}

@test "probe bash: the first word offers the check names" {
	run complete_probe ''
	assert_success
	assert_equal "$(sorted $output)" "$(sorted $PROBE_CHECKS)"
	run complete_probe q
	assert_output quality
}

@test "probe bash: after global flags and their values offers the check names" {
	run complete_probe --json --timeout 5s --wait 30s --url ws://127.0.0.1:8080 ''
	assert_success
	assert_equal "$(sorted $output)" "$(sorted $PROBE_CHECKS)"
	# the URL split at ":" and "=", as bash does
	run complete_probe --url ws : //127.0.0.1 : 8080 --quiet ''
	assert_equal "$(sorted $output)" "$(sorted $PROBE_CHECKS)"
	run complete_probe --url = ws : //127.0.0.1 : 8080 s
	assert_output sync
	run complete_probe --insecure --origin https : //x.example --ca /dev/null pr
	assert_output progress
}

@test "probe bash: - before the check offers exactly the global flags" {
	run complete_probe -
	assert_success
	assert_equal "$(sorted $output)" "$(probe_global_flags)"
	run complete_probe --json --w
	assert_output -- --wait
}

@test "probe bash: after each check, - offers exactly that check's flags" {
	for c in $PROBE_CHECKS; do
		run complete_probe --json "$c" -
		assert_success
		assert_equal "$c: $(sorted $output)" "$c: $(probe_check_flags "$c")"
	done
	run complete_probe sync -
	assert_equal "$(sorted $output)" "$(sorted --accuracy --members --tolerance-ms --party)"
	run complete_probe quality --session s1 -
	assert_equal "$(sorted $output)" \
		"$(sorted --session --request --bandwidth --spacing-ms --expect)"
	run complete_probe --timeout 5s sync --members 3 --t
	assert_output -- --tolerance-ms
	# global flags are not offered after the check
	run complete_probe sync --j
	assert_output ''
}

@test "probe bash: after --expect offers up down none" {
	run complete_probe quality --expect ''
	assert_success
	assert_equal "$(sorted $output)" "$(sorted up down none)"
	run complete_probe quality --bandwidth 900,900 --expect d
	assert_output down
	# split at = as bash does, and unsplit
	run complete_probe quality --expect = n
	assert_output none
	run complete_probe quality --expect=u
	assert_output --expect=up
}

@test "probe bash: run completes .json files and directories" {
	dir="$BATS_TEST_TMPDIR/scenarios"
	mkdir -p "$dir/more"
	touch "$dir/chat.json" "$dir/sync.json" "$dir/notes.txt" "$dir/ca.pem"
	run complete_probe run "$dir/"
	assert_success
	assert_equal "$(sorted $output)" "$(sorted "$dir/chat.json" "$dir/more" "$dir/sync.json")"
	run complete_probe --json run --var who=ann "$dir/s"
	assert_output "$dir/sync.json"
	run complete_probe run --
	assert_output -- --var
	# one file only
	run complete_probe run "$dir/chat.json" ''
	assert_output ''
}

@test "probe bash: --token offers nothing, --token-file completes file names" {
	dir="$BATS_TEST_TMPDIR/tok"
	mkdir -p "$dir"
	touch "$dir/token.txt" "$dir/other"
	run complete_probe --token ''
	assert_success
	assert_output ''
	run complete_probe --token-file "$dir/t"
	assert_output "$dir/token.txt"
	run complete_probe --token-file = "$dir/t"
	assert_output "$dir/token.txt"
	# the value is skipped: then the checks
	run complete_probe --token abc --token-file "$dir/token.txt" s
	assert_output sync
}

@test "probe bash: --ca completes file names, tail offers endpoint paths" {
	dir="$BATS_TEST_TMPDIR/tls"
	mkdir -p "$dir"
	touch "$dir/ca.pem" "$dir/other.crt"
	run complete_probe --ca "$dir/c"
	assert_success
	assert_output "$dir/ca.pem"
	run complete_probe --ca "$dir/ca.pem" ''
	assert_equal "$(sorted $output)" "$(sorted $PROBE_CHECKS)"
	run complete_probe tail /ws/p
	assert_equal "$(sorted $output)" "$(sorted /ws/party/ /ws/progress/)"
	run complete_probe tail --
	assert_output -- --count
}

@test "probe bash: durations, ids, numbers and help get no suggestions" {
	run complete_probe --timeout ''
	assert_success
	assert_output ''
	run complete_probe --url ''
	assert_output ''
	run complete_probe sync --members ''
	assert_output ''
	run complete_probe run --var ''
	assert_output ''
	run complete_probe health -
	assert_output ''
	run complete_probe health ''
	assert_output ''
	run complete_probe --help ''
	assert_output ''
	run complete_probe nosuch -
	assert_output ''
}

@test "probe drift: every --help flag is in the man page" {
	want=$(probe_help_flags)
	[ -n "$want" ]
	run missing "$want" "$(file_flags "$PROBE_MAN" roff)"
	assert_output ''
}

@test "probe drift: every --help flag is offered by the bash completion, and no other" {
	want=$(probe_help_flags)
	[ -n "$want" ]
	offered=$({
		complete_probe -
		for c in $PROBE_CHECKS; do complete_probe "$c" -; done
	} | sort -u)
	run missing "$want" "$offered"
	assert_output ''
	run missing "$offered" "$want"
	assert_output ''
	run missing "$(file_flags "$PROBE_BASH" bash)" "$want"
	assert_output ''
}

@test "probe drift: every --help flag is in the zsh completion, and no other" {
	want=$(probe_help_flags)
	[ -n "$want" ]
	have=$(file_flags "$PROBE_ZSH" zsh)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "probe drift: every --help flag is in the fish completion, and no other" {
	want=$(probe_help_flags)
	[ -n "$want" ]
	have=$(file_flags "$PROBE_FISH" fish)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "the probe's bash completion parses and registers _revenge_probe" {
	run bash --norc --noprofile -n "$PROBE_BASH"
	assert_success
	run bash --norc --noprofile -c 'source "$1" && complete -p revenge-probe' _ "$PROBE_BASH"
	assert_success
	assert_output 'complete -F _revenge_probe revenge-probe'
}

@test "the probe's zsh completion parses (zsh -n)" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$PROBE_ZSH"
	assert_success
	run head -1 "$PROBE_ZSH"
	assert_output '#compdef revenge-probe'
}

@test "the probe's fish completion parses (fish -n) and completes per check" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish --no-config -n "$PROBE_FISH"
	assert_success
	fish_complete() {
		fish --no-config -c 'source $argv[1]; complete -C"$argv[2]"' "$PROBE_FISH" "$1" |
			cut -f1 | sort -u
	}
	run fish_complete 'revenge-probe --json '
	assert_equal "$output" "$(sorted $PROBE_CHECKS)"
	run fish_complete 'revenge-probe -'
	assert_equal "$output" "$(probe_global_flags)"
	for c in $PROBE_CHECKS; do
		run fish_complete "revenge-probe --timeout 5s $c -"
		assert_equal "$c: $output" "$c: $(probe_check_flags "$c")"
	done
	run fish_complete 'revenge-probe quality --expect '
	assert_equal "$output" "$(sorted up down none)"
}

@test "the probe's man page renders without warnings" {
	command -v groff >/dev/null || skip "groff is not installed"
	run groff -man -Tutf8 -ww -z "$PROBE_MAN"
	assert_success
	assert_output ''
	command -v man >/dev/null || skip "man is not installed"
	run env MANWIDTH=80 man --warnings -l "$PROBE_MAN"
	assert_success
	refute_output --partial 'warning'
}

# ---- revenge-party -----------------------------------------------------------
#
# revenge-party [OPTIONS] URL PARTY (tui/revenge-party/main.c): the
# completions offer its flags, files after --ca, two lengths after
# --duration and the default server as the first operand.

# Like complete_bash, for "revenge-party WORD...".
complete_party() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=(revenge-party "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_revenge_party || exit 1
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
	' complete_party "$PARTY_BASH" "$@"
}

# Every flag of revenge-party --help, one a line, sorted.
party_help_flags() {
	[ -x "$PARTY" ] || { echo "no binary at $PARTY (build it first)" >&2; return 1; }
	"$PARTY" --help >"$BATS_TEST_TMPDIR/party-help" || return 1
	{
		grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/party-help"
		grep -oE -- '^ +-[A-Za-z],' "$BATS_TEST_TMPDIR/party-help" | tr -d ' ,'
	} | sort -u
}

@test "party: help lists the flags the completions are checked against" {
	run party_help_flags
	assert_success
	assert_line -- --name
	assert_line -- --duration
	assert_line -- --insecure
	assert_line -- --ca
	assert_line -- -h
	assert_line -- -V
}

@test "party bash: -- offers every long flag of --help, - the short ones too" {
	run complete_party --
	assert_success
	assert_equal "$(sorted $output)" "$(party_help_flags | grep -- '^--')"
	run complete_party -
	assert_success
	assert_equal "$(sorted $output)" "$(party_help_flags)"
	run complete_party --dur
	assert_output -- --duration
	run complete_party --name ann --i
	assert_output -- --insecure
}

@test "party bash: the first operand offers the default server, split as bash does" {
	run complete_party ''
	assert_success
	assert_output ws://127.0.0.1:8080
	run complete_party w
	assert_output ws://127.0.0.1:8080
	# "ws://127" is split at ":" by bash: only the part after it is replaced
	run complete_party ws : //127
	assert_output //127.0.0.1:8080
	run complete_party ws : //127.0.0.1 : 80
	assert_output 8080
	# after options and their values too
	run complete_party --name ann --duration 1 : 30 : 00 --insecure --ca /dev/null ''
	assert_output ws://127.0.0.1:8080
	run complete_party --name = ann ws
	assert_output ws://127.0.0.1:8080
}

@test "party bash: after --duration offers 1:30:00 and 2:00:00" {
	run complete_party --duration ''
	assert_success
	assert_equal "$(sorted $output)" "$(sorted 1:30:00 2:00:00)"
	run complete_party --duration 2
	assert_output 2:00:00
	# split at ":" and "=" as bash does, and unsplit
	run complete_party --duration 1 : 3
	assert_output 30:00
	run complete_party --duration = 1
	assert_output 1:30:00
	run complete_party --duration=2
	assert_output --duration=2:00:00
}

@test "party bash: --token offers nothing, --token-file completes file names" {
	dir="$BATS_TEST_TMPDIR/tok"
	mkdir -p "$dir"
	touch "$dir/token.txt" "$dir/other"
	run complete_party --token ''
	assert_success
	assert_output ''
	run complete_party --token-file "$dir/t"
	assert_output "$dir/token.txt"
	run complete_party --token abc --token-file "$dir/token.txt" ''
	assert_output ws://127.0.0.1:8080
}

@test "party bash: after --ca completes file names" {
	dir="$BATS_TEST_TMPDIR/tls"
	mkdir -p "$dir/sub"
	touch "$dir/ca.pem" "$dir/cert.pem" "$dir/other.crt"
	run complete_party --ca "$dir/c"
	assert_success
	assert_equal "$(sorted $output)" "$(sorted "$dir/ca.pem" "$dir/cert.pem")"
	run complete_party --insecure --ca "$dir/"
	assert_line "$dir/other.crt"
	assert_line "$dir/sub"
	assert_equal "${#lines[@]}" 4
	# and then the server, as the first operand
	run complete_party --ca "$dir/ca.pem" ''
	assert_output ws://127.0.0.1:8080
}

@test "party bash: names, the party and help get no suggestions" {
	run complete_party --name ''
	assert_success
	assert_output ''
	run complete_party ws : //127.0.0.1 : 8080 ''
	assert_output ''
	run complete_party ws : //127.0.0.1 : 8080 movie-night ''
	assert_output ''
	run complete_party --help ''
	assert_output ''
	run complete_party -V -
	assert_output ''
	# after "--" a word starting with - is an operand, not a flag
	run complete_party -- -
	assert_output ''
}

@test "party drift: every --help flag is in the man page" {
	want=$(party_help_flags)
	[ -n "$want" ]
	run missing "$want" "$(file_flags "$PARTY_MAN" roff)"
	assert_output ''
}

@test "party drift: every --help flag is offered by the bash completion, and no other" {
	want=$(party_help_flags)
	[ -n "$want" ]
	offered=$(complete_party - | sort -u)
	run missing "$want" "$offered"
	assert_output ''
	run missing "$offered" "$want"
	assert_output ''
	run missing "$(file_flags "$PARTY_BASH" bash)" "$want"
	assert_output ''
}

@test "party drift: every --help flag is in the zsh completion, and no other" {
	want=$(party_help_flags)
	[ -n "$want" ]
	have=$(file_flags "$PARTY_ZSH" zsh)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "party drift: every --help flag is in the fish completion, and no other" {
	want=$(party_help_flags)
	[ -n "$want" ]
	have=$(file_flags "$PARTY_FISH" fish)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "the party's bash completion parses and registers _revenge_party" {
	run bash --norc --noprofile -n "$PARTY_BASH"
	assert_success
	run bash --norc --noprofile -c 'source "$1" && complete -p revenge-party' _ "$PARTY_BASH"
	assert_success
	assert_output 'complete -F _revenge_party revenge-party'
}

@test "the party's zsh completion parses (zsh -n)" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$PARTY_ZSH"
	assert_success
	run head -1 "$PARTY_ZSH"
	assert_output '#compdef revenge-party'
}

@test "the party's fish completion parses (fish -n) and completes" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish --no-config -n "$PARTY_FISH"
	assert_success
	fish_complete() {
		fish --no-config -c 'source $argv[1]; complete -C"$argv[2]"' "$PARTY_FISH" "$1" |
			cut -f1 | sort -u
	}
	run fish_complete 'revenge-party -'
	assert_equal "$output" "$(party_help_flags)"
	run fish_complete 'revenge-party --name ann '
	assert_output ws://127.0.0.1:8080
	run fish_complete 'revenge-party --duration '
	assert_equal "$output" "$(sorted 1:30:00 2:00:00)"
	run fish_complete 'revenge-party ws://127.0.0.1:8080 '
	assert_output ''
	dir="$BATS_TEST_TMPDIR/fishca"
	mkdir -p "$dir"
	touch "$dir/ca.pem"
	run fish_complete "revenge-party --ca $dir/c"
	assert_output "$dir/ca.pem"
}

@test "the party's man page renders without warnings" {
	command -v groff >/dev/null || skip "groff is not installed"
	run groff -man -Tutf8 -ww -z "$PARTY_MAN"
	assert_success
	assert_output ''
	command -v man >/dev/null || skip "man is not installed"
	run env MANWIDTH=80 man --warnings -l "$PARTY_MAN"
	assert_success
	refute_output --partial 'warning'
}

# ---- revenge-bench -----------------------------------------------------------
#
# revenge-bench [OPTIONS] SCENARIO [SCENARIO OPTIONS] (cmd/revenge-bench/main.c):
# global flags before the scenario, the scenario names, and after a scenario
# only that scenario's flags, as for the probe's checks.

# Like complete_bash, for "revenge-bench WORD...".
complete_bench() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		shift
		COMP_WORDS=(revenge-bench "$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_revenge_bench || exit 1
		((${#COMPREPLY[@]} == 0)) || printf "%s\n" "${COMPREPLY[@]}"
	' complete_bench "$BENCH_BASH" "$@"
}

# (without the paragraph that names revenge-server's flags to turn off:
# the server's, not the bench's)
bench_help() {
	[ -x "$BENCH" ] || { echo "no binary at $BENCH (build it first)" >&2; return 1; }
	"$BENCH" --help | sed '/^All the load comes from one address/,/^$/d' \
		>"$BATS_TEST_TMPDIR/bench-help" || return 1
	[ -s "$BATS_TEST_TMPDIR/bench-help" ]
}

# Every flag of revenge-bench --help, one a line, sorted.
bench_help_flags() {
	bench_help || return 1
	{
		grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/bench-help"
		grep -oE -- '^ +-[A-Za-z],' "$BATS_TEST_TMPDIR/bench-help" | tr -d ' ,'
	} | sort -u
}

# The global flags: those listed under "Options:".
bench_global_flags() {
	bench_help || return 1
	sed -n '/^Options:/,/^Scenarios:/p' "$BATS_TEST_TMPDIR/bench-help" >"$BATS_TEST_TMPDIR/bench-opts"
	{
		grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/bench-opts"
		grep -oE -- '^ +-[A-Za-z],' "$BATS_TEST_TMPDIR/bench-opts" | tr -d ' ,'
	} | sort -u
}

# The flags --help lists for scenario $1, on the option lines under it.
bench_scenario_flags() {
	bench_help || return 1
	awk -v c="$1" '
		/^Scenarios:/ { inside = 1; next }
		/^[^ ]/ { inside = 0 }
		inside && /^  [a-z]/ { cur = $1; next }
		inside && cur == c { print }
	' "$BATS_TEST_TMPDIR/bench-help" |
		# only the option lines: the descriptions mention other flags
		# ("hold them --duration", "at most --inflight unacked")
		{ grep -oE -- '^      --[a-z][a-z0-9-]*' || true; } | tr -d ' ' | sort -u
}

@test "bench: help lists the flags and scenarios the completions are checked against" {
	run bench_global_flags
	assert_success
	assert_equal "$output" "$(sorted --url --duration --connect-rate --src --token \
		--token-file --json --help --version -h -V)"
	run bench_scenario_flags connect
	assert_output "$(sorted --conns --raw --server-pid)"
	run bench_scenario_flags fanout
	assert_output "$(sorted --parties --members --rate --server-pid --redis-pid)"
	run bench_scenario_flags progress
	assert_output "$(sorted --sessions --inflight --rate)"
	run bench_scenario_flags chat
	assert_output "$(sorted --parties --members --rate --server-pid --redis-pid)"
	run bench_scenario_flags churn
	assert_output "$(sorted --parties --members --rate --churn --server-pid --redis-pid)"
	run bench_scenario_flags fill
	assert_output "$(sorted --parties --members --server-pid)"
	run bench_scenario_flags sync
	assert_output "$(sorted --members --delay --delay-up --delay-down --jitter --jitter-dist --skew-ppm \
		--seed --rejoin)"
}

@test "bench bash: the first word, and after global flags, offers the scenario names" {
	run complete_bench ''
	assert_success
	assert_equal "$(sorted $output)" "$(sorted $BENCH_SCENARIOS)"
	run complete_bench fa
	assert_output fanout
	run complete_bench fi
	assert_output fill
	run complete_bench --json --duration 5s --connect-rate 500 --url ws://127.0.0.1:8080 ''
	assert_equal "$(sorted $output)" "$(sorted $BENCH_SCENARIOS)"
	# the URL and = split as bash does
	run complete_bench --url ws : //127.0.0.1 : 8080 --duration = 5s pr
	assert_output progress
	# one scenario only
	run complete_bench connect ''
	assert_output ''
}

@test "bench bash: - before the scenario offers exactly the global flags" {
	run complete_bench -
	assert_success
	assert_equal "$(sorted $output)" "$(bench_global_flags)"
	run complete_bench --json --con
	assert_output -- --connect-rate
}

@test "bench bash: after each scenario, - offers exactly that scenario's flags" {
	for c in $BENCH_SCENARIOS; do
		run complete_bench --json "$c" -
		assert_success
		assert_equal "$c: $(sorted $output)" "$c: $(bench_scenario_flags "$c")"
	done
	run complete_bench fanout --parties 10 --m
	assert_output -- --members
	# --raw takes no value: the next word is a flag again
	run complete_bench connect --raw --c
	assert_output -- --conns
	run complete_bench connect --raw ''
	assert_output ''
	run complete_bench progress --rate = 1000 --in
	assert_output -- --inflight
	run complete_bench --src 127.0.0.1-8 churn --parties 3 --ch
	assert_output -- --churn
	run complete_bench --src ''
	assert_output ''
	run complete_bench --src 127.0.0.1-8 ch
	assert_equal "$(sorted $output)" "$(sorted chat churn)"
	# global flags are not offered after the scenario
	run complete_bench connect --j
	assert_output ''
	# values get no suggestions
	run complete_bench connect --conns ''
	assert_output ''
	run complete_bench --duration ''
	assert_output ''
	run complete_bench --help ''
	assert_output ''
	run complete_bench nosuch -
	assert_output ''
}

@test "bench bash: --token offers nothing, --token-file completes file names" {
	dir="$BATS_TEST_TMPDIR/tok"
	mkdir -p "$dir"
	touch "$dir/token.txt" "$dir/other"
	run complete_bench --token ''
	assert_success
	assert_output ''
	run complete_bench --token-file "$dir/t"
	assert_output "$dir/token.txt"
	run complete_bench --token-file = "$dir/t"
	assert_output "$dir/token.txt"
	run complete_bench --token-file="$dir/t"
	assert_output "--token-file=$dir/token.txt"
	run complete_bench --token abc --token-file "$dir/token.txt" con
	assert_output connect
}

@test "bench drift: every --help flag is in the man page" {
	want=$(bench_help_flags)
	[ -n "$want" ]
	run missing "$want" "$(file_flags "$BENCH_MAN" roff)"
	assert_output ''
}

@test "bench drift: every --help flag is offered by the bash completion, and no other" {
	want=$(bench_help_flags)
	[ -n "$want" ]
	offered=$({
		complete_bench -
		for c in $BENCH_SCENARIOS; do complete_bench "$c" -; done
	} | sort -u)
	run missing "$want" "$offered"
	assert_output ''
	run missing "$offered" "$want"
	assert_output ''
	run missing "$(file_flags "$BENCH_BASH" bash)" "$want"
	assert_output ''
}

@test "bench drift: every --help flag is in the zsh completion, and no other" {
	want=$(bench_help_flags)
	[ -n "$want" ]
	have=$(file_flags "$BENCH_ZSH" zsh)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "bench drift: every --help flag is in the fish completion, and no other" {
	want=$(bench_help_flags)
	[ -n "$want" ]
	have=$(file_flags "$BENCH_FISH" fish)
	run missing "$want" "$have"
	assert_output ''
	run missing "$have" "$want"
	assert_output ''
}

@test "the bench's bash completion parses and registers _revenge_bench" {
	run bash --norc --noprofile -n "$BENCH_BASH"
	assert_success
	run bash --norc --noprofile -c 'source "$1" && complete -p revenge-bench' _ "$BENCH_BASH"
	assert_success
	assert_output 'complete -F _revenge_bench revenge-bench'
}

@test "the bench's zsh completion parses (zsh -n), URLs in a helper" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$BENCH_ZSH"
	assert_success
	run head -1 "$BENCH_ZSH"
	assert_output '#compdef revenge-bench'
	# a URL's colons inside an _arguments spec would end it
	run grep -E ':\(ws' "$BENCH_ZSH"
	assert_failure
}

@test "the bench's fish completion parses (fish -n) and completes per scenario" {
	command -v fish >/dev/null || skip "fish is not installed"
	run fish --no-config -n "$BENCH_FISH"
	assert_success
	fish_complete() {
		fish --no-config -c 'source $argv[1]; complete -C"$argv[2]"' "$BENCH_FISH" "$1" |
			cut -f1 | sort -u
	}
	run fish_complete 'revenge-bench --json '
	assert_equal "$output" "$(sorted $BENCH_SCENARIOS)"
	run fish_complete 'revenge-bench -'
	assert_equal "$output" "$(bench_global_flags)"
	for c in $BENCH_SCENARIOS; do
		run fish_complete "revenge-bench --duration 5s $c -"
		assert_equal "$c: $output" "$c: $(bench_scenario_flags "$c")"
	done
}

@test "the bench's man page renders without warnings" {
	command -v groff >/dev/null || skip "groff is not installed"
	run groff -man -Tutf8 -ww -z "$BENCH_MAN"
	assert_success
	assert_output ''
	command -v man >/dev/null || skip "man is not installed"
	run env MANWIDTH=80 man --warnings -l "$BENCH_MAN"
	assert_success
	refute_output --partial 'warning'
}

@test "bash: the first word offers the token subcommand, which offers its own flags and values" {
	run complete_bash t
	assert_output token
	run complete_bash token --
	assert_success
	got=$(printf '%s\n' "$output" | sort -u)
	want=$(main_help_flags token | grep -- '^--')
	assert_equal "$got" "$want"
	run complete_bash token --role ''
	assert_output "$(printf 'host\nmember')"
	run complete_bash --listen 127.0.0.1:0 t
	assert_output ''
}


@test "bash: the admin subcommand offers its flags, a token file, then the commands after the URL" {
	run complete_bash a
	assert_output admin
	run complete_bash admin --
	assert_success
	got=$(printf '%s\n' "$output" | sort -u)
	want=$(main_help_flags admin | grep -- '^--')
	assert_equal "$got" "$want"
	run complete_bash admin --token abc http://127.0.0.1:9090 ''
	assert_output "$(printf 'list\nshow\nclose\nremove')"
	run complete_bash admin http://127.0.0.1:9090 s
	assert_output show
	run complete_bash admin http://127.0.0.1:9090 show ''
	assert_output ''
	run complete_bash --metrics-listen ''
	assert_output "$(printf '127.0.0.1:9090\n[::1]:9090\n127.0.0.1:0')"
	dir="$BATS_TEST_TMPDIR/adm"
	mkdir -p "$dir"
	touch "$dir/admin.tok"
	run complete_bash admin --token-file "$dir/a"
	assert_output "$dir/admin.tok"
}

@test "bash: the first word offers the migrate subcommand, which offers its own flags and files" {
	run complete_bash m
	assert_output migrate
	run complete_bash migrate --
	assert_success
	got=$(printf '%s\n' "$output" | sort -u)
	want=$(main_help_flags migrate | grep -- '^--')
	assert_equal "$got" "$want"
	dir="$BATS_TEST_TMPDIR/mig"
	mkdir -p "$dir"
	touch "$dir/revenge.db"
	run complete_bash migrate --from "$dir/r"
	assert_output "$dir/revenge.db"
	# a URL: nothing to offer
	run complete_bash migrate --from "$dir/revenge.db" --to ''
	assert_output ''
}

@test "bash: the first word offers the backup subcommand, which offers its own flags and completes FILE and --db as files" {
	run complete_bash b
	assert_output backup
	run complete_bash backup --
	assert_success
	got=$(printf '%s\n' "$output" | sort -u)
	want=$(main_help_flags backup | grep -- '^--')
	assert_equal "$got" "$want"
	dir="$BATS_TEST_TMPDIR/bk"
	mkdir -p "$dir"
	touch "$dir/revenge.db"
	run complete_bash backup --db "$dir/r"
	assert_output "$dir/revenge.db"
	run complete_bash backup --db "$dir/revenge.db" "$dir/r"
	assert_output "$dir/revenge.db"
}
