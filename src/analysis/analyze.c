/* The analysis sandbox. Policy: the core is written by the crashed process and
 * may be hostile, so libdw parses it only in a child that has given up
 * everything it does not need, in this order: other fds, core dumps (it must
 * never feed a core back into the collector), rlimits, uid/gid/groups, new
 * privileges, then a seccomp allowlist whose default is to kill. The child
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
#include <sys/wait.h>
#include <time.h>

#include "analysis/analyze.h"
#include "analysis/crashinfo.h"
#include "analysis/unwind.h"
#include "base/util.h"

#define ANALYZE_READ_CHUNK  65536  /* bytes read from the pipe at a time */
#define ANALYZE_REAP_STEP_MS 2     /* poll interval while waiting for the exit */
#define ANALYZE_REASON_MAX  160    /* bytes of a failure reason */

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

static int analyze_seccomp(int result_fd, bool debuginfod)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
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

/* Everything the child gives up, in order; 0 or the step that failed. */
static const char *analyze_confine(const struct analyze_child *c)
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
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
		return "PR_SET_PDEATHSIG";
	/* Never a core of our own: it would come back to the collector. */
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
	if (geteuid() == 0) {
		if (setgroups(0, NULL) < 0 || setresgid(c->gid, c->gid, c->gid) < 0 ||
		    setresuid(c->uid, c->uid, c->uid) < 0)
			return "dropping privileges";
		if (geteuid() == 0 || getegid() == 0)
			return "dropping privileges";
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return "PR_SET_NO_NEW_PRIVS";
	if (analyze_debuginfod_env(c) < 0)
		return "setting the debuginfod environment";
	if (analyze_seccomp(c->result_fd, debuginfod) < 0)
		return "loading the seccomp filter";
	return NULL;
}

static void analyze_send_error(int fd, const char *what, const char *detail)
{
	json_object *e = json_object_new_object();
	char msg[ANALYZE_REASON_MAX];

	snprintf(msg, sizeof(msg), "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
	json_object_object_add(e, "error", json_object_new_string(msg));
	const char *s = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
	(void)write_all(fd, s, strlen(s));
	json_object_put(e);
}

static __attribute__((noreturn)) void analyze_child_main(const struct analyze_child *c)
{
	const char *fail = analyze_confine(c);
	if (fail) {
		analyze_send_error(c->result_fd, "sandbox", fail);
		_exit(2);
	}
	struct unwind_opts uo = { .sysroot_fd = c->sysroot_fd, .files = c->o->files,
				  .n_files = c->o->n_files < PROC_FILES_MAX ? c->o->n_files : PROC_FILES_MAX,
				  .crashed_tid = c->o->crashed_tid,
				  .thread_names = c->o->thread_names, .no_debuginfod = c->cache_fd < 0 };
	json_object *out = NULL;
	int r = unwind_core_fd(c->core_fd, &uo, &out);
	if (r < 0) {
		analyze_send_error(c->result_fd, "unwind", r == -EBADMSG ? unwind_last_error() : strerror(-r));
		_exit(0);
	}
	/* Signal detail, registers, slogan and signature: the notes are hostile
	 * too, so they are read here, in the sandbox. */
	r = crashinfo_add(c->core_fd, out);
	if (r < 0)
		json_object_object_add(out, "notes_error", json_object_new_string(strerror(-r)));
	size_t len;
	const char *s = json_object_to_json_string_length(out, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
							  &len);
	if (!s)
		_exit(3);
	r = write_all(c->result_fd, s, len);
	_exit(r < 0 ? 4 : 0);
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

/* Turn the child's bytes and exit into the result object. */
static json_object *analyze_judge(struct analyze_read *rd, int status, int64_t ms, long rss_kib)
{
	char why[ANALYZE_REASON_MAX];

	if (rd->reason)
		return analyze_result("failed", rd->reason, ms, rss_kib);
	if (WIFSIGNALED(status))
		return analyze_result("failed", analyze_signal_reason(WTERMSIG(status), why, sizeof(why)), ms, rss_kib);

	json_object *out = NULL;
	if (rd->len > 0) {
		json_tokener *tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH);
		if (tok) {
			out = json_tokener_parse_ex(tok, rd->buf, (int)rd->len);
			/* the whole answer, one object, nothing after it */
			if (out && (json_tokener_get_error(tok) != json_tokener_success ||
				    json_tokener_get_parse_end(tok) != rd->len || !json_object_is_type(out, json_type_object))) {
				json_object_put(out);
				out = NULL;
			}
			json_tokener_free(tok);
		}
	}
	json_object *err;
	if (out && json_object_object_get_ex(out, "error", &err) && json_object_is_type(err, json_type_string)) {
		json_object *res = analyze_result("failed", json_object_get_string(err), ms, rss_kib);
		json_object_put(out);
		return res;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		json_object_put(out);
		snprintf(why, sizeof(why), "analysis exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		return analyze_result("failed", why, ms, rss_kib);
	}
	if (!out)
		return analyze_result("failed", rd->len ? "analysis returned malformed output" : "analysis returned nothing",
				      ms, rss_kib);
	json_object *res = analyze_result("ok", NULL, ms, rss_kib);
	if (!res) {
		json_object_put(out);
		return NULL;
	}
	json_object_object_foreach(out, key, val)
		if (strcmp(key, "analysis") != 0)
			json_object_object_add(res, key, json_object_get(val));
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

	if (analyze_user(o, &c.uid, &c.gid) < 0 && geteuid() == 0) {
		*ret = analyze_result("failed", "no unprivileged user to run as", 0, 0);
		return 0;
	}
	/* The child cannot open a 0600 file once it is nobody: it gets the fds. */
	_cleanup_close_ int core = open(minicore_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (core < 0) {
		snprintf(why, sizeof(why), "opening minicore: %s", strerror(errno));
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
	if (r == 0 && dinote[0] && *ret && json_object_object_get_ex(*ret, "analysis", &a))
		json_object_object_add(a, "debuginfod", json_object_new_string(dinote));
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
