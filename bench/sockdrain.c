/* sockdrain: the floor of socket mode, for bench/daemon.sh. Listens on
 * PATH (core_pattern "@PATH": the kernel connects and writes the core, no
 * request/ack) and reads every connection to its end into a 1 MiB buffer, the
 * way drain does for a pipe, in N processes (default: one per CPU) that
 * accept from the same socket, each with one poll loop: with one reader, the
 * reader's copying is the bottleneck of a storm (50 x 64 MiB here: 1.5x the
 * time of two readers). What it costs over drain is what the kernel's socket
 * path costs over the pipe's.
 *   sockdrain PATH [N [KEEP_MIB]]   (runs until killed; kill the process group)
 * With KEEP_MIB, each process reads into its share of a pool of that many MiB,
 * faulted in at start (shared memory, as mortemd's), each connection on from
 * where the last one ended, wrapping around: the floor of a daemon that keeps
 * the bytes, with mortemd's cold destination but none of its bookkeeping. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONN_MAX 512
static char buf[1 << 20];

int main(int argc, char **argv)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct pollfd p[1 + CONN_MAX];
	int n = 1, c;

	if (argc < 2 || argc > 4 || snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]) >= (int)sizeof(a.sun_path)) {
		fprintf(stderr, "usage: sockdrain PATH [N [KEEP_MIB]]\n");
		return 2;
	}
	(void)unlink(argv[1]);
	umask(077);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, SOMAXCONN) < 0) {
		perror("sockdrain");
		return 1;
	}
	long procs = argc >= 3 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
	size_t keep = argc == 4 ? (size_t)atol(argv[3]) << 20 : 0, share = 0, at = 0;
	unsigned char *pool = NULL;
	if (keep) {
		pool = mmap(NULL, keep, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (pool == MAP_FAILED) {
			perror("sockdrain: pool");
			return 1;
		}
		share = keep / (size_t)(procs > 0 ? procs : 1) / sizeof(buf) * sizeof(buf);
		if (share == 0) {
			fprintf(stderr, "sockdrain: KEEP_MIB under 1 MiB per process\n");
			return 2;
		}
	}
	long me = 0;
	for (long k = 1; k < procs; k++)
		if (fork() == 0) {
			me = k;
			break;
		}
	unsigned char *mine = pool ? pool + (size_t)me * share : NULL;
	p[0] = (struct pollfd){ .fd = l, .events = POLLIN };
	for (;;) {
		if (poll(p, (nfds_t)n, -1) < 0)
			continue;
		if (p[0].revents & POLLIN)
			while (n < 1 + CONN_MAX && (c = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
				p[n++] = (struct pollfd){ .fd = c, .events = POLLIN };
		for (int i = 1; i < n; i++) {
			ssize_t r;
			if (!p[i].revents)
				continue;
			for (;;) {
				unsigned char *dst = (unsigned char *)buf;
				if (mine) {
					if (at == share)
						at = 0;
					dst = mine + at;
				}
				size_t room = mine && share - at < sizeof(buf) ? share - at : sizeof(buf);
				if ((r = read(p[i].fd, dst, room)) <= 0)
					break;
				if (mine)
					at += (size_t)r;
			}
			if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				(void)close(p[i].fd);
				p[i--] = p[--n];
			}
		}
	}
}
