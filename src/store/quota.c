/* The doing side of the retention policy. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "store/quota.h"
#include "store/record.h"
#include "base/util.h"

int quota_lock(const struct store *st, int *ret_fd)
{
	_cleanup_free_ char *p = store_path(st->root, "quota", ".lock");
	if (!p)
		return -ENOMEM;
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			(void)close(fd);
			return r;
		}
	}
	*ret_fd = fd;
	return 0;
}

/* A reservation whose collector is gone will never be released by it. */
static bool quota_pid_alive(pid_t pid)
{
	return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM);
}

/* The reservations of collectors still writing (their rows are not published
 * yet): in flight bytes, how many, and the rate-limit times of exe/unit.
 * Abandoned ones are dropped. times has room for every reservation. */
static int quota_load_reservations(sqlite3 *db, const char *exe, const char *unit, const struct policy_owner *owner,
				   struct quota_view *v, int64_t **times, size_t *ntimes)
{
	struct index_reservation *res = NULL;
	size_t nres = 0;
	int r = index_reservations(db, &res, &nres);
	if (r < 0)
		return r;
	int64_t *t = realloc(*times, (*ntimes + nres + 1) * sizeof(*t));
	if (!t) {
		index_reservations_free(res, nres);
		return -ENOMEM;
	}
	*times = t;
	for (size_t i = 0; i < nres; i++) {
		if (!quota_pid_alive(res[i].pid)) {
			(void)index_unreserve(db, res[i].id);
			continue;
		}
		v->state.in_flight += res[i].bytes;
		v->writing++;
		bool same = unit ? (res[i].unit && strcmp(res[i].unit, unit) == 0)
				 : (exe && res[i].exe && strcmp(res[i].exe, exe) == 0);
		if (same && owner)
			same = res[i].has_owner && policy_owner_eq(&res[i].owner, owner);
		if (same)
			t[(*ntimes)++] = res[i].time_usec;
	}
	index_reservations_free(res, nres);
	return 0;
}

static void quota_fs(const struct store *st, struct quota_view *v)
{
	struct statvfs sv;
	if (statvfs(st->root, &sv) == 0) {
		v->state.usage.fs_free = (uint64_t)sv.f_bavail * sv.f_frsize;
		v->fs_size = (uint64_t)sv.f_blocks * sv.f_frsize;
	}
}

/* owner NULL: the rate-limit times of anyone's exe/unit (quota_view_load). */
static int quota_view_load_rows(const struct store *st, sqlite3 *db, const struct index_filter *f, const char *exe,
				const char *unit, const struct policy_owner *owner, struct quota_view *v);

static int quota_view_load_owner(const struct store *st, sqlite3 *db, const char *exe, const char *unit,
				 const struct policy_owner *owner, struct quota_view *v)
{
	struct index_filter f = { 0 };

	return quota_view_load_rows(st, db, &f, exe, unit, owner, v);
}

/* The view over the rows f selects; usage.store_used sums those rows only. */
static int quota_view_load_rows(const struct store *st, sqlite3 *db, const struct index_filter *f, const char *exe,
				const char *unit, const struct policy_owner *owner, struct quota_view *v)
{
	size_t nrate = 0;
	int r;

	memset(v, 0, sizeof(*v));
	r = index_query(db, f, &v->rows, &v->n_rows);
	if (r < 0)
		return r;
	v->entries = calloc(v->n_rows ? v->n_rows : 1, sizeof(*v->entries));
	v->rate_times = calloc(v->n_rows + 1, sizeof(*v->rate_times));
	if (!v->entries || !v->rate_times) {
		r = -ENOMEM;
		goto fail;
	}
	uint64_t used = 0;
	for (size_t i = 0; i < v->n_rows; i++) {
		const struct index_row *w = &v->rows[i];
		uint64_t core = w->core_path ? w->stored_size : 0;
		v->entries[i] = (struct policy_entry){
			.id = w->id, .exe = w->exe, .signature = w->signature, .time_usec = w->time_usec,
			.core_bytes = core, .record_bytes = w->mini_size + w->record_size,
			.owner = { .uid = w->uid, .user_unit = w->user_unit, .slice = w->slice },
		};
		used += core + w->mini_size + w->record_size;
		bool same = unit ? (w->unit && strcmp(w->unit, unit) == 0)
				 : (exe && w->exe && strcmp(w->exe, exe) == 0);
		if (same && owner)
			same = policy_owner_eq(&v->entries[i].owner, owner);
		if (same && core > 0)
			v->rate_times[nrate++] = w->time_usec;
	}
	r = quota_load_reservations(db, exe, unit, owner, v, &v->rate_times, &nrate);
	if (r < 0)
		goto fail;
	quota_fs(st, v);
	v->state.usage.store_used = used;
	v->state.entries = v->entries;
	v->state.n_entries = v->n_rows;
	v->state.rate_times = v->rate_times;
	v->state.n_rate_times = nrate;
	return 0;
fail:
	quota_view_free(v);
	return r;
}

int quota_view_load(const struct store *st, sqlite3 *db, const char *exe, const char *unit, struct quota_view *v)
{
	return quota_view_load_owner(st, db, exe, unit, NULL, v);
}

/* The same state without the entries, from SQL sums and the rate window: what
 * a decision needs unless the store is over its limits (the entries only tell
 * what could be freed). O(window), not O(store). */
static int quota_view_load_light(const struct store *st, sqlite3 *db, const char *exe, const char *unit,
				 const struct policy_owner *owner, int64_t since_usec, struct quota_view *v)
{
	size_t nrate = 0;
	int r;

	memset(v, 0, sizeof(*v));
	r = index_usage(db, &v->state.usage.store_used);
	if (r >= 0 && (exe || unit))
		r = index_core_times_owner(db, exe, unit, owner, since_usec, &v->rate_times, &nrate);
	if (r >= 0)
		r = quota_load_reservations(db, exe, unit, owner, v, &v->rate_times, &nrate);
	if (r < 0) {
		quota_view_free(v);
		return r;
	}
	quota_fs(st, v);
	v->state.rate_times = v->rate_times;
	v->state.n_rate_times = nrate;
	return 0;
}

void quota_view_free(struct quota_view *v)
{
	index_rows_free(v->rows, v->n_rows);
	free(v->entries);
	free(v->rate_times);
	memset(v, 0, sizeof(*v));
}

int quota_mark_core(const struct store *st, sqlite3 *db, const char *id, const char *status, const char *reason)
{
	_cleanup_free_ char *rp = store_path(st->store_dir, id, ".json");
	_cleanup_close_ int fd = -1;
	json_object *rec = NULL;
	int r;

	if (!rp)
		return -ENOMEM;
	r = record_load(rp, &rec);
	if (r < 0)
		return r;
	json_object *core = record_obj(rec, "core");
	json_object_object_add(core, "status", json_object_new_string(status));
	json_object_object_add(core, "reason", json_object_new_string(reason));
	json_object_object_add(core, "path", NULL);
	json_object_object_add(core, "stored_size", json_object_new_int(0));
	/* A unique temp name: the record's own collector may still hold
	 * spool/<id>.json.tmp. */
	char sfx[48];
	snprintf(sfx, sizeof(sfx), ".json.q%d", (int)getpid());
	r = store_tmp_open(st, id, sfx, &fd);
	if (r >= 0)
		r = record_write_fd(rec, fd);
	if (r >= 0)
		r = store_replace(st, id, sfx, ".json");
	if (r < 0) {
		_cleanup_free_ char *tmp = NULL;
		char name[64];
		snprintf(name, sizeof(name), "%s.tmp", sfx);
		if ((tmp = store_path(st->spool_dir, id, name)))
			(void)unlink(tmp);
	} else if (db) {
		r = index_insert(db, rec, rp);
	}
	json_object_put(rec);
	return r;
}

static uint64_t quota_unlink(const char *dir, const char *id, const char *sfx)
{
	_cleanup_free_ char *p = store_path(dir, id, sfx);
	struct stat sb;
	if (!p || lstat(p, &sb) < 0 || unlink(p) < 0)
		return 0;
	return (uint64_t)sb.st_size;
}

int quota_apply(const struct store *st, sqlite3 *db, const struct policy_action *a, size_t n, uint64_t *ret_freed)
{
	uint64_t freed = 0;
	int done = 0;

	for (size_t i = 0; i < n; i++) {
		const char *id = a[i].id;
		if (!store_id_valid(id))
			continue;
		if (a[i].what == POLICY_DELETE_CORE) {
			uint64_t b = quota_unlink(st->store_dir, id, ".core.zst");
			char why[160];
			snprintf(why, sizeof(why), "deleted by the retention policy: %s", a[i].reason);
			if (quota_mark_core(st, db, id, "deleted", why) >= 0 || b > 0) {
				freed += b;
				done++;
			}
		} else {
			freed += quota_unlink(st->store_dir, id, ".core.zst");
			freed += quota_unlink(st->store_dir, id, ".mini");
			freed += quota_unlink(st->store_dir, id, ".json");
			(void)index_delete(db, id);
			done++;
		}
	}
	if (done > 0)
		(void)fsync_dir(st->store_dir);
	if (ret_freed)
		*ret_freed = freed;
	return done;
}

void quota_limits(const struct store *st, const struct mortem_config *cfg, struct policy_limits *out)
{
	struct statvfs sv;
	uint64_t fs_size = statvfs(st->root, &sv) == 0 ? (uint64_t)sv.f_blocks * sv.f_frsize : 0;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	policy_limits_resolve(cfg, fs_size, ncpu > 0 ? (unsigned)ncpu : 1, out);
}

/* Open the index, then take the lock; both released by quota_close. In a
 * storm every collector queues on this lock: opening SQLite (and closing it,
 * which may checkpoint the WAL) is done outside the hold. */
static int quota_open(const struct store *st, sqlite3 **db, int *lock_fd)
{
	int r = index_open(st->index_path, db);
	if (r < 0)
		return r;
	r = quota_lock(st, lock_fd);
	if (r < 0) {
		index_close(*db);
		*db = NULL;
	}
	return r;
}

static void quota_close(sqlite3 *db, int lock_fd)
{
	if (lock_fd >= 0)
		(void)close(lock_fd);
	if (db)
		index_close(db);
}

int quota_admit_as(const struct store *st, const struct mortem_config *cfg, const char *id, const char *exe,
		   const char *unit, const struct policy_owner *owner, uint64_t estimate, int64_t now_usec,
		   struct policy_decision *out, unsigned *ret_writing, const struct quota_admit_hook *hook)
{
	struct policy_limits lim;
	struct quota_view v;
	sqlite3 *db = NULL;
	int lock = -1, r;

	*out = (struct policy_decision){ .store = true, .core_status = "stored" };
	quota_limits(st, cfg, &lim);
	r = quota_open(st, &db, &lock);
	if (r < 0)
		return r;
	struct policy_crash crash = { .exe = exe, .unit = unit, .estimate = estimate };
	if (owner)
		crash.owner = *owner;
	struct policy_decision d;
	int64_t since = lim.rate_interval_usec && (uint64_t)now_usec > lim.rate_interval_usec
				? now_usec - (int64_t)lim.rate_interval_usec : 0;
	r = quota_view_load_light(st, db, exe, unit, owner, since, &v);
	if (r >= 0) {
		r = policy_decide(&lim, &v.state, &crash, now_usec, &d);
		if (ret_writing)
			*ret_writing = v.writing;
		quota_view_free(&v);
	}
	/* Over the limits: only now the whole table, to see what could be freed. */
	if (r >= 0 && !d.store && d.reason && strcmp(d.reason, "disk quota") == 0) {
		r = quota_view_load_owner(st, db, exe, unit, owner, &v);
		if (r >= 0) {
			r = policy_decide(&lim, &v.state, &crash, now_usec, &d);
			quota_view_free(&v);
		}
	}
	if (r >= 0) {
		*out = d;
		if (d.store && d.reserve > 0) {
			struct index_reservation res = { .id = id, .exe = exe, .unit = unit, .bytes = d.reserve,
							 .time_usec = now_usec, .pid = getpid(),
							 .has_owner = owner != NULL };
			if (owner)
				res.owner = *owner;
			(void)index_reserve(db, &res);
		}
		if (d.store && hook)
			hook->fn(hook->userdata);
	}
	quota_close(db, lock);
	return r;
}

int quota_admit(const struct store *st, const struct mortem_config *cfg, const char *id, const char *exe,
		const char *unit, uint64_t estimate, int64_t now_usec, struct policy_decision *out,
		unsigned *ret_writing, const struct quota_admit_hook *hook)
{
	return quota_admit_as(st, cfg, id, exe, unit, NULL, estimate, now_usec, out, ret_writing, hook);
}

int quota_unreserve(const struct store *st, const char *id)
{
	sqlite3 *db = NULL;
	int r = index_open(st->index_path, &db);
	if (r >= 0) {
		r = index_unreserve(db, id);
		index_close(db);
	}
	return r;
}

int quota_after_analysis_as(const struct store *st, const struct mortem_config *cfg, const char *id,
			    const char *exe, const struct policy_owner *owner, const char *signature,
			    uint64_t core_bytes, int64_t now_usec, bool locked, struct policy_decision *out)
{
	struct policy_limits lim;
	struct quota_view v;
	sqlite3 *db = NULL;
	int lock = -1, r;

	*out = (struct policy_decision){ .store = true, .core_status = "stored" };
	quota_limits(st, cfg, &lim);
	r = locked ? index_open(st->index_path, &db) : quota_open(st, &db, &lock);
	if (r < 0)
		return r;
	/* Only the rows that can share the key: this signature (or, without one,
	 * this executable) of this uid; the policy checks the rest of the owner.
	 * One index range, not the whole store, for every analysed crash. */
	struct index_filter kf = { .signature = signature, .exe = signature ? NULL : exe,
				   .by_uid = owner != NULL, .uid = owner ? owner->uid : 0 };
	r = quota_view_load_rows(st, db, &kf, exe, NULL, NULL, &v);
	if (r >= 0) {
		struct policy_entry me = { .id = id, .exe = exe, .signature = signature, .time_usec = now_usec,
					   .core_bytes = core_bytes };
		if (owner)
			me.owner = *owner;
		else /* anyone's cores count, as before owners: all of them one owner */
			for (size_t i = 0; i < v.n_rows; i++)
				v.entries[i].owner = me.owner;
		r = policy_after_analysis(&lim, v.entries, v.n_rows, &me, now_usec, out);
		quota_view_free(&v);
	}
	/* Kept: make room for it before it is published, with its real size in
	 * place of the estimate it reserved, so that the store never holds more
	 * than the limits even for the moment between publication and the
	 * vacuum after it (the fast inline frame is often larger than the
	 * estimate). Still under the lock the caller holds. */
	if (r >= 0 && out->store && locked && index_unreserve(db, id) >= 0 &&
	    quota_view_load(st, db, NULL, NULL, &v) >= 0) {
		struct policy_action *acts = calloc(v.n_rows ? v.n_rows : 1, sizeof(*acts));
		size_t nacts = 0;
		struct policy_usage usage = v.state.usage;
		usage.store_used += v.state.in_flight + core_bytes;
		if (acts && policy_vacuum_plan(&lim, &usage, v.entries, v.n_rows, now_usec, id, acts, &nacts) >= 0)
			(void)quota_apply(st, db, acts, nacts, NULL);
		free(acts);
		quota_view_free(&v);
	}
	quota_close(db, lock);
	return r;
}

int quota_after_analysis(const struct store *st, const struct mortem_config *cfg, const char *id, const char *exe,
			 const char *signature, uint64_t core_bytes, int64_t now_usec, bool locked,
			 struct policy_decision *out)
{
	return quota_after_analysis_as(st, cfg, id, exe, NULL, signature, core_bytes, now_usec, locked, out);
}

void quota_planned_free(struct quota_planned *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(p[i].id);
	free(p);
}

int quota_vacuum(const struct store *st, const struct mortem_config *cfg, const char *protect_id, int64_t now_usec,
		 bool dry_run, struct quota_planned **ret_plan, size_t *ret_n, uint64_t *ret_freed)
{
	struct policy_limits lim;
	struct quota_view v;
	struct policy_action *acts = NULL;
	sqlite3 *db = NULL;
	size_t nacts = 0;
	int lock = -1, r, over;

	quota_limits(st, cfg, &lim);
	/* A dry run changes nothing: it reads the index read-only (a full or
	 * read-only store too) and takes the lock when it may, for a plan that no
	 * collector changes under it; a user who may read the store but not take
	 * its lock gets the same plan, computed without it. A real vacuum opens
	 * the index for deletions, which works on a full file system too. */
	if (dry_run) {
		r = index_open_ro(st->index_path, &db);
		if (r >= 0 && quota_lock(st, &lock) < 0)
			lock = -1;
	} else {
		r = index_open_cleanup(st->index_path, &db);
		if (r >= 0 && (r = quota_lock(st, &lock)) < 0) {
			index_close(db);
			db = NULL;
		}
	}
	if (r < 0)
		return r;
	r = quota_view_load(st, db, NULL, NULL, &v);
	if (r < 0)
		goto out;
	acts = calloc(v.n_rows ? v.n_rows : 1, sizeof(*acts));
	if (!acts) {
		r = -ENOMEM;
		goto out_view;
	}
	/* What is in flight counts against the limits too. */
	struct policy_usage usage = v.state.usage;
	usage.store_used += v.state.in_flight;
	over = policy_vacuum_plan(&lim, &usage, v.entries, v.n_rows, now_usec, protect_id, acts, &nacts);
	if (over < 0) {
		r = over;
		goto out_view;
	}
	if (ret_plan) {
		struct quota_planned *p = calloc(nacts ? nacts : 1, sizeof(*p));
		if (!p) {
			r = -ENOMEM;
			goto out_view;
		}
		for (size_t i = 0; i < nacts; i++) {
			p[i].id = strdup(acts[i].id);
			p[i].what = acts[i].what;
			p[i].reason = acts[i].reason;
			for (size_t k = 0; k < v.n_rows; k++)
				if (strcmp(v.entries[k].id, acts[i].id) == 0)
					p[i].bytes = v.entries[k].core_bytes +
						     (acts[i].what == POLICY_DELETE_RECORD ? v.entries[k].record_bytes : 0);
		}
		*ret_plan = p;
		*ret_n = nacts;
	}
	uint64_t freed = 0;
	if (!dry_run)
		(void)quota_apply(st, db, acts, nacts, &freed);
	if (ret_freed)
		*ret_freed = freed;
	r = over;
out_view:
	free(acts);
	quota_view_free(&v);
out:
	quota_close(db, lock);
	return r;
}
