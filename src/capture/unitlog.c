/* The crashed unit's last journal lines (unitlog.h). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "base/json.h"
#include "base/util.h"
#include "capture/proc.h"
#include "capture/proc_ctx.h"
#include "capture/unitlog.h"

#define UNITLOG_REDACTED "<redacted>"
#define UNITLOG_KEY_MAX 128 /* bytes of a KEY= judged; a longer one is not a variable name */

struct unitlog_out {
	char *buf;
	size_t len, n;
};

/* Append, keeping room for the NUL; a cut never splits a UTF-8 character. */
static void unitlog_put(struct unitlog_out *o, const char *s, size_t n)
{
	if (o->len == 0)
		return;
	size_t room = o->len - 1 - o->n;
	if (n > room) {
		n = room;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(o->buf + o->n, s, n);
	o->n += n;
	o->buf[o->n] = '\0';
}

/* KEY of a word KEY=VALUE, leading dashes (--password=) skipped: a name of
 * letters, digits, '_', '.', '-'. Returns the '=' or NULL. */
static const char *unitlog_key(const char *w, size_t wlen, const char **key, size_t *klen)
{
	size_t i = 0;
	while (i < wlen && w[i] == '-')
		i++;
	size_t k0 = i;
	while (i < wlen && i - k0 < UNITLOG_KEY_MAX && (isalnum((unsigned char)w[i]) || w[i] == '_' || w[i] == '.' || w[i] == '-'))
		i++;
	if (i == k0 || i >= wlen || w[i] != '=')
		return NULL;
	*key = w + k0;
	*klen = i - k0;
	return w + i;
}

/* scheme://user:PASSWORD@ inside a word: the offsets of PASSWORD, or false. */
static bool unitlog_url_password(const char *w, size_t wlen, size_t *from, size_t *to)
{
	const char *p = memmem(w, wlen, "://", 3);
	if (!p)
		return false;
	size_t start = (size_t)(p - w) + 3, colon = 0;
	for (size_t i = start; i < wlen; i++) {
		if (w[i] == '/' || w[i] == '?' || w[i] == '#')
			return false;
		if (w[i] == ':' && !colon)
			colon = i;
		if (w[i] == '@') {
			if (!colon)
				return false;
			*from = colon + 1;
			*to = i;
			return *to > *from;
		}
	}
	return false;
}

size_t unitlog_redact(const char *line, const char *const *redact, size_t n_redact, char *out, size_t len)
{
	struct unitlog_out o = { .buf = out, .len = len };
	const char *p = line;

	if (len > 0)
		out[0] = '\0';
	while (*p) {
		size_t sp = strspn(p, " \t");
		unitlog_put(&o, p, sp);
		p += sp;
		size_t wlen = strcspn(p, " \t");
		if (wlen == 0)
			break;
		const char *key, *eq;
		size_t klen, from, to;
		char name[UNITLOG_KEY_MAX + 1];
		if ((eq = unitlog_key(p, wlen, &key, &klen))) {
			memcpy(name, key, klen);
			name[klen] = '\0';
			if (proc_env_key_is_secret(name, redact, n_redact) == 1) {
				unitlog_put(&o, p, (size_t)(eq - p) + 1);
				unitlog_put(&o, UNITLOG_REDACTED, strlen(UNITLOG_REDACTED));
				p += wlen;
				continue;
			}
		}
		if (unitlog_url_password(p, wlen, &from, &to)) {
			unitlog_put(&o, p, from);
			unitlog_put(&o, UNITLOG_REDACTED, strlen(UNITLOG_REDACTED));
			unitlog_put(&o, p + to, wlen - to);
		} else {
			unitlog_put(&o, p, wlen);
		}
		p += wlen;
	}
	return o.n;
}

static void unitlog_journal_closep(sd_journal **j)
{
	if (*j)
		sd_journal_close(*j);
}

/* A field's value (after "NAME="), or NULL. */
static const char *unitlog_field(sd_journal *j, const char *name, size_t *vlen)
{
	const void *d;
	size_t l, nl = strlen(name);
	if (sd_journal_get_data(j, name, &d, &l) < 0 || l <= nl)
		return NULL;
	*vlen = l - nl - 1;
	return (const char *)d + nl + 1;
}

int unitlog_read(const struct unitlog_opts *o, json_object **ret)
{
	__attribute__((cleanup(unitlog_journal_closep))) sd_journal *j = NULL;
	char match[512];
	int r;

	if (!o || !o->unit || !*o->unit || o->lines == 0 || !ret)
		return -EINVAL;
	r = o->directory ? sd_journal_open_directory(&j, o->directory, 0) : sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY);
	if (r < 0)
		return r;
	if (snprintf(match, sizeof(match), "%s=%s", o->user_unit ? "_SYSTEMD_USER_UNIT" : "_SYSTEMD_UNIT", o->unit) >=
	    (int)sizeof(match))
		return -ENAMETOOLONG;
	if ((r = sd_journal_add_match(j, match, 0)) < 0)
		return r;
	if (o->user_unit) {
		snprintf(match, sizeof(match), "_UID=%u", (unsigned)o->uid);
		if ((r = sd_journal_add_match(j, match, 0)) < 0)
			return r;
	}
	/* Newest first from the crash's time back; reversed at the end. */
	r = o->until_usec > 0 ? sd_journal_seek_realtime_usec(j, (uint64_t)o->until_usec) : sd_journal_seek_tail(j);
	if (r < 0)
		return r;
	_cleanup_json_ json_object *rev = json_object_new_array();
	if (!rev)
		return -ENOMEM;
	unsigned want = o->lines < UNITLOG_LINES_MAX ? o->lines : UNITLOG_LINES_MAX;
	size_t bytes = 0, scanned = 0;
	char line[UNITLOG_LINE_BYTES + 1], red[UNITLOG_LINE_BYTES + 1];
	while (json_object_array_length(rev) < want && bytes < UNITLOG_BYTES_MAX && scanned++ < UNITLOG_SCAN_MAX &&
	       sd_journal_previous(j) > 0) {
		uint64_t t;
		size_t ml, pl;
		if (sd_journal_get_realtime_usec(j, &t) < 0 || (o->until_usec > 0 && (int64_t)t > o->until_usec))
			continue;
		const char *m = unitlog_field(j, "MESSAGE", &ml);
		if (!m)
			continue;
		/* A MESSAGE may hold any bytes: up to the first NUL, cut to the cap. */
		size_t n = strnlen(m, ml < UNITLOG_LINE_BYTES ? ml : UNITLOG_LINE_BYTES);
		memcpy(line, m, n);
		line[n] = '\0';
		size_t rl = unitlog_redact(line, o->redact, o->n_redact, red, sizeof(red));
		if (bytes + rl > UNITLOG_BYTES_MAX)
			break;
		bytes += rl;
		json_object *e = json_object_new_object();
		if (!e)
			return -ENOMEM;
		const char *pr = unitlog_field(j, "PRIORITY", &pl);
		json_object_object_add(e, "time_usec", json_object_new_int64((int64_t)t));
		json_object_object_add(e, "priority", pr && pl == 1 && *pr >= '0' && *pr <= '7' ?
							      json_object_new_int(*pr - '0') : NULL);
		json_object *msg = proc_ctx_json_text(red, rl); /* valid UTF-8 */
		if (!msg || json_object_object_add(e, "message", msg) < 0 || json_object_array_add(rev, e) < 0) {
			json_object_put(msg);
			json_object_put(e);
			return -ENOMEM;
		}
	}
	json_object *out = json_object_new_array();
	if (!out)
		return -ENOMEM;
	for (size_t i = json_object_array_length(rev); i-- > 0;) {
		if (json_object_array_add(out, json_object_get(json_object_array_get_idx(rev, i))) < 0) {
			json_object_put(out);
			return -ENOMEM;
		}
	}
	*ret = out;
	return 0;
}
