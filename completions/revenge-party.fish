# completions/revenge-party.fish - fish completion for revenge-party.
#
# revenge-party [OPTIONS] [URL] PARTY. The flags and their descriptions mirror
# usage_text in tui/revenge-party/main.c; tests/cli/completion.bats fails
# when they drift.

# How many operands (URL, PARTY) are on the command line already: the
# words that are neither options nor the value of one.
function __revenge_party_operands
    set n 0
    set skip 0
    for tok in (commandline -opc)[2..-1]
        if test $skip = 1
            set skip 0
            continue
        end
        switch $tok
            case --name --duration --ca --token --token-file --log
                set skip 1
            case '-*'
            case '*'
                set n (math $n + 1)
        end
    end
    echo $n
end

# Files only where a flag wants one.
complete -c revenge-party -f

complete -c revenge-party -l name -x -d 'Your display name, 1-32 characters (default guest-N)'
complete -c revenge-party -l duration -x -d "The video's length, for the progress bar (1:45:00)" \
    -a "1:30:00\t'an hour and a half' 2:00:00\t'two hours'"
complete -c revenge-party -l insecure -d 'wss:// without certificate checks'
complete -c revenge-party -l ca -r -F -d 'Trust this PEM CA bundle for wss://'
complete -c revenge-party -l token -x -d 'Send "Authorization: Bearer TOKEN" when joining (default $REVENGE_TOKEN)'
complete -c revenge-party -l token-file -r -F -d 'Read the token from FILE (keeps it out of ps)'
complete -c revenge-party -l log -r -F -d "Append libwebsockets' own log lines to FILE (default \$REVENGE_PARTY_LOG)"
complete -c revenge-party -s h -l help -d 'Show this help and exit'
complete -c revenge-party -s V -l version -d 'Show the version and exit'

# The first operand: the server.
complete -c revenge-party -n 'test (__revenge_party_operands) = 0' \
    -a "ws://127.0.0.1:8080\t'the default server'"
