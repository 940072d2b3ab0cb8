#!/bin/bash
# The collector given bad input: empty, not ELF, truncated, too large, an unknown
# pid, malformed arguments, a bad config value. Every case leaves a readable
# record; no bytes that arrived are lost. The kernel is only used to get two real
# cores (through the tee handler); the cases run the collector directly.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install_tee

read -r p1 st < <(e2e_crash_pid "$CRASHER" segv)
[ "$st" = 139 ] || fail "crasher segv exited with $st"
read -r p2 st < <(e2e_crash_pid "$CRASHER" -m 64 segv)
[ "$st" = 139 ] || fail "crasher -m 64 segv exited with $st"
e2e_wait_pid "$p1"
e2e_wait_pid "$p2"
small=$E2E_DIR/ref.$p1
big=$E2E_DIR/ref.$p2
[ -s "$small" ] && [ -s "$big" ] || fail "the tee handler left no reference cores"
[ "$(stat -c %s "$big")" -gt $((64 << 20)) ] || fail "the -m 64 core is smaller than 64 MiB"

# Extra configs over the same store.
conf_small=$E2E_DIR/maxsize.conf
printf '[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\nMaxUse=0\nKeepFree=0\nMaxCoreSize=1M\n' "$E2E_STORE" > "$conf_small"
conf_banana=$E2E_DIR/banana.conf
printf '[Store]\nPath=%s\nCompressLevel=banana\n[Policy]\nKeepPerSignature=0\nRateLimit=0\nMaxUse=0\nKeepFree=0\n' "$E2E_STORE" > "$conf_banana"

now=$(date +%s)
unlimited=18446744073709551615
# collect CONF INPUT ARGS...: run the collector with INPUT on stdin; exit status must be 0.
collect() {
	local conf=$1 input=$2 rc=0; shift 2
	"$E2E_DIR/mortem-collect" -c "$conf" "$@" < "$input" > "$E2E_DIR/collect.out" 2>&1 || rc=$?
	[ "$rc" = 0 ] || fail "${E2E_CTX:-}: mortem-collect $* < $input exited $rc: $(head -c 500 "$E2E_DIR/collect.out")"
}
# record MATCH: info --json of it, checking that info (human and JSON) works.
record() {
	$MORTEM info "$1" > "$E2E_DIR/info.txt" 2>&1 || fail "${E2E_CTX:-}: mortem info $1 failed: $(cat "$E2E_DIR/info.txt")"
	$MORTEM info --json "$1" || fail "${E2E_CTX:-}: mortem info --json $1 failed"
}
failed=""

empty() {
	E2E_CTX="empty core"
	collect "$E2E_CONF" /dev/null 4000001 0 0 11 "$now" "$unlimited" "$(hostname)" 1
	local j; j=$(record 4000001)
	e2e_jeq "$j" .core.status error
	e2e_jtrue "$j" '.core.reason | test("empty"; "i")'
	e2e_jeq "$j" .core.size 0
	e2e_jeq "$j" .core.path null
	e2e_jeq "$j" .signal_name SIGSEGV
	local rc; rc=$(e2e_status $MORTEM dump -o "$E2E_DIR/x" 4000001)
	[ "$rc" = 5 ] || fail "$E2E_CTX: mortem dump of a crash without core exited $rc, expected 5"
}
( empty ) || failed="$failed empty"

garbage() {
	E2E_CTX="non-ELF input"
	head -c 100000 /dev/urandom > "$E2E_DIR/garbage"
	collect "$E2E_CONF" "$E2E_DIR/garbage" 4000002 0 0 11 "$now" "$unlimited" "$(hostname)" 1
	local j; j=$(record 4000002)
	e2e_jeq "$j" .core.status error
	e2e_jtrue "$j" '.core.reason | test("ELF")'
	e2e_jeq "$j" .core.size 100000
	$MORTEM dump -o "$E2E_DIR/garbage.out" 4000002 || fail "$E2E_CTX: mortem dump failed"
	cmp "$E2E_DIR/garbage" "$E2E_DIR/garbage.out" || fail "$E2E_CTX: the bytes that arrived are not kept as they were"
}
( garbage ) || failed="$failed garbage"

truncated() {
	E2E_CTX="truncated core"
	head -c 300000 "$big" > "$E2E_DIR/trunc"
	collect "$E2E_CONF" "$E2E_DIR/trunc" 4000003 0 0 11 "$now" "$unlimited" "$(hostname)" 1
	local j; j=$(record 4000003)
	e2e_jeq "$j" .core.status truncated
	e2e_jeq "$j" .core.size 300000
	e2e_jtrue "$j" '.core.reason | length > 0'
	$MORTEM dump -o "$E2E_DIR/trunc.out" 4000003 || fail "$E2E_CTX: mortem dump failed"
	cmp "$E2E_DIR/trunc" "$E2E_DIR/trunc.out" || fail "$E2E_CTX: the bytes that arrived are not kept as they were"
}
( truncated ) || failed="$failed truncated"

too_large() {
	E2E_CTX="core over MaxCoreSize=1M"
	local t0 t1 ms rc=0 j id
	t0=$(date +%s%N)
	# Through a pipe, like the kernel: a collector that stops reading must not hang.
	cat "$big" 2>/dev/null | "$E2E_DIR/mortem-collect" -c "$conf_small" 4000004 0 0 11 "$now" "$unlimited" "$(hostname)" 1 || rc=$?
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	[ "$rc" = 0 ] || fail "$E2E_CTX: mortem-collect exited $rc"
	[ "$ms" -lt 3000 ] || fail "$E2E_CTX: the collector took $ms ms"
	j=$(record 4000004)
	id=$(printf '%s' "$j" | jq -r .id)
	e2e_jeq "$j" .core.status too-large
	e2e_jeq "$j" .core.path null
	e2e_jtrue "$j" '.core.reason | test("MaxCoreSize")'
	e2e_jtrue "$j" ".core.size <= $((2 << 20))"
	[ ! -e "$E2E_STORE/store/$id.core.zst" ] || fail "$E2E_CTX: a core file was stored"
	[ -z "$(ls "$E2E_STORE/spool")" ] || fail "$E2E_CTX: left files in the spool: $(ls "$E2E_STORE/spool")"
	rc=$(e2e_status $MORTEM dump -o "$E2E_DIR/x" 4000004)
	[ "$rc" = 5 ] || fail "$E2E_CTX: mortem dump exited $rc, expected 5 (no stored core)"
}
( too_large ) || failed="$failed too-large"

unknown_pid() {
	E2E_CTX="unknown pid"
	collect "$E2E_CONF" "$small" 4000000 0 0 11 "$now" "$unlimited" "$(hostname)" 1
	local j; j=$(record 4000000)
	e2e_jeq "$j" .pid 4000000
	e2e_jeq "$j" .core.status stored
	e2e_jtrue "$j" '(.errors | type) == "array" and (.errors | map(select(test("proc"))) | length) > 0'
	$MORTEM dump -o "$E2E_DIR/unknown.out" 4000000 || fail "$E2E_CTX: mortem dump failed"
	cmp "$small" "$E2E_DIR/unknown.out" || fail "$E2E_CTX: dump differs from the input"
}
( unknown_pid ) || failed="$failed unknown-pid"

few_args() {
	E2E_CTX="too few arguments"
	collect "$E2E_CONF" "$small" 4000005 0 0
	local j; j=$(record 4000005)
	e2e_jeq "$j" .pid 4000005
	e2e_jtrue "$j" '(.argv_problems | type) == "array" and (.argv_problems | map(select(test("too few"))) | length) == 1'
	e2e_jtrue "$j" '.core.status == "stored"'
}
( few_args ) || failed="$failed few-args"

bad_pid() {
	E2E_CTX="non-numeric pid"
	collect "$E2E_CONF" "$small" abc 0 0 11 "$now" "$unlimited" "$(hostname)" 1
	local id j
	id=$($MORTEM list --json | jq -r '[.[] | select((.argv_problems // []) | map(test("not a pid")) | any)] | if length == 1 then .[0].id else "count \(length)" end')
	case $id in count*) fail "$E2E_CTX: expected one record with argv_problems 'not a pid', found $id" ;; esac
	j=$(record "$id")
	e2e_jeq "$j" .id "$id"
	e2e_jeq "$j" .signal 11
	e2e_jeq "$j" .core.status stored
}
( bad_pid ) || failed="$failed bad-pid"

many_args() {
	E2E_CTX="too many arguments"
	collect "$E2E_CONF" "$small" 4000008 0 0 11 "$now" "$unlimited" "$(hostname)" 1 3 extra
	local j; j=$(record 4000008)
	e2e_jtrue "$j" '(.argv_problems | map(select(test("too many"))) | length) == 1'
	e2e_jeq "$j" .core.status stored
}
( many_args ) || failed="$failed many-args"

bad_config() {
	E2E_CTX="CompressLevel=banana"
	collect "$conf_banana" "$small" 4000006 0 0 11 "$now" "$unlimited" "$(hostname)" 1
	local j; j=$(record 4000006)
	e2e_jeq "$j" .core.status stored
	$MORTEM dump -o "$E2E_DIR/banana.out" 4000006 || fail "$E2E_CTX: mortem dump failed"
	cmp "$small" "$E2E_DIR/banana.out" || fail "$E2E_CTX: dump differs from the input"
}
( bad_config ) || failed="$failed bad-config"

# Nothing is left half-done, and every record is listed.
e2e_wait_idle
[ -z "$(ls "$E2E_STORE/spool")" ] || { echo "  FAIL    spool not empty: $(ls "$E2E_STORE/spool")" >&2; failed="$failed spool"; }
n=$($MORTEM list --json | jq length)
nrec=$(ls "$E2E_STORE/store" | grep -c '\.json$')
[ "$n" = "$nrec" ] || { echo "  FAIL    mortem list shows $n crashes, the store has $nrec records" >&2; failed="$failed list"; }

[ -z "$failed" ] || fail "test_bad_input: failed:$failed"
exit 0
