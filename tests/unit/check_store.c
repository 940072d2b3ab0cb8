/* store: ids, atomic publication, and the clean-up after a killed collector. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include "store.h"
#include "testutil.h"
#include "util.h"

static char root[] = "/tmp/check_store.XXXXXX";

static bool exists(const char *dir, const char *id, const char *sfx)
{
	char *p = store_path(dir, id, sfx);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
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

int main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_ids_sort_by_time_and_are_safe);
	tcase_add_test(tc, test_publish_and_discard);
	tcase_add_test(tc, test_clean_after_killed_collectors);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
