/* enable.c: the pure parts of mortem enable / disable (pattern, kernel version,
 * "is this ours", the saved-state file, the drop-in text). The kernel itself is
 * exercised by tests/e2e/test_enable.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "enable.h"
#include "testutil.h"
#include "util.h"

static char tmpdir[64];

static void setup_tmp(void)
{
	strcpy(tmpdir, "/tmp/check_enable.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

START_TEST(test_kernel_pidfd)
{
	ck_assert_int_eq(enable_kernel_has_pidfd("6.16.0"), 1);
	ck_assert_int_eq(enable_kernel_has_pidfd("6.16"), 1);
	ck_assert_int_eq(enable_kernel_has_pidfd("6.18.44-fc-v669"), 1);
	ck_assert_int_eq(enable_kernel_has_pidfd("7.0.1"), 1);
	ck_assert_int_eq(enable_kernel_has_pidfd("10.2"), 1);
	ck_assert_int_eq(enable_kernel_has_pidfd("6.15.9"), 0);
	ck_assert_int_eq(enable_kernel_has_pidfd("6.1.0-28-amd64"), 0);
	ck_assert_int_eq(enable_kernel_has_pidfd("5.19.0"), 0);
	ck_assert_int_eq(enable_kernel_has_pidfd("6.160"), 1);
	ck_assert_int_eq(enable_kernel_has_pidfd("6"), -EINVAL);
	ck_assert_int_eq(enable_kernel_has_pidfd("6."), -EINVAL);
	ck_assert_int_eq(enable_kernel_has_pidfd(""), -EINVAL);
	ck_assert_int_eq(enable_kernel_has_pidfd("v6.16"), -EINVAL);
	ck_assert_int_eq(enable_kernel_has_pidfd("99999999999999999999.1"), -EINVAL);
	ck_assert_int_eq(enable_kernel_has_pidfd(NULL), -EINVAL);
}
END_TEST

START_TEST(test_pattern_build)
{
	char *p = NULL;

	ck_assert_int_eq(enable_pattern_build("/usr/libexec/mortem/mortem-collect", NULL, true, &p), 0);
	ck_assert_str_eq(p, "|/usr/libexec/mortem/mortem-collect %P %u %g %s %t %c %h %d %F");
	free(p);
	ck_assert_int_eq(enable_pattern_build("/usr/libexec/mortem/mortem-collect", NULL, false, &p), 0);
	ck_assert_str_eq(p, "|/usr/libexec/mortem/mortem-collect %P %u %g %s %t %c %h %d");
	free(p);
	ck_assert_int_eq(enable_pattern_build("/x/mortem-collect", "/etc/m.conf", true, &p), 0);
	ck_assert_str_eq(p, "|/x/mortem-collect -c /etc/m.conf %P %u %g %s %t %c %h %d %F");
	free(p);

	p = NULL;
	ck_assert_int_eq(enable_pattern_build("mortem-collect", NULL, true, &p), -EINVAL);
	ck_assert_int_eq(enable_pattern_build("/a b/mortem-collect", NULL, true, &p), -EINVAL);
	ck_assert_int_eq(enable_pattern_build("/a\tb/mortem-collect", NULL, true, &p), -EINVAL);
	ck_assert_int_eq(enable_pattern_build("/a%p/mortem-collect", NULL, true, &p), -EINVAL);
	ck_assert_int_eq(enable_pattern_build("/x/mortem-collect", "rel.conf", true, &p), -EINVAL);
	ck_assert_int_eq(enable_pattern_build("/x/mortem-collect", "/a b.conf", true, &p), -EINVAL);
	ck_assert_ptr_null(p);
}
END_TEST

/* The kernel keeps 127 bytes: a pattern of exactly that fits, one more does not. */
START_TEST(test_pattern_length)
{
	const char *tail = " %P %u %g %s %t %c %h %d %F";
	size_t room = ENABLE_PATTERN_MAX - 1 - strlen(tail); /* 1 for '|' */
	char path[256], *p = NULL;

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[room] = '\0';
	ck_assert_int_eq(enable_pattern_build(path, NULL, true, &p), 0);
	ck_assert_uint_eq(strlen(p), ENABLE_PATTERN_MAX);
	free(p);
	p = NULL;
	path[room] = 'a';
	path[room + 1] = '\0';
	ck_assert_int_eq(enable_pattern_build(path, NULL, true, &p), -ENAMETOOLONG);
	ck_assert_ptr_null(p);
	/* Without %F the same path fits again. */
	ck_assert_int_eq(enable_pattern_build(path, NULL, false, &p), 0);
	free(p);
}
END_TEST

START_TEST(test_pattern_parse)
{
	char *prog = NULL, *conf = NULL;

	ck_assert_int_eq(enable_pattern_parse("|/x/mortem-collect -c /e/m.conf %P %u", &prog, &conf), 0);
	ck_assert_str_eq(prog, "/x/mortem-collect");
	ck_assert_str_eq(conf, "/e/m.conf");
	free(prog);
	free(conf);
	ck_assert_int_eq(enable_pattern_parse("|/x/mortem-collect %P %u", &prog, &conf), 0);
	ck_assert_str_eq(prog, "/x/mortem-collect");
	ck_assert_ptr_null(conf);
	free(prog);
	ck_assert_int_eq(enable_pattern_parse("| /lib/systemd/systemd-coredump %P", &prog, &conf), 0);
	ck_assert_str_eq(prog, "/lib/systemd/systemd-coredump");
	free(prog);
	ck_assert_int_eq(enable_pattern_parse("|/bin/x", &prog, &conf), 0);
	ck_assert_str_eq(prog, "/bin/x");
	ck_assert_ptr_null(conf);
	free(prog);
	ck_assert_int_eq(enable_pattern_parse("core", &prog, &conf), -ENOENT);
	ck_assert_int_eq(enable_pattern_parse("", &prog, &conf), -ENOENT);
	ck_assert_int_eq(enable_pattern_parse("|", &prog, &conf), -EINVAL);
	ck_assert_int_eq(enable_pattern_parse("|   ", &prog, &conf), -EINVAL);
}
END_TEST

START_TEST(test_pattern_is_mortem)
{
	ck_assert(enable_pattern_is_mortem("|/usr/libexec/mortem/mortem-collect %P %u %g %s %t %c %h %d"));
	ck_assert(enable_pattern_is_mortem("|/tmp/mortem-e2e.x/mortem-collect -c /tmp/c %P"));
	ck_assert(enable_pattern_is_mortem("|mortem-collect"));
	ck_assert(!enable_pattern_is_mortem("|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h"));
	ck_assert(!enable_pattern_is_mortem("|/usr/share/apport/apport -p%p -s%s -c%c -d%d -P%P -u%u -g%g -- %E"));
	ck_assert(!enable_pattern_is_mortem("|/x/mortem-collect2 %P"));
	ck_assert(!enable_pattern_is_mortem("|/x/not-mortem-collect %P"));
	ck_assert(!enable_pattern_is_mortem("core"));
	ck_assert(!enable_pattern_is_mortem("/var/crash/mortem-collect"));
	ck_assert(!enable_pattern_is_mortem(""));
}
END_TEST

START_TEST(test_state_round_trip)
{
	char path[128];
	struct enable_state s = {
		.prev_pattern = (char *)"|/usr/lib/systemd/systemd-coredump %P %u %g %s %t 9223372036854775808 %h",
		.prev_pipe_limit = (char *)"16",
		.pattern = (char *)"|/x/mortem-collect -c \"odd\\path\" %P",
		.dropin = (char *)"/etc/sysctl.d/50-mortem.conf",
	}, t = { NULL };
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, ENABLE_STATE_NAME);
	ck_assert_int_eq(enable_state_load(path, &t), -ENOENT);
	ck_assert_int_eq(enable_state_save(path, &s), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(enable_state_load(path, &t), 0);
	ck_assert_str_eq(t.prev_pattern, s.prev_pattern);
	ck_assert_str_eq(t.prev_pipe_limit, s.prev_pipe_limit);
	ck_assert_str_eq(t.pattern, s.pattern);
	ck_assert_str_eq(t.dropin, s.dropin);
	enable_state_free(&t);
	ck_assert_ptr_null(t.pattern);

	/* No drop-in (--runtime), and an empty previous pattern. */
	s.dropin = NULL;
	s.prev_pattern = (char *)"";
	ck_assert_int_eq(enable_state_save(path, &s), 0);
	ck_assert_int_eq(enable_state_load(path, &t), 0);
	ck_assert_str_eq(t.prev_pattern, "");
	ck_assert_ptr_null(t.dropin);
	enable_state_free(&t);

	/* Nothing left behind but the file itself. */
	char cmd[160];
	snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) = 1", tmpdir);
	ck_assert_int_eq(system(cmd), 0);

	s.pattern = NULL;
	ck_assert_int_eq(enable_state_save(path, &s), -EINVAL);
}
END_TEST

static void write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, text, strlen(text)), 0);
	close(fd);
}

START_TEST(test_state_malformed)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"core_pattern\": \"core\", \"core_pipe_limit\": \"0\"}",
		"{\"core_pattern\": 1, \"core_pipe_limit\": \"0\", \"enabled_pattern\": \"|x\"}",
		"{\"core_pattern\": \"core\", \"core_pipe_limit\": \"0\", \"enabled_pattern\": \"|x\", \"dropin\": 5}",
	};
	char path[128];
	struct enable_state t = { NULL };

	snprintf(path, sizeof(path), "%s/state", tmpdir);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		write_text(path, bad[i]);
		ck_assert_msg(enable_state_load(path, &t) == -EBADMSG, "accepted: %s", bad[i]);
	}
	write_text(path, "{\"core_pattern\": \"core\", \"core_pipe_limit\": \"0\", \"enabled_pattern\": \"|x\", "
			 "\"dropin\": null}");
	ck_assert_int_eq(enable_state_load(path, &t), 0);
	ck_assert_ptr_null(t.dropin);
	enable_state_free(&t);
}
END_TEST

START_TEST(test_dropin_text)
{
	char *t = enable_dropin_text("|/x/mortem-collect %P");
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "\nkernel.core_pipe_limit = 2147483647\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nkernel.core_pattern = |/x/mortem-collect %P\n"));
	/* The limit comes first, so the pattern never applies with a small one. */
	ck_assert(strstr(t, "core_pipe_limit =") < strstr(t, "core_pattern ="));
	free(t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("enable");
	TCase *tc = tcase_create("pure");
	tcase_add_test(tc, test_kernel_pidfd);
	tcase_add_test(tc, test_pattern_build);
	tcase_add_test(tc, test_pattern_length);
	tcase_add_test(tc, test_pattern_parse);
	tcase_add_test(tc, test_pattern_is_mortem);
	tcase_add_test(tc, test_dropin_text);
	suite_add_tcase(s, tc);
	tc = tcase_create("state");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_test(tc, test_state_malformed);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
