# bash completion for mortem(1).                          -*- shell-script -*-
# SPDX-License-Identifier: MIT
#
# Installed as PREFIX/share/bash-completion/completions/mortem. It works with
# or without the bash-completion package.
#
# Commands and options come from `mortem --help` itself, so that a new
# command or option completes as soon as the binary has it:
#   - a command is the first word of each line under "Commands:";
#   - an option is each -x / --long of the lines under "Options:"; it takes an
#     argument when an upper-case word follows it; it applies to the commands
#     its description names as words ("JSON output (list, info)", "stacks:
#     every thread", "where dump writes the core") or, naming none, to all.
# A MATCH completes from the index (`mortem list --json`: ids, PIDs, command
# names), only when the store is readable by the user, quietly and within a
# second.

# _mortem_help CMD: parse `CMD --help` once per command path into the globals
# _mortem_verbs, _mortem_match_verbs (those that take a MATCH), _mortem_opts
# (lines "OPT ARG? VERBS..."). Cached per binary path and mtime.
# The FIELD names of FIELD=VALUE and -F (mortem(1), MATCHES).
_mortem_fields='id pid uid gid signal signal_name comm exe unit hostname boot_id signature time_usec core_status
COREDUMP_PID COREDUMP_UID COREDUMP_GID COREDUMP_SIGNAL COREDUMP_SIGNAL_NAME COREDUMP_COMM COREDUMP_EXE
COREDUMP_UNIT COREDUMP_HOSTNAME COREDUMP_TIMESTAMP _BOOT_ID'

_mortem_help()
{
	local cmd=$1 bin key help
	bin=$(type -P -- "$cmd" 2>/dev/null) || bin=$cmd
	key="$bin:$(stat -c %Y -- "$bin" 2>/dev/null)"
	[[ $key == "${_mortem_help_key-}" ]] && return 0
	help=$(LC_ALL=C timeout 2 "$bin" --help 2>/dev/null) || [[ -n $help ]] || return 1
	_mortem_verbs=$(printf '%s\n' "$help" |
		awk '/^Commands:/ { on = 1; next } on && !NF { exit } on && $1 ~ /^[a-z][-a-z]*$/ { print $1 }')
	_mortem_match_verbs=$(printf '%s\n' "$help" |
		awk '/^Commands:/ { on = 1; next } on && !NF { exit } on && $2 ~ /MATCH/ { print $1 }')
	local verbs_re
	verbs_re=$(printf '%s\n' $_mortem_verbs | paste -sd '|')
	_mortem_opts=$(printf '%s\n' "$help" | awk -v verbs="$verbs_re" '
		/^Options:/ { on = 1; next }
		on && !NF { exit }
		on && $1 ~ /^-/ {
			line = $0; sub(/^[ \t]+/, "", line)
			# the option part ends at the first run of two spaces
			i = match(line, /  +/)
			optpart = i ? substr(line, 1, i - 1) : line
			desc = i ? substr(line, i) : ""
			arg = (optpart ~ /[ =][A-Z][A-Z_]*$/) ? "ARG" : "-"
			n = split(verbs, v, "|"); named = ""
			for (k = 1; k <= n; k++)
				if (desc ~ ("(^|[^a-z-])" v[k] "([^a-z-]|$)"))
					named = named " " v[k]
			m = split(optpart, o, /[, ]+/)
			for (k = 1; k <= m; k++)
				if (o[k] ~ /^-/) { sub(/[[=].*/, "", o[k]); print o[k], arg, (named == "" ? "*" : named) }
		}')
	_mortem_help_key=$key
}

# _mortem_matches CMD CONFIG_ARGS...: ids, PIDs and command names of the
# stored crashes, newest first.
_mortem_matches()
{
	local cmd=$1; shift
	local conf=${MORTEM_CONFIG:-/etc/mortem/mortem.conf} path=/var/lib/mortem a f
	# -c FILE given on the command line wins.
	for a in "$@"; do conf=$a; done
	# Path= from the configuration and its drop-ins, the last one winning.
	for f in "$conf" "$conf".d/*.conf; do
		[[ -r $f ]] || continue
		a=$(sed -n 's/^[[:space:]]*Path[[:space:]]*=[[:space:]]*//p' "$f" 2>/dev/null | tail -n 1)
		[[ -n $a ]] && path=${a%"${a##*[![:space:]]}"}
	done
	[[ -r $path/store && -x $path/store ]] || return 0
	local json
	json=$(timeout 1 "$cmd" ${1:+-c "$1"} list -r --json 2>/dev/null) || return 0
	if type -P jq >/dev/null 2>&1; then
		printf '%s\n' "$json" | jq -r '.[] | .id, (.pid | tostring), .comm // empty' 2>/dev/null
	else
		# one member a line, the crash's own members indented by four spaces
		printf '%s\n' "$json" | sed -n -e 's/^    "\(id\|comm\)": *"\([^"\\]*\)".*/\2/p' \
			-e 's/^    "pid": *\([0-9][0-9]*\).*/\1/p'
	fi
}

_mortem()
{
	local cur prev words cword
	if declare -F _get_comp_words_by_ref >/dev/null 2>&1; then
		_get_comp_words_by_ref -n =: cur prev words cword
	else
		words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
		# --opt=VALUE arrives as "--opt" "=" "VALUE"
		if [[ $cur == = ]]; then
			prev=${words[cword - 1]} cur=
		elif [[ $prev == = && $cword -ge 2 ]]; then
			prev=${words[cword - 2]}
		fi
	fi
	COMPREPLY=()
	local cmd=${words[0]}
	_mortem_help "$cmd" || return 0

	# --opt=VALUE in one word
	if [[ $cur == --*=* ]]; then
		prev=${cur%%=*} cur=${cur#*=}
	fi

	# The option before the cursor wants an argument?
	if [[ $prev == -* ]] && awk -v o="$prev" '$1 == o && $2 == "ARG" { f = 1 } END { exit !f }' <<<"$_mortem_opts"; then
		case $prev in
		-c | --config | -o | --output | --collector)
			compopt -o filenames 2>/dev/null
			mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
		--debugger)
			mapfile -t COMPREPLY < <(compgen -c -- "$cur") ;;
		-S | --since | -U | --until)
			mapfile -t COMPREPLY < <(compgen -W 'now today yesterday tomorrow -1h -1d -7d -30min' -- "$cur") ;;
		-F | --field)
			mapfile -t COMPREPLY < <(compgen -W "$_mortem_fields" -- "$cur") ;;
		esac
		return 0
	fi
	# --json takes an optional MODE, only as --json=MODE
	if [[ $prev == --json && ( ${words[cword]} == --json=* || ${words[cword]} == = || ${words[cword - 1]} == = ) ]]; then
		mapfile -t COMPREPLY < <(compgen -W 'short pretty off' -- "$cur")
		return 0
	fi

	# Find the command and whether a MATCH is already there; note -c FILE.
	local i w verb='' nargs=0 conf=()
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		[[ $w == = ]] && continue
		if [[ $w == -* ]]; then
			[[ $w == *=* ]] && { [[ ${w%%=*} == --config ]] && conf=("${w#*=}"); continue; }
			if awk -v o="$w" '$1 == o && $2 == "ARG" { f = 1 } END { exit !f }' <<<"$_mortem_opts"; then
				[[ ${words[i + 1]} == = ]] && ((i++))
				((i++))
				[[ $w == -c || $w == --config ]] && conf=("${words[i]}")
			fi
			continue
		fi
		if [[ -z $verb ]]; then verb=$w; else ((nargs++)); fi
	done

	if [[ $cur == -* ]]; then
		local opts
		opts=$(awk -v v="$verb" '$3 == "*" || v == "" { print $1; next }
			{ for (k = 3; k <= NF; k++) if ($k == v) { print $1; next } }' <<<"$_mortem_opts")
		mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
		return 0
	fi
	if [[ -z $verb ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$_mortem_verbs" -- "$cur")
		return 0
	fi
	# FIELD=VALUE matches, any number of them
	if grep -qx -- "$verb" <<<"$_mortem_match_verbs" && [[ $cur =~ ^[A-Za-z_]+$ ]]; then
		local f
		for f in $_mortem_fields; do
			[[ $f == "$cur"* ]] && COMPREPLY+=("$f=")
		done
		compopt -o nospace 2>/dev/null
	fi
	if ((nargs == 0)) && grep -qx -- "$verb" <<<"$_mortem_match_verbs"; then
		# Not compgen -W: it would expand what crashing processes named
		# themselves ("$(...)" in a comm). Plain prefix matching, and only
		# words that need no quoting.
		local m
		while IFS= read -r m; do
			[[ $m == "$cur"* && $m =~ ^[A-Za-z0-9._/:@+-]+$ ]] && COMPREPLY+=("$m")
		done < <(_mortem_matches "$cmd" "${conf[@]}" | awk '!seen[$0]++')
	fi
	return 0
}
complete -F _mortem mortem
