/* One run of the collector's steps, shared by its files (private to
 * src/collect): the context collect_run carries from step to step, and the
 * helpers that read the capture. collect.c holds the steps, collect_record.c
 * the record and what is taken while the process is held. */
#pragma once

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "capture/proc.h"
#include "collect/collect.h"
#include "collect/collect_held.h"
#include "collect/collect_spill.h"
#include "core/stream.h"
#include "core/zst.h"
#include "store/policy.h"
#include "store/store.h"

#define COLLECT_VERSION "0.1"

/* Context for one run; the json objects are owned here. */
struct collect_ctx {
	const struct mortem_config *cfg; /* not owned */
	const struct crash_args *a;    /* not owned */
	struct store st;
	bool store_ok;
	char id[128];
	int64_t t0;
	json_object *proc, *sys, *errors;
	json_object *analysis; /* analyze_run's result, merged into the record */
	json_object *journal;  /* the unit's last journal lines (unitlog.h), or NULL */
	struct proc_secrets secrets; /* the redacted values, blanked in the minicore (capture) */
	int lock_fd, core_tmp, mini_tmp;
	int root_fd;           /* the process's /proc/PID/root, for its binaries */
	struct proc_file files[PROC_FILES_MAX]; /* binaries opened while it lived */
	size_t n_files;
	struct policy_decision pd; /* before the drain: store the core or metadata only */
	bool reserved;         /* pd.reserve bytes are reserved in the index under id */
	bool store_write_failed; /* the core's temp file or compressor could not be set up */
	int compress_threads;  /* zstd workers for this core: the config's, or 0 in a storm */
	int level;             /* the zstd level of the core on disk (core.level) */
	bool storm;            /* at admission, as many collectors writing as CPUs */
	int64_t held_from;     /* realtime usec the hold counts from: the kernel's
				* spawn of this collector when known, else t0 */
	int64_t spawn_usec;    /* from that spawn to the capture's start, -1: unknown */
	struct collect_held_watch watch; /* the process's end after the release */
	int slot_fd;           /* a MaxConcurrent slot, held for the work after release */
	const char *mode;      /* collector.mode: "pipe", "handoff" or "socket" */
	const char *buffer;    /* collector.buffer: "pool", "spill" or "inline" */
	bool resumed;          /* collector.resumed (collect_source) */
	const char *handoff;   /* collector.handoff (collect_source); not owned */
	const volatile sig_atomic_t *cut; /* collect_source */
	bool analysis_cut;     /* the cut came before the analysis was done */
	struct collect_spill cs; /* the collector's own spill (collect_spill.h) */
	int store_err;         /* why the capture found the store unusable, 0 when fine */
	/* Carried from one step of collect_run to the next: */
	const struct collect_source *src; /* not owned */
	struct collect_outcome *out;      /* not owned */
	int core_fd;           /* the kernel's end, -1 once released */
	struct zst_writer *zw; /* the core's compressor, NULL when not storing */
	struct stream_result sr;
	int stream_r, spill_err;
	int64_t held;          /* usec the process was held, -1 until released */
	const char *status, *reason;
	char reason_buf[256];
	uint64_t stored;       /* bytes of the compressed core */
	bool have_core, have_mini;
	int durable_r;         /* < 0: the spool files could not be made durable */
	int qlock;             /* the quota lock, -1 when not held */
	json_object *rec;      /* the record, once built */
};

void collect_error_to(json_object *errors, const char *what, int err);
void collect_error(struct collect_ctx *c, const char *what, int err);
json_object *collect_str_or_null(const char *s);
int64_t collect_proc_id(struct collect_ctx *c, const char *key, int64_t given);
const char *collect_proc_str(struct collect_ctx *c, const char *key);
/* The record of this run (the caller puts it). */
json_object *collect_record(struct collect_ctx *c, const struct stream_result *sr, const char *status,
			    const char *reason, uint64_t stored, bool have_core, bool have_mini, int64_t held_usec);
