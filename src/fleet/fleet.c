/* The fleet view's queries (the costs are in fleet.h). Everything read from
 * the bucket is another host's word: keys are rebuilt from validated parts,
 * sizes are capped, and a fetched record is validated as a local one is. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/json.h"
#include "base/util.h"
#include "fleet/fleet.h"
#include "fleet/upload.h"
#include "store/index.h"
#include "store/record.h"

#define FLEET_DAY_USEC (INT64_C(86400) * 1000000)

/* "PREFIX/index/DAY/" */
static char *fleet_day_prefix(const struct mortem_config *cfg, const char *day)
{
	char *p = NULL;
	if (asprintf(&p, "%s%sindex/%s/", cfg->upload_prefix ? cfg->upload_prefix : "",
		     cfg->upload_prefix ? "/" : "", day) < 0)
		return NULL;
	return p;
}

/* The crashes array of one index object, or NULL when it is not one. */
static int fleet_index_get(struct s3 *s3, const char *key, json_object **ret)
{
	_cleanup_free_ char *body = NULL;
	json_object *arr;
	int r = s3_get(s3, key, UPLOAD_INDEX_MAX, &body, NULL);
	if (r < 0)
		return r;
	json_object *o = json_tokener_parse(body);
	if (!o || !json_object_object_get_ex(o, "crashes", &arr) || !json_object_is_type(arr, json_type_array)) {
		json_object_put(o);
		return -EBADMSG;
	}
	*ret = json_object_get(arr);
	json_object_put(o);
	return 0;
}

/* The host of an index key ".../index/DAY/HOST.json". */
static char *fleet_key_host(const char *key)
{
	const char *slash = strrchr(key, '/'), *h = slash ? slash + 1 : key;
	size_t n = strlen(h);
	if (n <= 5 || strcmp(h + n - 5, ".json") != 0)
		return NULL;
	char *host = strndup(h, n - 5);
	if (host && !upload_host_valid(host)) {
		free(host);
		return NULL;
	}
	return host;
}

/* The hosts with an index object for day (heap array). */
static int fleet_day_hosts(const struct mortem_config *cfg, struct s3 *s3, const char *day, char ***ret, size_t *ret_n,
			   struct fleet_list_stats *stats)
{
	_cleanup_free_ char *prefix = fleet_day_prefix(cfg, day);
	char **keys = NULL;
	size_t n = 0, m = 0;
	bool capped = false;
	if (!prefix)
		return -ENOMEM;
	int r = s3_list(s3, prefix, FLEET_HOSTS_PER_DAY_MAX, &keys, &n, &capped);
	stats->requests++;
	if (r < 0)
		return r;
	stats->capped |= capped;
	for (size_t i = 0; i < n; i++) {
		char *h = fleet_key_host(keys[i]);
		free(keys[i]);
		keys[i] = NULL;
		if (h)
			keys[m++] = h;
	}
	*ret = keys;
	*ret_n = m;
	return 0;
}

static int fleet_entry_cmp(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	int64_t tx = record_i64(x, "time_usec", 0), ty = record_i64(y, "time_usec", 0);
	return tx < ty ? -1 : tx > ty ? 1 : strcmp(record_str(x, "id", ""), record_str(y, "id", ""));
}

int fleet_list(const struct mortem_config *cfg, struct s3 *s3, int64_t since_usec, int64_t until_usec,
	       const char *host, json_object **ret, struct fleet_list_stats *stats)
{
	_cleanup_json_ json_object *out = json_object_new_array();
	struct fleet_list_stats st = { 0 };
	int64_t now = now_usec();
	int r = 0;

	if (!out)
		return -ENOMEM;
	if (host && !upload_host_valid(host))
		return -EINVAL;
	if (until_usec <= 0)
		until_usec = now;
	if (since_usec <= 0)
		since_usec = until_usec - FLEET_DAY_USEC;
	if (since_usec > until_usec)
		return -EINVAL;
	/* Whole UTC days from since's to until's. */
	int64_t first = since_usec - since_usec % FLEET_DAY_USEC;
	for (int64_t d = first; d <= until_usec; d += FLEET_DAY_USEC) {
		char day[16];
		char **hosts = NULL;
		size_t nh = 0;
		if (st.days >= FLEET_DAYS_MAX) {
			st.capped = true;
			break;
		}
		st.days++;
		upload_day(d, day, sizeof(day));
		if (host) {
			if (!(hosts = calloc(1, sizeof(*hosts))) || !(hosts[0] = strdup(host))) {
				free(hosts);
				return -ENOMEM;
			}
			nh = 1;
		} else if ((r = fleet_day_hosts(cfg, s3, day, &hosts, &nh, &st)) < 0) {
			break;
		}
		for (size_t i = 0; i < nh && r >= 0; i++) {
			_cleanup_free_ char *key = upload_index_key(cfg->upload_prefix, day, hosts[i]);
			_cleanup_json_ json_object *arr = NULL;
			if (!key) {
				r = -ENOMEM;
				break;
			}
			int rr = fleet_index_get(s3, key, &arr);
			st.requests++;
			if (rr == -ENOENT)
				continue;
			if (rr == -EBADMSG) {
				st.bad_objects++;
				continue;
			}
			if (rr < 0) {
				r = rr;
				break;
			}
			st.index_objects++;
			for (size_t j = 0; j < json_object_array_length(arr); j++) {
				json_object *e = json_object_array_get_idx(arr, j);
				int64_t t = record_i64(e, "time_usec", 0);
				if (!json_object_is_type(e, json_type_object) || t < since_usec || t > until_usec)
					continue;
				json_object_object_add(e, "host", json_object_new_string(hosts[i]));
				json_object_array_add(out, json_object_get(e));
			}
		}
		s3_keys_free(hosts, nh);
		if (r < 0)
			break;
	}
	if (stats)
		*stats = st;
	if (r < 0)
		return r;
	json_object_array_sort(out, fleet_entry_cmp);
	*ret = TAKE_PTR(out);
	return 0;
}

int fleet_find(const struct mortem_config *cfg, struct s3 *s3, const char *id, const char *host, char **ret_host)
{
	char day[16];
	char **hosts = NULL;
	size_t nh = 0;
	struct fleet_list_stats st = { 0 };
	int r;

	/* YYYYMMDDT...: the store's ids start with the crash's UTC time. */
	if (!store_id_valid(id) || strlen(id) < 9 || strspn(id, "0123456789") != 8 || id[8] != 'T')
		return -EINVAL;
	snprintf(day, sizeof(day), "%.4s-%.2s-%.2s", id, id + 4, id + 6);
	if (host) {
		if (!upload_host_valid(host))
			return -EINVAL;
		if (!(hosts = calloc(1, sizeof(*hosts))) || !(hosts[0] = strdup(host))) {
			free(hosts);
			return -ENOMEM;
		}
		nh = 1;
	} else if ((r = fleet_day_hosts(cfg, s3, day, &hosts, &nh, &st)) < 0) {
		return r;
	}
	r = -ENOENT;
	for (size_t i = 0; i < nh && r == -ENOENT; i++) {
		_cleanup_free_ char *key = upload_index_key(cfg->upload_prefix, day, hosts[i]);
		_cleanup_json_ json_object *arr = NULL;
		if (!key) {
			r = -ENOMEM;
			break;
		}
		int rr = fleet_index_get(s3, key, &arr);
		if (rr == -ENOENT || rr == -EBADMSG)
			continue;
		if (rr < 0) {
			r = rr;
			break;
		}
		for (size_t j = 0; j < json_object_array_length(arr); j++)
			if (strcmp(record_str(json_object_array_get_idx(arr, j), "id", ""), id) == 0) {
				*ret_host = TAKE_PTR(hosts[i]);
				r = 0;
				break;
			}
	}
	s3_keys_free(hosts, nh);
	return r;
}

int fleet_record(const struct mortem_config *cfg, struct s3 *s3, const char *host, const char *id, json_object **ret)
{
	_cleanup_free_ char *key = upload_crash_key(cfg->upload_prefix, host, id, "record.json"), *body = NULL;
	const char *why = NULL;
	size_t len;
	if (!key)
		return -EINVAL;
	int r = s3_get(s3, key, FLEET_RECORD_MAX, &body, &len);
	if (r < 0)
		return r;
	json_object *o = strlen(body) == len ? json_tokener_parse(body) : NULL;
	if (!o || record_validate(o, &why) < 0 || strcmp(record_str(o, "id", ""), id) != 0) {
		snprintf(s3->error, sizeof(s3->error), "%s: not a valid record%s%s", key, why ? ": " : "",
			 why ? why : "");
		json_object_put(o);
		return -EBADMSG;
	}
	*ret = o;
	return 0;
}

/* GET key into spool/<id><suffix>.tmp, at most cap bytes. */
static int fleet_get_tmp(const struct store *st, struct s3 *s3, const char *key, const char *id, const char *suffix,
			 uint64_t cap, uint64_t *ret_bytes)
{
	_cleanup_close_ int fd = -1;
	int r = store_tmp_open(st, id, suffix, &fd);
	if (r < 0)
		return r;
	r = s3_get_fd(s3, key, fd, cap, ret_bytes);
	if (r >= 0 && fsync(fd) < 0)
		r = -errno;
	return r;
}

int fleet_fetch(const struct mortem_config *cfg, const struct store *st, struct s3 *s3, const char *host,
		const char *id, bool *ret_core)
{
	_cleanup_json_ json_object *rec = NULL;
	_cleanup_free_ char *k_mini = upload_crash_key(cfg->upload_prefix, host, id, "mini"),
			    *k_core = upload_crash_key(cfg->upload_prefix, host, id, "core.zst"),
			    *rec_path = store_path(st->store_dir, id, ".json"),
			    *mini_path = store_path(st->store_dir, id, ".mini"),
			    *core_path = store_path(st->store_dir, id, ".core.zst"), *from = NULL;
	_cleanup_close_ int lock = -1, fd = -1;
	bool have_mini = false, have_core = false;
	uint64_t bytes = 0;
	json_object *core, *mini;
	int r;

	if (!k_mini || !k_core || !rec_path || !mini_path || !core_path)
		return -ENOMEM;
	if (access(rec_path, F_OK) == 0)
		return -EEXIST;
	r = fleet_record(cfg, s3, host, id, &rec);
	if (r < 0)
		return r;
	r = store_mkdirs(st);
	if (r >= 0)
		r = store_lock(st, id, &lock);
	if (r < 0)
		return r;
	/* The record says which files went up (upload.keys). */
	json_object *up = record_obj(rec, "upload"), *keys = NULL;
	if (up && json_object_object_get_ex(up, "keys", &keys) && json_object_is_type(keys, json_type_array))
		for (size_t i = 0; i < json_object_array_length(keys); i++) {
			const char *k = json_object_get_string(json_object_array_get_idx(keys, i));
			have_mini |= k && strcmp(k, k_mini) == 0;
			have_core |= k && strcmp(k, k_core) == 0;
		}
	core = record_obj(rec, "core");
	mini = record_obj(rec, "minicore");
	if (have_mini) {
		r = fleet_get_tmp(st, s3, k_mini, id, ".mini", (uint64_t)256 << 20, &bytes);
		if (r >= 0)
			r = store_publish(st, id, ".mini");
		if (r < 0)
			goto fail;
	}
	if (have_core) {
		/* A stored core is at most the size the record gives, plus zstd's
		 * worst-case overhead; a bigger answer is not that core. */
		uint64_t cap = (uint64_t)record_i64(core, "stored_size", 0) + (1u << 20);
		r = fleet_get_tmp(st, s3, k_core, id, ".core.zst", cap, &bytes);
		if (r >= 0)
			r = store_publish(st, id, ".core.zst");
		if (r < 0)
			goto fail;
	}
	/* The record, made this store's. */
	if (mini)
		json_object_object_add(mini, "path", have_mini ? json_object_new_string(mini_path) : NULL);
	if (core && have_core) {
		json_object_object_add(core, "path", json_object_new_string(core_path));
	} else if (core) {
		const char *st_s = record_str(core, "status", "");
		json_object_object_add(core, "path", NULL);
		json_object_object_add(core, "stored_size", json_object_new_int64(0));
		if (strcmp(st_s, "stored") == 0 || strcmp(st_s, "truncated") == 0) {
			json_object_object_add(core, "status", json_object_new_string("deleted"));
			json_object_object_add(core, "reason",
					       json_object_new_string("not uploaded by its host (mortem fleet fetch)"));
		}
	}
	json_object *fl = json_object_new_object();
	if (!fl || asprintf(&from, "%s/%s", host, id) < 0) {
		json_object_put(fl);
		r = -ENOMEM;
		goto fail;
	}
	json_object_object_add(fl, "fetched_usec", json_object_new_int64(now_usec()));
	json_object_object_add(fl, "from", json_object_new_string(from));
	json_object_object_add(rec, "fleet", fl);
	r = store_tmp_open(st, id, ".json", &fd);
	if (r >= 0)
		r = record_write_fd(rec, fd);
	if (r >= 0)
		r = store_publish(st, id, ".json");
	if (r < 0)
		goto fail;
	(void)fsync_dir(st->store_dir);
	{
		sqlite3 *db = NULL;
		/* The record is published: an index that cannot take the row
		 * now gets it at the next rebuild (mortem reindex). */
		if (index_open(st->index_path, &db) >= 0) {
			(void)index_insert(db, rec, rec_path);
			index_close(db);
		}
	}
	/* As a collector ends: the lock file and temp files go. */
	store_discard(st, id);
	if (ret_core)
		*ret_core = have_core;
	return 0;
fail:
	/* No record was published: what was, goes (store_discard_work). */
	store_discard(st, id);
	return r;
}
