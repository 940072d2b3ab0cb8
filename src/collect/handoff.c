/* The hand-off between mortem-collect and mortemd: see handoff.h. */
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "collect/handoff.h"
#include "base/util.h"

char *handoff_socket_path(const char *dir, const char *name)
{
	char *p = NULL;
	if (!dir || asprintf(&p, "%s/%s", dir, name) < 0)
		return NULL;
	if (strlen(p) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		free(p);
		return NULL;
	}
	return p;
}

int handoff_connect(const char *path, int type)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	return fd;
}

static int handoff_why(char **why, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int handoff_why(char **why, int r, const char *fmt, ...)
{
	va_list ap;
	if (why) {
		free(*why);
		*why = NULL;
		va_start(ap, fmt);
		if (vasprintf(why, fmt, ap) < 0)
			*why = NULL;
		va_end(ap);
	}
	return r;
}

/* One component: owned by root, no symlink, not writable by group or others
 * (sticky allowed when not last). */
static int handoff_component_check(const char *p, bool last, unsigned type, char **why)
{
	struct stat st;

	if (lstat(p, &st) < 0)
		return handoff_why(why, -errno, "%s: %s", p, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return handoff_why(why, -EPERM, "%s is a symlink", p);
	if (st.st_uid != 0)
		return handoff_why(why, -EPERM, "%s is owned by uid %u, not root", p, (unsigned)st.st_uid);
	if (!last && !S_ISDIR(st.st_mode))
		return handoff_why(why, -ENOTDIR, "%s is not a directory", p);
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && (last || !(st.st_mode & S_ISVTX)))
		return handoff_why(why, -EPERM, "%s is writable by %s (mode %04o)", p,
				   (st.st_mode & S_IWOTH) ? "others" : "its group", (unsigned)(st.st_mode & 07777));
	if (last && type && (st.st_mode & S_IFMT) != type)
		return handoff_why(why, -EPERM, "%s is not a %s", p, type == S_IFDIR ? "directory" : "regular file");
	return 0;
}

int handoff_path_check(const char *path, unsigned type, char **why)
{
	char real[PATH_MAX];
	struct stat st;

	if (!path || path[0] != '/')
		return handoff_why(why, -EINVAL, "%s is not an absolute path", path ? path : "(none)");
	/* The last component as named: a symlink there is refused, not followed. */
	if (lstat(path, &st) < 0)
		return handoff_why(why, -errno, "%s: %s", path, strerror(errno));
	if (S_ISLNK(st.st_mode))
		return handoff_why(why, -EPERM, "%s is a symlink", path);
	/* Symlinks above it (/var/run -> /run) are resolved; what they lead to is
	 * checked component by component. */
	if (!realpath(path, real))
		return handoff_why(why, -errno, "%s: %s", path, strerror(errno));
	if (strcmp(real, "/") == 0)
		return handoff_component_check("/", true, type, why);
	int r = handoff_component_check("/", false, 0, why);
	for (char *p = real + 1; r >= 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		r = handoff_component_check(real, c == '\0', type, why);
		*p = c;
		if (c == '\0')
			break;
	}
	return r;
}

int handoff_dir_check(const char *dir, char **why)
{
	return handoff_path_check(dir, S_IFDIR, why);
}

/* Wait for one byte, at most timeout_ms; -ETIMEDOUT, -EPIPE on EOF. */
static int handoff_wait_byte(int fd, char want, unsigned timeout_ms)
{
	int64_t deadline = now_usec() + (int64_t)timeout_ms * 1000;
	for (;;) {
		int64_t left = deadline - now_usec();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int n = poll(&p, 1, (int)((left + 999) / 1000));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ETIMEDOUT;
		char c;
		ssize_t k = recv(fd, &c, 1, MSG_DONTWAIT);
		if (k < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			return -EPIPE;
		return c == want ? 0 : -EPROTO;
	}
}

int handoff_send(const char *socket_dir, int argc, const char *const *argv, int core_fd, int pidfd,
		 unsigned timeout_ms, char **why)
{
	_cleanup_free_ char *path = handoff_socket_path(socket_dir, HANDOFF_SOCKET);
	char msg[HANDOFF_MSG_MAX];
	size_t len = 0;
	int r;

	if (!path)
		return -ENAMETOOLONG;
	if (argc < 0 || argc > HANDOFF_ARGS_MAX)
		return -E2BIG;
	r = snprintf(msg, sizeof(msg), "%s", HANDOFF_MAGIC);
	len = (size_t)r + 1;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (len + n > sizeof(msg))
			return -E2BIG;
		memcpy(msg + len, argv[i], n);
		len += n;
	}

	/* Only root's directory and root's listener get the core. */
	_cleanup_free_ char *dir_why = NULL;
	r = handoff_dir_check(socket_dir, &dir_why);
	if (r == -ENOENT)
		return r; /* no directory, no mortemd: nothing to refuse */
	if (r < 0)
		return handoff_why(why, -EPERM, "refused: %s", dir_why ? dir_why : strerror(-r));
	_cleanup_close_ int fd = handoff_connect(path, SOCK_SEQPACKET);
	if (fd < 0)
		return fd;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0)
		return handoff_why(why, -EPERM, "refused: no credentials of the listener: %s", strerror(errno));
	if (cred.uid != 0)
		return handoff_why(why, -EPERM, "refused: listener uid %u (pid %d), not root", (unsigned)cred.uid,
				   (int)cred.pid);
	int fds[2] = { core_fd, pidfd };
	size_t nfds = pidfd >= 0 ? 2 : 1;
	union {
		char buf[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr align;
	} u;
	memset(&u, 0, sizeof(u));
	struct iovec iov = { .iov_base = msg, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			     .msg_controllen = CMSG_SPACE(nfds * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
	memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	if (sendmsg(fd, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	r = handoff_wait_byte(fd, 'R', timeout_ms);
	if (r < 0)
		return r;
	/* From here on the core is mortemd's. */
	if (send(fd, "G", 1, MSG_NOSIGNAL) != 1)
		return -errno;
	return 0;
}

int handoff_recv(int fd, struct handoff_msg *m)
{
	union {
		char buf[CMSG_SPACE(4 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { .iov_base = m->buf, .iov_len = sizeof(m->buf) - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	ssize_t n;

	memset(m->buf, 0, sizeof(m->buf));
	m->argc = 0;
	m->core_fd = m->pidfd = -1;
	n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	/* Take every fd that came, so none leaks, whatever else is wrong. */
	int got[4], ngot = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k && ngot < 4; i++)
			memcpy(&got[ngot++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
	}
	if (ngot >= 1)
		m->core_fd = got[0];
	if (ngot >= 2)
		m->pidfd = got[1];
	for (int i = 2; i < ngot; i++)
		(void)close(got[i]);
	if (n == 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || m->core_fd < 0)
		goto bad;
	size_t magic = strlen(HANDOFF_MAGIC) + 1;
	if ((size_t)n < magic || memcmp(m->buf, HANDOFF_MAGIC, magic) != 0 || m->buf[n - 1] != '\0')
		goto bad;
	for (size_t off = magic; off < (size_t)n;) {
		if (m->argc >= HANDOFF_ARGS_MAX)
			goto bad;
		m->argv[m->argc++] = m->buf + off;
		off += strlen(m->buf + off) + 1;
	}
	return 0;
bad:
	handoff_msg_close(m);
	return -EBADMSG;
}

void handoff_msg_close(struct handoff_msg *m)
{
	if (m->core_fd >= 0)
		(void)close(m->core_fd);
	if (m->pidfd >= 0)
		(void)close(m->pidfd);
	m->core_fd = m->pidfd = -1;
}
