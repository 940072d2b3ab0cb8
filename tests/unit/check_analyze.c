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
#include <sys/time.h>

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
	/* and the target's own binary, when the build directory is one the
	 * child cannot search (a 0700 mktemp -d), through the descriptor the
	 * collector would pass (opened by proc_open_lost_files) */
	if (targetcore_is_root() && !targetcore_others_reach(TARGET_PROG))
		ck_assert_msg(tc.n_files > 0, "%s is out of others' reach, but no file was opened for it", TARGET_PROG);
	struct analyze_opts o = { .sysroot_fd = -1, .crashed_tid = tc.tids[tc.ntids - 1], .files = tc.files,
				  .n_files = tc.n_files };
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
			if (geteuid() != 0) {
				printf("  SKIP    %s (a root-owned cache taken over): not root\n", __func__);
				break;
			}
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
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	/* every case here runs the sandbox */
	const char *why = targetcore_no_sandbox();
	if (why) {
		printf("  SKIP    check_analyze: %s\n", why);
		return 0;
	}
	return testutil_run(analyze_suite());
}
