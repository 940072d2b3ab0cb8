/* The environment of the dying process, with the values of secret-looking keys
 * redacted before they reach the record. */
#include "capture/proc_env.h"

#include <errno.h>
#include <stdio.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/util.h"
#include "capture/proc.h"

#define PROC_ENV_MAX  4096         /* environment variables kept */
#define PROC_REDACTED "<redacted>"
#define PROC_ARG_NAME_MAX 256   /* bytes of an option name judged; a longer one is not an option */

void proc_secrets_free(struct proc_secrets *s)
{
	if (!s)
		return;
	free(s->buf);
	*s = (struct proc_secrets){ 0 };
}

/* One "KEY=VALUE" (no NUL) kept for the minicore's scrub, within the caps. */
static void proc_secrets_add(struct proc_secrets *s, const char *kv, size_t len)
{
	if (!s || len == 0)
		return;
	if (s->n >= PROC_SECRETS_MAX || s->len + len + 1 > PROC_SECRETS_BYTES) {
		s->capped = true;
		return;
	}
	if (!s->buf && !(s->buf = malloc(PROC_SECRETS_BYTES))) {
		s->capped = true;
		return;
	}
	memcpy(s->buf + s->len, kv, len);
	s->buf[s->len + len] = '\0';
	s->len += len + 1;
	s->n++;
}

int proc_secrets_iov(const struct proc_secrets *s, struct iovec **ret, size_t *ret_n)
{
	struct iovec *v = NULL;
	size_t n = 0;
	if (s && s->n > 0) {
		v = calloc(s->n, sizeof(*v));
		if (!v)
			return -ENOMEM;
		for (size_t off = 0; off < s->len && n < s->n; n++) {
			size_t l = strlen(s->buf + off);
			v[n] = (struct iovec){ .iov_base = s->buf + off, .iov_len = l };
			off += l + 1;
		}
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* scheme://user:PASSWORD@host in s[0..len): PASSWORD's offsets. */
static bool proc_url_password(const char *s, size_t len, size_t *from, size_t *to)
{
	const char *p = memmem(s, len, "://", 3);
	if (!p)
		return false;
	size_t colon = 0;
	for (size_t i = (size_t)(p - s) + 3; i < len; i++) {
		if (s[i] == '/' || s[i] == '?' || s[i] == '#' || s[i] == ' ')
			return false;
		if (s[i] == ':' && !colon)
			colon = i;
		if (s[i] == '@') {
			*from = colon + 1;
			*to = i;
			return colon && i > colon + 1;
		}
	}
	return false;
}

static bool proc_arg_matches(const char *arg, const char *const *pats, size_t n)
{
	if (!pats) {
		pats = config_redact_args_default;
		n = ARRAY_SIZE(config_redact_args_default);
	}
	for (size_t i = 0; i < n; i++)
		if (pats[i] && fnmatch(pats[i], arg, FNM_CASEFOLD) != FNM_NOMATCH)
			return true;
	return false;
}

/* A two-character pattern "-X" that arg starts with, arg longer: "-pVALUE". */
static bool proc_arg_attached(const char *arg, const char *const *pats, size_t n)
{
	if (!pats)
		return false; /* the built-in list has none: "-p" is also mkdir's */
	for (size_t i = 0; i < n; i++)
		if (pats[i] && pats[i][0] == '-' && pats[i][1] && pats[i][1] != '-' && !pats[i][2] &&
		    arg[0] == '-' && arg[1] == pats[i][1] && arg[2])
			return true;
	return false;
}

int proc_args_redact(const char *buf, size_t len, const char *const *args, size_t n_args,
		     const char *const *env, size_t n_env, struct proc_secrets *secrets, char **ret, size_t *ret_len)
{
	/* Each argument grows by at most "<redacted>" plus a space. */
	size_t n_argv = 1;
	for (size_t i = 0; i < len; i++)
		n_argv += buf[i] == '\0';
	size_t cap = len + n_argv * (sizeof(PROC_REDACTED) + 1) + 1;
	char *out = malloc(cap), *o = out;
	bool next_secret = false;

	if (!out)
		return -ENOMEM;
	if (len > 0 && buf[len - 1] == '\0')
		len--;
	for (size_t i = 0; i <= len;) {
		const char *a = buf + i;
		size_t alen = strnlen(a, len - i);
		char arg[PROC_ARG_NAME_MAX + 1];
		const char *eq = memchr(a, '=', alen);
		size_t nlen = eq ? (size_t)(eq - a) : alen;
		size_t from, to;

		if (o != out)
			*o++ = ' ';
		if (nlen <= PROC_ARG_NAME_MAX) {
			memcpy(arg, a, nlen);
			arg[nlen] = '\0';
		} else {
			arg[0] = '\0';
		}
		if (next_secret) {
			o = stpcpy(o, PROC_REDACTED);
			next_secret = false;
		} else if (eq && arg[0] &&
			   ((arg[0] == '-' && proc_arg_matches(arg, args, n_args)) ||
			    proc_env_key_is_secret(arg + strspn(arg, "-"), env, n_env) == 1)) {
			memcpy(o, a, nlen + 1);
			o = stpcpy(o + nlen + 1, PROC_REDACTED);
			proc_secrets_add(secrets, a, alen);
		} else if (!eq && arg[0] == '-' && proc_arg_matches(arg, args, n_args)) {
			memcpy(o, a, alen);
			o += alen;
			next_secret = true;
		} else if (arg[0] == '-' && proc_arg_attached(a, args, n_args)) {
			memcpy(o, a, 2);
			o = stpcpy(o + 2, PROC_REDACTED);
		} else if (proc_url_password(a, alen, &from, &to)) {
			memcpy(o, a, from);
			o = stpcpy(o + from, PROC_REDACTED);
			memcpy(o, a + to, alen - to);
			o += alen - to;
		} else {
			memcpy(o, a, alen);
			o += alen;
		}
		i += alen + 1;
	}
	*o = '\0';
	*ret = out;
	*ret_len = (size_t)(o - out);
	return 0;
}

/* "environ" {KEY: value|"<redacted>"|null (no '=')}, the first of duplicate
 * keys kept, as getenv() would. */
void proc_env_capture(struct proc_ctx *c, const char *item)
{
	_cleanup_free_ char *buf = NULL;
	size_t len, n = 0;
	bool trunc;
	json_object *env;

	if (proc_ctx_read(c, "environ", "environ", c->item_max, &buf, &len, &trunc) < 0) {
		proc_ctx_set_null(c, "environ");
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
	proc_ctx_set(c, "environ", env);

	for (size_t i = 0; i < len;) {
		const char *e = buf + i;
		size_t elen = strnlen(e, len - i);
		i += elen + 1;
		if (elen == 0)
			continue;
		if (n++ == PROC_ENV_MAX) {
			proc_ctx_truncated(c, item);
			break;
		}
		/* each key is matched against every redaction pattern */
		if (proc_ctx_over_budget(c, item))
			break;
		const char *eq = memchr(e, '=', elen);
		if (!eq) {
			/* no '=': keep the name, there is no value */
			proc_ctx_add(c, env, e, elen, NULL, true);
			continue;
		}
		size_t klen = (size_t)(eq - e);
		_cleanup_free_ char *key = strndup(e, klen);
		if (!key) {
			c->oom = true;
			return;
		}
		json_object *v;
		size_t from, to;
		if (proc_env_key_is_secret(key, c->redact, c->n_redact) != 0) {
			v = json_object_new_string(PROC_REDACTED);
			proc_secrets_add(c->secrets, e, elen);
		} else if (proc_url_password(eq + 1, elen - klen - 1, &from, &to)) {
			/* a URL with a password in an ordinary variable */
			_cleanup_free_ char *t = NULL;
			if (asprintf(&t, "%.*s" PROC_REDACTED "%.*s", (int)from, eq + 1, (int)(elen - klen - 1 - to),
				     eq + 1 + to) < 0) {
				c->oom = true;
				return;
			}
			v = proc_ctx_json_str(t);
			proc_secrets_add(c->secrets, e, elen);
		} else {
			v = proc_ctx_json_text(eq + 1, elen - klen - 1);
		}
		proc_ctx_add(c, env, key, klen, v, false);
	}
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
