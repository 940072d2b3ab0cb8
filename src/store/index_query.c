/* The read side of the index: listings streamed one row at a time, the
 * lookup of one id, and what a MATCH word means. See index.h.
 *
 * A listing never holds the store in memory: index_query_each steps one
 * statement and hands each row to a callback with SQLite's own buffers, so a
 * store of 100,000 crashes lists in the memory of one row. ORDER BY, LIMIT and
 * every filter are SQL over indexes (schema 5: time_usec+id, exe, unit,
 * signature and uid lead an index each), which index_explain lets a test see. */
#include "store/index.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/index_sql.h"
#include "base/util.h"

#define INDEX_QUERY_SQL_MAX 1536 /* the SELECT we assemble from fixed fragments */
#define INDEX_MATCH_MAX     4096 /* bytes of a MATCH word: longer is no id, exe or comm */

/* Whether any row satisfies sql for match (?1). */
static int match_exists(sqlite3 *db, const char *sql, const char *match, bool *ret)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return index_errno(db, rc);
	*ret = rc == SQLITE_ROW;
	return 0;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* WHERE fragments for a MATCH; the match string is always parameter ?1. An id
 * prefix is a range of the primary key: ids are [A-Za-z0-9._-], all below
 * '~', so every id that starts with P lies in [P, P || '~'); the substr()
 * keeps the test exact for any other byte. */
#define MATCH_ID     "id = ?1"
#define MATCH_PID    "pid = CAST(?1 AS INTEGER)"
#define MATCH_PREFIX "id >= ?1 AND id < ?1 || '~' AND substr(id, 1, length(?1)) = ?1"
#define MATCH_EXE    "exe = ?1"
#define MATCH_COMM   "comm = ?1"

/* Resolve what a MATCH string means, over the whole table (not the time window),
 * so that the meaning of a word does not change with --since/--until. Each
 * probe is one index lookup. */
static int match_resolve(sqlite3 *db, const char *match, const char **ret)
{
	bool found;
	int r;

	r = match_exists(db, "SELECT 1 FROM crashes WHERE " MATCH_ID " LIMIT 1", match, &found);
	if (r < 0)
		return r;
	if (found) {
		*ret = MATCH_ID;
		return 0;
	}
	if (all_digits(match) && strlen(match) <= 18) {
		r = match_exists(db, "SELECT 1 FROM crashes WHERE " MATCH_PID " LIMIT 1", match, &found);
		if (r < 0)
			return r;
		if (found) {
			*ret = MATCH_PID;
			return 0;
		}
	}
	r = match_exists(db, "SELECT 1 FROM crashes WHERE " MATCH_PREFIX " LIMIT 1", match, &found);
	if (r < 0)
		return r;
	if (found)
		*ret = MATCH_PREFIX;
	else
		*ret = strchr(match, '/') ? MATCH_EXE : MATCH_COMM;
	return 0;
}

/* Column i as text, borrowed from the statement; "" for a NULL that the row
 * promises is a string, NULL for a nullable one. -ENOMEM when SQLite could
 * not convert it. */
static int col_text(sqlite3_stmt *st, int i, bool nullable, char **ret)
{
	const unsigned char *s = sqlite3_column_text(st, i);

	if (!s) {
		if (sqlite3_column_type(st, i) != SQLITE_NULL)
			return -ENOMEM;
		*ret = nullable ? NULL : (char *)"";
		return 0;
	}
	*ret = (char *)s;
	return 0;
}

/* The row the statement is on, its strings borrowed (valid until the next
 * step). */
static int row_borrow(sqlite3_stmt *st, struct index_row *row)
{
	static const struct {
		int col;
		bool nullable;
		size_t off;
	} texts[] = {
		{ 0, false, offsetof(struct index_row, id) },
		{ 6, false, offsetof(struct index_row, comm) },
		{ 7, false, offsetof(struct index_row, exe) },
		{ 8, true, offsetof(struct index_row, unit) },
		{ 9, false, offsetof(struct index_row, hostname) },
		{ 10, false, offsetof(struct index_row, boot_id) },
		{ 11, false, offsetof(struct index_row, core_status) },
		{ 14, true, offsetof(struct index_row, core_path) },
		{ 15, false, offsetof(struct index_row, record_path) },
		{ 16, true, offsetof(struct index_row, signature) },
		{ 17, true, offsetof(struct index_row, slogan) },
		{ 20, true, offsetof(struct index_row, slice) },
	};
	int r;

	memset(row, 0, sizeof(*row));
	row->time_usec = sqlite3_column_int64(st, 1);
	row->pid = sqlite3_column_int64(st, 2);
	row->uid = sqlite3_column_int64(st, 3);
	row->gid = sqlite3_column_int64(st, 4);
	row->signal = sqlite3_column_int(st, 5);
	row->core_size = (uint64_t)sqlite3_column_int64(st, 12);
	row->stored_size = (uint64_t)sqlite3_column_int64(st, 13);
	row->mini_size = (uint64_t)sqlite3_column_int64(st, 18);
	row->record_size = (uint64_t)sqlite3_column_int64(st, 19);
	row->user_unit = sqlite3_column_int(st, 21) != 0;
	for (size_t i = 0; i < ARRAY_SIZE(texts); i++) {
		r = col_text(st, texts[i].col, texts[i].nullable, (char **)((char *)row + texts[i].off));
		if (r < 0)
			return r;
	}
	return 0;
}

void index_row_clear(struct index_row *row)
{
	free(row->id);
	free(row->comm);
	free(row->exe);
	free(row->unit);
	free(row->hostname);
	free(row->boot_id);
	free(row->core_status);
	free(row->core_path);
	free(row->record_path);
	free(row->signature);
	free(row->slogan);
	free(row->slice);
	memset(row, 0, sizeof(*row));
}

static int dup_or_null(const char *s, char **ret)
{
	*ret = NULL;
	if (!s)
		return 0;
	*ret = strdup(s);
	return *ret ? 0 : -ENOMEM;
}

/* A borrowed row made owned. */
static int row_copy(const struct index_row *b, struct index_row *row)
{
	*row = *b;
	row->id = row->comm = row->exe = row->unit = row->hostname = row->boot_id = NULL;
	row->core_status = row->core_path = row->record_path = row->signature = row->slogan = row->slice = NULL;
	if (dup_or_null(b->id, &row->id) < 0 || dup_or_null(b->comm, &row->comm) < 0 ||
	    dup_or_null(b->exe, &row->exe) < 0 || dup_or_null(b->unit, &row->unit) < 0 ||
	    dup_or_null(b->hostname, &row->hostname) < 0 || dup_or_null(b->boot_id, &row->boot_id) < 0 ||
	    dup_or_null(b->core_status, &row->core_status) < 0 || dup_or_null(b->core_path, &row->core_path) < 0 ||
	    dup_or_null(b->record_path, &row->record_path) < 0 || dup_or_null(b->signature, &row->signature) < 0 ||
	    dup_or_null(b->slogan, &row->slogan) < 0 || dup_or_null(b->slice, &row->slice) < 0) {
		index_row_clear(row);
		return -ENOMEM;
	}
	return 0;
}

/* The SELECT for f, prepared and bound. Only fixed fragments go into the SQL
 * text; every value is bound: ?1 the match, ?2/?3 the time bounds, ?4 the
 * limit, ?5 the exe, ?6 the signature, ?7 the uid. Without a limit the rows
 * come straight off the crashes_time index in the order asked; the newest
 * `limit` rows in ascending order take a second sort of those rows only. */
static int query_prepare(sqlite3 *db, const struct index_filter *f, bool explain, sqlite3_stmt **ret)
{
	const char *match_sql = NULL, *match = f->match && f->match[0] ? f->match : NULL;
	const char *desc = "time_usec DESC, id DESC", *asc = "time_usec ASC, id ASC";
	char where[512], sql[INDEX_QUERY_SQL_MAX];
	sqlite3_stmt *st = NULL;
	int rc, r, len;

	if (match && strlen(match) > INDEX_MATCH_MAX)
		return -E2BIG;
	if (match) {
		r = match_resolve(db, match, &match_sql);
		if (r < 0)
			return r;
	}
	len = snprintf(where, sizeof(where), "1%s%s%s%s%s%s%s%s", match ? " AND (" : "", match ? match_sql : "",
		       match ? ")" : "", f->since_usec ? " AND time_usec >= ?2" : "",
		       f->until_usec ? " AND time_usec <= ?3" : "", f->exe ? " AND exe = ?5" : "",
		       f->signature ? " AND signature = ?6" : "", f->by_uid ? " AND uid = ?7" : "");
	if (len < 0 || (size_t)len >= sizeof(where))
		return -EINVAL;
	if (f->limit > 0 && !f->newest_first)
		len = snprintf(sql, sizeof(sql),
			       "%sSELECT " INDEX_ROW_COLUMNS " FROM (SELECT " INDEX_ROW_COLUMNS
			       " FROM crashes WHERE %s ORDER BY %s LIMIT ?4) ORDER BY %s",
			       explain ? "EXPLAIN QUERY PLAN " : "", where, desc, asc);
	else
		len = snprintf(sql, sizeof(sql), "%sSELECT " INDEX_ROW_COLUMNS " FROM crashes WHERE %s ORDER BY %s%s",
			       explain ? "EXPLAIN QUERY PLAN " : "", where, f->newest_first ? desc : asc,
			       f->limit > 0 ? " LIMIT ?4" : "");
	if (len < 0 || (size_t)len >= sizeof(sql))
		return -EINVAL;
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return index_errno(db, rc);
	if (match)
		rc = sqlite3_bind_text(st, 1, match, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK && f->since_usec)
		rc = sqlite3_bind_int64(st, 2, f->since_usec);
	if (rc == SQLITE_OK && f->until_usec)
		rc = sqlite3_bind_int64(st, 3, f->until_usec);
	if (rc == SQLITE_OK && f->limit > 0)
		rc = sqlite3_bind_int64(st, 4, f->limit > INT64_MAX ? INT64_MAX : (int64_t)f->limit);
	if (rc == SQLITE_OK && f->exe)
		rc = sqlite3_bind_text(st, 5, f->exe, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK && f->signature)
		rc = sqlite3_bind_text(st, 6, f->signature, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK && f->by_uid)
		rc = sqlite3_bind_int64(st, 7, f->uid);
	if (rc != SQLITE_OK) {
		r = index_errno(db, rc);
		(void)sqlite3_finalize(st);
		return r;
	}
	*ret = st;
	return 0;
}

int index_query_each(sqlite3 *db, const struct index_filter *f, index_row_fn fn, void *userdata)
{
	static const struct index_filter all = { 0 };
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	struct index_row row;
	int rc, r, n = 0;

	if (!db || !fn)
		return -EINVAL;
	r = query_prepare(db, f ? f : &all, false, &st);
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r = row_borrow(st, &row);
		if (r < 0)
			return r;
		r = fn(&row, userdata);
		if (r < 0)
			return r;
		if (n < INT32_MAX)
			n++;
		if (r > 0)
			return n;
	}
	return rc == SQLITE_DONE ? n : index_errno(db, rc);
}

struct query_collect {
	struct index_row *rows;
	size_t n, cap;
};

static int query_collect_row(const struct index_row *row, void *userdata)
{
	struct query_collect *q = userdata;

	if (q->n == q->cap) {
		size_t ncap = q->cap ? q->cap * 2 : 16;
		struct index_row *nrows = reallocarray(q->rows, ncap, sizeof(*nrows));
		if (!nrows)
			return -ENOMEM;
		q->rows = nrows;
		q->cap = ncap;
	}
	if (row_copy(row, &q->rows[q->n]) < 0)
		return -ENOMEM;
	q->n++;
	return 0;
}

int index_query(sqlite3 *db, const struct index_filter *f, struct index_row **ret, size_t *ret_n)
{
	struct query_collect q = { 0 };
	int r;

	if (!db || !ret || !ret_n)
		return -EINVAL;
	r = index_query_each(db, f, query_collect_row, &q);
	if (r < 0) {
		index_rows_free(q.rows, q.n);
		return r;
	}
	*ret = q.rows;
	*ret_n = q.n;
	return 0;
}

void index_rows_free(struct index_row *rows, size_t n)
{
	if (!rows)
		return;
	for (size_t i = 0; i < n; i++)
		index_row_clear(&rows[i]);
	free(rows);
}

int index_lookup(sqlite3 *db, const char *id, struct index_row *ret)
{
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	struct index_row b;
	int rc, r;

	if (!db || !id || !ret)
		return -EINVAL;
	rc = sqlite3_prepare_v2(db, "SELECT " INDEX_ROW_COLUMNS " FROM crashes WHERE id = ?1", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return index_errno(db, rc);
	r = row_borrow(st, &b);
	return r < 0 ? r : row_copy(&b, ret);
}

int index_explain(sqlite3 *db, const struct index_filter *f, char **ret_plan)
{
	static const struct index_filter all = { 0 };
	_cleanup_finalize_ sqlite3_stmt *st = NULL;
	_cleanup_free_ char *plan = NULL;
	size_t len = 0;
	int rc, r;

	if (!db || !ret_plan)
		return -EINVAL;
	r = query_prepare(db, f ? f : &all, true, &st);
	if (r < 0)
		return r;
	plan = strdup("");
	if (!plan)
		return -ENOMEM;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 3); /* id, parent, notused, detail */
		size_t dl = d ? strlen(d) : 0;
		char *np = realloc(plan, len + dl + 2);

		if (!np)
			return -ENOMEM;
		plan = np;
		memcpy(plan + len, d ? d : "", dl);
		len += dl;
		plan[len++] = '\n';
		plan[len] = '\0';
	}
	if (rc != SQLITE_DONE)
		return index_errno(db, rc);
	*ret_plan = TAKE_PTR(plan);
	return 0;
}
