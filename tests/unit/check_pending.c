/* pending: the notes of crashes still being processed, which of them are live,
 * MATCH over them, and the record of a crash whose collector died ("lost"). */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>

#include "store/index.h"
#include "store/pending.h"
#include "store/record.h"
#include "store/store.h"
#include "testutil.h"
#include "base/util.h"

#define SEC INT64_C(1000000)
#define T0 (INT64_C(1800000000) * SEC)

static char root[64];
static struct store st;

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(p);
}

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/check_pending.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(store_init(&st, root), 0);
	ck_assert_int_eq(store_mkdirs(&st), 0);
}

static void teardown(void)
{
	store_free(&st);
	(void)nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static bool exists(const char *dir, const char *id, const char *sfx)
{
	char *p = store_path(dir, id, sfx);
	bool r = access(p, F_OK) == 0;
	free(p);
	return r;
}

/* Make spool/<id><sfx> a minute old, so that it may be judged abandoned. */
static void age(const char *id, const char *sfx)
{
	char *p = store_path(st.spool_dir, id, sfx);
	struct utimbuf t = { time(NULL) - 60, time(NULL) - 60 };
	ck_assert_int_eq(utime(p, &t), 0);
	free(p);
}

static void put(const char *dir, const char *name, const char *text)
{
	char *p = store_path(dir, name, "");
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
	free(p);
}

/* A note as a collector writes it; extra keys are dropped by pending_write. */
static void note(const char *id, int64_t t, int pid, const char *comm, const char *exe, const char *mode)
{
	json_object *o = json_object_new_object();
	char ts[40];
	format_rfc3339(t, ts, sizeof(ts));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "time", json_object_new_string(ts));
	json_object_object_add(o, "time_usec", json_object_new_int64(t));
	json_object_object_add(o, "pid", json_object_new_int(pid));
	json_object_object_add(o, "uid", json_object_new_int(1000));
	json_object_object_add(o, "gid", json_object_new_int(100));
	json_object_object_add(o, "cmdline", json_object_new_string("app --serve x"));
	json_object_object_add(o, "hostname", json_object_new_string("box1"));
	json_object_object_add(o, "boot_id", json_object_new_string("0123456789abcdef0123456789abcdef"));
	json_object_object_add(o, "signal", json_object_new_int(11));
	json_object_object_add(o, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(o, "comm", json_object_new_string(comm));
	json_object_object_add(o, "exe", json_object_new_string(exe));
	json_object_object_add(o, "unit", NULL);
	json_object_object_add(o, "mode", json_object_new_string(mode));
	json_object_object_add(o, "secret", json_object_new_string("not copied"));
	ck_assert_int_eq(pending_write(&st, id, o), 0);
	json_object_put(o);
}

/* A crash in progress: its lock held (the fd) and its note. */
static int live(const char *id, int64_t t, int pid, const char *comm, const char *exe)
{
	int fd = -1;
	ck_assert_int_eq(store_lock(&st, id, &fd), 0);
	note(id, t, pid, comm, exe, "handoff");
	return fd;
}

/* A crash whose collector died: the lock is free and old. */
static void dead(const char *id, int64_t t, int pid, const char *comm, const char *exe)
{
	close(live(id, t, pid, comm, exe));
	age(id, ".lock");
}

static const char *ids(json_object *arr, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		if (i)
			strncat(buf, " ", len - strlen(buf) - 1);
		strncat(buf, record_str(json_object_array_get_idx(arr, i), "id", "?"), len - strlen(buf) - 1);
	}
	return buf;
}

START_TEST(test_statuses)
{
	ck_assert_int_eq(record_core_status_valid("lost"), 1);
	ck_assert_int_eq(record_core_status_valid("pending"), 0);
	ck_assert_int_eq(record_core_status_valid("stored"), 1);
}
END_TEST

START_TEST(test_list_live_only_sorted)
{
	json_object *arr = NULL;
	char buf[256];
	int a = live("a", T0 + 3 * SEC, 30, "app", "/bin/app");
	int b = live("b", T0 + 1 * SEC, 10, "app", "/bin/app");
	dead("c", T0 + 2 * SEC, 20, "app", "/bin/app");
	/* held locks, bad notes */
	int m = -1, w = -1, o = -1, f = -1;
	ck_assert_int_eq(store_lock(&st, "malformed", &m), 0);
	put(st.spool_dir, "malformed.pending", "{\"id\":\"malformed\",\"time_usec\":");
	ck_assert_int_eq(store_lock(&st, "wrongid", &w), 0);
	put(st.spool_dir, "wrongid.pending", "{\"id\":\"other\",\"time_usec\":1}");
	ck_assert_int_eq(store_lock(&st, "notime", &f), 0);
	put(st.spool_dir, "notime.pending", "{\"id\":\"notime\",\"time_usec\":\"soon\"}");
	ck_assert_int_eq(store_lock(&st, "big", &o), 0);
	char *big = malloc(PENDING_NOTE_MAX + 64);
	int k = snprintf(big, 64, "{\"id\":\"big\",\"time_usec\":5,\"comm\":\"");
	memset(big + k, 'x', PENDING_NOTE_MAX);
	strcpy(big + k + PENDING_NOTE_MAX, "\"}");
	put(st.spool_dir, "big.pending", big);
	free(big);
	/* a lock without a note is not a pending crash; nor is a temp note */
	int n = -1;
	ck_assert_int_eq(store_lock(&st, "nonote", &n), 0);
	put(st.spool_dir, "x.pending.tmp", "{\"id\":\"x\",\"time_usec\":1}");

	ck_assert_int_eq(pending_list(&st, &arr), 0);
	ck_assert_str_eq(ids(arr, buf, sizeof(buf)), "b a");
	json_object *nb = json_object_array_get_idx(arr, 0);
	ck_assert_int_eq(record_i64(nb, "pid", 0), 10);
	ck_assert_str_eq(record_str(nb, "mode", ""), "handoff");
	ck_assert_str_eq(record_str(nb, "exe", ""), "/bin/app");
	ck_assert(!json_object_object_get_ex(nb, "secret", NULL));
	ck_assert(!json_object_object_get_ex(nb, "core", NULL));
	json_object_put(arr);

	/* the collector of a is done: its note goes with the lock */
	store_discard(&st, "a");
	close(a);
	ck_assert_int_eq(pending_list(&st, &arr), 0);
	ck_assert_str_eq(ids(arr, buf, sizeof(buf)), "b");
	json_object_put(arr);
	close(b);
	close(m);
	close(w);
	close(f);
	close(o);
	close(n);
}
END_TEST

START_TEST(test_list_without_spool)
{
	json_object *arr = NULL;
	struct store none;
	ck_assert_int_eq(store_init(&none, "/nonexistent/mortem"), 0);
	ck_assert_int_eq(pending_list(&none, &arr), 0);
	ck_assert_uint_eq(json_object_array_length(arr), 0);
	json_object_put(arr);
	ck_assert_int_eq(pending_recover(&none, NULL), 0);
	store_free(&none);
}
END_TEST

/* A field of the wrong type is dropped, the note kept. */
START_TEST(test_list_drops_wrong_types)
{
	json_object *arr = NULL;
	int fd = -1;
	ck_assert_int_eq(store_lock(&st, "t", &fd), 0);
	put(st.spool_dir, "t.pending", "{\"id\":\"t\",\"time_usec\":7,\"pid\":\"12\",\"comm\":3,\"exe\":null}\n");
	ck_assert_int_eq(pending_list(&st, &arr), 0);
	ck_assert_uint_eq(json_object_array_length(arr), 1);
	json_object *t = json_object_array_get_idx(arr, 0);
	ck_assert(!json_object_object_get_ex(t, "pid", NULL));
	ck_assert(!json_object_object_get_ex(t, "comm", NULL));
	ck_assert(json_object_object_get_ex(t, "exe", NULL));
	ck_assert_int_eq(record_i64(t, "time_usec", 0), 7);
	json_object_put(arr);
	close(fd);
}
END_TEST

START_TEST(test_match)
{
	json_object *arr = NULL;
	int a = live("20270101T000000.000000Z-0123abcd-42", T0 + 1 * SEC, 42, "app", "/bin/app");
	int b = live("20270101T000001.000000Z-0123abcd-2027", T0 + 2 * SEC, 2027, "other", "/usr/bin/other");
	ck_assert_int_eq(pending_list(&st, &arr), 0);
	json_object *na = json_object_array_get_idx(arr, 0), *nb = json_object_array_get_idx(arr, 1);
	struct index_filter f = { 0 };

	ck_assert(pending_match(na, &f, false));
	f.match = "20270101T000000.000000Z-0123abcd-42";
	ck_assert(pending_match(na, &f, false) && !pending_match(nb, &f, false));
	f.match = "20270101T00000";
	ck_assert(pending_match(na, &f, false) && pending_match(nb, &f, false));
	f.match = "app";
	ck_assert(pending_match(na, &f, false) && !pending_match(nb, &f, false));
	f.match = "/usr/bin/other";
	ck_assert(!pending_match(na, &f, false) && pending_match(nb, &f, false));
	f.match = "/bin/app";
	ck_assert(pending_match(na, &f, false));
	/* "2027" is a PID of a note: a PID, not the prefix of both ids */
	ck_assert(pending_has_pid(arr, "2027"));
	ck_assert(!pending_has_pid(arr, "2026"));
	ck_assert(!pending_has_pid(arr, "20x"));
	f.match = "2027";
	ck_assert(!pending_match(na, &f, true) && pending_match(nb, &f, true));
	ck_assert(pending_match(na, &f, false) && pending_match(nb, &f, false));
	/* the time bounds */
	f = (struct index_filter){ .since_usec = T0 + 2 * SEC };
	ck_assert(!pending_match(na, &f, false) && pending_match(nb, &f, false));
	f = (struct index_filter){ .until_usec = T0 + 1 * SEC };
	ck_assert(pending_match(na, &f, false) && !pending_match(nb, &f, false));
	f = (struct index_filter){ .since_usec = T0 + 1 * SEC, .match = "other" };
	ck_assert(!pending_match(na, &f, false) && pending_match(nb, &f, false));
	json_object_put(arr);
	close(a);
	close(b);
}
END_TEST

/* A pending crash has every key of the record's contract that is known from
 * the start (record_validate's: the ids, the names, the command line, the
 * host and boot), of the record's types; with the "core" that list adds it
 * passes record_validate. A command line too long for a note is cut, said. */
START_TEST(test_note_has_the_contract_keys)
{
	json_object *arr = NULL;
	const char *why = NULL;
	int fd = live("20270101T000000.000000Z-0123abcd-90", T0, 90, "app", "/bin/app");
	ck_assert_int_eq(pending_list(&st, &arr), 0);
	ck_assert_uint_eq(json_object_array_length(arr), 1);
	json_object *o = json_object_array_get_idx(arr, 0);
	static const char *const keys[] = { "id",	   "time",   "time_usec", "pid",	"uid",	   "gid", "signal",
					    "signal_name", "comm",   "exe",	  "cmdline", "hostname", "boot_id", "unit" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		ck_assert_msg(json_object_object_get_ex(o, keys[i], NULL), "pending note lacks %s", keys[i]);
	ck_assert_int_eq(record_i64(o, "gid", -1), 100);
	ck_assert_str_eq(record_str(o, "cmdline", ""), "app --serve x");
	ck_assert_str_eq(record_str(o, "hostname", ""), "box1");
	ck_assert_str_eq(record_str(o, "boot_id", ""), "0123456789abcdef0123456789abcdef");
	json_object *core = json_object_new_object();
	json_object_object_add(core, "status", json_object_new_string("lost"));
	json_object_object_add(core, "size", json_object_new_int(0));
	json_object_object_add(core, "stored_size", json_object_new_int(0));
	json_object_object_add(core, "path", NULL);
	json_object_object_add(o, "core", core);
	json_object *mini = json_object_new_object();
	json_object_object_add(mini, "path", NULL);
	json_object_object_add(o, "minicore", mini);
	json_object_object_add(o, "slogan", json_object_new_string(""));
	json_object_object_add(o, "signature", NULL);
	ck_assert_msg(record_validate(o, &why) == 0, "%s", why ? why : "");
	json_object_put(arr);
	close(fd);

	/* a command line of 100K: cut at PENDING_CMDLINE_MAX, not inside a
	 * UTF-8 character, and said so; the note stays readable */
	size_t big = 100 << 10;
	char *cl = malloc(big + 1);
	memset(cl, 'a', big);
	memcpy(cl + PENDING_CMDLINE_MAX - 1, "\xc3\xa9", 2); /* 'é' across the cut */
	cl[big] = '\0';
	json_object *n = json_object_new_object();
	json_object_object_add(n, "id", json_object_new_string("big"));
	json_object_object_add(n, "time_usec", json_object_new_int64(T0));
	json_object_object_add(n, "cmdline", json_object_new_string(cl));
	ck_assert_int_eq(store_lock(&st, "big", &fd), 0);
	ck_assert_int_eq(pending_write(&st, "big", n), 0);
	ck_assert_int_eq(pending_list(&st, &arr), 0);
	ck_assert_uint_eq(json_object_array_length(arr), 1);
	o = json_object_array_get_idx(arr, 0);
	ck_assert_uint_eq(strlen(record_str(o, "cmdline", "")), PENDING_CMDLINE_MAX - 1);
	ck_assert(json_object_get_boolean(json_object_object_get(o, "cmdline_truncated")));
	json_object_put(arr);
	json_object_put(n);
	free(cl);
	close(fd);
}
END_TEST

START_TEST(test_recover_writes_a_valid_lost_record)
{
	const char *id = "20270101T000000.000000Z-0123abcd-77";
	char *dbpath = store_path(root, "index", ".sqlite"), *rp = store_path(st.store_dir, id, ".json");
	sqlite3 *db = NULL;
	json_object *rec = NULL;
	const char *why = NULL;
	int fd = -1;

	ck_assert_int_eq(index_open(dbpath, &db), 0);
	dead(id, T0 + 5 * SEC, 77, "app", "/bin/app");
	/* the dead collector's leftovers: a half record, a core temp, a published core */
	put(st.spool_dir, "20270101T000000.000000Z-0123abcd-77.json.tmp", "{\"half");
	ck_assert_int_eq(store_tmp_open(&st, id, ".core.zst", &fd), 0);
	close(fd);
	put(st.store_dir, "20270101T000000.000000Z-0123abcd-77.mini", "partial");
	/* one still running, one dead but too recent to judge */
	int busy = live("busy", T0 + 6 * SEC, 78, "app", "/bin/app");
	age("busy", ".lock");
	close(live("young", T0 + 7 * SEC, 79, "app", "/bin/app"));

	ck_assert_int_eq(pending_recover(&st, db), 1);
	ck_assert_int_eq(record_load(rp, &rec), 0);
	ck_assert_int_eq(record_validate(rec, &why), 0);
	ck_assert_str_eq(record_str(rec, "id", ""), id);
	ck_assert_int_eq(record_i64(rec, "time_usec", 0), T0 + 5 * SEC);
	ck_assert_int_eq(record_i64(rec, "pid", 0), 77);
	ck_assert_int_eq(record_i64(rec, "uid", 0), 1000);
	ck_assert_int_eq(record_i64(rec, "signal", 0), 11);
	ck_assert_str_eq(record_str(rec, "signal_name", ""), "SIGSEGV");
	ck_assert_str_eq(record_str(rec, "comm", ""), "app");
	ck_assert_str_eq(record_str(rec, "exe", ""), "/bin/app");
	/* what the note knew, not blanks */
	ck_assert_int_eq(record_i64(rec, "gid", 0), 100);
	ck_assert_str_eq(record_str(rec, "cmdline", ""), "app --serve x");
	ck_assert_str_eq(record_str(rec, "hostname", ""), "box1");
	ck_assert_str_eq(record_str(rec, "boot_id", ""), "0123456789abcdef0123456789abcdef");
	json_object *core = record_obj(rec, "core");
	ck_assert_str_eq(record_str(core, "status", ""), "lost");
	ck_assert_str_eq(record_str(core, "reason", ""), PENDING_LOST_REASON);
	ck_assert_ptr_null(record_str(core, "path", NULL));
	ck_assert_str_eq(record_str(record_obj(rec, "collector"), "mode", ""), "handoff");
	json_object_put(rec);
	/* the spool is clean for that id; the others are untouched */
	ck_assert(!exists(st.spool_dir, id, ".pending"));
	ck_assert(!exists(st.spool_dir, id, ".lock"));
	ck_assert(!exists(st.spool_dir, id, ".json.tmp"));
	ck_assert(!exists(st.spool_dir, id, ".core.zst.tmp"));
	ck_assert(!exists(st.store_dir, id, ".mini"));
	ck_assert(exists(st.spool_dir, "busy", ".pending"));
	ck_assert(exists(st.spool_dir, "young", ".pending"));
	ck_assert(!exists(st.store_dir, "busy", ".json"));
	ck_assert(!exists(st.store_dir, "young", ".json"));

	/* indexed */
	struct index_row *rows = NULL;
	size_t n = 0;
	struct index_filter f = { .match = id };
	ck_assert_int_eq(index_query(db, &f, &rows, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(rows[0].core_status, "lost");
	ck_assert_ptr_null(rows[0].core_path);
	index_rows_free(rows, n);

	/* once is enough */
	ck_assert_int_eq(pending_recover(&st, db), 0);
	index_close(db);
	close(busy);
	free(dbpath);
	free(rp);
}
END_TEST

START_TEST(test_recover_never_duplicates)
{
	char *rp = store_path(st.store_dir, "done", ".json");
	char *text = NULL;
	dead("done", T0, 5, "app", "/bin/app");
	/* the record was published, the collector died before it discarded the lock */
	put(st.store_dir, "done.json", "the original\n");
	ck_assert_int_eq(pending_recover(&st, NULL), 0);
	ck_assert_int_eq(read_file_at(AT_FDCWD, rp, 1024, &text, NULL, NULL), 0);
	ck_assert_str_eq(text, "the original\n");
	ck_assert(!exists(st.spool_dir, "done", ".pending"));
	free(text);
	free(rp);
}
END_TEST

/* A note whose lock file is gone, and a malformed abandoned note. */
START_TEST(test_recover_odd_notes)
{
	char *rp = store_path(st.store_dir, "nolock", ".json");
	json_object *rec = NULL;

	note("nolock", T0, 9, "app", "/bin/app", "pipe");
	ck_assert_int_eq(pending_recover(&st, NULL), 0); /* brand new: not judged */
	age("nolock", ".pending");
	int bad = -1;
	ck_assert_int_eq(store_lock(&st, "bad", &bad), 0);
	close(bad);
	put(st.spool_dir, "bad.pending", "not json");
	age("bad", ".lock");

	ck_assert_int_eq(pending_recover(&st, NULL), 1);
	ck_assert_int_eq(record_load(rp, &rec), 0);
	ck_assert_str_eq(record_str(record_obj(rec, "collector"), "mode", ""), "pipe");
	json_object_put(rec);
	ck_assert(!exists(st.store_dir, "bad", ".json"));
	ck_assert(exists(st.spool_dir, "bad", ".pending")); /* left to store_clean_spool */
	free(rp);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pending");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_statuses);
	tcase_add_test(tc, test_list_live_only_sorted);
	tcase_add_test(tc, test_list_without_spool);
	tcase_add_test(tc, test_list_drops_wrong_types);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_recover_writes_a_valid_lost_record);
	tcase_add_test(tc, test_recover_never_duplicates);
	tcase_add_test(tc, test_recover_odd_notes);
	tcase_add_test(tc, test_note_has_the_contract_keys);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
