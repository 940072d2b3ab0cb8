#!/bin/sh
# Every libFuzzer harness for longer than `make check` gives them: SECONDS
# each (default 300), or only the TARGETs named. New inputs accumulate in
# build/fuzz/corpus-TARGET, so runs build on each other.
# Usage: bench/fuzz.sh [SECONDS [TARGET...]]   (targets: see tests/fuzz/run.sh)
set -u
secs=${1:-300}
[ $# -gt 0 ] && shift
exec "$(dirname "$0")/../tests/fuzz/run.sh" -p "$secs" "$@"
