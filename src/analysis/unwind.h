/* Unwinding with libdwfl: the modules of a core with their build-ids, and every
 * thread's symbolized stack (the recipe of elfutils' eu-stack). The core is
 * hostile input: call this only where privileges are gone (see analyze.h).
 *
 * Output (json-c):
 *   "modules": [{path, build_id (hex or null), start, end ("0x…"),
 *                kind: "executable"|"library"|"vdso",
 *                on_disk: "match"|"mismatch"|"missing"|"unreadable", or null
 *                when there is nothing to compare (the vDSO, no build-id in
 *                the core); open_error when unreadable: why, e.g. "not a
 *                regular file" (a FIFO put where the module was)}]
 *   "threads": [{tid, name (or null), crashed, truncated, error (or null),
 *                frames: [{pc ("0x…"), module (path or null), build_id,
 *                          function (or null), offset (pc - function start, or
 *                          null), module_offset (pc - module start, or null),
 *                          file, line (or null), inlined}]}]
 *              the crashing thread first
 *   "modules_truncated", "threads_truncated", "frames_truncated": caps reached
 *   "vdso": "0x…" (AT_SYSINFO_EHDR) or null; "vdso_in_core": false when the
 *           core does not hold the vDSO's pages (minicores before they kept it)
 */
#pragma once

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <sys/types.h>

#include "capture/proc.h"

#define UNWIND_FRAMES_MAX       256    /* frames per thread, inlined ones included */
#define UNWIND_THREADS_MAX      1024   /* threads unwound per core */
#define UNWIND_MODULES_MAX      4096   /* modules listed per core */
#define UNWIND_TOTAL_FRAMES_MAX 32768  /* frames per core: keeps the JSON well under 16 MiB */
#define UNWIND_NAME_MAX         1024   /* bytes kept of a symbol or file name */

struct unwind_opts {
	/* Root the crashed process saw, e.g. "/proc/PID/root"; NULL or "" = "/".
	 * Module files are looked up beneath it (symlinks resolved inside it). */
	const char *sysroot;
	/* An O_PATH directory fd of that root, opened by a more privileged caller;
	 * -1 = open sysroot here. Not owned. */
	int sysroot_fd;
	/* Open files by the path the process mapped them at (proc.h), tried
	 * before the path itself; not owned. */
	const struct proc_file *files;
	size_t n_files;
	/* The thread to mark as crashed; 0 = the first NT_PRSTATUS (the kernel
	 * writes the dumping thread first). */
	pid_t crashed_tid;
	/* [{tid, comm}] from the /proc capture, for the threads' names; may be NULL.
	 * Not owned. */
	json_object *thread_names;
	/* Local files only: never ask debuginfod, even with DEBUGINFOD_URLS set
	 * (elfutils would load libcurl and open sockets). The sandbox sets it
	 * unless it was given debuginfod URLs (analyze.h). */
	bool no_debuginfod;
};

/* The error of a path that is there but not a regular file (a FIFO, a device,
 * a directory): such a file is never read. Linux has no errno for it (BSD's
 * EFTYPE); this one is otherwise unused here. */
#define UNWIND_ENOTREG EMEDIUMTYPE

/* Open path for reading beneath root (an O_PATH directory fd; symlinks and
 * ".." resolved inside it) or, with root < 0, from "/": without waiting (a
 * FIFO does not hold it), regular files only (-UNWIND_ENOTREG), O_CLOEXEC and
 * O_NOCTTY. How every file the analysis opens by path is opened. Returns the
 * fd (blocking again) or a negative errno. */
int unwind_open_regular(int root, const char *path);
/* unwind_open_regular's error r as words. */
const char *unwind_open_strerror(int r);

/* Unwind the core at core_path (or the one open at fd: not owned, read with
 * pread/mmap only). Returns 0 and a new object in *ret, or a negative errno:
 * -EBADMSG when this is not a core libdwfl can use (unwind_last_error() says
 * why), -ENOMEM, or the open error. */
int unwind_core(const char *core_path, const struct unwind_opts *o, json_object **ret);
int unwind_core_fd(int fd, const struct unwind_opts *o, json_object **ret);
/* Why the last unwind_core* call in this thread failed (static storage). */
const char *unwind_last_error(void);
