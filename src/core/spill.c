/* mortemd's spill writers: see spill.h. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "base/jobq.h"
#include "core/spill.h"
#include "base/util.h"

static struct jobq S = { .efd = -1 };

/* The job's struct spill_job, from its queue item. */
static struct spill_job *spill_of(struct jobq_item *q)
{
	return (struct spill_job *)((char *)q - offsetof(struct spill_job, q));
}

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

static void spill_run(struct jobq_item *q)
{
	struct spill_job *j = spill_of(q);
	j->err = spill_write_sparse(j->fd, j->buf, j->len, j->off);
	if (j->err == 0 && j->truncate >= 0 && ftruncate(j->fd, j->truncate) < 0)
		j->err = -errno;
}

int spill_start(unsigned n, int *ret_efd)
{
	int r = jobq_start(&S, n, spill_run, "mortemd-spill");
	if (r < 0)
		return r;
	*ret_efd = r;
	return 0;
}

void spill_stop(void)
{
	jobq_stop(&S);
}

void spill_submit(struct spill_job *j)
{
	j->err = 0;
	jobq_submit(&S, &j->q);
}

struct spill_job *spill_done(void)
{
	struct spill_job *list = NULL;
	for (struct jobq_item *q = jobq_done(&S), *next; q; q = next) {
		next = q->next;
		struct spill_job *j = spill_of(q);
		j->next = list;
		list = j;
	}
	return list;
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
