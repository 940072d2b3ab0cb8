/* Bounds-checked views of an ELF core's head (ELF header, program headers and
 * notes) as the collector sees it in the pipe. All offsets and sizes in the input
 * are untrusted: every check is written so that it cannot overflow. */
#pragma once

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELFCORE_PHNUM_MAX   65535       /* program headers read from one core */
#define ELFCORE_HEAD_MAX    (32u << 20) /* ELF header + program headers + notes kept in memory */
#define ELFCORE_NOTES_MAX   65536       /* notes walked per core */
#define ELFCORE_THREADS_MAX 1024        /* NT_PRSTATUS notes used per core */
#define ELFCORE_FILES_MAX   65536       /* NT_FILE entries used per core */

/* How many leading bytes of the core hold the ELF header, program headers and
 * notes. Returns 0 and *need when buf (len bytes from offset 0) is enough to
 * know; 1 and *need = bytes needed so far when more must arrive; -EBADMSG when
 * this is not a 64-bit native-endian ELF core (*why says why). */
int elfcore_head_need(const unsigned char *buf, size_t len, size_t *need, const char **why);

/* Program header i of a head that elfcore_head_need accepted. */
Elf64_Phdr elfcore_phdr(const unsigned char *head, size_t i);
size_t elfcore_phnum(const unsigned char *head);
/* End of the last segment's file data: the size the core should have. */
uint64_t elfcore_expected_size(const unsigned char *head);
/* The size the core announces, from its first len bytes: 0 and *size once the
 * program headers are in (the notes need not be), 1 while they are not,
 * -EBADMSG when this is not an ELF core elfcore_head_need would take. */
int elfcore_size_known(const unsigned char *buf, size_t len, uint64_t *size);

/* One note, pointing into the head buffer. */
struct elfcore_note {
	uint32_t type;
	const char *name;   /* NUL-terminated within namesz, or "" */
	const unsigned char *desc;
	size_t descsz;
};
/* Walk the PT_NOTE segments. cb returns < 0 to stop with that error, 1 to stop
 * successfully. Returns the number of notes seen, or negative errno; *capped is
 * set when ELFCORE_NOTES_MAX was reached. */
typedef int (*elfcore_note_fn)(void *userdata, const struct elfcore_note *n);
int elfcore_notes_foreach(const unsigned char *head, size_t head_len, elfcore_note_fn cb, void *userdata,
			  bool *capped);

/* Stack pointer and tid from an NT_PRSTATUS desc for this e_machine (x86-64,
 * aarch64). -ENOTSUP for other machines, -EBADMSG when too short. */
int elfcore_prstatus_sp(uint16_t machine, const unsigned char *desc, size_t descsz, uint64_t *sp, int32_t *tid);

/* ---- Whole-core parser for the analysis stage ----
 *
 * elfcore_parse reads a complete (mini)core held in memory. Every dimension the
 * core controls has a cap; reaching one sets the matching *_capped flag. A core
 * cut short is parsed as far as it goes (notes wholly inside the buffer) and
 * says `truncated`. Known notes that are too short or inconsistent are skipped
 * and counted in `malformed`, with the first reason in `malformed_why`. */

#define ELFCORE_AUXV_MAX 512 /* auxv entries kept per core */
#define ELFCORE_REGS_MAX 34  /* general registers per thread (aarch64: x0..x30 sp pc pstate) */
#define ELFCORE_STR_MAX  4096 /* strings read from core memory (AT_EXECFN), NUL included */

struct elfcore_reg {
	const char *name; /* static */
	uint64_t value;
};

/* One NT_PRSTATUS. The kernel writes the dumping thread's first. */
struct elfcore_thread {
	int32_t tid, ppid, pgrp, sid;
	int16_t cursig;
	int32_t si_signo, si_code, si_errno; /* pr_info */
	size_t nregs;                        /* 0 for a machine without a register table */
	struct elfcore_reg regs[ELFCORE_REGS_MAX];
	uint64_t sp, pc; /* copies of rsp/rip or sp/pc; valid when nregs > 0 */
	bool fpregs;     /* an NT_FPREGSET followed this thread's NT_PRSTATUS */
};

struct elfcore_prpsinfo {
	int8_t state;   /* pr_state: numeric */
	char sname;     /* pr_sname: 'R', 'S', 'D', ... */
	uint32_t uid, gid;
	int32_t pid, ppid, pgrp, sid;
	char fname[17]; /* pr_fname, always NUL-terminated here */
	char psargs[81];
};

struct elfcore_siginfo {
	int32_t signo, code, errno_;
	bool has_addr;  /* fault signals with a kernel code (0 < code < SI_KERNEL) */
	uint64_t addr;
	bool has_sender; /* codes that carry the sender: SI_USER, SI_KERNEL and the
			  * negative (user) codes except SI_TIMER and SI_SIGIO */
	int32_t pid;
	uint32_t uid;
	bool has_syscall; /* SIGSYS from seccomp */
	int32_t syscall;
	uint32_t arch;
};

struct elfcore_auxv_entry {
	uint64_t type, value;
};

struct elfcore_auxv {
	bool has_execfn, has_secure, has_entry, has_phdr, has_base, has_sysinfo_ehdr;
	uint64_t execfn, secure, entry, phdr, base, sysinfo_ehdr;
};

struct elfcore_file {
	uint64_t start, end, pgoff; /* pgoff in pages of info->file_page_size */
	const char *name;           /* points into info->file_names */
};

struct elfcore_load {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz; /* as the header says */
	uint64_t avail;          /* bytes of it inside the buffer (filesz unless cut short) */
	uint32_t flags;
};

struct elfcore_info {
	uint16_t machine;
	bool truncated;    /* the buffer is shorter than the program headers say */
	size_t notes;      /* notes walked */
	bool notes_capped; /* ELFCORE_NOTES_MAX */
	unsigned malformed;
	const char *malformed_why; /* static; NULL when malformed == 0 */

	struct elfcore_load *loads;
	size_t nloads;

	struct elfcore_thread *threads;
	size_t nthreads;     /* kept */
	size_t threads_seen; /* NT_PRSTATUS notes in the core */
	bool threads_capped; /* ELFCORE_THREADS_MAX */
	size_t fpregsets;

	bool has_prpsinfo;
	struct elfcore_prpsinfo prpsinfo;
	bool has_siginfo;
	struct elfcore_siginfo siginfo;

	struct elfcore_auxv_entry *auxv_entries;
	size_t nauxv;
	bool auxv_capped; /* ELFCORE_AUXV_MAX */
	bool has_auxv;
	struct elfcore_auxv auxv;
	char *execfn; /* AT_EXECFN read from core memory; NULL when that memory is absent */

	bool has_files;
	uint64_t files_count;    /* as NT_FILE says */
	uint64_t file_page_size;
	struct elfcore_file *files;
	size_t nfiles;           /* kept */
	bool files_capped;       /* ELFCORE_FILES_MAX */
	char *file_names;        /* owned copy of NT_FILE's name table */
};

/* Parse a whole core. -EBADMSG for anything that is not a 64-bit little-endian
 * ELF core (*why, a static string, says why; why may be NULL); -ENOMEM. */
int elfcore_parse_why(const unsigned char *buf, size_t len, struct elfcore_info **ret, const char **why);
int elfcore_parse(const unsigned char *buf, size_t len, struct elfcore_info **ret);
void elfcore_info_free(struct elfcore_info *info);

/* Copy size bytes of process memory at vaddr out of the PT_LOAD data of buf
 * (the buffer info was parsed from). -ENODATA when any byte is not in the core. */
int elfcore_read_mem(const struct elfcore_info *info, const unsigned char *buf, size_t len, uint64_t vaddr,
		     size_t size, void *out);
/* A NUL-terminated string of at most max bytes (NUL included) at vaddr, as a heap
 * copy. -ENODATA when not in the core, -E2BIG when no NUL within max. */
int elfcore_read_str(const struct elfcore_info *info, const unsigned char *buf, size_t len, uint64_t vaddr,
		     size_t max, char **ret);
/* Register names for a machine, in pr_reg order; NULL and *n = 0 when unknown. */
const char *const *elfcore_reg_names(uint16_t machine, size_t *n);
