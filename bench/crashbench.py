#!/usr/bin/env python3
"""crashbench: measure core_pattern pipe handlers on identical synthetic crashes.

Adapted from ../shared/bench/crashbench.py (mortem shared material). Changes: it
takes the machine-wide core_pattern lock that tests/e2e/lib.sh takes, for each
configuration only (so that tests can run in between); it can poll a list
command to time "crash listed"; it counts the stored core (*.zst) apart from
the rest of the store; `report` writes BENCHMARKS.md with ratios to the floor.

Subcommands
  run     one crash configuration, N sequential runs
  storm   N crashers crash at the same CLOCK_MONOTONIC instant
  report  results .jsonl -> markdown (median [min-max], ratios, targets)
  storm-report  storm records -> the "Crash storm" section of BENCHMARKS.md

Timing (all CLOCK_MONOTONIC, from the crasher's "CRASH pid ns" line):
  held    until the harness's waitpid() on the crasher returns
  done    until the last hwrap record's end (handler fully finished)
  listed  until --list-cmd first shows the crash(es) (polled every --poll s
          from the moment the crasher is reaped; the end of the first poll
          that shows it, so an upper bound)
  cpu     sum over hwrap records of utime+stime (with waited-for children)
  rss     max over hwrap records of ru_maxrss
"""
import argparse, datetime, fcntl, fnmatch, json, os, platform, resource, signal, statistics
import subprocess, sys, threading, time

BENCH = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ.get("MORTEM_BENCH_DIR", "/var/tmp/mortem-bench")
CRASHER = os.path.join(WORK, "crasher")
HWRAP_LOG = os.path.join(WORK, "hwrap.log")     # compiled into hwrap
DRAIN_BYTES = os.path.join(WORK, "drain.bytes")  # compiled into drain
LOCK = "/run/lock/mortem-core-pattern.lock"     # the same lock as tests/e2e/lib.sh
CP = "/proc/sys/kernel/core_pattern"
CPL = "/proc/sys/kernel/core_pipe_limit"


def wr(path, val):
    with open(path, "w") as f:
        f.write(str(val) + "\n")


def rd(path):
    with open(path) as f:
        return f.read().strip()


class Owner:
    """Owns core_pattern: lock, save, install; restore and unlock on exit."""

    def __init__(self):
        self.fd = None
        self.saved = None

    def acquire(self, timeout=900):
        self.fd = os.open(LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        t_end = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > t_end:
                    sys.exit("crashbench: could not take %s in %ds" % (LOCK, timeout))
                time.sleep(0.2)
        self.saved = (rd(CP), rd(CPL))

    def install(self, handler, pipe_limit):
        if len(handler) >= 128:
            sys.exit("core_pattern too long (%d >= 128): %s" % (len(handler), handler))
        wr(CP, handler)
        wr(CPL, pipe_limit)
        if rd(CP) != handler:
            sys.exit("core_pattern did not stick: %r" % rd(CP))

    def release(self):
        if self.saved is not None:
            try:
                wr(CP, self.saved[0])
                wr(CPL, self.saved[1])
            except OSError as e:
                print("crashbench: RESTORE FAILED:", e, file=sys.stderr)
            self.saved = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


OWNER = Owner()


def hwrap_records():
    try:
        with open(HWRAP_LOG) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return []
    out = []
    for ln in lines:
        rec = {}
        head, _, argv = ln.partition(' argv="')
        for kv in head.split():
            k, _, v = kv.partition("=")
            rec[k] = v if k == "tag" else int(v)
        rec["argv"] = argv.rstrip('"')
        out.append(rec)
    return out


def store_files(dirs, match):
    for d in dirs:
        for root, _, names in os.walk(d):
            for n in names:
                if match and not fnmatch.fnmatch(n, match):
                    continue
                yield os.path.join(root, n), n


def store_usage(dirs, match):
    files, apparent, disk, core = [], 0, 0, 0
    for p, n in store_files(dirs, match):
        try:
            st = os.lstat(p)
        except FileNotFoundError:
            continue
        files.append(n)
        apparent += st.st_size
        disk += st.st_blocks * 512
        if n.endswith(".zst"):
            core += st.st_size
    return files, apparent, disk, core


def clean_store(dirs, match):
    for p, _ in list(store_files(dirs, match)):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def reset_logs():
    os.makedirs(WORK, exist_ok=True)
    for p in (HWRAP_LOG, DRAIN_BYTES):
        open(p, "w").close()


def wait_handlers(expect, timeout, settle):
    """Until `expect` hwrap records exist, or no new one for `settle` s, or timeout."""
    t_end = time.monotonic() + timeout
    last_n, last_change = -1, time.monotonic()
    while time.monotonic() < t_end:
        recs = hwrap_records()
        if len(recs) >= expect:
            return recs, False
        if len(recs) != last_n:
            last_n, last_change = len(recs), time.monotonic()
        elif settle and time.monotonic() - last_change > settle:
            return recs, True
        time.sleep(0.02)
    return hwrap_records(), True


def spawn(args, at=0, seed=0):
    cmd = [CRASHER, "-s", str(args.size), "-t", str(args.threads), "-m", args.mode,
           "-k", args.kind, "-S", str(seed)]
    if at:
        cmd += ["-a", str(at)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def reap(pid, out, i):
    _, st = os.waitpid(pid, 0)
    out[i] = (time.monotonic_ns(), st)


def poll_listed(cmd, want, poll, timeout, out):
    """Run `cmd` (prints a JSON array) until it has >= want entries."""
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        try:
            p = subprocess.run(cmd, shell=True, capture_output=True, timeout=30)
            if p.returncode == 0 and len(json.loads(p.stdout or b"[]")) >= want:
                out["t"] = time.monotonic_ns()
                return
        except (ValueError, subprocess.TimeoutExpired):
            pass
        time.sleep(poll)


def one_crash_set(args, n, lead_s):
    """Spawn n crashers; all crash at the same instant if n > 1. Polls the list
    command (if any) from the moment the last crasher is reaped."""
    at = time.monotonic_ns() + int(lead_s * 1e9) if n > 1 else 0
    procs = [spawn(args, at, seed=i) for i in range(n)]
    reaped = [None] * n
    ths = [threading.Thread(target=reap, args=(p.pid, reaped, i)) for i, p in enumerate(procs)]
    for t in ths:
        t.start()
    crash_ts = []
    for p in procs:
        ln = p.stdout.readline().decode().split()
        crash_ts.append(int(ln[2]) if len(ln) == 3 and ln[0] == "CRASH" else None)
        p.stdout.close()
    for t in ths:
        t.join()
    for p in procs:
        p.returncode = 0  # reaped by us; keep Popen quiet
    listed = {}
    lt = None
    if args.list_cmd:
        lt = threading.Thread(target=poll_listed, args=(args.list_cmd, n, args.poll, args.timeout, listed))
        lt.start()
    return crash_ts, reaped, lt, listed


def summarize_handlers(recs, t0):
    if not recs:
        return dict(n_hrec=0)
    return dict(
        n_hrec=len(recs),
        done_ms=(max(r["end_ns"] for r in recs) - t0) / 1e6,
        hwall_ms=sum(r["end_ns"] - r["start_ns"] for r in recs) / 1e6,
        hstart_ms=(min(r["start_ns"] for r in recs) - t0) / 1e6,
        cpu_ms=sum(r["utime_us"] + r["stime_us"] for r in recs) / 1e3,
        rss_mb=max(r["maxrss_kb"] for r in recs) / 1024,
        hstatus=sorted(set(r["status"] for r in recs)),
        tags=sorted(set(r["tag"] for r in recs)),
    )


def drain_bytes():
    try:
        with open(DRAIN_BYTES) as f:
            vals = [int(l.split()[-1]) for l in f if l.strip()]
            return sum(vals) if vals else None
    except (FileNotFoundError, ValueError):
        return None


def base_rec(args, kind):
    return dict(type=kind, label=args.label, handler=args.handler, pipe_limit=args.pipe_limit,
                size_mib=args.size, threads=args.threads, mode=args.mode, crash=args.kind)


def emit(args, rec):
    print(json.dumps({k: v for k, v in rec.items() if k not in ("handler", "files")}), flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write(json.dumps(rec) + "\n")


def finish_set(args, t0, lt, listed, expect, settle):
    recs, to = wait_handlers(expect, args.timeout, settle)
    if lt:
        lt.join()
    time.sleep(args.grace)  # some handlers rename/close files slightly after exit
    files, app, disk, core = store_usage(args.store, args.match)
    rec = dict(handler_timeout=to, stored_files=len(files), n_zst=sum(1 for f in files if f.endswith(".zst")), stored_apparent=app, stored_disk=disk,
               stored_core=core, core_bytes=drain_bytes(), files=files[:8],
               listed_ms=(listed["t"] - t0) / 1e6 if "t" in listed else None)
    rec.update(summarize_handlers(recs, t0))
    return rec


def prepare(args):
    if args.clean:
        clean_store(args.store, args.match)
    reset_logs()
    subprocess.run(["sync"])
    time.sleep(args.pause)


def cmd_run(args):
    for i in range(args.runs):
        prepare(args)
        cts, reaped, lt, listed = one_crash_set(args, 1, 0)
        t0, (t_reap, st) = cts[0], reaped[0]
        rec = base_rec(args, "run")
        rec.update(run=i, held_ms=(t_reap - t0) / 1e6,
                   signal=os.WTERMSIG(st) if os.WIFSIGNALED(st) else None, wcoredump=bool(os.WCOREDUMP(st)))
        rec.update(finish_set(args, t0, lt, listed, args.expect, 0))
        emit(args, rec)


class RssSampler(threading.Thread):
    """Every `period` s, the sum over processes whose /proc/PID/exe is `exe`
    of their resident set (statm) and of its anonymous part (resident - shared):
    the true total memory of all handlers at once, as opposed to the sum of
    per-process peaks (which need not coincide). exe is read each time: hwrap
    forks and then execs the handler, so a pid changes program."""

    def __init__(self, exe, period):
        super().__init__(daemon=True)
        self.exe, self.period = os.path.realpath(exe), period
        self.stop_ev = threading.Event()
        self.peak_rss = self.peak_anon = 0   # bytes
        self.peak_n = self.samples = 0
        self.page = os.sysconf("SC_PAGE_SIZE")

    def sample(self):
        tot = anon = n = 0
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.readlink("/proc/%s/exe" % d) != self.exe:
                    continue
                with open("/proc/%s/statm" % d) as f:
                    v = f.read().split()
            except OSError:
                continue
            n += 1
            tot += int(v[1]) * self.page
            anon += (int(v[1]) - int(v[2])) * self.page
        self.peak_rss = max(self.peak_rss, tot)
        self.peak_anon = max(self.peak_anon, anon)
        self.peak_n = max(self.peak_n, n)
        self.samples += 1

    def run(self):
        while not self.stop_ev.is_set():
            self.sample()
            self.stop_ev.wait(self.period)

    def result(self):
        self.stop_ev.set()
        self.join()
        return dict(rss_sampled_mb=self.peak_rss / 2**20, rss_sampled_anon_mb=self.peak_anon / 2**20,
                    rss_sampled_nproc=self.peak_n, rss_samples=self.samples,
                    rss_sample_ms=self.period * 1e3, rss_sample_exe=self.exe)


def list_census(cmd):
    """After the storm: how many records the list command shows, by core.status."""
    try:
        p = subprocess.run(cmd, shell=True, capture_output=True, timeout=60)
        rows = json.loads(p.stdout or b"[]") if p.returncode == 0 else None
    except (ValueError, subprocess.TimeoutExpired):
        rows = None
    if rows is None:
        return dict(n_listed=None)
    status, reasons = {}, {}
    for r in rows:
        c = r.get("core") or {}
        st = c.get("status", "?")
        status[st] = status.get(st, 0) + 1
        why = c.get("reason")
        if why:
            # the rate-limit reason names the executable and a count: keep its kind
            key = why.split(":")[0] if why.startswith("rate limit") else why[:60]
            reasons[key] = reasons.get(key, 0) + 1
    return dict(n_listed=len(rows), n_listed_pids=len(set(r.get("pid") for r in rows)),
                core_status=status, core_reasons=reasons)


def cmd_storm(args):
    for i in range(args.runs):
        prepare(args)
        sampler = None
        if args.sample_exe:
            sampler = RssSampler(args.sample_exe, args.sample_ms / 1e3)
            sampler.start()
        cts, reaped, lt, listed = one_crash_set(args, args.n, args.lead)
        good = [c for c in cts if c]
        t0 = min(good)
        held = sorted((r[0] - c) / 1e6 for r, c in zip(reaped, cts) if c)
        rec = base_rec(args, "storm")
        rec.update(run=i, n=args.n, crash_spread_ms=(max(good) - t0) / 1e6,
                   all_reaped_ms=(max(r[0] for r in reaped) - t0) / 1e6,
                   held_ms_median=statistics.median(held), held_ms_max=held[-1],
                   wcoredump=sum(1 for r in reaped if os.WCOREDUMP(r[1])))
        rec.update(finish_set(args, t0, lt, listed, args.expect * args.n, args.settle))
        if sampler:
            rec.update(sampler.result())
        recs = hwrap_records()
        rec.update(round=args.round, lead_s=args.lead,
                   rss_sum_mb=sum(r["maxrss_kb"] for r in recs) / 1024 if recs else None)
        if args.list_cmd:
            rec.update(list_census(args.list_cmd))
        emit(args, rec)


# ---------------------------------------------------------------- report

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def fmt(vals, scale=1.0, nd=2):
    vals = [v * scale for v in vals if v is not None]
    if not vals:
        return "—"
    m = statistics.median(vals)
    f = "%%.%df" % nd
    if len(vals) == 1 or min(vals) == max(vals):
        return f % m
    return (f + " [" + f + "–" + f + "]") % (m, min(vals), max(vals))


def ratio(a, b, nd=2):
    return ("%%.%df×" % nd) % (a / b) if a is not None and b else "—"


def load(files):
    rows, order = {}, []
    for path in files:
        for ln in open(path):
            r = json.loads(ln)
            k = (r["type"], r["size_mib"], r["mode"], r["label"])
            if k not in rows:
                order.append(k)
            rows.setdefault(k, []).append(r)
    return rows, order


def cmd_report(args):
    rows, order = load(args.files)
    out = []
    w = out.append
    w("# Benchmarks\n")
    w("Generated by `bench/run.sh`; see bench/README.md for what is measured and how.\n")
    w("- command: `%s`" % args.cmdline)
    w("- date: %s" % (args.date or datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")))
    w("- machine: %d CPUs (nproc), %.1f GiB RAM, kernel %s, %s" % (
        os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        platform.release(), args.machine or platform.machine()))
    if args.note:
        for n in args.note:
            w("- %s" % n)
    w("")
    w("Each crash: `crasher -s MiB -t 4 -m mixed -k segv` (25 % random, 50 % heap-like text, "
      "25 % touched zero pages). Cells are median [min–max] over the runs of one "
      "invocation; ratios are medians over medians of the **same run**, against the floor "
      "(drain) at the same size. The machine is shared and noisy: compare within a table, "
      "not across runs.\n")
    w("- **held**: crash → the parent's `waitpid()` returns (the dying process is released)")
    w("- **CPU**: handler user+system time, waited-for children included; **RSS**: handler peak RSS")
    w("- **stored core**: the compressed core on disk (`*.zst`), apparent size")
    w("- **listed / stored**: mortem: crash → `mortem -c CONF list --json` shows it (polled every "
      "%.0f ms from the moment the crasher is reaped; end of the first poll that shows it). "
      "Others: crash → the handler exits (the core file is complete)\n" % (args.poll * 1000))

    sizes = sorted(set(k[1] for k in order if k[0] == "run"))
    for size in sizes:
        keys = [k for k in order if k[0] == "run" and k[1] == size]
        floor = rows.get(("run", size, keys[0][2], "drain"))
        f_held = med([r["held_ms"] for r in floor]) if floor else None
        f_cpu = med([r.get("cpu_ms") for r in floor]) if floor else None
        core = med([r.get("core_bytes") for r in floor]) if floor else None
        w("## %s MiB %s crash%s\n" % (size, keys[0][2],
                                       " (raw core %.1f MiB)" % (core / 2**20) if core else ""))
        w("| handler | n | held s | held / floor | CPU s | CPU / floor | peak RSS MiB | stored core MiB | ratio | listed / stored s |")
        w("|---|---|---|---|---|---|---|---|---|---|")
        for k in keys:
            rs = rows[k]
            held = med([r["held_ms"] for r in rs])
            cpu = med([r.get("cpu_ms") for r in rs])
            stored = [r["stored_core"] / 2**20 for r in rs] if any(r["stored_core"] for r in rs) else []
            rat = fmt([core / r["stored_core"] for r in rs if r["stored_core"]], 1, 2) if core and stored else "—"
            lst = [r.get("listed_ms") for r in rs] if any(r.get("listed_ms") for r in rs) \
                else ([r.get("done_ms") for r in rs] if k[3] != "drain" else [])
            tag = " (listed)" if any(r.get("listed_ms") for r in rs) else ""
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s%s |" % (
                k[3], len(rs), fmt([r["held_ms"] for r in rs], 1e-3), ratio(held, f_held),
                fmt([r.get("cpu_ms") for r in rs], 1e-3), ratio(cpu, f_cpu),
                fmt([r.get("rss_mb") for r in rs], 1, 1), fmt(stored, 1, 1) if stored else "—", rat,
                fmt(lst, 1e-3) if lst else "—", tag))
        w("")
        w("ratio = raw core / stored core.\n")

    storms = [k for k in order if k[0] == "storm"]
    if storms:
        w("## Storm: %d crashers crash at the same instant\n" % rows[storms[0]][0]["n"])
        w("| handler | MiB | all released s | held median / max s | CPU s (sum) | peak RSS MiB | cores kept | stored core MiB | all listed / stored s |")
        w("|---|---|---|---|---|---|---|---|---|")
        for k in storms:
            for r in rows[k]:
                kept = sum(1 for f in r.get("files", []) if f.endswith(".zst"))
                lst = r.get("listed_ms") if r.get("listed_ms") else (r.get("done_ms") if k[3] != "drain" else None)
                w("| %s | %d | %.2f | %.2f / %.2f | %.1f | %.1f | %s | %s | %s |" % (
                    k[3], k[1], r["all_reaped_ms"] / 1e3, r["held_ms_median"] / 1e3, r["held_ms_max"] / 1e3,
                    (r.get("cpu_ms") or 0) / 1e3, r.get("rss_mb") or 0,
                    "%d/%d" % (r.get("n_zst", kept), r["n"]) if k[3] != "drain" else "—",
                    "%.1f" % (r["stored_core"] / 2**20) if r["stored_core"] else "—",
                    "%.2f" % (lst / 1e3) if lst else "—"))
        w("")

    # Targets, from the same run.
    w("## Targets\n")

    def get(label, size, key, agg=med):
        rs = rows.get(("run", size, "mixed", label))
        return agg([r.get(key) for r in rs]) if rs else None

    def verdict(ok):
        return "—" if ok is None else ("**met**" if ok else "**missed**")
    w("| target | measured | verdict |")
    w("|---|---|---|")
    h, f = get("mortem", 1024, "held_ms"), get("drain", 1024, "held_ms")
    w("| held, 1 GiB mixed ≤ 2.0 × floor | %s / %s s = %s | %s |" % (
        "%.2f" % (h / 1e3) if h else "—", "%.2f" % (f / 1e3) if f else "—", ratio(h, f),
        verdict(h / f <= 2.0 if h and f else None)))
    for size in (1024, 4096):
        m = get("mortem", size, "rss_mb", lambda v: max([x for x in v if x is not None], default=None))
        w("| mortem-collect peak RSS ≤ 64 MiB at %d MiB (max over runs) | %s | %s |" % (
            size, "%.1f MiB" % m if m else "not measured", verdict(m <= 64 if m else None)))
    for size in (64, 1024):
        l, s = get("mortem", size, "listed_ms"), get("systemd-coredump", size, "done_ms")
        w("| listed ≤ 0.5 × systemd-coredump stored, %d MiB | %s / %s s = %s | %s |" % (
            size, "%.2f" % (l / 1e3) if l else "—", "%.2f" % (s / 1e3) if s else "not measured",
            ratio(l, s), verdict(l <= 0.5 * s if l and s else None)))
    for size in (64, 1024):
        m, z = get("mortem", size, "stored_core"), get("zstd-3", size, "stored_core")
        w("| stored core within 5 %% of `zstd -3`, %d MiB | %s / %s MiB = %s | %s |" % (
            size, "%.1f" % (m / 2**20) if m else "—", "%.1f" % (z / 2**20) if z else "—",
            ratio(m, z, 3), verdict(abs(m / z - 1) <= 0.05 if m and z else None)))
    w("")
    text = "\n".join(out) + "\n"
    if args.extra:
        text += "\n" + open(args.extra).read()
    if args.o:
        with open(args.o, "w") as fo:
            fo.write(text)
    else:
        sys.stdout.write(text)


def cmd_storm_report(args):
    """The "Crash storm" section of BENCHMARKS.md from `storm` records (run.sh storm)."""
    rs = [json.loads(ln) for path in args.files for ln in open(path) if ln.strip()]
    rs = [r for r in rs if r["type"] == "storm"]
    if not rs:
        sys.exit("storm-report: no storm records")
    labels = []
    for r in rs:
        if r["label"] not in labels:
            labels.append(r["label"])
    floor = {r["round"]: r for r in rs if r["label"] == args.floor}
    n, size = rs[0]["n"], rs[0]["size_mib"]
    out = []
    w = out.append
    w("## Crash storm\n")
    w("Generated by `bench/run.sh BUILD storm` (`crashbench.py storm` + `storm-report`); "
      "a separate run from the tables above.\n")
    w("- command: `%s`" % args.cmdline)
    w("- date: %s" % (args.date or datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")))
    w("- machine: %d CPUs (nproc), %.1f GiB RAM, kernel %s, %s" % (
        os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        platform.release(), args.machine or platform.machine()))
    for note in args.note or []:
        w("- %s" % note)
    w("")
    w("%d crashers (`crasher -s %d -t 4 -m mixed -k segv`, one seed each) are started and "
      "all crash at the same CLOCK_MONOTONIC instant (%.0f s after the spawn; the spread of "
      "their crash timestamps is in the table). One row per handler and round; the rounds "
      "run the handlers one after the other, and the ratio to the floor pairs each row with "
      "the floor of **its own round**.\n" % (n, size, rs[0].get("lead_s") or 4))
    w("- **all released**: first crash → the last crasher's `waitpid()` returns; "
      "**held**: per crasher, its crash → its `waitpid()`")
    w("- **CPU**: sum over the %d handler processes (hwrap `wait4()`, waited-for children included)" % n)
    w("- **peak RSS, one**: the largest per-process peak (`ru_maxrss`) among the handlers; "
      "**Σ peaks**: the per-process peaks summed over all handlers — an upper bound of the "
      "total for the handler processes themselves (the peaks need not coincide), though not "
      "a strict one for mortem: a forked child's peak is folded into its parent's as a max, "
      "not a sum")
    w("- **sampled total**: every %.0f ms, the RSS of every process running the handler's "
      "program (`/proc/PID/exe`; for mortem that includes the analysis children, which are "
      "forks) summed; the peak of that sum, then of its anonymous part (RSS − shared "
      "file pages, which the plain sum counts once per process)" % (rs[0].get("rss_sample_ms") or 50))
    w("- **records**: `mortem -c CONF list --json` after the storm has settled (mortem "
      "only); **full cores**: `*.zst` in the store; **metadata-only**: "
      "records whose `core.status` is not `stored`")
    w("- **all listed / done**: first crash → `mortem list --json` shows %d records (polled "
      "every 20 ms from the moment the last crasher is reaped) / the last handler exits\n" % n)

    def s(ms):
        return "%.2f" % (ms / 1e3) if ms is not None else "—"

    def mb(v):
        return "%.0f" % v if v is not None else "—"
    w("| handler | round | crash spread ms | all released s | / floor | held median / max s | CPU s | peak RSS, one MiB | Σ peaks MiB | sampled total MiB (anon) | handlers | records | full cores | metadata-only | stored core MiB | all listed s | all done s |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for lab in labels:
        for r in [r for r in rs if r["label"] == lab]:
            f = floor.get(r["round"])
            st = r.get("core_status") or {}
            nl = r.get("n_listed")
            is_m = nl is not None
            w("| %s | %d | %.1f | %s | %s | %s / %s | %.1f | %.1f | %s | %s | %d | %s | %s | %s | %s | %s | %s |" % (
                lab, r["round"], r["crash_spread_ms"], s(r["all_reaped_ms"]),
                ratio(r["all_reaped_ms"], f["all_reaped_ms"]) if f else "—",
                s(r["held_ms_median"]), s(r["held_ms_max"]), (r.get("cpu_ms") or 0) / 1e3,
                r.get("rss_mb") or 0, mb(r.get("rss_sum_mb")),
                "%s (%s)" % (mb(r.get("rss_sampled_mb")), mb(r.get("rss_sampled_anon_mb")))
                if r.get("rss_sampled_mb") is not None else "—",
                r.get("n_hrec", 0),
                "%d" % nl if is_m else "—",
                "%d/%d" % (r["n_zst"], n) if lab != args.floor else "—",
                "%d" % (nl - st.get("stored", 0)) if is_m else "—",
                "%.1f" % (r["stored_core"] / 2**20) if r.get("stored_core") else "—",
                s(r.get("listed_ms")), s(r.get("done_ms"))))
    w("")
    for lab in labels:
        for r in [r for r in rs if r["label"] == lab and r.get("core_reasons")]:
            w("- %s, round %d: `core.status` %s; reasons: %s" % (
                lab, r["round"], ", ".join("%s %d" % kv for kv in sorted(r["core_status"].items())),
                "; ".join("“%s” × %d" % kv for kv in sorted(r["core_reasons"].items()))))
    w("")

    # Targets: each must hold in every round.
    def verdict(oks):
        oks = [o for o in oks if o is not None]
        return "—" if not oks else ("**met**" if all(oks) else "**missed**")
    m = [r for r in rs if r["label"] == args.target]
    w("### Targets (%s, every round)\n" % args.target)
    w("| target | measured | verdict |")
    w("|---|---|---|")
    rec_ok = [r.get("n_listed") == n and r.get("n_listed_pids") == n and r["n_zst"] == n
              and r.get("n_hrec") == n and r.get("wcoredump") == n for r in m]
    w("| all %d recorded, none lost | %s | %s |" % (n, "; ".join(
        "round %d: %s handlers ran, %s records (%s pids), %d/%d full cores, %d/%d crashers WCOREDUMP" % (
            r["round"], r.get("n_hrec"), r.get("n_listed"), r.get("n_listed_pids"), r["n_zst"], n,
            r.get("wcoredump", 0), n) for r in m), verdict(rec_ok)))
    rel = [(r, floor.get(r["round"])) for r in m]
    w("| all released ≤ 1.5 × the floor, same round | %s | %s |" % ("; ".join(
        "round %d: %s / %s s = %s" % (r["round"], s(r["all_reaped_ms"]), s(f["all_reaped_ms"]) if f else "—",
                                       ratio(r["all_reaped_ms"], f["all_reaped_ms"]) if f else "—") for r, f in rel),
        verdict([r["all_reaped_ms"] <= 1.5 * f["all_reaped_ms"] if f else None for r, f in rel])))
    w("| peak total memory of all collectors < 1 GiB (sampled total) | %s | %s |" % ("; ".join(
        "round %d: %s MiB (anon %s; Σ per-process peaks %s)" % (
            r["round"], mb(r.get("rss_sampled_mb")), mb(r.get("rss_sampled_anon_mb")), mb(r.get("rss_sum_mb")))
        for r in m), verdict([r["rss_sampled_mb"] < 1024 if r.get("rss_sampled_mb") is not None else None for r in m])))
    w("| the same, on the upper bound Σ per-process peaks < 1 GiB | %s | %s |" % (
        "; ".join("round %d: %s MiB" % (r["round"], mb(r.get("rss_sum_mb"))) for r in m),
        verdict([r["rss_sum_mb"] < 1024 if r.get("rss_sum_mb") is not None else None for r in m])))
    w("")
    text = "\n".join(out) + "\n"
    if args.extra:
        text += "\n" + open(args.extra).read()
    if not args.splice:
        sys.stdout.write(text)
        return
    # Replace the "## Crash storm" section (up to the next "## " heading) or append it.
    try:
        old = open(args.splice).read().splitlines(keepends=True)
    except FileNotFoundError:
        old = []
    start = next((i for i, ln in enumerate(old) if ln.rstrip() == "## Crash storm"), None)
    if start is None:
        body = "".join(old).rstrip("\n")
        new = (body + "\n\n" if body else "") + text
    else:
        end = next((i for i in range(start + 1, len(old)) if old[i].startswith("## ")), len(old))
        new = "".join(old[:start]) + text + ("\n" + "".join(old[end:]) if end < len(old) else "")
    with open(args.splice, "w") as fo:
        fo.write(new)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("run", "storm"):
        p = sub.add_parser(name)
        p.add_argument("--handler", required=True, help="exact core_pattern string")
        p.add_argument("--label", required=True)
        p.add_argument("--pipe-limit", type=int, default=0, help="core_pipe_limit during the runs")
        p.add_argument("--size", type=int, default=64, help="MiB of touched memory")
        p.add_argument("--threads", type=int, default=4)
        p.add_argument("--mode", default="mixed", choices=["random", "text", "zero", "mixed"])
        p.add_argument("--kind", default="segv", choices=["segv", "abort", "stack", "bus", "fpe", "ill"])
        p.add_argument("--runs", type=int, default=3)
        p.add_argument("--store", action="append", default=[], help="dir(s) where the handler stores cores")
        p.add_argument("--match", default=None, help="only count/clean store files matching this glob")
        p.add_argument("--clean", action="store_true", help="empty the --store dirs (--match) before each run")
        p.add_argument("--expect", type=int, default=1, help="hwrap records per crash")
        p.add_argument("--list-cmd", default=None, help="shell command printing a JSON array of crashes")
        p.add_argument("--poll", type=float, default=0.02)
        p.add_argument("--timeout", type=float, default=600)
        p.add_argument("--grace", type=float, default=0.2)
        p.add_argument("--pause", type=float, default=0.5)
        p.add_argument("--out", help="append JSON lines here")
        if name == "storm":
            p.add_argument("--n", type=int, default=20)
            p.add_argument("--lead", type=float, default=4.0, help="seconds from spawn to the common crash instant")
            p.add_argument("--settle", type=float, default=30.0, help="stop waiting if no handler finishes for this long")
            p.add_argument("--sample-exe", default=None, help="sample the summed RSS of processes running this program")
            p.add_argument("--sample-ms", type=float, default=50.0)
            p.add_argument("--round", type=int, default=0, help="which round of the invocation (ratios pair rounds)")
    p = sub.add_parser("report")
    p.add_argument("files", nargs="+")
    p.add_argument("--cmdline", default="bench/run.sh")
    p.add_argument("--date", default=None)
    p.add_argument("--machine", default=None)
    p.add_argument("--note", action="append")
    p.add_argument("--poll", type=float, default=0.02)
    p.add_argument("--extra", default=None, help="append this markdown file")
    p.add_argument("-o", default=None)
    p = sub.add_parser("storm-report", help='the "Crash storm" section of BENCHMARKS.md')
    p.add_argument("files", nargs="+")
    p.add_argument("--cmdline", default="bench/run.sh BUILD storm")
    p.add_argument("--date", default=None)
    p.add_argument("--machine", default=None)
    p.add_argument("--note", action="append")
    p.add_argument("--floor", default="drain")
    p.add_argument("--target", default="mortem", help="the label the targets are judged on")
    p.add_argument("--extra", default=None, help="append this markdown file to the section")
    p.add_argument("--splice", default=None,
                   help='replace the "## Crash storm" section of this file (or append it)')
    args = ap.parse_args()
    if args.cmd == "report":
        return cmd_report(args)
    if args.cmd == "storm-report":
        return cmd_storm_report(args)
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    for d in args.store:
        os.makedirs(d, exist_ok=True)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, lambda *a: (OWNER.release(), os._exit(130)))
    OWNER.acquire()
    try:
        OWNER.install(args.handler, args.pipe_limit)
        (cmd_run if args.cmd == "run" else cmd_storm)(args)
    finally:
        OWNER.release()


if __name__ == "__main__":
    main()
