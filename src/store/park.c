/* spool/<id>.parked: see park.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "store/park.h"
#include "core/spill.h"
#include "store/store.h"
#include "base/util.h"

static json_object *park_args_json(const struct crash_args *a)
{
	json_object *o = json_object_new_object(), *probs = json_object_new_array();
	json_object_object_add(o, "pid", json_object_new_int64(a->pid));
	json_object_object_add(o, "uid", json_object_new_int64(a->uid));
	json_object_object_add(o, "gid", json_object_new_int64(a->gid));
	json_object_object_add(o, "signal", json_object_new_int(a->signal));
	json_object_object_add(o, "kernel_time", json_object_new_int64(a->kernel_time));
	json_object_object_add(o, "rlimit_core", json_object_new_uint64(a->rlimit_core));
	json_object_object_add(o, "has_rlimit", json_object_new_boolean(a->has_rlimit));
	json_object_object_add(o, "hostname", json_object_new_string(a->hostname));
	json_object_object_add(o, "dumpable", json_object_new_int(a->dumpable));
	for (unsigned i = 0; i < a->n_problems && i < CRASH_PROBLEMS_MAX; i++)
		json_object_array_add(probs, json_object_new_string(a->problems[i]));
	json_object_object_add(o, "problems", probs);
	return o;
}

static json_object *park_note_json(const struct crash_args *a, const struct crash_capture *cap,
				   const struct park_info *pi, bool spill)
{
	json_object *o = json_object_new_object(), *c = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "args", park_args_json(a));
	json_object_object_add(c, "t0", json_object_new_int64(cap->t0));
	json_object_object_add(c, "id", json_object_new_string(cap->id));
	json_object_object_add(c, "mode", json_object_new_string(cap->mode ? cap->mode : "socket"));
	json_object_object_add(c, "proc", json_object_get(cap->proc));
	json_object_object_add(c, "sys", json_object_get(cap->sys));
	json_object_object_add(c, "errors", json_object_get(cap->errors));
	json_object_object_add(c, "store_err", json_object_new_int(cap->store_err));
	json_object_object_add(o, "capture", c);
	json_object_object_add(o, "held_usec", json_object_new_int64(pi->held_usec));
	json_object_object_add(o, "bytes", json_object_new_uint64(pi->bytes));
	json_object_object_add(o, "pool_bytes", json_object_new_uint64(pi->pool_bytes));
	json_object_object_add(o, "spill", json_object_new_boolean(spill));
	json_object_object_add(o, "spill_err", json_object_new_int(pi->spill_err));
	json_object_object_add(o, "buffer", json_object_new_string(pi->buffer ? pi->buffer : "pool"));
	return o;
}

int park_write(const char *spool_dir, const struct crash_args *a, const struct crash_capture *cap,
	       const struct park_info *pi, const struct iovec *pre, size_t n_pre, int spill_fd)
{
	_cleanup_free_ char *pool = store_path(spool_dir, cap->id, PARK_POOL_SUFFIX);
	_cleanup_free_ char *spill = store_path(spool_dir, cap->id, PARK_SPILL_SUFFIX);
	_cleanup_free_ char *note = store_path(spool_dir, cap->id, PARK_SUFFIX);
	_cleanup_free_ char *tmp = store_path(spool_dir, cap->id, PARK_SUFFIX ".tmp");
	_cleanup_close_ int fd = -1;
	char fdpath[64];
	uint64_t off = 0;
	int r = 0;

	if (!pool || !spill || !note || !tmp)
		return -ENOMEM;
	if (!store_id_valid(cap->id))
		return -EINVAL;
	/* The pool's bytes: all-zero blocks stay holes, as in a spill. */
	fd = open(pool, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; i < n_pre && r >= 0; i++) {
		r = spill_write_sparse(fd, pre[i].iov_base, pre[i].iov_len, (off_t)off);
		off += pre[i].iov_len;
	}
	if (r >= 0 && off != pi->pool_bytes)
		r = -EINVAL;
	if (r >= 0 && (ftruncate(fd, (off_t)off) < 0 || fsync(fd) < 0))
		r = -errno;
	(void)close(TAKE_FD(fd));
	/* The spill file gets a name: no copy, and no second helping of disk. */
	if (r >= 0 && spill_fd >= 0) {
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", spill_fd);
		if (fsync(spill_fd) < 0 || linkat(AT_FDCWD, fdpath, AT_FDCWD, spill, AT_SYMLINK_FOLLOW) < 0)
			r = -errno;
	}
	/* The note last: with it, the crash is parked. */
	if (r >= 0) {
		json_object *o = park_note_json(a, cap, pi, spill_fd >= 0);
		const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			r = -errno;
		if (r >= 0 && strlen(s) > PARK_NOTE_MAX)
			r = -EFBIG;
		if (r >= 0)
			r = write_all(fd, s, strlen(s));
		if (r >= 0 && fsync(fd) < 0)
			r = -errno;
		json_object_put(o);
		if (r >= 0 && rename(tmp, note) < 0)
			r = -errno;
		if (r >= 0)
			r = fsync_dir(spool_dir);
	}
	if (r < 0) {
		(void)unlink(note);
		(void)unlink(tmp);
		(void)unlink(pool);
		if (spill_fd >= 0)
			(void)unlink(spill);
	}
	return r;
}

static bool park_get(json_object *o, const char *key, json_type t, json_object **v)
{
	return json_object_object_get_ex(o, key, v) && json_object_is_type(*v, t);
}

/* An integer member within [lo, hi]. */
static bool park_int(json_object *o, const char *key, int64_t lo, int64_t hi, int64_t *ret)
{
	json_object *v;
	if (!park_get(o, key, json_type_int, &v))
		return false;
	int64_t x = json_object_get_int64(v);
	if (x < lo || x > hi)
		return false;
	*ret = x;
	return true;
}

static bool park_u64(json_object *o, const char *key, uint64_t *ret)
{
	json_object *v;
	if (!park_get(o, key, json_type_int, &v))
		return false;
	/* json-c keeps a non-negative literal past INT64_MAX as uint64 */
	if (json_object_get_int64(v) < 0 && json_object_get_uint64(v) <= INT64_MAX)
		return false;
	*ret = json_object_get_uint64(v);
	return true;
}

static int park_parse_args(json_object *o, struct park_crash *p)
{
	struct crash_args *a = &p->args;
	json_object *v, *probs;
	int64_t x;

	memset(a, 0, sizeof(*a));
	if (!park_int(o, "pid", 0, INT32_MAX, &x))
		return -EBADMSG;
	a->pid = (pid_t)x;
	if (!park_int(o, "uid", -1, UINT32_MAX, &a->uid) || !park_int(o, "gid", -1, UINT32_MAX, &a->gid) ||
	    !park_int(o, "kernel_time", 0, INT64_MAX, &a->kernel_time) || !park_u64(o, "rlimit_core", &a->rlimit_core))
		return -EBADMSG;
	if (!park_int(o, "signal", 0, 64, &x))
		return -EBADMSG;
	a->signal = (int)x;
	if (!park_int(o, "dumpable", -1, 2, &x))
		return -EBADMSG;
	a->dumpable = (int)x;
	a->pidfd = -1;
	if (!park_get(o, "has_rlimit", json_type_boolean, &v))
		return -EBADMSG;
	a->has_rlimit = json_object_get_boolean(v);
	if (!park_get(o, "hostname", json_type_string, &v) ||
	    (size_t)json_object_get_string_len(v) >= sizeof(a->hostname))
		return -EBADMSG;
	memcpy(a->hostname, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	if (!park_get(o, "problems", json_type_array, &probs) || json_object_array_length(probs) > CRASH_PROBLEMS_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(probs); i++) {
		json_object *s = json_object_array_get_idx(probs, i);
		if (!json_object_is_type(s, json_type_string) || json_object_get_string_len(s) > 1024)
			return -EBADMSG;
		if (!(p->problem_buf[i] = strdup(json_object_get_string(s))))
			return -ENOMEM;
		a->problems[a->n_problems++] = p->problem_buf[i];
	}
	return 0;
}

static int park_parse_capture(json_object *o, const char *id, struct crash_capture *cap)
{
	static const char *const modes[] = { "pipe", "handoff", "socket" };
	json_object *v;
	int64_t x;

	if (!park_int(o, "t0", 0, INT64_MAX, &cap->t0) || !park_get(o, "id", json_type_string, &v) ||
	    strcmp(json_object_get_string(v), id) != 0)
		return -EBADMSG;
	snprintf(cap->id, sizeof(cap->id), "%s", id);
	if (!park_get(o, "mode", json_type_string, &v))
		return -EBADMSG;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (strcmp(json_object_get_string(v), modes[i]) == 0)
			cap->mode = modes[i];
	if (!cap->mode)
		return -EBADMSG;
	/* proc may be null (the capture could not read it); sys and errors not */
	if (!json_object_object_get_ex(o, "proc", &v) ||
	    (v && !json_object_is_type(v, json_type_object)))
		return -EBADMSG;
	cap->proc = json_object_get(v);
	if (!park_get(o, "sys", json_type_object, &v))
		return -EBADMSG;
	cap->sys = json_object_get(v);
	if (!park_get(o, "errors", json_type_array, &v))
		return -EBADMSG;
	cap->errors = json_object_get(v);
	if (!park_int(o, "store_err", -4095, 0, &x))
		return -EBADMSG;
	cap->store_err = (int)x;
	return 0;
}

static int park_parse(json_object *o, const char *id, struct park_crash *p)
{
	json_object *v;
	int64_t x;
	int r;

	if (!park_int(o, "version", 1, 1, &x) || !park_get(o, "args", json_type_object, &v))
		return -EBADMSG;
	if ((r = park_parse_args(v, p)) < 0)
		return r;
	if (!park_get(o, "capture", json_type_object, &v))
		return -EBADMSG;
	if ((r = park_parse_capture(v, id, &p->cap)) < 0)
		return r;
	if (!park_int(o, "held_usec", -1, INT64_MAX, &p->info.held_usec) || !park_u64(o, "bytes", &p->info.bytes) ||
	    !park_u64(o, "pool_bytes", &p->info.pool_bytes) || p->info.pool_bytes > p->info.bytes ||
	    !park_int(o, "spill_err", -4095, 0, &x))
		return -EBADMSG;
	p->info.spill_err = (int)x;
	if (!park_get(o, "buffer", json_type_string, &v))
		return -EBADMSG;
	p->info.buffer = strcmp(json_object_get_string(v), "spill") == 0 ? "spill" : "pool";
	return 0;
}

/* Open a parked file for reading: a regular file of exactly len bytes (the
 * pool's) or at least len (the spill's, padded for direct writes). */
static int park_open(const char *path, uint64_t len, bool exact, int *ret_fd)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat sb;
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0)
		return -errno;
	if (!S_ISREG(sb.st_mode) || (exact ? (uint64_t)sb.st_size != len : (uint64_t)sb.st_size < len))
		return -EBADMSG;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int park_read(const char *spool_dir, const char *id, struct park_crash *p)
{
	_cleanup_free_ char *note = store_path(spool_dir, id, PARK_SUFFIX);
	_cleanup_free_ char *pool = store_path(spool_dir, id, PARK_POOL_SUFFIX);
	_cleanup_free_ char *spill = store_path(spool_dir, id, PARK_SPILL_SUFFIX);
	_cleanup_free_ char *lock = store_path(spool_dir, id, ".lock");
	_cleanup_free_ char *buf = NULL;
	json_object *o = NULL, *v;
	size_t len;
	bool truncated;
	int r;

	memset(p, 0, sizeof(*p));
	p->cap.root_fd = p->cap.lock_fd = p->pool_fd = p->spill_fd = p->args.pidfd = -1;
	if (!note || !pool || !spill || !lock)
		return -ENOMEM;
	if (!store_id_valid(id))
		return -EINVAL;
	r = read_file_at(AT_FDCWD, note, PARK_NOTE_MAX, &buf, &len, &truncated);
	if (r < 0)
		return r;
	if (truncated || !(o = json_tokener_parse(buf)) || !json_object_is_type(o, json_type_object))
		r = -EBADMSG;
	if (r >= 0)
		r = park_parse(o, id, p);
	if (r >= 0)
		r = park_open(pool, p->info.pool_bytes, true, &p->pool_fd);
	if (r >= 0 && park_get(o, "spill", json_type_boolean, &v) && json_object_get_boolean(v))
		r = park_open(spill, p->info.bytes - p->info.pool_bytes, false, &p->spill_fd);
	else if (r >= 0 && p->info.bytes != p->info.pool_bytes && p->info.spill_err == 0)
		r = -EBADMSG; /* bytes that are nowhere */
	json_object_put(o);
	if (r == -ENOENT)
		r = -EBADMSG; /* the note is there, a file it names is not */
	/* The crash's lock, for the worker (an existing file: the note's). */
	if (r >= 0) {
		p->cap.lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (p->cap.lock_fd < 0 || flock(p->cap.lock_fd, LOCK_EX | LOCK_NB) < 0)
			r = -errno;
	}
	if (r < 0)
		park_crash_free(p);
	return r;
}

void park_crash_free(struct park_crash *p)
{
	crash_capture_free(&p->cap);
	if (p->pool_fd >= 0)
		(void)close(p->pool_fd);
	if (p->spill_fd >= 0)
		(void)close(p->spill_fd);
	p->pool_fd = p->spill_fd = -1;
	for (size_t i = 0; i < CRASH_PROBLEMS_MAX; i++) {
		free(p->problem_buf[i]);
		p->problem_buf[i] = NULL;
	}
	p->args.n_problems = 0;
}

bool park_exists(const char *spool_dir, const char *id)
{
	_cleanup_free_ char *note = store_path(spool_dir, id, PARK_SUFFIX);
	return !note || access(note, F_OK) == 0;
}

void park_remove(const char *spool_dir, const char *id)
{
	static const char *const sfx[] = { PARK_SUFFIX, PARK_SUFFIX ".tmp", PARK_POOL_SUFFIX, PARK_SPILL_SUFFIX };
	for (size_t i = 0; i < ARRAY_SIZE(sfx); i++) {
		_cleanup_free_ char *p = store_path(spool_dir, id, sfx[i]);
		if (p)
			(void)unlink(p);
	}
}

static int park_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int park_list(const char *spool_dir, char ***ret_ids, size_t *ret_n)
{
	DIR *d = opendir(spool_dir);
	char **ids = NULL;
	size_t n = 0;
	struct dirent *de;
	const size_t k = sizeof(PARK_SUFFIX) - 1;

	*ret_ids = NULL;
	*ret_n = 0;
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len <= k || len - k > STORE_ID_MAX || strcmp(de->d_name + len - k, PARK_SUFFIX) != 0)
			continue;
		char *id = strndup(de->d_name, len - k);
		char **m = id ? realloc(ids, (n + 1) * sizeof(*ids)) : NULL;
		if (!m) {
			free(id);
			break;
		}
		ids = m;
		if (store_id_valid(id))
			ids[n++] = id;
		else
			free(id);
	}
	closedir(d);
	if (n)
		qsort(ids, n, sizeof(*ids), park_cmp);
	*ret_ids = ids;
	*ret_n = n;
	return 0;
}
