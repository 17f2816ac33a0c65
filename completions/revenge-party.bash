# completions/revenge-party.bash - bash completion for revenge-party.
#
# revenge-party [OPTIONS] [URL] PARTY: this completes the flags, the values
# that have something worth offering (a CA bundle is a file; a video's
# length is offered as 1:30:00 and 2:00:00), and the first operand, the
# server's URL, as the default address (it may be left out for
# $REVENGE_URL). Stands alone: it needs no
# bash-completion helpers. The flags mirror usage_text in
# tui/revenge-party/main.c; tests/cli/completion.bats fails when they drift
# apart.

# True when $1 is made only of the word-break characters bash splits
# "--duration=1:30:00" and "ws://host:port" at.
_revenge_party_break()
{
	[[ -n $1 && -z ${1//[:=]/} ]]
}

_revenge_party()
{
	local flags='--name --duration --insecure --ca --token --token-file --log --help
		--version -h -V'
	local cword=$COMP_CWORD i j n w typed bword prefix flag='' val eq='' m
	local operands=0 ended=''
	local -a words=() matches=()

	COMPREPLY=()
	# Bash splits words at ":" and "=" (COMP_WORDBREAKS); rejoin them as
	# typed, so "ws://host:8080" and "--duration=1:30:00" read as one word.
	for ((i = 1; i <= cword; i++)); do
		w=${COMP_WORDS[i]}
		if ((i > 1)) && { _revenge_party_break "$w" ||
				  _revenge_party_break "${COMP_WORDS[i - 1]}"; }; then
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
	_revenge_party_break "$bword" && bword=''
	prefix=${typed%"$bword"}

	# Walk the words before this one: options, their values, operands.
	for ((j = 0; j < n - 1; j++)); do
		w=${words[j]}
		if [[ -n $ended ]]; then
			((operands++))
			continue
		fi
		case $w in
		--name | --duration | --ca | --token | --token-file | --log)
			((j == n - 2)) && flag=$w
			((j++)) ;;
		-h | --help | -V | --version)
			return 0 ;;
		--)
			ended=1 ;;
		-*) ;;
		*)
			((operands++)) ;;
		esac
	done

	if [[ -z $ended && $typed == --*=* ]]; then
		flag=${typed%%=*}
		eq="$flag="
		val=${typed#*=}
	elif [[ -n $flag ]]; then
		val=$typed
	fi

	if [[ -n $flag ]]; then
		case $flag in
		--ca | --token-file | --log)
			compopt -o filenames 2>/dev/null
			mapfile -t matches < <(compgen -f -- "$val") ;;
		--duration)
			mapfile -t matches < <(compgen -W '1:30:00 2:00:00' -- "$val") ;;
		*)
			return 0 ;;  # a name or a token: nothing to offer
		esac
	elif [[ -z $ended && $typed == -* ]]; then
		mapfile -t matches < <(compgen -W "$flags" -- "$typed")
	elif ((operands == 0)); then
		mapfile -t matches < <(compgen -W 'ws://127.0.0.1:8080' -- "$typed")
	fi

	for m in "${matches[@]}"; do
		m=$eq$m
		[[ $m == "$prefix"* ]] && COMPREPLY+=("${m#"$prefix"}")
	done
	return 0
}

complete -F _revenge_party revenge-party
