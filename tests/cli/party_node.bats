#!/usr/bin/env bats
# The watch party driven by Node's `ws` (Debian's node-ws), an independent
# client, with and without permessage-deflate, against a real server.
load helpers

setup() {
	start_server
}

teardown() {
	stop_server
}

node_check() {
	run env NODE_PATH=/usr/share/nodejs:/usr/lib/nodejs node "$BATS_TEST_DIRNAME/../helpers/node_ws_check.js" "$URL" "$1"
	assert_success
	assert_output --partial "ok: $1"
}

@test "Node ws: join, sync, long and short chat, normal close" { node_check plain; }
@test "Node ws with permessage-deflate: the same, compressed both ways" { node_check deflate; }
