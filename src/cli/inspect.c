/* inspect.c: the verbs about one crash: info, stacks, dump, debug and
 * analyze. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cli/cli.h"
#include "cli/term.h"
#include "store/bundle.h"
#include "store/park.h"
#include "store/pending.h"
#include "store/reanalyze.h"
#include "store/record.h"
#include "cli/show.h"
#include "store/store.h"
#include "base/text.h"
#include "base/util.h"
#include "core/zst.h"

static int inspect_info_show(const struct cli *c, const char *path)
{
	json_object *rec = NULL;
	int r = record_load(path, &rec);
	if (r < 0) {
		cli_err("cannot read record %s: %s", path, strerror(-r));
		return EXIT_FAILURE;
	}
	if (c->json) {
		/* "present": false on a core or minicore gone from the disk, as list says */
		show_mark_present(rec);
		cli_print_json(c, rec);
	} else {
		show_info(stdout, rec);
	}
	json_object_put(rec);
	return 0;
}

/* A crash still being processed, among several: what is known, no wait. */
static void inspect_info_note(const struct cli *c, json_object *note)
{
	if (c->json) {
		json_object *core = json_object_new_object();
		if (core) {
			json_object_object_add(core, "status", json_object_new_string("pending"));
			json_object_object_add(note, "core", core);
		}
		cli_print_json(c, note);
		return;
	}
	_cleanup_free_ char *e = text_escape(record_str(note, "id", "?"));
	printf("crash %s is still being processed (pending)\n", e ? e : "?");
}

/* info on a crash still being processed: its record once written, else that
 * it is pending (exit 0: the crash exists). */
static int inspect_info_pending(const struct cli *c, const char *id)
{
	_cleanup_free_ char *rp = store_path(c->st.store_dir, id, ".json");
	int r = rp ? cli_pending_wait(c, id) : (cli_err("out of memory"), EXIT_FAILURE);

	if (r == 0)
		return inspect_info_show(c, rp);
	if (r != EXIT_PENDING)
		return r;
	bool parked = park_exists(c->st.spool_dir, id);
	if (c->json) {
		json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_string(id));
		json_object_object_add(o, "status", json_object_new_string("pending"));
		if (parked)
			json_object_object_add(o, "parked", json_object_new_boolean(true));
		cli_print_json(c, o);
		json_object_put(o);
	} else {
		_cleanup_free_ char *e = text_escape(id);
		if (parked)
			printf("crash %s is pending: a stop of mortemd parked it, and mortemd stores it when it runs again\n",
			       e ? e : "?");
		else
			printf("crash %s is still being processed (pending)\n", e ? e : "?");
	}
	return 0;
}

/* info: with no MATCH, the newest crash; with -1, the newest that matches;
 * else every crash that matches, oldest first, as coredumpctl shows them
 * (text: a blank line between two; --json: one object after another). One
 * crash still being processed is waited for a little; among several, it is
 * shown as pending. */
int inspect_info(struct cli *c, const char *match)
{
	struct index_row *rows = NULL;
	json_object *notes = NULL;
	size_t n = 0;
	int r;

	if ((match || c->n_terms > 0) && c->limit != 1) {
		r = cli_select_all(c, match, &rows, &n, &notes);
		if (r != 0)
			return r;
		size_t np = json_object_array_length(notes);
		if (n + np > 1) {
			(void)term_pager_open(c->no_pager);
			for (size_t i = 0; i < n + np; i++) {
				if (i > 0 && !c->json)
					putchar('\n');
				if (i < n)
					r |= inspect_info_show(c, rows[i].record_path);
				else
					inspect_info_note(c, json_object_array_get_idx(notes, i - n));
			}
			json_object_put(notes);
			index_rows_free(rows, n);
			return r ? EXIT_FAILURE : 0;
		}
		json_object_put(notes);
		index_rows_free(rows, n);
		rows = NULL;
		n = 0;
	}
	_cleanup_free_ char *pending = NULL;
	r = cli_select(c, match, &rows, &n, &pending);
	if (r != 0)
		return r;
	if (!pending)
		(void)term_pager_open(c->no_pager);
	r = pending ? inspect_info_pending(c, pending) : inspect_info_show(c, rows[0].record_path);
	index_rows_free(rows, n);
	return r;
}

int inspect_stacks(struct cli *c, const char *match)
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
	(void)term_pager_open(c->no_pager);
	show_stacks(stdout, rec, c->all);
	json_object_put(rec);
	index_rows_free(rows, n);
	return 0;
}

/* Decompress the chosen crash's core into out_fd. */
static int inspect_write_core(const struct index_row *row, int out_fd)
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

int inspect_dump(struct cli *c, const char *match)
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
	r = inspect_write_core(&rows[0], fd >= 0 ? fd : STDOUT_FILENO);
	if (r != 0 && c->output)
		(void)unlink(c->output);
	index_rows_free(rows, n);
	return r;
}

#define INSPECT_DEBUG_ARGS_MAX 256 /* words of --debugger-arguments */

static void inspect_strv_free(char ***v)
{
	for (char **p = *v; p && *p; p++)
		free(*p);
	free(*v);
}
#define _cleanup_strv_ __attribute__((cleanup(inspect_strv_free)))

/* argv for the debugger: DEBUGGER [SYSROOT] ARGS... EXE CORE (or -c CORE
 * without an executable). SYSROOT (an imported crash's modules, bundle.h):
 * gdb's -iex settings that make it look there for the shared libraries and
 * their debug files. ARGS split as systemd does: words apart by blanks, '…' and
 * "…" quoting, a backslash escaping the next character. -EINVAL for an open
 * quote, -E2BIG past INSPECT_DEBUG_ARGS_MAX words. */
static int inspect_debug_argv(const char *dbg, const char *sysroot, const char *args, const char *exe,
			      const char *core, char ***ret)
{
	size_t n = 0, cap = INSPECT_DEBUG_ARGS_MAX + 9;
	_cleanup_strv_ char **v = calloc(cap, sizeof(*v));
	const char *p = args;

	if (!v || !(v[n++] = strdup(dbg)))
		return -ENOMEM;
	if (sysroot && (!(v[n++] = strdup("-iex")) || asprintf(&v[n++], "set sysroot %s", sysroot) < 0 ||
			!(v[n++] = strdup("-iex")) ||
			asprintf(&v[n++], "set debug-file-directory %s/usr/lib/debug:/usr/lib/debug", sysroot) < 0))
		return -ENOMEM;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		if (n >= INSPECT_DEBUG_ARGS_MAX + 1)
			return -E2BIG;
		_cleanup_free_ char *w = malloc(strlen(p) + 1);
		size_t k = 0;
		char q = 0;
		if (!w)
			return -ENOMEM;
		for (; *p && (q || (*p != ' ' && *p != '\t' && *p != '\n')); p++) {
			if (q && *p == q)
				q = 0;
			else if (!q && (*p == '\'' || *p == '"'))
				q = *p;
			else if (*p == '\\' && q != '\'' && p[1])
				w[k++] = *++p;
			else
				w[k++] = *p;
		}
		if (q)
			return -EINVAL;
		w[k] = '\0';
		v[n++] = TAKE_PTR(w);
	}
	if (exe && *exe) {
		if (!(v[n++] = strdup(exe)))
			return -ENOMEM;
	} else if (!(v[n++] = strdup("-c")))
		return -ENOMEM;
	if (!(v[n++] = strdup(core)))
		return -ENOMEM;
	*ret = TAKE_PTR(v);
	return 0;
}

/* Restore the core into a private temp file and run the debugger on it. */
int inspect_debug(struct cli *c, const char *match)
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
	r = inspect_write_core(&rows[0], fd);
	if (r == 0) {
		const char *dbg = c->debugger ? c->debugger : getenv("MORTEM_DEBUGGER") ? getenv("MORTEM_DEBUGGER") : "gdb";
		_cleanup_strv_ char **argv = NULL;
		/* An imported crash: its modules as they were, from its sysroot
		 * (gdb only: the settings are gdb's). */
		_cleanup_free_ char *sysroot = bundle_sysroot_path(&c->st, rows[0].id), *sysexe = NULL;
		const char *base = strrchr(dbg, '/') ? strrchr(dbg, '/') + 1 : dbg;
		struct stat sb;
		if (sysroot && (strcmp(base, "gdb") != 0 || stat(sysroot, &sb) < 0 || !S_ISDIR(sb.st_mode)))
			free(TAKE_PTR(sysroot));
		if (sysroot && rows[0].exe && rows[0].exe[0] == '/' && asprintf(&sysexe, "%s%s", sysroot, rows[0].exe) >= 0 &&
		    access(sysexe, R_OK) < 0)
			free(TAKE_PTR(sysexe));
		int k = inspect_debug_argv(dbg, sysroot, c->debugger_args, sysexe ? sysexe : rows[0].exe, path, &argv);
		if (k == -EINVAL) {
			cli_err("invalid --debugger-arguments '%s': an unterminated quote", c->debugger_args);
			(void)unlink(path);
			index_rows_free(rows, n);
			return EXIT_USAGE;
		}
		pid_t pid = k < 0 ? -1 : fork();
		if (k == -E2BIG)
			cli_err("too many --debugger-arguments: %d words at most", INSPECT_DEBUG_ARGS_MAX);
		else if (k < 0)
			cli_err("out of memory");
		if (pid == 0) {
			execvp(dbg, argv);
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
int inspect_analyze(struct cli *c, const char *match)
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
		_cleanup_free_ char *ei = text_escape(id), *es = text_escape(status);
		printf("analysed %s: %s\n", ei ? ei : "?", es ? es : "?");
	} else if (c->json) {
		cli_print_json(c, rec);
	} else {
		show_analysis(stdout, rec);
	}
	json_object_put(rec);
	return strcmp(status, "ok") == 0 ? 0 : EXIT_FAILURE;
}
