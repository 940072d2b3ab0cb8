/* collect_spill: a core announced by its program headers is drained into
 * spool/<id>.raw.tmp, sparse, and reads back whole; a small one stays in
 * memory; the budget (SpillMax) refuses one that does not fit; a core longer
 * than announced, and a write that fails, go on inline with not a byte lost:
 * the file, then rest, then the pipe are the input exactly. */
#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "collect/collect_spill.h"
#include "fakecore.h"
#include "store/quota.h"
#include "testutil.h"
#include "base/util.h"

#define MI (1u << 20)

static char root[] = "/var/tmp/check_collect_spill.XXXXXX";
static struct store st;
static struct mortem_config cfg;

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(root));
	ck_assert_int_eq(config_init(&cfg), 0);
	cfg.keep_free = (struct config_quota){ .bytes = 0 };
	ck_assert_int_eq(store_init(&st, root), 0);
	ck_assert_int_eq(store_mkdirs(&st), 0);
}

static void teardown(void)
{
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
	(void)!system(cmd);
	store_free(&st);
	config_free(&cfg);
}

/* An ELF core head announcing `announced` bytes (one PT_LOAD after the first
 * page), then data up to len: 1 MiB of pattern, 1 MiB of zeros, and so on. */
static unsigned char *make_core(size_t announced, size_t len)
{
	unsigned char *b = calloc(1, len);
	ck_assert_ptr_nonnull(b);
	for (size_t i = 4096; i < len; i++)
		if ((i / MI) % 2 == 0)
			b[i] = (unsigned char)(i * 31 + 7) | 1;
	fc_ehdr(b, sizeof(Elf64_Ehdr), 1);
	Elf64_Phdr ph = { .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = 4096, .p_vaddr = 0x10000,
			  .p_filesz = announced - 4096, .p_memsz = announced - 4096, .p_align = 4096 };
	memcpy(b + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	return b;
}

/* The three steps as mortem-collect takes them (collect.c asks the budget
 * inside the policy's hold of the quota lock). */
static int collect_spill_run(const struct store *s, const struct mortem_config *c, const char *id, int in_fd,
			     uint64_t min, struct collect_spill *cs)
{
	int lk = -1, r = collect_spill_head(c, in_fd, min, cs);
	if (r < 0)
		return r;
	ck_assert_int_eq(quota_lock(s, &lk), 0);
	collect_spill_reserve(s, c, id, cs);
	close(lk);
	collect_spill_drain(cs, in_fd);
	return 0;
}

/* A pipe whose writer (a child) sends buf and closes. */
static int feed_pipe(const unsigned char *buf, size_t len, pid_t *child)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	*child = fork();
	ck_assert_int_ge(*child, 0);
	if (*child == 0) {
		close(p[0]);
		_exit(write_all(p[1], buf, len) == 0 ? 0 : 1);
	}
	close(p[1]);
	return p[0];
}

/* What the caller would stream: the file, rest, then the pipe. */
static unsigned char *read_back(const struct collect_spill *cs, int in_fd, size_t *ret_len)
{
	size_t cap = 64 * MI, n = 0;
	unsigned char *out = malloc(cap);
	ck_assert_ptr_nonnull(out);
	if (cs->written > 0) {
		ck_assert_int_ge(cs->fd, 0);
		ck_assert_int_eq(lseek(cs->fd, 0, SEEK_SET), 0);
		ssize_t k;
		while ((k = read(cs->fd, out + n, cap - n)) > 0)
			n += (size_t)k;
		ck_assert_int_eq(k, 0);
		ck_assert_uint_eq(n, cs->written);
	}
	for (size_t i = 0; i < cs->n_rest; i++) {
		memcpy(out + n, cs->rest[i].iov_base, cs->rest[i].iov_len);
		n += cs->rest[i].iov_len;
	}
	if (!cs->whole) {
		ssize_t k;
		while ((k = read(in_fd, out + n, cap - n)) > 0)
			n += (size_t)k;
	} else {
		char c;
		ck_assert_int_eq(read(in_fd, &c, 1), 0); /* whole: the pipe was at its end */
	}
	*ret_len = n;
	return out;
}

/* The caller's stream, read back, is the core, byte for byte; then all is
 * released: the spill, the pipe and its writer. */
static void expect_back(struct collect_spill *cs, int fd, pid_t child, const unsigned char *core, size_t len)
{
	size_t n;
	unsigned char *back = read_back(cs, fd, &n);
	ck_assert_uint_eq(n, len);
	ck_assert(memcmp(back, core, len) == 0);
	int wst;
	ck_assert_int_eq(waitpid(child, &wst, 0), child);
	collect_spill_free(cs);
	close(fd);
	free(back);
}

static void run(size_t announced, size_t len, uint64_t min, struct collect_spill *cs, bool expect_file)
{
	unsigned char *core = make_core(announced, len);
	pid_t child;
	int fd = feed_pipe(core, len, &child);
	ck_assert_int_eq(collect_spill_run(&st, &cfg, "1-test", fd, min, cs), 0);
	char p[600];
	snprintf(p, sizeof(p), "%s/1-test.raw.tmp", st.spool_dir);
	/* named in the spool while it lives, so that other collectors count it */
	ck_assert_int_eq(access(p, F_OK) == 0, expect_file);
	expect_back(cs, fd, child, core, len);
	ck_assert_int_ne(access(p, F_OK), 0);
	free(core);
}

START_TEST(test_whole_and_sparse)
{
	struct collect_spill cs;
	size_t len = 6 * MI + 12345;
	unsigned char *core = make_core(len, len);
	pid_t child;
	int fd = feed_pipe(core, len, &child);
	setup();
	ck_assert_int_eq(collect_spill_run(&st, &cfg, "1-test", fd, MI, &cs), 0);
	ck_assert(cs.whole);
	ck_assert_ptr_null(cs.why);
	ck_assert_uint_eq(cs.written, len);
	ck_assert_uint_eq(cs.n_rest, 0);
	ck_assert_uint_eq(cs.size, len);
	struct stat sb;
	ck_assert_int_eq(fstat(cs.fd, &sb), 0);
	ck_assert_int_eq(sb.st_size, (off_t)len);
	/* the zero MiBs are holes: about half the bytes are on disk */
	ck_assert_int_lt((long long)sb.st_blocks * 512, (long long)(len * 3 / 4));
	waitpid(child, NULL, 0);
	close(fd);
	free(core);
	collect_spill_free(&cs);

	/* the same through the checks of run() */
	run(len, len, MI, &cs, true);
	teardown();
}
END_TEST

START_TEST(test_no_spill)
{
	struct collect_spill cs;
	setup();
	/* small: all of it in the first read, nothing on disk */
	run(300000, 300000, MI, &cs, false);
	/* under the minimum */
	run(8 * MI, 8 * MI, 16 * MI, &cs, false);
	/* min 0: never */
	run(8 * MI, 8 * MI, 0, &cs, false);
	/* SpillMax smaller than the core */
	cfg.spill_max = 4 * MI;
	unsigned char *core = make_core(8 * MI, 8 * MI);
	pid_t child;
	int fd = feed_pipe(core, 8 * MI, &child);
	ck_assert_int_eq(collect_spill_run(&st, &cfg, "1-test", fd, MI, &cs), 0);
	ck_assert_str_eq(cs.why, "SpillMax would be exceeded");
	ck_assert_int_eq(cs.fd, -1);
	ck_assert_uint_eq(cs.n_rest, 1);
	ck_assert_uint_eq(cs.rest[0].iov_len, MI);
	collect_spill_free(&cs);
	close(fd);
	waitpid(child, NULL, 0);
	free(core);
	/* another collector's spill counts against SpillMax: 8M promised, 10M max */
	cfg.spill_max = 10 * MI;
	char p[600];
	snprintf(p, sizeof(p), "%s/2-other.raw.tmp", st.spool_dir);
	int o = open(p, O_CREAT | O_RDWR, 0600);
	ck_assert_int_ge(o, 0);
	ck_assert_int_eq(ftruncate(o, 8 * MI), 0);
	close(o);
	core = make_core(4 * MI, 4 * MI);
	fd = feed_pipe(core, 4 * MI, &child);
	ck_assert_int_eq(collect_spill_run(&st, &cfg, "1-test", fd, MI, &cs), 0);
	ck_assert_str_eq(cs.why, "SpillMax would be exceeded");
	collect_spill_free(&cs);
	close(fd);
	waitpid(child, NULL, 0);
	free(core);
	unlink(p);
	/* not a core: its size is not known */
	core = calloc(1, 3 * MI);
	fd = feed_pipe(core, 3 * MI, &child);
	cfg.spill_max = 1u << 30;
	ck_assert_int_eq(collect_spill_run(&st, &cfg, "1-test", fd, MI, &cs), 0);
	ck_assert_str_eq(cs.why, "the core's size is not known from its head");
	collect_spill_free(&cs);
	close(fd);
	waitpid(child, NULL, 0);
	free(core);
	teardown();
}
END_TEST

START_TEST(test_longer_than_announced)
{
	struct collect_spill cs;
	setup();
	/* announced 4 MiB, sends 9: the spill stops past 4 + 1 MiB, the rest inline */
	unsigned char *core = make_core(4 * MI, 9 * MI);
	pid_t child;
	int fd = feed_pipe(core, 9 * MI, &child);
	ck_assert_int_eq(collect_spill_run(&st, &cfg, "1-test", fd, MI, &cs), 0);
	ck_assert_str_eq(cs.why, "the core is longer than its program headers say");
	ck_assert_uint_eq(cs.written, 5 * MI);
	ck_assert(!cs.whole);
	expect_back(&cs, fd, child, core, 9 * MI);
	free(core);
	teardown();
}
END_TEST

START_TEST(test_write_fails)
{
	struct collect_spill cs;
	struct rlimit old, lim = { .rlim_cur = 6 * MI, .rlim_max = RLIM_INFINITY };
	setup();
	/* announced 6 MiB, sends 6.5: the file may not pass 6 MiB (RLIMIT_FSIZE),
	 * so the last write fails with EFBIG; that chunk goes on inline */
	signal(SIGXFSZ, SIG_IGN);
	ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim.rlim_max = old.rlim_max;
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
	size_t len = 6 * MI + MI / 2;
	unsigned char *core = make_core(6 * MI, len);
	pid_t child;
	int fd = feed_pipe(core, len, &child);
	ck_assert_int_eq(collect_spill_run(&st, &cfg, "1-test", fd, MI, &cs), 0);
	ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
	ck_assert_int_eq(cs.err, -EFBIG);
	ck_assert(!cs.lost);
	ck_assert_str_eq(cs.why, "writing the spill file failed");
	ck_assert_uint_eq(cs.written, 6 * MI);
	expect_back(&cs, fd, child, core, len);
	free(core);
	teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("collect_spill");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_whole_and_sparse);
	tcase_add_test(tc, test_no_spill);
	tcase_add_test(tc, test_longer_than_announced);
	tcase_add_test(tc, test_write_fails);
	suite_add_tcase(s, tc);
	return testutil_run(s);
}
