/* sockdrain: the floor of socket mode, for bench/daemon.sh. Listens on
 * PATH (core_pattern "@PATH": the kernel connects and writes the core, no
 * request/ack) and reads every connection to its end into a 1 MiB buffer, the
 * way drain does for a pipe, in N processes (default: one per CPU) that
 * accept from the same socket, each with one poll loop: with one reader, the
 * reader's copying is the bottleneck of a storm (50 x 64 MiB here: 1.5x the
 * time of two readers). What it costs over drain is what the kernel's socket
 * path costs over the pipe's.
 *   sockdrain PATH [N]      (runs until killed; kill the process group) */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
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

	if (argc < 2 || argc > 3 || snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]) >= (int)sizeof(a.sun_path)) {
		fprintf(stderr, "usage: sockdrain PATH [N]\n");
		return 2;
	}
	(void)unlink(argv[1]);
	umask(077);
	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, SOMAXCONN) < 0) {
		perror("sockdrain");
		return 1;
	}
	long procs = argc == 3 ? atol(argv[2]) : sysconf(_SC_NPROCESSORS_ONLN);
	for (long k = 1; k < procs; k++)
		if (fork() == 0)
			break;
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
			while ((r = read(p[i].fd, buf, sizeof(buf))) > 0)
				;
			if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
				(void)close(p[i].fd);
				p[i--] = p[--n];
			}
		}
	}
}
