#!/bin/sh
# Build the libFuzzer harnesses (tests/fuzz/fuzz_*.c) and run each in turn.
# Usage (from anywhere): tests/fuzz/run.sh [-p] [SECONDS [TARGET...]]
#   SECONDS   fuzzing time shared by the targets (default 60: `make check`
#             keeps the total there); with -p, SECONDS for each target
#   TARGET    elfcore stream config record spool handoff cgroup demangle
#             status limits maps mountinfo fdinfo (default: all)
# The library (src/*/*.c but the programs' mains) is built once with
# -fsanitize=fuzzer-no-link,address,undefined into build/fuzz/libmortem.a and
# each harness links what it needs from it. Seeds: tests/corpus (the cores) for
# elfcore and stream, tests/corpus/fuzz-TARGET for the others; new inputs go
# to build/fuzz/corpus-TARGET, tests/corpus is only read.
# Exit: 0 nothing found, 1 a fuzzer found a crash/leak/timeout (the input is
# in build/fuzz/TARGET-*), 2 usage or build error, 77 clang or libFuzzer
# missing (Debian: clang-14 libclang-rt-14-dev).
set -u
per=0
if [ "${1:-}" = "-p" ]; then per=1; shift; fi
secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "usage: $0 [-p] [SECONDS [TARGET...]]" >&2; exit 2;; esac
[ $# -gt 0 ] && shift
ALL="elfcore stream config record spool handoff cgroup demangle status limits maps mountinfo fdinfo"
targets=${*:-$ALL}
for t in $targets; do
	case " $ALL " in *" $t "*) ;; *) echo "fuzz: unknown target '$t' (have: $ALL)" >&2; exit 2;; esac
done
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
mkdir -p "$out/obj" || exit 2
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
BASE="-std=gnu11 -g -O1 -fno-omit-frame-pointer $SAN"
FLAGS="$BASE -fsanitize=fuzzer"
# Is libFuzzer there at all?
printf '#include <stdint.h>\n#include <stddef.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' \
	>"$out/probe.c"
if ! $CLANG $FLAGS -o "$out/probe" "$out/probe.c" >"$out/probe.log" 2>&1; then
	echo "fuzz: $CLANG cannot link libFuzzer (Debian: libclang-rt-14-dev); skipped" >&2
	exit 77
fi
PKGS="libelf libdw libzstd libsystemd sqlite3 json-c libseccomp libcurl"
PKG_CFLAGS=$(pkg-config --cflags $PKGS) || exit 2
PKG_LIBS="$(pkg-config --libs $PKGS) -liberty" || exit 2
DEFS="-D_GNU_SOURCE -DSYSCONFDIR=\"/etc\" -DLOCALSTATEDIR=\"/var\" -DLIBEXECDIR=\"/usr/local/libexec/mortem\""
LIBFLAGS="$BASE -fsanitize=fuzzer-no-link $DEFS -I$root/src $PKG_CFLAGS"

# The library, rebuilt when a source or any header is newer than the archive.
lib=$out/libmortem.a
if [ ! -f "$lib" ] || [ -n "$(find "$root/src" "$root/tests/fuzz/run.sh" -newer "$lib" -name '*.[ch]' -o -newer "$lib" -name run.sh | head -1)" ]; then
	echo "  FUZZ    building the library with $CLANG"
	rm -f "$lib"
	srcs=$(cd "$root" && ls src/*/*.c | grep -v -e '^src/collect/mortem-collect\.c$' -e '^src/cli/mortem\.c$' -e '^src/daemon/mortemd\.c$')
	# two at a time: the machine is shared
	printf '%s\n' $srcs | CLANG=$CLANG LIBFLAGS=$LIBFLAGS root=$root out=$out xargs -P2 -I{} sh -c '
		o="$out/obj/$(echo {} | sed "s|^src/||; s|/|_|; s|\.c$|.o|")"
		$CLANG $LIBFLAGS -c -o "$o" "$root/{}" || { echo "fuzz: cannot build {}" >&2; exit 255; }' || exit 2
	ar rcs "$lib" "$out"/obj/*.o || exit 2
fi

ntargets=$(echo $targets | wc -w)
if [ $per = 1 ]; then each=$secs; else each=$((secs / ntargets)); [ $each -ge 1 ] || each=1; fi
rc_all=0
for t in $targets; do
	bin=$out/fuzz_$t
	$CLANG $FLAGS $DEFS -Wall -Wextra -I"$root/src" -o "$bin" "$root/tests/fuzz/fuzz_$t.c" "$lib" $PKG_LIBS || exit 2
	case $t in
	elfcore|stream) seeds=$root/tests/corpus; maxlen=262144;;
	*) seeds=$root/tests/corpus/fuzz-$t; maxlen=65536;;
	esac
	mkdir -p "$out/corpus-$t"
	echo "  FUZZ    fuzz_$t for ${each}s"
	# seeds: only the top of tests/corpus for the cores (libFuzzer reads
	# directories recursively, and fuzz-*/ are other targets' seeds)
	if [ "$seeds" = "$root/tests/corpus" ]; then
		mkdir -p "$out/seeds-core" && find "$seeds" -maxdepth 1 -type f \( -name 'ok-*' -o -name 'bad-*' \) -exec cp -p {} "$out/seeds-core/" \;
		seeds=$out/seeds-core
	fi
	# the harnesses' files (configs, records, a spool) go to a directory of ours
	rm -rf "$out/tmp" && mkdir -p "$out/tmp"
	TMPDIR=$out/tmp ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$each" -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/$t-" "$out/corpus-$t" "$seeds" \
		>"$out/fuzz_$t.log" 2>&1
	rc=$?
	grep -E '^stat::(number_of_executed_units|peak_rss_mb|new_units_added)' "$out/fuzz_$t.log" | sed 's/^/  FUZZ      /'
	if [ $rc -ne 0 ]; then
		echo "fuzz: fuzz_$t stopped with status $rc; see $out/fuzz_$t.log and $out/$t-*" >&2
		grep -E 'ERROR|SUMMARY|runtime error' "$out/fuzz_$t.log" | head -5 >&2
		rc_all=1
	fi
done
[ $rc_all = 0 ] && echo "  FUZZ    no crashes"
exit $rc_all
