/* One crash as the kernel announced it and as /proc showed it while the
 * process was still held: the types the collector, the daemon and the store's
 * parked notes share. The capture stage owns them; filling a capture needs the
 * store too and is collect_capture() (collect/collect.h). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/proc.h"

#define CRASH_HOSTNAME_MAX 256
#define CRASH_PROBLEMS_MAX 8

/* What the kernel told us on the command line: %P %u %g %s %t %c %h [%d [%F]]. */
struct crash_args {
	pid_t pid;              /* 0 when unknown */
	int64_t uid, gid;       /* -1 when unknown */
	int signal;             /* 0 when unknown */
	int64_t kernel_time;    /* %t, epoch seconds; 0 when unknown */
	uint64_t rlimit_core;
	bool has_rlimit;
	char hostname[CRASH_HOSTNAME_MAX];
	int dumpable;           /* %d, -1 when not given */
	int pidfd;              /* %F, -1 when not given */
	/* Malformed arguments are recorded, never fatal: the core is still taken. */
	const char *problems[CRASH_PROBLEMS_MAX];
	unsigned n_problems;
};

/* Parse the positional arguments (after options). Never fails: what cannot be
 * parsed is left unknown and described in a->problems. */
void crash_args_parse(int argc, const char *const *argv, struct crash_args *a);

/* Everything taken while the kernel still holds the process, before a byte of
 * the core is read: the /proc context, the id, the spool lock and the pending
 * note. mortemd takes it in its main loop and hands it to a worker;
 * collect_capture() (collect/collect.h) fills it. */
struct crash_capture {
	int64_t t0;             /* usec, the crash's time in the store */
	char id[128];
	json_object *proc, *sys, *errors;
	int root_fd;            /* /proc/PID/root (O_PATH), -1 when gone */
	struct proc_file files[PROC_FILES_MAX]; /* deleted or unreadable binaries, open (proc.h) */
	size_t n_files;
	int lock_fd;            /* spool/<id>.lock, -1 when the store is unusable */
	int store_err;          /* why the store is unusable (negative errno), 0 when fine */
	const char *mode;       /* "pipe", "handoff" or "socket" (static) */
	struct proc_secrets secrets; /* what the record redacts, for the minicore's scrub (memory only) */
};

/* Close and put what cap holds; cap can be freed again. */
void crash_capture_free(struct crash_capture *cap);
