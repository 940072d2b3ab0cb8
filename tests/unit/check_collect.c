/* collect: argument parsing, and the whole pipeline on a synthetic core into a
 * temp store (real zstd, SQLite, json-c; no kernel). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/collect.h"
#include "fakecore.h"
#include "store/index.h"
#include "store/record.h"
#include "store/store.h"
#include "testutil.h"
#include "base/util.h"
#include "core/zst.h"

START_TEST(test_args_systemd_order)
{
	struct crash_args a;
	const char *v[] = { "1234", "1000", "100", "11", "1795000000", "18446744073709551615", "web-1", "1", NULL };
	crash_args_parse(8, v, &a);
	ck_assert_uint_eq(a.n_problems, 0);
	ck_assert_int_eq(a.pid, 1234);
	ck_assert_int_eq(a.uid, 1000);
	ck_assert_int_eq(a.gid, 100);
	ck_assert_int_eq(a.signal, 11);
	ck_assert_int_eq(a.kernel_time, 1795000000);
	ck_assert(a.has_rlimit);
	ck_assert_uint_eq(a.rlimit_core, UINT64_MAX);
	ck_assert_str_eq(a.hostname, "web-1");
	ck_assert_int_eq(a.dumpable, 1);
	ck_assert_int_eq(a.pidfd, -1);
}
END_TEST

START_TEST(test_args_garbage_is_recorded_not_fatal)
{
	struct crash_args a;
	const char *few[] = { "12", "0", NULL };
	crash_args_parse(2, few, &a);
	ck_assert_int_eq(a.pid, 12);
	ck_assert_uint_ge(a.n_problems, 1);
	ck_assert_ptr_nonnull(strstr(a.problems[0], "too few"));

	const char *bad[] = { "abc", "-1", "0x10", "99", "", "1k", "h", "7", "999999", NULL };
	crash_args_parse(9, bad, &a);
	ck_assert_int_eq(a.pid, 0);
	ck_assert_int_eq(a.uid, -1);
	ck_assert_int_eq(a.gid, -1);
	ck_assert_int_eq(a.signal, 0);
	ck_assert(!a.has_rlimit);
	ck_assert_int_eq(a.dumpable, -1);
	ck_assert_int_eq(a.pidfd, -1);
	ck_assert_uint_eq(a.n_problems, 8);
}
END_TEST

static char root[] = "/tmp/check_collect.XXXXXX";

static void setup_cfg(struct mortem_config *cfg)
{
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(config_init(cfg), 0);
	free(cfg->store_path);
	cfg->store_path = strdup(root);
}

static int feed(const void *buf, size_t len)
{
	FILE *f = tmpfile();
	int fd = dup(fileno(f));
	fclose(f);
	ck_assert_int_eq(write_all(fd, buf, len), 0);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

/* The collector's path: the core on an fd, captured here. */
static int run_fd(const struct mortem_config *cfg, const struct crash_args *a, int fd, struct collect_outcome *out)
{
	struct collect_source src = { .fd = fd, .spill_fd = -1, .held_usec = -1, .pool_fd = -1 };
	return collect_run(cfg, a, NULL, &src, out);
}

static json_object *load(const struct mortem_config *cfg, const char *id)
{
	char p[512];
	json_object *rec = NULL;
	snprintf(p, sizeof(p), "%s/store/%s.json", cfg->store_path, id);
	ck_assert_int_eq(record_load(p, &rec), 0);
	return rec;
}

START_TEST(test_pipeline_stores_indexes_and_restores)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	struct fakecore fc;
	const char *v[] = { "4000000", "0", "0", "11", "1795000000", "18446744073709551615", "host", NULL };

	setup_cfg(&cfg);
	fakecore_make(&fc);
	crash_args_parse(7, v, &a);
	a.pid = 0; /* no such process: capture is skipped */
	ck_assert_int_eq(run_fd(&cfg, &a, feed(fc.buf, fc.len), &out), 0);
	ck_assert(out.published);
	ck_assert(out.indexed);
	ck_assert_str_eq(out.status, "stored");

	json_object *rec = load(&cfg, out.id);
	json_object *core = record_obj(rec, "core");
	ck_assert_str_eq(record_str(core, "status", ""), "stored");
	ck_assert_int_eq(record_i64(core, "size", 0), (int64_t)fc.len);
	ck_assert_str_eq(record_str(rec, "signal_name", ""), "SIGSEGV");
	ck_assert_str_eq(record_str(rec, "hostname", ""), "host");
	/* recompressed after release at RecompressLevel, and the record says so */
	struct stat sb;
	ck_assert_int_eq(stat(record_str(core, "path", ""), &sb), 0);
	ck_assert_int_eq(record_i64(core, "stored_size", 0), sb.st_size);
	ck_assert_int_eq(record_i64(core, "level", 0), cfg.recompress_level);
	/* the stored core restores byte for byte */
	int in = open(record_str(core, "path", ""), O_RDONLY);
	FILE *f = tmpfile();
	int out_fd = dup(fileno(f));
	uint64_t n = 0;
	ck_assert_int_eq(zst_decompress_fd(in, out_fd, &n), 0);
	ck_assert_uint_eq(n, fc.len);
	unsigned char *back = malloc(fc.len);
	ck_assert_int_eq((int)pread(out_fd, back, fc.len, 0), (int)fc.len);
	ck_assert_int_eq(memcmp(back, fc.buf, fc.len), 0);
	ck_assert_int_eq(record_i64(record_obj(rec, "minicore"), "threads", 0), 2);

	/* the index has the row */
	struct store st;
	sqlite3 *db;
	struct index_row *rows;
	size_t nr;
	struct index_filter flt = { .match = out.id };
	ck_assert_int_eq(store_init(&st, cfg.store_path), 0);
	ck_assert_int_eq(index_open(st.index_path, &db), 0);
	ck_assert_int_eq(index_query(db, &flt, &rows, &nr), 0);
	ck_assert_uint_eq(nr, 1);
	index_rows_free(rows, nr);
	index_close(db);
	/* nothing left in the spool */
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", st.spool_dir);
	ck_assert_int_eq(system(cmd), 0);
	json_object_put(rec);
	free(back);
	free(fc.buf);
	store_free(&st);
	config_free(&cfg);
}
END_TEST

/* mortemd's path: captured first (the pending note is there while the crash
 * waits), the core from memory, released before the pipeline runs. */
START_TEST(test_pipeline_from_memory)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	struct crash_capture cap;
	struct fakecore fc;
	const char *v[] = { "0", "0", "0", "11", "1795000000", "18446744073709551615", "host", NULL };
	char p[600];
	int pool[2];

	setup_cfg(&cfg);
	fakecore_make(&fc);
	crash_args_parse(7, v, &a);
	collect_capture(&cfg, &a, "socket", &cap);
	ck_assert_int_ge(cap.lock_fd, 0);
	snprintf(p, sizeof(p), "%s/spool/%s.pending", cfg.store_path, cap.id);
	ck_assert_int_eq(access(p, F_OK), 0);
	json_object *note = json_object_from_file(p);
	ck_assert_str_eq(record_str(note, "mode", ""), "socket");
	ck_assert_int_eq(record_i64(note, "signal", 0), 11);
	json_object_put(note);

	ck_assert_int_eq(pipe(pool), 0);
	struct iovec pre[2] = { { fc.buf, 1000 }, { fc.buf + 1000, fc.len - 1000 } };
	struct collect_source src = { .pre = pre, .n_pre = 2, .fd = -1, .spill_fd = -1, .held_usec = 1234,
				      .pool_fd = pool[1], .buffer = "pool" };
	ck_assert_int_eq(collect_run(&cfg, &a, &cap, &src, &out), 0);
	/* the pool's end was closed: mortemd sees EOF */
	char c;
	ck_assert_int_eq((int)read(pool[0], &c, 1), 0);
	close(pool[0]);
	ck_assert_str_eq(out.status, "stored");
	ck_assert_int_eq(out.held_usec, 1234);
	json_object *rec = load(&cfg, out.id);
	ck_assert_str_eq(record_str(record_obj(rec, "collector"), "mode", ""), "socket");
	ck_assert_str_eq(record_str(record_obj(rec, "collector"), "buffer", ""), "pool");
	ck_assert_int_eq(record_i64(record_obj(rec, "core"), "size", 0), (int64_t)fc.len);
	ck_assert_int_eq(record_i64(record_obj(rec, "minicore"), "threads", 0), 2);
	/* published: the note is gone */
	ck_assert_int_ne(access(p, F_OK), 0);
	json_object_put(rec);
	free(fc.buf);
	config_free(&cfg);
}
END_TEST

/* mortemd's spill: the head from the pool, the rest from the spill file; a
 * spill that could not be written loses the core (not a core with a hole)
 * but keeps the record, which says why. */
START_TEST(test_pipeline_from_spill)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	struct crash_capture cap;
	struct fakecore fc;
	const char *v[] = { "0", "0", "0", "11", "1795000000", "18446744073709551615", "host", NULL };

	setup_cfg(&cfg);
	fakecore_make(&fc);
	crash_args_parse(7, v, &a);
	for (int fail = 0; fail < 2; fail++) {
		collect_capture(&cfg, &a, "handoff", &cap);
		struct iovec pre = { fc.buf, 2000 };
		size_t spilled = fail ? (fc.len - 2000) / 2 : fc.len - 2000;
		int sp = feed(fc.buf + 2000, spilled);
		lseek(sp, 0, SEEK_END); /* mortemd rewinds; so does the worker */
		lseek(sp, 0, SEEK_SET);
		struct collect_source src = { .pre = &pre, .n_pre = 1, .fd = -1, .spill_fd = sp,
					      .spill_err = fail ? -ENOSPC : 0, .held_usec = 99, .pool_fd = -1,
					      .buffer = "spill" };
		ck_assert_int_eq(collect_run(&cfg, &a, &cap, &src, &out), 0);
		ck_assert(out.published);
		json_object *rec = load(&cfg, out.id), *core = record_obj(rec, "core");
		ck_assert_str_eq(record_str(record_obj(rec, "collector"), "buffer", ""), "spill");
		char zp[600];
		snprintf(zp, sizeof(zp), "%s/store/%s.core.zst", cfg.store_path, out.id);
		if (!fail) {
			ck_assert_str_eq(out.status, "stored");
			ck_assert_int_eq(record_i64(core, "size", 0), (int64_t)fc.len);
			ck_assert_int_eq(access(zp, F_OK), 0);
		} else {
			ck_assert_str_eq(out.status, "error");
			ck_assert_ptr_nonnull(strstr(record_str(core, "reason", ""), "spill"));
			ck_assert_ptr_nonnull(strstr(record_str(core, "reason", ""), strerror(ENOSPC)));
			ck_assert_int_ne(access(zp, F_OK), 0);
			/* the minicore from the head is still there */
			ck_assert_int_eq(record_i64(record_obj(rec, "minicore"), "threads", 0), 2);
		}
		json_object_put(rec);
	}
	free(fc.buf);
	config_free(&cfg);
}
END_TEST

/* The collector's own spill (mortem-collect): a core whose head announces at
 * least spill_min goes raw into the spool, claimed in the policy's hold of the
 * quota lock, and is compressed after the release; a core the policy will not
 * keep is never spilled, and its head, read before the policy was asked,
 * still reaches the minicore. */
START_TEST(test_pipeline_collector_spill)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	struct fakecore fc;
	const char *v[] = { "0", "0", "0", "11", "1795000000", "18446744073709551615", "host", NULL };

	setup_cfg(&cfg);
	fakecore_make(&fc);
	/* 3 MiB more in the last segment, every other page zero */
	size_t extra = 3u << 20, len = fc.len + extra;
	unsigned char *big = realloc(fc.buf, len);
	ck_assert_ptr_nonnull(big);
	Elf64_Phdr *l = (Elf64_Phdr *)(big + sizeof(Elf64_Ehdr) + FC_SEGS * sizeof(Elf64_Phdr));
	ck_assert_uint_eq(l->p_offset + l->p_filesz, fc.len);
	l->p_filesz += extra;
	l->p_memsz += extra;
	for (size_t b = fc.len; b < len; b++)
		big[b] = (b / FC_PAGE) % 2 ? 0 : fc_byte(l->p_vaddr + (b - l->p_offset));
	crash_args_parse(7, v, &a);
	a.pid = 0;
	/* (no recompression: the spill is compressed once, at the final level) */
	cfg.recompress_inline = 0;
	for (int skip = 0; skip < 2; skip++) {
		if (skip)
			cfg.max_use = (struct config_quota){ .bytes = 1000 }; /* metadata only */
		struct collect_source src = { .fd = feed(big, len), .spill_fd = -1, .held_usec = -1, .pool_fd = -1,
					      .spill_min = 1u << 20 };
		ck_assert_int_eq(collect_run(&cfg, &a, NULL, &src, &out), 0);
		json_object *rec = load(&cfg, out.id), *core = record_obj(rec, "core");
		ck_assert_str_eq(record_str(record_obj(rec, "collector"), "buffer", ""), skip ? "inline" : "spill");
		ck_assert_str_eq(out.status, skip ? "skipped" : "stored");
		ck_assert_int_eq(record_i64(record_obj(rec, "minicore"), "threads", 0), 2);
		if (!skip) {
			ck_assert_int_eq(record_i64(core, "size", 0), (int64_t)len);
			ck_assert_int_eq(record_i64(core, "level", 0), cfg.recompress_level);
			int in = open(record_str(core, "path", ""), O_RDONLY);
			FILE *f = tmpfile();
			int out_fd = dup(fileno(f));
			uint64_t n = 0;
			ck_assert_int_eq(zst_decompress_fd(in, out_fd, &n), 0);
			ck_assert_uint_eq(n, len);
			unsigned char *back = malloc(len);
			ck_assert_int_eq((int)pread(out_fd, back, len, 0), (int)len);
			ck_assert_int_eq(memcmp(back, big, len), 0);
			free(back);
			close(in);
			close(out_fd);
			fclose(f);
		}
		json_object_put(rec);
		/* no spill file (nor anything else) is left in the spool */
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s/spool)\"", cfg.store_path);
		ck_assert_int_eq(system(cmd), 0);
	}
	free(big);
	config_free(&cfg);
}
END_TEST

/* One compression pass where the bytes are read after the release: mortemd's
 * pool goes straight to RecompressLevel=, with no recompression to wait for
 * (RecompressInline=0 turns that one off, so a fast frame would stay fast);
 * an inline core is compressed fast, and recompressed only with
 * RecompressInline=1; the record says which level is on disk. */
START_TEST(test_one_pass_after_release)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	struct crash_capture cap;
	struct fakecore fc;
	const char *v[] = { "0", "0", "0", "11", "1795000000", "18446744073709551615", "host", NULL };

	setup_cfg(&cfg);
	fakecore_make(&fc);
	crash_args_parse(7, v, &a);
	cfg.recompress_inline = 0;
	collect_capture(&cfg, &a, "socket", &cap);
	struct iovec pre = { fc.buf, fc.len };
	struct collect_source src = { .pre = &pre, .n_pre = 1, .fd = -1, .spill_fd = -1, .held_usec = 10,
				      .pool_fd = -1, .buffer = "pool" };
	ck_assert_int_eq(collect_run(&cfg, &a, &cap, &src, &out), 0);
	json_object *rec = load(&cfg, out.id);
	ck_assert_int_eq(record_i64(record_obj(rec, "core"), "level", 0), 3);
	json_object_put(rec);

	/* inline, RecompressInline=0: the fast frame stays */
	a.pid = 0;
	ck_assert_int_eq(run_fd(&cfg, &a, feed(fc.buf, fc.len), &out), 0);
	rec = load(&cfg, out.id);
	ck_assert_int_eq(record_i64(record_obj(rec, "core"), "level", 0), cfg.compress_level);
	json_object_put(rec);

	cfg.recompress_inline = 1;
	/* RecompressInline=1, a slot free: recompressed */
	ck_assert_int_eq(run_fd(&cfg, &a, feed(fc.buf, fc.len), &out), 0);
	rec = load(&cfg, out.id);
	ck_assert_int_eq(record_i64(record_obj(rec, "core"), "level", 0), cfg.recompress_level);
	json_object_put(rec);
	free(fc.buf);
	config_free(&cfg);
}
END_TEST

START_TEST(test_pipeline_statuses)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	struct fakecore fc;
	const char *v[] = { "1", "0", "0", "6", "1795000000", "18446744073709551615", "host", NULL };

	setup_cfg(&cfg);
	fakecore_make(&fc);
	crash_args_parse(7, v, &a);
	a.pid = 0;

	ck_assert_int_eq(run_fd(&cfg, &a, feed("", 0), &out), 0);
	ck_assert_str_eq(out.status, "error");
	json_object *rec = load(&cfg, out.id);
	ck_assert_ptr_nonnull(strstr(record_str(record_obj(rec, "core"), "reason", ""), "empty"));
	ck_assert(json_object_is_type(json_object_object_get(record_obj(rec, "core"), "path"), json_type_null));
	json_object_put(rec);

	ck_assert_int_eq(run_fd(&cfg, &a, feed(fc.buf, fc.len / 2), &out), 0);
	ck_assert_str_eq(out.status, "truncated");

	ck_assert_int_eq(run_fd(&cfg, &a, feed("garbage garbage", 15), &out), 0);
	ck_assert_str_eq(out.status, "error");
	rec = load(&cfg, out.id);
	ck_assert_ptr_nonnull(strstr(record_str(record_obj(rec, "core"), "reason", ""), "not an ELF core"));
	ck_assert_ptr_nonnull(record_str(record_obj(rec, "core"), "path", NULL)); /* bytes kept */
	json_object_put(rec);

	/* unknown uid and gid: still published and indexed */
	const char *bad[] = { "1", "x", "-5", "6", NULL };
	struct crash_args b;
	crash_args_parse(4, bad, &b);
	b.pid = 0;
	ck_assert_int_eq(run_fd(&cfg, &b, feed(fc.buf, fc.len), &out), 0);
	ck_assert(out.indexed);
	rec = load(&cfg, out.id);
	ck_assert_int_eq(record_i64(rec, "uid", 0), -1);
	ck_assert_ptr_nonnull(json_object_object_get(rec, "argv_problems"));
	json_object_put(rec);

	cfg.max_core_size = 4096;
	ck_assert_int_eq(run_fd(&cfg, &a, feed(fc.buf, fc.len), &out), 0);
	ck_assert_str_eq(out.status, "too-large");
	rec = load(&cfg, out.id);
	ck_assert(json_object_is_type(json_object_object_get(record_obj(rec, "core"), "path"), json_type_null));
	json_object_put(rec);
	free(fc.buf);
	config_free(&cfg);
}
END_TEST

START_TEST(test_unusable_store_still_drains)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct collect_outcome out;
	struct fakecore fc;
	const char *v[] = { "1", "0", "0", "6", "1795000000", "18446744073709551615", "host", NULL };
	int p[2];

	ck_assert_int_eq(config_init(&cfg), 0);
	free(cfg.store_path);
	cfg.store_path = strdup("/proc/mortem-cannot-exist");
	fakecore_make(&fc);
	crash_args_parse(7, v, &a);
	a.pid = 0;
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		_exit(write_all(p[1], fc.buf, fc.len) < 0);
	}
	close(p[1]);
	ck_assert_int_eq(run_fd(&cfg, &a, p[0], &out), -EIO);
	ck_assert(!out.published);
	ck_assert_str_eq(out.status, "error");
	int st = 0;
	waitpid(pid, &st, 0);
	/* the writer was not stuck: the whole core was read */
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	free(fc.buf);
	config_free(&cfg);
}
END_TEST

/* Pipe mode with %F: /proc/PID is read only when it is the pidfd's process;
 * a mismatch is recorded, nothing of /proc/PID is read (not even its root),
 * and the capture goes on (id, lock, pending note). mortemd's hand-off checks
 * its own pidfd: there, the argument is not used. */
START_TEST(test_capture_pidfd_mismatch)
{
	struct mortem_config cfg;
	struct crash_args a;
	struct crash_capture cap;
	char pidbuf[16], fdbuf[16];

	setup_cfg(&cfg);
	pid_t kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		pause();
		_exit(0);
	}
	int pidfd = (int)syscall(SYS_pidfd_open, kid, 0);
	ck_assert_int_ge(pidfd, 0);
	snprintf(fdbuf, sizeof(fdbuf), "%d", pidfd);

	/* the pidfd is the child's, the pid ours: a reused pid, as it were */
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
	const char *v[] = { pidbuf, "0", "0", "11", "1795000000", "18446744073709551615", "host", "1", fdbuf, NULL };
	crash_args_parse(9, v, &a);
	ck_assert_int_eq(a.pidfd, pidfd);
	collect_capture(&cfg, &a, "pipe", &cap);
	json_object *err = record_obj(cap.proc, "errors");
	ck_assert_ptr_nonnull(strstr(record_str(err, "proc", ""), "is not the process of the kernel's pidfd"));
	ck_assert(!json_object_object_get_ex(cap.proc, "comm", NULL));
	ck_assert_int_eq(cap.root_fd, -1);
	ck_assert_int_ge(cap.lock_fd, 0);
	collect_capture_abandon(&cfg, &cap);

	/* the hand-off's arguments: the pidfd is not ours to check */
	collect_capture(&cfg, &a, "handoff", &cap);
	ck_assert_str_eq(record_str(cap.proc, "comm", ""), "check_collect");
	ck_assert_int_ge(cap.root_fd, 0);
	collect_capture_abandon(&cfg, &cap);

	/* the pidfd's own process: read, under the default budget */
	snprintf(pidbuf, sizeof(pidbuf), "%d", (int)kid);
	crash_args_parse(9, v, &a);
	collect_capture(&cfg, &a, "pipe", &cap);
	ck_assert_str_eq(record_str(cap.proc, "comm", ""), "check_collect");
	ck_assert_int_ge(cap.root_fd, 0);
	ck_assert_int_ge(record_i64(cap.proc, "capture_usec", -1), 0);
	collect_capture_abandon(&cfg, &cap);

	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	close(pidfd);
	config_free(&cfg);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("collect");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_args_systemd_order);
	tcase_add_test(tc, test_args_garbage_is_recorded_not_fatal);
	tcase_add_test(tc, test_pipeline_stores_indexes_and_restores);
	tcase_add_test(tc, test_one_pass_after_release);
	tcase_add_test(tc, test_pipeline_statuses);
	tcase_add_test(tc, test_pipeline_from_memory);
	tcase_add_test(tc, test_pipeline_from_spill);
	tcase_add_test(tc, test_pipeline_collector_spill);
	tcase_add_test(tc, test_unusable_store_still_drains);
	tcase_add_test(tc, test_capture_pidfd_mismatch);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
