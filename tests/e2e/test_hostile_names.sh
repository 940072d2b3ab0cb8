#!/bin/bash
# A user crashes a binary whose file name would drive root's terminal: clear
# the screen, set the title, print a red forged row of its own, a C1 CSI in
# UTF-8, a bidi override, a carriage return. Every text command root runs
# over that crash (list, list --group, disk-usage, info, stacks, doctor,
# vacuum --dry-run, rm, an error quoting the name) shows it escaped: no ESC,
# BEL, CR, C2 9B or bidi override in the output, and no line more than it
# should have. --json keeps the exact name.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"

command -v setpriv >/dev/null 2>&1 || e2e_skip "setpriv is missing"
command -v useradd >/dev/null 2>&1 || e2e_skip "useradd is missing"
user=mortem-hostile-$$
cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	getent passwd "$user" >/dev/null 2>&1 && userdel "$user" >/dev/null 2>&1
	e2e_restore
}
trap cleanup EXIT
useradd -r -M -s /usr/sbin/nologin "$user" || fail "useradd $user failed"
uid=$(id -u "$user") gid=$(id -g "$user")
e2e_install

name=$'\e[2J\e]0;owned\a\e[1;31mFAKE\e[0m\nTIME x\xc2\x9b31m\xe2\x80\xaegpj.exe\r'
mkdir -m 755 "$E2E_DIR/h"
hostile=$E2E_DIR/h/$name
cp "$CRASHER" "$hostile"
chmod 755 "$hostile"

read -r p st < <(e2e_crash_pid setpriv --reuid="$uid" --regid="$gid" --clear-groups "$hostile" segv)
[ "$st" = 139 ] || fail "the hostile crasher exited with $st, expected 139"
e2e_wait_pid "$p"
read -r q st < <(e2e_crash_pid "$CRASHER" abort)
[ "$st" = 134 ] || fail "the crasher exited with $st, expected 134"
e2e_wait_pid "$q"

# The record holds the name as it is, and --json says it exactly.
all=$($MORTEM list --json)
e2e_jeq "$all" length 2
[ "$(printf '%s' "$all" | jq -r ".[] | select(.pid == $p) | .exe")" = "$hostile" ] ||
	fail "list --json does not carry the exact executable path"
e2e_jeq "$all" ".[] | select(.pid == $p) | .uid" "$uid"
id=$(printf '%s' "$all" | jq -r ".[] | select(.pid == $p) | .id")

failed=""
# clean NAME FILE [LINES]: FILE (a command's stdout and stderr) has no byte
# that drives a terminal, no forged line, and LINES lines when given.
clean() {
	local what=$1 f=$2 lines=${3:-}
	[ -s "$f" ] || { echo "  FAIL    $what: no output" >&2; failed="$failed $what"; return; }
	local bad
	bad=$(python3 - "$f" <<'PY'
import sys
b = open(sys.argv[1], "rb").read()
for what, seq in (("ESC", b"\x1b"), ("BEL", b"\x07"), ("CR", b"\r"), ("C2 9B", b"\xc2\x9b"),
                  ("raw 9B", b"\x9b"), ("RLO", b"\xe2\x80\xae"), ("DEL", b"\x7f")):
    if seq in b:
        print(what)
for i, line in enumerate(b.split(b"\n")):
    if line.startswith(b"TIME x") or (b"TIME x" in line and b"FAKE" not in line):
        print("forged line %d: %r" % (i + 1, line[:60]))
PY
)
	if [ -n "$bad" ]; then
		echo "  FAIL    $what: $bad" >&2
		failed="$failed $what"
	fi
	if [ -n "$lines" ] && [ "$(wc -l < "$f")" != "$lines" ]; then
		echo "  FAIL    $what: $(wc -l < "$f") lines, expected $lines" >&2
		failed="$failed $what"
	fi
}
# run NAME LINES ARGS...: mortem ARGS as root, its output checked.
run() {
	local what=$1 lines=$2 rc=0; shift 2
	$MORTEM "$@" > "$E2E_DIR/$what.out" 2>&1 || rc=$?
	clean "$what" "$E2E_DIR/$what.out" "$lines"
	echo "$rc" > "$E2E_DIR/$what.rc"
}

run list 3 list                # a header and the two crashes
run list_r 3 -r list
run group 3 list --group       # a header and two groups
run disk_usage "" disk-usage
run info "" info "$p"
run info_id "" info "$id"
run stacks "" stacks "$p"
run stacks_all "" stacks --all "$p"
run doctor "" doctor
run vacuum "" vacuum --dry-run
run nomatch 1 info "$name-not-there"   # an error that quotes the MATCH
[ "$(cat "$E2E_DIR/nomatch.rc")" = 3 ] || fail "info of no crash exited $(cat "$E2E_DIR/nomatch.rc"), expected 3"

# The escaped name is there to read, not lost.
grep -qF '\x1b[2J\x1b]0;owned\x07\x1b[1;31mFAKE\x1b[0m\x0aTIME x\xc2\x9b31m\xe2\x80\xaegpj.exe\x0d' "$E2E_DIR/list.out" ||
	fail "mortem list does not show the escaped name: $(cat -v "$E2E_DIR/list.out")"
grep -qF 'FAKE\x1b[0m\x0aTIME x' "$E2E_DIR/group.out" || fail "list --group does not show the escaped name"
[ "$(grep -cF 'owned\x07' "$E2E_DIR/disk_usage.out")" = 2 ] ||
	fail "disk-usage should name the executable once in each table: $(cat -v "$E2E_DIR/disk_usage.out")"
grep -qF 'Executable: ' "$E2E_DIR/info.out" && grep -F 'Executable: ' "$E2E_DIR/info.out" | grep -qF 'owned\x07' ||
	fail "info does not show the escaped executable"
grep -q 'Thread' "$E2E_DIR/stacks.out" || fail "stacks printed no thread: $(cat -v "$E2E_DIR/stacks.out")"

# rm says what it removed, on one line each, and the crash is gone.
run rm 2 rm "$p"
[ "$(cat "$E2E_DIR/rm.rc")" = 0 ] || fail "mortem rm $p exited $(cat "$E2E_DIR/rm.rc"): $(cat -v "$E2E_DIR/rm.out")"
e2e_jeq "$($MORTEM list --json)" length 1

[ -z "$failed" ] || fail "test_hostile_names:$failed"
exit 0
