#!/bin/bash
# listed.sh: how soon each crash of a storm is listed, and what a crash costs.
#
#   bench/listed.sh ROUNDS SPEC...      (as root)
#
# SPEC is BUILD_DIR, optionally followed by ",KEY=VALUE" settings appended to
# the mortemd config's sections as [Policy]/[Store]/[Daemon] KEY=VALUE lines
# ("build,MaxConcurrent=3"). For each round and each SPEC: mortemd from
# BUILD_DIR started fresh, one "@@" storm of 50 x 64 MiB mixed crashing at the
# same instant (BENCH_STORM_N, BENCH_STORM_SIZE), polled with `mortem list
# --json` every 0.1 s: per crash, its crash -> the first poll showing it
# listed (not pending), the CPU time of mortemd and its workers from the
# storm to the last worker's end (not the pool's faulting-in at start), cores kept;
# then mortemd is stopped once nothing is pending. crashbench.py takes the
# core_pattern lock and restores core_pattern around every storm; nothing of
# another's is stopped (only the mortemd this script started, by its pid).
# Results: $MORTEM_BENCH_DIR/listed/listed.jsonl and a summary on stdout.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
D=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}/listed
[ "$#" -ge 2 ] || { echo "usage: listed.sh ROUNDS SPEC..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "listed: needs root" >&2; exit 1; }
mkdir -p "$D" && chmod 755 "$D" || exit 1
cc -O1 -g -fno-omit-frame-pointer -Wall -Wno-infinite-recursion -pthread -o "$D/crasher" "$BENCH/crasher.c" &&
cc -O2 -Wall -DHWRAP_LOG="\"$D/hwrap.log\"" -o "$D/h" "$BENCH/hwrap.c" || exit 1
export MORTEM_BENCH_DIR=$D
CB="python3 $BENCH/crashbench.py"
OUT=$D/listed.jsonl
RUN=$D/r
N=${BENCH_STORM_N:-50} SZ=${BENCH_STORM_SIZE:-64}
MD=
cleanup() { [ -n "$MD" ] && { kill -TERM "$MD"; wait "$MD"; }; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
rounds=$1
shift
: >"$OUT"
: >"$OUT.cpu"
i=0
for r in $(seq "$rounds"); do
	i=0
	for spec in "$@"; do
		i=$((i + 1))
		b=${spec%%,*}
		sets=
		[ "$spec" != "$b" ] && sets=${spec#*,}
		mkdir -p "$D/b$i"
		for f in mortemd mortem; do cp "$b/$f" "$D/b$i/$f.new" && mv -f "$D/b$i/$f.new" "$D/b$i/$f" || exit 1; done
		conf=$D/b$i/conf
		{
			printf "[Store]\nPath=%s\n" "$D/store"
			for kv in ${sets//,/ }; do case ${kv%%=*} in
				CompressLevel|RecompressLevel|RecompressInline|CompressThreads) echo "$kv" ;; esac; done
			printf "[Policy]\nKeepPerSignature=0\nRateLimit=0\n"
			for kv in ${sets//,/ }; do case ${kv%%=*} in MaxConcurrent) echo "$kv" ;; esac; done
			printf "[Daemon]\nSocketDirectory=%s\n" "$RUN"
			for kv in ${sets//,/ }; do case ${kv%%=*} in PoolSize|ParkAfter) echo "$kv" ;; esac; done
		} >"$conf"
		rm -rf "$RUN" "$D/store"
		"$D/b$i/mortemd" -c "$conf" 2>>"$D/mortemd.log" &
		MD=$!
		for _ in $(seq 300); do [ -S "$RUN/coredump.socket" ] && break; sleep 0.1; done
		label="$(basename "$(dirname "$b")")/$(basename "$b")${sets:+ $sets}"
		sleep 2 # the pool faulted in: its CPU time is not the storm's
		cpu0=$(awk '{ sub(/.*\) /, ""); print ($12 + $13 + $14 + $15) * 10 }' "/proc/$MD/stat")
		$CB storm --label "$label" --handler "@@$RUN/coredump.socket" --pipe-limit 2147483647 --expect 0 \
			--store "$D/store" --n "$N" --size "$SZ" --mode mixed --threads 4 --runs 1 --round "$r" \
			--phase listed --lead 6 --settle 30 --poll 0.1 --list-cmd "$D/b$i/mortem -c $conf list --json" \
			--daemon-pid "$MD" --daemon-sample-ms 250 --out "$OUT" >/dev/null ||
			echo "listed: storm $label round $r failed" >&2
		for _ in $(seq 600); do
			ls "$D/store/spool" 2>/dev/null | grep -q '\.pending$' || break
			sleep 0.5
		done
		# until no worker is left (a recompression may follow the listing),
		# then mortemd's CPU time with its reaped workers' (utime stime
		# cutime cstime, in ticks)
		for _ in $(seq 600); do [ -z "$(pgrep -P "$MD")" ] && break; sleep 0.5; done
		cpu=$(awk '{ sub(/.*\) /, ""); print ($12 + $13 + $14 + $15) * 10 }' "/proc/$MD/stat")
		printf '{"cpu_round": %d, "label": "%s", "md_cpu_ms": %s}\n' "$r" "$label" "$((cpu - cpu0))" >>"$OUT.cpu"
		kill -TERM "$MD"
		wait "$MD"
		MD=
	done
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
cpus = {(c["cpu_round"], c["label"]): c["md_cpu_ms"] for c in map(json.loads, open(sys.argv[1] + ".cpu"))}
for r in rows:
    r["md_cpu_ms"] = cpus.get((r["round"], r["label"]))
print("| round | mortemd | all released s | listed per crash, median / max s | listed | full cores kept | levels | mortemd+workers CPU s |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    cpu = r.get("md_cpu_ms")
    print("| %d | %s | %.2f | %s / %s | %s of %d | %s | %s | %s |" % (
        r["round"], r["label"], r["all_reaped_ms"] / 1e3,
        "%.2f" % (r["listed_each_ms_median"] / 1e3) if r.get("listed_each_ms_median") else "-",
        "%.2f" % (r["listed_each_ms_max"] / 1e3) if r.get("listed_each_ms_max") else "-",
        r.get("listed_each_n", 0), r["n"], r.get("n_ours_whole"), r.get("core_levels"),
        "%.1f" % (cpu / 1e3) if cpu is not None else "-"))
PY
