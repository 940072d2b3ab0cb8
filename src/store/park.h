/* Crashes that mortemd parks when it stops with work still queued, and resumes
 * at its next start: the process was released long ago, so the core's bytes
 * and what was captured while the kernel held it are all there is.
 *
 *   spool/<id>.parked        what the worker needs (JSON, below), written last:
 *                            without it the other two are leftovers
 *   spool/<id>.parked-pool   the bytes that were in the pool, raw
 *   spool/<id>.parked-spill  the spill file that followed them (when there was one)
 *
 * {"version":1, "args":{"pid","uid","gid","signal","kernel_time","rlimit_core",
 *  "has_rlimit","hostname","dumpable","problems":[...]}, "capture":{"t0","id",
 *  "mode","proc","sys","errors","store_err"}, "held_usec", "bytes", "pool_bytes",
 *  "spill", "spill_err", "buffer"}
 *
 * A parked crash keeps its pending note (pending.h), so `mortem list` shows it
 * pending, and while <id>.parked exists its lock is never judged abandoned: no
 * collector records it as lost and no clean-up removes its files. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "capture/crash.h"

#define PARK_SUFFIX ".parked"
#define PARK_POOL_SUFFIX ".parked-pool"
#define PARK_SPILL_SUFFIX ".parked-spill"
#define PARK_NOTE_MAX (64u << 20) /* a larger note is not ours: the crash is not resumed */

/* What the worker needs besides the capture and the bytes. */
struct park_info {
	int64_t held_usec;     /* how long the kernel held the process */
	uint64_t bytes;        /* the core's bytes taken: pool_bytes, then the spill's */
	uint64_t pool_bytes;
	int spill_err;         /* the spill lost the rest of the core (-errno), as collect_source */
	const char *buffer;    /* collector.buffer: "pool" or "spill" (static) */
};

/* Park one crash: the pool's bytes (pre), the spill file (spill_fd, -1: none;
 * linked under its name, not copied), then the note, each fsync'ed. On failure
 * nothing is left behind and the crash is still the caller's. */
int park_write(const char *spool_dir, const struct crash_args *a, const struct crash_capture *cap,
	       const struct park_info *pi, const struct iovec *pre, size_t n_pre, int spill_fd);

/* A parked crash read back. The strings args.problems point into problem_buf. */
struct park_crash {
	struct crash_args args;
	struct crash_capture cap;  /* lock_fd: the lock, taken; root_fd -1, no files */
	struct park_info info;
	int pool_fd;                 /* spool/<id>.parked-pool, open for reading */
	int spill_fd;                /* spool/<id>.parked-spill, or -1 */
	char *problem_buf[CRASH_PROBLEMS_MAX];
};

/* Read spool/<id>.parked, check it (types, sizes, the files' lengths), take the
 * crash's lock and open its files. -ENOENT: not parked; -EBADMSG: malformed
 * (left in place: the caller decides); -EWOULDBLOCK: someone holds the lock. */
int park_read(const char *spool_dir, const char *id, struct park_crash *out);
/* Free what park_read allocated and close its descriptors (the lock too). */
void park_crash_free(struct park_crash *p);

/* spool/<id>.parked exists (also when that cannot be told, out of memory:
 * a parked crash must never be taken for a leftover). */
bool park_exists(const char *spool_dir, const char *id);
/* Remove the three files, the note first: what an interruption leaves are
 * leftovers (store_discard), never a parked crash without its bytes. */
void park_remove(const char *spool_dir, const char *id);

/* The ids with a spool/<id>.parked, oldest id first (ids sort by time). */
int park_list(const char *spool_dir, char ***ret_ids, size_t *ret_n);
