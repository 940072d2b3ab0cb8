/* Threads that run jobs: see jobq.h. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/jobq.h"

static void *jobq_thread(void *arg)
{
	struct jobq *q = arg;
	for (;;) {
		pthread_mutex_lock(&q->mu);
		while (!q->queue && !q->stop)
			pthread_cond_wait(&q->cv, &q->mu);
		struct jobq_item *j = q->queue;
		if (!j) {
			pthread_mutex_unlock(&q->mu);
			return NULL;
		}
		q->queue = j->next;
		if (!q->queue)
			q->queue_tail = NULL;
		pthread_mutex_unlock(&q->mu);

		q->run(j);

		pthread_mutex_lock(&q->mu);
		j->next = q->finished;
		q->finished = j;
		pthread_mutex_unlock(&q->mu);
		uint64_t one = 1;
		(void)!write(q->efd, &one, sizeof(one));
	}
}

int jobq_start(struct jobq *q, unsigned n, void (*run)(struct jobq_item *), const char *name)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->run = run;
	if (n == 0)
		n = 1;
	if (n > JOBQ_THREADS_MAX)
		n = JOBQ_THREADS_MAX;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0)
		return -errno;
	for (q->n = 0; q->n < n; q->n++) {
		int r = pthread_create(&q->th[q->n], NULL, jobq_thread, q);
		if (r != 0) {
			if (q->n == 0) {
				(void)close(q->efd);
				q->efd = -1;
				return -r;
			}
			break;
		}
		/* Named for top -H, ps -L and perf: at most 15 bytes. */
		if (name)
			(void)pthread_setname_np(q->th[q->n], name);
	}
	return q->efd;
}

void jobq_stop(struct jobq *q)
{
	pthread_mutex_lock(&q->mu);
	q->stop = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	for (unsigned i = 0; i < q->n; i++)
		(void)pthread_join(q->th[i], NULL);
	q->n = 0;
	if (q->efd >= 0)
		(void)close(q->efd);
	q->efd = -1;
}

void jobq_submit(struct jobq *q, struct jobq_item *j)
{
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->queue_tail)
		q->queue_tail->next = j;
	else
		q->queue = j;
	q->queue_tail = j;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

bool jobq_waiting(struct jobq *q)
{
	pthread_mutex_lock(&q->mu);
	bool w = q->queue != NULL;
	pthread_mutex_unlock(&q->mu);
	return w;
}

struct jobq_item *jobq_done(struct jobq *q)
{
	uint64_t v;
	(void)!read(q->efd, &v, sizeof(v));
	pthread_mutex_lock(&q->mu);
	struct jobq_item *j = q->finished;
	q->finished = NULL;
	pthread_mutex_unlock(&q->mu);
	return j;
}
