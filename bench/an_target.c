/* an_target: the crash of bench/analysis.sh. Linked against the 100
 * libanbNNN.so (and libanbase.so) that analysis.sh builds from an_target_lib.c;
 * an_steps.h (generated) declares an_step_000 .. an_step_099 and fills
 * an_steps[] with them.
 *
 * Starts T threads (default 64); thread t enters library (37 t) mod 100 and
 * walks 4 + t % 13 libraries deep (fewer near the last library) before it
 * parks in libanbase.so, so the 64 call chains differ. When all are parked
 * the main thread prints "CRASH <pid> <CLOCK_MONOTONIC ns>" and crashes with
 * SIGSEGV at the end of its own chain through libraries 7..18: 1 + T threads
 * in the core. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "an_steps.h"

void an_wait_parked(int n);

static void *thread_main(void *arg)
{
	int t = (int)(intptr_t)arg;
	char name[16];
	snprintf(name, sizeof(name), "an-worker-%02d", t);
	pthread_setname_np(pthread_self(), name);
	an_steps[(37 * t) % AN_NLIBS](t, 4 + t % 13);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 64;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 256 * 1024);
	for (int t = 0; t < n; t++) {
		pthread_t th;
		if (pthread_create(&th, &a, thread_main, (void *)(intptr_t)t)) {
			perror("pthread_create");
			return 2;
		}
	}
	an_wait_parked(n);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("CRASH %d %llu\n", (int)getpid(), (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec);
	fflush(stdout);
	an_steps[7](-1, 11);
	return 2;
}
