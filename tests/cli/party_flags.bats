#!/usr/bin/env bats
# Server flags that change party behaviour, each against its own server.
load helpers

teardown() {
	stop_server
}

@test "--history N keeps the last N chats" {
	start_server --history 3
	run py "$PYHELP/party_check.py" "$URL" history_limit
	assert_success
}

@test "--rate-limit answers rate_limited beyond the rate" {
	start_server --rate-limit 5
	run py "$PYHELP/party_check.py" "$URL" rate_limited
	assert_success
}

@test "--origin replaces the default allowlist" {
	start_server --origin '*.example.com' --origin 'https://app.test'
	run py "$PYHELP/party_check.py" "$URL" origin_custom
	assert_success
}

@test "--max-message sets the 1009 threshold" {
	start_server --max-message 1024
	run rvcat --linger 2000 "$URL/ws/party/mm" <<<"{\"type\":\"chat\",\"payload\":{\"text\":\"$(printf 'x%.0s' $(seq 1 1100))\"}}"
	assert_output --partial '#closed 1009'
}
