/* The SQLite index: a cache of the JSON records for fast listing. WAL mode, a busy
 * timeout, retries, schema version in user_version with migrations. The records
 * are the truth: index_rebuild() recreates every row from store/ *.json. */
#pragma once

#include <json-c/json.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "store/policy.h"

#define INDEX_SCHEMA_VERSION 5

struct index_row {
	char *id;
	int64_t time_usec;
	int64_t pid, uid, gid;
	int signal;
	char *comm, *exe, *unit, *hostname, *boot_id;
	char *core_status;
	uint64_t core_size, stored_size;
	char *core_path;   /* may be NULL, as may unit */
	char *record_path; /* path of the JSON record */
	char *signature;   /* may be NULL (no analysis) */
	char *slogan;      /* may be NULL */
	uint64_t mini_size, record_size; /* bytes of the minicore and of the record file */
	char *slice;       /* may be NULL (schema 5; NULL in rows older than it until a reindex) */
	bool user_unit;    /* under a user manager (schema 5) */
};

struct index_filter {
	int64_t since_usec; /* 0 = no bound */
	int64_t until_usec; /* 0 = no bound */
	const char *match;  /* NULL = all; see index_query */
	bool newest_first;
	size_t limit;       /* 0 = no limit; with limit, the newest `limit` rows are kept */
	const char *exe;       /* NULL = any; else exactly this executable path */
	const char *signature; /* NULL = any; else exactly this signature */
	bool by_uid;           /* only the rows of uid */
	int64_t uid;
};

/* Three ways to open the index; which verb uses which:
 *
 *   index_open          creates the file and its schema, migrates: the collector,
 *                       the daemon, `mortem reindex`, anything that inserts.
 *   index_open_ro       reads only, never writes a byte nor creates a file when
 *                       it cannot: `list`, `info`, `show`, `gdb`, `dump`,
 *                       `stacks`, `doctor`, `vacuum --dry-run`. Works on a full
 *                       file system and on a read-only one (a remount, a
 *                       forensic copy).
 *   index_open_cleanup  deletes rows: `rm`, `vacuum`, the collector's vacuum.
 *                       On a full file system (less than INDEX_CLEANUP_FREE_MIN
 *                       free, or when the plain open fails with -ENOSPC) it
 *                       takes the index for itself and writes in place, needing
 *                       no new block: see index.c.
 *
 * All: -EBADMSG when the file is not a database or is corrupt (see
 * index_reset), -ENOTSUP when its schema is newer than INDEX_SCHEMA_VERSION.
 * index_open_ro and index_open_cleanup never create the file (-ENOENT) and
 * -ENOTSUP too for an older schema, which they cannot migrate. */
int index_open(const char *path, sqlite3 **ret);
int index_open_ro(const char *path, sqlite3 **ret);
#define INDEX_CLEANUP_FREE_MIN (UINT64_C(4) << 20) /* below this free, clean up in place */
int index_open_cleanup(const char *path, sqlite3 **ret);
/* Whether db came from index_open_ro's last resort, the immutable open (the
 * -shm could be neither used nor made): rows still only in an uncheckpointed
 * -wal are not seen then. */
bool index_is_immutable(sqlite3 *db);
/* SQLite's result code as a negative errno (0 for OK, ROW, DONE). */
int index_errno(sqlite3 *db, int rc);
void index_close(sqlite3 *db);
/* Remove the index file and its -wal, -shm and -journal companions (a corrupt
 * index is thrown away and rebuilt from the records). Missing files are fine. */
int index_reset(const char *path);
/* Insert or replace the row for one record (-EBADMSG when it fails
 * record_validate). record_path is where the JSON lives. */
int index_insert(sqlite3 *db, json_object *record, const char *record_path);
/* Rows matching the filter, sorted by time (oldest first unless newest_first).
 * MATCH: an exact id; else, when all digits and rows have that pid, a PID; else an
 * id prefix; else when it contains '/', an exe path; else a comm.
 * The whole result in one array: for small results (a match, a limit). A
 * listing of the store uses index_query_each. */
int index_query(sqlite3 *db, const struct index_filter *f, struct index_row **ret, size_t *ret_n);
void index_rows_free(struct index_row *rows, size_t n);
void index_row_clear(struct index_row *row);

/* The same rows, streamed: fn is called once per row, in order, with a row
 * whose strings point into SQLite's buffers and are valid only during the
 * call (copy what you keep). No array of rows is built: memory stays flat
 * whatever the store holds; ORDER BY and LIMIT run in SQL on the indexes.
 * fn returns 0 to go on, > 0 to stop (index_query_each then returns 0), < 0
 * to stop with that error. Returns the number of rows passed to fn, or a
 * negative errno. */
typedef int (*index_row_fn)(const struct index_row *row, void *userdata);
int index_query_each(sqlite3 *db, const struct index_filter *f, index_row_fn fn, void *userdata);
/* One row by its exact id through the primary key (O(log n)); *ret owned by
 * the caller (index_row_clear). -ENOENT when there is none. */
int index_lookup(sqlite3 *db, const char *id, struct index_row *ret);
/* EXPLAIN QUERY PLAN of the SELECT index_query_each runs for f, one step per
 * line (heap string): for tests and `doctor`, to see the indexes used. */
int index_explain(sqlite3 *db, const struct index_filter *f, char **ret_plan);
/* 1 when a row was removed, 0 when there was none. */
int index_delete(sqlite3 *db, const char *id);

/* Bytes the indexed crashes take: cores still on disk, minicores, records.
 * A running total kept by triggers (schema 4): one row read, not a sum. */
int index_usage(sqlite3 *db, uint64_t *ret_bytes);
/* Times of the crashes of unit (or, when unit is NULL, of exe) at or after
 * since_usec whose core is still stored: the rate limit's window. Of one owner
 * (uid, system or user unit, slice) with index_core_times_owner; of anyone
 * with index_core_times (or owner NULL), the count before schema 5. */
int index_core_times(sqlite3 *db, const char *exe, const char *unit, int64_t since_usec, int64_t **ret,
		     size_t *ret_n);
int index_core_times_owner(sqlite3 *db, const char *exe, const char *unit, const struct policy_owner *owner,
			   int64_t since_usec, int64_t **ret, size_t *ret_n);

/* Bytes a collector has reserved for a core it is still writing: the quota
 * decisions of the others count them. Removed when the core is written. */
struct index_reservation {
	const char *id, *exe, *unit; /* unit may be NULL */
	uint64_t bytes;
	int64_t time_usec;
	pid_t pid;                   /* the collector's, to tell abandoned ones */
	/* Whose crash (schema 5); owner.slice may be NULL. A reservation made
	 * without one (has_owner false) is stored with uid -1. */
	bool has_owner;
	struct policy_owner owner;
};
int index_reserve(sqlite3 *db, const struct index_reservation *res);
int index_unreserve(sqlite3 *db, const char *id);
int index_reservations(sqlite3 *db, struct index_reservation **ret, size_t *ret_n);
void index_reservations_free(struct index_reservation *v, size_t n);
/* Drop all rows and re-insert one per valid store_dir/ *.json. Bad records are
 * counted and skipped, never deleted. */
int index_rebuild(sqlite3 *db, const char *store_dir, size_t *ret_ok, size_t *ret_bad);
