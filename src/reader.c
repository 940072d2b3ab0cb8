/* mortemd's readers: see reader.h. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "reader.h"

struct read_job *read_job_of(struct jobq_item *q)
{
	return (struct read_job *)((char *)q - offsetof(struct read_job, q));
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Read j until its buffer is full, the stream ends or fails, or nothing is
 * there. Returns true when j is done. */
static bool read_some(struct read_job *j, int64_t now)
{
	while (j->got < j->room) {
		ssize_t n = read(j->fd, j->buf + j->got, j->room - j->got);
		if (n > 0) {
			j->got += (size_t)n;
			j->t_last = now;
			continue;
		}
		if (n == 0) {
			j->end = READ_EOF;
			return true;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			j->end = -errno;
			return true;
		}
		return false;
	}
	return true;
}

static void reader_finish(struct readers *r, struct reader_thread *t, struct read_job *j)
{
	pthread_mutex_lock(&r->mu);
	j->q.next = r->finished;
	r->finished = &j->q;
	t->load--;
	pthread_mutex_unlock(&r->mu);
	uint64_t one = 1;
	(void)!write(r->efd, &one, sizeof(one));
}

static void *reader_thread(void *arg)
{
	struct reader_thread *t = arg;
	struct readers *r = t->set;
	size_t n = 0;
	for (;;) {
		/* Take up what was given. */
		pthread_mutex_lock(&r->mu);
		bool stop = r->stop;
		size_t was = n;
		while (t->inbox && n < READER_JOBS_MAX) {
			t->mine[n++] = read_job_of(t->inbox);
			t->inbox = t->inbox->next;
		}
		pthread_mutex_unlock(&r->mu);
		if (stop)
			return NULL;
		int64_t now = now_ms(), wait = -1;
		/* A new job is read at once: it was given because bytes wait
		 * (and a bad descriptor is its error, not an idle stream). */
		for (size_t i = n; i-- > was;) {
			struct read_job *j = t->mine[i];
			j->got = 0;
			j->end = READ_MORE;
			j->t_last = now;
			if (read_some(j, now)) {
				t->mine[i] = t->mine[--n];
				reader_finish(r, t, j);
			}
		}
		t->pfd[0] = (struct pollfd){ .fd = t->wake, .events = POLLIN };
		for (size_t i = 0; i < n; i++) {
			t->pfd[1 + i] = (struct pollfd){ .fd = t->mine[i]->fd, .events = POLLIN };
			int64_t left = t->mine[i]->t_last + READ_IDLE_MS - now;
			if (wait < 0 || left < wait)
				wait = left < 0 ? 0 : left;
		}
		int k = poll(t->pfd, 1 + n, (int)wait);
		if (k < 0 && errno != EINTR)
			k = 0; /* (cannot fail with valid arguments: judge the idle ones) */
		if (k > 0 && (t->pfd[0].revents & POLLIN)) {
			uint64_t v;
			(void)!read(t->wake, &v, sizeof(v));
		}
		now = now_ms();
		/* Backwards, so that a finished job's slot takes the last one's,
		 * which was seen already. */
		for (size_t i = n; i-- > 0;) {
			struct read_job *j = t->mine[i];
			bool done;
			if (k > 0 && t->pfd[1 + i].revents)
				done = read_some(j, now);
			else
				done = now - j->t_last >= READ_IDLE_MS;
			if (!done)
				continue;
			t->mine[i] = t->mine[--n];
			reader_finish(r, t, j);
		}
	}
}

int readers_start(struct readers *r, unsigned n, const char *name)
{
	memset(r, 0, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	if (n == 0)
		n = 1;
	if (n > READERS_MAX)
		n = READERS_MAX;
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0)
		return -errno;
	for (r->n = 0; r->n < n; r->n++) {
		struct reader_thread *t = &r->t[r->n];
		int e = 0;
		t->set = r;
		t->wake = -1;
		t->mine = calloc(READER_JOBS_MAX, sizeof(*t->mine));
		t->pfd = calloc(1 + READER_JOBS_MAX, sizeof(*t->pfd));
		t->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (!t->mine || !t->pfd)
			e = ENOMEM;
		else if (t->wake < 0)
			e = errno;
		else
			e = pthread_create(&t->th, NULL, reader_thread, t);
		if (e != 0) {
			free(t->mine);
			free(t->pfd);
			if (t->wake >= 0)
				(void)close(t->wake);
			*t = (struct reader_thread){ 0 };
			if (r->n == 0) {
				(void)close(r->efd);
				r->efd = -1;
				return -e;
			}
			break;
		}
		/* At most 15 bytes. */
		if (name)
			(void)pthread_setname_np(t->th, name);
	}
	return r->efd;
}

static void reader_wake(struct reader_thread *t)
{
	uint64_t one = 1;
	(void)!write(t->wake, &one, sizeof(one));
}

void readers_stop(struct readers *r)
{
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_mutex_unlock(&r->mu);
	for (unsigned i = 0; i < r->n; i++) {
		reader_wake(&r->t[i]);
		(void)pthread_join(r->t[i].th, NULL);
		(void)close(r->t[i].wake);
		free(r->t[i].mine);
		free(r->t[i].pfd);
	}
	r->n = 0;
	if (r->efd >= 0)
		(void)close(r->efd);
	r->efd = -1;
}

void readers_submit(struct readers *r, struct read_job *j)
{
	pthread_mutex_lock(&r->mu);
	struct reader_thread *t = &r->t[0];
	for (unsigned i = 1; i < r->n; i++)
		if (r->t[i].load < t->load)
			t = &r->t[i];
	j->q.next = t->inbox;
	t->inbox = &j->q;
	t->load++;
	pthread_mutex_unlock(&r->mu);
	reader_wake(t);
}

struct jobq_item *readers_done(struct readers *r)
{
	uint64_t v;
	(void)!read(r->efd, &v, sizeof(v));
	pthread_mutex_lock(&r->mu);
	struct jobq_item *j = r->finished;
	r->finished = NULL;
	pthread_mutex_unlock(&r->mu);
	return j;
}
