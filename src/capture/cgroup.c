/* The systemd unit and slice a process belongs to, from its /proc/PID/cgroup
 * text (written by the kernel, but the path components are named by whoever
 * created the cgroups: checked as unit names before use). */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cgroup.h"
#include "base/util.h"

static bool cgroup_unit_char_ok(char ch)
{
	return isalnum((unsigned char)ch) || strchr(":-_.\\@", ch) != NULL;
}

static bool cgroup_has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t sl = strlen(suffix);
	return len > sl && memcmp(s + len - sl, suffix, sl) == 0;
}

/* Unit and slice of one cgroup path. The unit is the innermost .service or
 * .scope component (for a user service, "foo.service" under user@1000.service,
 * not the user manager); the slice is the innermost .slice above that unit, or
 * the innermost .slice when there is no unit. Components that are not valid unit
 * names are skipped. */
static int cgroup_path_unit(const char *path, size_t len, char **ret_unit, char **ret_slice)
{
	const char *unit = NULL, *slice = NULL, *unit_slice = NULL;
	size_t unit_len = 0, slice_len = 0, unit_slice_len = 0;
	_cleanup_free_ char *u = NULL, *s = NULL;

	if (len == 0 || path[0] != '/')
		return 0;
	for (size_t i = 0; i < len;) {
		while (i < len && path[i] == '/')
			i++;
		size_t start = i;
		bool ok = true;
		while (i < len && path[i] != '/') {
			if (!cgroup_unit_char_ok(path[i]))
				ok = false;
			i++;
		}
		const char *comp = path + start;
		size_t clen = i - start;
		if (!ok || clen == 0)
			continue;
		if (cgroup_has_suffix(comp, clen, ".service") || cgroup_has_suffix(comp, clen, ".scope")) {
			unit = comp, unit_len = clen;
			unit_slice = slice, unit_slice_len = slice_len;
		} else if (cgroup_has_suffix(comp, clen, ".slice")) {
			slice = comp, slice_len = clen;
		}
	}
	if (unit) {
		slice = unit_slice;
		slice_len = unit_slice_len;
	}
	if (unit && !(u = strndup(unit, unit_len)))
		return -ENOMEM;
	if (slice && !(s = strndup(slice, slice_len)))
		return -ENOMEM;
	*ret_unit = TAKE_PTR(u);
	*ret_slice = TAKE_PTR(s);
	return 0;
}

/* Looks at the cgroup v2 line ("0::PATH") first and at the v1 "name=systemd"
 * hierarchy when v2 names nothing (hybrid and legacy hosts). Text that matches
 * neither, and the root cgroup, give NULL for both. */
int cgroup_unit(const char *cgroup, char **unit, char **slice)
{
	const char *v2 = NULL, *v1 = NULL;
	size_t v2_len = 0, v1_len = 0;
	char *u = NULL, *s = NULL;
	int r;

	if (!cgroup || !unit || !slice)
		return -EINVAL;
	for (const char *line = cgroup; *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *c1 = memchr(line, ':', (size_t)(eol - line));
		const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
		if (c2) {
			const char *ctl = c1 + 1;
			size_t ctl_len = (size_t)(c2 - ctl);
			if (ctl_len == 0 && c1 - line == 1 && line[0] == '0' && !v2) {
				v2 = c2 + 1;
				v2_len = (size_t)(eol - v2);
			} else if (!v1) {
				/* controllers are comma-separated */
				for (const char *p = ctl; p < c2;) {
					const char *comma = memchr(p, ',', (size_t)(c2 - p));
					const char *end = comma ? comma : c2;
					if ((size_t)(end - p) == 12 && memcmp(p, "name=systemd", 12) == 0) {
						v1 = c2 + 1;
						v1_len = (size_t)(eol - v1);
						break;
					}
					p = end + 1;
				}
			}
		}
		line = *eol ? eol + 1 : eol;
	}

	if (v2) {
		r = cgroup_path_unit(v2, v2_len, &u, &s);
		if (r < 0)
			return r;
	}
	if (!u && !s && v1) {
		r = cgroup_path_unit(v1, v1_len, &u, &s);
		if (r < 0)
			return r;
	}
	*unit = u;
	*slice = s;
	return 0;
}
