/* analyze_target: a program with known call chains for the unwinding tests.
 *
 *   analyze_target [-t THREADS] KIND
 *   KIND: wait   main → at_level_one → at_level_two → at_level_three, which
 *                prints "ready <pid>" and waits in pause() (for gdb's gcore)
 *         wait2  the same through a different call chain (other_site_*)
 *         segv   at_level_three writes through NULL
 *         abort  at_level_three fails an assert()
 *   -t  first start THREADS threads parked in at_worker_leaf ← at_worker_mid ←
 *       at_worker_top
 *
 * Built without optimisation, with frame pointers and debug info (see Makefile).
 */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int sink;
static pthread_barrier_t started;

__attribute__((noinline)) static void *at_worker_leaf(void *arg)
{
	pthread_barrier_wait(&started);
	for (;;)
		pause();
	return arg;
}
__attribute__((noinline)) static void *at_worker_mid(void *arg) { sink++; return at_worker_leaf(arg); }
__attribute__((noinline)) static void *at_worker_top(void *arg) { sink++; return at_worker_mid(arg); }

static void ready(void)
{
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
}

__attribute__((noinline)) static void at_level_three(const char *kind)
{
	if (!strcmp(kind, "segv")) {
		volatile int *p = NULL;
		*p = 42;
	} else if (!strcmp(kind, "abort")) {
		assert(sink < 0);
	}
	ready();
	for (;;)
		pause();
}
__attribute__((noinline)) static void at_level_two(const char *kind) { sink++; at_level_three(kind); sink++; }
__attribute__((noinline)) static void at_level_one(const char *kind) { sink++; at_level_two(kind); sink++; }

__attribute__((noinline)) static void other_site_leaf(void)
{
	ready();
	for (;;)
		pause();
}
__attribute__((noinline)) static void other_site_caller(void) { sink++; other_site_leaf(); sink++; }

int main(int argc, char **argv)
{
	int threads = 0, opt;

	while ((opt = getopt(argc, argv, "t:")) != -1) {
		if (opt != 't')
			return 2;
		threads = (int)strtol(optarg, NULL, 10);
		if (threads < 0 || threads > 512)
			return 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: analyze_target [-t N] wait|wait2|segv|abort\n");
		return 2;
	}
	pthread_barrier_init(&started, NULL, (unsigned)threads + 1);
	for (int i = 0; i < threads; i++) {
		pthread_t t;
		if (pthread_create(&t, NULL, at_worker_top, NULL))
			return 1;
	}
	pthread_barrier_wait(&started);
	if (!strcmp(argv[optind], "wait2"))
		other_site_caller();
	at_level_one(argv[optind]);
	return 0;
}
