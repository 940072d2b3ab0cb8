/* What the store takes and how its crashes group: `mortem disk-usage`,
 * `mortem list --group` and the report of `mortem vacuum`. The grouping is pure (no I/O);
 * usage_scan() and usage_file_bytes() measure the files on disk; the
 * usage_print_* functions write the tables and the JSON of those commands. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define USAGE_VERDICT_WIDTH 60 /* columns of a slogan when the terminal's width is unknown */

/* One crash, as the caller gathered it. Strings are not owned. */
struct usage_item {
	const char *id;
	const char *exe;       /* executable path, or the command name without one; may be NULL */
	const char *signature; /* NULL: not analysed, or the analysis failed */
	const char *slogan;    /* may be NULL */
	int64_t time_usec;
	bool has_core;         /* a core is still stored */
	uint64_t bytes;        /* core, minicore and record on disk */
};

enum usage_by {
	USAGE_BY_SIGNATURE,    /* crashes without a signature fall back to their executable */
	USAGE_BY_EXE,
};

enum usage_order {
	USAGE_ORDER_LAST,      /* the group whose last crash is oldest first */
	USAGE_ORDER_BYTES,     /* the largest first */
};

/* A group of crashes. Strings point into the items (not owned). */
struct usage_group {
	const char *signature; /* NULL when the group is an executable */
	const char *exe, *slogan; /* those of its newest crash */
	size_t count, cores;
	uint64_t bytes;
	int64_t first_usec, last_usec;
	size_t *members;       /* heap: indexes into the items, oldest first */
};

/* Group n items; *ret (heap, free with usage_groups_free) in the given order.
 * 0, -EINVAL or -ENOMEM. */
int usage_group(const struct usage_item *items, size_t n, enum usage_by by, enum usage_order order,
		struct usage_group **ret, size_t *ret_n);
void usage_groups_free(struct usage_group *g, size_t n);

/* The files of a store directory, by kind. */
struct usage_kind {
	size_t files;
	uint64_t bytes;
};
struct usage_totals {
	struct usage_kind cores;   /* *.core.zst */
	struct usage_kind minis;   /* *.mini */
	struct usage_kind records; /* *.json */
	struct usage_kind other;   /* anything else: left-overs, someone else's files */
	uint64_t total;
};

/* Which kind a file name of the store directory is: 0 core, 1 minicore,
 * 2 record, 3 other. */
int usage_kind_of(const char *name);
/* Sum the regular files of dir by kind (by name; hidden files are skipped).
 * 0 or negative errno. */
int usage_scan(const char *dir, struct usage_totals *out);
/* The same, but a file that no crash accounts for (see usage_foreign_scan;
 * ids sorted, not NULL) is "other" whatever its name, hidden ones included. */
int usage_scan_accounted(const char *dir, const char *spool_dir, char *const *ids, size_t n_ids,
			 struct usage_totals *out);
/* Bytes of dir/<id><suffix>; 0 when missing. */
uint64_t usage_file_bytes(const char *dir, const char *id, const char *suffix);

/* "2026-11-21 12:49:05 UTC" in the local time zone (buf >= 64). */
void usage_local_time(int64_t usec, char *buf, size_t len);

/* The text forms escape every string they print (base/text.h: a control
 * character is \xHH); the JSON forms carry the strings as they are.
 *
 * list --group: COUNT FIRST LAST EXE VERDICT lines (the verdict cut to what is
 * left of cols columns, USAGE_VERDICT_WIDTH when cols is 0), or with json an
 * array of {signature, count, first, last, first_usec, last_usec, exe,
 * slogan, cores, ids}. items are those the groups were made of. */
void usage_print_groups(FILE *f, const struct usage_item *items, const struct usage_group *g, size_t n,
			bool reverse, bool json, size_t cols);

/* Everything `mortem disk-usage` says. Pointers not owned. */
struct usage_report {
	const char *store_dir;
	struct usage_totals totals;
	uint64_t fs_size, fs_free;       /* 0 when unknown */
	uint64_t max_use, keep_free;     /* effective limits; 0 = none */
	const struct usage_group *by_exe;
	size_t n_exe;
	const struct usage_group *by_signature;
	size_t n_signature;
};
void usage_print_report(FILE *f, const struct usage_report *r, bool json);

/* Files of the store directory that no crash accounts for: anything but
 * <id>.core.zst, <id>.mini and <id>.json of an indexed crash or of one being
 * written (spool/<id>.lock exists). Someone else's files, or records the index
 * lacks: the vacuum neither counts nor deletes them. */
#define USAGE_FOREIGN_NAMES 10 /* names kept for the report; the rest are only counted */
struct usage_foreign {
	size_t files;          /* directory entries, of any type */
	uint64_t bytes;        /* sizes of the regular files among them */
	size_t records;        /* <id>.json files among them (a reindex may claim them) */
	char *names[USAGE_FOREIGN_NAMES]; /* heap, the first ones in directory order */
	size_t n_names;
};
/* ids: the indexed crashes, sorted by strcmp. 0 or negative errno. */
int usage_foreign_scan(const char *dir, const char *spool_dir, char *const *ids, size_t n_ids,
		       struct usage_foreign *out);
void usage_foreign_free(struct usage_foreign *f);

/* The report of `mortem vacuum`. Pointers not owned. */
struct usage_deletion {
	const char *id, *reason;
	bool core_only;        /* the core only: the record and minicore stay */
	uint64_t bytes;        /* what it frees */
};
struct usage_vacuum {
	bool dry_run;
	const struct usage_deletion *del;
	size_t n_del;
	uint64_t freed;        /* bytes actually freed (0 in a dry run) */
	int lost;              /* crashes recorded as lost first (pending_recover) */
	bool over;             /* the store stays over its limits */
	uint64_t max_use, keep_free;          /* effective limits; 0 = none */
	const struct usage_foreign *foreign;  /* may be NULL: not scanned */
};
/* Text: DELETE ID SIZE REASON lines and the totals, then what was not
 * accounted for. JSON: {dry_run, deleted: [{id, what, reason, bytes}], totals:
 * {cores, records, bytes}, lost, over_limits, max_use, keep_free,
 * unaccounted: {files, bytes, records, names}}. */
void usage_print_vacuum(FILE *f, const struct usage_vacuum *v, bool json);
