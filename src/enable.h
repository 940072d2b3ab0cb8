/* mortem enable / disable: point kernel.core_pattern at mortem-collect, and put
 * back what was there before.
 *
 *   ROOT/saved-core-pattern          what enable found (JSON, written atomically)
 *   SYSCTL_DIR/50-mortem.conf        the boot-time drop-in (not with --runtime)
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
#define ENABLE_DROPIN_NAME "50-mortem.conf"
#define ENABLE_SYSCTL_DIR "/etc/sysctl.d"
#define ENABLE_COLLECTOR LIBEXECDIR "/mortem-collect"
#define ENABLE_PROC_PATTERN "/proc/sys/kernel/core_pattern"
#define ENABLE_PROC_PIPE_LIMIT "/proc/sys/kernel/core_pipe_limit"

/* 1 when the kernel release (uname -r, "6.16.0-1-amd64") passes a pidfd for %F
 * (Linux 6.16 and later), 0 when older, -EINVAL when it cannot be parsed. */
int enable_kernel_has_pidfd(const char *release);

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

/* What enable found and what it wrote. */
struct enable_state {
	char *prev_pattern;    /* core_pattern before enable */
	char *prev_pipe_limit; /* core_pipe_limit before enable, as read */
	char *pattern;         /* the core_pattern enable wrote */
	char *dropin;          /* the drop-in enable wrote; NULL when none */
};

/* Write path atomically (temp file, fsync, rename, fsync of the directory). */
int enable_state_save(const char *path, const struct enable_state *s);
/* -ENOENT when missing, -EBADMSG when malformed. */
int enable_state_load(const char *path, struct enable_state *ret);
void enable_state_free(struct enable_state *s);

/* The drop-in's text for our pattern (heap string). */
char *enable_dropin_text(const char *pattern);

struct enable_opts {
	const char *root;      /* the store root: where the state lives; not owned */
	const char *collector; /* NULL: ENABLE_COLLECTOR */
	const char *config;    /* NULL: the default config, not named in the pattern */
	bool force;            /* replace another handler */
	bool runtime;          /* the running kernel only, no drop-in */
};

/* The verbs; they print their own messages and return an exit status. */
int enable_on(const struct enable_opts *o);
int enable_off(const struct enable_opts *o);
