/* analyze: the sandboxed child. A real minicore comes back "ok" with its
 * stacks; garbage, damage, a tiny timeout or a tiny memory limit come back
 * "failed" with a reason, and the parent (this test) lives on. An analysis
 * that is cut (mortemd stopping) ends then, "failed", however long it had
 * left; one that may be cut but is not answers as before. */
#include <arpa/inet.h>
#include <elf.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "analysis/analyze.h"
#include "targetcore.h"

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *analysis_of(json_object *res)
{
	json_object *a;
	ck_assert(json_object_object_get_ex(res, "analysis", &a));
	ck_assert(json_object_is_type(a, json_type_object));
	return a;
}

static json_object *run(const char *path, const struct analyze_opts *o, const char *want_status)
{
	json_object *res = NULL;
	ck_assert_int_eq(analyze_run(path, o, &res), 0);
	ck_assert_ptr_nonnull(res);
	json_object *a = analysis_of(res);
	ck_assert_msg(!strcmp(jstr(a, "status"), want_status), "status %s (%s), want %s", jstr(a, "status"),
		      jstr(a, "error") ? jstr(a, "error") : "no error", want_status);
	return res;
}

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, buf, len), 0);
	close(fd);
}

START_TEST(test_ok)
{
	struct targetcore tc;
	char fns[2048];
	targetcore_make(&tc, "wait", 2);
	/* 0600 and owned by whoever runs the test: the child (nobody, when the
	 * test is root) reads it through the fd it was given */
	ck_assert_int_eq(chmod(tc.mini, 0600), 0);
	ck_assert_int_eq(chmod(tc.dir, 0700), 0);
	struct analyze_opts o = { .sysroot_fd = -1, .crashed_tid = tc.tids[tc.ntids - 1] };
	json_object *res = run(tc.mini, &o, "ok");
	json_object *a = analysis_of(res), *threads, *mods, *v;
	ck_assert(json_object_object_get_ex(a, "error", &v) && v == NULL);
	ck_assert(json_object_object_get_ex(res, "threads", &threads));
	ck_assert(json_object_object_get_ex(res, "modules", &mods));
	ck_assert_uint_eq(json_object_array_length(threads), 3);
	ck_assert_uint_ge(json_object_array_length(mods), 3);
	json_object *t0 = json_object_array_get_idx(threads, 0);
	ck_assert(json_object_object_get_ex(t0, "tid", &v));
	ck_assert_int_eq(json_object_get_int(v), tc.tids[tc.ntids - 1]);
	targetcore_fns(t0, fns, sizeof(fns));
	ck_assert_msg(strstr(fns, "at_worker_leaf at_worker_mid at_worker_top"), "%s", fns);
	targetcore_fns(json_object_array_get_idx(threads, 1), fns, sizeof(fns));
	ck_assert_msg(strstr(fns, "at_level_three at_level_two at_level_one main"), "%s", fns);
	ck_assert(json_object_object_get_ex(a, "duration_ms", &v));
	ck_assert_int_ge(json_object_get_int(v), 0);
	json_object_put(res);

	/* the full core too, in the same sandbox */
	res = run(tc.core, NULL, "ok");
	json_object_put(res);
	targetcore_remove(&tc);
}
END_TEST

START_TEST(test_skipped_and_missing)
{
	json_object *res = run(NULL, NULL, "skipped");
	json_object_put(res);
	res = run("", NULL, "skipped");
	json_object_put(res);
	res = run("/nonexistent/mini", NULL, "failed");
	ck_assert_ptr_nonnull(strstr(jstr(analysis_of(res), "error"), "opening minicore"));
	json_object_put(res);
	struct analyze_opts o = { .sysroot_fd = -1, .sysroot = "/nonexistent-root" };
	res = run("/bin/true", &o, "failed");
	ck_assert_ptr_nonnull(strstr(jstr(analysis_of(res), "error"), "opening sysroot"));
	json_object_put(res);
}
END_TEST

START_TEST(test_hostile)
{
	char dir[] = "/tmp/mortem-an-XXXXXX", p[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/garbage", dir);
	unsigned char junk[8192];
	unsigned x = 7;
	for (size_t i = 0; i < sizeof(junk); i++)
		junk[i] = (unsigned char)((x = x * 1103515245u + 12345u) >> 16);
	write_file(p, junk, sizeof(junk));
	json_object *res = run(p, NULL, "failed");
	ck_assert_ptr_nonnull(strstr(jstr(analysis_of(res), "error"), "not an ELF core"));
	json_object_put(res);
	/* an ELF header claiming a core, then nothing */
	memcpy(junk, "\177ELF\2\1\1", 7);
	junk[16] = ET_CORE;
	junk[17] = 0;
	write_file(p, junk, 64);
	res = run(p, NULL, "failed");
	json_object_put(res);
	unlink(p);
	rmdir(dir);
}
END_TEST

/* A truncated real core: answered or failed, never the parent's problem. */
START_TEST(test_truncated)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 1);
	int fd = open(tc.core, O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	ck_assert_int_eq(ftruncate(fd, st.st_size / 3), 0);
	close(fd);
	json_object *res = NULL;
	ck_assert_int_eq(analyze_run(tc.core, NULL, &res), 0);
	const char *status = jstr(analysis_of(res), "status");
	ck_assert(!strcmp(status, "ok") || !strcmp(status, "failed"));
	json_object_put(res);
	targetcore_remove(&tc);
}
END_TEST

START_TEST(test_limits)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 1);
	/* a wall clock too short for anything */
	struct analyze_opts o = { .sysroot_fd = -1, .timeout_ms = 1 };
	json_object *res = run(tc.core, &o, "failed");
	ck_assert_str_eq(jstr(analysis_of(res), "error"), "timed out after 0.001 s");
	json_object_put(res);
#if !defined(__SANITIZE_ADDRESS__)
	/* memory: the child cannot even map the core's modules */
	o = (struct analyze_opts){ .sysroot_fd = -1, .max_as = 8u << 20 };
	res = run(tc.core, &o, "failed");
	ck_assert_ptr_nonnull(jstr(analysis_of(res), "error"));
	json_object_put(res);
#endif
	targetcore_remove(&tc);
}
END_TEST

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path);
}

/* debuginfod mode: the sandbox with the network and the cache still answers
 * (the server here refuses every connection), the cache directory is made or
 * taken over, 0700 and the analysis user's, and a symlink in its place is
 * refused without touching its target; without URLs nothing of it happens. */
START_TEST(test_debuginfod)
{
	struct targetcore tc;
	char cache[192], target[192];
	struct stat st;
	targetcore_make(&tc, "wait", 1);
	ck_assert_int_eq(chmod(tc.mini, 0600), 0);
	ck_assert_int_eq(chmod(tc.dir, 0700), 0);
	snprintf(cache, sizeof(cache), "%s/debuginfod", tc.dir);
	snprintf(target, sizeof(target), "%s/elsewhere", tc.dir);

	struct analyze_opts o = { .sysroot_fd = -1, .debuginfod_cache = cache };
	json_object *res = run(tc.mini, &o, "ok"), *v;
	ck_assert(!json_object_object_get_ex(analysis_of(res), "debuginfod", &v));
	ck_assert_int_eq(lstat(cache, &st), -1);
	json_object_put(res);

	/* made by the parent; a root-owned 0755 one is taken over */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1) {
			ck_assert_int_eq(chown(cache, 0, 0), 0);
			ck_assert_int_eq(chmod(cache, 0755), 0);
		}
		o = (struct analyze_opts){ .sysroot_fd = -1, .debuginfod_urls = "http://127.0.0.1:1",
					   .debuginfod_timeout = 2, .debuginfod_cache = cache };
		res = run(tc.mini, &o, "ok");
		ck_assert_str_eq(jstr(analysis_of(res), "debuginfod"), "on");
		ck_assert(json_object_object_get_ex(res, "threads", &v));
		ck_assert_uint_ge(json_object_array_length(v), 2);
		json_object_put(res);
		ck_assert_int_eq(lstat(cache, &st), 0);
		ck_assert(S_ISDIR(st.st_mode));
		ck_assert_uint_eq(st.st_mode & 07777, 0700);
		if (geteuid() == 0)
			ck_assert_uint_ne(st.st_uid, 0);
	}

	/* a symlink where the cache should be: no debuginfod, still an answer */
	ck_assert_int_eq(mkdir(target, 0755), 0);
	ck_assert_int_eq(nftw(cache, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	ck_assert_int_eq(symlink(target, cache), 0);
	res = run(tc.mini, &o, "ok");
	ck_assert_str_eq(jstr(analysis_of(res), "debuginfod"), "cache: Not a directory");
	json_object_put(res);
	ck_assert_int_eq(stat(target, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0755);
	ck_assert_uint_eq(st.st_uid, geteuid());
	unlink(cache);
	rmdir(target);
	targetcore_remove(&tc);
}
END_TEST

static int64_t analyze_test_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t duration_of(json_object *res)
{
	json_object *v;
	ck_assert(json_object_object_get_ex(analysis_of(res), "duration_ms", &v));
	return json_object_get_int64(v);
}

/* A debuginfod server that never answers: a socket on 127.0.0.1 that listens
 * and accepts nothing (the kernel completes the handshakes). Returns its fd. */
static int silent_server(char *url, size_t len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 64), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	snprintf(url, len, "http://127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	return fd;
}

/* An analysis that waits on the server: the target runs from a copy without
 * its debug information (the analysis user reads it where it ran), so only
 * debuginfod could have its source lines, as for a stripped binary in the
 * field. (libdw asks through libdebuginfod.so.1, which it loads itself.) */
struct hang {
	char dir[64], prog[96], url[64], cache[192];
	int server;
};

static void hang_make(struct hang *h, struct targetcore *tc, int threads)
{
	snprintf(h->dir, sizeof(h->dir), "/tmp/mortem-an-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	ck_assert_int_eq(chmod(h->dir, 0755), 0);
	snprintf(h->prog, sizeof(h->prog), "%s/analyze_target", h->dir);
	const char *argv[] = { "objcopy", "--strip-debug", TARGET_PROG, h->prog, NULL };
	ck_assert_int_eq(targetcore_run_quiet(argv), 0);
	ck_assert_int_eq(chmod(h->prog, 0755), 0);
	targetcore_make_prog(tc, h->prog, "wait", threads);
	ck_assert_int_eq(chmod(tc->mini, 0600), 0);
	ck_assert_int_eq(chmod(tc->dir, 0700), 0);
	snprintf(h->cache, sizeof(h->cache), "%s/debuginfod", tc->dir);
	h->server = silent_server(h->url, sizeof(h->url));
}

static struct analyze_opts hang_opts(const struct hang *h, unsigned debuginfod_timeout,
				     const volatile sig_atomic_t *cut)
{
	return (struct analyze_opts){ .sysroot_fd = -1, .timeout_ms = 30000, .debuginfod_urls = h->url,
				      .debuginfod_timeout = debuginfod_timeout, .debuginfod_cache = h->cache,
				      .cut = cut };
}

static void hang_free(struct hang *h, struct targetcore *tc)
{
	close(h->server);
	(void)nftw(h->cache, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	targetcore_remove(tc);
	unlink(h->prog);
	rmdir(h->dir);
}

#define CUT_ERROR "cut short: the collector was stopping"

/* The cut set before the analysis starts: it ends at once, unanalysed. */
START_TEST(test_cut_preset)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 1);
	ck_assert_int_eq(chmod(tc.mini, 0600), 0);
	ck_assert_int_eq(chmod(tc.dir, 0700), 0);
	static volatile sig_atomic_t preset = 1;
	struct analyze_opts o = { .sysroot_fd = -1, .timeout_ms = 30000, .cut = &preset };
	json_object *res = run(tc.mini, &o, "failed"), *v;
	ck_assert_str_eq(jstr(analysis_of(res), "error"), CUT_ERROR);
	ck_assert(!json_object_object_get_ex(res, "threads", &v));
	int64_t ms = duration_of(res);
	ck_assert_msg(ms >= 0 && ms < 5000, "a preset cut took %lld ms", (long long)ms);
	json_object_put(res);
	targetcore_remove(&tc);
}
END_TEST

static volatile sig_atomic_t cut_flag;

static void on_alarm(int sig)
{
	cut_flag = 1;
}

/* The cut set by a signal 300 ms into an analysis that waits on a server that
 * never answers (20 s a request: it would run into the 30 s timeout): poll()
 * is interrupted and the analysis ends then, as at mortemd's stop. */
START_TEST(test_cut_by_signal)
{
	struct targetcore tc;
	struct hang h;
	hang_make(&h, &tc, 1);
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART: poll() sees EINTR */
	ck_assert_int_eq(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval it = { .it_value = { 0, 300 * 1000 } };
	struct analyze_opts o = hang_opts(&h, 20, &cut_flag);
	cut_flag = 0;
	ck_assert_int_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	json_object *res = run(tc.mini, &o, "failed");
	ck_assert_int_eq(cut_flag, 1);
	ck_assert_str_eq(jstr(analysis_of(res), "error"), CUT_ERROR);
	ck_assert_str_eq(jstr(analysis_of(res), "debuginfod"), "on");
	int64_t ms = duration_of(res);
	ck_assert_msg(ms >= 250 && ms < 5000, "cut 300 ms in, the analysis took %lld ms", (long long)ms);
	json_object_put(res);
	hang_free(&h, &tc);
}
END_TEST

static void *cut_later(void *arg)
{
	(void)nanosleep(&(struct timespec){ 0, 300 * 1000000L }, NULL);
	*(volatile sig_atomic_t *)arg = 1;
	return NULL;
}

/* The flag set with no signal to interrupt poll() (as when the signal comes
 * between the check and the poll): seen within a 200 ms slice all the same. */
START_TEST(test_cut_between_polls)
{
	struct targetcore tc;
	struct hang h;
	static volatile sig_atomic_t flag;
	pthread_t t;
	hang_make(&h, &tc, 1);
	struct analyze_opts o = hang_opts(&h, 20, &flag);
	ck_assert_int_eq(pthread_create(&t, NULL, cut_later, (void *)&flag), 0);
	json_object *res = run(tc.mini, &o, "failed");
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_str_eq(jstr(analysis_of(res), "error"), CUT_ERROR);
	int64_t ms = duration_of(res);
	ck_assert_msg(ms >= 250 && ms < 5000, "cut 300 ms in, the analysis took %lld ms", (long long)ms);
	json_object_put(res);
	hang_free(&h, &tc);
}
END_TEST

/* A cut that never comes: the analysis polls in 200 ms slices and still
 * answers, both a quick one and one that waits on the silent server for its
 * 1 s DEBUGINFOD_TIMEOUT (a few times over: many slices pass; this also
 * shows that the setup of the cut tests hangs). */
START_TEST(test_cut_unset)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 2);
	ck_assert_int_eq(chmod(tc.mini, 0600), 0);
	ck_assert_int_eq(chmod(tc.dir, 0700), 0);
	static volatile sig_atomic_t never = 0;
	struct analyze_opts o = { .sysroot_fd = -1, .timeout_ms = 30000, .crashed_tid = tc.tids[tc.ntids - 1],
				  .cut = &never };
	json_object *res = run(tc.mini, &o, "ok"), *v;
	ck_assert(json_object_object_get_ex(res, "threads", &v));
	ck_assert_uint_eq(json_object_array_length(v), 3);
	json_object_put(res);
	res = run(tc.core, &o, "ok");
	json_object_put(res);
	targetcore_remove(&tc);

	struct hang h;
	hang_make(&h, &tc, 2);
	o = hang_opts(&h, 1, &never);
	res = run(tc.mini, &o, "ok");
	ck_assert_str_eq(jstr(analysis_of(res), "debuginfod"), "on");
	ck_assert(json_object_object_get_ex(res, "threads", &v));
	ck_assert_uint_eq(json_object_array_length(v), 3);
	int64_t ms = duration_of(res);
	ck_assert_msg(ms >= 900 && ms < 25000, "waiting 1 s on debuginfod took %lld ms", (long long)ms);
	/* the child did ask the server (the connection waits in its queue) */
	struct pollfd p = { .fd = h.server, .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, 0), 1);
	json_object_put(res);
	hang_free(&h, &tc);
}
END_TEST

/* ---- the sandbox itself: what the child is, and what it may not outlive ---- */

static int64_t jint(json_object *o, const char *key)
{
	json_object *v;
	ck_assert_msg(json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int), "no %s", key);
	return json_object_get_int64(v);
}

static uid_t nobody_uid(void)
{
	struct passwd *pw = getpwnam("mortem");
	if (!pw)
		pw = getpwnam("nobody");
	ck_assert_ptr_nonnull(pw);
	return pw->pw_uid;
}

/* Measured inside the child once confined (analyze_state): the parent-death
 * signal and non-dumpability survive the uid change, because they are set
 * after it (the kernel clears both on a change of credentials). */
START_TEST(test_sandbox_state)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 1);
	ck_assert_int_eq(chmod(tc.mini, 0600), 0);
	ck_assert_int_eq(chmod(tc.dir, 0700), 0);
	struct analyze_opts o = { .sysroot_fd = -1 };
	json_object *res = run(tc.mini, &o, "ok"), *st;
	json_object *a = analysis_of(res);
	ck_assert(json_object_object_get_ex(a, "sandbox_state", &st));
	ck_assert_int_eq(jint(st, "pdeathsig"), SIGKILL);
	ck_assert_int_eq(jint(st, "dumpable"), 0);
	ck_assert_int_eq(jint(st, "no_new_privs"), 1);
	if (geteuid() == 0) {
		char want[64];
		ck_assert_int_eq(jint(st, "uid"), nobody_uid());
		ck_assert_int_ne(jint(st, "gid"), 0);
		ck_assert(!json_object_get_boolean(json_object_object_get(st, "any_uid_root")));
		snprintf(want, sizeof(want), "uid %u, gid %u", (unsigned)jint(st, "uid"), (unsigned)jint(st, "gid"));
		ck_assert_str_eq(jstr(a, "sandbox"), want);
	} else {
		ck_assert_str_eq(jstr(a, "sandbox"), "unprivileged: uid unchanged");
	}
	json_object_put(res);
	targetcore_remove(&tc);
}
END_TEST

/* Not root (a user running the tests, a fakeroot build): no uid to change,
 * everything else applies and the analysis answers, saying so. Run here by
 * a child of the test that made itself nobody first; it reports by exit
 * status (a check assertion in a grandchild would not reach the runner). */
START_TEST(test_unprivileged)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 2);
	ck_assert_int_eq(chmod(tc.mini, 0644), 0);
	ck_assert_int_eq(chmod(tc.dir, 0755), 0);
	uid_t nobody = nobody_uid();
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		if (geteuid() == 0 && (setgroups(0, NULL) < 0 || setresgid(nobody, nobody, nobody) < 0 ||
				       setresuid(nobody, nobody, nobody) < 0))
			_exit(10);
		struct analyze_opts o = { .sysroot_fd = -1, .crashed_tid = tc.tids[tc.ntids - 1] };
		json_object *res = NULL, *a, *st, *v;
		if (analyze_run(tc.mini, &o, &res) < 0 || !json_object_object_get_ex(res, "analysis", &a))
			_exit(11);
		const char *status = jstr(a, "status"), *sb = jstr(a, "sandbox");
		fprintf(stderr, "unprivileged analysis: %s (%s), sandbox %s\n", status ? status : "?",
			jstr(a, "error") ? jstr(a, "error") : "no error", sb ? sb : "?");
		if (!status || strcmp(status, "ok") != 0)
			_exit(12);
		if (!sb || strcmp(sb, "unprivileged: uid unchanged") != 0)
			_exit(13);
		if (!json_object_object_get_ex(res, "threads", &v) || json_object_array_length(v) != 3)
			_exit(14);
		if (!json_object_object_get_ex(a, "sandbox_state", &st))
			_exit(15);
		if (json_object_get_int(json_object_object_get(st, "pdeathsig")) != SIGKILL ||
		    json_object_get_int(json_object_object_get(st, "dumpable")) != 0 ||
		    json_object_get_int(json_object_object_get(st, "no_new_privs")) != 1 ||
		    json_object_get_int64(json_object_object_get(st, "uid")) != (int64_t)geteuid())
			_exit(16);
		json_object_put(res);
		_exit(0);
	}
	int status;
	ck_assert_int_eq(waitpid(p, &status, 0), p);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged run: status 0x%x", status);
	targetcore_remove(&tc);
}
END_TEST

/* The pid of a child of parent, or 0. */
static pid_t child_of(pid_t parent)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;
	ck_assert_ptr_nonnull(d);
	while (!found && (de = readdir(d))) {
		char path[300], line[256];
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", de->d_name);
		FILE *f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "PPid:", 5) && atoi(line + 5) == parent)
				found = (pid_t)atoi(de->d_name);
		fclose(f);
	}
	closedir(d);
	return found;
}

/* The value of field ("Seccomp:") in /proc/pid/status, or -1. */
static long status_field(pid_t pid, const char *field)
{
	char path[64], line[256];
	long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, strlen(field)))
			v = strtol(line + strlen(field), NULL, 10);
	fclose(f);
	return v;
}

/* A collector killed with SIGKILL takes its analysis with it: the child,
 * waiting on a debuginfod server that never answers (20 s a request), is
 * gone within a moment, by the parent-death signal. The test is the
 * subreaper, so the orphan comes to it and its end is seen by pid. While it
 * runs it is also looked at from outside: its uid, no_new_privs and filter
 * in /proc, and its /proc files owned by root (the kernel's sign of a
 * process that is not dumpable). */
START_TEST(test_parent_killed)
{
	struct targetcore tc;
	struct hang h;
	hang_make(&h, &tc, 1);
	ck_assert_int_eq(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	pid_t p = fork();
	ck_assert_int_ge(p, 0);
	if (p == 0) {
		struct analyze_opts o = hang_opts(&h, 20, NULL);
		json_object *res = NULL;
		(void)analyze_run(tc.mini, &o, &res);
		_exit(0);
	}
	pid_t c = 0;
	for (int i = 0; i < 500 && (c == 0 || status_field(c, "Seccomp:") != 2); i++) {
		if (c == 0)
			c = child_of(p);
		(void)nanosleep(&(struct timespec){ 0, 10 * 1000000L }, NULL);
	}
	ck_assert_msg(c > 0, "no analysis child of %d", (int)p);
	ck_assert_int_eq(status_field(c, "Seccomp:"), 2);
	ck_assert_int_eq(status_field(c, "NoNewPrivs:"), 1);
	if (geteuid() == 0) {
		char path[64];
		struct stat st;
		ck_assert_int_eq(status_field(c, "Uid:"), nobody_uid());
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)c);
		ck_assert_int_eq(stat(path, &st), 0);
		ck_assert_msg(st.st_uid == 0, "/proc/%d owned by %u: the child is dumpable", (int)c, st.st_uid);
	}
	/* still waiting on the server (a grandchild: not ours to wait for yet) */
	(void)nanosleep(&(struct timespec){ 0, 300 * 1000000L }, NULL);
	ck_assert_int_eq(kill(c, 0), 0);
	ck_assert_int_eq(waitpid(p, NULL, WNOHANG), 0);

	ck_assert_int_eq(kill(p, SIGKILL), 0);
	ck_assert_int_eq(waitpid(p, NULL, 0), p);
	int64_t t0 = analyze_test_now_ms(), status = 0;
	pid_t w = 0;
	while (w == 0 && analyze_test_now_ms() - t0 < 2000) {
		int st;
		w = waitpid(c, &st, WNOHANG);
		status = st;
		if (w == 0)
			(void)nanosleep(&(struct timespec){ 0, 5 * 1000000L }, NULL);
	}
	if (w == 0)
		(void)kill(c, SIGKILL);
	ck_assert_msg(w == c, "the analysis child %d outlived its killed parent by 2 s", (int)c);
	ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status 0x%x", (unsigned)status);
	fprintf(stderr, "parent killed: the analysis child went %lld ms later\n",
		(long long)(analyze_test_now_ms() - t0));
	hang_free(&h, &tc);
}
END_TEST

/* A FIFO where a mapped module was (a user in its own mount namespace can put
 * one there on the host's side of a path): an open of it would wait for a
 * writer until the deadline. The analysis answers at once, and the module
 * says why it was not read. A FIFO for the minicore itself is refused too, by
 * the parent, which has no deadline of its own. */
START_TEST(test_fifo_module)
{
	struct targetcore tc;
	char dir[] = "/tmp/mortem-fifo-XXXXXX", prog[96];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(prog, sizeof(prog), "%s/analyze_target", dir);
	const char *argv[] = { "cp", TARGET_PROG, prog, NULL };
	ck_assert_int_eq(targetcore_run_quiet(argv), 0);
	targetcore_make_prog(&tc, prog, "wait", 1);
	ck_assert_int_eq(chmod(tc.mini, 0600), 0);
	ck_assert_int_eq(chmod(tc.dir, 0700), 0);
	ck_assert_int_eq(unlink(prog), 0);
	ck_assert_int_eq(mkfifo(prog, 0666), 0);
	ck_assert_int_eq(chmod(prog, 0666), 0); /* (the umask) readable by the analysis user */

	/* the caller blocks SIGALRM, as one with a signalfd would: the child
	 * must unblock it for its timer to interrupt anything */
	sigset_t alrm;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	ck_assert_int_eq(sigprocmask(SIG_BLOCK, &alrm, NULL), 0);
	struct analyze_opts o = { .sysroot_fd = -1, .timeout_ms = 20000 };
	json_object *res = NULL, *mods;
	ck_assert_int_eq(analyze_run(tc.mini, &o, &res), 0);
	json_object *a = analysis_of(res);
	const char *err = jstr(a, "error");
	ck_assert_msg(!err || !strstr(err, "timed out"), "a FIFO module: %s", err);
	ck_assert_msg(!strcmp(jstr(a, "status"), "ok"), "status %s (%s)", jstr(a, "status"), err ? err : "");
	int64_t ms = duration_of(res);
	ck_assert_msg(ms < 3000, "a FIFO module cost %lld ms", (long long)ms);
	ck_assert(json_object_object_get_ex(res, "modules", &mods));
	bool seen = false;
	for (size_t i = 0; i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);
		if (!jstr(m, "path") || strcmp(jstr(m, "path"), prog) != 0)
			continue;
		seen = true;
		ck_assert_str_eq(jstr(m, "on_disk"), "unreadable");
		ck_assert_str_eq(jstr(m, "open_error"), "not a regular file");
	}
	ck_assert_msg(seen, "no module %s", prog);
	fprintf(stderr, "a FIFO module: analysis in %lld ms\n", (long long)ms);
	json_object_put(res);

	/* the minicore path a FIFO */
	char fifo[128];
	snprintf(fifo, sizeof(fifo), "%s/mini-fifo", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	res = run(fifo, &o, "failed");
	ck_assert_str_eq(jstr(analysis_of(res), "error"), "opening minicore: not a regular file");
	json_object_put(res);
	unlink(fifo);
	unlink(prog);
	rmdir(dir);
	targetcore_remove(&tc);
}
END_TEST

/* A syscall off the allowlist ends the child by the trap, not by a signal
 * that would dump core, and the record names it. */
START_TEST(test_seccomp_refused)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 1);
	ck_assert_int_eq(chmod(tc.mini, 0600), 0);
	ck_assert_int_eq(chmod(tc.dir, 0700), 0);
	struct analyze_opts o = { .sysroot_fd = -1, .probe_syscall = SYS_socket };
	json_object *res = run(tc.mini, &o, "failed"), *v;
	char want[64];
	snprintf(want, sizeof(want), "refused by seccomp: syscall %d (socket)", (int)SYS_socket);
	ck_assert_str_eq(jstr(analysis_of(res), "error"), want);
	ck_assert(!json_object_object_get_ex(res, "threads", &v));
	json_object_put(res);
	targetcore_remove(&tc);
}
END_TEST

static Suite *analyze_suite(void)
{
	Suite *s = suite_create("analyze");
	TCase *tc = tcase_create("analyze");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_ok);
	tcase_add_test(tc, test_skipped_and_missing);
	tcase_add_test(tc, test_hostile);
	tcase_add_test(tc, test_truncated);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_debuginfod);
	tcase_add_test(tc, test_cut_preset);
	tcase_add_test(tc, test_cut_by_signal);
	tcase_add_test(tc, test_cut_between_polls);
	tcase_add_test(tc, test_cut_unset);
	tcase_add_test(tc, test_sandbox_state);
	tcase_add_test(tc, test_unprivileged);
	tcase_add_test(tc, test_parent_killed);
	tcase_add_test(tc, test_fifo_module);
	tcase_add_test(tc, test_seccomp_refused);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(analyze_suite());
}
