/* list.c: mortem list, a line per crash (stored, then still being
 * processed), and list --group, a line per crash signature. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "cli/show.h"
#include "cli/term.h"
#include "capture/container.h"
#include "store/pending.h"
#include "store/record.h"
#include "store/usage.h"
#include "base/parse.h"
#include "base/text.h"
#include "base/util.h"

static json_object *list_row_record(const struct index_row *row, bool with_proc)
{
	json_object *rec = NULL;
	if (row->record_path && record_load(row->record_path, &rec) >= 0) {
		if (!with_proc)
			json_object_object_del(rec, "proc");
		show_mark_present(rec);
		return rec;
	}
	/* The record went missing under us: say what the index knows. */
	rec = json_object_new_object();
	if (!rec)
		return NULL;
	json_object_object_add(rec, "id", json_object_new_string(row->id));
	json_object_object_add(rec, "time_usec", json_object_new_int64(row->time_usec));
	json_object_object_add(rec, "pid", json_object_new_int64(row->pid));
	json_object_object_add(rec, "error", json_object_new_string("record file unreadable"));
	return rec;
}

static int list_group(struct cli *c, struct index_row *rows, size_t n);
static int list_group_stream(struct cli *c, const char *match);

/* The columns around EXE: TIME PID UID SIG before, SIZE SIGNATURE after,
 * and an id (the last column, never cut) of its usual length. */
#define LIST_FIXED_COLS (23 + 1 + 7 + 1 + 5 + 1 + 7 + 1 + 1 + 7 + 1 + 16 + 2)
#define LIST_ID_COLS 40     /* "20250101T000000.000000Z-0000abcd-" and a PID of up to 7 digits */
#define LIST_EXE_COLS_MIN 12 /* below this a path says nothing: the line wraps */

size_t list_exe_cols(size_t cols)
{
	if (cols == 0)
		return 0;
	return cols > LIST_FIXED_COLS + LIST_ID_COLS + LIST_EXE_COLS_MIN ? cols - LIST_FIXED_COLS - LIST_ID_COLS
									  : LIST_EXE_COLS_MIN;
}

/* A pending crash in list: TIME PID UID SIG EXE, "pending" for the size. */
void list_print_pending(FILE *f, json_object *o, size_t exe_cols)
{
	char t[64], pid[24] = "-", uid[24] = "-";
	const char *sig = record_str(o, "signal_name", NULL), *exe = record_str(o, "exe", NULL);
	if (!exe || !*exe)
		exe = record_str(o, "comm", NULL);
	usage_local_time(record_i64(o, "time_usec", 0), t, sizeof(t));
	if (json_object_object_get_ex(o, "pid", NULL))
		snprintf(pid, sizeof(pid), "%lld", (long long)record_i64(o, "pid", 0));
	if (json_object_object_get_ex(o, "uid", NULL))
		snprintf(uid, sizeof(uid), "%lld", (long long)record_i64(o, "uid", 0));
	bool parked = json_object_get_boolean(json_object_object_get(o, "parked"));
	_cleanup_free_ char *es = text_escape(sig ? sig : "?");
	_cleanup_free_ char *ei = text_escape(record_str(o, "id", "?"));
	fprintf(f, "%-23s %7s %5s %-7s ", t, pid, uid, es ? es : "?");
	term_put_column(f, exe && *exe ? exe : "-", exe_cols, LIST_EXE_COLS);
	fprintf(f, " %7s %-16s  %s\n", parked ? "parked" : "pending", "-", ei ? ei : "?");
}

/* A stored crash in list: TIME PID UID SIG EXE SIZE SIGNATURE ID. */
void list_print_row(FILE *f, const struct index_row *w, size_t exe_cols)
{
	char t[64], sz[16];
	const char *sig = signal_name(w->signal);
	const char *exe = w->exe && *w->exe ? w->exe : w->comm && *w->comm ? w->comm : "-";
	usage_local_time(w->time_usec, t, sizeof(t));
	/* A core deleted by hand: one stat per row that names a file. */
	struct stat sb;
	if (w->core_path && *w->core_path == '/' && stat(w->core_path, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR))
		snprintf(sz, sizeof(sz), "missing");
	else if (w->core_status && strcmp(w->core_status, "stored") != 0)
		(void)text_escape_buf(w->core_status, sz, sizeof(sz));
	else
		format_size(w->stored_size, sz, sizeof(sz));
	_cleanup_free_ char *eg = text_escape(w->signature ? w->signature : "-");
	_cleanup_free_ char *ei = text_escape(w->id);
	fprintf(f, "%-23s %7lld %5lld %-7s ", t, (long long)w->pid, (long long)w->uid, sig ? sig : "?");
	term_put_column(f, exe, exe_cols, LIST_EXE_COLS);
	fprintf(f, " %7s %-16s  %s\n", sz, eg ? eg : "?", ei ? ei : "?");
}

/* -F FIELD: the value, escaped (base/text.h: it came from the crashed
 * process); nothing for a crash without one, as coredumpctl skips it. */
static void list_print_field(enum match_field fld, const char *v)
{
	if (!v)
		return;
	text_fputs(v, stdout);
	putchar('\n');
}

/* One listing in progress: rows are printed as the index yields them. */
struct list_run {
	struct cli *c;
	int fld;              /* -F: the field to print, or -1 */
	size_t exe_cols;      /* the EXE column's width (0: whole paths) */
	size_t count;         /* crashes printed */
	const char *pid_only; /* a MATCH that is the PID of a pending crash: a PID for the stored ones too */
	bool post;            /* FIELD=VALUE terms to check on each row */
	int err;              /* the first error met while printing (a negative errno) */
};

/* Before the first crash: the pager, then the table's legend or the JSON
 * array's bracket. */
static void list_begin(struct list_run *L)
{
	const struct cli *c = L->c;
	(void)term_pager_open(c->no_pager);
	if (L->fld >= 0)
		return;
	if (c->json) {
		fputs(c->json_short ? "[" : "[\n", stdout);
		return;
	}
	if (!c->no_legend) {
		fprintf(stdout, "%-23s %7s %5s %-7s ", "TIME", "PID", "UID", "SIG");
		term_put_column(stdout, "EXE", L->exe_cols, LIST_EXE_COLS);
		fprintf(stdout, " %7s %-16s  %s\n", "SIZE", "SIGNATURE", "ID");
	}
}

/* A JSON element of the array (o NULL: out of memory, said once). */
static void list_json_elem(struct list_run *L, json_object *o)
{
	const struct cli *c = L->c;
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (c->json_short ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY);
	const char *s = o ? json_object_to_json_string_ext(o, flags) : NULL;
	if (!s) {
		if (!L->err)
			cli_err("out of memory");
		L->err = -ENOMEM;
		return;
	}
	if (L->count > 0)
		fputs(c->json_short ? "," : ",\n", stdout);
	fputs(s, stdout);
}

static void list_end(struct list_run *L)
{
	const struct cli *c = L->c;
	if (L->fld < 0 && c->json)
		puts(L->count == 0 ? "[]" : c->json_short ? "]" : "\n]");
}

/* A stored crash: checked against the terms, then printed. The row's
 * strings are SQLite's until the call returns (index_query_each). */
/* The checks the index cannot make: the FIELD=VALUE terms, and --container
 * (the record's proc.container: each row's record is read). */
static bool list_row_wanted(const struct list_run *L, const struct index_row *w)
{
	if (!match_row(w, L->c->terms, L->c->n_terms))
		return false;
	if (!L->c->container)
		return true;
	json_object *rec = NULL;
	bool in = w->record_path && record_load(w->record_path, &rec) >= 0 &&
		  container_is(record_obj(record_obj(rec, "proc"), "container"), L->c->container);
	json_object_put(rec);
	return in;
}

static int list_emit_row(const struct index_row *w, void *userdata)
{
	struct list_run *L = userdata;
	char buf[MATCH_VALUE_MAX];

	if (L->pid_only && strcmp(match_row_value(w, MATCH_F_PID, buf, sizeof(buf)), L->pid_only) != 0)
		return 0;
	if (L->post && !list_row_wanted(L, w))
		return 0;
	if (L->count == 0)
		list_begin(L);
	if (L->fld >= 0) {
		list_print_field(L->fld, match_row_value(w, L->fld, buf, sizeof(buf)));
	} else if (L->c->json) {
		json_object *rec = list_row_record(w, false);
		list_json_elem(L, rec);
		json_object_put(rec);
	} else {
		list_print_row(stdout, w, L->exe_cols);
	}
	L->count++;
	/* A reader gone (the pager quit, a closed pipe): stop reading the index. */
	if (ferror(stdout))
		return L->err = -EPIPE;
	return L->err < 0 ? L->err : 0;
}

/* A crash still being processed, after the stored ones. */
static void list_emit_note(struct list_run *L, json_object *o)
{
	char buf[MATCH_VALUE_MAX];
	if (L->count == 0)
		list_begin(L);
	if (L->fld >= 0) {
		list_print_field(L->fld, match_note_value(o, L->fld, buf, sizeof(buf)));
	} else if (L->c->json) {
		json_object *core = json_object_new_object();
		if (!core || json_object_object_add(o, "core", core) < 0) {
			json_object_put(core);
			list_json_elem(L, NULL);
		} else {
			json_object_object_add(core, "status", json_object_new_string("pending"));
			list_json_elem(L, o);
		}
	} else {
		list_print_pending(stdout, o, L->exe_cols);
	}
	L->count++;
}

/* Keeps the newest limit rows that pass the terms (rows come newest first):
 * -n and -1 with FIELD=VALUE, which the query's LIMIT cannot do. */
struct list_keep {
	struct list_run *L;
	struct index_row *rows; /* copies, newest first */
	size_t n, cap, limit;
};

static int list_keep_row(const struct index_row *w, void *userdata)
{
	struct list_keep *k = userdata;
	char buf[MATCH_VALUE_MAX];
	if (k->L->pid_only && strcmp(match_row_value(w, MATCH_F_PID, buf, sizeof(buf)), k->L->pid_only) != 0)
		return 0;
	if (!list_row_wanted(k->L, w))
		return 0;
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 64;
		struct index_row *nr = reallocarray(k->rows, cap, sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		k->rows = nr;
		k->cap = cap;
	}
	struct index_row *d = &k->rows[k->n];
	*d = *w;
#define LIST_DUP(f) (d->f = w->f ? strdup(w->f) : NULL, !w->f || d->f)
	bool ok = LIST_DUP(id) & LIST_DUP(comm) & LIST_DUP(exe) & LIST_DUP(unit) & LIST_DUP(hostname) &
		  LIST_DUP(boot_id) & LIST_DUP(core_status) & LIST_DUP(core_path) & LIST_DUP(record_path) &
		  LIST_DUP(signature) & LIST_DUP(slogan) & LIST_DUP(slice);
#undef LIST_DUP
	k->n++;
	if (!ok)
		return -ENOMEM;
	return k->n == k->limit ? 1 : 0;
}

static bool list_all_digits(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* The stored crashes, streamed from the index as it yields them (memory
 * does not grow with the store), then those still being processed. */
int list_crashes(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	struct index_filter f;
	struct list_run L = { .c = c, .fld = -1, .post = c->n_terms > 0 || c->container };
	size_t n = 0;
	sqlite3 *db = NULL;
	int r;

	if (c->field && (L.fld = match_field_lookup(c->field)) < 0) {
		cli_err("unknown field '%s' for -F: %s", c->field, match_field_names());
		return EXIT_USAGE;
	}
	/* MATCH "container=NAME" is --container NAME */
	if (match && strncmp(match, CLI_MATCH_CONTAINER, strlen(CLI_MATCH_CONTAINER)) == 0) {
		c->container = match + strlen(CLI_MATCH_CONTAINER);
		match = NULL;
	}
	L.post = c->n_terms > 0 || c->container;
	if (c->group && !((c->n_terms > 0 || c->container) && c->limit > 0))
		return list_group_stream(c, match);
	if (c->group) {
		r = cli_query(c, match, false, c->limit, &rows, &n);
		if (r == EXIT_NOMATCH && c->json) {
			puts("[]");
			return match || c->n_terms || c->container ? EXIT_NOMATCH : 0;
		}
		if (r != 0)
			return r == EXIT_NOMATCH && !match && !c->n_terms && !c->container ? 0 : r;
		return list_group(c, rows, n);
	}
	r = cli_filter(c, match, c->reverse, c->limit, &f);
	if (r != 0)
		return r;
	if (cli_open_index(c, &db) < 0)
		return EXIT_FAILURE;
	/* The notes first, against no rows: which of them are stored already is
	 * asked of the index afterwards, one lookup each. */
	json_object *pend = cli_filter_notes(c, pending_select(&c->st, &f, &rows, &n));
	if (c->container && pend) {
		/* a pending note does not say where the crash came from */
		json_object_put(pend);
		pend = json_object_new_array();
	}
	if (!pend) {
		index_close(db);
		cli_err("out of memory");
		return EXIT_FAILURE;
	}
	int64_t mpid;
	for (size_t i = 0; list_all_digits(f.match) && parse_i64(f.match, &mpid) == 0 &&
			   i < json_object_array_length(pend); i++)
		if (record_i64(json_object_array_get_idx(pend, i), "pid", -1) == mpid)
			L.pid_only = f.match;
	L.exe_cols = list_exe_cols(c->columns);

	if (L.post && c->limit > 0) {
		struct list_keep k = { .L = &L, .limit = c->limit };
		struct index_filter nf = f;
		nf.newest_first = true;
		nf.limit = 0;
		r = index_query_each(db, &nf, list_keep_row, &k);
		L.post = false; /* checked already */
		L.pid_only = NULL;
		for (size_t i = 0; r >= 0 && i < k.n && !L.err; i++)
			(void)list_emit_row(&k.rows[c->reverse ? i : k.n - 1 - i], &L);
		index_rows_free(k.rows, k.n);
	} else {
		r = index_query_each(db, &f, list_emit_row, &L);
	}
	if (r < 0 && r != -EPIPE) {
		cli_err("index query failed: %s", strerror(-r));
		index_close(db);
		json_object_put(pend);
		return EXIT_FAILURE;
	}
	size_t np = json_object_array_length(pend);
	for (size_t i = 0; i < np && !L.err; i++) {
		json_object *o = json_object_array_get_idx(pend, c->reverse ? np - 1 - i : i);
		struct index_row w = { 0 };
		/* Published while we listed: it was listed (or filtered) as stored. */
		if (index_lookup(db, record_str(o, "id", ""), &w) >= 0) {
			index_row_clear(&w);
			continue;
		}
		list_emit_note(&L, o);
	}
	index_close(db);
	json_object_put(pend);
	if (L.count == 0) {
		cli_nomatch(c, match);
		if (c->json && L.fld < 0)
			puts("[]");
		return match || c->n_terms || c->container ? EXIT_NOMATCH : 0;
	}
	list_end(&L);
	if (fflush(stdout) != 0 || L.err == -EPIPE)
		return EXIT_FAILURE;
	return L.err < 0 ? EXIT_FAILURE : 0;
}

/* list --group: one line per signature (per executable without one). Takes rows. */
static int list_group(struct cli *c, struct index_row *rows, size_t n)
{
	_cleanup_free_ struct usage_item *items = cli_usage_items(c, rows, n, false);
	struct usage_group *g = NULL;
	size_t ng = 0;
	int r = items ? usage_group(items, n, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g, &ng) : -ENOMEM;
	if (r < 0) {
		cli_err("cannot group crashes: %s", strerror(-r));
		index_rows_free(rows, n);
		return EXIT_FAILURE;
	}
	(void)term_pager_open(c->no_pager);
	usage_print_groups(stdout, items, g, ng, c->reverse, c->json, c->columns);
	usage_groups_free(g, ng);
	index_rows_free(rows, n);
	return 0;
}

/* Strings many crashes share (an executable, a signature, its slogan), kept
 * once: open addressing, grown at half full. */
struct list_intern {
	char **slot;
	size_t cap, n;
};

static uint64_t list_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static const char *list_intern(struct list_intern *t, const char *s)
{
	if (!s)
		return NULL;
	if (2 * (t->n + 1) > t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 256;
		char **ns = calloc(cap, sizeof(*ns));
		if (!ns)
			return NULL;
		for (size_t i = 0; i < t->cap; i++)
			if (t->slot[i]) {
				size_t k = list_hash(t->slot[i]) & (cap - 1);
				while (ns[k])
					k = (k + 1) & (cap - 1);
				ns[k] = t->slot[i];
			}
		free(t->slot);
		t->slot = ns;
		t->cap = cap;
	}
	size_t k = list_hash(s) & (t->cap - 1);
	for (; t->slot[k]; k = (k + 1) & (t->cap - 1))
		if (strcmp(t->slot[k], s) == 0)
			return t->slot[k];
	if (!(t->slot[k] = strdup(s)))
		return NULL;
	t->n++;
	return t->slot[k];
}

/* The crashes to group, streamed in: a small item each (its id and time;
 * its executable, signature and slogan interned), not the whole index row. */
struct list_gather {
	struct list_run *L;
	struct usage_item *items;
	size_t n, cap;
	struct list_intern strs;
};

static int list_gather_row(const struct index_row *w, void *userdata)
{
	struct list_gather *g = userdata;
	char buf[MATCH_VALUE_MAX];
	if (g->L->pid_only && strcmp(match_row_value(w, MATCH_F_PID, buf, sizeof(buf)), g->L->pid_only) != 0)
		return 0;
	if (g->L->post && !list_row_wanted(g->L, w))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? 2 * g->cap : 256;
		struct usage_item *ni = reallocarray(g->items, cap, sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		g->items = ni;
		g->cap = cap;
	}
	const char *exe = w->exe && *w->exe ? w->exe : w->comm && *w->comm ? w->comm : "-";
	struct usage_item *it = &g->items[g->n];
	*it = (struct usage_item){ .id = strdup(w->id), .exe = list_intern(&g->strs, exe),
				   .signature = list_intern(&g->strs, w->signature),
				   .slogan = list_intern(&g->strs, w->slogan), .time_usec = w->time_usec,
				   .has_core = w->core_path != NULL };
	if (!it->id || !it->exe || (w->signature && !it->signature) || (w->slogan && !it->slogan)) {
		free((char *)it->id);
		return -ENOMEM;
	}
	g->n++;
	return 0;
}

/* list --group, the rows streamed from the index (a FIELD=VALUE with -n
 * needs the newest rows after the check: list_group's path). */
static int list_group_stream(struct cli *c, const char *match)
{
	struct list_run L = { .c = c, .fld = -1, .post = c->n_terms > 0 || c->container };
	struct list_gather g = { .L = &L };
	struct index_filter f;
	struct usage_group *gr = NULL;
	size_t ng = 0;
	sqlite3 *db = NULL;
	int r, rc = 0;

	r = cli_filter(c, match, false, c->limit, &f);
	if (r != 0)
		return r;
	if (cli_open_index(c, &db) < 0)
		return EXIT_FAILURE;
	r = index_query_each(db, &f, list_gather_row, &g);
	index_close(db);
	if (r < 0) {
		cli_err(r == -ENOMEM ? "cannot group crashes: %s" : "index query failed: %s", strerror(-r));
		rc = EXIT_FAILURE;
	} else if (g.n == 0) {
		cli_nomatch(c, match);
		if (c->json)
			puts("[]");
		rc = match || c->n_terms || c->container ? EXIT_NOMATCH : 0;
	} else if ((r = usage_group(g.items, g.n, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &gr, &ng)) < 0) {
		cli_err("cannot group crashes: %s", strerror(-r));
		rc = EXIT_FAILURE;
	} else {
		(void)term_pager_open(c->no_pager);
		usage_print_groups(stdout, g.items, gr, ng, c->reverse, c->json, c->columns);
		usage_groups_free(gr, ng);
	}
	for (size_t i = 0; i < g.n; i++)
		free((char *)g.items[i].id);
	free(g.items);
	for (size_t i = 0; i < g.strs.cap; i++)
		free(g.strs.slot[i]);
	free(g.strs.slot);
	return rc;
}
