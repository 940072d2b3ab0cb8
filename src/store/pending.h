/* Crashes still being processed: spool/<id>.pending, a small JSON note written
 * right after the capture and removed with the spool lock once the crash is
 * published (or given up). It lets `mortem list` show a crash whose core is
 * still in mortemd's queue or being compressed, and lets the next run record
 * a crash whose collector or daemon died before publishing it as lost.
 *
 *   {"id","time","time_usec","pid","uid","gid","signal","signal_name","comm",
 *    "exe","cmdline","hostname","boot_id","unit","mode"}
 *                         mode: "pipe", "handoff" or "socket"
 *
 * every key of the record's contract (record_validate) that is known before
 * the core is read, so that `mortem list --json` gives a pending crash the
 * same keys as a stored one. The command line is cut at PENDING_CMDLINE_MAX
 * bytes ("cmdline_truncated": true then): the record has it whole.
 *
 * A note is live while spool/<id>.lock is held (flock); a note whose lock
 * nobody holds is a leftover. */
#pragma once

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/index.h"
#include "store/store.h"

#define PENDING_NOTE_MAX (64u << 10) /* a larger note is not read: it was not written by us */
#define PENDING_CMDLINE_MAX 4096     /* bytes of the command line in a note */
#define PENDING_LOST_REASON "the collector or mortemd stopped before the crash was stored"

/* Write spool/<id>.pending atomically (temp + rename). The note is a copy of
 * the fields named above, taken from obj (other keys are ignored). */
int pending_write(const struct store *st, const char *id, json_object *note);
/* Remove spool/<id>.pending (no error when missing). */
void pending_remove(const struct store *st, const char *id);

/* The live notes (someone holds their lock, or the crash is parked) as a new
 * JSON array, sorted by time_usec, then id. Each note keeps only the fields
 * above that have the right type; "id" (the file's, a valid id) and
 * "time_usec" are always there; "parked": true when the crash is parked.
 * Malformed notes and notes over PENDING_NOTE_MAX are skipped. A missing
 * spool directory gives an empty array. */
int pending_list(const struct store *st, json_object **ret_array);

/* Does the note pass f's time bounds and MATCH (f's limit and order are not
 * looked at)? MATCH as index_query reads it: the id, a PID when by_pid (the
 * caller decides, over the stored crashes and the notes, that an all-digit
 * MATCH is a PID), an id prefix, an executable path (with a '/') or a comm. */
bool pending_match(json_object *note, const struct index_filter *f, bool by_pid);
/* Some note of the array has the PID that match spells (all digits). */
bool pending_has_pid(json_object *notes, const char *match);

/* Record as lost every crash whose note outlived its collector: the lock is
 * abandoned (store_lock_abandoned; a note without any lock file counts when
 * older than STORE_STALE_LOCK_SEC) and store/<id>.json does not exist. It
 * writes a minimal valid record with core.status "lost" and the note's fields
 * (spool temp + store_publish, holding the lock meanwhile), indexes it when db
 * is not NULL, and removes the note. Store files of that id that never got a
 * record are removed first, as store_clean_spool() would. Must run before
 * store_clean_spool(), which discards the notes with the locks. Returns how
 * many crashes were recorded, or a negative errno when the spool cannot be
 * read (a missing spool is 0). */
int pending_recover(const struct store *st, sqlite3 *db);

/* The live notes that f selects (pending_match), oldest first, less those
 * whose id is among the n rows of the same query (published meanwhile). An
 * all-digit MATCH that is the PID of a live note is a PID for the stored
 * crashes too: when no row has it, index_query read it as an id prefix, and
 * the rows are freed (*rows NULL, *n 0). A spool that cannot be read (not
 * root) gives an empty array. */
json_object *pending_select(const struct store *st, const struct index_filter *f, struct index_row **rows,
			    size_t *n);

/* Wait up to usec, looking every poll_usec, for store/<id>.json: 1 when it
 * exists, 0 when the crash is still pending then, -ENOENT when its note went
 * without a record (the record is published before the note goes: the crash
 * was given up). */
int pending_wait(const struct store *st, const char *id, int64_t usec, int64_t poll_usec);
