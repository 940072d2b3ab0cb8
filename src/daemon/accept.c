/* mortemd's way in: the kernel's coredump socket (with the pidfd that says
 * the peer is a process dumping core, and the "@@" request/ack) and
 * mortem-collect's hand-off socket (root only, its message, "R", "G"). Each
 * core's /proc is captured here, at once, while the kernel holds the
 * process; then intake.c reads it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "base/util.h"
#include "collect/collect.h"
#include "collect/handoff.h"
#include "daemon/md.h"

/* The kernel's side of the coredump socket (linux/coredump.h, linux/pidfd.h:
 * newer than this system's headers). */
#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif
#define MD_COREDUMP_KERNEL (1ULL << 0)
#define MD_COREDUMP_WAIT   (1ULL << 3)
#define MD_PIDFD_INFO_COREDUMP (1ULL << 4)
#define MD_PIDFD_INFO_COREDUMP_SIGNAL (1ULL << 6)
#define MD_PIDFD_COREDUMPED  (1U << 0)
#define MD_PIDFD_COREDUMP_USER (1U << 2)
#define MD_PIDFD_COREDUMP_ROOT (1U << 3)

struct md_pidfd_info {
	uint64_t mask, cgroupid;
	uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
	int32_t exit_code;
	uint32_t coredump_mask, coredump_signal;
	uint64_t supported_mask;
};
#define MD_PIDFD_GET_INFO _IOWR(0xFF, 11, struct md_pidfd_info)

struct md_coredump_req { uint32_t size, size_ack; uint64_t mask; };
struct md_coredump_ack { uint32_t size, spare; uint64_t mask; };

/* What the pidfd says about the crashing process; -EPERM when it is not
 * dumping core (then the peer is not the kernel). */
static int accept_pidfd_info(int pidfd, struct md_pidfd_info *info)
{
	*info = (struct md_pidfd_info){ .mask = MD_PIDFD_INFO_COREDUMP };
	if (ioctl(pidfd, MD_PIDFD_GET_INFO, info) < 0)
		return -errno;
	if (!(info->mask & MD_PIDFD_INFO_COREDUMP) || !(info->coredump_mask & MD_PIDFD_COREDUMPED))
		return -EPERM;
	return 0;
}

static void accept_args_from_info(struct crash_args *a, const struct md_pidfd_info *info)
{
	struct utsname u;
	*a = (struct crash_args){ .uid = info->ruid, .gid = info->rgid, .dumpable = -1, .pidfd = -1 };
	a->pid = (pid_t)(info->tgid ? info->tgid : info->pid);
	if (info->mask & MD_PIDFD_INFO_COREDUMP_SIGNAL)
		a->signal = (int)info->coredump_signal;
	a->kernel_time = now_usec() / 1000000;
	if (info->coredump_mask & MD_PIDFD_COREDUMP_ROOT)
		a->dumpable = 2;
	else if (info->coredump_mask & MD_PIDFD_COREDUMP_USER)
		a->dumpable = 1;
	if (uname(&u) == 0)
		snprintf(a->hostname, sizeof(a->hostname), "%s", u.nodename);
}

/* "@@": the kernel asks first. Take the core from it and have it wait for
 * our close, so that /proc/PID stays until the pool has every byte. */
static int accept_request_ack(int fd)
{
	struct md_coredump_req req = { 0 };
	unsigned char skip[256];
	ssize_t n = recv(fd, &req, sizeof(req), MSG_WAITALL);
	/* A later kernel's request may be longer; not without bound. */
	if (n != (ssize_t)sizeof(req) || req.size < sizeof(req) || req.size > 4096)
		return -EPROTO;
	for (uint32_t left = req.size - (uint32_t)sizeof(req); left > 0;) {
		size_t k = left < sizeof(skip) ? left : sizeof(skip);
		if (recv(fd, skip, k, MSG_WAITALL) != (ssize_t)k)
			return -EPROTO;
		left -= (uint32_t)k;
	}
	if (!(req.mask & MD_COREDUMP_KERNEL) || req.size_ack < sizeof(struct md_coredump_ack))
		return -EPROTO;
	struct md_coredump_ack ack = { .size = sizeof(ack), .mask = MD_COREDUMP_KERNEL };
	if (req.mask & MD_COREDUMP_WAIT)
		ack.mask |= MD_COREDUMP_WAIT;
	if (send(fd, &ack, sizeof(ack), MSG_NOSIGNAL) != (ssize_t)sizeof(ack))
		return -errno;
	uint32_t mark = UINT32_MAX;
	if (recv(fd, &mark, sizeof(mark), MSG_WAITALL) != (ssize_t)sizeof(mark) || mark != 0)
		return -EPROTO;
	return 0;
}

/* The kernel connected: verify, capture, then start reading. */
bool accept_core(struct md *d)
{
	struct timeval tv = { .tv_sec = MD_HANDSHAKE_MS / 1000, .tv_usec = (MD_HANDSHAKE_MS % 1000) * 1000 };
	struct md_pidfd_info info;
	struct ucred cr;
	socklen_t len;
	int fd = accept4(d->lfd_core, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return false;
	struct md_crash *c = md_crash_new("socket");
	if (!c) {
		(void)close(fd);
		return true;
	}
	c->fd = fd;
	len = sizeof(c->pidfd);
	int r = getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &c->pidfd, &len) < 0 ? -errno : 0;
	if (r >= 0)
		r = accept_pidfd_info(c->pidfd, &info);
	if (r < 0) {
		len = sizeof(cr);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
			cr = (struct ucred){ .pid = 0, .uid = (uid_t)-1 };
		md_log(4, "coredump socket: peer pid %d uid %d is not a process dumping core (%s): rejected",
		       (int)cr.pid, (int)cr.uid, strerror(-r));
		d->rejected++;
		md_crash_free(d, c);
		return true;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	accept_args_from_info(&c->args, &info);
	/* Capture first: the kernel holds the process while its core is unread. */
	collect_capture(&d->cfg, &c->args, c->mode, &c->cap);
	c->captured = true;
	/* "@" starts with the core itself, "@@" with the kernel's request. */
	unsigned char magic[4];
	if (recv(fd, magic, sizeof(magic), MSG_PEEK | MSG_WAITALL) == 4 && memcmp(magic, "\177ELF", 4) != 0) {
		r = accept_request_ack(fd);
		if (r < 0) {
			md_log(4, "coredump socket: pid %d: request/ack failed (%s): taking what comes",
			       (int)c->args.pid, strerror(-r));
		}
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (md_add_conn(d, c) < 0) {
		md_log(3, "too many cores at once: pid %d not taken", (int)c->args.pid);
		collect_capture_abandon(&d->cfg, &c->cap);
		c->captured = false;
		md_crash_free(d, c);
		return true;
	}
	intake_begin_drain(d, c);
	return true;
}

bool accept_handoff(struct md *d)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	int fd = accept4(d->lfd_handoff, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return false;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0 || cr.uid != 0) {
		md_log(4, "hand-off socket: peer uid %d is not root: rejected", (int)cr.uid);
		d->rejected++;
		(void)close(fd);
		return true;
	}
	struct md_crash *c = md_crash_new("handoff");
	if (!c) {
		(void)close(fd);
		return true;
	}
	c->ctl = fd;
	c->state = MD_HANDOFF_MSG;
	if (md_add_conn(d, c) < 0) {
		md_crash_free(d, c);
		return true;
	}
	/* The message is usually there already: answer now, not a turn later. */
	accept_handoff_msg(d, c);
	return true;
}

/* The collector's message: arguments, the pipe, maybe a pidfd. */
void accept_handoff_msg(struct md *d, struct md_crash *c)
{
	struct handoff_msg m;
	struct md_pidfd_info info;
	int r = handoff_recv(c->ctl, &m);
	if (r == -EAGAIN)
		return;
	if (r < 0) {
		md_log(4, "hand-off: malformed message: rejected");
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	memcpy(c->argbuf, m.buf, sizeof(c->argbuf));
	const char *argv[HANDOFF_ARGS_MAX];
	for (int i = 0; i < m.argc; i++)
		argv[i] = c->argbuf + (m.argv[i] - m.buf);
	/* %F names a number in the collector's table, not ours: the fd came with
	 * the message. */
	crash_args_parse(m.argc > 8 ? 8 : m.argc, argv, &c->args);
	c->fd = m.core_fd;
	c->pidfd = m.pidfd;
	/* A pidfd that is dumping core is required, as on the coredump socket:
	 * without one, any root peer could name a live PID and have mortemd
	 * capture and record a process that did not crash. The collector that
	 * gets no "R" collects the crash itself (core_pattern without %F: an
	 * old kernel; `mortem enable` writes %F where the kernel has it). */
	if (c->pidfd < 0) {
		md_log(4, "hand-off for pid %d without a pidfd: rejected (the collector collects it itself)",
		       (int)c->args.pid);
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	r = accept_pidfd_info(c->pidfd, &info);
	if (r < 0 || (pid_t)(info.tgid ? info.tgid : info.pid) != c->args.pid) {
		md_log(4, "hand-off: pid %d is not the process dumping core: rejected", (int)c->args.pid);
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	collect_capture(&d->cfg, &c->args, c->mode, &c->cap);
	c->captured = true;
	if (send(c->ctl, "R", 1, MSG_NOSIGNAL) != 1) {
		collect_capture_abandon(&d->cfg, &c->cap);
		c->captured = false;
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	c->state = MD_HANDOFF_GO;
	c->t_progress = now_usec();
}

void accept_handoff_go(struct md *d, struct md_crash *c)
{
	char g = 0;
	ssize_t n = recv(c->ctl, &g, 1, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != 1 || g != 'G') {
		/* The collector gave up waiting and reads the pipe itself. */
		collect_capture_abandon(&d->cfg, &c->cap);
		c->captured = false;
		md_drop_conn(d, c);
		md_crash_free(d, c);
		return;
	}
	(void)close(c->ctl);
	c->ctl = -1;
	(void)fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
	(void)fcntl(c->fd, F_SETPIPE_SZ, 1 << 20);
	intake_begin_drain(d, c);
}
