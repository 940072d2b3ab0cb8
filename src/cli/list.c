/* list.c: mortem list, a line per crash (stored, then still being
 * processed), and list --group, a line per crash signature. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "store/pending.h"
#include "store/record.h"
#include "store/usage.h"
#include "base/text.h"
#include "base/util.h"

static json_object *list_row_record(const struct index_row *row, bool with_proc)
{
	json_object *rec = NULL;
	if (row->record_path && record_load(row->record_path, &rec) >= 0) {
		if (!with_proc)
			json_object_object_del(rec, "proc");
		return rec;
	}
	/* The record went missing under us: say what the index knows. */
	rec = json_object_new_object();
	json_object_object_add(rec, "id", json_object_new_string(row->id));
	json_object_object_add(rec, "time_usec", json_object_new_int64(row->time_usec));
	json_object_object_add(rec, "pid", json_object_new_int64(row->pid));
	json_object_object_add(rec, "error", json_object_new_string("record file unreadable"));
	return rec;
}

static int list_group(struct cli *c, struct index_row *rows, size_t n);

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
	if (w->core_status && strcmp(w->core_status, "stored") != 0)
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

/* The JSON array, one element at a time: never the whole array in memory. */
static void list_json_elem(const struct cli *c, json_object *o, size_t *count)
{
	int flags = JSON_C_TO_STRING_NOSLASHESCAPE | (c->json_short ? JSON_C_TO_STRING_PLAIN : JSON_C_TO_STRING_PRETTY);
	const char *s = o ? json_object_to_json_string_ext(o, flags) : NULL;
	fputs(*count == 0 ? (c->json_short ? "[" : "[\n") : (c->json_short ? "," : ",\n"), stdout);
	fputs(s ? s : "null", stdout);
	(*count)++;
}

static void list_json_end(const struct cli *c, size_t count)
{
	puts(count == 0 ? "[]" : c->json_short ? "]" : "\n]");
}

/* The stored crashes, then those still being processed (status "pending"). */
int list_crashes(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	struct index_filter f;
	size_t n = 0;
	int r, fld = -1;

	if (c->field && (fld = match_field_lookup(c->field)) < 0) {
		cli_err("unknown field '%s' for -F: %s", c->field, match_field_names());
		return EXIT_USAGE;
	}
	if (c->group) {
		r = cli_query(c, match, false, c->limit, &rows, &n);
		if (r == EXIT_NOMATCH && c->json) {
			puts("[]");
			return match || c->n_terms ? EXIT_NOMATCH : 0;
		}
		if (r != 0)
			return r == EXIT_NOMATCH && !match && !c->n_terms ? 0 : r;
		return list_group(c, rows, n);
	}
	r = cli_rows(c, match, c->reverse, c->limit, &f, &rows, &n);
	if (r != 0)
		return r;
	json_object *pend = cli_filter_notes(c, pending_select(&c->st, &f, &rows, &n));
	size_t np = pend ? json_object_array_length(pend) : 0;
	if (n == 0 && np == 0) {
		json_object_put(pend);
		cli_nomatch(c, match);
		if (c->json && fld < 0)
			puts("[]");
		return match || c->n_terms ? EXIT_NOMATCH : 0;
	}
	size_t np_all = pend ? json_object_array_length(pend) : 0;
	/* The newest np notes, in the order asked for. */
#define LIST_NOTE(i) json_object_array_get_idx(pend, c->reverse ? np_all - 1 - (i) : np_all - np + (i))

	size_t exe_cols = list_exe_cols(c->columns);
	(void)term_pager_open(c->no_pager);
	if (fld >= 0) {
		char buf[MATCH_VALUE_MAX];
		for (size_t i = 0; i < n; i++)
			list_print_field(fld, match_row_value(&rows[i], fld, buf, sizeof(buf)));
		for (size_t i = 0; i < np; i++)
			list_print_field(fld, match_note_value(LIST_NOTE(i), fld, buf, sizeof(buf)));
	} else if (c->json) {
		size_t count = 0;
		for (size_t i = 0; i < n; i++) {
			json_object *rec = list_row_record(&rows[i], false);
			list_json_elem(c, rec, &count);
			json_object_put(rec);
		}
		for (size_t i = 0; i < np; i++) {
			json_object *o = LIST_NOTE(i), *core = json_object_new_object();
			if (core) {
				json_object_object_add(core, "status", json_object_new_string("pending"));
				json_object_object_add(o, "core", core);
			}
			list_json_elem(c, o, &count);
		}
		list_json_end(c, count);
	} else {
		if (!c->no_legend) {
			fprintf(stdout, "%-23s %7s %5s %-7s ", "TIME", "PID", "UID", "SIG");
			term_put_column(stdout, "EXE", exe_cols, LIST_EXE_COLS);
			fprintf(stdout, " %7s %-16s  %s\n", "SIZE", "SIGNATURE", "ID");
		}
		for (size_t i = 0; i < n; i++)
			list_print_row(stdout, &rows[i], exe_cols);
		for (size_t i = 0; i < np; i++)
			list_print_pending(stdout, LIST_NOTE(i), exe_cols);
	}
#undef LIST_NOTE
	json_object_put(pend);
	index_rows_free(rows, n);
	return 0;
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
