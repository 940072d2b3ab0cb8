/* Bounds-checked views of an ELF core's head (ELF header, program headers and
 * notes) as the collector sees it in the pipe. All offsets and sizes in the input
 * are untrusted: every check is written so that it cannot overflow. */
#pragma once

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELFCORE_PHNUM_MAX   65535       /* program headers read from one core */
#define ELFCORE_HEAD_MAX    (32u << 20) /* ELF header + program headers + notes kept in memory */
#define ELFCORE_NOTES_MAX   65536       /* notes walked per core */
#define ELFCORE_THREADS_MAX 1024        /* NT_PRSTATUS notes used per core */
#define ELFCORE_FILES_MAX   65536       /* NT_FILE entries used per core */

/* How many leading bytes of the core hold the ELF header, program headers and
 * notes. Returns 0 and *need when buf (len bytes from offset 0) is enough to
 * know; 1 and *need = bytes needed so far when more must arrive; -EBADMSG when
 * this is not a 64-bit native-endian ELF core (*why says why). */
int elfcore_head_need(const unsigned char *buf, size_t len, size_t *need, const char **why);

/* Program header i of a head that elfcore_head_need accepted. */
Elf64_Phdr elfcore_phdr(const unsigned char *head, size_t i);
size_t elfcore_phnum(const unsigned char *head);
/* End of the last segment's file data: the size the core should have. */
uint64_t elfcore_expected_size(const unsigned char *head);

/* One note, pointing into the head buffer. */
struct elfcore_note {
	uint32_t type;
	const char *name;   /* NUL-terminated within namesz, or "" */
	const unsigned char *desc;
	size_t descsz;
};
/* Walk the PT_NOTE segments. cb returns < 0 to stop with that error, 1 to stop
 * successfully. Returns the number of notes seen, or negative errno; *capped is
 * set when ELFCORE_NOTES_MAX was reached. */
typedef int (*elfcore_note_fn)(void *userdata, const struct elfcore_note *n);
int elfcore_notes_foreach(const unsigned char *head, size_t head_len, elfcore_note_fn cb, void *userdata,
			  bool *capped);

/* Stack pointer and tid from an NT_PRSTATUS desc for this e_machine (x86-64,
 * aarch64). -ENOTSUP for other machines, -EBADMSG when too short. */
int elfcore_prstatus_sp(uint16_t machine, const unsigned char *desc, size_t descsz, uint64_t *sp, int32_t *tid);
