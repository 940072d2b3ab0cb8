/* spool/<id>.pending: see pending.h. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "pending.h"
#include "util.h"

static const char *const pending_keys[] = {
	"id", "time", "time_usec", "pid", "uid", "signal", "signal_name", "comm", "exe", "unit", "mode",
};

int pending_write(const struct store *st, const char *id, json_object *note)
{
	_cleanup_free_ char *tmp = store_path(st->spool_dir, id, ".pending.tmp");
	_cleanup_free_ char *path = store_path(st->spool_dir, id, ".pending");
	_cleanup_close_ int fd = -1;
	json_object *o, *v;
	int r = 0;

	if (!tmp || !path)
		return -ENOMEM;
	o = json_object_new_object();
	for (size_t i = 0; i < ARRAY_SIZE(pending_keys); i++)
		if (json_object_object_get_ex(note, pending_keys[i], &v))
			json_object_object_add(o, pending_keys[i], json_object_get(v));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		r = -errno;
	if (r >= 0)
		r = write_all(fd, s, strlen(s));
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	json_object_put(o);
	return r;
}

void pending_remove(const struct store *st, const char *id)
{
	_cleanup_free_ char *path = store_path(st->spool_dir, id, ".pending");
	if (path)
		(void)unlink(path);
}
