/* store: ids, atomic publication, and the clean-up after a killed collector. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include "store/park.h"
#include "store/store.h"
#include "testutil.h"
#include "base/util.h"

static char root[] = "/tmp/check_store.XXXXXX";

static bool exists(const char *dir, const char *id, const char *sfx)
{
	char *p = store_path(dir, id, sfx);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

static void touch(const char *dir, const char *id, const char *sfx)
{
	char *p = store_path(dir, id, sfx);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ck_assert_msg(fd >= 0, "creating %s: %s", p, strerror(errno));
	ck_assert_int_eq(write_all(fd, "x", 1), 0);
	close(fd);
	free(p);
}

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

/* A fresh store under /tmp and three ids; z has x as a prefix, so a clean-up
 * that matched names by prefix would reach it. */
static void discard_setup(struct store *st, char *x, char *y, char *z)
{
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(store_init(st, root), 0);
	ck_assert_int_eq(store_mkdirs(st), 0);
	ck_assert_int_eq(store_make_id(INT64_C(1800000000123456), "0123456789abcdef", 42, x, STORE_ID_MAX + 1), 0);
	ck_assert_int_eq(store_make_id(INT64_C(1800000000123456), "0123456789abcdef", 43, y, STORE_ID_MAX + 1), 0);
	ck_assert_int_eq(store_make_id(INT64_C(1800000000123456), "0123456789abcdef", 421, z, STORE_ID_MAX + 1), 0);
	ck_assert(store_id_valid(x) && store_id_valid(y) && store_id_valid(z));
	ck_assert_int_eq(strncmp(z, x, strlen(x)), 0);
}

static void discard_teardown(struct store *st)
{
	store_free(st);
	ck_assert_int_eq(nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
}

/* Everything of one crash, the way a killed collector or a park may leave it. */
static const char *const spool_tmps[] = { ".core.zst.tmp", ".mini.tmp", ".json.tmp", ".core.zst.re.tmp" };
static const char *const spool_keeps[] = { ".lock", ".pending", PARK_SUFFIX, PARK_POOL_SUFFIX, PARK_SPILL_SUFFIX };
static const char *const store_files[] = { ".core.zst", ".mini", ".json" };

/* z: a bystander with files of every kind; never touched. */
static void bystander_make(const struct store *st, const char *z)
{
	for (size_t i = 0; i < ARRAY_SIZE(spool_tmps); i++)
		touch(st->spool_dir, z, spool_tmps[i]);
	for (size_t i = 0; i < ARRAY_SIZE(spool_keeps); i++)
		touch(st->spool_dir, z, spool_keeps[i]);
	touch(st->store_dir, z, ".core.zst");
	touch(st->store_dir, z, ".mini");
}

static void bystander_check(const struct store *st, const char *z)
{
	for (size_t i = 0; i < ARRAY_SIZE(spool_tmps); i++)
		ck_assert_msg(exists(st->spool_dir, z, spool_tmps[i]), "bystander's %s removed", spool_tmps[i]);
	for (size_t i = 0; i < ARRAY_SIZE(spool_keeps); i++)
		ck_assert_msg(exists(st->spool_dir, z, spool_keeps[i]), "bystander's %s removed", spool_keeps[i]);
	ck_assert(exists(st->store_dir, z, ".core.zst"));
	ck_assert(exists(st->store_dir, z, ".mini"));
}

/* Age a lock file so the cleaner may judge it. */
static void age(const struct store *st, const char *id)
{
	char *p = store_path(st->spool_dir, id, ".lock");
	struct utimbuf t = { time(NULL) - 60, time(NULL) - 60 };
	ck_assert_int_eq(utime(p, &t), 0);
	free(p);
}

START_TEST(test_ids_sort_by_time_and_are_safe)
{
	char a[STORE_ID_MAX], b[STORE_ID_MAX], c[STORE_ID_MAX];
	ck_assert_int_eq(store_make_id(1795000000123456LL, "0123abcd-ef", 42, a, sizeof(a)), 0);
	ck_assert_str_eq(a, "20261118T110640.123456Z-0123abcd-42");
	ck_assert_int_eq(store_make_id(1795000000123457LL, "0123abcd", 7, b, sizeof(b)), 0);
	ck_assert_int_lt(strcmp(a, b), 0);
	/* a hostile boot id cannot inject path characters */
	ck_assert_int_eq(store_make_id(1795000000000000LL, "../../etc/x", 1, c, sizeof(c)), 0);
	ck_assert(store_id_valid(c));
	ck_assert_ptr_null(strchr(c, '/'));
	ck_assert(!store_id_valid("../x"));
	ck_assert(!store_id_valid(".hidden"));
	ck_assert(!store_id_valid(""));
	ck_assert_int_eq(store_make_id(0, "", 1, a, 8), -ENAMETOOLONG);
}
END_TEST

START_TEST(test_publish_and_discard)
{
	struct store st;
	int lock = -1, fd = -1;
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(store_init(&st, root), 0);
	ck_assert_int_eq(store_mkdirs(&st), 0);
	ck_assert_int_eq(store_lock(&st, "id1", &lock), 0);
	ck_assert_int_eq(store_lock(&st, "id1", &fd), -EEXIST);
	ck_assert_int_eq(store_tmp_open(&st, "id1", ".json", &fd), 0);
	ck_assert_int_eq(write_all(fd, "{}", 2), 0);
	close(fd);
	ck_assert(!exists(st.store_dir, "id1", ".json"));
	ck_assert_int_eq(store_publish(&st, "id1", ".json"), 0);
	ck_assert(exists(st.store_dir, "id1", ".json"));
	ck_assert(!exists(st.spool_dir, "id1", ".json.tmp"));
	/* never over an existing entry */
	ck_assert_int_eq(store_tmp_open(&st, "id1", ".json", &fd), 0);
	close(fd);
	ck_assert_int_eq(store_publish(&st, "id1", ".json"), -EEXIST);
	store_discard(&st, "id1");
	ck_assert(!exists(st.spool_dir, "id1", ".json.tmp"));
	ck_assert(!exists(st.spool_dir, "id1", ".lock"));
	close(lock);
	store_free(&st);
}
END_TEST

START_TEST(test_clean_after_killed_collectors)
{
	struct store st;
	int lock = -1, fd = -1, live = -1;
	char **pub = NULL;
	size_t n = 0;
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(store_init(&st, root), 0);
	ck_assert_int_eq(store_mkdirs(&st), 0);

	/* dead1: killed mid-drain, temp files only */
	ck_assert_int_eq(store_lock(&st, "dead1", &lock), 0);
	ck_assert_int_eq(store_tmp_open(&st, "dead1", ".core.zst", &fd), 0);
	close(fd);
	close(lock);
	/* dead2: killed after publishing the core but before the record */
	ck_assert_int_eq(store_lock(&st, "dead2", &lock), 0);
	ck_assert_int_eq(store_tmp_open(&st, "dead2", ".core.zst", &fd), 0);
	close(fd);
	ck_assert_int_eq(store_publish(&st, "dead2", ".core.zst"), 0);
	close(lock);
	/* dead3: killed after publishing the record, before indexing */
	ck_assert_int_eq(store_lock(&st, "dead3", &lock), 0);
	ck_assert_int_eq(store_tmp_open(&st, "dead3", ".json", &fd), 0);
	close(fd);
	ck_assert_int_eq(store_publish(&st, "dead3", ".json"), 0);
	close(lock);
	/* live: still holding its lock */
	ck_assert_int_eq(store_lock(&st, "live", &live), 0);
	ck_assert_int_eq(store_tmp_open(&st, "live", ".core.zst", &fd), 0);
	close(fd);
	/* young: dead but too recent to judge */
	ck_assert_int_eq(store_lock(&st, "young", &lock), 0);
	close(lock);
	age(&st, "dead1");
	age(&st, "dead2");
	age(&st, "dead3");
	age(&st, "live");

	ck_assert_int_eq(store_clean_spool(&st, &pub, &n), 3);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(pub[0], "dead3");
	free(pub[0]);
	free(pub);
	ck_assert(!exists(st.spool_dir, "dead1", ".core.zst.tmp"));
	ck_assert(!exists(st.spool_dir, "dead1", ".lock"));
	ck_assert(!exists(st.store_dir, "dead2", ".core.zst")); /* orphan removed */
	ck_assert(exists(st.store_dir, "dead3", ".json"));      /* published: kept */
	ck_assert(exists(st.spool_dir, "live", ".core.zst.tmp"));
	ck_assert(exists(st.spool_dir, "live", ".lock"));
	ck_assert(exists(st.spool_dir, "young", ".lock"));
	close(live);
	store_free(&st);
}
END_TEST

/* Unpublished (no record): the temp files and the core and minicore published
 * ahead of the record go; the lock, the pending note and a park stay. */
START_TEST(test_discard_work_unpublished)
{
	struct store st;
	char x[STORE_ID_MAX + 1], y[STORE_ID_MAX + 1], z[STORE_ID_MAX + 1];
	discard_setup(&st, x, y, z);
	for (size_t i = 0; i < ARRAY_SIZE(spool_tmps); i++)
		touch(st.spool_dir, x, spool_tmps[i]);
	for (size_t i = 0; i < ARRAY_SIZE(spool_keeps); i++)
		touch(st.spool_dir, x, spool_keeps[i]);
	touch(st.store_dir, x, ".core.zst");
	touch(st.store_dir, x, ".mini");
	bystander_make(&st, z);

	ck_assert(!store_discard_work(&st, x));
	for (size_t i = 0; i < ARRAY_SIZE(spool_tmps); i++)
		ck_assert_msg(!exists(st.spool_dir, x, spool_tmps[i]), "%s left", spool_tmps[i]);
	for (size_t i = 0; i < ARRAY_SIZE(store_files); i++)
		ck_assert_msg(!exists(st.store_dir, x, store_files[i]), "store %s left", store_files[i]);
	for (size_t i = 0; i < ARRAY_SIZE(spool_keeps); i++)
		ck_assert_msg(exists(st.spool_dir, x, spool_keeps[i]), "%s removed", spool_keeps[i]);
	bystander_check(&st, z);
	/* nothing left to do: the same answer */
	ck_assert(!store_discard_work(&st, x));
	bystander_check(&st, z);
	discard_teardown(&st);
}
END_TEST

/* Published (the record exists): only temp files go, the crash stays whole;
 * a record that cannot be told from a missing one counts as published. */
START_TEST(test_discard_work_published)
{
	struct store st;
	char x[STORE_ID_MAX + 1], y[STORE_ID_MAX + 1], z[STORE_ID_MAX + 1];
	discard_setup(&st, x, y, z);
	for (size_t i = 0; i < ARRAY_SIZE(store_files); i++)
		touch(st.store_dir, y, store_files[i]);
	touch(st.spool_dir, y, ".core.zst.re.tmp");
	touch(st.spool_dir, y, ".lock");
	touch(st.spool_dir, y, ".pending");
	bystander_make(&st, z);

	ck_assert(store_discard_work(&st, y));
	ck_assert(!exists(st.spool_dir, y, ".core.zst.re.tmp"));
	for (size_t i = 0; i < ARRAY_SIZE(store_files); i++)
		ck_assert_msg(exists(st.store_dir, y, store_files[i]), "published %s removed", store_files[i]);
	ck_assert(exists(st.spool_dir, y, ".lock"));
	ck_assert(exists(st.spool_dir, y, ".pending"));
	bystander_check(&st, z);

	/* x's record is a symlink loop: access() fails with ELOOP, not ENOENT */
	char *json = store_path(st.store_dir, x, ".json");
	ck_assert_int_eq(symlink(json, json), 0);
	touch(st.store_dir, x, ".core.zst");
	touch(st.store_dir, x, ".mini");
	touch(st.spool_dir, x, ".mini.tmp");
	ck_assert(store_discard_work(&st, x));
	ck_assert(!exists(st.spool_dir, x, ".mini.tmp"));
	ck_assert(exists(st.store_dir, x, ".core.zst"));
	ck_assert(exists(st.store_dir, x, ".mini"));
	ck_assert_int_eq(unlink(json), 0);
	free(json);
	bystander_check(&st, z);
	discard_teardown(&st);
}
END_TEST

/* store_discard: store_discard_work, and the lock, the pending note, a spill
 * and an unfinished park's files; a published crash keeps its store files. */
START_TEST(test_discard_all)
{
	static const char *const extras[] = { ".pending", ".pending.tmp", ".raw.tmp", PARK_SUFFIX ".tmp",
					      PARK_POOL_SUFFIX, PARK_SPILL_SUFFIX, ".lock" };
	struct store st;
	char x[STORE_ID_MAX + 1], y[STORE_ID_MAX + 1], z[STORE_ID_MAX + 1];
	discard_setup(&st, x, y, z);
	for (size_t i = 0; i < ARRAY_SIZE(spool_tmps); i++) {
		touch(st.spool_dir, x, spool_tmps[i]);
		touch(st.spool_dir, y, spool_tmps[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(extras); i++) {
		touch(st.spool_dir, x, extras[i]);
		touch(st.spool_dir, y, extras[i]);
	}
	touch(st.store_dir, x, ".core.zst");
	touch(st.store_dir, x, ".mini");
	for (size_t i = 0; i < ARRAY_SIZE(store_files); i++)
		touch(st.store_dir, y, store_files[i]);
	bystander_make(&st, z);

	store_discard(&st, x);
	store_discard(&st, y);
	for (size_t i = 0; i < ARRAY_SIZE(spool_tmps); i++) {
		ck_assert_msg(!exists(st.spool_dir, x, spool_tmps[i]), "%s left", spool_tmps[i]);
		ck_assert_msg(!exists(st.spool_dir, y, spool_tmps[i]), "%s left", spool_tmps[i]);
	}
	for (size_t i = 0; i < ARRAY_SIZE(extras); i++) {
		ck_assert_msg(!exists(st.spool_dir, x, extras[i]), "%s left", extras[i]);
		ck_assert_msg(!exists(st.spool_dir, y, extras[i]), "%s left", extras[i]);
	}
	ck_assert(!exists(st.store_dir, x, ".core.zst")); /* no record: unpublished */
	ck_assert(!exists(st.store_dir, x, ".mini"));
	for (size_t i = 0; i < ARRAY_SIZE(store_files); i++)
		ck_assert_msg(exists(st.store_dir, y, store_files[i]), "published %s removed", store_files[i]);
	bystander_check(&st, z);
	discard_teardown(&st);
}
END_TEST

/* The ids of a queue-like directory: sorted, no temp files or dot files, capped. */
START_TEST(test_list_ids)
{
	char dir[] = "/tmp/check_store_ids.XXXXXX", p[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *names[] = { "20261208T000002.000000Z-aa-2", "20261208T000001.000000Z-aa-1",
				"20261208T000003.000000Z-aa-3.tmp", ".run.lock", "20261208T000000.000000Z-aa-0" };
	for (size_t i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		FILE *f = fopen(p, "w");
		ck_assert_ptr_nonnull(f);
		fclose(f);
	}
	char **ids = NULL;
	size_t n = 0;
	ck_assert_int_eq(store_list_ids(dir, 100, &ids, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(ids[0], "20261208T000000.000000Z-aa-0");
	ck_assert_str_eq(ids[2], "20261208T000002.000000Z-aa-2");
	store_ids_free(ids, n);
	ck_assert_int_eq(store_list_ids(dir, 2, &ids, &n), 0);
	ck_assert_uint_eq(n, 2);
	store_ids_free(ids, n);
	snprintf(p, sizeof(p), "%s/missing", dir);
	ck_assert_int_eq(store_list_ids(p, 100, &ids, &n), 0);
	ck_assert_uint_eq(n, 0);
	store_ids_free(ids, n);
	snprintf(p, sizeof(p), "rm -rf %s", dir);
	ck_assert_int_eq(system(p), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_ids_sort_by_time_and_are_safe);
	tcase_add_test(tc, test_publish_and_discard);
	tcase_add_test(tc, test_clean_after_killed_collectors);
	tcase_add_test(tc, test_discard_work_unpublished);
	tcase_add_test(tc, test_discard_work_published);
	tcase_add_test(tc, test_discard_all);
	tcase_add_test(tc, test_list_ids);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
