/* libFuzzer harness for mortemd's hand-off message parser (collect/handoff.c):
 * the input's first byte says how many descriptors travel with the message
 * (0 to 3, as SCM_RIGHTS), the rest is the message, sent on a fresh
 * SOCK_SEQPACKET pair and read by handoff_recv. A message taken has at most
 * HANDOFF_ARGS_MAX arguments, each inside the buffer; every descriptor that
 * came is closed by handoff_msg_close or by the refusal (no leak across
 * inputs). */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "collect/handoff.h"
#include "fuzzutil.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (size == 0)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
		abort();
	size_t nfd = data[0] % 4;
	int fds[3];
	for (size_t i = 0; i < nfd; i++)
		if ((fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
			abort();
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 3)];
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { (void *)(data + 1), size - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfd > 0) {
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfd);
	}
	if (sendmsg(sv[0], &mh, MSG_NOSIGNAL) < 0 && errno != EMSGSIZE)
		abort();
	for (size_t i = 0; i < nfd; i++)
		close(fds[i]);
	close(sv[0]);

	struct handoff_msg *m = calloc(1, sizeof(*m));
	if (!m)
		abort();
	if (handoff_recv(sv[1], m) == 0) {
		if (m->argc < 0 || m->argc > HANDOFF_ARGS_MAX)
			abort();
		for (int i = 0; i < m->argc; i++) {
			if (m->argv[i] < m->buf || m->argv[i] > m->buf + HANDOFF_MSG_MAX)
				abort();
			(void)strlen(m->argv[i]);
		}
		handoff_msg_close(m);
	}
	free(m);
	close(sv[1]);
	fuzz_fd_check();
	return 0;
}
