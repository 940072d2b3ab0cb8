/* Small helpers shared by every stage: cleanup attributes, fd and file I/O. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Cleanup attributes for locals; hand ownership out with TAKE_PTR / TAKE_FD. */
static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		(void)close(*fd);
		errno = saved;
	}
}
#define _cleanup_free_  __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })
#define TAKE_FD(fd) ({ int _t = (fd); (fd) = -1; _t; })

/* Write all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);
int pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* Background work (after the process is released): nice 10 and the lowest
 * best-effort I/O priority; with idle, also SCHED_IDLE (only CPU time nobody
 * else wants). Best effort: failures are ignored. */
void lower_priority(bool idle);
/* Read up to cap bytes of a file into a NUL-terminated heap buffer. *truncated is
 * set when the file held more than cap bytes. */
int read_file_at(int dirfd, const char *path, size_t cap, char **ret, size_t *ret_len, bool *truncated);
int read_fd_capped(int fd, size_t cap, char **ret, size_t *ret_len, bool *truncated);
/* mkdir -p with the given mode for created components. */
int mkdir_p(const char *path, mode_t mode);
/* fsync a directory by path. */
int fsync_dir(const char *path);
/* Microseconds since the epoch (CLOCK_REALTIME). */
int64_t now_usec(void);
/* "SIGSEGV" for 11; NULL when unknown. */
const char *signal_name(int sig);
/* RFC 3339 UTC with microseconds: 2026-11-21T12:49:05.123456Z (buf >= 32). */
void format_rfc3339(int64_t usec, char *buf, size_t len);
/* Duration in the largest unit that divides it exactly: "30d", "10min", "90s". */
void format_duration(uint64_t sec, char *buf, size_t len);
/* Human size: 1.2G, 340K, 12B (buf >= 16). */
void format_size(uint64_t bytes, char *buf, size_t len);
/* The kernel names a file removed after it was mapped "PATH (deleted)" (in
 * /proc/PID/maps and in a core's NT_FILE): the length of PATH when path ends
 * so, else strlen(path); *deleted says which. */
size_t path_undeleted_len(const char *path, bool *deleted);
