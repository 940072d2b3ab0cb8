/* usage.c: disk usage of the store and grouping of its crashes. See usage.h. */
#include "store/usage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "store/store.h"
#include "base/text.h"
#include "base/util.h"

/* Two crashes are in one group when their keys match: the signature, or the
 * executable for those without one (never mixing the two kinds). */
static int usage_key_cmp(const struct usage_item *a, const struct usage_item *b, enum usage_by by)
{
	const char *ka = by == USAGE_BY_SIGNATURE && a->signature ? a->signature : a->exe;
	const char *kb = by == USAGE_BY_SIGNATURE && b->signature ? b->signature : b->exe;
	if (by == USAGE_BY_SIGNATURE && !a->signature != !b->signature)
		return a->signature ? -1 : 1;
	return strcmp(ka ? ka : "", kb ? kb : "");
}

/* qsort has no context argument: the sort of indexes reads these. */
static const struct usage_item *usage_sort_items;
static enum usage_by usage_sort_by;

static int usage_cmp_index(const void *a, const void *b)
{
	const struct usage_item *x = &usage_sort_items[*(const size_t *)a];
	const struct usage_item *y = &usage_sort_items[*(const size_t *)b];
	int r = usage_key_cmp(x, y, usage_sort_by);
	if (r != 0)
		return r;
	if (x->time_usec != y->time_usec)
		return x->time_usec < y->time_usec ? -1 : 1;
	return strcmp(x->id ? x->id : "", y->id ? y->id : "");
}

static int usage_cmp_last(const void *a, const void *b)
{
	const struct usage_group *x = a, *y = b;
	if (x->last_usec != y->last_usec)
		return x->last_usec < y->last_usec ? -1 : 1;
	if (x->first_usec != y->first_usec)
		return x->first_usec < y->first_usec ? -1 : 1;
	return 0;
}

static int usage_cmp_bytes(const void *a, const void *b)
{
	const struct usage_group *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return usage_cmp_last(a, b);
}

int usage_group(const struct usage_item *items, size_t n, enum usage_by by, enum usage_order order,
		struct usage_group **ret, size_t *ret_n)
{
	_cleanup_free_ size_t *idx = NULL;
	struct usage_group *g = NULL;
	size_t ng = 0;

	if ((n > 0 && !items) || !ret || !ret_n)
		return -EINVAL;
	idx = calloc(n ? n : 1, sizeof(*idx));
	g = calloc(n ? n : 1, sizeof(*g));
	if (!idx || !g) {
		free(g);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	usage_sort_items = items;
	usage_sort_by = by;
	qsort(idx, n, sizeof(*idx), usage_cmp_index);
	usage_sort_items = NULL;

	for (size_t start = 0; start < n;) {
		size_t end = start + 1;
		while (end < n && usage_key_cmp(&items[idx[start]], &items[idx[end]], by) == 0)
			end++;
		struct usage_group *w = &g[ng];
		w->members = calloc(end - start, sizeof(*w->members));
		if (!w->members) {
			usage_groups_free(g, ng);
			return -ENOMEM;
		}
		const struct usage_item *newest = &items[idx[end - 1]];
		w->signature = by == USAGE_BY_SIGNATURE ? newest->signature : NULL;
		w->exe = newest->exe;
		w->slogan = newest->slogan;
		w->first_usec = items[idx[start]].time_usec;
		w->last_usec = newest->time_usec;
		for (size_t j = start; j < end; j++) {
			const struct usage_item *it = &items[idx[j]];
			w->members[w->count++] = idx[j];
			w->cores += it->has_core;
			w->bytes += it->bytes;
			/* the newest crash that has a slogan speaks for the group */
			if (it->slogan && *it->slogan)
				w->slogan = it->slogan;
		}
		ng++;
		start = end;
	}
	qsort(g, ng, sizeof(*g), order == USAGE_ORDER_BYTES ? usage_cmp_bytes : usage_cmp_last);
	*ret = g;
	*ret_n = ng;
	return 0;
}

void usage_groups_free(struct usage_group *g, size_t n)
{
	for (size_t i = 0; g && i < n; i++)
		free(g[i].members);
	free(g);
}

int usage_kind_of(const char *name)
{
	size_t n = strlen(name);
	if (n > 9 && strcmp(name + n - 9, ".core.zst") == 0)
		return 0;
	if (n > 5 && strcmp(name + n - 5, ".mini") == 0)
		return 1;
	if (n > 5 && strcmp(name + n - 5, ".json") == 0)
		return 2;
	return 3;
}

static bool usage_accounted(const char *name, const char *spool_dir, char *const *ids, size_t n_ids);

int usage_scan(const char *dir, struct usage_totals *out)
{
	return usage_scan_accounted(dir, NULL, NULL, 0, out);
}

int usage_scan_accounted(const char *dir, const char *spool_dir, char *const *ids, size_t n_ids,
			 struct usage_totals *out)
{
	struct usage_totals t = { 0 };
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if ((de->d_name[0] == '.' && !ids) || fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(sb.st_mode))
			continue;
		struct usage_kind *k[] = { &t.cores, &t.minis, &t.records, &t.other };
		int kind = usage_kind_of(de->d_name);
		if (ids && !usage_accounted(de->d_name, spool_dir, ids, n_ids))
			kind = 3;
		struct usage_kind *w = k[kind];
		w->files++;
		w->bytes += (uint64_t)sb.st_size;
		t.total += (uint64_t)sb.st_size;
	}
	closedir(d);
	*out = t;
	return 0;
}

uint64_t usage_file_bytes(const char *dir, const char *id, const char *suffix)
{
	_cleanup_free_ char *p = store_path(dir, id, suffix);
	struct stat sb;
	if (!p || lstat(p, &sb) < 0 || !S_ISREG(sb.st_mode))
		return 0;
	return (uint64_t)sb.st_size;
}

void usage_local_time(int64_t usec, char *buf, size_t len)
{
	time_t t = (time_t)(usec / 1000000);
	struct tm tm;
	if (!localtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M:%S %Z", &tm))
		snprintf(buf, len, "@%lld", (long long)(usec / 1000000));
}

static json_object *usage_json_str(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static void usage_json_print(FILE *f, json_object *j)
{
	fprintf(f, "%s\n", json_object_to_json_string_ext(j, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(j);
}

static json_object *usage_json_u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

static json_object *usage_json_group(const struct usage_item *items, const struct usage_group *w)
{
	json_object *o = json_object_new_object(), *ids = json_object_new_array();
	char first[40], last[40];

	for (size_t m = 0; m < w->count; m++)
		json_object_array_add(ids, json_object_new_string(items[w->members[m]].id));
	format_rfc3339(w->first_usec, first, sizeof(first));
	format_rfc3339(w->last_usec, last, sizeof(last));
	json_object_object_add(o, "signature", usage_json_str(w->signature));
	json_object_object_add(o, "count", usage_json_u64(w->count));
	json_object_object_add(o, "first", json_object_new_string(first));
	json_object_object_add(o, "last", json_object_new_string(last));
	json_object_object_add(o, "first_usec", json_object_new_int64(w->first_usec));
	json_object_object_add(o, "last_usec", json_object_new_int64(w->last_usec));
	json_object_object_add(o, "exe", usage_json_str(w->exe));
	json_object_object_add(o, "slogan", usage_json_str(w->slogan));
	json_object_object_add(o, "cores", usage_json_u64(w->cores));
	json_object_object_add(o, "ids", ids);
	return o;
}

void usage_print_groups(FILE *f, const struct usage_item *items, const struct usage_group *g, size_t n,
			bool reverse, bool json, size_t cols)
{
	json_object *arr = json ? json_object_new_array() : NULL;
	char first[64], last[64], verdict[1024];

	if (!json)
		fprintf(f, "%5s %-23s %-23s %-40s %s\n", "COUNT", "FIRST", "LAST", "EXE", "VERDICT");
	for (size_t k = 0; k < n; k++) {
		const struct usage_group *w = &g[reverse ? n - 1 - k : k];
		const char *exe = w->exe ? w->exe : "-";
		if (arr) {
			json_object_array_add(arr, usage_json_group(items, w));
			continue;
		}
		_cleanup_free_ char *e = text_escape(exe);
		usage_local_time(w->first_usec, first, sizeof(first));
		usage_local_time(w->last_usec, last, sizeof(last));
		/* the verdict gets what is left of the terminal, at least 10 columns */
		size_t ew = e ? strlen(e) : 1;
		size_t used = 5 + 1 + 23 + 1 + 23 + 1 + (ew > 40 ? ew : 40) + 1;
		size_t width = !cols ? USAGE_VERDICT_WIDTH : cols > used + 10 ? cols - used : 10;
		text_truncate(w->slogan ? w->slogan : "-", width, verdict, sizeof(verdict));
		fprintf(f, "%5zu %-23s %-23s %-40s %s\n", w->count, first, last, e ? e : "?", verdict);
	}
	if (arr)
		usage_json_print(f, arr);
}

static json_object *usage_json_kind(const struct usage_kind *k)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "files", usage_json_u64(k->files));
	json_object_object_add(o, "bytes", usage_json_u64(k->bytes));
	return o;
}

static void usage_print_kind(FILE *f, const char *what, const struct usage_kind *k)
{
	char h[16];
	format_size(k->bytes, h, sizeof(h));
	fprintf(f, "%-13s %8s %6zu %-6s (%llu bytes)\n", what, h, k->files, k->files == 1 ? "file" : "files",
		(unsigned long long)k->bytes);
}

/* Largest first: COUNT CORES SIZE [SIGNATURE] EXE, or a JSON array. */
static json_object *usage_print_table(FILE *f, const struct usage_group *g, size_t n, bool sig, bool json)
{
	json_object *arr = json ? json_object_new_array() : NULL;
	char h[16];

	if (!json && n > 0)
		fprintf(f, "\n%5s %5s %8s  %s%s\n", "COUNT", "CORES", "SIZE", sig ? "SIGNATURE         " : "", "EXE");
	for (size_t i = 0; i < n; i++) {
		const struct usage_group *w = &g[i];
		if (arr) {
			json_object *o = json_object_new_object();
			if (sig)
				json_object_object_add(o, "signature", usage_json_str(w->signature));
			json_object_object_add(o, "exe", usage_json_str(w->exe));
			if (sig)
				json_object_object_add(o, "slogan", usage_json_str(w->slogan));
			json_object_object_add(o, "count", usage_json_u64(w->count));
			json_object_object_add(o, "cores", usage_json_u64(w->cores));
			json_object_object_add(o, "bytes", usage_json_u64(w->bytes));
			json_object_array_add(arr, o);
			continue;
		}
		_cleanup_free_ char *e = text_escape(w->exe ? w->exe : "-");
		_cleanup_free_ char *sg = text_escape(w->signature ? w->signature : "-");
		format_size(w->bytes, h, sizeof(h));
		if (sig)
			fprintf(f, "%5zu %5zu %8s  %-16s  %s\n", w->count, w->cores, h, sg ? sg : "?", e ? e : "?");
		else
			fprintf(f, "%5zu %5zu %8s  %s\n", w->count, w->cores, h, e ? e : "?");
	}
	return arr;
}

void usage_print_report(FILE *f, const struct usage_report *r, bool json)
{
	const struct usage_totals *t = &r->totals;
	char a[16], b[16];

	if (json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "store", usage_json_str(r->store_dir));
		json_object_object_add(o, "total_bytes", usage_json_u64(t->total));
		json_object_object_add(o, "cores", usage_json_kind(&t->cores));
		json_object_object_add(o, "minicores", usage_json_kind(&t->minis));
		json_object_object_add(o, "records", usage_json_kind(&t->records));
		json_object_object_add(o, "other", usage_json_kind(&t->other));
		json_object_object_add(o, "fs_size", usage_json_u64(r->fs_size));
		json_object_object_add(o, "fs_free", usage_json_u64(r->fs_free));
		json_object_object_add(o, "max_use", usage_json_u64(r->max_use));
		json_object_object_add(o, "keep_free", usage_json_u64(r->keep_free));
		json_object_object_add(o, "by_exe", usage_print_table(f, r->by_exe, r->n_exe, false, true));
		json_object_object_add(o, "by_signature",
				       usage_print_table(f, r->by_signature, r->n_signature, true, true));
		usage_json_print(f, o);
		return;
	}
	fputs("Store:        ", f);
	text_fputs(r->store_dir ? r->store_dir : "?", f);
	fputc('\n', f);
	usage_print_kind(f, "Cores:", &t->cores);
	usage_print_kind(f, "Minicores:", &t->minis);
	usage_print_kind(f, "Records:", &t->records);
	if (t->other.files) {
		usage_print_kind(f, "Other:", &t->other);
		fprintf(f, "%-13s not made by mortem, or records the index lacks: not counted against MaxUse\n", "");
	}
	format_size(t->total, a, sizeof(a));
	fprintf(f, "%-13s %8s %6s %-6s (%llu bytes)\n", "Total:", a, "", "", (unsigned long long)t->total);
	format_size(r->fs_free, a, sizeof(a));
	format_size(r->fs_size, b, sizeof(b));
	fprintf(f, "File system:  %s free of %s\n", a, b);
	format_size(r->max_use, a, sizeof(a));
	format_size(r->keep_free, b, sizeof(b));
	/* MaxUse bounds what mortem stores, as the vacuum counts it: not the others' files. */
	fprintf(f, "Limits:       MaxUse=%s%s, KeepFree=%s%s\n", r->max_use ? a : "none",
		r->max_use && t->total - t->other.bytes > r->max_use ? " (over)" : "", r->keep_free ? b : "none",
		r->keep_free && r->fs_free < r->keep_free ? " (under)" : "");
	(void)usage_print_table(f, r->by_exe, r->n_exe, false, false);
	(void)usage_print_table(f, r->by_signature, r->n_signature, true, false);
}

static int usage_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A regular file named <id>.core.zst, .mini or .json whose id is indexed, or
 * whose collector is at work (its files come before its index row). */
static bool usage_accounted(const char *name, const char *spool_dir, char *const *ids, size_t n_ids)
{
	static const char *const sfx[] = { ".core.zst", ".mini", ".json" };
	int k = usage_kind_of(name);
	char id[STORE_ID_MAX + 1];

	if (k < 0 || k >= (int)ARRAY_SIZE(sfx))
		return false;
	size_t n = strlen(name) - strlen(sfx[k]);
	if (n == 0 || n > STORE_ID_MAX)
		return false;
	memcpy(id, name, n);
	id[n] = '\0';
	if (!store_id_valid(id))
		return false;
	const char *key = id;
	if (n_ids > 0 && bsearch(&key, ids, n_ids, sizeof(*ids), usage_cmp_str))
		return true;
	_cleanup_free_ char *lock = spool_dir ? store_path(spool_dir, id, ".lock") : NULL;
	return lock && access(lock, F_OK) == 0;
}

int usage_foreign_scan(const char *dir, const char *spool_dir, char *const *ids, size_t n_ids,
		       struct usage_foreign *out)
{
	struct usage_foreign fo = { 0 };
	struct dirent *de;
	struct stat sb;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			if (errno == ENOENT) /* deleted meanwhile */
				continue;
			sb.st_mode = 0;
		}
		bool reg = S_ISREG(sb.st_mode);
		if (reg && usage_accounted(name, spool_dir, ids, n_ids))
			continue;
		fo.files++;
		if (reg) {
			fo.bytes += (uint64_t)sb.st_size;
			fo.records += usage_kind_of(name) == 2;
		}
		if (fo.n_names < USAGE_FOREIGN_NAMES && (fo.names[fo.n_names] = strdup(name)))
			fo.n_names++;
	}
	closedir(d);
	*out = fo;
	return 0;
}

void usage_foreign_free(struct usage_foreign *f)
{
	for (size_t i = 0; i < f->n_names; i++)
		free(f->names[i]);
	memset(f, 0, sizeof(*f));
}

static json_object *usage_vacuum_json(const struct usage_vacuum *v, size_t cores, size_t records, uint64_t bytes)
{
	json_object *o = json_object_new_object(), *del = json_object_new_array(), *tot = json_object_new_object();
	char name[1024];

	for (size_t i = 0; i < v->n_del; i++) {
		json_object *e = json_object_new_object();
		json_object_object_add(e, "id", usage_json_str(v->del[i].id));
		json_object_object_add(e, "what", json_object_new_string(v->del[i].core_only ? "core" : "record"));
		json_object_object_add(e, "reason", usage_json_str(v->del[i].reason));
		json_object_object_add(e, "bytes", usage_json_u64(v->del[i].bytes));
		json_object_array_add(del, e);
	}
	json_object_object_add(tot, "cores", usage_json_u64(cores));
	json_object_object_add(tot, "records", usage_json_u64(records));
	json_object_object_add(tot, "bytes", usage_json_u64(bytes));
	json_object_object_add(o, "dry_run", json_object_new_boolean(v->dry_run));
	json_object_object_add(o, "deleted", del);
	json_object_object_add(o, "totals", tot);
	json_object_object_add(o, "lost", json_object_new_int(v->lost));
	json_object_object_add(o, "over_limits", json_object_new_boolean(v->over));
	json_object_object_add(o, "max_use", usage_json_u64(v->max_use));
	json_object_object_add(o, "keep_free", usage_json_u64(v->keep_free));
	if (v->foreign) {
		json_object *u = json_object_new_object(), *names = json_object_new_array();
		for (size_t i = 0; i < v->foreign->n_names; i++) {
			/* Names are bytes from anyone, not always valid UTF-8 that JSON
			 * can carry: their escaped form (text.h). */
			text_truncate(v->foreign->names[i], sizeof(name) / TEXT_ESCAPE_GROWTH, name, sizeof(name));
			json_object_array_add(names, json_object_new_string(name));
		}
		json_object_object_add(u, "files", usage_json_u64(v->foreign->files));
		json_object_object_add(u, "bytes", usage_json_u64(v->foreign->bytes));
		json_object_object_add(u, "records", usage_json_u64(v->foreign->records));
		json_object_object_add(u, "names", names);
		json_object_object_add(o, "unaccounted", u);
	} else {
		json_object_object_add(o, "unaccounted", NULL);
	}
	return o;
}

/* What could not be accounted for: said, never deleted. */
static void usage_print_foreign(FILE *f, const struct usage_foreign *fo)
{
	char h[16], name[1024];

	if (!fo || fo->files == 0)
		return;
	format_size(fo->bytes, h, sizeof(h));
	fprintf(f, "not accounted for: %zu file%s in the store directory (%s, %llu bytes) that no indexed crash "
		   "owns, left alone and not counted against MaxUse:\n",
		fo->files, fo->files == 1 ? "" : "s", h, (unsigned long long)fo->bytes);
	for (size_t i = 0; i < fo->n_names; i++) {
		text_truncate(fo->names[i], 80, name, sizeof(name));
		fprintf(f, "  %s\n", name);
	}
	if (fo->files > fo->n_names)
		fprintf(f, "  ... and %zu more\n", fo->files - fo->n_names);
	if (fo->records)
		fprintf(f, "%zu of them named like records: 'mortem reindex' indexes those that are valid\n",
			fo->records);
}

void usage_print_vacuum(FILE *f, const struct usage_vacuum *v, bool json)
{
	size_t cores = 0, records = 0;
	uint64_t bytes = 0;
	char a[16];

	for (size_t i = 0; i < v->n_del; i++) {
		cores += v->del[i].core_only;
		records += !v->del[i].core_only;
		bytes += v->del[i].bytes;
	}
	if (!v->dry_run)
		bytes = v->freed;
	if (json) {
		usage_json_print(f, usage_vacuum_json(v, cores, records, bytes));
		return;
	}
	if (v->lost > 0)
		fprintf(f, "recorded %d crash%s as lost (%s collector or mortemd stopped before storing %s)\n", v->lost,
			v->lost == 1 ? "" : "es", v->lost == 1 ? "its" : "their", v->lost == 1 ? "it" : "them");
	if (v->n_del > 0)
		fprintf(f, "%-6s %-40s %8s  %s\n", "DELETE", "ID", "SIZE", "REASON");
	for (size_t i = 0; i < v->n_del; i++) {
		_cleanup_free_ char *id = text_escape(v->del[i].id), *why = text_escape(v->del[i].reason);
		format_size(v->del[i].bytes, a, sizeof(a));
		fprintf(f, "%-6s %-40s %8s  %s\n", v->del[i].core_only ? "core" : "record", id ? id : "?", a,
			why ? why : "?");
	}
	format_size(bytes, a, sizeof(a));
	if (v->n_del == 0)
		fprintf(f, "nothing to delete\n");
	else
		fprintf(f, "%s %zu core%s and %zu whole record%s, %s %s (%llu bytes)\n",
			v->dry_run ? "would delete" : "deleted", cores, cores == 1 ? "" : "s", records,
			records == 1 ? "" : "s", v->dry_run ? "freeing" : "freed", a, (unsigned long long)bytes);
	usage_print_foreign(f, v->foreign);
}
