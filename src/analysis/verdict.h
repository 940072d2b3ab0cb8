/* The verdict: what a person reads first about a crash, and the signature that
 * groups crashes of the same bug. Both are pure functions of the unwound
 * threads (see unwind.h) and of the siginfo, passed here as plain values. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VERDICT_SIG_FRAMES  5    /* meaningful frames hashed into a signature */
#define VERDICT_SLOGAN_MAX  512  /* bytes of a slogan, NUL included */

/* Where the fault address lies, as the caller worked it out from the mappings.
 * region is one of:
 *   "below-stack"  the gap just under a thread's stack (region_thread says whose)
 *   "stack"        inside a thread's stack (region_thread)
 *   "heap"         the [heap] mapping
 *   "unmapped"     no mapping
 *   anything else  the name of the mapping (a file's basename, "[vvar]", …)
 * or NULL when unknown. */
struct verdict_siginfo {
	int signo;
	const char *signal_name; /* "SIGSEGV"; NULL: derived from signo */
	const char *code_name;   /* "SEGV_MAPERR", "SI_USER", or NULL */
	bool has_addr;           /* addr is meaningful (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP) */
	uint64_t addr;
	const char *access;      /* "reading", "writing", "executing" when known, else NULL */
	const char *region;
	int region_thread;       /* thread number shown to people; < 0 = none */
	/* Who sent it (SI_USER, SI_QUEUE, SI_TKILL) and who crashed, both as the
	 * core gives them: in the crashed process's own pid and user namespaces
	 * (siginfo's si_pid/si_uid are translated to the receiver's; the
	 * NT_PRPSINFO note holds its own tgid and uid), so they compare even
	 * for a process in a container. */
	bool has_sender;
	int32_t sender_pid;
	uint32_t sender_uid;
	bool has_self;
	int32_t self_pid;
	uint32_t self_uid;
};

/* The signal came from the crashed process itself (kill(getpid(), …),
 * raise(), `kill -SEGV $$` in a shell): the sender's pid and uid are its own. */
bool verdict_sent_by_self(const struct verdict_siginfo *si);

/* The kind of failure, as hashed into a signature: the signal's name, and for
 * SIGSEGV and SIGBUS the fault class: "SIGSEGV/null" (an address in the first
 * 64 KiB), "SIGSEGV/stack-overflow" (region "below-stack"), "SIGSEGV/other";
 * "SIGABRT", "SIGFPE", "signal 42". si may be NULL ("signal 0"). Written to
 * buf (truncated to len, NUL-terminated); returns the length written. */
size_t verdict_kind(const struct verdict_siginfo *si, char *buf, size_t len);

/* A short hash (FNV-1a 64, 16 hex digits) of the kind of failure
 * (verdict_kind) and of the crashing thread's top VERDICT_SIG_FRAMES
 * meaningful physical frames: module basename + function as named in the
 * binary ("function_raw": mangled for C++; for Rust the demangled name,
 * without the build hash), or module basename + module offset when there is
 * no symbol. Frames of the abort and signal machinery, inlined frames (they
 * exist only where debug info is present: the same crash gets the same
 * signature with or without it) and frames outside any module do not count.
 * So an abort() and a NULL dereference at the same frames are two groups.
 * Identical across runs, PIDs, ASLR and hosts for the same binaries.
 * threads: the "threads" array of unwind_core.
 * Returns 0, or -ENODATA when no frame counts (out is then left alone). */
int verdict_signature(const struct verdict_siginfo *si, json_object *threads, char out[17]);

/* The one line, e.g.
 *   SIGSEGV (SEGV_MAPERR) reading 0x0 in parse_header() at libfoo.so.1+0x1a2b — NULL pointer dereference
 *   SIGABRT in abort() ← __assert_fail() ← check_invariants()
 *   SIGSEGV (SEGV_MAPERR) at 0x7ffd12345ff8, just below thread 3's stack, in recurse() at app+0x1189 — stack overflow
 * written to buf (truncated to len, always NUL-terminated). threads may be NULL.
 * Returns the length written. */
size_t verdict_slogan(const struct verdict_siginfo *si, json_object *threads, char *buf, size_t len);
