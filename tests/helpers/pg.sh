#!/usr/bin/env bash
# tests/helpers/pg.sh - a private PostgreSQL for the tests: initdb into a
# directory of its own, listening on 127.0.0.1 on a free port and on a unix
# socket in that directory; as the unprivileged user nobody when run as
# root (PostgreSQL refuses to run as root).
#
#   pg.sh start DIR       initdb DIR (if empty) and start; prints the base URL
#                         (postgresql://revenge@127.0.0.1:PORT) on stdout
#   pg.sh stop DIR        stop it (fast shutdown), bounded; no-op if not running
#   pg.sh kill DIR        kill -9 the postmaster (a crash), for tests
#   pg.sh restart DIR     start again on the same port after stop or kill
#   pg.sh url DIR [DB]    the URL of database DB (default revenge)
#   pg.sh createdb DIR DB create database DB if it does not exist
#   pg.sh run -- CMD...   start one in a temp dir, run CMD with
#                         REVENGE_TEST_PG_DIR set (the bats helpers then use
#                         it: REVENGE_TEST_STORE=postgres), stop and remove it
#
# Settings are for tests: small shared_buffers, few connections; fsync stays
# on, so the durability tests mean what they say. Every wait is bounded.
set -eu

PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PGBIN/initdb" ] || { echo "pg.sh: no PostgreSQL server binaries (apt-get install postgresql)" >&2; exit 1; }

as_owner() { # run as the data directory's owner (nobody under root)
	if [ "$(id -u)" = 0 ]; then
		setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"
	else
		"$@"
	fi
}

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

alive() { # PID: running (a zombie is dead enough: nobody may reap it here)
	case "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" in
	""|Z) return 1 ;;
	esac
	return 0
}

pm_alive() { # DIR: its postmaster runs
	local pid
	pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && alive "$pid"
}

pg_start() { # DIR
	local dir=$1 port
	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	# nobody must reach the directory: its parents too (a 0700 temp dir
	# under root would stop it), so the data lives where nobody can go.
	if [ "$(id -u)" = 0 ]; then
		chown nobody:nogroup "$dir"
		local d=$dir
		while [ "$d" != / ]; do
			d=$(dirname "$d")
			[ -x "$d" ] && setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$d" ||
				{ echo "pg.sh: nobody cannot reach $dir (a parent is closed); use a directory under /tmp" >&2; return 1; }
		done
	fi
	if [ ! -f "$dir/data/PG_VERSION" ]; then
		as_owner "$PGBIN/initdb" -D "$dir/data" -U revenge --auth=trust -E UTF8 --no-sync \
			--locale=C >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; return 1; }
	fi
	if pm_alive "$dir"; then
		echo "postgresql://revenge@127.0.0.1:$(cat "$dir/port")"
		return 0
	fi
	port=$(cat "$dir/port" 2>/dev/null || free_port)
	echo "$port" >"$dir/port"
	[ "$(id -u)" = 0 ] && chown nobody:nogroup "$dir/port"
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 30 \
		-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c shared_buffers=16MB -c max_connections=40 -c log_min_messages=warning" \
		start >/dev/null || { cat "$dir/postgres.log" >&2; return 1; }
	as_owner "$PGBIN/psql" -h "$dir" -p "$port" -U revenge -d postgres -qAt \
		-c "SELECT 1 FROM pg_database WHERE datname = 'revenge'" | grep -q 1 ||
		as_owner "$PGBIN/createdb" -h "$dir" -p "$port" -U revenge revenge
	echo "postgresql://revenge@127.0.0.1:$port"
}

pg_stop() { # DIR
	local dir=$1
	pm_alive "$dir" || return 0
	as_owner "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || pg_kill "$dir"
}

pg_kill() { # DIR
	local dir=$1 pid kids i
	pid=$(head -n 1 "$dir/data/postmaster.pid" 2>/dev/null) || return 0
	# its children too, named before they lose their parent: a backend
	# left alive holds the shared memory and the next start would refuse
	kids=$(pgrep -P "$pid" 2>/dev/null || true)
	kill -KILL "$pid" $kids 2>/dev/null || true
	for i in $(seq 1 100); do
		local any=0 p
		for p in $pid $kids; do
			alive "$p" && any=1
		done
		[ "$any" = 0 ] && break
		sleep 0.05
	done
	# A zombie postmaster nobody reaps still passes PostgreSQL's own
	# kill(pid, 0) test of its lock file, and the next start would refuse
	# ("lock file already exists"): it is dead, the lock is stale.
	alive "$pid" || rm -f "$dir/data/postmaster.pid" "$dir"/.s.PGSQL.*
}

pg_createdb() { # DIR DB
	local dir=$1 db=$2 port
	port=$(cat "$dir/port")
	as_owner "$PGBIN/psql" -h "$dir" -p "$port" -U revenge -d postgres -qAt \
		-c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 ||
		as_owner "$PGBIN/createdb" -h "$dir" -p "$port" -U revenge "$db"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
start) pg_start "$1" ;;
stop) pg_stop "$1" ;;
kill) pg_kill "$1" ;;
restart) pg_start "$1" >/dev/null ;;
url) echo "postgresql://revenge@127.0.0.1:$(cat "$1/port")/${2:-revenge}" ;;
createdb) pg_createdb "$1" "$2" ;;
run)
	[ "${1:-}" = -- ] && shift
	dir=$(mktemp -d /tmp/revenge-pg.XXXXXX)
	chmod 755 "$dir"
	trap 'pg_stop "$dir"; rm -rf "$dir"' EXIT
	pg_start "$dir" >/dev/null
	rc=0
	REVENGE_TEST_PG_DIR=$dir "$@" || rc=$?
	exit $rc
	;;
*)
	sed -n '2,20p' "$0" >&2
	exit 2
	;;
esac
