/* Capture of /proc/PID while the kernel still holds the dying process. Every item
 * is bounded (ProcItemMax) and a failure to read one is recorded in the result
 * under "errors", never fatal. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_capture_opts {
	const char *const *redact; /* glob patterns on env keys (case-insensitive, fnmatch) */
	size_t n_redact;
	size_t item_max;           /* byte cap per item */
	const char *proc_root;     /* "/proc" normally; tests may point elsewhere */
};

/* Fill *ret with an object:
 *   "comm","exe","cmdline" (args joined by single spaces),"cwd","root",
 *   "environ" {KEY: value|"<redacted>"}, "status" {Key: value}, "limits" [..],
 *   "cgroup" string, "unit"/"slice" (string or null), "mountinfo" string,
 *   "maps" string, "fds" [{"fd":N,"target":s,"fdinfo":s}], "namespaces" {name: inode},
 *   "container" bool, "start_time" (clock ticks since boot, from stat),
 *   "threads" [{"tid":N,"comm":s}], "errors" {item: "message"}, "truncated" [items]
 * Returns 0, or -ESRCH when /proc/PID does not exist at all (the object is still
 * set, with the error recorded). */
int proc_capture(pid_t pid, const struct proc_capture_opts *opts, json_object **ret);

/* System facts: "boot_id", "kernel" (uname -r), "os" (os-release PRETTY_NAME),
 * "machine_id". Missing ones are recorded in "errors". */
int proc_capture_system(json_object **ret);

/* Environment value redaction: 1 when key matches one of the patterns. */
int proc_env_key_is_secret(const char *key, const char *const *patterns, size_t n);

/* systemd unit and slice from a /proc/PID/cgroup text ("0::/system.slice/foo.service").
 * *unit / *slice are heap strings or NULL. */
int proc_cgroup_unit(const char *cgroup, char **unit, char **slice);
