#!/bin/bash
# The harness itself, when a check fails mid-way: the container is halted, its
# cgroup and copy removed, and the kernel's core_pattern and core_pipe_limit
# are what they were, although the failing test had changed both.
#
# usage: tests/system/test_harness.sh BUILD_DIR
set -u
build=$(cd "${1:?usage: test_harness.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../e2e/lib.sh"
[ "$(id -u)" = 0 ] || e2e_skip "test_harness: needs root"

# The lock for the whole test, so that no other test changes the settings
# between the reading before and the one after; the failing test inherits it.
exec 9>"$E2E_LOCK"
flock -w 600 9 || fail "test_harness: could not take $E2E_LOCK"
cp_before=$(cat "$CP") cpl_before=$(cat "$CPL")
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The failing test: boots, points the kernel elsewhere, then fails.
SYS_NO_DEB=1 SYS_LOCK_HELD=1 bash -c '
	. "'"$here"'/lib.sh"
	sys_setup "'"$build"'"
	sys_boot
	echo "machine $SYS_MACHINE run $SYS_RUN cgroup $SYS_CGROUP nspawn $SYS_NSPAWN"
	printf "|/bin/false %%p\n" > "$CP"; printf "7\n" > "$CPL"
	sys_in true || exit 3
	fail "planted failure mid-way"
' >"$out" 2>&1
rc=$?
[ "$rc" = 77 ] && { cat "$out"; exit 77; }
[ "$rc" = 1 ] || { cat "$out" >&2; fail "test_harness: the failing test exited $rc, not 1"; }
grep -q 'planted failure mid-way' "$out" || { cat "$out" >&2; fail "test_harness: the test did not reach its planted failure"; }
read -r _ machine _ run _ cgroup _ nspawn < <(grep '^machine ' "$out")
[ "$(cat "$CP")" = "$cp_before" ] || fail "test_harness: core_pattern is '$(cat "$CP")', was '$cp_before'"
[ "$(cat "$CPL")" = "$cpl_before" ] || fail "test_harness: core_pipe_limit is $(cat "$CPL"), was $cpl_before"
! kill -0 "$nspawn" 2>/dev/null || fail "test_harness: nspawn ($nspawn) still runs"
! pgrep -f -- "-M $machine " >/dev/null || fail "test_harness: a process of machine $machine remains"
[ ! -e "$run" ] || fail "test_harness: the run's directory $run remains"
[ -z "$cgroup" ] || [ ! -e "$cgroup" ] || fail "test_harness: the cgroup $cgroup remains"
echo "  PASS    test_harness: a failure mid-way halted $machine and restored the kernel's settings"
