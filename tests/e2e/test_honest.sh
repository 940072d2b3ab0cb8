#!/bin/bash
# Output that never misleads, over real crashes: a core deleted by hand shows
# "missing" in list and info (list --json: status as recorded, present false)
# and vacuum marks it deleted; `bash -c 'kill -SEGV $$'` gets the verdict "sent
# by itself (kill)"; a crash in a pid namespace of its own (unshare -fp
# --mount-proc) shows the sender and the threads as the host numbers them, or
# marked as the namespace's; a crash still being processed has the record's
# contract keys known from the start in list --json; a core skipped by
# RateLimit= shows no "stored" size.
set -eu
. "$(dirname "$0")/lib.sh"
e2e_setup "$1"
command -v jq >/dev/null 2>&1 || e2e_skip "test_honest: needs jq"
e2e_install

failed=""
check() { # check NAME: run the function NAME in a subshell, note a failure
	( "$1" ) || failed="$failed $1"
}

# crash_cmd CMD...: run CMD with core dumps allowed, wait for its record;
# prints its PID.
crash_cmd() {
	local p st
	read -r p st < <(e2e_crash_pid "$@")
	[ "$st" -ge 128 ] || fail "$* exited with $st, not by a signal"
	e2e_wait_pid "$p"
	echo "$p"
}

# crash_new CMD...: run CMD (core dumps allowed), whose child crashes; wait for
# one more crash in the store and the collectors; prints the newest's JSON.
crash_new() {
	local n
	n=$($MORTEM list --json | jq length)
	( ulimit -c unlimited; exec "$@" ) >/dev/null 2>&1 || true
	e2e_wait_crashes $((n + 1)) || fail "the crash of $* was not recorded"
	e2e_wait_idle
	$MORTEM list --json | jq last
}

deleted_core() {
	local p id core row j
	p=$(crash_cmd "$CRASHER" segv)
	j=$($MORTEM info --json "$p")
	id=$(printf '%s' "$j" | jq -r .id)
	core=$(printf '%s' "$j" | jq -r .core.path)
	[ -f "$core" ] || fail "no core file $core for $id"
	row=$($MORTEM list | grep -F "$id") || fail "list has no row for $id"
	case $row in *missing*) fail "list says missing while the core is there: $row" ;; esac
	rm -f "$core"
	row=$($MORTEM list | grep -F "$id")
	[ "$(printf '%s' "$row" | awk '{ print $(NF - 2) }')" = missing ] || fail "list SIZE after rm is not 'missing': $row"
	$MORTEM info "$id" > "$E2E_DIR/info.deleted"
	grep -q '^ *Core: missing (recorded stored' "$E2E_DIR/info.deleted" ||
		fail "info after rm: $(grep 'Core' "$E2E_DIR/info.deleted")"
	j=$($MORTEM list --json | jq ".[] | select(.id == \"$id\")")
	e2e_jeq "$j" .core.status stored
	e2e_jeq "$j" .core.present false
	j=$($MORTEM info --json "$id")
	e2e_jeq "$j" .core.status stored
	e2e_jeq "$j" .core.present false
	# vacuum writes it into the record: deleted, with how it was found
	$MORTEM vacuum > "$E2E_DIR/vacuum.out" || fail "vacuum failed: $(cat "$E2E_DIR/vacuum.out")"
	grep -q 'marked 1 core missing from the disk as deleted' "$E2E_DIR/vacuum.out" ||
		fail "vacuum did not say it marked the core: $(cat "$E2E_DIR/vacuum.out")"
	j=$($MORTEM info --json "$id")
	e2e_jeq "$j" .core.status deleted
	e2e_jeq "$j" .core.path null
	e2e_jtrue "$j" '.core.reason | test("gone from the disk")'
	row=$($MORTEM list | grep -F "$id")
	[ "$(printf '%s' "$row" | awk '{ print $(NF - 2) }')" = deleted ] || fail "list after vacuum: $row"
}
check deleted_core

self_sent() {
	local p j
	p=$(crash_cmd bash -c 'kill -SEGV $$')
	j=$($MORTEM info --json "$p")
	E2E_CTX="bash kill -SEGV \$\$"
	e2e_jtrue "$j" '.slogan | endswith("— sent by itself (kill)")'
	e2e_jeq "$j" .siginfo.sender_self true
	e2e_jeq "$j" .siginfo.sender_pid "$p"
	$MORTEM info "$p" > "$E2E_DIR/info.self"
	grep -q "^ *Sent By: pid $p (itself), uid 0\$" "$E2E_DIR/info.self" ||
		fail "Sent By: $(grep 'Sent By' "$E2E_DIR/info.self")"
	# another process's kill is not "itself"
	j=$(crash_new bash -c 'sleep 30 & c=$!; sleep 0.3; kill -SEGV $c; wait $c')
	e2e_jeq "$j" .comm sleep
	e2e_jtrue "$j" '.slogan | endswith("— sent by another process")'
	e2e_jeq "$j" .siginfo.sender_self false
}
check self_sent

in_pid_namespace() {
	unshare -fp --mount-proc true 2>/dev/null || { echo "  (no pid namespaces here: skipped)"; return 0; }
	local j init pid out
	# pid 1 of the namespace (a shell) kills its child, pid 2
	j=$(crash_new unshare -fp --mount-proc bash -c 'sleep 30 & c=$!; sleep 0.3; kill -SEGV $c; wait $c')
	e2e_jeq "$j" .comm sleep
	pid=$(printf '%s' "$j" | jq -r .pid)
	j=$($MORTEM info --json "$pid")
	E2E_CTX="sleep in a pid namespace"
	e2e_jeq "$j" .proc.pid_ns.pid 2
	e2e_jeq "$j" .siginfo.sender_pid 1
	init=$(printf '%s' "$j" | jq -r .proc.pid_ns.init_pid)
	e2e_jeq "$j" .proc.status.PPid "$init"
	out=$($MORTEM info "$pid")
	printf '%s\n' "$out" | grep -q "^ *Sent By: pid $init (its pid namespace's init: pid 1 in its pid namespace), uid 0\$" ||
		fail "Sent By: $(printf '%s\n' "$out" | grep 'Sent By')"
	printf '%s\n' "$out" | grep -q "^  Thread $pid (sleep) \\[2 in its pid namespace\\] — crashed:\$" ||
		fail "thread: $(printf '%s\n' "$out" | grep '^  Thread')"
	printf '%s\n' "$out" | grep -Eq '^ *Sent By: pid 1,|^  Thread 2 ' && fail "namespace ids shown as host ones: $out"

	# itself, in the namespace: pid 2 there sends to pid 2
	j=$(crash_new unshare -fp --mount-proc bash -c 'bash -c "kill -SEGV \$\$"; true')
	pid=$(printf '%s' "$j" | jq -r .pid)
	E2E_CTX="bash kill -SEGV \$\$ in a pid namespace"
	e2e_jtrue "$j" '.slogan | endswith("— sent by itself (kill)")'
	out=$($MORTEM info "$pid")
	printf '%s\n' "$out" | grep -q "^ *Sent By: pid $pid (itself: pid 2 in its pid namespace), uid 0\$" ||
		fail "Sent By: $(printf '%s\n' "$out" | grep 'Sent By')"
}
check in_pid_namespace

pending_keys() {
	local p j="" i=0
	# a core of 64 MiB keeps its collector busy long enough to be seen
	( ulimit -c unlimited; exec "$CRASHER" -m 64 segv ) >/dev/null 2>&1 &
	p=$!
	while [ "$i" -lt 400 ]; do
		j=$($MORTEM list --json 2>/dev/null | jq -c ".[] | select(.pid == $p and .core.status == \"pending\")") || j=""
		[ -n "$j" ] && break
		sleep 0.02; i=$((i + 1))
	done
	wait "$p" 2>/dev/null || true
	[ -n "$j" ] || { e2e_wait_pid "$p" 60; fail "never saw the crash of $p pending"; }
	E2E_CTX="pending crash"
	for k in id time time_usec pid uid gid signal signal_name comm exe cmdline hostname boot_id unit; do
		e2e_jtrue "$j" "has(\"$k\")"
	done
	e2e_jeq "$j" .gid 0
	e2e_jtrue "$j" '.cmdline | test("crasher -m 64 segv")'
	e2e_jeq "$j" .hostname "$(hostname)"
	e2e_jeq "$j" .boot_id "$(tr -d - < /proc/sys/kernel/random/boot_id)"
	e2e_wait_pid "$p" 60
	# the stored record says the same
	local r
	r=$($MORTEM info --json "$p")
	for k in gid cmdline hostname boot_id; do
		e2e_jeq "$j" ".$k" "$(printf '%s' "$r" | jq -r ".$k")"
	done
}
check pending_keys

skipped_core() {
	local p1 p2 out
	# from here on, at most one core an hour is kept
	echo "RateLimit=1/1h" >> "$E2E_CONF"
	p1=$(crash_cmd "$CRASHER" segv)
	p2=$(crash_cmd "$CRASHER" segv)
	out=$($MORTEM info "$p2")
	E2E_CTX="second crash under RateLimit=1/1h"
	printf '%s\n' "$out" | grep -q '^ *Core: skipped (' || fail "not skipped: $(printf '%s\n' "$out" | grep Core)"
	printf '%s\n' "$out" | grep '^ *Core:' | grep -q stored && fail "a skipped core with a stored size: $(printf '%s\n' "$out" | grep 'Core:')"
	printf '%s\n' "$out" | grep -Eq '^ *Core: skipped \(.*\), [0-9.]+[BKMG]$' ||
		fail "no received size: $(printf '%s\n' "$out" | grep 'Core:')"
	: "$p1"
}
check skipped_core

[ -z "$failed" ] || fail "failed:$failed"
