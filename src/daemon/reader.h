/* mortemd's readers: threads (jobq.h) that copy a core from its socket or
 * pipe into a pool chunk, so that a storm's cores are read on every CPU while
 * the daemon's loop goes on accepting and capturing. One job fills one
 * buffer: it reads until the buffer is full, the stream ends or fails, or
 * nothing came for READ_IDLE_MS, or at once when nothing is there and other
 * jobs wait for a thread (the loop then polls the descriptor itself, and
 * judges stalls). A job calls only read(), poll() and the queue's mutex. */
#pragma once

#include <stddef.h>

#include "base/jobq.h"

#define READ_IDLE_MS 20

enum read_end {
	READ_MORE = 0,    /* the buffer is full, or the stream is idle: more may come */
	READ_EOF = 1,     /* the stream ended */
};

struct read_job {
	struct jobq_item q;
	void *owner;        /* the caller's */
	struct jobq *queue; /* the queue it runs on: when others wait, it does not */
	int fd;             /* non-blocking */
	unsigned char *buf;
	size_t room;        /* bytes the buffer takes */
	size_t got;         /* the result: bytes read into buf */
	int end;            /* the result: READ_MORE, READ_EOF, or -errno (got may be > 0) */
};

/* Run a job (jobq_start's run). */
void read_job_run(struct jobq_item *q);
/* The job, from its queue item. */
struct read_job *read_job_of(struct jobq_item *q);
