/* Unit tests for src/store/journal.c: the crash entry's MESSAGE is one line a
 * person reads, whatever names the crashed process chose. */
#include <check.h>
#include <string.h>

#include "store/journal.h"
#include "testutil.h"

/* No byte a terminal acts on: C0 (the line's end included: there is none),
 * DEL, C1 raw or UTF-8 encoded, bidi overrides. */
static void assert_one_clean_line(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; p[i]; i++) {
		ck_assert_msg(p[i] >= 0x20 && p[i] != 0x7f, "control byte 0x%02x at %zu in: %s", p[i], i, s);
		ck_assert_msg(!(p[i] == 0xc2 && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f), "UTF-8 C1 at %zu", i);
		ck_assert_msg(!(p[i] == 0xe2 && p[i + 1] == 0x80 && p[i + 2] >= 0xaa && p[i + 2] <= 0xae),
			      "bidi override at %zu", i);
	}
}

static json_object *hostile_record(void)
{
	json_object *rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string("20261208T000000.000000Z-abcdef01-42"));
	json_object_object_add(rec, "pid", json_object_new_int(42));
	json_object_object_add(rec, "uid", json_object_new_int(1001));
	json_object_object_add(rec, "comm", json_object_new_string("\x1b[2J\x1b]0;owned\a\nTIME x"));
	json_object_object_add(rec, "slogan", json_object_new_string("SIGSEGV in \xc2\x9b" "31m\xe2\x80\xae" "evil\r\nforged"));
	json_object *core = json_object_new_object();
	json_object_object_add(core, "status", json_object_new_string("stored"));
	json_object_object_add(rec, "core", core);
	return rec;
}

START_TEST(test_hostile_names_escaped)
{
	json_object *rec = hostile_record();
	char msg[768];

	journal_format(rec, NULL, msg, sizeof(msg));
	assert_one_clean_line(msg);
	ck_assert_ptr_nonnull(strstr(msg, "\\x1b[2J"));
	ck_assert_ptr_nonnull(strstr(msg, "\\xc2\\x9b"));
	ck_assert_ptr_nonnull(strstr(msg, "(mortem info 20261208T000000.000000Z-abcdef01-42)"));
	journal_format(rec, "not stored: \x1b[31mdisk\nfull", msg, sizeof(msg));
	assert_one_clean_line(msg);
	ck_assert_ptr_nonnull(strstr(msg, "disk\\x0afull"));
	json_object_put(rec);
}
END_TEST

START_TEST(test_plain)
{
	json_object *rec = hostile_record();
	char msg[768];

	json_object_object_add(rec, "comm", json_object_new_string("nginx"));
	json_object_object_add(rec, "slogan", json_object_new_string("SIGSEGV at NULL in main"));
	journal_format(rec, NULL, msg, sizeof(msg));
	ck_assert_str_eq(msg, "process 42 (nginx) of user 1001 dumped core: SIGSEGV at NULL in main [core stored] "
			      "(mortem info 20261208T000000.000000Z-abcdef01-42)");
	/* A short buffer cuts, never overflows. */
	journal_format(rec, NULL, msg, 10);
	ck_assert_str_eq(msg, "process 4");
	json_object_put(rec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_hostile_names_escaped);
	tcase_add_test(tc, test_plain);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
