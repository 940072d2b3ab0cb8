/* Running the analysis of a stored crash again: `mortem analyze`, and mortemd
 * at its start for the analyses a stop cut short. The minicore is unwound anew
 * in the sandbox (analyze.h) and the analysis part of the record and its index
 * row are replaced; everything else the record holds (core, minicore, proc,
 * system, policy, collector, errors) stays as it is. */
#pragma once

#include <json-c/json.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "store/store.h"

/* Is key a top-level key of a record that the analysis owns: one of those
 * analyze_run can return (analysis, threads, modules, siginfo, slogan,
 * signature, the *_truncated flags, vdso, notes_error, ...), slogan and
 * signature being there always (collect_record defaults them)? Only these are
 * removed from the record and only these are taken from a new result. A key
 * added to analyze_run's output must be added here too (check_reanalyze
 * fails until it is). */
bool reanalyze_is_analysis_key(const char *key);

/* Put an analysis result (analyze_run's; NULL: none) into a record, as at
 * collection and again here: its analysis keys, then the defaults when it
 * gave none, slogan the signal's name sig (NULL: "unknown signal") and
 * signature null. */
void reanalyze_put_analysis(json_object *rec, json_object *res, const char *sig);

/* Run the analysis of stored crash id again from its minicore, with cfg's
 * [Analysis] settings, and replace the analysis part of its record and its
 * index row; the rest of the record is kept. The process is long gone: its
 * binaries are looked up in the host's paths, or for an imported crash
 * (record key "import") under its sysroot, ROOT/sysroot/<id> (bundle.h). cut: as analyze_opts.cut (NULL:
 * never). Returns 0 and *ret_status (static or pointing into nothing freed: the new
 * analysis.status, "ok"/"failed"/"skipped"), or -errno: -ENOENT no such
 * record, -ENODATA no minicore to analyse (the record says so), others from I/O.
 *
 * Also: -EINVAL id is not a valid id; -EBADMSG (or -EFBIG) the record cannot
 * be read as one (record_load) or names another id; -EBUSY its collector
 * still works on it (spool/<id>.lock is held: it is recompressing, and would
 * write its own copy of the record back); -EINTR cut was set and the analysis
 * came back without a result: nothing is replaced, since a result cut short
 * by our own stop says nothing about the crash. A record removed meanwhile
 * (`mortem rm`, the vacuum) is not brought back: -ENOENT. The record and the
 * index row are replaced under the store's quota lock, from the record as it
 * is then (a core the vacuum deleted meanwhile stays deleted); an error of
 * the index after the record was replaced is returned as it is (the record is
 * the truth: `mortem reindex` repairs the row). */
int reanalyze_crash(const struct mortem_config *cfg, const struct store *st, const char *id,
		    const volatile sig_atomic_t *cut, const char **ret_status);

/* The crashes to analyse again at mortemd's next start (those a stop cut
 * short): an empty file ROOT/reanalyze/<id> each. reanalyze_mark creates it
 * (and the directory, 0700); reanalyze_crash removes it once it has replaced
 * the record's analysis, and so does reanalyze_unmark (no error when there is
 * none). reanalyze_list returns the marked ids (valid ones only, sorted, so
 * oldest first) as a heap array of heap strings; a missing directory is none.
 * *ret_ids is written only on success. */
int reanalyze_mark(const struct store *st, const char *id);
void reanalyze_unmark(const struct store *st, const char *id);
int reanalyze_list(const struct store *st, char ***ret_ids, size_t *ret_n);
