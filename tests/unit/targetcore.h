/* Real cores for the unwinding suites, without touching core_pattern: start
 * build/crashers/analyze_target, wait until it is parked at a known point,
 * and have gdb's gcore write its core; then cut a minicore from it with the
 * collector's own stream code. gcore takes about 0.7 s. */
#pragma once

#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/proc.h"
#include "core/stream.h"
#include "testutil.h"
#include <dirent.h>
#include <stdbool.h>

#include "base/util.h"

#define TARGET_PROG "build/crashers/analyze_target"

struct targetcore {
	char dir[64];
	char core[128], mini[128];
	pid_t pid;               /* of the process the core is of (gone now) */
	pid_t tids[16];          /* its threads, ascending (tids[0] == pid) */
	size_t ntids;
	/* The files the collector would have handed to the analysis: opened
	 * while the target lived, through /proc/PID/map_files, by the
	 * collector's own capture (proc_capture with files) (as root: the target's binary
	 * when the build directory is not searchable by others, say a 0700
	 * mktemp -d; none otherwise). For analyze_opts.files. */
	struct proc_file files[PROC_FILES_MAX];
	size_t n_files;
	char copy_dir[64];       /* targetcore_make_reachable's copy, or "" */
};

/* Why the analysis sandbox cannot answer here, or NULL. Under fakeroot the
 * LD_PRELOADed libfakeroot answers the sandbox's library calls (stat, chown,
 * the uid switch) by talking to faked(1) over SysV semaphores and messages,
 * which the sandbox's seccomp filter forbids: the child dies of SIGSYS
 * wherever libdw happens to stat (semtimedop, seen as SIGSYS). Suites and
 * tests that run the sandbox skip then, saying so
 * (TARGETCORE_SKIP_IF_NO_SANDBOX). */
static inline const char *targetcore_no_sandbox(void)
{
	const char *pre = getenv("LD_PRELOAD");
	if (getenv("FAKEROOTKEY") || (pre && strstr(pre, "libfakeroot")))
		return "under fakeroot: libfakeroot's IPC with faked is killed by the analysis's seccomp filter";
	return NULL;
}

/* Root for real: the analysis drops to its own user, which reads only what
 * others may (fakeroot's uid 0 is the caller's own uid). */
static inline bool targetcore_is_root(void)
{
	return geteuid() == 0 && !targetcore_no_sandbox();
}

/* A printed skip (check has none): the test passes, and the line says why
 * (__func__ is check's "test_x_fn"; tests/unit/run.sh shows the line). */
#define TARGETCORE_SKIP(why)                                                     \
	do {                                                                      \
		printf("  SKIP    %s: %s\n", __func__, (why));                    \
		fflush(stdout);                                                   \
		return;                                                           \
	} while (0)
#define TARGETCORE_SKIP_IF_NO_SANDBOX()                                          \
	do {                                                                      \
		const char *why_ = targetcore_no_sandbox();                       \
		if (why_)                                                         \
			TARGETCORE_SKIP(why_);                                    \
	} while (0)

static int targetcore_tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return (x > y) - (x < y);
}

/* The target's thread ids, read while it runs: tests must not guess them from
 * the pid (anything else forking meanwhile takes the next ids). */
static void targetcore_read_tids(struct targetcore *tc)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)tc->pid);
	DIR *d = opendir(path);
	struct dirent *de;
	tc->ntids = 0;
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && tc->ntids < 16)
		if (de->d_name[0] != '.')
			tc->tids[tc->ntids++] = (pid_t)atoi(de->d_name);
	closedir(d);
	qsort(tc->tids, tc->ntids, sizeof(pid_t), targetcore_tid_cmp);
}

/* Start the target (prog: TARGET_PROG or a copy of it); return its pid once
 * it printed "ready". */
static pid_t targetcore_spawn(const char *prog, const char *kind, int threads)
{
	int p[2];
	char tbuf[16];

	ck_assert_int_eq(pipe(p), 0);
	snprintf(tbuf, sizeof(tbuf), "%d", threads);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execl(prog, prog, "-t", tbuf, kind, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char line[64] = "";
	size_t n = 0;
	while (n < sizeof(line) - 1 && !memchr(line, '\n', n)) {
		struct pollfd pf = { .fd = p[0], .events = POLLIN };
		ck_assert_int_eq(poll(&pf, 1, 10000), 1);
		ssize_t r = read(p[0], line + n, sizeof(line) - 1 - n);
		ck_assert_int_gt(r, 0);
		n += (size_t)r;
		line[n] = '\0';
	}
	close(p[0]);
	int pid = 0;
	ck_assert_int_eq(sscanf(line, "ready %d", &pid), 1);
	ck_assert_int_eq(pid, child);
	return child;
}

static int targetcore_run_quiet(const char *const argv[])
{
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		int dn = open("/dev/null", O_RDWR);
		dup2(dn, 0);
		dup2(dn, 1);
		dup2(dn, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	int st;
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Make tc->core (gcore) and tc->mini (the collector's minicore of it) of prog
 * (TARGET_PROG or a copy of it, say one without its debug information). */
static void targetcore_make_prog(struct targetcore *tc, const char *prog, const char *kind, int threads)
{
	const char *t = getenv("TMPDIR");
	tc->copy_dir[0] = '\0';
	snprintf(tc->dir, sizeof(tc->dir), "%s/mortem-tc-XXXXXX", t && t[0] ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tc->dir));
	snprintf(tc->core, sizeof(tc->core), "%s/core", tc->dir);
	snprintf(tc->mini, sizeof(tc->mini), "%s/mini", tc->dir);

	tc->pid = targetcore_spawn(prog, kind, threads);
	targetcore_read_tids(tc);
	{
		/* The lost files, opened as the collector's capture opens them. */
		size_t nf = 0;
		struct proc_capture_opts po = { .files = tc->files, .files_max = PROC_FILES_MAX, .n_files = &nf };
		json_object *cap = NULL;
		ck_assert_int_eq(proc_capture(tc->pid, &po, &cap), 0);
		json_object_put(cap);
		tc->n_files = nf;
	}
	char pidbuf[16], gc[160];
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)tc->pid);
	snprintf(gc, sizeof(gc), "gcore %s", tc->core);
	const char *argv[] = { "gdb", "-nx", "-batch", "-p", pidbuf, "-ex", gc, NULL };
	int r = targetcore_run_quiet(argv);
	kill(tc->pid, SIGKILL);
	waitpid(tc->pid, NULL, 0);
	ck_assert_msg(r == 0, "gdb gcore failed (%d): is gdb installed and ptrace allowed?", r);

	int in = open(tc->core, O_RDONLY | O_CLOEXEC);
	int out = open(tc->mini, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(in, 0);
	ck_assert_int_ge(out, 0);
	struct stream_opts so = { .mid_fd = -1, .in_fd = in, .zw = NULL, .mini_fd = out, .mini_max = 64u << 20,
				  .mini_stack_max = 8u << 20 };
	struct stream_result res;
	ck_assert_int_eq(stream_core(&so, &res), 0);
	ck_assert_msg(res.mini, "no minicore: %s", res.mini_error ? res.mini_error : "?");
	close(in);
	close(out);
}

static void targetcore_make(struct targetcore *tc, const char *kind, int threads)
{
	targetcore_make_prog(tc, TARGET_PROG, kind, threads);
}

/* Could a user with no rights of its own (the analysis user, when the test
 * is root) read path by its name: the file readable by others and every
 * directory above it searchable by them? */
static inline bool targetcore_others_reach(const char *path)
{
	char real[PATH_MAX];
	struct stat st;
	if (!realpath(path, real) || stat(real, &st) < 0 || !(st.st_mode & S_IROTH))
		return false;
	for (char *s = strrchr(real, '/'); s && s != real; s = strrchr(real, '/')) {
		*s = '\0';
		if (stat(real, &st) < 0 || !(st.st_mode & S_IXOTH))
			return false;
	}
	return true;
}

/* targetcore_make, for tests of what comes after the collector (a stored
 * crash analysed again: no process, no descriptors, only the path in the
 * core): when the analysis user could not read the target by its path (a
 * build directory in a 0700 mktemp -d), the target runs from a copy in a
 * 0755 directory of its own, as an installed program would. */
static inline void targetcore_make_reachable(struct targetcore *tc, const char *kind, int threads)
{
	if (!targetcore_is_root() || targetcore_others_reach(TARGET_PROG)) {
		targetcore_make_prog(tc, TARGET_PROG, kind, threads);
		return;
	}
	char dir[sizeof(tc->copy_dir)] = "/tmp/mortem-tc-prog-XXXXXX", prog[96];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(prog, sizeof(prog), "%s/analyze_target", dir);
	const char *argv[] = { "cp", TARGET_PROG, prog, NULL };
	ck_assert_int_eq(targetcore_run_quiet(argv), 0);
	ck_assert_int_eq(chmod(prog, 0755), 0);
	printf("  NOTE    %s is not readable by others: the target runs from %s\n", TARGET_PROG, prog);
	fflush(stdout);
	targetcore_make_prog(tc, prog, kind, threads);
	memcpy(tc->copy_dir, dir, sizeof(dir));
}

static void targetcore_remove(struct targetcore *tc)
{
	unlink(tc->core);
	unlink(tc->mini);
	rmdir(tc->dir);
	proc_files_close(tc->files, tc->n_files);
	tc->n_files = 0;
	if (tc->copy_dir[0]) {
		char prog[96];
		snprintf(prog, sizeof(prog), "%s/analyze_target", tc->copy_dir);
		unlink(prog);
		rmdir(tc->copy_dir);
		tc->copy_dir[0] = '\0';
	}
}

/* Frames of thread t as "fn fn fn …" (for messages and substring checks). */
static void targetcore_fns(json_object *thread, char *buf, size_t len)
{
	json_object *frames;
	size_t n = 0;
	buf[0] = '\0';
	if (!json_object_object_get_ex(thread, "frames", &frames))
		return;
	for (size_t i = 0; i < json_object_array_length(frames); i++) {
		json_object *fn;
		if (!json_object_object_get_ex(json_object_array_get_idx(frames, i), "function", &fn))
			continue;
		int w = snprintf(buf + n, len - n, "%s ", fn ? json_object_get_string(fn) : "?");
		if (w < 0 || (size_t)w >= len - n)
			break;
		n += (size_t)w;
	}
}
