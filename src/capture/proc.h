/* Capture of /proc/PID while the kernel still holds the dying process. Every item
 * is bounded (ProcItemMax), every count the process controls has a cap, the
 * whole runs under a time budget (CaptureBudget), and a failure to read an
 * item, or a cut, is recorded in the result under "errors"/"truncated", never
 * fatal. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

/* The files a dying process has mapped that the unprivileged analysis could
 * not open by their path: deleted (an upgrade replaced the binary while it
 * ran) or not readable by others (a 0700 service binary, a program in a 0700
 * home directory). They are opened during the capture, through
 * /proc/PID/map_files (root with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE), so
 * that the analysis unwinds and names frames from the very file the process
 * ran, handed to it as a descriptor (proc_maps.c). */
#define PROC_FILES_MAX 16 /* files kept per crash */

struct proc_file {
	char *path; /* as the process mapped it, " (deleted)" cut off */
	int fd;     /* O_RDONLY */
};

void proc_files_close(struct proc_file *f, size_t n);

/* CaptureBudget='s default: the process is held while the capture runs. */
#define PROC_BUDGET_USEC_DEFAULT 50000

struct proc_capture_opts {
	const char *const *redact; /* glob patterns on env keys (case-insensitive, fnmatch);
	                            * NULL = built-in list, non-NULL with n_redact 0 = none */
	size_t n_redact;
	size_t item_max;           /* byte cap per item; 0 = 256K */
	const char *proc_root;     /* "/proc" normally; tests may point elsewhere */
	/* Time budget of the whole capture: past it, the items and loops not
	 * done yet are cut (recorded under "errors" and "truncated"), never
	 * fatal. 0 = none. It counts from start_usec (CLOCK_MONOTONIC, as
	 * proc_now_usec), or from the call when that is 0. */
	uint64_t budget_usec;
	int64_t start_usec;
	/* With use_pidfd: the kernel's pidfd of the crashing process (%F). /proc/PID
	 * is read only when it is that pidfd's process (a live pidfd whose
	 * fdinfo "Pid:" is pid); else the mismatch is recorded and nothing is read. */
	bool use_pidfd;
	int pidfd;
	/* Where to open the lost files (see above), at most files_max, how many
	 * in *n_files; files NULL: none looked for. None is opened past half of
	 * RLIMIT_NOFILE. What cannot be opened (no capability, gone) is skipped:
	 * the analysis then looks the file up by its path. */
	struct proc_file *files;
	size_t files_max;
	size_t *n_files;
};

/* CLOCK_MONOTONIC in microseconds, the clock of start_usec. */
int64_t proc_now_usec(void);

/* Fill *ret with an object:
 *   "comm","exe","cmdline" (args joined by single spaces),"cwd","root",
 *   "environ" {KEY: value|"<redacted>"|null (no '=')}, "status" {Key: value},
 *   "limits" [{"name","soft","hard","units"}] (the raw text when unparseable),
 *   "cgroup" string, "unit"/"slice" (string or null), "mountinfo" string,
 *   "maps" string, "fds" [{"fd":N,"target":s,"fdinfo":s}], "namespaces" {name: inode},
 *   "container" bool (null when PID 1's cannot be read), "start_time" (clock ticks since boot, from stat),
 *   "threads" [{"tid":N,"comm":s}], "errors" {item: "message"}, "truncated" [items],
 *   "map_files" {"lines","paths","opened","too_deep"} (with opts->files: how many
 *   lines of maps were looked at, distinct executable paths judged, files opened,
 *   paths too deep to judge), "capture_usec" (from start_usec to the end)
 * An item that cannot be read is null, with its reason in "errors".
 * Returns 0, or -ESRCH when /proc/PID does not exist at all (the object is still
 * set, with the error recorded; likewise another negative errno when it cannot be
 * opened, or -ESRCH, with the reason in "errors"."proc", when /proc/PID is not
 * the pidfd's process). -EINVAL, nothing set, for pid <= 0 or NULL opts/ret. */

int proc_capture(pid_t pid, const struct proc_capture_opts *opts, json_object **ret);


/* Environment value redaction: 1 when key matches one of the patterns (NULL
 * patterns: the built-in list), 0 when not, -EINVAL for a NULL key. */
int proc_env_key_is_secret(const char *key, const char *const *patterns, size_t n);
