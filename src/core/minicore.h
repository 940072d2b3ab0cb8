/* The minicore: a small valid ELF core kept on the side while the full core
 * streams past. It holds the notes, each thread's stack from its stack pointer
 * (minus the red zone) upwards, the first page of every file-backed segment (ELF
 * headers, build-id notes) and the writable data of mapped files (the dynamic
 * linker's r_debug and link maps). gdb and libdwfl read it like any core. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MINICORE_RANGES_MAX  8192        /* memory ranges kept */
#define MINICORE_RED_ZONE    128         /* bytes below SP the ABI lets a leaf use */
#define MINICORE_DATA_SEG_MAX (256u << 10) /* bytes kept of one writable file-backed segment */
#define MINICORE_VDSO_MAX    (64u << 10)  /* bytes kept of the vDSO */

/* The minicore's own note, after the copied ones: name "MORTEM", type
 * MINICORE_NT_LAYOUT, desc = one {vaddr, memsz, p_flags} (3 x u64) per PT_LOAD of
 * the original core, in its order: the address-space layout. */
#define MINICORE_NOTE_NAME  "MORTEM"
#define MINICORE_NT_LAYOUT  0x4d4c /* "ML" */

struct minicore;

struct minicore_info {
	uint64_t size;          /* bytes of the minicore file */
	uint64_t kept;          /* bytes of memory kept */
	unsigned threads;       /* NT_PRSTATUS notes seen */
	unsigned stacks;        /* threads whose stack was kept */
	unsigned ranges;        /* PT_LOAD entries written */
	unsigned missing;       /* ranges the core ended before */
	bool capped;            /* a size or count cap was reached */
	const char *cap_reason; /* static: which cap */
};

/* fd: where to write (not owned). max_total: bytes of memory kept in all;
 * max_stack: bytes per thread stack. */
int minicore_new(int fd, uint64_t max_total, uint64_t max_stack, struct minicore **ret);
/* Plan what to keep from a complete head (see elfcore_head_need) and write the
 * ELF header, program headers and notes. */
int minicore_plan(struct minicore *m, const unsigned char *head, size_t head_len);
/* Copy what was planned out of core bytes [off, off+len). Calls must come in
 * increasing off order (the order of the pipe). */
int minicore_feed(struct minicore *m, uint64_t off, const void *buf, size_t len);
/* Record how much of the plan was filled; after a short core the missing
 * ranges read as zeros and are counted in info->missing. */
int minicore_finish(struct minicore *m, struct minicore_info *info);
void minicore_free(struct minicore *m);
