/* drain: the floor handler (from ../shared/bench, log path changed).
 * Reads stdin (the core pipe) to EOF, discards it and appends "<pid> <bytes>" to DRAIN_LOG so the harness learns the raw core size.
 *   drain [pipe_size_bytes]   (optional F_SETPIPE_SZ on stdin first) */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#ifndef DRAIN_LOG
#define DRAIN_LOG "/var/tmp/mortem-bench/drain.bytes"
#endif
static char buf[1 << 20];
int main(int argc, char **argv)
{
	if (argc > 1) (void)fcntl(0, F_SETPIPE_SZ, atoi(argv[1]));
	unsigned long long total = 0;
	for (;;) {
		ssize_t r = read(0, buf, sizeof buf);
		if (r <= 0) break;
		total += (unsigned long long)r;
	}
	char line[64];
	int n = snprintf(line, sizeof line, "%d %llu\n", (int)getpid(), total);
	int fd = open(DRAIN_LOG, O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd >= 0) { (void)!write(fd, line, n); close(fd); }
	return 0;
}
