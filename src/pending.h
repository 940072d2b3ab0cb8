/* Crashes still being processed: spool/<id>.pending, a small JSON note written
 * right after the capture and removed with the spool lock once the crash is
 * published (or given up). It lets `mortem list` show a crash whose core is
 * still in mortemd's queue or being compressed, and lets the next run record
 * a crash whose collector or daemon died before publishing it as lost.
 *
 *   {"id","time","time_usec","pid","uid","signal","signal_name","comm","exe",
 *    "unit","mode"}       mode: "pipe", "handoff" or "socket"
 *
 * A note is live while spool/<id>.lock is held (flock); a note whose lock
 * nobody holds is a leftover. */
#pragma once

#include <json-c/json.h>

#include "store.h"

/* Write spool/<id>.pending atomically (temp + rename). The note is a copy of
 * the fields named above, taken from obj (other keys are ignored). */
int pending_write(const struct store *st, const char *id, json_object *note);
/* Remove spool/<id>.pending (no error when missing). */
void pending_remove(const struct store *st, const char *id);
