/* The upload queue: queueing a stored crash, MaxQueue=, the entries'
 * files. See upload.h for the contract and upload.c for the transfer. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/util.h"
#include "fleet/upload.h"
#include "fleet/upload_queue.h"
#include "store/index.h"
#include "store/quota.h"
#include "store/record.h"

/* ---- the queue ---- */

static char *upload_dir(const struct store *st)
{
	return store_path(st->root, UPLOAD_DIR, "");
}

/* flock of ROOT/upload/NAME (created); blocking or not. */
int upload_lock(const struct store *st, const char *name, bool wait, int *ret_fd)
{
	_cleanup_free_ char *dir = upload_dir(st), *p = dir ? store_path(dir, name, "") : NULL;
	if (!p)
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		int r = errno == EWOULDBLOCK ? -EALREADY : -errno;
		(void)close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int upload_entry_read(const struct store *st, const char *id, json_object **ret)
{
	_cleanup_free_ char *dir = upload_dir(st), *p = dir ? store_path(dir, id, "") : NULL;
	if (!p)
		return -ENOMEM;
	return record_read_object(p, UPLOAD_ENTRY_MAX, ret);
}

/* Replace ROOT/upload/<id> atomically (a reader sees the old or the new). */
int upload_entry_write(const struct store *st, const char *id, json_object *e)
{
	_cleanup_free_ char *dir = upload_dir(st), *p = dir ? store_path(dir, id, "") : NULL,
			    *tmp = dir ? store_path(dir, id, ".tmp") : NULL;
	_cleanup_close_ int fd = -1;
	int r;

	if (!p || !tmp)
		return -ENOMEM;
	(void)unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	r = record_write_fd(e, fd);
	if (r >= 0 && rename(tmp, p) < 0)
		r = -errno;
	if (r < 0)
		(void)unlink(tmp);
	return r;
}

void upload_entry_remove(const struct store *st, const char *id)
{
	_cleanup_free_ char *dir = upload_dir(st), *p = dir ? store_path(dir, id, "") : NULL;
	if (p)
		(void)unlink(p);
}

int upload_queue_list(const struct store *st, char ***ret_ids, size_t *ret_n)
{
	_cleanup_free_ char *dir = upload_dir(st);

	if (!dir)
		return -ENOMEM;
	return store_list_ids(dir, UPLOAD_QUEUE_MAX, ret_ids, ret_n);
}

void upload_ids_free(char **ids, size_t n)
{
	store_ids_free(ids, n);
}

/* Bytes of the stored core that would go up for id (0 without one, with
 * Cores=none, or when the entry's core was dropped already). */
static uint64_t upload_core_bytes(const struct mortem_config *cfg, const struct store *st, const char *id,
				  json_object *entry)
{
	_cleanup_free_ char *p = store_path(st->store_dir, id, ".core.zst");
	struct stat sb;
	if (cfg->upload_cores == CONFIG_UPLOAD_CORES_NONE || record_str(entry, "core_dropped", NULL))
		return 0;
	return p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
}

/* MaxQueue=: oldest cores out of the queue until the rest fits. Under the
 * queue lock. */
static int upload_apply_max_queue(const struct mortem_config *cfg, const struct store *st)
{
	char **ids = NULL;
	size_t n = 0;
	uint64_t total = 0, *bytes = NULL;
	int r;

	if (cfg->upload_max_queue == 0)
		return 0;
	r = upload_queue_list(st, &ids, &n);
	if (r < 0)
		return r;
	if (n > 0 && !(bytes = calloc(n, sizeof(*bytes)))) {
		upload_ids_free(ids, n);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		_cleanup_json_ json_object *e = NULL;
		if (upload_entry_read(st, ids[i], &e) < 0)
			continue;
		bytes[i] = upload_core_bytes(cfg, st, ids[i], e);
		total += bytes[i];
	}
	for (size_t i = 0; i < n && total > cfg->upload_max_queue; i++) {
		_cleanup_json_ json_object *e = NULL;
		char why[96], lim[16];
		if (bytes[i] == 0 || upload_entry_read(st, ids[i], &e) < 0)
			continue;
		format_size(cfg->upload_max_queue, lim, sizeof(lim));
		snprintf(why, sizeof(why), "MaxQueue=%s: the cores waiting exceeded it", lim);
		json_object_object_add(e, "core_dropped", json_object_new_string(why));
		json_object_object_add(e, "core_dropped_usec", json_object_new_int64(now_usec()));
		if (upload_entry_write(st, ids[i], e) >= 0)
			total -= bytes[i];
	}
	free(bytes);
	upload_ids_free(ids, n);
	return 0;
}

int upload_enqueue(const struct mortem_config *cfg, const struct store *st, const char *id)
{
	_cleanup_json_ json_object *e = NULL;
	_cleanup_close_ int lock = -1;
	int r;

	if (!cfg || !st || !id || !store_id_valid(id))
		return -EINVAL;
	if (!cfg->upload_endpoint)
		return 0;
	r = upload_lock(st, ".queue.lock", true, &lock);
	if (r < 0)
		return r;
	if (upload_entry_read(st, id, &e) >= 0)
		return 0; /* queued already: keep its history */
	if (!(e = json_object_new_object()))
		return -ENOMEM;
	json_object_object_add(e, "id", json_object_new_string(id));
	json_object_object_add(e, "queued_usec", json_object_new_int64(now_usec()));
	json_object_object_add(e, "attempts", json_object_new_int(0));
	r = upload_entry_write(st, id, e);
	if (r < 0)
		return r;
	return upload_apply_max_queue(cfg, st);
}

/* ---- the record's "upload" key ---- */

