/* A crash bundle (`mortem export`, `mortem import`): one file, a ustar
 * archive compressed as a whole with zstd, holding
 *
 *   record.json                 the record (always the first member)
 *   mini                        the minicore
 *   core.zst                    the stored core, as is (not with --no-core)
 *   sysroot/<path>              the modules the crash loaded, found on the
 *                               exporting host with the same build-id, and
 *                               their debug files under usr/lib/debug/.build-id
 *   README.txt, open.sh         how to open it by hand
 *
 * The writer streams (a file at a time, through zstd), the reader reads a
 * bundle as hostile input: names confined (bundle_name_check), only regular
 * files, every size capped, the ustar checksum checked. Memory is bounded by
 * zstd's window and one header, never by a member's size. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/store.h"

#define BUNDLE_NAME_MAX 255                     /* ustar: prefix (155) + '/' + name (100) */
#define BUNDLE_DEPTH_MAX 64                     /* components of a member's name */
#define BUNDLE_MEMBERS_MAX 4096                 /* members of one bundle */
#define BUNDLE_RECORD_MAX (64u << 20)           /* record.json: RECORD_FILE_MAX */
#define BUNDLE_MINI_MAX (UINT64_C(256) << 20)   /* mini: as fleet fetch takes one */
#define BUNDLE_TEXT_MAX (UINT64_C(1) << 20)     /* README.txt, open.sh */
#define BUNDLE_MODULE_MAX (UINT64_C(4) << 30)   /* one module or debug file */
#define BUNDLE_CORE_SLACK (UINT64_C(1) << 20)   /* core.zst: the record's stored_size plus this */
#define BUNDLE_TOTAL_MAX (UINT64_C(256) << 30)  /* all members together, decompressed */
#define BUNDLE_WINDOW_LOG_MAX 27                /* zstd window the reader accepts (128 MiB) */
#define BUNDLE_SUFFIX ".mortem"                 /* what export suggests: a .tar.zst */

/* The reader's caps, named above; a test lowers them. */
struct bundle_caps {
	uint64_t member_max; /* any one member */
	uint64_t total_max;  /* the sum of the members */
	size_t members_max;
};
#define BUNDLE_CAPS_DEFAULT ((struct bundle_caps){ BUNDLE_MODULE_MAX, BUNDLE_TOTAL_MAX, BUNDLE_MEMBERS_MAX })

/* A member's name is confined: relative, at most BUNDLE_NAME_MAX bytes and
 * BUNDLE_DEPTH_MAX components, no empty, "." or ".." component, printable
 * ASCII but for backslash (no control byte, no byte >= 0x80). 0 or -EPERM,
 * *why (static) saying which rule. */
int bundle_name_check(const char *name, const char **why);

struct bundle_writer;
/* Into out_fd (not owned), zstd at level. */
int bundle_writer_new(int out_fd, int level, struct bundle_writer **ret);
/* A regular file member of size bytes read from fd (streamed; -EIO when the
 * file does not give exactly size bytes). mode: 0644 or 0755. */
int bundle_add_fd(struct bundle_writer *w, const char *name, int fd, uint64_t size, unsigned mode);
int bundle_add_buf(struct bundle_writer *w, const char *name, const void *buf, size_t len, unsigned mode);
/* The end-of-archive blocks and the end of the zstd frame. */
int bundle_writer_finish(struct bundle_writer *w);
void bundle_writer_free(struct bundle_writer *w);

struct bundle_reader;
struct bundle_member {
	char name[BUNDLE_NAME_MAX + 1];
	uint64_t size;
};
/* Read the bundle from in_fd (not owned) with caps (NULL: the defaults). */
int bundle_reader_new(int in_fd, const struct bundle_caps *caps, struct bundle_reader **ret);
/* The next member's header: 1 and *m, 0 at the end of the archive, or
 * -EBADMSG (*why, static, says what): a bad checksum or magic, a type other
 * than a regular file (directory, link, device, fifo, pax or GNU extension),
 * a name bundle_name_check refuses, a size over member_max, a total over
 * total_max, more than members_max members, corrupt or cut zstd data. The
 * data of a member not read is skipped. */
int bundle_next(struct bundle_reader *r, struct bundle_member *m, const char **why);
/* The current member's data, at most len bytes: the count, 0 at its end. */
ssize_t bundle_read(struct bundle_reader *r, void *buf, size_t len);
/* The rest of the current member into out_fd; -EFBIG when it is over cap
 * (nothing beyond cap is written). */
int bundle_copy(struct bundle_reader *r, int out_fd, uint64_t cap);
/* After bundle_next returned 0: the archive ended cleanly and only zeros or
 * nothing follow within the zstd data (0), or -EBADMSG. */
int bundle_reader_end(struct bundle_reader *r, const char **why);
void bundle_reader_free(struct bundle_reader *r);

/* ---- into a store ---- */

struct store;

#define BUNDLE_SYSROOT_DIR "sysroot" /* ROOT/sysroot/<id>: an imported crash's modules */

/* ROOT/sysroot/<id> (heap), whether it exists or not. */
char *bundle_sysroot_path(const struct store *st, const char *id);
/* The imported crash id's sysroot as an O_PATH directory fd, or -ENOENT
 * when id was not imported with modules. */
int bundle_sysroot_open(const struct store *st, const char *id);

struct bundle_import_info {
	char id[STORE_ID_MAX + 1];
	bool core;       /* core.zst was in it */
	bool mini;
	size_t files;    /* files put under the sysroot */
};

/* Import the bundle read from fd into st, as fleet fetch brings a crash in:
 * the other host's id and hostname kept, spool temp files, store_publish
 * (never over a crash that is here: -EEXIST, info->id filled), the record
 * last, then index_insert. The record's paths are made this store's and
 * "import" {from: "HOST/ID", file: from_file, imported_usec, sysroot} says
 * where it came from; the modules go to ROOT/sysroot/<id>, renamed into place
 * before the record is published. -EBADMSG with *why (static) for a bundle
 * the reader refuses (bundle_next), a first member other than record.json, a
 * record that is not valid JSON or fails record_validate, an unexpected or
 * repeated member, a core larger than the record's stored_size plus
 * BUNDLE_CORE_SLACK: nothing is stored then. Also removes the sysroots of
 * crashes no longer stored (bundle_sysroot_prune). */
int bundle_import(const struct store *st, int fd, const char *from_file, const struct bundle_caps *caps,
		  struct bundle_import_info *info, const char **why);
/* Remove ROOT/sysroot/<id> of every id whose record is gone (rm, vacuum),
 * and half-made ones an import killed midway left. Returns how many. */
int bundle_sysroot_prune(const struct store *st);
