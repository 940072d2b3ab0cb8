/* The pre-faulted buffer pool: see pool.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/pool.h"

uint64_t pool_default_size(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	uint64_t ram = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
	uint64_t s = ram / 10;
	if (s > POOL_DEFAULT_MAX)
		s = POOL_DEFAULT_MAX;
	return s < POOL_CHUNK ? POOL_CHUNK : s;
}

int pool_init(struct pool *p, uint64_t bytes)
{
	*p = (struct pool){ 0 };
	size_t n = (size_t)(bytes / POOL_CHUNK);
	if (n == 0)
		n = 1;
	if (n > UINT32_MAX)
		return -E2BIG;
	size_t len = n * (size_t)POOL_CHUNK;
	/* MAP_POPULATE faults every page in now, not while a process waits. */
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		return -errno;
	/* Crash data of other processes has no place in mortemd's own core. */
	(void)madvise(m, len, MADV_DONTDUMP);
	p->free = malloc(n * sizeof(*p->free));
	if (!p->free) {
		(void)munmap(m, len);
		return -ENOMEM;
	}
	p->base = m;
	p->n = n;
	/* Lowest numbers on top: reuse what is warm. */
	for (size_t i = 0; i < n; i++)
		p->free[i] = (uint32_t)(n - 1 - i);
	p->n_free = n;
	return 0;
}

void pool_free(struct pool *p)
{
	if (p->base)
		(void)munmap(p->base, p->n * (size_t)POOL_CHUNK);
	free(p->free);
	*p = (struct pool){ 0 };
}

int pool_get(struct pool *p)
{
	if (p->n_free == 0)
		return -1;
	return (int)p->free[--p->n_free];
}

void pool_put(struct pool *p, int chunk)
{
	if (chunk < 0 || (size_t)chunk >= p->n || p->n_free >= p->n)
		return;
	p->free[p->n_free++] = (uint32_t)chunk;
}

bool pool_spill_fits(uint64_t rest, uint64_t spilling, uint64_t spill_max, uint64_t fs_avail, uint64_t keep_free)
{
	if (spill_max == 0 || rest == 0 || spilling > spill_max || rest > spill_max - spilling)
		return false;
	if (fs_avail < keep_free)
		return false;
	uint64_t room = fs_avail - keep_free;
	return spilling <= room && rest <= room - spilling;
}
