#!/bin/bash
# Run every tests/system/test_*.sh (systemd as PID 1 in a container; lib.sh)
# with BUILD_DIR as $1. Exit status 77 from a test means skipped, and its
# reason is printed. Fails if any failed.
#
#   tests/system/run.sh BUILD_DIR [NAME_FILTER]
set -u
[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: $0 BUILD_DIR [NAME_FILTER]" >&2; exit 2; }
build=$(cd "$1" && pwd)
filter=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
failed=0
for t in "$here"/test_*.sh; do
	name=$(basename "$t" .sh)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
	t0=$(date +%s)
	timeout -k 15 "${SYSTEM_TIMEOUT:-1500}" bash "$t" "$build"
	rc=$?
	dt=$(($(date +%s) - t0))
	case $rc in
	0) echo "  PASS    system/$name (${dt}s)" ;;
	77) echo "  SKIP    system/$name (see the reason above)" ;;
	*) echo "  FAIL    system/$name (exit $rc, ${dt}s)"; failed=1 ;;
	esac
done
exit $failed
