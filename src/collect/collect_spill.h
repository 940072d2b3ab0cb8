/* The collector's spill: drain the kernel's pipe raw into the spool at the
 * speed of the disk, so that the dying process goes before its core is
 * compressed (compressing inline holds it ~2.5x the time the kernel needs to
 * write the core). Only the core's data goes to disk: all-zero blocks stay
 * holes (spill.h). The compression then reads the file, after the release and
 * inside a MaxConcurrent slot.
 *
 * Every byte read is accounted for: it is in the file or in rest, so that a
 * spill that stops (a write fails, the core sends more than it announced) goes
 * on inline from where it is, and nothing is lost. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "base/config.h"
#include "store/store.h"

#define COLLECT_SPILL_MIN   (16u << 20) /* smaller cores compress inline in a few ms */
#define COLLECT_SPILL_CHUNK (1u << 20)  /* one read, one write */
#define COLLECT_SPILL_SUFFIX ".raw.tmp"  /* spool/<id>.raw.tmp while it lives */

struct collect_spill {
	int fd;                /* spool/<id>.raw.tmp, its [0, written) the core's first bytes; -1 none */
	uint64_t size;         /* the size the program headers announce; 0 unknown */
	uint64_t written;
	struct iovec rest[2];  /* bytes read but not in the file, in order, after it */
	size_t n_rest;
	bool whole;            /* in_fd is at its end: every byte is in the file and rest */
	int err;               /* the spill stopped on this error (-errno) */
	bool lost;             /* the file could not be cut to size: its bytes are not used */
	bool want;             /* the head says: spill, if the budget allows */
	bool direct;           /* the file is open with O_DIRECT */
	const char *why;       /* static: why there is no spill or it stopped early; NULL when none */
	unsigned char *bufs;   /* the two chunks (aligned for direct writes) */
	char *path;
};

/* Three steps, so that the budget is asked in the same hold of the quota lock
 * as the retention policy (a storm queues on that lock; each hold costs every
 * collector behind it):
 *
 * collect_spill_head reads the core's first chunk from in_fd into rest and
 * sets want when its program headers announce at least min bytes (min 0:
 * never). Returns 0, or a negative errno when in_fd could not be read at all
 * (cs is still usable: whatever was read is in it).
 *
 * collect_spill_reserve, with the quota lock held: when wanted, and the size
 * is no more than MaxCoreSize and the spool's budget takes it all (SpillMax=
 * for all the collectors' spills together, and the free space above KeepFree
 * less what the others have promised), creates spool/<id>.raw.tmp at that
 * size. Else why says why not.
 *
 * collect_spill_drain, without the lock: when the file exists, drains in_fd
 * into it. The caller then reads the core as: the file from its start (when
 * written > 0), rest, then in_fd unless whole. */
int collect_spill_head(const struct mortem_config *cfg, int in_fd, uint64_t min, struct collect_spill *cs);
void collect_spill_reserve(const struct store *st, const struct mortem_config *cfg, const char *id,
			   struct collect_spill *cs);
void collect_spill_drain(struct collect_spill *cs, int in_fd);
/* Close, remove and free (the file is gone when it is closed). */
void collect_spill_free(struct collect_spill *cs);
