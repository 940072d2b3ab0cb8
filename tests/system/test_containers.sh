#!/bin/bash
# A crash inside a container, collected on the host (tests/system/lib.sh boots
# a Debian 12 root file system with systemd-nspawn; no package: SYS_NO_DEB=1):
#
#  1. a crasher that exists ONLY in the container's root file system
#     (/opt/only-here/an_null; the host has no /opt/only-here) crashes inside
#     it, under the host's core_pattern pointing at a private copy of the
#     freshly built mortem-collect;
#  2. the record says it came from a container: runtime systemd-nspawn (the
#     init's container=), the machine name (its uts hostname: nspawn names a
#     --keep-unit, unregistered machine nowhere else), its pid namespace not
#     the collector's;
#  3. its stack is symbolized from the container's binary (main and the
#     crasher's own function), the modules' build-ids are those of the files
#     in the container, on_disk judged against the container's files;
#  4. `mortem list --container NAME` (and MATCH container=NAME) lists it and
#     not a crash on the host, whose record has "container": null;
#  5. with the container halted and its files gone, `mortem analyze ID` says
#     which binaries it could not find.
#
# usage: tests/system/test_containers.sh BUILD_DIR
set -u
build=$(cd "${1:?usage: test_containers.sh BUILD_DIR}" && pwd)
export SYS_NO_DEB=1
. "$(dirname "$0")/lib.sh"

command -v jq >/dev/null || sys_skip "jq missing"
[ ! -e /opt/only-here ] || sys_skip "/opt/only-here exists on the host: the test needs a path only the container has"

sys_setup "$build"
sys_boot
sys_note "booted in ${SYS_BOOT_MS} ms"

# The container's hostname is its machine name, as nspawn sets it; this root
# file system's /etc/hostname (the build host's) made systemd change it back.
sys_in hostname "$SYS_MACHINE" || fail "cannot set the container's hostname"
[ "$(sys_in hostname)" = "$SYS_MACHINE" ] || fail "the container's hostname did not stick"

mkdir -p "$SYS_ROOT/opt/only-here"
cp "$build/crashers/an_null" "$SYS_ROOT/opt/only-here/an_null"
chmod 755 "$SYS_ROOT/opt/only-here" "$SYS_ROOT/opt/only-here/an_null"

# A private collector, config and store, as tests/e2e/lib.sh's e2e_install
# (sys_setup holds the lock and restores core_pattern on exit).
CT_DIR=$(mktemp -d /tmp/mortem-ct.XXXXXX)
chmod 755 "$CT_DIR"
cp "$build/mortem-collect" "$CT_DIR/mortem-collect"
CT_CONF=$CT_DIR/mortem.conf
printf '[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\nMaxUse=0\nKeepFree=0\n' "$CT_DIR/store" >"$CT_CONF"
MORTEM="$build/mortem -c $CT_CONF"
trap 'st=$?; rm -rf "$CT_DIR"; (exit $st); sys_cleanup' EXIT
printf '%s\n' "|$CT_DIR/mortem-collect -c $CT_CONF %P %u %g %s %t %c %h %d %F" >"$CP"
printf '%s\n' 2147483647 >"$CPL"

# The id of the stored crash of executable $1 (waits up to 30 s).
wait_exe() {
	local i id
	for i in $(seq 1 300); do
		id=$($MORTEM list --json 2>/dev/null | jq -r --arg e "$1" '[.[] | select(.exe == $e and .core.status != "pending")][0].id // empty' 2>/dev/null)
		[ -n "$id" ] && { echo "$id"; return 0; }
		sleep 0.1
	done
	fail "no crash of $1 stored; have: $($MORTEM list 2>&1)"
}

# ---- 1. The crash inside the container.
# (nsenter, on the host, then kills itself with the same signal to pass the
# status on: a second crash, of the host's /usr/bin/nsenter.)
sys_in sh -c 'ulimit -c unlimited; exec /opt/only-here/an_null' >/dev/null 2>&1
CID=$(wait_exe /opt/only-here/an_null) || exit 1
REC=$($MORTEM info --json "$CID") || fail "mortem info $CID failed"
printf '%s\n' "$REC" >"${CT_DEBUG:-$CT_DIR}/container.json" # CT_DEBUG=DIR keeps it

# ---- 2. Its container.
E2E_CTX="container record"
e2e_jeq "$REC" '.exe' /opt/only-here/an_null
e2e_jeq "$REC" '.proc.container.runtime' systemd-nspawn
e2e_jeq "$REC" '.proc.container.name' "$SYS_MACHINE"
e2e_jeq "$REC" '.proc.container.hostname' "$SYS_MACHINE"
e2e_jeq "$REC" '.proc.container.namespaces.pid' true
e2e_jeq "$REC" '.proc.container.namespaces.mnt' true
e2e_jeq "$REC" '.proc.container.init_pid' "$SYS_PID1"
e2e_jtrue "$REC" '.proc.container.uuid | test("^[0-9a-f-]{36}$")'
e2e_jtrue "$REC" '.proc.errors | has("container") | not'

# ---- 3. Symbolized from the container's binary; build-ids; on_disk.
e2e_jtrue "$REC" '[.threads[].frames[]?.function] | any(.[]; . == "main")'
e2e_jtrue "$REC" '[.threads[].frames[]?.function // empty] | map(select(test("^(read_field|parse_header|parse_request)$"))) | length > 0'
want=$(readelf -n "$SYS_ROOT/opt/only-here/an_null" | awk '/Build ID/ {print $3}')
[ -n "$want" ] || fail "the crasher has no build-id"
e2e_jeq "$REC" '.modules[] | select(.path == "/opt/only-here/an_null") | .build_id' "$want"
e2e_jeq "$REC" '.modules[] | select(.path == "/opt/only-here/an_null") | .on_disk' match
# libc: the container's file, judged against the container's copy (the same Debian 12
# file as the host's here: only the crasher tells the two roots apart)
libc=$(printf '%s' "$REC" | jq -r '.modules[] | select(.path | test("/libc\\.so")) | .path' | head -1)
[ -n "$libc" ] || fail "no libc module"
want=$(readelf -n "$SYS_ROOT$libc" | awk '/Build ID/ {print $3}')
e2e_jeq "$REC" ".modules[] | select(.path == \"$libc\") | .build_id" "$want"
e2e_jeq "$REC" ".modules[] | select(.path == \"$libc\") | .on_disk" match
sys_note "container crash: $(printf '%s' "$REC" | jq -c '.proc.container | {runtime, name, init_pid}'), capture $(printf '%s' "$REC" | jq '.proc.capture_usec') us"

# ---- 4. --container, and a crash on the host.
{ ( ulimit -c unlimited; exec "$build/crashers/an_null" ) >/dev/null 2>&1; } 2>/dev/null
HID=$(wait_exe "$build/crashers/an_null") || exit 1
HREC=$($MORTEM info --json "$HID")
E2E_CTX="host record"
e2e_jeq "$HREC" '.proc.container' null
e2e_jtrue "$HREC" '.proc.errors | has("container") | not'
E2E_CTX="list --container"
got=$($MORTEM list --json --container "$SYS_MACHINE" | jq -r '[.[].id] | join(" ")')
[ "$got" = "$CID" ] || fail "list --container $SYS_MACHINE gave '$got', expected '$CID'"
got=$($MORTEM list --json "container=$SYS_MACHINE" | jq -r '[.[].id] | join(" ")')
[ "$got" = "$CID" ] || fail "list container=$SYS_MACHINE gave '$got', expected '$CID'"
st=$(e2e_status $MORTEM list --container no-such-machine)
[ "$st" = 3 ] || fail "list --container no-such-machine: exit $st, expected 3 (no match)"
$MORTEM info "$CID" | grep -q "Container: systemd-nspawn $SYS_MACHINE" || fail "info does not show the container"

# ---- 5. Later: the container halted, its files gone.
sys_halt
[ ! -e /opt/only-here/an_null ] || fail "the crasher is on the host"
out=$($MORTEM analyze "$CID" 2>&1)
printf '%s\n' "$out" >"$CT_DIR/analyze.txt"
printf '%s\n' "$out" | grep -q "^  /opt/only-here/an_null: not found" || { printf '%s\n' "$out" >&2; fail "analyze does not say it could not find the binary"; }
REC=$($MORTEM info --json "$CID")
E2E_CTX="record analysed again"
e2e_jeq "$REC" '.modules[] | select(.path == "/opt/only-here/an_null") | .on_disk' missing
sys_note "analyze after the container: $(printf '%s\n' "$out" | tr '\n' '|'); first frame now: $(printf '%s' "$REC" | jq -c '.threads[0].frames[0] | {fn: .function, module: .module}')"
echo "  OK      containers"
