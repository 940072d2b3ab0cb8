/* The environment of the dying process, with the values of secret-looking keys
 * redacted before they reach the record. */
#include "capture/proc_env.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/util.h"
#include "capture/proc.h"

#define PROC_ENV_MAX  4096         /* environment variables kept */
#define PROC_REDACTED "<redacted>"

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
		if (proc_env_key_is_secret(key, c->redact, c->n_redact) != 0)
			v = json_object_new_string(PROC_REDACTED);
		else
			v = proc_ctx_json_text(eq + 1, elen - klen - 1);
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
