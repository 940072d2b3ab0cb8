#!/bin/bash
# bench/daemon.sh BUILD_DIR — mortemd against the floor (drain) in one run; also
# `bench/run.sh BUILD_DIR daemon`. Replaces the "## mortemd" section of
# BENCHMARKS.md and leaves the rest of the file alone. See bench/README.md.
#
#  1. builds crasher, hwrap (h) and drain into $MORTEM_BENCH_DIR/md (default
#     /var/tmp/mortem-bench/md), copies BUILD_DIR/mortemd, mortem-collect (mc) and
#     mortem there (the kernel never points into a build tree), writes the configs:
#       c   [Store] Path=$D/store, [Policy] KeepPerSignature=0 RateLimit=0 (every
#           core kept, as run.sh's bench config), [Daemon] SocketDirectory=$D/r,
#           PoolSize unset (the default: min(10 % of RAM, 2G))
#       c4  the same with SocketDirectory=$D/r4 and PoolSize=4G
#       ca  the same with SocketDirectory=$D/none (no mortemd there: the collector
#           works alone; a reference)
#     and starts a stand-in for systemd's NOTIFY_SOCKET (crashbench.py
#     notify-listen) to learn when mortemd is ready and its STATUS counters;
#  2. held time: mortemd -c c (foreground, root); BENCH_RUNS rounds (default 5)
#     of a 1 GiB mixed crash, each round: drain (the floor), sockfloor
#     ("@$D/sf/core.sock", where bench/sockdrain.c reads to nowhere, one process
#     per CPU: the floor of socket mode, what the kernel's socket path costs), socket
#     ("@@$D/r/coredump.socket"), handoff ("|h m mc -c c ... %F": the collector
#     hands the pipe to mortemd), alone ("|h m mc -c ca ... %F"); every
#     configuration takes the core_pattern lock, installs, crashes once, restores
#     and lets go; crashbench waits until mortemd has no worker left before it
#     lets go of the lock, so every crash starts with mortemd idle;
#  3. storms: 50 x 64 MiB crashing at the same instant, BENCH_STORM_RUNS rounds
#     (default 2) of drain, sockfloor, socket, handoff, alone; once with mortemd -c c (default
#     pool) and once with mortemd -c c4 (PoolSize=4G), one mortemd at a time;
#  4. crashbench.py daemon-report -> the "## mortemd" section of BENCHMARKS.md
#     (raw records: $D/results-daemon.jsonl; mortemd's stderr: $D/mortemd.log).
#
# Throughout, crashbench samples /proc/PID/status of mortemd and of its workers
# (RssAnon, RssFile, RssShmem) while mortemd serves a configuration: every 50 ms
# for the held time, every 250 ms in storms (at 50 ms the sampler alone took
# ~8 % of the 2 CPUs during a storm, which the floor, with no daemon to
# sample, does not pay).
# Needs root. Takes /run/lock/mortem-core-pattern.lock (tests/e2e/lib.sh's lock)
# only while a configuration owns core_pattern; the EXIT trap restores
# core_pattern/core_pipe_limit if anything of ours is still installed, then stops
# mortemd (SIGTERM, SIGKILL after 60 s) and the notify stand-in.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
BUILD=${1:?usage: bench/daemon.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd) || exit 2
CMDLINE=${BENCH_CMDLINE:-"bench/daemon.sh $1"}   # run.sh passes its own command line
# the knobs set for this run go into the report's command line
for v in BENCH_STORM_HANDLERS BENCH_HELD_HANDLERS BENCH_STORM_SIZE BENCH_STORM_N BENCH_STORM_RUNS \
	BENCH_SIZE BENCH_RUNS MORTEM_BENCH_DIR BENCH_REV; do
	[ -n "${!v+x}" ] || continue
	val=${!v}
	case $val in *[!A-Za-z0-9_./:=,-]*) val="'$val'" ;; esac
	CMDLINE="$v=$val $CMDLINE"
done
# The tree the daemon was built from, as of now (others may commit during the run).
REV=${BENCH_REV:-$(cd "$TOP" && git describe --always --dirty 2>/dev/null || echo unknown)}

W=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}
D=$W/md                       # short: core_pattern < 128 chars
LOCK=/run/lock/mortem-core-pattern.lock
CP=/proc/sys/kernel/core_pattern
CPL=/proc/sys/kernel/core_pipe_limit
RUNS=${BENCH_RUNS:-5}
SRUNS=${BENCH_STORM_RUNS:-2}
SN=${BENCH_STORM_N:-50}
SSZ=${BENCH_STORM_SIZE:-64}
HSZ=${BENCH_SIZE:-1024}
MD_OUT=${BENCH_MD:-$TOP/BENCHMARKS.md}   # BENCH_MD: write the section elsewhere (a trial run)

[ "$(id -u)" = 0 ] || { echo "daemon: needs root (kernel.core_pattern, mortemd)" >&2; exit 1; }
[ -w "$CP" ] || { echo "daemon: $CP is not writable here" >&2; exit 1; }
for f in mortemd mortem-collect mortem; do
	[ -x "$BUILD/$f" ] || { echo "daemon: $BUILD/$f missing: run make first" >&2; exit 1; }
done
for t in cc python3 flock; do
	command -v $t >/dev/null || { echo "daemon: $t not found" >&2; exit 1; }
done

# ---- kernel settings: saved once (under the lock), put back by the trap -------
exec 8>"$LOCK"
flock -w 900 8 || { echo "daemon: could not take $LOCK" >&2; exit 1; }
SAVED_CP=$(cat "$CP"); SAVED_CPL=$(cat "$CPL")
flock -u 8
case $SAVED_CP in *"$D/"*) SAVED_CP=core; SAVED_CPL=0 ;; esac  # left over from a killed run
MD_PID= NL_PID=
md_stop() { # [timeout_s]: SIGTERM (mortemd finishes what is in flight), then SIGKILL
	[ -n "$MD_PID" ] || return 0
	kill -TERM "$MD_PID" 2>/dev/null
	for _ in $(seq $((${1:-60} * 10))); do
		kill -0 "$MD_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$MD_PID" 2>/dev/null; then
		echo "daemon: mortemd (pid $MD_PID) did not stop within ${1:-60} s of SIGTERM: SIGKILL" >&2
		kill -KILL "$MD_PID" 2>/dev/null
	fi
	wait "$MD_PID" 2>/dev/null
	MD_PID=
}
SF_PID=
cleanup() {
	# core_pattern first: no crash may go to a daemon that is going away
	if grep -q "$D/" "$CP" 2>/dev/null; then
		flock -w 60 8
		if grep -q "$D/" "$CP"; then
			printf '%s\n' "$SAVED_CP" >"$CP" || echo "daemon: RESTORE OF core_pattern FAILED" >&2
			printf '%s\n' "$SAVED_CPL" >"$CPL" || echo "daemon: RESTORE OF core_pipe_limit FAILED" >&2
		fi
		flock -u 8
	fi
	md_stop 60
	[ -n "$NL_PID" ] && kill "$NL_PID" 2>/dev/null
	[ -n "$SF_PID" ] && { pkill -P "$SF_PID"; kill "$SF_PID"; } 2>/dev/null
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- 1. helpers, private binaries, configs -------------------------------------
mkdir -p "$W" "$D" "$D/store" && chmod 755 "$W" "$D" || exit 1
echo "== building helpers into $D"
cc -O1 -g -fno-omit-frame-pointer -Wall -Wno-infinite-recursion -pthread -o "$D/crasher" "$BENCH/crasher.c" &&
cc -O2 -Wall -DHWRAP_LOG="\"$D/hwrap.log\"" -o "$D/h" "$BENCH/hwrap.c" &&
cc -O2 -Wall -DDRAIN_LOG="\"$D/drain.bytes\"" -o "$D/drain" "$BENCH/drain.c" &&
cc -O2 -Wall -o "$D/sockdrain" "$BENCH/sockdrain.c" || exit 1
for f in mortemd:mortemd mortem-collect:mc mortem:mortem; do
	cp "$BUILD/${f%%:*}" "$D/${f#*:}.new" && mv -f "$D/${f#*:}.new" "$D/${f#*:}" || exit 1
done
STORE=$D/store
POL='[Policy]\nKeepPerSignature=0\nRateLimit=0\n'
printf "[Store]\nPath=%s\n${POL}[Daemon]\nSocketDirectory=%s\n" "$STORE" "$D/r" >"$D/c"
printf "[Store]\nPath=%s\n${POL}[Daemon]\nSocketDirectory=%s\nPoolSize=4G\n" "$STORE" "$D/r4" >"$D/c4"
printf "[Store]\nPath=%s\n${POL}[Daemon]\nSocketDirectory=%s\n" "$STORE" "$D/none" >"$D/ca"
rm -rf "$D/none"
OUT=$D/results-daemon.jsonl
NLOG=$D/notify.log
MDLOG=$D/mortemd.log
: >"$OUT"; : >"$NLOG"; : >"$MDLOG"
CB="python3 $BENCH/crashbench.py"
export MORTEM_BENCH_DIR=$D    # crashbench: crasher, hwrap.log, drain.bytes live here

$CB notify-listen "$D/notify" "$NLOG" 8>&- &
NL_PID=$!
for _ in $(seq 50); do [ -S "$D/notify" ] && break; sleep 0.1; done
[ -S "$D/notify" ] || { echo "daemon: the notify stand-in did not start" >&2; exit 1; }

# The socket floor: "@" (no request/ack) to a listener that reads to nowhere.
mkdir -p "$D/sf" && "$D/sockdrain" "$D/sf/core.sock" 8>&- &
SF_PID=$!

MD_CONF= MD_LABEL=
md_start() { # CONF LABEL: mortemd in the foreground, up once it says READY=1
	local n
	n=$(grep -c 'READY=1' "$NLOG")
	echo "== mortemd -c $1 ($2)"
	NOTIFY_SOCKET=$D/notify "$D/mortemd" -c "$1" 2>>"$MDLOG" 8>&- &
	MD_PID=$! MD_CONF=$1 MD_LABEL=$2
	for _ in $(seq 1200); do
		[ "$(grep -c 'READY=1' "$NLOG")" -gt "$n" ] && return 0
		kill -0 "$MD_PID" 2>/dev/null || { cat "$MDLOG" >&2; echo "daemon: mortemd did not start" >&2; exit 1; }
		sleep 0.1
	done
	echo "daemon: mortemd did not say READY=1 within 120 s" >&2
	exit 1
}
md_alive() { # stop the benchmark when mortemd is gone: that is a finding, not noise
	kill -0 "$MD_PID" 2>/dev/null && return 0
	echo "daemon: MORTEMD (pid $MD_PID, -c $MD_CONF) IS GONE; its log:" >&2
	tail -20 "$MDLOG" >&2
	MD_PID=
	exit 1
}

# The configurations. socket/handoff are served by the running mortemd (sampled,
# waited for); its SocketDirectory comes from the config that mortemd runs with.
declare -A H PL EX LC
cfg_patterns() { # CONF RUN_DIR
	H[drain]="|$D/h d $D/drain 1048576"; PL[drain]=0; EX[drain]=1; LC[drain]=
	H[sockfloor]="@$D/sf/core.sock"; PL[sockfloor]=0; EX[sockfloor]=0; LC[sockfloor]=
	H[socket]="@@$2/coredump.socket"; PL[socket]=2147483647; EX[socket]=0
	H[handoff]="|$D/h m $D/mc -c $1 %P %u %g %s %t %c %h %d %F"; PL[handoff]=2147483647; EX[handoff]=1
	H[alone]="|$D/h m $D/mc -c $D/ca %P %u %g %s %t %c %h %d %F"; PL[alone]=2147483647; EX[alone]=1
	LC[socket]="$D/mortem -c $1 list --json"; LC[handoff]=${LC[socket]}; LC[alone]="$D/mortem -c $D/ca list --json"
}
DF=()
dflags() { # LABEL: DF = the daemon's flags for the configurations it serves
	DF=()
	case $1 in socket|handoff)
		DF=(--daemon-pid "$MD_PID" --daemon-label "$MD_LABEL" --notify-log "$NLOG") ;;
	esac
}

T0=$(date +%s)
# ---- 2. held time ----------------------------------------------------------------
cfg_patterns "$D/c" "$D/r"
md_start "$D/c" "PoolSize default"
for r in $(seq 1 "$RUNS"); do
	for l in ${BENCH_HELD_HANDLERS:-drain sockfloor socket handoff alone}; do
		echo "== held, round $r/$RUNS, $l: $HSZ MiB mixed"
		dflags "$l"
		$CB run --label "$l" --handler "${H[$l]}" --pipe-limit "${PL[$l]}" --expect "${EX[$l]}" \
			--store "$STORE" --clean ${LC[$l]:+--list-cmd "${LC[$l]}"} --size "$HSZ" --mode mixed \
			--threads 4 --kind segv --runs 1 --round "$r" --phase held "${DF[@]}" \
			--out "$OUT" 8>&- || echo "daemon: held $l round $r failed" >&2
		md_alive
	done
done
# ---- 3. storms, default pool then 4G ---------------------------------------------
for p in "c:r:PoolSize default:pool-default" "c4:r4:PoolSize=4G:pool-4G"; do
	IFS=: read -r conf rdir label phase <<<"$p"
	md_stop 120
	cfg_patterns "$D/$conf" "$D/$rdir"
	md_start "$D/$conf" "$label"
	for r in $(seq 1 "$SRUNS"); do
		for l in ${BENCH_STORM_HANDLERS:-drain sockfloor socket handoff alone}; do
			echo "== storm, $label, round $r/$SRUNS, $l: $SN x $SSZ MiB mixed"
			dflags "$l"
			$CB storm --label "$l" --handler "${H[$l]}" --pipe-limit "${PL[$l]}" --expect "${EX[$l]}" \
				--store "$STORE" --clean ${LC[$l]:+--list-cmd "${LC[$l]}"} --n "$SN" --size "$SSZ" \
				--mode mixed --threads 4 --runs 1 --round "$r" --phase "$phase" --lead 6 --settle 30 \
				"${DF[@]}" ${DF:+--daemon-sample-ms 250} --out "$OUT" 8>&- ||
				echo "daemon: storm $label $l round $r failed" >&2
			md_alive
		done
	done
done
md_stop 120
echo "== daemon bench took $(( $(date +%s) - T0 )) s"

# ---- 4. BENCHMARKS.md --------------------------------------------------------------
faulted=$(sed -n 's/^mortemd: pool of \(.*\) faulted in in \(.*\) ms$/\1 in \2 ms/p' "$MDLOG" | paste -sd ';' | sed 's/;/; /g')
warn=$(grep -v -e 'pool of' -e 'listening on' -e 'stopping: finishing' -e '^mortemd: stopped' "$MDLOG" | sort | uniq -c | sed 's/^ *//' | head -5 | paste -sd ';' | sed 's/;/; /g')
$CB daemon-report "$OUT" --cmdline "$CMDLINE" \
	--machine "$(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
	--note "mortemd, mortem-collect: tree at $REV when the run started (mortemd sha256 $(sha256sum "$D/mortemd" | cut -c1-12)…); mortemd runs in the foreground as root with NOTIFY_SOCKET set to the stand-in; pools faulted in at start: ${faulted:-?}" \
	--note "configs: \`[Store] Path=$STORE\` + \`[Policy] KeepPerSignature=0 RateLimit=0\` (every core kept) + \`[Daemon] SocketDirectory=$D/r\` (default PoolSize) or \`SocketDirectory=$D/r4\` + \`PoolSize=4G\`; everything else default (CompressLevel=-1 inline, RecompressLevel=3, CompressThreads=1, MaxConcurrent=0 = CPUs, StallTimeout=30s, HandoffTimeout=1s)" \
	--note "core_pattern: floor \`${H[drain]}\` (core_pipe_limit 0, as in the tables above); sockfloor \`${H[sockfloor]}\` (bench/sockdrain.c: one process per CPU, each a poll loop that reads its connections to nowhere, 1 MiB reads; the floor of socket mode, no request/ack, core_pipe_limit 0); socket \`@@$D/r/coredump.socket\` (r4 for PoolSize=4G); handoff \`|$D/h m $D/mc -c $D/c %P %u %g %s %t %c %h %d %F\` (c4 for PoolSize=4G); alone: the same with config \`ca\` (\`SocketDirectory=$D/none\`, where nothing listens: mortem-collect does the whole job, for reference); core_pipe_limit 2147483647 for all but the floor, as \`mortem enable\` sets it" \
	--note "mortemd's stderr over the whole run (other than start/stop): ${warn:-nothing}" \
	--note "python $(python3 -c 'import platform; print(platform.python_version())'); raw records: \`$OUT\`" \
	${BENCH_EXTRA:+--extra "$BENCH_EXTRA"} --splice "$MD_OUT" &&
	echo "== wrote the mortemd section of $MD_OUT (raw results: $OUT)"
