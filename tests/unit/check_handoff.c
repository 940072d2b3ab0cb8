/* handoff: mortem-collect's message reaches mortemd whole, with the pipe; a
 * daemon that does not answer in time or is not there lets the collector go
 * on by itself; malformed messages are refused and their fds closed. A
 * listener that is not root, or a socket directory that is not root's alone,
 * gets nothing at all. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>

#include "collect/handoff.h"
#include "testutil.h"
#include "base/util.h"

static char dir[] = "/tmp/check_handoff.XXXXXX";

static int listen_at(const char *d)
{
	char *p = handoff_socket_path(d, HANDOFF_SOCKET);
	ck_assert_ptr_nonnull(p);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, p);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	free(p);
	return fd;
}

static int wait_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, 5000);
}

START_TEST(test_message_arrives_whole)
{
	TESTUTIL_NEED_ROOT("needs root: the hand-off goes only to a root listener in a root-owned directory");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	int l = listen_at(dir);
	int pp[2];
	ck_assert_int_eq(pipe(pp), 0);
	const char *argv[] = { "123", "1000", "1000", "11", "1795000000", "18446744073709551615", "host name", "1", "3" };
	pid_t pid = fork();
	if (pid == 0) {
		/* the collector */
		int r = handoff_send(dir, 9, argv, pp[0], -1, 5000, NULL);
		_exit(r == 0 ? 0 : 10 - r);
	}
	int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ge(c, 0);
	ck_assert_int_gt(wait_readable(c), 0);
	struct handoff_msg m;
	ck_assert_int_eq(handoff_recv(c, &m), 0);
	ck_assert_int_eq(m.argc, 9);
	for (int i = 0; i < 9; i++)
		ck_assert_str_eq(m.argv[i], argv[i]);
	ck_assert_int_ge(m.core_fd, 0);
	ck_assert_int_eq(m.pidfd, -1);
	/* it is the same pipe */
	ck_assert_int_eq(write(pp[1], "core", 4), 4);
	char buf[8] = { 0 };
	ck_assert_int_eq((int)read(m.core_fd, buf, sizeof(buf)), 4);
	ck_assert_str_eq(buf, "core");
	ck_assert_int_eq(send(c, "R", 1, 0), 1);
	ck_assert_int_gt(wait_readable(c), 0);
	ck_assert_int_eq((int)recv(c, buf, 1, 0), 1);
	ck_assert_int_eq(buf[0], 'G');
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	handoff_msg_close(&m);
	ck_assert_int_eq(m.core_fd, -1);
	close(c);
	close(l);
}
END_TEST

START_TEST(test_no_daemon_or_no_answer)
{
	TESTUTIL_NEED_ROOT("needs root: the hand-off goes only to a root listener in a root-owned directory");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	int pp[2];
	ck_assert_int_eq(pipe(pp), 0);
	const char *argv[] = { "1", "0", "0", "6", "0", "0", "h" };
	/* nobody listens */
	int r = handoff_send(dir, 7, argv, pp[0], -1, 200, NULL);
	ck_assert(r == -ENOENT || r == -ECONNREFUSED);
	/* someone listens but never answers: bounded by the timeout */
	int l = listen_at(dir);
	int64_t t = now_usec();
	ck_assert_int_eq(handoff_send(dir, 7, argv, pp[0], -1, 300, NULL), -ETIMEDOUT);
	t = now_usec() - t;
	ck_assert_int_ge(t, 250000);
	ck_assert_int_lt(t, 3000000);
	/* too many arguments: refused before connecting */
	const char *many[HANDOFF_ARGS_MAX + 1];
	for (int i = 0; i <= HANDOFF_ARGS_MAX; i++)
		many[i] = "x";
	ck_assert_int_eq(handoff_send(dir, HANDOFF_ARGS_MAX + 1, many, pp[0], -1, 100, NULL), -E2BIG);
	close(l);
}
END_TEST

/* Raw messages as a hostile local root process might send them. */
static int send_raw(int s, const void *buf, size_t len, int fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (fd >= 0) {
		mh.msg_control = u.b;
		mh.msg_controllen = sizeof(u.b);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return (int)sendmsg(s, &mh, 0);
}

START_TEST(test_malformed_messages)
{
	int pp[2];
	ck_assert_int_eq(pipe(pp), 0);
	static const char good[] = "mortem-handoff 1\0" "1\0" "0\0" "0\0" "11\0" "0\0" "0\0" "h";
	struct {
		const char *buf;
		size_t len;
		bool fd;
	} cases[] = {
		{ "mortem-handoff 2\0" "1", 19, true },         /* wrong version */
		{ good, sizeof(good), false },                   /* no pipe */
		{ good, sizeof(good) - 1, true },                /* last argument not ended */
		{ "mortem-handoff 1\0a\0b\0c\0d\0e\0f\0g\0h\0i\0j", 37, true }, /* 10 arguments */
		{ "", 1, true },                                 /* empty */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int sv[2];
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
		ck_assert_int_ge(send_raw(sv[0], cases[i].buf, cases[i].len, cases[i].fd ? pp[0] : -1), 0);
		struct handoff_msg m;
		ck_assert_msg(handoff_recv(sv[1], &m) == -EBADMSG, "case %zu accepted", i);
		ck_assert_int_eq(m.core_fd, -1);
		close(sv[0]);
		close(sv[1]);
	}
	/* the good one passes */
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	ck_assert_int_ge(send_raw(sv[0], good, sizeof(good), pp[0]), 0);
	struct handoff_msg m;
	ck_assert_int_eq(handoff_recv(sv[1], &m), 0);
	ck_assert_int_eq(m.argc, 7);
	ck_assert_str_eq(m.argv[6], "h");
	handoff_msg_close(&m);
	/* nothing there yet */
	ck_assert_int_eq(handoff_recv(sv[1], &m), -EAGAIN);
}
END_TEST

START_TEST(test_socket_path_bounds)
{
	char *p = handoff_socket_path("/run/mortem", HANDOFF_COREDUMP_SOCKET);
	ck_assert_str_eq(p, "/run/mortem/coredump.socket");
	free(p);
	char longdir[200];
	memset(longdir, 'a', sizeof(longdir) - 1);
	longdir[0] = '/';
	longdir[sizeof(longdir) - 1] = '\0';
	ck_assert_ptr_null(handoff_socket_path(longdir, HANDOFF_SOCKET));
	ck_assert_ptr_null(handoff_socket_path(NULL, HANDOFF_SOCKET));
}
END_TEST

#define NOBODY 65534

/* The listener a local user would run: bound by this process, then listening
 * as uid NOBODY (SO_PEERCRED is what listen() saw). It reports on report_fd
 * how many bytes and fds it received, or -1 when nobody connected. */
static pid_t listener_as_nobody(const char *d, int report_fd, int ready_fd)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid > 0)
		return pid;
	char *p = handoff_socket_path(d, HANDOFF_SOCKET);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, p);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(p, 0777) < 0)
		_exit(2);
	if (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0 || getuid() != NOBODY)
		_exit(3);
	if (listen(fd, 8) < 0)
		_exit(4);
	if (write(ready_fd, "r", 1) != 1)
		_exit(5);
	long got[2] = { -1, 0 };
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	if (poll(&pf, 1, 3000) == 1) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		char buf[HANDOFF_MSG_MAX];
		union {
			char b[CMSG_SPACE(4 * sizeof(int))];
			struct cmsghdr a;
		} u;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };
		/* Whatever the collector would send, it has sent by now. */
		struct pollfd pc = { .fd = c, .events = POLLIN };
		(void)poll(&pc, 1, 1000);
		ssize_t n = recvmsg(c, &mh, MSG_DONTWAIT);
		got[0] = n > 0 ? n : 0;
		got[1] = n > 0 && CMSG_FIRSTHDR(&mh) ? 1 : 0;
		if (n > 0)
			(void)send(c, "R", 1, 0); /* and it would say yes */
	}
	if (write(report_fd, got, sizeof(got)) != (ssize_t)sizeof(got))
		_exit(6);
	_exit(0);
}

START_TEST(test_listener_not_root)
{
	TESTUTIL_NEED_ROOT("needs root: the hand-off goes only to a root listener in a root-owned directory");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	int rep[2], rdy[2], pp[2];
	ck_assert_int_eq(pipe(rep), 0);
	ck_assert_int_eq(pipe(rdy), 0);
	ck_assert_int_eq(pipe(pp), 0);
	pid_t pid = listener_as_nobody(dir, rep[1], rdy[1]);
	char c;
	ck_assert_int_gt(wait_readable(rdy[0]), 0);
	ck_assert_int_eq((int)read(rdy[0], &c, 1), 1);
	const char *argv[] = { "1", "0", "0", "11", "0", "0", "h" };
	char *why = NULL;
	ck_assert_int_eq(handoff_send(dir, 7, argv, pp[0], -1, 2000, &why), -EPERM);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, "refused: listener uid 65534") != NULL, "why: %s", why);
	free(why);
	long got[2];
	ck_assert_int_eq((int)read(rep[0], got, sizeof(got)), (int)sizeof(got));
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	/* it was connected to (that is how its uid is known) but got not a byte,
	 * and not the pipe */
	ck_assert_int_eq(got[0], 0);
	ck_assert_int_eq(got[1], 0);
}
END_TEST

START_TEST(test_dir_checks)
{
	TESTUTIL_NEED_ROOT("needs root: the hand-off goes only to a root listener in a root-owned directory");
	char *why = NULL;
	char sub[256], link[256], deep[300];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(handoff_dir_check(dir, &why), 0);
	ck_assert_int_eq(handoff_dir_check("/", NULL), 0);
	/* writable by others, by the group, sticky or not */
	static const unsigned modes[] = { 0777, 0770, 01777, 0722 };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		ck_assert_int_eq(chmod(dir, modes[i]), 0);
		ck_assert_int_eq(handoff_dir_check(dir, &why), -EPERM);
		ck_assert_msg(strstr(why, "writable by") != NULL, "mode %o: %s", modes[i], why);
	}
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(handoff_dir_check(dir, NULL), 0);
	/* owned by another user */
	ck_assert_int_eq(chown(dir, NOBODY, NOBODY), 0);
	ck_assert_int_eq(handoff_dir_check(dir, &why), -EPERM);
	ck_assert_msg(strstr(why, "owned by uid 65534") != NULL, "%s", why);
	/* a root-owned directory below a user's one: the user can swap it */
	snprintf(sub, sizeof(sub), "%s/run", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	ck_assert_int_eq(handoff_dir_check(sub, &why), -EPERM);
	ck_assert_msg(strstr(why, "owned by uid 65534") != NULL, "%s", why);
	ck_assert_int_eq(chown(dir, 0, 0), 0);
	ck_assert_int_eq(handoff_dir_check(sub, NULL), 0);
	/* ... or below a directory anyone may write in without the sticky bit */
	ck_assert_int_eq(chmod(dir, 0777), 0);
	ck_assert_int_eq(handoff_dir_check(sub, &why), -EPERM);
	ck_assert_int_eq(chmod(dir, 01777), 0);
	ck_assert_int_eq(handoff_dir_check(sub, NULL), 0); /* /tmp's case: root's entries stay */
	ck_assert_int_eq(chmod(dir, 0700), 0);
	/* a symlink, even to a good directory */
	snprintf(link, sizeof(link), "%s/link", dir);
	ck_assert_int_eq(symlink(sub, link), 0);
	ck_assert_int_eq(handoff_dir_check(link, &why), -EPERM);
	ck_assert_msg(strstr(why, "is a symlink") != NULL, "%s", why);
	/* a symlink above it is followed, and what it leads to is checked */
	snprintf(deep, sizeof(deep), "%s/link/.", dir);
	ck_assert_int_eq(handoff_dir_check(deep, NULL), 0);
	/* not a directory, missing, relative */
	snprintf(deep, sizeof(deep), "%s/file", dir);
	int fd = open(deep, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(handoff_dir_check(deep, &why), -EPERM);
	ck_assert_int_eq(handoff_path_check(deep, S_IFREG, NULL), 0);
	snprintf(deep, sizeof(deep), "%s/none", dir);
	ck_assert_int_eq(handoff_dir_check(deep, NULL), -ENOENT);
	ck_assert_int_eq(handoff_dir_check("tmp", NULL), -EINVAL);
	free(why);
}
END_TEST

/* A root listener in a directory others may write in: the collector does not
 * even connect (anyone could have bound that name first). */
START_TEST(test_bad_dir_not_connected)
{
	TESTUTIL_NEED_ROOT("needs root: the hand-off goes only to a root listener in a root-owned directory");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	int l = listen_at(dir);
	int pp[2];
	ck_assert_int_eq(pipe(pp), 0);
	ck_assert_int_eq(chmod(dir, 0777), 0);
	const char *argv[] = { "1", "0", "0", "11", "0", "0", "h" };
	char *why = NULL;
	ck_assert_int_eq(handoff_send(dir, 7, argv, pp[0], -1, 500, &why), -EPERM);
	ck_assert_msg(strstr(why, "refused: ") == why && strstr(why, "writable by others"), "%s", why);
	free(why);
	struct pollfd p = { .fd = l, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 100), 0); /* nobody connected */
	/* the same directory made root's alone: the hand-off goes ahead */
	ck_assert_int_eq(chmod(dir, 0700), 0);
	ck_assert_int_eq(handoff_send(dir, 7, argv, pp[0], -1, 200, NULL), -ETIMEDOUT);
	close(l);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("handoff");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_message_arrives_whole);
	tcase_add_test(tc, test_no_daemon_or_no_answer);
	tcase_add_test(tc, test_malformed_messages);
	tcase_add_test(tc, test_socket_path_bounds);
	tcase_add_test(tc, test_listener_not_root);
	tcase_add_test(tc, test_dir_checks);
	tcase_add_test(tc, test_bad_dir_not_connected);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
