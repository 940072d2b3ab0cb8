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
#define MC_SCRUB_CHUNK (64u << 10) /* bytes scanned per window, after the carry */
#define MC_SCRUB_HASH  1024        /* buckets: a value's last two bytes */

struct mc_range {
	uint64_t off;    /* in the core */
	uint64_t vaddr;
	uint64_t len;
	uint64_t out;    /* in the minicore */
	uint64_t filled;
	uint32_t flags;  /* p_flags of the segment */
	size_t seg;
};

/* One "KEY=VALUE" to hide, chained in its bucket. */
struct mc_scrub {
	unsigned char *kv;
	size_t len, vallen; /* the value is the last vallen bytes of kv */
	int next;           /* index in the same bucket, -1 at the end */
};

struct minicore {
	int fd; /* not owned */
	uint64_t max_total, max_stack;
	uint64_t budget;  /* bytes of max_total the planned memory may still use */
	struct mc_range *r;
	size_t n, cursor;
	uint64_t kept, size, notes;
	unsigned threads, stacks;
	bool capped, planned;
	const char *cap_reason;
	uint64_t steps;

	struct mc_scrub *sc;
	size_t nsc, scbytes, scmax; /* scmax: the longest kv */
	int bucket[MC_SCRUB_HASH];
	unsigned scrubbed, scrub_dropped;
	unsigned char *win;  /* carry + one chunk */
	size_t carry_len;    /* bytes of range carry_rg just before what comes next */
	size_t carry_rg;
};

/* An NT_FILE entry; sorted by start once so that each PT_LOAD finds its own by
 * binary search (idx keeps the first of equal starts, as a scan would). */
struct mc_file {
	uint64_t start, pgoff;
	size_t idx;
};

/* A PT_LOAD with file data, sorted by vaddr for the stack lookups. */
struct mc_load {
	uint64_t vaddr;
	size_t idx;
};

/* A byte range of the head that PT_NOTE headers point at. */
struct mc_span {
	uint64_t off, len;
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
	for (size_t i = 0; i < MC_SCRUB_HASH; i++)
		m->bucket[i] = -1;
	*ret = m;
	return 0;
}

void minicore_free(struct minicore *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nsc; i++)
		free(m->sc[i].kv);
	free(m->sc);
	free(m->win);
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

static unsigned minicore_scrub_hash(unsigned char a, unsigned char b)
{
	return ((unsigned)a * 31u + b) % MC_SCRUB_HASH;
}

int minicore_scrub_add(struct minicore *m, const void *kv, size_t len)
{
	const unsigned char *p = kv, *eq = len ? memchr(p, '=', len) : NULL;
	if (m->planned)
		return -EBUSY;
	if (!eq || eq == p)
		return -EINVAL;
	size_t vallen = len - (size_t)(eq + 1 - p);
	if (vallen == 0)
		return 0;
	if (m->nsc >= MINICORE_SCRUB_MAX || len > MINICORE_SCRUB_BYTES - m->scbytes) {
		m->scrub_dropped++;
		minicore_cap(m, "scrub strings");
		return -E2BIG;
	}
	if (m->nsc % 16 == 0) {
		struct mc_scrub *ns = realloc(m->sc, (m->nsc + 16) * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		m->sc = ns;
	}
	unsigned char *copy = malloc(len);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, p, len);
	/* len >= 3 here ("K=V"), so the value's last byte has a byte before it. */
	unsigned h = minicore_scrub_hash(copy[len - 2], copy[len - 1]);
	m->sc[m->nsc] = (struct mc_scrub){ .kv = copy, .len = len, .vallen = vallen, .next = m->bucket[h] };
	m->bucket[h] = (int)m->nsc;
	m->nsc++;
	m->scbytes += len;
	if (len > m->scmax)
		m->scmax = len;
	return 0;
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

static int minicore_file_cmp(const void *a, const void *b)
{
	const struct mc_file *x = a, *y = b;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The NT_FILE entries sorted by start: planning looks each PT_LOAD up in them,
 * and 64k mappings scanned once per PT_LOAD were seconds of a crash's time. */
static int minicore_files_sorted(struct minicore *m, const struct mc_notes *mn, struct mc_file **ret, size_t *ret_n)
{
	uint64_t count;
	*ret = NULL;
	*ret_n = 0;
	if (!mn->file || mn->filesz < 16)
		return 0;
	memcpy(&count, mn->file, 8);
	if (count > (mn->filesz - 16) / 24)
		return 0;
	if (count > ELFCORE_FILES_MAX)
		count = ELFCORE_FILES_MAX;
	if (count == 0)
		return 0;
	struct mc_file *f = malloc(count * sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (uint64_t i = 0; i < count; i++) {
		uint64_t e[3];
		memcpy(e, mn->file + 16 + i * 24, sizeof(e));
		f[i] = (struct mc_file){ .start = e[0], .pgoff = e[2], .idx = i };
		m->steps++;
	}
	qsort(f, count, sizeof(*f), minicore_file_cmp);
	*ret = f;
	*ret_n = count;
	return 0;
}

/* Does an NT_FILE entry start at vaddr? *pgoff_zero: the first such entry maps
 * the start of its file (where the ELF header is). */
static bool minicore_file_backed(struct minicore *m, const struct mc_file *f, size_t n, uint64_t vaddr,
				 bool *pgoff_zero)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first entry with start >= vaddr */
		size_t mid = lo + (hi - lo) / 2;
		m->steps++;
		if (f[mid].start < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == n || f[lo].start != vaddr)
		return false;
	*pgoff_zero = f[lo].pgoff == 0;
	return true;
}

/* Keep [vaddr, vaddr+len) of segment seg within what is left of max_total:
 * each range costs its program header and its page-rounded bytes (ranges are
 * page-aligned in the file), the first one also the padding before it. */
static int minicore_add(struct minicore *m, const Elf64_Phdr *ph, size_t seg, uint64_t vaddr, uint64_t len)
{
	if (len == 0)
		return 0;
	if (m->n >= MINICORE_RANGES_MAX) {
		minicore_cap(m, "ranges");
		return 0;
	}
	uint64_t fixed = sizeof(Elf64_Phdr) + (m->n == 0 ? MC_PAGE - 1 : 0);
	uint64_t room = m->budget > fixed ? (m->budget - fixed) & ~(uint64_t)(MC_PAGE - 1) : 0;
	if (len > room) {
		len = room;
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
	m->budget -= fixed + ((len + MC_PAGE - 1) & ~(uint64_t)(MC_PAGE - 1));
	m->kept += len;
	return 0;
}

/* The stack of one thread: from SP minus the red zone up to the end of the dumped
 * part of its segment, clamped (a stack mapping can merge with its neighbour).
 * An SP outside every segment (a stack overflow ran into the guard page) keeps
 * the bottom of the nearest segment above it. loads: PT_LOADs with data, by
 * vaddr. */
static int minicore_add_stack(struct minicore *m, const unsigned char *head, const struct mc_load *loads,
			      size_t nloads, uint64_t sp)
{
	uint64_t lo = sp >= MINICORE_RED_ZONE ? sp - MINICORE_RED_ZONE : 0;
	size_t a = 0, b = nloads;
	while (a < b) { /* first load above sp */
		size_t mid = a + (b - a) / 2;
		m->steps++;
		if (loads[mid].vaddr <= sp)
			a = mid + 1;
		else
			b = mid;
	}
	if (a > 0) {
		Elf64_Phdr ph = elfcore_phdr(head, loads[a - 1].idx);
		if (sp - ph.p_vaddr < ph.p_filesz) {
			uint64_t start = lo < ph.p_vaddr ? ph.p_vaddr : lo & ~(uint64_t)(MC_PAGE - 1);
			if (start < ph.p_vaddr)
				start = ph.p_vaddr;
			uint64_t len = ph.p_vaddr + ph.p_filesz - start;
			if (len > m->max_stack) {
				len = m->max_stack;
				minicore_cap(m, "thread stack size");
			}
			m->stacks++;
			return minicore_add(m, &ph, loads[a - 1].idx, start, len);
		}
	}
	if (a < nloads && loads[a].vaddr - sp <= (1u << 20)) {
		Elf64_Phdr ph = elfcore_phdr(head, loads[a].idx);
		uint64_t len = ph.p_filesz < m->max_stack ? ph.p_filesz : m->max_stack;
		m->stacks++;
		return minicore_add(m, &ph, loads[a].idx, ph.p_vaddr, len);
	}
	return 0;
}

static int minicore_range_cmp(const void *a, const void *b)
{
	const struct mc_range *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

static int minicore_load_cmp(const void *a, const void *b)
{
	const struct mc_load *x = a, *y = b;
	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int minicore_u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int minicore_span_cmp(const void *a, const void *b)
{
	const struct mc_span *x = a, *y = b;
	if (x->off != y->off)
		return x->off < y->off ? -1 : 1;
	return x->len < y->len ? -1 : x->len > y->len;
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

/* The bytes PT_NOTE headers point at, each once: a core with many PT_NOTE
 * headers over the same notes made a minicore a thousand times its size.
 * Sorted by offset, overlapping spans merged. */
static int minicore_note_spans(const unsigned char *head, size_t head_len, struct mc_span **ret, size_t *ret_n)
{
	size_t n = 0, w = 0;
	struct mc_span *sp = malloc((elfcore_phnum(head) + 1) * sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		if (ph.p_type != PT_NOTE || ph.p_filesz == 0)
			continue;
		if (ph.p_offset > head_len || head_len - ph.p_offset < ph.p_filesz) {
			free(sp);
			return -EBADMSG;
		}
		sp[n++] = (struct mc_span){ ph.p_offset, ph.p_filesz };
	}
	if (n > 0) {
		qsort(sp, n, sizeof(*sp), minicore_span_cmp);
		for (size_t i = 1; i < n; i++) {
			if (sp[i].off < sp[w].off + sp[w].len) {
				uint64_t end = sp[i].off + sp[i].len;
				if (end > sp[w].off + sp[w].len)
					sp[w].len = end - sp[w].off;
			} else {
				sp[++w] = sp[i];
			}
		}
		n = w + 1;
	}
	*ret = sp;
	*ret_n = n;
	return 0;
}

/* The longest prefix of notes p[0, len) made of whole notes and at most room
 * bytes: a reader must not find half a note at the end. */
static size_t minicore_notes_fit(const unsigned char *p, size_t len, size_t room)
{
	size_t off = 0;
	while (len - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		uint64_t sz = sizeof(nh) + (((uint64_t)nh.n_namesz + 3) & ~3ull) + (((uint64_t)nh.n_descsz + 3) & ~3ull);
		if (sz > len - off || sz > room - off)
			break;
		off += (size_t)sz;
	}
	return off;
}

int minicore_plan(struct minicore *m, const unsigned char *head, size_t head_len)
{
	_cleanup_free_ struct mc_notes *mn = NULL;
	_cleanup_free_ struct mc_file *files = NULL;
	_cleanup_free_ struct mc_load *loads = NULL;
	_cleanup_free_ struct mc_span *spans = NULL;
	size_t nfiles = 0, nloads = 0, nspans = 0, nload_all = 0;
	bool capped = false;
	int r;

	if (m->planned)
		return -EBUSY;
	if (m->max_total < sizeof(Elf64_Ehdr) + sizeof(Elf64_Phdr))
		return -EFBIG;
	mn = calloc(1, sizeof(*mn));
	if (!mn)
		return -ENOMEM;
	mn->machine = ((const Elf64_Ehdr *)(const void *)head)->e_machine;
	r = elfcore_notes_foreach(head, head_len, minicore_note_cb, mn, &capped);
	if (r < 0)
		return r;
	if (capped)
		minicore_cap(m, "notes");
	m->threads = mn->threads;
	if (mn->threads > mn->nsp && mn->nsp == ELFCORE_THREADS_MAX)
		minicore_cap(m, "threads");
	if ((r = minicore_note_spans(head, head_len, &spans, &nspans)) < 0)
		return r;

	/* The file's fixed part first: the headers and notes are what every reader
	 * needs, memory only what they leave of max_total. Notes over it are cut at
	 * a note boundary; then our layout note goes. */
	uint64_t left = m->max_total - sizeof(Elf64_Ehdr) - sizeof(Elf64_Phdr);
	for (size_t i = 0; i < nspans; i++) {
		if (spans[i].len > left) {
			spans[i].len = minicore_notes_fit(head + spans[i].off, (size_t)spans[i].len, (size_t)left);
			nspans = i + 1;
			minicore_cap(m, "notes size");
		}
		left -= spans[i].len;
		m->notes += spans[i].len;
	}
	for (size_t i = 0; i < elfcore_phnum(head); i++)
		nload_all += elfcore_phdr(head, i).p_type == PT_LOAD;
	uint64_t layout_len = sizeof(Elf64_Nhdr) + 8 + nload_all * 24;
	if (layout_len > left) {
		layout_len = 0;
		minicore_cap(m, "layout note");
	}
	m->budget = left - layout_len;

	if ((r = minicore_files_sorted(m, mn, &files, &nfiles)) < 0)
		return r;
	loads = malloc((elfcore_phnum(head) + 1) * sizeof(*loads));
	if (!loads)
		return -ENOMEM;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		m->steps++;
		if (ph.p_type == PT_LOAD && ph.p_filesz > 0)
			loads[nloads++] = (struct mc_load){ ph.p_vaddr, i };
	}
	qsort(loads, nloads, sizeof(*loads), minicore_load_cmp);

	/* In order of value, so the budget goes to what analysis needs most: the
	 * crashing thread's stack (the kernel writes it first), module headers,
	 * the other stacks, then the mapped files' writable data. */
	if (mn->nsp > 0 && (r = minicore_add_stack(m, head, loads, nloads, mn->sp[0])) < 0)
		return r;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		bool pg0 = false;
		m->steps++;
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0)
			continue;
		bool fb = minicore_file_backed(m, files, nfiles, ph.p_vaddr, &pg0);
		if ((fb && pg0) || (!mn->file && ph.p_filesz < ph.p_memsz))
			if ((r = minicore_add(m, &ph, i, ph.p_vaddr, ph.p_filesz < MC_PAGE ? ph.p_filesz : MC_PAGE)) < 0)
				return r;
	}
	/* The vDSO is not a file: without its pages a thread stopped in it (in
	 * clock_gettime, say) cannot be unwound and the module list lacks it. */
	for (size_t i = 0; mn->vdso && i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		m->steps++;
		if (ph.p_type == PT_LOAD && ph.p_vaddr == mn->vdso && ph.p_filesz > 0) {
			uint64_t len = ph.p_filesz < MINICORE_VDSO_MAX ? ph.p_filesz : MINICORE_VDSO_MAX;
			if ((r = minicore_add(m, &ph, i, ph.p_vaddr, len)) < 0)
				return r;
		}
	}
	/* The other threads, each stack once however often its SP repeats (the
	 * same notes under several PT_NOTE headers). */
	if (mn->nsp > 1)
		qsort(mn->sp + 1, mn->nsp - 1, sizeof(mn->sp[0]), minicore_u64_cmp);
	for (unsigned t = 1; t < mn->nsp; t++) {
		if (mn->sp[t] == mn->sp[0] || (t > 1 && mn->sp[t] == mn->sp[t - 1]))
			continue;
		if ((r = minicore_add_stack(m, head, loads, nloads, mn->sp[t])) < 0)
			return r;
	}
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr ph = elfcore_phdr(head, i);
		bool pg0 = false;
		m->steps++;
		if (ph.p_type != PT_LOAD || ph.p_filesz == 0 || !(ph.p_flags & PF_W) ||
		    !minicore_file_backed(m, files, nfiles, ph.p_vaddr, &pg0))
			continue;
		uint64_t len = ph.p_filesz < MINICORE_DATA_SEG_MAX ? ph.p_filesz : MINICORE_DATA_SEG_MAX;
		if ((r = minicore_add(m, &ph, i, ph.p_vaddr, len)) < 0)
			return r;
	}
	minicore_merge(m);

	/* Layout: header, program headers (one PT_NOTE, then the PT_LOADs), notes,
	 * then the memory, each range page-aligned. */
	Elf64_Ehdr eh;
	memcpy(&eh, head, sizeof(eh));
	uint64_t notes_off = sizeof(eh) + (m->n + 1) * sizeof(Elf64_Phdr), notes_len = 0;
	for (size_t i = 0; i < nspans; i++) {
		if ((r = pwrite_all(m->fd, head + spans[i].off, spans[i].len, notes_off + notes_len)) < 0)
			return r;
		notes_len += spans[i].len;
	}
	/* Our own note: the original address-space layout (every PT_LOAD's vaddr,
	 * memsz and flags), so that analysis can place a fault address in memory
	 * the minicore did not keep. */
	if (layout_len > 0) {
		Elf64_Nhdr nh = { sizeof(MINICORE_NOTE_NAME), (uint32_t)(nload_all * 24), MINICORE_NT_LAYOUT };
		unsigned char name[8] = MINICORE_NOTE_NAME;
		uint64_t off = notes_off + notes_len;
		if ((r = pwrite_all(m->fd, &nh, sizeof(nh), off)) < 0 ||
		    (r = pwrite_all(m->fd, name, sizeof(name), off + sizeof(nh))) < 0)
			return r;
		off += sizeof(nh) + sizeof(name);
		/* In one buffer: 64k PT_LOADs were 64k small writes. */
		_cleanup_free_ uint64_t *lay = malloc(nload_all * 24 + 1);
		if (!lay)
			return -ENOMEM;
		size_t k = 0;
		for (size_t i = 0; i < elfcore_phnum(head); i++) {
			Elf64_Phdr ph = elfcore_phdr(head, i);
			if (ph.p_type != PT_LOAD)
				continue;
			lay[k++] = ph.p_vaddr;
			lay[k++] = ph.p_memsz;
			lay[k++] = ph.p_flags;
		}
		if ((r = pwrite_all(m->fd, lay, k * 8, off)) < 0)
			return r;
		off += k * 8;
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
		return r;
	/* All program headers in one write, for the same reason. */
	_cleanup_free_ Elf64_Phdr *phs = calloc(m->n + 1, sizeof(*phs));
	if (!phs)
		return -ENOMEM;
	phs[0] = (Elf64_Phdr){ .p_type = PT_NOTE, .p_offset = notes_off, .p_filesz = notes_len, .p_align = 4 };
	for (size_t i = 0; i < m->n; i++)
		phs[i + 1] = (Elf64_Phdr){
			.p_type = PT_LOAD, .p_flags = m->r[i].flags, .p_offset = m->r[i].out,
			.p_vaddr = m->r[i].vaddr, .p_filesz = m->r[i].len, .p_memsz = m->r[i].len,
			.p_align = MC_PAGE,
		};
	if ((r = pwrite_all(m->fd, phs, (m->n + 1) * sizeof(*phs), sizeof(eh))) < 0)
		return r;
	if (m->nsc > 0) {
		m->win = malloc(m->scmax + MC_SCRUB_CHUNK);
		if (!m->win)
			return -ENOMEM;
		m->carry_rg = SIZE_MAX;
	}
	m->planned = true;
	return 0;
}

/* Overwrite the values of every KEY=VALUE\0 that ends in w[from, len): those
 * ending before from were seen with the previous window. Returns the lowest
 * offset changed, or len when none. */
static size_t minicore_scrub_window(struct minicore *m, unsigned char *w, size_t len, size_t from)
{
	size_t low = len;
	for (size_t p = from > 2 ? from : 2; p < len; p++) {
		const unsigned char *z = memchr(w + p, 0, len - p);
		if (!z)
			break;
		p = (size_t)(z - w);
		if (p < 2 || w[p - 1] == 0)
			continue;
		for (int i = m->bucket[minicore_scrub_hash(w[p - 2], w[p - 1])]; i >= 0; i = m->sc[i].next) {
			const struct mc_scrub *sc = &m->sc[i];
			if (sc->len > p || memcmp(w + p - sc->len, sc->kv, sc->len) != 0)
				continue;
			memset(w + p - sc->vallen, MINICORE_SCRUB_FILL, sc->vallen);
			m->scrubbed++;
			if (p - sc->vallen < low)
				low = p - sc->vallen;
		}
	}
	return low;
}

/* Write bytes [at, at+len) of range rg with the secrets scrubbed, in windows
 * of the last bytes already written (the carry, as the file holds them) plus
 * the next chunk, so that a string split between two feeds is still seen
 * whole. One carry: ranges are filled in order, one at a time. */
static int minicore_write_scrubbed(struct minicore *m, size_t rgi, uint64_t at, const unsigned char *buf, size_t len)
{
	struct mc_range *rg = &m->r[rgi];
	size_t keep = m->scmax; /* a match ends with a NUL: its start is within scmax bytes of its end */
	if (m->carry_rg != rgi || rg->filled == 0) {
		m->carry_rg = rgi;
		m->carry_len = 0;
	}
	while (len > 0) {
		size_t n = len < MC_SCRUB_CHUNK ? len : MC_SCRUB_CHUNK;
		size_t c = m->carry_len;
		memcpy(m->win + c, buf, n);
		size_t low = minicore_scrub_window(m, m->win, c + n, c);
		uint64_t out = rg->out + (at - rg->off);
		int r;
		if (low < c && (r = pwrite_all(m->fd, m->win + low, c - low, out - (c - low))) < 0)
			return r;
		if ((r = pwrite_all(m->fd, m->win + c, n, out)) < 0)
			return r;
		size_t tot = c + n, nc = tot < keep ? tot : keep;
		memmove(m->win, m->win + tot - nc, nc);
		m->carry_len = nc;
		rg->filled += n;
		at += n;
		buf += n;
		len -= n;
	}
	return 0;
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
		const unsigned char *p = (const unsigned char *)buf + (a - off);
		if (m->nsc > 0) {
			int r = minicore_write_scrubbed(m, i, a, p, (size_t)(b - a));
			if (r < 0)
				return r;
			continue;
		}
		int r = pwrite_all(m->fd, p, b - a, rg->out + (a - rg->off));
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
		.notes = m->notes, .plan_steps = m->steps, .scrubbed = m->scrubbed, .scrub_dropped = m->scrub_dropped,
	};
	return 0;
}
