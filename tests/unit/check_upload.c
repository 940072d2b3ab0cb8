/* upload: the queue in the store. Crashes are stored by the collector's own
 * pipeline (collect_run, fakecore.h) into a temp store. Enqueue is a no-op
 * without Endpoint=; an entry survives as a file; MaxQueue= drops the oldest
 * cores from the queue, never the crash; a run against a gateway that is not
 * there leaves every entry queued with its error and attempt count, and the
 * record (rewritten under the quota lock) says "queued" with the error while
 * everything else in it, and its index row, stays. Keys, days and the
 * Cores=first rule are checked on their own. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "collect/collect.h"
#include "fakecore.h"
#include "fleet/upload.h"
#include "store/index.h"
#include "store/record.h"
#include "store/store.h"
#include "testutil.h"

static char root[] = "/tmp/check_upload.XXXXXX";

static void setup(struct mortem_config *cfg, struct store *st)
{
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(config_init(cfg), 0);
	free(cfg->store_path);
	cfg->store_path = strdup(root);
	cfg->keep_per_signature = 0;
	cfg->rate_limit.burst = 0;
	cfg->max_use = (struct config_quota){ 0 };
	cfg->keep_free = (struct config_quota){ 0 };
	ck_assert_int_eq(store_init(st, root), 0);
	ck_assert_int_eq(store_mkdirs(st), 0);
}

static void teardown(struct mortem_config *cfg, struct store *st)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	ck_assert_int_eq(system(cmd), 0);
	store_free(st);
	config_free(cfg);
}

static void collect_fake(const struct mortem_config *cfg, const char *pid, char *id, size_t len)
{
	struct fakecore fc;
	struct crash_args a;
	struct collect_outcome out;
	const char *v[] = { pid, "0", "0", "11", "1795000000", "0", "host-a", NULL };
	fakecore_make(&fc);
	int fd = testutil_tmpfd();
	ck_assert_int_eq(write_all(fd, fc.buf, fc.len), 0);
	ck_assert_int_eq((int)lseek(fd, 0, SEEK_SET), 0);
	free(fc.buf);
	crash_args_parse(7, v, &a);
	struct collect_source src = { .fd = fd, .spill_fd = -1, .held_usec = -1, .pool_fd = -1 };
	ck_assert_int_eq(collect_run(cfg, &a, NULL, &src, &out), 0);
	ck_assert(out.published);
	snprintf(id, len, "%s", out.id);
}

static json_object *entry(const struct store *st, const char *id)
{
	char p[512];
	json_object *e = NULL;
	snprintf(p, sizeof(p), "%s/upload/%s", st->root, id);
	if (record_read_object(p, UPLOAD_ENTRY_MAX, &e) < 0)
		return NULL;
	return e;
}

START_TEST(test_names)
{
	char *k = upload_crash_key("p/q", "host-1.example", "20261208T001709.360886Z-865050dd-1", "core.zst");
	ck_assert_str_eq(k, "p/q/crashes/host-1.example/20261208T001709.360886Z-865050dd-1/core.zst");
	free(k);
	k = upload_crash_key(NULL, "h", "20261208T001709.360886Z-865050dd-1", "mini");
	ck_assert_str_eq(k, "crashes/h/20261208T001709.360886Z-865050dd-1/mini");
	free(k);
	k = upload_index_key("p", "2026-12-08", "h");
	ck_assert_str_eq(k, "p/index/2026-12-08/h.json");
	free(k);
	/* A host name from a record cannot climb out of its folder. */
	ck_assert_ptr_null(upload_crash_key(NULL, "..", "20261208T001709.360886Z-865050dd-1", "mini"));
	ck_assert_ptr_null(upload_crash_key(NULL, "a/b", "20261208T001709.360886Z-865050dd-1", "mini"));
	ck_assert_ptr_null(upload_crash_key(NULL, "", "20261208T001709.360886Z-865050dd-1", "mini"));
	ck_assert_ptr_null(upload_crash_key(NULL, "h", "../x", "mini"));
	ck_assert_ptr_null(upload_index_key(NULL, "2026-12-08", "h h"));
	char day[16];
	upload_day(INT64_C(1796689029) * 1000000, day, sizeof(day));
	ck_assert_str_eq(day, "2026-12-08");
	upload_day(INT64_C(86399999999), day, sizeof(day)); /* 1970-01-01T23:59:59.999999Z */
	ck_assert_str_eq(day, "1970-01-01");
}
END_TEST

START_TEST(test_core_seen)
{
	json_object *arr = json_tokener_parse("[{\"id\":\"a\",\"sigkey\":\"S1\",\"core\":true},"
					      "{\"id\":\"b\",\"sigkey\":\"S2\",\"core\":false},"
					      "{\"id\":\"c\",\"sigkey\":\"exe:/bin/x\",\"core\":true}]");
	ck_assert_ptr_nonnull(arr);
	ck_assert(upload_core_seen(arr, "z", "S1"));
	ck_assert(!upload_core_seen(arr, "a", "S1"));  /* itself, uploaded again */
	ck_assert(!upload_core_seen(arr, "z", "S2"));  /* listed, but without its core */
	ck_assert(!upload_core_seen(arr, "z", "S3"));
	ck_assert(upload_core_seen(arr, "z", "exe:/bin/x"));
	ck_assert(!upload_core_seen(NULL, "z", "S1"));
	json_object_put(arr);
}
END_TEST

START_TEST(test_enqueue)
{
	struct mortem_config cfg;
	struct store st;
	char id1[RECORD_ID_MAX + 1], id2[RECORD_ID_MAX + 1];
	char **ids = NULL;
	size_t n = 0;
	setup(&cfg, &st);
	collect_fake(&cfg, "4001", id1, sizeof(id1));
	collect_fake(&cfg, "4002", id2, sizeof(id2));
	/* Upload off: nothing queued. */
	ck_assert_int_eq(upload_enqueue(&cfg, &st, id1), 0);
	ck_assert_int_eq(upload_queue_list(&st, &ids, &n), 0);
	ck_assert_uint_eq(n, 0);
	free(ids);
	ck_assert_int_eq(upload_enqueue(&cfg, &st, "../x"), -EINVAL);

	cfg.upload_endpoint = strdup("http://127.0.0.1:1");
	ck_assert_int_eq(upload_enqueue(&cfg, &st, id2), 0);
	ck_assert_int_eq(upload_enqueue(&cfg, &st, id1), 0);
	ck_assert_int_eq(upload_queue_list(&st, &ids, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(ids[0], id1); /* oldest first */
	ck_assert_str_eq(ids[1], id2);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	json_object *e = entry(&st, id1);
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(record_str(e, "id", ""), id1);
	ck_assert_int_eq(record_i64(e, "attempts", -1), 0);
	json_object_put(e);
	teardown(&cfg, &st);
}
END_TEST

/* The collector queues what it stores, once listed, when [Upload] is on. */
START_TEST(test_collector_queues)
{
	struct mortem_config cfg;
	struct store st;
	char id[RECORD_ID_MAX + 1];
	char **ids = NULL;
	size_t n = 0;
	setup(&cfg, &st);
	cfg.upload_endpoint = strdup("http://127.0.0.1:1");
	collect_fake(&cfg, "4050", id, sizeof(id));
	ck_assert_int_eq(upload_queue_list(&st, &ids, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(ids[0], id);
	free(ids[0]);
	free(ids);
	teardown(&cfg, &st);
}
END_TEST

START_TEST(test_max_queue)
{
	struct mortem_config cfg;
	struct store st;
	char id[3][RECORD_ID_MAX + 1], p[512];
	struct stat sb;
	setup(&cfg, &st);
	/* Stored with no endpoint (the collector queues nothing), queued below. */
	for (int i = 0; i < 3; i++) {
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", 4100 + i);
		collect_fake(&cfg, pid, id[i], sizeof(id[i]));
	}
	cfg.upload_endpoint = strdup("http://127.0.0.1:1");
	snprintf(p, sizeof(p), "%s/%s.core.zst", st.store_dir, id[0]);
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_gt(sb.st_size, 0);
	/* Room for two cores and a half: the third enqueue drops the oldest's. */
	cfg.upload_max_queue = (uint64_t)sb.st_size * 5 / 2;
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(upload_enqueue(&cfg, &st, id[i]), 0);
	json_object *e0 = entry(&st, id[0]), *e1 = entry(&st, id[1]), *e2 = entry(&st, id[2]);
	ck_assert_ptr_nonnull(record_str(e0, "core_dropped", NULL));
	ck_assert_ptr_nonnull(strstr(record_str(e0, "core_dropped", ""), "MaxQueue="));
	ck_assert_ptr_null(record_str(e1, "core_dropped", NULL));
	ck_assert_ptr_null(record_str(e2, "core_dropped", NULL));
	json_object_put(e0);
	json_object_put(e1);
	json_object_put(e2);
	/* The crash itself is untouched: its core is still stored. */
	ck_assert_int_eq(stat(p, &sb), 0);
	/* Cores=none: no core waits, nothing more is dropped. */
	cfg.upload_cores = CONFIG_UPLOAD_CORES_NONE;
	cfg.upload_max_queue = 1;
	ck_assert_int_eq(upload_enqueue(&cfg, &st, id[2]), 0);
	e1 = entry(&st, id[1]);
	ck_assert_ptr_null(record_str(e1, "core_dropped", NULL));
	json_object_put(e1);
	teardown(&cfg, &st);
}
END_TEST

START_TEST(test_run_gateway_down)
{
	struct mortem_config cfg;
	struct store st;
	struct s3 s3;
	struct upload_stats stats;
	char id[RECORD_ID_MAX + 1], p[512];
	json_object *rec = NULL;
	setup(&cfg, &st);
	cfg.upload_endpoint = strdup("http://127.0.0.1:1");
	collect_fake(&cfg, "4200", id, sizeof(id));
	ck_assert_int_eq(upload_enqueue(&cfg, &st, id), 0);
	ck_assert_int_eq(s3_init(&s3, cfg.upload_endpoint, "b", "r", "k", "s"), 0);
	s3.backoff_ms = 1;
	for (int run = 1; run <= 2; run++) {
		ck_assert_int_eq(upload_run(&cfg, &st, &s3, NULL, NULL, &stats), 0);
		ck_assert_uint_eq(stats.failed, 1);
		ck_assert_uint_eq(stats.uploaded, 0);
		json_object *e = entry(&st, id);
		ck_assert_ptr_nonnull(e);
		ck_assert_int_eq(record_i64(e, "attempts", 0), run);
		ck_assert_ptr_nonnull(strstr(record_str(e, "error", ""), "curl 7"));
		json_object_put(e);
	}
	s3_free(&s3);
	/* The record says so, and keeps all else. */
	snprintf(p, sizeof(p), "%s/%s.json", st.store_dir, id);
	ck_assert_int_eq(record_load(p, &rec), 0);
	json_object *up = record_obj(rec, "upload");
	ck_assert_str_eq(record_str(up, "status", ""), "queued");
	ck_assert_ptr_nonnull(strstr(record_str(up, "error", ""), "Couldn't connect"));
	ck_assert_str_eq(record_str(record_obj(rec, "core"), "status", ""), "stored");
	ck_assert_str_eq(record_str(rec, "hostname", ""), "host-a");
	json_object_put(rec);
	/* Its index row is still there. */
	sqlite3 *db = NULL;
	struct index_row *rows = NULL;
	size_t n = 0;
	struct index_filter f = { .match = id };
	ck_assert_int_eq(index_open(st.index_path, &db), 0);
	ck_assert_int_eq(index_query(db, &f, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	index_rows_free(rows, n);
	index_close(db);
	teardown(&cfg, &st);
}
END_TEST

START_TEST(test_run_removed_crash)
{
	struct mortem_config cfg;
	struct store st;
	struct s3 s3;
	struct upload_stats stats;
	char id[RECORD_ID_MAX + 1], p[512];
	setup(&cfg, &st);
	cfg.upload_endpoint = strdup("http://127.0.0.1:1");
	collect_fake(&cfg, "4300", id, sizeof(id));
	ck_assert_int_eq(upload_enqueue(&cfg, &st, id), 0);
	snprintf(p, sizeof(p), "%s/%s.json", st.store_dir, id);
	ck_assert_int_eq(unlink(p), 0);
	ck_assert_int_eq(s3_init(&s3, cfg.upload_endpoint, "b", "r", "k", "s"), 0);
	ck_assert_int_eq(upload_run(&cfg, &st, &s3, NULL, NULL, &stats), 0);
	ck_assert_uint_eq(stats.gone, 1);
	ck_assert_ptr_null(entry(&st, id));
	s3_free(&s3);
	teardown(&cfg, &st);
}
END_TEST

static Suite *upload_suite(void)
{
	Suite *s = suite_create("upload");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_core_seen);
	tcase_add_test(tc, test_enqueue);
	tcase_add_test(tc, test_collector_queues);
	tcase_add_test(tc, test_max_queue);
	tcase_add_test(tc, test_run_gateway_down);
	tcase_add_test(tc, test_run_removed_crash);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(upload_suite());
}
