/* mortem enable / disable: point kernel.core_pattern at mortem-collect (pipe
 * mode) or at mortemd's coredump socket (socket mode), and put back what was
 * there before.
 *
 *   STATE_DIR/saved-core-pattern     what enable found (JSON, written atomically)
 *   SYSCTL_DIR/50-mortem.conf        the boot-time drop-in (not with --runtime)
 *
 * Trust: disable and `mortem handover` (run with full privileges by
 * mortemd.service) write into kernel.core_pattern, and the kernel runs what a
 * pipe pattern names as full root. So the saved state lives where only root
 * outside mortem's units can write (STATE_DIR, default /var/lib/mortem-state:
 * mortemd and mortem-vacuum run with ProtectSystem=strict and may write only
 * /var/lib/mortem and /run/mortem), and every pattern is checked before it is
 * written (enable_pattern_check, enable_state_check): the previous pattern is
 * taken as is only from a state file that is root's alone; else, and for what
 * mortem itself writes, only the kernel's plain file default ("core",
 * "core.%p") or mortem's own collector or socket, root's alone too. A state
 * that fails is refused with an error and core_pattern is left as it is.
 *
 * In socket mode enable also keeps the pipe pattern (the fallback): the boot
 * drop-in sets it, and mortemd.service switches the kernel between the two
 * with `mortem handover socket|pipe` as mortemd starts and stops, so that no
 * crash is lost while mortemd is down.
 *
 * The pure parts (pattern building and parsing, the kernel version test, the
 * saved-state file and the drop-in text) are separate so the unit suite can
 * check them without touching the kernel. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define ENABLE_PATTERN_MAX 127          /* core_pattern: CORENAME_MAX_SIZE 128 with the NUL */
#define ENABLE_PIPE_LIMIT "2147483647"  /* core_pipe_limit: wait for the collector, skip nothing */
#define ENABLE_STATE_NAME "saved-core-pattern"
#define ENABLE_STATE_DIR LOCALSTATEDIR "/lib/mortem-state" /* MORTEM_STATE_DIR for tests */
#define ENABLE_DROPIN_NAME "50-mortem.conf"
#define ENABLE_SYSCTL_DIR "/etc/sysctl.d"
#define ENABLE_COLLECTOR LIBEXECDIR "/mortem-collect"
#define ENABLE_PROC_PATTERN "/proc/sys/kernel/core_pattern"
#define ENABLE_PROC_PIPE_LIMIT "/proc/sys/kernel/core_pipe_limit"
#define ENABLE_PROC_SUID_DUMPABLE "/proc/sys/fs/suid_dumpable"
#define ENABLE_SUID_DUMPABLE "2"        /* as systemd's 50-coredump.conf: privileged processes dump to the handler */
#define ENABLE_PROC_NET_UNIX "/proc/net/unix"
#define ENABLE_SUN_PATH_MAX 107         /* bytes of a socket path: sun_path[108] with the NUL */

/* What enable points the kernel at. */
enum enable_mode {
	ENABLE_MODE_AUTO,   /* the socket when the kernel has it and mortemd listens, else the pipe */
	ENABLE_MODE_SOCKET, /* mortemd's coredump socket, "@@" on Linux >= 6.17, "@" on 6.16 */
	ENABLE_MODE_PIPE,   /* mortem-collect, which hands off to mortemd by itself when it runs */
};

/* 1 when the kernel release (uname -r, "6.16.0-1-amd64") passes a pidfd for %F
 * (Linux 6.16 and later), 0 when older, -EINVAL when it cannot be parsed. */
int enable_kernel_has_pidfd(const char *release);

/* The coredump socket of the kernel release: 2 when it has "@@" (the
 * request/ack protocol, Linux 6.17 and later), 1 when only "@" (6.16), 0 when
 * neither, -EINVAL when the release cannot be parsed. */
int enable_kernel_socket_mode(const char *release);

/* "@@SOCKET_DIR/coredump.socket" (request) or "@SOCKET_DIR/coredump.socket" in
 * a heap string; trailing slashes of socket_dir are dropped. -EINVAL unless
 * socket_dir is absolute, without white space, control characters, '%' or a
 * ".." component (the kernel refuses those); -ENAMETOOLONG when the socket path
 * does not fit in sun_path (ENABLE_SUN_PATH_MAX bytes). */
int enable_socket_pattern(const char *socket_dir, bool request, char **ret);

/* An "@" or "@@" pattern naming a socket file called coredump.socket: mortemd's. */
bool enable_pattern_is_mortem_socket(const char *pattern);

/* The socket path of an "@" or "@@" pattern (points into pattern); NULL for
 * other patterns. */
const char *enable_pattern_socket_path(const char *pattern);

/* 1 when some process listens on the unix socket bound to path (a line of
 * /proc/net/unix with that path, the listening flag and state 01), 0 when
 * none does, negative errno when the table cannot be read. It does not
 * connect: mortemd would log a peer that sends nothing. Repeated slashes do
 * not count. Only sockets of this network namespace are listed. */
/* The same, looked for in our network namespace's table first, then in the
 * table of each root "mortemd" of our user namespace (mortemd.service has a
 * network namespace of its own). */
int enable_socket_listening(const char *path);
/* The same on another copy of the table (for tests). */
int enable_socket_listening_in(const char *table, const char *path);

/* "|COLLECTOR [-c CONFIG] %P %u %g %s %t %c %h %d[ %F]" in a heap string.
 * config may be NULL (the default file). Paths must be absolute and hold no
 * white space or '%' (the kernel splits on spaces and expands '%'): -EINVAL.
 * -ENAMETOOLONG when the pattern would not fit in ENABLE_PATTERN_MAX. */
int enable_pattern_build(const char *collector, const char *config, bool pidfd, char **ret);

/* Split a pipe pattern: the program (first word after '|') and, when the next
 * word is "-c", the config path (else *ret_config = NULL). -ENOENT when the
 * pattern is not a pipe. */
int enable_pattern_parse(const char *pattern, char **ret_program, char **ret_config);

/* The pattern pipes to a program named mortem-collect. */
bool enable_pattern_is_mortem(const char *pattern);
/* Either of mortem's patterns: the pipe or the socket. */
bool enable_pattern_is_ours(const char *pattern);

/* A plain file pattern as the kernel's default: "core", "core.%p"; no
 * pipe, no socket, no '/' (so no directory of anyone's choosing). */
bool enable_pattern_is_plain(const char *pattern);

/* Whether pattern may go into core_pattern on mortem's word alone: a plain
 * file pattern (enable_pattern_is_plain), or mortem's own: a pipe to a
 * program named mortem-collect with exactly enable_pattern_build's arguments,
 * the program and its -c config root's alone (handoff_path_check), or "@"/"@@"
 * and a coredump.socket in a directory that is root's alone
 * (handoff_dir_check). 0, or -EPERM with *why (may be NULL) in a heap string. */
int enable_pattern_check(const char *pattern, char **why);

/* What enable found and what it wrote. */
struct enable_state {
	char *prev_pattern;    /* core_pattern before enable */
	char *prev_pipe_limit; /* core_pipe_limit before enable, as read */
	char *prev_suid_dumpable; /* fs.suid_dumpable before enable; NULL in a state from before it was kept */
	char *pattern;         /* the core_pattern enable wrote */
	char *dropin;          /* the drop-in enable wrote; NULL when none */
	char *fallback;        /* socket mode: the pipe pattern for while mortemd is down; else NULL */
};

/* Write path atomically (temp file, fsync, rename, fsync of the directory). */
int enable_state_save(const char *path, const struct enable_state *s);
/* -ENOENT when missing, -EBADMSG when malformed. */
int enable_state_load(const char *path, struct enable_state *ret);
void enable_state_free(struct enable_state *s);

/* Where enable keeps its state: STATE_DIR/saved-core-pattern (heap string;
 * NULL on ENOMEM). `mortem doctor` should read it there too. */
char *enable_state_path(void);

/* Whether a loaded state may be acted on. trusted: it was read from
 * enable_state_path() and that file is root's alone (handoff_path_check);
 * then its previous pattern is what root saved and is taken as is, else it
 * must pass enable_pattern_check. Always: the pattern and the fallback are
 * mortem's, the pipe limit a number, fs.suid_dumpable 0, 1 or 2, and (when
 * not trusted) the drop-in is dropin_path or none. 0, or -EPERM with *why. */
int enable_state_check(const struct enable_state *s, bool trusted, const char *dropin_path, char **why);

/* The drop-in's text for our pattern, pipe or socket (heap string). With a
 * fallback (socket mode), the drop-in sets the fallback: the kernel pipes to
 * mortem-collect from boot until mortemd.service hands it the socket. */
char *enable_dropin_text(const char *pattern, const char *fallback);

struct enable_opts {
	const char *root;      /* the store root: where the state lives; not owned */
	const char *collector; /* NULL: ENABLE_COLLECTOR */
	const char *config;    /* NULL: the default config, not named in the pattern */
	const char *socket_dir; /* [Daemon] SocketDirectory=; not owned */
	enum enable_mode mode;
	bool force;            /* replace another handler */
	bool runtime;          /* the running kernel only, no drop-in */
};

/* The verbs; they print their own messages and return an exit status. */
int enable_on(const struct enable_opts *o);
int enable_off(const struct enable_opts *o);
/* mortem handover socket|pipe, run by mortemd.service as mortemd starts and
 * stops: when enable chose the socket mode, point the kernel at mortemd's
 * socket (to_socket: only once it listens) or back at the fallback pipe.
 * Nothing to do (0) in pipe mode, when not enabled, or when somebody else has
 * changed core_pattern since. */
int enable_handover(const struct enable_opts *o, bool to_socket);
