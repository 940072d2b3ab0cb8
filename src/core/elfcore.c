/* ELF core head: header, program headers, notes. Input is hostile; checks are
 * written as "avail - off < need" so that they cannot overflow. */
#include <signal.h>
#include <string.h>

#include "core/elfcore.h"
#include "base/util.h"

/* Offset of pr_reg in struct elf_prstatus on 64-bit Linux (x86-64 and aarch64). */
#define PRSTATUS_REG_OFF 112
#define PRSTATUS_PID_OFF 32

static bool elfcore_range_ok(uint64_t off, uint64_t len, uint64_t avail)
{
	return off <= avail && avail - off >= len;
}

static const Elf64_Ehdr *elfcore_ehdr(const unsigned char *head)
{
	return (const Elf64_Ehdr *)(const void *)head;
}

int elfcore_head_need(const unsigned char *buf, size_t len, size_t *need, const char **why)
{
	Elf64_Ehdr eh;
	uint64_t end;

	if (len < EI_NIDENT) {
		if (len > 0 && memcmp(buf, ELFMAG, len < SELFMAG ? len : SELFMAG) != 0)
			goto bad_magic;
		*need = sizeof(Elf64_Ehdr);
		return 1;
	}
	if (memcmp(buf, ELFMAG, SELFMAG) != 0)
		goto bad_magic;
	if (buf[EI_CLASS] != ELFCLASS64) {
		*why = "not a 64-bit ELF file";
		return -EBADMSG;
	}
	if (buf[EI_DATA] != ELFDATA2LSB) {
		*why = "not a little-endian ELF file";
		return -EBADMSG;
	}
	if (len < sizeof(eh)) {
		*need = sizeof(eh);
		return 1;
	}
	memcpy(&eh, buf, sizeof(eh));
	if (eh.e_type != ET_CORE) {
		*why = "ELF file is not a core (e_type)";
		return -EBADMSG;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0) {
		*why = "bad program header table";
		return -EBADMSG;
	}
	if (eh.e_phnum == PN_XNUM) {
		/* The real count is in section header 0, which the kernel writes at the
		 * end of the core: unknown until the stream is over. */
		*why = "extended program header numbering (over 65534 mappings) not supported";
		return -EBADMSG;
	}
	if (eh.e_phoff < sizeof(eh) || eh.e_phoff > ELFCORE_HEAD_MAX ||
	    ELFCORE_HEAD_MAX - eh.e_phoff < (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr)) {
		*why = "program header table outside the head limit";
		return -EBADMSG;
	}
	end = eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr);
	if (len < end) {
		*need = end;
		return 1;
	}
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_NOTE)
			continue;
		if (!elfcore_range_ok(ph.p_offset, ph.p_filesz, ELFCORE_HEAD_MAX)) {
			*why = "notes outside the head limit";
			return -EBADMSG;
		}
		if (ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
	}
	*need = end;
	return len < end ? 1 : 0;

bad_magic:
	*why = "not an ELF file (bad magic)";
	return -EBADMSG;
}

size_t elfcore_phnum(const unsigned char *head)
{
	return elfcore_ehdr(head)->e_phnum;
}

int elfcore_size_known(const unsigned char *buf, size_t len, uint64_t *size)
{
	Elf64_Ehdr eh;
	const char *why;
	size_t need;
	int r = elfcore_head_need(buf, len, &need, &why);
	if (r <= 0) {
		if (r == 0)
			*size = elfcore_expected_size(buf);
		return r;
	}
	/* The notes may still be coming; the program headers are enough. */
	if (len < sizeof(eh))
		return 1;
	memcpy(&eh, buf, sizeof(eh));
	if (len < eh.e_phoff + (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr))
		return 1;
	*size = elfcore_expected_size(buf);
	return 0;
}

/* Copied out: a hostile e_phoff need not be aligned. */
Elf64_Phdr elfcore_phdr(const unsigned char *head, size_t i)
{
	Elf64_Phdr ph;
	memcpy(&ph, head + elfcore_ehdr(head)->e_phoff + i * sizeof(ph), sizeof(ph));
	return ph;
}

uint64_t elfcore_expected_size(const unsigned char *head)
{
	uint64_t end = 0;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr p = elfcore_phdr(head, i), *ph = &p;
		/* Saturate: a hostile header must not wrap around to a small size. */
		uint64_t e = ph->p_offset > UINT64_MAX - ph->p_filesz ? UINT64_MAX : ph->p_offset + ph->p_filesz;
		if (e > end)
			end = e;
	}
	return end;
}

static size_t elfcore_align4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* Walk the notes in p[0..avail): 0 at their end, 1 when cb or the notes cap
 * stopped the walk, cb's error, or -EBADMSG at a note that runs past avail.
 * *seen counts across calls so that the cap holds per core. */
static int elfcore_walk(const unsigned char *p, size_t avail, size_t *seen, bool *capped, elfcore_note_fn cb,
			void *userdata)
{
	size_t off = 0;

	while (avail - off >= sizeof(Elf64_Nhdr)) {
		Elf64_Nhdr nh;
		memcpy(&nh, p + off, sizeof(nh));
		off += sizeof(nh);
		size_t namesz = elfcore_align4(nh.n_namesz), descsz = elfcore_align4(nh.n_descsz);
		if (nh.n_namesz > avail || namesz > avail - off)
			return -EBADMSG;
		const char *name = nh.n_namesz > 0 && p[off + nh.n_namesz - 1] == '\0' ? (const char *)p + off : "";
		off += namesz;
		if (nh.n_descsz > avail || descsz > avail - off)
			return -EBADMSG;
		if (*seen >= ELFCORE_NOTES_MAX) {
			*capped = true;
			return 1;
		}
		++*seen;
		struct elfcore_note n = { nh.n_type, name, p + off, nh.n_descsz };
		off += descsz;
		int r = cb(userdata, &n);
		if (r < 0)
			return r;
		if (r > 0)
			return 1;
	}
	return 0;
}

int elfcore_notes_foreach(const unsigned char *head, size_t head_len, elfcore_note_fn cb, void *userdata,
			  bool *capped)
{
	size_t seen = 0;

	*capped = false;
	for (size_t i = 0; i < elfcore_phnum(head); i++) {
		Elf64_Phdr phc = elfcore_phdr(head, i), *ph = &phc;
		if (ph->p_type != PT_NOTE)
			continue;
		if (!elfcore_range_ok(ph->p_offset, ph->p_filesz, head_len))
			return -EBADMSG;
		int r = elfcore_walk(head + ph->p_offset, ph->p_filesz, &seen, capped, cb, userdata);
		if (r < 0)
			return r;
		if (r > 0)
			return (int)seen;
	}
	return (int)seen;
}

int elfcore_prstatus_sp(uint16_t machine, const unsigned char *desc, size_t descsz, uint64_t *sp, int32_t *tid)
{
	size_t idx;
	switch (machine) {
	case EM_X86_64:
		idx = 19; /* user_regs_struct.rsp */
		break;
	case EM_AARCH64:
		idx = 31; /* user_pt_regs.sp */
		break;
	default:
		return -ENOTSUP;
	}
	if (descsz < PRSTATUS_REG_OFF + (idx + 1) * 8)
		return -EBADMSG;
	memcpy(sp, desc + PRSTATUS_REG_OFF + idx * 8, 8);
	memcpy(tid, desc + PRSTATUS_PID_OFF, 4);
	return 0;
}

/* ---- Whole-core parser ---- */

#define PRSTATUS_CURSIG_OFF 12
#define PRPSINFO_SIZE       136 /* struct elf_prpsinfo on 64-bit Linux */
#define SIGINFO_MIN         32  /* siginfo_t up to the fields read here */
#define NTFILE_ENTRY        24  /* start, end, pgoff */
#define SI_KERNEL_CODE      0x80
#define SI_TIMER_CODE       (-2)
#define SI_SIGIO_CODE       (-5)
#define SYS_SECCOMP_CODE    1

static const char *const elfcore_regs_x86_64[] = {
	"r15", "r14", "r13", "r12", "rbp", "rbx", "r11", "r10", "r9",     "r8",      "rax", "rcx", "rdx", "rsi",
	"rdi", "orig_rax", "rip", "cs", "eflags", "rsp", "ss", "fs_base", "gs_base", "ds",  "es",  "fs",  "gs",
};
static const char *const elfcore_regs_aarch64[] = {
	"x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10", "x11",
	"x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23",
	"x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp",  "pc",  "pstate",
};

const char *const *elfcore_reg_names(uint16_t machine, size_t *n)
{
	switch (machine) {
	case EM_X86_64:
		*n = ARRAY_SIZE(elfcore_regs_x86_64);
		return elfcore_regs_x86_64;
	case EM_AARCH64:
		*n = ARRAY_SIZE(elfcore_regs_aarch64);
		return elfcore_regs_aarch64;
	default:
		*n = 0;
		return NULL;
	}
}

struct elfcore_parser {
	struct elfcore_info *info;
	size_t threads_alloc;
	bool last_thread_kept; /* the latest NT_PRSTATUS is info->threads[nthreads - 1] */
	int error;             /* -ENOMEM */
};

static void elfcore_malformed(struct elfcore_info *info, const char *why)
{
	if (info->malformed++ == 0)
		info->malformed_why = why;
}

static uint64_t elfcore_u64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t elfcore_u32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static int elfcore_parse_prstatus(struct elfcore_parser *ps, const struct elfcore_note *n)
{
	struct elfcore_info *info = ps->info;
	size_t nnames;
	const char *const *names = elfcore_reg_names(info->machine, &nnames);

	info->threads_seen++;
	ps->last_thread_kept = false;
	if (n->descsz < PRSTATUS_REG_OFF) {
		elfcore_malformed(info, "NT_PRSTATUS too short");
		return 0;
	}
	if (info->nthreads >= ELFCORE_THREADS_MAX) {
		info->threads_capped = true;
		return 0;
	}
	if (info->nthreads == ps->threads_alloc) {
		size_t na = ps->threads_alloc ? ps->threads_alloc * 2 : 8;
		if (na > ELFCORE_THREADS_MAX)
			na = ELFCORE_THREADS_MAX;
		struct elfcore_thread *t = realloc(info->threads, na * sizeof(*t));
		if (!t)
			return -ENOMEM;
		info->threads = t;
		ps->threads_alloc = na;
	}
	struct elfcore_thread *t = &info->threads[info->nthreads++];
	memset(t, 0, sizeof(*t));
	ps->last_thread_kept = true;
	/* struct elf_siginfo is signo, code, errno: not siginfo_t's order */
	t->si_signo = (int32_t)elfcore_u32(n->desc);
	t->si_code = (int32_t)elfcore_u32(n->desc + 4);
	t->si_errno = (int32_t)elfcore_u32(n->desc + 8);
	memcpy(&t->cursig, n->desc + PRSTATUS_CURSIG_OFF, sizeof(t->cursig));
	t->tid = (int32_t)elfcore_u32(n->desc + PRSTATUS_PID_OFF);
	t->ppid = (int32_t)elfcore_u32(n->desc + PRSTATUS_PID_OFF + 4);
	t->pgrp = (int32_t)elfcore_u32(n->desc + PRSTATUS_PID_OFF + 8);
	t->sid = (int32_t)elfcore_u32(n->desc + PRSTATUS_PID_OFF + 12);
	if (!names)
		return 0;
	if (n->descsz - PRSTATUS_REG_OFF < nnames * 8) {
		elfcore_malformed(info, "NT_PRSTATUS registers cut short");
		return 0;
	}
	for (size_t i = 0; i < nnames; i++)
		t->regs[i] = (struct elfcore_reg){ names[i], elfcore_u64(n->desc + PRSTATUS_REG_OFF + i * 8) };
	t->nregs = nnames;
	if (info->machine == EM_X86_64) {
		t->pc = t->regs[16].value;
		t->sp = t->regs[19].value;
	} else {
		t->sp = t->regs[31].value;
		t->pc = t->regs[32].value;
	}
	return 0;
}

static void elfcore_copy_str(char *dst, const unsigned char *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static void elfcore_parse_prpsinfo(struct elfcore_info *info, const struct elfcore_note *n)
{
	struct elfcore_prpsinfo *p = &info->prpsinfo;

	if (n->descsz < PRPSINFO_SIZE) {
		elfcore_malformed(info, "NT_PRPSINFO too short");
		return;
	}
	p->state = (int8_t)n->desc[0];
	p->sname = (char)n->desc[1];
	p->uid = elfcore_u32(n->desc + 16);
	p->gid = elfcore_u32(n->desc + 20);
	p->pid = (int32_t)elfcore_u32(n->desc + 24);
	p->ppid = (int32_t)elfcore_u32(n->desc + 28);
	p->pgrp = (int32_t)elfcore_u32(n->desc + 32);
	p->sid = (int32_t)elfcore_u32(n->desc + 36);
	elfcore_copy_str(p->fname, n->desc + 40, sizeof(p->fname) - 1);
	elfcore_copy_str(p->psargs, n->desc + 56, sizeof(p->psargs) - 1);
	info->has_prpsinfo = true;
}

/* Which union member of siginfo_t is live follows the kernel's siginfo_layout():
 * kernel codes (0 < code < SI_KERNEL) carry a fault address for the fault
 * signals; SI_USER, SI_KERNEL and the other user codes carry the sender's pid and
 * uid, except SI_TIMER (timer id) and SI_SIGIO (band, fd). */
static void elfcore_parse_siginfo(struct elfcore_info *info, const struct elfcore_note *n)
{
	struct elfcore_siginfo *s = &info->siginfo;

	if (n->descsz < SIGINFO_MIN) {
		elfcore_malformed(info, "NT_SIGINFO too short");
		return;
	}
	/* siginfo_t is signo, errno, code */
	s->signo = (int32_t)elfcore_u32(n->desc);
	s->errno_ = (int32_t)elfcore_u32(n->desc + 4);
	s->code = (int32_t)elfcore_u32(n->desc + 8);
	if (s->code > 0 && s->code < SI_KERNEL_CODE) {
		switch (s->signo) {
		case SIGSEGV: case SIGBUS: case SIGILL: case SIGFPE: case SIGTRAP:
			s->has_addr = true;
			s->addr = elfcore_u64(n->desc + 16);
			break;
		case SIGSYS:
			if (s->code == SYS_SECCOMP_CODE) {
				s->has_addr = true;
				s->addr = elfcore_u64(n->desc + 16); /* si_call_addr */
				s->has_syscall = true;
				s->syscall = (int32_t)elfcore_u32(n->desc + 24);
				s->arch = elfcore_u32(n->desc + 28);
			}
			break;
		default:
			break;
		}
	} else if (s->code != SI_TIMER_CODE && s->code != SI_SIGIO_CODE) {
		s->has_sender = true;
		s->pid = (int32_t)elfcore_u32(n->desc + 16);
		s->uid = elfcore_u32(n->desc + 20);
	}
	info->has_siginfo = true;
}

static int elfcore_parse_auxv(struct elfcore_info *info, const struct elfcore_note *n)
{
	size_t count = n->descsz / 16, kept = 0;
	struct elfcore_auxv *a = &info->auxv;

	if (n->descsz % 16 != 0)
		elfcore_malformed(info, "NT_AUXV size not a multiple of an entry");
	info->auxv_entries = calloc(count < ELFCORE_AUXV_MAX ? (count ? count : 1) : ELFCORE_AUXV_MAX,
				    sizeof(*info->auxv_entries));
	if (!info->auxv_entries)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		uint64_t type = elfcore_u64(n->desc + i * 16), val = elfcore_u64(n->desc + i * 16 + 8);
		if (type == AT_NULL)
			break;
		if (kept == ELFCORE_AUXV_MAX) {
			info->auxv_capped = true;
			break;
		}
		info->auxv_entries[kept++] = (struct elfcore_auxv_entry){ type, val };
		switch (type) {
		case AT_EXECFN: a->has_execfn = true, a->execfn = val; break;
		case AT_SECURE: a->has_secure = true, a->secure = val; break;
		case AT_ENTRY: a->has_entry = true, a->entry = val; break;
		case AT_PHDR: a->has_phdr = true, a->phdr = val; break;
		case AT_BASE: a->has_base = true, a->base = val; break;
		case AT_SYSINFO_EHDR: a->has_sysinfo_ehdr = true, a->sysinfo_ehdr = val; break;
		default: break;
		}
	}
	info->nauxv = kept;
	info->has_auxv = true;
	return 0;
}

/* NT_FILE: count, page size, count × (start, end, pgoff), then count names,
 * each NUL-terminated, all inside desc. */
static int elfcore_parse_file(struct elfcore_info *info, const struct elfcore_note *n)
{
	if (n->descsz < 16) {
		elfcore_malformed(info, "NT_FILE too short");
		return 0;
	}
	uint64_t count = elfcore_u64(n->desc), page = elfcore_u64(n->desc + 8);
	if (count > (n->descsz - 16) / NTFILE_ENTRY) {
		elfcore_malformed(info, "NT_FILE count larger than the note");
		return 0;
	}
	size_t names_off = 16 + (size_t)count * NTFILE_ENTRY, names_len = n->descsz - names_off;
	size_t keep = count > ELFCORE_FILES_MAX ? ELFCORE_FILES_MAX : (size_t)count;

	info->has_files = true;
	info->files_count = count;
	info->file_page_size = page;
	info->files_capped = count > keep;
	info->file_names = malloc(names_len + 1);
	info->files = calloc(keep ? keep : 1, sizeof(*info->files));
	if (!info->file_names || !info->files)
		return -ENOMEM;
	memcpy(info->file_names, n->desc + names_off, names_len);
	info->file_names[names_len] = '\0';

	size_t pos = 0;
	for (size_t i = 0; i < keep; i++) {
		const unsigned char *e = n->desc + 16 + i * NTFILE_ENTRY;
		const char *nul = pos < names_len ? memchr(info->file_names + pos, '\0', names_len - pos) : NULL;
		if (!nul) {
			elfcore_malformed(info, "NT_FILE name missing or not NUL-terminated");
			break;
		}
		struct elfcore_file f = { elfcore_u64(e), elfcore_u64(e + 8), elfcore_u64(e + 16),
					  info->file_names + pos };
		pos = (size_t)(nul - info->file_names) + 1;
		if (f.end < f.start) {
			elfcore_malformed(info, "NT_FILE entry ends before it starts");
			continue;
		}
		info->files[info->nfiles++] = f;
	}
	return 0;
}

static int elfcore_parse_note(void *userdata, const struct elfcore_note *n)
{
	struct elfcore_parser *ps = userdata;
	struct elfcore_info *info = ps->info;
	int r = 0;

	info->notes++;
	if (strcmp(n->name, "CORE") != 0)
		return 0;
	switch (n->type) {
	case NT_PRSTATUS:
		r = elfcore_parse_prstatus(ps, n);
		break;
	case NT_FPREGSET:
		info->fpregsets++;
		if (ps->last_thread_kept)
			info->threads[info->nthreads - 1].fpregs = true;
		break;
	case NT_PRPSINFO:
		if (info->has_prpsinfo)
			elfcore_malformed(info, "more than one NT_PRPSINFO");
		else
			elfcore_parse_prpsinfo(info, n);
		break;
	case NT_SIGINFO:
		if (info->has_siginfo)
			elfcore_malformed(info, "more than one NT_SIGINFO");
		else
			elfcore_parse_siginfo(info, n);
		break;
	case NT_AUXV:
		if (info->has_auxv)
			elfcore_malformed(info, "more than one NT_AUXV");
		else
			r = elfcore_parse_auxv(info, n);
		break;
	case NT_FILE:
		if (info->has_files)
			elfcore_malformed(info, "more than one NT_FILE");
		else
			r = elfcore_parse_file(info, n);
		break;
	default:
		break;
	}
	if (r < 0)
		ps->error = r;
	return r;
}

/* The ELF header; *nph is how many program headers lie wholly in buf. */
static int elfcore_check_ehdr(const unsigned char *buf, size_t len, Elf64_Ehdr *eh, size_t *nph, const char **why)
{
	if (len == 0) {
		*why = "empty file";
		return -EBADMSG;
	}
	if (memcmp(buf, ELFMAG, len < SELFMAG ? len : SELFMAG) != 0) {
		*why = "not an ELF file (bad magic)";
		return -EBADMSG;
	}
	if (len < EI_NIDENT) {
		*why = "too short for an ELF header";
		return -EBADMSG;
	}
	if (buf[EI_CLASS] != ELFCLASS64) {
		*why = "not a 64-bit ELF file";
		return -EBADMSG;
	}
	if (buf[EI_DATA] != ELFDATA2LSB) {
		*why = "not a little-endian ELF file";
		return -EBADMSG;
	}
	if (len < sizeof(*eh)) {
		*why = "too short for an ELF header";
		return -EBADMSG;
	}
	memcpy(eh, buf, sizeof(*eh));
	if (eh->e_type != ET_CORE) {
		*why = "ELF file is not a core (e_type)";
		return -EBADMSG;
	}
	if (eh->e_phentsize != sizeof(Elf64_Phdr)) {
		*why = "bad program header entry size";
		return -EBADMSG;
	}
	if (eh->e_phnum == 0) {
		*why = "no program headers";
		return -EBADMSG;
	}
	if (eh->e_phnum == PN_XNUM) {
		*why = "extended program header numbering (over 65534 mappings) not supported";
		return -EBADMSG;
	}
	if (eh->e_phoff < sizeof(*eh)) {
		*why = "program header table overlaps the ELF header";
		return -EBADMSG;
	}
	if (eh->e_phoff >= len || (len - eh->e_phoff) < sizeof(Elf64_Phdr)) {
		*why = "program header table outside the file";
		return -EBADMSG;
	}
	*nph = (len - eh->e_phoff) / sizeof(Elf64_Phdr);
	if (*nph > eh->e_phnum)
		*nph = eh->e_phnum;
	return 0;
}

int elfcore_parse_why(const unsigned char *buf, size_t len, struct elfcore_info **ret, const char **why)
{
	struct elfcore_info *info;
	struct elfcore_parser ps = { 0 };
	const char *dummy;
	Elf64_Ehdr eh;
	size_t nph = 0, nloads = 0, seen = 0;
	int r;

	if (!why)
		why = &dummy;
	r = elfcore_check_ehdr(buf, len, &eh, &nph, why);
	if (r < 0)
		return r;
	info = calloc(1, sizeof(*info));
	if (!info)
		return -ENOMEM;
	ps.info = info;
	info->machine = eh.e_machine;
	info->truncated = nph < eh.e_phnum;

	for (size_t i = 0; i < nph; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD)
			nloads++;
	}
	info->loads = calloc(nloads ? nloads : 1, sizeof(*info->loads));
	if (!info->loads)
		goto oom;

	for (size_t i = 0; i < nph; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, buf + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD && ph.p_type != PT_NOTE)
			continue;
		/* bytes of this segment inside buf */
		uint64_t avail = 0;
		if (ph.p_offset < len)
			avail = len - ph.p_offset < ph.p_filesz ? len - ph.p_offset : ph.p_filesz;
		if (avail < ph.p_filesz)
			info->truncated = true;
		if (ph.p_type == PT_LOAD) {
			info->loads[info->nloads++] = (struct elfcore_load){ ph.p_vaddr, ph.p_memsz, ph.p_offset,
									     ph.p_filesz, avail, ph.p_flags };
			if (ph.p_filesz > ph.p_memsz)
				elfcore_malformed(info, "PT_LOAD file size larger than memory size");
			continue;
		}
		if (info->notes_capped || avail == 0)
			continue;
		r = elfcore_walk(buf + ph.p_offset, avail, &seen, &info->notes_capped, elfcore_parse_note, &ps);
		if (ps.error < 0)
			goto oom;
		/* a note cut off by the end of the buffer is the truncation said above */
		if (r == -EBADMSG && avail == ph.p_filesz)
			elfcore_malformed(info, "note runs past its PT_NOTE segment");
	}

	if (info->auxv.has_execfn)
		(void)elfcore_read_str(info, buf, len, info->auxv.execfn, ELFCORE_STR_MAX, &info->execfn);
	*ret = info;
	return 0;

oom:
	elfcore_info_free(info);
	return -ENOMEM;
}

int elfcore_parse(const unsigned char *buf, size_t len, struct elfcore_info **ret)
{
	return elfcore_parse_why(buf, len, ret, NULL);
}

void elfcore_info_free(struct elfcore_info *info)
{
	if (!info)
		return;
	free(info->loads);
	free(info->threads);
	free(info->auxv_entries);
	free(info->execfn);
	free(info->files);
	free(info->file_names);
	free(info);
}

/* The bytes at vaddr that one PT_LOAD holds: a pointer and how many. */
static const unsigned char *elfcore_mem_at(const struct elfcore_info *info, const unsigned char *buf, size_t len,
					   uint64_t vaddr, size_t *n)
{
	for (size_t i = 0; i < info->nloads; i++) {
		const struct elfcore_load *l = &info->loads[i];
		if (vaddr < l->vaddr || vaddr - l->vaddr >= l->avail || !elfcore_range_ok(l->offset, l->avail, len))
			continue;
		*n = l->avail - (vaddr - l->vaddr);
		return buf + l->offset + (vaddr - l->vaddr);
	}
	return NULL;
}

int elfcore_read_mem(const struct elfcore_info *info, const unsigned char *buf, size_t len, uint64_t vaddr,
		     size_t size, void *out)
{
	unsigned char *o = out;

	while (size > 0) {
		size_t n;
		const unsigned char *p = elfcore_mem_at(info, buf, len, vaddr, &n);
		if (!p)
			return -ENODATA;
		if (n > size)
			n = size;
		memcpy(o, p, n);
		o += n;
		size -= n;
		vaddr += n;
	}
	return 0;
}

int elfcore_read_str(const struct elfcore_info *info, const unsigned char *buf, size_t len, uint64_t vaddr,
		     size_t max, char **ret)
{
	_cleanup_free_ char *s = malloc(max ? max : 1);
	size_t got = 0;

	if (!s)
		return -ENOMEM;
	while (got < max) {
		size_t n;
		const unsigned char *p = elfcore_mem_at(info, buf, len, vaddr, &n);
		if (!p)
			return -ENODATA;
		if (n > max - got)
			n = max - got;
		const unsigned char *nul = memchr(p, '\0', n);
		if (nul) {
			memcpy(s + got, p, (size_t)(nul - p) + 1);
			*ret = TAKE_PTR(s);
			return 0;
		}
		memcpy(s + got, p, n);
		got += n;
		vaddr += n;
	}
	return -E2BIG;
}
