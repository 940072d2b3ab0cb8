/* The start of the hold for a collector the kernel spawned: its fork. */
#include <fcntl.h>
#include <poll.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/parse.h"
#include "base/util.h"
#include "collect/collect_held.h"

/* kthreadd: the kernel's usermode helpers are forked with CLONE_PARENT from
 * one of its workers, so they are its children. */
#define COLLECT_HELD_KTHREADD 2

/* The ppid and start time (clock ticks since boot) in /proc/PID/stat. */
static int collect_held_stat(const char *path, uint64_t *ppid, uint64_t *ticks)
{
	char buf[1024], *p, *f[22] = { 0 };
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* fields from the 3rd on follow the comm's ")"; the 4th is the ppid,
	 * the 22nd the start time */
	p = strrchr(buf, ')');
	for (int i = 2; p && i < 22; i++) {
		p = strchr(p + 1, ' ');
		if (p)
			f[i] = p + 1;
	}
	if (!p || !f[3])
		return -EIO;
	f[3][strcspn(f[3], " ")] = '\0';
	f[21][strcspn(f[21], " ")] = '\0';
	return parse_u64(f[3], ppid) >= 0 && parse_u64(f[21], ticks) >= 0 ? 0 : -EIO;
}

static int64_t collect_held_boottime_usec(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return -1;
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* The start time counts in clock ticks (10 ms). For this process, its CPU
 * time and run-queue wait since then (/proc/self/schedstat, ns; a lower bound,
 * as it leaves out blocking) place it inside that tick; for a wrapper the
 * kernel spawned (whose child we are), the middle of the tick. */
int64_t collect_held_since_fork_usec(void)
{
	uint64_t ppid = 0, ticks = 0, pppid = 0, pticks = 0, run = 0, wait = 0;
	long hz = sysconf(_SC_CLK_TCK);
	int64_t now = collect_held_boottime_usec();
	char pp[64];

	if (hz <= 0 || now < 0 || collect_held_stat("/proc/self/stat", &ppid, &ticks) < 0)
		return -1;
	int64_t tick = 1000000 / hz;
	if (ppid != COLLECT_HELD_KTHREADD) {
		snprintf(pp, sizeof(pp), "/proc/%" PRIu64 "/stat", ppid);
		if (collect_held_stat(pp, &pppid, &pticks) < 0 || pppid != COLLECT_HELD_KTHREADD)
			return -1;
		int64_t since = now - (int64_t)pticks * tick - tick / 2;
		return since >= 0 ? since : -1;
	}
	int64_t hi = now - (int64_t)ticks * tick, lo = hi - tick;
	FILE *f = fopen("/proc/self/schedstat", "re");
	if (f) {
		if (fscanf(f, "%" SCNu64 " %" SCNu64, &run, &wait) != 2)
			run = wait = 0;
		(void)fclose(f);
	}
	int64_t est = (int64_t)((run + wait) / 1000);
	if (hi < 0)
		return -1;
	return est < lo ? (lo > 0 ? lo : 0) : est > hi ? hi : est;
}

static void *collect_held_watch_run(void *arg)
{
	struct collect_held_watch *w = arg;
	struct pollfd p = { .fd = w->pidfd, .events = POLLIN };
	int k = poll(&p, 1, COLLECT_HELD_WATCH_MS);
	if (k > 0 && (p.revents & (POLLIN | POLLHUP)))
		w->end_usec = now_usec();
	return NULL;
}

void collect_held_watch_start(struct collect_held_watch *w, int pidfd)
{
	w->pidfd = pidfd;
	w->end_usec = 0;
	w->started = pidfd >= 0 && pthread_create(&w->th, NULL, collect_held_watch_run, w) == 0;
}

int64_t collect_held_watch_end(struct collect_held_watch *w)
{
	int64_t t = w->started ? w->end_usec : 0;
	return t > 0 ? t : -1;
}

void collect_held_watch_stop(struct collect_held_watch *w)
{
	if (!w->started)
		return;
	if (w->end_usec == 0)
		(void)pthread_cancel(w->th);
	(void)pthread_join(w->th, NULL);
	w->started = false;
}
