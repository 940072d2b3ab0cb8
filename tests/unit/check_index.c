/* Unit tests for src/store/index.c: schema and migrations, queries, corruption,
 * rebuild from records, and concurrent inserts from many processes. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store/index.h"
#include "store/record.h"
#include "testutil.h"
#include "base/util.h"

#define T0 1795272545000000LL /* a base time in usec */

static char tmpdir[256];
static char dbpath[300];

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_index.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/index.sqlite", tmpdir);
}

static void teardown(void)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

static char *tpath(const char *name)
{
	static char p[512];

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static json_object *make_record(const char *id, int64_t time_usec, int64_t pid, const char *comm, const char *exe)
{
	json_object *r = json_object_new_object(), *core = json_object_new_object();
	char tbuf[64];

	snprintf(tbuf, sizeof(tbuf), "2026-11-21T12:49:%02lld.%06lldZ", (long long)(time_usec / 1000000 % 60),
		 (long long)(time_usec % 1000000));
	json_object_object_add(r, "id", json_object_new_string(id));
	json_object_object_add(r, "time", json_object_new_string(tbuf));
	json_object_object_add(r, "time_usec", json_object_new_int64(time_usec));
	json_object_object_add(r, "pid", json_object_new_int64(pid));
	json_object_object_add(r, "uid", json_object_new_int64(1000));
	json_object_object_add(r, "gid", json_object_new_int64(100));
	json_object_object_add(r, "signal", json_object_new_int(11));
	json_object_object_add(r, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(r, "comm", json_object_new_string(comm));
	json_object_object_add(r, "exe", json_object_new_string(exe));
	json_object_object_add(r, "cmdline", json_object_new_string(comm));
	json_object_object_add(r, "hostname", json_object_new_string("vm1"));
	json_object_object_add(r, "boot_id", json_object_new_string("0123456789abcdef"));
	json_object_object_add(r, "unit", NULL);
	json_object_object_add(core, "status", json_object_new_string("stored"));
	json_object_object_add(core, "size", json_object_new_int64(pid * 1000));
	json_object_object_add(core, "stored_size", json_object_new_int64(pid * 10));
	json_object_object_add(core, "path", NULL);
	json_object_object_add(r, "core", core);
	return r;
}

static void insert(sqlite3 *db, const char *id, int64_t time_usec, int64_t pid, const char *comm,
		   const char *exe)
{
	json_object *r = make_record(id, time_usec, pid, comm, exe);
	char rp[160];

	snprintf(rp, sizeof(rp), "/store/%s.json", id);
	ck_assert_int_eq(index_insert(db, r, rp), 0);
	json_object_put(r);
}

static int64_t pragma_i64(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static char *pragma_text(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *v;

	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	v = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return v;
}

/* Query and return the ids joined by ',' for compact comparisons. */
static char *query_ids(sqlite3 *db, const struct index_filter *f)
{
	struct index_row *rows = NULL;
	size_t n = 0;
	char *out = calloc(1, 4096);

	ck_assert_int_eq(index_query(db, f, &rows, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(out, ",");
		strcat(out, rows[i].id);
	}
	index_rows_free(rows, n);
	return out;
}

#define ASSERT_IDS(db, f, expect)                          \
	do {                                               \
		_cleanup_free_ char *_ids = query_ids(db, f); \
		ck_assert_str_eq(_ids, expect);            \
	} while (0)

/* Every descriptor the index holds must be close-on-exec: the collector execs
 * helpers while the index is open. fds open before index_open (check's own) are
 * marked in `before` and skipped. */
#define FDS_MAX 1024
static void fds_snapshot(bool *open_fds)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	memset(open_fds, 0, FDS_MAX * sizeof(bool));
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name); /* a /proc listing, not input */
		if (de->d_name[0] != '.' && fd >= 0 && fd < FDS_MAX && fd != dirfd(d))
			open_fds[fd] = true;
	}
	closedir(d);
}

static void assert_new_fds_cloexec(const bool *before)
{
	bool now[FDS_MAX];
	int seen = 0;

	fds_snapshot(now);
	for (int fd = 0; fd < FDS_MAX; fd++) {
		if (!now[fd] || before[fd])
			continue;
		ck_assert_msg(fcntl(fd, F_GETFD) & FD_CLOEXEC, "fd %d not close-on-exec", fd);
		seen++;
	}
	ck_assert_int_gt(seen, 0);
}

START_TEST(test_create)
{
	sqlite3 *db = NULL;
	_cleanup_free_ char *mode = NULL;
	bool before[FDS_MAX];

	fds_snapshot(before);
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	ck_assert_int_eq(pragma_i64(db, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	ck_assert_int_eq(INDEX_SCHEMA_VERSION, 5);
	mode = pragma_text(db, "PRAGMA journal_mode");
	ck_assert_str_eq(mode, "wal");
	ck_assert_int_eq(pragma_i64(db, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND "
					"name IN ('crashes_time','crashes_pid','crashes_comm','crashes_exe',"
					"'crashes_unit','crashes_signature','crashes_uid')"),
			 7);
	ck_assert_int_eq(pragma_i64(db, "SELECT count(*) FROM crashes"), 0);
	assert_new_fds_cloexec(before);
	index_close(db);
	/* reopening an existing index is a no-op */
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	ck_assert_int_eq(pragma_i64(db, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	index_close(db);
}
END_TEST

START_TEST(test_open_errors)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(index_open(tpath("no/such/dir/index.sqlite"), &db), -ENOENT);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(index_reset(tpath("absent.sqlite")), 0);
}
END_TEST

START_TEST(test_insert_fields)
{
	sqlite3 *db = NULL;
	struct index_row *rows = NULL;
	size_t n = 0;
	json_object *r;

	ck_assert_int_eq(index_open(dbpath, &db), 0);
	r = make_record("c1", T0 + 5, 77, "cat", "/bin/cat");
	json_object_object_add(r, "unit", json_object_new_string("cat.service"));
	json_object_object_add(record_obj(r, "core"), "path", json_object_new_string("/store/c1.core.zst"));
	json_object_object_add(r, "uid", json_object_new_int64(4294967294LL));
	ck_assert_int_eq(index_insert(db, r, "/store/c1.json"), 0);
	json_object_put(r);
	insert(db, "c2", T0 + 6, 78, "dog", "/bin/dog");

	ck_assert_int_eq(index_query(db, NULL, &rows, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[0].id, "c1");
	ck_assert_int_eq(rows[0].time_usec, T0 + 5);
	ck_assert_int_eq(rows[0].pid, 77);
	ck_assert_int_eq(rows[0].uid, 4294967294LL);
	ck_assert_int_eq(rows[0].gid, 100);
	ck_assert_int_eq(rows[0].signal, 11);
	ck_assert_str_eq(rows[0].comm, "cat");
	ck_assert_str_eq(rows[0].exe, "/bin/cat");
	ck_assert_str_eq(rows[0].unit, "cat.service");
	ck_assert_str_eq(rows[0].hostname, "vm1");
	ck_assert_str_eq(rows[0].boot_id, "0123456789abcdef");
	ck_assert_str_eq(rows[0].core_status, "stored");
	ck_assert_uint_eq(rows[0].core_size, 77000);
	ck_assert_uint_eq(rows[0].stored_size, 770);
	ck_assert_str_eq(rows[0].core_path, "/store/c1.core.zst");
	ck_assert_str_eq(rows[0].record_path, "/store/c1.json");
	ck_assert_ptr_null(rows[1].unit);
	ck_assert_ptr_null(rows[1].core_path);
	index_rows_free(rows, n);

	/* INSERT OR REPLACE: same id, new values */
	insert(db, "c1", T0 + 7, 77, "cat2", "/bin/cat");
	ck_assert_int_eq(index_query(db, NULL, &rows, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(rows[1].id, "c1");
	ck_assert_str_eq(rows[1].comm, "cat2");
	index_rows_free(rows, n);

	/* an invalid record is refused and leaves no row */
	r = make_record("c3", T0, 1, "x", "/x");
	json_object_object_del(r, "boot_id");
	ck_assert_int_eq(index_insert(db, r, "/store/c3.json"), -EBADMSG);
	json_object_put(r);

	ck_assert_int_eq(index_delete(db, "c2"), 1);
	ck_assert_int_eq(index_delete(db, "c2"), 0);
	ASSERT_IDS(db, NULL, "c1");

	/* empty result: out-params written, NULL array */
	rows = (void *)1;
	struct index_filter f = { .match = "nothing-like-this" };
	ck_assert_int_eq(index_query(db, &f, &rows, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(rows);
	index_close(db);
}
END_TEST

static sqlite3 *fill(void)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(index_open(dbpath, &db), 0);
	/* inserted out of time order on purpose */
	insert(db, "1795272545-b", T0 + 20, 200, "bash", "/usr/bin/bash");
	insert(db, "1795272545-a", T0 + 10, 100, "cat", "/usr/bin/cat");
	insert(db, "1795272546-c", T0 + 30, 300, "cat", "/opt/cat");
	insert(db, "1795272547-d", T0 + 40, 100, "vim", "/usr/bin/vim");
	insert(db, "1795272548-e", T0 + 50, 500, "a%b_c", "/usr/bin/pct");
	insert(db, "4242", T0 + 60, 600, "idpid", "/usr/bin/idpid");
	insert(db, "x4242", T0 + 70, 4242, "pid4242", "/usr/bin/p");
	return db;
}

START_TEST(test_order_and_time)
{
	sqlite3 *db = fill();
	struct index_filter f = { 0 };

	ASSERT_IDS(db, &f, "1795272545-a,1795272545-b,1795272546-c,1795272547-d,1795272548-e,4242,x4242");
	f.newest_first = true;
	ASSERT_IDS(db, &f, "x4242,4242,1795272548-e,1795272547-d,1795272546-c,1795272545-b,1795272545-a");
	/* since/until are inclusive */
	f = (struct index_filter){ .since_usec = T0 + 20, .until_usec = T0 + 40 };
	ASSERT_IDS(db, &f, "1795272545-b,1795272546-c,1795272547-d");
	f = (struct index_filter){ .since_usec = T0 + 21 };
	ASSERT_IDS(db, &f, "1795272546-c,1795272547-d,1795272548-e,4242,x4242");
	f = (struct index_filter){ .until_usec = T0 + 10 };
	ASSERT_IDS(db, &f, "1795272545-a");
	f = (struct index_filter){ .since_usec = T0 + 41, .until_usec = T0 + 49 };
	ASSERT_IDS(db, &f, "");
	index_close(db);
}
END_TEST

START_TEST(test_limit)
{
	sqlite3 *db = fill();
	struct index_filter f = { .limit = 3 };

	/* the newest 3, still oldest first */
	ASSERT_IDS(db, &f, "1795272548-e,4242,x4242");
	f.newest_first = true;
	ASSERT_IDS(db, &f, "x4242,4242,1795272548-e");
	f = (struct index_filter){ .limit = 100 };
	ASSERT_IDS(db, &f, "1795272545-a,1795272545-b,1795272546-c,1795272547-d,1795272548-e,4242,x4242");
	f = (struct index_filter){ .limit = 2, .until_usec = T0 + 30 };
	ASSERT_IDS(db, &f, "1795272545-b,1795272546-c");
	f = (struct index_filter){ .limit = 1, .match = "cat" };
	ASSERT_IDS(db, &f, "1795272546-c");
	f = (struct index_filter){ .limit = SIZE_MAX };
	ASSERT_IDS(db, &f, "1795272545-a,1795272545-b,1795272546-c,1795272547-d,1795272548-e,4242,x4242");
	index_close(db);
}
END_TEST

START_TEST(test_match)
{
	sqlite3 *db = fill();
	struct index_filter f = { 0 };

	/* exact id */
	f.match = "1795272546-c";
	ASSERT_IDS(db, &f, "1795272546-c");
	/* an exact id wins over a pid */
	f.match = "4242";
	ASSERT_IDS(db, &f, "4242");
	/* all digits with rows of that pid */
	f.match = "100";
	ASSERT_IDS(db, &f, "1795272545-a,1795272547-d");
	f.match = "600";
	ASSERT_IDS(db, &f, "4242");
	/* all digits, no such pid: an id prefix */
	f.match = "1795272545";
	ASSERT_IDS(db, &f, "1795272545-a,1795272545-b");
	f.match = "17952725";
	ASSERT_IDS(db, &f, "1795272545-a,1795272545-b,1795272546-c,1795272547-d,1795272548-e");
	/* prefix with letters */
	f.match = "x42";
	ASSERT_IDS(db, &f, "x4242");
	/* exe when it contains '/' */
	f.match = "/usr/bin/cat";
	ASSERT_IDS(db, &f, "1795272545-a");
	f.match = "/usr/bin";
	ASSERT_IDS(db, &f, "");
	/* else comm */
	f.match = "cat";
	ASSERT_IDS(db, &f, "1795272545-a,1795272546-c");
	f.match = "a%b_c";
	ASSERT_IDS(db, &f, "1795272548-e");
	/* LIKE wildcards and quotes are literal */
	f.match = "%";
	ASSERT_IDS(db, &f, "");
	f.match = "1795_";
	ASSERT_IDS(db, &f, "");
	f.match = "x' OR '1'='1";
	ASSERT_IDS(db, &f, "");
	f.match = "cat\" OR 1=1 --";
	ASSERT_IDS(db, &f, "");
	/* empty match means all */
	f.match = "";
	ASSERT_IDS(db, &f, "1795272545-a,1795272545-b,1795272546-c,1795272547-d,1795272548-e,4242,x4242");
	/* match combined with a time window and newest_first */
	f = (struct index_filter){ .match = "100", .since_usec = T0 + 15, .newest_first = true };
	ASSERT_IDS(db, &f, "1795272547-d");
	/* the meaning of a match does not depend on the window: pid 100 rows exist,
	 * so "100" stays a pid even where the window holds none of them */
	f = (struct index_filter){ .match = "100", .since_usec = T0 + 45 };
	ASSERT_IDS(db, &f, "");
	index_close(db);
}
END_TEST

/* A version-1 index (before the analysis columns) with a row: opening it
 * migrates in place, the row survives, and the new columns work. */
START_TEST(test_migrate_from_v1)
{
	sqlite3 *db = NULL;
	struct index_row *rows = NULL;
	size_t n = 0;
	struct index_filter f = { 0 };

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db,
				      "CREATE TABLE crashes (id TEXT PRIMARY KEY, time_usec INTEGER NOT NULL,"
				      " pid INTEGER, uid INTEGER, gid INTEGER, signal INTEGER, comm TEXT, exe TEXT,"
				      " unit TEXT, hostname TEXT, boot_id TEXT, core_status TEXT, core_size INTEGER,"
				      " stored_size INTEGER, core_path TEXT, record_path TEXT);"
				      "INSERT INTO crashes VALUES ('old', 1, 2, 3, 4, 11, 'c', '/e', NULL, 'h', 'b',"
				      " 'stored', 10, 5, '/p', '/r');"
				      "PRAGMA user_version = 1;",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	ck_assert_int_eq(pragma_i64(db, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	ck_assert_int_eq(index_query(db, &f, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].id, "old");
	ck_assert_str_eq(rows[0].exe, "/e");
	ck_assert_ptr_null(rows[0].signature);
	ck_assert_ptr_null(rows[0].slogan);
	index_rows_free(rows, n);
	index_close(db);
}
END_TEST

/* The light quota inputs: bytes of the cores still stored, and the rate window. */
START_TEST(test_usage_and_core_times)
{
	sqlite3 *db = NULL;
	int64_t *t = NULL;
	size_t n = 0;
	uint64_t used = 0;
	struct { const char *id; int64_t time; const char *exe; bool core; int64_t size; } rows[] = {
		{ "u1", 100, "/a", true, 50 }, { "u2", 200, "/a", false, 70 }, { "u3", 300, "/a", true, 5 },
		{ "u4", 400, "/b", true, 1000 },
	};
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	for (size_t i = 0; i < 4; i++) {
		json_object *r = make_record(rows[i].id, rows[i].time, 1, "c", rows[i].exe);
		json_object *core = json_object_object_get(r, "core");
		json_object_object_add(core, "stored_size", json_object_new_int64(rows[i].size));
		json_object_object_add(core, "path", rows[i].core ? json_object_new_string("/p") : NULL);
		ck_assert_int_eq(index_insert(db, r, "/nonexistent"), 0);
		json_object_put(r);
	}
	ck_assert_int_eq(index_usage(db, &used), 0);
	ck_assert_uint_eq(used, 50 + 5 + 1000); /* u2's core is gone */
	ck_assert_int_eq(index_core_times(db, "/a", NULL, 150, &t, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(t[0], 300);
	free(t);
	ck_assert_int_eq(index_core_times(db, "/a", NULL, 0, &t, &n), 0);
	ck_assert_uint_eq(n, 2);
	free(t);
	ck_assert_int_eq(index_core_times(db, NULL, NULL, 0, &t, &n), -EINVAL);
	/* the running total follows replacements (a recompressed core), deletions
	 * and a reindex, and always equals the sum over the rows */
	{
		json_object *r = make_record("u4", 400, 1, "c", "/b");
		json_object *core = json_object_object_get(r, "core");
		json_object_object_add(core, "stored_size", json_object_new_int64(300));
		json_object_object_add(core, "path", json_object_new_string("/p"));
		ck_assert_int_eq(index_insert(db, r, "/nonexistent"), 0);
		json_object_put(r);
	}
	ck_assert_int_eq(index_usage(db, &used), 0);
	ck_assert_uint_eq(used, 50 + 5 + 300);
	ck_assert_int_eq(index_delete(db, "u1"), 1);
	ck_assert_int_eq(index_usage(db, &used), 0);
	ck_assert_uint_eq(used, 5 + 300);
	{
		sqlite3_stmt *q;
		ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT total(CASE WHEN core_path IS NULL THEN 0 ELSE stored_size END"
						    " + mini_size + record_size), count(*) FROM crashes", -1, &q, NULL), SQLITE_OK);
		ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
		ck_assert_uint_eq((uint64_t)sqlite3_column_double(q, 0), used);
		sqlite3_finalize(q);
	}
	index_close(db);
}
END_TEST

START_TEST(test_reservations)
{
	sqlite3 *db = NULL;
	struct index_reservation *v = NULL;
	size_t n = 0;
	struct index_reservation a = { .id = "r1", .exe = "/bin/a", .unit = NULL, .bytes = 100, .time_usec = 5, .pid = 42 };
	struct index_reservation b = { .id = "r2", .exe = "/bin/b", .unit = "b.service", .bytes = 7, .time_usec = 6, .pid = 43 };

	ck_assert_int_eq(index_open(dbpath, &db), 0);
	ck_assert_int_eq(index_reserve(db, &a), 0);
	ck_assert_int_eq(index_reserve(db, &b), 0);
	ck_assert_int_eq(index_reservations(db, &v, &n), 0);
	ck_assert_uint_eq(n, 2);
	uint64_t sum = v[0].bytes + v[1].bytes;
	ck_assert_uint_eq(sum, 107);
	ck_assert(v[0].unit == NULL || v[1].unit == NULL);
	index_reservations_free(v, n);
	ck_assert_int_eq(index_unreserve(db, "r1"), 0);
	ck_assert_int_eq(index_reservations(db, &v, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(v[0].id, "r2");
	ck_assert_str_eq(v[0].unit, "b.service");
	ck_assert_int_eq(v[0].pid, 43);
	index_reservations_free(v, n);
	index_close(db);
}
END_TEST

START_TEST(test_migrate_from_v0)
{
	sqlite3 *db = NULL;
	int fd;

	/* an empty file is a version-0 database */
	fd = open(dbpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	ck_assert_int_eq(pragma_i64(db, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	insert(db, "m1", T0, 1, "m", "/m");
	index_close(db);

	/* a v0 database with unrelated contents */
	ck_assert_int_eq(sqlite3_open(tpath("v0.sqlite"), &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE other(x); INSERT INTO other VALUES (1);", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	ck_assert_int_eq(index_open(tpath("v0.sqlite"), &db), 0);
	ck_assert_int_eq(pragma_i64(db, "PRAGMA user_version"), INDEX_SCHEMA_VERSION);
	ck_assert_int_eq(pragma_i64(db, "SELECT count(*) FROM other"), 1);
	insert(db, "m1", T0, 1, "m", "/m");
	ASSERT_IDS(db, NULL, "m1");
	index_close(db);
}
END_TEST

START_TEST(test_newer_refused)
{
	sqlite3 *db = NULL;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	db = NULL;
	ck_assert_int_eq(index_open(dbpath, &db), -ENOTSUP);
	ck_assert_ptr_null(db);
	/* and left alone */
	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(pragma_i64(db, "PRAGMA user_version"), 99);
	sqlite3_close(db);
}
END_TEST

static void write_garbage(const char *path, off_t off, size_t len)
{
	char buf[512];
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 37 + 11);
	for (size_t done = 0; done < len; done += sizeof(buf))
		ck_assert_int_eq(pwrite_all(fd, buf, sizeof(buf), off + (off_t)done), 0);
	close(fd);
}

START_TEST(test_corrupt_garbage)
{
	sqlite3 *db = NULL;

	write_garbage(dbpath, 0, 8192);
	write_garbage(tpath("index.sqlite-wal"), 0, 1024);
	ck_assert_int_eq(index_open(dbpath, &db), -EBADMSG);
	ck_assert_ptr_null(db);
	ck_assert_int_eq(index_reset(dbpath), 0);
	ck_assert_int_eq(access(dbpath, F_OK), -1);
	ck_assert_int_eq(access(tpath("index.sqlite-wal"), F_OK), -1);
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	insert(db, "after", T0, 1, "a", "/a");
	ASSERT_IDS(db, NULL, "after");
	index_close(db);
}
END_TEST

START_TEST(test_corrupt_pages)
{
	sqlite3 *db = NULL;

	/* a valid header with a wrecked schema page */
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	insert(db, "c1", T0, 1, "a", "/a");
	index_close(db);
	write_garbage(dbpath, 100, 1536);
	ck_assert_int_eq(index_open(dbpath, &db), -EBADMSG);
	ck_assert_int_eq(index_reset(dbpath), 0);
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	index_close(db);
}
END_TEST

static void write_record_file(const char *dir, const char *name, json_object *rec)
{
	char p[600];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(record_write_fd(rec, fd), 0);
	close(fd);
}

START_TEST(test_rebuild)
{
	char store[300], p[600];
	struct index_row *rows = NULL;
	sqlite3 *db = NULL;
	size_t ok = 99, bad = 99, n = 0;
	json_object *recs[5];

	snprintf(store, sizeof(store), "%s/store", tmpdir);
	ck_assert_int_eq(mkdir(store, 0700), 0);
	for (int i = 0; i < 5; i++) {
		char id[32];
		snprintf(id, sizeof(id), "r%d", i);
		recs[i] = make_record(id, T0 + i, 10 + i, "comm", "/bin/exe");
		snprintf(p, sizeof(p), "%s.json", id);
		write_record_file(store, p, recs[i]);
	}
	/* bad: garbage, an id that is not the file name, a directory named *.json */
	snprintf(p, sizeof(p), "%s/broken.json", store);
	write_garbage(p, 0, 512);
	json_object *other = make_record("someone-else", T0, 1, "x", "/x");
	write_record_file(store, "mismatch.json", other);
	json_object_put(other);
	snprintf(p, sizeof(p), "%s/dir.json", store);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	/* not records at all: skipped, not counted */
	other = make_record("hidden", T0, 1, "x", "/x");
	write_record_file(store, ".hidden.json", other);
	write_record_file(store, "r0.core.zst", other);
	write_record_file(store, ".json", other);
	json_object_put(other);

	ck_assert_int_eq(index_open(dbpath, &db), 0);
	insert(db, "stale", T0 + 100, 1, "x", "/x");
	ck_assert_int_eq(index_rebuild(db, store, &ok, &bad), 0);
	ck_assert_uint_eq(ok, 5);
	ck_assert_uint_eq(bad, 3);
	ck_assert_int_eq(index_query(db, NULL, &rows, &n), 0);
	ck_assert_uint_eq(n, 5);
	for (size_t i = 0; i < n; i++) {
		char rp[600];
		ck_assert_str_eq(rows[i].id, record_str(recs[i], "id", ""));
		ck_assert_int_eq(rows[i].time_usec, record_i64(recs[i], "time_usec", -1));
		ck_assert_int_eq(rows[i].pid, record_i64(recs[i], "pid", -1));
		ck_assert_str_eq(rows[i].comm, "comm");
		ck_assert_str_eq(rows[i].exe, "/bin/exe");
		ck_assert_uint_eq(rows[i].core_size, (uint64_t)record_i64(record_obj(recs[i], "core"), "size", -1));
		snprintf(rp, sizeof(rp), "%s/%s.json", store, rows[i].id);
		ck_assert_str_eq(rows[i].record_path, rp);
		json_object_put(recs[i]);
	}
	index_rows_free(rows, n);
	/* bad records are never deleted */
	snprintf(p, sizeof(p), "%s/broken.json", store);
	ck_assert_int_eq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/mismatch.json", store);
	ck_assert_int_eq(access(p, F_OK), 0);

	ck_assert_int_eq(index_rebuild(db, tpath("nonexistent"), &ok, &bad), -ENOENT);
	ck_assert_int_eq(pragma_i64(db, "SELECT count(*) FROM crashes"), 5);
	index_close(db);
}
END_TEST


/* ---- owners: the columns of schema 5 ---- */

START_TEST(test_owner_columns)
{
	char store[300];
	sqlite3 *db = NULL;
	struct index_row row;
	int64_t *t = NULL;
	size_t n = 0, ok = 0, bad = 0;
	const struct policy_owner user = { .uid = 1001, .user_unit = true, .slice = "app.slice" };
	const struct policy_owner root = { .uid = 0, .slice = "system.slice" };
	json_object *r;

	snprintf(store, sizeof(store), "%s/store", tmpdir);
	ck_assert_int_eq(mkdir(store, 0700), 0);
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	for (int i = 0; i < 3; i++) {
		char id[16], name[32];
		bool is_user = i < 2;
		snprintf(id, sizeof(id), "o%d", i);
		r = make_record(id, T0 + i, 10 + i, "sshd", "/usr/sbin/sshd");
		json_object *proc = json_object_new_object();
		json_object_object_add(r, "uid", json_object_new_int64(is_user ? 1001 : 0));
		json_object_object_add(r, "unit", json_object_new_string("sshd.service"));
		json_object_object_add(r, "slice", json_object_new_string(is_user ? "app.slice" : "system.slice"));
		json_object_object_add(proc, "cgroup",
				       json_object_new_string(is_user ? "0::/user.slice/user-1001.slice/user@1001.service/"
									"app.slice/sshd.service\n"
								      : "0::/system.slice/sshd.service\n"));
		json_object_object_add(r, "proc", proc);
		json_object_object_add(json_object_object_get(r, "core"), "path", json_object_new_string("/c"));
		ck_assert_int_eq(index_insert(db, r, "/nonexistent"), 0);
		snprintf(name, sizeof(name), "%s.json", id);
		write_record_file(store, name, r);
		json_object_put(r);
	}
	ck_assert_int_eq(index_lookup(db, "o0", &row), 0);
	ck_assert_str_eq(row.slice, "app.slice");
	ck_assert(row.user_unit);
	ck_assert_int_eq(row.uid, 1001);
	index_row_clear(&row);
	ck_assert_int_eq(index_lookup(db, "o2", &row), 0);
	ck_assert_str_eq(row.slice, "system.slice");
	ck_assert(!row.user_unit);
	index_row_clear(&row);
	ck_assert_int_eq(index_lookup(db, "nope", &row), -ENOENT);

	ck_assert_int_eq(index_core_times_owner(db, NULL, "sshd.service", &user, 0, &t, &n), 0);
	ck_assert_uint_eq(n, 2);
	free(t);
	ck_assert_int_eq(index_core_times_owner(db, NULL, "sshd.service", &root, 0, &t, &n), 0);
	ck_assert_uint_eq(n, 1);
	free(t);
	ck_assert_int_eq(index_core_times_owner(db, "/usr/sbin/sshd", NULL, &user, 0, &t, &n), 0);
	ck_assert_uint_eq(n, 2);
	free(t);
	ck_assert_int_eq(index_core_times(db, NULL, "sshd.service", 0, &t, &n), 0);
	ck_assert_uint_eq(n, 3); /* anyone's */
	free(t);

	/* rows indexed before schema 5 have no owner columns: a reindex fills them */
	ck_assert_int_eq(sqlite3_exec(db, "UPDATE crashes SET slice = NULL, user_unit = 0", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(index_core_times_owner(db, NULL, "sshd.service", &user, 0, &t, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(t);
	ck_assert_int_eq(index_rebuild(db, store, &ok, &bad), 0);
	ck_assert_uint_eq(ok, 3);
	ck_assert_int_eq(index_core_times_owner(db, NULL, "sshd.service", &user, 0, &t, &n), 0);
	ck_assert_uint_eq(n, 2);
	free(t);
	index_close(db);
}
END_TEST

/* ---- full and read-only file systems ---- */

/* A small tmpfs at dir, in a private mount namespace of this test's process
 * (check forks one per test), so it goes away with it whatever happens.
 * false, with the reason printed, when that cannot be had (not root, no
 * namespaces): the test is then skipped. */
static bool tmpfs_private(const char *dir, const char *opts)
{
	if (geteuid() != 0) {
		printf("SKIP %s: needs root to mount a tmpfs\n", __func__);
		return false;
	}
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("SKIP %s: no private mount namespace: %s\n", __func__, strerror(errno));
		return false;
	}
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	if (mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0) {
		printf("SKIP %s: mount tmpfs: %s\n", __func__, strerror(errno));
		return false;
	}
	return true;
}

static void teardown_disk(void)
{
	char fs[300];

	snprintf(fs, sizeof(fs), "%s/fs", tmpdir);
	(void)umount2(fs, MNT_DETACH);
	teardown();
}

/* Fill the file system of dir to the last byte. */
static void fill_fs(const char *dir)
{
	static char buf[65536];
	char p[400];
	struct statvfs sv;
	int fd;

	snprintf(p, sizeof(p), "%s/fill", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	for (size_t chunk = sizeof(buf); chunk > 0; chunk /= 2)
		while (write(fd, buf, chunk) == (ssize_t)chunk)
			;
	ck_assert_int_eq(errno, ENOSPC);
	close(fd);
	ck_assert_int_eq(statvfs(dir, &sv), 0);
	ck_assert_uint_eq(sv.f_bavail, 0);
}

static int count_row(const struct index_row *row, void *userdata)
{
	(void)row;
	(*(size_t *)userdata)++;
	return 0;
}

static size_t count_rows(sqlite3 *db)
{
	size_t n = 0;

	ck_assert_int_ge(index_query_each(db, NULL, count_row, &n), 0);
	return n;
}

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

START_TEST(test_full_disk)
{
	char fs[300], db_path[400], shm[420], wal[420];
	sqlite3 *db = NULL;
	int r;

	snprintf(fs, sizeof(fs), "%s/fs", tmpdir);
	if (!tmpfs_private(fs, "size=8m,mode=0700"))
		return;
	snprintf(db_path, sizeof(db_path), "%s/index.sqlite", fs);
	snprintf(shm, sizeof(shm), "%s-shm", db_path);
	snprintf(wal, sizeof(wal), "%s-wal", db_path);
	ck_assert_int_eq(index_open(db_path, &db), 0);
	for (int i = 0; i < 200; i++) {
		char id[16];
		snprintf(id, sizeof(id), "f%03d", i);
		insert(db, id, T0 + i, 100 + i, "comm", "/bin/exe");
	}
	index_close(db);
	/* the last writer's close checkpoints and removes the -wal and -shm */
	ck_assert(!exists(shm) && !exists(wal));
	fill_fs(fs);

	/* readers: list, vacuum --dry-run */
	ck_assert_int_eq(index_open_ro(db_path, &db), 0);
	ck_assert_uint_eq(count_rows(db), 200);
	{
		struct index_row row;
		ck_assert_int_eq(index_lookup(db, "f150", &row), 0);
		ck_assert_int_eq(row.pid, 250);
		index_row_clear(&row);
	}
	ck_assert_int_eq(index_delete(db, "f000"), -EROFS); /* it reads only */
	index_close(db);

	/* deleters: rm, vacuum. In place, with no new block */
	ck_assert_int_eq(index_open_cleanup(db_path, &db), 0);
	ck_assert_int_eq(index_delete(db, "f000"), 1);
	for (int i = 1; i < 100; i++) {
		char id[16];
		snprintf(id, sizeof(id), "f%03d", i);
		ck_assert_int_eq(index_delete(db, id), 1);
	}
	ck_assert_uint_eq(count_rows(db), 100);
	{
		uint64_t used = 0;
		ck_assert_int_eq(index_usage(db, &used), 0); /* the running total followed */
		ck_assert_uint_eq(used, (uint64_t)pragma_i64(db, "SELECT sum(mini_size + record_size + "
								  "CASE WHEN core_path IS NULL THEN 0 ELSE stored_size END) FROM crashes"));
	}
	index_close(db);
	/* nothing made on the way: no -shm, no -wal */
	ck_assert(!exists(shm) && !exists(wal));
	ck_assert_int_eq(index_open_ro(db_path, &db), 0);
	ck_assert_uint_eq(count_rows(db), 100);
	ck_assert_int_eq(pragma_i64(db, "PRAGMA quick_check = 1") >= 0, 1);
	{
		_cleanup_free_ char *qc = pragma_text(db, "PRAGMA integrity_check");
		ck_assert_str_eq(qc, "ok");
	}
	index_close(db);
	ck_assert(!exists(shm) && !exists(wal));

	/* what the verbs used to do: the plain open needs a new -shm */
	r = index_open(db_path, &db);
	ck_assert_int_eq(r, -ENOSPC);

	/* room again: the next writer puts it back in WAL mode */
	{
		char p[420];
		snprintf(p, sizeof(p), "%s/fill", fs);
		ck_assert_int_eq(unlink(p), 0);
	}
	ck_assert_int_eq(index_open(db_path, &db), 0);
	{
		_cleanup_free_ char *mode = pragma_text(db, "PRAGMA journal_mode");
		ck_assert_str_eq(mode, "wal");
	}
	ck_assert_uint_eq(count_rows(db), 100);
	index_close(db);
}
END_TEST

/* _i == 0: an idle index (no -wal); _i == 1: a copy taken while a writer had
 * rows only in its -wal, and no -shm. */
START_TEST(test_readonly_remount)
{
	char fs[300], db_path[400], p[420];
	sqlite3 *db = NULL, *w = NULL;

	snprintf(fs, sizeof(fs), "%s/fs", tmpdir);
	if (!tmpfs_private(fs, "size=8m,mode=0700"))
		return;
	snprintf(db_path, sizeof(db_path), "%s/index.sqlite", fs);
	ck_assert_int_eq(index_open(db_path, &db), 0);
	for (int i = 0; i < 50; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%03d", i);
		insert(db, id, T0 + i, 100 + i, "comm", "/bin/exe");
	}
	index_close(db);
	if (_i == 1) {
		char cmd[2048];
		/* a writer adds 10 rows that stay in its -wal; copy the files as a
		 * forensic copy would, without the -shm */
		ck_assert_int_eq(index_open(db_path, &w), 0);
		for (int i = 50; i < 60; i++) {
			char id[16];
			snprintf(id, sizeof(id), "r%03d", i);
			insert(w, id, T0 + i, 100 + i, "comm", "/bin/exe");
		}
		snprintf(cmd, sizeof(cmd), "mkdir %s/copy && cp %s %s-wal %s/copy/", fs, db_path, db_path, fs);
		ck_assert_int_eq(system(cmd), 0);
		index_close(w);
		snprintf(db_path, sizeof(db_path), "%s/copy/index.sqlite", fs);
		snprintf(p, sizeof(p), "%s-wal", db_path);
		ck_assert(exists(p));
	}
	ck_assert_int_eq(mount(NULL, fs, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);

	/* what the verbs used to do */
	ck_assert_int_lt(index_open(db_path, &db), 0);
	ck_assert_int_eq(index_open_cleanup(db_path, &db) < 0, 1);

	ck_assert_int_eq(index_open_ro(db_path, &db), 0);
	ck_assert(!index_is_immutable(db) || _i == 0);
	ck_assert_uint_eq(count_rows(db), _i == 1 ? 60 : 50);
	{
		struct index_row row;
		ck_assert_int_eq(index_lookup(db, _i == 1 ? "r055" : "r042", &row), 0);
		index_row_clear(&row);
	}
	{
		struct index_filter f = { .match = "/bin/exe", .newest_first = true, .limit = 3 };
		ASSERT_IDS(db, &f, _i == 1 ? "r059,r058,r057" : "r049,r048,r047");
	}
	index_close(db);
	/* nothing was created on the way */
	snprintf(p, sizeof(p), "%s-shm", db_path);
	ck_assert(!exists(p));
	ck_assert_int_eq(index_open_ro(tpath("fs/none.sqlite"), &db), -ENOENT);
}
END_TEST

#define CHILDREN        50
#define ROWS_PER_CHILD  4

/* _i == 0: the index exists before the storm; _i == 1: the children race to
 * create it too. */
START_TEST(test_concurrent)
{
	int go[2];
	pid_t pids[CHILDREN];
	sqlite3 *db = NULL;
	_cleanup_free_ char *check = NULL;

	if (_i == 0) {
		ck_assert_int_eq(index_open(dbpath, &db), 0);
		index_close(db);
	}
	ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
	for (int c = 0; c < CHILDREN; c++) {
		pids[c] = fork();
		ck_assert_int_ge(pids[c], 0);
		if (pids[c] == 0) {
			char b;
			int failed = 0;

			close(go[1]);
			/* EOF on the pipe is the starting gun for all at once */
			if (read(go[0], &b, 1) != 0)
				_exit(3);
			if (index_open(dbpath, &db) < 0)
				_exit(2);
			for (int k = 0; k < ROWS_PER_CHILD; k++) {
				char id[32];
				snprintf(id, sizeof(id), "c%02d-%d", c, k);
				json_object *r = make_record(id, T0 + c * 10 + k, 1000 + c, "storm", "/bin/storm");
				if (index_insert(db, r, "/store/x.json") < 0)
					failed = 1;
				json_object_put(r);
			}
			index_close(db);
			_exit(failed);
		}
	}
	close(go[0]);
	close(go[1]);
	for (int c = 0; c < CHILDREN; c++) {
		int status;
		ck_assert_int_eq(waitpid(pids[c], &status, 0), pids[c]);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status 0x%x", c, status);
	}
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	ck_assert_int_eq(pragma_i64(db, "SELECT count(*) FROM crashes"), CHILDREN * ROWS_PER_CHILD);
	ck_assert_int_eq(pragma_i64(db, "SELECT count(DISTINCT id) FROM crashes"), CHILDREN * ROWS_PER_CHILD);
	check = pragma_text(db, "PRAGMA integrity_check");
	ck_assert_str_eq(check, "ok");
	index_close(db);
}
END_TEST

static Suite *index_suite(void)
{
	Suite *s = suite_create("index");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_create);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_insert_fields);
	tcase_add_test(tc, test_order_and_time);
	tcase_add_test(tc, test_limit);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_migrate_from_v0);
	tcase_add_test(tc, test_migrate_from_v1);
	tcase_add_test(tc, test_reservations);
	tcase_add_test(tc, test_usage_and_core_times);
	tcase_add_test(tc, test_newer_refused);
	tcase_add_test(tc, test_corrupt_garbage);
	tcase_add_test(tc, test_corrupt_pages);
	tcase_add_test(tc, test_rebuild);
	tcase_add_loop_test(tc, test_concurrent, 0, 2);
	tcase_add_test(tc, test_owner_columns);
	suite_add_tcase(s, tc);
	TCase *td = tcase_create("disk");
	tcase_add_checked_fixture(td, setup, teardown_disk);
	tcase_set_timeout(td, 60);
	tcase_add_test(td, test_full_disk);
	tcase_add_loop_test(td, test_readonly_remount, 0, 2);
	suite_add_tcase(s, td);
	return s;
}

int main(void)
{
	return testutil_run(index_suite());
}
