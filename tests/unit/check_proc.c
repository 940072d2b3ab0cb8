/* Unit tests for src/capture/proc*.c: capture of a real child, a missing pid, caps, a fake
 * /proc tree with hostile content, the redaction and cgroup helpers, the lost
 * files, the bounds against hostile mappings, the time budget and the pidfd check. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/cgroup.h"
#include "capture/proc.h"
#include "capture/proc_ctx.h"
#include "capture/proc_maps.h"
#include "capture/sysinfo.h"
#include "testutil.h"

#define CHILD_FD 7

static char tmpdir[64];

static void make_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/check_proc.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_rf(const char *path)
{
	char cmd[PATH_MAX + 32];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	(void)!system(cmd);
}

/* Start /bin/sleep with argv and envp, cwd in tmpdir and CHILD_FD open on
 * tmpdir/known-file. Returns once exec has happened (close-on-exec pipe). */
static pid_t spawn_child(const char *const argv[], const char *const envp[])
{
	int p[2];
	char file[PATH_MAX], c;
	pid_t pid;

	snprintf(file, sizeof(file), "%s/known-file", tmpdir);
	ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(file, O_RDWR | O_CREAT, 0600);
		if (fd < 0 || dup2(fd, CHILD_FD) < 0 || chdir(tmpdir) < 0)
			_exit(1);
		execve("/bin/sleep", (char *const *)argv, (char *const *)envp);
		(void)!write(p[1], "x", 1);
		_exit(127);
	}
	close(p[1]);
	ck_assert_int_eq(read(p[0], &c, 1), 0); /* EOF: exec succeeded */
	close(p[0]);
	/* Close-on-exec fds go before the new program's arguments are in place:
	 * wait until /proc/PID/cmdline shows them. */
	char path[64], buf[16];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	for (int i = 0; i < 2000; i++) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0)
			break;
		usleep(1000);
	}
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static json_object *get(json_object *o, const char *key)
{
	json_object *v = NULL;
	ck_assert_msg(json_object_object_get_ex(o, key, &v), "missing key %s", key);
	return v;
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v = get(o, key);
	ck_assert_msg(json_object_is_type(v, json_type_string), "%s is not a string", key);
	return json_object_get_string(v);
}

static bool array_has_str(json_object *arr, const char *s)
{
	for (size_t i = 0; i < json_object_array_length(arr); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s) == 0)
			return true;
	return false;
}

/* The whole result serializes to JSON that parses back. */
static size_t roundtrip(json_object *o)
{
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	json_object *back = json_tokener_parse(s);
	ck_assert_ptr_nonnull(back);
	json_object_put(back);
	return strlen(s);
}

START_TEST(test_capture_child)
{
	const char *argv[] = { "sleep", "1000", "0", "0", NULL };
	const char *envp[] = { "API_KEY=x", "MY_TOKEN=y", "PATH=/usr/bin:/bin", "LC_TEST=hello", NULL };
	struct proc_capture_opts opts = { .item_max = 256 * 1024 };
	char file[PATH_MAX], real[PATH_MAX], exe[PATH_MAX];
	json_object *o = NULL, *v;
	pid_t pid;

	make_tmpdir();
	pid = spawn_child(argv, envp);
	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	ck_assert_ptr_nonnull(o);
	roundtrip(o);

	ck_assert_str_eq(get_str(o, "comm"), "sleep");
	ck_assert_str_eq(get_str(o, "cmdline"), "sleep 1000 0 0");
	ck_assert_ptr_nonnull(realpath("/bin/sleep", exe));
	ck_assert_str_eq(get_str(o, "exe"), exe);
	ck_assert_ptr_nonnull(realpath(tmpdir, real));
	ck_assert_str_eq(get_str(o, "cwd"), real);
	ck_assert_str_eq(get_str(o, "root"), "/");

	/* default redaction list: secrets hidden, the rest kept */
	v = get(o, "environ");
	ck_assert_str_eq(get_str(v, "API_KEY"), "<redacted>");
	ck_assert_str_eq(get_str(v, "MY_TOKEN"), "<redacted>");
	ck_assert_str_eq(get_str(v, "PATH"), "/usr/bin:/bin");
	ck_assert_str_eq(get_str(v, "LC_TEST"), "hello");
	ck_assert_ptr_null(strstr(json_object_to_json_string(o), "API_KEY\":\"x"));

	/* the known file is open on CHILD_FD */
	ck_assert_int_lt(snprintf(file, sizeof(file), "%s/known-file", real), (int)sizeof(file));
	v = get(o, "fds");
	bool found = false;
	int prev = -1;
	for (size_t i = 0; i < json_object_array_length(v); i++) {
		json_object *f = json_object_array_get_idx(v, i);
		int fd = json_object_get_int(get(f, "fd"));
		ck_assert_int_gt(fd, prev); /* sorted numerically */
		prev = fd;
		if (fd == CHILD_FD) {
			ck_assert_str_eq(get_str(f, "target"), file);
			ck_assert_ptr_nonnull(strstr(get_str(f, "fdinfo"), "flags:"));
			found = true;
		}
	}
	ck_assert(found);

	v = get(o, "namespaces");
	ck_assert(json_object_is_type(get(v, "mnt"), json_type_int));
	ck_assert(json_object_is_type(get(v, "pid"), json_type_int));
	ck_assert_int_gt(json_object_get_int64(get(v, "mnt")), 0);
	if (json_object_object_get_ex(v, "pid_for_children", NULL))
		ck_assert_int_eq(json_object_get_int64(get(v, "pid_for_children")),
				 json_object_get_int64(get(v, "pid")));
	json_object_object_foreach(get(o, "errors"), ekey, eval) {
		(void)eval;
		ck_assert_msg(strncmp(ekey, "ns/", 3) != 0, "unexpected error %s", ekey);
	}
	/* the child shares our namespaces (the collector's own are the
	 * reference, not PID 1's): on the host, whatever /proc/1/ns allows */
	ck_assert(json_object_object_get_ex(o, "container", &v));
	ck_assert_ptr_null(v);
	ck_assert(!json_object_object_get_ex(get(o, "errors"), "container", NULL));

	ck_assert_int_gt(json_object_get_int64(get(o, "start_time")), 0);
	v = get(o, "threads");
	ck_assert_int_ge(json_object_array_length(v), 1);
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(v, 0), "tid")), pid);
	ck_assert_str_eq(get_str(json_object_array_get_idx(v, 0), "comm"), "sleep");

	ck_assert_str_eq(get_str(get(o, "status"), "Name"), "sleep");
	v = get(o, "limits");
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_int_ge(json_object_array_length(v), 10);
	json_object *l0 = json_object_array_get_idx(v, 0);
	ck_assert_str_eq(get_str(l0, "name"), "Max cpu time");
	get_str(l0, "soft");
	get_str(l0, "hard");
	ck_assert_ptr_nonnull(strstr(get_str(o, "maps"), "sleep"));
	get_str(o, "mountinfo");
	get_str(o, "cgroup");
	get(o, "unit");
	get(o, "slice");
	ck_assert_int_eq(json_object_array_length(get(o, "truncated")), 0);

	json_object_put(o);
	reap(pid);
	rm_rf(tmpdir);
}
END_TEST

START_TEST(test_capture_custom_redact)
{
	const char *argv[] = { "sleep", "1000", NULL };
	const char *envp[] = { "API_KEY=x", "DB_URL=postgres://u:p@h", "PATH=/bin", NULL };
	const char *const pats[] = { "db_*" };
	struct proc_capture_opts opts = { .redact = pats, .n_redact = 1, .item_max = 4096 };
	json_object *o = NULL, *env;
	pid_t pid;

	make_tmpdir();
	pid = spawn_child(argv, envp);
	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	env = get(o, "environ");
	ck_assert_str_eq(get_str(env, "DB_URL"), "<redacted>");
	ck_assert_str_eq(get_str(env, "API_KEY"), "x"); /* not in this list */
	ck_assert_str_eq(get_str(env, "PATH"), "/bin");
	json_object_put(o);
	reap(pid);
	rm_rf(tmpdir);
}
END_TEST

START_TEST(test_capture_missing_pid)
{
	struct proc_capture_opts opts = { .item_max = 4096 };
	json_object *o = NULL;

	ck_assert_int_eq(proc_capture(2147483000, &opts, &o), -ESRCH);
	ck_assert_ptr_nonnull(o);
	ck_assert_str_eq(get_str(get(o, "errors"), "proc"), strerror(ESRCH));
	ck_assert(json_object_is_type(get(o, "truncated"), json_type_array));
	json_object_put(o);

	o = NULL;
	ck_assert_int_eq(proc_capture(0, &opts, &o), -EINVAL);
	ck_assert_ptr_null(o);
}
END_TEST

START_TEST(test_capture_truncation)
{
	enum { BIG = 64 * 1024, CAP = 1024 };
	char *big_env = malloc(BIG + 8), *big_arg = malloc(BIG + 1);
	const char *argv[] = { "sleep", "1000", big_arg, NULL };
	const char *envp[] = { "API_KEY=x", big_env, NULL };
	struct proc_capture_opts opts = { .item_max = CAP };
	json_object *o = NULL, *tr;
	pid_t pid;

	/* sleep sums its arguments: "0000...0" is a valid one */
	memset(big_arg, '0', BIG);
	big_arg[BIG] = '\0';
	memcpy(big_env, "BIG=", 4);
	memset(big_env + 4, 'a', BIG);
	big_env[BIG + 4] = '\0';

	make_tmpdir();
	pid = spawn_child(argv, envp);
	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	tr = get(o, "truncated");
	ck_assert(array_has_str(tr, "cmdline"));
	ck_assert(array_has_str(tr, "environ"));
	ck_assert(array_has_str(tr, "maps") || strlen(get_str(o, "maps")) <= CAP);
	ck_assert_int_le(strlen(get_str(o, "cmdline")), CAP);
	ck_assert(strncmp(get_str(o, "cmdline"), "sleep 1000 000", 14) == 0);
	/* the cut-off BIG entry is dropped, the whole one before it kept and redacted */
	ck_assert_str_eq(get_str(get(o, "environ"), "API_KEY"), "<redacted>");
	ck_assert(!json_object_object_get_ex(get(o, "environ"), "BIG", NULL));
	/* each item is held to CAP; the record as a whole stays small */
	ck_assert_int_lt(roundtrip(o), 24 * CAP);
	json_object_put(o);
	reap(pid);
	rm_rf(tmpdir);
	free(big_env);
	free(big_arg);
}
END_TEST

/* --- fake /proc tree --- */

static void put(const char *rel, const void *data, size_t len)
{
	char path[PATH_MAX];
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", tmpdir, rel), (int)sizeof(path));
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
}
#define PUTS(rel, lit) put(rel, lit, sizeof(lit) - 1)

static void dir(const char *rel)
{
	char path[PATH_MAX];
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", tmpdir, rel), (int)sizeof(path));
	ck_assert_int_eq(mkdir(path, 0755), 0);
}

static void lnk(const char *rel, const char *target)
{
	char path[PATH_MAX];
	ck_assert_int_lt(snprintf(path, sizeof(path), "%s/%s", tmpdir, rel), (int)sizeof(path));
	ck_assert_int_eq(symlink(target, path), 0);
}

static void build_fake_tree(void)
{
	make_tmpdir();
	dir("1");
	dir("1/ns");
	lnk("1/ns/mnt", "mnt:[111]");
	lnk("1/ns/pid", "pid:[999]");

	dir("4242");
	/* comm holds ") (" and spaces: start_time is field 22 counted after the last ')' */
	PUTS("4242/stat", "4242 (ev) (il) x) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 12345 99 98\n");
	PUTS("4242/comm", "ev) (il\xff\n");
	PUTS("4242/cmdline", "evil\0--flag\0\xc0\xafgarbage\x01\0");
	PUTS("4242/environ", "A=1\0NOEQUALS\0\xff\xfe=bin\0PASSWORD=hunter2\0=weird\0\0\0B=2=3\0A=dup\0");
	PUTS("4242/status", "Name:\tevil\nState:\tR (running)\nno colon here\n:empty key\nUid:\t0\t0\t0\t0\n"
			    "\xff\xfe:\t\x80\n");
	PUTS("4242/limits", "this is not a limits file\n\x01\x02\x03");
	PUTS("4242/cgroup", "0::/system.slice/evil.service\n");
	put("4242/maps", "\x00\x01\x02\xff binary\n", 12);
	PUTS("4242/mountinfo", "");
	lnk("4242/exe", "/usr/bin/evil (deleted)");
	lnk("4242/cwd", "/tmp");
	lnk("4242/root", "/");
	dir("4242/ns");
	lnk("4242/ns/mnt", "mnt:[111]");
	lnk("4242/ns/pid", "pid:[222]");
	lnk("4242/ns/pid_for_children", "pid:[223]");
	lnk("4242/ns/time_for_children", "time_for_children:[1]"); /* wrong type */
	lnk("4242/ns/net", "net:[not a number]");
	lnk("4242/ns/uts", "ipc:[5]"); /* wrong type */
	dir("4242/fd");
	lnk("4242/fd/10", "socket:[77]");
	lnk("4242/fd/3", "/etc/passwd");
	lnk("4242/fd/2", "pipe:[5]");
	PUTS("4242/fd/notanumber", "");
	PUTS("4242/fd/-1", "");
	dir("4242/fdinfo");
	PUTS("4242/fdinfo/3", "pos:\t0\nflags:\t0100000\n");
	PUTS("4242/fdinfo/10", "pos:\t0\n");
	dir("4242/task");
	dir("4242/task/4242");
	PUTS("4242/task/4242/comm", "main\n");
	dir("4242/task/4243"); /* no comm */

	/* almost nothing readable, stat garbage */
	dir("4343");
	put("4343/stat", "\xff\x00garbage", 9);
	PUTS("4343/limits", "Limit                     Soft Limit           Hard Limit           Units     \n"
			    "Max cpu time              unlimited            unlimited            seconds   \n"
			    "Max nice priority         0                    0                    \n");
}

START_TEST(test_fake_tree_hostile)
{
	struct proc_capture_opts opts = { .item_max = 4096 };
	json_object *o = NULL, *v, *err;

	build_fake_tree();
	opts.proc_root = tmpdir;
	ck_assert_int_eq(proc_capture(4242, &opts, &o), 0);
	roundtrip(o);
	err = get(o, "errors");

	ck_assert_int_eq(json_object_get_int64(get(o, "start_time")), 12345);
	ck_assert_str_eq(get_str(o, "comm"), "ev) (il\xef\xbf\xbd");
	ck_assert_str_eq(get_str(o, "exe"), "/usr/bin/evil (deleted)");
	ck_assert_str_eq(get_str(o, "cmdline"), "evil --flag \xef\xbf\xbd\xef\xbf\xbdgarbage\x01");

	v = get(o, "environ");
	ck_assert_str_eq(get_str(v, "A"), "1"); /* first of duplicates */
	ck_assert_ptr_null(get(v, "NOEQUALS"));
	ck_assert_str_eq(get_str(v, "\xef\xbf\xbd\xef\xbf\xbd"), "bin");
	ck_assert_str_eq(get_str(v, "PASSWORD"), "<redacted>");
	ck_assert_str_eq(get_str(v, ""), "weird");
	ck_assert_str_eq(get_str(v, "B"), "2=3");

	v = get(o, "status");
	ck_assert_str_eq(get_str(v, "Name"), "evil");
	ck_assert_str_eq(get_str(v, "State"), "R (running)");
	ck_assert_str_eq(get_str(v, "Uid"), "0\t0\t0\t0");
	ck_assert_str_eq(get_str(v, "\xef\xbf\xbd\xef\xbf\xbd"), "\xef\xbf\xbd");

	/* unparseable limits are kept as text */
	ck_assert(json_object_is_type(get(o, "limits"), json_type_string));

	ck_assert_str_eq(get_str(o, "unit"), "evil.service");
	ck_assert_str_eq(get_str(o, "slice"), "system.slice");
	ck_assert_str_eq(get_str(o, "maps"), "\xef\xbf\xbd\x01\x02\xef\xbf\xbd binary\n");

	v = get(o, "namespaces");
	ck_assert_int_eq(json_object_get_int64(get(v, "mnt")), 111);
	ck_assert_int_eq(json_object_get_int64(get(v, "pid")), 222);
	ck_assert_int_eq(json_object_get_int64(get(v, "pid_for_children")), 223);
	ck_assert(!json_object_object_get_ex(v, "time_for_children", NULL));
	ck_assert(!json_object_object_get_ex(v, "net", NULL));
	ck_assert(!json_object_object_get_ex(v, "uts", NULL));
	get(err, "ns/net");
	get(err, "ns/uts");
	/* pid ns 222 is not ours: a container, runtime unknown (its cgroup
	 * evil.service names none), and its init not found (a fake ns file) */
	v = get(o, "container");
	ck_assert(json_object_is_type(v, json_type_object));
	ck_assert(json_object_get_boolean(get(get(v, "namespaces"), "pid")));
	ck_assert(json_object_get_boolean(get(get(v, "namespaces"), "mnt")));
	ck_assert_ptr_null(get(get(v, "namespaces"), "uts")); /* not read */
	ck_assert_ptr_null(get(v, "runtime"));
	ck_assert_ptr_null(get(v, "name"));
	get(err, "container/init");

	v = get(o, "fds");
	ck_assert_int_eq(json_object_array_length(v), 3);
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(v, 0), "fd")), 2);
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(v, 1), "fd")), 3);
	ck_assert_int_eq(json_object_get_int(get(json_object_array_get_idx(v, 2), "fd")), 10);
	ck_assert_str_eq(get_str(json_object_array_get_idx(v, 1), "target"), "/etc/passwd");
	ck_assert_str_eq(get_str(json_object_array_get_idx(v, 2), "target"), "socket:[77]");
	ck_assert_ptr_null(get(json_object_array_get_idx(v, 0), "fdinfo"));
	get(err, "fdinfo/2");

	v = get(o, "threads");
	ck_assert_int_eq(json_object_array_length(v), 2);
	ck_assert_str_eq(get_str(json_object_array_get_idx(v, 0), "comm"), "main");
	ck_assert_ptr_null(get(json_object_array_get_idx(v, 1), "comm"));
	get(err, "task/4243/comm");
	json_object_put(o);

	/* a mostly empty, garbage entry: every item fails alone */
	o = NULL;
	ck_assert_int_eq(proc_capture(4343, &opts, &o), 0);
	roundtrip(o);
	err = get(o, "errors");
	ck_assert_ptr_null(get(o, "start_time"));
	ck_assert_str_eq(get_str(err, "start_time"), "cannot parse stat");
	ck_assert_ptr_null(get(o, "comm"));
	ck_assert_ptr_null(get(o, "environ"));
	ck_assert_ptr_null(get(o, "fds"));
	ck_assert_ptr_null(get(o, "unit"));
	ck_assert_ptr_null(get(o, "container"));
	get(err, "comm");
	get(err, "exe");
	get(err, "container");
	v = get(o, "limits");
	ck_assert(json_object_is_type(v, json_type_array));
	ck_assert_int_eq(json_object_array_length(v), 2);
	v = json_object_array_get_idx(v, 1);
	ck_assert_str_eq(get_str(v, "name"), "Max nice priority");
	ck_assert_str_eq(get_str(v, "soft"), "0");
	ck_assert_ptr_null(get(v, "units"));
	json_object_put(o);

	rm_rf(tmpdir);
}
END_TEST

START_TEST(test_fake_tree_caps)
{
	struct proc_capture_opts opts = { .item_max = 200 };
	json_object *o = NULL, *tr;
	char name[64], big[256];

	make_tmpdir();
	opts.proc_root = tmpdir;
	dir("77");
	dir("77/fd");
	dir("77/task");
	for (int i = 0; i < 1100; i++) {
		snprintf(name, sizeof(name), "77/task/%d", 100000 + i);
		dir(name);
	}
	/* a link longer than item_max */
	memset(big, 'x', sizeof(big) - 1);
	big[0] = '/';
	big[sizeof(big) - 1] = '\0';
	lnk("77/cwd", big);
	/* 5000 small variables: within item_max below, over PROC_ENV_MAX */
	enum { NVARS = 5000 };
	char *env = malloc(NVARS * 8), *p = env;
	for (int i = 0; i < NVARS; i++)
		p += sprintf(p, "K%04d=1", i) + 1;
	put("77/environ", env, (size_t)(p - env));
	free(env);

	ck_assert_int_eq(proc_capture(77, &opts, &o), 0);
	tr = get(o, "truncated");
	ck_assert(array_has_str(tr, "threads"));
	ck_assert(array_has_str(tr, "cwd"));
	ck_assert(array_has_str(tr, "environ"));
	ck_assert_int_eq(json_object_array_length(get(o, "threads")), 1024);
	ck_assert_int_eq(strlen(get_str(o, "cwd")), 200);
	ck_assert_int_eq(json_object_array_length(get(o, "fds")), 0);
	ck_assert_int_le(json_object_object_length(get(o, "environ")), 200 / 8);
	json_object_put(o);

	o = NULL;
	opts.item_max = 64 * 1024;
	ck_assert_int_eq(proc_capture(77, &opts, &o), 0);
	tr = get(o, "truncated");
	ck_assert(array_has_str(tr, "environ"));
	ck_assert(!array_has_str(tr, "cwd"));
	ck_assert_int_eq(json_object_object_length(get(o, "environ")), 4096);
	ck_assert_str_eq(get_str(get(o, "environ"), "K4095"), "1");
	ck_assert_int_eq(strlen(get_str(o, "cwd")), 255);
	json_object_put(o);
	rm_rf(tmpdir);
}
END_TEST

START_TEST(test_env_key_is_secret)
{
	const char *const pats[] = { "*KEY*", "*TOKEN*", "*SECRET*", "*PASSWORD*" };
	const char *const custom[] = { "FOO_?", "[xy]*" };
	const char *const bad[] = { NULL, "[" };

	ck_assert_int_eq(proc_env_key_is_secret("API_KEY", pats, 4), 1);
	ck_assert_int_eq(proc_env_key_is_secret("api_key", pats, 4), 1);
	ck_assert_int_eq(proc_env_key_is_secret("My_Token", pats, 4), 1);
	ck_assert_int_eq(proc_env_key_is_secret("AWS_SECRET_ACCESS_KEY", pats, 4), 1);
	ck_assert_int_eq(proc_env_key_is_secret("PATH", pats, 4), 0);
	ck_assert_int_eq(proc_env_key_is_secret("HOME", pats, 4), 0);
	ck_assert_int_eq(proc_env_key_is_secret("", pats, 4), 0);
	ck_assert_int_eq(proc_env_key_is_secret("API_KEY", pats, 0), 0);

	ck_assert_int_eq(proc_env_key_is_secret("FOO_1", custom, 2), 1);
	ck_assert_int_eq(proc_env_key_is_secret("foo_z", custom, 2), 1);
	ck_assert_int_eq(proc_env_key_is_secret("FOO_12", custom, 2), 0);
	ck_assert_int_eq(proc_env_key_is_secret("Xenon", custom, 2), 1);
	ck_assert_int_eq(proc_env_key_is_secret("API_KEY", custom, 2), 0);

	/* NULL list: the built-in defaults */
	ck_assert_int_eq(proc_env_key_is_secret("GITHUB_TOKEN", NULL, 0), 1);
	ck_assert_int_eq(proc_env_key_is_secret("AWS_SECRET_ACCESS_KEY", NULL, 0), 1);
	ck_assert_int_eq(proc_env_key_is_secret("PATH", NULL, 0), 0);
	/* NULL entries are skipped; an unusable pattern does not crash */
	ck_assert_int_ge(proc_env_key_is_secret("PATH", bad, 2), 0);
	ck_assert_int_eq(proc_env_key_is_secret(NULL, pats, 4), -EINVAL);
}
END_TEST

static void check_unit(const char *cg, const char *want_unit, const char *want_slice)
{
	char *unit = (char *)"sentinel", *slice = (char *)"sentinel";

	ck_assert_int_eq(cgroup_unit(cg, &unit, &slice), 0);
	if (want_unit)
		ck_assert_msg(unit && strcmp(unit, want_unit) == 0, "%s: unit %s", cg, unit ? unit : "(null)");
	else
		ck_assert_msg(!unit, "%s: unexpected unit %s", cg, unit);
	if (want_slice)
		ck_assert_msg(slice && strcmp(slice, want_slice) == 0, "%s: slice %s", cg, slice ? slice : "(null)");
	else
		ck_assert_msg(!slice, "%s: unexpected slice %s", cg, slice);
	free(unit);
	free(slice);
}

START_TEST(test_cgroup_unit)
{
	check_unit("0::/system.slice/nginx.service\n", "nginx.service", "system.slice");
	check_unit("0::/system.slice/nginx.service", "nginx.service", "system.slice");
	check_unit("0::/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service\n", "foo.service",
		   "app.slice");
	check_unit("0::/user.slice/user-1000.slice/session-3.scope\n", "session-3.scope", "user-1000.slice");
	check_unit("0::/system.slice/docker-0123abcd.scope/init\n", "docker-0123abcd.scope", "system.slice");
	check_unit("0::/system.slice/system-getty.slice/getty@tty1.service\n", "getty@tty1.service",
		   "system-getty.slice");
	check_unit("0::/machine.slice\n", NULL, "machine.slice");
	check_unit("0::/\n", NULL, NULL);
	check_unit("", NULL, NULL);
	/* v1 / hybrid: name=systemd when the unified line names nothing */
	check_unit("12:pids:/system.slice/a.service\n1:name=systemd:/system.slice/cron.service\n0::/\n",
		   "cron.service", "system.slice");
	check_unit("3:cpu,cpuacct:/\n2:memory,name=systemd:/system.slice/b.service\n", "b.service",
		   "system.slice");
	check_unit("9:name=systemd:/\n4:memory:/process_api/a7fc\n0::/\n", NULL, NULL);
	/* garbage */
	check_unit("garbage", NULL, NULL);
	check_unit("\xff\xfe\n::\n0::relative/x.service\n", NULL, NULL);
	check_unit("0::/system.slice/.service/bad name.service/ev\xffil.service\n", NULL, "system.slice");
	check_unit("0:::/x.service\n", NULL, NULL);

	char *u, *s;
	ck_assert_int_eq(cgroup_unit(NULL, &u, &s), -EINVAL);
}
END_TEST

/* The binaries the analysis could not open by path, opened through
 * /proc/self/map_files (as root): an executable mapping of a 0600 file, of a
 * deleted one and of a 0644 one in a 0700 directory are; one of a file others
 * may read and reach, a mapping that is not executable, and shared anonymous
 * memory are not. */
static void *map_file(const char *path, mode_t mode, int prot, size_t *len)
{
	static unsigned char page[4096];
	for (size_t i = 0; i < sizeof(page); i++)
		page[i] = (unsigned char)(i * 7 + mode);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fchmod(fd, mode), 0);
	ck_assert_int_eq(write(fd, page, sizeof(page)), (ssize_t)sizeof(page));
	void *m = mmap(NULL, sizeof(page), prot, MAP_PRIVATE, fd, 0);
	ck_assert_ptr_ne(m, MAP_FAILED);
	close(fd);
	*len = sizeof(page);
	return m;
}

static const struct proc_file *find_file(const struct proc_file *f, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(f[i].path, path) == 0)
			return &f[i];
	return NULL;
}

/* The lost files of pid, through the capture (as collect_capture takes them). */
static size_t lost_files(pid_t pid, struct proc_file *f, size_t max)
{
	size_t n = 99;
	struct proc_capture_opts opts = { .files = f, .files_max = max, .n_files = &n };
	json_object *o = NULL;
	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	json_object_put(o);
	ck_assert_uint_le(n, max);
	return n;
}

/* Whether this process may open /proc/PID/map_files: CAP_SYS_ADMIN or
 * CAP_CHECKPOINT_RESTORE in its effective set (read from the kernel: under
 * fakeroot geteuid() says 0 and means nothing). */
static bool may_open_map_files(void)
{
	char line[256];
	unsigned long long eff = 0;
	FILE *f = fopen("/proc/self/status", "re");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return eff & ((1ull << 21) | (1ull << 40));
}

START_TEST(test_open_lost_files)
{
	/* a package build runs the unit tests as a normal user */
	if (!may_open_map_files()) {
		printf("  SKIP    %s: needs CAP_SYS_ADMIN for map_files (root; make check runs as root)\n", __func__);
		return;
	}
	char dir[] = "/var/tmp/check_proc.XXXXXX", priv[64], gone[64], open_[64], data[64], hid[64], hidden[80];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(hid, sizeof(hid), "%s/home", dir);
	ck_assert_int_eq(mkdir(hid, 0700), 0);
	snprintf(hidden, sizeof(hidden), "%s/prog", hid);
	snprintf(priv, sizeof(priv), "%s/private", dir);
	snprintf(gone, sizeof(gone), "%s/gone", dir);
	snprintf(open_, sizeof(open_), "%s/readable", dir);
	snprintf(data, sizeof(data), "%s/data", dir);
	size_t len;
	void *m1 = map_file(priv, 0600, PROT_READ | PROT_EXEC, &len);
	void *m2 = map_file(gone, 0644, PROT_READ | PROT_EXEC, &len);
	void *m3 = map_file(open_, 0644, PROT_READ | PROT_EXEC, &len);
	void *m4 = map_file(data, 0600, PROT_READ, &len);
	void *m6 = map_file(hidden, 0644, PROT_READ | PROT_EXEC, &len);
	ck_assert_int_eq(unlink(gone), 0);
	int zfd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	ck_assert_int_ge(zfd, 0);
	/* shared and writable: the kernel shows it as "/dev/zero (deleted)", a
	 * regular shmem file behind map_files (read-only, it stays the device) */
	void *m5 = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_SHARED, zfd, 0);
	ck_assert_ptr_ne(m5, MAP_FAILED);
	close(zfd);

	struct proc_file f[PROC_FILES_MAX];
	size_t n = lost_files(getpid(), f, PROC_FILES_MAX);
	const struct proc_file *p = find_file(f, n, priv), *g = find_file(f, n, gone);
	ck_assert_msg(p != NULL, "the 0600 executable mapping was not opened");
	ck_assert_msg(g != NULL, "the deleted executable mapping was not opened (path without \" (deleted)\")");
	ck_assert_msg(find_file(f, n, hidden) != NULL, "the 0644 file in a 0700 directory was not opened");
	ck_assert_ptr_null(find_file(f, n, open_));
	ck_assert_ptr_null(find_file(f, n, data));
	for (size_t i = 0; i < n; i++)
		ck_assert_msg(strncmp(f[i].path, "/dev/", 5) != 0, "opened a device: %s", f[i].path);
	/* the very bytes that were mapped */
	unsigned char b[4096];
	ck_assert_int_eq(pread(p->fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
	ck_assert(memcmp(b, m1, sizeof(b)) == 0);
	ck_assert_int_eq(pread(g->fd, b, sizeof(b), 0), (ssize_t)sizeof(b));
	ck_assert(memcmp(b, m2, sizeof(b)) == 0);
	/* none in the upper half of the descriptors (RLIMIT_NOFILE) */
	pid_t kid = fork();
	ck_assert_int_ge(kid, 0);
	if (kid == 0) {
		struct rlimit rl = { 64, 64 };
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			_exit(2);
		for (int fd = 3; fd < 40; fd++) /* the lower half taken */
			if (fcntl(fd, F_GETFD) < 0 && dup2(0, fd) < 0)
				_exit(3);
		struct proc_file kf[PROC_FILES_MAX];
		size_t kn = lost_files(getpid(), kf, PROC_FILES_MAX);
		_exit(kn == 0 ? 0 : 4);
	}
	int kst;
	ck_assert_int_eq(waitpid(kid, &kst, 0), kid);
	ck_assert_msg(WIFEXITED(kst) && WEXITSTATUS(kst) == 0, "child status %d (4: files opened past the cap)", kst);
	/* never more than asked */
	struct proc_file one[1];
	size_t k = lost_files(getpid(), one, 1);
	ck_assert_uint_eq(k, 1);
	proc_files_close(one, k);
	ck_assert_uint_eq(lost_files(getpid(), one, 0), 0);
	proc_files_close(f, n);
	munmap(m1, len);
	munmap(m2, len);
	munmap(m3, len);
	munmap(m4, len);
	munmap(m6, len);
	unlink(hidden);
	rmdir(hid);
	munmap(m5, 4096);
	unlink(priv);
	unlink(open_);
	unlink(data);
	rmdir(dir);
}
END_TEST

/* A child that does what a hostile process may: DEPTH-deep directory chains
 * under dir (made by the child, as the attacker would), COUNT executable
 * mappings of the file at the bottom of each of n_chains, alternating; with
 * flat > 0, that many distinct files in dir mapped once each instead. It
 * stops (SIGSTOP) when ready; the caller kills it. */
static pid_t spawn_mapper(const char *dir, int n_chains, int depth, int count, int flat)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fds[2] = { -1, -1 };
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (int k = 0; k < n_chains; k++) {
			char name[2] = { (char)('a' + k), 0 };
			int d = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (mkdirat(d, name, 0755) < 0)
				_exit(10);
			int nd = openat(d, name, O_PATH | O_DIRECTORY | O_CLOEXEC);
			close(d);
			d = nd;
			for (int i = 0; d >= 0 && i < depth; i++) {
				if (mkdirat(d, "d", 0755) < 0)
					_exit(11);
				nd = openat(d, "d", O_PATH | O_DIRECTORY | O_CLOEXEC);
				close(d);
				d = nd;
			}
			fds[k] = d >= 0 ? openat(d, "f", O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
			if (fds[k] < 0 || fchmod(fds[k], 0644) < 0 || ftruncate(fds[k], 4096) < 0)
				_exit(12);
			close(d);
		}
		for (int i = 0; i < count; i++)
			for (int k = 0; k < n_chains; k++)
				if (mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fds[k], 0) == MAP_FAILED)
					_exit(13);
		for (int i = 0; i < flat; i++) {
			char f[PATH_MAX];
			snprintf(f, sizeof(f), "%s/f%d", dir, i);
			int fd = open(f, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
			if (fd < 0 || ftruncate(fd, 4096) < 0 ||
			    mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0) == MAP_FAILED)
				_exit(14);
			close(fd);
		}
		raise(SIGSTOP);
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, WUNTRACED), pid);
	ck_assert_msg(WIFSTOPPED(st), "mapper failed: status %d", st);
	return pid;
}

static int64_t get_int(json_object *o, const char *key)
{
	json_object *v = get(o, key);
	ck_assert_msg(json_object_is_type(v, json_type_int), "%s is not a number", key);
	return json_object_get_int64(v);
}

/* Every item the budget cut is listed under "truncated"; returns how many. */
static int budget_cuts(json_object *o, const char *want_msg)
{
	json_object *err = get(o, "errors"), *tr = get(o, "truncated");
	int n = 0;
	json_object_object_foreach(err, k, v) {
		if (!strstr(json_object_get_string(v), "capture budget"))
			continue;
		if (want_msg)
			ck_assert_str_eq(json_object_get_string(v), want_msg);
		ck_assert_msg(array_has_str(tr, k), "%s cut by the budget but not in truncated", k);
		n++;
	}
	return n;
}

/* The attack, scaled down: two files at the bottom of 300-deep chains,
 * mapped 3000 times each, alternating. Without a budget (so that nothing here
 * depends on time), the work is bounded by what the capture reads: the maps
 * text stops at item_max, the scan with it, each path is judged once, and the
 * chains are too deep to walk. */
START_TEST(test_capture_deep_maps_bounded)
{
	TESTUTIL_NEED_ROOT("needs root (CAP_SYS_ADMIN for map_files)");
	make_tmpdir();
	pid_t pid = spawn_mapper(tmpdir, 2, 300, 3000, 0);
	struct proc_file f[PROC_FILES_MAX];
	size_t n = 0;
	struct proc_capture_opts opts = { .files = f, .files_max = PROC_FILES_MAX, .n_files = &n };
	json_object *o = NULL;

	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	json_object *tr = get(o, "truncated"), *mf = get(o, "map_files");
	ck_assert_msg(array_has_str(tr, "maps"), "maps not cut at item_max");
	ck_assert_msg(array_has_str(tr, "map_files"), "the scan's cut is not recorded");
	int64_t lines = get_int(mf, "lines"), paths = get_int(mf, "paths");
	/* kept: the lines of the first 256K only (each deep line is 600 to 650
	 * bytes, with the temp directory's name: far fewer than the 6,000 mapped) */
	ck_assert_int_gt(lines, 100);
	ck_assert_int_lt(lines, 256 * 1024 / 500);
	/* judged once each: the test binary, then the two files */
	ck_assert_int_le(paths, 3);
	ck_assert_int_ge(get_int(mf, "too_deep"), 1);
	ck_assert_int_eq(budget_cuts(o, NULL), 0);
	/* too deep to judge counts as hidden: opened, the very file */
	ck_assert_int_eq(get_int(mf, "opened"), (int64_t)n);
	ck_assert_uint_ge(n, 1);
	proc_files_close(f, n);
	json_object_put(o);
	reap(pid);
	rm_rf(tmpdir);
}
END_TEST

/* More distinct executable files than PROC_FILES_PATHS_MAX, all readable by
 * others (so none is opened and the scan goes on): judging stops at the cap,
 * and says so. */
START_TEST(test_capture_map_paths_cap)
{
	char dir[] = "/var/tmp/check_proc.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	ck_assert_int_eq(chmod(dir, 0755), 0);
	pid_t pid = spawn_mapper(dir, 0, 0, 0, PROC_FILES_PATHS_MAX + 40);
	struct proc_file f[PROC_FILES_MAX];
	size_t n = 0;
	struct proc_capture_opts opts = { .item_max = 16u << 20, .files = f, .files_max = PROC_FILES_MAX, .n_files = &n };
	json_object *o = NULL;

	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	json_object *mf = get(o, "map_files");
	ck_assert_msg(!array_has_str(get(o, "truncated"), "maps"), "16M of maps should hold them all");
	ck_assert_msg(array_has_str(get(o, "truncated"), "map_files"), "the paths cap is not recorded");
	ck_assert_int_eq(get_int(mf, "paths"), PROC_FILES_PATHS_MAX);
	proc_files_close(f, n);
	json_object_put(o);
	reap(pid);
	rm_rf(dir);
}
END_TEST

/* A budget spent at once (1 us): every item is cut, null, named in "errors"
 * and "truncated", and the capture still succeeds: the core is still taken. */
START_TEST(test_capture_budget_cut)
{
	TESTUTIL_NEED_ROOT("needs root (CAP_SYS_ADMIN for map_files)");
	make_tmpdir();
	pid_t pid = spawn_mapper(tmpdir, 2, 300, 3000, 0);
	struct proc_file f[PROC_FILES_MAX];
	size_t n = 99;
	struct proc_capture_opts opts = { .budget_usec = 1, .start_usec = proc_now_usec() - 10,
					  .files = f, .files_max = PROC_FILES_MAX, .n_files = &n };
	json_object *o = NULL;

	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	roundtrip(o);
	ck_assert_int_ge(budget_cuts(o, "capture budget of 1 us spent"), 10);
	ck_assert_ptr_null(get(o, "comm"));
	ck_assert_ptr_null(get(o, "maps"));
	ck_assert_msg(array_has_str(get(o, "truncated"), "maps"), "maps not listed as cut");
	ck_assert_uint_eq(n, 0);
	json_object_put(o);

	/* 0 = no budget: nothing cut */
	opts.budget_usec = 0;
	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	ck_assert_int_eq(budget_cuts(o, NULL), 0);
	ck_assert_str_eq(get_str(o, "comm"), "check_proc");
	proc_files_close(f, n);
	json_object_put(o);
	reap(pid);
	rm_rf(tmpdir);
}
END_TEST

/* The kernel's pidfd (%F): /proc/PID is read only when it is that process. */
START_TEST(test_capture_pidfd)
{
	const char *argv[] = { "sleep", "1000", NULL };
	const char *envp[] = { NULL };
	json_object *o = NULL;

	make_tmpdir();
	pid_t pid = spawn_child(argv, envp);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	ck_assert_int_ge(pidfd, 0);
	struct proc_capture_opts opts = { .use_pidfd = true, .pidfd = pidfd };

	ck_assert_int_eq(proc_capture(pid, &opts, &o), 0);
	ck_assert_str_eq(get_str(o, "comm"), "sleep");
	json_object_put(o);

	/* another pid than the pidfd's: nothing read, the mismatch recorded */
	ck_assert_int_eq(proc_capture(getpid(), &opts, &o), -ESRCH);
	ck_assert_ptr_nonnull(strstr(get_str(get(o, "errors"), "proc"), "is not the process of the kernel's pidfd"));
	ck_assert(!json_object_object_get_ex(o, "comm", NULL));
	ck_assert(!json_object_object_get_ex(o, "environ", NULL));
	json_object_put(o);

	/* the pidfd's process gone: nothing read either */
	reap(pid);
	ck_assert_int_eq(proc_capture(pid, &opts, &o), -ESRCH);
	ck_assert(!json_object_object_get_ex(o, "comm", NULL));
	json_object_put(o);

	/* not a pidfd at all */
	opts.pidfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_lt(proc_capture(getpid(), &opts, &o), 0);
	ck_assert(!json_object_object_get_ex(o, "comm", NULL));
	json_object_put(o);
	close(opts.pidfd);
	close(pidfd);
	rm_rf(tmpdir);
}
END_TEST

START_TEST(test_capture_system)
{
	json_object *o = NULL, *err, *v;
	struct utsname u;

	ck_assert_int_eq(sysinfo_capture(&o), 0);
	roundtrip(o);
	err = get(o, "errors");
	ck_assert_int_eq(uname(&u), 0);
	ck_assert_str_eq(get_str(o, "kernel"), u.release);

	v = get(o, "boot_id");
	if (access("/proc/sys/kernel/random/boot_id", R_OK) == 0) {
		const char *b = json_object_get_string(v);
		ck_assert_int_eq(strlen(b), 32);
		ck_assert_int_eq(strspn(b, "0123456789abcdef"), 32);
	}
	v = get(o, "os");
	if (!v)
		get(err, "os");
	v = get(o, "machine_id");
	if (v)
		ck_assert_int_eq(strlen(json_object_get_string(v)), 32);
	else
		get(err, "machine_id");
	json_object_put(o);
}
END_TEST

/* The text parsers over a buffer (proc_ctx.h): a heap copy with its NUL, as
 * proc_ctx_read hands it over, so that a parser reading or writing past len
 * shows under ASan. */
static char *text_dup(const char *s, size_t len)
{
	char *b = malloc(len + 1);
	ck_assert_ptr_nonnull(b);
	memcpy(b, s, len);
	b[len] = '\0';
	return b;
}

START_TEST(test_status_parse)
{
	static const char text[] = "Name:\tevil\\nname\nState:\tR (running)\n\nno colon\n:empty key\n"
				   "Name:\tsecond\nUid:\t0\t0\t0\t0  \n\xff:\t\x80\nVmRSS:\t  12 kB";
	struct proc_ctx c = { .dirfd = -1 };
	char *b = text_dup(text, sizeof(text) - 1);
	json_object *st = proc_status_parse(&c, b, sizeof(text) - 1, false);

	ck_assert_ptr_nonnull(st);
	ck_assert(!c.oom);
	ck_assert_int_eq(json_object_object_length(st), 5);
	ck_assert_str_eq(get_str(st, "Name"), "evil\\nname"); /* the first kept, escapes as they are */
	ck_assert_str_eq(get_str(st, "State"), "R (running)");
	ck_assert_str_eq(get_str(st, "Uid"), "0\t0\t0\t0");
	ck_assert_str_eq(get_str(st, "\xef\xbf\xbd"), "\xef\xbf\xbd");
	ck_assert_str_eq(get_str(st, "VmRSS"), "12 kB"); /* a last line without newline */
	roundtrip(st);
	json_object_put(st);
	free(b);

	/* cut at the cap: the partial last line is left out */
	b = text_dup(text, sizeof(text) - 1);
	st = proc_status_parse(&c, b, sizeof(text) - 1, true);
	ck_assert_ptr_nonnull(st);
	ck_assert_int_eq(json_object_object_length(st), 4);
	ck_assert(!json_object_object_get_ex(st, "VmRSS", NULL));
	json_object_put(st);
	free(b);

	b = text_dup("", 0);
	st = proc_status_parse(&c, b, 0, true);
	ck_assert_int_eq(json_object_object_length(st), 0);
	json_object_put(st);
	free(b);
}
END_TEST

START_TEST(test_limits_parse)
{
	static const char text[] = "Limit                     Soft Limit           Hard Limit           Units     \n"
				   "Max cpu time              unlimited            unlimited            seconds   \n"
				   "\n"
				   "Max nice priority         0                    0                    \n"
				   "Max open files            1024                 524288               files";
	struct proc_ctx c = { .dirfd = -1 };
	char *b = text_dup(text, sizeof(text) - 1);
	json_object *a = proc_limits_parse(&c, b, sizeof(text) - 1), *o;

	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(json_object_array_length(a), 3);
	o = json_object_array_get_idx(a, 0);
	ck_assert_str_eq(get_str(o, "name"), "Max cpu time");
	ck_assert_str_eq(get_str(o, "soft"), "unlimited");
	ck_assert_str_eq(get_str(o, "units"), "seconds");
	o = json_object_array_get_idx(a, 1);
	ck_assert_str_eq(get_str(o, "name"), "Max nice priority");
	ck_assert(json_object_object_get_ex(o, "units", NULL));
	ck_assert_ptr_null(get(o, "units"));
	o = json_object_array_get_idx(a, 2); /* the last row has no newline */
	ck_assert_str_eq(get_str(o, "hard"), "524288");
	ck_assert_str_eq(get_str(o, "units"), "files");
	roundtrip(a);
	json_object_put(a);
	free(b);

	/* not the kernel's layout: NULL, the caller keeps the text */
	static const char *const bad[] = {
		"this is not a limits file\n",
		"Limit   Hard Limit   Soft Limit   Units\n",         /* columns out of order */
		"Limit        Soft Limit   Hard Limit   Units\nshort\n", /* a row shorter than the name */
		"Limit        Soft Limit   Hard Limit   Units\nMax x        1   2   3   4\n", /* too many fields */
		"Limit        Soft Limit   Hard Limit   Units\nMax x        1\n",             /* too few */
		"Limit        Soft Limit   Hard Limit   Units\n             1   2\n",         /* no name */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = text_dup(bad[i], strlen(bad[i]));
		a = proc_limits_parse(&c, b, strlen(bad[i]));
		ck_assert_msg(a == NULL, "bad[%zu] parsed", i);
		free(b);
	}
	ck_assert(!c.oom);

	/* more rows than PROC_LIMITS_MAX (64) */
	char big[8192], *p = big;
	p += sprintf(p, "Limit        Soft Limit   Hard Limit   Units\n");
	for (int i = 0; i < 65; i++)
		p += sprintf(p, "Max %-8d 1            2            x\n", i);
	b = text_dup(big, (size_t)(p - big));
	ck_assert_ptr_null(proc_limits_parse(&c, b, (size_t)(p - big)));
	free(b);
}
END_TEST

START_TEST(test_fdinfo_field)
{
	static const char text[] = "pos:\t0\nflags:\t02000002\nmnt_id:\t15\nino:\t1055\nPid:\t  4242\nNSpid:\t4242\t1";
	const char *v = NULL;
	size_t n = 0;

	ck_assert_int_eq(proc_fdinfo_field(text, sizeof(text) - 1, "Pid", &v, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert(memcmp(v, "4242", 4) == 0);
	ck_assert_int_eq(proc_fdinfo_field(text, sizeof(text) - 1, "NSpid", &v, &n), 0);
	ck_assert_int_eq(n, 6); /* the last line, no newline: up to len */
	ck_assert_int_eq(proc_fdinfo_field(text, sizeof(text) - 1, "pos", &v, &n), -ENOENT); /* the first line */
	ck_assert_int_eq(proc_fdinfo_field(text, sizeof(text) - 1, "Tgid", &v, &n), -ENOENT);
	/* bounded by len, not by a NUL: "Pid:" past len is not found */
	ck_assert_int_eq(proc_fdinfo_field(text, 40, "Pid", &v, &n), -ENOENT);
	ck_assert_int_eq(proc_fdinfo_field("x\nPid:", 6, "Pid", &v, &n), 0);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(proc_fdinfo_field("x\nPid:\t  ", 9, "Pid", &v, &n), 0);
	ck_assert_int_eq(n, 0);
	/* a NUL ends the value, as it did the strcspn() this replaced */
	ck_assert_int_eq(proc_fdinfo_field("x\nPid:\t12\0003\n", 11, "Pid", &v, &n), 0);
	ck_assert_int_eq(n, 2);
	ck_assert_int_eq(proc_fdinfo_field(text, sizeof(text) - 1, "a-key-longer-than-twenty-nine-b", &v, &n),
			 -EINVAL);
}
END_TEST

START_TEST(test_maps_line)
{
	char l1[] = "55d0c0a00000-55d0c0a21000 r-xp 00002000 fe:01 1312   /usr/bin/my prog (deleted)";
	char l2[] = "7f0000000000-7f0000001000 r--p 00000000 fe:01 1312   /usr/lib/libc.so.6";
	char l3[] = "7ffd1000-7ffd3000 r-xp 00000000 00:00 0                          [vdso]";
	char l4[] = "7f0000000000-7f0000001000 rwxp 00000000 00:00 0 ";
	char l5[] = "7f0000000000-7f0000001000 r-xp 00000000";
	char l6[] = "nospace";
	char l7[] = "1-2 r-x";
	char l8[] = "1000-2000 --xp 0 0:0 1 /a\n";
	char *range = NULL, *path = NULL;

	ck_assert(proc_maps_line(l1, &range, &path));
	ck_assert_str_eq(range, "55d0c0a00000-55d0c0a21000");
	ck_assert_str_eq(path, "/usr/bin/my prog (deleted)"); /* spaces and all: path_undeleted_len's job */
	ck_assert(!proc_maps_line(l2, &range, &path));
	ck_assert(!proc_maps_line(l3, &range, &path));
	ck_assert(!proc_maps_line(l4, &range, &path));
	ck_assert(!proc_maps_line(l5, &range, &path));
	ck_assert(!proc_maps_line(l6, &range, &path));
	ck_assert(!proc_maps_line(l7, &range, &path));
	ck_assert(proc_maps_line(l8, &range, &path));
	ck_assert_str_eq(range, "1000-2000");
	ck_assert_str_eq(path, "/a");
}
END_TEST

static Suite *proc_suite(void)
{
	Suite *s = suite_create("proc");
	TCase *tc = tcase_create("proc");

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_capture_child);
	tcase_add_test(tc, test_capture_custom_redact);
	tcase_add_test(tc, test_capture_missing_pid);
	tcase_add_test(tc, test_capture_truncation);
	tcase_add_test(tc, test_fake_tree_hostile);
	tcase_add_test(tc, test_fake_tree_caps);
	tcase_add_test(tc, test_env_key_is_secret);
	tcase_add_test(tc, test_cgroup_unit);
	tcase_add_test(tc, test_capture_system);
	tcase_add_test(tc, test_open_lost_files);
	tcase_add_test(tc, test_capture_deep_maps_bounded);
	tcase_add_test(tc, test_capture_map_paths_cap);
	tcase_add_test(tc, test_capture_budget_cut);
	tcase_add_test(tc, test_capture_pidfd);
	tcase_add_test(tc, test_status_parse);
	tcase_add_test(tc, test_limits_parse);
	tcase_add_test(tc, test_fdinfo_field);
	tcase_add_test(tc, test_maps_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return testutil_run(proc_suite());
}
