/* The one pass over the core. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "core/elfcore.h"
#include "core/stream.h"
#include "base/util.h"
#include "core/zst.h"

struct stream_state {
	const struct stream_opts *o;
	struct stream_result *res;
	struct minicore *mc;
	unsigned char *head; /* everything read so far, until the head is complete */
	size_t head_len, head_cap;
	bool head_done;      /* parsed, or given up on */
};

/* The signal from the first NT_SIGINFO note ("SIGI"): the coredump socket's
 * peer information does not carry it on every kernel. */
static int stream_siginfo_note(void *userdata, const struct elfcore_note *n)
{
	int32_t signo;
	if (n->type != 0x53494749 || strcmp(n->name, "CORE") != 0 || n->descsz < sizeof(signo))
		return 0;
	memcpy(&signo, n->desc, sizeof(signo));
	if (signo >= 1 && signo <= 64)
		*(int *)userdata = signo;
	return 1;
}

/* The minicore failed (r < 0): give it up and keep streaming the core, which
 * is the evidence; say why. */
static void stream_mini_fail(struct stream_state *s, int r)
{
	struct stream_result *res = s->res;
	if (r == -EBADMSG)
		res->mini_error = "malformed notes";
	else if (r == -EFBIG)
		res->mini_error = "MiniCoreMax too small for the minicore's headers";
	else if (r == -ENOSPC || r == -EDQUOT)
		res->mini_error = "no space for the minicore";
	else
		res->mini_error = "minicore not written";
	if (r != -EBADMSG && r != -EFBIG)
		res->mini_errno = -r;
	minicore_free(s->mc);
	s->mc = NULL;
}

static void stream_mini_feed(struct stream_state *s, uint64_t off, const unsigned char *buf, size_t len)
{
	int r = s->mc ? minicore_feed(s->mc, off, buf, len) : 0;
	if (r < 0)
		stream_mini_fail(s, r);
}

/* Head complete: plan the minicore and give it the bytes read so far. */
static void stream_head_complete(struct stream_state *s)
{
	const struct stream_opts *o = s->o;
	struct stream_result *res = s->res;
	int r;

	s->head_done = true;
	res->elf = true;
	res->expected = elfcore_expected_size(s->head);
	bool capped;
	(void)elfcore_notes_foreach(s->head, s->head_len, stream_siginfo_note, &res->signo, &capped);
	if (o->mini_fd < 0)
		return;
	r = minicore_new(o->mini_fd, o->mini_max, o->mini_stack_max, &s->mc);
	if (r < 0) {
		stream_mini_fail(s, r);
		return;
	}
	for (size_t i = 0; i < o->n_mini_scrub; i++) {
		r = minicore_scrub_add(s->mc, o->mini_scrub[i].iov_base, o->mini_scrub[i].iov_len);
		if (r == -ENOMEM) {
			stream_mini_fail(s, r);
			return;
		}
		/* -E2BIG is counted and recorded by the minicore; -EINVAL (no
		 * "KEY=") has nothing to hide. */
	}
	r = minicore_plan(s->mc, s->head, s->head_len);
	if (r < 0) {
		stream_mini_fail(s, r);
		return;
	}
	stream_mini_feed(s, 0, s->head, s->head_len);
}

/* Bytes [off, off+len) just arrived. */
static int stream_take(struct stream_state *s, uint64_t off, const unsigned char *buf, size_t len)
{
	const char *why = NULL;
	size_t need = 0;
	int r;

	if (s->head_done) {
		stream_mini_feed(s, off, buf, len);
		return 0;
	}

	/* Still collecting the head: it is a prefix of the core, bounded. */
	size_t take = len;
	if (take > ELFCORE_HEAD_MAX - s->head_len)
		take = ELFCORE_HEAD_MAX - s->head_len;
	if (s->head_len + take > s->head_cap) {
		size_t cap = s->head_cap ? s->head_cap : 65536;
		while (cap < s->head_len + take)
			cap *= 2;
		unsigned char *nh = realloc(s->head, cap);
		if (!nh)
			return -ENOMEM;
		s->head = nh;
		s->head_cap = cap;
	}
	memcpy(s->head + s->head_len, buf, take);
	s->head_len += take;

	r = elfcore_head_need(s->head, s->head_len, &need, &why);
	if (r < 0) {
		s->res->not_core = why;
		s->head_done = true;
	} else if (r == 0) {
		stream_head_complete(s);
		/* Bytes of this chunk beyond what was copied into the head. */
		if (take < len)
			stream_mini_feed(s, off + take, buf + take, len - take);
	} else if (s->head_len >= ELFCORE_HEAD_MAX) {
		s->res->not_core = "ELF head larger than the limit";
		s->head_done = true;
	}
	if (s->head_done && !s->res->elf) {
		free(s->head);
		s->head = NULL;
	}
	return 0;
}

/* n bytes of the core, in order: compress, parse, keep. Returns 1 to stop
 * (the headers already say the core is over the limit), 0 to go on, or a
 * negative errno. */
static int stream_chunk(struct stream_state *s, const unsigned char *buf, size_t n)
{
	const struct stream_opts *o = s->o;
	struct stream_result *res = s->res;
	int r;

	if (o->zw && (r = zst_writer_write(o->zw, buf, n)) < 0)
		return r;
	if ((r = stream_take(s, res->bytes, buf, n)) < 0)
		return r;
	res->bytes += (uint64_t)n;
	/* Rather than compress up to the limit and throw it away. */
	if (res->elf && o->max_core_size > 0 && res->expected > o->max_core_size) {
		res->too_large = true;
		return 1;
	}
	return 0;
}

/* Bytes in memory, up to the limit. Returns 1 when done (limit reached or
 * stop), 0 to go on, or a negative errno. */
static int stream_iov(struct stream_state *s, const struct iovec *iov, size_t niov)
{
	const struct stream_opts *o = s->o;
	struct stream_result *res = s->res;
	int r;

	for (size_t i = 0; i < niov; i++) {
		const unsigned char *p = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		while (len > 0) {
			size_t n = len < STREAM_BUF_SIZE ? len : STREAM_BUF_SIZE;
			if (o->max_core_size > 0) {
				if (res->bytes >= o->max_core_size) {
					res->too_large = true;
					return 1;
				}
				if (o->max_core_size - res->bytes < n)
					n = (size_t)(o->max_core_size - res->bytes);
			}
			r = stream_chunk(s, p, n);
			if (r != 0)
				return r;
			p += n;
			len -= n;
		}
	}
	return 0;
}

/* Read fd to its end (or to max_core_size): 0 at the end, 1 when the stream
 * needs no more (stream_chunk said so), or a negative errno. */
static int stream_read_fd(struct stream_state *s, int fd, unsigned char *buf)
{
	const struct stream_opts *o = s->o;
	struct stream_result *res = s->res;

	for (;;) {
		size_t want = STREAM_BUF_SIZE;
		if (o->max_core_size > 0) {
			if (res->bytes >= o->max_core_size) {
				/* Anything more is over the limit: look for one more byte. */
				char c;
				ssize_t n = read(fd, &c, 1);
				if (n < 0 && errno == EINTR)
					continue;
				if (n > 0)
					res->too_large = true;
				return 1;
			}
			if (o->max_core_size - res->bytes < want)
				want = (size_t)(o->max_core_size - res->bytes);
		}
		ssize_t n = read(fd, buf, want);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return 0;
		int r = stream_chunk(s, buf, (size_t)n);
		if (r != 0)
			return r > 0 ? 1 : r;
	}
}

/* A spill file (regular, complete), read once after the release: its holes
 * (the core's all-zero blocks, never written) are fed from zero pages rather
 * than read, and its data is read with O_DIRECT when the file system allows:
 * the spill was written past the page cache, so a buffered read would fill
 * the cache from disk and copy every byte again (a quarter of the collector's
 * CPU time per GiB before; BENCHMARKS.md "One compression pass"). buf is
 * STREAM_BUF_SIZE, page-aligned. 0 at the end, 1 when done, or -errno; -ENOTSUP
 * (nothing read yet) when fd is not such a file: read it as a stream then. */
static int stream_read_file(struct stream_state *s, int fd, unsigned char *buf)
{
	struct stat st;
	off_t off = lseek(fd, 0, SEEK_CUR), end;
	if (off < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return -ENOTSUP;
	end = st.st_size;
	void *zeros = mmap(NULL, STREAM_BUF_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zeros == MAP_FAILED)
		return -ENOTSUP;
	int fl = fcntl(fd, F_GETFL);
	bool direct = fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) >= 0;
	int r = 0;
	while (off < end && r == 0) {
		off_t data = lseek(fd, off, SEEK_DATA);
		if (data < 0)
			data = errno == ENXIO ? end : off; /* no SEEK_DATA: all data */
		for (; off < data && r == 0;) {
			size_t n = data - off < STREAM_BUF_SIZE ? (size_t)(data - off) : STREAM_BUF_SIZE;
			struct iovec z = { zeros, n };
			r = stream_iov(s, &z, 1);
			off += (off_t)n;
		}
		off_t hole = off < end ? lseek(fd, off, SEEK_HOLE) : end;
		if (hole < 0 || hole > end)
			hole = end;
		while (off < hole && r == 0) {
			size_t want = hole - off < STREAM_BUF_SIZE ? (size_t)(hole - off) : STREAM_BUF_SIZE;
			/* O_DIRECT wants whole blocks: the file's end is read short */
			ssize_t n = pread(fd, buf, direct ? (want + 4095) & ~(size_t)4095 : want, off);
			if (n < 0 && errno == EINVAL && direct) {
				direct = false;
				(void)fcntl(fd, F_SETFL, fl);
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				break;
			}
			if (n == 0) {
				hole = end = off; /* shorter than it said */
				break;
			}
			if ((size_t)n > want)
				n = (ssize_t)want;
			struct iovec d = { buf, (size_t)n };
			r = stream_iov(s, &d, 1);
			off += n;
		}
	}
	if (direct)
		(void)fcntl(fd, F_SETFL, fl);
	(void)munmap(zeros, STREAM_BUF_SIZE);
	(void)lseek(fd, off, SEEK_SET);
	return r;
}

int stream_core(const struct stream_opts *o, struct stream_result *res)
{
	struct stream_state s = { .o = o, .res = res };
	_cleanup_free_ unsigned char *buf = NULL;
	int r = 0;

	memset(res, 0, sizeof(*res));
	r = stream_iov(&s, o->pre, o->n_pre);
	if (r > 0 || (o->in_fd < 0 && o->mid_fd < 0 && o->n_post == 0)) {
		r = r > 0 ? 0 : r;
		goto done;
	}
	if (r < 0)
		goto done;
	/* A bigger pipe means fewer wake-ups for the kernel writing the core. Only
	 * works on pipes and may be refused: the default still works. */
	if (o->in_fd >= 0)
		(void)fcntl(o->in_fd, F_SETPIPE_SZ, STREAM_PIPE_SIZE);

	/* page-aligned: stream_read_file reads with O_DIRECT into it */
	if (posix_memalign((void **)&buf, 4096, STREAM_BUF_SIZE) != 0) {
		buf = NULL;
		r = -ENOMEM;
		goto done;
	}
	r = 0;
	if (o->mid_fd >= 0 && (r = stream_read_file(&s, o->mid_fd, buf)) == -ENOTSUP)
		r = stream_read_fd(&s, o->mid_fd, buf);
	if (r == 0)
		r = stream_iov(&s, o->post, o->n_post);
	if (r == 0 && o->in_fd >= 0)
		r = stream_read_fd(&s, o->in_fd, buf);
	if (r > 0)
		r = 0;

done:
	if (!s.head_done && res->bytes > 0 && !res->not_core)
		res->not_core = res->bytes < sizeof(Elf64_Ehdr) ? "too short for an ELF header" : "core ended inside its ELF head";
	if (res->bytes == 0)
		res->not_core = "empty: no bytes from the kernel";
	if (s.mc) {
		int k = minicore_finish(s.mc, &res->mini_info);
		if (k >= 0)
			res->mini = true;
		else
			stream_mini_fail(&s, k);
	} else if (!res->mini_error) {
		res->mini_error = o->mini_fd < 0 ? "not requested" : res->not_core ? res->not_core : "no ELF head";
	}
	minicore_free(s.mc);
	free(s.head);
	return r;
}
