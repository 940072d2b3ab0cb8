/* doctor.c: the checks that judge a value (core_pattern, core_pipe_limit,
 * suid_dumpable, RLIMIT_CORE, systemctl's output, parked crashes), the spool
 * scan (a parked crash's files are not leftovers) and the report's JSON. The
 * machine-wide run is exercised by tests/e2e/test_enable.sh and test_doctor.sh. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "base/config.h"
#include "cli/doctor.h"
#include "store/index.h"
#include "store/park.h"
#include "store/store.h"
#include "testutil.h"
#include "base/util.h"

static char tmpdir[64];

static void setup_tmp(void)
{
	strcpy(tmpdir, "/tmp/check_doctor.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	(void)!system(cmd);
}

/* The only check of d: its status and whether the message holds `part`. */
static void expect(struct doctor *d, const char *name, enum doctor_status st, const char *part)
{
	ck_assert_uint_eq(d->n, 1);
	ck_assert_str_eq(d->checks[0].name, name);
	ck_assert_msg(d->checks[0].status == st, "%s: status %s, expected %s: %s", name,
		      doctor_status_name(d->checks[0].status), doctor_status_name(st), d->checks[0].message);
	ck_assert_msg(strstr(d->checks[0].message, part), "%s: '%s' lacks '%s'", name, d->checks[0].message, part);
	doctor_free(d);
}

START_TEST(test_pipe_limit)
{
	struct doctor d = { .n = 0 };
	doctor_check_pipe_limit(&d, "0");
	expect(&d, "core_pipe_limit", DOCTOR_WARN, "races");
	doctor_check_pipe_limit(&d, "16");
	expect(&d, "core_pipe_limit", DOCTOR_WARN, "storm");
	doctor_check_pipe_limit(&d, "1023");
	expect(&d, "core_pipe_limit", DOCTOR_WARN, "storm");
	doctor_check_pipe_limit(&d, "1024");
	expect(&d, "core_pipe_limit", DOCTOR_OK, "1024");
	doctor_check_pipe_limit(&d, "2147483647");
	expect(&d, "core_pipe_limit", DOCTOR_OK, "2147483647");
	doctor_check_pipe_limit(&d, "x");
	expect(&d, "core_pipe_limit", DOCTOR_WARN, "cannot be read");
	doctor_check_pipe_limit(&d, NULL);
	expect(&d, "core_pipe_limit", DOCTOR_WARN, "cannot be read");
}
END_TEST

START_TEST(test_suid_dumpable)
{
	struct doctor d = { .n = 0 };
	doctor_check_suid_dumpable(&d, "0");
	expect(&d, "suid_dumpable", DOCTOR_WARN, "setuid");
	doctor_check_suid_dumpable(&d, "1");
	expect(&d, "suid_dumpable", DOCTOR_WARN, "insecure");
	doctor_check_suid_dumpable(&d, "2");
	expect(&d, "suid_dumpable", DOCTOR_OK, "2");
	doctor_check_suid_dumpable(&d, "7");
	expect(&d, "suid_dumpable", DOCTOR_WARN, "unexpected");
	doctor_check_suid_dumpable(&d, NULL);
	expect(&d, "suid_dumpable", DOCTOR_WARN, "cannot be read");
}
END_TEST

START_TEST(test_rlimit_core)
{
	struct doctor d = { .n = 0 };
	/* A pipe core_pattern ignores RLIMIT_CORE, except the value 1. */
	doctor_check_rlimit_core(&d, "rlimit_shell", "this shell", 0, false);
	expect(&d, "rlimit_shell", DOCTOR_OK, "RLIMIT_CORE 0");
	doctor_check_rlimit_core(&d, "rlimit_shell", "this shell", 1, false);
	expect(&d, "rlimit_shell", DOCTOR_WARN, "RLIMIT_CORE is 1");
	doctor_check_rlimit_core(&d, "rlimit_shell", "this shell", UINT64_MAX, true);
	expect(&d, "rlimit_shell", DOCTOR_OK, "infinity");
	doctor_check_rlimit_core(&d, "rlimit_services", "systemd services", 4096, false);
	expect(&d, "rlimit_services", DOCTOR_OK, "systemd services: RLIMIT_CORE 4096");
}
END_TEST

START_TEST(test_systemd_limit)
{
	uint64_t soft = 7;
	bool inf = true;
	ck_assert_int_eq(doctor_parse_systemd_limit("DefaultLimitCORE=infinity\nDefaultLimitCORESoft=0\n", &soft, &inf),
			 0);
	ck_assert(!inf);
	ck_assert_uint_eq(soft, 0);
	ck_assert_int_eq(doctor_parse_systemd_limit("DefaultLimitCORE=infinity\n", &soft, &inf), 0);
	ck_assert(inf);
	ck_assert_int_eq(doctor_parse_systemd_limit("DefaultLimitCORESoft=1", &soft, &inf), 0);
	ck_assert(!inf);
	ck_assert_uint_eq(soft, 1);
	ck_assert_int_eq(doctor_parse_systemd_limit("DefaultLimitCORESoft=infinity\nDefaultLimitCORE=infinity\n", &soft,
						    &inf), 0);
	ck_assert(inf);
	ck_assert_int_eq(doctor_parse_systemd_limit("", &soft, &inf), -ENOENT);
	ck_assert_int_eq(doctor_parse_systemd_limit("XDefaultLimitCORE=1\n", &soft, &inf), -ENOENT);
	ck_assert_int_eq(doctor_parse_systemd_limit("DefaultLimitCORE=lots\n", &soft, &inf), -EINVAL);
	ck_assert_int_eq(doctor_parse_systemd_limit("DefaultLimitCORE=\n", &soft, &inf), -EINVAL);
}
END_TEST

static void make_file(const char *path, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_int_eq(chmod(path, mode), 0);
}

/* A config file naming store path (and nothing else). */
static void make_conf(const char *path, const char *store)
{
	FILE *f = fopen(path, "we");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "[Store]\nPath=%s\n", store);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_core_pattern)
{
	struct doctor d = { .n = 0 };
	char col[128], noexec[160], conf[128], other[128], same[128], gone[128], pat[512], store[128], store2[128];

	snprintf(col, sizeof(col), "%s/mortem-collect", tmpdir);
	snprintf(noexec, sizeof(noexec), "%s/sub", tmpdir);
	ck_assert_int_eq(mkdir(noexec, 0755), 0);
	snprintf(noexec, sizeof(noexec), "%s/sub/mortem-collect", tmpdir);
	snprintf(conf, sizeof(conf), "%s/m.conf", tmpdir);
	snprintf(other, sizeof(other), "%s/other.conf", tmpdir);
	snprintf(same, sizeof(same), "%s/same.conf", tmpdir);
	snprintf(gone, sizeof(gone), "%s/gone.conf", tmpdir);
	snprintf(store, sizeof(store), "%s/store", tmpdir);
	snprintf(store2, sizeof(store2), "%s/store2", tmpdir);
	make_file(col, 0755);
	make_file(noexec, 0644);
	make_conf(conf, store);
	make_conf(other, store2);
	make_conf(same, store);

	doctor_check_core_pattern(&d, "core", "6.1.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_FAIL, "core files");
	doctor_check_core_pattern(&d, "|/usr/lib/systemd/systemd-coredump %P", "6.1.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_FAIL, "another handler");

	snprintf(pat, sizeof(pat), "|%s -c %s %%P %%u %%g %%s %%t %%c %%h %%d", col, conf);
	doctor_check_core_pattern(&d, pat, "6.1.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_OK, col);
	/* The same file by another name is the same config. */
	char alias[160];
	snprintf(alias, sizeof(alias), "%s/./m.conf", tmpdir);
	doctor_check_core_pattern(&d, pat, "6.1.0", alias, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_OK, col);
	/* Another config: what counts is its store. Another store: both named. */
	doctor_check_core_pattern(&d, pat, "6.1.0", other, store2, "/run/mortem");
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, store2));
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, conf));
	expect(&d, "core_pattern", DOCTOR_WARN, "stores in ");
	doctor_check_core_pattern(&d, pat, "6.1.0", same, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_OK, "the same store");
	/* A collector's config that cannot be read: said, not guessed. */
	snprintf(pat, sizeof(pat), "|%s -c %s %%P %%u %%g %%s %%t %%c %%h %%d", col, gone);
	doctor_check_core_pattern(&d, pat, "6.1.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_WARN, "could not check which store");

	snprintf(pat, sizeof(pat), "|%s -c %s %%P %%u %%g %%s %%t %%c %%h %%d %%F", col, conf);
	doctor_check_core_pattern(&d, pat, "6.1.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_WARN, "%F");
	doctor_check_core_pattern(&d, pat, "6.16.1", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_OK, col);

	doctor_check_core_pattern(&d, "@@/run/mortem/coredump.socket", "6.18.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_OK, "/run/mortem/coredump.socket (request/ack)");
	doctor_check_core_pattern(&d, "@/run/mortem/coredump.socket", "6.16.0", conf, store, "/run/mortem/");
	expect(&d, "core_pattern", DOCTOR_OK, "mortemd's socket /run/mortem/coredump.socket");
	/* Another mortemd's socket: both directories named. */
	doctor_check_core_pattern(&d, "@@/tmp/x/coredump.socket", "6.18.0", conf, store, "/run/mortem");
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, "/run/mortem"));
	expect(&d, "core_pattern", DOCTOR_WARN, "the socket /tmp/x/coredump.socket, not to this config's "
	       "SocketDirectory= /run/mortem");
	doctor_check_core_pattern(&d, "@@/run/systemd/coredump", "6.18.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_FAIL, "another handler");

	snprintf(pat, sizeof(pat), "|%s %%P", noexec);
	doctor_check_core_pattern(&d, pat, "6.1.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_FAIL, "not an executable"); /* no x bit at all: even root cannot */
	snprintf(pat, sizeof(pat), "|%s/missing/mortem-collect %%P", tmpdir);
	doctor_check_core_pattern(&d, pat, "6.1.0", conf, store, "/run/mortem");
	expect(&d, "core_pattern", DOCTOR_FAIL, "not an executable");
}
END_TEST

START_TEST(test_socket_dir)
{
	TESTUTIL_NEED_ROOT("needs root: a root-owned socket directory is what it judges");
	struct doctor d = { .n = 0 };
	char dir[128];

	/* mkdtemp's: root's, 0700, under the sticky /tmp: root's alone. */
	doctor_check_socket_dir(&d, tmpdir);
	expect(&d, "socket_dir", DOCTOR_OK, "root's alone");
	ck_assert_int_eq(chmod(tmpdir, 0777), 0);
	doctor_check_socket_dir(&d, tmpdir);
	expect(&d, "socket_dir", DOCTOR_WARN, "can be written by users other than root");
	ck_assert_int_eq(chmod(tmpdir, 0700), 0);
	doctor_check_socket_dir(&d, "/tmp");
	expect(&d, "socket_dir", DOCTOR_WARN, "can be written by users other than root");
	/* Missing: who could make it first decides. */
	snprintf(dir, sizeof(dir), "%s/run", tmpdir);
	doctor_check_socket_dir(&d, dir);
	expect(&d, "socket_dir", DOCTOR_OK, "does not exist yet (mortemd makes it)");
	snprintf(dir, sizeof(dir), "%s-not-there", tmpdir);
	doctor_check_socket_dir(&d, dir);
	expect(&d, "socket_dir", DOCTOR_WARN, "could make it first");
}
END_TEST

START_TEST(test_running)
{
	struct doctor d = { .n = 0 };

	doctor_check_running(&d, true, 1, 42, 1, false, 0);
	ck_assert_uint_eq(d.n, 2);
	ck_assert_str_eq(d.checks[0].name, "mortemd");
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, "runs (pid 42)"));
	ck_assert_str_eq(d.checks[1].name, "vacuum");
	ck_assert(d.checks[1].status == DOCTOR_OK);
	ck_assert_ptr_nonnull(strstr(d.checks[1].message, "mortem-vacuum.timer is active"));
	doctor_free(&d);

	doctor_check_running(&d, true, 0, 0, 0, true, 3);
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, "is not running"));
	ck_assert(d.checks[1].status == DOCTOR_WARN);
	ck_assert_ptr_nonnull(strstr(d.checks[1].message, "mortem-vacuum.timer is not active"));
	doctor_free(&d);
	doctor_check_running(&d, true, 0, 0, -EIO, true, 0);
	ck_assert(d.checks[1].status == DOCTOR_WARN);
	ck_assert_ptr_nonnull(strstr(d.checks[1].message, "could not check mortem-vacuum.timer"));
	doctor_free(&d);

	/* No systemd: the cron.daily script, and a cron to run it. */
	doctor_check_running(&d, false, 2, 7, 0, true, 1);
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, "runs (pid 7 and more)"));
	ck_assert(d.checks[1].status == DOCTOR_OK);
	ck_assert_ptr_nonnull(strstr(d.checks[1].message, "cron runs " DOCTOR_CRON_DAILY));
	doctor_free(&d);
	doctor_check_running(&d, false, 0, 0, 0, true, 0);
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, "no systemd"));
	ck_assert(d.checks[1].status == DOCTOR_WARN);
	ck_assert_ptr_nonnull(strstr(d.checks[1].message, "no cron daemon runs"));
	doctor_free(&d);
	doctor_check_running(&d, false, 0, 0, 0, false, 1);
	ck_assert(d.checks[1].status == DOCTOR_WARN);
	ck_assert_ptr_nonnull(strstr(d.checks[1].message, "no systemd and no " DOCTOR_CRON_DAILY));
	ck_assert(doctor_worst(&d) != DOCTOR_FAIL);
	doctor_free(&d);
}
END_TEST

/* The status of check `name` among d's (DOCTOR_FAIL + 1 when absent). */
static int status_of(const struct doctor *d, const char *name, const char **msg)
{
	for (size_t i = 0; i < d->n; i++)
		if (strcmp(d->checks[i].name, name) == 0) {
			*msg = d->checks[i].message;
			return (int)d->checks[i].status;
		}
	*msg = "(absent)";
	return DOCTOR_FAIL + 1;
}

/* A store as the collector leaves it: root's, the records and the spool
 * closed to others, an index. */
static void make_store(struct store *st, struct mortem_config *cfg, mode_t root_mode, mode_t index_mode)
{
	char root[128];
	sqlite3 *db = NULL;

	ck_assert_int_eq(chmod(tmpdir, 0755), 0);
	snprintf(root, sizeof(root), "%s/store", tmpdir);
	ck_assert_int_eq(config_init(cfg), 0);
	free(cfg->store_path);
	cfg->store_path = strdup(root);
	ck_assert_int_eq(store_init(st, root), 0);
	ck_assert_int_eq(store_mkdirs(st), 0);
	ck_assert_int_eq(chmod(root, root_mode), 0);
	ck_assert_int_eq(chmod(st->store_dir, 0700), 0);
	ck_assert_int_eq(chmod(st->spool_dir, 0700), 0);
	ck_assert_int_eq(index_open(st->index_path, &db), 0);
	index_close(db);
	ck_assert_int_eq(chmod(st->index_path, index_mode), 0);
}

/* Each check on the store as root, then as a user: what the user may not
 * read is "could not check" (a warning), never a failure nor an "ok" about
 * files it could not see. NULL, or what is wrong. */
static const char *store_verdicts(const struct store *st, const struct mortem_config *cfg, bool user,
				  mode_t root_mode, mode_t index_mode)
{
	static char bad[1024];
	struct doctor d = { .n = 0 };
	const char *m = "";
	bool ok;

	doctor_check_store(&d, st, cfg);
	doctor_check_index(&d, st);
	doctor_check_spool(&d, st, 0, 0);
	if (doctor_worst(&d) == DOCTOR_FAIL) {
		for (size_t i = 0; i < d.n; i++)
			if (d.checks[i].status == DOCTOR_FAIL)
				m = d.checks[i].message;
		snprintf(bad, sizeof(bad), "a false FAIL: %s", m);
		return bad;
	}
#define WANT(cond, what)                                                      \
	do {                                                                  \
		ok = (cond);                                                  \
		if (!ok) {                                                    \
			snprintf(bad, sizeof(bad), "%s: '%s'", what, m);      \
			return bad;                                           \
		}                                                             \
	} while (0)
	if (!user) {
		WANT(status_of(&d, "store", &m) == DOCTOR_OK, "store");
		WANT(status_of(&d, "index", &m) == DOCTOR_OK && strstr(m, "passes quick_check"), "index");
		WANT(status_of(&d, "spool", &m) == DOCTOR_OK, "spool");
	} else {
		WANT(status_of(&d, "store", &m) == DOCTOR_WARN && strstr(m, "could not check") &&
			     strstr(m, "run mortem doctor as root"), "store");
		WANT(status_of(&d, "spool", &m) == DOCTOR_WARN && strstr(m, "could not check"), "spool");
		if ((index_mode & 0004) && (root_mode & 0001)) /* readable: checked read-only, although the user may not write */
			WANT(status_of(&d, "index", &m) == DOCTOR_OK && strstr(m, "passes quick_check"), "index");
		else
			WANT(status_of(&d, "index", &m) == DOCTOR_WARN && strstr(m, "could not check") &&
				     !strstr(m, "does not exist"), "index");
	}
#undef WANT
	doctor_free(&d);
	return NULL;
}

/* As a user: in a child, so that the fixture's teardown stays root. */
static void check_store_as(bool user, mode_t root_mode, mode_t index_mode)
{
	struct mortem_config cfg;
	struct store st;
	const char *bad;

	make_store(&st, &cfg, root_mode, index_mode);
	if (!user) {
		bad = store_verdicts(&st, &cfg, false, root_mode, index_mode);
		ck_assert_msg(!bad, "as root: %s", bad);
	} else {
		int p[2], status = 0;
		char why[1024] = "";
		ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
		pid_t pid = fork();
		ck_assert_int_ge(pid, 0);
		if (pid == 0) {
			if (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
				_exit(2);
			bad = store_verdicts(&st, &cfg, true, root_mode, index_mode);
			if (bad)
				(void)!write(p[1], bad, strlen(bad));
			_exit(bad ? 1 : 0);
		}
		close(p[1]);
		ssize_t n = read(p[0], why, sizeof(why) - 1);
		why[n > 0 ? n : 0] = '\0';
		close(p[0]);
		ck_assert_int_eq(waitpid(pid, &status, 0), pid);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "as a user: %s", why);
	}
	store_free(&st);
	config_free(&cfg);
}

START_TEST(test_store_root)
{
	check_store_as(false, 0755, 0600);
}
END_TEST

START_TEST(test_store_user)
{
	TESTUTIL_NEED_ROOT("needs root: it runs doctor as another uid");
	check_store_as(true, 0755, 0600);
}
END_TEST

/* A root the user cannot look into: its files are not "missing". */
START_TEST(test_store_user_closed_root)
{
	TESTUTIL_NEED_ROOT("needs root: it runs doctor as another uid");
	check_store_as(true, 0700, 0644);
}
END_TEST

START_TEST(test_store_user_readable_index)
{
	TESTUTIL_NEED_ROOT("needs root: it runs doctor as another uid");
	check_store_as(true, 0755, 0644);
}
END_TEST

START_TEST(test_unchecked)
{
	struct doctor d = { .n = 0 };
	doctor_unchecked(&d, "spool", "/var/lib/mortem/spool", -EIO);
	expect(&d, "spool", DOCTOR_WARN, "could not check /var/lib/mortem/spool: Input/output error");
}
END_TEST

/* The mode check: its status, message and the "mode" of the report. */
static void expect_mode(struct doctor *d, enum doctor_status st, const char *mode, const char *part)
{
	ck_assert_str_eq(d->mode, mode);
	expect(d, "mode", st, part);
	d->mode = NULL;
}

START_TEST(test_mode)
{
	struct doctor d = { .n = 0 };
	const char *pipe = "|/usr/libexec/mortem/mortem-collect %P %u %g %s %t %c %h %d %F";

	doctor_check_mode(&d, pipe, "/run/mortem", 0, 0, NULL);
	expect_mode(&d, DOCTOR_OK, "pipe", "pipe: mortem-collect does the whole job");
	doctor_check_mode(&d, pipe, "/run/mortem", 0, 1, NULL);
	expect_mode(&d, DOCTOR_OK, "pipe+handoff", "pipe with hand-off to mortemd (/run/mortem/handoff.socket)");
	doctor_check_mode(&d, pipe, "/run/mortem", 0, -EACCES, NULL);
	expect_mode(&d, DOCTOR_OK, "pipe", "cannot be told");
	/* The socket mode's fallback: fine while mortemd is down, a warning once it runs. */
	doctor_check_mode(&d, pipe, "/run/mortem", 0, 0, "@@/run/mortem/coredump.socket");
	expect_mode(&d, DOCTOR_OK, "pipe", "the socket mode's fallback while mortemd is down");
	doctor_check_mode(&d, pipe, "/run/mortem", 0, 1, "@@/run/mortem/coredump.socket");
	expect_mode(&d, DOCTOR_WARN, "pipe+handoff", "run 'mortem handover socket'");

	doctor_check_mode(&d, "@@/run/mortem/coredump.socket", "/run/mortem", 1, 1, NULL);
	expect_mode(&d, DOCTOR_OK, "socket", "socket (@@/run/mortem/coredump.socket)");
	doctor_check_mode(&d, "@/run//mortem/coredump.socket", "/run/mortem/", 1, 0, NULL);
	expect_mode(&d, DOCTOR_OK, "socket", "socket (@/run//mortem/coredump.socket)");
	doctor_check_mode(&d, "@@/run/mortem/coredump.socket", "/run/mortem", 0, 1, NULL);
	expect_mode(&d, DOCTOR_FAIL, "socket", "mortemd is not listening: crashes are lost until it runs");
	doctor_check_mode(&d, "@@/run/mortem/coredump.socket", "/run/mortem", -ENOENT, 0, NULL);
	expect_mode(&d, DOCTOR_WARN, "socket", "cannot be told");
	doctor_check_mode(&d, "@@/tmp/other/coredump.socket", "/run/mortem", 1, 0, NULL);
	expect_mode(&d, DOCTOR_WARN, "socket", "SocketDirectory= is /run/mortem");

	doctor_check_mode(&d, "core", "/run/mortem", 0, 1, NULL);
	expect_mode(&d, DOCTOR_WARN, "none", "none");
	doctor_check_mode(&d, "@@/run/systemd/coredump", "/run/mortem", 1, 1, NULL);
	expect_mode(&d, DOCTOR_WARN, "none", "none");
}
END_TEST

START_TEST(test_parked)
{
	struct doctor d = { .n = 0 };

	/* None: nothing to say (the spool line says the rest). */
	doctor_check_parked(&d, 0, 0, 0);
	ck_assert_uint_eq(d.n, 0);
	doctor_check_parked(&d, 0, -EACCES, -EACCES);
	ck_assert_uint_eq(d.n, 0);

	/* mortemd down: they wait for its start, and the way out is named. */
	doctor_check_parked(&d, 3, 0, 0);
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, "systemctl start mortemd"));
	ck_assert_ptr_nonnull(strstr(d.checks[0].message, "stay pending"));
	expect(&d, "parked", DOCTOR_WARN, "3 crashes parked by a stop of mortemd, stored at its next start");
	doctor_check_parked(&d, 1, 0, 0);
	expect(&d, "parked", DOCTOR_WARN, "1 crash parked by a stop of mortemd");
	/* Whether it runs cannot be told: still a warning, with the reason. */
	doctor_check_parked(&d, 2, -EACCES, 0);
	expect(&d, "parked", DOCTOR_WARN, "cannot be told (Permission denied)");
	doctor_check_parked(&d, 2, 0, -EIO);
	expect(&d, "parked", DOCTOR_WARN, "cannot be told");

	/* mortemd up, on either socket: informational. */
	doctor_check_parked(&d, 2, 0, 1);
	expect(&d, "parked", DOCTOR_OK, "2 crashes parked by a stop of mortemd; mortemd runs");
	doctor_check_parked(&d, 2, 1, 0);
	expect(&d, "parked", DOCTOR_OK, "its next start");
	doctor_check_parked(&d, 1, 1, -EACCES);
	expect(&d, "parked", DOCTOR_OK, "1 crash parked");
	ck_assert(doctor_worst(&d) == DOCTOR_OK);
}
END_TEST

/* An empty file spool/<name>, its times set to `ago` seconds back. */
static void spool_file(const char *spool, const char *name, time_t ago)
{
	char path[320];
	snprintf(path, sizeof(path), "%s/%s", spool, name);
	make_file(path, 0600);
	if (ago) {
		struct timespec t[2] = { { .tv_sec = time(NULL) - ago }, { .tv_sec = time(NULL) - ago } };
		ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
	}
}

START_TEST(test_spool_scan)
{
	char spool[96], parked[STORE_ID_MAX + 1], other[STORE_ID_MAX + 1], name[208];
	size_t old = 7, n_parked = 7;
	const time_t hours2 = 2 * 3600;

	snprintf(spool, sizeof(spool), "%s/spool", tmpdir);
	ck_assert_int_eq(doctor_spool_scan(spool, time(NULL), &old, &n_parked), -ENOENT);
	ck_assert_uint_eq(old, 7); /* untouched on failure */
	ck_assert_int_eq(mkdir(spool, 0700), 0);
	ck_assert_int_eq(doctor_spool_scan(spool, time(NULL), &old, &n_parked), 0);
	ck_assert_uint_eq(old, 0);
	ck_assert_uint_eq(n_parked, 0);

	ck_assert_int_eq(store_make_id(INT64_C(1800000000) * 1000000, "0123456789abcdef", 4242, parked,
				       sizeof(parked)), 0);
	ck_assert_int_eq(store_make_id(INT64_C(1800000000) * 1000000, "0123456789abcdef", 4343, other,
				       sizeof(other)), 0);
	/* An old parked crash, every file of it. */
	static const char *const sfx[] = { PARK_SUFFIX, PARK_POOL_SUFFIX, PARK_SPILL_SUFFIX, ".lock", ".pending",
					   PARK_SUFFIX ".tmp" };
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		snprintf(name, sizeof(name), "%s%s", parked, sfx[i]);
		spool_file(spool, name, hours2);
	}
	ck_assert(park_exists(spool, parked));
	/* An old leftover of another crash, and a fresh temp file of a third. */
	snprintf(name, sizeof(name), "%s.core.zst.tmp", other);
	spool_file(spool, name, hours2);
	spool_file(spool, "20250101T000000.000000Z-deadbeef-1.raw.tmp", 0);

	ck_assert_int_eq(doctor_spool_scan(spool, time(NULL), &old, &n_parked), 0);
	ck_assert_uint_eq(old, 1);
	ck_assert_uint_eq(n_parked, 1);

	/* Without its note the rest of a park is a leftover like any other. */
	snprintf(name, sizeof(name), "%s/%s%s", spool, parked, PARK_SUFFIX);
	ck_assert_int_eq(unlink(name), 0);
	ck_assert_int_eq(doctor_spool_scan(spool, time(NULL), &old, &n_parked), 0);
	ck_assert_uint_eq(old, 1 + ARRAY_SIZE(sfx) - 1);
	ck_assert_uint_eq(n_parked, 0);
}
END_TEST

START_TEST(test_report)
{
	struct doctor d = { .n = 0 };
	json_object *o, *v, *checks, *c;

	ck_assert_int_eq(doctor_worst(&d), DOCTOR_OK);
	doctor_add(&d, "a", DOCTOR_OK, "fine %d", 1);
	doctor_add(&d, "b", DOCTOR_WARN, "hmm");
	ck_assert_int_eq(doctor_worst(&d), DOCTOR_WARN);
	o = doctor_json(&d);
	ck_assert(json_object_object_get_ex(o, "ok", &v));
	ck_assert(json_object_get_boolean(v)); /* warnings alone: still ok */
	ck_assert(json_object_object_get_ex(o, "mode", &v));
	ck_assert_ptr_null(v); /* not checked: null */
	json_object_put(o);
	d.mode = "pipe+handoff";
	o = doctor_json(&d);
	ck_assert(json_object_object_get_ex(o, "mode", &v));
	ck_assert_str_eq(json_object_get_string(v), "pipe+handoff");
	json_object_put(o);

	doctor_add(&d, "c", DOCTOR_FAIL, "\"quoted\"\n");
	ck_assert_int_eq(doctor_worst(&d), DOCTOR_FAIL);
	o = doctor_json(&d);
	ck_assert(json_object_object_get_ex(o, "ok", &v));
	ck_assert(!json_object_get_boolean(v));
	ck_assert(json_object_object_get_ex(o, "checks", &checks));
	ck_assert_uint_eq(json_object_array_length(checks), 3);
	c = json_object_array_get_idx(checks, 2);
	ck_assert(json_object_object_get_ex(c, "name", &v));
	ck_assert_str_eq(json_object_get_string(v), "c");
	ck_assert(json_object_object_get_ex(c, "status", &v));
	ck_assert_str_eq(json_object_get_string(v), "fail");
	ck_assert(json_object_object_get_ex(c, "message", &v));
	ck_assert_str_eq(json_object_get_string(v), "\"quoted\"\n");
	/* Round trip through text. */
	json_object *back = json_tokener_parse(json_object_to_json_string(o));
	ck_assert_ptr_nonnull(back);
	json_object_put(back);
	json_object_put(o);

	/* The table is capped, not overrun. */
	for (int i = 0; i < 2 * DOCTOR_CHECKS_MAX; i++)
		doctor_add(&d, "x", DOCTOR_OK, "%d", i);
	ck_assert_uint_eq(d.n, DOCTOR_CHECKS_MAX);

	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	doctor_print(&d, f);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "crashes will NOT all be caught"));
	ck_assert_ptr_nonnull(strstr(buf, "  FAIL  c "));
	ck_assert_ptr_nonnull(strstr(buf, "  WARN  b "));
	free(buf);
	doctor_free(&d);
}
END_TEST

/* A message quotes paths, the core pattern and config values: the line is
 * one line, nothing in it drives a terminal. */
START_TEST(test_hostile_line)
{
	struct doctor d = { .n = 0 };
	char *buf = NULL;
	size_t len = 0;

	doctor_add(&d, "core_pattern", DOCTOR_FAIL, "pipes to %s, which is not ours",
		   "|/tmp/\033[2J\033]0;owned\a\033[1;31mFAKE\033[0m\nTIME x\xc2\x9b\xe2\x80\xae\r\x9b\x7f");
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	doctor_print(&d, f);
	fclose(f);
	const unsigned char *u = (const unsigned char *)buf;
	size_t nl = 0;
	for (size_t i = 0; u[i]; i++) {
		ck_assert_msg(u[i] >= 0x20 || u[i] == '\n', "byte 0x%02x at %zu:\n%s", u[i], i, buf);
		ck_assert_msg(u[i] != 0x7f && !(u[i] >= 0x80 && u[i] <= 0x9f && (i == 0 || u[i - 1] < 0x80)),
			      "DEL or C1 at %zu:\n%s", i, buf);
		ck_assert_msg(!(u[i] == 0xc2 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9f), "UTF-8 C1 at %zu", i);
		ck_assert_msg(!(u[i] == 0xe2 && u[i + 1] == 0x80 && u[i + 2] == 0xae), "bidi override at %zu", i);
		nl += u[i] == '\n';
	}
	ck_assert_uint_eq(nl, 2); /* the verdict and the check */
	ck_assert_ptr_nonnull(strstr(buf, "  FAIL  core_pattern     pipes to |/tmp/\\x1b[2J\\x1b]0;owned\\x07"));
	/* --json keeps the message exact */
	json_object *o = doctor_json(&d), *c = json_object_array_get_idx(json_object_object_get(o, "checks"), 0);
	ck_assert_ptr_nonnull(strstr(json_object_get_string(json_object_object_get(c, "message")), "\033[2J"));
	json_object_put(o);
	free(buf);
	doctor_free(&d);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("doctor");
	TCase *tc = tcase_create("checks");
	tcase_add_test(tc, test_pipe_limit);
	tcase_add_test(tc, test_suid_dumpable);
	tcase_add_test(tc, test_rlimit_core);
	tcase_add_test(tc, test_systemd_limit);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_hostile_line);
	tcase_add_test(tc, test_mode);
	tcase_add_test(tc, test_parked);
	tcase_add_test(tc, test_running);
	tcase_add_test(tc, test_unchecked);
	suite_add_tcase(s, tc);
	tc = tcase_create("core_pattern");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, test_core_pattern);
	tcase_add_test(tc, test_socket_dir);
	tcase_add_test(tc, test_store_root);
	tcase_add_test(tc, test_store_user);
	tcase_add_test(tc, test_store_user_readable_index);
	tcase_add_test(tc, test_store_user_closed_root);
	suite_add_tcase(s, tc);
	tc = tcase_create("spool");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, test_spool_scan);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
