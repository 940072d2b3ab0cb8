/* list.c: mortem list, a line per crash (stored, then still being
 * processed), and list --group, a line per crash signature. */
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cli/cli.h"
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

/* A pending crash in list: TIME PID UID SIG EXE, "pending" for the size. */
void list_print_pending(FILE *f, json_object *o)
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
	_cleanup_free_ char *es = text_escape(sig ? sig : "?"), *ee = text_escape(exe && *exe ? exe : "-");
	_cleanup_free_ char *ei = text_escape(record_str(o, "id", "?"));
	fprintf(f, "%-23s %7s %5s %-7s %-40s %7s %-16s  %s\n", t, pid, uid, es ? es : "?", ee ? ee : "?",
		parked ? "parked" : "pending", "-", ei ? ei : "?");
}

/* A stored crash in list: TIME PID UID SIG EXE SIZE SIGNATURE ID. */
void list_print_row(FILE *f, const struct index_row *w)
{
	char t[64], sz[16];
	const char *sig = signal_name(w->signal);
	const char *exe = w->exe && *w->exe ? w->exe : w->comm && *w->comm ? w->comm : "-";
	usage_local_time(w->time_usec, t, sizeof(t));
	if (w->core_status && strcmp(w->core_status, "stored") != 0)
		(void)text_escape_buf(w->core_status, sz, sizeof(sz));
	else
		format_size(w->stored_size, sz, sizeof(sz));
	_cleanup_free_ char *ee = text_escape(exe), *eg = text_escape(w->signature ? w->signature : "-");
	_cleanup_free_ char *ei = text_escape(w->id);
	fprintf(f, "%-23s %7lld %5lld %-7s %-40s %7s %-16s  %s\n", t, (long long)w->pid, (long long)w->uid,
		sig ? sig : "?", ee ? ee : "?", sz, eg ? eg : "?", ei ? ei : "?");
}

/* The stored crashes, then those still being processed (status "pending"). */
int list_crashes(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	struct index_filter f;
	size_t n = 0;
	int r;

	if (c->group) {
		r = cli_query(c, match, false, c->limit, &rows, &n);
		if (r == EXIT_NOMATCH && c->json) {
			puts("[]");
			return match || c->container ? EXIT_NOMATCH : 0;
		}
		if (r != 0)
			return r == EXIT_NOMATCH && !match && !c->container ? 0 : r;
		return list_group(c, rows, n);
	}
	r = cli_rows(c, match, c->reverse, c->limit, &f, &rows, &n);
	if (r != 0)
		return r;
	json_object *pend = pending_select(&c->st, &f, &rows, &n);
	if (c->container && pend) {
		/* a pending note does not say where the crash came from */
		json_object_put(pend);
		pend = json_object_new_array();
	}
	size_t np = json_object_array_length(pend);
	if (n == 0 && np == 0) {
		json_object_put(pend);
		cli_nomatch(c, match);
		if (c->json)
			puts("[]");
		return match || c->container ? EXIT_NOMATCH : 0;
	}

	if (c->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, list_row_record(&rows[i], false));
		for (size_t i = 0; i < np; i++) {
			json_object *o = json_object_array_get_idx(pend, c->reverse ? np - 1 - i : i), *core;
			core = json_object_new_object();
			json_object_object_add(core, "status", json_object_new_string("pending"));
			json_object_object_add(o, "core", core);
			json_object_array_add(arr, json_object_get(o));
		}
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else {
		printf("%-23s %7s %5s %-7s %-40s %7s %-16s  %s\n", "TIME", "PID", "UID", "SIG", "EXE", "SIZE", "SIGNATURE",
		       "ID");
		for (size_t i = 0; i < n; i++)
			list_print_row(stdout, &rows[i]);
		for (size_t i = 0; i < np; i++)
			list_print_pending(stdout, json_object_array_get_idx(pend, c->reverse ? np - 1 - i : i));
	}
	json_object_put(pend);
	index_rows_free(rows, n);
	return 0;
}

/* list --group: one line per signature (per executable without one). Takes rows. */
static int list_group(struct cli *c, struct index_row *rows, size_t n)
{
	_cleanup_free_ struct usage_item *items = cli_usage_items(c, rows, n, false);
	struct usage_group *g = NULL;
	struct winsize ws;
	size_t ng = 0;
	int r = items ? usage_group(items, n, USAGE_BY_SIGNATURE, USAGE_ORDER_LAST, &g, &ng) : -ENOMEM;
	if (r < 0) {
		cli_err("cannot group crashes: %s", strerror(-r));
		index_rows_free(rows, n);
		return EXIT_FAILURE;
	}
	size_t cols = isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 ? ws.ws_col : 0;
	usage_print_groups(stdout, items, g, ng, c->reverse, c->json, cols);
	usage_groups_free(g, ng);
	index_rows_free(rows, n);
	return 0;
}
