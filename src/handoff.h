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
 * reads the pipe once it has "G", so the two never both read it. */
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
