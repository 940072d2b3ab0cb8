#!/bin/bash
# bench/run.sh BUILD_DIR [quick|full|storm|daemon] — crash-handler benchmark:
# mortem-collect against the floor (drain), zstd and systemd-coredump on identical
# crashes, in one run; writes BENCHMARKS.md at the top of the tree. See bench/README.md.
# storm: only the crash storm (50 x 64 MiB at the same instant: drain, mortem with
# the bench config, mortem with the default [Policy], zstd -1; BENCH_STORM_RUNS
# rounds, default 2); it replaces the "Crash storm" section of BENCHMARKS.md and
# leaves the rest of the file alone.
# daemon: mortemd (bench/daemon.sh): held time of a 1 GiB core in socket and
# hand-off mode, storms of 50 x 64 MiB with the default pool and PoolSize=4G,
# mortemd's memory; it replaces the "mortemd" section of BENCHMARKS.md.
#
# Needs root (it sets kernel.core_pattern). Each configuration takes the lock of
# tests/e2e/lib.sh while it owns core_pattern and restores core_pattern and
# core_pipe_limit afterwards, so tests may run in between; the trap below puts
# them back if anything of ours is still installed when this script exits.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
BUILD=${1:?usage: bench/run.sh BUILD_DIR [quick|full|storm|daemon]}
WHAT=${2:-quick}
BUILD=$(cd "$BUILD" && pwd) || exit 2
case $WHAT in quick|full|storm|daemon) ;; *) echo "usage: bench/run.sh BUILD_DIR [quick|full|storm|daemon]" >&2; exit 2 ;; esac
CMDLINE="bench/run.sh $1 $WHAT"
# daemon: a script of its own (its own lock handling, trap and work directory)
[ "$WHAT" = daemon ] && BENCH_CMDLINE=$CMDLINE exec "$BENCH/daemon.sh" "$1"
# The tree the collector was built from, as of now (others may commit during the run).
REV=${BENCH_REV:-$(cd "$TOP" && git describe --always --dirty 2>/dev/null || echo unknown)}  # BENCH_REV: label a build made elsewhere

W=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}   # short: core_pattern < 128 chars
SDC=${SDC:-/var/tmp/sdc/sdc}
SDC_STORE=/var/lib/systemd/coredump
LOCK=/run/lock/mortem-core-pattern.lock
CP=/proc/sys/kernel/core_pattern
CPL=/proc/sys/kernel/core_pipe_limit
export MORTEM_BENCH_DIR=$W

[ "$(id -u)" = 0 ] || { echo "bench: needs root (kernel.core_pattern)" >&2; exit 1; }
[ -w "$CP" ] || { echo "bench: $CP is not writable here" >&2; exit 1; }
for f in mortem-collect mortem; do
	[ -x "$BUILD/$f" ] || { echo "bench: $BUILD/$f missing: run make first" >&2; exit 1; }
done
for t in cc python3 zstd flock; do
	command -v $t >/dev/null || { echo "bench: $t not found" >&2; exit 1; }
done

# ---- kernel settings: saved once (under the lock), put back by the trap ------
exec 8>"$LOCK"
flock -w 900 8 || { echo "bench: could not take $LOCK" >&2; exit 1; }
SAVED_CP=$(cat "$CP"); SAVED_CPL=$(cat "$CPL")
flock -u 8
case $SAVED_CP in *"$W/"*) SAVED_CP=core; SAVED_CPL=0 ;; esac  # left over from a killed run
SD_STARTED=
cleanup() {
	if grep -q "$W/" "$CP" 2>/dev/null; then
		flock -w 60 8
		if grep -q "$W/" "$CP"; then
			printf '%s\n' "$SAVED_CP" >"$CP" || echo "bench: RESTORE OF core_pattern FAILED" >&2
			printf '%s\n' "$SAVED_CPL" >"$CPL" || echo "bench: RESTORE OF core_pipe_limit FAILED" >&2
		fi
		flock -u 8
	fi
	[ -n "$SD_STARTED" ] && "$BENCH/sd-daemons.sh" stop
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- 1. helpers, 2. private collector and config ------------------------------
mkdir -p "$W" "$W/z" "$W/store"
chmod 755 "$W"
echo "== building helpers into $W"
cc -O1 -g -fno-omit-frame-pointer -Wall -Wno-infinite-recursion -pthread -o "$W/crasher" "$BENCH/crasher.c" &&
cc -O2 -Wall -DHWRAP_LOG="\"$W/hwrap.log\"" -o "$W/h" "$BENCH/hwrap.c" &&
cc -O2 -Wall -DDRAIN_LOG="\"$W/drain.bytes\"" -o "$W/drain" "$BENCH/drain.c" || exit 1
# A private copy: the kernel must never point into a build tree.
cp "$BUILD/mortem-collect" "$W/mc.new" && mv -f "$W/mc.new" "$W/mc" || exit 1
STORE=$W/store
# Every config below also says [Daemon] SocketDirectory=$W/no-mortemd, where no
# mortemd listens: "mortem" here is the collector doing the whole job, even when
# a mortemd runs on the machine (its default /run/mortem would take a hand-off).
# bench/daemon.sh measures mortemd.
ND="[Daemon]\nSocketDirectory=$W/no-mortemd\n"
# c: the defaults (CompressLevel=-1 inline, RecompressLevel=3 after release, CompressThreads=1)
printf '[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n%b' "$STORE" "$ND" >"$W/c"
printf '[Store]\nPath=%s\nCompressThreads=0\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n%b' "$STORE" "$ND" >"$W/c0"   # variant: no zstd worker
printf '[Store]\nPath=%s\nCompressLevel=1\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n%b' "$STORE" "$ND" >"$W/c1"     # variant: level 1 inline
printf '[Store]\nPath=%s\nCompressLevel=1\nCompressThreads=2\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n%b' "$STORE" "$ND" >"$W/c2"  # variant: level 1, 2 workers
printf '[Store]\nPath=%s\n%b' "$STORE" "$ND" >"$W/cd"   # the storm's variant: the default [Policy] (retention limits on)

declare -A H PL EX ST MATCH LC SX
H[drain]="|$W/h d $W/drain 1048576"; PL[drain]=0
H[zstd-1]="|$W/h z1 /usr/bin/zstd -1 -T0 -q -o $W/z/core.%P.zst"; PL[zstd-1]=0; ST[zstd-1]=$W/z
H[zstd-3]="|$W/h z3 /usr/bin/zstd -3 -T0 -q -o $W/z/core.%P.zst"; PL[zstd-3]=0; ST[zstd-3]=$W/z
for v in mortem:c mortem-t0:c0 mortem-l1:c1 mortem-l1t2:c2 mortem-default:cd; do
	l=${v%%:*}; c=${v#*:}
	H[$l]="|$W/h m $W/mc -c $W/$c %P %u %g %s %t %c %h %d %F"; PL[$l]=2147483647; ST[$l]=$STORE
	LC[$l]="$BUILD/mortem -c $W/$c list --json"; SX[$l]=$W/mc
done
SX[drain]=$W/drain; SX[zstd-1]=/usr/bin/zstd; SX[zstd-3]=/usr/bin/zstd
H[systemd-coredump]="|$W/h sdk $SDC %P %u %g %s %t 9223372036854775808 %h %d"
PL[systemd-coredump]=16; EX[systemd-coredump]=2; ST[systemd-coredump]=$SDC_STORE
MATCH[systemd-coredump]='core.crasher.*'

# ---- systemd-coredump (unpacked beside the system, never installed) ----------
HAVE_SDC=
if [ "$WHAT" = storm ]; then
	:   # systemd-coredump is not part of the storm mode
elif [ -x "$SDC" ] && command -v systemd-socket-activate >/dev/null; then
	if "$BENCH/sd-daemons.sh" start 8>&-; then SD_STARTED=1; HAVE_SDC=1; fi
else
	echo "systemd-coredump: not set up, skipped. To set it up (see bench/README.md):"
	echo "  cd /tmp && apt-get download systemd-coredump && mkdir -p /var/tmp/sdc &&"
	echo "  dpkg-deb -x systemd-coredump_*.deb /var/tmp/sdc/root && ln -sf root/lib/systemd/systemd-coredump /var/tmp/sdc/sdc"
	echo "  (do not apt-get install it: that rewrites kernel.core_pattern)"
fi

OUT=$W/results-$WHAT.jsonl
: >"$OUT"
CB="python3 $BENCH/crashbench.py"
run() { # label size runs
	local l=$1 sz=$2 n=$3
	echo "== $l: $sz MiB mixed x$n"
	$CB run --label "$l" --handler "${H[$l]}" --pipe-limit "${PL[$l]}" --expect "${EX[$l]:-1}" \
		${ST[$l]:+--store "${ST[$l]}"} ${MATCH[$l]:+--match "${MATCH[$l]}"} --clean \
		${LC[$l]:+--list-cmd "${LC[$l]}"} --size "$sz" --mode mixed --threads 4 --kind segv \
		--runs "$n" --out "$OUT" || echo "bench: $l $sz MiB failed" >&2
}
storm() { # label n size
	local l=$1 n=$2 sz=$3
	echo "== storm $l: $n x $sz MiB mixed"
	$CB storm --label "$l" --handler "${H[$l]}" --pipe-limit "${PL[$l]}" --expect "${EX[$l]:-1}" \
		${ST[$l]:+--store "${ST[$l]}"} ${MATCH[$l]:+--match "${MATCH[$l]}"} --clean \
		${LC[$l]:+--list-cmd "${LC[$l]}"} --n "$n" --size "$sz" --mode mixed --threads 4 \
		--runs 1 --settle 30 --out "$OUT" || echo "bench: storm $l failed" >&2
}

# ---- storm mode: the crash storm only, spliced into BENCHMARKS.md -------------
if [ "$WHAT" = storm ]; then
	SN=${BENCH_STORM_N:-50}; SSZ=${BENCH_STORM_SIZE:-64}
	T0=$(date +%s)
	for r in $(seq 1 "${BENCH_STORM_RUNS:-2}"); do
		for l in ${BENCH_HANDLERS:-drain mortem mortem-default zstd-1}; do
			echo "== storm round $r, $l: $SN x $SSZ MiB mixed"
			$CB storm --label "$l" --handler "${H[$l]}" --pipe-limit "${PL[$l]}" --expect "${EX[$l]:-1}" \
				${ST[$l]:+--store "${ST[$l]}"} ${MATCH[$l]:+--match "${MATCH[$l]}"} --clean \
				${LC[$l]:+--list-cmd "${LC[$l]}"} --n "$SN" --size "$SSZ" --mode mixed --threads 4 \
				--runs 1 --round "$r" --lead 6 --settle 30 ${SX[$l]:+--sample-exe "${SX[$l]}"} \
				--out "$OUT" || echo "bench: storm $l round $r failed" >&2
		done
	done
	echo "== storm took $(( $(date +%s) - T0 )) s"
	$CB storm-report "$OUT" --cmdline "$CMDLINE" \
		--machine "$(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
		--note "mortem-collect: tree at $REV when the run started; core_pattern \`${H[mortem]}\`, core_pipe_limit ${PL[mortem]} (no dump is skipped; the kernel waits for each collector to close the pipe)" \
		--note "mortem = the bench config \`[Store] Path=$STORE\` + \`[Policy] KeepPerSignature=0 RateLimit=0\` (every core is kept); mortem-default = \`[Store] Path=$STORE\` only (and the SocketDirectory where no mortemd listens), i.e. the default [Policy] (KeepPerSignature=3, RateLimit=5/10min, MaxUse/KeepFree 10 %/15 % max 4G, MaxConcurrent=0 = CPUs); both: CompressLevel=-1 inline, CompressThreads=1, RecompressLevel=3" \
		--note "floor: \`drain 1048576\` (core_pipe_limit 0, as in ../shared/bench); zstd-1: \`zstd -1 -T0 -q -o FILE\` (core_pipe_limit 0); every handler wrapped in hwrap" \
		--note "zstd $(zstd -V | sed -n 's/.*v\([0-9.]*\).*/\1/p'), python $(python3 -c 'import platform; print(platform.python_version())'); raw records: \`$OUT\`" \
		${BENCH_EXTRA:+--extra "$BENCH_EXTRA"} --splice "$TOP/BENCHMARKS.md" &&
		echo "== wrote the Crash storm section of $TOP/BENCHMARKS.md (raw results: $OUT)"
	exit 0
fi

# Overridable for a quick look, e.g. BENCH_SIZES=64 BENCH_RUNS=1 BENCH_HANDLERS="drain mortem"
HANDLERS=${BENCH_HANDLERS:-"drain zstd-1 zstd-3 mortem mortem-t0 mortem-l1 mortem-l1t2 ${HAVE_SDC:+systemd-coredump}"}
T0=$(date +%s)
for sz in ${BENCH_SIZES:-64 1024}; do
	for l in $HANDLERS; do
		[ "$l" = systemd-coredump ] && [ -z "$HAVE_SDC" ] && continue
		run "$l" "$sz" "${BENCH_RUNS:-3}"
	done
done
if [ "$WHAT" = full ]; then
	for l in drain mortem zstd-1; do run "$l" 4096 2; done
	for l in drain zstd-1 mortem ${HAVE_SDC:+systemd-coredump}; do storm "$l" 20 64; done
fi
echo "== matrix took $(( $(date +%s) - T0 )) s"

# ---- 4. BENCHMARKS.md ----------------------------------------------------------
NOTES=(--note "mortem-collect: tree at $REV when the run started, \
config \`[Store] Path=$STORE\` with the defaults (CompressLevel=-1 inline, RecompressLevel=3 after release, \
CompressThreads=1); mortem-t0 = CompressThreads=0, mortem-l1 = CompressLevel=1, mortem-l1t2 = CompressLevel=1 + CompressThreads=2 (all RecompressLevel=3); core_pattern \
\`${H[mortem]}\`, core_pipe_limit 2147483647"
	--note "floor: \`drain 1048576\` (reads the pipe to EOF with the same 1 MiB pipe that mortem-collect asks for); \
zstd: \`zstd -N -T0 -q -o FILE\` (core_pipe_limit 0)"
	--note "zstd $(zstd -V | sed -n 's/.*v\([0-9.]*\).*/\1/p'), python $(python3 -c 'import platform; print(platform.python_version())')")
if [ -n "$HAVE_SDC" ]; then
	NOTES+=(--note "systemd-coredump $(zcat "$(dirname "$SDC")"/root/usr/share/doc/systemd-coredump/changelog.Debian.gz 2>/dev/null | head -1 | sed 's/.*(\(.*\)).*/\1/') unpacked in /var/tmp/sdc, \
back half via bench/sd-daemons.sh, core_pipe_limit 16, stock coredump.conf (Storage=external, zstd)")
else
	NOTES+=(--note "systemd-coredump: not set up, skipped")
fi
$CB report "$OUT" --cmdline "$CMDLINE" --machine "$(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
	"${NOTES[@]}" ${BENCH_EXTRA:+--extra "$BENCH_EXTRA"} -o "$TOP/BENCHMARKS.md" &&
	echo "== wrote $TOP/BENCHMARKS.md (raw results: $OUT)"
