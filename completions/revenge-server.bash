# completions/revenge-server.bash - bash completion for revenge-server.
#
# Completes flag names and the values of flags that have a fixed set (log
# level and format, a token's role), typical ones (listen addresses, the
# default --ladder, token lifetimes) or files (--db, --config, TLS, token
# keys); the first word may be the `token`, `migrate`, `backup` or `admin`
# subcommand, with flags of its own.
# Stands alone: it needs no bash-completion helpers. The flags mirror
# usage_text in cmd/revenge-server/main.c; tests/cli/completion.bats fails
# when they drift apart.

# True when $1 is made only of the word-break characters bash splits
# "--db=FILE" and "HOST:PORT" at.
_revenge_server_break()
{
	[[ -n $1 && -z ${1//[:=]/} ]]
}

_revenge_server()
{
	local flags='--listen --metrics-listen --port-file --db --fsync --session-ttl --max-stored-per-owner --party-retention
		--ladder --origin --allowed-host --trusted-proxy --max-message --history
		--ping-interval --rate-limit --party-chat-rate --queue-max --max-parties --max-members
		--max-sessions --max-sessions-per-owner --max-conns-per-ip
		--handshake-rate-per-ip --party-join-rate
		--handshake-timeout --message-timeout --partial-budget --frame-rate
		--lead-min --lead-max
		--ready-timeout --rebuffer-timeout
		--presence-batch-above --presence-interval
		--drift-interval
		--redis --redis-ca --redis-cert --redis-key
		--auth-secret-file --auth-public-key --auth-leeway --insecure-open --tls-cert --tls-key --web-root --no-web --log-level
		--log-format --config --check-config --help --version -h -V'
	local cword=$COMP_CWORD i typed bword prefix flag='' val eq='' m
	# "revenge-server token ...": mint a token, flags of its own
	if [[ ${COMP_WORDS[1]-} == token ]] && ((COMP_CWORD > 1)); then
		flags='--auth-secret-file --sub --name --role --party --session --admin --ttl --help -h'
	fi
	# "revenge-server admin URL list|show|close|remove ...": the admin API
	if [[ ${COMP_WORDS[1]-} == admin ]] && ((COMP_CWORD > 1)); then
		flags='--token --token-file --timeout --help -h'
	fi
	# "revenge-server migrate ...": copy a SQLite store into PostgreSQL
	if [[ ${COMP_WORDS[1]-} == migrate ]] && ((COMP_CWORD > 1)); then
		flags='--from --to --merge --json --help --version -h -V'
	fi
	# "revenge-server backup ... FILE": copy the SQLite store, online
	if [[ ${COMP_WORDS[1]-} == backup ]] && ((COMP_CWORD > 1)); then
		flags='--db --config --json --help --version -h -V'
	fi
	local -a matches=()

	COMPREPLY=()
	# Bash splits the word at ":" and "=" (COMP_WORDBREAKS); rejoin it as
	# typed so "[::1]:80" and "--log-level=de" read as one word.
	i=$cword
	typed=${COMP_WORDS[i]}
	while ((i > 1)) && { _revenge_server_break "${COMP_WORDS[i]}" ||
			     _revenge_server_break "${COMP_WORDS[i - 1]}"; }; do
		((i--))
		typed=${COMP_WORDS[i]}$typed
	done
	# What bash will replace is only the part after the last break.
	bword=${COMP_WORDS[cword]}
	_revenge_server_break "$bword" && bword=''
	prefix=${typed%"$bword"}

	if [[ $typed == --*=* ]]; then
		flag=${typed%%=*}
		eq="$flag="
		val=${typed#*=}
	elif ((i > 1)); then
		case ${COMP_WORDS[i - 1]} in
		--listen | --metrics-listen | --port-file | --db | --session-ttl | --max-stored-per-owner | --party-retention | \
		--ladder | --origin | --allowed-host | --trusted-proxy | --max-message | --history | \
		--ping-interval | --rate-limit | --party-chat-rate | --queue-max | --max-parties | \
		--max-members | --max-sessions | --max-sessions-per-owner | \
		--max-conns-per-ip | --handshake-rate-per-ip | --party-join-rate | \
		--handshake-timeout | --message-timeout | --partial-budget | --frame-rate | --tls-cert | \
		--lead-min | --lead-max | \
		--ready-timeout | --rebuffer-timeout | \
		--presence-batch-above | --presence-interval | \
		--drift-interval | \
		--redis | --redis-ca | --redis-cert | --redis-key | \
		--tls-key | --log-level | --log-format | --config | --auth-secret-file | \
		--auth-public-key | --auth-leeway | --sub | --name | --role | \
		--party | --session | --ttl | --from | --to | --token | --token-file | --timeout)
			flag=${COMP_WORDS[i - 1]}
			val=$typed ;;
		esac
	fi

	if [[ -n $flag ]]; then
		case $flag in
		--log-level)
			mapfile -t matches < <(compgen -W 'error warn info debug' -- "$val") ;;
		--log-format)
			mapfile -t matches < <(compgen -W 'text json' -- "$val") ;;
		--listen)
			mapfile -t matches < <(compgen -W '127.0.0.1:8080 0.0.0.0:8080 [::1]:8080 127.0.0.1:0' -- "$val") ;;
		--metrics-listen)
			mapfile -t matches < <(compgen -W '127.0.0.1:9090 [::1]:9090 127.0.0.1:0' -- "$val") ;;
		--ladder)
			mapfile -t matches < <(compgen -W '2160p:16000,1080p:8000,720p:4000,480p:1500,360p:800' -- "$val") ;;
		--role)
			mapfile -t matches < <(compgen -W 'host member' -- "$val") ;;
		--ttl)
			mapfile -t matches < <(compgen -W '15m 1h 12h 7d' -- "$val") ;;
		--web-root)
			compopt -o filenames 2>/dev/null
			mapfile -t matches < <(compgen -d -- "$val") ;;
		--port-file | --db | --config | --tls-cert | --tls-key | --auth-secret-file | --auth-public-key | --redis-ca | --redis-cert | --redis-key | --from | --token-file)
			compopt -o filenames 2>/dev/null
			mapfile -t matches < <(compgen -f -- "$val") ;;
		*)
			return 0 ;;  # a number or a pattern: nothing to offer
		esac
	elif [[ $typed == -* ]]; then
		mapfile -t matches < <(compgen -W "$flags" -- "$typed")
	elif ((cword == 1)); then
		mapfile -t matches < <(compgen -W 'token migrate backup admin' -- "$typed")
	elif [[ ${COMP_WORDS[1]-} == backup ]]; then
		compopt -o filenames 2>/dev/null   # the backup's new file
		mapfile -t matches < <(compgen -f -- "$typed")
	elif [[ ${COMP_WORDS[1]-} == admin ]]; then
		# admin [OPTIONS] URL COMMAND ...: the command after the URL
		local -a ops=()
		for ((m = 2; m < cword; m++)); do
			case ${COMP_WORDS[m]} in
			--token | --token-file | --timeout) ((m++)) ;;
			-*) ;;
			*) ops+=("${COMP_WORDS[m]}") ;;
			esac
		done
		((${#ops[@]} == 1)) || return 0
		mapfile -t matches < <(compgen -W 'list show close remove' -- "$typed")
	else
		return 0  # no other operands
	fi

	for m in "${matches[@]}"; do
		m=$eq$m
		[[ $m == "$prefix"* ]] && COMPREPLY+=("${m#"$prefix"}")
	done
	return 0
}

complete -F _revenge_server revenge-server
