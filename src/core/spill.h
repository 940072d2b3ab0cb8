/* mortemd's spill: when the pool cannot hold a core, its bytes are staged in a
 * pool chunk and written to an unnamed file in the spool by a few writer
 * threads, with O_DIRECT where the file system allows it. Through the page
 * cache every spilled byte would first need fresh memory (on the VMs this runs
 * on, ~1.9 s per GiB to touch); direct writes from the pre-faulted chunk need
 * none, take almost no CPU, and run in parallel with the drain.
 *
 * All-zero blocks are not written (holes in the file, read back as zeros).
 *
 * The threads (jobq.h) only ever call pwrite() and ftruncate(), so that
 * mortemd may still fork its workers (the child never touches the queue). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/jobq.h"

#define SPILL_ALIGN 4096u /* offsets and lengths of direct writes */

struct spill_job {
	struct jobq_item q;
	void *owner;        /* the caller's */
	int fd;
	const void *buf;    /* SPILL_ALIGN-aligned for a direct file */
	size_t len;         /* a multiple of SPILL_ALIGN for a direct file, but see truncate */
	off_t off;
	off_t truncate;     /* >= 0: ftruncate(fd, truncate) after the write (a padded tail) */
	int err;            /* the result: 0 or -errno */
	struct spill_job *next;
};

/* Start n writer threads; *ret_efd becomes readable (an eventfd) when jobs are done. */
int spill_start(unsigned n, int *ret_efd);
/* Let the threads finish what is queued and join them. */
void spill_stop(void);
/* Queue a job (not copied: it lives until spill_done returns it). */
void spill_submit(struct spill_job *j);
/* The jobs done since the last call, in no particular order (clears the eventfd). */
struct spill_job *spill_done(void);

/* pwrite the bytes at off, leaving all-zero SPILL_ALIGN blocks but the last
 * as holes: for a fresh file only (or one whose range holds no data yet). */
int spill_write_sparse(int fd, const void *buf, size_t len, off_t off);

/* An unnamed file in dir (O_TMPFILE: gone with its last descriptor); *direct
 * says whether writes to it must be aligned (O_DIRECT). */
int spill_open(const char *dir, bool *direct);
/* Make a spill file readable with plain buffered reads of any size. */
int spill_readable(int fd);
