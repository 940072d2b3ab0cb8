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
 * instead of silently describing another process. */

#include "capture/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "capture/cgroup.h"
#include "base/config.h"
#include "base/json.h"
#include "base/util.h"

#define PROC_ITEM_MAX_DEFAULT (256 * 1024)  /* item_max when the caller passes 0 */
#define PROC_ITEM_MAX_LIMIT   (64u << 20)   /* upper clamp: json-c lengths are int */
#define PROC_COMM_MAX         64            /* comm is 16 bytes in the kernel today */
#define PROC_STAT_MAX         4096          /* /proc/PID/stat is ~300 bytes */
#define PROC_LINK_MAX         PATH_MAX      /* readlink buffer for exe, cwd, root, fd/N */
#define PROC_FDS_MAX          1024          /* fds described per process */
#define PROC_FDS_SCAN_MAX     (64 * 1024)   /* fd directory entries looked at */
#define PROC_FDINFO_MAX       4096          /* bytes of fdinfo per fd */
#define PROC_ENV_MAX          4096          /* environment variables kept */
#define PROC_THREADS_MAX      1024          /* threads listed per process */
#define PROC_THREADS_SCAN_MAX (64 * 1024)   /* task directory entries looked at */
#define PROC_LIMITS_MAX       64            /* rows of /proc/PID/limits (16 today) */

#define PROC_REDACTED "<redacted>"


static void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}
#define _cleanup_closedir_ __attribute__((cleanup(closedirp)))

/* One capture in progress. */
struct proc_ctx {
	int dirfd;              /* /proc/PID, O_PATH; owned by proc_capture */
	const char *proc_root;  /* not owned */
	size_t item_max;
	const char *const *redact; /* not owned */
	size_t n_redact;
	json_object *obj;       /* not owned: the result being filled */
	json_object *errors;    /* not owned: inside obj */
	json_object *truncated; /* not owned: inside obj */
	bool oom;
};

/* Strict decimal u64: no sign, no empty string, no trailing garbage, no overflow. */
static int proc_parse_u64(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s, 0 when it is not one (or is NUL). */
static size_t proc_utf8_len(const unsigned char *s, size_t len)
{
	unsigned char c = s[0];
	uint32_t cp;
	size_t n;

	if (c == 0)
		return 0;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4, cp = c & 0x07;
	else
		return 0;
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A heap copy of s[0..len) as valid UTF-8 without NULs: each byte that does not
 * belong to a valid sequence becomes U+FFFD. */
static char *proc_utf8_dup(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bad = 0, i, o;
	char *out;

	for (i = 0; i < len;) {
		size_t n = proc_utf8_len(u + i, len - i);
		if (n == 0)
			bad++, n = 1;
		i += n;
	}
	out = malloc(len + 2 * bad + 1);
	if (!out)
		return NULL;
	for (i = 0, o = 0; i < len;) {
		size_t n = proc_utf8_len(u + i, len - i);
		if (n == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

static json_object *proc_json_text(const char *s, size_t len)
{
	_cleanup_free_ char *t = proc_utf8_dup(s, len);

	if (!t)
		return NULL;
	return json_object_new_string(t);
}

static json_object *proc_json_str(const char *s) { return proc_json_text(s, strlen(s)); }

/* Add value under key; value NULL means allocation failed, recorded once. The
 * key is made valid UTF-8 first. Does not replace an existing key: the first of
 * duplicate keys wins, as with getenv(). */
static void proc_add(struct proc_ctx *c, json_object *obj, const char *key, size_t key_len,
		     json_object *value, bool want_null)
{
	_cleanup_free_ char *k = proc_utf8_dup(key, key_len);

	if ((!value && !want_null) || !k) {
		json_object_put(value);
		c->oom = true;
		return;
	}
	if (json_object_object_get_ex(obj, k, NULL)) {
		json_object_put(value);
		return;
	}
	if (json_object_object_add(obj, k, value) < 0) {
		json_object_put(value);
		c->oom = true;
	}
}

static void proc_set(struct proc_ctx *c, const char *key, json_object *value)
{
	proc_add(c, c->obj, key, strlen(key), value, false);
}

static void proc_set_null(struct proc_ctx *c, const char *key)
{
	proc_add(c, c->obj, key, strlen(key), NULL, true);
}

static void proc_append(struct proc_ctx *c, json_object *array, json_object *value)
{
	if (!value || json_object_array_add(array, value) < 0) {
		json_object_put(value);
		c->oom = true;
	}
}

static void proc_error(struct proc_ctx *c, const char *item, int err)
{
	proc_add(c, c->errors, item, strlen(item), json_object_new_string(strerror(err < 0 ? -err : err)),
		 false);
}

static void proc_error_msg(struct proc_ctx *c, const char *item, const char *msg)
{
	proc_add(c, c->errors, item, strlen(item), json_object_new_string(msg), false);
}

static void proc_truncated(struct proc_ctx *c, const char *item)
{
	size_t n = json_object_array_length(c->truncated);

	for (size_t i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(c->truncated, i)), item) == 0)
			return;
	proc_append(c, c->truncated, json_object_new_string(item));
}

/* Read path (relative to the /proc/PID fd) up to cap bytes. A failure is recorded
 * under item and returned; reaching cap is recorded as truncation of item. */
static int proc_read(struct proc_ctx *c, const char *item, const char *path, size_t cap, char **ret,
		     size_t *ret_len, bool *ret_trunc)
{
	char *buf = NULL;
	size_t len = 0;
	bool trunc = false;
	int r;

	r = read_file_at(c->dirfd, path, cap, &buf, &len, &trunc);
	if (r < 0) {
		if (r == -ENOMEM)
			c->oom = true;
		else
			proc_error(c, item, r);
		return r;
	}
	if (trunc)
		proc_truncated(c, item);
	*ret = buf;
	*ret_len = len;
	if (ret_trunc)
		*ret_trunc = trunc;
	return 0;
}

/* readlinkat into a heap string; -ENAMETOOLONG when the target fills the buffer. */
static int proc_readlink_at(int dirfd, const char *path, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = malloc(PROC_LINK_MAX + 1);
	ssize_t n;

	if (!buf)
		return -ENOMEM;
	n = readlinkat(dirfd, path, buf, PROC_LINK_MAX + 1);
	if (n < 0)
		return -errno;
	if ((size_t)n > PROC_LINK_MAX)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = (size_t)n;
	return 0;
}

/* A link as a JSON string (or null with the error recorded), capped at item_max. */
static json_object *proc_link_json(struct proc_ctx *c, const char *item, const char *path)
{
	_cleanup_free_ char *t = NULL;
	size_t len = 0;
	int r;

	r = proc_readlink_at(c->dirfd, path, &t, &len);
	if (r < 0) {
		if (r == -ENOMEM)
			c->oom = true;
		else
			proc_error(c, item, r);
		return NULL;
	}
	if (len > c->item_max) {
		len = c->item_max;
		proc_truncated(c, item);
	}
	json_object *v = proc_json_text(t, len);
	if (!v)
		c->oom = true;
	return v;
}

static void proc_capture_link(struct proc_ctx *c, const char *item)
{
	json_object *v = proc_link_json(c, item, item);

	if (v)
		proc_set(c, item, v);
	else
		proc_set_null(c, item);
}

static void proc_strip_newline(char *s, size_t *len)
{
	while (*len > 0 && s[*len - 1] == '\n')
		s[--*len] = '\0';
}

static void proc_capture_comm(struct proc_ctx *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (proc_read(c, "comm", "comm", PROC_COMM_MAX, &buf, &len, NULL) < 0) {
		proc_set_null(c, "comm");
		return;
	}
	proc_strip_newline(buf, &len);
	proc_set(c, "comm", proc_json_text(buf, len));
}

static void proc_capture_stat(struct proc_ctx *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	char *p, *save = NULL, *tok;
	uint64_t start;
	int field = 2;

	if (proc_read(c, "start_time", "stat", PROC_STAT_MAX, &buf, &len, NULL) < 0)
		goto fail;
	/* comm (field 2) may hold spaces and ')': it ends at the last ')' */
	p = memrchr(buf, ')', len);
	if (!p)
		goto bad;
	for (tok = strtok_r(p + 1, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (++field == 22)
			break;
	if (!tok || proc_parse_u64(tok, strlen(tok), &start) < 0 || start > INT64_MAX)
		goto bad;
	proc_set(c, "start_time", json_object_new_int64((int64_t)start));
	return;
bad:
	proc_error_msg(c, "start_time", "cannot parse stat");
fail:
	proc_set_null(c, "start_time");
}

/* NUL-separated arguments joined by single spaces; a final NUL ends the last
 * argument rather than starting an empty one. */
static void proc_capture_cmdline(struct proc_ctx *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (proc_read(c, "cmdline", "cmdline", c->item_max, &buf, &len, NULL) < 0) {
		proc_set_null(c, "cmdline");
		return;
	}
	if (len > 0 && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == '\0')
			buf[i] = ' ';
	proc_set(c, "cmdline", proc_json_text(buf, len));
}

static void proc_capture_environ(struct proc_ctx *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len, n = 0;
	bool trunc;
	json_object *env;

	if (proc_read(c, "environ", "environ", c->item_max, &buf, &len, &trunc) < 0) {
		proc_set_null(c, "environ");
		return;
	}
	/* a cut-off last entry could be half a key: drop it */
	if (trunc) {
		char *last = memrchr(buf, '\0', len);
		len = last ? (size_t)(last - buf) : 0;
	}
	env = json_object_new_object();
	if (!env) {
		c->oom = true;
		return;
	}
	proc_set(c, "environ", env);

	for (size_t i = 0; i < len;) {
		const char *e = buf + i;
		size_t elen = strnlen(e, len - i);
		i += elen + 1;
		if (elen == 0)
			continue;
		if (n++ == PROC_ENV_MAX) {
			proc_truncated(c, "environ");
			break;
		}
		const char *eq = memchr(e, '=', elen);
		if (!eq) {
			/* no '=': keep the name, there is no value */
			proc_add(c, env, e, elen, NULL, true);
			continue;
		}
		size_t klen = (size_t)(eq - e);
		_cleanup_free_ char *key = strndup(e, klen);
		if (!key) {
			c->oom = true;
			return;
		}
		json_object *v;
		if (proc_env_key_is_secret(key, c->redact, c->n_redact) != 0)
			v = json_object_new_string(PROC_REDACTED);
		else
			v = proc_json_text(eq + 1, elen - klen - 1);
		proc_add(c, env, key, klen, v, false);
	}
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
static void proc_capture_status(struct proc_ctx *c)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	bool trunc;
	json_object *st;

	if (proc_read(c, "status", "status", c->item_max, &buf, &len, &trunc) < 0) {
		proc_set_null(c, "status");
		return;
	}
	if (trunc)
		len = proc_whole_lines(buf, len);
	st = json_object_new_object();
	if (!st) {
		c->oom = true;
		return;
	}
	proc_set(c, "status", st);
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
		proc_add(c, st, line, klen, proc_json_text(v, vlen), false);
	}
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
static json_object *proc_limits_parse(struct proc_ctx *c, char *buf, size_t len)
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
		proc_append(c, arr, o);
		proc_add(c, o, "name", 4, proc_json_text(name, nlen), false);
		proc_add(c, o, "soft", 4, proc_json_str(f[0]), false);
		proc_add(c, o, "hard", 4, proc_json_str(f[1]), false);
		proc_add(c, o, "units", 5, f[2] ? proc_json_str(f[2]) : NULL, !f[2]);
	}
	return TAKE_PTR(arr);
}

static void proc_capture_limits(struct proc_ctx *c)
{
	_cleanup_free_ char *buf = NULL, *raw = NULL;
	size_t len;
	bool trunc;
	json_object *v;

	if (proc_read(c, "limits", "limits", c->item_max, &buf, &len, &trunc) < 0) {
		proc_set_null(c, "limits");
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
		v = proc_json_text(raw, len); /* parsing failed: keep the text as it was */
	proc_set(c, "limits", v);
}

/* A raw text item, as read. */
static void proc_capture_text(struct proc_ctx *c, const char *item, char **keep, size_t *keep_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;

	if (proc_read(c, item, item, c->item_max, &buf, &len, NULL) < 0) {
		proc_set_null(c, item);
		return;
	}
	proc_set(c, item, proc_json_text(buf, len));
	if (keep) {
		*keep = TAKE_PTR(buf);
		*keep_len = len;
	}
}

static void proc_capture_cgroup(struct proc_ctx *c)
{
	_cleanup_free_ char *buf = NULL, *unit = NULL, *slice = NULL;
	size_t len = 0;
	int r;

	proc_capture_text(c, "cgroup", &buf, &len);
	if (!buf) {
		proc_set_null(c, "unit");
		proc_set_null(c, "slice");
		return;
	}
	r = cgroup_unit(buf, &unit, &slice);
	if (r == -ENOMEM)
		c->oom = true;
	proc_add(c, c->obj, "unit", 4, unit ? proc_json_str(unit) : NULL, !unit);
	proc_add(c, c->obj, "slice", 5, slice ? proc_json_str(slice) : NULL, !slice);
}

static int proc_cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Numeric entries of directory path (relative to the /proc/PID fd), sorted, at
 * most scan_max of them looked at. *ret_more is set when entries were left. */
static int proc_list_numeric(struct proc_ctx *c, const char *path, size_t scan_max, int **ret,
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
		if (proc_parse_u64(de->d_name, strlen(de->d_name), &num) < 0 || num > INT_MAX)
			continue;
		if (n == scan_max) {
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
static void proc_capture_fds(struct proc_ctx *c)
{
	_cleanup_free_ int *fds = NULL;
	_cleanup_close_ int fddir = -1;
	size_t n = 0, used = 0;
	bool more = false;
	json_object *arr;
	int r;

	r = proc_list_numeric(c, "fd", PROC_FDS_SCAN_MAX, &fds, &n, &more);
	if (r < 0) {
		if (r == -ENOMEM)
			c->oom = true;
		proc_error(c, "fds", r);
		proc_set_null(c, "fds");
		return;
	}
	arr = json_object_new_array();
	if (!arr) {
		c->oom = true;
		return;
	}
	proc_set(c, "fds", arr);
	if (more || n > PROC_FDS_MAX) {
		proc_truncated(c, "fds");
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
			proc_truncated(c, "fds");
			break;
		}
		(void)snprintf(name, sizeof(name), "%d", fds[i]);
		o = json_object_new_object();
		if (!o) {
			c->oom = true;
			return;
		}
		proc_append(c, arr, o);
		proc_add(c, o, "fd", 2, json_object_new_int(fds[i]), false);

		(void)snprintf(item, sizeof(item), "fd/%s", name);
		if (fddir >= 0) {
			_cleanup_free_ char *t = NULL;
			r = proc_readlink_at(fddir, name, &t, &tlen);
			if (r >= 0) {
				if (tlen > c->item_max - used) {
					tlen = c->item_max - used;
					proc_truncated(c, "fds");
				}
				target = proc_json_text(t, tlen);
				if (!target)
					c->oom = true;
			} else if (r == -ENOMEM) {
				c->oom = true;
			} else {
				proc_error(c, item, r);
			}
		} else {
			proc_error(c, item, fddir_err);
		}
		proc_add(c, o, "target", 6, target, !target);
		used += tlen;

		(void)snprintf(item, sizeof(item), "fdinfo/%s", name);
		(void)snprintf(path, sizeof(path), "fdinfo/%s", name);
		size_t cap = c->item_max - used < PROC_FDINFO_MAX ? c->item_max - used : PROC_FDINFO_MAX;
		bool trunc = false;
		r = read_file_at(c->dirfd, path, cap, &info, &ilen, &trunc);
		if (r >= 0) {
			if (trunc)
				proc_truncated(c, "fds");
			proc_add(c, o, "fdinfo", 6, proc_json_text(info, ilen), false);
			used += ilen;
		} else {
			if (r == -ENOMEM)
				c->oom = true;
			else
				proc_error(c, item, r);
			proc_add(c, o, "fdinfo", 6, NULL, true);
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
	r = proc_readlink_at(dirfd, path, &t, &len);
	if (r < 0)
		return r;
	if (len < nlen + 3 || memcmp(t, name, nlen) != 0 || t[nlen] != ':' || t[nlen + 1] != '[' ||
	    t[len - 1] != ']')
		return -EINVAL;
	return proc_parse_u64(t + nlen + 2, len - nlen - 3, ret);
}

/* A fixed list rather than a directory scan: bounded and in a stable order.
 * Types the kernel does not have (ENOENT) are left out silently. */
static const char *const proc_ns_names[] = {
	"cgroup", "ipc", "mnt", "net", "pid", "pid_for_children", "time", "time_for_children", "user", "uts",
};

/* "container" compares the mnt and pid namespaces with PID 1's under the same
 * proc root: true when either differs, false when both match, null (with the
 * reason in errors) when they cannot be compared. */
static void proc_capture_namespaces(struct proc_ctx *c)
{
	_cleanup_close_ int init_fd = -1;
	char init_path[PATH_MAX];
	json_object *ns;
	int compared = 0, differs = 0, init_err = 0;

	ns = json_object_new_object();
	if (!ns) {
		c->oom = true;
		return;
	}
	proc_set(c, "namespaces", ns);

	if ((size_t)snprintf(init_path, sizeof(init_path), "%s/1", c->proc_root) >= sizeof(init_path))
		init_err = -ENAMETOOLONG;
	else if ((init_fd = open(init_path, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		init_err = -errno;

	for (size_t i = 0; i < ARRAY_SIZE(proc_ns_names); i++) {
		const char *name = proc_ns_names[i];
		bool key = strcmp(name, "mnt") == 0 || strcmp(name, "pid") == 0;
		uint64_t ino, init_ino;
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
				proc_error(c, item, r);
			continue;
		}
		proc_add(c, ns, name, strlen(name),
			 ino <= INT64_MAX ? json_object_new_int64((int64_t)ino) : json_object_new_uint64(ino),
			 false);
		if (!key || init_fd < 0)
			continue;
		r = proc_ns_inode(init_fd, name, &init_ino);
		if (r < 0) {
			init_err = r;
			continue;
		}
		compared++;
		if (ino != init_ino)
			differs++;
	}

	if (differs > 0)
		proc_set(c, "container", json_object_new_boolean(1));
	else if (compared == 2)
		proc_set(c, "container", json_object_new_boolean(0));
	else {
		proc_error(c, "container", init_err ? init_err : -ENOENT);
		proc_set_null(c, "container");
	}
}

static void proc_capture_threads(struct proc_ctx *c)
{
	_cleanup_free_ int *tids = NULL;
	size_t n = 0;
	bool more = false;
	json_object *arr;
	int r;

	r = proc_list_numeric(c, "task", PROC_THREADS_SCAN_MAX, &tids, &n, &more);
	if (r < 0) {
		if (r == -ENOMEM)
			c->oom = true;
		proc_error(c, "threads", r);
		proc_set_null(c, "threads");
		return;
	}
	arr = json_object_new_array();
	if (!arr) {
		c->oom = true;
		return;
	}
	proc_set(c, "threads", arr);
	if (more || n > PROC_THREADS_MAX) {
		proc_truncated(c, "threads");
		if (n > PROC_THREADS_MAX)
			n = PROC_THREADS_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *comm = NULL;
		char path[48];
		size_t len;
		json_object *o = json_object_new_object();

		if (!o) {
			c->oom = true;
			return;
		}
		proc_append(c, arr, o);
		proc_add(c, o, "tid", 3, json_object_new_int(tids[i]), false);
		(void)snprintf(path, sizeof(path), "task/%d/comm", tids[i]);
		if (proc_read(c, path, path, PROC_COMM_MAX, &comm, &len, NULL) < 0) {
			proc_add(c, o, "comm", 4, NULL, true);
			continue;
		}
		proc_strip_newline(comm, &len);
		proc_add(c, o, "comm", 4, proc_json_text(comm, len), false);
	}
}

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
		proc_error(&c, "proc", r);
	} else {
		c.dirfd = dirfd;
		/* roughly most identifying first */
		proc_capture_stat(&c);
		proc_capture_comm(&c);
		proc_capture_link(&c, "exe");
		proc_capture_cmdline(&c);
		proc_capture_link(&c, "cwd");
		proc_capture_link(&c, "root");
		proc_capture_environ(&c);
		proc_capture_status(&c);
		proc_capture_limits(&c);
		proc_capture_cgroup(&c);
		proc_capture_namespaces(&c);
		proc_capture_threads(&c);
		proc_capture_fds(&c);
		proc_capture_text(&c, "maps", NULL, NULL);
		proc_capture_text(&c, "mountinfo", NULL, NULL);
	}

	if (json_object_object_add(obj, "errors", c.errors) < 0) {
		json_object_put(c.errors);
		c.oom = true;
	}
	if (json_object_object_add(obj, "truncated", c.truncated) < 0) {
		json_object_put(c.truncated);
		c.oom = true;
	}
	if (c.oom)
		return -ENOMEM;
	*ret = TAKE_PTR(obj);
	return r;
}

/* Redaction policy: a key is secret when any pattern matches it as a shell glob,
 * ignoring case. A pattern fnmatch cannot evaluate counts as a match, so a bad
 * pattern over-redacts rather than leaks. patterns == NULL means the built-in
 * default list. */
int proc_env_key_is_secret(const char *key, const char *const *patterns, size_t n)
{
	if (!key)
		return -EINVAL;
	if (!patterns) {
		patterns = config_redact_default;
		n = ARRAY_SIZE(config_redact_default);
	}
	for (size_t i = 0; i < n; i++) {
		if (!patterns[i])
			continue;
		if (fnmatch(patterns[i], key, FNM_CASEFOLD) != FNM_NOMATCH)
			return 1;
	}
	return 0;
}

/* One line of /proc/PID/maps: "START-END PERMS OFFSET DEV INODE   PATH". Sets
 * range (the "START-END" as map_files names it) and the path of an executable
 * mapping of a file, or returns false for any other (a binary's code is what
 * the analysis needs its file for; data files, devices and shared memory are
 * none of its business). */
static bool proc_maps_line(char *line, char **range, char **path)
{
	char *sp = strchr(line, ' ');
	if (!sp || strlen(sp) < 5 || sp[3] != 'x')
		return false;
	*sp = '\0';
	*range = line;
	/* perms, offset, dev, inode: four fields, then spaces, then the path */
	char *p = sp + 1;
	for (int i = 0; i < 4; i++) {
		p = strchr(p, ' ');
		if (!p)
			return false;
		p++;
	}
	p += strspn(p, " ");
	p[strcspn(p, "\n")] = '\0';
	if (p[0] != '/')
		return false; /* anonymous, [heap], [stack], [vdso]... */
	*path = p;
	return true;
}

/* Could a user with no rights of its own (the analysis user: "others")
 * open path? Its mode, and every directory above it searchable by others (a
 * 0700 home directory hides a 0755 program). ok_dir remembers the last
 * directory found searchable, since a process's files share a few. */
static bool proc_others_can_read(const char *path, const struct stat *st, char *ok_dir, size_t ok_len)
{
	char dir[PATH_MAX];
	if (!(st->st_mode & S_IROTH))
		return false;
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 0;
	if (n == 0 || n >= sizeof(dir))
		return n == 0; /* a file in "/" */
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (strcmp(dir, ok_dir) == 0)
		return true;
	for (size_t i = 1; i <= n; i++) {
		if (dir[i] != '/' && dir[i] != '\0')
			continue;
		char c = dir[i];
		struct stat ds;
		dir[i] = '\0';
		bool ok = stat(dir, &ds) == 0 && S_ISDIR(ds.st_mode) && (ds.st_mode & S_IXOTH);
		dir[i] = c;
		if (!ok)
			return false;
	}
	if (n < ok_len)
		memcpy(ok_dir, dir, n + 1);
	return true;
}

size_t proc_open_lost_files(pid_t pid, struct proc_file *out, size_t max)
{
	char ok_dir[PATH_MAX] = "";
	char name[64];
	size_t n = 0, lines = 0, cap = 0;
	char *line = NULL, *last = NULL;
	snprintf(name, sizeof(name), "/proc/%d/maps", (int)pid);
	struct rlimit rl;
	rlim_t fd_cap = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ? rl.rlim_cur / 2 : 512;
	FILE *f = fopen(name, "re");
	if (!f)
		return 0;
	while (n < max && lines++ < PROC_MAPS_LINES_MAX && getline(&line, &cap, f) > 0) {
		char *range, *path;
		if (!proc_maps_line(line, &range, &path))
			continue;
		bool deleted;
		path[path_undeleted_len(path, &deleted)] = '\0';
		/* Shared anonymous memory ("/dev/zero (deleted)") and memfds are
		 * regular files that were deleted, but no binary. */
		if (strncmp(path, "/dev/", 5) == 0 || strncmp(path, "/memfd:", 7) == 0)
			continue;
		/* A file's mappings come one after the other: judge each once. */
		if (last && strcmp(last, path) == 0)
			continue;
		free(last);
		last = strdup(path);
		if (!last)
			break;
		bool have = false;
		for (size_t i = 0; i < n && !have; i++)
			have = strcmp(out[i].path, path) == 0;
		if (have)
			continue;
		char mf[96];
		struct stat st;
		if (snprintf(mf, sizeof(mf), "/proc/%d/map_files/%s", (int)pid, range) >= (int)sizeof(mf))
			continue;
		/* A regular file only (never a device's open), and one the
		 * analysis would not reach by its path. */
		if (stat(mf, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (!deleted && proc_others_can_read(path, &st, ok_dir, sizeof(ok_dir))))
			continue;
		int fd = open(mf, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			continue;
		/* Never the upper half of the descriptors: mortemd holds these
		 * for every crash in flight, and its accepts and the store need
		 * the rest (descriptors come lowest first). */
		if ((rlim_t)fd >= fd_cap) {
			(void)close(fd);
			break;
		}
		char *copy = strdup(path);
		if (!copy) {
			(void)close(fd);
			break;
		}
		out[n++] = (struct proc_file){ .path = copy, .fd = fd };
	}
	free(last);
	free(line);
	fclose(f);
	return n;
}

void proc_files_close(struct proc_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].path);
		f[i].path = NULL;
		if (f[i].fd >= 0)
			(void)close(f[i].fd);
		f[i].fd = -1;
	}
}
