/* Facts about the machine that go into every record: boot id, kernel release,
 * OS name, machine id. Read from root-owned files, still bounded. */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "capture/sysinfo.h"
#include "base/util.h"

#define SYSINFO_FILE_MAX 4096 /* boot_id, machine-id, os-release */

/* First line of a small system file, trimmed. */
static int sysinfo_read_line(const char *path, char **ret)
{
	_cleanup_free_ char *buf = NULL;
	size_t len;
	int r;

	r = read_file_at(AT_FDCWD, path, SYSINFO_FILE_MAX, &buf, &len, NULL);
	if (r < 0)
		return r;
	char *nl = memchr(buf, '\n', len);
	if (nl)
		len = (size_t)(nl - buf);
	while (len > 0 && isspace((unsigned char)buf[len - 1]))
		len--;
	size_t lead = 0;
	while (lead < len && isspace((unsigned char)buf[lead]))
		lead++;
	memmove(buf, buf + lead, len - lead);
	buf[len - lead] = '\0';
	*ret = TAKE_PTR(buf);
	return 0;
}

static bool sysinfo_is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* PRETTY_NAME from os-release text, with shell quoting removed. */
static int sysinfo_os_pretty_name(const char *text, char **ret)
{
	for (const char *line = text; *line;) {
		const char *eol = strchrnul(line, '\n');
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			const char *v = line + 12;
			size_t vlen = (size_t)(eol - v);
			char *out = malloc(vlen + 1), *o = out;
			if (!out)
				return -ENOMEM;
			char quote = (vlen > 0 && (*v == '"' || *v == '\'')) ? *v : 0;
			for (const char *p = quote ? v + 1 : v; p < eol; p++) {
				if (quote && *p == quote)
					break;
				if (quote == '"' && *p == '\\' && p + 1 < eol)
					p++;
				*o++ = *p;
			}
			*o = '\0';
			*ret = out;
			return 0;
		}
		line = *eol ? eol + 1 : eol;
	}
	return -ENOENT;
}

/* Set key to value, or to null with the error recorded under "errors". */
static void sysinfo_set(json_object *obj, json_object *errors, const char *key, const char *value, int err)
{
	if (value) {
		json_object_object_add(obj, key, json_object_new_string(value));
		return;
	}
	json_object_object_add(obj, key, NULL);
	json_object_object_add(errors, key, json_object_new_string(strerror(err < 0 ? -err : err)));
}

int sysinfo_capture(json_object **ret)
{
	json_object *obj = json_object_new_object(), *errors = json_object_new_object();
	struct utsname u;
	int r;

	if (!obj || !errors) {
		json_object_put(obj);
		json_object_put(errors);
		return -ENOMEM;
	}
	{
		_cleanup_free_ char *b = NULL;
		char id[33];
		size_t n = 0;
		r = sysinfo_read_line("/proc/sys/kernel/random/boot_id", &b);
		if (r >= 0) {
			/* 32 hex digits without dashes, as journald writes it */
			for (const char *p = b; *p && n < sizeof(id); p++)
				if (*p != '-')
					id[n++] = *p;
			if (n == 32 && sysinfo_is_hex(id, 32))
				id[32] = '\0';
			else
				r = -EINVAL;
		}
		sysinfo_set(obj, errors, "boot_id", r >= 0 ? id : NULL, r);
	}
	r = uname(&u) == 0 ? 0 : -errno;
	sysinfo_set(obj, errors, "kernel", r >= 0 ? u.release : NULL, r);
	{
		_cleanup_free_ char *text = NULL, *pretty = NULL;
		r = read_file_at(AT_FDCWD, "/etc/os-release", SYSINFO_FILE_MAX, &text, NULL, NULL);
		if (r == -ENOENT)
			r = read_file_at(AT_FDCWD, "/usr/lib/os-release", SYSINFO_FILE_MAX, &text, NULL, NULL);
		if (r >= 0)
			r = sysinfo_os_pretty_name(text, &pretty);
		sysinfo_set(obj, errors, "os", r >= 0 ? pretty : NULL, r);
	}
	{
		_cleanup_free_ char *m = NULL;
		r = sysinfo_read_line("/etc/machine-id", &m);
		if (r >= 0 && (strlen(m) != 32 || !sysinfo_is_hex(m, 32)))
			r = -EINVAL;
		sysinfo_set(obj, errors, "machine_id", r >= 0 ? m : NULL, r);
	}
	json_object_object_add(obj, "errors", errors);
	*ret = obj;
	return 0;
}
