#!/bin/bash
# storm-profile.sh: where the CPU time of a "@@" storm goes. One storm of 50 x
# 64 MiB mixed crashes on the socket floor (bench/sockdrain.c), one on the
# same floor keeping the bytes in a 2 GiB pool (sockkeep), and one on each
# mortemd build given, each under `perf record -a` (software clock, 499 Hz:
# these VMs have no hardware counters), then the CPU seconds of each process
# or thread name (crasher = the kernel writing the cores in the crashing
# processes' context; mortemd, mortemd-read, mortemd-spill, mortemd-work; the
# floor's sockdrain) between the first and the last sample of a crasher.
#
#   bench/storm-profile.sh BUILD_DIR...      (as root)
#
# Needs perf (Debian's linux-perf) and the helpers that bench/daemon.sh built
# into $MORTEM_BENCH_DIR/md (default /var/tmp/mortem-bench/md: crasher,
# sockdrain). crashbench.py takes the core_pattern lock and restores
# core_pattern around every storm. Output: a table per storm on stdout; the
# perf data in $MORTEM_BENCH_DIR/md/profile-*.data.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
D=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}/md
[ "$#" -ge 1 ] || { echo "usage: storm-profile.sh BUILD_DIR..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "storm-profile: needs root" >&2; exit 1; }
command -v perf > /dev/null || { echo "storm-profile: no perf (apt-get install linux-perf)" >&2; exit 1; }
for f in crasher sockdrain; do
	[ -x "$D/$f" ] || { echo "storm-profile: no $D/$f: run bench/daemon.sh once first" >&2; exit 1; }
done
export MORTEM_BENCH_DIR=$D
CB="python3 $BENCH/crashbench.py"
CONF=$D/profile.conf
RUN=$D/profile.r
printf "[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n[Daemon]\nSocketDirectory=%s\n" "$D/store" "$RUN" >"$CONF"
PID=
cleanup() { [ -n "$PID" ] && { kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }; pkill -x sockdrain; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

profile() { # LABEL HANDLER: one storm under perf, then the table
	local data=$D/profile-$1.data
	# perf starts 4 s into the storm's 6 s lead and records 8 s: the storm and after
	(sleep 4; perf record -a -F 499 -o "$data" -- sleep 8 > /dev/null 2>&1) &
	local pp=$!
	$CB storm --label "$1" --handler "$2" --pipe-limit 2147483647 --expect 0 --store "$D/store" --clean \
		--n 50 --size 64 --mode mixed --threads 4 --runs 1 --round 1 --phase profile --lead 6 \
		--settle 30 --out "$D/profile.jsonl" > /dev/null || echo "storm-profile: storm $1 failed" >&2
	wait "$pp"
	perf script -i "$data" -F comm,time 2>/dev/null | python3 -c '
import collections, sys
rows = []
for l in sys.stdin:
    comm, _, t = l.rstrip().rpartition(" ")
    rows.append((comm.strip(), float(t.rstrip(":"))))
crash = [t for c, t in rows if c == "crasher"]
if not crash:
    sys.exit("no crasher samples: the storm fell outside the recording")
a, b = min(crash), max(crash)
n = collections.Counter(c for c, t in rows if a <= t <= b)
print("%s: storm window %.2f s (first to last crasher sample)" % (sys.argv[1], b - a))
for c, k in n.most_common(8):
    print("  %-16s %6.2f CPU-s" % (c, k / 499))' "$1"
}

mkdir -p "$D/sf"
"$D/sockdrain" "$D/sf/core.sock" 8>&- &
PID=$!
sleep 1
profile sockfloor "@$D/sf/core.sock"
kill -TERM "$PID"; pkill -x sockdrain; wait "$PID" 2>/dev/null
# the same floor keeping the bytes in a 2 GiB pool, as mortemd's default
"$D/sockdrain" "$D/sf/core.sock" "$(nproc)" 2048 8>&- &
PID=$!
sleep 3
profile sockkeep "@$D/sf/core.sock"
kill -TERM "$PID"; pkill -x sockdrain; wait "$PID" 2>/dev/null
PID=
for b in "$@"; do
	rm -rf "$RUN"
	"$b/mortemd" -c "$CONF" 2>>"$D/profile.log" &
	PID=$!
	for _ in $(seq 600); do [ -S "$RUN/coredump.socket" ] && break; sleep 0.1; done
	profile "$(basename "$(dirname "$b")")" "@@$RUN/coredump.socket"
	# until every crash of the storm is stored (no note left in the spool)
	for _ in $(seq 600); do
		ls "$D/store/spool" 2>/dev/null | grep -q '\.pending$' || break
		sleep 0.5
	done
	kill -TERM "$PID"
	wait "$PID"
	PID=
done
