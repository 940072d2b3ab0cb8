#!/bin/bash
# The store is unusable (read-only filesystem, full filesystem): the dying process
# is still released at once, nothing half-written shows up in the store, and the
# crash is announced (journald, else the kernel log).
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"

# Unmount whatever the cases (subshells) mounted under E2E_DIR, then the usual restore.
faults_cleanup() {
	set +e # a clean-up that stops half-way leaves the machine changed: go on past failures
	local m
	for m in $(findmnt -rn -o TARGET | grep "^$E2E_DIR/" | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" || echo "e2e: cannot unmount $m" >&2
	done
	e2e_restore
}
trap faults_cleanup EXIT

# announced PID: the collector's announcement of PID reached the journal or /dev/kmsg.
announced() {
	local pid=$1
	if [ -S /run/systemd/journal/socket ] && command -v journalctl >/dev/null; then
		journalctl -q -t mortem --since "-5min" 2>/dev/null | grep -q "process $pid (crasher)" && return 0
	fi
	dmesg 2>/dev/null | grep -q "mortem: process $pid (crasher)"
}

# store_consistent ROOT: only whole entries in store/, nothing left in spool/.
store_consistent() {
	local root=$1 f id
	for f in "$root"/store/*; do
		[ -e "$f" ] || continue
		case ${f##*/} in
		*.json) python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null ||
				fail "${E2E_CTX:-}: record $f is not valid JSON" ;;
		*.core.zst) id=${f##*/}; id=${id%.core.zst}
			[ -e "$root/store/$id.json" ] || fail "${E2E_CTX:-}: core $f has no record" ;;
		*.mini) id=${f##*/}; id=${id%.mini}
			[ -e "$root/store/$id.json" ] || fail "${E2E_CTX:-}: minicore $f has no record" ;;
		*) fail "${E2E_CTX:-}: unexpected file in the store: $f" ;;
		esac
	done
	local left
	left=$(ls -A "$root/spool" 2>/dev/null || true)
	[ -z "$left" ] || fail "${E2E_CTX:-}: left in the spool: $left"
}

# crash_released LABEL ARGS...: crash through the kernel; the crasher's parent must
# get it back promptly. Prints the pid.
crash_released() {
	local label=$1 p st t0 t1 ms; shift
	t0=$(date +%s%N)
	read -r p st < <(e2e_crash_pid "$CRASHER" "$@")
	t1=$(date +%s%N)
	ms=$(( (t1 - t0) / 1000000 ))
	[ "$st" = 139 ] || fail "$label: crasher $* exited with $st"
	[ "$ms" -le 10000 ] || fail "$label: the crashing process was held $ms ms (> 10 s)"
	echo "  NOTE    $label: crasher $* returned after $ms ms" >&2
	echo "$p"
}

failed=""

read_only() {
	E2E_CTX="read-only store"
	local m=$E2E_DIR/ro p
	mkdir -p "$m"
	mount -t tmpfs -o size=16M,mode=0755 tmpfs "$m"
	mkdir -p "$m/store" "$m/spool"
	mount -o remount,ro "$m"
	printf '[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\nMaxUse=0\nKeepFree=0\n' "$m" > "$E2E_DIR/ro.conf"
	e2e_install "" "|$E2E_DIR/mortem-collect -c $E2E_DIR/ro.conf %P %u %g %s %t %c %h %d %F"
	p=$(crash_released "read-only store" -m 32 segv)
	e2e_wait_idle
	store_consistent "$m"
	[ -z "$(ls -A "$m/store")" ] || fail "$E2E_CTX: files appeared on a read-only filesystem?"
	announced "$p" || fail "$E2E_CTX: crash of pid $p not announced (journal or dmesg)"
}
( read_only ) || failed="$failed read-only"

# full FILL_KIB LABEL: a 2 MiB store with FILL_KIB taken (all of it if empty).
full() {
	local fill=$1 label=$2 m=$E2E_DIR/full$1 p
	E2E_CTX=$label
	mkdir -p "$m"
	mount -t tmpfs -o size=2M,mode=0755 tmpfs "$m"
	mkdir -p "$m/store" "$m/spool"
	if [ "$fill" = all ]; then
		dd if=/dev/zero of="$m/fill" bs=4k 2>/dev/null || true
	else
		dd if=/dev/zero of="$m/fill" bs=1k count="$fill" 2>/dev/null
	fi
	printf '[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\nMaxUse=0\nKeepFree=0\n' "$m" > "$E2E_DIR/full.conf"
	e2e_install "" "|$E2E_DIR/mortem-collect -c $E2E_DIR/full.conf %P %u %g %s %t %c %h %d %F"
	p=$(crash_released "$label" -m 16 segv)
	e2e_wait_idle
	store_consistent "$m"
	announced "$p" || fail "$E2E_CTX: crash of pid $p not announced (journal or dmesg)"
	# When there is room again, the next crash is stored as usual.
	rm -f "$m/fill"
	p=$(crash_released "$label, then emptied" segv)
	e2e_wait_idle
	local j
	j=$("$(dirname "$CRASHER")/../mortem" -c "$E2E_DIR/full.conf" info --json "$p") ||
		fail "$E2E_CTX: the crash after freeing space is not recorded"
	e2e_jeq "$j" .core.status stored
	store_consistent "$m"
}
( full all "full store" ) || failed="$failed full"
( full 1024 "store that fills up while writing" ) || failed="$failed filling"

[ -z "$failed" ] || fail "test_store_faults: failed:$failed"
exit 0
