/* Small helpers shared by every stage: fd and file I/O, time and size formatting. */
#include "base/util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>

#define READ_CHUNK_MIN 4096 /* first allocation when reading a file of unknown size */

int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO; /* no progress and no error: do not spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int pwrite_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	if (off < 0)
		return -EINVAL;
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static ssize_t util_read_retry(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, buf, len);
		if (n >= 0 || errno != EINTR)
			return n < 0 ? -errno : n;
	}
}

/* The buffer grows as data arrives rather than being cap-sized up front: caps are
 * generous (tens of MiB) and most /proc items are a few hundred bytes. Once cap
 * bytes are in, one more byte is read to tell "exactly cap" from "more than cap";
 * on a pipe that byte is consumed, which is what a capped read means anyway. */
int read_fd_capped(int fd, size_t cap, char **ret, size_t *ret_len, bool *truncated)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, alloc = 0;
	bool trunc = false;

	if (fd < 0 || !ret || cap >= SIZE_MAX)
		return -EINVAL;

	for (;;) {
		if (len == cap) {
			char extra;
			ssize_t n = util_read_retry(fd, &extra, 1);
			if (n < 0)
				return (int)n;
			trunc = n > 0;
			break;
		}
		if (len == alloc) {
			size_t want = alloc == 0 ? READ_CHUNK_MIN : alloc * 2;
			if (want > cap || want < alloc)
				want = cap;
			char *nbuf = realloc(buf, want + 1);
			if (!nbuf)
				return -ENOMEM;
			buf = nbuf;
			alloc = want;
		}
		ssize_t n = util_read_retry(fd, buf + len, alloc - len);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		len += (size_t)n;
	}

	if (!buf) {
		/* cap == 0, or nothing was allocated: still hand back a valid string */
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	if (ret_len)
		*ret_len = len;
	if (truncated)
		*truncated = trunc;
	return 0;
}

int read_file_at(int dirfd, const char *path, size_t cap, char **ret, size_t *ret_len, bool *truncated)
{
	_cleanup_close_ int fd = -1;

	if (!path || !ret)
		return -EINVAL;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	return read_fd_capped(fd, cap, ret, ret_len, truncated);
}

static int util_mkdir_one(const char *path, mode_t mode)
{
	struct stat st;

	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	/* EEXIST also covers a file or a dangling symlink in the way */
	if (stat(path, &st) < 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int mkdir_p(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = NULL;
	int r;

	if (!path || !*path)
		return -EINVAL;
	p = strdup(path);
	if (!p)
		return -ENOMEM;

	for (char *s = p + 1; *s; s++) {
		if (*s != '/' || s[-1] == '/')
			continue;
		*s = '\0';
		r = util_mkdir_one(p, mode);
		*s = '/';
		if (r < 0)
			return r;
	}
	return util_mkdir_one(p, mode);
}

int fsync_dir(const char *path)
{
	_cleanup_close_ int fd = -1;

	if (!path)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int64_t now_usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Indexed by number through the macros, so architectures that number signals
 * differently (alpha, mips, sparc) still get the right names. Aliases (SIGIOT,
 * SIGPOLL, SIGCLD) are left out so that each number has one name. */
static const char *const util_signal_names[] = {
	[SIGHUP] = "SIGHUP",       [SIGINT] = "SIGINT",       [SIGQUIT] = "SIGQUIT",
	[SIGILL] = "SIGILL",       [SIGTRAP] = "SIGTRAP",     [SIGABRT] = "SIGABRT",
	[SIGBUS] = "SIGBUS",       [SIGFPE] = "SIGFPE",       [SIGKILL] = "SIGKILL",
	[SIGUSR1] = "SIGUSR1",     [SIGSEGV] = "SIGSEGV",     [SIGUSR2] = "SIGUSR2",
	[SIGPIPE] = "SIGPIPE",     [SIGALRM] = "SIGALRM",     [SIGTERM] = "SIGTERM",
#ifdef SIGSTKFLT
	[SIGSTKFLT] = "SIGSTKFLT",
#endif
	[SIGCHLD] = "SIGCHLD",     [SIGCONT] = "SIGCONT",     [SIGSTOP] = "SIGSTOP",
	[SIGTSTP] = "SIGTSTP",     [SIGTTIN] = "SIGTTIN",     [SIGTTOU] = "SIGTTOU",
	[SIGURG] = "SIGURG",       [SIGXCPU] = "SIGXCPU",     [SIGXFSZ] = "SIGXFSZ",
	[SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",     [SIGWINCH] = "SIGWINCH",
	[SIGIO] = "SIGIO",
#if defined(SIGPWR) && SIGPWR != SIGIO
	[SIGPWR] = "SIGPWR",
#endif
	[SIGSYS] = "SIGSYS",
};

const char *signal_name(int sig)
{
	if (sig <= 0 || (size_t)sig >= ARRAY_SIZE(util_signal_names))
		return NULL;
	return util_signal_names[sig];
}

void format_rfc3339(int64_t usec, char *buf, size_t len)
{
	struct tm tm;
	/* floor division, so that times before 1970 keep a positive fraction */
	int64_t sec = usec / 1000000, frac = usec % 1000000;
	time_t t;

	if (!buf || len == 0)
		return;
	if (frac < 0) {
		frac += 1000000;
		sec -= 1;
	}
	t = (time_t)sec;
	if (!gmtime_r(&t, &tm)) {
		buf[0] = '\0';
		return;
	}
	(void)snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "Z",
		       tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		       tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

/* As coredumpctl prints sizes: binary units, one decimal, truncated not rounded,
 * so that "1023.9K" never shows up as "1024.0K". */
void format_size(uint64_t bytes, char *buf, size_t len)
{
	static const char units[] = "KMGTPE";

	if (!buf || len == 0)
		return;
	for (int i = (int)sizeof(units) - 2; i >= 0; i--) {
		uint64_t factor = UINT64_C(1) << (10 * (i + 1));
		if (bytes < factor)
			continue;
		/* remainder < factor <= 2^60, so "* 10" cannot overflow */
		(void)snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "%c",
			       bytes / factor, (bytes % factor) * 10 / factor, units[i]);
		return;
	}
	(void)snprintf(buf, len, "%" PRIu64 "B", bytes);
}

void format_duration(uint64_t sec, char *buf, size_t len)
{
	static const struct { const char *name; uint64_t sec; } units[] = {
		{ "w", 604800 }, { "d", 86400 }, { "h", 3600 }, { "min", 60 },
	};

	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (sec > 0 && sec % units[i].sec == 0) {
			(void)snprintf(buf, len, "%" PRIu64 "%s", sec / units[i].sec, units[i].name);
			return;
		}
	}
	(void)snprintf(buf, len, "%" PRIu64 "s", sec);
}

void lower_priority(bool idle)
{
	/* IOPRIO_CLASS_BE (2) level 7, the lowest best-effort. */
	(void)syscall(SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, (2 << 13) | 7);
	(void)setpriority(PRIO_PROCESS, 0, 10);
	if (idle) {
		struct sched_param sp = { 0 };
		(void)sched_setscheduler(0, SCHED_IDLE, &sp);
	}
}

size_t path_undeleted_len(const char *path, bool *deleted)
{
	static const char suffix[] = " (deleted)";
	size_t n = strlen(path), d = sizeof(suffix) - 1;
	*deleted = n > d && strcmp(path + n - d, suffix) == 0;
	return *deleted ? n - d : n;
}
