/* elfcore_parse: the reference cores from corecorpus.h read back field by field;
 * hostile and cut-short cores parse as far as they go, never out of bounds (the
 * ASan build copies each input into a buffer of exactly its size); the corpus
 * in tests/corpus is what the generator writes, and every file in it behaves as
 * its name says. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corecorpus.h"
#include "core/elfcore.h"
#include "fakecore.h"
#include "core/siginfo.h"
#include "testutil.h"
#include "base/util.h"

#define CORPUS_DIR "tests/corpus"

/* Parse a heap copy of exactly len bytes, so that ASan sees any overread. */
static int parse_copy(const unsigned char *buf, size_t len, struct elfcore_info **ret, const char **why)
{
	unsigned char *c = malloc(len ? len : 1);
	ck_assert_ptr_nonnull(c);
	if (len)
		memcpy(c, buf, len);
	int r = elfcore_parse_why(c, len, ret, why);
	/* read whatever memory the info says is there */
	if (r == 0) {
		unsigned char tmp[64];
		for (size_t i = 0; i < (*ret)->nloads; i++) {
			(void)elfcore_read_mem(*ret, c, len, (*ret)->loads[i].vaddr, sizeof(tmp), tmp);
			(void)elfcore_read_mem(*ret, c, len, (*ret)->loads[i].vaddr + (*ret)->loads[i].filesz - 1, 1, tmp);
		}
	}
	free(c);
	return r;
}

static const struct elfcore_reg *reg(const struct elfcore_thread *t, const char *name)
{
	for (size_t i = 0; i < t->nregs; i++)
		if (strcmp(t->regs[i].name, name) == 0)
			return &t->regs[i];
	return NULL;
}

START_TEST(test_fakecore)
{
	struct fakecore fc;
	struct elfcore_info *info = NULL;
	fakecore_make(&fc);
	ck_assert_int_eq(elfcore_parse(fc.buf, fc.len, &info), 0);
	ck_assert_uint_eq(info->machine, EM_X86_64);
	ck_assert(!info->truncated);
	ck_assert_uint_eq(info->malformed, 0);
	ck_assert_uint_eq(info->nthreads, 2);
	ck_assert_int_eq(info->threads[0].tid, 1000);
	ck_assert_int_eq(info->threads[1].tid, 1001);
	ck_assert_uint_eq(info->threads[0].sp, fc_sp[0]);
	ck_assert_uint_eq(info->threads[1].sp, fc_sp[1]);
	ck_assert_uint_eq(info->nloads, FC_SEGS);
	ck_assert(info->has_files);
	ck_assert_uint_eq(info->nfiles, 2);
	ck_assert_str_eq(info->files[1].name, "/bin/app");
	ck_assert_uint_eq(info->files[1].pgoff, 2);
	ck_assert_uint_eq(info->file_page_size, FC_PAGE);
	ck_assert(!info->has_siginfo && !info->has_prpsinfo && !info->has_auxv);
	ck_assert_ptr_null(info->execfn);
	unsigned char b[8];
	ck_assert_int_eq(elfcore_read_mem(info, fc.buf, fc.len, fc_vaddr[2] + 100, 8, b), 0);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(b[i], fc_byte(fc_vaddr[2] + 100 + (uint64_t)i));
	elfcore_info_free(info);
	free(fc.buf);
}
END_TEST

START_TEST(test_reference_x86_64)
{
	struct cc_core c;
	struct elfcore_info *info = NULL;
	cc_reference_core(&c, EM_X86_64);
	ck_assert_int_eq(elfcore_parse(c.buf, c.len, &info), 0);
	ck_assert(!info->truncated);
	ck_assert_uint_eq(info->malformed, 0);
	ck_assert_ptr_null(info->malformed_why);
	ck_assert_uint_eq(info->notes, 10);
	ck_assert(!info->notes_capped && !info->threads_capped && !info->files_capped && !info->auxv_capped);

	ck_assert_uint_eq(info->nthreads, 3);
	ck_assert_uint_eq(info->threads_seen, 3);
	const struct elfcore_thread *t = &info->threads[0];
	ck_assert_int_eq(t->tid, 4242);
	ck_assert_int_eq(t->cursig, SIGSEGV);
	ck_assert_int_eq(t->si_signo, SIGSEGV);
	ck_assert_int_eq(t->ppid, 1);
	ck_assert_uint_eq(t->nregs, 27);
	ck_assert_uint_eq(t->sp, CC_STACK + 0x10);
	ck_assert_uint_eq(t->pc, CC_EXE_BASE + 0x1234);
	ck_assert_uint_eq(reg(t, "rip")->value, CC_EXE_BASE + 0x1234);
	ck_assert_uint_eq(reg(t, "rsp")->value, CC_STACK + 0x10);
	ck_assert_uint_eq(reg(t, "r15")->value, 0x1000 * 4242ull + 0);
	ck_assert_uint_eq(reg(t, "rax")->value, 0x1000 * 4242ull + 10);
	ck_assert_uint_eq(reg(t, "orig_rax")->value, 0x1000 * 4242ull + 15);
	ck_assert_uint_eq(reg(t, "eflags")->value, 0x1000 * 4242ull + 18);
	ck_assert_uint_eq(reg(t, "fs_base")->value, 0x1000 * 4242ull + 21);
	ck_assert_uint_eq(reg(t, "gs")->value, 0x1000 * 4242ull + 26);
	ck_assert_ptr_null(reg(t, "x0"));
	ck_assert(t->fpregs);
	ck_assert(info->threads[1].fpregs);
	ck_assert(!info->threads[2].fpregs);
	ck_assert_uint_eq(info->fpregsets, 2);
	ck_assert_int_eq(info->threads[2].tid, 4244);
	ck_assert_int_eq(info->threads[2].cursig, 0);

	ck_assert(info->has_prpsinfo);
	ck_assert_int_eq(info->prpsinfo.sname, 'R');
	ck_assert_int_eq(info->prpsinfo.pid, 4242);
	ck_assert_int_eq(info->prpsinfo.ppid, 1);
	ck_assert_uint_eq(info->prpsinfo.uid, 1000);
	ck_assert_uint_eq(info->prpsinfo.gid, 1001);
	ck_assert_str_eq(info->prpsinfo.fname, "victim");
	ck_assert_str_eq(info->prpsinfo.psargs, "/usr/bin/victim --crash now");

	ck_assert(info->has_siginfo);
	ck_assert_int_eq(info->siginfo.signo, SIGSEGV);
	ck_assert_int_eq(info->siginfo.code, 1);
	ck_assert(info->siginfo.has_addr);
	ck_assert(!info->siginfo.has_sender);
	ck_assert_uint_eq(info->siginfo.addr, CC_FAULT);

	ck_assert(info->has_auxv);
	ck_assert_uint_eq(info->nauxv, 6);
	ck_assert(info->auxv.has_entry && info->auxv.has_phdr && info->auxv.has_base && info->auxv.has_secure);
	ck_assert(info->auxv.has_sysinfo_ehdr && info->auxv.has_execfn);
	ck_assert_uint_eq(info->auxv.entry, CC_EXE_BASE + 0x1040);
	ck_assert_uint_eq(info->auxv.phdr, CC_EXE_BASE + 64);
	ck_assert_uint_eq(info->auxv.base, CC_LIBC_BASE + 0x100000);
	ck_assert_uint_eq(info->auxv.secure, 0);
	ck_assert_uint_eq(info->auxv.sysinfo_ehdr, 0x7fff00000000ull);
	ck_assert_uint_eq(info->auxv_entries[5].type, AT_EXECFN);
	ck_assert_ptr_nonnull(info->execfn);
	ck_assert_str_eq(info->execfn, "/usr/bin/victim");

	ck_assert(info->has_files);
	ck_assert_uint_eq(info->files_count, 4);
	ck_assert_uint_eq(info->nfiles, 4);
	ck_assert_uint_eq(info->file_page_size, 4096);
	ck_assert_str_eq(info->files[0].name, "/usr/bin/victim");
	ck_assert_str_eq(info->files[3].name, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	ck_assert_uint_eq(info->files[3].start, CC_LIBC_BASE + 0x28000);
	ck_assert_uint_eq(info->files[3].end, CC_LIBC_BASE + 0x1bd000);
	ck_assert_uint_eq(info->files[3].pgoff, 0x28);

	ck_assert_uint_eq(info->nloads, 5);
	ck_assert_uint_eq(info->loads[3].flags, 0);
	ck_assert_uint_eq(info->loads[3].memsz, 0x10000);
	ck_assert_uint_eq(info->loads[4].avail, CC_STACK_SIZE);
	elfcore_info_free(info);
	free(c.buf);
}
END_TEST

START_TEST(test_reference_aarch64)
{
	struct cc_core c;
	struct elfcore_info *info = NULL;
	cc_reference_core(&c, EM_AARCH64);
	ck_assert_int_eq(elfcore_parse(c.buf, c.len, &info), 0);
	ck_assert_uint_eq(info->machine, EM_AARCH64);
	ck_assert_uint_eq(info->malformed, 0);
	ck_assert_uint_eq(info->nthreads, 3);
	const struct elfcore_thread *t = &info->threads[0];
	ck_assert_uint_eq(t->nregs, 34);
	ck_assert_str_eq(t->regs[0].name, "x0");
	ck_assert_str_eq(t->regs[30].name, "x30");
	ck_assert_str_eq(t->regs[33].name, "pstate");
	ck_assert_uint_eq(reg(t, "x29")->value, 0x1000 * 4242ull + 29);
	ck_assert_uint_eq(reg(t, "sp")->value, CC_STACK + 0x10);
	ck_assert_uint_eq(reg(t, "pc")->value, CC_EXE_BASE + 0x1234);
	ck_assert_uint_eq(reg(t, "pstate")->value, 0x1000 * 4242ull + 33);
	ck_assert_uint_eq(t->sp, CC_STACK + 0x10);
	ck_assert_uint_eq(t->pc, CC_EXE_BASE + 0x1234);
	ck_assert_ptr_null(reg(t, "rip"));
	ck_assert_str_eq(info->execfn, "/usr/bin/victim");
	elfcore_info_free(info);
	free(c.buf);
}
END_TEST

/* An unknown machine: the notes that do not depend on it are still read. */
START_TEST(test_other_machine)
{
	struct cc_core c;
	struct elfcore_info *info = NULL;
	cc_reference_core(&c, EM_X86_64);
	Elf64_Ehdr eh = cc_get_ehdr(&c);
	eh.e_machine = EM_RISCV;
	cc_set_ehdr(&c, &eh);
	ck_assert_int_eq(elfcore_parse(c.buf, c.len, &info), 0);
	ck_assert_uint_eq(info->nthreads, 3);
	ck_assert_uint_eq(info->threads[0].nregs, 0);
	ck_assert_int_eq(info->threads[0].tid, 4242);
	ck_assert(info->has_siginfo && info->has_files);
	elfcore_info_free(info);
	free(c.buf);
}
END_TEST

START_TEST(test_signal_senders)
{
	struct cc_builder *b = malloc(sizeof(*b));
	struct cc_core c;
	struct elfcore_info *info = NULL;
	static const struct {
		int signo, code;
		bool addr, sender;
	} cases[] = {
		{ SIGABRT, -6, false, true },  { SIGSEGV, 0, false, true },   { SIGSEGV, 0x80, false, true },
		{ SIGALRM, -2, false, false }, { SIGIO, -5, false, false },   { SIGUSR1, -1, false, true },
		{ SIGBUS, 2, true, false },    { SIGFPE, 1, true, false },    { SIGILL, 4, true, false },
		{ SIGTRAP, 1, true, false },   { SIGCHLD, 1, false, false },  { SIGSYS, 1, true, false },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		cc_init(b, EM_X86_64);
		cc_siginfo(b, cases[i].signo, cases[i].code, 0x1234 | (1000ull << 32), 59 | (0xc000003eull << 32));
		cc_finish(b, &c);
		ck_assert_int_eq(elfcore_parse(c.buf, c.len, &info), 0);
		ck_assert(info->has_siginfo);
		ck_assert_int_eq(info->siginfo.signo, cases[i].signo);
		ck_assert_int_eq(info->siginfo.code, cases[i].code);
		ck_assert_int_eq(info->siginfo.has_addr, cases[i].addr);
		ck_assert_int_eq(info->siginfo.has_sender, cases[i].sender);
		if (cases[i].addr)
			ck_assert_uint_eq(info->siginfo.addr, 0x1234 | (1000ull << 32));
		if (cases[i].sender) {
			ck_assert_int_eq(info->siginfo.pid, 0x1234);
			ck_assert_uint_eq(info->siginfo.uid, 1000);
		}
		ck_assert_int_eq(info->siginfo.has_syscall, cases[i].signo == SIGSYS);
		if (cases[i].signo == SIGSYS) {
			ck_assert_int_eq(info->siginfo.syscall, 59);
			ck_assert_uint_eq(info->siginfo.arch, 0xc000003e);
		}
		elfcore_info_free(info);
		free(c.buf);
	}
	free(b);
}
END_TEST

START_TEST(test_read_mem_and_execfn)
{
	struct cc_builder *b = malloc(sizeof(*b));
	struct cc_core c;
	struct elfcore_info *info = NULL;
	char s[32];
	/* the string straddles two adjacent segments */
	uint64_t av[] = { AT_EXECFN, 0x10ff8 };
	cc_init(b, EM_X86_64);
	cc_auxv(b, av, 1);
	cc_load(b, 0x10000, 0x1000, 0x1000, PF_R, NULL, 0);
	memcpy(s, "/opt/split/name", 16);
	cc_load(b, 0x11000, 0x2000, 0x1000, PF_R, NULL, 0); /* memsz > filesz: the rest was not dumped */
	cc_finish(b, &c);
	memcpy(c.buf + c.load_off[0] + 0xff8, s, 8);
	memcpy(c.buf + c.load_off[1], s + 8, 8);
	ck_assert_int_eq(elfcore_parse(c.buf, c.len, &info), 0);
	ck_assert_str_eq(info->execfn, "/opt/split/name");
	unsigned char out[0x1800];
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, 0x10800, sizeof(out), out), 0);
	ck_assert_uint_eq(out[0], 0x00);
	ck_assert_uint_eq(out[0x1800 - 1], (unsigned char)(0x11fff));
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, 0x11ff0, 32, out), -ENODATA); /* not dumped */
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, 0xfff0, 32, out), -ENODATA);  /* before */
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, UINT64_MAX - 3, 8, out), -ENODATA);
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, 0x10000, 0, out), 0);
	/* a shorter buffer than the one parsed: reads stay inside it */
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.load_off[1], 0x11000, 1, out), -ENODATA);
	char *str = NULL;
	ck_assert_int_eq(elfcore_read_str(info, c.buf, c.len, 0x10001, 64, &str), -E2BIG); /* no NUL in 64 */
	ck_assert_int_eq(elfcore_read_str(info, c.buf, c.len, 0x10001, 0, &str), -E2BIG);
	ck_assert_int_eq(elfcore_read_str(info, c.buf, c.len, 0x10001, 255, &str), -E2BIG);
	ck_assert_int_eq(elfcore_read_str(info, c.buf, c.len, 0x10001, 256, &str), 0); /* 0x10100 holds 0 */
	ck_assert_uint_eq(strlen(str), 255);
	free(str);
	ck_assert_int_eq(elfcore_read_str(info, c.buf, c.len, 0x10000, 1, &str), 0);
	ck_assert_str_eq(str, "");
	free(str);
	elfcore_info_free(info);
	free(c.buf);

	/* AT_EXECFN in memory the core does not have */
	cc_init(b, EM_X86_64);
	av[1] = 0x50000;
	cc_auxv(b, av, 1);
	cc_load(b, 0x10000, 0x1000, 0x1000, PF_R, NULL, 0);
	cc_finish(b, &c);
	ck_assert_int_eq(elfcore_parse(c.buf, c.len, &info), 0);
	ck_assert(info->auxv.has_execfn);
	ck_assert_ptr_null(info->execfn);
	elfcore_info_free(info);
	free(c.buf);
	free(b);
}
END_TEST

/* Cut the reference core at every length: never a crash, never an overread;
 * every note wholly inside the cut is parsed, and the result says truncated. */
START_TEST(test_cut_everywhere)
{
	struct cc_core c;
	cc_reference_core(&c, EM_X86_64);
	static const int prstatus_note[] = { 0, 7, 9 }; /* note indexes of the NT_PRSTATUS notes */
	for (size_t cut = 0; cut < c.len; cut++) {
		struct elfcore_info *info = NULL;
		const char *why = NULL;
		int r = parse_copy(c.buf, cut, &info, &why);
		if (cut < c.phoff + sizeof(Elf64_Phdr)) {
			ck_assert_int_eq(r, -EBADMSG);
			ck_assert_ptr_nonnull(why);
			continue;
		}
		ck_assert_int_eq(r, 0);
		ck_assert(info->truncated);
		size_t whole = 0;
		for (size_t i = 0; i < c.nnotes; i++)
			if (c.note_end[i] <= cut)
				whole++;
		ck_assert_msg(info->notes == whole, "cut %zu: %zu notes, expected %zu", cut, info->notes, whole);
		size_t threads = 0;
		for (size_t i = 0; i < ARRAY_SIZE(prstatus_note); i++)
			if (c.note_end[prstatus_note[i]] <= cut)
				threads++;
		ck_assert_uint_eq(info->nthreads, threads);
		ck_assert_uint_eq(info->malformed, 0); /* a cut is truncation, not malformation */
		if (cut >= c.note_end[1])
			ck_assert(info->has_prpsinfo);
		/* execfn lives at the end of the stack: only when the cut leaves it */
		if (info->execfn)
			ck_assert_uint_ge(cut, c.load_off[4] + (CC_EXECFN - CC_STACK) + 16);
		elfcore_info_free(info);
	}
	free(c.buf);
}
END_TEST

static void set_u32(unsigned char *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

START_TEST(test_hostile_note_sizes)
{
	struct cc_core c;
	cc_reference_core(&c, EM_X86_64);
	static const uint32_t sizes[] = { 0xffffffffu, 0xfffffffeu, 0xfffffffdu, 0xfffffffcu, 0x80000000u,
					  0x7fffffffu, 0x10000u,     4097,        0 };
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		for (int field = 0; field < 2; field++) {
			unsigned char *m = malloc(c.len);
			memcpy(m, c.buf, c.len);
			set_u32(m + c.note_end[0] + 4 * (size_t)field, sizes[i]); /* second note: namesz, descsz */
			struct elfcore_info *info = NULL;
			ck_assert_int_eq(parse_copy(m, c.len, &info, NULL), 0);
			ck_assert_uint_ge(info->nthreads, 1); /* the first note is intact */
			ck_assert_int_eq(info->threads[0].tid, 4242);
			if (sizes[i] > c.len)
				ck_assert_uint_eq(info->malformed, 1);
			if (info->malformed)
				ck_assert_ptr_nonnull(info->malformed_why);
			elfcore_info_free(info);
			free(m);
		}
	}
	free(c.buf);
}
END_TEST

START_TEST(test_name_without_nul)
{
	struct cc_builder *b = malloc(sizeof(*b));
	struct cc_core c;
	struct elfcore_info *info = NULL;
	unsigned char pr[336] = { 0 };
	cc_init(b, EM_X86_64);
	cc_note_raw(b, 4, sizeof(pr), NT_PRSTATUS, "CORE", 4, pr, sizeof(pr)); /* no NUL in namesz */
	cc_note_raw(b, 5, sizeof(pr), NT_PRSTATUS, "COREX", 5, pr, sizeof(pr)); /* NUL missing, last byte X */
	cc_note_raw(b, 0, sizeof(pr), NT_PRSTATUS, NULL, 0, pr, sizeof(pr));     /* no name */
	cc_prstatus(b, 9, 0, 0, 0, 0);
	cc_finish(b, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert_uint_eq(info->notes, 4);
	ck_assert_uint_eq(info->nthreads, 1);
	ck_assert_int_eq(info->threads[0].tid, 9);
	elfcore_info_free(info);
	free(c.buf);
	free(b);
}
END_TEST

START_TEST(test_short_known_notes)
{
	struct cc_builder *b = malloc(sizeof(*b));
	struct cc_core c;
	struct elfcore_info *info = NULL;
	unsigned char z[200] = { 0 };
	cc_init(b, EM_X86_64);
	cc_note(b, NT_PRSTATUS, "CORE", z, 100);  /* shorter than the header */
	cc_note(b, NT_PRSTATUS, "CORE", z, 200);  /* header, registers cut */
	cc_note(b, NT_PRPSINFO, "CORE", z, 135);
	cc_note(b, NT_SIGINFO, "CORE", z, 31);
	cc_note(b, NT_FILE, "CORE", z, 15);
	cc_note(b, NT_AUXV, "CORE", z, 17);        /* one entry (AT_NULL) and a bit */
	cc_note(b, NT_FPREGSET, "CORE", z, 0);
	cc_finish(b, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert_uint_eq(info->threads_seen, 2);
	ck_assert_uint_eq(info->nthreads, 1);
	ck_assert_uint_eq(info->threads[0].nregs, 0);
	ck_assert(info->threads[0].fpregs);
	ck_assert(!info->has_prpsinfo && !info->has_siginfo && !info->has_files);
	ck_assert(info->has_auxv);
	ck_assert_uint_eq(info->nauxv, 0);
	ck_assert_uint_eq(info->malformed, 6);
	ck_assert_str_eq(info->malformed_why, "NT_PRSTATUS too short");
	elfcore_info_free(info);
	free(c.buf);

	/* duplicates: the first wins, the rest are counted */
	cc_reference(b, EM_X86_64);
	cc_siginfo(b, SIGILL, 1, 0, 0);
	cc_finish(b, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert_int_eq(info->siginfo.signo, SIGSEGV);
	ck_assert_uint_eq(info->malformed, 1);
	ck_assert_str_eq(info->malformed_why, "more than one NT_SIGINFO");
	elfcore_info_free(info);
	free(c.buf);
	free(b);
}
END_TEST

START_TEST(test_ntfile_validation)
{
	struct cc_builder *b = malloc(sizeof(*b));
	struct cc_core c;
	struct elfcore_info *info = NULL;
	struct cc_file f[] = { { 0x1000, 0x2000, 0, "/a" }, { 0x3000, 0x2000, 0, "/backwards" },
			       { 0x5000, 0x6000, 1, "/c" } };
	cc_init(b, EM_X86_64);
	cc_ntfile(b, f, 3, 4096);
	cc_finish(b, &c);
	/* cut the last name's NUL off by shrinking descsz by one */
	Elf64_Nhdr nh;
	memcpy(&nh, c.buf + c.notes_off, sizeof(nh));
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert_uint_eq(info->nfiles, 2);
	ck_assert_str_eq(info->files[1].name, "/c");
	ck_assert_str_eq(info->malformed_why, "NT_FILE entry ends before it starts");
	elfcore_info_free(info);
	nh.n_descsz--;
	memcpy(c.buf + c.notes_off, &nh, sizeof(nh));
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert_uint_eq(info->nfiles, 1);
	ck_assert_uint_eq(info->malformed, 2);
	elfcore_info_free(info);
	/* count that does not fit the note, including one that would overflow count * 24 */
	static const uint64_t counts[] = { 4, 0x0aaaaaaaaaaaaaabull, UINT64_MAX, 1ull << 61 };
	for (size_t i = 0; i < ARRAY_SIZE(counts); i++) {
		memcpy(c.buf + c.notes_off + sizeof(nh) + 8, &counts[i], 8);
		ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
		ck_assert(!info->has_files);
		ck_assert_str_eq(info->malformed_why, "NT_FILE count larger than the note");
		elfcore_info_free(info);
	}
	free(c.buf);
	free(b);
}
END_TEST

START_TEST(test_headers)
{
	struct cc_core c;
	struct elfcore_info *info = NULL;
	const char *why = NULL;
	cc_reference_core(&c, EM_X86_64);
	Elf64_Ehdr eh0 = cc_get_ehdr(&c), eh;
	struct {
		int field;
		uint64_t value;
		int r;
		const char *why;
	} cases[] = {
		{ 0, 0, -EBADMSG, "no program headers" },
		{ 0, PN_XNUM, -EBADMSG, "extended" },
		{ 0, 65534, 0, NULL },
		{ 0, 1, 0, NULL },
		{ 1, 0, -EBADMSG, "overlaps the ELF header" },
		{ 1, 63, -EBADMSG, "overlaps the ELF header" },
		{ 1, 1u << 30, -EBADMSG, "outside the file" },
		{ 1, UINT64_MAX - 20, -EBADMSG, "outside the file" },
		{ 1, UINT64_MAX, -EBADMSG, "outside the file" },
		{ 2, 0, -EBADMSG, "entry size" },
		{ 2, 64, -EBADMSG, "entry size" },
		{ 3, ET_EXEC, -EBADMSG, "not a core" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		eh = eh0;
		if (cases[i].field == 0)
			eh.e_phnum = (uint16_t)cases[i].value;
		else if (cases[i].field == 1)
			eh.e_phoff = cases[i].value;
		else if (cases[i].field == 2)
			eh.e_phentsize = (uint16_t)cases[i].value;
		else
			eh.e_type = (uint16_t)cases[i].value;
		cc_set_ehdr(&c, &eh);
		why = NULL;
		int r = parse_copy(c.buf, c.len, &info, &why);
		ck_assert_msg(r == cases[i].r, "case %zu: %d", i, r);
		if (r < 0) {
			ck_assert_ptr_nonnull(strstr(why, cases[i].why));
		} else {
			if (cases[i].value == 65534)
				ck_assert(info->truncated);
			if (cases[i].value == 1) {
				ck_assert_uint_eq(info->nloads, 0); /* just the notes */
				ck_assert_uint_eq(info->nthreads, 3);
			}
			elfcore_info_free(info);
		}
	}
	free(c.buf);
}
END_TEST

/* mortemd sizes a core from its first bytes: unknown (1) until the program
 * headers are in, then the size they announce, whether or not the notes are;
 * garbage is refused from the first byte that shows it. */
START_TEST(test_size_known)
{
	struct cc_core c;
	cc_reference_core(&c, EM_X86_64);
	Elf64_Ehdr eh = cc_get_ehdr(&c);
	size_t phend = eh.e_phoff + (size_t)eh.e_phnum * sizeof(Elf64_Phdr);
	uint64_t want = elfcore_expected_size(c.buf);
	ck_assert_uint_gt(want, phend);
	for (size_t len = 0; len <= c.len; len++) {
		unsigned char *b = malloc(len ? len : 1);
		ck_assert_ptr_nonnull(b);
		memcpy(b, c.buf, len);
		uint64_t size = 0;
		int r = elfcore_size_known(b, len, &size);
		if (len < phend) {
			ck_assert_msg(r == 1, "len %zu: %d", len, r);
			ck_assert_uint_eq(size, 0);
		} else {
			ck_assert_msg(r == 0, "len %zu: %d", len, r);
			ck_assert_uint_eq(size, want);
		}
		free(b);
	}
	unsigned char junk[256];
	memset(junk, 'x', sizeof(junk));
	uint64_t size = 0;
	ck_assert_int_eq(elfcore_size_known(junk, 1, &size), -EBADMSG);
	ck_assert_int_eq(elfcore_size_known(junk, sizeof(junk), &size), -EBADMSG);
	eh.e_type = ET_EXEC;
	cc_set_ehdr(&c, &eh);
	ck_assert_int_eq(elfcore_size_known(c.buf, c.len, &size), -EBADMSG);
	free(c.buf);
}
END_TEST

START_TEST(test_segments)
{
	struct cc_core c;
	struct elfcore_info *info = NULL;
	unsigned char b[16];
	cc_reference_core(&c, EM_X86_64);
	Elf64_Phdr stack = cc_get_phdr(&c, 5), heap = cc_get_phdr(&c, 3), exe = cc_get_phdr(&c, 1);
	stack.p_offset = c.len + 4096;
	heap.p_offset = UINT64_MAX - 16;
	exe.p_vaddr = CC_LIBC_BASE + 0x10; /* overlaps libc's segment */
	exe.p_filesz = UINT64_MAX;
	cc_set_phdr(&c, 5, &stack);
	cc_set_phdr(&c, 3, &heap);
	cc_set_phdr(&c, 1, &exe);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert(info->truncated);
	ck_assert_uint_eq(info->nthreads, 3);
	ck_assert_uint_eq(info->loads[4].avail, 0);
	ck_assert_uint_eq(info->loads[2].avail, 0);
	ck_assert_uint_eq(info->loads[0].avail, c.len - exe.p_offset);
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, CC_STACK, 8, b), -ENODATA);
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, CC_HEAP, 8, b), -ENODATA);
	ck_assert_int_eq(elfcore_read_mem(info, c.buf, c.len, CC_LIBC_BASE + 0x10, 8, b), 0);
	ck_assert_ptr_null(info->execfn);
	elfcore_info_free(info);

	/* notes outside the file, or wrapping */
	Elf64_Phdr note = cc_get_phdr(&c, 0), n2 = note;
	n2.p_offset = UINT64_MAX - 3;
	cc_set_phdr(&c, 0, &n2);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert(info->truncated);
	ck_assert_uint_eq(info->notes, 0);
	elfcore_info_free(info);
	n2 = note;
	n2.p_filesz = UINT64_MAX;
	cc_set_phdr(&c, 0, &n2);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert(info->truncated);
	ck_assert_uint_ge(info->nthreads, 3); /* the loads' bytes follow the notes: junk after */
	elfcore_info_free(info);
	free(c.buf);
}
END_TEST

static int read_whole(const char *path, unsigned char **buf, size_t *len)
{
	char *b = NULL;
	bool trunc = false;
	int r = read_file_at(AT_FDCWD, path, 64u << 20, &b, len, &trunc);
	*buf = (unsigned char *)b;
	return r;
}

START_TEST(test_not_cores)
{
	struct elfcore_info *info = NULL;
	const char *why = NULL;
	unsigned char *b;
	size_t len;
	ck_assert_int_eq(read_whole("/bin/true", &b, &len), 0);
	ck_assert_int_eq(parse_copy(b, len, &info, &why), -EBADMSG);
	ck_assert_str_eq(why, "ELF file is not a core (e_type)");
	free(b);

	struct cc_builder *bd = malloc(sizeof(*bd));
	struct cc_core c;
	cc_init(bd, EM_X86_64);
	bd->ident_class = ELFCLASS32;
	cc_finish(bd, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, &why), -EBADMSG);
	ck_assert_str_eq(why, "not a 64-bit ELF file");
	free(c.buf);
	cc_init(bd, EM_X86_64);
	bd->ident_data = ELFDATA2MSB;
	cc_finish(bd, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, &why), -EBADMSG);
	ck_assert_str_eq(why, "not a little-endian ELF file");
	free(c.buf);
	free(bd);

	ck_assert_int_eq(parse_copy((const unsigned char *)"", 0, &info, &why), -EBADMSG);
	ck_assert_str_eq(why, "empty file");
	ck_assert_int_eq(parse_copy((const unsigned char *)"#!/bin/sh\n", 10, &info, &why), -EBADMSG);
	ck_assert_str_eq(why, "not an ELF file (bad magic)");
	ck_assert_int_eq(parse_copy((const unsigned char *)"\177E", 2, &info, &why), -EBADMSG);
	ck_assert_str_eq(why, "too short for an ELF header");
	ck_assert_int_eq(parse_copy((const unsigned char *)"\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\4", 17, &info, &why),
			 -EBADMSG);
	ck_assert_str_eq(why, "too short for an ELF header");
	ck_assert_int_eq(elfcore_parse((const unsigned char *)"x", 1, &info), -EBADMSG); /* why may be NULL */
}
END_TEST

START_TEST(test_caps)
{
	struct cc_builder *b = malloc(sizeof(*b));
	struct cc_core c;
	struct elfcore_info *info = NULL;

	cc_init(b, EM_X86_64);
	for (int i = 0; i < 10000; i++)
		cc_prstatus(b, 100 + i, 0, 0, 0x1000, 0x2000);
	cc_finish(b, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert_uint_eq(info->nthreads, ELFCORE_THREADS_MAX);
	ck_assert_uint_eq(info->threads_seen, 10000);
	ck_assert(info->threads_capped);
	ck_assert(!info->notes_capped);
	ck_assert_int_eq(info->threads[ELFCORE_THREADS_MAX - 1].tid, 100 + ELFCORE_THREADS_MAX - 1);
	elfcore_info_free(info);
	free(c.buf);

	cc_init(b, EM_X86_64);
	for (int i = 0; i < ELFCORE_NOTES_MAX + 100; i++)
		cc_note(b, 0x1234, "X", NULL, 0);
	cc_prstatus(b, 1, 0, 0, 0, 0); /* past the cap: not seen */
	cc_finish(b, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert(info->notes_capped);
	ck_assert_uint_eq(info->notes, ELFCORE_NOTES_MAX);
	ck_assert_uint_eq(info->nthreads, 0);
	elfcore_info_free(info);
	free(c.buf);

	cc_init(b, EM_X86_64);
	uint64_t *av = calloc(2 * (ELFCORE_AUXV_MAX + 50), 8);
	for (size_t i = 0; i < ELFCORE_AUXV_MAX + 50; i++) {
		av[2 * i] = i == ELFCORE_AUXV_MAX + 10 ? AT_ENTRY : 1000 + i;
		av[2 * i + 1] = i;
	}
	cc_auxv(b, av, ELFCORE_AUXV_MAX + 50);
	free(av);
	cc_finish(b, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert(info->auxv_capped);
	ck_assert_uint_eq(info->nauxv, ELFCORE_AUXV_MAX);
	ck_assert(!info->auxv.has_entry); /* past the cap */
	elfcore_info_free(info);
	free(c.buf);

	cc_init(b, EM_X86_64);
	size_t nf = ELFCORE_FILES_MAX + 10;
	struct cc_file *f = calloc(nf, sizeof(*f));
	for (size_t i = 0; i < nf; i++)
		f[i] = (struct cc_file){ 0x1000 * i, 0x1000 * i + 0x1000, i, i % 2 ? "/lib/odd.so" : "/lib/even.so" };
	cc_ntfile(b, f, nf, 4096);
	free(f);
	cc_finish(b, &c);
	ck_assert_int_eq(parse_copy(c.buf, c.len, &info, NULL), 0);
	ck_assert(info->files_capped);
	ck_assert_uint_eq(info->files_count, nf);
	ck_assert_uint_eq(info->nfiles, ELFCORE_FILES_MAX);
	ck_assert_str_eq(info->files[ELFCORE_FILES_MAX - 1].name, "/lib/odd.so");
	elfcore_info_free(info);
	free(c.buf);
	free(b);
}
END_TEST

/* Random byte flips over the head of the reference core. */
START_TEST(test_mutations)
{
	struct cc_core c;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	cc_reference_core(&c, EM_X86_64);
	size_t head = c.note_end[c.nnotes - 1];
	unsigned char *m = malloc(c.len);
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(m, c.buf, c.len);
		for (int k = 0; k < 1 + iter % 6; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			m[x % head] = (unsigned char)(x >> 40);
		}
		struct elfcore_info *info = NULL;
		if (parse_copy(m, c.len, &info, NULL) == 0) {
			uint64_t sps[ELFCORE_THREADS_MAX];
			struct siginfo_place p;
			for (size_t i = 0; i < info->nthreads; i++)
				sps[i] = info->threads[i].sp;
			ck_assert_int_eq(siginfo_place(x, info, sps, info->nthreads, &p), 0);
			ck_assert_ptr_nonnull(p.region);
			ck_assert_int_eq(siginfo_place(info->siginfo.addr, info, sps, info->nthreads, &p), 0);
			elfcore_info_free(info);
		}
	}
	free(m);
	free(c.buf);
}
END_TEST

static bool corpus_file(const struct dirent *d)
{
	return strncmp(d->d_name, "ok-", 3) == 0 || strncmp(d->d_name, "bad-", 4) == 0;
}

START_TEST(test_corpus_files)
{
	DIR *dir = opendir(CORPUS_DIR);
	struct dirent *d;
	size_t n = 0;
	ck_assert_msg(dir != NULL, "run from the repository root");
	while ((d = readdir(dir))) {
		if (!corpus_file(d))
			continue;
		char path[512];
		unsigned char *b;
		size_t len;
		struct elfcore_info *info = NULL;
		const char *why = NULL;
		snprintf(path, sizeof(path), "%s/%s", CORPUS_DIR, d->d_name);
		ck_assert_int_eq(read_whole(path, &b, &len), 0);
		int r = parse_copy(b, len, &info, &why);
		if (d->d_name[0] == 'o') {
			ck_assert_msg(r == 0, "%s: %d", d->d_name, r);
			uint64_t sps[ELFCORE_THREADS_MAX];
			struct siginfo_place p;
			for (size_t i = 0; i < info->nthreads; i++)
				sps[i] = info->threads[i].sp;
			ck_assert_int_eq(siginfo_place(info->siginfo.addr, info, sps, info->nthreads, &p), 0);
			elfcore_info_free(info);
		} else {
			ck_assert_msg(r == -EBADMSG, "%s: %d", d->d_name, r);
			ck_assert_ptr_nonnull(why);
		}
		free(b);
		n++;
	}
	closedir(dir);
	ck_assert_uint_ge(n, 20);
}
END_TEST

/* The corpus is what the generator writes today. */
START_TEST(test_corpus_up_to_date)
{
	char tmp[] = "/tmp/check_elfcore.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	int n = cc_corpus_write(tmp);
	ck_assert_int_gt(n, 0);
	DIR *dir = opendir(tmp);
	struct dirent *d;
	int seen = 0;
	while ((d = readdir(dir))) {
		if (!corpus_file(d))
			continue;
		char p1[512], p2[512];
		unsigned char *a, *b;
		size_t la, lb;
		snprintf(p1, sizeof(p1), "%s/%s", tmp, d->d_name);
		snprintf(p2, sizeof(p2), "%s/%s", CORPUS_DIR, d->d_name);
		ck_assert_int_eq(read_whole(p1, &a, &la), 0);
		ck_assert_msg(read_whole(p2, &b, &lb) == 0, "%s missing: regenerate (tests/corpus/README)", p2);
		ck_assert_msg(la == lb && memcmp(a, b, la) == 0, "%s differs: regenerate (tests/corpus/README)", p2);
		free(a);
		free(b);
		(void)unlink(p1);
		seen++;
	}
	closedir(dir);
	(void)rmdir(tmp);
	ck_assert_int_eq(seen, n);
	/* and nothing generated-looking is stale */
	dir = opendir(CORPUS_DIR);
	int have = 0;
	while ((d = readdir(dir)))
		if (corpus_file(d) && !strstr(d->d_name, "-fuzz-"))
			have++;
	closedir(dir);
	ck_assert_msg(have == n, "tests/corpus holds %d generated files, the generator writes %d", have, n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("elfcore");
	TCase *tc = tcase_create("parse");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_fakecore);
	tcase_add_test(tc, test_size_known);
	tcase_add_test(tc, test_reference_x86_64);
	tcase_add_test(tc, test_reference_aarch64);
	tcase_add_test(tc, test_other_machine);
	tcase_add_test(tc, test_signal_senders);
	tcase_add_test(tc, test_read_mem_and_execfn);
	tcase_add_test(tc, test_cut_everywhere);
	tcase_add_test(tc, test_hostile_note_sizes);
	tcase_add_test(tc, test_name_without_nul);
	tcase_add_test(tc, test_short_known_notes);
	tcase_add_test(tc, test_ntfile_validation);
	tcase_add_test(tc, test_headers);
	tcase_add_test(tc, test_segments);
	tcase_add_test(tc, test_not_cores);
	tcase_add_test(tc, test_caps);
	tcase_add_test(tc, test_mutations);
	tcase_add_test(tc, test_corpus_files);
	tcase_add_test(tc, test_corpus_up_to_date);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
