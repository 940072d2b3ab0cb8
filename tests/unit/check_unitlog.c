/* Unit tests for src/capture/unitlog.c: the redaction of a journal line, and
 * the last lines of a unit read from a real journal file (written by
 * systemd-journal-remote from the export format; skipped without it). */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/unitlog.h"
#include "testutil.h"

#define JOURNAL_REMOTE "/lib/systemd/systemd-journal-remote"

static void redact_eq(const char *in, const char *want)
{
	char out[256];
	unitlog_redact(in, NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, want);
}

START_TEST(test_redact)
{
	redact_eq("connecting with DB_PASSWORD=hunter2 now", "connecting with DB_PASSWORD=<redacted> now");
	redact_eq("--password=hunter2 --user=bob", "--password=<redacted> --user=bob");
	redact_eq("api_token=abc", "api_token=<redacted>");
	redact_eq("url postgres://user:pa55@db:5432/x ok", "url postgres://user:<redacted>@db:5432/x ok");
	redact_eq("no creds http://host/a:b@c", "no creds http://host/a:b@c");
	redact_eq("plain line, nothing=here", "plain line, nothing=here");
	redact_eq("", "");
	/* A short buffer cuts at a character, never in its middle. */
	char out[6];
	unitlog_redact("ab\xc3\xa9\xc3\xa9", NULL, 0, out, sizeof(out));
	ck_assert_str_eq(out, "ab\xc3\xa9");
	/* Explicit patterns replace the built-in list. */
	const char *pats[] = { "SESSION*" };
	char o2[64];
	unitlog_redact("SESSION_ID=42 TOKEN=x", pats, 1, o2, sizeof(o2));
	ck_assert_str_eq(o2, "SESSION_ID=<redacted> TOKEN=x");
}
END_TEST

/* One export-format entry. */
static void entry(FILE *f, long long t, const char *unit_field, const char *unit, const char *uid, const char *msg)
{
	static int mono = 1;
	fprintf(f, "__REALTIME_TIMESTAMP=%lld\n__MONOTONIC_TIMESTAMP=%d\n_BOOT_ID=0123456789abcdef0123456789abcdef\n"
		   "%s=%s\nPRIORITY=6\nMESSAGE=%s\n", t, mono++, unit_field, unit, msg);
	if (uid)
		fprintf(f, "_UID=%s\n", uid);
	fputc('\n', f);
}

START_TEST(test_read)
{
	if (access(JOURNAL_REMOTE, X_OK) != 0) {
		printf("  SKIP    check_unitlog test_read: %s missing (package systemd-journal-remote)\n", JOURNAL_REMOTE);
		return;
	}
	char dir[] = "/tmp/check_unitlog.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char cmd[512];
	snprintf(cmd, sizeof(cmd), JOURNAL_REMOTE " -o %s/t.journal - 2>/dev/null", dir);
	FILE *f = popen(cmd, "w");
	ck_assert_ptr_nonnull(f);
	long long t0 = 1700000000000000LL;
	for (int i = 0; i < 10; i++) {
		char m[64];
		snprintf(m, sizeof(m), "line %d", i);
		entry(f, t0 + i, "_SYSTEMD_UNIT", "crashy.service", NULL, m);
	}
	entry(f, t0 + 10, "_SYSTEMD_UNIT", "crashy.service", NULL, "token=s3cret at the end");
	entry(f, t0 + 11, "_SYSTEMD_UNIT", "other.service", NULL, "not ours");
	entry(f, t0 + 12, "_SYSTEMD_USER_UNIT", "crashy.service", "1001", "the user's own");
	entry(f, t0 + 100, "_SYSTEMD_UNIT", "crashy.service", NULL, "after the crash");
	ck_assert_int_eq(pclose(f), 0);

	struct unitlog_opts o = { .unit = "crashy.service", .lines = 3, .until_usec = t0 + 50, .directory = dir };
	json_object *a = NULL;
	ck_assert_int_eq(unitlog_read(&o, &a), 0);
	ck_assert_int_eq((int)json_object_array_length(a), 3);
	/* Oldest first, the newest before the crash last, redacted. */
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, 0), "message")), "line 8");
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, 2), "message")),
			 "token=<redacted> at the end");
	ck_assert_int_eq(json_object_get_int(json_object_object_get(json_object_array_get_idx(a, 2), "priority")), 6);
	json_object_put(a);

	/* A user unit is its user's: matched by _SYSTEMD_USER_UNIT and _UID. */
	struct unitlog_opts u = { .unit = "crashy.service", .user_unit = true, .uid = 1001, .lines = 50,
				  .until_usec = t0 + 50, .directory = dir };
	ck_assert_int_eq(unitlog_read(&u, &a), 0);
	ck_assert_int_eq((int)json_object_array_length(a), 1);
	ck_assert_str_eq(json_object_get_string(json_object_object_get(json_object_array_get_idx(a, 0), "message")),
			 "the user's own");
	json_object_put(a);
	u.uid = 1002;
	ck_assert_int_eq(unitlog_read(&u, &a), 0);
	ck_assert_int_eq((int)json_object_array_length(a), 0);
	json_object_put(a);

	/* Nothing asked, nothing read. */
	o.lines = 0;
	ck_assert_int_eq(unitlog_read(&o, &a), -EINVAL);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	ck_assert_int_eq(system(cmd), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("unitlog");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_redact);
	tcase_add_test(tc, test_read);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
