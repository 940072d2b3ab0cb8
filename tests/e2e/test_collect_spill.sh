#!/bin/bash
# The collector's own spill, with the real kernel and no mortemd: a big core is
# drained raw into the spool and compressed after the release
# (collector.buffer "spill"), byte for byte the core the kernel wrote; a small
# one is compressed inline; SpillMax= too small for the core sends it inline;
# a storm of 20 through the collectors alone keeps every core whole and leaves
# nothing in the spool.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
trap 'e2e_restore' EXIT

# e2e_setup sets KeepFree=0; the spill still needs the room for the raw cores.
avail=$(df -k --output=avail "$E2E_DIR" | tail -1)
[ "$avail" -gt $((2 * 1024 * 1024)) ] || e2e_skip "less than 2 GiB free under $E2E_DIR for the raw cores"

# check PID BUFFER: stored whole by mortem-collect through BUFFER, and the
# dump is the core the kernel wrote (kept by the tee handler).
check() {
	local p=$1 buffer=$2 j
	E2E_CTX="pid $p ($buffer)"
	e2e_wait_pid "$p" 120
	j=$($MORTEM info --json "$p")
	e2e_jeq "$j" .collector.mode pipe
	e2e_jeq "$j" .collector.buffer "$buffer"
	e2e_jeq "$j" .core.status stored
	e2e_jtrue "$j" '.core.size == .core.expected_size and .core.size > 0'
	e2e_jtrue "$j" '.core.held_usec > 0'
	e2e_jeq "$j" .analysis.status ok
	$MORTEM dump -o "$E2E_DIR/dump" "$p" >/dev/null || fail "$E2E_CTX: mortem dump failed"
	cmp -s "$E2E_DIR/dump" "$E2E_DIR/ref.$p" || fail "$E2E_CTX: the dump differs from the core the kernel wrote"
	rm -f "$E2E_DIR/dump" "$E2E_DIR/ref.$p"
}

spool_empty() {
	[ -z "$(ls -A "$E2E_STORE/spool" 2>/dev/null | grep -v -e '\.lock$')" ] ||
		fail "$1: the spool kept files: $(ls "$E2E_STORE/spool")"
}

e2e_install_tee

# 1. 64 MiB of mixed memory: spilled, then compressed after the release.
read -r p _ < <(e2e_crash_pid "$CRASHER" -t 3 -m 64 segv)
check "$p" spill
spool_empty "big crash"

# 2. A small core: compressed while the process waits, as before.
read -r p _ < <(e2e_crash_pid "$CRASHER" abort)
check "$p" inline

# 3. SpillMax smaller than the core: inline, whole.
printf '[Store]\nSpillMax=32M\n' >>"$E2E_CONF"
read -r p _ < <(e2e_crash_pid "$CRASHER" -m 64 segv)
check "$p" inline
printf '[Store]\nSpillMax=8G\n' >>"$E2E_CONF"

# 4. A storm of 20 x 48 MiB through the collectors alone: all whole.
pids=()
for _ in $(seq 20); do
	( ulimit -c unlimited; exec "$CRASHER" -m 48 segv ) >/dev/null 2>&1 &
	pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
e2e_wait_crashes 23 120 || fail "storm: not all 20 recorded"
e2e_wait_idle 180
ns=0
for p in "${pids[@]}"; do
	j=$($MORTEM info --json "$p")
	b=$(printf '%s' "$j" | jq -r .collector.buffer)
	[ "$b" = spill ] && ns=$((ns + 1))
	check "$p" "$b"
done
echo "storm of 20 x 48 MiB, collectors alone: $ns spilled, $((20 - ns)) inline"
[ "$ns" -ge 1 ] || fail "storm: no core was spilled"
spool_empty "storm"
