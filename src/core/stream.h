/* Read the core once, from the kernel's pipe or socket, through one small reused
 * buffer: every byte goes to the zstd stream, the head (ELF header, program
 * headers, notes) is parsed as it passes, and the minicore takes its share. The
 * raw core is never materialized. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "core/minicore.h"

#define STREAM_BUF_SIZE  (1u << 20) /* the one read buffer */
#define STREAM_PIPE_SIZE (1u << 20) /* F_SETPIPE_SZ asked of the kernel's pipe */

struct zst_writer;

struct stream_opts {
	/* The core: first the bytes already read into memory (mortemd's pool),
	 * then mid_fd to its end (a spill file), then the bytes in post (read
	 * but not spilled), then whatever in_fd still has; either fd -1 when
	 * there is none. */
	const struct iovec *pre;
	size_t n_pre;
	int mid_fd;             /* not owned; read from its current offset */
	const struct iovec *post;
	size_t n_post;
	int in_fd;              /* not owned */
	struct zst_writer *zw;  /* NULL: read and discard (not owned) */
	int mini_fd;            /* -1: no minicore */
	uint64_t max_core_size; /* stop reading past this many bytes; 0 = no limit */
	uint64_t mini_max;      /* MiniCoreMax: bytes of the whole minicore file */
	uint64_t mini_stack_max;
	/* Secrets to scrub from the minicore (never from the full core): each
	 * entry one "KEY=VALUE" of the crashed process's environment, as read
	 * from /proc/PID/environ before the core streams (no NUL needed, the
	 * iov_len says where it ends). See minicore_scrub_add for what is
	 * overwritten and the caps; an entry over the caps is counted in
	 * mini_info.scrub_dropped. NULL/0: nothing scrubbed. Not owned, read
	 * only during stream_core. */
	const struct iovec *mini_scrub;
	size_t n_mini_scrub;
};

struct stream_result {
	uint64_t bytes;        /* bytes of core taken (prefix and in_fd) */
	uint64_t expected;     /* size the program headers announce; 0 when unknown */
	bool elf;              /* a complete ELF core head was parsed */
	bool too_large;        /* stopped at max_core_size */
	const char *not_core;  /* static: why the input is not a usable ELF core, or NULL */
	int signo;             /* si_signo of the first NT_SIGINFO note; 0 when none */
	bool mini;             /* the minicore was written */
	struct minicore_info mini_info;
	const char *mini_error; /* static: why there is no minicore */
	int mini_errno;         /* the errno behind mini_error when a write failed, else 0 */
};

/* Returns 0 with *res filled (also for garbage, empty or short input: those are
 * facts about the crash, not errors), or a negative errno when reading the input
 * or writing the compressed core failed; *res is filled as far as it got either
 * way. The minicore never costs the core: when it cannot be written (a full
 * disk, memory) it is given up, said in mini_error/mini_errno, and the stream
 * goes on; its size is bounded by mini_max whatever the core says. */
int stream_core(const struct stream_opts *o, struct stream_result *res);
