/* an_target_lib.c: one of the 100 libraries of the analysis benchmark
 * (bench/analysis.sh), built 100 times with -DLTAG=NNN [-DNTAG=MMM]:
 *
 *   libanbNNN.so: void an_step_NNN(int id, int depth)
 *     depth > 0 and a next library: an_step_MMM(id, depth - 1)
 *     otherwise: an_park(id) (id >= 0) or an_crash() (id < 0), in libanbase.so
 *
 * Built with -DAN_BASE instead, it is libanbase.so: an_park() parks the
 * calling thread on a condition variable for good, an_crash() writes through
 * NULL. Each library is linked against the next one and libanbase.so, so a
 * call chain through k libraries has k distinct frames in k modules. */
#include <pthread.h>

#define NOINLINE __attribute__((noinline, used))
#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)

#ifdef AN_BASE
static pthread_mutex_t an_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t an_cv = PTHREAD_COND_INITIALIZER;
static int an_parked;
static volatile int an_never;
volatile int an_sink;

NOINLINE void an_park(int id)
{
	pthread_mutex_lock(&an_mu);
	an_parked++;
	pthread_cond_broadcast(&an_cv);
	while (!an_never)
		pthread_cond_wait(&an_cv, &an_mu);
	pthread_mutex_unlock(&an_mu);
	an_sink = id;
}

/* The main thread: until n threads are parked. */
NOINLINE void an_wait_parked(int n)
{
	pthread_mutex_lock(&an_mu);
	while (an_parked < n)
		pthread_cond_wait(&an_cv, &an_mu);
	pthread_mutex_unlock(&an_mu);
}

NOINLINE void an_crash(void)
{
	volatile int *volatile p = 0;
	*p = 42;
	an_sink = 1;
}
#else
void an_park(int id);
void an_crash(void);
#define SELF CAT(an_step_, LTAG)
volatile int CAT(an_sink_, LTAG);
#ifdef NTAG
void CAT(an_step_, NTAG)(int id, int depth);
#endif

NOINLINE void SELF(int id, int depth)
{
	volatile char pad[32];
	pad[0] = (char)depth;
	if (depth <= 0) {
		if (id < 0)
			an_crash();
		else
			an_park(id);
	} else {
#ifdef NTAG
		CAT(an_step_, NTAG)(id, depth - 1);
#else
		if (id < 0)
			an_crash();
		else
			an_park(id);
#endif
	}
	CAT(an_sink_, LTAG) = pad[0];
}
#endif
