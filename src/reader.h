/* mortemd's readers: threads that copy cores from their sockets or pipes into
 * pool chunks, so that a storm's cores are read on every CPU while the
 * daemon's loop goes on accepting and capturing. Each thread is a poll loop
 * over the jobs given to it, the way a bare listener reads (bench/sockdrain.c):
 * a stream that runs dry stays with its thread until more comes, rather than
 * going back to the loop for every socket buffer's worth (a storm's streams
 * run dry every ~200 KiB). A job ends, and goes back to the loop, when its
 * buffer is full, the stream ends or fails, or nothing came for READ_IDLE_MS
 * (the loop then polls the descriptor itself and judges stalls). The threads
 * call only read(), poll(), the eventfds and the set's mutex: mortemd may
 * fork its workers at any time. */
#pragma once

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jobq.h"

#define READ_IDLE_MS 250
#define READERS_MAX 8
#define READER_JOBS_MAX 1024 /* a thread's jobs at once (mortemd's MD_CONN_MAX) */

enum read_end {
	READ_MORE = 0,    /* the buffer is full, or the stream is idle: more may come */
	READ_EOF = 1,     /* the stream ended */
};

struct read_job {
	struct jobq_item q; /* the link while queued and once done */
	void *owner;        /* the caller's */
	int fd;             /* non-blocking */
	unsigned char *buf;
	size_t room;        /* bytes the buffer takes */
	size_t got;         /* the result: bytes read into buf */
	int end;            /* the result: READ_MORE, READ_EOF, or -errno (got may be > 0) */
	int64_t t_last;     /* the thread's: when it last got bytes (ms) */
};

struct reader_thread {
	struct readers *set;
	pthread_t th;
	int wake;                 /* eventfd: a job came, or stop */
	struct jobq_item *inbox;  /* given, not taken up yet (the set's mutex) */
	unsigned load;            /* jobs given and not done (the set's mutex) */
	struct read_job **mine;   /* the thread's own from here on */
	struct pollfd *pfd;
};

struct readers {
	pthread_mutex_t mu;
	struct reader_thread t[READERS_MAX];
	unsigned n;
	struct jobq_item *finished;
	int efd;                  /* readable when jobs are done */
	bool stop;
};

/* Start n threads (1..READERS_MAX; named for top -H and perf); returns the
 * eventfd (also r->efd) that becomes readable when jobs are done, or -errno. */
int readers_start(struct readers *r, unsigned n, const char *name);
/* Stop the threads (their jobs, if any, are dropped, not returned) and join them. */
void readers_stop(struct readers *r);
/* Give a job to the thread with the fewest (not copied: it lives until
 * readers_done returns it). */
void readers_submit(struct readers *r, struct read_job *j);
/* The jobs done since the last call, in no particular order (clears the eventfd). */
struct jobq_item *readers_done(struct readers *r);
/* The job, from its link. */
struct read_job *read_job_of(struct jobq_item *q);
