/* The minicore's bounds and its scrubbing, with hand-made hostile cores: many
 * PT_NOTE headers over the same notes (size amplification), notes larger than
 * MiniCoreMax, 64,000 file mappings (planning cost), and environment strings
 * in a thread's stack (secrets). The full core must stay byte-identical. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/elfcore.h"
#include "core/minicore.h"
#include "core/stream.h"
#include "core/zst.h"
#include "base/util.h"
#include "fakecore.h"
#include "hostilecore.h"
#include "testutil.h"

static uint64_t fd_size(int fd)
{
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	return (uint64_t)st.st_size;
}

/* Read the whole minicore back and parse it as analysis would. */
static unsigned char *mini_read(int fd, size_t *len)
{
	*len = (size_t)fd_size(fd);
	unsigned char *b = malloc(*len + 1);
	ck_assert_int_eq((int)pread(fd, b, *len, 0), (int)*len);
	return b;
}

/* Plan a head alone (the memory is not needed to plan), then finish. */
static void plan_head(const struct hostilecore *hc, uint64_t max, int *fd, struct minicore_info *mi)
{
	struct minicore *m = NULL;
	*fd = testutil_tmpfd();
	ck_assert_int_eq(minicore_new(*fd, max, 1u << 20, &m), 0);
	ck_assert_int_eq(minicore_plan(m, hc->head, hc->head_len), 0);
	ck_assert_int_eq(minicore_feed(m, 0, hc->head, hc->head_len), 0);
	ck_assert_int_eq(minicore_finish(m, mi), 0);
	minicore_free(m);
}

/* 4,000 PT_NOTE headers over one 16 KiB notes blob: before, each header was a
 * copy (64 MB of notes from a 250 KB head). Now the blob is copied once and
 * the file stays under MiniCoreMax. */
START_TEST(test_many_note_headers_copied_once)
{
	struct hostilecore hc;
	struct minicore_info mi;
	int fd;
	hostilecore_make(&hc, 4000, 4, 16384);
	plan_head(&hc, 1u << 20, &fd, &mi);
	ck_assert_uint_eq(mi.notes, hc.notes_len);
	ck_assert_uint_le(mi.size, 1u << 20);
	ck_assert_uint_le(fd_size(fd), 1u << 20);
	ck_assert_uint_eq(fd_size(fd), mi.size);
	ck_assert_uint_eq(mi.stacks, 1); /* the same SP 4,000 times: one stack */

	size_t len;
	unsigned char *b = mini_read(fd, &len);
	struct elfcore_info *info = NULL;
	ck_assert_int_eq(elfcore_parse(b, len, &info), 0);
	ck_assert_uint_eq(info->nthreads, 1);
	ck_assert_uint_eq(info->nfiles, 4);
	elfcore_info_free(info);
	free(b);
	close(fd);
	free(hc.head);
}
END_TEST

/* Overlapping and nested PT_NOTE headers: the union once, in offset order. */
START_TEST(test_overlapping_note_headers)
{
	struct hostilecore hc;
	struct minicore_info mi;
	int fd;
	hostilecore_make(&hc, 3, 2, 4000);
	Elf64_Phdr ph;
	/* The blob is NT_PRSTATUS (356 bytes), NT_FILE, the pad note (4,016
	 * bytes). Header 0: all of it; header 1: the first two notes; header 2:
	 * the last two (they overlap on NT_FILE). */
	memcpy(&ph, hc.head + sizeof(Elf64_Ehdr) + sizeof(ph), sizeof(ph));
	ph.p_filesz = hc.notes_len - 4016;
	memcpy(hc.head + sizeof(Elf64_Ehdr) + sizeof(ph), &ph, sizeof(ph));
	ph.p_offset = hc.notes_off + 356;
	ph.p_filesz = hc.notes_len - 356;
	memcpy(hc.head + sizeof(Elf64_Ehdr) + 2 * sizeof(ph), &ph, sizeof(ph));
	plan_head(&hc, 1u << 20, &fd, &mi);
	ck_assert_uint_eq(mi.notes, hc.notes_len);
	close(fd);
	free(hc.head);
}
END_TEST

/* Notes larger than MiniCoreMax: cut at a note boundary, recorded, and the
 * file still a core that parses. */
START_TEST(test_notes_over_the_bound)
{
	struct hostilecore hc;
	struct minicore_info mi;
	int fd;
	hostilecore_make(&hc, 1, 2, 200000); /* the pad note is the last, 200 KB */
	plan_head(&hc, 65536, &fd, &mi);
	ck_assert(mi.capped);
	ck_assert_str_eq(mi.cap_reason, "notes size");
	ck_assert_uint_le(fd_size(fd), 65536);
	ck_assert_uint_lt(mi.notes, hc.notes_len);
	ck_assert_uint_gt(mi.notes, 0); /* the NT_PRSTATUS and NT_FILE fit */
	size_t len;
	unsigned char *b = mini_read(fd, &len);
	struct elfcore_info *info = NULL;
	ck_assert_int_eq(elfcore_parse(b, len, &info), 0);
	ck_assert_uint_eq(info->nthreads, 1);
	ck_assert_uint_eq(info->nfiles, 2);
	ck_assert_uint_eq(info->malformed, 0); /* no half note at the end */
	elfcore_info_free(info);
	free(b);
	close(fd);
	free(hc.head);
}
END_TEST

/* Too small a bound for even the headers: refused, not overrun. */
START_TEST(test_bound_below_the_headers)
{
	struct hostilecore hc;
	struct minicore *m = NULL;
	hostilecore_make(&hc, 1, 1, 0);
	int fd = testutil_tmpfd();
	ck_assert_int_eq(minicore_new(fd, 100, 1u << 20, &m), 0);
	ck_assert_int_eq(minicore_plan(m, hc.head, hc.head_len), -EFBIG);
	minicore_free(m);
	ck_assert_int_eq(minicore_new(fd, 200, 1u << 20, &m), 0);
	ck_assert_int_eq(minicore_plan(m, hc.head, hc.head_len), 0);
	struct minicore_info mi;
	ck_assert_int_eq(minicore_finish(m, &mi), 0);
	ck_assert_uint_le(mi.size, 200);
	ck_assert_uint_le(fd_size(fd), 200);
	ck_assert(mi.capped);
	minicore_free(m);
	close(fd);
	free(hc.head);
}
END_TEST

/* The whole path with a bound: every file size from 64 KiB to 4 MiB, the
 * fakecore streamed through, the minicore never over it. */
START_TEST(test_stream_bound_holds)
{
	struct fakecore fc;
	fakecore_make(&fc);
	for (uint64_t max = 1024; max <= (4u << 20); max = max * 3 / 2) {
		int in = testutil_tmpfd(), mini = testutil_tmpfd();
		ck_assert_int_eq(write_all(in, fc.buf, fc.len), 0);
		lseek(in, 0, SEEK_SET);
		struct stream_opts o = { .mid_fd = -1, .in_fd = in, .mini_fd = mini, .mini_max = max,
					 .mini_stack_max = 1u << 20 };
		struct stream_result res;
		ck_assert_int_eq(stream_core(&o, &res), 0);
		ck_assert(res.mini);
		ck_assert_uint_le(res.mini_info.size, max);
		ck_assert_uint_le(fd_size(mini), max);
		close(in);
		close(mini);
	}
	free(fc.buf);
}
END_TEST

/* 64,000 one-page file mappings, each with its NT_FILE entry: planning looked
 * every PT_LOAD up by scanning every entry, twice (8e9 steps). The plan must
 * come out right and in O(n log n) steps: plan_steps counts each binary-search
 * probe and each pass over the headers or entries. */
START_TEST(test_64k_mappings_plan)
{
	const size_t n = 64000;
	struct hostilecore hc;
	struct minicore_info mi;
	int fd;
	hostilecore_make(&hc, 1, n, 0);
	plan_head(&hc, 256u << 20, &fd, &mi);
	ck_assert_uint_eq(mi.stacks, 1);
	ck_assert_uint_eq(mi.ranges, MINICORE_RANGES_MAX); /* one per mapping until the cap */
	ck_assert(mi.capped);
	ck_assert_str_eq(mi.cap_reason, "ranges");
	ck_assert_uint_le(mi.size, 256u << 20);
	/* 2 lookups x 17 probes + 5 passes per mapping is ~40 n; quadratic is 2 n^2 */
	ck_assert_uint_le(mi.plan_steps, 64 * n);
	ck_assert_uint_ge(mi.plan_steps, 2 * n);

	/* the minicore holds each mapping's page at its vaddr, in order */
	size_t len;
	unsigned char *b = mini_read(fd, &len);
	struct elfcore_info *info = NULL;
	ck_assert_int_eq(elfcore_parse(b, len, &info), 0);
	ck_assert_uint_eq(info->nloads, MINICORE_RANGES_MAX);
	ck_assert_uint_eq(info->loads[0].vaddr, 0x10000000);
	ck_assert_uint_eq(info->loads[100].vaddr, 0x10000000 + 200 * FC_PAGE);
	ck_assert_uint_eq(info->loads[100].filesz, FC_PAGE);
	elfcore_info_free(info);
	free(b);
	close(fd);

	/* the same core under a 1 MiB bound: the notes (NT_FILE: 2.3 MB) are cut */
	plan_head(&hc, 1u << 20, &fd, &mi);
	ck_assert_uint_le(fd_size(fd), 1u << 20);
	ck_assert(mi.capped);
	close(fd);
	free(hc.head);
}
END_TEST

/* A minicore that cannot be written (its fd is read-only here, a full disk in
 * life) is given up; the core streams on, byte-identical. */
START_TEST(test_minicore_failure_keeps_the_core)
{
	struct fakecore fc;
	struct zst_writer *w = NULL;
	fakecore_make(&fc);
	int in = testutil_tmpfd(), z = testutil_tmpfd();
	ck_assert_int_eq(write_all(in, fc.buf, fc.len), 0);
	lseek(in, 0, SEEK_SET);
	int ro = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_eq(zst_writer_new(z, 1, 0, &w), 0);
	struct stream_opts o = { .mid_fd = -1, .in_fd = in, .zw = w, .mini_fd = ro, .mini_max = 1u << 20,
				 .mini_stack_max = 1u << 20 };
	struct stream_result res;
	ck_assert_int_eq(stream_core(&o, &res), 0);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	zst_writer_free(w);
	ck_assert(!res.mini);
	ck_assert_ptr_nonnull(res.mini_error);
	ck_assert_int_eq(res.mini_errno, EBADF);
	ck_assert_uint_eq(res.bytes, fc.len);
	int out = testutil_tmpfd();
	uint64_t nb = 0;
	lseek(z, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(z, out, &nb), 0);
	ck_assert_uint_eq(nb, fc.len);
	close(ro);
	free(fc.buf);
}
END_TEST

/* ---- scrubbing ---- */

#define SECRET "MY_API_TOKEN=hunter2"
static const uint64_t stack_base = 0x7ff000000;

/* fakecore with strings planted in the kept part of the stack (thread 1's SP is
 * at page 4, so pages 4..31 are kept). Returns the core offset of vaddr. */
static size_t plant(struct fakecore *fc, uint64_t vaddr, const char *s, size_t len)
{
	size_t off = fc->load_off[3] + (vaddr - stack_base);
	memcpy(fc->buf + off, s, len);
	return off;
}

struct scrub_run {
	struct stream_result res;
	unsigned char *mini; /* the minicore file */
	size_t mini_len;
	unsigned char *full; /* the full core, decompressed */
	size_t full_len;
};

/* Stream fc in the pieces cut at cuts[] (increasing; the rest from an fd),
 * scrubbing the given strings. */
static void scrub_stream(const struct fakecore *fc, const size_t *cuts, size_t ncut, const char *const *kv,
			 size_t nkv, struct scrub_run *sr)
{
	struct iovec pre[8], sc[8];
	size_t off = 0;
	for (size_t i = 0; i < ncut; i++) {
		pre[i] = (struct iovec){ fc->buf + off, cuts[i] - off };
		off = cuts[i];
	}
	for (size_t i = 0; i < nkv; i++)
		sc[i] = (struct iovec){ (void *)kv[i], strlen(kv[i]) };
	int in = testutil_tmpfd(), z = testutil_tmpfd(), mini = testutil_tmpfd();
	ck_assert_int_eq(write_all(in, fc->buf + off, fc->len - off), 0);
	lseek(in, 0, SEEK_SET);
	struct zst_writer *w = NULL;
	ck_assert_int_eq(zst_writer_new(z, 1, 0, &w), 0);
	struct stream_opts o = { .pre = pre, .n_pre = ncut, .mid_fd = -1, .in_fd = in, .zw = w, .mini_fd = mini,
				 .mini_max = 32u << 20, .mini_stack_max = 1u << 20, .mini_scrub = sc,
				 .n_mini_scrub = nkv };
	ck_assert_int_eq(stream_core(&o, &sr->res), 0);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	zst_writer_free(w);
	ck_assert(sr->res.mini);
	sr->mini = mini_read(mini, &sr->mini_len);
	int out = testutil_tmpfd();
	uint64_t nb = 0;
	lseek(z, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(z, out, &nb), 0);
	sr->full_len = (size_t)nb;
	sr->full = malloc(nb + 1);
	ck_assert_int_eq((int)pread(out, sr->full, nb, 0), (int)nb);
	close(in);
	close(z);
	close(mini);
	close(out);
}

static void scrub_free(struct scrub_run *sr)
{
	free(sr->mini);
	free(sr->full);
}

/* The minicore's bytes at vaddr (the stack segment is one range). */
static const unsigned char *mini_at(const struct scrub_run *sr, uint64_t vaddr, size_t len)
{
	struct elfcore_info *info = NULL;
	static unsigned char out[256];
	ck_assert_int_eq(elfcore_parse(sr->mini, sr->mini_len, &info), 0);
	ck_assert_int_eq(elfcore_read_mem(info, sr->mini, sr->mini_len, vaddr, len, out), 0);
	elfcore_info_free(info);
	return out;
}

START_TEST(test_scrub_values)
{
	struct fakecore fc;
	struct scrub_run sr;
	fakecore_make(&fc);
	uint64_t a = stack_base + 6 * FC_PAGE + 10, b = stack_base + 30 * FC_PAGE + 3;
	uint64_t c = stack_base + 8 * FC_PAGE, d = stack_base + 9 * FC_PAGE;
	uint64_t e = stack_base + 10 * FC_PAGE;
	plant(&fc, a - 1, "\0" SECRET "\0", sizeof(SECRET) + 1);
	plant(&fc, b - 1, "\0" SECRET "\0", sizeof(SECRET) + 1); /* twice */
	plant(&fc, c, SECRET "X", sizeof(SECRET));               /* not followed by NUL */
	plant(&fc, d, "XMY_API_TOKEN=hunter2", sizeof(SECRET) + 1); /* preceded by other bytes: scrubbed */
	plant(&fc, e, "OTHER=hunter2", sizeof("OTHER=hunter2")); /* another key: left */
	unsigned char *orig = malloc(fc.len);
	memcpy(orig, fc.buf, fc.len);
	const char *kv[] = { SECRET, "EMPTY=", "no equals sign" };
	scrub_stream(&fc, NULL, 0, kv, 3, &sr);

	ck_assert_int_eq(memcmp(mini_at(&sr, a, sizeof(SECRET)), "MY_API_TOKEN=*******", sizeof(SECRET)), 0);
	ck_assert_int_eq(memcmp(mini_at(&sr, b, sizeof(SECRET)), "MY_API_TOKEN=*******", sizeof(SECRET)), 0);
	ck_assert_int_eq(memcmp(mini_at(&sr, c, sizeof(SECRET)), SECRET "X", sizeof(SECRET)), 0);
	ck_assert_int_eq(memcmp(mini_at(&sr, d, sizeof(SECRET) + 1), "XMY_API_TOKEN=*******", sizeof(SECRET) + 1), 0);
	ck_assert_int_eq(memcmp(mini_at(&sr, e, 14), "OTHER=hunter2", 14), 0);
	ck_assert_uint_eq(sr.res.mini_info.scrubbed, 3);
	ck_assert_uint_eq(sr.res.mini_info.scrub_dropped, 0);
	ck_assert_ptr_null(memmem(sr.mini, sr.mini_len, SECRET, sizeof(SECRET)));
	/* the full core is the evidence: byte-identical */
	ck_assert_uint_eq(sr.full_len, fc.len);
	ck_assert_int_eq(memcmp(sr.full, orig, fc.len), 0);
	ck_assert_int_eq(memcmp(fc.buf, orig, fc.len), 0); /* the caller's buffer untouched */
	scrub_free(&sr);
	free(orig);
	free(fc.buf);
}
END_TEST

/* A string cut between two feeds, at every byte of it (and its NUL), and one
 * across the minicore's own 64 KiB scan window (thread 1's stack is kept from
 * page 4, so page 20 is 64 KiB into the range). */
START_TEST(test_scrub_straddles_feeds)
{
	struct fakecore fc;
	fakecore_make(&fc);
	uint64_t a = stack_base + 12 * FC_PAGE + 4000;
	size_t off = plant(&fc, a, SECRET "\0", sizeof(SECRET));
	plant(&fc, stack_base + 20 * FC_PAGE - 9, SECRET "\0", sizeof(SECRET));
	const char *kv[] = { SECRET };
	for (size_t k = 0; k <= sizeof(SECRET); k++) {
		struct scrub_run sr;
		size_t cuts[] = { 5000, off + k };
		scrub_stream(&fc, cuts, 2, kv, 1, &sr);
		ck_assert_msg(memcmp(mini_at(&sr, a, sizeof(SECRET)), "MY_API_TOKEN=*******", sizeof(SECRET)) == 0,
			      "cut at byte %zu", k);
		ck_assert_int_eq(memcmp(mini_at(&sr, stack_base + 20 * FC_PAGE - 9, sizeof(SECRET)),
					"MY_API_TOKEN=*******", sizeof(SECRET)), 0);
		ck_assert_uint_eq(sr.res.mini_info.scrubbed, 2);
		ck_assert_int_eq(memcmp(sr.full, fc.buf, fc.len), 0);
		scrub_free(&sr);
	}
	free(fc.buf);
}
END_TEST

START_TEST(test_scrub_api_and_caps)
{
	struct minicore *m = NULL;
	char kv[64];
	int fd = testutil_tmpfd();
	ck_assert_int_eq(minicore_new(fd, 1u << 20, 1u << 20, &m), 0);
	ck_assert_int_eq(minicore_scrub_add(m, "=x", 2), -EINVAL);   /* empty key */
	ck_assert_int_eq(minicore_scrub_add(m, "ABC", 3), -EINVAL);  /* no '=' */
	ck_assert_int_eq(minicore_scrub_add(m, "A=", 2), 0);         /* nothing to hide */
	for (unsigned i = 0; i < MINICORE_SCRUB_MAX; i++) {
		int n = snprintf(kv, sizeof(kv), "K%u=v%u", i, i);
		ck_assert_int_eq(minicore_scrub_add(m, kv, (size_t)n), 0);
	}
	ck_assert_int_eq(minicore_scrub_add(m, "ONE=more", 8), -E2BIG);
	struct hostilecore hc;
	hostilecore_make(&hc, 1, 1, 0);
	ck_assert_int_eq(minicore_plan(m, hc.head, hc.head_len), 0);
	ck_assert_int_eq(minicore_scrub_add(m, "LATE=x", 6), -EBUSY);
	struct minicore_info mi;
	ck_assert_int_eq(minicore_finish(m, &mi), 0);
	ck_assert_uint_eq(mi.scrub_dropped, 1);
	ck_assert_str_eq(mi.cap_reason, "scrub strings");
	minicore_free(m);

	/* the byte cap: two strings of half of it do not both fit */
	char *big = malloc(MINICORE_SCRUB_BYTES);
	memset(big, 'v', MINICORE_SCRUB_BYTES);
	memcpy(big, "BIG=", 4);
	ck_assert_int_eq(minicore_new(fd, 1u << 20, 1u << 20, &m), 0);
	ck_assert_int_eq(minicore_scrub_add(m, big, MINICORE_SCRUB_BYTES / 2 + 1), 0);
	ck_assert_int_eq(minicore_scrub_add(m, big, MINICORE_SCRUB_BYTES / 2), -E2BIG);
	minicore_free(m);
	free(big);
	free(hc.head);
	close(fd);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("minicore");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_many_note_headers_copied_once);
	tcase_add_test(tc, test_overlapping_note_headers);
	tcase_add_test(tc, test_notes_over_the_bound);
	tcase_add_test(tc, test_bound_below_the_headers);
	tcase_add_test(tc, test_stream_bound_holds);
	tcase_add_test(tc, test_64k_mappings_plan);
	tcase_add_test(tc, test_minicore_failure_keeps_the_core);
	tcase_add_test(tc, test_scrub_values);
	tcase_add_test(tc, test_scrub_straddles_feeds);
	tcase_add_test(tc, test_scrub_api_and_caps);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
