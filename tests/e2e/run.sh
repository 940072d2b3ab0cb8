#!/bin/bash
# Run every tests/e2e/test_*.sh in order, each in its own bash process with
# BUILD_DIR as $1. Exit status 77 from a test means skipped. Fails if any failed.
#
#   tests/e2e/run.sh BUILD_DIR [NAME_FILTER]
set -u
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR [NAME_FILTER]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
filter=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
# Generous: a test may first wait up to 600 s for the core_pattern lock (lib.sh).
per_test_timeout=${E2E_TIMEOUT:-720}

pass=0 failed=0 skipped=0 failures=""
start=$(date +%s)
for t in "$here"/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
	t0=$(date +%s%N)
	# SIGTERM on timeout: lib.sh's trap restores core_pattern on the way out.
	timeout -k 15 "$per_test_timeout" bash "$t" "$build"
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	dt=$((ms / 1000)).$(( (ms % 1000) / 100 ))
	case $rc in
	0) echo "  PASS    $name (${dt}s)"; pass=$((pass + 1)) ;;
	77) echo "  SKIP    $name"; skipped=$((skipped + 1)) ;;
	124) echo "  FAIL    $name (timed out after ${per_test_timeout}s)"; failed=$((failed + 1)); failures="$failures $name" ;;
	*) echo "  FAIL    $name (exit $rc, ${dt}s)"; failed=$((failed + 1)); failures="$failures $name" ;;
	esac
done

# Never leave the kernel pointing into a removed test directory.
cp=$(cat /proc/sys/kernel/core_pattern 2>/dev/null || true)
for d in $(printf '%s\n' "$cp" | grep -o '/tmp/mortem-e2e\.[A-Za-z0-9]*' || true); do
	if [ ! -d "$d" ]; then
		echo "  FAIL    core_pattern still points at removed $d: '$cp'" >&2
		failed=$((failed + 1)); failures="$failures core_pattern"
	fi
done

echo "  e2e: $pass passed, $failed failed, $skipped skipped in $(( $(date +%s) - start ))s"
if [ "$failed" -gt 0 ]; then
	echo "  e2e: failed:$failures" >&2
	exit 1
fi
exit 0
