# completions/revenge-bench.fish - fish completion for revenge-bench.
#
# Global options, then a scenario, then the scenario's own options. The
# flags and their descriptions mirror usage_text in
# cmd/revenge-bench/main.c; tests/cli/completion.bats fails when they drift.

# Print the scenario on the command line, if one has been typed yet: the
# first word that is neither a global option nor the value of one.
function __revenge_bench_scenario
    set skip 0
    for tok in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $tok
            case --url --duration --connect-rate --src --token --token-file
                set skip 1
            case '-*'
            case '*'
                echo $tok
                return 0
        end
    end
    return 1
end

# True when the scenario typed is one of the arguments.
function __revenge_bench_scenario_is
    set scenario (__revenge_bench_scenario); or return 1
    contains -- $scenario $argv
end

# No files but the token's.
complete -c revenge-bench -f

# Global options: before the scenario.
set -g __revenge_bench_global 'not __revenge_bench_scenario'
complete -c revenge-bench -n $__revenge_bench_global -l url -x -d 'Server (default $REVENGE_URL or ws://127.0.0.1:8080; wss:// for TLS)' \
    -a "ws://127.0.0.1:8080\t'the default'"
complete -c revenge-bench -n $__revenge_bench_global -l duration -x -d 'How long to measure once connected: 500ms, 10s, 1m (default 10s)'
complete -c revenge-bench -n $__revenge_bench_global -l connect-rate -x -d 'New connections per second (default 2000)'
complete -c revenge-bench -n $__revenge_bench_global -l src -x -d 'Bind to these local IPv4 addresses, round-robin (127.0.0.1-8)'
complete -c revenge-bench -n $__revenge_bench_global -l token -x -d 'Every connection sends "Authorization: Bearer TOKEN" (default $REVENGE_TOKEN)'
complete -c revenge-bench -n $__revenge_bench_global -l token-file -r -F -d 'Read the token from FILE (keeps it out of ps)'
complete -c revenge-bench -n $__revenge_bench_global -l json -d 'Print one JSON object instead of the table'
complete -c revenge-bench -n $__revenge_bench_global -s h -l help -d 'Show this help and exit'
complete -c revenge-bench -n $__revenge_bench_global -s V -l version -d 'Show the version and exit'

# The scenarios.
complete -c revenge-bench -n $__revenge_bench_global -a amplify -d 'One party floods chat while bystanders in other parties time their requests'
complete -c revenge-bench -n $__revenge_bench_global -a chat -d 'P parties of M members; every member chats, every member times each chat'
complete -c revenge-bench -n $__revenge_bench_global -a churn -d 'A fan-out to stable members while extra members join and leave'
complete -c revenge-bench -n $__revenge_bench_global -a connect -d 'Open N connections and hold them; handshakes/s, memory per connection'
complete -c revenge-bench -n $__revenge_bench_global -a fanout -d 'P parties of M members; each host syncs, every member times delivery'
complete -c revenge-bench -n $__revenge_bench_global -a fill -d 'P parties of M members join at once; fill time, then one sync timed at every member'
complete -c revenge-bench -n $__revenge_bench_global -a progress -d 'S sessions report progress; ack throughput and latency'
complete -c revenge-bench -n $__revenge_bench_global -a sync -d 'M members behind simulated paths; how closely they show the same position'

# Each scenario's own options, after its name.
complete -c revenge-bench -n '__revenge_bench_scenario_is connect' -l conns -x -d 'Connections (default 1000; 1 to 100000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is connect' -l raw -d 'Handshakes on plain sockets, not libwebsockets (ws:// only)'
complete -c revenge-bench -n '__revenge_bench_scenario_is connect fanout chat churn amplify fill' -l server-pid -x -d "Read the server's memory (connect) or CPU (the others) from /proc" \
    -a '(__fish_complete_pids)'
complete -c revenge-bench -n '__revenge_bench_scenario_is fanout chat churn' -l redis-pid -x -d "Read the Redis server's CPU (cluster mode)" \
    -a '(__fish_complete_pids)'

complete -c revenge-bench -n '__revenge_bench_scenario_is fanout chat churn' -l parties -x -d 'Parties (default 100; 1 to 10000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is fanout chat churn' -l members -x -d 'Members per party, the host included (default 100; 2 to 10000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is fill' -l parties -x -d 'Parties (default 10; 1 to 10000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is fill' -l members -x -d 'Members per party, the host included (default 1000; 2 to 10000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is fanout chat churn progress amplify' -l rate -x -d 'fanout, churn: syncs/s per host (1); chat: chats/s per member (0.2); amplify: per attacker (45); progress: reports/s in all (0)'
complete -c revenge-bench -n '__revenge_bench_scenario_is churn' -l churn -x -d 'Joins per second in all (default 100; up to 10000)'

complete -c revenge-bench -n '__revenge_bench_scenario_is progress' -l sessions -x -d 'Concurrent sessions (default 1000; 1 to 100000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is progress' -l inflight -x -d 'Unacked reports per session (default 1; 1 to 64)'

complete -c revenge-bench -n '__revenge_bench_scenario_is amplify' -l attackers -x -d 'Attack party members who chat (default 150; 1 to 10000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is amplify' -l passive -x -d 'Attack party members who only receive (default 50; 0 to 10000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is amplify' -l bystanders -x -d 'Bystander clients, each alone in a party (default 10; 1 to 1000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is amplify' -l bystander-cpu -x -d "Pin the bystanders' process to CPU N"

complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l members -x -d 'Members, the host included (default 8; 2 to 1000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l delay -x -d 'Base delay each way, ms (default 0; at most 2000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l delay-up -x -d 'Member to server delay, ms (overrides --delay)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l delay-down -x -d 'Server to member delay, ms (overrides --delay)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l jitter -x -d 'Each delay varies uniformly by +-MS (default 0)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l jitter-dist -x -a 'uniform normal' -d 'How a delay varies (default uniform; normal: --jitter is the sd)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l skew-ppm -x -d 'Member clocks fast or slow by up to P ppm (default 50; at most 1000)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l seed -x -d 'Seed of the delays, skews and offsets (default 1)'
complete -c revenge-bench -n '__revenge_bench_scenario_is sync' -l rejoin -d 'A member that loses its connection joins again: time back in sync'
