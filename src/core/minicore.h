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
#define MINICORE_SCRUB_MAX   512          /* strings scrubbed per minicore */
#define MINICORE_SCRUB_BYTES (128u << 10) /* their total size */
#define MINICORE_SCRUB_FILL  '*'          /* what a scrubbed value reads as */

/* The minicore's own note, after the copied ones: name "MORTEM", type
 * MINICORE_NT_LAYOUT, desc = one {vaddr, memsz, p_flags} (3 x u64) per PT_LOAD of
 * the original core, in its order: the address-space layout. */
#define MINICORE_NOTE_NAME  "MORTEM"
#define MINICORE_NT_LAYOUT  0x4d4c /* "ML" */

struct minicore;

struct minicore_info {
	uint64_t size;          /* bytes of the minicore file, never over max_total */
	uint64_t notes;         /* bytes of the original core's notes copied */
	uint64_t kept;          /* bytes of memory kept */
	unsigned threads;       /* NT_PRSTATUS notes seen */
	unsigned stacks;        /* threads whose stack was kept */
	unsigned ranges;        /* PT_LOAD entries written */
	unsigned missing;       /* ranges the core ended before */
	bool capped;            /* a size or count cap was reached */
	const char *cap_reason; /* static: which cap (the first one reached) */
	uint64_t plan_steps;    /* lookups and scans of planning: O(n log n) in the
				 * program headers and NT_FILE entries, for tests */
	unsigned scrubbed;      /* values overwritten (see minicore_scrub_add) */
	unsigned scrub_dropped; /* strings not taken: MINICORE_SCRUB_MAX/_BYTES */
};

/* fd: where to write (not owned). max_total: bytes of the whole minicore file
 * (ELF header, program headers, notes and memory; MiniCoreMax), which is
 * never exceeded: the memory is planned within what the headers and notes
 * leave, then the notes are cut at a note boundary, then the layout note is
 * dropped; each is recorded in cap_reason. max_stack: bytes per thread stack. */
int minicore_new(int fd, uint64_t max_total, uint64_t max_stack, struct minicore **ret);
/* Secrets out of the minicore: the memory it keeps (thread stacks above all)
 * holds the process's environment strings, and a minicore is kept long and
 * meant to be passed around. The full core is never changed: it is the
 * evidence.
 *
 * kv is one "KEY=VALUE" string of len bytes (no NUL needed; the first '='
 * splits it; bytes after it are the value, which may contain '='), as one
 * entry of /proc/PID/environ. Every occurrence of the bytes KEY=VALUE followed
 * by a NUL in the kept memory has its VALUE bytes overwritten with
 * MINICORE_SCRUB_FILL, the same length, before it is written; KEY= stays, so
 * the record still shows which variable was there. An occurrence not followed
 * by a NUL (the value continues, or it is some other string) is left alone;
 * one preceded by other bytes ("XKEY=VALUE\0") is scrubbed too. Occurrences
 * that straddle two minicore_feed calls are found (in a core whose segments
 * do not share file bytes, as the kernel writes them; a hand-made core whose
 * PT_LOADs overlap in the file may lose the carry between them). An
 * occurrence that spans two kept ranges is not. The copied notes are not
 * scanned (the kernel's notes hold no environment).
 *
 * Call before minicore_plan. Returns 0 when taken or when there is nothing to
 * hide (empty value), -EINVAL when kv has no '=' or an empty key, -E2BIG when
 * MINICORE_SCRUB_MAX strings or MINICORE_SCRUB_BYTES bytes are reached (the
 * string is not scrubbed, counted in scrub_dropped, and the cap recorded as
 * "scrub strings"), -EBUSY after minicore_plan, -ENOMEM. Cost: memory kept
 * times a small constant, plus the candidates that end like a value. */
int minicore_scrub_add(struct minicore *m, const void *kv, size_t len);
/* Plan what to keep from a complete head (see elfcore_head_need) and write the
 * ELF header, program headers and notes. Notes that several PT_NOTE headers
 * point at (the same or overlapping bytes) are copied once. -EBADMSG for
 * malformed notes, -EFBIG when max_total cannot hold even the ELF header and
 * one program header, or a write error. */
int minicore_plan(struct minicore *m, const unsigned char *head, size_t head_len);
/* Copy what was planned out of core bytes [off, off+len). Calls must come in
 * increasing off order (the order of the pipe). */
int minicore_feed(struct minicore *m, uint64_t off, const void *buf, size_t len);
/* Record how much of the plan was filled; after a short core the missing
 * ranges read as zeros and are counted in info->missing. */
int minicore_finish(struct minicore *m, struct minicore_info *info);
void minicore_free(struct minicore *m);
