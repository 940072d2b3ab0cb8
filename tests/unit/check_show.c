/* show: the text forms of a record — the folded stacks and the info page —
 * on a record built here, compared line by line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/show.h"
#include "store/record.h"
#include "cli/term.h"
#include "testutil.h"

/* A name a user can give the binary it crashes: clear the screen, set the
 * title, a red forged line of its own, a C1 CSI raw and in UTF-8, a bidi
 * override, a carriage return, DEL and an overlong NUL. */
#define HOSTILE "/tmp/\033[2J\033]0;owned\a\033[1;31mFAKE\033[0m\nTIME x\xc2\x9b\xe2\x80\xae\r\x9b\x7f\xc0\x80"

/* What every text form must hold to (text.h): no C0 byte but the line's own
 * '\n', no DEL, no C1 (a byte 0x80-0x9f after an ASCII byte is one alone;
 * C2 80-9F the UTF-8 form), no bidi override or separator, and lines lines. */
static void assert_clean(const char *out, size_t lines)
{
	const unsigned char *u = (const unsigned char *)out;
	size_t nl = 0;
	for (size_t i = 0; u[i]; i++) {
		ck_assert_msg(u[i] >= 0x20 || u[i] == '\n', "byte 0x%02x at %zu:\n%s", u[i], i, out);
		ck_assert_msg(u[i] != 0x7f, "DEL at %zu:\n%s", i, out);
		ck_assert_msg(!(u[i] >= 0x80 && u[i] <= 0x9f && (i == 0 || u[i - 1] < 0x80)), "C1 byte at %zu:\n%s", i, out);
		ck_assert_msg(!(u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f), "UTF-8 C1 at %zu:\n%s", i, out);
		ck_assert_msg(!(u[i] == 0xe2 && ((u[i + 1] == 0x80 && u[i + 2] >= 0xa8 && u[i + 2] <= 0xae) ||
						(u[i + 1] == 0x81 && u[i + 2] >= 0xa6 && u[i + 2] <= 0xa9))),
			      "bidi control or separator at %zu:\n%s", i, out);
		nl += u[i] == '\n';
	}
	ck_assert_msg(nl == lines, "%zu lines, expected %zu:\n%s", nl, lines, out);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

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

/* A record whose every string is the process's choice, the same strings
 * benign ("x") or hostile. */
static json_object *hostile_record(const char *v)
{
	static const char *const fns[] = { "f1", "f2" };
	json_object *rec = json_object_new_object(), *th = json_object_new_array(), *mods = json_object_new_array();
	json_object *m = json_object_new_object(), *core = json_object_new_object(), *proc = json_object_new_object();
	json_object *an = json_object_new_object(), *errs = json_object_new_array(), *si = json_object_new_object();
	static const char *const keys[] = { "slogan", "comm", "cmdline", "exe", "unit", "slice", "hostname", "id",
					    "signature", "signal_name" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		json_object_object_add(rec, keys[i], json_object_new_string(v));
	json_object_object_add(rec, "signal", json_object_new_int(11));
	json_object_object_add(si, "code_name", json_object_new_string(v));
	json_object_object_add(si, "addr", json_object_new_string(v));
	json_object_object_add(si, "fault_region", json_object_new_string(v));
	json_object_object_add(si, "fault_module", json_object_new_string(v));
	json_object_object_add(si, "fault_offset", json_object_new_string(v));
	json_object_object_add(rec, "siginfo", si);
	json_object_object_add(proc, "cwd", json_object_new_string(v));
	json_object_object_add(rec, "proc", proc);
	json_object_object_add(core, "status", json_object_new_string(v));
	json_object_object_add(core, "reason", json_object_new_string(v));
	json_object_object_add(core, "path", json_object_new_string(v));
	json_object_object_add(rec, "core", core);
	json_object_object_add(an, "status", json_object_new_string(v));
	json_object_object_add(an, "error", json_object_new_string(v));
	json_object_object_add(rec, "analysis", an);
	json_object_array_add(errs, json_object_new_string(v));
	json_object_object_add(rec, "errors", errs);
	for (int t = 1; t <= 3; t++) {
		json_object *tt = thread(t, t == 1, fns, 2), *frs = json_object_object_get(tt, "frames");
		json_object_object_add(tt, "name", json_object_new_string(v));
		json_object_object_add(tt, "error", json_object_new_string(v));
		for (size_t i = 0; i < json_object_array_length(frs); i++) {
			json_object *fr = json_object_array_get_idx(frs, i);
			json_object_object_add(fr, "pc", json_object_new_string(v));
			json_object_object_add(fr, "function", json_object_new_string(v));
			json_object_object_add(fr, "module", json_object_new_string(v));
			json_object_object_add(fr, "file", json_object_new_string(v));
		}
		json_object_array_add(th, tt);
	}
	json_object_object_add(rec, "threads", th);
	static const char *const mkeys[] = { "start", "end", "build_id", "path", "on_disk" };
	for (size_t i = 0; i < sizeof(mkeys) / sizeof(mkeys[0]); i++)
		json_object_object_add(m, mkeys[i], json_object_new_string(v));
	json_object_array_add(mods, m);
	json_object_object_add(rec, "modules", mods);
	return rec;
}

static char *show_to_string(json_object *rec, int what)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (what == 0)
		show_info(f, rec);
	else if (what == 1)
		(void)show_stacks(f, rec, false);
	else if (what == 2)
		(void)show_stacks(f, rec, true);
	else
		show_analysis(f, rec);
	fclose(f);
	return buf;
}

/* info, stacks (folded and --all), analyze's line, and stacks without
 * threads: the hostile record has as many lines as the benign one, and not
 * one byte that drives a terminal. */
START_TEST(test_hostile_record)
{
	json_object *good = hostile_record("x"), *bad = hostile_record(HOSTILE);
	for (int pass = 0; pass < 2; pass++) {
		for (int what = 0; what < 4; what++) {
			char *g = show_to_string(good, what), *b = show_to_string(bad, what);
			assert_clean(b, count_lines(g));
			ck_assert_ptr_nonnull(strstr(b, "\\x1b[2J"));
			free(g);
			free(b);
		}
		json_object_object_del(good, "threads"); /* then: "no stacks: analysis ..." */
		json_object_object_del(bad, "threads");
	}
	json_object_put(good);
	json_object_put(bad);
}
END_TEST

/* mortem list's lines, stored and pending: one line each, whatever the
 * executable, command name, signature, core status or id hold. */
START_TEST(test_hostile_list_rows)
{
	char h[] = HOSTILE, dash[] = "";
	struct index_row w = { .id = h, .time_usec = 1735689600000000, .pid = 42, .uid = 1000, .signal = 11,
			       .comm = h, .exe = h, .core_status = h, .signature = h };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	list_print_row(f, &w, 0);
	w.exe = dash; /* no executable: the command name */
	w.core_status = NULL;
	list_print_row(f, &w, 0);
	json_object *note = json_object_new_object();
	json_object_object_add(note, "id", json_object_new_string(HOSTILE));
	json_object_object_add(note, "exe", json_object_new_string(HOSTILE));
	json_object_object_add(note, "signal_name", json_object_new_string(HOSTILE));
	json_object_object_add(note, "pid", json_object_new_int(42));
	list_print_pending(f, note, 0);
	json_object_object_add(note, "exe", json_object_new_string(""));
	json_object_object_add(note, "comm", json_object_new_string(HOSTILE));
	list_print_pending(f, note, 0);
	fclose(f);
	assert_clean(buf, 4);
	ck_assert_ptr_nonnull(strstr(buf, "/tmp/\\x1b[2J\\x1b]0;owned\\x07\\x1b[1;31mFAKE\\x1b[0m\\x0aTIME x\\xc2\\x9b"
					  "\\xe2\\x80\\xae\\x0d\\x9b\\x7f\\xc0\\x80"));
	/* a benign row is as it always was */
	char id[] = "20250101T000000.000000Z-0000abcd-42", exe[] = "/usr/bin/app", st[] = "stored";
	struct index_row ok = { .id = id, .pid = 42, .uid = 0, .signal = 11, .exe = exe, .core_status = st,
				.stored_size = 2048 };
	free(buf);
	f = open_memstream(&buf, &len);
	list_print_row(f, &ok, 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "      42     0 SIGSEGV /usr/bin/app                                "
					  "2.0K -                 20250101T000000.000000Z-0000abcd-42\n"));
	free(buf);
	json_object_put(note);
}
END_TEST

/* The info page of rec, as a string (caller frees). */
static char *info_of(json_object *rec)
{
	return show_to_string(rec, 0);
}

static json_object *core_obj(const char *status, const char *reason, const char *path, long long size,
			     long long stored, long long expected)
{
	json_object *core = json_object_new_object();
	json_object_object_add(core, "status", json_object_new_string(status));
	if (reason)
		json_object_object_add(core, "reason", json_object_new_string(reason));
	json_object_object_add(core, "path", path ? json_object_new_string(path) : NULL);
	json_object_object_add(core, "size", json_object_new_int64(size));
	json_object_object_add(core, "stored_size", json_object_new_int64(stored));
	if (expected)
		json_object_object_add(core, "expected_size", json_object_new_int64(expected));
	return core;
}

/* A core (and minicore) deleted by hand: "missing" in info, "present": false
 * for --json, the status kept as recorded; while the files are there, as
 * before; a record of another machine (no STORE/<id>.json beside the file)
 * is not judged by this machine's disk. */
START_TEST(test_missing_core)
{
	char dir[] = "/tmp/check_show.XXXXXX", p[256];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	const char *id = "20250101T000000.000000Z-0000abcd-42";
	char core[300], mini[300], recp[300];
	snprintf(core, sizeof(core), "%s/%s.core.zst", dir, id);
	snprintf(mini, sizeof(mini), "%s/%s.mini", dir, id);
	snprintf(recp, sizeof(recp), "%s/%s.json", dir, id);
	FILE *f;
	ck_assert_ptr_nonnull(f = fopen(core, "w"));
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(mini, "w"));
	fclose(f);
	ck_assert_ptr_nonnull(f = fopen(recp, "w"));
	fclose(f);

	json_object *rec = json_object_new_object(), *m = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "core", core_obj("stored", NULL, core, 122880, 52224, 0));
	json_object_object_add(m, "path", json_object_new_string(mini));
	json_object_object_add(m, "size", json_object_new_int64(4096));
	json_object_object_add(rec, "minicore", m);
	char *out = info_of(rec);
	ck_assert_msg(strstr(out, "          Core: stored, 51.0K stored of 120.0K\n"), "%s", out);
	ck_assert_msg(strstr(out, "      Minicore: 4.0K, 0 threads, 0 stacks kept\n"), "%s", out);
	ck_assert_ptr_null(strstr(out, "missing"));
	free(out);
	ck_assert(!json_object_object_get_ex(record_obj(rec, "core"), "present", NULL));

	/* the store's index row: its size while there */
	struct index_row w = { .id = (char *)id, .pid = 42, .signal = 11, .core_status = (char *)"stored",
			       .core_path = core, .stored_size = 52224 };
	char *buf = NULL;
	size_t len = 0;
	f = open_memstream(&buf, &len);
	list_print_row(f, &w, 0);
	fclose(f);
	ck_assert_msg(strstr(buf, " 51.0K -"), "%s", buf);
	free(buf);

	ck_assert_int_eq(unlink(core), 0);
	ck_assert_int_eq(unlink(mini), 0);
	out = info_of(rec);
	ck_assert_msg(strstr(out, "          Core: missing (recorded stored, 51.0K stored of 120.0K; the file is gone)\n"),
		      "%s", out);
	ck_assert_msg(strstr(out, "      Minicore: missing (4.0K written, the file is gone)\n"), "%s", out);
	free(out);
	/* --json: the status as recorded, present false */
	ck_assert_str_eq(record_str(record_obj(rec, "core"), "status", ""), "stored");
	ck_assert(!json_object_get_boolean(json_object_object_get(record_obj(rec, "core"), "present")));
	ck_assert(json_object_object_get_ex(record_obj(rec, "core"), "present", NULL));
	ck_assert(json_object_object_get_ex(m, "present", NULL) && !json_object_get_boolean(json_object_object_get(m, "present")));
	f = open_memstream(&buf, &len);
	list_print_row(f, &w, 0);
	fclose(f);
	ck_assert_msg(strstr(buf, " missing -"), "%s", buf);
	free(buf);

	/* another machine's record: its paths say nothing here */
	json_object *far = json_object_new_object();
	json_object_object_add(far, "id", json_object_new_string("20250101T000000.000000Z-0000abcd-43"));
	snprintf(p, sizeof(p), "%s/20250101T000000.000000Z-0000abcd-43.core.zst", dir);
	json_object_object_add(far, "core", core_obj("stored", NULL, p, 122880, 52224, 0));
	out = info_of(far);
	ck_assert_msg(strstr(out, "          Core: stored, 51.0K stored of 120.0K\n"), "%s", out);
	free(out);
	ck_assert(!json_object_object_get_ex(record_obj(far, "core"), "present", NULL));
	json_object_put(far);
	json_object_put(rec);
	unlink(recp);
	rmdir(dir);
}
END_TEST

/* The sizes say what is true: a skipped core shows what the kernel sent and
 * no "stored" size; an error what was received of what was announced; a
 * kept error (not an ELF core) what is stored. */
START_TEST(test_core_sizes)
{
	json_object *rec = json_object_new_object();
	json_object_object_add(rec, "core", core_obj("skipped", "rate limit: RateLimit=1/1h", NULL, 5033165, 663962, 0));
	char *out = info_of(rec);
	ck_assert_msg(strstr(out, "          Core: skipped (rate limit: RateLimit=1/1h), 4.8M\n"), "%s", out);
	ck_assert_ptr_null(strstr(out, "stored"));
	ck_assert_ptr_null(strstr(out, "Core Reason"));
	free(out);

	json_object_object_add(rec, "core", core_obj("error", "writing the core failed: No space left on device", NULL,
						      6291456, 0, 8618323));
	out = info_of(rec);
	ck_assert_msg(strstr(out, "          Core: error (writing the core failed: No space left on device), 6.0M "
				  "received of 8.2M\n"), "%s", out);
	ck_assert_ptr_null(strstr(out, "stored"));
	free(out);

	json_object_object_add(rec, "core", core_obj("too-large", "core larger than MaxCoreSize=1048576: reading stopped",
						      NULL, 1048576, 0, 0));
	out = info_of(rec);
	ck_assert_msg(strstr(out, "          Core: too-large (core larger than MaxCoreSize=1048576: reading stopped), "
				  "1.0M received\n"), "%s", out);
	free(out);

	json_object_object_add(rec, "core", core_obj("lost", "the collector stopped", NULL, 0, 0, 0));
	out = info_of(rec);
	ck_assert_msg(strstr(out, "          Core: lost (the collector stopped)\n"), "%s", out);
	free(out);
	json_object_put(rec);
}
END_TEST

/* A crash in a pid namespace of its own: the core's tids and the sender's pid
 * are the namespace's; shown as the host's where the capture mapped them,
 * marked where it could not; a sender uid through the user namespace's map. */
START_TEST(test_namespace_ids)
{
	static const char *const fns[] = { "main" };
	json_object *rec = json_object_new_object(), *proc = json_object_new_object();
	json_object *pidns = json_object_new_object(), *pt = json_object_new_array(), *th = json_object_new_array();
	json_object *si = json_object_new_object();
	json_object_object_add(rec, "pid", json_object_new_int(5002));
	json_object_object_add(rec, "uid", json_object_new_int(0));
	json_object_object_add(pidns, "pid", json_object_new_int(2));
	json_object_object_add(pidns, "depth", json_object_new_int(2));
	json_object_object_add(pidns, "init_pid", json_object_new_int(5001));
	json_object_object_add(proc, "pid_ns", pidns);
	for (int i = 0; i < 2; i++) {
		json_object *t = json_object_new_object();
		json_object_object_add(t, "tid", json_object_new_int(5002 + 7 * i));
		json_object_object_add(t, "ns_tid", json_object_new_int(2 + i));
		if (i == 0)
			json_object_object_add(t, "comm", json_object_new_string("sleep"));
		json_object_array_add(pt, t);
	}
	json_object_object_add(proc, "threads", pt);
	json_object_object_add(rec, "proc", proc);
	json_object_array_add(th, thread(2, true, fns, 1));
	json_object_array_add(th, thread(3, false, fns, 1));
	json_object_array_add(th, thread(4, false, fns, 1)); /* not in the capture's map */
	json_object_object_add(rec, "threads", th);
	json_object_object_add(si, "sender_pid", json_object_new_int(1));
	json_object_object_add(si, "sender_uid", json_object_new_int(0));
	json_object_object_add(rec, "siginfo", si);
	json_object_object_add(rec, "signal", json_object_new_int(11));

	char *out = info_of(rec);
	ck_assert_msg(strstr(out, "       Sent By: pid 5001 (its pid namespace's init: pid 1 in its pid namespace), uid 0\n"),
		      "%s", out);
	ck_assert_msg(strstr(out, "  Thread 5002 (sleep) [2 in its pid namespace] — crashed:\n"), "%s", out);
	ck_assert_msg(strstr(out, "  Thread 5009 [3 in its pid namespace]:\n"), "%s", out);
	ck_assert_msg(strstr(out, "  Thread 4 [in the process's pid namespace]:\n"), "%s", out);
	free(out);
	size_t groups;
	out = render(rec, false, &groups);
	ck_assert_msg(strstr(out, "  2 threads: 5009 ns:4\n"), "%s", out);
	free(out);

	/* a sender the capture cannot place: marked, not shown as a host pid */
	json_object_object_del(pidns, "init_pid");
	out = info_of(rec);
	ck_assert_msg(strstr(out, "       Sent By: pid 1 (in the process's pid namespace), uid 0\n"), "%s", out);
	free(out);
	/* from outside the namespace: the kernel says pid 0 */
	json_object_object_add(si, "sender_pid", json_object_new_int(0));
	out = info_of(rec);
	ck_assert_msg(strstr(out, "       Sent By: a process outside its pid namespace (pid 0 there), uid 0\n"), "%s", out);
	free(out);
	/* itself (the core's own pid): the host's pid and uid */
	json_object_object_add(si, "sender_pid", json_object_new_int(2));
	json_object_object_add(si, "sender_self", json_object_new_boolean(true));
	out = info_of(rec);
	ck_assert_msg(strstr(out, "       Sent By: pid 5002 (itself: pid 2 in its pid namespace), uid 0\n"), "%s", out);
	free(out);
	/* a user namespace: 1000 inside is 100000+1000 here; 70000 unmapped */
	json_object *map = json_object_new_array(), *e = json_object_new_array();
	json_object_array_add(e, json_object_new_int(0));
	json_object_array_add(e, json_object_new_int(100000));
	json_object_array_add(e, json_object_new_int(65536));
	json_object_array_add(map, e);
	json_object_object_add(proc, "uid_map", map);
	json_object_object_add(si, "sender_self", json_object_new_boolean(false));
	json_object_object_add(si, "sender_pid", json_object_new_int(3));
	json_object_object_add(si, "sender_uid", json_object_new_int(1000));
	out = info_of(rec);
	ck_assert_msg(strstr(out, "       Sent By: pid 5009 (pid 3 in its pid namespace), uid 101000 (1000 in its user namespace)\n"),
		      "%s", out);
	free(out);
	json_object_object_add(si, "sender_uid", json_object_new_int(70000));
	out = info_of(rec);
	ck_assert_msg(strstr(out, ", uid 70000 (in the process's user namespace)\n"), "%s", out);
	free(out);
	/* no namespace of its own: as the core says, itself named */
	json_object_object_del(proc, "pid_ns");
	json_object_object_del(proc, "uid_map");
	json_object_object_add(si, "sender_pid", json_object_new_int(5002));
	json_object_object_add(si, "sender_uid", json_object_new_int(0));
	json_object_object_add(si, "sender_self", json_object_new_boolean(true));
	out = info_of(rec);
	ck_assert_msg(strstr(out, "       Sent By: pid 5002 (itself), uid 0\n"), "%s", out);
	ck_assert_msg(strstr(out, "  Thread 2 — crashed:\n"), "%s", out);
	free(out);
	json_object_put(rec);
}
END_TEST

/* Paths shortened in the middle for a terminal: "…" once, the width kept,
 * never inside an escape; short ones whole. */
START_TEST(test_ellipsize)
{
	size_t cols = 0;
	char *e = term_ellipsize("/usr/bin/app", 20, &cols);
	ck_assert_str_eq(e, "/usr/bin/app");
	ck_assert_uint_eq(cols, 12);
	free(e);
	e = term_ellipsize("/usr/lib/x86_64-linux-gnu/libexec/very-long-daemon-name", 21, &cols);
	ck_assert_str_eq(e, "/usr/lib/x…aemon-name");
	ck_assert_uint_eq(cols, 21);
	free(e);
	e = term_ellipsize("/opt/abcdefghij/k", 10, &cols);
	ck_assert_uint_eq(cols, 10);
	ck_assert_str_eq(e, "/opt/…ij/k");
	free(e);
	/* escapes are four columns and whole: never "\x1" or "x1b" */
	e = term_ellipsize("\033\033\033\033\033\033", 11, &cols);
	ck_assert_str_eq(e, "\\x1b…\\x1b");
	ck_assert_uint_eq(cols, 9);
	free(e);
	/* UTF-8 characters are not cut either */
	e = term_ellipsize("/ééééééééééé/ü", 7, &cols);
	ck_assert_str_eq(e, "/éé…é/ü");
	free(e);
	e = term_ellipsize(HOSTILE, 30, &cols);
	ck_assert_uint_le(cols, 30);
	assert_clean(e, 0);
	for (const char *p = e; (p = strstr(p, "\\x")); p += 2)
		ck_assert_msg(strspn(p + 2, "0123456789abcdef") >= 2, "a cut escape in %s", e);
	free(e);
}
END_TEST

/* list on a terminal: a long executable is shortened and the columns after
 * it stay where a short one leaves them. */
START_TEST(test_list_columns)
{
	char id[] = "20250101T000000.000000Z-0000abcd-42", st[] = "stored";
	char shortexe[] = "/usr/bin/app", longexe[] = "/usr/lib/x86_64-linux-gnu/libexec/some/very/deep/tree/daemon";
	struct index_row w = { .id = id, .pid = 42, .uid = 0, .signal = 11, .exe = shortexe, .core_status = st,
			       .stored_size = 2048 };
	char *buf = NULL;
	size_t len = 0, exe_cols = list_exe_cols(140);
	ck_assert_uint_gt(exe_cols, 11);
	ck_assert_uint_lt(exe_cols, 40);
	FILE *f = open_memstream(&buf, &len);
	list_print_row(f, &w, exe_cols);
	w.exe = longexe;
	list_print_row(f, &w, exe_cols);
	list_print_row(f, &w, 0);
	fclose(f);
	char *l2 = strchr(buf, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
	l3[-1] = '\0'; /* line 2 alone */
	ck_assert_ptr_nonnull(strstr(l2, "…"));
	ck_assert_ptr_null(strstr(l2, longexe)); /* whole only unsized */
	ck_assert_ptr_nonnull(strstr(l3, longexe));
	/* the id starts at the same column (the "…" is three bytes, one column) */
	ck_assert_int_eq((int)(strstr(buf, id) - buf), (int)(strstr(l2, id) - l2) - 2);
	/* line 1 fits 140 columns; "…" is 3 bytes */
	ck_assert_uint_eq(strlen(l2) - 2, (size_t)(l2 - buf) - 1);
	ck_assert_uint_le((size_t)(l2 - buf) - 1, 140);
	free(buf);
	ck_assert_uint_eq(list_exe_cols(0), 0);
	ck_assert_uint_ge(list_exe_cols(20), 12);
}
END_TEST

/* FIELD=VALUE: coredumpctl's names and mortem's, OR within a field, AND
 * across fields, signals by number or name. */
START_TEST(test_match_terms)
{
	char id[] = "20250101T000000.000000Z-0000abcd-42", exe[] = "/usr/bin/app", comm[] = "app";
	struct index_row w = { .id = id, .pid = 42, .uid = 1000, .gid = 100, .signal = 11, .exe = exe, .comm = comm };
	struct match_term t[4];
	const char *why;
	ck_assert(match_is_term("COREDUMP_PID=42"));
	ck_assert(!match_is_term("/usr/bin/a=b"));
	ck_assert(!match_is_term("=x"));
	ck_assert_int_eq(match_parse("COREDUMP_PID=42", &t[0], &why), 0);
	ck_assert(match_row(&w, t, 1));
	ck_assert_int_eq(match_parse("pid=43", &t[1], &why), 0);
	ck_assert(match_row(&w, t, 2));      /* 42 or 43 */
	ck_assert(!match_row(&w, t + 1, 1)); /* 43 */
	ck_assert_int_eq(match_parse("uid=0", &t[2], &why), 0);
	ck_assert(!match_row(&w, t, 3)); /* and uid 0 */
	ck_assert_int_eq(match_parse("COREDUMP_UID=1000", &t[2], &why), 0);
	ck_assert(match_row(&w, t, 3));
	ck_assert_int_eq(match_parse("signal=SIGSEGV", &t[3], &why), 0);
	ck_assert(match_row(&w, t, 4));
	ck_assert_int_eq(match_parse("COREDUMP_SIGNAL_NAME=SIGABRT", &t[3], &why), 0);
	ck_assert(!match_row(&w, t, 4));
	ck_assert_int_eq(match_parse("COREDUMP_EXE=/usr/bin/app", &t[0], &why), 0);
	ck_assert(match_row(&w, t, 1));
	struct index_filter f = { 0 };
	match_index_filter(t, 1, &f);
	ck_assert_str_eq(f.exe, "/usr/bin/app");
	ck_assert_ptr_null(f.match);
	ck_assert_int_eq(match_parse("comm=ap", &t[0], &why), 0);
	ck_assert(!match_row(&w, t, 1)); /* exact, not a prefix */
	f = (struct index_filter){ 0 };
	match_index_filter(t, 1, &f);
	ck_assert_ptr_null(f.exe);
	ck_assert_ptr_null(f.match);
	ck_assert(!f.by_uid);
	/* one uid is a column; two are ORed after the query */
	ck_assert_int_eq(match_parse("uid=1000", &t[0], &why), 0);
	ck_assert_int_eq(match_parse("pid=42", &t[1], &why), 0);
	f = (struct index_filter){ 0 };
	match_index_filter(t, 2, &f);
	ck_assert(f.by_uid && f.uid == 1000);
	ck_assert_str_eq(f.match, "42");
	ck_assert_int_eq(match_parse("uid=0", &t[1], &why), 0);
	f = (struct index_filter){ 0 };
	match_index_filter(t, 2, &f);
	ck_assert(!f.by_uid);
	ck_assert_int_eq(match_parse("COREDUMP_FOO=1", &t[0], &why), -EINVAL);
	ck_assert_int_eq(match_parse("pid=x", &t[0], &why), -ERANGE);
	ck_assert_int_eq(match_parse("signal=SIGNOPE", &t[0], &why), -ERANGE);
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
	tcase_add_test(tc, test_hostile_record);
	tcase_add_test(tc, test_hostile_list_rows);
	tcase_add_test(tc, test_ellipsize);
	tcase_add_test(tc, test_list_columns);
	tcase_add_test(tc, test_match_terms);
	tcase_add_test(tc, test_missing_core);
	tcase_add_test(tc, test_core_sizes);
	tcase_add_test(tc, test_namespace_ids);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
