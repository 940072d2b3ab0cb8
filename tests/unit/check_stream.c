/* stream + minicore + elfcore: a synthetic core goes through the one-pass reader;
 * the zstd output must restore it exactly, and the minicore must hold exactly the
 * planned memory, as a valid ELF core that libelf reads. */
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/elfcore.h"
#include "fakecore.h"
#include "core/stream.h"
#include "testutil.h"
#include "base/util.h"
#include "core/zst.h"

static int memfd_of(const void *buf, size_t len)
{
	int fd = testutil_tmpfd();
	ck_assert_int_eq(write_all(fd, buf, len), 0);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

struct run {
	struct stream_result res;
	int z, mini;
	int r;
};

static void run_stream_post(const struct iovec *pre, size_t n_pre, int mid, const struct iovec *post, size_t n_post,
			    int in, uint64_t max_core, uint64_t mini_max, uint64_t stack_max, struct run *out)
{
	struct zst_writer *w = NULL;
	out->z = testutil_tmpfd();
	out->mini = testutil_tmpfd();
	ck_assert_int_eq(zst_writer_new(out->z, 1, 0, &w), 0);
	struct stream_opts o = { .pre = pre, .n_pre = n_pre, .mid_fd = mid, .post = post, .n_post = n_post,
				 .in_fd = in, .zw = w, .mini_fd = out->mini,
				 .max_core_size = max_core, .mini_max = mini_max, .mini_stack_max = stack_max };
	out->r = stream_core(&o, &out->res);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	zst_writer_free(w);
}

static void run_stream_mid(const struct iovec *pre, size_t n_pre, int mid, int in, uint64_t max_core,
			   uint64_t mini_max, uint64_t stack_max, struct run *out)
{
	run_stream_post(pre, n_pre, mid, NULL, 0, in, max_core, mini_max, stack_max, out);
}

static void run_stream_pre(const struct iovec *pre, size_t n_pre, int in, uint64_t max_core, uint64_t mini_max,
			   uint64_t stack_max, struct run *out)
{
	run_stream_mid(pre, n_pre, -1, in, max_core, mini_max, stack_max, out);
}

static void run_stream(int in, uint64_t max_core, uint64_t mini_max, uint64_t stack_max, struct run *out)
{
	run_stream_pre(NULL, 0, in, max_core, mini_max, stack_max, out);
}

static void assert_zst_equals(int z, const unsigned char *buf, size_t len)
{
	int out = testutil_tmpfd();
	uint64_t n = 0;
	lseek(z, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(z, out, &n), 0);
	ck_assert_uint_eq(n, len);
	unsigned char *back = malloc(len + 1);
	ck_assert_int_eq((int)pread(out, back, len + 1, 0), (int)len);
	ck_assert_int_eq(memcmp(back, buf, len), 0);
	free(back);
	close(out);
}

/* Which vaddr ranges does the minicore hold? Checks every byte against the core. */
struct minirange { uint64_t vaddr, len; };
static size_t mini_ranges(int fd, const struct fakecore *fc, struct minirange *rg, size_t max)
{
	elf_version(EV_CURRENT);
	lseek(fd, 0, SEEK_SET);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(elf_kind(e), ELF_K_ELF);
	GElf_Ehdr eh;
	ck_assert_ptr_nonnull(gelf_getehdr(e, &eh));
	ck_assert_int_eq(eh.e_type, ET_CORE);
	size_t n = 0, phnum = 0;
	ck_assert_int_eq(elf_getphdrnum(e, &phnum), 0);
	bool notes = false;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		ck_assert_ptr_nonnull(gelf_getphdr(e, (int)i, &ph));
		unsigned char *data = malloc(ph.p_filesz ? ph.p_filesz : 1);
		ck_assert_int_eq((int)pread(fd, data, ph.p_filesz, (off_t)ph.p_offset), (int)ph.p_filesz);
		if (ph.p_type == PT_NOTE) {
			/* the notes are copied verbatim, then our layout note follows */
			Elf64_Phdr cn;
			memcpy(&cn, fc->buf + sizeof(Elf64_Ehdr), sizeof(cn));
			ck_assert_uint_eq(ph.p_filesz, cn.p_filesz + sizeof(Elf64_Nhdr) + 8 + FC_SEGS * 24);
			ck_assert_int_eq(memcmp(data, fc->buf + cn.p_offset, cn.p_filesz), 0);
			Elf64_Nhdr nh;
			memcpy(&nh, data + cn.p_filesz, sizeof(nh));
			ck_assert_uint_eq(nh.n_type, MINICORE_NT_LAYOUT);
			ck_assert_str_eq((const char *)data + cn.p_filesz + sizeof(nh), "MORTEM");
			ck_assert_uint_eq(nh.n_descsz, FC_SEGS * 24);
			for (int sgi = 0; sgi < FC_SEGS; sgi++) {
				uint64_t lay[3];
				memcpy(lay, data + cn.p_filesz + sizeof(nh) + 8 + sgi * 24, sizeof(lay));
				ck_assert_uint_eq(lay[0], fc_vaddr[sgi]);
				ck_assert_uint_eq(lay[1], fc_size[sgi]);
			}
			notes = true;
		} else if (ph.p_type == PT_LOAD) {
			int seg = -1;
			for (int s = 0; s < FC_SEGS; s++)
				if (ph.p_vaddr >= fc_vaddr[s] && ph.p_vaddr + ph.p_filesz <= fc_vaddr[s] + fc_size[s])
					seg = s;
			ck_assert_int_ge(seg, 0);
			ck_assert_int_eq(memcmp(data, fc->buf + fc->load_off[seg] + (ph.p_vaddr - fc_vaddr[seg]), ph.p_filesz), 0);
			if (n < max)
				rg[n++] = (struct minirange){ ph.p_vaddr, ph.p_filesz };
		}
		free(data);
	}
	ck_assert(notes);
	elf_end(e);
	return n;
}

static bool holds(const struct minirange *rg, size_t n, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < n; i++)
		if (rg[i].vaddr <= a && b <= rg[i].vaddr + rg[i].len)
			return true;
	return false;
}

static bool touches(const struct minirange *rg, size_t n, uint64_t a, uint64_t b)
{
	for (size_t i = 0; i < n; i++)
		if (rg[i].vaddr < b && a < rg[i].vaddr + rg[i].len)
			return true;
	return false;
}

START_TEST(test_head_need_steps)
{
	struct fakecore fc;
	size_t need = 0;
	const char *why = NULL;
	fakecore_make(&fc);
	ck_assert_int_eq(elfcore_head_need(fc.buf, 10, &need, &why), 1);
	ck_assert_uint_eq(need, sizeof(Elf64_Ehdr));
	ck_assert_int_eq(elfcore_head_need(fc.buf, 64, &need, &why), 1);
	ck_assert_uint_eq(need, 64 + 5 * sizeof(Elf64_Phdr));
	ck_assert_int_eq(elfcore_head_need(fc.buf, need, &need, &why), 1); /* now the notes */
	size_t full = need;
	ck_assert_int_eq(elfcore_head_need(fc.buf, full, &need, &why), 0);
	ck_assert_uint_eq(elfcore_expected_size(fc.buf), fc.len);
	ck_assert_int_eq(elfcore_head_need((const unsigned char *)"\177ELG", 4, &need, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "magic"));
	unsigned char bad[64];
	memcpy(bad, fc.buf, 64);
	bad[EI_CLASS] = ELFCLASS32;
	ck_assert_int_eq(elfcore_head_need(bad, 64, &need, &why), -EBADMSG);
	memcpy(bad, fc.buf, 64);
	((Elf64_Ehdr *)(void *)bad)->e_type = ET_EXEC;
	ck_assert_int_eq(elfcore_head_need(bad, 64, &need, &why), -EBADMSG);
	((Elf64_Ehdr *)(void *)bad)->e_type = ET_CORE;
	((Elf64_Ehdr *)(void *)bad)->e_phoff = UINT64_MAX - 10; /* would overflow */
	ck_assert_int_eq(elfcore_head_need(bad, 64, &need, &why), -EBADMSG);
	free(fc.buf);
}
END_TEST

START_TEST(test_full_core_through_a_pipe)
{
	struct fakecore fc;
	int p[2];
	struct run r;
	fakecore_make(&fc);
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* odd chunk sizes, so head and ranges straddle reads */
		close(p[0]);
		for (size_t off = 0, c = 1; off < fc.len; off += c, c = c * 3 % 7919 + 1)
			if (write_all(p[1], fc.buf + off, off + c > fc.len ? fc.len - off : c) < 0)
				_exit(1);
		_exit(0);
	}
	close(p[1]);
	run_stream(p[0], 0, 32u << 20, 1u << 20, &r);
	close(p[0]);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(r.r, 0);
	ck_assert_uint_eq(r.res.bytes, fc.len);
	ck_assert_uint_eq(r.res.expected, fc.len);
	ck_assert(r.res.elf);
	ck_assert_ptr_null(r.res.not_core);
	ck_assert(!r.res.too_large);
	assert_zst_equals(r.z, fc.buf, fc.len);

	ck_assert(r.res.mini);
	ck_assert_uint_eq(r.res.mini_info.threads, 2);
	ck_assert_uint_eq(r.res.mini_info.stacks, 2);
	ck_assert_uint_eq(r.res.mini_info.missing, 0);
	ck_assert(!r.res.mini_info.capped);
	struct minirange rg[32];
	size_t n = mini_ranges(r.mini, &fc, rg, 32);
	uint64_t stack_end = fc_vaddr[3] + fc_size[3];
	/* each thread: from SP minus the red zone (page-aligned) to the stack's end */
	ck_assert(holds(rg, n, (fc_sp[0] - 128) & ~4095ull, stack_end));
	ck_assert(holds(rg, n, (fc_sp[1] - 128) & ~4095ull, stack_end));
	ck_assert(holds(rg, n, fc_vaddr[0], fc_vaddr[0] + 4096));             /* ELF header page */
	ck_assert(holds(rg, n, fc_vaddr[1], fc_vaddr[1] + fc_size[1]));       /* writable file data */
	ck_assert(!touches(rg, n, fc_vaddr[2], fc_vaddr[2] + fc_size[2]));    /* anonymous heap: not kept */
	ck_assert(!touches(rg, n, fc_vaddr[3], (fc_sp[1] - 128) & ~4095ull)); /* below the lowest SP */
	free(fc.buf);
}
END_TEST

START_TEST(test_minicore_caps_are_recorded)
{
	struct fakecore fc;
	struct run r;
	struct minirange rg[32];
	fakecore_make(&fc);
	int in = memfd_of(fc.buf, fc.len);
	run_stream(in, 0, 32u << 20, 8192, &r);
	ck_assert(r.res.mini_info.capped);
	ck_assert_str_eq(r.res.mini_info.cap_reason, "thread stack size");
	size_t n = mini_ranges(r.mini, &fc, rg, 32);
	uint64_t lo = (fc_sp[0] - 128) & ~4095ull;
	ck_assert(holds(rg, n, lo, lo + 8192));
	ck_assert(!touches(rg, n, lo + 8192, lo + 12288));
	close(in);

	in = memfd_of(fc.buf, fc.len);
	run_stream(in, 0, 10000, 1u << 20, &r);
	ck_assert(r.res.mini_info.capped);
	ck_assert_str_eq(r.res.mini_info.cap_reason, "total size");
	ck_assert_uint_le(r.res.mini_info.kept, 10000);
	mini_ranges(r.mini, &fc, rg, 32);
	free(fc.buf);
}
END_TEST

START_TEST(test_truncated_core)
{
	struct fakecore fc;
	struct run r;
	struct minirange rg[32];
	fakecore_make(&fc);
	size_t cut = fc.load_off[3] + 6 * 4096; /* inside the stack segment */
	int in = memfd_of(fc.buf, cut);
	run_stream(in, 0, 32u << 20, 1u << 20, &r);
	ck_assert_int_eq(r.r, 0);
	ck_assert_uint_eq(r.res.bytes, cut);
	ck_assert_uint_eq(r.res.expected, fc.len);
	ck_assert(r.res.mini);
	ck_assert_uint_gt(r.res.mini_info.missing, 0);
	assert_zst_equals(r.z, fc.buf, cut);
	/* still a readable ELF file, sized as its headers say */
	elf_version(EV_CURRENT);
	Elf *e = elf_begin(r.mini, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(e);
	elf_end(e);
	(void)rg;
	free(fc.buf);
}
END_TEST

START_TEST(test_garbage_and_empty)
{
	unsigned char junk[100000];
	struct run r;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)(i * 7 + 3);
	int in = memfd_of(junk, sizeof(junk));
	run_stream(in, 0, 1u << 20, 1u << 20, &r);
	ck_assert_int_eq(r.r, 0);
	ck_assert(!r.res.elf);
	ck_assert_ptr_nonnull(r.res.not_core);
	ck_assert_ptr_nonnull(strstr(r.res.not_core, "ELF"));
	ck_assert(!r.res.mini);
	ck_assert_uint_eq(r.res.bytes, sizeof(junk));
	assert_zst_equals(r.z, junk, sizeof(junk)); /* the bytes are kept */

	in = memfd_of("", 0);
	run_stream(in, 0, 1u << 20, 1u << 20, &r);
	ck_assert_int_eq(r.r, 0);
	ck_assert_uint_eq(r.res.bytes, 0);
	ck_assert_ptr_nonnull(strstr(r.res.not_core, "empty"));

	in = memfd_of("\177EL", 3);
	run_stream(in, 0, 1u << 20, 1u << 20, &r);
	ck_assert_ptr_nonnull(r.res.not_core);
}
END_TEST

START_TEST(test_too_large)
{
	struct fakecore fc;
	struct run r;
	unsigned char junk[300000];
	fakecore_make(&fc);
	/* the program headers announce more than the limit: stop right after the head */
	int in = memfd_of(fc.buf, fc.len);
	run_stream(in, 100000, 1u << 20, 1u << 20, &r);
	ck_assert(r.res.too_large);
	ck_assert_uint_le(r.res.bytes, 100000); /* one read at most, not to the end */
	ck_assert_uint_lt(r.res.bytes, fc.len);
	/* not ELF: stop at the limit */
	memset(junk, 'x', sizeof(junk));
	in = memfd_of(junk, sizeof(junk));
	run_stream(in, 100000, 1u << 20, 1u << 20, &r);
	ck_assert(r.res.too_large);
	ck_assert_uint_eq(r.res.bytes, 100000);
	/* exactly at the limit is not too large */
	in = memfd_of(junk, 100000);
	run_stream(in, 100000, 1u << 20, 1u << 20, &r);
	ck_assert(!r.res.too_large);
	free(fc.buf);
}
END_TEST

/* mortemd's path: the first bytes from memory (its pool, in odd pieces that
 * split the head), the rest from the fd; or everything from memory. Same
 * compressed bytes, same minicore as the fd alone. */
START_TEST(test_prefix_from_memory)
{
	struct fakecore fc;
	struct run a, b, c;
	fakecore_make(&fc);
	int in = memfd_of(fc.buf, fc.len);
	run_stream(in, 0, 32u << 20, 1u << 20, &a);
	close(in);

	size_t cut[] = { 7, 300, 5000, fc.len / 2 };
	struct iovec pre[4];
	size_t off = 0;
	for (size_t i = 0; i < 4; i++) {
		pre[i].iov_base = fc.buf + off;
		pre[i].iov_len = cut[i] - off;
		off = cut[i];
	}
	in = memfd_of(fc.buf + off, fc.len - off);
	run_stream_pre(pre, 4, in, 0, 32u << 20, 1u << 20, &b);
	close(in);
	struct iovec all = { fc.buf, fc.len };
	run_stream_pre(&all, 1, -1, 0, 32u << 20, 1u << 20, &c);

	struct run *rs[] = { &b, &c };
	for (size_t i = 0; i < 2; i++) {
		struct run *r = rs[i];
		ck_assert_int_eq(r->r, 0);
		ck_assert_uint_eq(r->res.bytes, fc.len);
		ck_assert(r->res.elf && r->res.mini && !r->res.too_large);
		ck_assert_ptr_null(r->res.not_core);
		assert_zst_equals(r->z, fc.buf, fc.len);
		ck_assert_uint_eq(r->res.mini_info.size, a.res.mini_info.size);
		ck_assert_uint_eq(r->res.mini_info.kept, a.res.mini_info.kept);
		ck_assert_uint_eq(r->res.mini_info.stacks, a.res.mini_info.stacks);
	}
	/* the limit applies inside the prefix too */
	run_stream_pre(&all, 1, -1, 100, 32u << 20, 1u << 20, &c);
	ck_assert(c.res.too_large);
	ck_assert_uint_eq(c.res.bytes, 100);
	free(fc.buf);
}
END_TEST

/* mortemd's spill: the pool's chunks, then the file it spilled to, then what
 * the kernel still sends: the same bytes, the same minicore; MaxCoreSize still
 * counts across the three parts. */
START_TEST(test_prefix_spill_then_fd)
{
	struct fakecore fc;
	struct run a, b, c;
	fakecore_make(&fc);
	int in = memfd_of(fc.buf, fc.len);
	run_stream(in, 0, 32u << 20, 1u << 20, &a);
	close(in);

	size_t c1 = 4096, c2 = fc.len / 2;
	struct iovec pre = { fc.buf, c1 };
	int mid = memfd_of(fc.buf + c1, c2 - c1);
	in = memfd_of(fc.buf + c2, fc.len - c2);
	run_stream_mid(&pre, 1, mid, in, 0, 32u << 20, 1u << 20, &b);
	ck_assert_int_eq(b.r, 0);
	ck_assert_uint_eq(b.res.bytes, fc.len);
	ck_assert(b.res.elf && b.res.mini && !b.res.too_large);
	assert_zst_equals(b.z, fc.buf, fc.len);
	ck_assert_uint_eq(b.res.mini_info.kept, a.res.mini_info.kept);
	ck_assert_uint_eq(b.res.mini_info.stacks, a.res.mini_info.stacks);
	close(mid);
	close(in);

	/* no live fd: the spill is the rest of it */
	mid = memfd_of(fc.buf + c1, fc.len - c1);
	run_stream_mid(&pre, 1, mid, -1, 0, 32u << 20, 1u << 20, &c);
	ck_assert_int_eq(c.r, 0);
	ck_assert_uint_eq(c.res.bytes, fc.len);
	assert_zst_equals(c.z, fc.buf, fc.len);
	close(mid);

	/* the collector's spill that stopped: the file, then the bytes still in
	 * memory (two pieces), then the pipe; also with nothing after them */
	size_t c3 = c2 + (fc.len - c2) / 3, c4 = c2 + 2 * (fc.len - c2) / 3;
	struct iovec post[2] = { { fc.buf + c2, c3 - c2 }, { fc.buf + c3, c4 - c3 } };
	mid = memfd_of(fc.buf, c2);
	in = memfd_of(fc.buf + c4, fc.len - c4);
	run_stream_post(NULL, 0, mid, post, 2, in, 0, 32u << 20, 1u << 20, &c);
	ck_assert_int_eq(c.r, 0);
	ck_assert_uint_eq(c.res.bytes, fc.len);
	ck_assert(c.res.elf && c.res.mini);
	ck_assert_uint_eq(c.res.mini_info.kept, a.res.mini_info.kept);
	assert_zst_equals(c.z, fc.buf, fc.len);
	close(mid);
	close(in);
	struct iovec tail = { fc.buf + c2, fc.len - c2 };
	mid = memfd_of(fc.buf, c2);
	run_stream_post(NULL, 0, mid, &tail, 1, -1, 0, 32u << 20, 1u << 20, &c);
	ck_assert_uint_eq(c.res.bytes, fc.len);
	assert_zst_equals(c.z, fc.buf, fc.len);
	close(mid);
	/* only memory after nothing: pre empty, no fds */
	run_stream_post(NULL, 0, -1, &tail, 1, -1, 0, 32u << 20, 1u << 20, &c);
	ck_assert_uint_eq(c.res.bytes, fc.len - c2);

	/* the limit falls inside the spill: the program headers announce more,
	 * so the stream stops at once; the live fd is not read */
	mid = memfd_of(fc.buf + c1, c2 - c1);
	in = memfd_of(fc.buf + c2, fc.len - c2);
	run_stream_mid(&pre, 1, mid, in, c1 + 100, 32u << 20, 1u << 20, &c);
	ck_assert(c.res.too_large);
	ck_assert_uint_le(c.res.bytes, c1 + 100);
	ck_assert_int_eq((int)lseek(in, 0, SEEK_CUR), 0);
	close(mid);
	close(in);
	free(fc.buf);
}
END_TEST

/* A spill file as mortemd and the collector leave it: on disk, with holes
 * where the core had all-zero blocks and a length that is no multiple of the
 * block size; read with O_DIRECT where the file system allows and its holes
 * fed as zeros, it must give back the core byte for byte, from the file's
 * current offset, and stop at the limit inside a hole. */
START_TEST(test_spill_file_with_holes)
{
	struct fakecore fc;
	struct run a;
	fakecore_make(&fc);
	size_t extra = (3u << 20) + 777, len = fc.len + extra;
	unsigned char *big = calloc(1, len);
	memcpy(big, fc.buf, fc.len);
	/* data, a 2 MiB hole, data to an odd end */
	memset(big + fc.len + (2u << 20) + 4096, 0xa5, extra - (2u << 20) - 4096);
	int fd = open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = testutil_tmpfd();
	ck_assert_int_eq((int)pwrite(fd, big, fc.len, 0), (int)fc.len);
	size_t tail = fc.len + (2u << 20) + 4096;
	ck_assert_int_eq((int)pwrite(fd, big + tail, len - tail, (off_t)tail), (int)(len - tail));
	ck_assert_int_eq((int)lseek(fd, 0, SEEK_END), (int)len);
	lseek(fd, 0, SEEK_SET);
	run_stream_mid(NULL, 0, fd, -1, 0, 32u << 20, 1u << 20, &a);
	ck_assert_int_eq(a.r, 0);
	ck_assert_uint_eq(a.res.bytes, len);
	assert_zst_equals(a.z, big, len);
	/* from the current offset, after bytes already taken from memory */
	struct iovec pre = { big, 4096 };
	lseek(fd, 4096, SEEK_SET);
	run_stream_mid(&pre, 1, fd, -1, 0, 32u << 20, 1u << 20, &a);
	ck_assert_uint_eq(a.res.bytes, len);
	assert_zst_equals(a.z, big, len);
	/* the limit inside the hole: the head announces less than the file
	 * holds, so reading goes on to the limit and then stops */
	lseek(fd, 0, SEEK_SET);
	run_stream_mid(NULL, 0, fd, -1, fc.len + (1u << 20), 32u << 20, 1u << 20, &a);
	ck_assert(a.res.too_large);
	ck_assert_uint_eq(a.res.bytes, fc.len + (1u << 20));
	close(fd);
	free(big);
	free(fc.buf);
}
END_TEST

/* Mutated heads: whatever the bytes say, no crash, no read out of bounds (the
 * ASan build runs this too), and the zstd copy is always exact. */
START_TEST(test_hostile_heads)
{
	struct fakecore fc;
	uint64_t x = 42;
	fakecore_make(&fc);
	size_t head = fc.load_off[0];
	unsigned char *m = malloc(fc.len);
	for (int iter = 0; iter < 300; iter++) {
		memcpy(m, fc.buf, fc.len);
		for (int k = 0; k < 1 + iter % 8; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			size_t pos = (size_t)(x % head);
			m[pos] = (unsigned char)(x >> 40);
		}
		struct run r;
		int in = memfd_of(m, fc.len);
		run_stream(in, 0, 1u << 20, 65536, &r);
		ck_assert_int_eq(r.r, 0);
		ck_assert_uint_eq(r.res.bytes, fc.len);
		assert_zst_equals(r.z, m, fc.len);
		close(in);
		close(r.z);
		close(r.mini);
	}
	free(m);
	free(fc.buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("stream");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_head_need_steps);
	tcase_add_test(tc, test_full_core_through_a_pipe);
	tcase_add_test(tc, test_minicore_caps_are_recorded);
	tcase_add_test(tc, test_truncated_core);
	tcase_add_test(tc, test_garbage_and_empty);
	tcase_add_test(tc, test_too_large);
	tcase_add_test(tc, test_prefix_from_memory);
	tcase_add_test(tc, test_prefix_spill_then_fd);
	tcase_add_test(tc, test_spill_file_with_holes);
	tcase_add_test(tc, test_hostile_heads);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
