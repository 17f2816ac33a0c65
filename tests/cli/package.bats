#!/usr/bin/env bats
# debian/: dpkg-buildpackage -us -uc -b builds the four packages offline
# from a copy of the tree (the worktree stays clean); each .deb holds what
# it should; the server package, extracted into a scratch root, runs.
# Cost: a whole build (noopt, no debug symbols packages) plus debhelper's
# steps: about 1-2 minutes on a loaded 2-core machine.
load helpers

ROOT="$BATS_TEST_DIRNAME/../.."

setup_file() {
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		skip "dpkg-dev or debhelper is not installed (scripts/deps.sh installs them)"
	W="$BATS_FILE_TMPDIR/w"
	mkdir -p "$W/src"
	git -C "$ROOT" status --porcelain --ignored >"$W/status.before"
	# the files git knows, committed or not: what a release would hold
	(cd "$ROOT" && git ls-files -co --exclude-standard -z) |
		tar -C "$ROOT" --null -T - -cf - | tar -C "$W/src" -xf -
	(cd "$W/src" && DEB_BUILD_OPTIONS="nocheck noopt noddebs parallel=2" \
		dpkg-buildpackage -us -uc -b >"$W/build.log" 2>&1) || {
		tail -n 40 "$W/build.log" >&2
		return 1
	}
	git -C "$ROOT" status --porcelain --ignored >"$W/status.after"
	export W
}

# files DEB: the regular files and links of a package, one a line.
files() {
	dpkg-deb -c "$W/$1" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\./|/|' | sort
}

@test "four packages, each with its files" {
	run ls "$W"
	assert_output --partial librevenge0_0.1.0_
	run files "revenge-server_0.1.0_$(dpkg --print-architecture).deb"
	for f in /usr/bin/revenge-server /usr/share/man/man1/revenge-server.1.gz \
		/lib/systemd/system/revenge-server.service /etc/revenge/revenge-server.conf \
		/usr/share/bash-completion/completions/revenge-server \
		/usr/share/zsh/vendor-completions/_revenge-server \
		/usr/share/fish/vendor_completions.d/revenge-server.fish; do
		assert_line "$f"
	done
	refute_output --partial revenge-probe
	run files "revenge-tools_0.1.0_$(dpkg --print-architecture).deb"
	for c in revenge-probe revenge-bench revenge-party; do
		assert_line "/usr/bin/$c"
		assert_line "/usr/share/man/man1/$c.1.gz"
		assert_line "/usr/share/bash-completion/completions/$c"
		assert_line "/usr/share/zsh/vendor-completions/_$c"
		assert_line "/usr/share/fish/vendor_completions.d/$c.fish"
	done
	refute_output --partial revenge-server
	run files "librevenge0_0.1.0_$(dpkg --print-architecture).deb"
	assert_line --regexp '^/usr/lib/[a-z0-9_-]+/librevenge\.so\.0$'
	refute_output --partial include
	run files "librevenge-dev_0.1.0_$(dpkg --print-architecture).deb"
	assert_line "/usr/include/revenge/revenge.h"
	assert_line "/usr/include/revenge/store_backup.h"
	assert_line --regexp '^/usr/lib/[a-z0-9_-]+/pkgconfig/revenge\.pc$'
	assert_line --regexp '^/usr/lib/[a-z0-9_-]+/librevenge\.so$'
	assert_line --regexp '^/usr/lib/[a-z0-9_-]+/librevenge\.a$'
	# the configuration is a conffile; the unit is enabled on install
	dpkg-deb -e "$W/revenge-server_0.1.0_$(dpkg --print-architecture).deb" "$W/ctl"
	run cat "$W/ctl/conffiles"
	assert_output /etc/revenge/revenge-server.conf
	run grep -c 'revenge-server.service' "$W/ctl/postinst"
	refute_output 0
	# the build left nothing in the worktree
	run diff "$W/status.before" "$W/status.after"
	assert_success
}

@test "the server package extracted into a scratch root runs revenge-server --version and its unit points at it" {
	local root="$W/root" arch
	arch=$(dpkg --print-architecture)
	dpkg-deb -x "$W/revenge-server_0.1.0_$arch.deb" "$root"
	dpkg-deb -x "$W/librevenge0_0.1.0_$arch.deb" "$root"
	LD_LIBRARY_PATH="$(echo "$root"/usr/lib/*-linux-gnu)" run "$root/usr/bin/revenge-server" --version
	assert_success
	assert_output "revenge-server 0.1.0"
	run grep '^ExecStart=' "$root/lib/systemd/system/revenge-server.service"
	assert_output "ExecStart=/usr/bin/revenge-server --log-format json"
	run "$root/usr/bin/revenge-server" --config "$root/etc/revenge/revenge-server.conf" --check-config
	assert_success
	run dpkg-deb -x "$W/revenge-tools_0.1.0_$arch.deb" "$root"
	run "$root/usr/bin/revenge-probe" --version
	assert_output "revenge-probe 0.1.0"
}

@test "make dist: a source tarball of what git tracks, with debian/ and the unit" {
	run make -s -C "$ROOT" dist
	assert_success
	assert_output "revenge-0.1.0.tar.gz"
	mv "$ROOT/revenge-0.1.0.tar.gz" "$BATS_TEST_TMPDIR/"
	run tar -tzf "$BATS_TEST_TMPDIR/revenge-0.1.0.tar.gz"
	assert_line revenge-0.1.0/Makefile
	assert_line revenge-0.1.0/debian/control
	assert_line revenge-0.1.0/dist/systemd/revenge-server.service.in
	assert_line revenge-0.1.0/cmd/revenge-server/main.c
	refute_line --regexp '^revenge-0.1.0/(build|bin|var)/'
}
