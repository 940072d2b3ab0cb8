#!/bin/sh
# Minicore planning time for many one-page file mappings, now and at an older
# commit (default: before planning became O(n log n)).
# Usage: bench/minicore.sh [MAPPINGS] [OLD_COMMIT]   (defaults 64000, 56ec39d)
set -eu
n=${1:-64000}
old=${2:-56ec39d}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/build/bench
mkdir -p "$out/old/core"
CC=${CC:-cc}
FLAGS="-std=gnu11 -O2 -D_GNU_SOURCE -I$root/tests/unit"
$CC $FLAGS -I"$root/src" -o "$out/minicore_plan" "$root/bench/minicore_plan.c" \
	"$root/src/core/minicore.c" "$root/src/core/elfcore.c" "$root/src/base/util.c"
# the old minicore.c with today's headers for everything else (same API)
git -C "$root" show "$old:src/core/minicore.c" >"$out/old/core/minicore.c"
git -C "$root" show "$old:src/core/minicore.h" >"$out/old/core/minicore.h"
$CC $FLAGS -I"$out/old" -I"$root/src" -o "$out/minicore_plan_old" "$root/bench/minicore_plan.c" \
	"$out/old/core/minicore.c" "$root/src/core/elfcore.c" "$root/src/base/util.c"
printf 'old (%s): ' "$old"; "$out/minicore_plan_old" "$n" 3
printf 'new:           '; "$out/minicore_plan" "$n" 3
