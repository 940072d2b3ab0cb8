/* The collector's spill: see collect_spill.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "collect/collect_spill.h"
#include "core/elfcore.h"
#include "store/policy.h"
#include "store/quota.h"
#include "core/spill.h"
#include "core/stream.h"
#include "base/util.h"

static uint64_t sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Fill buf from fd: the bytes read (short only at the end, or before an error
 * that the next read will meet again), or -errno when none could be read. */
static ssize_t cs_fill(int fd, unsigned char *buf, size_t len, bool *eof)
{
	size_t got = 0;
	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return got > 0 ? (ssize_t)got : -errno;
		}
		if (n == 0) {
			*eof = true;
			break;
		}
		got += (size_t)n;
	}
	return (ssize_t)got;
}

/* May size more bytes be promised to a spill? Under the quota lock: the other
 * collectors' spill files are in the spool, each made its announced size at
 * once (holes until written), so their promise is their size and what they
 * may still take of the disk is what is not allocated yet. NULL: yes. */
static const char *cs_budget(const struct store *st, const struct mortem_config *cfg, uint64_t size)
{
	struct policy_limits lim;
	struct statvfs sv;
	struct dirent *de;
	uint64_t promised = 0, unwritten = 0;
	const size_t sl = strlen(COLLECT_SPILL_SUFFIX);

	quota_limits(st, cfg, &lim);
	if (lim.max_core_size > 0 && size > lim.max_core_size)
		return "the core is over MaxCoreSize";
	DIR *d = opendir(st->spool_dir);
	if (!d)
		return "the spool cannot be read";
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		struct stat sb;
		if (n <= sl || strcmp(de->d_name + n - sl, COLLECT_SPILL_SUFFIX) != 0 ||
		    fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(sb.st_mode))
			continue;
		uint64_t on_disk = (uint64_t)sb.st_blocks * 512;
		promised = sat_add(promised, (uint64_t)sb.st_size);
		if ((uint64_t)sb.st_size > on_disk)
			unwritten = sat_add(unwritten, (uint64_t)sb.st_size - on_disk);
	}
	closedir(d);
	if (sat_add(promised, size) > cfg->spill_max)
		return "SpillMax would be exceeded";
	if (statvfs(st->spool_dir, &sv) < 0)
		return "the spool's free space is not known";
	if ((uint64_t)sv.f_bavail * sv.f_frsize < sat_add(sat_add(unwritten, lim.keep_free), size))
		return "not enough free space above KeepFree";
	return NULL;
}

/* Under the quota lock (the caller's): the budget, then the file at its
 * announced size. */
static const char *cs_open(const struct store *st, const struct mortem_config *cfg, const char *id,
			   struct collect_spill *cs)
{
	const char *why = cs_budget(st, cfg, cs->size);
	if (why)
		return why;
	cs->path = store_path(st->spool_dir, id, COLLECT_SPILL_SUFFIX);
	if (!cs->path)
		return "out of memory";
	int fl = O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
	cs->fd = open(cs->path, fl | O_DIRECT, 0600);
	cs->direct = cs->fd >= 0;
	if (cs->fd < 0 && errno == EINVAL) /* a file system without direct I/O */
		cs->fd = open(cs->path, fl, 0600);
	if (cs->fd < 0) {
		free(cs->path);
		cs->path = NULL;
		return "the spill file cannot be created";
	}
	if (ftruncate(cs->fd, (off_t)cs->size) < 0) {
		(void)unlink(cs->path);
		(void)close(cs->fd);
		cs->fd = -1;
		return "the spill file cannot be sized";
	}
	return NULL;
}

static void cs_rest(struct collect_spill *cs, unsigned char *p, size_t len)
{
	if (len > 0 && cs->n_rest < ARRAY_SIZE(cs->rest))
		cs->rest[cs->n_rest++] = (struct iovec){ .iov_base = p, .iov_len = len };
}

/* Wait for the one job in flight. */
static void cs_wait(int efd)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	for (;;) {
		while (poll(&p, 1, -1) < 0 && errno == EINTR)
			;
		if (spill_done())
			return;
	}
}

/* Write chunk after chunk while the next is read, until the end of in_fd, a
 * failed write, or more bytes than announced. */
static void cs_drain(struct collect_spill *cs, int in_fd, size_t fill, bool eof, int efd)
{
	struct spill_job job;
	unsigned cur = 0;

	for (;;) {
		unsigned char *buf = cs->bufs + (size_t)cur * COLLECT_SPILL_CHUNK;
		unsigned char *next = cs->bufs + (size_t)(1 - cur) * COLLECT_SPILL_CHUNK;
		job = (struct spill_job){ .fd = cs->fd, .buf = buf, .len = fill, .off = (off_t)cs->written,
					  .truncate = -1 };
		if (cs->direct && fill % SPILL_ALIGN) /* only the last; cut back below */
			job.len = (fill + SPILL_ALIGN - 1) / SPILL_ALIGN * SPILL_ALIGN;
		spill_submit(&job);
		ssize_t k = 0;
		bool next_eof = eof;
		if (!eof)
			k = cs_fill(in_fd, next, COLLECT_SPILL_CHUNK, &next_eof);
		cs_wait(efd);
		if (job.err < 0) {
			/* Nothing is lost: this chunk and the next go on inline. */
			cs->err = job.err;
			cs->why = "writing the spill file failed";
			cs_rest(cs, buf, fill);
			cs_rest(cs, next, k > 0 ? (size_t)k : 0);
			cs->whole = next_eof && k >= 0;
			return;
		}
		cs->written += fill;
		if (eof || (k == 0 && next_eof)) {
			cs->whole = true;
			return;
		}
		if (k < 0) {
			cs->why = "reading the core failed";
			return; /* the inline read meets the error again and says so */
		}
		cur = 1 - cur;
		fill = (size_t)k;
		eof = next_eof;
		if (cs->written + fill > sat_add(cs->size, COLLECT_SPILL_CHUNK)) {
			/* Not on disk without bound: the inline path takes the rest
			 * and applies MaxCoreSize. */
			cs->why = "the core is longer than its program headers say";
			cs_rest(cs, next, fill);
			cs->whole = eof;
			return;
		}
	}
}

int collect_spill_head(const struct mortem_config *cfg, int in_fd, uint64_t min, struct collect_spill *cs)
{
	bool eof = false;

	memset(cs, 0, sizeof(*cs));
	cs->fd = -1;
	void *m = mmap(NULL, 2 * (size_t)COLLECT_SPILL_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (m == MAP_FAILED) {
		cs->why = "no memory for the spill's buffers";
		return 0;
	}
	cs->bufs = m;
	/* A bigger pipe means fewer wake-ups for the kernel (stream.c does the same). */
	(void)fcntl(in_fd, F_SETPIPE_SZ, STREAM_PIPE_SIZE);
	ssize_t n = cs_fill(in_fd, cs->bufs, COLLECT_SPILL_CHUNK, &eof);
	if (n < 0)
		return (int)n;
	cs_rest(cs, cs->bufs, (size_t)n);
	cs->whole = eof;
	if (eof)
		return 0; /* all of it is in memory already */
	if (min == 0 || cfg->spill_max == 0) {
		cs->why = "spilling is off";
		return 0;
	}
	if (elfcore_size_known(cs->bufs, (size_t)n, &cs->size) != 0 || cs->size == 0) {
		cs->why = "the core's size is not known from its head";
		return 0;
	}
	if (cs->size < min) {
		cs->why = "small enough to compress at once";
		return 0;
	}
	cs->want = true;
	return 0;
}

void collect_spill_reserve(const struct store *st, const struct mortem_config *cfg, const char *id,
			   struct collect_spill *cs)
{
	if (cs->want && cs->fd < 0)
		cs->why = cs_open(st, cfg, id, cs);
}

void collect_spill_drain(struct collect_spill *cs, int in_fd)
{
	int efd = -1;

	if (cs->fd < 0 || cs->written > 0 || cs->n_rest != 1)
		return;
	if (spill_start(1, &efd) < 0) {
		cs->why = "no writer thread for the spill";
		return;
	}
	size_t n = cs->rest[0].iov_len;
	cs->n_rest = 0;
	cs_drain(cs, in_fd, n, false, efd);
	spill_stop();
	/* The announced size, or a padded last block: cut to what was written.
	 * Should that fail, the file is not the core's bytes: not used. */
	if (ftruncate(cs->fd, (off_t)cs->written) < 0 || spill_readable(cs->fd) < 0) {
		cs->err = -errno;
		cs->why = "the spill file cannot be cut to size";
		cs->lost = true;
	}
}

void collect_spill_free(struct collect_spill *cs)
{
	if (cs->fd >= 0)
		(void)close(cs->fd);
	cs->fd = -1;
	if (cs->path)
		(void)unlink(cs->path);
	free(cs->path);
	cs->path = NULL;
	if (cs->bufs)
		(void)munmap(cs->bufs, 2 * (size_t)COLLECT_SPILL_CHUNK);
	cs->bufs = NULL;
	cs->n_rest = 0;
}
