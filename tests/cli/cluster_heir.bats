#!/usr/bin/env bats
# Cluster mode (--redis): who hosts a party whose members may not all host
# (connection tokens with the member role), elected by Redis from the
# party's heirs index (revenge:party:{id}:heirs), and what joins into a
# party with no host cost Redis (a count of commands, not a time).
# A redis-server and nodes A and B of the test's own
# (tests/cli/cluster_helpers.bash); the clients are
# tests/helpers/heir_check.py.
load helpers
load cluster_helpers

# tokens: member and host, for any party
heir_nodes() {
	SECRET="$BATS_TEST_TMPDIR/secret"
	printf 'a test secret of at least 32 bytes, for HS256\n' >"$SECRET"
	MTOK=$("$SERVER" token --auth-secret-file "$SECRET" --sub m --role member --party '*')
	HTOK=$("$SERVER" token --auth-secret-file "$SECRET" --sub h --role host --party '*')
	start_redis
	start_node A --redis "redis://127.0.0.1:$REDIS_PORT" --auth-secret-file "$SECRET" \
		"${OPEN_LIMITS[@]}"
	start_node B --redis "redis://127.0.0.1:$REDIS_PORT" --auth-secret-file "$SECRET" \
		"${OPEN_LIMITS[@]}"
	until_healthz A '"redis":"up"' 10
	until_healthz B '"redis":"up"' 10
}

@test "a party with no host across nodes: member tokens never host, the first host token does; its successor is the longest present who may host, also after the heirs index was lost or named a member gone" {
	heir_nodes
	run py "$PYHELP/heir_check.py" elect "$A_URL" "$B_URL" "$REDIS_PORT" "$MTOK" "$HTOK" he
	assert_success
	assert_output --partial "ok elect"
	stop_node A
	stop_node B
}

@test "joins into a party with no host do not read its whole member list in Redis each (40 joins, at most 5 reads)" {
	heir_nodes
	run py "$PYHELP/heir_check.py" storm "$A_URL" "$B_URL" "$REDIS_PORT" "$MTOK" "$HTOK" hs
	assert_success
	assert_output --partial "ok storm"
	echo "$output" | grep '^# ' >&3
	stop_node A
	stop_node B
}
