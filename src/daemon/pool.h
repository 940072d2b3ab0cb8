/* mortemd's buffer pool: one shared anonymous mapping, faulted in at start-up
 * (fresh memory costs ~1.9 s per GiB to touch on these machines; memory that
 * is already there takes the core at the kernel's speed), cut into fixed
 * chunks. It never grows: a core that the free pool cannot hold is spilled,
 * raw, to a file in the spool (the page cache takes it as fast as the pool
 * would), or compressed inline when the disk has no room for that. Shared, so that the forked worker that compresses a core
 * reads the chunks its parent filled without a copy. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define POOL_CHUNK (1u << 20)
#define POOL_DEFAULT_MAX (UINT64_C(2) << 30)

struct pool {
	unsigned char *base;
	size_t n;           /* chunks */
	uint32_t *free;     /* stack of free chunk numbers */
	size_t n_free;
};

/* min(10 % of RAM, 2G), at least one chunk. */
uint64_t pool_default_size(void);
/* Map and fault in bytes (rounded down to chunks, at least one). */
int pool_init(struct pool *p, uint64_t bytes);
void pool_free(struct pool *p);
/* A free chunk's number, or -1 when none is free. */
int pool_get(struct pool *p);
void pool_put(struct pool *p, int chunk);
static inline unsigned char *pool_chunk(const struct pool *p, int chunk)
{
	return p->base + (size_t)chunk * POOL_CHUNK;
}

/* May `rest` more raw bytes be spilled to disk? Not past spill_max bytes
 * promised at once (0: never spill), and never into the last keep_free bytes of
 * the file system, counting the other spills (`spilling` bytes promised) as if
 * none of them were written yet. */
bool pool_spill_fits(uint64_t rest, uint64_t spilling, uint64_t spill_max, uint64_t fs_avail, uint64_t keep_free);
