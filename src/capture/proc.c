/* Capture of /proc/PID context while the kernel still holds the dying process.
 *
 * Everything under /proc/PID was written by the crashing process, which may be
 * hostile: every read is capped (item_max, or a smaller named cap), every count
 * that the process controls has a named cap, reaching a cap is recorded under
 * "truncated", and a failure to read one item is recorded under "errors" and
 * never stops the capture. Strings go into the JSON as valid UTF-8: bytes that
 * are not are replaced with U+FFFD, so the record stays parseable.
 *
 * All reads go through one directory fd of /proc/PID opened at the start: if the
 * process is reaped and its PID reused mid-capture, later reads fail with ESRCH
 * instead of silently describing another process. *
 * proc_env.c holds the environment and its redaction, proc_maps.c the mapped
 * files opened through map_files, proc_ctx.c the helpers they share. */

#include "capture/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/json.h"
#include "base/util.h"
#include "capture/cgroup.h"
#include "capture/container.h"
#include "capture/proc_ctx.h"
#include "capture/proc_env.h"
#include "capture/proc_maps.h"

#define PROC_ITEM_MAX_DEFAULT (256 * 1024)  /* item_max when the caller passes 0 */
#define PROC_ITEM_MAX_LIMIT   (64u << 20)   /* upper clamp: json-c lengths are int */
#define PROC_COMM_MAX         64            /* comm is 16 bytes in the kernel today */
#define PROC_STAT_MAX         4096          /* /proc/PID/stat is ~300 bytes */
#define PROC_FDS_MAX          1024          /* fds described per process */
#define PROC_FDS_SCAN_MAX     (64 * 1024)   /* fd directory entries looked at */
#define PROC_FDINFO_MAX       4096          /* bytes of fdinfo per fd */
#define PROC_THREADS_MAX      1024          /* threads listed per process */
#define PROC_TASK_STATUS_MAX  (8u << 10)    /* bytes of a thread's status read for its NSpid */
#define PROC_NS_WALK_MAX      32            /* ancestors looked at for the pid namespace's init */
#define PROC_UID_MAP_MAX      340           /* uid_map lines (the kernel's own limit) */
#define PROC_THREADS_SCAN_MAX (64 * 1024)   /* task directory entries looked at */
#define PROC_LIMITS_MAX       64            /* rows of /proc/PID/limits (16 today) */

/* A link as a JSON string (or null with the error recorded), capped at item_max. */
static json_object *proc_link_json(struct proc_ctx *c, const char *item, const char *path)
{
	_cleanup_free_ char *t = NULL;
	size_t len = 0;
	int r;

	r = proc_ctx_readlink_at(c->dirfd, path, &t, &len);
	if (r < 0) {
		if (r == -ENOMEM)
			c->oom = true;
		else
			proc_ctx_error(c, item, r);
		return NULL;
	}
	if (len > c->item_max) {
		len = c->item_max;
		proc_ctx_truncated(c, item);
	}
	json_object *v = proc_ctx_json_text(t, len);
	if (!v)
		c->oom = true;
	return v;
}

static void proc_capture_link(struct proc_ctx *c, const char *item)
{
	json_object *v = proc_link_json(c, item, item);

	if (v)
		proc_ctx_set(c, item, v);
	else
		proc_ctx_set_null(c, item);
}

static void proc_strip_newline(char *s, size_t *len)
{
	while (*len > 0 && s[*len - 1] == '\n')
		s[--*len] = '\0';
}

static void proc_capture_comm(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (proc_ctx_read(c, "comm", "comm", PROC_COMM_MAX, &buf, &len, NULL) < 0) {
		proc_ctx_set_null(c, "comm");
		return;
	}
	proc_strip_newline(buf, &len);
	proc_ctx_set(c, "comm", proc_ctx_json_text(buf, len));
}

static void proc_capture_stat(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	char *p, *save = NULL, *tok;
	uint64_t start;
	int field = 2;

	if (proc_ctx_read(c, "start_time", "stat", PROC_STAT_MAX, &buf, &len, NULL) < 0)
		goto fail;
	/* comm (field 2) may hold spaces and ')': it ends at the last ')' */
	p = memrchr(buf, ')', len);
	if (!p)
		goto bad;
	for (tok = strtok_r(p + 1, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (++field == 22)
			break;
	if (!tok || proc_ctx_parse_u64(tok, strlen(tok), &start) < 0 || start > INT64_MAX)
		goto bad;
	proc_ctx_set(c, "start_time", json_object_new_int64((int64_t)start));
	return;
bad:
	proc_ctx_error_msg(c, "start_time", "cannot parse stat");
fail:
	proc_ctx_set_null(c, "start_time");
}

/* NUL-separated arguments joined by single spaces; a final NUL ends the last
 * argument rather than starting an empty one. */
static void proc_capture_cmdline(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (proc_ctx_read(c, "cmdline", "cmdline", c->item_max, &buf, &len, NULL) < 0) {
		proc_ctx_set_null(c, "cmdline");
		return;
	}
	_cleanup_free_ char *line = NULL;
	size_t n;
	if (proc_args_redact(buf, len, c->redact_args, c->n_redact_args, c->redact, c->n_redact, c->secrets, &line,
			     &n) < 0) {
		c->oom = true;
		return;
	}
	proc_ctx_set(c, "cmdline", proc_ctx_json_text(line, n));
}


static char *proc_trim(char *s, size_t *len)
{
	while (*len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*len)--;
	}
	while (*len > 0 && isspace((unsigned char)s[*len - 1]))
		(*len)--;
	return s;
}

/* Length of buf up to its last newline: the complete lines of a cut-off read. */
static size_t proc_whole_lines(const char *buf, size_t len)
{
	const char *last = memrchr(buf, '\n', len);
	return last ? (size_t)(last - buf) : 0;
}

/* "Key:\tvalue" lines to {"Key": "value"}; lines without ':' are skipped. */
json_object *proc_status_parse(struct proc_ctx *c, char *buf, size_t len, bool cut)
{
	json_object *st;

	if (cut)
		len = proc_whole_lines(buf, len);
	st = json_object_new_object();
	if (!st) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < len;) {
		char *line = buf + i;
		char *nl = memchr(line, '\n', len - i);
		size_t llen = nl ? (size_t)(nl - line) : len - i;
		i += llen + 1;
		char *colon = memchr(line, ':', llen);
		if (!colon || colon == line)
			continue;
		size_t klen = (size_t)(colon - line);
		size_t vlen = llen - klen - 1;
		char *v = proc_trim(colon + 1, &vlen);
		proc_ctx_add(c, st, line, klen, proc_ctx_json_text(v, vlen), false);
	}
	return st;
}

static void proc_capture_status(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	bool trunc;
	json_object *st;

	if (proc_ctx_read(c, "status", "status", c->item_max, &buf, &len, &trunc) < 0) {
		proc_ctx_set_null(c, "status");
		return;
	}
	st = proc_status_parse(c, buf, len, trunc);
	if (st)
		proc_ctx_set(c, "status", st);
}

/* Column offset of title in the header line, or -1. */
static long proc_limits_column(const char *header, size_t hlen, const char *title)
{
	const char *p = memmem(header, hlen, title, strlen(title));
	return p ? (long)(p - header) : -1;
}

/* /proc/PID/limits has fixed columns named by its header; the limit names hold
 * spaces, so the name is the text before the "Soft Limit" column and the rest is
 * whitespace-separated soft, hard and (optional) units. Values stay strings:
 * "unlimited" is one. Returns NULL when the text does not look like that. */
json_object *proc_limits_parse(struct proc_ctx *c, char *buf, size_t len)
{
	_cleanup_json_ json_object *arr = NULL;
	char *nl = memchr(buf, '\n', len);
	size_t hlen = nl ? (size_t)(nl - buf) : len;
	long soft_col, hard_col, units_col;
	size_t rows = 0;

	if (hlen < 5 || memcmp(buf, "Limit", 5) != 0)
		return NULL;
	soft_col = proc_limits_column(buf, hlen, "Soft Limit");
	hard_col = proc_limits_column(buf, hlen, "Hard Limit");
	units_col = proc_limits_column(buf, hlen, "Units");
	if (soft_col <= 0 || hard_col <= soft_col || units_col <= hard_col)
		return NULL;
	arr = json_object_new_array();
	if (!arr)
		return NULL;

	for (size_t i = hlen + 1; i < len;) {
		char *line = buf + i;
		char *e = memchr(line, '\n', len - i);
		size_t llen = e ? (size_t)(e - line) : len - i;
		i += llen + 1;
		if (llen == 0)
			continue;
		if (llen <= (size_t)soft_col || ++rows > PROC_LIMITS_MAX)
			return NULL;
		line[llen] = '\0';

		size_t nlen = (size_t)soft_col;
		char *name = proc_trim(line, &nlen);
		char *f[4] = { NULL }, *save = NULL;
		int nf = 0;
		for (char *t = strtok_r(line + soft_col, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
			if (nf == 4)
				return NULL;
			f[nf++] = t;
		}
		if (nlen == 0 || nf < 2 || nf > 3)
			return NULL;

		json_object *o = json_object_new_object();
		if (!o)
			return NULL;
		proc_ctx_append(c, arr, o);
		proc_ctx_add(c, o, "name", 4, proc_ctx_json_text(name, nlen), false);
		proc_ctx_add(c, o, "soft", 4, proc_ctx_json_str(f[0]), false);
		proc_ctx_add(c, o, "hard", 4, proc_ctx_json_str(f[1]), false);
		proc_ctx_add(c, o, "units", 5, f[2] ? proc_ctx_json_str(f[2]) : NULL, !f[2]);
	}
	return TAKE_PTR(arr);
}

static void proc_capture_limits(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL, *raw = NULL;
	size_t len;
	bool trunc;
	json_object *v;

	if (proc_ctx_read(c, "limits", "limits", c->item_max, &buf, &len, &trunc) < 0) {
		proc_ctx_set_null(c, "limits");
		return;
	}
	raw = strndup(buf, len);
	if (!raw) {
		c->oom = true;
		return;
	}
	/* a cut-off last row would parse into a wrong value: leave it out */
	v = proc_limits_parse(c, buf, trunc ? proc_whole_lines(buf, len) : len);
	if (!v)
		v = proc_ctx_json_text(raw, len); /* parsing failed: keep the text as it was */
	proc_ctx_set(c, "limits", v);
}

/* A raw text item, as read. */
static void proc_capture_text(struct proc_ctx *c, const char *item, char **keep, size_t *keep_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (proc_ctx_read(c, item, item, c->item_max, &buf, &len, NULL) < 0) {
		proc_ctx_set_null(c, item);
		return;
	}
	proc_ctx_set(c, item, proc_ctx_json_text(buf, len));
	if (keep) {
		*keep = TAKE_PTR(buf);
		*keep_len = len;
	}
}

static void proc_capture_cgroup(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL, *unit = NULL, *slice = NULL;
	size_t len = 0;
	int r;

	proc_capture_text(c, "cgroup", &buf, &len);
	if (!buf) {
		proc_ctx_set_null(c, "unit");
		proc_ctx_set_null(c, "slice");
		return;
	}
	r = cgroup_unit(buf, &unit, &slice);
	if (r == -ENOMEM)
		c->oom = true;
	proc_ctx_add(c, c->obj, "unit", 4, unit ? proc_ctx_json_str(unit) : NULL, !unit);
	proc_ctx_add(c, c->obj, "slice", 5, slice ? proc_ctx_json_str(slice) : NULL, !slice);
}

static int proc_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Numeric entries of directory path (relative to the /proc/PID fd), sorted, at
 * most scan_max of them looked at, within the budget (a cut is recorded under
 * item). *ret_more is set when entries were left. */
static int proc_list_numeric(struct proc_ctx *c, const char *item, const char *path, size_t scan_max, int **ret,
			     size_t *ret_n, bool *ret_more)
{
	_cleanup_free_ int *v = NULL;
	_cleanup_closedir_ DIR *d = NULL;
	size_t n = 0, alloc = 0;
	bool more = false;
	struct dirent *de;
	int fd;

	fd = openat(c->dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		int r = -errno;
		(void)close(fd);
		return r;
	}
	for (;;) {
		errno = 0;
		de = readdir(d);
		if (!de) {
			if (errno != 0)
				return -errno;
			break;
		}
		uint64_t num;
		if (proc_ctx_parse_u64(de->d_name, strlen(de->d_name), &num) < 0 || num > INT_MAX)
			continue;
		if (n == scan_max || proc_ctx_over_budget(c, item)) {
			more = true;
			break;
		}
		if (n == alloc) {
			size_t want = alloc ? alloc * 2 : 64;
			if (want > scan_max)
				want = scan_max;
			int *nv = reallocarray(v, want, sizeof(*v));
			if (!nv)
				return -ENOMEM;
			v = nv;
			alloc = want;
		}
		v[n++] = (int)num;
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), proc_cmp_int);
	*ret = TAKE_PTR(v);
	*ret_n = n;
	*ret_more = more;
	return 0;
}

/* [{"fd","target","fdinfo"}], lowest fds first. The whole item (targets plus
 * fdinfo) is held to item_max as well as to PROC_FDS_MAX entries. */
static void proc_capture_fds(struct proc_ctx *c, const char *fds_item)
{
	_cleanup_free_ int *fds = NULL;
	_cleanup_close_ int fddir = -1;
	size_t n = 0, used = 0;
	bool more = false;
	json_object *arr;
	int r;

	r = proc_list_numeric(c, fds_item, "fd", PROC_FDS_SCAN_MAX, &fds, &n, &more);
	if (r < 0) {
		if (r == -ENOMEM)
			c->oom = true;
		proc_ctx_error(c, "fds", r);
		proc_ctx_set_null(c, "fds");
		return;
	}
	arr = json_object_new_array();
	if (!arr) {
		c->oom = true;
		return;
	}
	proc_ctx_set(c, "fds", arr);
	if (more || n > PROC_FDS_MAX) {
		proc_ctx_truncated(c, "fds");
		if (n > PROC_FDS_MAX)
			n = PROC_FDS_MAX;
	}
	fddir = openat(c->dirfd, "fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
	int fddir_err = fddir < 0 ? -errno : 0;

	for (size_t i = 0; i < n; i++) {
		char name[16], item[32], path[32];
		_cleanup_free_ char *info = NULL;
		size_t tlen = 0, ilen = 0;
		json_object *o, *target = NULL;

		if (used >= c->item_max) {
			proc_ctx_truncated(c, "fds");
			break;
		}
		if (proc_ctx_over_budget(c, fds_item))
			break;
		(void)snprintf(name, sizeof(name), "%d", fds[i]);
		o = json_object_new_object();
		if (!o) {
			c->oom = true;
			return;
		}
		proc_ctx_append(c, arr, o);
		proc_ctx_add(c, o, "fd", 2, json_object_new_int(fds[i]), false);

		(void)snprintf(item, sizeof(item), "fd/%s", name);
		if (fddir >= 0) {
			_cleanup_free_ char *t = NULL;
			r = proc_ctx_readlink_at(fddir, name, &t, &tlen);
			if (r >= 0) {
				if (tlen > c->item_max - used) {
					tlen = c->item_max - used;
					proc_ctx_truncated(c, "fds");
				}
				target = proc_ctx_json_text(t, tlen);
				if (!target)
					c->oom = true;
			} else if (r == -ENOMEM) {
				c->oom = true;
			} else {
				proc_ctx_error(c, item, r);
			}
		} else {
			proc_ctx_error(c, item, fddir_err);
		}
		proc_ctx_add(c, o, "target", 6, target, !target);
		used += tlen;

		(void)snprintf(item, sizeof(item), "fdinfo/%s", name);
		(void)snprintf(path, sizeof(path), "fdinfo/%s", name);
		size_t cap = c->item_max - used < PROC_FDINFO_MAX ? c->item_max - used : PROC_FDINFO_MAX;
		bool trunc = false;
		r = read_file_at(c->dirfd, path, cap, &info, &ilen, &trunc);
		if (r >= 0) {
			if (trunc)
				proc_ctx_truncated(c, "fds");
			proc_ctx_add(c, o, "fdinfo", 6, proc_ctx_json_text(info, ilen), false);
			used += ilen;
		} else {
			if (r == -ENOMEM)
				c->oom = true;
			else
				proc_ctx_error(c, item, r);
			proc_ctx_add(c, o, "fdinfo", 6, NULL, true);
		}
	}
}

/* Namespace link "mnt:[4026531841]" to its inode number. The link of
 * "pid_for_children" names the type "pid". */
static int proc_ns_inode(int dirfd, const char *name, uint64_t *ret)
{
	_cleanup_free_ char *t = NULL;
	const char *children = strstr(name, "_for_children");
	size_t len, nlen = children ? (size_t)(children - name) : strlen(name);
	char path[64];
	int r;

	(void)snprintf(path, sizeof(path), "ns/%s", name);
	r = proc_ctx_readlink_at(dirfd, path, &t, &len);
	if (r < 0)
		return r;
	if (len < nlen + 3 || memcmp(t, name, nlen) != 0 || t[nlen] != ':' || t[nlen + 1] != '[' ||
	    t[len - 1] != ']')
		return -EINVAL;
	return proc_ctx_parse_u64(t + nlen + 2, len - nlen - 3, ret);
}

/* A fixed list rather than a directory scan: bounded and in a stable order.
 * Types the kernel does not have (ENOENT) are left out silently. */
static const char *const proc_ns_names[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts",
};

/* The inode of each namespace; whether they make a container is
 * container.c's judgement (the "container" item, after this one). */
static void proc_capture_namespaces(struct proc_ctx *c, const char *ns_item)
{
	json_object *ns;

	ns = json_object_new_object();
	if (!ns) {
		c->oom = true;
		return;
	}
	proc_ctx_set(c, "namespaces", ns);

	for (size_t i = 0; i < ARRAY_SIZE(proc_ns_names); i++) {
		const char *name = proc_ns_names[i];
		uint64_t ino;
		char item[64];
		int r;

		r = proc_ns_inode(c->dirfd, name, &ino);
		if (r == -ENOENT)
			continue;
		if (r < 0) {
			(void)snprintf(item, sizeof(item), "ns/%s", name);
			if (r == -ENOMEM)
				c->oom = true;
			else
				proc_ctx_error(c, item, r);
			continue;
		}
		proc_ctx_add(c, ns, name, strlen(name),
			 ino <= INT64_MAX ? json_object_new_int64((int64_t)ino) : json_object_new_uint64(ino),
			 false);
	}
}

/* The fields of an NSpid value ("4242\t2": the pid in /proc's pid namespace
 * first, in the process's own last): the last, and how many there are (1:
 * the process lives in /proc's namespace). -EBADMSG when malformed. */
static int proc_nspid_parse(const char *v, size_t len, int64_t *ret_last, int *ret_depth)
{
	uint64_t x = 0;
	int depth = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && (v[i] == '\t' || v[i] == ' '))
			i++;
		size_t j = i;
		while (j < len && v[j] != '\t' && v[j] != ' ' && v[j] != '\n')
			j++;
		if (j == i)
			break;
		if (proc_ctx_parse_u64(v + i, j - i, &x) < 0 || x > INT32_MAX)
			return -EBADMSG;
		depth++;
		i = j;
		if (i < len && v[i] == '\n')
			break;
	}
	if (depth == 0)
		return -EBADMSG;
	*ret_last = (int64_t)x;
	*ret_depth = depth;
	return 0;
}

/* The NSpid line of a status text. */
static int proc_status_nspid(const char *buf, size_t len, int64_t *ret_last, int *ret_depth)
{
	static const char key[] = "NSpid:";
	for (const char *p = buf; p && p < buf + len;) {
		size_t left = len - (size_t)(p - buf);
		if (left > sizeof(key) - 1 && memcmp(p, key, sizeof(key) - 1) == 0)
			return proc_nspid_parse(p + sizeof(key) - 1, left - (sizeof(key) - 1), ret_last, ret_depth);
		const char *nl = memchr(p, '\n', left);
		p = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

/* The process's depth of pid namespaces as its captured status says; 0 when
 * unknown (status not captured, cut, or without NSpid). */
static int proc_captured_depth(struct proc_ctx *c, int64_t *ret_nspid)
{
	json_object *st = NULL, *v = NULL;
	int64_t last;
	int depth;
	if (!json_object_object_get_ex(c->obj, "status", &st) || !json_object_object_get_ex(st, "NSpid", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    proc_nspid_parse(json_object_get_string(v), (size_t)json_object_get_string_len(v), &last, &depth) < 0)
		return 0;
	if (ret_nspid)
		*ret_nspid = last;
	return depth;
}

/* A thread's id in the process's own pid namespace (the core's NT_PRSTATUS
 * and a sender's si_pid use those), from task/TID/status. */
static void proc_thread_ns_tid(struct proc_ctx *c, json_object *o, int tid)
{
	_cleanup_free_ char *buf = NULL;
	char path[48];
	size_t len;
	int64_t last;
	int depth;
	(void)snprintf(path, sizeof(path), "task/%d/status", tid);
	if (proc_ctx_read(c, path, path, PROC_TASK_STATUS_MAX, &buf, &len, NULL) < 0 ||
	    proc_status_nspid(buf, len, &last, &depth) < 0)
		return;
	proc_ctx_add(c, o, "ns_tid", 6, json_object_new_int64(last), false);
}

static void proc_capture_threads(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ int *tids = NULL;
	size_t n = 0;
	bool more = false;
	json_object *arr;
	int r;

	r = proc_list_numeric(c, item, "task", PROC_THREADS_SCAN_MAX, &tids, &n, &more);
	if (r < 0) {
		if (r == -ENOMEM)
			c->oom = true;
		proc_ctx_error(c, "threads", r);
		proc_ctx_set_null(c, "threads");
		return;
	}
	arr = json_object_new_array();
	if (!arr) {
		c->oom = true;
		return;
	}
	proc_ctx_set(c, "threads", arr);
	/* In a pid namespace of its own the core numbers the threads as the
	 * namespace does: the map to ours is read here, while they exist. */
	bool nested = proc_captured_depth(c, NULL) > 1;
	if (more || n > PROC_THREADS_MAX) {
		proc_ctx_truncated(c, "threads");
		if (n > PROC_THREADS_MAX)
			n = PROC_THREADS_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *comm = NULL;
		char path[48];
		size_t len;
		json_object *o;

		if (proc_ctx_over_budget(c, item))
			break;
		o = json_object_new_object();
		if (!o) {
			c->oom = true;
			return;
		}
		proc_ctx_append(c, arr, o);
		proc_ctx_add(c, o, "tid", 3, json_object_new_int(tids[i]), false);
		if (nested)
			proc_thread_ns_tid(c, o, tids[i]);
		(void)snprintf(path, sizeof(path), "task/%d/comm", tids[i]);
		if (proc_ctx_read(c, path, path, PROC_COMM_MAX, &comm, &len, NULL) < 0) {
			proc_ctx_add(c, o, "comm", 4, NULL, true);
			continue;
		}
		proc_strip_newline(comm, &len);
		proc_ctx_add(c, o, "comm", 4, proc_ctx_json_text(comm, len), false);
	}
}

/* The process's pid namespace when it is not ours: its pid there, how deep,
 * and the host pid of the namespace's init (pid 1 there, the likely sender of
 * a signal from "pid 1"), found among its ancestors: the first one of the same
 * depth whose pid there is 1. Nothing when the process shares our namespace. */
static void proc_capture_pid_ns(struct proc_ctx *c, const char *item)
{
	json_object *st = NULL, *v = NULL;
	int64_t nspid, last, ppid = 0;
	uint64_t x;
	int depth = proc_captured_depth(c, &nspid), d;

	if (depth <= 1)
		return;
	json_object *o = json_object_new_object();
	if (!o) {
		c->oom = true;
		return;
	}
	proc_ctx_set(c, item, o);
	proc_ctx_add(c, o, "pid", 3, json_object_new_int64(nspid), false);
	proc_ctx_add(c, o, "depth", 5, json_object_new_int(depth), false);
	if (nspid == 1)
		return; /* it is the init itself */
	if (json_object_object_get_ex(c->obj, "status", &st) && json_object_object_get_ex(st, "PPid", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    proc_ctx_parse_u64(json_object_get_string(v), (size_t)json_object_get_string_len(v), &x) >= 0 &&
	    x <= INT32_MAX)
		ppid = (int64_t)x;
	for (int i = 0; ppid > 1 && i < PROC_NS_WALK_MAX; i++) {
		_cleanup_free_ char *buf = NULL;
		char path[PATH_MAX];
		size_t len;
		if (proc_ctx_over_budget(c, item))
			return;
		if ((size_t)snprintf(path, sizeof(path), "%s/%lld/status", c->proc_root, (long long)ppid) >= sizeof(path) ||
		    read_file_at(AT_FDCWD, path, PROC_TASK_STATUS_MAX, &buf, &len, NULL) < 0 ||
		    proc_status_nspid(buf, len, &last, &d) < 0 || d != depth)
			return;
		if (last == 1) {
			proc_ctx_add(c, o, "init_pid", 8, json_object_new_int64(ppid), false);
			return;
		}
		const char *pp = memmem(buf, len, "\nPPid:", 6);
		size_t k = 0;
		if (!pp)
			return;
		pp += 6;
		while (pp < buf + len && (*pp == '\t' || *pp == ' '))
			pp++;
		while (pp + k < buf + len && pp[k] >= '0' && pp[k] <= '9')
			k++;
		if (proc_ctx_parse_u64(pp, k, &x) < 0 || x > INT32_MAX)
			return;
		ppid = (int64_t)x;
	}
	if (ppid > 1)
		proc_ctx_truncated(c, item);
}

/* A user namespace's uid_map as [[inside, outside, count], ...]: the sender's
 * uid in a core is the namespace's. Nothing for the identity map (ours). */
static void proc_capture_uid_map(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL;
	size_t len, lines = 0;
	bool trunc = false;
	if (proc_ctx_read(c, item, item, c->item_max, &buf, &len, &trunc) < 0)
		return;
	json_object *arr = json_object_new_array();
	if (!arr) {
		c->oom = true;
		return;
	}
	bool identity = false;
	for (size_t i = 0; i < len;) {
		char *line = buf + i, *nl = memchr(line, '\n', len - i);
		size_t llen = nl ? (size_t)(nl - line) : len - i;
		uint64_t f[3];
		int nf = 0;
		i += llen + 1;
		for (size_t a = 0; a < llen && nf < 3;) {
			while (a < llen && line[a] == ' ')
				a++;
			size_t b = a;
			while (b < llen && line[b] != ' ')
				b++;
			if (b == a || proc_ctx_parse_u64(line + a, b - a, &f[nf]) < 0)
				break;
			nf++;
			a = b;
		}
		if (nf != 3)
			continue;
		if (lines++ >= PROC_UID_MAP_MAX) {
			proc_ctx_truncated(c, item);
			break;
		}
		identity = f[0] == 0 && f[1] == 0 && f[2] == UINT32_MAX;
		json_object *e = json_object_new_array();
		if (!e) {
			c->oom = true;
			break;
		}
		proc_ctx_append(c, arr, e);
		for (int k = 0; k < 3; k++)
			json_object_array_add(e, json_object_new_int64((int64_t)f[k]));
	}
	if (identity && lines == 1)
		json_object_put(arr);
	else
		proc_ctx_set(c, item, arr);
}

static void proc_capture_mountinfo(struct proc_ctx *c, const char *item)
{
	proc_capture_text(c, item, NULL, NULL);
}

/* The maps text, then the lost files found in it: one read of maps for both,
 * through the same /proc/PID fd. */
static void proc_capture_maps(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	bool trunc = false;

	if (proc_ctx_read(c, item, item, c->item_max, &buf, &len, &trunc) < 0) {
		proc_ctx_set_null(c, item);
		return;
	}
	proc_ctx_set(c, item, proc_ctx_json_text(buf, len));
	if (c->files)
		proc_maps_open_lost(c, buf, len, trunc, c->files, c->files_max, &c->n_files);
}

/* The value of the "KEY:" line of an fdinfo text (never its first line: that
 * is "pos:"), blanks after the colon skipped, up to the end of the line (or a
 * NUL, or the end of buf). Returns 0 with *ret and *ret_len set, or -ENOENT. */
int proc_fdinfo_field(const char *buf, size_t len, const char *key, const char **ret, size_t *ret_len)
{
	char pat[32];
	size_t plen = (size_t)snprintf(pat, sizeof(pat), "\n%s:", key);

	if (plen >= sizeof(pat))
		return -EINVAL;
	const char *p = memmem(buf, len, pat, plen);
	if (!p)
		return -ENOENT;
	const char *end = buf + len;
	p += plen;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	size_t n = 0;
	while (p + n < end && p[n] != '\n' && p[n] != '\0')
		n++;
	*ret = p;
	*ret_len = n;
	return 0;
}

/* Is /proc/PID the process of the kernel's pidfd? The pidfd must still name
 * a live process (pidfd_send_signal with signal 0) and its "Pid:" in our
 * fdinfo must be pid: then pid cannot have been reused, as it is held. */
static int proc_pidfd_check(struct proc_ctx *c, int pidfd, pid_t pid)
{
	_cleanup_free_ char *buf = NULL;
	char path[64];
	size_t len;
	uint64_t v;

	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0) {
		int r = -errno;
		proc_ctx_error(c, "proc", r);
		return r;
	}
	(void)snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
	int r = read_file_at(AT_FDCWD, path, PROC_STAT_MAX, &buf, &len, NULL);
	if (r < 0) {
		proc_ctx_error(c, "proc", r);
		return r;
	}
	const char *p = NULL;
	size_t n = 0;
	if (proc_fdinfo_field(buf, len, "Pid", &p, &n) == 0 && proc_ctx_parse_u64(p, n, &v) == 0 &&
	    v == (uint64_t)pid)
		return 0;
	char msg[128];
	(void)snprintf(msg, sizeof(msg), "pid %d is not the process of the kernel's pidfd (fdinfo Pid: %.*s)", (int)pid,
		       p ? (int)n : 1, p ? p : "?");
	proc_ctx_error_msg(c, "proc", msg);
	return -ESRCH;
}

/* In order, roughly most identifying first: what the budget cuts is the end. */
static const struct {
	const char *name;
	void (*fn)(struct proc_ctx *c, const char *item);
} proc_items[] = {
	{ "start_time", proc_capture_stat }, { "comm", proc_capture_comm },
	{ "exe", proc_capture_link },        { "cmdline", proc_capture_cmdline },
	{ "cwd", proc_capture_link },        { "root", proc_capture_link },
	{ "environ", proc_env_capture },     { "status", proc_capture_status },
	{ "limits", proc_capture_limits },   { "cgroup", proc_capture_cgroup },
	{ "namespaces", proc_capture_namespaces }, { "container", container_capture },
	{ "threads", proc_capture_threads }, { "pid_ns", proc_capture_pid_ns },
	{ "uid_map", proc_capture_uid_map },
	{ "fds", proc_capture_fds },         { "maps", proc_capture_maps },
	{ "mountinfo", proc_capture_mountinfo },
};

int proc_capture(pid_t pid, const struct proc_capture_opts *opts, json_object **ret)
{
	_cleanup_json_ json_object *obj = NULL;
	_cleanup_close_ int dirfd = -1;
	struct proc_ctx c = { .dirfd = -1 };
	char path[PATH_MAX];
	int r = 0;

	if (pid <= 0 || !opts || !ret)
		return -EINVAL;

	c.proc_root = opts->proc_root ? opts->proc_root : "/proc";
	c.item_max = opts->item_max ? opts->item_max : PROC_ITEM_MAX_DEFAULT;
	if (c.item_max > PROC_ITEM_MAX_LIMIT)
		c.item_max = PROC_ITEM_MAX_LIMIT;
	c.redact = opts->redact;
	c.n_redact = opts->n_redact;
	c.redact_args = opts->redact_args;
	c.n_redact_args = opts->n_redact_args;
	c.secrets = opts->secrets;
	c.budget_usec = opts->budget_usec;
	int64_t start = opts->start_usec ? opts->start_usec : proc_now_usec();
	if (opts->budget_usec > 0)
		c.deadline = start + (int64_t)(opts->budget_usec < INT32_MAX ? opts->budget_usec : INT32_MAX);
	c.files = opts->files;
	c.files_max = opts->files ? opts->files_max : 0;

	obj = json_object_new_object();
	c.errors = json_object_new_object();
	c.truncated = json_object_new_array();
	if (!obj || !c.errors || !c.truncated) {
		json_object_put(c.errors);
		json_object_put(c.truncated);
		return -ENOMEM;
	}
	c.obj = obj;

	if ((size_t)snprintf(path, sizeof(path), "%s/%d", c.proc_root, (int)pid) >= sizeof(path))
		r = -ENAMETOOLONG;
	else if ((dirfd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		r = errno == ENOENT ? -ESRCH : -errno;

	if (r < 0) {
		proc_ctx_error(&c, "proc", r);
	} else {
		c.dirfd = dirfd;
		if (opts->use_pidfd)
			r = proc_pidfd_check(&c, opts->pidfd, pid);
	}
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(proc_items); i++) {
		if (proc_ctx_over_budget(&c, proc_items[i].name))
			proc_ctx_set_null(&c, proc_items[i].name);
		else
			proc_items[i].fn(&c, proc_items[i].name);
	}

	/* What the capture cost, from the budget's start (the process is held
	 * meanwhile): to compare with CaptureBudget=. */
	proc_ctx_set(&c, "capture_usec", json_object_new_int64(proc_now_usec() - start));
	if (json_object_object_add(obj, "errors", c.errors) < 0) {
		json_object_put(c.errors);
		c.oom = true;
	}
	if (json_object_object_add(obj, "truncated", c.truncated) < 0) {
		json_object_put(c.truncated);
		c.oom = true;
	}
	/* Set even when out of memory: the caller closes what was opened. */
	if (opts->n_files)
		*opts->n_files = c.n_files;
	if (c.oom)
		return -ENOMEM;
	*ret = TAKE_PTR(obj);
	return r;
}

