/* A small ELF core builder for the elfcore and siginfo suites and for the
 * corpus generator (tests/corpus/gen_corpus.c): notes of any shape, PT_LOADs
 * of any shape, and a record of where each note ends so that tests can cut a
 * core at every boundary. Header-only and static, like fakecore.h. */
#pragma once

#include <elf.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CC_NOTES_MAX 16384 /* note ends recorded */
#define CC_LOADS_MAX 16

struct cc_load {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags;
	unsigned char *data; /* filesz bytes */
};

struct cc_builder {
	uint16_t machine;
	unsigned char ident_class, ident_data;
	uint16_t type;
	unsigned char *notes;
	size_t notes_len, notes_cap;
	size_t note_end[CC_NOTES_MAX]; /* offsets within notes */
	size_t nnotes;
	struct cc_load loads[CC_LOADS_MAX];
	size_t nloads;
};

struct cc_core {
	unsigned char *buf;
	size_t len;
	size_t notes_off;              /* in buf */
	size_t note_end[CC_NOTES_MAX]; /* in buf */
	size_t nnotes;
	size_t phoff;
	size_t load_off[CC_LOADS_MAX];
};

static inline void cc_init(struct cc_builder *b, uint16_t machine)
{
	memset(b, 0, sizeof(*b));
	b->machine = machine;
	b->ident_class = ELFCLASS64;
	b->ident_data = ELFDATA2LSB;
	b->type = ET_CORE;
}

static inline void cc_reserve(struct cc_builder *b, size_t more)
{
	if (b->notes_cap - b->notes_len >= more)
		return;
	size_t cap = b->notes_cap ? b->notes_cap : 4096;
	while (cap - b->notes_len < more)
		cap *= 2;
	b->notes = realloc(b->notes, cap);
	if (!b->notes)
		abort();
	b->notes_cap = cap;
}

/* A note with explicit header fields: sizes may lie about the bytes that follow. */
static inline void cc_note_raw(struct cc_builder *b, uint32_t namesz, uint32_t descsz, uint32_t type,
			       const void *name, size_t name_bytes, const void *desc, size_t desc_bytes)
{
	Elf64_Nhdr nh = { namesz, descsz, type };
	size_t nb = (name_bytes + 3) & ~(size_t)3, db = (desc_bytes + 3) & ~(size_t)3;
	cc_reserve(b, sizeof(nh) + nb + db);
	memcpy(b->notes + b->notes_len, &nh, sizeof(nh));
	b->notes_len += sizeof(nh);
	memset(b->notes + b->notes_len, 0, nb + db);
	if (name_bytes)
		memcpy(b->notes + b->notes_len, name, name_bytes);
	b->notes_len += nb;
	if (desc_bytes)
		memcpy(b->notes + b->notes_len, desc, desc_bytes);
	b->notes_len += db;
	if (b->nnotes < CC_NOTES_MAX)
		b->note_end[b->nnotes++] = b->notes_len;
}

static inline void cc_note(struct cc_builder *b, uint32_t type, const char *name, const void *desc, size_t descsz)
{
	size_t nl = strlen(name) + 1;
	cc_note_raw(b, (uint32_t)nl, (uint32_t)descsz, type, name, nl, desc, descsz);
}

/* pr_reg values: register i holds base + i, with sp and pc set explicitly. */
static inline void cc_prstatus(struct cc_builder *b, int32_t tid, int32_t signo, int16_t cursig, uint64_t sp,
			       uint64_t pc)
{
	unsigned char pr[392];
	size_t nregs = b->machine == EM_AARCH64 ? 34 : 27, size = b->machine == EM_AARCH64 ? 392 : 336;
	memset(pr, 0, sizeof(pr));
	int32_t code = 0, err = 0;
	memcpy(pr, &signo, 4);
	memcpy(pr + 4, &code, 4);
	memcpy(pr + 8, &err, 4);
	memcpy(pr + 12, &cursig, 2);
	memcpy(pr + 32, &tid, 4);
	int32_t ppid = 1, pgrp = tid, sid = tid;
	memcpy(pr + 36, &ppid, 4);
	memcpy(pr + 40, &pgrp, 4);
	memcpy(pr + 44, &sid, 4);
	for (size_t i = 0; i < nregs; i++) {
		uint64_t v = 0x1000 * (uint64_t)tid + i;
		memcpy(pr + 112 + i * 8, &v, 8);
	}
	size_t spi = b->machine == EM_AARCH64 ? 31 : 19, pci = b->machine == EM_AARCH64 ? 32 : 16;
	memcpy(pr + 112 + spi * 8, &sp, 8);
	memcpy(pr + 112 + pci * 8, &pc, 8);
	cc_note(b, NT_PRSTATUS, "CORE", pr, size);
}

static inline void cc_prpsinfo(struct cc_builder *b, int32_t pid, uint32_t uid, const char *fname,
			       const char *psargs)
{
	unsigned char p[136];
	memset(p, 0, sizeof(p));
	p[0] = 0;
	p[1] = 'R';
	uint32_t gid = uid + 1;
	int32_t ppid = 1;
	memcpy(p + 16, &uid, 4);
	memcpy(p + 20, &gid, 4);
	memcpy(p + 24, &pid, 4);
	memcpy(p + 28, &ppid, 4);
	memcpy(p + 32, &pid, 4);
	memcpy(p + 36, &pid, 4);
	strncpy((char *)p + 40, fname, 16);  /* may fill all 16: no NUL, as the kernel does */
	strncpy((char *)p + 56, psargs, 80);
	cc_note(b, NT_PRPSINFO, "CORE", p, sizeof(p));
}

/* siginfo_t: signo, errno, code, then the union at 16. */
static inline void cc_siginfo(struct cc_builder *b, int32_t signo, int32_t code, uint64_t u0, uint64_t u1)
{
	unsigned char s[128];
	int32_t err = 0;
	memset(s, 0, sizeof(s));
	memcpy(s, &signo, 4);
	memcpy(s + 4, &err, 4);
	memcpy(s + 8, &code, 4);
	memcpy(s + 16, &u0, 8);
	memcpy(s + 24, &u1, 8);
	cc_note(b, NT_SIGINFO, "CORE", s, sizeof(s));
}

/* pairs: n (type, value) pairs, AT_NULL appended */
static inline void cc_auxv(struct cc_builder *b, const uint64_t *pairs, size_t n)
{
	uint64_t *a = calloc(2 * n + 2, 8);
	memcpy(a, pairs, 16 * n);
	cc_note(b, NT_AUXV, "CORE", a, 16 * n + 16);
	free(a);
}

struct cc_file {
	uint64_t start, end, pgoff;
	const char *name;
};

static inline void cc_ntfile(struct cc_builder *b, const struct cc_file *f, size_t n, uint64_t page)
{
	size_t sz = 16 + 24 * n;
	for (size_t i = 0; i < n; i++)
		sz += strlen(f[i].name) + 1;
	unsigned char *d = calloc(1, sz);
	uint64_t hdr[2] = { n, page };
	memcpy(d, hdr, 16);
	size_t pos = 16 + 24 * n;
	for (size_t i = 0; i < n; i++) {
		uint64_t e[3] = { f[i].start, f[i].end, f[i].pgoff };
		memcpy(d + 16 + 24 * i, e, 24);
		memcpy(d + pos, f[i].name, strlen(f[i].name) + 1);
		pos += strlen(f[i].name) + 1;
	}
	cc_note(b, NT_FILE, "CORE", d, sz);
	free(d);
}

/* A PT_LOAD; data may be NULL (then each byte is its address's low byte). */
static inline void cc_load(struct cc_builder *b, uint64_t vaddr, uint64_t memsz, uint64_t filesz, uint32_t flags,
			   const void *data, size_t data_len)
{
	struct cc_load *l = &b->loads[b->nloads++];
	l->vaddr = vaddr;
	l->memsz = memsz;
	l->filesz = filesz;
	l->flags = flags;
	l->data = calloc(1, filesz ? filesz : 1);
	for (uint64_t i = 0; i < filesz; i++)
		l->data[i] = (unsigned char)(vaddr + i);
	if (data)
		memcpy(l->data, data, data_len < filesz ? data_len : filesz);
}

/* Lay out: ELF header, program headers (PT_NOTE, then the PT_LOADs), notes,
 * then each load's data 16-aligned (small files: the corpus stays small). */
static inline void cc_finish(struct cc_builder *b, struct cc_core *c)
{
	size_t nph = 1 + b->nloads;
	memset(c, 0, sizeof(*c));
	c->phoff = sizeof(Elf64_Ehdr);
	c->notes_off = c->phoff + nph * sizeof(Elf64_Phdr);
	size_t off = (c->notes_off + b->notes_len + 15) & ~(size_t)15;
	for (size_t i = 0; i < b->nloads; i++) {
		c->load_off[i] = off;
		off = (off + b->loads[i].filesz + 15) & ~(size_t)15;
	}
	c->len = off;
	c->buf = calloc(1, c->len);
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = b->ident_class;
	eh.e_ident[EI_DATA] = b->ident_data;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = b->type;
	eh.e_machine = b->machine;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = c->phoff;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = (uint16_t)nph;
	memcpy(c->buf, &eh, sizeof(eh));
	Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = c->notes_off, .p_filesz = b->notes_len, .p_align = 4 };
	memcpy(c->buf + c->phoff, &ph, sizeof(ph));
	for (size_t i = 0; i < b->nloads; i++) {
		struct cc_load *l = &b->loads[i];
		Elf64_Phdr lp = { .p_type = PT_LOAD, .p_flags = l->flags, .p_offset = c->load_off[i], .p_vaddr = l->vaddr,
				  .p_filesz = l->filesz, .p_memsz = l->memsz, .p_align = 4096 };
		memcpy(c->buf + c->phoff + (1 + i) * sizeof(lp), &lp, sizeof(lp));
		memcpy(c->buf + c->load_off[i], l->data, l->filesz);
		free(l->data);
	}
	if (b->notes_len)
		memcpy(c->buf + c->notes_off, b->notes, b->notes_len);
	c->nnotes = b->nnotes;
	for (size_t i = 0; i < b->nnotes; i++)
		c->note_end[i] = c->notes_off + b->note_end[i];
	free(b->notes);
	b->notes = NULL;
}

static inline void cc_set_phdr(struct cc_core *c, size_t i, const Elf64_Phdr *ph)
{
	memcpy(c->buf + c->phoff + i * sizeof(*ph), ph, sizeof(*ph));
}

static inline Elf64_Phdr cc_get_phdr(const struct cc_core *c, size_t i)
{
	Elf64_Phdr ph;
	memcpy(&ph, c->buf + c->phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

static inline void cc_set_ehdr(struct cc_core *c, const Elf64_Ehdr *eh)
{
	memcpy(c->buf, eh, sizeof(*eh));
}

static inline Elf64_Ehdr cc_get_ehdr(const struct cc_core *c)
{
	Elf64_Ehdr eh;
	memcpy(&eh, c->buf, sizeof(eh));
	return eh;
}

/* The reference core: an x86-64 process killed by SIGSEGV (SEGV_MAPERR at
 * 0x7ff0000010 - 8, just below its stack: a stack overflow), three threads, an
 * executable and libc mapped from files, a heap, a stack with a PROT_NONE guard
 * below it, and AT_EXECFN pointing into the stack. */
#define CC_EXE_BASE   0x555555554000ull
#define CC_LIBC_BASE  0x7f0000000000ull
#define CC_HEAP       0x555555600000ull
#define CC_GUARD      0x7ff0000000ull
#define CC_STACK      0x7ff0010000ull
#define CC_STACK_SIZE 0x2000ull
#define CC_EXECFN     (CC_STACK + 0x1f00)
#define CC_FAULT      (CC_STACK - 8)

static inline void cc_reference(struct cc_builder *b, uint16_t machine)
{
	cc_init(b, machine);
	cc_prstatus(b, 4242, SIGSEGV, SIGSEGV, CC_STACK + 0x10, CC_EXE_BASE + 0x1234);
	cc_prpsinfo(b, 4242, 1000, "victim", "/usr/bin/victim --crash now");
	cc_siginfo(b, SIGSEGV, 1 /* SEGV_MAPERR */, CC_FAULT, 0);
	uint64_t av[] = { AT_PHDR, CC_EXE_BASE + 64, AT_ENTRY, CC_EXE_BASE + 0x1040, AT_BASE, CC_LIBC_BASE + 0x100000,
			  AT_SECURE, 0, AT_SYSINFO_EHDR, 0x7fff00000000ull, AT_EXECFN, CC_EXECFN };
	cc_auxv(b, av, sizeof(av) / 16);
	struct cc_file f[] = {
		{ CC_EXE_BASE, CC_EXE_BASE + 0x1000, 0, "/usr/bin/victim" },
		{ CC_EXE_BASE + 0x1000, CC_EXE_BASE + 0x3000, 1, "/usr/bin/victim" },
		{ CC_LIBC_BASE, CC_LIBC_BASE + 0x28000, 0, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
		{ CC_LIBC_BASE + 0x28000, CC_LIBC_BASE + 0x1bd000, 0x28, "/usr/lib/x86_64-linux-gnu/libc.so.6" },
	};
	cc_ntfile(b, f, 4, 4096);
	unsigned char fp[512] = { 0 };
	cc_note(b, NT_FPREGSET, "CORE", fp, sizeof(fp));
	cc_note(b, 0x202 /* NT_X86_XSTATE */, "LINUX", fp, 64);
	cc_prstatus(b, 4243, 0, 0, CC_STACK + 0x800, CC_LIBC_BASE + 0x30000);
	cc_note(b, NT_FPREGSET, "CORE", fp, sizeof(fp));
	cc_prstatus(b, 4244, 0, 0, CC_HEAP + 0x100, CC_LIBC_BASE + 0x30010);

	unsigned char elfpage[64] = { 0x7f, 'E', 'L', 'F' };
	cc_load(b, CC_EXE_BASE, 0x1000, 0x100, PF_R, elfpage, sizeof(elfpage));
	cc_load(b, CC_LIBC_BASE, 0x28000, 0x40, PF_R, elfpage, sizeof(elfpage));
	cc_load(b, CC_HEAP, 0x21000, 0x200, PF_R | PF_W, NULL, 0);
	cc_load(b, CC_GUARD, 0x10000, 0, 0, NULL, 0); /* PROT_NONE guard */
	char stack[CC_STACK_SIZE];
	memset(stack, 0xab, sizeof(stack));
	memcpy(stack + (CC_EXECFN - CC_STACK), "/usr/bin/victim", 16);
	cc_load(b, CC_STACK, CC_STACK_SIZE, CC_STACK_SIZE, PF_R | PF_W, stack, sizeof(stack));
}

static inline void cc_reference_core(struct cc_core *c, uint16_t machine)
{
	struct cc_builder *b = malloc(sizeof(*b));
	cc_reference(b, machine);
	cc_finish(b, c);
	free(b);
}

/* A checked copy into a mutable core image (and no false -Wstringop-overflow). */
static inline void cc_put(unsigned char *m, size_t len, size_t off, const void *src, size_t n)
{
	if (off > len || n > len - off)
		abort();
	memcpy(m + off, src, n);
}

/* ---- the corpus in tests/corpus: "ok-*" files parse, "bad-*" are refused ---- */

static inline int cc_write(const char *dir, const char *name, const void *buf, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t w = len ? fwrite(buf, 1, len, f) : 0;
	return fclose(f) == 0 && w == len ? 0 : -1;
}

/* Writes every corpus file into dir; returns how many, or -1. */
static inline int cc_corpus_write(const char *dir)
{
	struct cc_core c;
	struct cc_builder *b = malloc(sizeof(*b));
	int n = 0, bad = 0;
#define CC_OUT(name, buf, len) (bad |= cc_write(dir, name, buf, len), n++)

	cc_reference_core(&c, EM_X86_64);
	CC_OUT("ok-reference-x86_64.core", c.buf, c.len);
	/* cut short: after the first note, in the middle of the third, after the notes */
	CC_OUT("ok-cut-after-note1.core", c.buf, c.note_end[0]);
	CC_OUT("ok-cut-mid-note3.core", c.buf, c.note_end[1] + 37);
	CC_OUT("ok-cut-after-notes.core", c.buf, c.note_end[c.nnotes - 1]);
	CC_OUT("ok-cut-in-phdrs.core", c.buf, c.phoff + 2 * sizeof(Elf64_Phdr) + 5);
	unsigned char *m = malloc(c.len);

	/* note sizes near 2^32 */
	memcpy(m, c.buf, c.len);
	{
		uint32_t huge = 0xfffffffcu;
		memcpy(m + c.note_end[0] + 4, &huge, 4); /* second note's n_descsz */
		CC_OUT("ok-note-descsz-huge.core", m, c.len);
		memcpy(m, c.buf, c.len);
		huge = 0xffffffffu;
		memcpy(m + c.note_end[0], &huge, 4); /* second note's n_namesz */
		CC_OUT("ok-note-namesz-huge.core", m, c.len);
	}
	/* name without its NUL: "CORE" with n_namesz 4 */
	memcpy(m, c.buf, c.len);
	{
		uint32_t four = 4;
		memcpy(m + c.notes_off, &four, 4);
		memcpy(m + c.notes_off + 12, "CORE", 4);
		/* the desc now starts 4 bytes early: the first note is junk, the walk stops */
		CC_OUT("ok-note-name-no-nul.core", m, c.len);
	}
	/* e_phnum: zero, huge (table outside the file), PN_XNUM */
	Elf64_Ehdr eh = cc_get_ehdr(&c);
	memcpy(m, c.buf, c.len);
	eh.e_phnum = 0;
	cc_put(m, c.len, 0, &eh, sizeof(eh));
	CC_OUT("bad-phnum-zero.core", m, c.len);
	eh.e_phnum = 65534;
	cc_put(m, c.len, 0, &eh, sizeof(eh));
	CC_OUT("ok-phnum-huge.core", m, c.len); /* the headers that fit, truncated */
	eh.e_phnum = PN_XNUM;
	cc_put(m, c.len, 0, &eh, sizeof(eh));
	CC_OUT("bad-phnum-xnum.core", m, c.len);
	eh = cc_get_ehdr(&c);
	eh.e_phoff = (uint64_t)c.len + 100;
	cc_put(m, c.len, 0, &eh, sizeof(eh));
	CC_OUT("bad-phoff-outside.core", m, c.len);
	eh.e_phoff = UINT64_MAX - 20;
	cc_put(m, c.len, 0, &eh, sizeof(eh));
	CC_OUT("bad-phoff-wraps.core", m, c.len);
	eh = cc_get_ehdr(&c);
	eh.e_phentsize = 32;
	cc_put(m, c.len, 0, &eh, sizeof(eh));
	CC_OUT("bad-phentsize.core", m, c.len);

	/* segments: out of the file, wrapping, overlapping, notes out of the file */
	memcpy(m, c.buf, c.len);
	{
		Elf64_Phdr ph;
		memcpy(&ph, m + c.phoff + 5 * sizeof(ph), sizeof(ph)); /* the stack */
		ph.p_offset = c.len + 4096;
		memcpy(m + c.phoff + 5 * sizeof(ph), &ph, sizeof(ph));
		memcpy(&ph, m + c.phoff + 3 * sizeof(ph), sizeof(ph)); /* the heap */
		ph.p_offset = UINT64_MAX - 16;
		memcpy(m + c.phoff + 3 * sizeof(ph), &ph, sizeof(ph));
		memcpy(&ph, m + c.phoff + 1 * sizeof(ph), sizeof(ph)); /* exe: overlaps libc */
		ph.p_vaddr = CC_LIBC_BASE + 0x10;
		ph.p_filesz = UINT64_MAX;
		memcpy(m + c.phoff + 1 * sizeof(ph), &ph, sizeof(ph));
		CC_OUT("ok-segments-hostile.core", m, c.len);
		memcpy(m, c.buf, c.len);
		memcpy(&ph, m + c.phoff, sizeof(ph));
		ph.p_offset = UINT64_MAX - 3;
		memcpy(m + c.phoff, &ph, sizeof(ph));
		CC_OUT("ok-notes-outside.core", m, c.len);
	}
	free(m);
	free(c.buf);

	cc_reference_core(&c, EM_AARCH64);
	CC_OUT("ok-reference-aarch64.core", c.buf, c.len);
	free(c.buf);

	/* signal variants: kill(2) from another process, a timer, seccomp */
	cc_init(b, EM_X86_64);
	cc_prstatus(b, 77, SIGABRT, SIGABRT, 0x7000, 0x4000);
	cc_siginfo(b, SIGABRT, -6 /* SI_TKILL */, 77 | (1000ull << 32), 0);
	cc_load(b, 0x6000, 0x2000, 0x100, PF_R | PF_W, NULL, 0);
	cc_finish(b, &c);
	CC_OUT("ok-sigabrt-tkill.core", c.buf, c.len);
	free(c.buf);
	cc_init(b, EM_X86_64);
	cc_prstatus(b, 78, SIGSYS, SIGSYS, 0x7000, 0x4000);
	cc_siginfo(b, SIGSYS, 1 /* SYS_SECCOMP */, 0x4000, 59 | ((uint64_t)0xc000003e << 32));
	cc_finish(b, &c);
	CC_OUT("ok-sigsys-seccomp.core", c.buf, c.len);
	free(c.buf);

	/* NT_FILE: a name without its NUL, and a count larger than the note */
	cc_init(b, EM_X86_64);
	cc_prstatus(b, 79, SIGSEGV, SIGSEGV, 0x7000, 0x4000);
	{
		unsigned char d[16 + 24 + 8];
		uint64_t v[5] = { 1, 4096, 0x4000, 0x5000, 0 };
		memcpy(d, v, 40);
		memcpy(d + 40, "/bin/abc", 8);
		cc_note(b, NT_FILE, "CORE", d, sizeof(d));
	}
	cc_finish(b, &c);
	CC_OUT("ok-ntfile-name-no-nul.core", c.buf, c.len);
	free(c.buf);
	cc_init(b, EM_X86_64);
	{
		uint64_t v[5] = { 0x0aaaaaaaaaaaaaabull, 4096, 0x4000, 0x5000, 0 };
		cc_note(b, NT_FILE, "CORE", v, sizeof(v));
	}
	cc_finish(b, &c);
	CC_OUT("ok-ntfile-count-huge.core", c.buf, c.len);
	free(c.buf);

	/* not cores */
	cc_init(b, EM_X86_64);
	b->ident_class = ELFCLASS32;
	cc_prstatus(b, 80, SIGSEGV, SIGSEGV, 0x7000, 0x4000);
	cc_finish(b, &c);
	CC_OUT("bad-elf32.core", c.buf, c.len);
	free(c.buf);
	cc_init(b, EM_X86_64);
	b->ident_data = ELFDATA2MSB;
	cc_finish(b, &c);
	CC_OUT("bad-big-endian.core", c.buf, c.len);
	free(c.buf);
	cc_init(b, EM_X86_64);
	b->type = ET_DYN;
	cc_load(b, 0x1000, 0x1000, 0x40, PF_R | PF_X, NULL, 0);
	cc_finish(b, &c);
	CC_OUT("bad-not-core.so", c.buf, c.len);
	free(c.buf);
	CC_OUT("bad-empty", "", 0);
	CC_OUT("bad-text.txt", "this is not an ELF core\n", 24);
	CC_OUT("bad-short-magic", "\177EL", 3);
	CC_OUT("bad-short-ident", "\177ELF\2\1\1", 7);
	free(b);
#undef CC_OUT
	return bad ? -1 : n;
}
