/* an_threads: 8 threads; the 5th (crash_worker) writes through NULL while the
 * 7 others wait in distinct functions, waiter_a (main) … waiter_g, each blocked
 * in pause() called from that function. For the analysis tests. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <unistd.h>

static pthread_barrier_t all_started;
static volatile int sink;

#define WAITER(NAME)                                                  \
	__attribute__((noinline)) void *NAME(void *arg)               \
	{                                                             \
		pthread_setname_np(pthread_self(), #NAME);            \
		pthread_barrier_wait(&all_started);                   \
		for (;;)                                              \
			pause();                                      \
		return arg;                                           \
	}
WAITER(waiter_a)
WAITER(waiter_b)
WAITER(waiter_c)
WAITER(waiter_d)
WAITER(waiter_e)
WAITER(waiter_f)
WAITER(waiter_g)

__attribute__((noinline)) void crash_now(int *p)
{
	sink++;
	*p = 5;
}

__attribute__((noinline)) void *crash_worker(void *arg)
{
	pthread_setname_np(pthread_self(), "crash_worker");
	pthread_barrier_wait(&all_started);
	/* Let every waiter reach pause(). */
	usleep(200 * 1000);
	crash_now(NULL);
	return arg;
}

int main(void)
{
	void *(*fn[7])(void *) = { waiter_b, waiter_c, waiter_d, waiter_e, crash_worker, waiter_f, waiter_g };
	pthread_t t;
	pthread_barrier_init(&all_started, NULL, 8);
	for (int i = 0; i < 7; i++)
		if (pthread_create(&t, NULL, fn[i], NULL))
			return 2;
	waiter_a(NULL);
	return 2;
}
