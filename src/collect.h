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

#include "config.h"
#include "proc.h"

#define COLLECT_HOSTNAME_MAX 256
#define COLLECT_PROBLEMS_MAX 8

/* What the kernel told us on the command line: %P %u %g %s %t %c %h [%d [%F]]. */
struct collect_args {
	pid_t pid;              /* 0 when unknown */
	int64_t uid, gid;       /* -1 when unknown */
	int signal;             /* 0 when unknown */
	int64_t kernel_time;    /* %t, epoch seconds; 0 when unknown */
	uint64_t rlimit_core;
	bool has_rlimit;
	char hostname[COLLECT_HOSTNAME_MAX];
	int dumpable;           /* %d, -1 when not given */
	int pidfd;              /* %F, -1 when not given */
	/* Malformed arguments are recorded, never fatal: the core is still taken. */
	const char *problems[COLLECT_PROBLEMS_MAX];
	unsigned n_problems;
};

/* Parse the positional arguments (after options). Never fails: what cannot be
 * parsed is left unknown and described in a->problems. */
void collect_parse_args(int argc, const char *const *argv, struct collect_args *a);

/* Everything taken while the kernel still holds the process, before a byte of
 * the core is read: the /proc context, the id, the spool lock and the pending
 * note. mortemd takes it in its main loop and hands it to a worker. */
struct collect_capture {
	int64_t t0;             /* usec, the crash's time in the store */
	char id[128];
	json_object *proc, *sys, *errors;
	int root_fd;            /* /proc/PID/root (O_PATH), -1 when gone */
	struct proc_file files[PROC_FILES_MAX]; /* deleted or unreadable binaries, open (proc.h) */
	size_t n_files;
	int lock_fd;            /* spool/<id>.lock, -1 when the store is unusable */
	int store_err;          /* why the store is unusable (negative errno), 0 when fine */
	const char *mode;       /* "pipe", "handoff" or "socket" (static) */
};

/* Never fails as a whole: what cannot be read is recorded in cap->errors. */
void collect_capture(const struct mortem_config *cfg, const struct collect_args *a, const char *mode,
		     struct collect_capture *cap);
void collect_capture_free(struct collect_capture *cap);
/* The crash will not be collected after all (the collector took it back):
 * remove the pending note and the lock file, then free. */
void collect_capture_abandon(const struct mortem_config *cfg, struct collect_capture *cap);

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
	int64_t held_usec;      /* from start to closing the core fd */
	bool published;         /* the record is in the store */
	bool indexed;
};

/* Run the whole pipeline. cap: what collect_capture took (consumed), or NULL to
 * capture now in pipe mode. src->fd and src->pool_fd are consumed (closed as
 * soon as the core has been read, to release the process). */
int collect_run(const struct mortem_config *cfg, const struct collect_args *a, struct collect_capture *cap,
		const struct collect_source *src, struct collect_outcome *out);
