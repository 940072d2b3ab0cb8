#!/bin/bash
# bench/analysis.sh BUILD_DIR [RUNS] — the analysis benchmark: a 64-thread
# process with 100 loaded libraries crashes; how long does mortem-collect's
# sandboxed analysis of it take, and how much memory? Target (from the issue):
# under 1 s and under 256 MiB RSS. Beside it, on the same crash: systemd-coredump's
# back half (with and without its stack trace) and eu-stack on the full core.
#
#  1. builds into $MORTEM_BENCH_DIR/an (default /var/tmp/mortem-bench/an, all
#     world-readable: the analysis child runs as "nobody" and opens the
#     libraries by path): libanbase.so + libanb000..099.so from
#     bench/an_target_lib.c (gcc -shared -fPIC -g, each linked against the next),
#     an_target from bench/an_target.c linked against all 101, hwrap (h), and a
#     private copy of BUILD_DIR/mortem-collect (mc) with config c
#     ([Store] Path=$AN/store, [Analysis] defaults);
#  2. mortem: core_pattern `|h m mc -c c %P ...`, core_pipe_limit 2147483647, RUNS
#     crashes (default 5); per crash the record's analysis.{status,duration_ms,
#     max_rss_kib}, threads, modules; held (crash -> waitpid), listed (crash ->
#     `mortem list --json` shows the pid, polled every 20 ms: the record is
#     published after the analysis), collector exit (hwrap);
#  3. eu-stack (elfutils) on the last crash's full core (`mortem dump`) and on its
#     minicore: wall time and peak RSS;
#  4. systemd-coredump, if set up as in bench/README.md (/var/tmp/sdc/sdc): the same
#     crash RUNS times with the stock coredump.conf, then RUNS times with a drop-in
#     /run/systemd/coredump.conf.d/zz-mortem-bench-an.conf that sets
#     ProcessSizeMax=1 (the core is still stored in full, ExternalSizeMax is
#     unchanged, but 252 skips the stack trace for a core larger than that);
#     back-half wall time from hwrap (sdi) in both, the stack trace checked in
#     the journal entry (COREDUMP_PID=...);
#  5. appends a section "Analysis (bench/analysis.sh)" to BENCHMARKS.md
#     (results also in $AN/results.jsonl).
#
# Takes /run/lock/mortem-core-pattern.lock (tests/e2e/lib.sh's lock) while it owns
# core_pattern and restores core_pattern/core_pipe_limit before letting go; the
# EXIT trap restores them if anything of ours is still installed. Needs root.
set -u
BENCH=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$BENCH/.." && pwd)
BUILD=${1:?usage: bench/analysis.sh BUILD_DIR [RUNS]}
RUNS=${2:-5}
BUILD=$(cd "$BUILD" && pwd) || exit 2
CMDLINE="bench/analysis.sh $1${2:+ $2}"
# BENCH_REV: say where BUILD_DIR came from when it is not this tree's build
REV=${BENCH_REV:-$(cd "$TOP" && git describe --always --dirty 2>/dev/null || echo unknown)}
W=${MORTEM_BENCH_DIR:-/var/tmp/mortem-bench}
AN=$W/an                       # short: core_pattern must stay under 128 characters
NLIBS=100 NTHREADS=64
SDC=${SDC:-/var/tmp/sdc/sdc}
SDC_STORE=/var/lib/systemd/coredump
SDC_DROPIN=/run/systemd/coredump.conf.d/zz-mortem-bench-an.conf
LOCK=/run/lock/mortem-core-pattern.lock
CP=/proc/sys/kernel/core_pattern
CPL=/proc/sys/kernel/core_pipe_limit

[ "$(id -u)" = 0 ] || { echo "analysis: needs root (kernel.core_pattern)" >&2; exit 1; }
[ -w "$CP" ] || { echo "analysis: $CP is not writable here" >&2; exit 1; }
for f in mortem-collect mortem; do
	[ -x "$BUILD/$f" ] || { echo "analysis: $BUILD/$f missing: run make first" >&2; exit 1; }
done
for t in gcc python3 flock; do
	command -v $t >/dev/null || { echo "analysis: $t not found" >&2; exit 1; }
done
getent passwd nobody >/dev/null || getent passwd mortem >/dev/null ||
	echo "analysis: warning: neither user mortem nor nobody exists" >&2

# ---- core_pattern ownership ----------------------------------------------------
exec 8>"$LOCK"
OWNED=
own() {
	flock -w 900 8 || { echo "analysis: could not take $LOCK" >&2; exit 1; }
	SAVED_CP=$(cat "$CP"); SAVED_CPL=$(cat "$CPL")
	case $SAVED_CP in *"$AN/"*) SAVED_CP=core; SAVED_CPL=0 ;; esac  # left over from a killed run
	OWNED=1
}
unown() {
	if [ -n "$OWNED" ]; then
		printf '%s\n' "$SAVED_CP" >"$CP" || echo "analysis: RESTORE OF core_pattern FAILED" >&2
		printf '%s\n' "$SAVED_CPL" >"$CPL" || echo "analysis: RESTORE OF core_pipe_limit FAILED" >&2
		OWNED=
	fi
	flock -u 8
}
SD_STARTED= JD_PID=
cleanup() {
	rm -f "$SDC_DROPIN"
	rmdir "$(dirname "$SDC_DROPIN")" 2>/dev/null
	[ -n "$SD_STARTED" ] && MORTEM_BENCH_DIR=$AN "$BENCH/sd-daemons.sh" stop
	[ -n "$JD_PID" ] && kill "$JD_PID" 2>/dev/null
	if [ -n "$OWNED" ]; then
		unown
	elif grep -q "$AN/" "$CP" 2>/dev/null; then
		flock -w 60 8
		grep -q "$AN/" "$CP" && { echo core >"$CP"; echo 0 >"$CPL"; }
		flock -u 8
	fi
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- 1. build ------------------------------------------------------------------
umask 022
mkdir -p "$W" && chmod 755 "$W" || exit 1
rm -rf "$AN/lib" "$AN/gen" "$AN/store"
mkdir -p "$AN/lib" "$AN/gen" "$AN/store" || exit 1
chmod 755 "$AN" "$AN/lib"
echo "== building $NLIBS libraries and an_target into $AN"
T_BUILD=$(date +%s)
CF="-O1 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -Wall"
gcc $CF -shared -fPIC -DAN_BASE -pthread -o "$AN/lib/libanbase.so" "$BENCH/an_target_lib.c" || exit 1
{
	echo "#define AN_NLIBS $NLIBS"
	for ((i = 0; i < NLIBS; i++)); do printf 'void an_step_%03d(int, int);\n' $i; done
	echo "static void (*const an_steps[AN_NLIBS])(int, int) = {"
	for ((i = 0; i < NLIBS; i++)); do printf '\tan_step_%03d,\n' $i; done
	echo "};"
} >"$AN/gen/an_steps.h"
LIBS=
for ((i = NLIBS - 1; i >= 0; i--)); do
	l=$(printf %03d $i); n=$(printf %03d $((i + 1)))
	next=; [ $i -lt $((NLIBS - 1)) ] && next="-DNTAG=$n -lanb$n"
	gcc $CF -shared -fPIC -DLTAG=$l ${next%% *} -o "$AN/lib/libanb$l.so" "$BENCH/an_target_lib.c" \
		-L"$AN/lib" ${next#* } -lanbase -Wl,-rpath,"$AN/lib" || exit 1
	LIBS="-lanb$l $LIBS"
done
gcc $CF -pthread -I"$AN/gen" -o "$AN/an_target" "$BENCH/an_target.c" -L"$AN/lib" \
	-Wl,--no-as-needed $LIBS -lanbase -Wl,--as-needed -Wl,-rpath,"$AN/lib" || exit 1
gcc -O2 -Wall -DHWRAP_LOG="\"$AN/hwrap.log\"" -o "$AN/h" "$BENCH/hwrap.c" || exit 1
cp "$BUILD/mortem-collect" "$AN/mc.new" && mv -f "$AN/mc.new" "$AN/mc" || exit 1
MC_SHA=$(sha256sum "$AN/mc" | cut -c1-12)
printf '[Store]\nPath=%s\n[Policy]\nKeepPerSignature=0\nRateLimit=0\n' "$AN/store" >"$AN/c"
chmod -R a+rX "$AN"
NEEDED=$(LD_TRACE_LOADED_OBJECTS=1 "$AN/an_target" | grep -c '=>')
echo "   built in $(( $(date +%s) - T_BUILD )) s; an_target loads $NEEDED shared objects (+ vdso)"
# every directory on the way must be searchable by nobody
d=$AN/lib
while [ "$d" != / ]; do
	case $(stat -c %A "$d" | cut -c10) in x|t) ;; *) false ;; esac || echo "analysis: warning: $d is not searchable by others" >&2
	d=$(dirname "$d")
done

# ---- harness (python, written at run time) --------------------------------------
cat >"$AN/harness.py" <<'PY'
"""One configuration: N crashes of an_target under an installed core_pattern.
The caller (analysis.sh) holds the core_pattern lock and restores it."""
import argparse, json, os, re, resource, subprocess, sys, time

ap = argparse.ArgumentParser()
ap.add_argument("--label", required=True)
ap.add_argument("--kind", choices=["mortem", "sdc"], required=True)
ap.add_argument("--handler", required=True)
ap.add_argument("--pipe-limit", required=True)
ap.add_argument("--runs", type=int, default=5)
ap.add_argument("--target", required=True)
ap.add_argument("--hwrap-log", required=True)
ap.add_argument("--mortem", help="mortem binary")
ap.add_argument("--conf", help="mortem config")
ap.add_argument("--store", required=True)
ap.add_argument("--match", default=None)
ap.add_argument("--out", required=True)
ap.add_argument("--timeout", type=float, default=120)
a = ap.parse_args()


def wr(p, v):
    with open(p, "w") as f:
        f.write(str(v) + "\n")


def hrecs():
    out = []
    try:
        lines = open(a.hwrap_log).read().splitlines()
    except FileNotFoundError:
        return out
    for ln in lines:
        head, _, argv = ln.partition(' argv="')
        r = {}
        for kv in head.split():
            k, _, v = kv.partition("=")
            r[k] = v if k == "tag" else int(v)
        r["argv"] = argv.rstrip('"')
        out.append(r)
    return out


def clean():
    import fnmatch
    for root, _, names in os.walk(a.store):
        for n in names:
            if a.match is None or fnmatch.fnmatch(n, a.match):
                os.unlink(os.path.join(root, n))


resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
if len(a.handler) >= 128:
    sys.exit("core_pattern too long: %s" % a.handler)
wr("/proc/sys/kernel/core_pattern", a.handler)
wr("/proc/sys/kernel/core_pipe_limit", a.pipe_limit)
expect = 1 if a.kind == "mortem" else 2
for i in range(a.runs):
    clean()
    open(a.hwrap_log, "w").close()
    subprocess.run(["sync"])
    time.sleep(0.5)
    p = subprocess.Popen([a.target], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ln = p.stdout.readline().decode().split()
    _, st = os.waitpid(p.pid, 0)
    t_reap = time.monotonic_ns()
    p.returncode = 0
    if len(ln) != 3 or ln[0] != "CRASH":
        sys.exit("an_target did not crash as expected: %r" % ln)
    pid, t0 = int(ln[1]), int(ln[2])
    rec = dict(label=a.label, run=i, pid=pid, held_ms=(t_reap - t0) / 1e6,
               signal=os.WTERMSIG(st) if os.WIFSIGNALED(st) else None)
    t_end = time.monotonic() + a.timeout
    if a.kind == "mortem":
        while time.monotonic() < t_end:
            r = subprocess.run([a.mortem, "-c", a.conf, "list", "--json"], capture_output=True)
            try:
                if any(c.get("pid") == pid for c in json.loads(r.stdout or b"[]")):
                    rec["listed_ms"] = (time.monotonic_ns() - t0) / 1e6
                    break
            except ValueError:
                pass
            time.sleep(0.02)
        r = subprocess.run([a.mortem, "-c", a.conf, "info", "--json", str(pid)], capture_output=True)
        try:
            j = json.loads(r.stdout)
        except ValueError:
            j = {}
            rec["info_error"] = r.stderr.decode()[-300:]
        an = j.get("analysis") or {}
        rec.update(status=an.get("status"), error=an.get("error"), duration_ms=an.get("duration_ms"),
                   max_rss_kib=an.get("max_rss_kib"), id=j.get("id"),
                   threads=len(j.get("threads") or []), modules=len(j.get("modules") or []),
                   frames=sum(len(t.get("frames") or []) for t in j.get("threads") or []),
                   anb_modules=len({m.get("path") for m in j.get("modules") or []
                                    if re.search(r"/libanb\d{3}\.so$", m.get("path") or "")}),
                   crashed_top=[f.get("function") for f in
                                ((j.get("threads") or [{}])[0].get("frames") or [])[:4]])
    while time.monotonic() < t_end and len(hrecs()) < expect:
        time.sleep(0.02)
    hs = hrecs()
    if hs:
        rec["done_ms"] = (max(h["end_ns"] for h in hs) - t0) / 1e6
        rec["handler_rss_mib"] = max(h["maxrss_kb"] for h in hs) / 1024
        rec["handler_cpu_ms"] = sum(h["utime_us"] + h["stime_us"] for h in hs) / 1e3
        for h in hs:
            rec["h_%s_ms" % h["tag"]] = (h["end_ns"] - h["start_ns"]) / 1e6
            rec["h_%s_start_ms" % h["tag"]] = (h["start_ns"] - t0) / 1e6
            rec["h_%s_rss_mib" % h["tag"]] = h["maxrss_kb"] / 1024
            rec["h_%s_cpu_ms" % h["tag"]] = (h["utime_us"] + h["stime_us"]) / 1e3
    if a.kind == "sdc":
        time.sleep(0.5)
        msg = ""
        for _ in range(50):
            r = subprocess.run(["journalctl", "-o", "json", "--all", "--no-pager", "COREDUMP_PID=%d" % pid],
                               capture_output=True)
            ents = [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]
            if ents:
                m = ents[-1].get("MESSAGE") or ""
                msg = m if isinstance(m, str) else bytes(m).decode(errors="replace")
                rec["journal_fields"] = len(ents[-1])
                rec["stored_file"] = ents[-1].get("COREDUMP_FILENAME")
                break
            time.sleep(0.1)
        rec["journal_entry"] = bool(msg)
        rec["threads"] = len(re.findall(r"Stack trace of thread", msg))
        rec["frames"] = len(re.findall(r"^\s*#\d+ ", msg, re.M))
        rec["anb_modules"] = len(set(re.findall(r"\((libanb\d{3}\.so) \+", msg)))
        rec["modules"] = len(set(re.findall(r"\(([^ ()]+) \+ 0x", msg)))
        rec["message_bytes"] = len(msg)
    print(json.dumps(rec), flush=True)
    with open(a.out, "a") as f:
        f.write(json.dumps(rec) + "\n")
PY

OUT=$AN/results.jsonl
: >"$OUT"
H="python3 $AN/harness.py --target $AN/an_target --hwrap-log $AN/hwrap.log --runs $RUNS --out $OUT"

# ---- 2. mortem -------------------------------------------------------------------
MC_PATTERN="|$AN/h m $AN/mc -c $AN/c %P %u %g %s %t %c %h %d"
echo "== mortem: $RUNS crashes"
own
$H --label mortem --kind mortem --handler "$MC_PATTERN" --pipe-limit 2147483647 \
	--mortem "$BUILD/mortem" --conf "$AN/c" --store "$AN/store" || echo "analysis: mortem runs failed" >&2
unown

# ---- 3. eu-stack on the last crash's full core and minicore ----------------------
EU=
if command -v eu-stack >/dev/null; then
	LASTPID=$(tail -1 "$OUT" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
	rm -f "$AN/core.full"
	if "$BUILD/mortem" -c "$AN/c" dump "$LASTPID" -o "$AN/core.full"; then
		MINI=$(ls "$AN"/store/*.mini 2>/dev/null | head -1)
		[ -z "$MINI" ] && MINI=$(find "$AN/store" -name '*.mini' | head -1)
		echo "== eu-stack on the full core ($(du -h --apparent-size "$AN/core.full" | cut -f1)) and the minicore ($MINI)"
		python3 - "$AN/core.full" "$MINI" "$RUNS" "$OUT" <<'PY'
import json, os, re, subprocess, sys, time
full, mini, runs, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
# plain, and with what a mortem frame has too: build-ids, modules, source lines, inlines
for label, core, opts in (("eu-stack full core", full, []), ("eu-stack minicore", mini, []),
                          ("eu-stack -bmsi full core", full, ["-b", "-m", "-s", "-i"]),
                          ("eu-stack -bmsi minicore", mini, ["-b", "-m", "-s", "-i"])):
    if not core:
        continue
    for i in range(runs):
        t0 = time.monotonic_ns()
        p = subprocess.Popen(["eu-stack"] + opts + ["--core=" + core], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        o, e = p.communicate()
        t1 = time.monotonic_ns()
        rec = dict(label=label, run=i, wall_ms=(t1 - t0) / 1e6, rc=p.returncode, core_bytes=os.path.getsize(core),
                   threads=len(re.findall(rb"^TID \d+:", o, re.M)),
                   frames=len(re.findall(rb"^#\d+ ", o, re.M)),
                   anb_modules=len(set(re.findall(rb"\ban_step_\d{3}\b", o))),
                   stderr=e.decode(errors="replace")[-200:])
        print(json.dumps(rec), flush=True)
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
PY
		# peak RSS, once each (GNU time)
		for c in "$AN/core.full" "$MINI"; do
			for o in "" "-b -m -s -i"; do
				[ -n "$c" ] && /usr/bin/time -f "%M" -o "$AN/eu.rss" eu-stack $o --core="$c" >/dev/null 2>&1 &&
					echo "{\"label\": \"eu-stack rss\", \"opts\": \"$o\", \"core\": \"$c\", \"max_rss_kib\": $(cat "$AN/eu.rss")}" >>"$OUT"
			done
		done
		EU=1
	else
		echo "analysis: mortem dump $LASTPID failed: no eu-stack reference" >&2
	fi
else
	echo "analysis: eu-stack not found (elfutils): no reference time" >&2
fi

# ---- 4. systemd-coredump -----------------------------------------------------------
HAVE_SDC=
if [ -x "$SDC" ] && command -v systemd-socket-activate >/dev/null && command -v journalctl >/dev/null; then
	own   # also keeps another bench from starting its own back half meanwhile
	if [ -S /run/systemd/coredump ]; then
		echo "analysis: /run/systemd/coredump exists (another back half?): systemd-coredump skipped" >&2
	else
		# sd-daemons.sh starts journald only if the socket is missing; a socket left
		# behind by a journald that is gone would swallow the stack traces.
		if ! python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect("/run/systemd/journal/socket")' 2>/dev/null; then
			mkdir -p "$AN/daemons"
			setsid /lib/systemd/systemd-journald >"$AN/daemons/journald.out" 2>&1 &
			JD_PID=$!
			sleep 0.7
		fi
		if MORTEM_BENCH_DIR=$AN "$BENCH/sd-daemons.sh" start 8>&-; then
			SD_STARTED=1; HAVE_SDC=1
			SDC_PATTERN="|$AN/h sdk $SDC %P %u %g %s %t 9223372036854775808 %h %d"
			echo "== systemd-coredump (stock coredump.conf): $RUNS crashes"
			$H --label systemd-coredump --kind sdc --handler "$SDC_PATTERN" --pipe-limit 16 \
				--store "$SDC_STORE" --match 'core.an_target.*' || echo "analysis: sdc runs failed" >&2
			mkdir -p "$(dirname "$SDC_DROPIN")"
			printf '# bench/analysis.sh: no stack trace (core > ProcessSizeMax), core still stored\n[Coredump]\nProcessSizeMax=1\n' >"$SDC_DROPIN"
			echo "== systemd-coredump, ProcessSizeMax=1 (no stack trace): $RUNS crashes"
			$H --label systemd-coredump-nobt --kind sdc --handler "$SDC_PATTERN" --pipe-limit 16 \
				--store "$SDC_STORE" --match 'core.an_target.*' || echo "analysis: sdc runs failed" >&2
			rm -f "$SDC_DROPIN"
			find "$SDC_STORE" -name 'core.an_target.*' -delete 2>/dev/null
			MORTEM_BENCH_DIR=$AN "$BENCH/sd-daemons.sh" stop; SD_STARTED=
		fi
		[ -n "$JD_PID" ] && { kill "$JD_PID"; JD_PID=; }
	fi
	unown
else
	echo "systemd-coredump: not set up (see bench/README.md), skipped"
fi

# ---- 5. BENCHMARKS.md ---------------------------------------------------------------
SDC_VER=$(zcat "$(dirname "$SDC")"/root/usr/share/doc/systemd-coredump/changelog.Debian.gz 2>/dev/null | head -1 | sed 's/.*(\(.*\)).*/\1/')
python3 - "$OUT" "$TOP/BENCHMARKS.md" <<PY
import json, os, platform, statistics, sys, datetime
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
def R(label): return [r for r in rows if r.get("label") == label]
def fmt(v, nd=0):
    v = [x for x in v if x is not None]
    if not v: return "—"
    f = "%%.%df" % nd
    m = statistics.median(v)
    return f % m if len(v) == 1 or min(v) == max(v) else (f + " [" + f + "–" + f + "]") % (m, min(v), max(v))
m = R("mortem")
ok = [r for r in m if r.get("status") == "ok"]
dur = [r.get("duration_ms") for r in m]
rss = [r["max_rss_kib"] / 1024 for r in m if r.get("max_rss_kib") is not None]
w = []
p = w.append
p("## Analysis (bench/analysis.sh)\n")
p("Appended by \`bench/analysis.sh\`; a separate run from the tables above.\n")
p("- command: \`$CMDLINE\`")
p("- date: %s" % datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z"))
p("- machine: %d CPUs (nproc), %.1f GiB RAM, kernel %s, %s" % (os.cpu_count(),
  os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, platform.release(),
  "$(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"))
p("- mortem-collect: \`$BUILD/mortem-collect\` (sha256 $MC_SHA…), tree at $REV when the run started; "
  "config \`[Store] Path=$AN/store\`, [Analysis] defaults (Timeout=60, MaxMemory=1G); "
  "core_pattern \`$MC_PATTERN\`, core_pipe_limit 2147483647")
p("- the crash: \`an_target\` (bench/an_target.c) linked against $NLIBS libraries \`libanbNNN.so\` "
  "(bench/an_target_lib.c, \`gcc -O1 -g -shared -fPIC\`, each calling into the next) and libanbase.so; "
  "$NLIBS + 1 + libc, ld.so: $NEEDED shared objects + vdso. $NTHREADS threads parked in distinct call chains "
  "4–16 libraries deep, then the main thread writes through NULL at the end of a chain through 12 "
  "libraries (SIGSEGV): $((NTHREADS + 1)) threads")
p("")
p("Cells: median [min–max] over %d crashes. **analysis** = the record's \`analysis.duration_ms\` / "
  "\`analysis.max_rss_kib\`: wall time and peak RSS of the sandboxed child that unwinds the minicore "
  "(it starts after the process is released). **listed** = crash → \`mortem list --json\` shows it "
  "(polled every 20 ms; the record is published after the analysis, so this is the collector's whole "
  "way to a record). **held** = crash → the crasher's parent's waitpid() returns. **exit** = crash → "
  "mortem-collect exits (hwrap; includes the recompression after the record).\n" % len(m))
p("| | n | analysis ms | analysis peak RSS MiB | threads | modules (libanb*) | frames | held ms | listed ms | collector exit ms | collector peak RSS MiB |")
p("|---|---|---|---|---|---|---|---|---|---|---|")
p("| mortem | %d (%d ok) | %s | %s | %s | %s (%s) | %s | %s | %s | %s | %s |" % (
  len(m), len(ok), fmt(dur), fmt(rss, 1), fmt([r.get("threads") for r in m]), fmt([r.get("modules") for r in m]),
  fmt([r.get("anb_modules") for r in m]), fmt([r.get("frames") for r in m]), fmt([r["held_ms"] for r in m]),
  fmt([r.get("listed_ms") for r in m]), fmt([r.get("done_ms") for r in m]), fmt([r.get("h_m_rss_mib") for r in m], 1)))
p("")
warn = []
for r in m:
    if r.get("status") != "ok":
        warn.append("run %d: analysis %s: %s" % (r["run"], r.get("status"), r.get("error")))
    if (r.get("threads") or 0) < $NTHREADS + 1:
        warn.append("run %d: only %s threads in the record (want $((NTHREADS + 1)))" % (r["run"], r.get("threads")))
    if (r.get("anb_modules") or 0) < $NLIBS:
        warn.append("run %d: only %s of the $NLIBS libanb*.so in the record's modules (%s modules in all)" % (
            r["run"], r.get("anb_modules"), r.get("modules")))
for x in warn:
    p("- **warning**: " + x)
if warn: p("")
eu = R("eu-stack full core"); eum = R("eu-stack minicore")
eur = {(os.path.basename(r["core"]) == "core.full", r.get("opts", "")): r["max_rss_kib"] for r in R("eu-stack rss")}
if eu:
    p("Reference, same crash (the last one above): \`eu-stack --core=FILE\` (elfutils %s), %d runs, wall time "
      "(unsandboxed, as root, output to a pipe):\n" % ("$(eu-stack --version 2>/dev/null | head -1 | awk '{print $NF}')", len(eu)))
    p("| eu-stack on | options | core MiB | wall ms | peak RSS MiB | threads | frames | distinct an_step_NNN |")
    p("|---|---|---|---|---|---|---|---|")
    for lab, full, opts, rs in (("full core (\`mortem dump\`)", True, "", eu), ("minicore (*.mini in the store)", False, "", eum),
                                ("full core", True, "-b -m -s -i", R("eu-stack -bmsi full core")),
                                ("minicore", False, "-b -m -s -i", R("eu-stack -bmsi minicore"))):
        if not rs: continue
        k = eur.get((full, opts))
        p("| %s | %s | %.1f | %s | %s | %s | %s | %s |" % (lab, "\`%s\`" % opts if opts else "(none)", rs[0]["core_bytes"] / 2**20,
          fmt([r["wall_ms"] for r in rs]), "%.1f" % (k / 1024) if k else "—", fmt([r["threads"] for r in rs]),
          fmt([r["frames"] for r in rs]), fmt([r["anb_modules"] for r in rs])))
    p("")
s, sn = R("systemd-coredump"), R("systemd-coredump-nobt")
if s:
    p("systemd-coredump $SDC_VER (bench/README.md set-up: back half via bench/sd-daemons.sh, no sandbox), "
      "core_pipe_limit 16, on the same program (a new crash each run). It has no timer of its own for the "
      "stack trace: **back half** is the wall time of the socket-activated systemd-coredump that stores the "
      "core *and* then unwinds it (libdw, in a forked child) and logs the stack trace into the journal, "
      "measured by hwrap — an **upper bound** of its backtrace time. The second row runs the same with a "
      "drop-in \`ProcessSizeMax=1\`: the core is still stored in full but no stack trace is made; the "
      "difference of the medians estimates the backtrace alone. "
      "systemd 252 (src/shared/elf-util.c) stops at THREADS_MAX = 64 threads and FRAMES_MAX = 64 frames per "
      "thread, so its journal entry has at most 64 of the $((NTHREADS + 1)) threads: it unwinds less than mortem does.\n")
    p("| systemd-coredump | n | back half ms | back half peak RSS MiB | back half CPU ms | crash → stored+logged ms | threads in journal | frames | libanb* in frames | core stored |")
    p("|---|---|---|---|---|---|---|---|---|---|")
    for lab, rs in (("stock (stack trace)", s), ("ProcessSizeMax=1 (no stack trace)", sn)):
        if not rs: continue
        p("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %d/%d |" % (lab, len(rs), fmt([r.get("h_sdi_ms") for r in rs]),
          fmt([r.get("h_sdi_rss_mib") for r in rs], 1), fmt([r.get("h_sdi_cpu_ms") for r in rs]),
          fmt([r.get("done_ms") for r in rs]), fmt([r.get("threads") for r in rs]), fmt([r.get("frames") for r in rs]),
          fmt([r.get("anb_modules") for r in rs]), sum(1 for r in rs if r.get("stored_file")), len(rs)))
    if s and sn:
        a = statistics.median([r["h_sdi_ms"] for r in s if r.get("h_sdi_ms")])
        b = statistics.median([r["h_sdi_ms"] for r in sn if r.get("h_sdi_ms")])
        p("\nsystemd-coredump backtrace estimate: %.0f − %.0f = **%.0f ms** (upper bound: %.0f ms)." % (a, b, a - b, a))
    p("")
else:
    p("systemd-coredump: not set up (bench/README.md), not measured.\n")
dmax = max([d for d in dur if d is not None], default=None)
rmax = max(rss, default=None)
met = dmax is not None and rmax is not None and len(ok) == len(m) and dmax < 1000 and rmax < 256
p("**Target** (analysis of a 64-thread process with 100 libraries < 1 s and < 256 MiB RSS, worst run): "
  "%s ms, %s MiB → **%s**%s\n" % ("%.0f" % dmax if dmax is not None else "—", "%.1f" % rmax if rmax is not None else "—",
  "met" if met else "missed", "" if not warn else " (see the warnings)"))
text = open(sys.argv[2]).read() if os.path.exists(sys.argv[2]) else ""
mark = "## Analysis (bench/analysis.sh)"
if mark in text:      # a rerun replaces its own section (always the last one)
    text = text[:text.index(mark)].rstrip("\n") + "\n"
open(sys.argv[2], "w").write(text.rstrip("\n") + "\n\n" + "\n".join(w))
print("\n".join(w))
PY
echo "== appended to $TOP/BENCHMARKS.md (raw: $OUT)"
