/* Unit tests for src/store/index_query.c: the streamed listing, the lookup of
 * one id, and that every listing runs on an index (EXPLAIN QUERY PLAN). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/index.h"
#include "store/record.h"
#include "testutil.h"
#include "base/util.h"

#define T0   1795272545000000LL
#define ROWS 2000

static char tmpdir[256];
static char dbpath[300];
static sqlite3 *db;

static json_object *make_record(int i)
{
	json_object *r = json_object_new_object(), *core = json_object_new_object();
	char id[64], exe[32];

	snprintf(id, sizeof(id), "20261121T124905.%06dZ-01234567-%d", i, 1000 + i);
	snprintf(exe, sizeof(exe), "/usr/bin/prog%d", i % 10);
	json_object_object_add(r, "id", json_object_new_string(id));
	json_object_object_add(r, "time", json_object_new_string("2026-11-21T12:49:05.000000Z"));
	/* times repeat in pairs: the id breaks the tie */
	json_object_object_add(r, "time_usec", json_object_new_int64(T0 + i / 2));
	json_object_object_add(r, "pid", json_object_new_int64(1000 + i));
	json_object_object_add(r, "uid", json_object_new_int64(i % 3 == 0 ? 0 : 1000 + i % 7));
	json_object_object_add(r, "gid", json_object_new_int64(100));
	json_object_object_add(r, "signal", json_object_new_int(11));
	json_object_object_add(r, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(r, "comm", json_object_new_string(exe + 9));
	json_object_object_add(r, "exe", json_object_new_string(exe));
	json_object_object_add(r, "cmdline", json_object_new_string(exe));
	json_object_object_add(r, "hostname", json_object_new_string("vm1"));
	json_object_object_add(r, "boot_id", json_object_new_string("0123456789abcdef"));
	json_object_object_add(r, "unit", NULL);
	json_object_object_add(r, "signature", json_object_new_string(i % 5 == 0 ? "S0" : "S1"));
	json_object_object_add(core, "status", json_object_new_string("stored"));
	json_object_object_add(core, "size", json_object_new_int64(4096));
	json_object_object_add(core, "stored_size", json_object_new_int64(1024));
	json_object_object_add(core, "path", NULL);
	json_object_object_add(r, "core", core);
	return r;
}

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_index_query.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(dbpath, sizeof(dbpath), "%s/index.sqlite", tmpdir);
	ck_assert_int_eq(index_open(dbpath, &db), 0);
	for (int i = 0; i < ROWS; i++) {
		json_object *r = make_record(i);
		ck_assert_int_eq(index_insert(db, r, "/nonexistent"), 0);
		json_object_put(r);
	}
}

static void teardown(void)
{
	char cmd[300];

	index_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

struct walk {
	size_t n;
	int64_t last_time;
	char last_id[96];
	bool desc, order_ok;
	size_t stop_at;
	int fail_at;
	const char *want_exe;
	bool exe_ok;
};

static int walk_row(const struct index_row *row, void *userdata)
{
	struct walk *w = userdata;

	if (w->n > 0) {
		int c = row->time_usec != w->last_time ? (row->time_usec > w->last_time ? 1 : -1)
						       : strcmp(row->id, w->last_id);
		if (w->desc ? c >= 0 : c <= 0)
			w->order_ok = false;
	}
	if (w->want_exe && strcmp(row->exe, w->want_exe) != 0)
		w->exe_ok = false;
	w->last_time = row->time_usec;
	snprintf(w->last_id, sizeof(w->last_id), "%s", row->id);
	w->n++;
	if (w->fail_at && (int)w->n == w->fail_at)
		return -EIO;
	return w->stop_at && w->n == w->stop_at ? 1 : 0;
}

START_TEST(test_each_order)
{
	struct walk w = { .order_ok = true, .exe_ok = true };
	struct index_filter f = { 0 };

	ck_assert_int_eq(index_query_each(db, NULL, walk_row, &w), ROWS);
	ck_assert_uint_eq(w.n, ROWS);
	ck_assert(w.order_ok);

	w = (struct walk){ .order_ok = true, .exe_ok = true, .desc = true };
	f.newest_first = true;
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), ROWS);
	ck_assert(w.order_ok);

	/* the newest 10, oldest first: the last one is the newest of all */
	w = (struct walk){ .order_ok = true, .exe_ok = true };
	f = (struct index_filter){ .limit = 10 };
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), 10);
	ck_assert(w.order_ok);
	ck_assert_int_eq(w.last_time, T0 + (ROWS - 1) / 2);

	/* filters */
	w = (struct walk){ .order_ok = true, .exe_ok = true, .want_exe = "/usr/bin/prog3" };
	f = (struct index_filter){ .exe = "/usr/bin/prog3" };
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), ROWS / 10);
	ck_assert(w.exe_ok && w.order_ok);
	w = (struct walk){ .order_ok = true, .exe_ok = true };
	f = (struct index_filter){ .signature = "S0", .by_uid = true, .uid = 0 };
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), ROWS / 15 + 1);
	w = (struct walk){ .order_ok = true, .exe_ok = true };
	f = (struct index_filter){ .since_usec = T0 + 100, .until_usec = T0 + 199 };
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), 200);
	ck_assert(w.order_ok);
}
END_TEST

START_TEST(test_each_stop_and_error)
{
	struct walk w = { .order_ok = true, .stop_at = 7 };

	ck_assert_int_eq(index_query_each(db, NULL, walk_row, &w), 7);
	ck_assert_uint_eq(w.n, 7);
	w = (struct walk){ .order_ok = true, .fail_at = 3 };
	ck_assert_int_eq(index_query_each(db, NULL, walk_row, &w), -EIO);
	ck_assert_uint_eq(w.n, 3);
	ck_assert_int_eq(index_query_each(db, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(index_query_each(NULL, NULL, walk_row, &w), -EINVAL);
}
END_TEST

/* index_query, now built on the stream, gives the same rows */
START_TEST(test_query_same_as_each)
{
	struct index_filter f = { .match = "prog4", .newest_first = true, .limit = 25 };
	struct index_row *rows = NULL;
	size_t n = 0;
	struct walk w = { .order_ok = true, .exe_ok = true, .desc = true, .want_exe = "/usr/bin/prog4" };

	ck_assert_int_eq(index_query(db, &f, &rows, &n), 0);
	ck_assert_uint_eq(n, 25);
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), 25);
	ck_assert(w.exe_ok && w.order_ok);
	ck_assert_str_eq(rows[24].id, w.last_id);
	ck_assert_str_eq(rows[0].comm, "prog4");
	ck_assert_ptr_null(rows[0].unit);
	ck_assert_str_eq(rows[0].signature, "S1");
	index_rows_free(rows, n);
}
END_TEST

START_TEST(test_lookup_and_prefix)
{
	struct index_row row;
	struct index_filter f = { .match = "20261121T124905.00123" };
	struct walk w = { .order_ok = true };

	ck_assert_int_eq(index_lookup(db, "20261121T124905.000042Z-01234567-1042", &row), 0);
	ck_assert_int_eq(row.pid, 1042);
	ck_assert_str_eq(row.exe, "/usr/bin/prog2");
	index_row_clear(&row);
	ck_assert_int_eq(index_lookup(db, "20261121T124905.000042Z", &row), -ENOENT);
	ck_assert_int_eq(index_lookup(db, NULL, &row), -EINVAL);
	/* an id prefix: 001230..001239 */
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), 10);
	/* a prefix that is all digits but no pid, and one that matches nothing */
	f.match = "20261121";
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), ROWS);
	f.match = "20261121T124905.9";
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), 0);
	/* a pid */
	f.match = "1500";
	ck_assert_int_eq(index_query_each(db, &f, walk_row, &w), 1);
}
END_TEST

/* The plan of a filter contains want and, when sorted, no temporary b-tree. */
static void assert_plan(const struct index_filter *f, const char *want, bool sort_free)
{
	_cleanup_free_ char *plan = NULL;

	ck_assert_int_eq(index_explain(db, f, &plan), 0);
	ck_assert_msg(strstr(plan, want), "plan lacks \"%s\":\n%s", want, plan);
	ck_assert_msg(!strstr(plan, "SCAN crashes\n") || strstr(want, "SCAN"), "full scan:\n%s", plan);
	if (sort_free)
		ck_assert_msg(!strstr(plan, "TEMP B-TREE"), "sorts in a temp b-tree:\n%s", plan);
}

START_TEST(test_explain)
{
	struct index_filter f = { 0 };

	/* no ANALYZE: the store never runs it, the plans must hold without statistics */
	/* the whole listing walks the time index in order: nothing to sort */
	assert_plan(&f, "SCAN crashes USING INDEX crashes_time", true);
	f.newest_first = true;
	assert_plan(&f, "SCAN crashes USING INDEX crashes_time", true);
	f.limit = 20;
	assert_plan(&f, "SCAN crashes USING INDEX crashes_time", true);
	f = (struct index_filter){ .since_usec = T0 + 10, .until_usec = T0 + 20 };
	assert_plan(&f, "SEARCH crashes USING INDEX crashes_time (time_usec>? AND time_usec<?)", true);
	f = (struct index_filter){ .exe = "/usr/bin/prog1" };
	assert_plan(&f, "USING INDEX crashes_exe (exe=?)", false);
	f = (struct index_filter){ .signature = "S0", .by_uid = true, .uid = 0 };
	/* either index fits; which one is SQLite's choice from the statistics */
	assert_plan(&f, "SEARCH crashes USING INDEX crashes_", false);
	f = (struct index_filter){ .by_uid = true, .uid = 1001 };
	assert_plan(&f, "USING INDEX crashes_uid (uid=?)", true);
	/* MATCH words: an id, a prefix, a pid, an exe, a comm */
	f = (struct index_filter){ .match = "20261121T124905.000042Z-01234567-1042" };
	assert_plan(&f, "USING INDEX sqlite_autoindex_crashes_1 (id=?)", false);
	f.match = "20261121T124905.00004";
	assert_plan(&f, "USING INDEX sqlite_autoindex_crashes_1 (id>? AND id<?)", false);
	f.match = "1042";
	assert_plan(&f, "USING INDEX crashes_pid (pid=?)", false);
	f.match = "/usr/bin/prog1";
	assert_plan(&f, "USING INDEX crashes_exe (exe=?)", false);
	f.match = "prog1";
	assert_plan(&f, "USING INDEX crashes_comm (comm=?)", false);
}
END_TEST

static Suite *index_query_suite(void)
{
	Suite *s = suite_create("index_query");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_each_order);
	tcase_add_test(tc, test_each_stop_and_error);
	tcase_add_test(tc, test_query_same_as_each);
	tcase_add_test(tc, test_lookup_and_prefix);
	tcase_add_test(tc, test_explain);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(index_query_suite());
}
