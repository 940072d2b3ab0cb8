/* mortemd's two sockets, in [Daemon] SocketDirectory (default /run/mortem, 0700):
 *
 *   coredump.socket  the kernel's coredump socket (core_pattern "@@DIR/coredump.socket"
 *                    on Linux >= 6.17, "@DIR/coredump.socket" on 6.16)
 *   handoff.socket   mortem-collect's hand-off in pipe mode (SOCK_SEQPACKET)
 *
 * The hand-off: the collector connects and sends one message, "mortem-handoff 1"
 * then its positional arguments (%P %u %g %s %t %c %h [%d [%F]]), each ended by
 * a NUL, with SCM_RIGHTS [the core pipe, the pidfd if %F gave one]. mortemd
 * answers "R" once it has taken the crash in; the collector answers "G" and
 * exits without touching the pipe again. Without "R" within HandoffTimeout the
 * collector closes the connection and does the whole job itself; mortemd only
 * reads the pipe once it has "G", so the two never both read it.
 *
 * Trust: the core of any process, root's included, goes to whoever listens on
 * handoff.socket, so the collector hands it only to a listener it can trust:
 * the socket directory is root's alone (handoff_dir_check) and the process
 * that listens runs as uid 0 (SO_PEERCRED on the connected socket). Anything
 * else is refused and the collector does the job itself, saying why. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define HANDOFF_COREDUMP_SOCKET "coredump.socket"
#define HANDOFF_SOCKET "handoff.socket"
#define HANDOFF_MAGIC "mortem-handoff 1"
#define HANDOFF_MSG_MAX 8192  /* the whole message: magic + arguments */
#define HANDOFF_ARGS_MAX 9

/* "DIR/NAME" in a heap string; NULL when it does not fit in sun_path (107
 * bytes) or on ENOMEM. */
char *handoff_socket_path(const char *dir, const char *name);

/* Connect to a unix socket path (type SOCK_STREAM or SOCK_SEQPACKET); the fd or
 * a negative errno. */
int handoff_connect(const char *path, int type);

/* Whether path can be trusted as root's alone: absolute, not a symlink itself,
 * every directory from / down owned by root and not writable by group or
 * others (a sticky one is allowed above the last: nobody else can rename
 * root's entries out of it), and path itself owned by root, not writable by
 * group or others and of the type asked (S_IFDIR or S_IFREG; 0: any). 0 when
 * it can, -EPERM (not trusted), or another negative errno (-ENOENT: missing)
 * with *why (may be NULL) set to a heap string that says which part failed. */
int handoff_path_check(const char *path, unsigned type, char **why);

/* The same for a SocketDirectory: a directory only root can write in, so
 * nobody else can have bound handoff.socket or coredump.socket there. For
 * `mortem doctor` as well as for the collector. */
int handoff_dir_check(const char *dir, char **why);

/* mortem-collect's side: hand core_fd (and pidfd, or -1) to mortemd with the
 * arguments. 0 when mortemd took it (the caller must not read core_fd again),
 * or a negative errno (-ENOENT/-ECONNREFUSED: no mortemd; -ETIMEDOUT: no answer
 * within timeout_ms), after which the caller does the job itself. -EPERM: the
 * hand-off was refused (a socket directory that fails handoff_dir_check, or a
 * listener that is not uid 0) before anything was sent; *why (may be NULL)
 * then says why in a heap string ("refused: listener uid 1001"). */
int handoff_send(const char *socket_dir, int argc, const char *const *argv, int core_fd, int pidfd,
		 unsigned timeout_ms, char **why);

/* mortemd's side: one hand-off message. */
struct handoff_msg {
	char buf[HANDOFF_MSG_MAX + 1];
	const char *argv[HANDOFF_ARGS_MAX]; /* point into buf */
	int argc;
	int core_fd, pidfd;                  /* owned; -1 when absent */
};
/* Read the message from a connected SOCK_SEQPACKET fd (non-blocking). 0, or
 * -EAGAIN (not there yet), -EBADMSG (malformed: every fd that came is closed). */
int handoff_recv(int fd, struct handoff_msg *m);
void handoff_msg_close(struct handoff_msg *m);
