#!/bin/bash
# coredumpctl's habits in mortem, over three real crashes (two programs, two
# users, three signals): FIELD=VALUE matches (OR within a field, AND across),
# -1, -F, --json=short|pretty|off, -A, the pager (run under script(1) on a
# small terminal), --no-pager, --no-legend, -q, --version, no command = list,
# info of several, systemd.time(7) for -S/-U, the EXE column sized to the
# terminal and the exit statuses.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
command -v useradd >/dev/null 2>&1 || e2e_skip "useradd is missing"
command -v script >/dev/null 2>&1 || e2e_skip "script (util-linux) is missing"
user=mortem-cdctl-$$
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	getent passwd "$user" >/dev/null 2>&1 && userdel "$user" >/dev/null 2>&1
	e2e_restore
}
trap cleanup EXIT
useradd -r -M -s /usr/sbin/nologin "$user" || fail "useradd $user failed"
uid=$(id -u "$user") gid=$(id -g "$user")
e2e_install

exe=$(readlink -f "$CRASHER")
deep=$E2E_DIR/a-rather-long-directory-name-for-this-test/and-another-level-below-it
mkdir -p -m 755 "$deep"
chmod 755 "$E2E_DIR/a-rather-long-directory-name-for-this-test"
long=$deep/long-named-prog
cp "$CRASHER" "$long"
chmod 755 "$long"

crash() { # crash WANT_STATUS COMMAND...
	local want=$1 p st; shift
	read -r p st < <(e2e_crash_pid "$@")
	[ "$st" = "$want" ] || fail "$* exited with $st, expected $want"
	e2e_wait_pid "$p"
	echo "$p"
}
p1=$(crash 139 "$CRASHER" segv); sleep 1.1
p2=$(crash 134 setpriv --reuid="$uid" --regid="$gid" --clear-groups "$long" abort); sleep 1.1
p3=$(crash 132 "$CRASHER" ill)

all=$($MORTEM list --json)
e2e_jeq "$all" length 3
id1=$(printf '%s' "$all" | jq -r '.[0].id'); t1=$(printf '%s' "$all" | jq -r '.[0].time_usec')
id2=$(printf '%s' "$all" | jq -r '.[1].id')
id3=$(printf '%s' "$all" | jq -r '.[2].id')
sig1=$(printf '%s' "$all" | jq -r '.[0].signature // empty')
e2e_jeq "$all" '.[1].uid' "$uid"

ids() { $MORTEM list --json "$@" 2>>"$E2E_DIR/ids.err" | jq -r '[.[].id] | join(" ")'; }
expect_ids() { # expect_ids "WANT" LIST_ARGS...
	local want=$1 got; shift
	got=$(ids "$@") || fail "mortem list --json $* failed"
	[ "$got" = "$want" ] || fail "mortem list --json $*: got [$got], expected [$want]"
}
expect_exit() { # expect_exit STATUS STDERR_RE ARGS...
	local want=$1 re=$2 rc=0; shift 2
	$MORTEM "$@" > "$E2E_DIR/out" 2> "$E2E_DIR/err" || rc=$?
	[ "$rc" = "$want" ] || fail "mortem $* exited $rc, expected $want: $(head -c 300 "$E2E_DIR/err")"
	[ -z "$re" ] || grep -Eq -- "$re" "$E2E_DIR/err" || fail "mortem $*: stderr does not match /$re/: $(head -c 300 "$E2E_DIR/err")"
}

failed=""
check() { ( "$1" ) || failed="$failed $1"; }

fields() {
	expect_ids "$id1" COREDUMP_PID="$p1"
	expect_ids "$id1" pid="$p1"
	expect_ids "$id1 $id3" COREDUMP_PID="$p1" COREDUMP_PID="$p3"   # OR within a field
	expect_ids "$id1 $id3" COREDUMP_COMM=crasher
	expect_ids "$id1 $id3" comm=crasher uid=0                     # AND across fields
	expect_ids "$id3" comm=crasher pid="$p2" pid="$p3"
	expect_ids "$id2" COREDUMP_UID="$uid"
	expect_ids "$id2" COREDUMP_GID="$gid"
	expect_ids "$id2" gid="$gid" comm=long-named-prog
	expect_ids "$id1" COREDUMP_SIGNAL=11
	expect_ids "$id3" COREDUMP_SIGNAL_NAME=SIGILL
	expect_ids "$id2" signal=SIGABRT
	expect_ids "$id1 $id2" signal=SEGV signal=6
	expect_ids "$id1 $id3" COREDUMP_EXE="$exe"
	expect_ids "$id2" exe="$long"
	expect_ids "$id2" id="$id2"
	expect_ids "$id1 $id2 $id3" COREDUMP_HOSTNAME="$(hostname)"
	expect_ids "$id3" crasher signal=4                            # the old MATCH and a field
	if [ -n "$sig1" ]; then
		expect_ids "$(printf '%s' "$all" | jq -r --arg s "$sig1" '[.[] | select(.signature == $s) | .id] | join(" ")')" \
			signature="$sig1"
	fi
	expect_exit 3 "no crash matches those fields" list comm=crasher uid="$uid"
	expect_exit 3 "" list --json pid=1
	[ "$(jq -c . "$E2E_DIR/out")" = "[]" ] || fail "list --json with no match printed $(cat "$E2E_DIR/out")"
	expect_exit 2 "unknown field" list COREDUMP_NOSUCH=1
	expect_exit 2 "not a number" list pid=abc
	expect_exit 2 "not a signal" list signal=SIGNOPE
	expect_exit 2 "one MATCH at most" list crasher other
	# no command: a FIELD=VALUE first is list's
	[ "$($MORTEM --json COREDUMP_PID="$p2" | jq -r '.[].id')" = "$id2" ] || fail "mortem COREDUMP_PID=$p2 is not list"
	# stacks, dump and info take fields too
	[ "$($MORTEM info --json COREDUMP_UID="$uid" | jq -r .id)" = "$id2" ] || fail "info COREDUMP_UID= picked another crash"
	$MORTEM dump -o "$E2E_DIR/core2" pid="$p2" || fail "dump pid=$p2 failed"
	[ "$(head -c 4 "$E2E_DIR/core2" | od -An -c | tr -d ' ')" = '177ELF' ] || fail "dump pid=$p2 wrote no ELF core"
}
check fields

one() {
	expect_ids "$id3" -1
	expect_ids "$id3" -1 -r
	expect_ids "$id3" -1 COREDUMP_PID="$p1" COREDUMP_PID="$p3"
	expect_ids "$id1" -1 COREDUMP_SIGNAL=11
	[ "$($MORTEM info -1 --json comm=crasher | jq -r .id)" = "$id3" ] || fail "info -1 comm=crasher is not the newest"
	[ "$($MORTEM -1 info --json crasher | jq -r .id)" = "$id3" ] || fail "-1 info crasher is not the newest"
}
check one

field_out() {
	[ "$($MORTEM -F COREDUMP_PID | tr '\n' ' ')" = "$p1 $p2 $p3 " ] || fail "-F COREDUMP_PID: $($MORTEM -F COREDUMP_PID)"
	[ "$($MORTEM list -F pid -r | tr '\n' ' ')" = "$p3 $p2 $p1 " ] || fail "-F pid -r"
	[ "$($MORTEM list -F exe comm=crasher | tr '\n' ' ')" = "$exe $exe " ] || fail "-F exe comm=crasher"
	[ "$($MORTEM list -F COREDUMP_SIGNAL_NAME | tr '\n' ' ')" = "SIGSEGV SIGABRT SIGILL " ] || fail "-F COREDUMP_SIGNAL_NAME"
	[ "$($MORTEM list -F uid -1)" = 0 ] || fail "-F uid -1"
	[ "$($MORTEM list -F id uid="$uid")" = "$id2" ] || fail "-F id uid=$uid"
	[ "$($MORTEM list --field=_BOOT_ID -1)" = "$(tr -d - < /proc/sys/kernel/random/boot_id)" ] ||
		[ "$($MORTEM list --field=_BOOT_ID -1)" = "$(cat /proc/sys/kernel/random/boot_id)" ] || fail "--field=_BOOT_ID"
	expect_exit 2 "unknown field" -F NOSUCH list
	expect_exit 2 "-F goes with list" -F pid info
	expect_exit 3 "" -F pid list pid=1
	[ ! -s "$E2E_DIR/out" ] || fail "-F with no match printed $(cat "$E2E_DIR/out")"
}
check field_out

json_modes() {
	local s p
	s=$($MORTEM list --json=short)
	[ "$(printf '%s\n' "$s" | wc -l)" = 1 ] || fail "--json=short is not one line"
	e2e_jeq "$s" length 3
	e2e_jeq "$s" '[.[].id] | join(" ")' "$id1 $id2 $id3"
	p=$($MORTEM list --json=pretty)
	[ "$(printf '%s\n' "$p" | wc -l)" -gt 10 ] || fail "--json=pretty is not pretty"
	[ "$(printf '%s' "$p" | jq -c .)" = "$(printf '%s' "$s" | jq -c .)" ] || fail "--json=pretty and short differ"
	[ "$($MORTEM list --json | jq -c .)" = "$(printf '%s' "$s" | jq -c .)" ] || fail "--json and --json=short differ"
	$MORTEM list --json --json=off | head -n 1 | grep -q '^TIME ' || fail "--json=off is not the table"
	[ "$($MORTEM info --json=short "$id1" | wc -l)" = 1 ] || fail "info --json=short is not one line"
	e2e_jeq "$($MORTEM info --json=short "$id1")" .id "$id1"
	expect_exit 2 "short, pretty or off" list --json=bogus
	[ "$($MORTEM list --json=short pid=1 2>/dev/null)" = "[]" ] || fail "--json=short with no match is not []"
}
check json_modes

legend_quiet_version() {
	[ "$($MORTEM list | wc -l)" = 4 ] || fail "list: not a header and 3 lines"
	[ "$($MORTEM list --no-legend | wc -l)" = 3 ] || fail "--no-legend kept the header"
	$MORTEM list --no-legend | grep -q '^TIME ' && fail "--no-legend printed TIME"
	# no command is list
	[ "$($MORTEM --no-legend)" = "$($MORTEM list --no-legend)" ] || fail "mortem alone is not mortem list"
	[ "$($MORTEM -r)" = "$($MORTEM list -r)" ] || fail "mortem -r is not mortem list -r"
	expect_exit 3 "no crash matches 'nosuch'" list nosuch
	expect_exit 3 "" -q list nosuch
	[ ! -s "$E2E_DIR/err" ] || fail "-q still said: $(cat "$E2E_DIR/err")"
	expect_exit 3 "" --quiet info nosuch
	[ ! -s "$E2E_DIR/err" ] || fail "--quiet still said: $(cat "$E2E_DIR/err")"
	expect_exit 0 "" --version
	grep -Eq '^mortem [0-9]+(\.[0-9]+)*$' "$E2E_DIR/out" || fail "--version printed $(cat "$E2E_DIR/out")"
}
check legend_quiet_version

info_several() {
	$MORTEM info comm=crasher > "$E2E_DIR/info" || fail "info comm=crasher failed"
	local a b
	a=$(grep -n "ID: $id1" "$E2E_DIR/info" | cut -d: -f1)
	b=$(grep -n "ID: $id3" "$E2E_DIR/info" | cut -d: -f1)
	[ -n "$a" ] && [ -n "$b" ] && [ "$a" -lt "$b" ] || fail "info comm=crasher: not both crashes, oldest first"
	grep -q "ID: $id2" "$E2E_DIR/info" && fail "info comm=crasher shows the other program's crash"
	# a blank line before the second crash's first line
	[ "$(grep -c '^$' "$E2E_DIR/info")" -gt "$($MORTEM info "$id1" | grep -c '^$')" ] || fail "no blank line between two crashes"
	[ "$($MORTEM info --json comm=crasher | jq -r .id | tr '\n' ' ')" = "$id1 $id3 " ] || fail "info --json comm=crasher"
	[ "$($MORTEM info --json=short comm=crasher | wc -l)" = 2 ] || fail "info --json=short of two: not two lines"
	[ "$($MORTEM info --json | jq -r .id)" = "$id3" ] || fail "info without MATCH is not the newest"
	[ "$($MORTEM info --json "$p2" | jq -r .id)" = "$id2" ] || fail "info PID"
	expect_exit 4 "prefix" info "${id1:0:8}"
}
check info_several

times() {
	local b1=$(( t1 / 1000000 + 1 )) now
	now=$(date +%s)
	expect_ids "$id1 $id2 $id3" -S "1 hour ago"
	expect_ids "$id1 $id2 $id3" --since="30min ago"
	expect_ids "$id1 $id2 $id3" -S "-1h 30min"
	expect_ids "" -U "1 hour ago"
	expect_ids "$id1 $id2 $id3" -U "+2h"
	expect_ids "$id1 $id2 $id3" -U "2h left"
	expect_ids "" -S "+1h"
	expect_ids "" -S tomorrow
	expect_ids "$id1 $id2 $id3" -U tomorrow
	expect_ids "$id1 $id2 $id3" -S epoch
	expect_ids "$id1 $id2 $id3" -U now
	expect_ids "$id2 $id3" -S "@$b1"
	expect_ids "$id2 $id3" -S "$(date -d "@$b1" '+%Y-%m-%d %H:%M:%S')"
	expect_ids "$id2 $id3" -S "$(date -d "@$b1" '+%a %Y-%m-%d %H:%M:%S')"
	expect_ids "$id2 $id3" -S "$(date -u -d "@$b1" '+%Y-%m-%d %H:%M:%S') UTC"
	expect_ids "$id2 $id3" -S "$(date -d "@$b1" '+%Y-%m-%d %H:%M:%S %Z')"
	expect_ids "$id1" -U "$(date -d "@$b1" '+%Y-%m-%dT%H:%M:%S')"
	# a time of today (not across midnight: the crashes are from the last minute)
	if [ "$(date -d "@$b1" +%F)" = "$(date -d "@$now" +%F)" ]; then
		expect_ids "$id2 $id3" -S "$(date -d "@$b1" '+%H:%M:%S')"
		expect_ids "$id1 $id2 $id3" -S today
	fi
	expect_exit 2 "since" -S "1 lightyear ago" list
	expect_exit 2 "until" -U "Mon 2025-01-14" list   # a Tuesday
	expect_exit 0 "" -U "1 hour ago" list            # nothing in range is not an error for list
	expect_exit 3 "in that time range" -U "1 hour ago" info
}
check times

debugger_args() {
	local dbg=$E2E_DIR/dbg.sh
	printf '#!/bin/sh\nfor a in "$@"; do printf "%%s\\n" "$a"; done > %s/dbg.args\n' "$E2E_DIR" > "$dbg"
	chmod 755 "$dbg"
	$MORTEM debug --debugger "$dbg" -A "-batch -ex 'bt full' -ex \"info reg\"" "$id1" || fail "debug -A failed"
	local want
	want=$(printf '%s\n' -batch -ex 'bt full' -ex 'info reg' "$exe")
	[ "$(head -n 6 "$E2E_DIR/dbg.args")" = "$want" ] || fail "debug -A gave: $(cat "$E2E_DIR/dbg.args")"
	sed -n 7p "$E2E_DIR/dbg.args" | grep -q '^/var/tmp/mortem-core\.' || fail "debug -A: no core last: $(cat "$E2E_DIR/dbg.args")"
	[ "$(wc -l < "$E2E_DIR/dbg.args")" = 7 ] || fail "debug -A: extra words: $(cat "$E2E_DIR/dbg.args")"
	$MORTEM debug --debugger "$dbg" --debugger-arguments=-q pid="$p2" || fail "debug --debugger-arguments failed"
	[ "$(head -n 2 "$E2E_DIR/dbg.args")" = "$(printf '%s\n' -q "$long")" ] || fail "--debugger-arguments=-q gave: $(cat "$E2E_DIR/dbg.args")"
	$MORTEM debug --debugger "$dbg" "$id3" || fail "debug failed"
	[ "$(wc -l < "$E2E_DIR/dbg.args")" = 2 ] || fail "debug without -A: $(cat "$E2E_DIR/dbg.args")"
	expect_exit 2 "unterminated" debug --debugger "$dbg" -A "'oops" "$id1"
}
check debugger_args

# pty RECORD_DIR COLS ENV... -- ARGS: mortem ARGS on a terminal (script) of 5 rows
# and COLS columns, with ENV, its output in $E2E_DIR/pty.out.
pty() {
	local cols=$1; shift
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	local cmd
	cmd="stty rows 5 cols $cols; exec env -u COLUMNS -u PAGER -u MORTEM_PAGER ${envs[*]+$(printf '%q ' "${envs[@]}")} $MORTEM $(printf '%q ' "$@")"
	script -qec "$cmd" /dev/null < /dev/null > "$E2E_DIR/pty.out" 2>&1 || true
}

pager() {
	local rec=$E2E_DIR/pager.sh rec2=$E2E_DIR/pager2.sh
	printf '#!/bin/sh\necho "LESS=$LESS" > %s/pager.called\ncat\n' "$E2E_DIR" > "$rec"
	printf '#!/bin/sh\ntouch %s/pager2.called\ncat\n' "$E2E_DIR" > "$rec2"
	chmod 755 "$rec" "$rec2"
	rm -f "$E2E_DIR"/pager*.called

	pty 60 PAGER="$rec" -- list
	[ -e "$E2E_DIR/pager.called" ] || fail "list on a terminal did not call \$PAGER: $(cat "$E2E_DIR/pty.out")"
	[ "$(cat "$E2E_DIR/pager.called")" = "LESS=FRSXMK" ] || fail "the pager got $(cat "$E2E_DIR/pager.called")"
	grep -q "$id3" "$E2E_DIR/pty.out" || fail "the paged list lost its lines: $(cat "$E2E_DIR/pty.out")"
	rm -f "$E2E_DIR"/pager*.called

	pty 60 PAGER="$rec" MORTEM_LESS=R -- info "$id1"
	[ "$(cat "$E2E_DIR/pager.called" 2>/dev/null)" = "LESS=R" ] || fail "info: no pager or not MORTEM_LESS"
	rm -f "$E2E_DIR"/pager*.called

	pty 60 PAGER="$rec" MORTEM_PAGER="$rec2" -- list
	[ -e "$E2E_DIR/pager2.called" ] || fail "MORTEM_PAGER was not called"
	[ ! -e "$E2E_DIR/pager.called" ] || fail "PAGER was called over MORTEM_PAGER"
	rm -f "$E2E_DIR"/pager*.called

	pty 60 PAGER="$rec" -- --no-pager list
	[ ! -e "$E2E_DIR/pager.called" ] || fail "--no-pager called the pager"
	grep -q "$id3" "$E2E_DIR/pty.out" || fail "--no-pager lost the lines"
	pty 60 PAGER="$rec" MORTEM_PAGER=cat -- list
	[ ! -e "$E2E_DIR/pager.called" ] || fail "MORTEM_PAGER=cat called a pager"
	pty 60 PAGER="$rec" MORTEM_PAGER= -- list
	[ ! -e "$E2E_DIR/pager.called" ] || fail "an empty MORTEM_PAGER called a pager"
	pty 60 PAGER= -- list
	grep -q "$id3" "$E2E_DIR/pty.out" || fail "an empty PAGER lost the lines"

	# not a terminal: never a pager
	PAGER="$rec" $MORTEM list > "$E2E_DIR/notty.out"
	PAGER="$rec" $MORTEM info "$id1" | cat > /dev/null
	[ ! -e "$E2E_DIR/pager.called" ] || fail "a pager ran with standard output not a terminal"
	# the verbs that write data never page
	pty 60 PAGER="$rec" -- dump -o "$E2E_DIR/core1" "$id1"
	[ ! -e "$E2E_DIR/pager.called" ] || fail "dump called the pager"
}
check pager

columns() {
	local f=$E2E_DIR/pty.out w
	pty 150 -- --no-pager list
	tr -d '\r' < "$f" > "$f.txt"
	grep -q "$id2" "$f.txt" || fail "list on a terminal: $(cat "$f.txt")"
	grep "$id2" "$f.txt" | grep -q '…' || fail "the long path is not shortened on a 150-column terminal: $(cat "$f.txt")"
	grep -qF "$long" "$f.txt" && fail "the long path is whole on a 150-column terminal"
	grep '…' "$f.txt" | grep -q 'long-named-prog ' || fail "the shortened path lost its end: $(cat "$f.txt")"
	# every line fits, and the ids line up
	w=$(python3 -c 'import sys; print(max(len(l.rstrip("\n")) for l in open(sys.argv[1], encoding="utf-8")))' "$f.txt")
	[ "$w" -le 150 ] || fail "a line of $w columns on a 150-column terminal"
	# (in characters: the "…" is three bytes, and mawk counts bytes)
	[ "$(python3 -c 'import sys
ids = sys.argv[2:]
for line in open(sys.argv[1], encoding="utf-8"):
    for i in ids:
        if i in line:
            print(line.index(i))' "$f.txt" "$id1" "$id2" "$id3" | sort -u | wc -l)" = 1 ] ||
		fail "the ids do not line up: $(cat "$f.txt")"
	# $COLUMNS wins over the terminal's size
	pty 150 COLUMNS=250 -- --no-pager list
	tr -d '\r' < "$f" | grep -qF "$long" || fail "COLUMNS=250 did not widen the EXE column"
	# not a terminal, and JSON: whole paths
	grep -qF "$long" "$E2E_DIR/notty.out" || $MORTEM list | grep -qF "$long" || fail "list to a file shortened the path"
	$MORTEM list --json | jq -r '.[].exe' | grep -qxF "$long" || fail "list --json shortened the path"
}
check columns

[ -z "$failed" ] || fail "test_coredumpctl: failed:$failed"
echo "  PASS    test_coredumpctl"
exit 0
