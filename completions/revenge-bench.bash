# completions/revenge-bench.bash - bash completion for revenge-bench.
#
# revenge-bench takes global options, then a scenario, then the scenario's
# own options: this completes the global flags before the scenario, the
# scenario names, and after a scenario only that scenario's flags. Every
# value (a URL, a duration, a count, a rate, a pid, source addresses) is
# free: nothing is offered for it. Stands alone: it needs no bash-completion helpers. The
# flags mirror usage_text in cmd/revenge-bench/main.c;
# tests/cli/completion.bats fails when they drift apart.

# True when $1 is made only of the word-break characters bash splits
# "--duration=5s" and "ws://host:port" at.
_revenge_bench_break()
{
	[[ -n $1 && -z ${1//[:=]/} ]]
}

# The flags of scenario $1 that take a value, one string.
_revenge_bench_scenario_flags()
{
	case $1 in
	amplify) echo '--attackers --rate --passive --bystanders --bystander-cpu --server-pid' ;;
	chat) echo '--parties --members --rate --server-pid --redis-pid' ;;
	churn) echo '--parties --members --rate --churn --server-pid --redis-pid' ;;
	connect) echo '--conns --server-pid' ;;
	fanout) echo '--parties --members --rate --server-pid --redis-pid' ;;
	fill) echo '--parties --members --server-pid' ;;
	progress) echo '--sessions --inflight --rate' ;;
	sync) echo '--members --delay --delay-up --delay-down --jitter --jitter-dist --skew-ppm --seed' ;;
	esac
}

# The flags of scenario $1 that take none, one string.
_revenge_bench_scenario_switches()
{
	case $1 in
	connect) echo '--raw' ;;
	sync) echo '--rejoin' ;;
	esac
}

_revenge_bench()
{
	local globals='--url --duration --connect-rate --src --token
		--token-file --json --help --version -h -V'
	local scenarios='amplify chat churn connect fanout fill progress sync'
	local cword=$COMP_CWORD i j n w typed bword prefix flag='' m
	local scenario='' sflags='' sswitches=''
	local -a words=() matches=()

	COMPREPLY=()
	# Bash splits words at ":" and "=" (COMP_WORDBREAKS); rejoin them as
	# typed, so "ws://host:8080" and "--rate=10" read as one word each.
	for ((i = 1; i <= cword; i++)); do
		w=${COMP_WORDS[i]}
		if ((i > 1)) && { _revenge_bench_break "$w" ||
				  _revenge_bench_break "${COMP_WORDS[i - 1]}"; }; then
			words[${#words[@]} - 1]+=$w
		else
			words+=("$w")
		fi
	done
	n=${#words[@]}
	((n)) || return 0
	typed=${words[n - 1]}
	# What bash will replace is only the part after the last break.
	bword=${COMP_WORDS[cword]}
	_revenge_bench_break "$bword" && bword=''
	prefix=${typed%"$bword"}

	# Walk the words before this one: global options and their values, the
	# scenario, then its options and their values.
	for ((j = 0; j < n - 1; j++)); do
		w=${words[j]}
		if [[ -z $scenario ]]; then
			case $w in
			--url | --duration | --connect-rate | --src | --token | --token-file)
				((j == n - 2)) && flag=$w
				((j++)) ;;
			-h | --help | -V | --version)
				return 0 ;;
			-*) ;;
			*)
				scenario=$w
				sflags=$(_revenge_bench_scenario_flags "$scenario")
				sswitches=$(_revenge_bench_scenario_switches "$scenario") ;;
			esac
		elif [[ $w == -* ]]; then
			if [[ $w != *=* && " $sflags " == *" $w "* ]]; then
				((j == n - 2)) && flag=$w
				((j++))
			fi
		else
			return 0  # a scenario takes no operands
		fi
	done

	# The token's file; a URL, a duration, a count, a rate, a pid,
	# addresses or a token: nothing to offer.
	if [[ $flag == --token-file || $typed == --token-file=* ]]; then
		local val=${typed#--token-file=} eq=''
		[[ $typed == --token-file=* ]] && eq=--token-file=
		compopt -o filenames 2>/dev/null
		mapfile -t matches < <(compgen -f -- "$val")
		for m in "${matches[@]}"; do
			m=$eq$m
			[[ $m == "$prefix"* ]] && COMPREPLY+=("${m#"$prefix"}")
		done
		return 0
	fi
	[[ -n $flag || $typed == --*=* ]] && return 0

	if [[ $typed == -* ]]; then
		if [[ -z $scenario ]]; then
			mapfile -t matches < <(compgen -W "$globals" -- "$typed")
		else
			mapfile -t matches < <(compgen -W "$sflags $sswitches" -- "$typed")
		fi
	elif [[ -z $scenario ]]; then
		mapfile -t matches < <(compgen -W "$scenarios" -- "$typed")
	fi

	for m in "${matches[@]}"; do
		[[ $m == "$prefix"* ]] && COMPREPLY+=("${m#"$prefix"}")
	done
	return 0
}

complete -F _revenge_bench revenge-bench
