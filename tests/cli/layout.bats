#!/usr/bin/env bats
# The house's shape, kept true: no circle of files in the library (by
# includes and by the calls between its object files), commands and the
# terminal client on the public headers only, a comment atop every file.
load helpers

ROOT="$BATS_TEST_DIRNAME/../.."
CHECK="$PYHELP/layout_check.py"

@test "the tree keeps its layout: no circles, public headers only outside lib/" {
	run "$PY" "$CHECK" --objects "$REVENGE_BUILD/lib" "$ROOT"
	assert_success
	assert_output ''
}

@test "the layout check sees a circle of calls that a shared header hides" {
	local d="$BATS_TEST_TMPDIR/t"
	mkdir -p "$d/lib/include/revenge" "$d/obj"
	printf '/* shared.h - both */\nint a(int);\nint b(int);\n' >"$d/lib/shared.h"
	printf '/* a.c - calls b */\n#include "shared.h"\nint a(int n) { return n ? b(n - 1) : 0; }\n' >"$d/lib/a.c"
	printf '/* b.c - calls a */\n#include "shared.h"\nint b(int n) { return n ? a(n - 1) : 1; }\n' >"$d/lib/b.c"
	cc -c -o "$d/obj/a.o" "$d/lib/a.c"
	cc -c -o "$d/obj/b.o" "$d/lib/b.c"
	run "$PY" "$CHECK" --objects "$d/obj" "$d"
	assert_failure
	assert_output --partial 'call each other in a circle: a -> b'
}

@test "the layout check sees circular includes, internal headers in commands, files without a comment" {
	local d="$BATS_TEST_TMPDIR/t"
	mkdir -p "$d/lib/include/revenge" "$d/cmd/tool"
	printf '/* x.h */\n#include "y.h"\n' >"$d/lib/x.h"
	printf '/* y.h */\n#include "x.h"\n' >"$d/lib/y.h"
	printf '/* revenge/pub.h */\n#include "x.h"\n' >"$d/lib/include/revenge/pub.h"
	printf '#include "x.h"\nint main(void) { return 0; }\n' >"$d/cmd/tool/main.c"
	run "$PY" "$CHECK" "$d"
	assert_failure
	assert_output --partial 'lib: modules include each other in a circle: x -> y'
	assert_output --partial 'cmd/tool/main.c: includes lib/x.h, an internal header'
	assert_output --partial 'cmd/tool/main.c: does not open with a comment'
	assert_output --partial 'a public header includes "x.h"'
}
