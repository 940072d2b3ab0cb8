/* The crash record: one JSON object per crash, stored as store/<id>.json. It is the
 * truth the index is rebuilt from, so it is validated on every load. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"

#define RECORD_FILE_MAX (64u << 20) /* a record larger than this is rejected on load */
#define RECORD_ID_MAX 128           /* ids are file name stems: store/<id>.json */


/* Check the contract keys and their types: id, time, time_usec, pid, uid, gid,
 * signal, signal_name, comm, exe, cmdline, hostname, boot_id, unit, core{status,
 * size, stored_size, path}. Returns 0 or -EBADMSG; *why (static string) says which. */
int record_validate(json_object *rec, const char **why);
/* An id is safe as a file name: [A-Za-z0-9._-]+, at most RECORD_ID_MAX, no leading '.'. */
bool record_id_valid(const char *id);
/* Read, parse and validate a record file: -EFBIG over RECORD_FILE_MAX, -EBADMSG for
 * bad JSON, trailing garbage or a contract violation. */
int record_load(const char *path, json_object **ret);
/* Read a JSON object from a regular file of at most max bytes (strict JSON,
 * nothing but white space after it, no NUL): the part of record_load before
 * the validation, for the other small JSON files of the store. -EFBIG over
 * max, -EBADMSG malformed, -EINVAL not a regular file, -EISDIR. */
int record_read_object(const char *path, size_t max, json_object **ret);
/* Serialize (pretty, with a trailing newline) to fd, then fsync. */
int record_write_fd(json_object *rec, int fd);
/* 1 when s is a valid core.status string, else 0. */
int record_core_status_valid(const char *s);

/* Typed getters that tolerate absent or wrong-typed keys (return fallback). */
const char *record_str(json_object *o, const char *key, const char *fallback);
int64_t record_i64(json_object *o, const char *key, int64_t fallback);
json_object *record_obj(json_object *o, const char *key);
