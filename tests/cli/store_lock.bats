#!/usr/bin/env bats
# Another process holding the store's write lock (BEGIN EXCLUSIVE), or an
# fsync per commit, must not stall the event loop: parties keep their round
# trips while progress reports wait for the store (issue 12, item 4). Timed:
# tagged "timed" (scripts/run-tests.sh runs them after the batch).
load helpers

teardown() {
	stop_server || true
}

# probe HOLD: scripts/store_lock_probe.py with the lock held HOLD s from 1 s
# into a 4 s run; its output in $output.
probe() {
	run timeout 30 "$PY" "$BATS_TEST_DIRNAME/../../scripts/store_lock_probe.py" \
		"$URL" "$BATS_TEST_TMPDIR/revenge.db" "$1" 4 2
	assert_success
	echo "$output" >&3
}

# The party's worst round trip in ms, from the probe's output, as an integer.
party_max() {
	echo "$output" | sed -n 's/^party time round trips: .* max=\([0-9]*\)\..*/\1/p'
}

# Every report answered: acked, or refused with store_unavailable (never
# lost, never acked without a commit).
all_answered() {
	local line sent acked refused
	line=$(echo "$output" | grep '^progress: ')
	sent=$(echo "$line" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
	acked=$(echo "$line" | sed -n 's/.*acked=\([0-9]*\).*/\1/p')
	refused=$(echo "$line" | sed -n 's/.*"store_unavailable": \([0-9]*\).*/\1/p')
	[ "$sent" -gt 0 ] || fail "no reports sent: $line"
	[ $((acked + ${refused:-0})) -eq "$sent" ] || fail "not every report answered: $line"
	echo "$line" | grep -q 'lock_held=yes' || fail "the lock was never taken: $line"
	! echo "$line" | grep -q 'rate_limited' || fail "the probe hit the rate limit: $line"
}

# bats test_tags=timed
@test "a write lock held by another process for 2.5 s does not stall parties (round trip < 1 s)" {
	start_server
	probe 2.5
	local max
	max=$(party_max)
	[ -n "$max" ] || fail "no party figures: $output"
	[ "$max" -lt 1000 ] || fail "a party round trip took $max ms while the store was locked"
	echo "$output" | grep -q ' unanswered=0 ' || fail "party requests went unanswered: $output"
	all_answered
	# a stored session opened during the lock gets its report at once
	local reopen
	reopen=$(echo "$output" | sed -n 's/^stored report on connect .*: \([0-9]*\)\..*/\1/p')
	[ -n "$reopen" ] && [ "$reopen" -lt 1000 ] || fail "stored report on connect: ${reopen:-none} ms"
}

# bats test_tags=timed
@test "--fsync with the write lock held: parties still answer in < 1 s, acks only after commits" {
	start_server --fsync
	probe 2.5
	local max
	max=$(party_max)
	[ -n "$max" ] || fail "no party figures: $output"
	[ "$max" -lt 1000 ] || fail "a party round trip took $max ms while the store was locked"
	echo "$output" | grep -q ' unanswered=0 ' || fail "party requests went unanswered: $output"
	all_answered
}

# bats test_tags=timed
@test "a stuck store does not make the server hoard reports: past 16384 waiting, refused at once" {
	start_server --rate-limit 0 --frame-rate 0 --queue-max 65536
	run timeout 40 "$PY" "$PYHELP/backlog_check.py" "$URL" "$BATS_TEST_TMPDIR/revenge.db" 20000
	assert_success
	echo "$output" >&3
	local early
	early=$(echo "$output" | sed -n 's/.* early \([0-9]*\)$/\1/p')
	[ -n "$early" ] && [ "$early" -ge 1 ] || fail "no report refused at once: $output"
	# and the store works again afterwards
	run py "$PYHELP/prune_check.py" report "$URL" - after-backlog
	assert_success
}
