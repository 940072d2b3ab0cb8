/* A few threads that run jobs handed to them and say when they are done (an
 * eventfd), for mortemd's spill writers and its readers. The threads run only
 * the job's own function besides the queue's mutex: mortemd may fork its
 * workers at any time, so a job must call nothing that takes a lock a child
 * could need (no malloc, no stdio, no library): plain system calls only. */
#pragma once

#include <pthread.h>
#include <stdbool.h>

#define JOBQ_THREADS_MAX 8

struct jobq_item {
	struct jobq_item *next;
};

struct jobq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct jobq_item *queue, *queue_tail, *finished;
	void (*run)(struct jobq_item *);
	pthread_t th[JOBQ_THREADS_MAX];
	unsigned n;
	int efd;
	bool stop;
};

/* Start n threads (1..JOBQ_THREADS_MAX) that call run on each job; the
 * returned eventfd (also q->efd) becomes readable when jobs are done. */
int jobq_start(struct jobq *q, unsigned n, void (*run)(struct jobq_item *), const char *name);
/* Let the threads finish what is queued and join them. */
void jobq_stop(struct jobq *q);
/* Queue a job (not copied: it lives until jobq_done returns it). */
void jobq_submit(struct jobq *q, struct jobq_item *j);
/* Do jobs wait for a thread? (A job may end early to let them have it.) */
bool jobq_waiting(struct jobq *q);
/* The jobs done since the last call, in no particular order (clears the eventfd). */
struct jobq_item *jobq_done(struct jobq *q);
