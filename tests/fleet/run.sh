#!/bin/bash
# The fleet tests: mortem upload and mortem fleet against a real S3 gateway,
# a throwaway single-node Ceph cluster with radosgw on 127.0.0.1
# (tests/fleet/gateway.sh). Each tests/fleet/test_*.sh runs in its own bash
# with BUILD_DIR as $1; 77 means skipped.
#
#   tests/fleet/run.sh BUILD_DIR [NAME_FILTER]
#
# Skips (77), saying why, when not root (Ceph's daemons and the store are
# root's) or when radosgw, ceph-mon or ceph-osd are missing and cannot be
# installed (apt-get, as `make deps` does).
set -u
if [ $# -lt 1 ] || [ ! -d "$1" ]; then
	echo "usage: $0 BUILD_DIR [NAME_FILTER]" >&2
	exit 2
fi
build=$(cd "$1" && pwd)
filter=${2:-}
here=$(cd "$(dirname "$0")" && pwd)

if [ "$(id -u)" != 0 ]; then
	echo "  SKIP    fleet tests: need root (a Ceph cluster and a root-owned store)"
	exit 77
fi
missing=""
for p in radosgw ceph-mon ceph-osd curl jq python3; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "  DEPS    installing:$missing"
	if ! (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && \
	      apt-get install -y -qq --no-install-recommends $missing) >/dev/null 2>&1; then
		echo "  SKIP    fleet tests: cannot install$missing (no network or no apt)"
		exit 77
	fi
fi

pass=0 failed=0 skipped=0 failures=""
for t in "$here"/test_*.sh; do
	[ -e "$t" ] || continue
	name=$(basename "$t" .sh)
	[ -n "$filter" ] && [[ "$name" != *"$filter"* ]] && continue
	t0=$(date +%s%N)
	timeout -k 15 "${FLEET_TIMEOUT:-600}" bash "$t" "$build"
	rc=$?
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	dt=$((ms / 1000)).$(( (ms % 1000) / 100 ))
	case $rc in
	0) echo "  PASS    $name (${dt}s)"; pass=$((pass + 1)) ;;
	77) echo "  SKIP    $name"; skipped=$((skipped + 1)) ;;
	*) echo "  FAIL    $name (exit $rc, ${dt}s)"; failed=$((failed + 1)); failures="$failures $name" ;;
	esac
done
echo "  fleet: $pass passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ] || { echo "  failed:$failures"; exit 1; }
