/* What led to the crash: the last lines the crashed unit wrote to the
 * journal, read with sd-journal after the process was released (the journal
 * outlives the process; nothing here holds it). The crashed program wrote
 * those lines: they are redacted as its environment is (RedactEnvironment=
 * patterns on KEY=VALUE words) and credentials in URLs
 * (scheme://user:PASSWORD@) are cut, each line and the whole are capped. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define UNITLOG_LINES_MAX 1000        /* JournalLines= upper bound */
#define UNITLOG_LINE_BYTES 2048       /* bytes of one MESSAGE kept (cut at a character) */
#define UNITLOG_BYTES_MAX (64u << 10) /* bytes of all kept messages together */
#define UNITLOG_SCAN_MAX 100000       /* entries looked at, whatever they hold */

struct unitlog_opts {
	const char *unit;            /* the unit the process ran in (system or user unit) */
	bool user_unit;              /* a user unit: matched as _SYSTEMD_USER_UNIT= and _UID= */
	uid_t uid;
	unsigned lines;              /* at most this many (<= UNITLOG_LINES_MAX) */
	int64_t until_usec;          /* the crash's time: later lines are not its cause */
	const char *const *redact;   /* as proc_capture_opts: NULL = built-in list */
	size_t n_redact;
	const char *directory;       /* a journal directory (tests); NULL: the local journal */
};

/* *ret: an array of {"time_usec", "priority" (or null), "message"}, oldest
 * first; empty when the unit wrote nothing. -EINVAL without a unit or with
 * lines 0; -errno when the journal cannot be opened. */
int unitlog_read(const struct unitlog_opts *o, json_object **ret);

/* Redact one line in place (same length or shorter): every word KEY=VALUE
 * whose KEY is secret by the patterns gets VALUE "<redacted>" (the line may
 * grow: out holds up to len bytes, NUL-terminated, cut at a character); the
 * password of scheme://user:password@host is "<redacted>". Returns the
 * length written. */
size_t unitlog_redact(const char *line, const char *const *redact, size_t n_redact, char *out, size_t len);
