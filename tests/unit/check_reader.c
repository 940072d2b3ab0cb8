/* reader: jobs on reader threads (jobq) fill buffers from a non-blocking
 * socket or pipe that a slower writer feeds: every byte arrives in order, a
 * full buffer and an idle stream come back as READ_MORE with what they got,
 * the end as READ_EOF, and a bad descriptor with its error. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "daemon/reader.h"
#include "testutil.h"

#define BUF (1u << 20)
#define TOTAL (3 * (size_t)BUF + 4321)

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 131 + i / 4099);
}

/* A child writes TOTAL bytes to fd in odd pieces, pausing now and then, and exits. */
static pid_t writer(int fd)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	static unsigned char b[70001];
	for (size_t off = 0; off < TOTAL;) {
		size_t n = TOTAL - off < sizeof(b) ? TOTAL - off : sizeof(b);
		for (size_t i = 0; i < n; i++)
			b[i] = pattern(off + i);
		for (size_t k = 0; k < n;) {
			ssize_t w = write(fd, b + k, n - k);
			if (w <= 0)
				_exit(1);
			k += (size_t)w;
		}
		off += n;
		if ((off / sizeof(b)) % 7 == 0)
			usleep(30000); /* longer than READ_IDLE_MS: an idle return */
	}
	_exit(0);
}

static struct read_job *run_one(struct jobq *q, struct read_job *j)
{
	jobq_submit(q, &j->q);
	for (;;) {
		struct pollfd p = { .fd = q->efd, .events = POLLIN };
		ck_assert_int_eq(poll(&p, 1, 10000), 1);
		struct jobq_item *done = jobq_done(q);
		if (!done)
			continue;
		ck_assert_ptr_null(done->next);
		ck_assert_ptr_eq(read_job_of(done), j);
		return j;
	}
}

/* Read the writer's stream through jobs into one buffer; returns the bytes. */
static size_t read_all(struct jobq *q, int rd, unsigned char *all, unsigned *idle_returns)
{
	size_t got = 0;
	*idle_returns = 0;
	for (;;) {
		ck_assert_uint_lt(got, TOTAL + BUF);
		struct read_job j = { .fd = rd, .buf = all + got, .room = BUF };
		run_one(q, &j);
		ck_assert_uint_le(j.got, BUF);
		got += j.got;
		if (j.end == READ_EOF)
			return got;
		ck_assert_int_eq(j.end, READ_MORE);
		if (j.got < BUF) {
			(*idle_returns)++;
			/* the loop would poll the descriptor now */
			struct pollfd p = { .fd = rd, .events = POLLIN };
			ck_assert_int_eq(poll(&p, 1, 10000), 1);
		}
	}
}

static void check_stream(int rd, int wr)
{
	struct jobq q;
	ck_assert_int_ge(jobq_start(&q, 2, read_job_run, "check-read"), 0);
	/* Both threads carry the name (top -H, perf). */
	ck_assert_int_eq(system("test $(grep -lx check-read /proc/$PPID/task/*/comm | wc -l) = 2"), 0);
	ck_assert_int_eq(fcntl(rd, F_SETFL, fcntl(rd, F_GETFL) | O_NONBLOCK), 0);
	pid_t pid = writer(wr);
	close(wr);
	unsigned char *all = malloc(TOTAL + BUF);
	ck_assert_ptr_nonnull(all);
	unsigned idle = 0;
	size_t got = read_all(&q, rd, all, &idle);
	ck_assert_uint_eq(got, TOTAL);
	for (size_t i = 0; i < TOTAL; i++)
		if (all[i] != pattern(i))
			ck_abort_msg("byte %zu differs", i);
	ck_assert_uint_ge(idle, 1); /* the writer's pauses came back as idle */
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	jobq_stop(&q);
	free(all);
	close(rd);
}

START_TEST(test_reader_socket)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	check_stream(sv[0], sv[1]);
}
END_TEST

START_TEST(test_reader_pipe)
{
	int pp[2];
	ck_assert_int_eq(pipe2(pp, O_CLOEXEC), 0);
	check_stream(pp[0], pp[1]);
}
END_TEST

/* Nothing comes: the job gives up after READ_IDLE_MS with nothing; a few
 * bytes then nothing: it returns them, more may come; a bad fd: its error. */
START_TEST(test_reader_idle_and_errors)
{
	struct jobq q;
	int sv[2];
	unsigned char buf[4096];
	ck_assert_int_ge(jobq_start(&q, 1, read_job_run, NULL), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	struct read_job j = { .fd = sv[0], .buf = buf, .room = sizeof(buf) };
	run_one(&q, &j);
	ck_assert_uint_eq(j.got, 0);
	ck_assert_int_eq(j.end, READ_MORE);
	ck_assert_int_eq(write(sv[1], "hello", 5), 5);
	j = (struct read_job){ .fd = sv[0], .buf = buf, .room = sizeof(buf) };
	run_one(&q, &j);
	ck_assert_uint_eq(j.got, 5);
	ck_assert_int_eq(j.end, READ_MORE);
	ck_assert(memcmp(buf, "hello", 5) == 0);
	/* the last bytes and the end in one job */
	ck_assert_int_eq(write(sv[1], "bye", 3), 3);
	close(sv[1]);
	j = (struct read_job){ .fd = sv[0], .buf = buf, .room = sizeof(buf) };
	run_one(&q, &j);
	ck_assert_uint_eq(j.got, 3);
	ck_assert_int_eq(j.end, READ_EOF);
	j = (struct read_job){ .fd = -1, .buf = buf, .room = sizeof(buf) };
	run_one(&q, &j);
	ck_assert_int_eq(j.end, -EBADF);
	close(sv[0]);
	jobq_stop(&q);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("reader");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_reader_socket);
	tcase_add_test(tc, test_reader_pipe);
	tcase_add_test(tc, test_reader_idle_and_errors);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
