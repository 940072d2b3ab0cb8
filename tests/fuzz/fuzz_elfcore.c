/* libFuzzer harness for the core parsers: elfcore_parse (and memory reads),
 * the streaming head parser with elfcore_notes_foreach and
 * elfcore_prstatus_sp, and siginfo_place / siginfo_code_name on what they
 * return. Built against the sources directly by tests/fuzz/run.sh. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/elfcore.h"
#include "core/siginfo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_notes {
	uint16_t machine;
	size_t n;
};

static int fuzz_note(void *userdata, const struct elfcore_note *n)
{
	struct fuzz_notes *fn = userdata;
	uint64_t sp;
	int32_t tid;

	fn->n++;
	if (n->type == NT_PRSTATUS)
		(void)elfcore_prstatus_sp(fn->machine, n->desc, n->descsz, &sp, &tid);
	/* touch every byte the walker hands out */
	volatile unsigned char sink = 0;
	for (size_t i = 0; i < n->descsz; i++)
		sink ^= n->desc[i];
	(void)strlen(n->name);
	(void)sink;
	return 0;
}

static void fuzz_whole(const uint8_t *data, size_t size)
{
	struct elfcore_info *info = NULL;
	const char *why = NULL;

	if (elfcore_parse_why(data, size, &info, &why) < 0) {
		if (!why)
			abort();
		return;
	}
	uint64_t *sps = calloc(info->nthreads + 1, sizeof(*sps));
	if (!sps)
		abort();
	for (size_t i = 0; i < info->nthreads; i++) {
		sps[i] = info->threads[i].sp;
		for (size_t r = 0; r < info->threads[i].nregs; r++)
			(void)strlen(info->threads[i].regs[r].name);
	}
	struct siginfo_place p;
	if (siginfo_place(info->siginfo.addr, info, sps, info->nthreads, &p) < 0 || !p.region)
		abort();
	if (p.path)
		(void)strlen(p.path);
	for (size_t i = 0; i < info->nthreads; i++)
		(void)siginfo_place(info->threads[i].pc, info, sps, info->nthreads, &p);
	(void)siginfo_code_name(info->siginfo.signo, info->siginfo.code);
	(void)siginfo_sent_by_process(info->siginfo.signo, info->siginfo.code);
	for (size_t i = 0; i < info->nfiles; i++)
		(void)strlen(info->files[i].name);
	if (info->execfn)
		(void)strlen(info->execfn);

	unsigned char buf[256];
	for (size_t i = 0; i < info->nloads && i < 64; i++) {
		const struct elfcore_load *l = &info->loads[i];
		(void)elfcore_read_mem(info, data, size, l->vaddr, sizeof(buf), buf);
		(void)elfcore_read_mem(info, data, size, l->vaddr + l->avail - 1, sizeof(buf), buf);
		char *s = NULL;
		if (elfcore_read_str(info, data, size, l->vaddr, 128, &s) == 0)
			free(s);
	}
	free(sps);
	elfcore_info_free(info);
}

static void fuzz_head(const uint8_t *data, size_t size)
{
	size_t need = 0;
	const char *why = NULL;
	bool capped;

	if (elfcore_head_need(data, size, &need, &why) != 0 || need > size)
		return;
	struct fuzz_notes fn = { ((const Elf64_Ehdr *)(const void *)data)->e_machine, 0 };
	(void)elfcore_expected_size(data);
	(void)elfcore_notes_foreach(data, size, fuzz_note, &fn, &capped);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_whole(data, size);
	fuzz_head(data, size);
	return 0;
}
