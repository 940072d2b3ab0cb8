/* cli.c: what the verbs of mortem share: the error line, the index opened
 * (rebuilt when missing), the rows a MATCH and the time bounds select, and
 * the one crash that info, stacks, dump, debug and analyze work on. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

#include "capture/container.h"
#include "base/parse.h"
#include "store/pending.h"
#include "store/record.h"
#include "base/text.h"
#include "base/util.h"

void cli_err(const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL; /* its contents are undefined then */
	va_end(ap);
	fputs("mortem: ", stderr);
	text_fputs(msg ? msg : "out of memory", stderr);
	fputc('\n', stderr);
}

/* Does the store hold any record? Used to rebuild a missing index by itself. */
static bool cli_store_has_records(const struct store *st)
{
	DIR *d = opendir(st->store_dir);
	struct dirent *de;
	bool found = false;
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		found = n > 5 && de->d_name[0] != '.' && strcmp(de->d_name + n - 5, ".json") == 0;
	}
	closedir(d);
	return found;
}

/* Read-only (index.h: index_open_ro), so that list, info, stacks and dump
 * work on a full file system and on a read-only store. Only a missing index
 * is written: it is a cache of the records, rebuilt when it can be. */
static int cli_open_index_how(struct cli *c, sqlite3 **db, bool cleanup)
{
	bool existed = access(c->st.index_path, F_OK) == 0;
	int r;

	/* The index is root's: another user sees the crashes it may read. */
	if (geteuid() != 0 && access(c->st.index_path, R_OK) < 0 && (errno == EACCES || errno == EPERM))
		return userview_open(c, db);

	if (!existed && access(c->st.root, F_OK) < 0) {
		cli_err("no crash store at %s (nothing collected yet?)", c->st.root);
		return -ENOENT;
	}
	r = !existed ? -ENOENT : cleanup ? index_open_cleanup(c->st.index_path, db) : index_open_ro(c->st.index_path, db);
	if (r == -ENOENT || (r == -ENOTSUP && existed && access(c->st.index_path, W_OK) == 0)) {
		/* Missing, or of an older schema that only a writer migrates. */
		r = index_open(c->st.index_path, db);
		if (r < 0 && r != -EBADMSG && r != -ENOTSUP) {
			cli_err("index %s is %s and cannot be %s: %s (run 'mortem reindex' where the store is writable)",
				c->st.index_path, existed ? "old" : "missing", existed ? "migrated" : "rebuilt", strerror(-r));
			return r;
		}
	}
	if (r == -EBADMSG) {
		cli_err("index %s is corrupt: run 'mortem reindex' (the records are safe)", c->st.index_path);
		return r;
	}
	if (r < 0) {
		cli_err("cannot open index %s: %s", c->st.index_path, strerror(-r));
		return r;
	}
	if (!existed && cli_store_has_records(&c->st)) {
		size_t ok = 0, bad = 0;
		/* The index is a cache of the records: a missing one is rebuilt. */
		if (index_rebuild(*db, c->st.store_dir, &ok, &bad) >= 0)
			cli_err("index was missing: rebuilt from %zu records", ok);
	}
	return 0;
}

int cli_open_index(struct cli *c, sqlite3 **db)
{
	return cli_open_index_how(c, db, false);
}

int cli_open_index_cleanup(struct cli *c, sqlite3 **db)
{
	return cli_open_index_how(c, db, true);
}

int cli_time_bound(const char *s, const char *what, int64_t *ret)
{
	if (!s)
		return 0;
	if (parse_time_spec(s, now_usec(), ret) < 0) {
		cli_err("invalid %s time '%s' (use YYYY-MM-DD [HH:MM[:SS]], @EPOCH or -1h, -2d)", what, s);
		return -EINVAL;
	}
	return 0;
}

void cli_nomatch(const struct cli *c, const char *match)
{
	if (c->quiet)
		return;
	if (userview_foreign(c, match))
		return;
	if (c->container && (!match || strncmp(match, CLI_MATCH_CONTAINER, strlen(CLI_MATCH_CONTAINER)) == 0))
		cli_err("no crash in container '%s'%s", c->container, c->since || c->until ? " in that time range" : "");
	else if (!match && c->n_terms > 0)
		cli_err("no crash matches those fields%s", c->since || c->until ? " in that time range" : "");
	else if (match)
		cli_err("no crash matches '%s'%s", match, c->since || c->until ? " in that time range" : "");
	else if (c->since || c->until)
		cli_err("no crashes in that time range");
	else
		cli_err("no crashes recorded");
}

/* The rows of crashes in container name (container_is on the record's
 * proc.container), the newest `limit` of them kept (0: all). The index has no
 * column for it: each row's record is read, one small file per crash in the
 * time window. Rows whose record cannot be read are left out. */
static void cli_filter_container(const char *name, struct index_row *rows, size_t *n, bool newest_first,
				 size_t limit)
{
	size_t keep = 0;

	for (size_t i = 0; i < *n; i++) {
		json_object *rec = NULL;
		bool in = rows[i].record_path && record_load(rows[i].record_path, &rec) >= 0 &&
			  container_is(record_obj(record_obj(rec, "proc"), "container"), name);
		json_object_put(rec);
		if (in)
			rows[keep++] = rows[i];
		else
			index_row_clear(&rows[i]);
	}
	/* oldest first: the newest `limit` are the last ones */
	if (limit > 0 && keep > limit && !newest_first) {
		for (size_t i = 0; i < keep - limit; i++)
			index_row_clear(&rows[i]);
		memmove(rows, rows + (keep - limit), limit * sizeof(*rows));
		keep = limit;
	}
	for (size_t i = limit; limit > 0 && i < keep; i++)
		index_row_clear(&rows[i]);
	if (limit > 0 && keep > limit)
		keep = limit;
	*n = keep;
}

/* Keep the rows that match the FIELD=VALUE terms, then the newest limit. */
static void cli_filter_rows(const struct cli *c, bool newest_first, size_t limit, struct index_row *rows, size_t *n)
{
	size_t k = 0;
	for (size_t i = 0; i < *n; i++) {
		if (match_row(&rows[i], c->terms, c->n_terms))
			rows[k++] = rows[i];
		else
			index_row_clear(&rows[i]);
	}
	*n = k;
	if (limit > 0 && k > limit) {
		/* Oldest first: the newest are at the end. */
		size_t drop = k - limit, from = newest_first ? limit : 0;
		for (size_t i = from; i < from + drop; i++)
			index_row_clear(&rows[i]);
		if (!newest_first)
			memmove(rows, rows + drop, limit * sizeof(*rows));
		*n = limit;
	}
}

int cli_filter(const struct cli *c, const char *match, bool newest_first, size_t limit, struct index_filter *f)
{
	*f = (struct index_filter){ .match = match, .newest_first = newest_first,
				    .limit = c->n_terms > 0 ? 0 : limit };
	match_index_filter(c->terms, c->n_terms, f);
	if (cli_time_bound(c->since, "--since", &f->since_usec) < 0 ||
	    cli_time_bound(c->until, "--until", &f->until_usec) < 0)
		return EXIT_USAGE;
	return 0;
}

/* Rows for the filter (*f is filled in); says nothing when there are none.
 * FIELD=VALUE terms are checked on each row (match.c): then the limit is
 * applied after them, not by the query. Returns an exit status. */
int cli_rows(struct cli *c, const char *match, bool newest_first, size_t limit, struct index_filter *f,
		    struct index_row **rows, size_t *n)
{
	sqlite3 *db = NULL;
	bool post = c->n_terms > 0;
	int r;

	/* MATCH "container=NAME" is --container NAME */
	if (match && strncmp(match, CLI_MATCH_CONTAINER, strlen(CLI_MATCH_CONTAINER)) == 0) {
		c->container = match + strlen(CLI_MATCH_CONTAINER);
		match = NULL;
	}
	post = post || c->container;
	/* info of an exact id: one lookup through the primary key, not a scan. */
	if (match && !post && cli_filter(c, match, newest_first, limit, f) == 0) {
		struct index_row w = { 0 };
		if (cli_open_index(c, &db) < 0)
			return EXIT_FAILURE;
		r = index_lookup(db, match, &w);
		index_close(db);
		db = NULL;
		if (r >= 0 && (!f->since_usec || w.time_usec >= f->since_usec) &&
		    (!f->until_usec || w.time_usec <= f->until_usec)) {
			*rows = malloc(sizeof(**rows));
			if (!*rows) {
				index_row_clear(&w);
				cli_err("out of memory");
				return EXIT_FAILURE;
			}
			(*rows)[0] = w;
			*n = 1;
			return 0;
		}
		if (r >= 0)
			index_row_clear(&w);
		else if (r != -ENOENT) {
			cli_err("index lookup failed: %s", strerror(-r));
			return EXIT_FAILURE;
		}
	}

	r = cli_filter(c, match, newest_first, limit, f);
	if (r != 0)
		return r;
	if (c->container)
		f->limit = 0; /* the container is judged on each row's record */
	if (cli_open_index(c, &db) < 0)
		return EXIT_FAILURE;
	r = index_query(db, f, rows, n);
	index_close(db);
	if (r < 0) {
		cli_err("index query failed: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	if (c->n_terms > 0)
		cli_filter_rows(c, newest_first, c->container ? 0 : limit, *rows, n);
	if (c->container)
		cli_filter_container(c->container, *rows, n, newest_first, limit);
	return 0;
}

json_object *cli_filter_notes(const struct cli *c, json_object *notes)
{
	if (c->n_terms == 0 || !notes)
		return notes;
	json_object *kept = json_object_new_array();
	if (!kept)
		return notes; /* out of memory: unfiltered notes are still notes */
	for (size_t i = 0; i < json_object_array_length(notes); i++) {
		json_object *o = json_object_array_get_idx(notes, i);
		if (match_note(o, c->terms, c->n_terms))
			json_object_array_add(kept, json_object_get(o));
	}
	json_object_put(notes);
	return kept;
}

void cli_print_json(const struct cli *c, json_object *o)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (c->json_short ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY);
	const char *s = json_object_to_json_string_ext(o, flags);
	puts(s ? s : "null");
}

/* Rows for the filter; prints the no-match message. Returns an exit status. */
int cli_query(struct cli *c, const char *match, bool newest_first, size_t limit, struct index_row **rows,
		     size_t *n)
{
	struct index_filter f;
	int r = cli_rows(c, match, newest_first, limit, &f, rows, n);
	if (r != 0)
		return r;
	if (*n == 0) {
		cli_nomatch(c, match);
		return EXIT_NOMATCH;
	}
	return 0;
}

static bool cli_is_pid(int64_t pid, const char *match)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%lld", (long long)pid);
	return strcmp(buf, match) == 0;
}

/* An id prefix that fits several crashes, stored or pending, names none (a
 * full id, or a PID, does). */
static bool cli_ambiguous(const char *match, const struct index_row *rows, size_t n, json_object *notes)
{
	size_t np = notes ? json_object_array_length(notes) : 0;
	bool all_prefix = true, pid_match = false;

	if (!match || n + np < 2)
		return false;
	for (size_t i = 0; i < n + np; i++) {
		json_object *o = i < n ? NULL : json_object_array_get_idx(notes, i - n);
		const char *id = o ? record_str(o, "id", "") : rows[i].id;
		if (strcmp(id, match) == 0)
			return false;
		all_prefix &= strncmp(id, match, strlen(match)) == 0;
		pid_match |= cli_is_pid(o ? record_i64(o, "pid", -1) : rows[i].pid, match);
	}
	return all_prefix && !pid_match;
}

/* One crash for info, stacks, dump and debug: the newest match among the
 * stored crashes and those still being processed, but a MATCH that is the id
 * of one of them picks it, and an id prefix that fits several is refused. On
 * success either *ret_pending is the id of a crash still being processed
 * (rows freed) or it is NULL and (*rows)[0] is the crash. Returns an exit
 * status. */
int cli_select(struct cli *c, const char *match, struct index_row **rows, size_t *n, char **ret_pending)
{
	struct index_filter f;
	/* Without a MATCH, the newest row is all there is to read. */
	int r = cli_rows(c, match, true, match ? 0 : 1, &f, rows, n);
	if (r != 0)
		return r;
	json_object *pend = cli_filter_notes(c, pending_select(&c->st, &f, rows, n)), *p = NULL;
	if (!pend) {
		cli_err("out of memory");
		index_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return EXIT_FAILURE;
	}
	size_t np = json_object_array_length(pend);
	char *id = NULL;
	if (*n == 0 && np == 0) {
		cli_nomatch(c, match);
		r = EXIT_NOMATCH;
	} else if (cli_ambiguous(match, *rows, *n, pend)) {
		cli_err("id prefix '%s' matches %zu crashes; give more of the id", match, *n + np);
		r = EXIT_AMBIGUOUS;
	} else {
		if (np > 0)
			p = json_object_array_get_idx(pend, np - 1);
		for (size_t i = 0; match && i < np; i++)
			if (strcmp(record_str(json_object_array_get_idx(pend, i), "id", ""), match) == 0)
				p = json_object_array_get_idx(pend, i);
		const struct index_row *w = *n > 0 ? &(*rows)[0] : NULL;
		if (p && w && strcmp(record_str(p, "id", ""), match ? match : "") != 0 &&
		    (strcmp(w->id, match ? match : "") == 0 || w->time_usec >= record_i64(p, "time_usec", 0)))
			p = NULL;
		if (p && !(id = strdup(record_str(p, "id", "")))) {
			cli_err("out of memory");
			r = EXIT_FAILURE;
		}
	}
	json_object_put(pend);
	if (r != 0 || id) {
		index_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	if (r == 0)
		*ret_pending = id;
	return r;
}

int cli_select_all(struct cli *c, const char *match, struct index_row **rows, size_t *n, json_object **ret_notes)
{
	struct index_filter f;
	int r = cli_rows(c, match, false, c->limit, &f, rows, n);
	if (r != 0)
		return r;
	json_object *pend = cli_filter_notes(c, pending_select(&c->st, &f, rows, n));
	size_t np = pend ? json_object_array_length(pend) : 0;
	if (*n == 0 && np == 0) {
		cli_nomatch(c, match);
		r = EXIT_NOMATCH;
	} else if (cli_ambiguous(match, *rows, *n, pend)) {
		cli_err("id prefix '%s' matches %zu crashes; give more of the id", match, *n + np);
		r = EXIT_AMBIGUOUS;
	}
	if (r != 0) {
		json_object_put(pend);
		index_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
		return r;
	}
	*ret_notes = pend;
	return 0;
}

/* A crash still being processed (mortemd may have it queued): wait a little
 * for its record. 0 when it is there, EXIT_PENDING (nothing said) when the
 * crash is still pending, else an exit status, said. */
int cli_pending_wait(const struct cli *c, const char *id)
{
	int r = pending_wait(&c->st, id, CLI_PENDING_WAIT_USEC, CLI_PENDING_POLL_USEC);
	if (r > 0)
		return 0;
	if (r == 0)
		return EXIT_PENDING;
	if (r == -ENOENT) {
		cli_err("crash %s was given up before it was stored", id);
		return EXIT_NOMATCH;
	}
	cli_err("crash %s: %s", id, strerror(-r));
	return EXIT_FAILURE;
}

/* The index row of a crash whose record has just been written: its
 * collector indexes it right after, so the row is waited for a little. No
 * time bounds: the crash was chosen within them already. */
static int cli_indexed(struct cli *c, const char *id, struct index_row **rows, size_t *n)
{
	struct index_filter f = { .match = id };
	int64_t end = now_usec() + CLI_INDEX_LAG_USEC;

	for (;;) {
		struct index_row *w = NULL;
		sqlite3 *db = NULL;
		size_t k = 0;
		if (cli_open_index(c, &db) < 0)
			return EXIT_FAILURE;
		int r = index_query(db, &f, &w, &k);
		index_close(db);
		if (r < 0) {
			cli_err("index query failed: %s", strerror(-r));
			return EXIT_FAILURE;
		}
		if (k > 0 && strcmp(w[0].id, id) == 0) {
			*rows = w;
			*n = k;
			return 0;
		}
		index_rows_free(w, k);
		if (now_usec() >= end) {
			cli_err("crash %s is stored but not in the index: run 'mortem reindex'", id);
			return EXIT_FAILURE;
		}
		(void)usleep(CLI_PENDING_POLL_USEC);
	}
}

/* One crash for stacks, dump and debug, chosen as info chooses it. A crash
 * still being processed is waited for as info waits, then read through the
 * index like any other; still pending then, it is an error (EXIT_PENDING). */
int cli_pick(struct cli *c, const char *match, struct index_row **rows, size_t *n)
{
	_cleanup_free_ char *pending = NULL;
	int r = cli_select(c, match, rows, n, &pending);
	if (r != 0 || !pending)
		return r;
	r = cli_pending_wait(c, pending);
	if (r == EXIT_PENDING)
		cli_err("crash %s is still being processed (pending); try again when 'mortem info %s' shows it",
			pending, pending);
	if (r != 0)
		return r;
	return cli_indexed(c, pending, rows, n);
}

/* The index rows as crashes to group: the executable, else the command name. */
struct usage_item *cli_usage_items(const struct cli *c, const struct index_row *rows, size_t n, bool sizes)
{
	struct usage_item *it = calloc(n ? n : 1, sizeof(*it));
	for (size_t i = 0; it && i < n; i++) {
		const struct index_row *w = &rows[i];
		it[i] = (struct usage_item){
			.id = w->id, .signature = w->signature, .slogan = w->slogan, .time_usec = w->time_usec,
			.exe = w->exe && *w->exe ? w->exe : w->comm && *w->comm ? w->comm : "-",
			.has_core = w->core_path != NULL,
		};
		if (sizes)
			it[i].bytes = usage_file_bytes(c->st.store_dir, w->id, ".core.zst") +
				      usage_file_bytes(c->st.store_dir, w->id, ".mini") +
				      usage_file_bytes(c->st.store_dir, w->id, ".json");
	}
	return it;
}
