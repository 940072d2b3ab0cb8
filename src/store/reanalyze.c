/* Re-analysis of a stored crash. Policy: the analysis runs outside every
 * lock, from store/<id>.mini (never from a path the record names: the record
 * is read as hostile input), with the options the collector uses, but "/" for
 * the root and no files the process had open, since the process is gone. Its
 * result replaces the record's analysis keys, and only those, under the quota
 * lock that `mortem rm` and the vacuum hold when they delete or rewrite a
 * record, from a fresh read of the record: a crash removed meanwhile stays
 * removed, a core deleted meanwhile stays deleted.
 *
 * Retention is not applied here. The collector asks quota_after_analysis
 * whether KeepPerSignature leaves room for a core it has just written; a
 * re-analysed crash's core was kept when it came, judged then (without a
 * signature, as the first of its kind), and a new signature must not make an
 * operator's request for better stacks delete a core. The signature the row
 * gets now is what the next vacuum ranks the core by, when the limits press. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "analysis/analyze.h"
#include "store/bundle.h"
#include "store/index.h"
#include "store/quota.h"
#include "store/reanalyze.h"
#include "store/record.h"
#include "base/util.h"

/* What analyze_run returns at the top level (analyze.h, unwind.h,
 * crashinfo.h), slogan and signature included. */
static const char *const reanalyze_keys[] = {
	"analysis", "modules", "modules_truncated", "vdso", "vdso_in_core", "threads", "threads_truncated",
	"frames_truncated", "threads_error", "siginfo", "slogan", "signature", "notes_error", "notes_capped",
};

bool reanalyze_is_analysis_key(const char *key)
{
	for (size_t i = 0; key && i < ARRAY_SIZE(reanalyze_keys); i++)
		if (strcmp(key, reanalyze_keys[i]) == 0)
			return true;
	return false;
}

/* The record of id at path: valid (record_load) and its own. */
static int reanalyze_load(const char *path, const char *id, json_object **ret)
{
	json_object *rec = NULL;
	int r = record_load(path, &rec);
	if (r < 0)
		return r;
	if (strcmp(record_str(rec, "id", ""), id) != 0) {
		json_object_put(rec);
		return -EBADMSG;
	}
	*ret = rec;
	return 0;
}

/* Its collector still holds spool/<id>.lock: it may write the record again. */
static bool reanalyze_busy(const struct store *st, const char *id)
{
	_cleanup_free_ char *p = store_path(st->spool_dir, id, ".lock");
	_cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* The record says it has a minicore, and store/<id>.mini is a regular file. */
static int reanalyze_minicore(json_object *rec, const char *mini_path)
{
	json_object *mini = record_obj(rec, "minicore");
	struct stat sb;

	if (!mini || !record_str(mini, "path", NULL))
		return -ENODATA;
	if (lstat(mini_path, &sb) < 0)
		return errno == ENOENT ? -ENODATA : -errno;
	return S_ISREG(sb.st_mode) ? 0 : -ENODATA;
}

/* The new analysis.status as a static string. */
static const char *reanalyze_status(json_object *res)
{
	const char *s = record_str(record_obj(res, "analysis"), "status", "");
	return strcmp(s, "ok") == 0 ? "ok" : strcmp(s, "skipped") == 0 ? "skipped" : "failed";
}

void reanalyze_put_analysis(json_object *out, json_object *res, const char *sig)
{
	if (res) {
		json_object_object_foreach(res, key, val)
			if (reanalyze_is_analysis_key(key))
				json_object_object_add(out, key, json_object_get(val));
	}
	if (!json_object_object_get_ex(out, "slogan", NULL))
		json_object_object_add(out, "slogan", json_object_new_string(sig ? sig : "unknown signal"));
	if (!json_object_object_get_ex(out, "signature", NULL))
		json_object_object_add(out, "signature", NULL);
}

/* A new record: rec's keys in their order, its analysis keys replaced by
 * res's where the first of them was. As collect_record, a signal the record
 * does not know is taken from the core's siginfo. NULL without memory. */
static json_object *reanalyze_merge(json_object *rec, json_object *res)
{
	json_object *out = json_object_new_object(), *v;
	int64_t signo = record_i64(rec, "signal", 0), si_signo = 0;
	bool placed = false, from_siginfo = false;

	if (!out)
		return NULL;
	json_object *si = record_obj(res, "siginfo");
	if (si && json_object_object_get_ex(si, "signo", &v) && json_object_is_type(v, json_type_int))
		si_signo = json_object_get_int64(v);
	if (signo <= 0 && si_signo >= 1 && si_signo <= 64) {
		signo = si_signo;
		from_siginfo = true;
	}
	const char *sig = signo > 0 && signo <= 64 ? signal_name((int)signo) : NULL;
	json_object_object_foreach(rec, key, val) {
		if (!reanalyze_is_analysis_key(key)) {
			json_object_object_add(out, key, json_object_get(val));
			continue;
		}
		if (!placed)
			reanalyze_put_analysis(out, res, sig);
		placed = true;
	}
	if (!placed)
		reanalyze_put_analysis(out, res, sig);
	if (from_siginfo) {
		json_object_object_add(out, "signal", json_object_new_int((int)signo));
		json_object_object_add(out, "signal_name", json_object_new_string(sig ? sig : "unknown"));
	}
	return out;
}

/* Write rec as store/<id>.json through spool/<id>.json.tmp, with the mode of
 * the record it replaces (records are root's only). Under the quota lock,
 * with no collector at work on id: a temp file of that name is a leftover of
 * a re-analysis that died. */
static int reanalyze_write(const struct store *st, const char *id, const char *rec_path, json_object *rec)
{
	_cleanup_free_ char *tmp = store_path(st->spool_dir, id, ".json.tmp");
	_cleanup_close_ int fd = -1;
	struct stat sb;
	int r;

	if (!tmp)
		return -ENOMEM;
	if (stat(rec_path, &sb) < 0)
		return -errno;
	(void)unlink(tmp);
	r = store_tmp_open(st, id, ".json", &fd);
	if (r < 0)
		return r;
	if (fchmod(fd, sb.st_mode & 0777) < 0)
		r = -errno;
	if (r >= 0)
		r = record_write_fd(rec, fd);
	if (r >= 0)
		r = store_replace(st, id, ".json", ".json");
	if (r < 0) {
		(void)unlink(tmp);
		return r;
	}
	(void)fsync_dir(st->store_dir);
	return 0;
}

/* Under the quota lock: the record as it is now, with res merged in, replaces
 * the file, then the index row. */
static int reanalyze_replace(const struct store *st, const char *id, const char *rec_path, json_object *res)
{
	_cleanup_json_ json_object *rec = NULL, *out = NULL;
	_cleanup_close_ int lock = -1;
	sqlite3 *db = NULL;
	int r;

	/* Opened outside the lock, as the others do; a missing index is not
	 * created with this one row: whoever creates it rebuilds it from the
	 * records. */
	if (access(st->index_path, F_OK) == 0 && (r = index_open(st->index_path, &db)) < 0)
		return r;
	r = quota_lock(st, &lock);
	if (r >= 0)
		r = reanalyze_load(rec_path, id, &rec);
	if (r >= 0 && reanalyze_busy(st, id))
		r = -EBUSY;
	if (r >= 0 && !(out = reanalyze_merge(rec, res)))
		r = -ENOMEM;
	if (r >= 0)
		r = reanalyze_write(st, id, rec_path, out);
	if (r >= 0 && db)
		r = index_insert(db, out, rec_path);
	if (lock >= 0)
		(void)close(TAKE_FD(lock));
	if (db)
		index_close(db);
	return r;
}

int reanalyze_crash(const struct mortem_config *cfg, const struct store *st, const char *id,
		    const volatile sig_atomic_t *cut, const char **ret_status)
{
	_cleanup_free_ char *rec_path = NULL, *mini_path = NULL, *cache = NULL;
	_cleanup_json_ json_object *names = NULL, *res = NULL;
	_cleanup_close_ int sysroot = -1;
	int r;

	if (!cfg || !st || !id || !ret_status || !store_id_valid(id))
		return -EINVAL;
	rec_path = store_path(st->store_dir, id, ".json");
	mini_path = store_path(st->store_dir, id, ".mini");
	if (!rec_path || !mini_path)
		return -ENOMEM;
	{
		_cleanup_json_ json_object *rec = NULL;
		r = reanalyze_load(rec_path, id, &rec);
		if (r >= 0)
			r = reanalyze_minicore(rec, mini_path);
		if (r < 0)
			return r;
		/* The threads' names the capture took, kept without the rest:
		 * the analysis child inherits what this process holds. */
		json_object *proc = record_obj(rec, "proc"), *t = NULL;
		if (proc && json_object_object_get_ex(proc, "threads", &t) && json_object_is_type(t, json_type_array))
			names = json_object_get(t);
		/* An imported crash (mortem import): its modules are in its
		 * sysroot, not in this host's paths. */
		if (record_obj(rec, "import"))
			sysroot = bundle_sysroot_open(st, id);
	}
	if (reanalyze_busy(st, id))
		return -EBUSY;

	/* As collect_analyze, with the host's root for the binaries. */
	if (cfg->debuginfod_urls && !(cache = store_path(st->root, "debuginfod", "")))
		return -ENOMEM;
	struct analyze_opts ao = {
		.timeout_ms = (unsigned)cfg->analysis_timeout_sec * 1000u, .max_as = cfg->analysis_max_memory,
		.sysroot_fd = sysroot >= 0 ? sysroot : -1, .thread_names = names,
		.debuginfod_urls = cfg->debuginfod_urls, .debuginfod_cache = cache,
		.debuginfod_timeout = (unsigned)cfg->debuginfod_timeout_sec, .cut = cut,
	};
	r = analyze_run(mini_path, &ao, &res);
	if (r < 0)
		return r;
	const char *status = reanalyze_status(res);
	if (cut && *cut && strcmp(status, "ok") != 0)
		return -EINTR;
	json_object *an = record_obj(res, "analysis");
	if (!an)
		return -EBADMSG;
	json_object_object_add(an, "reanalyzed_usec", json_object_new_int64(now_usec()));

	r = reanalyze_replace(st, id, rec_path, res);
	if (r < 0)
		return r;
	reanalyze_unmark(st, id);
	*ret_status = status;
	return 0;
}

#define REANALYZE_DIR "reanalyze" /* ROOT/reanalyze/<id>: marks */

int reanalyze_mark(const struct store *st, const char *id)
{
	_cleanup_free_ char *dir = NULL, *p = NULL;

	if (!st || !id || !store_id_valid(id))
		return -EINVAL;
	if (!(dir = store_path(st->root, REANALYZE_DIR, "")) || !(p = store_path(dir, id, "")))
		return -ENOMEM;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	(void)close(fd);
	return 0;
}

void reanalyze_unmark(const struct store *st, const char *id)
{
	_cleanup_free_ char *dir = NULL, *p = NULL;

	if (!st || !id || !store_id_valid(id))
		return;
	if ((dir = store_path(st->root, REANALYZE_DIR, "")) && (p = store_path(dir, id, "")))
		(void)unlink(p);
}

int reanalyze_list(const struct store *st, char ***ret_ids, size_t *ret_n)
{
	_cleanup_free_ char *dir = NULL;

	if (!st || !ret_ids || !ret_n)
		return -EINVAL;
	if (!(dir = store_path(st->root, REANALYZE_DIR, "")))
		return -ENOMEM;
	return store_list_ids(dir, SIZE_MAX, ret_ids, ret_n);
}
