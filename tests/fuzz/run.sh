#!/bin/sh
# Build the elfcore libFuzzer harness and run it on tests/corpus for SECONDS.
# Usage (from anywhere): tests/fuzz/run.sh [SECONDS]   (default 60)
# Exit: 0 nothing found, 1 the fuzzer found a crash/leak/timeout (the input is
# in build/fuzz/), 2 usage or build error, 77 clang or libFuzzer missing
# (Debian: clang-14 libclang-rt-14-dev).
set -u
secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2;; esac
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$root/build/fuzz
CLANG=${CLANG:-}
if [ -z "$CLANG" ]; then
	for c in clang clang-19 clang-18 clang-17 clang-16 clang-15 clang-14; do
		if command -v "$c" >/dev/null 2>&1; then CLANG=$c; break; fi
	done
fi
if [ -z "$CLANG" ] || ! "$CLANG" --version >/dev/null 2>&1; then
	echo "fuzz: clang not found (Debian: clang-14 libclang-rt-14-dev); skipped" >&2
	exit 77
fi
mkdir -p "$out/corpus" || exit 2
FLAGS="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
# Is libFuzzer there at all?
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
	>"$out/probe.c"
if ! $CLANG $FLAGS -o "$out/probe" "$out/probe.c" >"$out/probe.log" 2>&1; then
	echo "fuzz: $CLANG cannot link libFuzzer (Debian: libclang-rt-14-dev); skipped" >&2
	exit 77
fi
echo "  FUZZ    building with $CLANG"
$CLANG $FLAGS -D_GNU_SOURCE -Wall -Wextra -I"$root/src" -o "$out/fuzz_elfcore" \
	"$root/tests/fuzz/fuzz_elfcore.c" "$root/src/core/elfcore.c" "$root/src/core/siginfo.c" || exit 2
$CLANG $FLAGS -D_GNU_SOURCE -Wall -Wextra -I"$root/src" -o "$out/fuzz_demangle" \
	"$root/tests/fuzz/fuzz_demangle.c" "$root/src/analysis/demangle.c" -liberty || exit 2
echo "  FUZZ    fuzz_elfcore for ${secs}s on tests/corpus"
# New inputs go to build/fuzz/corpus; tests/corpus is only read.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$out/fuzz_elfcore" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" "$root/tests/corpus" \
	>"$out/fuzz.log" 2>&1
rc=$?
grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$out/fuzz.log" | sed 's/^/  FUZZ    /'
if [ $rc -ne 0 ]; then
	echo "fuzz: the fuzzer stopped with status $rc; see $out/fuzz.log and $out/crash-* $out/leak-* $out/timeout-*" >&2
	grep -E 'ERROR|SUMMARY|runtime error' "$out/fuzz.log" | head -5 >&2
	exit 1
fi
echo "  FUZZ    fuzz_demangle for ${secs}s"
mkdir -p "$out/corpus-demangle" || exit 2
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$out/fuzz_demangle" -max_total_time="$secs" -max_len=4200 -timeout=10 -rss_limit_mb=2048 \
	-print_final_stats=1 -artifact_prefix="$out/demangle-" "$out/corpus-demangle" >"$out/fuzz-demangle.log" 2>&1 ||
	{ echo "fuzz: fuzz_demangle stopped; see $out/fuzz-demangle.log" >&2; exit 1; }
echo "  FUZZ    no crashes"
exit 0
