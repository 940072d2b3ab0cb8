/* One capture of /proc/PID in progress and the helpers its items share
 * (proc.c, proc_env.c, proc_maps.c); not for use outside src/capture. */
#pragma once

#include <dirent.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/proc.h"

#define PROC_LINK_MAX PATH_MAX /* readlink buffer for exe, cwd, root, fd/N */

static inline void proc_ctx_closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}
#define _cleanup_closedir_ __attribute__((cleanup(proc_ctx_closedirp)))

/* One capture in progress. */
struct proc_ctx {
	int dirfd;              /* /proc/PID, O_PATH; owned by proc_capture */
	const char *proc_root;  /* not owned */
	size_t item_max;
	const char *const *redact; /* not owned */
	size_t n_redact;
	const char *const *redact_args; /* not owned */
	size_t n_redact_args;
	struct proc_secrets *secrets;   /* not owned; may be NULL */
	json_object *obj;       /* not owned: the result being filled */
	json_object *errors;    /* not owned: inside obj */
	json_object *truncated; /* not owned: inside obj */
	bool oom;
	int64_t deadline;       /* CLOCK_MONOTONIC usec when the budget is spent; 0: none */
	uint64_t budget_usec;   /* for the message */
	bool spent;             /* the budget was found spent: every later check cuts */
	struct proc_file *files; /* not owned: where the lost files go (proc_maps.c) */
	size_t files_max, n_files;
};

/* Strict decimal u64: no sign, no empty string, no trailing garbage, no overflow. */
int proc_ctx_parse_u64(const char *s, size_t len, uint64_t *ret);
/* s[0..len) as a JSON string, invalid UTF-8 bytes replaced; NULL on OOM. */
json_object *proc_ctx_json_text(const char *s, size_t len);
json_object *proc_ctx_json_str(const char *s);
/* Add value under key in obj (value NULL: allocation failed, unless want_null);
 * the first of duplicate keys wins. */
void proc_ctx_add(struct proc_ctx *c, json_object *obj, const char *key, size_t key_len, json_object *value,
		  bool want_null);
void proc_ctx_set(struct proc_ctx *c, const char *key, json_object *value);
void proc_ctx_set_null(struct proc_ctx *c, const char *key);
void proc_ctx_append(struct proc_ctx *c, json_object *array, json_object *value);
/* errors[item] = strerror(err) / msg; truncated += item (once). */
void proc_ctx_error(struct proc_ctx *c, const char *item, int err);
void proc_ctx_error_msg(struct proc_ctx *c, const char *item, const char *msg);
void proc_ctx_truncated(struct proc_ctx *c, const char *item);
/* Read path (relative to the /proc/PID fd) up to cap bytes. A failure is recorded
 * under item and returned; reaching cap is recorded as truncation of item. */
int proc_ctx_read(struct proc_ctx *c, const char *item, const char *path, size_t cap, char **ret, size_t *ret_len,
		  bool *ret_trunc);
/* Whether the capture's time budget is spent. When it is, the cut is recorded
 * under item ("errors": "capture budget of 50 ms spent", and "truncated"), so
 * that a caller only has to stop. Cheap (one vDSO clock read): the long loops
 * call it once per entry. */
bool proc_ctx_over_budget(struct proc_ctx *c, const char *item);
/* readlinkat into a heap string; -ENAMETOOLONG when the target fills the buffer. */
int proc_ctx_readlink_at(int dirfd, const char *path, char **ret, size_t *ret_len);

/* The parsers of the text items, over bytes already read (proc_ctx_read), so
 * that they can be tested and fuzzed without a /proc. buf is the read's:
 * buf[len] is there and NUL, and the parsers may change buf in place. They
 * use c only to record running out of memory (c->oom); nothing is added to
 * c->obj. */
/* /proc/PID/status: {"Key": "value"} of its "Key:\tvalue" lines (lines with no
 * key skipped, the first of duplicates kept); cut: buf was cut at the item's
 * cap, so its last, partial line is left out. NULL when out of memory. */
json_object *proc_status_parse(struct proc_ctx *c, char *buf, size_t len, bool cut);
/* /proc/PID/limits: [{"name","soft","hard","units"}], NULL when the text is not
 * laid out as the kernel's (the caller then keeps it as text) or out of memory. */
json_object *proc_limits_parse(struct proc_ctx *c, char *buf, size_t len);
/* The value of fdinfo's "KEY:" line (not its first): blanks after the colon
 * skipped, up to the line's end, a NUL or len; *ret points into buf. 0, or
 * -ENOENT when there is no such line, -EINVAL for a key over 29 bytes. */
int proc_fdinfo_field(const char *buf, size_t len, const char *key, const char **ret, size_t *ret_len);
