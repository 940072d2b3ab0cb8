/* The collection pipeline for one crash, shared by mortem-collect and mortemd:
 * capture /proc, stream the core into the spool (zstd + minicore), release the
 * process, then recompress, write the record, publish, index and announce. */
#pragma once

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/config.h"
#include "capture/crash.h"
#include "capture/proc.h"

/* Never fails as a whole: what cannot be read is recorded in cap->errors. */
void collect_capture(const struct mortem_config *cfg, const struct crash_args *a, const char *mode,
		     struct crash_capture *cap);
/* The crash will not be collected after all (the collector took it back):
 * remove the pending note and the lock file, then free. */
void collect_capture_abandon(const struct mortem_config *cfg, struct crash_capture *cap);

/* Where the core comes from: bytes already in memory (mortemd's pool), then fd
 * (-1: none). With held_usec >= 0 the process was released already (mortemd
 * drained it); else it is released when fd is closed, and the time is taken
 * then. pool_fd (-1: none) is closed as soon as the pool bytes are no longer
 * needed, which tells mortemd it may reuse them. */
struct collect_source {
	const struct iovec *pre;
	size_t n_pre;
	/* mortemd's spill: the raw bytes that followed pre, in a file (read from
	 * its start, closed here); -1 when none. */
	int spill_fd;
	/* < 0: mortemd lost the rest of the core (the spill could not be
	 * written, -errno); the record says so and no partial core is kept. */
	int spill_err;
	/* How the bytes were taken, for the record's collector.buffer: "pool",
	 * "spill" or "inline" (NULL: inline, read while the process waits). */
	const char *buffer;
	/* The collector's hand-off to mortemd was refused ("refused: listener uid
	 * 1001", handoff.h): the record's collector.handoff. NULL: not refused. */
	const char *handoff;
	/* mortemd parked it at a stop and took it up again at its next start
	 * (park.h): the record's collector.resumed. */
	bool resumed;
	int fd;
	int64_t held_usec;
	int pool_fd;
	/* mortemd's whole pool mapping, unmapped once the core is compressed: the
	 * analysis child's address-space limit (MaxMemory=) must not count it. */
	void *pool_map;
	size_t pool_map_len;
	/* The collector's own spill (collect_spill.h): a core whose program
	 * headers announce at least this many bytes is drained raw to the spool
	 * and compressed after the release; 0: never (mortemd chose already). */
	uint64_t spill_min;
	/* Set (by mortemd's signal handler) when its stop cannot wait: the
	 * analysis ends at once and the recompression is skipped; the crash is
	 * still stored and recorded. NULL: never. */
	const volatile sig_atomic_t *cut;
};

struct collect_outcome {
	char id[128];
	const char *status;     /* core.status */
	int64_t held_usec;      /* the record's core.held_usec: from the kernel's spawn
				 * (else our start) to the process's end or the release */
	bool published;         /* the record is in the store */
	bool indexed;
};

/* Run the whole pipeline. cap: what collect_capture took (consumed), or NULL to
 * capture now in pipe mode. src->fd and src->pool_fd are consumed (closed as
 * soon as the core has been read, to release the process). */
int collect_run(const struct mortem_config *cfg, const struct crash_args *a, struct crash_capture *cap,
		const struct collect_source *src, struct collect_outcome *out);
