/* crasher: a small program that dies the way it is told, for the demo and the
 * end-to-end tests.
 *
 *   crasher [-t THREADS] [-m MIB] [-e] KIND
 *   KIND: segv abort fpe bus ill quit (waits for kill -QUIT) stack (overflow)
 *   -t  park THREADS extra threads in distinct call chains first
 *   -m  allocate and touch MIB MiB of mixed content first
 *   -e  print "ready <pid>" on stdout once set up (for kill-based tests)
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static volatile int sink;

static void *park_leaf(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}
static void *park_mid(void *arg) { return park_leaf(arg); }
static void *park_top(void *arg) { return park_mid(arg); }

static void fill(size_t mib)
{
	size_t len = mib << 20;
	unsigned char *p = malloc(len);
	uint64_t x = 88172645463325252ull;
	if (!p)
		abort();
	/* Mixed: a quarter random, a quarter text, half zero pages left as they are. */
	for (size_t i = 0; i < len; i += 4096) {
		size_t q = (i / 4096) % 4;
		if (q == 0)
			for (size_t j = 0; j < 4096; j += 8) {
				x ^= x << 13, x ^= x >> 7, x ^= x << 17;
				memcpy(p + i + j, &x, 8);
			}
		else if (q == 1)
			memcpy(p + i, memset(p + i, 'a' + (int)(i % 26), 4096), 1);
		else
			p[i] = 0;
	}
	sink = p[len - 1];
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
static int recurse(int n)
{
	volatile char pad[1024];
	pad[0] = (char)n;
	return recurse(n + 1) + pad[0];
}

__attribute__((noinline)) static void crash_segv(void)
{
	volatile int *p = NULL;
	*p = 42;
}

__attribute__((noinline)) static void crash_fpe(void)
{
	/* volatile on both sides: gcc may otherwise turn 1 / x into a compare */
	volatile int one = 1, zero = 0;
	sink = one / zero;
}

__attribute__((noinline)) static void crash_bus(void)
{
	FILE *f = tmpfile();
	if (!f)
		abort();
	/* Map one page of an empty file: touching it is SIGBUS (BUS_ADRERR). */
	volatile char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fileno(f), 0);
	if (p == MAP_FAILED)
		abort();
	p[0] = 1;
}

__attribute__((noinline)) static void crash_ill(void)
{
	__builtin_trap();
}

int main(int argc, char **argv)
{
	int threads = 0, opt;
	size_t mib = 0;
	int ready = 0;

	while ((opt = getopt(argc, argv, "t:m:e")) != -1) {
		switch (opt) {
		case 't': threads = atoi(optarg); break;
		case 'm': mib = (size_t)strtoul(optarg, NULL, 10); break;
		case 'e': ready = 1; break;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: crasher [-t N] [-m MIB] [-e] segv|abort|fpe|bus|ill|quit|stack\n");
		return 2;
	}
	const char *kind = argv[optind];
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		pthread_create(&t, NULL, park_top, NULL);
	}
	if (mib)
		fill(mib);
	if (ready) {
		printf("ready %d\n", (int)getpid());
		fflush(stdout);
	}
	if (!strcmp(kind, "segv"))
		crash_segv();
	else if (!strcmp(kind, "abort"))
		abort();
	else if (!strcmp(kind, "fpe"))
		crash_fpe();
	else if (!strcmp(kind, "bus"))
		crash_bus();
	else if (!strcmp(kind, "ill"))
		crash_ill();
	else if (!strcmp(kind, "stack"))
		sink = recurse(0);
	else if (!strcmp(kind, "quit"))
		for (;;)
			pause();
	fprintf(stderr, "crasher: unknown kind %s\n", kind);
	return 2;
}
