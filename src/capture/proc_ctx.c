/* The helpers every /proc item uses: one capture's context, results added as
 * valid UTF-8, failures under "errors", caps reached under "truncated". */
#include "capture/proc_ctx.h"
#include "capture/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/util.h"

/* Strict decimal u64: no sign, no empty string, no trailing garbage, no overflow. */
int proc_ctx_parse_u64(const char *s, size_t len, uint64_t *ret)
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
static size_t proc_ctx_utf8_len(const unsigned char *s, size_t len)
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
static char *proc_ctx_utf8_dup(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t bad = 0, i, o;
	char *out;

	for (i = 0; i < len;) {
		size_t n = proc_ctx_utf8_len(u + i, len - i);
		if (n == 0)
			bad++, n = 1;
		i += n;
	}
	out = malloc(len + 2 * bad + 1);
	if (!out)
		return NULL;
	for (i = 0, o = 0; i < len;) {
		size_t n = proc_ctx_utf8_len(u + i, len - i);
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

json_object *proc_ctx_json_text(const char *s, size_t len)
{
	_cleanup_free_ char *t = proc_ctx_utf8_dup(s, len);

	if (!t)
		return NULL;
	return json_object_new_string(t);
}

json_object *proc_ctx_json_str(const char *s) { return proc_ctx_json_text(s, strlen(s)); }

/* Add value under key; value NULL means allocation failed, recorded once. The
 * key is made valid UTF-8 first. Does not replace an existing key: the first of
 * duplicate keys wins, as with getenv(). */
void proc_ctx_add(struct proc_ctx *c, json_object *obj, const char *key, size_t key_len,
		     json_object *value, bool want_null)
{
	_cleanup_free_ char *k = proc_ctx_utf8_dup(key, key_len);

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

void proc_ctx_set(struct proc_ctx *c, const char *key, json_object *value)
{
	proc_ctx_add(c, c->obj, key, strlen(key), value, false);
}

void proc_ctx_set_null(struct proc_ctx *c, const char *key)
{
	proc_ctx_add(c, c->obj, key, strlen(key), NULL, true);
}

void proc_ctx_append(struct proc_ctx *c, json_object *array, json_object *value)
{
	if (!value || json_object_array_add(array, value) < 0) {
		json_object_put(value);
		c->oom = true;
	}
}

void proc_ctx_error(struct proc_ctx *c, const char *item, int err)
{
	proc_ctx_add(c, c->errors, item, strlen(item), json_object_new_string(strerror(err < 0 ? -err : err)),
		 false);
}

void proc_ctx_error_msg(struct proc_ctx *c, const char *item, const char *msg)
{
	proc_ctx_add(c, c->errors, item, strlen(item), json_object_new_string(msg), false);
}

void proc_ctx_truncated(struct proc_ctx *c, const char *item)
{
	size_t n = json_object_array_length(c->truncated);

	for (size_t i = 0; i < n; i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(c->truncated, i)), item) == 0)
			return;
	proc_ctx_append(c, c->truncated, json_object_new_string(item));
}

/* Read path (relative to the /proc/PID fd) up to cap bytes. A failure is recorded
 * under item and returned; reaching cap is recorded as truncation of item. */
int proc_ctx_read(struct proc_ctx *c, const char *item, const char *path, size_t cap, char **ret,
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
			proc_ctx_error(c, item, r);
		return r;
	}
	if (trunc)
		proc_ctx_truncated(c, item);
	*ret = buf;
	*ret_len = len;
	if (ret_trunc)
		*ret_trunc = trunc;
	return 0;
}

/* readlinkat into a heap string; -ENAMETOOLONG when the target fills the buffer. */
int proc_ctx_readlink_at(int dirfd, const char *path, char **ret, size_t *ret_len)
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

int64_t proc_now_usec(void)
{
	struct timespec ts;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

bool proc_ctx_over_budget(struct proc_ctx *c, const char *item)
{
	char msg[64];

	if (c->deadline == 0 || (!c->spent && proc_now_usec() < c->deadline))
		return false;
	c->spent = true;
	if (c->budget_usec % 1000 == 0)
		(void)snprintf(msg, sizeof(msg), "capture budget of %llu ms spent",
			       (unsigned long long)(c->budget_usec / 1000));
	else
		(void)snprintf(msg, sizeof(msg), "capture budget of %llu us spent", (unsigned long long)c->budget_usec);
	proc_ctx_error_msg(c, item, msg);
	proc_ctx_truncated(c, item);
	return true;
}
