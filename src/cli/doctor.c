/* doctor.c: mortem doctor.
 *
 * Policy: a check fails when crashes are being lost or will be (core_pattern
 * not ours, the collector missing, the store unwritable, the index corrupt,
 * the configuration unreadable); it warns when some crashes may be lost or
 * something needs a look (core_pipe_limit 0 or small, suid_dumpable 0,
 * RLIMIT_CORE of exactly 1, config values rejected, low free space, spool
 * leftovers, crashes parked while mortemd is down). Only failures make the
 * exit status 1.
 *
 * The mode: a socket core_pattern that nobody listens on loses every crash
 * (the kernel cannot connect), so it fails; a pipe works with or without
 * mortemd, which only takes the work over when it runs.
 *
 * RLIMIT_CORE: with a pipe core_pattern the kernel does not enforce it
 * (core(5)); it only skips the dump when the soft limit is exactly 1, the value
 * it uses to catch a collector that crashes itself (fs/coredump.c). 0 is
 * therefore fine, and mortem-collect stores the whole core whatever it is. */
#include "cli/doctor.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "base/config.h"
#include "base/text.h"
#include "cli/enable.h"
#include "collect/handoff.h"
#include "store/index.h"
#include "store/park.h"
#include "base/parse.h"
#include "store/policy.h"
#include "store/store.h"
#include "base/util.h"

#define DOCTOR_SYSCTL_MAX 4096        /* bytes read from a /proc/sys file */
#define DOCTOR_SYSTEMCTL_MAX 4096     /* bytes read from systemctl's output */
#define DOCTOR_SYSTEMCTL_TIMEOUT_MS 5000
#define DOCTOR_CONFIG_WARN_MAX 8      /* config warnings quoted in the report */
#define DOCTOR_STORE_FILES_MAX 1000000 /* store files summed before giving up */

void doctor_add(struct doctor *d, const char *name, enum doctor_status status, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (d->n >= DOCTOR_CHECKS_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	d->checks[d->n++] = (struct doctor_check){ .name = name, .status = status, .message = msg };
}

void doctor_unchecked(struct doctor *d, const char *name, const char *what, int err)
{
	bool perm = err == -EACCES || err == -EPERM;
	doctor_add(d, name, DOCTOR_WARN, "could not check %s: %s%s", what, strerror(-err),
		   perm && geteuid() != 0 ? " (run mortem doctor as root)" : "");
}

void doctor_free(struct doctor *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->checks[i].message);
	d->n = 0;
}

enum doctor_status doctor_worst(const struct doctor *d)
{
	enum doctor_status w = DOCTOR_OK;
	for (size_t i = 0; i < d->n; i++)
		if (d->checks[i].status > w)
			w = d->checks[i].status;
	return w;
}

const char *doctor_status_name(enum doctor_status s)
{
	return s == DOCTOR_OK ? "ok" : s == DOCTOR_WARN ? "warn" : "fail";
}

json_object *doctor_json(const struct doctor *d)
{
	json_object *o = json_object_new_object(), *arr = json_object_new_array();
	for (size_t i = 0; i < d->n; i++) {
		json_object *c = json_object_new_object();
		json_object_object_add(c, "name", json_object_new_string(d->checks[i].name));
		json_object_object_add(c, "status", json_object_new_string(doctor_status_name(d->checks[i].status)));
		json_object_object_add(c, "message",
				       json_object_new_string(d->checks[i].message ? d->checks[i].message : ""));
		json_object_array_add(arr, c);
	}
	json_object_object_add(o, "ok", json_object_new_boolean(doctor_worst(d) != DOCTOR_FAIL));
	json_object_object_add(o, "mode", d->mode ? json_object_new_string(d->mode) : NULL);
	json_object_object_add(o, "checks", arr);
	return o;
}

void doctor_print(const struct doctor *d, FILE *f)
{
	enum doctor_status w = doctor_worst(d);
	fprintf(f, "%s\n", w == DOCTOR_FAIL ? "crashes will NOT all be caught: see FAIL below"
			   : w == DOCTOR_WARN ? "crashes will be caught, with warnings below"
					      : "crashes will be caught");
	for (size_t i = 0; i < d->n; i++) {
		const struct doctor_check *c = &d->checks[i];
		/* Messages quote paths, the core pattern, config values and
		 * SQLite's words: escaped like every line a person reads. */
		fprintf(f, "  %-4s  %-16s ", c->status == DOCTOR_OK ? "ok" : c->status == DOCTOR_WARN ? "WARN" : "FAIL",
			c->name);
		text_fputs(c->message ? c->message : "", f);
		fputc('\n', f);
	}
}

/* Do two config paths name the same file? */
static bool doctor_same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	if (strcmp(a, b) == 0)
		return true;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Does the socket path lie in dir (repeated and trailing slashes aside)? */
static bool doctor_socket_in(const char *path, const char *dir)
{
	_cleanup_free_ char *want = NULL;
	char *p;

	if (enable_socket_pattern(dir, false, &want) < 0)
		return false;
	/* Collapse repeated slashes of path the way the pattern has none. */
	_cleanup_free_ char *got = strdup(path);
	if (!got)
		return false;
	p = got;
	for (const char *q = path; *q; q++)
		if (!(*q == '/' && q[1] == '/'))
			*p++ = *q;
	*p = '\0';
	return strcmp(got, want + 1) == 0;
}

/* A config's store path, loaded as the collector would (0 or a negative errno). */
static int doctor_config_store(const char *path, char **ret)
{
	struct mortem_config cfg;
	int r = config_init(&cfg);
	if (r < 0)
		return r;
	r = config_load(&cfg, path, NULL, NULL);
	if (r >= 0 || r == -EINVAL) {
		*ret = cfg.store_path ? strdup(cfg.store_path) : NULL;
		r = *ret ? 0 : -ENOMEM;
	}
	config_free(&cfg);
	return r;
}

/* The pattern is checked against this config: a collector reading another
 * config that names another store, or a socket outside this SocketDirectory=,
 * means the kernel hands the crashes to somebody else's mortem, and the
 * checks below (this store, this mortemd) say nothing about them. */
void doctor_check_core_pattern(struct doctor *d, const char *pattern, const char *release, const char *config_path,
			       const char *store_path, const char *socket_dir)
{
	_cleanup_free_ char *prog = NULL, *conf = NULL, *their_store = NULL;
	const char *collector_conf;
	int r;

	if (enable_pattern_is_mortem_socket(pattern)) {
		const char *path = enable_pattern_socket_path(pattern);
		if (socket_dir && !doctor_socket_in(path, socket_dir))
			doctor_add(d, "core_pattern", DOCTOR_WARN, "hands cores to the socket %s, not to this config's "
				   "SocketDirectory= %s: another mortemd takes them, the checks below are about this one",
				   path, socket_dir);
		else
			doctor_add(d, "core_pattern", DOCTOR_OK, "hands cores to mortemd's socket %s%s", path,
				   pattern[1] == '@' ? " (request/ack)" : "");
		return;
	}
	if (!enable_pattern_is_mortem(pattern) || enable_pattern_parse(pattern, &prog, &conf) < 0) {
		doctor_add(d, "core_pattern", DOCTOR_FAIL, "'%s' does not pipe to mortem-collect: crashes go %s; run 'mortem enable'",
			   pattern, pattern[0] == '|' || pattern[0] == '@' ? "to another handler" : "to core files, not to mortem");
		return;
	}
	if (access(prog, X_OK) < 0) {
		doctor_add(d, "core_pattern", DOCTOR_FAIL, "pipes to %s, which is not an executable file (%s): every crash is lost",
			   prog, strerror(errno));
		return;
	}
	collector_conf = conf ? conf : CONFIG_DEFAULT_PATH;
	if (strstr(pattern, " %F") && release && enable_kernel_has_pidfd(release) == 0) {
		doctor_add(d, "core_pattern", DOCTOR_WARN, "pipes to %s, but passes %%F, which kernel %s does not know "
			   "(Linux 6.16 and later); run 'mortem enable' again", prog, release);
		return;
	}
	if (!config_path || doctor_same_file(collector_conf, config_path) || !store_path) {
		doctor_add(d, "core_pattern", DOCTOR_OK, "pipes to %s (config %s)", prog, collector_conf);
		return;
	}
	/* Another config file: what matters is whether it names the same store. */
	r = doctor_config_store(collector_conf, &their_store);
	if (r < 0)
		doctor_add(d, "core_pattern", DOCTOR_WARN, "pipes to %s, which reads %s: could not check which store "
			   "that names (%s)%s; the checks below are about %s", prog, collector_conf, strerror(-r),
			   geteuid() != 0 && (r == -EACCES || r == -EPERM) ? ", run mortem doctor as root" : "", store_path);
	else if (!doctor_same_file(their_store, store_path))
		doctor_add(d, "core_pattern", DOCTOR_WARN, "pipes to %s, which reads %s and stores in %s, not in this "
			   "config's store %s (%s): the checks below are about another store", prog, collector_conf,
			   their_store, store_path, config_path);
	else
		doctor_add(d, "core_pattern", DOCTOR_OK, "pipes to %s (config %s, the same store %s)", prog,
			   collector_conf, store_path);
}

void doctor_check_mode(struct doctor *d, const char *pattern, const char *socket_dir, int coredump_listening,
		       int handoff_listening, const char *socket_enabled)
{
	if (enable_pattern_is_mortem_socket(pattern)) {
		const char *path = enable_pattern_socket_path(pattern);
		d->mode = "socket";
		if (coredump_listening < 0)
			doctor_add(d, "mode", DOCTOR_WARN, "socket (%s), but whether mortemd listens cannot be told: %s",
				   pattern, strerror(-coredump_listening));
		else if (coredump_listening == 0)
			doctor_add(d, "mode", DOCTOR_FAIL, "socket (%s), but mortemd is not listening: crashes are lost "
				   "until it runs; start mortemd.service, or 'mortem enable --mode pipe'", pattern);
		else if (socket_dir && !doctor_socket_in(path, socket_dir))
			doctor_add(d, "mode", DOCTOR_WARN, "socket (%s): mortemd listens, but SocketDirectory= is %s "
				   "here: the checks below may be about another mortemd", pattern, socket_dir);
		else
			doctor_add(d, "mode", DOCTOR_OK, "socket (%s): mortemd takes the cores from the kernel", pattern);
		return;
	}
	if (!enable_pattern_is_mortem(pattern)) {
		d->mode = "none";
		doctor_add(d, "mode", DOCTOR_WARN, "none: crashes do not reach mortem (see core_pattern)");
		return;
	}
	if (socket_enabled && handoff_listening == 1) {
		d->mode = "pipe+handoff";
		doctor_add(d, "mode", DOCTOR_WARN, "pipe with hand-off to mortemd, but mortem enable chose the socket "
			   "mode (%s): run 'mortem handover socket' (mortemd.service does when mortemd starts)",
			   socket_enabled);
		return;
	}
	if (socket_enabled) {
		d->mode = "pipe";
		doctor_add(d, "mode", DOCTOR_OK, "pipe: the socket mode's fallback while mortemd is down; mortem-collect "
			   "does the whole job until mortemd.service hands the kernel %s", socket_enabled);
		return;
	}
	if (handoff_listening == 1) {
		d->mode = "pipe+handoff";
		doctor_add(d, "mode", DOCTOR_OK, "pipe with hand-off to mortemd (%s/%s)", socket_dir ? socket_dir : "?",
			   HANDOFF_SOCKET);
		return;
	}
	d->mode = "pipe";
	if (handoff_listening < 0)
		doctor_add(d, "mode", DOCTOR_OK, "pipe (whether mortemd listens for hand-offs cannot be told: %s)",
			   strerror(-handoff_listening));
	else
		doctor_add(d, "mode", DOCTOR_OK, "pipe: mortem-collect does the whole job (mortemd is not running)");
}

void doctor_check_pipe_limit(struct doctor *d, const char *value)
{
	uint64_t v;
	if (!value || parse_u64(value, &v) < 0) {
		doctor_add(d, "core_pipe_limit", DOCTOR_WARN, "cannot be read: '%s'", value ? value : "");
		return;
	}
	if (v == 0)
		doctor_add(d, "core_pipe_limit", DOCTOR_WARN, "0: the kernel does not wait for the collector, so the "
			   "capture of /proc/PID races with the exit of processes with small cores; set 2147483647");
	else if (v < DOCTOR_PIPE_LIMIT_SMALL)
		doctor_add(d, "core_pipe_limit", DOCTOR_WARN, "%" PRIu64 ": the kernel skips every dump beyond %" PRIu64
			   " at once, so a crash storm loses crashes; set 2147483647", v, v);
	else
		doctor_add(d, "core_pipe_limit", DOCTOR_OK, "%" PRIu64, v);
}

void doctor_check_suid_dumpable(struct doctor *d, const char *value)
{
	if (!value || strcmp(value, "2") == 0)
		doctor_add(d, "suid_dumpable", value ? DOCTOR_OK : DOCTOR_WARN,
			   value ? "2: setuid programs' crashes are dumped to the (root) collector" : "cannot be read");
	else if (strcmp(value, "0") == 0)
		doctor_add(d, "suid_dumpable", DOCTOR_WARN, "0: crashes of setuid programs and of processes that "
			   "changed credentials are not dumped; fs.suid_dumpable=2 hands them to the collector");
	else if (strcmp(value, "1") == 0)
		doctor_add(d, "suid_dumpable", DOCTOR_WARN, "1 (debug): every process dumps, insecure; 2 is enough "
			   "with a pipe core_pattern");
	else
		doctor_add(d, "suid_dumpable", DOCTOR_WARN, "unexpected value '%s'", value);
}

void doctor_check_rlimit_core(struct doctor *d, const char *name, const char *what, uint64_t soft, bool infinity)
{
	char v[24];
	if (infinity)
		snprintf(v, sizeof(v), "infinity");
	else
		snprintf(v, sizeof(v), "%" PRIu64, soft);
	if (!infinity && soft == 1)
		doctor_add(d, name, DOCTOR_WARN, "%s: RLIMIT_CORE is 1, the value with which the kernel skips "
			   "the dump even with a pipe core_pattern", what);
	else
		doctor_add(d, name, DOCTOR_OK, "%s: RLIMIT_CORE %s (not enforced with a pipe core_pattern; "
			   "only 1 stops dumps)", what, v);
}

int doctor_parse_systemd_limit(const char *text, uint64_t *soft, bool *infinity)
{
	static const char *const keys[] = { "DefaultLimitCORESoft=", "DefaultLimitCORE=" };
	for (size_t k = 0; k < ARRAY_SIZE(keys); k++) {
		size_t kl = strlen(keys[k]);
		for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
			if (strncmp(p, keys[k], kl) != 0)
				continue;
			const char *v = p + kl, *e = strchrnul(v, '\n');
			_cleanup_free_ char *val = strndup(v, (size_t)(e - v));
			uint64_t u;
			if (!val)
				return -ENOMEM;
			if (strcmp(val, "infinity") == 0) {
				*infinity = true;
				*soft = UINT64_MAX;
				return 0;
			}
			if (parse_u64(val, &u) < 0)
				return -EINVAL;
			*infinity = false;
			*soft = u;
			return 0;
		}
	}
	return -ENOENT;
}

/* ---- The checks that look at the machine. ---- */

static char *doctor_sysctl(const char *path)
{
	char *buf = NULL;
	size_t len;
	bool trunc;
	if (read_file_at(AT_FDCWD, path, DOCTOR_SYSCTL_MAX, &buf, &len, &trunc) < 0)
		return NULL;
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	return buf;
}

/* argv's output, capped and with a deadline, and its exit status (*ret_exit,
 * -1 when killed). */
static int doctor_run(const char *const argv[], char **ret, int *ret_exit)
{
	int p[2];
	pid_t pid;
	char *buf = NULL;
	size_t len = 0;
	int r = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		(void)dup2(p[1], STDOUT_FILENO);
		if (devnull >= 0) {
			(void)dup2(devnull, STDIN_FILENO);
			(void)dup2(devnull, STDERR_FILENO);
		}
		execvp(argv[0], (char *const *)argv); /* execvp does not write them */
		_exit(127);
	}
	close(p[1]);
	buf = malloc(DOCTOR_SYSTEMCTL_MAX + 1);
	if (!buf)
		r = -ENOMEM;
	while (r == 0 && len < DOCTOR_SYSTEMCTL_MAX) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		int n = poll(&pfd, 1, DOCTOR_SYSTEMCTL_TIMEOUT_MS);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n == 0 ? -ETIMEDOUT : -errno;
			break;
		}
		ssize_t got = read(p[0], buf + len, DOCTOR_SYSTEMCTL_MAX - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			r = -errno;
		if (got <= 0)
			break;
		len += (size_t)got;
	}
	close(p[0]);
	if (r < 0)
		(void)kill(pid, SIGKILL);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_exit = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return 0;
}

/* `systemctl show` for the manager's DefaultLimitCORE. */
static int doctor_systemctl_limit(char **ret)
{
	static const char *const argv[] = { "systemctl", "show", "--property=DefaultLimitCORE",
				      "--property=DefaultLimitCORESoft", NULL };
	int st, r = doctor_run(argv, ret, &st);
	if (r == 0 && st != 0) {
		free(*ret);
		*ret = NULL;
		r = -EIO;
	}
	return r;
}

/* 1 when mortem-vacuum.timer is active, 0 when not, or a negative errno. */
static int doctor_timer_active(void)
{
	static const char *const argv[] = { "systemctl", "is-active", "mortem-vacuum.timer", NULL };
	_cleanup_free_ char *out = NULL;
	int st, r = doctor_run(argv, &out, &st);
	if (r < 0)
		return r;
	if (st == 0 && strncmp(out, "active", 6) == 0)
		return 1;
	/* is-active: 3 and "inactive"/"failed" for a unit that is not running;
	 * anything else (no systemctl: 127) is not an answer. */
	return st == 3 || strncmp(out, "inactive", 8) == 0 || strncmp(out, "failed", 6) == 0 ? 0 : -EIO;
}

static void doctor_check_systemd(struct doctor *d)
{
	struct stat st;
	_cleanup_free_ char *out = NULL;
	uint64_t soft = 0;
	bool inf = false;
	int r;

	if (stat("/run/systemd/system", &st) < 0 || !S_ISDIR(st.st_mode)) {
		doctor_add(d, "rlimit_services", DOCTOR_OK, "systemd is not running: no DefaultLimitCORE to check");
		return;
	}
	r = doctor_systemctl_limit(&out);
	if (r >= 0)
		r = doctor_parse_systemd_limit(out, &soft, &inf);
	if (r < 0) {
		doctor_add(d, "rlimit_services", DOCTOR_WARN, "cannot read DefaultLimitCORE from systemctl show: %s",
			   strerror(-r));
		return;
	}
	doctor_check_rlimit_core(d, "rlimit_services", "systemd services (DefaultLimitCORE)", soft, inf);
}

static void doctor_check_shell(struct doctor *d)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_CORE, &rl) < 0) {
		doctor_add(d, "rlimit_shell", DOCTOR_WARN, "getrlimit: %s", strerror(errno));
		return;
	}
	doctor_check_rlimit_core(d, "rlimit_shell", "this shell", (uint64_t)rl.rlim_cur, rl.rlim_cur == RLIM_INFINITY);
}

/* Bytes used by the files of dir, and how many there are; 0, or a negative
 * errno when dir exists but cannot be read (a missing one is empty). */
static int doctor_dir_usage(const char *dir, uint64_t *bytes, size_t *files, size_t *records)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	*bytes = 0;
	*files = *records = 0;
	if (!dp)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dp)) && *files < DOCTOR_STORE_FILES_MAX) {
		struct stat st;
		size_t n = strlen(de->d_name);
		if (de->d_name[0] == '.' || fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		*bytes += (uint64_t)st.st_blocks * 512;
		(*files)++;
		if (n > 5 && strcmp(de->d_name + n - 5, ".json") == 0)
			(*records)++;
	}
	closedir(dp);
	return 0;
}

void doctor_check_store(struct doctor *d, const struct store *s, const struct mortem_config *cfg)
{
	struct statvfs vfs;
	uint64_t used, avail;
	size_t files, records;
	char u[16], a[16];
	int r;

	if (access(s->root, F_OK) < 0) {
		if (errno == ENOENT)
			doctor_add(d, "store", DOCTOR_WARN, "%s does not exist yet (the collector creates it on the "
				   "first crash)", s->root);
		else
			doctor_unchecked(d, "store", s->root, -errno);
		return;
	}
	/* The collector writes as root: only root can tell whether root can. */
	if (access(s->root, W_OK) < 0 || (access(s->store_dir, F_OK) == 0 && access(s->store_dir, W_OK) < 0)) {
		if (geteuid() != 0)
			doctor_add(d, "store", DOCTOR_WARN, "could not check that %s is writable: not by this user "
				   "(run mortem doctor as root)", s->root);
		else
			doctor_add(d, "store", DOCTOR_FAIL, "%s is not writable: crashes are announced but not stored",
				   s->root);
		return;
	}
	if (statvfs(s->root, &vfs) < 0) {
		doctor_add(d, "store", DOCTOR_WARN, "statvfs %s: %s", s->root, strerror(errno));
		return;
	}
	r = doctor_dir_usage(s->store_dir, &used, &files, &records);
	if (r < 0) {
		doctor_unchecked(d, "store", s->store_dir, r);
		return;
	}
	avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct policy_limits lim;
	policy_limits_resolve(cfg, (uint64_t)vfs.f_blocks * vfs.f_frsize, ncpu > 0 ? (unsigned)ncpu : 1, &lim);
	char mu[16] = "none", kf[16] = "none";
	if (lim.max_use)
		format_size(lim.max_use, mu, sizeof(mu));
	if (lim.keep_free)
		format_size(lim.keep_free, kf, sizeof(kf));
	format_size(used, u, sizeof(u));
	format_size(avail, a, sizeof(a));
	if (lim.keep_free && avail < lim.keep_free)
		doctor_add(d, "store", DOCTOR_WARN, "%s: %s free, below KeepFree=%s: new cores may be kept as "
			   "metadata only until space is freed (%zu crashes in %s)", s->root, a, kf, records, u);
	else if (lim.max_use && used >= lim.max_use)
		doctor_add(d, "store", DOCTOR_WARN, "%s: %zu crashes in %s, at MaxUse=%s: new cores may be kept as "
			   "metadata only until a vacuum frees space", s->root, records, u, mu);
	else if (avail < DOCTOR_FREE_LOW)
		doctor_add(d, "store", DOCTOR_WARN, "%s: %zu crashes in %s, only %s free: large cores will not fit",
			   s->root, records, u, a);
	else
		doctor_add(d, "store", DOCTOR_OK, "%s: %zu crashes in %s, %s free (MaxUse=%s, KeepFree=%s)", s->root,
			   records, u, a, mu, kf);
}

static int doctor_quick_check_row(void *userdata, int ncol, char **vals, char **names)
{
	char **first = userdata;
	if (!*first && ncol > 0 && vals[0])
		*first = strdup(vals[0]);
	return 0;
}

void doctor_check_index(struct doctor *d, const struct store *s)
{
	sqlite3 *db = NULL;
	_cleanup_free_ char *first = NULL;
	char *err = NULL;
	int r;

	if (access(s->index_path, F_OK) < 0) {
		if (errno == ENOENT)
			doctor_add(d, "index", DOCTOR_OK, "%s does not exist yet (created with the first crash)",
				   s->index_path);
		else
			doctor_unchecked(d, "index", s->index_path, -errno);
		return;
	}
	/* Read-only for a user: opening it read-write would fail, or change it. */
	if (geteuid() != 0 && access(s->index_path, R_OK) < 0) {
		doctor_unchecked(d, "index", s->index_path, -errno);
		return;
	}
	r = geteuid() != 0 ? index_open_ro(s->index_path, &db) : index_open(s->index_path, &db);
	if (r == -EBADMSG) {
		doctor_add(d, "index", DOCTOR_FAIL, "%s is corrupt: run 'mortem reindex' (the records are safe)",
			   s->index_path);
		return;
	}
	if (r < 0 && geteuid() != 0 && r != -ENOTSUP) {
		doctor_unchecked(d, "index", s->index_path, r);
		return;
	}
	if (r < 0) {
		doctor_add(d, "index", DOCTOR_FAIL, "cannot open %s: %s", s->index_path, strerror(-r));
		return;
	}
	r = sqlite3_exec(db, "PRAGMA quick_check", doctor_quick_check_row, &first, &err);
	if (r != SQLITE_OK && geteuid() != 0 && r != SQLITE_CORRUPT && r != SQLITE_NOTADB)
		doctor_add(d, "index", DOCTOR_WARN, "could not check %s: %s (run mortem doctor as root)",
			   s->index_path, err ? err : sqlite3_errstr(r));
	else if (r != SQLITE_OK)
		doctor_add(d, "index", DOCTOR_FAIL, "quick_check of %s failed: %s; run 'mortem reindex'", s->index_path,
			   err ? err : sqlite3_errstr(r));
	else if (!first || strcmp(first, "ok") != 0)
		doctor_add(d, "index", DOCTOR_FAIL, "quick_check of %s: %s; run 'mortem reindex'", s->index_path,
			   first ? first : "no answer");
	else
		doctor_add(d, "index", DOCTOR_OK, "%s passes quick_check", s->index_path);
	sqlite3_free(err);
	index_close(db);
}

/* Is name (a spool file) one of a parked crash's, "<id>." and anything? The
 * id holds dots itself, so each prefix before a dot is tried; park_exists
 * errs on the side of parked. */
static bool doctor_spool_parked_file(const char *spool_dir, const char *name)
{
	char stem[STORE_ID_MAX + 1];
	for (const char *dot = strchr(name, '.'); dot; dot = strchr(dot + 1, '.')) {
		size_t n = (size_t)(dot - name);
		if (n > STORE_ID_MAX)
			break;
		if (n == 0)
			continue;
		memcpy(stem, name, n);
		stem[n] = '\0';
		if (store_id_valid(stem) && park_exists(spool_dir, stem))
			return true;
	}
	return false;
}

int doctor_spool_scan(const char *spool_dir, time_t now, size_t *ret_old, size_t *ret_parked)
{
	const size_t k = sizeof(PARK_SUFFIX) - 1;
	DIR *dp = opendir(spool_dir);
	struct dirent *de;
	size_t old = 0, parked = 0;

	if (!dp)
		return -errno;
	while ((de = readdir(dp))) {
		struct stat st;
		size_t len = strlen(de->d_name);
		if (de->d_name[0] == '.' || fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (len > k && len - k <= STORE_ID_MAX && strcmp(de->d_name + len - k, PARK_SUFFIX) == 0) {
			char stem[STORE_ID_MAX + 1];
			memcpy(stem, de->d_name, len - k);
			stem[len - k] = '\0';
			if (store_id_valid(stem))
				parked++;
		}
		if (now - st.st_mtime > DOCTOR_SPOOL_AGE_SEC && !doctor_spool_parked_file(spool_dir, de->d_name))
			old++;
	}
	closedir(dp);
	*ret_old = old;
	*ret_parked = parked;
	return 0;
}

/* Parked crashes are not leftovers: nothing cleans them up and no crash takes
 * them for lost; only a start of mortemd queues them (md_resume), so they stay
 * pending until one. While mortemd runs, those it took up at its start are
 * being stored and any it could not take wait for its next start: fine. While
 * it is down (or that cannot be told) they wait for someone to start it: a
 * warning, not a failure, since nothing is lost meanwhile. */
void doctor_check_parked(struct doctor *d, size_t parked, int coredump_listening, int handoff_listening)
{
	const char *s = parked == 1 ? "" : "es";

	if (parked == 0)
		return;
	if (coredump_listening == 1 || handoff_listening == 1)
		doctor_add(d, "parked", DOCTOR_OK, "%zu crash%s parked by a stop of mortemd; mortemd runs and takes "
			   "parked crashes up when it starts, so these are being stored or wait for its next start",
			   parked, s);
	else if (coredump_listening < 0 || handoff_listening < 0)
		doctor_add(d, "parked", DOCTOR_WARN, "%zu crash%s parked by a stop of mortemd, stored at its next start; "
			   "whether mortemd runs cannot be told (%s): if not, start mortemd.service "
			   "(systemctl start mortemd), until then they stay pending", parked, s,
			   strerror(-(coredump_listening < 0 ? coredump_listening : handoff_listening)));
	else
		doctor_add(d, "parked", DOCTOR_WARN, "%zu crash%s parked by a stop of mortemd, stored at its next start; "
			   "mortemd is not running: start mortemd.service (systemctl start mortemd), until then they "
			   "stay pending", parked, s);
}

void doctor_check_spool(struct doctor *d, const struct store *s, int coredump_listening, int handoff_listening)
{
	size_t old, parked;
	int r = doctor_spool_scan(s->spool_dir, time(NULL), &old, &parked);

	if (r == -ENOENT) {
		doctor_add(d, "spool", DOCTOR_OK, "no spool directory yet");
		return;
	}
	if (r < 0) {
		doctor_unchecked(d, "spool", s->spool_dir, r);
		return;
	}
	if (old)
		doctor_add(d, "spool", DOCTOR_WARN, "%zu files in %s older than %d s: left by killed collectors "
			   "(the next crash cleans them up)", old, s->spool_dir, DOCTOR_SPOOL_AGE_SEC);
	else
		doctor_add(d, "spool", DOCTOR_OK, "no leftovers in %s", s->spool_dir);
	doctor_check_parked(d, parked, coredump_listening, handoff_listening);
}

/* The socket pattern mortem enable chose when the kernel now pipes to its
 * fallback (mortemd down), from the saved state where enable keeps it
 * (enable_state_path()), else where a mortem before it did (the store's
 * root), as `mortem handover` reads it: *ret NULL when none. 0, or a
 * negative errno when the state cannot be read (*path_out: which file). */
static int doctor_socket_enabled(const char *root, const char *pattern, char **ret, char **path_out)
{
	_cleanup_free_ char *path = enable_state_path();
	struct enable_state s = { NULL };
	int r;

	*ret = NULL;
	if (!path)
		return -ENOMEM;
	r = enable_state_load(path, &s);
	if (r == -ENOENT && root) {
		free(path);
		if (asprintf(&path, "%s/%s", root, ENABLE_STATE_NAME) < 0) {
			path = NULL;
			return -ENOMEM;
		}
		r = enable_state_load(path, &s);
	}
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		*path_out = TAKE_PTR(path);
		return r;
	}
	if (s.fallback && strcmp(s.fallback, pattern) == 0)
		*ret = strdup(s.pattern);
	enable_state_free(&s);
	return 0;
}

/* Whether mortemd listens on its sockets (1, 0 or a negative errno each), as
 * enable_socket_listening tells from the socket tables (ours, and mortemd's
 * own network namespace's), for the mode and the parked crashes: the
 * pattern's socket (pattern may be NULL: unread) and the hand-off socket, on
 * which mortemd listens in every mode. A user cannot read the table of
 * root's mortemd: "no" from it while a mortemd runs (mortemd_pids) is
 * "cannot be told". */
static void doctor_listening(const char *pattern, const char *socket_dir, size_t mortemd_pids, int *coredump,
			     int *hand)
{
	const char *path = pattern ? enable_pattern_socket_path(pattern) : NULL;
	_cleanup_free_ char *handoff = NULL;

	*coredump = path ? enable_socket_listening(path) : 0;
	*hand = 0;
	if (!socket_dir)
		return;
	if (asprintf(&handoff, "%s/%s", socket_dir, HANDOFF_SOCKET) < 0) {
		handoff = NULL;
		*hand = -ENOMEM;
		return;
	}
	*hand = enable_socket_listening(handoff);
	if (geteuid() != 0 && mortemd_pids > 0) {
		if (*coredump == 0 && path)
			*coredump = -EACCES;
		if (*hand == 0)
			*hand = -EACCES;
	}
}

#define DOCTOR_PROC_SCAN_MAX 65536 /* /proc entries looked at for mortemd and cron */

/* How many processes named one of names (comm) run, and the first one's pid;
 * root_only: owned by uid 0 only. */
static size_t doctor_procs(const char *const *names, bool root_only, pid_t *first)
{
	_cleanup_close_ int procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dp = procfd >= 0 ? fdopendir(dup(procfd)) : NULL;
	struct dirent *de;
	size_t n = 0, seen = 0;

	if (!dp)
		return 0;
	while (seen++ < DOCTOR_PROC_SCAN_MAX && (de = readdir(dp))) {
		char p[300], comm[32];
		struct stat st;
		ssize_t k;
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		snprintf(p, sizeof(p), "%s/comm", de->d_name);
		_cleanup_close_ int fd = openat(procfd, p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0 || (k = read(fd, comm, sizeof(comm) - 1)) <= 0)
			continue;
		comm[k] = '\0';
		comm[strcspn(comm, "\n")] = '\0';
		bool hit = false;
		for (size_t i = 0; names[i] && !hit; i++)
			hit = strcmp(comm, names[i]) == 0;
		if (!hit || (root_only && (fstatat(procfd, de->d_name, &st, 0) < 0 || st.st_uid != 0)))
			continue;
		if (n++ == 0 && first)
			(void)parse_pid(de->d_name, first);
	}
	closedir(dp);
	return n;
}

void doctor_check_socket_dir(struct doctor *d, const char *dir)
{
	_cleanup_free_ char *why = NULL, *parent = NULL, *pwhy = NULL;
	int r;

	if (!dir) {
		doctor_add(d, "socket_dir", DOCTOR_WARN, "no SocketDirectory=");
		return;
	}
	r = handoff_dir_check(dir, &why);
	if (r == 0) {
		doctor_add(d, "socket_dir", DOCTOR_OK, "%s is root's alone", dir);
		return;
	}
	if (r == -ENOENT) {
		/* Not there until mortemd makes it: who else could make it first? */
		parent = strdup(dir);
		char *slash = parent ? strrchr(parent, '/') : NULL;
		if (!slash) {
			doctor_unchecked(d, "socket_dir", dir, -ENOMEM);
			return;
		}
		if (slash == parent)
			slash[1] = '\0';
		else
			*slash = '\0';
		r = handoff_dir_check(parent, &pwhy);
		if (r == 0)
			doctor_add(d, "socket_dir", DOCTOR_OK, "%s does not exist yet (mortemd makes it)", dir);
		else if (r == -EPERM)
			doctor_add(d, "socket_dir", DOCTOR_WARN, "%s does not exist yet, and users other than root "
				   "could make it first (%s): mortemd would refuse it and mortem-collect not hand off; "
				   "choose a SocketDirectory= under a directory only root can write, like /run/mortem",
				   dir, pwhy ? pwhy : parent);
		else
			doctor_unchecked(d, "socket_dir", dir, r);
		return;
	}
	if (r == -EPERM)
		doctor_add(d, "socket_dir", DOCTOR_WARN, "%s can be written by users other than root (%s): they could "
			   "put a socket of theirs in mortemd's place; mortem-collect will not hand off there", dir,
			   why ? why : "?");
	else
		doctor_unchecked(d, "socket_dir", dir, r);
}

void doctor_check_running(struct doctor *d, bool systemd, size_t mortemd, pid_t mortemd_pid, int timer,
			  bool cron_script, size_t cron)
{
	if (mortemd)
		doctor_add(d, "mortemd", DOCTOR_OK, "runs (pid %d%s)", (int)mortemd_pid, mortemd > 1 ? " and more" : "");
	else
		doctor_add(d, "mortemd", DOCTOR_OK, "is not running%s", systemd ? "" : " (no systemd to start "
			   "mortemd.service: the pipe mode needs none)");
	if (systemd) {
		if (timer == 1)
			doctor_add(d, "vacuum", DOCTOR_OK, "mortem-vacuum.timer is active (daily 'mortem vacuum')");
		else if (timer == 0)
			doctor_add(d, "vacuum", DOCTOR_WARN, "mortem-vacuum.timer is not active: nothing removes old "
				   "crashes; systemctl enable --now mortem-vacuum.timer");
		else
			doctor_add(d, "vacuum", DOCTOR_WARN, "could not check mortem-vacuum.timer: %s", strerror(-timer));
		return;
	}
	if (cron_script && cron)
		doctor_add(d, "vacuum", DOCTOR_OK, "no systemd: cron runs %s (daily 'mortem vacuum')", DOCTOR_CRON_DAILY);
	else if (cron_script)
		doctor_add(d, "vacuum", DOCTOR_WARN, "no systemd, and no cron daemon runs: %s does not run, nothing "
			   "removes old crashes; start cron, or run 'mortem vacuum' daily otherwise", DOCTOR_CRON_DAILY);
	else
		doctor_add(d, "vacuum", DOCTOR_WARN, "no systemd and no %s: nothing removes old crashes; run "
			   "'mortem vacuum' daily", DOCTOR_CRON_DAILY);
}

/* Config warnings, collected for the report. */
struct doctor_config_warns {
	char *msgs[DOCTOR_CONFIG_WARN_MAX];
	size_t n, total;
};

static void doctor_config_warn(void *userdata, const char *msg)
{
	struct doctor_config_warns *w = userdata;
	if (w->n < DOCTOR_CONFIG_WARN_MAX)
		w->msgs[w->n++] = strdup(msg);
	w->total++;
}

int doctor_main(const char *config_path, bool json)
{
	struct doctor d = { .n = 0 };
	struct doctor_config_warns w = { .n = 0 };
	struct mortem_config cfg;
	struct store st = { NULL };
	struct utsname u;
	_cleanup_free_ char *pattern = NULL, *limit = NULL, *suid = NULL;
	bool have_cfg = false, have_store = false;
	int r, rc, coredump, hand;

	if (config_init(&cfg) < 0) {
		fprintf(stderr, "mortem doctor: out of memory\n");
		return 1;
	}
	have_cfg = true;
	r = config_load(&cfg, config_path, doctor_config_warn, &w);
	if (r < 0 && r != -EINVAL) {
		doctor_add(&d, "config", DOCTOR_FAIL, "cannot read %s: %s", config_path, strerror(-r));
	} else if (w.total) {
		size_t len = 0;
		char joined[2048] = "";
		for (size_t i = 0; i < w.n; i++)
			len += (size_t)snprintf(joined + len, len < sizeof(joined) ? sizeof(joined) - len : 0, "%s%s",
						i ? "; " : "", w.msgs[i] ? w.msgs[i] : "?");
		doctor_add(&d, "config", DOCTOR_WARN, "%zu problem%s (the keys keep their defaults): %s%s", w.total,
			   w.total == 1 ? "" : "s", joined, w.total > w.n ? "; ..." : "");
	} else {
		doctor_add(&d, "config", DOCTOR_OK, "%s %s", config_path,
			   access(config_path, F_OK) < 0 ? "is absent: the defaults apply" : "parses cleanly");
	}
	for (size_t i = 0; i < w.n; i++)
		free(w.msgs[i]);

	have_store = store_init(&st, cfg.store_path) >= 0;
	pattern = doctor_sysctl(ENABLE_PROC_PATTERN);
	static const char *const md_names[] = { "mortemd", NULL };
	static const char *const cron_names[] = { "cron", "crond", "anacron", NULL };
	pid_t md_pid = 0;
	size_t mortemd = doctor_procs(md_names, true, &md_pid);
	doctor_listening(pattern, cfg.socket_dir, mortemd, &coredump, &hand);
	if (pattern) {
		_cleanup_free_ char *socket_enabled = NULL, *state = NULL;
		r = doctor_socket_enabled(have_store ? st.root : NULL, pattern, &socket_enabled, &state);
		doctor_check_core_pattern(&d, pattern, uname(&u) == 0 ? u.release : NULL, config_path,
					  have_store ? st.root : NULL, cfg.socket_dir);
		doctor_check_mode(&d, pattern, cfg.socket_dir, coredump, hand, socket_enabled);
		if (r < 0 && enable_pattern_is_mortem(pattern))
			doctor_unchecked(&d, "enable_state", state ? state : "mortem enable's saved state", r);
	} else {
		doctor_add(&d, "core_pattern", DOCTOR_FAIL, "cannot read %s", ENABLE_PROC_PATTERN);
	}
	limit = doctor_sysctl(ENABLE_PROC_PIPE_LIMIT);
	doctor_check_pipe_limit(&d, limit);
	suid = doctor_sysctl("/proc/sys/fs/suid_dumpable");
	doctor_check_suid_dumpable(&d, suid);
	doctor_check_systemd(&d);
	doctor_check_shell(&d);
	doctor_check_socket_dir(&d, cfg.socket_dir);
	struct stat sd;
	bool systemd = stat("/run/systemd/system", &sd) == 0 && S_ISDIR(sd.st_mode);
	doctor_check_running(&d, systemd, mortemd, md_pid, systemd ? doctor_timer_active() : 0,
			     access(DOCTOR_CRON_DAILY, F_OK) == 0, systemd ? 0 : doctor_procs(cron_names, false, NULL));

	if (!have_store) {
		doctor_add(&d, "store", DOCTOR_FAIL, "bad store path '%s'", cfg.store_path ? cfg.store_path : "");
	} else {
		doctor_check_store(&d, &st, &cfg);
		doctor_check_index(&d, &st);
		doctor_check_spool(&d, &st, coredump, hand);
	}

	if (json) {
		json_object *o = doctor_json(&d);
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else {
		doctor_print(&d, stdout);
	}
	rc = doctor_worst(&d) == DOCTOR_FAIL ? 1 : 0;
	doctor_free(&d);
	if (have_store)
		store_free(&st);
	if (have_cfg)
		config_free(&cfg);
	return rc;
}
