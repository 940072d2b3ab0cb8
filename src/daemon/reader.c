/* mortemd's readers: see reader.h. */
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <unistd.h>

#include "daemon/reader.h"

struct read_job *read_job_of(struct jobq_item *q)
{
	return (struct read_job *)((char *)q - offsetof(struct read_job, q));
}

void read_job_run(struct jobq_item *q)
{
	struct read_job *j = read_job_of(q);
	j->got = 0;
	j->end = READ_MORE;
	while (j->got < j->room) {
		ssize_t n = read(j->fd, j->buf + j->got, j->room - j->got);
		if (n > 0) {
			j->got += (size_t)n;
			continue;
		}
		if (n == 0) {
			j->end = READ_EOF;
			return;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN) {
			j->end = -errno;
			return;
		}
		/* The writer refills a socket's ~200 KiB within microseconds
		 * while it runs: wait a little here rather than hand the core
		 * back to the loop for every buffer's worth; but not while
		 * other cores' bytes wait for a thread. */
		if (j->queue && jobq_waiting(j->queue))
			return;
		struct pollfd p = { .fd = j->fd, .events = POLLIN };
		int r = poll(&p, 1, READ_IDLE_MS);
		if (r == 0)
			return;
		if (r < 0 && errno != EINTR) {
			j->end = -errno;
			return;
		}
	}
}
