/* enable_check.c: what `mortem enable`, `disable`, `handover` and `doctor`
 * judge before they write or report: the kernel's version, core_pattern
 * strings (built, parsed, and checked against what may be trusted), and
 * whether mortemd listens on a socket (in our network namespace or its own).
 * No file is written here; enable.c holds the writers. The policy is in
 * enable.c's head comment and in cli/enable.h. */
#include "cli/enable.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/parse.h"
#include "base/util.h"
#include "collect/handoff.h"

static const char enable_pattern_args[] = " %P %u %g %s %t %c %h %d";

/* "MAJOR.MINOR..." of a kernel release; -EINVAL when it does not start so. */
static int enable_kernel_version(const char *release, unsigned long v[2])
{
	const char *p = release;

	v[0] = v[1] = 0;
	for (int i = 0; i < 2; i++) {
		if (!p || !isdigit((unsigned char)*p))
			return -EINVAL;
		while (isdigit((unsigned char)*p)) {
			v[i] = v[i] * 10 + (unsigned long)(*p++ - '0');
			if (v[i] > 100000)
				return -EINVAL;
		}
		if (i == 0 && *p++ != '.')
			return -EINVAL;
	}
	return 0;
}

static bool enable_kernel_at_least(const unsigned long v[2], unsigned long major, unsigned long minor)
{
	return v[0] > major || (v[0] == major && v[1] >= minor);
}

int enable_kernel_has_pidfd(const char *release)
{
	unsigned long v[2];
	int r = enable_kernel_version(release, v);
	return r < 0 ? r : enable_kernel_at_least(v, 6, 16);
}

int enable_kernel_socket_mode(const char *release)
{
	unsigned long v[2];
	int r = enable_kernel_version(release, v);
	if (r < 0)
		return r;
	return enable_kernel_at_least(v, 6, 17) ? 2 : enable_kernel_at_least(v, 6, 16) ? 1 : 0;
}

static bool enable_path_ok(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	for (const char *p = path; *p; p++)
		if (isspace((unsigned char)*p) || *p == '%' || (unsigned char)*p < 0x20)
			return false;
	return true;
}

int enable_pattern_build(const char *collector, const char *config, bool pidfd, char **ret)
{
	char *s = NULL;
	int n;

	if (!enable_path_ok(collector) || (config && !enable_path_ok(config)))
		return -EINVAL;
	n = asprintf(&s, "|%s%s%s%s%s", collector, config ? " -c " : "", config ? config : "", enable_pattern_args,
		     pidfd ? " %F" : "");
	if (n < 0)
		return -ENOMEM;
	if ((size_t)n > ENABLE_PATTERN_MAX) {
		free(s);
		return -ENAMETOOLONG;
	}
	*ret = s;
	return 0;
}

/* The next space-separated word at *p (advanced past it), in a heap string. */
static char *enable_word(const char **p)
{
	const char *s = *p, *e;
	while (*s == ' ')
		s++;
	e = s;
	while (*e && *e != ' ')
		e++;
	*p = e;
	return e > s ? strndup(s, (size_t)(e - s)) : NULL;
}

int enable_pattern_parse(const char *pattern, char **ret_program, char **ret_config)
{
	const char *p = pattern;
	_cleanup_free_ char *prog = NULL, *opt = NULL, *conf = NULL;

	if (!p || *p != '|')
		return -ENOENT;
	p++;
	prog = enable_word(&p);
	if (!prog)
		return -EINVAL;
	opt = enable_word(&p);
	if (opt && strcmp(opt, "-c") == 0)
		conf = enable_word(&p);
	*ret_program = TAKE_PTR(prog);
	*ret_config = TAKE_PTR(conf);
	return 0;
}

bool enable_pattern_is_mortem(const char *pattern)
{
	_cleanup_free_ char *prog = NULL, *conf = NULL;
	const char *base;

	if (enable_pattern_parse(pattern, &prog, &conf) < 0)
		return false;
	base = strrchr(prog, '/');
	return strcmp(base ? base + 1 : prog, "mortem-collect") == 0;
}

int enable_socket_pattern(const char *socket_dir, bool request, char **ret)
{
	_cleanup_free_ char *dir = NULL;
	char *s = NULL;
	size_t len;

	if (!enable_path_ok(socket_dir))
		return -EINVAL;
	dir = strdup(socket_dir);
	if (!dir)
		return -ENOMEM;
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	/* A ".." component: the kernel refuses the pattern. */
	for (const char *p = dir; (p = strstr(p, "..")); p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return -EINVAL;
	if (asprintf(&s, "%s%s/%s", request ? "@@" : "@", strcmp(dir, "/") == 0 ? "" : dir, HANDOFF_COREDUMP_SOCKET) < 0)
		return -ENOMEM;
	if (strlen(s) - (request ? 2 : 1) > ENABLE_SUN_PATH_MAX || strlen(s) > ENABLE_PATTERN_MAX) {
		free(s);
		return -ENAMETOOLONG;
	}
	*ret = s;
	return 0;
}

const char *enable_pattern_socket_path(const char *pattern)
{
	if (!pattern || pattern[0] != '@')
		return NULL;
	return pattern + (pattern[1] == '@' ? 2 : 1);
}

bool enable_pattern_is_mortem_socket(const char *pattern)
{
	const char *path = enable_pattern_socket_path(pattern), *base;

	if (!path || path[0] != '/')
		return false;
	base = strrchr(path, '/') + 1;
	return strcmp(base, HANDOFF_COREDUMP_SOCKET) == 0;
}

bool enable_pattern_is_ours(const char *pattern)
{
	return enable_pattern_is_mortem(pattern) || enable_pattern_is_mortem_socket(pattern);
}

/* Equal strings, or both NULL. */
static bool enable_streq(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

bool enable_pattern_is_plain(const char *pattern)
{
	if (!pattern || !*pattern || pattern[0] == '|' || pattern[0] == '@' || strlen(pattern) > ENABLE_PATTERN_MAX)
		return false;
	for (const char *p = pattern; *p; p++)
		if (*p == '/' || isspace((unsigned char)*p) || (unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

static int enable_refuse(char **why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int enable_refuse(char **why, const char *fmt, ...)
{
	va_list ap;
	if (why) {
		free(*why);
		va_start(ap, fmt);
		if (vasprintf(why, fmt, ap) < 0)
			*why = NULL;
		va_end(ap);
	}
	return -EPERM;
}

/* A pipe to mortem's collector, exactly as enable builds it, from files that
 * are root's alone. */
static int enable_pipe_check(const char *pattern, char **why)
{
	_cleanup_free_ char *prog = NULL, *conf = NULL, *w = NULL, *p1 = NULL, *p2 = NULL;
	const char *base;

	if (enable_pattern_parse(pattern, &prog, &conf) < 0)
		return enable_refuse(why, "'%s' is not a pipe pattern", pattern);
	base = strrchr(prog, '/');
	if (!base || strcmp(base + 1, "mortem-collect") != 0)
		return enable_refuse(why, "'%s' does not pipe to mortem-collect", pattern);
	if (handoff_path_check(prog, S_IFREG, &w) < 0)
		return enable_refuse(why, "'%s': the collector is not root's alone: %s", pattern, w ? w : "?");
	if (access(prog, X_OK) < 0)
		return enable_refuse(why, "'%s': the collector is not executable: %s", pattern, strerror(errno));
	if (conf && handoff_path_check(conf, S_IFREG, &w) < 0)
		return enable_refuse(why, "'%s': the config is not root's alone: %s", pattern, w ? w : "?");
	/* Nothing else on the command line: no option slipped in after -c. */
	if ((enable_pattern_build(prog, conf, false, &p1) < 0 || strcmp(p1, pattern) != 0) &&
	    (enable_pattern_build(prog, conf, true, &p2) < 0 || strcmp(p2, pattern) != 0))
		return enable_refuse(why, "'%s' is not the pattern mortem enable writes for %s", pattern, prog);
	return 0;
}

/* mortemd's coredump socket in a directory only root can write. */
static int enable_socket_check(const char *pattern, char **why)
{
	const char *path = enable_pattern_socket_path(pattern);
	_cleanup_free_ char *dir = NULL, *again = NULL, *w = NULL;

	if (!enable_pattern_is_mortem_socket(pattern))
		return enable_refuse(why, "'%s' is not mortemd's coredump socket", pattern);
	dir = strndup(path, (size_t)(strrchr(path, '/') - path));
	if (!dir)
		return -ENOMEM;
	if (enable_socket_pattern(*dir ? dir : "/", pattern[1] == '@', &again) < 0 || strcmp(again, pattern) != 0)
		return enable_refuse(why, "'%s' is not the pattern mortem enable writes for %s", pattern, dir);
	if (handoff_dir_check(*dir ? dir : "/", &w) < 0)
		return enable_refuse(why, "'%s': the socket's directory is not root's alone: %s", pattern, w ? w : "?");
	return 0;
}

int enable_pattern_check(const char *pattern, char **why)
{
	if (enable_pattern_is_plain(pattern))
		return 0;
	if (pattern && pattern[0] == '|')
		return enable_pipe_check(pattern, why);
	if (pattern && pattern[0] == '@')
		return enable_socket_check(pattern, why);
	return enable_refuse(why, "'%s' is neither a plain file pattern without '/' nor mortem's", pattern ? pattern : "");
}

int enable_state_check(const struct enable_state *s, bool trusted, const char *dropin_path, char **why)
{
	uint64_t v;

	if (!s->prev_pattern || !s->prev_pipe_limit || !s->pattern)
		return enable_refuse(why, "incomplete state");
	if (!enable_pattern_is_ours(s->pattern))
		return enable_refuse(why, "the pattern it says enable wrote, '%s', is not mortem's", s->pattern);
	if (s->fallback && !enable_pattern_is_mortem(s->fallback))
		return enable_refuse(why, "the fallback pattern '%s' is not mortem-collect's", s->fallback);
	if (parse_u64(s->prev_pipe_limit, &v) < 0 || v > 2147483647u)
		return enable_refuse(why, "the saved core_pipe_limit '%s' is not a number", s->prev_pipe_limit);
	if (s->prev_suid_dumpable && (strlen(s->prev_suid_dumpable) != 1 || !strchr("012", s->prev_suid_dumpable[0])))
		return enable_refuse(why, "the saved fs.suid_dumpable '%s' is not 0, 1 or 2", s->prev_suid_dumpable);
	if (trusted)
		return 0;
	if (s->dropin && !enable_streq(s->dropin, dropin_path))
		return enable_refuse(why, "the drop-in it names, %s, is not %s", s->dropin, dropin_path ? dropin_path : "");
	_cleanup_free_ char *w = NULL;
	if (enable_pattern_check(s->prev_pattern, &w) < 0)
		return enable_refuse(why, "the saved core_pattern '%s' is not the kernel's plain default or mortem's "
				     "(%s), and the file is not one only root could have written",
				     s->prev_pattern, w ? w : "?");
	return 0;
}

/* The same path but for repeated slashes ("/run//mortem" is "/run/mortem"). */
static bool enable_same_path(const char *a, const char *b)
{
	for (;;) {
		if (*a != *b)
			return false;
		if (*a == '\0')
			return true;
		if (*a == '/') {
			while (a[1] == '/')
				a++;
			while (b[1] == '/')
				b++;
		}
		a++;
		b++;
	}
}

#define ENABLE_SO_ACCEPTCON 0x10000u /* /proc/net/unix Flags: listening (__SO_ACCEPTCON) */
#define ENABLE_SS_UNCONNECTED 1u     /* /proc/net/unix St: what a listening socket shows */

int enable_socket_listening_in(const char *table, const char *path)
{
	FILE *f = fopen(table, "re");
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int found = 0;

	if (!f)
		return -errno;
	/* "%pK: RefCount Protocol Flags Type St Inode[ Path]", one socket a line. */
	while (!found && (len = getline(&line, &cap, f)) >= 0) {
		unsigned flags, st;
		int at = -1;

		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (sscanf(line, "%*x: %*x %*x %x %*x %x %*u%n", &flags, &st, &at) != 2 || at < 0 || line[at] != ' ')
			continue;
		found = (flags & ENABLE_SO_ACCEPTCON) && st == ENABLE_SS_UNCONNECTED &&
			enable_same_path(line + at + 1, path);
	}
	if (!found && ferror(f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	return found;
}

/* mortemd.service runs in a network namespace of its own (PrivateNetwork=):
 * its path-bound sockets work from anywhere, but are listed only in its own
 * namespace's table. So a socket not in ours is looked for in the table of
 * each process named "mortemd" that is root's in our user namespace (a user
 * can name a process so, and bind the same path in a mount namespace of its
 * own: it must not make `mortem enable` point the kernel at nothing). */
#define ENABLE_PROC_SCAN_MAX 65536 /* /proc entries looked at */

static bool enable_is_mortemd(int procfd, const char *pid, ino_t userns)
{
	char comm[32], p[300];
	struct stat st;
	ssize_t n;

	snprintf(p, sizeof(p), "%s/comm", pid);
	_cleanup_close_ int fd = openat(procfd, p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || (n = read(fd, comm, sizeof(comm) - 1)) <= 0)
		return false;
	comm[n] = '\0';
	if (strcmp(comm, "mortemd\n") != 0)
		return false;
	if (fstatat(procfd, pid, &st, 0) < 0 || st.st_uid != 0)
		return false;
	snprintf(p, sizeof(p), "%s/ns/user", pid);
	return fstatat(procfd, p, &st, 0) == 0 && st.st_ino == userns;
}

int enable_socket_listening(const char *path)
{
	int r = enable_socket_listening_in(ENABLE_PROC_NET_UNIX, path);
	struct stat self;

	if (r != 0)
		return r;
	_cleanup_close_ int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = procfd >= 0 ? fdopendir(dup(procfd)) : NULL;
	if (!d || stat("/proc/self/ns/user", &self) < 0) {
		if (d)
			closedir(d);
		return 0;
	}
	struct dirent *e;
	unsigned seen = 0;
	while (r == 0 && seen++ < ENABLE_PROC_SCAN_MAX && (e = readdir(d))) {
		char table[300];
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !enable_is_mortemd(procfd, e->d_name, self.st_ino))
			continue;
		snprintf(table, sizeof(table), "/proc/%s/net/unix", e->d_name);
		r = enable_socket_listening_in(table, path);
		if (r < 0)
			r = 0; /* gone meanwhile, or not ours to read: look on */
	}
	closedir(d);
	return r;
}

