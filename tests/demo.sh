#!/bin/bash
# `make demo`: point the kernel at the freshly built collector for a moment,
# crash a small 3-thread program, show what mortem recorded, put core_pattern back.
# The demo store stays in ./demo-store so that you can look around afterwards.
#
#   tests/demo.sh BUILD_DIR
set -eu
if [ $# -lt 1 ] || [ ! -x "$1/mortem" ] || [ ! -x "$1/mortem-collect" ]; then
	echo "usage: $0 BUILD_DIR (with mortem, mortem-collect and crashers/crasher built)" >&2
	exit 2
fi
if [ "$(id -u)" != 0 ]; then
	echo "demo: needs root, to set kernel.core_pattern for a moment (try: sudo make demo)" >&2
	exit 1
fi
b=${1%/}
. "$(dirname "$0")/e2e/lib.sh"
e2e_setup "$b"   # lock, save core_pattern (restored on any exit), private collector copy

# The demo's own store and config, kept after the demo.
DEMO_STORE=$PWD/demo-store
mkdir -p "$DEMO_STORE"
E2E_STORE=$DEMO_STORE
E2E_CONF=$DEMO_STORE/mortem.conf
printf '[Store]\nPath=%s\n' "$DEMO_STORE" > "$E2E_CONF"
export MORTEM_CONFIG=$E2E_CONF
MORTEM="$b/mortem -c $E2E_CONF"
conf_shown=demo-store/mortem.conf

show() { echo; echo "\$ $*" | sed "s|$E2E_CONF|$conf_shown|g"; "$@"; }

echo "mortem demo"
echo "  store:        $DEMO_STORE (kept afterwards)"
echo "  core_pattern: was '$E2E_SAVED_CP', now the collector just built (for this demo only)"
e2e_install

echo
echo "\$ $b/crashers/crasher -t 2 segv      # main thread + 2 parked threads, then a NULL write"
read -r pid st < <(e2e_crash_pid "$CRASHER" -t 2 segv)
if [ "$st" = 139 ]; then
	echo "Segmentation fault (core dumped)   [pid $pid]"
else
	echo "demo: the crasher exited with status $st instead of dying of SIGSEGV" >&2
	exit 1
fi
e2e_wait_pid "$pid"

show "$b/mortem" -c "$E2E_CONF" list
show "$b/mortem" -c "$E2E_CONF" info "$pid"

e2e_restore
echo
echo "core_pattern restored to '$(cat /proc/sys/kernel/core_pattern)'."
echo "Look again any time:"
echo "  $b/mortem -c $conf_shown list"
echo "  $b/mortem -c $conf_shown info --json $pid"
echo "  $b/mortem -c $conf_shown dump -o core.$pid $pid     # the original core"
echo "Remove demo-store/ when you are done with it."
