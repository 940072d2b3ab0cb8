/*
 * hwrap: measurement wrapper for core_pattern pipe handlers
 * (from ../shared/bench; changed: the log path, and the wrapper closes its own
 * copy of the core pipe so that it never holds the crashing process itself).
 *
 *   core_pattern: |/path/hwrap TAG /path/handler %P %u ...
 *
 * Forks+execs the handler (stdin = core pipe is inherited), wait4()s it and
 * appends one line to HWRAP_LOG (compile-time path: the kernel gives helpers
 * no environment worth using):
 *   tag=.. wpid=.. cpid=.. start_ns=.. end_ns=.. utime_us=.. stime_us=..
 *   maxrss_kb=.. status=.. argv="..."
 * start/end are CLOCK_MONOTONIC, comparable with crasher's CRASH timestamp.
 * utime/stime/maxrss are the handler's (wait4), including the children it
 * waited for. If LISTEN_PID is set (socket activation), it is rewritten to the
 * child's pid so sd_listen_fds() still works in the wrapped program.
 *
 * Why close(0) in the parent: with core_pipe_limit > 0 the kernel keeps the
 * dying process until every reader of the pipe has closed it. A wrapper that
 * kept fd 0 open would stretch "held" to the handler's whole run.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef HWRAP_LOG
#define HWRAP_LOG "/var/tmp/mortem-bench/hwrap.log"
#endif

static unsigned long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	unsigned long long t0 = mono_ns();
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0) {
		if (getenv("LISTEN_PID")) {
			char b[32];
			snprintf(b, sizeof b, "%d", (int)getpid());
			setenv("LISTEN_PID", b, 1);
		}
		execv(argv[2], argv + 2);
		_exit(127);
	}
	/* Keep fd 0 busy with /dev/null so that the log's open() cannot get it. */
	int devnull = open("/dev/null", O_RDONLY);
	if (devnull > 0) {
		dup2(devnull, 0);
		close(devnull);
	} else {
		close(0);
	}
	int st = 0;
	struct rusage ru;
	memset(&ru, 0, sizeof ru);
	while (wait4(pid, &st, 0, &ru) < 0)
		;
	unsigned long long t1 = mono_ns();
	char line[2048];
	int n = snprintf(line, sizeof line,
		"tag=%s wpid=%d cpid=%d start_ns=%llu end_ns=%llu utime_us=%ld stime_us=%ld "
		"maxrss_kb=%ld status=%d argv=\"",
		argv[1], (int)getpid(), (int)pid, t0, t1,
		(long)(ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec),
		(long)(ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec),
		ru.ru_maxrss, st);
	for (int i = 2; i < argc && n < (int)sizeof line - 64; i++)
		n += snprintf(line + n, sizeof line - n, "%s%s", i > 2 ? " " : "", argv[i]);
	n += snprintf(line + n, sizeof line - n, "\"\n");
	int fd = open(HWRAP_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0) {
		(void)!write(fd, line, n);
		close(fd);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
