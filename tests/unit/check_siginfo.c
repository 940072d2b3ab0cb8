/* siginfo: si_code names, senders, and fault placement against the reference
 * core of corecorpus.h and hand-made address spaces. */
#include <signal.h>
#include <string.h>

#include "corecorpus.h"
#include "core/elfcore.h"
#include "core/siginfo.h"
#include "testutil.h"
#include "base/util.h"

START_TEST(test_code_names)
{
	static const struct {
		int signo, code;
		const char *name;
	} cases[] = {
		{ SIGSEGV, SEGV_MAPERR, "SEGV_MAPERR" }, { SIGSEGV, SEGV_ACCERR, "SEGV_ACCERR" },
		{ SIGSEGV, 3, "SEGV_BNDERR" },           { SIGSEGV, 4, "SEGV_PKUERR" },
		{ SIGSEGV, 5, "SEGV_ACCADI" },           { SIGSEGV, 9, "SEGV_MTESERR" },
		{ SIGBUS, BUS_ADRALN, "BUS_ADRALN" },    { SIGBUS, BUS_ADRERR, "BUS_ADRERR" },
		{ SIGBUS, BUS_OBJERR, "BUS_OBJERR" },    { SIGBUS, 4, "BUS_MCEERR_AR" },
		{ SIGBUS, 5, "BUS_MCEERR_AO" },          { SIGFPE, FPE_INTDIV, "FPE_INTDIV" },
		{ SIGFPE, FPE_INTOVF, "FPE_INTOVF" },    { SIGFPE, FPE_FLTDIV, "FPE_FLTDIV" },
		{ SIGFPE, FPE_FLTOVF, "FPE_FLTOVF" },    { SIGFPE, FPE_FLTUND, "FPE_FLTUND" },
		{ SIGFPE, FPE_FLTRES, "FPE_FLTRES" },    { SIGFPE, FPE_FLTINV, "FPE_FLTINV" },
		{ SIGFPE, FPE_FLTSUB, "FPE_FLTSUB" },    { SIGILL, ILL_ILLOPC, "ILL_ILLOPC" },
		{ SIGILL, ILL_ILLOPN, "ILL_ILLOPN" },    { SIGILL, ILL_ILLADR, "ILL_ILLADR" },
		{ SIGILL, ILL_ILLTRP, "ILL_ILLTRP" },    { SIGILL, ILL_PRVOPC, "ILL_PRVOPC" },
		{ SIGILL, ILL_PRVREG, "ILL_PRVREG" },    { SIGILL, ILL_COPROC, "ILL_COPROC" },
		{ SIGILL, ILL_BADSTK, "ILL_BADSTK" },    { SIGTRAP, TRAP_BRKPT, "TRAP_BRKPT" },
		{ SIGTRAP, TRAP_TRACE, "TRAP_TRACE" },   { SIGTRAP, 3, "TRAP_BRANCH" },
		{ SIGTRAP, 4, "TRAP_HWBKPT" },           { SIGSYS, 1, "SYS_SECCOMP" },
		{ SIGSEGV, SI_USER, "SI_USER" },         { SIGABRT, SI_USER, "SI_USER" },
		{ SIGSEGV, SI_KERNEL, "SI_KERNEL" },     { SIGUSR1, SI_QUEUE, "SI_QUEUE" },
		{ SIGALRM, SI_TIMER, "SI_TIMER" },       { SIGUSR2, SI_MESGQ, "SI_MESGQ" },
		{ SIGUSR2, SI_ASYNCIO, "SI_ASYNCIO" },   { SIGIO, SI_SIGIO, "SI_SIGIO" },
		{ SIGABRT, SI_TKILL, "SI_TKILL" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *n = siginfo_code_name(cases[i].signo, cases[i].code);
		ck_assert_msg(n && strcmp(n, cases[i].name) == 0, "(%d, %d): %s", cases[i].signo, cases[i].code,
			      n ? n : "NULL");
	}
	/* unknown: out of range, wrong signal, negative garbage, INT_MIN/MAX */
	ck_assert_ptr_null(siginfo_code_name(SIGSEGV, 11));
	ck_assert_ptr_null(siginfo_code_name(SIGSEGV, 0x7f));
	ck_assert_ptr_null(siginfo_code_name(SIGBUS, 6));
	ck_assert_ptr_null(siginfo_code_name(SIGABRT, 1));
	ck_assert_ptr_null(siginfo_code_name(SIGFPE, 9)); /* gap in the table */
	ck_assert_ptr_null(siginfo_code_name(SIGSEGV, -100));
	ck_assert_ptr_null(siginfo_code_name(SIGSEGV, INT32_MIN));
	ck_assert_ptr_null(siginfo_code_name(SIGSEGV, INT32_MAX));
	ck_assert_ptr_null(siginfo_code_name(-1, 1));
	ck_assert_ptr_null(siginfo_code_name(1000, 1));
}
END_TEST

START_TEST(test_sent_by_process)
{
	ck_assert(siginfo_sent_by_process(SIGSEGV, SI_USER));
	ck_assert(siginfo_sent_by_process(SIGABRT, SI_TKILL));
	ck_assert(siginfo_sent_by_process(SIGUSR1, SI_QUEUE));
	ck_assert(!siginfo_sent_by_process(SIGSEGV, SI_KERNEL));
	ck_assert(!siginfo_sent_by_process(SIGSEGV, SEGV_MAPERR));
	ck_assert(!siginfo_sent_by_process(SIGALRM, SI_TIMER));
	ck_assert(!siginfo_sent_by_process(SIGIO, SI_SIGIO));
	ck_assert(!siginfo_sent_by_process(SIGUSR1, SI_MESGQ));
}
END_TEST

static struct elfcore_info *reference(struct cc_core *c)
{
	struct elfcore_info *info = NULL;
	cc_reference_core(c, EM_X86_64);
	ck_assert_int_eq(elfcore_parse(c->buf, c->len, &info), 0);
	return info;
}

static struct siginfo_place place(uint64_t addr, const struct elfcore_info *info, const uint64_t *sps, size_t n)
{
	struct siginfo_place p;
	memset(&p, 0x5a, sizeof(p));
	ck_assert_int_eq(siginfo_place(addr, info, sps, n, &p), 0);
	return p;
}

START_TEST(test_place_reference)
{
	struct cc_core c;
	struct elfcore_info *info = reference(&c);
	uint64_t sps[3] = { info->threads[0].sp, info->threads[1].sp, info->threads[2].sp };
	struct siginfo_place p;

	p = place(0, info, sps, 3);
	ck_assert_str_eq(p.region, "null-page");
	ck_assert_uint_eq(p.offset, 0);
	ck_assert_ptr_null(p.path);
	p = place(0x18, info, sps, 3);
	ck_assert_str_eq(p.region, "null-page");
	ck_assert_uint_eq(p.offset, 0x18);
	ck_assert_str_eq(place(0x1000, info, sps, 3).region, "null-page");
	ck_assert_str_eq(place(SIGINFO_NULL_LIMIT - 1, info, sps, 3).region, "null-page");
	ck_assert_str_eq(place(SIGINFO_NULL_LIMIT, info, sps, 3).region, "unmapped");

	/* the recorded fault: 8 bytes below the stack, thread 0 */
	p = place(info->siginfo.addr, info, sps, 3);
	ck_assert_str_eq(p.region, "stack-guard");
	ck_assert_uint_eq(p.thread, 0);
	ck_assert_uint_eq(p.base, CC_STACK);
	ck_assert_uint_eq(p.offset, 8);
	/* inside the PROT_NONE guard, and the 64 KiB below it */
	p = place(CC_GUARD + 5, info, sps, 3);
	ck_assert_str_eq(p.region, "stack-guard");
	ck_assert_uint_eq(p.offset, CC_STACK - CC_GUARD - 5);
	ck_assert_str_eq(place(CC_GUARD - SIGINFO_GUARD_GAP, info, sps, 3).region, "stack-guard");
	ck_assert_str_eq(place(CC_GUARD - SIGINFO_GUARD_GAP - 1, info, sps, 3).region, "unmapped");
	/* which thread: the first whose stack it is */
	uint64_t other[2] = { CC_HEAP + 0x100, CC_STACK + 0x1000 };
	p = place(CC_FAULT, info, other, 2);
	ck_assert_str_eq(p.region, "stack-guard");
	ck_assert_uint_eq(p.thread, 1);
	/* no thread SPs: just a PROT_NONE mapping, or nothing */
	ck_assert_str_eq(place(CC_GUARD + 5, info, NULL, 0).region, "mapping");
	ck_assert_str_eq(place(CC_FAULT, info, NULL, 0).region, "mapping");
	ck_assert_str_eq(place(CC_GUARD - 8, info, NULL, 0).region, "unmapped");
	/* an SP in the heap makes the heap that thread's stack... */
	p = place(CC_HEAP - 16, info, other, 2);
	ck_assert_str_eq(p.region, "stack-guard");
	ck_assert_uint_eq(p.thread, 0);
	/* ...but an accessible mapping is never a guard */
	ck_assert_str_eq(place(CC_HEAP + 16, info, other, 2).region, "mapping");

	/* modules: offset from the file's lowest mapping */
	p = place(CC_LIBC_BASE + 0x30000, info, sps, 3);
	ck_assert_str_eq(p.region, "module");
	ck_assert_str_eq(p.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	ck_assert_uint_eq(p.base, CC_LIBC_BASE);
	ck_assert_uint_eq(p.offset, 0x30000);
	p = place(CC_EXE_BASE + 0x2abc, info, sps, 3);
	ck_assert_str_eq(p.region, "module");
	ck_assert_str_eq(p.path, "/usr/bin/victim");
	ck_assert_uint_eq(p.offset, 0x2abc);
	ck_assert_str_eq(place(CC_EXE_BASE + 0x3000, info, sps, 3).region, "unmapped"); /* end is exclusive */

	/* anonymous mapping */
	p = place(CC_HEAP + 0x5000, info, sps, 3);
	ck_assert_str_eq(p.region, "mapping");
	ck_assert_uint_eq(p.base, CC_HEAP);
	ck_assert_uint_eq(p.offset, 0x5000);
	ck_assert_ptr_null(p.path);
	ck_assert_str_eq(place(CC_HEAP + 0x21000, info, sps, 3).region, "unmapped");
	ck_assert_str_eq(place(0x123456789000ull, info, sps, 3).region, "unmapped");
	ck_assert_str_eq(place(UINT64_MAX, info, sps, 3).region, "unmapped");

	elfcore_info_free(info);
	free(c.buf);
}
END_TEST

START_TEST(test_place_no_core)
{
	struct siginfo_place p;
	uint64_t sp = 0x7ff000;
	ck_assert_str_eq(place(8, NULL, NULL, 0).region, "null-page");
	ck_assert_str_eq(place(0x7fe000, NULL, &sp, 1).region, "unmapped");
	ck_assert_int_eq(siginfo_place(8, NULL, NULL, 0, NULL), -EINVAL);
	ck_assert_int_eq(siginfo_place(8, NULL, NULL, 1, &p), -EINVAL);
}
END_TEST

/* Address spaces made by hand: siginfo_place only looks at loads and files. */
START_TEST(test_place_hand_made)
{
	struct elfcore_load loads[3] = {
		{ .vaddr = 0, .memsz = 0x2000, .flags = PF_R },                   /* page 0 mapped (vm.mmap_min_addr=0) */
		{ .vaddr = 0x40000000, .memsz = 0x100000, .flags = PF_R | PF_W }, /* a stack, no guard segment */
		{ .vaddr = 0x7000000000, .memsz = 0x1000, .flags = PF_R },        /* file-backed */
	};
	struct elfcore_file files[1] = { { 0x7000000000, 0x7000001000, 0, "/lib/x.so" } };
	struct elfcore_info info = { .loads = loads, .nloads = 3, .files = files, .nfiles = 1 };
	struct siginfo_place p;

	p = place(0x10, &info, NULL, 0);
	ck_assert_str_eq(p.region, "mapping"); /* mapped page 0: not a NULL dereference */
	ck_assert_str_eq(place(0x3000, &info, NULL, 0).region, "null-page");

	/* SP ran off the bottom of its stack into nothing: the stack is the lowest
	 * segment above it, and the zone reaches 64 KiB below the SP */
	uint64_t sp = 0x40000000 - 0x30000;
	p = place(sp - 8, &info, &sp, 1);
	ck_assert_str_eq(p.region, "stack-guard");
	ck_assert_uint_eq(p.base, 0x40000000);
	ck_assert_uint_eq(p.offset, 0x30008);
	ck_assert_str_eq(place(sp - SIGINFO_GUARD_GAP - 1, &info, &sp, 1).region, "unmapped");
	/* an SP far below every segment is not a stack's */
	sp = 0x40000000 - 0x200000;
	ck_assert_str_eq(place(sp - 8, &info, &sp, 1).region, "unmapped");
	/* an SP above everything */
	sp = 0x7100000000;
	ck_assert_str_eq(place(sp - 8, &info, &sp, 1).region, "unmapped");
	/* near a stack but inside a file mapping: the module wins */
	sp = 0x7000000000 + 0x10;
	p = place(0x7000000000 + 8, &info, &sp, 1);
	ck_assert_str_eq(p.region, "module");
	ck_assert_str_eq(p.path, "/lib/x.so");
	/* a segment that ends at 2^64 and an SP of 0 */
	struct elfcore_load top = { .vaddr = UINT64_MAX - 0xfff, .memsz = 0x1000, .flags = PF_R | PF_W };
	struct elfcore_info ti = { .loads = &top, .nloads = 1 };
	sp = 0;
	ck_assert_str_eq(place(UINT64_MAX - 5, &ti, &sp, 1).region, "mapping");
	sp = UINT64_MAX - 0x10;
	ck_assert_str_eq(place(UINT64_MAX - 0x1008, &ti, &sp, 1).region, "stack-guard");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("siginfo");
	TCase *tc = tcase_create("siginfo");
	tcase_add_test(tc, test_code_names);
	tcase_add_test(tc, test_sent_by_process);
	tcase_add_test(tc, test_place_reference);
	tcase_add_test(tc, test_place_no_core);
	tcase_add_test(tc, test_place_hand_made);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
