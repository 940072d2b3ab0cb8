#!/bin/bash
# The command line of vacuum, disk-usage, rm and list --group over three real
# crashes (two of one program, one of another): usage errors, root checks, a
# dry run by a user who cannot take the quota lock, rm's MATCH rules (an id or
# unique prefix removes that crash, a MATCH that fits several needs --all,
# every MATCH is resolved before anything goes), list --group with -r, -n and
# a MATCH, and the bash completion of the new commands and options.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install

other=$E2E_DIR/other-prog
cp "$CRASHER" "$other"
crash() { # crash PROGRAM KIND
	local p st
	read -r p st < <(e2e_crash_pid "$1" "$2")
	e2e_wait_pid "$p"
	echo "$p"
}
p1=$(crash "$CRASHER" segv); sleep 1.1
p2=$(crash "$CRASHER" segv); sleep 1.1
p3=$(crash "$other" abort)
all=$($MORTEM list --json)
e2e_jeq "$all" length 3
id1=$(printf '%s' "$all" | jq -r '.[0].id')
id2=$(printf '%s' "$all" | jq -r '.[1].id')
id3=$(printf '%s' "$all" | jq -r '.[2].id')

expect_exit() { # expect_exit STATUS MESSAGE_RE ARGS...
	local want=$1 re=$2 rc=0; shift 2
	$MORTEM "$@" > "$E2E_DIR/out" 2> "$E2E_DIR/err" || rc=$?
	[ "$rc" = "$want" ] || fail "mortem $* exited $rc, expected $want: $(head -c 300 "$E2E_DIR/err")"
	[ -z "$re" ] || grep -Eq "$re" "$E2E_DIR/err" || fail "mortem $*: stderr does not match /$re/: $(head -c 300 "$E2E_DIR/err")"
}
files() { ls "$E2E_STORE/store" | sort | tr '\n' ' '; }
as_nobody() { su nobody -s /bin/sh -c "$*"; }
# nobody runs a copy: the build directory may be one others cannot search
# (a 0700 mktemp -d, as package builders make them).
install -m 0755 "$1/mortem" "$E2E_DIR/mortem"

# Usage errors and root checks.
expect_exit 2 "takes no argument" vacuum "$id1"
expect_exit 2 "takes no argument" disk-usage crasher
expect_exit 2 "rm needs a MATCH" rm
expect_exit 2 "one MATCH at most" list crasher other-prog
rc=0; as_nobody "$E2E_DIR/mortem -c $E2E_CONF rm $id1" > /dev/null 2> "$E2E_DIR/err" || rc=$?
[ "$rc" = 1 ] && grep -q "must be root" "$E2E_DIR/err" || fail "rm by nobody: exit $rc, $(cat "$E2E_DIR/err")"
rc=0; as_nobody "$E2E_DIR/mortem -c $E2E_CONF vacuum" > /dev/null 2> "$E2E_DIR/err" || rc=$?
[ "$rc" = 1 ] && grep -q "must be root (--dry-run" "$E2E_DIR/err" || fail "vacuum by nobody: exit $rc, $(cat "$E2E_DIR/err")"

# A dry run by a user who may read the store (and open its index) but not
# take the quota lock: the same plan, computed without the lock.
ro=$E2E_DIR/ro
cp -a "$E2E_STORE" "$ro"
chmod -R a+rwX "$ro"; chmod 600 "$ro/quota.lock"
printf '[Store]\nPath=%s\n[Policy]\nMaxAge=1s\n' "$ro" > "$E2E_DIR/ro.conf"; chmod 644 "$E2E_DIR/ro.conf"
sleep 1.1
want=$($MORTEM -c "$E2E_DIR/ro.conf" vacuum --dry-run) || fail "root's dry run failed"
got=$(as_nobody "$E2E_DIR/mortem -c $E2E_DIR/ro.conf vacuum --dry-run") || fail "nobody's dry run failed: $got"
[ "$got" = "$want" ] || fail "nobody's dry run differs from root's:
$got
---
$want"
printf '%s\n' "$got" | grep -q "^would delete 3 cores and 0 whole records" || fail "dry run plan: $got"

# list --group: the two crashes of crasher are one line, oldest group first.
g=$($MORTEM list --group --json)
e2e_jeq "$g" length 2
e2e_jeq "$g" '.[0].count' 2
e2e_jeq "$g" '.[0].ids | join(" ")' "$id1 $id2"
e2e_jeq "$g" '.[1].ids | join(" ")' "$id3"
e2e_jtrue "$g" '.[0].first < .[0].last and .[0].first_usec < .[0].last_usec'
e2e_jtrue "$g" '.[0].signature | test("^[0-9a-f]+$")'
e2e_jtrue "$g" '.[1].exe | endswith("/other-prog")'
e2e_jtrue "$g" '.[0].slogan | test("SIGSEGV")'
e2e_jeq "$($MORTEM list --group --json -r)" '[.[].count] | map(tostring) | join(" ")' "1 2"
e2e_jeq "$($MORTEM list --group --json -n 2)" '[.[].count] | map(tostring) | join(" ")' "1 1"
e2e_jeq "$($MORTEM list --group --json crasher)" '[.[].count] | map(tostring) | join(" ")' "2"
$MORTEM list --group > "$E2E_DIR/grp"
head -1 "$E2E_DIR/grp" | grep -q "^COUNT FIRST  *LAST  *EXE  *VERDICT$" || fail "list --group header: $(head -1 "$E2E_DIR/grp")"
awk 'NR > 1 { print $1 }' "$E2E_DIR/grp" | paste -sd ' ' | grep -qx "2 1" || fail "list --group: $(cat "$E2E_DIR/grp")"
awk 'NR > 1 && length($0) > 200 { bad = 1 } END { exit bad }' "$E2E_DIR/grp" || fail "list --group: verdict not cut"

# disk-usage: text and JSON agree.
$MORTEM disk-usage > "$E2E_DIR/du"
for w in "^Store: " "^Cores: .* 3 files " "^Minicores: " "^Records: .* 3 files " "^Total: " "^File system: .* free of " \
	"^Limits: *MaxUse=none, KeepFree=none$" "COUNT CORES +SIZE +EXE" "COUNT CORES +SIZE +SIGNATURE +EXE"; do
	grep -Eq "$w" "$E2E_DIR/du" || fail "disk-usage has no line /$w/: $(cat "$E2E_DIR/du")"
done
total=$($MORTEM disk-usage --json | jq .total_bytes)
grep -q "^Total: .*($total bytes)" "$E2E_DIR/du" || fail "disk-usage text total is not the JSON's $total"

# rm: every MATCH is resolved first; nothing goes when one fails.
before=$(files)
expect_exit 4 "matches 2 crashes.*--all" rm crasher
expect_exit 3 "no crash matches 'nosuch'" rm "$id3" nosuch
expect_exit 4 "" rm "$id3" crasher
[ "$(files)" = "$before" ] || fail "a refused rm removed files"
# a unique id prefix removes that crash; the same crash twice is removed once
$MORTEM rm "${id3%?}" "$id3" > "$E2E_DIR/out" || fail "rm by prefix failed: $(cat "$E2E_DIR/out")"
grep -q "^removed $id3: " "$E2E_DIR/out" && tail -1 "$E2E_DIR/out" | grep -q "^removed 1 crash, freed" ||
	fail "rm by prefix: $(cat "$E2E_DIR/out")"
[ -z "$(ls "$E2E_STORE/store" | grep -F "$id3")" ] || fail "files of $id3 left"
# a PID that fits one crash
$MORTEM rm "$p1" > /dev/null || fail "rm by pid $p1 failed"
e2e_jeq "$($MORTEM list --json)" '[.[].id] | join(" ")' "$id2"
expect_exit 3 "no crash matches" rm "$id1"
# --all with a time range: nothing before the first crash
expect_exit 3 "in that time range" rm --all -U @1 crasher
$MORTEM rm --all crasher > /dev/null || fail "rm --all crasher failed"
[ -z "$(ls "$E2E_STORE/store")" ] || fail "rm left files: $(ls "$E2E_STORE/store")"

# Completion of the new commands and options, from `mortem --help`.
top=$(cd "$(dirname "$0")/../.." && pwd)
out=$(PATH="$1:$PATH" MORTEM_CONFIG='' bash --norc --noprofile -c '
	source "$1" || exit 1
	t() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	      COMPREPLY=(); _mortem mortem "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	      printf "%s|%s\n" "$*" "$(printf "%s\n" "${COMPREPLY[@]}" | sort | paste -sd " ")"; }
	t mortem va; t mortem di; t mortem r; t mortem vacuum --d; t mortem list --g; t mortem rm --a
	t mortem disk-usage --j; t mortem info --g
' _ "$top/completion/mortem.bash" 2>&1)
for want in "mortem va|vacuum" "mortem di|disable disk-usage" "mortem r|reindex rm" "mortem vacuum --d|--dry-run" \
	"mortem list --g|--group" "mortem rm --a|--all" "mortem disk-usage --j|--json" "mortem info --g|"; do
	printf '%s\n' "$out" | grep -qxF -- "$want" || fail "completion: expected '$want' in:
$out"
done

echo "  PASS    test_cli_retention"
