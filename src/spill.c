/* mortemd's spill writers: see spill.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "spill.h"
#include "util.h"

#define SPILL_THREADS_MAX 8

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct spill_job *queue, *queue_tail, *finished;
	pthread_t th[SPILL_THREADS_MAX];
	unsigned n;
	int efd;
	bool stop;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .efd = -1 };

/* Is the block all zero bytes? Stops at the first that is not, so data costs
 * a few loads and only zero blocks are read whole. */
static bool spill_zero(const unsigned char *p, size_t n)
{
	uint64_t w;
	for (; n >= sizeof(w); p += sizeof(w), n -= sizeof(w)) {
		memcpy(&w, p, sizeof(w));
		if (w)
			return false;
	}
	for (; n > 0; p++, n--)
		if (*p)
			return false;
	return true;
}

/* Write the job's bytes but leave its all-zero SPILL_ALIGN blocks as holes
 * (the file is fresh, so they read back as zeros): the untouched stacks and
 * zeroed heap of a core are often half of it, and the disk's bandwidth is what
 * a storm of spills waits on. The last block is always written, so that the
 * file reaches the job's end whatever the order the jobs finish in. */
int spill_write_sparse(int fd, const void *buf, size_t len, off_t off)
{
	const unsigned char *p = buf;
	size_t i = 0;
	while (i < len) {
		size_t n = len - i < SPILL_ALIGN ? len - i : SPILL_ALIGN;
		if (i + n < len && spill_zero(p + i, n)) {
			i += n;
			continue;
		}
		/* a run of blocks with data (and the last block) */
		size_t start = i;
		for (i += n; i < len; i += n) {
			n = len - i < SPILL_ALIGN ? len - i : SPILL_ALIGN;
			if (i + n < len && spill_zero(p + i, n))
				break;
		}
		int r = pwrite_all(fd, p + start, i - start, off + (off_t)start);
		if (r < 0)
			return r;
	}
	return 0;
}

static void *spill_thread(void *arg)
{
	(void)arg;
	for (;;) {
		pthread_mutex_lock(&S.mu);
		while (!S.queue && !S.stop)
			pthread_cond_wait(&S.cv, &S.mu);
		struct spill_job *j = S.queue;
		if (!j) {
			pthread_mutex_unlock(&S.mu);
			return NULL;
		}
		S.queue = j->next;
		if (!S.queue)
			S.queue_tail = NULL;
		pthread_mutex_unlock(&S.mu);

		j->err = spill_write_sparse(j->fd, j->buf, j->len, j->off);
		if (j->err == 0 && j->truncate >= 0 && ftruncate(j->fd, j->truncate) < 0)
			j->err = -errno;

		pthread_mutex_lock(&S.mu);
		j->next = S.finished;
		S.finished = j;
		pthread_mutex_unlock(&S.mu);
		uint64_t one = 1;
		(void)!write(S.efd, &one, sizeof(one));
	}
}

int spill_start(unsigned n, int *ret_efd)
{
	if (n == 0)
		n = 1;
	if (n > SPILL_THREADS_MAX)
		n = SPILL_THREADS_MAX;
	S.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (S.efd < 0)
		return -errno;
	S.stop = false;
	for (S.n = 0; S.n < n; S.n++) {
		int r = pthread_create(&S.th[S.n], NULL, spill_thread, NULL);
		if (r != 0) {
			if (S.n == 0) {
				(void)close(S.efd);
				S.efd = -1;
				return -r;
			}
			break;
		}
	}
	*ret_efd = S.efd;
	return 0;
}

void spill_stop(void)
{
	pthread_mutex_lock(&S.mu);
	S.stop = true;
	pthread_cond_broadcast(&S.cv);
	pthread_mutex_unlock(&S.mu);
	for (unsigned i = 0; i < S.n; i++)
		(void)pthread_join(S.th[i], NULL);
	S.n = 0;
	if (S.efd >= 0)
		(void)close(S.efd);
	S.efd = -1;
}

void spill_submit(struct spill_job *j)
{
	j->next = NULL;
	j->err = 0;
	pthread_mutex_lock(&S.mu);
	if (S.queue_tail)
		S.queue_tail->next = j;
	else
		S.queue = j;
	S.queue_tail = j;
	pthread_cond_signal(&S.cv);
	pthread_mutex_unlock(&S.mu);
}

struct spill_job *spill_done(void)
{
	uint64_t v;
	(void)!read(S.efd, &v, sizeof(v));
	pthread_mutex_lock(&S.mu);
	struct spill_job *j = S.finished;
	S.finished = NULL;
	pthread_mutex_unlock(&S.mu);
	return j;
}

int spill_open(const char *dir, bool *direct)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC | O_DIRECT, 0600);
	*direct = fd >= 0;
	if (fd < 0 && errno == EINVAL) /* a file system without direct I/O (or O_TMPFILE) */
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int spill_readable(int fd)
{
	int fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_DIRECT) < 0)
		return -errno;
	return lseek(fd, 0, SEEK_SET) < 0 ? -errno : 0;
}
