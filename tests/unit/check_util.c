/* util.c: write/read helpers, mkdir_p, signal names, time and size formatting. */
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "testutil.h"
#include "base/util.h"

static char tmpdir[64];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void setup_tmp(void)
{
	strcpy(tmpdir, "/tmp/check_util.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
	(void)nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Create tmpdir/name holding len bytes of a repeating pattern; returns the path. */
static char *make_file(const char *name, size_t len)
{
	char *path, *buf;
	int fd;

	ck_assert_int_ge(asprintf(&path, "%s/%s", tmpdir, name), 0);
	buf = malloc(len + 1);
	ck_assert_ptr_nonnull(buf);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)('a' + i % 26);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, buf, len), 0);
	close(fd);
	free(buf);
	return path;
}

START_TEST(test_write_all_and_pwrite_all)
{
	_cleanup_free_ char *path = make_file("w", 0);
	_cleanup_free_ char *data = NULL;
	size_t len;
	bool trunc;
	int fd = open(path, O_RDWR | O_CLOEXEC);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, "hello world", 11), 0);
	ck_assert_int_eq(pwrite_all(fd, "W", 1, 6), 0);
	ck_assert_int_eq(pwrite_all(fd, "!!", 2, 11), 0);
	ck_assert_int_eq(pwrite_all(fd, "x", 1, -1), -EINVAL);
	close(fd);
	ck_assert_int_eq(read_file_at(AT_FDCWD, path, 100, &data, &len, &trunc), 0);
	ck_assert_str_eq(data, "hello World!!");
	ck_assert_uint_eq(len, 13);
	ck_assert(!trunc);

	ck_assert_int_eq(write_all(-1, "x", 1), -EBADF);
}
END_TEST

START_TEST(test_write_all_pipe_large)
{
	/* more than a pipe buffer: needs a reader and several partial writes */
	size_t n = 1 << 20;
	char *buf = malloc(n);
	int p[2];
	pid_t pid;

	ck_assert_ptr_nonnull(buf);
	memset(buf, 'z', n);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(p[0]);
		_exit(write_all(p[1], buf, n) == 0 ? 0 : 1);
	}
	close(p[1]);
	{
		_cleanup_free_ char *data = NULL;
		size_t len;
		bool trunc;
		int status;

		ck_assert_int_eq(read_fd_capped(p[0], n, &data, &len, &trunc), 0);
		ck_assert_uint_eq(len, n);
		ck_assert(!trunc);
		ck_assert_int_eq(memcmp(data, buf, n), 0);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	close(p[0]);
	free(buf);
}
END_TEST

START_TEST(test_read_capped_truncation)
{
	_cleanup_free_ char *path = make_file("ten", 10);
	char *data;
	size_t len;
	bool trunc;

	/* exactly cap bytes: not truncated */
	ck_assert_int_eq(read_file_at(AT_FDCWD, path, 10, &data, &len, &trunc), 0);
	ck_assert_uint_eq(len, 10);
	ck_assert(!trunc);
	ck_assert_str_eq(data, "abcdefghij");
	free(data);

	/* one byte over: truncated, NUL-terminated at the cap */
	ck_assert_int_eq(read_file_at(AT_FDCWD, path, 9, &data, &len, &trunc), 0);
	ck_assert_uint_eq(len, 9);
	ck_assert(trunc);
	ck_assert_str_eq(data, "abcdefghi");
	free(data);

	/* cap 0: empty string, but we know there was data */
	ck_assert_int_eq(read_file_at(AT_FDCWD, path, 0, &data, &len, &trunc), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert(trunc);
	ck_assert_str_eq(data, "");
	free(data);

	/* ret_len and truncated are optional */
	ck_assert_int_eq(read_file_at(AT_FDCWD, path, 1000, &data, NULL, NULL), 0);
	ck_assert_str_eq(data, "abcdefghij");
	free(data);
}
END_TEST

START_TEST(test_read_empty_and_large)
{
	_cleanup_free_ char *empty = make_file("empty", 0);
	_cleanup_free_ char *big = make_file("big", 300000);
	char *data;
	size_t len;
	bool trunc = true;

	ck_assert_int_eq(read_file_at(AT_FDCWD, empty, 0, &data, &len, &trunc), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert(!trunc);
	ck_assert_str_eq(data, "");
	free(data);

	/* larger than the first chunk: the buffer grows */
	ck_assert_int_eq(read_file_at(AT_FDCWD, big, 1 << 20, &data, &len, &trunc), 0);
	ck_assert_uint_eq(len, 300000);
	ck_assert(!trunc);
	ck_assert_uint_eq(strlen(data), 300000);
	ck_assert_int_eq(data[299999], 'a' + 299999 % 26);
	free(data);

	/* a cap that is not a power of two, crossed while growing */
	ck_assert_int_eq(read_file_at(AT_FDCWD, big, 10000, &data, &len, &trunc), 0);
	ck_assert_uint_eq(len, 10000);
	ck_assert(trunc);
	ck_assert_uint_eq(strlen(data), 10000);
	free(data);
}
END_TEST

START_TEST(test_read_file_at_dirfd_and_errors)
{
	_cleanup_free_ char *path = make_file("rel", 3);
	_cleanup_close_ int dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char *data = (char *)"untouched";
	size_t len = 42;
	bool trunc = true;

	ck_assert_int_ge(dfd, 0);
	ck_assert_int_eq(read_file_at(dfd, "rel", 100, &data, &len, &trunc), 0);
	ck_assert_str_eq(data, "abc");
	ck_assert_uint_eq(len, 3);
	ck_assert(!trunc);
	free(data);

	/* failure leaves the out-parameters alone */
	data = (char *)"untouched";
	len = 42;
	ck_assert_int_eq(read_file_at(dfd, "missing", 100, &data, &len, &trunc), -ENOENT);
	ck_assert_str_eq(data, "untouched");
	ck_assert_uint_eq(len, 42);
	ck_assert_int_eq(read_file_at(AT_FDCWD, tmpdir, 100, &data, &len, &trunc), -EISDIR);
	ck_assert_str_eq(data, "untouched");
}
END_TEST

START_TEST(test_read_pipe_capped)
{
	int p[2];
	char *data;
	size_t len;
	bool trunc;

	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	ck_assert_int_eq(write_all(p[1], "0123456789", 10), 0);
	close(p[1]);
	ck_assert_int_eq(read_fd_capped(p[0], 4, &data, &len, &trunc), 0);
	ck_assert_str_eq(data, "0123");
	ck_assert(trunc);
	free(data);
	close(p[0]);
}
END_TEST

START_TEST(test_mkdir_p)
{
	_cleanup_free_ char *deep = NULL, *file = NULL, *under_file = NULL, *slashy = NULL;
	struct stat st;

	ck_assert_int_ge(asprintf(&deep, "%s/a/b/c", tmpdir), 0);
	ck_assert_int_eq(mkdir_p(deep, 0700), 0);
	ck_assert_int_eq(stat(deep, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	/* existing is fine */
	ck_assert_int_eq(mkdir_p(deep, 0700), 0);

	ck_assert_int_ge(asprintf(&slashy, "%s//x///y/", tmpdir), 0);
	ck_assert_int_eq(mkdir_p(slashy, 0755), 0);
	ck_assert_int_eq(stat(slashy, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));

	file = make_file("plain", 1);
	ck_assert_int_eq(mkdir_p(file, 0700), -ENOTDIR);
	ck_assert_int_ge(asprintf(&under_file, "%s/sub", file), 0);
	ck_assert_int_eq(mkdir_p(under_file, 0700), -ENOTDIR);
	ck_assert_int_eq(mkdir_p("", 0700), -EINVAL);
}
END_TEST

START_TEST(test_fsync_dir)
{
	ck_assert_int_eq(fsync_dir(tmpdir), 0);
	ck_assert_int_eq(fsync_dir("/nonexistent/mortem/dir"), -ENOENT);
}
END_TEST

START_TEST(test_now_usec)
{
	int64_t before = (int64_t)time(NULL) * 1000000;
	int64_t now = now_usec();
	int64_t after = ((int64_t)time(NULL) + 1) * 1000000;

	ck_assert_int_ge(now, before);
	ck_assert_int_le(now, after);
}
END_TEST

START_TEST(test_signal_name)
{
	ck_assert_str_eq(signal_name(SIGHUP), "SIGHUP");
	ck_assert_str_eq(signal_name(11), "SIGSEGV");
	ck_assert_str_eq(signal_name(SIGABRT), "SIGABRT");
	ck_assert_str_eq(signal_name(SIGBUS), "SIGBUS");
	ck_assert_str_eq(signal_name(SIGFPE), "SIGFPE");
	ck_assert_str_eq(signal_name(SIGILL), "SIGILL");
	ck_assert_str_eq(signal_name(SIGTRAP), "SIGTRAP");
	ck_assert_str_eq(signal_name(SIGSYS), "SIGSYS");
	ck_assert_str_eq(signal_name(SIGXCPU), "SIGXCPU");
	ck_assert_str_eq(signal_name(SIGXFSZ), "SIGXFSZ");
	ck_assert_str_eq(signal_name(SIGIO), "SIGIO");
	ck_assert_str_eq(signal_name(SIGPWR), "SIGPWR");
	ck_assert_str_eq(signal_name(SIGSTKFLT), "SIGSTKFLT");
	/* every standard signal 1..31 has a name */
	for (int s = 1; s < 32; s++) {
		const char *n = signal_name(s);
		ck_assert_msg(n != NULL, "signal %d has no name", s);
		ck_assert_msg(strncmp(n, "SIG", 3) == 0, "signal %d: %s", s, n);
	}
	ck_assert_ptr_null(signal_name(0));
	ck_assert_ptr_null(signal_name(-1));
	ck_assert_ptr_null(signal_name(32));
	ck_assert_ptr_null(signal_name(SIGRTMIN));
	ck_assert_ptr_null(signal_name(65));
	ck_assert_ptr_null(signal_name(1 << 30));
}
END_TEST

START_TEST(test_format_rfc3339)
{
	char buf[32];

	format_rfc3339(0, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1970-01-01T00:00:00.000000Z");
	format_rfc3339(INT64_C(1795265345) * 1000000 + 123456, buf, sizeof(buf));
	ck_assert_str_eq(buf, "2026-11-21T12:49:05.123456Z");
	format_rfc3339(INT64_C(951782400) * 1000000 + 7, buf, sizeof(buf)); /* leap day */
	ck_assert_str_eq(buf, "2000-02-29T00:00:00.000007Z");
	format_rfc3339(-1, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.999999Z");
	format_rfc3339(-1000000, buf, sizeof(buf));
	ck_assert_str_eq(buf, "1969-12-31T23:59:59.000000Z");

	/* a short buffer is truncated, never overrun */
	char small[11];
	memset(small, 'X', sizeof(small));
	format_rfc3339(0, small, sizeof(small));
	ck_assert_str_eq(small, "1970-01-01");
}
END_TEST

START_TEST(test_format_size)
{
	static const struct {
		uint64_t bytes;
		const char *want;
	} cases[] = {
		{ 0, "0B" },
		{ 12, "12B" },
		{ 512, "512B" },
		{ 1023, "1023B" },
		{ 1024, "1.0K" },
		{ 1536, "1.5K" },
		{ 4096, "4.0K" },
		{ 340 * 1024, "340.0K" },
		{ 1048575, "1023.9K" }, /* truncated, not rounded up to 1024.0K */
		{ 1048576, "1.0M" },
		{ 1258291, "1.1M" }, /* 1.1999..M */
		{ 1258292, "1.2M" },
		{ UINT64_C(3650722201), "3.3G" }, /* 3.3999..G */
		{ UINT64_C(3650722202), "3.4G" },
		{ UINT64_C(3435973837), "3.2G" },
		{ UINT64_C(3758096384), "3.5G" },
		{ UINT64_C(32) << 30, "32.0G" },
		{ UINT64_C(2) << 40, "2.0T" },
		{ UINT64_C(1) << 50, "1.0P" },
		{ UINT64_C(1) << 60, "1.0E" },
		{ UINT64_MAX, "15.9E" },
	};
	char buf[16];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		format_size(cases[i].bytes, buf, sizeof(buf));
		ck_assert_msg(strcmp(buf, cases[i].want) == 0, "%llu: got %s, want %s",
			      (unsigned long long)cases[i].bytes, buf, cases[i].want);
	}
	char small[3];
	format_size(123456, small, sizeof(small));
	ck_assert_str_eq(small, "12");
}
END_TEST

/* "PATH (deleted)" as the kernel names a removed file: PATH's length. */
START_TEST(test_path_undeleted_len)
{
	bool d;
	ck_assert_uint_eq(path_undeleted_len("/usr/bin/x (deleted)", &d), 10);
	ck_assert(d);
	ck_assert_uint_eq(path_undeleted_len("/usr/bin/x", &d), 10);
	ck_assert(!d);
	/* the suffix alone is a name, not a deleted empty path */
	ck_assert_uint_eq(path_undeleted_len(" (deleted)", &d), 10);
	ck_assert(!d);
	ck_assert_uint_eq(path_undeleted_len("/a (deleted) b", &d), 14);
	ck_assert(!d);
	ck_assert_uint_eq(path_undeleted_len("", &d), 0);
	ck_assert(!d);
}
END_TEST

static Suite *util_suite(void)
{
	Suite *s = suite_create("util");
	TCase *io = tcase_create("io");
	TCase *fmt = tcase_create("format");

	tcase_add_checked_fixture(io, setup_tmp, teardown_tmp);
	tcase_add_test(io, test_write_all_and_pwrite_all);
	tcase_add_test(io, test_write_all_pipe_large);
	tcase_add_test(io, test_read_capped_truncation);
	tcase_add_test(io, test_read_empty_and_large);
	tcase_add_test(io, test_read_file_at_dirfd_and_errors);
	tcase_add_test(io, test_read_pipe_capped);
	tcase_add_test(io, test_mkdir_p);
	tcase_add_test(io, test_fsync_dir);
	suite_add_tcase(s, io);

	tcase_add_test(fmt, test_now_usec);
	tcase_add_test(fmt, test_signal_name);
	tcase_add_test(fmt, test_format_rfc3339);
	tcase_add_test(fmt, test_format_size);
	tcase_add_test(fmt, test_path_undeleted_len);
	suite_add_tcase(s, fmt);
	return s;
}

int main(void)
{
	return testutil_run(util_suite());
}
