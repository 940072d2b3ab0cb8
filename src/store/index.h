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

#define INDEX_SCHEMA_VERSION 4

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
};

struct index_filter {
	int64_t since_usec; /* 0 = no bound */
	int64_t until_usec; /* 0 = no bound */
	const char *match;  /* NULL = all; see index_query */
	bool newest_first;
	size_t limit;       /* 0 = no limit; with limit, the newest `limit` rows are kept */
};

/* Open (creating it and its schema when needed) the index at path. -EBADMSG when
 * the file is not a database or is corrupt (see index_reset), -ENOTSUP when its
 * schema is newer than INDEX_SCHEMA_VERSION. */
int index_open(const char *path, sqlite3 **ret);
void index_close(sqlite3 *db);
/* Remove the index file and its -wal, -shm and -journal companions (a corrupt
 * index is thrown away and rebuilt from the records). Missing files are fine. */
int index_reset(const char *path);
/* Insert or replace the row for one record (-EBADMSG when it fails
 * record_validate). record_path is where the JSON lives. */
int index_insert(sqlite3 *db, json_object *record, const char *record_path);
/* Rows matching the filter, sorted by time (oldest first unless newest_first).
 * MATCH: an exact id; else, when all digits and rows have that pid, a PID; else an
 * id prefix; else when it contains '/', an exe path; else a comm. */
int index_query(sqlite3 *db, const struct index_filter *f, struct index_row **ret, size_t *ret_n);
void index_rows_free(struct index_row *rows, size_t n);
/* 1 when a row was removed, 0 when there was none. */
int index_delete(sqlite3 *db, const char *id);

/* Bytes the indexed crashes take: cores still on disk, minicores, records.
 * A running total kept by triggers (schema 4): one row read, not a sum. */
int index_usage(sqlite3 *db, uint64_t *ret_bytes);
/* Times of the crashes of unit (or, when unit is NULL, of exe) at or after
 * since_usec whose core is still stored: the rate limit's window. */
int index_core_times(sqlite3 *db, const char *exe, const char *unit, int64_t since_usec, int64_t **ret,
		     size_t *ret_n);

/* Bytes a collector has reserved for a core it is still writing: the quota
 * decisions of the others count them. Removed when the core is written. */
struct index_reservation {
	const char *id, *exe, *unit; /* unit may be NULL */
	uint64_t bytes;
	int64_t time_usec;
	pid_t pid;                   /* the collector's, to tell abandoned ones */
};
int index_reserve(sqlite3 *db, const struct index_reservation *res);
int index_unreserve(sqlite3 *db, const char *id);
int index_reservations(sqlite3 *db, struct index_reservation **ret, size_t *ret_n);
void index_reservations_free(struct index_reservation *v, size_t n);
/* Drop all rows and re-insert one per valid store_dir/ *.json. Bad records are
 * counted and skipped, never deleted. */
int index_rebuild(sqlite3 *db, const char *store_dir, size_t *ret_ok, size_t *ret_bad);
