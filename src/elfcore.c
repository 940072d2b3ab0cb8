/* ELF core head: header, program headers, notes. Input is hostile; checks are
 * written as "avail - off < need" so that they cannot overflow. */
#include <string.h>

#include "elfcore.h"
#include "util.h"

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
		const unsigned char *p = head + ph->p_offset;
		size_t avail = ph->p_filesz, off = 0;
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
			if (++seen > ELFCORE_NOTES_MAX) {
				*capped = true;
				return (int)(seen - 1);
			}
			struct elfcore_note n = { nh.n_type, name, p + off, nh.n_descsz };
			off += descsz;
			int r = cb(userdata, &n);
			if (r < 0)
				return r;
			if (r > 0)
				return (int)seen;
		}
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
