/* A synthetic x86-64 ELF core, laid out the way the kernel writes one: ELF
 * header, program headers, one PT_NOTE (NT_PRSTATUS per thread, NT_FILE), then
 * page-aligned PT_LOAD data. Used by the stream and minicore suites so that the
 * expected result of every byte is known. */
#pragma once

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FC_PAGE 4096u
#define FC_SEGS 4
/* Segment layout (vaddr, size): an executable's first page + its writable data, an
 * anonymous heap, and a stack. */
static const uint64_t fc_vaddr[FC_SEGS] = { 0x400000, 0x600000, 0x800000, 0x7ff000000 };
static const uint64_t fc_size[FC_SEGS] = { FC_PAGE, 2 * FC_PAGE, 64 * FC_PAGE, 32 * FC_PAGE };
/* Thread stack pointers: both in the stack segment. */
static const uint64_t fc_sp[2] = { 0x7ff000000 + 20 * FC_PAGE + 100, 0x7ff000000 + 4 * FC_PAGE + 8 };

struct fakecore {
	unsigned char *buf;
	size_t len;
	size_t load_off[FC_SEGS];
};

/* An x86-64 little-endian ELF core header at buf, its phnum program headers at phoff. */
static inline void fc_ehdr(unsigned char *buf, uint64_t phoff, uint16_t phnum)
{
	Elf64_Ehdr eh = { 0 };
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = phoff;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = phnum;
	memcpy(buf, &eh, sizeof(eh));
}

static inline size_t fc_note(unsigned char *p, uint32_t type, const char *name, const void *desc, size_t descsz)
{
	Elf64_Nhdr nh = { (uint32_t)strlen(name) + 1, (uint32_t)descsz, type };
	size_t off = 0;
	memcpy(p, &nh, sizeof(nh));
	off += sizeof(nh);
	memcpy(p + off, name, nh.n_namesz);
	off += (nh.n_namesz + 3) & ~3u;
	memcpy(p + off, desc, descsz);
	off += (descsz + 3) & ~3u;
	return off;
}

/* Every memory byte is a function of its address, so a copy can be checked. */
static inline unsigned char fc_byte(uint64_t vaddr)
{
	static const char text[] = "stack frames and heap words of a process that crashed ";
	uint64_t line = vaddr / 61;
	return (unsigned char)(text[(vaddr + line * line) % (sizeof(text) - 1)] ^ (line % 3 == 0));
}

static inline void fakecore_make(struct fakecore *fc)
{
	unsigned char notes[4096];
	size_t nlen = 0;
	memset(notes, 0, sizeof(notes));
	for (int t = 0; t < 2; t++) {
		unsigned char pr[336];
		memset(pr, 0, sizeof(pr));
		int32_t tid = 1000 + t;
		memcpy(pr + 32, &tid, 4);
		memcpy(pr + 112 + 19 * 8, &fc_sp[t], 8); /* rsp */
		nlen += fc_note(notes + nlen, NT_PRSTATUS, "CORE", pr, sizeof(pr));
	}
	/* NT_FILE: the executable maps segments 0 (pgoff 0) and 1 (pgoff 2). */
	unsigned char nf[16 + 2 * 24 + 32];
	uint64_t hdr[2] = { 2, FC_PAGE };
	uint64_t e[6] = { fc_vaddr[0], fc_vaddr[0] + fc_size[0], 0, fc_vaddr[1], fc_vaddr[1] + fc_size[1], 2 };
	memset(nf, 0, sizeof(nf));
	memcpy(nf, hdr, 16);
	memcpy(nf + 16, e, 48);
	memcpy(nf + 64, "/bin/app\0/bin/app\0", 18);
	nlen += fc_note(notes + nlen, NT_FILE, "CORE", nf, 16 + 48 + 18);

	size_t phoff = sizeof(Elf64_Ehdr), nph = 1 + FC_SEGS;
	size_t noff = phoff + nph * sizeof(Elf64_Phdr);
	size_t off = (noff + nlen + FC_PAGE - 1) & ~(size_t)(FC_PAGE - 1);
	for (int i = 0; i < FC_SEGS; i++) {
		fc->load_off[i] = off;
		off += fc_size[i];
	}
	fc->len = off;
	fc->buf = calloc(1, fc->len);

	fc_ehdr(fc->buf, phoff, (uint16_t)nph);
	Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = noff, .p_filesz = nlen, .p_align = 4 };
	memcpy(fc->buf + phoff, &ph, sizeof(ph));
	for (int i = 0; i < FC_SEGS; i++) {
		Elf64_Phdr l = { .p_type = PT_LOAD, .p_flags = PF_R | (i ? PF_W : PF_X), .p_offset = fc->load_off[i],
				 .p_vaddr = fc_vaddr[i], .p_filesz = fc_size[i], .p_memsz = fc_size[i],
				 .p_align = FC_PAGE };
		memcpy(fc->buf + phoff + (1 + i) * sizeof(l), &l, sizeof(l));
		for (uint64_t b = 0; b < fc_size[i]; b++)
			fc->buf[fc->load_off[i] + b] = fc_byte(fc_vaddr[i] + b);
	}
	memcpy(fc->buf + noff, notes, nlen);
	/* The first page of the executable starts with an ELF header, as in life. */
	memcpy(fc->buf + fc->load_off[0], ELFMAG, SELFMAG);
}
