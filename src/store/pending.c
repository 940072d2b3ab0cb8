/* spool/<id>.pending: see pending.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "base/parse.h"
#include "store/park.h"
#include "store/pending.h"
#include "store/record.h"
#include "base/util.h"

static const char *const pending_keys[] = {
	"id",	"time",	   "time_usec", "pid",	   "uid",  "gid",  "signal",		"signal_name",
	"comm", "exe",	   "cmdline",	"hostname", "boot_id", "unit", "mode", "cmdline_truncated",
};

/* The command line cut at PENDING_CMDLINE_MAX bytes, not inside a UTF-8
 * character: a note stays far below PENDING_NOTE_MAX whatever ran. */
static void pending_cap_cmdline(json_object *o)
{
	json_object *v = NULL;
	if (!json_object_object_get_ex(o, "cmdline", &v) || !json_object_is_type(v, json_type_string) ||
	    (size_t)json_object_get_string_len(v) <= PENDING_CMDLINE_MAX)
		return;
	const char *s = json_object_get_string(v);
	size_t n = PENDING_CMDLINE_MAX;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	json_object_object_add(o, "cmdline", json_object_new_string_len(s, (int)n));
	json_object_object_add(o, "cmdline_truncated", json_object_new_boolean(true));
}

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
	pending_cap_cmdline(o);
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

/* "<id>.pending" -> id, when id is valid. */
static bool pending_note_id(const char *name, char *id, size_t len)
{
	static const char sfx[] = ".pending";
	size_t n = strlen(name), k = sizeof(sfx) - 1;

	if (n <= k || strcmp(name + n - k, sfx) != 0 || n - k >= len)
		return false;
	memcpy(id, name, n - k);
	id[n - k] = '\0';
	return store_id_valid(id);
}

/* Read spool/<id>.pending into a note of the known keys, each of the right
 * type (strings may be null); the id must be the file's, time_usec a
 * non-negative integer. -EFBIG over PENDING_NOTE_MAX, -EBADMSG when malformed. */
static int pending_read(const struct store *st, const char *id, json_object **ret)
{
	static const char *const strs[] = { "time", "signal_name", "comm", "exe", "cmdline", "hostname", "boot_id",
					    "unit", "mode" };
	static const char *const ints[] = { "pid", "uid", "gid", "signal" };
	_cleanup_free_ char *path = store_path(st->spool_dir, id, ".pending");
	json_object *raw = NULL, *o, *v;
	int r;

	if (!path)
		return -ENOMEM;
	r = record_read_object(path, PENDING_NOTE_MAX, &raw);
	if (r == -EINVAL || r == -EISDIR)
		return -EBADMSG;
	if (r < 0)
		return r;
	bool ok = true;
	if (ok && (!json_object_object_get_ex(raw, "id", &v) || !json_object_is_type(v, json_type_string) ||
		   strcmp(json_object_get_string(v), id) != 0))
		ok = false;
	if (ok && (!json_object_object_get_ex(raw, "time_usec", &v) || !json_object_is_type(v, json_type_int) ||
		   json_object_get_int64(v) < 0))
		ok = false;
	if (!ok) {
		json_object_put(raw);
		return -EBADMSG;
	}
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "time_usec", json_object_new_int64(json_object_get_int64(v)));
	for (size_t i = 0; i < ARRAY_SIZE(strs); i++)
		if (json_object_object_get_ex(raw, strs[i], &v) && (!v || json_object_is_type(v, json_type_string)))
			json_object_object_add(o, strs[i], json_object_get(v));
	for (size_t i = 0; i < ARRAY_SIZE(ints); i++)
		if (json_object_object_get_ex(raw, ints[i], &v) && json_object_is_type(v, json_type_int))
			json_object_object_add(o, ints[i], json_object_new_int64(json_object_get_int64(v)));
	if (json_object_object_get_ex(raw, "cmdline_truncated", &v) && json_object_is_type(v, json_type_boolean))
		json_object_object_add(o, "cmdline_truncated", json_object_new_boolean(json_object_get_boolean(v)));
	json_object_put(raw);
	*ret = o;
	return 0;
}

/* Someone holds spool/<id>.lock: the note is live. A probe that gets the lock
 * drops it again at once (close). */
static bool pending_lock_held(const struct store *st, const char *id)
{
	_cleanup_free_ char *p = store_path(st->spool_dir, id, ".lock");
	_cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK) : -1;
	return fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

static int pending_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	int64_t tx = record_i64(x, "time_usec", 0), ty = record_i64(y, "time_usec", 0);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(record_str(x, "id", ""), record_str(y, "id", ""));
}

int pending_list(const struct store *st, json_object **ret_array)
{
	DIR *d = opendir(st->spool_dir);
	struct dirent *de;
	json_object *arr;

	if (!d && errno != ENOENT)
		return -errno;
	arr = json_object_new_array();
	if (!arr) {
		if (d)
			closedir(d);
		return -ENOMEM;
	}
	while (d && (de = readdir(d))) {
		char id[STORE_ID_MAX + 1];
		json_object *note = NULL;
		/* The note first: a lock without one is not a pending crash. */
		if (!pending_note_id(de->d_name, id, sizeof(id)) || pending_read(st, id, &note) < 0)
			continue;
		bool parked = park_exists(st->spool_dir, id);
		if (parked)
			json_object_object_add(note, "parked", json_object_new_boolean(true));
		if (parked || pending_lock_held(st, id))
			json_object_array_add(arr, note);
		else
			json_object_put(note);
	}
	if (d)
		closedir(d);
	json_object_array_sort(arr, pending_cmp);
	*ret_array = arr;
	return 0;
}

static bool pending_all_digits(const char *s)
{
	size_t n = strspn(s, "0123456789");
	return n > 0 && n <= 18 && s[n] == '\0';
}

bool pending_has_pid(json_object *notes, const char *match)
{
	int64_t pid;

	if (!match || !pending_all_digits(match) || parse_i64(match, &pid) < 0)
		return false;
	for (size_t i = 0; i < json_object_array_length(notes); i++)
		if (record_i64(json_object_array_get_idx(notes, i), "pid", -1) == pid)
			return true;
	return false;
}

bool pending_match(json_object *note, const struct index_filter *f, bool by_pid)
{
	int64_t t = record_i64(note, "time_usec", 0), pid;
	const char *id = record_str(note, "id", ""), *m = f ? f->match : NULL;

	if (f && ((f->since_usec && t < f->since_usec) || (f->until_usec && t > f->until_usec)))
		return false;
	if (!m || !*m || strcmp(id, m) == 0)
		return true;
	if (by_pid)
		return pending_all_digits(m) && parse_i64(m, &pid) >= 0 && record_i64(note, "pid", -1) == pid;
	if (strncmp(id, m, strlen(m)) == 0)
		return true;
	return strcmp(record_str(note, strchr(m, '/') ? "exe" : "comm", ""), m) == 0;
}

/* The record of a crash that was never stored: the contract's keys from the
 * note, the rest empty or unknown, the core "lost". */
static json_object *pending_lost_record(json_object *note, int64_t now)
{
	json_object *rec = json_object_new_object(), *core = json_object_new_object();
	json_object *mini = json_object_new_object(), *coll = json_object_new_object();
	int64_t t = record_i64(note, "time_usec", 0), sig = record_i64(note, "signal", 0);
	int64_t pid = record_i64(note, "pid", 0), uid = record_i64(note, "uid", -1), gid = record_i64(note, "gid", -1);
	const char *sname = record_str(note, "signal_name", NULL);
	char tbuf[40], host[256] = "", slogan[160];

	if (!sname)
		sname = sig > 0 && sig <= INT32_MAX && signal_name((int)sig) ? signal_name((int)sig) : "";
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	format_rfc3339(t, tbuf, sizeof(tbuf));
	snprintf(slogan, sizeof(slogan), "%s%slost: never stored", sname, *sname ? ", " : "");
	json_object_object_add(rec, "id", json_object_new_string(record_str(note, "id", "")));
	json_object_object_add(rec, "time", json_object_new_string(tbuf));
	json_object_object_add(rec, "time_usec", json_object_new_int64(t));
	json_object_object_add(rec, "pid", json_object_new_int64(pid >= 0 ? pid : 0));
	json_object_object_add(rec, "uid", json_object_new_int64(uid >= -1 ? uid : -1));
	json_object_object_add(rec, "gid", json_object_new_int64(gid >= -1 ? gid : -1));
	json_object_object_add(rec, "signal", json_object_new_int64(sig >= 0 ? sig : 0));
	json_object_object_add(rec, "signal_name", json_object_new_string(sname));
	json_object_object_add(rec, "comm", json_object_new_string(record_str(note, "comm", "")));
	json_object_object_add(rec, "exe", json_object_new_string(record_str(note, "exe", "")));
	json_object_object_add(rec, "cmdline", json_object_new_string(record_str(note, "cmdline", "")));
	/* The note's (the crashed process's hostname); an older note has none:
	 * the spool is local, the crash happened on this host. */
	json_object_object_add(rec, "hostname", json_object_new_string(record_str(note, "hostname", host)));
	json_object_object_add(rec, "boot_id", json_object_new_string(record_str(note, "boot_id", "")));
	const char *unit = record_str(note, "unit", NULL);
	json_object_object_add(rec, "unit", unit ? json_object_new_string(unit) : NULL);
	json_object_object_add(rec, "slogan", json_object_new_string(slogan));
	json_object_object_add(rec, "signature", NULL);
	json_object_object_add(core, "status", json_object_new_string("lost"));
	json_object_object_add(core, "reason", json_object_new_string(PENDING_LOST_REASON));
	json_object_object_add(core, "size", json_object_new_int64(0));
	json_object_object_add(core, "stored_size", json_object_new_int64(0));
	json_object_object_add(core, "path", NULL);
	json_object_object_add(rec, "core", core);
	json_object_object_add(mini, "path", NULL);
	json_object_object_add(mini, "error", json_object_new_string("not written: the crash was lost"));
	json_object_object_add(rec, "minicore", mini);
	json_object_object_add(coll, "mode", json_object_new_string(record_str(note, "mode", "unknown")));
	json_object_object_add(coll, "recovered_usec", json_object_new_int64(now));
	json_object_object_add(rec, "collector", coll);
	json_object_object_add(rec, "errors", json_object_new_array());
	return rec;
}

/* Take the lock of a note that outlived its collector and hold it while the
 * crash is recorded, so that two recoveries never race on one record. A note
 * without a lock file (a collector creates the lock before the note) gets a
 * new lock, once it is not brand new. 1 taken, 0 not to be recovered. */
static int pending_take(const struct store *st, const char *id, int *ret_fd)
{
	_cleanup_free_ char *lock = store_path(st->spool_dir, id, ".lock");
	_cleanup_free_ char *note = store_path(st->spool_dir, id, ".pending");
	_cleanup_close_ int fd = -1;
	struct stat sb;

	if (!lock || !note)
		return -ENOMEM;
	if (park_exists(st->spool_dir, id))
		return 0;
	if (access(lock, F_OK) < 0 && errno == ENOENT) {
		if (stat(note, &sb) < 0 || time(NULL) - sb.st_mtime < STORE_STALE_LOCK_SEC)
			return 0;
		return store_lock(st, id, ret_fd) >= 0 ? 1 : 0;
	}
	if (!store_lock_abandoned(st, id))
		return 0;
	fd = open(lock, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
		return 0;
	*ret_fd = TAKE_FD(fd);
	return 1;
}

/* Write and publish store/<id>.json from rec: never over an existing one. */
static int pending_publish(const struct store *st, const char *id, json_object *rec)
{
	_cleanup_free_ char *tmp = store_path(st->spool_dir, id, ".json.tmp");
	_cleanup_close_ int fd = -1;
	int r;

	if (!tmp)
		return -ENOMEM;
	/* A half-written record of the dead collector: nobody writes it now. */
	(void)unlink(tmp);
	r = store_tmp_open(st, id, ".json", &fd);
	if (r < 0)
		return r;
	r = record_write_fd(rec, fd);
	if (r >= 0)
		r = store_publish(st, id, ".json");
	if (r < 0)
		(void)unlink(tmp);
	else
		(void)fsync_dir(st->store_dir);
	return r;
}

/* 1 when id was recorded as lost, 0 when it was not to be (live, recorded
 * already, malformed), negative errno on failure. */
static int pending_recover_one(const struct store *st, sqlite3 *db, const char *id, int64_t now)
{
	static const char *const orphans[] = { ".core.zst", ".mini" };
	_cleanup_free_ char *rp = store_path(st->store_dir, id, ".json");
	_cleanup_close_ int lock = -1;
	json_object *note = NULL, *rec;
	int r;

	if (!rp)
		return -ENOMEM;
	r = pending_take(st, id, &lock);
	if (r <= 0)
		return r;
	if (access(rp, F_OK) == 0) {
		/* Published: store_clean_spool indexes it and discards the rest. */
		pending_remove(st, id);
		return 0;
	}
	/* A malformed note is left to store_clean_spool, with the lock. */
	if (pending_read(st, id, &note) < 0)
		return 0;
	/* Files published before the record: a crash without a record never had
	 * them (store_clean_spool removes them too), and the lost record has none. */
	for (size_t i = 0; i < ARRAY_SIZE(orphans); i++) {
		_cleanup_free_ char *p = store_path(st->store_dir, id, orphans[i]);
		if (p)
			(void)unlink(p);
	}
	rec = pending_lost_record(note, now);
	json_object_put(note);
	r = pending_publish(st, id, rec);
	if (r >= 0 && db)
		(void)index_insert(db, rec, rp); /* the record is the truth: reindex adds it */
	json_object_put(rec);
	if (r == -EEXIST)
		return 0;
	if (r < 0)
		return r;
	/* The note, the lock and the dead collector's temp files. */
	store_discard(st, id);
	return 1;
}

int pending_recover(const struct store *st, sqlite3 *db)
{
	DIR *d = opendir(st->spool_dir);
	struct dirent *de;
	int64_t now = now_usec();
	int n = 0, r = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char id[STORE_ID_MAX + 1];
		if (!pending_note_id(de->d_name, id, sizeof(id)))
			continue;
		int k = pending_recover_one(st, db, id, now);
		if (k > 0)
			n++;
		else if (k < 0 && r == 0)
			r = k;
	}
	closedir(d);
	return n > 0 || r == 0 ? n : r;
}

static bool pending_is_pid(int64_t pid, const char *match)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", (long long)pid);
	return strcmp(buf, match) == 0;
}

json_object *pending_select(const struct store *st, const struct index_filter *f, struct index_row **rows,
			    size_t *n)
{
	json_object *all = NULL, *sel = json_object_new_array();
	bool by_pid = false;

	if (pending_list(st, &all) < 0)
		return sel;
	for (size_t i = 0; f->match && i < *n && !by_pid; i++)
		by_pid = pending_is_pid((*rows)[i].pid, f->match);
	if (f->match && !by_pid && pending_has_pid(all, f->match)) {
		index_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		by_pid = true;
	}
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		json_object *o = json_object_array_get_idx(all, i);
		bool stored = false;
		for (size_t k = 0; k < *n && !stored; k++)
			stored = strcmp((*rows)[k].id, record_str(o, "id", "")) == 0;
		if (!stored && pending_match(o, f, by_pid))
			json_object_array_add(sel, json_object_get(o));
	}
	json_object_put(all);
	return sel;
}

int pending_wait(const struct store *st, const char *id, int64_t usec, int64_t poll_usec)
{
	_cleanup_free_ char *rp = store_path(st->store_dir, id, ".json");
	_cleanup_free_ char *np = store_path(st->spool_dir, id, ".pending");
	int64_t end = now_usec() + usec;

	if (!rp || !np)
		return -ENOMEM;
	for (;;) {
		/* The note first: gone, the record must be there by now. */
		bool noted = access(np, F_OK) == 0;
		if (access(rp, F_OK) == 0)
			return 1;
		if (!noted)
			return -ENOENT;
		if (now_usec() >= end)
			return 0;
		(void)usleep((useconds_t)poll_usec);
	}
}
