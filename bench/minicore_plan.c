/* Minicore planning time for a core of N one-page private file mappings (an
 * NT_FILE entry and a PT_LOAD each), the head alone: minicore_new, _plan, the
 * head fed, _finish, into a memfd. Prints "N mappings: X ms (best of R)".
 * Built by bench/minicore.sh against the current or an older minicore.c. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "core/minicore.h"
#include "hostilecore.h"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 64000;
	int reps = argc > 2 ? atoi(argv[2]) : 3;
	struct hostilecore hc;
	double best = 1e18;

	if (n == 0 || n > 65000 || reps < 1) {
		fprintf(stderr, "usage: minicore_plan [MAPPINGS (1..65000)] [REPEATS]\n");
		return 2;
	}
	hostilecore_make(&hc, 1, n, 0);
	for (int i = 0; i < reps; i++) {
		struct minicore *m = NULL;
		struct minicore_info mi;
		int fd = memfd_create("mini", MFD_CLOEXEC);
		double t0 = now_ms();
		if (fd < 0 || minicore_new(fd, 256u << 20, 1u << 20, &m) < 0 ||
		    minicore_plan(m, hc.head, hc.head_len) < 0 || minicore_feed(m, 0, hc.head, hc.head_len) < 0 ||
		    minicore_finish(m, &mi) < 0) {
			fprintf(stderr, "minicore_plan: failed\n");
			return 1;
		}
		double t = now_ms() - t0;
		if (t < best)
			best = t;
		minicore_free(m);
		close(fd);
	}
	printf("%zu mappings: %.1f ms (best of %d)\n", n, best, reps);
	free(hc.head);
	return 0;
}
