/* show: the text forms of a record — the folded stacks and the info page —
 * on a record built here, compared line by line. */
#include <stdio.h>
#include <string.h>

#include "cli/show.h"
#include "testutil.h"

static json_object *frame(const char *fn, const char *mod, long long off)
{
	json_object *f = json_object_new_object();
	json_object_object_add(f, "pc", json_object_new_string("0x1000"));
	json_object_object_add(f, "function", fn ? json_object_new_string(fn) : NULL);
	json_object_object_add(f, "offset", fn ? json_object_new_int(4) : NULL);
	json_object_object_add(f, "module", json_object_new_string(mod));
	json_object_object_add(f, "module_offset", json_object_new_int64(off));
	json_object_object_add(f, "file", NULL);
	json_object_object_add(f, "line", NULL);
	json_object_object_add(f, "inlined", json_object_new_boolean(false));
	return f;
}

static json_object *thread(int tid, bool crashed, const char *const *fns, size_t n)
{
	json_object *t = json_object_new_object(), *fr = json_object_new_array();
	json_object_object_add(t, "tid", json_object_new_int(tid));
	json_object_object_add(t, "name", tid == 7 ? json_object_new_string("evil\033[2Jname") : NULL);
	json_object_object_add(t, "crashed", json_object_new_boolean(crashed));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(fr, frame(fns[i], "/usr/bin/app", 0x100 + (long long)i));
	json_object_object_add(t, "frames", fr);
	return t;
}

static json_object *record(void)
{
	static const char *const crash[] = { "read_field", "parse_header", "main" };
	static const char *const waitx[] = { "pause", "wait_x", "start_thread" };
	static const char *const waity[] = { "pause", "wait_y", "start_thread" };
	json_object *rec = json_object_new_object(), *th = json_object_new_array();
	json_object_object_add(rec, "slogan", json_object_new_string("SIGSEGV (SEGV_MAPERR) at 0x0 in read_field()"));
	json_object_array_add(th, thread(1, true, crash, 3));
	json_object_array_add(th, thread(2, false, waity, 3));
	for (int i = 3; i < 7; i++)
		json_object_array_add(th, thread(i, false, waitx, 3));
	json_object_array_add(th, thread(7, false, waity, 3));
	json_object_object_add(rec, "threads", th);
	return rec;
}

static char *render_buf;
static size_t render_len;

static char *render(json_object *rec, bool all, size_t *groups)
{
	FILE *f = open_memstream(&render_buf, &render_len);
	*groups = show_stacks(f, rec, all);
	fclose(f);
	return render_buf;
}

START_TEST(test_stacks_fold_most_frequent_first)
{
	json_object *rec = record();
	size_t groups;
	char *out = render(rec, false, &groups);
	ck_assert_uint_eq(groups, 3); /* the crashing thread, 4 × wait_x, 2 × wait_y */
	char *crash = strstr(out, "Thread 1 — crashed:");
	char *x = strstr(out, "  4 threads: 3 4 5 6\n");
	char *y = strstr(out, "  2 threads: 2 7\n");
	ck_assert_msg(crash && x && y, "unexpected output:\n%s", out);
	ck_assert(crash < x);
	ck_assert(x < y);
	ck_assert_ptr_nonnull(strstr(x, "wait_x+0x4 (app+0x101)"));
	ck_assert_ptr_nonnull(strstr(out, "SIGSEGV (SEGV_MAPERR) at 0x0 in read_field()\n"));
	free(out);
	json_object_put(rec);
}
END_TEST

START_TEST(test_stacks_all_and_escaping)
{
	json_object *rec = record();
	size_t groups;
	char *out = render(rec, true, &groups);
	ck_assert_uint_eq(groups, 7);
	ck_assert_ptr_nonnull(strstr(out, "Thread 6:"));
	/* a thread name from the process cannot reach the terminal raw */
	ck_assert_ptr_null(strchr(out, '\033'));
	ck_assert_ptr_nonnull(strstr(out, "Thread 7 (evil\\x1b[2Jname):"));
	free(out);
	json_object_put(rec);
}
END_TEST

START_TEST(test_frame_without_symbol)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	json_object *fr = frame(NULL, "/lib/libx.so.1", 0x1a2b);
	show_frame(f, 3, fr);
	fclose(f);
	ck_assert_str_eq(buf, "    #3              0x1000 ?? (libx.so.1+0x1a2b)\n");
	free(buf);
	json_object_put(fr);
}
END_TEST

START_TEST(test_info_opens_with_the_verdict)
{
	json_object *rec = record();
	char *buf = NULL;
	size_t len = 0;
	json_object_object_add(rec, "signal", json_object_new_int(11));
	json_object_object_add(rec, "signal_name", json_object_new_string("SIGSEGV"));
	FILE *f = open_memstream(&buf, &len);
	show_info(f, rec);
	fclose(f);
	ck_assert_msg(strncmp(buf, "SIGSEGV (SEGV_MAPERR) at 0x0 in read_field()\n\n", 46) == 0, "%s", buf);
	ck_assert_ptr_nonnull(strstr(buf, "Stacks (7 threads):"));
	ck_assert(strstr(buf, "Signal: 11 (SIGSEGV)") && strstr(buf, "Signal: 11 (SIGSEGV)") < strstr(buf, "Stacks"));
	free(buf);
	json_object_put(rec);
}
END_TEST

/* mortem analyze's line, and the info page of a re-analysed crash. */
START_TEST(test_analysis_line)
{
	json_object *rec = record(), *an = json_object_new_object();
	char *buf = NULL;
	size_t len = 0;
	json_object_object_add(rec, "id", json_object_new_string("20250101T000000.000000Z-0000abcd-42"));
	json_object_object_add(an, "status", json_object_new_string("ok"));
	json_object_object_add(an, "error", NULL);
	json_object_object_add(an, "reanalyzed_usec", json_object_new_int64(1735689600000000));
	json_object_object_add(rec, "analysis", an);
	FILE *f = open_memstream(&buf, &len);
	show_analysis(f, rec);
	fclose(f);
	ck_assert_str_eq(buf, "analysed 20250101T000000.000000Z-0000abcd-42: ok (7 threads)\n");
	free(buf);
	f = open_memstream(&buf, &len);
	show_info(f, rec);
	fclose(f);
	ck_assert_msg(strstr(buf, "   Re-analysed: 2025-01-01 ") || strstr(buf, "   Re-analysed: 2024-12-31 "), "%s", buf);
	ck_assert_ptr_null(strstr(buf, "Analysis:"));
	free(buf);

	/* failed: the reason, its control characters escaped; no stacks */
	json_object_object_add(an, "status", json_object_new_string("failed"));
	json_object_object_add(an, "error", json_object_new_string("unwind: bad \033[2J module"));
	json_object_object_del(rec, "threads");
	f = open_memstream(&buf, &len);
	show_analysis(f, rec);
	fclose(f);
	ck_assert_str_eq(buf, "analysed 20250101T000000.000000Z-0000abcd-42: failed (unwind: bad \\x1b[2J module)\n");
	free(buf);
	/* stacks: none, why (escaped), and the way to try again */
	f = open_memstream(&buf, &len);
	ck_assert_uint_eq(show_stacks(f, rec, false), 0);
	fclose(f);
	ck_assert_msg(strstr(buf, "\nno stacks: analysis failed: unwind: bad \\x1b[2J module\n"
				  "'mortem analyze 20250101T000000.000000Z-0000abcd-42' runs the analysis again\n"),
		      "%s", buf);
	ck_assert_ptr_null(strchr(buf, '\033'));
	free(buf);
	json_object_put(rec);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("show");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_stacks_fold_most_frequent_first);
	tcase_add_test(tc, test_stacks_all_and_escaping);
	tcase_add_test(tc, test_frame_without_symbol);
	tcase_add_test(tc, test_info_opens_with_the_verdict);
	tcase_add_test(tc, test_analysis_line);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
