/* mortemd's private header: the daemon's state (struct md), a core on its way
 * through it (struct md_crash), and what the daemon's files call in each
 * other. Not for anything outside src/daemon.
 *
 * The files, in the order a core meets them:
 *   mortemd.c  main(), start-up, the poll loop and what it dispatches to, stalls
 *   accept.c   accept_: the coredump and hand-off sockets, the peer's checks, the capture
 *   intake.c   intake_: reading into the pool (pool.c, reader.c), its promises, the spill
 *   worker.c   worker_: the queue, forking workers (MaxConcurrent=), reaping
 *   stop.c     stop_: a stop's parking, resuming at start, the re-analysis child
 *   status.c   status_: STATUS= and the watchdog
 *   md.c       md_: the log, a crash's life (new, free), the connection table,
 *              a crash's bytes in the pool */
#pragma once

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "base/config.h"
#include "base/jobq.h"
#include "capture/crash.h"
#include "collect/handoff.h"
#include "core/spill.h"
#include "daemon/pool.h"
#include "daemon/reader.h"
#include "store/store.h"

struct park_crash;

#define MD_CONN_MAX 1024          /* cores being drained or handed off at once */
#define MD_HANDSHAKE_MS 2000      /* the kernel's request, or the hand-off message */

enum md_state {
	MD_HANDOFF_MSG,  /* hand-off: waiting for the collector's message */
	MD_HANDOFF_GO,   /* hand-off: captured, "R" sent, waiting for "G" */
	MD_DRAIN,        /* reading the core into the pool */
};

/* A core on its way: first a connection, then (after the release) a job. */
struct md_crash {
	/* accept.c: the connection, the peer and the capture */
	enum md_state state;
	int fd;             /* the coredump socket or the pipe; -1 once released */
	int ctl;            /* hand-off: the collector's connection; -1 otherwise */
	int pidfd;
	const char *mode;
	char argbuf[HANDOFF_MSG_MAX + 1];
	struct crash_args args;
	struct crash_capture cap;
	bool captured;
	/* intake.c: reading it, its promises, the spill */
	int64_t t_start, t_progress, held_usec;
	uint64_t bytes, bytes_at_progress;
	bool sized;           /* its size is known (program headers) or guessed */
	uint64_t expected;    /* the size its program headers announce; 0 unknown */
	size_t reserve_left;  /* chunks of the pool promised to this core, not taken yet */
	int spill_fd;         /* the pool could not hold it: the rest goes here, raw */
	uint64_t spill_promised; /* bytes of SpillMax counted for it */
	uint64_t spill_end;   /* the core's size as promised to the spill */
	int spill_err;        /* writing the spill failed (-errno): the rest is lost */
	int stage;            /* spilling: the pool chunk bytes gather in; -1 none */
	int stage_spare;      /* the other chunk: the one being written, or free; -1 none */
	size_t stage_fill;
	uint64_t spill_len;   /* bytes handed to the writers for the spill file */
	bool spill_direct;    /* the file takes aligned writes only (O_DIRECT) */
	bool spill_busy;      /* a chunk is being written (one job at a time) */
	bool spill_eof;       /* the core ended: write what is staged, then release */
	const char *eof_why;  /* for intake_released after that last write */
	struct spill_job job;
	bool reading;         /* a reader has rjob: not polled, not judged, not freed */
	struct read_job rjob;
	int *chunks;
	size_t n_chunks, cap_chunks, fill; /* fill: bytes used in the last chunk */
	/* stop.c */
	struct park_crash *resumed; /* parked by a stop, taken up again (park.h) */
	bool no_park;        /* parking it failed: the stop finishes it instead */
	/* worker.c */
	pid_t worker;        /* 0: queued or draining */
	bool inline_worker;  /* its worker read the rest while the process waited */
	bool kill_to_park;   /* the stop killed its worker: parked once it is reaped */
	int pool_rd;         /* EOF when the worker no longer needs the chunks */
	struct md_crash *next; /* the queue */
};

/* The daemon. Each field says which file writes it; the others only read. */
struct md {
	struct mortem_config cfg; /* mortemd.c (main) */
	struct pool pool;     /* mortemd.c maps it; intake.c takes chunks, md.c and worker.c give them back */
	int sfd;              /* mortemd.c: the signalfd */
	int lfd_core, lfd_handoff, lock_fd; /* mortemd.c (md_setup, md_stop_listening); accept.c accepts */
	char *core_path, *handoff_path; /* mortemd.c */
	struct md_crash *conns[MD_CONN_MAX]; /* md.c (md_add_conn, md_drop_conn): handed off or being read */
	struct md_crash *queue_head, *queue_tail; /* worker.c: released, waiting for a worker */
	struct md_crash *running[MD_CONN_MAX]; /* worker.c: those with a worker */
	unsigned n_running;   /* worker.c */
	unsigned max_workers; /* mortemd.c: MaxConcurrent= */
	size_t reserved;      /* intake.c (md_crash_free too): chunks promised to cores being read, not taken yet */
	char *spool_dir;      /* mortemd.c: st.spool_dir: where spill files are made; NULL: no store */
	int spill_efd;        /* mortemd.c: the spill writers' "done" */
	struct jobq readers;  /* mortemd.c starts them; intake.c submits (reader.h) */
	size_t stage_reserve; /* mortemd.c: chunks never promised, so that spills can stage */
	uint64_t spilling;    /* intake.c, md_spill_done, stop_resume: bytes promised to spill files that still exist */
	uint64_t keep_free;   /* mortemd.c: [Policy] KeepFree= of the store's file system */
	bool stopping;        /* mortemd.c (the loop's SIGTERM) */
	int64_t park_at;      /* mortemd.c: stopping: what is still queued then is parked */
	bool parked_running;  /* stop.c: stopping: the running workers were dealt with */
	pid_t reanalyzer;     /* stop.c forks it, worker.c reaps it: analysing again what a stop cut short; 0: none */
	struct store st;      /* mortemd.c: spool_dir's store; st.root NULL: none */
	unsigned long parked, resumed; /* stop.c */
	uint64_t watchdog_usec; /* mortemd.c */
	int64_t last_watchdog, last_status; /* status.c */
	unsigned long taken, inline_fallbacks, spilled; /* intake.c */
	unsigned long rejected; /* accept.c */
};

/* md.c */
/* Log to stderr and the journal, once, at the top. */
void md_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A crash just accepted (mode: "socket", "handoff", or a parked one's); NULL: no memory. */
struct md_crash *md_crash_new(const char *mode);
/* Give back all c holds: its promises, descriptors, chunks, capture. */
void md_crash_free(struct md *d, struct md_crash *c);
/* c's spill file is gone: SpillMax= has that room again. */
void md_spill_done(struct md *d, struct md_crash *c);
/* The connection table (d->conns): add (-ENOSPC when full), drop, look up, room left. */
int md_add_conn(struct md *d, struct md_crash *c);
void md_drop_conn(struct md *d, struct md_crash *c);
bool md_is_conn(const struct md *d, const struct md_crash *c);
bool md_room(const struct md *d);
/* How many of c's bytes are in the pool. */
uint64_t md_pool_bytes(const struct md_crash *c);
/* c's pool bytes in order, as a heap array of at least one entry, or NULL. */
struct iovec *md_pool_iov(struct md *d, const struct md_crash *c, uint64_t *ret_len);

/* accept.c */
/* Take a connection on the coredump socket; false when none waits. */
bool accept_core(struct md *d);
/* Take a connection on the hand-off socket; false when none waits. */
bool accept_handoff(struct md *d);
/* The collector's message came (MD_HANDOFF_MSG): check, capture, answer "R". */
void accept_handoff_msg(struct md *d, struct md_crash *c);
/* The collector's "G" came (MD_HANDOFF_GO): start reading its pipe. */
void accept_handoff_go(struct md *d, struct md_crash *c);

/* intake.c */
/* Start reading c (MD_DRAIN). */
void intake_begin_drain(struct md *d, struct md_crash *c);
/* c has bytes waiting: read its head here, the rest through the readers. */
void intake_drain(struct md *d, struct md_crash *c);
/* The readers' efd fired: account what they read. */
void intake_read_done(struct md *d);
/* The spill writers' efd fired: go on with the cores they wrote for. */
void intake_spill_written(struct md *d);
/* c's reading waits on its spill: not polled. */
bool intake_spill_paused(const struct md_crash *c);
/* A spilling c ended (why: NULL, or what cut it): write what is staged, then release. */
void intake_spill_end(struct md *d, struct md_crash *c, const char *why);
/* c is all in (or cut: why says so): let the process go and queue c. */
void intake_released(struct md *d, struct md_crash *c, const char *why);

/* worker.c */
/* In a worker, set by the stop's SIGTERM; in the daemon, once its stop cannot wait. */
extern volatile sig_atomic_t worker_cut;
/* Queue c for a worker. */
void worker_queue(struct md *d, struct md_crash *c);
/* Fork c's worker: inline (c->fd open) or from the pool. */
int worker_start(struct md *d, struct md_crash *c);
/* Start what the queue holds, up to MaxConcurrent=; a stop past ParkAfter= parks instead. */
void worker_start_queued(struct md *d);
/* SIGCHLD: reap the workers and the re-analysis child. */
void worker_reap(struct md *d);
/* c's worker is done with its chunks (EOF on pool_rd): reuse them. */
void worker_pool_done(struct md *d, struct md_crash *c);
/* In a child: close what belongs to the daemon and to crashes other than self. */
void worker_close_others(struct md *d, struct md_crash *self);
/* In a child: the stop's SIGTERM cuts (worker_cut), ^C does not, the mask is cleared. */
void worker_child_signals(void);

/* stop.c */
/* Park what is still queued (ParkAfter= is over). */
void stop_park_queue(struct md *d);
/* Kill or cut the running workers (ParkAfter= is over). */
void stop_park_running(struct md *d);
/* A worker the stop killed is reaped: park its crash, or queue it again. */
void stop_park_reaped(struct md *d, struct md_crash *c);
/* At start: queue what the last stop parked. */
void stop_resume(struct md *d, const struct store *st);
/* At start: fork the child that analyses again what a stop cut short. */
void stop_reanalyze_start(struct md *d);

/* status.c */
/* The watchdog when due, and STATUS= at most once a second (force: now). */
void status_update(struct md *d, bool force);
