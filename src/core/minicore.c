/* Minicore planning and writing. All of the plan comes from the head (program
 * headers and notes), which the kernel writes before any memory, so the output
 * layout is fixed before the first memory byte arrives and every kept byte is
 * written once with pwrite: no buffering beyond the notes. */
#include <string.h>
#include <sys/stat.h>

#include "core/elfcore.h"
#include "core/minicore.h"
#include "base/util.h"

#define MC_PAGE 4096u

struct mc_range {
	uint64_t off;    /* in the core */
	uint64_t vaddr;
	uint64_t len;
	uint64_t out;    /* in the minicore */
	uint64_t filled;
	uint32_t flags;  /* p_flags of the segment */
	size_t seg;
};

struct minicore {
	int fd; /* not owned */
	uint64_t max_total, max_stack;
	struct mc_range *r;
	size_t n, cursor;
	uint64_t kept, size;
	unsigned threads, stacks;
	bool capped, planned;
	const char *cap_reason;
};

/* What the notes say, gathered in one pass. */
struct mc_notes {
	uint16_t machine;
	uint64_t sp[ELFCORE_THREADS_MAX];
	unsigned nsp, threads;
	const unsigned char *file; /* NT_FILE desc, not owned */
	size_t filesz;
	uint64_t vdso; /* AT_SYSINFO_EHDR, 0 when unknown */
};

int minicore_new(int fd, uint64_t max_total, uint64_t max_stack, struct minicore **ret)
{
	struct minicore *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->fd = fd;
	m->max_total = max_total;
	m->max_stack = max_stack;
	*ret = m;
	return 0;
}

void minicore_free(struct minicore *m)
{
	if (!m)
		return;
	free(m->r);
	free(m);
}

static void minicore_cap(struct minicore *m, const char *why)
{
	if (!m->capped) {
		m->capped = true;
		m->cap_reason = why;
	}
}

static int minicore_note_cb(void *userdata, const struct elfcore_note *n)
{
	struct mc_notes *mn = userdata;
	if (strcmp(n->name, "CORE") != 0)
		return 0;
	if (n->type == NT_PRSTATUS) {
		uint64_t sp;
		int32_t tid;
		mn->threads++;
		if (mn->nsp < ELFCORE_THREADS_MAX && elfcore_prstatus_sp(mn->machine, n->desc, n->descsz, &sp, &tid) >= 0)
			mn->sp[mn->nsp++] = sp;
	} else if (n->type == NT_FILE && !mn->file) {
		mn->file = n->desc;
		mn->filesz = n->descsz;
	} else if (n->type == NT_AUXV) {
		for (size_t off = 0; n->descsz - off >= 16 && off < n->descsz; off += 16) {
			uint64_t kv[2];
			memcpy(kv, n->desc + off, sizeof(kv));
			if (kv[0] == AT_SYSINFO_EHDR)
				mn->vdso = kv[1];
		}
	}
	return 0;
}

/* Does an NT_FILE entry start at vaddr? *pgoff_zero: that entry maps the start
 * of its file (where the ELF header is). */
static bool minicore_file_backed(const struct mc_notes *mn, uint64_t vaddr, bool *pgoff_zero)
{
	uint64_t count;
	if (!mn->file || mn->filesz < 16)
		return false;
	memcpy(&count, mn->file, 8);
	if (count > (mn->filesz - 16) / 24)
		return false;
	if (count > ELFCORE_FILES_MAX)
		count = ELFCORE_FILES_MAX;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e[3];
		memcpy(e, mn->file + 16 + i * 24, sizeof(e));
		if (e[0] == vaddr) {
			*pgoff_zero = e[2] == 0;
			return true;
		}
	}
	return false;
}

/* Keep [vaddr, vaddr+len) of segment seg, within the total budget. */
static int minicore_add(struct minicore *m, const Elf64_Phdr *ph, size_t seg, uint64_t vaddr, uint64_t len)
{
	if (len == 0)
		return 0;
	if (m->n >= MINICORE_RANGES_MAX) {
		minicore_cap(m, "ranges");
		return 0;
	}
	if (m->max_total - m->kept < len) {
		len = m->max_total - m->kept;
		minicore_cap(m, "total size");
		if (len == 0)
			return 0;
	}
	if (m->n % 64 == 0) {
		struct mc_range *nr = realloc(m->r, (m->n + 64) * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		m->r = nr;
	}
	m->r[m->n++] = (struct mc_range){
		.off = ph->p_offset + (vaddr - ph->p_vaddr),
		.vaddr = vaddr,
		.len = len,
		.flags = ph->p_flags,
		.seg = seg,
	};
	m->kept += len;
	return 0;
}

/* The stack of one thread: from SP minus the red zone up to the end of the dumped
 * part of its segment, clamped (a stack mapping can merge with its neighbour).
 * An SP outside every segment (a stack overflow ran into the guard page) keeps
 * the bottom of the nearest segment above it. */
static int minicore_add_stack(struct minicore *m, const unsigned char *head, uint64_t sp)
{
	size_t best = SIZE_MAX;
	uint64_t best_gap = UINT64_MAX;
	uint64_t lo = sp >= MINICORE_RED_ZONE ? sp - MINICORE_RED_ZONE : 0;

	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
			continue;
		if (sp >= ph.p_vaddr && sp - ph.p_vaddr < ph.p_filesz) {
			uint64_t start = lo < ph.p_vaddr ? ph.p_vaddr : lo & ~(uint64_t)(MC_PAGE - 1);
			if (start < ph.p_vaddr)
				start = ph.p_vaddr;
			uint64_t len = ph.p_vaddr + ph.p_filesz - start;
			if (len > m->max_stack) {
				len = m->max_stack;
				minicore_cap(m, "thread stack size");
			}
			m->stacks++;
			return minicore_add(m, &ph, i, start, len);
		}
		if (ph.p_vaddr > sp && ph.p_vaddr - sp < best_gap) {
			best_gap = ph.p_vaddr - sp;
			best = i;
		}
	}
	if (best != SIZE_MAX && best_gap <= (1u << 20)) {
		Elf64_Phdr ph = elfcore_phdr(head, best);
		uint64_t len = ph.p_filesz < m->max_stack ? ph.p_filesz : m->max_stack;
		m->stacks++;
		return minicore_add(m, &ph, best, ph.p_vaddr, len);
	}
	return 0;
}

static int minicore_range_cmp(const void *a, const void *b)
{
	const struct mc_range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sort by core offset and merge overlapping ranges of the same segment. */
static void minicore_merge(struct minicore *m)
{
	size_t w = 0;
	if (m->n == 0)
		return;
	qsort(m->r, m->n, sizeof(*m->r), minicore_range_cmp);
	for (size_t i = 1; i < m->n; i++) {
		struct mc_range *last = &m->r[w], *cur = &m->r[i];
		if (cur->seg == last->seg && cur->off <= last->off + last->len) {
			uint64_t end = cur->off + cur->len;
			if (end > last->off + last->len)
				last->len = end - last->off;
		} else {
			m->r[++w] = *cur;
		}
	}
	m->n = w + 1;
}

int minicore_plan(struct minicore *m, const unsigned char *head, size_t head_len)
{
	struct mc_notes *mn;
	bool capped = false;
	int r;

	mn = calloc(1, sizeof(*mn));
	if (!mn)
		return -ENOMEM;
	mn->machine = ((const Elf64_Ehdr *)(const void *)head)->e_machine;
	r = elfcore_notes_foreach(head, head_len, minicore_note_cb, mn, &capped);
	if (r < 0)
		goto out;
	if (capped)
		minicore_cap(m, "notes");
	m->threads = mn->threads;
	if (mn->threads > mn->nsp && mn->nsp == ELFCORE_THREADS_MAX)
		minicore_cap(m, "threads");

	/* In order of value, so the budget goes to what analysis needs most: the
	 * crashing thread's stack (the kernel writes it first), module headers,
	 * the other stacks, then the mapped files' writable data. */
	if (mn->nsp > 0 && (r = minicore_add_stack(m, head, mn->sp[0])) < 0)
		goto out;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		bool pg0 = false;
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
			continue;
		bool fb = minicore_file_backed(mn, ph.p_vaddr, &pg0);
		if ((fb && pg0) || (!mn->file && ph.p_filesz < ph.p_memsz))
			if ((r = minicore_add(m, &ph, i, ph.p_vaddr, ph.p_filesz < MC_PAGE ? ph.p_filesz : MC_PAGE)) < 0)
				goto out;
	}
	/* The vDSO is not a file: without its pages a thread stopped in it (in
	 * clock_gettime, say) cannot be unwound and the module list lacks it. */
	for (size_t i = 0; mn->vdso && i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		if (ph.p_type == PT_LOAD && ph.p_vaddr == mn->vdso && ph.p_filesz > 0) {
			uint64_t len = ph.p_filesz < MINICORE_VDSO_MAX ? ph.p_filesz : MINICORE_VDSO_MAX;
			if ((r = minicore_add(m, &ph, i, ph.p_vaddr, len)) < 0)
				goto out;
		}
	}
	for (unsigned t = 1; t < mn->nsp; t++)
		if ((r = minicore_add_stack(m, head, mn->sp[t])) < 0)
			goto out;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		bool pg0 = false;
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0 || !(ph.p_flags & PF_W) ||
		    !minicore_file_backed(mn, ph.p_vaddr, &pg0))
			continue;
		uint64_t len = ph.p_filesz < MINICORE_DATA_SEG_MAX ? ph.p_filesz : MINICORE_DATA_SEG_MAX;
		if ((r = minicore_add(m, &ph, i, ph.p_vaddr, len)) < 0)
			goto out;
	}
	minicore_merge(m);

	/* Layout: header, program headers (one PT_NOTE, then the PT_LOADs), notes,
	 * then the memory, each range page-aligned. */
	Elf64_Ehdr eh;
	memcpy(&eh, head, sizeof(eh));
	uint64_t notes_off = sizeof(eh) + (m->n + 1) * sizeof(Elf64_Phdr), notes_len = 0;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		if (ph.p_type == PT_NOTE) {
			if ((r = pwrite_all(m->fd, head + ph.p_offset, ph.p_filesz, notes_off + notes_len)) < 0)
				goto out;
			notes_len += ph.p_filesz;
		}
	}
	/* Our own note: the original address-space layout (every PT_LOAD's vaddr,
	 * memsz and flags), so that analysis can place a fault address in memory
	 * the minicore did not keep. */
	{
		size_t nload = 0;
		for (size_t i = 0; i < elfcore_phnum(head); i++)
			nload += elfcore_phdr(head, i).p_type == PT_LOAD;
		Elf64_Nhdr nh = { sizeof(MINICORE_NOTE_NAME), (uint32_t)(nload * 24), MINICORE_NT_LAYOUT };
		unsigned char name[8] = MINICORE_NOTE_NAME;
		uint64_t off = notes_off + notes_len;
		if ((r = pwrite_all(m->fd, &nh, sizeof(nh), off)) < 0 ||
		    (r = pwrite_all(m->fd, name, sizeof(name), off + sizeof(nh))) < 0)
			goto out;
		off += sizeof(nh) + sizeof(name);
		for (size_t i = 0; i < elfcore_phnum(head); i++) {
			Elf64_Phdr ph = elfcore_phdr(head, i);
			uint64_t e[3] = { ph.p_vaddr, ph.p_memsz, ph.p_flags };
			if (ph.p_type != PT_LOAD)
				continue;
			if ((r = pwrite_all(m->fd, e, sizeof(e), off)) < 0)
				goto out;
			off += sizeof(e);
		}
		notes_len = off - notes_off;
	}
	uint64_t pos = (notes_off + notes_len + MC_PAGE - 1) & ~(uint64_t)(MC_PAGE - 1);
	for (size_t i = 0; i < m->n; i++) {
		m->r[i].out = pos;
		pos = (pos + m->r[i].len + MC_PAGE - 1) & ~(uint64_t)(MC_PAGE - 1);
	}
	m->size = m->n ? m->r[m->n - 1].out + m->r[m->n - 1].len : notes_off + notes_len;

	eh.e_phoff = sizeof(eh);
	eh.e_phnum = (uint16_t)(m->n + 1);
	eh.e_shoff = 0;
	eh.e_shnum = 0;
	eh.e_shstrndx = 0;
	eh.e_shentsize = 0;
	if ((r = pwrite_all(m->fd, &eh, sizeof(eh), 0)) < 0)
		goto out;
	Elf64_Phdr note = { .p_type = PT_NOTE, .p_offset = notes_off, .p_filesz = notes_len, .p_align = 4 };
	if ((r = pwrite_all(m->fd, &note, sizeof(note), sizeof(eh))) < 0)
		goto out;
	for (size_t i = 0; i < m->n; i++) {
		Elf64_Phdr ph = {
			.p_type = PT_LOAD, .p_flags = m->r[i].flags, .p_offset = m->r[i].out,
			.p_vaddr = m->r[i].vaddr, .p_filesz = m->r[i].len, .p_memsz = m->r[i].len,
			.p_align = MC_PAGE,
		};
		if ((r = pwrite_all(m->fd, &ph, sizeof(ph), sizeof(eh) + (i + 1) * sizeof(ph))) < 0)
			goto out;
	}
	m->planned = true;
	r = 0;
out:
	free(mn);
	return r;
}

int minicore_feed(struct minicore *m, uint64_t off, const void *buf, size_t len)
{
	uint64_t end = off + len;
	if (!m->planned)
		return 0;
	while (m->cursor < m->n && m->r[m->cursor].off + m->r[m->cursor].len <= off)
		m->cursor++;
	for (size_t i = m->cursor; i < m->n && m->r[i].off < end; i++) {
		struct mc_range *rg = &m->r[i];
		uint64_t a = rg->off > off ? rg->off : off;
		uint64_t b = rg->off + rg->len < end ? rg->off + rg->len : end;
		if (a >= b)
			continue;
		int r = pwrite_all(m->fd, (const unsigned char *)buf + (a - off), b - a, rg->out + (a - rg->off));
		if (r < 0)
			return r;
		rg->filled += b - a;
	}
	return 0;
}

int minicore_finish(struct minicore *m, struct minicore_info *info)
{
	unsigned missing = 0;
	if (!m->planned)
		return -ENODATA;
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].filled < m->r[i].len)
			missing++;
	/* A short core leaves the tail unwritten: make the file as long as its
	 * headers say, so the missing memory reads as zeros rather than past EOF. */
	if (ftruncate(m->fd, (off_t)m->size) < 0)
		return -errno;
	*info = (struct minicore_info){
		.size = m->size, .kept = m->kept, .threads = m->threads, .stacks = m->stacks,
		.ranges = (unsigned)m->n, .missing = missing, .capped = m->capped, .cap_reason = m->cap_reason,
	};
	return 0;
}
