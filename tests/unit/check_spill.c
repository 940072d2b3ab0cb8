/* spill: the writer threads put every staged chunk where it belongs in an
 * unnamed file, direct or not, the padded last chunk is cut back to the true
 * size, the file reads back with plain reads, errors come back with their job,
 * and a directory where no file can be made says so. */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "core/spill.h"
#include "testutil.h"

#define CH (1u << 20)

static unsigned wait_done(int efd, unsigned want, struct spill_job **all, unsigned nall)
{
	unsigned got = 0;
	while (got < want) {
		struct pollfd p = { .fd = efd, .events = POLLIN };
		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		for (struct spill_job *j = spill_done(); j; j = j->next) {
			bool ours = false;
			for (unsigned i = 0; i < nall; i++)
				ours |= all[i] == j;
			ck_assert(ours);
			got++;
		}
	}
	return got;
}

static void check_dir(const char *dir)
{
	int efd;
	bool direct;
	ck_assert_int_eq(spill_start(3, &efd), 0);
	int fd = spill_open(dir, &direct);
	ck_assert_int_ge(fd, 0);
	/* 5 whole chunks out of order, then a short last one */
	unsigned char *buf;
	ck_assert_int_eq(posix_memalign((void **)&buf, SPILL_ALIGN, 6 * (size_t)CH), 0);
	for (size_t i = 0; i < 6 * (size_t)CH; i++)
		buf[i] = (unsigned char)(i * 7 + i / CH);
	const size_t tail = 12345;
	struct spill_job jobs[6], *all[6];
	unsigned order[5] = { 3, 0, 4, 1, 2 };
	for (unsigned k = 0; k < 5; k++) {
		unsigned i = order[k];
		jobs[i] = (struct spill_job){ .fd = fd, .buf = buf + (size_t)i * CH, .len = CH,
					      .off = (off_t)i * CH, .truncate = -1 };
		all[i] = &jobs[i];
		spill_submit(&jobs[i]);
	}
	ck_assert_uint_eq(wait_done(efd, 5, all, 5), 5);
	for (unsigned i = 0; i < 5; i++)
		ck_assert_int_eq(jobs[i].err, 0);
	/* the tail, padded the way mortemd pads it for a direct file */
	size_t len = direct ? (tail + SPILL_ALIGN - 1) / SPILL_ALIGN * SPILL_ALIGN : tail;
	jobs[5] = (struct spill_job){ .fd = fd, .buf = buf + 5 * (size_t)CH, .len = len, .off = 5 * (off_t)CH,
				      .truncate = 5 * (off_t)CH + (off_t)tail };
	all[5] = &jobs[5];
	spill_submit(&jobs[5]);
	ck_assert_uint_eq(wait_done(efd, 1, all + 5, 1), 1);
	ck_assert_int_eq(jobs[5].err, 0);

	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 5 * (off_t)CH + (off_t)tail);
	ck_assert_int_eq(st.st_nlink, 0); /* unnamed */
	ck_assert_int_eq(spill_readable(fd), 0);
	unsigned char *back = malloc(6 * (size_t)CH);
	ck_assert_ptr_nonnull(back);
	size_t got = 0;
	for (;;) {
		ssize_t n = read(fd, back + got + 1, 65537 - 1); /* unaligned buffer, odd size */
		ck_assert_int_ge(n, 0);
		if (n == 0)
			break;
		memmove(back + got, back + got + 1, (size_t)n);
		got += (size_t)n;
	}
	ck_assert_uint_eq(got, 5 * (size_t)CH + tail);
	ck_assert(memcmp(back, buf, got) == 0);

	/* a write that fails comes back with its error */
	struct spill_job bad = { .fd = -1, .buf = buf, .len = CH, .off = 0, .truncate = -1 }, *b = &bad;
	spill_submit(&bad);
	ck_assert_uint_eq(wait_done(efd, 1, &b, 1), 1);
	ck_assert_int_eq(bad.err, -EBADF);
	spill_stop();
	close(fd);
	free(back);
	free(buf);
}

START_TEST(test_spill_disk)
{
	check_dir("/var/tmp"); /* a disk file system: direct where it can */
}
END_TEST

START_TEST(test_spill_tmpfs_or_other)
{
	check_dir("/dev/shm");
}
END_TEST

/* Zero blocks become holes: the bytes read back the same, fewer blocks are
 * allocated, and a job ending in zeros still makes the file that long. */
static void check_sparse(const char *dir, bool expect_holes)
{
	bool direct;
	int fd = spill_open(dir, &direct);
	ck_assert_int_ge(fd, 0);
	unsigned char *buf;
	ck_assert_int_eq(posix_memalign((void **)&buf, SPILL_ALIGN, 2 * (size_t)CH), 0);
	memset(buf, 0, 2 * (size_t)CH);
	/* chunk 0: data in blocks 1, 5 (one byte, at its end) and 7..9; chunk 1 all zero */
	buf[SPILL_ALIGN + 17] = 1;
	buf[6 * SPILL_ALIGN - 1] = 2;
	memset(buf + 7 * SPILL_ALIGN, 0xab, 3 * SPILL_ALIGN);
	ck_assert_int_eq(spill_write_sparse(fd, buf, CH, 0), 0);
	ck_assert_int_eq(spill_write_sparse(fd, buf + CH, CH, CH), 0);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(st.st_size, 2 * (off_t)CH);
	if (expect_holes)
		/* blocks 1, 5, 7-9 and the last block of each chunk: 7 blocks, not 512 */
		ck_assert_int_le((long long)st.st_blocks * 512, 16 * (long long)SPILL_ALIGN);
	ck_assert_int_eq(spill_readable(fd), 0);
	unsigned char *back = malloc(2 * (size_t)CH);
	ck_assert_ptr_nonnull(back);
	ck_assert_int_eq(pread(fd, back, 2 * (size_t)CH, 0), 2 * (ssize_t)CH);
	ck_assert(memcmp(back, buf, 2 * (size_t)CH) == 0);
	/* an error comes back */
	ck_assert_int_eq(spill_write_sparse(-1, buf, CH, 0), -EBADF);
	close(fd);
	free(back);
	free(buf);
}

START_TEST(test_spill_sparse)
{
	check_sparse("/var/tmp", true);
	check_sparse("/dev/shm", true);
}
END_TEST

START_TEST(test_spill_no_dir)
{
	bool direct;
	ck_assert_int_lt(spill_open("/nonexistent/mortem-spill", &direct), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("spill");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_spill_disk);
	tcase_add_test(tc, test_spill_tmpfs_or_other);
	tcase_add_test(tc, test_spill_no_dir);
	tcase_add_test(tc, test_spill_sparse);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
