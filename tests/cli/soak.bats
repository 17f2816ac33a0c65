#!/usr/bin/env bats
# The hostile-input soak checks itself: make test runs 30 s of it
# (scripts/soak.sh against the ASan server); these show that its checks can
# fail, so an "ok soak" means something.
load helpers

setup() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$SECRET"
}

teardown() {
	stop_server || true
}

tok() { "$SERVER" token --auth-secret-file "$SECRET" "$@"; }

soak() {
	py "$PYHELP/soak.py" --port "$PORT" --pid "$SERVER_PID" --secret-file "$SECRET" \
		--good-host-token "$(tok --sub h --role host --party good)" \
		--good-member-token "$(tok --sub m --party good)" \
		--good-session-token "$(tok --sub v --session 'good-*')" \
		--hostile-token "$(tok --sub x --role host --party 'h*' --session 'h*')" "$@"
}

@test "a short soak against a healthy server passes, every kind of attack thrown, every chat and report accounted for" {
	# the handshake and join rates (churn.bats) would answer most of the
	# workers' connections 429 before their hostile input reached a parser
	# and a small quarantine, as scripts/soak.sh: ASan's default (256 MB)
	# of freed memory held back grows RSS for the whole of a short soak
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16" \
		start_server --auth-secret-file "$SECRET" --handshake-rate-per-ip 0 --party-join-rate 0
	run soak --seconds 6 --workers 2
	assert_success
	"$PY" - "$output" <<'PYEOF'
import json, sys
s = json.loads(sys.argv[1])
assert s["ok"] and s["alive"] and not s["problems"], s
assert set(s["attacks"]) >= {"frames", "json", "names", "tokens", "http", "deflate"}, s["attacks"]
assert s["chats_sent"] > 10 and all(v == s["chats_sent"] for v in s["chats_seen"].values()), s
assert s["progress_acks"] > 10, s
assert {"101", "400", "401"} <= set(s["http_statuses"]), s["http_statuses"]
PYEOF
	stop_server
}

@test "the soak fails when the server dies under it" {
	start_server --auth-secret-file "$SECRET"
	(sleep 2; kill -KILL "$SERVER_PID") &
	run soak --seconds 5 --workers 2
	assert_failure
	assert_output --partial '"alive": false'
	assert_output --partial '"ok": false'
	SERVER_PID=
}

@test "scripts/soak.sh: a duration that is not a number, or a missing build, is a usage error" {
	run "$BATS_TEST_DIRNAME/../../scripts/soak.sh" 1x
	assert_failure 2
	assert_output --partial 'SECONDS must be a whole number'
	run "$BATS_TEST_DIRNAME/../../scripts/soak.sh" 5 "$BATS_TEST_TMPDIR/nowhere"
	assert_failure 2
	assert_output --partial 'is not built'
}
