/* Hand-made hostile core heads for the minicore: many PT_NOTE headers over the
 * same notes, and many one-page file mappings with an NT_FILE entry each. Only
 * the head (ELF header, program headers, notes) is built; the memory is not
 * needed to plan, and the suite and the benchmark feed what they need. */
#pragma once

#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fakecore.h"

struct hostilecore {
	unsigned char *head;
	size_t head_len;
	size_t notes_off, notes_len; /* the one notes blob */
	uint64_t data_off;           /* where PT_LOAD data would start */
};

/* Notes: one NT_PRSTATUS (SP at sp) and, when nfile > 0, an NT_FILE with nfile
 * one-page entries at file_vaddr + i * 2 pages, pgoff 0, names "/l/N". pad:
 * bytes of an extra note to make the blob big. Returns the blob's length. */
static inline size_t hc_notes(unsigned char *p, uint64_t sp, size_t nfile, uint64_t file_vaddr, size_t pad)
{
	unsigned char pr[336];
	size_t off = 0;
	memset(pr, 0, sizeof(pr));
	memcpy(pr + 112 + 19 * 8, &sp, 8);
	off += fc_note(p + off, NT_PRSTATUS, "CORE", pr, sizeof(pr));
	if (nfile > 0) {
		size_t dsz = 16 + nfile * 24 + nfile * 12;
		unsigned char *d = calloc(1, dsz);
		uint64_t hdr[2] = { nfile, FC_PAGE };
		memcpy(d, hdr, 16);
		size_t names = 16 + nfile * 24;
		for (size_t i = 0; i < nfile; i++) {
			uint64_t e[3] = { file_vaddr + i * 2 * FC_PAGE, file_vaddr + i * 2 * FC_PAGE + FC_PAGE, 0 };
			memcpy(d + 16 + i * 24, e, 24);
			names += (size_t)snprintf((char *)d + names, 12, "/l/%zu", i) + 1;
		}
		off += fc_note(p + off, NT_FILE, "CORE", d, names);
		free(d);
	}
	if (pad > 0) {
		unsigned char *d = calloc(1, pad);
		off += fc_note(p + off, 0x1234, "PAD", d, pad);
		free(d);
	}
	return off;
}

/* A head with nnote PT_NOTE headers all over one notes blob (padded by pad
 * bytes), nfile file mappings (one page each, a PT_LOAD each) and a 64-page
 * stack PT_LOAD holding the thread's SP. */
static inline void hostilecore_make(struct hostilecore *hc, size_t nnote, size_t nfile, size_t pad)
{
	const uint64_t file_vaddr = 0x10000000, stack_vaddr = 0x7f0000000000;
	size_t nph = nnote + nfile + 1;
	size_t blob_cap = 1024 + pad + nfile * 40;
	unsigned char *blob = calloc(1, blob_cap);
	size_t blen = hc_notes(blob, stack_vaddr + 60 * FC_PAGE, nfile, file_vaddr, pad);
	size_t phoff = sizeof(Elf64_Ehdr), noff = phoff + nph * sizeof(Elf64_Phdr);
	hc->head_len = noff + blen;
	hc->head = calloc(1, hc->head_len);
	hc->notes_off = noff;
	hc->notes_len = blen;
	hc->data_off = (hc->head_len + FC_PAGE - 1) & ~(uint64_t)(FC_PAGE - 1);
	fc_ehdr(hc->head, phoff, (uint16_t)nph);
	size_t k = 0;
	for (size_t i = 0; i < nnote; i++, k++) {
		Elf64_Phdr ph = { .p_type = PT_NOTE, .p_offset = noff, .p_filesz = blen, .p_align = 4 };
		memcpy(hc->head + phoff + k * sizeof(ph), &ph, sizeof(ph));
	}
	uint64_t off = hc->data_off;
	for (size_t i = 0; i < nfile; i++, k++, off += FC_PAGE) {
		Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = off,
				  .p_vaddr = file_vaddr + i * 2 * FC_PAGE, .p_filesz = FC_PAGE, .p_memsz = FC_PAGE,
				  .p_align = FC_PAGE };
		memcpy(hc->head + phoff + k * sizeof(ph), &ph, sizeof(ph));
	}
	Elf64_Phdr st = { .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = off, .p_vaddr = stack_vaddr,
			  .p_filesz = 64 * FC_PAGE, .p_memsz = 64 * FC_PAGE, .p_align = FC_PAGE };
	memcpy(hc->head + phoff + k * sizeof(st), &st, sizeof(st));
	memcpy(hc->head + noff, blob, blen);
	free(blob);
}
