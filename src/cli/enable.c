/* enable.c: mortem enable / disable.
 *
 * Policy: enable saves what it replaces and disable restores exactly that, so
 * the pair leaves the machine as it was. A pattern is "ours" when it pipes to a
 * program named mortem-collect, or names a socket called coredump.socket ("@"
 * or "@@", mortemd's). A pipe or a socket of anything else (systemd-coredump,
 * apport, ...) is another handler: enable refuses to replace it without
 * --force, and keeps it for disable when forced. A plain file pattern ("core",
 * the kernel's default) is the kernel writing files itself, not a handler, and
 * is replaced (and saved) without --force. Enable when the kernel already has
 * our pattern is a no-op that leaves the saved values alone, so they never
 * become our own pattern. Disable restores only while core_pattern is still
 * what enable wrote; when someone changed it since, it is left alone.
 *
 * core_pipe_limit becomes 2147483647: any non-zero value makes the kernel wait
 * until the collector closes the pipe, which keeps /proc/PID readable even for
 * tiny cores, but the kernel silently skips every dump beyond that many at
 * once, which loses crashes in a storm; the largest value gives the first
 * without the second.
 *
 * Modes: the socket (mortemd reads the core from the kernel's coredump socket,
 * "@@" with the request/ack protocol on Linux >= 6.17, "@" on 6.16) or the
 * pipe (the kernel runs mortem-collect, which hands the crash off to mortemd
 * when mortemd runs and does the whole job itself when it does not). Auto
 * takes the socket only when the kernel has it and mortemd is listening right
 * now: a socket nobody listens on loses every crash, a pipe loses none.
 * core_pipe_limit is set the same in both modes (with "@" the kernel waits
 * for mortemd as for the collector; with "@@" mortemd's answer decides), so
 * switching modes never leaves a small one behind.
 *
 * Without --runtime, enable also writes SYSCTL_DIR/50-mortem.conf (default
 * /etc/sysctl.d, MORTEM_SYSCTL_DIR for tests) so that the setting survives a
 * reboot; a file of that name that enable did not write is left alone, and
 * disable removes the drop-in only when it is still what enable wrote. The
 * drop-in holds the pattern enable set, the socket one too: crashes between
 * early boot and mortemd's start are then lost, which the drop-in and
 * mortemd(8) say. The alternative, a pipe drop-in that mortemd swaps for the
 * socket when it starts, would make a second writer of core_pattern, and a
 * killed mortemd would leave the socket pattern behind all the same. */
#include "cli/enable.h"

#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include "base/config.h"
#include "base/parse.h"
#include "collect/handoff.h"
#include "base/util.h"

#define ENABLE_STATE_MAX (64u << 10) /* bytes of the saved-state file */
#define ENABLE_SYSCTL_MAX 4096       /* bytes read from a /proc/sys file */
#define ENABLE_DROPIN_MAX (64u << 10) /* bytes of a drop-in we compare */

void enable_state_free(struct enable_state *s)
{
	free(s->prev_pattern);
	free(s->prev_pipe_limit);
	free(s->prev_suid_dumpable);
	free(s->pattern);
	free(s->dropin);
	free(s->fallback);
	*s = (struct enable_state){ NULL };
}

/* Equal strings, or both NULL. */
static bool enable_streq(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Write text to path atomically: a temp file beside it, fsync, rename. */
static int enable_write_atomic(const char *path, const char *text, mode_t mode)
{
	_cleanup_free_ char *tmp = NULL, *dir = NULL;
	_cleanup_close_ int fd = -1;
	char *slash;
	int r;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0 || !(dir = strdup(path)))
		return -ENOMEM;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = write_all(fd, text, strlen(text));
	if (r >= 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		(void)fsync_dir(dir); /* the rename is done; a failed fsync is not worth undoing it */
	}
	return 0;
}

int enable_state_save(const char *path, const struct enable_state *s)
{
	json_object *o = json_object_new_object();
	int r;

	if (!o || !s->prev_pattern || !s->prev_pipe_limit || !s->pattern) {
		json_object_put(o);
		return o ? -EINVAL : -ENOMEM;
	}
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "core_pattern", json_object_new_string(s->prev_pattern));
	json_object_object_add(o, "core_pipe_limit", json_object_new_string(s->prev_pipe_limit));
	if (s->prev_suid_dumpable)
		json_object_object_add(o, "suid_dumpable", json_object_new_string(s->prev_suid_dumpable));
	json_object_object_add(o, "enabled_pattern", json_object_new_string(s->pattern));
	json_object_object_add(o, "dropin", s->dropin ? json_object_new_string(s->dropin) : NULL);
	json_object_object_add(o, "fallback_pattern", s->fallback ? json_object_new_string(s->fallback) : NULL);
	_cleanup_free_ char *text = NULL;
	if (asprintf(&text, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
								  JSON_C_TO_STRING_NOSLASHESCAPE)) < 0)
		text = NULL;
	json_object_put(o);
	if (!text)
		return -ENOMEM;
	r = enable_write_atomic(path, text, 0600);
	return r;
}

static int enable_json_str(json_object *o, const char *key, bool nullable, char **ret)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, key, &v) || !v) {
		*ret = NULL;
		return nullable ? 0 : -EBADMSG;
	}
	if (!json_object_is_type(v, json_type_string))
		return -EBADMSG;
	*ret = strdup(json_object_get_string(v));
	return *ret ? 0 : -ENOMEM;
}

int enable_state_load(const char *path, struct enable_state *ret)
{
	_cleanup_free_ char *buf = NULL;
	struct enable_state s = { NULL };
	size_t len;
	bool trunc;
	json_object *o;
	int r;

	r = read_file_at(AT_FDCWD, path, ENABLE_STATE_MAX, &buf, &len, &trunc);
	if (r < 0)
		return r;
	if (trunc || strlen(buf) != len)
		return -EBADMSG;
	o = json_tokener_parse(buf);
	if (!o || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return -EBADMSG;
	}
	if ((r = enable_json_str(o, "core_pattern", false, &s.prev_pattern)) < 0 ||
	    (r = enable_json_str(o, "core_pipe_limit", false, &s.prev_pipe_limit)) < 0 ||
	    (r = enable_json_str(o, "suid_dumpable", true, &s.prev_suid_dumpable)) < 0 ||
	    (r = enable_json_str(o, "enabled_pattern", false, &s.pattern)) < 0 ||
	    (r = enable_json_str(o, "dropin", true, &s.dropin)) < 0 ||
	    (r = enable_json_str(o, "fallback_pattern", true, &s.fallback)) < 0) {
		json_object_put(o);
		enable_state_free(&s);
		return r;
	}
	json_object_put(o);
	*ret = s;
	return 0;
}

/* with_suid: the fs.suid_dumpable line (a drop-in of a mortem before it was
 * set has none, and is still ours to remove). */
static char *enable_dropin_text_v(const char *pattern, const char *fallback, bool with_suid)
{
	static const char suid[] = "# fs.suid_dumpable = 2: set-uid and other privileged processes dump too, to\n"
				   "# the handler only, as with systemd's 50-coredump.conf.\n"
				   "fs.suid_dumpable = " ENABLE_SUID_DUMPABLE "\n";
	const char *sl = with_suid ? suid : "";
	char *s = NULL;
	int n;

	if (pattern[0] == '@' && fallback)
		n = asprintf(&s,
			     "# Written by 'mortem enable'; 'mortem disable' removes it unless it was edited.\n"
			     "# Socket mode (%s): at boot the kernel pipes\n"
			     "# to mortem-collect; mortemd.service points it at mortemd's socket once\n"
			     "# mortemd listens, and back here when mortemd stops ('mortem handover').\n"
			     "# core_pipe_limit: the kernel waits for the handler. See mortem(1), mortemd(8).\n"
			     "%skernel.core_pipe_limit = %s\n"
			     "kernel.core_pattern = %s\n",
			     pattern, sl, ENABLE_PIPE_LIMIT, fallback);
	else if (pattern[0] == '@')
		n = asprintf(&s,
			     "# Written by 'mortem enable'; 'mortem disable' removes it unless it was edited.\n"
			     "# Socket mode: the kernel hands each core to mortemd. While mortemd is not\n"
			     "# running (at boot, until mortemd.service has started) crashes are lost.\n"
			     "# core_pipe_limit: the kernel waits for mortemd. See mortem(1), mortemd(8).\n"
			     "%skernel.core_pipe_limit = %s\n"
			     "kernel.core_pattern = %s\n",
			     sl, ENABLE_PIPE_LIMIT, pattern);
	else
		n = asprintf(&s,
			     "# Written by 'mortem enable'; 'mortem disable' removes it unless it was edited.\n"
			     "# core_pipe_limit: the kernel waits for the collector (so /proc/PID stays\n"
			     "# readable) and skips no crash in a storm. See mortem(1).\n"
			     "%skernel.core_pipe_limit = %s\n"
			     "kernel.core_pattern = %s\n",
			     sl, ENABLE_PIPE_LIMIT, pattern);
	return n < 0 ? NULL : s;
}

char *enable_dropin_text(const char *pattern, const char *fallback)
{
	return enable_dropin_text_v(pattern, fallback, true);
}

/* ---- The verbs: they talk to the kernel and print their messages. ---- */

static void enable_msg(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void enable_msg(const char *verb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "mortem %s: ", verb);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

/* A /proc/sys value without its trailing newline. */
static int enable_sysctl_read(const char *path, char **ret)
{
	char *buf = NULL;
	size_t len;
	bool trunc;
	int r = read_file_at(AT_FDCWD, path, ENABLE_SYSCTL_MAX, &buf, &len, &trunc);
	if (r < 0)
		return r;
	while (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	*ret = buf;
	return 0;
}

/* Write a /proc/sys value and check that it reads back the same. */
static int enable_sysctl_write(const char *path, const char *value)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CLOEXEC);
	_cleanup_free_ char *back = NULL;
	int r;

	if (fd < 0)
		return -errno;
	r = write_all(fd, value, strlen(value));
	if (r < 0)
		return r;
	r = enable_sysctl_read(path, &back);
	if (r < 0)
		return r;
	return strcmp(back, value) == 0 ? 0 : -EIO;
}

static const char *enable_sysctl_dir(void)
{
	const char *d = getenv("MORTEM_SYSCTL_DIR"); /* for tests */
	return d && *d ? d : ENABLE_SYSCTL_DIR;
}

static char *enable_join(const char *dir, const char *name)
{
	char *s = NULL;
	return asprintf(&s, "%s/%s", dir, name) < 0 ? NULL : s;
}

/* 1 when path holds exactly text, 0 when it holds something else, -ENOENT when missing. */
static int enable_file_is(const char *path, const char *text)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	bool trunc;
	int r = read_file_at(AT_FDCWD, path, ENABLE_DROPIN_MAX, &buf, &len, &trunc);
	if (r < 0)
		return r;
	return !trunc && len == strlen(text) && memcmp(buf, text, len) == 0;
}

/* 1 when path is the drop-in enable writes for pattern, 2 when it is the one
 * a mortem before fs.suid_dumpable wrote, 0 when something else, -ENOENT. */
static int enable_dropin_is(const char *path, const char *pattern, const char *fallback)
{
	_cleanup_free_ char *text = enable_dropin_text_v(pattern, fallback, true);
	_cleanup_free_ char *old = enable_dropin_text_v(pattern, fallback, false);
	int r;

	if (!text || !old)
		return -ENOMEM;
	r = enable_file_is(path, text);
	if (r != 0)
		return r;
	r = enable_file_is(path, old);
	return r == 1 ? 2 : r;
}

/* Write the drop-in unless a file of that name is there. *ret_written: its
 * path when we own it now (written now, or ours from before). */
static int enable_dropin(const char *pattern, const char *fallback, char **ret_written)
{
	_cleanup_free_ char *path = enable_join(enable_sysctl_dir(), ENABLE_DROPIN_NAME);
	_cleanup_free_ char *text = enable_dropin_text(pattern, fallback);
	int r;

	*ret_written = NULL;
	if (!path || !text)
		return -ENOMEM;
	r = enable_dropin_is(path, pattern, fallback);
	if (r == 1) {
		*ret_written = TAKE_PTR(path);
		return 0;
	}
	if (r == 2)
		r = -ENOENT; /* ours from before fs.suid_dumpable: written again */
	if (r == 0) {
		enable_msg("enable", "%s exists and was not written by mortem enable: left alone "
				     "(the setting may not survive a reboot)", path);
		return 0;
	}
	if (r != -ENOENT) {
		enable_msg("enable", "cannot read %s: %s", path, strerror(-r));
		return r;
	}
	r = enable_write_atomic(path, text, 0644);
	if (r < 0) {
		enable_msg("enable", "cannot write %s: %s", path, strerror(-r));
		return r;
	}
	printf("wrote %s (the setting survives a reboot)\n", path);
	*ret_written = TAKE_PTR(path);
	return 0;
}

/* Remove the drop-in when it is still what enable wrote for pattern. */
static void enable_dropin_remove(const char *path, const char *pattern, const char *fallback)
{
	int r;

	if (!path)
		return;
	r = enable_dropin_is(path, pattern, fallback);
	if (r >= 1) {
		if (unlink(path) < 0)
			enable_msg("disable", "cannot remove %s: %m", path);
		else
			printf("removed %s\n", path);
	} else if (r == 0) {
		enable_msg("disable", "%s was edited since mortem enable: left alone", path);
	}
}

char *enable_state_path(void)
{
	const char *d = getenv("MORTEM_STATE_DIR"); /* for tests */
	return enable_join(d && *d ? d : ENABLE_STATE_DIR, ENABLE_STATE_NAME);
}

/* The saved state, checked (enable_state_check). Where this version keeps it,
 * trusted when the file is root's alone; else what a mortem before it left
 * at the root of the store (o->root), which mortemd's workers and
 * mortem-vacuum may write, never trusted. *ret_path: where it was read.
 * -ENOENT: none (nothing said); other errors are said. */
static int enable_state_find(const struct enable_opts *o, const char *verb, struct enable_state *ret,
			     char **ret_path, bool *ret_trusted)
{
	_cleanup_free_ char *path = enable_state_path(), *why = NULL;
	_cleanup_free_ char *dropin = enable_join(enable_sysctl_dir(), ENABLE_DROPIN_NAME);
	bool trusted = false;
	int r;

	if (!path || !dropin)
		return -ENOMEM;
	r = enable_state_load(path, ret);
	if (r == -ENOENT) {
		free(path);
		path = enable_join(o->root, ENABLE_STATE_NAME);
		if (!path)
			return -ENOMEM;
		r = enable_state_load(path, ret);
	} else if (r >= 0) {
		trusted = handoff_path_check(path, S_IFREG, &why) == 0;
		if (!trusted)
			enable_msg(verb, "warning: %s is not root's alone (%s): its values are not taken on trust", path,
				   why ? why : "?");
	}
	if (r == -ENOENT)
		return r;
	if (r < 0) {
		enable_msg(verb, "cannot read %s: %s (remove it to start over)", path, strerror(-r));
		return r;
	}
	r = enable_state_check(ret, trusted, dropin, &why);
	if (r < 0) {
		enable_msg(verb, "refusing the saved state in %s: %s; kernel.core_pattern is left as it is: set it by "
				 "hand (sysctl kernel.core_pattern=core restores the kernel's default), then remove %s",
			   path, why ? why : strerror(-r), path);
		enable_state_free(ret);
		return r;
	}
	*ret_path = TAKE_PTR(path);
	*ret_trusted = trusted;
	return 0;
}

static int enable_build_pipe(const struct enable_opts *o, const char *release, char **ret)
{
	const char *collector = o->collector ? o->collector : ENABLE_COLLECTOR;
	_cleanup_free_ char *conf = NULL;
	int r;

	if (o->config && !(conf = realpath(o->config, NULL))) {
		enable_msg("enable", "cannot resolve config %s: %m", o->config);
		return -errno;
	}
	if (access(collector, X_OK) < 0) {
		enable_msg("enable", "collector %s is not an executable file: %m", collector);
		return -errno;
	}
	r = enable_pattern_build(collector, conf, release && enable_kernel_has_pidfd(release) == 1, ret);
	if (r == -EINVAL)
		enable_msg("enable", "the collector path '%s'%s%s must be absolute, without spaces or '%%'", collector,
			   conf ? " and the config path " : "", conf ? conf : "");
	else if (r == -ENAMETOOLONG)
		enable_msg("enable", "the core pattern for '%s'%s%s is longer than the kernel's %d bytes; "
				     "use shorter paths", collector, conf ? " with config " : "", conf ? conf : "",
			   ENABLE_PATTERN_MAX);
	else if (r < 0)
		enable_msg("enable", "out of memory");
	return r;
}

/* The socket pattern when o->mode allows it and it can work now: 0 with *ret
 * set; 0 with *ret NULL when auto falls back to the pipe (said why); negative
 * when --mode socket cannot be honoured (said why). */
static int enable_build_socket(const struct enable_opts *o, const char *release, char **ret)
{
	bool must = o->mode == ENABLE_MODE_SOCKET;
	const char *dir = o->socket_dir ? o->socket_dir : CONFIG_DEFAULT_SOCKET_DIR;
	_cleanup_free_ char *pattern = NULL;
	int kmode, r;

	*ret = NULL;
	kmode = release ? enable_kernel_socket_mode(release) : -EINVAL;
	if (kmode <= 0) {
		if (must) {
			enable_msg("enable", "kernel %s has no coredump socket (Linux 6.16 and later): use --mode pipe",
				   release ? release : "(unknown)");
			return -EOPNOTSUPP;
		}
		return 0; /* an older kernel: the pipe, as always, without a word */
	}
	r = enable_socket_pattern(dir, kmode == 2, &pattern);
	if (r < 0) {
		if (r == -ENOMEM) {
			enable_msg("enable", "out of memory");
			return r;
		}
		enable_msg("enable", "%sSocketDirectory=%s cannot be a coredump socket's directory: %s", must ? "" : "warning: ",
			   dir, r == -ENAMETOOLONG ? "the socket path is longer than 107 bytes"
						   : "it must be absolute, without spaces, '%' or '..'");
		if (must)
			return r;
		printf("pipe mode: mortem-collect takes the crashes\n");
		return 0;
	}
	const char *path = enable_pattern_socket_path(pattern);
	r = enable_socket_listening(path);
	if (r == 1) {
		if (!must)
			printf("socket mode: mortemd listens on %s\n", path);
		*ret = TAKE_PTR(pattern);
		return 0;
	}
	if (must) {
		if (r < 0)
			enable_msg("enable", "cannot tell whether mortemd listens on %s (%s: %s)", path, ENABLE_PROC_NET_UNIX,
				   strerror(-r));
		else
			enable_msg("enable", "mortemd is not listening on %s: the kernel could not hand it a single crash; "
					     "start it first (systemctl start mortemd.service), or use --mode pipe", path);
		return r < 0 ? r : -ENOTCONN;
	}
	printf("pipe mode: mortemd is not listening on %s (mortem-collect hands crashes off to it once it runs)\n",
	       path);
	return 0;
}

/* The pattern that o asks for on this kernel, and in socket mode the pipe
 * pattern to fall back on while mortemd is down (*ret_fallback; NULL when
 * there is no collector to fall back on, said so). */
static int enable_build(const struct enable_opts *o, char **ret, char **ret_fallback)
{
	struct utsname u;
	const char *release = uname(&u) == 0 ? u.release : NULL;
	int r;

	*ret_fallback = NULL;
	/* Naming a collector asks for the pipe, unless --mode socket: then it is the fallback. */
	if (o->mode == ENABLE_MODE_SOCKET || (o->mode == ENABLE_MODE_AUTO && !o->collector)) {
		r = enable_build_socket(o, release, ret);
		if (r < 0)
			return r;
		if (*ret) {
			if (!o->collector && access(ENABLE_COLLECTOR, X_OK) < 0) {
				enable_msg("enable", "warning: no collector to fall back on (%s: %s): crashes are lost "
						     "while mortemd is down", ENABLE_COLLECTOR, strerror(errno));
				return 0;
			}
			r = enable_build_pipe(o, release, ret_fallback);
			if (r < 0 && !o->collector && r != -ENOMEM) {
				/* Said why; the socket works all the same. */
				enable_msg("enable", "warning: no pipe to fall back on: crashes are lost while mortemd "
						     "is down");
				return 0;
			}
			if (r < 0) {
				free(*ret);
				*ret = NULL;
			}
			return r;
		}
	}
	return enable_build_pipe(o, release, ret);
}

/* The state's directory goes with its last file (a purged package leaves
 * nothing); one with other files in it stays. */
static void enable_state_dir_remove(void)
{
	_cleanup_free_ char *path = enable_state_path();
	char *slash = path ? strrchr(path, '/') : NULL;

	if (slash && slash != path) {
		*slash = '\0';
		(void)rmdir(path);
	}
}

/* Save st where this version keeps it, in a directory only root can write
 * (made 0700 when missing); then the state an older mortem left in the store
 * (legacy, or NULL) goes. */
static int enable_state_store(const char *path, const struct enable_state *st, const char *legacy)
{
	_cleanup_free_ char *dir = strdup(path), *why = NULL;
	char *slash;
	int r;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash && slash != dir)
		*slash = '\0';
	if ((r = mkdir_p(dir, 0700)) < 0)
		return r;
	if (handoff_dir_check(dir, &why) < 0) {
		enable_msg("enable", "%s is not root's alone: %s", dir, why ? why : "?");
		return -EPERM;
	}
	if ((r = enable_state_save(path, st)) < 0)
		return r;
	if (legacy && strcmp(legacy, path) != 0 && unlink(legacy) == 0)
		printf("moved the saved settings from %s to %s\n", legacy, path);
	return 0;
}

int enable_on(const struct enable_opts *o)
{
	_cleanup_free_ char *want = NULL, *fallback = NULL, *cur = NULL, *cur_limit = NULL, *state_path = NULL,
			    *dropin = NULL, *cur_suid = NULL, *found = NULL, *why = NULL;
	struct enable_state st = { NULL }, saved = { NULL };
	bool have_saved, fresh_dropin = false, trusted = false;
	int r, rc = 1;

	if (geteuid() != 0) {
		enable_msg("enable", "must be root");
		return 1;
	}
	if (enable_build(o, &want, &fallback) < 0)
		return 1;
	/* What the kernel will run as root, now or at boot: mortem's own only. */
	if (enable_pattern_check(want, &why) < 0 || (fallback && enable_pattern_check(fallback, &why) < 0)) {
		enable_msg("enable", "refusing to point the kernel at %s", why ? why : "an unchecked pattern");
		return 1;
	}
	if ((r = enable_sysctl_read(ENABLE_PROC_PATTERN, &cur)) < 0 ||
	    (r = enable_sysctl_read(ENABLE_PROC_PIPE_LIMIT, &cur_limit)) < 0 ||
	    (r = enable_sysctl_read(ENABLE_PROC_SUID_DUMPABLE, &cur_suid)) < 0) {
		enable_msg("enable", "cannot read the kernel's core settings: %s", strerror(-r));
		return 1;
	}
	state_path = enable_state_path();
	if (!state_path)
		return 1;
	r = enable_state_find(o, "enable", &saved, &found, &trusted);
	if (r < 0 && r != -ENOENT)
		return 1;
	have_saved = r >= 0;

	if (strcmp(cur, want) == 0 && strcmp(cur_limit, ENABLE_PIPE_LIMIT) == 0 &&
	    (!have_saved || (enable_streq(saved.fallback, fallback) && strcmp(cur_suid, ENABLE_SUID_DUMPABLE) == 0 &&
			     saved.prev_suid_dumpable))) {
		/* Already on: the saved values stay what they were. */
		if (!have_saved) {
			printf("already enabled: core_pattern is '%s' (not set by mortem enable: nothing saved "
			       "for mortem disable)\n", cur);
			return 0;
		}
		if (!o->runtime && !saved.dropin) {
			if (enable_dropin(want, fallback, &dropin) < 0)
				goto out;
			if (dropin) {
				saved.dropin = TAKE_PTR(dropin);
				if ((r = enable_state_store(state_path, &saved, found)) < 0) {
					enable_msg("enable", "cannot write %s: %s", state_path, strerror(-r));
					goto out;
				}
			}
		}
		/* An older mortem's state in the store: passed the checks, now root's alone. */
		if (strcmp(found, state_path) != 0 && (r = enable_state_store(state_path, &saved, found)) < 0) {
			enable_msg("enable", "cannot write %s: %s", state_path, strerror(-r));
			goto out;
		}
		printf("already enabled: core_pattern is '%s'\n", cur);
		rc = 0;
		goto out;
	}

	if (have_saved && (strcmp(cur, saved.pattern) == 0 || enable_streq(cur, saved.fallback))) {
		/* Ours from an earlier enable (another collector, config or mode, or
		 * the socket mode's fallback): keep what was there before it. */
		st.prev_pattern = strdup(saved.prev_pattern);
		st.prev_pipe_limit = strdup(saved.prev_pipe_limit);
		/* A state from before fs.suid_dumpable was kept: enable never set
		 * it, so the value now is the one from before. */
		st.prev_suid_dumpable = saved.prev_suid_dumpable ? strdup(saved.prev_suid_dumpable) : TAKE_PTR(cur_suid);
		if (saved.dropin && !(st.dropin = strdup(saved.dropin)))
			goto out;
	} else {
		if ((cur[0] == '|' || cur[0] == '@') && !enable_pattern_is_ours(cur)) {
			if (!o->force) {
				enable_msg("enable", "core_pattern belongs to another handler: '%s'; "
						     "use --force to replace it (mortem disable puts it back)", cur);
				goto out;
			}
			enable_msg("enable", "warning: replacing another handler: '%s' (mortem disable puts it back)",
				   cur);
		}
		st.prev_pattern = TAKE_PTR(cur);
		st.prev_pipe_limit = TAKE_PTR(cur_limit);
		st.prev_suid_dumpable = TAKE_PTR(cur_suid);
	}
	st.pattern = strdup(want);
	if (!st.pattern || !st.prev_pattern || !st.prev_pipe_limit || !st.prev_suid_dumpable ||
	    (fallback && !(st.fallback = strdup(fallback))))
		goto out;

	if (!o->runtime) {
		/* Our drop-in for the earlier pattern gives way to one for the new. */
		if (st.dropin && enable_dropin_is(st.dropin, saved.pattern, saved.fallback) >= 1)
			(void)unlink(st.dropin);
		free(st.dropin);
		st.dropin = NULL;
		if (enable_dropin(want, fallback, &st.dropin) < 0)
			goto out;
		fresh_dropin = st.dropin != NULL;
	}
	if ((r = enable_state_store(state_path, &st, NULL)) < 0) {
		enable_msg("enable", "cannot save the current settings in %s: %s", state_path, strerror(-r));
		goto undo;
	}
	if ((r = enable_sysctl_write(ENABLE_PROC_PIPE_LIMIT, ENABLE_PIPE_LIMIT)) < 0 ||
	    (r = enable_sysctl_write(ENABLE_PROC_SUID_DUMPABLE, ENABLE_SUID_DUMPABLE)) < 0 ||
	    (r = enable_sysctl_write(ENABLE_PROC_PATTERN, want)) < 0) {
		enable_msg("enable", "cannot set the kernel's core settings: %s", strerror(-r));
		(void)enable_sysctl_write(ENABLE_PROC_PIPE_LIMIT, st.prev_pipe_limit);
		(void)enable_sysctl_write(ENABLE_PROC_SUID_DUMPABLE, st.prev_suid_dumpable);
		(void)enable_sysctl_write(ENABLE_PROC_PATTERN, st.prev_pattern);
		if (have_saved && strcmp(found, state_path) == 0)
			(void)enable_state_save(state_path, &saved);
		else
			(void)unlink(state_path);
		goto undo;
	}
	/* Saved and set: an older mortem's state in the store is done with. */
	if (have_saved && strcmp(found, state_path) != 0)
		(void)unlink(found);
	printf("enabled: core_pattern is '%s' (was '%s'), core_pipe_limit %s (was %s), fs.suid_dumpable %s (was %s)\n",
	       want, st.prev_pattern, ENABLE_PIPE_LIMIT, st.prev_pipe_limit, ENABLE_SUID_DUMPABLE,
	       st.prev_suid_dumpable);
	if (want[0] == '@' && fallback)
		printf("socket mode: while mortemd is down the kernel pipes to mortem-collect instead; "
		       "mortemd.service switches between the two ('mortem handover'): keep it enabled "
		       "(systemctl enable mortemd.service)\n");
	else if (want[0] == '@')
		printf("socket mode: crashes are lost while mortemd is not running; keep mortemd.service enabled "
		       "(systemctl enable mortemd.service)\n");
	if (o->runtime)
		printf("the running kernel only (--runtime): a reboot restores the boot-time settings\n");
	rc = 0;
	goto out;
undo:
	if (fresh_dropin)
		(void)unlink(st.dropin);
out:
	enable_state_free(&st);
	enable_state_free(&saved);
	return rc;
}

int enable_off(const struct enable_opts *o)
{
	_cleanup_free_ char *cur = NULL, *state_path = NULL;
	struct enable_state saved = { NULL };
	bool trusted = false;
	int r, rc = 1;

	if (geteuid() != 0) {
		enable_msg("disable", "must be root");
		return 1;
	}
	if ((r = enable_sysctl_read(ENABLE_PROC_PATTERN, &cur)) < 0) {
		enable_msg("disable", "cannot read kernel.core_pattern: %s", strerror(-r));
		return 1;
	}
	r = enable_state_find(o, "disable", &saved, &state_path, &trusted);
	if (r == -ENOENT) {
		_cleanup_free_ char *where = enable_state_path();
		if (enable_pattern_is_ours(cur)) {
			enable_msg("disable", "core_pattern is '%s' but mortem enable saved nothing in %s: "
					      "set kernel.core_pattern by hand", cur, where ? where : ENABLE_STATE_DIR);
			return 1;
		}
		printf("not enabled: core_pattern is '%s'; nothing to do\n", cur);
		return 0;
	}
	if (r < 0)
		return 1;
	if (strcmp(cur, saved.pattern) != 0 && !enable_streq(cur, saved.fallback)) {
		/* Someone took over since: theirs now, and not ours to undo. */
		enable_msg("disable", "core_pattern was changed since mortem enable (it is now '%s', mortem enable "
				      "set '%s'): left alone", cur, saved.pattern);
		enable_dropin_remove(saved.dropin, saved.pattern, saved.fallback);
		(void)unlink(state_path);
		enable_state_dir_remove();
		goto out;
	}
	if ((r = enable_sysctl_write(ENABLE_PROC_PATTERN, saved.prev_pattern)) < 0 ||
	    (r = enable_sysctl_write(ENABLE_PROC_PIPE_LIMIT, saved.prev_pipe_limit)) < 0 ||
	    (saved.prev_suid_dumpable &&
	     (r = enable_sysctl_write(ENABLE_PROC_SUID_DUMPABLE, saved.prev_suid_dumpable)) < 0)) {
		enable_msg("disable", "cannot restore the kernel's core settings: %s", strerror(-r));
		goto out;
	}
	enable_dropin_remove(saved.dropin, saved.pattern, saved.fallback);
	if (unlink(state_path) < 0)
		enable_msg("disable", "cannot remove %s: %m", state_path);
	enable_state_dir_remove();
	printf("disabled: core_pattern is '%s' again, core_pipe_limit %s%s%s\n", saved.prev_pattern,
	       saved.prev_pipe_limit, saved.prev_suid_dumpable ? ", fs.suid_dumpable " : "",
	       saved.prev_suid_dumpable ? saved.prev_suid_dumpable : "");
	rc = 0;
out:
	enable_state_free(&saved);
	return rc;
}

int enable_handover(const struct enable_opts *o, bool to_socket)
{
	_cleanup_free_ char *cur = NULL, *state_path = NULL, *why = NULL;
	struct enable_state saved = { NULL };
	struct utsname u;
	bool trusted = false;
	int r, rc = 1;

	if (geteuid() != 0) {
		enable_msg("handover", "must be root");
		return 1;
	}
	r = enable_state_find(o, "handover", &saved, &state_path, &trusted);
	if (r == -ENOENT) {
		_cleanup_free_ char *where = enable_state_path();
		printf("not enabled by mortem enable (nothing in %s): nothing to do\n", where ? where : ENABLE_STATE_DIR);
		return 0;
	}
	if (r < 0)
		return 1;
	if (!saved.fallback) {
		printf("%s: nothing to do\n", saved.pattern[0] == '@' ? "socket mode without a collector to fall back on"
								       : "pipe mode");
		rc = 0;
		goto out;
	}
	if ((r = enable_sysctl_read(ENABLE_PROC_PATTERN, &cur)) < 0) {
		enable_msg("handover", "cannot read kernel.core_pattern: %s", strerror(-r));
		goto out;
	}
	const char *want = to_socket ? saved.pattern : saved.fallback;
	if (strcmp(cur, want) == 0) {
		printf("core_pattern is '%s' already\n", cur);
		rc = 0;
		goto out;
	}
	if (strcmp(cur, to_socket ? saved.fallback : saved.pattern) != 0) {
		/* Not ours to move: somebody changed it since mortem enable. */
		printf("core_pattern was changed since mortem enable (it is '%s'): left alone\n", cur);
		rc = 0;
		goto out;
	}
	if (to_socket) {
		const char *path = enable_pattern_socket_path(saved.pattern);
		if (uname(&u) < 0 || enable_kernel_socket_mode(u.release) <= 0) {
			enable_msg("handover", "this kernel has no coredump socket: core_pattern stays '%s'", cur);
			goto out;
		}
		r = enable_socket_listening(path);
		if (r != 1) {
			enable_msg("handover", "mortemd is not listening on %s%s%s: core_pattern stays '%s'", path,
				   r < 0 ? ": " : "", r < 0 ? strerror(-r) : "", cur);
			goto out;
		}
	}
	/* Only mortem's own collector or socket, root's alone, whatever the file says. */
	if (enable_pattern_check(want, &why) < 0) {
		enable_msg("handover", "refusing to set kernel.core_pattern to %s; it stays '%s'",
			   why ? why : "an unchecked pattern", cur);
		goto out;
	}
	if ((r = enable_sysctl_write(ENABLE_PROC_PATTERN, want)) < 0) {
		enable_msg("handover", "cannot set kernel.core_pattern to '%s': %s", want, strerror(-r));
		goto out;
	}
	printf("core_pattern is '%s' (%s)\n", want,
	       to_socket ? "mortemd's socket" : "mortem-collect, while mortemd is down");
	rc = 0;
out:
	enable_state_free(&saved);
	return rc;
}
