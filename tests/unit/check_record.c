/* Unit tests for src/store/record.c: the record JSON contract. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/record.h"
#include "testutil.h"
#include "base/util.h"

static char tmpdir[256];

static void setup(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/check_record.XXXXXX", t && *t ? t : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
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

static json_object *make_record(void)
{
	json_object *r = json_object_new_object(), *core = json_object_new_object();

	json_object_object_add(r, "id", json_object_new_string("20261121T124905.123456-ab12cd-4242"));
	json_object_object_add(r, "time", json_object_new_string("2026-11-21T12:49:05.123456Z"));
	json_object_object_add(r, "time_usec", json_object_new_int64(1795272545123456LL));
	json_object_object_add(r, "pid", json_object_new_int64(4242));
	json_object_object_add(r, "uid", json_object_new_int64(1000));
	json_object_object_add(r, "gid", json_object_new_int64(1000));
	json_object_object_add(r, "signal", json_object_new_int(11));
	json_object_object_add(r, "signal_name", json_object_new_string("SIGSEGV"));
	json_object_object_add(r, "comm", json_object_new_string("segv"));
	json_object_object_add(r, "exe", json_object_new_string("/usr/bin/segv"));
	json_object_object_add(r, "cmdline", json_object_new_string("segv --crash"));
	json_object_object_add(r, "hostname", json_object_new_string("vm1"));
	json_object_object_add(r, "boot_id", json_object_new_string("0123456789abcdef0123456789abcdef"));
	json_object_object_add(r, "unit", json_object_new_string("segv.service"));
	json_object_object_add(core, "status", json_object_new_string("stored"));
	json_object_object_add(core, "size", json_object_new_int64(1 << 20));
	json_object_object_add(core, "stored_size", json_object_new_int64(4096));
	json_object_object_add(core, "path", json_object_new_string("/var/lib/mortem/store/x.core.zst"));
	json_object_object_add(r, "core", core);
	return r;
}

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

static int write_record(const char *path, json_object *rec)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int r;

	ck_assert_int_ge(fd, 0);
	r = record_write_fd(rec, fd);
	close(fd);
	return r;
}

START_TEST(test_roundtrip)
{
	json_object *rec = make_record(), *back = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	bool trunc;

	json_object_object_add(rec, "proc", json_object_new_object()); /* extra keys are fine */
	ck_assert_int_eq(write_record(tpath("a.json"), rec), 0);
	ck_assert_int_eq(record_load(tpath("a.json"), &back), 0);
	ck_assert(json_object_equal(rec, back));

	/* pretty, newline-terminated, slashes not escaped */
	ck_assert_int_eq(read_file_at(AT_FDCWD, tpath("a.json"), 1 << 20, &buf, &len, &trunc), 0);
	ck_assert(len > 2 && buf[len - 1] == '\n');
	ck_assert_ptr_nonnull(strstr(buf, "\n  \"id\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"/usr/bin/segv\""));
	json_object_put(rec);
	json_object_put(back);
}
END_TEST

START_TEST(test_nullable_and_empty)
{
	json_object *rec = make_record(), *back = NULL;

	json_object_object_add(rec, "unit", NULL);
	json_object_object_add(record_obj(rec, "core"), "path", NULL);
	json_object_object_add(record_obj(rec, "core"), "status", json_object_new_string("too-large"));
	json_object_object_add(rec, "comm", json_object_new_string(""));
	json_object_object_add(rec, "exe", json_object_new_string(""));
	json_object_object_add(rec, "cmdline", json_object_new_string(""));
	ck_assert_int_eq(record_validate(rec, NULL), 0);
	ck_assert_int_eq(write_record(tpath("n.json"), rec), 0);
	ck_assert_int_eq(record_load(tpath("n.json"), &back), 0);
	ck_assert(json_object_equal(rec, back));
	ck_assert_ptr_null(record_str(back, "unit", NULL));
	json_object_put(rec);
	json_object_put(back);
}
END_TEST

/* Each contract key: missing, then wrong-typed. */
static const struct {
	const char *key;
	bool in_core;
	json_type wrong; /* a type that must be refused */
} contract[] = {
	{ "id", false, json_type_int },          { "time", false, json_type_int },
	{ "time_usec", false, json_type_string }, { "pid", false, json_type_string },
	{ "uid", false, json_type_double },       { "gid", false, json_type_null },
	{ "signal", false, json_type_boolean },   { "signal_name", false, json_type_null },
	{ "comm", false, json_type_int },         { "exe", false, json_type_array },
	{ "cmdline", false, json_type_object },   { "hostname", false, json_type_int },
	{ "boot_id", false, json_type_null },     { "unit", false, json_type_int },
	{ "core", false, json_type_string },      { "status", true, json_type_int },
	{ "size", true, json_type_string },       { "stored_size", true, json_type_double },
	{ "path", true, json_type_boolean },
};

static json_object *value_of_type(json_type t)
{
	switch (t) {
	case json_type_int:
		return json_object_new_int(5);
	case json_type_string:
		return json_object_new_string("5");
	case json_type_double:
		return json_object_new_double(5.5);
	case json_type_boolean:
		return json_object_new_boolean(1);
	case json_type_array:
		return json_object_new_array();
	case json_type_object:
		return json_object_new_object();
	case json_type_null:
	default:
		return NULL;
	}
}

START_TEST(test_missing_key)
{
	json_object *rec = make_record();
	json_object *parent = contract[_i].in_core ? record_obj(rec, "core") : rec;
	const char *why = NULL;

	json_object_object_del(parent, contract[_i].key);
	ck_assert_int_eq(record_validate(rec, &why), -EBADMSG);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, contract[_i].key), "why \"%s\" does not name %s", why, contract[_i].key);
	json_object_put(rec);
}
END_TEST

START_TEST(test_wrong_type)
{
	json_object *rec = make_record();
	json_object *parent = contract[_i].in_core ? record_obj(rec, "core") : rec;
	const char *why = NULL;

	json_object_object_add(parent, contract[_i].key, value_of_type(contract[_i].wrong));
	ck_assert_int_eq(record_validate(rec, &why), -EBADMSG);
	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, contract[_i].key), "why \"%s\" does not name %s", why, contract[_i].key);
	json_object_put(rec);
}
END_TEST

START_TEST(test_bad_values)
{
	json_object *rec;
	const char *why;

	ck_assert_int_eq(record_validate(NULL, &why), -EBADMSG);
	rec = json_object_new_array();
	ck_assert_int_eq(record_validate(rec, &why), -EBADMSG);
	json_object_put(rec);

	rec = make_record();
	json_object_object_add(record_obj(rec, "core"), "status", json_object_new_string("gone"));
	ck_assert_int_eq(record_validate(rec, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "core.status"));
	json_object_put(rec);

	rec = make_record();
	json_object_object_add(rec, "pid", json_object_new_int(-1));
	ck_assert_int_eq(record_validate(rec, &why), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(why, "pid"));
	json_object_put(rec);

	static const char *const bad_times[] = {
		"yesterday", "2026-11-21 12:49:05Z", "2026-11-21T12:49:05", "2026-11-21T12:49:05.Z",
		"2026-11-21T12:49:05+01:00", "2026-11-21T12:49:05.123Zx", "",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad_times); i++) {
		rec = make_record();
		json_object_object_add(rec, "time", json_object_new_string(bad_times[i]));
		ck_assert_msg(record_validate(rec, &why) == -EBADMSG, "time %s accepted", bad_times[i]);
		json_object_put(rec);
	}
	rec = make_record();
	json_object_object_add(rec, "time", json_object_new_string("2026-11-21T12:49:05Z"));
	ck_assert_int_eq(record_validate(rec, NULL), 0);
	json_object_put(rec);
}
END_TEST

START_TEST(test_ids)
{
	static const char *const bad[] = {
		"", ".hidden", "..", "a/b", "../x", "a b", "a\nb", "caf\xc3\xa9", "a:b", "x*",
	};
	char longid[RECORD_ID_MAX + 2];
	json_object *rec;
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		ck_assert_msg(!record_id_valid(bad[i]), "id \"%s\" accepted", bad[i]);
		rec = make_record();
		json_object_object_add(rec, "id", json_object_new_string(bad[i]));
		ck_assert_int_eq(record_validate(rec, &why), -EBADMSG);
		ck_assert_ptr_nonnull(strstr(why, "id"));
		json_object_put(rec);
	}
	ck_assert(!record_id_valid(NULL));
	memset(longid, 'a', sizeof(longid));
	longid[RECORD_ID_MAX] = '\0';
	ck_assert(record_id_valid(longid));
	longid[RECORD_ID_MAX] = 'a';
	longid[RECORD_ID_MAX + 1] = '\0';
	ck_assert(!record_id_valid(longid));
	ck_assert(record_id_valid("a.b_c-D9"));
	ck_assert(record_id_valid("x."));
}
END_TEST

START_TEST(test_too_big)
{
	json_object *rec = NULL;
	int fd = open(tpath("big.json"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, (off_t)RECORD_FILE_MAX + 1), 0);
	close(fd);
	ck_assert_int_eq(record_load(tpath("big.json"), &rec), -EFBIG);
	ck_assert_ptr_null(rec);
}
END_TEST

START_TEST(test_trailing_garbage)
{
	json_object *rec = make_record(), *back = NULL;
	const char *s = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	char buf[4096];

	snprintf(buf, sizeof(buf), "%s x", s);
	write_text(tpath("g.json"), buf);
	ck_assert_int_eq(record_load(tpath("g.json"), &back), -EBADMSG);

	snprintf(buf, sizeof(buf), "%s%s", s, s);
	write_text(tpath("g.json"), buf);
	ck_assert_int_eq(record_load(tpath("g.json"), &back), -EBADMSG);

	/* a NUL after the object, then more bytes */
	snprintf(buf, sizeof(buf), "%s\n@garbage", s);
	buf[strlen(s) + 1] = '\0';
	int fd = open(tpath("g.json"), O_WRONLY | O_TRUNC | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, buf, strlen(s) + 9), 0);
	close(fd);
	ck_assert_int_eq(record_load(tpath("g.json"), &back), -EBADMSG);

	/* truncated JSON */
	snprintf(buf, sizeof(buf), "%.*s", (int)strlen(s) - 1, s);
	write_text(tpath("g.json"), buf);
	ck_assert_int_eq(record_load(tpath("g.json"), &back), -EBADMSG);

	/* whitespace around the object is fine */
	snprintf(buf, sizeof(buf), " \n%s \r\n\t\n", s);
	write_text(tpath("g.json"), buf);
	ck_assert_int_eq(record_load(tpath("g.json"), &back), 0);
	ck_assert(json_object_equal(rec, back));
	json_object_put(back);
	json_object_put(rec);
}
END_TEST

START_TEST(test_load_errors)
{
	json_object *rec = NULL;

	ck_assert_int_eq(record_load(tpath("nope.json"), &rec), -ENOENT);
	ck_assert_int_eq(record_load(tmpdir, &rec), -EISDIR);
	write_text(tpath("e.json"), "");
	ck_assert_int_eq(record_load(tpath("e.json"), &rec), -EBADMSG);
	write_text(tpath("e.json"), "[1, 2]\n");
	ck_assert_int_eq(record_load(tpath("e.json"), &rec), -EBADMSG);
	write_text(tpath("e.json"), "{\"id\": \"x\"}\n");
	ck_assert_int_eq(record_load(tpath("e.json"), &rec), -EBADMSG);
	write_text(tpath("e.json"), "{'id': 'x'}\n");
	ck_assert_int_eq(record_load(tpath("e.json"), &rec), -EBADMSG);
	ck_assert_int_eq(mkfifo(tpath("f.json"), 0600), 0);
	ck_assert_int_eq(record_load(tpath("f.json"), &rec), -EINVAL);
	ck_assert_ptr_null(rec);
}
END_TEST

START_TEST(test_escaping)
{
	static const char comm[] = "q\"uo\\te\nnl\ttab\x01\x1f\x7f end";
	static const char cmdline[] = "sh -c 'echo </script> & \"x\"' \xe6\x97\xa5\xe6\x9c\xac \xc3\xbc";
	json_object *rec = make_record(), *back = NULL;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	bool trunc;

	json_object_object_add(rec, "comm", json_object_new_string(comm));
	json_object_object_add(rec, "cmdline", json_object_new_string(cmdline));
	json_object_object_add(rec, "exe", json_object_new_string("/opt/a b/\xe2\x98\x83"));
	ck_assert_int_eq(write_record(tpath("u.json"), rec), 0);
	ck_assert_int_eq(record_load(tpath("u.json"), &back), 0);
	ck_assert(json_object_equal(rec, back));
	ck_assert_str_eq(record_str(back, "comm", ""), comm);
	ck_assert_str_eq(record_str(back, "cmdline", ""), cmdline);
	ck_assert_str_eq(record_str(back, "exe", ""), "/opt/a b/\xe2\x98\x83");

	/* no raw control characters other than the pretty-printer's newlines */
	ck_assert_int_eq(read_file_at(AT_FDCWD, tpath("u.json"), 1 << 20, &buf, &len, &trunc), 0);
	for (size_t i = 0; i < len; i++)
		ck_assert_msg((unsigned char)buf[i] >= 0x20 || buf[i] == '\n', "raw control byte 0x%02x",
			      (unsigned char)buf[i]);
	json_object_put(rec);
	json_object_put(back);
}
END_TEST

START_TEST(test_getters)
{
	json_object *rec = make_record();

	ck_assert_str_eq(record_str(rec, "comm", "x"), "segv");
	ck_assert_str_eq(record_str(rec, "pid", "x"), "x");
	ck_assert_str_eq(record_str(rec, "absent", "x"), "x");
	ck_assert_str_eq(record_str(NULL, "comm", "x"), "x");
	ck_assert_int_eq(record_i64(rec, "pid", -1), 4242);
	ck_assert_int_eq(record_i64(rec, "comm", -1), -1);
	ck_assert_int_eq(record_i64(rec, "absent", -1), -1);
	ck_assert_int_eq(record_i64(rec, "time_usec", -1), 1795272545123456LL);
	ck_assert_ptr_nonnull(record_obj(rec, "core"));
	ck_assert_ptr_null(record_obj(rec, "comm"));
	ck_assert_ptr_null(record_obj(rec, "absent"));
	ck_assert_ptr_null(record_obj(NULL, "core"));
	ck_assert_int_eq(record_i64(record_obj(rec, "core"), "size", 0), 1 << 20);
	json_object_put(rec);

	ck_assert(record_core_status_valid("stored"));
	ck_assert(record_core_status_valid("truncated"));
	ck_assert(record_core_status_valid("too-large"));
	ck_assert(record_core_status_valid("skipped"));
	ck_assert(record_core_status_valid("deleted"));
	ck_assert(record_core_status_valid("error"));
	ck_assert(!record_core_status_valid("Stored"));
	ck_assert(!record_core_status_valid(""));
	ck_assert(!record_core_status_valid(NULL));
}
END_TEST

START_TEST(test_write_errors)
{
	json_object *rec = make_record();

	ck_assert_int_eq(record_write_fd(rec, -1), -EBADF);
	ck_assert_int_eq(record_write_fd(NULL, 1), -EINVAL);
	json_object_put(rec);
}
END_TEST

static Suite *record_suite(void)
{
	Suite *s = suite_create("record");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_nullable_and_empty);
	tcase_add_loop_test(tc, test_missing_key, 0, (int)ARRAY_SIZE(contract));
	tcase_add_loop_test(tc, test_wrong_type, 0, (int)ARRAY_SIZE(contract));
	tcase_add_test(tc, test_bad_values);
	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_too_big);
	tcase_add_test(tc, test_trailing_garbage);
	tcase_add_test(tc, test_load_errors);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_getters);
	tcase_add_test(tc, test_write_errors);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(record_suite());
}
