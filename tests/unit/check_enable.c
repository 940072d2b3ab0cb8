/* enable.c: the pure parts of mortem enable / disable (pattern, kernel version,
 * "is this ours", the saved-state file, the drop-in text). The kernel itself is
 * exercised by tests/e2e/test_enable.sh. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/enable.h"
#include "testutil.h"
#include "base/util.h"

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

START_TEST(test_kernel_socket_mode)
{
	ck_assert_int_eq(enable_kernel_socket_mode("6.17.0"), 2);
	ck_assert_int_eq(enable_kernel_socket_mode("6.18.44-fc-v669"), 2);
	ck_assert_int_eq(enable_kernel_socket_mode("7.0"), 2);
	ck_assert_int_eq(enable_kernel_socket_mode("6.16.3-1-amd64"), 1);
	ck_assert_int_eq(enable_kernel_socket_mode("6.16"), 1);
	ck_assert_int_eq(enable_kernel_socket_mode("6.15.9"), 0);
	ck_assert_int_eq(enable_kernel_socket_mode("6.1.0-28-amd64"), 0);
	ck_assert_int_eq(enable_kernel_socket_mode("5.19"), 0);
	ck_assert_int_eq(enable_kernel_socket_mode("6"), -EINVAL);
	ck_assert_int_eq(enable_kernel_socket_mode("x6.17"), -EINVAL);
	ck_assert_int_eq(enable_kernel_socket_mode(""), -EINVAL);
	ck_assert_int_eq(enable_kernel_socket_mode(NULL), -EINVAL);
}
END_TEST

START_TEST(test_socket_pattern)
{
	char *p = NULL, dir[160];

	ck_assert_int_eq(enable_socket_pattern("/run/mortem", true, &p), 0);
	ck_assert_str_eq(p, "@@/run/mortem/coredump.socket");
	free(p);
	ck_assert_int_eq(enable_socket_pattern("/run/mortem", false, &p), 0);
	ck_assert_str_eq(p, "@/run/mortem/coredump.socket");
	free(p);
	ck_assert_int_eq(enable_socket_pattern("/run/mortem//", true, &p), 0);
	ck_assert_str_eq(p, "@@/run/mortem/coredump.socket");
	free(p);
	ck_assert_int_eq(enable_socket_pattern("/", false, &p), 0);
	ck_assert_str_eq(p, "@/coredump.socket");
	free(p);
	ck_assert_int_eq(enable_socket_pattern("/run/a..b/..c", true, &p), 0); /* not a ".." component */
	free(p);

	p = NULL;
	ck_assert_int_eq(enable_socket_pattern("run/mortem", true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern("", true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern(NULL, true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern("/run/mo rtem", true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern("/run/mo\trtem", true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern("/run/%p", true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern("/run/../mortem", true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern("/run/mortem/..", true, &p), -EINVAL);
	ck_assert_int_eq(enable_socket_pattern("/run/mortem/../", true, &p), -EINVAL);
	ck_assert_ptr_null(p);

	/* sun_path: 107 bytes of path fit, 108 do not, "@" or "@@" alike. */
	size_t room = ENABLE_SUN_PATH_MAX - strlen("/coredump.socket");
	memset(dir, 'd', sizeof(dir));
	dir[0] = '/';
	dir[room] = '\0';
	ck_assert_int_eq(enable_socket_pattern(dir, true, &p), 0);
	ck_assert_uint_eq(strlen(p), 2 + ENABLE_SUN_PATH_MAX);
	free(p);
	p = NULL;
	dir[room] = 'd';
	dir[room + 1] = '\0';
	ck_assert_int_eq(enable_socket_pattern(dir, true, &p), -ENAMETOOLONG);
	ck_assert_int_eq(enable_socket_pattern(dir, false, &p), -ENAMETOOLONG);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(test_pattern_is_mortem_socket)
{
	ck_assert(enable_pattern_is_mortem_socket("@@/run/mortem/coredump.socket"));
	ck_assert(enable_pattern_is_mortem_socket("@/run/mortem/coredump.socket"));
	ck_assert(enable_pattern_is_mortem_socket("@/tmp/x/coredump.socket"));
	ck_assert(!enable_pattern_is_mortem_socket("@/run/systemd/coredump"));
	ck_assert(!enable_pattern_is_mortem_socket("@@/run/mortem/coredump.socket2"));
	ck_assert(!enable_pattern_is_mortem_socket("@@/run/mortem/xcoredump.socket"));
	ck_assert(!enable_pattern_is_mortem_socket("@coredump.socket"));
	ck_assert(!enable_pattern_is_mortem_socket("@@@/run/coredump.socket"));
	ck_assert(!enable_pattern_is_mortem_socket("/run/mortem/coredump.socket"));
	ck_assert(!enable_pattern_is_mortem_socket("|/x/mortem-collect %P"));
	ck_assert(!enable_pattern_is_mortem_socket("@"));
	ck_assert(!enable_pattern_is_mortem_socket("@@"));
	ck_assert(!enable_pattern_is_mortem_socket(""));

	ck_assert(enable_pattern_is_ours("@@/run/mortem/coredump.socket"));
	ck_assert(enable_pattern_is_ours("|/x/mortem-collect %P"));
	ck_assert(!enable_pattern_is_ours("|/usr/lib/systemd/systemd-coredump %P"));
	ck_assert(!enable_pattern_is_ours("core"));

	ck_assert_str_eq(enable_pattern_socket_path("@@/run/m/coredump.socket"), "/run/m/coredump.socket");
	ck_assert_str_eq(enable_pattern_socket_path("@/run/m/coredump.socket"), "/run/m/coredump.socket");
	ck_assert_ptr_null(enable_pattern_socket_path("|/x"));
	ck_assert_ptr_null(enable_pattern_socket_path(NULL));
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
	ck_assert_ptr_null(t.fallback);
	enable_state_free(&t);
	ck_assert_ptr_null(t.pattern);

	/* Socket mode: the pipe to fall back on comes back too. */
	s.pattern = (char *)"@@/run/mortem/coredump.socket";
	s.fallback = (char *)"|/x/mortem-collect %P %F";
	ck_assert_int_eq(enable_state_save(path, &s), 0);
	ck_assert_int_eq(enable_state_load(path, &t), 0);
	ck_assert_str_eq(t.pattern, s.pattern);
	ck_assert_str_eq(t.fallback, s.fallback);
	enable_state_free(&t);
	ck_assert_ptr_null(t.fallback);
	s.fallback = NULL;

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
	ck_assert_ptr_null(t.fallback); /* a state from before the fallback existed */
	enable_state_free(&t);
	write_text(path, "{\"core_pattern\": \"core\", \"core_pipe_limit\": \"0\", \"enabled_pattern\": \"@x\", "
			 "\"fallback_pattern\": []}");
	ck_assert_int_eq(enable_state_load(path, &t), -EBADMSG);
}
END_TEST

START_TEST(test_dropin_text_socket)
{
	char *t = enable_dropin_text("@@/run/mortem/coredump.socket", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "\nkernel.core_pattern = @@/run/mortem/coredump.socket\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nkernel.core_pipe_limit = 2147483647\n"));
	ck_assert_ptr_nonnull(strstr(t, "crashes are lost")); /* says what a boot without mortemd means */
	free(t);
	/* With a collector to fall back on, the kernel boots into the pipe. */
	t = enable_dropin_text("@@/run/mortem/coredump.socket", "|/x/mortem-collect %P");
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "\nkernel.core_pattern = |/x/mortem-collect %P\n"));
	ck_assert_ptr_null(strstr(t, "kernel.core_pattern = @"));
	ck_assert_ptr_nonnull(strstr(t, "mortem handover"));
	ck_assert_ptr_null(strstr(t, "crashes are lost"));
	ck_assert(strstr(t, "core_pipe_limit =") < strstr(t, "core_pattern ="));
	free(t);
}
END_TEST

/* /proc/net/unix as the kernel prints it (net/unix/af_unix.c unix_seq_show). */
START_TEST(test_socket_listening)
{
	char table[128];
	static const char text[] =
		"Num       RefCount Protocol Flags    Type St Inode Path\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 31337 /run/mortem/coredump.socket\n"
		"0000000000000000: 00000003 00000000 00000000 0001 03 31340 /run/mortem/coredump.socket\n"
		"0000000000000000: 00000002 00000000 00000000 0005 01 31338 /run/mortem/handoff.socket\n"
		"0000000000000000: 00000002 00000000 00010000 0005 01 31339 /run/other/handoff.socket\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01  1234 @/run/abstract/coredump.socket\n"
		"0000000000000000: 00000003 00000000 00000000 0001 03  1062\n"
		"0000000000000000: 00000002 00000000 00010000 0001 01 31341 /run/with space/coredump.socket\n"
		"garbage line\n"
		"0000000000000000: 00000002 00000000 00010000 0005 01 31342 /run/last.socket";

	snprintf(table, sizeof(table), "%s/unix", tmpdir);
	write_text(table, text);
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/mortem/coredump.socket"), 1);
	ck_assert_int_eq(enable_socket_listening_in(table, "/run//mortem/coredump.socket"), 1);
	/* Bound, but not listening. */
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/mortem/handoff.socket"), 0);
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/other/handoff.socket"), 1);
	/* An abstract name is not the path. */
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/abstract/coredump.socket"), 0);
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/with space/coredump.socket"), 1);
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/with"), 0);
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/last.socket"), 1); /* no final newline */
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/mortem/coredump.socke"), 0);
	ck_assert_int_eq(enable_socket_listening_in(table, "/run/mortem"), 0);

	snprintf(table, sizeof(table), "%s/none", tmpdir);
	ck_assert_int_eq(enable_socket_listening_in(table, "/x"), -ENOENT);
	/* The real table parses (this process's namespace may list nothing). */
	ck_assert_int_ge(enable_socket_listening("/nonexistent/mortem/coredump.socket"), 0);
}
END_TEST

START_TEST(test_dropin_text)
{
	char *t = enable_dropin_text("|/x/mortem-collect %P", NULL);
	ck_assert_ptr_nonnull(t);
	ck_assert_ptr_nonnull(strstr(t, "\nkernel.core_pipe_limit = 2147483647\n"));
	ck_assert_ptr_nonnull(strstr(t, "\nkernel.core_pattern = |/x/mortem-collect %P\n"));
	/* The limit comes first, so the pattern never applies with a small one. */
	ck_assert(strstr(t, "core_pipe_limit =") < strstr(t, "core_pattern ="));
	free(t);
}
END_TEST

START_TEST(test_pattern_is_plain)
{
	static const char *const yes[] = { "core", "core.%p", "%e.%p.core", "core-%t-%s" };
	static const char *const no[] = { "", "|/tmp/evil %p", "|core", "@@/run/mortem/coredump.socket",
					  "/var/crash/core", "../../etc/cron.d/x", "a/core", "core %p", "core\t",
					  "core\n|/tmp/evil" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
		ck_assert_msg(enable_pattern_is_plain(yes[i]), "refused: %s", yes[i]);
	for (size_t i = 0; i < ARRAY_SIZE(no); i++)
		ck_assert_msg(!enable_pattern_is_plain(no[i]), "accepted: %s", no[i]);
	ck_assert(!enable_pattern_is_plain(NULL));
}
END_TEST

/* A file of mode in tmpdir, owned by uid. */
static void make_file(const char *name, mode_t mode, uid_t uid, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", tmpdir, name);
	write_text(path, "#!/bin/sh\n");
	ck_assert_int_eq(chmod(path, mode), 0);
	ck_assert_int_eq(chown(path, uid, 0), 0);
}

static void want_refused(const char *pattern, const char *because)
{
	char *why = NULL;
	ck_assert_msg(enable_pattern_check(pattern, &why) == -EPERM, "accepted: %s", pattern);
	ck_assert_msg(why && strstr(why, because), "'%s': said '%s', not '%s'", pattern, why ? why : "", because);
	free(why);
}

START_TEST(test_pattern_check)
{
	TESTUTIL_NEED_ROOT("needs root: files owned by another uid (chown), as mortem's trust checks judge them");
	char col[128], conf[128], p[512], sub[128];
	char *why = NULL;

	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	make_file("mortem-collect", 0755, 0, col, sizeof(col));
	make_file("mortem.conf", 0644, 0, conf, sizeof(conf));
	/* the kernel's defaults */
	ck_assert_int_eq(enable_pattern_check("core", NULL), 0);
	ck_assert_int_eq(enable_pattern_check("core.%p", NULL), 0);
	/* mortem's own pipe, with or without %F, with or without -c */
	snprintf(p, sizeof(p), "|%s %%P %%u %%g %%s %%t %%c %%h %%d", col);
	ck_assert_int_eq(enable_pattern_check(p, &why), 0);
	snprintf(p, sizeof(p), "|%s -c %s %%P %%u %%g %%s %%t %%c %%h %%d %%F", col, conf);
	ck_assert_int_eq(enable_pattern_check(p, &why), 0);
	/* planted: another program, however it is named or spelled */
	want_refused("|/tmp/evil %p", "does not pipe to mortem-collect");
	want_refused("|/bin/sh -c /tmp/evil", "does not pipe to mortem-collect");
	want_refused("| /tmp/evil", "does not pipe to mortem-collect");
	want_refused("/etc/cron.d/core", "neither a plain file pattern");
	want_refused("", "neither");
	/* mortem-collect with something more on its command line */
	snprintf(p, sizeof(p), "|%s -c /tmp/evil.conf %%P %%u %%g %%s %%t %%c %%h %%d", col);
	want_refused(p, "the config is not root's alone");
	snprintf(p, sizeof(p), "|%s %%P %%u %%g %%s %%t %%c %%h %%d --extra", col);
	want_refused(p, "not the pattern mortem enable writes");
	/* a mortem-collect that is not root's alone */
	snprintf(p, sizeof(p), "|%s %%P %%u %%g %%s %%t %%c %%h %%d", col);
	ck_assert_int_eq(chmod(col, 0777), 0);
	want_refused(p, "writable by others");
	ck_assert_int_eq(chmod(col, 0755), 0);
	ck_assert_int_eq(chown(col, 65534, 0), 0);
	want_refused(p, "owned by uid 65534");
	ck_assert_int_eq(chown(col, 0, 0), 0);
	ck_assert_int_eq(chmod(tmpdir, 0777), 0);
	want_refused(p, "writable by others");
	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	ck_assert_int_eq(chmod(col, 0644), 0);
	want_refused(p, "not executable");
	ck_assert_int_eq(chmod(col, 0755), 0);
	ck_assert_int_eq(enable_pattern_check(p, NULL), 0);
	/* a collector path that does not exist */
	want_refused("|/nonexistent/mortem-collect %P %u %g %s %t %c %h %d", "not root's alone");
	/* the socket: in a directory that is root's alone */
	snprintf(sub, sizeof(sub), "%s/run", tmpdir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	snprintf(p, sizeof(p), "@@%s/coredump.socket", sub);
	ck_assert_int_eq(enable_pattern_check(p, &why), 0);
	snprintf(p, sizeof(p), "@%s/coredump.socket", sub);
	ck_assert_int_eq(enable_pattern_check(p, &why), 0);
	ck_assert_int_eq(chmod(sub, 0777), 0);
	want_refused(p, "the socket's directory is not root's alone");
	want_refused("@@/tmp/x/other.socket", "not mortemd's coredump socket");
	want_refused("@@/tmp/../tmp/coredump.socket", "not the pattern mortem enable writes");
	free(why);
}
END_TEST

START_TEST(test_state_check)
{
	TESTUTIL_NEED_ROOT("needs root: files owned by another uid (chown), as mortem's trust checks judge them");
	static const char dropin[] = "/etc/sysctl.d/50-mortem.conf";
	char col[128], p[256];
	char *why = NULL;

	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	make_file("mortem-collect", 0755, 0, col, sizeof(col));
	snprintf(p, sizeof(p), "|%s %%P %%u %%g %%s %%t %%c %%h %%d", col);
	struct enable_state s = {
		.prev_pattern = (char *)"|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h",
		.prev_pipe_limit = (char *)"0",
		.prev_suid_dumpable = (char *)"0",
		.pattern = p,
		.dropin = (char *)dropin,
	};
	/* saved by root where only root writes: the other handler comes back */
	ck_assert_int_eq(enable_state_check(&s, true, dropin, &why), 0);
	/* the same in a file anyone else could have written: refused */
	ck_assert_int_eq(enable_state_check(&s, false, dropin, &why), -EPERM);
	ck_assert_msg(strstr(why, "is not the kernel's plain default or mortem's"), "%s", why);
	/* the planted value */
	s.prev_pattern = (char *)"|/tmp/evil %p";
	ck_assert_int_eq(enable_state_check(&s, false, dropin, &why), -EPERM);
	ck_assert_msg(strstr(why, "'|/tmp/evil %p'"), "%s", why);
	/* the kernel's default passes from anywhere */
	s.prev_pattern = (char *)"core";
	ck_assert_int_eq(enable_state_check(&s, false, dropin, &why), 0);
	/* a drop-in elsewhere, from an untrusted file: disable would delete it */
	s.dropin = (char *)"/etc/passwd";
	ck_assert_int_eq(enable_state_check(&s, false, dropin, &why), -EPERM);
	ck_assert_int_eq(enable_state_check(&s, true, dropin, &why), 0);
	s.dropin = NULL;
	/* whatever the trust: mortem's patterns, numbers */
	s.pattern = (char *)"|/tmp/evil %p";
	ck_assert_int_eq(enable_state_check(&s, true, dropin, &why), -EPERM);
	s.pattern = p;
	s.fallback = (char *)"|/tmp/evil %p";
	ck_assert_int_eq(enable_state_check(&s, true, dropin, &why), -EPERM);
	s.fallback = NULL;
	s.prev_pipe_limit = (char *)"1; |/tmp/evil";
	ck_assert_int_eq(enable_state_check(&s, true, dropin, &why), -EPERM);
	s.prev_pipe_limit = (char *)"4";
	s.prev_suid_dumpable = (char *)"7";
	ck_assert_int_eq(enable_state_check(&s, true, dropin, &why), -EPERM);
	s.prev_suid_dumpable = NULL; /* a state from before it was kept */
	ck_assert_int_eq(enable_state_check(&s, true, dropin, &why), 0);
	free(why);
}
END_TEST

START_TEST(test_state_path)
{
	unsetenv("MORTEM_STATE_DIR");
	char *p = enable_state_path();
	ck_assert_str_eq(p, LOCALSTATEDIR "/lib/mortem-state/saved-core-pattern");
	free(p);
	setenv("MORTEM_STATE_DIR", "/tmp/x", 1);
	p = enable_state_path();
	ck_assert_str_eq(p, "/tmp/x/saved-core-pattern");
	free(p);
}
END_TEST

START_TEST(test_dropin_suid)
{
	char *t = enable_dropin_text("|/x/mortem-collect %P", NULL);
	ck_assert_ptr_nonnull(strstr(t, "\nfs.suid_dumpable = 2\n"));
	free(t);
	t = enable_dropin_text("@@/run/mortem/coredump.socket", "|/x/mortem-collect %P");
	ck_assert_ptr_nonnull(strstr(t, "\nfs.suid_dumpable = 2\n"));
	free(t);
}
END_TEST

/* mortemd in a network namespace of its own (PrivateNetwork=): its socket is
 * found in its own table; a process that is merely named mortemd but not
 * root's is not believed. Needs root, unshare and python3; else skipped. */
static pid_t spawn_listener(const char *dir, const char *sock, const char *as_user)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "cp \"$(readlink -f /usr/bin/python3)\" %s/mortemd && chmod 755 %s/mortemd && "
		 "exec %s %s/mortemd -c 'import socket,time,os; s=socket.socket(socket.AF_UNIX); "
		 "s.bind(\"%s\"); s.listen(1); open(\"%s.ready\",\"w\").close(); time.sleep(30)'",
		 dir, dir, as_user, dir, sock, sock);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	char ready[512];
	snprintf(ready, sizeof(ready), "%s.ready", sock);
	for (int i = 0; i < 60 && access(ready, F_OK) != 0; i++)
		usleep(50000);
	return pid;
}

START_TEST(test_socket_in_own_netns)
{
	if (geteuid() != 0 || system("command -v unshare >/dev/null && test -x /usr/bin/python3") != 0) {
		printf("  SKIP    check_enable test_socket_in_own_netns: needs root, unshare and python3\n");
		return;
	}
	char dir[] = "/tmp/check_enable_ns.XXXXXX", sock[512];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/coredump.socket", dir);
	ck_assert_int_eq(chmod(dir, 0755), 0); /* the copy must run as nobody too */
	ck_assert_int_eq(enable_socket_listening(sock), 0);
	pid_t pid = spawn_listener(dir, sock, "unshare -n --");
	ck_assert_int_eq(enable_socket_listening_in("/proc/net/unix", sock), 0); /* not in ours */
	ck_assert_int_eq(enable_socket_listening(sock), 1);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	ck_assert_int_eq(enable_socket_listening(sock), 0);
	/* The same, but nobody's: not believed. */
	unlink(sock);
	char ready[600];
	snprintf(ready, sizeof(ready), "%s.ready", sock);
	unlink(ready);
	chmod(dir, 0777);
	pid = spawn_listener(dir, sock, "setpriv --reuid=65534 --regid=65534 --clear-groups unshare -U -n --");
	ck_assert_int_eq(access(ready, F_OK), 0);
	ck_assert_int_eq(enable_socket_listening(sock), 0);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	char rm[600];
	snprintf(rm, sizeof(rm), "rm -rf %s", dir);
	ck_assert_int_eq(system(rm), 0);
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
	tcase_add_test(tc, test_dropin_text_socket);
	tcase_add_test(tc, test_kernel_socket_mode);
	tcase_add_test(tc, test_socket_pattern);
	tcase_add_test(tc, test_pattern_is_mortem_socket);
	tcase_add_test(tc, test_pattern_is_plain);
	tcase_add_test(tc, test_state_path);
	tcase_add_test(tc, test_dropin_suid);
	suite_add_tcase(s, tc);
	tc = tcase_create("state");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, test_state_round_trip);
	tcase_add_test(tc, test_state_malformed);
	tcase_add_test(tc, test_socket_listening);
	tcase_add_test(tc, test_socket_in_own_netns);
	tcase_add_test(tc, test_pattern_check);
	tcase_add_test(tc, test_state_check);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
