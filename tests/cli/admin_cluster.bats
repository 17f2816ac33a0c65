#!/usr/bin/env bats
# The admin API in cluster mode (docs/admin.md "Cluster mode"): two nodes
# on a Redis of the test's own share a party; each node's API lists every
# member (the other node's as remote, with no address) and closes only its
# own connections.
load helpers
load cluster_helpers

@test "each node shows the whole party and acts on its own members only" {
	local secret="$BATS_TEST_TMPDIR/secret" mA mB
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$secret"
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" --metrics-listen 127.0.0.1:0 \
		--auth-secret-file "$secret"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" --metrics-listen 127.0.0.1:0 \
		--auth-secret-file "$secret"
	mA=$(sed -n 's/^revenge-server: metrics on //p' "$BATS_TEST_TMPDIR/A.out")
	mB=$(sed -n 's/^revenge-server: metrics on //p' "$BATS_TEST_TMPDIR/B.out")
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
	ADMIN_TOKEN=$("$SERVER" token --auth-secret-file "$secret" --sub ops --admin) \
		run py "$PYHELP/admin_check.py" "$A_URL" "$mA" "$secret" cluster "$B_URL" "$mB"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}
