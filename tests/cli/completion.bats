#!/usr/bin/env bats
# tests/cli/completion.bats - shell completions and the man page, against
# revenge-server --help.
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
	BUILD="${REVENGE_BUILD:-$BATS_TEST_DIRNAME/../../build}"
	SERVER="$BUILD/bin/revenge-server"
	MAN="$ROOT/docs/man/revenge-server.1"
	BASH_COMP="$ROOT/completions/revenge-server.bash"
	ZSH_COMP="$ROOT/completions/_revenge-server"
	FISH_COMP="$ROOT/completions/revenge-server.fish"
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
help_flags() {
	[ -x "$SERVER" ] || { echo "no binary at $SERVER (build it first)" >&2; return 1; }
	"$SERVER" --help >"$BATS_TEST_TMPDIR/help" || return 1
	{
		grep -oE -- '--[a-z][a-z0-9-]*' "$BATS_TEST_TMPDIR/help"
		grep -oE -- '^ +-[A-Za-z],' "$BATS_TEST_TMPDIR/help" | tr -d ' ,'
	} | sort -u
}

help_long_flags() {
	help_flags | grep -- '^--'
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
	offered=$(complete_bash - | sort -u)
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
