/* The upload queue and what goes up. The queue is part of the store
 * (ROOT/upload/<id>, one small JSON file per crash waiting), so it survives
 * restarts and goes with the store; `mortem upload` works through it.
 *
 * The object layout (README and mortem.conf(5), "OBJECT LAYOUT"):
 *   PREFIX/crashes/HOST/ID/record.json   the record, written last
 *   PREFIX/crashes/HOST/ID/mini          the minicore
 *   PREFIX/crashes/HOST/ID/core.zst      the core, as stored (zstd), per Cores=
 *   PREFIX/index/DAY/HOST.json           that host's crashes of that UTC day
 * HOST is the record's hostname, DAY is YYYY-MM-DD of the crash's time (UTC). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/config.h"
#include "fleet/s3.h"
#include "store/store.h"

#define UPLOAD_DIR "upload"                 /* ROOT/upload/<id>: the queue */
#define UPLOAD_ENTRY_MAX 4096               /* bytes of one queue entry file */
#define UPLOAD_QUEUE_MAX 100000             /* entries one run reads */
#define UPLOAD_INDEX_MAX (16u << 20)        /* bytes of a day index object read back */
#define UPLOAD_INDEX_ENTRIES_MAX 50000      /* crashes one day index object lists */
#define UPLOAD_ERROR_MAX 200                /* bytes of an error kept in the record */

/* Queue a stored crash for upload: a no-op (0) when Endpoint= is empty. Then
 * MaxQueue= is applied: while the cores waiting exceed it, the oldest
 * entries' cores are dropped from the queue (their records and minicores
 * still go; the local crash is untouched), and the entry says so. This is the
 * one function the collector and mortemd call, once the record is published. */
int upload_enqueue(const struct mortem_config *cfg, const struct store *st, const char *id);

/* Ids waiting, oldest first (heap). */
int upload_queue_list(const struct store *st, char ***ret_ids, size_t *ret_n);

/* "PREFIX/crashes/HOST/ID/NAME", "PREFIX/index/DAY/HOST.json" (heap; prefix
 * may be NULL). NULL when a part cannot be a key (see upload_host_valid). */
char *upload_crash_key(const char *prefix, const char *host, const char *id, const char *name);
char *upload_index_key(const char *prefix, const char *day, const char *host);
/* Host names go into keys as they are: [A-Za-z0-9._-], 1..253 bytes, not "." or "..". */
bool upload_host_valid(const char *host);
/* "YYYY-MM-DD" of usec in UTC (buf >= 11). */
void upload_day(int64_t usec, char *buf, size_t len);

/* The Cores=first rule, on a day index's crashes array: does a crash other
 * than id, of the same signature key, already have its core up? The key is
 * the signature, or "exe:" and the executable when the analysis gave none. */
bool upload_core_seen(json_object *crashes, const char *id, const char *sigkey);

/* One crash processed by upload_run. */
struct upload_event {
	const char *id;
	int result;         /* 0 uploaded, -EBUSY skipped (its collector still works), < 0 failed */
	const char *error;  /* with result < 0 */
	unsigned parts;     /* multipart parts of the core (0: single PUT or none) */
	uint64_t bytes;     /* sent */
	const char *core;   /* what happened to the core, for the message */
};
typedef void (*upload_event_fn)(void *userdata, const struct upload_event *ev);

struct upload_stats {
	unsigned uploaded, failed, busy, gone;
	uint64_t bytes;
};

/* Work through the queue once, oldest first, one run at a time per store
 * (-EALREADY when another holds ROOT/upload/.run.lock). A failure leaves the
 * entry queued with its error and its attempt count; the record gains
 * upload{status, time_usec, keys, core, error} either way. */
int upload_run(const struct mortem_config *cfg, const struct store *st, struct s3 *s3, upload_event_fn fn,
	       void *userdata, struct upload_stats *ret);
