#!/bin/bash
# stop.sh: how long stopping mortemd takes right after a "@@" storm of 50 x 64
# MiB mixed (default pool), when the stop parks what is queued (ParkAfter=0)
# and when it finishes everything (ParkAfter=1h), and how long the next start
# takes to store what was parked. Every round checks that all 50 crashes end
# up stored whole.
#
#   bench/stop.sh ROUNDS BUILD_DIR      (as root)
#
# Needs the helpers that bench/daemon.sh built into $MORTEM_BENCH_DIR/md
# (crasher, h); crashbench.py takes the core_pattern lock and restores
# core_pattern around every storm. Prints one line per storm.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
D=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}/md
[ "$#" = 2 ] || { echo "usage: stop.sh ROUNDS BUILD_DIR" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "stop.sh: needs root" >&2; exit 1; }
[ -x "$D/crasher" ] || { echo "stop.sh: no $D/crasher: run bench/daemon.sh once first" >&2; exit 1; }
export MORTEM_BENCH_DIR=$D
B=$(cd "$2" && pwd)
CB="python3 $BENCH/crashbench.py"
RUN=$D/stop.r
STORE=$D/stop-store
MD=
cleanup() { [ -n "$MD" ] && { kill -TERM "$MD"; wait "$MD"; }; }
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
conf() { # PARK_AFTER
	printf "[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n[Daemon]\nSocketDirectory=%s\nParkAfter=%s\n" \
		"$STORE" "$RUN" "$1" >"$D/stop.conf"
}
start() {
	"$B/mortemd" -c "$D/stop.conf" 2>>"$D/stop.log" &
	MD=$!
	for _ in $(seq 300); do [ -S "$RUN/coredump.socket" ] && return; sleep 0.1; done
}
pending() { ls "$STORE/spool" 2>/dev/null | grep -c '\.pending$'; }
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
for r in $(seq "$1"); do
	for park in 0 1h; do
		rm -rf "$STORE" "$RUN"
		conf "$park"
		start
		$CB storm --label "stop-$park" --handler "@@$RUN/coredump.socket" --pipe-limit 2147483647 --expect 0 \
			--n 50 --size 64 --mode mixed --threads 4 --runs 1 --round "$r" --phase stop --lead 6 \
			--settle 1 --out "$D/stop.jsonl" >/dev/null || echo "stop.sh: storm failed" >&2
		queued=$(pending)
		t0=$(date +%s%N)
		kill -TERM "$MD"
		wait "$MD"
		MD=
		stop_ms=$(ms "$t0")
		parked=$(ls "$STORE/spool" | grep -c '\.parked$')
		bytes=$(du -sm "$STORE/spool" | cut -f1)
		resume_ms=-
		if [ "$parked" -gt 0 ]; then
			conf 10s
			t0=$(date +%s%N)
			start
			for _ in $(seq 1200); do [ "$(pending)" = 0 ] && break; sleep 0.1; done
			resume_ms=$(ms "$t0")
			kill -TERM "$MD"
			wait "$MD"
			MD=
		fi
		stored=$("$B/mortem" -c "$D/stop.conf" list --json | python3 -c '
import json, sys
print(sum(1 for c in json.load(sys.stdin) if c["core"]["status"] == "stored" and c["core"]["size"] == c["core"]["expected_size"]))')
		echo "round $r ParkAfter=$park: $queued pending at SIGTERM; stop $stop_ms ms; $parked parked ($bytes MiB in the spool); next start stored them in $resume_ms ms; $stored/50 stored whole"
	done
done
