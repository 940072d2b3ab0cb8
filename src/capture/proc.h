/* Capture of /proc/PID while the kernel still holds the dying process. Every item
 * is bounded (ProcItemMax) and a failure to read one is recorded in the result
 * under "errors", never fatal. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "capture/proc_maps.h"

struct proc_capture_opts {
	const char *const *redact; /* glob patterns on env keys (case-insensitive, fnmatch);
	                            * NULL = built-in list, non-NULL with n_redact 0 = none */
	size_t n_redact;
	size_t item_max;           /* byte cap per item; 0 = 256K */
	const char *proc_root;     /* "/proc" normally; tests may point elsewhere */
};

/* Fill *ret with an object:
 *   "comm","exe","cmdline" (args joined by single spaces),"cwd","root",
 *   "environ" {KEY: value|"<redacted>"|null (no '=')}, "status" {Key: value},
 *   "limits" [{"name","soft","hard","units"}] (the raw text when unparseable),
 *   "cgroup" string, "unit"/"slice" (string or null), "mountinfo" string,
 *   "maps" string, "fds" [{"fd":N,"target":s,"fdinfo":s}], "namespaces" {name: inode},
 *   "container" bool (null when PID 1's cannot be read), "start_time" (clock ticks since boot, from stat),
 *   "threads" [{"tid":N,"comm":s}], "errors" {item: "message"}, "truncated" [items]
 * An item that cannot be read is null, with its reason in "errors".
 * Returns 0, or -ESRCH when /proc/PID does not exist at all (the object is still
 * set, with the error recorded; likewise another negative errno when it cannot be
 * opened). -EINVAL, nothing set, for pid <= 0 or NULL opts/ret. */

int proc_capture(pid_t pid, const struct proc_capture_opts *opts, json_object **ret);


/* Environment value redaction: 1 when key matches one of the patterns (NULL
 * patterns: the built-in list), 0 when not, -EINVAL for a NULL key. */
int proc_env_key_is_secret(const char *key, const char *const *patterns, size_t n);
