/* Signal detail: si_code names, sender, fault placement. */
#include <signal.h>
#include <string.h>

#include "core/siginfo.h"
#include "base/util.h"

/* Numbers from the kernel's uapi/asm-generic/siginfo.h, spelt out here so that an
 * older libc's headers do not hide the newer codes. */
static const char *const siginfo_segv[] = {
	[1] = "SEGV_MAPERR", [2] = "SEGV_ACCERR",  [3] = "SEGV_BNDERR",  [4] = "SEGV_PKUERR",  [5] = "SEGV_ACCADI",
	[6] = "SEGV_ADIDERR", [7] = "SEGV_ADIPERR", [8] = "SEGV_MTEAERR", [9] = "SEGV_MTESERR", [10] = "SEGV_CPERR",
};
static const char *const siginfo_bus[] = {
	[1] = "BUS_ADRALN", [2] = "BUS_ADRERR", [3] = "BUS_OBJERR", [4] = "BUS_MCEERR_AR", [5] = "BUS_MCEERR_AO",
};
static const char *const siginfo_fpe[] = {
	[1] = "FPE_INTDIV", [2] = "FPE_INTOVF", [3] = "FPE_FLTDIV", [4] = "FPE_FLTOVF",  [5] = "FPE_FLTUND",
	[6] = "FPE_FLTRES", [7] = "FPE_FLTINV", [8] = "FPE_FLTSUB", [14] = "FPE_FLTUNK", [15] = "FPE_CONDTRAP",
};
static const char *const siginfo_ill[] = {
	[1] = "ILL_ILLOPC", [2] = "ILL_ILLOPN", [3] = "ILL_ILLADR", [4] = "ILL_ILLTRP",   [5] = "ILL_PRVOPC",
	[6] = "ILL_PRVREG", [7] = "ILL_COPROC", [8] = "ILL_BADSTK", [9] = "ILL_BADIADDR",
};
static const char *const siginfo_trap[] = {
	[1] = "TRAP_BRKPT", [2] = "TRAP_TRACE", [3] = "TRAP_BRANCH", [4] = "TRAP_HWBKPT", [5] = "TRAP_UNK",
	[6] = "TRAP_PERF",
};
static const char *const siginfo_sys[] = {
	[1] = "SYS_SECCOMP", [2] = "SYS_USER_DISPATCH",
};

#define SIGINFO_SI_KERNEL 0x80

static const char *siginfo_lookup(const char *const *names, size_t n, int code)
{
	return code > 0 && (size_t)code < n ? names[code] : NULL;
}

const char *siginfo_code_name(int signo, int code)
{
	switch (code) {
	case 0: return "SI_USER";
	case SIGINFO_SI_KERNEL: return "SI_KERNEL";
	case -1: return "SI_QUEUE";
	case -2: return "SI_TIMER";
	case -3: return "SI_MESGQ";
	case -4: return "SI_ASYNCIO";
	case -5: return "SI_SIGIO";
	case -6: return "SI_TKILL";
	case -7: return "SI_DETHREAD";
	case -60: return "SI_ASYNCNL";
	default: break;
	}
	switch (signo) {
	case SIGSEGV: return siginfo_lookup(siginfo_segv, ARRAY_SIZE(siginfo_segv), code);
	case SIGBUS: return siginfo_lookup(siginfo_bus, ARRAY_SIZE(siginfo_bus), code);
	case SIGFPE: return siginfo_lookup(siginfo_fpe, ARRAY_SIZE(siginfo_fpe), code);
	case SIGILL: return siginfo_lookup(siginfo_ill, ARRAY_SIZE(siginfo_ill), code);
	case SIGTRAP: return siginfo_lookup(siginfo_trap, ARRAY_SIZE(siginfo_trap), code);
	case SIGSYS: return siginfo_lookup(siginfo_sys, ARRAY_SIZE(siginfo_sys), code);
	default: return NULL;
	}
}

bool siginfo_sent_by_process(int signo, int code)
{
	(void)signo;
	return code == 0 /* SI_USER */ || code == -1 /* SI_QUEUE */ || code == -6 /* SI_TKILL */;
}

static bool siginfo_in_load(const struct elfcore_load *l, uint64_t a)
{
	return a >= l->vaddr && a - l->vaddr < l->memsz;
}

/* A PROT_NONE mapping, such as the guard page glibc puts below a thread stack. */
static bool siginfo_load_noaccess(const struct elfcore_load *l)
{
	return (l->flags & (PF_R | PF_W | PF_X)) == 0;
}

static const struct elfcore_load *siginfo_load_at(const struct elfcore_info *info, uint64_t a)
{
	for (size_t i = 0; info && i < info->nloads; i++)
		if (siginfo_in_load(&info->loads[i], a))
			return &info->loads[i];
	return NULL;
}

static const struct elfcore_file *siginfo_file_at(const struct elfcore_info *info, uint64_t a)
{
	for (size_t i = 0; info && i < info->nfiles; i++)
		if (a >= info->files[i].start && a < info->files[i].end)
			return &info->files[i];
	return NULL;
}

static uint64_t siginfo_sub_sat(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/* The stack a thread's SP belongs to: [*lo, *base) is the zone below it where a
 * fault means the stack ran out. The stack is the segment holding SP; when SP is
 * in none (it already ran past the end), the lowest segment above SP, if within
 * 1 MiB. A PROT_NONE segment right below the stack (glibc's guard page) joins the
 * zone; so does an SP that is itself in one. */
static bool siginfo_stack_zone(const struct elfcore_info *info, uint64_t sp, uint64_t *lo, uint64_t *base)
{
	const struct elfcore_load *s = siginfo_load_at(info, sp), *above = NULL;
	uint64_t bottom;

	if (s && siginfo_load_noaccess(s)) {
		*base = s->vaddr + s->memsz; /* the stack starts above its guard */
		bottom = s->vaddr;
	} else if (s) {
		*base = bottom = s->vaddr;
		for (size_t i = 0; i < info->nloads; i++) {
			const struct elfcore_load *g = &info->loads[i];
			if (siginfo_load_noaccess(g) && g->memsz > 0 && g->vaddr < bottom && g->vaddr + g->memsz == bottom) {
				bottom = g->vaddr;
				break;
			}
		}
	} else {
		for (size_t i = 0; info && i < info->nloads; i++) {
			const struct elfcore_load *l = &info->loads[i];
			if (l->vaddr > sp && (!above || l->vaddr < above->vaddr))
				above = l;
		}
		if (!above || above->vaddr - sp > (1u << 20))
			return false;
		*base = above->vaddr;
		bottom = sp < above->vaddr ? sp : above->vaddr;
	}
	*lo = siginfo_sub_sat(bottom, SIGINFO_GUARD_GAP);
	return true;
}

/* Placement policy, first match wins. A fault below 64 KiB that no mapping holds
 * is a NULL pointer dereference: Linux refuses to map below vm.mmap_min_addr
 * (64 KiB by default on x86-64 and aarch64 distributions), so such an address can
 * only be NULL plus a member offset or small index; 4 KiB would miss NULL->field
 * at large offsets. Then a stack overflow: an address in the 64 KiB below some
 * thread's stack (or in its guard page) that no accessible or file mapping holds;
 * the crashing thread is tried first. Then a file mapping (module, offset from
 * that file's lowest mapping, as tools print lib+0x1234), an anonymous PT_LOAD,
 * and otherwise unmapped. */
int siginfo_place(uint64_t addr, const struct elfcore_info *info, const uint64_t *thread_sps, size_t n,
		  struct siginfo_place *out)
{
	const struct elfcore_load *l;
	const struct elfcore_file *f;
	struct siginfo_place p = { .region = "unmapped" };

	if (!out || (!thread_sps && n > 0))
		return -EINVAL;
	l = siginfo_load_at(info, addr);
	f = siginfo_file_at(info, addr);

	if (addr < SIGINFO_NULL_LIMIT && !l && !f) {
		p.region = "null-page";
		p.offset = addr;
		goto done;
	}
	if (!f && (!l || siginfo_load_noaccess(l))) {
		for (size_t i = 0; info && i < n; i++) {
			uint64_t lo, base;
			if (siginfo_stack_zone(info, thread_sps[i], &lo, &base) && addr >= lo && addr < base) {
				p.region = "stack-guard";
				p.thread = i;
				p.base = base;
				p.offset = base - addr;
				goto done;
			}
		}
	}
	if (f) {
		p.region = "module";
		p.path = f->name;
		p.base = f->start;
		for (size_t i = 0; i < info->nfiles; i++)
			if (info->files[i].start < p.base && strcmp(info->files[i].name, f->name) == 0)
				p.base = info->files[i].start;
		p.offset = addr - p.base;
		goto done;
	}
	if (l) {
		p.region = "mapping";
		p.base = l->vaddr;
		p.offset = addr - l->vaddr;
	}
done:
	*out = p;
	return 0;
}
