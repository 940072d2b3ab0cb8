/* Signal detail for the analysis stage: names for si_code values, who sent a
 * signal, and where a fault address lies in the crashed process's address space.
 * Pure functions over a parsed core (elfcore_parse). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/elfcore.h"

#define SIGINFO_NULL_LIMIT (64u << 10) /* faults below this, outside any mapping, are "null-page" */
#define SIGINFO_GUARD_GAP  (64u << 10) /* how far below a stack a fault still counts as "stack-guard" */

/* "SEGV_MAPERR" for (SIGSEGV, 1), "SI_USER" for (any, 0); NULL when unknown. */
const char *siginfo_code_name(int signo, int code);

/* True when a process sent the signal with kill(2), sigqueue(3), tgkill(2) (raise
 * and abort included): si_pid and si_uid then name the sender, which may be the
 * crashed process itself. */
bool siginfo_sent_by_process(int signo, int code);

struct siginfo_place {
	const char *region; /* static: "null-page", "stack-guard", "module", "mapping", "unmapped" */
	size_t thread;      /* stack-guard: index into thread_sps */
	const char *path;   /* module: NT_FILE name, points into info (not owned); else NULL */
	uint64_t base;      /* module: lowest start of path's mappings; mapping: segment start;
			     * stack-guard: the stack's lowest address */
	uint64_t offset;    /* module, mapping: addr - base; stack-guard: base - addr;
			     * null-page: addr */
};

/* Where addr lies. info may be NULL (nothing is mapped then); thread_sps holds n
 * stack pointers, the crashing thread's first. Returns 0, or -EINVAL when out is
 * NULL or thread_sps is NULL with n > 0. */
int siginfo_place(uint64_t addr, const struct elfcore_info *info, const uint64_t *thread_sps, size_t n,
		  struct siginfo_place *out);
