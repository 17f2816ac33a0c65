#!/usr/bin/env bats
# make install honours PREFIX and DESTDIR, and what it installs is usable.
load helpers

ROOT="$BATS_TEST_DIRNAME/../.."

@test "make install PREFIX=/opt/rv DESTDIR=... installs everything, and a program builds against it" {
	local dest="$BATS_TEST_TMPDIR/dest" p="$BATS_TEST_TMPDIR/dest/opt/rv"
	run make -s -C "$ROOT" install PREFIX=/opt/rv DESTDIR="$dest"
	assert_success
	for f in bin/revenge-server bin/revenge-probe share/man/man1/revenge-probe.1 \
		bin/revenge-party share/man/man1/revenge-party.1 \
		bin/revenge-bench share/man/man1/revenge-bench.1 share/zsh/site-functions/_revenge-bench \
		share/bash-completion/completions/revenge-probe lib/librevenge.a lib/librevenge.so.0 lib/librevenge.so \
		include/revenge/revenge.h include/revenge/proto.h include/revenge/party.h \
		lib/pkgconfig/revenge.pc share/man/man1/revenge-server.1 \
		share/bash-completion/completions/revenge-server \
		share/zsh/site-functions/_revenge-server; do
		[ -e "$p/$f" ] || fail "missing $f"
	done
	# fish looks in no prefix of ours: its own vendor directory
	for f in revenge-party revenge-server revenge-probe revenge-bench; do
		[ -e "$dest/usr/share/fish/vendor_completions.d/$f.fish" ] || fail "missing $f.fish"
	done
	run grep '^prefix=/opt/rv$' "$p/lib/pkgconfig/revenge.pc"
	assert_success
	"$p/bin/revenge-server" --version
	cat >"$BATS_TEST_TMPDIR/t.c" <<'EOF2'
#include <stdio.h>
#include <string.h>
#include <revenge/revenge.h>
int main(void)
{
	struct rv_msg m;
	struct rv_proto_error e;
	const char *t = "{\"type\":\"chat\",\"payload\":{\"text\":\"hi\"}}";
	if (rv_proto_decode(t, strlen(t), &m, &e))
		return 1;
	printf("%s %s %s\n", rv_version(), rv_msg_type_name(m.type), m.u.chat.text);
	rv_msg_clear(&m);
	return 0;
}
EOF2
	export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$p/lib/pkgconfig"
	run pkg-config --libs revenge
	assert_output --partial -- "-lev"
	run cc -o "$BATS_TEST_TMPDIR/t" "$BATS_TEST_TMPDIR/t.c" $(pkg-config --cflags --libs revenge) \
		$(pkg-config --libs libwebsockets jansson)
	assert_success
	LD_LIBRARY_PATH="$p/lib" run "$BATS_TEST_TMPDIR/t"
	assert_output --regexp '^[0-9.]+ chat hi$'
	run make -s -C "$ROOT" uninstall PREFIX=/opt/rv DESTDIR="$dest"
	assert_success
	run find "$p" "$dest/usr" -type f
	assert_output ''
}

@test "the installed revenge.pc links a static program with --static alone, and the headers serve C++" {
	local dest="$BATS_TEST_TMPDIR/dest" p="$BATS_TEST_TMPDIR/dest/opt/rv"
	run make -s -C "$ROOT" install PREFIX=/opt/rv DESTDIR="$dest"
	assert_success
	# rv_server_run pulls in the send path, which needs zlib (deflate)
	cat >"$BATS_TEST_TMPDIR/s.c" <<'EOF2'
#include <stdio.h>
#include <revenge/revenge.h>
int main(int argc, char **argv)
{
	struct rv_server_config cfg;
	rv_server_config_defaults(&cfg);
	if (argc > 5)
		return rv_server_run(&cfg);
	printf("%s %d\n", rv_version(), cfg.port);
	return 0;
}
EOF2
	export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$p/lib/pkgconfig"
	run pkg-config --static --libs revenge
	assert_output --partial '-lz'
	run cc -o "$BATS_TEST_TMPDIR/s" "$BATS_TEST_TMPDIR/s.c" $(pkg-config --cflags revenge) \
		"$p/lib/librevenge.a" $(pkg-config --static --libs revenge | sed 's/-lrevenge//')
	assert_success
	run "$BATS_TEST_TMPDIR/s"
	assert_output --regexp '^[0-9.]+ 8080$'
	cp "$BATS_TEST_TMPDIR/s.c" "$BATS_TEST_TMPDIR/s.cc"
	run g++ -std=c++17 -Wall -Werror -fsyntax-only $(pkg-config --cflags revenge libwebsockets jansson) \
		"$BATS_TEST_TMPDIR/s.cc"
	assert_success
}

