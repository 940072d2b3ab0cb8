/* The upload queue and one run through it.
 *
 * Policy: the local crash is the truth and is never touched by the upload
 * beyond its record's "upload" key, rewritten the way `mortem analyze`
 * rewrites a record (under the quota lock, from a fresh read, through
 * spool/<id>.json.tmp and store_replace, then the index row). An entry
 * leaves the queue only once the record, the minicore, the core (per Cores=)
 * and the day index are up; any failure keeps it, with its error. Within one
 * entry the record goes after the files it names, so that a record in the
 * bucket means its files are there; the day index goes last.
 *
 * Cores=first: the core goes up when no other crash of the same host, UTC day
 * and signature key (the signature; "exe:PATH" without one) is listed in that
 * day's index object with its core up. The index object is this host's own,
 * written by one run at a time, so reading it back is enough. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "base/json.h"
#include "base/util.h"
#include "fleet/upload.h"
#include "fleet/upload_queue.h"
#include "store/index.h"
#include "store/quota.h"
#include "store/record.h"

/* ---- names ---- */

bool upload_host_valid(const char *host)
{
	size_t n = host ? strlen(host) : 0;
	return n > 0 && n <= 253 && strcmp(host, ".") != 0 && strcmp(host, "..") != 0 &&
	       strspn(host, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

char *upload_crash_key(const char *prefix, const char *host, const char *id, const char *name)
{
	char *k = NULL;
	if (!upload_host_valid(host) || !store_id_valid(id))
		return NULL;
	if (asprintf(&k, "%s%scrashes/%s/%s/%s", prefix ? prefix : "", prefix ? "/" : "", host, id, name) < 0)
		return NULL;
	return k;
}

char *upload_index_key(const char *prefix, const char *day, const char *host)
{
	char *k = NULL;
	if (!upload_host_valid(host) || strlen(day) != 10)
		return NULL;
	if (asprintf(&k, "%s%sindex/%s/%s.json", prefix ? prefix : "", prefix ? "/" : "", day, host) < 0)
		return NULL;
	return k;
}

void upload_day(int64_t usec, char *buf, size_t len)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || strftime(buf, len, "%Y-%m-%d", &tm) == 0)
		snprintf(buf, len, "1970-01-01");
}

/* The crash's collector still holds spool/<id>.lock (as reanalyze_busy). */
static bool upload_busy(const struct store *st, const char *id)
{
	_cleanup_free_ char *p = store_path(st->spool_dir, id, ".lock");
	_cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* Set the record's "upload" to up, as `mortem analyze` replaces analysis
 * keys (store/reanalyze.c): index opened outside the lock, then under the
 * quota lock a fresh read, spool/<id>.json.tmp with the record's mode,
 * store_replace, the directory synced, the index row replaced. */
static int upload_record_set(const struct store *st, const char *id, json_object *up)
{
	_cleanup_free_ char *rec_path = store_path(st->store_dir, id, ".json"),
			    *tmp = store_path(st->spool_dir, id, ".json.tmp");
	_cleanup_json_ json_object *rec = NULL;
	_cleanup_close_ int lock = -1, fd = -1;
	sqlite3 *db = NULL;
	struct stat sb;
	int r;

	if (!rec_path || !tmp)
		return -ENOMEM;
	if (access(st->index_path, F_OK) == 0 && (r = index_open(st->index_path, &db)) < 0)
		return r;
	r = quota_lock(st, &lock);
	if (r >= 0)
		r = record_load(rec_path, &rec);
	if (r >= 0 && strcmp(record_str(rec, "id", ""), id) != 0)
		r = -EBADMSG;
	if (r >= 0 && upload_busy(st, id))
		r = -EBUSY;
	if (r >= 0 && stat(rec_path, &sb) < 0)
		r = -errno;
	if (r >= 0) {
		json_object_object_add(rec, "upload", json_object_get(up));
		(void)unlink(tmp);
		r = store_tmp_open(st, id, ".json", &fd);
	}
	if (r >= 0 && fchmod(fd, sb.st_mode & 0777) < 0)
		r = -errno;
	if (r >= 0)
		r = record_write_fd(rec, fd);
	if (r >= 0)
		r = store_replace(st, id, ".json", ".json");
	if (r < 0 && fd >= 0)
		(void)unlink(tmp);
	if (r >= 0)
		(void)fsync_dir(st->store_dir);
	if (r >= 0 && db)
		r = index_insert(db, rec, rec_path);
	if (lock >= 0)
		(void)close(TAKE_FD(lock));
	if (db)
		index_close(db);
	return r;
}

/* ---- one crash ---- */

bool upload_core_seen(json_object *crashes, const char *id, const char *sigkey)
{
	size_t n = crashes && json_object_is_type(crashes, json_type_array) ? json_object_array_length(crashes) : 0;
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(crashes, i), *v;
		if (strcmp(record_str(c, "id", ""), id) == 0 || strcmp(record_str(c, "sigkey", ""), sigkey) != 0)
			continue;
		if (json_object_object_get_ex(c, "core", &v) && json_object_get_boolean(v))
			return true;
	}
	return false;
}

/* The day index object of host and day as it is in the bucket: its crashes
 * array (a new one when there is none yet). */
static int upload_index_fetch(struct s3 *s3, const char *key, json_object **ret)
{
	_cleanup_free_ char *body = NULL;
	json_object *o = NULL, *arr;
	int r = s3_get(s3, key, UPLOAD_INDEX_MAX, &body, NULL);

	if (r == -ENOENT) {
		*ret = json_object_new_array();
		return *ret ? 0 : -ENOMEM;
	}
	if (r < 0)
		return r;
	o = json_tokener_parse(body);
	if (!o || !json_object_object_get_ex(o, "crashes", &arr) || !json_object_is_type(arr, json_type_array)) {
		/* Rebuilt from this run on: the crashes it listed are still
		 * under crashes/, only the cheap listing loses them. */
		json_object_put(o);
		*ret = json_object_new_array();
		return *ret ? 0 : -ENOMEM;
	}
	*ret = json_object_get(arr);
	json_object_put(o);
	return 0;
}

static int upload_index_entry_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	return strcmp(record_str(x, "id", ""), record_str(y, "id", ""));
}

/* crashes with id's entry added or replaced, sorted by id, PUT. */
static int upload_index_put(struct s3 *s3, const char *key, const char *host, const char *day, json_object *crashes,
			    json_object *entry, bool *ret_full)
{
	_cleanup_json_ json_object *o = json_object_new_object();
	size_t n = json_object_array_length(crashes);
	const char *id = record_str(entry, "id", "");
	bool placed = false;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n && !placed; i++)
		if (strcmp(record_str(json_object_array_get_idx(crashes, i), "id", ""), id) == 0) {
			json_object_array_put_idx(crashes, i, json_object_get(entry));
			placed = true;
		}
	*ret_full = false;
	if (!placed && n >= UPLOAD_INDEX_ENTRIES_MAX)
		*ret_full = true;
	else if (!placed)
		json_object_array_add(crashes, json_object_get(entry));
	json_object_array_sort(crashes, upload_index_entry_cmp);
	json_object_object_add(o, "host", json_object_new_string(host));
	json_object_object_add(o, "day", json_object_new_string(day));
	json_object_object_add(o, "crashes", json_object_get(crashes));
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	if (!s)
		return -ENOMEM;
	return s3_put(s3, key, s, strlen(s));
}

/* PUT store/<id><suffix> as key; bytes added to *sent. */
static int upload_file(struct s3 *s3, const struct store *st, const char *id, const char *suffix, const char *key,
		       uint64_t *sent, unsigned *ret_parts)
{
	_cleanup_free_ char *p = store_path(st->store_dir, id, suffix);
	_cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY) : -1;
	struct stat sb;
	if (!p)
		return -ENOMEM;
	if (fd < 0 || fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		snprintf(s3->error, sizeof(s3->error), "store/%s%s: cannot be read", id, suffix);
		return -ENOENT;
	}
	int r = s3_put_fd(s3, key, fd, (uint64_t)sb.st_size, ret_parts);
	if (r >= 0)
		*sent += (uint64_t)sb.st_size;
	return r;
}

static bool upload_file_exists(const struct store *st, const char *id, const char *suffix)
{
	_cleanup_free_ char *p = store_path(st->store_dir, id, suffix);
	struct stat sb;
	return p && lstat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

struct upload_one {
	char core_why[160];
	unsigned parts;
	uint64_t bytes;
};

static int upload_crash(const struct mortem_config *cfg, const struct store *st, struct s3 *s3, const char *id,
			json_object *rec, json_object *entry, json_object *up, struct upload_one *o)
{
	const char *prefix = cfg->upload_prefix, *host = record_str(rec, "hostname", "");
	const char *sig = record_str(rec, "signature", NULL);
	_cleanup_free_ char *k_rec = NULL, *k_mini = NULL, *k_core = NULL, *k_idx = NULL, *sigkey = NULL;
	_cleanup_json_ json_object *crashes = NULL, *ie = NULL, *keys = json_object_new_array(), *copy = NULL;
	int64_t t = record_i64(rec, "time_usec", 0);
	char day[16];
	bool want_core = false, full = false;
	int r;

	if (!keys)
		return -ENOMEM;
	if (!upload_host_valid(host)) {
		snprintf(s3->error, sizeof(s3->error), "hostname '%.64s' cannot be part of an object key", host);
		return -EINVAL;
	}
	upload_day(t, day, sizeof(day));
	k_rec = upload_crash_key(prefix, host, id, "record.json");
	k_mini = upload_crash_key(prefix, host, id, "mini");
	k_core = upload_crash_key(prefix, host, id, "core.zst");
	k_idx = upload_index_key(prefix, day, host);
	if (sig ? asprintf(&sigkey, "%s", sig) < 0 : asprintf(&sigkey, "exe:%s", record_str(rec, "exe", "")) < 0)
		sigkey = NULL;
	if (!k_rec || !k_mini || !k_core || !k_idx || !sigkey)
		return -ENOMEM;

	r = upload_index_fetch(s3, k_idx, &crashes);
	if (r < 0)
		return r;
	/* Which core goes (the rule is atop this file). */
	const char *dropped = record_str(entry, "core_dropped", NULL);
	if (!upload_file_exists(st, id, ".core.zst"))
		snprintf(o->core_why, sizeof(o->core_why), "no core stored");
	else if (cfg->upload_cores == CONFIG_UPLOAD_CORES_NONE)
		snprintf(o->core_why, sizeof(o->core_why), "not uploaded: Cores=none");
	else if (dropped)
		snprintf(o->core_why, sizeof(o->core_why), "dropped from the queue: %s", dropped);
	else if (cfg->upload_cores == CONFIG_UPLOAD_CORES_FIRST && upload_core_seen(crashes, id, sigkey))
		snprintf(o->core_why, sizeof(o->core_why),
			 "not uploaded: Cores=first, one of this signature is up for this host and day");
	else
		want_core = true;

	if (upload_file_exists(st, id, ".mini")) {
		r = upload_file(s3, st, id, ".mini", k_mini, &o->bytes, NULL);
		if (r < 0)
			return r;
		json_object_array_add(keys, json_object_new_string(k_mini));
	}
	if (want_core) {
		r = upload_file(s3, st, id, ".core.zst", k_core, &o->bytes, &o->parts);
		if (r < 0)
			return r;
		json_object_array_add(keys, json_object_new_string(k_core));
		snprintf(o->core_why, sizeof(o->core_why), "uploaded");
	}
	json_object_array_add(keys, json_object_new_string(k_rec));

	/* The record as it goes up says what went with it. */
	json_object_object_add(up, "status", json_object_new_string("uploaded"));
	json_object_object_add(up, "time_usec", json_object_new_int64(now_usec()));
	json_object_object_add(up, "keys", json_object_get(keys));
	json_object_object_add(up, "core", json_object_new_string(o->core_why));
	json_object_object_add(up, "error", NULL);
	if (json_object_deep_copy(rec, &copy, NULL) < 0)
		return -ENOMEM;
	json_object_object_add(copy, "upload", json_object_get(up));
	const char *body = json_object_to_json_string_ext(copy, JSON_C_TO_STRING_PRETTY);
	if (!body)
		return -ENOMEM;
	r = s3_put(s3, k_rec, body, strlen(body));
	if (r < 0)
		return r;
	o->bytes += strlen(body);

	if (!(ie = json_object_new_object()))
		return -ENOMEM;
	json_object_object_add(ie, "id", json_object_new_string(id));
	json_object_object_add(ie, "time_usec", json_object_new_int64(t));
	json_object_object_add(ie, "signature", sig ? json_object_new_string(sig) : NULL);
	json_object_object_add(ie, "sigkey", json_object_new_string(sigkey));
	json_object_object_add(ie, "slogan", json_object_new_string(record_str(rec, "slogan", "")));
	json_object_object_add(ie, "exe", json_object_new_string(record_str(rec, "exe", "")));
	json_object_object_add(ie, "comm", json_object_new_string(record_str(rec, "comm", "")));
	json_object_object_add(ie, "signal", json_object_new_int((int)record_i64(rec, "signal", 0)));
	json_object_object_add(ie, "signal_name", json_object_new_string(record_str(rec, "signal_name", "")));
	json_object_object_add(ie, "core", json_object_new_boolean(want_core));
	r = upload_index_put(s3, k_idx, host, day, crashes, ie, &full);
	if (r < 0)
		return r;
	if (full)
		json_object_object_add(up, "index", json_object_new_string("the day's index object is full: not listed"));
	return 0;
}

int upload_run(const struct mortem_config *cfg, const struct store *st, struct s3 *s3, upload_event_fn fn,
	       void *userdata, struct upload_stats *ret)
{
	_cleanup_close_ int run_lock = -1;
	struct upload_stats stats = { 0 };
	char **ids = NULL;
	size_t n = 0;
	int r;

	if (!cfg || !st || !s3)
		return -EINVAL;
	r = upload_lock(st, ".run.lock", false, &run_lock);
	if (r < 0)
		return r;
	r = upload_queue_list(st, &ids, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *rec_path = store_path(st->store_dir, ids[i], ".json");
		_cleanup_json_ json_object *rec = NULL, *entry = NULL, *up = json_object_new_object();
		struct upload_one o = { .core_why = "" };
		struct upload_event ev = { .id = ids[i] };

		if (!rec_path || !up) {
			r = -ENOMEM;
			break;
		}
		if (upload_entry_read(st, ids[i], &entry) < 0 && !(entry = json_object_new_object())) {
			r = -ENOMEM;
			break;
		}
		int rr = record_load(rec_path, &rec);
		if (rr == -ENOENT) {
			/* Removed locally (mortem rm, the vacuum): nothing to send. */
			_cleanup_close_ int ql = -1;
			if (upload_lock(st, ".queue.lock", true, &ql) >= 0)
				upload_entry_remove(st, ids[i]);
			stats.gone++;
			continue;
		}
		if (rr >= 0 && upload_busy(st, ids[i])) {
			ev.result = -EBUSY;
			stats.busy++;
			if (fn)
				fn(userdata, &ev);
			continue;
		}
		s3->error[0] = '\0';
		if (rr < 0)
			snprintf(s3->error, sizeof(s3->error), "record: %s", strerror(-rr));
		else
			rr = upload_crash(cfg, st, s3, ids[i], rec, entry, up, &o);
		ev.result = rr;
		ev.parts = o.parts;
		ev.bytes = o.bytes;
		ev.core = o.core_why;
		if (rr >= 0) {
			rr = upload_record_set(st, ids[i], up);
			if (rr < 0)
				snprintf(s3->error, sizeof(s3->error), "the local record: %s", strerror(-rr));
		}
		{
			_cleanup_close_ int ql = -1;
			if (upload_lock(st, ".queue.lock", true, &ql) >= 0) {
				if (rr >= 0) {
					upload_entry_remove(st, ids[i]);
				} else {
					json_object *a = NULL;
					int64_t att = json_object_object_get_ex(entry, "attempts", &a) ?
							      json_object_get_int64(a) : 0;
					json_object_object_add(entry, "attempts", json_object_new_int64(att + 1));
					json_object_object_add(entry, "error", json_object_new_string(s3->error));
					json_object_object_add(entry, "error_usec", json_object_new_int64(now_usec()));
					(void)upload_entry_write(st, ids[i], entry);
				}
			}
		}
		if (rr < 0) {
			char err[UPLOAD_ERROR_MAX + 1];
			size_t el = strnlen(s3->error, UPLOAD_ERROR_MAX);
			memcpy(err, s3->error, el);
			err[el] = '\0';
			_cleanup_json_ json_object *fail = json_object_new_object();
			if (fail) {
				json_object_object_add(fail, "status", json_object_new_string("queued"));
				json_object_object_add(fail, "time_usec", json_object_new_int64(now_usec()));
				json_object_object_add(fail, "keys", json_object_new_array());
				json_object_object_add(fail, "core", NULL);
				json_object_object_add(fail, "error", json_object_new_string(err));
				(void)upload_record_set(st, ids[i], fail);
			}
			ev.result = rr;
			ev.error = s3->error;
			stats.failed++;
		} else {
			stats.uploaded++;
			stats.bytes += o.bytes;
		}
		if (fn)
			fn(userdata, &ev);
	}
	upload_ids_free(ids, n);
	if (ret)
		*ret = stats;
	return r;
}
