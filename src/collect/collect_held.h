/* Where the hold of a crashing process starts, for a collector the kernel
 * spawned (core_pattern's pipe): the kernel forks it once the dump begins, and
 * everything from that fork (exec, dynamic linking, waiting for a CPU in a
 * storm) is time the process is held. See mortem-collect(8), "HELD TIME". */
#pragma once

#include <stdbool.h>
#include <pthread.h>
#include <stdint.h>

/* How long ago the kernel forked this process (the kernel's usermode helper,
 * a child of kthreadd) or the wrapper it spawned whose child we are, in usec;
 * -1 when neither: we were not spawned for a crash by the kernel. */
int64_t collect_held_since_fork_usec(void);

/* The process's end after the release: the kernel still tears down its
 * memory before its parent can reap it (~0.1 s per GiB), which is held time
 * for whoever waits for it. A thread polls its pidfd (%F) and notes the
 * moment it ends, for at most COLLECT_HELD_WATCH_MS. */
#define COLLECT_HELD_WATCH_MS 5000
struct collect_held_watch {
	pthread_t th;
	int pidfd;               /* not owned */
	_Atomic int64_t end_usec; /* now_usec() when the pidfd said it ended, 0: not yet */
	bool started;
};
/* Start watching (nothing when pidfd < 0 or no thread can be made). */
void collect_held_watch_start(struct collect_held_watch *w, int pidfd);
/* When the process ended (now_usec() clock), or -1 when not seen (yet). */
int64_t collect_held_watch_end(struct collect_held_watch *w);
/* Stop the thread (cancelled when still waiting). */
void collect_held_watch_stop(struct collect_held_watch *w);
