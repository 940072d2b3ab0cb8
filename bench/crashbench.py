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
  daemon-report run/storm records of bench/daemon.sh -> the "mortemd" section
  notify-listen SOCK LOG   a stand-in for systemd's NOTIFY_SOCKET: logs what
          mortemd sends (READY=1, STATUS=...) with a CLOCK_MONOTONIC stamp

With --daemon-pid (mortemd, bench/daemon.sh) `run` and `storm` also sample the
daemon and its workers (/proc/PID/status: RssAnon, RssFile, RssShmem) every
--daemon-sample-ms, wait until the daemon has had no worker for --idle-quiet s
after each crash set ("done"), and read the daemon's taken/inline/rejected
counters from its STATUS lines (--notify-log) before and after.

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


def poll_listed(cmd, want, poll, timeout, out, pids=()):
    """Run `cmd` (prints a JSON array) until it has >= want entries, not counting
    crashes still being processed (`mortem list` shows those with core.status
    "pending" since the pending notes; they have no record yet). out["per"]: for
    each of pids, the end of the first poll that showed it listed (not pending)."""
    t_end = time.monotonic() + timeout
    per = out.setdefault("per", {})
    while time.monotonic() < t_end:
        try:
            p = subprocess.run(cmd, shell=True, capture_output=True, timeout=30)
            rows = json.loads(p.stdout or b"[]") if p.returncode == 0 else []
            now = time.monotonic_ns()
            for r in rows:
                if r.get("pid") in pids and r.get("pid") not in per and \
                        ((r.get("core") or {}).get("status")) != "pending":
                    per[r.get("pid")] = now
            if sum(1 for r in rows if ((r.get("core") or {}).get("status")) != "pending") >= want:
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
    args.crash_pids = [p.pid for p in procs]
    args.crash_ts = dict(zip(args.crash_pids, crash_ts))
    for t in ths:
        t.join()
    for p in procs:
        p.returncode = 0  # reaped by us; keep Popen quiet
    listed = {}
    lt = None
    if args.list_cmd:
        lt = threading.Thread(target=poll_listed, args=(args.list_cmd, n, args.poll, args.timeout, listed,
                                                        set(args.crash_pids)))
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
    rec = dict(type=kind, label=args.label, handler=args.handler, pipe_limit=args.pipe_limit,
               size_mib=args.size, threads=args.threads, mode=args.mode, crash=args.kind)
    if args.phase is not None:
        rec["phase"] = args.phase
    if args.daemon_label is not None:
        rec["daemon"] = args.daemon_label
    return rec


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
    # per crash: its own crash instant -> the first poll that showed it listed
    per = sorted((t - args.crash_ts[pid]) / 1e6 for pid, t in listed.get("per", {}).items()
                 if args.crash_ts.get(pid))
    if per:
        rec.update(listed_each_ms=per, listed_each_ms_median=statistics.median(per),
                   listed_each_ms_max=per[-1], listed_each_n=len(per))
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
        dm = daemon_begin(args)
        cts, reaped, lt, listed = one_crash_set(args, 1, 0)
        t0, (t_reap, st) = cts[0], reaped[0]
        rec = base_rec(args, "run")
        rec.update(run=i, round=args.round, held_ms=(t_reap - t0) / 1e6,
                   signal=os.WTERMSIG(st) if os.WIFSIGNALED(st) else None, wcoredump=bool(os.WCOREDUMP(st)))
        rec.update(finish_set(args, t0, lt, listed, args.expect, 0))
        if dm:
            rec.update(daemon_end(args, dm, t0))
        if args.list_cmd:
            rec.update(list_census(args.list_cmd, args.crash_pids))
        emit(args, rec)
        if dm and not rec["md_alive"]:
            sys.exit("crashbench: mortemd (pid %d) died during the run" % args.daemon_pid)


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


def proc_rss_kb(pid):
    """RssAnon, RssFile, RssShmem of /proc/PID/status in KiB, or None (gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            txt = f.read()
    except OSError:
        return None
    v = dict(RssAnon=0, RssFile=0, RssShmem=0)
    for ln in txt.splitlines():
        k, _, rest = ln.partition(":")
        if k in v:
            v[k] = int(rest.split()[0])
    return v


def proc_children(pid):
    out = []
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


class DaemonSampler(threading.Thread):
    """Every `period` s: mortemd's own RssAnon, RssFile, RssShmem (the pool is
    its shared anonymous mapping, so RssShmem; "outside the pool" is RssAnon +
    RssFile), each worker's (its direct children, forks: the same split; a
    worker's RssShmem is the part of the pool it has touched), and below them
    the workers' own children (the analysis sandbox). Peaks are of samples: a
    spike shorter than the period can be missed. Also remembers when it last
    saw a worker, to tell when the daemon has finished the crash set."""

    def __init__(self, pid, period):
        super().__init__(daemon=True)
        self.pid, self.period = pid, period
        self.stop_ev = threading.Event()
        self.alive = True
        self.first = None                      # the daemon before the crash set
        self.d_af = self.d_anon = self.d_file = 0
        self.d_shm_min = self.d_shm_max = None
        self.w_af = self.w_anon = self.w_shm = self.w_sum = self.w_n = 0
        self.sub_af = 0
        self.samples = 0
        self.last_ns = self.last_child_ns = 0
        self.saw_child = False

    def sample(self):
        d = proc_rss_kb(self.pid)
        now = time.monotonic_ns()
        if d is None:
            self.alive = False
            return
        if self.first is None:
            self.first = d
        self.d_anon = max(self.d_anon, d["RssAnon"])
        self.d_file = max(self.d_file, d["RssFile"])
        self.d_af = max(self.d_af, d["RssAnon"] + d["RssFile"])
        sh = d["RssShmem"]
        self.d_shm_min = sh if self.d_shm_min is None else min(self.d_shm_min, sh)
        self.d_shm_max = sh if self.d_shm_max is None else max(self.d_shm_max, sh)
        kids = proc_children(self.pid)
        tot = n = 0
        for k in kids:
            w = proc_rss_kb(k)
            if w is None:
                continue
            n += 1
            af = w["RssAnon"] + w["RssFile"]
            tot += af
            self.w_af = max(self.w_af, af)
            self.w_anon = max(self.w_anon, w["RssAnon"])
            self.w_shm = max(self.w_shm, w["RssShmem"])
            todo = proc_children(k)
            while todo:
                g = todo.pop()
                r = proc_rss_kb(g)
                if r is not None:
                    self.sub_af = max(self.sub_af, r["RssAnon"] + r["RssFile"])
                    todo += proc_children(g)
        self.w_sum = max(self.w_sum, tot)
        self.w_n = max(self.w_n, n)
        if kids:
            self.last_child_ns = now
            self.saw_child = True
        self.last_ns = now
        self.samples += 1

    def run(self):
        while not self.stop_ev.is_set() and self.alive:
            self.sample()
            self.stop_ev.wait(self.period)

    def wait_idle(self, quiet, timeout):
        """Until no worker has been seen for `quiet` s (counted from now at the
        earliest): the CLOCK_MONOTONIC ns of the last sample that saw one, or
        None (none seen, or still busy after `timeout` s, or the daemon died)."""
        since = time.monotonic_ns()
        t_end = time.monotonic() + timeout
        while time.monotonic() < t_end and self.alive:
            if self.last_ns - max(self.last_child_ns, since) >= quiet * 1e9:
                return self.last_child_ns if self.saw_child else None
            time.sleep(0.02)
        return None

    def result(self):
        self.stop_ev.set()
        self.join()
        kib = lambda v: v / 1024 if v is not None else None
        f = self.first or {}
        return dict(md_alive=self.alive, md_samples=self.samples, md_sample_ms=self.period * 1e3,
                    md_idle_anon_file_mb=kib(f.get("RssAnon", 0) + f.get("RssFile", 0)) if f else None,
                    md_anon_file_mb=kib(self.d_af), md_anon_mb=kib(self.d_anon), md_file_mb=kib(self.d_file),
                    md_shmem_min_mb=kib(self.d_shm_min), md_shmem_max_mb=kib(self.d_shm_max),
                    worker_anon_file_mb=kib(self.w_af), worker_anon_mb=kib(self.w_anon),
                    worker_shmem_mb=kib(self.w_shm), workers_sum_mb=kib(self.w_sum), workers_n=self.w_n,
                    worker_child_anon_file_mb=kib(self.sub_af))


STATUS_RE = None


def notify_status(path, after_ns=None, wait_s=3.0):
    """The last STATUS= line mortemd sent (bench notify-listen log) as a dict;
    with after_ns, wait up to wait_s for one stamped later that says the daemon
    is idle (0 receiving, 0 queued, 0 working)."""
    import re
    global STATUS_RE
    if STATUS_RE is None:
        # (the spilled parts since 19aa69c)
        STATUS_RE = re.compile(r"STATUS=(?:stopping: )?(\d+) receiving, (\d+) queued, (\d+) working; "
                               r"pool (\d+)/(\d+) MiB free(?:, \d+ MiB spilled)?; (\d+) taken, "
                               r"(?:(\d+) spilled, )?(\d+) inline, (\d+) rejected")
    if not path:
        return None
    t_end = time.monotonic() + (wait_s if after_ns else 0)
    while True:
        last = None
        try:
            with open(path) as f:
                for ln in f:
                    ts, _, payload = ln.partition(" ")
                    m = STATUS_RE.search(payload)
                    if m:
                        v = [int(x or 0) for x in m.groups()]
                        last = dict(ts=int(ts), receiving=v[0], queued=v[1], working=v[2], pool_free_mib=v[3],
                                    pool_mib=v[4], taken=v[5], spilled=v[6], inline=v[7], rejected=v[8])
        except (OSError, ValueError):
            pass
        if not after_ns:
            return last
        if last and last["ts"] > after_ns and not (last["receiving"] or last["queued"] or last["working"]):
            return last
        if time.monotonic() >= t_end:
            if last:
                last["stale"] = True
            return last
        time.sleep(0.1)


def daemon_begin(args):
    """Before a crash set: start sampling mortemd; its counters now."""
    if not args.daemon_pid:
        return None
    if proc_rss_kb(args.daemon_pid) is None:
        sys.exit("crashbench: mortemd (pid %d) is not running" % args.daemon_pid)
    s = DaemonSampler(args.daemon_pid, args.daemon_sample_ms / 1e3)
    s.start()
    return s, notify_status(args.notify_log)


def daemon_end(args, dm, t0):
    """After a crash set: wait until mortemd is idle; samples and counters."""
    s, st0 = dm
    idle = s.wait_idle(args.idle_quiet, args.timeout)
    st1 = notify_status(args.notify_log, after_ns=max(idle or 0, s.last_child_ns) or time.monotonic_ns())
    rec = s.result()
    rec.update(md_done_ms=(idle - t0) / 1e6 if idle else None, md_idle=idle is not None)
    if st0 and st1:
        rec.update(md_taken=st1["taken"] - st0["taken"], md_inline=st1["inline"] - st0["inline"],
                   md_spilled=st1["spilled"] - st0["spilled"],
                   md_rejected=st1["rejected"] - st0["rejected"], md_pool_mib=st1["pool_mib"],
                   md_pool_free_mib=st1["pool_free_mib"], md_status_stale=bool(st1.get("stale")))
    return rec


def list_census(cmd, pids=None):
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
    out = dict(n_listed=len(rows), n_listed_pids=len(set(r.get("pid") for r in rows)),
               core_status=status, core_reasons=reasons)
    if pids is not None:
        # mortemd: the crashers' own records, how they came (collector.mode) and in what final form
        ours = [r for r in rows if r.get("pid") in set(pids)]
        modes, levels, held, an_rss, an_ms, an_st = {}, {}, [], [], [], {}
        for r in ours:
            c = r.get("core") or {}
            a = r.get("analysis") or {}
            st = a.get("status", "none")
            if st != "ok" and a.get("error"):
                st = "%s (%s)" % (st, a["error"])
            an_st[st] = an_st.get(st, 0) + 1
            if a.get("max_rss_kib") is not None:
                an_rss.append(a["max_rss_kib"] / 1024)
            if a.get("duration_ms") is not None:
                an_ms.append(a["duration_ms"])
            m = (r.get("collector") or {}).get("mode", "?")
            modes[m] = modes.get(m, 0) + 1
            lv = str(c.get("level"))
            levels[lv] = levels.get(lv, 0) + 1
            if c.get("held_usec") is not None:
                held.append(c["held_usec"])
        out.update(n_ours=len(ours), n_ours_pids=len(set(r.get("pid") for r in ours)),
                   n_ours_stored=sum(1 for r in ours if (r.get("core") or {}).get("status") == "stored"),
                   n_ours_whole=sum(1 for r in ours if (r.get("core") or {}).get("size") and
                                    (r.get("core") or {}).get("size") == (r.get("core") or {}).get("expected_size")),
                   collector_modes=modes, core_levels=levels,
                   rec_held_ms_max=max(held) / 1e3 if held else None,
                   rec_held_ms_median=statistics.median(held) / 1e3 if held else None,
                   analysis_status=an_st,
                   analysis_rss_max_mb=max(an_rss) if an_rss else None,
                   analysis_ms_max=max(an_ms) if an_ms else None)
    return out


def cmd_storm(args):
    for i in range(args.runs):
        prepare(args)
        dm = daemon_begin(args)
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
        if dm:
            rec.update(daemon_end(args, dm, t0))
        if args.list_cmd:
            rec.update(list_census(args.list_cmd, args.crash_pids))
        emit(args, rec)
        if dm and not rec["md_alive"]:
            sys.exit("crashbench: mortemd (pid %d) died during the storm" % args.daemon_pid)


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
    splice_section(args.splice, "## Crash storm", text)


def splice_section(path, heading, text):
    """Replace the section `heading` of the file (up to the next "## " heading) with
    text, or append text when the file has no such section."""
    try:
        old = open(path).read().splitlines(keepends=True)
    except FileNotFoundError:
        old = []
    start = next((i for i, ln in enumerate(old) if ln.rstrip() == heading), None)
    if start is None:
        body = "".join(old).rstrip("\n")
        new = (body + "\n\n" if body else "") + text
    else:
        end = next((i for i in range(start + 1, len(old)) if old[i].startswith("## ")), len(old))
        new = "".join(old[:start]) + text + ("\n" + "".join(old[end:]) if end < len(old) else "")
    with open(path, "w") as fo:
        fo.write(new)


def cmd_notify_listen(args):
    """Bind SOCK (AF_UNIX datagram, what sd_notify() sends to) and append each
    message to LOG as "MONO_NS payload" (newlines in the payload become " | ")."""
    import socket
    try:
        os.unlink(args.sock)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(args.sock)
    os.chmod(args.sock, 0o600)
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    with open(args.log, "a") as f:
        while True:
            data = s.recv(65536)
            f.write("%d %s\n" % (time.monotonic_ns(), data.decode(errors="replace").strip().replace("\n", " | ")))
            f.flush()


def cmd_daemon_report(args):
    """The "mortemd" section of BENCHMARKS.md from bench/daemon.sh's records."""
    rs = [json.loads(ln) for path in args.files for ln in open(path) if ln.strip()]
    held = [r for r in rs if r["type"] == "run" and r.get("phase") == "held"]
    storms = [r for r in rs if r["type"] == "storm"]
    if not held and not storms:
        sys.exit("daemon-report: no records")
    out = []
    w = out.append

    def s(ms):
        return "%.2f" % (ms / 1e3) if ms is not None else "—"

    def mb(v, nd=0):
        return ("%%.%df" % nd) % v if v is not None else "—"

    def verdict(oks):
        oks = [o for o in oks if o is not None]
        return "—" if not oks else ("**met**" if all(oks) else "**missed**")

    def pool_name(recs, default):
        """The mortemd label and the pool it reported (STATUS), e.g. "PoolSize default (2048 MiB)"."""
        dl = next((r.get("daemon") for r in recs if r.get("daemon")), default)
        mib = next((r.get("md_pool_mib") for r in recs if r.get("md_pool_mib")), None)
        return "%s (%d MiB)" % (dl, mib) if mib else dl

    def an_check(what, recs):
        """Not a target of the issue, a check: every record has its stack trace."""
        tot = {}
        for r in recs:
            for k, v in (r.get("analysis_status") or {}).items():
                tot[k] = tot.get(k, 0) + v
        n_all = sum(r.get("n_ours") or 0 for r in recs)
        return ("(check) %s: every record analysed (`analysis.status` ok)" % what,
                ", ".join("%s %d" % kv for kv in sorted(tot.items())) or "—",
                verdict([tot.get("ok", 0) == n_all] if tot else [None]))

    def labels_of(recs):
        ls = []
        for r in recs:
            if r["label"] not in ls:
                ls.append(r["label"])
        return ls

    def recs_line(r):
        if r.get("n_ours") is None:
            return "—"
        n = r.get("n", 1)
        modes = ", ".join("%s %d" % kv for kv in sorted((r.get("collector_modes") or {}).items()))
        lv = ", ".join("%s × %d" % kv for kv in sorted((r.get("core_levels") or {}).items()))
        an = ", ".join("%s %d" % kv for kv in sorted((r.get("analysis_status") or {}).items()))
        return "%d/%d stored, %d whole; mode: %s; level %s; analysis: %s" % (
            r.get("n_ours_stored", 0), n, r.get("n_ours_whole", 0), modes or "—", lv or "—", an or "—")

    w("## mortemd\n")
    w("Generated by `bench/run.sh BUILD daemon` (bench/daemon.sh: `crashbench.py run|storm "
      "--daemon-pid` + `daemon-report`); a separate run from the tables above.\n")
    w("- command: `%s`" % args.cmdline)
    w("- date: %s" % (args.date or datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %z")))
    w("- machine: %d CPUs (nproc), %.1f GiB RAM, kernel %s, %s" % (
        os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30,
        platform.release(), args.machine or platform.machine()))
    for note in args.note or []:
        w("- %s" % note)
    w("")
    w("- **held**: crash → the crasher's parent's `waitpid()` returns, as in the tables above; "
      "**/ floor**: median over the median of `drain` in this run; **per round**: the range of "
      "the ratio to the floor of the same round")
    w("- **listed**: crash → `mortem list --json` shows it (polled every 20 ms from the reap); "
      "**done**: crash → mortemd has no worker left (sampled; the last sample that saw one), "
      "or for the collector alone its exit (hwrap); **hand-off**: crash → mortem-collect "
      "exits after handing the pipe over (hwrap; mortemd keeps the pipe, so the process "
      "stays held until mortemd has read it all)")
    w("- **records**: the crashers' own records in `mortem list --json` once mortemd is idle: "
      "`core.status` stored, **whole** = `core.size` = `core.expected_size`, `collector.mode`, "
      "`core.level` (3 = recompressed after the release)")
    w("- **taken / spilled / inline**: mortemd's own counters (its `STATUS=` line, sent to a stand-in "
      "NOTIFY_SOCKET), the difference over the configuration: cores released from the pool or the "
      "spill / of those, spilled to disk because the pool could not hold them / compressed inline "
      "(the process waits)")
    w("- **memory**: `/proc/PID/status` of mortemd and of its workers (its children; their "
      "own children, the analysis sandbox, apart), sampled every %.0f ms during every "
      "configuration: **outside the pool** = RssAnon + RssFile; the pool is RssShmem\n"
      % ((held or storms)[0].get("md_sample_ms") or 50))

    targets = []   # (target, measured, verdict)

    # ---- held time
    if held:
        floor = {r["round"]: r for r in held if r["label"] == "drain"}
        f_med = med([r["held_ms"] for r in floor.values()])
        nr = len(floor)
        w("### Held time: %d MiB mixed crash, %d round%s\n" % (held[0]["size_mib"], nr, "" if nr == 1 else "s"))
        w("Each round runs the configurations one after the other, the floor first, each "
          "with its own lock, install and restore of core_pattern; mortemd is started "
          "before the first round and idle before every crash (the next crash waits "
          "until it has no worker).\n")
        w("| configuration | n | held s | / floor | per round | listed s | done s | hand-off ms | records | "
          "mortemd RssAnon+RssFile peak MiB | worker peak MiB |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        for lab in labels_of(held):
            g = [r for r in held if r["label"] == lab]
            h = med([r["held_ms"] for r in g])
            per = [r["held_ms"] / floor[r["round"]]["held_ms"] for r in g if r["round"] in floor]
            done = [r.get("md_done_ms") for r in g] if any(r.get("md_done_ms") for r in g) else \
                ([r.get("done_ms") for r in g] if lab != "drain" else [])
            handoff = [r.get("done_ms") for r in g] if any(r.get("md_done_ms") for r in g) and \
                any(r.get("n_hrec") for r in g) else []
            stored = sum(r.get("n_ours_stored", 0) for r in g)
            modes, ans = {}, {}
            for r in g:
                for k, v in (r.get("collector_modes") or {}).items():
                    modes[k] = modes.get(k, 0) + v
                for k, v in (r.get("analysis_status") or {}).items():
                    ans[k] = ans.get(k, 0) + v
            recs = "—" if lab == "drain" or all(r.get("n_ours") is None for r in g) else "%d/%d stored; mode %s; analysis %s" % (
                stored, len(g), ", ".join("%s %d" % kv for kv in sorted(modes.items())) or "?",
                ", ".join("%s %d" % kv for kv in sorted(ans.items())) or "?")
            w("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                lab, len(g), fmt([r["held_ms"] for r in g], 1e-3), ratio(h, f_med),
                ("%.2f–%.2f×" % (min(per), max(per))) if per and lab != "drain" else "—",
                fmt([r.get("listed_ms") for r in g], 1e-3), fmt(done, 1e-3) if done else "—",
                fmt(handoff, 1, 1) if handoff else "—", recs,
                mb(max([r["md_anon_file_mb"] for r in g if r.get("md_anon_file_mb") is not None], default=None), 1),
                mb(max([r["worker_anon_file_mb"] for r in g if r.get("worker_anon_file_mb")], default=None), 1)))
        w("")
        for lab, name in (("socket", "“@@” (socket)"), ("handoff", "pipe with hand-off")):
            g = [r for r in held if r["label"] == lab]
            if not g:
                continue
            h = med([r["held_ms"] for r in g])
            targets.append(("held, %d MiB mixed, %s ≤ 1.2 × floor (medians, same run)" % (g[0]["size_mib"], name),
                            "%s / %s s = %s" % (s(h), s(f_med), ratio(h, f_med)),
                            verdict([h <= 1.2 * f_med if h and f_med else None])))
            ok = [r.get("n_ours_stored") == 1 and (r.get("collector_modes") or {}).get(lab) == 1 for r in g]
            targets.append(("%s: every crash stored, by mortemd (`collector.mode` %s)" % (name, lab),
                            "%d/%d" % (sum(ok), len(g)), verdict(ok)))
            targets.append(an_check("%s, %d MiB" % (name, g[0]["size_mib"]), g))

    # ---- storms
    if storms:
        phases = []
        for r in storms:
            if r.get("phase") not in phases:
                phases.append(r.get("phase"))
        n, size = storms[0]["n"], storms[0]["size_mib"]
        w("### Storm: %d × %d MiB mixed crashing at the same instant\n" % (n, size))
        w("%d crashers (`crasher -s %d -t 4 -m mixed -k segv`, one seed each) crash at the same "
          "CLOCK_MONOTONIC instant, %.0f s after they are spawned. Per PoolSize, one mortemd "
          "runs all its rounds; in each round the floor (`drain`, pipe, core_pipe_limit 0) runs "
          "first and every row is paired with the floor of **its own round**. A raw core is "
          "%.1f MiB here, so %d of them are %.2f GiB.\n" % (
              n, size, storms[0].get("lead_s") or 6,
              (storms[0].get("core_bytes") or 0) / n / 2**20 if storms[0].get("core_bytes") else 0,
              n, (storms[0].get("core_bytes") or 0) / 2**30))
        w("| PoolSize | round | configuration | crash spread ms | all released s | / floor | held median / max s | "
          "taken / spilled / inline | records | all listed s | all done s | mortemd RssAnon+RssFile peak MiB | "
          "worker peak / Σ at once MiB (workers) |")
        w("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for ph in phases:
            g = [r for r in storms if r.get("phase") == ph]
            floor = {r["round"]: r for r in g if r["label"] == "drain"}
            pname = pool_name(g, ph)
            for r in sorted(g, key=lambda r: (r["round"], r["label"] != "drain")):
                f = floor.get(r["round"])
                isd = r["label"] != "drain"
                w("| %s | %d | %s | %.1f | %s | %s | %s / %s | %s | %s | %s | %s | %s | %s |" % (
                    pname, r["round"], r["label"], r["crash_spread_ms"], s(r["all_reaped_ms"]),
                    ratio(r["all_reaped_ms"], f["all_reaped_ms"]) if f and isd else ("1.00×" if not isd else "—"),
                    s(r["held_ms_median"]), s(r["held_ms_max"]),
                    "%s / %s / %s" % (r.get("md_taken", "—"), r.get("md_spilled", "—"), r.get("md_inline", "—"))
                    if isd else "—",
                    recs_line(r) if isd else "—",
                    s(r.get("listed_ms")) if isd else "—",
                    s(r.get("md_done_ms") if r.get("md_done_ms") is not None else r.get("done_ms")),
                    mb(r.get("md_anon_file_mb"), 1) if isd else "—",
                    "%s / %s (%s)" % (mb(r.get("worker_anon_file_mb"), 1), mb(r.get("workers_sum_mb")),
                                      r.get("workers_n", "—")) if isd else "—"))
        w("")
        for ph in phases:
            g = [r for r in storms if r.get("phase") == ph]
            floor = {r["round"]: r for r in g if r["label"] == "drain"}
            pool = pool_name(g, ph)
            for lab in [l for l in labels_of(g) if l in ("socket", "handoff")]:
                m = [r for r in g if r["label"] == lab]
                ok = [r.get("n_ours") == n and r.get("n_ours_pids") == n and r.get("n_ours_stored") == n
                      and r.get("n_ours_whole") == n and r.get("wcoredump") == n and not r.get("md_rejected")
                      for r in m]
                targets.append(("storm, %s, %s: all %d kept (`core.status` stored, whole)" % (pool, lab, n),
                                "; ".join("round %d: %s/%d stored, %s whole, %s/%d WCOREDUMP, %s rejected" % (
                                    r["round"], r.get("n_ours_stored"), n, r.get("n_ours_whole"),
                                    r.get("wcoredump"), n, r.get("md_rejected", "?")) for r in m), verdict(ok)))
                targets.append(an_check("storm, %s, %s" % (pool, lab), m))
                rel = [(r, floor.get(r["round"])) for r in m]
                targets.append(("storm, %s, %s: all released ≤ 1.5 × floor, same round" % (pool, lab),
                                "; ".join("round %d: %s / %s s = %s (%s spilled, %s inline)" % (
                                    r["round"], s(r["all_reaped_ms"]), s(f["all_reaped_ms"]) if f else "—",
                                    ratio(r["all_reaped_ms"], f["all_reaped_ms"]) if f else "—",
                                    r.get("md_spilled", "?"), r.get("md_inline", "?")) for r, f in rel),
                                verdict([r["all_reaped_ms"] <= 1.5 * f["all_reaped_ms"] if f else None
                                         for r, f in rel])))

    # ---- memory, per mortemd (all its configurations)
    md = [r for r in held + storms if r.get("daemon") and r.get("md_samples")]
    if md:
        w("### Memory of mortemd and its workers\n")
        w("Over every sample of every configuration that mortemd served. **outside the pool** = "
          "RssAnon + RssFile; **idle** = the first sample of a configuration (before its crash); "
          "a worker is a fork of mortemd, so its RssAnon includes the pages it still shares "
          "with mortemd, and its RssShmem is the part of the pool it has read. The analysis "
          "child (a fork of the worker, milliseconds here) is too short for the sampling: its "
          "peak is the record's `analysis.max_rss_kib` (`wait4()`), the largest of the crashes.\n")
        w("| mortemd | samples | pool (STATUS) MiB | RssShmem min–max MiB | outside the pool: idle → peak MiB "
          "(RssAnon / RssFile peaks) | worker peak MiB (RssAnon peak) | Σ workers at once, peak MiB "
          "(most workers at once) | worker's pool pages, peak MiB | analysis child peak MiB (record) |")
        w("|---|---|---|---|---|---|---|---|---|")
        dls = []
        for r in md:
            if r["daemon"] not in dls:
                dls.append(r["daemon"])
        for dl in dls:
            g = [r for r in md if r["daemon"] == dl]
            mx = lambda k: max([r[k] for r in g if r.get(k) is not None], default=None)
            mn = lambda k: min([r[k] for r in g if r.get(k) is not None], default=None)
            pool = next((r.get("md_pool_mib") for r in g if r.get("md_pool_mib")), None)
            w("| %s | %d | %s | %s–%s | %s → %s (%s / %s) | %s (%s) | %s (%s) | %s | %s |" % (
                dl, sum(r["md_samples"] for r in g), pool if pool else "—",
                mb(mn("md_shmem_min_mb"), 1), mb(mx("md_shmem_max_mb"), 1),
                mb(mn("md_idle_anon_file_mb"), 1), mb(mx("md_anon_file_mb"), 1), mb(mx("md_anon_mb"), 1),
                mb(mx("md_file_mb"), 1), mb(mx("worker_anon_file_mb"), 1), mb(mx("worker_anon_mb"), 1),
                mb(mx("workers_sum_mb")), mx("workers_n"), mb(mx("worker_shmem_mb")),
                mb(mx("analysis_rss_max_mb"), 1)))
            targets.append(("mortemd (%s) outside the pool ≤ 64 MiB (peak of samples)" % dl,
                            "%s MiB" % mb(mx("md_anon_file_mb"), 1),
                            verdict([mx("md_anon_file_mb") <= 64 if mx("md_anon_file_mb") is not None else None])))
            targets.append(("mortemd (%s): a worker's peak ≤ 64 MiB (RssAnon + RssFile, peak of samples)" % dl,
                            "%s MiB" % mb(mx("worker_anon_file_mb"), 1),
                            verdict([mx("worker_anon_file_mb") <= 64 if mx("worker_anon_file_mb") else None])))
            same = pool and mn("md_shmem_min_mb") is not None and \
                abs(mn("md_shmem_min_mb") - pool) < 1 and abs(mx("md_shmem_max_mb") - pool) < 1
            targets.append(("mortemd (%s): the pool does not grow (RssShmem = PoolSize in every sample)" % dl,
                            "%s–%s MiB, pool %s MiB" % (mb(mn("md_shmem_min_mb"), 1), mb(mx("md_shmem_max_mb"), 1),
                                                       pool or "?"),
                            verdict([bool(same)] if pool else [None])))
        w("")

    w("### Targets\n")
    w("| target | measured | verdict |")
    w("|---|---|---|")
    for t in targets:
        w("| %s | %s | %s |" % t)
    w("")
    text = "\n".join(out) + "\n"
    if args.extra:
        text += "\n" + open(args.extra).read()
    if not args.splice:
        sys.stdout.write(text)
        return
    splice_section(args.splice, "## mortemd", text)


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
        p.add_argument("--round", type=int, default=0, help="which round of the invocation (ratios pair rounds)")
        p.add_argument("--phase", default=None, help="a label for a group of configurations (daemon-report)")
        p.add_argument("--daemon-pid", type=int, default=0, help="mortemd's pid: sample it, wait for it to be idle")
        p.add_argument("--daemon-label", default=None, help="which mortemd (e.g. its PoolSize)")
        p.add_argument("--daemon-sample-ms", type=float, default=50.0)
        p.add_argument("--idle-quiet", type=float, default=0.5,
                       help="mortemd is idle once it has had no worker for this long")
        p.add_argument("--notify-log", default=None, help="the log of notify-listen (mortemd's STATUS lines)")
        if name == "storm":
            p.add_argument("--n", type=int, default=20)
            p.add_argument("--lead", type=float, default=4.0, help="seconds from spawn to the common crash instant")
            p.add_argument("--settle", type=float, default=30.0, help="stop waiting if no handler finishes for this long")
            p.add_argument("--sample-exe", default=None, help="sample the summed RSS of processes running this program")
            p.add_argument("--sample-ms", type=float, default=50.0)
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
    p = sub.add_parser("daemon-report", help='the "mortemd" section of BENCHMARKS.md (bench/daemon.sh)')
    p.add_argument("files", nargs="+")
    p.add_argument("--cmdline", default="bench/run.sh BUILD daemon")
    p.add_argument("--date", default=None)
    p.add_argument("--machine", default=None)
    p.add_argument("--note", action="append")
    p.add_argument("--extra", default=None, help="append this markdown file to the section")
    p.add_argument("--splice", default=None, help='replace the "## mortemd" section of this file (or append it)')
    p = sub.add_parser("notify-listen", help="log what a daemon sends to NOTIFY_SOCKET")
    p.add_argument("sock")
    p.add_argument("log")
    args = ap.parse_args()
    if args.cmd == "notify-listen":
        return cmd_notify_listen(args)
    if args.cmd == "daemon-report":
        return cmd_daemon_report(args)
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
