/* zst: streaming round trips through real libzstd, corrupt and truncated input. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"
#include "base/util.h"
#include "core/zst.h"

static unsigned char *pattern(size_t len)
{
	unsigned char *p = malloc(len);
	uint64_t x = 12345;
	for (size_t i = 0; i < len; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		/* half random, half runs: both compressible and not */
		p[i] = (i / 65536) % 2 ? (unsigned char)(x >> 56) : (unsigned char)(i / 4096);
	}
	return p;
}

static void roundtrip(int level, int threads, size_t len, size_t chunk)
{
	unsigned char *in = pattern(len);
	int z = testutil_tmpfd(), out = testutil_tmpfd();
	struct zst_writer *w = NULL;
	ck_assert_int_eq(zst_writer_new(z, level, threads, &w), 0);
	for (size_t off = 0; off < len; off += chunk)
		ck_assert_int_eq(zst_writer_write(w, in + off, off + chunk > len ? len - off : chunk), 0);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	ck_assert_uint_eq(zst_writer_bytes_in(w), len);
	ck_assert_uint_eq((uint64_t)lseek(z, 0, SEEK_END), zst_writer_bytes_out(w));
	zst_writer_free(w);
	uint64_t n = 0;
	lseek(z, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(z, out, &n), 0);
	ck_assert_uint_eq(n, len);
	unsigned char *back = malloc(len + 1);
	ck_assert_int_eq((int)pread(out, back, len + 1, 0), (int)len);
	ck_assert_int_eq(memcmp(in, back, len), 0);
	free(in);
	free(back);
	close(z);
	close(out);
}

START_TEST(test_roundtrip_levels)
{
	roundtrip(-1, 0, 3u << 20, 1000);
	roundtrip(1, 1, 3u << 20, 65536);
	roundtrip(3, 0, 100, 7);
	roundtrip(-7, 2, 5u << 20, 1u << 20);
}
END_TEST

/* The level chosen after the writer exists (collect.c: a core read after the
 * release goes straight to the final level) is the level of the frame; once a
 * byte is in, it is refused rather than silently ignored. */
static uint64_t compressed_at(int first, int then, int *set_r)
{
	/* Words drawn at random from a small set: matches that level 3's
	 * search finds and level -1's does not. */
	static const char *const words[] = { "stack ", "frame ", "thread ", "signal ", "core ", "dump ", "0x7ffd ",
					     "libc.so.6 ", "main ", "abort ", "segv ", "mortem " };
	size_t len = 4u << 20;
	unsigned char *in = malloc(len);
	uint64_t x = 99;
	for (size_t i = 0; i < len;) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		const char *wd = words[(x >> 33) % ARRAY_SIZE(words)];
		for (size_t k = 0; wd[k] && i < len; k++)
			in[i++] = (unsigned char)wd[k];
	}
	int z = testutil_tmpfd();
	struct zst_writer *w = NULL;
	ck_assert_int_eq(zst_writer_new(z, first, 0, &w), 0);
	*set_r = zst_writer_set_level(w, then);
	ck_assert_int_eq(zst_writer_write(w, in, len), 0);
	ck_assert_int_eq(zst_writer_set_level(w, first), -EBUSY);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	uint64_t out = zst_writer_bytes_out(w);
	zst_writer_free(w);
	free(in);
	close(z);
	return out;
}

START_TEST(test_set_level_before_first_byte)
{
	int r;
	uint64_t fast = compressed_at(-1, -1, &r);
	ck_assert_int_eq(r, 0);
	uint64_t direct3 = compressed_at(3, 3, &r);
	uint64_t switched = compressed_at(-1, 3, &r);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(switched, direct3);
	ck_assert_uint_lt(switched, fast);
}
END_TEST

START_TEST(test_empty_input_is_a_valid_frame)
{
	int z = testutil_tmpfd(), out = testutil_tmpfd();
	struct zst_writer *w = NULL;
	uint64_t n = 99;
	ck_assert_int_eq(zst_writer_new(z, 1, 0, &w), 0);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	zst_writer_free(w);
	lseek(z, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(z, out, &n), 0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_corrupt_and_truncated)
{
	int z = testutil_tmpfd(), out = testutil_tmpfd(), g = testutil_tmpfd();
	struct zst_writer *w = NULL;
	unsigned char *in = pattern(1u << 20);
	ck_assert_int_eq(zst_writer_new(z, 3, 0, &w), 0);
	ck_assert_int_eq(zst_writer_write(w, in, 1u << 20), 0);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	off_t size = lseek(z, 0, SEEK_END);
	zst_writer_free(w);
	/* truncated: the frame never ends */
	ck_assert_int_eq(ftruncate(z, size / 2), 0);
	lseek(z, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(z, out, NULL), -EBADMSG);
	/* garbage: not zstd at all */
	ck_assert_int_eq(write_all(g, "this is not zstd", 16), 0);
	lseek(g, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(g, out, NULL), -EBADMSG);
	/* empty file */
	int e = testutil_tmpfd();
	ck_assert_int_eq(zst_decompress_fd(e, out, NULL), -EBADMSG);
	free(in);
}
END_TEST

START_TEST(test_recompress_smaller_and_identical)
{
	/* Words drawn at random from a small set: matches that level 3's
	 * search finds and level -1's does not. */
	static const char *const words[] = { "stack ", "frame ", "thread ", "signal ", "core ", "dump ", "0x7ffd ",
					     "libc.so.6 ", "main ", "abort ", "segv ", "mortem " };
	size_t len = 4u << 20;
	unsigned char *in = malloc(len);
	uint64_t x = 99;
	for (size_t i = 0; i < len;) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		const char *wd = words[(x >> 33) % ARRAY_SIZE(words)];
		for (size_t k = 0; wd[k] && i < len; k++)
			in[i++] = (unsigned char)wd[k];
	}
	int fast = testutil_tmpfd(), slow = testutil_tmpfd(), out = testutil_tmpfd();
	struct zst_writer *w = NULL;
	uint64_t a = 0, b = 0, n = 0;
	ck_assert_int_eq(zst_writer_new(fast, -5, 0, &w), 0);
	ck_assert_int_eq(zst_writer_write(w, in, len), 0);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	uint64_t fast_size = zst_writer_bytes_out(w);
	zst_writer_free(w);
	lseek(fast, 0, SEEK_SET);
	ck_assert_int_eq(zst_recompress_fd(fast, slow, 6, 0, NULL, &a, &b), 0);
	ck_assert_uint_eq(a, len);
	ck_assert_uint_lt(b, fast_size);
	lseek(slow, 0, SEEK_SET);
	ck_assert_int_eq(zst_decompress_fd(slow, out, &n), 0);
	ck_assert_uint_eq(n, len);
	unsigned char *back = malloc(len);
	ck_assert_int_eq((int)pread(out, back, len, 0), (int)len);
	ck_assert_int_eq(memcmp(in, back, len), 0);
	free(in);
	free(back);
}
END_TEST

/* A stopping mortemd cuts a recompression short: -EINTR at once with the
 * flag set; a flag that stays 0 changes nothing. */
START_TEST(test_recompress_cut)
{
	/* Words drawn at random from a small set: matches that level 3's
	 * search finds and level -1's does not. */
	static const char *const words[] = { "stack ", "frame ", "thread ", "signal ", "core ", "dump ", "0x7ffd ",
					     "libc.so.6 ", "main ", "abort ", "segv ", "mortem " };
	size_t len = 4u << 20;
	unsigned char *in = malloc(len);
	uint64_t x = 99;
	for (size_t i = 0; i < len;) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		const char *wd = words[(x >> 33) % ARRAY_SIZE(words)];
		for (size_t k = 0; wd[k] && i < len; k++)
			in[i++] = (unsigned char)wd[k];
	}
	int fast = testutil_tmpfd(), slow = testutil_tmpfd(), again = testutil_tmpfd();
	struct zst_writer *w = NULL;
	uint64_t a = 0, b = 0;
	volatile sig_atomic_t cut = 1;
	ck_assert_int_eq(zst_writer_new(fast, -5, 0, &w), 0);
	ck_assert_int_eq(zst_writer_write(w, in, len), 0);
	ck_assert_int_eq(zst_writer_finish(w), 0);
	zst_writer_free(w);
	lseek(fast, 0, SEEK_SET);
	ck_assert_int_eq(zst_recompress_fd(fast, slow, 6, 0, &cut, &a, &b), -EINTR);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(b, 0);
	cut = 0;
	lseek(fast, 0, SEEK_SET);
	ck_assert_int_eq(zst_recompress_fd(fast, again, 6, 0, &cut, &a, &b), 0);
	ck_assert_uint_eq(a, len);
	ck_assert_uint_gt(b, 0);
	free(in);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("zst");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip_levels);
	tcase_add_test(tc, test_set_level_before_first_byte);
	tcase_add_test(tc, test_empty_input_is_a_valid_frame);
	tcase_add_test(tc, test_corrupt_and_truncated);
	tcase_add_test(tc, test_recompress_cut);
	tcase_add_test(tc, test_recompress_smaller_and_identical);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
