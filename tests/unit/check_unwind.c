/* unwind: real cores of build/crashers/analyze_target (gcore'd, see
 * targetcore.h), full and minicore: named frames on the right threads, the
 * modules with the build-ids their files carry, on_disk, caps, bad input. */
#include <elfutils/libdwelf.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "targetcore.h"
#include "analysis/crashinfo.h"
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
	ck_assert_int_eq(verdict_signature(NULL, jget(ja, "threads"), sa), 0);
	ck_assert_int_eq(verdict_signature(NULL, jget(jb, "threads"), sb), 0);
	ck_assert_int_eq(verdict_signature(NULL, jget(jc, "threads"), sc), 0);
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

/* ---- C++ and Rust: demangled names, inlined frames, compared with GDB ---- */

#define CXX_PROG "build/crashers/an_cxx"

/* Run prog kind under gdb to its fatal signal; gdb's "bt" goes to bt and its
 * gcore (with NT_SIGINFO: the state at the signal) to core. */
static void gdb_crash_core(const char *prog, const char *kind, const char *core, const char *bt)
{
	char gc[160];
	snprintf(gc, sizeof(gc), "gcore %s", core);
	pid_t c = fork();
	ck_assert_int_ge(c, 0);
	if (c == 0) {
		int o = open(bt, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), dn = open("/dev/null", O_RDWR);
		dup2(dn, 0);
		dup2(o, 1);
		dup2(dn, 2);
		execlp("gdb", "gdb", "-nx", "-batch", "-ex", "set pagination off", "-ex", "set width 0", "-ex", "run",
		       "-ex", "bt", "-ex", gc, "--args", prog, kind, (char *)NULL);
		_exit(127);
	}
	int st;
	ck_assert_int_eq(waitpid(c, &st, 0), c);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "gdb failed on %s %s", prog, kind);
	ck_assert_int_eq(access(core, R_OK), 0);
}

/* The line of src holding marker (1-based). */
static int marker_line(const char *src, const char *marker)
{
	FILE *f = fopen(src, "re");
	char l[512];
	int n = 0;
	ck_assert_ptr_nonnull(f);
	while (fgets(l, sizeof(l), f)) {
		n++;
		if (strstr(l, marker)) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	ck_abort_msg("no %s in %s", marker, src);
	return 0;
}

struct gdb_frame {
	char name[512];
	bool has_addr;
	int line;       /* 0: none */
	bool ours;      /* in the crasher's own source */
};

/* gdb's bt: "#N  [0x… in ]NAME (args) at FILE:LINE" or "… from LIB". */
static size_t gdb_frames(const char *bt, const char *srcname, struct gdb_frame *g, size_t max)
{
	FILE *f = fopen(bt, "re");
	char l[4096];
	size_t n = 0;
	ck_assert_ptr_nonnull(f);
	while (n < max && fgets(l, sizeof(l), f)) {
		if (l[0] != '#')
			continue;
		char *p = l + strcspn(l, " ");
		p += strspn(p, " ");
		struct gdb_frame *x = &g[n++];
		memset(x, 0, sizeof(*x));
		x->has_addr = !strncmp(p, "0x", 2);
		if (x->has_addr) {
			char *in = strstr(p, " in ");
			p = in ? in + 4 : p;
		}
		size_t nl = strstr(p, " (") ? (size_t)(strstr(p, " (") - p) : strcspn(p, " \n");
		snprintf(x->name, sizeof(x->name), "%.*s", (int)nl, p);
		char *at = strstr(p, ") at ");
		if (at && strstr(at, srcname)) {
			x->ours = true;
			char *colon = strrchr(at, ':');
			x->line = colon ? atoi(colon + 1) : 0;
		}
	}
	fclose(f);
	return n;
}

static const char *fstr(json_object *fr, const char *k)
{
	json_object *v;
	return json_object_object_get_ex(fr, k, &v) && v ? json_object_get_string(v) : NULL;
}

/* Our frames of the crasher's own source against gdb's, frame by frame: the
 * same count, names (gdb leaves out parameters and names a lambda
 * "operator()"), the same inlined structure (gdb prints an inlined call's
 * caller without an address) and the same call-site lines. The innermost
 * line is left out: gdb takes the first line-table row at the pc, libdw (and
 * eu-stack) the last of its views. */
static void compare_with_gdb(json_object *frames, const char *bt, const char *srcname)
{
	struct gdb_frame g[64];
	size_t ng = gdb_frames(bt, srcname, g, 64), gi = 0, oi = 0, nf = json_object_array_length(frames);
	while (gi < ng && !g[gi].ours)
		gi++;
	while (oi < nf && !(fstr(json_object_array_get_idx(frames, oi), "file") &&
			    strstr(fstr(json_object_array_get_idx(frames, oi), "file"), srcname)))
		oi++;
	ck_assert_msg(gi < ng && oi < nf, "no frame of %s", srcname);
	size_t compared = 0;
	for (bool first = true; gi < ng && g[gi].ours; gi++, oi++, first = false) {
		ck_assert_msg(oi < nf, "gdb has more frames of %s", srcname);
		json_object *fr = json_object_array_get_idx(frames, oi);
		const char *fn = fstr(fr, "function"), *file = fstr(fr, "file");
		ck_assert_ptr_nonnull(fn);
		ck_assert_msg(file && strstr(file, srcname), "frame %zu: %s not in %s", oi, fn, srcname);
		if (strstr(g[gi].name, "operator()") || strstr(g[gi].name, "lambda"))
			ck_assert_msg(strstr(fn, "{lambda(int)#") || strstr(fn, "{closure"), "%s vs gdb %s", fn, g[gi].name);
		else
			ck_assert_msg(!strncmp(fn, g[gi].name, strlen(g[gi].name)) ||
					      !strncmp(fn + (fn[0] == '<'), g[gi].name, strlen(g[gi].name)),
				      "frame %zu: ours %s, gdb %s", oi, fn, g[gi].name);
		bool gdb_inlined = gi + 1 < ng && !g[gi + 1].has_addr;
		ck_assert_msg(json_object_get_boolean(json_object_object_get(fr, "inlined")) == gdb_inlined,
			      "frame %zu (%s): inlined differs from gdb", oi, fn);
		if (!first)
			ck_assert_msg(json_object_get_int(json_object_object_get(fr, "line")) == g[gi].line,
				      "frame %zu (%s): line %d, gdb %d", oi, fn,
				      json_object_get_int(json_object_object_get(fr, "line")), g[gi].line);
		compared++;
	}
	ck_assert_uint_ge(compared, 3);
}

static json_object *crashed_frames(json_object *j)
{
	json_object *t = json_object_array_get_idx(jget(j, "threads"), 0);
	ck_assert(json_object_get_boolean(jget(t, "crashed")));
	return jget(t, "frames");
}

static json_object *find_frame(json_object *frames, const char *fn)
{
	for (size_t i = 0; i < json_object_array_length(frames); i++) {
		const char *f = fstr(json_object_array_get_idx(frames, i), "function");
		if (f && !strcmp(f, fn))
			return json_object_array_get_idx(frames, i);
	}
	char all[4096];
	json_object *t = json_object_new_object();
	json_object_object_add(t, "frames", json_object_get(frames));
	targetcore_fns(t, all, sizeof(all));
	json_object_put(t);
	ck_abort_msg("no frame %s in: %s", fn, all);
	return NULL;
}

static json_object *unwind_signed(const char *core)
{
	json_object *j = unwind_ok(core, NULL);
	int fd = open(core, O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(crashinfo_add(fd, j), 0);
	close(fd);
	return j;
}

/* an_cxx segv: a NULL read inside ns::load<int>(), inlined into
 * ns::Foo<int>::bar(): the inlined frame comes first with the faulting line,
 * the physical one has the call site; names demangled, raw ones kept. */
START_TEST(test_cxx_frames)
{
	char dir[] = "/tmp/mortem-cxx-XXXXXX", core[64], bt[64];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(core, sizeof(core), "%s/core", dir);
	snprintf(bt, sizeof(bt), "%s/bt", dir);
	gdb_crash_core(CXX_PROG, "segv", core, bt);
	json_object *j = unwind_signed(core), *frames = crashed_frames(j);
	const char *src = "tests/crashers/an_cxx.cpp";

	json_object *f0 = json_object_array_get_idx(frames, 0);
	ck_assert_str_eq(fstr(f0, "function"), "ns::load<int>");
	ck_assert(json_object_get_boolean(jget(f0, "inlined")));
	ck_assert_int_eq(json_object_get_int(jget(f0, "line")), marker_line(src, "LOAD_LINE"));
	json_object *f1 = json_object_array_get_idx(frames, 1);
	ck_assert_str_eq(fstr(f1, "function"), "ns::Foo<int>::bar()");
	ck_assert_str_eq(fstr(f1, "function_raw"), "_ZN2ns3FooIiE3barEv");
	ck_assert(!json_object_get_boolean(jget(f1, "inlined")));
	ck_assert_str_eq(fstr(f1, "pc"), fstr(f0, "pc"));
	ck_assert_int_eq(json_object_get_int(jget(f1, "line")), marker_line(src, "BAR_LINE"));
	ck_assert_str_eq(fstr(find_frame(frames, "main::{lambda(int)#2}::operator()(int) const"), "function_raw"),
			 "_ZZ4mainENKUliE0_clEi");
	find_frame(frames, "void ns::run<main::{lambda(int)#2}>(main::{lambda(int)#2}, int)");
	compare_with_gdb(frames, bt, "an_cxx.cpp");
	ck_assert_str_eq(fstr(jget(j, "siginfo"), "signature_kind"), "SIGSEGV/null");
	ck_assert_ptr_nonnull(strstr(fstr(j, "slogan"), "in ns::load<int>() at an_cxx+0x"));

	/* The same crash without debug information: no inlined frame, the
	 * same signature (it counts physical frames only). Same basename. */
	char nodbg[96], core2[64], bt2[64];
	snprintf(nodbg, sizeof(nodbg), "%s/an_cxx", dir);
	snprintf(core2, sizeof(core2), "%s/core2", dir);
	snprintf(bt2, sizeof(bt2), "%s/bt2", dir);
	const char *strip[] = { "objcopy", "--strip-debug", CXX_PROG, nodbg, NULL };
	ck_assert_int_eq(targetcore_run_quiet(strip), 0);
	gdb_crash_core(nodbg, "segv", core2, bt2);
	json_object *j2 = unwind_signed(core2), *frames2 = crashed_frames(j2);
	for (size_t i = 0; i < json_object_array_length(frames2); i++)
		ck_assert(!json_object_get_boolean(jget(json_object_array_get_idx(frames2, i), "inlined")));
	ck_assert_str_eq(fstr(json_object_array_get_idx(frames2, 0), "function"), "ns::Foo<int>::bar()");
	ck_assert_ptr_null(fstr(json_object_array_get_idx(frames2, 0), "file"));
	ck_assert_str_eq(fstr(j, "signature"), fstr(j2, "signature"));

	/* abort: the exception escapes to std::terminate; another kind, another
	 * signature, and the slogan names the chain */
	char core3[64], bt3[64];
	snprintf(core3, sizeof(core3), "%s/core3", dir);
	snprintf(bt3, sizeof(bt3), "%s/bt3", dir);
	gdb_crash_core(CXX_PROG, "abort", core3, bt3);
	json_object *j3 = unwind_signed(core3), *frames3 = crashed_frames(j3);
	ck_assert_str_eq(fstr(find_frame(frames3, "std::terminate()"), "function_raw"), "_ZSt9terminatev");
	ck_assert_str_eq(fstr(find_frame(frames3, "main::{lambda(int)#1}::operator()(int) const"), "function_raw"),
			 "_ZZ4mainENKUliE_clEi");
	compare_with_gdb(frames3, bt3, "an_cxx.cpp");
	ck_assert_str_eq(fstr(jget(j3, "siginfo"), "signature_kind"), "SIGABRT");
	ck_assert_str_ne(fstr(j3, "signature"), fstr(j, "signature"));
	ck_assert_ptr_nonnull(strstr(fstr(j3, "slogan"), "std::terminate()"));

	json_object_put(j);
	json_object_put(j2);
	json_object_put(j3);
	const char *rm[] = { "rm", "-rf", dir, NULL };
	targetcore_run_quiet(rm);
}
END_TEST

/* an_rust, v0 and legacy mangling: the same demangled names either way. */
START_TEST(test_rust_frames)
{
	const char *progs[] = { "build/crashers/an_rust", "build/crashers/an_rust_legacy" };
	if (access(progs[0], X_OK) != 0 || access(progs[1], X_OK) != 0)
		return; /* no rustc where this was built (Makefile) */
	char sigs[2][2][17];
	for (int p = 0; p < 2; p++) {
		char dir[] = "/tmp/mortem-rust-XXXXXX", core[64], bt[64];
		ck_assert_ptr_nonnull(mkdtemp(dir));
		snprintf(core, sizeof(core), "%s/core", dir);
		snprintf(bt, sizeof(bt), "%s/bt", dir);
		gdb_crash_core(progs[p], "segv", core, bt);
		json_object *j = unwind_signed(core), *frames = crashed_frames(j);
		json_object *poke = json_object_array_get_idx(frames, 0);
		ck_assert_str_eq(fstr(poke, "function"), "an_rust::shapes::poke");
		ck_assert_str_ne(fstr(poke, "function_raw"), "an_rust::shapes::poke");
		ck_assert_int_eq(strncmp(fstr(poke, "function_raw"), p == 0 ? "_R" : "_ZN", p == 0 ? 2 : 3), 0);
		find_frame(frames, "an_rust::crash");
		ck_assert_str_eq(fstr(jget(j, "siginfo"), "signature_kind"), "SIGSEGV/null");
		snprintf(sigs[p][0], 17, "%s", fstr(j, "signature"));
		json_object_put(j);

		gdb_crash_core(progs[p], "panic", core, bt);
		j = unwind_signed(core);
		frames = crashed_frames(j);
		/* v0 keeps the type arguments; legacy has only the generic path */
		json_object *take = find_frame(frames, p == 0 ? "<an_rust::shapes::Holder<u64>>::take"
							      : "an_rust::shapes::Holder<T>::take");
		ck_assert(!json_object_get_boolean(jget(take, "inlined")));
		ck_assert_str_eq(fstr(jget(j, "siginfo"), "signature_kind"), "SIGABRT");
		/* the panic machinery is skipped: the slogan names the unwrap */
		ck_assert_ptr_nonnull(strstr(fstr(j, "slogan"), "in abort() ← "));
		ck_assert_ptr_nonnull(strstr(fstr(j, "slogan"), "::unwrap()"));
		ck_assert_ptr_null(strstr(fstr(j, "slogan"), "panicking"));
		snprintf(sigs[p][1], 17, "%s", fstr(j, "signature"));
		json_object_put(j);
		const char *rm[] = { "rm", "-rf", dir, NULL };
		targetcore_run_quiet(rm);
	}
	/* a segfault and a panic are two groups in either mangling */
	ck_assert_str_ne(sigs[0][0], sigs[0][1]);
	ck_assert_str_ne(sigs[1][0], sigs[1][1]);
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
	tcase_add_test(tc, test_cxx_frames);
	tcase_add_test(tc, test_rust_frames);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(unwind_suite());
}
