/* usage.c: grouping crashes by signature and executable, the store scan, and
 * the tables and JSON printed from them, escaped for a terminal (the cut of
 * verdicts is text_truncate, check_text.c). */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "testutil.h"
#include "store/usage.h"
#include "base/util.h"

#define SEC INT64_C(1000000)
#define T0 (INT64_C(1800000000) * SEC)

/* A crash loop of /bin/a (signature s1, one without a signature), a second
 * signature of /bin/a, and /bin/b without any. Not in time order. */
static const struct usage_item items[] = {
	{ .id = "i3", .exe = "/bin/a", .signature = "s1", .slogan = "loop v2", .time_usec = T0 + 3 * SEC,
	  .has_core = false, .bytes = 10 },
	{ .id = "i1", .exe = "/bin/a", .signature = "s1", .slogan = "loop v1", .time_usec = T0 + 1 * SEC,
	  .has_core = true, .bytes = 1000 },
	{ .id = "i5", .exe = "/bin/b", .signature = NULL, .slogan = NULL, .time_usec = T0 + 5 * SEC,
	  .has_core = true, .bytes = 50 },
	{ .id = "i2", .exe = "/bin/a", .signature = "s1", .slogan = NULL, .time_usec = T0 + 2 * SEC,
	  .has_core = true, .bytes = 100 },
	{ .id = "i4", .exe = "/bin/a", .signature = "s2", .slogan = "other", .time_usec = T0 + 4 * SEC,
	  .has_core = true, .bytes = 5 },
	{ .id = "i6", .exe = "/bin/a", .signature = NULL, .slogan = NULL, .time_usec = T0 + 6 * SEC,
	  .has_core = false, .bytes = 7 },
};
#define N_ITEMS ARRAY_SIZE(items)

static const char *member_ids(const struct usage_group *g, char *buf, size_t len)
{
	buf[0] = '\0';
	for (size_t i = 0; i < g->count; i++) {
		strncat(buf, items[g->members[i]].id, len - strlen(buf) - 1);
		if (i + 1 < g->count)
			strncat(buf, " ", len - strlen(buf) - 1);
	}
	return buf;
}

START_TEST(test_group_by_signature)
{
	struct usage_group *g = NULL;
	size_t n = 0;
	char b[128];

	ck_assert_int_eq(usage_group(items, N_ITEMS, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g, &n), 0);
	ck_assert_uint_eq(n, 4);
	/* by last crash, oldest first: s1 (3), s2 (4), /bin/b (5), /bin/a unsigned (6) */
	ck_assert_str_eq(g[0].signature, "s1");
	ck_assert_uint_eq(g[0].count, 3);
	ck_assert_uint_eq(g[0].cores, 2);
	ck_assert_uint_eq(g[0].bytes, 1110);
	ck_assert_int_eq(g[0].first_usec, T0 + SEC);
	ck_assert_int_eq(g[0].last_usec, T0 + 3 * SEC);
	ck_assert_str_eq(g[0].slogan, "loop v2");
	ck_assert_str_eq(member_ids(&g[0], b, sizeof(b)), "i1 i2 i3");
	ck_assert_str_eq(g[1].signature, "s2");
	ck_assert_uint_eq(g[1].count, 1);
	/* without a signature: one group per executable, never mixed with a signature */
	ck_assert_ptr_null(g[2].signature);
	ck_assert_str_eq(g[2].exe, "/bin/b");
	ck_assert_ptr_null(g[2].slogan);
	ck_assert_ptr_null(g[3].signature);
	ck_assert_str_eq(g[3].exe, "/bin/a");
	ck_assert_str_eq(member_ids(&g[3], b, sizeof(b)), "i6");
	usage_groups_free(g, n);
}
END_TEST

START_TEST(test_group_by_exe_bytes)
{
	struct usage_group *g = NULL;
	size_t n = 0;
	char b[128];

	ck_assert_int_eq(usage_group(items, N_ITEMS, USAGE_BY_EXE, USAGE_ORDER_BYTES, &g, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(g[0].exe, "/bin/a");
	ck_assert_ptr_null(g[0].signature);
	ck_assert_uint_eq(g[0].count, 5);
	ck_assert_uint_eq(g[0].cores, 3);
	ck_assert_uint_eq(g[0].bytes, 1122);
	ck_assert_str_eq(member_ids(&g[0], b, sizeof(b)), "i1 i2 i3 i4 i6");
	/* the newest crash with a slogan speaks for the group */
	ck_assert_str_eq(g[0].slogan, "other");
	ck_assert_str_eq(g[1].exe, "/bin/b");
	ck_assert_uint_eq(g[1].bytes, 50);
	usage_groups_free(g, n);
}
END_TEST

START_TEST(test_group_edges)
{
	struct usage_group *g = NULL;
	size_t n = 7;
	struct usage_item nul[] = { { .id = "x", .exe = NULL }, { .id = "y", .exe = NULL } };

	ck_assert_int_eq(usage_group(NULL, 0, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g, &n), 0);
	ck_assert_uint_eq(n, 0);
	usage_groups_free(g, n);
	ck_assert_int_eq(usage_group(NULL, 3, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g, &n), -EINVAL);
	ck_assert_int_eq(usage_group(items, 1, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, NULL, &n), -EINVAL);
	ck_assert_int_eq(usage_group(nul, 2, USAGE_BY_EXE, USAGE_ORDER_LAST, &g, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(g[0].count, 2);
	usage_groups_free(g, n);
	usage_groups_free(NULL, 0);
}
END_TEST

START_TEST(test_kind_scan)
{
	char dir[] = "/tmp/check_usage.XXXXXX";
	static const struct { const char *name; size_t bytes; } files[] = {
		{ "a.core.zst", 100 }, { "a.mini", 20 }, { "a.json", 3 },
		{ "b.json", 4 }, { "stray", 1 }, { ".hidden", 1000 },
	};
	struct usage_totals t;
	char p[128], zero[128] = { 0 };

	ck_assert_int_eq(usage_kind_of("x.core.zst"), 0);
	ck_assert_int_eq(usage_kind_of("x.mini"), 1);
	ck_assert_int_eq(usage_kind_of("x.json"), 2);
	ck_assert_int_eq(usage_kind_of(".json"), 3);
	ck_assert_int_eq(usage_kind_of("core.zst"), 3);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i].name);
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write_all(fd, zero, files[i].bytes > sizeof(zero) ? sizeof(zero) : files[i].bytes), 0);
		close(fd);
	}
	snprintf(p, sizeof(p), "%s/subdir.json", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	ck_assert_int_eq(usage_scan(dir, &t), 0);
	ck_assert_uint_eq(t.cores.files, 1);
	ck_assert_uint_eq(t.cores.bytes, 100);
	ck_assert_uint_eq(t.minis.bytes, 20);
	ck_assert_uint_eq(t.records.files, 2);
	ck_assert_uint_eq(t.records.bytes, 7);
	ck_assert_uint_eq(t.other.files, 1);
	ck_assert_uint_eq(t.total, 128);
	ck_assert_uint_eq(usage_file_bytes(dir, "a", ".mini"), 20);
	ck_assert_uint_eq(usage_file_bytes(dir, "nope", ".mini"), 0);
	ck_assert_uint_eq(usage_file_bytes(dir, "subdir", ".json"), 0);
	ck_assert_int_eq(usage_scan("/nonexistent/dir", &t), -ENOENT);
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

/* Run a printer into a memory buffer. */
#define CAPTURE(buf, call)                                                \
	do {                                                              \
		FILE *f_ = fmemopen(buf, sizeof(buf), "w");               \
		ck_assert_ptr_nonnull(f_);                                \
		FILE *f = f_;                                             \
		call;                                                     \
		fclose(f_);                                               \
	} while (0)

START_TEST(test_print_groups)
{
	struct usage_group *g = NULL;
	size_t n = 0;
	char out[8192];
	json_object *j;

	ck_assert_int_eq(usage_group(items, N_ITEMS, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g, &n), 0);
	CAPTURE(out, usage_print_groups(f, items, g, n, false, true, 0));
	j = json_tokener_parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_object_array_length(j), 4);
	json_object *o = json_object_array_get_idx(j, 0);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "signature")), "s1");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(o, "count")), 3);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "first")), "2027-01-15T08:00:01.000000Z");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "last")), "2027-01-15T08:00:03.000000Z");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "exe")), "/bin/a");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "slogan")), "loop v2");
	ck_assert_str_eq(json_object_to_json_string(json_object_object_get(o, "ids")), "[ \"i1\", \"i2\", \"i3\" ]");
	o = json_object_array_get_idx(j, 2);
	ck_assert(json_object_is_type(json_object_object_get(o, "signature"), json_type_null));
	ck_assert(json_object_is_type(json_object_object_get(o, "slogan"), json_type_null));
	json_object_put(j);

	/* text: a header, one line per group; reversed, the newest group first */
	setenv("TZ", "UTC", 1);
	tzset();
	CAPTURE(out, usage_print_groups(f, items, g, n, true, false, 0));
	char *line2 = strchr(out, '\n') + 1;
	ck_assert(strncmp(out, "COUNT FIRST", 11) == 0);
	ck_assert(strncmp(line2, "    1 2027-01-15 08:00:06 UTC 2027-01-15 08:00:06 UTC /bin/a ", 61) == 0);
	ck_assert_ptr_nonnull(strstr(out, "    3 2027-01-15 08:00:01 UTC 2027-01-15 08:00:03 UTC /bin/a"
					  "                                   loop v2\n"));
	/* a narrow terminal still leaves the verdict 10 columns */
	struct usage_item long_item = { .id = "l", .exe = "/x", .slogan = "a very long verdict indeed" };
	struct usage_group *g2 = NULL;
	size_t n2 = 0;
	ck_assert_int_eq(usage_group(&long_item, 1, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g2, &n2), 0);
	CAPTURE(out, usage_print_groups(f, &long_item, g2, n2, false, false, 80));
	ck_assert_ptr_nonnull(strstr(out, " a very ...\n"));
	CAPTURE(out, usage_print_groups(f, &long_item, g2, n2, false, false, 0));
	ck_assert_ptr_nonnull(strstr(out, " a very long verdict indeed\n"));
	usage_groups_free(g2, n2);
	usage_groups_free(g, n);
}
END_TEST

START_TEST(test_print_report)
{
	struct usage_group *ge = NULL, *gs = NULL;
	size_t ne = 0, ns = 0;
	char out[8192];

	ck_assert_int_eq(usage_group(items, N_ITEMS, USAGE_BY_EXE, USAGE_ORDER_BYTES, &ge, &ne), 0);
	ck_assert_int_eq(usage_group(items, N_ITEMS, USAGE_BY_SIGNATURE, USAGE_ORDER_BYTES, &gs, &ns), 0);
	struct usage_report r = {
		.store_dir = "/s", .totals = { .cores = { 3, 1100 }, .minis = { 1, 60 }, .records = { 6, 12 },
					       .total = 1172 },
		.fs_size = 1 << 20, .fs_free = 1000, .max_use = 1024, .keep_free = 2048,
		.by_exe = ge, .n_exe = ne, .by_signature = gs, .n_signature = ns,
	};
	CAPTURE(out, usage_print_report(f, &r, false));
	ck_assert_ptr_nonnull(strstr(out, "Cores:            1.0K      3 files  (1100 bytes)\n"));
	ck_assert_ptr_nonnull(strstr(out, "Minicores:         60B      1 file   (60 bytes)\n"));
	ck_assert_ptr_nonnull(strstr(out, "Total:            1.1K               (1172 bytes)\n"));
	ck_assert_ptr_null(strstr(out, "Other:"));
	ck_assert_ptr_nonnull(strstr(out, "Limits:       MaxUse=1.0K (over), KeepFree=2.0K (under)\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n    5     3     1.0K  /bin/a\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n    3     2     1.0K  s1                /bin/a\n"));
	ck_assert_ptr_nonnull(strstr(out, "\n    1     1      50B  -                 /bin/b\n"));

	CAPTURE(out, usage_print_report(f, &r, true));
	json_object *j = json_tokener_parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(j, "total_bytes")), 1172);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(json_object_object_get(j, "records"), "files")), 6);
	ck_assert_int_eq(json_object_get_int64(json_object_object_get(j, "keep_free")), 2048);
	json_object *be = json_object_object_get(j, "by_exe"), *bs = json_object_object_get(j, "by_signature");
	ck_assert_int_eq(json_object_array_length(be), 2);
	ck_assert_int_eq(json_object_array_length(bs), 4);
	int64_t sum = 0;
	for (size_t i = 0; i < json_object_array_length(bs); i++)
		sum += json_object_get_int64(json_object_object_get(json_object_array_get_idx(bs, i), "bytes"));
	ck_assert_int_eq(sum, 1172);
	json_object_put(j);
	usage_groups_free(ge, ne);
	usage_groups_free(gs, ns);
}
END_TEST

/* The name of a binary a user crashes: clear the screen, set the title, a
 * red forged line of its own, a C1 CSI raw and in UTF-8, a bidi override, a
 * carriage return, DEL. */
#define HOSTILE "/tmp/\033[2J\033]0;owned\a\033[1;31mFAKE\033[0m\nTIME x\xc2\x9b\xe2\x80\xae\r\x9b\x7f"

/* No C0 byte but '\n', no DEL, no C1 (raw after an ASCII byte, or C2 80-9F),
 * no bidi override or separator, and lines lines. */
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

static const struct usage_item hostile_items[] = {
	{ .id = "h1", .exe = HOSTILE, .signature = HOSTILE, .slogan = HOSTILE, .time_usec = T0, .has_core = true,
	  .bytes = 10 },
	{ .id = "h2", .exe = HOSTILE, .signature = NULL, .slogan = HOSTILE, .time_usec = T0 + SEC, .bytes = 20 },
	{ .id = "h3", .exe = "/bin/ok", .signature = "s", .slogan = "fine", .time_usec = T0 + 2 * SEC, .bytes = 30 },
};

/* list --group: a header and one line per group, whatever the executable,
 * signature and verdict hold; the verdict still fits the terminal. */
START_TEST(test_hostile_groups)
{
	struct usage_group *g = NULL;
	size_t n = 0;
	char out[16384];

	ck_assert_int_eq(usage_group(hostile_items, 3, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g, &n), 0);
	ck_assert_uint_eq(n, 3);
	for (size_t cols = 0; cols <= 200; cols += 100) {
		CAPTURE(out, usage_print_groups(f, hostile_items, g, n, false, false, cols));
		assert_clean(out, 1 + n);
		ck_assert_ptr_nonnull(strstr(out, "/tmp/\\x1b[2J\\x1b]0;owned\\x07"));
	}
	/* JSON carries the exact strings (json-c escapes them, once) */
	CAPTURE(out, usage_print_groups(f, hostile_items, g, n, false, true, 0));
	json_object *j = json_tokener_parse(out);
	ck_assert_ptr_nonnull(j);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(j, 0), "exe")),
			 HOSTILE);
	json_object_put(j);
	usage_groups_free(g, n);
}
END_TEST

/* disk-usage: the store line and both tables, and the vacuum's report. */
START_TEST(test_hostile_report)
{
	struct usage_group *ge = NULL, *gs = NULL;
	size_t ne = 0, ns = 0;
	char out[16384];

	ck_assert_int_eq(usage_group(hostile_items, 3, USAGE_BY_EXE, USAGE_ORDER_BYTES, &ge, &ne), 0);
	ck_assert_int_eq(usage_group(hostile_items, 3, USAGE_BY_SIGNATURE, USAGE_ORDER_BYTES, &gs, &ns), 0);
	struct usage_report r = {
		.store_dir = HOSTILE, .totals = { .cores = { 1, 10 }, .total = 60 },
		.by_exe = ge, .n_exe = ne, .by_signature = gs, .n_signature = ns,
	};
	CAPTURE(out, usage_print_report(f, &r, false));
	/* Store, Cores, Minicores, Records, Total, File system, Limits; a blank
	 * line, a header and the rows of each table */
	assert_clean(out, 7 + 2 + ne + 2 + ns);
	ck_assert_ptr_nonnull(strstr(out, "Store:        /tmp/\\x1b[2J"));

	struct usage_deletion del[] = { { .id = HOSTILE, .reason = HOSTILE, .bytes = 5 },
					{ .id = "ok", .reason = "age", .core_only = true, .bytes = 5 } };
	struct usage_foreign fo = { .files = 2, .bytes = 3, .names = { (char *)HOSTILE, (char *)"\033]0;x\a" },
				    .n_names = 2 };
	struct usage_vacuum v = { .dry_run = true, .del = del, .n_del = 2, .foreign = &fo };
	CAPTURE(out, usage_print_vacuum(f, &v, false));
	/* header, 2 deletions, the total; the unaccounted line and its 2 names */
	assert_clean(out, 1 + 2 + 1 + 1 + 2);
	usage_groups_free(ge, ne);
	usage_groups_free(gs, ns);
}
END_TEST

static Suite *usage_suite(void)
{
	Suite *s = suite_create("usage");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_group_by_signature);
	tcase_add_test(tc, test_group_by_exe_bytes);
	tcase_add_test(tc, test_group_edges);
	tcase_add_test(tc, test_kind_scan);
	tcase_add_test(tc, test_print_groups);
	tcase_add_test(tc, test_print_report);
	tcase_add_test(tc, test_hostile_groups);
	tcase_add_test(tc, test_hostile_report);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(usage_suite());
}
