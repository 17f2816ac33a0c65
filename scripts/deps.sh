#!/bin/sh
# scripts/deps.sh - make sure the build and test dependencies are installed.
#
# On Debian/Ubuntu, installs whatever is missing with apt-get (as root, or
# through sudo). Elsewhere prints the exact Debian package names and fails,
# so the user knows what to install with their own package manager.
#   scripts/deps.sh          build + test dependencies
#   scripts/deps.sh --check  only report, install nothing (exit 1 if missing)
set -eu

# libb64-dev: Debian's libjwt.pc names -lb64 for a static link (pkg-config
# --static), but libjwt-dev does not depend on it. nginx: tests/cli/proxy.bats
# puts a real nginx in front of the server (docs/deployment.md's recipe).
# debhelper: `dpkg-buildpackage -us -uc -b` of debian/ (tests/cli/package.bats).
# curl: the bats tests ask /healthz, /metrics and the admin API with it
# (admin.bats, fdlimit.bats).
# xxd: the build compiles the web client (web/) into revenge-server with
# xxd -i. chromium and ffmpeg: tests/cli/web.bats plays a video made by
# ffmpeg in real headless Chromium pages (nothing downloads a browser).
PKGS="build-essential pkg-config
libwebsockets-dev libjansson-dev libjwt-dev libb64-dev libuv1-dev libev-dev libssl-dev zlib1g-dev
libsqlite3-dev libpq-dev postgresql libinih-dev libncurses-dev libreadline-dev libcap-dev libhiredis-dev redis-server
debhelper libcmocka-dev bats bats-assert bats-support parallel clang libclang-rt-14-dev
python3 python3-websockets python3-jwt python3-cryptography nodejs node-ws openssl tmux valgrind procps nginx curl
xxd chromium ffmpeg"

check_only=0
[ "${1:-}" = "--check" ] && check_only=1

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
	echo "deps: not a Debian/Ubuntu system; install the equivalents of these Debian packages:" >&2
	echo "  $(echo $PKGS)" >&2
	exit 1
fi

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$st" in
	*" installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$check_only" = 1 ]; then
	echo "deps: missing:$missing" >&2
	exit 1
fi

if [ "$(id -u)" = 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "deps: missing packages and no root or sudo; as root run:" >&2
	echo "  apt-get install -y$missing" >&2
	exit 1
fi

echo "deps: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An install on a fresh machine needs the package lists first.
if ! $SUDO apt-get install -y -qq $missing >/dev/null 2>&1; then
	$SUDO apt-get update -qq
	$SUDO apt-get install -y -qq $missing
fi
