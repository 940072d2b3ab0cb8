/* manage.c: the verbs about the store as a whole: reindex, vacuum,
 * disk-usage and rm. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/pending.h"
#include "store/quota.h"
#include "store/store.h"
#include "store/usage.h"
#include "base/text.h"
#include "base/util.h"

#define MANAGE_MISSING_REASON "the core file was gone from the disk, found by mortem vacuum"

int manage_reindex(struct cli *c)
{
	sqlite3 *db = NULL;
	size_t ok = 0, bad = 0;
	int r;

	if (access(c->st.store_dir, F_OK) < 0) {
		cli_err("no crash store at %s", c->st.root);
		return EXIT_FAILURE;
	}
	/* First, before anything cleans the spool: crashes whose collector died
	 * become records (the rebuild below indexes them). */
	int lost = pending_recover(&c->st, NULL);
	if (lost < 0)
		cli_err("cannot read the spool %s: %s (crashes lost there are not recorded)", c->st.spool_dir,
			strerror(-lost));
	else if (lost > 0)
		printf("recorded %d crash%s as lost (%s collector or mortemd stopped before storing %s)\n", lost,
		       lost == 1 ? "" : "es", lost == 1 ? "its" : "their", lost == 1 ? "it" : "them");
	r = index_open(c->st.index_path, &db);
	if (r == -EBADMSG || r == -ENOTSUP) {
		/* Corrupt or from the future: it is only a cache, start over. */
		cli_err("index %s unusable (%s): recreating it", c->st.index_path, strerror(-r));
		if ((r = index_reset(c->st.index_path)) >= 0)
			r = index_open(c->st.index_path, &db);
	}
	if (r < 0) {
		cli_err("cannot open index %s: %s", c->st.index_path, strerror(-r));
		return EXIT_FAILURE;
	}
	r = index_rebuild(db, c->st.store_dir, &ok, &bad);
	index_close(db);
	if (r < 0) {
		cli_err("reindex failed: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	printf("indexed %zu records", ok);
	if (bad)
		printf(", skipped %zu unreadable ones (left in place)", bad);
	putchar('\n');
	return 0;
}

static int manage_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Pointers to the rows' ids, sorted for usage_foreign_scan (heap array). */
static char **manage_sorted_ids(const struct index_row *rows, size_t n)
{
	char **ids = calloc(n ? n : 1, sizeof(*ids));
	for (size_t i = 0; ids && i < n; i++)
		ids[i] = rows[i].id;
	if (ids)
		qsort(ids, n, sizeof(*ids), manage_cmp_str);
	return ids;
}

/* Cores deleted by hand (or lost with a disk) are marked in their record
 * ("deleted", the reason says how it was found), so that list, info and the
 * quota stop counting bytes that are not there. Under the quota lock, as
 * quota_apply rewrites records; a core that comes back meanwhile is not
 * marked. Returns how many were marked. */
static int manage_mark_missing(struct cli *c, sqlite3 *db)
{
	struct index_filter all = { 0 };
	struct index_row *rows = NULL;
	size_t n = 0;
	int marked = 0, lock = -1, r;
	struct stat sb;

	if (index_query(db, &all, &rows, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const char *p = rows[i].core_path;
		if (!p || *p != '/' || stat(p, &sb) == 0 || (errno != ENOENT && errno != ENOTDIR))
			continue;
		if (lock < 0 && (r = quota_lock(&c->st, &lock)) < 0) {
			cli_err("cannot take the store's quota lock: %s (missing cores not marked)", strerror(-r));
			break;
		}
		if (stat(p, &sb) == 0)
			continue;
		r = quota_mark_core(&c->st, db, rows[i].id, "deleted", MANAGE_MISSING_REASON);
		if (r < 0)
			cli_err("cannot mark the missing core of %s: %s", rows[i].id, strerror(-r));
		else
			marked++;
	}
	if (lock >= 0)
		(void)close(lock);
	index_rows_free(rows, n);
	return marked;
}

/* Record the lost crashes first (not in a dry run: it changes nothing), then
 * one line per deletion (what, id, bytes, why), the totals, and the files in
 * the store that no crash accounts for. */
int manage_vacuum(struct cli *c)
{
	struct quota_planned *plan = NULL;
	struct policy_limits lim;
	struct usage_foreign fo;
	struct index_filter all = { 0 };
	struct index_row *rows = NULL;
	size_t n = 0, nrows = 0;
	bool scanned = false;
	uint64_t freed = 0;
	int64_t now = now_usec();
	int r, lost = 0;

	if (access(c->st.store_dir, F_OK) < 0) {
		cli_err("no crash store at %s", c->st.root);
		return EXIT_FAILURE;
	}
	/* A missing index is rebuilt from the records first (a vacuum of an empty
	 * index would plan nothing); a corrupt one is said so, with the remedy. */
	sqlite3 *db = NULL;
	if (cli_open_index_cleanup(c, &db) < 0)
		return EXIT_FAILURE;
	if (!c->dry_run && (lost = pending_recover(&c->st, db)) < 0) {
		cli_err("cannot read the spool %s: %s (crashes lost there are not recorded)", c->st.spool_dir,
			strerror(-lost));
		lost = 0;
	}
	int missing = c->dry_run ? 0 : manage_mark_missing(c, db);
	index_close(db);
	if (missing > 0 && !c->json)
		printf("marked %d core%s missing from the disk as deleted\n", missing, missing == 1 ? "" : "s");
	r = quota_vacuum(&c->st, &c->cfg, NULL, now, c->dry_run, &plan, &n, &freed);
	if (r < 0) {
		cli_err("vacuum of %s failed: %s", c->st.root, strerror(-r));
		return EXIT_FAILURE;
	}
	/* What is left, against the crashes the index knows now. */
	if (index_open(c->st.index_path, &db) >= 0) {
		if (index_query(db, &all, &rows, &nrows) >= 0) {
			_cleanup_free_ char **ids = manage_sorted_ids(rows, nrows);
			scanned = ids && usage_foreign_scan(c->st.store_dir, c->st.spool_dir, ids, nrows, &fo) >= 0;
		}
		index_close(db);
	}
	_cleanup_free_ struct usage_deletion *del = calloc(n ? n : 1, sizeof(*del));
	for (size_t i = 0; del && i < n; i++)
		del[i] = (struct usage_deletion){ .id = plan[i].id, .reason = plan[i].reason, .bytes = plan[i].bytes,
						  .core_only = plan[i].what == POLICY_DELETE_CORE };
	quota_limits(&c->st, &c->cfg, &lim);
	struct usage_vacuum v = {
		.dry_run = c->dry_run, .del = del, .n_del = del ? n : 0, .freed = freed, .lost = lost, .over = r == 1,
		.max_use = lim.max_use, .keep_free = lim.keep_free, .foreign = scanned ? &fo : NULL,
	};
	usage_print_vacuum(stdout, &v, c->json);
	if (scanned)
		usage_foreign_free(&fo);
	index_rows_free(rows, nrows);
	quota_planned_free(plan, n);
	if (r == 1) {
		char a[16], b[16];
		format_size(lim.max_use, a, sizeof(a));
		format_size(lim.keep_free, b, sizeof(b));
		cli_err("the store stays over its limits (MaxUse=%s, KeepFree=%s) with nothing left that may go",
			lim.max_use ? a : "none", lim.keep_free ? b : "none");
		return EXIT_FAILURE;
	}
	return 0;
}

/* Totals by kind of file (what is on disk), the file system, the limits, and
 * the crashes by executable and by signature, largest first. */
int manage_disk_usage(struct cli *c)
{
	struct usage_totals t;
	struct policy_limits lim;
	struct index_row *rows = NULL;
	struct usage_group *ge = NULL, *gs = NULL;
	struct index_filter f = { 0 };
	struct statvfs sv;
	sqlite3 *db = NULL;
	size_t n = 0, ne = 0, ns = 0;
	uint64_t fs_free = 0, fs_size = 0;
	int r;

	if (access(c->st.store_dir, F_OK) < 0) {
		cli_err("cannot read %s: %m", c->st.store_dir);
		return EXIT_FAILURE;
	}
	if (cli_open_index(c, &db) < 0)
		return EXIT_FAILURE;
	r = index_query(db, &f, &rows, &n);
	index_close(db);
	if (r < 0) {
		cli_err("index query failed: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	/* A file no crash accounts for is "other", whatever its name. */
	_cleanup_free_ char **ids = manage_sorted_ids(rows, n);
	r = ids ? usage_scan_accounted(c->st.store_dir, c->st.spool_dir, ids, n, &t) : -ENOMEM;
	if (r < 0) {
		cli_err("cannot read %s: %s", c->st.store_dir, strerror(-r));
		index_rows_free(rows, n);
		return EXIT_FAILURE;
	}
	_cleanup_free_ struct usage_item *items = cli_usage_items(c, rows, n, true);
	r = items ? usage_group(items, n, USAGE_BY_EXE, USAGE_ORDER_BYTES, &ge, &ne) : -ENOMEM;
	if (r >= 0)
		r = usage_group(items, n, USAGE_BY_SIGNATURE, USAGE_ORDER_BYTES, &gs, &ns);
	if (r < 0) {
		cli_err("cannot group crashes: %s", strerror(-r));
		usage_groups_free(ge, ne);
		index_rows_free(rows, n);
		return EXIT_FAILURE;
	}
	if (statvfs(c->st.root, &sv) == 0) {
		fs_free = (uint64_t)sv.f_bavail * sv.f_frsize;
		fs_size = (uint64_t)sv.f_blocks * sv.f_frsize;
	}
	quota_limits(&c->st, &c->cfg, &lim);
	struct usage_report rep = {
		.store_dir = c->st.store_dir, .totals = t, .fs_size = fs_size, .fs_free = fs_free,
		.max_use = lim.max_use, .keep_free = lim.keep_free,
		.by_exe = ge, .n_exe = ne, .by_signature = gs, .n_signature = ns,
	};
	usage_print_report(stdout, &rep, c->json);
	usage_groups_free(ge, ne);
	usage_groups_free(gs, ns);
	index_rows_free(rows, n);
	return 0;
}

/* A crash whose collector still holds spool/<id>.lock is being written. */
static bool manage_busy(const struct cli *c, const char *id)
{
	_cleanup_free_ char *p = store_path(c->st.spool_dir, id, ".lock");
	_cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* rm: every MATCH resolved first (nothing goes when one fits no crash, or
 * several without --all), then under the quota lock each crash's files and row. */
int manage_rm(struct cli *c)
{
	struct index_filter f = { 0 };
	char **ids = NULL;
	sqlite3 *db = NULL;
	size_t nids = 0, removed = 0;
	uint64_t freed = 0;
	_cleanup_close_ int lock = -1;
	bool failed = false;
	int r, rc = 0;

	if (c->n_matches == 0) {
		cli_err("rm needs a MATCH: an id, a PID, a command name or an executable");
		return EXIT_USAGE;
	}
	if (cli_time_bound(c->since, "--since", &f.since_usec) < 0 ||
	    cli_time_bound(c->until, "--until", &f.until_usec) < 0)
		return EXIT_USAGE;
	if (access(c->st.store_dir, F_OK) < 0) {
		cli_err("no crash store at %s", c->st.root);
		return EXIT_FAILURE;
	}
	if ((r = quota_lock(&c->st, &lock)) < 0) {
		cli_err("cannot take the store's quota lock: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	if (cli_open_index_cleanup(c, &db) < 0)
		return EXIT_FAILURE;
	for (size_t i = 0; i < c->n_matches && rc == 0; i++) {
		struct index_row *rows = NULL;
		size_t n = 0;
		f.match = c->matches[i];
		if ((r = index_query(db, &f, &rows, &n)) < 0) {
			cli_err("index query failed: %s", strerror(-r));
			rc = EXIT_FAILURE;
		} else if (n == 0) {
			cli_err("no crash matches '%s'%s", f.match, c->since || c->until ? " in that time range" : "");
			rc = EXIT_NOMATCH;
		} else if (n > 1 && !c->all) {
			cli_err("'%s' matches %zu crashes: give an id, or --all to remove every one", f.match, n);
			rc = EXIT_AMBIGUOUS;
		} else {
			char **grown = realloc(ids, (nids + n) * sizeof(*ids));
			if (!grown)
				rc = EXIT_FAILURE;
			else
				ids = grown;
			for (size_t k = 0; rc == 0 && k < n; k++) {
				bool dup = false;
				for (size_t m = 0; m < nids && !dup; m++)
					dup = strcmp(ids[m], rows[k].id) == 0;
				if (!dup && !(ids[nids++] = strdup(rows[k].id)))
					rc = EXIT_FAILURE;
			}
		}
		index_rows_free(rows, n);
	}
	for (size_t i = 0; rc == 0 && i < nids; i++)
		if (manage_busy(c, ids[i])) {
			cli_err("crash %s is still being collected: try again later", ids[i]);
			rc = EXIT_FAILURE;
		}
	for (size_t i = 0; rc == 0 && i < nids; i++) {
		const char *id = ids[i];
		char a[16], b[16], d[16];
		if (!store_id_valid(id)) {
			cli_err("crash %s: not a valid id, left alone", id);
			continue;
		}
		uint64_t core = usage_file_bytes(c->st.store_dir, id, ".core.zst");
		uint64_t mini = usage_file_bytes(c->st.store_dir, id, ".mini");
		uint64_t rec = usage_file_bytes(c->st.store_dir, id, ".json");
		static const char *const sfx[] = { ".core.zst", ".mini", ".json" };
		for (size_t k = 0; k < ARRAY_SIZE(sfx); k++) {
			_cleanup_free_ char *p = store_path(c->st.store_dir, id, sfx[k]);
			if (!p || (unlink(p) < 0 && errno != ENOENT)) {
				cli_err("cannot remove %s: %s", p ? p : id, p ? strerror(errno) : "out of memory");
				failed = true;
			}
		}
		if ((r = index_delete(db, id)) < 0) {
			cli_err("cannot remove %s from the index: %s", id, strerror(-r));
			failed = true;
		}
		format_size(core, a, sizeof(a));
		format_size(mini, b, sizeof(b));
		format_size(rec, d, sizeof(d));
		_cleanup_free_ char *e = text_escape(id);
		printf("removed %s: core %s, minicore %s, record %s\n", e ? e : "?", core ? a : "-", mini ? b : "-", d);
		removed++;
		freed += core + mini + rec;
	}
	if (removed) {
		char h[16];
		(void)fsync_dir(c->st.store_dir);
		format_size(freed, h, sizeof(h));
		printf("removed %zu crash%s, freed %s (%llu bytes)\n", removed, removed == 1 ? "" : "es", h,
		       (unsigned long long)freed);
	}
	index_close(db);
	for (size_t i = 0; i < nids; i++)
		free(ids[i]);
	free(ids);
	return rc ? rc : failed ? EXIT_FAILURE : 0;
}
