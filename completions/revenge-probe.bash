# completions/revenge-probe.bash - bash completion for revenge-probe.
#
# revenge-probe takes global options, then a check, then the check's own
# options: this completes the global flags before the check, the check
# names, and after a check only that check's flags, with the values that
# have a fixed set (the direction or profile a quality check expects, the
# default ladder's profiles) and files (the CA bundle, the token file, a
# scenario file).
# Stands alone: it needs no bash-completion helpers. The flags mirror
# usage_text in cmd/revenge-probe/main.c; tests/cli/completion.bats fails
# when they drift apart.

# True when $1 is made only of the word-break characters bash splits
# "--timeout=5s" and "ws://host:port" at.
_revenge_probe_break()
{
	[[ -n $1 && -z ${1//[:=]/} ]]
}

# The flags of check $1, one string; every one of them takes a value.
_revenge_probe_check_flags()
{
	case $1 in
	sync) echo '--members --tolerance-ms --party' ;;
	chat) echo '--party' ;;
	progress) echo '--session --media --position --duration --interval-ms' ;;
	quality) echo '--session --request --bandwidth --spacing-ms --expect' ;;
	run) echo '--var' ;;
	tail) echo '--count' ;;
	esac
}

# The flags of check $1 that take no value, one string.
_revenge_probe_check_switches()
{
	case $1 in
	sync) echo '--accuracy' ;;
	esac
}

_revenge_probe()
{
	local globals='--url --timeout --wait --json --quiet --insecure --ca --origin
		--token --token-file --junit --help --version -h -V'
	local checks='health sync chat progress quality run tail'
	local profiles='2160p 1080p 720p 480p 360p'
	local cword=$COMP_CWORD i j n w typed bword prefix flag='' val eq='' m
	local check='' cflags='' operands=0 nospace=''
	local -a words=() matches=()

	COMPREPLY=()
	# Bash splits words at ":" and "=" (COMP_WORDBREAKS); rejoin them as
	# typed, so "ws://host:8080" and "--expect=down" read as one word each.
	for ((i = 1; i <= cword; i++)); do
		w=${COMP_WORDS[i]}
		if ((i > 1)) && { _revenge_probe_break "$w" ||
				  _revenge_probe_break "${COMP_WORDS[i - 1]}"; }; then
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
	_revenge_probe_break "$bword" && bword=''
	prefix=${typed%"$bword"}

	# Walk the words before this one: global options and their values, the
	# check, then its options, their values and its operands.
	for ((j = 0; j < n - 1; j++)); do
		w=${words[j]}
		if [[ $w == + ]]; then
			# another check follows
			check= cflags= operands=0
		elif [[ -z $check ]]; then
			case $w in
			--url | --timeout | --wait | --ca | --origin | --token | --token-file | --junit)
				((j == n - 2)) && flag=$w
				((j++)) ;;
			-h | --help | -V | --version)
				return 0 ;;
			-*) ;;
			*)
				check=$w
				cflags=$(_revenge_probe_check_flags "$check") ;;
			esac
		elif [[ $w == -* ]]; then
			if [[ $w != *=* && " $cflags " == *" $w "* ]]; then
				((j == n - 2)) && flag=$w
				((j++))
			fi
		else
			((operands++))
		fi
	done

	if [[ $typed == --*=* ]]; then
		flag=${typed%%=*}
		eq="$flag="
		val=${typed#*=}
	elif [[ -n $flag ]]; then
		val=$typed
	fi

	if [[ -n $flag ]]; then
		case $check:$flag in
		:--ca | :--token-file | :--junit)
			compopt -o filenames 2>/dev/null
			mapfile -t matches < <(compgen -f -- "$val") ;;
		quality:--expect)
			mapfile -t matches < <(compgen -W 'up down none' -- "$val") ;;
		quality:--request)
			mapfile -t matches < <(compgen -W "$profiles" -- "$val") ;;
		*)
			return 0 ;;  # a URL, a duration, an id, a token or a number: nothing to offer
		esac
	elif [[ $typed == -* ]]; then
		if [[ -z $check ]]; then
			mapfile -t matches < <(compgen -W "$globals" -- "$typed")
		else
			mapfile -t matches < <(compgen -W "$cflags $(_revenge_probe_check_switches "$check")" -- "$typed")
		fi
	elif [[ -z $check ]]; then
		mapfile -t matches < <(compgen -W "$checks" -- "$typed")
	elif ((operands == 0)); then
		case $check in
		run)
			# scenario files, and directories to find them in
			compopt -o filenames 2>/dev/null
			mapfile -t matches < <({
				compgen -f -X '!*.json' -- "$typed"
				compgen -d -- "$typed"
			} | sort -u) ;;
		tail)
			compopt -o nospace 2>/dev/null
			mapfile -t matches < <(compgen -W '/ws/party/ /ws/progress/ /ws/stream/' -- "$typed") ;;
		esac
	fi

	for m in "${matches[@]}"; do
		m=$eq$m
		[[ $m == "$prefix"* ]] && COMPREPLY+=("${m#"$prefix"}")
	done
	return 0
}

complete -F _revenge_probe revenge-probe
