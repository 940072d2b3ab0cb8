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
	uint64_t mini_max, mini_stack_max;
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
};

/* Returns 0 with *res filled (also for garbage, empty or short input: those are
 * facts about the crash, not errors), or a negative errno when reading the input
 * or writing the output failed; *res is filled as far as it got either way. */
int stream_core(const struct stream_opts *o, struct stream_result *res);
