/* Reading a core into the pool, and what the pool's size decides: as soon as
 * the program headers say how big a core is, it is promised the pool whole,
 * or its rest spilled raw to the spool (core/spill.h), or compressed inline
 * by a worker of its own while the process waits. The head is read here in
 * the loop; the rest by the readers (reader.c), a chunk at a time. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <json-c/json.h>

#include "base/jobq.h"
#include "base/util.h"
#include "core/elfcore.h"
#include "core/spill.h"
#include "daemon/md.h"
#include "daemon/pool.h"
#include "daemon/reader.h"

#define MD_PROGRESS (64u << 10)   /* bytes that count as progress against StallTimeout */

/* Chunks a core will need, from the resident size /proc gave (a core is
 * about the resident memory plus headers and file pages; 1/8 and 4 MiB of
 * slack); 0 when unknown. */
static size_t intake_estimate_chunks(const struct md_crash *c)
{
	json_object *status, *v;
	uint64_t kb = 0;
	if (!c->cap.proc || !json_object_object_get_ex(c->cap.proc, "status", &status) ||
	    !json_object_object_get_ex(status, "VmRSS", &v) || !json_object_is_type(v, json_type_string))
		return 0;
	if (sscanf(json_object_get_string(v), "%" SCNu64, &kb) != 1 || kb > (UINT64_C(1) << 40))
		return 0;
	uint64_t bytes = kb * 1024 + kb * 1024 / 8 + (4u << 20);
	return (size_t)((bytes + POOL_CHUNK - 1) / POOL_CHUNK);
}

/* Chunks nobody was promised, less the few kept for spills to stage in. */
static size_t intake_pool_avail(const struct md *d)
{
	size_t keep = d->reserved + d->stage_reserve;
	return d->pool.n_free > keep ? d->pool.n_free - keep : 0;
}

static void intake_unreserve(struct md *d, struct md_crash *c)
{
	d->reserved -= c->reserve_left < d->reserved ? c->reserve_left : d->reserved;
	c->reserve_left = 0;
}

/* The collector's path for the rest of c: a worker of its own compresses it
 * as it comes, while the process waits. */
static void intake_go_inline(struct md *d, struct md_crash *c)
{
	if (c->stage >= 0) /* empty: flushed before this is called */
		pool_put(&d->pool, c->stage);
	if (c->stage_spare >= 0)
		pool_put(&d->pool, c->stage_spare);
	c->stage = c->stage_spare = -1;
	d->inline_fallbacks++;
	intake_unreserve(d, c);
	md_drop_conn(d, c);
	if (worker_start(d, c) < 0) {
		md_log(3, "pid %d: cannot start a worker: core not taken", (int)c->args.pid);
		md_crash_free(d, c);
	}
}

/* Park the rest of c, raw, in an unnamed file in the spool (O_TMPFILE: a
 * killed daemon leaves nothing behind) when SpillMax and KeepFree leave room
 * for all of it: the bytes gather in a pool chunk (the stage) and the spill
 * writers write it out directly (spill.h) while the next chunk comes into a
 * second one (the spare, while most of the stage reserve is left: else the
 * reading waits for each write), where compressing inline would hold the
 * process for the whole compression. The worker compresses from the file
 * after the release. */
static bool intake_spill_begin(struct md *d, struct md_crash *c)
{
	struct statvfs sv;
	/* Before its first byte (no chunk left even for its head), the size is
	 * guessed from VmRSS until the program headers say (intake_stage_size). */
	uint64_t end = c->expected ? c->expected : (uint64_t)intake_estimate_chunks(c) * POOL_CHUNK;
	if (d->cfg.spill_max == 0 || !d->spool_dir || d->spill_efd < 0 || end <= c->bytes)
		return false;
	/* Over MaxCoreSize: the collector's path reads what it may and lets go. */
	if (d->cfg.max_core_size > 0 && end > d->cfg.max_core_size)
		return false;
	uint64_t rest = end - c->bytes;
	if (statvfs(d->spool_dir, &sv) < 0 ||
	    !pool_spill_fits(rest, d->spilling, d->cfg.spill_max, (uint64_t)sv.f_bavail * sv.f_frsize, d->keep_free))
		return false;
	/* A stage: any chunk nobody was promised, the spills' reserve included. */
	if (d->pool.n_free <= d->reserved)
		return false;
	int fd = spill_open(d->spool_dir, &c->spill_direct);
	if (fd < 0)
		return false;
	c->stage = pool_get(&d->pool);
	/* A quarter of the stage reserve may go to second chunks; past that,
	 * one each, so that as many cores as before can spill in a storm. */
	if (d->pool.n_free > d->reserved + d->stage_reserve * 3 / 4)
		c->stage_spare = pool_get(&d->pool);
	c->stage_fill = 0;
	c->spill_len = 0;
	c->spill_fd = fd;
	c->spill_end = end;
	c->spill_promised = rest;
	d->spilling += rest;
	d->spilled++;
	intake_unreserve(d, c);
	return true;
}

/* A core spilled from its first byte: its size from the head in the stage,
 * once the program headers are in; the promise follows it. */
static void intake_stage_size(struct md *d, struct md_crash *c)
{
	uint64_t size = 0;
	if (c->spill_len > 0) {
		c->sized = true; /* the head is gone to the file: the guess stays */
		return;
	}
	int r = elfcore_size_known(pool_chunk(&d->pool, c->stage), c->stage_fill, &size);
	if (r == 1 && c->stage_fill < POOL_CHUNK)
		return;
	c->sized = true;
	if (r != 0 || size == 0)
		return; /* not an ELF core we can size: the guess stays the bound */
	c->expected = size;
	d->spilling -= c->spill_promised < d->spilling ? c->spill_promised : d->spilling;
	c->spill_promised = size;
	c->spill_end = size;
	d->spilling += size;
}

/* Hand the stage to the writers and read on into the spare, if there is
 * one (else not until the write is done). One write in flight per core. */
static void intake_spill_flush(struct md *d, struct md_crash *c)
{
	c->job = (struct spill_job){ .owner = c, .fd = c->spill_fd, .buf = pool_chunk(&d->pool, c->stage),
				     .len = c->stage_fill, .off = (off_t)c->spill_len, .truncate = -1 };
	if (c->spill_direct && c->stage_fill % SPILL_ALIGN) {
		/* Only the last write of a core can be short: padded, then cut. */
		c->job.len = (c->stage_fill + SPILL_ALIGN - 1) / SPILL_ALIGN * SPILL_ALIGN;
		c->job.truncate = (off_t)(c->spill_len + c->stage_fill);
	}
	c->spill_len += c->stage_fill;
	c->spill_busy = true;
	int written = c->stage;
	c->stage = c->stage_spare;
	c->stage_spare = written;
	c->stage_fill = 0;
	spill_submit(&c->job);
}

/* Reading waits: for the write in flight, when there is nowhere to read to;
 * for good, once the core has ended or is a chunk past its announced size. */
bool intake_spill_paused(const struct md_crash *c)
{
	if (c->spill_fd < 0)
		return false;
	return c->spill_eof || (c->spill_busy && (c->stage < 0 || c->stage_fill == POOL_CHUNK)) ||
	       c->bytes > c->spill_end + POOL_CHUNK;
}

/* After a read or a finished write: hand a full stage (or the last bytes) to
 * the writers; at the end, once all is written, let the process go; a core
 * longer than its program headers said is not put on disk without bound: the
 * collector's path takes the rest. */
static void intake_spill_step(struct md *d, struct md_crash *c)
{
	bool over = c->bytes > c->spill_end + POOL_CHUNK;
	if (c->spill_busy)
		return; /* called again when the write is done */
	if (c->stage_fill == POOL_CHUNK || ((c->spill_eof || over) && c->stage_fill > 0)) {
		intake_spill_flush(d, c);
		return;
	}
	if (c->spill_eof) {
		if (c->stage >= 0)
			pool_put(&d->pool, c->stage);
		if (c->stage_spare >= 0)
			pool_put(&d->pool, c->stage_spare);
		c->stage = c->stage_spare = -1;
		intake_released(d, c, c->eof_why);
	} else if (over) {
		intake_go_inline(d, c);
	}
}

/* The core ended (or is cut, or could not be read): write what is staged,
 * then let the process go. */
void intake_spill_end(struct md *d, struct md_crash *c, const char *why)
{
	c->spill_eof = true;
	c->eof_why = why;
	intake_spill_step(d, c);
}

/* The writers are done with some stages. */
void intake_spill_written(struct md *d)
{
	for (struct spill_job *j = spill_done(), *next; j; j = next) {
		next = j->next;
		struct md_crash *c = j->owner;
		c->spill_busy = false;
		if (c->stage < 0) { /* no spare: the chunk just written is read into next */
			c->stage = c->stage_spare;
			c->stage_spare = -1;
		}
		c->t_progress = now_usec();
		if (j->err < 0 && !c->spill_err) {
			/* The process is let go; the record says what was lost. */
			c->spill_err = j->err;
			c->stage_fill = 0;
			c->spill_eof = true;
			c->eof_why = "writing the spill file failed";
		}
		intake_spill_step(d, c);
	}
}

/* The pool cannot hold (the rest of) c: spill it, else inline. Returns true
 * when c is still read here (spilling). */
static bool intake_overflow(struct md *d, struct md_crash *c)
{
	if (intake_spill_begin(d, c))
		return true;
	intake_go_inline(d, c);
	return false;
}

/* As soon as the first bytes say how big c is, promise it the pool whole, or
 * send it elsewhere while only a chunk of it is in: shared among all the cores
 * of a storm, the pool would run out with every one of them half read. A
 * core whose program headers do not tell (not an ELF core, a head over one
 * chunk) is guessed from its VmRSS, or taken as it comes. Returns true when c
 * is still read here. */
static bool intake_size(struct md *d, struct md_crash *c)
{
	uint64_t size = 0;
	size_t want;
	int r = elfcore_size_known(pool_chunk(&d->pool, c->chunks[0]), c->fill, &size);
	if (r == 1 && c->fill < POOL_CHUNK)
		return true;
	c->sized = true;
	if (r == 0 && size > 0) {
		c->expected = size;
		want = (size_t)((size + POOL_CHUNK - 1) / POOL_CHUNK);
	} else {
		want = intake_estimate_chunks(c);
	}
	if (want <= c->n_chunks)
		return true;
	want -= c->n_chunks;
	if (want > intake_pool_avail(d))
		return intake_overflow(d, c);
	c->reserve_left = want;
	d->reserved += want;
	return true;
}

/* Start reading c (into the pool until intake_size knows better). */
void intake_begin_drain(struct md *d, struct md_crash *c)
{
	c->state = MD_DRAIN;
	c->t_progress = now_usec();
}

/* Released: the core is all in the pool. */
void intake_released(struct md *d, struct md_crash *c, const char *why)
{
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	c->held_usec = now_usec() - c->t_start;
	intake_unreserve(d, c);
	md_drop_conn(d, c);
	if (why)
		md_log(4, "pid %d: %s after %llu bytes", (int)c->args.pid, why, (unsigned long long)c->bytes);
	d->taken++;
	worker_queue(d, c);
}

/* Bytes came into c's pool chunk or stage (the readers' n), or the stream
 * ended (end: READ_EOF, or -errno): account, size, spill, release. */
static void intake_took(struct md *d, struct md_crash *c, size_t n, int end)
{
	if (n > 0) {
		if (c->spill_fd >= 0)
			c->stage_fill += n;
		else
			c->fill += n;
		c->bytes += n;
		/* A deadline on throughput, not on the total: a big core may take
		 * long, but a trickle under MD_PROGRESS bytes per StallTimeout is
		 * treated as stalled. */
		if (c->bytes - c->bytes_at_progress >= MD_PROGRESS) {
			c->bytes_at_progress = c->bytes;
			c->t_progress = now_usec();
		}
		if (c->spill_fd >= 0) {
			if (!c->sized)
				intake_stage_size(d, c);
			if (c->stage_fill == POOL_CHUNK || c->bytes > c->spill_end + POOL_CHUNK) {
				intake_spill_step(d, c);
				/* (a full stage is written first; the end is seen again) */
				if (end != READ_MORE && !c->spill_eof && md_is_conn(d, c))
					intake_spill_end(d, c, end < 0 ? "reading the core failed" : NULL);
				return;
			}
		} else if (!c->sized && !intake_size(d, c)) {
			return; /* spilled from here on, or gone inline */
		}
	}
	if (end == READ_MORE || !md_is_conn(d, c))
		return;
	const char *why = end < 0 ? "reading the core failed" : NULL;
	if (c->spill_fd >= 0)
		intake_spill_end(d, c, why);
	else
		intake_released(d, c, why);
}

/* c has bytes waiting: hand the rest of its pool chunk (a new one when it is
 * full: its own promise first, past it only what nobody was promised), or of
 * its stage, to the readers. */
void intake_drain(struct md *d, struct md_crash *c)
{
	unsigned char *dst;
	size_t room;
	for (;;) {
		if (c->spill_fd >= 0) {
			if (intake_spill_paused(c))
				return;
			dst = pool_chunk(&d->pool, c->stage) + c->stage_fill;
			room = POOL_CHUNK - c->stage_fill;
			break;
		}
		if (c->n_chunks == 0 || c->fill == POOL_CHUNK) {
			bool mine = c->reserve_left > 0;
			int k = mine || intake_pool_avail(d) > 0 ? pool_get(&d->pool) : -1;
			if (k >= 0 && mine) {
				c->reserve_left--;
				d->reserved--;
			}
			if (k < 0) {
				if (intake_overflow(d, c))
					continue;
				return;
			}
			if (c->n_chunks == c->cap_chunks) {
				size_t nc = c->cap_chunks ? c->cap_chunks * 2 : 16;
				int *m = realloc(c->chunks, nc * sizeof(*m));
				if (!m) {
					pool_put(&d->pool, k);
					return;
				}
				c->chunks = m;
				c->cap_chunks = nc;
			}
			c->chunks[c->n_chunks++] = k;
			c->fill = 0;
		}
		dst = pool_chunk(&d->pool, c->chunks[c->n_chunks - 1]) + c->fill;
		room = POOL_CHUNK - c->fill;
		break;
	}
	/* The head is read here, in pieces as it comes: the program headers
	 * decide at once whether the core fits the pool. */
	if (!c->sized) {
		ssize_t n;
		while ((n = read(c->fd, dst, room)) < 0 && errno == EINTR)
			;
		if (n < 0 && errno == EAGAIN)
			return;
		intake_took(d, c, n > 0 ? (size_t)n : 0, n > 0 ? READ_MORE : n == 0 ? READ_EOF : -errno);
		return;
	}
	c->rjob = (struct read_job){ .owner = c, .queue = &d->readers, .fd = c->fd, .buf = dst, .room = room };
	c->reading = true;
	jobq_submit(&d->readers, &c->rjob.q);
}

/* The readers are done with some buffers. */
void intake_read_done(struct md *d)
{
	for (struct jobq_item *q = jobq_done(&d->readers), *next; q; q = next) {
		next = q->next;
		struct read_job *j = read_job_of(q);
		struct md_crash *c = j->owner;
		c->reading = false;
		intake_took(d, c, j->got, j->end);
	}
}
