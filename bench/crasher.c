/* From ../shared/bench (mortem shared material), unchanged but for this line.
 *
 * crasher: deterministic crash generator for core-dump handler benchmarks.
 *
 * usage: crasher [-s MiB] [-t threads] [-m random|text|zero|mixed]
 *                [-k segv|abort|stack|bus|fpe|ill] [-a ABS_MONO_NS] [-S seed]
 *
 * 1. allocates and touches MiB of memory filled according to the mode
 *      random : xorshift64* output, incompressible
 *      text   : heap-like records (pointers, small ints, ASCII words/key=value
 *               strings, JSON-ish snippets) -- realistic compressible data
 *      zero   : touched (resident) zero pages
 *      mixed  : 25% random, 50% text, 25% zero, interleaved in 1 MiB chunks
 * 2. starts N threads, each parked (pthread_cond_wait) at the bottom of a
 *    distinct nested call chain, so per-thread stacks are distinguishable
 * 3. optionally sleeps until CLOCK_MONOTONIC == ABS_MONO_NS (-a, crash storms)
 * 4. prints "CRASH <pid> <mono_ns>\n" to stdout (flushed) right before the
 *    fault, then crashes with the requested kind.
 *
 * build: make -C bench   (or: gcc -O1 -g -fno-omit-frame-pointer -pthread
 *                              -o crasher crasher.c)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
#define CHUNK (1u << 20)

static pthread_mutex_t park_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t park_cv = PTHREAD_COND_INITIALIZER;
static int parked;
static volatile int never;
volatile int sink;

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---------- memory content ---------- */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static void fill_random(unsigned char *p, size_t n)
{
	uint64_t *q = (uint64_t *)p;
	for (size_t i = 0; i < n / 8; i++)
		q[i] = rnd();
}

static const char *words[] = {
	"request", "response", "user_id", "session", "timeout", "connection",
	"error", "warning", "info", "debug", "GET", "POST", "/api/v1/items",
	"/api/v1/users", "application/json", "Content-Length", "keep-alive",
	"status", "200", "404", "500", "true", "false", "null", "name", "value",
	"id", "created_at", "updated_at", "2024-05-17T12:34:56Z", "hostname",
	"worker-7", "cache_miss", "cache_hit", "latency_ms", "retry", "queue",
	"payload", "Authorization", "Bearer", "utf-8", "localhost", "127.0.0.1",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

/* heap-like: 64-byte records {ptr, ptr, int, int, len, char[40]} plus
 * occasional longer strings, mimicking malloc'ed objects */
static void fill_text(unsigned char *p, size_t n)
{
	size_t off = 0;
	uint64_t heapbase = 0x000055d4c0a00000ull;
	uint32_t counter = 0;
	while (off + 64 <= n) {
		unsigned char *r = p + off;
		uint64_t k = rnd();
		if ((k & 7) < 5) {
			/* struct-like record */
			uint64_t a = heapbase + ((k >> 8) & 0xfffff) * 16;
			uint64_t b = heapbase + ((k >> 28) & 0xfffff) * 16;
			uint32_t c = counter++;
			uint32_t d = (uint32_t)(k >> 48) & 0xff;
			memcpy(r, &a, 8); memcpy(r + 8, &b, 8);
			memcpy(r + 16, &c, 4); memcpy(r + 20, &d, 4);
			const char *w = words[(k >> 32) % NWORDS];
			size_t wl = strlen(w);
			if (wl > 39) wl = 39;
			memset(r + 24, 0, 40);
			memcpy(r + 24, w, wl);
			off += 64;
		} else {
			/* log-line / JSON-ish string */
			char buf[256];
			int len = snprintf(buf, sizeof buf,
				"{\"%s\":\"%s\",\"%s\":%u,\"%s\":\"%s\"}\n",
				words[k % NWORDS], words[(k >> 8) % NWORDS],
				words[(k >> 16) % NWORDS], (unsigned)(k >> 40) % 10000,
				words[(k >> 24) % NWORDS], words[(k >> 32) % NWORDS]);
			size_t l = (size_t)len;
			l = (l + 15) & ~15ul;       /* malloc-ish 16-byte granularity */
			if (off + l > n) break;
			memset(p + off, 0, l);
			memcpy(p + off, buf, (size_t)len);
			off += l;
		}
	}
	memset(p + off, 0, n - off);
}

static void fill_zero(unsigned char *p, size_t n)
{
	/* touch every page so it is resident (not the shared zero page) */
	for (size_t i = 0; i < n; i += 4096)
		((volatile unsigned char *)p)[i] = 0;
}

static unsigned char *alloc_fill(size_t mib, const char *mode)
{
	if (mib == 0) return NULL;
	size_t n = mib << 20;
	/* one PROT_NONE guard page on each side: the data region must stay its
	 * own VMA (otherwise the kernel merges it with an adjacent thread stack
	 * and stack-only dumpers such as minicoredumper dump it as "stack") */
	unsigned char *g = mmap(NULL, n + 2 * 4096, PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g == MAP_FAILED) { perror("mmap"); exit(2); }
	unsigned char *p = g + 4096;
	if (mprotect(p, n, PROT_READ | PROT_WRITE)) { perror("mprotect"); exit(2); }
	madvise(p, n, MADV_NOHUGEPAGE);
	for (size_t c = 0; c < mib; c++) {
		unsigned char *q = p + c * CHUNK;
		if (!strcmp(mode, "random")) fill_random(q, CHUNK);
		else if (!strcmp(mode, "text")) fill_text(q, CHUNK);
		else if (!strcmp(mode, "zero")) fill_zero(q, CHUNK);
		else if (!strcmp(mode, "mixed")) {
			switch (c & 3) {
			case 0: fill_random(q, CHUNK); break;
			case 1: case 2: fill_text(q, CHUNK); break;
			default: fill_zero(q, CHUNK); break;
			}
		} else { fprintf(stderr, "bad mode %s\n", mode); exit(2); }
	}
	return p;
}

/* ---------- parked threads with distinct call chains ---------- */
static NOINLINE void park_here(int id)
{
	pthread_mutex_lock(&park_mu);
	parked++;
	pthread_cond_broadcast(&park_cv);
	while (!never)
		pthread_cond_wait(&park_cv, &park_mu);
	pthread_mutex_unlock(&park_mu);
	sink = id;
}

static NOINLINE void json_parse_value(int id, int d) { park_here(id); sink = d; }
static NOINLINE void json_parse_object(int id, int d) { json_parse_value(id, d + 1); sink = d; }
static NOINLINE void http_handle_request(int id, int d) { json_parse_object(id, d + 1); sink = d; }

static NOINLINE void io_wait_readable(int id, int d) { park_here(id); sink = d; }
static NOINLINE void io_read_block(int id, int d) { io_wait_readable(id, d + 1); sink = d; }
static NOINLINE void storage_flush(int id, int d) { io_read_block(id, d + 1); sink = d; }
static NOINLINE void storage_commit(int id, int d) { storage_flush(id, d + 1); sink = d; }

static NOINLINE void gc_mark(int id, int d) { park_here(id); sink = d; }
static NOINLINE void gc_collect(int id, int d) { gc_mark(id, d + 1); sink = d; }

static NOINLINE void recurse_then_park(int id, int depth)
{
	volatile char pad[64];
	pad[0] = (char)depth;
	if (depth > 0) recurse_then_park(id, depth - 1);
	else park_here(id);
	sink = pad[0];
}

static void *thread_main(void *arg)
{
	int id = (int)(intptr_t)arg;
	switch (id % 4) {
	case 0: http_handle_request(id, 0); break;
	case 1: storage_commit(id, 0); break;
	case 2: gc_collect(id, 0); break;
	default: recurse_then_park(id, 3 + id); break;
	}
	return NULL;
}

/* ---------- crash kinds ---------- */
static NOINLINE void crash_segv(void) { *(volatile int *)(uintptr_t)never = 42; }
static NOINLINE void crash_abort(void) { abort(); }
static NOINLINE int crash_stack(int d)
{
	volatile char buf[1024];
	buf[0] = (char)d;
	return crash_stack(d + 1) + buf[0];
}
static NOINLINE void crash_bus(void)
{
	char path[] = "/tmp/crasher-bus-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || ftruncate(fd, 4096) < 0) { perror("bus"); exit(2); }
	volatile char *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) { perror("mmap bus"); exit(2); }
	unlink(path);
	if (ftruncate(fd, 0) < 0) { perror("truncate"); exit(2); }
	m[0] = 1;
}
static NOINLINE void crash_fpe(void) { volatile int z = never; sink = 1 / z; }
static NOINLINE void crash_ill(void) { __builtin_trap(); }

static NOINLINE void do_crash(const char *kind)
{
	if (!strcmp(kind, "segv")) crash_segv();
	else if (!strcmp(kind, "abort")) crash_abort();
	else if (!strcmp(kind, "stack")) crash_stack(0);
	else if (!strcmp(kind, "bus")) crash_bus();
	else if (!strcmp(kind, "fpe")) crash_fpe();
	else if (!strcmp(kind, "ill")) crash_ill();
	fprintf(stderr, "crash kind %s did not crash\n", kind);
	exit(3);
}

static NOINLINE void app_main_loop(const char *kind, uint64_t at)
{
	if (at) {
		struct timespec ts = { .tv_sec = at / 1000000000ull,
				       .tv_nsec = at % 1000000000ull };
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	printf("CRASH %d %llu\n", (int)getpid(), (unsigned long long)mono_ns());
	fflush(stdout);
	do_crash(kind);
}

int main(int argc, char **argv)
{
	size_t mib = 64;
	int nthreads = 4;
	const char *mode = "mixed", *kind = "segv";
	uint64_t at = 0;
	int opt;
	while ((opt = getopt(argc, argv, "s:t:m:k:a:S:")) != -1) {
		switch (opt) {
		case 's': mib = strtoull(optarg, NULL, 0); break;
		case 't': nthreads = atoi(optarg); break;
		case 'm': mode = optarg; break;
		case 'k': kind = optarg; break;
		case 'a': at = strtoull(optarg, NULL, 0); break;
		case 'S': rng_state ^= strtoull(optarg, NULL, 0) * 0x9E3779B97F4A7C15ull; break;
		default:
			fprintf(stderr, "usage: %s [-s MiB] [-t threads] [-m random|text|zero|mixed] "
				"[-k segv|abort|stack|bus|fpe|ill] [-a abs_mono_ns] [-S seed]\n", argv[0]);
			return 2;
		}
	}
	unsigned char *mem = alloc_fill(mib, mode);
	sink = mem ? mem[0] : 0;

	pthread_t *th = calloc((size_t)nthreads + 1, sizeof *th);
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i)) {
			perror("pthread_create"); return 2;
		}
	pthread_mutex_lock(&park_mu);
	while (parked < nthreads)
		pthread_cond_wait(&park_cv, &park_mu);
	pthread_mutex_unlock(&park_mu);

	app_main_loop(kind, at);
	return 0;
}
