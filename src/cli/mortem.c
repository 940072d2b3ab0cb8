/* mortem: list, read, export and debug stored crashes (coredumpctl-style).
 *
 * Exit statuses (documented in mortem(1)):
 *   0 success, 1 failure, 2 usage error, 3 no crash matches, 4 ambiguous id
 *   prefix (rm: a MATCH that fits several crashes, without --all), 5 the crash
 *   has no stored core (analyze: no minicore), 6 the crash is still being
 *   processed (stacks, dump, debug, analyze). vacuum: 1 also when the store
 *   stays over its limits; analyze: 1 also when the new analysis failed. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>

#include "base/config.h"
#include "cli/doctor.h"
#include "cli/enable.h"
#include "store/index.h"
#include "base/parse.h"
#include "store/park.h"
#include "store/pending.h"
#include "store/quota.h"
#include "store/reanalyze.h"
#include "store/record.h"
#include "cli/show.h"
#include "store/store.h"
#include "store/usage.h"
#include "base/util.h"
#include "core/zst.h"

#define CLI_PENDING_WAIT_USEC (10 * 1000000) /* a crash still being processed is waited for this long */
#define CLI_PENDING_POLL_USEC 100000        /* for its record to appear, looking this often */
#define CLI_INDEX_LAG_USEC (2 * 1000000)    /* and then for its index row, which follows the record */

enum {
	EXIT_USAGE = 2,
	EXIT_NOMATCH = 3,
	EXIT_AMBIGUOUS = 4,
	EXIT_NOCORE = 5,
	EXIT_PENDING = 6,
};

struct cli {
	struct mortem_config cfg;
	struct store st;
	const char *config_path;
	bool json;
	const char *since, *until, *output, *debugger;
	bool reverse, all;
	bool dry_run, group;   /* vacuum --dry-run, list --group */
	char **matches;        /* rm: every MATCH (points into argv) */
	size_t n_matches;
	size_t limit;
	bool force, runtime;   /* enable */
	const char *collector; /* enable --collector */
	enum enable_mode mode; /* enable --mode */
};

static void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("mortem: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void cli_config_warn(void *userdata, const char *msg)
{
	cli_err("%s", msg);
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

static int cli_open_index(struct cli *c, sqlite3 **db)
{
	bool existed = access(c->st.index_path, F_OK) == 0;
	int r;

	if (!existed && access(c->st.root, F_OK) < 0) {
		cli_err("no crash store at %s (nothing collected yet?)", c->st.root);
		return -ENOENT;
	}
	r = index_open(c->st.index_path, db);
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

static int cli_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cli_time_bound(const char *s, const char *what, int64_t *ret)
{
	if (!s)
		return 0;
	if (parse_time(s, now_usec(), ret) < 0) {
		cli_err("invalid %s time '%s' (use YYYY-MM-DD [HH:MM[:SS]], @EPOCH or -1h, -2d)", what, s);
		return -EINVAL;
	}
	return 0;
}

static void cli_nomatch(const struct cli *c, const char *match)
{
	if (match)
		cli_err("no crash matches '%s'%s", match, c->since || c->until ? " in that time range" : "");
	else if (c->since || c->until)
		cli_err("no crashes in that time range");
	else
		cli_err("no crashes recorded");
}

/* Rows for the filter (*f is filled in); says nothing when there are none.
 * Returns an exit status. */
static int cli_rows(struct cli *c, const char *match, bool newest_first, size_t limit, struct index_filter *f,
		    struct index_row **rows, size_t *n)
{
	sqlite3 *db = NULL;
	int r;

	*f = (struct index_filter){ .match = match, .newest_first = newest_first, .limit = limit };
	if (cli_time_bound(c->since, "--since", &f->since_usec) < 0 ||
	    cli_time_bound(c->until, "--until", &f->until_usec) < 0)
		return EXIT_USAGE;
	if (cli_open_index(c, &db) < 0)
		return EXIT_FAILURE;
	r = index_query(db, f, rows, n);
	index_close(db);
	if (r < 0) {
		cli_err("index query failed: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	return 0;
}

/* Rows for the filter; prints the no-match message. Returns an exit status. */
static int cli_query(struct cli *c, const char *match, bool newest_first, size_t limit, struct index_row **rows,
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

static json_object *cli_row_record(const struct index_row *row, bool with_proc)
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

static int cli_list_group(struct cli *c, struct index_row *rows, size_t n);

/* A pending crash in list: TIME PID UID SIG EXE, "pending" for the size. */
static void cli_list_pending(json_object *o)
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
	printf("%-23s %7s %5s %-7s %-40s %7s %-16s  %s\n", t, pid, uid, sig ? sig : "?", exe && *exe ? exe : "-",
	       parked ? "parked" : "pending", "-", record_str(o, "id", "?"));
}

/* The stored crashes, then those still being processed (status "pending"). */
static int cli_list(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	struct index_filter f;
	size_t n = 0;
	int r;

	if (c->group) {
		r = cli_query(c, match, false, c->limit, &rows, &n);
		if (r == EXIT_NOMATCH && c->json) {
			puts("[]");
			return match ? EXIT_NOMATCH : 0;
		}
		if (r != 0)
			return r == EXIT_NOMATCH && !match ? 0 : r;
		return cli_list_group(c, rows, n);
	}
	r = cli_rows(c, match, c->reverse, c->limit, &f, &rows, &n);
	if (r != 0)
		return r;
	json_object *pend = pending_select(&c->st, &f, &rows, &n);
	size_t np = json_object_array_length(pend);
	if (n == 0 && np == 0) {
		json_object_put(pend);
		cli_nomatch(c, match);
		if (c->json)
			puts("[]");
		return match ? EXIT_NOMATCH : 0;
	}

	if (c->json) {
		json_object *arr = json_object_new_array();
		for (size_t i = 0; i < n; i++)
			json_object_array_add(arr, cli_row_record(&rows[i], false));
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
		for (size_t i = 0; i < n; i++) {
			struct index_row *w = &rows[i];
			char t[64], sz[16];
			const char *sig = signal_name(w->signal);
			const char *exe = w->exe && *w->exe ? w->exe : w->comm && *w->comm ? w->comm : "-";
			usage_local_time(w->time_usec, t, sizeof(t));
			if (w->core_status && strcmp(w->core_status, "stored") != 0)
				snprintf(sz, sizeof(sz), "%s", w->core_status);
			else
				format_size(w->stored_size, sz, sizeof(sz));
			printf("%-23s %7lld %5lld %-7s %-40s %7s %-16s  %s\n", t, (long long)w->pid, (long long)w->uid,
			       sig ? sig : "?", exe, sz, w->signature ? w->signature : "-", w->id);
		}
		for (size_t i = 0; i < np; i++)
			cli_list_pending(json_object_array_get_idx(pend, c->reverse ? np - 1 - i : i));
	}
	json_object_put(pend);
	index_rows_free(rows, n);
	return 0;
}

/* The index rows as crashes to group: the executable, else the command name. */
static struct usage_item *cli_usage_items(const struct cli *c, const struct index_row *rows, size_t n, bool sizes)
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

/* list --group: one line per signature (per executable without one). Takes rows. */
static int cli_list_group(struct cli *c, struct index_row *rows, size_t n)
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

static int cli_info_show(const struct cli *c, const char *path)
{
	json_object *rec = NULL;
	int r = record_load(path, &rec);
	if (r < 0) {
		cli_err("cannot read record %s: %s", path, strerror(-r));
		return EXIT_FAILURE;
	}
	if (c->json)
		puts(json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		show_info(stdout, rec);
	json_object_put(rec);
	return 0;
}

/* One crash for info, stacks, dump and debug: the newest match among the
 * stored crashes and those still being processed, but a MATCH that is the id
 * of one of them picks it, and an id prefix that fits several is refused. On
 * success either *ret_pending is the id of a crash still being processed
 * (rows freed) or it is NULL and (*rows)[0] is the crash. Returns an exit
 * status. */
static int cli_select(struct cli *c, const char *match, struct index_row **rows, size_t *n, char **ret_pending)
{
	struct index_filter f;
	int r = cli_rows(c, match, true, 0, &f, rows, n);
	if (r != 0)
		return r;
	json_object *pend = pending_select(&c->st, &f, rows, n), *p = NULL;
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

/* A crash still being processed (mortemd may have it queued): wait a little
 * for its record. 0 when it is there, EXIT_PENDING (nothing said) when the
 * crash is still pending, else an exit status, said. */
static int cli_pending_wait(const struct cli *c, const char *id)
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

/* info on a crash still being processed: its record once written, else that
 * it is pending (exit 0: the crash exists). */
static int cli_info_pending(const struct cli *c, const char *id)
{
	_cleanup_free_ char *rp = store_path(c->st.store_dir, id, ".json");
	int r = rp ? cli_pending_wait(c, id) : (cli_err("out of memory"), EXIT_FAILURE);

	if (r == 0)
		return cli_info_show(c, rp);
	if (r != EXIT_PENDING)
		return r;
	bool parked = park_exists(c->st.spool_dir, id);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "status", json_object_new_string("pending"));
		if (parked)
			json_object_object_add(o, "parked", json_object_new_boolean(true));
		puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
	} else if (parked) {
		printf("crash %s is pending: a stop of mortemd parked it, and mortemd stores it when it runs again\n", id);
	} else {
		printf("crash %s is still being processed (pending)\n", id);
	}
	return 0;
}

/* The newest crash that matches, stored or still being processed. */
static int cli_info(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	size_t n = 0;
	_cleanup_free_ char *pending = NULL;
	int r = cli_select(c, match, &rows, &n, &pending);
	if (r != 0)
		return r;
	r = pending ? cli_info_pending(c, pending) : cli_info_show(c, rows[0].record_path);
	index_rows_free(rows, n);
	return r;
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
static int cli_pick(struct cli *c, const char *match, struct index_row **rows, size_t *n)
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

static int cli_stacks(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	size_t n = 0;
	json_object *rec = NULL;
	int r = cli_pick(c, match, &rows, &n);
	if (r != 0)
		return r;
	r = record_load(rows[0].record_path, &rec);
	if (r < 0) {
		cli_err("cannot read record %s: %s", rows[0].record_path, strerror(-r));
		index_rows_free(rows, n);
		return EXIT_FAILURE;
	}
	show_stacks(stdout, rec, c->all);
	json_object_put(rec);
	index_rows_free(rows, n);
	return 0;
}

/* Decompress the chosen crash's core into out_fd. */
static int cli_write_core(const struct index_row *row, int out_fd)
{
	_cleanup_close_ int in = -1;
	uint64_t n = 0;
	int r;

	if (!row->core_path) {
		cli_err("crash %s has no stored core (status: %s)", row->id, row->core_status ? row->core_status : "?");
		return EXIT_NOCORE;
	}
	in = open(row->core_path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		cli_err("cannot open %s: %m", row->core_path);
		return errno == ENOENT ? EXIT_NOCORE : EXIT_FAILURE;
	}
	r = zst_decompress_fd(in, out_fd, &n);
	if (r < 0) {
		cli_err("cannot decompress %s: %s", row->core_path, r == -EBADMSG ? "corrupt zstd data" : strerror(-r));
		return EXIT_FAILURE;
	}
	return 0;
}

static int cli_dump(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	size_t n = 0;
	_cleanup_close_ int fd = -1;
	int r;

	if (!c->output && isatty(STDOUT_FILENO)) {
		cli_err("refusing to write a core to a terminal: use -o FILE or redirect standard output");
		return EXIT_USAGE;
	}
	r = cli_pick(c, match, &rows, &n);
	if (r != 0)
		return r;
	if (c->output) {
		fd = open(c->output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0) {
			cli_err("cannot create %s: %m", c->output);
			index_rows_free(rows, n);
			return EXIT_FAILURE;
		}
	}
	r = cli_write_core(&rows[0], fd >= 0 ? fd : STDOUT_FILENO);
	if (r != 0 && c->output)
		(void)unlink(c->output);
	index_rows_free(rows, n);
	return r;
}

/* Restore the core into a private temp file and run the debugger on it. */
static int cli_debug(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	size_t n = 0;
	char path[] = "/var/tmp/mortem-core.XXXXXX";
	int r = cli_pick(c, match, &rows, &n);
	if (r != 0)
		return r;
	_cleanup_close_ int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		cli_err("cannot create a temp file: %m");
		index_rows_free(rows, n);
		return EXIT_FAILURE;
	}
	r = cli_write_core(&rows[0], fd);
	if (r == 0) {
		const char *dbg = c->debugger ? c->debugger : getenv("MORTEM_DEBUGGER") ? getenv("MORTEM_DEBUGGER") : "gdb";
		pid_t pid = fork();
		if (pid == 0) {
			if (rows[0].exe && *rows[0].exe)
				execlp(dbg, dbg, rows[0].exe, path, (char *)NULL);
			else
				execlp(dbg, dbg, "-c", path, (char *)NULL);
			fprintf(stderr, "mortem: cannot run %s: %m\n", dbg);
			_exit(127);
		}
		int st = 0;
		while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		r = pid < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 ? EXIT_FAILURE : 0;
	}
	(void)unlink(path);
	index_rows_free(rows, n);
	return r;
}

/* analyze: run the analysis of one crash, chosen as info chooses it, again
 * from its minicore (reanalyze.h); then one line from the record it wrote,
 * or that record with --json. */
static int cli_analyze(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	size_t n = 0;
	const char *status = NULL;
	json_object *rec = NULL;
	int r = cli_pick(c, match, &rows, &n);
	if (r != 0)
		return r;
	_cleanup_free_ char *id = strdup(rows[0].id), *path = strdup(rows[0].record_path);
	index_rows_free(rows, n);
	if (!id || !path) {
		cli_err("out of memory");
		return EXIT_FAILURE;
	}
	r = reanalyze_crash(&c->cfg, &c->st, id, NULL, &status);
	if (r == -ENODATA) {
		const char *why = NULL;
		if (record_load(path, &rec) >= 0)
			why = record_str(record_obj(rec, "minicore"), "error", NULL);
		cli_err("crash %s has no minicore to analyse (%s)", id, why ? why : "the file is missing");
		json_object_put(rec);
		return EXIT_NOCORE;
	}
	if (r == -ENOENT) {
		cli_err("crash %s has no record (removed meanwhile?)", id);
		return EXIT_NOMATCH;
	}
	if (r == -EBUSY) {
		cli_err("crash %s is still being processed (its collector is at work); try again shortly", id);
		return EXIT_PENDING;
	}
	if (r == -EBADMSG || r == -EFBIG) {
		cli_err("cannot read record %s: %s", path, r == -EBADMSG ? "not a valid crash record" : strerror(-r));
		return EXIT_FAILURE;
	}
	if (r < 0) {
		cli_err("cannot analyse crash %s again: %s", id, strerror(-r));
		return EXIT_FAILURE;
	}
	r = record_load(path, &rec);
	if (r < 0) {
		printf("analysed %s: %s\n", id, status);
	} else if (c->json) {
		puts(json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		show_analysis(stdout, rec);
	}
	json_object_put(rec);
	return strcmp(status, "ok") == 0 ? 0 : EXIT_FAILURE;
}

static int cli_reindex(struct cli *c)
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

/* Pointers to the rows' ids, sorted for usage_foreign_scan (heap array). */
static char **cli_sorted_ids(const struct index_row *rows, size_t n)
{
	char **ids = calloc(n ? n : 1, sizeof(*ids));
	for (size_t i = 0; ids && i < n; i++)
		ids[i] = rows[i].id;
	if (ids)
		qsort(ids, n, sizeof(*ids), cli_cmp_str);
	return ids;
}

/* Record the lost crashes first (not in a dry run: it changes nothing), then
 * one line per deletion (what, id, bytes, why), the totals, and the files in
 * the store that no crash accounts for. */
static int cli_vacuum(struct cli *c)
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
	if (cli_open_index(c, &db) < 0)
		return EXIT_FAILURE;
	if (!c->dry_run && (lost = pending_recover(&c->st, db)) < 0) {
		cli_err("cannot read the spool %s: %s (crashes lost there are not recorded)", c->st.spool_dir,
			strerror(-lost));
		lost = 0;
	}
	index_close(db);
	r = quota_vacuum(&c->st, &c->cfg, NULL, now, c->dry_run, &plan, &n, &freed);
	if (r < 0) {
		cli_err("vacuum of %s failed: %s", c->st.root, strerror(-r));
		return EXIT_FAILURE;
	}
	/* What is left, against the crashes the index knows now. */
	if (index_open(c->st.index_path, &db) >= 0) {
		if (index_query(db, &all, &rows, &nrows) >= 0) {
			_cleanup_free_ char **ids = cli_sorted_ids(rows, nrows);
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
static int cli_disk_usage(struct cli *c)
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
	_cleanup_free_ char **ids = cli_sorted_ids(rows, n);
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
static bool cli_busy(const struct cli *c, const char *id)
{
	_cleanup_free_ char *p = store_path(c->st.spool_dir, id, ".lock");
	_cleanup_close_ int fd = p ? open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
	return fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
}

/* rm: every MATCH resolved first (nothing goes when one fits no crash, or
 * several without --all), then under the quota lock each crash's files and row. */
static int cli_rm(struct cli *c)
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
	if (cli_open_index(c, &db) < 0)
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
		if (cli_busy(c, ids[i])) {
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
		printf("removed %s: core %s, minicore %s, record %s\n", id, core ? a : "-", mini ? b : "-", d);
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

static void cli_usage(FILE *f)
{
	fputs("usage: mortem [OPTIONS] COMMAND [MATCH]\n"
	      "       mortem [OPTIONS] rm MATCH...\n"
	      "\n"
	      "Commands:\n"
	      "  list [MATCH]      list crashes, oldest first\n"
	      "  info [MATCH]      everything known about one crash (default: the newest)\n"
	      "  stacks [MATCH]    the crashing thread's stack, then the others folded\n"
	      "  dump [MATCH]      write the original core to standard output or -o FILE\n"
	      "  debug [MATCH]     open the core in gdb\n"
	      "  analyze MATCH     run the analysis of a crash again, from its minicore (root)\n"
	      "  reindex           rebuild the index from the records\n"
	      "  enable            hand the kernel's core dumps to mortem-collect (root)\n"
	      "  disable           put back the core handler that enable replaced (root)\n"
	      "  handover socket|pipe  socket mode: the kernel to mortemd or its fallback (root)\n"
	      "  doctor            check that crashes will be caught, and say why not\n"
	      "  vacuum            delete what the retention limits of mortem.conf say must go (root)\n"
	      "  disk-usage        what the store takes, by executable and by signature\n"
	      "  rm MATCH...       remove crashes: core, minicore, record (root)\n"
	      "\n"
	      "Options:\n"
	      "  -c, --config FILE   configuration file (also MORTEM_CONFIG)\n"
	      "      --json          JSON output (list, info, doctor, vacuum, disk-usage, analyze)\n"
	      "  -S, --since TIME    only crashes at or after TIME\n"
	      "  -U, --until TIME    only crashes at or before TIME\n"
	      "  -r, --reverse       newest first\n"
	      "  -n N                only the newest N crashes\n"
	      "  -o, --output FILE   where dump writes the core\n"
	      "      --all           stacks: every thread on its own; rm: every crash a MATCH fits\n"
	      "      --group         list: one line per crash signature\n"
	      "      --dry-run       vacuum: say what would go, delete nothing\n"
	      "      --debugger CMD  debugger for debug (default gdb)\n"
	      "      --force         enable: replace another core handler\n"
	      "      --runtime       enable: the running kernel only, no sysctl.d drop-in\n"
	      "      --collector PATH  enable: the collector to point the kernel at (pipe mode; in\n"
	      "                        socket mode the one to fall back on while mortemd is down)\n"
	      "      --mode MODE     enable: auto (default: the socket if mortemd listens), socket or pipe\n"
	      "  -h, --help          this help\n"
	      "\n"
	      "MATCH: an id or unique id prefix, a PID, a command name, or an executable path.\n"
	      "TIME: YYYY-MM-DD [HH:MM[:SS]], @EPOCH, or relative -1h, -2d, -30min.\n",
	      f);
}

int main(int argc, char **argv)
{
	struct cli c = { .config_path = NULL };
	int opt, r;
	uint64_t u;

	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 'S' },  { "until", required_argument, NULL, 'U' },
		{ "reverse", no_argument, NULL, 'r' },      { "output", required_argument, NULL, 'o' },
		{ "debugger", required_argument, NULL, 'D' }, { "help", no_argument, NULL, 'h' },
		{ "all", no_argument, NULL, 'a' },
		{ "force", no_argument, NULL, 'F' },        { "runtime", no_argument, NULL, 'R' },
		{ "collector", required_argument, NULL, 'C' }, { "mode", required_argument, NULL, 'M' },
		{ "group", no_argument, NULL, 'G' },        { "dry-run", no_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	while ((opt = getopt_long(argc, argv, "c:S:U:rn:o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': c.config_path = optarg; break;
		case 'j': c.json = true; break;
		case 'S': c.since = optarg; break;
		case 'U': c.until = optarg; break;
		case 'r': c.reverse = true; break;
		case 'o': c.output = optarg; break;
		case 'D': c.debugger = optarg; break;
		case 'a': c.all = true; break;
		case 'F': c.force = true; break;
		case 'R': c.runtime = true; break;
		case 'C': c.collector = optarg; break;
		case 'M':
			if (strcmp(optarg, "auto") == 0)
				c.mode = ENABLE_MODE_AUTO;
			else if (strcmp(optarg, "socket") == 0)
				c.mode = ENABLE_MODE_SOCKET;
			else if (strcmp(optarg, "pipe") == 0)
				c.mode = ENABLE_MODE_PIPE;
			else {
				cli_err("invalid mode '%s' for --mode: auto, socket or pipe", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'G': c.group = true; break;
		case 'N': c.dry_run = true; break;
		case 'n':
			if (parse_u64(optarg, &u) < 0 || u == 0 || u > SIZE_MAX) {
				cli_err("invalid count '%s' for -n", optarg);
				return EXIT_USAGE;
			}
			c.limit = (size_t)u;
			break;
		case 'h': cli_usage(stdout); return 0;
		default: cli_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		cli_usage(stderr);
		return EXIT_USAGE;
	}
	const char *verb = argv[optind++];
	bool is_rm = strcmp(verb, "rm") == 0, is_vacuum = strcmp(verb, "vacuum") == 0;
	bool is_analyze = strcmp(verb, "analyze") == 0;
	const char *match = optind < argc ? argv[optind] : NULL;
	c.matches = argv + optind;
	c.n_matches = (size_t)(argc - optind);
	if (c.n_matches > 1 && !is_rm) {
		cli_err("too many arguments: one MATCH at most");
		return EXIT_USAGE;
	}
	if (!c.config_path)
		c.config_path = getenv("MORTEM_CONFIG") ? getenv("MORTEM_CONFIG") : CONFIG_DEFAULT_PATH;

	bool is_enable = strcmp(verb, "enable") == 0, is_disable = strcmp(verb, "disable") == 0;
	bool is_handover = strcmp(verb, "handover") == 0;
	if (is_handover && (!match || (strcmp(match, "socket") != 0 && strcmp(match, "pipe") != 0))) {
		cli_err("handover takes 'socket' or 'pipe'");
		return EXIT_USAGE;
	}
	if ((is_enable || is_disable || is_vacuum || strcmp(verb, "doctor") == 0 ||
	     strcmp(verb, "disk-usage") == 0) && match) {
		cli_err("%s takes no argument", verb);
		return EXIT_USAGE;
	}
	if (is_analyze && !match) {
		cli_err("analyze needs a MATCH: an id, a PID, a command name or an executable");
		return EXIT_USAGE;
	}
	/* Before the config: a non-root user is told so, not about an unreadable file. */
	if ((is_enable || is_disable || is_handover || is_rm || is_analyze || (is_vacuum && !c.dry_run)) &&
	    geteuid() != 0) {
		fprintf(stderr, "mortem %s: must be root%s\n", verb,
			is_vacuum ? " (--dry-run only needs to read the store)" : "");
		return EXIT_FAILURE;
	}
	/* doctor loads the configuration itself, to report its problems. */
	if (strcmp(verb, "doctor") == 0)
		return doctor_main(c.config_path, c.json);

	if (config_init(&c.cfg) < 0) {
		cli_err("out of memory");
		return EXIT_FAILURE;
	}
	r = config_load(&c.cfg, c.config_path, cli_config_warn, NULL);
	if (r < 0 && r != -EINVAL) {
		cli_err("cannot read config %s: %s", c.config_path, strerror(-r));
		config_free(&c.cfg);
		return EXIT_FAILURE;
	}
	if (store_init(&c.st, c.cfg.store_path) < 0) {
		cli_err("bad store path '%s'", c.cfg.store_path);
		config_free(&c.cfg);
		return EXIT_FAILURE;
	}

	if (strcmp(verb, "list") == 0)
		r = cli_list(&c, match);
	else if (strcmp(verb, "info") == 0)
		r = cli_info(&c, match);
	else if (strcmp(verb, "stacks") == 0)
		r = cli_stacks(&c, match);
	else if (strcmp(verb, "dump") == 0)
		r = cli_dump(&c, match);
	else if (strcmp(verb, "debug") == 0)
		r = cli_debug(&c, match);
	else if (is_analyze)
		r = cli_analyze(&c, match);
	else if (is_vacuum)
		r = cli_vacuum(&c);
	else if (strcmp(verb, "disk-usage") == 0)
		r = cli_disk_usage(&c);
	else if (is_rm)
		r = cli_rm(&c);
	else if (strcmp(verb, "reindex") == 0)
		r = match ? (cli_err("reindex takes no MATCH"), EXIT_USAGE) : cli_reindex(&c);
	else if (is_enable || is_disable || is_handover) {
		struct enable_opts eo = {
			.root = c.st.root,
			.collector = c.collector,
			.config = strcmp(c.config_path, CONFIG_DEFAULT_PATH) != 0 ? c.config_path : NULL,
			.socket_dir = c.cfg.socket_dir,
			.mode = c.mode,
			.force = c.force,
			.runtime = c.runtime,
		};
		r = is_enable ? enable_on(&eo) : is_disable ? enable_off(&eo) : enable_handover(&eo, strcmp(match, "socket") == 0);
	}
	else {
		cli_err("unknown command '%s'", verb);
		cli_usage(stderr);
		r = EXIT_USAGE;
	}
	store_free(&c.st);
	config_free(&c.cfg);
	return r;
}
