#!/bin/bash
# mortem enable / disable against the real kernel: the pattern they write, a
# real crash collected through it, idempotence, exact restoration, another
# handler (refused without --force, restored after it), a core_pattern changed
# behind mortem's back, --runtime, a too-long pattern and the non-root refusal.
# The collector is lib.sh's private copy (--collector) and the sysctl.d
# directory a temp one (MORTEM_SYSCTL_DIR): the kernel never points into the
# build tree and /etc is never touched. lib.sh restores both sysctls on exit.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
build=$(cd "$1" && pwd)
M="$build/mortem -c $E2E_CONF"
COL=$E2E_DIR/mortem-collect
export MORTEM_SYSCTL_DIR=$E2E_DIR/sysctl.d
mkdir -p "$MORTEM_SYSCTL_DIR"
DROPIN=$MORTEM_SYSCTL_DIR/50-mortem.conf
STATE=$E2E_STORE/saved-core-pattern

# The pattern enable must write on this kernel.
rel=$(uname -r); maj=${rel%%.*}; min=${rel#*.}; min=${min%%[!0-9]*}
want="|$COL -c $E2E_CONF %P %u %g %s %t %c %h %d"
if [ "$maj" -gt 6 ] || { [ "$maj" = 6 ] && [ "$min" -ge 16 ]; }; then want="$want %F"; fi

set_kernel() { printf '%s\n' "$1" > "$CP"; printf '%s\n' "$2" > "$CPL"; }
run() { # run OUTFILE CMD...: status of CMD, its stdout+stderr in OUTFILE
	local f=$1 st=0; shift; "$@" > "$f.out" 2>&1 || st=$?; echo "$st"
}
out() { cat "$E2E_DIR/o.out"; }

# --- non-root: refused before anything is read
for v in enable disable; do
	st=0
	setpriv --reuid=65534 --regid=65534 --clear-groups $M $v > "$E2E_DIR/nr" 2>&1 || st=$?
	[ "$st" = 1 ] || fail "$v as nobody exited $st, expected 1"
	grep -qx "mortem $v: must be root" "$E2E_DIR/nr" || fail "$v as nobody said: $(cat "$E2E_DIR/nr")"
done

# --- enable from a plain file pattern
set_kernel "core.mortem-e2e" 3
st=$(run "$E2E_DIR/o" $M enable --collector "$COL")
[ "$st" = 0 ] || fail "enable exited $st: $(out)"
[ "$(cat "$CP")" = "$want" ] || fail "core_pattern is '$(cat "$CP")', expected '$want'"
[ "$(cat "$CPL")" = 2147483647 ] || fail "core_pipe_limit is $(cat "$CPL")"
[ "$(jq -r .core_pattern "$STATE")" = core.mortem-e2e ] || fail "saved core_pattern: $(cat "$STATE")"
[ "$(jq -r .core_pipe_limit "$STATE")" = 3 ] || fail "saved core_pipe_limit: $(cat "$STATE")"
grep -qx "kernel.core_pattern = $want" "$DROPIN" || fail "drop-in lacks the pattern: $(cat "$DROPIN" 2>&1)"
grep -qx "kernel.core_pipe_limit = 2147483647" "$DROPIN" || fail "drop-in lacks the pipe limit"

# --- a real crash goes through it
read -r pid cst < <(e2e_crash_pid "$CRASHER" segv)
[ "$cst" = 139 ] || fail "crasher exited $cst, expected 139"
e2e_wait_pid "$pid"
[ "$($M info --json "$pid" | jq -r .signal_name)" = SIGSEGV ] || fail "crash $pid not recorded as SIGSEGV"

# --- enable again: a no-op that keeps the saved values
cp "$STATE" "$E2E_DIR/state.before"
st=$(run "$E2E_DIR/o" $M enable --collector "$COL")
[ "$st" = 0 ] || fail "second enable exited $st: $(out)"
grep -q "already enabled" "$E2E_DIR/o.out" || fail "second enable did not say 'already enabled': $(out)"
cmp -s "$STATE" "$E2E_DIR/state.before" || fail "second enable rewrote the saved state: $(cat "$STATE")"

# --- doctor: healthy
st=$(run "$E2E_DIR/o" $M doctor)
[ "$st" = 0 ] || fail "doctor exited $st while enabled: $(out)"
j=$($M doctor --json) || fail "doctor --json exited non-zero while enabled"
e2e_jeq "$j" .ok true
e2e_jeq "$j" '.checks[] | select(.name == "core_pattern") | .status' ok
e2e_jeq "$j" '.checks[] | select(.name == "index") | .status' ok
e2e_jtrue "$j" '[.checks[] | .status | IN("ok", "warn", "fail")] | all'

# --- disable: exactly what was there; twice is fine
st=$(run "$E2E_DIR/o" $M disable)
[ "$st" = 0 ] || fail "disable exited $st: $(out)"
[ "$(cat "$CP")" = core.mortem-e2e ] || fail "disable left core_pattern '$(cat "$CP")'"
[ "$(cat "$CPL")" = 3 ] || fail "disable left core_pipe_limit $(cat "$CPL")"
[ ! -e "$STATE" ] || fail "disable left $STATE"
[ ! -e "$DROPIN" ] || fail "disable left the drop-in"
st=$(run "$E2E_DIR/o" $M disable)
[ "$st" = 0 ] || fail "second disable exited $st: $(out)"
grep -q "not enabled" "$E2E_DIR/o.out" || fail "second disable: $(out)"

# --- doctor: not ours
st=$(run "$E2E_DIR/o" $M doctor)
[ "$st" = 1 ] || fail "doctor exited $st with core_pattern 'core.mortem-e2e'"
grep -q "FAIL  core_pattern .*does not pipe to mortem-collect" "$E2E_DIR/o.out" || fail "doctor: $(out)"
st=0; j=$($M doctor --json) || st=$?
[ "$st" = 1 ] || fail "doctor --json exited $st"
e2e_jeq "$j" .ok false
e2e_jeq "$j" '.checks[] | select(.name == "core_pattern") | .status' fail

# --- another handler: refused, then replaced with --force and put back
foreign="|/bin/false %p"
set_kernel "$foreign" 0
st=$(run "$E2E_DIR/o" $M enable --collector "$COL")
[ "$st" = 1 ] || fail "enable over '$foreign' exited $st: $(out)"
grep -q "another handler.*--force" "$E2E_DIR/o.out" || fail "enable over another handler said: $(out)"
[ "$(cat "$CP")" = "$foreign" ] || fail "refused enable changed core_pattern to '$(cat "$CP")'"
[ ! -e "$STATE" ] || fail "refused enable saved state"
st=$(run "$E2E_DIR/o" $M enable --force --collector "$COL")
[ "$st" = 0 ] || fail "enable --force exited $st: $(out)"
[ "$(cat "$CP")" = "$want" ] || fail "enable --force: core_pattern '$(cat "$CP")'"
st=$(run "$E2E_DIR/o" $M disable)
[ "$st" = 0 ] || fail "disable after --force exited $st: $(out)"
[ "$(cat "$CP")" = "$foreign" ] || fail "disable did not put back '$foreign': '$(cat "$CP")'"
[ "$(cat "$CPL")" = 0 ] || fail "disable did not put back core_pipe_limit 0"

# --- someone else changes core_pattern after enable: disable leaves it
set_kernel core 0
st=$(run "$E2E_DIR/o" $M enable --collector "$COL")
[ "$st" = 0 ] || fail "enable exited $st: $(out)"
printf '%s\n' "core.someone-else" > "$CP"
st=$(run "$E2E_DIR/o" $M disable)
[ "$st" = 1 ] || fail "disable after a foreign change exited $st: $(out)"
grep -q "changed since mortem enable" "$E2E_DIR/o.out" || fail "disable said: $(out)"
[ "$(cat "$CP")" = core.someone-else ] || fail "disable touched the foreign core_pattern: '$(cat "$CP")'"
[ ! -e "$DROPIN" ] || fail "disable left its drop-in"

# --- --runtime: no drop-in
set_kernel core 0
st=$(run "$E2E_DIR/o" $M enable --runtime --collector "$COL")
[ "$st" = 0 ] || fail "enable --runtime exited $st: $(out)"
[ ! -e "$DROPIN" ] || fail "enable --runtime wrote a drop-in"
[ "$(cat "$CP")" = "$want" ] || fail "enable --runtime: core_pattern '$(cat "$CP")'"
st=$(run "$E2E_DIR/o" $M disable)
[ "$st" = 0 ] && [ "$(cat "$CP")" = core ] || fail "disable after --runtime: $st, '$(cat "$CP")'"

# --- a drop-in that enable did not write is left alone
echo "# the admin's" > "$DROPIN"
st=$(run "$E2E_DIR/o" $M enable --collector "$COL")
[ "$st" = 0 ] || fail "enable with a foreign drop-in exited $st: $(out)"
grep -q "not written by mortem enable: left alone" "$E2E_DIR/o.out" || fail "enable said: $(out)"
$M disable > /dev/null 2>&1 || fail "disable failed"
[ "$(cat "$DROPIN")" = "# the admin's" ] || fail "the admin's drop-in was changed"
rm -f "$DROPIN"

# --- a pattern over the kernel's 127 bytes is refused
long=$E2E_DIR/$(printf 'd%.0s' $(seq 1 90))
mkdir -p "$long"; cp "$COL" "$long/mortem-collect"
st=$(run "$E2E_DIR/o" $M enable --collector "$long/mortem-collect")
[ "$st" = 1 ] || fail "enable with a long collector path exited $st: $(out)"
grep -q "longer than the kernel's 127 bytes" "$E2E_DIR/o.out" || fail "long pattern: $(out)"
[ "$(cat "$CP")" = core ] || fail "refused enable changed core_pattern"

# --- a missing collector is refused
st=$(run "$E2E_DIR/o" $M enable --collector "$E2E_DIR/nope")
[ "$st" = 1 ] || fail "enable with a missing collector exited $st"
grep -q "not an executable file" "$E2E_DIR/o.out" || fail "missing collector: $(out)"
exit 0
