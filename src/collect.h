/* The collection pipeline for one crash, shared by mortem-collect and mortemd:
 * capture /proc, stream the core into the spool (zstd + minicore), release the
 * process, then recompress, write the record, publish, index and announce. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"

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

struct collect_outcome {
	char id[128];
	const char *status;     /* core.status */
	int64_t held_usec;      /* from start to closing the core fd */
	bool published;         /* the record is in the store */
	bool indexed;
};

/* Run the whole pipeline. core_fd is consumed (closed as soon as the core has
 * been read, to release the process). */
int collect_run(const struct mortem_config *cfg, const struct collect_args *a, int core_fd,
		struct collect_outcome *out);
