/* The start of the hold for a collector the kernel spawned: its fork. */
#include <fcntl.h>
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

bool collect_held_spawned_by_kernel(void)
{
	return getppid() == COLLECT_HELD_KTHREADD;
}

/* The start time in /proc/self/stat counts in clock ticks (10 ms), so the CPU time
 * and run-queue wait since then (/proc/self/schedstat, ns; a lower bound, as
 * it leaves out blocking) place it inside that tick when they can. */
int64_t collect_held_since_fork_usec(void)
{
	char buf[1024], *p;
	uint64_t ticks = 0, run = 0, wait = 0;
	struct timespec ts;
	long hz = sysconf(_SC_CLK_TCK);
	_cleanup_close_ int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (n <= 0 || hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return -1;
	buf[n] = '\0';
	/* starttime is the 22nd field, the 20th after the comm's ")". */
	p = strrchr(buf, ')');
	for (int f = 2; p && f < 22; f++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -1;
	p[1 + strcspn(p + 1, " ")] = '\0';
	if (parse_u64(p + 1, &ticks) < 0)
		return -1;
	int64_t now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	int64_t tick = 1000000 / hz;
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
