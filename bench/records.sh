#!/bin/bash
# bench/records.sh BUILD_DIR [N...] — the store at scale: synthetic stores of N
# records (default 1000 10000 100000) built through the real writer (record
# file published as the collector does, then index_insert), and for each:
# index build time, reindex time (index_rebuild from the records), and the
# time and peak RSS (/usr/bin/time -v) of a streamed full listing as JSON
# (index_open_ro + index_query_each) and of one lookup by id. Records only, no
# cores. Prints a Markdown table; BENCHMARKS.md's "Listing at scale" section
# has the numbers and this command. No root, no core_pattern.
# Work directory: $MORTEM_BENCH_DIR (default /dev/shm/mortem-bench-records:
# the writer fsyncs each record, about 8 ms a record on this machine's disk, so
# 100,000 records on disk take a quarter of an hour to build; the listing and
# lookup read the same bytes either way), removed at the end unless BENCH_KEEP=1.
set -eu
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
BUILD=$(cd "${1:?usage: bench/records.sh BUILD_DIR [N...]}" && pwd)
shift
SIZES=${*:-1000 10000 100000}
W=${MORTEM_BENCH_DIR:-/dev/shm/mortem-bench-records}
BIN=$BUILD/bench/records

[ -x /usr/bin/time ] || { echo "records.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
make -C "$TOP" -s B="$BUILD" "$BUILD/libmortem.a" >/dev/null
mkdir -p "$BUILD/bench"
# shellcheck disable=SC2046
cc -std=gnu11 -O2 -D_GNU_SOURCE -I"$TOP/src" $(pkg-config --cflags sqlite3 json-c) -o "$BIN" \
	"$BENCH/records.c" "$BUILD/libmortem.a" \
	$(pkg-config --libs libelf libdw libzstd libsystemd sqlite3 json-c libseccomp)
rm -rf "$W"
mkdir -p "$W"
trap '[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"' EXIT

# one run: "WALL_SECONDS KIB STEP_SECONDS": the whole process (time -v, 10 ms
# resolution), its peak RSS, and the step itself as the program measured it
timed() {
	local log=$W/time.log
	/usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$W/step.log" || { cat "$W/step.log" "$log" >&2; exit 1; }
	awk -F': ' -v step="$(awk '{ print $2; exit }' "$W/step.log")" \
		'/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
		/Maximum resident set size/ { k = $2 } END { printf "%.3f %d %s\n", s, k, step }' "$log"
}

echo "| records | index build (s) | reindex (s) | list: wall (s) | list: peak RSS (MiB) | lookup: wall (s) | lookup: step (ms) | lookup: peak RSS (MiB) | index size (MiB) |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for n in $SIZES; do
	root=$W/store-$n
	read -r tb _ _ < <(timed "$BIN" build "$root" "$n")
	read -r tr _ _ < <(timed "$BIN" reindex "$root")
	read -r tl kl _ < <(timed "$BIN" list "$root")
	rows=$(grep -c '"id"' <("$BIN" list "$root" 2>/dev/null))
	[ "$rows" = "$n" ] || { echo "records.sh: listed $rows of $n" >&2; exit 1; }
	id=$("$BIN" id "$root" $((n / 2)))
	read -r tk kk sk < <(timed "$BIN" lookup "$root" "$id")
	size=$(stat -c %s "$root/index.sqlite")
	awk -v n="$n" -v tb="$tb" -v tr="$tr" -v tl="$tl" -v kl="$kl" -v tk="$tk" -v sk="$sk" -v kk="$kk" -v sz="$size" \
		'BEGIN { printf "| %d | %.2f | %.2f | %.2f | %.1f | %.2f | %.3f | %.1f | %.1f |\n", n, tb, tr, tl, kl / 1024, tk, sk * 1000, kk / 1024, sz / 1048576 }'
	rm -rf "$root"
done
