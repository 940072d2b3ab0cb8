#!/bin/bash
# The stored core is the kernel's core, byte for byte: a tee handler keeps a
# reference copy of what the kernel sent, and every way of getting the core back
# (mortem dump -o, mortem dump > file, zstd -d of the stored file) must match it.
# The minicore alone lets eu-stack symbolize the crashing thread.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
e2e_install_tee
[ "$(wc -c < "$CP")" -lt 128 ] || fail "core_pattern too long: $(cat "$CP")"

exe=$(readlink -f "$CRASHER")
failed=""

# same_core LABEL PID: every way out gives back the reference bytes.
same_core() {
	local label=$1 pid=$2 ref=$E2E_DIR/ref.$2 j id zst out=$E2E_DIR/out
	E2E_CTX="$label (pid $pid)"
	e2e_wait_pid "$pid" 60
	[ -s "$ref" ] || fail "$E2E_CTX: the tee handler left no reference core $ref"
	j=$($MORTEM info --json "$pid")
	id=$(printf '%s' "$j" | jq -r .id)
	e2e_jeq "$j" .core.status stored
	e2e_jeq "$j" .core.size "$(stat -c %s "$ref")"
	zst=$(printf '%s' "$j" | jq -r .core.path)

	$MORTEM dump -o "$out.o" "$pid" || fail "$E2E_CTX: mortem dump -o failed"
	cmp "$ref" "$out.o" || fail "$E2E_CTX: mortem dump -o FILE differs from the kernel's core"
	rm -f "$out.o"
	$MORTEM dump "$id" > "$out.stdout" || fail "$E2E_CTX: mortem dump > FILE failed"
	cmp "$ref" "$out.stdout" || fail "$E2E_CTX: mortem dump > FILE differs from the kernel's core"
	rm -f "$out.stdout"
	zstd -q -d -c "$zst" > "$out.zstd" || fail "$E2E_CTX: zstd -d $zst failed"
	cmp "$ref" "$out.zstd" || fail "$E2E_CTX: zstd -d of the stored core differs from the kernel's core"
	rm -f "$out.zstd"
	# Through a pipe too (no seekable output).
	[ "$($MORTEM dump "$pid" | cksum)" = "$(cksum < "$ref")" ] ||
		fail "$E2E_CTX: mortem dump | ... differs from the kernel's core"
	unset E2E_CTX
}

small() {
	local p st j mini
	read -r p st < <(e2e_crash_pid "$CRASHER" segv)
	[ "$st" = 139 ] || fail "crasher segv exited with $st"
	same_core "small segv" "$p"

	# A core is never written to a terminal.
	if command -v script >/dev/null; then
		local tty_out=$E2E_DIR/tty.out rc=0
		script -qec "$MORTEM dump $p" /dev/null > "$tty_out" 2>&1 < /dev/null || rc=$?
		[ "$rc" = 2 ] || fail "mortem dump to a terminal exited $rc, expected 2 (usage): $(head -c 300 "$tty_out")"
		grep -q 'terminal' "$tty_out" || fail "mortem dump to a terminal: no message saying why: $(head -c 300 "$tty_out")"
		[ "$(wc -c < "$tty_out")" -lt 2000 ] || fail "mortem dump wrote the core to a terminal"
	else
		echo "  NOTE    script(1) missing: the dump-to-terminal refusal is not checked"
	fi

	# The minicore alone symbolizes the crashing thread.
	j=$($MORTEM info --json "$p")
	mini=$(printf '%s' "$j" | jq -r .minicore.path)
	[ -s "$mini" ] || fail "no minicore for the segv crash"
	eu-stack -e "$exe" --core "$mini" > "$E2E_DIR/stack.txt" 2>&1 || true
	grep -Eq '\b(crash_segv|main)\b' "$E2E_DIR/stack.txt" ||
		fail "eu-stack on the minicore shows neither crash_segv nor main: $(head -c 1500 "$E2E_DIR/stack.txt")"
	# And it is small next to the core.
	[ "$(stat -c %s "$mini")" -lt "$(stat -c %s "$E2E_DIR/ref.$p")" ] || fail "the minicore is not smaller than the core"
}
( small ) || failed="$failed small"

big() {
	local p st t0 t1
	t0=$(date +%s%N)
	read -r p st < <(e2e_crash_pid "$CRASHER" -m 512 segv)
	t1=$(date +%s%N)
	[ "$st" = 139 ] || fail "crasher -m 512 segv exited with $st"
	echo "  NOTE    512 MiB crash: crasher ran and died in $(( (t1 - t0) / 1000000 )) ms"
	[ "$(stat -c %s "$E2E_DIR/ref.$p")" -gt $((512 << 20)) ] || fail "the 512 MiB crash's core is smaller than 512 MiB"
	same_core "512 MiB segv" "$p"
	rm -f "$E2E_DIR/ref.$p"
}
( big ) || failed="$failed big"

[ -z "$failed" ] || fail "test_dump_identical: failed:$failed"
exit 0
