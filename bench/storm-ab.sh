#!/bin/bash
# storm-ab.sh: compare mortemd builds on the "@@" storm (50 x 64 MiB mixed,
# default PoolSize), with the pipe floor (drain) first in every round, each
# build started fresh and stopped once it has stored everything. For trying a
# change to mortemd's reading: the storms of bench/daemon.sh vary from run to
# run by more than most changes, so builds are compared within one round.
#
#   bench/storm-ab.sh ROUNDS BUILD_DIR...      (as root)
#
# Needs the helpers that bench/daemon.sh built into $MORTEM_BENCH_DIR/md
# (default /var/tmp/mortem-bench/md: crasher, h, drain; with sockdrain, each
# round also has "sockkeep": a bare listener that keeps the bytes in a 2 GiB
# pool, the floor of any daemon that keeps them). crashbench.py takes
# the core_pattern lock and restores core_pattern around every storm. Results:
# $MORTEM_BENCH_DIR/md/storm-ab.jsonl, one line per storm (label = the build
# directory's name), and a summary of all released / floor per round.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
D=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}/md
[ "$#" -ge 2 ] || { echo "usage: storm-ab.sh ROUNDS BUILD_DIR..." >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "storm-ab: needs root" >&2; exit 1; }
for f in crasher h drain; do
	[ -x "$D/$f" ] || { echo "storm-ab: no $D/$f: run bench/daemon.sh once first" >&2; exit 1; }
done
export MORTEM_BENCH_DIR=$D
CB="python3 $BENCH/crashbench.py"
OUT=$D/storm-ab.jsonl
CONF=$D/storm-ab.conf
RUN=$D/storm-ab.r
printf "[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n[Daemon]\nSocketDirectory=%s\n" "$D/store" "$RUN" >"$CONF"
MD=
cleanup() { [ -n "$MD" ] && { kill -TERM "$MD"; wait "$MD"; }; pkill -x sockdrain; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
rounds=$1
shift
: >"$OUT"
storm() { # LABEL HANDLER PIPE_LIMIT EXPECT ROUND
	$CB storm --label "$1" --handler "$2" --pipe-limit "$3" --expect "$4" --store "$D/store" --clean \
		--n 50 --size 64 --mode mixed --threads 4 --runs 1 --round "$5" --phase storm-ab --lead 6 \
		--settle 30 --out "$OUT" >/dev/null || echo "storm-ab: storm $1 round $5 failed" >&2
}
for r in $(seq "$rounds"); do
	storm drain "|$D/h d $D/drain 1048576" 0 1 "$r"
	if [ -x "$D/sockdrain" ]; then
		# the floor of a daemon that keeps the bytes (bench/sockdrain.c, KEEP_MIB
		# = mortemd's default pool): "@", one poll loop per CPU, no bookkeeping
		mkdir -p "$D/sf"
		"$D/sockdrain" "$D/sf/core.sock" "$(nproc)" 2048 8>&- &
		KP=$!
		for _ in $(seq 100); do [ -S "$D/sf/core.sock" ] && break; sleep 0.1; done
		sleep 3 # the pool faulted in
		storm sockkeep "@$D/sf/core.sock" 2147483647 0 "$r"
		kill -TERM "$KP"; pkill -x sockdrain; wait "$KP" 2>/dev/null
	fi
	for b in "$@"; do
		rm -rf "$RUN"
		"$b/mortemd" -c "$CONF" 2>>"$D/storm-ab.log" &
		MD=$!
		for _ in $(seq 300); do [ -S "$RUN/coredump.socket" ] && break; sleep 0.1; done
		storm "$(basename "$(dirname "$b")")/$(basename "$b")" "@@$RUN/coredump.socket" 2147483647 0 "$r"
		# until every crash of the round is stored (no note left in the spool)
		for _ in $(seq 600); do
			ls "$D/store/spool" 2>/dev/null | grep -q '\.pending$' || break
			sleep 0.5
		done
		kill -TERM "$MD"
		wait "$MD"
		MD=
	done
done
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
floor = {r["round"]: r["all_reaped_ms"] for r in rows if r["label"] == "drain"}
for r in rows:
    f = floor.get(r["round"])
    print(f'round {r["round"]} {r["label"]:>12}: all released {r["all_reaped_ms"] / 1000:.2f} s'
          + (f' = {r["all_reaped_ms"] / f:.2f}x the floor' if f else ''))
PY
