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

#include "core/stream.h"
#include "testutil.h"
#include <dirent.h>

#include "base/util.h"

#define TARGET_PROG "build/crashers/analyze_target"

struct targetcore {
	char dir[64];
	char core[128], mini[128];
	pid_t pid;               /* of the process the core is of (gone now) */
	pid_t tids[16];          /* its threads, ascending (tids[0] == pid) */
	size_t ntids;
};

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
	snprintf(tc->dir, sizeof(tc->dir), "%s/mortem-tc-XXXXXX", t && t[0] ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tc->dir));
	snprintf(tc->core, sizeof(tc->core), "%s/core", tc->dir);
	snprintf(tc->mini, sizeof(tc->mini), "%s/mini", tc->dir);

	tc->pid = targetcore_spawn(prog, kind, threads);
	targetcore_read_tids(tc);
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

static void targetcore_remove(struct targetcore *tc)
{
	unlink(tc->core);
	unlink(tc->mini);
	rmdir(tc->dir);
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
