/* mortemd's readers: threads (jobq.h) that copy a core from its socket or
 * pipe into a pool chunk, so that a storm's cores are read on every CPU while
 * the daemon's loop goes on accepting and capturing. One job fills one
 * buffer: it reads until the buffer is full, the stream ends or fails, or
 * nothing came for READ_IDLE_MS (the loop then polls the descriptor itself,
 * and judges stalls). A job calls only read() and poll(). */
#pragma once

#include <stddef.h>

#include "jobq.h"

#define READ_IDLE_MS 20

enum read_end {
	READ_MORE = 0,    /* the buffer is full, or the stream is idle: more may come */
	READ_EOF = 1,     /* the stream ended */
};

struct read_job {
	struct jobq_item q;
	void *owner;        /* the caller's */
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
