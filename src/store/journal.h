/* Announcing a crash: one structured journal entry, or one line on /dev/kmsg when
 * journald is not there. Never blocks the collector for long. */
#pragma once

#include <json-c/json.h>
#include <stddef.h>

/* MESSAGE_ID of the crash entry (generated once for mortem). */
#define JOURNAL_MESSAGE_ID "4d3a1f0e8b6c4f2a9e71c5b0d2a8f613"

/* The entry's MESSAGE (and the kmsg line): one line, whatever the record
 * holds, its strings escaped (base/text.h); cut to len. */
void journal_format(json_object *rec, const char *extra, char *msg, size_t len);

/* Log the record as one entry: PRIORITY=2, MESSAGE with the verdict, MORTEM_ID and
 * the COREDUMP_* fields. extra (may be NULL) is appended to MESSAGE. */
int journal_announce(json_object *record, const char *extra);
/* One free-form line, priority like syslog (3 = err), with the same fallback. */
int journal_log(int priority, const char *msg);
