/* unwind: real cores of build/crashers/analyze_target (gcore'd, see
 * targetcore.h), full and minicore: named frames on the right threads, the
 * modules with the build-ids their files carry, on_disk, caps, bad input. */
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "targetcore.h"
#include "analysis/unwind.h"
#include "analysis/verdict.h"

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static json_object *jget(json_object *o, const char *key)
{
	json_object *v = NULL;
	ck_assert_msg(json_object_object_get_ex(o, key, &v), "no key %s", key);
	return v;
}

static bool jbool(json_object *o, const char *key)
{
	return json_object_get_boolean(jget(o, key));
}

/* Build-id of a file on disk, hex, with dwelf (what eu-readelf -n prints). */
static void file_build_id(const char *path, char *hex, size_t len)
{
	elf_version(EV_CURRENT);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	ck_assert_ptr_nonnull(e);
	const void *id;
	ssize_t n = dwelf_elf_gnu_build_id(e, &id);
	ck_assert_int_gt(n, 0);
	ck_assert_uint_lt((size_t)n * 2, len);
	for (ssize_t i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", ((const unsigned char *)id)[i]);
	elf_end(e);
	close(fd);
}

static json_object *module_named(json_object *out, const char *base_prefix)
{
	json_object *mods = jget(out, "modules");
	for (size_t i = 0; i < json_object_array_length(mods); i++) {
		json_object *m = json_object_array_get_idx(mods, i);
		const char *p = jstr(m, "path");
		const char *b = p ? strrchr(p, '/') : NULL;
		b = b ? b + 1 : p;
		if (b && !strncmp(b, base_prefix, strlen(base_prefix)))
			return m;
	}
	return NULL;
}

static json_object *unwind_ok(const char *path, const struct unwind_opts *o)
{
	json_object *out = NULL;
	int r = unwind_core(path, o, &out);
	ck_assert_msg(r == 0, "unwind_core %s: %d %s", path, r, unwind_last_error());
	ck_assert_ptr_nonnull(out);
	return out;
}

/* Stacks: main thread in at_level_three ← two ← one ← main; workers in
 * at_worker_leaf ← mid ← top; the thread given as crashed comes first. */
static void check_stacks(const char *path, pid_t pid, pid_t other)
{
	struct unwind_opts o = { .sysroot_fd = -1 };
	json_object *names = json_tokener_parse("[{\"tid\": 1, \"comm\": \"nobody\"}]");
	char fns[2048];

	json_object_array_add(names, json_tokener_parse("{}"));
	json_object *e = json_object_new_object();
	json_object_object_add(e, "tid", json_object_new_int(pid));
	json_object_object_add(e, "comm", json_object_new_string("analyze_main"));
	json_object_array_add(names, e);
	o.thread_names = names;

	json_object *out = unwind_ok(path, &o);
	json_object *threads = jget(out, "threads");
	ck_assert_uint_eq(json_object_array_length(threads), 3);
	ck_assert(!jbool(out, "threads_truncated"));
	ck_assert(!jbool(out, "frames_truncated"));
	/* gcore writes the main thread first: it counts as crashed */
	json_object *t0 = json_object_array_get_idx(threads, 0);
	ck_assert_int_eq(json_object_get_int(jget(t0, "tid")), pid);
	ck_assert(jbool(t0, "crashed"));
	ck_assert_str_eq(jstr(t0, "name"), "analyze_main");
	targetcore_fns(t0, fns, sizeof(fns));
	ck_assert_msg(strstr(fns, "at_level_three at_level_two at_level_one main "), "main thread: %s", fns);
	for (int i = 1; i < 3; i++) {
		json_object *t = json_object_array_get_idx(threads, (size_t)i);
		ck_assert(!jbool(t, "crashed"));
		ck_assert_ptr_null(jstr(t, "name"));
		targetcore_fns(t, fns, sizeof(fns));
		ck_assert_msg(strstr(fns, "at_worker_leaf at_worker_mid at_worker_top "), "worker: %s", fns);
	}

	/* frame fields on the at_level_three frame */
	json_object *frames = jget(t0, "frames"), *f = NULL;
	for (size_t i = 0; i < json_object_array_length(frames) && !f; i++) {
		const char *fn = jstr(json_object_array_get_idx(frames, i), "function");
		if (fn && !strcmp(fn, "at_level_three"))
			f = json_object_array_get_idx(frames, i);
	}
	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(strstr(jstr(f, "module"), "analyze_target"));
	ck_assert_int_eq(strncmp(jstr(f, "pc"), "0x", 2), 0);
	ck_assert_ptr_nonnull(strstr(jstr(f, "file"), "analyze_target.c"));
	ck_assert_int_gt(json_object_get_int(jget(f, "line")), 0);
	ck_assert_int_gt(json_object_get_int(jget(f, "offset")), 0);
	ck_assert_int_gt(json_object_get_int(jget(f, "module_offset")), 0);
	ck_assert(!jbool(f, "inlined"));
	ck_assert_uint_eq(strlen(jstr(f, "build_id")), 40);
	json_object_put(out);

	/* another thread named as the crashed one moves to the front */
	o.thread_names = NULL;
	o.crashed_tid = other;
	out = unwind_ok(path, &o);
	threads = jget(out, "threads");
	t0 = json_object_array_get_idx(threads, 0);
	ck_assert_int_eq(json_object_get_int(jget(t0, "tid")), other);
	ck_assert(jbool(t0, "crashed"));
	ck_assert(!jbool(json_object_array_get_idx(threads, 1), "crashed"));
	json_object_put(out);
	json_object_put(names);
}

/* Modules: executable, libc, ld.so with the build-ids of their files. */
static void check_modules(const char *path, bool full)
{
	json_object *out = unwind_ok(path, NULL);
	const char *want[] = { "analyze_target", "libc.so", "ld-linux" };
	char hex[128];

	ck_assert(!jbool(out, "modules_truncated"));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		json_object *m = module_named(out, want[i]);
		ck_assert_msg(m != NULL, "no module %s in %s", want[i], path);
		const char *p = jstr(m, "path");
		ck_assert_msg(p[0] == '/', "module path %s", p);
		file_build_id(p, hex, sizeof(hex));
		ck_assert_str_eq(jstr(m, "build_id"), hex);
		ck_assert_str_eq(jstr(m, "on_disk"), "match");
		ck_assert_str_eq(jstr(m, "kind"), i == 0 ? "executable" : "library");
		ck_assert_int_eq(strncmp(jstr(m, "start"), "0x", 2), 0);
		ck_assert_uint_lt(strtoull(jstr(m, "start"), NULL, 16), strtoull(jstr(m, "end"), NULL, 16));
	}
	ck_assert_ptr_nonnull(jstr(out, "vdso"));
	if (full) {
		/* the full core holds the vDSO: a module of its own, not on disk */
		ck_assert(jbool(out, "vdso_in_core"));
		json_object *v = module_named(out, "linux-vdso");
		ck_assert_ptr_nonnull(v);
		ck_assert_str_eq(jstr(v, "kind"), "vdso");
		ck_assert_ptr_null(jstr(v, "on_disk"));
	}
	json_object_put(out);
}

START_TEST(test_full_and_mini)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 2);
	ck_assert_uint_ge(tc.ntids, 2);
	check_stacks(tc.core, tc.pid, tc.tids[1]);
	check_stacks(tc.mini, tc.pid, tc.tids[1]);
	check_modules(tc.core, true);
	check_modules(tc.mini, false);
	targetcore_remove(&tc);
}
END_TEST

/* Files looked up beneath a sysroot: missing there, or a different file. */
START_TEST(test_sysroot)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 0);
	char root[160], exe[PATH_MAX], copy[PATH_MAX + 200];
	snprintf(root, sizeof(root), "%s/root", tc.dir);
	ck_assert_ptr_nonnull(realpath(TARGET_PROG, exe));
	snprintf(copy, sizeof(copy), "%s%s", root, exe);
	*strrchr(copy, '/') = '\0';
	ck_assert_int_eq(mkdir_p(copy, 0755), 0);
	snprintf(copy, sizeof(copy), "%s%s", root, exe);
	/* another ELF file where the executable was */
	const char *argv[] = { "cp", "/bin/true", copy, NULL };
	ck_assert_int_eq(targetcore_run_quiet(argv), 0);

	struct unwind_opts o = { .sysroot = root, .sysroot_fd = -1 };
	json_object *out = unwind_ok(tc.mini, &o);
	ck_assert_str_eq(jstr(module_named(out, "analyze_target"), "on_disk"), "mismatch");
	ck_assert_str_eq(jstr(module_named(out, "libc.so"), "on_disk"), "missing");
	/* the stacks do not depend on it: the host files match by build-id */
	char fns[2048];
	targetcore_fns(json_object_array_get_idx(jget(out, "threads"), 0), fns, sizeof(fns));
	ck_assert_msg(strstr(fns, "at_level_three at_level_two"), "%s", fns);
	json_object_put(out);

	o.sysroot = "/nonexistent-root";
	ck_assert_int_eq(unwind_core(tc.mini, &o, &out), -ENOENT);
	const char *rm[] = { "rm", "-rf", root, NULL };
	targetcore_run_quiet(rm);
	targetcore_remove(&tc);
}
END_TEST

/* Signatures from real unwinds: equal across runs (other pid, other ASLR),
 * different for another crash site. */
START_TEST(test_signature_real)
{
	struct targetcore a, b, c;
	char sa[17], sb[17], sc[17];
	targetcore_make(&a, "wait", 1);
	targetcore_make(&b, "wait", 1);
	targetcore_make(&c, "wait2", 1);
	ck_assert_int_ne(a.pid, b.pid);
	json_object *ja = unwind_ok(a.mini, NULL), *jb = unwind_ok(b.core, NULL), *jc = unwind_ok(c.mini, NULL);
	ck_assert_int_eq(verdict_signature(jget(ja, "threads"), sa), 0);
	ck_assert_int_eq(verdict_signature(jget(jb, "threads"), sb), 0);
	ck_assert_int_eq(verdict_signature(jget(jc, "threads"), sc), 0);
	ck_assert_str_eq(sa, sb);
	ck_assert_str_ne(sa, sc);
	json_object_put(ja);
	json_object_put(jb);
	json_object_put(jc);
	targetcore_remove(&a);
	targetcore_remove(&b);
	targetcore_remove(&c);
}
END_TEST

static void write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write_all(fd, buf, len), 0);
	close(fd);
}

START_TEST(test_bad_input)
{
	char dir[] = "/tmp/mortem-uw-XXXXXX", p[64];
	json_object *out = (json_object *)0x1;
	ck_assert_ptr_nonnull(mkdtemp(dir));

	ck_assert_int_eq(unwind_core("/nonexistent/core", NULL, &out), -ENOENT);
	snprintf(p, sizeof(p), "%s/garbage", dir);
	write_file(p, "this is not an ELF core at all", 30);
	ck_assert_int_eq(unwind_core(p, NULL, &out), -EBADMSG);
	ck_assert_ptr_nonnull(strstr(unwind_last_error(), "not an ELF core"));
	write_file(p, "", 0);
	ck_assert_int_eq(unwind_core(p, NULL, &out), -EBADMSG);
	/* an ELF file that is not a core */
	ck_assert_int_eq(unwind_core("/bin/true", NULL, &out), -EBADMSG);
	ck_assert_ptr_eq(out, (json_object *)0x1);
	unlink(p);
	rmdir(dir);
}
END_TEST

/* Truncated and bit-flipped cores: an answer or an error, never a crash. */
START_TEST(test_damaged_core)
{
	struct targetcore tc;
	targetcore_make(&tc, "wait", 1);
	int fd = open(tc.mini, O_RDONLY | O_CLOEXEC);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	unsigned char *buf = malloc((size_t)st.st_size);
	ck_assert_int_eq(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	char p[200];
	snprintf(p, sizeof(p), "%s/damaged", tc.dir);
	size_t cuts[] = { 64, 1000, 4096, (size_t)st.st_size / 2, (size_t)st.st_size - 1 };
	for (size_t i = 0; i < ARRAY_SIZE(cuts); i++) {
		json_object *out = NULL;
		write_file(p, buf, cuts[i]);
		int r = unwind_core(p, NULL, &out);
		ck_assert(r == 0 || r == -EBADMSG);
		json_object_put(out);
	}
	/* flip bytes in the headers and notes */
	unsigned seed = 1;
	for (int round = 0; round < 20; round++) {
		unsigned char *d = malloc((size_t)st.st_size);
		memcpy(d, buf, (size_t)st.st_size);
		for (int k = 0; k < 16; k++) {
			seed = seed * 1103515245u + 12345u;
			d[64 + (seed >> 8) % 8192] ^= (unsigned char)(seed >> 20);
		}
		write_file(p, d, (size_t)st.st_size);
		json_object *out = NULL;
		int r = unwind_core(p, NULL, &out);
		ck_assert(r == 0 || r == -EBADMSG);
		json_object_put(out);
		free(d);
	}
	free(buf);
	unlink(p);
	targetcore_remove(&tc);
}
END_TEST

/* The source line of the first frame in fn of the crashed thread, or 0. */
static int line_of(json_object *out, const char *fn)
{
	json_object *frames = jget(json_object_array_get_idx(jget(out, "threads"), 0), "frames");
	for (size_t i = 0; i < json_object_array_length(frames); i++) {
		json_object *f = json_object_array_get_idx(frames, i), *line;
		if (jstr(f, "function") && !strcmp(jstr(f, "function"), fn))
			return json_object_object_get_ex(f, "line", &line) && line ? json_object_get_int(line) : 0;
	}
	return 0;
}

/* .gnu_debuglink, searched by unwind_find_debuginfo itself: a program
 * without its debug information finds it in .debug/ beside it; a FIFO at the
 * first place looked (beside it) is passed over at once (opened O_NONBLOCK,
 * not a regular file), where a plain open would wait for a writer for ever
 * (this test has no timer to end it); and a FIFO or a mismatching file in
 * place of the debug file gives no lines, and no hang. */
START_TEST(test_debuglink)
{
	struct targetcore tc;
	char dir[] = "/tmp/mortem-dl-XXXXXX", prog[96], dbgdir[96], dbg[128], beside[128];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(prog, sizeof(prog), "%s/analyze_target", dir);
	snprintf(dbgdir, sizeof(dbgdir), "%s/.debug", dir);
	snprintf(dbg, sizeof(dbg), "%s/analyze_target.debug", dbgdir);
	snprintf(beside, sizeof(beside), "%s/analyze_target.debug", dir);
	ck_assert_int_eq(mkdir(dbgdir, 0755), 0);
	const char *keep[] = { "objcopy", "--only-keep-debug", TARGET_PROG, dbg, NULL };
	ck_assert_int_eq(targetcore_run_quiet(keep), 0);
	char link[160];
	snprintf(link, sizeof(link), "--add-gnu-debuglink=%s", dbg);
	const char *strip[] = { "objcopy", "--strip-debug", link, TARGET_PROG, prog, NULL };
	ck_assert_int_eq(targetcore_run_quiet(strip), 0);
	targetcore_make_prog(&tc, prog, "wait", 0);
	/* after gcore: gdb itself would wait on it */
	ck_assert_int_eq(mkfifo(beside, 0644), 0);

	struct unwind_opts o = { .sysroot_fd = -1, .no_debuginfod = true };
	json_object *out = unwind_ok(tc.mini, &o);
	ck_assert_msg(line_of(out, "at_level_three") > 0, "no line from the debuglink file");
	json_object_put(out);

	/* the debug file a FIFO too: no lines, at once */
	ck_assert_int_eq(unlink(dbg), 0);
	ck_assert_int_eq(mkfifo(dbg, 0644), 0);
	out = unwind_ok(tc.mini, &o);
	ck_assert_int_eq(line_of(out, "at_level_three"), 0);
	json_object_put(out);
	/* another ELF file by that name: refused by its build-id */
	ck_assert_int_eq(unlink(dbg), 0);
	const char *cp[] = { "cp", "/bin/true", dbg, NULL };
	ck_assert_int_eq(targetcore_run_quiet(cp), 0);
	out = unwind_ok(tc.mini, &o);
	ck_assert_int_eq(line_of(out, "at_level_three"), 0);
	json_object_put(out);

	const char *rm[] = { "rm", "-rf", dir, NULL };
	targetcore_run_quiet(rm);
	targetcore_remove(&tc);
}
END_TEST

/* A FIFO given as the core: refused without waiting for a writer. */
START_TEST(test_fifo_core)
{
	char dir[] = "/tmp/mortem-uw-XXXXXX", p[64];
	json_object *out = NULL;
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/fifo", dir);
	ck_assert_int_eq(mkfifo(p, 0600), 0);
	ck_assert_int_eq(unwind_core(p, NULL, &out), -UNWIND_ENOTREG);
	ck_assert_int_eq(unwind_open_regular(-1, p), -UNWIND_ENOTREG);
	ck_assert_str_eq(unwind_open_strerror(-UNWIND_ENOTREG), "not a regular file");
	ck_assert_int_eq(unwind_open_regular(-1, "/dev/null"), -UNWIND_ENOTREG);
	ck_assert_int_eq(unwind_open_regular(-1, dir), -UNWIND_ENOTREG);
	int fd = unwind_open_regular(-1, "/bin/true");
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
	ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
	unlink(p);
	rmdir(dir);
}
END_TEST

static Suite *unwind_suite(void)
{
	Suite *s = suite_create("unwind");
	TCase *tc = tcase_create("unwind");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_full_and_mini);
	tcase_add_test(tc, test_sysroot);
	tcase_add_test(tc, test_signature_real);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_damaged_core);
	tcase_add_test(tc, test_debuglink);
	tcase_add_test(tc, test_fifo_core);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(unwind_suite());
}
