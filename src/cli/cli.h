/* cli.h: private to the mortem command (src/cli): the options every verb
 * reads, its exit statuses, the helpers the verbs share (cli.c) and the
 * verbs themselves (list.c, inspect.c, manage.c), which return an exit status. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/config.h"
#include "cli/enable.h"
#include "cli/match.h"
#include "store/index.h"
#include "store/store.h"
#include "store/usage.h"

#define CLI_PENDING_WAIT_USEC (10 * 1000000) /* a crash still being processed is waited for this long */
#define CLI_PENDING_POLL_USEC 100000        /* for its record to appear, looking this often */
#define CLI_INDEX_LAG_USEC (2 * 1000000)    /* and then for its index row, which follows the record */

#ifndef MORTEM_VERSION
#define MORTEM_VERSION "0.1" /* packaging/debian/changelog's */
#endif

/* Exit statuses beyond 0 and 1 (mortem(1); the list is atop mortem.c). */
enum {
	EXIT_USAGE = 2,
	EXIT_NOMATCH = 3,
	EXIT_AMBIGUOUS = 4,
	EXIT_NOCORE = 5,
	EXIT_PENDING = 6,
};

struct cli {
	struct mortem_config cfg;
	struct store st;
	const char *config_path;
	bool json;             /* --json, --json=short or --json=pretty */
	bool json_short;       /* --json=short: one line */
	const char *since, *until, *output, *debugger;
	bool reverse, all;
	bool dry_run, group;   /* vacuum --dry-run, list --group */
	char **matches;        /* rm: every MATCH (points into argv) */
	size_t n_matches;
	struct match_term *terms; /* FIELD=VALUE matches (match.h) */
	size_t n_terms;
	const char *field;     /* -F FIELD: print that field of each match */
	const char *debugger_args; /* -A: words put before the executable and core */
	bool no_pager, no_legend, quiet;
	size_t columns;        /* the terminal's width; 0 when stdout is not one */
	size_t limit;
	bool force, runtime;   /* enable */
	const char *collector; /* enable --collector */
	enum enable_mode mode; /* enable --mode */
	const char *host;      /* fleet --host */
	bool userview;         /* not root: the index is the user's view (userview.c) */
	const char *container;  /* --container NAME, or MATCH "container=NAME" (cli_rows) */
	bool no_core;           /* export --no-core */
	const char *textfile;   /* metrics --textfile DIR */
};

#define CLI_MATCH_CONTAINER "container=" /* the MATCH field of --container */

/* "mortem: " and the message on standard error, escaped (base/text.h): it
 * may quote an id, a path or a MATCH. */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The index, read-only (index_open_ro); rebuilt from the records when it is
 * missing and the store is writable; errors said. */
int cli_open_index(struct cli *c, sqlite3 **db);
/* The same for rm and vacuum, which delete rows (index_open_cleanup: also on
 * a full file system). */
int cli_open_index_cleanup(struct cli *c, sqlite3 **db);
/* --since / --until (what) into *ret; 0 when s is NULL; -EINVAL, said. */
int cli_time_bound(const char *s, const char *what, int64_t *ret);
/* The index filter for a MATCH, the FIELD=VALUE terms the index can take
 * (match_index_filter) and --since/--until; limit only without terms (those
 * are checked after the query). Returns an exit status (a bad TIME, said). */
int cli_filter(const struct cli *c, const char *match, bool newest_first, size_t limit, struct index_filter *f);
/* Rows for the filter (*f is filled in); says nothing when there are none.
 * Returns an exit status. */
int cli_rows(struct cli *c, const char *match, bool newest_first, size_t limit, struct index_filter *f,
	     struct index_row **rows, size_t *n);
/* Rows for the filter; prints the no-match message. Returns an exit status. */
int cli_query(struct cli *c, const char *match, bool newest_first, size_t limit, struct index_row **rows,
	      size_t *n);
/* The crash for info (see cli.c): *ret_pending, the id of a crash still being
 * processed, or (*rows)[0]. Returns an exit status. */
int cli_select(struct cli *c, const char *match, struct index_row **rows, size_t *n, char **ret_pending);
/* Every crash that matches for info, oldest first: the stored ones in *rows,
 * those still being processed in *ret_notes (an array); an id prefix that
 * fits several is refused. Returns an exit status. */
int cli_select_all(struct cli *c, const char *match, struct index_row **rows, size_t *n, json_object **ret_notes);
/* Waits a little for a pending crash's record: 0 when there, EXIT_PENDING
 * (nothing said) when still pending, else an exit status, said. */
int cli_pending_wait(const struct cli *c, const char *id);
/* The crash for stacks, dump, debug and analyze, in (*rows)[0]. Returns an
 * exit status. */
int cli_pick(struct cli *c, const char *match, struct index_row **rows, size_t *n);
/* The rows as crashes to group (heap; strings point into the rows); sizes:
 * measure each crash's files. NULL when out of memory. */
struct usage_item *cli_usage_items(const struct cli *c, const struct index_row *rows, size_t n, bool sizes);

/* userview.c: for a user who cannot read the index, one in memory from the
 * records that user may read (store/access.h); errors said. */
int userview_open(struct cli *c, sqlite3 **ret);
/* match is the id of a stored crash this user may not read: said plainly. */
bool userview_foreign(const struct cli *c, const char *match);
/* Prints the no-match message (unless -q). */
void cli_nomatch(const struct cli *c, const char *match);
/* Keeps the notes that match the FIELD=VALUE terms (takes notes). */
json_object *cli_filter_notes(const struct cli *c, json_object *notes);
/* A JSON value on standard output, in the form --json asked for. */
void cli_print_json(const struct cli *c, json_object *o);

int list_crashes(struct cli *c, const char *match);
/* The text lines of list, strings escaped (base/text.h): a stored crash, and
 * a crash still being processed (its pending note). exe_cols: the EXE
 * column's width, its paths shortened in the middle to fit; 0: whole paths
 * (at least LIST_EXE_COLS wide). */
#define LIST_EXE_COLS 40
void list_print_row(FILE *f, const struct index_row *w, size_t exe_cols);
void list_print_pending(FILE *f, json_object *note, size_t exe_cols);
/* The EXE column's width for a terminal of cols columns (0: not one). */
size_t list_exe_cols(size_t cols);

int inspect_info(struct cli *c, const char *match);
int inspect_stacks(struct cli *c, const char *match);
int inspect_dump(struct cli *c, const char *match);
int inspect_debug(struct cli *c, const char *match);
int inspect_analyze(struct cli *c, const char *match);

int manage_reindex(struct cli *c);
int manage_vacuum(struct cli *c);
int manage_disk_usage(struct cli *c);
int manage_rm(struct cli *c);
