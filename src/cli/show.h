/* Human-readable forms of a crash record for the mortem command: the info page
 * and the folded stacks. Pure formatting over the record JSON. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

/* The info page: the verdict first, then the signal, the process, each thread's
 * stack (crashing thread first, marked), the modules with build-ids. A core or
 * minicore gone from the disk shows as "missing" (show_mark_present, which it
 * runs on rec). */
void show_info(FILE *f, json_object *rec);

/* Add "present": false to rec's core and minicore objects whose file is gone
 * from this machine's disk (a stat each: ENOENT or ENOTDIR; the status stays
 * as recorded). Only for a record of this machine's store, known by its
 * STORE/<id>.json beside the file; a record from elsewhere is left alone. */
void show_mark_present(json_object *rec);

/* Like MDB ::stacks: the crashing thread's stack apart, then identical stacks of
 * the other threads folded into one with a count, most frequent first. With
 * all, every thread is printed on its own. Returns the number of distinct
 * stacks printed. */
size_t show_stacks(FILE *f, json_object *rec, bool all);

/* The outcome of `mortem analyze` in one line, from the record it wrote:
 * "analysed ID: ok (3 threads)" or "analysed ID: failed (REASON)". */
void show_analysis(FILE *f, json_object *rec);

/* One frame line: "#3  0x00007f…1234 parse_header+0x1a (libfoo.so.1+0x1a2b) at foo.c:42". */
void show_frame(FILE *f, size_t n, json_object *frame);
