/* The analysis sandbox. Policy: the core is written by the crashed process and
 * may be hostile, so libdw parses it only in a child that has given up
 * everything it does not need, in this order: other fds, rlimits (a core size
 * of 0 among them), uid/gid/groups, then what a change of credentials would
 * undo (the parent-death signal and non-dumpability), new privileges, then a
 * seccomp allowlist whose refusal ends the child without a core. The child
 * writes one JSON document to a pipe and exits; the parent reads at most
 * ANALYZE_RESULT_MAX bytes before a deadline, then believes nothing it cannot
 * parse. debuginfod, when configured, is a second, wider allowlist: the
 * network, threads and file writes, still as the analysis user, whose only
 * own directory is the cache; without it the child has none of that. */
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "analysis/analyze.h"
#include "analysis/crashinfo.h"
#include "analysis/unwind.h"
#include "base/util.h"

#define ANALYZE_READ_CHUNK  65536  /* bytes read from the pipe at a time */
#define ANALYZE_REAP_STEP_MS 2     /* poll interval while waiting for the exit */
#define ANALYZE_REASON_MAX  160    /* bytes of a failure reason */
#define ANALYZE_EXIT_SECCOMP 5     /* the child's status after a refused syscall */
#define ANALYZE_EXIT_ORPHAN  6     /* its parent died before PDEATHSIG was armed */
/* The child's interval timer: a blocking open() that libdw makes of a path
 * the crash chose (see analyze_tick) lasts at most this long on a FIFO. */
#define ANALYZE_TICK_US     2000

/* ASan reserves terabytes of address space for its shadow: RLIMIT_AS would
 * kill every allocation in a sanitizer build. */
#if defined(__SANITIZE_ADDRESS__)
#define ANALYZE_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANALYZE_SANITIZER 1
#endif
#endif
#ifndef ANALYZE_SANITIZER
#define ANALYZE_SANITIZER 0
#endif

/* What libdw, libelf, json-c and malloc use to read a core and its modules
 * and write the answer (found with strace -f on real cores). write is allowed
 * only to the result pipe and to stderr. */
static const int analyze_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv), SCMP_SYS(preadv),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(openat2), SCMP_SYS(close),
	SCMP_SYS(fstat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(lseek), SCMP_SYS(fcntl), SCMP_SYS(readlink), SCMP_SYS(readlinkat), SCMP_SYS(getdents64),
	SCMP_SYS(getcwd),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(mprotect), SCMP_SYS(madvise), SCMP_SYS(brk),
	SCMP_SYS(futex), SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getrandom),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday), SCMP_SYS(sched_yield), SCMP_SYS(sysinfo),
	SCMP_SYS(getrlimit), SCMP_SYS(prlimit64), SCMP_SYS(uname),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask), SCMP_SYS(sigaltstack),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* What debuginfod adds, and only when it is on (strace -f on real fetches
 * from a local server, by address and by host name, with a cache clean-up):
 * libdebuginfod's cache (mkdir, write, rename into place, utimensat; fts with
 * fchdir, unlink and rmdir when it cleans), libcurl (a socket per connection,
 * non-blocking connect and poll, a socketpair to wake itself, socket options)
 * and its threaded resolver (clone3 or clone; glibc's getaddrinfo over nscd's
 * socket or UDP). The *at and ppoll forms are there for architectures without
 * the old calls. write is then allowed to any fd. */
static const int analyze_debuginfod_syscalls[] = {
	SCMP_SYS(write), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rename), SCMP_SYS(renameat),
	SCMP_SYS(renameat2), SCMP_SYS(unlink), SCMP_SYS(unlinkat), SCMP_SYS(rmdir), SCMP_SYS(fchmod),
	SCMP_SYS(utimensat), SCMP_SYS(fchdir),
	SCMP_SYS(socket), SCMP_SYS(connect), SCMP_SYS(socketpair), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(pipe2),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(set_robust_list), SCMP_SYS(rseq), SCMP_SYS(rt_sigaction),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
};

static int analyze_allow(scmp_filter_ctx ctx, const int *nr, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r == 0; i++) {
		/* a syscall this architecture lacks (open on aarch64) is negative */
		if (nr[i] < 0)
			continue;
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr[i], 0);
	}
	return r;
}

/* A refused syscall traps (SIGSYS to a handler) rather than kills: the
 * kernel's SECCOMP_RET_KILL_PROCESS, and KILL_THREAD in the last thread,
 * deliver a SIGSYS that dumps core, and a core of the analysis would come
 * back into a collector. (Non-dumpability stops that dump too; the trap
 * does not rely on it.) ERRNO(EPERM) would dump nothing either, but the
 * analysis would go on with failing calls and the parent would never learn
 * that the allowlist refused one. The handler writes the syscall's number
 * to the result pipe and exits at once with ANALYZE_EXIT_SECCOMP, so the
 * record says which call it was. */
static int analyze_trap_fd = -1;

static void analyze_on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[48] = "{\"seccomp\":", digits[12];
	size_t len = strlen(msg), n = 0;
	unsigned nr = si->si_syscall >= 0 ? (unsigned)si->si_syscall : 0;

	(void)sig;
	(void)uc;
	do
		digits[n++] = (char)('0' + nr % 10);
	while ((nr /= 10) && n < sizeof(digits));
	while (n > 0)
		msg[len++] = digits[--n];
	msg[len++] = '}';
	(void)!write(analyze_trap_fd, msg, len);
	_exit(ANALYZE_EXIT_SECCOMP);
}

static int analyze_seccomp(int result_fd, bool debuginfod)
{
	struct sigaction sa = { .sa_sigaction = analyze_on_sigsys, .sa_flags = SA_SIGINFO };
	analyze_trap_fd = result_fd;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -errno;
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
	int r = ctx ? 0 : -ENOMEM;

	if (r == 0)
		r = analyze_allow(ctx, analyze_syscalls, ARRAY_SIZE(analyze_syscalls));
	if (r == 0 && debuginfod)
		r = analyze_allow(ctx, analyze_debuginfod_syscalls, ARRAY_SIZE(analyze_debuginfod_syscalls));
	/* glibc's resolver asks how much a UDP answer holds; no other ioctl */
	if (r == 0 && debuginfod)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	if (r == 0 && !debuginfod)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)result_fd));
	if (r == 0 && !debuginfod)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(write), 1, SCMP_A0(SCMP_CMP_EQ, STDERR_FILENO));
	if (r == 0)
		r = seccomp_load(ctx);
	seccomp_release(ctx);
	return r;
}

/* Close every fd but stdio and keep[] (which must be > 2). */
static int analyze_close_fds(const int *keep, size_t n)
{
	unsigned lo = 3;

	for (;;) {
		unsigned next = ~0u;
		for (size_t i = 0; i < n; i++)
			if (keep[i] >= (int)lo && (unsigned)keep[i] < next)
				next = (unsigned)keep[i];
		if (next > lo && syscall(SYS_close_range, lo, next - 1, 0) < 0)
			return -errno;
		if (next == ~0u)
			return 0;
		lo = next + 1;
	}
}

struct analyze_child {
	int core_fd, result_fd, sysroot_fd;
	int cache_fd;             /* the debuginfod cache; >= 0 only when debuginfod is on */
	pid_t parent;             /* getpid() before the fork */
	bool drop;                /* the parent is root: change uid and gid */
	uid_t uid;
	gid_t gid;
	uint64_t max_as;
	unsigned max_cpu;
	const struct analyze_opts *o;
};

static int analyze_limit(int resource, rlim_t soft, rlim_t hard)
{
	struct rlimit rl = { soft, hard };
	return setrlimit(resource, &rl) < 0 ? -errno : 0;
}

/* The child's view of debuginfod is its environment, which is the
 * configuration's alone: whatever the collector inherited is dropped. The
 * cache is reached through the fd the parent opened, as "/proc/self/fd/N/",
 * because the analysis user may not enter the store that holds it; the
 * trailing slash makes the client's fts clean-up follow that link instead of
 * seeing a symlink and cleaning nothing. */
static int analyze_debuginfod_env(const struct analyze_child *c)
{
	static const char *const drop[] = {
		"DEBUGINFOD_URLS", "DEBUGINFOD_CACHE_PATH", "DEBUGINFOD_TIMEOUT", "DEBUGINFOD_MAXSIZE",
		"DEBUGINFOD_MAXTIME", "DEBUGINFOD_PROGRESS", "DEBUGINFOD_VERBOSE", "DEBUGINFOD_HEADERS_FILE",
		"DEBUGINFOD_RETRY_LIMIT",
	};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(drop); i++)
		if (unsetenv(drop[i]) < 0)
			return -errno;
	if (c->cache_fd < 0)
		return 0;
	unsigned timeout = c->o->debuginfod_timeout ? c->o->debuginfod_timeout : ANALYZE_DEBUGINFOD_TIMEOUT_DEFAULT;
	if (setenv("DEBUGINFOD_URLS", c->o->debuginfod_urls, 1) < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "/proc/self/fd/%d/", c->cache_fd);
	if (setenv("DEBUGINFOD_CACHE_PATH", buf, 1) < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%u", timeout);
	if (setenv("DEBUGINFOD_TIMEOUT", buf, 1) < 0)
		return -errno;
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ANALYZE_DEBUGINFOD_FILE_MAX);
	if (setenv("DEBUGINFOD_MAXSIZE", buf, 1) < 0)
		return -errno;
	return 0;
}

/* A no-op, for its side effect: installed without SA_RESTART, its signal
 * ends a blocked open() with EINTR. libdwfl opens some paths the crash chose
 * itself, where no callback reaches (elfutils 0.188: the NT_FILE name of each
 * mapped file in dwfl_segment_report_module, the link map's l_name in
 * link_map.c, split-DWARF .dwo files in libdw), with a plain blocking open;
 * a FIFO there would wait for a writer until the deadline. A fast interval
 * timer bounds each such open to ANALYZE_TICK_US; the opens of this code are
 * O_NONBLOCK and need no timer (unwind_open_regular). */
static void analyze_tick(int sig)
{
	(void)sig;
}

static int analyze_tick_start(void)
{
	struct sigaction sa = { .sa_handler = analyze_tick }; /* no SA_RESTART */
	struct itimerval it = { { 0, ANALYZE_TICK_US }, { 0, ANALYZE_TICK_US } };
	sigset_t set;

	/* blocked in the caller (a signalfd, a supervisor), the timer would
	 * interrupt nothing, and a refused syscall would not reach its handler */
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigaddset(&set, SIGSYS);
	if (sigaction(SIGALRM, &sa, NULL) < 0 || sigprocmask(SIG_UNBLOCK, &set, NULL) < 0 ||
	    setitimer(ITIMER_REAL, &it, NULL) < 0)
		return -errno;
	return 0;
}

/* What the child is, measured from inside just before the filter is loaded
 * (prctl is not on the allowlist): the record shows that the sandbox held,
 * and the tests read it. */
static json_object *analyze_state(void)
{
	json_object *st = json_object_new_object();
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int pdeath = -1;

	if (!st || getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0) {
		json_object_put(st);
		return NULL;
	}
	(void)prctl(PR_GET_PDEATHSIG, &pdeath);
	json_object_object_add(st, "uid", json_object_new_int64(eu));
	json_object_object_add(st, "gid", json_object_new_int64(eg));
	json_object_object_add(st, "any_uid_root", json_object_new_boolean(ru == 0 || eu == 0 || su == 0));
	json_object_object_add(st, "pdeathsig", json_object_new_int(pdeath));
	json_object_object_add(st, "dumpable", json_object_new_int(prctl(PR_GET_DUMPABLE)));
	json_object_object_add(st, "no_new_privs", json_object_new_int(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)));
	return st;
}

/* Everything the child gives up, in order; 0 or the step that failed.
 * The order matters where the kernel undoes one step with another: a change
 * of uid or gid (commit_creds) clears the parent-death signal and resets
 * dumpability to fs.suid_dumpable, so both come after the drop, and the
 * parent may have died before the signal was armed: getppid() tells. The
 * core-size limit survives the change; it is set early with the others
 * (RLIMIT_NOFILE and RLIMIT_AS need not be lowered as nobody). No new
 * privileges and the filter come last: seccomp without CAP_SYS_ADMIN needs
 * no_new_privs, and prctl, setresuid and setitimer are not on the allowlist. */
static const char *analyze_confine(const struct analyze_child *c, json_object **state)
{
	int keep[4 + PROC_FILES_MAX] = { c->core_fd, c->result_fd }, nkeep = 2;
	int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	bool debuginfod = c->cache_fd >= 0;

	if (c->sysroot_fd >= 0)
		keep[nkeep++] = c->sysroot_fd;
	if (debuginfod)
		keep[nkeep++] = c->cache_fd;
	for (size_t i = 0; i < c->o->n_files && i < PROC_FILES_MAX; i++)
		if (c->o->files[i].fd >= 0)
			keep[nkeep++] = c->o->files[i].fd;
	if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(devnull, STDOUT_FILENO) < 0)
		return "redirecting stdio";
	if (analyze_close_fds(keep, (size_t)nkeep) < 0)
		return "closing fds";
	/* Never a core of our own: it would come back to the collector. Set
	 * now for the window before the drop, and again after it. Of the two,
	 * non-dumpability is what holds: for a pipe core_pattern the kernel
	 * ignores RLIMIT_CORE (all but the value 1); the limit covers a file
	 * pattern. */
	if (analyze_limit(RLIMIT_CORE, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0) < 0)
		return "disabling core dumps";
	if (!ANALYZE_SANITIZER && analyze_limit(RLIMIT_AS, c->max_as, c->max_as) < 0)
		return "RLIMIT_AS";
	if (analyze_limit(RLIMIT_CPU, c->max_cpu, c->max_cpu + 1) < 0)
		return "RLIMIT_CPU";
	/* debuginfod writes its downloads: a file past the limit fails with
	 * EFBIG (not SIGXFSZ), and DEBUGINFOD_MAXSIZE refuses it first. */
	if (debuginfod && signal(SIGXFSZ, SIG_IGN) == SIG_ERR)
		return "ignoring SIGXFSZ";
	if (analyze_limit(RLIMIT_FSIZE, debuginfod ? ANALYZE_DEBUGINFOD_FILE_MAX : 0,
			  debuginfod ? ANALYZE_DEBUGINFOD_FILE_MAX : 0) < 0)
		return "RLIMIT_FSIZE";
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max > ANALYZE_NOFILE &&
	    analyze_limit(RLIMIT_NOFILE, ANALYZE_NOFILE, ANALYZE_NOFILE) < 0)
		return "RLIMIT_NOFILE";
	/* Not root (tests, a fakeroot build, a collector run by hand): there
	 * is no uid to change, and everything else still applies. */
	if (c->drop) {
		if (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
		    setresuid(c->uid, c->uid, c->uid) < 0)
			return "dropping privileges";
		if (geteuid() == 0 || getegid() == 0)
			return "dropping privileges";
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return "PR_SET_PDEATHSIG";
	/* The parent died before the signal was armed: nobody waits for us. */
	if (getppid() != c->parent)
		_exit(ANALYZE_EXIT_ORPHAN);
	if (prctl(PR_SET_DUMPABLE, 0) < 0 || prctl(PR_GET_DUMPABLE) != 0)
		return "disabling core dumps";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return "PR_SET_NO_NEW_PRIVS";
	if (analyze_debuginfod_env(c) < 0)
		return "setting the debuginfod environment";
	*state = analyze_state();
	if (analyze_tick_start() < 0)
		return "starting the open() timer";
	if (analyze_seccomp(c->result_fd, debuginfod) < 0)
		return "loading the seccomp filter";
	return NULL;
}

/* One JSON document to the parent: out, or {"error": what: detail}, with the
 * sandbox's state (consumed). */
static int analyze_send(int fd, json_object *out, json_object *state, const char *what, const char *detail)
{
	char msg[ANALYZE_REASON_MAX];

	if (!out) {
		out = json_object_new_object();
		if (!out)
			return -ENOMEM;
		snprintf(msg, sizeof(msg), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
		json_object_object_add(out, "error", json_object_new_string(msg));
	}
	if (state)
		json_object_object_add(out, "sandbox_state", state);
	size_t len;
	const char *s = json_object_to_json_string_length(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
							  &len);
	int r = s ? write_all(fd, s, len) : -ENOMEM;
	json_object_put(out);
	return r;
}

static __attribute__((noreturn)) void analyze_child_main(const struct analyze_child *c)
{
	json_object *state = NULL;
	const char *fail = analyze_confine(c, &state);
	if (fail) {
		(void)analyze_send(c->result_fd, NULL, state, "sandbox", fail);
		_exit(2);
	}
	/* tests: how a refused syscall is recorded */
	if (c->o->probe_syscall > 0)
		(void)syscall(c->o->probe_syscall, 0, 0, 0);
	struct unwind_opts uo = { .sysroot_fd = c->sysroot_fd, .files = c->o->files,
				  .n_files = c->o->n_files < PROC_FILES_MAX ? c->o->n_files : PROC_FILES_MAX,
				  .crashed_tid = c->o->crashed_tid,
				  .thread_names = c->o->thread_names, .no_debuginfod = c->cache_fd < 0 };
	json_object *out = NULL;
	int r = unwind_core_fd(c->core_fd, &uo, &out);
	if (r < 0) {
		(void)analyze_send(c->result_fd, NULL, state, "unwind",
				   r == -EBADMSG ? unwind_last_error() : strerror(-r));
		_exit(0);
	}
	/* Signal detail, registers, slogan and signature: the notes are hostile
	 * too, so they are read here, in the sandbox. */
	r = crashinfo_add(c->core_fd, out);
	if (r < 0)
		json_object_object_add(out, "notes_error", json_object_new_string(strerror(-r)));
	r = analyze_send(c->result_fd, out, state, NULL, NULL);
	_exit(r == -ENOMEM ? 3 : r < 0 ? 4 : 0);
}

static int64_t analyze_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The unprivileged user: o->user, else "mortem", else "nobody". */
static int analyze_user(const struct analyze_opts *o, uid_t *uid, gid_t *gid)
{
	const char *names[] = { o->user, "mortem", "nobody" };
	for (size_t i = o->user ? 0 : 1; i < (o->user ? 1u : ARRAY_SIZE(names)); i++) {
		struct passwd *pw = getpwnam(names[i]);
		if (pw && pw->pw_uid != 0 && pw->pw_gid != 0) {
			*uid = pw->pw_uid;
			*gid = pw->pw_gid;
			return 0;
		}
	}
	return -ESRCH;
}

struct analyze_read {
	char *buf;
	size_t len;
	const char *reason;      /* static, or reason_buf */
	char reason_buf[ANALYZE_REASON_MAX];
	bool killed;             /* by us: the exit status is no news */
};

/* Polls last at most this long when the analysis may be cut: a signal that
 * comes just before poll() is seen within it. */
#define ANALYZE_CUT_POLL_MS 200

/* Read the child's answer until EOF, the cap, the deadline or the cut. */
static int analyze_collect(int fd, pid_t pid, int64_t deadline, unsigned timeout_ms,
			   const volatile sig_atomic_t *cut, struct analyze_read *rd)
{
	size_t cap = 0;

	for (;;) {
		int64_t left = deadline - analyze_now_ms();
		if (left <= 0) {
			snprintf(rd->reason_buf, sizeof(rd->reason_buf), "timed out after %g s", timeout_ms / 1000.0);
			rd->reason = rd->reason_buf;
			break;
		}
		if (cut && *cut) {
			rd->reason = "cut short: the collector was stopping";
			break;
		}
		if (cut && left > ANALYZE_CUT_POLL_MS)
			left = ANALYZE_CUT_POLL_MS;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)(left > INT32_MAX ? INT32_MAX : left));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			continue;
		if (cap - rd->len < ANALYZE_READ_CHUNK) {
			size_t ncap = cap ? cap * 2 : 4 * ANALYZE_READ_CHUNK;
			if (ncap > ANALYZE_RESULT_MAX + ANALYZE_READ_CHUNK)
				ncap = ANALYZE_RESULT_MAX + ANALYZE_READ_CHUNK;
			char *nb = realloc(rd->buf, ncap + 1);
			if (!nb)
				return -ENOMEM;
			rd->buf = nb;
			cap = ncap;
		}
		ssize_t got = read(fd, rd->buf + rd->len, cap - rd->len);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return 0;
		rd->len += (size_t)got;
		if (rd->len > ANALYZE_RESULT_MAX) {
			rd->reason = "result over 16 MiB";
			break;
		}
	}
	(void)kill(pid, SIGKILL);
	rd->killed = true;
	return 0;
}

/* Reap the child by the deadline (killing it past that); *status, *ru. */
static void analyze_reap(pid_t pid, int64_t deadline, struct analyze_read *rd, int *status, struct rusage *ru)
{
	for (;;) {
		pid_t w = wait4(pid, status, rd->killed ? 0 : WNOHANG, ru);
		if (w == pid || (w < 0 && errno != EINTR))
			return;
		if (w == 0 && analyze_now_ms() >= deadline) {
			(void)kill(pid, SIGKILL);
			rd->killed = true;
			if (!rd->reason)
				rd->reason = "did not exit after its answer";
			continue;
		}
		if (w == 0)
			(void)nanosleep(&(struct timespec){ 0, ANALYZE_REAP_STEP_MS * 1000000L }, NULL);
	}
}

static const char *analyze_signal_reason(int sig, char *buf, size_t len)
{
	const char *name = signal_name(sig);
	const char *why = sig == SIGSYS ? " (seccomp)" : sig == SIGXCPU ? " (CPU time limit)" :
			  sig == SIGKILL ? " (CPU time or memory limit)" : "";
	if (name)
		snprintf(buf, len, "killed by %s%s", name, why);
	else
		snprintf(buf, len, "killed by signal %d", sig);
	return buf;
}

static json_object *analyze_result(const char *status, const char *error, int64_t ms, long rss_kib)
{
	json_object *res = json_object_new_object(), *a = json_object_new_object();
	if (!res || !a) {
		json_object_put(res);
		json_object_put(a);
		return NULL;
	}
	json_object_object_add(a, "status", json_object_new_string(status));
	json_object_object_add(a, "error", error ? json_object_new_string(error) : NULL);
	json_object_object_add(a, "duration_ms", json_object_new_int64(ms));
	json_object_object_add(a, "max_rss_kib", json_object_new_int64(rss_kib));
	json_object_object_add(res, "analysis", a);
	return res;
}

/* The child's answer: one object, the whole of the bytes, nothing after it;
 * or NULL. */
static json_object *analyze_parse(const struct analyze_read *rd)
{
	json_object *out = NULL;

	if (rd->len == 0)
		return NULL;
	json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
	if (!tok)
		return NULL;
	out = json_tokener_parse_ex(tok, rd->buf, (int)rd->len);
	if (out && (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != rd->len ||
		    !json_object_is_type(out, json_type_object))) {
		json_object_put(out);
		out = NULL;
	}
	json_tokener_free(tok);
	return out;
}

/* A syscall the allowlist refused (analyze_on_sigsys): which one. */
static const char *analyze_seccomp_reason(json_object *out, char *buf, size_t len)
{
	json_object *v;
	if (!out || !json_object_object_get_ex(out, "seccomp", &v) || !json_object_is_type(v, json_type_int))
		return "refused by seccomp";
	int nr = json_object_get_int(v);
	char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
	snprintf(buf, len, "refused by seccomp: syscall %d (%s)", nr, name ? name : "?");
	free(name);
	return buf;
}

/* Turn the child's bytes and exit into the result object. */
static json_object *analyze_judge_out(struct analyze_read *rd, json_object *out, int status, int64_t ms, long rss_kib)
{
	char why[ANALYZE_REASON_MAX];

	if (rd->reason)
		return analyze_result("failed", rd->reason, ms, rss_kib);
	if (WIFSIGNALED(status))
		return analyze_result("failed", analyze_signal_reason(WTERMSIG(status), why, sizeof(why)), ms, rss_kib);
	if (WIFEXITED(status) && WEXITSTATUS(status) == ANALYZE_EXIT_SECCOMP)
		return analyze_result("failed", analyze_seccomp_reason(out, why, sizeof(why)), ms, rss_kib);
	json_object *err;
	if (out && json_object_object_get_ex(out, "error", &err) && json_object_is_type(err, json_type_string))
		return analyze_result("failed", json_object_get_string(err), ms, rss_kib);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(why, sizeof(why), "analysis exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return analyze_result("failed", why, ms, rss_kib);
	}
	if (!out)
		return analyze_result("failed", rd->len ? "analysis returned malformed output" : "analysis returned nothing",
				      ms, rss_kib);
	json_object *res = analyze_result("ok", NULL, ms, rss_kib);
	if (!res)
		return NULL;
	json_object_object_foreach(out, key, val)
		if (strcmp(key, "analysis") != 0 && strcmp(key, "sandbox_state") != 0)
			json_object_object_add(res, key, json_object_get(val));
	return res;
}

static json_object *analyze_judge(struct analyze_read *rd, int status, int64_t ms, long rss_kib)
{
	json_object *out = analyze_parse(rd), *state, *a;
	json_object *res = analyze_judge_out(rd, out, status, ms, rss_kib);

	/* what the child said it was, when it said so (analyze_state) */
	if (res && out && json_object_object_get_ex(out, "sandbox_state", &state) &&
	    json_object_is_type(state, json_type_object) && json_object_object_get_ex(res, "analysis", &a))
		json_object_object_add(a, "sandbox_state", json_object_get(state));
	json_object_put(out);
	return res;
}

/* The debuginfod cache: made by this (privileged) parent, because the child
 * can create nothing in the store, and handed over to the analysis user,
 * 0700, so that other users can neither read what it fetched nor plant
 * files in it. Never follows a symlink at path. Returns an O_DIRECTORY fd. */
static int analyze_cache_open(const char *path, uid_t uid, gid_t gid)
{
	struct stat st;

	if (mkdir(path, 0700) < 0 && errno != EEXIST)
		return -errno;
	_cleanup_close_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (geteuid() == 0 && (st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid) < 0)
		return -errno;
	if ((st.st_mode & 07777) != 0700 && fchmod(fd, 0700) < 0)
		return -errno;
	return TAKE_FD(fd);
}

/* Open the inputs, fork the child, judge what comes back. *ret may be NULL
 * on return 0 only when memory ran out. */
static int analyze_spawn(const char *minicore_path, const struct analyze_opts *o, json_object **ret)
{
	char why[ANALYZE_REASON_MAX];
	unsigned timeout_ms = o->timeout_ms ? o->timeout_ms : ANALYZE_TIMEOUT_DEFAULT;
	struct analyze_child c = {
		.core_fd = -1, .result_fd = -1, .sysroot_fd = o->sysroot_fd, .cache_fd = -1,
		.max_as = o->max_as ? o->max_as : ANALYZE_AS_DEFAULT,
		.max_cpu = o->max_cpu_sec ? o->max_cpu_sec : (timeout_ms + 999) / 1000 + 1,
		.o = o,
	};

	c.drop = geteuid() == 0;
	if (analyze_user(o, &c.uid, &c.gid) < 0 && c.drop) {
		*ret = analyze_result("failed", "no unprivileged user to run as", 0, 0);
		return 0;
	}
	char sandbox[ANALYZE_REASON_MAX];
	if (c.drop)
		snprintf(sandbox, sizeof(sandbox), "uid %u, gid %u", (unsigned)c.uid, (unsigned)c.gid);
	else
		snprintf(sandbox, sizeof(sandbox), "unprivileged: uid unchanged");
	/* The child cannot open a 0600 file once it is nobody: it gets the fds. */
	_cleanup_close_ int core = unwind_open_regular(-1, minicore_path);
	if (core < 0) {
		snprintf(why, sizeof(why), "opening minicore: %s", unwind_open_strerror(core));
		*ret = analyze_result("failed", why, 0, 0);
		return 0;
	}
	_cleanup_close_ int root = -1;
	if (c.sysroot_fd < 0 && o->sysroot && o->sysroot[0] && strcmp(o->sysroot, "/") != 0) {
		root = open(o->sysroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (root < 0) {
			snprintf(why, sizeof(why), "opening sysroot: %s", strerror(errno));
			*ret = analyze_result("failed", why, 0, 0);
			return 0;
		}
		c.sysroot_fd = root;
	}
	/* Without a usable cache the analysis goes on, local only, and says why. */
	_cleanup_close_ int cache = -1;
	char dinote[ANALYZE_REASON_MAX] = "";
	if (o->debuginfod_urls && o->debuginfod_urls[0]) {
		int fd = o->debuginfod_cache && o->debuginfod_cache[0] ?
				 analyze_cache_open(o->debuginfod_cache, c.uid, c.gid) : -ENOENT;
		if (fd < 0) {
			snprintf(dinote, sizeof(dinote), "cache: %s", strerror(-fd));
		} else {
			snprintf(dinote, sizeof(dinote), "on");
			c.cache_fd = cache = fd;
		}
	}
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	_cleanup_close_ int rfd = pfd[0];
	c.core_fd = core;
	c.result_fd = pfd[1];

	int64_t start = analyze_now_ms(), deadline = start + timeout_ms;
	c.parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(pfd[1]);
		return e;
	}
	if (pid == 0)
		analyze_child_main(&c);
	close(pfd[1]);

	struct analyze_read rd = { 0 };
	int r = analyze_collect(rfd, pid, deadline, timeout_ms, o->cut, &rd);
	if (r < 0) {
		(void)kill(pid, SIGKILL);
		rd.killed = true;
	}
	int status = 0;
	struct rusage ru = { 0 };
	analyze_reap(pid, deadline, &rd, &status, &ru);
	if (r == 0)
		*ret = analyze_judge(&rd, status, analyze_now_ms() - start, ru.ru_maxrss);
	json_object *a;
	if (r == 0 && *ret && json_object_object_get_ex(*ret, "analysis", &a)) {
		json_object_object_add(a, "sandbox", json_object_new_string(sandbox));
		if (dinote[0])
			json_object_object_add(a, "debuginfod", json_object_new_string(dinote));
	}
	free(rd.buf);
	return r;
}

int analyze_run(const char *minicore_path, const struct analyze_opts *o, json_object **ret)
{
	static const struct analyze_opts defaults = { .sysroot_fd = -1 };
	json_object *res = NULL;

	if (!o)
		o = &defaults;
	if (!minicore_path || !minicore_path[0]) {
		res = analyze_result("skipped", "no minicore", 0, 0);
	} else {
		int r = analyze_spawn(minicore_path, o, &res);
		if (r < 0)
			return r;
	}
	if (!res)
		return -ENOMEM;
	*ret = res;
	return 0;
}
