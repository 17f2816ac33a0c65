#!/usr/bin/env bats
# A party's chat budget (--party-chat-rate) and the per-connection rate
# limit's strikes, each against its own server with independent clients.
# Most counts depend on how fast the clients send (a budget refills with
# time): those tests are tagged "timed" (scripts/run-tests.sh runs them
# after the batch); a disabled budget, or a bound that holds however slow
# the sending, runs in the batch.
load helpers

teardown() {
	stop_server
}

metrics() {
	http_get /metrics | tail -n +2 >"$BATS_TEST_TMPDIR/metrics.txt"
}

# budget_case RATE MEMBERS EACH KIND OTHER: MEMBERS of a party each send
# EACH messages of KIND at once to a server with --party-chat-rate RATE;
# the refusals are counted under KIND, none under OTHER.
budget_case() {
	start_server --party-chat-rate "$1"
	run py "$PYHELP/budget_check.py" "$URL" budget "$1" "$2" "$3" "$4"
	assert_success
	local limited=${output##* }
	metrics
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		"revenge_party_budget_refusals_total{kind=\"$4\"}=$limited" \
		"revenge_party_budget_refusals_total{kind=\"$5\"}=0" \
		"revenge_errors_total{code=\"rate_limited\"}=$limited" \
		'revenge_closes_total{code="1008"}=0'
	assert_success
}

# bats test_tags=timed
@test "--party-chat-rate N: about 2N chats pass at once, the rest rate_limited to the sender, nobody closed, other parties unaffected" {
	budget_case 10 4 20 chat reaction
}

# bats test_tags=timed
@test "--party-chat-rate: reactions draw on the same budget, counted apart" {
	budget_case 5 3 12 reaction chat
}

# bats test_tags=timed
@test "the default budget is 50 per second, bursts of 100" {
	start_server
	run py "$PYHELP/budget_check.py" "$URL" budget 50 5 40 chat
	assert_success
}

@test "party refusals are not strikes: more than 50 of them do not close the sender" {
	start_server --party-chat-rate 1
	run py "$PYHELP/budget_check.py" "$URL" not_a_strike 90
	assert_success
	local limited=${output##* }
	# 88 unless sending took over a second (a token more)
	[ "$limited" -ge 50 ]
	metrics
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		"revenge_party_budget_refusals_total{kind=\"chat\"}=$limited" \
		'revenge_closes_total{code="1008"}=0'
	assert_success
}

@test "--party-chat-rate 0 disables the budget" {
	start_server --party-chat-rate 0 --rate-limit 0 --frame-rate 0
	run py "$PYHELP/budget_check.py" "$URL" unlimited 4 150
	assert_success
	metrics
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_party_budget_refusals_total{kind="chat"}=0' \
		'revenge_messages_in_total{type="chat"}=600'
	assert_success
}

# bats test_tags=timed
@test "--rate-limit: 50 rate-limited messages in a row close with 1008" {
	start_server --rate-limit 1
	run py "$PYHELP/budget_check.py" "$URL" strikes_close
	assert_success
	metrics
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_closes_total{code="1008"}=1'
	assert_success
}

# bats test_tags=timed
@test "--rate-limit: strikes start anew after a quiet second" {
	start_server --rate-limit 1
	run py "$PYHELP/budget_check.py" "$URL" strikes_decay
	assert_success
	metrics
	run "$PY" "$PYHELP/prom_check.py" "$BATS_TEST_TMPDIR/metrics.txt" \
		'revenge_closes_total{code="1008"}=0'
	assert_success
}

@test "--party-chat-rate usage errors: malformed, negative, huge, missing" {
	for v in fast -1 1.5 '' ' 7' 0x10 1e3 1000001 99999999999999999999999; do
		run -2 "$SERVER" --party-chat-rate "$v"
		assert_output "revenge-server: --party-chat-rate: expected a whole number from 0 to 1000000, got '$v' (see --help)"
	done
	run -2 "$SERVER" --party-chat-rate
	assert_output --partial "--party-chat-rate"
	run -0 "$SERVER" --party-chat-rate 1000000 --help
}
