#!/usr/bin/env bats
# revenge-server --config FILE and --check-config: a real server started
# from a file, flags over the file, the effective settings with secrets
# masked, errors that name FILE:LINE, and docs/examples/revenge-server.conf
# kept in step with the flags (every flag a key in it, and nothing else).
load helpers

EXAMPLE="$BATS_TEST_DIRNAME/../../docs/examples/revenge-server.conf"

teardown() {
	stop_server || true
}

# start_conf CONF [FLAGS...]: start the server with --config CONF (and
# nothing else but FLAGS).
start_conf() {
	start_raw "$SERVER" --config "$@"
}

# check CONF [FLAGS...]: run --check-config on CONF.
check() {
	run timeout 10 "$SERVER" --check-config --config "$@"
}

# The keys of the example file: its "#key = value" lines.
example_keys() {
	sed -nE 's/^#([a-z][a-z-]*) = .*/\1/p' "$EXAMPLE" | sort -u
}

@test "a real server started from a config file: listen, store, log format and limits from the file" {
	local conf="$BATS_TEST_TMPDIR/rs.conf" db="$BATS_TEST_TMPDIR/from-conf.db"
	cat >"$conf" <<-EOF
	; a service's configuration
	[server]
	listen = 127.0.0.1:0
	[store]
	db = $db
	session-ttl = 3600
	[party]
	history = 3
	[log]
	log-format = json
	log-level = info
	EOF
	start_conf "$conf"
	run http_get /healthz
	assert_line --index 0 200
	# the store is the file's
	[ -f "$db" ] || fail "no store at $db"
	# the log lines are JSON, and one says which file was read
	run "$PY" -c 'import json,sys
lines=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert any(l.get("event")=="config" and sys.argv[2] in l.get("msg","") for l in lines), lines' \
		"$SERVER_LOG" "$conf"
	assert_success
	# history = 3: a joiner is welcomed with the last 3 of 5 chat messages
	run py "$PYHELP/party_check.py" "$URL" history_limit
	assert_success
}

@test "flags override the file; a repeatable flag replaces the file's list" {
	local conf="$BATS_TEST_TMPDIR/rs.conf" a="$BATS_TEST_TMPDIR/a.db" b="$BATS_TEST_TMPDIR/b.db"
	cat >"$conf" <<-EOF
	listen = 127.0.0.1:0
	db = $a
	log-format = json
	origin = a.example
	origin = b.example
	history = 7
	EOF
	start_conf "$conf" --db "$b" --log-format text
	[ -f "$b" ] || fail "--db did not win"
	[ ! -e "$a" ] || fail "the file's db was opened too"
	grep -q 'revenge-server info: listening' "$SERVER_LOG" || fail "log not text: $(cat "$SERVER_LOG")"
	stop_server
	check "$conf" --origin c.example --history 9
	assert_success
	assert_line --regexp '^origin = c\.example +; command line$'
	refute_line --partial 'a.example'
	assert_line --regexp '^history = 9 +; command line$'
	assert_line --regexp "^log-format = json +; $conf:3\$"
	# without flags, both origins, each with its own line
	check "$conf"
	assert_line --regexp "^origin = a\\.example +; $conf:4\$"
	assert_line --regexp "^origin = b\\.example +; $conf:5\$"
}

@test "--check-config prints every setting with secrets masked, and exits 0" {
	local conf="$BATS_TEST_TMPDIR/rs.conf" secret="$BATS_TEST_TMPDIR/token.secret"
	printf 'k3y-material-that-must-never-be-printed-0123456789\n' >"$secret"
	cat >"$conf" <<-EOF
	[store]
	db = postgresql://revenge:pg-Pa55word@db.example:5432/media?sslmode=require&password=qs-Pa55
	[cluster]
	redis = redis://app:redis-Pa55@127.0.0.1:6379/2
	[auth]
	auth-secret-file = $secret
	[server]
	fsync = yes
	EOF
	check "$conf"
	assert_success
	assert_line --index 0 --partial "the configuration is valid"
	assert_line --index 1 "; configuration file: $conf"
	refute_output --partial "Pa55"
	refute_output --partial "k3y-material"
	assert_line --regexp '^db = postgresql://revenge:\*\*\*\*@db\.example:5432/media\?sslmode=require&password=\*\*\*\* +; '
	assert_line --regexp '^redis = redis://app:\*\*\*\*@127\.0\.0\.1:6379/2 +; '
	assert_line --regexp "^auth-secret-file = $secret +; $conf:6\$"
	assert_line --regexp "^fsync = true +; $conf:8\$"
	assert_line --regexp '^history = 50 +; default$'
	assert_line --regexp '^#tls-cert = +; not set$'
	# every key, once (origin and allowed-host: once when unset)
	diff <(grep -v '^; ' <<<"$output" | sed -E 's/^#?([a-z-]+) = .*/\1/' | sort -u) <(example_keys) ||
		fail "--check-config and the example disagree on the keys"
}

@test "errors name FILE:LINE: unknown key, bad value, bad boolean, twice, syntax, line too long" {
	local conf="$BATS_TEST_TMPDIR/bad.conf"
	printf '[server]\nlisten = 127.0.0.1:0\nlisten-on = 1\n' >"$conf"
	check "$conf"
	assert_failure 1
	assert_line "revenge-server: --config: $conf:3: unknown key 'listen-on' (see --help)"
	assert_line "revenge-server: --check-config: the configuration is not valid"

	printf '# limits\n\n[limits]\nhistory = 50\nmax-message = 12\n' >"$conf"
	check "$conf"
	assert_failure 1
	assert_line "revenge-server: $conf:5: max-message: expected a whole number from 256 to 16777216, got '12' (see --help)"

	printf 'fsync = maybe\n' >"$conf"
	check "$conf"
	assert_failure 1
	assert_line "revenge-server: --config: $conf:1: fsync: expected true or false (or yes/no, on/off, 1/0), got 'maybe' (see --help)"

	printf 'history = 5\n[party]\nhistory = 6\n' >"$conf"
	check "$conf"
	assert_failure 1
	assert_line "revenge-server: --config: $conf:3: history: given twice (first at line 1) (see --help)"

	printf 'history = 5\n[party\n' >"$conf"
	check "$conf"
	assert_failure 1
	assert_line "revenge-server: --config: $conf:2: expected 'key = value', '[section]' or a comment (see --help)"

	printf -- '--history = 5\nconfig = x\n' >"$conf"
	check "$conf"
	assert_failure 1
	assert_line --partial "$conf:1: unknown key '--history' (a key is the flag without its '--')"

	{ printf 'history = 5\n'; printf 'db = %0200d\n' 0; } >"$conf"
	check "$conf"
	assert_failure 1
	assert_line "revenge-server: --config: $conf:2: line too long (205 characters; at most 197) (see --help)"

	# the same file at a start: a usage error, exit 2, nothing served
	printf 'listen = 127.0.0.1:0\nping-interval = soon\n' >"$conf"
	run timeout 10 "$SERVER" --config "$conf"
	assert_failure 2
	assert_output "revenge-server: $conf:2: ping-interval: expected a whole number from 0 to 3600, got 'soon' (see --help)"
}

@test "an explicit --config that cannot be read is an error (missing, a directory)" {
	check "$BATS_TEST_TMPDIR/nope.conf"
	assert_failure 1
	assert_line "revenge-server: --config: cannot read '$BATS_TEST_TMPDIR/nope.conf': No such file or directory (see --help)"
	mkdir "$BATS_TEST_TMPDIR/dir.conf"
	check "$BATS_TEST_TMPDIR/dir.conf"
	assert_failure 1
	assert_line "revenge-server: --config: cannot read '$BATS_TEST_TMPDIR/dir.conf': Is a directory (see --help)"
	run timeout 10 "$SERVER" --listen 127.0.0.1:0 --config "$BATS_TEST_TMPDIR/nope.conf"
	assert_failure 2
	refute_output --partial listening
	run timeout 10 "$SERVER" --config ''
	assert_failure 2
	assert_output "revenge-server: --config: empty path (see --help)"
}

@test "--check-config checks the flags too; --help works whatever the file says" {
	local conf="$BATS_TEST_TMPDIR/rs.conf"
	printf 'history = 5\n' >"$conf"
	check "$conf" --history 100000
	assert_failure 1
	assert_line "revenge-server: --history: expected a whole number from 0 to 10000, got '100000' (see --help)"
	printf 'nonsense\n' >"$conf"
	run "$SERVER" --config "$conf" --help
	assert_success
	assert_line --partial "--check-config"
}

@test "without --config the default file is read only if it exists" {
	[ ! -e /etc/revenge/revenge-server.conf ] || skip "this machine has /etc/revenge/revenge-server.conf"
	run timeout 10 "$SERVER" --check-config
	assert_success
	assert_line "; configuration file: none (/etc/revenge/revenge-server.conf does not exist)"
	assert_line --regexp '^listen = 127\.0\.0\.1:8080 +; default$'
}

@test "the example configuration validates, as shipped and with its keys set" {
	check "$EXAMPLE"
	assert_success
	# every key set to the value shown, but those that need a real file,
	# a reachable Redis or a second store
	sed -E 's/^#([a-z][a-z-]*) = /\1 = /' "$EXAMPLE" |
		grep -vE '^(tls-|redis|auth-secret|auth-public|port-file|db = postgres|web-root)' \
		>"$BATS_TEST_TMPDIR/all.conf"
	check "$BATS_TEST_TMPDIR/all.conf"
	assert_success
	assert_line --regexp "^history = 50 +; $BATS_TEST_TMPDIR/all.conf:[0-9]+\$"
	assert_line --regexp "^origin = \\*\\.example\\.com:\\* +; $BATS_TEST_TMPDIR/all.conf:[0-9]+\$"
}

@test "drift: every flag of --help is a key of the example, and every key of the example a flag" {
	local flags keys
	flags=$("$SERVER" --help | grep -oE '^  (-[a-zA-Z], )?--[a-z][a-z-]*' | sed -E 's/.*--//' |
		grep -vxE 'help|version|config|check-config' | sort -u)
	keys=$(example_keys)
	[ -n "$keys" ] || fail "no keys found in $EXAMPLE"
	diff <(echo "$flags") <(echo "$keys") || fail "--help flags (<) and example keys (>) differ"
}
