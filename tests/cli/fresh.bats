#!/usr/bin/env bats
# A fresh machine: `make run` and `make test` install the packages (deps)
# and only then read pkg-config's flags, so both work on the first try.
#
# The machine's packages are hidden by a pkg-config that finds nothing until
# the stand-in for scripts/deps.sh has run (it creates a marker), in a copy
# of the tree with no build: the same order of events as a machine where
# apt-get installs the -dev packages while make runs.
load helpers

ROOT="$BATS_TEST_DIRNAME/../.."

setup() {
	# The Makefile is under test, not the code: once is enough.
	case "$REVENGE_BUILD" in
	*asan*) [ -z "${REVENGE_PLAIN_PASS:-}" ] || skip "Makefile test: run in the plain pass" ;;
	esac
	TREE="$BATS_TEST_TMPDIR/tree"
	MARK="$BATS_TEST_TMPDIR/deps-installed"
	mkdir -p "$TREE" "$BATS_TEST_TMPDIR/bin"
	git -C "$ROOT" ls-files -co --exclude-standard -z |
		(cd "$ROOT" && tar --null -T - -cf -) | tar -C "$TREE" -xf -
	cat >"$BATS_TEST_TMPDIR/bin/pkg-config" <<EOF2
#!/bin/sh
# finds nothing until deps has "installed" the packages
[ -e "$MARK" ] && exec /usr/bin/pkg-config "\$@"
PKG_CONFIG_LIBDIR="$BATS_TEST_TMPDIR/empty" PKG_CONFIG_PATH= exec /usr/bin/pkg-config "\$@"
EOF2
	chmod +x "$BATS_TEST_TMPDIR/bin/pkg-config"
	export PATH="$BATS_TEST_TMPDIR/bin:$PATH" MARK
	# The order of deps, flags and link is under test, not the code: build
	# it unoptimised and without debug info (a command-line variable
	# reaches the second make too), a third of the compile time
	FAST=(OPT=-O0)
}

@test "the fake machine really lacks the packages: a plain build stops with a clear message" {
	run pkg-config --exists libwebsockets
	assert_failure
	run make -C "$TREE" --no-print-directory all
	assert_failure
	# the message names every package the Makefile asks pkg-config for
	pkgs="$(sed -n 's/^PKGS *:= *//p' "$TREE/Makefile") $(sed -n 's/^SERVER_PKGS *:= *//p' "$TREE/Makefile")"
	[ -n "${pkgs// /}" ]
	assert_output --partial "pkg-config cannot find $pkgs: run 'make deps'"
	refute_output --partial 'undefined reference'
}

@test "make run on a fresh machine: deps, then a build that links, then the server" {
	run make -C "$TREE" --no-print-directory -j2 run DEPS_SCRIPT="touch $MARK" RUN_FLAGS=--version "${FAST[@]}"
	assert_success
	assert_output --regexp 'revenge-server [0-9.]+'
	refute_output --partial 'undefined reference'
	[ -x "$TREE/build/bin/revenge-server" ]
	[ -x "$TREE/build/bin/revenge-party" ]
	[ -L "$TREE/bin/revenge-server" ]
}

@test "make test on a fresh machine: deps, then the tests' own build links" {
	run make -C "$TREE" --no-print-directory -j2 test DEPS_SCRIPT="touch $MARK" "${FAST[@]}" \
		TEST_CMD='$(MAKE) --no-print-directory -s build/tests/test_backoff && build/tests/test_backoff'
	assert_success
	assert_output --partial 'PASSED'
	refute_output --partial 'undefined reference'
}
