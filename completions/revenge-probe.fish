# completions/revenge-probe.fish - fish completion for revenge-probe.
#
# Global options, then a check, then the check's own options. The flags and
# their descriptions mirror usage_text in cmd/revenge-probe/main.c;
# tests/cli/completion.bats fails when they drift.

# Print the check being typed, if one has been: the first word after the
# global options (or after the last +, which starts another check) that is
# neither an option nor the value of one.
function __revenge_probe_check
    set skip 0
    set check
    for tok in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $tok
            case +
                set check
            case --url --timeout --wait --ca --origin --token --token-file --junit
                set skip 1
            case '-*'
            case '*'
                test -z "$check"; and set check $tok
        end
    end
    test -n "$check"; and echo $check
end

# True when the check typed is one of the arguments.
function __revenge_probe_check_is
    set check (__revenge_probe_check); or return 1
    contains -- $check $argv
end

# True when the check typed is one of the arguments and its operand (the
# scenario file, the path) has not been typed yet.
function __revenge_probe_needs_operand
    __revenge_probe_check_is $argv; or return 1
    set seen 0
    set skip 0
    for tok in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        if test $seen = 0
            switch $tok
                case --url --timeout --wait --ca --origin --token --token-file --junit
                    set skip 1
                case '-*'
                case '*'
                    set seen 1
            end
            continue
        end
        switch $tok
            case '-*=*'
            case '-*'
                set skip 1
            case '*'
                return 1
        end
    end
    return 0
end

# Scenario files (*.json) and directories, for the token being completed.
function __revenge_probe_json_files
    set tok (commandline -ct)
    for f in $tok*
        if test -d $f
            echo $f/
        else if string match -q '*.json' -- $f
            echo $f
        end
    end
end

# Files only where a flag or the run check wants one.
complete -c revenge-probe -f

# Global options: before the check.
set -g __revenge_probe_global 'not __revenge_probe_check'
complete -c revenge-probe -n $__revenge_probe_global -l url -x -d 'Server (default $REVENGE_URL or ws://127.0.0.1:8080; wss:// for TLS)' \
    -a "ws://127.0.0.1:8080\t'the default'"
complete -c revenge-probe -n $__revenge_probe_global -l timeout -x -d 'Longest wait for any answer: 500ms, 10s, 1m (default 10s)'
complete -c revenge-probe -n $__revenge_probe_global -l wait -x -d 'Keep retrying the first connection this long, for a server still starting'
complete -c revenge-probe -n $__revenge_probe_global -l json -d 'Print one JSON object per check (JSON Lines)'
complete -c revenge-probe -n $__revenge_probe_global -l quiet -d 'Print nothing when the check passes'
complete -c revenge-probe -n $__revenge_probe_global -l insecure -d 'wss:// without certificate checks'
complete -c revenge-probe -n $__revenge_probe_global -l ca -r -F -d 'Trust this PEM CA bundle for wss://'
complete -c revenge-probe -n $__revenge_probe_global -l origin -x -d 'Send this Origin header (as a browser would)'
complete -c revenge-probe -n $__revenge_probe_global -l token -x -d 'Send "Authorization: Bearer TOKEN" in every handshake (default $REVENGE_TOKEN)'
complete -c revenge-probe -n $__revenge_probe_global -l token-file -r -F -d 'Read the token from FILE (keeps it out of ps)'
complete -c revenge-probe -n $__revenge_probe_global -l junit -r -F -d 'Also write a JUnit XML report of the checks to FILE'
complete -c revenge-probe -n $__revenge_probe_global -s h -l help -d 'Show this help and exit'
complete -c revenge-probe -n $__revenge_probe_global -s V -l version -d 'Show the version and exit'

# The checks.
complete -c revenge-probe -n $__revenge_probe_global -a health -d '/healthz answers ok and /metrics is Prometheus text'
complete -c revenge-probe -n $__revenge_probe_global -a sync -d "The host's sync reaches every member exactly; positions agree"
complete -c revenge-probe -n $__revenge_probe_global -a chat -d 'A chat reaches everyone; a late joiner finds it in history'
complete -c revenge-probe -n $__revenge_probe_global -a progress -d 'A report is acked; ticks extrapolate while playing, hold while paused'
complete -c revenge-probe -n $__revenge_probe_global -a quality -d "quality_state, a request, the suggester's answer to bandwidth reports"
complete -c revenge-probe -n $__revenge_probe_global -a run -d 'Run a scenario file (JSON)'
complete -c revenge-probe -n $__revenge_probe_global -a tail -d 'Join PATH and print every message as a JSON line'

# Each check's own options, after its name.
complete -c revenge-probe -n '__revenge_probe_check_is sync' -l members -x -d 'Members besides the host (default 3; 1 to 100)'
complete -c revenge-probe -n '__revenge_probe_check_is sync' -l tolerance-ms -x -d 'Largest disagreement allowed, ms (default 50; 20 with --accuracy)'
complete -c revenge-probe -n '__revenge_probe_check_is sync' -l accuracy -d "Measure the members' agreement over 3 s: spread p99 below --tolerance-ms"
complete -c revenge-probe -n '__revenge_probe_check_is sync chat' -l party -x -d 'Party to use (default a fresh random one)'

complete -c revenge-probe -n '__revenge_probe_check_is progress quality' -l session -x -d 'Session to use (default a fresh random one)'
complete -c revenge-probe -n '__revenge_probe_check_is progress' -l media -x -d 'media_id to report (default probe-media)'
complete -c revenge-probe -n '__revenge_probe_check_is progress' -l position -x -d 'Position to report, seconds (default 10)'
complete -c revenge-probe -n '__revenge_probe_check_is progress' -l duration -x -d 'Duration to report, seconds (default 3600)'
complete -c revenge-probe -n '__revenge_probe_check_is progress' -l interval-ms -x -d 'Tick interval (default 200; 100 to 60000)'

complete -c revenge-probe -n '__revenge_probe_check_is quality' -l request -x -d 'Expect quality_changed to PROFILE' \
    -a "2160p 1080p 720p 480p 360p"
complete -c revenge-probe -n '__revenge_probe_check_is quality' -l bandwidth -x -d 'Send these bandwidth reports (kbps, K,K,...)'
complete -c revenge-probe -n '__revenge_probe_check_is quality' -l spacing-ms -x -d 'Between reports, ms (default 1000)'
complete -c revenge-probe -n '__revenge_probe_check_is quality' -l expect -x -d 'The last suggestion after the reports' \
    -a "up\t'a higher profile' down\t'a lower profile' none\t'no suggestion'"

complete -c revenge-probe -n '__revenge_probe_check_is run' -l var -x -d 'Set the variable ${NAME} to VALUE (NAME=VALUE)'
complete -c revenge-probe -n '__revenge_probe_needs_operand run' -a '(__revenge_probe_json_files)'

complete -c revenge-probe -n '__revenge_probe_check_is tail' -l count -x -d 'Stop after N messages'
complete -c revenge-probe -n '__revenge_probe_needs_operand tail' -a "/ws/party/\t'a watch party' /ws/progress/\t'a progress session' /ws/stream/\t'a quality session'"
