#!/bin/bash
# The documented examples are true: every command of the EXAMPLES section of
# man/mortem.1 and of README.md's Usage block is extracted from the text and
# run, as written but for its placeholders, against a private store with four
# real crashes (lib.sh: private collector and store, core_pattern and
# core_pipe_limit restored on exit). The placeholders become real things:
# PID 1234 a SIGSEGV crash, myprog and nginx the crasher (command name and
# executable path), the id prefix 20250114T0930 a unique prefix of that
# crash's id. Commands that want a terminal (gdb, mortem debug) get "bt" on
# their standard input; the ones that change the system (enable, disable)
# use the private collector (--collector) and a temp sysctl.d
# (MORTEM_SYSCTL_DIR), starting from a stand-in for another handler; vacuum
# works on a copy of the store with MaxUse=1; rm removes the crasher's crashes
# from the private store. An example the table below does not know fails the
# test: a new example needs a check here.
#
# usage: tests/e2e/test_man_examples.sh BUILD_DIR
set -u
. "$(dirname "$0")/lib.sh"
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v jq >/dev/null 2>&1 || e2e_skip "test_man_examples: jq not installed"
command -v gdb >/dev/null 2>&1 || e2e_skip "test_man_examples: gdb not installed"
e2e_setup "$1"
e2e_install
build=$(cd "$1" && pwd)
unset DEBUGINFOD_URLS

W=$E2E_DIR/work
mkdir -p "$W" "$E2E_DIR/bin" "$E2E_DIR/sysctl.d"
export MORTEM_SYSCTL_DIR=$E2E_DIR/sysctl.d
COL=$E2E_DIR/mortem-collect
exe=$(readlink -f "$CRASHER")
other=$E2E_DIR/bin/crasher2
cp "$CRASHER" "$other"

# --- the examples, as the documents give them
man_examples() {
	awk '/^\.Sh EXAMPLES/ { on = 1; next } /^\.Sh / { on = 0 } on && /^\.Dl / { sub(/^\.Dl /, ""); print }' \
		"$top/man/mortem.1" | sed -e 's/\\(dq/"/g' -e 's/\\-/-/g' -e 's/\\e/\\/g' -e 's/\\&//g'
}
readme_examples() {
	awk '/^## Usage/ { on = 1; next } /^## / { on = 0 } on && /^```/ { fence = !fence; next } on && fence' \
		"$top/README.md" | sed -e 's/[[:space:]]\{2,\}#.*$//' -e 's/[[:space:]]*$//' | sed -e '/^$/d' -e 's/^/# /'
}
man_examples > "$E2E_DIR/man.txt"
readme_examples > "$E2E_DIR/readme.txt"
[ "$(grep -c . "$E2E_DIR/man.txt")" -ge 10 ] || fail "test_man_examples: too few examples found in man/mortem.1: $(cat "$E2E_DIR/man.txt")"
[ "$(grep -c . "$E2E_DIR/readme.txt")" -ge 5 ] || fail "test_man_examples: too few examples found in README.md: $(cat "$E2E_DIR/readme.txt")"

# --- four crashes, the newest last: crasher segv, crasher abort, crasher2 segv, crasher fpe
crash() { # crash PROGRAM ARGS...: prints the PID
	local p st
	read -r p st < <(e2e_crash_pid "$@")
	case $st in 13[0-9]) ;; *) fail "test_man_examples: $* exited $st, expected a signal";; esac
	e2e_wait_pid "$p"
	echo "$p"
}
p1=$(crash "$CRASHER" segv); sleep 0.2
p2=$(crash "$CRASHER" abort); sleep 0.2
p3=$(crash "$other" segv); sleep 0.2
p4=$(crash "$CRASHER" -t 2 fpe)
all=$($MORTEM list --json)
[ "$(printf '%s' "$all" | jq length)" = 4 ] || fail "test_man_examples: expected 4 crashes: $all"
id_of() { printf '%s' "$all" | jq -r --argjson p "$1" '.[] | select(.pid == $p) | .id'; }
id1=$(id_of "$p1"); id2=$(id_of "$p2"); id3=$(id_of "$p3"); id4=$(id_of "$p4")
prefix1=${id1%%Z-*}   # YYYYMMDDTHHMMSS.uuuuuu: unique here

# `mortem` in the examples is the built one with the private configuration.
mortem() { "$build/mortem" -c "$E2E_CONF" "$@"; }
export -f mortem
export build E2E_CONF

subst() { # the placeholders of the examples become this store's crashes
	sed -e "s|/usr/bin/myprog|$exe|g" -e "s|/usr/sbin/nginx|$exe|g" -e "s|\bmyprog\b|crasher|g" \
		-e "s|\bnginx\b|crasher|g" -e "s|\b1234\b|$p1|g" -e "s|20250114T0930|$prefix1|g"
}

# run [STDIN] CMD: run the shell command CMD in $W (stdin from the string
# STDIN, or /dev/null); status in $st, output in $W/out, errors in $W/err.
run() {
	local in=$1 cmd=$2
	st=0
	(cd "$W" && printf '%s' "$in" | bash -c "$cmd") > "$W/out" 2> "$W/err" || st=$?
}
fails=0 ran=0
bad() { echo "  FAIL    test_man_examples: '$text' (run as: $cmd): $*" >&2
	sed 's/^/          out: /' "$W/out" | head -15 >&2; sed 's/^/          err: /' "$W/err" | head -15 >&2
	fails=$((fails + 1)); }
want_st() { [ "$st" = "$1" ] || bad "exited $st, expected $1"; }
want_out() { grep -Eq -- "$1" "$W/out" || bad "output does not match /$1/"; }
# ids_in_out: the ids of this store, in the order the output names them.
ids_in_out() { grep -oE '[0-9]{8}T[0-9]{6}\.[0-9]{6}Z-[0-9a-f]{8}-[0-9]+' "$W/out" | awk '!seen[$0]++' | tr '\n' ' ' | sed 's/ $//'; }
want_ids() { local got; got=$(ids_in_out); [ "$got" = "$1" ] || bad "ids in the output: [$got], expected [$1]"; }
set_kernel() { printf '%s\n' "$1" > "$CP"; printf '%s\n' "$2" > "$CPL"; }
foreign="|/bin/false %p"   # stands for systemd-coredump
private_pattern=$(cat "$CP"); private_limit=$(cat "$CPL")

# vacuum works on a copy of the store, owned by nobody, with MaxUse just
# below what the four crashes take: the vacuum deletes a core or two.
vac_setup() {
	[ -e "$E2E_DIR/vac.conf" ] && return 0
	cp -a "$E2E_STORE" "$E2E_DIR/vstore"
	chown -R 65534:65534 "$E2E_DIR/vstore"
	local total; total=$($MORTEM disk-usage --json | jq .total_bytes)
	{ sed "s|^Path=.*|Path=$E2E_DIR/vstore|" "$E2E_CONF"; printf '[Policy]\nMaxUse=%s\n' $((total - 1)); } > "$E2E_DIR/vac.conf"
	chmod 644 "$E2E_DIR/vac.conf"
}
vac_cores() { "$build/mortem" -c "$E2E_DIR/vac.conf" list --json | jq '[.[] | select(.core.status == "stored")] | length'; }

example() { # example PROMPT TEXT: run one documented command and check it
	local prompt=$1
	text=$2
	cmd=$(printf '%s\n' "$text" | subst)
	ran=$((ran + 1))
	case $text in
	'mortem list')
		run '' "$cmd"; want_st 0; want_ids "$id1 $id2 $id3 $id4" ;;
	'mortem list -S -1h')
		run '' "$cmd"; want_st 0; want_ids "$id1 $id2 $id3 $id4" ;;
	'mortem list -r -n 10 nginx')   # comm "crasher": not crasher2
		run '' "$cmd"; want_st 0; want_ids "$id4 $id2 $id1" ;;
	'mortem list -r -n 5 /usr/sbin/nginx')   # exe: not crasher2
		run '' "$cmd"; want_st 0; want_ids "$id4 $id2 $id1"
		run '' "mortem list -r -n 2 $exe"; want_st 0; want_ids "$id4 $id2" ;;
	"mortem list --json | jq -r '.[] | .id + \" \" + .signal_name + \" \" + .exe'")
		run '' "$cmd"; want_st 0
		[ "$(cat "$W/out")" = "$id1 SIGSEGV $exe
$id2 SIGABRT $exe
$id3 SIGSEGV $(readlink -f "$other")
$id4 SIGFPE $exe" ] || bad "unexpected lines" ;;
	"mortem list --json -S today | jq -r '.[] | select(.signal_name == \"SIGSEGV\") | .id + \" \" + .exe'")
		run '' "$cmd"; want_st 0
		[ "$(cat "$W/out")" = "$id1 $exe
$id3 $(readlink -f "$other")" ] || bad "unexpected lines" ;;
	'mortem info')
		run '' "$cmd"; want_st 0; want_out "$id4"; want_out SIGFPE ;;
	'mortem info --json 1234')
		run '' "$cmd"; want_st 0
		jq -e --arg id "$id1" --argjson p "$p1" '.id == $id and .pid == $p and .signal_name == "SIGSEGV"' "$W/out" >/dev/null ||
			bad "not the JSON record of pid $p1" ;;
	'mortem stacks')
		run '' "$cmd"; want_st 0; want_out 'crash_fpe'; want_out 'main' ;;
	'mortem dump -o core.1234 1234')
		rm -f "$W/core.$p1"
		run '' "$cmd"; want_st 0
		[ "$(head -c 4 "$W/core.$p1" 2>/dev/null | od -An -c | tr -d ' ')" = '177ELF' ] || bad "core.$p1 is not an ELF file"
		command -v eu-readelf >/dev/null 2>&1 && { eu-readelf -h "$W/core.$p1" 2>/dev/null | grep -q 'CORE' || bad "core.$p1 is not a core file"; } ;;
	'gdb /usr/bin/myprog core.1234')
		[ -s "$W/core.$p1" ] || bad "no core.$p1 (the dump example comes first)"
		run 'bt' "$cmd"; want_st 0; want_out 'crash_segv'; want_out 'main' ;;
	'mortem debug myprog')   # the newest crash of comm crasher: the fpe
		run 'bt' "$cmd"; want_st 0; want_out 'crash_fpe' ;;
	'mortem debug 20250114T0930')
		run 'bt' "$cmd"; want_st 0; want_out 'crash_segv' ;;
	'mortem reindex')
		run '' "$cmd"; want_st 0
		run '' 'mortem list'; want_st 0; want_ids "$id1 $id2 $id3 $id4" ;;
	'mortem enable --force')   # over another handler, then put back
		set_kernel "$foreign" 0
		cmd="$cmd --collector $COL"
		run '' "$cmd"; want_st 0
		case $(cat "$CP") in "|$COL "*) ;; *) bad "core_pattern is '$(cat "$CP")'";; esac
		[ "$(cat "$CPL")" = 2147483647 ] || bad "core_pipe_limit is $(cat "$CPL")"
		[ -e "$MORTEM_SYSCTL_DIR/50-mortem.conf" ] || bad "no sysctl.d drop-in" ;;
	'mortem doctor')   # after the enable above
		run '' "$cmd"; want_st 0; want_out 'core_pattern' ;;
	'mortem disable')   # gives back what enable --force replaced
		run '' "$cmd"; want_st 0
		[ "$(cat "$CP")" = "$foreign" ] || bad "core_pattern is '$(cat "$CP")', expected '$foreign'"
		[ "$(cat "$CPL")" = 0 ] || bad "core_pipe_limit is $(cat "$CPL"), expected 0"
		[ ! -e "$MORTEM_SYSCTL_DIR/50-mortem.conf" ] || bad "the drop-in is still there"
		set_kernel "$private_pattern" "$private_limit" ;;
	'mortem enable --runtime')
		set_kernel core 0
		cmd="$cmd --collector $COL"
		run '' "$cmd"; want_st 0
		case $(cat "$CP") in "|$COL "*) ;; *) bad "core_pattern is '$(cat "$CP")'";; esac
		[ ! -e "$MORTEM_SYSCTL_DIR/50-mortem.conf" ] || bad "--runtime wrote a drop-in"
		run '' 'mortem disable'; want_st 0
		[ "$(cat "$CP")" = core ] || bad "disable after --runtime left '$(cat "$CP")'"
		set_kernel "$private_pattern" "$private_limit" ;;
	"mortem doctor --json | jq -r '.checks[] | select(.status == \"fail\") | .name + \": \" + .message'")
		set_kernel "$foreign" 0   # a failing check to print
		run '' "$cmd"; want_st 0; want_out '^core_pattern: .*does not pipe to mortem-collect'
		[ "$(wc -l < "$W/out")" = 1 ] || bad "more than the core_pattern check fails"
		set_kernel "$private_pattern" "$private_limit"
		run '' "$cmd"; want_st 0
		[ ! -s "$W/out" ] || bad "checks fail with the private collector in place" ;;
	'mortem vacuum --dry-run')   # any user who can read the store: nobody, on a copy it owns
		vac_setup
		run '' "setpriv --reuid=65534 --regid=65534 --clear-groups ${cmd//mortem /"$build/mortem -c $E2E_DIR/vac.conf "}"
		want_st 0; want_out '^core +[0-9]{8}T.* disk quota'
		grep -E '^(core|record) ' "$W/out" > "$E2E_DIR/plan"
		[ "$(wc -l < "$E2E_DIR/plan")" -ge 1 ] || bad "plans no deletion over MaxUse"
		[ "$(vac_cores)" = 4 ] || bad "--dry-run deleted something" ;;
	'mortem vacuum')   # root, on the same copy: does what the dry run said
		vac_setup
		run '' "${cmd//mortem /"$build/mortem -c $E2E_DIR/vac.conf "}"; want_st 0
		grep -E '^(core|record) ' "$W/out" > "$E2E_DIR/done"
		[ -s "$E2E_DIR/plan" ] && ! cmp -s "$E2E_DIR/plan" "$E2E_DIR/done" && bad "did not delete what --dry-run planned: $(cat "$E2E_DIR/plan")"
		[ "$(vac_cores)" = $((4 - $(wc -l < "$E2E_DIR/done"))) ] || bad "$(vac_cores) cores left after deleting $(wc -l < "$E2E_DIR/done")"
		run '' "$build/mortem -c $E2E_DIR/vac.conf vacuum --dry-run"; want_st 0; want_out 'nothing to delete' ;;
	'mortem disk-usage')
		run '' "$cmd"; want_st 0; want_out "$exe" ;;
	'mortem list --group')
		run '' "$cmd"; want_st 0; want_out 'crash_segv|SIGSEGV' ;;
	'mortem rm --all /usr/bin/myprog')   # the crasher's three; crasher2's stays
		run '' "$cmd"; want_st 0
		run '' 'mortem list'; want_st 0; want_ids "$id3" ;;
	*)
		ran=$((ran - 1)); : > "$W/out"; : > "$W/err"
		bad "an example this test does not know: add a check for it" ;;
	esac
	[ "$prompt" = '#' ] || [ "$prompt" = '$' ] || bad "prompt '$prompt' is neither # nor \$"
}

# README first: its dump and debug examples need the crasher's cores, which
# the man page's last example removes.
while IFS= read -r line; do
	example "${line%% *}" "${line#? }"
done < <(cat "$E2E_DIR/readme.txt" "$E2E_DIR/man.txt")

echo "  test_man_examples: $ran documented commands run ($(grep -c . "$E2E_DIR/man.txt") in mortem.1, $(grep -c . "$E2E_DIR/readme.txt") in README.md)"
[ "$fails" = 0 ] || exit 1
exit 0
